//! Reading the local folder: every file and folder with its size and modification time.
//! Runs on the blocking pool (thousands of `stat` calls must not hold a tokio worker).

pub mod changed;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tidesync_webdav::validate_name;

use crate::filter::{Filter, Ignored, Side};
use crate::model::{FileError, LocalState, is_internal};
use crate::root::MARKER;
use crate::trash::TRASH;

/// What the scan found below the root.
#[derive(Debug, Default)]
pub struct Scanned {
    /// Relative paths (`/`-separated) of the files and folders to sync, with their state.
    pub tree: BTreeMap<String, LocalState>,
    /// Items the sync leaves alone on purpose (symbolic links, named pipes, sockets,
    /// devices): reported, never an error.
    pub skipped: Vec<FileError>,
    /// Items that could not be read or cannot be synced as named: each an error for its path,
    /// while the rest of the tree syncs.
    pub unreadable: Vec<FileError>,
    /// Items the pair leaves out (see [`crate::filter`]); nothing below a folder left out is
    /// read.
    pub ignored: Vec<Ignored>,
}

/// The local tree below `root`. The root itself must be readable; below it, a folder or an
/// entry that cannot be read is reported and left out, as are names that cannot be synced
/// (not UTF-8, or invalid on some platform) and anything that is not a plain file or folder.
/// Symbolic links are never followed and special files never opened, so nothing here can
/// block or leave the root. What `filter` leaves out (`fold`: without letter case) is listed
/// apart, and a folder left out is not entered.
pub fn scan(root: &Path, filter: &Filter, fold: bool) -> std::io::Result<Scanned> {
    let mut found = Scanned::default();
    let mut walk = Walk {
        found: &mut found,
        filter,
        fold,
        stack: vec![(root.to_owned(), String::new())],
        items: Vec::new(),
        above_kept: true,
    };
    walk.run()?;
    found.tree = walk.items.into_iter().collect();
    Ok(found)
}

/// A scan under way: the folders still to read, each with its path's prefix (`a/b/`).
struct Walk<'a> {
    found: &'a mut Scanned,
    filter: &'a Filter,
    fold: bool,
    stack: Vec<(PathBuf, String)>,
    /// The items for the tree, in the order found. The tree is built from them at the end,
    /// at once: built whole its nodes are full, where inserting in the order a folder lists
    /// its items leaves them about a third empty.
    items: Vec<(String, LocalState)>,
    /// Whether the folders above the items considered are known to be kept by the filter:
    /// true for the items of a folder the walk entered, which it entered because it was kept.
    above_kept: bool,
}

