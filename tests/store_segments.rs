//! The store contract for segments, on both backends, and the Redis
//! layout of segment indexes.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use footprint::segments::{Segment, SegmentKind, MAX_SEGMENTS};
use footprint::store::keys::{list_shard, LIST_SHARDS};
use footprint::store::redis::RedisStore;
use footprint::store::{
    ActivityKind, ActivityQuery, ContactFilter, ContactId, ContactListQuery, ContactSnapshot, ListPosition, Retention,
    SegmentChange, SegmentId, SegmentWrite, Source, StatusUpdate, Store, SEGMENT_DELETE_CHUNK,
};
use redis::AsyncCommands;
use serde_json::json;
use support::redis::RedisServer;

on_both_stores!(
    segments_start_empty,
    create_then_read_ordered_by_name,
    create_rejects_taken_name,
    create_stops_at_limit,
    replace_renames_and_frees_old_name,
    replace_rejects_taken_name_or_unknown_id,
    add_member_once_with_activity,
    add_member_needs_live_contact,
    remove_member_once_with_activity,
    batched_changes_apply_in_order,
    batched_changes_need_live_contact,
    snapshot_reads_what_evaluation_needs,
    members_page_newest_first_without_gaps,
    members_move_when_contact_changes,
    member_order_follows_every_change,
    segment_filter_combines_with_others,
    size_counts_members,
    delete_segment_clears_memberships,
    delete_segment_handles_more_than_a_chunk,
    leave_all_segments_clears_memberships,
    delete_contact_leaves_its_segments,
);

/// Pages a list can have at most before the test calls the paging stuck.
const MAX_PAGES: usize = 1000;

fn segment(name: &str, kind: SegmentKind) -> Segment {
    Segment {
        id: SegmentId::new(),
        name: name.to_owned(),
        description: format!("Description of {name}"),
        kind,
        condition: kind.ne(&SegmentKind::Static).then(|| json!({"all": [{"field": "city", "eq": "Madrid"}]})),
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_001,
        created_by: "ops".to_owned(),
    }
}

async fn create(store: &dyn Store, segment: &Segment) {
    let outcome = store.create_segment(segment).await.expect("create");
    assert_eq!(outcome, SegmentWrite::Written, "creating {}", segment.name);
}

async fn contact_at(store: &dyn Store, at: i64) -> ContactId {
    let contact = ContactId::new();
    store.touch(contact, Source::Contact(contact), at).await.expect("touch");
    contact
}

fn members_filter(segment: SegmentId) -> ContactFilter {
    ContactFilter { segment: Some(segment), ..ContactFilter::default() }
}

/// Reads every page of the list with `filter`, checking that pages are
/// newest first and continue below each other.
async fn list_all(store: &dyn Store, filter: ContactFilter, limit: usize) -> Vec<ListPosition> {
    let mut query = ContactListQuery { filter, after: None, limit };
    let mut positions: Vec<ListPosition> = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = store.list_contacts(&query).await.expect("read a list page");
        assert!(page.items.len() <= limit, "page longer than the limit");
        for record in &page.items {
            let position = ListPosition { updated_at: record.updated_at, id: record.id.expect("id") };
            if let Some(previous) = positions.last() {
                assert!(position < *previous, "entries not strictly newest first");
            }
            positions.push(position);
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return positions,
        }
    }
    panic!("list paging did not end after {MAX_PAGES} pages");
}

async fn member_ids(store: &dyn Store, segment: SegmentId) -> Vec<ContactId> {
    list_all(store, members_filter(segment), 2).await.iter().map(|position| position.id).collect()
}

async fn own_activities(store: &dyn Store, contact: ContactId) -> Vec<(ActivityKind, String, String)> {
    let page = store.activities(&[Source::Contact(contact)], &ActivityQuery::default()).await.expect("activities");
    page.items
        .iter()
        .map(|item| {
            let property = |name: &str| item.activity.properties.get(name).cloned().unwrap_or_default();
            (item.activity.kind, property("segment_id"), property("segment_name"))
        })
        .collect()
}

async fn segments_start_empty(store: Arc<dyn Store>) {
    assert!(store.segments().await.expect("list").is_empty());
    assert_eq!(store.segment(SegmentId::new()).await.expect("get"), None);
    assert_eq!(store.segment_size(SegmentId::new()).await.expect("size"), 0);
}

