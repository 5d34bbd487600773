//! Names of the proxy's metrics, recorded through the `metrics` facade. The
//! exporter that publishes them is installed by the application.

use std::time::Duration;

use http::StatusCode;

/// Counter of responses sent to clients, labelled by `status` (`200`, `502`, ...).
pub const REQUESTS_TOTAL: &str = "footprint_proxy_requests_total";
/// Histogram of seconds from the request head's arrival to the response head
/// being ready for the client. Body streaming time is not included.
pub const REQUEST_DURATION_SECONDS: &str = "footprint_proxy_request_duration_seconds";
/// Counter of failed upstream requests, labelled by `kind`: `connect`,
/// `timeout` or `other`.
pub const UPSTREAM_ERRORS_TOTAL: &str = "footprint_proxy_upstream_errors_total";

pub(crate) fn record_response(status: StatusCode, elapsed: Duration) {
    metrics::counter!(REQUESTS_TOTAL, "status" => status.as_u16().to_string()).increment(1);
    metrics::histogram!(REQUEST_DURATION_SECONDS).record(elapsed.as_secs_f64());
}

pub(crate) fn record_upstream_error(kind: &'static str) {
    metrics::counter!(UPSTREAM_ERRORS_TOTAL, "kind" => kind).increment(1);
}
