//! Contact statuses through the admin API on both stores: email events,
//! the soft-bounce threshold, bounces bound to an address, staff edits,
//! consent records, the profile's `statuses` block and merges.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use footprint::identity::Identity;
use footprint::store::{now_millis, ContactId, IndexKind, MergeIntent, Millis, Source, Store};
use serde_json::{json, Value};
use support::app::{client, TestApp, TOKEN};

on_both_stores!(
    hard_bounce_marks_address_bounced,
    soft_bounces_reach_threshold,
    delivery_resets_soft_bounce_streak,
    complaint_unsubscribes_newsletter,
    unsubscribe_event_unsubscribes_newsletter,
    bounce_stays_with_old_address,
    batch_answers_each_event,
    invalid_event_names_field,
    patch_changes_every_block,
    patch_records_consent_with_token_name,
    patch_rejects_invalid_statuses,
    email_active_clears_bounce,
    profile_shows_default_statuses,
    merge_keeps_registered_statuses,
    concurrent_events_all_count,
);

/// Creates a registered contact owning `email` directly in the store.
async fn registered(store: &Arc<dyn Store>, email: &str) -> ContactId {
    registered_at(store, email, now_millis()).await
}

/// Creates a registered contact owning `email`, last updated `at`.
async fn registered_at(store: &Arc<dyn Store>, email: &str, at: Millis) -> ContactId {
    let contact = ContactId::new();
    let key = footprint::identity::normalise_email(email).expect("valid test email");
    assert_eq!(store.claim_index(IndexKind::Email, &key, contact).await.expect("store"), contact);
    let fields = BTreeMap::from([("email".to_owned(), email.to_owned())]);
    store.set_fields(contact, &fields, false, at).await.expect("store");
    contact
}

/// Changes the email of `contact` the way an edit does: new field, old
/// index entry released (unless `keep_old_index`), new one claimed.
async fn change_email(store: &Arc<dyn Store>, contact: ContactId, old: &str, new: &str, keep_old_index: bool) {
    let fields = BTreeMap::from([("email".to_owned(), new.to_owned())]);
    store.set_fields(contact, &fields, false, now_millis()).await.expect("store");
    if !keep_old_index {
        store.release_index(IndexKind::Email, old, contact).await.expect("store");
    }
    assert_eq!(store.claim_index(IndexKind::Email, new, contact).await.expect("store"), contact);
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
    let response = client()
        .request(method, format!("http://{}{path}", app.admin))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .expect("admin API answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn event(app: &TestApp, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, "/api/v1/email-events", &body).await
}

async fn patch(app: &TestApp, contact: ContactId, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::PATCH, &format!("/api/v1/contacts/{contact}/statuses"), &body).await
}

async fn statuses(app: &TestApp, contact: ContactId) -> Value {
    let (status, profile) = app.admin_get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(status, 200, "{profile}");
    profile["statuses"].clone()
}