async fn create_then_read_ordered_by_name(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    let madrid = segment("Madrid buyers", SegmentKind::DynamicPlus);

    create(&*store, &vip).await;
    create(&*store, &madrid).await;

    let all = store.segments().await.expect("list");
    let names: Vec<&str> = all.iter().map(|segment| segment.name.as_str()).collect();
    assert_eq!(names, ["Madrid buyers", "vip"]);
    assert_eq!(all[0], madrid, "every member round-trips, the condition included");
    assert_eq!(store.segment(vip.id).await.expect("get"), Some(vip));
}

async fn create_rejects_taken_name(store: Arc<dyn Store>) {
    create(&*store, &segment("vip", SegmentKind::Static)).await;

    let outcome = store.create_segment(&segment("vip", SegmentKind::Dynamic)).await.expect("create");

    assert_eq!(outcome, SegmentWrite::NameTaken);
    assert_eq!(store.segments().await.expect("list").len(), 1);
}

async fn create_stops_at_limit(store: Arc<dyn Store>) {
    for number in 0..MAX_SEGMENTS {
        create(&*store, &segment(&format!("segment {number}"), SegmentKind::Static)).await;
    }

    let outcome = store.create_segment(&segment("one too many", SegmentKind::Static)).await.expect("create");

    assert_eq!(outcome, SegmentWrite::Full);
    assert_eq!(store.segments().await.expect("list").len(), MAX_SEGMENTS);
}

async fn replace_renames_and_frees_old_name(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let renamed = Segment { name: "gold".to_owned(), description: String::new(), updated_at: 5, ..vip.clone() };

    assert_eq!(store.replace_segment(&renamed).await.expect("replace"), SegmentWrite::Written);
    assert_eq!(store.replace_segment(&renamed).await.expect("repeat"), SegmentWrite::Written, "idempotent");

    assert_eq!(store.segment(vip.id).await.expect("get"), Some(renamed));
    create(&*store, &segment("vip", SegmentKind::Static)).await;
}

async fn replace_rejects_taken_name_or_unknown_id(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    let gold = segment("gold", SegmentKind::Static);
    create(&*store, &vip).await;
    create(&*store, &gold).await;

    let clash = Segment { name: "gold".to_owned(), ..vip.clone() };
    assert_eq!(store.replace_segment(&clash).await.expect("replace"), SegmentWrite::NameTaken);
    let unknown = segment("new", SegmentKind::Static);
    assert_eq!(store.replace_segment(&unknown).await.expect("replace"), SegmentWrite::NotFound);

    assert_eq!(store.segment(vip.id).await.expect("get"), Some(vip));
    assert_eq!(store.segment(unknown.id).await.expect("get"), None);
}

async fn add_member_once_with_activity(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let contact = contact_at(&*store, 1000).await;

    assert!(store.add_segment_member(&vip, contact, 2000).await.expect("add"), "first add changes");
    assert!(!store.add_segment_member(&vip, contact, 3000).await.expect("add"), "second add changes nothing");

    assert_eq!(store.contact_segments(contact).await.expect("segments"), vec![vip.id]);
    let activities = own_activities(&*store, contact).await;
    assert_eq!(activities, vec![(ActivityKind::SegmentEntered, vip.id.to_string(), "vip".to_owned())]);
    let counters = store.counters(&store.sources(contact).await.expect("sources")).await.expect("counters");
    assert_eq!(counters.get(&ActivityKind::SegmentEntered), Some(&1), "the own stream is a source");
    let record = store.contact(contact).await.expect("read").expect("exists");
    assert_eq!(record.updated_at, 2000, "entering raises updated_at once");
}

async fn add_member_needs_live_contact(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let (missing, merged) = (ContactId::new(), contact_at(&*store, 1000).await);
    let survivor = contact_at(&*store, 1000).await;
    store.set_merged_into(merged, survivor).await.expect("merge pointer");

    assert!(!store.add_segment_member(&vip, missing, 2000).await.expect("add"));
    assert!(!store.add_segment_member(&vip, merged, 2000).await.expect("add"));

    assert_eq!(store.contact(missing).await.expect("read"), None, "no contact is created");
    assert!(store.contact_segments(merged).await.expect("segments").is_empty());
    assert_eq!(store.segment_size(vip.id).await.expect("size"), 0);
}

