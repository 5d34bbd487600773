//! `footprint import FILE`: uploads a file to a running admin API, waits
//! for the import job and prints its outcome.
//!
//! On a terminal it shows a progress bar for the upload and a running
//! count of rows while the job applies them. Otherwise (a pipe, a log) it
//! prints a plain progress line every few seconds. Exit code 0: the job
//! finished (rejected rows do not change that); 1: the upload was rejected
//! or the job failed.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tokio::io::AsyncReadExt as _;

use super::admin_client::{json_or_null, problem_text, read_body, AdminClient};

/// Options of `footprint import`.
#[derive(Clone, Debug, clap::Args)]
pub struct ImportCommand {
    /// The CSV or NDJSON file.
    pub file: PathBuf,
    /// Base URL of the admin API (plain HTTP).
    #[arg(long, env = "FOOTPRINT_ADMIN_URL", default_value = "http://127.0.0.1:8081")]
    pub admin_url: String,
    /// An admin token.
    #[arg(long, env = "FOOTPRINT_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// `csv` or `ndjson`; default: NDJSON for a `.ndjson` or `.jsonl` file, else CSV.
    #[arg(long)]
    pub format: Option<String>,
    /// The column that finds existing contacts: `email`, `cellphone` or `customer_id`.
    #[arg(long)]
    pub key: Option<String>,
    /// `upsert`, `create_only` or `update_only`.
    #[arg(long)]
    pub mode: Option<String>,
    /// Replace values and statuses that existing contacts already have.
    #[arg(long)]
    pub overwrite: bool,
    /// Id of a static segment that every imported contact joins.
    #[arg(long)]
    pub segment: Option<String>,
    /// `auto`, `utf-8`, `windows-1252` or `iso-8859-1`.
    #[arg(long)]
    pub encoding: Option<String>,
    /// `comma`, `semicolon`, `tab` or `pipe`; detected when absent.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// A date format besides ISO 8601, such as `[day]/[month]/[year]`.
    #[arg(long)]
    pub date_format: Option<String>,
    /// JSON object of column names to targets, such as `{"E-mail":"email"}`.
    #[arg(long)]
    pub mapping: Option<String>,
    /// Write the reject report (CSV) to this file when rows were rejected.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
}

/// Runs the command and returns the process exit code.
pub async fn run(command: ImportCommand) -> anyhow::Result<i32> {
    let client = AdminClient::new(&command.admin_url, &command.token)?;
    let terminal = std::io::stderr().is_terminal();

    let (status, reply) = upload(&client, &command, terminal).await?;
    if status != StatusCode::ACCEPTED {
        eprintln!("import rejected ({status}): {}", problem_text(&reply));
        return Ok(1);
    }
    let id = reply["id"].as_str().context("the response has no job id")?.to_owned();

    let job =
        client.wait_for_job(&format!("/api/v1/imports/{id}"), terminal, counts_text, |line| println!("{line}")).await?;
    print_summary(&job);
    let rejected = job["counts"]["rejected"].as_u64().unwrap_or(0) > 0;
    match &command.rejects {
        Some(path) if rejected => {
            let (status, body) = client.get(&format!("/api/v1/imports/{id}/rejects")).await?;
            if status != StatusCode::OK {
                bail!("downloading the reject report failed with {status}");
            }
            std::fs::write(path, &body).with_context(|| format!("cannot write {}", path.display()))?;
            println!("reject report: {}", path.display());
        }
        None if rejected => {
            println!("the reject report is at /api/v1/imports/{id}/rejects; --rejects FILE downloads it");
        }
        _ => {}
    }
    Ok(if job["state"] == "finished" { 0 } else { 1 })
}

/// Streams the file to `POST /api/v1/imports`; returns the status and JSON.
async fn upload(client: &AdminClient, command: &ImportCommand, terminal: bool) -> anyhow::Result<(StatusCode, Value)> {
    let file = tokio::fs::File::open(&command.file)
        .await
        .with_context(|| format!("cannot open {}", command.file.display()))?;
    let metadata = file.metadata().await.with_context(|| format!("cannot read {}", command.file.display()))?;
    if !metadata.is_file() {
        bail!("{} is not a file; give the CSV or NDJSON file to import", command.file.display());
    }
    let size = metadata.len();
    let bar = if terminal { ProgressBar::new(size) } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("uploading {bar:40} {bytes}/{total_bytes} {bytes_per_sec}")?);

    let counted = bar.clone();
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; 256 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok(Bytes::from(buffer)), file))
            }
            Err(error) => Some((Err(error), file)),
        }
    })
    .map(move |chunk: std::io::Result<Bytes>| {
        if let Ok(bytes) = &chunk {
            counted.inc(bytes.len() as u64);
        }
        chunk.map(Frame::data)
    });

    let content_type = match format_of(command) {
        "ndjson" => "application/x-ndjson",
        _ => "text/csv",
    };
    let path = format!("/api/v1/imports?{}", query(command));
    let body = BodyExt::boxed(StreamBody::new(chunks));
    let response = client.send(Method::POST, &path, Some(content_type), body).await?;
    bar.finish_and_clear();

    let (status, body) = read_body(response).await?;
    if !terminal && status == StatusCode::ACCEPTED {
        println!("uploaded {size} bytes");
    }
    Ok((status, json_or_null(&body)))
}

/// Returns `ndjson` or `csv`: the `--format` option, else the file name's
/// extension.
fn format_of(command: &ImportCommand) -> &str {
    if let Some(format) = command.format.as_deref() {
        return format;
    }
    let extension = command.file.extension().and_then(|extension| extension.to_str()).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "ndjson" | "jsonl" => "ndjson",
        _ => "csv",
    }
}

/// Builds the query string of the upload from the options.
fn query(command: &ImportCommand) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("format", format_of(command));
    let optional = [
        ("key", &command.key),
        ("mode", &command.mode),
        ("segment", &command.segment),
        ("encoding", &command.encoding),
        ("delimiter", &command.delimiter),
        ("date_format", &command.date_format),
        ("mapping", &command.mapping),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    if command.overwrite {
        query.append_pair("overwrite", "true");
    }
    if let Some(name) = command.file.file_name().and_then(|name| name.to_str()) {
        query.append_pair("file_name", name);
    }
    query.finish()
}

fn counts_text(job: &Value) -> String {
    let count = |name: &str| job["counts"][name].as_u64().unwrap_or(0);
    let read = count("read");
    let rows = if read == 1 { "row" } else { "rows" };
    format!(
        "read {read} {rows}: created {}, updated {}, unchanged {}, skipped {}, rejected {}, blank {}",
        count("created"),
        count("updated"),
        count("unchanged"),
        count("skipped"),
        count("rejected"),
        count("blank")
    )
}

fn print_summary(job: &Value) {
    let id = job["id"].as_str().unwrap_or("?");
    let state = job["state"].as_str().unwrap_or("?");
    println!("import {id} {state}: {}", counts_text(job));
    if let Some(error) = job["error"].as_str() {
        println!("error: {error}");
    }
    let unknown: Vec<&str> = job["columns"]["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|column| column["mapped_by"] == "unknown")
        .filter_map(|column| column["name"].as_str())
        .collect();
    if !unknown.is_empty() {
        println!("columns not imported: {}", unknown.join(", "));
    }
}
