//! Creating and editing contacts by hand: `POST /api/v1/contacts` and
//! `PATCH /api/v1/contacts/{id}`.
//!
//! Both take `{"fields": {"<name>": <value> | null}}` with standard field
//! names (see [`super::fields`]) and custom field names, whose values are
//! checked by type (see [`crate::custom`]) and stored under the field's id. Every value is checked before
//! anything is written, so an invalid field changes nothing. Email and
//! cellphone are unique: a new value is claimed in its index first, and a
//! value owned by another contact gives 409 after the claims this request
//! made are released again. Each create or edit records an `admin_edit`
//! activity on the contact's own stream with the token name and the field
//! names, never the values.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::Value;

use super::contacts::{parse_id, profile};
use super::fields::{FieldValue, StandardField};
use super::{AdminName, AdminState, Problem};
use crate::custom::{self, StoredValue};
use crate::identity::{FieldChange, FieldWriteError, UniqueChange};
use crate::store::{now_millis, Activity, ActivityKind, ContactId, FieldDefinition};

/// One requested change: a new value, or `None` to remove the field.
struct Change {
    field: StandardField,
    value: Option<FieldValue>,
}

/// The checked changes of one request.
struct Changes {
    standard: Vec<Change>,
    /// Custom field name and its checked value.
    custom: Vec<(String, StoredValue)>,
}

