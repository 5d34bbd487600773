//! Checking the members of a custom field definition: its name, label,
//! options and default.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::value::{validate_for, ValueError};
use crate::admin::fields::StandardField;
use crate::identity::PhoneCountry;
use crate::store::{FieldDefinition, FieldType};

/// Maximum length of a label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// Maximum number of options of a choice field.
pub const MAX_OPTIONS: usize = 200;

/// Maximum length of one option, in characters.
pub const MAX_OPTION_CHARS: usize = 200;

static NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new("^[a-z][a-z0-9_]{0,63}$").expect("valid name pattern"));

/// The reason a definition member was rejected; [`DefinitionError::member`]
/// names the member.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("invalid name; expected a lowercase letter, then up to 63 lowercase letters, digits or underscores")]
    InvalidName { member: &'static str },
    #[error("{name} is a standard field; choose another name")]
    StandardName { member: &'static str, name: String },
    #[error("expected a label of 1 to {MAX_LABEL_CHARS} characters without control characters")]
    InvalidLabel,
    #[error("{kind} fields need options: an array of 1 to {MAX_OPTIONS} distinct non-empty strings")]
    MissingOptions { kind: FieldType },
    #[error("{kind} fields take no options; only single_choice and multiple_choice do")]
    UnexpectedOptions { kind: FieldType },
    #[error("expected an array of 1 to {MAX_OPTIONS} distinct non-empty strings")]
    InvalidOptions,
    #[error("expected a non-empty string of at most {MAX_OPTION_CHARS} characters without control characters")]
    InvalidOption { index: usize },
    #[error("repeats an earlier option")]
    RepeatedOption { index: usize },
    #[error("invalid default: {source}")]
    InvalidDefault {
        #[source]
        source: ValueError,
    },
}

impl DefinitionError {
    /// The request member the error is about, such as `options[2]`.
    pub fn member(&self) -> String {
        match self {
            DefinitionError::InvalidName { member } | DefinitionError::StandardName { member, .. } => {
                (*member).to_owned()
            }
            DefinitionError::InvalidLabel => "label".to_owned(),
            DefinitionError::MissingOptions { .. }
            | DefinitionError::UnexpectedOptions { .. }
            | DefinitionError::InvalidOptions => "options".to_owned(),
            DefinitionError::InvalidOption { index } | DefinitionError::RepeatedOption { index } => {
                format!("options[{index}]")
            }
            DefinitionError::InvalidDefault { .. } => "default".to_owned(),
        }
    }
}

/// Checks a new name; `member` is the request member it came from (`name`
/// or `new_name`).
pub fn validate_name(name: &str, member: &'static str) -> Result<(), DefinitionError> {
    if !NAME.is_match(name) {
        return Err(DefinitionError::InvalidName { member });
    }
    if StandardField::parse(name).is_some() {
        return Err(DefinitionError::StandardName { member, name: name.to_owned() });
    }
    Ok(())
}

/// Checks a label and returns it trimmed.
pub fn validate_label(label: &str) -> Result<String, DefinitionError> {
    let label = label.trim();
    let length = label.chars().count();
    if length == 0 || length > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(DefinitionError::InvalidLabel);
    }
    Ok(label.to_owned())
}

/// Checks the `options` member for a field of type `kind` (`None` when the
/// request has none) and returns the options, trimmed, in the order given.
pub fn validate_options(kind: FieldType, options: Option<&Value>) -> Result<Vec<String>, DefinitionError> {
    let items = match (kind.has_options(), options) {
        (false, None | Some(Value::Null)) => return Ok(Vec::new()),
        (false, Some(_)) => return Err(DefinitionError::UnexpectedOptions { kind }),
        (true, None | Some(Value::Null)) => return Err(DefinitionError::MissingOptions { kind }),
        (true, Some(Value::Array(items))) => items,
        (true, Some(_)) => return Err(DefinitionError::InvalidOptions),
    };
    if items.is_empty() || items.len() > MAX_OPTIONS {
        return Err(DefinitionError::InvalidOptions);
    }

    let mut options: Vec<String> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let option = item.as_str().map(str::trim).unwrap_or_default();
        let length = option.chars().count();
        if length == 0 || length > MAX_OPTION_CHARS || option.chars().any(char::is_control) {
            return Err(DefinitionError::InvalidOption { index });
        }
        if options.iter().any(|earlier| earlier == option) {
            return Err(DefinitionError::RepeatedOption { index });
        }
        options.push(option.to_owned());
    }
    Ok(options)
}

/// Checks a default against `definition` (whose type and options are
/// final) and returns it in stored form; `null` means no default.
pub fn validate_default(
    definition: &FieldDefinition,
    default: &Value,
    country: PhoneCountry,
) -> Result<Option<String>, DefinitionError> {
    validate_for(definition, default, country).map_err(|source| DefinitionError::InvalidDefault { source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_pattern_and_avoid_standard_fields() {
        assert_eq!(validate_name("shoe_size", "name"), Ok(()));
        assert_eq!(validate_name(&format!("a{}", "b".repeat(63)), "name"), Ok(()));
        for invalid in ["", "Shoe", "1size", "_x", "shoe-size", &format!("a{}", "b".repeat(64))] {
            assert_eq!(
                validate_name(invalid, "name"),
                Err(DefinitionError::InvalidName { member: "name" }),
                "{invalid:?}"
            );
        }
        assert!(matches!(validate_name("email", "new_name"), Err(DefinitionError::StandardName { .. })));
    }

    #[test]
    fn options_errors_name_the_item() {
        let kind = FieldType::SingleChoice;

        assert_eq!(validate_options(kind, Some(&json!([" a ", "b"]))), Ok(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(
            validate_options(kind, Some(&json!(["a", "b", "a"]))).map_err(|e| e.member()),
            Err("options[2]".to_owned())
        );
        assert_eq!(
            validate_options(kind, Some(&json!(["a", " "]))).map_err(|e| e.member()),
            Err("options[1]".to_owned())
        );
        assert_eq!(validate_options(kind, Some(&json!([]))), Err(DefinitionError::InvalidOptions));
        assert_eq!(validate_options(kind, None), Err(DefinitionError::MissingOptions { kind }));
        assert_eq!(
            validate_options(FieldType::Text, Some(&json!(["a"]))),
            Err(DefinitionError::UnexpectedOptions { kind: FieldType::Text })
        );
    }
}
