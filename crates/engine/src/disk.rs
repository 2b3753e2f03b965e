//! How local paths resolve: as the operating system resolves them, or, in tests, as a
//! case-insensitive volume would.
//!
//! FAT and exFAT cards, Android's shared storage, macOS and Windows keep a name's letter case
//! but look names up without it: `a.txt` opens `A.txt`, and writing `a.txt` replaces it. The
//! survey asks the folder which kind it is ([`Disk::is_case_insensitive`]) and matches names
//! accordingly (`run::unicode`). Nothing on this project's machines can make such a folder (no
//! `vfat` or casefold without mounting), so [`Disk::CaseFolding`] stands in for one in tests:
//! every local path the engine computes resolves each name to an entry already there that
//! differs only in case, which is what such a volume does on every lookup. [`Disk::SlowReads`]
//! stands in for a disk that stalls, so tests can show a stop never waits for one.

use std::path::{Path, PathBuf};

/// How the engine resolves its local paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Disk {
    /// The operating system's own lookup: the product's only kind.
    #[default]
    Native,
    /// A case-insensitive, case-preserving volume, emulated on a case-sensitive disk.
    #[cfg(feature = "test-support")]
    CaseFolding,
    /// A volume whose every read of a file's contents takes this long (a failing card, a
    /// network mount), on the blocking thread that reads, as a stalled system call would.
    #[cfg(feature = "test-support")]
    SlowReads(std::time::Duration),
}

impl Disk {
    /// `relative` (`/`-separated) below `root`, as the volume finds it.
    pub fn resolve(self, root: &Path, relative: &str) -> PathBuf {
        let names = relative.split('/').filter(|s| !s.is_empty());
        match self {
            Disk::Native => names.fold(root.to_path_buf(), |path, name| path.join(name)),
            #[cfg(feature = "test-support")]
            Disk::SlowReads(_) => names.fold(root.to_path_buf(), |path, name| path.join(name)),
            #[cfg(feature = "test-support")]
            Disk::CaseFolding => names.fold(root.to_path_buf(), |path, name| {
                let found = existing_spelling(&path, name);
                path.join(found.as_deref().unwrap_or(name))
            }),
        }
    }

    /// Called on the blocking thread before the engine reads a file's contents: nothing on a
    /// real volume; the delay of [`Disk::SlowReads`] there.
    pub fn before_read(self) {
        #[cfg(feature = "test-support")]
        if let Disk::SlowReads(delay) = self {
            std::thread::sleep(delay);
        }
    }

    /// The entry a lookup of `path` (its folder already resolved) finds: on a
    /// case-insensitive volume, maybe one whose name differs only in case.
    pub fn found(self, path: &Path) -> PathBuf {
        match (
            self,
            path.parent(),
            path.file_name().and_then(|n| n.to_str()),
        ) {
            #[cfg(feature = "test-support")]
            (Disk::CaseFolding, Some(folder), Some(name)) => {
                match existing_spelling(folder, name) {
                    Some(spelled) => folder.join(spelled),
                    None => path.to_path_buf(),
                }
            }
            _ => path.to_path_buf(),
        }
    }

    /// `relative` below `root`, its folders as the volume finds them and its own name as
    /// given: the target of a rename that changes only the letter case.
    pub fn named(self, root: &Path, relative: &str) -> PathBuf {
        match relative.rsplit_once('/') {
            Some((parent, name)) => self.resolve(root, parent).join(name),
            None => root.join(relative),
        }
    }

    /// Whether the folder `root` looks names up without their case: its marker file
    /// (`root::MARKER`) found again under the name in capitals. A folder without the marker
    /// (read-only, never adopted) cannot tell, and counts as case-insensitive: the careful
    /// side, where twins on the server are kept apart and never written over each other.
    pub fn is_case_insensitive(self, root: &Path) -> bool {
        let marker = root.join(crate::root::MARKER);
        let shouted = self.resolve(root, &crate::root::MARKER.to_uppercase());
        match (std::fs::metadata(marker), std::fs::metadata(shouted)) {
            (Ok(marker), Ok(shouted)) => same_file(&marker, &shouted),
            (Ok(_), Err(e)) if e.kind() == std::io::ErrorKind::NotFound => false,
            _ => true,
        }
    }
}

/// Whether two lookups found the same file.
#[cfg(unix)]
pub fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Whether two lookups found the same file (without inodes: by size and times).
#[cfg(not(unix))]
pub fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

/// The name of the entry of `folder` that equals `name` but for letter case, if `name`
/// itself is not there.
#[cfg(feature = "test-support")]
fn existing_spelling(folder: &Path, name: &str) -> Option<String> {
    if std::fs::symlink_metadata(folder.join(name)).is_ok() {
        return None;
    }
    let folded = crate::names::fold_case(name);
    std::fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .find(|entry| crate::names::fold_case(entry) == folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real probe, on this machine's disk (tmpfs or ext4: case-sensitive), and on the
    /// emulated volume.
    #[test]
    fn the_probe_tells_a_case_sensitive_folder_from_a_case_insensitive_one() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(
            Disk::Native.is_case_insensitive(root),
            "without the marker it cannot tell, and says insensitive"
        );
        std::fs::write(root.join(crate::root::MARKER), b"token").unwrap();
        assert!(!Disk::Native.is_case_insensitive(root));
        assert!(Disk::CaseFolding.is_case_insensitive(root));
    }

    #[test]
    fn the_emulated_volume_finds_names_in_any_case_and_keeps_new_ones_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("Photos/2024")).unwrap();
        std::fs::write(root.join("Photos/2024/IMG.jpg"), b"x").unwrap();
        let disk = Disk::CaseFolding;
        assert_eq!(
            disk.resolve(root, "photos/2024/img.JPG"),
            root.join("Photos/2024/IMG.jpg")
        );
        assert_eq!(
            disk.resolve(root, "photos/new.txt"),
            root.join("Photos/new.txt")
        );
        assert_eq!(
            disk.named(root, "photos/2024/img.jpg"),
            root.join("Photos/2024/img.jpg")
        );
        assert_eq!(
            Disk::Native.resolve(root, "photos/a"),
            root.join("photos/a")
        );
    }
}
