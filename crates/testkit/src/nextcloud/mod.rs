//! **An emulation of a Nextcloud server**, not Nextcloud: no package registry offers one, so
//! this implements the endpoints a sync client uses, held to the server's own source
//! (`nextcloud/server`, `apps/dav/lib/`, and Sabre, `sabre-io/dav`) rather than to its
//! documentation alone: each rule names the file it follows, refuses what that code refuses
//! and accepts what it accepts. Nextcloud's own client, `nextcloudcmd`, syncs against it in
//! `tests/nextcloudcmd_witness.rs`: a request the real client sends and this refuses is a bug
//! here.
//!
//! - [`files`]: the account's tree with file ids, ETags (propagated to every ancestor, as
//!   Nextcloud does), modification times and checksums;
//! - [`dav`]: `/remote.php/dav/files/<user>/`: PROPFIND with the `oc:` properties, GET with
//!   ranges, an atomic PUT that honours `If-Match` / `If-None-Match: *` and answers `OC-ETag`,
//!   `ETag`, `OC-FileId` and `X-OC-MTime`, MKCOL, DELETE, MOVE; names the server forbids
//!   refused with its reason; `Depth: infinity` answered in full, as Nextcloud enables it
//!   (or, with [`Features::depth_infinity`] off, silently as `Depth: 1`, Sabre's default);
//! - [`chunks`]: chunked uploads under `/remote.php/dav/uploads/<user>/` as on local storage,
//!   with Sabre's preconditions and `If` header on the assembly `MOVE`;
//! - [`bulk`]: `POST /remote.php/dav/bulk`, parsed as `MultipartRequestParser.php` parses it;
//! - [`login`]: `status.php`, capabilities, Login Flow v2 and app password deletion;
//! - [`trash`]: the trash bin every `DELETE` of the account's files goes to.
//!
//! Errors come as Sabre's XML bodies with the server's message ([`sabre_error`]); failed
//! logins count toward a brute-force refusal (429) as on the real server.
//!
//! Faults a Nextcloud user meets are switches: a quota ([`NextcloudServer::set_quota`]),
//! maintenance mode, a revoked app password; time moves with
//! [`NextcloudServer::advance_clock`]. Every request is logged, so tests and benchmarks count
//! what a client sent from the server's side.

mod bulk;
mod chunks;
mod dav;
pub mod files;
mod login;
pub mod trash;

pub use login::grant_form;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, HeaderMap};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tidesync_demo::server::serve_connections;
use tokio_util::sync::DropGuard;

use files::{Files, Write};

/// The account the emulation serves.
pub const USER: &str = "alice";
/// Its account password: typed only into the "browser" of a Login Flow, never stored by a
/// client that signs in properly.
pub const ACCOUNT_PASSWORD: &str = "alice-account-password";

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    /// The decoded path, from the server's root (`/remote.php/dav/files/alice/a.txt`).
    pub path: String,
    /// The status it was answered with.
    pub status: u16,
}

/// What the server announces in its capabilities.
#[derive(Debug, Clone)]
pub struct Features {
    /// `dav.chunking` "1.0" (chunked upload v2 is part of it).
    pub chunking: bool,
    /// `dav.bulkupload` "1.0".
    pub bulk_upload: bool,
    /// `files.chunked_upload.max_size`: the largest chunk the server takes.
    pub max_chunk_size: u64,
    /// `PROPFIND Depth: infinity` answered in full, as Nextcloud does since it turned
    /// Sabre's `enablePropfindDepthInfinity` on; `false`: answered as `Depth: 1` without
    /// saying so, as Sabre's default (and ownCloud) does.
    pub depth_infinity: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            chunking: true,
            bulk_upload: true,
            max_chunk_size: 100 * 1024 * 1024,
            depth_infinity: true,
        }
    }
}

