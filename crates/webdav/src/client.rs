//! The WebDAV client: one base folder, one connection pool, every operation the engine needs.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MATCH,
    IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use tokio_util::io::{ReaderStream, StreamReader};
use tracing::Instrument;
use url::Url;

use crate::entry::{Entry, EntryKind, Listing};
use crate::error::Error;
use crate::idle::{Activity, IdleStream};
use crate::path::RemotePath;
use crate::quirks::{Quirks, ServerKind};
use crate::retry::{RetryPolicy, retry_after};
use crate::tls::TlsOptions;
use crate::validator;

/// The properties a listing asks for: the DAV basics plus the ownCloud/Nextcloud extras, which
/// other servers answer with a 404 propstat that the parser ignores.
const PROPFIND_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
  <d:prop>
    <d:resourcetype/><d:getcontentlength/><d:getetag/><d:getlastmodified/>
    <oc:checksums/><oc:fileid/><oc:permissions/>
  </d:prop>
</d:propfind>"#;

/// The DAV basics alone, for a server known not to have the ownCloud extras
/// (see [`Quirks::owncloud_properties`]).
const PROPFIND_BODY_DAV: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:">
  <d:prop>
    <d:resourcetype/><d:getcontentlength/><d:getetag/><d:getlastmodified/>
  </d:prop>
</d:propfind>"#;

/// What a listing asks for, given whether the server is known to have the ownCloud properties.
fn propfind_body(owncloud_properties: Option<bool>) -> &'static str {
    match owncloud_properties {
        Some(false) => PROPFIND_BODY_DAV,
        Some(true) | None => PROPFIND_BODY,
    }
}

/// A local file about to be uploaded: read whole, or opened to be streamed.
enum Opened {
    Small(Bytes),
    Large(std::fs::File, u64),
}

/// Large reads keep the per-chunk overhead of uploads low.
const UPLOAD_CHUNK: usize = 256 * 1024;

/// User name and password for HTTP Basic authentication. The password never appears in `Debug`.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    password: String,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How the client connects and how patient it is.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// The longest silence tolerated while an answer or a body is expected. Applied per chunk,
    /// never to a whole transfer, so large files are fine and a stalled server is caught.
    pub idle_timeout: Duration,
    pub user_agent: String,
    /// Allow plain http to hosts other than this machine.
    pub allow_http: bool,
    pub tls: TlsOptions,
    pub retry: RetryPolicy,
    /// Folders listed at once when a server refuses `Depth: infinity`.
    pub walk_concurrency: usize,
    /// Quirks the user set by hand, overriding detection.
    pub quirks: Quirks,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(30),
            user_agent: format!("Tidesync/{}", env!("CARGO_PKG_VERSION")),
            allow_http: false,
            tls: TlsOptions::default(),
            retry: RetryPolicy::default(),
            walk_concurrency: 8,
            quirks: Quirks::default(),
        }
    }
}

/// How deep a listing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The path itself.
    Zero,
    /// The path and its direct children.
    One,
    /// Everything below the path: one request where the server allows it, else a parallel
    /// walk of `Depth: 1` listings.
    Infinity,
}

impl Depth {
    fn header(self) -> &'static str {
        match self {
            Depth::Zero => "0",
            Depth::One => "1",
            Depth::Infinity => "infinity",
        }
    }
}

/// Told how many bytes of an upload's body have gone out so far (from 0 on each attempt).
pub type SentBytes = Arc<dyn Fn(u64) + Send + Sync>;

/// A condition on the remote version for a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Write whatever is there.
    None,
    /// Only if the remote is still this version (`If-Match`). A weak tag is not sent (it
    /// never matches): the caller checks the version itself first.
    Matches(String),
    /// Only if nothing exists at the path yet (`If-None-Match: *`).
    Absent,
}

/// What a successful upload reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The new version's ETag, where the server returns one.
    pub etag: Option<String>,
    /// Whether the server applied the modification time sent in `X-OC-Mtime`.
    pub mtime_accepted: bool,
}

/// Whether a folder was made or was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mkcol {
    Created,
    AlreadyExists,
}

