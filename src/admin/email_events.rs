//! `POST /api/v1/email-events`: bounces, deliveries, complaints and
//! unsubscribes reported by the shop's email provider, one event or a
//! batch.
//!
//! An event names its contact by email address (trimmed,
//! case-insensitive, through the email index). A single event gets a 400 or
//! 404 problem. A batch gets 200 with one result per event, so that one bad
//! or unknown address does not make the provider resend the rest.
//! A store failure ends the request with 503. The events applied before it
//! stay applied, and a resent batch applies them again, which counts a
//! soft bounce twice.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::statuses::json_body;
use super::{AdminState, Problem};
use crate::identity::normalise_email;
use crate::status::{self, ChannelStatus, EmailEvent, EmailEventKind, StatusError, Subscription};
use crate::store::{now_millis, ContactId, IndexKind, Millis};

/// Maximum number of events in one batch.
pub const MAX_BATCH: usize = 1000;

/// The members an event object may have.
const MEMBERS: [&str; 4] = ["email", "type", "reason", "at"];

/// The outcome of one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResult {
    /// The event's position in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// `recorded`, `not_found`, `invalid` or `conflict`.
    #[schema(value_type = EventOutcome)]
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    /// The contact's email status after the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_status: Option<ChannelStatus>,
    /// The contact's newsletter status after the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newsletter_status: Option<Subscription>,
    /// The member at fault, for `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl EventResult {
    fn failed(index: usize, result: &'static str, field: Option<String>, detail: String) -> EventResult {
        EventResult {
            index: Some(index),
            result,
            contact_id: None,
            email_status: None,
            newsletter_status: None,
            field,
            detail: Some(detail),
        }
    }
}

/// The outcome of the events of a batch, one entry per event.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResults {
    pub results: Vec<EventResult>,
}

/// The `result` of an event, for the description only: the handler writes
/// these names as strings.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum EventOutcome {
    Recorded,
    NotFound,
    Invalid,
    /// The contact's statuses kept changing, so send the event again.
    Conflict,
}

/// The response to one event or to a batch.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum EmailEventsResponse {
    One(EventResult),
    Batch(BatchResults),
}

/// Validates one event object.
fn parse_event(value: &Value, now: Millis) -> Result<EmailEvent, Problem> {
    let names = MEMBERS.join(", ");
    let Value::Object(members) = value else {
        return Err(Problem::invalid("body", format!("expected an event object with {names}")));
    };
    if let Some(unknown) = members.keys().find(|name| !MEMBERS.contains(&name.as_str())) {
        return Err(Problem::invalid(unknown.as_str(), format!("unknown member; expected any of {names}")));
    }

    let email = string(members, "email")?.ok_or_else(|| Problem::invalid("email", "missing email address"))?;
    let address = normalise_email(email).ok_or_else(|| Problem::invalid("email", "not a valid email address"))?;

    let kinds: Vec<&str> = EmailEventKind::ALL.iter().map(|kind| kind.as_str()).collect();
    let accepted = || format!("expected one of {}", kinds.join(", "));
    let kind = string(members, "type")?.ok_or_else(|| Problem::invalid("type", format!("missing; {}", accepted())))?;
    let kind = EmailEventKind::parse(kind)
        .ok_or_else(|| Problem::invalid("type", format!("unknown event type {kind:?}; {}", accepted())))?;

    let reason = string(members, "reason")?.map(str::to_owned).filter(|reason| !reason.trim().is_empty());
    let at = match string(members, "at")? {
        Some(text) => parse_time(text)?,
        None => now,
    };
    Ok(EmailEvent { address, kind, reason, at })
}

/// Returns the string member `name`, `None` when it is missing or null.
fn string<'a>(members: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Problem> {
    match members.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Problem::invalid(name, "expected a string")),
    }
}

