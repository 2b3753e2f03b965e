//! What every executor of a run shares: the pair, the server's client, the journal, the
//! run's token and the local names the survey matched. One per run segment, built by the
//! job's driver.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tidesync_webdav::{RemotePath, RetryPolicy};
use tokio_util::sync::CancellationToken;

use crate::disk::Disk;
use crate::filter::{Filter, Reason};
use crate::journal::Journal;
use crate::model::PairId;
use crate::progress::Hub;
use crate::quick_disk::QuickDisk;
use crate::record::Recorder;
use crate::remote::Remote;
use crate::transfer::{FreshFolders, TransferError, UploadSizes};

/// What every transfer of a run shares.
pub struct Context {
    pub pair: PairId,
    pub local_root: PathBuf,
    /// The server: the WebDAV client, or an in-memory one in tests.
    pub client: Arc<dyn Remote>,
    pub journal: Journal,
    pub hub: Arc<Hub>,
    pub run: CancellationToken,
    /// Where completed files are recorded, in shared transactions.
    pub recorder: Recorder,
    /// Files larger than this are fetched in ranges of this size.
    pub range_size: u64,
    /// The client's retry policy, which also bounds how often a download that broke off
    /// mid-body is resumed within a run.
    pub retry: RetryPolicy,
    /// Whether plans that delete more than `delete_limit` allows are refused.
    pub mass_delete_guard: bool,
    pub delete_limit: crate::plan::DeleteLimit,
    /// How long and how much the pair's local trash keeps (see `crate::trash::purge`).
    pub trash_keep: crate::trash::KeepSetting,
    /// Where files deleted on the server go instead (see `EngineOptions::remote_backup`).
    pub remote_backup: Option<RemotePath>,
    /// When uploads go by chunks, where the server offers it.
    pub uploads: UploadSizes,
    /// The upload folders of chunked uploads this run used; [`sweep_chunked`] deletes the
    /// others it finds recorded.
    pub chunked_used: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Where small downloads' last blocking step runs, as this run measured its disk.
    pub quick_disk: QuickDisk,
    /// Server folders this run made, and when: a bulk upload into one made a moment ago need
    /// not list it first.
    pub folders_made: FreshFolders,
    /// Local spellings of names the plan knows in the server's Unicode form (see
    /// `run::unicode`): key → the path locally. Set by each survey.
    pub local_names: std::sync::Mutex<Arc<std::collections::HashMap<String, String>>>,
    /// Compare contents where the server gives no ETag, on every run (see `run::verify`).
    pub verify_contents: bool,
    /// How local paths resolve (see [`Disk`]).
    pub disk: Disk,
    /// What the pair leaves out (see [`crate::filter`]).
    pub filter: Filter,
    /// Whether the filter matches without letter case, as the local folder looks names up:
    /// set by each survey before its scan.
    pub fold: std::sync::atomic::AtomicBool,
    /// What automatic sync's watcher saw, for a run it started: the survey then looks only
    /// at what changed, and leaves its baseline here (see [`crate::scan::changed`]).
    pub watched: Option<Arc<crate::scan::changed::Watched>>,
}

