//! The store contract for dynamic segment evaluation on both backends:
//! build progress, the next-flip schedule, leases, batched snapshots and
//! the contacts list of one shard. Also a build that resumes from its
//! stored position.

mod support;

use std::sync::Arc;
use std::time::Duration;

use footprint::segments::{build, Evaluator, ManualClock, Segment, SegmentKind};
use footprint::store::keys::{list_shard, LIST_SHARDS};
use footprint::store::{
    flip_bucket, now_millis, ActivityKind, ActivityQuery, BuildState, ContactFilter, ContactId, ContactListQuery,
    SegmentBuild, SegmentId, SegmentWrite, Source, Store,
};
use serde_json::json;

on_both_stores!(
    build_progress_round_trips,
    due_flips_follow_schedule,
    lowering_flips_keeps_earlier_times,
    snapshots_match_single_reads,
    shard_filter_splits_the_list,
    lease_excludes_other_owner,
    build_resumes_after_stored_position,
);

fn progress(condition: serde_json::Value) -> SegmentBuild {
    SegmentBuild {
        state: BuildState::Running,
        condition,
        evaluated: 0,
        members: 0,
        started_at: 1_000,
        finished_at: None,
        after: None,
    }
}

async fn build_progress_round_trips(store: Arc<dyn Store>) {
    let id = SegmentId::new();
    assert_eq!(store.segment_build(id).await.expect("read"), None);

    let mut build = progress(json!({ "field": "first_name", "op": "is_set" }));
    store.set_segment_build(id, &build).await.expect("stored");
    build.evaluated = 7;
    build.state = BuildState::Finished;
    build.finished_at = Some(2_000);
    store.set_segment_build(id, &build).await.expect("replaced");

    assert_eq!(store.segment_build(id).await.expect("read"), Some(build));
}

/// Returns two contacts in the same schedule bucket.
fn same_bucket_pair() -> (ContactId, ContactId) {
    let first = ContactId::new();
    loop {
        let second = ContactId::new();
        if flip_bucket(second) == flip_bucket(first) {
            return (first, second);
        }
    }
}

async fn due_flips_follow_schedule(store: Arc<dyn Store>) {
    let (early, late) = same_bucket_pair();
    let bucket = flip_bucket(early);
    store.set_next_flip(late, Some(200)).await.expect("scheduled");
    store.set_next_flip(early, Some(100)).await.expect("scheduled");

    assert_eq!(store.due_flips(bucket, 99, 10).await.expect("due"), Vec::<ContactId>::new());
    assert_eq!(store.due_flips(bucket, 100, 10).await.expect("due"), vec![early], "due at its moment");
    assert_eq!(store.due_flips(bucket, 500, 10).await.expect("due"), vec![early, late], "earliest first");
    assert_eq!(store.due_flips(bucket, 500, 1).await.expect("due"), vec![early], "limited");

    store.set_next_flip(early, Some(300)).await.expect("moved");
    assert_eq!(store.due_flips(bucket, 250, 10).await.expect("due"), vec![late], "a new time replaces the old");
    store.set_next_flip(late, None).await.expect("removed");
    store.set_next_flip(late, None).await.expect("removing again is harmless");
    assert_eq!(store.due_flips(bucket, 1_000, 10).await.expect("due"), vec![early]);
}

async fn lowering_flips_keeps_earlier_times(store: Arc<dyn Store>) {
    let (earlier, later) = same_bucket_pair();
    let unscheduled = ContactId::new();
    store.set_next_flip(earlier, Some(100)).await.expect("scheduled");
    store.set_next_flip(later, Some(500)).await.expect("scheduled");

    let flips = [(earlier, 300), (later, 200), (unscheduled, 400)];
    store.lower_next_flips(&flips).await.expect("lowered");
    store.lower_next_flips(&flips).await.expect("lowering again changes nothing");

    assert_eq!(store.next_flip(earlier).await.expect("read"), Some(100), "an earlier time stays");
    assert_eq!(store.next_flip(later).await.expect("read"), Some(200), "a later time moves earlier");
    assert_eq!(store.next_flip(unscheduled).await.expect("read"), Some(400), "a missing time is added");
    assert_eq!(store.due_flips(flip_bucket(later), 250, 10).await.expect("due"), vec![earlier, later]);
    store.lower_next_flips(&[]).await.expect("an empty batch is fine");
}

async fn snapshots_match_single_reads(store: Arc<dyn Store>) {
    let named = ContactId::new();
    let fields = [("first_name".to_owned(), "Ana".to_owned())].into_iter().collect();
    store.set_fields(named, &fields, false, now_millis()).await.expect("contact stored");
    store.add_push_subscription(named, "endpoint-1", now_millis()).await.expect("push stored");
    let touched = ContactId::new();
    store.touch(touched, Source::Contact(touched), now_millis()).await.expect("contact stored");
    let missing = ContactId::new();

    let contacts = [touched, missing, named];
    let snapshots = store.contact_snapshots(&contacts).await.expect("snapshots");

    assert_eq!(snapshots.len(), 3);
    for (contact, snapshot) in contacts.iter().zip(&snapshots) {
        assert_eq!(*snapshot, store.contact_snapshot(*contact).await.expect("snapshot"), "contact {contact}");
    }
    assert!(snapshots[1].record.is_none(), "a missing contact has no record");
    assert_eq!(snapshots[2].push_subscriptions, 1);
    assert!(store.contact_snapshots(&[]).await.expect("no contacts").is_empty());
}