/// Returns the contact's activities of `kind`, newest first.
async fn activities(app: &TestApp, contact: ContactId, kind: &str) -> Vec<Value> {
    let (status, page) = app.admin_get(&format!("/api/v1/contacts/{contact}/activities?type={kind}&limit=200")).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn hard_bounce_marks_address_bounced(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "Ana@Example.com").await;

    let (status, result) = event(
        &app,
        json!({"email": " ANA@example.com ", "type": "hard_bounce", "reason": "550 <ana@example.com>: no such user",
               "at": "2026-03-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["result"], "recorded");
    assert_eq!(result["contact_id"], contact.to_string());
    assert_eq!(result["email_status"], "bounced");

    let email = &statuses(&app, contact).await["email"];
    assert_eq!(email["status"], "bounced");
    assert_eq!(email["last_bounce"]["type"], "hard_bounce");
    assert_eq!(email["last_bounce"]["reason"], "550 <<address>>: no such user");
    assert_eq!(email["last_bounce"]["at"], "2026-03-01T10:00:00Z");
    assert_eq!(email["temporary_bounces"], 0);

    let bounces = activities(&app, contact, "email_bounce").await;
    assert_eq!(bounces.len(), 1);
    assert_eq!(bounces[0]["properties"]["type"], "hard_bounce");
    assert_eq!(bounces[0]["at"], "2026-03-01T10:00:00Z");
    let text = bounces[0].to_string().to_lowercase();
    assert!(!text.contains("ana@example.com"), "the activity holds the address: {text}");
    app.stop().await;
}

async fn soft_bounces_reach_threshold(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "soft@example.com").await;

    for expected in 1..=2 {
        let (status, result) = event(&app, json!({"email": "soft@example.com", "type": "soft_bounce"})).await;
        assert_eq!(status, 200, "{result}");
        let email = &statuses(&app, contact).await["email"];
        assert_eq!(email["status"], "active", "after {expected} soft bounces");
        assert_eq!(email["temporary_bounces"], expected);
        assert_eq!(email["last_bounce"]["type"], "soft_bounce");
    }

    let (_, result) = event(&app, json!({"email": "soft@example.com", "type": "soft_bounce"})).await;
    assert_eq!(result["email_status"], "bounced");
    let email = &statuses(&app, contact).await["email"];
    assert_eq!(email["status"], "bounced", "the third soft bounce reaches the threshold");
    assert_eq!(email["temporary_bounces"], 3);
    assert_eq!(activities(&app, contact, "email_bounce").await.len(), 3);
    app.stop().await;
}

async fn delivery_resets_soft_bounce_streak(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "streak@example.com").await;
    let soft = json!({"email": "streak@example.com", "type": "soft_bounce"});
    let delivery = json!({"email": "streak@example.com", "type": "delivery"});

    for body in [&soft, &soft, &delivery, &soft, &soft] {
        let (status, result) = event(&app, body.clone()).await;
        assert_eq!(status, 200, "{result}");
    }
    let email = &statuses(&app, contact).await["email"];
    assert_eq!(email["status"], "active", "the delivery broke the streak");
    assert_eq!(email["temporary_bounces"], 2);

    event(&app, soft.clone()).await;
    assert_eq!(statuses(&app, contact).await["email"]["status"], "bounced");

    // A delivery resets the count but does not lift the bounce.
    event(&app, delivery.clone()).await;
    let email = &statuses(&app, contact).await["email"];
    assert_eq!(email["status"], "bounced");
    assert_eq!(email["temporary_bounces"], 0);
    assert_eq!(activities(&app, contact, "email_delivery").await.len(), 2);
    app.stop().await;
}

async fn complaint_unsubscribes_newsletter(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "complains@example.com").await;
    let (status, _) = patch(&app, contact, json!({"newsletter": "subscribed"})).await;
    assert_eq!(status, 200);

    let (status, result) =
        event(&app, json!({"email": "complains@example.com", "type": "complaint", "at": "2026-04-02T08:30:00+02:00"}))
            .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["newsletter_status"], "unsubscribed");

    let newsletter = &statuses(&app, contact).await["newsletter"];
    assert_eq!(newsletter["status"], "unsubscribed");
    assert_eq!(newsletter["consent"]["source"], "email_event");
    assert_eq!(newsletter["consent"]["at"], "2026-04-02T06:30:00Z");
    assert_eq!(newsletter["consent"].get("by"), None);

    assert_eq!(activities(&app, contact, "email_complaint").await.len(), 1);
    let changes = activities(&app, contact, "newsletter_subscription").await;
    let recorded: Vec<(&Value, &Value)> =
        changes.iter().map(|item| (&item["properties"]["status"], &item["properties"]["source"])).collect();
    assert_eq!(
        recorded,
        vec![(&json!("unsubscribed"), &json!("email_event")), (&json!("subscribed"), &json!("admin"))],
        "newest first"
    );
    assert_eq!(statuses(&app, contact).await["email"]["status"], "active", "a complaint is no bounce");
    app.stop().await;
}

