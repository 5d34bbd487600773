//! Export jobs: contacts or their activities written to a file in the
//! transfer directory by a background task.
//!
//! The task walks the contacts list one list shard after another (each
//! shard newest first), a page of contacts at a time, and for activities
//! one page of a timeline at a time. It hands each batch to the
//! synchronous writer on a blocking thread, and reads the next page of
//! contacts meanwhile. Memory is therefore bounded by two pages of
//! [`PAGE_SIZE`] and by [`BATCH_ROWS`], whatever the number of rows.
//! Progress (`counts.read`, the rows written) is saved to the history
//! every [`PROGRESS_ROWS`] rows or [`PROGRESS_INTERVAL`], also while no
//! row is written, because each save is the job's heartbeat.
//! A failed job deletes its incomplete file.
//!
//! NOTE: a job runs in the process that received the request and is not
//! resumed after a restart. The sweep ([`super::sweep`]) then marks it
//! `failed` as interrupted and deletes its incomplete file. A finished
//! file stays until the sweep deletes it after the retention.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use super::export::{ActivityWriter, ContactWriter, ExportError, ExportOptions};
use super::jobs::{TransferFiles, PROGRESS_INTERVAL, PROGRESS_ROWS};
use super::sweep::save_job;
use crate::store::{
    now_millis, Activity, ActivityKind, ActivityQuery, ContactFilter, ContactId, ContactRecord, Millis, ShardCursor,
    Store, StoreError, TransferId, TransferJob, TransferState,
};

/// Contacts read from the store per page.
pub const PAGE_SIZE: usize = 1_000;

/// Activities collected before they are handed to the writer.
pub const BATCH_ROWS: usize = 500;

/// The rows an export writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportContent {
    /// One row per contact that the filter accepts.
    Contacts,
    /// One row per activity of each contact that the filter accepts.
    Activities(ActivityFilter),
}

/// The activities an activities export keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    /// Only these types, or every type when empty.
    pub kinds: BTreeSet<ActivityKind>,
    /// Only activities at or after this time.
    pub from: Option<Millis>,
    /// Only activities at or before this time.
    pub to: Option<Millis>,
}

impl ActivityFilter {
    fn accepts(&self, activity: &Activity) -> bool {
        self.from.is_none_or(|from| activity.at >= from) && self.to.is_none_or(|to| activity.at <= to)
    }
}

/// An export job ready to run: its history entry and what to write.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub job: TransferJob,
    pub content: ExportContent,
    pub filter: ContactFilter,
    pub options: ExportOptions,
}

