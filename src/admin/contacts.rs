//! Contact lookups and timelines.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::statuses::StatusesView;
use super::{AdminState, Problem};
use crate::ecommerce::{self, BasketItem, Ecommerce, Money};
use crate::identity::{normalise_email, normalise_phone};
use crate::store::{
    ActivityKind, ActivityQuery, ContactId, Cursor, IndexKind, Millis, PushSubscription, SegmentId, StoredActivity,
    TrackerId, CUSTOM_FIELD_PREFIX,
};

/// Largest page of activities or contacts one request returns.
pub(super) const MAX_PAGE: usize = 200;

/// A contact's profile as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    pub id: ContactId,
    /// The id that was looked up, when it was merged into `id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_id: Option<ContactId>,
    /// True when the contact has an email.
    pub registered: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Standard fields only.
    pub fields: BTreeMap<String, String>,
    /// Custom fields by name, typed like their definition, with defaults for
    /// fields the contact has no value for.
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Custom fields whose stored value no longer fits the definition,
    /// with the reason.
    pub custom_field_warnings: BTreeMap<String, &'static str>,
    pub trackers: Vec<TrackerId>,
    /// Activities by type, over every source of the contact.
    pub counters: BTreeMap<ActivityKind, u64>,
    /// Contacts merged into this one.
    pub merged_from: Vec<ContactId>,
    pub push_subscriptions: Vec<PushSubscriptionView>,
    /// Orders, amount spent and the current basket.
    pub ecommerce: EcommerceView,
    /// Email, newsletter, cellphone and SMS statuses.
    pub statuses: StatusesView,
    /// The segments the contact is a member of, ordered by name.
    pub segments: Vec<SegmentRef>,
    /// How much is known about the contact, and since when.
    pub system: SystemView,
}

/// A segment the contact is a member of.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentRef {
    pub id: SegmentId,
    pub name: String,
}

/// The system status block.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemView {
    /// Fields with a value plus recorded activities.
    pub data_points: u64,
    /// The last change to the contact: a field, a status or an activity.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// The ecommerce status block (see [`crate::ecommerce`]).
#[derive(Debug, Serialize, ToSchema)]
pub struct EcommerceView {
    pub orders: u64,
    pub spent: Vec<Money>,
    /// Null when the basket is empty.
    pub basket: Option<BasketView>,
}

/// The items in the basket since the last purchase.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasketView {
    pub items: Vec<BasketItem>,
    /// Sum of price × quantity, when every item has a price.
    pub value: Option<String>,
    /// Time of the last cart change.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Ecommerce> for EcommerceView {
    fn from(ecommerce: Ecommerce) -> EcommerceView {
        let basket = ecommerce.basket.map(|basket| BasketView {
            items: basket.items,
            value: basket.value,
            updated_at: rfc3339(basket.updated_at),
        });
        EcommerceView { orders: ecommerce.orders, spent: ecommerce.spent, basket }
    }
}

/// A push subscription as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PushSubscriptionView {
    pub endpoint_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<PushSubscription> for PushSubscriptionView {
    fn from(subscription: PushSubscription) -> PushSubscriptionView {
        PushSubscriptionView { endpoint_id: subscription.endpoint_id, created_at: rfc3339(subscription.created_at) }
    }
}

/// Formats stored milliseconds as RFC 3339.
pub fn rfc3339(at: Millis) -> String {
    let format = &time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|time| time.format(format).ok())
        .unwrap_or_default()
}

/// Returns the live contact `requested` resolves to (following merges), or
/// a 404 problem.
pub(super) async fn live_contact(
    state: &AdminState,
    requested: ContactId,
) -> Result<(ContactId, crate::store::ContactRecord), Problem> {
    state.identity.resolve(requested).await?.ok_or_else(|| Problem::not_found(format!("no contact {requested}")))
}

pub(super) fn parse_id<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, Problem> {
    text.parse().map_err(|_| Problem::invalid(field, format!("{text:?} is not a UUID")))
}

