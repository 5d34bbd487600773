//! Custom field definitions and typed custom values in the admin API, on
//! both stores, with Footprint in front of the demo shop.

mod support;

use std::sync::Arc;

use footprint::store::{now_millis, DefinitionWrite, FieldDefinition, FieldType, MergeIntent, Store, MAX_DEFINITIONS};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::app::{send, Reply, TestApp};

on_both_stores!(
    definition_create_get_and_list,
    definition_rejects_each_invalid_member,
    definition_duplicate_name_conflicts,
    definition_limit_conflicts,
    definition_patch_rejects_type_change,
    rename_keeps_values_under_new_name,
    delete_hides_values_and_rejects_writes,
    option_change_reports_stale_values,
    option_change_checks_kept_default,
    values_of_every_type_are_typed,
    invalid_values_name_the_field,
    multiple_choice_rejects_repeats_and_unknowns,
    null_removes_custom_value,
    defaults_fill_unset_fields,
    merge_fills_custom_gaps,
);

async fn define(app: &TestApp, body: Value) -> Value {
    let reply = send(app, Method::POST, "/api/v1/fields", Some(body.clone())).await;
    assert_eq!(reply.status, StatusCode::CREATED, "defining {body} failed: {}", reply.json);
    reply.json
}

/// Defines one field of each type used by the value tests.
async fn define_all(app: &TestApp) {
    let definitions = [
        json!({ "name": "city", "label": "City", "type": "text" }),
        json!({ "name": "work_email", "label": "Work email", "type": "email" }),
        json!({ "name": "landline", "label": "Landline", "type": "phone" }),
        json!({ "name": "shoe_size", "label": "Shoe size", "type": "integer" }),
        json!({ "name": "height", "label": "Height (m)", "type": "decimal" }),
        json!({ "name": "anniversary", "label": "Anniversary", "type": "date" }),
        json!({ "name": "last_call", "label": "Last call", "type": "date_time" }),
        json!({ "name": "newsletter_opt", "label": "Newsletter", "type": "boolean" }),
        json!({ "name": "size", "label": "Size", "type": "single_choice", "options": ["S", "M", "L"] }),
        json!({ "name": "interests", "label": "Interests", "type": "multiple_choice",
                "options": ["running", "yoga", "cycling"] }),
    ];
    for definition in definitions {
        define(app, definition).await;
    }
}

/// Creates a contact with `fields` and returns its id.
async fn create(app: &TestApp, fields: Value) -> String {
    let reply = send(app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": fields }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "create failed: {}", reply.json);
    reply.json["id"].as_str().expect("the profile has an id").to_owned()
}

async fn patch(app: &TestApp, id: &str, fields: Value) -> Reply {
    send(app, Method::PATCH, &format!("/api/v1/contacts/{id}"), Some(json!({ "fields": fields }))).await
}

async fn profile(app: &TestApp, id: &str) -> Value {
    let (status, json) = app.admin_get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, 200, "profile of {id}: {json}");
    json
}