/// A failure that ends an export job.
#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("the contact store failed: {0}")]
    Store(#[from] StoreError),
    #[error("creating the export file failed: {0}")]
    Create(#[source] std::io::Error),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("the export writer thread stopped: {0}")]
    Writer(#[from] tokio::task::JoinError),
}

/// Runs `request` in a task and returns at once.
pub fn spawn(store: Arc<dyn Store>, files: TransferFiles, request: ExportRequest) {
    tokio::spawn(async move {
        let id = request.job.id;
        if let Err(error) = run(store.as_ref(), &files, request).await {
            tracing::warn!(export.id = %id, %error, "export job stopped; its history entry may show it running");
        }
    });
}

/// Runs an export to its end and returns its final history entry. Only a
/// failure to save the history is returned as an error; every other
/// failure ends the job as `failed`.
pub async fn run(store: &dyn Store, files: &TransferFiles, request: ExportRequest) -> Result<TransferJob, StoreError> {
    let ExportRequest { mut job, content, filter, options } = request;
    let path = files.export(job.id);

    let outcome = match &content {
        ExportContent::Contacts => write_contacts(store, &mut job, filter, &options, &path).await,
        ExportContent::Activities(activities) => {
            write_activities(store, &mut job, filter, activities, &options, &path).await
        }
    };

    job.finished_at = Some(now_millis());
    match outcome {
        Ok(()) => job.state = TransferState::Finished,
        Err(error) => {
            tracing::warn!(export.id = %job.id, %error, "export job failed");
            job.state = TransferState::Failed;
            job.error = Some(error.to_string());
            if let Err(error) = std::fs::remove_file(&path) {
                tracing::warn!(export.id = %job.id, %error, "failed to delete a failed export's file");
            }
        }
    }

    save_job(store, &mut job).await?;
    tracing::info!(export.id = %job.id, rows = job.counts.read, skipped = job.counts.skipped, "export job ended");
    Ok(job)
}

/// Writes every contact that `filter` accepts, one list shard after
/// another and each shard newest first. The next page is read while the
/// writer thread writes the current one.
async fn write_contacts(
    store: &dyn Store,
    job: &mut TransferJob,
    filter: ContactFilter,
    options: &ExportOptions,
    path: &Path,
) -> Result<(), JobError> {
    let definitions = store.field_definitions().await?;
    let output = create(path)?;
    let mut writer = ContactWriter::new(output, options, &definitions)?;

    let mut page = read_contacts(store, filter, ShardCursor::START).await?;
    loop {
        let (records, next) = page;
        let id = job.id;
        let write = tokio::task::spawn_blocking(move || write_contact_page(id, writer, &records));
        let read = async {
            match next {
                Some(cursor) => read_contacts(store, filter, cursor).await.map(Some),
                None => Ok(None),
            }
        };
        let (written, read) = tokio::join!(write, read);

        let (returned, skipped) = written?;
        writer = returned?;
        job.counts.skipped += skipped;
        save_progress(store, job, writer.rows_written(), now_millis()).await?;
        match read? {
            Some(read) => page = read,
            None => break,
        }
    }

    writer.finish()?;
    Ok(())
}

/// Reads the page of contacts at `cursor`; returns them and the position
/// of the next page, or `None` after the last shard's last page.
async fn read_contacts(
    store: &dyn Store,
    filter: ContactFilter,
    cursor: ShardCursor,
) -> Result<(Vec<ContactRecord>, Option<ShardCursor>), StoreError> {
    let page = store.list_contacts(&cursor.query(filter, PAGE_SIZE)).await?;
    Ok((page.items, cursor.next(page.next)))
}

/// Writes one page of contacts on the calling (blocking) thread. Returns
/// the writer and the number of contacts skipped because their statuses
/// do not decode.
fn write_contact_page(
    id: TransferId,
    mut writer: ContactWriter<BufWriter<File>>,
    records: &[ContactRecord],
) -> (Result<ContactWriter<BufWriter<File>>, ExportError>, u64) {
    let mut skipped = 0;
    for record in records {
        match writer.write(record) {
            Ok(()) => {}
            Err(error @ ExportError::Statuses { .. }) => {
                tracing::warn!(export.id = %id, %error, "export skipped a contact");
                skipped += 1;
            }
            Err(error) => return (Err(error), skipped),
        }
    }
    (Ok(writer), skipped)
}

/// Writes the activities that `activities` keeps, of every contact that
/// `filter` accepts, contact by contact and each timeline newest first.
async fn write_activities(
    store: &dyn Store,
    job: &mut TransferJob,
    filter: ContactFilter,
    activities: &ActivityFilter,
    options: &ExportOptions,
    path: &Path,
) -> Result<(), JobError> {
    let output = create(path)?;
    let mut writer = ActivityWriter::new(output, options)?;
    let mut batch: Vec<(ContactId, Activity)> = Vec::with_capacity(BATCH_ROWS);

    let mut cursor = Some(ShardCursor::START);
    while let Some(at) = cursor {
        let (records, next) = read_contacts(store, filter, at).await?;
        cursor = next;

        for contact in records.iter().filter_map(|record| record.id) {
            let sources = store.sources(contact).await?;
            let mut timeline =
                ActivityQuery { kinds: activities.kinds.clone(), limit: PAGE_SIZE, ..ActivityQuery::default() };
            loop {
                let activity_page = store.activities(&sources, &timeline).await?;
                let page_activities = activity_page.items.into_iter().map(|stored| stored.activity);
                batch.extend(
                    page_activities.filter(|activity| activities.accepts(activity)).map(|activity| (contact, activity)),
                );

                if batch.len() >= BATCH_ROWS {
                    writer = write_activity_batch(writer, &mut batch).await?;
                    save_progress(store, job, writer.rows_written(), now_millis()).await?;
                }
                match activity_page.next {
                    Some(next) => timeline.before = Some(next),
                    None => break,
                }
            }

            // Saves the heartbeat also while contacts have no activity to write.
            save_progress(store, job, writer.rows_written(), now_millis()).await?;
        }
    }

    writer = write_activity_batch(writer, &mut batch).await?;
    save_progress(store, job, writer.rows_written(), now_millis()).await?;
    writer.finish()?;
    Ok(())
}

/// Writes and empties `batch` on a blocking thread, and returns the writer.
async fn write_activity_batch(
    mut writer: ActivityWriter<BufWriter<File>>,
    batch: &mut Vec<(ContactId, Activity)>,
) -> Result<ActivityWriter<BufWriter<File>>, JobError> {
    let rows = std::mem::take(batch);
    let (writer, rows) = tokio::task::spawn_blocking(move || {
        let written = rows.iter().try_for_each(|(contact, activity)| writer.write(*contact, activity));
        (written.map(|()| writer), rows)
    })
    .await?;

    // Reuses the batch's allocation for the next rows.
    *batch = rows;
    batch.clear();
    Ok(writer?)
}

fn create(path: &Path) -> Result<BufWriter<File>, JobError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(JobError::Create)?;
    }
    File::create(path).map(BufWriter::new).map_err(JobError::Create)
}

