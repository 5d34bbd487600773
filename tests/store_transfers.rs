//! The store contract for the import and export history, on both
//! backends.

mod support;

use std::sync::Arc;

use footprint::store::{Store, TransferCounts, TransferId, TransferJob, TransferKind, TransferState, MAX_TRANSFERS};
use serde_json::json;

on_both_stores!(saved_job_reads_back_and_updates, history_pages_newest_first, history_keeps_newest_jobs,);

fn job(kind: TransferKind) -> TransferJob {
    TransferJob {
        id: TransferId::new(),
        kind,
        state: TransferState::Running,
        created_by: "ops".to_owned(),
        created_at: 1_000,
        finished_at: None,
        updated_at: 1_000,
        file_name: Some("contacts.csv".to_owned()),
        format: "csv".to_owned(),
        options: json!({ "key": "email" }),
        counts: TransferCounts::default(),
        columns: json!({ "columns": [] }),
        error: None,
        link: None,
        expired_at: None,
    }
}

async fn saved_job_reads_back_and_updates(store: Arc<dyn Store>) {
    let mut import = job(TransferKind::Import);
    assert_eq!(store.transfer(import.id).await.expect("read"), None);

    store.save_transfer(&import).await.expect("saved");
    assert_eq!(store.transfer(import.id).await.expect("read"), Some(import.clone()));

    import.state = TransferState::Finished;
    import.counts.read = 3;
    import.counts.created = 2;
    import.counts.rejected = 1;
    import.finished_at = Some(2_000);
    store.save_transfer(&import).await.expect("saved again");
    assert_eq!(store.transfer(import.id).await.expect("read"), Some(import.clone()));
    assert_eq!(store.transfers(None, 10).await.expect("history").len(), 1, "a job is listed once");
}

async fn history_pages_newest_first(store: Arc<dyn Store>) {
    let mut saved = Vec::new();
    for index in 0..7 {
        let kind = if index % 2 == 0 { TransferKind::Import } else { TransferKind::Export };
        let job = job(kind);
        store.save_transfer(&job).await.expect("saved");
        saved.push(job.id);
    }
    saved.reverse();

    let mut listed = Vec::new();
    let mut before = None;
    loop {
        let page = store.transfers(before, 3).await.expect("page");
        assert!(page.len() <= 3, "a page is at most the limit");
        let Some(last) = page.last() else {
            break;
        };
        before = Some(last.id);
        listed.extend(page.iter().map(|job| job.id));
    }
    assert_eq!(listed, saved, "every job once, newest first");
}

async fn history_keeps_newest_jobs(store: Arc<dyn Store>) {
    let oldest = job(TransferKind::Import);
    store.save_transfer(&oldest).await.expect("saved");
    for _ in 0..MAX_TRANSFERS {
        store.save_transfer(&job(TransferKind::Export)).await.expect("saved");
    }

    assert_eq!(store.transfer(oldest.id).await.expect("read"), None, "the oldest job is dropped");
    assert_eq!(store.transfers(None, MAX_TRANSFERS + 5).await.expect("history").len(), MAX_TRANSFERS);
}