/// Everything the server holds, behind one lock that no handler keeps across an await.
pub(crate) struct State {
    base: String,
    files: Files,
    uploads: BTreeMap<String, chunks::Upload>,
    app_passwords: BTreeSet<String>,
    flows: BTreeMap<String, login::Flow>,
    quota: Option<u64>,
    maintenance: bool,
    /// Bulk uploads answered 400 whatever they hold (see [`NextcloudServer::refuse_bulk`]).
    refuse_bulk: bool,
    clock_offset: Duration,
    log: Vec<Logged>,
    /// Bytes of chunk bodies stored, a chunk sent again counted again.
    chunk_bytes: u64,
    /// Requests refused for their credentials, which Nextcloud's brute-force protection
    /// counts per address.
    failed_logins: u32,
    /// Passwords checked: each request without a valid session costs one (on a real server a
    /// password hash, the slow part of a request made with the account password).
    password_checks: u64,
    /// Sessions by their cookie's value, with the login they stand for.
    sessions: BTreeMap<String, Authenticated>,
    /// What `DELETE` moved to the trash bin, oldest first.
    trash: Vec<trash::TrashItem>,
    /// Files locked by another process or app (see [`NextcloudServer::lock_file`]).
    locked: BTreeSet<String>,
    features: Features,
}

impl State {
    /// The server's clock, which tests can move forward.
    fn now(&self) -> SystemTime {
        SystemTime::now() + self.clock_offset
    }

    fn now_seconds(&self) -> i64 {
        self.now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    /// Bytes still free under the quota, `None` without one.
    fn free(&self) -> Option<u64> {
        self.quota.map(|q| q.saturating_sub(self.files.used()))
    }
}

/// A running emulated Nextcloud on `127.0.0.1:0`; it stops when dropped.
pub struct NextcloudServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _stop: DropGuard,
}

impl NextcloudServer {
    /// Starts a server announcing every feature.
    pub async fn start() -> std::io::Result<NextcloudServer> {
        Self::with_features(Features::default()).await
    }

