//! Imports through the admin API on both stores: upload, job progress,
//! key modes, overwrite, rejects and their report, static segments,
//! idempotent re-import, the history, and the failure cases C18, C19, C20
//! and C22.

mod support;

use std::sync::Arc;

use footprint::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::app::{client, send, TestApp, TOKEN};

on_both_stores!(
    import_creates_contacts_and_reports_progress,
    reimport_changes_nothing,
    bom_header_and_email_case_match_one_contact,
    quoted_line_breaks_and_quotes_stay_exact,
    phone_variants_are_one_contact,
    modes_create_only_and_update_only_skip,
    overwrite_off_keeps_existing_values,
    taken_email_rejects_the_row_only,
    rejects_report_lists_row_column_reason,
    static_segment_receives_imported_contacts,
    invalid_parameters_and_mapping_are_400,
    ndjson_import_with_explicit_mapping,
    history_lists_imports_newest_first,
    bounced_status_imports_as_bounce,
    overwrite_with_same_status_is_unchanged,
);

/// A store that stops replying for longer than its reply timeout in the
/// middle of an import: the rows that failed are applied again, and every
/// row ends with exactly one contact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_survives_paused_store() {
    let server = support::redis::RedisServer::start();
    let app = TestApp::demo(support::stores::redis(&server).await).await;
    let rows = 5_000;
    let mut file = String::from("email,first_name\n");
    for index in 0..rows {
        file.push_str(&format!("person{index}@example.com,Name{index}\n"));
    }

    let (status, job) = upload(&app, "", "text/csv", file.as_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let path = format!("/api/v1/imports/{}", job["id"].as_str().expect("job id"));
    let running = app.admin_until(&path, |_, job| job["counts"]["read"].as_u64().unwrap_or(0) > 0).await;
    assert_eq!(running["state"], "running", "the pause must fall inside the import: {running}");
    tokio::task::block_in_place(|| server.pause_for(std::time::Duration::from_millis(1_500)));
    let job = finished(&app, &job).await;

    assert_eq!(job["state"], "finished", "{job}");
    assert_eq!(job["counts"]["read"], rows, "{job}");
    assert_eq!(job["counts"]["rejected"], 0, "{job}");
    let created = job["counts"]["created"].as_u64().expect("created");
    let unchanged = job["counts"]["unchanged"].as_u64().expect("unchanged");
    assert_eq!(created + unchanged, rows, "a row whose write ran late counts as unchanged: {job}");
    for index in [0, rows / 2, rows - 1] {
        let contact = by_email(&app, &format!("person{index}@example.com")).await;
        assert_eq!(contact["fields"]["first_name"], format!("Name{index}"), "{contact}");
    }
    assert_eq!(count_listed(&app).await, rows as usize, "one contact per row");
}

/// Counts the contacts in the list, page by page.
async fn count_listed(app: &TestApp) -> usize {
    let mut count = 0;
    let mut path = "/api/v1/contacts?limit=200".to_owned();
    loop {
        let (status, page) = app.admin_get(&path).await;
        assert_eq!(status, 200, "{page}");
        count += page["items"].as_array().expect("items").len();
        match page["next"].as_str() {
            Some(cursor) => path = format!("/api/v1/contacts?limit=200&cursor={cursor}"),
            None => return count,
        }
    }
}

