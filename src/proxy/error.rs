//! Errors of the proxy: the ones that stop it from starting, and the
//! classification of upstream failures into the status the client gets.

use std::error::Error as StdError;

use http::StatusCode;

/// Boxed error used by body wrappers and tower services, as hyper and tower do.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// A proxy configuration the proxy cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("invalid upstream url `{url}`: {reason}")]
    InvalidUpstream { url: String, reason: String },
    #[error("invalid trusted proxy `{value}`: {reason}")]
    InvalidTrustedProxy { value: String, reason: String },
}

/// Why a request got no upstream response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UpstreamFailure {
    /// The TCP connection could not be established (refused, unreachable,
    /// or `connect_timeout` elapsed).
    Connect,
    /// No response head within `response_timeout`.
    Timeout,
    /// The request body grew past `max_request_body_bytes` while streaming.
    BodyTooLarge,
    /// The client's request body failed mid-stream, usually because the
    /// client closed its connection before sending all of it.
    ClientBody,
    /// Anything else: the upstream closed the connection or sent an invalid
    /// response.
    Other,
}

impl UpstreamFailure {
    /// Classifies an error from the upstream service stack by walking its
    /// sources, because hyper and tower wrap the cause one or more times.
    pub(crate) fn classify(error: &(dyn StdError + 'static)) -> UpstreamFailure {
        let mut current = Some(error);
        let mut failure = UpstreamFailure::Other;

        while let Some(error) = current {
            if error.is::<tower::timeout::error::Elapsed>() {
                return UpstreamFailure::Timeout;
            }
            if error.is::<http_body_util::LengthLimitError>() {
                return UpstreamFailure::BodyTooLarge;
            }
            if let Some(client) = error.downcast_ref::<hyper_util::client::legacy::Error>() {
                if client.is_connect() {
                    failure = UpstreamFailure::Connect;
                }
            }
            // hyper marks an error of the body it was given to send as a user error.
            if error.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_user) {
                failure = UpstreamFailure::ClientBody;
            }
            current = error.source();
        }

        failure
    }

    /// Status the client gets for this failure.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            UpstreamFailure::Connect | UpstreamFailure::Other => StatusCode::BAD_GATEWAY,
            UpstreamFailure::Timeout => StatusCode::GATEWAY_TIMEOUT,
            UpstreamFailure::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UpstreamFailure::ClientBody => StatusCode::BAD_REQUEST,
        }
    }

    /// Value of the `kind` label of the upstream error counter, if the
    /// failure is the upstream's. Body failures are the client's.
    pub(crate) fn metric_kind(self) -> Option<&'static str> {
        match self {
            UpstreamFailure::Connect => Some("connect"),
            UpstreamFailure::Timeout => Some("timeout"),
            UpstreamFailure::Other => Some("other"),
            UpstreamFailure::BodyTooLarge | UpstreamFailure::ClientBody => None,
        }
    }
}

/// Formats an error with all its sources, `outer: inner: innermost`, for
/// one log field.
pub(crate) fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();

    while let Some(error) = current {
        text.push_str(": ");
        text.push_str(&error.to_string());
        current = error.source();
    }

    text
}
