//! The OpenAPI 3.1 description of the admin API, served without a token
//! at `GET /api/v1/openapi.json`.
//!
//! The description is generated with `utoipa` from the handlers'
//! `#[utoipa::path]` attributes and the `ToSchema` types. The router in
//! [`super::router`] registers the documented routes through
//! `utoipa_axum::routes!`, so one list builds both the routes and the
//! description and they cannot drift apart. The description is built and
//! serialized once, when the router is built. It reveals no data, only the
//! shape of the API, so it needs no token, like `/healthz`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::{Modify, OpenApi};

/// Name of the bearer security scheme in `components.securitySchemes`. The
/// `#[openapi(security)]` attribute repeats it, because it takes literals only.
pub const BEARER_SCHEME: &str = "bearer";

/// The parts of the description that no handler carries: info, the
/// security scheme (required by every operation unless the operation
/// overrides it) and tags.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Footprint admin API",
        description = "Contacts recorded by the Footprint reverse proxy, for staff and the shop's other systems. \
            Every operation except this description needs an admin token as `Authorization: Bearer <token>`. \
            Errors are RFC 9457 problem details (`application/problem+json`)."
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "contacts", description = "Contact profiles, the contacts list and edits."),
        (name = "activities", description = "A contact's recorded activities."),
        (name = "statuses", description = "Email, newsletter, cellphone and SMS statuses, and email provider events."),
        (name = "segments", description = "Segments of contacts, their definitions and members."),
        (name = "transfers", description = "Imports of contacts from files, their reject reports, and the history of imports and exports."),
        (name = "description", description = "This OpenAPI description.")
    )
)]
struct ApiDoc;

/// Adds the bearer security scheme, which `#[openapi]` has no attribute for.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An admin token from the `admin.tokens` configuration."))
            .build();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(BEARER_SCHEME, SecurityScheme::Http(scheme));
    }
}

/// Builds the whole description from the operations of the API router,
/// whose paths are relative to `/api/v1`, and of the description route.
pub fn document(api: OpenApiDocument, description_route: OpenApiDocument) -> OpenApiDocument {
    let mut document = ApiDoc::openapi().nest("/api/v1", api);
    document.merge(description_route);
    document
}

/// The serialized description, shared by every request.
#[derive(Clone)]
pub struct DescriptionJson(pub bytes::Bytes);

impl DescriptionJson {
    /// Serializes `document` once.
    pub fn new(document: &OpenApiDocument) -> DescriptionJson {
        // The document is built from static attributes only, so a failure
        // is a programming error that every test run would hit.
        let json = serde_json::to_vec(document).expect("the OpenAPI description serializes to JSON");
        DescriptionJson(bytes::Bytes::from(json))
    }
}

/// Returns this OpenAPI description.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "description",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 description of the admin API.", body = Object,
            content_type = "application/json")
    )
)]
pub async fn openapi_json(Extension(description): Extension<DescriptionJson>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], description.0).into_response()
}
