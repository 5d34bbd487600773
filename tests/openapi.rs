//! The OpenAPI description served at `/api/v1/openapi.json`: reachable
//! without a token, OpenAPI 3 JSON, and complete for the admin API.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use footprint::store::embedded::EmbeddedStore;
use footprint::store::Retention;
use serde_json::Value;
use support::app::{client, TestApp};

/// Every route of the README's "Admin API" table, with its methods.
const ADMIN_ROUTES: [(&str, &[&str]); 25] = [
    ("/api/v1/contacts", &["get", "post"]),
    ("/api/v1/contacts/{id}", &["get", "patch", "delete"]),
    ("/api/v1/contacts/{id}/push-subscriptions", &["post"]),
    ("/api/v1/contacts/{id}/push-subscriptions/{endpoint_id}", &["delete"]),
    ("/api/v1/contacts/by-email/{email}", &["get"]),
    ("/api/v1/contacts/by-phone/{phone}", &["get"]),
    ("/api/v1/contacts/by-tracker/{tracker}", &["get"]),
    ("/api/v1/contacts/{id}/activities", &["get"]),
    ("/api/v1/contacts/{id}/export", &["get"]),
    ("/api/v1/contacts/{id}/statuses", &["patch"]),
    ("/api/v1/email-events", &["post"]),
    ("/api/v1/fields", &["get", "post"]),
    ("/api/v1/fields/{name}", &["get", "patch", "delete"]),
    ("/api/v1/segments", &["get", "post"]),
    ("/api/v1/segments/preview", &["post"]),
    ("/api/v1/segments/{id}", &["get", "patch", "delete"]),
    ("/api/v1/segments/{id}/members", &["get"]),
    ("/api/v1/segments/{id}/members/{contact_id}", &["put", "delete"]),
    ("/api/v1/imports", &["post"]),
    ("/api/v1/imports/{id}", &["get"]),
    ("/api/v1/imports/{id}/rejects", &["get"]),
    ("/api/v1/exports", &["post"]),
    ("/api/v1/exports/{id}", &["get"]),
    ("/api/v1/exports/{id}/file", &["get"]),
    ("/api/v1/transfers", &["get"]),
];

const HTTP_METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Fetches the description without a token.
async fn served_description() -> Value {
    let app = TestApp::demo(Arc::new(EmbeddedStore::new(Retention::default()))).await;
    let response =
        client().get(format!("http://{}/api/v1/openapi.json", app.admin)).send().await.expect("admin API answers");
    assert_eq!(response.status().as_u16(), 200, "the description needs no token");
    let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or("");
    assert_eq!(content_type, "application/json");
    let text = response.text().await.expect("a body");
    app.stop().await;
    serde_json::from_str(&text).expect("the description is JSON")
}

fn methods_of(item: &Value) -> BTreeSet<String> {
    let item = item.as_object().expect("a path item is an object");
    item.keys().filter(|key| HTTP_METHODS.contains(&key.as_str())).cloned().collect()
}

