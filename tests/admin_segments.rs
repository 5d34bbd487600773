//! Segments in the admin API, on both stores: definitions, static
//! members, the contacts list filter, the profile, merges and erasure.

mod support;

use std::sync::Arc;

use footprint::segments::{Segment, SegmentKind, MAX_SEGMENTS};
use footprint::store::{now_millis, MergeIntent, SegmentId, Store};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::app::{send, Reply, TestApp};

on_both_stores!(
    segment_create_get_and_list,
    segment_rejects_each_invalid_member,
    segment_duplicate_name_conflicts,
    segment_limit_conflicts,
    segment_patch_renames_and_keeps_kind,
    segment_unknown_id_is_not_found,
    static_members_added_and_removed,
    dynamic_members_reject_hand_changes,
    member_change_resolves_merged_id,
    members_page_with_cursor,
    list_filter_by_segment_combines,
    list_filter_unknown_segment_not_found,
    profile_lists_segments_by_name,
    segment_delete_clears_profiles,
    merge_unites_static_memberships,
    erasure_removes_memberships_and_export_lists_them,
);

async fn create_segment(app: &TestApp, body: Value) -> String {
    let reply = send(app, Method::POST, "/api/v1/segments", Some(body.clone())).await;
    assert_eq!(reply.status, StatusCode::CREATED, "creating {body} failed: {}", reply.json);
    reply.json["id"].as_str().expect("id").to_owned()
}

async fn create_static(app: &TestApp, name: &str) -> String {
    create_segment(app, json!({ "name": name, "kind": "static" })).await
}

