//! The pair's trash: every local file a sync deletes or replaces is moved here first, so a
//! server that lost a folder, a delete made by mistake on another device or a bug never
//! costs a file.
//!
//! The trash is `.tidesync-trash` in the root of the sync folder: on the same volume, so
//! keeping a file is a rename (never a copy of its bytes), and never synced itself (the scan
//! and the listing leave the name out, like the marker). Each removed file gets a folder of
//! its own, `<unix seconds>-<why>-<random>`, holding it under its path relative to the root:
//! the trash describes itself, so a person can browse it, the CLI can list it without the
//! journal, and a kill between the move and anything else loses nothing. Old entries go
//! after a sync ([`purge`]): those older than the pair's days, then the oldest while the
//! trash holds more than its bytes.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// The trash folder in the root of every sync folder; never synced itself.
pub const TRASH: &str = ".tidesync-trash";

/// How long a removed file is kept by default.
pub const KEEP_DAYS: u32 = 30;

/// The most a trash holds by default: a tenth of its volume, and never more than this.
pub const KEEP_BYTES_CAP: u64 = 5 << 30;

/// Why a sync removed a local file.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RemovalDto"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Removal {
    /// The server's file was deleted, so the sync deleted the local copy.
    DeletedOnServer,
    /// A newer version from the server took its place.
    ReplacedByServer,
    /// Its folder was unchosen from the sync and the user let its copy here go.
    NoLongerSynced,
}

impl Removal {
    fn code(self) -> &'static str {
        match self {
            Removal::DeletedOnServer => "deleted",
            Removal::ReplacedByServer => "replaced",
            Removal::NoLongerSynced => "unsynced",
        }
    }

    fn from_code(code: &str) -> Option<Removal> {
        match code {
            "deleted" => Some(Removal::DeletedOnServer),
            "replaced" => Some(Removal::ReplacedByServer),
            "unsynced" => Some(Removal::NoLongerSynced),
            _ => None,
        }
    }

    /// In words, for lists.
    pub fn words(self) -> &'static str {
        match self {
            Removal::DeletedOnServer => "deleted on the server",
            Removal::ReplacedByServer => "replaced by a newer version from the server",
            Removal::NoLongerSynced => "in a folder no longer synced",
        }
    }
}

/// One file in the trash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trashed {
    /// The entry's folder name: what `restore` takes.
    pub id: String,
    /// Where it was, relative to the sync folder.
    pub path: String,
    pub size: u64,
    /// When the sync removed it (seconds since the epoch).
    pub removed_at: u64,
    pub why: Removal,
}

/// Errors of the trash's own commands.
#[derive(Debug, thiserror::Error)]
pub enum TrashError {
    #[error("nothing in the trash of {root} is called {id}")]
    NoSuchEntry { root: String, id: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrashError + '_ {
    move |source| TrashError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Moves `file`, the item `relative` below `root`, into the trash. Blocking. A rename on the
/// same volume; where the trash is on another one (a mount inside the sync folder), the bytes
/// are copied and the file removed, which the log says.
pub fn keep(root: &Path, file: &Path, relative: &str, why: Removal) -> std::io::Result<PathBuf> {
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!("{seconds}-{}-{:08x}", why.code(), fastrand::u32(..));
    let kept = relative
        .split('/')
        .filter(|s| !s.is_empty())
        .fold(root.join(TRASH).join(id), |path, name| path.join(name));
    if let Some(folder) = kept.parent() {
        std::fs::create_dir_all(folder)?;
    }
    match std::fs::rename(file, &kept) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::CrossesDevices => {
            tracing::warn!(path = %relative, "the trash is on another volume: the file is copied there");
            std::fs::copy(file, &kept)?;
            std::fs::remove_file(file)?;
        }
        Err(error) => return Err(error),
    }
    Ok(kept)
}

/// [`keep`] for `file`, which lies below `root`. Blocking.
pub fn keep_below(root: &Path, file: &Path, why: Removal) -> std::io::Result<PathBuf> {
    let relative = file
        .strip_prefix(root)
        .map_err(|_| std::io::Error::other("the file is not in the sync folder"))?
        .to_string_lossy()
        .replace('\\', "/");
    keep(root, file, &relative, why)
}

/// Moves every file below `folder` (relative to `root`) into the trash, one entry each, and
/// removes the folders left empty. Returns how many files went. Blocking.
pub fn keep_folder(root: &Path, folder: &str, why: Removal) -> Result<usize, TrashError> {
    let top = folder
        .split('/')
        .filter(|s| !s.is_empty())
        .fold(root.to_path_buf(), |path, name| path.join(name));
    let (mut files, mut folders) = (Vec::new(), vec![top.clone()]);
    let mut queue = vec![top.clone()];
    while let Some(at) = queue.pop() {
        let entries = match std::fs::read_dir(&at) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && at == top => return Ok(0),
            Err(e) => return Err(io(&at)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(&at))?;
            if entry.file_type().map_err(io(&entry.path()))?.is_dir() {
                queue.push(entry.path());
                folders.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    for file in &files {
        keep_below(root, file, why).map_err(io(file))?;
    }
    folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
    for empty in folders {
        std::fs::remove_dir(&empty).map_err(io(&empty))?;
    }
    Ok(files.len())
}

/// What the trash of the sync folder `root` holds, newest first. Blocking.
pub fn list(root: &Path) -> Result<Vec<Trashed>, TrashError> {
    let trash = root.join(TRASH);
    let entries = match std::fs::read_dir(&trash) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&trash)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(&trash))?;
        let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some((removed_at, why)) = parse_id(&id) else {
            continue;
        };
        if let Some((path, size)) = only_file(&entry.path()).map_err(io(&entry.path()))? {
            found.push(Trashed {
                id,
                path,
                size,
                removed_at,
                why,
            });
        }
    }
    found.sort_by(|a, b| b.removed_at.cmp(&a.removed_at).then(a.path.cmp(&b.path)));
    Ok(found)
}

