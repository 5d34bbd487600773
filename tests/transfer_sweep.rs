//! The transfer sweep on both stores, run with a chosen "now". The files
//! of ended jobs expire after the retention, and their downloads then
//! return 410. A running job's files stay. Files whose job left the
//! history are deleted once they are old enough. A running job that
//! stopped saving fails as interrupted, and a live one does not.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use footprint::store::{
    now_millis, Millis, Store, TransferCounts, TransferId, TransferJob, TransferKind, TransferState,
};
use footprint::transfer::jobs::TransferFiles;
use footprint::transfer::sweep::{SweepReport, Sweeper, ORPHAN_MIN_AGE, STALE_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::app::{client, send, TestApp, TOKEN};

on_both_stores!(
    export_file_expires_after_retention,
    reject_report_expires_after_retention,
    running_job_keeps_its_files,
    files_without_job_are_deleted_when_old,
    stale_import_fails_as_interrupted,
    stale_export_fails_and_loses_its_file,
    job_stored_without_heartbeat_uses_creation,
);

const RETENTION: Duration = Duration::from_secs(3600);

fn sweeper(app: &TestApp) -> Sweeper {
    Sweeper::new(app.store.clone(), transfer_files(app), RETENTION)
}

fn transfer_files(app: &TestApp) -> TransferFiles {
    TransferFiles::new(app.transfers.path().to_owned())
}

/// Waits until the job at `path` is no longer running and returns it.
async fn ended(app: &TestApp, path: &str) -> Value {
    app.admin_until(path, |status, job| status == 200 && job["state"] != "running").await
}

fn finished_at(job: &Value) -> Millis {
    job["finished_at"].as_i64().expect("finished_at")
}

fn job_entry(state: TransferState, created_at: Millis) -> TransferJob {
    TransferJob {
        id: TransferId::new(),
        kind: TransferKind::Export,
        state,
        created_by: "test".to_owned(),
        created_at,
        finished_at: None,
        updated_at: created_at,
        file_name: None,
        format: "csv".to_owned(),
        options: json!({}),
        counts: TransferCounts::default(),
        columns: json!({ "columns": [] }),
        error: None,
        link: None,
        expired_at: None,
    }
}

fn write(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("the transfer directory");
    std::fs::write(path, b"data").expect("file written");
    path.to_owned()
}

async fn export_file_expires_after_retention(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let reply =
        send(&app, Method::POST, "/api/v1/contacts", Some(json!({ "fields": { "email": "a@example.com" } }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let started = send(&app, Method::POST, "/api/v1/exports", Some(json!({}))).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.json);
    let id = started.json["id"].as_str().expect("job id").to_owned();
    let job = ended(&app, &format!("/api/v1/exports/{id}")).await;
    let file = transfer_files(&app).export(id.parse().expect("a job id"));
    let expiry = finished_at(&job) + RETENTION.as_millis() as Millis;
    let download = format!("/api/v1/exports/{id}/file");

    let early = sweeper(&app).sweep(expiry - 1).await.expect("sweep");

    assert_eq!(early, SweepReport::default(), "nothing expires before the retention ends");
    assert!(file.exists(), "the file stays before the retention ends");
    assert_eq!(app.admin_get(&download).await.0, 200);

    let due = sweeper(&app).sweep(expiry).await.expect("sweep");

    assert_eq!(due, SweepReport { interrupted: 0, expired: 1, files_deleted: 1 });
    assert!(!file.exists(), "the file is deleted");
    let (status, job) = app.admin_get(&format!("/api/v1/exports/{id}")).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["link"], Value::Null, "{job}");
    assert_eq!(job["expired_at"], expiry, "{job}");
    let (status, problem) = app.admin_get(&download).await;
    assert_eq!(status, 410, "{problem}");
    assert_eq!(problem["field"], "id", "{problem}");
    assert_eq!(problem["type"], "/problems/gone", "{problem}");
    assert!(problem["detail"].as_str().expect("detail").contains("expired"), "{problem}");

    let again = sweeper(&app).sweep(expiry + 1).await.expect("sweep");
    assert_eq!(again, SweepReport::default(), "a second sweep changes nothing");
    app.stop().await;
}

async fn reject_report_expires_after_retention(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let response = client()
        .post(format!("http://{}/api/v1/imports", app.admin))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body("email\na@example.com\nnot-an-email\n")
        .send()
        .await
        .expect("admin API responds");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let started: Value = response.json().await.expect("job");
    let id = started["id"].as_str().expect("job id").to_owned();
    let job = ended(&app, &format!("/api/v1/imports/{id}")).await;
    assert_eq!(job["counts"]["rejected"], 1, "{job}");
    let report = transfer_files(&app).rejects(id.parse().expect("a job id"));
    assert!(report.exists(), "the import wrote a reject report");
    let expiry = finished_at(&job) + RETENTION.as_millis() as Millis;

    let due = sweeper(&app).sweep(expiry).await.expect("sweep");

    assert_eq!(due, SweepReport { interrupted: 0, expired: 1, files_deleted: 1 });
    assert!(!report.exists(), "the report is deleted");
    let (_, job) = app.admin_get(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(job["link"], Value::Null, "{job}");
    assert_eq!(job["expired_at"], expiry, "{job}");
    let (status, problem) = app.admin_get(&format!("/api/v1/imports/{id}/rejects")).await;
    assert_eq!(status, 410, "{problem}");
    assert_eq!(problem["field"], "id", "{problem}");
    let (_, history) = app.admin_get("/api/v1/transfers").await;
    assert_eq!(history["items"][0]["expired_at"], expiry, "the history shows the expiry: {history}");
    app.stop().await;
}

async fn running_job_keeps_its_files(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let files = transfer_files(&app);
    let running = TransferJob { updated_at: now_millis(), ..job_entry(TransferState::Running, 0) };
    store.save_transfer(&running).await.expect("saved");
    let kept = [files.upload(running.id), files.export(running.id), files.rejects(running.id)].map(|path| write(&path));

    let report = Sweeper::new(store.clone(), files, Duration::ZERO).sweep(now_millis()).await.expect("sweep");

    assert_eq!(report, SweepReport::default());
    for path in &kept {
        assert!(path.exists(), "{} is kept", path.display());
    }
    let saved = store.transfer(running.id).await.expect("read").expect("the job");
    assert_eq!(saved.state, TransferState::Running, "a job that saved recently is live, however old it is");
    assert_eq!(saved.expired_at, None, "a running job never expires");
    app.stop().await;
}

async fn files_without_job_are_deleted_when_old(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let files = transfer_files(&app);
    let gone = TransferId::new();
    let orphans = [files.export(gone), files.rejects(gone), files.upload(TransferId::new())].map(|path| write(&path));
    let unrelated = write(&app.transfers.path().join("notes.txt"));
    let finished = TransferJob { finished_at: Some(now_millis()), ..job_entry(TransferState::Finished, now_millis()) };
    store.save_transfer(&finished).await.expect("saved");
    let finished_file = write(&files.export(finished.id));
    let old_enough = now_millis() + ORPHAN_MIN_AGE.as_millis() as Millis + 1_000;
    let sweeper = Sweeper::new(store.clone(), files, Duration::from_secs(30 * 24 * 3600));

    let young = sweeper.sweep(now_millis()).await.expect("sweep");

    assert_eq!(young, SweepReport::default(), "a young file may belong to an upload in progress");
    for path in &orphans {
        assert!(path.exists(), "{} is kept while young", path.display());
    }

    let old = sweeper.sweep(old_enough).await.expect("sweep");

    assert_eq!(old, SweepReport { interrupted: 0, expired: 0, files_deleted: 3 });
    for path in &orphans {
        assert!(!path.exists(), "{} is deleted", path.display());
    }
    assert!(unrelated.exists(), "a file that no job names is left alone");
    assert!(finished_file.exists(), "the file of a job in the history stays until it expires");
    app.stop().await;
}

/// Saves a running job of `kind` whose last save was at `saved_at`.
async fn stale_job(store: &Arc<dyn Store>, kind: TransferKind, saved_at: Millis) -> TransferJob {
    let job = TransferJob { kind, updated_at: saved_at, ..job_entry(TransferState::Running, saved_at - 60_000) };
    store.save_transfer(&job).await.expect("saved");
    job
}

async fn stale_import_fails_as_interrupted(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let files = transfer_files(&app);
    let saved_at = now_millis();
    let job = stale_job(&store, TransferKind::Import, saved_at).await;
    let (upload, report) = (write(&files.upload(job.id)), write(&files.rejects(job.id)));
    let stale = saved_at + STALE_AFTER.as_millis() as Millis;
    let sweeper = sweeper(&app);

    let live = sweeper.sweep(stale - 1).await.expect("sweep");

    assert_eq!(live, SweepReport::default(), "a job is live until its last save is STALE_AFTER old");
    assert_eq!(store.transfer(job.id).await.expect("read").expect("the job").state, TransferState::Running);
    assert!(upload.exists(), "a live job keeps its upload");

    let swept = sweeper.sweep(stale).await.expect("sweep");

    assert_eq!(swept, SweepReport { interrupted: 1, expired: 0, files_deleted: 1 });
    let (status, failed) = app.admin_get(&format!("/api/v1/imports/{}", job.id)).await;
    assert_eq!(status, 200, "{failed}");
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["finished_at"], stale, "{failed}");
    let error = failed["error"].as_str().expect("error");
    assert!(error.starts_with("interrupted: "), "{error}");
    assert!(error.contains("import the file again"), "{error}");
    assert!(!upload.exists(), "the leftover upload is deleted");
    assert!(report.exists(), "the partial reject report stays until it expires");
    assert_eq!(app.admin_get(&format!("/api/v1/imports/{}/rejects", job.id)).await.0, 200);

    let again = sweeper.sweep(stale + 1).await.expect("sweep");
    assert_eq!(again, SweepReport::default(), "a failed job is not interrupted twice");
    app.stop().await;
}

async fn stale_export_fails_and_loses_its_file(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let files = transfer_files(&app);
    let saved_at = now_millis();
    let job = stale_job(&store, TransferKind::Export, saved_at).await;
    let partial = write(&files.export(job.id));

    let swept = sweeper(&app).sweep(saved_at + STALE_AFTER.as_millis() as Millis).await.expect("sweep");

    assert_eq!(swept, SweepReport { interrupted: 1, expired: 0, files_deleted: 1 });
    let (_, failed) = app.admin_get(&format!("/api/v1/exports/{}", job.id)).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().expect("error");
    assert!(error.contains("start the export again"), "{error}");
    assert!(!partial.exists(), "the incomplete export file is deleted");
    let (status, problem) = app.admin_get(&format!("/api/v1/exports/{}/file", job.id)).await;
    assert_eq!(status, 409, "a failed export has no file: {problem}");
    app.stop().await;
}

async fn job_stored_without_heartbeat_uses_creation(store: Arc<dyn Store>) {
    let app = TestApp::demo(store.clone()).await;
    let created_at = now_millis();
    let job = TransferJob { updated_at: 0, ..job_entry(TransferState::Running, created_at) };
    store.save_transfer(&job).await.expect("saved");
    let stale = created_at + STALE_AFTER.as_millis() as Millis;

    let young = sweeper(&app).sweep(stale - 1).await.expect("sweep");
    let old = sweeper(&app).sweep(stale).await.expect("sweep");

    assert_eq!(young.interrupted, 0, "a job without updated_at is live while its creation is recent");
    assert_eq!(old.interrupted, 1, "and interrupted once its creation is STALE_AFTER old");
    app.stop().await;
}