async fn unsubscribe_event_unsubscribes_newsletter(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "leaves@example.com").await;
    patch(&app, contact, json!({"newsletter": "subscribed", "sms": "subscribed"})).await;

    for _ in 0..2 {
        let (status, result) = event(&app, json!({"email": "leaves@example.com", "type": "unsubscribe"})).await;
        assert_eq!(status, 200, "{result}");
        assert_eq!(result["newsletter_status"], "unsubscribed");
    }

    let statuses = statuses(&app, contact).await;
    assert_eq!(statuses["newsletter"]["status"], "unsubscribed");
    assert_eq!(statuses["newsletter"]["consent"]["source"], "email_event");
    assert_eq!(statuses["sms"]["status"], "subscribed", "an email unsubscribe leaves SMS alone");
    let changes = activities(&app, contact, "newsletter_subscription").await;
    assert_eq!(changes.len(), 3, "one subscription and both unsubscribe events: {changes:?}");
    app.stop().await;
}

/// The old address bounces hard, the email changes, and the old address
/// bounces again. The contact is not bounced for its current address, the
/// old bounce stays in its history, and the later bounce does not flag it.
async fn bounce_stays_with_old_address(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "old@example.com").await;
    let (_, result) = event(&app, json!({"email": "old@example.com", "type": "hard_bounce"})).await;
    assert_eq!(result["email_status"], "bounced");

    change_email(&store, contact, "old@example.com", "new@example.com", false).await;
    let email = &statuses(&app, contact).await["email"];
    assert_eq!(email["status"], "active", "the bounce belongs to the old address");
    assert_eq!(email["last_bounce"], Value::Null);
    assert_eq!(email["temporary_bounces"], 0);

    let (status, _) = event(&app, json!({"email": "old@example.com", "type": "hard_bounce"})).await;
    assert_eq!(status, 404, "the old address no longer leads to the contact");
    assert_eq!(statuses(&app, contact).await["email"]["status"], "active");

    // The new address starts its own streak.
    event(&app, json!({"email": "new@example.com", "type": "soft_bounce"})).await;
    assert_eq!(statuses(&app, contact).await["email"]["temporary_bounces"], 1);

    // Should the old address still lead to the contact, its bounce is
    // recorded in the history and changes nothing of the new address.
    assert_eq!(store.claim_index(IndexKind::Email, "old@example.com", contact).await.expect("store"), contact);
    let (status, result) = event(&app, json!({"email": "old@example.com", "type": "hard_bounce"})).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["email_status"], "active");
    let email = &statuses(&app, contact).await["email"];
    assert_eq!(email["status"], "active");
    assert_eq!(email["temporary_bounces"], 1, "the new address keeps its streak");
    assert_eq!(email["last_bounce"]["type"], "soft_bounce");

    let bounces = activities(&app, contact, "email_bounce").await;
    let current: Vec<&Value> = bounces.iter().map(|item| &item["properties"]["current_address"]).collect();
    assert_eq!(current, vec![&json!("false"), &json!("true"), &json!("true")], "every bounce is in the history");

    // The new address bounces on its own account.
    event(&app, json!({"email": "new@example.com", "type": "hard_bounce"})).await;
    assert_eq!(statuses(&app, contact).await["email"]["status"], "bounced");
    app.stop().await;
}

