//! Logging and metrics set-up for the binary.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Environment variable with a `tracing` filter, e.g. `footprint=debug`.
pub const ENV_LOG: &str = "FOOTPRINT_LOG";

/// Installs the log subscriber: human-readable lines on stderr (coloured only
/// on a terminal), filtered by `FOOTPRINT_LOG` (default `info`).
pub fn init_logging() {
    let filter = EnvFilter::try_from_env(ENV_LOG).unwrap_or_else(|_| EnvFilter::new("info"));
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colours).init();
}

/// Installs the process-wide metrics recorder and returns the handle that
/// renders `/metrics`.
pub fn init_metrics() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    PrometheusBuilder::new().install_recorder()
}
