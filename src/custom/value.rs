//! Checking custom field values against their definition, and showing
//! stored values as typed JSON.
//!
//! Values are stored as text in the contact's profile fields, one
//! canonical form per type, so that equal values compare equal and the
//! store needs no notion of types. Integers and decimals use Rust's
//! shortest round-trip form, dates `YYYY-MM-DD`, date-times RFC 3339 in
//! UTC, booleans `true`/`false` and phones E.164. Multiple choices are a
//! JSON array of strings in the order given.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::identity::{normalise_email, normalise_phone, PhoneCountry};
use crate::store::{FieldDefinition, FieldType};

/// Maximum length of a text value, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// The reason a custom value was rejected. Messages never repeat the value,
/// so they can be logged and returned as they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("unknown custom field")]
    UnknownField,
    #[error("expected {expected}, or null to remove the value")]
    WrongJsonType { expected: &'static str },
    #[error("longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains a control character other than tab or line feed")]
    ControlCharacter,
    #[error("invalid email address")]
    InvalidEmail,
    #[error("invalid phone number; use E.164 (+34600000001) or a national number of the default country")]
    InvalidPhone,
    #[error("invalid integer; expected a whole number from -9223372036854775808 to 9223372036854775807")]
    InvalidInteger,
    #[error("invalid decimal; expected a finite number such as 12.5")]
    InvalidDecimal,
    #[error("invalid date; expected a real calendar date as YYYY-MM-DD")]
    InvalidDate,
    #[error("invalid date-time; expected RFC 3339 with an offset, such as 2026-12-04T10:30:00+01:00")]
    InvalidDateTime,
    #[error("invalid boolean; expected true or false")]
    InvalidBoolean,
    #[error("not one of the field's options")]
    NotAnOption,
    #[error("item {index} is not one of the field's options")]
    ItemNotAnOption { index: usize },
    #[error("item {index} repeats an earlier item")]
    RepeatedItem { index: usize },
    #[error("item {index} is not a string")]
    ItemNotString { index: usize },
}

/// A checked value of one custom field, ready for `Store::set_fields`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredValue {
    /// The profile field the value is stored under (`cf.<id>`).
    pub storage_name: String,
    /// The canonical text to store, or `None` to remove the value.
    pub text: Option<String>,
}

/// Checks `value` for the custom field called `name` among `definitions`.
///
/// `null`, a blank string and an empty array remove the value, as blank
/// strings do for standard fields. Phone numbers without an international
/// prefix are read as numbers of `country`.
pub fn validate(
    definitions: &[FieldDefinition],
    name: &str,
    value: &Value,
    country: PhoneCountry,
) -> Result<StoredValue, ValueError> {
    let definition = definitions.iter().find(|definition| definition.name == name).ok_or(ValueError::UnknownField)?;
    let text = validate_for(definition, value, country)?;
    Ok(StoredValue { storage_name: definition.storage_name(), text })
}

/// Checks `value` against `definition` and returns its canonical text, or
/// `None` when the value means removal.
pub fn validate_for(
    definition: &FieldDefinition,
    value: &Value,
    country: PhoneCountry,
) -> Result<Option<String>, ValueError> {
    if is_removal(value) {
        return Ok(None);
    }

    let canonical = match definition.kind {
        FieldType::Text => check_text(expect_string(value, "a string")?)?,
        FieldType::Email => {
            let raw = expect_string(value, "an email address as a string")?;
            normalise_email(raw).ok_or(ValueError::InvalidEmail)?;
            raw.to_owned()
        }
        FieldType::Phone => {
            let raw = expect_string(value, "a phone number as a string")?;
            normalise_phone(raw, country).ok_or(ValueError::InvalidPhone)?
        }
        FieldType::Integer => canonical_integer(value)?,
        FieldType::Decimal => canonical_decimal(value)?,
        FieldType::Date => {
            let raw = expect_string(value, "a date as a YYYY-MM-DD string")?;
            parse_date(raw)?;
            raw.to_owned()
        }
        FieldType::DateTime => canonical_date_time(expect_string(value, "an RFC 3339 date-time string")?)?,
        FieldType::Boolean => canonical_boolean(value)?,
        FieldType::SingleChoice => {
            let raw = expect_string(value, "one of the options as a string")?;
            if !definition.options.iter().any(|option| option == raw) {
                return Err(ValueError::NotAnOption);
            }
            raw.to_owned()
        }
        FieldType::MultipleChoice => canonical_choices(definition, value)?,
    };
    Ok(Some(canonical))
}

