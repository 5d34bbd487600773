//! In-process store for the demo and for quick tests.
//!
//! All data sits in maps behind one `std::sync::Mutex`. Every operation is
//! synchronous under the lock and none awaits while holding it, so a plain
//! mutex is cheaper than an async one and cannot deadlock across `.await`.
//! One lock for everything serialises all operations, which is fine for a
//! demo and keeps each operation trivially atomic. Nothing is persisted:
//! the data is gone when the process exits.
//!
//! Pending activity expires lazily: each operation first drops pending
//! entries whose expiry instant has passed, so an expired entry is never
//! seen even if nothing cleaned it up earlier.

mod definitions;
mod listing;
mod schedule;
mod segments;
mod state;
mod stream;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use self::definitions::Definitions;
use self::schedule::Schedule;
use self::segments::SegmentDefinitions;
use self::state::State;
use super::{
    now_millis, Activity, ActivityKind, ActivityPage, ActivityQuery, ContactId, ContactListPage, ContactListQuery,
    ContactRecord, DefinitionWrite, FieldDefinition, IndexKind, MergeIntent, Millis, PushSubscription, Result,
    Retention, SegmentBuild, SegmentId, SegmentWrite, Source, StatusUpdate, Store, TrackerId, TransferId, TransferJob,
    MAX_TRANSFERS,
};
use crate::segments::Segment;

/// A [`Store`] kept in process memory.
#[derive(Debug)]
pub struct EmbeddedStore {
    retention: Retention,
    state: Mutex<State>,
    /// Kept apart from `state` because no operation needs both.
    definitions: Mutex<Definitions>,
    /// Segment definitions; memberships live in `state`. An operation that
    /// needs both takes one lock after the other, never both at once.
    segments: Mutex<SegmentDefinitions>,
    /// Build progress, next flips and leases; needs no other lock.
    schedule: Mutex<Schedule>,
    /// Import and export jobs by id, so oldest first; needs no other lock.
    transfers: Mutex<BTreeMap<TransferId, TransferJob>>,
}

impl EmbeddedStore {
    pub fn new(retention: Retention) -> Self {
        EmbeddedStore {
            retention,
            state: Mutex::new(State::default()),
            definitions: Mutex::new(Definitions::default()),
            segments: Mutex::new(SegmentDefinitions::default()),
            schedule: Mutex::new(Schedule::default()),
            transfers: Mutex::new(BTreeMap::new()),
        }
    }

