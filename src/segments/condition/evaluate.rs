//! Evaluating a condition against one contact at one moment.
//!
//! Evaluation is total: a stored value that does not decode as its field's
//! type (written before a definition existed, or damaged) reads as a value
//! no test accepts, except that `is_set` still counts it as set.

use std::str::FromStr;

use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

use super::ast::{
    ActivityTerm, BasketTerm, FieldTerm, FieldTest, Moment, Node, Operand, SinceLastTerm, SinceLastTest, SpentTerm,
    StatusTerm,
};
use super::parse_field::{parse_date, parse_date_time};
use super::span::DAY;
use super::view::ContactView;
use crate::ecommerce::parse_amount;
use crate::store::{Activity, ActivityKind, FieldType, Millis};

impl Node {
    /// Returns whether the contact in `view` matches this node at `now`.
    pub fn matches(&self, view: &ContactView, now: Millis) -> bool {
        match self {
            Node::All(children) => children.iter().all(|child| child.matches(view, now)),
            Node::Any(children) => children.iter().any(|child| child.matches(view, now)),
            Node::Not(child) => !child.matches(view, now),
            Node::Field(term) => field_matches(term, view, now),
            Node::Status(term) => status_matches(*term, view),
            Node::Activity(term) => term.count.accepts(activity_times(term, view, now).len() as u64),
            Node::SinceLast(term) => since_last_matches(term, view, now),
            Node::Spent(term) => term.test.accepts(total(purchases(term, view, now).iter().map(|(_, amount)| *amount))),
            Node::Basket(term) => basket_matches(*term, view, now),
        }
    }
}

/// A stored field value decoded as its field's type.
pub(super) enum Decoded {
    Scalar(Operand),
    Choices(Vec<String>),
}

/// Returns the field's value for the contact: its own, else the field's
/// default; `None` when it has neither.
pub(super) fn stored_value<'v>(term: &'v FieldTerm, view: &'v ContactView) -> Option<&'v str> {
    let default = term.field.default.as_deref().map(str::trim).filter(|text| !text.is_empty());
    view.field(&term.field.storage_name).or(default)
}

/// Decodes stored text as a value of `kind`; `None` when it does not decode.
pub(super) fn decode(kind: FieldType, stored: &str) -> Option<Decoded> {
    let one = match kind {
        FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::SingleChoice => {
            Operand::Text(stored.to_owned())
        }
        FieldType::Integer | FieldType::Decimal => Operand::Number(decimal_from_text(stored)?),
        FieldType::Date => Operand::Date(parse_date(stored)?),
        FieldType::DateTime => Operand::DateTime(parse_date_time(stored)?),
        FieldType::Boolean => match stored {
            "true" => Operand::Boolean(true),
            "false" => Operand::Boolean(false),
            _ => return None,
        },
        FieldType::MultipleChoice => return serde_json::from_str(stored).ok().map(Decoded::Choices),
    };
    Some(Decoded::Scalar(one))
}

fn decimal_from_text(text: &str) -> Option<Decimal> {
    if text.contains(['e', 'E']) {
        return Decimal::from_scientific(text).ok();
    }
    Decimal::from_str(text).ok()
}

fn field_matches(term: &FieldTerm, view: &ContactView, now: Millis) -> bool {
    let stored = stored_value(term, view);
    match (&term.test, stored) {
        (FieldTest::IsSet, stored) => stored.is_some(),
        (FieldTest::IsNotSet, stored) => stored.is_none(),
        (_, None) => false,
        (test, Some(stored)) => match decode(term.field.kind, stored) {
            Some(Decoded::Scalar(value)) => test_one(test, &value, now),
            Some(Decoded::Choices(chosen)) => test_choices(test, &chosen),
            None => false,
        },
    }
}

fn test_one(test: &FieldTest, value: &Operand, now: Millis) -> bool {
    match test {
        FieldTest::Equals(expected) => same(value, expected),
        FieldTest::NotEquals(expected) => !same(value, expected),
        FieldTest::Contains(part) => text_of(value).is_some_and(|text| lowercase(text).contains(&lowercase(part))),
        FieldTest::StartsWith(part) => text_of(value).is_some_and(|text| lowercase(text).starts_with(&lowercase(part))),
        FieldTest::GreaterThan(limit) => matches!(value, Operand::Number(number) if number > limit),
        FieldTest::LessThan(limit) => matches!(value, Operand::Number(number) if number < limit),
        FieldTest::Between(low, high) => low <= value && value <= high,
        FieldTest::In(items) => items.iter().any(|item| same(value, item)),
        FieldTest::Before(moment) => threshold(value, *moment, now).is_some_and(|limit| *value < limit),
        FieldTest::After(moment) => threshold(value, *moment, now).is_some_and(|limit| *value > limit),
        FieldTest::IsSet | FieldTest::IsNotSet | FieldTest::ContainsAny(_) | FieldTest::ContainsAll(_) => false,
    }
}

fn test_choices(test: &FieldTest, chosen: &[String]) -> bool {
    match test {
        FieldTest::ContainsAny(options) => options.iter().any(|option| chosen.contains(option)),
        FieldTest::ContainsAll(options) => options.iter().all(|option| chosen.contains(option)),
        _ => false,
    }
}

/// Compares two values of one type; text ignores case.
fn same(value: &Operand, expected: &Operand) -> bool {
    match (value, expected) {
        (Operand::Text(value), Operand::Text(expected)) => lowercase(value) == lowercase(expected),
        _ => value == expected,
    }
}

fn text_of(value: &Operand) -> Option<&str> {
    match value {
        Operand::Text(text) => Some(text),
        _ => None,
    }
}

