//! The embedded store's data and its operations, as plain synchronous code
//! on maps. [`super::EmbeddedStore`] runs each operation under one lock, so
//! every operation is atomic, which is stronger than the per-slot atomicity
//! the Redis store gives.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::listing::Listing;
use super::stream::Stream;
use crate::store::{
    Activity, ActivityKind, ActivityPage, ActivityQuery, ContactId, ContactListPage, ContactListQuery, ContactRecord,
    Cursor, IndexKind, MergeIntent, Millis, PushSubscription, Retention, SegmentId, Source, StatusUpdate,
    StoredActivity, TrackerId,
};

/// Activity of a tracker that is not bound yet, with its expiry.
#[derive(Debug, Default)]
struct Pending {
    stream: Stream,
    counters: BTreeMap<ActivityKind, u64>,
    expires_at: Option<Instant>,
}

/// Everything the embedded store holds. The maps mirror the Redis keys
/// listed in [`crate::store::keys`].
#[derive(Debug, Default)]
pub(super) struct State {
    trackers: HashMap<TrackerId, ContactId>,
    pending: HashMap<TrackerId, Pending>,
    /// Expiry instants of pending activity, oldest first, so expired
    /// entries can be dropped without scanning every tracker.
    expiries: BTreeSet<(Instant, TrackerId)>,
    streams: HashMap<Source, Stream>,
    counters: HashMap<Source, BTreeMap<ActivityKind, u64>>,
    contacts: HashMap<ContactId, ContactRecord>,
    sources: HashMap<ContactId, BTreeSet<Source>>,
    /// Trackers bound to each contact. Like the Redis set, it may hold
    /// stale entries that readers filter out by checking the tracker.
    contact_trackers: HashMap<ContactId, BTreeSet<TrackerId>>,
    merged: HashMap<ContactId, BTreeSet<ContactId>>,
    indexes: HashMap<(IndexKind, String), ContactId>,
    orders: HashSet<String>,
    merges: HashSet<(ContactId, ContactId)>,
    /// Push subscriptions per contact: endpoint id to creation time.
    push: HashMap<ContactId, BTreeMap<String, Millis>>,
    listing: Listing,
    /// Each contact's segments, the truth the listing's segment sets follow.
    segments: HashMap<ContactId, BTreeSet<SegmentId>>,
}

impl State {
    /// Drops pending activity whose expiry has passed.
    pub fn expire_pending(&mut self, now: Instant) {
        while let Some(&(expires_at, tracker)) = self.expiries.first() {
            if expires_at > now {
                break;
            }
            self.expiries.pop_first();
            self.pending.remove(&tracker);
        }
    }

    pub fn tracker_contact(&self, tracker: TrackerId) -> Option<ContactId> {
        self.trackers.get(&tracker).copied()
    }

    pub fn bind_tracker(&mut self, tracker: TrackerId, contact: ContactId, expected: Option<ContactId>) -> bool {
        let current = self.trackers.get(&tracker).copied();
        if current == Some(contact) {
            return true;
        }
        if current != expected {
            return false;
        }

        self.trackers.insert(tracker, contact);

        // Only the first binding adopts the pending activity: it was
        // recorded before the browser belonged to anyone.
        if current.is_none() {
            if let Some(pending) = self.pending.remove(&tracker) {
                if let Some(expires_at) = pending.expires_at {
                    self.expiries.remove(&(expires_at, tracker));
                }
                let source = Source::Tracker { tracker, contact };
                self.streams.insert(source, pending.stream);
                self.counters.insert(source, pending.counters);
            }
        }

        self.contact_trackers.entry(contact).or_default().insert(tracker);
        if let Some(previous) = expected {
            if let Some(set) = self.contact_trackers.get_mut(&previous) {
                set.remove(&tracker);
            }
        }
        true
    }

    pub fn append_pending(
        &mut self,
        tracker: TrackerId,
        activity: &Activity,
        ttl: Duration,
        retention: &Retention,
        now: Millis,
        instant: Instant,
    ) {
        let pending = self.pending.entry(tracker).or_default();
        pending.stream.append(activity.clone(), now);
        pending.stream.trim(retention, now);
        *pending.counters.entry(activity.kind).or_default() += 1;

        if let Some(previous) = pending.expires_at {
            self.expiries.remove(&(previous, tracker));
        }
        // A TTL too long for `Instant` means the activity never expires.
        pending.expires_at = instant.checked_add(ttl);
        if let Some(expires_at) = pending.expires_at {
            self.expiries.insert((expires_at, tracker));
        }
    }

    pub fn contact_trackers(&self, contact: ContactId) -> Vec<TrackerId> {
        let Some(set) = self.contact_trackers.get(&contact) else {
            return Vec::new();
        };
        set.iter().copied().filter(|tracker| self.trackers.get(tracker) == Some(&contact)).collect()
    }

