//! The tracker cookie: a UUID v7 in a cookie signed with HMAC-SHA256 by
//! the `cookie` crate's signed jar.
//!
//! Reading is lenient on purpose: a Cookie header with malformed pairs, a
//! duplicated tracker or a forged value never causes an error. Every pair
//! named like the tracker is tried against every key, and the first one
//! that verifies wins; when none does, the caller mints a new tracker. The
//! header itself is never changed, so the shop receives it as sent.

use base64::Engine as _;
use cookie::{Cookie, CookieJar, Key, SameSite};
use http::HeaderMap;

use crate::store::TrackerId;

/// Keys that sign (the first) and verify (all) tracker cookies.
#[derive(Clone)]
pub struct TrackerKeys {
    keys: Vec<Key>,
}

impl std::fmt::Debug for TrackerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrackerKeys({} keys)", self.keys.len())
    }
}

impl TrackerKeys {
    /// Decodes base64 keys from the configuration, each at least 64 bytes
    /// (the signed jar derives its HMAC key from them).
    pub fn from_config(keys: &[String]) -> Result<TrackerKeys, String> {
        if keys.is_empty() {
            return Err(format!(
                "no signing key; set tracker.keys or {} to base64 keys of at least 64 random bytes, \
                 such as the output of `footprint keygen`",
                crate::config::ENV_TRACKER_KEYS
            ));
        }

        let mut decoded = Vec::with_capacity(keys.len());
        for (index, text) in keys.iter().enumerate() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|error| format!("key {index} is not valid base64: {error}"))?;
            let key = Key::try_from(bytes.as_slice())
                .map_err(|_| format!("key {index} has {} bytes; at least 64 are required", bytes.len()))?;
            decoded.push(key);
        }
        Ok(TrackerKeys { keys: decoded })
    }

    /// Generates one random key, for the demo.
    pub fn generate() -> (TrackerKeys, String) {
        let key = Key::generate();
        let text = base64::engine::general_purpose::STANDARD.encode(key.master());
        (TrackerKeys { keys: vec![key] }, text)
    }

    /// Finds the first tracker cookie in `headers` that verifies with any
    /// key and holds a UUID v7.
    pub fn read(&self, headers: &HeaderMap, name: &str) -> Option<TrackerId> {
        let candidates = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .filter(|cookie| cookie.name() == name);

        for candidate in candidates {
            for key in &self.keys {
                if let Some(tracker) = verify(key, name, candidate.value()) {
                    return Some(tracker);
                }
            }
        }
        None
    }

    /// Returns the signed cookie value for `tracker`, signed with the first
    /// key.
    pub fn sign(&self, name: &str, tracker: TrackerId) -> String {
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.keys[0]).add(Cookie::new(name.to_owned(), tracker.to_string()));
        jar.get(name).map(|cookie| cookie.value().to_owned()).unwrap_or_default()
    }

    /// Builds the `Set-Cookie` header value for `tracker`.
    pub fn set_cookie(&self, name: &str, tracker: TrackerId, max_age_days: u32, secure: bool) -> String {
        Cookie::build((name.to_owned(), self.sign(name, tracker)))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .max_age(cookie::time::Duration::days(i64::from(max_age_days)))
            .build()
            .to_string()
    }
}

fn verify(key: &Key, name: &str, value: &str) -> Option<TrackerId> {
    let mut jar = CookieJar::new();
    jar.add_original(Cookie::new(name.to_owned(), value.to_owned()));
    let verified = jar.signed(key).get(name)?;
    let uuid = uuid::Uuid::parse_str(verified.value()).ok()?;
    (uuid.get_version_num() == 7).then_some(TrackerId(uuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TrackerKeys {
        TrackerKeys::generate().0
    }

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, cookie.parse().expect("valid header"));
        headers
    }

    #[test]
    fn signed_value_reads_back() {
        let keys = keys();
        let tracker = TrackerId::new();
        let value = keys.sign("fp_tid", tracker);

        assert_eq!(keys.read(&headers(&format!("fp_tid={value}")), "fp_tid"), Some(tracker));
    }

    #[test]
    fn malformed_pairs_do_not_hide_the_tracker() {
        let keys = keys();
        let tracker = TrackerId::new();
        let value = keys.sign("fp_tid", tracker);
        let header = format!(r#"consent={{"v":{{"L":3}}}}; bad cookie=x; ;; fp_tid={value}; cart=c-42"#);

        assert_eq!(keys.read(&headers(&header), "fp_tid"), Some(tracker));
    }

    #[test]
    fn forged_truncated_and_garbled_values_are_rejected() {
        let keys = keys();
        let tracker = TrackerId::new();
        let value = keys.sign("fp_tid", tracker);
        let forged = format!("{}{}", &value[..44], TrackerId::new());
        let truncated = value[..value.len() - 1].to_owned();

        for bad in [forged.as_str(), truncated.as_str(), "", "x", "%%%", &tracker.to_string()] {
            assert_eq!(keys.read(&headers(&format!("fp_tid={bad}")), "fp_tid"), None, "{bad:?}");
        }
    }

    #[test]
    fn duplicated_cookie_uses_the_valid_one() {
        let keys = keys();
        let tracker = TrackerId::new();
        let value = keys.sign("fp_tid", tracker);

        let header = format!("fp_tid=garbage; fp_tid={value}");
        assert_eq!(keys.read(&headers(&header), "fp_tid"), Some(tracker));
    }

    #[test]
    fn rotated_keys_still_verify() {
        let (old, old_text) = TrackerKeys::generate();
        let (_, new_text) = TrackerKeys::generate();
        let rotated = TrackerKeys::from_config(&[new_text, old_text]).expect("valid keys");
        let tracker = TrackerId::new();
        let old_value = old.sign("fp_tid", tracker);

        assert_eq!(rotated.read(&headers(&format!("fp_tid={old_value}")), "fp_tid"), Some(tracker));
        assert_ne!(rotated.sign("fp_tid", tracker), old_value, "the first key signs");
    }

    #[test]
    fn short_or_missing_keys_are_rejected() {
        assert!(TrackerKeys::from_config(&[]).is_err());
        assert!(TrackerKeys::from_config(&["c2hvcnQ=".to_owned()]).is_err());
        assert!(TrackerKeys::from_config(&["not base64!".to_owned()]).is_err());
    }

    #[test]
    fn set_cookie_has_the_attributes() {
        let keys = keys();
        let header = keys.set_cookie("fp_tid", TrackerId::new(), 395, true);

        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=34128000"] {
            assert!(header.contains(attribute), "{header} lacks {attribute}");
        }
    }
}
