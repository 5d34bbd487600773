//! The tracker cookie and activity rules through the running proxy, with
//! the demo shop or a scripted upstream behind it.

mod support;

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use footprint::config::Config;
use footprint::store::embedded::EmbeddedStore;
use footprint::store::{Retention, Store};
use support::app::{browser, client, tracker_of, tracker_pair, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn embedded() -> Arc<dyn Store> {
    Arc::new(EmbeddedStore::new(Retention::default()))
}

/// An upstream that echoes the Cookie header it received as its body.
fn cookie_echo() -> axum::Router {
    axum::Router::new().route(
        "/{*path}",
        get(|headers: HeaderMap| async move {
            let cookies: Vec<String> =
                headers.get_all("cookie").iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
            cookies.join("\n")
        }),
    )
}

fn echo_config() -> Config {
    Config::from_toml(
        r#"
        [[activity]]
        kind = "page_visit"
        path = "/*"
        "#,
    )
    .expect("valid config")
}

#[tokio::test]
async fn cookieless_clients_leave_no_contacts() {
    let app = TestApp::demo(embedded()).await;
    let http = client();

    let mut trackers = Vec::new();
    let mut first_pair = None;
    for path in ["/", "/product/sku-1", "/cart"] {
        let response = http.get(app.url(path)).send().await.expect("proxied");
        assert_eq!(response.status(), StatusCode::OK);
        trackers.push(tracker_of(&response).expect("every cookieless response offers a tracker"));
        first_pair.get_or_insert(tracker_pair(&response).expect("cookie pair"));
    }
    assert_eq!(trackers.iter().collect::<std::collections::BTreeSet<_>>().len(), 3, "three different trackers");

    // The first browser comes back with its cookie: now it is a contact,
    // holding its first hit too.
    let returning = http.get(app.url("/search?q=yoga")).header("cookie", first_pair.expect("pair")).send().await;
    assert!(tracker_of(&returning.expect("proxied")).is_none(), "a valid cookie is not replaced");
    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{}", trackers[0]), |status, json| {
            status == 200 && json["counters"]["search"] == 1
        })
        .await;
    assert_eq!(profile["counters"]["page_visit"], 1, "the first, pending hit joined the contact");

    for tracker in &trackers[1..] {
        let (status, _) = app.admin_get(&format!("/api/v1/contacts/by-tracker/{tracker}")).await;
        assert_eq!(status, 404, "a tracker that never came back is no contact");
    }
    app.stop().await;
}

