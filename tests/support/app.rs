//! Footprint started in process in front of a test upstream, for tests
//! that drive it with real HTTP clients on loopback.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use footprint::app::{self, Running};
use footprint::config::{AdminToken, Config};
use footprint::demo::{self, DemoOptions};
use footprint::store::Store;
use footprint::tracking::TrackerKeys;

pub const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// A running Footprint with its upstream.
pub struct TestApp {
    pub proxy: SocketAddr,
    pub admin: SocketAddr,
    pub store: Arc<dyn Store>,
    running: Option<Running>,
    upstream_task: tokio::task::JoinHandle<()>,
    /// Import uploads and reject reports, deleted with the app.
    pub transfers: tempfile::TempDir,
}

impl TestApp {
    /// Starts the demo shop and Footprint with the demo configuration.
    pub async fn demo(store: Arc<dyn Store>) -> TestApp {
        let (upstream, task) = serve_router(demo::shop::Shop::new().router()).await;
        let options = DemoOptions { port: 0, admin_port: 0, shop_port: 0 };
        let (mut config, _) = demo::demo_config(&options, upstream).expect("demo config");
        config.admin.tokens = vec![AdminToken { name: "test".to_owned(), token: TOKEN.to_owned() }];
        TestApp::start(config, store, task).await
    }

    /// Starts Footprint with `config` in front of `router`, on free ports.
    pub async fn with_upstream(mut config: Config, router: axum::Router, store: Arc<dyn Store>) -> TestApp {
        let (upstream, task) = serve_router(router).await;
        config.proxy.upstream = format!("http://{upstream}");
        config.proxy.listen = "127.0.0.1:0".parse().expect("address");
        config.admin.listen = "127.0.0.1:0".parse().expect("address");
        config.admin.tokens = vec![AdminToken { name: "test".to_owned(), token: TOKEN.to_owned() }];
        if config.tracker.keys.is_empty() {
            config.tracker.keys = vec![TrackerKeys::generate().1];
        }
        config.validate().expect("valid test configuration");
        TestApp::start(config, store, task).await
    }

    async fn start(mut config: Config, store: Arc<dyn Store>, upstream_task: tokio::task::JoinHandle<()>) -> TestApp {
        let transfers = tempfile::tempdir().expect("a transfer directory");
        config.admin.transfer_dir = Some(transfers.path().to_owned());
        let running = app::start(&config, store.clone(), None).await.expect("footprint starts");
        TestApp {
            proxy: running.proxy_addr,
            admin: running.admin_addr,
            store,
            running: Some(running),
            upstream_task,
            transfers,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy)
    }

    /// GETs an admin API path with the token; returns status and JSON.
    pub async fn admin_get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = client()
            .get(format!("http://{}{path}", self.admin))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("admin API answers");
        let status = response.status().as_u16();
        let json = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// Polls an admin path until `ready` accepts the response; panics after a
    /// generous hang guard. Activity is written asynchronously.
    pub async fn admin_until(&self, path: &str, ready: impl Fn(u16, &serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, json) = self.admin_get(path).await;
            if ready(status, &json) {
                return json;
            }
            assert!(Instant::now() < deadline, "{path} never reached the expected state; last: {status} {json}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("clean shutdown");
        }
        self.upstream_task.abort();
    }
}

async fn serve_router(router: axum::Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = listener.local_addr().expect("upstream address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (addr, task)
}

/// Builds a client without cookies, redirects or system proxies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) footprint-test-browser")
        .build()
        .expect("client")
}

/// Builds a browser-like client that keeps cookies and follows no redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .cookie_store(true)
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) footprint-test-browser")
        .build()
        .expect("client")
}

/// Returns the tracker id in a `Set-Cookie: fp_tid=...` of `response`, if any. The
/// signed value is a 44-character MAC followed by the UUID.
pub fn tracker_of(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("fp_tid="))
        .map(|rest| rest.split(';').next().unwrap_or_default())
        .map(|value| value[value.len().saturating_sub(36)..].to_owned())
}

/// Returns the full `fp_tid=<value>` pair of a `Set-Cookie`, to send back by hand.
pub fn tracker_pair(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("fp_tid="))
        .map(|value| value.split(';').next().unwrap_or_default().to_owned())
}

/// A response from the admin API: status, `Location` header and JSON body.
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub location: Option<String>,
    pub json: serde_json::Value,
}

/// Sends an admin API request with the token and an optional JSON body.
pub async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> Reply {
    let mut request = client().request(method, format!("http://{}{path}", app.admin)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }

    let response = request.send().await.expect("admin API answers");
    let status = response.status();
    let location = response.headers().get("location").and_then(|value| value.to_str().ok()).map(str::to_owned);
    let json = response.json().await.unwrap_or(serde_json::Value::Null);
    Reply { status, location, json }
}
