//! Local changes: a watcher reports paths that may have changed, and the journal decides
//! whether they did. A path whose state is what the last sync agreed on is no change: that
//! is how the engine's own writes (downloads, renames, deletes a run made) are told from the
//! user's, without the run keeping a list of what it wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher as _};

use super::changes::ChangeSink;
use crate::filter::Filter;
use crate::journal::{Agreed, Journal, JournalError};
use crate::model::{PairId, is_internal_path};
use crate::scan::{scan, stat};

/// What a watcher saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalChange {
    /// These paths (absolute) may have changed.
    Paths(Vec<PathBuf>),
    /// Events were lost (the kernel's queue overflowed, or the watcher failed): anything may
    /// have changed, so the whole folder is scanned.
    Overflow,
}

/// Starts watching folders; the engine's is [`NotifyWatch`], tests inject their own through
/// [`crate::EngineOptions::watcher`].
pub trait WatchSource: fmt::Debug + Send + Sync + 'static {
    /// Watches `root` and everything below it, sending what it sees to `changes` until the
    /// returned guard is dropped.
    fn watch(&self, root: &Path, changes: ChangeSink) -> Result<Box<dyn Send>, WatchError>;
}

/// Why a folder cannot be watched.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {source}")]
pub struct WatchError {
    pub path: PathBuf,
    #[source]
    pub source: notify::Error,
}

/// The platform's own watcher (inotify on Linux and Android, FSEvents on macOS, kqueue on
/// iOS, ReadDirectoryChangesW on Windows), recursive; folders created or renamed inside the
/// tree are watched as they appear.
#[derive(Debug, Default)]
pub struct NotifyWatch;

impl WatchSource for NotifyWatch {
    fn watch(&self, root: &Path, changes: ChangeSink) -> Result<Box<dyn Send>, WatchError> {
        let failed = |source| WatchError {
            path: root.to_owned(),
            source,
        };
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let change = match event {
                    Ok(event) if event.need_rescan() => Some(LocalChange::Overflow),
                    Ok(event) if matters(&event.kind) => Some(LocalChange::Paths(event.paths)),
                    Ok(_) => None,
                    Err(error) => {
                        tracing::warn!(%error, "the folder watcher failed; scanning instead");
                        Some(LocalChange::Overflow)
                    }
                };
                if let Some(change) = change {
                    // Nobody listens once automatic sync stops; nothing to tell then.
                    changes.send(change);
                }
            })
            .map_err(failed)?;
        watcher
            .watch(root, RecursiveMode::Recursive)
            .map_err(failed)?;
        Ok(Box::new(watcher))
    }
}

/// Whether an event can mean a change: reads are not, a file closed after writing is.
fn matters(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// What comparing paths with the journal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every path is as the last sync left it.
    Unchanged,
    Changed,
    /// A path's folder is gone (renamed, perhaps, while the watcher still used its old name):
    /// the paths prove nothing, so scan the whole folder.
    Unsure,
}

/// Whether any of `paths` (absolute, under `root`) differs from what the journal agreed.
/// Runs on the blocking pool.
pub fn check_paths(
    journal: &Journal,
    pair: PairId,
    root: &Path,
    paths: &BTreeSet<PathBuf>,
    (filter, fold): &(Filter, bool),
) -> Result<Verdict, JournalError> {
    let mut agreed: Option<BTreeMap<String, Agreed>> = None;
    for path in paths {
        let Some(relative) = relative(root, path) else {
            continue;
        };
        let now = match stat(path) {
            Ok(now) => now,
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "unreadable; scanning instead");
                return Ok(Verdict::Unsure);
            }
        };
        // An editor's swap file or an OS's debris coming and going is no change to sync.
        let (is_dir, size) = now
            .as_ref()
            .map_or((false, None), |n| (n.is_dir, Some(n.size)));
        if filter.excludes(&relative, is_dir, size, *fold).is_some() {
            continue;
        }
        let agreed = match &agreed {
            Some(agreed) => agreed,
            None => agreed.insert(by_path(journal.agreed(pair)?)),
        };
        // Gone with its folder: the folder was deleted, or renamed to a name the watcher
        // may not have reported.
        if now.is_none() && path.parent().is_some_and(|parent| !parent.exists()) {
            return Ok(Verdict::Unsure);
        }
        match (now, agreed.get(&relative)) {
            (None, None) => {}
            (Some(now), Some(agreed)) => {
                let same = if now.is_dir {
                    agreed.is_dir
                } else {
                    !agreed.is_dir
                        && now.size == agreed.size
                        && Some(now.mtime) == agreed.local_mtime
                };
                if !same {
                    return Ok(Verdict::Changed);
                }
            }
            _ => return Ok(Verdict::Changed),
        }
    }
    Ok(Verdict::Unchanged)
}

/// Whether the folder differs from what the journal agreed anywhere (after a watcher
/// overflow). Runs on the blocking pool.
pub fn check_tree(
    journal: &Journal,
    pair: PairId,
    root: &Path,
    (filter, fold): &(Filter, bool),
) -> Result<Verdict, JournalError> {
    let tree = match root.try_exists() {
        Ok(true) => match scan(root, filter, *fold) {
            Ok(scanned) => scanned.tree,
            Err(error) => {
                tracing::debug!(%error, "the folder could not be scanned; syncing");
                return Ok(Verdict::Changed);
            }
        },
        _ => BTreeMap::new(),
    };
    let mut agreed = by_path(journal.agreed(pair)?);
    agreed.retain(|path, a| {
        filter
            .excludes(path, a.is_dir, Some(a.size), *fold)
            .is_none()
    });
    if tree.len() != agreed.len() {
        return Ok(Verdict::Changed);
    }
    let same = tree.iter().all(|(path, now)| {
        agreed.get(path).is_some_and(|agreed| {
            agreed.is_dir == now.is_dir
                && (now.is_dir
                    || (now.size == agreed.size && Some(now.mtime) == agreed.local_mtime))
        })
    });
    Ok(if same {
        Verdict::Unchanged
    } else {
        Verdict::Changed
    })
}

fn by_path(agreed: Vec<Agreed>) -> BTreeMap<String, Agreed> {
    agreed.into_iter().map(|a| (a.path.clone(), a)).collect()
}

/// `path` relative to `root`, `/`-separated, or `None` for the root itself, a path outside
/// it, a name that is not UTF-8, or one of Tidesync's own files (part files, the marker).
pub(super) fn relative(root: &Path, path: &Path) -> Option<String> {
    let rest = path.strip_prefix(root).ok()?;
    let mut parts = Vec::new();
    for part in rest.components() {
        parts.push(part.as_os_str().to_str()?);
    }
    let joined = parts.join("/");
    (!joined.is_empty() && !is_internal_path(&joined)).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_leave_out_the_root_and_part_files() {
        let root = Path::new("/data/pair");
        assert_eq!(
            relative(root, Path::new("/data/pair/a/b.txt")).as_deref(),
            Some("a/b.txt")
        );
        assert_eq!(relative(root, root), None);
        assert_eq!(relative(root, Path::new("/elsewhere/x")), None);
        assert_eq!(
            relative(
                root,
                &crate::transfer::part_path(Path::new("/data/pair/a/b.txt"))
            ),
            None
        );
    }
}
