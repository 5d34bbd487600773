//! The store contract, checked once for every backend.
//!
//! Each case in `cases` is written against `&dyn Store` and runs twice: on
//! an `EmbeddedStore` and on a `RedisStore` connected to a private
//! `redis-server` started for that test alone. The `redis_only` module
//! contains the checks that concern the Redis layout and connection.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use footprint::store::embedded::EmbeddedStore;
use footprint::store::redis::RedisStore;
use footprint::store::{
    now_millis, Activity, ActivityKind, ActivityQuery, ContactFilter, ContactId, ContactListQuery, ContactRecord,
    IndexKind, ListPosition, MergeIntent, PushSubscription, Retention, Source, StatusUpdate, Store, StoredActivity,
    TrackerId,
};

use support::redis::RedisServer;

/// A backend under test. The Redis variant owns its server, which stops
/// when the test ends.
enum Backend {
    Embedded,
    Redis(RedisServer),
}

impl Backend {
    fn redis() -> Backend {
        Backend::Redis(RedisServer::start())
    }

    async fn open(&self, retention: Retention) -> Box<dyn Store> {
        match self {
            Backend::Embedded => Box::new(EmbeddedStore::new(retention)),
            Backend::Redis(server) => {
                let store = RedisStore::connect(&server.url(), "fp:", retention).await;
                Box::new(store.expect("connect to the test redis-server"))
            }
        }
    }

    async fn store(&self) -> Box<dyn Store> {
        self.open(Retention::default()).await
    }
}

/// Generates one test per case and backend: `embedded::CASE` and
/// `redis::CASE`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::cases::$case(&super::Backend::Embedded).await;
                }
            )*
        }

        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    super::cases::$case(&super::Backend::redis()).await;
                }
            )*
        }
    };
}

conformance!(
    ping_answers,
    bind_tracker_binds_unbound_tracker,
    bind_tracker_rejects_wrong_expected,
    bind_tracker_again_changes_nothing,
    bind_tracker_moves_between_contacts,
    bind_tracker_adopts_pending_activity,
    pending_activity_expires_when_unbound,
    pending_expiry_counts_from_last_append,
    activities_page_newest_first_across_sources,
    activities_page_many_in_same_millisecond,
    activities_cursor_stable_after_appends,
    activities_after_returns_newer_only,
    activities_filter_by_kind,
    activities_of_unknown_sources_are_empty,
    activities_limit_zero_reads_one,
    counters_sum_over_sources,
    touch_creates_contact,
    touch_keeps_updated_at_monotonic,
    touch_lists_tracker_source,
    contact_missing_is_none,
    set_fields_overwrites_and_removes,
    set_fields_only_if_empty_fills_gaps,
    set_fields_with_activity_records_the_edit,
    set_fields_keep_push_and_email_filters,
    sources_add_is_idempotent,
    record_merge_happens_once,
    set_merged_into_points_to_survivor,
    index_claim_returns_first_owner,
    index_release_needs_owner,
    index_values_with_special_characters,
    claim_order_true_once,
    merge_intents_begin_pending_finish,
    retention_trims_by_count,
    retention_trims_by_age,
    push_subscription_added_once,
    push_subscription_removed_once,
    push_subscription_raises_updated_at,
    list_pages_newest_first_without_gaps,
    list_orders_same_millisecond_by_id,
    list_pages_through_equal_times_among_others,
    list_filters_alone_and_combined,
    list_follows_field_and_push_changes,
    list_moves_touched_contact_to_front,
    list_update_between_pages_repeats_nothing,
    list_leaves_out_merged_contacts,
    list_limit_zero_reads_one,
    list_of_empty_store_is_empty,
    update_statuses_writes_apart_from_fields,
    update_statuses_removes_entries,
    update_statuses_rejects_changed_entries,
    update_statuses_needs_live_contact,
    update_statuses_appends_own_activities,
);

/// Upper bound on pages read by `read_all`, a guard against a cursor that
/// never advances.
const MAX_PAGES: usize = 10_000;

fn activity(kind: ActivityKind, url: &str) -> Activity {
    Activity { at: now_millis(), kind, url: url.to_owned(), referrer: None, properties: BTreeMap::new() }
}

fn visit(url: &str) -> Activity {
    activity(ActivityKind::PageVisit, url)
}

fn urls(items: &[StoredActivity]) -> Vec<String> {
    items.iter().map(|item| item.activity.url.clone()).collect()
}

/// Reads every page of the timeline of `sources`, checking on the way that
/// each page is ordered newest first and continues below the previous one.
async fn read_all(store: &dyn Store, sources: &[Source], query: ActivityQuery) -> Vec<StoredActivity> {
    let mut query = query;
    let mut items: Vec<StoredActivity> = Vec::new();

    for _ in 0..MAX_PAGES {
        let page = store.activities(sources, &query).await.expect("read a page");
        assert!(page.items.len() <= query.limit.max(1), "page longer than the limit");
        if let (Some(previous), Some(first)) = (items.last(), page.items.first()) {
            assert!(first.cursor < previous.cursor, "page does not continue below the previous one");
        }
        for pair in page.items.windows(2) {
            assert!(pair[0].cursor > pair[1].cursor, "page not ordered newest first");
        }
        items.extend(page.items);

        match page.next {
            Some(next) => query.before = Some(next),
            None => return items,
        }
    }
    panic!("timeline paging did not end after {MAX_PAGES} pages");
}

fn query(limit: usize) -> ActivityQuery {
    ActivityQuery { limit, ..ActivityQuery::default() }
}

/// Reads every page of the contacts list, checking on the way that each
/// page is ordered newest first, continues below the previous one and is
/// no longer than the limit. Returns the positions read.
async fn list_all(store: &dyn Store, filter: ContactFilter, limit: usize) -> Vec<ListPosition> {
    let mut query = ContactListQuery { filter, after: None, limit };
    let mut positions: Vec<ListPosition> = Vec::new();

    for _ in 0..MAX_PAGES {
        let page = store.list_contacts(&query).await.expect("read a list page");
        assert!(page.items.len() <= limit.max(1), "page longer than the limit");
        let page_positions: Vec<ListPosition> = page.items.iter().map(position_of).collect();
        if let (Some(previous), Some(first)) = (positions.last(), page_positions.first()) {
            assert!(first < previous, "page does not continue below the previous one");
        }
        for pair in page_positions.windows(2) {
            assert!(pair[0] > pair[1], "page not ordered newest first");
        }
        positions.extend(page_positions);

        match page.next {
            Some(next) => query.after = Some(next),
            None => return positions,
        }
    }
    panic!("list paging did not end after {MAX_PAGES} pages");
}

fn position_of(record: &ContactRecord) -> ListPosition {
    ListPosition { updated_at: record.updated_at, id: record.id.expect("listed records carry their id") }
}

fn ids(positions: &[ListPosition]) -> Vec<ContactId> {
    positions.iter().map(|position| position.id).collect()
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

/// Creates `count` contacts updated at 1000, 1001, ... and returns their
/// ids, newest first.
async fn contacts_at_distinct_times(store: &dyn Store, count: i64) -> Vec<ContactId> {
    let mut created = Vec::new();
    for offset in 0..count {
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), 1000 + offset).await.unwrap();
        created.push(contact);
    }
    created.reverse();
    created
}

mod cases {
    use super::*;

    pub async fn ping_answers(backend: &Backend) {
        let store = backend.store().await;

        store.ping().await.expect("ping");
        assert!(["embedded", "redis"].contains(&store.backend()));
    }

    pub async fn bind_tracker_binds_unbound_tracker(backend: &Backend) {
        let store = backend.store().await;
        let tracker = TrackerId::new();
        let contact = ContactId::new();

        assert_eq!(store.tracker_contact(tracker).await.unwrap(), None);
        assert!(store.bind_tracker(tracker, contact, None).await.unwrap());
        assert_eq!(store.tracker_contact(tracker).await.unwrap(), Some(contact));
        assert_eq!(store.contact_trackers(contact).await.unwrap(), vec![tracker]);
    }

