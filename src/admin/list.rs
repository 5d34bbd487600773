//! The contacts list: `GET /api/v1/contacts`.
//!
//! Without `search` it pages through live contacts, last updated first,
//! with the store's list indexes (see [`crate::store::listing`]); `next` is
//! the cursor for the following page. With `search` it is an exact match
//! through the email or cellphone unique index, whatever the formatting of
//! the value, and returns at most one contact. The filters apply in both
//! cases. With `segment`, the page walks that segment's index instead of
//! all contacts and checks the other filters on each member.

use axum::extract::{RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contacts::{rfc3339, MAX_PAGE};
use super::fields::StandardField;
use super::{AdminState, Problem};
use crate::identity::{normalise_email, normalise_phone};
use crate::store::{ContactFilter, ContactId, ContactListQuery, ContactRecord, IndexKind, ListPosition, SegmentId};

/// Page size when `limit` is not given.
const DEFAULT_PAGE: usize = 50;

/// Query parameters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// An email or cellphone number to match exactly.
    search: Option<String>,
    /// The kind of value in `search`: `email` (default) or `cellphone`.
    #[param(value_type = Option<SearchBy>, inline)]
    by: Option<String>,
    /// `true` lists only contacts with an email.
    #[param(value_type = Option<Flag>, inline)]
    has_email: Option<String>,
    /// `true` lists only contacts with a cellphone.
    #[param(value_type = Option<Flag>, inline)]
    has_cellphone: Option<String>,
    /// `true` lists only contacts with a push subscription.
    #[param(value_type = Option<Flag>, inline)]
    push: Option<String>,
    /// A segment id: lists only the segment's members.
    #[param(value_type = Option<String>, format = Uuid)]
    segment: Option<String>,
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    #[param(pattern = "^[0-9]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    cursor: Option<String>,
}

/// The kind of value in the list's `search` parameter.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SearchBy {
    Email,
    Cellphone,
}

/// A list filter: the only accepted value is `true`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum Flag {
    #[schema(rename = "true")]
    True,
}

/// One contact in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListItem {
    pub id: ContactId,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub cellphone: Option<String>,
    pub registered: bool,
    pub updated_at: String,
}

impl ListItem {
    pub(super) fn new(id: ContactId, record: &ContactRecord) -> ListItem {
        let field = |field: StandardField| record.fields.get(field.name()).filter(|value| !value.is_empty()).cloned();
        ListItem {
            id,
            email: field(StandardField::Email),
            first_name: field(StandardField::FirstName),
            last_name: field(StandardField::LastName),
            cellphone: field(StandardField::Cellphone),
            registered: record.is_registered(),
            updated_at: rfc3339(record.updated_at),
        }
    }
}

/// A page of the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage {
    pub items: Vec<ListItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(value_type = Option<String>, pattern = "^[0-9]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub next: Option<ListPosition>,
}

/// `GET /api/v1/contacts`
#[utoipa::path(
    get,
    path = "/contacts",
    tag = "contacts",
    summary = "List contacts",
    description = "Lists live contacts, last updated first, or finds one contact exactly with `search`. \
        Merged contacts never appear. Each parameter may be given once.",
    params(ListParams),
    responses(
        (status = 200, description = "A page of contacts.", body = ListPage),
        (status = 400, description = "A parameter is invalid, unknown or repeated, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment has the id in `segment`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn list_contacts(
    State(state): State<AdminState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListPage>, Problem> {
    let allowed = ["search", "by", "has_email", "has_cellphone", "push", "segment", "limit", "cursor"];
    let params: ListParams = super::query::parse(raw.as_deref(), &allowed)?;
    let segment = match params.segment.as_deref() {
        Some(text) => Some(known_segment(&state, "segment", text).await?),
        None => None,
    };
    let filter = ContactFilter {
        has_email: flag("has_email", &params.has_email)?,
        has_cellphone: flag("has_cellphone", &params.has_cellphone)?,
        has_push: flag("push", &params.push)?,
        segment,
        shard: None,
    };
    let limit = super::query::page_limit(params.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE)?;
    let after = params
        .cursor
        .as_deref()
        .map(|text| text.parse::<ListPosition>().map_err(|reason| Problem::invalid("cursor", reason)))
        .transpose()?;

    if let Some(search) = &params.search {
        return search_exact(&state, search, params.by.as_deref(), filter).await.map(Json);
    }
    if params.by.is_some() {
        return Err(Problem::invalid("by", "`by` needs `search`"));
    }

    let page = state.store.list_contacts(&ContactListQuery { filter, after, limit }).await?;
    let items = page.items.iter().filter_map(|record| record.id.map(|id| ListItem::new(id, record))).collect();
    Ok(Json(ListPage { items, next: page.next }))
}

/// Finds the one contact whose email or cellphone matches `search`.
async fn search_exact(
    state: &AdminState,
    search: &str,
    by: Option<&str>,
    filter: ContactFilter,
) -> Result<ListPage, Problem> {
    let (kind, key) = match by.unwrap_or("email") {
        "email" => (IndexKind::Email, normalise_email(search)),
        "cellphone" => (IndexKind::Phone, normalise_phone(search, state.phone_country)),
        _ => return Err(Problem::invalid("by", "expected `email` or `cellphone`")),
    };
    let Some(key) = key else {
        let what = if kind == IndexKind::Email { "email address" } else { "phone number" };
        return Err(Problem::invalid("search", format!("invalid {what}")));
    };

    let mut items = Vec::new();
    if let Some(owner) = state.store.index_lookup(kind, &key).await? {
        if let Some((id, record)) = state.identity.resolve(owner).await? {
            let push_count = state.store.push_subscriptions(id).await?.len();
            let in_segment = match filter.segment {
                Some(segment) => state.store.contact_segments(id).await?.contains(&segment),
                None => true,
            };
            if in_segment && filter.accepts(&record, push_count) {
                items.push(ListItem::new(id, &record));
            }
        }
    }
    Ok(ListPage { items, next: None })
}

/// Parses the segment id in parameter `field` and returns it when the
/// segment exists: a 400 problem for text that is no UUID, a 404 for an
/// unknown segment.
pub(super) async fn known_segment(state: &AdminState, field: &str, text: &str) -> Result<SegmentId, Problem> {
    let id: SegmentId = super::contacts::parse_id(field, text)?;
    match state.store.segment(id).await? {
        Some(_) => Ok(id),
        None => Err(Problem::not_found_field(field, format!("no segment {id}"))),
    }
}

/// Reads a filter parameter: absent means no filter, `true` filters.
fn flag(name: &str, value: &Option<String>) -> Result<bool, Problem> {
    match value.as_deref() {
        None => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Problem::invalid(name, "expected `true`, or leave the parameter out")),
    }
}