    /// Starts a server announcing `features`.
    pub async fn with_features(features: Features) -> std::io::Result<NextcloudServer> {
        let state = Arc::new(Mutex::new(State {
            base: String::new(),
            files: Files::default(),
            uploads: BTreeMap::new(),
            app_passwords: BTreeSet::new(),
            flows: BTreeMap::new(),
            quota: None,
            maintenance: false,
            refuse_bulk: false,
            clock_offset: Duration::ZERO,
            log: Vec::new(),
            chunk_bytes: 0,
            failed_logins: 0,
            password_checks: 0,
            sessions: BTreeMap::new(),
            trash: Vec::new(),
            locked: BTreeSet::new(),
            features,
        }));
        let served = state.clone();
        let (addr, stop) =
            serve_connections(SocketAddr::from(([127, 0, 0, 1], 0)), move |stream| {
                let state = served.clone();
                let service = service_fn(move |request| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(answer(&state, request).await) }
                });
                http1::Builder::new().serve_connection(TokioIo::new(stream), service)
            })
            .await?;
        lock(&state).base = format!("http://{addr}");
        Ok(NextcloudServer {
            addr,
            state,
            _stop: stop,
        })
    }

    /// The server's address, as a user types it: `http://127.0.0.1:port/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The account's WebDAV root: `http://127.0.0.1:port/remote.php/dav/files/alice/`.
    pub fn dav_url(&self) -> String {
        format!("http://{}/remote.php/dav/files/{USER}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new app password, as if the user had made one in the web interface.
    pub fn issue_app_password(&self) -> String {
        let password = login::new_token(48);
        lock(&self.state).app_passwords.insert(password.clone());
        password
    }

    /// Grants the flow whose page is `login_url`, as the account's owner does on that page
    /// (`grant_form` posted with the account password); returns whether the flow was known.
    pub fn grant_login(&self, login_url: &str) -> bool {
        let body = Bytes::from(grant_form(login_url, USER, ACCOUNT_PASSWORD));
        login::grant(&mut lock(&self.state), &body).status() == StatusCode::OK
    }

    /// Revokes every app password, as the user does in the web interface's security settings.
    pub fn revoke_app_passwords(&self) {
        lock(&self.state).app_passwords.clear();
    }

    /// How many passwords the server has checked: one per request that came without a valid
    /// session cookie.
    pub fn password_checks(&self) -> u64 {
        lock(&self.state).password_checks
    }

    /// Locks the file at `path` (from the account's root) as another process or an app would
    /// (a desktop editor through `files_lock`, a long write): a write to it is answered 423.
    pub fn lock_file(&self, path: &str) {
        lock(&self.state).locked.insert(path.to_owned());
    }

    /// Releases what [`NextcloudServer::lock_file`] locked.
    pub fn unlock_file(&self, path: &str) {
        lock(&self.state).locked.remove(path);
    }

    /// The trash bin ("Deleted files"), oldest first.
    pub fn trash(&self) -> Vec<trash::TrashItem> {
        lock(&self.state).trash.clone()
    }

    /// How many app passwords are valid.
    pub fn app_passwords(&self) -> usize {
        lock(&self.state).app_passwords.len()
    }

    /// Limits the account to `bytes` (`None`: no limit).
    pub fn set_quota(&self, bytes: Option<u64>) {
        lock(&self.state).quota = bytes;
    }

    /// Turns maintenance mode on or off: every WebDAV and OCS request is answered 503.
    pub fn set_maintenance(&self, on: bool) {
        lock(&self.state).maintenance = on;
    }

    /// Answers every bulk upload 400, as the server's parser does a body it cannot read (a
    /// reverse proxy that rewrote it, a client that breaks a rule) — for clients' handling of
    /// a refused batch.
    pub fn refuse_bulk(&self, on: bool) {
        lock(&self.state).refuse_bulk = on;
    }

    /// Moves the server's clock forward (upload folders expire after 24 hours of inactivity).
    pub fn advance_clock(&self, by: Duration) {
        lock(&self.state).clock_offset += by;
    }

    /// Every file of the account, by path from its root (`a/b.txt`).
    pub fn files(&self) -> BTreeMap<String, Bytes> {
        lock(&self.state).files.all_files()
    }

    /// Writes a file on the server side, as another client or the web interface would.
    pub fn write(&self, path: &str, data: &[u8]) {
        let mut state = lock(&self.state);
        let now = state.now_seconds();
        let mut folder = String::new();
        for part in path
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map_or(&[][..], |(_, p)| p)
        {
            folder = if folder.is_empty() {
                (*part).to_owned()
            } else {
                format!("{folder}/{part}")
            };
            let _ = state.files.mkcol(&folder, now);
        }
        state
            .files
            .write(
                path,
                Bytes::copy_from_slice(data),
                now,
                None,
                Write::PartFile,
            )
            .expect("the emulation writes where its parent exists");
    }

    /// Deletes a file or a folder on the server side, as another client would; false when
    /// nothing is there.
    pub fn remove(&self, path: &str) -> bool {
        lock(&self.state).files.delete(path).is_ok()
    }

    /// The names of the upload folders of chunked uploads not yet assembled or expired.
    pub fn pending_uploads(&self) -> Vec<String> {
        lock(&self.state).uploads.keys().cloned().collect()
    }

    /// How many chunks the upload folders hold, all together.
    pub fn chunks_stored(&self) -> usize {
        lock(&self.state)
            .uploads
            .values()
            .map(chunks::Upload::chunks)
            .sum()
    }

    /// What clients sent so far, counted (see [`Stats`]).
    pub fn stats(&self) -> Stats {
        stats_of(&lock(&self.state))
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }

    /// Forgets the requests logged so far.
    pub fn clear_requests(&self) {
        lock(&self.state).log.clear();
    }
}

/// Counts of what clients sent, from the server's side: for benchmarks and the emulation's
/// process, which answers them at `GET /emulation/stats` (an endpoint of the emulation, not
/// of Nextcloud; it is neither logged nor counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Requests by method.
    pub requests: BTreeMap<String, usize>,
    /// Bytes of chunk bodies stored, a chunk sent again counted again.
    pub chunk_bytes: u64,
    /// Chunk `PUT`s begun (a chunk cut off mid-body counts, though it is not stored).
    pub chunk_puts: usize,
    /// Chunks in upload folders now.
    pub chunks_stored: usize,
}