async fn remove_member_once_with_activity(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let contact = contact_at(&*store, 1000).await;
    store.add_segment_member(&vip, contact, 2000).await.expect("add");

    assert!(store.remove_segment_member(&vip, contact, 3000).await.expect("remove"), "first remove changes");
    assert!(!store.remove_segment_member(&vip, contact, 4000).await.expect("remove"), "second changes nothing");

    assert!(store.contact_segments(contact).await.expect("segments").is_empty());
    assert!(member_ids(&*store, vip.id).await.is_empty());
    let kinds: Vec<ActivityKind> = own_activities(&*store, contact).await.into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds, vec![ActivityKind::SegmentLeft, ActivityKind::SegmentEntered]);
    let listed: Vec<ContactId> =
        list_all(&*store, ContactFilter::default(), 10).await.iter().map(|position| position.id).collect();
    assert_eq!(listed, vec![contact], "leaving a segment keeps the contact listed");
}

async fn batched_changes_apply_in_order(store: Arc<dyn Store>) {
    let (vip, buyers, lapsed) = (
        segment("vip", SegmentKind::Dynamic),
        segment("buyers", SegmentKind::Dynamic),
        segment("lapsed", SegmentKind::Dynamic),
    );
    for each in [&vip, &buyers, &lapsed] {
        create(&*store, each).await;
    }
    let contact = contact_at(&*store, 1000).await;
    store.add_segment_member(&lapsed, contact, 1500).await.expect("add");

    let changes = [SegmentChange::Enter(&vip), SegmentChange::Enter(&buyers), SegmentChange::Leave(&lapsed)];
    let changed = store.change_segment_members(contact, &changes, 2000).await.expect("first batch");
    assert_eq!(changed, vec![true, true, true]);
    let changes = [SegmentChange::Enter(&vip), SegmentChange::Leave(&buyers), SegmentChange::Leave(&lapsed)];
    let changed = store.change_segment_members(contact, &changes, 3000).await.expect("second batch");
    assert_eq!(changed, vec![false, true, false], "only the change to buyers changes anything");

    assert_eq!(store.contact_segments(contact).await.expect("segments"), vec![vip.id]);
    assert_eq!(member_ids(&*store, vip.id).await, vec![contact]);
    assert!(member_ids(&*store, buyers.id).await.is_empty(), "the index follows the leave");
    assert!(member_ids(&*store, lapsed.id).await.is_empty(), "the index follows the leave");
    let recorded: Vec<(ActivityKind, String)> =
        own_activities(&*store, contact).await.into_iter().map(|(kind, id, _)| (kind, id)).collect();
    assert_eq!(
        recorded,
        vec![
            (ActivityKind::SegmentLeft, buyers.id.to_string()),
            (ActivityKind::SegmentLeft, lapsed.id.to_string()),
            (ActivityKind::SegmentEntered, buyers.id.to_string()),
            (ActivityKind::SegmentEntered, vip.id.to_string()),
            (ActivityKind::SegmentEntered, lapsed.id.to_string()),
        ],
        "one activity per change that changed something, newest first"
    );
    let record = store.contact(contact).await.expect("read").expect("exists");
    assert_eq!(record.updated_at, 3000, "the last change raised updated_at");
    let listed = list_all(&*store, ContactFilter::default(), 10).await;
    assert_eq!(listed, vec![ListPosition { updated_at: 3000, id: contact }], "the list follows updated_at");
}

async fn batched_changes_need_live_contact(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Dynamic);
    create(&*store, &vip).await;
    let missing = ContactId::new();

    let changed = store.change_segment_members(missing, &[SegmentChange::Enter(&vip)], 2000).await.expect("batch");

    assert_eq!(changed, vec![false]);
    assert_eq!(store.contact(missing).await.expect("read"), None, "no contact is created");
    assert_eq!(store.segment_size(vip.id).await.expect("size"), 0);
    assert!(store.change_segment_members(missing, &[], 2000).await.expect("empty batch").is_empty());
}

