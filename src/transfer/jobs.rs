//! Import jobs: an uploaded file on disk, read in a blocking task and
//! applied row by row in the background.
//!
//! The reader runs on a blocking thread and sends outcomes through a
//! bounded channel, so memory stays bounded by the channel and the
//! longest row whatever the file's size. The writer takes up to
//! [`BATCH_ROWS`] outcomes at a time and applies rows of different keys
//! concurrently, rows of one key in file order. Progress is saved to the
//! history every [`PROGRESS_ROWS`] rows or [`PROGRESS_INTERVAL`]. Rejected
//! rows go to a CSV report beside the upload (`row`, `column`,
//! `reason`), which the admin API serves. The upload is deleted when the
//! job ends.
//!
//! NOTE: a job runs in the process that received the upload and is not
//! resumed after a restart. Its saves are its heartbeat, so the sweep
//! ([`super::sweep`]) marks it `failed` as interrupted once it has not
//! saved for [`STALE_AFTER`](super::sweep::STALE_AFTER), and deletes its
//! upload.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, TryStreamExt as _};
use tokio::sync::mpsc;

use super::import::{ImportSettings, Importer, RowResult};
use super::sweep::save_job;
use super::{ImportOptions, ImportRow, MappingReport, Reject, RowOutcome};
use crate::store::{now_millis, TransferId, TransferJob, TransferState};

/// Rows between two progress saves.
pub const PROGRESS_ROWS: u64 = 1_000;

/// Maximum time between two progress saves while rows arrive.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Row outcomes the reader may run ahead of the writer.
const CHANNEL_ROWS: usize = 1024;

/// Rows taken from the reader at once and applied together.
pub const BATCH_ROWS: usize = 1024;

/// Waits before the repeats of a row whose store call failed.
const ROW_RETRY_DELAYS: [Duration; 3] = [Duration::from_millis(200), Duration::from_secs(1), Duration::from_secs(5)];

/// Keys of a batch applied at the same time.
const CONCURRENT_KEYS: usize = 128;

/// The directory of a process's transfer job files.
#[derive(Clone, Debug)]
pub struct TransferFiles {
    dir: PathBuf,
}

impl TransferFiles {
    pub fn new(dir: PathBuf) -> TransferFiles {
        TransferFiles { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the path of job `id`'s uploaded file.
    pub fn upload(&self, id: TransferId) -> PathBuf {
        self.path(id, TransferFile::Upload)
    }

    /// Returns the path of export job `id`'s file.
    pub fn export(&self, id: TransferId) -> PathBuf {
        self.path(id, TransferFile::Export)
    }

    /// Returns the path of job `id`'s reject report.
    pub fn rejects(&self, id: TransferId) -> PathBuf {
        self.path(id, TransferFile::Rejects)
    }

    /// Returns the path of job `id`'s file of kind `file`.
    pub fn path(&self, id: TransferId, file: TransferFile) -> PathBuf {
        self.dir.join(format!("{id}{}", file.suffix()))
    }
}

/// The kinds of file a job keeps in the transfer directory, each named
/// `<job id><suffix>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferFile {
    Upload,
    Export,
    Rejects,
}

impl TransferFile {
    pub const ALL: [TransferFile; 3] = [TransferFile::Upload, TransferFile::Export, TransferFile::Rejects];

    fn suffix(self) -> &'static str {
        match self {
            TransferFile::Upload => ".upload",
            TransferFile::Export => ".export",
            TransferFile::Rejects => ".rejects.csv",
        }
    }

    /// Returns the job id and kind of a file name in the transfer
    /// directory, or `None` for a name that no job uses.
    pub fn parse(name: &str) -> Option<(TransferId, TransferFile)> {
        TransferFile::ALL.into_iter().find_map(|file| {
            let id = name.strip_suffix(file.suffix())?.parse().ok()?;
            Some((id, file))
        })
    }
}

/// An import job ready to run: its history entry, with the file already
/// stored at [`TransferFiles::upload`].
#[derive(Clone, Debug)]
pub struct ImportRequest {
    pub job: TransferJob,
    pub options: ImportOptions,
    pub settings: ImportSettings,
}

/// A message from the reader thread.
enum Message {
    Outcome(RowOutcome),
    /// The reader finished, or failed with `error`.
    End {
        report: MappingReport,
        blank: u64,
        error: Option<String>,
    },
}

