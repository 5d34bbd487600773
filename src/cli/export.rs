//! `footprint export`: starts an export job on a running admin API, waits
//! for it and streams the file to standard output or `--output`.
//!
//! Standard output carries only the file's bytes. Progress and the summary
//! go to standard error: on a terminal a spinner with the rows written and
//! then the bytes downloaded, otherwise a plain line every few seconds.
//! Exit code 0: the file was written whole; 1: the request was rejected,
//! the job failed or the download broke off. A failed run removes the
//! file it was writing with `--output`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use http::{Method, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use super::admin_client::{full_body, json_or_null, problem_text, read_body, AdminClient, PLAIN_INTERVAL};

/// Options of `footprint export`. Each option sets the member of the
/// `POST /api/v1/exports` body with the same name, and the admin API
/// checks the values.
#[derive(Clone, Debug, clap::Args)]
pub struct ExportCommand {
    /// Base URL of the admin API (plain HTTP).
    #[arg(long, env = "FOOTPRINT_ADMIN_URL", default_value = "http://127.0.0.1:8081")]
    pub admin_url: String,
    /// An admin token.
    #[arg(long, env = "FOOTPRINT_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Write the file here instead of to standard output. An existing file
    /// is replaced, and the file is removed when the export fails.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// `contacts` or `activities`; default: contacts.
    #[arg(long)]
    pub what: Option<String>,
    /// `csv` or `ndjson`; default: CSV.
    #[arg(long)]
    pub format: Option<String>,
    /// CSV delimiter: `comma`, `semicolon`, `tab` or `pipe`; default: comma.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Start a CSV file with a UTF-8 byte order mark, which Excel needs to
    /// read it as UTF-8.
    #[arg(long)]
    pub bom: bool,
    /// Column names in file order, separated by commas, such as
    /// `email,first_name`; default: every column.
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Only contacts with an email.
    #[arg(long)]
    pub has_email: bool,
    /// Only contacts with a cellphone.
    #[arg(long)]
    pub has_cellphone: bool,
    /// Only contacts with a push subscription.
    #[arg(long)]
    pub push: bool,
    /// Only the members of the segment with this id.
    #[arg(long)]
    pub segment: Option<String>,
    /// Activities only: activity types separated by commas, such as
    /// `purchase,search`; default: every type.
    #[arg(long, value_delimiter = ',')]
    pub types: Option<Vec<String>>,
    /// Activities only: the earliest activity time, RFC 3339 such as
    /// `2026-01-31T18:00:00Z`.
    #[arg(long)]
    pub from: Option<String>,
    /// Activities only: the latest activity time, RFC 3339.
    #[arg(long)]
    pub to: Option<String>,
}

impl ExportCommand {
    /// Builds the `POST /api/v1/exports` body from the options that are set.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        let strings = [("what", &self.what), ("format", &self.format), ("delimiter", &self.delimiter)];
        for (member, value) in strings {
            if let Some(value) = value {
                body.insert(member.to_owned(), json!(value));
            }
        }
        if self.bom {
            body.insert("bom".to_owned(), json!(true));
        }
        if let Some(columns) = &self.columns {
            body.insert("columns".to_owned(), json!(columns));
        }

        let mut filter = Map::new();
        let flags = [("has_email", self.has_email), ("has_cellphone", self.has_cellphone), ("push", self.push)];
        for (member, set) in flags {
            if set {
                filter.insert(member.to_owned(), json!(true));
            }
        }
        if let Some(segment) = &self.segment {
            filter.insert("segment".to_owned(), json!(segment));
        }
        if !filter.is_empty() {
            body.insert("filter".to_owned(), Value::Object(filter));
        }

        if let Some(types) = &self.types {
            body.insert("types".to_owned(), json!(types));
        }
        for (member, value) in [("from", &self.from), ("to", &self.to)] {
            if let Some(value) = value {
                body.insert(member.to_owned(), json!(value));
            }
        }
        Value::Object(body)
    }
}

/// Runs the command and returns the process exit code.
pub async fn run(command: ExportCommand) -> anyhow::Result<i32> {
    let client = AdminClient::new(&command.admin_url, &command.token)?;
    let terminal = std::io::stderr().is_terminal();
    let mut output = Output::open(command.output.as_deref()).await?;

    let result = export(&client, &command, &mut output, terminal).await;

    match result {
        Ok(0) => {
            output.finish().await?;
            Ok(0)
        }
        Ok(code) => {
            output.discard().await;
            Ok(code)
        }
        Err(error) => {
            output.discard().await;
            Err(error)
        }
    }
}

