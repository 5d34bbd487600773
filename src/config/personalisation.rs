//! The `[personalisation]` section: request headers that tell the shop
//! who the visitor is and which segments they belong to.

use serde::Deserialize;

use super::ConfigError;

/// Headers added to requests forwarded to the shop. Off by default,
/// because they hand contact ids to the shop's code and logs.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonalisationConfig {
    /// Adds the headers when true. While true, the proxy also removes any
    /// header of these names that arrives from the client, so a visitor
    /// cannot pose as another contact.
    pub enabled: bool,
    /// Header that carries the visitor's contact id.
    pub contact_header: String,
    /// Header that carries the ids of the allowed segments the contact is a
    /// member of, comma-separated.
    pub segments_header: String,
    /// Segments the shop may see, by id or name. Memberships in other
    /// segments are never sent; an empty list sends none.
    pub segments: Vec<String>,
    /// How long a looked-up contact and its segments are reused, in
    /// seconds. Longer means fewer store reads and staler memberships.
    pub cache_ttl_secs: f64,
}

impl Default for PersonalisationConfig {
    fn default() -> Self {
        PersonalisationConfig {
            enabled: false,
            contact_header: "x-footprint-contact".to_owned(),
            segments_header: "x-footprint-segments".to_owned(),
            segments: Vec::new(),
            cache_ttl_secs: 10.0,
        }
    }
}

impl PersonalisationConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        for (key, name) in [
            ("personalisation.contact_header", &self.contact_header),
            ("personalisation.segments_header", &self.segments_header),
        ] {
            http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| ConfigError::invalid(key, format!("{name:?} is not a valid header name")))?;
        }
        if self.contact_header.eq_ignore_ascii_case(&self.segments_header) {
            return Err(ConfigError::invalid("personalisation.segments_header", "must differ from contact_header"));
        }
        if !(self.cache_ttl_secs.is_finite() && self.cache_ttl_secs > 0.0) {
            return Err(ConfigError::invalid(
                "personalisation.cache_ttl_secs",
                "expected a positive number of seconds",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_section_is_not_checked() {
        let config = PersonalisationConfig { contact_header: "bad header".to_owned(), ..Default::default() };

        assert!(config.validate().is_ok());
    }

    #[test]
    fn enabled_section_rejects_bad_headers() {
        let enabled = PersonalisationConfig { enabled: true, ..Default::default() };
        let bad_name = PersonalisationConfig { contact_header: "bad header".to_owned(), ..enabled.clone() };
        let same_names = PersonalisationConfig { segments_header: "X-Footprint-Contact".to_owned(), ..enabled.clone() };
        let zero_ttl = PersonalisationConfig { cache_ttl_secs: 0.0, ..enabled.clone() };

        assert!(enabled.validate().is_ok());
        assert!(bad_name.validate().is_err());
        assert!(same_names.validate().is_err());
        assert!(zero_ttl.validate().is_err());
    }
}