async fn snapshot_reads_what_evaluation_needs(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let contact = contact_at(&*store, 1000).await;
    store.add_segment_member(&vip, contact, 2000).await.expect("add");
    store.add_push_subscription(contact, "endpoint-1", 2000).await.expect("push");
    store.set_next_flip(contact, Some(9000)).await.expect("schedule");

    let snapshot = store.contact_snapshot(contact).await.expect("snapshot");

    assert_eq!(snapshot.record, store.contact(contact).await.expect("read"));
    assert_eq!(snapshot.push_subscriptions, 1);
    assert_eq!(snapshot.sources, store.sources(contact).await.expect("sources"));
    assert_eq!(snapshot.segments, vec![vip.id]);
    assert_eq!(store.next_flip(contact).await.expect("next flip"), Some(9000));
    let missing = store.contact_snapshot(ContactId::new()).await.expect("snapshot of a missing contact");
    assert_eq!(missing, ContactSnapshot::default());
}

async fn members_page_newest_first_without_gaps(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let mut members = Vec::new();
    for offset in 0..7 {
        let contact = contact_at(&*store, 1000 + offset).await;
        store.add_segment_member(&vip, contact, 1000 + offset).await.expect("add");
        members.push(contact);
    }
    let _outsider = contact_at(&*store, 5000).await;
    members.reverse();

    assert_eq!(member_ids(&*store, vip.id).await, members, "pages of 2 list every member once, newest first");
}

async fn members_move_when_contact_changes(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let (older, newer) = (contact_at(&*store, 1000).await, contact_at(&*store, 2000).await);
    store.add_segment_member(&vip, older, 1000).await.expect("add");
    store.add_segment_member(&vip, newer, 2000).await.expect("add");
    let first = store
        .list_contacts(&ContactListQuery { filter: members_filter(vip.id), after: None, limit: 1 })
        .await
        .expect("first page");
    assert_eq!(first.items.iter().map(|record| record.id).collect::<Vec<_>>(), vec![Some(newer)]);

    let fields = [("email".to_owned(), "old@example.com".to_owned())].into_iter().collect();
    store.set_fields(older, &fields, false, 3000).await.expect("set fields");

    let rest = store
        .list_contacts(&ContactListQuery { filter: members_filter(vip.id), after: first.next, limit: 10 })
        .await
        .expect("second page");
    assert!(rest.items.is_empty(), "a member updated between pages moves ahead and is not repeated");
    assert_eq!(member_ids(&*store, vip.id).await, vec![older, newer], "a new pass shows the new order");
}

/// Checks that each kind of change that raises a contact's `updated_at`
/// also moves the contact in its segments.
async fn member_order_follows_every_change(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let (changed, other) = (contact_at(&*store, 1000).await, contact_at(&*store, 1500).await);
    store.add_segment_member(&vip, changed, 1000).await.expect("add");
    store.add_segment_member(&vip, other, 1500).await.expect("add");

    let mut at = 2000;
    for change in ["touch", "set_fields", "push", "statuses"] {
        at += 1000;
        match change {
            "touch" => store.touch(changed, Source::Contact(changed), at).await.expect("touch"),
            "set_fields" => {
                let fields = [("first_name".to_owned(), format!("Ana {at}"))].into_iter().collect();
                store.set_fields(changed, &fields, false, at).await.expect("set fields")
            }
            "push" => {
                store.add_push_subscription(changed, &format!("endpoint-{at}"), at).await.expect("push");
            }
            _ => {
                let update = StatusUpdate {
                    changes: [("newsletter".to_owned(), Some(format!("subscribed {at}")))].into_iter().collect(),
                    at,
                    ..StatusUpdate::default()
                };
                assert!(store.update_statuses(changed, &update).await.expect("statuses"), "{change}");
            }
        }
        // The order comes from the index scores, so a score left behind
        // would list the other member first.
        let positions = list_all(&*store, members_filter(vip.id), 10).await;
        assert_eq!(positions[0], ListPosition { updated_at: at, id: changed }, "after {change}");
        assert_eq!(positions[1].id, other, "after {change}");
    }
}

