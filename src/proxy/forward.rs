//! Forwarding one request: the proxy's phases from request head to response
//! head, and the upstream client they use.
//!
//! The upstream client is hyper-util's pooled client behind a tower timeout
//! layer, so keep-alive connections to the shop are reused across clients
//! and the wait for a response head is bounded in one place. Bodies are
//! wrapped, never collected: [`InspectBody`] copies the prefix the hooks
//! asked for, `Limited` enforces the request body cap while streaming, and
//! [`ContinueGate`] holds back a body announced with `Expect: 100-continue`.
//!
//! A chunked request body has no declared length, so the cap can only be
//! enforced while it streams. Once the body passes `max_request_body_bytes`
//! it fails, hyper aborts the upstream request (the shop sees an incomplete
//! body and a closed connection), and the client gets 413 with its
//! connection closed.
//!
//! NOTE: if the shop has already sent its response head when the cap is
//! passed, the client keeps that status and its response body may be cut
//! short by the aborted upstream connection. Nothing tests this order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{CONTENT_LENGTH, HOST};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::oneshot;
use tower::timeout::{Timeout, TimeoutLayer};
use tower::{Service, ServiceBuilder};

use super::body::{InspectBody, ProxyBody};
use super::error::{error_chain, ProxyError, UpstreamFailure};
use super::expect::{expects_continue, ContinueGate, GateHandle};
use super::headers;
use super::hooks::{Exchange, Hooks, Inspected};
use super::metrics;
use super::pages::error_page;
use super::peer::PeerRange;
use super::upgrade::spawn_tunnel;
use crate::config::ProxyConfig;

type Upstream = Timeout<Client<HttpConnector, ProxyBody>>;

/// The reverse proxy: configuration, upstream client and hooks, shared by
/// every connection.
pub struct Proxy<H: Hooks> {
    /// Shared with the completion tasks, which outlive the request.
    hooks: Arc<H>,
    upstream: Upstream,
    upstream_authority: Authority,
    /// `upstream_authority` as a header value, for `Host` rewriting.
    upstream_host: HeaderValue,
    preserve_host: bool,
    trusted_proxies: Vec<PeerRange>,
    /// 0 disables the limit.
    max_request_body_bytes: u64,
    pub(crate) header_read_timeout: Duration,
    pub(crate) drain_timeout: Duration,
}