    pub fn append_activities(&mut self, batch: &[(Source, Activity)], retention: &Retention, now: Millis) {
        let mut touched: BTreeMap<(ContactId, Source), Millis> = BTreeMap::new();

        for (source, activity) in batch {
            let stream = self.streams.entry(*source).or_default();
            stream.append(activity.clone(), now);
            stream.trim(retention, now);
            *self.counters.entry(*source).or_default().entry(activity.kind).or_default() += 1;

            let at = touched.entry((source_contact(source), *source)).or_insert(activity.at);
            *at = (*at).max(activity.at);
        }

        for ((contact, source), at) in touched {
            self.touch(contact, source, at);
        }
    }

    /// Reads one page by collecting every matching entry of `sources` and
    /// sorting them. That costs a pass over the sources' streams per page,
    /// which retention keeps bounded and which suits the demo and tests
    /// this store is meant for.
    pub fn activities(&self, sources: &[Source], query: &ActivityQuery) -> ActivityPage {
        let limit = query.limit.max(1);
        let sources: BTreeSet<Source> = sources.iter().copied().collect();

        let mut matching: Vec<StoredActivity> = Vec::new();
        for source in sources {
            let Some(stream) = self.streams.get(&source) else {
                continue;
            };
            let name = source.to_string();
            for entry in stream.entries() {
                if !query.kinds.is_empty() && !query.kinds.contains(&entry.activity.kind) {
                    continue;
                }
                let cursor = Cursor { stored_at: entry.stored_at, seq: entry.seq, source: name.clone() };
                if query.before.as_ref().is_some_and(|before| cursor >= *before) {
                    continue;
                }
                if query.after.as_ref().is_some_and(|after| cursor <= *after) {
                    continue;
                }
                matching.push(StoredActivity { cursor, activity: entry.activity.clone() });
            }
        }

        matching.sort_by(|a, b| b.cursor.cmp(&a.cursor));
        let has_more = matching.len() > limit;
        matching.truncate(limit);
        let next = if has_more { matching.last().map(|item| item.cursor.clone()) } else { None };
        ActivityPage { items: matching, next }
    }

    pub fn counters(&self, sources: &[Source]) -> BTreeMap<ActivityKind, u64> {
        let sources: BTreeSet<Source> = sources.iter().copied().collect();
        let mut sums = BTreeMap::new();
        for source in sources {
            for (kind, count) in self.counters.get(&source).into_iter().flatten() {
                *sums.entry(*kind).or_default() += count;
            }
        }
        sums
    }

    pub fn touch(&mut self, contact: ContactId, source: Source, at: Millis) {
        let record = self.contact_entry(contact, at);
        record.updated_at = record.updated_at.max(at);

        self.sources.entry(contact).or_default().insert(source);
        if let Source::Tracker { tracker, .. } = source {
            self.contact_trackers.entry(contact).or_default().insert(tracker);
        }
        self.refresh_listing(contact);
    }

    pub fn contact(&self, contact: ContactId) -> Option<ContactRecord> {
        self.contacts.get(&contact).cloned()
    }

    pub fn set_fields(
        &mut self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        only_if_empty: bool,
        at: Millis,
    ) {
        let record = self.contact_entry(contact, at);
        record.updated_at = record.updated_at.max(at);

        for (name, value) in fields {
            if only_if_empty {
                let current_is_empty = record.fields.get(name).is_none_or(|current| current.is_empty());
                if current_is_empty && !value.is_empty() {
                    record.fields.insert(name.clone(), value.clone());
                }
            } else if value.is_empty() {
                record.fields.remove(name);
            } else {
                record.fields.insert(name.clone(), value.clone());
            }
        }
        self.refresh_listing(contact);
    }

    pub fn sources(&self, contact: ContactId) -> Vec<Source> {
        self.sources.get(&contact).map(|set| set.iter().copied().collect()).unwrap_or_default()
    }

    pub fn add_sources(&mut self, contact: ContactId, sources: &[Source]) {
        self.sources.entry(contact).or_default().extend(sources.iter().copied());
    }

    pub fn record_merge(
        &mut self,
        into: ContactId,
        from: ContactId,
        activity: &Activity,
        retention: &Retention,
        now: Millis,
    ) -> bool {
        if !self.merged.entry(into).or_default().insert(from) {
            return false;
        }

        let source = Source::Contact(into);
        let stream = self.streams.entry(source).or_default();
        stream.append(activity.clone(), now);
        stream.trim(retention, now);
        *self.counters.entry(source).or_default().entry(activity.kind).or_default() += 1;
        true
    }

