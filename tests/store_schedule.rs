//! The store contract for dynamic segment evaluation on both backends:
//! build progress, the next-flip schedule and leases. Also a build that
//! resumes from its stored position.

mod support;

use std::sync::Arc;
use std::time::Duration;

use footprint::segments::{build, Evaluator, ManualClock, Segment, SegmentKind};
use footprint::store::{
    flip_bucket, now_millis, ActivityKind, ActivityQuery, BuildState, ContactId, ContactListQuery, SegmentBuild,
    SegmentId, SegmentWrite, Source, Store,
};
use serde_json::json;

on_both_stores!(
    build_progress_round_trips,
    due_flips_follow_schedule,
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
    let mut contacts = Vec::new();
    for index in 0..5 {
        let contact = ContactId::new();
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

    // A build interrupted after the first two contacts of the list.
    let page = store.list_contacts(&ContactListQuery { limit: 2, ..Default::default() }).await.expect("page");
    let mut interrupted = progress(condition);
    interrupted.evaluated = 2;
    interrupted.after = page.next.map(|position| position.to_string());
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
