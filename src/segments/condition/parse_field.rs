//! Parsing field terms: `{"field": "city", "op": "equals", "value": "Madrid"}`.
//!
//! The field's type decides which operators apply and how values parse, so
//! a value of the wrong type is rejected here and never reaches evaluation.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::ast::{FieldRef, FieldTerm, FieldTest, Moment, Operand};
use super::error::{ConditionError, Pointer};
use super::parse::{allow_keys, parse_decimal};
use super::span::parse_relative;
use super::MAX_LIST_ITEMS;
use crate::admin::fields::StandardField;
use crate::custom::value::MAX_TEXT_CHARS;
use crate::store::{FieldDefinition, FieldType};

/// Every operator, in the order error messages list them.
const OPERATORS: [&str; 14] = [
    "equals",
    "not_equals",
    "contains",
    "starts_with",
    "greater_than",
    "less_than",
    "between",
    "in",
    "is_set",
    "is_not_set",
    "before",
    "after",
    "contains_any",
    "contains_all",
];

/// Returns the operators that apply to fields of type `kind`.
fn operators_for(kind: FieldType) -> &'static [&'static str] {
    match kind {
        FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::SingleChoice => {
            &["equals", "not_equals", "contains", "starts_with", "in", "is_set", "is_not_set"]
        }
        FieldType::Integer | FieldType::Decimal => {
            &["equals", "not_equals", "greater_than", "less_than", "between", "in", "is_set", "is_not_set"]
        }
        FieldType::Date => &["equals", "not_equals", "before", "after", "between", "is_set", "is_not_set"],
        FieldType::DateTime => &["before", "after", "between", "is_set", "is_not_set"],
        FieldType::Boolean => &["equals", "not_equals", "is_set", "is_not_set"],
        FieldType::MultipleChoice => &["contains_any", "contains_all", "is_set", "is_not_set"],
    }
}

/// A field resolved for parsing: where its value lives and its options.
struct Resolved<'d> {
    field: FieldRef,
    options: &'d [String],
}

/// Parses a field term; `definitions` are the custom field definitions.
pub(super) fn parse_field(
    members: &Map<String, Value>,
    at: &Pointer,
    definitions: &[FieldDefinition],
) -> Result<FieldTerm, ConditionError> {
    allow_keys(members, &["field", "op", "value"], at)?;
    let name = members["field"].as_str().ok_or_else(|| at.key("field").error("expected a field name as a string"))?;
    let resolved = resolve(name, definitions).ok_or_else(|| at.key("field").error(format!("unknown field {name}")))?;
    let kind = resolved.field.kind;

    let op_at = at.key("op");
    let op = members.get("op").ok_or_else(|| at.error("missing op"))?;
    let op = op.as_str().ok_or_else(|| op_at.error("expected an operator as a string"))?;
    if !OPERATORS.contains(&op) {
        return Err(op_at.error(format!("unknown operator {op}; expected one of {}", OPERATORS.join(", "))));
    }
    let applicable = operators_for(kind);
    if !applicable.contains(&op) {
        return Err(op_at.error(format!(
            "operator {op} does not apply to {} field {name}; use one of {}",
            kind.as_str(),
            applicable.join(", ")
        )));
    }

    let value_at = at.key("value");
    let value = members.get("value");
    if matches!(op, "is_set" | "is_not_set") {
        if value.is_some() {
            return Err(value_at.error(format!("{op} takes no value")));
        }
        let test = if op == "is_set" { FieldTest::IsSet } else { FieldTest::IsNotSet };
        return Ok(FieldTerm { field: resolved.field, test });
    }
    let value = value.ok_or_else(|| at.error(format!("missing value for operator {op}")))?;

    let test = parse_test(op, value, &value_at, &resolved)?;
    Ok(FieldTerm { field: resolved.field, test })
}

/// Parses the value of operator `op`, which applies to the field's type.
fn parse_test(op: &str, value: &Value, value_at: &Pointer, resolved: &Resolved) -> Result<FieldTest, ConditionError> {
    let operand = |value: &Value, at: &Pointer| parse_operand(resolved, value, at);
    let test = match op {
        "equals" => FieldTest::Equals(operand(value, value_at)?),
        "not_equals" => FieldTest::NotEquals(operand(value, value_at)?),
        "contains" => FieldTest::Contains(parse_text(value, value_at, resolved)?),
        "starts_with" => FieldTest::StartsWith(parse_text(value, value_at, resolved)?),
        "greater_than" | "less_than" => {
            let Operand::Number(number) = operand(value, value_at)? else {
                return Err(value_at.error("expected a number"));
            };
            if op == "greater_than" {
                FieldTest::GreaterThan(number)
            } else {
                FieldTest::LessThan(number)
            }
        }
        "between" => {
            let items = list(value, value_at, 2, 2).map_err(|_| value_at.error("between needs two values in order"))?;
            let low = operand(&items[0], &value_at.index(0))?;
            let high = operand(&items[1], &value_at.index(1))?;
            if low > high {
                return Err(value_at.error("between needs two values in order"));
            }
            FieldTest::Between(low, high)
        }
        "in" => {
            let items = list(value, value_at, 1, MAX_LIST_ITEMS)?;
            let operands = items.iter().enumerate().map(|(index, item)| operand(item, &value_at.index(index)));
            FieldTest::In(operands.collect::<Result<_, _>>()?)
        }
        "before" | "after" => {
            let moment = parse_moment(resolved, value, value_at)?;
            if op == "before" {
                FieldTest::Before(moment)
            } else {
                FieldTest::After(moment)
            }
        }
        _ => {
            let items = list(value, value_at, 1, MAX_LIST_ITEMS)?;
            let mut chosen = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                chosen.push(parse_option(resolved, item, &value_at.index(index))?);
            }
            if op == "contains_any" {
                FieldTest::ContainsAny(chosen)
            } else {
                FieldTest::ContainsAll(chosen)
            }
        }
    };
    Ok(test)
}

