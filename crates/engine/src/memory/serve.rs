//! How [`MemoryRemote`] answers each request of the [`Remote`] trait.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};

use std::time::SystemTime;
use tokio::sync::Notify;

use bytes::Bytes;
use tidesync_webdav::{
    Abilities, BulkFile, BulkResult, ChunksSent, Depth, Entry, EntryKind, Error, Found, Listing,
    Method, Mkcol, Overwrite, Precondition, RemotePath, SentBytes, StatusCode, Uploaded,
};

use super::{Item, MemoryRemote, etag, has_parent, sha1_of, status, webdav_method};
use crate::remote::{Body, BoxFuture, Remote};

/// How much of a body [`MemoryRemote`] hands out at a time.
pub const MEMORY_CHUNK: usize = 64 * 1024;

/// A body served from memory in small chunks, so progress and cancellation are exercised.
struct MemoryBody {
    data: Bytes,
    partial: bool,
    etag: String,
    served: Arc<AtomicU64>,
}

impl Body for MemoryBody {
    fn is_partial(&self) -> bool {
        self.partial
    }

    fn etag(&self) -> Option<&str> {
        Some(&self.etag)
    }

    fn chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, Error>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            if self.data.is_empty() {
                return Ok(None);
            }
            let n = self.data.len().min(MEMORY_CHUNK);
            self.served.fetch_add(n as u64, Ordering::Relaxed);
            Ok(Some(self.data.split_to(n)))
        })
    }
}

/// Reports `listing` to `found` as a walk would: the listed folder itself first, then each
/// folder's children together, shallower folders first, yielding between answers, and
/// waiting for `gate` (if any) before the last folder's children are reported.
async fn report_by_folder(listing: &Listing, found: Found<'_>, gate: Option<Arc<Notify>>) {
    let mut by_folder: std::collections::BTreeMap<(usize, String), Vec<Entry>> =
        std::collections::BTreeMap::new();
    for entry in &listing.entries {
        let key = match entry.path.parent() {
            Some(parent) => (parent.segments().count() + 1, parent.to_string()),
            None => (0, String::new()),
        };
        by_folder.entry(key).or_default().push(entry.clone());
    }
    let answers = by_folder.len();
    for (answered, entries) in by_folder.into_values().enumerate() {
        match &gate {
            Some(gate) if answered + 1 == answers => gate.notified().await,
            _ => tokio::task::yield_now().await,
        }
        found(&entries);
    }
}

