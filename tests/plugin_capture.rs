//! Field-capture plugins through the proxy, on both stores: the example
//! plugins in front of the demo shop's forms in all three body encodings,
//! and the fault fixture for plugins that trap, time out or return invalid
//! output.
//!
//! The plugin components are built by `support::plugins` before Footprint
//! starts. Captures are written off the request path, so checks poll the
//! admin API (or the metrics) until the expected state appears.

mod support;

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query};
use axum::http::StatusCode;
use axum::routing::post;
use footprint::config::Config;
use footprint::demo::{self, DemoOptions};
use footprint::store::Store;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::app::{browser, tracker_of, TestApp};

on_both_stores!(
    newsletter_captured_in_three_encodings,
    interests_fill_multiple_choice_in_three_encodings,
    bodies_reach_shop_byte_identical,
    rejected_submissions_capture_nothing,
    faulting_plugin_leaves_response_unchanged,
    invalid_output_changes_nothing,
    capture_moves_contact_into_dynamic_segment,
);

const BOUNDARY: &str = "----footprint-test-boundary";

#[derive(Clone, Copy, Debug)]
enum Encoding {
    Urlencoded,
    Multipart,
    Json,
}

const ENCODINGS: [Encoding; 3] = [Encoding::Urlencoded, Encoding::Multipart, Encoding::Json];

/// Encodes `fields` as a body of `encoding`, with an optional file part at
/// the end of a multipart body. For JSON, repeated names (with or without
/// a trailing `[]`) become one array.
fn encode(encoding: Encoding, fields: &[(&str, &str)], file: Option<&[u8]>) -> (String, Vec<u8>) {
    match encoding {
        Encoding::Urlencoded => {
            let mut serializer = form_urlencoded::Serializer::new(String::new());
            for (name, value) in fields {
                serializer.append_pair(name, value);
            }
            ("application/x-www-form-urlencoded".to_owned(), serializer.finish().into_bytes())
        }
        Encoding::Multipart => {
            let mut body = Vec::new();
            for (name, value) in fields {
                let part =
                    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
                body.extend_from_slice(part.as_bytes());
            }
            if let Some(file) = file {
                let head = format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"photo.bin\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                );
                body.extend_from_slice(head.as_bytes());
                body.extend_from_slice(file);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
            (format!("multipart/form-data; boundary=\"{BOUNDARY}\""), body)
        }
        Encoding::Json => {
            let mut members = serde_json::Map::new();
            let mut repeated: Vec<String> = Vec::new();
            for (name, value) in fields {
                let name = name.trim_end_matches("[]").to_owned();
                let count = fields.iter().filter(|(other, _)| other.trim_end_matches("[]") == name).count();
                if count > 1 || repeated.contains(&name) {
                    repeated.push(name.clone());
                    let entry = members.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(items) = entry {
                        items.push(json!(value));
                    }
                } else {
                    members.insert(name, json!(value));
                }
            }
            ("application/json".to_owned(), serde_json::to_vec(&Value::Object(members)).expect("json"))
        }
    }
}

async fn post_body(shopper: &reqwest::Client, app: &TestApp, path: &str, body: (String, Vec<u8>)) -> reqwest::Response {
    let (content_type, bytes) = body;
    shopper.post(app.url(path)).header("content-type", content_type).body(bytes).send().await.expect("proxied")
}

/// Visits `path` so the browser gets its tracker, and returns the tracker.
async fn visit(shopper: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = shopper.get(app.url(path)).send().await.expect("proxied");
    tracker_of(&response).expect("a tracker cookie")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Builds the demo configuration, for Footprint in front of a test router.
fn demo_config() -> Config {
    let options = DemoOptions { port: 0, admin_port: 0, shop_port: 0 };
    let (config, _) = demo::demo_config(&options, "127.0.0.1:9".parse().expect("address")).expect("demo config");
    config
}

/// Builds a shop whose `/profile` responds with the status in `?status=`
/// (303 by default) and a body naming the SHA-256 and length of the body it
/// read.
fn hashing_shop() -> axum::Router {
    #[derive(serde::Deserialize)]
    struct Answer {
        status: Option<u16>,
    }
    let handler = |Query(answer): Query<Answer>, body: Bytes| async move {
        let status = StatusCode::from_u16(answer.status.unwrap_or(303)).expect("valid status");
        (status, [("location", "/profile/thanks")], format!("{} {}", sha256_hex(&body), body.len()))
    };
    axum::Router::new().route("/profile", post(handler)).layer(DefaultBodyLimit::disable())
}

async fn newsletter_captured_in_three_encodings(store: Arc<dyn Store>) {
    support::plugins::example("newsletter");
    demo::create_field_definitions(&*store).await.expect("custom fields");
    let app = TestApp::demo(store.clone()).await;

    for encoding in ENCODINGS {
        let shopper = browser();
        visit(&shopper, &app, "/newsletter").await;
        let email = format!("ana.{encoding:?}@example.com").to_lowercase();
        let fields = [("email", email.as_str()), ("first_name", "Ana"), ("newsletter", "yes")];

        let response = post_body(&shopper, &app, "/newsletter", encode(encoding, &fields, None)).await;
        assert_eq!(response.status(), 303, "{encoding:?}");

        let profile = app
            .admin_until(&format!("/api/v1/contacts/by-email/{email}"), |status, json| {
                status == 200 && json["statuses"]["newsletter"]["status"] == "subscribed"
            })
            .await;
        assert_eq!(profile["fields"]["email"], email.as_str(), "{encoding:?}");
        assert_eq!(profile["fields"]["first_name"], "Ana", "{encoding:?}");
        assert_eq!(profile["statuses"]["newsletter"]["consent"]["source"], "form", "{encoding:?}");
        assert_eq!(profile["statuses"]["newsletter"]["consent"]["form"], "/newsletter", "{encoding:?}");
    }
    app.stop().await;
}

async fn interests_fill_multiple_choice_in_three_encodings(store: Arc<dyn Store>) {
    support::plugins::example("profile");
    demo::create_field_definitions(&*store).await.expect("custom fields");
    let app = TestApp::demo(store.clone()).await;

    for (number, encoding) in ENCODINGS.into_iter().enumerate() {
        let shopper = browser();
        let tracker = visit(&shopper, &app, "/profile").await;
        let cellphone = format!("60000010{number}");
        let fields = [
            ("csrf", "demo-csrf"),
            ("cellphone", cellphone.as_str()),
            ("city", "Lisbon"),
            ("shoe_size", "42.5"),
            ("interests", "running"),
            ("interests", "yoga"),
            ("interests[]", "cycling"),
        ];

        let response = post_body(&shopper, &app, "/profile", encode(encoding, &fields, None)).await;
        assert_eq!(response.status(), 303, "{encoding:?}");

        let profile = app
            .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
                status == 200 && json["custom_fields"]["city"] == "Lisbon"
            })
            .await;
        assert_eq!(profile["custom_fields"]["interests"], json!(["running", "yoga", "cycling"]), "{encoding:?}");
        assert_eq!(profile["custom_fields"]["shoe_size"], json!(42.5), "{encoding:?}");
        assert_eq!(profile["fields"]["cellphone"], format!("+3460000010{number}"), "{encoding:?}");
        assert_eq!(profile["counters"]["form_submission"], 1, "{encoding:?}");
    }
    app.stop().await;
}