/// Shows a stored value as typed JSON. A stored text that does not parse as
/// its type is shown as a string instead of being dropped.
pub fn render(definition: &FieldDefinition, stored: &str) -> Value {
    let rendered = match definition.kind {
        FieldType::Integer => stored.parse::<i64>().ok().map(Value::from),
        FieldType::Decimal => stored.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number),
        FieldType::Boolean => match stored {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        FieldType::MultipleChoice => serde_json::from_str::<Vec<String>>(stored).ok().map(Value::from),
        _ => None,
    };
    rendered.unwrap_or_else(|| Value::String(stored.to_owned()))
}

/// Returns why a stored value no longer fits its definition, or `None`
/// when it fits. Only options can change under a stored value, because a
/// definition's type never changes.
pub fn stale_reason(definition: &FieldDefinition, stored: &str) -> Option<&'static str> {
    let in_options = |item: &str| definition.options.iter().any(|option| option == item);
    match definition.kind {
        FieldType::SingleChoice if !in_options(stored) => Some("the stored value is no longer one of the options"),
        FieldType::MultipleChoice => {
            let items: Vec<String> = serde_json::from_str(stored).unwrap_or_default();
            let stale = items.iter().any(|item| !in_options(item));
            stale.then_some("the stored value holds items that are no longer options")
        }
        _ => None,
    }
}

fn is_removal(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn expect_string<'a>(value: &'a Value, expected: &'static str) -> Result<&'a str, ValueError> {
    match value {
        Value::String(text) => Ok(text.trim()),
        _ => Err(ValueError::WrongJsonType { expected }),
    }
}

fn check_text(raw: &str) -> Result<String, ValueError> {
    if raw.chars().count() > MAX_TEXT_CHARS {
        return Err(ValueError::TooLong { max: MAX_TEXT_CHARS });
    }
    if raw.chars().any(|ch| ch.is_control() && ch != '\t' && ch != '\n') {
        return Err(ValueError::ControlCharacter);
    }
    Ok(raw.to_owned())
}

fn canonical_integer(value: &Value) -> Result<String, ValueError> {
    let number = match value {
        Value::Number(number) => number.as_i64().ok_or(ValueError::InvalidInteger)?,
        Value::String(text) => text.trim().parse::<i64>().map_err(|_| ValueError::InvalidInteger)?,
        _ => return Err(ValueError::WrongJsonType { expected: "a whole number" }),
    };
    Ok(number.to_string())
}

fn canonical_decimal(value: &Value) -> Result<String, ValueError> {
    let number = match value {
        Value::Number(number) => number.as_f64().ok_or(ValueError::InvalidDecimal)?,
        Value::String(text) => text.trim().parse::<f64>().map_err(|_| ValueError::InvalidDecimal)?,
        _ => return Err(ValueError::WrongJsonType { expected: "a number" }),
    };
    if !number.is_finite() {
        return Err(ValueError::InvalidDecimal);
    }

    // Negative zero would store as "-0", a second spelling of zero.
    let number = if number == 0.0 { 0.0 } else { number };
    Ok(number.to_string())
}

fn canonical_date_time(raw: &str) -> Result<String, ValueError> {
    let parsed = OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| ValueError::InvalidDateTime)?;
    parsed.to_offset(UtcOffset::UTC).format(&Rfc3339).map_err(|_| ValueError::InvalidDateTime)
}

fn canonical_boolean(value: &Value) -> Result<String, ValueError> {
    match value {
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::String(text) if matches!(text.trim(), "true" | "false") => Ok(text.trim().to_owned()),
        Value::String(_) => Err(ValueError::InvalidBoolean),
        _ => Err(ValueError::WrongJsonType { expected: "true or false" }),
    }
}

fn canonical_choices(definition: &FieldDefinition, value: &Value) -> Result<String, ValueError> {
    let Value::Array(items) = value else {
        return Err(ValueError::WrongJsonType { expected: "an array of options" });
    };

    let mut chosen: Vec<&str> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::String(item) = item else {
            return Err(ValueError::ItemNotString { index });
        };
        if !definition.options.iter().any(|option| option == item) {
            return Err(ValueError::ItemNotAnOption { index });
        }
        if chosen.contains(&item.as_str()) {
            return Err(ValueError::RepeatedItem { index });
        }
        chosen.push(item);
    }
    serde_json::to_string(&chosen).map_err(|_| ValueError::WrongJsonType { expected: "an array of options" })
}

