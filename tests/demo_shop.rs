//! Shopper journeys through Footprint in front of the demo shop, on both
//! stores: the whole path from request to admin API.

mod support;

use std::sync::Arc;

use footprint::store::Store;
use reqwest::StatusCode;
use serde_json::Value;
use support::app::{browser, TestApp};

on_both_stores!(
    anonymous_browsing_merges_into_registered_customer,
    rejected_login_identifies_nobody,
    reloaded_confirmation_counts_one_order,
    second_person_on_shared_browser_stays_apart,
    ecommerce_status_follows_basket_and_orders,
);

async fn get(shopper: &reqwest::Client, app: &TestApp, path: &str) -> reqwest::Response {
    shopper.get(app.url(path)).send().await.expect("proxied")
}

async fn post(shopper: &reqwest::Client, app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    shopper.post(app.url(path)).form(form).send().await.expect("proxied")
}

fn activity_types(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(|item| item["type"].as_str().unwrap_or("").to_owned()).collect()
}

async fn anonymous_browsing_merges_into_registered_customer(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;

    let laptop = browser();
    get(&laptop, &app, "/").await;
    get(&laptop, &app, "/product/sku-1").await;
    let registered =
        post(&laptop, &app, "/register", &[("email", "Jane@Example.com"), ("password", "secret-123")]).await;
    assert_eq!(registered.status(), StatusCode::SEE_OTHER);
    get(&laptop, &app, "/logout").await;

    let phone = browser();
    let first = get(&phone, &app, "/product/sku-3").await;
    let phone_tracker = support::app::tracker_of(&first).expect("a tracker for the phone");
    get(&phone, &app, "/product/sku-4").await;
    let added = post(&phone, &app, "/cart/add", &[("product_id", "sku-4"), ("quantity", "2")]).await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let anonymous = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{phone_tracker}"), |status, json| {
            status == 200 && json["counters"]["cart_update"] == 1
        })
        .await;
    let anonymous_id = anonymous["id"].as_str().expect("id").to_owned();
    assert_eq!(anonymous["registered"], false);

    let login = post(&phone, &app, "/login", &[("email", " jane@example.com"), ("password", "secret-123")]).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let account = get(&phone, &app, "/account").await;
    assert!(
        account.text().await.expect("body").contains("jane@example.com"),
        "the shop's session works through the proxy"
    );

    let profile = app
        .admin_until("/api/v1/contacts/by-email/jane@example.com", |status, json| {
            status == 200 && json["counters"]["merge"] == 1
        })
        .await;
    let id = profile["id"].as_str().expect("id").to_owned();
    assert_ne!(id, anonymous_id);
    assert_eq!(profile["counters"]["product_visit"], 3);
    assert_eq!(profile["counters"]["cart_update"], 1);
    assert_eq!(profile["counters"]["registration"], 1);
    assert_eq!(profile["counters"]["login"], 1);
    assert_eq!(profile["trackers"].as_array().expect("trackers").len(), 2);
    assert_eq!(profile["merged_from"], serde_json::json!([anonymous_id]));

    let old = app.admin_get(&format!("/api/v1/contacts/{anonymous_id}")).await.1;
    assert_eq!(old["id"], id.as_str(), "the anonymous id resolves to the registered contact");
    assert_eq!(old["requested_id"], anonymous_id.as_str());

    let timeline = app.admin_get(&format!("/api/v1/contacts/{id}/activities?type=product_visit")).await.1;
    let products: Vec<&str> = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["properties"]["product_id"].as_str())
        .collect();
    assert_eq!(products, vec!["sku-4", "sku-3", "sku-1"], "newest first, from both browsers");
    app.stop().await;
}

async fn rejected_login_identifies_nobody(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let shopper = browser();
    let first = get(&shopper, &app, "/").await;
    let tracker = support::app::tracker_of(&first).expect("tracker");

    let rejected = post(&shopper, &app, "/login", &[("email", "customer@example.com"), ("password", "wrong")]).await;
    assert_eq!(rejected.status(), StatusCode::OK);
    get(&shopper, &app, "/search?q=mat").await;

    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["counters"]["search"] == 1
        })
        .await;
    assert_eq!(profile["registered"], false);
    assert!(profile["counters"].get("login").is_none());
    let (status, _) = app.admin_get("/api/v1/contacts/by-email/customer@example.com").await;
    assert_eq!(status, 404);
    app.stop().await;
}