impl<H: Hooks> Proxy<H> {
    /// Builds the proxy and its upstream connection pool. Opens no
    /// connection until the first request.
    pub fn new(config: &ProxyConfig, hooks: H) -> Result<Proxy<H>, ProxyError> {
        let invalid_upstream =
            |reason: &str| ProxyError::InvalidUpstream { url: config.upstream.clone(), reason: reason.to_owned() };
        let uri: Uri =
            config.upstream.parse().map_err(|_| invalid_upstream("expected a url such as http://127.0.0.1:8000"))?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(invalid_upstream("expected an http:// url; https upstreams are not supported"));
        }
        let upstream_authority = uri.authority().cloned().ok_or_else(|| invalid_upstream("expected a host"))?;
        if uri.path_and_query().is_some_and(|path| path.as_str() != "/") {
            return Err(invalid_upstream("expected no path, because requests keep their own path"));
        }
        let upstream_host =
            HeaderValue::from_str(upstream_authority.as_str()).map_err(|_| invalid_upstream("invalid host"))?;

        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .map(|value| {
                PeerRange::parse(value)
                    .map_err(|reason| ProxyError::InvalidTrustedProxy { value: value.clone(), reason })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout()));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout())
            .pool_max_idle_per_host(config.pool_max_idle)
            // With `preserve_host` the client's Host is forwarded as is; hyper adds one only when it is missing.
            .set_host(true)
            .build(connector);
        let upstream = ServiceBuilder::new()
            // Bounds the wait for the response head only: body streaming has no overall deadline.
            .layer(TimeoutLayer::new(config.response_timeout()))
            .service(client);

        Ok(Proxy {
            hooks: Arc::new(hooks),
            upstream,
            upstream_authority,
            upstream_host,
            preserve_host: config.preserve_host,
            trusted_proxies,
            max_request_body_bytes: config.max_request_body_bytes,
            header_read_timeout: config.header_read_timeout(),
            drain_timeout: config.drain_timeout(),
        })
    }

    fn is_trusted(&self, peer: SocketAddr) -> bool {
        self.trusted_proxies.iter().any(|range| range.contains(peer.ip()))
    }

    /// Responds to one client request, through the upstream or with a page
    /// of the proxy's own. Never fails: every error becomes a response.
    pub(crate) async fn handle(&self, mut request: Request<Incoming>, peer: SocketAddr) -> Response<ProxyBody> {
        let started = Instant::now();

        if self.exceeds_body_limit(&request) {
            tracing::debug!(limit = self.max_request_body_bytes, "request body too large");
            return finish_locally(StatusCode::PAYLOAD_TOO_LARGE, started);
        }

        // Taken before the head is split off, because hyper keeps the upgrade in the request's extensions.
        let is_upgrade = headers::is_upgrade_request(request.headers());
        let client_upgrade = is_upgrade.then(|| hyper::upgrade::on(&mut request));

        // Phases 2-3: the hooks see the head without hop-by-hop headers.
        let (mut head, body) = request.into_parts();
        headers::remove_hop_by_hop(&mut head.headers, is_upgrade);
        let (mut plan, request_inspect) = self.hooks.on_request(&mut head, peer);

        // Phase 4: forwarding headers, Host, and the upstream URI.
        let client_host = head.headers.get(HOST).cloned();
        headers::set_forwarded(&mut head.headers, peer.ip(), self.is_trusted(peer), client_host.as_ref());
        if !self.preserve_host {
            headers::rewrite_host(&mut head.headers, &self.upstream_host);
        }
        head.uri = match self.upstream_uri(&head.uri) {
            Ok(uri) => uri,
            Err(error) => {
                tracing::debug!(%error, "request target cannot be forwarded");
                self.spawn_completion(plan, StatusCode::BAD_REQUEST, PendingCopy::none(), None);
                return finish_locally(StatusCode::BAD_REQUEST, started);
            }
        };
        head.version = Version::HTTP_11;

        let (body, request_copy, gate) = self.request_body(body, request_inspect, expects_continue(&head.headers));
        let mut upstream_request = Request::from_parts(head, body);
        // NOTE: informational responses other than 100 (such as 103 Early
        // Hints) are dropped, because hyper 1.13's server rejects any 1xx
        // response head except 101 and its own automatic 100 Continue.
        if let Some(gate) = &gate {
            let gate = gate.clone();
            hyper::ext::on_informational(&mut upstream_request, move |response| {
                if response.status() == StatusCode::CONTINUE {
                    gate.open();
                }
            });
        }

        // No `poll_ready` first: the pooled client and the timeout layer are always ready.
        let response_future = self.upstream.clone().call(upstream_request);
        let (result, request_copy) = self.await_response(response_future, &mut plan, request_copy).await;
        if let Some(gate) = &gate {
            gate.close();
        }

        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                let failure = UpstreamFailure::classify(&*error);
                let status = failure.status();
                match failure.metric_kind() {
                    Some(kind) => {
                        metrics::record_upstream_error(kind);
                        tracing::warn!(upstream = %self.upstream_authority, error = %error_chain(&*error), kind, "upstream request failed");
                    }
                    None => tracing::debug!(
                        error = %error_chain(&*error),
                        "request body failed while streaming"
                    ),
                }
                self.spawn_completion(plan, status, request_copy, None);
                return finish_locally(status, started);
            }
        };

        // Phase 6: the hooks see the response head without hop-by-hop headers.
        let status = response.status();
        let upstream_upgrade = (status == StatusCode::SWITCHING_PROTOCOLS).then(|| hyper::upgrade::on(&mut response));
        let (mut head, body) = response.into_parts();
        // The browser's connection stays HTTP/1.1 whatever the shop spoke, so
        // an HTTP/1.0 upstream does not end the browser's keep-alive.
        head.version = Version::HTTP_11;
        headers::remove_hop_by_hop(&mut head.headers, is_upgrade && upstream_upgrade.is_some());
        let response_inspect = self.hooks.on_response(&mut plan, &mut head);

        if let (Some(client), Some(upstream)) = (client_upgrade, upstream_upgrade) {
            spawn_tunnel(client, upstream);
        }

        let (body, response_copy) = InspectBody::new(body, response_inspect);
        let response_copy = PendingCopy { receiver: response_copy, requested: response_inspect > 0, delivered: None };
        self.spawn_completion(plan, status, request_copy, Some(response_copy));

        metrics::record_response(status, started.elapsed());
        tracing::debug!(http.status = status.as_u16(), "response head ready");
        Response::from_parts(head, body.boxed_unsync())
    }

    fn exceeds_body_limit(&self, request: &Request<Incoming>) -> bool {
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());

        self.max_request_body_bytes > 0 && declared.is_some_and(|length| length > self.max_request_body_bytes)
    }

    fn upstream_uri(&self, original: &Uri) -> Result<Uri, http::Error> {
        let path = original.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));

        Uri::builder().scheme(Scheme::HTTP).authority(self.upstream_authority.clone()).path_and_query(path).build()
    }

    /// Wraps the client's body for streaming upstream: the size cap, the
    /// inspected copy, and the `Expect: 100-continue` gate, in that order
    /// from the inside out.
    fn request_body(
        &self,
        body: Incoming,
        inspect: usize,
        expect_continue: bool,
    ) -> (ProxyBody, PendingCopy, Option<GateHandle>) {
        let limited = match self.max_request_body_bytes {
            0 => body.map_err(Into::into).boxed_unsync(),
            max => Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX)).boxed_unsync(),
        };
        let (inspected, receiver) = InspectBody::new(limited, inspect);
        let copy = PendingCopy { receiver, requested: inspect > 0, delivered: None };

        if expect_continue {
            let (gated, gate) = ContinueGate::new(inspected.boxed_unsync());
            (gated.boxed_unsync(), copy, Some(gate))
        } else {
            (inspected.boxed_unsync(), copy, None)
        }
    }

    /// Phases 4-5: waits for the response head and, at the same time, for
    /// the request body copy, so `on_request_body` can run as soon as the
    /// copy is ready. The copy never holds back the response: whichever
    /// comes first, the response future keeps being polled.
    async fn await_response<F, T>(
        &self,
        response_future: F,
        plan: &mut H::Plan,
        mut request_copy: PendingCopy,
    ) -> (T, PendingCopy)
    where
        F: std::future::Future<Output = T>,
    {
        tokio::pin!(response_future);
        if !request_copy.requested {
            return (response_future.await, request_copy);
        }

        tokio::select! {
            biased;
            result = &mut response_future => (result, request_copy),
            copy = &mut request_copy.receiver => {
                let copy = copy.ok();
                if let Some(inspected) = &copy {
                    self.hooks.on_request_body(plan, inspected);
                }
                let delivered = PendingCopy::delivered(copy);
                (response_future.await, delivered)
            }
        }
    }

    /// Phase 7: calls `on_complete` once both copies are delivered, off the
    /// response path.
    fn spawn_completion(
        &self,
        plan: H::Plan,
        status: StatusCode,
        request_copy: PendingCopy,
        response_copy: Option<PendingCopy>,
    ) {
        let hooks = self.hooks.clone();
        let completion = async move {
            let request_body = request_copy.resolve().await;
            let response_body = match response_copy {
                Some(copy) => copy.resolve().await,
                None => None,
            };
            hooks.on_complete(plan, Exchange { status, request_body, response_body });
        };

        tokio::spawn(tracing::Instrument::in_current_span(completion));
    }
}

