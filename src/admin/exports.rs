//! Exports: `POST /api/v1/exports` starts an export job of contacts or
//! their activities, `GET /api/v1/exports/{id}` shows its progress and
//! `GET /api/v1/exports/{id}/file` downloads the file once it finished.
//!
//! The request is checked whole before the job starts, so a mistake gets
//! a 400 naming the member. The rows are written in the background (see
//! [`crate::transfer::export_job`]); the history lists the job with the
//! imports.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;

use super::contacts::parse_id;
use super::definitions::parse_object;
use super::{AdminName, AdminState, Problem};
use crate::store::{
    now_millis, ActivityKind, ContactFilter, Millis, TransferCounts, TransferId, TransferJob, TransferKind,
    TransferState,
};
use crate::transfer::export::{ActivityColumn, ContactColumn};
use crate::transfer::export_job::{self, ActivityFilter, ExportContent, ExportRequest};
use crate::transfer::{Delimiter, ExportOptions, FileFormat};

const MEMBERS: [&str; 9] = ["what", "format", "delimiter", "bom", "columns", "filter", "types", "from", "to"];
const FILTER_MEMBERS: [&str; 4] = ["has_email", "has_cellphone", "push", "segment"];

/// The body of `POST /api/v1/exports`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ExportBody {
    /// `contacts` (default) or `activities`.
    #[schema(example = "contacts")]
    what: Option<String>,
    /// `csv` (default) or `ndjson`.
    #[schema(example = "csv")]
    format: Option<String>,
    /// CSV delimiter: `comma` (default), `semicolon`, `tab` or `pipe`.
    delimiter: Option<String>,
    /// Whether a CSV file starts with a UTF-8 byte order mark, which Excel
    /// needs to read it as UTF-8. Default `false`.
    bom: Option<bool>,
    /// Column names in file order. The contacts default is `id`, every
    /// standard field, `customer_id`, the status columns, every custom
    /// field, `created_at` and `updated_at`. The activities default is
    /// `contact_id`, `at`, `type`, `url`, `referrer` and `properties`.
    columns: Option<Vec<String>>,
    /// Only contacts that meet every condition given.
    filter: Option<ExportFilterBody>,
    /// Activities only: the activity types to keep. Default: every type.
    types: Option<Vec<ActivityKind>>,
    /// Activities only: the earliest activity time, RFC 3339.
    #[schema(format = DateTime)]
    from: Option<String>,
    /// Activities only: the latest activity time, RFC 3339.
    #[schema(format = DateTime)]
    to: Option<String>,
}

/// The contact filter of an export.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ExportFilterBody {
    /// `true` keeps only contacts with an email.
    has_email: Option<bool>,
    /// `true` keeps only contacts with a cellphone.
    has_cellphone: Option<bool>,
    /// `true` keeps only contacts with a push subscription.
    push: Option<bool>,
    /// A segment id: keeps only the segment's members.
    #[schema(format = Uuid)]
    segment: Option<String>,
}

/// A checked export request.
struct Parsed {
    content: ExportContent,
    filter: ContactFilter,
    options: ExportOptions,
    /// The options as the history shows them.
    view: Value,
}

#[utoipa::path(
    post,
    path = "/exports",
    tag = "transfers",
    operation_id = "start_export",
    summary = "Export contacts or activities to a file",
    description = "Starts an export job that writes contacts, or the activities of contacts, as CSV or NDJSON. \
        Poll the job's `Location` until its state is `finished`, then download `/api/v1/exports/{id}/file`. A \
        contacts export imports again through `POST /api/v1/imports` without a mapping. Contacts come one \
        contacts-list shard after another, newest first within each shard.",
    request_body = ExportBody,
    responses(
        (status = 202, description = "The job started.", body = TransferJob,
            headers(("Location" = String, description = "The job's path."))),
        (status = 400, description = "A member is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment has the `filter.segment` id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `POST /api/v1/exports`
pub async fn start(
    State(state): State<AdminState>,
    Extension(admin): Extension<AdminName>,
    body: Bytes,
) -> Result<Response, Problem> {
    let parsed = parse(&state, &body).await?;

    let id = TransferId::new();
    let what = match parsed.content {
        ExportContent::Contacts => "contacts",
        ExportContent::Activities(_) => "activities",
    };
    let extension = parsed.options.format.as_str();
    let now = now_millis();
    let job = TransferJob {
        id,
        kind: TransferKind::Export,
        state: TransferState::Running,
        created_by: admin.0.clone(),
        created_at: now,
        finished_at: None,
        updated_at: now,
        file_name: Some(format!("{what}-{id}.{extension}")),
        format: parsed.options.format.to_string(),
        options: parsed.view,
        counts: TransferCounts::default(),
        columns: serde_json::json!({ "columns": [] }),
        error: None,
        link: Some(format!("/api/v1/exports/{id}/file")),
        expired_at: None,
    };
    state.store.save_transfer(&job).await?;
    tracing::info!(export.id = %id, admin.name = %admin.0, what, "export job started");

    let request =
        ExportRequest { job: job.clone(), content: parsed.content, filter: parsed.filter, options: parsed.options };
    export_job::spawn(state.store.clone(), state.files.clone(), request);

    let location = format!("/api/v1/exports/{id}");
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(job)).into_response())
}

