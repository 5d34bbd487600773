//! Configuration: one serde structure loaded from a TOML file, overridden by
//! environment variables, then validated.
//!
//! Every section has defaults, so a configuration file names only what
//! differs. [`Config::load`] reports the key and the accepted values of
//! anything invalid. The annotated `config.toml` at the repository root is
//! the reference.

mod personalisation;
mod plugins;
mod rules;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use personalisation::PersonalisationConfig;
pub use plugins::*;
pub use rules::*;

/// Environment variable holding tracker signing keys, comma-separated.
/// Overrides `tracker.keys`.
pub const ENV_TRACKER_KEYS: &str = "FOOTPRINT_TRACKER_KEYS";
/// Environment variable holding admin tokens as `name:token`, comma-separated.
/// Adds to `admin.tokens`.
pub const ENV_ADMIN_TOKENS: &str = "FOOTPRINT_ADMIN_TOKENS";
/// Environment variable overriding `store.redis_url`.
pub const ENV_REDIS_URL: &str = "FOOTPRINT_REDIS_URL";

/// An invalid or unreadable configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration value `{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid { key: key.into(), reason: reason.into() }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub proxy: ProxyConfig,
    pub tracker: TrackerConfig,
    pub store: StoreConfig,
    pub recorder: RecorderConfig,
    pub admin: AdminConfig,
    /// Requests recorded as activities, first match wins.
    #[serde(rename = "activity")]
    pub activities: Vec<ActivityRule>,
    /// Forms whose successful submission identifies the visitor.
    #[serde(rename = "identify")]
    pub identify_forms: Vec<IdentifyRule>,
    pub identify_header: IdentifyHeaderConfig,
    pub contacts: ContactsConfig,
    pub personalisation: PersonalisationConfig,
    pub plugins: PluginsConfig,
    /// Field-capture plugins by form route.
    #[serde(rename = "plugin")]
    pub plugin_rules: Vec<PluginRule>,
    /// Directory of the configuration file, against which relative paths
    /// are resolved (see [`Config::resolve_path`]). Empty when the
    /// configuration did not come from a file: paths then stay relative to
    /// the working directory.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// Normalisation settings for contact data.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactsConfig {
    /// ISO 3166-1 alpha-2 country assumed for phone numbers written without
    /// an international prefix, e.g. `ES` makes `600 000 001` `+34600000001`.
    pub default_country: String,
    /// Soft (temporary) bounces in a row, with no delivery in between, that
    /// make an email address bounced. At least 1.
    pub soft_bounce_threshold: u32,
}

impl Default for ContactsConfig {
    fn default() -> Self {
        ContactsConfig { default_country: "US".to_owned(), soft_bounce_threshold: 3 }
    }
}

