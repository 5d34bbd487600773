//! Phone numbers as identities: normalisation to E.164 with the
//! `phonenumber` crate (Google's libphonenumber metadata).

use phonenumber::country;
use phonenumber::Mode;

/// The country assumed for numbers without an international prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhoneCountry(country::Id);

impl PhoneCountry {
    /// Parses an ISO 3166-1 alpha-2 code such as `ES`.
    pub fn parse(code: &str) -> Result<PhoneCountry, String> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<country::Id>()
            .map(PhoneCountry)
            .map_err(|_| format!("{code:?} is not an ISO 3166-1 alpha-2 country code such as ES or US"))
    }
}

/// Returns `raw` in E.164 (`+34600000001`), or `None` when it is not a
/// valid number.
///
/// Accepts national formats of the default country (`600 000 001`),
/// international ones with `+` or the country's exit code (`0034…`), and
/// digits that only lack the `+` (`34600000001`) when they do not form a
/// valid national number.
pub fn normalise_phone(raw: &str, default: PhoneCountry) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() || text.chars().filter(char::is_ascii_digit).count() < 4 {
        return None;
    }

    let valid = |candidate: &str| phonenumber::parse(Some(default.0), candidate).ok().filter(phonenumber::is_valid);
    let number = valid(text).or_else(|| {
        let bare_digits = text.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.'));
        if bare_digits {
            valid(&format!("+{text}"))
        } else {
            None
        }
    })?;
    Some(number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spain() -> PhoneCountry {
        PhoneCountry::parse("ES").expect("valid country")
    }

    #[test]
    fn spanish_variants_become_one_e164_number() {
        for variant in ["600 000 001", "+34 600-000-001", "0034600000001", "34600000001", "600000001"] {
            assert_eq!(normalise_phone(variant, spain()).as_deref(), Some("+34600000001"), "{variant:?}");
        }
    }

    #[test]
    fn short_and_junk_values_are_rejected() {
        for junk in ["12", "", "null", "abc", "+34 12", "000000000"] {
            assert_eq!(normalise_phone(junk, spain()), None, "{junk:?}");
        }
    }

    #[test]
    fn unknown_country_code_is_rejected() {
        assert!(PhoneCountry::parse("XX").is_err());
        assert!(PhoneCountry::parse("es").is_ok());
    }
}