impl Remote for MemoryRemote {
    fn list<'a>(
        &'a self,
        path: &'a RemotePath,
        depth: Depth,
    ) -> BoxFuture<'a, Result<Listing, Error>> {
        Box::pin(async move {
            let gate = self
                .listing_gate
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(gate) = gate {
                gate.notified().await;
            }
            let listing = self.listing(path, depth);
            let hook = self
                .after_listing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(hook) = hook {
                hook();
            }
            listing
        })
    }

    fn list_reporting<'a>(
        &'a self,
        path: &'a RemotePath,
        depth: Depth,
        found: Found<'a>,
    ) -> BoxFuture<'a, Result<Listing, Error>> {
        Box::pin(async move {
            let listing = self.list(path, depth).await?;
            if depth == Depth::Infinity && self.walks.load(Ordering::SeqCst) {
                let gate = self
                    .walk_gate
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                report_by_folder(&listing, found, gate).await;
            }
            Ok(listing)
        })
    }

    fn stat<'a>(
        &'a self,
        path: &'a RemotePath,
        _kind: EntryKind,
    ) -> BoxFuture<'a, Result<Option<Entry>, Error>> {
        Box::pin(async move {
            let items = self.lock();
            if path.is_root() {
                return Ok(Some(self.entry("", &Item::Folder)));
            }
            Ok(items
                .get(path.as_str())
                .map(|item| self.entry(path.as_str(), item)))
        })
    }

    fn get<'a>(
        &'a self,
        path: &'a RemotePath,
        from: u64,
        end: Option<u64>,
        if_range: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Box<dyn Body>, Error>> {
        Box::pin(async move {
            self.ranges
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((from, end));
            let Some(Item::File { data, version, .. }) = self.lock().get(path.as_str()).cloned()
            else {
                return Err(status(Method::GET, path, StatusCode::NOT_FOUND));
            };
            let current = etag(version);
            let len = data.len() as u64;
            let end = end.map_or(len, |e| e.min(len));
            let ranged = from > 0 || end < len;
            let partial = ranged
                && if_range.is_none_or(|t| t == current)
                && from <= end
                && !self.ignores_ranges.load(Ordering::SeqCst);
            let data = if partial {
                data.slice(from as usize..end as usize)
            } else {
                data
            };
            Ok(Box::new(MemoryBody {
                data,
                partial,
                etag: current,
                served: self.served.clone(),
            }) as Box<dyn Body>)
        })
    }

    fn put_file<'a>(
        &'a self,
        path: &'a RemotePath,
        local: &'a Path,
        precondition: &'a Precondition,
        mtime: Option<SystemTime>,
        sent: SentBytes,
    ) -> BoxFuture<'a, Result<Uploaded, Error>> {
        Box::pin(async move {
            if let Some(hook) = self.take_upload_hook() {
                hook();
            }
            let data = tokio::fs::read(local)
                .await
                .map_err(|source| Error::LocalRead {
                    method: Method::PUT,
                    path: path.to_string(),
                    source,
                })?;
            // Received in chunks, as a network would take it.
            for end in (MEMORY_CHUNK..data.len()).step_by(MEMORY_CHUNK) {
                sent(end as u64);
                tokio::task::yield_now().await;
            }
            sent(data.len() as u64);
            self.store(path, Bytes::from(data), precondition, mtime)
        })
    }

    fn put_bytes<'a>(
        &'a self,
        path: &'a RemotePath,
        data: Bytes,
        precondition: &'a Precondition,
        mtime: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Uploaded, Error>> {
        Box::pin(async move {
            if let Some(hook) = self.take_upload_hook() {
                hook();
            }
            tokio::task::yield_now().await;
            self.store(path, data, precondition, mtime)
        })
    }

    fn abilities<'a>(&'a self, _probe: &'a RemotePath) -> BoxFuture<'a, Result<Abilities, Error>> {
        let abilities = self.abilities.clone();
        Box::pin(async move { Ok(abilities) })
    }

    fn put_chunks<'a>(
        &'a self,
        _path: &'a RemotePath,
        _local: &'a Path,
        _upload_id: &'a str,
        _chunk_size: u64,
        _sent: SentBytes,
    ) -> BoxFuture<'a, Result<ChunksSent, Error>> {
        unsupported("chunked upload")
    }

    fn assemble_chunks<'a>(
        &'a self,
        _path: &'a RemotePath,
        _local: &'a Path,
        _upload_id: &'a str,
        _sent: &'a ChunksSent,
        _precondition: &'a Precondition,
        _mtime: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Uploaded, Error>> {
        unsupported("chunked upload")
    }

    fn abort_chunked<'a>(&'a self, _upload_id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        unsupported("chunked upload")
    }

    fn put_bulk<'a>(
        &'a self,
        _files: &'a [BulkFile],
    ) -> BoxFuture<'a, Result<Vec<BulkResult>, Error>> {
        unsupported("bulk upload")
    }

    fn mkcol<'a>(&'a self, path: &'a RemotePath) -> BoxFuture<'a, Result<Mkcol, Error>> {
        Box::pin(async move {
            let takes = *self
                .mkcol_takes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(span) = takes {
                let now = self.mkcols_now.fetch_add(1, Ordering::SeqCst) + 1;
                self.mkcols_most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(span).await;
                self.mkcols_now.fetch_sub(1, Ordering::SeqCst);
            }
            let mut items = self.lock();
            if items.contains_key(path.as_str()) {
                return Ok(Mkcol::AlreadyExists);
            }
            if !has_parent(&items, path) {
                return Err(status(webdav_method("MKCOL"), path, StatusCode::CONFLICT));
            }
            items.insert(path.as_str().to_owned(), Item::Folder);
            Ok(Mkcol::Created)
        })
    }

    /// The in-memory server has no trash bin: a plain delete.
    fn delete_own<'a>(&'a self, path: &'a RemotePath) -> BoxFuture<'a, Result<(), Error>> {
        self.delete(path, EntryKind::File, None)
    }

    fn delete<'a>(
        &'a self,
        path: &'a RemotePath,
        _kind: EntryKind,
        if_match: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let current = self.lock().get(path.as_str()).cloned();
            match (current, if_match) {
                (None, _) => Err(status(Method::DELETE, path, StatusCode::NOT_FOUND)),
                (Some(Item::File { version, .. }), Some(tag)) if etag(version) != tag => Err(
                    status(Method::DELETE, path, StatusCode::PRECONDITION_FAILED),
                ),
                _ => {
                    self.remove(path.as_str());
                    Ok(())
                }
            }
        })
    }

    fn move_to<'a>(
        &'a self,
        from: &'a RemotePath,
        to: &'a RemotePath,
        _kind: EntryKind,
        overwrite: Overwrite,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            if self.is_locked(to.as_str()) {
                return Err(status(webdav_method("MOVE"), to, StatusCode::LOCKED));
            }
            let mut items = self.lock();
            if !items.contains_key(from.as_str()) {
                return Err(status(webdav_method("MOVE"), from, StatusCode::NOT_FOUND));
            }
            if !has_parent(&items, to) {
                return Err(status(webdav_method("MOVE"), to, StatusCode::CONFLICT));
            }
            if items.contains_key(to.as_str()) {
                if overwrite == Overwrite::Never {
                    return Err(status(
                        webdav_method("MOVE"),
                        to,
                        StatusCode::PRECONDITION_FAILED,
                    ));
                }
                let below = format!("{to}/");
                items.retain(|p, _| p != to.as_str() && !p.starts_with(&below));
            }
            // A folder moves with everything in it.
            let below = format!("{from}/");
            let moved: Vec<String> = items
                .keys()
                .filter(|p| *p == from.as_str() || p.starts_with(&below))
                .cloned()
                .collect();
            for old in moved {
                let item = items.remove(&old).expect("listed just above");
                let new = format!("{to}{}", &old[from.as_str().len()..]);
                items.insert(new, item);
            }
            Ok(())
        })
    }
}

