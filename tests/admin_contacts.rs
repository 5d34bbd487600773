//! The contacts list of the admin API on both stores: creating and editing
//! contacts by hand, push subscriptions, exact search by email or
//! cellphone, filters and paging, with Footprint in front of the demo shop.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use footprint::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::app::{browser, client, send, TestApp, TOKEN};

on_both_stores!(
    create_returns_profile_and_location,
    create_rejects_each_invalid_field,
    create_conflicts_on_taken_unique_values,
    search_by_email_ignores_case_and_spaces,
    search_by_cellphone_ignores_formatting,
    patch_sets_and_removes_fields,
    patch_email_change_frees_old_value,
    patch_rejects_invalid_values,
    admin_edit_activity_names_fields_only,
    push_subscriptions_add_and_remove,
    filters_alone_and_combined,
    paging_reads_every_contact_once,
    merged_contacts_absent_from_list,
    proxied_traffic_moves_contact_to_front,
);

/// Creates a contact with `fields` and returns its id.
async fn create(app: &TestApp, fields: Value) -> String {
    let reply = send(app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": fields }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "create failed: {}", reply.json);
    reply.json["id"].as_str().expect("the profile has an id").to_owned()
}

async fn list(app: &TestApp, query: &str) -> Value {
    let (status, json) = app.admin_get(&format!("/api/v1/contacts{query}")).await;
    assert_eq!(status, 200, "list {query:?} failed: {json}");
    json
}

fn item_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("item id").to_owned())
        .collect()
}