/// Builds the profile of the live contact `requested` resolves to.
pub(super) async fn profile(state: &AdminState, requested: ContactId) -> Result<Profile, Problem> {
    let (id, record) = live_contact(state, requested).await?;

    let sources = state.store.sources(id).await?;
    let counters = state.store.counters(&sources).await?;
    let mut trackers = Vec::new();
    for tracker in state.store.contact_trackers(id).await? {
        // The tracker set may keep a stale entry after an interrupted
        // rebinding; the tracker's own binding is the truth.
        if state.store.tracker_contact(tracker).await? == Some(id) {
            trackers.push(tracker);
        }
    }
    let merged_from = state.store.merged_contacts(id).await?;
    let segments = segment_refs(state, id).await?;
    let push_subscriptions = state.store.push_subscriptions(id).await?;
    let definitions = state.store.field_definitions().await?;
    let custom = super::custom_values::collect(&definitions, &record.fields);
    // Data points count stored values only: standard fields, and custom
    // fields that are defined (a deleted definition's values are hidden).
    let stored_custom = definitions
        .iter()
        .filter(|definition| record.fields.get(&definition.storage_name()).is_some_and(|value| !value.is_empty()))
        .count();
    let registered = record.is_registered();
    let statuses = StatusesView::of(&record)?;
    let mut fields = record.fields;
    fields.retain(|name, _| !name.starts_with(CUSTOM_FIELD_PREFIX));

    let ecommerce = ecommerce::summarise(state.store.as_ref(), &sources).await?;
    let filled_fields = (fields.values().filter(|value| !value.is_empty()).count() + stored_custom) as u64;
    let system = SystemView {
        data_points: filled_fields + counters.values().sum::<u64>(),
        updated_at: rfc3339(record.updated_at),
    };

    Ok(Profile {
        id,
        requested_id: (id != requested).then_some(requested),
        registered,
        created_at: rfc3339(record.created_at),
        updated_at: rfc3339(record.updated_at),
        fields,
        custom_fields: custom.values,
        custom_field_warnings: custom.warnings,
        trackers,
        counters,
        merged_from,
        push_subscriptions: push_subscriptions.into_iter().map(PushSubscriptionView::from).collect(),
        ecommerce: ecommerce.into(),
        statuses,
        system,
        segments,
    })
}

/// Lists the segments of `contact` that still have a definition, ordered
/// by name: the contact's set may name a segment deleted meanwhile.
async fn segment_refs(state: &AdminState, contact: ContactId) -> Result<Vec<SegmentRef>, Problem> {
    let ids = state.store.contact_segments(contact).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let refs = state
        .store
        .segments()
        .await?
        .into_iter()
        .filter(|segment| ids.contains(&segment.id))
        .map(|segment| SegmentRef { id: segment.id, name: segment.name })
        .collect();
    Ok(refs)
}

/// `GET /api/v1/contacts/{id}`
#[utoipa::path(
    get,
    path = "/contacts/{id}",
    tag = "contacts",
    summary = "Get a contact",
    description = "Returns the profile of the live contact the id resolves to. A merged id returns the survivor \
        with `requested_id`.",
    params(("id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor.")),
    responses(
        (status = 200, description = "The contact's profile.", body = Profile),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn get_contact(State(state): State<AdminState>, Path(id): Path<String>) -> Result<Json<Profile>, Problem> {
    let id: ContactId = parse_id("id", &id)?;
    Ok(Json(profile(&state, id).await?))
}

/// `GET /api/v1/contacts/by-email/{email}`: trimmed, case-insensitive.
#[utoipa::path(
    get,
    path = "/contacts/by-email/{email}",
    tag = "contacts",
    summary = "Find a contact by email",
    description = "Returns the profile of the contact that owns the email address, matched trimmed and \
        case-insensitively.",
    params(("email" = String, Path, format = Email, description = "An email address.")),
    responses(
        (status = 200, description = "The owner's profile.", body = Profile),
        (status = 400, description = "The value is not a valid email address.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this email address.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn by_email(State(state): State<AdminState>, Path(email): Path<String>) -> Result<Json<Profile>, Problem> {
    let key = normalise_email(&email).ok_or_else(|| Problem::invalid("email", "not a valid email address"))?;
    let id = state
        .store
        .index_lookup(IndexKind::Email, &key)
        .await?
        .ok_or_else(|| Problem::not_found("no contact has this email"))?;
    Ok(Json(profile(&state, id).await?))
}

/// `GET /api/v1/contacts/by-phone/{phone}`: any formatting, normalised to
/// E.164 with the configured default country.
#[utoipa::path(
    get,
    path = "/contacts/by-phone/{phone}",
    tag = "contacts",
    summary = "Find a contact by cellphone",
    description = "Returns the profile of the contact that owns the phone number. The number may have any \
        formatting and is normalised to E.164 with the configured default country.",
    params(("phone" = String, Path, description = "A phone number in any formatting.")),
    responses(
        (status = 200, description = "The owner's profile.", body = Profile),
        (status = 400, description = "The value is not a valid phone number.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this phone number.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn by_phone(State(state): State<AdminState>, Path(phone): Path<String>) -> Result<Json<Profile>, Problem> {
    let key = normalise_phone(&phone, state.phone_country)
        .ok_or_else(|| Problem::invalid("phone", "not a valid phone number"))?;
    let id = state
        .store
        .index_lookup(IndexKind::Phone, &key)
        .await?
        .ok_or_else(|| Problem::not_found("no contact has this phone number"))?;
    Ok(Json(profile(&state, id).await?))
}

/// `GET /api/v1/contacts/by-tracker/{tracker}`
#[utoipa::path(
    get,
    path = "/contacts/by-tracker/{tracker}",
    tag = "contacts",
    summary = "Find a contact by tracker",
    description = "Returns the profile of the contact that a browser's tracker cookie is bound to.",
    params(("tracker" = String, Path, format = Uuid, description = "A tracker id (the signed cookie's UUID).")),
    responses(
        (status = 200, description = "The tracker's contact.", body = Profile),
        (status = 400, description = "The tracker is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The tracker belongs to no contact yet.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn by_tracker(
    State(state): State<AdminState>,
    Path(tracker): Path<String>,
) -> Result<Json<Profile>, Problem> {
    let tracker: TrackerId = parse_id("tracker", &tracker)?;
    let id = state
        .store
        .tracker_contact(tracker)
        .await?
        .ok_or_else(|| Problem::not_found(format!("tracker {tracker} belongs to no contact yet")))?;
    Ok(Json(profile(&state, id).await?))
}

/// Query parameters of the timeline.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// Cursor: return activities older than it (the next page).
    #[param(
        pattern = "^[0-9]+-[0-9]+-(c:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|t:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
    )]
    before: Option<String>,
    /// Cursor: return activities newer than it (a refresh).
    #[param(
        pattern = "^[0-9]+-[0-9]+-(c:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|t:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
    )]
    after: Option<String>,
    /// Comma-separated activity types.
    #[serde(rename = "type")]
    #[param(value_type = Option<Vec<ActivityKind>>, inline, style = Form, explode = false)]
    kinds: Option<String>,
}

