//! The server's tree between runs, on servers whose folder ETags follow every change below
//! them: a run's listing takes each folder whose ETag is the one recorded from the journal
//! instead of asking (see `tidesync_webdav::Client::list_pruned`), and writes back only what
//! the listing changed. On a server with nothing new, a run's listing is one request.
//!
//! Only a listing whose root carries an `oc:fileid` is recorded (the servers the client trusts
//! to propagate ETags), and only one that rejected nothing: an entry the client could not
//! read must be seen again by every run.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Mutex, PoisonError};

use tidesync_webdav::validator::same_version;
use tidesync_webdav::{Entry, EntryKind, Listing};

use super::Context;
use super::error::RunError;
use crate::journal::ListedChanges;

/// The tree the journal recorded, as a listing takes from it.
#[derive(Debug, Default)]
pub(super) struct Record {
    /// Recorded entries the listing has not taken, ordered by path.
    entries: Mutex<BTreeSet<ByPath>>,
    /// Folders whose contents came from the record: nothing below them changed.
    kept: Mutex<HashSet<String>>,
}

/// An entry ordered and looked up by its path, which it holds already: a set of these is a
/// map by path without a second copy of every path.
#[derive(Debug)]
struct ByPath(Entry);

impl ByPath {
    fn path(&self) -> &str {
        self.0.path.as_str()
    }
}

impl PartialEq for ByPath {
    fn eq(&self, other: &Self) -> bool {
        self.path() == other.path()
    }
}

impl Eq for ByPath {}

impl PartialOrd for ByPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.path().cmp(other.path())
    }
}

impl Borrow<str> for ByPath {
    fn borrow(&self) -> &str {
        self.path()
    }
}

impl Record {
    /// What the journal recorded of `ctx`'s pair; empty where the server's folder ETags are
    /// not trusted or nothing could be read (then everything is listed).
    pub(super) async fn load(ctx: &Context) -> Record {
        let hints = ctx.client.hints();
        if hints.owncloud_properties == Some(false) || hints.folder_etags_follow == Some(false) {
            return Record::default();
        }
        let pair = ctx.pair;
        let read = ctx.journal.call(move |j| {
            let mut entries = BTreeSet::new();
            j.each_listed(pair, |entry| {
                entries.insert(ByPath(entry));
            })?;
            Ok(entries)
        });
        match read.await {
            Ok(entries) => Record {
                entries: Mutex::new(entries),
                kept: Mutex::default(),
            },
            Err(error) => {
                tracing::warn!(%error, "the recorded server tree could not be read; listing all");
                Record::default()
            }
        }
    }

    #[cfg(test)]
    fn new(entries: Vec<Entry>) -> Record {
        Record {
            entries: Mutex::new(entries.into_iter().map(ByPath).collect()),
            kept: Mutex::default(),
        }
    }

    /// Everything recorded below `folder` (as just listed) if its ETag is the recorded one;
    /// `None` when it must be listed.
    pub(super) fn below(&self, folder: &Entry) -> Option<Vec<Entry>> {
        let etag = folder.etag.as_deref()?;
        let path = folder.path.as_str();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let known = &entries.get(path)?.0;
        let same = known.kind == EntryKind::Folder
            && known.etag.as_deref().is_some_and(|k| same_version(k, etag));
        if !same {
            return None;
        }
        let below = take_below(&mut entries, path);
        drop(entries);
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_owned());
        Some(below)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// What `listing` changes in the record: entries it listed that are new or differ, and
    /// recorded paths it no longer holds. Entries below a folder taken from the record are
    /// the record's own.
    fn changes(self, listing: &Listing) -> ListedChanges {
        let mut left = self
            .entries
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let kept = self
            .kept
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let mut changes = ListedChanges::default();
        for (index, entry) in listing.entries.iter().enumerate() {
            let path = entry.path.as_str();
            if is_below_any(path, &kept) {
                continue;
            }
            match left.take(path) {
                Some(known) if known.0 == *entry => {}
                _ => changes.changed.push(index),
            }
        }
        changes.gone = left
            .into_iter()
            .map(|e| e.0.path.as_str().to_owned())
            .collect();
        changes
    }
}

/// Keeps what `listing` shows in the journal for the next run, and hands it back. A listing
/// the record must not be made from (see the module's doc) forgets the record instead.
pub(super) async fn keep(
    ctx: &Context,
    record: Record,
    listing: Listing,
) -> Result<Listing, RunError> {
    let pair = ctx.pair;
    let trusted = listing.rejected.is_empty()
        && ctx.client.hints().folder_etags_follow != Some(false)
        && listing
            .entries
            .iter()
            .find(|e| e.path.is_root())
            .is_some_and(|root| root.file_id.is_some() && root.etag.is_some());
    if !trusted {
        if !record.is_empty() {
            ctx.journal.call(move |j| j.forget_listed(pair)).await?;
        }
        return Ok(listing);
    }
    // Comparing a large tree is CPU work: it runs on the journal's blocking thread, beside
    // the write it decides.
    let listing = ctx
        .journal
        .call(move |j| {
            let changes = record.changes(&listing);
            if !changes.gone.is_empty() || !changes.changed.is_empty() {
                j.update_listed(pair, &listing.entries, &changes)?;
            }
            Ok(listing)
        })
        .await?;
    Ok(listing)
}

