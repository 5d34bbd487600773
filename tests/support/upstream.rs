//! Test helpers for the proxy: a proxy on a loopback port, recording hooks,
//! hyper and raw-socket upstreams, and raw-socket clients that see the exact
//! bytes on the wire.
//!
//! Every socket is bound to 127.0.0.1 (or ::1) on a port the kernel picks.
//! Timeouts here are hang guards only: a test that hits one failed, and no
//! test asserts how long anything took.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use footprint::config::ProxyConfig;
use footprint::proxy::{serve, Exchange, Hooks, Inspected, Proxy};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Upper bound on any single wait in a test; reaching it means a hang.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Awaits `future`, panicking with `what` if it hangs.
pub async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("hang guard elapsed: {what}"),
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Deterministic pseudo-random bytes, so a corrupted or reordered frame
/// changes the hash.
pub fn pattern_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// A proxy configuration pointing at `upstream`, with short timeouts.
pub fn proxy_config(upstream: SocketAddr) -> ProxyConfig {
    ProxyConfig {
        upstream: format!("http://{upstream}"),
        connect_timeout_secs: 5.0,
        response_timeout_secs: 20.0,
        header_read_timeout_secs: 20.0,
        drain_timeout_secs: 20.0,
        ..ProxyConfig::default()
    }
}

/// A proxy serving on a loopback port until stopped or dropped.
pub struct RunningProxy {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningProxy {
    /// Signals shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) -> io::Result<()> {
        self.begin_shutdown();
        let task = self.task.take().expect("proxy task present until stopped");
        guard("proxy shutdown", task).await.expect("proxy task panicked")
    }
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts a proxy on 127.0.0.1.
pub async fn start_proxy<H: Hooks>(config: ProxyConfig, hooks: H) -> RunningProxy {
    start_proxy_on("127.0.0.1:0", config, hooks).await
}

/// Starts a proxy listening on `bind` (a loopback address with port 0).
pub async fn start_proxy_on<H: Hooks>(bind: &str, config: ProxyConfig, hooks: H) -> RunningProxy {
    let listener = TcpListener::bind(bind).await.expect("bind proxy listener");
    let addr = listener.local_addr().expect("proxy address");
    let proxy = Arc::new(Proxy::new(&config, hooks).expect("valid proxy config"));
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(serve(listener, proxy, shutdown));
    RunningProxy { addr, stop: Some(stop), task: Some(task) }
}

/// What [`RecordingHooks`] saw of one exchange.
#[derive(Debug)]
pub struct Recorded {
    /// Request headers as `on_request` saw them.
    pub request_headers: HeaderMap,
    pub exchange: Exchange,
}

/// Hooks that ask for fixed inspection caps, can append a `Set-Cookie`, and
/// report every completed exchange on a channel.
pub struct RecordingHooks {
    pub request_inspect: usize,
    pub response_inspect: usize,
    pub append_set_cookie: Option<&'static str>,
    /// Receives every prefix delivered to `on_request_body`, when set.
    pub early_bodies: Option<mpsc::UnboundedSender<Inspected>>,
    recorded: mpsc::UnboundedSender<Recorded>,
}

impl RecordingHooks {
    pub fn new(request_inspect: usize, response_inspect: usize) -> (RecordingHooks, mpsc::UnboundedReceiver<Recorded>) {
        let (recorded, receiver) = mpsc::unbounded_channel();
        let hooks =
            RecordingHooks { request_inspect, response_inspect, append_set_cookie: None, early_bodies: None, recorded };
        (hooks, receiver)
    }
}

impl Hooks for RecordingHooks {
    type Plan = HeaderMap;

    fn on_request(&self, head: &mut http::request::Parts, _peer: SocketAddr) -> (HeaderMap, usize) {
        (head.headers.clone(), self.request_inspect)
    }

    fn on_request_body(&self, _plan: &mut HeaderMap, body: &Inspected) {
        if let Some(early_bodies) = &self.early_bodies {
            let _ = early_bodies.send(body.clone());
        }
    }

    fn on_response(&self, _plan: &mut HeaderMap, head: &mut http::response::Parts) -> usize {
        if let Some(cookie) = self.append_set_cookie {
            head.headers.append(http::header::SET_COOKIE, HeaderValue::from_static(cookie));
        }
        self.response_inspect
    }

    fn on_complete(&self, plan: HeaderMap, exchange: Exchange) {
        let _ = self.recorded.send(Recorded { request_headers: plan, exchange });
    }
}

/// Waits for the next recorded exchange.
pub async fn next_recorded(receiver: &mut mpsc::UnboundedReceiver<Recorded>) -> Recorded {
    guard("on_complete", receiver.recv()).await.expect("hooks dropped")
}

pub type TestBody = BoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> TestBody {
    Full::new(bytes.into()).boxed()
}

/// A hyper HTTP/1.1 upstream that counts the TCP connections it accepted.
pub struct HyperUpstream {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl HyperUpstream {
    /// Serves every request with `handler` on a loopback port.
    pub async fn start<F, Fut>(handler: F) -> HyperUpstream
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<TestBody>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        HyperUpstream::start_on(listener, handler)
    }

