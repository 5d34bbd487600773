//! The parse error, which names the offending part of the condition with a
//! JSON pointer (RFC 6901), so the admin API can show where it is.

/// A rejected condition: the location of the offending value and the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid condition at {pointer:?}: {reason}")]
pub struct ConditionError {
    /// JSON pointer to the offending value, such as `/all/1/value`; empty
    /// for the whole condition.
    pub pointer: String,
    pub reason: String,
}

/// The location of the value being parsed.
#[derive(Clone, Debug, Default)]
pub(super) struct Pointer(String);

impl Pointer {
    /// Returns the pointer to member `key` of the current object, with `~` and `/`
    /// escaped as RFC 6901 requires.
    pub fn key(&self, key: &str) -> Pointer {
        Pointer(format!("{}/{}", self.0, key.replace('~', "~0").replace('/', "~1")))
    }

    pub fn index(&self, index: usize) -> Pointer {
        Pointer(format!("{}/{index}", self.0))
    }

    /// Creates an error about the value at this pointer.
    pub fn error(&self, reason: impl Into<String>) -> ConditionError {
        ConditionError { pointer: self.0.clone(), reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_escapes_tilde_and_slash() {
        let pointer = Pointer::default().key("where").key("a/b~c").index(2);

        assert_eq!(pointer.error("x").pointer, "/where/a~1b~0c/2");
    }
}
