//! Names on a case-insensitive volume (FAT and exFAT cards, Android's shared storage, macOS,
//! Windows), which holds one item per name whatever its letter case.
//!
//! Two rules, applied where the survey's probe found such a volume:
//! - **Twins on the server** (`Report.txt` and `report.txt` in one folder) cannot both be
//!   files here. One keeps its name (the one synced with the local item of that name, else
//!   the one spelled as that item, else one synced before, else the first in byte order); each other one is synced with a local copy of its own, named
//!   `report (case conflict).txt`, which stays paired with it: edits go both ways, a delete on
//!   either side deletes the other, and nothing is written over its twin or loops. Twins in
//!   two Unicode forms (`café` composed and decomposed) are kept apart so on every volume:
//!   the survey matches names in NFC, so the local side holds one item per NFC form.
//! - **One item, two spellings**: a local name that differs from a server name only in case is
//!   that item, where neither spelling was synced before (a folder made on both sides before
//!   the first sync). A spelling the journal knows is left to move detection instead, so a
//!   rename that changes only the case is carried over as a move (`moves.rs`, `carry.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::shared::is_below;
use crate::journal::Agreed;
use crate::model::{FileError, LocalState, RemoteState};
use crate::names::{fold_case, fold_name, nfc};

/// What the survey learnt about the server's twins.
#[derive(Debug, Default)]
pub(super) struct Twins {
    /// A twin's key → its copy's path locally (folders above already as the local side spells
    /// them), for `Context::local_path`.
    pub(super) copies: HashMap<String, String>,
    /// The copy's name under its folder's key → the twin's key, so the scan's copy is the
    /// twin's item (see `unicode::match_names`).
    pub(super) known: HashMap<String, String>,
    /// The local item under a twin group's own name → the key of the twin it syncs with,
    /// whatever its spelling.
    pub(super) pinned: HashMap<String, String>,
    /// One message per twin, naming its copy.
    pub(super) reports: Vec<FileError>,
}

/// Finds the server's twins, folder by folder, and names a local copy for each one that does
/// not keep its name. `local` is the scan (its paths as the local side spells them). Names written
/// in two Unicode forms are twins on every volume (the survey matches names in NFC, so the
/// local side holds one item per NFC form); names differing in case only where `case_insensitive`.
pub(super) fn twins(
    remote: &BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
    local: &BTreeMap<String, LocalState>,
    case_insensitive: bool,
) -> Twins {
    let same = |name: &str| match case_insensitive {
        true => fold_case(name),
        false => nfc(name).into_owned(),
    };
    let mut siblings: BTreeMap<&str, BTreeMap<String, Vec<&str>>> = BTreeMap::new();
    for path in remote.keys() {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        siblings
            .entry(parent)
            .or_default()
            .entry(same(name))
            .or_default()
            .push(path);
    }
    let mut twins = Twins::default();
    // Parents sort before their children: a folder's copy is known before its contents'.
    for (parent, groups) in &siblings {
        if groups.values().all(|g| g.len() < 2) {
            continue;
        }
        let taken: HashSet<&String> = groups.keys().collect();
        let mut named: HashSet<String> = HashSet::new();
        let folder_here = super::context::spelled(&twins.copies, parent);
        let spelled_here = |name: &str| match folder_here.is_empty() {
            true => name.to_owned(),
            false => format!("{folder_here}/{name}"),
        };
        // The local items in this folder: by name as compared here, and their inodes.
        let mut here: HashMap<String, (&String, Option<u64>)> = HashMap::new();
        let mut inodes_here: HashSet<u64> = HashSet::new();
        for (path, state) in local {
            let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
            if folder == folder_here {
                here.insert(same(name), (path, state.inode));
                inodes_here.extend(state.inode);
            }
        }
        let name_of = |path: &str| path.rsplit_once('/').map_or(path, |(_, n)| n).to_owned();
        // The inode of the local item a twin was synced with: its own agreement's, or that
        // of the agreed item it is the move of (renamed on the server since).
        let synced_inode = |twin: &str| {
            agreed.get(twin).and_then(|a| a.local_inode).or_else(|| {
                let now = remote.get(twin)?;
                agreed
                    .values()
                    .find(|a| !remote.contains_key(&a.path) && is_move_of(now, a))
                    .and_then(|a| a.local_inode)
            })
        };
        for (compared, group) in groups.iter().filter(|(_, g)| g.len() > 1) {
            // The local item under the group's name belongs to the twin synced with it (its
            // inode), else to the twin spelled as it is; a twin synced with another item here
            // (its copy) stays a copy, so the keeper never changes hands.
            let plain = here.get(compared);
            let by_inode = plain.and_then(|(_, inode)| {
                let inode = (*inode)?;
                group.iter().find(|t| synced_inode(t) == Some(inode))
            });
            let by_spelling =
                plain.and_then(|(path, _)| group.iter().find(|t| name_of(t) == name_of(path)));
            let owns_copy = |twin: &str| {
                synced_inode(twin).is_some_and(|inode| {
                    inodes_here.contains(&inode) && plain.and_then(|p| p.1) != Some(inode)
                })
            };
            let keeper = by_inode
                .or(by_spelling)
                .or_else(|| {
                    group
                        .iter()
                        .find(|t| agreed.contains_key(**t) && !owns_copy(t))
                })
                .or_else(|| group.iter().find(|t| !owns_copy(t)))
                .unwrap_or(&group[0]);
            if let Some((path, _)) = plain {
                twins.pinned.insert((*path).clone(), (*keeper).to_owned());
            }
            let keeper_name = keeper.rsplit_once('/').map_or(*keeper, |(_, n)| n);
            for twin in group.iter().filter(|p| *p != keeper) {
                let name = twin.rsplit_once('/').map_or(*twin, |(_, n)| n);
                let in_case = nfc(name) != nfc(keeper_name);
                let copy = copy_name(name, in_case, |candidate| {
                    let same = same(candidate);
                    taken.contains(&same) || named.contains(&same)
                });
                named.insert(same(&copy));
                let copy_here = spelled_here(&copy);
                let under_key = match parent.is_empty() {
                    true => copy.clone(),
                    false => format!("{parent}/{copy}"),
                };
                twins
                    .known
                    .insert(nfc(&under_key).into_owned(), (*twin).to_owned());
                let why = match in_case {
                    true => "this folder's file system does not tell names apart by letter case",
                    false => "the two names are the same text in two Unicode forms",
                };
                twins.reports.push(FileError {
                    path: (*twin).to_owned(),
                    message: format!(
                        "synced as `{copy_here}`: the server also has `{keeper}`, and {why}; \
                         rename one of them on the server to sync both under their own names"
                    ),
                });
                twins.copies.insert((*twin).to_owned(), copy_here);
            }
        }
    }
    twins
}

