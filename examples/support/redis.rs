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

    /// Returns the server's `used_memory` from `INFO memory`, in bytes.
    #[allow(dead_code)]
    pub async fn used_memory(&self) -> anyhow::Result<u64> {
        let info = self.command(&["INFO", "memory"]).await?;
        info.lines()
            .find_map(|line| line.strip_prefix("used_memory:"))
            .and_then(|value| value.trim().parse().ok())
            .context("INFO memory has no used_memory")
    }

    /// Sends one command on a new connection and returns its reply as text.
    #[allow(dead_code)]
    pub async fn command(&self, arguments: &[&str]) -> anyhow::Result<String> {
        let client = redis::Client::open(self.url())?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        let mut command = redis::cmd(arguments[0]);
        for argument in &arguments[1..] {
            command.arg(*argument);
        }
        let reply: redis::Value = command.query_async(&mut connection).await?;
        Ok(match reply {
            redis::Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            redis::Value::VerbatimString { text, .. } => text,
            other => format!("{other:?}"),
        })
    }

    /// Returns the `count` commands that took the most server time since
    /// the last `CONFIG RESETSTAT` (from `INFO commandstats`), as text:
    /// where the server's CPU goes.
    #[allow(dead_code)]
    pub async fn busiest_commands(&self, count: usize) -> anyhow::Result<String> {
        let info = self.command(&["INFO", "commandstats"]).await?;
        let mut commands: Vec<(String, u64, u64)> = info
            .lines()
            .filter_map(|line| {
                let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let stat = |key: &str| {
                    stats.split(',').find_map(|pair| pair.strip_prefix(key)?.strip_prefix('=')?.parse::<u64>().ok())
                };
                Some((name.to_owned(), stat("calls")?, stat("usec")?))
            })
            .collect();
        commands.sort_by_key(|(_, _, usec)| std::cmp::Reverse(*usec));
        let busiest: Vec<String> = commands
            .iter()
            .take(count)
            .map(|(name, calls, usec)| format!("{name} {calls} calls {:.1} s", *usec as f64 / 1e6))
            .collect();
        Ok(busiest.join(", "))
    }

    /// Returns the server's CPU time so far, in seconds.
    #[allow(dead_code)]
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }
}

/// Clock ticks per second of /proc/PID/stat times (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// CPU time used so far by all threads of a process, user and system, in
/// seconds (`utime` + `stime` of its /proc/PID/stat).
#[allow(dead_code)]
pub fn cpu_seconds(stat_path: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(stat_path).with_context(|| format!("cannot read {stat_path}"))?;
    // The command name may contain spaces, so fields are counted after its
    // closing `)`: utime and stime are fields 14 and 15 of the line.
    let after_name = stat.rsplit_once(')').context("invalid /proc/PID/stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields.get(11).context("no utime in /proc/PID/stat")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime in /proc/PID/stat")?.parse()?;
    Ok((utime + stime) as f64 / USER_HZ)
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
