//! Import and export jobs as the store keeps them: the history that the
//! admin API lists newest first.
//!
//! A job is stored whole, as JSON, each time its progress is saved. The
//! store keeps the newest [`MAX_TRANSFERS`] jobs and drops older ones as
//! new ones arrive. Job ids are UUID v7, so their order is their creation
//! order.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Millis, TransferId};

/// Jobs kept in the history; saving a new job beyond it drops the oldest.
pub const MAX_TRANSFERS: usize = 10_000;

/// Whether a job reads a file into the store or writes one from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    Import,
    Export,
}

/// The stage of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// Reading or writing rows, so the counts grow.
    Running,
    /// Every row was handled. Rejected rows do not fail a job.
    Finished,
    /// The job stopped early, and `error` gives the reason.
    Failed,
}

/// Row counts of a job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransferCounts {
    /// Data rows read (imports) or written (exports).
    pub read: u64,
    /// Contacts created.
    pub created: u64,
    /// Existing contacts with at least one value changed.
    pub updated: u64,
    /// Existing contacts whose row changed nothing.
    pub unchanged: u64,
    /// Rows left out by the import mode: an existing contact in
    /// create-only mode, or a new one in update-only mode.
    pub skipped: u64,
    /// Rows that changed nothing because a value was invalid or taken.
    pub rejected: u64,
    /// Rows without any value, passed over.
    pub blank: u64,
}

/// One import or export job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransferJob {
    pub id: TransferId,
    pub kind: TransferKind,
    pub state: TransferState,
    /// Name of the admin token that started the job.
    pub created_by: String,
    pub created_at: Millis,
    /// When the job finished or failed.
    pub finished_at: Option<Millis>,
    /// When the job was last saved. A running job saves about every
    /// second, so a value older than 5 minutes means that its process
    /// stopped. 0 in jobs stored before the field existed.
    #[serde(default)]
    pub updated_at: Millis,
    /// The uploaded file's name, as the client gave it.
    pub file_name: Option<String>,
    /// `csv` or `ndjson`.
    pub format: String,
    /// The options the job runs with, as the client gave them and with
    /// defaults filled in.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub counts: TransferCounts,
    /// The import's column report, as `{"columns": [...]}` with
    /// each column's position, name, target and the rule that mapped it.
    /// The list is empty for exports and until an import has read its file.
    #[schema(value_type = Object)]
    pub columns: serde_json::Value,
    /// The reason a failed job stopped.
    pub error: Option<String>,
    /// The admin API path of the job's file: an import's reject report or
    /// an export's file. It is null once the file expired.
    #[serde(default)]
    pub link: Option<String>,
    /// When the retention sweep deleted the job's files because the job
    /// ended longer than `admin.transfer_retention_days` ago. Downloads of
    /// an expired job's file return 410 Gone.
    #[serde(default)]
    pub expired_at: Option<Millis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_stored_before_new_fields_reads() {
        let stored = serde_json::json!({
            "id": "01a2458c-f5a6-7286-b9ab-2853922a880b",
            "kind": "import",
            "state": "running",
            "created_by": "ops",
            "created_at": 1_000,
            "finished_at": null,
            "file_name": "contacts.csv",
            "format": "csv",
            "options": {},
            "counts": TransferCounts::default(),
            "columns": { "columns": [] },
            "error": null,
        });

        let job: TransferJob = serde_json::from_value(stored).expect("an older job reads");

        assert_eq!(job.updated_at, 0);
        assert_eq!(job.link, None);
        assert_eq!(job.expired_at, None);
    }
}
