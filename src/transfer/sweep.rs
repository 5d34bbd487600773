//! The retention sweep of transfer files, which `footprint serve` runs
//! every [`SWEEP_INTERVAL`].
//!
//! A job's files (the upload, the reject report, the export file) stay in
//! the transfer directory after the job ends, so that they can be
//! downloaded. Each sweep deletes the files of jobs that ended more than
//! the retention ago and marks those jobs expired in the history: the
//! `link` becomes null and `expired_at` is set, so downloads return 410
//! Gone. It also deletes files whose job left the history, which keeps
//! only the newest [`MAX_TRANSFERS`](crate::store::MAX_TRANSFERS) jobs.
//! The files of a running job are never deleted.
//!
//! Several processes may share one store, each with its own transfer
//! directory. Each sweep marks jobs of the whole history but deletes
//! files in its own directory only, so every process deletes its own
//! copies of an expired job's files.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::jobs::{TransferFile, TransferFiles};
use crate::store::{now_millis, Millis, Store, StoreError, TransferId, TransferJob, TransferState};

/// Time between two sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3 * 60);

/// Minimum time since its last change before a file without a job in the
/// history is deleted. An upload is written before its job is saved, so
/// a younger file may belong to a request still in progress.
pub const ORPHAN_MIN_AGE: Duration = Duration::from_secs(60 * 60);

/// Jobs read from the history per request.
const HISTORY_PAGE: usize = 500;

/// The changes that one sweep made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Jobs marked expired.
    pub expired: usize,
    /// Files deleted from the transfer directory.
    pub files_deleted: usize,
}

/// Deletes expired transfer files and marks their jobs.
pub struct Sweeper {
    store: Arc<dyn Store>,
    files: TransferFiles,
    retention: Duration,
}

impl Sweeper {
    /// Builds a sweeper that keeps the files of an ended job for
    /// `retention`.
    pub fn new(store: Arc<dyn Store>, files: TransferFiles, retention: Duration) -> Sweeper {
        Sweeper { store, files, retention }
    }

    /// Sweeps every [`SWEEP_INTERVAL`], starting at once, until `stop`
    /// resolves. A failed sweep is logged and retried at the next one.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = ticks.tick() => {}
            }
            match self.sweep(now_millis()).await {
                Ok(report) if report == SweepReport::default() => {}
                Ok(report) => {
                    tracing::info!(
                        expired = report.expired,
                        files_deleted = report.files_deleted,
                        "transfer sweep done"
                    )
                }
                Err(error) => tracing::warn!(%error, "transfer sweep failed; retrying at the next sweep"),
            }
        }
        tracing::debug!("transfer sweeper stopped");
    }

    /// Marks the jobs whose files expired by `now`, deletes the files that
    /// no job needs any longer and returns the changes. Only a store
    /// failure is returned as an error. A file that cannot be
    /// deleted is logged and tried again at the next sweep.
    pub async fn sweep(&self, now: Millis) -> Result<SweepReport, StoreError> {
        let mut jobs = self.history().await?;
        let mut report = SweepReport::default();

        for job in jobs.values_mut() {
            if self.expires(job, now) {
                job.expired_at = Some(now);
                job.link = None;
                self.store.save_transfer(job).await?;
                tracing::info!(transfer.id = %job.id, "transfer files expired");
                report.expired += 1;
            }
        }

        report.files_deleted = self.delete_files(&jobs, now).await;
        Ok(report)
    }

    /// Reads the whole history.
    async fn history(&self) -> Result<HashMap<TransferId, TransferJob>, StoreError> {
        let mut jobs = HashMap::new();
        let mut before = None;
        loop {
            let page = self.store.transfers(before, HISTORY_PAGE).await?;
            let full = page.len() == HISTORY_PAGE;
            before = page.last().map(|job| job.id);
            jobs.extend(page.into_iter().map(|job| (job.id, job)));
            if !full {
                return Ok(jobs);
            }
        }
    }

    /// Returns whether `job` ended more than the retention before `now`
    /// and is not marked expired yet.
    fn expires(&self, job: &TransferJob, now: Millis) -> bool {
        if job.state == TransferState::Running || job.expired_at.is_some() {
            return false;
        }
        let ended = job.finished_at.unwrap_or(job.created_at);
        ended.saturating_add(millis(self.retention)) <= now
    }

    /// Deletes the files in the transfer directory that [`Self::keeps`]
    /// rejects, and returns how many were deleted.
    async fn delete_files(&self, jobs: &HashMap<TransferId, TransferJob>, now: Millis) -> usize {
        let mut entries = match tokio::fs::read_dir(self.files.dir()).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return 0,
            Err(error) => {
                tracing::warn!(%error, dir = %self.files.dir().display(), "listing the transfer directory failed");
                return 0;
            }
        };

        let mut deleted = 0;
        loop {
            let entry = match entries.next_entry().await {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, dir = %self.files.dir().display(), "listing the transfer directory failed");
                    break;
                }
            };
            let Some((id, _)) = entry.file_name().to_str().and_then(TransferFile::parse) else {
                continue;
            };
            if self.keeps(jobs.get(&id), &entry, now).await {
                continue;
            }

            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => deleted += 1,
                Err(error) => tracing::warn!(%error, transfer.id = %id, "deleting a transfer file failed"),
            }
        }
        deleted
    }

    /// Returns whether a file of the job `job` (`None` when it left the
    /// history) is still needed.
    async fn keeps(&self, job: Option<&TransferJob>, entry: &tokio::fs::DirEntry, now: Millis) -> bool {
        match job {
            Some(job) => job.state == TransferState::Running || job.expired_at.is_none(),
            None => {
                let modified = entry.metadata().await.and_then(|metadata| metadata.modified());
                let Ok(modified) = modified else {
                    return true;
                };
                system_millis(modified).saturating_add(millis(ORPHAN_MIN_AGE)) > now
            }
        }
    }
}

fn millis(duration: Duration) -> Millis {
    Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX)
}

fn system_millis(time: SystemTime) -> Millis {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => millis(since),
        Err(_) => 0,
    }
}
