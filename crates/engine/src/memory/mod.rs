//! An in-memory server for fast, deterministic tests of the engine's logic, and the
//! [`MemoryConnector`] that puts it behind a remote. Built only for tests (the `test-support`
//! feature): the product links none of it. How it answers each request is in [`serve`].

mod serve;
mod watch;

pub use serve::MEMORY_CHUNK;
pub use watch::ManualWatch;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use tidesync_webdav::{
    Credentials, Depth, Entry, EntryKind, Error, Listing, Method, Options, RemotePath, StatusCode,
};
use tokio::sync::Notify;

use crate::engine::Connector;
use crate::model::{Remote as RemoteRecord, RemoteId};
use crate::remote::Remote;

/// Serves each remote it was given a server for from that server, whatever the remote's
/// address; for any other remote the server's folder is not found (404).
#[derive(Default)]
pub struct MemoryConnector {
    servers: Mutex<HashMap<RemoteId, Arc<MemoryRemote>>>,
}

impl MemoryConnector {
    pub fn new() -> Arc<MemoryConnector> {
        Arc::new(MemoryConnector::default())
    }

    /// From now on, every pair of `remote` talks to `server` (as its root folder).
    pub fn serve(&self, remote: RemoteId, server: Arc<MemoryRemote>) {
        self.servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(remote, server);
    }
}

impl fmt::Debug for MemoryConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MemoryConnector")
            .field("remotes", &servers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Connector for MemoryConnector {
    fn connect(
        &self,
        remote: &RemoteRecord,
        folder_url: &str,
        _credentials: Option<Credentials>,
        _options: Options,
    ) -> Result<Arc<dyn Remote>, Error> {
        let server = self
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&remote.id)
            .cloned();
        match server {
            Some(server) => Ok(server),
            None => Err(Error::Status {
                method: webdav_method("PROPFIND"),
                path: folder_url.to_owned(),
                status: StatusCode::NOT_FOUND,
                retry_after: None,
                message: None,
            }),
        }
    }
}

/// One item of the in-memory server.
#[derive(Debug, Clone)]
enum Item {
    Folder,
    File {
        data: Bytes,
        version: u64,
        modified: SystemTime,
        /// What the server claims in `oc:checksums`.
        checksum: String,
    },
}

fn sha1_of(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("SHA1:{hex}")
}

/// An in-memory WebDAV server with the semantics the engine relies on: ETags that change with
/// every write, ranges honoured only for the current version, `Overwrite: F` and `If-Match`
/// refused with 412. For fast, deterministic tests of the engine's logic.
#[derive(Default)]
pub struct MemoryRemote {
    items: Mutex<BTreeMap<String, Item>>,
    next_version: Mutex<u64>,
    /// While set, listings wait for it: a test can stop a job in the middle of its listing.
    listing_gate: Mutex<Option<Arc<Notify>>>,
    /// Runs once as the next listing is answered: a test can act at the instant a job moves
    /// from listing to planning.
    after_listing: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// Runs once as the next upload arrives, before its bytes are read: a test can rewrite
    /// the file while it goes up.
    pub(super) during_upload: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// Body bytes sent so far, so a test can tell what a resume saved.
    served: Arc<AtomicU64>,
    /// Every GET's requested range (first byte, end), in order.
    ranges: Mutex<Vec<(u64, Option<u64>)>>,
    /// Listings answered, by depth: `[0, 1, infinity]`.
    listings: Mutex<[u64; 3]>,
    /// While set, every listing fails as an unreachable server's would.
    offline: std::sync::atomic::AtomicBool,
    /// While set, a listing reports folder by folder as a walking server's would (see
    /// [`MemoryRemote::answer_folder_by_folder`]).
    pub(super) walks: std::sync::atomic::AtomicBool,
    /// While set, a walk waits for it before reporting its last folder (see
    /// [`MemoryRemote::hold_walk_before_last_folder`]).
    pub(super) walk_gate: Mutex<Option<Arc<Notify>>>,
    /// How long each MKCOL takes (none: at once), so a paused-time test can see how many
    /// a client sends at once.
    pub(super) mkcol_takes: Mutex<Option<std::time::Duration>>,
    /// MKCOLs under way now (while they are slowed).
    pub(super) mkcols_now: AtomicU64,
    /// The most MKCOLs that were ever under way at once.
    pub(super) mkcols_most: AtomicU64,
    /// What the server says it offers: nothing beyond WebDAV unless a test says otherwise.
    /// Its writes are atomic and honour preconditions, so it may offer single `PUT`s.
    pub(super) abilities: tidesync_webdav::Abilities,
    /// While set, listings and uploads give no ETag and no modification time, as some
    /// minimal servers do (see [`MemoryRemote::drop_validators`]).
    pub(super) without_validators: std::sync::atomic::AtomicBool,
    /// While set, every `GET` is answered with the whole file, as servers that ignore `Range`
    /// do (see [`MemoryRemote::ignore_ranges`]).
    pub(super) ignores_ranges: std::sync::atomic::AtomicBool,
    /// Files a writer has open: an upload of one, or a move onto it, is answered 423 Locked,
    /// as Nextcloud's file locking does (see [`MemoryRemote::lock_file`]).
    locked: Mutex<std::collections::BTreeSet<String>>,
}

