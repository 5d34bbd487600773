//! The contacts list: its order, filters, paging cursor and push
//! subscriptions, shared by both backends.
//!
//! The list is ordered by last update, newest first, with the contact id
//! (descending) breaking ties, so every contact has one position. A page
//! ends at a [`ListPosition`] and the next page starts strictly after it.
//! A contact updated between two pages moves to the front. A client paging
//! on never sees a contact twice and never loops, but a contact that moved
//! before the client reached it is missing from that pass.

use std::fmt;
use std::str::FromStr;

use super::keys::LIST_SHARDS;
use super::{ContactId, ContactRecord, Millis, SegmentId};

/// Name of the contact field that the `has_email` filter checks.
pub const EMAIL_FIELD: &str = "email";
/// Name of the contact field that the `has_cellphone` filter checks.
pub const CELLPHONE_FIELD: &str = "cellphone";

/// A contact's place in the list: its update time, then its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListPosition {
    pub updated_at: Millis,
    pub id: ContactId,
}

impl fmt::Display for ListPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.updated_at, self.id)
    }
}

impl FromStr for ListPosition {
    type Err = String;

    /// Parses `<updated_at>-<contact id>`, the form [`fmt::Display`] writes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("invalid list cursor {s:?}");
        let (updated_at, id) = s.split_once('-').ok_or_else(invalid)?;
        let updated_at: Millis = updated_at.parse().map_err(|_| invalid())?;
        if updated_at < 0 {
            return Err(invalid());
        }
        Ok(ListPosition { updated_at, id: id.parse().map_err(|_| invalid())? })
    }
}

impl serde::Serialize for ListPosition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Conditions a listed contact must meet; all of them when several are set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContactFilter {
    /// Only contacts with a non-empty `email` field.
    pub has_email: bool,
    /// Only contacts with a non-empty `cellphone` field.
    pub has_cellphone: bool,
    /// Only contacts with at least one push subscription.
    pub has_push: bool,
    /// Only members of this segment. The list then walks the segment's
    /// index instead of all contacts.
    pub segment: Option<SegmentId>,
    /// Only contacts of this list shard (see [`crate::store::keys::list_shard`]).
    /// A segment build walks the shards one after another, so that each
    /// page reads one shard instead of merging all of them.
    pub shard: Option<u8>,
}

impl ContactFilter {
    /// Returns true when a contact with `record` and `push_count` push
    /// subscriptions meets every condition except `segment`, which callers
    /// check against the contact's segments set.
    pub fn accepts(&self, record: &ContactRecord, push_count: usize) -> bool {
        let has = |name: &str| record.fields.get(name).is_some_and(|value| !value.is_empty());
        (!self.has_email || has(EMAIL_FIELD))
            && (!self.has_cellphone || has(CELLPHONE_FIELD))
            && (!self.has_push || push_count > 0)
    }
}

/// A request for one page of the contacts list: filter, cursor and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContactListQuery {
    pub filter: ContactFilter,
    /// Only contacts strictly after this position (the next page).
    pub after: Option<ListPosition>,
    /// Page size, at least 1.
    pub limit: usize,
}

impl Default for ContactListQuery {
    fn default() -> Self {
        ContactListQuery { filter: ContactFilter::default(), after: None, limit: 50 }
    }
}

/// A page of live (not merged) contacts, last updated first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactListPage {
    /// Each contact's record, with `id` set.
    pub items: Vec<ContactRecord>,
    /// Pass as `after` to read the next page; `None` on the last page.
    pub next: Option<ListPosition>,
}

/// A page of contacts-list positions (see
/// [`crate::store::Store::list_positions`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListPositions {
    pub positions: Vec<ListPosition>,
    /// Pass as `after` to read the next page; `None` on the last page.
    pub next: Option<ListPosition>,
}

/// A browser push subscription of a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSubscription {
    /// The push service's identifier of the subscription.
    pub endpoint_id: String,
    pub created_at: Millis,
}

/// Returns true when the list shows the contact of `record`: it was
/// created (a bare merge pointer has no creation time) and not merged into
/// another contact.
pub fn is_listable(record: &ContactRecord) -> bool {
    record.merged_into.is_none() && record.created_at > 0
}

