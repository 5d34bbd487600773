//! Contact sheet benchmark: loads generated contacts into a private Redis
//! and measures the admin API's lookups, a filtered page and a profile read.
//!
//! ```sh
//! cargo run --release --example bench_contacts -- --contacts 1000000
//! ```
//!
//! It starts its own `redis-server` on a free loopback port (persistence
//! off, in a temporary directory) and Footprint with the Redis store, loads
//! the contacts through the store with 64 concurrent writers, then sends
//! sequential requests to the admin API on 127.0.0.1 and prints p50 and p99
//! latencies next to the goals, and Redis memory per contact. Nothing leaves
//! loopback; everything it started stops when it ends.
//!
//! Each generated contact has an email, a cellphone, a first name, a custom
//! `city` value, a browser with three activities, and every tenth one a push
//! subscription.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use footprint::config::AdminToken;
use footprint::demo::{self, DemoOptions};
use footprint::store::redis::RedisStore;
#[path = "support/redis.rs"]
mod redis_server;

use footprint::store::{now_millis, Activity, ActivityKind, ContactId, IndexKind, Retention, Source, Store, TrackerId};
use redis_server::Redis;

const TOKEN: &str = "bench-admin-token-0123456789abcdef";
const WRITERS: usize = 64;
const SAMPLES: usize = 2000;