    pub fn merged_contacts(&self, contact: ContactId) -> Vec<ContactId> {
        self.merged.get(&contact).map(|set| set.iter().copied().collect()).unwrap_or_default()
    }

    pub fn set_merged_into(&mut self, from: ContactId, into: ContactId) {
        // Like HSET on a missing Redis hash, this creates a bare record
        // with zero timestamps when `from` does not exist.
        let record =
            self.contacts.entry(from).or_insert_with(|| ContactRecord { id: Some(from), ..Default::default() });
        record.merged_into = Some(into);
        self.refresh_listing(from);
    }

    pub fn add_push_subscription(&mut self, contact: ContactId, endpoint_id: &str, at: Millis) -> bool {
        let subscriptions = self.push.entry(contact).or_default();
        if subscriptions.contains_key(endpoint_id) {
            return false;
        }
        subscriptions.insert(endpoint_id.to_owned(), at);

        let record = self.contact_entry(contact, at);
        record.updated_at = record.updated_at.max(at);
        self.refresh_listing(contact);
        true
    }

    pub fn remove_push_subscription(&mut self, contact: ContactId, endpoint_id: &str, at: Millis) -> bool {
        let removed =
            self.push.get_mut(&contact).is_some_and(|subscriptions| subscriptions.remove(endpoint_id).is_some());
        if !removed {
            return false;
        }

        let record = self.contact_entry(contact, at);
        record.updated_at = record.updated_at.max(at);
        self.refresh_listing(contact);
        true
    }

    pub fn push_subscriptions(&self, contact: ContactId) -> Vec<PushSubscription> {
        self.push
            .get(&contact)
            .into_iter()
            .flatten()
            .map(|(endpoint_id, created_at)| PushSubscription {
                endpoint_id: endpoint_id.clone(),
                created_at: *created_at,
            })
            .collect()
    }

    pub fn list_contacts(&self, query: &ContactListQuery) -> ContactListPage {
        let (positions, more) = self.listing.page(query.filter, query.after, query.limit.max(1));
        let next = if more { positions.last().copied() } else { None };
        let items = positions.iter().filter_map(|position| self.contacts.get(&position.id).cloned()).collect();
        ContactListPage { items, next }
    }

    /// Brings the contact's list and segment entries in line with its record.
    fn refresh_listing(&mut self, contact: ContactId) {
        let push_count = self.push.get(&contact).map_or(0, BTreeMap::len);
        let no_segments = BTreeSet::new();
        let segments = self.segments.get(&contact).unwrap_or(&no_segments);
        self.listing.refresh(contact, self.contacts.get(&contact), push_count, segments);
    }

    /// Adds `contact` to `segment` with `activity` in its own stream; see
    /// [`crate::store::Store::add_segment_member`].
    pub fn add_segment_member(
        &mut self,
        segment: SegmentId,
        contact: ContactId,
        activity: &Activity,
        retention: &Retention,
        now: Millis,
    ) -> bool {
        let live = self.contacts.get(&contact).is_some_and(crate::store::is_listable);
        if !live || !self.segments.entry(contact).or_default().insert(segment) {
            return false;
        }
        self.append_own(contact, activity, retention, now);
        true
    }

    /// Removes `contact` from `segment` with `activity` in its own stream.
    pub fn remove_segment_member(
        &mut self,
        segment: SegmentId,
        contact: ContactId,
        activity: &Activity,
        retention: &Retention,
        now: Millis,
    ) -> bool {
        let removed = self.segments.get_mut(&contact).is_some_and(|segments| segments.remove(&segment));
        if !removed {
            return false;
        }
        self.append_own(contact, activity, retention, now);
        true
    }

    /// Appends a membership activity to the contact's own stream, raises
    /// its `updated_at` and refreshes its entries.
    fn append_own(&mut self, contact: ContactId, activity: &Activity, retention: &Retention, now: Millis) {
        let source = Source::Contact(contact);
        let stream = self.streams.entry(source).or_default();
        stream.append(activity.clone(), now);
        stream.trim(retention, now);
        *self.counters.entry(source).or_default().entry(activity.kind).or_default() += 1;
        self.sources.entry(contact).or_default().insert(source);
        if let Some(record) = self.contacts.get_mut(&contact) {
            record.updated_at = record.updated_at.max(activity.at);
        }
        self.refresh_listing(contact);
    }

    pub fn contact_segments(&self, contact: ContactId) -> Vec<SegmentId> {
        self.segments.get(&contact).map(|set| set.iter().copied().collect()).unwrap_or_default()
    }

    pub fn leave_all_segments(&mut self, contact: ContactId) -> Vec<SegmentId> {
        let left = self.segments.remove(&contact).map(|set| set.into_iter().collect()).unwrap_or_default();
        self.refresh_listing(contact);
        left
    }

