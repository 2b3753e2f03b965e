//! Seeded file trees for tests, and a way to compare two trees.

use std::collections::BTreeMap;
use std::path::Path;

pub use tidesync_demo::content::Seeded;

/// The marker file Tidesync keeps in the root of a synced local folder (the engine's
/// `root::MARKER`); never synced, so never part of a tree compared with the server's.
pub const MARKER: &str = ".tidesync";

/// The trash Tidesync keeps in the root of a synced local folder (the engine's
/// `trash::TRASH`); never synced either.
pub const TRASH: &str = ".tidesync-trash";

/// Whether `name` is one of Tidesync's in-progress files: a download's part file
/// (`.tidesync-part-` and a hash) or an upload's temp name on the server (`.tidesync-up-…`).
pub fn is_in_progress(name: &str) -> bool {
    name.starts_with(".tidesync-part-") || name.starts_with(".tidesync-up-")
}

/// Every file below `root` (relative path with `/` → contents), folders as `path/` → empty;
/// without the root's [`MARKER`] and [`TRASH`] (tests that need them look at them directly),
/// symbolic links and special files.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out.remove(MARKER);
    let trash = format!("{TRASH}/");
    out.retain(|path, _| !path.starts_with(&trash));
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .expect("below root")
            .to_string_lossy()
            .replace('\\', "/");
        // Links are not followed and special files not opened (reading a pipe blocks).
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            out.insert(format!("{relative}/"), Vec::new());
            walk(root, &path, out);
        } else if kind.is_file() {
            out.insert(relative, std::fs::read(&path).unwrap_or_default());
        }
    }
}

/// Writes a seeded tree under `root`: nested folders, unicode names, empty and larger files.
/// Returns the relative paths of the files written.
pub fn write_tree(root: &Path, seed: u64, files: usize) -> Vec<String> {
    let mut rng = Seeded::new(seed);
    let folders = [
        "",
        "docs",
        "docs/été",
        "photos/2024",
        "música/✓ done",
        "deep/a/b/c",
    ];
    let mut written = Vec::new();
    for i in 0..files {
        let folder = folders[(rng.next_u64() % folders.len() as u64) as usize];
        let size = match i % 5 {
            0 => 0,
            1 => 1 + (rng.next_u64() % 100) as usize,
            4 => 64 * 1024 + (rng.next_u64() % (256 * 1024)) as usize,
            _ => 1 + (rng.next_u64() % 8192) as usize,
        };
        let name = format!("file {i} ñ.bin");
        let relative = if folder.is_empty() {
            name
        } else {
            format!("{folder}/{name}")
        };
        let path = root.join(&relative);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create folder");
        std::fs::write(&path, rng.bytes(size)).expect("write file");
        written.push(relative);
    }
    written
}
