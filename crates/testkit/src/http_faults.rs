//! The in-process WebDAV server behind an HTTP fault layer: the answers real servers give on a
//! bad day, injected into chosen requests of a whole sync.
//!
//! A test arms a fault for the next N requests of a method ([`FaultyDav::arm`]); every other
//! request is served faithfully by `dav-server` over the folder. Faults that change the served
//! file do it on disk, as another client would, so the server's own listing and ETags follow.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use dav_server::DavHandler;
use dav_server::fakels::FakeLs;
use dav_server::localfs::LocalFs;
use futures_util::{Stream, StreamExt};
use http_body_util::StreamBody;
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_RANGE, HeaderValue, IF_RANGE, RANGE, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tidesync_demo::server::serve_connections;
use tokio_util::sync::DropGuard;

/// What goes wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpFault {
    /// The server answers this status (423, 429, 503, 507 …) with `Retry-After` in seconds.
    Status(u16, u64),
    /// A ranged GET is answered 200 with the whole file.
    IgnoreRange,
    /// A 206 whose `Content-Range` starts at another byte than the one asked for.
    WrongContentRange,
    /// The body stops at half its `Content-Length` and the connection closes.
    ShortBody,
    /// The file is rewritten just before the GET is served: its ETag is not the listed one.
    EtagChanges,
    /// The file is rewritten in place after the first chunk of its body has gone out.
    ChangesMidBody,
    /// The answer's headers come this late.
    SlowHeaders(Duration),
}

impl HttpFault {
    /// Every fault, with values a client with a 3 s idle timeout must survive or report.
    pub fn catalogue() -> [HttpFault; 10] {
        [
            HttpFault::Status(423, 1),
            HttpFault::Status(429, 1),
            HttpFault::Status(503, 1),
            HttpFault::Status(507, 0),
            HttpFault::IgnoreRange,
            HttpFault::WrongContentRange,
            HttpFault::ShortBody,
            HttpFault::EtagChanges,
            HttpFault::ChangesMidBody,
            HttpFault::SlowHeaders(Duration::from_millis(3500)),
        ]
    }

    /// The methods this fault means something for: statuses and slow headers hit anything;
    /// a short body hits listings and downloads; the rest are about downloads.
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            HttpFault::Status(..) | HttpFault::SlowHeaders(_) => {
                &["PROPFIND", "GET", "PUT", "MOVE", "MKCOL"]
            }
            HttpFault::ShortBody => &["PROPFIND", "GET"],
            _ => &["GET"],
        }
    }
}

struct Armed {
    method: Method,
    fault: HttpFault,
    left: u32,
}

type Body = StreamBody<Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Send>>>;

/// A running server; it stops when dropped.
pub struct FaultyDav {
    addr: SocketAddr,
    armed: Arc<Mutex<Vec<Armed>>>,
    dealt: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    _stop: DropGuard,
}

impl FaultyDav {
    /// Serves `root` on a free loopback port, faithfully until a fault is armed.
    pub async fn serve(root: &Path) -> std::io::Result<FaultyDav> {
        let handler = DavHandler::builder()
            .filesystem(LocalFs::new(root, false, false, false))
            .locksystem(FakeLs::new())
            .build_handler();
        let armed: Arc<Mutex<Vec<Armed>>> = Arc::default();
        let dealt = Arc::new(AtomicU64::new(0));
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let layer = Layer {
            handler,
            root: root.to_owned(),
            armed: armed.clone(),
            dealt: dealt.clone(),
            seen: seen.clone(),
        };
        let (addr, stop) =
            serve_connections(SocketAddr::from(([127, 0, 0, 1], 0)), move |stream| {
                let layer = layer.clone();
                let service = service_fn(move |request| {
                    let layer = layer.clone();
                    async move { Ok::<_, Infallible>(layer.answer(request).await) }
                });
                http1::Builder::new().serve_connection(TokioIo::new(stream), service)
            })
            .await?;
        Ok(FaultyDav {
            addr,
            armed,
            dealt,
            seen,
            _stop: stop,
        })
    }

    /// The base URL, ending with `/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next `times` requests with `method` get `fault`.
    pub fn arm(&self, method: &str, fault: HttpFault, times: u32) {
        let method = Method::from_bytes(method.as_bytes()).expect("a valid method");
        lock(&self.armed).push(Armed {
            method,
            fault,
            left: times,
        });
    }

    /// Every request is served faithfully from now on.
    pub fn disarm(&self) {
        lock(&self.armed).clear();
    }

    /// Every request so far, oldest first, as `(method, path)`.
    pub fn requests(&self) -> Vec<(String, String)> {
        lock(&self.seen).clone()
    }