async fn definition_create_get_and_list(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;

    let body = json!({ "name": "size", "label": " Size ", "type": "single_choice", "options": ["S", " M "],
                       "default": "M" });
    let reply = send(&app, Method::POST, "/api/v1/fields", Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    assert_eq!(reply.location.as_deref(), Some("/api/v1/fields/size"));
    assert_eq!(reply.json["label"], "Size", "the label is trimmed");
    assert_eq!(reply.json["options"], json!(["S", "M"]), "options are trimmed");
    assert_eq!(reply.json["default"], "M");
    assert_eq!(reply.json["type"], "single_choice");
    assert!(reply.json["id"].as_str().is_some_and(|id| id.len() == 36), "{}", reply.json);

    define(&app, json!({ "name": "age", "label": "Age", "type": "integer", "default": 30 })).await;

    let (status, one) = app.admin_get("/api/v1/fields/size").await;
    assert_eq!(status, 200);
    assert_eq!(one, reply.json);
    let (_, list) = app.admin_get("/api/v1/fields").await;
    let names: Vec<&str> = list["items"].as_array().expect("items").iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(names, ["age", "size"], "ordered by name");
    assert_eq!(list["items"][0]["default"], json!(30), "defaults are typed");

    let (status, missing) = app.admin_get("/api/v1/fields/colour").await;
    assert_eq!(status, 404, "{missing}");
    app.stop().await;
}

async fn definition_rejects_each_invalid_member(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let long_label = "x".repeat(201);

    let cases = [
        (json!({ "name": "Size", "label": "Size", "type": "text" }), "name"),
        (json!({ "name": "1size", "label": "Size", "type": "text" }), "name"),
        (json!({ "name": format!("a{}", "b".repeat(64)), "label": "Size", "type": "text" }), "name"),
        (json!({ "name": "email", "label": "Email", "type": "email" }), "name"),
        (json!({ "label": "Size", "type": "text" }), "name"),
        (json!({ "name": "size", "label": "  ", "type": "text" }), "label"),
        (json!({ "name": "size", "label": long_label, "type": "text" }), "label"),
        (json!({ "name": "size", "label": "Size", "type": "colour" }), "type"),
        (json!({ "name": "size", "label": "Size" }), "type"),
        (json!({ "name": "size", "label": "Size", "type": "single_choice" }), "options"),
        (json!({ "name": "size", "label": "Size", "type": "single_choice", "options": [] }), "options"),
        (json!({ "name": "size", "label": "Size", "type": "single_choice", "options": "S" }), "options"),
        (json!({ "name": "size", "label": "Size", "type": "single_choice", "options": ["S", "M", "S"] }), "options[2]"),
        (json!({ "name": "size", "label": "Size", "type": "multiple_choice", "options": ["S", ""] }), "options[1]"),
        (json!({ "name": "size", "label": "Size", "type": "multiple_choice", "options": ["S", 3] }), "options[1]"),
        (json!({ "name": "size", "label": "Size", "type": "text", "options": ["S"] }), "options"),
        (
            json!({ "name": "size", "label": "Size", "type": "single_choice", "options": ["S"], "default": "XL" }),
            "default",
        ),
        (json!({ "name": "size", "label": "Size", "type": "integer", "default": "big" }), "default"),
        (json!({ "name": "size", "label": "Size", "type": "text", "colour": "red" }), "colour"),
    ];
    for (body, member) in cases {
        let reply = send(&app, Method::POST, "/api/v1/fields", Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.json);
        assert_eq!(reply.json["field"], member, "{body}: {}", reply.json);
        assert!(reply.json["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{}", reply.json);
    }

    let (_, list) = app.admin_get("/api/v1/fields").await;
    assert_eq!(list["items"], json!([]), "nothing was defined");
    app.stop().await;
}

async fn definition_duplicate_name_conflicts(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define(&app, json!({ "name": "city", "label": "City", "type": "text" })).await;
    define(&app, json!({ "name": "town", "label": "Town", "type": "text" })).await;

    let again = json!({ "name": "city", "label": "Another city", "type": "integer" });
    let reply = send(&app, Method::POST, "/api/v1/fields", Some(again)).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.json);
    assert_eq!(reply.json["field"], "name");

    let rename = json!({ "new_name": "town" });
    let reply = send(&app, Method::PATCH, "/api/v1/fields/city", Some(rename)).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.json);
    assert_eq!(reply.json["field"], "new_name");

    let (_, city) = app.admin_get("/api/v1/fields/city").await;
    assert_eq!(city["label"], "City");
    assert_eq!(city["type"], "text");
    app.stop().await;
}

async fn definition_limit_conflicts(store: Arc<dyn Store>) {
    for index in 0..MAX_DEFINITIONS {
        let definition = FieldDefinition {
            id: uuid::Uuid::now_v7(),
            name: format!("field_{index}"),
            label: "Field".to_owned(),
            kind: FieldType::Text,
            options: Vec::new(),
            default: None,
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(store.create_field_definition(&definition).await.expect("create"), DefinitionWrite::Written);
    }
    let app = TestApp::demo(store).await;

    let body = json!({ "name": "one_more", "label": "One more", "type": "text" });
    let reply = send(&app, Method::POST, "/api/v1/fields", Some(body)).await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.json);
    assert_eq!(reply.json["field"], "name");
    let (status, _) = app.admin_get("/api/v1/fields/one_more").await;
    assert_eq!(status, 404);
    app.stop().await;
}

