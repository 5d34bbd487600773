//! The proxy's metrics, read back through a Prometheus recorder. One test
//! in this binary, because the recorder is process-global.

#[path = "support/upstream.rs"]
mod upstream;

use footprint::config::ProxyConfig;
use http::Response;
use metrics_exporter_prometheus::PrometheusBuilder;
use upstream::*;

async fn status_of(proxy: std::net::SocketAddr, request: &[u8]) -> u16 {
    let mut client = Wire::connect(proxy).await;
    client.send(request).await;
    let head = client.read_response_head().await;
    client.read_body(&head).await;
    head.status
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn responses_and_upstream_errors_are_counted() {
    let recorder = PrometheusBuilder::new().install_recorder().expect("install recorder");
    let upstream = HyperUpstream::start(|_request| async { Response::new(full("ok")) }).await;
    let config = ProxyConfig { max_request_body_bytes: 10, ..proxy_config(upstream.addr) };
    let working = start_proxy(config, ()).await;
    let refused = start_proxy(proxy_config(refused_addr().await), ()).await;
    let (listener, silent_addr) = raw_upstream().await;
    let silent = start_proxy(ProxyConfig { response_timeout_secs: 0.3, ..proxy_config(silent_addr) }, ()).await;

    assert_eq!(status_of(working.addr, GET).await, 200);
    assert_eq!(status_of(working.addr, GET).await, 200);
    assert_eq!(
        status_of(working.addr, b"POST / HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 11\r\n\r\n").await,
        413
    );
    assert_eq!(status_of(refused.addr, GET).await, 502);
    assert_eq!(status_of(silent.addr, GET).await, 504);
    drop(listener);

    let text = recorder.render();
    let has = |line: &str| text.lines().any(|candidate| candidate == line);
    assert!(has("footprint_proxy_requests_total{status=\"200\"} 2"), "{text}");
    assert!(has("footprint_proxy_requests_total{status=\"413\"} 1"), "{text}");
    assert!(has("footprint_proxy_requests_total{status=\"502\"} 1"), "{text}");
    assert!(has("footprint_proxy_requests_total{status=\"504\"} 1"), "{text}");
    assert!(has("footprint_proxy_upstream_errors_total{kind=\"connect\"} 1"), "{text}");
    assert!(has("footprint_proxy_upstream_errors_total{kind=\"timeout\"} 1"), "{text}");
    assert!(!text.contains("kind=\"other\""), "{text}");
    assert!(has("footprint_proxy_request_duration_seconds_count 5"), "{text}");
}
