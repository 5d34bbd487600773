//! Redis key layout.
//!
//! Every key starts with a configurable prefix (default `fp:`) and carries
//! one hash tag, so that each key group below lives in one Redis Cluster
//! slot and can be changed with one `MULTI` or script:
//!
//! | key | type | contents |
//! |---|---|---|
//! | `{t:T}` | hash | tracker T: `contact` (bound contact id), `created` |
//! | `{t:T}:p` | stream | activity of T before it is bound (expires) |
//! | `{t:T}:pn` | hash | counters by type of that pending activity (expires) |
//! | `{t:T}:a:C` | stream | activity of T while bound to contact C |
//! | `{t:T}:n:C` | hash | counters by type of that stream |
//! | `{c:C}` | hash | contact C: `created`, `updated`, `merged_into`, profile fields as `f:<name>`, status entries as `s:<name>` |
//! | `{c:C}:src` | set | C's activity sources (`t:T:C'` or `c:C'`) |
//! | `{c:C}:trk` | set | trackers bound to C (may hold stale entries; readers check the tracker) |
//! | `{c:C}:a` | stream | C's own activity (merges, admin edits) |
//! | `{c:C}:n` | hash | counters by type of C's own stream |
//! | `{c:C}:merged` | set | contacts merged into C (makes a merge's effects happen once) |
//! | `{c:C}:push` | hash | C's push subscriptions: endpoint id to creation time (ms) |
//! | `{x:N}:all` | sorted set | contacts-list shard N (0 to 15): live contacts, score = `updated` (ms) |
//! | `{x:N}:email` | sorted set | the contacts of `{x:N}:all` that have an email |
//! | `{x:N}:phone` | sorted set | the contacts of `{x:N}:all` that have a cellphone |
//! | `{x:N}:push` | sorted set | the contacts of `{x:N}:all` that have a push subscription |
//! | `{x:N}:s:S` | sorted set | the members of segment S among the contacts of shard N, score = `updated` (ms) |
//! | `{c:C}:segments` | set | ids of the segments C is a member of (the truth for `{x:N}:s:S`) |
//! | `{sg}:definitions` | hash | segment definitions: id to definition JSON (at most 1000) |
//! | `{sg}:names` | hash | segment names to ids, to keep names unique |
//! | `{sg}:builds` | hash | segment id to the JSON progress of its latest build |
//! | `{f:N}:flips` | sorted set | contacts of schedule bucket N, score = next flip time (ms) |
//! | `{l:NAME}:lease` | string | the instance holding lease NAME, with a TTL |
//! | `{tr}:jobs` | hash | import and export jobs: id to job JSON (at most 10,000) |
//! | `{tr}:order` | sorted set | the ids of `{tr}:jobs`, all with score 0, so ordered by id (UUID v7: creation order) |
//! | `{i:K:V}` | string | unique index K (`email`, `phone`, `customer_id`): value V to contact id |
//! | `{o:O}` | string | claimed shop order id O |
//! | `{m}:pending` | set | merge intents `FROM>INTO` not finished yet |
//! | `{cf}:definitions` | hash | custom field definitions: name to definition JSON (at most 500) |
//!
//! The pending-merge set and the definition hashes are the only keys
//! shared by all contacts. The set contains merges in progress, not
//! history, and each definition hash a capped number of definitions, so
//! all stay small. Contacts keep custom values in their own hash as
//! `f:cf.<definition id>`. Segment definitions take two hashes in one
//! slot, because the names hash lets a script check that a name is free
//! without decoding every definition.
//!
//! The contacts list is split into [`LIST_SHARDS`] shards by the random low
//! bits of the contact id ([`list_shard`]), so that no sorted set holds
//! every contact and list updates spread over sixteen slots instead of
//! one. All sets of a shard share the shard's hash tag, so one script
//! updates every filter of a contact at once. Members are contact ids and
//! scores the contact's `updated` time; a page merges the shards by
//! (score, id) descending.
//!
//! A segment's index is split the same way: its members in shard N sit in
//! `{x:N}:s:S`, next to the shard's filter sets. Sharing the shard's hash
//! tag (instead of one tag per segment bucket) lets one script walk a
//! segment and check the other filters with ZSCORE, and lets one refresh
//! update all of a contact's list and segment entries atomically. The cost
//! is that segment traffic lands on the same sixteen slots as the list.
//! A key contains one sixteenth of one segment, so none grows with the
//! number of segments.
//!
//! Index values, order ids and the prefix come from outside, so `%`, `{`
//! and `}` in them are percent-encoded ([`escape`]): a value can never open
//! or close a hash tag, and distinct values stay distinct keys.

use super::{ContactId, IndexKind, SegmentId, Source, TrackerId};

/// Number of contacts-list shards.
pub const LIST_SHARDS: u8 = 16;

/// Returns the contacts-list shard of `contact`: the low bits of the id's
/// last byte, which are random in UUID v7 (and v4) ids, so contacts spread
/// evenly over the shards.
pub fn list_shard(contact: ContactId) -> u8 {
    contact.0.as_bytes()[15] % LIST_SHARDS
}

/// The sorted sets of one contacts-list shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListSet {
    All,
    Email,
    Phone,
    Push,
}

impl ListSet {
    /// Every set, in the order the list scripts take their keys.
    pub const ALL: [ListSet; 4] = [ListSet::All, ListSet::Email, ListSet::Phone, ListSet::Push];

    fn suffix(self) -> &'static str {
        match self {
            ListSet::All => "all",
            ListSet::Email => "email",
            ListSet::Phone => "phone",
            ListSet::Push => "push",
        }
    }
}