impl MemoryRemote {
    /// Writes `data` at `path` if `precondition` holds, as one atomic step.
    fn store(
        &self,
        path: &RemotePath,
        data: Bytes,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
    ) -> Result<Uploaded, Error> {
        if self.is_locked(path.as_str()) {
            return Err(status(Method::PUT, path, StatusCode::LOCKED));
        }
        let mut items = self.lock();
        if !has_parent(&items, path) {
            return Err(status(Method::PUT, path, StatusCode::CONFLICT));
        }
        let existing = items.get(path.as_str());
        let allowed = match precondition {
            Precondition::None => true,
            Precondition::Absent => existing.is_none(),
            Precondition::Matches(tag) => {
                matches!(existing, Some(Item::File { version, .. }) if etag(*version) == *tag)
            }
        };
        if !allowed {
            return Err(status(Method::PUT, path, StatusCode::PRECONDITION_FAILED));
        }
        let version = self.bump();
        let checksum = sha1_of(&data);
        items.insert(
            path.as_str().to_owned(),
            Item::File {
                data,
                version,
                modified: mtime.unwrap_or_else(SystemTime::now),
                checksum,
            },
        );
        let bare = self.without_validators.load(Ordering::Relaxed);
        Ok(Uploaded {
            etag: Some(etag(version)).filter(|_| !bare),
            file_id: None,
            mtime_accepted: mtime.is_some() && !bare,
        })
    }
}

/// What this server answers for what it does not offer (chunked and bulk uploads).
fn unsupported<'a, T: Send + 'a>(what: &'static str) -> BoxFuture<'a, Result<T, Error>> {
    Box::pin(async move { Err(Error::Unsupported { what }) })
}
