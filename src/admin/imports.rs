//! Imports and the transfer history: `POST /api/v1/imports` uploads a
//! file and starts an import job, `GET /api/v1/imports/{id}` shows its
//! progress, `GET /api/v1/imports/{id}/rejects` downloads its reject
//! report, and `GET /api/v1/transfers` lists imports and exports, newest
//! first.
//!
//! The upload is streamed to a file in the transfer directory, never held
//! in memory. Its header and column mapping are checked before the job
//! starts, so a file that cannot be imported gets a 400 at once. The rows
//! are applied in the background (see [`crate::transfer::jobs`]).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use utoipa::{IntoParams, ToSchema};

use super::contacts::parse_id;
use super::{AdminName, AdminState, Problem};
use crate::store::{now_millis, TransferCounts, TransferId, TransferJob, TransferKind, TransferState};
use crate::transfer::import::{ImportMode, ImportSettings};
use crate::transfer::jobs::{self, ImportRequest};
use crate::transfer::{Delimiter, EncodingChoice, FileFormat, ImportOptions, KeyField, MappingError, OpenError};

/// Largest file an import accepts, in bytes.
pub const MAX_IMPORT_BYTES: u64 = 4 << 30;

/// Page size of the history when `limit` is not given, and its maximum.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;

/// Query parameters of an import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `csv` or `ndjson`. Default: from the Content-Type
    /// (`application/x-ndjson` means NDJSON), else CSV.
    #[param(value_type = Option<String>, example = "csv")]
    format: Option<String>,
    /// The field that finds existing contacts: `email` (default),
    /// `cellphone` or `customer_id`.
    #[param(value_type = Option<String>, example = "email")]
    key: Option<String>,
    /// `upsert` (default), `create_only` or `update_only`.
    #[param(value_type = Option<String>, example = "upsert")]
    mode: Option<String>,
    /// `true` replaces values and statuses that existing contacts already
    /// have; default `false` fills empty fields only.
    #[param(value_type = Option<bool>)]
    overwrite: Option<String>,
    /// A static segment that every imported contact joins.
    #[param(value_type = Option<String>, format = Uuid)]
    segment: Option<String>,
    /// `auto` (default), `utf-8`, `windows-1252` or `iso-8859-1`.
    #[param(value_type = Option<String>)]
    encoding: Option<String>,
    /// CSV delimiter: `comma`, `semicolon`, `tab` or `pipe`; detected from
    /// the header when absent.
    #[param(value_type = Option<String>)]
    delimiter: Option<String>,
    /// A date format besides ISO 8601, in the `time` crate's description
    /// syntax, such as `[day]/[month]/[year]`.
    #[param(value_type = Option<String>)]
    date_format: Option<String>,
    /// A JSON object of column names to targets (a field name, a status
    /// column or `ignore`), overriding the mapping by header name.
    #[param(value_type = Option<String>, example = "{\"E-mail address\":\"email\"}")]
    mapping: Option<String>,
    /// The file's name, kept in the history.
    #[param(value_type = Option<String>)]
    file_name: Option<String>,
}

const IMPORT_PARAMS: [&str; 10] =
    ["format", "key", "mode", "overwrite", "segment", "encoding", "delimiter", "date_format", "mapping", "file_name"];

/// The options an import runs with, as its history entry shows them.
#[derive(Debug, Serialize)]
pub struct ImportOptionsView {
    pub key: KeyField,
    pub mode: ImportMode,
    pub overwrite: bool,
    pub segment: Option<String>,
    pub encoding: EncodingChoice,
    pub delimiter: Option<Delimiter>,
    pub date_format: Option<String>,
    pub mapping: BTreeMap<String, String>,
}

/// Query parameters of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    #[param(value_type = Option<String>, format = Uuid)]
    before: Option<String>,
}

/// A page of the history, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<TransferJob>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next: Option<TransferId>,
}

