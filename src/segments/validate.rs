//! Checks of a segment's name, description and condition, so that the
//! admin API can name the offending member in its error.

use serde_json::Value;

use super::condition::{self, ConditionError};
use super::SegmentKind;
use crate::store::FieldDefinition;

/// Maximum characters of a segment name.
pub const MAX_NAME_CHARS: usize = 100;
/// Maximum characters of a segment description.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// An invalid member of a segment definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error("the name must have 1 to {MAX_NAME_CHARS} characters, without leading or trailing spaces")]
    NameLength,
    #[error("the name must not contain control characters")]
    NameControl,
    #[error("the description must have at most {MAX_DESCRIPTION_CHARS} characters")]
    DescriptionLength,
    #[error("a {0} segment needs a condition")]
    ConditionMissing(SegmentKind),
    #[error("a static segment has no condition; its members are added by hand")]
    ConditionForbidden,
    #[error("the condition must be a JSON object")]
    ConditionNotObject,
    #[error("{}", .0.reason)]
    Condition(#[source] ConditionError),
    #[error("the condition tests behaviour (activities, purchases or the basket), which needs a dynamic_plus segment")]
    ConditionBehavioural,
}

impl SegmentError {
    /// Returns the request member the error is about. A condition error
    /// names the offending part inside `condition` with its JSON pointer,
    /// such as `condition/all/1/value`.
    pub fn member(&self) -> String {
        match self {
            SegmentError::NameLength | SegmentError::NameControl => "name".to_owned(),
            SegmentError::DescriptionLength => "description".to_owned(),
            SegmentError::Condition(error) => format!("condition{}", error.pointer),
            SegmentError::ConditionMissing(_)
            | SegmentError::ConditionForbidden
            | SegmentError::ConditionNotObject
            | SegmentError::ConditionBehavioural => "condition".to_owned(),
        }
    }
}

/// Checks a segment name.
pub fn name(name: &str) -> Result<(), SegmentError> {
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME_CHARS || name.trim() != name {
        return Err(SegmentError::NameLength);
    }
    if name.chars().any(char::is_control) {
        return Err(SegmentError::NameControl);
    }
    Ok(())
}

/// Checks a segment description; an empty one is allowed.
pub fn description(description: &str) -> Result<(), SegmentError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(SegmentError::DescriptionLength);
    }
    Ok(())
}

/// Checks that `condition` fits `kind`: absent (or null) for static,
/// required for the dynamic kinds, where it must parse against the custom
/// field `definitions`. Only `dynamic_plus` may test behaviour.
pub fn condition(
    kind: SegmentKind,
    condition: Option<&Value>,
    definitions: &[FieldDefinition],
) -> Result<Option<Value>, SegmentError> {
    let condition = condition.filter(|value| !value.is_null());
    let value = match (kind.has_condition(), condition) {
        (false, None) => return Ok(None),
        (false, Some(_)) => return Err(SegmentError::ConditionForbidden),
        (true, None) => return Err(SegmentError::ConditionMissing(kind)),
        (true, Some(value)) if value.is_object() => value,
        (true, Some(_)) => return Err(SegmentError::ConditionNotObject),
    };

    let parsed = condition::parse(value, definitions).map_err(SegmentError::Condition)?;
    if parsed.is_behavioural() && kind != SegmentKind::DynamicPlus {
        return Err(SegmentError::ConditionBehavioural);
    }
    Ok(Some(value.clone()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn name_accepts_one_to_hundred_chars() {
        assert_eq!(name("a"), Ok(()));
        assert_eq!(name(&"é".repeat(100)), Ok(()));
    }

    #[test]
    fn name_rejects_empty_long_or_padded() {
        for bad in ["", " vip", "vip ", &"x".repeat(101)] {
            assert_eq!(name(bad), Err(SegmentError::NameLength), "{bad:?}");
        }
        assert_eq!(name("a\nb"), Err(SegmentError::NameControl));
    }

    #[test]
    fn description_limits_length() {
        assert_eq!(description(""), Ok(()));
        assert_eq!(description(&"x".repeat(1001)), Err(SegmentError::DescriptionLength));
    }

    #[test]
    fn condition_follows_kind() {
        let object = json!({"status": "newsletter", "is": "subscribed"});

        assert_eq!(condition(SegmentKind::Static, None, &[]), Ok(None));
        assert_eq!(condition(SegmentKind::Static, Some(&Value::Null), &[]), Ok(None));
        assert_eq!(condition(SegmentKind::Static, Some(&object), &[]), Err(SegmentError::ConditionForbidden));
        assert_eq!(
            condition(SegmentKind::Dynamic, None, &[]),
            Err(SegmentError::ConditionMissing(SegmentKind::Dynamic))
        );
        assert_eq!(condition(SegmentKind::DynamicPlus, Some(&json!([1])), &[]), Err(SegmentError::ConditionNotObject));
        assert_eq!(condition(SegmentKind::Dynamic, Some(&object), &[]), Ok(Some(object)));
    }

    #[test]
    fn condition_error_names_pointer() {
        let invalid = json!({"all": [
            {"status": "newsletter", "is": "subscribed"},
            {"field": "first_name", "op": "equals", "value": 3}
        ]});

        let error = condition(SegmentKind::Dynamic, Some(&invalid), &[]).expect_err("a number is no name");

        assert_eq!(error.member(), "condition/all/1/value");
    }

    #[test]
    fn behaviour_needs_dynamic_plus() {
        let behavioural = json!({"activity": "login", "within": {"days": 7}, "count": {"at_least": 1}});

        assert_eq!(condition(SegmentKind::Dynamic, Some(&behavioural), &[]), Err(SegmentError::ConditionBehavioural));
        assert_eq!(condition(SegmentKind::DynamicPlus, Some(&behavioural), &[]), Ok(Some(behavioural)));
    }
}
