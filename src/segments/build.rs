//! Segment builds: evaluating every live contact after a dynamic segment's
//! condition is set, in a background task.
//!
//! A build pages through the contacts list one list shard after another
//! (never a key scan), evaluates each contact and stores its progress
//! ([`SegmentBuild`]) after every page, so the segment's JSON shows it and a restart resumes after the
//! last stored page ([`resume_all`]). Repeating a page is harmless,
//! because adding an existing member or removing a non-member records
//! nothing. A build stops when the segment is deleted or its condition
//! changes, because the change started a newer build.
//!
//! A contact that changes while the build runs moves to the front of the
//! list, behind the build's position, so the build skips it. That is fine:
//! the change itself re-evaluates the contact with the new condition.
//!
//! A build evaluates its own segment only. A page reads list positions
//! only, then the snapshots of its contacts in one store call. The
//! contacts of a page are evaluated several at a time. A time-dependent
//! condition lowers each contact's stored flip time to its own next flip
//! instead of recomputing it over every segment.

use std::sync::Arc;

use futures_util::{StreamExt as _, TryStreamExt as _};

use super::condition;
use super::evaluator::{decide, Evaluator};
use super::reads;
use super::rules::{Rule, Rules};
use super::Segment;
use crate::store::{
    is_listable, BuildState, ContactFilter, ContactId, Millis, SegmentBuild, SegmentId, ShardCursor, StoreError,
};

/// Contacts evaluated between two progress writes.
pub const BUILD_PAGE: usize = 200;

/// Contacts of a page evaluated at once. Contacts are independent, so
/// their store requests can overlap instead of waiting one after another.
const CONCURRENT_EVALUATIONS: usize = 16;

/// Stores a new build of `segment`'s condition and runs it in a task.
pub async fn start(evaluator: Arc<Evaluator>, segment: &Segment) -> Result<(), StoreError> {
    let Some(condition) = segment.condition.clone() else {
        return Ok(());
    };
    let build = SegmentBuild {
        state: BuildState::Running,
        condition,
        evaluated: 0,
        members: 0,
        started_at: evaluator.now(),
        finished_at: None,
        after: None,
    };
    evaluator.store().set_segment_build(segment.id, &build).await?;
    evaluator.invalidate();

    spawn(evaluator, segment.id);
    Ok(())
}

/// Resumes every build left running, by a restart or a failure.
pub async fn resume_all(evaluator: Arc<Evaluator>) -> Result<usize, StoreError> {
    let mut resumed = 0;
    for segment in evaluator.store().segments().await? {
        let build = evaluator.store().segment_build(segment.id).await?;
        if build.is_some_and(|build| build.state == BuildState::Running) {
            spawn(evaluator.clone(), segment.id);
            resumed += 1;
        }
    }
    Ok(resumed)
}

fn spawn(evaluator: Arc<Evaluator>, id: SegmentId) {
    tokio::spawn(async move {
        match run(&evaluator, id).await {
            Ok(()) => {}
            Err(error) => {
                tracing::warn!(segment.id = %id, %error, "segment build failed; it resumes at the next start")
            }
        }
    });
}

/// Runs the build of segment `id` from its stored position to the end.
pub async fn run(evaluator: &Evaluator, id: SegmentId) -> Result<(), StoreError> {
    let store = evaluator.store().clone();
    loop {
        let Some(segment) = store.segment(id).await? else {
            return Ok(());
        };
        let Some(mut build) = store.segment_build(id).await? else {
            return Ok(());
        };
        if build.state != BuildState::Running || segment.condition.as_ref() != Some(&build.condition) {
            return Ok(());
        }
        let definitions = store.field_definitions().await?;
        let condition = match condition::parse(&build.condition, &definitions) {
            Ok(condition) => condition,
            Err(error) => {
                tracing::warn!(segment.id = %id, %error, "segment build stopped: the condition no longer parses");
                build.state = BuildState::Finished;
                build.finished_at = Some(evaluator.now());
                return store.set_segment_build(id, &build).await;
            }
        };
        let only = Rules::only(Rule { segment: segment.clone(), condition });

        let cursor = ShardCursor::parse(build.after.as_deref());
        let query = cursor.query(ContactFilter::default(), BUILD_PAGE);
        let page = store.list_positions(&query).await?;
        let contacts: Vec<ContactId> = page.positions.iter().map(|position| position.id).collect();
        let matched = evaluate_page(evaluator, &only, &contacts).await?;
        build.evaluated += matched.len() as u64;
        build.members += matched.iter().filter(|is_member| **is_member).count() as u64;

        build.after = cursor.next(page.next).map(|cursor| cursor.to_string());
        if build.after.is_none() {
            build.state = BuildState::Finished;
            build.finished_at = Some(evaluator.now());
        }
        // Another build may have replaced this one during the page.
        if store.segment_build(id).await?.is_some_and(|stored| stored.started_at != build.started_at) {
            return Ok(());
        }
        store.set_segment_build(id, &build).await?;
        if build.state == BuildState::Finished {
            tracing::info!(segment.id = %id, evaluated = build.evaluated, members = build.members, "segment built");
            return Ok(());
        }
    }
}

/// Evaluates `contacts` against the one rule in `only` and applies their
/// membership changes. Returns, for each contact, whether it is a member;
/// a contact erased or merged since the list was read is not. Snapshots come in one store call for the page; activities,
/// when the condition reads any, per contact, several at once.
///
/// A time-dependent condition adds its flip times with
/// [`crate::store::Store::lower_next_flips`]: the stored times already cover
/// the other segments, so evaluating them again is not needed.
async fn evaluate_page(evaluator: &Evaluator, only: &Rules, contacts: &[ContactId]) -> Result<Vec<bool>, StoreError> {
    let store = evaluator.store().as_ref();
    let now = evaluator.now();
    let snapshots = store.contact_snapshots(contacts).await?;

    let outcomes: Vec<Outcome> = futures_util::stream::iter(contacts.iter().copied().zip(snapshots))
        .map(|(contact, snapshot)| async move {
            let Some(record) = snapshot.record.filter(is_listable) else {
                return Ok(Outcome { member: false, flip: None });
            };
            let view =
                reads::view_with(store, record, snapshot.push_subscriptions, &snapshot.sources, &only.needs, now)
                    .await?;
            let decision = decide(only, &view, &snapshot.segments, now);

            store.change_segment_members(contact, &decision.changes, now).await?;
            let flip = decision.next_flip.map(|at| (contact, at));
            Ok::<_, StoreError>(Outcome { member: !decision.matched.is_empty(), flip })
        })
        .buffer_unordered(CONCURRENT_EVALUATIONS)
        .try_collect()
        .await?;

    let flips: Vec<(ContactId, Millis)> = outcomes.iter().filter_map(|outcome| outcome.flip).collect();
    store.lower_next_flips(&flips).await?;
    Ok(outcomes.iter().map(|outcome| outcome.member).collect())
}

/// One contact's result in a build page.
struct Outcome {
    member: bool,
    /// The contact and the time this segment's result can next change.
    flip: Option<(ContactId, Millis)>,
}