async fn reloaded_confirmation_counts_one_order(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let shopper = browser();
    get(&shopper, &app, "/").await;
    post(&shopper, &app, "/cart/add", &[("product_id", "sku-1")]).await;
    let placed = post(&shopper, &app, "/checkout", &[("name", "Ana"), ("email", "ana@example.com")]).await;
    let location = placed.headers()["location"].to_str().expect("location").to_owned();
    assert!(location.starts_with("/checkout/confirmation/"));

    get(&shopper, &app, &location).await;
    get(&shopper, &app, &location).await;
    let tracker_page = get(&shopper, &app, "/search?q=done").await;
    assert!(support::app::tracker_of(&tracker_page).is_none());

    let login =
        post(&shopper, &app, "/login", &[("email", "customer@example.com"), ("password", "demo-pass-123")]).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let profile = app
        .admin_until("/api/v1/contacts/by-email/customer@example.com", |status, json| {
            status == 200 && json["counters"]["search"] == 1
        })
        .await;
    assert_eq!(profile["counters"]["purchase"], 1, "the reload is not a second order");
    let id = profile["id"].as_str().expect("id");
    let purchases = app.admin_get(&format!("/api/v1/contacts/{id}/activities?type=purchase")).await.1;
    assert_eq!(activity_types(&purchases), vec!["purchase"]);
    assert_eq!(purchases["items"][0]["properties"]["order_id"], location.rsplit('/').next().expect("order id"));
    app.stop().await;
}

async fn second_person_on_shared_browser_stays_apart(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let shared = browser();
    get(&shared, &app, "/").await;
    post(&shared, &app, "/register", &[("email", "a@example.com"), ("password", "password-a")]).await;
    get(&shared, &app, "/logout").await;
    post(&shared, &app, "/register", &[("email", "b@example.com"), ("password", "password-b")]).await;
    get(&shared, &app, "/product/sku-6").await;

    let b = app
        .admin_until("/api/v1/contacts/by-email/b@example.com", |status, json| {
            status == 200 && json["counters"]["product_visit"] == 1
        })
        .await;
    let a = app.admin_get("/api/v1/contacts/by-email/a@example.com").await.1;

    assert_ne!(a["id"], b["id"]);
    assert!(a["counters"].get("product_visit").is_none(), "the last view belongs to B only");
    assert_eq!(a["trackers"], serde_json::json!([]), "the tracker no longer links to A");
    assert_eq!(b["trackers"].as_array().expect("trackers").len(), 1);
    assert_eq!(a["merged_from"], serde_json::json!([]));
    assert_eq!(b["merged_from"], serde_json::json!([]));
    app.stop().await;
}

async fn ecommerce_status_follows_basket_and_orders(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let shopper = browser();
    let first = get(&shopper, &app, "/").await;
    let tracker = support::app::tracker_of(&first).expect("tracker");
    post(&shopper, &app, "/cart/add", &[("product_id", "sku-1"), ("quantity", "1"), ("price", "89.00")]).await;
    post(&shopper, &app, "/cart/add", &[("product_id", "sku-3"), ("quantity", "2"), ("price", "25.00")]).await;

    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["counters"]["cart_update"] == 2
        })
        .await;
    let ecommerce = &profile["ecommerce"];
    assert_eq!(ecommerce["orders"], 0);
    assert_eq!(ecommerce["basket"]["value"], "139.00");
    assert_eq!(
        ecommerce["basket"]["items"],
        serde_json::json!([
            {"product_id": "sku-1", "quantity": 1, "price": "89.00"},
            {"product_id": "sku-3", "quantity": 2, "price": "25.00"}
        ])
    );

    let placed = post(&shopper, &app, "/checkout", &[("name", "Ana")]).await;
    let location = placed.headers()["location"].to_str().expect("location").to_owned();
    get(&shopper, &app, &location).await;

    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["counters"]["purchase"] == 1
        })
        .await;
    let ecommerce = &profile["ecommerce"];
    assert_eq!(ecommerce["orders"], 1);
    assert_eq!(ecommerce["spent"], serde_json::json!([{"currency": "EUR", "amount": "139.00"}]));
    assert_eq!(ecommerce["basket"], Value::Null, "the order emptied the basket");
    let activities: u64 = profile["counters"].as_object().expect("counters").values().filter_map(Value::as_u64).sum();
    assert_eq!(profile["system"]["data_points"], activities, "an anonymous contact's data points are its activities");
    assert_eq!(profile["system"]["updated_at"], profile["updated_at"]);
    app.stop().await;
}
