//! Checks of a segment's name, description and condition, so that the
//! admin API can name the offending member in its error.

use serde_json::Value;

use super::SegmentKind;

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
}

impl SegmentError {
    /// Returns the request member the error is about.
    pub fn member(&self) -> &'static str {
        match self {
            SegmentError::NameLength | SegmentError::NameControl => "name",
            SegmentError::DescriptionLength => "description",
            SegmentError::ConditionMissing(_) | SegmentError::ConditionForbidden | SegmentError::ConditionNotObject => {
                "condition"
            }
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

/// Checks that `condition` fits `kind`: required for the dynamic kinds,
/// absent (or null) for static.
pub fn condition(kind: SegmentKind, condition: Option<&Value>) -> Result<Option<Value>, SegmentError> {
    let condition = condition.filter(|value| !value.is_null());
    match (kind.has_condition(), condition) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(SegmentError::ConditionForbidden),
        (true, None) => Err(SegmentError::ConditionMissing(kind)),
        // TODO: validate with `segments::condition::parse` once the
        // condition language is merged; until then any JSON object passes.
        (true, Some(value)) if value.is_object() => Ok(Some(value.clone())),
        (true, Some(_)) => Err(SegmentError::ConditionNotObject),
    }
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
        let object = json!({"all": []});

        assert_eq!(condition(SegmentKind::Static, None), Ok(None));
        assert_eq!(condition(SegmentKind::Static, Some(&Value::Null)), Ok(None));
        assert_eq!(condition(SegmentKind::Static, Some(&object)), Err(SegmentError::ConditionForbidden));
        assert_eq!(condition(SegmentKind::Dynamic, None), Err(SegmentError::ConditionMissing(SegmentKind::Dynamic)));
        assert_eq!(condition(SegmentKind::DynamicPlus, Some(&json!([1]))), Err(SegmentError::ConditionNotObject));
        assert_eq!(condition(SegmentKind::Dynamic, Some(&object)), Ok(Some(object)));
    }
}
