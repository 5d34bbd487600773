//! The writer task: applies queued events to the store in batches.
//!
//! After each stored run of activities and each identification, the
//! writer re-evaluates the contacts involved against the dynamic segments
//! (see `crate::segments::Evaluator`). That adds store reads per contact
//! to every batch, so a slow store slows recording too and the queue
//! absorbs the difference until it is full and drops events.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::Event;
use crate::identity::{Identified, Identity};
use crate::plugins::CaptureApplier;
use crate::segments::Evaluator;
use crate::store::{Activity, ActivityKind, ContactId, Source, Store, StoreError};

/// Contacts of one batch evaluated against the dynamic segments at once.
const CONCURRENT_EVALUATIONS: usize = 8;

/// Applies events from the queue to the store.
pub struct Writer {
    receiver: mpsc::Receiver<Event>,
    store: Arc<dyn Store>,
    identity: Identity,
    captures: CaptureApplier,
    batch_size: usize,
    retry_delay: Duration,
    /// Lifetime of activity of a browser that has not returned its cookie.
    pending_ttl: Duration,
    /// Re-evaluates the dynamic memberships of every contact a batch changed.
    segments: Arc<Evaluator>,
}

impl Writer {
    pub fn new(
        receiver: mpsc::Receiver<Event>,
        store: Arc<dyn Store>,
        batch_size: usize,
        retry_delay: Duration,
        pending_ttl: Duration,
        captures: CaptureApplier,
        segments: Arc<Evaluator>,
    ) -> Writer {
        let identity = Identity::new(store.clone());
        Writer { receiver, store, identity, captures, batch_size, retry_delay, pending_ttl, segments }
    }

