//! Erasure and data portability of one contact.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;

use super::contacts::{parse_id, profile, rfc3339, ActivityView, Profile};
use super::{AdminName, AdminState, Problem};
use crate::store::{now_millis, ActivityQuery, ContactId};

/// Activities read per store call while exporting.
const EXPORT_PAGE: usize = 500;

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
#[derive(Debug, Serialize)]
pub struct Export {
    pub exported_at: String,
    pub profile: Profile,
    /// Every activity, newest first.
    pub activities: Vec<ActivityView>,
}

/// `GET /api/v1/contacts/{id}/export`: the data-portability export, as one
/// JSON document.
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
