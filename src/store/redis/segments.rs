//! Segments on Redis: definitions in two hashes under the `{sg}` tag, a
//! set of segment ids in each contact's slot, and each segment's index in
//! the contacts-list shards (`{x:N}:s:<segment>`, see
//! [`crate::store::keys`]).
//!
//! A membership change runs one script in the contact's slot (the set, the
//! activity and `updated`), then updates the index in the shard's slot. A
//! crash between the two leaves the index behind the set; list readers
//! check the set and skip (and remove) what it does not confirm. The
//! membership changes themselves are in [`super::membership`].

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Value};

use super::decode::{self, corrupt};
use super::RedisStore;
use crate::segments::{Segment, MAX_SEGMENTS};
use crate::store::keys::{list_shard, LIST_SHARDS};
use crate::store::{ContactId, Result, SegmentId, SegmentWrite, SEGMENT_DELETE_CHUNK};

fn decode_segment(json: &str) -> Result<Segment> {
    serde_json::from_str(json).map_err(|error| corrupt("segment", error.to_string()))
}

fn encode_segment(segment: &Segment) -> Result<String> {
    serde_json::to_string(segment).map_err(|error| corrupt("segment", error.to_string()))
}

fn decode_outcome(reply: &str) -> Result<SegmentWrite> {
    match reply {
        "written" => Ok(SegmentWrite::Written),
        "name_taken" => Ok(SegmentWrite::NameTaken),
        "full" => Ok(SegmentWrite::Full),
        "not_found" => Ok(SegmentWrite::NotFound),
        other => Err(corrupt("segment", format!("unexpected script reply {other:?}"))),
    }
}

impl RedisStore {
    fn definition_keys(&self) -> [String; 2] {
        [self.keys.segment_definitions(), self.keys.segment_names()]
    }

    pub(super) async fn all_segments(&self) -> Result<Vec<Segment>> {
        let key = &self.keys.segment_definitions();
        self.retrying("segments", |mut connection| async move {
            let reply: Value = connection.hgetall(key).await?;
            let mut segments = Vec::new();
            for (_, json) in decode::hash(reply, "segment definitions")? {
                segments.push(decode_segment(&json)?);
            }
            segments.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(segments)
        })
        .await
    }

    pub(super) async fn one_segment(&self, id: SegmentId) -> Result<Option<Segment>> {
        let key = &self.keys.segment_definitions();
        self.retrying("segment", |mut connection| async move {
            let json: Option<String> = connection.hget(key, id.to_string()).await?;
            json.as_deref().map(decode_segment).transpose()
        })
        .await
    }

    /// Not repeated after a connection error: a repeat after an applied
    /// create would report `NameTaken`.
    pub(super) async fn write_new_segment(&self, segment: &Segment) -> Result<SegmentWrite> {
        let mut connection = self.connection.clone();
        let reply: String = self
            .scripts
            .create_segment
            .key(self.definition_keys().as_slice())
            .arg(segment.id.to_string())
            .arg(&segment.name)
            .arg(encode_segment(segment)?)
            .arg(MAX_SEGMENTS)
            .invoke_async(&mut connection)
            .await?;
        decode_outcome(&reply)
    }

    pub(super) async fn write_segment(&self, segment: &Segment) -> Result<SegmentWrite> {
        let script_keys = &self.definition_keys();
        let json = &encode_segment(segment)?;
        let reply: String = self
            .retrying("replace_segment", |mut connection| async move {
                let reply: String = self
                    .scripts
                    .replace_segment
                    .key(script_keys.as_slice())
                    .arg(segment.id.to_string())
                    .arg(&segment.name)
                    .arg(json)
                    .invoke_async(&mut connection)
                    .await?;
                Ok(reply)
            })
            .await?;
        decode_outcome(&reply)
    }

    pub(super) async fn erase_segment(&self, id: SegmentId) -> Result<Option<Segment>> {
        for shard in 0..LIST_SHARDS {
            let bucket = &self.keys.segment_bucket(shard, id);
            self.retrying("delete_segment", |mut connection| async move {
                self.empty_bucket(&mut connection, bucket, id).await
            })
            .await?;
        }

        // Not repeated after a connection error: a repeat after an applied
        // delete would return `None` for a segment it deleted.
        let mut connection = self.connection.clone();
        let json: Option<String> = self
            .scripts
            .delete_segment
            .key(self.definition_keys().as_slice())
            .arg(id.to_string())
            .invoke_async(&mut connection)
            .await?;
        json.as_deref().map(decode_segment).transpose()
    }

    /// Removes every member of one bucket, [`SEGMENT_DELETE_CHUNK`] at a
    /// time: the segment id from each member's set first, then the chunk
    /// from the bucket, so a crash leaves entries that a repeat finds.
    async fn empty_bucket(&self, connection: &mut ConnectionManager, bucket: &str, id: SegmentId) -> Result<()> {
        let segment = id.to_string();
        loop {
            let stop = isize::try_from(SEGMENT_DELETE_CHUNK).unwrap_or(isize::MAX) - 1;
            let members: Vec<String> = connection.zrange(bucket, 0, stop).await?;
            if members.is_empty() {
                return Ok(());
            }

            let mut pipeline = redis::pipe();
            for member in &members {
                let contact: ContactId = member
                    .parse()
                    .map_err(|_| corrupt("segment index", format!("invalid member {member:?} in {bucket}")))?;
                pipeline.srem(self.keys.contact_segments(contact), &segment).ignore();
            }
            pipeline.zrem(bucket, &members).ignore();
            let () = pipeline.query_async(connection).await?;
        }
    }

    pub(super) async fn segments_of(&self, contact: ContactId) -> Result<Vec<SegmentId>> {
        let key = &self.keys.contact_segments(contact);
        self.retrying("contact_segments", |mut connection| async move {
            let members: Value = connection.smembers(key).await?;
            let mut segments: Vec<SegmentId> = decode::parsed(members, "segments set")?;
            segments.sort();
            Ok(segments)
        })
        .await
    }

    pub(super) async fn leave_segments(&self, contact: ContactId) -> Result<Vec<SegmentId>> {
        let segments = self.segments_of(contact).await?;
        self.remove_index_entries(contact, &segments).await?;

        let key = &self.keys.contact_segments(contact);
        self.retrying("leave_all_segments", |mut connection| async move {
            let _: i64 = connection.del(key).await?;
            Ok(())
        })
        .await?;
        Ok(segments)
    }

    /// Removes `contact` from the index of each of `segments`.
    pub(super) async fn remove_index_entries(&self, contact: ContactId, segments: &[SegmentId]) -> Result<()> {
        if segments.is_empty() {
            return Ok(());
        }
        let shard = list_shard(contact);
        let mut pipeline = redis::pipe();
        for segment in segments {
            pipeline.zrem(self.keys.segment_bucket(shard, *segment), contact.to_string()).ignore();
        }
        let pipeline = &pipeline;
        self.retrying("remove_segment_entries", |mut connection| async move {
            let () = pipeline.query_async(&mut connection).await?;
            Ok(())
        })
        .await
    }

    pub(super) async fn size_of(&self, id: SegmentId) -> Result<u64> {
        let mut pipeline = redis::pipe();
        for shard in 0..LIST_SHARDS {
            pipeline.zcard(self.keys.segment_bucket(shard, id));
        }
        let pipeline = &pipeline;
        self.retrying("segment_size", |mut connection| async move {
            let sizes: Vec<u64> = pipeline.query_async(&mut connection).await?;
            Ok(sizes.iter().sum())
        })
        .await
    }
}
