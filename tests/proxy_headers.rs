//! Headers through the proxy: hop-by-hop removal (both directions), the
//! forwarding headers, `Host`, several `Set-Cookie` fields, and HEAD.

#[path = "support/upstream.rs"]
mod upstream;

use std::sync::{Arc, Mutex};

use footprint::config::ProxyConfig;
use http::{HeaderMap, Request, Response};
use upstream::*;

/// An upstream that keeps the request headers it received and responds "ok".
async fn header_recording_upstream() -> (HyperUpstream, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    let upstream = HyperUpstream::start(move |request: Request<hyper::body::Incoming>| {
        let store = store.clone();
        async move {
            store.lock().expect("lock").push(request.headers().clone());
            Response::new(full("ok"))
        }
    })
    .await;
    (upstream, seen)
}

fn last_seen(seen: &Mutex<Vec<HeaderMap>>) -> HeaderMap {
    seen.lock().expect("lock").last().cloned().expect("upstream saw a request")
}

fn value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.to_str().expect("ascii header"))
}

/// Sends one request on a fresh connection and reads the response and the close.
async fn one_shot(proxy: std::net::SocketAddr, request: &[u8]) -> (Head, Vec<u8>, Vec<u8>) {
    let mut client = Wire::connect(proxy).await;
    client.send(request).await;
    let head = client.read_response_head().await;
    let body = client.read_body(&head).await;
    let after = client.read_to_close().await;
    (head, body, after)
}

const HOP_BY_HOP_REQUEST: &[u8] = b"GET /product/sku-1 HTTP/1.1\r\n\
    Host: shop.example\r\n\
    Connection: close, X-Internal-Debug\r\n\
    X-Internal-Debug: 1\r\n\
    Keep-Alive: timeout=5\r\n\
    TE: trailers\r\n\
    Upgrade: h2c\r\n\
    HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\
    Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\
    Proxy-Connection: keep-alive\r\n\
    Accept: text/html\r\n\
    \r\n";

#[tokio::test]
async fn hop_by_hop_request_headers_never_reach_upstream() {
    let (upstream, seen) = header_recording_upstream().await;
    let (hooks, mut recorded) = RecordingHooks::new(0, 0);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;

    let (head, body, after) = one_shot(proxy.addr, HOP_BY_HOP_REQUEST).await;

    assert_eq!(head.status, 200);
    assert_eq!(body, b"ok");
    assert!(after.is_empty(), "the client connection closes after the response");
    let headers = last_seen(&seen);
    for name in [
        "connection",
        "x-internal-debug",
        "keep-alive",
        "te",
        "upgrade",
        "http2-settings",
        "proxy-authorization",
        "proxy-connection",
    ] {
        assert!(!headers.contains_key(name), "{name} reached the upstream");
    }
    assert_eq!(value(&headers, "accept"), Some("text/html"));
    let hook_view = next_recorded(&mut recorded).await.request_headers;
    assert!(!hook_view.contains_key("x-internal-debug"), "hooks run after hop-by-hop removal");
    assert!(!hook_view.contains_key("x-forwarded-for"), "hooks run before X-Forwarded-For is added");
}

#[tokio::test]
async fn upstream_connection_reused_after_client_close() {
    let (upstream, seen) = header_recording_upstream().await;
    let proxy = start_proxy(proxy_config(upstream.addr), ()).await;

    let first = one_shot(proxy.addr, HOP_BY_HOP_REQUEST).await;
    let second = one_shot(proxy.addr, HOP_BY_HOP_REQUEST).await;

    assert_eq!(first.0.status, 200);
    assert_eq!(second.0.status, 200);
    assert_eq!(seen.lock().expect("lock").len(), 2);
    assert_eq!(upstream.accepted(), 1, "both client requests used one pooled upstream connection");
}

