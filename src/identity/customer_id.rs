//! The shop's own customer ids as identities.

/// Maximum length of a customer id, in characters.
pub const MAX_CUSTOMER_ID_CHARS: usize = 200;

/// The reason a customer id was rejected. Messages never repeat the id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CustomerIdError {
    #[error("empty customer id")]
    Empty,
    #[error("customer id longer than {MAX_CUSTOMER_ID_CHARS} characters")]
    TooLong,
    #[error("customer id contains a control character")]
    ControlCharacter,
}

/// Returns the match key of a customer id: the id trimmed. Ids are
/// compared exactly otherwise, because shops use case-sensitive ids.
pub fn normalise_customer_id(raw: &str) -> Result<&str, CustomerIdError> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(CustomerIdError::Empty);
    }
    if id.chars().count() > MAX_CUSTOMER_ID_CHARS {
        return Err(CustomerIdError::TooLong);
    }
    if id.chars().any(char::is_control) {
        return Err(CustomerIdError::ControlCharacter);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_id_is_trimmed() {
        assert_eq!(normalise_customer_id(" c-42 "), Ok("c-42"));
        assert_eq!(normalise_customer_id("C-42"), Ok("C-42"), "case is kept");
    }

    #[test]
    fn customer_id_rejects_empty_long_and_control() {
        assert_eq!(normalise_customer_id("  "), Err(CustomerIdError::Empty));
        let long = "x".repeat(MAX_CUSTOMER_ID_CHARS + 1);
        assert_eq!(normalise_customer_id(&long), Err(CustomerIdError::TooLong));
        assert_eq!(normalise_customer_id("a\nb"), Err(CustomerIdError::ControlCharacter));
    }
}
