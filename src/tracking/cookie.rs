//! The tracker cookie: a UUID v7 in a signed cookie.

/// Keys that sign (the first) and verify (all) tracker cookies.
#[derive(Clone)]
pub struct TrackerKeys {
    keys: Vec<cookie::Key>,
}

impl TrackerKeys {
    /// Decodes base64 keys from the configuration.
    pub fn from_config(keys: &[String]) -> Result<TrackerKeys, String> {
        let _ = keys;
        todo!("tracker keys")
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
}
