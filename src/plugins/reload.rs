//! The reload watcher: polls plugin files and listens for SIGHUP.
//!
//! Polling compares each file's modification time and length, and only
//! when those differ reads the file and compares its SHA-256, so an idle
//! watcher costs one `stat` per plugin per poll. SIGHUP reloads every
//! plugin, changed or not, which also re-enables plugins disabled after
//! faults. The watcher holds only a weak reference and ends once the host
//! is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::PluginHost;

/// Starts the watcher on the current tokio runtime; without a runtime it
/// logs a warning and does nothing. `poll_secs` of 0 polls never.
pub(crate) fn spawn_watcher(host: &Arc<PluginHost>, poll_secs: f64) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime; plugin files are not watched and SIGHUP does not reload them");
        return;
    };
    let host = Arc::downgrade(host);
    let poll = (poll_secs.is_finite() && poll_secs > 0.0).then(|| Duration::from_secs_f64(poll_secs));

    runtime.spawn(watch(host, poll));
}

async fn watch(host: Weak<PluginHost>, poll: Option<Duration>) {
    let mut hangup = hangup_signal();
    let mut interval = poll.map(|period| {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });

    loop {
        let reload_all = tokio::select! {
            _ = next_tick(&mut interval) => false,
            received = next_hangup(&mut hangup) => received,
        };
        let Some(host) = host.upgrade() else {
            return;
        };
        if reload_all {
            tracing::info!("SIGHUP received; reloading plugins");
            host.reload().await;
        } else {
            host.reload_changed().await;
        }
    }
}

async fn next_tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        // Without polling, the watcher only wakes for SIGHUP. A check every
        // minute still ends the task once the host is gone.
        None => tokio::time::sleep(Duration::from_secs(60)).await,
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(error = %error, "cannot listen for SIGHUP; plugins reload only when their files change");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// Waits for SIGHUP; returns true when one arrived and never returns when
/// there is no signal stream.
async fn next_hangup(hangup: &mut Hangup) -> bool {
    #[cfg(unix)]
    if let Some(signal) = hangup {
        if signal.recv().await.is_some() {
            return true;
        }
        *hangup = None;
    }
    #[cfg(not(unix))]
    let _ = hangup;
    std::future::pending::<bool>().await
}