async fn bodies_reach_shop_byte_identical(store: Arc<dyn Store>) {
    support::plugins::example("profile");
    demo::create_field_definitions(&*store).await.expect("custom fields");
    let app = TestApp::with_upstream(demo_config(), hashing_shop(), store.clone()).await;
    let upload: Vec<u8> =
        (0..2 * 1024 * 1024).map(|index: u32| (index.wrapping_mul(2_654_435_761) >> 24) as u8).collect();

    for encoding in ENCODINGS {
        let shopper = browser();
        let tracker = visit(&shopper, &app, "/").await;
        let city = format!("Porto {encoding:?}");
        let fields = [("cellphone", "+351 912 345 678"), ("city", city.as_str())];
        let file = matches!(encoding, Encoding::Multipart).then_some(upload.as_slice());
        let (content_type, body) = encode(encoding, &fields, file);
        let expected = format!("{} {}", sha256_hex(&body), body.len());

        let response = post_body(&shopper, &app, "/profile", (content_type, body)).await;
        assert_eq!(response.status(), 303, "{encoding:?}");
        assert_eq!(response.text().await.expect("body"), expected, "{encoding:?}: the shop read another body");

        let profile = app
            .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
                status == 200 && json["custom_fields"]["city"] == city.as_str()
            })
            .await;
        assert_eq!(profile["counters"]["form_submission"], 1, "{encoding:?}: captured once");
    }
    app.stop().await;
}

