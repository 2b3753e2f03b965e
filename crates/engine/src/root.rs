//! Telling the local folder that was synced from whatever now has its path.
//!
//! An SD card taken out, a drive not mounted, a folder moved away and an empty one made in
//! its place all look, to a scan, like a folder whose files were deleted: a two-way or upload
//! run would delete the server's copies. So each pair keeps its folder's identity in the
//! journal: a token, written into a marker file ([`MARKER`]) inside the folder (as rclone
//! bisync's `--check-access` file does), and the folder's device and inode. While the journal
//! lists files, a run stops before anything is planned when the folder is missing, is not a
//! folder, or holds no marker with the pair's token and has another device or inode. The
//! marker alone decides when it is there: a card's device and inode numbers may change with
//! each mount. The device and inode decide when only the marker was deleted, and only while
//! the folder still holds something synced: a folder deleted and made again empty often gets
//! its old inode number back.
//!
//! A pair synced before this existed (nothing recorded) adopts the folder it finds on its
//! next run; a missing folder stops it all the same.

use std::path::Path;

/// The marker file in the root of every synced local folder; never synced itself.
pub const MARKER: &str = ".tidesync";

/// What the marker says first, for a person who finds it.
const MARKER_HEADER: &str = "# Tidesync syncs this folder. Keep this file: it tells a missing \
                             or replaced folder from one whose files were deleted.";

/// A pair's local folder as recorded after a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootIdentity {
    /// The pair's line in the marker file.
    pub token: String,
    pub device: Option<u64>,
    pub inode: Option<u64>,
}

/// What stands at the folder's path now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Missing,
    NotAFolder,
    Folder {
        device: Option<u64>,
        inode: Option<u64>,
        /// The tokens its marker holds (none without a marker).
        tokens: Vec<String>,
    },
}

/// Why a run stopped without planning anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FolderGone {
    #[error(
        "the local folder {path} is missing (a removed SD card, an unmounted drive, a moved \
         folder?): nothing was synced and nothing deleted; put it back, or remove the pair \
         and add it again"
    )]
    LocalMissing { path: String },
    #[error("the local folder {path} is not a folder: nothing was synced and nothing deleted")]
    LocalNotAFolder { path: String },
    #[error(
        "the local folder {path} is not the one that was synced (its {MARKER} file is gone \
         and it is another folder or drive): nothing was synced and nothing deleted; mount \
         the right drive, or remove the pair and add it again"
    )]
    LocalReplaced { path: String },
    #[error(
        "the folder on the server is gone, though files were synced from it: nothing was \
         synced and nothing deleted on this device; restore it on the server, or remove the \
         pair and add it again"
    )]
    RemoteMissing,
}

/// Looks at the folder's path without following anything below it. Blocking.
pub fn look(root: &Path) -> std::io::Result<Seen> {
    let meta = match std::fs::metadata(root) {
        Ok(meta) => meta,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Seen::Missing),
        Err(error) => return Err(error),
    };
    if !meta.is_dir() {
        return Ok(Seen::NotAFolder);
    }
    let (device, inode) = identity(&meta);
    let tokens = match std::fs::read_to_string(root.join(MARKER)) {
        Ok(text) => tokens(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        // A marker that cannot be read counts as none: the device and inode still decide.
        Err(error) => {
            tracing::warn!(%error, "the folder's marker file could not be read");
            Vec::new()
        }
    };
    Ok(Seen::Folder {
        device,
        inode,
        tokens,
    })
}

/// Whether a run may go on with the folder it `seen`, given what the journal `recorded`,
/// whether it lists files (`synced`) and whether the folder still holds any of them
/// (`survivors`).
pub fn verdict(
    root: &Path,
    seen: &Seen,
    recorded: Option<&RootIdentity>,
    synced: bool,
    survivors: bool,
) -> Result<(), FolderGone> {
    let path = root.display().to_string();
    match seen {
        Seen::Missing if synced => Err(FolderGone::LocalMissing { path }),
        // Never synced (or everything deleted since): made by the run, like any first sync.
        Seen::Missing => Ok(()),
        Seen::NotAFolder => Err(FolderGone::LocalNotAFolder { path }),
        Seen::Folder {
            device,
            inode,
            tokens,
        } => match recorded {
            None => Ok(()),
            Some(_) if !synced => Ok(()),
            Some(recorded) if tokens.contains(&recorded.token) => Ok(()),
            // Inode numbers are reused (a folder deleted and made again often gets its old
            // one back), so the same numbers prove the same folder only while it still holds
            // something synced.
            Some(recorded)
                if recorded.device.is_some()
                    && (recorded.device, recorded.inode) == (*device, *inode)
                    && survivors =>
            {
                tracing::warn!(%path, "the folder's marker file was deleted; writing it again");
                Ok(())
            }
            Some(_) => Err(FolderGone::LocalReplaced { path }),
        },
    }
}

