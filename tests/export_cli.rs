//! `footprint export` against a `footprint serve` process on Redis, both
//! started by the test: CSV to standard output and NDJSON to `--output`,
//! the contact filters, activities by type, rejected options and tokens,
//! a failed job, and an export imported again with `footprint import`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::serve::ServeOnRedis;

/// Runs `footprint export` with `arguments`. Its standard error is not a
/// terminal, so progress comes as plain lines.
fn export(server: &ServeOnRedis, arguments: &[&str]) -> Output {
    server.run_client([&["export"], arguments].concat())
}

/// Imports `content` as `name` with `footprint import` and `arguments`,
/// and asserts that the import finished.
fn import(server: &ServeOnRedis, name: &str, content: &str, arguments: &[&str]) {
    let file = write_file(server.dir.path(), name, content);
    import_file(server, &file, arguments);
}

fn import_file(server: &ServeOnRedis, file: &Path, arguments: &[&str]) {
    let file = file.to_str().expect("a UTF-8 path");
    let output = server.run_client([&["import", file], arguments].concat());
    assert!(output.status.success(), "import failed: {}{}", stdout(&output), stderr(&output));
}

/// Sends `POST path` with a JSON body to the admin API and returns the
/// status and the JSON reply.
async fn post(server: &ServeOnRedis, path: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{}{path}", server.footprint.admin_url()))
        .bearer_auth(server.footprint.token())
        .json(&body)
        .send()
        .await
        .expect("admin API responds");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn by_email(server: &ServeOnRedis, email: &str) -> Value {
    let (status, contact) = server.footprint.admin_get(&format!("/api/v1/contacts/by-email/{email}")).await;
    assert_eq!(status, StatusCode::OK, "{email}: {contact}");
    contact
}

fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("file written");
    path
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Returns the data lines of a CSV file, sorted, without the header.
fn sorted_rows(text: &str) -> Vec<&str> {
    let mut rows: Vec<&str> = text.lines().skip(1).collect();
    rows.sort_unstable();
    rows
}

const PEOPLE: &str = "email,first_name\nana@example.com,Ana\nbo@example.com,Bo\ncy@example.com,Cy\n";

#[tokio::test]
async fn csv_goes_to_standard_output_only() {
    let server = ServeOnRedis::start().await;
    import(&server, "people.csv", PEOPLE, &[]);

    let output = export(&server, &["--columns", "email,first_name"]);

    let (text, log) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "stderr: {log}");
    assert_eq!(text.lines().next(), Some("email,first_name"), "{text}");
    assert_eq!(sorted_rows(&text), ["ana@example.com,Ana", "bo@example.com,Bo", "cy@example.com,Cy"]);
    assert_eq!(text.lines().count(), 4, "standard output has the file's lines only: {text}");
    assert!(log.contains("finished: wrote 3 rows"), "{log}");
    assert!(log.contains("written to standard output"), "{log}");
    let (_, history) = server.footprint.admin_get("/api/v1/transfers").await;
    assert_eq!(history["items"][0]["kind"], "export", "{history}");
    assert_eq!(history["items"][0]["options"]["columns"], json!(["email", "first_name"]), "{history}");
}

#[tokio::test]
async fn ndjson_goes_to_output_file() {
    let server = ServeOnRedis::start().await;
    import(&server, "people.csv", PEOPLE, &[]);
    let file = server.dir.path().join("people.ndjson");

    let output = export(&server, &["--format", "ndjson", "--output", file.to_str().expect("path")]);

    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {log}");
    assert!(output.stdout.is_empty(), "standard output stays empty: {}", stdout(&output));
    assert!(log.contains(&format!("written to {}", file.display())), "{log}");
    let text = std::fs::read_to_string(&file).expect("the output file");
    let rows: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    assert_eq!(rows.len(), 3, "{text}");
    let ana = rows.iter().find(|row| row["email"] == "ana@example.com").expect("Ana's row");
    assert_eq!(ana["first_name"], "Ana", "{ana}");
    assert!(ana["id"].is_string(), "the default columns include the id: {ana}");
}

