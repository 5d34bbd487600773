//! Import and export benchmark. It generates a CSV file of contacts and
//! starts Footprint in this process on a private Redis. Then it imports
//! the file through the admin API with `footprint import`'s client and
//! exports every contact again as CSV through `POST /api/v1/exports`. It
//! prints rows per second and the process's peak memory for each.
//!
//! ```sh
//! cargo run --release --example bench_transfers -- --rows 1000000
//! ```
//!
//! Options: `--rows` (default 1,000,000). Each row has a unique email and
//! cellphone, a first and a last name and an unknown column of 100
//! characters, so the file is about 180 bytes a row. The file is written
//! to a temporary directory first, then uploaded, so its generation is
//! not measured. Peak memory is this process's `VmHWM`, which contains
//! Footprint, the upload client and the job; the Redis server's memory
//! is printed apart. The export's time runs from its request until its
//! job is `finished`, and the downloaded file must have one line per
//! contact plus the header. Nothing leaves loopback, and the Redis server
//! stops when the benchmark ends.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Context as _};
use footprint::cli::import::ImportCommand;
use footprint::config::AdminToken;
use footprint::demo::{self, DemoOptions};
use footprint::store::redis::RedisStore;
use footprint::store::{Retention, Store};

#[path = "support/args.rs"]
mod args;
#[path = "support/redis.rs"]
mod redis_server;

use args::option;
use redis_server::{cpu_seconds, Redis};

/// Goal for the import rate, in rows per second.
const IMPORT_GOAL_ROWS_PER_SECOND: f64 = 20_000.0;
/// Goal for the export rate, in rows per second.
const EXPORT_GOAL_ROWS_PER_SECOND: f64 = 50_000.0;
/// Goal for the peak resident memory, in bytes.
const PEAK_RSS_GOAL_BYTES: u64 = 200 << 20;
const TOKEN: &str = "bench-transfers-token-0123456789";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let rows: usize = option(&arguments, "--rows", 1_000_000)?;
    let redis = Redis::start()?;
    let dir = tempfile::tempdir()?;
    println!("date: {}", time::OffsetDateTime::now_utc());
    println!("rows: {rows}");

    let path = dir.path().join("contacts.csv");
    let size = generate(&path, rows)?;
    println!("file: {size} bytes ({:.0} bytes per row)", size as f64 / rows as f64);

    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&redis.url(), "fp:", Retention::default()).await?);
    let (mut config, _) =
        demo::demo_config(&DemoOptions { port: 0, admin_port: 0, shop_port: 0 }, "127.0.0.1:9".parse()?)?;
    config.admin.tokens = vec![AdminToken { name: "bench".to_owned(), token: TOKEN.to_owned() }];
    config.admin.transfer_dir = Some(dir.path().join("transfers"));
    let running = footprint::app::start(&config, store.clone(), None).await?;
    let rss_before = peak_rss()?;

    let cpu = CpuTimes::read(&redis)?;
    redis.command(&["CONFIG", "RESETSTAT"]).await?;
    let started = Instant::now();
    let command = ImportCommand {
        file: path,
        admin_url: format!("http://{}", running.admin_addr),
        token: TOKEN.to_owned(),
        format: None,
        key: None,
        mode: None,
        overwrite: false,
        segment: None,
        encoding: None,
        delimiter: None,
        date_format: None,
        mapping: None,
        rejects: None,
    };
    let code = footprint::cli::import::run(command).await?;
    let elapsed = started.elapsed().as_secs_f64();
    ensure!(code == 0, "the import did not finish");

    let history = store.transfers(None, 1).await?;
    let job = history.first().context("the import is missing from the history")?;
    ensure!(job.counts.created == rows as u64, "created {} contacts, expected {rows}", job.counts.created);
    let rss = peak_rss()?;
    let rate = rows as f64 / elapsed;
    println!(
        "import: {elapsed:.1} s, {rate:.0} rows/s (goal {IMPORT_GOAL_ROWS_PER_SECOND:.0}, ratio {:.2})",
        rate / IMPORT_GOAL_ROWS_PER_SECOND
    );
    println!(
        "peak RSS: {:.1} MB before the import, {:.1} MB after (goal below {} MB, ratio {:.2})",
        rss_before as f64 / 1e6,
        rss as f64 / 1e6,
        PEAK_RSS_GOAL_BYTES >> 20,
        rss as f64 / PEAK_RSS_GOAL_BYTES as f64
    );
    println!("redis used memory: {:.1} MB", redis.used_memory().await? as f64 / 1e6);
    cpu.print(&redis, elapsed).await?;

    let cpu = CpuTimes::read(&redis)?;
    redis.command(&["CONFIG", "RESETSTAT"]).await?;
    let started = Instant::now();
    let lines = export_all(&format!("http://{}", running.admin_addr)).await?;
    let elapsed = started.elapsed().as_secs_f64();
    ensure!(lines == rows + 1, "the export has {lines} lines, expected {} with the header", rows + 1);
    let rss_export = peak_rss()?;
    let rate = rows as f64 / elapsed;
    println!(
        "export: {elapsed:.1} s, {rate:.0} rows/s (goal {EXPORT_GOAL_ROWS_PER_SECOND:.0}, ratio {:.2})",
        rate / EXPORT_GOAL_ROWS_PER_SECOND
    );
    cpu.print(&redis, elapsed).await?;
    println!(
        "peak RSS after the export: {:.1} MB (goal below {} MB, ratio {:.2})",
        rss_export as f64 / 1e6,
        PEAK_RSS_GOAL_BYTES >> 20,
        rss_export as f64 / PEAK_RSS_GOAL_BYTES as f64
    );
    running.shutdown().await?;
    Ok(())
}