async fn create_contact(app: &TestApp, fields: Value) -> String {
    let reply = send(app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": fields }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "contact: {}", reply.json);
    reply.json["id"].as_str().expect("id").to_owned()
}

async fn add_member(app: &TestApp, segment: &str, contact: &str) -> Reply {
    send(app, Method::PUT, &format!("/api/v1/segments/{segment}/members/{contact}"), None).await
}

async fn listed_ids(app: &TestApp, path: &str) -> Vec<String> {
    let (status, page) = app.admin_get(path).await;
    assert_eq!(status, 200, "{path}: {page}");
    page["items"].as_array().expect("items").iter().map(|item| item["id"].as_str().expect("id").to_owned()).collect()
}

fn assert_problem(reply: &Reply, status: StatusCode, field: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["field"], field, "{}", reply.json);
    assert!(reply.json["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{}", reply.json);
}

async fn segment_create_get_and_list(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;

    let reply = send(
        &app,
        Method::POST,
        "/api/v1/segments",
        Some(json!({ "name": "Madrid", "description": "Lives in Madrid", "kind": "dynamic",
                     "condition": { "all": [{ "field": "last_name", "op": "equals", "value": "Madrid" }] } })),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let id = reply.json["id"].as_str().expect("id").to_owned();
    assert_eq!(reply.location.as_deref(), Some(format!("/api/v1/segments/{id}").as_str()));
    assert_eq!(reply.json["kind"], "dynamic");
    assert_eq!(reply.json["size"], 0);
    assert_eq!(reply.json["created_by"], "test", "the token's name");
    create_static(&app, "Buyers").await;

    let (status, shown) = app.admin_get(&format!("/api/v1/segments/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["name"], "Madrid");
    assert_eq!(shown["description"], "Lives in Madrid");
    assert_eq!(shown["condition"], json!({ "all": [{ "field": "last_name", "op": "equals", "value": "Madrid" }] }));
    let (status, all) = app.admin_get("/api/v1/segments").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = all["items"].as_array().expect("items").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["Buyers", "Madrid"]);
    assert_eq!(all["items"][0]["condition"], Value::Null, "static segments have no condition");
    app.stop().await;
}

async fn segment_rejects_each_invalid_member(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let cases = [
        (json!({ "kind": "static" }), "name"),
        (json!({ "name": "", "kind": "static" }), "name"),
        (json!({ "name": " padded", "kind": "static" }), "name"),
        (json!({ "name": "x".repeat(101), "kind": "static" }), "name"),
        (json!({ "name": 7, "kind": "static" }), "name"),
        (json!({ "name": "a", "kind": "static", "description": "x".repeat(1001) }), "description"),
        (json!({ "name": "a" }), "kind"),
        (json!({ "name": "a", "kind": "smart" }), "kind"),
        (json!({ "name": "a", "kind": "static", "condition": {} }), "condition"),
        (json!({ "name": "a", "kind": "dynamic" }), "condition"),
        (json!({ "name": "a", "kind": "dynamic_plus", "condition": [1] }), "condition"),
        (
            json!({ "name": "a", "kind": "dynamic", "condition": { "all": [
            { "status": "newsletter", "is": "subscribed" },
            { "field": "first_name", "op": "equals", "value": 3 }
        ] } }),
            "condition/all/1/value",
        ),
        (
            json!({ "name": "a", "kind": "dynamic", "condition": { "field": "shoe_size", "op": "equals", "value": 3 } }),
            "condition/field",
        ),
        (
            json!({ "name": "a", "kind": "dynamic",
            "condition": { "activity": "login", "within": { "days": 7 }, "count": { "at_least": 1 } } }),
            "condition",
        ),
        (json!({ "name": "a", "kind": "static", "colour": "red" }), "colour"),
        (json!(["not an object"]), "body"),
    ];

    for (body, field) in cases {
        let reply = send(&app, Method::POST, "/api/v1/segments", Some(body.clone())).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, field);
    }
    let (_, all) = app.admin_get("/api/v1/segments").await;
    assert_eq!(all["items"], json!([]), "nothing was stored");
    app.stop().await;
}

async fn segment_duplicate_name_conflicts(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    create_static(&app, "VIP").await;

    let reply = send(&app, Method::POST, "/api/v1/segments", Some(json!({ "name": "VIP", "kind": "static" }))).await;

    assert_problem(&reply, StatusCode::CONFLICT, "name");
    app.stop().await;
}

async fn segment_limit_conflicts(store: Arc<dyn Store>) {
    for number in 0..MAX_SEGMENTS {
        let now = now_millis();
        let segment = Segment {
            id: SegmentId::new(),
            name: format!("segment {number}"),
            description: String::new(),
            kind: SegmentKind::Static,
            condition: None,
            created_at: now,
            updated_at: now,
            created_by: "seed".to_owned(),
        };
        store.create_segment(&segment).await.expect("seed");
    }
    let app = TestApp::demo(store).await;

    let reply = send(&app, Method::POST, "/api/v1/segments", Some(json!({ "name": "extra", "kind": "static" }))).await;

    assert_problem(&reply, StatusCode::CONFLICT, "name");
    assert!(reply.json["detail"].as_str().expect("detail").contains("1000"), "{}", reply.json);
    app.stop().await;
}

async fn segment_patch_renames_and_keeps_kind(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let id = create_static(&app, "VIP").await;
    create_static(&app, "Gold").await;
    let path = format!("/api/v1/segments/{id}");

    let renamed = send(&app, Method::PATCH, &path, Some(json!({ "name": "Platinum", "description": "Top" }))).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.json);
    assert_eq!(renamed.json["name"], "Platinum");
    assert_eq!(renamed.json["description"], "Top");
    let same_kind = send(&app, Method::PATCH, &path, Some(json!({ "kind": "static" }))).await;
    assert_eq!(same_kind.status, StatusCode::OK, "sending the kind unchanged is fine");

    let kind = send(&app, Method::PATCH, &path, Some(json!({ "kind": "dynamic" }))).await;
    assert_problem(&kind, StatusCode::CONFLICT, "kind");
    let name_clash = send(&app, Method::PATCH, &path, Some(json!({ "name": "Gold" }))).await;
    assert_problem(&name_clash, StatusCode::CONFLICT, "name");
    let condition = send(&app, Method::PATCH, &path, Some(json!({ "condition": { "any": [] } }))).await;
    assert_problem(&condition, StatusCode::BAD_REQUEST, "condition");
    let unknown = send(&app, Method::PATCH, &path, Some(json!({ "size": 3 }))).await;
    assert_problem(&unknown, StatusCode::BAD_REQUEST, "size");

    let created = create_static(&app, "VIP").await;
    assert_ne!(created, id, "the old name is free again");
    app.stop().await;
}

async fn segment_unknown_id_is_not_found(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let unknown = SegmentId::new();
    let contact = create_contact(&app, json!({})).await;

    for (method, path) in [
        (Method::GET, format!("/api/v1/segments/{unknown}")),
        (Method::PATCH, format!("/api/v1/segments/{unknown}")),
        (Method::DELETE, format!("/api/v1/segments/{unknown}")),
        (Method::GET, format!("/api/v1/segments/{unknown}/members")),
        (Method::PUT, format!("/api/v1/segments/{unknown}/members/{contact}")),
        (Method::DELETE, format!("/api/v1/segments/{unknown}/members/{contact}")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({ "name": "x" }));
        let reply = send(&app, method.clone(), &path, body).await;
        assert_problem(&reply, StatusCode::NOT_FOUND, "id");
    }
    let malformed = send(&app, Method::GET, "/api/v1/segments/not-a-uuid", None).await;
    assert_problem(&malformed, StatusCode::BAD_REQUEST, "id");
    app.stop().await;
}

async fn static_members_added_and_removed(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let segment = create_static(&app, "VIP").await;
    let contact = create_contact(&app, json!({ "first_name": "Ana" })).await;

    let added = add_member(&app, &segment, &contact).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.json);
    assert_eq!(added.json, json!({ "segment_id": segment, "contact_id": contact, "member": true, "changed": true }));
    let again = add_member(&app, &segment, &contact).await;
    assert_eq!(again.json["changed"], false);
    let (_, shown) = app.admin_get(&format!("/api/v1/segments/{segment}")).await;
    assert_eq!(shown["size"], 1);

    let path = format!("/api/v1/segments/{segment}/members/{contact}");
    let removed = send(&app, Method::DELETE, &path, None).await;
    assert_eq!(removed.json, json!({ "segment_id": segment, "contact_id": contact, "member": false, "changed": true }));
    let again = send(&app, Method::DELETE, &path, None).await;
    assert_eq!(again.json["changed"], false);

    let (_, activities) = app.admin_get(&format!("/api/v1/contacts/{contact}/activities")).await;
    let kinds: Vec<&str> =
        activities["items"].as_array().expect("items").iter().filter_map(|a| a["type"].as_str()).collect();
    assert_eq!(kinds[..2], ["segment_left", "segment_entered"], "{activities}");
    assert_eq!(activities["items"][0]["properties"], json!({ "segment_id": segment, "segment_name": "VIP" }));

    let missing = add_member(&app, &segment, &footprint::store::ContactId::new().to_string()).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let malformed = add_member(&app, &segment, "nobody").await;
    assert_problem(&malformed, StatusCode::BAD_REQUEST, "contact_id");
    app.stop().await;
}

