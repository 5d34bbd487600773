//! `POST /api/v1/segments/preview`: how many contacts a condition matches
//! now, before a segment is created with it.
//!
//! The preview evaluates the contacts list page by page, reading for each
//! contact only what the condition needs, and changes nothing. That costs
//! one pass over the contacts, acceptable for an explicit admin action
//! but bounded by [`PREVIEW_MAX_CONTACTS`] so that one request cannot keep
//! the store busy for minutes. `complete` is true only when every contact
//! was evaluated.

use axum::extract::State;
use axum::Json;
use bytes::Bytes;
use serde::Serialize;

use super::definitions::parse_object;
use super::{AdminState, Problem};
use crate::segments::reads::{self, Needs};
use crate::segments::validate::{self, SegmentError};
use crate::segments::SegmentKind;
use crate::store::ContactListQuery;

/// Maximum contacts one preview evaluates.
pub const PREVIEW_MAX_CONTACTS: u64 = 50_000;

/// Contacts read per list page.
const PAGE: usize = 500;

/// The result of a preview.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// Evaluated contacts that match the condition now.
    pub matching: u64,
    /// Contacts evaluated.
    pub evaluated: u64,
    /// False when the preview stopped at its limit of 50000 contacts, so
    /// `matching` counts only the most recently updated ones.
    pub complete: bool,
}

#[utoipa::path(
    post,
    path = "/segments/preview",
    tag = "segments",
    summary = "Preview a condition",
    operation_id = "preview_segment",
    description = "Counts the contacts that match a condition now, without creating a segment. Evaluates at most \
        50000 contacts, most recently updated first; `complete` is false when more exist.",
    request_body = super::request_bodies::PreviewRequest,
    responses(
        (status = 200, description = "The number of matching contacts.", body = Preview),
        (status = 400, description = "The condition is invalid, and `field` names the offending part, such as \
            `condition/all/1/value`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `POST /api/v1/segments/preview`
pub async fn preview(State(state): State<AdminState>, body: Bytes) -> Result<Json<Preview>, Problem> {
    let members = parse_object(&body, &["condition"])?;
    let Some(value) = members.get("condition").filter(|value| !value.is_null()) else {
        return Err(Problem::invalid("condition", "a condition is required"));
    };
    let definitions = state.store.field_definitions().await?;
    // Checked as dynamic plus, the kind that allows every term.
    validate::condition(SegmentKind::DynamicPlus, Some(value), &definitions)
        .map_err(|error: SegmentError| Problem::invalid(error.member(), error.to_string()))?;
    let condition = crate::segments::condition::parse(value, &definitions)
        .map_err(|error| Problem::invalid(format!("condition{}", error.pointer), error.reason))?;
    let mut needs = Needs::default();
    needs.include(&condition);

    let now = state.segments.now();
    let mut result = Preview { matching: 0, evaluated: 0, complete: true };
    let mut query = ContactListQuery { limit: PAGE, ..ContactListQuery::default() };
    loop {
        let page = state.store.list_contacts(&query).await?;
        for record in page.items {
            if result.evaluated >= PREVIEW_MAX_CONTACTS {
                result.complete = false;
                return Ok(Json(result));
            }
            let Some(contact) = record.id else {
                continue;
            };
            let view = reads::view(state.store.as_ref(), contact, record, &needs, now).await?;
            result.evaluated += 1;
            if condition.matches(&view, now) {
                result.matching += 1;
            }
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(Json(result)),
        }
    }
}
