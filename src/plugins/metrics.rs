//! Plugin metrics, labelled by plugin name.
//!
//! - `footprint_plugin_calls_total{plugin,outcome}`: `ok` or a fault kind.
//! - `footprint_plugin_call_duration_seconds{plugin}`: calls that ran.
//! - `footprint_plugin_faults_total{plugin,kind}`: faults by kind.
//! - `footprint_plugin_disabled{plugin}`: 1 while disabled after faults.
//! - `footprint_plugin_loads_total{plugin,outcome}`: a cache outcome
//!   (`cache_hit`, `compiled`, `cache_invalid`, `compiled_uncached`) or a
//!   load failure (`read_failed`, `compile_failed`, `link_failed`,
//!   `missing_export`).
//! - `footprint_plugin_input_fields_dropped_total{plugin}`: fields cut by
//!   the input caps.

use std::time::Duration;

pub(crate) fn record_call(plugin: &str, outcome: &'static str, duration: Option<Duration>) {
    metrics::counter!("footprint_plugin_calls_total", "plugin" => plugin.to_owned(), "outcome" => outcome).increment(1);
    if let Some(duration) = duration {
        metrics::histogram!("footprint_plugin_call_duration_seconds", "plugin" => plugin.to_owned())
            .record(duration.as_secs_f64());
    }
}

pub(crate) fn record_fault(plugin: &str, kind: &'static str) {
    metrics::counter!("footprint_plugin_faults_total", "plugin" => plugin.to_owned(), "kind" => kind).increment(1);
}

pub(crate) fn set_disabled(plugin: &str, disabled: bool) {
    metrics::gauge!("footprint_plugin_disabled", "plugin" => plugin.to_owned()).set(if disabled { 1.0 } else { 0.0 });
}

pub(crate) fn record_load(plugin: &str, outcome: &'static str) {
    metrics::counter!("footprint_plugin_loads_total", "plugin" => plugin.to_owned(), "outcome" => outcome).increment(1);
}

pub(crate) fn record_input_dropped(plugin: &str, fields: usize) {
    metrics::counter!("footprint_plugin_input_fields_dropped_total", "plugin" => plugin.to_owned())
        .increment(fields as u64);
}