fn parse_time(text: &str) -> Result<Millis, Problem> {
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Problem::invalid("at", "expected an RFC 3339 time such as 2026-01-31T12:00:00Z"))?;
    Millis::try_from(time.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| Problem::invalid("at", "the time is out of range"))
}

/// Looks up the event's contact and applies the event; `None` when no
/// contact has the address.
async fn apply(state: &AdminState, event: &EmailEvent) -> Result<Option<EventResult>, StatusError> {
    let Some(owner) = state.store.index_lookup(IndexKind::Email, &event.address).await? else {
        return Ok(None);
    };

    let threshold = state.soft_bounce_threshold;
    let applied = match status::apply_email_event(state.store.as_ref(), &state.identity, owner, event, threshold).await
    {
        Ok(applied) => applied,
        // The index still names a contact that was erased.
        Err(StatusError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    state.segments.evaluate_logged(applied.contact).await;
    let address = status::current_address(&applied.record);
    tracing::debug!(contact.id = %applied.contact, event.kind = event.kind.as_str(), "email event recorded");

    Ok(Some(EventResult {
        index: None,
        result: "recorded",
        contact_id: Some(applied.contact),
        email_status: Some(applied.statuses.email_status(address.as_deref())),
        newsletter_status: Some(status::status_of(applied.statuses.newsletter.as_ref())),
        field: None,
        detail: None,
    }))
}

fn count(kind: &'static str, result: &'static str) {
    metrics::counter!("footprint_email_events_total", "type" => kind, "result" => result).increment(1);
}

/// `POST /api/v1/email-events`: one event object, or an array of at most
/// [`MAX_BATCH`].
#[utoipa::path(
    post,
    path = "/email-events",
    tag = "statuses",
    summary = "Apply email provider events",
    description = "Applies bounces, deliveries, complaints and unsubscribes, one event or a batch. A single \
        event returns its result or a problem. A batch returns one result per event, so that one bad or unknown \
        address does not fail the rest. Events applied before a store failure stay applied.",
    request_body = super::request_bodies::EmailEventsRequest,
    responses(
        (status = 200, description = "The result of the event, or of each event of a batch.",
            body = EmailEventsResponse),
        (status = 400, description = "The body, a batch size or a member of a single event is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has the address of a single event.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The statuses of a single event's contact kept changing. Send it again.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn post_email_events(State(state): State<AdminState>, body: Bytes) -> Result<Response, Problem> {
    let now = now_millis();
    let events = match json_body(&body)? {
        Value::Array(events) => events,
        single => {
            let event = parse_event(&single, now)?;
            let result = apply(&state, &event).await;
            let label = match &result {
                Ok(Some(result)) => result.result,
                Ok(None) => "not_found",
                Err(_) => "failed",
            };
            count(event.kind.as_str(), label);
            return match result? {
                Some(result) => Ok(Json(result).into_response()),
                None => Err(Problem::not_found("no contact has this email")),
            };
        }
    };
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(Problem::invalid("body", format!("a batch holds 1 to {MAX_BATCH} events, not {}", events.len())));
    }

    let mut results = Vec::with_capacity(events.len());
    for (index, value) in events.iter().enumerate() {
        let event = match parse_event(value, now) {
            Ok(event) => event,
            Err(problem) => {
                results.push(EventResult::failed(index, "invalid", problem.field, problem.detail));
                continue;
            }
        };
        let result = match apply(&state, &event).await {
            Ok(Some(result)) => EventResult { index: Some(index), ..result },
            Ok(None) => EventResult::failed(index, "not_found", None, "no contact has this email".to_owned()),
            Err(StatusError::Contended { .. }) => EventResult::failed(
                index,
                "conflict",
                None,
                "the contact's statuses kept changing; send this event again".to_owned(),
            ),
            Err(error) => return Err(error.into()),
        };
        count(event.kind.as_str(), result.result);
        results.push(result);
    }
    Ok(Json(BatchResults { results }).into_response())
}
