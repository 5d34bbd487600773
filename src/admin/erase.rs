//! Erasure and data portability of one contact.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::contacts::{parse_id, profile, rfc3339, ActivityView, Profile};
use super::{AdminName, AdminState, Problem};
use crate::store::{now_millis, ActivityQuery, ContactId};

/// Activities read per store call while exporting.
const EXPORT_PAGE: usize = 500;

#[utoipa::path(
    delete,
    path = "/contacts/{id}",
    tag = "contacts",
    summary = "Erase a contact",
    description = "Erases the contact the id resolves to, with every contact merged into it: profile, fields, \
        statuses, push subscriptions, activities, index entries and the bindings of its browsers.",
    params(("id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor.")),
    responses(
        (status = 204, description = "The contact was erased."),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `DELETE /api/v1/contacts/{id}`: erases the contact the id resolves to,
/// with every contact merged into it (see `Identity::erase`). 204 when
/// done, 404 when there is no such contact.
pub async fn erase_contact(
    State(state): State<AdminState>,
    Extension(admin): Extension<AdminName>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let requested: ContactId = parse_id("id", &id)?;
    let erased =
        state.identity.erase(requested).await?.ok_or_else(|| Problem::not_found(format!("no contact {requested}")))?;
    // The schedule would drop the id when it comes due; erasure drops it now.
    state.store.set_next_flip(erased.contact, None).await?;

    tracing::info!(
        contact.id = %erased.contact,
        admin = %admin.0,
        merged = erased.merged,
        trackers = erased.trackers,
        sources = erased.sources,
        "contact erased"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Everything stored about one contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    #[schema(format = DateTime)]
    pub exported_at: String,
    pub profile: Profile,
    /// Every activity, newest first.
    pub activities: Vec<ActivityView>,
}

/// `GET /api/v1/contacts/{id}/export`: the data-portability export, as one
/// JSON document.
#[utoipa::path(
    get,
    path = "/contacts/{id}/export",
    tag = "contacts",
    summary = "Export a contact",
    description = "Returns everything stored about the contact, its profile and every activity, as one \
        document for data-portability requests.",
    params(("id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor.")),
    responses(
        (status = 200, description = "The export.", body = Export),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn export_contact(State(state): State<AdminState>, Path(id): Path<String>) -> Result<Json<Export>, Problem> {
    let requested: ContactId = parse_id("id", &id)?;
    let profile = profile(&state, requested).await?;
    let sources = state.store.sources(profile.id).await?;

    let mut activities = Vec::new();
    let mut query = ActivityQuery { limit: EXPORT_PAGE, ..ActivityQuery::default() };
    loop {
        let page = state.store.activities(&sources, &query).await?;
        activities.extend(page.items.into_iter().map(ActivityView::from));
        match page.next {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    Ok(Json(Export { exported_at: rfc3339(now_millis()), profile, activities }))
}
