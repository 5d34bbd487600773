//! Exports through the admin API on both stores: CSV and NDJSON files,
//! filters, column selection, activities by type and time, the download
//! and its states, and the history.
//!
//! A CSV export also imports back into the same profiles. Multi-line and
//! quoted cells and formula-like values survive, and re-importing the file
//! into its own app changes nothing.

mod support;

use std::sync::Arc;

use footprint::store::redis::RedisStore;
use footprint::store::{
    now_millis, Retention, Store, TransferCounts, TransferId, TransferJob, TransferKind, TransferState,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::app::{client, send, TestApp, TOKEN};
use time::format_description::well_known::Rfc3339;

on_both_stores!(
    ndjson_export_writes_one_object_per_contact,
    filters_has_email_and_segment,
    column_selection_and_unknown_column,
    activities_filtered_by_type_and_time,
    history_lists_the_export,
    invalid_members_are_400_with_field,
    file_of_running_or_missing_export,
);

/// Generates, for each named `async fn case(store, fresh_store)`, a test
/// on two embedded stores and one on two key prefixes of one Redis
/// server, so a case can import into an empty store of the same kind.
macro_rules! on_both_store_pairs {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[tokio::test]
                async fn embedded() {
                    let (store, fresh) = (crate::support::stores::embedded(), crate::support::stores::embedded());
                    super::$case(store, fresh).await;
                }

                #[tokio::test]
                async fn redis() {
                    let server = crate::support::redis::RedisServer::start();
                    let store = crate::support::stores::redis(&server).await;
                    super::$case(store, super::redis_store(&server.url(), "fresh:").await).await;
                }
            }
        )*
    };
}

on_both_store_pairs!(csv_export_imports_back_into_same_profiles);

async fn redis_store(url: &str, prefix: &str) -> Arc<dyn Store> {
    Arc::new(RedisStore::connect(url, prefix, Retention::default()).await.expect("connect to test redis"))
}

/// Starts an export with `body` and returns the status and the reply.
async fn start(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let reply = send(app, Method::POST, "/api/v1/exports", Some(body)).await;
    (reply.status, reply.json)
}