/// A download in progress: the answer's metadata, then the body chunk by chunk.
pub struct Download {
    path: RemotePath,
    /// 206 when the server honoured the range, 200 when it sends the whole file.
    pub status: StatusCode,
    /// Bytes this answer will carry, when the server said.
    pub length: Option<u64>,
    /// `(first, last, total)` of a 206 answer.
    pub content_range: Option<(u64, u64, Option<u64>)>,
    pub etag: Option<String>,
    pub modified: Option<SystemTime>,
    received: u64,
    body: IdleStream,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("path", &self.path)
            .field("status", &self.status)
            .field("length", &self.length)
            .field("content_range", &self.content_range)
            .field("etag", &self.etag)
            .field("received", &self.received)
            .finish()
    }
}

impl Download {
    /// Whether the body starts where the request's range asked (206), rather than at byte 0.
    pub fn is_partial(&self) -> bool {
        self.status == StatusCode::PARTIAL_CONTENT
    }

    /// The next chunk of the body, or `None` at its end. Cancel-safe: dropping the future loses
    /// nothing that was not yet returned. Fails with [`Error::Stalled`] when the server sends
    /// nothing for the idle timeout, and with [`Error::ShortBody`] when the body ends early.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        match self.body.next_chunk().await {
            Some(Ok(bytes)) => {
                self.received += bytes.len() as u64;
                Ok(Some(bytes))
            }
            Some(Err(error)) => Err(error.into_error(Method::GET, &self.path)),
            None => match self.length {
                Some(expected) if self.received < expected => Err(Error::ShortBody {
                    path: self.path.to_string(),
                    received: self.received,
                    expected,
                }),
                _ => {
                    tracing::debug!(path = %self.path, bytes = self.received, "download body complete");
                    Ok(None)
                }
            },
        }
    }

    /// Bytes of the body returned so far.
    pub fn received(&self) -> u64 {
        self.received
    }
}

