//! Idle timeouts: a stalled server is one that sends (or accepts) nothing for a while, not one
//! whose transfer is long. Both helpers here measure silence, never total time.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use tokio::time::{Instant, Sleep};

use crate::error::Error;
use crate::path::RemotePath;

/// Why a response body stopped early.
#[derive(Debug)]
pub(crate) enum BodyError {
    Stalled(Duration),
    Transport(reqwest::Error),
}

impl BodyError {
    pub(crate) fn into_error(self, method: Method, path: &RemotePath) -> Error {
        match self {
            BodyError::Stalled(waited) => Error::Stalled {
                method,
                path: path.to_string(),
                waited,
            },
            BodyError::Transport(source) => Error::transport(&method, path, source),
        }
    }
}

type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;

/// A response body that fails with [`BodyError::Stalled`] when no chunk arrives for `idle`.
pub(crate) struct IdleStream {
    inner: BodyStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Where a failure is kept for readers that only see `io::Error` (the XML parser).
    failure: Failure,
}

impl IdleStream {
    pub(crate) fn new(
        inner: impl Stream<Item = reqwest::Result<Bytes>> + Send + Sync + 'static,
        idle: Duration,
    ) -> Self {
        IdleStream {
            inner: Box::pin(inner),
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            failure: Failure::default(),
        }
    }

    /// A handle on the failure this stream reports as `io::Error` when read as an `AsyncRead`.
    pub(crate) fn failure(&self) -> Failure {
        self.failure.clone()
    }

    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        if let Poll::Ready(item) = self.inner.poll_next_unpin(cx) {
            self.deadline.as_mut().reset(Instant::now() + self.idle);
            return Poll::Ready(item.map(|r| r.map_err(BodyError::Transport)));
        }
        ready!(self.deadline.as_mut().poll(cx));
        Poll::Ready(Some(Err(BodyError::Stalled(self.idle))))
    }

    /// The next chunk with its typed error.
    pub(crate) async fn next_chunk(&mut self) -> Option<Result<Bytes, BodyError>> {
        std::future::poll_fn(|cx| self.poll_body(cx)).await
    }
}

/// Read as a stream of `io::Result`, the form `tokio_util::io::StreamReader` wants.
impl Stream for IdleStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        Poll::Ready(match ready!(this.poll_body(cx)) {
            None => None,
            Some(Ok(bytes)) => Some(Ok(bytes)),
            Some(Err(error)) => {
                let message = format!("{error:?}");
                this.failure.record(error);
                Some(Err(std::io::Error::other(message)))
            }
        })
    }
}

/// The failure behind an `io::Error` from an [`IdleStream`], kept with its type.
#[derive(Clone, Default)]
pub(crate) struct Failure(Arc<Mutex<Option<BodyError>>>);

impl Failure {
    fn record(&self, error: BodyError) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
    }

    pub(crate) fn take(&self) -> Option<BodyError> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// When a request last made progress (a body chunk went out), for stall detection on uploads.
#[derive(Clone)]
pub(crate) struct Activity {
    origin: Instant,
    /// Milliseconds after `origin` of the last progress.
    last: Arc<AtomicU64>,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Activity {
            origin: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = self.origin.elapsed().as_millis() as u64;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// Passes `stream` through, counting every chunk as progress.
    pub(crate) fn watch<S>(&self, stream: S) -> impl Stream<Item = S::Item> + Send + Sync + 'static
    where
        S: Stream + Send + Sync + 'static,
    {
        let activity = self.clone();
        stream.inspect(move |_| activity.touch())
    }

    /// Completes once nothing has happened for `idle`.
    pub(crate) async fn stalled(&self, idle: Duration) {
        loop {
            let last = self.origin + Duration::from_millis(self.last.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}