    pub async fn bind_tracker_rejects_wrong_expected(backend: &Backend) {
        let store = backend.store().await;
        let tracker = TrackerId::new();
        let (first, second, stranger) = (ContactId::new(), ContactId::new(), ContactId::new());

        assert!(!store.bind_tracker(tracker, first, Some(stranger)).await.unwrap(), "unbound tracker, expected set");
        assert_eq!(store.tracker_contact(tracker).await.unwrap(), None);

        assert!(store.bind_tracker(tracker, first, None).await.unwrap());
        assert!(!store.bind_tracker(tracker, second, None).await.unwrap(), "bound tracker, expected none");
        assert!(!store.bind_tracker(tracker, second, Some(stranger)).await.unwrap(), "bound tracker, wrong expected");

        assert_eq!(store.tracker_contact(tracker).await.unwrap(), Some(first));
        assert!(store.contact_trackers(second).await.unwrap().is_empty());
    }

    pub async fn bind_tracker_again_changes_nothing(backend: &Backend) {
        let store = backend.store().await;
        let tracker = TrackerId::new();
        let (contact, other) = (ContactId::new(), ContactId::new());
        assert!(store.bind_tracker(tracker, contact, None).await.unwrap());

        // Pending activity appended now must stay pending: only the first
        // binding adopts it.
        store.append_pending(tracker, &visit("/late"), Duration::from_secs(3600)).await.unwrap();

        assert!(store.bind_tracker(tracker, contact, None).await.unwrap());
        assert!(store.bind_tracker(tracker, contact, Some(other)).await.unwrap());

        assert_eq!(store.tracker_contact(tracker).await.unwrap(), Some(contact));
        assert_eq!(store.contact_trackers(contact).await.unwrap(), vec![tracker]);
        let source = Source::Tracker { tracker, contact };
        let page = store.activities(&[source], &query(10)).await.unwrap();
        assert!(page.items.is_empty(), "rebinding adopted pending activity: {:?}", urls(&page.items));
    }

    pub async fn bind_tracker_moves_between_contacts(backend: &Backend) {
        let store = backend.store().await;
        let tracker = TrackerId::new();
        let (first, second) = (ContactId::new(), ContactId::new());
        assert!(store.bind_tracker(tracker, first, None).await.unwrap());

        assert!(store.bind_tracker(tracker, second, Some(first)).await.unwrap());

        assert_eq!(store.tracker_contact(tracker).await.unwrap(), Some(second));
        assert!(store.contact_trackers(first).await.unwrap().is_empty());
        assert_eq!(store.contact_trackers(second).await.unwrap(), vec![tracker]);
    }

    pub async fn bind_tracker_adopts_pending_activity(backend: &Backend) {
        let store = backend.store().await;
        let tracker = TrackerId::new();
        let contact = ContactId::new();
        let ttl = Duration::from_millis(300);
        store.append_pending(tracker, &visit("/a"), ttl).await.unwrap();
        store.append_pending(tracker, &activity(ActivityKind::Search, "/search?q=x"), ttl).await.unwrap();
        store.append_pending(tracker, &visit("/b"), ttl).await.unwrap();

        assert!(store.bind_tracker(tracker, contact, None).await.unwrap());

        // Wait well past the pending TTL: adopted activity must not expire.
        tokio::time::sleep(ttl * 3).await;
        let source = Source::Tracker { tracker, contact };
        let page = store.activities(&[source], &query(10)).await.unwrap();
        assert_eq!(urls(&page.items), vec!["/b", "/search?q=x", "/a"]);
        assert_eq!(page.next, None);

        let counters = store.counters(&[source]).await.unwrap();
        assert_eq!(counters.get(&ActivityKind::PageVisit), Some(&2));
        assert_eq!(counters.get(&ActivityKind::Search), Some(&1));
    }

    pub async fn pending_activity_expires_when_unbound(backend: &Backend) {
        let store = backend.store().await;
        let tracker = TrackerId::new();
        let contact = ContactId::new();
        let ttl = Duration::from_millis(100);
        store.append_pending(tracker, &visit("/gone"), ttl).await.unwrap();

        // Expiry is measured by the clock, so waiting several TTLs makes it
        // certain without asserting how fast anything ran.
        tokio::time::sleep(ttl * 5).await;
        assert!(store.bind_tracker(tracker, contact, None).await.unwrap());

        let source = Source::Tracker { tracker, contact };
        let page = store.activities(&[source], &query(10)).await.unwrap();
        assert!(page.items.is_empty(), "expired activity was adopted: {:?}", urls(&page.items));
        assert!(store.counters(&[source]).await.unwrap().is_empty());
    }

    pub async fn pending_expiry_counts_from_last_append(backend: &Backend) {
        let store = backend.store().await;
        let tracker = TrackerId::new();
        let contact = ContactId::new();
        let short = Duration::from_secs(2);
        store.append_pending(tracker, &visit("/first"), short).await.unwrap();
        store.append_pending(tracker, &visit("/second"), Duration::from_secs(3600)).await.unwrap();

        // Past the first TTL: the second append must have renewed the
        // expiry of everything pending, the first activity included.
        tokio::time::sleep(short + Duration::from_millis(500)).await;
        assert!(store.bind_tracker(tracker, contact, None).await.unwrap());

        let source = Source::Tracker { tracker, contact };
        let page = store.activities(&[source], &query(10)).await.unwrap();
        assert_eq!(urls(&page.items), vec!["/second", "/first"]);
    }

    pub async fn activities_page_newest_first_across_sources(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let sources = [
            Source::Tracker { tracker: TrackerId::new(), contact },
            Source::Tracker { tracker: TrackerId::new(), contact },
            Source::Contact(contact),
        ];

        // Several batches with pauses, so positions differ in time as well
        // as in sequence.
        let mut appended = Vec::new();
        for round in 0..4 {
            let mut batch = Vec::new();
            for (index, source) in sources.iter().enumerate() {
                for item in 0..3 {
                    let url = format!("/r{round}/s{index}/i{item}");
                    batch.push((*source, visit(&url)));
                    appended.push(url);
                }
            }
            store.append_activities(&batch).await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }

        let items = read_all(store.as_ref(), &sources, query(5)).await;

        let read: BTreeSet<String> = urls(&items).into_iter().collect();
        assert_eq!(items.len(), appended.len(), "items read twice or skipped");
        assert_eq!(read, appended.iter().cloned().collect::<BTreeSet<_>>());

        // Within one source, newest first is the reverse of append order.
        for (index, source) in sources.iter().enumerate() {
            let name = source.to_string();
            let of_source: Vec<String> =
                items.iter().filter(|item| item.cursor.source == name).map(|item| item.activity.url.clone()).collect();
            let mut expected: Vec<String> =
                appended.iter().filter(|url| url.contains(&format!("/s{index}/"))).cloned().collect();
            expected.reverse();
            assert_eq!(of_source, expected, "order within source {index}");
        }
    }

    pub async fn activities_page_many_in_same_millisecond(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let sources = [Source::Tracker { tracker: TrackerId::new(), contact }, Source::Contact(contact)];

        // One batch of 400 is appended within very few milliseconds, so
        // most positions share their millisecond and differ by sequence.
        let batch: Vec<(Source, Activity)> =
            (0..400).map(|index| (sources[index % 2], visit(&format!("/same/{index}")))).collect();
        store.append_activities(&batch).await.unwrap();

        for limit in [1, 13, 50] {
            let items = read_all(store.as_ref(), &sources, query(limit)).await;
            let read: BTreeSet<String> = urls(&items).into_iter().collect();
            assert_eq!(items.len(), 400, "limit {limit}: items read twice or skipped");
            assert_eq!(read.len(), 400, "limit {limit}: duplicates");
        }
    }

