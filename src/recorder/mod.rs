//! Recording off the request path: a bounded in-memory queue between the
//! proxy's hooks and a writer task that applies events to the store.
//!
//! The request side only ever calls [`Recorder::record`], which never
//! waits: when the queue is full the event is dropped, counted
//! (`footprint_recorder_dropped_total`) and logged. The writer drains the
//! queue in batches, resolves trackers to contacts, runs identification
//! and merges, applies plugin captures, and appends activities in one
//! store call per run of plain activities. When the store fails, the writer retries the unfinished
//! part of the batch after `recorder.retry_delay_secs`; meanwhile the queue
//! absorbs new events up to its capacity.
//!
//! NOTE: events do not survive a restart while Redis is unreachable: the
//! queue is in memory. A bounded on-disk spool replayed in order when Redis
//! returns would close that gap.

mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

pub use writer::Writer;

use crate::plugins::AcceptedCapture;
use crate::store::{Activity, TrackerId};

/// The browser an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Browser {
    pub tracker: TrackerId,
    /// True when the request carried the tracker cookie (the browser keeps
    /// cookies), false when the tracker was minted for this request. Only
    /// returned trackers create contacts; see `tracker.pending_ttl_secs`.
    pub returned: bool,
}

/// Something to write to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An activity of the browser's contact.
    Activity { browser: Browser, activity: Activity },
    /// The browser's user proved to own `email` (a successful login,
    /// registration, or the shop's identify header); `activity` records it.
    Identify { browser: Browser, email: String, activity: Activity },
    /// A plugin captured fields, consents or an identity from a form the
    /// shop accepted.
    Capture { browser: Browser, accepted: Box<AcceptedCapture> },
}

/// The sending side of the queue; cheap to clone.
#[derive(Clone, Debug)]
pub struct Recorder {
    sender: mpsc::Sender<Event>,
    /// Drops since start, to log the first and then every thousandth
    /// instead of one line per dropped event.
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Creates the queue; give the receiver to a [`Writer`].
    pub fn channel(capacity: usize) -> (Recorder, mpsc::Receiver<Event>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Recorder { sender, dropped: Arc::new(AtomicU64::new(0)) }, receiver)
    }

    /// Queues an event without waiting; drops and counts it when the queue
    /// is full or the writer has stopped.
    pub fn record(&self, event: Event) {
        let reason = match self.sender.try_send(event) {
            Ok(()) => {
                metrics::counter!("footprint_recorder_events_total").increment(1);
                metrics::gauge!("footprint_recorder_queue_depth").set(self.depth() as f64);
                return;
            }
            Err(mpsc::error::TrySendError::Full(_)) => "queue_full",
            Err(mpsc::error::TrySendError::Closed(_)) => "writer_stopped",
        };

        metrics::counter!("footprint_recorder_dropped_total", "reason" => reason).increment(1);
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped == 1 || dropped.is_multiple_of(1000) {
            tracing::warn!(reason, dropped_total = dropped, "recording queue dropped an event");
        }
    }

    /// Events waiting in the queue.
    pub fn depth(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }
}
