//! The HTTP client that `footprint import` and `footprint export` share:
//! requests to a running admin API with a bearer token, problem details
//! as terminal text, and the loop that polls a transfer job until it
//! ends.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Time between two job status requests.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Consecutive 503 responses to job status requests that polling waits
/// out (30 s at [`POLL_INTERVAL`]), because the admin API returns 503 while
/// the store is briefly slow or unreachable.
const MAX_UNAVAILABLE_POLLS: u32 = 60;

/// Time between two plain progress lines when the output is not a terminal.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

/// A request body: streamed from a file, or whole in memory.
pub type RequestBody = BoxBody<Bytes, std::io::Error>;

/// A client of one admin API, authenticated by one token.
pub struct AdminClient {
    http: Client<HttpConnector, RequestBody>,
    base: String,
    token: String,
}

impl AdminClient {
    /// Builds a client of the admin API at `admin_url`, which must be a
    /// plain `http://` URL because the client has no TLS.
    pub fn new(admin_url: &str, token: &str) -> anyhow::Result<AdminClient> {
        // The demo and the README print the API's root, `.../api/v1/`.
        let base = admin_url.trim_end_matches('/').trim_end_matches("/api/v1").to_owned();
        if !base.starts_with("http://") {
            bail!("--admin-url must be an http:// URL; reach a remote admin API through a tunnel");
        }
        let http = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Ok(AdminClient { http, base, token: token.to_owned() })
    }

    /// Sends a request to `path` (such as `/api/v1/exports`) with the
    /// token and returns the response with its body still unread.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: RequestBody,
    ) -> anyhow::Result<Response<Incoming>> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }

        let request = request.body(body)?;
        self.http.request(request).await.context("the admin API did not respond")
    }

    /// Sends `GET path` and returns the response with its body unread, so
    /// that a large file can be streamed.
    pub async fn get_streaming(&self, path: &str) -> anyhow::Result<Response<Incoming>> {
        self.send(Method::GET, path, None, empty_body()).await
    }

    /// Sends `GET path` and returns the status and the whole body.
    pub async fn get(&self, path: &str) -> anyhow::Result<(StatusCode, Bytes)> {
        let response = self.get_streaming(path).await?;
        read_body(response).await
    }

    /// Polls the job at `path` until its state is no longer `running` and
    /// returns its last JSON. `progress` turns the job into a line of
    /// progress text. On a terminal the line follows a spinner on standard
    /// error, else it goes to `plain_line` every [`PLAIN_INTERVAL`]. Up to
    /// `MAX_UNAVAILABLE_POLLS` 503 responses in a row are waited out.
    pub async fn wait_for_job(
        &self,
        path: &str,
        terminal: bool,
        progress: impl Fn(&Value) -> String,
        plain_line: impl Fn(&str),
    ) -> anyhow::Result<Value> {
        let spinner = if terminal { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
        spinner.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})")?);
        let mut last_line = Instant::now();
        let mut unavailable = 0;

        loop {
            let (status, body) = self.get(path).await?;
            if status == StatusCode::SERVICE_UNAVAILABLE && unavailable < MAX_UNAVAILABLE_POLLS {
                unavailable += 1;
                tokio::time::sleep(POLL_INTERVAL).await;
                continue;
            }
            unavailable = 0;
            if status != StatusCode::OK {
                bail!("reading {path} failed with {status}: {}", problem_text(&json_or_null(&body)));
            }
            let job: Value = serde_json::from_slice(&body).context("the job is not JSON")?;

            let line = progress(&job);
            spinner.set_message(line.clone());
            spinner.tick();
            if job["state"] != "running" {
                spinner.finish_and_clear();
                return Ok(job);
            }
            if !terminal && last_line.elapsed() >= PLAIN_INTERVAL {
                plain_line(&line);
                last_line = Instant::now();
            }

            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Returns an empty request body.
pub fn empty_body() -> RequestBody {
    BodyExt::boxed(Full::new(Bytes::new()).map_err(|never| match never {}))
}

/// Returns a request body of `bytes`.
pub fn full_body(bytes: impl Into<Bytes>) -> RequestBody {
    BodyExt::boxed(Full::new(bytes.into()).map_err(|never| match never {}))
}

/// Reads the whole body of `response` and returns it with the status.
pub async fn read_body(response: Response<Incoming>) -> anyhow::Result<(StatusCode, Bytes)> {
    let status = response.status();
    let body = response.into_body().collect().await.context("reading the response failed")?.to_bytes();
    Ok((status, body))
}

/// Parses `body` as JSON, or returns `Null` when it is not JSON.
pub fn json_or_null(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// Formats a problem details response as `field: detail` for the terminal.
pub fn problem_text(problem: &Value) -> String {
    let detail = problem["detail"].as_str().unwrap_or("no details");
    match problem["field"].as_str() {
        Some(field) => format!("{field}: {detail}"),
        None => detail.to_owned(),
    }
}
