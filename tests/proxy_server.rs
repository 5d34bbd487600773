//! The accept loop: graceful shutdown drains in-flight requests within the
//! drain timeout, and a client that never finishes its headers is cut off.

#[path = "support/upstream.rs"]
mod upstream;

use std::sync::{Arc, Mutex};

use footprint::config::ProxyConfig;
use http::Response;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use upstream::*;

/// An upstream that reports each request and responds only when released.
async fn held_upstream() -> (HyperUpstream, mpsc::UnboundedReceiver<()>, oneshot::Sender<()>) {
    let (arrived, arrivals) = mpsc::unbounded_channel();
    let (release, released) = oneshot::channel::<()>();
    let released = Arc::new(tokio::sync::Mutex::new(Some(released)));
    let upstream = HyperUpstream::start(move |_request| {
        let arrived = arrived.clone();
        let released = released.clone();
        async move {
            let _ = arrived.send(());
            if let Some(released) = released.lock().await.take() {
                let _ = released.await;
            }
            Response::new(full("finished"))
        }
    })
    .await;
    (upstream, arrivals, release)
}

/// Waits until connecting to `addr` is refused, that is until the listener is closed.
async fn wait_until_refused(addr: std::net::SocketAddr) {
    guard("listener closed", async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn shutdown_drains_in_flight_request() {
    let (upstream, mut arrivals, release) = held_upstream().await;
    let mut proxy = start_proxy(proxy_config(upstream.addr), ()).await;
    let addr = proxy.addr;
    let mut client = Wire::connect(addr).await;

    client.send(b"GET /slow HTTP/1.1\r\nHost: shop.example\r\n\r\n").await;
    guard("request reaches upstream", arrivals.recv()).await.expect("arrival");
    proxy.begin_shutdown();
    wait_until_refused(addr).await;
    let _ = release.send(());
    let head = client.read_response_head().await;
    let body = client.read_body(&head).await;
    let after = client.read_to_close().await;

    assert_eq!(head.status, 200);
    assert_eq!(body, b"finished");
    assert!(after.is_empty(), "the connection closes after its last response");
    proxy.stop().await.expect("serve returns cleanly");
}

#[tokio::test]
async fn drain_timeout_bounds_shutdown() {
    let (upstream, mut arrivals, _release) = held_upstream().await;
    let config = ProxyConfig { drain_timeout_secs: 0.3, ..proxy_config(upstream.addr) };
    let proxy = start_proxy(config, ()).await;
    let mut client = Wire::connect(proxy.addr).await;

    client.send(b"GET /never HTTP/1.1\r\nHost: shop.example\r\n\r\n").await;
    guard("request reaches upstream", arrivals.recv()).await.expect("arrival");
    proxy.stop().await.expect("serve returns after the drain timeout");
    let after = client.read_to_close().await;

    assert!(after.is_empty(), "the aborted connection got no response: {:?}", String::from_utf8_lossy(&after));
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connection() {
    let upstream = HyperUpstream::start(|_request| async { Response::new(full("ok")) }).await;
    let proxy = start_proxy(proxy_config(upstream.addr), ()).await;
    let mut client = Wire::connect(proxy.addr).await;

    client.send(b"GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n").await;
    let head = client.read_response_head().await;
    client.read_body(&head).await;
    proxy.stop().await.expect("serve returns cleanly");
    let after = client.read_to_close().await;

    assert_eq!(head.status, 200);
    assert!(after.is_empty());
}

#[tokio::test]
async fn slow_request_headers_are_cut_off() {
    let seen = Arc::new(Mutex::new(0usize));
    let counter = seen.clone();
    let upstream = HyperUpstream::start(move |_request| {
        *counter.lock().expect("lock") += 1;
        async { Response::new(full("ok")) }
    })
    .await;
    let config = ProxyConfig { header_read_timeout_secs: 0.3, ..proxy_config(upstream.addr) };
    let proxy = start_proxy(config, ()).await;
    let mut client = Wire::connect(proxy.addr).await;

    client.send(b"GET / HTTP/1.1\r\nHost: shop.exa").await;
    let after = client.read_to_close().await;

    assert!(!after.starts_with(b"HTTP/1.1 200"), "an unfinished request was answered");
    assert_eq!(*seen.lock().expect("lock"), 0, "nothing was forwarded");
}
