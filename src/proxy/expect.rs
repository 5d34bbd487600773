//! `Expect: 100-continue` handling: the client's body is held back until the
//! upstream requests it.
//!
//! hyper's server sends `100 Continue` to the client as soon as the request
//! body is first polled, and hyper's client polls the body right after the
//! request head. Without this gate the client would always be invited to
//! send, even when the upstream rejects the request from its head (a 403 or
//! 413). The client would then upload a body nobody reads, and its
//! connection would be closed under that upload, which can reset it before
//! it reads the response.
//!
//! The gate opens when the upstream sends `100 Continue`, or after
//! [`CONTINUE_FALLBACK`] for upstreams that ignore `Expect`. It closes when a
//! final response arrives first; the body then fails, so the upstream
//! connection is dropped instead of being reused with a request half sent.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http::header::EXPECT;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use super::error::BoxError;

/// How long to wait for the upstream's `100 Continue` before sending the body
/// anyway. RFC 9110 section 10.1.1 leaves the wait to the client, and curl
/// waits 1000 ms by default (`CURLOPT_EXPECT_100_TIMEOUT_MS`).
pub(crate) const CONTINUE_FALLBACK: Duration = Duration::from_secs(1);

const WAITING: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;

/// Returns true when the request expects `100 Continue` before sending its body.
pub(crate) fn expects_continue(headers: &HeaderMap) -> bool {
    headers.get(EXPECT).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// The state shared by a gated body and the code that watches the upstream.
#[derive(Default)]
struct Signal {
    state: AtomicU8,
    waker: AtomicWaker,
}

/// Opens or closes one gate; cheap to clone into hyper's informational callback.
#[derive(Clone)]
pub(crate) struct GateHandle(Arc<Signal>);

impl GateHandle {
    /// Lets the body through: the upstream sent `100 Continue`.
    pub(crate) fn open(&self) {
        self.set(OPEN);
    }

    /// Fails the body if it is still held back: a final response arrived.
    pub(crate) fn close(&self) {
        self.set(CLOSED);
    }

    fn set(&self, state: u8) {
        // Only the first decision counts: a body already flowing stays open.
        if self.0.state.compare_exchange(WAITING, state, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.0.waker.wake();
        }
    }
}

/// The upstream sent a final response before requesting the body.
#[derive(Debug, thiserror::Error)]
#[error("upstream answered before requesting the body announced with expect: 100-continue")]
pub(crate) struct BodyNotRequested;

/// A body that yields nothing until its gate opens.
pub(crate) struct ContinueGate<B> {
    inner: B,
    signal: Arc<Signal>,
    fallback: Pin<Box<Sleep>>,
}

impl<B> ContinueGate<B> {
    pub(crate) fn new(inner: B) -> (ContinueGate<B>, GateHandle) {
        let signal = Arc::new(Signal::default());
        let fallback = Box::pin(tokio::time::sleep(CONTINUE_FALLBACK));
        let handle = GateHandle(signal.clone());
        (ContinueGate { inner, signal, fallback }, handle)
    }

    fn poll_state(&mut self, cx: &mut Context<'_>) -> Poll<u8> {
        self.signal.waker.register(cx.waker());

        let state = self.signal.state.load(Ordering::Acquire);
        if state != WAITING {
            return Poll::Ready(state);
        }

        if self.fallback.as_mut().poll(cx).is_ready() {
            tracing::debug!("no 100 continue from upstream, sending the body anyway");
            GateHandle(self.signal.clone()).open();
            return Poll::Ready(self.signal.state.load(Ordering::Acquire));
        }

        Poll::Pending
    }
}

impl<B> Body for ContinueGate<B>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;

        match this.poll_state(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(OPEN) => Pin::new(&mut this.inner).poll_frame(cx),
            Poll::Ready(_) => Poll::Ready(Some(Err(Box::new(BodyNotRequested)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
