//! Renames and moves carried over as moves, not as a delete and a new transfer.
//!
//! A move is recognised only where the identity is clear:
//! - locally, by the file system's identity (the inode, which a rename keeps): an agreed
//!   path gone from the local tree whose inode now stands at a new local path;
//! - on the server, by `oc:fileid` where the server has one (ownCloud, Nextcloud); elsewhere a
//!   file by its ETag and size (Apache and rclone keep both across a `MOVE`), a folder by every
//!   agreed file below it standing at the same place below the new folder with the same ETag.
//!   A candidate that is not the only one is no move.
//!
//! The other side must still hold the item as agreed (a file the same version, a folder still
//! a folder): then the same move is made there (`MOVE` on the server, a rename locally),
//! the journal's agreed state follows it, and the planner sees both sides under the new name.
//! Whatever else changed below a moved folder, on either side, is then planned as usual, so an
//! edit made on the other side under the old name ends up under the new one. A move that
//! fails (the item changed meanwhile, the name is taken) is not tried again in that run: the
//! next pass plans it as a delete and a creation, which loses nothing either.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tidesync_webdav::validator;

use crate::journal::Agreed;
use crate::model::{LocalState, Mode, RemoteState};

/// Where a move was made by the user; it is repeated on the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovedOn {
    /// Renamed locally: a `MOVE` on the server follows.
    Local,
    /// Moved on the server: a rename locally follows.
    Remote,
}

/// One move to repeat on the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub from: String,
    pub to: String,
    pub is_dir: bool,
    pub on: MovedOn,
}

/// The moves both trees show against the journal, outermost first; none inside another (a
/// move below a moved folder shows once the outer one is [applied](apply) to the trees).
/// `refused` holds the sources of moves that failed in this run.
pub fn detect(
    local: &BTreeMap<String, LocalState>,
    remote: &BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
    mode: Mode,
    refused: &BTreeSet<String>,
) -> Vec<Move> {
    let mut found = Vec::new();
    if mode != Mode::Download {
        found.extend(moved_locally(local, remote, agreed, refused));
    }
    if mode != Mode::Upload {
        found.extend(moved_on_server(local, remote, agreed, refused));
    }
    // Outermost first; a move whose source or target lies inside another's waits.
    found.sort_by(|a: &Move, b: &Move| a.from.cmp(&b.from));
    let mut kept: Vec<Move> = Vec::new();
    for candidate in found {
        let nested = kept.iter().any(|m| {
            within(&candidate.from, &m.from)
                || within(&candidate.to, &m.to)
                || within(&candidate.to, &m.from)
                || within(&candidate.from, &m.to)
        });
        if !nested {
            kept.push(candidate);
        }
    }
    kept
}