impl MemoryRemote {
    pub fn new() -> MemoryRemote {
        MemoryRemote::default()
    }

    /// A server that offers `abilities` (chunked and bulk uploads are never among them here).
    pub fn offering(abilities: tidesync_webdav::Abilities) -> MemoryRemote {
        MemoryRemote {
            abilities: tidesync_webdav::Abilities {
                chunking: None,
                bulk_upload: None,
                ..abilities
            },
            ..MemoryRemote::default()
        }
    }

    /// From now on, answers as a server without validators: no ETag, no modification time.
    pub fn drop_validators(&self) {
        self.without_validators.store(true, Ordering::Relaxed);
    }

    /// Writes a file (and its folders) directly, as another client would.
    pub fn write(&self, path: &str, data: &[u8]) {
        self.write_claiming(path, data, &sha1_of(data));
    }

    /// Writes a file whose published checksum is `checksum`, true or not (empty: none).
    pub fn write_claiming(&self, path: &str, data: &[u8], checksum: &str) {
        let mut items = self.lock();
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            items.entry(parts[..i].join("/")).or_insert(Item::Folder);
        }
        let version = self.bump();
        items.insert(
            path.to_owned(),
            Item::File {
                data: Bytes::copy_from_slice(data),
                version,
                modified: SystemTime::now(),
                checksum: checksum.to_owned(),
            },
        );
    }

    /// Makes every listing wait until [`MemoryRemote::release_listings`].
    pub fn hold_listings(&self) {
        *self
            .listing_gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(Notify::new()));
    }

    /// Lets listings held by [`hold_listings`](Self::hold_listings) or
    /// [`hold_walk_before_last_folder`](Self::hold_walk_before_last_folder) go on.
    pub fn release_listings(&self) {
        let lock = |gate: &Mutex<Option<Arc<Notify>>>| {
            gate.lock().unwrap_or_else(PoisonError::into_inner).take()
        };
        if let Some(gate) = lock(&self.listing_gate) {
            gate.notify_waiters();
        }
        // One walk waits at this gate; a permit lets it pass even if it is not there yet.
        if let Some(gate) = lock(&self.walk_gate) {
            gate.notify_one();
        }
    }

    /// Runs `hook` once, synchronously, at the moment the next listing is answered.
    pub fn after_next_listing(&self, hook: impl FnOnce() + Send + 'static) {
        *self
            .after_listing
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
    }

    /// Runs `hook` once, synchronously, as the next upload (`PUT` of a file or of bytes)
    /// arrives, before its bytes are read.
    pub fn during_next_upload(&self, hook: impl FnOnce() + Send + 'static) {
        *self
            .during_upload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
    }

    /// Takes the hook [`during_next_upload`](Self::during_next_upload) set, if any.
    pub(super) fn take_upload_hook(&self) -> Option<Box<dyn FnOnce() + Send>> {
        self.during_upload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// How many body bytes downloads have received from this server.
    pub fn bytes_served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// The range every GET asked for so far: (first byte, exclusive end if bounded).
    pub fn ranges_asked(&self) -> Vec<(u64, Option<u64>)> {
        self.ranges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes every listing from now on report its folders one by one, parents first, with a
    /// yield between them, as a server that must be walked (`Depth: 1`) answers: work that
    /// starts on what is already listed (see `tidesync_webdav::Found`) then runs beside the
    /// rest of the listing.
    pub fn answer_folder_by_folder(&self) {
        self.walks.store(true, Ordering::SeqCst);
    }

    /// Answers folder by folder (see [`answer_folder_by_folder`](Self::answer_folder_by_folder)),
    /// and makes the next walks wait before they report their last folder (the deepest, and
    /// of those the last by name) until [`release_listings`](Self::release_listings): a test
    /// can see what happens while the tree is still being listed.
    pub fn hold_walk_before_last_folder(&self) {
        self.answer_folder_by_folder();
        *self
            .walk_gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(Notify::new()));
    }

    /// Makes listings fail as if the network were down (`true`) or back (`false`).
    pub fn set_offline(&self, offline: bool) {
        self.offline.store(offline, Ordering::SeqCst);
    }

    /// How many listings were answered at each depth: `[Depth 0, Depth 1, Depth infinity]`.
    pub fn listings(&self) -> [u64; 3] {
        *self.listings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every MKCOL from now on takes `span` (in paused time, a round trip).
    pub fn slow_mkcol(&self, span: std::time::Duration) {
        *self
            .mkcol_takes
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(span);
    }

    /// The most MKCOLs that were ever under way at once.
    pub fn mkcols_at_once(&self) -> u64 {
        self.mkcols_most.load(Ordering::SeqCst)
    }

    /// From now on, an upload of `path` (or a move onto it) is answered 423 Locked, until
    /// [`unlock_file`].
    ///
    /// [`unlock_file`]: MemoryRemote::unlock_file
    pub fn lock_file(&self, path: &str) {
        self.locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_owned());
    }

    /// Takes back [`lock_file`](MemoryRemote::lock_file).
    pub fn unlock_file(&self, path: &str) {
        self.locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(path);
    }

    pub(super) fn is_locked(&self, path: &str) -> bool {
        self.locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(path)
    }

    /// Deletes a path and everything below it directly.
    pub fn remove(&self, path: &str) {
        let below = format!("{path}/");
        self.lock()
            .retain(|p, _| p != path && !p.starts_with(&below));
    }

    /// From now on, answers every `GET` with the whole file (status 200), ignoring `Range`.
    pub fn ignore_ranges(&self) {
        self.ignores_ranges.store(true, Ordering::SeqCst);
    }

    /// Renames `from` to `to` directly, as another client's `MOVE` would: the item keeps its
    /// version (its ETag), a folder moves with everything in it.
    pub fn rename(&self, from: &str, to: &str) {
        let mut items = self.lock();
        let below = format!("{from}/");
        let moved: Vec<String> = items
            .keys()
            .filter(|p| *p == from || p.starts_with(&below))
            .cloned()
            .collect();
        for old in moved {
            let item = items.remove(&old).expect("listed just above");
            items.insert(format!("{to}{}", &old[from.len()..]), item);
        }
    }

    /// Every folder's path.
    pub fn folders(&self) -> std::collections::BTreeSet<String> {
        self.lock()
            .iter()
            .filter(|(_, item)| matches!(item, Item::Folder))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Every file's bytes, by path.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.lock()
            .iter()
            .filter_map(|(p, item)| match item {
                Item::File { data, .. } => Some((p.clone(), data.to_vec())),
                Item::Folder => None,
            })
            .collect()
    }

    fn listing(&self, path: &RemotePath, depth: Depth) -> Result<Listing, Error> {
        let counted = match depth {
            Depth::Zero => 0,
            Depth::One => 1,
            Depth::Infinity => 2,
        };
        self.listings.lock().unwrap_or_else(PoisonError::into_inner)[counted] += 1;
        if self.offline.load(Ordering::SeqCst) {
            return Err(Error::Stalled {
                method: Method::from_bytes(b"PROPFIND").expect("a valid method"),
                path: path.to_string(),
                waited: std::time::Duration::from_secs(30),
            });
        }
        let items = self.lock();
        let root = path.as_str();
        let mut listing = Listing::default();
        if root.is_empty() {
            listing.entries.push(self.entry("", &Item::Folder));
        } else {
            let Some(item) = items.get(root) else {
                return Err(status(Method::GET, path, StatusCode::NOT_FOUND));
            };
            listing.entries.push(self.entry(root, item));
        }
        if depth == Depth::Zero {
            return Ok(listing);
        }
        let prefix = if root.is_empty() {
            String::new()
        } else {
            format!("{root}/")
        };
        for (p, item) in items.iter() {
            let Some(rest) = p.strip_prefix(&prefix) else {
                continue;
            };
            if rest.is_empty() || (depth == Depth::One && rest.contains('/')) {
                continue;
            }
            listing.entries.push(self.entry(p, item));
        }
        Ok(listing)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Item>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) -> u64 {
        let mut next = self
            .next_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *next += 1;
        *next
    }

    fn entry(&self, path: &str, item: &Item) -> Entry {
        let (kind, size, etag, modified, checksums) = match item {
            Item::Folder => (EntryKind::Folder, 0, None, None, Vec::new()),
            Item::File {
                data,
                version,
                modified,
                checksum,
            } => (
                EntryKind::File,
                data.len() as u64,
                Some(etag(*version)),
                Some(*modified),
                Some(checksum.clone())
                    .filter(|c| !c.is_empty())
                    .into_iter()
                    .collect(),
            ),
        };
        let bare = self.without_validators.load(Ordering::Relaxed);
        Entry {
            path: RemotePath::parse(path).unwrap_or_default(),
            kind,
            size,
            etag: etag.filter(|_| !bare),
            modified: modified.filter(|_| !bare),
            checksums,
            file_id: None,
            permissions: None,
            used_bytes: None,
        }
    }
}

/// Whether the folder `path` would go in exists (a real server answers 409 when not).
fn has_parent(items: &BTreeMap<String, Item>, path: &RemotePath) -> bool {
    match path.parent() {
        Some(parent) if !parent.is_root() => {
            matches!(items.get(parent.as_str()), Some(Item::Folder))
        }
        _ => true,
    }
}

fn webdav_method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("a WebDAV method name is a valid token")
}

fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

fn status(method: Method, path: &RemotePath, status: StatusCode) -> Error {
    Error::Status {
        method,
        path: path.to_string(),
        status,
        retry_after: None,
        message: None,
    }
}
