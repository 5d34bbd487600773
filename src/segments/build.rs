//! Segment builds: evaluating every live contact after a dynamic segment's
//! condition is set, in a background task.
//!
//! A build pages through the contacts list (never a key scan), evaluates
//! each contact and stores its progress ([`SegmentBuild`]) after every
//! page, so the segment's JSON shows it and a restart resumes after the
//! last stored page ([`resume_all`]). Repeating a page is harmless,
//! because adding an existing member or removing a non-member records
//! nothing. A build stops when the segment is deleted or its condition
//! changes, because the change started a newer build.
//!
//! A contact that changes while the build runs moves to the front of the
//! list, behind the build's position, so the build skips it. That is fine:
//! the change itself re-evaluates the contact with the new condition.

use std::sync::Arc;

use futures_util::{StreamExt as _, TryStreamExt as _};

use super::condition;
use super::evaluator::Evaluator;
use super::rules::{Rule, Rules};
use super::Segment;
use crate::store::{BuildState, ContactId, ContactListQuery, ListPosition, SegmentBuild, SegmentId, StoreError};

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
        // A time-dependent condition changes the contact's next flip, which
        // only an evaluation of every segment computes right.
        let full = condition.depends_on_time();
        let only = Rules::only(Rule { segment: segment.clone(), condition });

        let after = build.after.as_deref().and_then(|text| text.parse::<ListPosition>().ok());
        let page = store.list_contacts(&ContactListQuery { after, limit: BUILD_PAGE, ..Default::default() }).await?;
        let contacts: Vec<ContactId> = page.items.iter().filter_map(|record| record.id).collect();
        let matched: Vec<bool> = futures_util::stream::iter(contacts)
            .map(|contact| {
                let only = &only;
                async move {
                    let evaluation = if full {
                        evaluator.evaluate(contact).await?
                    } else {
                        evaluator.evaluate_rules(contact, only, false).await?
                    };
                    Ok::<_, StoreError>(evaluation.matched.contains(&id))
                }
            })
            .buffer_unordered(CONCURRENT_EVALUATIONS)
            .try_collect()
            .await?;
        build.evaluated += matched.len() as u64;
        build.members += matched.iter().filter(|is_member| **is_member).count() as u64;

        build.after = page.next.map(|position| position.to_string());
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
