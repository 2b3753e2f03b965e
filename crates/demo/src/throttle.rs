//! A shared byte rate for every connection of a server: what a slow network looks like to a
//! client. Testers use it to watch progress, suspend and reload mid-sync on a fast machine.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The largest write let through at once, so many connections share the rate fairly.
const SLICE: usize = 16 * 1024;

/// Bytes per second shared by every stream made with [`Rate::limit`].
#[derive(Debug, Clone)]
pub struct Rate {
    bytes_per_sec: u64,
    /// When the link is free again: each write books its share of time after this.
    free_at: Arc<Mutex<Instant>>,
}

impl Rate {
    pub fn new(bytes_per_sec: u64) -> Rate {
        Rate {
            bytes_per_sec: bytes_per_sec.max(1),
            free_at: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// `stream`, with what it writes held to this rate.
    pub fn limit<S>(&self, stream: S) -> Limited<S> {
        Limited {
            inner: stream,
            rate: self.clone(),
            wait: None,
            booked: 0,
        }
    }

    /// Books `n` bytes of the link and returns when they may go.
    fn book(&self, n: usize) -> Instant {
        let mut free_at = self.free_at.lock().unwrap_or_else(PoisonError::into_inner);
        let start = (*free_at).max(Instant::now());
        *free_at = start + Duration::from_nanos(n as u64 * 1_000_000_000 / self.bytes_per_sec);
        start
    }
}

/// A stream whose writes wait their turn on a shared [`Rate`].
pub struct Limited<S> {
    inner: S,
    rate: Rate,
    wait: Option<Pin<Box<Sleep>>>,
    /// Bytes whose time was booked and may now be written.
    booked: usize,
}

impl<S: AsyncRead + Unpin> AsyncRead for Limited<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Limited<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.booked == 0 && self.wait.is_none() {
            let n = buf.len().min(SLICE);
            let at = self.rate.book(n);
            self.booked = n;
            self.wait = Some(Box::pin(tokio::time::sleep_until(at)));
        }
        if let Some(wait) = self.wait.as_mut() {
            if wait.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.wait = None;
        }
        let n = buf.len().min(self.booked);
        let written = Pin::new(&mut self.inner).poll_write(cx, &buf[..n]);
        if let Poll::Ready(Ok(done)) = written {
            self.booked -= done;
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn two_streams_share_one_rate() {
        let rate = Rate::new(100 * 1024);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (client, mut server) = tokio::io::duplex(1024 * 1024);
            let mut limited = rate.limit(client);
            tasks.push(tokio::spawn(async move {
                limited.write_all(&[7u8; 100 * 1024]).await.unwrap();
                limited.shutdown().await.unwrap();
            }));
            tasks.push(tokio::spawn(async move {
                let mut all = Vec::new();
                server.read_to_end(&mut all).await.unwrap();
                assert_eq!(all.len(), 100 * 1024);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(1800) && took <= Duration::from_millis(2100),
            "200 KiB at 100 KiB/s took {took:?}"
        );
    }
}
