//! The admin API's authentication and error format.

mod support;

use std::sync::Arc;

use footprint::store::embedded::EmbeddedStore;
use footprint::store::Retention;
use support::app::{client, TestApp, TOKEN};

async fn app() -> TestApp {
    TestApp::demo(Arc::new(EmbeddedStore::new(Retention::default()))).await
}

async fn problem(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, serde_json::Value) {
    let mut request = client().get(format!("http://{}{path}", app.admin));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("admin answers");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, content_type, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn api_requires_a_valid_token() {
    let app = app().await;
    let path = "/api/v1/contacts/by-email/a@example.com";

    for token in [None, Some("wrong-token-0123456789abcdef"), Some(""), Some(&TOKEN[..TOKEN.len() - 1])] {
        let (status, content_type, body) = problem(&app, path, token).await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["status"], 401);
    }
    let (status, _, _) = problem(&app, path, Some(TOKEN)).await;
    assert_eq!(status, 404, "with the token the request reaches the handler");
    app.stop().await;
}

#[tokio::test]
async fn invalid_parameters_name_the_field() {
    let app = app().await;
    let contact = uuid::Uuid::now_v7();

    let cases = [
        ("/api/v1/contacts/not-a-uuid".to_owned(), "id"),
        ("/api/v1/contacts/by-email/null".to_owned(), "email"),
        ("/api/v1/contacts/by-tracker/123".to_owned(), "tracker"),
        (format!("/api/v1/contacts/{contact}/activities?limit=0"), "limit"),
        (format!("/api/v1/contacts/{contact}/activities?limit=abc"), "limit"),
        (format!("/api/v1/contacts/{contact}/activities?type=teleport"), "type"),
        (format!("/api/v1/contacts/{contact}/activities?before=nonsense"), "before"),
    ];
    for (path, field) in cases {
        let (status, content_type, body) = problem(&app, &path, Some(TOKEN)).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(content_type, "application/problem+json", "{path}");
        assert_eq!(body["field"], field, "{path}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_contact_is_a_problem_404() {
    let app = app().await;
    let (status, content_type, body) =
        problem(&app, &format!("/api/v1/contacts/{}", uuid::Uuid::now_v7()), Some(TOKEN)).await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["title"], "Not found");
    app.stop().await;
}

#[tokio::test]
async fn probes_need_no_token() {
    let app = app().await;
    for path in ["/healthz", "/readyz"] {
        let response = client().get(format!("http://{}{path}", app.admin)).send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn phone_lookup_matches_any_formatting() {
    let app = app().await;
    let contact = footprint::store::ContactId::new();
    app.store.claim_index(footprint::store::IndexKind::Phone, "+34600000001", contact).await.expect("store");
    app.store
        .touch(contact, footprint::store::Source::Contact(contact), footprint::store::now_millis())
        .await
        .expect("store");

    for variant in ["600 000 001", "+34 600-000-001", "0034600000001", "34600000001", "600000001"] {
        let (status, json) = app.admin_get(&format!("/api/v1/contacts/by-phone/{variant}")).await;
        assert_eq!(status, 200, "{variant:?}");
        assert_eq!(json["id"], contact.to_string(), "{variant:?}");
    }

    let (status, _, body) = problem(&app, "/api/v1/contacts/by-phone/12", Some(TOKEN)).await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "phone");
    app.stop().await;
}

#[tokio::test]
async fn every_admin_error_is_problem_json() {
    let app = app().await;
    let contact = uuid::Uuid::now_v7();
    let huge = "x".repeat(5000);

    let cases = [
        (format!("/api/v1/contacts/{contact}/activities?type=search&type=login"), 400, Some("type")),
        (format!("/api/v1/contacts/{contact}/activities?limit=2&limit=3"), 400, Some("limit")),
        (format!("/api/v1/contacts/{contact}/activities?color=blue"), 400, Some("color")),
        ("/api/v1/contacts?limit=1&limit=2".to_owned(), 400, Some("limit")),
        ("/api/v1/contacts?sort=name".to_owned(), 400, Some("sort")),
        ("/api/v1/".to_owned(), 404, None),
        ("/no-such-page".to_owned(), 404, None),
        (format!("/api/v1/contacts/{huge}"), 400, Some("id")),
    ];
    for (path, expected, field) in cases {
        let (status, content_type, body) = problem(&app, &path, Some(TOKEN)).await;
        assert_eq!(status, expected, "{}", &path[..path.len().min(80)]);
        assert_eq!(content_type, "application/problem+json", "{}", &path[..path.len().min(80)]);
        if let Some(field) = field {
            assert_eq!(body["field"], field);
        }
        assert!(body["detail"].as_str().is_some_and(|detail| detail.chars().count() <= 1_001), "detail is bounded");
    }

    let response = client()
        .delete(format!("http://{}/api/v1/contacts/{contact}/activities", app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin answers");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    app.stop().await;
}

#[tokio::test]
async fn oversized_body_is_a_problem_413() {
    let app = app().await;
    let huge = format!(r#"{{"fields": {{"first_name": "{}"}}}}"#, "x".repeat(3 * 1024 * 1024));

    let response = client()
        .post(format!("http://{}/api/v1/contacts", app.admin))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("admin answers");

    assert_eq!(response.status().as_u16(), 413);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("problem JSON");
    assert_eq!(body["field"], "body");
    assert_eq!(body["status"], 413);
    app.stop().await;
}