async fn dynamic_members_reject_hand_changes(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let segment = create_segment(
        &app,
        json!({ "name": "Recent", "kind": "dynamic_plus",
        "condition": { "activity": "login", "within": { "days": 7 }, "count": { "at_least": 1 } } }),
    )
    .await;
    let contact = create_contact(&app, json!({})).await;

    let added = add_member(&app, &segment, &contact).await;
    assert_problem(&added, StatusCode::CONFLICT, "id");
    let removed = send(&app, Method::DELETE, &format!("/api/v1/segments/{segment}/members/{contact}"), None).await;
    assert_problem(&removed, StatusCode::CONFLICT, "id");
    app.stop().await;
}

async fn member_change_resolves_merged_id(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let segment = create_static(&app, "VIP").await;
    let survivor = create_contact(&app, json!({ "email": "keep@example.com" })).await;
    let merged = create_contact(&app, json!({})).await;
    let identity = footprint::identity::Identity::new(store.clone());
    let intent = MergeIntent { from: merged.parse().expect("id"), into: survivor.parse().expect("id") };
    identity.merge(intent, now_millis()).await.expect("merge");

    let added = add_member(&app, &segment, &merged).await;

    assert_eq!(added.status, StatusCode::OK, "{}", added.json);
    assert_eq!(added.json["contact_id"], survivor.as_str());
    assert_eq!(listed_ids(&app, &format!("/api/v1/segments/{segment}/members")).await, vec![survivor.clone()]);
    let removed = send(&app, Method::DELETE, &format!("/api/v1/segments/{segment}/members/{merged}"), None).await;
    assert_eq!(removed.json["contact_id"], survivor.as_str());
    assert_eq!(removed.json["changed"], true);
    app.stop().await;
}