/// A body copy still streaming. The receiver is kept even when no copy was
/// requested, because its delivery is the signal that the body is done.
struct PendingCopy {
    receiver: oneshot::Receiver<Inspected>,
    requested: bool,
    /// The copy, once taken from `receiver` for `on_request_body`.
    delivered: Option<Option<Inspected>>,
}

impl PendingCopy {
    /// Builds a copy that is already done and empty, for a body never forwarded.
    fn none() -> PendingCopy {
        let (report, receiver) = oneshot::channel();
        drop(report);
        PendingCopy { receiver, requested: false, delivered: None }
    }

    /// Builds a copy already taken from its channel.
    fn delivered(copy: Option<Inspected>) -> PendingCopy {
        let mut pending = PendingCopy::none();
        pending.requested = true;
        pending.delivered = Some(copy);
        pending
    }

    /// Waits until the body has ended, failed or been dropped.
    async fn resolve(self) -> Option<Inspected> {
        let inspected = match self.delivered {
            Some(copy) => copy,
            None => self.receiver.await.ok(),
        };
        inspected.filter(|_| self.requested)
    }
}

/// Responds with the proxy's own page and records the metrics for it.
fn finish_locally(status: StatusCode, started: Instant) -> Response<ProxyBody> {
    metrics::record_response(status, started.elapsed());
    error_page(status)
}