async fn batch_answers_each_event(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "batch@example.com").await;

    let (status, body) = event(
        &app,
        json!([
            {"email": "batch@example.com", "type": "soft_bounce"},
            {"email": "nobody@example.com", "type": "hard_bounce"},
            {"email": "null", "type": "hard_bounce"},
            {"email": "batch@example.com", "type": "bounce"},
            {"email": "BATCH@example.com", "type": "hard_bounce", "reason": null},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    let outcomes: Vec<(&Value, &Value)> = results.iter().map(|result| (&result["index"], &result["result"])).collect();
    assert_eq!(
        outcomes,
        vec![
            (&json!(0), &json!("recorded")),
            (&json!(1), &json!("not_found")),
            (&json!(2), &json!("invalid")),
            (&json!(3), &json!("invalid")),
            (&json!(4), &json!("recorded")),
        ]
    );
    assert_eq!(results[2]["field"], "email");
    assert_eq!(results[3]["field"], "type");
    assert_eq!(results[4]["email_status"], "bounced");
    assert_eq!(activities(&app, contact, "email_bounce").await.len(), 2);

    let too_many: Vec<Value> = (0..1001).map(|_| json!({"email": "batch@example.com", "type": "delivery"})).collect();
    for body in [json!([]), Value::Array(too_many)] {
        let (status, problem) = event(&app, body).await;
        assert_eq!(status, 400);
        assert_eq!(problem["field"], "body");
    }
    assert!(activities(&app, contact, "email_delivery").await.is_empty(), "a rejected batch applies nothing");
    app.stop().await;
}

async fn invalid_event_names_field(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    registered(&store, "checks@example.com").await;

    let cases = [
        (json!({"email": "checks@example.com", "type": "bounce"}), "type"),
        (json!({"email": "checks@example.com"}), "type"),
        (json!({"email": "null", "type": "hard_bounce"}), "email"),
        (json!({"email": "not an address", "type": "hard_bounce"}), "email"),
        (json!({"type": "hard_bounce"}), "email"),
        (json!({"email": "checks@example.com", "type": "delivery", "at": "yesterday"}), "at"),
        (json!({"email": "checks@example.com", "type": "delivery", "reason": 5}), "reason"),
        (json!({"email": "checks@example.com", "type": "delivery", "colour": "red"}), "colour"),
        (json!("hard_bounce"), "body"),
    ];
    for (body, field) in cases {
        let (status, problem) = event(&app, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(problem["field"], field, "{body}");
    }

    let (status, problem) = event(&app, json!({"email": "unknown@example.com", "type": "hard_bounce"})).await;
    assert_eq!(status, 404);
    assert_eq!(problem["title"], "Not found");
    app.stop().await;
}

async fn patch_changes_every_block(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered_at(&store, "edits@example.com", 1_000).await;

    let body = json!({"email": "paused", "newsletter": "subscribed", "cellphone": "blocked", "sms": "subscribed"});
    let (status, profile) = patch(&app, contact, body.clone()).await;
    assert_eq!(status, 200, "{profile}");
    let statuses = &profile["statuses"];
    assert_eq!(statuses["email"]["status"], "paused");
    assert_eq!(statuses["newsletter"]["status"], "subscribed");
    assert_eq!(statuses["cellphone"]["status"], "blocked");
    assert_eq!(statuses["sms"]["status"], "subscribed");
    assert_eq!(profile["fields"]["email"], "edits@example.com", "statuses are not fields");
    assert_eq!(profile["fields"].as_object().map(|fields| fields.len()), Some(1));
    let updated_at = store.contact(contact).await.expect("store").expect("contact").updated_at;
    assert!(updated_at > 1_000, "the change touches the contact");

    let edits = activities(&app, contact, "admin_edit").await;
    let mut edited: Vec<String> = edits
        .iter()
        .map(|item| {
            let properties = item["properties"].as_object().cloned().unwrap_or_default();
            assert_eq!(properties.get("by"), Some(&json!("test")));
            properties.keys().filter(|name| *name != "by").cloned().collect::<Vec<_>>().join(",")
        })
        .collect();
    edited.sort();
    assert_eq!(edited, vec!["cellphone", "email"], "one admin_edit per changed channel");
    assert_eq!(activities(&app, contact, "newsletter_subscription").await.len(), 1);
    assert_eq!(activities(&app, contact, "sms_subscription").await.len(), 1);

    // The same values again change nothing and record nothing.
    let (status, _) = patch(&app, contact, body).await;
    assert_eq!(status, 200);
    assert_eq!(activities(&app, contact, "admin_edit").await.len(), 2);
    assert_eq!(activities(&app, contact, "newsletter_subscription").await.len(), 1);

    let (status, profile) = patch(&app, contact, json!({"email": "active", "cellphone": "active"})).await;
    assert_eq!(status, 200);
    assert_eq!(profile["statuses"]["email"]["status"], "active");
    assert_eq!(profile["statuses"]["cellphone"]["status"], "active");
    assert_eq!(profile["statuses"]["newsletter"]["status"], "subscribed", "members not sent stay");
    app.stop().await;
}

async fn patch_records_consent_with_token_name(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "consent@example.com").await;

    let (status, profile) = patch(&app, contact, json!({"newsletter": "subscribed", "sms": "unsubscribed"})).await;
    assert_eq!(status, 200, "{profile}");
    for block in ["newsletter", "sms"] {
        let consent = &profile["statuses"][block]["consent"];
        assert_eq!(consent["source"], "admin", "{block}");
        assert_eq!(consent["by"], "test", "{block}: the token's name");
        assert!(consent["at"].as_str().is_some_and(|at| at.ends_with('Z')), "{block}: {consent}");
    }
    assert_eq!(profile["statuses"]["sms"]["status"], "unsubscribed");

    let changes = activities(&app, contact, "newsletter_subscription").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["properties"]["status"], "subscribed");
    assert_eq!(changes[0]["properties"]["source"], "admin");
    assert_eq!(changes[0]["properties"]["by"], "test");
    let sms = activities(&app, contact, "sms_subscription").await;
    assert_eq!(sms[0]["properties"]["status"], "unsubscribed");
    app.stop().await;
}

async fn patch_rejects_invalid_statuses(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "strict@example.com").await;

    let cases = [
        (json!({"email": "bounced"}), "email"),
        (json!({"email": "gone"}), "email"),
        (json!({"newsletter": "maybe"}), "newsletter"),
        (json!({"cellphone": "bounced"}), "cellphone"),
        (json!({"email": "paused", "sms": 1}), "sms"),
        (json!({"email": "paused", "fax": "blocked"}), "fax"),
        (json!({}), "body"),
    ];
    for (body, field) in cases {
        let (status, problem) = patch(&app, contact, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(problem["field"], field, "{body}");
        assert!(problem["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{body}");
    }
    let (_, problem) = patch(&app, contact, json!({"newsletter": "maybe"})).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("subscribed, unsubscribed, not_subscribed"), "{detail}");

    let statuses = statuses(&app, contact).await;
    assert_eq!(statuses["email"]["status"], "active", "an invalid request changes nothing");
    assert!(activities(&app, contact, "admin_edit").await.is_empty());

    // `not_subscribed` is accepted only where it changes nothing.
    let (status, _) = patch(&app, contact, json!({"newsletter": "not_subscribed"})).await;
    assert_eq!(status, 200);
    patch(&app, contact, json!({"newsletter": "subscribed"})).await;
    let (status, problem) = patch(&app, contact, json!({"newsletter": "not_subscribed"})).await;
    assert_eq!(status, 400);
    assert_eq!(problem["field"], "newsletter");

    let (status, _) = patch(&app, ContactId::new(), json!({"email": "paused"})).await;
    assert_eq!(status, 404);
    let (status, problem) = patch(&app, contact, json!("paused")).await;
    assert_eq!(status, 400);
    assert_eq!(problem["field"], "body");
    app.stop().await;
}

async fn email_active_clears_bounce(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "lifted@example.com").await;
    event(&app, json!({"email": "lifted@example.com", "type": "soft_bounce"})).await;
    event(&app, json!({"email": "lifted@example.com", "type": "hard_bounce", "reason": "mailbox gone"})).await;
    assert_eq!(statuses(&app, contact).await["email"]["status"], "bounced");

    let (status, profile) = patch(&app, contact, json!({"email": "paused"})).await;
    assert_eq!(status, 200);
    assert_eq!(profile["statuses"]["email"]["status"], "paused", "a staff hold shows over a bounce");

    let (status, profile) = patch(&app, contact, json!({"email": "active"})).await;
    assert_eq!(status, 200);
    let email = &profile["statuses"]["email"];
    assert_eq!(email["status"], "active");
    assert_eq!(email["temporary_bounces"], 0);
    assert_eq!(email["last_bounce"]["reason"], "mailbox gone", "the last bounce stays visible");

    let edits = activities(&app, contact, "admin_edit").await;
    let recorded: Vec<&Value> = edits.iter().map(|item| &item["properties"]["email"]).collect();
    assert_eq!(recorded, vec![&json!("active"), &json!("paused")]);
    app.stop().await;
}