/// Builds key names under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Uses `prefix` before every key, escaped so that it cannot hold a hash
    /// tag of its own.
    pub fn new(prefix: impl Into<String>) -> Self {
        Keys { prefix: escape(&prefix.into()) }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn tracker(&self, tracker: TrackerId) -> String {
        format!("{}{{t:{tracker}}}", self.prefix)
    }

    pub fn pending_stream(&self, tracker: TrackerId) -> String {
        format!("{}{{t:{tracker}}}:p", self.prefix)
    }

    pub fn pending_counters(&self, tracker: TrackerId) -> String {
        format!("{}{{t:{tracker}}}:pn", self.prefix)
    }

    pub fn contact(&self, contact: ContactId) -> String {
        format!("{}{{c:{contact}}}", self.prefix)
    }

    pub fn contact_sources(&self, contact: ContactId) -> String {
        format!("{}{{c:{contact}}}:src", self.prefix)
    }

    pub fn contact_trackers(&self, contact: ContactId) -> String {
        format!("{}{{c:{contact}}}:trk", self.prefix)
    }

    pub fn contact_merged(&self, contact: ContactId) -> String {
        format!("{}{{c:{contact}}}:merged", self.prefix)
    }

    pub fn push_subscriptions(&self, contact: ContactId) -> String {
        format!("{}{{c:{contact}}}:push", self.prefix)
    }

    pub fn list_set(&self, shard: u8, set: ListSet) -> String {
        format!("{}{{x:{shard}}}:{}", self.prefix, set.suffix())
    }

    /// Returns the key of `segment`'s members in list shard `shard`.
    pub fn segment_bucket(&self, shard: u8, segment: SegmentId) -> String {
        format!("{}{{x:{shard}}}:s:{segment}", self.prefix)
    }

    pub fn contact_segments(&self, contact: ContactId) -> String {
        format!("{}{{c:{contact}}}:segments", self.prefix)
    }

    pub fn segment_definitions(&self) -> String {
        format!("{}{{sg}}:definitions", self.prefix)
    }

    pub fn segment_names(&self) -> String {
        format!("{}{{sg}}:names", self.prefix)
    }

    pub fn segment_builds(&self) -> String {
        format!("{}{{sg}}:builds", self.prefix)
    }

    /// Returns the key of schedule bucket `bucket`: contact ids scored by
    /// their next flip time (ms).
    pub fn flip_bucket(&self, bucket: u8) -> String {
        format!("{}{{f:{bucket}}}:flips", self.prefix)
    }

    pub fn transfer_jobs(&self) -> String {
        format!("{}{{tr}}:jobs", self.prefix)
    }

    pub fn transfer_order(&self) -> String {
        format!("{}{{tr}}:order", self.prefix)
    }

    pub fn lease(&self, name: &str) -> String {
        format!("{}{{l:{name}}}:lease", self.prefix)
    }

    /// Returns the key of the stream that contains the activity of `source`.
    pub fn stream(&self, source: &Source) -> String {
        match source {
            Source::Tracker { tracker, contact } => {
                format!("{}{{t:{tracker}}}:a:{contact}", self.prefix)
            }
            Source::Contact(contact) => format!("{}{{c:{contact}}}:a", self.prefix),
        }
    }

    /// Returns the key of the counters hash of `source`.
    pub fn counters(&self, source: &Source) -> String {
        match source {
            Source::Tracker { tracker, contact } => {
                format!("{}{{t:{tracker}}}:n:{contact}", self.prefix)
            }
            Source::Contact(contact) => format!("{}{{c:{contact}}}:n", self.prefix),
        }
    }

    pub fn index(&self, kind: IndexKind, value: &str) -> String {
        format!("{}{{i:{}:{}}}", self.prefix, kind.as_str(), escape(value))
    }

    pub fn order(&self, order_id: &str) -> String {
        format!("{}{{o:{}}}", self.prefix, escape(order_id))
    }

    pub fn pending_merges(&self) -> String {
        format!("{}{{m}}:pending", self.prefix)
    }

    pub fn field_definitions(&self) -> String {
        format!("{}{{cf}}:definitions", self.prefix)
    }
}

/// Percent-encodes `%`, `{` and `}` in `value`, leaving everything else
/// (including non-ASCII text) as it is.
pub fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '%' => escaped.push_str("%25"),
            '{' => escaped.push_str("%7B"),
            '}' => escaped.push_str("%7D"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_encodes_braces_and_percent() {
        assert_eq!(escape("a{b}c%d"), "a%7Bb%7Dc%25d");
    }

    #[test]
    fn escape_keeps_distinct_values_distinct() {
        assert_ne!(escape("%7B"), escape("{"));
    }

    #[test]
    fn index_key_has_one_hash_tag() {
        let keys = Keys::new("fp{x}:");
        let key = keys.index(IndexKind::Email, "}{ü%");

        assert_eq!(key.matches('{').count(), 1);
        assert_eq!(key.matches('}').count(), 1);
        assert_eq!(key, "fp%7Bx%7D:{i:email:%7D%7Bü%25}");
    }

    #[test]
    fn list_shard_uses_low_bits_of_the_id() {
        let contact = ContactId(uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_de2b));

        assert_eq!(list_shard(contact), 0x0b);
        assert_eq!(Keys::new("fp:").list_set(11, ListSet::Phone), "fp:{x:11}:phone");
    }

    #[test]
    fn list_shards_spread_random_ids() {
        let mut counts = [0usize; LIST_SHARDS as usize];
        for _ in 0..1600 {
            counts[usize::from(list_shard(ContactId::new()))] += 1;
        }

        assert!(counts.iter().all(|&count| count > 0), "{counts:?}");
    }
}
