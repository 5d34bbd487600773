//! Upstream failures: a refused connection gets a 502 page and a warning,
//! a silent upstream a 504 page, and the proxy keeps serving after both.

#[path = "support/upstream.rs"]
mod upstream;

use std::io::Write;
use std::sync::{Arc, Mutex};

use footprint::config::ProxyConfig;
use http::StatusCode;
use tokio::net::TcpListener;
use upstream::*;

/// Log output captured in memory, for tests that check a line was logged.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

async fn get(proxy: std::net::SocketAddr) -> (Head, Vec<u8>) {
    let mut client = Wire::connect(proxy).await;
    client.send(b"GET /product/sku-1 HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n").await;
    let head = client.read_response_head().await;
    let body = client.read_body(&head).await;
    (head, body)
}

// A current-thread runtime runs every spawned task on the test's thread, so
// the thread-local log subscriber sees the proxy's events.
#[tokio::test(flavor = "current_thread")]
async fn refused_upstream_gets_502_page() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt().with_writer(logs.clone()).with_ansi(false).finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let upstream_addr = refused_addr().await;
    let (hooks, mut recorded) = RecordingHooks::new(0, 0);
    let proxy = start_proxy(proxy_config(upstream_addr), hooks).await;

    let (head, page) = get(proxy.addr).await;

    assert_eq!(head.status, 502);
    assert_eq!(head.get("content-type").as_deref(), Some("text/html; charset=utf-8"));
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("<h1>502 Bad Gateway</h1>"), "{page}");
    assert!(!page.contains(&upstream_addr.to_string()), "the page names no upstream");
    let logged = logs.text();
    let warning = logged.lines().find(|line| line.contains("WARN") && line.contains("upstream request failed"));
    let warning = warning.unwrap_or_else(|| panic!("no warning logged: {logged}"));
    assert!(warning.contains("kind=\"connect\""), "{warning}");
    let exchange = next_recorded(&mut recorded).await.exchange;
    assert_eq!(exchange.status, StatusCode::BAD_GATEWAY);
    assert!(exchange.response_body.is_none());

    // The shop comes back on the same address: the proxy serves it.
    let listener = TcpListener::bind(upstream_addr).await.expect("rebind the upstream address");
    let _shop = HyperUpstream::start_on(listener, |_request| async { http::Response::new(full("back")) });
    let (head, body) = get(proxy.addr).await;
    assert_eq!(head.status, 200);
    assert_eq!(body, b"back");
}

#[tokio::test]
async fn silent_upstream_gets_504_page() {
    let (listener, upstream_addr) = raw_upstream().await;
    let config = ProxyConfig { response_timeout_secs: 0.5, ..proxy_config(upstream_addr) };
    let (hooks, mut recorded) = RecordingHooks::new(0, 0);
    let proxy = start_proxy(config, hooks).await;
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let script = tokio::spawn(async move {
        // The first connection gets the request head and no response.
        let mut silent = accept(&listener).await;
        silent.read_request_head().await;
        // The next one responds, to show the proxy still serves.
        let mut shop = accept(&listener).await;
        shop.read_request_head().await;
        shop.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        let _ = released.await;
        drop(silent);
    });

    let (head, page) = get(proxy.addr).await;

    assert_eq!(head.status, 504);
    assert!(String::from_utf8_lossy(&page).contains("<h1>504 Gateway Timeout</h1>"));
    assert_eq!(next_recorded(&mut recorded).await.exchange.status, StatusCode::GATEWAY_TIMEOUT);
    let (head, body) = get(proxy.addr).await;
    assert_eq!(head.status, 200);
    assert_eq!(body, b"ok");
    let _ = release.send(());
    guard("upstream script", script).await.expect("script");
}

#[tokio::test]
async fn unfinished_request_body_gets_400() {
    let upstream = HyperUpstream::start(|request: http::Request<hyper::body::Incoming>| async move {
        let read = http_body_util::BodyExt::collect(request.into_body()).await;
        http::Response::new(full(if read.is_ok() { "whole" } else { "broken" }))
    })
    .await;
    let (hooks, mut recorded) = RecordingHooks::new(1024, 0);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;
    let mut client = Wire::connect(proxy.addr).await;

    client.send(b"POST /cart HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 1000\r\n\r\nsku=1&qty=2").await;
    tokio::io::AsyncWriteExt::shutdown(&mut client.stream).await.expect("shutdown");
    let head = client.read_response_head().await;

    assert_eq!(head.status, 400);
    let exchange = next_recorded(&mut recorded).await.exchange;
    assert_eq!(exchange.status, StatusCode::BAD_REQUEST);
    let inspected = exchange.request_body.expect("request body reported");
    assert_eq!(&inspected.bytes[..], b"sku=1&qty=2");
    assert!(!inspected.complete);
}