async fn definition_patch_rejects_type_change(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define(&app, json!({ "name": "city", "label": "City", "type": "text" })).await;

    let cases = [
        (json!({ "type": "integer" }), "type"),
        (json!({ "label": "" }), "label"),
        (json!({ "options": ["a"] }), "options"),
        (json!({ "new_name": "first_name" }), "new_name"),
        (json!({ "new_name": "Town" }), "new_name"),
        (json!({ "name": "town" }), "name"),
    ];
    for (body, member) in cases {
        let reply = send(&app, Method::PATCH, "/api/v1/fields/city", Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.json);
        assert_eq!(reply.json["field"], member, "{body}: {}", reply.json);
    }

    let reply =
        send(&app, Method::PATCH, "/api/v1/fields/city", Some(json!({ "type": "text", "label": "Town" }))).await;
    assert_eq!(reply.status, StatusCode::OK, "the same type is accepted: {}", reply.json);
    assert_eq!(reply.json["label"], "Town");
    assert_eq!(reply.json["notes"], json!([]));

    let reply = send(&app, Method::PATCH, "/api/v1/fields/nowhere", Some(json!({ "label": "X" }))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn rename_keeps_values_under_new_name(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define(&app, json!({ "name": "city", "label": "City", "type": "text" })).await;
    let id = create(&app, json!({ "first_name": "Ana", "city": "Madrid" })).await;

    let reply = send(&app, Method::PATCH, "/api/v1/fields/city", Some(json!({ "new_name": "town" }))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["name"], "town");
    assert_eq!(reply.json["notes"].as_array().map(Vec::len), Some(1), "{}", reply.json);

    let shown = profile(&app, &id).await;
    assert_eq!(shown["custom_fields"], json!({ "town": "Madrid" }));
    assert_eq!(shown["fields"], json!({ "first_name": "Ana" }), "custom values stay out of `fields`");

    let old_name = patch(&app, &id, json!({ "city": "Sevilla" })).await;
    assert_eq!(old_name.status, StatusCode::BAD_REQUEST);
    assert_eq!(old_name.json["field"], "fields.city");
    let new_name = patch(&app, &id, json!({ "town": "Sevilla" })).await;
    assert_eq!(new_name.status, StatusCode::OK, "{}", new_name.json);
    assert_eq!(new_name.json["custom_fields"], json!({ "town": "Sevilla" }));
    app.stop().await;
}

async fn delete_hides_values_and_rejects_writes(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define(&app, json!({ "name": "city", "label": "City", "type": "text" })).await;
    define(&app, json!({ "name": "shoe_size", "label": "Shoe size", "type": "integer" })).await;
    let id = create(&app, json!({ "city": "Madrid", "shoe_size": 42 })).await;

    let reply = send(&app, Method::DELETE, "/api/v1/fields/city", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["name"], "city");
    assert_eq!(reply.json["notes"].as_array().map(Vec::len), Some(1), "{}", reply.json);
    let again = send(&app, Method::DELETE, "/api/v1/fields/city", None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    assert_eq!(profile(&app, &id).await["custom_fields"], json!({ "shoe_size": 42 }));
    let write = patch(&app, &id, json!({ "city": "Sevilla" })).await;
    assert_eq!(write.status, StatusCode::BAD_REQUEST);
    assert_eq!(write.json["field"], "fields.city");

    define(&app, json!({ "name": "city", "label": "City", "type": "text" })).await;
    let shown = profile(&app, &id).await;
    assert_eq!(shown["custom_fields"], json!({ "shoe_size": 42 }), "a new field of the same name starts empty");
    app.stop().await;
}

async fn option_change_reports_stale_values(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define(&app, json!({ "name": "size", "label": "Size", "type": "single_choice", "options": ["S", "M"] })).await;
    define(
        &app,
        json!({ "name": "interests", "label": "Interests", "type": "multiple_choice",
                        "options": ["running", "yoga"] }),
    )
    .await;
    let id = create(&app, json!({ "size": "S", "interests": ["yoga", "running"] })).await;
    assert_eq!(profile(&app, &id).await["custom_field_warnings"], json!({}));

    let reply = send(&app, Method::PATCH, "/api/v1/fields/size", Some(json!({ "options": ["M", "L"] }))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["options"], json!(["M", "L"]));
    assert_eq!(reply.json["notes"].as_array().map(Vec::len), Some(1), "{}", reply.json);
    let reply = send(&app, Method::PATCH, "/api/v1/fields/interests", Some(json!({ "options": ["yoga"] }))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);

    let shown = profile(&app, &id).await;
    assert_eq!(shown["custom_fields"], json!({ "size": "S", "interests": ["yoga", "running"] }), "values are kept");
    let warnings = shown["custom_field_warnings"].as_object().expect("warnings object");
    assert_eq!(warnings.keys().collect::<Vec<_>>(), ["interests", "size"], "{shown}");

    let rewrite = patch(&app, &id, json!({ "size": "S" })).await;
    assert_eq!(rewrite.status, StatusCode::BAD_REQUEST, "a removed option cannot be written again");
    let fixed = patch(&app, &id, json!({ "size": "L", "interests": ["yoga"] })).await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.json);
    assert_eq!(fixed.json["custom_field_warnings"], json!({}));
    app.stop().await;
}

async fn option_change_checks_kept_default(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let body =
        json!({ "name": "size", "label": "Size", "type": "single_choice", "options": ["S", "M"], "default": "S" });
    define(&app, body).await;

    let reply = send(&app, Method::PATCH, "/api/v1/fields/size", Some(json!({ "options": ["M", "L"] }))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.json);
    assert_eq!(reply.json["field"], "default");

    let both = json!({ "options": ["M", "L"], "default": "L" });
    let reply = send(&app, Method::PATCH, "/api/v1/fields/size", Some(both)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["default"], "L");

    let cleared = json!({ "options": ["M"], "default": null });
    let reply = send(&app, Method::PATCH, "/api/v1/fields/size", Some(cleared)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["default"], Value::Null);
    app.stop().await;
}

async fn values_of_every_type_are_typed(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define_all(&app).await;

    let fields = json!({
        "email": "ana@example.com",
        "city": " Madrid ",
        "work_email": "Ana@Work.example",
        "landline": "+34 910 00 00 01",
        "shoe_size": 42,
        "height": "1.70",
        "anniversary": "2020-02-29",
        "last_call": "2026-12-04T10:30:00+01:00",
        "newsletter_opt": "true",
        "size": "M",
        "interests": ["yoga", "running"],
    });
    let id = create(&app, fields).await;

    let shown = profile(&app, &id).await;
    let expected = json!({
        "city": "Madrid",
        "work_email": "Ana@Work.example",
        "landline": "+34910000001",
        "shoe_size": 42,
        "height": 1.7,
        "anniversary": "2020-02-29",
        "last_call": "2026-12-04T09:30:00Z",
        "newsletter_opt": true,
        "size": "M",
        "interests": ["yoga", "running"],
    });
    assert_eq!(shown["custom_fields"], expected);
    assert_eq!(shown["fields"], json!({ "email": "ana@example.com" }));

    let edited = patch(&app, &id, json!({ "newsletter_opt": false, "height": 1.85, "shoe_size": "-3" })).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.json);
    assert_eq!(edited.json["custom_fields"]["newsletter_opt"], json!(false));
    assert_eq!(edited.json["custom_fields"]["height"], json!(1.85));
    assert_eq!(edited.json["custom_fields"]["shoe_size"], json!(-3));
    app.stop().await;
}

async fn invalid_values_name_the_field(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define_all(&app).await;
    let id = create(&app, json!({ "city": "Madrid" })).await;

    let cases = [
        ("city", json!(12)),
        ("city", json!("a\u{0}b")),
        ("city", json!("x".repeat(2001))),
        ("work_email", json!("not an email")),
        ("landline", json!("12")),
        ("shoe_size", json!(42.5)),
        ("shoe_size", json!("forty")),
        ("shoe_size", json!("9223372036854775808")),
        ("shoe_size", json!(true)),
        ("height", json!("1,70")),
        ("height", json!("inf")),
        ("height", json!("NaN")),
        ("anniversary", json!("2021-02-29")),
        ("anniversary", json!("29/02/2020")),
        ("last_call", json!("2026-12-04 10:30")),
        ("last_call", json!("2026-12-04T10:30:00")),
        ("newsletter_opt", json!("yes")),
        ("newsletter_opt", json!(1)),
        ("size", json!("XL")),
        ("size", json!(["M"])),
        ("interests", json!("yoga")),
        ("nickname", json!("Ana")),
    ];
    for (name, value) in cases {
        let reply = patch(&app, &id, json!({ name: value.clone() })).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name} = {value}: {}", reply.json);
        assert_eq!(reply.json["field"], format!("fields.{name}"), "{name} = {value}");
        let detail = reply.json["detail"].as_str().unwrap_or_default();
        assert!(!detail.is_empty(), "{name} = {value}: {}", reply.json);
    }

    let created = send(&app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": { "shoe_size": "big" } }))).await;
    assert_eq!(created.status, StatusCode::BAD_REQUEST);
    assert_eq!(created.json["field"], "fields.shoe_size");

    assert_eq!(profile(&app, &id).await["custom_fields"], json!({ "city": "Madrid" }), "nothing was written");
    app.stop().await;
}

async fn multiple_choice_rejects_repeats_and_unknowns(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define_all(&app).await;
    let id = create(&app, json!({ "interests": ["cycling"] })).await;

    let cases = [
        (json!(["yoga", "running", "yoga"]), "repeats"),
        (json!(["yoga", "chess"]), "not one of"),
        (json!(["yoga", 3]), "not a string"),
    ];
    for (value, reason) in cases {
        let reply = patch(&app, &id, json!({ "interests": value.clone() })).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{value}");
        assert_eq!(reply.json["field"], "fields.interests", "{value}");
        let detail = reply.json["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(reason), "{value}: {detail}");
    }

    let ordered = patch(&app, &id, json!({ "interests": ["yoga", "cycling", "running"] })).await;
    assert_eq!(ordered.status, StatusCode::OK, "{}", ordered.json);
    assert_eq!(ordered.json["custom_fields"]["interests"], json!(["yoga", "cycling", "running"]), "order is kept");
    app.stop().await;
}

async fn null_removes_custom_value(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define_all(&app).await;
    let id = create(&app, json!({ "city": "Madrid", "shoe_size": 42, "interests": ["yoga"], "size": "S" })).await;

    let reply = patch(&app, &id, json!({ "city": null, "shoe_size": null, "interests": [], "size": "" })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["custom_fields"], json!({}));

    let record = app.store.contact(id.parse().expect("contact id")).await.expect("read").expect("contact exists");
    let custom: Vec<&String> = record.fields.keys().filter(|name| name.starts_with("cf.")).collect();
    assert_eq!(custom, Vec::<&String>::new(), "removed values are gone from the store");
    app.stop().await;
}

async fn defaults_fill_unset_fields(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    define(&app, json!({ "name": "newsletter_opt", "label": "Newsletter", "type": "boolean", "default": false })).await;
    define(&app, json!({ "name": "shoe_size", "label": "Shoe size", "type": "integer", "default": "40" })).await;
    define(&app, json!({ "name": "city", "label": "City", "type": "text" })).await;
    let id = create(&app, json!({ "shoe_size": 44 })).await;

    let shown = profile(&app, &id).await;
    assert_eq!(shown["custom_fields"], json!({ "newsletter_opt": false, "shoe_size": 44 }));

    let reply = send(&app, Method::PATCH, "/api/v1/fields/newsletter_opt", Some(json!({ "default": true }))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let cleared = patch(&app, &id, json!({ "shoe_size": null })).await;
    assert_eq!(cleared.json["custom_fields"], json!({ "newsletter_opt": true, "shoe_size": 40 }));
    app.stop().await;
}

async fn merge_fills_custom_gaps(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    define_all(&app).await;
    let survivor = create(&app, json!({ "city": "Madrid" })).await;
    let merged = create(&app, json!({ "city": "Sevilla", "shoe_size": 42 })).await;

    // The merge fills the survivor's empty fields from the merged contact,
    // custom ones included, because both are profile fields.
    let identity = footprint::identity::Identity::new(store.clone());
    let intent = MergeIntent { from: merged.parse().expect("id"), into: survivor.parse().expect("id") };
    identity.merge(intent, now_millis()).await.expect("merge");

    let shown = profile(&app, &survivor).await;
    assert_eq!(shown["custom_fields"], json!({ "city": "Madrid", "shoe_size": 42 }));
    app.stop().await;
}