async fn shard_filter_splits_the_list(store: Arc<dyn Store>) {
    let mut stored = Vec::new();
    for index in 0..40 {
        let contact = ContactId::new();
        store.touch(contact, Source::Contact(contact), now_millis() + index).await.expect("contact stored");
        stored.push(contact);
    }

    let mut listed = Vec::new();
    for shard in 0..LIST_SHARDS {
        let mut after = None;
        loop {
            let filter = ContactFilter { shard: Some(shard), ..ContactFilter::default() };
            let page = store.list_contacts(&ContactListQuery { filter, after, limit: 3 }).await.expect("page");
            for record in &page.items {
                let contact = record.id.expect("listed contacts have ids");
                assert_eq!(list_shard(contact), shard, "contact {contact} listed in the wrong shard");
                listed.push(contact);
            }
            after = page.next;
            if after.is_none() {
                break;
            }
        }
    }

    listed.sort();
    stored.sort();
    assert_eq!(listed, stored, "the shards together list every contact once");
}

async fn lease_excludes_other_owner(store: Arc<dyn Store>) {
    let ttl = Duration::from_secs(30);
    assert!(store.acquire_lease("flips:3", "a", ttl).await.expect("lease"));
    assert!(store.acquire_lease("flips:3", "a", ttl).await.expect("lease"), "the holder extends it");
    assert!(!store.acquire_lease("flips:3", "b", ttl).await.expect("lease"));
    assert!(store.acquire_lease("flips:4", "b", ttl).await.expect("lease"), "leases are per name");

    store.release_lease("flips:3", "b").await.expect("release");
    assert!(!store.acquire_lease("flips:3", "b", ttl).await.expect("lease"), "only the holder releases");
    store.release_lease("flips:3", "a").await.expect("release");
    assert!(store.acquire_lease("flips:3", "b", ttl).await.expect("lease"));

    assert!(store.acquire_lease("short", "a", Duration::from_millis(50)).await.expect("lease"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(store.acquire_lease("short", "b", ttl).await.expect("lease"), "an expired lease is free");
}

async fn build_resumes_after_stored_position(store: Arc<dyn Store>) {
    let clock = Arc::new(ManualClock::new(now_millis()));
    let evaluator = Arc::new(Evaluator::new(store.clone(), clock));
    // Every contact in one list shard, so that the interruption below
    // falls inside that shard.
    let shard = 3;
    let mut contacts = Vec::new();
    for index in 0..5 {
        let contact = loop {
            let contact = ContactId::new();
            if list_shard(contact) == shard {
                break contact;
            }
        };
        let fields = [("first_name".to_owned(), "Ana".to_owned())].into_iter().collect();
        store.set_fields(contact, &fields, false, now_millis() + index).await.expect("contact stored");
        contacts.push(contact);
    }
    let condition = json!({ "field": "first_name", "op": "equals", "value": "Ana" });
    let segment = Segment {
        id: SegmentId::new(),
        name: "Anas".to_owned(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        condition: Some(condition.clone()),
        created_at: now_millis(),
        updated_at: now_millis(),
        created_by: "test".to_owned(),
    };
    assert_eq!(store.create_segment(&segment).await.expect("stored"), SegmentWrite::Written);

    // A build interrupted after the first two contacts of the shard. A
    // build's position is `<shard>/<list position>`.
    let filter = ContactFilter { shard: Some(shard), ..ContactFilter::default() };
    let page = store.list_contacts(&ContactListQuery { filter, after: None, limit: 2 }).await.expect("page");
    let mut interrupted = progress(condition);
    interrupted.evaluated = 2;
    interrupted.after = page.next.map(|position| format!("{shard}/{position}"));
    store.set_segment_build(segment.id, &interrupted).await.expect("stored");

    build::run(&evaluator, segment.id).await.expect("build finished");

    let finished = store.segment_build(segment.id).await.expect("read").expect("a build");
    assert_eq!(finished.state, BuildState::Finished);
    assert_eq!(finished.evaluated, 5, "two before the interruption, three after");
    assert_eq!(finished.members, 3);
    assert_eq!(store.segment_size(segment.id).await.expect("size"), 3, "the first two were never evaluated");

    // Building again from the start adds the rest and records each entry once.
    store.set_segment_build(segment.id, &progress(segment.condition.clone().expect("condition"))).await.expect("reset");
    build::run(&evaluator, segment.id).await.expect("build finished");
    assert_eq!(store.segment_size(segment.id).await.expect("size"), 5);
    for contact in contacts {
        let sources = vec![Source::Contact(contact)];
        let query = ActivityQuery { kinds: [ActivityKind::SegmentEntered].into(), ..ActivityQuery::default() };
        let entered = store.activities(&sources, &query).await.expect("timeline").items.len();
        assert_eq!(entered, 1, "contact {contact}");
    }
}