/// The storefront side: where to listen and where to forward.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyConfig {
    /// Address shoppers connect to.
    pub listen: SocketAddr,
    /// The storefront's base URL (`http://host:port`); HTTPS upstreams are
    /// not supported, put Footprint next to the shop on a private network.
    pub upstream: String,
    /// Forward the client's `Host` header unchanged (true) or replace it
    /// with the upstream's authority (false). Shops that build absolute URLs
    /// or check CSRF origins usually want true.
    pub preserve_host: bool,
    /// Peers (addresses or CIDR ranges) whose `X-Forwarded-*` and
    /// `Forwarded` headers are kept and appended to. From any other peer
    /// those headers are replaced, so a client cannot spoof its address.
    pub trusted_proxies: Vec<String>,
    /// Seconds to establish a connection to the upstream before returning 502.
    pub connect_timeout_secs: f64,
    /// Seconds to wait for the upstream's response headers before returning 504.
    pub response_timeout_secs: f64,
    /// Seconds a client has to send its request headers.
    pub header_read_timeout_secs: f64,
    /// Seconds a pooled upstream connection may stay idle.
    pub pool_idle_timeout_secs: f64,
    /// Seconds that shutdown waits for in-flight connections to finish
    /// before closing them.
    pub drain_timeout_secs: f64,
    /// Maximum idle upstream connections kept per host.
    pub pool_max_idle: usize,
    /// Largest request body forwarded, in bytes; larger ones get 413.
    /// 0 disables the limit.
    pub max_request_body_bytes: u64,
    /// Bytes of a form body copied for inspection while it streams on.
    /// Larger forms still reach the shop whole; only this prefix is parsed.
    pub form_inspect_bytes: usize,
    /// Bytes of an HTML response body scanned by `response_body` captures.
    pub response_inspect_bytes: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstream: "http://127.0.0.1:8000".to_owned(),
            preserve_host: true,
            trusted_proxies: Vec::new(),
            connect_timeout_secs: 5.0,
            response_timeout_secs: 60.0,
            header_read_timeout_secs: 30.0,
            pool_idle_timeout_secs: 90.0,
            drain_timeout_secs: 30.0,
            pool_max_idle: 64,
            max_request_body_bytes: 100 * 1024 * 1024,
            form_inspect_bytes: 64 * 1024,
            response_inspect_bytes: 64 * 1024,
        }
    }
}

impl ProxyConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.connect_timeout_secs)
    }

    pub fn response_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.response_timeout_secs)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.header_read_timeout_secs)
    }

    pub fn pool_idle_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.pool_idle_timeout_secs)
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.drain_timeout_secs)
    }
}

/// The tracker cookie and what is not tracked.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerConfig {
    /// Cookie name.
    pub cookie_name: String,
    /// Signing keys, base64, each at least 64 bytes once decoded. The first
    /// signs new cookies; all verify, so a key can be rotated by putting the
    /// new one first and dropping the old one once its cookies expired.
    /// `FOOTPRINT_TRACKER_KEYS` overrides this list.
    pub keys: Vec<String>,
    /// Cookie lifetime in days.
    pub max_age_days: u32,
    /// Add `Secure` to the cookie: `auto` (when the request arrived over
    /// HTTPS according to a trusted `X-Forwarded-Proto`), `always` or `never`.
    pub secure: SecureMode,
    /// How long activity of a browser that has not yet returned its cookie
    /// is kept, in seconds. A browser becomes a contact the first time it
    /// sends the cookie back; clients that never do leave no contact.
    pub pending_ttl_secs: u64,
    /// Case-insensitive regular expressions; a matching `User-Agent` is a bot:
    /// proxied, given no cookie and recorded nowhere. A missing or empty
    /// `User-Agent` also counts as a bot.
    pub bot_user_agents: Vec<String>,
    /// Path suffixes of static assets, proxied and not recorded.
    pub static_extensions: Vec<String>,
    /// Path prefixes of static assets, proxied and not recorded.
    pub static_prefixes: Vec<String>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        TrackerConfig {
            cookie_name: "fp_tid".to_owned(),
            keys: Vec::new(),
            max_age_days: 395,
            secure: SecureMode::Auto,
            pending_ttl_secs: 1800,
            bot_user_agents: strings(&[
                "bot",
                "crawl",
                "spider",
                "slurp",
                "curl/",
                "wget/",
                "python-requests",
                "python-urllib",
                "go-http-client",
                "headless",
                "lighthouse",
                "pingdom",
                "uptimerobot",
                "monitor",
                "health",
                "facebookexternalhit",
                "preview",
            ]),
            static_extensions: strings(&[
                ".css",
                ".js",
                ".mjs",
                ".map",
                ".png",
                ".jpg",
                ".jpeg",
                ".gif",
                ".webp",
                ".avif",
                ".svg",
                ".ico",
                ".woff",
                ".woff2",
                ".ttf",
                ".otf",
                ".eot",
                ".mp4",
                ".webm",
                ".mp3",
                ".pdf",
                ".txt",
                ".xml",
                ".json",
                ".webmanifest",
            ]),
            static_prefixes: strings(&["/static/", "/media/", "/assets/", "/favicon"]),
        }
    }
}