    /// Runs until every [`super::Recorder`] is dropped and the queue is
    /// drained. Finishes merges left unfinished by an earlier run first.
    pub async fn run(mut self) {
        match self.identity.resume_pending_merges().await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "finished interrupted merges"),
            Err(error) => tracing::warn!(%error, "could not check for interrupted merges; will retry on next start"),
        }

        let mut batch = Vec::with_capacity(self.batch_size);
        while self.receiver.recv_many(&mut batch, self.batch_size).await > 0 {
            metrics::gauge!("footprint_recorder_queue_depth").set(self.receiver.len() as f64);
            self.write_with_retry(&batch).await;
            batch.clear();
        }
        tracing::debug!("recording queue closed and drained");
    }

    /// Writes a batch, retrying its unfinished part after store failures.
    /// Once the queue is closed (shutdown), gives up after a few attempts
    /// so that a dead store cannot block the exit forever.
    async fn write_with_retry(&self, batch: &[Event]) {
        let mut done = 0;
        let mut failures = 0;
        let mut failures_after_close = 0;
        while done < batch.len() {
            match self.write(&batch[done..]).await {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(
                            failed_attempts = failures,
                            events = batch.len(),
                            "store write recovered; batch written"
                        );
                    }
                    return;
                }
                Err((written, error)) => {
                    done += written;
                    failures += 1;
                    metrics::counter!("footprint_store_errors_total", "backend" => self.store.backend()).increment(1);
                    tracing::warn!(%error, remaining = batch.len() - done, "store write failed; retrying");
                }
            }

            if self.receiver.is_closed() {
                failures_after_close += 1;
                if failures_after_close >= 3 {
                    let lost = batch.len() - done;
                    metrics::counter!("footprint_recorder_dropped_total", "reason" => "store_unavailable_at_shutdown")
                        .increment(lost as u64);
                    tracing::error!(lost, "store unavailable at shutdown; events lost");
                    return;
                }
            }
            tokio::time::sleep(self.retry_delay).await;
        }
    }

    /// Applies events in order. On failure returns how many events were
    /// fully applied before it, so a retry resumes there.
    async fn write(&self, events: &[Event]) -> Result<(), (usize, StoreError)> {
        let mut run: Vec<(Source, Activity)> = Vec::new();
        let mut run_start = 0;

        for (index, event) in events.iter().enumerate() {
            match event {
                Event::Activity { browser, activity } => {
                    if run.is_empty() {
                        run_start = index;
                    }
                    let step = self.prepare_activity(browser, activity).await;
                    match step {
                        Ok(Some(entry)) => run.push(entry),
                        Ok(None) => {}
                        Err(error) => return Err((self.flush(&mut run, run_start).await?, error)),
                    }
                }
                Event::Identify { browser, email, activity } => {
                    self.flush(&mut run, run_start).await?;
                    let identified = self
                        .identity
                        .identify(browser, email, activity.clone())
                        .await
                        .map_err(|error| (index, error))?;
                    // After a merge this is the survivor, which now contains the
                    // merged contact's activities and static memberships.
                    if let Some(contact) = identified.contact() {
                        self.segments.evaluate_logged(contact).await;
                    }
                    if let Identified::Merged { from, .. } = identified {
                        self.unschedule(from).await;
                    }
                }
                Event::Capture { browser, accepted } => {
                    self.flush(&mut run, run_start).await?;
                    let applied = self.captures.apply(browser, accepted).await.map_err(|error| (index, error))?;
                    if let Some(contact) = applied.contact {
                        self.segments.evaluate_logged(contact).await;
                    }
                    if let Some(from) = applied.merged_from {
                        self.unschedule(from).await;
                    }
                }
            }
        }

        self.flush(&mut run, run_start).await.map(|_| ())
    }

    /// Removes a merged contact from the flip schedule, so that its id
    /// stays nowhere once the survivor is erased.
    async fn unschedule(&self, merged: ContactId) {
        if let Err(error) = self.store.set_next_flip(merged, None).await {
            tracing::warn!(contact.id = %merged, %error, "could not unschedule a merged contact; it is removed when due");
        }
    }

    /// Appends the pending run of activities; returns the index up to which
    /// events are applied.
    async fn flush(&self, run: &mut Vec<(Source, Activity)>, run_start: usize) -> Result<usize, (usize, StoreError)> {
        if run.is_empty() {
            return Ok(run_start);
        }
        self.store.append_activities(run).await.map_err(|error| (run_start, error))?;
        let applied = run_start + run.len();

        let mut contacts: Vec<ContactId> = run
            .iter()
            .map(|(source, _)| match source {
                Source::Tracker { contact, .. } | Source::Contact(contact) => *contact,
            })
            .collect();
        contacts.sort_unstable();
        contacts.dedup();
        run.clear();
        // Contacts are independent, so a few evaluations overlap their
        // store round trips instead of queueing behind each other.
        futures_util::stream::iter(contacts)
            .for_each_concurrent(CONCURRENT_EVALUATIONS, |contact| self.segments.evaluate_logged(contact))
            .await;
        Ok(applied)
    }

    /// Resolves the browser's contact and returns where the activity goes,
    /// or stores it as pending activity when the browser is unconfirmed.
    async fn prepare_activity(
        &self,
        browser: &super::Browser,
        activity: &Activity,
    ) -> Result<Option<(Source, Activity)>, StoreError> {
        let activity = self.deduplicate_order(activity.clone()).await?;

        let Some(contact) = self.identity.contact_for(browser, browser.returned, activity.at).await? else {
            self.store.append_pending(browser.tracker, &activity, self.pending_ttl).await?;
            return Ok(None);
        };
        Ok(Some((Source::Tracker { tracker: browser.tracker, contact }, activity)))
    }

    /// Counts an order once: a purchase whose order id was already claimed
    /// (a reloaded confirmation page) is recorded as a page visit.
    async fn deduplicate_order(&self, mut activity: Activity) -> Result<Activity, StoreError> {
        if activity.kind != ActivityKind::Purchase {
            return Ok(activity);
        }
        let Some(order_id) = activity.properties.get("order_id").cloned() else {
            return Ok(activity);
        };
        if !self.store.claim_order(&order_id).await? {
            activity.kind = ActivityKind::PageVisit;
            activity.properties.insert("repeated_order".to_owned(), "true".to_owned());
        }
        Ok(activity)
    }
}