async fn segment_filter_combines_with_others(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let (plain, with_email, with_both, outsider) = (
        contact_at(&*store, 1000).await,
        contact_at(&*store, 1001).await,
        contact_at(&*store, 1002).await,
        contact_at(&*store, 1003).await,
    );
    let email = |address: &str| [("email".to_owned(), address.to_owned())].into_iter().collect();
    store.set_fields(with_email, &email("a@example.com"), false, 1001).await.expect("fields");
    store.set_fields(with_both, &email("b@example.com"), false, 1002).await.expect("fields");
    store.set_fields(outsider, &email("c@example.com"), false, 1003).await.expect("fields");
    store.add_push_subscription(with_both, "endpoint-1", 1002).await.expect("push");
    for contact in [plain, with_email, with_both] {
        store.add_segment_member(&vip, contact, 1).await.expect("add");
    }

    let cases = [
        (ContactFilter { has_email: true, ..members_filter(vip.id) }, vec![with_both, with_email]),
        (ContactFilter { has_push: true, ..members_filter(vip.id) }, vec![with_both]),
        (ContactFilter { has_email: true, has_push: true, ..members_filter(vip.id) }, vec![with_both]),
        (ContactFilter { has_cellphone: true, ..members_filter(vip.id) }, vec![]),
    ];
    for (filter, expected) in cases {
        let listed: Vec<ContactId> = list_all(&*store, filter, 1).await.iter().map(|position| position.id).collect();
        assert_eq!(listed, expected, "{filter:?}");
    }
}

async fn size_counts_members(store: Arc<dyn Store>) {
    let (vip, gold) = (segment("vip", SegmentKind::Static), segment("gold", SegmentKind::Static));
    create(&*store, &vip).await;
    create(&*store, &gold).await;
    for offset in 0..5 {
        let contact = contact_at(&*store, 1000 + offset).await;
        store.add_segment_member(&vip, contact, 1000).await.expect("add");
        if offset < 2 {
            store.add_segment_member(&gold, contact, 1000).await.expect("add");
        }
    }

    assert_eq!(store.segment_size(vip.id).await.expect("size"), 5);
    assert_eq!(store.segment_size(gold.id).await.expect("size"), 2);
}

async fn delete_segment_clears_memberships(store: Arc<dyn Store>) {
    let (vip, gold) = (segment("vip", SegmentKind::Static), segment("gold", SegmentKind::Static));
    create(&*store, &vip).await;
    create(&*store, &gold).await;
    let contact = contact_at(&*store, 1000).await;
    store.add_segment_member(&vip, contact, 1000).await.expect("add");
    store.add_segment_member(&gold, contact, 1000).await.expect("add");

    assert_eq!(store.delete_segment(vip.id).await.expect("delete"), Some(vip.clone()));
    assert_eq!(store.delete_segment(vip.id).await.expect("repeat"), None);

    assert_eq!(store.segment(vip.id).await.expect("get"), None);
    assert_eq!(store.contact_segments(contact).await.expect("segments"), vec![gold.id]);
    assert_eq!(store.segment_size(vip.id).await.expect("size"), 0);
    assert!(member_ids(&*store, vip.id).await.is_empty());
    assert_eq!(member_ids(&*store, gold.id).await, vec![contact], "other segments keep their members");
    create(&*store, &segment("vip", SegmentKind::Static)).await;
}

/// Contacts whose ids share their last byte land in one list shard, so one
/// bucket contains more members than one deletion round removes.
async fn delete_segment_handles_more_than_a_chunk(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let count = SEGMENT_DELETE_CHUNK + 20;
    let mut members = Vec::new();
    for number in 0..count {
        let contact = ContactId(uuid::Uuid::from_u128((0x7000_u128 + number as u128) << 8));
        store.touch(contact, Source::Contact(contact), 1000).await.expect("touch");
        store.add_segment_member(&vip, contact, 1000).await.expect("add");
        members.push(contact);
    }
    assert_eq!(store.segment_size(vip.id).await.expect("size"), count as u64);

    store.delete_segment(vip.id).await.expect("delete");

    assert_eq!(store.segment_size(vip.id).await.expect("size"), 0);
    for contact in [members[0], members[count / 2], members[count - 1]] {
        assert!(store.contact_segments(contact).await.expect("segments").is_empty(), "{contact}");
    }
}

async fn leave_all_segments_clears_memberships(store: Arc<dyn Store>) {
    let (vip, gold) = (segment("vip", SegmentKind::Static), segment("gold", SegmentKind::Static));
    create(&*store, &vip).await;
    create(&*store, &gold).await;
    let contact = contact_at(&*store, 1000).await;
    store.add_segment_member(&vip, contact, 1000).await.expect("add");
    store.add_segment_member(&gold, contact, 1000).await.expect("add");

    let left: BTreeSet<SegmentId> = store.leave_all_segments(contact).await.expect("leave").into_iter().collect();

    assert_eq!(left, BTreeSet::from([vip.id, gold.id]));
    assert!(store.contact_segments(contact).await.expect("segments").is_empty());
    assert_eq!(store.segment_size(vip.id).await.expect("size"), 0);
    assert_eq!(store.segment_size(gold.id).await.expect("size"), 0);
    let kinds: Vec<ActivityKind> = own_activities(&*store, contact).await.into_iter().map(|(kind, ..)| kind).collect();
    assert!(!kinds.contains(&ActivityKind::SegmentLeft), "leaving all records no activity");
}

