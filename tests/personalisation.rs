//! Personalisation headers on both stores: the shop receives the visitor's
//! contact id and allowed segments, and never a header the client sent.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::Json;
use footprint::demo::{self, DemoOptions};
use footprint::store::Store;
use reqwest::Method;
use serde_json::{json, Value};
use support::app::{browser, client, TestApp, TOKEN};

on_both_stores!(personalisation_headers_reach_shop, disabled_personalisation_passes_headers);

/// A shop that returns the personalisation headers it received.
fn echo_shop() -> axum::Router {
    axum::Router::new().fallback(|headers: HeaderMap| async move {
        let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
        Json(json!({ "contact": text("x-footprint-contact"), "segments": text("x-footprint-segments") }))
    })
}

async fn admin(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let response = client()
        .request(method, format!("http://{}{path}", app.admin))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("admin API answers");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.expect("JSON")
}

/// Sends a request with spoofed headers through the proxy and returns what
/// the shop received.
async fn spoofed_request(app: &TestApp, shopper: &reqwest::Client) -> Value {
    shopper
        .get(app.url("/"))
        .header("x-footprint-contact", "00000000-0000-7000-8000-000000000000")
        .header("X-Footprint-Segments", "spoofed")
        .send()
        .await
        .expect("proxied")
        .json()
        .await
        .expect("the echo's JSON")
}

async fn personalisation_headers_reach_shop(store: Arc<dyn Store>) {
    let options = DemoOptions { port: 0, admin_port: 0, shop_port: 0 };
    let (mut config, _) = demo::demo_config(&options, "127.0.0.1:9".parse().expect("address")).expect("config");
    config.personalisation.enabled = true;
    config.personalisation.segments = vec!["Interested".to_owned()];
    let app = TestApp::with_upstream(config, echo_shop(), store).await;
    let condition = json!({ "activity": "product_visit", "within": { "days": 7 }, "count": { "at_least": 1 } });
    let interested = admin(
        &app,
        Method::POST,
        "/api/v1/segments",
        json!({ "name": "Interested", "kind": "dynamic_plus", "condition": condition }),
    )
    .await;
    admin(
        &app,
        Method::POST,
        "/api/v1/segments",
        json!({ "name": "Not for the shop", "kind": "dynamic_plus", "condition": condition }),
    )
    .await;

    let shopper = browser();
    let first = spoofed_request(&app, &shopper).await;
    assert_eq!(first, json!({ "contact": null, "segments": null }), "a new visitor has no contact yet");
    shopper.get(app.url("/product/sku-2")).send().await.expect("proxied");

    // The cache fills in the background, so the headers appear within a
    // few requests once the contact is in both segments.
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let seen = spoofed_request(&app, &shopper).await;
        assert_ne!(seen["contact"], "00000000-0000-7000-8000-000000000000", "the spoofed contact reached the shop");
        assert_ne!(seen["segments"], "spoofed", "the spoofed segments reached the shop");
        if seen["segments"].is_string() {
            break seen;
        }
        assert!(Instant::now() < deadline, "the headers never arrived; last: {seen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let contact = seen["contact"].as_str().expect("a contact id").to_owned();
    let profile = admin(&app, Method::GET, &format!("/api/v1/contacts/{contact}"), Value::Null).await;
    assert_eq!(profile["segments"].as_array().map(Vec::len), Some(2), "{profile}");
    assert_eq!(seen["segments"], interested["id"], "only the allowed segment is sent");
    app.stop().await;
}

async fn disabled_personalisation_passes_headers(store: Arc<dyn Store>) {
    let options = DemoOptions { port: 0, admin_port: 0, shop_port: 0 };
    let (config, _) = demo::demo_config(&options, "127.0.0.1:9".parse().expect("address")).expect("config");
    assert!(!config.personalisation.enabled, "off by default");
    let app = TestApp::with_upstream(config, echo_shop(), store).await;

    let seen = spoofed_request(&app, &browser()).await;

    assert_eq!(seen["contact"], "00000000-0000-7000-8000-000000000000", "left alone while the feature is off");
    assert_eq!(seen["segments"], "spoofed");
    app.stop().await;
}
