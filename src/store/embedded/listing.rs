//! The embedded store's contacts list: ordered sets of (update time,
//! contact id), one for all contacts and one per filter, as the Redis store
//! keeps them per shard.
//!
//! Segment indexes are ordered sets of the same positions, one per
//! segment. The embedded store changes a contact and its list entries under
//! one lock, so its entries are never stale. It keeps one set per filter
//! instead of sixteen shards, because shards only bound the size of single
//! Redis keys, and reading a page costs O(log n) plus the entries it
//! passes over.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use crate::store::keys::list_shard;
use crate::store::{ContactFilter, ContactId, ContactRecord, ListPosition, SegmentId, CELLPHONE_FIELD, EMAIL_FIELD};

/// The list entries of every listed contact.
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// Each listed contact's current position, to find its entries again.
    positions: HashMap<ContactId, ListPosition>,
    all: BTreeSet<ListPosition>,
    email: BTreeSet<ListPosition>,
    cellphone: BTreeSet<ListPosition>,
    push: BTreeSet<ListPosition>,
    /// Each segment's members.
    segments: HashMap<SegmentId, BTreeSet<ListPosition>>,
    /// The segments each listed contact has entries in.
    memberships: HashMap<ContactId, BTreeSet<SegmentId>>,
}

impl Listing {
    /// Puts `contact` in the sets its current `record`, `push_count` and
    /// `segments` call for, or removes it from all of them when the record
    /// is missing or merged.
    pub fn refresh(
        &mut self,
        contact: ContactId,
        record: Option<&ContactRecord>,
        push_count: usize,
        segments: &BTreeSet<SegmentId>,
    ) {
        if let Some(old) = self.positions.remove(&contact) {
            for set in [&mut self.all, &mut self.email, &mut self.cellphone, &mut self.push] {
                set.remove(&old);
            }
            for segment in self.memberships.remove(&contact).unwrap_or_default() {
                if let Some(members) = self.segments.get_mut(&segment) {
                    members.remove(&old);
                    if members.is_empty() {
                        self.segments.remove(&segment);
                    }
                }
            }
        }
        let Some(record) = record.filter(|record| crate::store::is_listable(record)) else {
            return;
        };

        let position = ListPosition { updated_at: record.updated_at, id: contact };
        let has = |name: &str| record.fields.get(name).is_some_and(|value| !value.is_empty());
        self.positions.insert(contact, position);
        self.all.insert(position);
        if has(EMAIL_FIELD) {
            self.email.insert(position);
        }
        if has(CELLPHONE_FIELD) {
            self.cellphone.insert(position);
        }
        if push_count > 0 {
            self.push.insert(position);
        }
        for segment in segments {
            self.segments.entry(*segment).or_default().insert(position);
        }
        if !segments.is_empty() {
            self.memberships.insert(contact, segments.clone());
        }
    }

    /// Returns the number of listed members of `segment`.
    pub fn segment_size(&self, segment: SegmentId) -> usize {
        self.segments.get(&segment).map_or(0, BTreeSet::len)
    }

    /// Returns up to `limit` contacts passing `filter`, after `after`,
    /// newest first, and whether more follow.
    pub fn page(&self, filter: ContactFilter, after: Option<ListPosition>, limit: usize) -> (Vec<ListPosition>, bool) {
        let mut requested: Vec<&BTreeSet<ListPosition>> = Vec::new();
        if filter.has_email {
            requested.push(&self.email);
        }
        if filter.has_cellphone {
            requested.push(&self.cellphone);
        }
        if filter.has_push {
            requested.push(&self.push);
        }
        let no_members = BTreeSet::new();
        if let Some(segment) = filter.segment {
            requested.push(self.segments.get(&segment).unwrap_or(&no_members));
        }
        if requested.is_empty() {
            requested.push(&self.all);
        }

        // Walk the smallest requested set and check the others, as the
        // Redis store does per shard.
        requested.sort_by_key(|set| set.len());
        let Some((primary, others)) = requested.split_first() else {
            return (Vec::new(), false);
        };
        let upper = match after {
            Some(after) => Bound::Excluded(after),
            None => Bound::Unbounded,
        };

        let mut matching = primary
            .range((Bound::Unbounded, upper))
            .rev()
            .filter(|position| filter.shard.is_none_or(|shard| list_shard(position.id) == shard))
            .filter(|position| others.iter().all(|set| set.contains(position)))
            .copied();
        let page: Vec<ListPosition> = matching.by_ref().take(limit).collect();
        let more = matching.next().is_some();
        (page, more)
    }
}
