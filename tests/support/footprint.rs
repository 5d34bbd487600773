//! The `footprint` binary under test, run as `footprint serve` on free
//! loopback ports with fresh secrets, and stopped when dropped.
//!
//! Each instance gets its own tracker signing key and admin token through
//! the environment, so no secret is written to a file and instances never
//! accept each other's cookies.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;

/// Hang guard for the admin listener's first `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Hang guard for a stopped process to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Addresses and environment for one `footprint serve` run. The proxy and
/// admin listeners get free loopback ports unless given here.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--upstream`: the shop's base URL.
    pub upstream: String,
    /// `--redis-url`.
    pub redis_url: String,
    /// `--listen`, when the caller must know the proxy's address before the
    /// start (to make it a trusted CSRF origin of the shop, for instance).
    pub listen: Option<SocketAddr>,
    /// `--admin-listen`.
    pub admin_listen: Option<SocketAddr>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

/// A running `footprint serve` owned by one test.
pub struct Footprint {
    child: Child,
    proxy: SocketAddr,
    admin: SocketAddr,
    token: String,
    client: reqwest::Client,
    log_dir: tempfile::TempDir,
}

impl Footprint {
    /// Starts `footprint serve --config <config_path>` with `overrides` and
    /// waits until `GET /healthz` on the admin listener returns 200. Panics
    /// when the binary exits or does not get ready.
    pub async fn start(config_path: &Path, overrides: Overrides) -> Footprint {
        let proxy = overrides.listen.unwrap_or_else(free_addr);
        let admin = overrides.admin_listen.unwrap_or_else(free_addr);

        let mut key = [0u8; 64];
        rand::rng().fill_bytes(&mut key);
        let tracker_keys = base64::engine::general_purpose::STANDARD.encode(key);
        let token = Alphanumeric.sample_string(&mut rand::rng(), 32);

        let log_dir = tempfile::tempdir().expect("cannot create a temp dir for the footprint log");
        let log_path = log_dir.path().join("footprint.log");
        let log = std::fs::File::create(&log_path).expect("cannot create the footprint log file");
        let child = Command::new(env!("CARGO_BIN_EXE_footprint"))
            .arg("serve")
            .arg("--config")
            .arg(config_path)
            .args(["--listen", &proxy.to_string()])
            .args(["--upstream", &overrides.upstream])
            .args(["--admin-listen", &admin.to_string()])
            .args(["--redis-url", &overrides.redis_url])
            // An inherited FOOTPRINT_REDIS_URL could point at another server than --redis-url.
            .env_remove("FOOTPRINT_REDIS_URL")
            .env("FOOTPRINT_TRACKER_KEYS", tracker_keys)
            .env("FOOTPRINT_ADMIN_TOKENS", format!("test:{token}"))
            .envs(overrides.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cannot share the footprint log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("cannot run the footprint binary");
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("cannot build an HTTP client");
        let mut footprint = Footprint { child, proxy, admin, token, client, log_dir };

        footprint.wait_until_healthy().await;
        footprint
    }

    /// Returns the proxy's base URL without a trailing slash: what a browser opens.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy)
    }

    /// Returns the admin API's base URL without a trailing slash.
    /// Returns the process id of the `footprint serve` process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin)
    }

    /// Returns the admin bearer token this instance accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Sends `GET <admin>/<path>` with the bearer token and returns the
    /// status and the JSON body (`Null` when the body is not JSON).
    pub async fn admin_get(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let url = format!("{}/{}", self.admin_url(), path.trim_start_matches('/'));
        let response = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {url} failed: {error}"));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    async fn wait_until_healthy(&mut self) {
        let url = format!("{}/healthz", self.admin_url());
        let deadline = Instant::now() + START_TIMEOUT;

        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.print_log();
                panic!("footprint serve exited with {status} before {url} returned 200");
            }
            if let Ok(response) = self.client.get(&url).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    return;
                }
            }
            if Instant::now() > deadline {
                self.print_log();
                panic!("footprint did not return 200 on {url} within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn print_log(&self) {
        print_log_tail("footprint", &self.log_dir.path().join("footprint.log"));
    }
}

impl Drop for Footprint {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_log();
        }
        kill_process_group(&mut self.child);
    }
}

/// Returns a loopback port that was free a moment ago.
///
/// NOTE: another process can take the port before the caller binds it. The
/// window is short, and a collision shows as a failed start, not a wrong result.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free loopback port")
}

/// Returns `127.0.0.1:<free port>`.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()))
}

/// Sends SIGTERM to the process group led by `child`, waits up to
/// [`STOP_TIMEOUT`] for the leader to exit, then sends SIGKILL to the group.
/// The child must have been spawned with `process_group(0)`.
///
/// The group is signalled only while the leader is not yet reaped: until
/// then its id cannot be reused, so no other process can receive the signal.
/// gunicorn's master waits for its workers before it exits, so a leader that
/// exited leaves no group behind.
pub fn kill_process_group(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }

    let group = format!("-{}", child.id());
    let signal = |name: &str| {
        let _ =
            Command::new("kill").args(["-s", name, "--", &group]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    };

    signal("TERM");
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal("KILL");
    let _ = child.wait();
}

/// Prints the last lines of a component's log to stderr, which the test
/// harness shows for a failed test.
pub fn print_log_tail(component: &str, path: &Path) {
    const LINES: usize = 60;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LINES);
    eprintln!("--- last {} lines of the {component} log ---", lines.len() - start);
    for line in &lines[start..] {
        eprintln!("{line}");
    }
    eprintln!("--- end of the {component} log ---");
}
