//! The body wrapper that copies a bounded prefix aside while every frame
//! passes through untouched.
//!
//! The copy is capped, so a 2 MB upload costs at most the cap in memory, and
//! the frames the peer receives are the very frames the wrapper was given.
//! The copied prefix is delivered through a oneshot channel exactly once:
//! when the body ends, fails, or is dropped unfinished (a client that went
//! away, an upstream that responded before reading the body).

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use tokio::sync::oneshot;

use super::error::BoxError;
use super::hooks::Inspected;

/// The body type the proxy sends in both directions.
pub(crate) type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// A body that copies its first `cap` bytes while streaming.
pub(crate) struct InspectBody<B: Body> {
    inner: B,
    cap: usize,
    copied: BytesMut,
    /// Set when data beyond `cap` passed, so the copy is only a prefix.
    truncated: bool,
    /// Taken when the result is delivered, so it is delivered once.
    report: Option<oneshot::Sender<Inspected>>,
}

impl<B: Body> InspectBody<B> {
    /// Wraps `inner`; the receiver gets the copied prefix when the body is done.
    pub(crate) fn new(inner: B, cap: usize) -> (InspectBody<B>, oneshot::Receiver<Inspected>) {
        let (report, receiver) = oneshot::channel();
        let body = InspectBody { inner, cap, copied: BytesMut::new(), truncated: false, report: Some(report) };
        (body, receiver)
    }

    fn copy(&mut self, data: &Bytes) {
        let room = self.cap - self.copied.len();
        let taken = room.min(data.len());

        self.copied.extend_from_slice(&data[..taken]);
        if taken < data.len() {
            self.truncated = true;
        }
    }

    fn deliver(&mut self, ended: bool) {
        if let Some(report) = self.report.take() {
            let inspected = Inspected { bytes: self.copied.split().freeze(), complete: ended && !self.truncated };
            // The receiver is gone only when the exchange was abandoned, so the copy is not needed.
            let _ = report.send(inspected);
        }
    }
}

impl<B> Body for InspectBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;

        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.copy(data);
                }
                // hyper stops polling once a body reports its end, so this may be the last call.
                if this.inner.is_end_stream() {
                    this.deliver(true);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => {
                this.deliver(false);
                Poll::Ready(Some(Err(error.into())))
            }
            None => {
                this.deliver(true);
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: Body> Drop for InspectBody<B> {
    fn drop(&mut self) {
        // An empty body may be dropped without ever being polled, and it is
        // still whole. Any other body dropped here stopped early.
        let ended = self.inner.is_end_stream();
        self.deliver(ended);
    }
}