async fn members_page_with_cursor(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let segment = create_static(&app, "VIP").await;
    let mut members = Vec::new();
    for _ in 0..5 {
        let contact = create_contact(&app, json!({})).await;
        add_member(&app, &segment, &contact).await;
        members.push(contact);
    }
    create_contact(&app, json!({})).await;

    let mut seen = Vec::new();
    let mut path = format!("/api/v1/segments/{segment}/members?limit=2");
    for _ in 0..10 {
        let (status, page) = app.admin_get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"].as_array().expect("items").iter().map(|item| item["id"].as_str().expect("id").to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/segments/{segment}/members?limit=2&cursor={next}"),
            None => break,
        }
    }
    members.sort();
    seen.sort();
    assert_eq!(seen, members, "every member once, no outsider");

    let bad_limit = send(&app, Method::GET, &format!("/api/v1/segments/{segment}/members?limit=0"), None).await;
    assert_problem(&bad_limit, StatusCode::BAD_REQUEST, "limit");
    let unknown = send(&app, Method::GET, &format!("/api/v1/segments/{segment}/members?push=true"), None).await;
    assert_problem(&unknown, StatusCode::BAD_REQUEST, "push");
    app.stop().await;
}

async fn list_filter_by_segment_combines(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let segment = create_static(&app, "VIP").await;
    let plain = create_contact(&app, json!({})).await;
    let with_email = create_contact(&app, json!({ "email": "vip@example.com" })).await;
    let with_phone = create_contact(&app, json!({ "cellphone": "+34600000001" })).await;
    let outsider = create_contact(&app, json!({ "email": "out@example.com", "cellphone": "+34600000002" })).await;
    for contact in [&plain, &with_email, &with_phone] {
        add_member(&app, &segment, contact).await;
    }
    let push = send(
        &app,
        Method::POST,
        &format!("/api/v1/contacts/{with_email}/push-subscriptions"),
        Some(json!({ "endpoint_id": "endpoint-1" })),
    )
    .await;
    assert_eq!(push.status, StatusCode::CREATED, "{}", push.json);

    let mut all = listed_ids(&app, &format!("/api/v1/contacts?segment={segment}")).await;
    all.sort();
    let mut expected = vec![plain.clone(), with_email.clone(), with_phone.clone()];
    expected.sort();
    assert_eq!(all, expected);
    assert!(!all.contains(&outsider));
    assert_eq!(
        listed_ids(&app, &format!("/api/v1/contacts?segment={segment}&has_email=true")).await,
        vec![with_email.clone()]
    );
    assert_eq!(
        listed_ids(&app, &format!("/api/v1/contacts?segment={segment}&has_cellphone=true")).await,
        vec![with_phone.clone()]
    );
    assert_eq!(
        listed_ids(&app, &format!("/api/v1/contacts?segment={segment}&push=true")).await,
        vec![with_email.clone()]
    );
    assert_eq!(
        listed_ids(&app, &format!("/api/v1/contacts?segment={segment}&search=VIP@example.com")).await,
        vec![with_email.clone()],
        "search applies the segment filter"
    );
    assert!(listed_ids(&app, &format!("/api/v1/contacts?segment={segment}&search=out@example.com")).await.is_empty());
    app.stop().await;
}

async fn list_filter_unknown_segment_not_found(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;

    let unknown = send(&app, Method::GET, &format!("/api/v1/contacts?segment={}", SegmentId::new()), None).await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "segment");
    let malformed = send(&app, Method::GET, "/api/v1/contacts?segment=vip", None).await;
    assert_problem(&malformed, StatusCode::BAD_REQUEST, "segment");
    app.stop().await;
}

