//! Segment memberships on Redis: adding and removing one member, an
//! evaluation's batch of changes for one contact, and the snapshot of the
//! contact that an evaluation reads first.
//!
//! A change runs the membership script in the contact's slot (the
//! segments set, the activity and `updated`), then updates the segment
//! index and the contacts list in the list shard's slot, as
//! [`super::segments`] describes. A batch runs its scripts in one
//! transaction and updates the index in one pipeline after it, so it takes
//! two round trips whatever the number of changes.

use redis::{AsyncCommands, Value};

use super::decode::{self, corrupt};
use super::scripts::SEGMENT_MEMBERSHIP;
use super::{encode, listing, RedisStore};
use crate::segments::Segment;
use crate::store::keys::list_shard;
use crate::store::{
    membership_activity, ActivityKind, ContactId, ContactSnapshot, Millis, Result, SegmentChange, SegmentId, Source,
};

/// Whether a membership script adds or removes.
#[derive(Clone, Copy, Debug)]
enum MembershipChange {
    Add,
    Remove,
}

impl RedisStore {
    pub(super) async fn add_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool> {
        let changed = self.change_membership(MembershipChange::Add, segment, contact, at).await?;
        self.refresh_listing(contact).await?;
        Ok(changed)
    }

    pub(super) async fn remove_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool> {
        let changed = self.change_membership(MembershipChange::Remove, segment, contact, at).await?;

        let bucket = &self.keys.segment_bucket(list_shard(contact), segment.id);
        self.retrying("remove_segment_member", |mut connection| async move {
            let _: i64 = connection.zrem(bucket, contact.to_string()).await?;
            Ok(())
        })
        .await?;
        self.refresh_listing(contact).await?;
        Ok(changed)
    }

    /// Runs the membership script once: a repeat after a lost reply could
    /// append the activity twice.
    async fn change_membership(
        &self,
        change: MembershipChange,
        segment: &Segment,
        contact: ContactId,
        at: Millis,
    ) -> Result<bool> {
        let (script_keys, arguments) = self.membership_invocation(change, segment, contact, at)?;
        let mut connection = self.connection.clone();
        let changed: i64 = self
            .scripts
            .segment_membership
            .key(script_keys.as_slice())
            .arg(arguments.as_slice())
            .invoke_async(&mut connection)
            .await?;
        Ok(changed == 1)
    }

    /// Returns the keys and arguments of the membership script, all keys in
    /// the contact's slot.
    fn membership_invocation(
        &self,
        change: MembershipChange,
        segment: &Segment,
        contact: ContactId,
        at: Millis,
    ) -> Result<([String; 5], [String; 8])> {
        let own = Source::Contact(contact);
        let (action, kind) = match change {
            MembershipChange::Add => ("add", ActivityKind::SegmentEntered),
            MembershipChange::Remove => ("remove", ActivityKind::SegmentLeft),
        };
        let activity = membership_activity(kind, segment, at);
        let script_keys = [
            self.keys.contact(contact),
            self.keys.contact_segments(contact),
            self.keys.contact_sources(contact),
            self.keys.stream(&own),
            self.keys.counters(&own),
        ];
        let arguments = [
            action.to_owned(),
            segment.id.to_string(),
            at.to_string(),
            own.to_string(),
            self.retention.max_activities.to_string(),
            self.min_id().map(|id| id.to_string()).unwrap_or_default(),
            encode(&activity)?,
            kind.as_str().to_owned(),
        ];
        Ok((script_keys, arguments))
    }

    /// Applies several membership changes of one contact in two round
    /// trips instead of three or four per change (see
    /// [`crate::store::Store::change_segment_members`]).
    ///
    /// The first is a transaction in the contact's slot: every membership
    /// script, then the reads of the contact's list state. It is sent once,
    /// like a single change. The second, in the list shard's slot, removes
    /// the index entries of the segments left and refreshes the contact's
    /// list entries, so the index follows the set as after single changes.
    pub(super) async fn change_members(
        &self,
        contact: ContactId,
        changes: &[SegmentChange<'_>],
        at: Millis,
    ) -> Result<Vec<bool>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }

        let mut transaction = redis::pipe();
        transaction.atomic();
        for change in changes {
            let (change, segment) = match change {
                SegmentChange::Enter(segment) => (MembershipChange::Add, segment),
                SegmentChange::Leave(segment) => (MembershipChange::Remove, segment),
            };
            let (script_keys, arguments) = self.membership_invocation(change, segment, contact, at)?;
            transaction
                .cmd("EVAL")
                .arg(SEGMENT_MEMBERSHIP)
                .arg(script_keys.len())
                .arg(script_keys.as_slice())
                .arg(arguments.as_slice());
        }
        listing::add_state_reads(&mut transaction, &self.keys, contact);
        let mut connection = self.connection.clone();
        let mut replies: Vec<Value> = transaction.query_async(&mut connection).await?;

        if replies.len() != changes.len() + 3 {
            return Err(corrupt("segments set", "a membership transaction returned the wrong number of replies"));
        }
        let state_replies: [Value; 3] = replies
            .split_off(changes.len())
            .try_into()
            .map_err(|_| corrupt("segments set", "a membership transaction returned the wrong number of replies"))?;
        let state = listing::decode_state(contact, state_replies)?;
        let mut changed = Vec::with_capacity(changes.len());
        for reply in replies {
            let reply: i64 = redis::from_redis_value(reply).map_err(::redis::RedisError::from)?;
            changed.push(reply == 1);
        }

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

    /// Reads the contact's slot with one pipeline. The reads need not be
    /// atomic, as the separate reads they replace were not.
    pub(super) async fn snapshot(&self, contact: ContactId) -> Result<ContactSnapshot> {
        let mut pipeline = redis::pipe();
        pipeline.hgetall(self.keys.contact(contact));
        pipeline.hlen(self.keys.push_subscriptions(contact));
        pipeline.smembers(self.keys.contact_sources(contact));
        pipeline.smembers(self.keys.contact_segments(contact));
        let pipeline = &pipeline;

        let (record, push_subscriptions, sources, segments): (Value, u64, Value, Value) =
            self.retrying("contact_snapshot", |mut connection| async move {
                Ok(pipeline.query_async(&mut connection).await?)
            })
            .await?;

        let mut segments: Vec<SegmentId> = decode::parsed(segments, "segments set")?;
        segments.sort();
        Ok(ContactSnapshot {
            record: decode::contact(contact, record)?,
            push_subscriptions: usize::try_from(push_subscriptions).unwrap_or(usize::MAX),
            sources: decode::parsed(sources, "sources set")?,
            segments,
        })
    }
}