/// Parses exactly `YYYY-MM-DD` with a four-digit year.
fn parse_date(raw: &str) -> Result<Date, ValueError> {
    let shape_ok = raw.len() == 10
        && raw.bytes().enumerate().all(|(index, byte)| match index {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(ValueError::InvalidDate);
    }
    Date::parse(raw, format_description!("[year]-[month]-[day]")).map_err(|_| ValueError::InvalidDate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(kind: FieldType, options: &[&str]) -> FieldDefinition {
        FieldDefinition {
            id: uuid::Uuid::now_v7(),
            name: "field".to_owned(),
            label: "Field".to_owned(),
            kind,
            options: options.iter().map(|option| (*option).to_owned()).collect(),
            default: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn check(kind: FieldType, value: Value) -> Result<Option<String>, ValueError> {
        let country = PhoneCountry::parse("ES").expect("valid country");
        validate_for(&definition(kind, &["red", "green", "blue"]), &value, country)
    }

    #[test]
    fn validate_finds_definition_by_name() {
        let country = PhoneCountry::parse("ES").expect("valid country");
        let size = FieldDefinition { name: "shoe_size".to_owned(), ..definition(FieldType::Integer, &[]) };
        let definitions = [definition(FieldType::Text, &[]), size.clone()];

        let stored = validate(&definitions, "shoe_size", &json!("42"), country);
        let removed = validate(&definitions, "shoe_size", &Value::Null, country);

        assert_eq!(stored, Ok(StoredValue { storage_name: size.storage_name(), text: Some("42".to_owned()) }));
        assert_eq!(removed, Ok(StoredValue { storage_name: size.storage_name(), text: None }));
        assert!(size.storage_name().starts_with("cf."));
        assert_eq!(validate(&definitions, "nickname", &json!("x"), country), Err(ValueError::UnknownField));
    }

    #[test]
    fn decimals_store_canonical_text() {
        assert_eq!(check(FieldType::Decimal, json!(42.50)), Ok(Some("42.5".to_owned())));
        assert_eq!(check(FieldType::Decimal, json!("1e2")), Ok(Some("100".to_owned())));
        assert_eq!(check(FieldType::Decimal, json!(-0.0)), Ok(Some("0".to_owned())));
        assert_eq!(check(FieldType::Decimal, json!("inf")), Err(ValueError::InvalidDecimal));
        assert_eq!(check(FieldType::Decimal, json!("NaN")), Err(ValueError::InvalidDecimal));
    }

    #[test]
    fn date_times_normalise_to_utc() {
        let stored = check(FieldType::DateTime, json!("2026-12-04T10:30:00+01:00"));

        assert_eq!(stored, Ok(Some("2026-12-04T09:30:00Z".to_owned())));
        assert_eq!(check(FieldType::DateTime, json!("2026-12-04 10:30")), Err(ValueError::InvalidDateTime));
    }

    #[test]
    fn integers_reject_fractions_and_overflow() {
        assert_eq!(check(FieldType::Integer, json!(-7)), Ok(Some("-7".to_owned())));
        assert_eq!(check(FieldType::Integer, json!(4.5)), Err(ValueError::InvalidInteger));
        assert_eq!(check(FieldType::Integer, json!("9223372036854775808")), Err(ValueError::InvalidInteger));
    }

    #[test]
    fn render_types_stored_text() {
        let choices = definition(FieldType::MultipleChoice, &["a", "b"]);

        assert_eq!(render(&definition(FieldType::Integer, &[]), "42"), json!(42));
        assert_eq!(render(&definition(FieldType::Decimal, &[]), "42.5"), json!(42.5));
        assert_eq!(render(&definition(FieldType::Boolean, &[]), "true"), json!(true));
        assert_eq!(render(&choices, r#"["b","a"]"#), json!(["b", "a"]));
        assert_eq!(render(&definition(FieldType::Integer, &[]), "x"), json!("x"));
    }

    #[test]
    fn stale_reason_flags_removed_options() {
        let choice = definition(FieldType::SingleChoice, &["a"]);
        let choices = definition(FieldType::MultipleChoice, &["a"]);

        assert_eq!(stale_reason(&choice, "a"), None);
        assert!(stale_reason(&choice, "b").is_some());
        assert_eq!(stale_reason(&choices, r#"["a"]"#), None);
        assert!(stale_reason(&choices, r#"["a","b"]"#).is_some());
    }
}
