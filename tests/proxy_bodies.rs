//! Bodies through the proxy: streamed both ways, byte-identical, inspected
//! prefixes, chunked and compressed bodies, `Expect: 100-continue` and the
//! request body cap.

#[path = "support/upstream.rs"]
mod upstream;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use upstream::*;

/// An upstream that responds to every request with the SHA-256 and length of the body it read.
async fn hashing_upstream() -> HyperUpstream {
    HyperUpstream::start(|request: Request<hyper::body::Incoming>| async move {
        let body = request.into_body().collect().await.expect("request body").to_bytes();
        Response::new(full(format!("{} {}", sha256(&body), body.len())))
    })
    .await
}

fn post(addr: std::net::SocketAddr, content_type: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(format!("http://{addr}/checkout"))
        .header("host", "shop.example")
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("request")
}

#[tokio::test]
async fn large_post_arrives_byte_identical() {
    let upstream = hashing_upstream().await;
    let (hooks, mut recorded) = RecordingHooks::new(64 * 1024, 0);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;
    let body = pattern_bytes(1024 * 1024, 1);

    let (head, answer) = send_hyper(proxy.addr, post(proxy.addr, "application/octet-stream", body.clone())).await;

    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(answer, format!("{} {}", sha256(&body), body.len()));
    let exchange = next_recorded(&mut recorded).await.exchange;
    let inspected = exchange.request_body.expect("request body copied");
    assert_eq!(inspected.bytes.len(), 64 * 1024);
    assert_eq!(&inspected.bytes[..], &body[..64 * 1024]);
    assert!(!inspected.complete);
    assert!(exchange.response_body.is_none());
}

#[tokio::test]
async fn multipart_upload_arrives_byte_identical() {
    let upstream = hashing_upstream().await;
    let (hooks, mut recorded) = RecordingHooks::new(64 * 1024, 0);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;
    let boundary = "----footprint-boundary-7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nbuyer@example.com\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend(pattern_bytes(2_000_000, 2));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");

    let (head, answer) = send_hyper(proxy.addr, post(proxy.addr, &content_type, body.clone())).await;

    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(answer, format!("{} {}", sha256(&body), body.len()));
    let inspected = next_recorded(&mut recorded).await.exchange.request_body.expect("request body copied");
    assert_eq!(&inspected.bytes[..], &body[..64 * 1024]);
    assert!(!inspected.complete);
}

#[tokio::test]
async fn small_form_is_inspected_whole() {
    let upstream = hashing_upstream().await;
    let (hooks, mut recorded) = RecordingHooks::new(64 * 1024, 64 * 1024);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;
    let body = b"email=buyer%40example.com&name=Ana".to_vec();

    let (head, answer) =
        send_hyper(proxy.addr, post(proxy.addr, "application/x-www-form-urlencoded", body.clone())).await;

    assert_eq!(head.status, StatusCode::OK);
    let exchange = next_recorded(&mut recorded).await.exchange;
    let request = exchange.request_body.expect("request body copied");
    assert_eq!(&request.bytes[..], &body[..]);
    assert!(request.complete);
    let response = exchange.response_body.expect("response body copied");
    assert_eq!(response.bytes, answer);
    assert!(response.complete);
}

#[tokio::test]
async fn large_response_arrives_byte_identical() {
    let payload = Bytes::from(pattern_bytes(1024 * 1024, 3));
    let served = payload.clone();
    let upstream = HyperUpstream::start(move |_request| {
        let served = served.clone();
        async move { Response::new(full(served)) }
    })
    .await;
    let (hooks, mut recorded) = RecordingHooks::new(0, 4096);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;
    let request =
        Request::get(format!("http://{}/catalog.csv", proxy.addr)).body(Full::new(Bytes::new())).expect("request");

    let (head, answer) = send_hyper(proxy.addr, request).await;

    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(sha256(&answer), sha256(&payload));
    let exchange = next_recorded(&mut recorded).await.exchange;
    assert!(exchange.request_body.is_none());
    let inspected = exchange.response_body.expect("response body copied");
    assert_eq!(&inspected.bytes[..], &payload[..4096]);
    assert!(!inspected.complete);
}

