//! A private `redis-server` per test: its own loopback port and temporary
//! directory, no persistence, killed when dropped.
//!
//! Tests never share a server, so they can run in parallel and assert on
//! exact database contents.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's package installs the server; `scripts/test.sh` installs it.
const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// Hang guard for the server's first reply to `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// A free port can be taken by another process between probing and binding,
/// so a failed start is retried on a new port.
const START_ATTEMPTS: usize = 3;

/// A running `redis-server` owned by one test.
pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it replies
    /// to `PING`. Panics when it cannot start, because no test can run without it.
    pub fn start() -> RedisServer {
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start() {
                Ok(server) => return server,
                Err(error) => last_error = error,
            }
        }
        panic!("redis-server failed to start after {START_ATTEMPTS} attempts: {last_error}");
    }

    /// Returns the server's URL, e.g. `redis://127.0.0.1:40123/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn try_start() -> Result<RedisServer, String> {
        let dir =
            tempfile::tempdir().map_err(|error| format!("cannot create a temp dir: {error}"))?;
        let port = free_port();
        let child = Command::new(REDIS_SERVER)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                format!("cannot run {REDIS_SERVER} (install redis-server): {error}")
            })?;
        let mut server = RedisServer {
            child,
            port,
            _dir: dir,
        };

        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("redis-server on port {port} exited with {status}"));
            }
            if ping(port) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "redis-server on port {port} did not reply to PING within {START_TIMEOUT:?}"
        ))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free loopback port")
}

fn ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}
