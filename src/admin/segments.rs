//! Segment definitions: `GET` and `POST /api/v1/segments`, and `GET`,
//! `PATCH` and `DELETE /api/v1/segments/{id}`.
//!
//! A segment's kind never changes, so a request with another `kind` is a
//! 409 and the client creates a new segment instead. Turning a static
//! segment dynamic would throw away members added by hand at the next
//! evaluation. Turning a dynamic one static would freeze members that no
//! one chose.
//! Deleting a segment removes its memberships without recording
//! `segment_left` activities.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

use super::definitions::{parse_object, required_string};
use super::{rfc3339, AdminName, AdminState, Problem};
use crate::segments::build;
use crate::segments::validate::{self, SegmentError};
use crate::segments::{Segment, SegmentKind, MAX_SEGMENTS};
use crate::store::{now_millis, BuildState, SegmentBuild, SegmentId, SegmentWrite};

/// A segment as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentView {
    pub id: SegmentId,
    pub name: String,
    pub description: String,
    pub kind: SegmentKind,
    /// The membership condition; null for static segments.
    pub condition: Option<Value>,
    /// Number of members.
    pub size: u64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The name of the admin token that created the segment.
    pub created_by: String,
    /// The latest evaluation of every contact after the condition was set;
    /// null for static segments.
    pub build: Option<BuildView>,
}

/// The progress of a segment build.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BuildView {
    /// `running` while contacts are being evaluated, then `finished`.
    pub state: BuildState,
    /// Contacts evaluated so far.
    pub evaluated: u64,
    /// Evaluated contacts that matched the condition.
    pub members: u64,
    #[schema(format = DateTime)]
    pub started_at: String,
    /// Null while running.
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
}

impl BuildView {
    fn new(build: &SegmentBuild) -> BuildView {
        BuildView {
            state: build.state,
            evaluated: build.evaluated,
            members: build.members,
            started_at: rfc3339(build.started_at),
            finished_at: build.finished_at.map(rfc3339),
        }
    }
}

/// Returns the segment's view with its size and build progress.
pub(super) async fn view(state: &AdminState, segment: &Segment) -> Result<SegmentView, Problem> {
    let size = state.store.segment_size(segment.id).await?;
    let build = if segment.is_static() { None } else { state.store.segment_build(segment.id).await? };
    Ok(SegmentView::new(segment, size, build.as_ref()))
}

impl SegmentView {
    pub(super) fn new(segment: &Segment, size: u64, build: Option<&SegmentBuild>) -> SegmentView {
        SegmentView {
            id: segment.id,
            name: segment.name.clone(),
            description: segment.description.clone(),
            kind: segment.kind,
            condition: segment.condition.clone(),
            size,
            created_at: rfc3339(segment.created_at),
            updated_at: rfc3339(segment.updated_at),
            created_by: segment.created_by.clone(),
            build: build.map(BuildView::new),
        }
    }
}

/// Every segment, ordered by name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentList {
    pub items: Vec<SegmentView>,
}

fn invalid(error: SegmentError) -> Problem {
    Problem::invalid(error.member(), error.to_string())
}

fn name_taken(name: &str) -> Problem {
    tracing::info!("segment name already taken");
    Problem::conflict("name", format!("a segment called {name:?} already exists"))
}

/// Returns the segment whose id is the path parameter `id`, or a problem.
pub(super) async fn existing(state: &AdminState, id: &str) -> Result<Segment, Problem> {
    let id: SegmentId = super::contacts::parse_id("id", id)?;
    state.store.segment(id).await?.ok_or_else(|| Problem::not_found_field("id", format!("no segment {id}")))
}

fn optional_string<'a>(members: &'a Map<String, Value>, member: &str) -> Result<Option<&'a str>, Problem> {
    match members.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Problem::invalid(member, "expected a string")),
    }
}

