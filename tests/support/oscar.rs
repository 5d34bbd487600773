//! The django-oscar shop of `examples/oscar/`, served by its `run.sh` on a
//! free loopback port for one test.
//!
//! The shop is built once by `examples/oscar/setup.sh` (`./scripts/test.sh`
//! runs it) into the directory named by `FOOTPRINT_OSCAR_HOME`. Without that
//! variable the shop tests are skipped, unless `FOOTPRINT_REQUIRE_OSCAR=1`
//! turns the missing shop into a failure, as `./scripts/test.sh` does. All
//! shops started from one home share its sqlite database, so tests must not
//! assume a fresh set of orders or users. The seeded products are fixed.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::footprint::{free_port, kill_process_group, print_log_tail};

/// Directory the shop was built into by `examples/oscar/setup.sh`.
pub const ENV_OSCAR_HOME: &str = "FOOTPRINT_OSCAR_HOME";
/// `1` makes a missing `FOOTPRINT_OSCAR_HOME` a test failure instead of a skip.
pub const ENV_REQUIRE_OSCAR: &str = "FOOTPRINT_REQUIRE_OSCAR";
/// Hang guard for the shop's first response. gunicorn usually responds within
/// a second or two, and much later while cargo builds on the same cores.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running shop owned by one test; the server stops when this is dropped.
pub struct OscarShop {
    child: Child,
    port: u16,
    home: PathBuf,
    log_dir: tempfile::TempDir,
}

impl OscarShop {
    /// Starts the shop with no extra trusted CSRF origins.
    pub async fn start() -> Option<OscarShop> {
        Self::start_with_trusted_origins(&[]).await
    }

    /// Starts the shop with `OSCAR_CSRF_TRUSTED_ORIGINS` set to `origins`
    /// (such as a proxy's `http://127.0.0.1:PORT`) and waits until
    /// `/catalogue/` returns 200.
    ///
    /// Returns `None` when `FOOTPRINT_OSCAR_HOME` is unset, so the caller can
    /// print a skip line. Panics with the setup command instead when
    /// `FOOTPRINT_REQUIRE_OSCAR=1`, and whenever a configured shop fails.
    pub async fn start_with_trusted_origins(origins: &[String]) -> Option<OscarShop> {
        let home = match std::env::var_os(ENV_OSCAR_HOME) {
            Some(home) if !home.is_empty() => PathBuf::from(home),
            _ if std::env::var(ENV_REQUIRE_OSCAR).as_deref() == Ok("1") => panic!(
                "{ENV_OSCAR_HOME} is not set but {ENV_REQUIRE_OSCAR}=1: build the shop with \
                 `./scripts/test.sh`, or with `examples/oscar/setup.sh` and then \
                 `export {ENV_OSCAR_HOME}=$PWD/.oscar`"
            ),
            _ => return None,
        };

        let log_dir = tempfile::tempdir().expect("cannot create a temp dir for the shop log");
        let log_path = log_dir.path().join("oscar.log");
        let log = std::fs::File::create(&log_path).expect("cannot create the shop log file");
        let port = free_port();
        // run.sh execs gunicorn, whose workers stay in this process group, so
        // dropping the shop can stop all of them with one signal.
        let child = Command::new(repository_root().join("examples/oscar/run.sh"))
            .env("OSCAR_HOME", &home)
            .env("OSCAR_PORT", port.to_string())
            .env("OSCAR_BIND", "127.0.0.1")
            .env("OSCAR_CSRF_TRUSTED_ORIGINS", origins.join(","))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cannot share the shop log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("cannot run examples/oscar/run.sh");
        let mut shop = OscarShop { child, port, home, log_dir };

        shop.wait_until_ready().await;
        Some(shop)
    }

    /// Returns the shop's base URL without a trailing slash, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Returns the directory the shop was built into (`FOOTPRINT_OSCAR_HOME`).
    pub fn home(&self) -> &Path {
        &self.home
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("cannot build an HTTP client");
        let url = format!("{}/catalogue/", self.url());
        let deadline = Instant::now() + START_TIMEOUT;

        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.print_log();
                panic!("examples/oscar/run.sh exited with {status} before {url} returned 200");
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    return;
                }
            }
            if Instant::now() > deadline {
                self.print_log();
                panic!("the shop did not return 200 on {url} within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn print_log(&self) {
        print_log_tail("oscar shop", &self.log_dir.path().join("oscar.log"));
    }
}

impl Drop for OscarShop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_log();
        }
        kill_process_group(&mut self.child);
    }
}

/// Returns the repository root, where `examples/` lives.
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
