//! Dynamic segment evaluation state on Redis: build progress in a hash
//! under the `{sg}` tag, next flip times in one sorted set per schedule
//! bucket (`{f:N}:flips`), and leases as plain keys with a TTL.
//!
//! A lease is `SET key owner NX PX ttl`. Extending and releasing compare
//! the owner first in a script, so an instance whose lease expired and was
//! taken over never extends or deletes the new holder's lease.

use std::time::Duration;

use redis::AsyncCommands;

use super::decode::corrupt;
use super::RedisStore;
use crate::store::{flip_bucket, ContactId, Millis, Result, SegmentBuild, SegmentId};

/// Extends the lease at KEYS[1] when ARGV[1] owns it, or takes it when it
/// is free. ARGV[2] is the TTL in milliseconds. Returns 1 when ARGV[1] owns
/// the lease afterwards.
const ACQUIRE_LEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
";

/// Deletes the lease at KEYS[1] only when ARGV[1] holds it.
const RELEASE_LEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Converts a schedule score to milliseconds. Scores are whole
/// milliseconds, which doubles hold exactly up to 2^53.
pub(super) fn score_millis(score: f64) -> Millis {
    score as Millis
}

impl RedisStore {
    pub(super) async fn read_build(&self, id: SegmentId) -> Result<Option<SegmentBuild>> {
        let key = &self.keys.segment_builds();
        self.retrying("segment_build", |mut connection| async move {
            let json: Option<String> = connection.hget(key, id.to_string()).await?;
            json.map(|json| serde_json::from_str(&json).map_err(|error| corrupt("segment build", error.to_string())))
                .transpose()
        })
        .await
    }

    pub(super) async fn write_build(&self, id: SegmentId, build: &SegmentBuild) -> Result<()> {
        let key = &self.keys.segment_builds();
        let json = &serde_json::to_string(build).map_err(|error| corrupt("segment build", error.to_string()))?;
        self.retrying("set_segment_build", |mut connection| async move {
            let _: () = connection.hset(key, id.to_string(), json).await?;
            Ok(())
        })
        .await
    }

    pub(super) async fn write_next_flip(&self, contact: ContactId, at: Option<Millis>) -> Result<()> {
        let key = &self.keys.flip_bucket(flip_bucket(contact));
        self.retrying("set_next_flip", |mut connection| async move {
            match at {
                Some(at) => connection.zadd::<_, _, _, ()>(key, contact.to_string(), at).await?,
                None => connection.zrem::<_, _, ()>(key, contact.to_string()).await?,
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn read_next_flip(&self, contact: ContactId) -> Result<Option<Millis>> {
        let key = &self.keys.flip_bucket(flip_bucket(contact));
        self.retrying("next_flip", |mut connection| async move {
            let score: Option<f64> = connection.zscore(key, contact.to_string()).await?;
            Ok(score.map(score_millis))
        })
        .await
    }

    /// Lowers or adds each contact's flip time with `ZADD ... LT` in one
    /// pipeline; repeating it changes nothing.
    pub(super) async fn lower_flips(&self, flips: &[(ContactId, Millis)]) -> Result<()> {
        if flips.is_empty() {
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for (contact, at) in flips {
            let key = self.keys.flip_bucket(flip_bucket(*contact));
            pipeline.cmd("ZADD").arg(key).arg("LT").arg(*at).arg(contact.to_string()).ignore();
        }
        let pipeline = &pipeline;
        self.retrying("lower_next_flips", |mut connection| async move {
            let () = pipeline.query_async(&mut connection).await?;
            Ok(())
        })
        .await
    }

    pub(super) async fn read_due_flips(&self, bucket: u8, now: Millis, limit: usize) -> Result<Vec<ContactId>> {
        let key = &self.keys.flip_bucket(bucket);
        let limit = isize::try_from(limit).unwrap_or(isize::MAX);
        self.retrying("due_flips", |mut connection| async move {
            let ids: Vec<String> = connection.zrangebyscore_limit(key, "-inf", now, 0, limit).await?;
            ids.iter()
                .map(|id| id.parse().map_err(|_| corrupt("flip schedule", format!("invalid contact id {id:?}"))))
                .collect()
        })
        .await
    }

    pub(super) async fn take_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let key = self.keys.lease(name);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut connection = self.connection.clone();
        let acquired: i64 =
            redis::Script::new(ACQUIRE_LEASE).key(key).arg(owner).arg(ttl_ms).invoke_async(&mut connection).await?;
        Ok(acquired == 1)
    }

    pub(super) async fn drop_lease(&self, name: &str, owner: &str) -> Result<()> {
        let key = self.keys.lease(name);
        let mut connection = self.connection.clone();
        let _: i64 = redis::Script::new(RELEASE_LEASE).key(key).arg(owner).invoke_async(&mut connection).await?;
        Ok(())
    }
}