async fn profile_shows_default_statuses(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = ContactId::new();
    store.touch(contact, Source::Contact(contact), now_millis()).await.expect("store");

    let statuses = statuses(&app, contact).await;
    let expected = json!({
        "email": {"status": "active", "last_bounce": null, "temporary_bounces": 0},
        "newsletter": {"status": "not_subscribed", "consent": null},
        "cellphone": {"status": "active"},
        "sms": {"status": "not_subscribed", "consent": null},
    });
    assert_eq!(statuses, expected);
    app.stop().await;
}

async fn merge_keeps_registered_statuses(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let registered = registered(&store, "kept@example.com").await;
    let anonymous = ContactId::new();
    store.touch(anonymous, Source::Contact(anonymous), now_millis()).await.expect("store");

    let (status, _) = patch(&app, registered, json!({"email": "paused", "newsletter": "unsubscribed"})).await;
    assert_eq!(status, 200);
    let (status, _) = patch(
        &app,
        anonymous,
        json!({"email": "blocked", "newsletter": "subscribed", "cellphone": "paused", "sms": "subscribed"}),
    )
    .await;
    assert_eq!(status, 200);
    let anonymous_sms = statuses(&app, anonymous).await["sms"].clone();

    let identity = Identity::new(store.clone());
    let intent = MergeIntent { from: anonymous, into: registered };
    for _ in 0..2 {
        identity.merge(intent, now_millis()).await.expect("merge");

        let statuses = statuses(&app, registered).await;
        assert_eq!(statuses["email"]["status"], "paused", "the registered contact's hold wins");
        assert_eq!(statuses["newsletter"]["status"], "unsubscribed", "the registered contact's choice wins");
        assert_eq!(statuses["newsletter"]["consent"]["source"], "admin");
        assert_eq!(statuses["cellphone"]["status"], "active", "the registered contact's default wins");
        assert_eq!(statuses["sms"], anonymous_sms, "a subscription it never had is filled with its consent");
    }

    let (_, profile) = app.admin_get(&format!("/api/v1/contacts/{anonymous}")).await;
    assert_eq!(profile["id"], registered.to_string(), "the merged id resolves to the survivor");
    let changes = activities(&app, registered, "sms_subscription").await;
    assert_eq!(changes.len(), 1, "the anonymous contact's history joins the survivor's");
    app.stop().await;
}

/// Only the Redis run interleaves the requests' reads and writes, because
/// the embedded store returns without yielding and its requests run in turn.
async fn concurrent_events_all_count(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let contact = registered(&store, "busy@example.com").await;

    let sends = (0..12).map(|_| async {
        // A 409 means the statuses kept changing under this request; the
        // event was not applied and is sent again, as a provider would.
        for _ in 0..20 {
            let (status, result) = event(&app, json!({"email": "busy@example.com", "type": "soft_bounce"})).await;
            if status != 409 {
                assert_eq!(status, 200, "{result}");
                return;
            }
        }
        panic!("the event kept conflicting");
    });
    futures_util::future::join_all(sends).await;

    let email = &statuses(&app, contact).await["email"];
    assert_eq!(email["temporary_bounces"], 12, "no concurrent soft bounce was lost");
    assert_eq!(email["status"], "bounced");
    assert_eq!(activities(&app, contact, "email_bounce").await.len(), 12);
    app.stop().await;
}