/// Runs `request` in a task and returns at once.
pub fn spawn(importer: Arc<Importer>, files: TransferFiles, request: ImportRequest) {
    tokio::spawn(async move {
        let id = request.job.id;
        if let Err(error) = run(&importer, &files, request).await {
            tracing::warn!(import.id = %id, %error, "import job stopped; its history entry may show it running");
        }
    });
}

/// Runs an import to its end and returns its final history entry. Only a
/// failure to save the history is returned as an error; every other
/// failure ends the job as `failed`.
pub async fn run(
    importer: &Importer,
    files: &TransferFiles,
    request: ImportRequest,
) -> Result<TransferJob, crate::store::StoreError> {
    let ImportRequest { mut job, options, settings } = request;
    let store = importer.store().clone();
    let upload = files.upload(job.id);

    let outcome = apply_file(importer, files, &mut job, &options, &settings, &upload).await;
    job.finished_at = Some(now_millis());
    match outcome {
        Ok(()) => job.state = TransferState::Finished,
        Err(reason) => {
            tracing::warn!(import.id = %job.id, reason = %reason, "import job failed");
            job.state = TransferState::Failed;
            job.error = Some(reason);
        }
    }
    if let Err(error) = std::fs::remove_file(&upload) {
        tracing::warn!(import.id = %job.id, %error, "failed to delete an import's uploaded file");
    }

    save_job(store.as_ref(), &mut job).await?;
    tracing::info!(
        import.id = %job.id,
        read = job.counts.read,
        created = job.counts.created,
        updated = job.counts.updated,
        rejected = job.counts.rejected,
        "import job ended"
    );
    Ok(job)
}