async fn rejected_submissions_capture_nothing(store: Arc<dyn Store>) {
    support::plugins::example("profile");
    demo::create_field_definitions(&*store).await.expect("custom fields");
    let app = TestApp::with_upstream(demo_config(), hashing_shop(), store.clone()).await;
    let shopper = browser();
    let tracker = visit(&shopper, &app, "/").await;

    let attempts = [
        ("/profile?status=422", ("shoe_size", "40")),
        ("/profile?status=403", ("date_of_birth", "1990-01-01")),
        ("/profile?status=302", ("city", "Faro")),
    ];
    for (path, field) in attempts {
        let fields = [("cellphone", "600000201"), field];
        let response = post_body(&shopper, &app, path, encode(Encoding::Urlencoded, &fields, None)).await;
        assert_eq!(Some(response.status().as_u16()), path.rsplit('=').next().and_then(|code| code.parse().ok()));
    }

    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["custom_fields"]["city"] == "Faro"
        })
        .await;
    assert!(profile["custom_fields"]["shoe_size"].is_null(), "the 422 submission was captured: {profile}");
    assert!(profile["fields"].get("date_of_birth").is_none(), "the 403 submission was captured: {profile}");
    assert_eq!(profile["counters"]["form_submission"], 1, "captured once");
    app.stop().await;
}

/// Returns the process-wide metrics recorder, installed by the first test
/// that needs it. Tests read counters as deltas, because both stores' runs
/// share it.
fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| PrometheusBuilder::new().install_recorder().expect("install the metrics recorder"))
}

