//! The small HTML pages the proxy sends itself, when the request
//! never got an upstream response.
//!
//! They name no upstream, error or internal detail: those go to the log.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use super::body::ProxyBody;

/// Builds a complete response with a short HTML page for `status`.
pub(crate) fn error_page(status: StatusCode) -> Response<ProxyBody> {
    let message = match status {
        StatusCode::BAD_GATEWAY => "The shop could not be reached. Please try again in a moment.",
        StatusCode::GATEWAY_TIMEOUT => "The shop took too long to answer. Please try again in a moment.",
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is larger than this site accepts.",
        StatusCode::BAD_REQUEST => "The request was incomplete or invalid.",
        _ => "The request could not be handled.",
    };
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{code} {reason}</title></head>\n\
         <body><h1>{code} {reason}</h1><p>{message}</p></body></html>\n"
    );

    let body = Full::new(Bytes::from(html)).map_err(|never| match never {}).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
