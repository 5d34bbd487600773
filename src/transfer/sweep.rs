//! The sweep of transfer jobs and files, which `footprint serve` runs
//! every [`SWEEP_INTERVAL`].
//!
//! A job runs in the process that started it and is not resumed after
//! that process stops. Every save of a running job is its heartbeat
//! because it sets `updated_at`. Jobs save at least every
//! [`PROGRESS_INTERVAL`](super::jobs::PROGRESS_INTERVAL), also while no
//! row arrives or is written, unless one store call takes longer. Each
//! sweep marks a running job whose last save is [`STALE_AFTER`] old as
//! `failed` with an "interrupted" error, and deletes its upload and its
//! incomplete export file. So a process that starts leaves the live jobs
//! of other processes on the same store alone, because they keep saving.
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
use crate::store::{now_millis, Millis, Store, StoreError, TransferId, TransferJob, TransferKind, TransferState};

/// Time between two sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3 * 60);

/// Age of a running job's last save after which the sweep considers its
/// process stopped. It is many times [`PROGRESS_INTERVAL`](super::jobs::PROGRESS_INTERVAL), so that a
/// slow store call or a paused process does not fail a live job.
pub const STALE_AFTER: Duration = Duration::from_secs(5 * 60);

/// Minimum time since its last change before a file without a job in the
/// history is deleted. An upload is written before its job is saved, so
/// a younger file may belong to a request still in progress.
pub const ORPHAN_MIN_AGE: Duration = Duration::from_secs(60 * 60);

/// Jobs read from the history per request.
const HISTORY_PAGE: usize = 500;

/// The changes that one sweep made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Running jobs marked failed because their process stopped.
    pub interrupted: usize,
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

    /// Sweeps every [`SWEEP_INTERVAL`], the first time one interval after
    /// the start, until `stop` resolves. A failed sweep is logged and
    /// retried at the next one. Sweeping at the start would gain nothing:
    /// a job of a process that just stopped is not [`STALE_AFTER`] old yet.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let first = tokio::time::Instant::now() + SWEEP_INTERVAL;
        let mut ticks = tokio::time::interval_at(first, SWEEP_INTERVAL);
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
                        interrupted = report.interrupted,
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

    /// Fails the running jobs that stopped saving, marks the jobs whose
    /// files expired by `now`, deletes the files that no job needs any
    /// longer and returns the changes. Only a store failure is returned as
    /// an error. A file that cannot be deleted is logged and tried again
    /// at the next sweep.
    ///
    /// NOTE: the history has no compare-and-set, so a job whose process
    /// was paused longer than [`STALE_AFTER`] and then saves again turns
    /// from `failed` back to `running`, and its upload is already gone.
    pub async fn sweep(&self, now: Millis) -> Result<SweepReport, StoreError> {
        let mut jobs = self.history().await?;
        let mut report = SweepReport::default();

        for job in jobs.values_mut() {
            if is_stale(job, now) {
                let last_saved = last_saved(job);
                job.state = TransferState::Failed;
                job.error = Some(interrupted_error(job.kind).to_owned());
                job.finished_at = Some(now);
                job.updated_at = now;
                self.store.save_transfer(job).await?;
                tracing::warn!(transfer.id = %job.id, last_saved, "transfer job interrupted");
                report.interrupted += 1;
            }

            if self.expires(job, now) {
                job.expired_at = Some(now);
                job.link = None;
                job.updated_at = now;
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

    /// Deletes the files in the transfer directory that [`keeps`] rejects,
    /// and returns how many were deleted.
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
            let Some((id, file)) = entry.file_name().to_str().and_then(TransferFile::parse) else {
                continue;
            };
            if keeps(jobs.get(&id), file, &entry, now).await {
                continue;
            }

            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => deleted += 1,
                Err(error) => tracing::warn!(%error, transfer.id = %id, "deleting a transfer file failed"),
            }
        }
        deleted
    }
}

/// Returns whether `file` of `job` (`None` when the job left the history)
/// is still needed. An ended job keeps its reject report and its finished
/// export file until they expire. It needs no upload, which only an
/// interrupted import leaves behind, and a failed export's file is
/// incomplete.
async fn keeps(job: Option<&TransferJob>, file: TransferFile, entry: &tokio::fs::DirEntry, now: Millis) -> bool {
    let Some(job) = job else {
        let modified = entry.metadata().await.and_then(|metadata| metadata.modified());
        let Ok(modified) = modified else {
            return true;
        };
        return system_millis(modified).saturating_add(millis(ORPHAN_MIN_AGE)) > now;
    };

    match (job.state, file) {
        (TransferState::Running, _) => true,
        _ if job.expired_at.is_some() => false,
        (_, TransferFile::Upload) => false,
        (TransferState::Failed, TransferFile::Export) => false,
        (_, TransferFile::Export | TransferFile::Rejects) => true,
    }
}

/// Saves `job` to the history with `updated_at` set to now. Each save of a
/// running job is its heartbeat (see [`STALE_AFTER`]).
pub async fn save_job(store: &dyn Store, job: &mut TransferJob) -> Result<(), StoreError> {
    job.updated_at = now_millis();
    store.save_transfer(job).await
}

/// Returns when `job` was last saved. Jobs stored before `updated_at`
/// existed have 0 there, and their creation time counts instead.
fn last_saved(job: &TransferJob) -> Millis {
    job.updated_at.max(job.created_at)
}

/// Returns whether `job` is running but was last saved [`STALE_AFTER`] or
/// longer before `now`.
fn is_stale(job: &TransferJob, now: Millis) -> bool {
    job.state == TransferState::Running && last_saved(job).saturating_add(millis(STALE_AFTER)) <= now
}

/// Returns the error of a job whose process stopped while it ran.
pub fn interrupted_error(kind: TransferKind) -> &'static str {
    match kind {
        TransferKind::Import => {
            "interrupted: the Footprint process running this import stopped before it ended; import the file \
             again, since rows already applied change nothing"
        }
        TransferKind::Export => {
            "interrupted: the Footprint process running this export stopped before it ended; start the export again"
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
