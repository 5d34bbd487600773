//! A private `redis-server` for benchmarks: loopback only, on a free port,
//! persistence off, in a temporary directory, and killed on drop.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

/// A running private `redis-server`.
pub struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts `redis-server` on a free port of 127.0.0.1.
    pub fn start() -> anyhow::Result<Redis> {
        let dir = tempfile::tempdir()?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .context("failed to start redis-server; check that it is installed")?;
        Ok(Redis { child, port, _dir: dir })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Returns the server's process id.
    #[allow(dead_code, reason = "not every benchmark reads the server's CPU time")]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