async fn create_returns_profile_and_location(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;

    let fields = json!({
        "email": "  Ana.Garcia@Example.COM ",
        "first_name": "Ana",
        "last_name": "García",
        "date_of_birth": "1990-02-28",
        "cellphone": "600 000 001",
    });
    let reply = send(&app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": fields }))).await;

    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.json["id"].as_str().expect("id").to_owned();
    assert_eq!(reply.location.as_deref(), Some(format!("/api/v1/contacts/{id}").as_str()));
    assert_eq!(reply.json["registered"], true);
    assert_eq!(reply.json["fields"]["email"], "Ana.Garcia@Example.COM", "shown as typed, trimmed");
    assert_eq!(reply.json["fields"]["cellphone"], "+34600000001", "stored in E.164");
    assert_eq!(reply.json["fields"]["first_name"], "Ana");
    assert_eq!(reply.json["fields"]["last_name"], "García");
    assert_eq!(reply.json["fields"]["date_of_birth"], "1990-02-28");
    assert_eq!(reply.json["push_subscriptions"], json!([]));

    let (status, profile) = app.admin_get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(profile, reply.json, "the create response is the profile");
    let (status, by_email) = app.admin_get("/api/v1/contacts/by-email/ana.garcia@example.com").await;
    assert_eq!(status, 200);
    assert_eq!(by_email["id"], id.as_str());

    let empty = send(&app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": {} }))).await;
    assert_eq!(empty.status, StatusCode::CREATED, "an anonymous contact can be created");
    assert_eq!(empty.json["registered"], false);
    app.stop().await;
}

async fn create_rejects_each_invalid_field(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;

    let cases = [
        (json!({ "fields": { "email": "null" } }), "fields.email"),
        (json!({ "fields": { "email": "ana@" } }), "fields.email"),
        (json!({ "fields": { "cellphone": "12" } }), "fields.cellphone"),
        (json!({ "fields": { "date_of_birth": "1990-02-30" } }), "fields.date_of_birth"),
        (json!({ "fields": { "date_of_birth": "28/02/1990" } }), "fields.date_of_birth"),
        (json!({ "fields": { "date_of_birth": "2999-01-01" } }), "fields.date_of_birth"),
        (json!({ "fields": { "first_name": "Ana\u{7}" } }), "fields.first_name"),
        (json!({ "fields": { "last_name": "x".repeat(201) } }), "fields.last_name"),
        (json!({ "fields": { "nickname": "Ana" } }), "fields.nickname"),
        (json!({ "fields": { "first_name": 5 } }), "fields.first_name"),
        (json!({ "fields": "email=ana@example.com" }), "fields"),
        (json!({}), "fields"),
        (json!({ "fields": {}, "id": "x" }), "id"),
        (json!(["fields"]), "body"),
    ];
    for (body, field) in cases {
        let reply = send(&app, Method::POST, "/api/v1/contacts", Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.json["field"], field, "{body}");
        assert!(reply.json["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{body}");
    }

    let not_json = client()
        .post(format!("http://{}/api/v1/contacts", app.admin))
        .bearer_auth(TOKEN)
        .body("{fields")
        .send()
        .await
        .expect("admin API answers");
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_json.json::<Value>().await.expect("problem")["field"], "body");

    // A valid email next to an invalid cellphone: nothing is written.
    let body = json!({ "fields": { "email": "kept-out@example.com", "cellphone": "12" } });
    let reply = send(&app, Method::POST, "/api/v1/contacts", Some(body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["field"], "fields.cellphone");
    assert!(reply.json["detail"].as_str().expect("detail").contains("phone"));
    assert_eq!(list(&app, "").await["items"], json!([]), "no contact was created");
    let (status, _) = app.admin_get("/api/v1/contacts/by-email/kept-out@example.com").await;
    assert_eq!(status, 404, "the email was not claimed");
    app.stop().await;
}

async fn create_conflicts_on_taken_unique_values(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let owner = create(&app, json!({ "email": "ana@example.com", "cellphone": "+34600000001" })).await;

    let cases = [
        (json!({ "email": " ANA@example.com" }), "fields.email"),
        (json!({ "cellphone": "0034 600 000 001" }), "fields.cellphone"),
        (json!({ "email": "new@example.com", "cellphone": "600000001" }), "fields.cellphone"),
    ];
    for (fields, field) in cases {
        let reply = send(&app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": fields.clone() }))).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{fields}");
        assert_eq!(reply.json["field"], field, "{fields}");
        assert_eq!(reply.json["status"], 409, "{fields}");
    }

    // The rejected request released the email it had claimed.
    let (status, _) = app.admin_get("/api/v1/contacts/by-email/new@example.com").await;
    assert_eq!(status, 404);
    let taken_later = create(&app, json!({ "email": "new@example.com" })).await;
    assert_ne!(taken_later, owner);
    assert_eq!(item_ids(&list(&app, "").await).len(), 2, "only the two accepted creates exist");
    app.stop().await;
}

async fn search_by_email_ignores_case_and_spaces(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let ana = create(&app, json!({ "email": "Ana.Garcia@Example.COM" })).await;
    create(&app, json!({ "email": "other@example.com" })).await;

    for variant in ["  ANA.GARCIA@example.com ", "ana.garcia@example.com", "Ana.Garcia@Example.COM"] {
        let query = format!("?search={}", urlencode(variant));
        let page = list(&app, &query).await;
        assert_eq!(item_ids(&page), vec![ana.clone()], "{variant:?}");
        assert_eq!(page["items"][0]["email"], "Ana.Garcia@Example.COM", "{variant:?}");
        assert_eq!(page["next"], Value::Null);
    }
    let by_email = list(&app, "?by=email&search=ANA.GARCIA%40example.com").await;
    assert_eq!(item_ids(&by_email), vec![ana.clone()]);
    assert_eq!(item_ids(&list(&app, "?search=nobody%40example.com").await), Vec::<String>::new());

    let (status, problem) = app.admin_get("/api/v1/contacts?search=null").await;
    assert_eq!(status, 400);
    assert_eq!(problem["field"], "search");
    let (status, problem) = app.admin_get("/api/v1/contacts?search=x&by=name").await;
    assert_eq!(status, 400);
    assert_eq!(problem["field"], "by");
    app.stop().await;
}

async fn search_by_cellphone_ignores_formatting(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let owner = create(&app, json!({ "cellphone": "+34 600-000-001" })).await;
    create(&app, json!({ "cellphone": "600 000 002" })).await;

    for variant in ["600 000 001", "+34 600-000-001", "0034600000001", "34600000001", "600000001"] {
        let query = format!("?by=cellphone&search={}", urlencode(variant));
        let page = list(&app, &query).await;
        assert_eq!(item_ids(&page), vec![owner.clone()], "{variant:?}");
        assert_eq!(page["items"][0]["cellphone"], "+34600000001", "{variant:?}");
    }

    let (status, problem) = app.admin_get("/api/v1/contacts?by=cellphone&search=12").await;
    assert_eq!(status, 400, "12 is not a phone number");
    assert_eq!(problem["field"], "search");
    let reply = send(&app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": { "cellphone": "12" } }))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["field"], "fields.cellphone");
    app.stop().await;
}

async fn patch_sets_and_removes_fields(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let id = create(&app, json!({ "email": "ana@example.com", "first_name": "Ana", "last_name": "García" })).await;
    let path = format!("/api/v1/contacts/{id}");

    let body = json!({ "fields": { "first_name": "Anna", "last_name": null, "cellphone": "600 000 001" } });
    let reply = send(&app, Method::PATCH, &path, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(
        reply.json["fields"],
        json!({ "email": "ana@example.com", "first_name": "Anna", "cellphone": "+34600000001" })
    );

    let body = json!({ "fields": { "email": "", "cellphone": null } });
    let reply = send(&app, Method::PATCH, &path, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["fields"], json!({ "first_name": "Anna" }));
    assert_eq!(reply.json["registered"], false, "without an email the contact is anonymous");
    let (status, _) = app.admin_get("/api/v1/contacts/by-email/ana@example.com").await;
    assert_eq!(status, 404, "a removed email no longer finds the contact");
    let (status, _) = app.admin_get("/api/v1/contacts/by-phone/+34600000001").await;
    assert_eq!(status, 404, "a removed cellphone no longer finds the contact");

    let missing = format!("/api/v1/contacts/{}", uuid::Uuid::now_v7());
    let reply = send(&app, Method::PATCH, &missing, Some(json!({ "fields": { "first_name": "X" } }))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn patch_email_change_frees_old_value(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let first = create(&app, json!({ "email": "old@example.com", "cellphone": "600000001" })).await;
    let path = format!("/api/v1/contacts/{first}");

    let body = json!({ "fields": { "email": "New@Example.com", "cellphone": "600000002" } });
    let reply = send(&app, Method::PATCH, &path, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);

    let second = create(&app, json!({ "email": "OLD@example.com", "cellphone": "+34600000001" })).await;
    assert_ne!(second, first);
    assert_eq!(item_ids(&list(&app, "?search=old%40example.com").await), vec![second.clone()]);
    assert_eq!(item_ids(&list(&app, "?by=cellphone&search=600000001").await), vec![second.clone()]);
    assert_eq!(item_ids(&list(&app, "?search=new%40example.com").await), vec![first.clone()]);

    let body = json!({ "fields": { "email": "new@example.com" } });
    let reply = send(&app, Method::PATCH, &format!("/api/v1/contacts/{second}"), Some(body)).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.json["field"], "fields.email");
    let (_, unchanged) = app.admin_get(&format!("/api/v1/contacts/{second}")).await;
    assert_eq!(unchanged["fields"]["email"], "OLD@example.com", "a rejected edit changes nothing");
    assert_eq!(item_ids(&list(&app, "?search=old%40example.com").await), vec![second.clone()]);

    let body = json!({ "fields": { "email": "NEW@example.com" } });
    let reply = send(&app, Method::PATCH, &path, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "a contact may retype its own email");
    assert_eq!(reply.json["fields"]["email"], "NEW@example.com");
    assert_eq!(item_ids(&list(&app, "?search=new%40example.com").await), vec![first]);
    app.stop().await;
}

async fn patch_rejects_invalid_values(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let id = create(&app, json!({ "first_name": "Ana" })).await;
    let path = format!("/api/v1/contacts/{id}");

    let cases = [
        (json!({ "fields": { "first_name": "Anna", "cellphone": "12" } }), "fields.cellphone"),
        (json!({ "fields": { "first_name": "Anna", "city": "Madrid" } }), "fields.city"),
        (json!({ "fields": { "first_name": "Anna", "date_of_birth": "2999-12-31" } }), "fields.date_of_birth"),
        (json!({ "fields": { "first_name": true } }), "fields.first_name"),
    ];
    for (body, field) in cases {
        let reply = send(&app, Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.json["field"], field, "{body}");
    }
    let (_, profile) = app.admin_get(&path).await;
    assert_eq!(profile["fields"], json!({ "first_name": "Ana" }), "nothing was written");

    let reply = send(&app, Method::PATCH, "/api/v1/contacts/not-a-uuid", Some(json!({ "fields": {} }))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["field"], "id");
    app.stop().await;
}

async fn admin_edit_activity_names_fields_only(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let id = create(&app, json!({ "email": "ana@example.com", "first_name": "Ana", "cellphone": "600000001" })).await;
    let body = json!({ "fields": { "last_name": "Secretname", "first_name": null } });
    let reply = send(&app, Method::PATCH, &format!("/api/v1/contacts/{id}"), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK);

    let (status, timeline) = app.admin_get(&format!("/api/v1/contacts/{id}/activities?type=admin_edit")).await;
    assert_eq!(status, 200);
    let items = timeline["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "one activity per create or edit: {timeline}");
    assert_eq!(items[0]["properties"], json!({ "by": "test", "fields": "first_name,last_name" }));
    assert_eq!(items[1]["properties"], json!({ "by": "test", "fields": "cellphone,email,first_name" }));
    let text = timeline.to_string();
    for value in ["ana@example.com", "Ana\"", "600000001", "Secretname"] {
        assert!(!text.contains(value), "the activity repeats the value {value:?}: {text}");
    }

    let (_, profile) = app.admin_get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(profile["counters"]["admin_edit"], 2);
    app.stop().await;
}

async fn push_subscriptions_add_and_remove(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let id = create(&app, json!({ "first_name": "Ana" })).await;
    let collection = format!("/api/v1/contacts/{id}/push-subscriptions");

    let reply = send(&app, Method::POST, &collection, Some(json!({ "endpoint_id": "device/1 é" }))).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["endpoint_id"], "device/1 é");
    assert!(reply.json["created_at"].as_str().is_some_and(|at| at.ends_with('Z')));
    assert_eq!(reply.location.as_deref(), Some(format!("{collection}/device%2F1%20%C3%A9").as_str()));
    let again = send(&app, Method::POST, &collection, Some(json!({ "endpoint_id": "device/1 é" }))).await;
    assert_eq!(again.status, StatusCode::OK, "adding it again changes nothing");
    assert_eq!(again.json["created_at"], reply.json["created_at"]);

    let (_, profile) = app.admin_get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(profile["push_subscriptions"], json!([reply.json.clone()]));

    for (body, field) in [
        (json!({ "endpoint_id": "" }), "endpoint_id"),
        (json!({ "endpoint_id": "x".repeat(513) }), "endpoint_id"),
        (json!({ "endpoint_id": "a\nb" }), "endpoint_id"),
        (json!({ "endpoint": "x" }), "endpoint_id"),
    ] {
        let reply = send(&app, Method::POST, &collection, Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.json["field"], field, "{body}");
    }
    let long = "x".repeat(512);
    let reply = send(&app, Method::POST, &collection, Some(json!({ "endpoint_id": long }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "512 characters are allowed");

    let missing = format!("/api/v1/contacts/{}/push-subscriptions", uuid::Uuid::now_v7());
    let reply = send(&app, Method::POST, &missing, Some(json!({ "endpoint_id": "x" }))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let deleted = send(&app, Method::DELETE, &format!("{collection}/device%2F1%20%C3%A9"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let deleted_again = send(&app, Method::DELETE, &format!("{collection}/device%2F1%20%C3%A9"), None).await;
    assert_eq!(deleted_again.status, StatusCode::NOT_FOUND);
    assert_eq!(deleted_again.json["status"], 404);
    let never = send(&app, Method::DELETE, &format!("{collection}/never-added"), None).await;
    assert_eq!(never.status, StatusCode::NOT_FOUND);

    let (_, profile) = app.admin_get(&format!("/api/v1/contacts/{id}")).await;
    let endpoints: Vec<&str> = profile["push_subscriptions"]
        .as_array()
        .expect("push subscriptions")
        .iter()
        .filter_map(|subscription| subscription["endpoint_id"].as_str())
        .collect();
    assert_eq!(endpoints, vec![long.as_str()]);
    app.stop().await;
}

async fn filters_alone_and_combined(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let email_only = create(&app, json!({ "email": "a@example.com" })).await;
    let phone_only = create(&app, json!({ "cellphone": "600000001" })).await;
    let both = create(&app, json!({ "email": "b@example.com", "cellphone": "600000002" })).await;
    let both_push = create(&app, json!({ "email": "c@example.com", "cellphone": "600000003" })).await;
    let push_only = create(&app, json!({ "first_name": "Push" })).await;
    let nothing = create(&app, json!({ "first_name": "Nobody" })).await;
    next_millisecond().await;
    for id in [&both_push, &push_only] {
        let path = format!("/api/v1/contacts/{id}/push-subscriptions");
        let reply = send(&app, Method::POST, &path, Some(json!({ "endpoint_id": format!("device-{id}") }))).await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }

    let set = |ids: &[&String]| ids.iter().map(|id| (*id).clone()).collect::<BTreeSet<String>>();
    let cases = [
        ("", set(&[&email_only, &phone_only, &both, &both_push, &push_only, &nothing])),
        ("?has_email=true", set(&[&email_only, &both, &both_push])),
        ("?has_cellphone=true", set(&[&phone_only, &both, &both_push])),
        ("?push=true", set(&[&both_push, &push_only])),
        ("?has_email=true&has_cellphone=true", set(&[&both, &both_push])),
        ("?has_email=true&has_cellphone=true&push=true", set(&[&both_push])),
        ("?has_email=true&push=true&limit=1", set(&[&both_push])),
        ("?search=c%40example.com&push=true", set(&[&both_push])),
        ("?search=b%40example.com&push=true", set(&[])),
    ];
    for (query, expected) in cases {
        let listed: BTreeSet<String> = item_ids(&list(&app, query).await).into_iter().collect();
        assert_eq!(listed, expected, "{query}");
    }

    let page = list(&app, "?has_email=true&has_cellphone=true").await;
    let first = &page["items"][0];
    assert_eq!(first["id"], both_push.as_str(), "the push subscription made it the last updated");
    assert_eq!(first["email"], "c@example.com");
    assert_eq!(first["cellphone"], "+34600000003");
    assert_eq!(first["first_name"], Value::Null);
    assert_eq!(first["registered"], true);
    assert!(first["updated_at"].as_str().is_some_and(|at| at.ends_with('Z')));

    for (query, field) in
        [("?has_email=false", "has_email"), ("?push=1", "push"), ("?has_cellphone=yes", "has_cellphone")]
    {
        let (status, problem) = app.admin_get(&format!("/api/v1/contacts{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(problem["field"], field, "{query}");
    }
    app.stop().await;
}

async fn paging_reads_every_contact_once(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let mut created = BTreeSet::new();
    for index in 0..130 {
        created.insert(create(&app, json!({ "first_name": format!("Contact {index}") })).await);
    }

    let mut pages: Vec<Value> = Vec::new();
    let mut query = "?limit=50".to_owned();
    loop {
        let page = list(&app, &query).await;
        let next = page["next"].as_str().map(str::to_owned);
        pages.push(page);
        assert!(pages.len() <= 3, "more than three pages");
        match next {
            Some(cursor) => query = format!("?limit=50&cursor={}", urlencode(&cursor)),
            None => break,
        }
    }

    let sizes: Vec<usize> = pages.iter().map(|page| item_ids(page).len()).collect();
    assert_eq!(sizes, vec![50, 50, 30]);
    let items: Vec<Value> =
        pages.iter().flat_map(|page| page["items"].as_array().expect("items").iter().cloned()).collect();
    let ids: Vec<String> = items.iter().map(|item| item["id"].as_str().expect("id").to_owned()).collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "a contact appeared twice");
    assert_eq!(unique, created, "every created contact is listed");

    let position = |item: &Value| {
        let at = item["updated_at"].as_str().expect("updated_at");
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).expect("RFC 3339");
        (at, item["id"].as_str().expect("id").to_owned())
    };
    for pair in items.windows(2) {
        assert!(position(&pair[0]) > position(&pair[1]), "not last updated first: {} then {}", pair[0], pair[1]);
    }

    let (status, problem) = app.admin_get("/api/v1/contacts?cursor=nonsense").await;
    assert_eq!(status, 400);
    assert_eq!(problem["field"], "cursor");
    for limit in ["0", "201", "x"] {
        let (status, problem) = app.admin_get(&format!("/api/v1/contacts?limit={limit}")).await;
        assert_eq!(status, 400, "limit {limit}");
        assert_eq!(problem["field"], "limit", "limit {limit}");
    }
    assert_eq!(item_ids(&list(&app, "").await).len(), 50, "the default page size");
    app.stop().await;
}

/// Browses anonymously, then logs in as the demo customer, whom staff
/// created by hand first: the anonymous contact is merged into the
/// customer's. Returns the customer's and the anonymous contact's ids.
async fn anonymous_visit_then_login(app: &TestApp) -> (String, String) {
    let customer = create(app, json!({ "email": "customer@example.com", "first_name": "Carla" })).await;
    create(app, json!({ "first_name": "Later" })).await;
    next_millisecond().await;

    let shopper = browser();
    let first = shopper.get(app.url("/")).send().await.expect("proxied");
    let tracker = support::app::tracker_of(&first).expect("a tracker");
    shopper.get(app.url("/product/sku-1")).send().await.expect("proxied");
    let anonymous = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["counters"]["product_visit"] == 1
        })
        .await;
    let anonymous = anonymous["id"].as_str().expect("id").to_owned();
    assert_ne!(anonymous, customer);

    let login = shopper
        .post(app.url("/login"))
        .form(&[("email", "customer@example.com"), ("password", "demo-pass-123")])
        .send()
        .await
        .expect("proxied");
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    app.admin_until(&format!("/api/v1/contacts/{customer}"), |status, json| {
        status == 200 && json["counters"]["merge"] == 1 && json["counters"]["login"] == 1
    })
    .await;
    (customer, anonymous)
}

async fn merged_contacts_absent_from_list(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let (customer, anonymous) = anonymous_visit_then_login(&app).await;

    // An edit through the merged id lands on the survivor.
    let body = json!({ "fields": { "last_name": "López" } });
    let reply = send(&app, Method::PATCH, &format!("/api/v1/contacts/{anonymous}"), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["id"], customer.as_str());
    assert_eq!(reply.json["requested_id"], anonymous.as_str());
    assert_eq!(reply.json["fields"]["last_name"], "López");

    for query in ["", "?limit=1", "?has_email=true"] {
        let mut ids = Vec::new();
        let mut page = list(&app, query).await;
        loop {
            ids.extend(item_ids(&page));
            let Some(cursor) = page["next"].as_str().map(str::to_owned) else { break };
            let separator = if query.is_empty() { "?" } else { "&" };
            page = list(&app, &format!("{query}{separator}cursor={}", urlencode(&cursor))).await;
            assert!(ids.len() < 10, "paging does not end");
        }
        assert!(ids.contains(&customer), "{query:?}: {ids:?}");
        assert!(!ids.contains(&anonymous), "{query:?} lists the merged contact");
    }
    app.stop().await;
}

async fn proxied_traffic_moves_contact_to_front(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let (customer, _) = anonymous_visit_then_login(&app).await;

    let page = list(&app, "").await;
    assert_eq!(item_ids(&page).first(), Some(&customer), "the login moved the customer to the front");

    let later = create(&app, json!({ "first_name": "Newest" })).await;
    assert_eq!(item_ids(&list(&app, "").await).first(), Some(&later));
    next_millisecond().await;

    let shopper = browser();
    let login = shopper
        .post(app.url("/login"))
        .form(&[("email", "customer@example.com"), ("password", "demo-pass-123")])
        .send()
        .await
        .expect("proxied");
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    app.admin_until("/api/v1/contacts", |status, json| status == 200 && json["items"][0]["id"] == customer.as_str())
        .await;
    app.stop().await;
}

/// Waits until the clock has moved to a later millisecond, so that the
/// next change gets a later update time than the changes before it.
async fn next_millisecond() {
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
}

/// Percent-encodes a query parameter value.
fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
