//! Path patterns of activity and identify rules.

use std::collections::BTreeMap;

/// A compiled path pattern such as `/catalogue/{slug}_{product_id}/` or
/// `/checkout/*`.
#[derive(Clone, Debug)]
pub struct PathPattern {
    regex: regex::Regex,
    names: Vec<String>,
}

impl PathPattern {
    /// Compiles a pattern, or explains what is wrong with it.
    pub fn parse(pattern: &str) -> Result<PathPattern, String> {
        let _ = pattern;
        todo!("path patterns")
    }

    /// Matches a request path; returns the captured placeholders.
    pub fn captures(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let _ = (path, &self.regex, &self.names);
        todo!("path patterns")
    }
}
