//! The evaluator: keeps one contact's dynamic memberships current.
//!
//! Every change to a contact (an activity the recorder wrote, an
//! identification or merge, an admin edit, a status or push change) calls
//! [`Evaluator::evaluate`] for the contact. It reads the contact's record,
//! sources and memberships in one store call ([`Store::contact_snapshot`]),
//! concurrently with its next flip time, and then only the activities the
//! loaded conditions need (see [`super::reads`]), once for all segments. Then it
//! matches every dynamic and dynamic plus segment and applies the
//! membership changes in one store call
//! ([`Store::change_segment_members`]), which records `segment_entered`
//! and `segment_left`. Last, it stores the contact's next flip time for
//! the scheduler when it changed.
//!
//! Parsed conditions are cached. A segment or field definition change in
//! this process drops the cache at once ([`Evaluator::invalidate`]). A
//! change made by another instance on the same store applies within
//! [`RULES_TTL`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::try_join;

use super::clock::Clock;
use super::condition::ContactView;
use super::reads;
use super::rules::{Rule, Rules};
use crate::store::{is_listable, ContactId, Millis, SegmentChange, SegmentId, Store, StoreError};

/// How long parsed conditions are reused before they are read again, so
/// that changes made through another instance apply within this time.
pub const RULES_TTL: Duration = Duration::from_secs(5);

/// The outcome of one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// The segments the contact matches now, whether it was a member before.
    pub matched: Vec<SegmentId>,
    pub entered: Vec<SegmentId>,
    pub left: Vec<SegmentId>,
    /// When time alone may change a membership next; `None` when only an
    /// event can.
    pub next_flip: Option<Millis>,
}

struct Cached {
    version: u64,
    loaded: Instant,
    rules: Arc<Rules>,
}

/// Evaluates contacts against the dynamic segments; shared by the writer,
/// the admin API and the scheduler.
pub struct Evaluator {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    version: AtomicU64,
    cache: Mutex<Option<Cached>>,
}

impl Evaluator {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Evaluator {
        Evaluator { store, clock, version: AtomicU64::new(0), cache: Mutex::new(None) }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Drops the cached conditions, after a segment or field definition
    /// changed.
    pub fn invalidate(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// Returns the parsed conditions, reading them again when they changed
    /// here or are older than [`RULES_TTL`].
    pub async fn rules(&self) -> Result<Arc<Rules>, StoreError> {
        let version = self.version.load(Ordering::SeqCst);
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(cached) = cache.as_ref() {
                if cached.version == version && cached.loaded.elapsed() < RULES_TTL {
                    return Ok(cached.rules.clone());
                }
            }
        }

        let rules = Rules::load(self.store.as_ref()).await?;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        *cache = Some(Cached { version, loaded: Instant::now(), rules: rules.clone() });
        Ok(rules)
    }

    /// Evaluates `contact` against every dynamic and dynamic plus segment
    /// and updates its memberships and next flip time. A missing or merged
    /// contact changes nothing: the survivor of a merge is evaluated by the
    /// caller of the merge.
    pub async fn evaluate(&self, contact: ContactId) -> Result<Evaluation, StoreError> {
        let started = Instant::now();
        let rules = self.rules().await?;
        let evaluation = self.evaluate_rules(contact, &rules, true).await;
        metrics::histogram!("footprint_segment_evaluation_seconds").record(started.elapsed().as_secs_f64());
        evaluation
    }

    /// Evaluates `contact` against `rules` only; `schedule` stores the next
    /// flip time, which is right only when `rules` contains every segment.
    pub async fn evaluate_rules(
        &self,
        contact: ContactId,
        rules: &Rules,
        schedule: bool,
    ) -> Result<Evaluation, StoreError> {
        let mut evaluation = Evaluation::default();
        if rules.rules.is_empty() {
            return Ok(evaluation);
        }
        // The stored flip time is read only to skip writing an unchanged one.
        let scheduling = schedule && rules.time_dependent;
        let stored_flip = async {
            if scheduling {
                self.store.next_flip(contact).await
            } else {
                Ok(None)
            }
        };
        let (snapshot, stored_flip) = try_join(self.store.contact_snapshot(contact), stored_flip).await?;
        let Some(record) = snapshot.record.filter(is_listable) else {
            return Ok(evaluation);
        };

        let now = self.clock.now();
        let store = self.store.as_ref();
        let view =
            reads::view_with(store, record, snapshot.push_subscriptions, &snapshot.sources, &rules.needs, now).await?;
        let decision = decide(rules, &view, &snapshot.segments, now);
        evaluation.matched = decision.matched;
        evaluation.next_flip = decision.next_flip;
        let changes = decision.changes;

        let changed = store.change_segment_members(contact, &changes, now).await?;
        for (change, changed) in changes.iter().zip(changed) {
            match change {
                SegmentChange::Enter(segment) if changed => evaluation.entered.push(segment.id),
                SegmentChange::Leave(segment) if changed => evaluation.left.push(segment.id),
                _ => {}
            }
        }

        // Without time-dependent rules there is nothing to schedule. An entry
        // left from an earlier condition is removed when it comes due. The
        // time is written after the memberships, and only when it changed.
        if scheduling && evaluation.next_flip != stored_flip {
            store.set_next_flip(contact, evaluation.next_flip).await?;
        }
        if !evaluation.entered.is_empty() || !evaluation.left.is_empty() {
            tracing::debug!(
                contact.id = %contact,
                entered = evaluation.entered.len(),
                left = evaluation.left.len(),
                "segment memberships changed"
            );
        }
        Ok(evaluation)
    }

    /// Evaluates `contact` and logs a failure instead of returning it, for
    /// callers whose own change is already stored. The contact's next change
    /// or the scheduler repairs its memberships.
    pub async fn evaluate_logged(&self, contact: ContactId) {
        if let Err(error) = self.evaluate(contact).await {
            metrics::counter!("footprint_segment_evaluation_errors_total").increment(1);
            tracing::warn!(contact.id = %contact, %error, "segment evaluation failed; memberships may lag");
        }
    }
}

/// The membership outcome of one contact's view under some rules.
pub(super) struct Decision<'r> {
    /// The segments the view matches.
    pub matched: Vec<SegmentId>,
    /// The entries and exits that make the memberships follow `matched`.
    pub changes: Vec<SegmentChange<'r>>,
    /// The earliest time at which time alone may change a result.
    pub next_flip: Option<Millis>,
}

/// Matches `view` against every rule. `current` contains the contact's
/// segments, ordered.
pub(super) fn decide<'r>(rules: &'r Rules, view: &ContactView, current: &[SegmentId], now: Millis) -> Decision<'r> {
    let mut decision = Decision { matched: Vec::new(), changes: Vec::new(), next_flip: None };
    for Rule { segment, condition } in &rules.rules {
        let matches = condition.matches(view, now);
        let member = current.binary_search(&segment.id).is_ok();
        if matches {
            decision.matched.push(segment.id);
        }
        if matches && !member {
            decision.changes.push(SegmentChange::Enter(segment));
        }
        if !matches && member {
            decision.changes.push(SegmentChange::Leave(segment));
        }

        if condition.depends_on_time() {
            // A flip at or before `now` would keep the contact due
            // forever under a clock that does not move.
            let flip = condition.next_flip(view, now).map(|at| at.max(now + 1));
            decision.next_flip = match (decision.next_flip, flip) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    decision
}
