//! The profile and checkout form rules, free of the WebAssembly bindings so
//! that `cargo test` runs them on the host.
//!
//! Field names are compared without regard to ASCII case. A value that does
//! not parse (a date of birth in an unknown format, a shoe size that is not
//! a number) is left out rather than failing the whole capture, because a
//! shopper's typo is not a plugin fault.

use crate::date::parse_date_of_birth;

/// Field names of the cellphone number.
const CELLPHONE_NAMES: [&str; 4] = ["cellphone", "mobile", "phone", "phone_number"];

/// Field names of the date of birth.
const DATE_OF_BIRTH_NAMES: [&str; 4] = ["date_of_birth", "dob", "birthday", "birth_date"];

/// The visitor data a profile or checkout form carries. The field names
/// match the contact fields the plugin sets: `cellphone` and
/// `date_of_birth` are standard fields, the others custom field definitions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// The number as typed, trimmed. Footprint normalises it with its phone
    /// rules.
    pub cellphone: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// Custom text field `city`.
    pub city: Option<String>,
    /// Custom number field `shoe_size`, in decimal notation with a `.`.
    pub shoe_size: Option<String>,
    /// Custom multiple-choice field `interests`: every submitted value once,
    /// in submission order.
    pub interests: Vec<String>,
}

/// Reads a profile from submitted `(name, value)` pairs, in submission
/// order. For single-valued fields the last usable value wins.
pub fn read_profile<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Profile {
    let mut profile = Profile::default();

    for (name, value) in fields {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }

        if is_one_of(name, &CELLPHONE_NAMES) {
            profile.cellphone = Some(value.to_owned());
        } else if is_one_of(name, &DATE_OF_BIRTH_NAMES) {
            if let Some(date) = parse_date_of_birth(value) {
                profile.date_of_birth = Some(date);
            }
        } else if name.eq_ignore_ascii_case("city") {
            profile.city = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("shoe_size") {
            if let Some(size) = parse_number(value) {
                profile.shoe_size = Some(size);
            }
        } else if is_interests_name(name) && !profile.interests.iter().any(|known| known == value) {
            profile.interests.push(value.to_owned());
        }
    }

    profile
}

fn is_one_of(name: &str, known: &[&str]) -> bool {
    known.iter().any(|known| name.eq_ignore_ascii_case(known))
}

/// Checks for the names one multiple-choice field arrives under, depending
/// on how the form encodes it: `interests` (repeated checkboxes),
/// `interests[]` and `interests[0]` (PHP and Rails style) and `interests.0`
/// (a JSON array, flattened by Footprint into dotted paths).
pub fn is_interests_name(name: &str) -> bool {
    let prefix = "interests";
    let suffix = match name.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &name[prefix.len()..],
        _ => return false,
    };

    if suffix.is_empty() || suffix == "[]" {
        return true;
    }
    let index = suffix.strip_prefix('.').or_else(|| suffix.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')));
    index.is_some_and(is_digits)
}

/// Parses a positive decimal number such as `42`, `42.5` or `42,5` (decimal
/// comma) and returns it with a `.` separator.
pub fn parse_number(text: &str) -> Option<String> {
    let text = text.replace(',', ".");

    let mut parts = text.split('.');
    let whole = parts.next()?;
    let fraction = parts.next();
    if parts.next().is_some() || !is_digits(whole) || !fraction.is_none_or(is_digits) {
        return None;
    }
    Some(text)
}

/// Checks for one or more ASCII digits.
fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_profile_field() {
        let profile = read_profile([
            ("cellphone", " +44 7700 900123 "),
            ("date_of_birth", "03/04/1990"),
            ("city", "London"),
            ("shoe_size", "42,5"),
            ("interests", "running"),
        ]);

        assert_eq!(profile.cellphone.as_deref(), Some("+44 7700 900123"));
        assert_eq!(profile.date_of_birth.as_deref(), Some("1990-04-03"));
        assert_eq!(profile.city.as_deref(), Some("London"));
        assert_eq!(profile.shoe_size.as_deref(), Some("42.5"));
        assert_eq!(profile.interests, ["running"]);
    }

    #[test]
    fn collects_repeated_urlencoded_interests() {
        // `interests=running&interests=yoga&interests%5B%5D=cycling`, decoded.
        let profile = read_profile([("interests", "running"), ("interests", "yoga"), ("interests[]", "cycling")]);
        assert_eq!(profile.interests, ["running", "yoga", "cycling"]);
    }

    #[test]
    fn collects_json_array_interests() {
        let profile = read_profile([("interests.0", "running"), ("interests.1", "yoga"), ("interests.2", "cycling")]);
        assert_eq!(profile.interests, ["running", "yoga", "cycling"]);
    }

    #[test]
    fn collects_indexed_bracket_interests() {
        let profile = read_profile([("interests[0]", "running"), ("Interests[1]", "yoga")]);
        assert_eq!(profile.interests, ["running", "yoga"]);
    }

    #[test]
    fn drops_repeated_and_empty_interests() {
        let profile = read_profile([("interests", "yoga"), ("interests[]", "yoga"), ("interests", " ")]);
        assert_eq!(profile.interests, ["yoga"]);
    }

    #[test]
    fn ignores_lookalike_interest_names() {
        for name in
            ["interest", "interests_other", "interests.", "interests.x", "interests[x]", "interests[", "my_interests"]
        {
            assert!(!is_interests_name(name), "name {name:?}");
        }
    }

    #[test]
    fn accepts_cellphone_field_names() {
        for name in ["cellphone", "Mobile", "phone", "phone_number"] {
            assert_eq!(
                read_profile([(name, "07700 900123")]).cellphone.as_deref(),
                Some("07700 900123"),
                "name {name}"
            );
        }
    }

    #[test]
    fn skips_unparsable_values() {
        let profile = read_profile([("date_of_birth", "yesterday"), ("shoe_size", "large"), ("city", "  ")]);
        assert_eq!(profile, Profile::default());
    }

    #[test]
    fn keeps_last_valid_single_value() {
        let profile =
            read_profile([("dob", "1990-04-03"), ("birthday", "not a date"), ("shoe_size", "41"), ("shoe_size", "42")]);

        assert_eq!(profile.date_of_birth.as_deref(), Some("1990-04-03"));
        assert_eq!(profile.shoe_size.as_deref(), Some("42"));
    }

    #[test]
    fn parses_decimal_numbers() {
        assert_eq!(parse_number("42").as_deref(), Some("42"));
        assert_eq!(parse_number("42.5").as_deref(), Some("42.5"));
        assert_eq!(parse_number("42,5").as_deref(), Some("42.5"));
        for text in ["", ".5", "42.", "4 2", "-3", "1.2.3", "1e3", "42,5,1"] {
            assert_eq!(parse_number(text), None, "number {text:?}");
        }
    }
}