/// A WebDAV client for one base folder.
///
/// Cheap to clone: clones share the connection pool and what was learnt about the server.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// The base folder, always ending with `/`, without credentials.
    base: Url,
    credentials: Option<Credentials>,
    options: Options,
    /// The connection pool. A new one comes with a new client: the engine drops its clients on
    /// suspend, since the sockets of an old pool may be dead without the OS having said so.
    http: reqwest::Client,
    /// What has been learnt about the server so far.
    quirks: Mutex<Quirks>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the folder at `base`. Refuses plain http to another machine unless
    /// `options.allow_http`, and URLs with credentials in them (pass [`Credentials`]).
    pub fn new(
        base: &str,
        credentials: Option<Credentials>,
        options: Options,
    ) -> Result<Self, Error> {
        let base = base_url(base, options.allow_http)?;
        let http = build_http(&options)?;
        let quirks = options.quirks.clone();
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                credentials,
                options,
                http,
                quirks: Mutex::new(quirks),
            }),
        })
    }

    /// The base folder's URL (without credentials).
    pub fn base(&self) -> &Url {
        &self.inner.base
    }

    /// What the client has learnt about the server so far.
    pub fn quirks(&self) -> Quirks {
        self.inner
            .quirks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Lists `path` to the given depth. Entries whose href is unsafe are in `rejected`.
    /// `path` is a folder: its URL ends with `/`.
    pub async fn list(&self, path: &RemotePath, depth: Depth) -> Result<Listing, Error> {
        if depth != Depth::Infinity {
            return self.propfind(path, depth, EntryKind::Folder).await;
        }
        let quirks = self.quirks();
        if quirks.depth_infinity != Some(false) {
            if quirks.owncloud_properties.is_none() {
                // One entry tells which properties the server has, before a listing of
                // thousands asks for the ones it has not.
                self.propfind(path, Depth::Zero, EntryKind::Folder).await?;
            }
            match self
                .propfind(path, Depth::Infinity, EntryKind::Folder)
                .await
            {
                Ok(listing) => {
                    self.learn(|q| q.depth_infinity = Some(true));
                    return Ok(listing);
                }
                Err(error) if refuses_infinity(&error) => {
                    tracing::debug!(%path, "Depth: infinity refused; walking Depth: 1 instead");
                    self.learn(|q| q.depth_infinity = Some(false));
                }
                Err(error) => return Err(error),
            }
        }
        self.walk(path).await
    }

    /// Lists everything below `path` with parallel `Depth: 1` requests.
    async fn walk(&self, root: &RemotePath) -> Result<Listing, Error> {
        let mut listing = Listing::default();
        let mut queue = VecDeque::from([root.clone()]);
        let mut running = FuturesUnordered::new();
        let limit = self.inner.options.walk_concurrency.max(1);
        loop {
            while running.len() < limit {
                let Some(folder) = queue.pop_front() else {
                    break;
                };
                running.push(async move {
                    let listed = self.propfind(&folder, Depth::One, EntryKind::Folder).await;
                    (folder, listed)
                });
            }
            let Some((folder, listed)) = running.next().await else {
                break;
            };
            let listed = listed?;
            listing.rejected.extend(listed.rejected);
            for entry in listed.entries {
                if entry.path == folder {
                    if folder == *root {
                        listing.entries.push(entry);
                    }
                    continue;
                }
                if entry.kind == EntryKind::Folder {
                    queue.push_back(entry.path.clone());
                }
                listing.entries.push(entry);
            }
        }
        Ok(listing)
    }

    /// What the server says of one item, `None` if there is nothing at `path`. A file's URL
    /// never ends with `/` (Apache answers 400 and others 403 to a file path with one), a
    /// folder's always does.
    pub async fn stat(&self, path: &RemotePath, kind: EntryKind) -> Result<Option<Entry>, Error> {
        match self.propfind(path, Depth::Zero, kind).await {
            Ok(listing) => Ok(listing.entries.into_iter().find(|e| e.path == *path)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn propfind(
        &self,
        path: &RemotePath,
        depth: Depth,
        kind: EntryKind,
    ) -> Result<Listing, Error> {
        let method = Method::from_bytes(b"PROPFIND").expect("PROPFIND is a valid method");
        let body = propfind_body(self.quirks().owncloud_properties);
        let response = self
            .send(&method, path, kind == EntryKind::Folder, |r| {
                r.header("Depth", depth.header())
                    .header(CONTENT_TYPE, "application/xml; charset=utf-8")
                    .body(body)
            })
            .await?;
        if response.status() != StatusCode::MULTI_STATUS {
            return Err(Error::NotWebDav {
                path: path.to_string(),
                status: response.status(),
            });
        }
        let body = IdleStream::new(response.bytes_stream(), self.inner.options.idle_timeout);
        let failure = body.failure();
        let reader = tokio::io::BufReader::with_capacity(64 * 1024, StreamReader::new(body));
        match Listing::read(&self.inner.base, reader).await {
            Ok(listing) => {
                let owncloud = listing.entries.iter().any(|e| {
                    e.file_id.is_some() || e.permissions.is_some() || !e.checksums.is_empty()
                });
                if owncloud {
                    self.learn(|q| {
                        q.upgrade(ServerKind::OwnCloud);
                        q.owncloud_properties = Some(true);
                    });
                } else if !listing.entries.is_empty() {
                    self.learn(|q| {
                        q.owncloud_properties.get_or_insert(false);
                    });
                }
                Ok(listing)
            }
            Err(source) => Err(match failure.take() {
                Some(transport) => transport.into_error(method, path),
                None => Error::Listing {
                    path: path.to_string(),
                    source,
                },
            }),
        }
    }

    /// Starts downloading `path`. With `from > 0` asks for the rest of the file from that byte,
    /// and with `if_range` only if the remote is still that version: a changed file comes back
    /// whole (200), which the caller sees in [`Download::status`].
    pub async fn get(
        &self,
        path: &RemotePath,
        from: u64,
        if_range: Option<&str>,
    ) -> Result<Download, Error> {
        self.get_range(path, from, None, if_range).await
    }

    /// Like [`get`](Client::get), for the bytes from `from` up to `end` (exclusive) when `end`
    /// is given. Large files are fetched in bounded ranges because some servers (rclone serve)
    /// stream an open range far less efficiently than bounded ones (figures in BENCHMARKS.md).
    /// A server that ignores ranges answers 200 with the whole file.
    pub async fn get_range(
        &self,
        path: &RemotePath,
        from: u64,
        end: Option<u64>,
        if_range: Option<&str>,
    ) -> Result<Download, Error> {
        let range = match end {
            Some(end) if end > from => Some(format!("bytes={from}-{}", end - 1)),
            _ if from > 0 => Some(format!("bytes={from}-")),
            _ => None,
        };
        let response = self
            .send(&Method::GET, path, false, |mut r| {
                if let Some(range) = &range {
                    r = r.header(RANGE, range.as_str());
                    // A weak tag never matches in If-Range: the range goes without it, and
                    // the caller compares the answer's ETag with the one it expects.
                    if let Some(tag) = if_range.and_then(validator::strong) {
                        r = r.header(IF_RANGE, tag);
                    }
                }
                r
            })
            .await?;
        let status = response.status();
        let headers = response.headers();
        let content_range = match headers.get(CONTENT_RANGE) {
            Some(value) if status == StatusCode::PARTIAL_CONTENT => {
                let text = value.to_str().unwrap_or_default();
                match parse_content_range(text) {
                    Some(range @ (first, _, _)) if first == from => Some(range),
                    _ => {
                        return Err(Error::ContentRange {
                            path: path.to_string(),
                            requested: from,
                            got: text.escape_debug().to_string(),
                        });
                    }
                }
            }
            None if status == StatusCode::PARTIAL_CONTENT => {
                return Err(Error::ContentRange {
                    path: path.to_string(),
                    requested: from,
                    got: String::new(),
                });
            }
            _ => None,
        };
        Ok(Download {
            path: path.clone(),
            status,
            length: header_u64(headers, CONTENT_LENGTH.as_str()),
            content_range,
            etag: header_string(headers, ETAG.as_str()),
            modified: header_string(headers, LAST_MODIFIED.as_str())
                .and_then(|d| httpdate::parse_http_date(&d).ok()),
            received: 0,
            body: IdleStream::new(response.bytes_stream(), self.inner.options.idle_timeout),
        })
    }

    /// Uploads the local file at `local` to `path`, streaming it with its known length.
    /// `mtime` is sent as `X-OC-Mtime`, which ownCloud, Nextcloud and rclone apply.
    pub async fn put_file(
        &self,
        path: &RemotePath,
        local: &Path,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
    ) -> Result<Uploaded, Error> {
        self.put_file_reporting(path, local, precondition, mtime, Arc::new(|_| {}))
            .await
    }

    /// Like [`put_file`](Client::put_file), telling `sent` how many bytes of the body have
    /// gone out so far, as they go (from 0 again when an attempt is retried).
    pub async fn put_file_reporting(
        &self,
        path: &RemotePath,
        local: &Path,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
        sent: SentBytes,
    ) -> Result<Uploaded, Error> {
        // Opened per attempt, so a retried upload sends the file from its start. A file that
        // fits one chunk is opened, measured and read in one blocking call, not in four
        // hand-offs to the blocking pool through `tokio::fs`.
        self.put_with(path, precondition, mtime, sent, || async {
            let local = local.to_owned();
            let opened = tokio::task::spawn_blocking(move || -> std::io::Result<Opened> {
                use std::io::Read;
                let mut file = std::fs::File::open(&local)?;
                let length = file.metadata()?.len();
                if length > UPLOAD_CHUNK as u64 {
                    return Ok(Opened::Large(file, length));
                }
                let mut data = Vec::with_capacity(length as usize + 1);
                file.read_to_end(&mut data)?;
                Ok(Opened::Small(Bytes::from(data)))
            })
            .await
            .map_err(std::io::Error::other)??;
            Ok(match opened {
                Opened::Small(data) => {
                    let length = data.len() as u64;
                    (futures_util::stream::iter([Ok(data)]).left_stream(), length)
                }
                Opened::Large(file, length) => {
                    let file = tokio::fs::File::from_std(file);
                    let stream = ReaderStream::with_capacity(file, UPLOAD_CHUNK);
                    (stream.right_stream(), length)
                }
            })
        })
        .await
        .map_err(|error| error.into_error(path))
    }

    /// Uploads `data` to `path`. Meant for small payloads: the idle timeout covers the whole
    /// body, which is sent in one piece.
    pub async fn put_bytes(
        &self,
        path: &RemotePath,
        data: Bytes,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
    ) -> Result<Uploaded, Error> {
        self.put_with(path, precondition, mtime, Arc::new(|_| {}), || {
            let data = data.clone();
            async move {
                let length = data.len() as u64;
                Ok((futures_util::stream::iter([Ok(data)]), length))
            }
        })
        .await
        .map_err(|error| error.into_error(path))
    }

    /// Sends a PUT whose body `body` makes afresh for every attempt. The body is watched: the
    /// upload counts as stalled only when no chunk went out for the idle timeout.
    async fn put_with<F, Fut, S>(
        &self,
        path: &RemotePath,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
        sent: SentBytes,
        mut body: F,
    ) -> Result<Uploaded, PutError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(S, u64), std::io::Error>>,
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
    {
        let policy = self.inner.options.retry.clone();
        let mut retry = 0;
        loop {
            let (stream, length) = body().await.map_err(PutError::Local)?;
            let activity = Activity::new();
            let mut so_far = 0u64;
            let report = sent.clone();
            let counted = stream.inspect(move |chunk| {
                if let Ok(chunk) = chunk {
                    so_far += chunk.len() as u64;
                    report(so_far);
                }
            });
            let data = reqwest::Body::wrap_stream(activity.watch(counted));
            let request = |r: RequestBuilder| {
                let mut r = r.header(CONTENT_LENGTH, length).body(data);
                r = match precondition {
                    Precondition::None => r,
                    Precondition::Matches(tag) => match validator::strong(tag) {
                        Some(tag) => r.header(IF_MATCH, tag),
                        None => r,
                    },
                    Precondition::Absent => r.header(IF_NONE_MATCH, "*"),
                };
                if let Some(seconds) =
                    mtime.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                {
                    r = r.header("X-OC-Mtime", seconds.as_secs());
                }
                r
            };
            match self
                .send_once(&Method::PUT, path, false, &activity, request)
                .await
            {
                Ok(response) => {
                    let headers = response.headers();
                    return Ok(Uploaded {
                        etag: header_string(headers, "oc-etag")
                            .or_else(|| header_string(headers, ETAG.as_str())),
                        mtime_accepted: header_string(headers, "x-oc-mtime").as_deref()
                            == Some("accepted"),
                    });
                }
                Err(error) if error.is_retryable() && retry + 1 < policy.attempts => {
                    let pause = policy.delay(retry, error.retry_after());
                    tracing::debug!(%path, %error, ?pause, "retrying PUT");
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
                Err(error) => return Err(PutError::Remote(error)),
            }
        }
    }

    /// Makes the folder `path`; its parent must exist.
    pub async fn mkcol(&self, path: &RemotePath) -> Result<Mkcol, Error> {
        let method = Method::from_bytes(b"MKCOL").expect("MKCOL is a valid method");
        match self.send(&method, path, true, |r| r).await {
            Ok(_) => Ok(Mkcol::Created),
            // RFC 4918: 405 when something already exists at the path.
            Err(error) if error.status() == Some(StatusCode::METHOD_NOT_ALLOWED) => {
                Ok(Mkcol::AlreadyExists)
            }
            Err(error) => Err(error),
        }
    }

    /// Deletes `path` (a folder with everything in it), only if it is still `if_match`. A
    /// weak tag cannot be a precondition and is not sent: the caller checks the version
    /// itself first (see [`validator`]).
    pub async fn delete(
        &self,
        path: &RemotePath,
        kind: EntryKind,
        if_match: Option<&str>,
    ) -> Result<(), Error> {
        let if_match = if_match.and_then(validator::strong);
        self.send(
            &Method::DELETE,
            path,
            kind == EntryKind::Folder,
            |r| match if_match {
                Some(tag) => r.header(IF_MATCH, tag),
                None => r,
            },
        )
        .await
        .map(drop)
    }

    /// Moves `from` to `to`, replacing what is at `to` only when `overwrite`. `if_match`
    /// guards the source (RFC 4918 applies it to the request URI), not the destination.
    pub async fn move_to(
        &self,
        from: &RemotePath,
        to: &RemotePath,
        kind: EntryKind,
        overwrite: bool,
        if_match: Option<&str>,
    ) -> Result<(), Error> {
        let method = Method::from_bytes(b"MOVE").expect("MOVE is a valid method");
        let destination = to.url(&self.inner.base, kind == EntryKind::Folder);
        self.send(&method, from, kind == EntryKind::Folder, |mut r| {
            r = r
                .header("Destination", destination.as_str())
                .header("Overwrite", if overwrite { "T" } else { "F" });
            if let Some(tag) = if_match.and_then(validator::strong) {
                r = r.header(IF_MATCH, tag);
            }
            r
        })
        .await
        .map(drop)
    }

    /// Sends a request with a body-less or cheaply rebuilt payload, retrying what is worth it.
    async fn send(
        &self,
        method: &Method,
        path: &RemotePath,
        is_dir: bool,
        configure: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let policy = &self.inner.options.retry;
        let mut retry = 0;
        loop {
            match self
                .send_once(method, path, is_dir, &Activity::new(), &configure)
                .await
            {
                Err(error) if error.is_retryable() && retry + 1 < policy.attempts => {
                    let pause = policy.delay(retry, error.retry_after());
                    tracing::debug!(%method, %path, %error, ?pause, "retrying");
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
                result => return result,
            }
        }
    }

    /// One request: the answer's headers unless nothing happened for the idle timeout (no
    /// body chunk sent, no answer), any non-2xx as an error.
    async fn send_once(
        &self,
        method: &Method,
        path: &RemotePath,
        is_dir: bool,
        activity: &Activity,
        configure: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let url = path.url(&self.inner.base, is_dir);
        let mut request = configure(self.inner.http.request(method.clone(), url));
        if let Some(c) = &self.inner.credentials {
            request = request.basic_auth(&c.user, Some(&c.password));
        }
        let span = tracing::debug_span!("webdav", %method, %path, status = tracing::field::Empty);
        // The URL is logged without credentials: they travel only in the Authorization header,
        // which is marked sensitive and never logged.
        let started = Instant::now();
        let idle = self.inner.options.idle_timeout;
        let response = async {
            tokio::select! {
                sent = request.send() => sent.map_err(|source| Error::transport(method, path, source)),
                () = activity.stalled(idle) => Err(Error::Stalled {
                    method: method.clone(),
                    path: path.to_string(),
                    waited: idle,
                }),
            }
        }
        .instrument(span.clone())
        .await?;
        let status = response.status();
        span.record("status", status.as_u16());
        tracing::debug!(parent: &span, elapsed = ?started.elapsed(), "answered");
        self.learn(|q| q.observe(response.headers()));
        if status.is_success() {
            Ok(response)
        } else {
            Err(Error::Status {
                method: method.clone(),
                path: path.to_string(),
                status,
                retry_after: retry_after(response.headers()),
            })
        }
    }

    fn learn(&self, update: impl FnOnce(&mut Quirks)) {
        update(
            &mut self
                .inner
                .quirks
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
    }
}

/// Why an upload failed: the local file or the server.
enum PutError {
    Local(std::io::Error),
    Remote(Error),
}

impl PutError {
    fn into_error(self, path: &RemotePath) -> Error {
        match self {
            PutError::Remote(error) => error,
            PutError::Local(source) => Error::LocalRead {
                method: Method::PUT,
                path: path.to_string(),
                source,
            },
        }
    }
}

/// Whether a failed `Depth: infinity` PROPFIND means "not here, walk instead".
fn refuses_infinity(error: &Error) -> bool {
    matches!(error.status().map(|s| s.as_u16()), Some(400 | 403 | 501))
}

fn base_url(raw: &str, allow_http: bool) -> Result<Url, Error> {
    let invalid = |reason: &str| Error::Url {
        url: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Url {
            url: redact(&url),
            reason: "credentials belong in the user and password fields, not in the address".into(),
        });
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => {
            return Err(Error::InsecureUrl {
                url: url.to_string(),
            });
        }
        other => return Err(invalid(&format!("'{other}' is not http or https"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `url` with any userinfo removed, for messages.
fn redact(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn build_http(options: &Options) -> Result<reqwest::Client, Error> {
    let builder = reqwest::Client::builder()
        .user_agent(&options.user_agent)
        .connect_timeout(options.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .redirect(same_origin_redirects());
    options
        .tls
        .apply(builder)?
        .build()
        .map_err(|e| Error::Tls(e.to_string()))
}

/// Follows a few redirects on the same scheme, host and port; a redirect elsewhere would send
/// our credentials or our data to a server the user did not choose.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let origin = |u: &Url| {
            (
                u.scheme().to_owned(),
                u.host_str().map(str::to_owned),
                u.port_or_known_default(),
            )
        };
        let first = attempt.previous().first().map(origin);
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.is_some_and(|o| o != origin(attempt.url())) {
            attempt.error("redirect to another server refused")
        } else {
            attempt.follow()
        }
    })
}

/// Parses `bytes first-last/total` (total may be `*`).
fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let first = first.trim().parse().ok()?;
    let last = last.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    (first <= last && total.is_none_or(|t| last < t)).then_some((first, last, total))
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_owned)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header_string(headers, name).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownclouds_properties_are_asked_for_until_a_listing_shows_the_server_has_none() {
        for body in [propfind_body(None), propfind_body(Some(true))] {
            assert!(body.contains("<oc:fileid/>") && body.contains("<oc:checksums/>"));
        }
        let plain = propfind_body(Some(false));
        assert!(!plain.contains("oc:"), "{plain}");
        for prop in [
            "resourcetype",
            "getcontentlength",
            "getetag",
            "getlastmodified",
        ] {
            assert!(
                plain.contains(&format!("<d:{prop}/>")),
                "{prop} is still asked for"
            );
        }
    }

    #[test]
    fn base_urls_are_normalised_and_http_is_confined_to_loopback() {
        let ok = |u: &str| base_url(u, false).map(|u| u.to_string());
        assert_eq!(
            ok("https://h.example/dav").unwrap(),
            "https://h.example/dav/"
        );
        assert_eq!(
            ok("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(ok("http://[::1]:8080/x/").unwrap(), "http://[::1]:8080/x/");
        assert_eq!(ok("http://localhost/x").unwrap(), "http://localhost/x/");
        assert!(matches!(
            ok("http://cloud.example/dav"),
            Err(Error::InsecureUrl { .. })
        ));
        assert!(matches!(
            ok("http://10.0.0.2/dav"),
            Err(Error::InsecureUrl { .. })
        ));
        assert_eq!(
            base_url("http://cloud.example/dav", true).unwrap().as_str(),
            "http://cloud.example/dav/"
        );
        assert!(matches!(ok("ftp://h.example/"), Err(Error::Url { .. })));
        assert!(matches!(ok("not a url"), Err(Error::Url { .. })));
        let with_password = ok("https://alice:s3cret@h.example/")
            .unwrap_err()
            .to_string();
        assert!(!with_password.contains("s3cret"), "{with_password}");
    }

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 10-19/20"),
            Some((10, 19, Some(20)))
        );
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, 0, None)));
        assert_eq!(parse_content_range("bytes 10-5/20"), None);
        assert_eq!(parse_content_range("bytes 10-20/20"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(parse_content_range("bytes */20"), None);
    }

    #[test]
    fn credentials_never_show_their_password() {
        let c = Credentials::new("alice", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
