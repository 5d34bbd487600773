//! A private `redis-server` per test.
//!
//! Each [`RedisServer`] runs its own process on a free loopback port with
//! its own temporary directory, without persistence, and is killed when
//! dropped, so tests never share state or touch a server someone else
//! started. Redis has no option to pick a free port itself (`--port 0`
//! disables TCP), so a port is found by binding port 0 and releasing it.
//! When another process takes the port before Redis binds it, Redis exits
//! and `start` tries another port.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How many ports `start` tries before giving up.
const PORT_ATTEMPTS: usize = 5;

/// Maximum wait for a started server to respond. A hang guard only.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `redis-server` owned by one test.
pub struct RedisServer {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it responds.
    ///
    /// Panics when `redis-server` cannot be found or does not come up,
    /// because no test can run without it.
    pub fn start() -> RedisServer {
        let dir = tempfile::Builder::new().prefix("footprint-redis-").tempdir().expect("create a temp dir for redis");

        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            if let Some(child) = spawn(port, dir.path()) {
                return RedisServer { port, dir, child: Some(child) };
            }
        }
        panic!("redis-server did not start on any of {PORT_ATTEMPTS} ports; see {}", log_path(dir.path()).display());
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns the connection URL, for example `redis://127.0.0.1:6390/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops the server's process with SIGSTOP for `duration`, then lets it
    /// go on (SIGCONT). Clients see their replies time out meanwhile, and
    /// the server runs what they sent once it goes on.
    #[allow(dead_code, reason = "not every test binary pauses its server")]
    pub fn pause_for(&self, duration: std::time::Duration) {
        let pid = self.child.as_ref().expect("the server runs").id().to_string();
        let signal = |name: &str| {
            let status = std::process::Command::new("kill").args([name, &pid]).status().expect("run kill");
            assert!(status.success(), "kill {name} {pid} failed");
        };
        signal("-STOP");
        std::thread::sleep(duration);
        signal("-CONT");
    }

    /// Kills the server. Its data is gone, as persistence is off.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, stopping it first when it
    /// runs. Panics when the port was taken in the meantime.
    pub fn restart(&mut self) {
        self.stop();

        let child = spawn(self.port, self.dir.path());
        let child = child.unwrap_or_else(|| {
            panic!("redis-server did not restart on port {}; see {}", self.port, log_path(self.dir.path()).display())
        });
        self.child = Some(child);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Returns a loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("read the bound address").port()
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("redis.log")
}

fn redis_server_binary() -> &'static str {
    if Path::new("/usr/bin/redis-server").exists() {
        "/usr/bin/redis-server"
    } else {
        "redis-server"
    }
}

/// Spawns a server on `port` and waits until it responds. Returns `None` when the
/// server exits first, which means the port was taken.
fn spawn(port: u16, dir: &Path) -> Option<Child> {
    let mut child = Command::new(redis_server_binary())
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--port")
        .arg(port.to_string())
        .arg("--save")
        .arg("")
        .arg("--appendonly")
        .arg("no")
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(log_path(dir))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server; is it installed?");

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(_status)) = child.try_wait() {
            return None;
        }
        // Another test's server may own the port while this one fails to
        // bind it, so only a reply from this child's process id counts.
        if server_pid(&address) == Some(child.id()) {
            return Some(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("redis-server on port {port} did not answer PING; see {}", log_path(dir).display());
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Returns the process id that the server at `address` reports in
/// `INFO server`, or `None` while it does not respond.
fn server_pid(address: &SocketAddr) -> Option<u32> {
    let mut stream = TcpStream::connect_timeout(address, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;

    // The reply is one bulk string: `$<length>\r\n<text>\r\n`.
    let mut reply = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            return None;
        }
        reply.extend_from_slice(&buffer[..read]);

        let text = String::from_utf8_lossy(&reply);
        let Some((header, body)) = text.split_once("\r\n") else {
            continue;
        };
        let length: usize = header.strip_prefix('$')?.parse().ok()?;
        if body.len() >= length {
            return body
                .lines()
                .find_map(|line| line.strip_prefix("process_id:"))
                .and_then(|pid| pid.trim().parse().ok());
        }
    }
}
