//! Redis going away never reaches shoppers; what they did meanwhile is
//! written once Redis is back.

mod support;

use std::sync::Arc;

use footprint::store::redis::RedisStore;
use footprint::store::{Retention, Store};
use reqwest::StatusCode;
use support::app::{browser, client, tracker_of, TestApp};
use support::redis::RedisServer;

#[tokio::test]
async fn redis_outage_never_reaches_shoppers() {
    let mut server = RedisServer::start();
    let store: Arc<dyn Store> =
        Arc::new(RedisStore::connect(&server.url(), "fp:", Retention::default()).await.expect("connect"));
    let app = TestApp::demo(store).await;
    let shopper = browser();
    let first = shopper.get(app.url("/")).send().await.expect("proxied");
    let tracker = tracker_of(&first).expect("tracker");
    shopper.get(app.url("/search?q=yoga")).send().await.expect("proxied");
    app.admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, _| status == 200).await;

    server.stop();
    for path in ["/", "/product/sku-2", "/category/yoga", "/cart"] {
        let response = shopper.get(app.url(path)).send().await.expect("proxied while Redis is down");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let ready = client().get(format!("http://{}/readyz", app.admin)).send().await.expect("answers");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "readiness reports the store");

    server.restart();
    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["counters"]["product_visit"] == 1
        })
        .await;
    assert_eq!(profile["counters"]["product_visit"], 1, "the visit made during the outage was retried once");
    app.stop().await;
}