/// `POST /api/v1/contacts`: 201 with the new contact's profile.
#[utoipa::path(
    post,
    path = "/contacts",
    tag = "contacts",
    summary = "Create a contact",
    description = "Creates a contact with the given standard fields and records an `admin_edit` activity. \
        Every value is checked before anything is written.",
    request_body = super::request_bodies::FieldsRequest,
    responses(
        (status = 201, description = "The new contact's profile.", body = super::Profile,
            headers(("Location" = String, description = "The new contact's path."))),
        (status = 400, description = "The body or a field is invalid, and `field` names it, such as `fields.cellphone`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another contact has this email or cellphone, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn create_contact(
    State(state): State<AdminState>,
    Extension(admin): Extension<AdminName>,
    body: Bytes,
) -> Result<Response, Problem> {
    let definitions = state.store.field_definitions().await?;
    let changes = parse_changes(&state, &definitions, &body)?;
    let contact = ContactId::new();

    apply(&state, contact, &BTreeMap::new(), &changes, &admin).await?;
    metrics::counter!("footprint_contacts_created_total", "reason" => "admin").increment(1);

    let profile = profile(&state, contact).await?;
    let location = format!("/api/v1/contacts/{contact}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(profile)).into_response())
}

/// `PATCH /api/v1/contacts/{id}`: edits the live contact the id resolves
/// to and returns its profile.
#[utoipa::path(
    patch,
    path = "/contacts/{id}",
    tag = "contacts",
    summary = "Edit a contact",
    description = "Sets or removes standard fields of the live contact the id resolves to and records an \
        `admin_edit` activity. Every value is checked before anything is written.",
    params(("id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor.")),
    request_body = super::request_bodies::FieldsRequest,
    responses(
        (status = 200, description = "The contact's profile after the edit.", body = super::Profile),
        (status = 400, description = "The id, the body or a field is invalid, and `field` names it, such as `fields.cellphone`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another contact has this email or cellphone, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn update_contact(
    State(state): State<AdminState>,
    Extension(admin): Extension<AdminName>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let requested: ContactId = parse_id("id", &id)?;
    let definitions = state.store.field_definitions().await?;
    let changes = parse_changes(&state, &definitions, &body)?;
    let (contact, record) = super::contacts::live_contact(&state, requested).await?;

    apply(&state, contact, &record.fields, &changes, &admin).await?;

    Ok(Json(profile(&state, requested).await?).into_response())
}

/// Parses and checks the request body against the standard fields and
/// `definitions`; nothing is written yet.
fn parse_changes(state: &AdminState, definitions: &[FieldDefinition], body: &[u8]) -> Result<Changes, Problem> {
    let document: Value =
        serde_json::from_slice(body).map_err(|error| Problem::invalid("body", format!("invalid JSON: {error}")))?;
    let Value::Object(members) = document else {
        return Err(Problem::invalid("body", "expected a JSON object with a `fields` object"));
    };
    if let Some(unknown) = members.keys().find(|name| name.as_str() != "fields") {
        return Err(Problem::invalid(unknown.clone(), "unknown member; expected only `fields`"));
    }
    let Some(Value::Object(fields)) = members.get("fields") else {
        return Err(Problem::invalid("fields", "expected an object of field names to values"));
    };

    // NOTE: "today" is the UTC date, so a date of birth that is already
    // today east of UTC counts as in the future for a few hours.
    let today = time::OffsetDateTime::now_utc().date();
    let mut changes = Changes { standard: Vec::new(), custom: Vec::new() };
    for (name, value) in fields {
        let path = format!("fields.{name}");
        let Some(field) = StandardField::parse(name) else {
            let checked = match custom::validate(definitions, name, value, state.phone_country) {
                Ok(checked) => checked,
                Err(custom::ValueError::UnknownField) => {
                    let known: Vec<&str> = StandardField::ALL.iter().map(|field| field.name()).collect();
                    let detail = format!(
                        "unknown field; expected one of {} or a custom field listed at /api/v1/fields",
                        known.join(", ")
                    );
                    return Err(Problem::invalid(path, detail));
                }
                Err(reason) => return Err(Problem::invalid(path, reason.to_string())),
            };
            changes.custom.push((name.clone(), checked));
            continue;
        };

        let text = match value {
            Value::Null => "",
            Value::String(text) => text.trim(),
            _ => return Err(Problem::invalid(path, "expected a string, or null to remove the field")),
        };
        let value = if text.is_empty() {
            None
        } else {
            let checked = field.validate(text, state.phone_country, today);
            Some(checked.map_err(|reason| Problem::invalid(path, reason.to_string()))?)
        };
        changes.standard.push(Change { field, value });
    }
    Ok(changes)
}

/// Writes `changes` to `contact`, whose fields are `current`, and records
/// the `admin_edit` activity.
async fn apply(
    state: &AdminState,
    contact: ContactId,
    current: &BTreeMap<String, String>,
    changes: &Changes,
    admin: &AdminName,
) -> Result<(), Problem> {
    let at = now_millis();
    let standard = changes.standard.iter().map(|change| {
        let name = change.field.name();
        let unique = change.field.index().map(|kind| UniqueChange {
            kind,
            old_key: current.get(name).and_then(|old| change.field.index_key_of_stored(old, state.phone_country)),
            new_key: change.value.as_ref().and_then(|value| value.index_key.clone()),
        });
        FieldChange { name: name.to_owned(), stored: change.value.as_ref().map(|value| value.stored.clone()), unique }
    });
    let custom = changes.custom.iter().map(|(_, value)| FieldChange {
        name: value.storage_name.clone(),
        stored: value.text.clone(),
        unique: None,
    });
    let writes: Vec<FieldChange> = standard.chain(custom).collect();

    let standard_names = changes.standard.iter().map(|change| change.field.name());
    let custom_names = changes.custom.iter().map(|(name, _)| name.as_str());
    let names: Vec<&str> = standard_names.chain(custom_names).collect();
    let names = names.join(",");
    let activity = Activity {
        at,
        kind: ActivityKind::AdminEdit,
        url: String::new(),
        referrer: None,
        properties: BTreeMap::from([("by".to_owned(), admin.0.clone()), ("fields".to_owned(), names.clone())]),
    };
    match state.identity.write_fields(contact, &writes, &activity).await {
        Ok(()) => {}
        Err(FieldWriteError::Taken { field, owner }) => {
            return Err(Problem::conflict(
                format!("fields.{field}"),
                format!("another contact ({owner}) already has this {field}"),
            ));
        }
        Err(FieldWriteError::Store(error)) => return Err(error.into()),
    }
    tracing::info!(contact.id = %contact, admin.name = %admin.0, fields = %names, "contact edited through the admin API");

    state.segments.evaluate_logged(contact).await;
    Ok(())
}
