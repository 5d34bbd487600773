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

    /// Returns the server's `used_memory` from `INFO memory`, in bytes.
    #[allow(dead_code)]
    pub async fn used_memory(&self) -> anyhow::Result<u64> {
        use anyhow::Context as _;
        let client = redis::Client::open(self.url())?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        let info: String = redis::cmd("INFO").arg("memory").query_async(&mut connection).await?;
        info.lines()
            .find_map(|line| line.strip_prefix("used_memory:"))
            .and_then(|value| value.trim().parse().ok())
            .context("INFO memory has no used_memory")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
