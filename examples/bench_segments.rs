//! Segments benchmark: loads generated contacts into a private Redis and
//! measures segment builds, the cost that 20 segments add to every contact
//! change, and the scheduler's work per minute of flips.
//!
//! ```sh
//! cargo run --release --example bench_segments -- --contacts 1000000
//! ```
//!
//! Options:
//!
//! - `--contacts`: contacts generated and loaded (default 1,000,000);
//! - `--samples`: contact changes measured per setting (default 2,000);
//! - `--flips`: contacts whose dynamic plus membership flips during the
//!   scheduler run (default 10,000, at most one tenth of the contacts);
//! - `--minutes`: minutes the flips spread over (default 5, at most 60).
//!
//! It starts its own `redis-server` on a free loopback port (persistence
//! off, in a temporary directory), loads the contacts through the Redis
//! store with 64 concurrent writers, and then measures, in order:
//!
//! 1. the build of a new dynamic segment (custom field `city` equals
//!    `Madrid` and email set) through `segments::build::start`, as the
//!    admin API's create starts it;
//! 2. the build of a new dynamic plus segment (at least 2 product visits
//!    in the last 7 days);
//! 3. one contact change (a product visit stored with `append_activities`)
//!    followed by `Evaluator::evaluate`, as the recorder's writer runs it,
//!    with no segment and with 22 segments (20 stored for this step and
//!    the two built before), interleaved;
//! 4. `Scheduler::run_once` after each simulated minute, while the oldest
//!    product visit of the `--flips` contacts leaves the 7-day window.
//!
//! Activity times are relative to the start of the run, and the
//! generated activities leave or enter no window during steps 1 to 3, so
//! every expected count follows from the generator ([`Generated`]). The
//! benchmark stops with an error when a build, a segment size or a
//! scheduler pass does not match it. Nothing leaves loopback, and the
//! Redis server stops when the benchmark ends.
//!
//! The clock of segment evaluation ([`BenchClock`]) is the system clock
//! until step 4 sets it. So contact changes get distinct `updated_at`
//! times, as in production.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use footprint::segments::{build, Clock, Evaluator, Scheduler, Segment, SegmentKind};
use footprint::store::redis::RedisStore;
use footprint::store::{
    now_millis, Activity, ActivityKind, BuildState, ContactId, DefinitionWrite, FieldDefinition, FieldType, IndexKind,
    Millis, Retention, SegmentId, SegmentWrite, Source, Store, TrackerId,
};
use serde_json::{json, Value};

#[path = "support/args.rs"]
mod args;
#[path = "support/redis.rs"]
mod redis_server;

use args::option;
use redis_server::{cpu_seconds, Redis};

const WRITERS: usize = 64;
const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
const CITIES: [&str; 4] = ["Madrid", "Lisboa", "Paris", "Berlin"];
/// Contacts whose changes step 3 measures, drawn from the whole range.
const POOL: usize = 2_000;
/// Goal for the time 20 segments add to one contact change, in ms.
const CHANGE_GOAL_MS: f64 = 1.0;
/// How far after the start of the run the flip contacts' scheduler run
/// begins. It is later than steps 1 to 3 can take, and earlier than any
/// other generated activity leaves or enters a window (the page visits of
/// an hour ago, after 23 hours).
const SCHEDULE_START: Millis = 12 * HOUR;
/// Key prefix of a second store view that has no segment definitions,
/// for the evaluations with no segment.
const EMPTY_PREFIX: &str = "fp-no-segments:";

/// Command-line options.
struct Options {
    contacts: usize,
    samples: usize,
    flips: usize,
    minutes: usize,
}

impl Options {
    fn parse() -> anyhow::Result<Options> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        for pair in args.chunks(2) {
            if !["--contacts", "--samples", "--flips", "--minutes"].contains(&pair[0].as_str()) {
                bail!("unknown option {:?}; expected --contacts, --samples, --flips or --minutes", pair[0]);
            }
        }
        let options = Options {
            contacts: option(&args, "--contacts", 1_000_000)?,
            samples: option(&args, "--samples", 2_000)?,
            flips: option(&args, "--flips", 10_000)?,
            minutes: option(&args, "--minutes", 5)?,
        };
        if options.contacts < 100 || options.samples == 0 || options.flips == 0 {
            bail!("--contacts must be at least 100, and --samples and --flips positive");
        }
        if options.flips > options.contacts / 10 {
            bail!("--flips may be at most one tenth of --contacts ({})", options.contacts / 10);
        }
        if !(1..=60).contains(&options.minutes) {
            bail!("--minutes must be between 1 and 60, so that no other generated flip falls inside the run");
        }
        Ok(options)
    }
}

