//! Parsing a JSON condition into the typed tree, checking every part.
//!
//! The JSON is walked by hand instead of through derived `Deserialize`
//! impls, because serde's untagged enums report "data did not match any
//! variant" without saying where, and the admin API must name the exact
//! offending member. Each step carries the JSON pointer of the value it
//! reads.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::ast::{
    ActivityTerm, AmountTest, BasketTerm, CountTest, Node, PathFilter, SinceLastTerm, SinceLastTest, SpentTerm,
    StatusTerm,
};
use super::error::{ConditionError, Pointer};
use super::parse_field::parse_field;
use super::span::parse_span;
use super::{MAX_DEPTH, MAX_TERMS};
use crate::status::{ChannelStatus, Subscription};
use crate::store::{ActivityKind, FieldDefinition};
use crate::tracking::PathPattern;

/// The members that identify the kind of a condition object, in the order checked.
const KINDS: [&str; 9] = ["all", "any", "not", "field", "status", "activity", "since_last", "spent", "basket"];

/// Maximum length of a currency code or a property value, in characters.
const MAX_SHORT_TEXT: usize = 200;

/// Walks one condition, counting its terms against [`MAX_TERMS`].
pub(super) struct Parser<'a> {
    definitions: &'a [FieldDefinition],
    terms: usize,
}

impl<'a> Parser<'a> {
    pub fn new(definitions: &'a [FieldDefinition]) -> Self {
        Parser { definitions, terms: 0 }
    }

    /// Parses the condition at `at`, which sits `depth` levels deep (the
    /// whole condition is level 1).
    pub fn node(&mut self, value: &Value, at: &Pointer, depth: usize) -> Result<Node, ConditionError> {
        if depth > MAX_DEPTH {
            return Err(at.error(format!("conditions may nest at most {MAX_DEPTH} levels deep")));
        }
        let Value::Object(members) = value else {
            return Err(at.error(expected_condition()));
        };
        let Some(kind) = KINDS.into_iter().find(|kind| members.contains_key(*kind)) else {
            return Err(at.error(expected_condition()));
        };

        match kind {
            "all" | "any" => {
                allow_keys(members, &[kind], at)?;
                let children = self.children(&members[kind], &at.key(kind), depth)?;
                Ok(if kind == "all" { Node::All(children) } else { Node::Any(children) })
            }
            "not" => {
                allow_keys(members, &["not"], at)?;
                Ok(Node::Not(Box::new(self.node(&members["not"], &at.key("not"), depth + 1)?)))
            }
            _ => {
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return Err(at.error(format!("a condition may have at most {MAX_TERMS} terms")));
                }
                self.term(kind, members, at)
            }
        }
    }

    fn children(&mut self, value: &Value, at: &Pointer, depth: usize) -> Result<Vec<Node>, ConditionError> {
        let items = match value {
            Value::Array(items) if !items.is_empty() => items,
            _ => return Err(at.error("expected an array of at least one condition")),
        };
        items.iter().enumerate().map(|(index, item)| self.node(item, &at.index(index), depth + 1)).collect()
    }

    fn term(&self, kind: &str, members: &Map<String, Value>, at: &Pointer) -> Result<Node, ConditionError> {
        match kind {
            "field" => parse_field(members, at, self.definitions).map(Node::Field),
            "status" => parse_status(members, at).map(Node::Status),
            "activity" => parse_activity(members, at).map(Node::Activity),
            "since_last" => parse_since_last(members, at).map(Node::SinceLast),
            "spent" => parse_spent(members, at).map(Node::Spent),
            _ => parse_basket(members, at).map(Node::Basket),
        }
    }
}

fn expected_condition() -> String {
    format!("expected a condition: an object with one of {}", KINDS.join(", "))
}

/// Rejects members other than `allowed`, pointing at the first one.
pub(super) fn allow_keys(members: &Map<String, Value>, allowed: &[&str], at: &Pointer) -> Result<(), ConditionError> {
    match members.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(at.key(key).error(format!("unknown key {key}; this term takes {}", allowed.join(", ")))),
        None => Ok(()),
    }
}

