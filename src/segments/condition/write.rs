//! Writing a parsed condition back as JSON, in the shape [`super::parse`]
//! reads, so a stored condition parses again to the same tree.

use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

use super::ast::{AmountTest, BasketTerm, CountTest, FieldTest, Moment, Node, Operand, SinceLastTest, StatusTerm};
use super::span::span_to_json;

impl Node {
    /// Returns the node as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Node::All(children) => json!({ "all": children.iter().map(Node::to_json).collect::<Vec<_>>() }),
            Node::Any(children) => json!({ "any": children.iter().map(Node::to_json).collect::<Vec<_>>() }),
            Node::Not(child) => json!({ "not": child.to_json() }),
            Node::Field(term) => {
                let mut object = Map::new();
                object.insert("field".to_owned(), Value::from(term.field.name.as_str()));
                let (op, value) = field_test_json(&term.test);
                object.insert("op".to_owned(), Value::from(op));
                if let Some(value) = value {
                    object.insert("value".to_owned(), value);
                }
                Value::Object(object)
            }
            Node::Status(term) => status_json(*term),
            Node::Activity(term) => {
                let mut object = Map::new();
                object.insert("activity".to_owned(), Value::from(term.kind.as_str()));
                if !term.properties.is_empty() {
                    object.insert("where".to_owned(), json!(term.properties));
                }
                if let Some(path) = &term.path {
                    object.insert("path".to_owned(), Value::from(path.text.as_str()));
                }
                object.insert("within".to_owned(), span_to_json(term.within));
                let (name, number) = match term.count {
                    CountTest::AtLeast(number) => ("at_least", number),
                    CountTest::AtMost(number) => ("at_most", number),
                    CountTest::Exactly(number) => ("exactly", number),
                };
                object.insert("count".to_owned(), json!({ name: number }));
                Value::Object(object)
            }
            Node::SinceLast(term) => match term.test {
                SinceLastTest::AtLeast { span, or_never } => {
                    json!({ "since_last": term.kind.as_str(), "at_least": span_to_json(span), "or_never": or_never })
                }
                SinceLastTest::LessThan(span) => {
                    json!({ "since_last": term.kind.as_str(), "less_than": span_to_json(span) })
                }
                SinceLastTest::Never(never) => json!({ "since_last": term.kind.as_str(), "never": never }),
            },
            Node::Spent(term) => {
                let (name, amount) = match term.test {
                    AmountTest::AtLeast(amount) => ("at_least", amount),
                    AmountTest::AtMost(amount) => ("at_most", amount),
                    AmountTest::MoreThan(amount) => ("more_than", amount),
                    AmountTest::LessThan(amount) => ("less_than", amount),
                };
                json!({ "spent": term.currency, "within": span_to_json(term.within), name: amount.to_string() })
            }
            Node::Basket(BasketTerm::Empty) => json!({ "basket": "empty" }),
            Node::Basket(BasketTerm::NotEmpty) => json!({ "basket": "not_empty" }),
            Node::Basket(BasketTerm::AbandonedFor(span)) => {
                json!({ "basket": { "abandoned_for": span_to_json(*span) } })
            }
        }
    }
}

fn field_test_json(test: &FieldTest) -> (&'static str, Option<Value>) {
    let list = |items: &[Operand]| Value::Array(items.iter().map(operand_json).collect());
    let options = |items: &[String]| Value::from(items.to_vec());
    match test {
        FieldTest::IsSet => ("is_set", None),
        FieldTest::IsNotSet => ("is_not_set", None),
        FieldTest::Equals(value) => ("equals", Some(operand_json(value))),
        FieldTest::NotEquals(value) => ("not_equals", Some(operand_json(value))),
        FieldTest::Contains(text) => ("contains", Some(Value::from(text.as_str()))),
        FieldTest::StartsWith(text) => ("starts_with", Some(Value::from(text.as_str()))),
        FieldTest::GreaterThan(number) => ("greater_than", Some(decimal_json(*number))),
        FieldTest::LessThan(number) => ("less_than", Some(decimal_json(*number))),
        FieldTest::Between(low, high) => ("between", Some(list(&[low.clone(), high.clone()]))),
        FieldTest::In(items) => ("in", Some(list(items))),
        FieldTest::Before(moment) => ("before", Some(moment_json(*moment))),
        FieldTest::After(moment) => ("after", Some(moment_json(*moment))),
        FieldTest::ContainsAny(items) => ("contains_any", Some(options(items))),
        FieldTest::ContainsAll(items) => ("contains_all", Some(options(items))),
    }
}

fn operand_json(operand: &Operand) -> Value {
    match operand {
        Operand::Text(text) => Value::from(text.as_str()),
        Operand::Number(number) => decimal_json(*number),
        Operand::Date(date) => {
            let text = date.format(format_description!("[year]-[month]-[day]")).unwrap_or_default();
            Value::from(text)
        }
        Operand::DateTime(instant) => Value::from(date_time_text(*instant)),
        Operand::Boolean(flag) => Value::from(*flag),
    }
}

/// Writes whole numbers as JSON numbers and others as strings, so no
/// decimal digit is lost to a binary float.
fn decimal_json(number: Decimal) -> Value {
    match i64::try_from(number) {
        Ok(whole) if number.fract().is_zero() => Value::from(whole),
        _ => Value::from(number.to_string()),
    }
}

fn date_time_text(instant: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(instant) * 1_000_000)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn moment_json(moment: Moment) -> Value {
    match moment {
        Moment::Date(date) => operand_json(&Operand::Date(date)),
        Moment::DateTime(instant) => operand_json(&Operand::DateTime(instant)),
        Moment::DaysAgo(days) => json!({ "days_ago": days }),
        Moment::DaysFromNow(days) => json!({ "days_from_now": days }),
    }
}

fn status_json(term: StatusTerm) -> Value {
    match term {
        StatusTerm::Email(status) => json!({ "status": "email", "is": status.as_str() }),
        StatusTerm::Newsletter(status) => json!({ "status": "newsletter", "is": status.as_str() }),
        StatusTerm::Cellphone(status) => json!({ "status": "cellphone", "is": status.as_str() }),
        StatusTerm::Sms(status) => json!({ "status": "sms", "is": status.as_str() }),
        StatusTerm::PushSubscribed(subscribed) => json!({ "status": "push_subscribed", "is": subscribed }),
    }
}