    /// Removes `segment` from every contact's set and index entries.
    pub fn forget_segment(&mut self, segment: SegmentId) {
        let members: Vec<ContactId> = self
            .segments
            .iter()
            .filter(|(_, segments)| segments.contains(&segment))
            .map(|(contact, _)| *contact)
            .collect();
        for contact in members {
            if let Some(segments) = self.segments.get_mut(&contact) {
                segments.remove(&segment);
                if segments.is_empty() {
                    self.segments.remove(&contact);
                }
            }
            self.refresh_listing(contact);
        }
    }

    pub fn segment_size(&self, segment: SegmentId) -> u64 {
        self.listing.segment_size(segment) as u64
    }

    pub fn delete_source(&mut self, source: &Source) {
        self.streams.remove(source);
        self.counters.remove(source);
    }

    pub fn forget_tracker(&mut self, tracker: TrackerId, contact: ContactId) -> bool {
        let bound_here = self.trackers.get(&tracker) == Some(&contact);
        if bound_here {
            self.trackers.remove(&tracker);
            self.pending.remove(&tracker);
        }
        if let Some(trackers) = self.contact_trackers.get_mut(&contact) {
            trackers.remove(&tracker);
        }
        bound_here
    }

    pub fn delete_contact(&mut self, contact: ContactId) {
        self.contacts.remove(&contact);
        self.sources.remove(&contact);
        self.contact_trackers.remove(&contact);
        self.merged.remove(&contact);
        self.push.remove(&contact);
        self.segments.remove(&contact);
        self.delete_source(&Source::Contact(contact));
        self.refresh_listing(contact);
    }

    pub fn claim_index(&mut self, kind: IndexKind, value: &str, contact: ContactId) -> ContactId {
        *self.indexes.entry((kind, value.to_owned())).or_insert(contact)
    }

    pub fn index_lookup(&self, kind: IndexKind, value: &str) -> Option<ContactId> {
        self.indexes.get(&(kind, value.to_owned())).copied()
    }

    pub fn release_index(&mut self, kind: IndexKind, value: &str, contact: ContactId) {
        let key = (kind, value.to_owned());
        if self.indexes.get(&key) == Some(&contact) {
            self.indexes.remove(&key);
        }
    }

    pub fn update_statuses(
        &mut self,
        contact: ContactId,
        update: &StatusUpdate,
        retention: &Retention,
        now: Millis,
    ) -> bool {
        let Some(record) = self.contacts.get_mut(&contact) else {
            return false;
        };
        if record.merged_into.is_some() {
            return false;
        }
        let holds_expected =
            update.expected.iter().all(|(name, expected)| record.statuses.get(name) == expected.as_ref());
        if !holds_expected {
            return false;
        }

        for (name, value) in &update.changes {
            match value {
                Some(value) => record.statuses.insert(name.clone(), value.clone()),
                None => record.statuses.remove(name),
            };
        }
        record.updated_at = record.updated_at.max(update.at);

        if !update.activities.is_empty() {
            let source = Source::Contact(contact);
            let stream = self.streams.entry(source).or_default();
            for activity in &update.activities {
                stream.append(activity.clone(), now);
                *self.counters.entry(source).or_default().entry(activity.kind).or_default() += 1;
            }
            stream.trim(retention, now);
            self.sources.entry(contact).or_default().insert(source);
        }
        self.refresh_listing(contact);
        true
    }

    pub fn claim_order(&mut self, order_id: &str) -> bool {
        self.orders.insert(order_id.to_owned())
    }

    pub fn begin_merge(&mut self, intent: MergeIntent) {
        self.merges.insert((intent.from, intent.into));
    }

    pub fn finish_merge(&mut self, intent: MergeIntent) {
        self.merges.remove(&(intent.from, intent.into));
    }

    pub fn pending_merges(&self) -> Vec<MergeIntent> {
        self.merges.iter().map(|&(from, into)| MergeIntent { from, into }).collect()
    }

    /// Returns the record of `contact`, created at `at` when missing.
    fn contact_entry(&mut self, contact: ContactId, at: Millis) -> &mut ContactRecord {
        let record = self.contacts.entry(contact).or_insert_with(|| ContactRecord {
            id: Some(contact),
            created_at: at,
            updated_at: at,
            ..Default::default()
        });

        // A record made by `set_merged_into` has no creation time yet, like a
        // Redis hash without its `created` field.
        if record.created_at == 0 {
            record.created_at = at;
        }
        record
    }
}

/// Returns the contact whose timeline `source` belongs to.
fn source_contact(source: &Source) -> ContactId {
    match source {
        Source::Tracker { contact, .. } => *contact,
        Source::Contact(contact) => *contact,
    }
}
