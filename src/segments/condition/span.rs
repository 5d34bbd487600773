//! Durations (`{"days": 7}`) and relative dates (`{"days_ago": 30}`): parsing
//! and writing them back.

use serde_json::{Map, Value};

use super::ast::{Moment, Span};
use super::error::{ConditionError, Pointer};
use super::MAX_WINDOW_DAYS;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// A day of a duration is 24 hours; durations ignore calendars and time zones.
pub(super) const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

const UNITS: [(&str, i64); 4] = [("weeks", WEEK), ("days", DAY), ("hours", HOUR), ("minutes", MINUTE)];

/// Maximum offset of a relative date, in days: 200 years reaches any date
/// of birth.
pub const MAX_RELATIVE_DAYS: u32 = 73_000;

/// Parses a duration: an object with one or more of `weeks`, `days`,
/// `hours` and `minutes` as whole numbers, adding up to more than zero and
/// at most [`MAX_WINDOW_DAYS`] days.
pub(super) fn parse_span(value: &Value, at: &Pointer) -> Result<Span, ConditionError> {
    let expected = "expected a duration such as {\"days\": 7}, with weeks, days, hours or minutes";
    let Value::Object(members) = value else {
        return Err(at.error(expected));
    };
    if members.is_empty() {
        return Err(at.error(expected));
    }

    let mut total: i64 = 0;
    for (key, amount) in members {
        let Some((_, unit)) = UNITS.iter().find(|(name, _)| name == key) else {
            return Err(at.key(key).error(format!("unknown unit {key}; expected weeks, days, hours or minutes")));
        };
        let amount = amount
            .as_u64()
            .filter(|amount| *amount <= u64::from(MAX_WINDOW_DAYS) * 24 * 60)
            .ok_or_else(|| at.key(key).error("expected a whole number of at least 0"))?;
        total += amount as i64 * unit;
    }

    if total == 0 {
        return Err(at.error("a duration must be longer than zero"));
    }
    if total > i64::from(MAX_WINDOW_DAYS) * DAY {
        return Err(at.error(format!("durations and windows are limited to 2 years ({MAX_WINDOW_DAYS} days)")));
    }
    Ok(Span(total))
}

/// Writes a duration in the largest unit that divides it, up to days:
/// `{"days": 14}` reads better than `{"weeks": 2}` next to other windows.
pub(super) fn span_to_json(span: Span) -> Value {
    let (name, unit) = UNITS[1..].iter().find(|(_, unit)| span.0 % unit == 0).copied().unwrap_or(("minutes", MINUTE));
    let mut members = Map::new();
    members.insert(name.to_owned(), Value::from(span.0 / unit));
    Value::Object(members)
}

/// Parses a relative moment, `{"days_ago": N}` or `{"days_from_now": N}`,
/// or returns `None` when `value` is not an object (an absolute moment).
pub(super) fn parse_relative(value: &Value, at: &Pointer) -> Result<Option<Moment>, ConditionError> {
    let Value::Object(members) = value else {
        return Ok(None);
    };
    let expected = "expected {\"days_ago\": N} or {\"days_from_now\": N}";
    let mut entries = members.iter();
    let (Some((key, days)), None) = (entries.next(), entries.next()) else {
        return Err(at.error(expected));
    };

    let days = days
        .as_u64()
        .filter(|days| *days <= u64::from(MAX_RELATIVE_DAYS))
        .and_then(|days| u32::try_from(days).ok())
        .ok_or_else(|| at.key(key).error(format!("expected a whole number of days from 0 to {MAX_RELATIVE_DAYS}")))?;
    match key.as_str() {
        "days_ago" => Ok(Some(Moment::DaysAgo(days))),
        "days_from_now" => Ok(Some(Moment::DaysFromNow(days))),
        _ => Err(at.key(key).error(format!("unknown key {key}; {expected}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn span_adds_units_and_writes_largest() {
        let span = parse_span(&json!({"days": 1, "hours": 12}), &Pointer::default()).expect("valid");

        assert_eq!(span, Span(36 * HOUR));
        assert_eq!(span_to_json(span), json!({"hours": 36}));
        assert_eq!(span_to_json(Span(14 * DAY)), json!({"days": 14}));
        assert_eq!(span_to_json(Span(90 * MINUTE)), json!({"minutes": 90}));
    }

    #[test]
    fn span_rejects_zero_and_over_two_years() {
        let at = Pointer::default().key("within");

        assert!(parse_span(&json!({"days": 730}), &at).is_ok());
        assert_eq!(parse_span(&json!({"days": 731}), &at).map_err(|e| e.pointer), Err("/within".to_owned()));
        assert!(parse_span(&json!({"weeks": 104, "days": 3}), &at).is_err());
        assert!(parse_span(&json!({"days": 0}), &at).is_err());
        assert!(parse_span(&json!({}), &at).is_err());
        assert_eq!(parse_span(&json!({"months": 1}), &at).map_err(|e| e.pointer), Err("/within/months".to_owned()));
        assert_eq!(parse_span(&json!({"days": -1}), &at).map_err(|e| e.pointer), Err("/within/days".to_owned()));
    }

    #[test]
    fn relative_moment_parses_both_directions() {
        let at = Pointer::default();

        assert_eq!(parse_relative(&json!({"days_ago": 30}), &at), Ok(Some(Moment::DaysAgo(30))));
        assert_eq!(parse_relative(&json!({"days_from_now": 2}), &at), Ok(Some(Moment::DaysFromNow(2))));
        assert_eq!(parse_relative(&json!("2026-01-01"), &at), Ok(None));
        assert!(parse_relative(&json!({"days_ago": 1, "days_from_now": 1}), &at).is_err());
        assert!(parse_relative(&json!({"weeks_ago": 1}), &at).is_err());
    }
}
