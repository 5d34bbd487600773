//! The reverse proxy: an HTTP/1.1 server that forwards every request to the
//! storefront and streams the response back, with Footprint's own decisions
//! plugged in through [`Hooks`].
//!
//! The proxy is generic on purpose. It knows HTTP (hop-by-hop headers,
//! `X-Forwarded-*`, `Expect: 100-continue`, upgrades, streaming bodies) and
//! nothing about trackers or contacts; those decisions arrive through a
//! small hook trait, the way pingora splits its proxy from the user's
//! `ProxyHttp`. Bodies are never buffered: a body passes through frame by
//! frame, and only the bounded prefix a hook asks for is copied aside.
//!
//! # A request's lifecycle
//!
//! ```text
//!  client ──► 1 accept ──► 2-3 on_request ──► 4 forward ──► storefront
//!                                                │             │
//!                                     5 on_request_body        │
//!                                                              │
//!  client ◄── stream body ◄── 6 on_response ◄──── response head ┘
//!                  │
//!                  └──► 7 on_complete (spawned, after both bodies end)
//! ```
//!
//! 1. **Accept** ([`serve`]): one task and one `connection` span
//!    (`client.addr`) per TCP connection, a limit on how long the client may
//!    take to send request headers, and graceful shutdown that stops
//!    accepting and drains in-flight connections for a bounded time.
//! 2. **Identify** and 3. **Classify** ([`Hooks::on_request`]): the request
//!    head arrives without hop-by-hop headers. The hook reads or edits it
//!    (the tracker cookie, activity rules) and returns its plan plus how many
//!    request body bytes it wants to inspect. A request whose
//!    `Content-Length` exceeds `max_request_body_bytes` is answered 413
//!    before this phase and never reaches the storefront.
//! 4. **Forward**: `X-Forwarded-For/-Proto/-Host` and `Forwarded` are set,
//!    `Host` is kept or rewritten, and the request streams upstream over a
//!    pooled connection. The requested prefix of the body is copied while
//!    it passes. A body without `Content-Length` that grows past
//!    `max_request_body_bytes` is cut off: the upstream request is aborted
//!    and the client gets 413.
//! 5. **Capture** ([`Hooks::on_request_body`]): while the proxy waits for
//!    the response head, it also waits for the request body copy. When the
//!    body has ended first, the hook receives the copied prefix at once and
//!    can start work (a plugin call) that runs while the storefront prepares
//!    its response.
//!    When the response head comes first, this phase is skipped and the
//!    prefix reaches the hooks in phase 7 only.
//! 6. **Respond** ([`Hooks::on_response`]): the upstream response head,
//!    without hop-by-hop headers, can be edited (strip a header, append a
//!    `Set-Cookie`), then the body streams to the client. When the upstream
//!    cannot be reached or times out, the client gets a small 502 or 504
//!    page instead and this phase is skipped.
//! 7. **Record** ([`Hooks::on_complete`]): once both bodies have ended, failed
//!    or been dropped, a spawned task hands the plan, the status and the
//!    copied prefixes to the hooks. The client never waits for it.

mod body;
mod error;
mod expect;
mod forward;
mod headers;
mod hooks;
mod metrics;
mod pages;
mod peer;
mod server;
mod upgrade;

pub use error::ProxyError;
pub use forward::Proxy;
pub use hooks::{Exchange, Hooks, Inspected};
pub use metrics::{REQUESTS_TOTAL, REQUEST_DURATION_SECONDS, UPSTREAM_ERRORS_TOTAL};
pub use peer::PeerRange;
pub use server::serve;