/// The clock of segment evaluation: the system clock until [`BenchClock::set`]
/// fixes it, for the scheduler run.
#[derive(Debug, Default)]
struct BenchClock {
    /// The fixed time, or 0 while the system clock is used.
    fixed: AtomicI64,
}

impl BenchClock {
    fn set(&self, at: Millis) {
        self.fixed.store(at, Ordering::SeqCst);
    }
}

impl Clock for BenchClock {
    fn now(&self) -> Millis {
        match self.fixed.load(Ordering::SeqCst) {
            0 => now_millis(),
            fixed => fixed,
        }
    }
}

/// Wall and CPU time of one measured step: this process (the benchmark
/// with Footprint's library) and the Redis server apart.
struct Usage {
    wall: f64,
    own_cpu: f64,
    redis_cpu: f64,
}

/// Starts measuring a step; [`Meter::stop`] returns its [`Usage`].
struct Meter<'a> {
    redis: &'a Redis,
    started: Instant,
    own_cpu: f64,
    redis_cpu: f64,
}

impl<'a> Meter<'a> {
    fn start(redis: &'a Redis) -> anyhow::Result<Meter<'a>> {
        Ok(Meter {
            redis,
            started: Instant::now(),
            own_cpu: cpu_seconds("/proc/self/stat")?,
            redis_cpu: redis.cpu_seconds()?,
        })
    }

    fn stop(self) -> anyhow::Result<Usage> {
        Ok(Usage {
            wall: self.started.elapsed().as_secs_f64(),
            own_cpu: cpu_seconds("/proc/self/stat")? - self.own_cpu,
            redis_cpu: self.redis.cpu_seconds()? - self.redis_cpu,
        })
    }
}

/// The generator of contact number `index`'s data, and the segment
/// conditions that its expected counts follow from. `start` is the start
/// of the run, and "ago" below is counted from it.
///
/// - Email for two contacts in three (`index % 3 != 0`), city
///   `CITIES[index % 4]`, and a push subscription for `index % 10 == 5`.
/// - `index % 10` in 0..=2: two product visits in the last 7 days (2 days
///   and 1 day ago). For a flip contact ([`Generated::flip_minute`]) the
///   older one is instead younger than 7 days by [`SCHEDULE_START`] plus
///   part of a minute, so it leaves the window during that minute of the
///   scheduler run.
/// - `index % 10 == 3`: product visits 10 days and 1 day ago (one inside).
/// - Every other contact: one page visit an hour ago.
/// - A purchase 100 days ago (`index % 7 == 0`, 50 EUR) or 20 days ago
///   (`index % 7 == 1`, 120 EUR), and a cart update 3 hours ago
///   (`index % 11 == 0`), which has been abandoned for more than 2 hours.
struct Generated {
    flips: usize,
    minutes: usize,
}

impl Generated {
    fn has_email(index: usize) -> bool {
        !index.is_multiple_of(3)
    }

    fn city(index: usize) -> &'static str {
        CITIES[index % 4]
    }

    /// Returns true when the contact matches step 1's segment.
    fn in_madrid_with_email(index: usize) -> bool {
        Generated::city(index) == "Madrid" && Generated::has_email(index)
    }

    /// Returns true when the contact matches step 2's segment before the
    /// scheduler run.
    fn visits_twice_in_week(index: usize) -> bool {
        index % 10 < 3
    }

    /// Returns the scheduler minute in which the contact leaves step 2's
    /// segment, for the first `flips` contacts with `index % 10 == 0`.
    fn flip_minute(&self, index: usize) -> Option<usize> {
        (index.is_multiple_of(10) && index / 10 < self.flips).then_some((index / 10) % self.minutes)
    }