async fn delete_contact_leaves_its_segments(store: Arc<dyn Store>) {
    let vip = segment("vip", SegmentKind::Static);
    create(&*store, &vip).await;
    let (erased, kept) = (contact_at(&*store, 1000).await, contact_at(&*store, 1001).await);
    store.add_segment_member(&vip, erased, 1000).await.expect("add");
    store.add_segment_member(&vip, kept, 1001).await.expect("add");

    store.delete_contact(erased).await.expect("delete");

    assert!(store.contact_segments(erased).await.expect("segments").is_empty());
    assert_eq!(store.segment_size(vip.id).await.expect("size"), 1);
    assert_eq!(member_ids(&*store, vip.id).await, vec![kept]);
}

async fn raw_connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(server.url()).expect("valid url");
    client.get_multiplexed_async_connection().await.expect("connect")
}

async fn redis_store(server: &RedisServer) -> RedisStore {
    RedisStore::connect(&server.url(), "fp:", Retention::default()).await.expect("connect")
}

#[tokio::test]
async fn redis_members_spread_over_shard_buckets() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let mut connection = raw_connection(&server).await;
    let vip = segment("vip", SegmentKind::Static);
    create(&store, &vip).await;
    let mut shards = BTreeSet::new();
    for _ in 0..64 {
        let contact = contact_at(&store, 1000).await;
        store.add_segment_member(&vip, contact, 1000).await.expect("add");
        shards.insert(list_shard(contact));
    }

    let mut buckets = Vec::new();
    for shard in 0..LIST_SHARDS {
        let key = format!("fp:{{x:{shard}}}:s:{}", vip.id);
        let size: u64 = connection.zcard(&key).await.expect("ZCARD");
        if size > 0 {
            buckets.push(shard);
        }
    }
    assert!(buckets.len() > 1, "64 members all landed in one bucket");
    assert_eq!(buckets.into_iter().collect::<BTreeSet<u8>>(), shards, "each member sits in its contact's shard");
}

/// Writes segment entries behind the store's back: a contact whose set
/// does not name the segment, and one that does not exist.
#[tokio::test]
async fn redis_members_skip_and_remove_stale_entries() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let mut connection = raw_connection(&server).await;
    let vip = segment("vip", SegmentKind::Static);
    create(&store, &vip).await;
    let (member, left, missing) = (contact_at(&store, 1000).await, contact_at(&store, 1001).await, ContactId::new());
    store.add_segment_member(&vip, member, 1000).await.expect("add");
    let bucket = |contact: ContactId| format!("fp:{{x:{}}}:s:{}", list_shard(contact), vip.id);
    for contact in [left, missing] {
        let _: i64 = connection.zadd(bucket(contact), contact.to_string(), 5000).await.expect("ZADD");
    }
    assert_eq!(store.segment_size(vip.id).await.expect("size"), 3, "the size counts stale entries");

    assert_eq!(member_ids(&store, vip.id).await, vec![member]);

    for contact in [left, missing] {
        let score: Option<f64> = connection.zscore(bucket(contact), contact.to_string()).await.expect("ZSCORE");
        assert_eq!(score, None, "stale entry of {contact} was not removed");
    }
    assert_eq!(store.segment_size(vip.id).await.expect("size"), 1);
}

/// A crash after the contact's set changed but before its index entry was
/// written leaves the index behind; the contact's next change repairs it.
#[tokio::test]
async fn redis_next_change_repairs_missing_entry() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let mut connection = raw_connection(&server).await;
    let vip = segment("vip", SegmentKind::Static);
    create(&store, &vip).await;
    let contact = contact_at(&store, 1000).await;
    let _: i64 = connection.sadd(format!("fp:{{c:{contact}}}:segments"), vip.id.to_string()).await.expect("SADD");
    assert!(member_ids(&store, vip.id).await.is_empty(), "the index has no entry yet");

    store.touch(contact, Source::Contact(contact), 2000).await.expect("touch");

    assert_eq!(member_ids(&store, vip.id).await, vec![contact]);
}
