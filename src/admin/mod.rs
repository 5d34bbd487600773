//! The admin API: the contacts list, contact lookups, edits and timelines,
//! custom fields and segments for staff, health and metrics for operators.
//!
//! It listens on its own address, apart from shoppers' traffic. Every
//! `/api/` route needs a bearer token (see [`auth`]), except the OpenAPI
//! description at `/api/v1/openapi.json` (see [`openapi`]). `/healthz`,
//! `/readyz` and `/metrics` need none, so probes and scrapers hold no
//! secret, and they reveal no personal data. Errors are problem details
//! ([`Problem`]).

mod auth;
mod contacts;
mod custom_values;
mod definitions;
mod edit;
mod email_events;
mod erase;
mod exports;
mod imports;
pub use crate::standard_fields as fields;
mod list;
pub mod openapi;
mod problem;
mod push;
mod query;
mod request_bodies;
mod segment_members;
mod segment_preview;
mod segments;
mod statuses;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{AdminName, Tokens};
pub use contacts::{rfc3339, Profile};
pub use problem::Problem;
pub use statuses::StatusesView;

use crate::identity::{Identity, PhoneCountry};
use crate::segments::Evaluator;
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
    /// Keeps dynamic memberships current after every contact change.
    pub segments: Arc<Evaluator>,
    /// Renders the Prometheus exposition; `None` when no recorder was
    /// installed (several apps in one test process).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Applies the rows of import jobs.
    pub importer: Arc<crate::transfer::import::Importer>,
    /// The directory of uploads, reject reports and export files.
    pub files: crate::transfer::jobs::TransferFiles,
}

/// Builds the admin router.
pub fn router(state: AdminState, tokens: Tokens) -> Router {
    let (api, api_operations) = api_routes().split_for_parts();
    let api = api
        .fallback(|| async { Problem::not_found("no such API route") })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(tokens, auth::require_token))
        .layer(axum::middleware::map_response(problem::plain_errors_as_problems))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));

    // The description route sits outside `api`, so it needs no token.
    let (description_route, description_operations) = description_route().split_for_parts();
    let description = openapi::DescriptionJson::new(&openapi::document(api_operations, description_operations));

    Router::new()
        .merge(description_route.layer(Extension(description)))
        .nest("/api/v1", api)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .fallback(|| async { Problem::not_found("no such route; the API is under /api/v1/") })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .with_state(state)
}

/// Returns the OpenAPI description of the admin API, as served at
/// `/api/v1/openapi.json`.
pub fn description() -> utoipa::openapi::OpenApi {
    openapi::document(api_routes().split_for_parts().1, description_route().split_for_parts().1)
}

/// Builds the documented routes under `/api/v1` that need a token, with
/// paths relative to `/api/v1`. Every route is registered with `routes!`,
/// which adds its operation to the description.
fn api_routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_contacts, edit::create_contact))
        .routes(routes!(contacts::get_contact, edit::update_contact, erase::erase_contact))
        .routes(routes!(erase::export_contact))
        .routes(routes!(push::add))
        .routes(routes!(push::remove))
        .routes(routes!(contacts::activities))
        .routes(routes!(statuses::patch_statuses))
        .routes(routes!(email_events::post_email_events))
        .routes(routes!(contacts::by_email))
        .routes(routes!(contacts::by_phone))
        .routes(routes!(contacts::by_tracker))
        .routes(routes!(definitions::list, definitions::create))
        .routes(routes!(definitions::get, definitions::update, definitions::delete))
        .routes(routes!(segments::list, segments::create))
        .routes(routes!(segment_preview::preview))
        .routes(routes!(segments::get, segments::update, segments::delete))
        .routes(routes!(segment_members::list))
        .routes(routes!(segment_members::add, segment_members::remove))
        .routes(routes!(imports::start))
        .routes(routes!(imports::get))
        .routes(routes!(imports::rejects))
        .routes(routes!(imports::history))
        .routes(routes!(exports::start))
        .routes(routes!(exports::get))
        .routes(routes!(exports::file))
}

/// `GET /api/v1/openapi.json`, documented like the other routes.
fn description_route() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new().routes(routes!(openapi::openapi_json))
}

/// Largest request body the API accepts, in bytes: an email event batch of
/// 1000 events fits with room to spare.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

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