/// A position in a walk through the contacts list one list shard after
/// another, as segment builds and exports read it: a shard and the last
/// contact done in it. Stored as `<shard>/<list position>`, or `<shard>/` at a shard's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardCursor {
    pub shard: u8,
    pub after: Option<ListPosition>,
}

impl ShardCursor {
    /// The start of the first shard.
    pub const START: ShardCursor = ShardCursor { shard: 0, after: None };

    /// Reads a stored position. A missing or unreadable one starts from the
    /// beginning, which repeats work but changes no result.
    pub fn parse(stored: Option<&str>) -> ShardCursor {
        let start = ShardCursor::START;
        let Some((shard, after)) = stored.and_then(|text| text.split_once('/')) else {
            return start;
        };
        let Some(shard) = shard.parse::<u8>().ok().filter(|shard| *shard < LIST_SHARDS) else {
            return start;
        };
        match after {
            "" => ShardCursor { shard, after: None },
            after => after.parse().map_or(start, |after| ShardCursor { shard, after: Some(after) }),
        }
    }

    /// Returns the query of the page of at most `limit` contacts that
    /// `filter` accepts, starting at this position.
    pub fn query(self, filter: ContactFilter, limit: usize) -> ContactListQuery {
        ContactListQuery { filter: ContactFilter { shard: Some(self.shard), ..filter }, after: self.after, limit }
    }

    /// Returns the position after a page that ended at `next` (`None` when
    /// the page was the shard's last), or `None` when every shard is done.
    pub fn next(self, next: Option<ListPosition>) -> Option<ShardCursor> {
        match next {
            Some(after) => Some(ShardCursor { shard: self.shard, after: Some(after) }),
            None if self.shard + 1 < LIST_SHARDS => Some(ShardCursor { shard: self.shard + 1, after: None }),
            None => None,
        }
    }
}

impl fmt::Display for ShardCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.after {
            Some(after) => write!(f, "{}/{after}", self.shard),
            None => write!(f, "{}/", self.shard),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_walks_every_shard() {
        let position = ListPosition { updated_at: 1_700_000_000_000, id: ContactId::new() };
        let within = ShardCursor { shard: 3, after: Some(position) };
        let start_of_shard = ShardCursor { shard: 4, after: None };

        assert_eq!(ShardCursor::parse(Some(&within.to_string())), within);
        assert_eq!(ShardCursor::parse(Some(&start_of_shard.to_string())), start_of_shard);
        assert_eq!(within.next(None), Some(start_of_shard));
        assert_eq!(start_of_shard.next(Some(position)), Some(ShardCursor { shard: 4, after: Some(position) }));
        assert_eq!(ShardCursor { shard: LIST_SHARDS - 1, after: None }.next(None), None);
    }

    #[test]
    fn unreadable_cursor_starts_over() {
        let start = ShardCursor { shard: 0, after: None };

        for stored in [None, Some(""), Some("1700000000000-not-an-id"), Some("16/"), Some("x/"), Some("2/garbage")] {
            assert_eq!(ShardCursor::parse(stored), start, "{stored:?}");
        }
    }

    #[test]
    fn position_round_trips_through_text() {
        let position = ListPosition { updated_at: 1_700_000_000_123, id: ContactId::new() };

        let parsed: ListPosition = position.to_string().parse().expect("parses");
        assert_eq!(parsed, position);
    }

    #[test]
    fn position_rejects_malformed_text() {
        for text in ["", "123", "abc-0190c0de-0000-7000-8000-000000000000", "-1-x", "12-not-a-uuid"] {
            assert!(text.parse::<ListPosition>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn positions_order_by_time_then_id() {
        let low = ContactId(uuid::Uuid::from_u128(1));
        let high = ContactId(uuid::Uuid::from_u128(2));

        assert!(ListPosition { updated_at: 5, id: high } < ListPosition { updated_at: 6, id: low });
        assert!(ListPosition { updated_at: 5, id: low } < ListPosition { updated_at: 5, id: high });
    }
}