    pub async fn activities_cursor_stable_after_appends(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let sources = [Source::Tracker { tracker: TrackerId::new(), contact }, Source::Contact(contact)];
        let batch: Vec<(Source, Activity)> =
            (0..20).map(|index| (sources[index % 2], visit(&format!("/old/{index}")))).collect();
        store.append_activities(&batch).await.unwrap();

        let first = store.activities(&sources, &query(8)).await.unwrap();
        let next = first.next.clone().expect("a second page");
        let newer: Vec<(Source, Activity)> =
            (0..6).map(|index| (sources[index % 2], visit(&format!("/new/{index}")))).collect();
        store.append_activities(&newer).await.unwrap();
        let rest = read_all(store.as_ref(), &sources, ActivityQuery { before: Some(next), ..query(8) }).await;

        let mut all: Vec<String> = urls(&first.items);
        all.extend(urls(&rest));
        let unique: BTreeSet<&String> = all.iter().collect();
        assert_eq!(all.len(), 20, "items read twice, skipped or new ones mixed in: {all:?}");
        assert_eq!(unique.len(), 20);
        assert!(all.iter().all(|url| url.starts_with("/old/")));
    }

    pub async fn activities_after_returns_newer_only(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let sources = [Source::Tracker { tracker: TrackerId::new(), contact }, Source::Contact(contact)];
        let batch: Vec<(Source, Activity)> =
            (0..6).map(|index| (sources[index % 2], visit(&format!("/old/{index}")))).collect();
        store.append_activities(&batch).await.unwrap();
        let newest = store.activities(&sources, &query(1)).await.unwrap().items[0].cursor.clone();

        let newer: Vec<(Source, Activity)> =
            (0..3).map(|index| (sources[index % 2], visit(&format!("/new/{index}")))).collect();
        store.append_activities(&newer).await.unwrap();

        let refresh = ActivityQuery { after: Some(newest.clone()), ..query(10) };
        let page = store.activities(&sources, &refresh).await.unwrap();
        let mut read = urls(&page.items);
        read.sort();
        assert_eq!(read, vec!["/new/0", "/new/1", "/new/2"]);
        assert!(page.items.iter().all(|item| item.cursor > newest));
        assert_eq!(page.next, None);

        // A refresh with a small limit pages back down to the cursor.
        let paged = read_all(store.as_ref(), &sources, ActivityQuery { after: Some(newest), ..query(2) }).await;
        assert_eq!(paged.len(), 3);
    }

