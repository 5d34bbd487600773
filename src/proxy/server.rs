//! The accept loop: one task per client connection, served by hyper's
//! HTTP/1.1 server with upgrades, and graceful shutdown.
//!
//! Shutdown stops accepting at once, signals every connection to finish its
//! in-flight request and close, then waits at most `drain_timeout` before
//! aborting the connections that remain. HTTP/2 is not offered: the shops
//! this proxy fronts speak HTTP/1.1, and a TLS terminator in front of
//! Footprint handles HTTP/2 with browsers.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::body::ProxyBody;
use super::forward::Proxy;
use super::hooks::Hooks;

/// Pause after a failed `accept`, so running out of file descriptors does
/// not turn the loop into a busy spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves proxied HTTP/1.1 on `listener` until `shutdown` completes, then
/// drains in-flight connections for at most the configured drain timeout.
pub async fn serve<H: Hooks>(
    listener: TcpListener,
    proxy: Arc<Proxy<H>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    tracing::info!(listen.addr = %listener.local_addr()?, "proxy listening");

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let span = tracing::info_span!("connection", client.addr = %peer);
                    let connection = serve_connection(stream, peer, proxy.clone(), stopped.clone());
                    connections.spawn(connection.instrument(span));
                }
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
            // Reaps finished connections so the set holds only live ones.
            Some(finished) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = finished {
                    tracing::error!(%error, "connection task failed");
                }
            }
        }
    }

    drop(listener);
    tracing::info!(connections = connections.len(), "proxy shutting down, draining connections");
    // A send error would only mean that no connection is left to stop.
    let _ = stop.send(true);

    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(proxy.drain_timeout, drain).await.is_err() {
        tracing::warn!(connections = connections.len(), "drain timeout elapsed, closing remaining connections");
        connections.abort_all();
    }

    tracing::info!("proxy stopped");
    Ok(())
}

async fn serve_connection<H: Hooks>(
    stream: TcpStream,
    peer: SocketAddr,
    proxy: Arc<Proxy<H>>,
    mut stopped: watch::Receiver<bool>,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "setting TCP_NODELAY failed");
    }

    let header_read_timeout = proxy.header_read_timeout;
    let service = service_fn(move |request: Request<Incoming>| {
        let proxy = proxy.clone();
        let span = tracing::debug_span!("request", http.method = %request.method());
        // Boxed with an explicit Send bound: without it rustc cannot prove the
        // generic handler future Send for every lifetime inside it.
        let handled: Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>> =
            Box::pin(async move { Ok(proxy.handle(request, peer).await) }.instrument(span));
        handled
    });

    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);

    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop_requested(&mut stopped) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };

    if let Err(error) = result {
        tracing::debug!(%error, "client connection ended with an error");
    }
}

/// Completes once shutdown is signalled, or when the sender is gone.
fn stop_requested(stopped: &mut watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    // Boxed for the same reason as the handler future; the guard `wait_for`
    // returns is dropped inside.
    Box::pin(async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    })
}