/// Returns the one member of `choices` that is present, or an error when
/// none or several are.
fn one_of<'m>(
    members: &'m Map<String, Value>,
    choices: &[&'static str],
    at: &Pointer,
) -> Result<(&'static str, &'m Value), ConditionError> {
    let present: Vec<&'static str> = choices.iter().copied().filter(|choice| members.contains_key(*choice)).collect();
    match present.as_slice() {
        [one] => Ok((one, &members[*one])),
        [] => Err(at.error(format!("expected one of {}", choices.join(", ")))),
        [_, second, ..] => Err(at.key(second).error(format!("expected only one of {}", choices.join(", ")))),
    }
}

fn required<'m>(members: &'m Map<String, Value>, key: &str, at: &Pointer) -> Result<&'m Value, ConditionError> {
    members.get(key).ok_or_else(|| at.error(format!("missing {key}")))
}

fn parse_kind(value: &Value, at: &Pointer) -> Result<ActivityKind, ConditionError> {
    let name = value.as_str().ok_or_else(|| at.error("expected an activity type as a string"))?;
    ActivityKind::from_str(name).map_err(|reason| at.error(reason))
}

/// Parses a non-negative amount given as a JSON number or a numeric string.
pub(super) fn parse_decimal(value: &Value) -> Option<Decimal> {
    let text = match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.trim().to_owned(),
        _ => return None,
    };
    if text.contains(['e', 'E']) {
        return Decimal::from_scientific(&text).ok();
    }
    Decimal::from_str(&text).ok()
}

fn parse_status(members: &Map<String, Value>, at: &Pointer) -> Result<StatusTerm, ConditionError> {
    allow_keys(members, &["status", "is"], at)?;
    let name = members["status"].as_str().unwrap_or_default();
    let value = required(members, "is", at)?;
    let is_at = at.key("is");

    let text = value.as_str().unwrap_or_default();
    let channel = |allow_bounced: bool| {
        let status = match text {
            "active" => ChannelStatus::Active,
            "bounced" if allow_bounced => ChannelStatus::Bounced,
            "blocked" => ChannelStatus::Blocked,
            "paused" => ChannelStatus::Paused,
            _ if allow_bounced => return Err(is_at.error("expected active, bounced, blocked or paused")),
            _ => return Err(is_at.error("expected active, blocked or paused")),
        };
        Ok(status)
    };
    let subscription = || match text {
        "subscribed" => Ok(Subscription::Subscribed),
        "unsubscribed" => Ok(Subscription::Unsubscribed),
        "not_subscribed" => Ok(Subscription::NotSubscribed),
        _ => Err(is_at.error("expected subscribed, unsubscribed or not_subscribed")),
    };

    match name {
        "email" => channel(true).map(StatusTerm::Email),
        "newsletter" => subscription().map(StatusTerm::Newsletter),
        "cellphone" => channel(false).map(StatusTerm::Cellphone),
        "sms" => subscription().map(StatusTerm::Sms),
        "push_subscribed" => {
            value.as_bool().map(StatusTerm::PushSubscribed).ok_or_else(|| is_at.error("expected true or false"))
        }
        _ => {
            Err(at.key("status").error("unknown status; expected email, newsletter, cellphone, sms or push_subscribed"))
        }
    }
}

fn parse_activity(members: &Map<String, Value>, at: &Pointer) -> Result<ActivityTerm, ConditionError> {
    allow_keys(members, &["activity", "where", "path", "within", "count"], at)?;
    let kind = parse_kind(&members["activity"], &at.key("activity"))?;

    let mut properties = std::collections::BTreeMap::new();
    if let Some(filter) = members.get("where") {
        let where_at = at.key("where");
        let Value::Object(filter) = filter else {
            return Err(where_at.error("expected an object of property names and values"));
        };
        for (name, value) in filter {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) if number.is_i64() || number.is_u64() => number.to_string(),
                _ => return Err(where_at.key(name).error("expected a string or a whole number")),
            };
            if text.chars().count() > MAX_SHORT_TEXT {
                return Err(where_at.key(name).error(format!("longer than {MAX_SHORT_TEXT} characters")));
            }
            properties.insert(name.clone(), text);
        }
    }

    let path = match members.get("path") {
        None => None,
        Some(value) => {
            let path_at = at.key("path");
            let text = value.as_str().ok_or_else(|| path_at.error("expected a path pattern as a string"))?;
            let pattern = PathPattern::parse(text).map_err(|reason| path_at.error(reason))?;
            Some(PathFilter { text: text.to_owned(), pattern })
        }
    };

    let within = parse_span(required(members, "within", at)?, &at.key("within"))?;
    let count = parse_count(required(members, "count", at)?, &at.key("count"))?;
    Ok(ActivityTerm { kind, properties, path, within, count })
}

