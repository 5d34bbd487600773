//! Custom field definitions: `GET` and `POST /api/v1/fields`, and `GET`,
//! `PATCH` and `DELETE /api/v1/fields/{name}`.
//!
//! Contacts keep custom values under the definition's stable id, and that
//! decides what each change does to stored values. The `notes` of a
//! change's response state it:
//!
//! - a rename (`new_name`) moves nothing: values show under the new name
//!   at once;
//! - new options keep values that are no longer options, and profiles
//!   report them in `custom_field_warnings`;
//! - the type never changes, because stored values would stop matching it;
//! - a delete hides the values and rejects writes of the name, but leaves
//!   the values stored. A later definition of the same name gets a new id
//!   and never shows them.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{rfc3339, AdminState, Problem};
use crate::custom::definition::{validate_default, validate_label, validate_name, validate_options};
use crate::custom::{render, DefinitionError};
use crate::store::{now_millis, DefinitionWrite, FieldDefinition, FieldType, MAX_DEFINITIONS};

const RENAME_NOTE: &str =
    "values are stored under the field id, so contacts' existing values now show under the new name";
const OPTIONS_NOTE: &str = "stored values that are no longer options are kept and listed in each contact's \
     custom_field_warnings until they are changed";
const DELETE_NOTE: &str = "contacts' values of this field are hidden and can no longer be written, but stay \
     stored; a new field with the same name starts empty";

/// A definition as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DefinitionView {
    pub id: uuid::Uuid,
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Typed like the field's values; null when there is no default.
    pub default: Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&FieldDefinition> for DefinitionView {
    fn from(definition: &FieldDefinition) -> DefinitionView {
        DefinitionView {
            id: definition.id,
            name: definition.name.clone(),
            label: definition.label.clone(),
            kind: definition.kind,
            options: definition.options.clone(),
            default: definition.default.as_deref().map(|stored| render(definition, stored)).unwrap_or(Value::Null),
            created_at: rfc3339(definition.created_at),
            updated_at: rfc3339(definition.updated_at),
        }
    }
}

/// A changed or deleted definition with what the change did to values.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    #[serde(flatten)]
    pub definition: DefinitionView,
    pub notes: Vec<&'static str>,
}

/// Every definition, ordered by name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DefinitionList {
    pub items: Vec<DefinitionView>,
}

fn invalid(error: DefinitionError) -> Problem {
    Problem::invalid(error.member(), error.to_string())
}

fn not_found(name: &str) -> Problem {
    Problem::not_found(format!("no custom field {name:?}"))
}

fn name_taken(name: &str, member: &str) -> Problem {
    tracing::info!(field.name = %name, "custom field name already taken");
    Problem::conflict(member, format!("a custom field called {name:?} already exists"))
}

/// Parses a JSON object body and rejects members not in `allowed`.
pub(super) fn parse_object(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, Problem> {
    let document: Value =
        serde_json::from_slice(body).map_err(|error| Problem::invalid("body", format!("invalid JSON: {error}")))?;
    let Value::Object(members) = document else {
        return Err(Problem::invalid("body", "expected a JSON object"));
    };
    if let Some(unknown) = members.keys().find(|name| !allowed.contains(&name.as_str())) {
        return Err(Problem::invalid(unknown.clone(), format!("unknown member; expected {}", allowed.join(", "))));
    }
    Ok(members)
}

pub(super) fn required_string<'a>(members: &'a Map<String, Value>, member: &str) -> Result<&'a str, Problem> {
    match members.get(member) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(Problem::invalid(member, "expected a string")),
        None => Err(Problem::invalid(member, "missing")),
    }
}