fn stats_of(state: &State) -> Stats {
    let mut requests = BTreeMap::new();
    for logged in &state.log {
        *requests.entry(logged.method.clone()).or_insert(0) += 1;
    }
    let chunk_puts = state
        .log
        .iter()
        .filter(|l| l.method == "PUT" && l.path.starts_with("/remote.php/dav/uploads/"))
        .count();
    Stats {
        requests,
        chunk_bytes: state.chunk_bytes,
        chunk_puts,
        chunks_stored: state.uploads.values().map(chunks::Upload::chunks).sum(),
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) type Answer = Response<Full<Bytes>>;

/// An answer with `status`, `headers` and `body`.
pub(crate) fn reply(status: u16, headers: &[(&str, String)], body: impl Into<Bytes>) -> Answer {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().append(
                hyper::header::HeaderName::from_bytes(name.as_bytes()).expect("valid header name"),
                value,
            );
        }
    }
    response
}

/// An error as Sabre answers it (`Sabre\\DAV\\Server::exec`, the exception serialised): a
/// `d:error` document naming the exception's class and its message.
pub(crate) fn sabre_error(status: u16, exception: &str, message: &str) -> Answer {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    reply(
        status,
        &[("Content-Type", "application/xml; charset=utf-8".into())],
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" \
             xmlns:s=\"http://sabredav.org/ns\">\n  <s:exception>{}</s:exception>\n  \
             <s:message>{}</s:message>\n</d:error>\n",
            escape(exception),
            escape(message)
        ),
    )
}

/// Why the server refuses the last name of `path`, in its words, by the default rules of
/// `lib/private/Files/FilenameValidator.php` (`validateFilename`): `.htaccess`, names ending in
/// `.filepart` or `.part` (case-insensitive), `.` and `..`, names over 250 bytes, control
/// characters and `\\`.
pub(crate) fn forbidden_name(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_lowercase();
    let trimmed = name.trim();
    if trimmed.is_empty() {
        Some("Empty filename is not allowed".into())
    } else if trimmed == "." || trimmed == ".." {
        Some("Dot files are not allowed".into())
    } else if name.len() > 250 {
        Some("Filename is too long".into())
    } else if lower == ".htaccess" {
        Some(format!("\"{lower}\" is a forbidden file or folder name."))
    } else if let Some(extension) = [".filepart", ".part"]
        .into_iter()
        .find(|e| lower.ends_with(e))
    {
        Some(format!("\"{extension}\" is a forbidden file type."))
    } else if name.chars().any(|c| (c as u32) < 32) {
        Some("Invalid character in path".into())
    } else if name.contains('\\') {
        Some("\"\\\" is not allowed inside a file or folder name.".into())
    } else {
        None
    }
}

/// A request's parts the handlers read.
pub(crate) struct Asked {
    pub method: Method,
    /// Decoded, from the server's root.
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
}

impl Asked {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn answer(state: &Mutex<State>, request: Request<Incoming>) -> Answer {
    let (parts, body) = request.into_parts();
    let asked = Asked {
        method: parts.method,
        path: percent_encoding::percent_decode_str(parts.uri.path())
            .decode_utf8_lossy()
            .into_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
    };
    if asked.method == Method::GET && asked.path == "/emulation/stats" {
        let stats = stats_of(&lock(state));
        return reply(
            200,
            &[("Content-Type", "application/json".into())],
            serde_json::to_string(&stats).unwrap_or_default(),
        );
    }

    // A chunk that cannot fit is refused before its data is stored, as the documentation
    // says. Its body is still read (and dropped), as the web server in front of PHP reads it,
    // so the client hears the 507 rather than a connection cut mid-body.
    let refused = chunks::refuse_early(&lock(state), &asked);
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return reply(400, &[], "the request body could not be read"),
    };
    let mut state = lock(state);
    let answer = match refused {
        Some(refused) => refused,
        None => route(&mut state, &asked, body),
    };
    state.log.push(Logged {
        method: asked.method.to_string(),
        path: asked.path.clone(),
        status: answer.status().as_u16(),
    });
    answer
}