/// Finds a standard field, then a custom one.
fn resolve<'d>(name: &str, definitions: &'d [FieldDefinition]) -> Option<Resolved<'d>> {
    if let Some(standard) = StandardField::parse(name) {
        let kind = match standard {
            StandardField::Email => FieldType::Email,
            StandardField::FirstName | StandardField::LastName => FieldType::Text,
            StandardField::DateOfBirth => FieldType::Date,
            StandardField::Cellphone => FieldType::Phone,
        };
        let field = FieldRef { name: name.to_owned(), storage_name: name.to_owned(), kind, default: None };
        return Some(Resolved { field, options: &[] });
    }

    let definition = definitions.iter().find(|definition| definition.name == name)?;
    let field = FieldRef {
        name: name.to_owned(),
        storage_name: definition.storage_name(),
        kind: definition.kind,
        default: definition.default.clone(),
    };
    Some(Resolved { field, options: &definition.options })
}

fn list<'v>(value: &'v Value, at: &Pointer, min: usize, max: usize) -> Result<&'v [Value], ConditionError> {
    match value {
        Value::Array(items) if (min..=max).contains(&items.len()) => Ok(items),
        _ if min == max => Err(at.error(format!("expected an array of {min} values"))),
        _ => Err(at.error(format!("expected an array of {min} to {max} values"))),
    }
}

/// Parses one value of the field's own type.
fn parse_operand(resolved: &Resolved, value: &Value, at: &Pointer) -> Result<Operand, ConditionError> {
    let field = &resolved.field;
    let wrong =
        |expected: &str| at.error(format!("expected {expected} for {} field {}", field.kind.as_str(), field.name));

    match field.kind {
        FieldType::Text | FieldType::Email | FieldType::Phone => parse_text(value, at, resolved).map(Operand::Text),
        FieldType::SingleChoice => parse_option(resolved, value, at).map(Operand::Text),
        FieldType::Integer => match value {
            Value::Number(number) if number.is_i64() || number.is_u64() => {
                parse_decimal(value).map(Operand::Number).ok_or_else(|| wrong("a whole number"))
            }
            Value::String(text) => {
                text.trim().parse::<i64>().map(|n| Operand::Number(n.into())).map_err(|_| wrong("a whole number"))
            }
            _ => Err(wrong("a whole number")),
        },
        FieldType::Decimal => parse_decimal(value).map(Operand::Number).ok_or_else(|| wrong("a number")),
        FieldType::Date => {
            value.as_str().and_then(parse_date).map(Operand::Date).ok_or_else(|| wrong("a date as YYYY-MM-DD"))
        }
        FieldType::DateTime => value
            .as_str()
            .and_then(parse_date_time)
            .map(Operand::DateTime)
            .ok_or_else(|| wrong("an RFC 3339 date-time such as 2026-12-04T10:30:00Z")),
        FieldType::Boolean => value.as_bool().map(Operand::Boolean).ok_or_else(|| wrong("true or false")),
        FieldType::MultipleChoice => Err(wrong("an array of options")),
    }
}

/// Parses a non-empty string to compare text with.
fn parse_text(value: &Value, at: &Pointer, resolved: &Resolved) -> Result<String, ConditionError> {
    let field = &resolved.field;
    let text = value.as_str().map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(at.error(format!("expected a non-empty string for {} field {}", field.kind.as_str(), field.name)));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(at.error(format!("longer than {MAX_TEXT_CHARS} characters")));
    }
    Ok(text.to_owned())
}

/// Parses one of a choice field's options.
fn parse_option(resolved: &Resolved, value: &Value, at: &Pointer) -> Result<String, ConditionError> {
    let text = value.as_str().ok_or_else(|| at.error("expected one of the field's options as a string"))?;
    if !resolved.options.iter().any(|option| option == text) {
        return Err(at.error(format!("not one of the options of field {}", resolved.field.name)));
    }
    Ok(text.to_owned())
}

/// Parses the operand of `before` or `after`: relative, or a date or time
/// of the field's type.
fn parse_moment(resolved: &Resolved, value: &Value, at: &Pointer) -> Result<Moment, ConditionError> {
    if let Some(relative) = parse_relative(value, at)? {
        return Ok(relative);
    }
    match parse_operand(resolved, value, at)? {
        Operand::Date(date) => Ok(Moment::Date(date)),
        Operand::DateTime(instant) => Ok(Moment::DateTime(instant)),
        _ => Err(at.error("expected a date")),
    }
}

/// Parses exactly `YYYY-MM-DD` with a four-digit year, as custom date
/// values are stored.
pub(super) fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(index, byte)| match index {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// Parses an RFC 3339 date-time into milliseconds since the epoch.
pub(super) fn parse_date_time(text: &str) -> Option<i64> {
    let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
}
