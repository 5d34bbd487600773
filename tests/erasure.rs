//! Erasure of a contact made by real proxied traffic, and its export.

mod support;

use std::sync::Arc;

use footprint::store::Store;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::app::{browser, client, tracker_of, TestApp, TOKEN};
use support::redis::RedisServer;

on_both_stores!(erased_contact_leaves_no_trace_in_the_api, export_holds_profile_and_every_activity);

const EMAIL: &str = "Erase.Me@Example.com";
const PHONE: &str = "+34600000777";

/// The identifiers one shopper leaves behind.
struct Shopper {
    contact: String,
    merged: String,
    trackers: Vec<String>,
    laptop: reqwest::Client,
}

/// A shopper who browses on a phone, registers on a laptop, gives a
/// cellphone number, subscribes to the newsletter and logs in on the phone
/// (a merge).
async fn make_shopper(app: &TestApp) -> Shopper {
    let phone = browser();
    let first = phone.get(app.url("/product/sku-1")).send().await.expect("proxied");
    let phone_tracker = tracker_of(&first).expect("phone tracker");
    phone.get(app.url("/search?q=mat")).send().await.expect("proxied");
    let anonymous = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{phone_tracker}"), |status, json| {
            status == 200 && json["counters"]["search"] == 1
        })
        .await;

    let laptop = browser();
    let first = laptop.get(app.url("/")).send().await.expect("proxied");
    let laptop_tracker = tracker_of(&first).expect("laptop tracker");
    let form = [("email", EMAIL), ("password", "erase-me-123")];
    laptop.post(app.url("/register")).form(&form).send().await.expect("proxied");
    laptop.post(app.url("/newsletter")).form(&[("email", EMAIL)]).send().await.expect("proxied");
    let registered = app
        .admin_until("/api/v1/contacts/by-email/erase.me@example.com", |status, json| {
            status == 200 && json["counters"]["form_submission"] == 1
        })
        .await;
    let contact = registered["id"].as_str().expect("id").to_owned();

    let patched = client()
        .patch(format!("http://{}/api/v1/contacts/{contact}", app.admin))
        .bearer_auth(TOKEN)
        .json(&json!({"fields": {"cellphone": PHONE, "first_name": "Erin"}}))
        .send()
        .await
        .expect("admin answers");
    assert_eq!(patched.status(), StatusCode::OK);

    phone.post(app.url("/login")).form(&form).send().await.expect("proxied");
    app.admin_until(&format!("/api/v1/contacts/{contact}"), |status, json| {
        status == 200 && json["counters"]["merge"] == 1
    })
    .await;

    Shopper {
        contact,
        merged: anonymous["id"].as_str().expect("id").to_owned(),
        trackers: vec![phone_tracker, laptop_tracker],
        laptop,
    }
}