/// Checks the request body and returns what the job writes.
async fn parse(state: &AdminState, body: &[u8]) -> Result<Parsed, Problem> {
    let members = parse_object(body, &MEMBERS)?;

    let activities = match optional_string(&members, "what")? {
        None | Some("contacts") => false,
        Some("activities") => true,
        Some(_) => return Err(Problem::invalid("what", "unknown export; expected contacts or activities")),
    };
    let format = match optional_string(&members, "format")? {
        Some(text) => text.parse::<FileFormat>().map_err(|reason| Problem::invalid("format", reason))?,
        None => FileFormat::Csv,
    };
    let delimiter = match optional_string(&members, "delimiter")? {
        Some(text) => text.parse::<Delimiter>().map_err(|reason| Problem::invalid("delimiter", reason))?,
        None => Delimiter::Comma,
    };
    let bom = match members.get("bom") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(bom)) => *bom,
        Some(_) => return Err(Problem::invalid("bom", "expected true or false")),
    };
    let columns = optional_strings(&members, "columns")?;
    let (filter, filter_view) = parse_filter(state, members.get("filter")).await?;

    let options = ExportOptions { format, delimiter, bom, columns: columns.clone() };
    let content = if activities {
        ActivityColumn::select(columns.as_deref()).map_err(|error| Problem::invalid("columns", error.to_string()))?;
        ExportContent::Activities(parse_activity_filter(&members)?)
    } else {
        for member in ["types", "from", "to"] {
            if members.get(member).is_some_and(|value| !value.is_null()) {
                return Err(Problem::invalid(member, "applies to activities exports only; set `what` to activities"));
            }
        }
        let definitions = state.store.field_definitions().await?;
        ContactColumn::select(columns.as_deref(), &definitions)
            .map_err(|error| Problem::invalid("columns", error.to_string()))?;
        ExportContent::Contacts
    };

    let mut view = json!({
        "what": if activities { "activities" } else { "contacts" },
        "delimiter": delimiter,
        "bom": bom,
        "columns": columns,
        "filter": filter_view,
    });
    if let ExportContent::Activities(activity_filter) = &content {
        view["types"] = json!(activity_filter.kinds.iter().map(|kind| kind.as_str()).collect::<Vec<_>>());
        view["from"] = json!(optional_string(&members, "from")?);
        view["to"] = json!(optional_string(&members, "to")?);
    }
    Ok(Parsed { content, filter, options, view })
}

/// Checks the `filter` member and returns the filter and its history view.
async fn parse_filter(state: &AdminState, value: Option<&Value>) -> Result<(ContactFilter, Value), Problem> {
    let members = match value {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(members)) => members.clone(),
        Some(_) => return Err(Problem::invalid("filter", "expected a JSON object")),
    };
    if let Some(unknown) = members.keys().find(|name| !FILTER_MEMBERS.contains(&name.as_str())) {
        let reason = format!("unknown member; expected {}", FILTER_MEMBERS.join(", "));
        return Err(Problem::invalid(format!("filter.{unknown}"), reason));
    }

    let flag = |name: &str| match members.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err(Problem::invalid(format!("filter.{name}"), "expected true or false")),
    };
    let segment = match members.get("segment") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(super::list::known_segment(state, "filter.segment", text).await?),
        Some(_) => return Err(Problem::invalid("filter.segment", "expected a segment id")),
    };
    let filter = ContactFilter {
        has_email: flag("has_email")?,
        has_cellphone: flag("has_cellphone")?,
        has_push: flag("push")?,
        segment,
        shard: None,
    };

    let view = json!({
        "has_email": filter.has_email,
        "has_cellphone": filter.has_cellphone,
        "push": filter.has_push,
        "segment": segment.map(|id| id.to_string()),
    });
    Ok((filter, view))
}

