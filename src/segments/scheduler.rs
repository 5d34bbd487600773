//! The scheduler: re-evaluates contacts whose memberships change with time
//! alone, such as "no login in the last 30 days".
//!
//! Every evaluation stores the contact's next flip time in its schedule
//! bucket ([`crate::store::flip_bucket`]). Every [`TICK`] the scheduler
//! takes, bucket by bucket, the contacts whose flip time has come and
//! evaluates them again, which stores their new flip time.
//!
//! Several instances on one store share the work through a lease per
//! bucket ([`crate::store::Store::acquire_lease`]): only the holder
//! processes a bucket, and the holder extends its lease after every batch.
//! If a holder dies, its lease expires after [`LEASE_TTL`] and another
//! instance takes the bucket over at its next tick, so a flip happens at
//! most `TICK + LEASE_TTL` (35 s) after its moment, plus the time to work
//! through a backlog. Entering and leaving are recorded once even when two
//! evaluations race, because the store's member operations change nothing
//! when the membership is already as requested.

use std::sync::Arc;
use std::time::Duration;

use super::evaluator::Evaluator;
use crate::store::{StoreError, FLIP_BUCKETS};

/// Time between two passes over the buckets.
pub const TICK: Duration = Duration::from_secs(5);

/// Lifetime of a bucket lease without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// Due contacts read and evaluated per batch.
const BATCH: usize = 200;

/// Delay before a contact whose evaluation failed is tried again, in ms.
const RETRY_DELAY_MS: i64 = 30_000;

/// Re-evaluates contacts when their flip time comes.
pub struct Scheduler {
    evaluator: Arc<Evaluator>,
    /// Identifies this instance in leases.
    owner: String,
}

impl Scheduler {
    pub fn new(evaluator: Arc<Evaluator>) -> Scheduler {
        Scheduler { evaluator, owner: uuid::Uuid::new_v4().to_string() }
    }

    /// Runs passes every [`TICK`] until `stop` completes.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = ticks.tick() => {}
            }
            match self.run_once().await {
                Ok(0) => {}
                Ok(count) => tracing::debug!(count, "due segment flips evaluated"),
                Err(error) => tracing::warn!(%error, "segment scheduler pass failed; retrying at the next tick"),
            }
        }
        tracing::debug!("segment scheduler stopped");
    }

    /// Processes every bucket whose lease this instance gets, and returns
    /// the number of contacts evaluated.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let mut evaluated = 0;
        for bucket in 0..FLIP_BUCKETS {
            evaluated += self.run_bucket(bucket).await?;
        }
        Ok(evaluated)
    }

    async fn run_bucket(&self, bucket: u8) -> Result<usize, StoreError> {
        let store = self.evaluator.store().clone();
        let lease = format!("flips:{bucket}");
        if !store.acquire_lease(&lease, &self.owner, LEASE_TTL).await? {
            return Ok(0);
        }

        let mut evaluated = 0;
        let outcome = async {
            loop {
                let now = self.evaluator.now();
                let due = store.due_flips(bucket, now, BATCH).await?;
                if due.is_empty() {
                    return Ok(());
                }
                for contact in due {
                    match self.evaluator.evaluate(contact).await {
                        // The evaluator writes only a new time, and only
                        // while a condition depends on time, so a contact
                        // with none left is unscheduled here.
                        Ok(evaluation) if evaluation.next_flip.is_none() => {
                            store.set_next_flip(contact, None).await?;
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(contact.id = %contact, %error, "scheduled segment evaluation failed; retrying");
                            store.set_next_flip(contact, Some(now + RETRY_DELAY_MS)).await?;
                        }
                    }
                    evaluated += 1;
                }
                if !store.acquire_lease(&lease, &self.owner, LEASE_TTL).await? {
                    tracing::warn!(bucket, "schedule bucket lease lost; another instance continues");
                    return Ok(());
                }
            }
        }
        .await;

        store.release_lease(&lease, &self.owner).await?;
        outcome.map(|()| evaluated)
    }
}