/// Makes sure the folder (which exists now) carries the pair's token, and returns its
/// identity to record: the recorded token, or a new one for a folder seen first. Blocking.
pub fn adopt(
    root: &Path,
    recorded: Option<&RootIdentity>,
    seed: u64,
) -> std::io::Result<RootIdentity> {
    let token = match recorded {
        Some(recorded) => recorded.token.clone(),
        None => new_token(seed),
    };
    let marker = root.join(MARKER);
    let mut held = match std::fs::read_to_string(&marker) {
        Ok(text) => tokens(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error),
    };
    if !held.contains(&token) {
        held.push(token.clone());
        let mut text = format!("{MARKER_HEADER}\n");
        for token in &held {
            text.push_str(token);
            text.push('\n');
        }
        match std::fs::write(&marker, text) {
            Ok(()) => {}
            // A folder backed up from a read-only card or mount cannot hold a marker: its
            // device and inode alone tell it (see `verdict`).
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                tracing::warn!(%error, "the folder cannot hold its marker file; known by its inode");
            }
            Err(error) => return Err(error),
        }
    }
    let (device, inode) = identity(&std::fs::metadata(root)?);
    Ok(RootIdentity {
        token,
        device,
        inode,
    })
}

fn tokens(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// A token no other pair or install has: the pair's id (`seed`), the time and the process.
fn new_token(seed: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("pair-{seed}-{nanos:x}-{:x}", std::process::id())
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (Option<u64>, Option<u64>) {
    use std::os::unix::fs::MetadataExt;
    (Some(meta.dev()), Some(meta.ino()))
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> (Option<u64>, Option<u64>) {
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_known_by_its_marker_or_failing_that_its_device_and_inode() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("sync");
        assert_eq!(look(&root).unwrap(), Seen::Missing);
        assert_eq!(verdict(&root, &Seen::Missing, None, false, false), Ok(()));
        std::fs::create_dir(&root).unwrap();
        let identity = adopt(&root, None, 7).unwrap();
        let seen = look(&root).unwrap();
        assert_eq!(verdict(&root, &seen, Some(&identity), true, false), Ok(()));
        assert_eq!(
            adopt(&root, Some(&identity), 7).unwrap(),
            identity,
            "written once"
        );

        // Only the marker deleted: the same folder, while it holds what was synced.
        std::fs::remove_file(root.join(MARKER)).unwrap();
        let seen = look(&root).unwrap();
        assert_eq!(verdict(&root, &seen, Some(&identity), true, true), Ok(()));
        // The same numbers with nothing synced left: deleted and made again, which reuses
        // inode numbers.
        assert!(matches!(
            verdict(&root, &seen, Some(&identity), true, false),
            Err(FolderGone::LocalReplaced { .. })
        ));
        assert_eq!(adopt(&root, Some(&identity), 7).unwrap(), identity);

        // Moved away and replaced by an empty folder: stop while files were synced.
        std::fs::rename(&root, dir.path().join("moved")).unwrap();
        assert!(matches!(
            verdict(&root, &look(&root).unwrap(), Some(&identity), true, false),
            Err(FolderGone::LocalMissing { .. })
        ));
        std::fs::create_dir(&root).unwrap();
        let seen = look(&root).unwrap();
        assert!(matches!(
            verdict(&root, &seen, Some(&identity), true, false),
            Err(FolderGone::LocalReplaced { .. })
        ));
        assert_eq!(verdict(&root, &seen, Some(&identity), false, false), Ok(()));

        // A card mounted again (other numbers) with its marker: the same folder.
        std::fs::remove_dir(&root).unwrap();
        std::fs::rename(dir.path().join("moved"), &root).unwrap();
        let seen = look(&root).unwrap();
        let remounted = RootIdentity {
            device: identity.device.map(|d| d + 1),
            ..identity.clone()
        };
        assert_eq!(verdict(&root, &seen, Some(&remounted), true, false), Ok(()));

        std::fs::remove_dir_all(&root).unwrap();
        std::fs::write(&root, b"a file").unwrap();
        assert_eq!(look(&root).unwrap(), Seen::NotAFolder);
    }
}