/// Runs an export to its end and returns the job.
async fn export(app: &TestApp, body: Value) -> Value {
    let (status, job) = start(app, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let path = format!("/api/v1/exports/{}", job["id"].as_str().expect("job id"));
    let job = app.admin_until(&path, |status, job| status == 200 && job["state"] != "running").await;
    assert_eq!(job["state"], "finished", "{job}");
    job
}

/// A downloaded export file.
struct Download {
    status: StatusCode,
    content_type: String,
    disposition: String,
    text: String,
}

async fn download(app: &TestApp, id: &str) -> Download {
    let response = client()
        .get(format!("http://{}/api/v1/exports/{id}/file", app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin API answers");
    let header = |name: &str| {
        response.headers().get(name).map(|value| value.to_str().expect("ASCII header").to_owned()).unwrap_or_default()
    };
    let (status, content_type, disposition) =
        (response.status(), header("content-type"), header("content-disposition"));
    Download { status, content_type, disposition, text: response.text().await.expect("file") }
}

/// Runs an export and downloads its file.
async fn export_file(app: &TestApp, body: Value) -> (Value, Download) {
    let job = export(app, body).await;
    let file = download(app, job["id"].as_str().expect("id")).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.text);
    (job, file)
}

async fn define(app: &TestApp, body: Value) {
    let reply = send(app, Method::POST, "/api/v1/fields", Some(body.clone())).await;
    assert_eq!(reply.status, StatusCode::CREATED, "defining {body} failed: {}", reply.json);
}

async fn create(app: &TestApp, fields: Value) -> String {
    let reply = send(app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": fields }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "create failed: {}", reply.json);
    reply.json["id"].as_str().expect("the profile has an id").to_owned()
}

async fn by_email(app: &TestApp, email: &str) -> Value {
    let (status, profile) = app.admin_get(&format!("/api/v1/contacts/by-email/{email}")).await;
    assert_eq!(status, 200, "{email}: {profile}");
    profile
}

/// Uploads `file` as a CSV import and waits until the job has ended.
async fn import(app: &TestApp, file: &str) -> Value {
    let response = client()
        .post(format!("http://{}/api/v1/imports", app.admin))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body(file.to_owned())
        .send()
        .await
        .expect("admin API answers");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.expect("job");
    let path = format!("/api/v1/imports/{}", job["id"].as_str().expect("job id"));
    app.admin_until(&path, |status, job| status == 200 && job["state"] != "running").await
}

fn data_lines(text: &str) -> Vec<&str> {
    text.lines().skip(1).collect()
}

/// Defines the custom fields of the round trip.
async fn define_round_trip_fields(app: &TestApp) {
    define(app, json!({ "name": "note", "label": "Note", "type": "text" })).await;
    define(app, json!({ "name": "motto", "label": "Motto", "type": "text" })).await;
    define(app, json!({ "name": "shoe_size", "label": "Shoe size", "type": "integer" })).await;
}

async fn csv_export_imports_back_into_same_profiles(store: Arc<dyn Store>, fresh: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define_round_trip_fields(&app).await;
    let contacts = [
        json!({ "email": "ana@example.com", "first_name": "Ana", "last_name": "García", "cellphone": "+34600000001",
                "date_of_birth": "1990-05-01", "note": "Prefers delivery\nafter 18:00", "shoe_size": 38 }),
        json!({ "email": "bo@example.com", "first_name": "Bo", "note": "Said \"hola\" twice", "motto": "=1+2" }),
        json!({ "email": "cy@example.com", "last_name": "Smith, Jr." }),
    ];
    for fields in &contacts {
        create(&app, fields.clone()).await;
    }

    let (job, file) = export_file(&app, json!({ "bom": true })).await;

    assert_eq!(job["kind"], "export");
    assert_eq!(job["counts"]["read"], 3, "{job}");
    assert_eq!(job["format"], "csv");
    assert_eq!(job["options"]["bom"], true, "{job}");
    assert_eq!(file.content_type, "text/csv; charset=utf-8");
    let id = job["id"].as_str().expect("id");
    assert_eq!(file.disposition, format!("attachment; filename=\"contacts-{id}.csv\""));
    assert!(file.text.starts_with('\u{feff}'), "the file starts with a byte order mark");
    assert!(file.text.contains("\"Prefers delivery\nafter 18:00\""), "{}", file.text);
    assert!(file.text.contains("\"Said \"\"hola\"\" twice\""), "{}", file.text);
    assert!(file.text.contains(",'=1+2,"), "a formula is neutralised: {}", file.text);

    let copy = TestApp::demo(fresh).await;
    define_round_trip_fields(&copy).await;
    let imported = import(&copy, &file.text).await;
    assert_eq!(imported["state"], "finished", "{imported}");
    assert_eq!(imported["counts"]["created"], 3, "{imported}");
    assert_eq!(imported["counts"]["rejected"], 0, "{imported}");
    for fields in &contacts {
        let email = fields["email"].as_str().expect("email");
        let (original, restored) = (by_email(&app, email).await, by_email(&copy, email).await);
        assert_eq!(restored["fields"], original["fields"], "{email}");
        assert_eq!(restored["custom_fields"], original["custom_fields"], "{email}");
        for channel in ["email", "newsletter", "cellphone", "sms"] {
            let (before, after) = (&original["statuses"][channel]["status"], &restored["statuses"][channel]["status"]);
            assert_eq!(after, before, "{email} {channel}");
        }
    }
    assert_eq!(by_email(&copy, "bo@example.com").await["custom_fields"]["motto"], "=1+2");
    assert_eq!(by_email(&copy, "ana@example.com").await["custom_fields"]["note"], "Prefers delivery\nafter 18:00");

    let again = import(&app, &file.text).await;
    assert_eq!(again["counts"]["read"], 3, "{again}");
    assert_eq!(again["counts"]["unchanged"], 3, "re-importing an export changes nothing: {again}");
    assert_eq!(again["counts"]["updated"], 0, "{again}");
    assert_eq!(again["counts"]["created"], 0, "{again}");
    copy.stop().await;
    app.stop().await;
}

async fn ndjson_export_writes_one_object_per_contact(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    create(&app, json!({ "email": "ana@example.com", "first_name": "Ana" })).await;
    create(&app, json!({ "email": "bo@example.com" })).await;

    let (job, file) = export_file(&app, json!({ "format": "ndjson", "bom": true })).await;

    assert_eq!(job["format"], "ndjson");
    assert_eq!(file.content_type, "application/x-ndjson");
    let id = job["id"].as_str().expect("id");
    assert_eq!(file.disposition, format!("attachment; filename=\"contacts-{id}.ndjson\""));
    assert!(!file.text.starts_with('\u{feff}'), "NDJSON never has a byte order mark");
    let rows: Vec<Value> = file.text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    assert_eq!(rows.len(), 2, "{}", file.text);
    let ana = rows.iter().find(|row| row["email"] == "ana@example.com").expect("Ana's row");
    assert_eq!(ana["first_name"], "Ana", "{ana}");
    app.stop().await;
}

async fn filters_has_email_and_segment(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let ana = create(&app, json!({ "email": "ana@example.com" })).await;
    create(&app, json!({ "email": "bo@example.com" })).await;
    create(&app, json!({ "cellphone": "+34600000003" })).await;
    let reply = send(&app, Method::POST, "/api/v1/segments", Some(json!({ "name": "Fair", "kind": "static" }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let segment = reply.json["id"].as_str().expect("id").to_owned();
    let added = send(&app, Method::PUT, &format!("/api/v1/segments/{segment}/members/{ana}"), None).await;
    assert!(added.status.is_success(), "{}", added.json);

    let (_, all) = export_file(&app, json!({ "columns": ["email"] })).await;
    assert_eq!(data_lines(&all.text).len(), 3, "{}", all.text);

    let (job, with_email) = export_file(&app, json!({ "columns": ["email"], "filter": { "has_email": true } })).await;
    let mut emails = data_lines(&with_email.text);
    emails.sort_unstable();
    assert_eq!(emails, ["ana@example.com", "bo@example.com"]);
    assert_eq!(job["options"]["filter"]["has_email"], true, "{job}");

    let (_, members) = export_file(&app, json!({ "columns": ["email"], "filter": { "segment": segment } })).await;
    assert_eq!(data_lines(&members.text), ["ana@example.com"]);

    let unknown = json!({ "filter": { "segment": TransferId::new().to_string() } });
    let (status, problem) = start(&app, unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(problem["field"], "filter.segment");
    app.stop().await;
}

async fn column_selection_and_unknown_column(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    create(&app, json!({ "email": "ana@example.com", "first_name": "Ana", "last_name": "Garcia" })).await;

    let body = json!({ "columns": ["first_name", "email"], "delimiter": "semicolon" });
    let (job, file) = export_file(&app, body).await;

    assert_eq!(file.text, "first_name;email\r\nAna;ana@example.com\r\n", "CSV records end with CRLF");
    assert_eq!(job["options"]["columns"], json!(["first_name", "email"]), "{job}");
    assert_eq!(job["options"]["delimiter"], "semicolon", "{job}");

    let (status, problem) = start(&app, json!({ "columns": ["email", "shoe_size"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["field"], "columns");
    assert!(problem["detail"].as_str().expect("detail").contains("shoe_size"), "{problem}");
    app.stop().await;
}

fn rfc3339(millis: i64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).expect("a valid time");
    time.format(&Rfc3339).expect("formats")
}

async fn activities_filtered_by_type_and_time(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let started = now_millis();
    let ana = create(&app, json!({ "email": "ana@example.com" })).await;
    create(&app, json!({ "email": "bo@example.com" })).await;
    let bounce = json!({ "email": "ana@example.com", "type": "hard_bounce" });
    let reply = send(&app, Method::POST, "/api/v1/email-events", Some(bounce)).await;
    assert!(reply.status.is_success(), "{}", reply.json);
    app.admin_until(&format!("/api/v1/contacts/{ana}"), |_, profile| profile["counters"]["email_bounce"] == 1).await;

    let body = json!({ "what": "activities", "types": ["email_bounce"] });
    let (job, bounces) = export_file(&app, body).await;
    let rows = data_lines(&bounces.text);
    assert_eq!(rows.len(), 1, "{}", bounces.text);
    assert!(rows[0].starts_with(&format!("{ana},")), "{}", bounces.text);
    assert!(rows[0].contains(",email_bounce,"), "{}", bounces.text);
    assert_eq!(bounces.text.lines().next(), Some("contact_id,at,type,url,referrer,properties"));
    let id = job["id"].as_str().expect("id");
    assert_eq!(bounces.disposition, format!("attachment; filename=\"activities-{id}.csv\""));
    assert_eq!(job["options"]["types"], json!(["email_bounce"]), "{job}");

    let window = json!({ "what": "activities", "types": ["admin_edit"], "from": rfc3339(started - 60_000),
                         "to": rfc3339(now_millis() + 3_600_000), "format": "ndjson" });
    let (_, edits) = export_file(&app, window).await;
    let rows: Vec<Value> = edits.text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    assert_eq!(rows.len(), 2, "one admin_edit per created contact: {}", edits.text);
    assert!(rows.iter().all(|row| row["type"] == "admin_edit"), "{}", edits.text);

    let past = json!({ "what": "activities", "from": "2000-01-01T00:00:00Z", "to": "2000-12-31T23:59:59Z" });
    let (job, none) = export_file(&app, past).await;
    assert_eq!(data_lines(&none.text).len(), 0, "no activity is that old: {}", none.text);
    assert_eq!(job["counts"]["read"], 0, "{job}");
    app.stop().await;
}

async fn history_lists_the_export(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    create(&app, json!({ "email": "ana@example.com" })).await;
    let imported = import(&app, "email\nbo@example.com\n").await;
    let exported = export(&app, json!({})).await;

    let (status, page) = app.admin_get("/api/v1/transfers").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["id"], exported["id"], "{page}");
    assert_eq!(page["items"][0]["kind"], "export");
    assert_eq!(page["items"][0]["created_by"], "test");
    assert_eq!(page["items"][0]["counts"]["read"], 2, "{page}");
    assert_eq!(page["items"][1]["id"], imported["id"], "{page}");
    let file = format!("/api/v1/exports/{}/file", exported["id"].as_str().expect("id"));
    assert_eq!(page["items"][0]["link"], file.as_str(), "the history links the exported file");
    let (status, _) = app.admin_get(&file).await;
    assert_eq!(status, 200, "the link downloads the file");

    let (status, _) = app.admin_get(&format!("/api/v1/exports/{}", imported["id"].as_str().expect("id"))).await;
    assert_eq!(status, 404, "an import is no export");
    let (status, _) = app.admin_get(&format!("/api/v1/imports/{}", exported["id"].as_str().expect("id"))).await;
    assert_eq!(status, 404, "an export is no import");
    let (status, _) = app.admin_get(&format!("/api/v1/exports/{}", TransferId::new())).await;
    assert_eq!(status, 404);
    app.stop().await;
}

async fn invalid_members_are_400_with_field(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    for (body, field) in [
        (json!({ "what": "orders" }), "what"),
        (json!({ "format": "xlsx" }), "format"),
        (json!({ "delimiter": "colon" }), "delimiter"),
        (json!({ "bom": "yes" }), "bom"),
        (json!({ "columns": "email" }), "columns"),
        (json!({ "columns": [] }), "columns"),
        (json!({ "filter": { "vip": true } }), "filter.vip"),
        (json!({ "filter": { "has_email": "yes" } }), "filter.has_email"),
        (json!({ "filter": { "segment": "not-a-uuid" } }), "filter.segment"),
        (json!({ "filter": [] }), "filter"),
        (json!({ "types": ["admin_edit"] }), "types"),
        (json!({ "what": "activities", "types": ["teleport"] }), "types"),
        (json!({ "what": "activities", "columns": ["email"] }), "columns"),
        (json!({ "what": "activities", "from": "yesterday" }), "from"),
        (json!({ "what": "activities", "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z" }), "from"),
        (json!({ "limit": 5 }), "limit"),
        (json!([]), "body"),
    ] {
        let (status, problem) = start(&app, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }

    let (_, history) = app.admin_get("/api/v1/transfers").await;
    assert_eq!(history["items"].as_array().expect("items").len(), 0, "invalid requests start no job: {history}");
    app.stop().await;
}

fn export_entry(state: TransferState) -> TransferJob {
    let id = TransferId::new();
    TransferJob {
        id,
        kind: TransferKind::Export,
        state,
        created_by: "test".to_owned(),
        created_at: now_millis(),
        finished_at: None,
        updated_at: now_millis(),
        file_name: Some(format!("contacts-{id}.csv")),
        format: "csv".to_owned(),
        options: json!({}),
        counts: TransferCounts::default(),
        columns: json!({ "columns": [] }),
        error: None,
        link: None,
        expired_at: None,
    }
}

async fn file_of_running_or_missing_export(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let running = export_entry(TransferState::Running);
    store.save_transfer(&running).await.expect("saved");
    let missing_file = export_entry(TransferState::Finished);
    store.save_transfer(&missing_file).await.expect("saved");

    let file = download(&app, &running.id.to_string()).await;
    assert_eq!(file.status, StatusCode::CONFLICT, "{}", file.text);
    let file = download(&app, &missing_file.id.to_string()).await;
    assert_eq!(file.status, StatusCode::NOT_FOUND, "{}", file.text);
    let file = download(&app, &TransferId::new().to_string()).await;
    assert_eq!(file.status, StatusCode::NOT_FOUND, "{}", file.text);
    app.stop().await;
}