async fn delete(app: &TestApp, id: &str) -> StatusCode {
    client()
        .delete(format!("http://{}/api/v1/contacts/{id}", app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin answers")
        .status()
}

async fn erased_contact_leaves_no_trace_in_the_api(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let shopper = make_shopper(&app).await;

    assert_eq!(delete(&app, &shopper.contact).await, StatusCode::NO_CONTENT);

    for path in [
        format!("/api/v1/contacts/{}", shopper.contact),
        format!("/api/v1/contacts/{}", shopper.merged),
        "/api/v1/contacts/by-email/erase.me@example.com".to_owned(),
        format!("/api/v1/contacts/by-phone/{PHONE}"),
        format!("/api/v1/contacts/by-tracker/{}", shopper.trackers[0]),
        format!("/api/v1/contacts/by-tracker/{}", shopper.trackers[1]),
        format!("/api/v1/contacts/{}/activities", shopper.contact),
    ] {
        assert_eq!(app.admin_get(&path).await.0, 404, "{path}");
    }
    let (_, list) = app.admin_get("/api/v1/contacts?limit=200").await;
    let listed: Vec<&str> = list["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_str()).collect();
    assert!(!listed.contains(&shopper.contact.as_str()), "not in the list");
    assert_eq!(delete(&app, &shopper.contact).await, StatusCode::NOT_FOUND, "a second delete finds nothing");

    // The same browser, cookie and all, comes back as a stranger.
    shopper.laptop.get(app.url("/category/yoga")).send().await.expect("proxied");
    let fresh = app
        .admin_until(&format!("/api/v1/contacts/by-tracker/{}", shopper.trackers[1]), |status, json| {
            status == 200 && json["counters"]["page_visit"] == 1
        })
        .await;
    assert_ne!(fresh["id"], shopper.contact.as_str());
    assert_eq!(fresh["registered"], false);
    assert_eq!(fresh["counters"], json!({"page_visit": 1}), "no old history");
    assert_eq!(fresh["merged_from"], json!([]));
    app.stop().await;
}

async fn export_holds_profile_and_every_activity(store: Arc<dyn Store>) {
    let app = TestApp::demo(store).await;
    let shopper = make_shopper(&app).await;

    let (status, export) = app.admin_get(&format!("/api/v1/contacts/{}/export", shopper.merged)).await;

    assert_eq!(status, 200);
    assert_eq!(export["profile"]["id"], shopper.contact.as_str(), "a merged id exports the survivor");
    assert_eq!(export["profile"]["fields"]["cellphone"], PHONE);
    let activities = export["activities"].as_array().expect("activities");
    let counted: u64 =
        export["profile"]["counters"].as_object().expect("counters").values().filter_map(Value::as_u64).sum();
    assert_eq!(activities.len() as u64, counted, "every counted activity is exported");
    for kind in ["product_visit", "search", "registration", "form_submission", "admin_edit", "login", "merge"] {
        assert!(activities.iter().any(|a| a["type"] == kind), "{kind} exported");
    }
    app.stop().await;
}

/// Reads every key name and every value in the keyspace, as text.
async fn dump_keyspace(url: &str) -> Vec<String> {
    let client = redis::Client::open(url).expect("redis url");
    let mut connection = client.get_multiplexed_async_connection().await.expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut connection).await.expect("KEYS");

    let mut texts = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut connection).await.expect("TYPE");
        let command = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&key).clone(),
            "hash" => redis::cmd("HGETALL").arg(&key).clone(),
            "set" => redis::cmd("SMEMBERS").arg(&key).clone(),
            "zset" => redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).clone(),
            "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).clone(),
            "stream" => redis::cmd("XRANGE").arg(&key).arg("-").arg("+").clone(),
            other => panic!("unexpected key type {other} of {key}"),
        };
        let value: redis::Value = command.query_async(&mut connection).await.expect("read value");
        texts.push(format!("{key} => {value:?}"));
    }
    texts
}

#[tokio::test]
async fn erased_contact_leaves_no_trace_in_redis() {
    let server = RedisServer::start();
    let app = TestApp::demo(support::stores::redis(&server).await).await;
    let shopper = make_shopper(&app).await;
    let segment = join_static_segment(&app, &shopper.contact).await;
    let before = dump_keyspace(&server.url()).await;
    let mut needles = vec![shopper.contact.clone(), shopper.merged.clone(), "erase.me@example.com".to_owned()];
    needles.extend(shopper.trackers.iter().cloned());
    needles.push(PHONE.to_owned());
    for needle in &needles {
        assert!(before.iter().any(|text| text.to_lowercase().contains(&needle.to_lowercase())), "{needle} was stored");
    }

    assert_eq!(delete(&app, &shopper.contact).await, StatusCode::NO_CONTENT);

    let after = dump_keyspace(&server.url()).await;
    for needle in &needles {
        let found: Vec<&String> =
            after.iter().filter(|text| text.to_lowercase().contains(&needle.to_lowercase())).collect();
        assert!(found.is_empty(), "{needle} is still in Redis: {found:#?}");
    }
    assert!(after.iter().any(|text| text.contains(&segment)), "the segment itself stays");
    app.stop().await;
}

/// Creates a static segment, adds `contact` to it and returns its id.
async fn join_static_segment(app: &TestApp, contact: &str) -> String {
    let created = client()
        .post(format!("http://{}/api/v1/segments", app.admin))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Erasure test", "kind": "static"}))
        .send()
        .await
        .expect("admin answers");
    assert_eq!(created.status(), StatusCode::CREATED);
    let segment = created.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();

    let added = client()
        .put(format!("http://{}/api/v1/segments/{segment}/members/{contact}", app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin answers");
    assert_eq!(added.status(), StatusCode::OK);
    segment
}