/// Checks the `types`, `from` and `to` members of an activities export.
fn parse_activity_filter(members: &Map<String, Value>) -> Result<ActivityFilter, Problem> {
    let mut kinds = BTreeSet::new();
    for name in optional_strings(members, "types")?.unwrap_or_default() {
        kinds.insert(name.parse::<ActivityKind>().map_err(|reason| Problem::invalid("types", reason))?);
    }
    let from = optional_time(members, "from")?;
    let to = optional_time(members, "to")?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(Problem::invalid("from", "`from` is later than `to`"));
        }
    }
    Ok(ActivityFilter { kinds, from, to })
}

fn optional_string<'a>(members: &'a Map<String, Value>, member: &str) -> Result<Option<&'a str>, Problem> {
    match members.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Problem::invalid(member, "expected a string")),
    }
}

fn optional_strings(members: &Map<String, Value>, member: &str) -> Result<Option<Vec<String>>, Problem> {
    let items = match members.get(member) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Problem::invalid(member, "expected an array of strings")),
    };
    let strings = items.iter().map(|item| item.as_str().map(str::to_owned)).collect::<Option<Vec<String>>>();
    strings.map(Some).ok_or_else(|| Problem::invalid(member, "expected an array of strings"))
}

/// Reads an RFC 3339 time as milliseconds since the Unix epoch.
fn optional_time(members: &Map<String, Value>, member: &str) -> Result<Option<Millis>, Problem> {
    let Some(text) = optional_string(members, member)? else {
        return Ok(None);
    };
    let time = time::OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| Problem::invalid(member, "expected an RFC 3339 time such as 2026-01-31T18:00:00Z"))?;
    let millis = time.unix_timestamp_nanos() / 1_000_000;
    Ok(Some(millis as Millis))
}

#[utoipa::path(
    get,
    path = "/exports/{id}",
    tag = "transfers",
    operation_id = "get_export",
    summary = "Show an export job",
    description = "Returns the job's state and options. `counts.read` is the number of rows written so far.",
    params(("id" = String, Path, format = Uuid, description = "The job's id.")),
    responses(
        (status = 200, description = "The job.", body = TransferJob),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No export has this id, or it left the history.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/exports/{id}`
pub async fn get(State(state): State<AdminState>, Path(id): Path<String>) -> Result<Json<TransferJob>, Problem> {
    Ok(Json(export_job(&state, &id).await?))
}

#[utoipa::path(
    get,
    path = "/exports/{id}/file",
    tag = "transfers",
    operation_id = "get_export_file",
    summary = "Download an export's file",
    description = "Returns the file of a finished export as an attachment. The file is kept for \
        `admin.transfer_retention_days` after the job ends, 7 days by default.",
    params(("id" = String, Path, format = Uuid, description = "The job's id.")),
    responses(
        (status = 200, description = "The file.", body = String, content_type = "text/csv"),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No export has this id, or its file is gone.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is still running, or it failed. Poll the job until it is `finished`.", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The file expired: the job ended longer than the retention (`admin.transfer_retention_days`) ago, so the file was deleted and `expired_at` is set. Start the export again.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/exports/{id}/file`
pub async fn file(State(state): State<AdminState>, Path(id): Path<String>) -> Result<Response, Problem> {
    let job = export_job(&state, &id).await?;
    match job.state {
        TransferState::Finished => {}
        TransferState::Running => {
            let detail = format!("export {} is still running; download the file once its state is finished", job.id);
            return Err(Problem::conflict("id", detail));
        }
        TransferState::Failed => {
            return Err(Problem::conflict("id", format!("export {} failed and has no file", job.id)))
        }
    }
    if job.expired_at.is_some() {
        let detail = format!("the file of export {} expired and was deleted; start the export again", job.id);
        return Err(Problem::gone("id", detail));
    }

    let file = match tokio::fs::File::open(state.files.export(job.id)).await {
        Ok(file) => file,
        Err(error) => {
            tracing::info!(export.id = %job.id, %error, "export file not available");
            return Err(Problem::not_found_field("id", format!("the file of export {} is gone", job.id)));
        }
    };

    let content_type = match job.format.parse::<FileFormat>() {
        Ok(FileFormat::Ndjson) => "application/x-ndjson",
        _ => "text/csv; charset=utf-8",
    };
    let name = job.file_name.clone().unwrap_or_else(|| format!("export-{}", job.id));
    let disposition = format!("attachment; filename=\"{name}\"");
    let body = Body::from_stream(super::imports::file_chunks(file));
    Ok(([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

/// Returns the export job with id `text`.
async fn export_job(state: &AdminState, text: &str) -> Result<TransferJob, Problem> {
    let id: TransferId = parse_id("id", text)?;
    match state.store.transfer(id).await? {
        Some(job) if job.kind == TransferKind::Export => Ok(job),
        _ => Err(Problem::not_found_field("id", format!("no export {id}"))),
    }
}
