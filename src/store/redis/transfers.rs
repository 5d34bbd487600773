//! The import and export history on Redis: job JSON in one hash and the
//! job ids in a sorted set with equal scores, which Redis orders by id
//! (see [`crate::store::transfers`]). Both keys share the `{tr}` tag, so
//! the saving script runs on Redis Cluster too.

use redis::AsyncCommands;

use super::decode::corrupt;
use super::RedisStore;
use crate::store::{Result, TransferId, TransferJob, MAX_TRANSFERS};

impl RedisStore {
    pub(super) async fn write_transfer(&self, job: &TransferJob) -> Result<()> {
        let json = serde_json::to_string(job).map_err(|error| corrupt("transfer job", error.to_string()))?;
        let mut connection = self.connection.clone();
        let _: i64 = self
            .scripts
            .save_transfer
            .key(self.keys.transfer_jobs())
            .key(self.keys.transfer_order())
            .arg(job.id.to_string())
            .arg(json)
            .arg(MAX_TRANSFERS)
            .invoke_async(&mut connection)
            .await?;
        Ok(())
    }

    pub(super) async fn read_transfer(&self, id: TransferId) -> Result<Option<TransferJob>> {
        let key = &self.keys.transfer_jobs();
        self.retrying("transfer", |mut connection| async move {
            let json: Option<String> = connection.hget(key, id.to_string()).await?;
            json.map(|json| decode_job(&json)).transpose()
        })
        .await
    }

    pub(super) async fn read_transfers(&self, before: Option<TransferId>, limit: usize) -> Result<Vec<TransferJob>> {
        let (jobs, order) = (&self.keys.transfer_jobs(), &self.keys.transfer_order());
        let upper = before.map_or_else(|| "+".to_owned(), |before| format!("({before}"));
        let limit = isize::try_from(limit).unwrap_or(isize::MAX);
        let (upper, limit) = (&upper, limit);

        self.retrying("transfers", |mut connection| async move {
            let ids: Vec<String> = redis::cmd("ZRANGE")
                .arg(order)
                .arg(upper)
                .arg("-")
                .arg("BYLEX")
                .arg("REV")
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .query_async(&mut connection)
                .await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let found: Vec<Option<String>> =
                redis::cmd("HMGET").arg(jobs).arg(&ids).query_async(&mut connection).await?;
            // A job dropped between the two reads is left out.
            found.iter().flatten().map(|json| decode_job(json)).collect()
        })
        .await
    }
}

fn decode_job(json: &str) -> Result<TransferJob> {
    serde_json::from_str(json).map_err(|error| corrupt("transfer job", error.to_string()))
}
