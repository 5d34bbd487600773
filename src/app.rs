//! Wiring: the store, the recording queue and writer, the proxy and the
//! admin API, started together and stopped in order.
//!
//! Shutdown order matters. The proxy stops accepting and drains in-flight
//! requests first. Dropping it drops the last [`Recorder`] handle, which
//! closes the queue, so the writer writes what is left and ends. The admin
//! API stops last, so it reports readiness until then.

use crate::transfer::import::Importer;
use crate::transfer::jobs::TransferFiles;
use crate::transfer::sweep::Sweeper;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::{self, AdminState, Tokens};
use crate::config::{Config, StoreBackend, StoreConfig};
use crate::identity::{Identity, PhoneCountry};
use crate::plugins::{CaptureApplier, PluginHost};
use crate::proxy::{self, Proxy};
use crate::recorder::{Recorder, Writer};
use crate::segments::{build, Clock, Evaluator, Scheduler, SystemClock};
use crate::store::embedded::EmbeddedStore;
use crate::store::redis::RedisStore;
use crate::store::Store;
use crate::tracking::{Personalisation, Tracking};

/// How long the writer may take to flush the queue at shutdown.
const WRITER_FLUSH_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens the configured store.
pub async fn open_store(config: &StoreConfig) -> anyhow::Result<Arc<dyn Store>> {
    match config.backend {
        StoreBackend::Embedded => Ok(Arc::new(EmbeddedStore::new(config.retention()))),
        StoreBackend::Redis => {
            let server = redacted_url(&config.redis_url);
            tracing::info!(redis.url = %server, "connecting to Redis");
            let store = RedisStore::connect(&config.redis_url, &config.key_prefix, config.retention())
                .await
                .with_context(|| format!("cannot connect to Redis at {server} (store.redis_url)"))?;
            Ok(Arc::new(store))
        }
    }
}

/// Returns `url` without its password, for logs and errors.
fn redacted_url(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// A started Footprint.
pub struct Running {
    pub proxy_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    stop: watch::Sender<bool>,
    proxy_task: JoinHandle<std::io::Result<()>>,
    writer_task: JoinHandle<()>,
    admin_task: JoinHandle<std::io::Result<()>>,
    scheduler_task: JoinHandle<()>,
    sweeper_task: JoinHandle<()>,
    /// The evaluator of dynamic segments, shared by the writer and the
    /// admin API.
    pub segments: Arc<Evaluator>,
}

/// Binds the listeners and starts every task.
pub async fn start(
    config: &Config,
    store: Arc<dyn Store>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> anyhow::Result<Running> {
    start_with_clock(config, store, metrics, Arc::new(SystemClock)).await
}

/// Like [`start`], with the clock that segment evaluation reads; tests
/// pass a [`crate::segments::ManualClock`] to let time pass.
pub async fn start_with_clock(
    config: &Config,
    store: Arc<dyn Store>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Running> {
    let proxy_listener = TcpListener::bind(config.proxy.listen)
        .await
        .with_context(|| format!("cannot listen on {} (proxy.listen)", config.proxy.listen))?;
    let admin_listener = TcpListener::bind(config.admin.listen)
        .await
        .with_context(|| format!("cannot listen on {} (admin.listen)", config.admin.listen))?;
    let proxy_addr = proxy_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;

    let phone_country = PhoneCountry::parse(&config.contacts.default_country).map_err(anyhow::Error::msg)?;
    let plugins = PluginHost::start(config).context("cannot start the plugin host")?;
    let segments = Arc::new(Evaluator::new(store.clone(), clock));
    let (recorder, queue) = Recorder::channel(config.recorder.queue_capacity);
    let writer = Writer::new(
        queue,
        store.clone(),
        config.recorder.batch_size,
        Duration::from_secs_f64(config.recorder.retry_delay_secs),
        Duration::from_secs(config.tracker.pending_ttl_secs),
        CaptureApplier::new(store.clone(), plugins.clone(), phone_country),
        segments.clone(),
    );
    let writer_task = tokio::spawn(writer.run());

    let (stop, stopped) = watch::channel(false);
    let wait_for = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };

    let personalisation = Personalisation::new(&config.personalisation, store.clone())
        .map_err(|reason| anyhow::anyhow!("invalid personalisation configuration: {reason}"))?;
    let tracking = Tracking::new(config, recorder, plugins)
        .map_err(|reason| anyhow::anyhow!("invalid tracking configuration: {reason}"))?
        .with_personalisation(personalisation);
    let proxy = Arc::new(Proxy::new(&config.proxy, tracking).context("cannot build the proxy")?);
    let proxy_task = tokio::spawn(proxy::serve(proxy_listener, proxy, wait_for(stopped.clone())));
    let scheduler_task = tokio::spawn(Scheduler::new(segments.clone()).run(wait_for(stopped.clone())));
    match build::resume_all(segments.clone()).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "resumed interrupted segment builds"),
        Err(error) => {
            tracing::warn!(%error, "could not check for interrupted segment builds; will retry on next start")
        }
    }

    let store_name = store.backend();
    let transfer_dir = match &config.admin.transfer_dir {
        Some(dir) => config.resolve_path(dir),
        None => std::env::temp_dir().join("footprint-transfers"),
    };
    let files = TransferFiles::new(transfer_dir);
    let sweeper = Sweeper::new(store.clone(), files.clone(), config.admin.transfer_retention());
    let sweeper_task = tokio::spawn(sweeper.run(wait_for(stopped.clone())));
    let identity = Identity::new(store.clone());
    let state = AdminState {
        importer: Arc::new(Importer::new(store.clone(), identity.clone(), segments.clone())),
        files,
        identity,
        store,
        metrics,
        phone_country,
        soft_bounce_threshold: config.contacts.soft_bounce_threshold,
        segments: segments.clone(),
    };
    let router = admin::router(state, Tokens::new(&config.admin.tokens));
    let admin_task = tokio::spawn(admin::serve(admin_listener, router, wait_for(stopped)));

    tracing::info!(
        proxy.addr = %proxy_addr,
        admin.addr = %admin_addr,
        upstream = %config.proxy.upstream,
        store = store_name,
        "footprint started"
    );
    Ok(Running {
        proxy_addr,
        admin_addr,
        stop,
        proxy_task,
        writer_task,
        admin_task,
        scheduler_task,
        sweeper_task,
        segments,
    })
}

impl Running {
    /// Stops in order: proxy (draining requests), writer (flushing the
    /// queue), admin.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);

        self.proxy_task.await.context("proxy task panicked")?.context("proxy server failed")?;
        if tokio::time::timeout(WRITER_FLUSH_TIMEOUT, self.writer_task).await.is_err() {
            tracing::error!("recording queue not flushed in time; remaining events are lost");
        }
        self.admin_task.await.context("admin task panicked")?.context("admin server failed")?;
        self.scheduler_task.await.context("segment scheduler panicked")?;
        self.sweeper_task.await.context("transfer sweeper panicked")?;

        tracing::info!("footprint stopped");
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn redis_password_never_reaches_logs() {
        assert_eq!(redacted_url("redis://:s3cret@cache:6379/0"), "redis://***@cache:6379/0");
        assert_eq!(redacted_url("redis://127.0.0.1:6379/"), "redis://127.0.0.1:6379/");
    }
}
