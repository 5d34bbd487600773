//! Plugin declarations: which WebAssembly plugin runs on which form route,
//! with which limits and WASI grants.

use std::path::PathBuf;

use serde::Deserialize;

use super::ResponseCondition;

/// Settings shared by every plugin (`[plugins]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Directory for compiled plugin code, keyed by the plugin file's
    /// SHA-256 and the wasmtime version. Relative paths are resolved
    /// against the configuration file's directory. Default
    /// `.footprint-cache/plugins`.
    pub cache_dir: PathBuf,
    /// Seconds between checks of plugin files for changes; 0 turns the
    /// file watch off (SIGHUP still reloads). Default 2.
    pub reload_poll_secs: f64,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig { cache_dir: PathBuf::from(".footprint-cache/plugins"), reload_poll_secs: 2.0 }
    }
}

/// One plugin bound to a form route (`[[plugin]]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginRule {
    /// Name used in logs, metrics and the admin API.
    pub name: String,
    /// The component file (`.wasm`), relative to the configuration file's
    /// directory unless absolute.
    pub file: PathBuf,
    /// Path pattern of the form route, as in `[[activity]]` rules.
    pub path: String,
    /// Methods the plugin runs for. Default `["POST"]`.
    #[serde(default = "default_plugin_methods")]
    pub methods: Vec<String>,
    /// Media types of bodies the plugin reads. Default: urlencoded,
    /// multipart and JSON.
    #[serde(default = "default_plugin_content_types")]
    pub content_types: Vec<String>,
    /// The condition on the shop's response that marks the submission as
    /// accepted. Captured data is applied only after such a response.
    pub success: ResponseCondition,
    /// Limits of one call.
    #[serde(default)]
    pub limits: PluginLimits,
    /// WASI capabilities granted to the plugin; none by default.
    #[serde(default)]
    pub grants: PluginGrants,
}

/// Limits of one plugin call (`[plugin.limits]`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PluginLimits {
    /// Wall-clock deadline of a call, in milliseconds, enforced by epoch
    /// interruption. Default 20.
    pub timeout_ms: u64,
    /// Linear memory a call may grow to, in bytes. Default 16 MiB.
    pub memory_bytes: usize,
    /// Input caps: total bytes of field names and values, and field count.
    /// Fields past either cap are not sent. Defaults 65536 and 200.
    pub max_input_bytes: usize,
    pub max_input_fields: usize,
    /// Output caps: a capture over either is rejected whole. Defaults
    /// 20480 and 50.
    pub max_output_bytes: usize,
    pub max_output_fields: usize,
    /// Consecutive faults after which the plugin is disabled until it is
    /// reloaded. Default 10; 0 never disables it.
    pub max_consecutive_faults: u32,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            timeout_ms: 20,
            memory_bytes: 16 << 20,
            max_input_bytes: 64 << 10,
            max_input_fields: 200,
            max_output_bytes: 20 << 10,
            max_output_fields: 50,
            max_consecutive_faults: 10,
        }
    }
}

/// WASI capabilities a plugin may use (`[plugin.grants]`). Everything is
/// denied by default: the plugin gets no files, network, environment
/// variables or clocks.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PluginGrants {
    /// Wall and monotonic clocks.
    pub clocks: bool,
    /// Random bytes (`wasi:random`).
    pub random: bool,
    /// Environment variables passed through, by name.
    pub env: Vec<String>,
}

/// Smallest memory limit: one WebAssembly page, in bytes.
const MIN_MEMORY_BYTES: usize = 64 << 10;

impl PluginLimits {
    /// Checks the limits a call cannot run with; the key names the member.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.timeout_ms == 0 {
            return Err(("limits.timeout_ms", "expected at least 1 millisecond".to_owned()));
        }
        if self.memory_bytes < MIN_MEMORY_BYTES {
            return Err(("limits.memory_bytes", format!("expected at least {MIN_MEMORY_BYTES} bytes (one page)")));
        }
        Ok(())
    }
}

fn default_plugin_methods() -> Vec<String> {
    vec!["POST".to_owned()]
}

fn default_plugin_content_types() -> Vec<String> {
    ["application/x-www-form-urlencoded", "multipart/form-data", "application/json"].map(str::to_owned).to_vec()
}