/// When the tracker cookie gets the `Secure` attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecureMode {
    #[default]
    Auto,
    Always,
    Never,
}

/// Storage backend settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// Redis URL (`redis://host:port/db`); `FOOTPRINT_REDIS_URL` overrides it.
    pub redis_url: String,
    /// Prefix of every Redis key, so several deployments can share a server.
    pub key_prefix: String,
    /// Maximum activities kept per browser and contact stream.
    pub max_activities: usize,
    /// Days an activity is kept.
    pub max_activity_age_days: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: StoreBackend::Redis,
            redis_url: "redis://127.0.0.1:6379/".to_owned(),
            key_prefix: "fp:".to_owned(),
            max_activities: 10_000,
            max_activity_age_days: 730,
        }
    }
}

impl StoreConfig {
    pub fn retention(&self) -> crate::store::Retention {
        crate::store::Retention {
            max_activities: self.max_activities,
            max_age: Duration::from_secs(u64::from(self.max_activity_age_days) * 24 * 3600),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    #[default]
    Redis,
    /// In-process memory: nothing survives a restart. For demos and tests.
    Embedded,
}

/// The queue between request handling and the store.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecorderConfig {
    /// Capacity of the in-memory queue, in events. When it is full, new
    /// events are dropped and counted, because requests never wait for it.
    pub queue_capacity: usize,
    /// Events written to the store in one batch.
    pub batch_size: usize,
    /// Seconds between retries of a batch the store rejected.
    pub retry_delay_secs: f64,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig { queue_capacity: 10_000, batch_size: 256, retry_delay_secs: 1.0 }
    }
}

/// The admin API listener.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Address of the admin API; keep it on loopback or a private network.
    pub listen: SocketAddr,
    /// Bearer tokens; the name is what activity records and logs show.
    pub tokens: Vec<AdminToken>,
    /// Directory for import uploads, reject reports and export files,
    /// relative to the configuration file. Default: `footprint-transfers`
    /// in the system's temporary directory, which a reboot may empty.
    pub transfer_dir: Option<PathBuf>,
    /// Days that the files of an ended import or export job are kept. A
    /// sweep every few minutes then deletes them, so 0 deletes them at
    /// the first sweep after the job ends.
    pub transfer_retention_days: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            tokens: Vec::new(),
            transfer_dir: None,
            transfer_retention_days: 7,
        }
    }
}

impl AdminConfig {
    pub fn transfer_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.transfer_retention_days) * 24 * 3600)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminToken {
    pub name: String,
    pub token: String,
}

