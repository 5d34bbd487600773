//! The admin API: the contacts list, contact lookups, edits and timelines
//! for staff, health and metrics for operators.
//!
//! It listens on its own address, apart from shoppers' traffic. Every
//! `/api/` route needs a bearer token (see [`auth`]). `/healthz`, `/readyz`
//! and `/metrics` need none, so probes and scrapers hold no secret, and they
//! reveal no personal data. Errors are problem details
//! ([`Problem`]).

mod auth;
mod contacts;
mod custom_values;
mod definitions;
mod edit;
mod email_events;
mod erase;
pub mod fields;
mod list;
mod problem;
mod push;
mod query;
mod statuses;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post};
use axum::Router;

pub use auth::{AdminName, Tokens};
pub use contacts::{rfc3339, Profile};
pub use problem::Problem;
pub use statuses::StatusesView;

use crate::identity::{Identity, PhoneCountry};
use crate::store::Store;

/// State shared by the handlers.
#[derive(Clone)]
pub struct AdminState {
    pub store: Arc<dyn Store>,
    pub identity: Identity,
    /// Country assumed for phone numbers without an international prefix.
    pub phone_country: PhoneCountry,
    /// Soft bounces in a row that make an email address bounced.
    pub soft_bounce_threshold: u32,
    /// Renders the Prometheus exposition; `None` when no recorder was
    /// installed (several apps in one test process).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// Builds the admin router.
pub fn router(state: AdminState, tokens: Tokens) -> Router {
    let api = Router::new()
        .route("/contacts", get(list::list_contacts).post(edit::create_contact))
        .route("/contacts/{id}", get(contacts::get_contact).patch(edit::update_contact).delete(erase::erase_contact))
        .route("/contacts/{id}/export", get(erase::export_contact))
        .route("/contacts/{id}/push-subscriptions", post(push::add))
        .route("/contacts/{id}/push-subscriptions/{endpoint_id}", delete(push::remove))
        .route("/contacts/{id}/activities", get(contacts::activities))
        .route("/contacts/{id}/statuses", patch(statuses::patch_statuses))
        .route("/email-events", post(email_events::post_email_events))
        .route("/contacts/by-email/{email}", get(contacts::by_email))
        .route("/contacts/by-phone/{phone}", get(contacts::by_phone))
        .route("/contacts/by-tracker/{tracker}", get(contacts::by_tracker))
        .route("/fields", get(definitions::list).post(definitions::create))
        .route("/fields/{name}", get(definitions::get).patch(definitions::update).delete(definitions::delete))
        .fallback(|| async { Problem::not_found("no such API route") })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(tokens, auth::require_token));

    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .fallback(|| async { Problem::not_found("no such route; the API is under /api/v1/") })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .with_state(state)
}

/// How long readiness waits for the store: probes usually give up after a
/// few seconds, and a store that slow is not ready anyway.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Reports ready when the store responds to a ping within [`READY_TIMEOUT`].
async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
        Err(_) => {
            tracing::warn!(timeout_secs = READY_TIMEOUT.as_secs(), "readiness check: store timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "store timed out\n")
        }
    }
}

async fn render_metrics(State(state): State<AdminState>) -> impl IntoResponse {
    match &state.metrics {
        Some(handle) => (StatusCode::OK, handle.render()).into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled in this process\n").into_response(),
    }
}

/// Serves the admin router until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
