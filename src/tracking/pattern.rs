//! Path patterns of activity and identify rules.
//!
//! A pattern is literal path text with `{name}` placeholders and an
//! optional trailing `*`. A placeholder matches one or more characters
//! within a single path segment, so `/catalogue/{slug}_{product_id}/`
//! matches `/catalogue/the-django-book_1/` but not
//! `/catalogue/category/books_1/`. When placeholders sit side by side, the
//! earlier one takes as much as it can: `{slug}_{id}` on `a_b_7` gives
//! `slug = a_b`, `id = 7`. A trailing `*` matches any rest, including
//! nothing and further segments.

use std::collections::BTreeMap;

/// A compiled path pattern.
#[derive(Clone, Debug)]
pub struct PathPattern {
    regex: regex::Regex,
    /// Capture names in order; `_` placeholders are matched, not captured.
    names: Vec<String>,
}

impl PathPattern {
    /// Compiles a pattern, or explains what is wrong with it.
    pub fn parse(pattern: &str) -> Result<PathPattern, String> {
        if !pattern.starts_with('/') {
            return Err(format!("pattern {pattern:?} must start with `/`"));
        }

        let mut regex = String::from("^");
        let mut names = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after.find('}').ok_or_else(|| format!("unclosed `{{` in {pattern:?}"))?;
                let name = &after[..end];
                let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !valid {
                    return Err(format!("invalid placeholder {{{name}}} in {pattern:?}: use letters, digits and `_`"));
                }
                if name == "_" {
                    regex.push_str("[^/]+");
                } else {
                    if names.iter().any(|existing| existing == name) {
                        return Err(format!("placeholder {{{name}}} appears twice in {pattern:?}"));
                    }
                    regex.push_str(&format!("(?P<{name}>[^/]+)"));
                    names.push(name.to_owned());
                }
                rest = &after[end + 1..];
                if rest.starts_with('{') {
                    return Err(format!(
                        "placeholders side by side in {pattern:?} are ambiguous: put literal text between them"
                    ));
                }
            } else if rest == "*" {
                regex.push_str(".*");
                rest = "";
            } else {
                let end = rest.find(['{', '*', '}']).unwrap_or(rest.len());
                if end == 0 {
                    return Err(format!("unexpected {:?} in {pattern:?}: `*` is only allowed at the end", &rest[..1]));
                }
                regex.push_str(&regex::escape(&rest[..end]));
                rest = &rest[end..];
            }
        }
        regex.push('$');

        let regex = regex::Regex::new(&regex).map_err(|error| error.to_string())?;
        Ok(PathPattern { regex, names })
    }

    /// Matches a request path (without the query) and returns the captured
    /// placeholders, percent-decoded.
    pub fn captures(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let captures = self.regex.captures(path)?;
        let values = self
            .names
            .iter()
            .filter_map(|name| {
                let raw = captures.name(name)?.as_str();
                let decoded = percent_decode(raw);
                Some((name.clone(), decoded))
            })
            .collect();
        Some(values)
    }
}

/// Decodes `%XX` escapes of a path segment; invalid escapes stay as typed.
fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captures(pattern: &str, path: &str) -> Option<BTreeMap<String, String>> {
        PathPattern::parse(pattern).expect("valid pattern").captures(path)
    }

    #[test]
    fn placeholder_stays_within_one_segment() {
        let pattern = "/catalogue/{slug}_{product_id}/";

        let product = captures(pattern, "/catalogue/the-django-book_1/").expect("product page matches");
        assert_eq!(product["slug"], "the-django-book");
        assert_eq!(product["product_id"], "1");

        assert_eq!(captures(pattern, "/catalogue/category/books_1/"), None);
    }

    #[test]
    fn earlier_placeholder_takes_the_longest_match() {
        let values = captures("/p/{slug}_{id}", "/p/a_b_7").expect("matches");
        assert_eq!(values["slug"], "a_b");
        assert_eq!(values["id"], "7");
    }

    #[test]
    fn trailing_star_matches_any_rest() {
        assert!(captures("/*", "/").is_some());
        assert!(captures("/*", "/a/b/c").is_some());
        assert!(captures("/checkout/*", "/checkout/").is_some());
        assert_eq!(captures("/checkout/*", "/check"), None);
    }

    #[test]
    fn literal_text_is_not_a_regex() {
        assert!(captures("/a.b/", "/a.b/").is_some());
        assert_eq!(captures("/a.b/", "/axb/"), None);
    }

    #[test]
    fn captures_are_percent_decoded() {
        let values = captures("/product/{id}", "/product/sku%201+2").expect("matches");
        assert_eq!(values["id"], "sku 1+2");
    }

    #[test]
    fn underscore_placeholder_is_not_captured() {
        let values = captures("/c/{_}/{id}", "/c/x/9").expect("matches");
        assert_eq!(values.len(), 1);
        assert_eq!(values["id"], "9");
    }

    #[test]
    fn invalid_patterns_are_rejected() {
        for pattern in ["nope", "/a/{x", "/{}", "/{a-b}", "/a*/b", "/{x}/{x}", "/a}", "/product/{a}{b}"] {
            assert!(PathPattern::parse(pattern).is_err(), "{pattern} should be rejected");
        }
    }
}