impl Config {
    /// Reads, overrides from the environment and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let mut config = Config::from_toml(&text)
            .map_err(|error| ConfigError::Parse { path: path.to_owned(), message: error.to_string() })?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Resolves a path from the configuration: absolute paths stay as they
    /// are, relative ones are taken from the configuration file's directory.
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        }
    }

    /// Parses TOML text without environment overrides or validation.
    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies the `FOOTPRINT_*` environment overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(keys) = get(ENV_TRACKER_KEYS) {
            self.tracker.keys = split_list(&keys);
        }
        if let Some(url) = get(ENV_REDIS_URL) {
            self.store.redis_url = url;
        }
        if let Some(tokens) = get(ENV_ADMIN_TOKENS) {
            for item in split_list(&tokens) {
                let (name, token) = item.split_once(':').ok_or_else(|| {
                    ConfigError::invalid(ENV_ADMIN_TOKENS, "expected comma-separated `name:token` pairs")
                })?;
                self.admin.tokens.push(AdminToken { name: name.to_owned(), token: token.to_owned() });
            }
        }
        Ok(())
    }

    /// Checks values serde cannot: patterns, limits, keys, tokens.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.store.backend == StoreBackend::Redis && redis::parse_redis_url(&self.store.redis_url).is_none() {
            return Err(ConfigError::invalid(
                "store.redis_url",
                "expected a Redis URL such as redis://127.0.0.1:6379/0 (or rediss:// for TLS)",
            ));
        }
        if !self.proxy.upstream.starts_with("http://") {
            return Err(ConfigError::invalid("proxy.upstream", "expected an http:// URL"));
        }
        self.proxy
            .upstream
            .parse::<http::Uri>()
            .map_err(|error| ConfigError::invalid("proxy.upstream", error.to_string()))?;
        for (index, peer) in self.proxy.trusted_proxies.iter().enumerate() {
            crate::proxy::PeerRange::parse(peer)
                .map_err(|reason| ConfigError::invalid(format!("proxy.trusted_proxies[{index}]"), reason))?;
        }
        for (key, secs) in [
            ("proxy.connect_timeout_secs", self.proxy.connect_timeout_secs),
            ("proxy.response_timeout_secs", self.proxy.response_timeout_secs),
            ("proxy.header_read_timeout_secs", self.proxy.header_read_timeout_secs),
            ("proxy.pool_idle_timeout_secs", self.proxy.pool_idle_timeout_secs),
            ("proxy.drain_timeout_secs", self.proxy.drain_timeout_secs),
            ("recorder.retry_delay_secs", self.recorder.retry_delay_secs),
        ] {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(ConfigError::invalid(key, "expected a positive number of seconds"));
            }
        }
        if self.recorder.queue_capacity == 0 || self.recorder.batch_size == 0 {
            return Err(ConfigError::invalid("recorder", "queue_capacity and batch_size must be at least 1"));
        }
        if self.tracker.cookie_name.is_empty()
            || !self.tracker.cookie_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::invalid("tracker.cookie_name", "expected letters, digits, `_` or `-`"));
        }
        crate::tracking::TrackerKeys::from_config(&self.tracker.keys)
            .map_err(|reason| ConfigError::invalid("tracker.keys", reason))?;
        for pattern in &self.tracker.bot_user_agents {
            regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .map_err(|error| ConfigError::invalid("tracker.bot_user_agents", error.to_string()))?;
        }
        for (index, token) in self.admin.tokens.iter().enumerate() {
            if token.name.is_empty() || token.token.len() < 16 {
                return Err(ConfigError::invalid(
                    format!("admin.tokens[{index}]"),
                    "expected a non-empty name and a token of at least 16 characters",
                ));
            }
        }
        // The admin API exposes personal data, so it never runs open, not
        // even on loopback.
        if self.admin.tokens.is_empty() {
            return Err(ConfigError::invalid(
                "admin.tokens",
                format!("at least one admin token is required (admin.tokens or {ENV_ADMIN_TOKENS})"),
            ));
        }
        crate::identity::PhoneCountry::parse(&self.contacts.default_country)
            .map_err(|reason| ConfigError::invalid("contacts.default_country", reason))?;
        if self.contacts.soft_bounce_threshold == 0 {
            return Err(ConfigError::invalid(
                "contacts.soft_bounce_threshold",
                "expected a whole number of at least 1",
            ));
        }
        for (index, rule) in self.activities.iter().enumerate() {
            rule.validate().map_err(|reason| ConfigError::invalid(format!("activity[{index}]"), reason))?;
        }
        for (index, rule) in self.identify_forms.iter().enumerate() {
            rule.validate().map_err(|reason| ConfigError::invalid(format!("identify[{index}]"), reason))?;
        }
        self.personalisation.validate()?;
        self.validate_plugins()
    }

    fn validate_plugins(&self) -> Result<(), ConfigError> {
        let poll = self.plugins.reload_poll_secs;
        if !(poll.is_finite() && poll >= 0.0) {
            return Err(ConfigError::invalid("plugins.reload_poll_secs", "expected 0 or a positive number of seconds"));
        }

        for (index, rule) in self.plugin_rules.iter().enumerate() {
            if rule.name.trim().is_empty() {
                return Err(ConfigError::invalid(format!("plugin[{index}].name"), "expected a non-empty name"));
            }
            if self.plugin_rules[..index].iter().any(|earlier| earlier.name == rule.name) {
                return Err(ConfigError::invalid(
                    format!("plugin[{index}].name"),
                    format!("`{}` is already used by another plugin; names must be unique", rule.name),
                ));
            }
            rule.limits
                .validate()
                .map_err(|(member, reason)| ConfigError::invalid(format!("plugin[{index}].{member}"), reason))?;
        }
        Ok(())
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `toml` and adds the secrets that validation requires.
    fn config(toml: &str) -> Config {
        let mut config = Config::from_toml(toml).expect("parses");
        config.tracker.keys = vec![crate::tracking::TrackerKeys::generate().1];
        config.admin.tokens = vec![AdminToken { name: "ops".to_owned(), token: "0123456789abcdef".to_owned() }];
        config
    }

    fn rejected_key(config: &Config) -> Option<String> {
        match config.validate() {
            Err(ConfigError::Invalid { key, .. }) => Some(key),
            _ => None,
        }
    }

    const PLUGIN: &str = "[[plugin]]\nname = \"p\"\nfile = \"p.wasm\"\npath = \"/form\"\n[plugin.success]\n";

    #[test]
    fn plugin_with_defaults_is_valid() {
        assert!(config(PLUGIN).validate().is_ok());
    }

    #[test]
    fn invalid_plugin_settings_are_rejected() {
        let cases = [
            (format!("{PLUGIN}[plugin.limits]\ntimeout_ms = 0\n"), "plugin[0].limits.timeout_ms"),
            (format!("{PLUGIN}[plugin.limits]\nmemory_bytes = 1024\n"), "plugin[0].limits.memory_bytes"),
            (format!("{PLUGIN}{PLUGIN}"), "plugin[1].name"),
            (PLUGIN.replace("name = \"p\"", "name = \" \""), "plugin[0].name"),
            ("[plugins]\nreload_poll_secs = -1\n".to_owned(), "plugins.reload_poll_secs"),
        ];

        for (toml, key) in cases {
            assert_eq!(rejected_key(&config(&toml)).as_deref(), Some(key), "{toml}");
        }
    }

    #[test]
    fn invalid_redis_url_is_rejected() {
        let redis = config("[store]\nbackend = \"redis\"\nredis_url = \"http://x\"\n");
        assert_eq!(rejected_key(&redis).as_deref(), Some("store.redis_url"));

        let embedded = config("[store]\nbackend = \"embedded\"\nredis_url = \"http://x\"\n");
        assert!(embedded.validate().is_ok(), "the embedded store ignores the URL");
    }

    #[test]
    fn soft_bounce_threshold_defaults_to_three() {
        let config = config("");
        assert_eq!(config.contacts.soft_bounce_threshold, 3);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn soft_bounce_threshold_zero_is_rejected() {
        let config = config("[contacts]\nsoft_bounce_threshold = 0\n");
        assert_eq!(rejected_key(&config).as_deref(), Some("contacts.soft_bounce_threshold"));
    }

    #[test]
    fn rules_cannot_record_footprint_kinds() {
        for kind in ["merge", "admin_edit", "email_bounce", "newsletter_subscription", "sms_subscription"] {
            let config = config(&format!("[[activity]]\nkind = \"{kind}\"\npath = \"/x\"\n"));
            assert_eq!(rejected_key(&config).as_deref(), Some("activity[0]"), "{kind}");
        }
        let config = config("[[activity]]\nkind = \"form_submission\"\npath = \"/x\"\n");
        assert!(config.validate().is_ok());
    }
}