fn route(state: &mut State, asked: &Asked, body: Bytes) -> Answer {
    let path = asked.path.as_str();
    match (&asked.method, path) {
        (&Method::GET, "/status.php") => return login::status(state),
        (&Method::POST, "/index.php/login/v2") => return login::start_flow(state),
        (&Method::POST, "/index.php/login/v2/poll" | "/login/v2/poll") => {
            return login::poll(state, &body);
        }
        (&Method::POST, "/index.php/login/v2/grant") => return login::grant(state, &body),
        (&Method::GET, _) if path.starts_with("/index.php/login/v2/flow/") => {
            return login::flow_page(state, &path["/index.php/login/v2/flow/".len()..]);
        }
        _ => {}
    }
    let ocs = path.starts_with("/ocs/");
    let dav = path.starts_with("/remote.php/");
    if !ocs && !dav {
        return reply(404, &[], "");
    }
    if asked.method == Method::GET && path.ends_with("/cloud/capabilities") && !state.maintenance {
        return login::capabilities(state, asked);
    }
    if state.maintenance {
        // OCS answers from its own entry point (`ocs/v1.php`) with the header; WebDAV goes
        // through Sabre, where `MaintenancePlugin::checkMaintenanceMode`
        // (`apps/dav/lib/Connector/Sabre/MaintenancePlugin.php`) throws
        // `ServerMaintenanceMode`: an XML error body and no header at all.
        return if ocs {
            reply(
                503,
                &[("X-Nextcloud-Maintenance-Mode", "1".into())],
                "Service unavailable",
            )
        } else {
            sabre_error(
                503,
                "OCA\\DAV\\Exception\\ServerMaintenanceMode",
                "System is in maintenance mode.",
            )
        };
    }
    if state.failed_logins >= BRUTE_FORCE_MAX_ATTEMPTS {
        return reply(429, &[], "Reached maximum delay");
    }
    let (authenticated, new_session) = match session_of(state, asked) {
        Some(session) => (session, None),
        None => {
            let Some(authenticated) = authenticate(state, &asked.headers) else {
                state.failed_logins += 1;
                return reply(
                    401,
                    &[(
                        "WWW-Authenticate",
                        "Basic realm=\"Nextcloud\", charset=\"UTF-8\"".into(),
                    )],
                    "",
                );
            };
            // A login that succeeds resets the address's count (`Throttler::resetDelay`),
            // and starts a session the client may send back instead of a password check.
            state.failed_logins = 0;
            state.password_checks += 1;
            let session = login::new_token(32);
            state
                .sessions
                .insert(session.clone(), authenticated.clone());
            (authenticated, Some(session))
        }
    };
    let mut answer = authenticated_route(state, asked, body, authenticated);
    if let Some(session) = new_session
        && let Ok(cookie) =
            format!("{SESSION_COOKIE}={session}; path=/; HttpOnly; SameSite=Lax").parse()
    {
        answer
            .headers_mut()
            .append(hyper::header::SET_COOKIE, cookie);
    }
    answer
}

fn authenticated_route(
    state: &mut State,
    asked: &Asked,
    body: Bytes,
    authenticated: Authenticated,
) -> Answer {
    let path = asked.path.as_str();
    if path.starts_with("/ocs/") {
        return login::ocs(state, asked, authenticated);
    }
    let files_root = format!("/remote.php/dav/files/{USER}");
    let uploads_root = format!("/remote.php/dav/uploads/{USER}");
    let trash_root = format!("/remote.php/dav/trashbin/{USER}/trash");
    if let Some(rest) = below(path, &files_root) {
        dav::handle(state, asked, rest, body)
    } else if let Some(rest) = below(path, &uploads_root) {
        chunks::handle(state, asked, rest, body)
    } else if let Some(rest) = below(path, &trash_root) {
        trash::handle(state, asked, rest)
    } else if path == "/remote.php/dav/bulk" && asked.method == Method::POST {
        if state.refuse_bulk {
            return reply(400, &[("Content-Type", "application/json".into())], "[]");
        }
        bulk::handle(state, asked, &body)
    } else {
        reply(404, &[], "")
    }
}

/// The name of the session cookie (Nextcloud names it after its instance id).
const SESSION_COOKIE: &str = "ocemulated";