#[tokio::test]
async fn description_is_openapi_3_with_info() {
    let description = served_description().await;

    let version = description["openapi"].as_str().expect("an `openapi` version string");
    assert!(version.starts_with("3."), "OpenAPI 3 expected, got {version}");
    assert_eq!(description["info"]["title"], "Footprint admin API");
    assert_eq!(description["info"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn description_lists_every_admin_route() {
    let description = served_description().await;
    let paths = description["paths"].as_object().expect("a `paths` object");

    for (path, methods) in ADMIN_ROUTES {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} is missing from the description"));
        let expected: BTreeSet<String> = methods.iter().map(|method| (*method).to_owned()).collect();
        assert_eq!(methods_of(item), expected, "methods of {path}");
    }

    let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let mut known: BTreeSet<&str> = ADMIN_ROUTES.iter().map(|(path, _)| *path).collect();
    known.insert("/api/v1/openapi.json");
    assert_eq!(documented, known, "the description documents exactly the admin routes and itself");
}

#[tokio::test]
async fn description_declares_bearer_security() {
    let description = served_description().await;

    let scheme = &description["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");

    let global = description["security"].as_array().expect("a top-level `security` list");
    assert!(global.iter().any(|requirement| requirement.get("bearer").is_some()), "bearer applies by default");

    for (path, item) in description["paths"].as_object().expect("paths") {
        for method in methods_of(item) {
            let operation = &item[&method];
            let overridden = operation.get("security");
            if path == "/api/v1/openapi.json" {
                let requirements = overridden.and_then(Value::as_array).expect("the description overrides security");
                assert!(
                    requirements.iter().all(|requirement| requirement.as_object().is_some_and(|r| r.is_empty())),
                    "the description needs no token: {requirements:?}"
                );
            } else {
                assert!(overridden.is_none(), "{method} {path} must keep the bearer requirement");
                assert!(operation["responses"].get("401").is_some(), "{method} {path} documents 401");
            }
        }
    }
}

#[tokio::test]
async fn errors_are_problem_json() {
    let description = served_description().await;

    for (path, item) in description["paths"].as_object().expect("paths") {
        for method in methods_of(item) {
            let responses = item[&method]["responses"].as_object().expect("responses");
            for (status, response) in responses {
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(schema["$ref"], "#/components/schemas/Problem", "{method} {path} {status}");
            }
        }
    }
    let problem = &description["components"]["schemas"]["Problem"]["properties"];
    for member in ["type", "title", "status", "detail", "field"] {
        assert!(problem.get(member).is_some(), "Problem has `{member}`");
    }
}

#[tokio::test]
async fn description_documents_limits_and_enums() {
    let description = served_description().await;

    let list_parameters = description["paths"]["/api/v1/contacts"]["get"]["parameters"].as_array().expect("params");
    let limit = list_parameters.iter().find(|parameter| parameter["name"] == "limit").expect("a `limit` parameter");
    assert_eq!(limit["in"], "query");
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 200);

    let kinds = description["components"]["schemas"]["ActivityKind"]["enum"].as_array().expect("activity types");
    assert!(kinds.contains(&Value::from("product_visit")));
    assert_eq!(kinds.len(), footprint::store::ActivityKind::ALL.len());

    let statuses = description["components"]["schemas"]["ChannelStatus"]["enum"].as_array().expect("statuses");
    assert!(statuses.contains(&Value::from("bounced")));
}

#[tokio::test]
async fn description_route_matches_library_description() {
    let served = served_description().await;
    let built = serde_json::to_value(footprint::admin::description()).expect("the description serializes");
    assert_eq!(served, built);
}

#[tokio::test]
async fn email_events_response_is_untagged() {
    let description = served_description().await;

    // The handler returns one result or `{"results": [...]}`, never an
    // object wrapped in the variant's name.
    let one_of = description["components"]["schemas"]["EmailEventsResponse"]["oneOf"].as_array().expect("a oneOf list");
    let references: Vec<&str> = one_of.iter().filter_map(|schema| schema["$ref"].as_str()).collect();
    assert_eq!(references, ["#/components/schemas/EventResult", "#/components/schemas/BatchResults"]);
}

#[tokio::test]
async fn list_filters_are_inline_enums() {
    let description = served_description().await;

    // Every parameter schema must resolve, and only `true` turns a filter on.
    let parameters = description["paths"]["/api/v1/contacts"]["get"]["parameters"].as_array().expect("params");
    for name in ["has_email", "has_cellphone", "push"] {
        let parameter = parameters.iter().find(|parameter| parameter["name"] == name).expect("a filter parameter");
        let text = parameter["schema"].to_string();
        assert!(!text.contains("$ref"), "{name} is inline: {text}");
        assert!(text.contains("\"true\""), "{name} accepts `true`: {text}");
    }
}

#[tokio::test]
async fn custom_field_defaults_accept_any_json_type() {
    let description = served_description().await;
    let schemas = &description["components"]["schemas"];

    for (schema, property) in
        [("DefinitionView", "default"), ("DefinitionRequest", "default"), ("DefinitionChangeRequest", "default")]
    {
        let property_schema = &schemas[schema]["properties"][property];
        assert!(property_schema.is_object(), "{schema}.{property} is described");
        assert!(
            property_schema.get("type").is_none(),
            "{schema}.{property} must allow strings, numbers, booleans and arrays: {property_schema}"
        );
    }
}

#[tokio::test]
async fn operation_ids_are_unique() {
    let description = served_description().await;
    let mut seen = BTreeSet::new();

    for (path, item) in description["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(id) = operation["operationId"].as_str() else {
                continue;
            };
            assert!(seen.insert(id.to_owned()), "operationId {id:?} of {method} {path} is used twice");
        }
    }
    assert!(seen.contains("list_segment_members"), "{seen:?}");
}