/// `<seconds>-<why>-<random>`.
fn parse_id(id: &str) -> Option<(u64, Removal)> {
    let mut parts = id.splitn(3, '-');
    let seconds = parts.next()?.parse().ok()?;
    let why = Removal::from_code(parts.next()?)?;
    parts.next()?;
    Some((seconds, why))
}

/// The one file below an entry's folder: its path relative to it, and its size.
fn only_file(folder: &Path) -> std::io::Result<Option<(String, u64)>> {
    let mut at = folder.to_path_buf();
    let mut relative: Vec<String> = Vec::new();
    loop {
        let mut children = std::fs::read_dir(&at)?;
        let Some(child) = children.next().transpose()? else {
            return Ok(None);
        };
        let Some(name) = child.file_name().to_str().map(str::to_owned) else {
            return Ok(None);
        };
        relative.push(name);
        let kind = child.file_type()?;
        if kind.is_dir() {
            at = child.path();
            continue;
        }
        let size = child.metadata()?.len();
        return Ok(Some((relative.join("/"), size)));
    }
}

/// Puts the entry `id` back where it was in `root`, or beside it as `name (restored).ext`
/// when that path is taken (the next sync uploads it as a local change). Returns where it
/// went. Blocking.
pub fn restore(root: &Path, id: &str) -> Result<PathBuf, TrashError> {
    let folder = root.join(TRASH).join(id);
    let missing = || TrashError::NoSuchEntry {
        root: root.display().to_string(),
        id: id.to_owned(),
    };
    if parse_id(id).is_none() || id.contains('/') {
        return Err(missing());
    }
    let (relative, _) = match only_file(&folder) {
        Ok(Some(found)) => found,
        Ok(None) => return Err(missing()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(io(&folder)(e)),
    };
    let kept = folder.join(&relative);
    let home = root.join(&relative);
    let target = free_name(&home);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::rename(&kept, &target).map_err(io(&kept))?;
    std::fs::remove_dir_all(&folder).map_err(io(&folder))?;
    Ok(target)
}

/// `path`, or `name (restored).ext` beside it (numbered from 2) when `path` is taken.
fn free_name(path: &Path) -> PathBuf {
    if std::fs::symlink_metadata(path).is_err() {
        return path.to_path_buf();
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, extension) = match name.rfind('.').filter(|&i| i > 0) {
        Some(i) => name.split_at(i),
        None => (name.as_str(), ""),
    };
    (1..)
        .map(|n| match n {
            1 => path.with_file_name(format!("{stem} (restored){extension}")),
            n => path.with_file_name(format!("{stem} (restored {n}){extension}")),
        })
        .find(|candidate| std::fs::symlink_metadata(candidate).is_err())
        .expect("some number is free")
}

/// Deletes everything in the trash of `root`. Returns how many files went. Blocking.
pub fn empty(root: &Path) -> Result<usize, TrashError> {
    let all = list(root)?;
    for entry in &all {
        let folder = root.join(TRASH).join(&entry.id);
        std::fs::remove_dir_all(&folder).map_err(io(&folder))?;
    }
    Ok(all.len())
}

/// How long and how much a trash keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    pub days: u32,
    pub bytes: u64,
}

impl Keep {
    /// The defaults for a sync folder at `root`: [`KEEP_DAYS`], and a tenth of its volume up
    /// to [`KEEP_BYTES_CAP`].
    pub fn default_for(root: &Path) -> Keep {
        Keep {
            days: KEEP_DAYS,
            bytes: volume_size(root).map_or(KEEP_BYTES_CAP, |size| (size / 10).min(KEEP_BYTES_CAP)),
        }
    }
}