/// The login a request's session cookie stands for, as `validateUserPass` in
/// `apps/dav/lib/Connector/Sabre/Auth.php` accepts it: a session that logged in to WebDAV as
/// the user the request names needs no password check. Not for a `POST` from a client that is
/// not one of Nextcloud's own (`requiresCSRFCheck`: without a CSRF token the session is logged
/// out and the password checked again), nor once the app password it was made with is revoked
/// (`Session::validateSession` checks the token on every request).
fn session_of(state: &State, asked: &Asked) -> Option<Authenticated> {
    let cookies = asked.headers.get_all(hyper::header::COOKIE);
    let session = cookies
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)?;
    let authenticated = state.sessions.get(session)?;
    let official = asked.header("user-agent").is_some_and(|ua| {
        ua.contains("mirall") || ua.contains("Nextcloud-android") || ua.contains("Nextcloud-iOS")
    });
    if asked.method == Method::POST && !official {
        return None;
    }
    if let Authenticated::AppPassword(password) = authenticated
        && !state.app_passwords.contains(password)
    {
        return None;
    }
    // The Basic credentials sent along must be the session's user's (`isDavAuthenticated`).
    match authenticate_user(&asked.headers) {
        Some(user) if user != USER => None,
        _ => Some(authenticated.clone()),
    }
}

/// The path below `root` without leading or trailing `/` (`""` for the root itself).
fn below<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(root)?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    Some(rest.trim_matches('/'))
}

/// Failed logins after which the address is refused with 429. Nextcloud's brute-force
/// protection (`lib/private/Security/Bruteforce/Throttler.php`) delays each answer by
/// 0.1 s × 2^attempts and, once that would pass `MAX_DELAY` (25 s), throws
/// `MaxDelayReached` (429) instead: from about the eighth attempt. The delay itself is not
/// modelled, only the refusal.
const BRUTE_FORCE_MAX_ATTEMPTS: u32 = 8;

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Authenticated {
    AccountPassword,
    AppPassword(String),
}

/// The user and password of a Basic `Authorization` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn authenticate_user(headers: &HeaderMap) -> Option<String> {
    basic_credentials(headers).map(|(user, _)| user)
}

/// A password check (`Session::logClientIn`): the account password or an app password.
fn authenticate(state: &State, headers: &HeaderMap) -> Option<Authenticated> {
    let (user, password) = basic_credentials(headers)?;
    let password = password.as_str();
    if user != USER {
        return None;
    }
    if password == ACCOUNT_PASSWORD {
        Some(Authenticated::AccountPassword)
    } else if state.app_passwords.contains(password) {
        Some(Authenticated::AppPassword(password.to_owned()))
    } else {
        None
    }
}

/// The item path a `Destination` header names below the account's root, if it does.
pub(crate) fn destination_path(asked: &Asked) -> Option<String> {
    files_path_of(asked.header("destination")?)
}

/// The item path below the account's root that a URL or an absolute path names, if it does
/// (`Sabre\\DAV\\Server::calculateUri`).
pub(crate) fn files_path_of(raw: &str) -> Option<String> {
    // Any scheme and host: behind a reverse proxy the client names the proxy's.
    let path = match raw.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => raw,
    };
    let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    below(&path, &format!("/remote.php/dav/files/{USER}")).map(str::to_owned)
}

/// Seconds from `X-OC-Mtime`, if it was sent and is a number.
pub(crate) fn sent_mtime(asked: &Asked) -> Option<i64> {
    asked
        .header("x-oc-mtime")?
        .trim()
        .parse::<f64>()
        .ok()
        .map(|s| s as i64)
}

/// The headers Nextcloud answers a successful upload with.
pub(crate) fn uploaded_headers(
    node: &files::Node,
    mtime_sent: bool,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("OC-ETag", format!("\"{}\"", node.etag)),
        ("ETag", format!("\"{}\"", node.etag)),
        ("OC-FileId", long_file_id(node.file_id)),
    ];
    if mtime_sent {
        headers.push(("X-OC-MTime", "accepted".into()));
    }
    headers
}

/// Nextcloud's long form of a file id, as in `OC-FileId` and `oc:id`: the id padded to eight
/// digits, then the instance id.
pub(crate) fn long_file_id(id: u64) -> String {
    format!("{id:08}ocemulated")
}
