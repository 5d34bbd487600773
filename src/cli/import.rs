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
use std::time::Duration;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tokio::io::AsyncReadExt as _;

/// Time between two job status requests.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Time between two plain progress lines when the output is not a terminal.
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

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

type HttpClient = Client<HttpConnector, http_body_util::combinators::BoxBody<Bytes, std::io::Error>>;

/// Runs the command and returns the process exit code.
pub async fn run(command: ImportCommand) -> anyhow::Result<i32> {
    let base = command.admin_url.trim_end_matches('/').to_owned();
    if !base.starts_with("http://") {
        bail!("--admin-url must be an http:// URL; reach a remote admin API through a tunnel");
    }
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let terminal = std::io::stderr().is_terminal();

    let (status, reply) = upload(&client, &base, &command, terminal).await?;
    if status != StatusCode::ACCEPTED {
        eprintln!("import rejected ({status}): {}", problem_text(&reply));
        return Ok(1);
    }
    let id = reply["id"].as_str().context("the response has no job id")?.to_owned();

    let job = wait(&client, &base, &command.token, &id, terminal).await?;
    print_summary(&job);
    if let Some(path) = &command.rejects {
        if job["counts"]["rejected"].as_u64().unwrap_or(0) > 0 {
            let (status, body) = get(&client, &format!("{base}/api/v1/imports/{id}/rejects"), &command.token).await?;
            if status != StatusCode::OK {
                bail!("downloading the reject report failed with {status}");
            }
            std::fs::write(path, &body).with_context(|| format!("cannot write {}", path.display()))?;
            println!("reject report: {}", path.display());
        }
    }
    Ok(if job["state"] == "finished" { 0 } else { 1 })
}

/// Streams the file to `POST /api/v1/imports`; returns the status and JSON.
async fn upload(
    client: &HttpClient,
    base: &str,
    command: &ImportCommand,
    terminal: bool,
) -> anyhow::Result<(StatusCode, Value)> {
    let file = tokio::fs::File::open(&command.file)
        .await
        .with_context(|| format!("cannot open {}", command.file.display()))?;
    let size = file.metadata().await.map(|metadata| metadata.len()).unwrap_or(0);
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
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("{base}/api/v1/imports?{}", query(command)))
        .header(header::AUTHORIZATION, format!("Bearer {}", command.token))
        .header(header::CONTENT_TYPE, content_type)
        .body(BodyExt::boxed(StreamBody::new(chunks)))?;
    let response = client.request(request).await.context("the admin API did not respond")?;
    bar.finish_and_clear();
    if !terminal {
        println!("uploaded {size} bytes");
    }

    let status = response.status();
    let body = response.into_body().collect().await.context("reading the reply failed")?.to_bytes();
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
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

/// Polls the job until it is no longer running; returns its last state.
async fn wait(client: &HttpClient, base: &str, token: &str, id: &str, terminal: bool) -> anyhow::Result<Value> {
    let spinner = if terminal { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    spinner.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})")?);
    let mut last_line = std::time::Instant::now();

    loop {
        let (status, body) = get(client, &format!("{base}/api/v1/imports/{id}"), token).await?;
        if status != StatusCode::OK {
            bail!("reading import {id} failed with {status}");
        }
        let job: Value = serde_json::from_slice(&body).context("the job is not JSON")?;
        let progress = counts_text(&job);
        spinner.set_message(progress.clone());
        spinner.tick();
        if job["state"] != "running" {
            spinner.finish_and_clear();
            return Ok(job);
        }
        if !terminal && last_line.elapsed() >= PLAIN_INTERVAL {
            println!("{progress}");
            last_line = std::time::Instant::now();
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn get(client: &HttpClient, url: &str, token: &str) -> anyhow::Result<(StatusCode, Bytes)> {
    let request = Request::builder()
        .uri(url)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(BodyExt::boxed(Full::new(Bytes::new()).map_err(|never| match never {})))?;
    let response = client.request(request).await.context("the admin API did not respond")?;
    let status = response.status();
    let body = response.into_body().collect().await.context("reading the reply failed")?.to_bytes();
    Ok((status, body))
}

fn counts_text(job: &Value) -> String {
    let count = |name: &str| job["counts"][name].as_u64().unwrap_or(0);
    format!(
        "read {} rows: created {}, updated {}, unchanged {}, skipped {}, rejected {}",
        count("read"),
        count("created"),
        count("updated"),
        count("unchanged"),
        count("skipped"),
        count("rejected")
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

/// Formats a problem+json reply for the terminal.
fn problem_text(reply: &Value) -> String {
    let detail = reply["detail"].as_str().unwrap_or("no details");
    match reply["field"].as_str() {
        Some(field) => format!("{field}: {detail}"),
        None => detail.to_owned(),
    }
}