#[utoipa::path(
    get,
    path = "/fields",
    tag = "fields",
    summary = "List custom field definitions",
    description = "Returns every custom field definition, ordered by name.",
    responses(
        (status = 200, description = "The definitions.", body = DefinitionList),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/fields`: every definition, ordered by name.
pub async fn list(State(state): State<AdminState>) -> Result<Json<DefinitionList>, Problem> {
    let definitions = state.store.field_definitions().await?;
    Ok(Json(DefinitionList { items: definitions.iter().map(DefinitionView::from).collect() }))
}

#[utoipa::path(
    get,
    path = "/fields/{name}",
    tag = "fields",
    summary = "Read a custom field definition",
    description = "Returns one custom field definition.",
    params(("name" = String, Path, description = "The custom field's name.")),
    responses(
        (status = 200, description = "The definition.", body = DefinitionView),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No custom field has this name.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/fields/{name}`
pub async fn get(State(state): State<AdminState>, Path(name): Path<String>) -> Result<Json<DefinitionView>, Problem> {
    let definition = state.store.field_definition(&name).await?.ok_or_else(|| not_found(&name))?;
    Ok(Json(DefinitionView::from(&definition)))
}

#[utoipa::path(
    post,
    path = "/fields",
    tag = "fields",
    summary = "Define a custom field",
    description = "Stores a new custom field definition. A deployment holds at most 500.",
    request_body = super::request_bodies::DefinitionRequest,
    responses(
        (status = 201, description = "The new definition.", body = DefinitionView,
            headers(("Location" = String, description = "The definition's path."))),
        (status = 400, description = "A member is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or the deployment already has 500 definitions.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `POST /api/v1/fields`: 201 with the new definition.
pub async fn create(State(state): State<AdminState>, body: Bytes) -> Result<Response, Problem> {
    let members = parse_object(&body, &["name", "label", "type", "options", "default"])?;

    let name = required_string(&members, "name")?;
    validate_name(name, "name").map_err(invalid)?;
    let label = validate_label(required_string(&members, "label")?).map_err(invalid)?;
    let kind: FieldType =
        required_string(&members, "type")?.parse().map_err(|reason: String| Problem::invalid("type", reason))?;
    let options = validate_options(kind, members.get("options")).map_err(invalid)?;

    let now = now_millis();
    let mut definition = FieldDefinition {
        id: uuid::Uuid::now_v7(),
        name: name.to_owned(),
        label,
        kind,
        options,
        default: None,
        created_at: now,
        updated_at: now,
    };
    if let Some(default) = members.get("default") {
        definition.default = validate_default(&definition, default, state.phone_country).map_err(invalid)?;
    }

    let written = state.store.create_field_definition(&definition).await?;
    state.segments.invalidate();
    match written {
        DefinitionWrite::Written => {}
        DefinitionWrite::NameTaken => return Err(name_taken(name, "name")),
        DefinitionWrite::Full => {
            tracing::warn!(limit = MAX_DEFINITIONS, "custom field rejected: the definition limit is reached");
            return Err(Problem::conflict(
                "name",
                format!("the limit of {MAX_DEFINITIONS} custom fields is reached; delete an unused field first"),
            ));
        }
        DefinitionWrite::NotFound => return Err(not_found(name)),
    }
    tracing::info!(field.name = %definition.name, field.id = %definition.id, field.type = %kind, "custom field created");

    let location = format!("/api/v1/fields/{}", definition.name);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(DefinitionView::from(&definition))).into_response())
}

#[utoipa::path(
    patch,
    path = "/fields/{name}",
    tag = "fields",
    summary = "Change a custom field definition",
    description = "Changes the label, options or default, or renames the field. Stored values follow a rename. The type cannot change.",
    params(("name" = String, Path, description = "The custom field's name.")),
    request_body = super::request_bodies::DefinitionChangeRequest,
    responses(
        (status = 200, description = "The changed definition and what the change did to stored values.", body = ChangeView),
        (status = 400, description = "A member is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No custom field has this name.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new name is taken.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `PATCH /api/v1/fields/{name}`: changes the label, options or default,
/// or renames with `new_name`.
pub async fn update(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<ChangeView>, Problem> {
    let members = parse_object(&body, &["label", "options", "default", "new_name", "type"])?;
    let current = state.store.field_definition(&name).await?.ok_or_else(|| not_found(&name))?;
    let mut next = current.clone();
    let mut notes = Vec::new();

    if let Some(kind) = members.get("type") {
        if kind.as_str() != Some(current.kind.as_str()) {
            return Err(Problem::invalid(
                "type",
                format!(
                    "the type of a field cannot change because stored values would not match it; it is {}. Create a \
                     new field instead",
                    current.kind
                ),
            ));
        }
    }
    if members.contains_key("label") {
        next.label = validate_label(required_string(&members, "label")?).map_err(invalid)?;
    }
    if let Some(options) = members.get("options") {
        next.options = validate_options(current.kind, Some(options)).map_err(invalid)?;
        if next.options != current.options {
            notes.push(OPTIONS_NOTE);
        }
    }
    if members.contains_key("new_name") {
        let new_name = required_string(&members, "new_name")?;
        validate_name(new_name, "new_name").map_err(invalid)?;
        if new_name != current.name {
            next.name = new_name.to_owned();
            notes.push(RENAME_NOTE);
        }
    }

    // A default kept from before must still fit options that changed.
    let default = match members.get("default") {
        Some(default) => default.clone(),
        None => current.default.as_deref().map(|stored| render(&current, stored)).unwrap_or(Value::Null),
    };
    next.default = validate_default(&next, &default, state.phone_country).map_err(|error| {
        if members.contains_key("default") {
            invalid(error)
        } else {
            Problem::invalid(
                "default",
                format!("the current default does not fit the new options ({error}); send a new default or null"),
            )
        }
    })?;
    next.updated_at = now_millis();

    let written = state.store.replace_field_definition(&name, &next).await?;
    state.segments.invalidate();
    match written {
        DefinitionWrite::Written => {}
        DefinitionWrite::NameTaken => return Err(name_taken(&next.name, "new_name")),
        // Deleted or renamed by another request since it was read.
        DefinitionWrite::NotFound | DefinitionWrite::Full => return Err(not_found(&name)),
    }
    tracing::info!(field.id = %next.id, field.name = %next.name, renamed = next.name != name, "custom field changed");

    Ok(Json(ChangeView { definition: DefinitionView::from(&next), notes }))
}

#[utoipa::path(
    delete,
    path = "/fields/{name}",
    tag = "fields",
    summary = "Delete a custom field definition",
    description = "Deletes the definition. Contacts' values of the field are hidden and can no longer be written.",
    params(("name" = String, Path, description = "The custom field's name.")),
    responses(
        (status = 200, description = "The deleted definition and what deleting did to stored values.", body = ChangeView),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No custom field has this name.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `DELETE /api/v1/fields/{name}`: returns the deleted definition.
///
/// NOTE: the deleted field's values are never purged: each contact hash
/// keeps its `f:cf.<id>` entry until the contact is erased, because a
/// purge would have to visit every contact.
pub async fn delete(State(state): State<AdminState>, Path(name): Path<String>) -> Result<Json<ChangeView>, Problem> {
    let definition = state.store.delete_field_definition(&name).await?.ok_or_else(|| not_found(&name))?;
    state.segments.invalidate();
    tracing::info!(field.id = %definition.id, field.name = %definition.name, "custom field deleted");

    Ok(Json(ChangeView { definition: DefinitionView::from(&definition), notes: vec![DELETE_NOTE] }))
}