async fn profile_lists_segments_by_name(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let (vip, buyers) = (create_static(&app, "VIP").await, create_static(&app, "Buyers").await);
    let contact = create_contact(&app, json!({})).await;
    add_member(&app, &vip, &contact).await;
    add_member(&app, &buyers, &contact).await;

    let (_, profile) = app.admin_get(&format!("/api/v1/contacts/{contact}")).await;

    assert_eq!(profile["segments"], json!([{ "id": buyers, "name": "Buyers" }, { "id": vip, "name": "VIP" }]));
    app.stop().await;
}

async fn segment_delete_clears_profiles(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let (vip, buyers) = (create_static(&app, "VIP").await, create_static(&app, "Buyers").await);
    let contact = create_contact(&app, json!({})).await;
    add_member(&app, &vip, &contact).await;
    add_member(&app, &buyers, &contact).await;

    let deleted = send(&app, Method::DELETE, &format!("/api/v1/segments/{vip}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let (_, profile) = app.admin_get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(profile["segments"], json!([{ "id": buyers, "name": "Buyers" }]));
    assert_eq!(app.admin_get(&format!("/api/v1/segments/{vip}")).await.0, 404);
    let again = send(&app, Method::DELETE, &format!("/api/v1/segments/{vip}"), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn merge_unites_static_memberships(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let (vip, buyers) = (create_static(&app, "VIP").await, create_static(&app, "Buyers").await);
    let survivor = create_contact(&app, json!({ "email": "keep@example.com" })).await;
    let merged = create_contact(&app, json!({})).await;
    add_member(&app, &vip, &survivor).await;
    add_member(&app, &vip, &merged).await;
    add_member(&app, &buyers, &merged).await;

    let identity = footprint::identity::Identity::new(store.clone());
    let intent = MergeIntent { from: merged.parse().expect("id"), into: survivor.parse().expect("id") };
    identity.merge(intent, now_millis()).await.expect("merge");

    let (_, profile) = app.admin_get(&format!("/api/v1/contacts/{survivor}")).await;
    assert_eq!(profile["segments"], json!([{ "id": buyers, "name": "Buyers" }, { "id": vip, "name": "VIP" }]));
    assert_eq!(listed_ids(&app, &format!("/api/v1/segments/{vip}/members")).await, vec![survivor.clone()]);
    assert_eq!(listed_ids(&app, &format!("/api/v1/segments/{buyers}/members")).await, vec![survivor.clone()]);
    let (_, shown) = app.admin_get(&format!("/api/v1/segments/{vip}")).await;
    assert_eq!(shown["size"], 1, "the merged contact left");
    let merged_id = merged.parse().expect("id");
    assert!(store.contact_segments(merged_id).await.expect("segments").is_empty());
    app.stop().await;
}

async fn erasure_removes_memberships_and_export_lists_them(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let vip = create_static(&app, "VIP").await;
    let erased = create_contact(&app, json!({ "email": "gone@example.com" })).await;
    let remaining = create_contact(&app, json!({})).await;
    add_member(&app, &vip, &erased).await;
    add_member(&app, &vip, &remaining).await;

    let (status, export) = app.admin_get(&format!("/api/v1/contacts/{erased}/export")).await;
    assert_eq!(status, 200);
    assert_eq!(export["profile"]["segments"], json!([{ "id": vip, "name": "VIP" }]));
    assert!(
        export["activities"].as_array().expect("activities").iter().any(|a| a["type"] == "segment_entered"),
        "{export}"
    );

    let deleted = send(&app, Method::DELETE, &format!("/api/v1/contacts/{erased}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    assert_eq!(listed_ids(&app, &format!("/api/v1/segments/{vip}/members")).await, vec![remaining.clone()]);
    let (_, shown) = app.admin_get(&format!("/api/v1/segments/{vip}")).await;
    assert_eq!(shown["size"], 1);
    let erased_id = erased.parse().expect("id");
    assert!(store.contact_segments(erased_id).await.expect("segments").is_empty());
    app.stop().await;
}