impl Context {
    /// Marks a chunked upload's folder as used by this run.
    pub(crate) fn chunked_in_use(&self, id: &str) {
        self.chunked_used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_owned());
    }

    pub(crate) fn chunked_was_used(&self, id: &str) -> bool {
        self.chunked_used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(id)
    }

    pub fn local_path(&self, path: &RemotePath) -> PathBuf {
        self.disk
            .resolve(&self.local_root, &self.spelled_here(path))
    }

    /// The local path of `path` with its own name as spelled, where [`local_path`] finds an
    /// item whose name differs only in case on a case-insensitive volume: the target of a
    /// rename that changes the case.
    ///
    /// [`local_path`]: Self::local_path
    pub fn named_path(&self, path: &RemotePath) -> PathBuf {
        self.disk.named(&self.local_root, &self.spelled_here(path))
    }

    /// `path` (`/`-separated, relative) as the local side spells it: the longest part of it the
    /// survey matched to another spelling, replaced.
    fn spelled_here(&self, path: &RemotePath) -> String {
        let key = path.as_str();
        let names = self
            .local_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        spelled(&names, key)
    }

    /// Takes the local spellings a survey matched (see `run::unicode`).
    pub(crate) fn set_local_names(&self, names: std::collections::HashMap<String, String>) {
        *self
            .local_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(names);
    }

    /// The local path of `path` for a write (create, replace, rename, delete): checked on
    /// the blocking pool to have no symbolic link below the root on the way, the item itself
    /// included (see [`crate::confine`]).
    pub async fn writable_path(&self, path: &RemotePath) -> Result<PathBuf, TransferError> {
        let target = self.local_path(path);
        let root = self.local_root.clone();
        let spelled_here = self.spelled_here(path);
        if let Some(why) = crate::confine::too_long(&root, &spelled_here) {
            return Err(TransferError::TooLong {
                path: path.as_str().to_owned(),
                why,
            });
        }
        let segments = self.names_below_root(&target);
        let check = move || crate::confine::first_link(&root, segments.iter().map(String::as_str));
        // A few `lstat`s: inline where the run measured the disk quicker than a hand-off to
        // the blocking pool (as small downloads finish, see `quick_disk`), else on the pool.
        let link = if self.quick_disk.inlines() {
            check()
        } else {
            tokio::task::spawn_blocking(check)
                .await
                .map_err(|e| TransferError::local(&target, std::io::Error::other(e)))?
        }
        .map_err(|e| TransferError::local(&target, e))?;
        match link {
            Some(link) => Err(TransferError::ThroughLink {
                path: path.as_str().to_owned(),
                link,
            }),
            None => Ok(target),
        }
    }

    /// The names of `local` (a path [`local_path`](Self::local_path) made) below the root.
    fn names_below_root(&self, local: &Path) -> Vec<String> {
        local
            .strip_prefix(&self.local_root)
            .map(|below| {
                below
                    .iter()
                    .map(|name| name.to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Makes the folders `path` goes in, after the same check as
    /// [`writable_path`](Self::writable_path), in one blocking call (an early download starts
    /// as soon as its folder is listed, so each hop before its `GET` counts).
    pub async fn make_folders_for(&self, path: &RemotePath) -> Result<(), TransferError> {
        let target = self.local_path(path);
        let Some(folder) = target.parent().map(Path::to_owned) else {
            return Ok(());
        };
        let parents = self.names_below_root(&folder);
        let root = self.local_root.clone();
        let made = tokio::task::spawn_blocking(move || {
            let link = crate::confine::first_link(&root, parents.iter().map(String::as_str))?;
            if link.is_none() {
                std::fs::create_dir_all(&folder)?;
            }
            Ok::<_, std::io::Error>(link)
        })
        .await
        .map_err(|e| TransferError::local(&target, std::io::Error::other(e)))?
        .map_err(|e| TransferError::local(&target, e))?;
        match made {
            Some(link) => Err(TransferError::ThroughLink {
                path: path.as_str().to_owned(),
                link,
            }),
            None => Ok(()),
        }
    }

    /// Whether `path` is left out of the sync on both sides: Tidesync's own files, and the
    /// server backup folder with everything in it.
    pub fn excluded(&self, path: &str) -> bool {
        crate::model::is_internal_path(path)
            || self.remote_backup.as_ref().is_some_and(|backup| {
                let backup = backup.as_str();
                path == backup
                    || path
                        .strip_prefix(backup)
                        .is_some_and(|r| r.starts_with('/'))
            })
    }

    /// Why the pair leaves the item at `path` out, if it does (see [`Filter::excludes`]).
    pub fn left_out(&self, path: &str, is_dir: bool, size: Option<u64>) -> Option<Reason> {
        let fold = self.fold.load(std::sync::atomic::Ordering::Relaxed);
        self.filter.excludes(path, is_dir, size, fold)
    }

    /// Races `future` against the run token.
    pub(crate) async fn or_stop<T>(
        &self,
        future: impl Future<Output = T>,
    ) -> Result<T, TransferError> {
        self.run
            .run_until_cancelled(future)
            .await
            .ok_or(TransferError::Stopped)
    }
}

/// `key` (`/`-separated, relative) with the longest part of it that `names` maps to another
/// spelling replaced.
pub(crate) fn spelled(names: &std::collections::HashMap<String, String>, key: &str) -> String {
    if names.is_empty() {
        return key.to_owned();
    }
    let mut end = key.len();
    loop {
        if let Some(actual) = names.get(&key[..end]) {
            return format!("{actual}{}", &key[end..]);
        }
        match key[..end].rfind('/') {
            Some(slash) => end = slash,
            None => return key.to_owned(),
        }
    }
}