/// A body fed from a channel: the test decides when each chunk exists.
fn channel_body(
) -> (mpsc::Sender<Bytes>, StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>>>) {
    let (sender, receiver) = mpsc::channel::<Bytes>(4);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (Ok(Frame::data(chunk)), receiver))
    });
    (sender, StreamBody::new(stream))
}

#[tokio::test]
async fn request_body_streams_before_it_ends() {
    // The upstream reports the first bytes it reads. The client sends the
    // rest only after that, so a proxy that waited for the whole body hangs.
    let (first_seen, mut first_seen_receiver) = mpsc::channel::<usize>(1);
    let upstream = HyperUpstream::start(move |request: Request<hyper::body::Incoming>| {
        let first_seen = first_seen.clone();
        async move {
            let mut body = request.into_body();
            let mut total = 0;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.expect("frame").into_data() {
                    if total == 0 {
                        let _ = first_seen.send(data.len()).await;
                    }
                    total += data.len();
                }
            }
            Response::new(full(total.to_string()))
        }
    })
    .await;
    let proxy = start_proxy(proxy_config(upstream.addr), ()).await;
    let (chunks, body) = channel_body();
    let request = Request::post(format!("http://{}/upload", proxy.addr)).body(body).expect("request");

    let exchange = tokio::spawn(send_hyper(proxy.addr, request));
    chunks.send(Bytes::from(vec![b'a'; 1000])).await.expect("first chunk");
    let first = guard("upstream sees the first chunk", first_seen_receiver.recv()).await.expect("first chunk seen");
    chunks.send(Bytes::from(vec![b'b'; 500])).await.expect("second chunk");
    drop(chunks);
    let (head, answer) = guard("response", exchange).await.expect("client task");

    assert_eq!(first, 1000);
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(answer, "1500");
}

#[tokio::test]
async fn response_body_streams_before_it_ends() {
    // The upstream sends its second chunk only after the client has the
    // first one, so a proxy that waited for the whole response hangs.
    let (client_saw_first, client_saw_first_receiver) = mpsc::channel::<()>(1);
    let gate = std::sync::Arc::new(tokio::sync::Mutex::new(Some(client_saw_first_receiver)));
    let upstream = HyperUpstream::start(move |_request| {
        let gate = gate.clone();
        async move {
            let (chunks, body) = channel_body();
            tokio::spawn(async move {
                chunks.send(Bytes::from_static(b"first;")).await.expect("first chunk");
                let receiver = gate.lock().await.take();
                if let Some(mut receiver) = receiver {
                    let _ = receiver.recv().await;
                }
                chunks.send(Bytes::from_static(b"second")).await.expect("second chunk");
            });
            Response::new(body.boxed())
        }
    })
    .await;
    let proxy = start_proxy(proxy_config(upstream.addr), ()).await;
    let mut client = Wire::connect(proxy.addr).await;

    client.send(b"GET /feed HTTP/1.1\r\nHost: shop.example\r\n\r\n").await;
    let head = client.read_response_head().await;
    assert_eq!(head.get("transfer-encoding").as_deref(), Some("chunked"));
    let first = client.read_line().await;
    let first_data = client.read_exact(usize::from_str_radix(first.trim(), 16).expect("chunk size")).await;
    client_saw_first.send(()).await.expect("upstream waiting");
    client.read_exact(2).await;
    let rest = client.read_chunked().await;

    assert_eq!(head.status, 200);
    assert_eq!(first_data, b"first;");
    assert_eq!(rest, b"second");
}

