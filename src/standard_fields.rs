//! The standard contact fields that staff (through the admin API) and
//! field-capture plugins can set, and how each value is checked and stored.
//!
//! This is the only list of standard fields: the admin create and edit
//! routes and the plugin capture applier accept exactly these names. Values are stored in the contact hash as
//! `f:<name>`. Email and cellphone are also unique indexes, so each has a
//! match key besides its stored value: the email is stored as typed
//! (trimmed) and matched trimmed and lowercased, and the cellphone is
//! stored and matched in E.164.

use time::macros::format_description;
use time::Date;

use crate::identity::{normalise_email, normalise_phone, PhoneCountry};
use crate::store::{IndexKind, CELLPHONE_FIELD, EMAIL_FIELD};

/// Maximum length of a name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A standard contact field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StandardField {
    Email,
    FirstName,
    LastName,
    DateOfBirth,
    Cellphone,
}

impl StandardField {
    /// Every standard field, in the order error messages list them.
    pub const ALL: [StandardField; 5] = [
        StandardField::Email,
        StandardField::FirstName,
        StandardField::LastName,
        StandardField::DateOfBirth,
        StandardField::Cellphone,
    ];

    /// The field's name in the API and in storage.
    pub fn name(self) -> &'static str {
        match self {
            StandardField::Email => EMAIL_FIELD,
            StandardField::FirstName => "first_name",
            StandardField::LastName => "last_name",
            StandardField::DateOfBirth => "date_of_birth",
            StandardField::Cellphone => CELLPHONE_FIELD,
        }
    }

    /// Finds the standard field called `name`.
    pub fn parse(name: &str) -> Option<StandardField> {
        StandardField::ALL.into_iter().find(|field| field.name() == name)
    }

    /// The unique index that maps this field's values to contacts, if any.
    pub fn index(self) -> Option<IndexKind> {
        match self {
            StandardField::Email => Some(IndexKind::Email),
            StandardField::Cellphone => Some(IndexKind::Phone),
            _ => None,
        }
    }

    /// Checks `raw` (already trimmed and not empty) and returns what to
    /// store and, for indexed fields, the match key.
    pub fn validate(self, raw: &str, country: PhoneCountry, today: Date) -> Result<FieldValue, FieldError> {
        match self {
            StandardField::Email => {
                let key = normalise_email(raw).ok_or(FieldError::InvalidEmail)?;
                Ok(FieldValue { stored: raw.to_owned(), index_key: Some(key) })
            }
            StandardField::Cellphone => {
                let e164 = normalise_phone(raw, country).ok_or(FieldError::InvalidPhone)?;
                Ok(FieldValue { stored: e164.clone(), index_key: Some(e164) })
            }
            StandardField::FirstName | StandardField::LastName => {
                if raw.chars().count() > MAX_NAME_CHARS {
                    return Err(FieldError::TooLong { max: MAX_NAME_CHARS });
                }
                if raw.chars().any(char::is_control) {
                    return Err(FieldError::ControlCharacter);
                }
                Ok(FieldValue { stored: raw.to_owned(), index_key: None })
            }
            StandardField::DateOfBirth => {
                let date = parse_date(raw)?;
                if date > today {
                    return Err(FieldError::FutureDate);
                }
                Ok(FieldValue { stored: raw.to_owned(), index_key: None })
            }
        }
    }

    /// Returns the match key of a value stored earlier, or `None` when the
    /// field has no index or the stored value no longer normalises.
    pub fn index_key_of_stored(self, stored: &str, country: PhoneCountry) -> Option<String> {
        match self {
            StandardField::Email => normalise_email(stored),
            StandardField::Cellphone => normalise_phone(stored, country),
            _ => None,
        }
    }
}

/// A checked field value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldValue {
    /// The value as stored and shown.
    pub stored: String,
    /// The key claimed in the field's unique index, for indexed fields.
    pub index_key: Option<String>,
}

/// The reason a field value was rejected. Messages never repeat the value, so
/// they can be logged and returned as they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("invalid email address")]
    InvalidEmail,
    #[error("invalid phone number; use E.164 (+34600000001) or a national number of the default country")]
    InvalidPhone,
    #[error("invalid date; expected a real calendar date as YYYY-MM-DD")]
    InvalidDate,
    #[error("the date of birth is in the future")]
    FutureDate,
    #[error("longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains a control character")]
    ControlCharacter,
}

/// Parses exactly `YYYY-MM-DD` with a four-digit year.
fn parse_date(raw: &str) -> Result<Date, FieldError> {
    let shape_ok = raw.len() == 10
        && raw.bytes().enumerate().all(|(index, byte)| match index {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(FieldError::InvalidDate);
    }
    Date::parse(raw, format_description!("[year]-[month]-[day]")).map_err(|_| FieldError::InvalidDate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn spain() -> PhoneCountry {
        PhoneCountry::parse("ES").expect("valid country")
    }

    fn check(field: StandardField, raw: &str) -> Result<FieldValue, FieldError> {
        field.validate(raw, spain(), date!(2026 - 12 - 04))
    }

    #[test]
    fn names_round_trip() {
        for field in StandardField::ALL {
            assert_eq!(StandardField::parse(field.name()), Some(field));
        }
        assert_eq!(StandardField::parse("nickname"), None);
    }

    #[test]
    fn email_is_stored_as_typed_and_keyed_lowercase() {
        let value = check(StandardField::Email, "Ana.Garcia@Example.COM").expect("valid");

        assert_eq!(value.stored, "Ana.Garcia@Example.COM");
        assert_eq!(value.index_key.as_deref(), Some("ana.garcia@example.com"));
        assert_eq!(check(StandardField::Email, "null"), Err(FieldError::InvalidEmail));
    }

    #[test]
    fn cellphone_is_stored_in_e164() {
        let value = check(StandardField::Cellphone, "600 000 001").expect("valid");

        assert_eq!(value.stored, "+34600000001");
        assert_eq!(value.index_key.as_deref(), Some("+34600000001"));
        assert_eq!(check(StandardField::Cellphone, "12"), Err(FieldError::InvalidPhone));
    }

    #[test]
    fn date_of_birth_must_be_real_and_past() {
        assert!(check(StandardField::DateOfBirth, "1990-02-28").is_ok());
        assert!(check(StandardField::DateOfBirth, "2026-12-04").is_ok(), "today is not the future");
        assert!(check(StandardField::DateOfBirth, "2000-02-29").is_ok(), "leap day");

        for invalid in
            ["1990-02-30", "2001-02-29", "1990-13-01", "1990-1-01", "01/02/1990", "+1990-01-01", "1990-01-01x"]
        {
            assert_eq!(check(StandardField::DateOfBirth, invalid), Err(FieldError::InvalidDate), "{invalid:?}");
        }
        assert_eq!(check(StandardField::DateOfBirth, "2026-12-05"), Err(FieldError::FutureDate));
    }

    #[test]
    fn names_reject_control_characters_and_length() {
        assert!(check(StandardField::FirstName, "José María").is_ok());
        assert_eq!(check(StandardField::LastName, "a\u{0}b"), Err(FieldError::ControlCharacter));
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(check(StandardField::FirstName, &long), Err(FieldError::TooLong { max: MAX_NAME_CHARS }));
    }
}
