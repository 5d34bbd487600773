//! Storage of contacts, trackers, activities and identity indexes.
//!
//! One [`Store`] trait with two implementations that pass the same
//! conformance suite (`tests/store_conformance.rs`):
//!
//! - [`redis::RedisStore`] for production, on a standalone Redis through a
//!   reconnecting `ConnectionManager`.
//! - [`embedded::EmbeddedStore`], in process memory, for the demo and quick
//!   tests.
//!
//! The trait is a set of small, individually idempotent operations. The
//! business logic built from them (binding trackers, identifying, merging)
//! lives once, in `identity` and `recorder`, instead of once per backend.
//!
//! # Cluster readiness
//!
//! Every Redis key carries a hash tag: `{c:<contact>}` for everything of
//! one contact, `{t:<tracker>}` for everything of one browser, and one tag
//! per index value. Each operation touches one hash slot at a time, so no
//! operation relies on atomicity across contacts; where an operation spans
//! two slots, the trait documents the order of its steps and why a crash
//! between them is harmless. See [`keys`] for the layout.
//!
//! # The contacts list
//!
//! [`Store::list_contacts`] pages through contacts, last updated first,
//! without scanning them all: every change to a contact (a touch, new
//! fields, a push subscription, a merge) also refreshes the contact's
//! entries in list indexes ordered by update time, one per filter. The
//! contact changes first and its list entries second, in another slot on
//! Redis. A crash in between leaves a stale list entry that the contact's
//! next change repairs, and list readers skip entries whose contact is gone,
//! merged or no longer matches the filter. See [`listing`] for the order
//! and the cursor.
//!
//! # Segments
//!
//! Segment memberships follow the same pattern: the contact's own set of
//! segment ids changes first, then the segment's index, which the same
//! list refresh keeps ordered by update time. See [`segments`].

pub mod definitions;
pub mod embedded;
pub mod keys;
pub mod listing;
pub mod model;
pub mod redis;
pub mod segments;
pub mod transfers;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;

pub use definitions::*;
pub use listing::*;
pub use model::*;
pub use segments::*;
pub use transfers::*;

use crate::segments::Segment;