impl Walk<'_> {
    /// Reads every folder on the stack and those found below them. Only the root's own
    /// failure (the empty prefix) is an error; below it, failures are reported items.
    fn run(&mut self) -> std::io::Result<()> {
        while let Some((dir, prefix)) = self.stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(error) if prefix.is_empty() => return Err(error),
                Err(error) => {
                    self.found
                        .unreadable
                        .push(unreadable(&prefix[..prefix.len() - 1], &error));
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) if prefix.is_empty() => return Err(error),
                    Err(error) => {
                        // The folder broke while it was read: what it holds is unknown, and
                        // the survey leaves all of it alone.
                        self.found
                            .unreadable
                            .push(unreadable(&prefix[..prefix.len() - 1], &error));
                        break;
                    }
                };
                // The entry's type comes with the folder's listing on most file systems.
                let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
                // `DirEntry::metadata` does not follow a symbolic link (`lstat`).
                self.consider(&prefix, &entry.file_name(), is_dir, entry.path(), &|| {
                    entry.metadata()
                });
            }
        }
        Ok(())
    }

    /// Puts one item (`name` in the folder `prefix`, at `at` on disk) where it belongs: in
    /// the tree (a folder also on the stack, to be read), or in one of the lists of what is
    /// left alone. An item gone since its folder was read is simply not there.
    fn consider(
        &mut self,
        prefix: &str,
        name: &OsStr,
        is_dir: bool,
        at: PathBuf,
        meta: &dyn Fn() -> std::io::Result<std::fs::Metadata>,
    ) {
        let found = &mut *self.found;
        let Some(name) = name.to_str() else {
            found.unreadable.push(FileError {
                path: format!("{prefix}{}", name.to_string_lossy()),
                message: "the name is not valid UTF-8, so it cannot be stored on the server".into(),
            });
            return;
        };
        if is_internal(name) || (prefix.is_empty() && (name == MARKER || name == TRASH)) {
            return;
        }
        let path = format!("{prefix}{name}");
        let excluded = if self.above_kept {
            self.filter.excludes_in_kept(&path, is_dir, self.fold)
        } else {
            self.filter.excludes(&path, is_dir, None, self.fold)
        };
        if let Some(reason) = excluded {
            let size = match meta() {
                Ok(meta) if meta.is_file() => meta.len(),
                _ => 0,
            };
            found.ignored.push(Ignored {
                path,
                is_dir,
                size,
                reason,
                side: Side::Here,
            });
            return;
        }
        if let Err(error) = validate_name(name) {
            found.unreadable.push(FileError {
                path,
                message: format!("not synced: {error}"),
            });
            return;
        }
        let meta = match meta() {
            Ok(meta) => meta,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
            Err(error) => {
                found.unreadable.push(unreadable(&path, &error));
                return;
            }
        };
        if let Some(what) = not_synced(&meta.file_type()) {
            found.skipped.push(FileError {
                path,
                message: format!("not synced: {what}"),
            });
            return;
        }
        let state = state_of(&meta);
        // The patterns were matched above; again only where the folder's listing told the
        // item's type wrong (or not at all), since some patterns match folders alone.
        let excluded = match meta.is_dir() == is_dir {
            true => self.filter.too_large(is_dir, Some(state.size)),
            false => self
                .filter
                .excludes(&path, meta.is_dir(), Some(state.size), self.fold),
        };
        if let Some(reason) = excluded {
            found.ignored.push(Ignored {
                path,
                is_dir: false,
                size: state.size,
                reason,
                side: Side::Here,
            });
            return;
        }
        if meta.is_dir() {
            self.stack.push((at, format!("{path}/")));
        }
        self.items.push((path, state));
    }
}

/// Why an item of this type is left alone, or `None` for a plain file or folder.
fn not_synced(kind: &std::fs::FileType) -> Option<&'static str> {
    if kind.is_symlink() {
        return Some("symbolic links are not followed");
    }
    if kind.is_file() || kind.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a named pipe (FIFO) is not a file");
        }
        if kind.is_socket() {
            return Some("a socket is not a file");
        }
        if kind.is_block_device() || kind.is_char_device() {
            return Some("a device is not a file");
        }
    }
    Some("not a plain file or folder")
}

/// An item that could not be read, with the cause in words.
fn unreadable(path: &str, error: &std::io::Error) -> FileError {
    FileError {
        path: path.to_owned(),
        message: format!(
            "could not be read ({}); nothing at or below it is synced until it can be",
            io_cause(error)
        ),
    }
}

/// A local failure's cause in words a person can act on. Only a full disk is called full:
/// a permission or a read-only card is not a space problem.
pub fn io_cause(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => "the disk is full".into(),
        ErrorKind::NotFound => "it is not there".into(),
        _ => error.to_string(),
    }
}

/// Nanoseconds since the epoch (negative before it), clamped to what 64 bits hold (the
/// years 1677 to 2262): the journal keeps times in 64 bits, and a time it could not keep
/// would look changed on every run. A file dated beyond is compared at the clamp, the same
/// on every scan.
pub fn nanos(t: SystemTime) -> i128 {
    let exact = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    exact.clamp(i128::from(i64::MIN), i128::from(i64::MAX))
}

/// What the planner compares of a local path: kind, size, modification time.
fn state_of(meta: &std::fs::Metadata) -> LocalState {
    LocalState {
        is_dir: meta.is_dir(),
        size: if meta.is_dir() { 0 } else { meta.len() },
        mtime: meta.modified().map(nanos).unwrap_or(0),
        inode: inode(meta),
        ctime: change_time(meta),
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.ino())
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> Option<u64> {
    None
}

#[cfg(unix)]
fn change_time(meta: &std::fs::Metadata) -> Option<i128> {
    use std::os::unix::fs::MetadataExt;
    Some(i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()))
}

#[cfg(not(unix))]
fn change_time(_: &std::fs::Metadata) -> Option<i128> {
    None
}

/// The state of one local path now, or `None` when it does not exist.
pub fn stat(path: &Path) -> std::io::Result<Option<LocalState>> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(state_of(&meta))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
