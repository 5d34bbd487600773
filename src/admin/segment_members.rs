//! A segment's members: `GET /api/v1/segments/{id}/members`, and `PUT` and
//! `DELETE /api/v1/segments/{id}/members/{contact_id}` for static segments.
//!
//! The member list is the contacts list filtered by the segment (same
//! items, order and cursor). Only static segments take hand-made changes:
//! a dynamic segment's members follow its condition, so changing them by
//! hand is a 409. A merged contact id resolves to the survivor, which is
//! the one added or removed.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contacts::{live_contact, parse_id, MAX_PAGE};
use super::list::{ListItem, ListPage};
use super::segments::existing;
use super::{AdminState, Problem};
use crate::segments::Segment;
use crate::store::{now_millis, ContactFilter, ContactId, ContactListQuery, ListPosition, SegmentId};

/// Page size when `limit` is not given.
const DEFAULT_PAGE: usize = 50;

/// Query parameters of the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberParams {
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    #[param(pattern = "^[0-9]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    cursor: Option<String>,
}

/// The outcome of a membership change.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub segment_id: SegmentId,
    /// The live contact, which differs from the path's id when that one
    /// was merged.
    pub contact_id: ContactId,
    /// Whether the contact is a member after the request.
    pub member: bool,
    /// False when the contact already was (or was not) a member.
    pub changed: bool,
}

/// Returns the segment when its members may change by hand.
async fn static_segment(state: &AdminState, id: &str) -> Result<Segment, Problem> {
    let segment = existing(state, id).await?;
    if !segment.is_static() {
        return Err(Problem::conflict(
            "id",
            format!(
                "segment {} is {}: its members follow its condition and cannot change by hand",
                segment.id, segment.kind
            ),
        ));
    }
    Ok(segment)
}

#[utoipa::path(
    get,
    path = "/segments/{id}/members",
    tag = "segments",
    summary = "List a segment's members",
    operation_id = "list_segment_members",
    description = "Lists the segment's live members, last updated first, like the contacts list.",
    params(("id" = String, Path, format = Uuid, description = "The segment's id."), MemberParams),
    responses(
        (status = 200, description = "A page of members.", body = ListPage),
        (status = 400, description = "A parameter is invalid, unknown or repeated, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/segments/{id}/members`
pub async fn list(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListPage>, Problem> {
    let segment = existing(&state, &id).await?;
    let params: MemberParams = super::query::parse(raw.as_deref(), &["limit", "cursor"])?;
    let limit = super::query::page_limit(params.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE)?;
    let after = params
        .cursor
        .as_deref()
        .map(|text| text.parse::<ListPosition>().map_err(|reason| Problem::invalid("cursor", reason)))
        .transpose()?;

    let filter = ContactFilter { segment: Some(segment.id), ..ContactFilter::default() };
    let page = state.store.list_contacts(&ContactListQuery { filter, after, limit }).await?;
    let items = page.items.iter().filter_map(|record| record.id.map(|id| ListItem::new(id, record))).collect();
    Ok(Json(ListPage { items, next: page.next }))
}

#[utoipa::path(
    put,
    path = "/segments/{id}/members/{contact_id}",
    tag = "segments",
    summary = "Add a contact to a static segment",
    operation_id = "add_segment_member",
    description = "Adds the live contact the id resolves to and records a `segment_entered` activity. Adding a member \
        again changes nothing.",
    params(
        ("id" = String, Path, format = Uuid, description = "The segment's id."),
        ("contact_id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor.")
    ),
    responses(
        (status = 200, description = "The contact is a member.", body = MembershipView),
        (status = 400, description = "An id is not a UUID, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment or no contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The segment is dynamic: its members follow its condition.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `PUT /api/v1/segments/{id}/members/{contact_id}`
pub async fn add(
    State(state): State<AdminState>,
    Path((id, contact_id)): Path<(String, String)>,
) -> Result<Json<MembershipView>, Problem> {
    change_membership(&state, &id, &contact_id, true).await
}

#[utoipa::path(
    delete,
    path = "/segments/{id}/members/{contact_id}",
    tag = "segments",
    summary = "Remove a contact from a static segment",
    operation_id = "remove_segment_member",
    description = "Removes the live contact the id resolves to and records a `segment_left` activity. Removing a \
        contact that is no member changes nothing.",
    params(
        ("id" = String, Path, format = Uuid, description = "The segment's id."),
        ("contact_id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor.")
    ),
    responses(
        (status = 200, description = "The contact is not a member.", body = MembershipView),
        (status = 400, description = "An id is not a UUID, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment or no contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The segment is dynamic: its members follow its condition.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `DELETE /api/v1/segments/{id}/members/{contact_id}`
pub async fn remove(
    State(state): State<AdminState>,
    Path((id, contact_id)): Path<(String, String)>,
) -> Result<Json<MembershipView>, Problem> {
    change_membership(&state, &id, &contact_id, false).await
}

/// Adds (`member` true) or removes the live contact that `contact_id`
/// resolves to in the static segment `id`.
async fn change_membership(
    state: &AdminState,
    id: &str,
    contact_id: &str,
    member: bool,
) -> Result<Json<MembershipView>, Problem> {
    let segment = static_segment(state, id).await?;
    let requested: ContactId = parse_id("contact_id", contact_id)?;
    let (contact, _) = live_contact(state, requested).await?;

    let changed = if member {
        state.store.add_segment_member(&segment, contact, now_millis()).await?
    } else {
        state.store.remove_segment_member(&segment, contact, now_millis()).await?
    };
    if changed {
        let action = if member { "added to" } else { "removed from" };
        tracing::info!(segment.id = %segment.id, contact.id = %contact, action, "segment membership changed");
    }
    Ok(Json(MembershipView { segment_id: segment.id, contact_id: contact, member, changed }))
}