#[tokio::test]
async fn hop_by_hop_response_headers_never_reach_client() {
    let (listener, upstream_addr) = raw_upstream().await;
    let proxy = start_proxy(proxy_config(upstream_addr), ()).await;
    let script = tokio::spawn(async move {
        let mut shop = accept(&listener).await;
        shop.read_request_head().await;
        shop.send(
            b"HTTP/1.1 200 OK\r\n\
              Connection: X-Up-Hop\r\n\
              X-Up-Hop: secret\r\n\
              Keep-Alive: timeout=5, max=100\r\n\
              Proxy-Authenticate: Basic realm=\"shop\"\r\n\
              Trailer: X-Checksum\r\n\
              Upgrade: h2c\r\n\
              X-Shop: kept\r\n\
              Content-Length: 2\r\n\r\nok",
        )
        .await;
    });
    let mut client = Wire::connect(proxy.addr).await;

    client.send(b"GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n").await;
    let head = client.read_response_head().await;
    let body = client.read_body(&head).await;
    guard("upstream script", script).await.expect("script");

    assert_eq!(head.status, 200);
    assert_eq!(body, b"ok");
    for name in ["x-up-hop", "keep-alive", "proxy-authenticate", "trailer", "upgrade"] {
        assert!(head.all(name).is_empty(), "{name} reached the client");
    }
    assert!(
        head.all("connection").iter().all(|value| value.eq_ignore_ascii_case(b"keep-alive")),
        "only hyper's own Connection"
    );
    assert_eq!(head.get("x-shop").as_deref(), Some("kept"));
}

const SPOOFED: &[u8] = b"GET /cart HTTP/1.1\r\n\
    Host: shop.example\r\n\
    X-Forwarded-For: 203.0.113.9\r\n\
    X-Forwarded-Proto: https\r\n\
    X-Forwarded-Host: www.shop.example\r\n\
    Forwarded: for=203.0.113.9;proto=https\r\n\
    Connection: close\r\n\
    \r\n";