    /// Returns the contact's activities, oldest first. Timeline reads walk
    /// streams newest first and stop at the first activity outside a
    /// window, so the stream order must follow the activities' times.
    fn activities(&self, index: usize, start: Millis) -> Vec<Activity> {
        let product = format!("sku-{}", index % 5);
        let visit = |at: Millis| {
            activity(at, ActivityKind::ProductVisit, &format!("/product/{product}"), &[("product_id", &product)])
        };
        let mut activities = match index % 10 {
            0..=2 => {
                let older = match self.flip_minute(index) {
                    // 1 ms to 59.999 s into the minute, never on its edges.
                    Some(minute) => {
                        let into_minute = 1 + (index as Millis * 7_919) % 59_998;
                        start - 7 * DAY + SCHEDULE_START + minute as Millis * MINUTE + into_minute
                    }
                    None => start - 2 * DAY,
                };
                vec![visit(older), visit(start - DAY)]
            }
            3 => vec![visit(start - 10 * DAY), visit(start - DAY)],
            _ => vec![activity(start - HOUR, ActivityKind::PageVisit, "/", &[])],
        };
        match index % 7 {
            0 => activities.push(purchase(start - 100 * DAY, index, "50.00")),
            1 => activities.push(purchase(start - 20 * DAY, index, "120.00")),
            _ => {}
        }
        if index.is_multiple_of(11) {
            activities.push(cart_update(start - 3 * HOUR, &product));
        }
        activities.sort_by_key(|activity| activity.at);
        activities
    }
}