    /// How many requests got a fault so far.
    pub fn dealt(&self) -> u64 {
        self.dealt.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct Layer {
    handler: DavHandler,
    root: PathBuf,
    armed: Arc<Mutex<Vec<Armed>>>,
    dealt: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Layer {
    fn draw(&self, method: &Method) -> Option<HttpFault> {
        let mut armed = lock(&self.armed);
        let slot = armed
            .iter_mut()
            .find(|a| a.left > 0 && a.method == method)?;
        slot.left -= 1;
        self.dealt.fetch_add(1, Ordering::SeqCst);
        Some(slot.fault)
    }

    async fn answer(&self, mut request: Request<Incoming>) -> Response<Body> {
        lock(&self.seen).push((
            request.method().to_string(),
            request.uri().path().to_owned(),
        ));
        let fault = self.draw(request.method());
        let file = self.local_file(request.uri().path());
        match fault {
            Some(HttpFault::Status(code, retry_after)) => {
                let status = StatusCode::from_u16(code).expect("a valid status");
                let mut response = Response::new(body(futures_util::stream::empty()));
                *response.status_mut() = status;
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(retry_after));
                return response;
            }
            Some(HttpFault::SlowHeaders(delay)) => tokio::time::sleep(delay).await,
            Some(HttpFault::IgnoreRange) => {
                request.headers_mut().remove(RANGE);
                request.headers_mut().remove(IF_RANGE);
            }
            Some(HttpFault::EtagChanges) => rewrite(&file),
            _ => {}
        }
        let (mut parts, served) = self.handler.handle(request).await.into_parts();
        let stream: Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>> = match fault {
            Some(HttpFault::WrongContentRange) => {
                if let Some(shifted) = parts
                    .headers
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(shift_range)
                {
                    parts.headers.insert(CONTENT_RANGE, shifted);
                }
                Box::pin(served)
            }
            Some(HttpFault::ShortBody) => {
                let length = parts
                    .headers
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<usize>().ok());
                match length {
                    Some(length) if length > 1 => Box::pin(cut(served, length / 2)),
                    _ => Box::pin(served),
                }
            }
            Some(HttpFault::ChangesMidBody) => {
                let mut first = true;
                Box::pin(served.inspect(move |_| {
                    if std::mem::take(&mut first) {
                        rewrite(&file);
                    }
                }))
            }
            _ => Box::pin(served),
        };
        Response::from_parts(parts, body(stream))
    }

    /// The file under the served folder that a request path names.
    fn local_file(&self, path: &str) -> PathBuf {
        let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
        decoded
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .fold(self.root.clone(), |p, s| p.join(s))
    }
}

fn body(stream: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static) -> Body {
    StreamBody::new(Box::pin(stream.map(|chunk| chunk.map(Frame::data))))
}

/// The first `keep` bytes of `stream`, then an error: the connection is closed mid-body.
fn cut(
    stream: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    keep: usize,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    let mut left = keep;
    stream.map(move |chunk| {
        let chunk = chunk?;
        if left == 0 {
            return Err(std::io::Error::other("cut short on purpose"));
        }
        let n = chunk.len().min(left);
        left -= n;
        Ok(chunk.slice(..n))
    })
}

/// `bytes a-b/t` moved one byte later (or earlier at the end), so it is not what was asked.
fn shift_range(value: &str) -> Option<HeaderValue> {
    let rest = value.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
    let shifted = if first < last {
        format!("bytes {}-{last}/{total}", first + 1)
    } else {
        format!("bytes {}-{last}/{total}", first.checked_sub(1)?)
    };
    HeaderValue::from_str(&shifted).ok()
}

/// Another client's edit: every byte of the file flipped, in place, so the size stays and a
/// reader that already has the file open sees the new bytes from its current offset on.
fn rewrite(file: &Path) {
    use std::io::{Seek, Write};
    let Ok(bytes) = std::fs::read(file) else {
        return;
    };
    let flipped: Vec<u8> = bytes.iter().map(|b| !b).collect();
    if let Ok(mut handle) = std::fs::OpenOptions::new().write(true).open(file) {
        let _ = handle.seek(std::io::SeekFrom::Start(0));
        let _ = handle.write_all(&flipped);
        // A new modification time, even within the same clock tick: a new ETag.
        let _ = handle.set_modified(std::time::SystemTime::now() + Duration::from_secs(1));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_range_is_never_the_one_asked_for() {
        assert_eq!(shift_range("bytes 10-99/100").unwrap(), "bytes 11-99/100");
        assert_eq!(shift_range("bytes 99-99/100").unwrap(), "bytes 98-99/100");
        assert!(shift_range("bytes */100").is_none());
    }
}