fn parse_count(value: &Value, at: &Pointer) -> Result<CountTest, ConditionError> {
    let Value::Object(members) = value else {
        return Err(at.error("expected an object such as {\"at_least\": 2}"));
    };
    allow_keys(members, &["at_least", "at_most", "exactly"], at)?;
    let (name, number) = one_of(members, &["at_least", "at_most", "exactly"], at)?;

    let number = number.as_u64().ok_or_else(|| at.key(name).error("expected a whole number of at least 0"))?;
    Ok(match name {
        "at_least" => CountTest::AtLeast(number),
        "at_most" => CountTest::AtMost(number),
        _ => CountTest::Exactly(number),
    })
}

fn parse_since_last(members: &Map<String, Value>, at: &Pointer) -> Result<SinceLastTerm, ConditionError> {
    allow_keys(members, &["since_last", "at_least", "or_never", "less_than", "never"], at)?;
    let kind = parse_kind(&members["since_last"], &at.key("since_last"))?;
    let (name, value) = one_of(members, &["at_least", "less_than", "never"], at)?;

    // `at_least` requires `or_never`, the result for a contact without any
    // such activity, because either result is plausible ("no purchase in 90 days" may or
    // may not mean to include contacts who never bought).
    let or_never = members.get("or_never");
    if name != "at_least" && or_never.is_some() {
        return Err(at.key("or_never").error("or_never goes only with at_least"));
    }

    let test = match name {
        "at_least" => {
            let span = parse_span(value, &at.key("at_least"))?;
            let or_never = or_never
                .ok_or_else(|| at.error("missing or_never: say whether contacts with no such activity match"))?
                .as_bool()
                .ok_or_else(|| at.key("or_never").error("expected true or false"))?;
            SinceLastTest::AtLeast { span, or_never }
        }
        "less_than" => SinceLastTest::LessThan(parse_span(value, &at.key("less_than"))?),
        _ => SinceLastTest::Never(value.as_bool().ok_or_else(|| at.key("never").error("expected true or false"))?),
    };
    Ok(SinceLastTerm { kind, test })
}

fn parse_spent(members: &Map<String, Value>, at: &Pointer) -> Result<SpentTerm, ConditionError> {
    let comparisons = ["at_least", "at_most", "more_than", "less_than"];
    allow_keys(members, &["spent", "within", "at_least", "at_most", "more_than", "less_than"], at)?;

    let currency = members["spent"].as_str().map(str::trim).unwrap_or_default();
    let valid = !currency.is_empty()
        && currency.chars().count() <= MAX_SHORT_TEXT
        && !currency.chars().any(|ch| ch.is_control() || ch.is_whitespace());
    if !valid {
        return Err(at.key("spent").error("expected a currency code such as EUR"));
    }

    let within = parse_span(required(members, "within", at)?, &at.key("within"))?;
    let (name, value) = one_of(members, &comparisons, at)?;
    let amount = parse_decimal(value).filter(|amount| !amount.is_sign_negative()).ok_or_else(|| {
        at.key(name).error("expected an amount of at least 0, as a number or a string such as \"100.50\"")
    })?;
    let test = match name {
        "at_least" => AmountTest::AtLeast(amount),
        "at_most" => AmountTest::AtMost(amount),
        "more_than" => AmountTest::MoreThan(amount),
        _ => AmountTest::LessThan(amount),
    };
    Ok(SpentTerm { currency: currency.to_uppercase(), within, test })
}

fn parse_basket(members: &Map<String, Value>, at: &Pointer) -> Result<BasketTerm, ConditionError> {
    allow_keys(members, &["basket"], at)?;
    let basket_at = at.key("basket");

    match &members["basket"] {
        Value::String(state) if state == "empty" => Ok(BasketTerm::Empty),
        Value::String(state) if state == "not_empty" => Ok(BasketTerm::NotEmpty),
        Value::Object(test) => {
            allow_keys(test, &["abandoned_for"], &basket_at)?;
            let span = required(test, "abandoned_for", &basket_at)?;
            Ok(BasketTerm::AbandonedFor(parse_span(span, &basket_at.key("abandoned_for"))?))
        }
        _ => Err(basket_at.error("expected \"empty\", \"not_empty\" or {\"abandoned_for\": duration}")),
    }
}