/// Uploads `file` with query `query` and returns the 202 reply's job.
async fn upload(app: &TestApp, query: &str, content_type: &str, file: &[u8]) -> (StatusCode, Value) {
    let response = client()
        .post(format!("http://{}/api/v1/imports?{query}", app.admin))
        .bearer_auth(TOKEN)
        .header("content-type", content_type)
        .body(file.to_vec())
        .send()
        .await
        .expect("admin API answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Imports `file` and waits until the job has ended; returns the job.
async fn import(app: &TestApp, query: &str, file: &[u8]) -> Value {
    let (status, job) = upload(app, query, "text/csv", file).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    finished(app, &job).await
}

async fn finished(app: &TestApp, job: &Value) -> Value {
    let path = format!("/api/v1/imports/{}", job["id"].as_str().expect("job id"));
    app.admin_until(&path, |status, job| status == 200 && job["state"] != "running").await
}

async fn by_email(app: &TestApp, email: &str) -> Value {
    let (status, profile) = app.admin_get(&format!("/api/v1/contacts/by-email/{email}")).await;
    assert_eq!(status, 200, "{email}: {profile}");
    profile
}

async fn total_contacts(app: &TestApp) -> usize {
    let (status, page) = app.admin_get("/api/v1/contacts?limit=200").await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().expect("items").len()
}

async fn rejects_report(app: &TestApp, job: &Value) -> String {
    let response = client()
        .get(format!("http://{}/api/v1/imports/{}/rejects", app.admin, job["id"].as_str().expect("id")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin API answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().expect("type").starts_with("text/csv"));
    response.text().await.expect("report")
}

async fn import_creates_contacts_and_reports_progress(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let file = b"email,first_name,last_name\nana@example.com,Ana,Garcia\nbo@example.com,Bo,\n";

    let job = import(&app, "file_name=people.csv", file).await;

    assert_eq!(job["state"], "finished", "{job}");
    assert_eq!(job["kind"], "import");
    assert_eq!(job["created_by"], "test");
    assert_eq!(job["file_name"], "people.csv");
    assert_eq!(job["format"], "csv");
    assert_eq!(job["counts"]["read"], 2, "{job}");
    assert_eq!(job["counts"]["created"], 2, "{job}");
    assert_eq!(job["counts"]["rejected"], 0, "{job}");
    assert!(job["finished_at"].is_number(), "{job}");
    assert_eq!(job["options"]["key"], "email");
    assert_eq!(job["options"]["mode"], "upsert");
    let link = format!("/api/v1/imports/{}/rejects", job["id"].as_str().expect("id"));
    assert_eq!(job["link"], link.as_str(), "the history links the reject report");
    let ana = by_email(&app, "ana@example.com").await;
    assert_eq!(ana["fields"]["first_name"], "Ana", "{ana}");
    assert_eq!(ana["fields"]["last_name"], "Garcia", "{ana}");
}

async fn reimport_changes_nothing(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let file = b"email,first_name\nana@example.com,Ana\nbo@example.com,Bo\n";

    import(&app, "", file).await;
    let again = import(&app, "", file).await;

    assert_eq!(again["counts"]["created"], 0, "{again}");
    assert_eq!(again["counts"]["updated"], 0, "{again}");
    assert_eq!(again["counts"]["unchanged"], 2, "{again}");
    assert_eq!(total_contacts(&app).await, 2);
    let ana = by_email(&app, "ana@example.com").await;
    let (_, activities) =
        app.admin_get(&format!("/api/v1/contacts/{}/activities", ana["id"].as_str().expect("id"))).await;
    let edits =
        activities["items"].as_array().expect("items").iter().filter(|item| item["type"] == "admin_edit").count();
    assert_eq!(edits, 1, "only the first import changed the contact: {activities}");
}

async fn bom_header_and_email_case_match_one_contact(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let created =
        send(&app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": { "email": "Ana.Garcia@Example.COM" } })))
            .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);

    let file = "\u{feff}email,cellphone,first_name\n\"  ana.garcia@example.com \",,Ana\n";
    let job = import(&app, "", file.as_bytes()).await;

    assert_eq!(job["counts"]["updated"], 1, "the BOM did not hide the email column: {job}");
    assert_eq!(job["counts"]["created"], 0, "{job}");
    assert_eq!(total_contacts(&app).await, 1);
    let ana = by_email(&app, "ANA.GARCIA@example.com").await;
    assert_eq!(ana["fields"]["first_name"], "Ana");
    assert_eq!(ana["fields"]["email"], "Ana.Garcia@Example.COM", "the address stays as first typed");
    let columns = job["columns"]["columns"].as_array().expect("columns");
    assert_eq!(columns[0]["name"], "email", "no U+FEFF in the header: {job}");
}

async fn quoted_line_breaks_and_quotes_stay_exact(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let definition = json!({ "name": "note", "label": "Note", "type": "text" });
    let reply = send(&app, Method::POST, "/api/v1/fields", Some(definition)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);

    let file =
        "email,note\na@example.com,\"Prefers delivery\nafter 18:00\"\nb@example.com,\"Said \"\"hola\"\" twice\"\n";
    let job = import(&app, "", file.as_bytes()).await;

    assert_eq!(job["counts"]["created"], 2, "{job}");
    assert_eq!(total_contacts(&app).await, 2);
    assert_eq!(by_email(&app, "a@example.com").await["custom_fields"]["note"], "Prefers delivery\nafter 18:00");
    assert_eq!(by_email(&app, "b@example.com").await["custom_fields"]["note"], "Said \"hola\" twice");
}

async fn phone_variants_are_one_contact(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let file = "cellphone,first_name\n600 000 001,A\n+34 600-000-001,B\n0034600000001,C\n34600000001,D\n12,E\n";

    let job = import(&app, "key=cellphone&overwrite=true", file.as_bytes()).await;

    assert_eq!(job["counts"]["created"], 1, "{job}");
    assert_eq!(job["counts"]["updated"], 3, "{job}");
    assert_eq!(job["counts"]["rejected"], 1, "{job}");
    assert_eq!(total_contacts(&app).await, 1);
    let (status, contact) = app.admin_get("/api/v1/contacts/by-phone/600000001").await;
    assert_eq!(status, 200, "{contact}");
    assert_eq!(contact["fields"]["cellphone"], "+34600000001");
    assert_eq!(contact["fields"]["first_name"], "D", "each variant updated the same contact");
    let report = rejects_report(&app, &job).await;
    assert!(report.contains("6,cellphone,"), "row 6 (the value 12) is rejected: {report}");
}

async fn modes_create_only_and_update_only_skip(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    import(&app, "", b"email,first_name\nold@example.com,Old\n").await;
    let file = b"email,first_name\nold@example.com,Changed\nnew@example.com,New\n";

    let create_only = import(&app, "mode=create_only&overwrite=true", file).await;
    assert_eq!(create_only["counts"]["created"], 1, "{create_only}");
    assert_eq!(create_only["counts"]["skipped"], 1, "{create_only}");
    assert_eq!(by_email(&app, "old@example.com").await["fields"]["first_name"], "Old");

    let file = b"email,first_name\nold@example.com,Changed\nother@example.com,Other\n";
    let update_only = import(&app, "mode=update_only&overwrite=true", file).await;
    assert_eq!(update_only["counts"]["updated"], 1, "{update_only}");
    assert_eq!(update_only["counts"]["skipped"], 1, "{update_only}");
    assert_eq!(by_email(&app, "old@example.com").await["fields"]["first_name"], "Changed");
    let (status, _) = app.admin_get("/api/v1/contacts/by-email/other@example.com").await;
    assert_eq!(status, 404, "update-only creates nobody");
}

async fn overwrite_off_keeps_existing_values(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    import(&app, "", b"email,first_name\nana@example.com,Ana\n").await;

    let job = import(&app, "", b"email,first_name,last_name\nana@example.com,Anna,Garcia\n").await;
    assert_eq!(job["counts"]["updated"], 1, "{job}");
    let ana = by_email(&app, "ana@example.com").await;
    assert_eq!(ana["fields"]["first_name"], "Ana", "kept without overwrite");
    assert_eq!(ana["fields"]["last_name"], "Garcia", "an empty field is filled");

    import(&app, "overwrite=true", b"email,first_name\nana@example.com,Anna\n").await;
    assert_eq!(by_email(&app, "ana@example.com").await["fields"]["first_name"], "Anna", "replaced with overwrite");
}

async fn taken_email_rejects_the_row_only(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    import(&app, "", b"email,cellphone\nana@example.com,+34600000001\n").await;

    let file = b"cellphone,email,first_name\n+34600000002,ana@example.com,Bo\n+34600000003,cy@example.com,Cy\n";
    let job = import(&app, "key=cellphone", file).await;

    assert_eq!(job["counts"]["rejected"], 1, "{job}");
    assert_eq!(job["counts"]["created"], 1, "{job}");
    let (status, _) = app.admin_get("/api/v1/contacts/by-phone/+34600000002").await;
    assert_eq!(status, 404, "a rejected row creates nothing");
    let report = rejects_report(&app, &job).await;
    assert!(report.contains("2,email,another contact already has this email"), "{report}");
}

async fn rejects_report_lists_row_column_reason(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let file = b"email,date_of_birth\nok@example.com,1990-05-01\nnot-an-email,1990-05-01\nbad@example.com,1990-13-01\n";

    let job = import(&app, "", file).await;

    assert_eq!(job["counts"]["read"], 3, "{job}");
    assert_eq!(job["counts"]["created"], 1, "{job}");
    assert_eq!(job["counts"]["rejected"], 2, "{job}");
    let report = rejects_report(&app, &job).await;
    let mut lines = report.lines();
    assert_eq!(lines.next(), Some("row,column,reason"));
    assert!(lines.next().is_some_and(|line| line.starts_with("3,email,")), "{report}");
    assert!(lines.next().is_some_and(|line| line.starts_with("4,date_of_birth,")), "{report}");
    assert!(!report.contains("not-an-email"), "the report never repeats a value");
}

async fn static_segment_receives_imported_contacts(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let reply = send(&app, Method::POST, "/api/v1/segments", Some(json!({ "name": "Fair", "kind": "static" }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let segment = reply.json["id"].as_str().expect("id").to_owned();

    let job = import(&app, &format!("segment={segment}"), b"email\na@example.com\nb@example.com\n").await;
    assert_eq!(job["counts"]["created"], 2, "{job}");
    let (_, members) = app.admin_get(&format!("/api/v1/segments/{segment}/members")).await;
    assert_eq!(members["items"].as_array().expect("items").len(), 2, "{members}");

    let dynamic = json!({ "name": "Dyn", "kind": "dynamic", "condition": { "field": "email", "op": "is_set" } });
    let reply = send(&app, Method::POST, "/api/v1/segments", Some(dynamic)).await;
    let (status, problem) =
        upload(&app, &format!("segment={}", reply.json["id"].as_str().expect("id")), "text/csv", b"email\n").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["field"], "segment");
}

async fn invalid_parameters_and_mapping_are_400(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let file = b"email,first_name\na@example.com,A\n";
    for (query, field) in [
        ("key=fax", "key"),
        ("mode=replace", "mode"),
        ("overwrite=maybe", "overwrite"),
        ("format=xlsx", "format"),
        ("encoding=utf-16", "encoding"),
        ("delimiter=colon", "delimiter"),
        ("mapping=not-json", "mapping"),
        ("mapping=%7B%22nope%22%3A%22email%22%7D", "mapping"),
        ("segment=not-a-uuid", "segment"),
        ("unknown=1", "unknown"),
        ("key=cellphone", "body"),
        ("date_format=%5Bnonsense%5D", "date_format"),
    ] {
        let (status, problem) = upload(&app, query, "text/csv", file).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
    let (status, problem) = upload(&app, "", "text/csv", b"").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an empty file: {problem}");
    assert_eq!(total_contacts(&app).await, 0, "no refused upload imported anything");
    let (_, history) = app.admin_get("/api/v1/transfers").await;
    assert_eq!(history["items"].as_array().expect("items").len(), 0, "refused uploads start no job: {history}");
}

async fn ndjson_import_with_explicit_mapping(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let file = b"{\"mail\":\"a@example.com\",\"name\":\"A\"}\n\n{\"mail\":\"b@example.com\",\"name\":\"B\"}\n";
    let mapping = "%7B%22mail%22%3A%22email%22%2C%22name%22%3A%22first_name%22%7D";

    let (status, job) = upload(&app, &format!("mapping={mapping}"), "application/x-ndjson", file).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = finished(&app, &job).await;

    assert_eq!(job["format"], "ndjson");
    assert_eq!(job["counts"]["created"], 2, "{job}");
    assert_eq!(by_email(&app, "b@example.com").await["fields"]["first_name"], "B");
}

async fn history_lists_imports_newest_first(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let first = import(&app, "file_name=one.csv", b"email\na@example.com\n").await;
    let second = import(&app, "file_name=two.csv", b"email\nb@example.com\n").await;

    let (status, page) = app.admin_get("/api/v1/transfers?limit=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["id"], second["id"]);
    let next = page["next"].as_str().expect("a next page");
    let (_, rest) = app.admin_get(&format!("/api/v1/transfers?limit=1&before={next}")).await;
    assert_eq!(rest["items"][0]["id"], first["id"]);
    assert_eq!(rest["items"][0]["file_name"], "one.csv");
    assert!(rest["next"].is_null(), "{rest}");

    let (status, problem) = app.admin_get("/api/v1/transfers?limit=0").await;
    assert_eq!(status, 400, "{problem}");
    let (status, _) = app.admin_get(&format!("/api/v1/imports/{}", footprint::store::TransferId::new())).await;
    assert_eq!(status, 404);
}

async fn bounced_status_imports_as_bounce(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let file = b"email,email_status\nbounce@example.com,Bounced\nfine@example.com,active\n";

    let job = import(&app, "", file).await;
    assert_eq!(job["counts"]["created"], 2, "{job}");
    assert_eq!(job["counts"]["rejected"], 0, "{job}");
    let bounced = by_email(&app, "bounce@example.com").await;
    assert_eq!(bounced["statuses"]["email"]["status"], "bounced", "{bounced}");
    let fine = by_email(&app, "fine@example.com").await;
    assert_eq!(fine["statuses"]["email"]["status"], "active", "{fine}");

    let again = import(&app, "overwrite=true", file).await;
    assert_eq!(again["counts"]["unchanged"], 2, "a bounced address is not bounced twice: {again}");
    assert_eq!(again["counts"]["updated"], 0, "{again}");
}

async fn overwrite_with_same_status_is_unchanged(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let file = b"email,newsletter_status\nwes@example.com,subscribed\n";
    let job = import(&app, "", file).await;
    assert_eq!(job["counts"]["created"], 1, "{job}");

    let again = import(&app, "overwrite=true", file).await;

    assert_eq!(again["counts"]["unchanged"], 1, "{again}");
    assert_eq!(again["counts"]["updated"], 0, "{again}");
    let changed = import(&app, "overwrite=true", b"email,newsletter_status\nwes@example.com,unsubscribed\n").await;
    assert_eq!(changed["counts"]["updated"], 1, "{changed}");
}