    /// Serves every request with `handler` on an already bound listener.
    pub fn start_on<F, Fut>(listener: TcpListener, handler: F) -> HyperUpstream
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<TestBody>> + Send + 'static,
    {
        let addr = listener.local_addr().expect("upstream address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();

        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let handler = handler.clone();
                        async move { Ok::<_, Infallible>(handler(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });

        HyperUpstream { addr, accepted, task }
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for HyperUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback address where nothing listens: bound, then released.
pub async fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address")
}

/// A parsed message head with header values as raw bytes, in wire order.
#[derive(Debug)]
pub struct Head {
    /// Status code of a response, 0 for a request.
    pub status: u16,
    /// The `x` of `HTTP/1.x`.
    pub minor_version: u8,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    /// All values of header `name` (case-insensitive), in order.
    pub fn all(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
            .collect()
    }

    /// The only value of header `name`, as text.
    pub fn get(&self, name: &str) -> Option<String> {
        let values = self.all(name);
        assert!(values.len() <= 1, "header {name} appears {} times", values.len());
        values.first().map(|value| String::from_utf8_lossy(value).into_owned())
    }

    pub fn content_length(&self) -> Option<usize> {
        self.get("content-length").map(|value| value.trim().parse().expect("numeric content-length"))
    }
}

/// Reads from a socket with a buffer for bytes read past the current message.
pub struct Wire {
    pub stream: TcpStream,
    pub buffer: Vec<u8>,
}

impl Wire {
    pub fn new(stream: TcpStream) -> Wire {
        Wire { stream, buffer: Vec::new() }
    }

    pub async fn connect(addr: SocketAddr) -> Wire {
        Wire::new(TcpStream::connect(addr).await.expect("connect"))
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads more bytes; returns false at end of stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let read = guard("socket read", self.stream.read(&mut chunk)).await.expect("read");
        self.buffer.extend_from_slice(&chunk[..read]);
        read > 0
    }

    /// Reads one message head, up to and including the blank line.
    async fn read_head_bytes(&mut self) -> Vec<u8> {
        loop {
            if let Some(end) = self.buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                let head: Vec<u8> = self.buffer.drain(..end + 4).collect();
                return head;
            }
            assert!(
                self.fill().await,
                "connection closed before a full head: {:?}",
                String::from_utf8_lossy(&self.buffer)
            );
        }
    }

    /// Reads and parses a response head.
    pub async fn read_response_head(&mut self) -> Head {
        let bytes = self.read_head_bytes().await;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let status = response.parse(&bytes).expect("valid response head");
        assert!(status.is_complete());
        Head {
            status: response.code.expect("status code"),
            minor_version: response.version.expect("version"),
            method: String::new(),
            path: String::new(),
            headers: response.headers.iter().map(|header| (header.name.to_owned(), header.value.to_vec())).collect(),
        }
    }

    /// Reads and parses a request head.
    pub async fn read_request_head(&mut self) -> Head {
        let bytes = self.read_head_bytes().await;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        let status = request.parse(&bytes).expect("valid request head");
        assert!(status.is_complete());
        Head {
            status: 0,
            minor_version: request.version.expect("version"),
            method: request.method.expect("method").to_owned(),
            path: request.path.expect("path").to_owned(),
            headers: request.headers.iter().map(|header| (header.name.to_owned(), header.value.to_vec())).collect(),
        }
    }

    /// Reads exactly `len` body bytes.
    pub async fn read_exact(&mut self, len: usize) -> Vec<u8> {
        while self.buffer.len() < len {
            assert!(self.fill().await, "connection closed after {} of {len} body bytes", self.buffer.len());
        }
        self.buffer.drain(..len).collect()
    }

    /// Reads a chunked body and returns its payload.
    pub async fn read_chunked(&mut self) -> Vec<u8> {
        let mut payload = Vec::new();
        loop {
            let line = self.read_line().await;
            let size_text = line.split(';').next().unwrap_or("").trim().to_owned();
            let size = usize::from_str_radix(&size_text, 16).expect("chunk size");
            if size == 0 {
                // Trailer section: lines until an empty one.
                while !self.read_line().await.is_empty() {}
                return payload;
            }
            payload.extend(self.read_exact(size).await);
            assert_eq!(self.read_exact(2).await, b"\r\n", "chunk not followed by CRLF");
        }
    }

    /// Reads one CRLF-terminated line, without the CRLF.
    pub async fn read_line(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|window| window == b"\r\n") {
                let line: Vec<u8> = self.buffer.drain(..end + 2).collect();
                return String::from_utf8_lossy(&line[..end]).into_owned();
            }
            assert!(self.fill().await, "connection closed inside a chunked body");
        }
    }

    /// Reads a response body framed by the head: Content-Length or chunked.
    pub async fn read_body(&mut self, head: &Head) -> Vec<u8> {
        if head.get("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked")) {
            return self.read_chunked().await;
        }
        let len = head.content_length().expect("response without framing");
        self.read_exact(len).await
    }

    /// Reads until the peer closes; returns what arrived after the buffer.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buffer)
    }
}

/// Accepts one connection on a raw upstream listener.
pub async fn accept(listener: &TcpListener) -> Wire {
    let (stream, _) = guard("upstream accept", listener.accept()).await.expect("accept");
    Wire::new(stream)
}

/// A raw upstream listener on a loopback port.
pub async fn raw_upstream() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = listener.local_addr().expect("upstream address");
    (listener, addr)
}

/// Sends `request` through a hyper client connection and collects the response body.
pub async fn send_hyper<B>(addr: SocketAddr, request: Request<B>) -> (http::response::Parts, Bytes)
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let response = guard("response head", sender.send_request(request)).await.expect("response");
    let (head, body) = response.into_parts();
    let bytes = guard("response body", body.collect()).await.expect("body").to_bytes();
    (head, bytes)
}