fn activity(at: Millis, kind: ActivityKind, url: &str, properties: &[(&str, &str)]) -> Activity {
    Activity {
        at,
        kind,
        url: url.to_owned(),
        referrer: None,
        properties: properties.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

fn purchase(at: Millis, index: usize, amount: &str) -> Activity {
    let order = format!("order-{index}");
    activity(
        at,
        ActivityKind::Purchase,
        "/checkout/thanks",
        &[("order_id", &order), ("amount", amount), ("currency", "EUR")],
    )
}

fn cart_update(at: Millis, product: &str) -> Activity {
    activity(
        at,
        ActivityKind::CartUpdate,
        "/cart/add",
        &[("product_id", product), ("quantity", "1"), ("price", "19.90")],
    )
}

/// The ids of every generated contact and its browser, by index.
type Ids = Arc<Vec<(ContactId, TrackerId)>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let generated = Arc::new(Generated { flips: options.flips, minutes: options.minutes });
    let redis = Redis::start()?;
    let store = connect(&redis.url(), "fp:").await?;
    let clock = Arc::new(BenchClock::default());
    let start = clock.now();
    let evaluator = Arc::new(Evaluator::new(store.clone(), clock.clone()));
    print_machine(&options)?;

    let city = create_city_field(store.as_ref()).await?;
    let ids: Ids = Arc::new((0..options.contacts).map(|_| (ContactId::new(), TrackerId::new())).collect());
    let meter = Meter::start(&redis)?;
    load(store.clone(), ids.clone(), generated.clone(), &city, start).await?;
    let usage = meter.stop()?;
    println!(
        "load: {:.1} s for {} contacts ({:.0} contacts/s); redis memory {:.0} bytes per contact",
        usage.wall,
        options.contacts,
        options.contacts as f64 / usage.wall,
        redis.used_memory().await? as f64 / options.contacts as f64
    );

    // 1. A dynamic segment on a custom field and the email.
    let condition = json!({ "all": [
        { "field": "city", "op": "equals", "value": "Madrid" },
        { "field": "email", "op": "is_set" }
    ] });
    let expected = (0..options.contacts).filter(|&index| Generated::in_madrid_with_email(index)).count();
    let usage =
        measure_build(&redis, &evaluator, "Madrid with email", SegmentKind::Dynamic, condition, expected).await?;
    print_build("dynamic: city = Madrid and email set", expected, options.contacts, &usage);

    // 2. A dynamic plus segment on product visits.
    let condition = json!({ "activity": "product_visit", "within": { "days": 7 }, "count": { "at_least": 2 } });
    let expected = (0..options.contacts).filter(|&index| Generated::visits_twice_in_week(index)).count();
    let name = "Two product visits this week";
    let usage = measure_build(&redis, &evaluator, name, SegmentKind::DynamicPlus, condition, expected).await?;
    print_build("dynamic plus: >= 2 product visits in 7 days", expected, options.contacts, &usage);
    let visitors = store
        .segments()
        .await?
        .into_iter()
        .find(|segment| segment.name == name)
        .context("the dynamic plus segment is missing after its build")?;

    // 3. A contact change with no segment and with 20 segments.
    let empty = connect(&redis.url(), EMPTY_PREFIX).await?;
    let without = Evaluator::new(empty, clock.clone());
    store_twenty_segments(store.as_ref(), &evaluator).await?;
    let pool = change_pool(&generated, options.contacts);
    for &index in &pool {
        evaluator.evaluate(ids[index].0).await?;
    }
    let (zero, twenty) = measure_changes(store.as_ref(), &ids, &pool, &without, &evaluator, options.samples).await?;
    print_changes(store.segments().await?.len(), zero, twenty);

    // 4. The scheduler while the flip contacts leave step 2's segment.
    run_schedule(&redis, &evaluator, &clock, start, &ids, &generated, &visitors).await?;
    println!("load average at the end: {}", load_average()?);
    Ok(())
}

async fn connect(url: &str, prefix: &str) -> anyhow::Result<Arc<dyn Store>> {
    for _ in 0..100 {
        if let Ok(store) = RedisStore::connect(url, prefix, Retention::default()).await {
            if store.ping().await.is_ok() {
                return Ok(Arc::new(store));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("redis-server at {url} did not respond; check that it started")
}

fn print_machine(options: &Options) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    let memory_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no MemTotal in /proc/meminfo")?;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let redis_version = std::process::Command::new("redis-server").arg("--version").output()?;
    let date = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;

    println!("date: {date}");
    println!(
        "machine: {cores} cores, {:.1} GiB memory, Linux {}; {}",
        memory_kib as f64 / (1024.0 * 1024.0),
        kernel.trim(),
        String::from_utf8_lossy(&redis_version.stdout).trim()
    );
    println!("load average at the start: {}", load_average()?);
    println!(
        "options: --contacts {} --samples {} --flips {} --minutes {}",
        options.contacts, options.samples, options.flips, options.minutes
    );
    Ok(())
}

/// Returns the 1, 5 and 15 minute load averages of /proc/loadavg.
fn load_average() -> anyhow::Result<String> {
    let text = std::fs::read_to_string("/proc/loadavg")?;
    Ok(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Defines the `city` custom field and returns its storage name.
async fn create_city_field(store: &dyn Store) -> anyhow::Result<String> {
    let now = now_millis();
    let definition = FieldDefinition {
        id: uuid::Uuid::now_v7(),
        name: "city".to_owned(),
        label: "City".to_owned(),
        kind: FieldType::Text,
        options: Vec::new(),
        default: None,
        created_at: now,
        updated_at: now,
    };
    ensure!(
        store.create_field_definition(&definition).await? == DefinitionWrite::Written,
        "failed to define the city field"
    );
    Ok(definition.storage_name())
}

/// Stores every contact with `WRITERS` concurrent tasks.
async fn load(
    store: Arc<dyn Store>,
    ids: Ids,
    generated: Arc<Generated>,
    city: &str,
    start: Millis,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (store, ids, generated, next, city) =
            (store.clone(), ids.clone(), generated.clone(), next.clone(), city.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= ids.len() {
                    return anyhow::Ok(());
                }
                load_one(store.as_ref(), ids[index], &generated, index, &city, start).await?;
                if index % 100_000 == 0 && index > 0 {
                    eprintln!("loaded {index} contacts");
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn load_one(
    store: &dyn Store,
    (contact, tracker): (ContactId, TrackerId),
    generated: &Generated,
    index: usize,
    city: &str,
    start: Millis,
) -> anyhow::Result<()> {
    let mut fields = std::collections::BTreeMap::from([
        ("first_name".to_owned(), format!("Name{index}")),
        (city.to_owned(), Generated::city(index).to_owned()),
    ]);
    if Generated::has_email(index) {
        let email = format!("user{index}@example.com");
        store.claim_index(IndexKind::Email, &email, contact).await?;
        fields.insert("email".to_owned(), email);
    }
    // The system clock's time, so that contacts get distinct update times.
    let changed_at = now_millis();
    store.set_fields(contact, &fields, false, changed_at).await?;
    store.bind_tracker(tracker, contact, None).await?;

    let source = Source::Tracker { tracker, contact };
    let batch: Vec<(Source, Activity)> =
        generated.activities(index, start).into_iter().map(|activity| (source, activity)).collect();
    store.append_activities(&batch).await?;
    if index % 10 == 5 {
        store.add_push_subscription(contact, &format!("endpoint-{index}"), changed_at).await?;
    }
    Ok(())
}

/// Stores a segment and starts its build as the admin API's create does,
/// waits for the build to finish, and checks its member count.
async fn measure_build(
    redis: &Redis,
    evaluator: &Arc<Evaluator>,
    name: &str,
    kind: SegmentKind,
    condition: Value,
    expected: usize,
) -> anyhow::Result<Usage> {
    let segment = new_segment(name, kind, condition);
    let store = evaluator.store();
    ensure!(store.create_segment(&segment).await? == SegmentWrite::Written, "failed to store segment {name}");
    evaluator.invalidate();

    redis.command(&["CONFIG", "RESETSTAT"]).await?;
    let meter = Meter::start(redis)?;
    build::start(evaluator.clone(), &segment).await?;
    let build = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let build = store.segment_build(segment.id).await?.context("the build's progress is missing")?;
        if build.state == BuildState::Finished {
            break build;
        }
    };
    let usage = meter.stop()?;
    println!("  redis time by command: {}", redis.busiest_commands(6).await?);

    let size = store.segment_size(segment.id).await?;
    if build.members != expected as u64 || size != expected as u64 {
        bail!(
            "segment {name}: the build found {} members and the index contains {size}, expected {expected}",
            build.members
        );
    }
    Ok(usage)
}

fn new_segment(name: &str, kind: SegmentKind, condition: Value) -> Segment {
    let now = now_millis();
    Segment {
        id: SegmentId::new(),
        name: name.to_owned(),
        description: String::new(),
        kind,
        condition: Some(condition),
        created_at: now,
        updated_at: now,
        created_by: "bench".to_owned(),
    }
}

fn print_build(what: &str, members: usize, contacts: usize, usage: &Usage) {
    println!(
        "build {what}: {members} members of {contacts}, {:.1} s wall ({:.0} contacts/s), CPU {:.1} s here and {:.1} s in redis",
        usage.wall,
        contacts as f64 / usage.wall,
        usage.own_cpu,
        usage.redis_cpu
    );
}

/// Stores 20 segments without building them: 10 dynamic on fields and
/// statuses, and 10 dynamic plus on product visits, purchases, the basket,
/// page visits and searches.
async fn store_twenty_segments(store: &dyn Store, evaluator: &Evaluator) -> anyhow::Result<()> {
    let mut conditions: Vec<(SegmentKind, Value)> = Vec::new();
    for city in CITIES {
        let condition = json!({ "all": [
            { "field": "city", "op": "equals", "value": city },
            { "field": "email", "op": "is_set" }
        ] });
        conditions.push((SegmentKind::Dynamic, condition));
    }
    conditions.extend([
        (SegmentKind::Dynamic, json!({ "field": "city", "op": "in", "value": ["Madrid", "Paris"] })),
        (SegmentKind::Dynamic, json!({ "field": "first_name", "op": "starts_with", "value": "Name1" })),
        (
            SegmentKind::Dynamic,
            json!({ "all": [
            { "status": "email", "is": "active" },
            { "field": "email", "op": "is_set" }
        ] }),
        ),
        (SegmentKind::Dynamic, json!({ "not": { "field": "city", "op": "equals", "value": "Berlin" } })),
        (SegmentKind::Dynamic, json!({ "status": "push_subscribed", "is": true })),
        (SegmentKind::Dynamic, json!({ "field": "cellphone", "op": "is_not_set" })),
    ]);
    for product in 0..5 {
        let condition = json!({
            "activity": "product_visit", "where": { "product_id": format!("sku-{product}") },
            "within": { "days": 7 }, "count": { "at_least": 2 }
        });
        conditions.push((SegmentKind::DynamicPlus, condition));
    }
    conditions.extend([
        (SegmentKind::DynamicPlus, json!({ "since_last": "purchase", "at_least": { "days": 90 }, "or_never": false })),
        (SegmentKind::DynamicPlus, json!({ "spent": "EUR", "within": { "days": 30 }, "at_least": "100.00" })),
        (SegmentKind::DynamicPlus, json!({ "basket": { "abandoned_for": { "hours": 2 } } })),
        (
            SegmentKind::DynamicPlus,
            json!({
                "activity": "page_visit", "within": { "days": 1 }, "count": { "at_least": 1 }
            }),
        ),
        (
            SegmentKind::DynamicPlus,
            json!({ "any": [
            { "since_last": "search", "less_than": { "days": 3 } },
            { "basket": "not_empty" }
        ] }),
        ),
    ]);

    for (number, (kind, condition)) in conditions.into_iter().enumerate() {
        let segment = new_segment(&format!("Mix {number}"), kind, condition);
        ensure!(
            store.create_segment(&segment).await? == SegmentWrite::Written,
            "failed to store segment number {number}"
        );
    }
    evaluator.invalidate();
    Ok(())
}

/// Returns up to [`POOL`] contact indexes spread over the whole range and
/// over the generator's classes, none of them a flip contact. Their
/// memberships are brought up to date before the measurement, so that the
/// measured evaluations start from the steady state of built segments.
fn change_pool(generated: &Generated, contacts: usize) -> Vec<usize> {
    let step = (contacts / POOL).max(1);
    (0..contacts.min(POOL))
        .map(|number| number * step + number % 9 + 1)
        .filter(|&index| index < contacts && generated.flip_minute(index).is_none())
        .collect()
}

/// Measures `samples` contact changes with no segment and as many with 20
/// segments, alternating, each on a random contact of `pool`. Returns the
/// latencies in ms, in pairs.
async fn measure_changes(
    store: &dyn Store,
    ids: &Ids,
    pool: &[usize],
    without: &Evaluator,
    with: &Evaluator,
    samples: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let mut zero = Vec::with_capacity(samples);
    let mut twenty = Vec::with_capacity(samples);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };

    for _ in 0..samples {
        for (evaluator, latencies) in [(without, &mut zero), (with, &mut twenty)] {
            let random = next();
            let (contact, tracker) = ids[pool[random % pool.len()]];
            let product = format!("sku-{}", random % 5);
            let visit = activity(
                evaluator.now(),
                ActivityKind::ProductVisit,
                &format!("/product/{product}"),
                &[("product_id", &product)],
            );

            let started = Instant::now();
            store.append_activities(&[(Source::Tracker { tracker, contact }, visit)]).await?;
            evaluator.evaluate(contact).await?;
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok((zero, twenty))
}

/// Sorts `values` and returns their p50 and p99 (nearest rank).
fn percentiles(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99))
}

/// Prints the latencies of [`measure_changes`], where `segments` is the
/// number of segments the second evaluator evaluates.
fn print_changes(segments: usize, mut zero: Vec<f64>, mut twenty: Vec<f64>) {
    let mut added: Vec<f64> = twenty.iter().zip(&zero).map(|(with, without)| with - without).collect();
    let (zero_p50, zero_p99) = percentiles(&mut zero);
    let (twenty_p50, twenty_p99) = percentiles(&mut twenty);
    let (added_p50, added_p99) = percentiles(&mut added);

    println!("contact change (append_activities + Evaluator::evaluate), {} samples each:", zero.len());
    println!("{:<36} {:>9} {:>9} {:>9}", "setting", "p50 ms", "p99 ms", "goal ms");
    println!("{:<36} {zero_p50:>9.3} {zero_p99:>9.3} {:>9}", "no segment", "-");
    println!("{:<36} {twenty_p50:>9.3} {twenty_p99:>9.3} {:>9}", format!("{segments} segments"), "-");
    let added_label = format!("added by {segments} segments (per pair)");
    println!("{added_label:<36} {added_p50:>9.3} {added_p99:>9.3} {CHANGE_GOAL_MS:>9.1}");
    println!(
        "{:<36} {:>9.3} {:>9.3} {CHANGE_GOAL_MS:>9.1}",
        format!("added by {segments} segments (of percentiles)"),
        twenty_p50 - zero_p50,
        twenty_p99 - zero_p99
    );
}

/// Moves the clock one minute at a time and runs the scheduler once per
/// minute. Checks that each pass evaluates exactly the contacts of its
/// minute and that each of them left the segment `visitors`.
///
/// The flip contacts are evaluated once first, unmeasured, so that their
/// memberships of the 20 segments are current and the passes measure the
/// flips alone.
async fn run_schedule(
    redis: &Redis,
    evaluator: &Arc<Evaluator>,
    clock: &BenchClock,
    run_start: Millis,
    ids: &Ids,
    generated: &Generated,
    visitors: &Segment,
) -> anyhow::Result<()> {
    let store = evaluator.store().clone();
    let flips: Vec<usize> = (0..ids.len()).filter(|&index| generated.flip_minute(index).is_some()).collect();
    for &index in &flips {
        evaluator.evaluate(ids[index].0).await?;
    }
    let scheduler = Scheduler::new(evaluator.clone());
    let start = run_start + SCHEDULE_START;
    clock.set(start);
    let mut size = store.segment_size(visitors.id).await?;
    ensure!(scheduler.run_once().await? == 0, "a contact was due before the first minute");

    println!("scheduler, {} flips over {} minutes:", flips.len(), generated.minutes);
    println!("{:<8} {:>7} {:>9} {:>12} {:>14}", "minute", "flips", "wall ms", "CPU ms here", "CPU ms redis");
    let mut total = Usage { wall: 0.0, own_cpu: 0.0, redis_cpu: 0.0 };
    for minute in 0..generated.minutes {
        let due: Vec<usize> =
            flips.iter().copied().filter(|&index| generated.flip_minute(index) == Some(minute)).collect();
        clock.set(start + (minute as Millis + 1) * MINUTE);

        let meter = Meter::start(redis)?;
        let evaluated = scheduler.run_once().await?;
        let usage = meter.stop()?;

        ensure!(
            evaluated == due.len(),
            "minute {minute}: the scheduler evaluated {evaluated} contacts, expected {}",
            due.len()
        );
        let still_members = members_among(store.as_ref(), ids, &due, visitors.id).await?;
        ensure!(still_members == 0, "minute {minute}: {still_members} due contacts are still in the segment");
        let new_size = store.segment_size(visitors.id).await?;
        ensure!(
            size - new_size == due.len() as u64,
            "minute {minute}: the segment lost {} members, expected {}",
            size - new_size,
            due.len()
        );
        size = new_size;

        println!(
            "{minute:<8} {evaluated:>7} {:>9.1} {:>12.1} {:>14.1}",
            usage.wall * 1000.0,
            usage.own_cpu * 1000.0,
            usage.redis_cpu * 1000.0
        );
        total.wall += usage.wall;
        total.own_cpu += usage.own_cpu;
        total.redis_cpu += usage.redis_cpu;
    }

    let minutes = generated.minutes as f64;
    println!(
        "per minute of schedule: {:.0} flips, {:.1} ms wall, {:.1} ms CPU here, {:.1} ms CPU in redis ({:.3} ms wall per flip)",
        flips.len() as f64 / minutes,
        total.wall * 1000.0 / minutes,
        total.own_cpu * 1000.0 / minutes,
        total.redis_cpu * 1000.0 / minutes,
        total.wall * 1000.0 / flips.len() as f64
    );
    Ok(())
}

/// Counts the contacts among `indexes` whose segments set names `segment`.
async fn members_among(store: &dyn Store, ids: &Ids, indexes: &[usize], segment: SegmentId) -> anyhow::Result<usize> {
    let mut members = 0;
    for &index in indexes {
        if store.contact_segments(ids[index].0).await?.contains(&segment) {
            members += 1;
        }
    }
    Ok(members)
}
