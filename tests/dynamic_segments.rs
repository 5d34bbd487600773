//! Dynamic segments on both stores: validation and preview, the build of
//! existing contacts, re-evaluation after every kind of contact change,
//! and the scheduler when time alone changes a membership.

mod support;

use std::sync::Arc;
use std::time::Duration;

use footprint::segments::{Clock, Evaluator, ManualClock, Scheduler, Segment, SegmentKind};
use footprint::store::{
    now_millis, Activity, ActivityKind, ActivityQuery, ContactId, SegmentId, SegmentWrite, Source, Store,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::app::{browser, client, TestApp, TOKEN};

on_both_stores!(
    invalid_condition_names_pointer,
    preview_counts_matching_contacts,
    build_evaluates_existing_contacts,
    admin_edit_moves_contact_out,
    status_change_enters_segment,
    email_event_enters_segment,
    push_change_enters_and_leaves,
    product_views_through_proxy_enter,
    login_evaluates_merge_survivor,
    inactivity_moves_contact_out,
    abandoned_basket_moves_contact_in,
    relative_date_flips_dynamic_segment,
    deleted_segment_leaves_nothing_due,
);

const DAY: i64 = 24 * 3600 * 1000;
const HOUR: i64 = 3600 * 1000;

async fn send(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = client().request(method, format!("http://{}{path}", app.admin)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin API answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create_segment(app: &TestApp, name: &str, kind: &str, condition: Value) -> String {
    let body = json!({ "name": name, "kind": kind, "condition": condition });
    let (status, json) = send(app, Method::POST, "/api/v1/segments", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json["id"].as_str().expect("id").to_owned()
}

async fn create_contact(app: &TestApp, fields: Value) -> String {
    let (status, json) = send(app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": fields }))).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json["id"].as_str().expect("id").to_owned()
}

/// Returns the ids of the segments the contact's profile lists.
async fn segments_of(app: &TestApp, contact: &str) -> Vec<String> {
    let (status, profile) = send(app, Method::GET, &format!("/api/v1/contacts/{contact}"), None).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    profile["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .map(str::to_owned)
        .collect()
}

/// Counts the contact's activities of `kind` for `segment`.
async fn membership_activities(store: &dyn Store, contact: ContactId, kind: ActivityKind, segment: SegmentId) -> usize {
    let sources = store.sources(contact).await.expect("sources");
    let query = ActivityQuery { kinds: [kind].into_iter().collect(), limit: 1000, ..ActivityQuery::default() };
    let page = store.activities(&sources, &query).await.expect("timeline");
    page.items.iter().filter(|item| item.activity.properties.get("segment_id") == Some(&segment.to_string())).count()
}

fn first_name_is(name: &str) -> Value {
    json!({ "field": "first_name", "op": "equals", "value": name })
}

async fn invalid_condition_names_pointer(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let invalid = json!({ "all": [{ "status": "sms", "is": "subscribed" }, { "field": "cty", "op": "is_set" }] });
    let behavioural = json!({ "since_last": "login", "never": true });

    let body = json!({ "name": "Broken", "kind": "dynamic", "condition": invalid });
    let (status, problem) = send(&app, Method::POST, "/api/v1/segments", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "condition/all/1/field");
    assert!(problem["detail"].as_str().is_some_and(|detail| detail.contains("cty")), "{problem}");

    let body = json!({ "name": "Never", "kind": "dynamic", "condition": behavioural });
    let (status, problem) = send(&app, Method::POST, "/api/v1/segments", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "condition");
    assert!(problem["detail"].as_str().is_some_and(|detail| detail.contains("dynamic_plus")), "{problem}");

    let (status, problem) =
        send(&app, Method::POST, "/api/v1/segments/preview", Some(json!({ "condition": invalid }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "condition/all/1/field");
    app.stop().await;
}

async fn preview_counts_matching_contacts(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    create_contact(&app, json!({ "first_name": "Ana" })).await;
    create_contact(&app, json!({ "first_name": "ana" })).await;
    create_contact(&app, json!({ "first_name": "Bea" })).await;

    let body = json!({ "condition": first_name_is("Ana") });
    let (status, preview) = send(&app, Method::POST, "/api/v1/segments/preview", Some(body)).await;

    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["matching"], 2, "text comparisons ignore case");
    assert_eq!(preview["evaluated"], 3);
    assert_eq!(preview["complete"], true);
    let (_, all) = send(&app, Method::GET, "/api/v1/segments", None).await;
    assert_eq!(all["items"], json!([]), "a preview stores nothing");
    app.stop().await;
}

async fn build_evaluates_existing_contacts(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let ana = create_contact(&app, json!({ "first_name": "Ana" })).await;
    let bea = create_contact(&app, json!({ "first_name": "Bea" })).await;

    let segment = create_segment(&app, "Anas", "dynamic", first_name_is("Ana")).await;
    let built = app
        .admin_until(&format!("/api/v1/segments/{segment}"), |status, json| {
            status == 200 && json["build"]["state"] == "finished"
        })
        .await;

    assert_eq!(built["build"]["evaluated"], 2);
    assert_eq!(built["build"]["members"], 1);
    assert_eq!(built["size"], 1);
    assert!(built["build"]["finished_at"].is_string(), "{built}");
    assert_eq!(segments_of(&app, &ana).await, vec![segment.clone()]);
    assert!(segments_of(&app, &bea).await.is_empty());

    let body = json!({ "condition": first_name_is("Bea") });
    let (status, _) = send(&app, Method::PATCH, &format!("/api/v1/segments/{segment}"), Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    app.admin_until(&format!("/api/v1/segments/{segment}"), |status, json| {
        status == 200 && json["build"]["state"] == "finished" && json["build"]["members"] == 1
    })
    .await;
    assert!(segments_of(&app, &ana).await.is_empty(), "a new condition rebuilds the members");
    assert_eq!(segments_of(&app, &bea).await, vec![segment]);
    app.stop().await;
}

async fn admin_edit_moves_contact_out(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let segment = create_segment(&app, "Anas", "dynamic", first_name_is("Ana")).await;

    let contact = create_contact(&app, json!({ "first_name": "Ana" })).await;
    assert_eq!(segments_of(&app, &contact).await, vec![segment.clone()], "current when the create returns");

    let body = json!({ "fields": { "first_name": "Bea" } });
    let (status, profile) = send(&app, Method::PATCH, &format!("/api/v1/contacts/{contact}"), Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["segments"], json!([]), "the edit's response already shows the change");

    let id: ContactId = contact.parse().expect("contact id");
    let segment_id: SegmentId = segment.parse().expect("segment id");
    assert_eq!(membership_activities(store.as_ref(), id, ActivityKind::SegmentEntered, segment_id).await, 1);
    assert_eq!(membership_activities(store.as_ref(), id, ActivityKind::SegmentLeft, segment_id).await, 1);
    app.stop().await;
}

async fn status_change_enters_segment(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let condition = json!({ "status": "newsletter", "is": "subscribed" });
    let segment = create_segment(&app, "Readers", "dynamic", condition).await;
    let contact = create_contact(&app, json!({ "email": "reader@example.com" })).await;
    assert!(segments_of(&app, &contact).await.is_empty());

    let path = format!("/api/v1/contacts/{contact}/statuses");
    let (status, profile) = send(&app, Method::PATCH, &path, Some(json!({ "newsletter": "subscribed" }))).await;

    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["segments"][0]["id"], segment.as_str());
    app.stop().await;
}

async fn email_event_enters_segment(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let condition = json!({ "status": "email", "is": "bounced" });
    let segment = create_segment(&app, "Bounced", "dynamic", condition).await;
    let contact = create_contact(&app, json!({ "email": "gone@example.com" })).await;
    assert!(segments_of(&app, &contact).await.is_empty());

    let event = json!({ "email": "gone@example.com", "type": "hard_bounce" });
    let (status, result) = send(&app, Method::POST, "/api/v1/email-events", Some(event)).await;

    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(segments_of(&app, &contact).await, vec![segment], "current when the event is acknowledged");
    app.stop().await;
}

async fn push_change_enters_and_leaves(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let condition = json!({ "status": "push_subscribed", "is": true });
    let segment = create_segment(&app, "Pushable", "dynamic", condition).await;
    let contact = create_contact(&app, json!({})).await;

    let path = format!("/api/v1/contacts/{contact}/push-subscriptions");
    let (status, _) = send(&app, Method::POST, &path, Some(json!({ "endpoint_id": "endpoint-1" }))).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(segments_of(&app, &contact).await, vec![segment]);

    let (status, _) = send(&app, Method::DELETE, &format!("{path}/endpoint-1"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(segments_of(&app, &contact).await.is_empty());
    app.stop().await;
}

async fn product_views_through_proxy_enter(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let condition = json!({ "activity": "product_visit", "where": { "product_id": "sku-2" },
        "within": { "days": 7 }, "count": { "at_least": 2 } });
    let segment = create_segment(&app, "Interested in sku-2", "dynamic_plus", condition).await;

    let shopper = browser();
    // The browser becomes a contact when it returns its cookie.
    let first = shopper.get(app.url("/")).send().await.expect("proxied");
    let tracker = support::app::tracker_of(&first).expect("a tracker");
    shopper.get(app.url("/product/sku-2")).send().await.expect("proxied");
    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["counters"]["product_visit"] == 1
        })
        .await;
    assert_eq!(profile["segments"], json!([]), "one view is not enough");

    shopper.get(app.url("/product/sku-2")).send().await.expect("proxied");
    // The writer evaluates right after storing the activity, so the profile
    // can show the second view a moment before the membership.
    let profile = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{tracker}"), |status, json| {
            status == 200 && json["segments"].as_array().is_some_and(|segments| !segments.is_empty())
        })
        .await;
    assert_eq!(profile["counters"]["product_visit"], 2, "{profile}");
    assert_eq!(profile["segments"][0]["id"], segment.as_str(), "{profile}");
    app.stop().await;
}

async fn login_evaluates_merge_survivor(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let condition = json!({ "since_last": "cart_update", "less_than": { "days": 1 } });
    let segment = create_segment(&app, "Shopping now", "dynamic_plus", condition).await;
    let registered = create_contact(&app, json!({ "email": "customer@example.com" })).await;
    assert!(segments_of(&app, &registered).await.is_empty());

    let shopper = browser();
    shopper.get(app.url("/")).send().await.expect("proxied");
    shopper.post(app.url("/cart/add")).form(&[("product_id", "sku-1")]).send().await.expect("proxied");
    let login = [("email", "customer@example.com"), ("password", "demo-pass-123")];
    shopper.post(app.url("/login")).form(&login).send().await.expect("proxied");

    // The anonymous contact's cart update moves to the registered one.
    let profile = app
        .admin_until(&format!("/api/v1/contacts/{registered}"), |status, json| {
            status == 200 && json["segments"].as_array().is_some_and(|segments| !segments.is_empty())
        })
        .await;
    assert_eq!(profile["counters"]["login"], 1, "{profile}");
    assert_eq!(profile["counters"]["cart_update"], 1, "{profile}");
    assert_eq!(profile["segments"][0]["id"], segment.as_str(), "{profile}");

    // The anonymous contact was scheduled for its cart update and is not
    // any longer, so erasing the survivor leaves its id nowhere.
    let merged: ContactId = profile["merged_from"][0].as_str().expect("the merged id").parse().expect("an id");
    let bucket = footprint::store::flip_bucket(merged);
    let due = app.store.due_flips(bucket, now_millis() + 365 * DAY, 1000).await.expect("due");
    assert!(!due.contains(&merged), "the merged contact is still scheduled");
    app.stop().await;
}

/// Stores a dynamic segment straight in the store.
async fn store_segment(store: &dyn Store, name: &str, kind: SegmentKind, condition: Value) -> Segment {
    let segment = Segment {
        id: SegmentId::new(),
        name: name.to_owned(),
        description: String::new(),
        kind,
        condition: Some(condition),
        created_at: now_millis(),
        updated_at: now_millis(),
        created_by: "test".to_owned(),
    };
    assert_eq!(store.create_segment(&segment).await.expect("segment stored"), SegmentWrite::Written);
    segment
}

async fn record(store: &dyn Store, contact: ContactId, kind: ActivityKind, at: i64, properties: &[(&str, &str)]) {
    let activity = Activity {
        at,
        kind,
        url: String::new(),
        referrer: None,
        properties: properties.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    };
    store.append_activities(&[(Source::Contact(contact), activity)]).await.expect("activity stored");
}

async fn is_member(store: &dyn Store, contact: ContactId, segment: &Segment) -> bool {
    store.contact_segments(contact).await.expect("segments").contains(&segment.id)
}

async fn inactivity_moves_contact_out(store: Arc<dyn Store>) {
    let clock = Arc::new(ManualClock::new(now_millis()));
    let evaluator = Arc::new(Evaluator::new(store.clone(), clock.clone()));
    let scheduler = Scheduler::new(evaluator.clone());
    let condition = json!({ "activity": "page_visit", "within": { "days": 30 }, "count": { "at_least": 1 } });
    let active = store_segment(store.as_ref(), "Active", SegmentKind::DynamicPlus, condition).await;
    let contact = ContactId::new();
    record(store.as_ref(), contact, ActivityKind::PageVisit, clock.now(), &[]).await;

    evaluator.evaluate(contact).await.expect("evaluated");
    assert!(is_member(store.as_ref(), contact, &active).await);

    clock.advance(30 * DAY - 1);
    scheduler.run_once().await.expect("scheduler pass");
    assert!(is_member(store.as_ref(), contact, &active).await, "still inside the window");

    clock.advance(1);
    assert_eq!(scheduler.run_once().await.expect("scheduler pass"), 1);
    assert!(!is_member(store.as_ref(), contact, &active).await, "the visit is 30 days old");
    assert_eq!(membership_activities(store.as_ref(), contact, ActivityKind::SegmentLeft, active.id).await, 1);
    assert_eq!(scheduler.run_once().await.expect("scheduler pass"), 0, "nothing else is due");
}

async fn abandoned_basket_moves_contact_in(store: Arc<dyn Store>) {
    let clock = Arc::new(ManualClock::new(now_millis()));
    let evaluator = Arc::new(Evaluator::new(store.clone(), clock.clone()));
    let scheduler = Scheduler::new(evaluator.clone());
    let condition = json!({ "basket": { "abandoned_for": { "hours": 2 } } });
    let abandoned = store_segment(store.as_ref(), "Abandoned", SegmentKind::DynamicPlus, condition).await;
    let contact = ContactId::new();
    record(store.as_ref(), contact, ActivityKind::CartUpdate, clock.now(), &[("product_id", "sku-1")]).await;

    evaluator.evaluate(contact).await.expect("evaluated");
    assert!(!is_member(store.as_ref(), contact, &abandoned).await);

    clock.advance(2 * HOUR);
    assert_eq!(scheduler.run_once().await.expect("scheduler pass"), 1);
    assert!(is_member(store.as_ref(), contact, &abandoned).await, "two hours without a purchase");
    assert_eq!(membership_activities(store.as_ref(), contact, ActivityKind::SegmentEntered, abandoned.id).await, 1);
}

async fn relative_date_flips_dynamic_segment(store: Arc<dyn Store>) {
    let start = time::OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    let clock = Arc::new(ManualClock::new((start.unix_timestamp() * 1000) + HOUR));
    let evaluator = Arc::new(Evaluator::new(store.clone(), clock.clone()));
    let scheduler = Scheduler::new(evaluator.clone());
    let condition = json!({ "field": "date_of_birth", "op": "before", "value": { "days_ago": 1 } });
    let born = store_segment(store.as_ref(), "Born before yesterday", SegmentKind::Dynamic, condition).await;
    let contact = ContactId::new();
    let today = start.date().to_string();
    let fields = [("date_of_birth".to_owned(), today)].into_iter().collect();
    store.set_fields(contact, &fields, false, clock.now()).await.expect("fields stored");

    evaluator.evaluate(contact).await.expect("evaluated");
    assert!(!is_member(store.as_ref(), contact, &born).await);

    clock.advance(2 * DAY);
    assert_eq!(scheduler.run_once().await.expect("scheduler pass"), 1);
    assert!(is_member(store.as_ref(), contact, &born).await, "two days later the date is before yesterday");
}

async fn deleted_segment_leaves_nothing_due(store: Arc<dyn Store>) {
    let clock = Arc::new(ManualClock::new(now_millis()));
    let evaluator = Arc::new(Evaluator::new(store.clone(), clock.clone()));
    let scheduler = Scheduler::new(evaluator.clone());
    let condition = json!({ "activity": "page_visit", "within": { "days": 1 }, "count": { "at_least": 1 } });
    let active = store_segment(store.as_ref(), "Active today", SegmentKind::DynamicPlus, condition).await;
    let contact = ContactId::new();
    record(store.as_ref(), contact, ActivityKind::PageVisit, clock.now(), &[]).await;
    let evaluation = evaluator.evaluate(contact).await.expect("evaluated");
    assert_eq!(evaluation.next_flip, Some(clock.now() + DAY));

    store.delete_segment(active.id).await.expect("deleted");
    evaluator.invalidate();
    clock.advance(DAY);

    assert_eq!(scheduler.run_once().await.expect("scheduler pass"), 1, "the due contact is evaluated once");
    assert_eq!(scheduler.run_once().await.expect("scheduler pass"), 0, "and then unscheduled");
    let bucket = footprint::store::flip_bucket(contact);
    assert!(store.due_flips(bucket, clock.now() + 365 * DAY, 10).await.expect("due").is_empty());
}

/// Two instances on one Redis, each with its own evaluator and scheduler:
/// every time-based flip is recorded exactly once.
#[tokio::test]
async fn shared_redis_flips_exactly_once() {
    let server = support::redis::RedisServer::start();
    let first_store = support::stores::redis(&server).await;
    let second_store = support::stores::redis(&server).await;
    let clock = Arc::new(ManualClock::new(now_millis()));
    let first = Scheduler::new(Arc::new(Evaluator::new(first_store.clone(), clock.clone())));
    let second_evaluator = Arc::new(Evaluator::new(second_store.clone(), clock.clone()));
    let second = Scheduler::new(second_evaluator.clone());
    let condition = json!({ "activity": "login", "within": { "days": 7 }, "count": { "at_least": 1 } });
    let recent = store_segment(first_store.as_ref(), "Recent logins", SegmentKind::DynamicPlus, condition).await;

    let mut contacts = Vec::new();
    for index in 0..40 {
        let contact = ContactId::new();
        record(first_store.as_ref(), contact, ActivityKind::Login, clock.now() - index * HOUR, &[]).await;
        second_evaluator.evaluate(contact).await.expect("evaluated");
        contacts.push(contact);
    }

    clock.advance(7 * DAY);
    let (a, b) = tokio::join!(first.run_once(), second.run_once());
    let evaluated = a.expect("first pass") + b.expect("second pass");
    let (a, b) = tokio::join!(first.run_once(), second.run_once());
    assert_eq!(a.expect("first pass") + b.expect("second pass"), 0, "nothing is due twice");

    assert!(evaluated >= contacts.len(), "every contact was due: {evaluated}");
    for contact in contacts {
        assert!(!is_member(first_store.as_ref(), contact, &recent).await);
        let entered =
            membership_activities(first_store.as_ref(), contact, ActivityKind::SegmentEntered, recent.id).await;
        let left = membership_activities(first_store.as_ref(), contact, ActivityKind::SegmentLeft, recent.id).await;
        assert_eq!((entered, left), (1, 1), "contact {contact}");
    }
}

/// The scheduler wakes within its tick, so a flip lands within a minute
/// of its moment without a test calling it.
#[tokio::test]
async fn scheduler_task_wakes_by_itself() {
    let store = support::stores::embedded();
    let clock = Arc::new(ManualClock::new(now_millis()));
    let evaluator = Arc::new(Evaluator::new(store.clone(), clock.clone()));
    let condition = json!({ "activity": "search", "within": { "minutes": 1 }, "count": { "at_least": 1 } });
    let searched = store_segment(store.as_ref(), "Searching", SegmentKind::DynamicPlus, condition).await;
    let contact = ContactId::new();
    record(store.as_ref(), contact, ActivityKind::Search, clock.now(), &[("term", "shoes")]).await;
    evaluator.evaluate(contact).await.expect("evaluated");
    assert!(is_member(store.as_ref(), contact, &searched).await);

    clock.advance(60_000);
    let scheduler = tokio::spawn(Scheduler::new(evaluator).run(std::future::pending()));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while is_member(store.as_ref(), contact, &searched).await {
        assert!(std::time::Instant::now() < deadline, "the scheduler never evaluated the contact");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    scheduler.abort();
}

/// Prints the time one contact change's evaluation takes with 20
/// segments on a private Redis: 10 on fields and statuses and 10 on
/// behaviour, for a contact with 60 recent activities. A measurement, not
/// a check: run with `cargo test --release --test dynamic_segments
/// evaluation_cost -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement that prints timings"]
async fn evaluation_cost_with_twenty_segments() {
    let server = support::redis::RedisServer::start();
    let store = support::stores::redis(&server).await;
    let clock = Arc::new(ManualClock::new(now_millis()));
    let evaluator = Evaluator::new(store.clone(), clock.clone());
    for index in 0..10 {
        let condition = json!({ "all": [
            { "field": "first_name", "op": "equals", "value": format!("Name {index}") },
            { "status": "newsletter", "is": "subscribed" }
        ] });
        store_segment(store.as_ref(), &format!("Field {index}"), SegmentKind::Dynamic, condition).await;
        let behaviour = json!({ "any": [
            { "activity": "product_visit", "where": { "product_id": format!("sku-{index}") },
              "within": { "days": 7 }, "count": { "at_least": 2 } },
            { "since_last": "purchase", "at_least": { "days": 90 }, "or_never": false },
            { "basket": { "abandoned_for": { "hours": 2 } } }
        ] });
        store_segment(store.as_ref(), &format!("Behaviour {index}"), SegmentKind::DynamicPlus, behaviour).await;
    }
    let contact = ContactId::new();
    for index in 0..60 {
        let product = format!("sku-{}", index % 10);
        record(
            store.as_ref(),
            contact,
            ActivityKind::ProductVisit,
            clock.now() - index * HOUR,
            &[("product_id", &product)],
        )
        .await;
    }
    evaluator.evaluate(contact).await.expect("warm-up evaluation");

    let mut samples = Vec::new();
    for _ in 0..500 {
        let started = std::time::Instant::now();
        evaluator.evaluate(contact).await.expect("evaluated");
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "evaluation with 20 segments: p50 {:?}, p99 {:?}",
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100]
    );
}