#[utoipa::path(
    post,
    path = "/imports",
    tag = "transfers",
    operation_id = "start_import",
    summary = "Import contacts from a file",
    description = "Uploads a CSV or NDJSON file as the request body and starts an import job. The header and \
        mapping are checked first; the rows are applied in the background. Poll the job's `Location` for \
        progress.",
    params(ImportParams),
    request_body(content = String, description = "The file, as it is.", content_type = "text/csv"),
    responses(
        (status = 202, description = "The job started.", body = TransferJob,
            headers(("Location" = String, description = "The job's path."))),
        (status = 400, description = "A parameter, the header or the mapping is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No segment has the `segment` id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `segment` is not static.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than 4 GiB.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `POST /api/v1/imports`
pub async fn start(
    State(state): State<AdminState>,
    Extension(admin): Extension<AdminName>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let params: ImportParams = super::query::parse(raw.as_deref(), &IMPORT_PARAMS)?;
    let id = TransferId::new();
    let (options, settings, view) = parse_options(&state, &params, &headers, id, &admin).await?;

    let upload = state.files.upload(id);
    if let Err(problem) = receive(&state, body, &upload).await {
        remove(&upload).await;
        return Err(problem);
    }
    if let Err(problem) = check_header(&state, &upload, &options).await {
        remove(&upload).await;
        return Err(problem);
    }

    let now = now_millis();
    let job = TransferJob {
        id,
        kind: TransferKind::Import,
        state: TransferState::Running,
        created_by: admin.0.clone(),
        created_at: now,
        finished_at: None,
        updated_at: now,
        file_name: params.file_name.clone(),
        format: options.format.to_string(),
        options: serde_json::to_value(&view).unwrap_or_default(),
        counts: TransferCounts::default(),
        columns: serde_json::json!({ "columns": [] }),
        error: None,
        link: Some(format!("/api/v1/imports/{id}/rejects")),
        expired_at: None,
    };
    state.store.save_transfer(&job).await?;
    tracing::info!(import.id = %id, admin.name = %admin.0, "import job started");
    jobs::spawn(state.importer.clone(), state.files.clone(), ImportRequest { job: job.clone(), options, settings });

    let location = format!("/api/v1/imports/{id}");
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(job)).into_response())
}

/// Checks the parameters and returns the reader's options, the writer's
/// settings and the options as the history shows them.
async fn parse_options(
    state: &AdminState,
    params: &ImportParams,
    headers: &HeaderMap,
    id: TransferId,
    admin: &AdminName,
) -> Result<(ImportOptions, ImportSettings, ImportOptionsView), Problem> {
    let format = match params.format.as_deref() {
        Some(text) => text.parse::<FileFormat>().map_err(|reason| Problem::invalid("format", reason))?,
        None => format_of(headers),
    };
    let key = parse_choice::<KeyField>("key", params.key.as_deref())?.unwrap_or(KeyField::Email);
    let mode = match params.mode.as_deref() {
        None => ImportMode::Upsert,
        Some("upsert") => ImportMode::Upsert,
        Some("create_only") => ImportMode::CreateOnly,
        Some("update_only") => ImportMode::UpdateOnly,
        Some(_) => {
            return Err(Problem::invalid("mode", "unknown mode; expected one of upsert, create_only, update_only"))
        }
    };
    let overwrite = match params.overwrite.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Problem::invalid("overwrite", "expected true or false")),
    };
    let encoding = parse_choice::<EncodingChoice>("encoding", params.encoding.as_deref())?.unwrap_or_default();
    let delimiter = parse_choice::<Delimiter>("delimiter", params.delimiter.as_deref())?;
    let mapping: BTreeMap<String, String> = match params.mapping.as_deref() {
        None => BTreeMap::new(),
        Some(text) => serde_json::from_str(text).map_err(|error| {
            Problem::invalid("mapping", format!("expected a JSON object of column names to target names: {error}"))
        })?,
    };
    let segment = match params.segment.as_deref() {
        None => None,
        Some(text) => Some(static_segment(state, text).await?),
    };

    let today = time::OffsetDateTime::now_utc().date();
    let mut options = ImportOptions::new(format, key, state.phone_country, today);
    options.encoding = encoding;
    options.delimiter = delimiter;
    options.mapping = mapping.clone();
    options.date_format = params.date_format.clone();

    let view = ImportOptionsView {
        key,
        mode,
        overwrite,
        segment: segment.as_ref().map(|segment| segment.id.to_string()),
        encoding,
        delimiter,
        date_format: params.date_format.clone(),
        mapping,
    };
    let settings = ImportSettings {
        key,
        mode,
        overwrite,
        segment,
        by: admin.0.clone(),
        job: id,
        phone_country: state.phone_country,
    };
    Ok((options, settings, view))
}