fn fault_count(plugin: &str, kind: &str) -> u64 {
    let prefix = format!("footprint_plugin_faults_total{{plugin=\"{plugin}\",kind=\"{kind}\"}} ");
    metrics()
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

async fn wait_for_fault(plugin: &str, kind: &str, before: u64) {
    let wait = async {
        while fault_count(plugin, kind) <= before {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let guarded = tokio::time::timeout(std::time::Duration::from_secs(30), wait).await;
    assert!(guarded.is_ok(), "no {kind} fault counted for {plugin}");
}

/// Footprint with the fault fixture on `/profile`, named after the store so
/// the two runs of a test count their faults apart.
async fn fixture_app(store: Arc<dyn Store>) -> (TestApp, String) {
    metrics();
    let fixture = support::plugins::fixture_plugin();
    let mut config = demo_config();
    let name = format!("fixture-{}", store.backend());
    let mut rule = config.plugin_rules.iter().find(|rule| rule.name == "profile").expect("profile plugin").clone();
    rule.name = name.clone();
    rule.file = fixture;
    config.plugin_rules = vec![rule];

    let app = TestApp::with_upstream(config, hashing_shop(), store).await;
    (app, name)
}

async fn faulting_plugin_leaves_response_unchanged(store: Arc<dyn Store>) {
    let (app, name) = fixture_app(store).await;

    for (mode, kind) in [("panic", "trap"), ("loop", "timeout")] {
        let shopper = browser();
        let before = fault_count(&name, kind);
        let (content_type, body) = encode(Encoding::Urlencoded, &[("mode", mode), ("city", "Faro")], None);
        let expected = format!("{} {}", sha256_hex(&body), body.len());

        let response = post_body(&shopper, &app, "/profile", (content_type, body)).await;
        assert_eq!(response.status(), 303, "{mode}");
        assert_eq!(response.headers()["location"], "/profile/thanks", "{mode}");
        assert_eq!(response.text().await.expect("body"), expected, "{mode}");
        wait_for_fault(&name, kind, before).await;
    }
    app.stop().await;
}

async fn invalid_output_changes_nothing(store: Arc<dyn Store>) {
    let (app, name) = fixture_app(store.clone()).await;
    let shopper = browser();
    let email = format!("invalid.{}@example.com", store.backend());
    let before = fault_count(&name, "invalid_output");

    // The echo mode returns every field; `nickname` is no contact field, so
    // the whole capture, identity included, must be rejected.
    let fields = [("email", email.as_str()), ("nickname", "Nia")];
    let response = post_body(&shopper, &app, "/profile", encode(Encoding::Urlencoded, &fields, None)).await;
    assert_eq!(response.status(), 303);
    wait_for_fault(&name, "invalid_output", before).await;

    let (status, _) = app.admin_get(&format!("/api/v1/contacts/by-email/{email}")).await;
    assert_eq!(status, 404, "a rejected capture identified the visitor");
    app.stop().await;
}

/// Replaces `path` by writing a sibling file and renaming it over `path`,
/// as deployment tools do, so the watcher never reads a partial file.
fn replace_file(source: &std::path::Path, path: &std::path::Path) {
    let temporary = path.with_extension("new");
    std::fs::copy(source, &temporary).expect("new plugin version copied");
    std::fs::rename(&temporary, path).expect("plugin file replaced");
}

/// Replacing a plugin's file while forms stream through the proxy fails no
/// request and changes no response, and the new version's captures take
/// over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_while_forms_flow() {
    let dir = tempfile::TempDir::new().expect("temporary plugin directory");
    let file = dir.path().join("plugin.wasm");
    std::fs::copy(support::plugins::fixture_plugin(), &file).expect("plugin copied");
    let second_version = support::plugins::fixture_plugin_v2();

    let mut config = demo_config();
    let mut rule = config.plugin_rules.iter().find(|rule| rule.name == "profile").expect("profile plugin").clone();
    rule.name = "reloading".to_owned();
    rule.file = file.clone();
    config.plugin_rules = vec![rule];
    config.plugins.reload_poll_secs = 0.05;
    config.plugins.cache_dir = dir.path().join("cache");
    let app = TestApp::with_upstream(config, hashing_shop(), support::stores::embedded()).await;

    let definition = json!({ "name": "version", "label": "Plugin version", "type": "text" });
    let created = support::app::send(&app, reqwest::Method::POST, "/api/v1/fields", Some(definition)).await;
    assert_eq!(created.status, 201, "{}", created.json);

    let shopper = browser();
    let tracker = visit(&shopper, &app, "/").await;
    let profile_path = format!("/api/v1/contacts/by-tracker/{tracker}");
    let has_version = |version: &'static str| {
        move |status: u16, json: &Value| status == 200 && json["custom_fields"]["version"] == version
    };

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (shopper, url, stop) = (shopper.clone(), app.url("/profile"), stop.clone());
        tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut sent = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (content_type, body) = encode(Encoding::Urlencoded, &[("mode", "version")], None);
                let expected = format!("{} {}", sha256_hex(&body), body.len());
                let response =
                    shopper.post(&url).header("content-type", content_type).body(body).send().await.expect("proxied");
                let status = response.status();
                let text = response.text().await.expect("body");
                if status != 303 || text != expected {
                    failures.push(format!("{status} {text}"));
                }
                sent += 1;
            }
            (sent, failures)
        })
    };

    app.admin_until(&profile_path, has_version("1")).await;
    replace_file(&second_version, &file);
    app.admin_until(&profile_path, has_version("2")).await;

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sent, failures) = sender.await.expect("sender ran");
    assert!(sent > 1, "forms kept flowing across the reload");
    assert!(failures.is_empty(), "responses changed during the reload: {failures:?}");
    app.stop().await;
}

/// Checks that a plugin capture re-evaluates dynamic segments like any
/// other contact change: the captured city moves the contact into a segment
/// on it.
async fn capture_moves_contact_into_dynamic_segment(store: Arc<dyn Store>) {
    support::plugins::example("profile");
    demo::create_field_definitions(&*store).await.expect("custom fields");
    let app = TestApp::demo(store.clone()).await;

    let condition = json!({ "field": "city", "op": "equals", "value": "Porto" });
    let segment = json!({ "name": "Porto", "kind": "dynamic", "condition": condition });
    let created = support::app::send(&app, reqwest::Method::POST, "/api/v1/segments", Some(segment)).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let segment_id = created.json["id"].as_str().expect("id").to_owned();

    let shopper = browser();
    let tracker = visit(&shopper, &app, "/profile").await;
    let fields = [("csrf", "demo-csrf"), ("cellphone", "600000200"), ("city", "Porto"), ("shoe_size", "40")];
    let response = post_body(&shopper, &app, "/profile", encode(Encoding::Urlencoded, &fields, None)).await;
    assert_eq!(response.status(), 303);

    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["segments"].as_array().is_some_and(|segments| !segments.is_empty())
        })
        .await;
    assert_eq!(profile["segments"][0]["id"], segment_id.as_str());
    app.stop().await;
}
