//! Submitted fields: the query string and the inspected form body, as an
//! ordered list of name/value pairs with repeated names kept.

/// Name/value pairs in submission order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    pairs: Vec<(String, String)>,
}

impl Fields {
    /// Parses an `application/x-www-form-urlencoded` text.
    pub fn from_urlencoded(text: &[u8]) -> Fields {
        let pairs = form_urlencoded::parse(text).map(|(name, value)| (name.into_owned(), value.into_owned())).collect();
        Fields { pairs }
    }

    /// Parses the inspected prefix of a urlencoded body. When the prefix was
    /// cut at the inspection cap, the last pair may be cut too and is
    /// dropped rather than read with a truncated value.
    pub fn from_urlencoded_prefix(prefix: &[u8], complete: bool) -> Fields {
        if complete {
            return Fields::from_urlencoded(prefix);
        }
        let whole_pairs = match prefix.iter().rposition(|&b| b == b'&') {
            Some(end) => &prefix[..end],
            None => &[][..],
        };
        Fields::from_urlencoded(whole_pairs)
    }

    /// Appends every pair of `other`.
    pub fn extend(&mut self, other: Fields) {
        self.pairs.extend(other.pairs);
    }

    /// Returns the first value of `name`.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Returns true when a `Content-Type` value is a urlencoded form.
pub fn is_urlencoded(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_kept_in_order() {
        let fields = Fields::from_urlencoded(b"a=1&b=2&a=3");
        assert_eq!(fields.first("a"), Some("1"));
        assert_eq!(fields.pairs.len(), 3);
    }

    #[test]
    fn truncated_prefix_drops_the_cut_pair() {
        let fields = Fields::from_urlencoded_prefix(b"email=ana%40example.com&note=abc", false);
        assert_eq!(fields.first("email"), Some("ana@example.com"));
        assert!(!fields.contains("note"));
    }

    #[test]
    fn urlencoded_content_type_is_recognised_with_parameters() {
        assert!(is_urlencoded(Some("application/x-www-form-urlencoded; charset=UTF-8")));
        assert!(!is_urlencoded(Some("multipart/form-data; boundary=x")));
        assert!(!is_urlencoded(None));
    }
}