    /// Locks the state and drops expired pending activity first.
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic under the lock can only come from a bug in `State`; the
        // maps stay structurally valid, so serving on beats failing every
        // later request.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.expire_pending(Instant::now());
        state
    }

    fn definitions(&self) -> MutexGuard<'_, Definitions> {
        self.definitions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn segment_definitions(&self) -> MutexGuard<'_, SegmentDefinitions> {
        self.segments.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn schedule(&self) -> MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn transfers(&self) -> MutexGuard<'_, BTreeMap<TransferId, TransferJob>> {
        self.transfers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn tracker_contact(&self, tracker: TrackerId) -> Result<Option<ContactId>> {
        Ok(self.lock().tracker_contact(tracker))
    }

    async fn bind_tracker(&self, tracker: TrackerId, contact: ContactId, expected: Option<ContactId>) -> Result<bool> {
        Ok(self.lock().bind_tracker(tracker, contact, expected))
    }

    async fn append_pending(&self, tracker: TrackerId, activity: &Activity, ttl: Duration) -> Result<()> {
        self.lock().append_pending(tracker, activity, ttl, &self.retention, now_millis(), Instant::now());
        Ok(())
    }

    async fn contact_trackers(&self, contact: ContactId) -> Result<Vec<TrackerId>> {
        Ok(self.lock().contact_trackers(contact))
    }

    async fn append_activities(&self, batch: &[(Source, Activity)]) -> Result<()> {
        self.lock().append_activities(batch, &self.retention, now_millis());
        Ok(())
    }

    async fn activities(&self, sources: &[Source], query: &ActivityQuery) -> Result<ActivityPage> {
        Ok(self.lock().activities(sources, query))
    }

    async fn counters(&self, sources: &[Source]) -> Result<BTreeMap<ActivityKind, u64>> {
        Ok(self.lock().counters(sources))
    }

    async fn touch(&self, contact: ContactId, source: Source, at: Millis) -> Result<()> {
        self.lock().touch(contact, source, at);
        Ok(())
    }

    async fn contact(&self, contact: ContactId) -> Result<Option<ContactRecord>> {
        Ok(self.lock().contact(contact))
    }

    async fn set_fields(
        &self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        only_if_empty: bool,
        at: Millis,
    ) -> Result<()> {
        self.lock().set_fields(contact, fields, only_if_empty, at);
        Ok(())
    }

    async fn sources(&self, contact: ContactId) -> Result<Vec<Source>> {
        Ok(self.lock().sources(contact))
    }

    async fn add_sources(&self, contact: ContactId, sources: &[Source]) -> Result<()> {
        self.lock().add_sources(contact, sources);
        Ok(())
    }

    async fn record_merge(&self, into: ContactId, from: ContactId, activity: &Activity) -> Result<bool> {
        Ok(self.lock().record_merge(into, from, activity, &self.retention, now_millis()))
    }

    async fn merged_contacts(&self, contact: ContactId) -> Result<Vec<ContactId>> {
        Ok(self.lock().merged_contacts(contact))
    }

    async fn set_merged_into(&self, from: ContactId, into: ContactId) -> Result<()> {
        self.lock().set_merged_into(from, into);
        Ok(())
    }

    async fn add_push_subscription(&self, contact: ContactId, endpoint_id: &str, at: Millis) -> Result<bool> {
        Ok(self.lock().add_push_subscription(contact, endpoint_id, at))
    }

    async fn remove_push_subscription(&self, contact: ContactId, endpoint_id: &str, at: Millis) -> Result<bool> {
        Ok(self.lock().remove_push_subscription(contact, endpoint_id, at))
    }

    async fn push_subscriptions(&self, contact: ContactId) -> Result<Vec<PushSubscription>> {
        Ok(self.lock().push_subscriptions(contact))
    }

    async fn list_contacts(&self, query: &ContactListQuery) -> Result<ContactListPage> {
        Ok(self.lock().list_contacts(query))
    }

    async fn claim_index(&self, kind: IndexKind, value: &str, contact: ContactId) -> Result<ContactId> {
        Ok(self.lock().claim_index(kind, value, contact))
    }

    async fn index_lookup(&self, kind: IndexKind, value: &str) -> Result<Option<ContactId>> {
        Ok(self.lock().index_lookup(kind, value))
    }

    async fn release_index(&self, kind: IndexKind, value: &str, contact: ContactId) -> Result<()> {
        self.lock().release_index(kind, value, contact);
        Ok(())
    }

    async fn update_statuses(&self, contact: ContactId, update: &StatusUpdate) -> Result<bool> {
        Ok(self.lock().update_statuses(contact, update, &self.retention, now_millis()))
    }

    async fn claim_order(&self, order_id: &str) -> Result<bool> {
        Ok(self.lock().claim_order(order_id))
    }

    async fn begin_merge(&self, intent: MergeIntent) -> Result<()> {
        self.lock().begin_merge(intent);
        Ok(())
    }

    async fn finish_merge(&self, intent: MergeIntent) -> Result<()> {
        self.lock().finish_merge(intent);
        Ok(())
    }

    async fn delete_source(&self, source: &Source) -> Result<()> {
        self.lock().delete_source(source);
        Ok(())
    }

    async fn forget_tracker(&self, tracker: TrackerId, contact: ContactId) -> Result<bool> {
        Ok(self.lock().forget_tracker(tracker, contact))
    }

    async fn delete_contact(&self, contact: ContactId) -> Result<()> {
        self.lock().delete_contact(contact);
        Ok(())
    }

    async fn pending_merges(&self) -> Result<Vec<MergeIntent>> {
        Ok(self.lock().pending_merges())
    }

    async fn field_definitions(&self) -> Result<Vec<FieldDefinition>> {
        Ok(self.definitions().all())
    }

    async fn field_definition(&self, name: &str) -> Result<Option<FieldDefinition>> {
        Ok(self.definitions().get(name))
    }

    async fn create_field_definition(&self, definition: &FieldDefinition) -> Result<DefinitionWrite> {
        Ok(self.definitions().create(definition))
    }

    async fn replace_field_definition(&self, name: &str, definition: &FieldDefinition) -> Result<DefinitionWrite> {
        Ok(self.definitions().replace(name, definition))
    }

    async fn delete_field_definition(&self, name: &str) -> Result<Option<FieldDefinition>> {
        Ok(self.definitions().delete(name))
    }

    async fn segments(&self) -> Result<Vec<Segment>> {
        Ok(self.segment_definitions().all())
    }

    async fn segment(&self, id: SegmentId) -> Result<Option<Segment>> {
        Ok(self.segment_definitions().get(id))
    }

    async fn create_segment(&self, segment: &Segment) -> Result<SegmentWrite> {
        Ok(self.segment_definitions().create(segment))
    }

    async fn replace_segment(&self, segment: &Segment) -> Result<SegmentWrite> {
        Ok(self.segment_definitions().replace(segment))
    }

    async fn delete_segment(&self, id: SegmentId) -> Result<Option<Segment>> {
        self.lock().forget_segment(id);
        Ok(self.segment_definitions().delete(id))
    }

    async fn add_segment_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool> {
        let activity = super::membership_activity(ActivityKind::SegmentEntered, segment, at);
        Ok(self.lock().add_segment_member(segment.id, contact, &activity, &self.retention, now_millis()))
    }

    async fn remove_segment_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool> {
        let activity = super::membership_activity(ActivityKind::SegmentLeft, segment, at);
        Ok(self.lock().remove_segment_member(segment.id, contact, &activity, &self.retention, now_millis()))
    }

    async fn contact_segments(&self, contact: ContactId) -> Result<Vec<SegmentId>> {
        Ok(self.lock().contact_segments(contact))
    }

    async fn leave_all_segments(&self, contact: ContactId) -> Result<Vec<SegmentId>> {
        Ok(self.lock().leave_all_segments(contact))
    }

    async fn segment_size(&self, id: SegmentId) -> Result<u64> {
        Ok(self.lock().segment_size(id))
    }

    async fn segment_build(&self, id: SegmentId) -> Result<Option<SegmentBuild>> {
        Ok(self.schedule().builds.get(&id).cloned())
    }

    async fn set_segment_build(&self, id: SegmentId, build: &SegmentBuild) -> Result<()> {
        self.schedule().builds.insert(id, build.clone());
        Ok(())
    }

    async fn set_next_flip(&self, contact: ContactId, at: Option<Millis>) -> Result<()> {
        self.schedule().set_next_flip(contact, at);
        Ok(())
    }

    async fn lower_next_flips(&self, flips: &[(ContactId, Millis)]) -> Result<()> {
        let mut schedule = self.schedule();
        for (contact, at) in flips {
            if schedule.next_flip(*contact).is_none_or(|stored| *at < stored) {
                schedule.set_next_flip(*contact, Some(*at));
            }
        }
        Ok(())
    }

    async fn next_flip(&self, contact: ContactId) -> Result<Option<Millis>> {
        Ok(self.schedule().next_flip(contact))
    }

    async fn due_flips(&self, bucket: u8, now: Millis, limit: usize) -> Result<Vec<ContactId>> {
        Ok(self.schedule().due(bucket, now, limit))
    }

    async fn acquire_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        Ok(self.schedule().acquire_lease(name, owner, ttl, Instant::now()))
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        self.schedule().release_lease(name, owner);
        Ok(())
    }

    async fn save_transfer(&self, job: &TransferJob) -> Result<()> {
        let mut transfers = self.transfers();
        transfers.insert(job.id, job.clone());
        while transfers.len() > MAX_TRANSFERS {
            transfers.pop_first();
        }
        Ok(())
    }

    async fn transfer(&self, id: TransferId) -> Result<Option<TransferJob>> {
        Ok(self.transfers().get(&id).cloned())
    }

    async fn transfers(&self, before: Option<TransferId>, limit: usize) -> Result<Vec<TransferJob>> {
        let transfers = self.transfers();
        let newer_bound = before.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(transfers.range((Bound::Unbounded, newer_bound)).rev().take(limit).map(|(_, job)| job.clone()).collect())
    }
}