fn parse_choice<T: std::str::FromStr<Err = String>>(field: &str, text: Option<&str>) -> Result<Option<T>, Problem> {
    text.map(|text| text.parse::<T>().map_err(|reason| Problem::invalid(field, reason))).transpose()
}

/// Returns NDJSON for an NDJSON or JSON Lines Content-Type, CSV otherwise.
fn format_of(headers: &HeaderMap) -> FileFormat {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/x-jsonlines" => {
            FileFormat::Ndjson
        }
        _ => FileFormat::Csv,
    }
}

/// Returns the segment with id `text` when it is static.
async fn static_segment(state: &AdminState, text: &str) -> Result<crate::segments::Segment, Problem> {
    let id = parse_id("segment", text)?;
    let segment = state
        .store
        .segment(id)
        .await?
        .ok_or_else(|| Problem::not_found_field("segment", format!("no segment {id}")))?;
    if !segment.is_static() {
        return Err(Problem::conflict(
            "segment",
            format!("segment {id} is {}; imports add to static segments only", segment.kind),
        ));
    }
    Ok(segment)
}

/// Streams the request body to `path`.
async fn receive(state: &AdminState, body: Body, path: &std::path::Path) -> Result<(), Problem> {
    let failed = |error: std::io::Error| {
        tracing::warn!(%error, dir = %state.files.dir().display(), "storing an upload failed");
        Problem::unavailable("storing the uploaded file failed; check the transfer directory and disk space")
    };
    tokio::fs::create_dir_all(state.files.dir()).await.map_err(failed)?;
    let mut file = tokio::fs::File::create(path).await.map_err(failed)?;

    let mut received: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| Problem::invalid("body", format!("reading the upload failed: {error}")))?;
        received += chunk.len() as u64;
        if received > MAX_IMPORT_BYTES {
            return Err(Problem::too_large(format!("the file is larger than {MAX_IMPORT_BYTES} bytes")));
        }
        file.write_all(&chunk).await.map_err(failed)?;
    }
    file.flush().await.map_err(failed)?;
    Ok(())
}

/// Opens the uploaded file as the job will, which checks its encoding,
/// header and mapping without reading its rows.
async fn check_header(state: &AdminState, path: &std::path::Path, options: &ImportOptions) -> Result<(), Problem> {
    let definitions = state.store.field_definitions().await?;
    let (path, options) = (path.to_owned(), options.clone());
    let checked = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        Ok::<_, std::io::Error>(
            crate::transfer::read(std::io::BufReader::new(file), &options, &definitions).map(|_| ()),
        )
    })
    .await;

    let opened = match checked {
        Ok(Ok(opened)) => opened,
        Ok(Err(error)) => {
            tracing::warn!(%error, "reading an upload back failed");
            return Err(Problem::unavailable("reading the uploaded file failed; retry"));
        }
        Err(error) => {
            tracing::warn!(%error, "checking an upload's header failed");
            return Err(Problem::unavailable("checking the uploaded file failed; retry"));
        }
    };
    match opened {
        Ok(()) => Ok(()),
        Err(OpenError::Mapping(error)) => Err(Problem::invalid(mapping_field(&error), error.to_string())),
        Err(OpenError::InvalidDateFormat { reason }) => {
            Err(Problem::invalid("date_format", format!("invalid date format: {reason}")))
        }
        Err(error) => Err(Problem::invalid("body", error.to_string())),
    }
}

/// Returns the parameter a mapping error belongs to: the explicit
/// `mapping` when it names the fault, the file's header otherwise.
fn mapping_field(error: &MappingError) -> &'static str {
    match error {
        MappingError::MissingColumn { .. }
        | MappingError::AmbiguousColumn { .. }
        | MappingError::RepeatedColumn { .. }
        | MappingError::UnknownTarget { .. } => "mapping",
        MappingError::DuplicateTarget { .. } | MappingError::MissingKeyColumn { .. } => "body",
    }
}

