//! Submitted fields: the query string and the inspected form body, as an
//! ordered list of name/value pairs with repeated names kept.
//!
//! Three body encodings are read: urlencoded, `multipart/form-data` and
//! JSON. Each parser receives only the inspected prefix of the body, so each
//! decides what to do with a body cut at the inspection cap. Urlencoded and
//! multipart drop the cut pair or part and keep the rest. A cut JSON
//! document cannot be parsed and yields no fields. No input makes a parser
//! panic; what cannot be read is skipped and counted in
//! `footprint_form_parse_failures_total{encoding,reason}`.

mod json;
mod multipart;

use bytes::Bytes;
use futures_util::FutureExt as _;

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

    /// Parses the inspected prefix of a body in any supported encoding.
    /// `complete` is false when the prefix was cut at the inspection cap.
    pub async fn from_body_prefix(encoding: &FormEncoding, prefix: Bytes, complete: bool) -> Fields {
        match encoding {
            FormEncoding::Urlencoded => Fields::from_urlencoded_prefix(&prefix, complete),
            FormEncoding::Multipart { boundary } => multipart::parse(prefix, boundary, complete).await,
            FormEncoding::Json => json::parse(&prefix, complete),
        }
    }

    /// Parses like [`Fields::from_body_prefix`], without an async context.
    /// The prefix is one chunk already in memory, so the multipart parser
    /// never waits and its future completes on the first poll.
    pub fn from_body_prefix_now(encoding: &FormEncoding, prefix: Bytes, complete: bool) -> Fields {
        Fields::from_body_prefix(encoding, prefix, complete).now_or_never().unwrap_or_default()
    }

    /// Appends every pair of `other`.
    pub fn extend(&mut self, other: Fields) {
        self.pairs.extend(other.pairs);
    }

    /// Appends one pair.
    pub fn push(&mut self, name: String, value: String) {
        self.pairs.push((name, value));
    }

    /// Returns the first value of `name`.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Returns every value of `name`, in submission order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Returns the pairs, in submission order.
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }
}

/// A form body encoding Footprint can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormEncoding {
    Urlencoded,
    /// `multipart/form-data`, with the boundary unquoted.
    Multipart {
        boundary: String,
    },
    Json,
}

impl FormEncoding {
    /// Reads the encoding from a `Content-Type` value. Returns `None` for
    /// other media types and for multipart without a boundary.
    pub fn from_content_type(content_type: Option<&str>) -> Option<FormEncoding> {
        let content_type = content_type?;
        let media_type = media_type(content_type);

        match media_type.as_str() {
            "application/x-www-form-urlencoded" => Some(FormEncoding::Urlencoded),
            "application/json" => Some(FormEncoding::Json),
            "multipart/form-data" => match multer::parse_boundary(content_type) {
                Ok(boundary) => Some(FormEncoding::Multipart { boundary }),
                Err(_) => {
                    count_failure("multipart", "missing_boundary");
                    None
                }
            },
            _ => None,
        }
    }

    /// Returns the media type that plugins receive for this encoding.
    pub fn media_type(&self) -> &'static str {
        match self {
            FormEncoding::Urlencoded => "application/x-www-form-urlencoded",
            FormEncoding::Multipart { .. } => "multipart/form-data",
            FormEncoding::Json => "application/json",
        }
    }
}

/// Returns the media type of a `Content-Type` value, lowercased and
/// without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn count_failure(encoding: &'static str, reason: &'static str) {
    metrics::counter!("footprint_form_parse_failures_total", "encoding" => encoding, "reason" => reason).increment(1);
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
    fn repeated_interests_urlencoded_keep_all_three() {
        let fields = Fields::from_urlencoded(b"interests=running&interests=yoga&interests%5B%5D=cycling");

        assert_eq!(fields.all("interests").collect::<Vec<_>>(), ["running", "yoga"]);
        assert_eq!(fields.all("interests[]").collect::<Vec<_>>(), ["cycling"]);
    }

    #[test]
    fn malformed_urlencoded_never_panics() {
        let fields = Fields::from_urlencoded(b"%zz=%&&=x&a=%E2%82&b");

        assert_eq!(fields.first("%zz"), Some("%"));
        assert_eq!(fields.first("b"), Some(""));
        assert_eq!(fields.first("a"), Some("\u{fffd}"));
    }

    #[test]
    fn encodings_are_read_from_content_type() {
        let cases = [
            ("application/x-www-form-urlencoded; charset=UTF-8", Some(FormEncoding::Urlencoded)),
            ("Application/JSON", Some(FormEncoding::Json)),
            ("multipart/form-data; boundary=abc", Some(FormEncoding::Multipart { boundary: "abc".to_owned() })),
            ("multipart/form-data; boundary=\"a b:c\"", Some(FormEncoding::Multipart { boundary: "a b:c".to_owned() })),
            ("multipart/form-data", None),
            ("text/plain", None),
        ];

        for (content_type, expected) in cases {
            assert_eq!(FormEncoding::from_content_type(Some(content_type)), expected, "{content_type}");
        }
        assert_eq!(FormEncoding::from_content_type(None), None);
    }
}