/// Failures of a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or returned an error.
    #[error("redis command failed")]
    Redis(#[from] ::redis::RedisError),
    /// Stored data could not be decoded, for example a corrupted entry.
    #[error("stored {what} could not be decoded: {reason}")]
    Corrupt { what: &'static str, reason: String },
}

impl StoreError {
    /// Returns true when the failed call may still have been carried out:
    /// the reply timed out or the connection dropped after the request
    /// left. Undoing its effects is then not safe.
    pub fn may_have_applied(&self) -> bool {
        match self {
            StoreError::Redis(error) => error.is_timeout() || error.is_io_error() || error.is_connection_dropped(),
            StoreError::Corrupt { .. } => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How much activity is kept per source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Maximum number of activities per source (approximate on Redis,
    /// which trims whole stream nodes).
    pub max_activities: usize,
    /// Activities older than this are dropped when newer ones are added.
    pub max_age: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { max_activities: 10_000, max_age: Duration::from_secs(730 * 24 * 3600) }
    }
}

/// A selection of activities to read from a timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityQuery {
    /// Only activities strictly older than this cursor (the next page).
    pub before: Option<Cursor>,
    /// Only activities strictly newer than this cursor (a refresh).
    pub after: Option<Cursor>,
    /// Only these types; empty means all.
    pub kinds: BTreeSet<ActivityKind>,
    /// Page size, at least 1.
    pub limit: usize,
}

impl Default for ActivityQuery {
    fn default() -> Self {
        ActivityQuery { before: None, after: None, kinds: BTreeSet::new(), limit: 50 }
    }
}

/// The storage operations Footprint is built from.
///
/// Every operation is idempotent or documents what repeating it does, because the
/// recorder retries batches after a failure and merges are resumed after a
/// crash.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Returns a short backend name for logs and metrics: `redis` or `embedded`.
    fn backend(&self) -> &'static str;

    /// Checks that the backend responds.
    async fn ping(&self) -> Result<()>;

    // ---- trackers -------------------------------------------------------

    /// Returns the contact `tracker` is bound to, without following merge
    /// pointers; `None` while the tracker is unconfirmed.
    async fn tracker_contact(&self, tracker: TrackerId) -> Result<Option<ContactId>>;

    /// Binds `tracker` to `contact` when it is currently bound to `expected`
    /// (`None`: not bound yet) and returns whether the binding now is
    /// `contact`.
    ///
    /// On the first binding, the tracker's pending activity (see
    /// [`Store::append_pending`]) and its counters become the source
    /// `Source::Tracker { tracker, contact }` and stop expiring. Afterwards
    /// the tracker is added to `contact`'s trackers and removed from
    /// `expected`'s (a second step in another slot; [`Store::touch`] repairs
    /// it when a crash falls in between). Binding to the current contact
    /// again returns true and changes nothing.
    async fn bind_tracker(&self, tracker: TrackerId, contact: ContactId, expected: Option<ContactId>) -> Result<bool>;

    /// Appends activity of a tracker that is not bound to a contact yet.
    /// It expires `ttl` after the last append unless the tracker is bound
    /// first.
    async fn append_pending(&self, tracker: TrackerId, activity: &Activity, ttl: Duration) -> Result<()>;

    /// Returns the trackers currently bound to `contact`.
    async fn contact_trackers(&self, contact: ContactId) -> Result<Vec<TrackerId>>;

    // ---- activities -----------------------------------------------------

    /// Appends each activity to its source's stream and counts it by type in
    /// that source's counters, then touches each source's contact (see
    /// [`Store::touch`], which also refreshes the contacts list). A failed
    /// list refresh after the activities are stored is logged, not returned,
    /// because a retried batch would be appended twice; the contact's next
    /// change refreshes its list entries. Not idempotent: a retried batch is appended again,
    /// so the recorder retries only batches that failed as a whole.
    async fn append_activities(&self, batch: &[(Source, Activity)]) -> Result<()>;

    /// Reads one page of the timeline made of `sources`, newest first.
    async fn activities(&self, sources: &[Source], query: &ActivityQuery) -> Result<ActivityPage>;

    /// Sums the per-type counters of `sources`.
    async fn counters(&self, sources: &[Source]) -> Result<BTreeMap<ActivityKind, u64>>;

    // ---- contacts -------------------------------------------------------

    /// Makes sure `contact` exists and lists `source` (and, for a tracker
    /// source, its tracker) among its own; sets `updated_at` to `at` when
    /// later than the stored value. Creates the contact when missing. Then
    /// refreshes the contact's place in the contacts list.
    async fn touch(&self, contact: ContactId, source: Source, at: Millis) -> Result<()>;

    /// Returns the stored record of `contact`, or `None` when it never
    /// existed or was erased. Does not follow `merged_into`.
    async fn contact(&self, contact: ContactId) -> Result<Option<ContactRecord>>;

    /// Sets profile fields of an existing or new contact. With
    /// `only_if_empty`, fields that already hold a non-empty value keep it
    /// (how a merge fills the survivor's gaps). An empty value removes the
    /// field unless `only_if_empty`. Sets `updated_at` like [`Store::touch`]
    /// and then refreshes the contact's place and filters in the contacts
    /// list.
    ///
    /// Unique indexes are not changed here: callers claim and release
    /// them (see [`Store::claim_index`]).
    async fn set_fields(
        &self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        only_if_empty: bool,
        at: Millis,
    ) -> Result<()>;

    /// Sets profile fields like [`Store::set_fields`] without
    /// `only_if_empty`, at `activity.at`, and appends `activity` to the
    /// contact's own timeline like [`Store::append_activities`]: an edit
    /// and its record. The Redis store writes both in one atomic script
    /// call and does not repeat it after a lost connection, because the
    /// repeat could append the activity twice.
    async fn set_fields_with_activity(
        &self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        activity: &Activity,
    ) -> Result<()> {
        self.set_fields(contact, fields, false, activity.at).await?;
        self.append_activities(&[(Source::Contact(contact), activity.clone())]).await
    }

    /// Creates `contact`, a new id that no contact has yet, with `fields`
    /// (empty values are left out) and `activity`, created and updated at
    /// `activity.at`. Otherwise like [`Store::set_fields_with_activity`],
    /// which the default runs. On Redis it is one `MULTI` of plain
    /// commands, cheaper than the script that an existing contact needs.
    async fn create_contact(
        &self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        activity: &Activity,
    ) -> Result<()> {
        self.set_fields_with_activity(contact, fields, activity).await
    }

    /// Returns the activity sources of `contact`.
    async fn sources(&self, contact: ContactId) -> Result<Vec<Source>>;

    /// Adds activity sources to `contact`.
    async fn add_sources(&self, contact: ContactId, sources: &[Source]) -> Result<()>;

    /// Records, once, that `from` was merged into `into`: remembers `from`
    /// among `into`'s merged contacts and appends `activity` to `into`'s own
    /// stream (counted in that stream's counters), atomically. Returns
    /// false, changing nothing, when `from` was already recorded.
    async fn record_merge(&self, into: ContactId, from: ContactId, activity: &Activity) -> Result<bool>;

    /// Returns the contacts recorded as merged into `contact`.
    async fn merged_contacts(&self, contact: ContactId) -> Result<Vec<ContactId>>;

    /// Points `from` at `into`, so that lookups of `from` resolve to `into`,
    /// then removes `from` from the contacts list.
    async fn set_merged_into(&self, from: ContactId, into: ContactId) -> Result<()>;

    // ---- push subscriptions ---------------------------------------------

    /// Adds the push subscription `endpoint_id` to `contact`, created at
    /// `at`, and returns true; returns false, keeping the first creation
    /// time, when the contact already has it. A new subscription sets
    /// `updated_at` like [`Store::touch`] (creating the contact when
    /// missing) and refreshes the contacts list.
    async fn add_push_subscription(&self, contact: ContactId, endpoint_id: &str, at: Millis) -> Result<bool>;

    /// Removes the push subscription `endpoint_id` from `contact` and
    /// returns whether it was there. A removal sets `updated_at` like
    /// [`Store::touch`] and refreshes the contacts list.
    async fn remove_push_subscription(&self, contact: ContactId, endpoint_id: &str, at: Millis) -> Result<bool>;

    /// Returns the push subscriptions of `contact`, ordered by endpoint id.
    async fn push_subscriptions(&self, contact: ContactId) -> Result<Vec<PushSubscription>>;

    // ---- contacts list --------------------------------------------------

    /// Reads one page of live contacts that pass `query.filter`, ordered by
    /// (`updated_at`, id) descending, strictly after `query.after`.
    ///
    /// Merged contacts and contacts that do not exist are never listed, even
    /// when a crash left a stale list entry behind. `next` is `None` once no
    /// further entry exists; otherwise it is the position of the last item,
    /// and the next page may turn out empty when the entries after it are
    /// stale. A page reads the list indexes only, never every contact.
    async fn list_contacts(&self, query: &ContactListQuery) -> Result<ContactListPage>;

    /// Reads the positions of one page of the contacts list as
    /// [`Store::list_contacts`] would, without reading the contacts. Entries
    /// that a crash left behind may be among them, for contacts that are
    /// gone or merged. A segment build reads each contact's snapshot
    /// anyway, so it reads positions only, and skips such contacts itself.
    async fn list_positions(&self, query: &ContactListQuery) -> Result<ListPositions> {
        let page = self.list_contacts(query).await?;
        let positions = page
            .items
            .iter()
            .filter_map(|record| record.id.map(|id| ListPosition { updated_at: record.updated_at, id }))
            .collect();
        Ok(ListPositions { positions, next: page.next })
    }

    // ---- unique indexes -------------------------------------------------

    /// Claims `value` in the index for `contact` unless another contact owns
    /// it, and returns the owner after the call.
    async fn claim_index(&self, kind: IndexKind, value: &str, contact: ContactId) -> Result<ContactId>;

    /// Returns the contact owning `value` in the index.
    async fn index_lookup(&self, kind: IndexKind, value: &str) -> Result<Option<ContactId>>;

    /// Removes `value` from the index when `contact` owns it.
    async fn release_index(&self, kind: IndexKind, value: &str, contact: ContactId) -> Result<()>;

    // ---- statuses -------------------------------------------------------

    /// Compares and updates status entries of `contact`, atomically with
    /// appending `update.activities` to the contact's own stream.
    ///
    /// Status entries live in the contact's record apart from profile
    /// fields ([`ContactRecord::statuses`]). The update applies only when
    /// the contact exists, is not merged into another, and every entry of
    /// `update.expected` has the given value (`None`: absent); otherwise
    /// it returns false and changes nothing. Applying writes
    /// `update.changes` (`None` removes an entry), appends the activities to
    /// `Source::Contact(contact)` counted by type, lists that source among
    /// the contact's, and raises `updated_at` to `update.at`.
    ///
    /// Not repeated after a lost reply: a repeat would append the
    /// activities again. Callers re-read the record when it returns false.
    async fn update_statuses(&self, contact: ContactId, update: &StatusUpdate) -> Result<bool>;

    // ---- orders ---------------------------------------------------------

    /// Claims a shop order id and returns true the first time only, so that
    /// a reloaded confirmation page does not count an order twice.
    async fn claim_order(&self, order_id: &str) -> Result<bool>;

    // ---- merge intents --------------------------------------------------

    /// Writes the intent to merge before any data moves.
    async fn begin_merge(&self, intent: MergeIntent) -> Result<()>;

    /// Removes a completed intent.
    async fn finish_merge(&self, intent: MergeIntent) -> Result<()>;

    /// Returns intents that were begun and not finished (a crash or another
    /// instance's failure), to be completed.
    async fn pending_merges(&self) -> Result<Vec<MergeIntent>>;

    // ---- erasure --------------------------------------------------------

    /// Deletes the activity stream and the counters of `source`.
    async fn delete_source(&self, source: &Source) -> Result<()>;

    /// Deletes `tracker`'s binding and pending activity when it is bound to
    /// `contact`, so the browser starts a new contact on its next visit,
    /// then removes it from `contact`'s trackers. Returns whether the
    /// tracker was deleted; one bound to another contact is left alone.
    async fn forget_tracker(&self, tracker: TrackerId, contact: ContactId) -> Result<bool>;

    /// Deletes everything stored in `contact`'s slot (the record with its
    /// fields and statuses, its sources, trackers, merged contacts, own
    /// stream and counters, push subscriptions, segments set), then removes
    /// it from the contacts list. Its segment index entries go first,
    /// because only its segments set names them. What it names in other
    /// slots (sources, trackers, unique index entries) must be deleted
    /// before, while the names can still be read;
    /// `identity::Identity::erase` does it in that order.
    async fn delete_contact(&self, contact: ContactId) -> Result<()>;

    // ---- custom field definitions ----------------------------------------

    /// Returns every custom field definition, ordered by name.
    async fn field_definitions(&self) -> Result<Vec<FieldDefinition>>;

    /// Returns the definition called `name`, if any.
    async fn field_definition(&self, name: &str) -> Result<Option<FieldDefinition>>;

    /// Stores a new definition unless one with its name exists
    /// ([`DefinitionWrite::NameTaken`]) or the store already contains
    /// [`MAX_DEFINITIONS`] ([`DefinitionWrite::Full`]). Atomic: concurrent
    /// creates of one name store exactly one. Repeating it returns
    /// `NameTaken`.
    async fn create_field_definition(&self, definition: &FieldDefinition) -> Result<DefinitionWrite>;

    /// Replaces the definition stored under `name` with `definition`, whose
    /// name may differ (a rename), atomically. Returns
    /// [`DefinitionWrite::NotFound`] unless a definition called `name` with
    /// `definition.id` exists, and `NameTaken` when the new name belongs to
    /// another definition. Repeating a rename returns `NotFound`.
    async fn replace_field_definition(&self, name: &str, definition: &FieldDefinition) -> Result<DefinitionWrite>;

    /// Removes the definition called `name` and returns it, or `None` when
    /// there was none. Contacts' values of the definition stay stored.
    async fn delete_field_definition(&self, name: &str) -> Result<Option<FieldDefinition>>;

    // ---- segments -------------------------------------------------------

    /// Returns every segment definition, ordered by name.
    async fn segments(&self) -> Result<Vec<Segment>>;

    /// Returns the segment with `id`, if any.
    async fn segment(&self, id: SegmentId) -> Result<Option<Segment>>;

    /// Stores a new segment unless another has its name
    /// ([`SegmentWrite::NameTaken`]) or the store already contains
    /// [`crate::segments::MAX_SEGMENTS`] ([`SegmentWrite::Full`]). Atomic:
    /// concurrent creates of one name store exactly one. Repeating it
    /// returns `NameTaken`.
    async fn create_segment(&self, segment: &Segment) -> Result<SegmentWrite>;

    /// Replaces the stored segment with `segment.id`, atomically with its
    /// name check. Returns [`SegmentWrite::NotFound`] when no segment has
    /// the id, and `NameTaken` when another segment has the new name.
    /// Idempotent.
    async fn replace_segment(&self, segment: &Segment) -> Result<SegmentWrite>;

    /// Deletes the segment with `id`: first its members' entries (index
    /// and each member's set, [`SEGMENT_DELETE_CHUNK`] members at a time),
    /// then its definition. Returns the definition, or `None` when there
    /// was none.
    /// Records no activity. Repeating it finishes an interrupted deletion.
    async fn delete_segment(&self, id: SegmentId) -> Result<Option<Segment>>;

    /// Adds `contact` to `segment` and returns true, atomically with
    /// appending a `segment_entered` activity to the contact's own stream
    /// and raising its `updated_at` to `at`. Returns false, changing
    /// nothing in the contact, when it already is a member or is missing or
    /// merged. Then refreshes the contact's list and segment index entries
    /// (also when nothing changed, so that a repeat repairs them).
    async fn add_segment_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool>;

    /// Removes `contact` from `segment` and returns true, atomically with
    /// appending a `segment_left` activity to its own stream; returns
    /// false when it was no member. Then removes the segment's index entry
    /// and refreshes the contact's other entries, also when nothing
    /// changed.
    async fn remove_segment_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool>;

    /// Applies `changes` to `contact`'s memberships as
    /// [`Store::add_segment_member`] and [`Store::remove_segment_member`]
    /// do, in order, and returns for each change whether it changed the
    /// membership. Redis applies every change to the contact's set in one
    /// transaction, then updates the segment index and the contacts list in
    /// a second step. A failure can leave the set changed and the index
    /// behind, which the next list refresh repairs.
    async fn change_segment_members(
        &self,
        contact: ContactId,
        changes: &[SegmentChange<'_>],
        at: Millis,
    ) -> Result<Vec<bool>> {
        let mut changed = Vec::with_capacity(changes.len());
        for change in changes {
            changed.push(match change {
                SegmentChange::Enter(segment) => self.add_segment_member(segment, contact, at).await?,
                SegmentChange::Leave(segment) => self.remove_segment_member(segment, contact, at).await?,
            });
        }
        Ok(changed)
    }

    /// Returns the ids in `contact`'s segments set, ordered. The set may
    /// name a deleted segment; callers ignore ids without a definition.
    async fn contact_segments(&self, contact: ContactId) -> Result<Vec<SegmentId>>;

    /// Reads what a segment evaluation needs of `contact` before its
    /// activities. Redis reads it with one pipeline in the contact's slot.
    async fn contact_snapshot(&self, contact: ContactId) -> Result<ContactSnapshot> {
        Ok(ContactSnapshot {
            record: self.contact(contact).await?,
            push_subscriptions: self.push_subscriptions(contact).await?.len(),
            sources: self.sources(contact).await?,
            segments: self.contact_segments(contact).await?,
        })
    }

    /// Reads the snapshots of several contacts, in order, as
    /// [`Store::contact_snapshot`] does for one. Redis sends every read in
    /// one pipeline, so a segment build pays one round trip per page.
    async fn contact_snapshots(&self, contacts: &[ContactId]) -> Result<Vec<ContactSnapshot>> {
        let mut snapshots = Vec::with_capacity(contacts.len());
        for contact in contacts {
            snapshots.push(self.contact_snapshot(*contact).await?);
        }
        Ok(snapshots)
    }

    /// Moves each contact's next flip time earlier to the given time, or
    /// sets it when there is none, and keeps a stored time that is earlier
    /// already. A segment build uses it to add its own segment's flips to a
    /// schedule that already covers the other segments: an early entry only
    /// makes the scheduler evaluate the contact once more.
    async fn lower_next_flips(&self, flips: &[(ContactId, Millis)]) -> Result<()> {
        for (contact, at) in flips {
            let stored = self.next_flip(*contact).await?;
            if stored.is_none_or(|stored| *at < stored) {
                self.set_next_flip(*contact, Some(*at)).await?;
            }
        }
        Ok(())
    }

    /// Removes `contact` from every segment without recording activities
    /// (a merged contact hands its memberships to the survivor), index
    /// entries first and its set second. Returns the ids it was in.
    async fn leave_all_segments(&self, contact: ContactId) -> Result<Vec<SegmentId>>;

    /// Returns the number of entries in the segment's index. On Redis it
    /// counts stale entries too until a reader or the contact's next change
    /// removes them.
    async fn segment_size(&self, id: SegmentId) -> Result<u64>;

    // ---- dynamic segment evaluation -------------------------------------

    /// Returns the progress of the segment's latest build, if any.
    async fn segment_build(&self, id: SegmentId) -> Result<Option<SegmentBuild>>;

    /// Stores the progress of the segment's build, replacing the previous
    /// one. Idempotent.
    async fn set_segment_build(&self, id: SegmentId, build: &SegmentBuild) -> Result<()>;

    /// Stores when time alone may next change `contact`'s memberships in
    /// its schedule bucket ([`flip_bucket`]), or removes it with `None`.
    /// Idempotent.
    async fn set_next_flip(&self, contact: ContactId, at: Option<Millis>) -> Result<()>;

    /// Returns the next flip time stored for `contact`, if any.
    async fn next_flip(&self, contact: ContactId) -> Result<Option<Millis>>;

    /// Returns up to `limit` contacts of `bucket` whose next flip is at or
    /// before `now`, earliest first. They stay scheduled until
    /// [`Store::set_next_flip`] changes them.
    async fn due_flips(&self, bucket: u8, now: Millis, limit: usize) -> Result<Vec<ContactId>>;

    /// Takes the lease `name` for `owner` for `ttl`, or extends it when
    /// `owner` already holds it, and returns whether `owner` holds it now.
    async fn acquire_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool>;

    /// Releases the lease `name` when `owner` holds it.
    async fn release_lease(&self, name: &str, owner: &str) -> Result<()>;

    // ---- import and export history ---------------------------------------

    /// Stores `job`, replacing an earlier state of the same job. A new job
    /// beyond [`MAX_TRANSFERS`] drops the oldest one.
    async fn save_transfer(&self, job: &TransferJob) -> Result<()>;

    /// Returns the job with this id, or `None` when it is unknown or was
    /// dropped from the history.
    async fn transfer(&self, id: TransferId) -> Result<Option<TransferJob>>;

    /// Returns up to `limit` jobs, newest first, created before the job
    /// `before` (from the newest when `None`).
    async fn transfers(&self, before: Option<TransferId>, limit: usize) -> Result<Vec<TransferJob>>;
}