/// Folds case with Unicode's full lowercase mapping. It does not remove
/// accents, so `Málaga` and `malaga` differ.
fn lowercase(text: &str) -> String {
    text.to_lowercase()
}

/// Returns the limit that `before` and `after` compare a value with, of the
/// value's type. Relative dates count UTC calendar days from the date of
/// `now`, and relative date-times count 24-hour days from `now` itself.
pub(super) fn threshold(value: &Operand, moment: Moment, now: Millis) -> Option<Operand> {
    match (value, moment) {
        (Operand::Date(_), Moment::Date(date)) => Some(Operand::Date(date)),
        (Operand::DateTime(_), Moment::DateTime(instant)) => Some(Operand::DateTime(instant)),
        (Operand::Date(_), relative) => {
            let days = relative.offset_days()?;
            add_days(utc_date(now)?, days).map(Operand::Date)
        }
        (Operand::DateTime(_), relative) => {
            let offset = relative.offset_days()?.checked_mul(DAY)?;
            now.checked_add(offset).map(Operand::DateTime)
        }
        _ => None,
    }
}

/// Returns the UTC calendar date of `instant`.
pub(super) fn utc_date(instant: Millis) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(instant) * 1_000_000).ok().map(OffsetDateTime::date)
}

pub(super) fn add_days(date: Date, days: i64) -> Option<Date> {
    date.checked_add(time::Duration::days(days))
}

/// Returns the first millisecond of `date`, UTC.
pub(super) fn midnight(date: Date) -> Millis {
    date.midnight().assume_utc().unix_timestamp() * 1000
}

fn status_matches(term: StatusTerm, view: &ContactView) -> bool {
    match term {
        StatusTerm::Email(status) => view.email_status() == status,
        StatusTerm::Newsletter(status) => view.newsletter() == status,
        StatusTerm::Cellphone(status) => view.cellphone_status() == status,
        StatusTerm::Sms(status) => view.sms() == status,
        StatusTerm::PushSubscribed(subscribed) => (view.push_subscriptions > 0) == subscribed,
    }
}

/// Returns the times of the activities the term counts that are inside its
/// window at `now`.
///
/// The window is half-open: it covers `(now - within, ∞)`, so an activity
/// leaves it at the exact moment it becomes `within` old. Activities
/// stamped after `now` (clocks of proxy instances differ slightly) count as
/// inside.
pub(super) fn activity_times(term: &ActivityTerm, view: &ContactView, now: Millis) -> Vec<Millis> {
    let oldest_excluded = now.saturating_sub(term.within.0);
    view.behaviour
        .recent
        .iter()
        .filter(|activity| activity.kind == term.kind && activity.at > oldest_excluded)
        .filter(|activity| term.properties.iter().all(|(name, value)| activity.properties.get(name) == Some(value)))
        .filter(|activity| term.path.as_ref().is_none_or(|path| path.pattern.captures(url_path(activity)).is_some()))
        .map(|activity| activity.at)
        .collect()
}

fn url_path(activity: &Activity) -> &str {
    activity.url.split(['?', '#']).next().unwrap_or_default()
}

/// Returns the time and amount of the purchases in the term's currency
/// inside its window at `now` (the same window as [`activity_times`]).
/// Purchases without a readable amount are left out.
pub(super) fn purchases(term: &SpentTerm, view: &ContactView, now: Millis) -> Vec<(Millis, Decimal)> {
    let oldest_excluded = now.saturating_sub(term.within.0);
    view.behaviour
        .recent
        .iter()
        .filter(|activity| activity.kind == ActivityKind::Purchase && activity.at > oldest_excluded)
        .filter(|activity| {
            activity.properties.get("currency").is_some_and(|c| c.trim().to_uppercase() == term.currency)
        })
        .filter_map(|activity| Some((activity.at, parse_amount(activity.properties.get("amount")?)?)))
        .collect()
}

/// Adds amounts, saturating instead of panicking as `Decimal`'s `+` does on
/// overflow: amounts are read from shop pages and may be absurd.
///
/// NOTE: a total beyond `Decimal::MAX` (about 7.9e28) is compared as
/// `Decimal::MAX`, so `at_most`/`less_than` limits that large misjudge it.
pub(super) fn total(amounts: impl Iterator<Item = Decimal>) -> Decimal {
    amounts.fold(Decimal::ZERO, |sum, amount| sum.saturating_add(amount))
}

/// Returns the time of the contact's newest activity of `kind`, if any.
pub(super) fn last_at(kind: ActivityKind, view: &ContactView) -> Option<Millis> {
    let recorded = view.behaviour.last_at.get(&kind).copied();
    let recent =
        view.behaviour.recent.iter().filter(|activity| activity.kind == kind).map(|activity| activity.at).max();
    recorded.max(recent)
}

fn since_last_matches(term: &SinceLastTerm, view: &ContactView, now: Millis) -> bool {
    let last = last_at(term.kind, view);
    match (term.test, last) {
        (SinceLastTest::AtLeast { or_never, .. }, None) => or_never,
        (SinceLastTest::AtLeast { span, .. }, Some(last)) => now.saturating_sub(last) >= span.0,
        (SinceLastTest::LessThan(span), Some(last)) => now.saturating_sub(last) < span.0,
        (SinceLastTest::LessThan(_), None) => false,
        (SinceLastTest::Never(never), last) => last.is_none() == never,
    }
}

fn basket_matches(term: BasketTerm, view: &ContactView, now: Millis) -> bool {
    let basket = view.behaviour.basket.as_ref();
    match term {
        BasketTerm::Empty => basket.is_none(),
        BasketTerm::NotEmpty => basket.is_some(),
        BasketTerm::AbandonedFor(span) => basket.is_some_and(|basket| now.saturating_sub(basket.updated_at) >= span.0),
    }
}