/// Exports every contact as CSV, waits for the job and downloads the file
/// as a stream; returns its number of lines.
async fn export_all(admin: &str) -> anyhow::Result<usize> {
    let client = reqwest::Client::new();
    let reply = client
        .post(format!("{admin}/api/v1/exports"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "what": "contacts", "format": "csv" }))
        .send()
        .await?;
    ensure!(reply.status().as_u16() == 202, "the export was not started: {}", reply.status());
    let job: serde_json::Value = reply.json().await?;
    let id = job["id"].as_str().context("the export has no id")?.to_owned();

    loop {
        let job: serde_json::Value =
            client.get(format!("{admin}/api/v1/exports/{id}")).bearer_auth(TOKEN).send().await?.json().await?;
        match job["state"].as_str() {
            Some("running") => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            Some("finished") => break,
            _ => anyhow::bail!("the export ended as {job}"),
        }
    }

    let mut response = client.get(format!("{admin}/api/v1/exports/{id}/file")).bearer_auth(TOKEN).send().await?;
    ensure!(response.status().is_success(), "the download failed: {}", response.status());
    let mut lines = 0;
    while let Some(chunk) = response.chunk().await? {
        lines += chunk.iter().filter(|byte| **byte == b'\n').count();
    }
    Ok(lines)
}

/// CPU times of this process and of the Redis server at the start of a step.
struct CpuTimes {
    own: f64,
    redis: f64,
}

impl CpuTimes {
    fn read(redis: &Redis) -> anyhow::Result<CpuTimes> {
        Ok(CpuTimes { own: cpu_seconds("/proc/self/stat")?, redis: redis.cpu_seconds()? })
    }

    /// Prints the CPU each side used since `self` was read, as seconds and
    /// as a share of the step's `elapsed` seconds, and the Redis commands
    /// that took the most server time: which side limits the rate.
    async fn print(&self, redis: &Redis, elapsed: f64) -> anyhow::Result<()> {
        let own = cpu_seconds("/proc/self/stat")? - self.own;
        let server = redis.cpu_seconds()? - self.redis;
        println!(
            "  cpu: footprint and client {own:.1} s ({:.0}%), redis {server:.1} s ({:.0}%)",
            100.0 * own / elapsed,
            100.0 * server / elapsed
        );
        println!("  redis time by command: {}", redis.busiest_commands(8).await?);
        Ok(())
    }
}

/// Writes `rows` generated contacts and returns the file's size.
fn generate(path: &std::path::Path, rows: usize) -> anyhow::Result<u64> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(file, "email,cellphone,first_name,last_name,notes")?;
    let notes = "n".repeat(100);
    for index in 0..rows {
        writeln!(file, "person{index}@example.com,+3461{index:07},Name{index},Family{},{notes}", index % 997)?;
    }
    file.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Returns this process's peak resident memory, in bytes.
fn peak_rss() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).context("no VmHWM in /proc/self/status")?;
    let kib: u64 = line.split_whitespace().nth(1).context("no VmHWM value")?.parse()?;
    Ok(kib * 1024)
}