/// The journal's agreement on a twin whose copy is not here says nothing of that
/// copy (it was synced under its own name, on a volume that told names apart): forgotten, so
/// the copy is fetched, and the server's file never deleted for its absence.
pub(super) fn forget_absent_copies(
    twins: &Twins,
    local: &BTreeMap<String, LocalState>,
    agreed: &mut BTreeMap<String, Agreed>,
) {
    let present: HashSet<&str> = local.keys().map(String::as_str).collect();
    let absent: Vec<&String> = twins
        .copies
        .iter()
        .filter(|(_, spelled_here)| !present.contains(spelled_here.as_str()))
        .map(|(key, _)| key)
        .collect();
    if !absent.is_empty() {
        agreed.retain(|path, _| !absent.iter().any(|t| path == *t || is_below(path, t)));
    }
}

/// On a case-insensitive volume, the server names a local name in other case may be.
#[derive(Debug, Default)]
pub(crate) struct CaseMatch {
    /// Server names by [`fold_name`]: names the journal never agreed on; agreed names
    /// the server changed since (a case rename locally is a move only where the server's
    /// item is as agreed; otherwise the local item under its new spelling is still that
    /// item, and takes the server's version); and the twins' copies (a copy renamed in case is
    /// still the copy). An agreed name the server kept is left to move detection.
    pub(crate) by_fold: HashMap<String, String>,
    /// Agreed names gone from the server where a name in other case stands that will not be
    /// carried over as their move (another version or file id, or the local item changed
    /// too): the local item of the agreed name is that one, whose version the plan compares,
    /// instead of a download landing on it.
    pub(crate) released: HashSet<String>,
}

/// What [`CaseMatch`] says for this survey (`local`: the scan).
pub(super) fn case_match(
    remote: &BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
    local: &BTreeMap<String, LocalState>,
    twins: &Twins,
) -> CaseMatch {
    let by_fold: HashMap<String, String> = remote
        .iter()
        .filter(|(path, state)| {
            !twins.copies.contains_key(*path)
                && agreed
                    .get(*path)
                    .is_none_or(|a| crate::plan::differs_remotely(Some(state), Some(a)))
        })
        .map(|(path, _)| (fold_name(path), path.clone()))
        .chain(
            twins
                .known
                .iter()
                .map(|(copy, twin)| (fold_name(copy), twin.clone())),
        )
        .collect();
    let released = agreed
        .values()
        .filter(|a| !a.is_dir && !remote.contains_key(&a.path))
        .filter(|a| {
            by_fold
                .get(&fold_name(&a.path))
                .and_then(|now| remote.get(now))
                .is_some_and(|now| {
                    !is_move_of(now, a) || crate::plan::differs_locally(local.get(&a.path), Some(a))
                })
        })
        .map(|a| a.path.clone())
        .collect();
    CaseMatch { by_fold, released }
}