/// Whether `path` is `folder` or lies below it.
fn within(path: &str, folder: &str) -> bool {
    path == folder
        || path
            .strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn moved_locally(
    local: &BTreeMap<String, LocalState>,
    remote: &BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
    refused: &BTreeSet<String>,
) -> Vec<Move> {
    // New local items by inode; an inode seen twice (hard links) names nothing.
    let mut new: HashMap<u64, Option<(&str, bool)>> = HashMap::new();
    for (path, state) in local {
        if agreed.contains_key(path) || remote.contains_key(path) {
            continue;
        }
        if let Some(inode) = state.inode {
            new.entry(inode)
                .and_modify(|seen| *seen = None)
                .or_insert(Some((path.as_str(), state.is_dir)));
        }
    }
    let mut moves = Vec::new();
    for (from, was) in agreed {
        let Some(inode) = was.local_inode else {
            continue;
        };
        if local.contains_key(from) || refused.contains(from) {
            continue;
        }
        let Some(Some((to, is_dir))) = new.get(&inode).copied() else {
            continue;
        };
        let server_as_agreed = remote
            .get(from)
            .is_some_and(|r| r.is_dir == was.is_dir && (r.is_dir || same_version(r, was)));
        // An inode can be reused by a new item once the old one is deleted, so the content
        // must agree too: a file keeps its size and time, a folder at least one of its files.
        let same_content = if is_dir {
            keeps_a_file(from, to, local, agreed)
        } else {
            local
                .get(to)
                .is_some_and(|l| l.size == was.size && Some(l.mtime) == was.local_mtime)
        };
        if is_dir == was.is_dir && server_as_agreed && same_content {
            moves.push(Move {
                from: from.clone(),
                to: to.to_owned(),
                is_dir,
                on: MovedOn::Local,
            });
        }
    }
    moves
}

/// Whether some agreed file below `from` now stands at the same place below `to` locally,
/// as the same unchanged file (inode, size and time: an inode alone may be reused).
fn keeps_a_file(
    from: &str,
    to: &str,
    local: &BTreeMap<String, LocalState>,
    agreed: &BTreeMap<String, Agreed>,
) -> bool {
    let prefix = format!("{from}/");
    agreed
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .filter(|(_, a)| !a.is_dir && a.local_inode.is_some())
        .any(|(path, a)| {
            let moved = format!("{to}/{}", &path[prefix.len()..]);
            local.get(&moved).is_some_and(|l| {
                !l.is_dir
                    && l.inode == a.local_inode
                    && l.size == a.size
                    && Some(l.mtime) == a.local_mtime
            })
        })
}

fn moved_on_server(
    local: &BTreeMap<String, LocalState>,
    remote: &BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
    refused: &BTreeSet<String>,
) -> Vec<Move> {
    let new: Vec<(&String, &RemoteState)> = remote
        .iter()
        .filter(|(path, _)| !agreed.contains_key(*path) && !local.contains_key(*path))
        .collect();
    let gone: Vec<(&String, &Agreed)> = agreed
        .iter()
        .filter(|(path, _)| !remote.contains_key(*path) && !refused.contains(*path))
        .collect();
    let mut moves = Vec::new();
    for &(from, was) in &gone {
        let local_as_agreed = local.get(from).is_some_and(|l| {
            l.is_dir == was.is_dir
                && (l.is_dir || (l.size == was.size && Some(l.mtime) == was.local_mtime))
        });
        if !local_as_agreed {
            continue;
        }
        let matches: Vec<&String> = new
            .iter()
            .filter(|(to, now)| {
                now.is_dir == was.is_dir && same_item(from, was, to, now, agreed, remote)
            })
            .map(|(to, _)| *to)
            .collect();
        // The same identity must not fit another item that went missing either.
        let rivals = gone
            .iter()
            .filter(|(other, o)| {
                *other != from
                    && o.is_dir == was.is_dir
                    && matches
                        .first()
                        .is_some_and(|to| same_item(other, o, to, &remote[*to], agreed, remote))
            })
            .count();
        if let [to] = matches[..]
            && rivals == 0
        {
            moves.push(Move {
                from: from.clone(),
                to: to.clone(),
                is_dir: was.is_dir,
                on: MovedOn::Remote,
            });
        }
    }
    moves
}

/// Whether the remote item `now` at `to` is the agreed item `was` that was at `from`.
fn same_item(
    from: &str,
    was: &Agreed,
    to: &str,
    now: &RemoteState,
    agreed: &BTreeMap<String, Agreed>,
    remote: &BTreeMap<String, RemoteState>,
) -> bool {
    if let (Some(then), Some(id)) = (&was.file_id, &now.file_id) {
        return then == id;
    }
    if !was.is_dir {
        return was.etag.is_some() && same_version(now, was);
    }
    // A folder without ids: every agreed file below the old place stands at the same place
    // below the new one, as the same version.
    let prefix = format!("{from}/");
    let mut files = agreed
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .filter(|(_, a)| !a.is_dir)
        .peekable();
    if files.peek().is_none() {
        return false;
    }
    files.all(|(path, a)| {
        let moved = format!("{to}/{}", &path[prefix.len()..]);
        a.etag.is_some() && remote.get(&moved).is_some_and(|r| same_version(r, a))
    })
}

/// Whether a remote file is the agreed version (by ETag, else by size and time).
fn same_version(now: &RemoteState, was: &Agreed) -> bool {
    match (&now.etag, &was.etag) {
        (Some(now_tag), Some(then)) => {
            validator::same_version(now_tag, then) && now.size == was.size
        }
        _ => now.size == was.size && now.mtime == was.remote_mtime,
    }
}

/// The trees as they will be once `moves` are made: the side that did not move yet, and the
/// journal, hold each moved item (and everything below it) under its new name.
pub fn apply(
    moves: &[Move],
    local: &mut BTreeMap<String, LocalState>,
    remote: &mut BTreeMap<String, RemoteState>,
    agreed: &mut BTreeMap<String, Agreed>,
) {
    for m in moves {
        match m.on {
            MovedOn::Local => rename_keys(remote, &m.from, &m.to),
            MovedOn::Remote => rename_keys(local, &m.from, &m.to),
        }
        rename_keys(agreed, &m.from, &m.to);
        for (path, state) in agreed.iter_mut() {
            if within(path, &m.to) {
                state.path = path.clone();
            }
        }
    }
}

fn rename_keys<T>(tree: &mut BTreeMap<String, T>, from: &str, to: &str) {
    let moved: Vec<String> = tree.keys().filter(|p| within(p, from)).cloned().collect();
    for old in moved {
        let value = tree.remove(&old).expect("listed just above");
        tree.insert(format!("{to}{}", &old[from.len()..]), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64, inode: u64) -> LocalState {
        LocalState {
            is_dir: false,
            size,
            mtime: 7,
            inode: Some(inode),
            ctime: None,
        }
    }

    fn rfile(size: u64, etag: &str) -> RemoteState {
        RemoteState {
            is_dir: false,
            size,
            etag: Some(etag.into()),
            mtime: Some(1),
            checksums: Vec::new(),
            file_id: None,
        }
    }

    fn agreed(path: &str, size: u64, inode: u64, etag: &str) -> (String, Agreed) {
        (
            path.to_owned(),
            Agreed {
                path: path.into(),
                is_dir: false,
                size,
                local_mtime: Some(7),
                etag: Some(etag.into()),
                remote_mtime: Some(1),
                local_inode: Some(inode),
                file_id: None,
            },
        )
    }

    #[test]
    fn a_local_rename_is_found_by_its_inode() {
        let agreed: BTreeMap<_, _> = [agreed("a.txt", 3, 11, "\"e1\"")].into();
        let local: BTreeMap<_, _> = [("b.txt".to_owned(), file(3, 11))].into();
        let remote: BTreeMap<_, _> = [("a.txt".to_owned(), rfile(3, "\"e1\""))].into();
        let moves = detect(&local, &remote, &agreed, Mode::TwoWay, &BTreeSet::new());
        assert_eq!(
            moves,
            [Move {
                from: "a.txt".into(),
                to: "b.txt".into(),
                is_dir: false,
                on: MovedOn::Local
            }]
        );
        // Not when the server's copy changed meanwhile, nor once refused, nor in download mode.
        let edited: BTreeMap<_, _> = [("a.txt".to_owned(), rfile(4, "\"e2\""))].into();
        assert!(detect(&local, &edited, &agreed, Mode::TwoWay, &BTreeSet::new()).is_empty());
        let refused: BTreeSet<_> = ["a.txt".to_owned()].into();
        assert!(detect(&local, &remote, &agreed, Mode::TwoWay, &refused).is_empty());
        assert!(detect(&local, &remote, &agreed, Mode::Download, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn a_move_on_the_server_needs_an_identity_no_other_item_shares() {
        let agreed: BTreeMap<_, _> = [
            agreed("a.txt", 3, 11, "\"same\""),
            agreed("b.txt", 3, 12, "\"other\""),
        ]
        .into();
        let local: BTreeMap<_, _> = [
            ("a.txt".to_owned(), file(3, 11)),
            ("b.txt".to_owned(), file(3, 12)),
        ]
        .into();
        let remote: BTreeMap<_, _> = [
            ("b.txt".to_owned(), rfile(3, "\"other\"")),
            ("c.txt".to_owned(), rfile(3, "\"same\"")),
        ]
        .into();
        let moves = detect(&local, &remote, &agreed, Mode::TwoWay, &BTreeSet::new());
        assert_eq!(
            moves,
            [Move {
                from: "a.txt".into(),
                to: "c.txt".into(),
                is_dir: false,
                on: MovedOn::Remote
            }]
        );
        // Two new files with the same tag: no telling which one it is.
        let mut twice = remote.clone();
        twice.insert("d.txt".into(), rfile(3, "\"same\""));
        assert!(detect(&local, &twice, &agreed, Mode::TwoWay, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn a_server_with_file_ids_is_believed_over_tags() {
        let (path, mut was) = agreed("a.txt", 3, 11, "\"e1\"");
        was.file_id = Some("00000042ocabc".into());
        let agreed: BTreeMap<_, _> = [(path, was)].into();
        let local: BTreeMap<_, _> = [("a.txt".to_owned(), file(3, 11))].into();
        let moved = |id: &str, etag: &str| RemoteState {
            file_id: Some(id.into()),
            ..rfile(3, etag)
        };
        // Same id, even with a new ETag (Nextcloud may give a moved file one): a move.
        let remote: BTreeMap<_, _> =
            [("b.txt".to_owned(), moved("00000042ocabc", "\"e9\""))].into();
        let moves = detect(&local, &remote, &agreed, Mode::TwoWay, &BTreeSet::new());
        assert_eq!(moves.len(), 1, "{moves:?}");
        assert_eq!(
            (moves[0].to.as_str(), moves[0].on),
            ("b.txt", MovedOn::Remote)
        );
        // Another id, even with the same ETag: another file.
        let other: BTreeMap<_, _> = [("b.txt".to_owned(), moved("00000043ocabc", "\"e1\""))].into();
        assert!(detect(&local, &other, &agreed, Mode::TwoWay, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn applying_a_folder_move_renames_everything_below_it() {
        let mut agreed: BTreeMap<_, _> = [agreed("d/x", 1, 1, "\"x\"")].into();
        let mut local = BTreeMap::new();
        let mut remote: BTreeMap<_, _> = [("d/x".to_owned(), rfile(1, "\"x\""))].into();
        let moves = [Move {
            from: "d".into(),
            to: "e".into(),
            is_dir: true,
            on: MovedOn::Local,
        }];
        apply(&moves, &mut local, &mut remote, &mut agreed);
        assert_eq!(remote.keys().collect::<Vec<_>>(), ["e/x"]);
        assert_eq!(agreed["e/x"].path, "e/x");
    }
}
