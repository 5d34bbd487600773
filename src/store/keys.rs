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
//! | `{c:C}` | hash | contact C: `created`, `updated`, `merged_into`, profile fields as `f:<name>` |
//! | `{c:C}:src` | set | C's activity sources (`t:T:C'` or `c:C'`) |
//! | `{c:C}:trk` | set | trackers bound to C (may hold stale entries; readers check the tracker) |
//! | `{c:C}:a` | stream | C's own activity (merges, admin edits) |
//! | `{c:C}:n` | hash | counters by type of C's own stream |
//! | `{c:C}:merged` | set | contacts merged into C (makes a merge's effects happen once) |
//! | `{i:K:V}` | string | unique index K (`email`, `phone`, `customer_id`): value V to contact id |
//! | `{o:O}` | string | claimed shop order id O |
//! | `{m}:pending` | set | merge intents `FROM>INTO` not finished yet |
//!
//! The pending-merge set is the only key shared by all contacts. It holds
//! merges in progress, not history, so it stays small.

use super::{ContactId, IndexKind, Source, TrackerId};

/// Builds key names under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Keys { prefix: prefix.into() }
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

    /// The stream holding the activity of `source`.
    pub fn stream(&self, source: &Source) -> String {
        match source {
            Source::Tracker { tracker, contact } => format!("{}{{t:{tracker}}}:a:{contact}", self.prefix),
            Source::Contact(contact) => format!("{}{{c:{contact}}}:a", self.prefix),
        }
    }

    /// The counters hash of `source`.
    pub fn counters(&self, source: &Source) -> String {
        match source {
            Source::Tracker { tracker, contact } => format!("{}{{t:{tracker}}}:n:{contact}", self.prefix),
            Source::Contact(contact) => format!("{}{{c:{contact}}}:n", self.prefix),
        }
    }

    pub fn index(&self, kind: IndexKind, value: &str) -> String {
        format!("{}{{i:{}:{value}}}", self.prefix, kind.as_str())
    }

    pub fn order(&self, order_id: &str) -> String {
        format!("{}{{o:{order_id}}}", self.prefix)
    }

    pub fn pending_merges(&self) -> String {
        format!("{}{{m}}:pending", self.prefix)
    }
}
