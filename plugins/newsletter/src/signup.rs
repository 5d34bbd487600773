//! The signup form rules, free of the WebAssembly bindings so that
//! `cargo test` runs them on the host.
//!
//! Field names are compared without regard to ASCII case, because shops
//! spell them `Email` as often as `email`. When a name repeats, the last
//! usable value wins: a form that puts a hidden `newsletter=0` before the
//! checkbox sends both when the box is ticked, and the checkbox comes last.

/// Field names that carry the email address.
const EMAIL_NAMES: [&str; 3] = ["email", "e-mail", "customer.email"];

/// Field names that carry the first name, in order of preference: a form
/// with both `first_name` and `name` has `name` for something else, such as
/// a full name.
const FIRST_NAME_NAMES: [&str; 2] = ["first_name", "name"];

/// Field names of the newsletter checkbox.
const CONSENT_NAMES: [&str; 2] = ["newsletter", "consent"];

/// The visitor data a signup form carries.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Signup {
    /// The email address, trimmed, when it has the shape `local@domain.tld`.
    pub email: Option<String>,
    /// The first name, trimmed and not empty.
    pub first_name: Option<String>,
    /// `Some(true)` when the newsletter box is ticked, `Some(false)` when the
    /// form sends an explicit no, `None` when the form sends no usable value: an unticked
    /// checkbox sends no field at all, so absence is not a refusal.
    pub newsletter: Option<bool>,
}

/// Reads a signup from submitted `(name, value)` pairs, in submission order.
pub fn read_signup<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Signup {
    let mut signup = Signup::default();
    let mut first_name_rank = usize::MAX;

    for (name, value) in fields {
        let value = value.trim();

        if is_one_of(name, &EMAIL_NAMES) {
            if is_email(value) {
                signup.email = Some(value.to_owned());
            }
        } else if let Some(rank) = FIRST_NAME_NAMES.iter().position(|known| name.eq_ignore_ascii_case(known)) {
            // A preferred name is never replaced by a less preferred one,
            // whatever their order in the form.
            if !value.is_empty() && rank <= first_name_rank {
                signup.first_name = Some(value.to_owned());
                first_name_rank = rank;
            }
        } else if is_one_of(name, &CONSENT_NAMES) {
            if let Some(ticked) = parse_checkbox(value) {
                signup.newsletter = Some(ticked);
            }
        }
    }

    signup
}

fn is_one_of(name: &str, known: &[&str]) -> bool {
    known.iter().any(|known| name.eq_ignore_ascii_case(known))
}

/// Reads a checkbox value. Browsers send `on` for a box without a `value`
/// attribute. Values outside both lists (for example a box with
/// `value="weekly"`) return `None`, so they change no consent.
pub fn parse_checkbox(value: &str) -> Option<bool> {
    let value = value.trim().to_ascii_lowercase();
    match value.as_str() {
        "on" | "1" | "true" | "yes" | "y" | "checked" => Some(true),
        "off" | "0" | "false" | "no" | "n" | "" => Some(false),
        _ => None,
    }
}

/// Checks the shape `local@domain.tld` with no whitespace, at most 254
/// bytes (an SMTP path is at most 256 octets with its angle brackets). Footprint validates the address
/// again, so this only keeps obvious non-addresses out of the identity.
pub fn is_email(value: &str) -> bool {
    if value.is_empty() || value.len() > 254 || value.chars().any(char::is_whitespace) {
        return false;
    }

    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    let domain_parts_valid = domain.split('.').all(|part| !part.is_empty());
    !local.is_empty() && !local.contains('@') && domain.contains('.') && domain_parts_valid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_email_name_and_ticked_box() {
        let signup = read_signup([("email", " ada@example.com "), ("first_name", "Ada"), ("newsletter", "on")]);

        assert_eq!(signup.email.as_deref(), Some("ada@example.com"));
        assert_eq!(signup.first_name.as_deref(), Some("Ada"));
        assert_eq!(signup.newsletter, Some(true));
    }

    #[test]
    fn accepts_every_email_field_name() {
        for name in ["email", "E-Mail", "customer.email"] {
            let signup = read_signup([(name, "ada@example.com")]);
            assert_eq!(signup.email.as_deref(), Some("ada@example.com"), "field name {name}");
        }
    }

    #[test]
    fn ignores_malformed_email_addresses() {
        for value in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada @example.com",
            "a@b@example.com",
            "ada@example..com",
        ] {
            assert_eq!(read_signup([("email", value)]).email, None, "value {value:?}");
        }
    }

    #[test]
    fn prefers_first_name_over_name() {
        let before = read_signup([("first_name", "Ada"), ("name", "Ada Lovelace")]);
        let after = read_signup([("name", "Ada Lovelace"), ("first_name", "Ada")]);

        assert_eq!(before.first_name.as_deref(), Some("Ada"));
        assert_eq!(after.first_name.as_deref(), Some("Ada"));
    }

    #[test]
    fn uses_name_without_first_name() {
        assert_eq!(read_signup([("name", "Ada")]).first_name.as_deref(), Some("Ada"));
        assert_eq!(read_signup([("name", "   ")]).first_name, None);
    }

    #[test]
    fn reads_checkbox_values() {
        for value in ["on", "1", "true", "YES", "y", "checked"] {
            assert_eq!(read_signup([("newsletter", value)]).newsletter, Some(true), "value {value:?}");
        }
        for value in ["off", "0", "false", "No", ""] {
            assert_eq!(read_signup([("consent", value)]).newsletter, Some(false), "value {value:?}");
        }
    }

    #[test]
    fn unknown_checkbox_value_changes_nothing() {
        assert_eq!(read_signup([("newsletter", "weekly")]).newsletter, None);
    }

    #[test]
    fn unticked_box_changes_nothing() {
        assert_eq!(read_signup([("email", "ada@example.com")]).newsletter, None);
    }

    #[test]
    fn last_checkbox_value_wins() {
        let signup = read_signup([("newsletter", "0"), ("newsletter", "1")]);
        assert_eq!(signup.newsletter, Some(true));
    }

    #[test]
    fn ignores_unrelated_fields() {
        let signup = read_signup([("password1", "secret"), ("csrfmiddlewaretoken", "abc")]);
        assert_eq!(signup, Signup::default());
    }
}