/// A pair's retention as its settings say: `None` takes the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepSetting {
    pub days: Option<u32>,
    pub bytes: Option<u64>,
}

impl KeepSetting {
    /// What it means for the sync folder at `root`. Blocking (the default asks the volume).
    pub fn for_folder(self, root: &Path) -> Keep {
        let defaults = Keep::default_for(root);
        Keep {
            days: self.days.unwrap_or(defaults.days),
            bytes: self.bytes.unwrap_or(defaults.bytes),
        }
    }
}

#[cfg(unix)]
fn volume_size(root: &Path) -> Option<u64> {
    let stats = rustix::fs::statvfs(root).ok()?;
    Some(stats.f_blocks.saturating_mul(stats.f_frsize))
}

#[cfg(not(unix))]
fn volume_size(_: &Path) -> Option<u64> {
    None
}

/// Deletes the entries older than `keep.days` at `now`, then the oldest while the rest hold
/// more than `keep.bytes`. Returns how many went. Blocking; run after a sync, never during.
pub fn purge(root: &Path, keep: Keep, now: SystemTime) -> Result<usize, TrashError> {
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let oldest_kept = now.saturating_sub(u64::from(keep.days) * 24 * 60 * 60);
    // Newest first: what fits is kept, from the newest down.
    let mut held = 0u64;
    let mut gone = 0;
    for entry in list(root)? {
        held = held.saturating_add(entry.size);
        if entry.removed_at < oldest_kept || held > keep.bytes {
            let folder = root.join(TRASH).join(&entry.id);
            std::fs::remove_dir_all(&folder).map_err(io(&folder))?;
            gone += 1;
        }
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_goes_into_the_trash_file_by_file_and_comes_back() {
        let root = tempfile::tempdir().unwrap();
        for (path, data) in [
            ("Old/a.txt", "a"),
            ("Old/Deep/b.txt", "b"),
            ("kept.txt", "k"),
        ] {
            let full = root.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, data).unwrap();
        }
        std::fs::create_dir_all(root.path().join("Old/Empty")).unwrap();
        assert_eq!(
            keep_folder(root.path(), "Old", Removal::NoLongerSynced).unwrap(),
            2
        );
        assert!(!root.path().join("Old").exists());
        assert!(root.path().join("kept.txt").exists());
        let mut listed: Vec<(String, Removal)> = list(root.path())
            .unwrap()
            .into_iter()
            .map(|e| (e.path, e.why))
            .collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            listed,
            [
                ("Old/Deep/b.txt".to_owned(), Removal::NoLongerSynced),
                ("Old/a.txt".to_owned(), Removal::NoLongerSynced)
            ]
        );
        assert_eq!(
            keep_folder(root.path(), "Gone", Removal::NoLongerSynced).unwrap(),
            0
        );
    }

    fn write(root: &Path, relative: &str, data: &[u8]) -> PathBuf {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, data).unwrap();
        path
    }

    #[test]
    fn a_kept_file_is_listed_and_restored_beside_a_file_that_took_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let file = write(root, "Photos/a.jpg", b"old");
        let kept = keep(root, &file, "Photos/a.jpg", Removal::ReplacedByServer).unwrap();
        assert!(!file.exists());
        assert!(kept.starts_with(root.join(TRASH)));
        let listed = list(root).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].path, "Photos/a.jpg");
        assert_eq!(
            (listed[0].size, listed[0].why),
            (3, Removal::ReplacedByServer)
        );

        write(root, "Photos/a.jpg", b"new");
        let back = restore(root, &listed[0].id).unwrap();
        assert_eq!(back, root.join("Photos/a (restored).jpg"));
        assert_eq!(std::fs::read(back).unwrap(), b"old");
        assert_eq!(std::fs::read(root.join("Photos/a.jpg")).unwrap(), b"new");
        assert!(list(root).unwrap().is_empty());
        assert!(matches!(
            restore(root, &listed[0].id),
            Err(TrashError::NoSuchEntry { .. })
        ));
    }

    #[test]
    fn purging_drops_what_is_too_old_then_the_oldest_beyond_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let day = 24 * 60 * 60;
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100 * day);
        // Entries made by hand with their times: 40, 10, 2 and 1 days old, 10 bytes each.
        for (age, name) in [(40, "a"), (10, "b"), (2, "c"), (1, "d")] {
            let id = format!("{}-deleted-0000000{age}", (100 - age) * day);
            write(&root.join(TRASH).join(id), name, &[0u8; 10]);
        }
        let keep = Keep {
            days: 30,
            bytes: 25,
        };
        assert_eq!(purge(root, keep, now).unwrap(), 2);
        let left: Vec<String> = list(root).unwrap().into_iter().map(|e| e.path).collect();
        assert_eq!(left, ["d", "c"]);
        assert_eq!(empty(root).unwrap(), 2);
        assert!(list(root).unwrap().is_empty());
    }
}
