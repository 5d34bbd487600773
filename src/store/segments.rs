//! Segment definitions and memberships as the store keeps them, shared by
//! both backends.
//!
//! A membership is stored twice, as the contacts list is: in the contact's
//! own set of segment ids (the truth) and in the segment's index. The
//! index orders members by the contact's `updated_at`, so the member list
//! and the contacts list filtered by segment page with the list's cursor. The
//! contact's set changes first and the index second (on Redis in another
//! slot). A crash in between leaves a stale index entry that the
//! contact's next change repairs, and readers skip entries whose contact
//! no longer has the segment in its set. A segment's members are the
//! contacts list with [`crate::store::ContactFilter::segment`] set.
//!
//! Deleting a segment clears its index and members' sets before its
//! definition, so a repeated delete finishes an interrupted one. Readers
//! of a contact's segments still ignore ids without a definition, because
//! a membership added while the segment is deleted can outlive it.

use std::collections::BTreeMap;

use super::{Activity, ActivityKind, ContactRecord, Millis, SegmentId, Source};
use crate::segments::Segment;

/// The outcome of a segment definition write that did not fail in the
/// backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentWrite {
    Written,
    /// Another segment already has the name.
    NameTaken,
    /// The store already contains [`crate::segments::MAX_SEGMENTS`] segments.
    Full,
    /// No segment with that id exists.
    NotFound,
}

/// Number of members a segment deletion removes per round trip, so that
/// no single command has to handle a huge segment at once.
pub const SEGMENT_DELETE_CHUNK: usize = 500;

/// Builds the activity recorded in a contact's own stream when it enters
/// or leaves `segment`.
pub fn membership_activity(kind: ActivityKind, segment: &Segment, at: Millis) -> Activity {
    Activity {
        at,
        kind,
        url: String::new(),
        referrer: None,
        properties: BTreeMap::from([
            ("segment_id".to_owned(), segment.id.to_string()),
            ("segment_name".to_owned(), segment.name.clone()),
        ]),
    }
}

/// The data of one contact that a segment evaluation reads before its
/// activities, in one call ([`crate::store::Store::contact_snapshot`]).
/// On Redis all of it is in the contact's own slot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactSnapshot {
    /// The stored record; `None` when the contact never existed or was
    /// erased. Not resolved through `merged_into`.
    pub record: Option<ContactRecord>,
    /// Number of push subscriptions.
    pub push_subscriptions: usize,
    pub sources: Vec<Source>,
    /// The ids in the contact's segments set, ordered.
    pub segments: Vec<SegmentId>,
}

/// One membership change that an evaluation applies.
#[derive(Clone, Copy, Debug)]
pub enum SegmentChange<'a> {
    /// Add the contact, as [`crate::store::Store::add_segment_member`].
    Enter(&'a Segment),
    /// Remove the contact, as [`crate::store::Store::remove_segment_member`].
    Leave(&'a Segment),
}

/// Number of buckets of the next-flip schedule. Each bucket is one sorted
/// set on Redis, so scheduler instances can lease buckets one by one.
pub const FLIP_BUCKETS: u8 = 16;

/// Returns the schedule bucket of `contact`, from the random low bits of
/// its id like [`crate::store::keys::list_shard`].
pub fn flip_bucket(contact: super::ContactId) -> u8 {
    contact.0.as_bytes()[15] % FLIP_BUCKETS
}

/// The state of a dynamic segment's build: the evaluation of every contact
/// after the segment's condition was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BuildState {
    Running,
    Finished,
}

/// The progress of a segment build, stored apart from the definition so
/// that progress writes never overwrite an admin's change to it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegmentBuild {
    pub state: BuildState,
    /// The condition being built. A build whose condition differs from the
    /// segment's stops, because a newer build replaced it.
    pub condition: serde_json::Value,
    /// Contacts evaluated so far.
    pub evaluated: u64,
    /// Evaluated contacts that matched.
    pub members: u64,
    pub started_at: Millis,
    pub finished_at: Option<Millis>,
    /// The position a resumed build continues from: the list shard and the
    /// contacts-list position of the last evaluated contact in it.
    /// NOTE: it contains that contact's id until the build moves on or
    /// finishes, also when the contact is erased in between.
    pub after: Option<String>,
}