#[tokio::test]
async fn forwarding_headers_replaced_for_untrusted_peer() {
    let (upstream, seen) = header_recording_upstream().await;
    let proxy = start_proxy(proxy_config(upstream.addr), ()).await;

    one_shot(proxy.addr, SPOOFED).await;

    let headers = last_seen(&seen);
    assert_eq!(value(&headers, "x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(value(&headers, "x-forwarded-proto"), Some("http"));
    assert_eq!(value(&headers, "x-forwarded-host"), Some("shop.example"));
    assert_eq!(value(&headers, "forwarded"), Some("for=127.0.0.1;proto=http;host=\"shop.example\""));
}

#[tokio::test]
async fn forwarding_headers_appended_for_trusted_peer() {
    let (upstream, seen) = header_recording_upstream().await;
    let config = ProxyConfig { trusted_proxies: vec!["127.0.0.0/8".to_owned()], ..proxy_config(upstream.addr) };
    let proxy = start_proxy(config, ()).await;

    one_shot(proxy.addr, SPOOFED).await;

    let headers = last_seen(&seen);
    assert_eq!(value(&headers, "x-forwarded-for"), Some("203.0.113.9, 127.0.0.1"));
    assert_eq!(value(&headers, "x-forwarded-proto"), Some("https"));
    assert_eq!(value(&headers, "x-forwarded-host"), Some("www.shop.example"));
    assert_eq!(
        value(&headers, "forwarded"),
        Some("for=203.0.113.9;proto=https, for=127.0.0.1;proto=http;host=\"shop.example\"")
    );
}

#[tokio::test]
async fn forwarded_quotes_ipv6_client() {
    let (upstream, seen) = header_recording_upstream().await;
    let proxy = start_proxy_on("[::1]:0", proxy_config(upstream.addr), ()).await;

    one_shot(proxy.addr, b"GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n").await;

    let headers = last_seen(&seen);
    assert_eq!(value(&headers, "x-forwarded-for"), Some("::1"));
    assert_eq!(value(&headers, "forwarded"), Some("for=\"[::1]\";proto=http;host=\"shop.example\""));
}

#[tokio::test]
async fn host_preserved_when_configured() {
    let (upstream, seen) = header_recording_upstream().await;
    let config = ProxyConfig { preserve_host: true, ..proxy_config(upstream.addr) };
    let proxy = start_proxy(config, ()).await;

    one_shot(proxy.addr, b"GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n").await;

    assert_eq!(value(&last_seen(&seen), "host"), Some("shop.example"));
}

#[tokio::test]
async fn host_rewritten_to_upstream_when_configured() {
    let (upstream, seen) = header_recording_upstream().await;
    let config = ProxyConfig { preserve_host: false, ..proxy_config(upstream.addr) };
    let proxy = start_proxy(config, ()).await;

    one_shot(proxy.addr, b"GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n").await;

    let headers = last_seen(&seen);
    assert_eq!(value(&headers, "host"), Some(upstream.addr.to_string().as_str()));
    assert_eq!(value(&headers, "x-forwarded-host"), Some("shop.example"));
}

#[tokio::test]
async fn set_cookie_fields_stay_separate() {
    let upstream_cookies: [&[u8]; 3] = [
        b"session=s1; Path=/; HttpOnly",
        b"logout_flag=deleted; Max-Age=0; Path=/",
        b"lang=es; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    ];
    let (listener, upstream_addr) = raw_upstream().await;
    let (mut hooks, _recorded) = RecordingHooks::new(0, 0);
    hooks.append_set_cookie =
        Some("fp_tid=0190b5c2-7d1e-7c3a-9f00-aabbccddeeff.sig; Path=/; Max-Age=34128000; HttpOnly; SameSite=Lax");
    let proxy = start_proxy(proxy_config(upstream_addr), hooks).await;
    let script = tokio::spawn(async move {
        let mut shop = accept(&listener).await;
        shop.read_request_head().await;
        let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
        for cookie in upstream_cookies {
            response.extend_from_slice(b"Set-Cookie: ");
            response.extend_from_slice(cookie);
            response.extend_from_slice(b"\r\n");
        }
        response.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
        shop.send(&response).await;
    });

    let (head, body, _) =
        one_shot(proxy.addr, b"GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n").await;
    guard("upstream script", script).await.expect("script");

    assert_eq!(body, b"ok");
    let cookies = head.all("set-cookie");
    assert_eq!(cookies.len(), 4, "four separate Set-Cookie fields: {cookies:?}");
    for (index, expected) in upstream_cookies.iter().enumerate() {
        assert_eq!(cookies[index], *expected, "upstream cookie {index} changed or moved");
    }
    assert!(cookies[3].starts_with(b"fp_tid="), "the hook's cookie comes last");
}

/// A raw upstream that responds to HEAD with `head_headers` and no body, then
/// GET with a small body, on one keep-alive connection.
async fn head_then_get(head_headers: &'static str) -> (Head, Head, Vec<u8>) {
    let (listener, upstream_addr) = raw_upstream().await;
    let proxy = start_proxy(proxy_config(upstream_addr), ()).await;
    let script = tokio::spawn(async move {
        let mut shop = accept(&listener).await;
        let first = shop.read_request_head().await;
        assert_eq!(first.method, "HEAD");
        shop.send(format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{head_headers}\r\n").as_bytes()).await;
        let second = shop.read_request_head().await;
        assert_eq!(second.method, "GET");
        shop.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
    });
    let mut client = Wire::connect(proxy.addr).await;

    client.send(b"HEAD /product/sku-1 HTTP/1.1\r\nHost: shop.example\r\n\r\n").await;
    let head_response = client.read_response_head().await;
    client.send(b"GET /product/sku-1 HTTP/1.1\r\nHost: shop.example\r\n\r\n").await;
    let get_response = client.read_response_head().await;
    let body = client.read_body(&get_response).await;
    guard("upstream script", script).await.expect("script");

    (head_response, get_response, body)
}

#[tokio::test]
async fn head_passes_upstream_content_length() {
    let (head, get, body) = head_then_get("Content-Length: 1234\r\n").await;

    assert_eq!(head.status, 200);
    assert_eq!(head.get("content-length").as_deref(), Some("1234"));
    assert_eq!(get.status, 200);
    assert_eq!(body, b"hello");
}

#[tokio::test]
async fn head_without_content_length_gets_none() {
    let (head, get, body) = head_then_get("").await;

    assert_eq!(head.status, 200);
    assert_eq!(head.get("content-length"), None, "no invented Content-Length");
    assert_eq!(get.status, 200);
    assert_eq!(body, b"hello");
}

#[tokio::test]
async fn http10_upstream_keeps_client_keep_alive() {
    let (listener, upstream_addr) = raw_upstream().await;
    let proxy = start_proxy(proxy_config(upstream_addr), ()).await;
    let script = tokio::spawn(async move {
        for _ in 0..2 {
            let mut shop = accept(&listener).await;
            shop.read_request_head().await;
            shop.send(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        }
    });
    let mut client = Wire::connect(proxy.addr).await;

    for _ in 0..2 {
        client.send(b"GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n").await;
        let response = client.read_response_head().await;
        assert_eq!(response.minor_version, 1, "the client keeps speaking HTTP/1.1");
        assert_eq!(client.read_body(&response).await, b"ok");
    }
    guard("upstream script", script).await.expect("script");
}