/// Starts the job, waits for it and downloads its file into `output`.
/// Returns 1 when the admin API rejected the request or the job failed.
async fn export(
    client: &AdminClient,
    command: &ExportCommand,
    output: &mut Output,
    terminal: bool,
) -> anyhow::Result<i32> {
    let body = serde_json::to_vec(&command.body())?;
    let response = client.send(Method::POST, "/api/v1/exports", Some("application/json"), full_body(body)).await?;
    let (status, reply) = read_body(response).await?;
    let reply = json_or_null(&reply);
    if status != StatusCode::ACCEPTED {
        eprintln!("export rejected ({status}): {}", problem_text(&reply));
        return Ok(1);
    }
    let id = reply["id"].as_str().context("the response has no job id")?.to_owned();

    let job =
        client.wait_for_job(&format!("/api/v1/exports/{id}"), terminal, rows_text, |line| eprintln!("{line}")).await?;
    if job["state"] != "finished" {
        let error = job["error"].as_str().unwrap_or("no reason given");
        eprintln!("export {id} failed: {error}");
        return Ok(1);
    }

    let response = client.get_streaming(&format!("/api/v1/exports/{id}/file")).await?;
    if response.status() != StatusCode::OK {
        let (status, problem) = read_body(response).await?;
        eprintln!("downloading export {id} failed ({status}): {}", problem_text(&json_or_null(&problem)));
        return Ok(1);
    }
    let bytes = download(response, output, terminal).await?;

    eprintln!("export {id} finished: {}, {bytes} bytes written to {}", rows_text(&job), output.name());
    Ok(0)
}

/// Returns the rows written so far, and the contacts skipped when there
/// are any.
fn rows_text(job: &Value) -> String {
    let rows = job["counts"]["read"].as_u64().unwrap_or(0);
    match job["counts"]["skipped"].as_u64().unwrap_or(0) {
        0 => format!("wrote {rows} rows"),
        skipped => format!("wrote {rows} rows, skipped {skipped} contacts whose statuses do not decode"),
    }
}

/// Copies the response body into `output` chunk by chunk and returns the
/// number of bytes written.
async fn download(response: http::Response<Incoming>, output: &mut Output, terminal: bool) -> anyhow::Result<u64> {
    let bar = if terminal { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("{spinner} downloading {bytes} {bytes_per_sec}")?);
    let mut last_line = Instant::now();
    let mut written: u64 = 0;

    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.context("the download broke off")?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        output.write(&chunk).await?;
        written += chunk.len() as u64;

        bar.set_position(written);
        if !terminal && last_line.elapsed() >= PLAIN_INTERVAL {
            eprintln!("downloaded {written} bytes");
            last_line = Instant::now();
        }
    }

    bar.finish_and_clear();
    Ok(written)
}

/// The destination of the file: standard output or the `--output` file.
struct Output {
    writer: Box<dyn AsyncWrite + Send + Unpin>,
    /// The `--output` file, which a failed run removes.
    path: Option<PathBuf>,
}

impl Output {
    /// Creates or truncates the `--output` file, or uses standard output.
    async fn open(path: Option<&Path>) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output { writer: Box::new(tokio::io::stdout()), path: None });
        };
        let file = tokio::fs::File::create(path).await.with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Output { writer: Box::new(tokio::io::BufWriter::new(file)), path: Some(path.to_owned()) })
    }

    fn name(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => "standard output".to_owned(),
        }
    }

    async fn write(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        self.writer.write_all(chunk).await.with_context(|| format!("writing to {} failed", self.name()))
    }

    /// Flushes what is buffered and closes the output.
    async fn finish(mut self) -> anyhow::Result<()> {
        let name = self.name();
        self.writer.flush().await.with_context(|| format!("writing to {name} failed"))?;
        self.writer.shutdown().await.with_context(|| format!("closing {name} failed"))?;
        Ok(())
    }

    /// Removes the `--output` file of a failed run. A path that is not a
    /// regular file, such as `/dev/null` or a pipe, is left in place.
    async fn discard(self) {
        drop(self.writer);
        let Some(path) = self.path else {
            return;
        };
        let is_file = tokio::fs::metadata(&path).await.is_ok_and(|metadata| metadata.is_file());
        if is_file {
            if let Err(error) = tokio::fs::remove_file(&path).await {
                eprintln!("cannot remove the incomplete file {}: {error}", path.display());
            }
        }
    }
}