/// One activity as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    /// Pass as `before` or `after` to page from this activity.
    #[schema(value_type = String, pattern = "^[0-9]+-[0-9]+-(c:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|t:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")]
    pub cursor: Cursor,
    #[schema(format = DateTime)]
    pub at: String,
    #[serde(rename = "type")]
    pub kind: ActivityKind,
    pub url: String,
    pub referrer: Option<String>,
    pub properties: BTreeMap<String, String>,
}

impl From<StoredActivity> for ActivityView {
    fn from(stored: StoredActivity) -> ActivityView {
        let activity = stored.activity;
        ActivityView {
            cursor: stored.cursor,
            at: rfc3339(activity.at),
            kind: activity.kind,
            url: activity.url,
            referrer: activity.referrer,
            properties: activity.properties,
        }
    }
}

/// A page of activities, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityPageView {
    pub items: Vec<ActivityView>,
    /// Pass as `before` for the next page; null on the last page.
    #[schema(value_type = Option<String>, pattern = "^[0-9]+-[0-9]+-(c:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|t:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")]
    pub next: Option<Cursor>,
}

impl ActivityParams {
    fn query(&self) -> Result<ActivityQuery, Problem> {
        let limit = super::query::page_limit(self.limit.as_deref(), 50, MAX_PAGE)?;
        let cursor = |field: &str, text: &Option<String>| -> Result<Option<Cursor>, Problem> {
            text.as_deref()
                .map(|text| text.parse().map_err(|reason: String| Problem::invalid(field, reason)))
                .transpose()
        };
        let mut kinds = BTreeSet::new();
        for name in self.kinds.iter().flat_map(|list| list.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
            kinds.insert(name.parse().map_err(|reason: String| Problem::invalid("type", reason))?);
        }
        Ok(ActivityQuery {
            before: cursor("before", &self.before)?,
            after: cursor("after", &self.after)?,
            kinds,
            limit,
        })
    }
}

/// `GET /api/v1/contacts/{id}/activities`: newest first.
#[utoipa::path(
    get,
    path = "/contacts/{id}/activities",
    tag = "activities",
    summary = "List a contact's activities",
    description = "Lists the activities of the contact and of every contact merged into it, newest first. \
        Follow `next` as `before` until it is null to read everything. Each parameter may be given once.",
    params(("id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor."), ActivityParams),
    responses(
        (status = 200, description = "A page of activities.", body = ActivityPageView),
        (status = 400, description = "The id or a parameter is invalid, unknown or repeated, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn activities(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ActivityPageView>, Problem> {
    let requested: ContactId = parse_id("id", &id)?;
    let params: ActivityParams = super::query::parse(raw.as_deref(), &["limit", "before", "after", "type"])?;
    let query = params.query()?;
    let (id, _) = live_contact(&state, requested).await?;

    let sources = state.store.sources(id).await?;
    let page = state.store.activities(&sources, &query).await?;
    Ok(Json(ActivityPageView { items: page.items.into_iter().map(ActivityView::from).collect(), next: page.next }))
}
