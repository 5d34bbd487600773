//! The hook trait through which Footprint's tracking plugs into the proxy.
//!
//! Four phases cover everything Footprint does to a request: look at the
//! request head, receive the request body prefix while the upstream is
//! still working on the response, look at the response head, and record
//! once both bodies are done. The trait is generic over the state carried between them
//! (`Plan`) so the proxy never boxes or downcasts it. `()` is the hook that
//! does nothing, which makes the proxy a plain reverse proxy.

use std::net::SocketAddr;

use bytes::Bytes;
use http::StatusCode;

/// Footprint's decisions at the phases of a request. `()` implements it doing nothing.
pub trait Hooks: Send + Sync + 'static {
    /// State carried from the request head to the end of the exchange.
    type Plan: Send + 'static;

    /// Phases 2-3: sees (and may edit) the request head before it is forwarded, after
    /// hop-by-hop removal and before X-Forwarded-* are added. Returns the plan and how many
    /// bytes of the request body to copy for inspection (0: none).
    fn on_request(&self, head: &mut http::request::Parts, peer: SocketAddr) -> (Self::Plan, usize);

    /// Phase 5: receives the request body prefix as soon as the whole body has streamed
    /// upstream (or the copy cap was passed and the body then ended), while the proxy still
    /// waits for the response head. Work that should overlap with the upstream's response
    /// time starts here, for example a spawned plugin call.
    ///
    /// Called only when `on_request` requested a prefix, and only when the body ended before
    /// the response head arrived. Otherwise `on_complete` is the first to see the prefix. It
    /// runs on the request path, so it must return quickly. The default does nothing.
    fn on_request_body(&self, _plan: &mut Self::Plan, _body: &Inspected) {}

    /// Phase 6: sees (and may edit) the upstream response head before the client gets it
    /// (after hop-by-hop removal), e.g. to remove a header or append a Set-Cookie. Returns how
    /// many bytes of the response body to copy for inspection (0: none). Not called when the
    /// upstream failed (502/504).
    fn on_response(&self, plan: &mut Self::Plan, head: &mut http::response::Parts) -> usize;

    /// Phase 7, off the response path (spawned task): called once, after both bodies have
    /// ended, failed or been dropped, with what was copied. Never delays the client.
    ///
    /// It runs on a runtime worker, so it must not block: hand slow work to a queue. When
    /// no upstream response arrived, `exchange.status` is the page the proxy sent instead
    /// (400, 413, 502 or 504) and `response_body` is `None`.
    fn on_complete(&self, plan: Self::Plan, exchange: Exchange);
}

/// What happened to one request, as the proxy saw it.
#[derive(Debug)]
pub struct Exchange {
    /// Status sent to the client: the upstream's, or the proxy's own 502/504.
    pub status: StatusCode,
    /// The request body prefix, when `on_request` asked for one.
    pub request_body: Option<Inspected>,
    /// The response body prefix, when `on_response` asked for one.
    pub response_body: Option<Inspected>,
}

/// A copied body prefix. `complete` is true when the whole body was copied (it ended within the cap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspected {
    pub bytes: Bytes,
    pub complete: bool,
}

impl Hooks for () {
    type Plan = ();

    fn on_request(&self, _head: &mut http::request::Parts, _peer: SocketAddr) -> ((), usize) {
        ((), 0)
    }

    fn on_response(&self, _plan: &mut (), _head: &mut http::response::Parts) -> usize {
        0
    }

    fn on_complete(&self, _plan: (), _exchange: Exchange) {}
}
