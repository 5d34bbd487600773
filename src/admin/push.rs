//! A contact's push subscriptions: `POST` and `DELETE` under
//! `/api/v1/contacts/{id}/push-subscriptions`.
//!
//! Only the push service's endpoint id is kept, with the time it was
//! added; sending notifications is not part of Footprint. Ids resolve
//! through merges, so a subscription always lands on the live contact.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::Value;

use super::contacts::{parse_id, PushSubscriptionView};
use super::{AdminState, Problem};
use crate::store::{now_millis, ContactId};

/// Maximum length of an endpoint id, in characters.
const MAX_ENDPOINT_ID_CHARS: usize = 512;

#[utoipa::path(
    post,
    path = "/contacts/{id}/push-subscriptions",
    tag = "contacts",
    summary = "Add a push subscription",
    description = "Adds a push service endpoint id to the live contact the id resolves to.",
    params(("id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor.")),
    request_body = super::request_bodies::PushSubscriptionRequest,
    responses(
        (status = 201, description = "The subscription was added.", body = PushSubscriptionView,
            headers(("Location" = String, description = "The subscription's path."))),
        (status = 200, description = "The contact already had the subscription; its first creation time is kept.",
            body = PushSubscriptionView, headers(("Location" = String, description = "The subscription's path."))),
        (status = 400, description = "The id, the body or `endpoint_id` is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `POST /api/v1/contacts/{id}/push-subscriptions` with
/// `{"endpoint_id": "..."}`: 201 with the subscription, or 200 when the
/// contact already had it (keeping its first creation time).
pub async fn add(State(state): State<AdminState>, Path(id): Path<String>, body: Bytes) -> Result<Response, Problem> {
    let requested: ContactId = parse_id("id", &id)?;
    let endpoint_id = parse_endpoint_id(&body)?;
    let contact = live_contact(&state, requested).await?;

    let created = state.store.add_push_subscription(contact, &endpoint_id, now_millis()).await?;
    let subscription = state
        .store
        .push_subscriptions(contact)
        .await?
        .into_iter()
        .find(|subscription| subscription.endpoint_id == endpoint_id)
        .ok_or_else(|| Problem::not_found("the push subscription was removed while it was added"))?;
    tracing::info!(contact.id = %contact, created, "push subscription added through the admin API");
    state.segments.evaluate_logged(contact).await;

    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let location = format!("/api/v1/contacts/{contact}/push-subscriptions/{}", encode_segment(&endpoint_id));
    let view = PushSubscriptionView::from(subscription);
    Ok((status, [(header::LOCATION, location)], Json(view)).into_response())
}

/// `DELETE /api/v1/contacts/{id}/push-subscriptions/{endpoint_id}`: 204,
/// or 404 when the contact has no such subscription.
#[utoipa::path(
    delete,
    path = "/contacts/{id}/push-subscriptions/{endpoint_id}",
    tag = "contacts",
    summary = "Remove a push subscription",
    description = "Removes a push service endpoint id from the live contact the id resolves to.",
    params(
        ("id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor."),
        ("endpoint_id" = String, Path, min_length = 1, max_length = 512,
            description = "The endpoint id: 1 to 512 characters, no control characters.")
    ),
    responses(
        (status = 204, description = "The subscription was removed."),
        (status = 400, description = "The id or `endpoint_id` is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this id, or the contact has no such subscription.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn remove(
    State(state): State<AdminState>,
    Path((id, endpoint_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let requested: ContactId = parse_id("id", &id)?;
    check_endpoint_id(&endpoint_id).map_err(|reason| Problem::invalid("endpoint_id", reason))?;
    let contact = live_contact(&state, requested).await?;

    if !state.store.remove_push_subscription(contact, &endpoint_id, now_millis()).await? {
        return Err(Problem::not_found(format!("contact {contact} has no such push subscription")));
    }
    tracing::info!(contact.id = %contact, "push subscription removed through the admin API");
    state.segments.evaluate_logged(contact).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn live_contact(state: &AdminState, requested: ContactId) -> Result<ContactId, Problem> {
    let (contact, _) = super::contacts::live_contact(state, requested).await?;
    Ok(contact)
}

fn parse_endpoint_id(body: &[u8]) -> Result<String, Problem> {
    let document: Value =
        serde_json::from_slice(body).map_err(|error| Problem::invalid("body", format!("invalid JSON: {error}")))?;
    let Some(Value::String(endpoint_id)) = document.get("endpoint_id") else {
        return Err(Problem::invalid("endpoint_id", "expected a string member `endpoint_id`"));
    };
    check_endpoint_id(endpoint_id).map_err(|reason| Problem::invalid("endpoint_id", reason))?;
    Ok(endpoint_id.clone())
}

/// Accepts 1 to 512 printable characters (no control characters).
fn check_endpoint_id(endpoint_id: &str) -> Result<(), String> {
    let length = endpoint_id.chars().count();
    if !(1..=MAX_ENDPOINT_ID_CHARS).contains(&length) {
        return Err(format!("expected 1 to {MAX_ENDPOINT_ID_CHARS} characters, got {length}"));
    }
    if endpoint_id.chars().any(char::is_control) {
        return Err("contains a control character".to_owned());
    }
    Ok(())
}

/// Percent-encodes `text` for use as one path segment.
fn encode_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_id_length_and_characters() {
        assert!(check_endpoint_id("a").is_ok());
        assert!(check_endpoint_id(&"é".repeat(MAX_ENDPOINT_ID_CHARS)).is_ok());
        assert!(check_endpoint_id("").is_err());
        assert!(check_endpoint_id(&"x".repeat(MAX_ENDPOINT_ID_CHARS + 1)).is_err());
        assert!(check_endpoint_id("tab\there").is_err());
    }

    #[test]
    fn segment_encoding_escapes_reserved_bytes() {
        assert_eq!(encode_segment("a/b c%é"), "a%2Fb%20c%25%C3%A9");
    }
}
