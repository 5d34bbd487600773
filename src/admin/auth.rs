//! Bearer-token authentication of the admin API.
//!
//! Tokens are compared in constant time, each against every configured
//! token, so neither the match position nor the token length leaks through
//! timing. The matching token's name travels with the request as
//! [`AdminName`], for logs and activity records.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::Problem;
use crate::config::AdminToken;

/// The name of the token that authenticated a request.
#[derive(Clone, Debug)]
pub struct AdminName(pub String);

/// Configured tokens, hashed so that comparisons take the same time
/// whatever the lengths.
#[derive(Clone)]
pub struct Tokens {
    entries: Arc<Vec<(String, [u8; 32])>>,
}

impl Tokens {
    pub fn new(tokens: &[AdminToken]) -> Tokens {
        let entries = tokens.iter().map(|token| (token.name.clone(), digest(&token.token))).collect();
        Tokens { entries: Arc::new(entries) }
    }

    /// Returns the name of the token equal to `presented`.
    pub fn check(&self, presented: &str) -> Option<&str> {
        let presented = digest(presented);
        let mut found = None;
        for (name, expected) in self.entries.iter() {
            if bool::from(expected.ct_eq(&presented)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// Hashes a token with a fixed key, so every compared value has the same length.
fn digest(token: &str) -> [u8; 32] {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(b"footprint admin token").expect("HMAC accepts any key length");
    mac.update(token.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Middleware: rejects requests without a valid bearer token.
pub async fn require_token(State(tokens): State<Tokens>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim);

    let Some(name) = presented.and_then(|token| tokens.check(token)) else {
        metrics::counter!("footprint_admin_unauthorized_total").increment(1);
        return Problem::unauthorized().into_response();
    };
    request.extensions_mut().insert(AdminName(name.to_owned()));
    next.run(request).await
}