#[tokio::test]
async fn segment_and_has_email_filter_contacts() {
    let server = ServeOnRedis::start().await;
    let (status, segment) = post(&server, "/api/v1/segments", json!({ "name": "Fair", "kind": "static" })).await;
    assert_eq!(status, StatusCode::CREATED, "{segment}");
    let segment = segment["id"].as_str().expect("segment id").to_owned();
    import(&server, "fair.csv", "email\nana@example.com\nbo@example.com\n", &["--segment", &segment]);
    import(&server, "others.csv", "email\ncy@example.com\n", &[]);
    import(&server, "phones.csv", "cellphone\n+34600000003\n", &["--key", "cellphone"]);

    let members = export(&server, &["--columns", "email", "--segment", &segment]);
    let with_email = export(&server, &["--columns", "email", "--has-email"]);
    let everyone = export(&server, &["--columns", "email"]);

    assert_eq!(members.status.code(), Some(0), "stderr: {}", stderr(&members));
    assert_eq!(sorted_rows(&stdout(&members)), ["ana@example.com", "bo@example.com"]);
    assert_eq!(with_email.status.code(), Some(0), "stderr: {}", stderr(&with_email));
    assert_eq!(sorted_rows(&stdout(&with_email)), ["ana@example.com", "bo@example.com", "cy@example.com"]);
    assert_eq!(sorted_rows(&stdout(&everyone)).len(), 4, "{}", stdout(&everyone));
    let (_, history) = server.footprint.admin_get("/api/v1/transfers").await;
    let filters: Vec<&Value> = history["items"].as_array().expect("items").iter().map(|job| &job["options"]).collect();
    assert_eq!(filters[2]["filter"]["segment"], segment.as_str(), "{history}");
    assert_eq!(filters[1]["filter"]["has_email"], true, "{history}");
}

#[tokio::test]
async fn activities_filtered_by_type() {
    let server = ServeOnRedis::start().await;
    let (status, segment) = post(&server, "/api/v1/segments", json!({ "name": "Fair", "kind": "static" })).await;
    assert_eq!(status, StatusCode::CREATED, "{segment}");
    let segment = segment["id"].as_str().expect("segment id").to_owned();
    import(&server, "fair.csv", "email\nana@example.com\nbo@example.com\n", &["--segment", &segment]);
    import(&server, "others.csv", "email\ncy@example.com\n", &[]);
    let contact_ids = [by_email(&server, "ana@example.com").await, by_email(&server, "bo@example.com").await]
        .map(|contact| contact["id"].as_str().expect("contact id").to_owned());

    let arguments = ["--what", "activities", "--columns", "contact_id,type", "--types"];
    let entered = export(&server, &[&arguments[..], &["segment_entered"]].concat());
    let edits = export(&server, &[&arguments[..], &["admin_edit,segment_entered"]].concat());
    let purchases = export(&server, &[&arguments[..], &["purchase"]].concat());

    assert_eq!(entered.status.code(), Some(0), "stderr: {}", stderr(&entered));
    let mut expected: Vec<String> = contact_ids.iter().map(|id| format!("{id},segment_entered")).collect();
    expected.sort_unstable();
    assert_eq!(sorted_rows(&stdout(&entered)), expected, "the members' segment_entered activities only");
    let both = stdout(&edits);
    assert_eq!(sorted_rows(&both).iter().filter(|row| row.ends_with(",admin_edit")).count(), 3, "{both}");
    assert_eq!(sorted_rows(&both).iter().filter(|row| row.ends_with(",segment_entered")).count(), 2, "{both}");
    assert_eq!(purchases.status.code(), Some(0), "stderr: {}", stderr(&purchases));
    assert_eq!(stdout(&purchases), "contact_id,type\r\n", "no purchases: the header only");
    assert!(stderr(&purchases).contains("wrote 0 rows"), "{}", stderr(&purchases));
}