async fn remove(path: &std::path::Path) {
    if let Err(error) = tokio::fs::remove_file(path).await {
        tracing::warn!(%error, "failed to delete a rejected upload");
    }
}

#[utoipa::path(
    get,
    path = "/imports/{id}",
    tag = "transfers",
    operation_id = "get_import",
    summary = "Show an import job",
    description = "Returns the job's state, counts and column mapping. The counts grow while it runs.",
    params(("id" = String, Path, format = Uuid, description = "The job's id.")),
    responses(
        (status = 200, description = "The job.", body = TransferJob),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No import has this id, or it left the history.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/imports/{id}`
pub async fn get(State(state): State<AdminState>, Path(id): Path<String>) -> Result<Json<TransferJob>, Problem> {
    Ok(Json(import_job(&state, &id).await?))
}

#[utoipa::path(
    get,
    path = "/imports/{id}/rejects",
    tag = "transfers",
    operation_id = "get_import_rejects",
    summary = "Download an import's reject report",
    description = "Returns a CSV file with one line per rejected row: `row` (as a spreadsheet numbers it, the \
        header being row 1), `column` and `reason`. It grows while the job runs, and it is kept for \
        `admin.transfer_retention_days` after the job ends, 7 days by default.",
    params(("id" = String, Path, format = Uuid, description = "The job's id.")),
    responses(
        (status = 200, description = "The report.", body = String, content_type = "text/csv"),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No import has this id, or its report is gone.", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The report expired: the job ended longer than the retention ago, so the report was deleted and `expired_at` is set.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/imports/{id}/rejects`
pub async fn rejects(State(state): State<AdminState>, Path(id): Path<String>) -> Result<Response, Problem> {
    let job = import_job(&state, &id).await?;
    if job.expired_at.is_some() {
        let detail = format!("the reject report of import {} expired and was deleted", job.id);
        return Err(Problem::gone("id", detail));
    }
    let path = state.files.rejects(job.id);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) => {
            tracing::info!(import.id = %job.id, %error, "reject report not available");
            return Err(Problem::not_found_field("id", format!("the reject report of import {} is gone", job.id)));
        }
    };

    let body = Body::from_stream(file_chunks(file));
    let disposition = format!("attachment; filename=\"import-{}-rejects.csv\"", job.id);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/transfers",
    tag = "transfers",
    operation_id = "list_transfers",
    summary = "List imports and exports",
    description = "Lists the import and export jobs, newest first: who started each, when, its file, options, \
        counts and state.",
    params(HistoryParams),
    responses(
        (status = 200, description = "A page of jobs.", body = HistoryPage),
        (status = 400, description = "A parameter is invalid, unknown or repeated, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `GET /api/v1/transfers`
pub async fn history(State(state): State<AdminState>, RawQuery(raw): RawQuery) -> Result<Json<HistoryPage>, Problem> {
    let params: HistoryParams = super::query::parse(raw.as_deref(), &["limit", "before"])?;
    let limit = super::query::page_limit(params.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE)?;
    let before = params.before.as_deref().map(|text| parse_id::<TransferId>("before", text)).transpose()?;

    let mut items = state.store.transfers(before, limit + 1).await?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|job| job.id)
    } else {
        None
    };
    Ok(Json(HistoryPage { items, next }))
}

/// Returns the import job with id `text`.
async fn import_job(state: &AdminState, text: &str) -> Result<TransferJob, Problem> {
    let id: TransferId = parse_id("id", text)?;
    match state.store.transfer(id).await? {
        Some(job) if job.kind == TransferKind::Import => Ok(job),
        _ => Err(Problem::not_found_field("id", format!("no import {id}"))),
    }
}

/// Reads `file` as a stream of chunks.
pub(super) fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok(bytes::Bytes::from(buffer)), file))
            }
            Err(error) => Some((Err(error), file)),
        }
    })
}
