//! Segment memberships on Redis: adding and removing one member, an
//! evaluation's batch of changes for one contact, and the snapshot of the
//! contact that an evaluation reads first.
//!
//! The changes of one contact run in one call of the membership script in
//! the contact's slot (the segments set, the activities and `updated`),
//! which also returns the contact's list state. One pipeline in the list
//! shard's slot then updates the segment index and the contacts list, as
//! [`super::segments`] describes. So a change takes two round trips
//! whatever the number of segments it enters or leaves.

use redis::Value;

use super::decode::{self, corrupt};
use super::listing::{self, ListingState};
use super::{encode, RedisStore};
use crate::segments::Segment;
use crate::store::keys::list_shard;
use crate::store::{
    membership_activity, ActivityKind, ContactId, ContactSnapshot, Millis, Result, SegmentChange, SegmentId, Source,
};

impl RedisStore {
    pub(super) async fn add_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool> {
        let changed = self.change_members(contact, &[SegmentChange::Enter(segment)], at).await?;
        Ok(changed.first().copied().unwrap_or(false))
    }

    pub(super) async fn remove_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool> {
        let changed = self.change_members(contact, &[SegmentChange::Leave(segment)], at).await?;
        Ok(changed.first().copied().unwrap_or(false))
    }

    /// Applies several membership changes of one contact in two round
    /// trips (see [`crate::store::Store::change_segment_members`]).
    ///
    /// The first runs the membership script once in the contact's slot: it
    /// applies every change and returns the contact's list state. It is
    /// not repeated after a lost reply, which could append an activity
    /// twice. The second, in the list shard's slot, removes the index
    /// entries of the segments left and refreshes the contact's list
    /// entries, so the index follows the set.
    pub(super) async fn change_members(
        &self,
        contact: ContactId,
        changes: &[SegmentChange<'_>],
        at: Millis,
    ) -> Result<Vec<bool>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }

        let (script_keys, arguments) = self.membership_invocation(contact, changes, at)?;
        let mut connection = self.connection.clone();
        let reply: Value = self
            .scripts
            .segment_membership
            .key(script_keys.as_slice())
            .arg(arguments.as_slice())
            .invoke_async(&mut connection)
            .await?;
        let (changed, state) = decode_membership_reply(contact, reply, changes.len())?;

        let shard = list_shard(contact);
        let mut pipeline = redis::pipe();
        for change in changes {
            if let SegmentChange::Leave(segment) = change {
                pipeline.zrem(self.keys.segment_bucket(shard, segment.id), contact.to_string()).ignore();
            }
        }
        listing::add_refresh(&mut pipeline, &self.keys, contact, &state);
        let pipeline = &pipeline;
        self.retrying("change_segment_members", |mut connection| async move {
            let () = pipeline.query_async(&mut connection).await?;
            Ok(())
        })
        .await?;
        Ok(changed)
    }

    /// Returns the keys and arguments of the membership script, all keys in
    /// the contact's slot.
    fn membership_invocation(
        &self,
        contact: ContactId,
        changes: &[SegmentChange<'_>],
        at: Millis,
    ) -> Result<([String; 6], Vec<String>)> {
        let own = Source::Contact(contact);
        let script_keys = [
            self.keys.contact(contact),
            self.keys.contact_segments(contact),
            self.keys.contact_sources(contact),
            self.keys.stream(&own),
            self.keys.counters(&own),
            self.keys.push_subscriptions(contact),
        ];

        let mut arguments = vec![
            at.to_string(),
            own.to_string(),
            self.retention.max_activities.to_string(),
            self.min_id().map(|id| id.to_string()).unwrap_or_default(),
        ];
        for change in changes {
            let (action, kind, segment) = match change {
                SegmentChange::Enter(segment) => ("add", ActivityKind::SegmentEntered, segment),
                SegmentChange::Leave(segment) => ("remove", ActivityKind::SegmentLeft, segment),
            };
            let activity = membership_activity(kind, segment, at);
            arguments.extend([action.to_owned(), segment.id.to_string(), encode(&activity)?, kind.as_str().to_owned()]);
        }
        Ok((script_keys, arguments))
    }

    /// Reads the contact's slot with one pipeline. The reads need not be
    /// atomic, as the separate reads they replace were not.
    pub(super) async fn snapshot(&self, contact: ContactId) -> Result<ContactSnapshot> {
        let mut snapshots = self.snapshots(&[contact]).await?;
        snapshots.pop().ok_or_else(|| corrupt("contact", "a snapshot pipeline returned no snapshot"))
    }

    /// Reads the snapshots of `contacts` with one pipeline of four reads
    /// per contact, each four in the contact's slot.
    pub(super) async fn snapshots(&self, contacts: &[ContactId]) -> Result<Vec<ContactSnapshot>> {
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipeline = redis::pipe();
        for contact in contacts {
            pipeline.hgetall(self.keys.contact(*contact));
            pipeline.hlen(self.keys.push_subscriptions(*contact));
            pipeline.smembers(self.keys.contact_sources(*contact));
            pipeline.smembers(self.keys.contact_segments(*contact));
        }
        let pipeline = &pipeline;

        let replies: Vec<Value> =
            self.retrying("contact_snapshot", |mut connection| async move {
                Ok(pipeline.query_async(&mut connection).await?)
            })
            .await?;
        if replies.len() != 4 * contacts.len() {
            return Err(corrupt("contact", "a snapshot pipeline returned the wrong number of replies"));
        }

        let mut replies = replies.into_iter();
        let mut snapshots = Vec::with_capacity(contacts.len());
        for contact in contacts {
            let mut next = || replies.next().unwrap_or(Value::Nil);
            let (record, push_subscriptions, sources, segments) = (next(), next(), next(), next());
            let push_subscriptions: u64 =
                redis::from_redis_value(push_subscriptions).map_err(::redis::RedisError::from)?;
            let mut segments: Vec<SegmentId> = decode::parsed(segments, "segments set")?;
            segments.sort();
            snapshots.push(ContactSnapshot {
                record: decode::contact(*contact, record)?,
                push_subscriptions: usize::try_from(push_subscriptions).unwrap_or(usize::MAX),
                sources: decode::parsed(sources, "sources set")?,
                segments,
            });
        }
        Ok(snapshots)
    }
}

/// Decodes the membership script's reply: whether each of `count` changes
/// changed the membership, and the list state after them.
fn decode_membership_reply(contact: ContactId, reply: Value, count: usize) -> Result<(Vec<bool>, ListingState)> {
    let wrong = || corrupt("segments set", "the membership script returned an unexpected reply");
    let Value::Array(parts) = reply else {
        return Err(wrong());
    };
    let [changed, state, push_count, segments] = <[Value; 4]>::try_from(parts).map_err(|_| wrong())?;

    let changed: Vec<i64> = redis::from_redis_value(changed).map_err(::redis::RedisError::from)?;
    if changed.len() != count {
        return Err(wrong());
    }
    let state = listing::decode_state(contact, [state, push_count, segments])?;
    Ok((changed.into_iter().map(|result| result == 1).collect(), state))
}
