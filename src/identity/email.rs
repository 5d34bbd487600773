//! Email addresses as identities: normalisation and junk detection.

/// Values that forms, scripts and exports put where an email belongs
/// without meaning one. Compared after trimming and lowercasing.
const JUNK: &[&str] =
    &["", "null", "undefined", "none", "nil", "nan", "0", "-", "n/a", "false", "true", "[object object]"];

/// Returns the matching key of an email address (trimmed and lowercased),
/// or `None` when the value is junk or not a plausible address.
///
/// The check is deliberately practical rather than RFC 5322 complete: one
/// `@`, a non-empty local part of at most 64 bytes, a domain with a dot and
/// no empty labels, no whitespace or control characters, at most 254 bytes.
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    if JUNK.contains(&email.as_str()) || email.len() > 254 {
        return None;
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')) {
        return None;
    }

    let (local, domain) = email.split_once('@')?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return None;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
    {
        return None;
    }
    Some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(normalise_email("  Ana.Garcia@Example.COM "), Some("ana.garcia@example.com".to_owned()));
    }

    #[test]
    fn junk_values_identify_nobody() {
        for junk in ["", "  ", "null", "NULL", "undefined", "None", "0", "[object Object]", "nan"] {
            assert_eq!(normalise_email(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn invalid_addresses_identify_nobody() {
        for invalid in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@@example.com",
            "a b@example.com",
            "ana@example..com",
            "ana@.example.com",
            "<ana@example.com>",
            "ana@example.com, bob@example.com",
        ] {
            assert_eq!(normalise_email(invalid), None, "{invalid:?}");
        }
    }

    #[test]
    fn unusual_but_valid_addresses_are_kept() {
        for valid in ["o'brien@example.ie", "ana+shop@example.com", "josé@exämple.es", "x@sub.example.co.uk"] {
            assert!(normalise_email(valid).is_some(), "{valid:?}");
        }
    }
}
