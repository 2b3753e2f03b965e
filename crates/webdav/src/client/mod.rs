//! The WebDAV client: one base folder, one connection pool, every operation the engine needs.
//! Its parts: [`options`] (what it is given), [`address`] (the base URL and redirects),
//! [`listing`] (PROPFIND), [`download`] (GET), [`upload`] (PUT); here the client itself, the
//! requests without a body of note (MKCOL, DELETE, MOVE) and the one way every request is sent.

mod address;
mod apache;
mod bulk;
mod chunked;
mod download;
mod listing;
mod login;
mod nextcloud;
mod options;
mod trash;
mod upload;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use reqwest::header::{HeaderMap, HeaderValue, IF_MATCH};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use tracing::Instrument;
use url::Url;

pub use bulk::{BulkFile, BulkResult};
pub use chunked::{ChunksSent, MIN_CHUNK_SIZE};
pub use download::Download;
pub use listing::{Found, Recorded};
pub use login::{LOGIN_PATIENCE, LoginError, LoginFlow, SignedIn};
pub use options::{
    Credentials, Depth, Mkcol, Options, Overwrite, Precondition, SentBytes, Uploaded,
};

use crate::adaptive::Concurrency;
use crate::entry::EntryKind;
use crate::error::Error;
use crate::idle::Activity;
use crate::path::RemotePath;
use crate::quirks::Quirks;
use crate::retry::retry_after;
use crate::sabre::{self, SabreError};
use crate::validator;

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
    /// How many folders a walk lists at once; kept with the client, so the next run's walk
    /// starts where this one's settled.
    walk: Mutex<Concurrency>,
    /// Held while the server's abilities are learnt, so that transfers starting together
    /// wait for one setup instead of each making its own (`status.php`, capabilities, probe).
    setup: tokio::sync::Mutex<()>,
    /// When the server last refused the credentials (401). For [`AUTH_REFUSAL_HOLDS`] after
    /// it, nothing is sent: every request fails as that one did. On Nextcloud each wrong
    /// password counts toward its brute-force protection, which then slows and refuses every
    /// client from this address.
    auth_refused: Mutex<Option<Instant>>,
    /// How many answers said the server is overloaded (429, 503), retried ones included:
    /// the engine's adaptive limit reads it around each transfer (see [`Client::overloads`]).
    overloads: std::sync::atomic::AtomicU64,
}