/// Reads the upload and applies its rows, updating `job`'s counts.
/// Returns the reason when the job cannot go on.
async fn apply_file(
    importer: &Importer,
    files: &TransferFiles,
    job: &mut TransferJob,
    options: &ImportOptions,
    settings: &ImportSettings,
    upload: &Path,
) -> Result<(), String> {
    let store = importer.store().clone();
    let definitions =
        store.field_definitions().await.map_err(|error| format!("reading field definitions failed: {error}"))?;
    let file = File::open(upload).map_err(|error| format!("opening the uploaded file failed: {error}"))?;
    let rejects_file =
        File::create(files.rejects(job.id)).map_err(|error| format!("creating the reject report failed: {error}"))?;
    let mut rejects = csv::Writer::from_writer(BufWriter::new(rejects_file));
    rejects
        .write_record(["row", "column", "reason"])
        .map_err(|error| format!("writing the reject report failed: {error}"))?;

    let (sender, mut receiver) = mpsc::channel(CHANNEL_ROWS);
    let options = options.clone();
    let reader = tokio::task::spawn_blocking(move || read_rows(file, &options, &definitions, &sender));

    let (mut saved, mut saved_at_row) = (Instant::now(), 0);
    let mut end = None;
    let mut messages = Vec::with_capacity(BATCH_ROWS);
    while end.is_none() {
        // Waiting for rows is bounded, so a job whose reader is slow still
        // saves its heartbeat. `recv_many` loses no message on a timeout.
        match tokio::time::timeout(PROGRESS_INTERVAL, receiver.recv_many(&mut messages, BATCH_ROWS)).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => {
                save_job(store.as_ref(), job).await.map_err(|error| format!("saving progress failed: {error}"))?;
                (saved, saved_at_row) = (Instant::now(), job.counts.read);
                continue;
            }
        }

        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages.drain(..) {
            match message {
                Message::Outcome(outcome) => outcomes.push(outcome),
                Message::End { report, blank, error } => end = Some((report, blank, error)),
            }
        }

        job.counts.read += outcomes.len() as u64;
        let mut batch_rejects = apply_batch(importer, settings, job, outcomes).await?;
        batch_rejects.sort_by_key(|reject| reject.row);
        for reject in batch_rejects {
            job.counts.rejected += 1;
            let column = reject.column.unwrap_or_default();
            let record = [reject.row.to_string(), column, reject.reason];
            rejects.write_record(&record).map_err(|error| format!("writing the reject report failed: {error}"))?;
        }

        if job.counts.read - saved_at_row >= PROGRESS_ROWS || saved.elapsed() >= PROGRESS_INTERVAL {
            save_job(store.as_ref(), job).await.map_err(|error| format!("saving progress failed: {error}"))?;
            (saved, saved_at_row) = (Instant::now(), job.counts.read);
        }
    }
    drop(receiver);
    if let Err(error) = reader.await {
        return Err(format!("the file reader stopped: {error}"));
    }
    rejects.flush().map_err(|error| format!("writing the reject report failed: {error}"))?;

    let Some((report, blank, error)) = end else {
        return Err("the file reader stopped without a result".to_owned());
    };
    job.counts.blank = blank;
    job.columns = serde_json::to_value(&report).unwrap_or_else(|_| serde_json::json!({ "columns": [] }));
    match error {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// Applies a batch of row outcomes and returns the rejects, including the
/// reader's. Rows with the same key run one after another in file order,
/// and different keys concurrently.
///
/// NOTE: two rows of one batch with different keys that claim the same
/// email or cellphone race, and which one is rejected is not fixed.
async fn apply_batch(
    importer: &Importer,
    settings: &ImportSettings,
    job: &mut TransferJob,
    outcomes: Vec<RowOutcome>,
) -> Result<Vec<Reject>, String> {
    let mut rejects = Vec::new();
    let mut groups: Vec<Vec<ImportRow>> = Vec::new();
    let mut group_of_key: HashMap<String, usize> = HashMap::new();
    for outcome in outcomes {
        match outcome {
            RowOutcome::Reject(reject) => rejects.push(reject),
            RowOutcome::Row(row) => {
                let index = *group_of_key.entry(row.key.clone()).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[index].push(row);
            }
        }
    }

    let results: Vec<Vec<RowResult>> = futures_util::stream::iter(groups)
        .map(|group| async move {
            let mut results = Vec::with_capacity(group.len());
            for row in &group {
                let result = apply_with_retries(importer, settings, row).await;
                results.push(result.map_err(|error| format!("the contact store failed at row {}: {error}", row.row))?);
            }
            Ok::<_, String>(results)
        })
        .buffer_unordered(CONCURRENT_KEYS)
        .try_collect()
        .await?;
    for result in results.into_iter().flatten() {
        rejects.extend(count(job, result));
    }
    Ok(rejects)
}

/// Applies `row`, and applies it again after [`ROW_RETRY_DELAYS`] while the
/// store fails, so that one timeout under load does not fail the job. A
/// repeat completes what the failed attempt left half done: a write that
/// may have been applied keeps its claims, so the repeat finds the contact
/// it created, or creates it under the id that owns the claims.
async fn apply_with_retries(
    importer: &Importer,
    settings: &ImportSettings,
    row: &ImportRow,
) -> Result<RowResult, crate::store::StoreError> {
    let mut delays = ROW_RETRY_DELAYS.iter();
    let mut repeat = false;
    loop {
        let error = match importer.apply(settings, row, now_millis(), repeat).await {
            Ok(result) => return Ok(result),
            Err(error) => error,
        };
        let Some(delay) = delays.next() else {
            return Err(error);
        };
        metrics::counter!("footprint_import_row_retries_total").increment(1);
        tracing::warn!(import.id = %settings.job, row = row.row, %error, "the contact store failed on an import row; applying it again");
        tokio::time::sleep(*delay).await;
        repeat = true;
    }
}

/// Adds a row's result to the counts; returns its reject, if any.
fn count(job: &mut TransferJob, result: RowResult) -> Option<Reject> {
    match result {
        RowResult::Created(_) => job.counts.created += 1,
        RowResult::Updated(_) => job.counts.updated += 1,
        RowResult::Unchanged(_) => job.counts.unchanged += 1,
        RowResult::Skipped => job.counts.skipped += 1,
        RowResult::Rejected(reject) => return Some(reject),
    }
    None
}

/// Reads every row of `file` on the calling (blocking) thread and sends
/// the outcomes, then the end. Stops early when the receiver is gone.
fn read_rows(
    file: File,
    options: &ImportOptions,
    definitions: &[crate::store::FieldDefinition],
    sender: &mpsc::Sender<Message>,
) {
    let mut reader = match super::read(std::io::BufReader::new(file), options, definitions) {
        Ok(reader) => reader,
        Err(error) => {
            let end = Message::End { report: MappingReport::default(), blank: 0, error: Some(error.to_string()) };
            let _ = sender.blocking_send(end);
            return;
        }
    };

    let mut error = None;
    for item in reader.by_ref() {
        match item {
            Ok(outcome) => {
                if sender.blocking_send(Message::Outcome(outcome)).is_err() {
                    return;
                }
            }
            Err(failure) => {
                error = Some(failure.to_string());
                break;
            }
        }
    }
    let end = Message::End { report: reader.mapping_report(), blank: reader.blank_rows(), error };
    let _ = sender.blocking_send(end);
}