/// Takes every entry strictly below `folder` out of `entries`, in a vector with room for one
/// more: the listing adds the folder itself, and a whole tree is not moved to grow it.
fn take_below(entries: &mut BTreeSet<ByPath>, folder: &str) -> Vec<Entry> {
    let below = if folder.is_empty() {
        let root = entries.take(folder);
        let below = std::mem::take(entries);
        entries.extend(root);
        below
    } else {
        // Paths below `folder` sort from `folder/` up to `folder0` ('0' follows '/').
        let mut below = entries.split_off(format!("{folder}/").as_str());
        let mut after = below.split_off(format!("{folder}0").as_str());
        entries.append(&mut after);
        below
    };
    let mut taken = Vec::with_capacity(below.len() + 1);
    taken.extend(below.into_iter().map(|e| e.0));
    taken
}

/// Whether `path` lies strictly below one of `folders` (the root, `""`, holds every other
/// path).
fn is_below_any(path: &str, folders: &HashSet<String>) -> bool {
    if path.is_empty() {
        return false;
    }
    if folders.contains("") {
        return true;
    }
    path.match_indices('/')
        .any(|(at, _)| folders.contains(&path[..at]))
}

#[cfg(test)]
mod tests {
    use tidesync_webdav::RemotePath;

    use super::*;

    fn entry(path: &str, kind: EntryKind, etag: &str) -> Entry {
        Entry {
            path: RemotePath::parse(path).unwrap(),
            kind,
            size: 0,
            etag: Some(etag.to_owned()),
            modified: None,
            checksums: Vec::new(),
            file_id: Some(format!("id-{path}")),
            permissions: None,
            used_bytes: None,
        }
    }

    fn folder(path: &str, etag: &str) -> Entry {
        entry(path, EntryKind::Folder, etag)
    }

    fn file(path: &str, etag: &str) -> Entry {
        entry(path, EntryKind::File, etag)
    }

    fn paths(entries: &[Entry]) -> Vec<&str> {
        let mut paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        paths
    }

    fn recorded() -> Vec<Entry> {
        vec![
            folder("", "r1"),
            folder("a", "a1"),
            file("a/x", "x1"),
            folder("a/b", "b1"),
            file("a/b/y", "y1"),
            // Sorts between `a` and `a/`: not below `a`.
            file("a-z", "z1"),
            folder("c", "c1"),
        ]
    }

    #[test]
    fn a_folder_with_its_recorded_etag_gives_exactly_what_lies_below_it() {
        let record = Record::new(recorded());
        let below = record.below(&folder("a", "a1")).unwrap();
        assert_eq!(paths(&below), ["a/b", "a/b/y", "a/x"]);
        assert!(
            record.below(&folder("c", "c2")).is_none(),
            "another ETag is listed"
        );
        assert!(
            record.below(&folder("new", "n1")).is_none(),
            "so is a folder never seen"
        );
        assert!(
            record.below(&file("a-z", "z1")).is_none(),
            "a file has nothing below it"
        );
    }

    #[test]
    fn an_unchanged_root_gives_the_whole_tree_and_changes_nothing() {
        let record = Record::new(recorded());
        let root = folder("", "r1");
        let mut listing = Listing {
            entries: vec![root.clone()],
            rejected: Vec::new(),
        };
        listing.entries.extend(record.below(&root).unwrap());
        assert_eq!(paths(&listing.entries), paths(&recorded()));
        let changes = record.changes(&listing);
        assert!(
            changes.gone.is_empty() && changes.changed.is_empty(),
            "{changes:?}"
        );
    }

    #[test]
    fn a_walk_writes_what_changed_and_forgets_what_went() {
        let record = Record::new(recorded());
        // The root and `a` changed; `a/b` did not; `a/x` was replaced, `c` deleted, `d` added.
        let mut listing = Listing {
            entries: vec![
                folder("", "r2"),
                folder("a", "a2"),
                file("a/x", "x2"),
                folder("a/b", "b1"),
                file("a-z", "z1"),
                folder("d", "d1"),
            ],
            rejected: Vec::new(),
        };
        for entry in listing.entries.clone() {
            if entry.kind == EntryKind::Folder
                && let Some(below) = record.below(&entry)
            {
                listing.entries.extend(below);
            }
        }
        assert!(
            paths(&listing.entries).contains(&"a/b/y"),
            "taken from the record"
        );
        let changes = record.changes(&listing);
        let changed: Vec<&str> = changes
            .changed
            .iter()
            .map(|&i| listing.entries[i].path.as_str())
            .collect();
        assert_eq!(changed, ["", "a", "a/x", "d"]);
        assert_eq!(changes.gone, ["c"]);
    }
}