/// How long a refusal of the credentials holds for every request of the client.
const AUTH_REFUSAL_HOLDS: std::time::Duration = std::time::Duration::from_secs(60);

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
        let base = address::base_url(base, options.allow_http)?;
        let http = address::build_http(&options)?;
        let quirks = options.quirks.clone();
        let walk = Concurrency::new(options.walk_concurrency, options.walk_max);
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                credentials,
                options,
                http,
                quirks: Mutex::new(quirks),
                walk: Mutex::new(walk),
                setup: tokio::sync::Mutex::new(()),
                auth_refused: Mutex::new(None),
                overloads: std::sync::atomic::AtomicU64::new(0),
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

    /// Makes the folder `path`; its parent must exist.
    pub async fn mkcol(&self, path: &RemotePath) -> Result<Mkcol, Error> {
        let method = Method::from_bytes(b"MKCOL").expect("MKCOL is a valid method");
        match self.send(&method, path, EntryKind::Folder, |r| r).await {
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
        self.send(&Method::DELETE, path, kind, |r| match if_match {
            Some(tag) => r.header(IF_MATCH, tag),
            None => r,
        })
        .await
        .map(drop)
    }

    /// How many answers so far said the server is overloaded (429, 503), those the client
    /// retried by itself included: a transfer during which it grew met an overloaded server,
    /// whatever its own final answer.
    pub fn overloads(&self) -> u64 {
        self.inner
            .overloads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Moves `from` to `to`, replacing what is at `to` only with [`Overwrite::Replace`].
    /// `if_match` guards the source (RFC 4918 applies it to the request URI), not the
    /// destination.
    ///
    /// A `MOVE` is not idempotent: when one went through but its answer was lost, its retry
    /// finds no source (404). Only after a retry, then, a 404 is checked against the server:
    /// the source gone and the destination there means the move was made.
    pub async fn move_to(
        &self,
        from: &RemotePath,
        to: &RemotePath,
        kind: EntryKind,
        overwrite: Overwrite,
        if_match: Option<&str>,
    ) -> Result<(), Error> {
        let method = Method::from_bytes(b"MOVE").expect("MOVE is a valid method");
        let destination = to.url(&self.inner.base, kind == EntryKind::Folder);
        let url = from.url(&self.inner.base, kind == EntryKind::Folder);
        let (label, what) = (from.to_string(), format!("MOVE {from}"));
        let tries = std::sync::atomic::AtomicU32::new(0);
        let configure = |mut r: RequestBuilder| {
            r = r
                .header("Destination", destination.as_str())
                .header("Overwrite", overwrite.header());
            if let Some(tag) = if_match.and_then(validator::strong) {
                r = r.header(IF_MATCH, tag);
            }
            r
        };
        let moved = self
            .inner
            .options
            .retry
            .run(&what, || {
                tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (method, url, label, configure) = (&method, &url, &label, &configure);
                async move {
                    let activity = Activity::new();
                    self.send_url_once(method, url, label, &activity, configure)
                        .await
                }
            })
            .await;
        match moved {
            Err(error)
                if error.is_not_found() && tries.load(std::sync::atomic::Ordering::Relaxed) > 1 =>
            {
                let source = self.stat(from, kind).await?;
                let target = self.stat(to, kind).await?;
                if source.is_none() && target.is_some() {
                    tracing::info!(%from, %to, "a retried MOVE found it made by the first try");
                    Ok(())
                } else {
                    Err(error)
                }
            }
            other => other.map(drop),
        }
    }

    /// Sends a request with a body-less or cheaply rebuilt payload, retried by the policy.
    pub(super) async fn send(
        &self,
        method: &Method,
        path: &RemotePath,
        kind: EntryKind,
        configure: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let url = path.url(&self.inner.base, kind == EntryKind::Folder);
        self.send_url(method, &url, &path.to_string(), configure)
            .await
    }

    /// Like [`send`](Client::send), to a URL outside the base folder (the server's own
    /// endpoints, an upload folder); `label` names it in errors and logs.
    pub(super) async fn send_url(
        &self,
        method: &Method,
        url: &Url,
        label: &str,
        configure: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let what = format!("{method} {label}");
        let configure = &configure;
        self.inner
            .options
            .retry
            .run(&what, move || async move {
                let activity = Activity::new();
                self.send_url_once(method, url, label, &activity, configure)
                    .await
            })
            .await
    }

    /// One request to `url`: the answer's headers unless nothing happened for the idle
    /// timeout (no body chunk sent, no answer), any non-2xx as an error.
    pub(super) async fn send_url_once(
        &self,
        method: &Method,
        url: &Url,
        label: &str,
        activity: &Activity,
        configure: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let path = label;
        if self.credentials_refused_lately() {
            return Err(Error::Status {
                method: method.clone(),
                path: path.to_string(),
                status: StatusCode::UNAUTHORIZED,
                retry_after: None,
                message: Some("not sent: the server refused these credentials just now".into()),
            });
        }
        let mut request = configure(self.inner.http.request(method.clone(), url.clone()));
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
                sent = request.send() => sent.map_err(|source| Error::transport(method, &path, source)),
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
        let http2 = response.version() == reqwest::Version::HTTP_2;
        self.learn(|q| {
            q.observe(response.headers());
            q.http2 = Some(http2);
        });
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::UNAUTHORIZED {
            *self
                .inner
                .auth_refused
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        }
        if matches!(status.as_u16(), 429 | 503) {
            self.inner
                .overloads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let retry_after = retry_after(response.headers());
        let header_says_maintenance = response
            .headers()
            .contains_key("x-nextcloud-maintenance-mode");
        let said = error_body(response, idle).await;
        if status == StatusCode::SERVICE_UNAVAILABLE
            && (header_says_maintenance || said.as_ref().is_some_and(|s| s.is_maintenance()))
        {
            Err(Error::Maintenance {
                method: method.clone(),
                path: path.to_string(),
                retry_after,
            })
        } else {
            Err(Error::Status {
                method: method.clone(),
                path: path.to_string(),
                status,
                retry_after,
                message: said.and_then(|s| s.message),
            })
        }
    }

    /// Whether the server refused the credentials less than [`AUTH_REFUSAL_HOLDS`] ago.
    fn credentials_refused_lately(&self) -> bool {
        self.inner
            .auth_refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < AUTH_REFUSAL_HOLDS)
    }

    /// The walk's adaptive limit, locked briefly (never across an await).
    pub(super) fn walk_limit(&self) -> std::sync::MutexGuard<'_, Concurrency> {
        self.inner
            .walk
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records whether a file moved after its upload kept the ETag its `PUT` answered (see
    /// [`Quirks::move_keeps_etag`]); a single mismatch outweighs any number of matches.
    pub fn saw_move_keep_etag(&self, kept: bool) {
        self.learn(|q| q.move_keeps_etag = Some(q.move_keeps_etag.unwrap_or(true) && kept));
    }

    /// Records what a comparison of two listings showed: whether a folder's ETag changed with
    /// what changed below it. Once it did not, it is never trusted again.
    pub fn saw_folder_etags_follow(&self, follows: bool) {
        self.learn(|q| {
            q.folder_etags_follow = Some(q.folder_etags_follow.unwrap_or(true) && follows);
        });
    }

    pub(super) fn learn(&self, update: impl FnOnce(&mut Quirks)) {
        update(
            &mut self
                .inner
                .quirks
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
    }
}

/// What an error answer's body says, if it is a Sabre error: at most
/// [`sabre::BODY_LIMIT`] bytes are read, and a body that stalls for `idle` is given up.
async fn error_body(mut response: Response, idle: std::time::Duration) -> Option<SabreError> {
    let xml = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("xml"));
    if !xml {
        return None;
    }
    let mut body = Vec::new();
    while body.len() < sabre::BODY_LIMIT {
        match tokio::time::timeout(idle, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    sabre::read(&body)
}

pub(super) fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_owned)
}

pub(super) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header_string(headers, name).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_move_that_lost_its_etag_settles_it_for_good() {
        let client = Client::new("http://127.0.0.1:1/", None, Options::default()).unwrap();
        assert_eq!(client.quirks().move_keeps_etag, None, "not known yet");
        client.saw_move_keep_etag(true);
        assert_eq!(client.quirks().move_keeps_etag, Some(true));
        client.saw_move_keep_etag(false);
        client.saw_move_keep_etag(true);
        assert_eq!(client.quirks().move_keeps_etag, Some(false));
    }
}