#[tokio::test]
async fn malformed_cookie_pairs_keep_the_tracker() {
    let app = TestApp::with_upstream(echo_config(), cookie_echo(), embedded()).await;
    let http = client();
    let first = http.get(app.url("/a")).send().await.expect("proxied");
    let pair = tracker_pair(&first).expect("tracker offered");

    let header = format!(r#"consent={{"v":{{"L":3}}}}; bad cookie=x; ;; {pair}; cart=c-42"#);
    let response = http.get(app.url("/b")).header("cookie", &header).send().await.expect("proxied");

    assert_eq!(response.status(), StatusCode::OK);
    assert!(tracker_of(&response).is_none(), "the valid tracker was recognised");
    assert_eq!(response.text().await.expect("body"), header, "the shop receives the Cookie header as sent");
    app.stop().await;
}

#[tokio::test]
async fn forged_and_garbled_trackers_are_replaced_without_error() {
    let app = TestApp::with_upstream(echo_config(), cookie_echo(), embedded()).await;
    let http = client();
    let valid = tracker_pair(&http.get(app.url("/a")).send().await.expect("proxied")).expect("pair");
    let value = valid.trim_start_matches("fp_tid=");
    let forged = format!("fp_tid={}{}", &value[..44], uuid::Uuid::now_v7());
    let truncated = format!("fp_tid={}", &value[..value.len() - 3]);

    for header in [
        forged.as_str(),
        truncated.as_str(),
        "fp_tid=",
        "fp_tid",
        "fp_tid=a; fp_tid=b",
        "fp_tid=%ZZ==; fp_tid=\"quoted\"",
    ] {
        let response = http.get(app.url("/b")).header("cookie", header).send().await.expect("proxied");
        assert_eq!(response.status(), StatusCode::OK, "{header:?}");
        assert!(tracker_of(&response).is_some(), "{header:?} gets a fresh tracker");
    }
    app.stop().await;
}

#[tokio::test]
async fn tracker_cookie_joins_upstream_set_cookies_in_order() {
    let cookies = [
        "session=s1; Path=/; HttpOnly",
        "logout_flag=deleted; Max-Age=0; Path=/",
        "lang=es; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    ];
    let upstream = axum::Router::new().route(
        "/",
        get(move || async move {
            let mut headers = HeaderMap::new();
            for cookie in cookies {
                headers.append("set-cookie", cookie.parse().expect("header"));
            }
            (headers, "hello").into_response()
        }),
    );
    let app = TestApp::with_upstream(echo_config(), upstream, embedded()).await;

    let mut stream = tokio::net::TcpStream::connect(app.proxy).await.expect("connect");
    let request = "GET / HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: Mozilla/5.0 test\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw);

    let set_cookies: Vec<&str> = text
        .lines()
        .filter(|line| line.to_ascii_lowercase().starts_with("set-cookie:"))
        .map(|line| line.split_once(':').map(|(_, v)| v.trim()).unwrap_or_default())
        .collect();
    assert_eq!(set_cookies.len(), 4, "three upstream cookies and the tracker, none folded: {text}");
    assert_eq!(&set_cookies[..3], &cookies[..], "upstream cookies byte-for-byte and in order");
    assert!(set_cookies[3].starts_with("fp_tid="));
    app.stop().await;
}

#[tokio::test]
async fn identify_header_is_stripped_and_identifies() {
    let upstream = axum::Router::new()
        .route("/welcome", get(|| async { ([("x-footprint-identify", "email=Header.User@Example.com")], "welcome") }));
    let app = TestApp::with_upstream(echo_config(), upstream, embedded()).await;
    let shopper = browser();
    shopper.get(app.url("/welcome")).send().await.expect("proxied");

    let response = shopper.get(app.url("/welcome")).send().await.expect("proxied");

    assert!(response.headers().get("x-footprint-identify").is_none(), "the browser never sees the header");
    let profile = app.admin_until("/api/v1/contacts/by-email/header.user@example.com", |status, _| status == 200).await;
    assert_eq!(profile["registered"], true);
    assert_eq!(profile["fields"]["email"], "Header.User@Example.com");
    app.stop().await;
}

/// An identify rule reads its email field from JSON and multipart bodies
/// as it does from urlencoded ones.
#[tokio::test]
async fn identify_rule_reads_json_and_multipart_logins() {
    let config = Config::from_toml(
        r#"
        [[identify]]
        kind = "login"
        path = "/login"
        email_field = "customer.email"
        success = { status = [200] }

        [[identify]]
        kind = "login"
        path = "/login-form"
        email_field = "email"
        success = { status = [200] }
        "#,
    )
    .expect("valid config");
    let upstream = axum::Router::new()
        .route("/", get(|| async { "home" }))
        .route("/login", axum::routing::post(|| async { "welcome" }))
        .route("/login-form", axum::routing::post(|| async { "welcome" }));
    let app = TestApp::with_upstream(config, upstream, embedded()).await;

    let json_shopper = browser();
    json_shopper.get(app.url("/")).send().await.expect("proxied");
    json_shopper
        .post(app.url("/login"))
        .header("content-type", "application/json")
        .body(r#"{"customer": {"email": "Json.User@Example.com"}, "password": "x"}"#)
        .send()
        .await
        .expect("proxied");

    let multipart_shopper = browser();
    multipart_shopper.get(app.url("/")).send().await.expect("proxied");
    let body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmultipart.user@example.com\r\n--XyZ--\r\n";
    multipart_shopper
        .post(app.url("/login-form"))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(body)
        .send()
        .await
        .expect("proxied");

    for email in ["json.user@example.com", "multipart.user@example.com"] {
        let profile = app.admin_until(&format!("/api/v1/contacts/by-email/{email}"), |status, _| status == 200).await;
        assert_eq!(profile["registered"], true, "{email}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bots_and_static_assets_get_no_tracker() {
    let app = TestApp::demo(embedded()).await;

    let bot = reqwest::Client::builder().no_proxy().user_agent("Googlebot/2.1").build().expect("client");
    let response = bot.get(app.url("/product/sku-1")).send().await.expect("proxied");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(tracker_of(&response).is_none(), "bots get no cookie");

    let asset = client().get(app.url("/static/shop.css")).send().await.expect("proxied");
    assert_eq!(asset.status(), StatusCode::OK);
    assert!(tracker_of(&asset).is_none(), "static assets get no cookie");
    app.stop().await;
}
