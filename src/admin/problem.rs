//! Errors of the admin API as RFC 9457 problem details
//! (`application/problem+json`).
//!
//! Clients get a safe message naming the offending field; internal causes
//! are logged once, where the problem is built, and never sent.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Characters of a problem's detail at most: room for the longest list
/// of accepted values (every field of a contacts export), and a bound on
/// echoed input.
const MAX_DETAIL_CHARS: usize = 1_000;

/// A problem details response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// A short summary of the kind of problem.
    #[schema(value_type = String)]
    pub title: &'static str,
    /// The HTTP status code.
    #[serde(serialize_with = "serialize_status")]
    #[schema(value_type = u16, minimum = 400, maximum = 599)]
    pub status: StatusCode,
    /// An explanation of this occurrence and the next step for the client.
    pub detail: String,
    /// The request field (path segment, query parameter or body member)
    /// that caused the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

fn serialize_status<S: serde::Serializer>(status: &StatusCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u16(status.as_u16())
}

impl Problem {
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem {
            kind: "/problems/not-found",
            title: "Not found",
            status: StatusCode::NOT_FOUND,
            detail: detail.into(),
            field: None,
        }
    }

    /// Builds a 404 naming the request field whose value refers to nothing.
    pub fn not_found_field(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem { field: Some(field.into()), ..Problem::not_found(detail) }
    }

    /// A 400 naming the offending field. Details that quote the client's
    /// input are cut at [`MAX_DETAIL_CHARS`], so a huge value is not echoed.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        let mut detail = detail.into();
        if let Some((cut, _)) = detail.char_indices().nth(MAX_DETAIL_CHARS) {
            detail.truncate(cut);
            detail.push('…');
        }
        Problem {
            kind: "/problems/invalid-parameter",
            title: "Invalid parameter",
            status: StatusCode::BAD_REQUEST,
            detail,
            field: Some(field.into()),
        }
    }

    pub fn method_not_allowed() -> Problem {
        Problem {
            kind: "/problems/method-not-allowed",
            title: "Method not allowed",
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: "this route does not accept that HTTP method".to_owned(),
            field: None,
        }
    }

    /// Builds a 409: the value of `field` belongs to another resource.
    pub fn conflict(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "/problems/conflict",
            title: "Conflict",
            status: StatusCode::CONFLICT,
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    pub fn unauthorized() -> Problem {
        Problem {
            kind: "/problems/unauthorized",
            title: "Unauthorized",
            status: StatusCode::UNAUTHORIZED,
            detail: "send a valid admin token as `Authorization: Bearer <token>`".to_owned(),
            field: Some("Authorization".to_owned()),
        }
    }

    /// Returns a 410: the resource that `field` names existed but was
    /// deleted for good.
    pub fn gone(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "/problems/gone",
            title: "Gone",
            status: StatusCode::GONE,
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// Returns a 413: the request body is larger than the route accepts.
    pub fn too_large(detail: impl Into<String>) -> Problem {
        Problem {
            kind: "/problems/too-large",
            title: "Request body too large",
            status: StatusCode::PAYLOAD_TOO_LARGE,
            detail: detail.into(),
            field: Some("body".to_owned()),
        }
    }

    /// Returns a 503 for a failure of this server's own resources (disk,
    /// tasks), which the caller has logged.
    pub fn unavailable(detail: impl Into<String>) -> Problem {
        Problem {
            kind: "/problems/unavailable",
            title: "Service unavailable",
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: detail.into(),
            field: None,
        }
    }

    /// Logs `error` and returns a 503 that does not reveal it.
    pub fn store_unavailable(error: &crate::store::StoreError) -> Problem {
        tracing::warn!(%error, "admin request failed in the store");
        Problem {
            kind: "/problems/store-unavailable",
            title: "Store unavailable",
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: "the contact store did not answer; try again shortly".to_owned(),
            field: None,
        }
    }
}

impl From<crate::store::StoreError> for Problem {
    fn from(error: crate::store::StoreError) -> Problem {
        Problem::store_unavailable(&error)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Turns error responses that axum's extractors build (a body over the
/// size limit, for example) into problem details, so that every admin
/// error has one format. Responses that already are problems pass through.
pub async fn plain_errors_as_problems(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }

    let title = status.canonical_reason().unwrap_or("Error");
    let detail = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than the API accepts".to_owned(),
        _ => format!("the request failed: {}", title.to_lowercase()),
    };
    let field = (status == StatusCode::PAYLOAD_TOO_LARGE).then(|| "body".to_owned());
    let problem = Problem { kind: "/problems/request", title, status, detail, field };
    problem.into_response()
}