#[utoipa::path(
    get,
    path = "/segments",
    tag = "segments",
    summary = "List segments",
    operation_id = "list_segments",
    description = "Returns every segment with its size, ordered by name.",
    responses(
        (status = 200, description = "The segments.", body = SegmentList),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/segments`
pub async fn list(State(state): State<AdminState>) -> Result<Json<SegmentList>, Problem> {
    let mut items = Vec::new();
    for segment in state.store.segments().await? {
        items.push(view(&state, &segment).await?);
    }
    Ok(Json(SegmentList { items }))
}

#[utoipa::path(
    get,
    path = "/segments/{id}",
    tag = "segments",
    summary = "Read a segment",
    operation_id = "get_segment",
    description = "Returns one segment with its size.",
    params(("id" = String, Path, format = Uuid, description = "The segment's id.")),
    responses(
        (status = 200, description = "The segment.", body = SegmentView),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/segments/{id}`
pub async fn get(State(state): State<AdminState>, Path(id): Path<String>) -> Result<Json<SegmentView>, Problem> {
    let segment = existing(&state, &id).await?;
    Ok(Json(view(&state, &segment).await?))
}

#[utoipa::path(
    post,
    path = "/segments",
    tag = "segments",
    summary = "Create a segment",
    operation_id = "create_segment",
    description = "Stores a new segment. A deployment holds at most 1000. Static segments take no condition; \
        dynamic and dynamic_plus segments need one.",
    request_body = super::request_bodies::SegmentRequest,
    responses(
        (status = 201, description = "The new segment.", body = SegmentView,
            headers(("Location" = String, description = "The segment's path."))),
        (status = 400, description = "A member is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or the deployment already has 1000 segments.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `POST /api/v1/segments`: 201 with the new segment.
pub async fn create(
    State(state): State<AdminState>,
    Extension(admin): Extension<AdminName>,
    body: Bytes,
) -> Result<Response, Problem> {
    let members = parse_object(&body, &["name", "description", "kind", "condition"])?;

    let name = required_string(&members, "name")?;
    validate::name(name).map_err(invalid)?;
    let description = optional_string(&members, "description")?.unwrap_or_default();
    validate::description(description).map_err(invalid)?;
    let kind: SegmentKind =
        required_string(&members, "kind")?.parse().map_err(|reason: String| Problem::invalid("kind", reason))?;
    let definitions = state.store.field_definitions().await?;
    let condition = validate::condition(kind, members.get("condition"), &definitions).map_err(invalid)?;

    let now = now_millis();
    let segment = Segment {
        id: SegmentId::new(),
        name: name.to_owned(),
        description: description.to_owned(),
        kind,
        condition,
        created_at: now,
        updated_at: now,
        created_by: admin.0,
    };
    match state.store.create_segment(&segment).await? {
        SegmentWrite::Written => {}
        SegmentWrite::NameTaken => return Err(name_taken(name)),
        SegmentWrite::Full => {
            tracing::warn!(limit = MAX_SEGMENTS, "segment rejected: the segment limit is reached");
            return Err(Problem::conflict(
                "name",
                format!("the limit of {MAX_SEGMENTS} segments is reached; delete an unused segment first"),
            ));
        }
        SegmentWrite::NotFound => return Err(Problem::not_found(format!("no segment {}", segment.id))),
    }
    tracing::info!(segment.id = %segment.id, segment.kind = %kind, admin = %segment.created_by, "segment created");
    state.segments.invalidate();
    build::start(state.segments.clone(), &segment).await?;

    let location = format!("/api/v1/segments/{}", segment.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view(&state, &segment).await?)).into_response())
}

#[utoipa::path(
    patch,
    path = "/segments/{id}",
    tag = "segments",
    summary = "Change a segment",
    operation_id = "update_segment",
    description = "Renames the segment or changes its description or condition. The kind cannot change. A new \
        condition starts a build, which evaluates every contact in the background; `build` shows its progress.",
    params(("id" = String, Path, format = Uuid, description = "The segment's id.")),
    request_body = super::request_bodies::SegmentChangeRequest,
    responses(
        (status = 200, description = "The changed segment.", body = SegmentView),
        (status = 400, description = "A member is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new name is taken, or the request changes the kind.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `PATCH /api/v1/segments/{id}`
pub async fn update(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<SegmentView>, Problem> {
    let members = parse_object(&body, &["name", "description", "condition", "kind"])?;
    let current = existing(&state, &id).await?;
    let mut next = current.clone();

    if let Some(kind) = members.get("kind") {
        if kind.as_str() != Some(current.kind.as_str()) {
            return Err(Problem::conflict(
                "kind",
                format!(
                    "the kind of a segment cannot change; it is {}. Create a new segment of the other kind instead",
                    current.kind
                ),
            ));
        }
    }
    if members.contains_key("name") {
        let name = required_string(&members, "name")?;
        validate::name(name).map_err(invalid)?;
        next.name = name.to_owned();
    }
    if members.contains_key("description") {
        let description = optional_string(&members, "description")?.unwrap_or_default();
        validate::description(description).map_err(invalid)?;
        next.description = description.to_owned();
    }
    if members.contains_key("condition") {
        let definitions = state.store.field_definitions().await?;
        next.condition = validate::condition(current.kind, members.get("condition"), &definitions).map_err(invalid)?;
    }
    next.updated_at = now_millis();

    match state.store.replace_segment(&next).await? {
        SegmentWrite::Written => {}
        SegmentWrite::NameTaken => return Err(name_taken(&next.name)),
        // Deleted by another request since it was read.
        SegmentWrite::NotFound | SegmentWrite::Full => {
            return Err(Problem::not_found_field("id", format!("no segment {}", next.id)))
        }
    }
    tracing::info!(segment.id = %next.id, renamed = next.name != current.name, "segment changed");
    state.segments.invalidate();
    if next.condition != current.condition {
        build::start(state.segments.clone(), &next).await?;
    }

    Ok(Json(view(&state, &next).await?))
}

#[utoipa::path(
    delete,
    path = "/segments/{id}",
    tag = "segments",
    summary = "Delete a segment",
    operation_id = "delete_segment",
    description = "Deletes the segment and every membership in it. Members record no `segment_left` activity.",
    params(("id" = String, Path, format = Uuid, description = "The segment's id.")),
    responses(
        (status = 204, description = "The segment is deleted."),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `DELETE /api/v1/segments/{id}`
pub async fn delete(State(state): State<AdminState>, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    let segment = existing(&state, &id).await?;
    state.store.delete_segment(segment.id).await?;
    state.segments.invalidate();
    tracing::info!(segment.id = %segment.id, "segment deleted");
    Ok(StatusCode::NO_CONTENT)
}