fn contacts_from_args() -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|arg| arg == "--contacts") {
        Some(index) => args.get(index + 1).context("--contacts needs a number")?.parse().context("--contacts"),
        None => Ok(1_000_000),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total = contacts_from_args()?;
    let redis = Redis::start()?;
    let store = connect(&redis.url()).await?;
    let baseline = redis.used_memory().await?;

    // Footprint in front of the demo shop, with the Redis store.
    let shop_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let shop_addr = shop_listener.local_addr()?;
    tokio::spawn(async move { axum::serve(shop_listener, demo::shop::Shop::new().router()).await });
    let options = DemoOptions { port: 0, admin_port: 0, shop_port: 0 };
    let (mut config, _) = demo::demo_config(&options, shop_addr)?;
    config.admin.tokens = vec![AdminToken { name: "bench".to_owned(), token: TOKEN.to_owned() }];
    let running = footprint::app::start(&config, store.clone(), None).await?;
    let admin = format!("http://{}/api/v1", running.admin_addr);
    let http = reqwest::Client::builder().no_proxy().build()?;

    let city = create_city_field(&http, &admin, store.as_ref()).await?;
    let started = Instant::now();
    load(store.clone(), total, &city).await?;
    let load_secs = started.elapsed().as_secs_f64();
    let memory = redis.used_memory().await? - baseline;

    println!("machine: {} cores; contacts: {total}", std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!("load: {load_secs:.1} s ({:.0} contacts/s)", total as f64 / load_secs);
    println!("redis memory: {:.0} bytes per contact", memory as f64 / total as f64);
    println!("{:<28} {:>9} {:>9} {:>9}", "operation", "p50 ms", "p99 ms", "goal p99");

    // Interleaved, so that every operation meets the same conditions (Redis
    // still rehashing after the load, other processes) in the same measure.
    let email = |i: usize| format!("{admin}/contacts/by-email/user{i}@example.com");
    let phone = |i: usize| format!("{admin}/contacts/by-phone/{}", cellphone(i));
    let page = |_| format!("{admin}/contacts?has_email=true&push=true&limit=50");
    let operations: [&dyn Fn(usize) -> String; 3] = [&email, &phone, &page];
    let [emails, phones, pages] = measure_interleaved(&http, total, operations).await?;
    report("email lookup", 2.0, emails);
    report("phone lookup", 2.0, phones);
    report("filtered page (email+push)", 20.0, pages);
    let profile = profile_urls(&http, &admin, total).await?;
    let read = |i: usize| profile[i % profile.len()].clone();
    report("profile + first activities", f64::NAN, measure_pairs(&http, total, read).await?);

    running.shutdown().await?;
    Ok(())
}

async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    for _ in 0..100 {
        if let Ok(store) = RedisStore::connect(url, "fp:", Retention::default()).await {
            if store.ping().await.is_ok() {
                return Ok(Arc::new(store));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("redis-server at {url} did not respond; check that it started")
}

/// Defines the `city` custom field and returns its storage name.
async fn create_city_field(http: &reqwest::Client, admin: &str, store: &dyn Store) -> anyhow::Result<String> {
    let body = serde_json::json!({"name": "city", "label": "City", "type": "text"});
    let response = http.post(format!("{admin}/fields")).bearer_auth(TOKEN).json(&body).send().await?;
    if !response.status().is_success() {
        bail!("cannot define the city field: {}", response.text().await?);
    }
    let definition = store.field_definition("city").await?.context("city field missing after creation")?;
    Ok(definition.storage_name())
}

fn cellphone(i: usize) -> String {
    format!("+346{:08}", i % 100_000_000)
}

/// Stores `total` contacts with `WRITERS` concurrent tasks.
async fn load(store: Arc<dyn Store>, total: usize, city: &str) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (store, next, city) = (store.clone(), next.clone(), city.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                load_one(store.as_ref(), i, &city).await?;
                if i % 100_000 == 0 && i > 0 {
                    eprintln!("loaded {i} contacts");
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn load_one(store: &dyn Store, i: usize, city: &str) -> anyhow::Result<()> {
    let contact = ContactId::new();
    let tracker = TrackerId::new();
    let at = now_millis();
    let email = format!("user{i}@example.com");
    let phone = cellphone(i);

    store.claim_index(IndexKind::Email, &email, contact).await?;
    store.claim_index(IndexKind::Phone, &phone, contact).await?;
    let fields = BTreeMap::from([
        ("email".to_owned(), email),
        ("cellphone".to_owned(), phone),
        ("first_name".to_owned(), format!("Name{i}")),
        (city.to_owned(), ["Madrid", "Lisboa", "Paris", "Berlin"][i % 4].to_owned()),
    ]);
    store.set_fields(contact, &fields, false, at).await?;
    store.bind_tracker(tracker, contact, None).await?;

    let source = Source::Tracker { tracker, contact };
    let visit = |kind: ActivityKind, url: &str, properties: &[(&str, &str)]| Activity {
        at,
        kind,
        url: url.to_owned(),
        referrer: None,
        properties: properties.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    };
    let batch = [
        (source, visit(ActivityKind::PageVisit, "/", &[])),
        (source, visit(ActivityKind::ProductVisit, "/product/sku-1", &[("product_id", "sku-1")])),
        (source, visit(ActivityKind::Search, "/search?q=yoga", &[("term", "yoga")])),
    ];
    store.append_activities(&batch).await?;
    if i.is_multiple_of(10) {
        store.add_push_subscription(contact, &format!("endpoint-{i}"), at).await?;
    }
    Ok(())
}

/// Sends `SAMPLES` sequential GETs per operation, one operation after the
/// other for each random contact, and returns each operation's latencies
/// in milliseconds.
async fn measure_interleaved<const N: usize>(
    http: &reqwest::Client,
    total: usize,
    operations: [&dyn Fn(usize) -> String; N],
) -> anyhow::Result<[Vec<f64>; N]> {
    let mut latencies: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(SAMPLES));
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..SAMPLES {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        for (operation, samples) in operations.iter().zip(latencies.iter_mut()) {
            let target = operation(seed as usize % total);
            let started = Instant::now();
            let response = http.get(&target).bearer_auth(TOKEN).send().await?;
            let status = response.status();
            response.bytes().await?;
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
            if !status.is_success() {
                bail!("{target} returned {status}");
            }
        }
    }
    Ok(latencies)
}

/// Like [`measure_interleaved`], for a profile read followed by its first page of
/// activities.
async fn measure_pairs(
    http: &reqwest::Client,
    total: usize,
    urls: impl Fn(usize) -> (String, String),
) -> anyhow::Result<Vec<f64>> {
    let mut latencies = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let (profile, activities) = urls(i % total);
        let started = Instant::now();
        for target in [&profile, &activities] {
            let response = http.get(target).bearer_auth(TOKEN).send().await?;
            let status = response.status();
            response.bytes().await?;
            if !status.is_success() {
                bail!("{target} returned {status}");
            }
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(latencies)
}

/// Profile and activity URLs of some contacts, found through their emails.
async fn profile_urls(http: &reqwest::Client, admin: &str, total: usize) -> anyhow::Result<Vec<(String, String)>> {
    let mut urls = Vec::new();
    for i in (0..total).step_by((total / 200).max(1)).take(200) {
        let profile: serde_json::Value = http
            .get(format!("{admin}/contacts/by-email/user{i}@example.com"))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?;
        let id = profile["id"].as_str().context("profile without id")?.to_owned();
        urls.push((format!("{admin}/contacts/{id}"), format!("{admin}/contacts/{id}/activities?limit=50")));
    }
    Ok(urls)
}

fn report(operation: &str, goal: f64, mut latencies: Vec<f64>) {
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let goal = if goal.is_nan() { "-".to_owned() } else { format!("{goal:.0}") };
    println!("{operation:<28} {:>9.2} {:>9.2} {goal:>9}", percentile(0.5), percentile(0.99));
}
