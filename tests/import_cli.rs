//! `footprint import` against a `footprint serve` process on Redis, both
//! started by the test: progress output, the reject report, a refused
//! upload, and a 200,000-row import whose peak server memory stays below
//! a bound.

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use support::serve::ServeOnRedis;

/// Growth of the server's peak resident memory that the 200,000-row
/// import may cause. The file is about 60 MB, so a server that held it,
/// or every row, would exceed the bound.
const MAX_PEAK_GROWTH_BYTES: u64 = 40 << 20;

/// Runs `footprint import` with `arguments` after the file; its output is
/// not a terminal, so progress comes as plain lines.
fn import(server: &ServeOnRedis, file: &Path, arguments: &[&str]) -> Output {
    let file = file.to_str().expect("a UTF-8 path");
    server.run_client([&["import", file], arguments].concat())
}

fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("file written");
    path
}

/// Returns the peak resident memory of process `pid`, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).expect("VmHWM line");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|value| value.parse().ok()).expect("VmHWM value");
    kib * 1024
}

#[tokio::test]
async fn cli_imports_and_downloads_rejects() {
    let server = ServeOnRedis::start().await;
    let file = write_file(
        server.dir.path(),
        "people.csv",
        "email,first_name\na@example.com,Ana\nnot-an-email,Bo\nc@example.com,Cy\n",
    );
    let rejects = server.dir.path().join("rejects.csv");

    let output = import(&server, &file, &["--rejects", rejects.to_str().expect("path")]);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stdout: {stdout} stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("uploaded"), "{stdout}");
    assert!(stdout.contains("finished: read 3 rows: created 2"), "{stdout}");
    assert!(stdout.contains("rejected 1"), "{stdout}");
    let report = std::fs::read_to_string(&rejects).expect("reject report written");
    assert!(report.starts_with("row,column,reason\n3,email,"), "{report}");
    let (status, contact) = server.footprint.admin_get("/api/v1/contacts/by-email/c@example.com").await;
    assert_eq!(status, 200, "{contact}");
    let (_, history) = server.footprint.admin_get("/api/v1/transfers").await;
    assert_eq!(history["items"][0]["file_name"], "people.csv", "{history}");
}

#[tokio::test]
async fn cli_reports_refused_upload() {
    let server = ServeOnRedis::start().await;
    let file = write_file(server.dir.path(), "people.csv", "mail\na@example.com\n");

    let output = import(&server, &file, &["--mapping", "{\"nope\":\"email\"}"]);

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("import rejected (400 Bad Request): mapping:"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("uploaded"), "a rejected upload is not reported as uploaded: {stdout}");
    let (_, history) = server.footprint.admin_get("/api/v1/transfers").await;
    assert_eq!(history["items"].as_array().expect("items").len(), 0, "{history}");
}

#[tokio::test]
async fn cli_takes_api_root_and_rejects_directory() {
    let server = ServeOnRedis::start().await;
    let file = write_file(server.dir.path(), "people.csv", "email\na@example.com\nnot-an-email\n");
    let client = |path: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_footprint"))
            .args(["import", path.to_str().expect("a UTF-8 path")])
            .env("FOOTPRINT_ADMIN_URL", format!("{}/api/v1/", server.footprint.admin_url()))
            .env("FOOTPRINT_ADMIN_TOKEN", server.footprint.token())
            .output()
            .expect("the footprint binary runs")
    };

    let output = client(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the API root as printed by the demo works: {stdout}");
    assert!(stdout.contains("read 2 rows: created 1"), "{stdout}");
    assert!(stdout.contains("the reject report is at /api/v1/imports/"), "{stdout}");

    let output = client(server.dir.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a file"), "{stderr}");
}

#[tokio::test]
async fn large_import_keeps_server_memory_flat() {
    let server = ServeOnRedis::start().await;
    let rows = 200_000;
    let path = server.dir.path().join("large.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("file"));
    writeln!(file, "email,first_name,last_name,unknown_notes").expect("header");
    let notes = "x".repeat(240);
    for index in 0..rows {
        writeln!(file, "person{index}@example.com,Name{index},Family{},\"{notes}\"", index % 97).expect("row");
    }
    file.flush().expect("flushed");
    drop(file);
    let before = peak_rss(server.footprint.pid());

    let output = import(&server, &path, &[]);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stdout: {stdout} stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(
        stdout.contains(&format!("read {rows} rows: created {rows}, updated 0, unchanged 0, skipped 0, rejected 0")),
        "{stdout}"
    );
    assert!(stdout.contains("columns not imported: unknown_notes"), "{stdout}");
    let after = peak_rss(server.footprint.pid());
    let growth = after.saturating_sub(before);
    eprintln!("server peak RSS {before} bytes before, {after} after the import");
    assert!(growth < MAX_PEAK_GROWTH_BYTES, "peak RSS grew by {growth} bytes, bound {MAX_PEAK_GROWTH_BYTES}");
    let (status, contact) = server.footprint.admin_get("/api/v1/contacts/by-email/person199999@example.com").await;
    assert_eq!(status, 200, "{contact}");
}