#[tokio::test]
async fn invalid_option_exits_1_naming_field() {
    let server = ServeOnRedis::start().await;
    let file = server.dir.path().join("out.csv");
    let path = file.to_str().expect("path");

    let format = export(&server, &["--format", "xml", "--output", path]);
    let types = export(&server, &["--what", "activities", "--types", "purchase,nope"]);
    let activities_only = export(&server, &["--from", "2026-01-31T18:00:00Z"]);

    assert_eq!(format.status.code(), Some(1));
    assert!(stderr(&format).contains("export rejected (400 Bad Request): format:"), "{}", stderr(&format));
    assert!(!file.exists(), "a rejected export leaves no output file");
    assert_eq!(types.status.code(), Some(1));
    assert!(stderr(&types).contains("types:"), "{}", stderr(&types));
    assert!(types.stdout.is_empty(), "{}", stdout(&types));
    assert_eq!(activities_only.status.code(), Some(1));
    assert!(
        stderr(&activities_only).contains("from: applies to activities exports only"),
        "{}",
        stderr(&activities_only)
    );
    let (_, history) = server.footprint.admin_get("/api/v1/transfers").await;
    assert_eq!(history["items"], json!([]), "no job started: {history}");
}

#[tokio::test]
async fn unknown_token_exits_1() {
    let server = ServeOnRedis::start().await;
    let file = server.dir.path().join("out.csv");

    let output = export(&server, &["--token", "not-a-token-of-this-server", "--output", file.to_str().expect("path")]);

    assert_eq!(output.status.code(), Some(1));
    let log = stderr(&output);
    assert!(log.contains("export rejected (401 Unauthorized): Authorization:"), "{log}");
    assert!(!file.exists(), "a rejected export leaves no output file");
}

#[tokio::test]
async fn failed_job_exits_1_and_removes_output() {
    let server = ServeOnRedis::start_with_transfer_dir(|dir| {
        let not_a_dir = dir.join("plain-file");
        std::fs::write(&not_a_dir, b"").expect("a file");
        not_a_dir.join("transfers")
    })
    .await;
    let file = server.dir.path().join("out.csv");

    let output = export(&server, &["--output", file.to_str().expect("path")]);

    assert_eq!(output.status.code(), Some(1));
    let log = stderr(&output);
    assert!(log.contains("failed: creating the export file failed"), "{log}");
    assert!(!file.exists(), "the incomplete output file is removed");
}

#[tokio::test]
async fn exported_csv_imports_into_another_server() {
    let (source, copy) = (ServeOnRedis::start().await, ServeOnRedis::start().await);
    for server in [&source, &copy] {
        let field = json!({ "name": "note", "label": "Note", "type": "text" });
        let (status, reply) = post(server, "/api/v1/fields", field).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    let people = "email,first_name,last_name,cellphone,newsletter_status,note\n\
        ana@example.com,Ana,García,+34600000001,subscribed,\"Prefers delivery\nafter 18:00\"\n\
        bo@example.com,Bo,,,unsubscribed,\"Said \"\"hola\"\"\"\n\
        cy@example.com,,\"Smith, Jr.\",,,=1+2\n";
    import(&source, "people.csv", people, &[]);
    let file = source.dir.path().join("export.csv");

    let exported = export(&source, &["--output", file.to_str().expect("path")]);
    assert_eq!(exported.status.code(), Some(0), "stderr: {}", stderr(&exported));
    import_file(&copy, &file, &[]);

    for email in ["ana@example.com", "bo@example.com", "cy@example.com"] {
        let (original, restored) = (by_email(&source, email).await, by_email(&copy, email).await);
        assert_eq!(restored["fields"], original["fields"], "{email}");
        assert_eq!(restored["custom_fields"], original["custom_fields"], "{email}");
        for channel in ["email", "newsletter", "cellphone", "sms"] {
            let (before, after) = (&original["statuses"][channel]["status"], &restored["statuses"][channel]["status"]);
            assert_eq!(after, before, "{email} {channel}");
        }
    }
    let ana = by_email(&copy, "ana@example.com").await;
    assert_eq!(ana["custom_fields"]["note"], "Prefers delivery\nafter 18:00", "{ana}");
    assert_eq!(ana["statuses"]["newsletter"]["status"], "subscribed", "{ana}");
    assert_eq!(by_email(&copy, "cy@example.com").await["custom_fields"]["note"], "=1+2");
    assert_eq!(by_email(&copy, "cy@example.com").await["fields"]["last_name"], "Smith, Jr.");
}
