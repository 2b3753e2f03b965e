//! Keeping every local write inside the sync folder.
//!
//! A folder inside the sync folder may be a symbolic link to somewhere else (a common way to
//! "add" a folder). Writing a download through it would put the server's files outside the
//! sync folder, and the next scan, which does not follow links, would see them as deleted on
//! the local side. So before a create, write, rename or delete, every component below the root is
//! checked with `lstat`: a symbolic link anywhere on the way refuses that one file. The root
//! itself may be a link (Android's `/sdcard` is one); the user chose it.
//!
//! This is the portable form of `openat2(RESOLVE_BENEATH)`: a link made between the check and
//! the write can still be followed. The scan shields every link it saw (see
//! `run::survey::shield`), so only a link made during the run's own few milliseconds is
//! outside both.

use std::path::Path;

/// The longest absolute path the local file system takes, in bytes with the final NUL
/// (`PATH_MAX`).
#[cfg(any(target_os = "macos", target_os = "ios"))]
const PATH_MAX: usize = 1024;
#[cfg(windows)]
const PATH_MAX: usize = 260;
#[cfg(not(any(target_os = "macos", target_os = "ios", windows)))]
const PATH_MAX: usize = 4096;
/// The longest name the local file system takes, in bytes (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// Why the relative `path` (`/`-separated) cannot be held below `root`: a name longer than
/// `NAME_MAX`, or a path longer than `PATH_MAX` (its part file's name counted where that is
/// the longer). `None` when it fits.
pub fn too_long(root: &Path, path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let part_len = crate::model::PART_PREFIX.len() + 16;
    let longest =
        root.as_os_str().len() + 1 + path.len() - name.len() + name.len().max(part_len) + 1;
    if name.len() > NAME_MAX {
        Some(format!(
            "not synced: its name is {} bytes long, and this device's file system takes at \
             most {NAME_MAX}; rename it on the server",
            name.len()
        ))
    } else if longest > PATH_MAX {
        Some(format!(
            "not synced: its path here would be {} bytes long, and this device's file system \
             takes at most {}; move it higher up on the server, or sync into a folder with a \
             shorter path",
            longest - 1,
            PATH_MAX - 1
        ))
    } else {
        None
    }
}

/// The first path (relative to `root`, `/`-separated) among `segments`' components that is
/// a symbolic link, the item itself included; `None` when there is none. Stops at the first
/// component that does not exist: nothing below it can be a link. Blocking.
pub fn first_link<'a>(
    root: &Path,
    segments: impl IntoIterator<Item = &'a str>,
) -> std::io::Result<Option<String>> {
    let mut at = root.to_path_buf();
    let mut relative = String::new();
    for segment in segments {
        at.push(segment);
        if !relative.is_empty() {
            relative.push('/');
        }
        relative.push_str(segment);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Ok(Some(relative)),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_link_on_the_way_or_at_the_end_is_found_and_the_root_may_be_one() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        let real_root = dir.path().join("root");
        std::fs::create_dir_all(real_root.join("plain/deeper")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, real_root.join("linked")).unwrap();
        let root = dir.path().join("root-link");
        std::os::unix::fs::symlink(&real_root, &root).unwrap();

        let found = |path: &str| first_link(&root, path.split('/')).unwrap();
        assert_eq!(found("plain/deeper/file"), None);
        assert_eq!(
            found("plain/new/file"),
            None,
            "missing folders are no links"
        );
        assert_eq!(found("linked/file").as_deref(), Some("linked"));
        assert_eq!(
            found("linked").as_deref(),
            Some("linked"),
            "the item itself"
        );
    }
}