    pub async fn activities_filter_by_kind(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let sources = [Source::Tracker { tracker: TrackerId::new(), contact }, Source::Contact(contact)];
        let kinds = [ActivityKind::PageVisit, ActivityKind::Search, ActivityKind::PageVisit, ActivityKind::Purchase];
        let batch: Vec<(Source, Activity)> = (0..60)
            .map(|index| (sources[index % 2], activity(kinds[index % kinds.len()], &format!("/k/{index}"))))
            .collect();
        store.append_activities(&batch).await.unwrap();

        let searches = ActivityQuery { kinds: BTreeSet::from([ActivityKind::Search]), ..query(4) };
        let items = read_all(store.as_ref(), &sources, searches).await;
        assert_eq!(items.len(), 15);
        assert!(items.iter().all(|item| item.activity.kind == ActivityKind::Search));

        let two = ActivityQuery { kinds: BTreeSet::from([ActivityKind::Search, ActivityKind::Purchase]), ..query(7) };
        let items = read_all(store.as_ref(), &sources, two).await;
        assert_eq!(items.len(), 30);
        assert!(items.iter().all(|item| item.activity.kind != ActivityKind::PageVisit));

        let none = ActivityQuery { kinds: BTreeSet::from([ActivityKind::Login]), ..query(5) };
        let page = store.activities(&sources, &none).await.unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.next, None);
    }

    pub async fn activities_of_unknown_sources_are_empty(backend: &Backend) {
        let store = backend.store().await;
        let sources = [Source::Contact(ContactId::new())];

        let page = store.activities(&sources, &query(10)).await.unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.next, None);

        let page = store.activities(&[], &query(10)).await.unwrap();
        assert!(page.items.is_empty());
        assert!(store.counters(&[]).await.unwrap().is_empty());
    }

    pub async fn activities_limit_zero_reads_one(backend: &Backend) {
        let store = backend.store().await;
        let source = Source::Contact(ContactId::new());
        let batch = vec![(source, visit("/1")), (source, visit("/2"))];
        store.append_activities(&batch).await.unwrap();

        let page = store.activities(&[source], &query(0)).await.unwrap();

        assert_eq!(urls(&page.items), vec!["/2"]);
        assert_eq!(page.next, Some(page.items[0].cursor.clone()));
    }

    pub async fn counters_sum_over_sources(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let tracker_source = Source::Tracker { tracker: TrackerId::new(), contact };
        let own = Source::Contact(contact);
        let batch = vec![
            (tracker_source, visit("/1")),
            (tracker_source, visit("/2")),
            (tracker_source, activity(ActivityKind::Search, "/s")),
            (own, visit("/3")),
            (own, activity(ActivityKind::Purchase, "/p")),
        ];
        store.append_activities(&batch).await.unwrap();

        let sums = store.counters(&[tracker_source, own]).await.unwrap();
        let expected =
            BTreeMap::from([(ActivityKind::PageVisit, 3), (ActivityKind::Search, 1), (ActivityKind::Purchase, 1)]);
        assert_eq!(sums, expected);

        let only_own = store.counters(&[own]).await.unwrap();
        assert_eq!(only_own, BTreeMap::from([(ActivityKind::PageVisit, 1), (ActivityKind::Purchase, 1)]));

        // A source listed twice counts once.
        let doubled = store.counters(&[own, own]).await.unwrap();
        assert_eq!(doubled, only_own);
    }

    pub async fn touch_creates_contact(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();

        store.touch(contact, Source::Contact(contact), 1_000).await.unwrap();

        let record = store.contact(contact).await.unwrap().expect("touched contact exists");
        assert_eq!(record.id, Some(contact));
        assert_eq!(record.created_at, 1_000);
        assert_eq!(record.updated_at, 1_000);
        assert!(record.fields.is_empty());
        assert_eq!(record.merged_into, None);
        assert_eq!(store.sources(contact).await.unwrap(), vec![Source::Contact(contact)]);
    }

    pub async fn touch_keeps_updated_at_monotonic(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), 2_000).await.unwrap();

        store.touch(contact, Source::Contact(contact), 1_500).await.unwrap();
        let record = store.contact(contact).await.unwrap().unwrap();
        assert_eq!(record.updated_at, 2_000, "an older touch moved updated_at back");
        assert_eq!(record.created_at, 2_000);

        store.touch(contact, Source::Contact(contact), 3_000).await.unwrap();
        let record = store.contact(contact).await.unwrap().unwrap();
        assert_eq!(record.updated_at, 3_000);
        assert_eq!(record.created_at, 2_000);
    }

    pub async fn touch_lists_tracker_source(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let bound = TrackerId::new();
        let unbound = TrackerId::new();
        assert!(store.bind_tracker(bound, contact, None).await.unwrap());

        store.touch(contact, Source::Tracker { tracker: bound, contact }, 10).await.unwrap();
        store.touch(contact, Source::Tracker { tracker: unbound, contact }, 20).await.unwrap();

        let sources: BTreeSet<Source> = store.sources(contact).await.unwrap().into_iter().collect();
        let expected = BTreeSet::from([
            Source::Tracker { tracker: bound, contact },
            Source::Tracker { tracker: unbound, contact },
        ]);
        assert_eq!(sources, expected);

        // The trackers list contains only trackers bound to the contact.
        assert_eq!(store.contact_trackers(contact).await.unwrap(), vec![bound]);
    }

    pub async fn contact_missing_is_none(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();

        assert_eq!(store.contact(contact).await.unwrap(), None);
        assert!(store.sources(contact).await.unwrap().is_empty());
        assert!(store.contact_trackers(contact).await.unwrap().is_empty());
        assert!(store.merged_contacts(contact).await.unwrap().is_empty());
    }

    pub async fn set_fields_overwrites_and_removes(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let first = BTreeMap::from([
            ("email".to_owned(), "Ana@Example.com".to_owned()),
            ("first_name".to_owned(), "Ana".to_owned()),
            ("city".to_owned(), "Lyon".to_owned()),
        ]);
        store.set_fields(contact, &first, false, 100).await.unwrap();

        let record = store.contact(contact).await.unwrap().expect("set_fields creates the contact");
        assert_eq!(record.fields, first);
        assert_eq!(record.created_at, 100);
        assert!(record.is_registered());

        let second = BTreeMap::from([("first_name".to_owned(), "Anna".to_owned()), ("city".to_owned(), String::new())]);
        store.set_fields(contact, &second, false, 200).await.unwrap();

        let record = store.contact(contact).await.unwrap().unwrap();
        let expected = BTreeMap::from([
            ("email".to_owned(), "Ana@Example.com".to_owned()),
            ("first_name".to_owned(), "Anna".to_owned()),
        ]);
        assert_eq!(record.fields, expected, "empty value removes the field");
        assert_eq!(record.updated_at, 200);
        assert_eq!(record.created_at, 100);
    }

    pub async fn set_fields_only_if_empty_fills_gaps(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let existing = BTreeMap::from([
            ("email".to_owned(), "kept@example.com".to_owned()),
            ("phone".to_owned(), "+34600000001".to_owned()),
        ]);
        store.set_fields(contact, &existing, false, 100).await.unwrap();

        let incoming = BTreeMap::from([
            ("email".to_owned(), "other@example.com".to_owned()),
            ("first_name".to_owned(), "Bo".to_owned()),
            ("phone".to_owned(), String::new()),
            ("city".to_owned(), String::new()),
        ]);
        store.set_fields(contact, &incoming, true, 200).await.unwrap();

        let record = store.contact(contact).await.unwrap().unwrap();
        let expected = BTreeMap::from([
            ("email".to_owned(), "kept@example.com".to_owned()),
            ("first_name".to_owned(), "Bo".to_owned()),
            ("phone".to_owned(), "+34600000001".to_owned()),
        ]);
        assert_eq!(record.fields, expected, "only missing fields are filled, nothing is removed");
    }

    pub async fn set_fields_with_activity_records_the_edit(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let own = Source::Contact(contact);
        let with_email = ContactFilter { has_email: true, ..Default::default() };
        let with_cellphone = ContactFilter { has_cellphone: true, ..Default::default() };
        let mut edit = activity(ActivityKind::AdminEdit, "");
        edit.at = 100;
        edit.properties = BTreeMap::from([("fields".to_owned(), "email,cellphone".to_owned())]);

        let written = fields(&[("email", "ana@example.com"), ("cellphone", "+34600000001"), ("first_name", "Ana")]);
        store.set_fields_with_activity(contact, &written, &edit).await.unwrap();

        let record = store.contact(contact).await.unwrap().expect("the write creates the contact");
        assert_eq!(record.fields, written);
        assert_eq!((record.created_at, record.updated_at), (100, 100));
        assert_eq!(store.sources(contact).await.unwrap(), vec![own]);
        let timeline = read_all(store.as_ref(), &[own], query(10)).await;
        assert_eq!(timeline.len(), 1);
        assert_eq!(timeline[0].activity, edit);
        assert_eq!(store.counters(&[own]).await.unwrap(), BTreeMap::from([(ActivityKind::AdminEdit, 1)]));
        assert_eq!(ids(&list_all(store.as_ref(), with_email, 10).await), vec![contact]);
        assert_eq!(ids(&list_all(store.as_ref(), with_cellphone, 10).await), vec![contact]);

        // A second edit, stamped earlier, removes the email.
        edit.at = 50;
        store.set_fields_with_activity(contact, &fields(&[("email", "")]), &edit).await.unwrap();

        let record = store.contact(contact).await.unwrap().unwrap();
        assert_eq!(record.fields.get("email"), None);
        assert_eq!((record.created_at, record.updated_at), (100, 100), "an earlier edit keeps updated_at");
        assert_eq!(read_all(store.as_ref(), &[own], query(10)).await.len(), 2);
        assert_eq!(store.counters(&[own]).await.unwrap(), BTreeMap::from([(ActivityKind::AdminEdit, 2)]));
        assert!(list_all(store.as_ref(), with_email, 10).await.is_empty(), "a removed email leaves the filter");
        assert_eq!(ids(&list_all(store.as_ref(), with_cellphone, 10).await), vec![contact]);
    }

    pub async fn set_fields_keep_push_and_email_filters(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let with_email = ContactFilter { has_email: true, ..Default::default() };
        let with_push = ContactFilter { has_push: true, ..Default::default() };
        store.add_push_subscription(contact, "endpoint", 100).await.unwrap();

        store.set_fields(contact, &fields(&[("first_name", "Ana")]), false, 200).await.unwrap();
        assert_eq!(ids(&list_all(store.as_ref(), with_push, 10).await), vec![contact], "push stays listed");
        assert!(list_all(store.as_ref(), with_email, 10).await.is_empty());

        store.set_fields(contact, &fields(&[("email", "ana@example.com")]), true, 300).await.unwrap();
        assert_eq!(ids(&list_all(store.as_ref(), with_email, 10).await), vec![contact], "a filled gap is listed");

        store.set_fields(contact, &fields(&[("email", "other@example.com")]), true, 400).await.unwrap();
        let record = store.contact(contact).await.unwrap().unwrap();
        assert_eq!(record.fields.get("email").map(String::as_str), Some("ana@example.com"));
        let listed = list_all(store.as_ref(), with_email, 10).await;
        assert_eq!(listed, vec![ListPosition { updated_at: 400, id: contact }]);
        assert_eq!(ids(&list_all(store.as_ref(), with_push, 10).await), vec![contact]);
    }

    pub async fn sources_add_is_idempotent(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let other = ContactId::new();
        let added = [Source::Contact(other), Source::Tracker { tracker: TrackerId::new(), contact: other }];

        store.add_sources(contact, &added).await.unwrap();
        store.add_sources(contact, &added).await.unwrap();
        store.add_sources(contact, &[]).await.unwrap();

        let sources: BTreeSet<Source> = store.sources(contact).await.unwrap().into_iter().collect();
        assert_eq!(sources, BTreeSet::from(added));
        assert_eq!(store.sources(contact).await.unwrap().len(), 2);
    }

    pub async fn record_merge_happens_once(backend: &Backend) {
        let store = backend.store().await;
        let (into, from) = (ContactId::new(), ContactId::new());
        let mut merge = activity(ActivityKind::Merge, "/");
        merge.properties.insert("merged_contact".to_owned(), from.to_string());

        assert!(store.record_merge(into, from, &merge).await.unwrap());
        assert!(!store.record_merge(into, from, &merge).await.unwrap());

        assert_eq!(store.merged_contacts(into).await.unwrap(), vec![from]);
        let own = Source::Contact(into);
        let page = store.activities(&[own], &query(10)).await.unwrap();
        assert_eq!(page.items.len(), 1, "the merge activity is appended once");
        assert_eq!(page.items[0].activity, merge);
        let counters = store.counters(&[own]).await.unwrap();
        assert_eq!(counters, BTreeMap::from([(ActivityKind::Merge, 1)]));

        let third = ContactId::new();
        assert!(store.record_merge(into, third, &merge).await.unwrap());
        let merged: BTreeSet<ContactId> = store.merged_contacts(into).await.unwrap().into_iter().collect();
        assert_eq!(merged, BTreeSet::from([from, third]));
    }

    pub async fn set_merged_into_points_to_survivor(backend: &Backend) {
        let store = backend.store().await;
        let (from, into) = (ContactId::new(), ContactId::new());
        store.touch(from, Source::Contact(from), 500).await.unwrap();

        store.set_merged_into(from, into).await.unwrap();

        let record = store.contact(from).await.unwrap().unwrap();
        assert_eq!(record.merged_into, Some(into));
        assert_eq!(record.created_at, 500);
        assert_eq!(store.contact(into).await.unwrap(), None, "the survivor is not created");
    }

    pub async fn index_claim_returns_first_owner(backend: &Backend) {
        let store = backend.store().await;
        let (first, second) = (ContactId::new(), ContactId::new());

        assert_eq!(store.claim_index(IndexKind::Email, "ana@example.com", first).await.unwrap(), first);
        assert_eq!(store.claim_index(IndexKind::Email, "ana@example.com", second).await.unwrap(), first);
        assert_eq!(store.claim_index(IndexKind::Email, "ana@example.com", first).await.unwrap(), first);
        assert_eq!(store.index_lookup(IndexKind::Email, "ana@example.com").await.unwrap(), Some(first));

        // Index kinds are separate namespaces.
        assert_eq!(store.index_lookup(IndexKind::Phone, "ana@example.com").await.unwrap(), None);
        assert_eq!(store.claim_index(IndexKind::CustomerId, "ana@example.com", second).await.unwrap(), second);
    }

    pub async fn index_release_needs_owner(backend: &Backend) {
        let store = backend.store().await;
        let (owner, other) = (ContactId::new(), ContactId::new());
        store.claim_index(IndexKind::Phone, "+34600000001", owner).await.unwrap();

        store.release_index(IndexKind::Phone, "+34600000001", other).await.unwrap();
        assert_eq!(store.index_lookup(IndexKind::Phone, "+34600000001").await.unwrap(), Some(owner));

        store.release_index(IndexKind::Phone, "+34600000001", owner).await.unwrap();
        assert_eq!(store.index_lookup(IndexKind::Phone, "+34600000001").await.unwrap(), None);
        assert_eq!(store.claim_index(IndexKind::Phone, "+34600000001", other).await.unwrap(), other);

        // Releasing a value that no contact owns changes nothing.
        store.release_index(IndexKind::Phone, "+34600000002", owner).await.unwrap();
    }

    pub async fn index_values_with_special_characters(backend: &Backend) {
        let store = backend.store().await;
        let values = ["{a}@example.com", "}{", "{", "%7B", "%", "%25", "ü@bücher.de", "名前@例え.jp", "a b:c"];

        let owners: Vec<ContactId> = values.iter().map(|_| ContactId::new()).collect();
        for (value, owner) in values.iter().zip(&owners) {
            assert_eq!(store.claim_index(IndexKind::Email, value, *owner).await.unwrap(), *owner, "claim {value:?}");
        }

        for (value, owner) in values.iter().zip(&owners) {
            assert_eq!(store.index_lookup(IndexKind::Email, value).await.unwrap(), Some(*owner), "lookup {value:?}");
        }
    }

    pub async fn claim_order_true_once(backend: &Backend) {
        let store = backend.store().await;

        assert!(store.claim_order("1001").await.unwrap());
        assert!(!store.claim_order("1001").await.unwrap());
        assert!(store.claim_order("1002").await.unwrap());
        assert!(store.claim_order("{1001}").await.unwrap(), "braces make a different order id");
        assert!(!store.claim_order("{1001}").await.unwrap());
    }

    pub async fn merge_intents_begin_pending_finish(backend: &Backend) {
        let store = backend.store().await;
        let first = MergeIntent { from: ContactId::new(), into: ContactId::new() };
        let second = MergeIntent { from: ContactId::new(), into: first.into };
        assert!(store.pending_merges().await.unwrap().is_empty());

        store.begin_merge(first).await.unwrap();
        store.begin_merge(second).await.unwrap();
        store.begin_merge(first).await.unwrap();
        let pending = store.pending_merges().await.unwrap();
        assert_eq!(pending.len(), 2, "a repeated begin is stored once");
        assert!(pending.contains(&first));
        assert!(pending.contains(&second));

        store.finish_merge(first).await.unwrap();
        assert_eq!(store.pending_merges().await.unwrap(), vec![second]);

        store.finish_merge(first).await.unwrap();
        store.finish_merge(second).await.unwrap();
        assert!(store.pending_merges().await.unwrap().is_empty());
    }

    pub async fn retention_trims_by_count(backend: &Backend) {
        let retention = Retention { max_activities: 5, max_age: Duration::from_secs(3600) };
        let store = backend.open(retention).await;
        let source = Source::Contact(ContactId::new());

        for round in 0..30 {
            let batch: Vec<(Source, Activity)> =
                (0..10).map(|item| (source, visit(&format!("/n/{}", round * 10 + item)))).collect();
            store.append_activities(&batch).await.unwrap();
        }

        // Redis trims whole stream nodes (`MAXLEN ~`), so more than five may
        // remain there, but never the bulk of the 300 and never fewer than
        // five.
        let items = read_all(store.as_ref(), &[source], query(50)).await;
        assert!(items.len() >= 5, "kept {} activities", items.len());
        assert!(items.len() < 300, "nothing was trimmed");
        let newest: Vec<String> = urls(&items[..5]);
        assert_eq!(newest, vec!["/n/299", "/n/298", "/n/297", "/n/296", "/n/295"]);

        // Counters keep counting what was recorded, trimmed or not.
        let counters = store.counters(&[source]).await.unwrap();
        assert_eq!(counters.get(&ActivityKind::PageVisit), Some(&300));
    }

    pub async fn retention_trims_by_age(backend: &Backend) {
        let retention = Retention { max_activities: 10_000, max_age: Duration::from_millis(100) };
        let store = backend.open(retention).await;
        let source = Source::Contact(ContactId::new());
        let old: Vec<(Source, Activity)> = (0..150).map(|item| (source, visit(&format!("/old/{item}")))).collect();
        store.append_activities(&old).await.unwrap();

        tokio::time::sleep(Duration::from_millis(400)).await;
        store.append_activities(&[(source, visit("/fresh"))]).await.unwrap();

        // Redis drops only stream nodes that are entirely too old
        // (`MINID ~`), so some old entries may remain there.
        let items = read_all(store.as_ref(), &[source], query(200)).await;
        assert_eq!(items[0].activity.url, "/fresh");
        assert!(items.len() < 151, "no old activity was trimmed");
    }

    pub async fn push_subscription_added_once(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), 100).await.unwrap();

        assert!(store.add_push_subscription(contact, "endpoint-b", 200).await.unwrap());
        assert!(store.add_push_subscription(contact, "endpoint-a", 300).await.unwrap());
        assert!(!store.add_push_subscription(contact, "endpoint-b", 400).await.unwrap());

        let subscriptions = store.push_subscriptions(contact).await.unwrap();
        let expected = vec![
            PushSubscription { endpoint_id: "endpoint-a".to_owned(), created_at: 300 },
            PushSubscription { endpoint_id: "endpoint-b".to_owned(), created_at: 200 },
        ];
        assert_eq!(subscriptions, expected, "ordered by endpoint id, first creation time kept");
        assert!(store.push_subscriptions(ContactId::new()).await.unwrap().is_empty());
    }

    pub async fn push_subscription_removed_once(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        store.add_push_subscription(contact, "endpoint-a", 200).await.unwrap();

        assert!(store.remove_push_subscription(contact, "endpoint-a", 300).await.unwrap());
        assert!(!store.remove_push_subscription(contact, "endpoint-a", 400).await.unwrap());
        assert!(!store.remove_push_subscription(contact, "never-added", 500).await.unwrap());

        assert!(store.push_subscriptions(contact).await.unwrap().is_empty());
        let record = store.contact(contact).await.unwrap().expect("the contact exists");
        assert_eq!(record.updated_at, 300, "only the real removal changed the contact");
    }

    pub async fn push_subscription_raises_updated_at(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), 500).await.unwrap();

        store.add_push_subscription(contact, "late", 900).await.unwrap();
        assert_eq!(store.contact(contact).await.unwrap().unwrap().updated_at, 900);
        store.add_push_subscription(contact, "early", 100).await.unwrap();
        assert_eq!(store.contact(contact).await.unwrap().unwrap().updated_at, 900, "never lowered");
    }

    pub async fn list_pages_newest_first_without_gaps(backend: &Backend) {
        let store = backend.store().await;
        let created = contacts_at_distinct_times(store.as_ref(), 45).await;

        for limit in [1, 7, 45, 50] {
            let listed = list_all(store.as_ref(), ContactFilter::default(), limit).await;
            assert_eq!(ids(&listed), created, "limit {limit}");
        }

        let first = store.list_contacts(&ContactListQuery { limit: 45, ..Default::default() }).await.unwrap();
        assert_eq!(first.items.len(), 45);
        assert_eq!(first.next, None, "a page that reaches the end has no cursor");
    }

    pub async fn list_orders_same_millisecond_by_id(backend: &Backend) {
        let store = backend.store().await;
        let mut created = Vec::new();
        for _ in 0..40 {
            let contact = ContactId::new();
            store.touch(contact, Source::Contact(contact), 7000).await.unwrap();
            created.push(contact);
        }
        created.sort();
        created.reverse();

        for limit in [1, 3, 16, 39] {
            let listed = list_all(store.as_ref(), ContactFilter::default(), limit).await;
            assert_eq!(ids(&listed), created, "limit {limit}");
        }
    }

    pub async fn list_pages_through_equal_times_among_others(backend: &Backend) {
        let store = backend.store().await;
        let mut created = Vec::new();
        let times = (0..10).map(|offset| 4000 + offset).chain([5000; 30]).chain((0..10).map(|offset| 6000 + offset));
        for (index, at) in times.enumerate() {
            let contact = ContactId::new();
            store.touch(contact, Source::Contact(contact), at).await.unwrap();
            if index % 2 == 0 {
                store.set_fields(contact, &fields(&[("email", "a@example.com")]), false, at).await.unwrap();
            }
            created.push((ListPosition { updated_at: at, id: contact }, index % 2 == 0));
        }
        created.sort();
        created.reverse();
        let every: Vec<ContactId> = created.iter().map(|(position, _)| position.id).collect();
        let with_email: Vec<ContactId> =
            created.iter().filter(|(_, email)| *email).map(|(position, _)| position.id).collect();

        let email_filter = ContactFilter { has_email: true, ..Default::default() };
        for limit in [1, 7, 50] {
            assert_eq!(ids(&list_all(store.as_ref(), ContactFilter::default(), limit).await), every, "limit {limit}");
            assert_eq!(ids(&list_all(store.as_ref(), email_filter, limit).await), with_email, "limit {limit}");
        }
    }

    pub async fn list_filters_alone_and_combined(backend: &Backend) {
        let store = backend.store().await;
        let created = contacts_at_distinct_times(store.as_ref(), 24).await;
        for (index, contact) in created.iter().enumerate() {
            let mut values = Vec::new();
            if index % 2 == 0 {
                values.push(("email", "someone@example.com"));
            }
            if index % 3 == 0 {
                values.push(("cellphone", "+34600000001"));
            }
            if !values.is_empty() {
                store.set_fields(*contact, &fields(&values), false, 1).await.unwrap();
            }
            if index % 4 == 0 {
                store.add_push_subscription(*contact, "endpoint", 1).await.unwrap();
            }
        }

        let cases = [
            (ContactFilter { has_email: true, ..Default::default() }, (true, false, false)),
            (ContactFilter { has_cellphone: true, ..Default::default() }, (false, true, false)),
            (ContactFilter { has_push: true, ..Default::default() }, (false, false, true)),
            (
                ContactFilter { has_email: true, has_cellphone: true, has_push: false, segment: None, shard: None },
                (true, true, false),
            ),
            (
                ContactFilter { has_email: true, has_cellphone: true, has_push: true, segment: None, shard: None },
                (true, true, true),
            ),
            (
                ContactFilter { has_email: false, has_cellphone: true, has_push: true, segment: None, shard: None },
                (false, true, true),
            ),
        ];
        for (filter, (email, cellphone, push)) in cases {
            let expected: Vec<ContactId> = created
                .iter()
                .enumerate()
                .filter(|(index, _)| (!email || index % 2 == 0) && (!cellphone || index % 3 == 0))
                .filter(|(index, _)| !push || index % 4 == 0)
                .map(|(_, contact)| *contact)
                .collect();
            assert!(!expected.is_empty(), "{filter:?} matches something");
            for limit in [1, 5] {
                let listed = list_all(store.as_ref(), filter, limit).await;
                assert_eq!(ids(&listed), expected, "{filter:?} with limit {limit}");
            }
        }
    }

    pub async fn list_follows_field_and_push_changes(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let with_email = ContactFilter { has_email: true, ..Default::default() };
        let with_push = ContactFilter { has_push: true, ..Default::default() };
        store.touch(contact, Source::Contact(contact), 100).await.unwrap();
        assert!(list_all(store.as_ref(), with_email, 10).await.is_empty());

        store.set_fields(contact, &fields(&[("email", "ana@example.com")]), false, 200).await.unwrap();
        assert_eq!(ids(&list_all(store.as_ref(), with_email, 10).await), vec![contact]);
        store.set_fields(contact, &fields(&[("email", "")]), false, 300).await.unwrap();
        assert!(list_all(store.as_ref(), with_email, 10).await.is_empty(), "a removed email leaves the filter");

        store.add_push_subscription(contact, "endpoint", 400).await.unwrap();
        assert_eq!(ids(&list_all(store.as_ref(), with_push, 10).await), vec![contact]);
        store.remove_push_subscription(contact, "endpoint", 500).await.unwrap();
        assert!(list_all(store.as_ref(), with_push, 10).await.is_empty(), "the last removal leaves the filter");

        let listed = list_all(store.as_ref(), ContactFilter::default(), 10).await;
        assert_eq!(listed, vec![ListPosition { updated_at: 500, id: contact }]);
    }

    pub async fn list_moves_touched_contact_to_front(backend: &Backend) {
        let store = backend.store().await;
        let created = contacts_at_distinct_times(store.as_ref(), 5).await;
        let oldest = created[4];

        let tracker = TrackerId::new();
        let source = Source::Tracker { tracker, contact: oldest };
        let mut late = visit("/late");
        late.at = 5000;
        store.append_activities(&[(source, late)]).await.unwrap();

        let listed = ids(&list_all(store.as_ref(), ContactFilter::default(), 2).await);
        let mut expected = vec![oldest];
        expected.extend_from_slice(&created[..4]);
        assert_eq!(listed, expected);
    }

    pub async fn list_update_between_pages_repeats_nothing(backend: &Backend) {
        let store = backend.store().await;
        let created = contacts_at_distinct_times(store.as_ref(), 10).await;

        let first = store.list_contacts(&ContactListQuery { limit: 4, ..Default::default() }).await.unwrap();
        let first_ids: Vec<ContactId> = first.items.iter().filter_map(|record| record.id).collect();
        assert_eq!(first_ids, created[..4]);
        // One contact already read and one not yet read move to the front.
        store.touch(created[1], Source::Contact(created[1]), 9000).await.unwrap();
        store.touch(created[6], Source::Contact(created[6]), 9001).await.unwrap();

        let mut rest = Vec::new();
        let mut after = first.next;
        while let Some(position) = after {
            let query = ContactListQuery { after: Some(position), limit: 4, ..Default::default() };
            let page = store.list_contacts(&query).await.unwrap();
            rest.extend(page.items.iter().filter_map(|record| record.id));
            after = page.next;
            assert!(rest.len() <= created.len(), "paging loops");
        }

        let expected: Vec<ContactId> = created[4..].iter().copied().filter(|id| *id != created[6]).collect();
        assert_eq!(rest, expected, "the moved contacts are not read again");
    }

    pub async fn list_leaves_out_merged_contacts(backend: &Backend) {
        let store = backend.store().await;
        let created = contacts_at_distinct_times(store.as_ref(), 3).await;
        store.set_fields(created[1], &fields(&[("email", "gone@example.com")]), false, 1).await.unwrap();
        store.add_push_subscription(created[1], "endpoint", 1).await.unwrap();

        store.set_merged_into(created[1], created[0]).await.unwrap();

        for filter in [
            ContactFilter::default(),
            ContactFilter { has_email: true, ..Default::default() },
            ContactFilter { has_push: true, ..Default::default() },
        ] {
            let listed = ids(&list_all(store.as_ref(), filter, 10).await);
            assert!(!listed.contains(&created[1]), "{filter:?}");
        }
        let listed = ids(&list_all(store.as_ref(), ContactFilter::default(), 10).await);
        assert_eq!(listed, vec![created[0], created[2]]);

        // A later change of the merged contact does not list it again.
        store.touch(created[1], Source::Contact(created[1]), 99_000).await.unwrap();
        let listed = ids(&list_all(store.as_ref(), ContactFilter::default(), 10).await);
        assert_eq!(listed, vec![created[0], created[2]]);
    }

    pub async fn list_limit_zero_reads_one(backend: &Backend) {
        let store = backend.store().await;
        let created = contacts_at_distinct_times(store.as_ref(), 3).await;

        let page = store.list_contacts(&ContactListQuery { limit: 0, ..Default::default() }).await.unwrap();
        assert_eq!(page.items.iter().filter_map(|record| record.id).collect::<Vec<_>>(), vec![created[0]]);
        assert_eq!(page.next.map(|next| next.id), Some(created[0]));
    }

    pub async fn list_of_empty_store_is_empty(backend: &Backend) {
        let store = backend.store().await;

        let page = store.list_contacts(&ContactListQuery::default()).await.unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.next, None);
    }

    fn entries(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.map(str::to_owned))).collect()
    }

    pub async fn update_statuses_writes_apart_from_fields(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let fields = BTreeMap::from([("newsletter".to_owned(), "a profile field".to_owned())]);
        store.set_fields(contact, &fields, false, 100).await.unwrap();

        let update = StatusUpdate {
            expected: entries(&[("newsletter", None)]),
            changes: entries(&[("newsletter", Some("subscribed")), ("sms", Some("unsubscribed"))]),
            activities: Vec::new(),
            at: 200,
        };
        assert!(store.update_statuses(contact, &update).await.unwrap());

        let record = store.contact(contact).await.unwrap().unwrap();
        let statuses = BTreeMap::from([
            ("newsletter".to_owned(), "subscribed".to_owned()),
            ("sms".to_owned(), "unsubscribed".to_owned()),
        ]);
        assert_eq!(record.statuses, statuses);
        assert_eq!(record.fields, fields, "a status entry never shows as a field");
        assert_eq!(record.updated_at, 200);
        assert_eq!(record.created_at, 100);

        // A field of the same name changes nothing among the statuses.
        let renamed = BTreeMap::from([("sms".to_owned(), "555".to_owned())]);
        store.set_fields(contact, &renamed, false, 300).await.unwrap();
        let record = store.contact(contact).await.unwrap().unwrap();
        assert_eq!(record.statuses, statuses);
    }

    pub async fn update_statuses_removes_entries(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), 100).await.unwrap();
        let set = StatusUpdate { changes: entries(&[("email", Some("paused"))]), at: 100, ..Default::default() };
        assert!(store.update_statuses(contact, &set).await.unwrap());

        let remove = StatusUpdate {
            expected: entries(&[("email", Some("paused"))]),
            changes: entries(&[("email", None)]),
            at: 50,
            ..Default::default()
        };
        assert!(store.update_statuses(contact, &remove).await.unwrap());

        let record = store.contact(contact).await.unwrap().unwrap();
        assert!(record.statuses.is_empty(), "{:?}", record.statuses);
        assert_eq!(record.updated_at, 100, "an earlier time does not lower updated_at");
    }

    pub async fn update_statuses_rejects_changed_entries(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), 100).await.unwrap();
        let first = StatusUpdate { changes: entries(&[("email", Some("blocked"))]), at: 100, ..Default::default() };
        assert!(store.update_statuses(contact, &first).await.unwrap());

        let stale_cases = [
            entries(&[("email", None)]),
            entries(&[("email", Some("paused"))]),
            entries(&[("email", Some("blocked")), ("sms", Some("subscribed"))]),
        ];
        for expected in stale_cases {
            let update = StatusUpdate {
                expected: expected.clone(),
                changes: entries(&[("email", Some("paused"))]),
                activities: vec![activity(ActivityKind::AdminEdit, "")],
                at: 500,
            };
            assert!(!store.update_statuses(contact, &update).await.unwrap(), "{expected:?}");
        }

        let record = store.contact(contact).await.unwrap().unwrap();
        assert_eq!(record.statuses.get("email").map(String::as_str), Some("blocked"));
        assert_eq!(record.updated_at, 100, "a rejected update does not touch the contact");
        let page = store.activities(&[Source::Contact(contact)], &query(10)).await.unwrap();
        assert!(page.items.is_empty(), "a rejected update appends nothing");
    }

    pub async fn update_statuses_needs_live_contact(backend: &Backend) {
        let store = backend.store().await;
        let missing = ContactId::new();
        let update = StatusUpdate { changes: entries(&[("email", Some("paused"))]), at: 100, ..Default::default() };
        assert!(!store.update_statuses(missing, &update).await.unwrap());
        assert_eq!(store.contact(missing).await.unwrap(), None, "a missing contact is not created");

        let (from, into) = (ContactId::new(), ContactId::new());
        store.touch(from, Source::Contact(from), 100).await.unwrap();
        store.set_merged_into(from, into).await.unwrap();
        assert!(!store.update_statuses(from, &update).await.unwrap());
        let record = store.contact(from).await.unwrap().unwrap();
        assert!(record.statuses.is_empty(), "a merged contact keeps no new statuses");
    }

    pub async fn update_statuses_appends_own_activities(backend: &Backend) {
        let store = backend.store().await;
        let contact = ContactId::new();
        let tracker = TrackerId::new();
        let browsing = Source::Tracker { tracker, contact };
        store.append_activities(&[(browsing, visit("/home"))]).await.unwrap();

        let bounce = activity(ActivityKind::EmailBounce, "");
        let subscription = activity(ActivityKind::NewsletterSubscription, "");
        let update = StatusUpdate {
            changes: entries(&[("newsletter", Some("unsubscribed"))]),
            activities: vec![bounce.clone(), subscription.clone()],
            at: now_millis(),
            ..Default::default()
        };
        assert!(store.update_statuses(contact, &update).await.unwrap());

        let own = Source::Contact(contact);
        let sources: BTreeSet<Source> = store.sources(contact).await.unwrap().into_iter().collect();
        assert_eq!(sources, BTreeSet::from([browsing, own]), "the own stream joins the timeline");
        let page = store.activities(&[own], &query(10)).await.unwrap();
        let kinds: Vec<ActivityKind> = page.items.iter().map(|item| item.activity.kind).collect();
        assert_eq!(kinds, vec![ActivityKind::NewsletterSubscription, ActivityKind::EmailBounce]);
        let counters = store.counters(&[own]).await.unwrap();
        let expected = BTreeMap::from([(ActivityKind::EmailBounce, 1), (ActivityKind::NewsletterSubscription, 1)]);
        assert_eq!(counters, expected);
    }
}