/// Sets `counts.read` to `rows` and saves the job when that passed another
/// multiple of [`PROGRESS_ROWS`], or when the last save is
/// [`PROGRESS_INTERVAL`] older than `now`.
async fn save_progress(store: &dyn Store, job: &mut TransferJob, rows: u64, now: Millis) -> Result<(), StoreError> {
    let passed = rows / PROGRESS_ROWS > job.counts.read / PROGRESS_ROWS;
    let due = now.saturating_sub(job.updated_at) >= PROGRESS_INTERVAL.as_millis() as Millis;
    job.counts.read = rows;
    if passed || due {
        job.updated_at = now;
        store.save_transfer(job).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::store::embedded::EmbeddedStore;
    use crate::store::keys::{list_shard, LIST_SHARDS};
    use crate::store::{Retention, TransferCounts, TransferKind};
    use crate::transfer::FileFormat;

    fn running_job() -> TransferJob {
        TransferJob {
            id: TransferId::new(),
            kind: TransferKind::Export,
            state: TransferState::Running,
            created_by: "test".to_owned(),
            created_at: now_millis(),
            finished_at: None,
            updated_at: 0,
            file_name: None,
            format: "csv".to_owned(),
            options: serde_json::Value::Null,
            counts: TransferCounts::default(),
            columns: serde_json::Value::Null,
            error: None,
            link: None,
            expired_at: None,
        }
    }

    fn contacts_request(job: TransferJob, columns: &[&str]) -> ExportRequest {
        let mut options = ExportOptions::new(FileFormat::Csv);
        options.columns = Some(columns.iter().map(|name| (*name).to_owned()).collect());
        ExportRequest { job, content: ExportContent::Contacts, filter: ContactFilter::default(), options }
    }

    async fn saved_rows(store: &EmbeddedStore, job: &TransferJob) -> Option<u64> {
        store.transfer(job.id).await.expect("store").map(|saved| saved.counts.read)
    }

    #[tokio::test]
    async fn progress_saved_every_thousand_rows() {
        let store = EmbeddedStore::new(Retention::default());
        let mut job = running_job();

        save_progress(&store, &mut job, 999, 10).await.expect("store");
        assert_eq!(saved_rows(&store, &job).await, None, "999 rows are below the first save");
        assert_eq!(job.counts.read, 999);

        save_progress(&store, &mut job, 1_200, 20).await.expect("store");
        assert_eq!(saved_rows(&store, &job).await, Some(1_200));

        save_progress(&store, &mut job, 1_900, 30).await.expect("store");
        assert_eq!(saved_rows(&store, &job).await, Some(1_200), "no save before 2,000 rows");

        save_progress(&store, &mut job, 2_000, 40).await.expect("store");
        assert_eq!(saved_rows(&store, &job).await, Some(2_000));
    }

    #[tokio::test]
    async fn progress_saved_each_second_without_rows() {
        let store = EmbeddedStore::new(Retention::default());
        let mut job = running_job();
        job.updated_at = 5_000;

        save_progress(&store, &mut job, 0, 5_999).await.expect("store");
        assert_eq!(saved_rows(&store, &job).await, None, "no save within a second of the last one");

        save_progress(&store, &mut job, 0, 6_000).await.expect("store");
        let saved = store.transfer(job.id).await.expect("store").expect("the job is saved after a second");
        assert_eq!(saved.updated_at, 6_000, "the save is the job's heartbeat");

        save_progress(&store, &mut job, 3, 6_500).await.expect("store");
        assert_eq!(saved_rows(&store, &job).await, Some(0), "no save half a second later");
    }

    #[tokio::test]
    async fn contacts_export_reads_every_page() {
        let store = Arc::new(EmbeddedStore::new(Retention::default()));
        // Shard 0 takes more than two pages, and every other shard one
        // contact, so the walk pages within a shard and across all shards.
        let in_first_shard = std::iter::repeat_with(ContactId::new).filter(|id| list_shard(*id) == 0);
        let in_other_shards = (1..LIST_SHARDS).map(|shard| {
            std::iter::repeat_with(ContactId::new).find(|id| list_shard(*id) == shard).expect("an id in the shard")
        });
        let ids: Vec<ContactId> = in_first_shard.take(PAGE_SIZE * 2 + 50).chain(in_other_shards).collect();
        let contacts = ids.len();
        for (index, id) in ids.into_iter().enumerate() {
            let fields = BTreeMap::from([("email".to_owned(), format!("c{index}@example.com"))]);
            store.set_fields(id, &fields, false, 1_000 + index as Millis).await.expect("store");
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let files = TransferFiles::new(dir.path().to_owned());

        let job = run(store.as_ref(), &files, contacts_request(running_job(), &["email"])).await.expect("store");

        assert_eq!(job.state, TransferState::Finished, "{:?}", job.error);
        assert_eq!(job.counts.read, contacts as u64);
        assert!(job.finished_at.is_some());
        assert_eq!(store.transfer(job.id).await.expect("store"), Some(job.clone()), "the final state is saved");
        let text = std::fs::read_to_string(files.export(job.id)).expect("the export file");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("email"));
        let emails: BTreeSet<&str> = lines.collect();
        assert_eq!(emails.len(), contacts, "each contact once");
        assert!(emails.contains("c0@example.com"));
        assert!(emails.contains(format!("c{}@example.com", contacts - 1).as_str()));
    }

    #[tokio::test]
    async fn unwritable_directory_fails_the_job() {
        let store = EmbeddedStore::new(Retention::default());
        let dir = tempfile::tempdir().expect("a temporary directory");
        let not_a_dir = dir.path().join("plain-file");
        std::fs::write(&not_a_dir, b"").expect("a file");
        let files = TransferFiles::new(not_a_dir.join("transfers"));

        let job = run(&store, &files, contacts_request(running_job(), &["email"])).await.expect("store");

        assert_eq!(job.state, TransferState::Failed);
        let error = job.error.as_deref().expect("the reason");
        assert!(error.starts_with("creating the export file failed"), "{error}");
        assert_eq!(store.transfer(job.id).await.expect("store"), Some(job.clone()), "the failure is saved");
    }
}
