//! Reading the local folder: every file and folder with its size and modification time.
//! Runs on the blocking pool (thousands of `stat` calls must not hold a tokio worker).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use tidesync_webdav::validate_name;

use crate::model::{FileError, LocalState, is_internal};

/// The local tree below `root`: relative paths (`/`-separated) to their state. Names that
/// cannot be synced (not UTF-8, or invalid on some platform) and symbolic links are reported
/// and left out.
pub fn scan(root: &Path) -> std::io::Result<(BTreeMap<String, LocalState>, Vec<FileError>)> {
    let mut tree = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut stack = vec![(root.to_owned(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                skipped.push(FileError {
                    path: format!("{prefix}{}", entry.file_name().to_string_lossy()),
                    message: "the name is not valid UTF-8, so it cannot be stored on the server"
                        .into(),
                });
                continue;
            };
            if is_internal(&name) {
                continue;
            }
            let path = format!("{prefix}{name}");
            if let Err(error) = validate_name(&name) {
                skipped.push(FileError {
                    path,
                    message: format!("not synced: {error}"),
                });
                continue;
            }
            let meta = entry.metadata()?;
            if meta.file_type().is_symlink() {
                skipped.push(FileError {
                    path,
                    message: "symbolic links are not synced".into(),
                });
                continue;
            }
            let state = state_of(&meta);
            if meta.is_dir() {
                stack.push((entry.path(), format!("{path}/")));
            }
            tree.insert(path, state);
        }
    }
    Ok((tree, skipped))
}

/// Nanoseconds since the epoch (negative before it).
pub fn nanos(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// What the planner compares of a local path: kind, size, modification time.
fn state_of(meta: &std::fs::Metadata) -> LocalState {
    LocalState {
        is_dir: meta.is_dir(),
        size: if meta.is_dir() { 0 } else { meta.len() },
        mtime: meta.modified().map(nanos).unwrap_or(0),
        inode: inode(meta),
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

/// The state of one local path now, or `None` when it does not exist.
pub fn stat(path: &Path) -> std::io::Result<Option<LocalState>> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(state_of(&meta))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