#[tokio::test]
async fn gzip_response_reaches_client_untouched() {
    // `printf 'hello, shop\n' | gzip -n`: a real gzip stream, which the proxy must not decode.
    let gzip: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x28,
        0xce, 0xc8, 0x2f, 0xe0, 0x02, 0x00, 0x62, 0xcd, 0x7f, 0xcf, 0x0c, 0x00, 0x00, 0x00,
    ];
    let (listener, upstream_addr) = raw_upstream().await;
    let proxy = start_proxy(proxy_config(upstream_addr), ()).await;
    let script = tokio::spawn(async move {
        let mut shop = accept(&listener).await;
        let request = shop.read_request_head().await;
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\nContent-Length: {}\r\n\r\n",
            gzip.len()
        )
        .into_bytes();
        response.extend_from_slice(gzip);
        shop.send(&response).await;
        request
    });
    let mut client = Wire::connect(proxy.addr).await;

    client.send(b"GET /notes.txt HTTP/1.1\r\nHost: shop.example\r\nAccept-Encoding: gzip\r\n\r\n").await;
    let head = client.read_response_head().await;
    let body = client.read_body(&head).await;
    let request = guard("upstream script", script).await.expect("script");

    assert_eq!(request.get("accept-encoding").as_deref(), Some("gzip"));
    assert_eq!(head.get("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(head.content_length(), Some(gzip.len()));
    assert_eq!(body, gzip);
}

#[tokio::test]
async fn chunked_request_reaches_upstream_intact() {
    let (listener, upstream_addr) = raw_upstream().await;
    let proxy = start_proxy(proxy_config(upstream_addr), ()).await;
    let script = tokio::spawn(async move {
        let mut shop = accept(&listener).await;
        let request = shop.read_request_head().await;
        let payload = shop.read_chunked().await;
        shop.send(b"HTTP/1.1 204 No Content\r\n\r\n").await;
        (request, payload)
    });
    let mut client = Wire::connect(proxy.addr).await;

    client
        .send(
            b"POST /api/cart HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\n\r\n",
        )
        .await;
    let head = client.read_response_head().await;
    let (request, payload) = guard("upstream script", script).await.expect("script");

    assert_eq!(head.status, 204);
    assert_eq!(request.get("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(request.get("content-length"), None);
    assert_eq!(payload, b"hello, world");
}

#[tokio::test]
async fn expect_continue_body_arrives_after_upstream_continue() {
    let body = {
        let mut form = b"email=buyer%40example.com&note=".to_vec();
        form.extend(std::iter::repeat_n(b'x', 200 * 1024));
        form
    };
    let expected_hash = sha256(&body);
    let length = body.len();
    let (listener, upstream_addr) = raw_upstream().await;
    let (hooks, mut recorded) = RecordingHooks::new(64 * 1024, 0);
    let proxy = start_proxy(proxy_config(upstream_addr), hooks).await;
    let script = tokio::spawn(async move {
        let mut shop = accept(&listener).await;
        let request = shop.read_request_head().await;
        shop.send(b"HTTP/1.1 100 Continue\r\n\r\n").await;
        let received = shop.read_exact(length).await;
        shop.send(b"HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\ncreated").await;
        (request, received)
    });
    let mut client = Wire::connect(proxy.addr).await;

    client
        .send(
            format!(
                "POST /account/register HTTP/1.1\r\nHost: shop.example\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\
                 Expect: 100-continue\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
    let interim = client.read_response_head().await;
    client.send(&body).await;
    let head = client.read_response_head().await;
    let answer = client.read_body(&head).await;
    let (request, received) = guard("upstream script", script).await.expect("script");

    assert_eq!(interim.status, 100);
    assert_eq!(request.get("expect").as_deref(), Some("100-continue"));
    assert_eq!(sha256(&received), expected_hash);
    assert_eq!(head.status, 201);
    assert_eq!(answer, b"created");
    let inspected = next_recorded(&mut recorded).await.exchange.request_body.expect("request body copied");
    assert_eq!(&inspected.bytes[..], &body[..64 * 1024]);
}

#[tokio::test]
async fn expect_continue_rejected_before_body() {
    let (listener, upstream_addr) = raw_upstream().await;
    let (hooks, mut recorded) = RecordingHooks::new(64 * 1024, 0);
    let proxy = start_proxy(proxy_config(upstream_addr), hooks).await;
    let script = tokio::spawn(async move {
        let mut shop = accept(&listener).await;
        let request = shop.read_request_head().await;
        // Gives a proxy that invites the body at once (sends 100 Continue
        // without being asked) time to do so, which this test must catch.
        // The proxy's own fallback for silent upstreams waits far longer.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        shop.send(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforbidden").await;
        // A lingering close: stop writing, then read until the proxy closes,
        // so the proxy's side is never reset.
        shop.stream.shutdown().await.expect("shutdown");
        let unread = shop.read_to_close().await;
        (request, unread)
    });
    let mut client = Wire::connect(proxy.addr).await;

    client
        .send(
            b"POST /account/register HTTP/1.1\r\nHost: shop.example\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 204800\r\n\
              Expect: 100-continue\r\n\r\n",
        )
        .await;
    let head = client.read_response_head().await;
    assert_eq!(head.status, 403, "the first response the client sees is the final one, without 100 Continue");
    let answer = client.read_body(&head).await;
    let after = client.read_to_close().await;
    let (request, unread) = guard("upstream script", script).await.expect("script");

    assert_eq!(answer, b"forbidden");
    assert!(after.is_empty(), "nothing after the 403: {:?}", String::from_utf8_lossy(&after));
    assert_eq!(request.get("expect").as_deref(), Some("100-continue"));
    assert!(unread.is_empty(), "the upstream never received body bytes");
    let exchange = next_recorded(&mut recorded).await.exchange;
    assert_eq!(exchange.status, StatusCode::FORBIDDEN);
    let inspected = exchange.request_body.expect("request body reported");
    assert!(inspected.bytes.is_empty());
    assert!(!inspected.complete);
}

#[tokio::test]
async fn declared_body_over_limit_gets_413() {
    let upstream = hashing_upstream().await;
    let config = footprint::config::ProxyConfig { max_request_body_bytes: 1024, ..proxy_config(upstream.addr) };
    let proxy = start_proxy(config, ()).await;
    let mut client = Wire::connect(proxy.addr).await;

    client
        .send(b"POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 1025\r\nExpect: 100-continue\r\n\r\n")
        .await;
    let head = client.read_response_head().await;
    let page = client.read_body(&head).await;

    assert_eq!(head.status, 413);
    assert!(String::from_utf8_lossy(&page).contains("413"));
    assert_eq!(upstream.accepted(), 0, "the upstream was never contacted");
}

/// A chunked body has no declared length, so the cap is enforced while it
/// streams: once it passes the cap the upstream request is aborted (the
/// upstream sees an incomplete body) and the client gets 413.
#[tokio::test]
async fn chunked_body_over_limit_is_cut_off() {
    let (body_result, mut body_results) = mpsc::unbounded_channel::<Result<usize, String>>();
    let upstream = HyperUpstream::start(move |request: Request<hyper::body::Incoming>| {
        let body_result = body_result.clone();
        async move {
            let result = request
                .into_body()
                .collect()
                .await
                .map(|body| body.to_bytes().len())
                .map_err(|error| error.to_string());
            let _ = body_result.send(result);
            Response::new(full("read"))
        }
    })
    .await;
    let config = footprint::config::ProxyConfig { max_request_body_bytes: 64 * 1024, ..proxy_config(upstream.addr) };
    let proxy = start_proxy(config, ()).await;
    let (chunks, body) = channel_body();
    let request = Request::post(format!("http://{}/upload", proxy.addr)).body(body).expect("request");

    let exchange = tokio::spawn(send_hyper(proxy.addr, request));
    let feeder = tokio::spawn(async move {
        for _ in 0..20 {
            if chunks.send(Bytes::from(vec![b'z'; 16 * 1024])).await.is_err() {
                return;
            }
        }
    });
    let (head, _) = guard("response", exchange).await.expect("client task");
    feeder.abort();
    let upstream_saw = guard("upstream body result", body_results.recv()).await.expect("upstream handler ran");

    assert_eq!(head.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(upstream_saw.is_err(), "upstream read a complete body: {upstream_saw:?}");
}

/// Starts an upstream that reads the whole body, then holds its response
/// until the test releases it, so a test can observe what happens before
/// the head.
async fn held_upstream(release: std::sync::Arc<tokio::sync::Notify>) -> HyperUpstream {
    HyperUpstream::start(move |request: Request<hyper::body::Incoming>| {
        let release = release.clone();
        async move {
            let body = request.into_body().collect().await.expect("request body").to_bytes();
            release.notified().await;
            Response::new(full(format!("{} {}", sha256(&body), body.len())))
        }
    })
    .await
}

#[tokio::test]
async fn body_prefix_arrives_before_response_head() {
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let upstream = held_upstream(release.clone()).await;
    let (mut hooks, mut recorded) = RecordingHooks::new(1024, 0);
    let (early_sender, mut early) = mpsc::unbounded_channel();
    hooks.early_bodies = Some(early_sender);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;
    let body = b"email=ana%40example.com&first_name=Ana".to_vec();

    let client =
        tokio::spawn(send_hyper(proxy.addr, post(proxy.addr, "application/x-www-form-urlencoded", body.clone())));
    // The upstream has not responded yet: it waits for `release`.
    let delivered = guard("on_request_body", early.recv()).await.expect("hooks dropped");
    release.notify_one();
    let (head, answer) = guard("response", client).await.expect("client task");

    assert_eq!(&delivered.bytes[..], &body[..]);
    assert!(delivered.complete);
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(answer, format!("{} {}", sha256(&body), body.len()));
    let exchange = next_recorded(&mut recorded).await.exchange;
    assert_eq!(exchange.request_body, Some(delivered), "on_complete gets the same prefix");
}

#[tokio::test]
async fn large_body_prefix_arrives_cut_and_identical() {
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let upstream = held_upstream(release.clone()).await;
    let (mut hooks, mut recorded) = RecordingHooks::new(64 * 1024, 0);
    let (early_sender, mut early) = mpsc::unbounded_channel();
    hooks.early_bodies = Some(early_sender);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;
    let body = pattern_bytes(2 * 1024 * 1024, 7);

    let client = tokio::spawn(send_hyper(proxy.addr, post(proxy.addr, "application/octet-stream", body.clone())));
    let delivered = guard("on_request_body", early.recv()).await.expect("hooks dropped");
    release.notify_one();
    let (head, answer) = guard("response", client).await.expect("client task");

    assert_eq!(delivered.bytes.len(), 64 * 1024);
    assert!(!delivered.complete);
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(answer, format!("{} {}", sha256(&body), body.len()));
    let exchange = next_recorded(&mut recorded).await.exchange;
    assert_eq!(exchange.request_body, Some(delivered));
}

#[tokio::test]
async fn early_response_skips_body_phase() {
    // The upstream responds after the first chunk and drains the rest in the
    // background, so the response head arrives while the body still streams.
    let upstream = HyperUpstream::start(|request: Request<hyper::body::Incoming>| async move {
        let mut body = request.into_body();
        let _ = body.frame().await;
        tokio::spawn(async move { while body.frame().await.is_some() {} });
        Response::new(full("early"))
    })
    .await;
    let (mut hooks, mut recorded) = RecordingHooks::new(1024, 0);
    let (early_sender, mut early) = mpsc::unbounded_channel();
    hooks.early_bodies = Some(early_sender);
    let proxy = start_proxy(proxy_config(upstream.addr), hooks).await;
    let (chunks, body) = channel_body();
    let request = Request::post(format!("http://{}/upload", proxy.addr)).body(body).expect("request");

    let exchange = tokio::spawn(send_hyper(proxy.addr, request));
    chunks.send(Bytes::from(vec![b'a'; 100])).await.expect("first chunk");
    let (head, answer) = guard("response", exchange).await.expect("client task");
    chunks.send(Bytes::from(vec![b'b'; 50])).await.expect("second chunk");
    drop(chunks);
    let exchange = next_recorded(&mut recorded).await.exchange;

    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(answer, "early");
    assert!(early.try_recv().is_err(), "on_request_body must not run after the response head");
    let inspected = exchange.request_body.expect("on_complete gets the prefix");
    assert_eq!(inspected.bytes.len(), 150);
}