/// Checks of the Redis key layout and connection handling.
mod redis_only {
    use super::*;
    use ::redis::AsyncCommands;
    use footprint::store::StoreError;

    async fn raw_connection(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
        let client = ::redis::Client::open(server.url()).expect("valid url");
        client.get_multiplexed_async_connection().await.expect("connect")
    }

    /// Runs most operations for one contact, then checks every key written.
    #[tokio::test]
    async fn every_key_has_one_hash_tag() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url(), "fp{x}:", Retention::default()).await.unwrap();
        let (contact, other) = (ContactId::new(), ContactId::new());
        let (tracker, pending_only) = (TrackerId::new(), TrackerId::new());

        store.append_pending(tracker, &visit("/p"), Duration::from_secs(3600)).await.unwrap();
        store.append_pending(pending_only, &visit("/p"), Duration::from_secs(3600)).await.unwrap();
        store.bind_tracker(tracker, contact, None).await.unwrap();
        let source = Source::Tracker { tracker, contact };
        store.append_activities(&[(source, visit("/a")), (Source::Contact(contact), visit("/b"))]).await.unwrap();
        let fields = BTreeMap::from([("email".to_owned(), "{x}@example.com".to_owned())]);
        store.set_fields(contact, &fields, false, 1).await.unwrap();
        store.record_merge(contact, other, &activity(ActivityKind::Merge, "/")).await.unwrap();
        store.set_merged_into(other, contact).await.unwrap();
        store.claim_index(IndexKind::Email, "}{x}@example.com%", contact).await.unwrap();
        store.claim_order("{order}").await.unwrap();
        store.begin_merge(MergeIntent { from: other, into: contact }).await.unwrap();
        store.add_push_subscription(contact, "{endpoint}", 1).await.unwrap();
        let segment = footprint::segments::Segment {
            id: footprint::store::SegmentId::new(),
            name: "{vip}".to_owned(),
            description: String::new(),
            kind: footprint::segments::SegmentKind::Static,
            condition: None,
            created_at: 1,
            updated_at: 1,
            created_by: "{ops}".to_owned(),
        };
        store.create_segment(&segment).await.unwrap();
        store.add_segment_member(&segment, contact, 2).await.unwrap();

        let mut connection = raw_connection(&server).await;
        let mut keys: Vec<String> = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) =
                ::redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(100).query_async(&mut connection).await.unwrap();
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }

        // Two pending keys of the unbound tracker, three tracker keys,
        // eight contact keys (the segments set among them), the merged
        // contact's hash, one index, one order, the pending-merge set, four
        // sets of the contact's list shard (the segment's bucket among
        // them) and the two segment definition hashes.
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 23, "unexpected keys: {keys:?}");
        for key in keys {
            assert_eq!(key.matches('{').count(), 1, "key {key:?}");
            assert_eq!(key.matches('}').count(), 1, "key {key:?}");
            let open = key.find('{').unwrap();
            let close = key.find('}').unwrap();
            assert!(open + 1 < close, "key {key:?} has an empty or reversed hash tag");
        }
    }

    /// Writes list entries behind the store's back: a contact that does
    /// not exist, a merged one and one whose email filter entry is stale.
    #[tokio::test]
    async fn list_skips_and_repairs_stale_entries() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url(), "fp:", Retention::default()).await.unwrap();
        let mut connection = raw_connection(&server).await;
        let (live, merged, missing) = (ContactId::new(), ContactId::new(), ContactId::new());
        store.touch(live, Source::Contact(live), 100).await.unwrap();
        store.touch(merged, Source::Contact(merged), 200).await.unwrap();
        let _: i64 = connection.hset(format!("fp:{{c:{merged}}}"), "merged_into", live.to_string()).await.unwrap();
        let shard_of = |contact: ContactId| footprint::store::keys::list_shard(contact);
        for (contact, set) in [(merged, "all"), (missing, "all"), (missing, "email"), (live, "email")] {
            let key = format!("fp:{{x:{}}}:{set}", shard_of(contact));
            let _: i64 = connection.zadd(key, contact.to_string(), 300).await.unwrap();
        }

        let listed = ids(&list_all(&store, ContactFilter::default(), 1).await);
        assert_eq!(listed, vec![live]);
        let with_email = ContactFilter { has_email: true, ..Default::default() };
        assert!(list_all(&store, with_email, 1).await.is_empty(), "the live contact has no email");

        for (contact, set) in [(merged, "all"), (missing, "all"), (missing, "email"), (live, "email")] {
            let key = format!("fp:{{x:{}}}:{set}", shard_of(contact));
            let score: Option<f64> = connection.zscore(key, contact.to_string()).await.unwrap();
            assert_eq!(score, None, "{set} entry of {contact} was not repaired");
        }
        let key = format!("fp:{{x:{}}}:all", shard_of(live));
        let score: Option<f64> = connection.zscore(key, live.to_string()).await.unwrap();
        assert_eq!(score, Some(100.0), "the repair keeps the live contact's own entry");
    }

    #[tokio::test]
    async fn list_keeps_newer_entry_against_older_refresh() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url(), "fp:", Retention::default()).await.unwrap();
        let mut connection = raw_connection(&server).await;
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), 100).await.unwrap();
        let key = format!("fp:{{x:{}}}:all", footprint::store::keys::list_shard(contact));
        // As if a refresh that read a later state had already finished.
        let _: i64 = connection.zadd(&key, contact.to_string(), 500).await.unwrap();

        store.touch(contact, Source::Contact(contact), 50).await.unwrap();

        let score: Option<f64> = connection.zscore(&key, contact.to_string()).await.unwrap();
        assert_eq!(score, Some(500.0));
    }

    #[tokio::test]
    async fn store_works_after_server_restart() {
        let mut server = RedisServer::start();
        let store = RedisStore::connect(&server.url(), "fp:", Retention::default()).await.unwrap();
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), 1).await.unwrap();

        server.restart();

        store.touch(contact, Source::Contact(contact), 2).await.expect("first operation after restart");
        let record = store.contact(contact).await.unwrap().expect("contact written after restart");
        assert_eq!(record.updated_at, 2);
        store.append_activities(&[(Source::Contact(contact), visit("/after"))]).await.unwrap();
        let page = store.activities(&[Source::Contact(contact)], &query(5)).await.unwrap();
        assert_eq!(urls(&page.items), vec!["/after"]);
    }

    #[tokio::test]
    async fn store_fails_then_recovers_when_server_down() {
        let mut server = RedisServer::start();
        let store = RedisStore::connect(&server.url(), "fp:", Retention::default()).await.unwrap();
        let contact = ContactId::new();
        store.ping().await.unwrap();

        server.stop();
        let hang_guard = Duration::from_secs(60);
        let down = tokio::time::timeout(hang_guard, store.contact(contact)).await;
        assert!(matches!(down, Ok(Err(StoreError::Redis(_)))), "expected a redis error, got {down:?}");

        server.restart();
        store.touch(contact, Source::Contact(contact), 7).await.expect("first operation after the server is back");
        let record = store.contact(contact).await.unwrap().unwrap();
        assert_eq!(record.updated_at, 7);
    }

    #[tokio::test]
    async fn corrupt_contact_is_reported() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url(), "fp:", Retention::default()).await.unwrap();
        let contact = ContactId::new();
        let mut connection = raw_connection(&server).await;
        let _: i64 = connection.hset(format!("fp:{{c:{contact}}}"), "created", "yesterday").await.unwrap();

        let error = store.contact(contact).await.err();
        assert!(matches!(error, Some(StoreError::Corrupt { what: "contact", .. })), "got {error:?}");
    }

    #[tokio::test]
    async fn corrupt_activity_is_reported() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url(), "fp:", Retention::default()).await.unwrap();
        let contact = ContactId::new();
        let mut connection = raw_connection(&server).await;
        let _: String = ::redis::cmd("XADD")
            .arg(format!("fp:{{c:{contact}}}:a"))
            .arg("*")
            .arg("a")
            .arg("not json")
            .query_async(&mut connection)
            .await
            .unwrap();

        let error = store.activities(&[Source::Contact(contact)], &query(5)).await.err();
        assert!(matches!(error, Some(StoreError::Corrupt { what: "activity", .. })), "got {error:?}");
    }
}