/// Whether the server's `now` is the agreed `then`, moved (as `moves.rs` tells a move).
fn is_move_of(now: &RemoteState, then: &Agreed) -> bool {
    match (&now.file_id, &then.file_id) {
        (Some(now), Some(then)) => now == then,
        _ => match (&now.etag, &then.etag) {
            (Some(now_tag), Some(then_tag)) => {
                tidesync_webdav::validator::same_version(now_tag, then_tag) && now.size == then.size
            }
            _ => false,
        },
    }
}

/// `name (case conflict).ext` (`Unicode conflict` for twins in two Unicode forms), numbered
/// from 2 while `taken` says the name is in use.
fn copy_name(name: &str, in_case: bool, taken: impl Fn(&str) -> bool) -> String {
    let (stem, extension) = match name.rfind('.').filter(|&i| i > 0) {
        Some(i) => name.split_at(i),
        None => (name, ""),
    };
    let kind = match in_case {
        true => "case",
        false => "Unicode",
    };
    (1..)
        .map(|n| match n {
            1 => format!("{stem} ({kind} conflict){extension}"),
            n => format!("{stem} ({kind} conflict {n}){extension}"),
        })
        .find(|candidate| !taken(candidate))
        .expect("some number is free")
}

#[cfg(test)]
mod tests {
    use super::super::unicode::tests::remote;
    use super::*;

    fn agreed(paths: &[&str]) -> BTreeMap<String, Agreed> {
        paths
            .iter()
            .map(|p| {
                let a = Agreed {
                    path: (*p).to_owned(),
                    is_dir: false,
                    size: 0,
                    local_mtime: None,
                    local_inode: None,
                    file_id: None,
                    etag: None,
                    remote_mtime: None,
                };
                ((*p).to_owned(), a)
            })
            .collect()
    }

    #[test]
    fn twins_get_numbered_copies_and_a_twin_folder_carries_its_contents() {
        let remote = remote(&[
            "Docs",
            "Docs/a.txt",
            "Docs/A.txt",
            "docs",
            "docs/a.txt",
            "docs/A.txt",
            "notes.txt",
            "NOTES.txt",
            "Notes.txt",
            "notes (case conflict).txt",
        ]);
        let found = twins(&remote, &agreed(&["notes.txt"]), &BTreeMap::new(), true);
        let copies: BTreeMap<&str, &str> = found
            .copies
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            copies,
            BTreeMap::from([
                ("Docs/a.txt", "Docs/a (case conflict).txt"),
                ("NOTES.txt", "NOTES (case conflict 2).txt"),
                ("Notes.txt", "Notes (case conflict 3).txt"),
                ("docs", "docs (case conflict)"),
                ("docs/a.txt", "docs (case conflict)/a (case conflict).txt"),
            ])
        );
        assert_eq!(
            found
                .known
                .get("docs/a (case conflict).txt")
                .map(String::as_str),
            Some("docs/a.txt")
        );
        assert_eq!(found.reports.len(), 5);
    }

    #[test]
    fn the_local_twin_keeps_its_name_and_an_absent_copy_is_not_agreed() {
        let remote = remote(&["a.txt", "A.txt"]);
        let local: BTreeMap<String, LocalState> = [(
            "a.txt".to_owned(),
            LocalState {
                is_dir: false,
                size: 0,
                mtime: 0,
                inode: None,
                ctime: None,
            },
        )]
        .into();
        let found = twins(&remote, &BTreeMap::new(), &local, true);
        assert_eq!(found.copies.keys().collect::<Vec<_>>(), ["A.txt"]);
        // Both synced before, on a volume that told them apart: the local one stays,
        // the other is fetched into its copy, never deleted from the server.
        let mut agreed = agreed(&["a.txt", "A.txt"]);
        let found = twins(&remote, &agreed, &local, true);
        assert_eq!(found.copies.keys().collect::<Vec<_>>(), ["A.txt"]);
        forget_absent_copies(&found, &local, &mut agreed);
        assert_eq!(agreed.keys().collect::<Vec<_>>(), ["a.txt"]);
    }

    #[test]
    fn on_a_case_sensitive_volume_only_unicode_twins_get_copies() {
        let remote = remote(&["caf\u{e9}.txt", "cafe\u{301}.txt", "a.txt", "A.txt"]);
        let found = twins(&remote, &BTreeMap::new(), &BTreeMap::new(), false);
        assert_eq!(
            found.copies,
            HashMap::from([(
                "caf\u{e9}.txt".to_owned(),
                "caf\u{e9} (Unicode conflict).txt".to_owned()
            )])
        );
        assert!(found.reports[0].message.contains("two Unicode forms"));
    }
}
