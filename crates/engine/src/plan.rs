//! Deciding what to do: a pure function of the local tree, the remote tree, the journal's last
//! agreed state and the mode. No I/O here, so every rule is tested with plain tables.
//! The rules are written out in `docs/SYNC-RULES.md`; in short:
//!
//! Each side is compared with the journal: a local file changed when its size or modification
//! time differ from what was agreed; a remote file changed when its ETag names another version
//! (size and modification time where the server has no ETags). Then, per path:
//! - only one side changed: that side's change is carried over;
//! - both changed: a modification beats a delete; two folders agree; two files become a
//!   conflict (the server's version keeps the name, the local one is kept under a conflict
//!   name, unless both turn out identical).
//!
//! Then across the tree: a folder deleted on one side is kept while anything below it survives
//! on the other (and made again on the deleting side); nothing is made below a path whose kind
//! changes until the change has landed (the next pass). A plan that would delete more files on
//! one side than its [`DeleteLimit`] allows is refused.

use std::collections::{BTreeMap, BTreeSet};

use tidesync_webdav::validator;

use crate::journal::Agreed;
use crate::model::{LocalState, Mode, RemoteState};

/// One step of a plan. Paths are relative to the pair's folders, with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make the local folder.
    MkdirLocal {
        path: String,
    },
    /// Make the remote folder.
    MkdirRemote {
        path: String,
    },
    /// Fetch the remote file over the local path (absent, or unchanged since agreed).
    Download {
        path: String,
    },
    /// Send the local file over the remote path (absent, or unchanged since agreed).
    Upload {
        path: String,
    },
    /// Both sides changed: keep the server's version under the name and the local one
    /// under a conflict name, unless both are the same bytes.
    Conflict {
        path: String,
    },
    /// Both sides already agree (e.g. the same folder made on both): just record it.
    Agree {
        path: String,
    },
    /// Gone on both sides: forget it.
    Forget {
        path: String,
    },
    DeleteLocal {
        path: String,
        is_dir: bool,
    },
    DeleteRemote {
        path: String,
        is_dir: bool,
    },
}

impl Action {
    /// The action's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Action::MkdirLocal { .. } => "mkdir-local",
            Action::MkdirRemote { .. } => "mkdir-remote",
            Action::Download { .. } => "download",
            Action::Upload { .. } => "upload",
            Action::Conflict { .. } => "conflict",
            Action::Agree { .. } => "agree",
            Action::Forget { .. } => "forget",
            Action::DeleteLocal { .. } => "delete-local",
            Action::DeleteRemote { .. } => "delete-remote",
        }
    }

    pub fn path(&self) -> &str {
        match self {
            Action::MkdirLocal { path }
            | Action::MkdirRemote { path }
            | Action::Download { path }
            | Action::Upload { path }
            | Action::Conflict { path }
            | Action::Agree { path }
            | Action::Forget { path }
            | Action::DeleteLocal { path, .. }
            | Action::DeleteRemote { path, .. } => path,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Action::MkdirLocal { .. } | Action::MkdirRemote { .. } | Action::Agree { .. } => 0,
            Action::Download { .. } | Action::Upload { .. } | Action::Conflict { .. } => 1,
            Action::DeleteLocal { .. } | Action::DeleteRemote { .. } | Action::Forget { .. } => 2,
        }
    }
}

/// What to do, in the order to do it: folders first (parents before children), then
/// transfers, then deletes (children before parents).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// Some paths wait for a further pass: they lie below a path whose kind changes (a file
    /// replacing a folder or the other way round, or a conflict involving a folder), which
    /// must land before anything can be made inside it.
    pub deferred: bool,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Actions that change something on either side (not just journal bookkeeping).
    pub fn changes(&self) -> impl Iterator<Item = &Action> {
        self.actions
            .iter()
            .filter(|a| !matches!(a, Action::Agree { .. } | Action::Forget { .. }))
    }
}

/// Why a plan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "this sync would delete {deletes} of the {files} synced files on {side}, more than the \
         {allowed} it may delete at once; that looks like a mistake (a server that lost a \
         folder, a wrong folder, an unmounted disk), so nothing was deleted"
    )]
    MassDelete {
        side: DeleteSide,
        deletes: usize,
        files: usize,
        allowed: usize,
        /// The files it would have deleted, with their sizes, for the user to decide on.
        paths: Vec<(String, u64)>,
    },
}

/// The side a guarded delete would remove files from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteSide {
    Phone,
    Server,
}

impl std::fmt::Display for DeleteSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeleteSide::Phone => "this device",
            DeleteSide::Server => "the server",
        })
    }
}

/// How many files one sync may delete on one side: the larger of `files` and `percent` % of
/// the pair's synced files (like rclone's `--max-delete` and bisync's percentage check). A
/// folder's delete counts every file in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteLimit {
    pub files: usize,
    pub percent: u32,
}

impl Default for DeleteLimit {
    /// 50 files or 30 %, whichever is more.
    fn default() -> Self {
        DeleteLimit {
            files: 50,
            percent: 30,
        }
    }
}

impl DeleteLimit {
    /// The most files one side of a pair with `synced` files may lose in one sync.
    pub fn allowed(self, synced: usize) -> usize {
        let share = synced.saturating_mul(self.percent as usize) / 100;
        self.files.max(share)
    }
}

/// Decides what to do for every path known to either side or to the journal, and refuses a
/// plan that deletes more files on one side than `limit` allows.
pub fn plan(
    local: &BTreeMap<String, LocalState>,
    remote: &BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
    mode: Mode,
    limit: DeleteLimit,
) -> Result<Plan, PlanError> {
    let plan = plan_unguarded(local, remote, agreed, mode);
    let files = agreed.values().filter(|a| !a.is_dir).count();
    let allowed = limit.allowed(files);
    for side in [DeleteSide::Phone, DeleteSide::Server] {
        let paths: Vec<(String, u64)> = plan
            .actions
            .iter()
            .filter_map(|a| match (a, side) {
                (Action::DeleteLocal { path, is_dir }, DeleteSide::Phone) if !is_dir => {
                    Some((path.clone(), local.get(path).map_or(0, |l| l.size)))
                }
                (Action::DeleteRemote { path, is_dir }, DeleteSide::Server) if !is_dir => {
                    Some((path.clone(), remote.get(path).map_or(0, |r| r.size)))
                }
                _ => None,
            })
            .collect();
        if paths.len() > allowed {
            return Err(PlanError::MassDelete {
                side,
                deletes: paths.len(),
                files,
                allowed,
                paths,
            });
        }
    }
    Ok(plan)
}

/// [`plan`] without the mass-delete guard, for a caller that turned the guard off.
pub fn plan_unguarded(
    local: &BTreeMap<String, LocalState>,
    remote: &BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
    mode: Mode,
) -> Plan {
    let mut decided: BTreeMap<&str, Action> = BTreeMap::new();
    for (path, here, on_server, before) in sides(local, remote, agreed) {
        if let Some(action) = decide(path, here, on_server, before, mode) {
            decided.insert(path, action);
        }
    }
    keep_folders_that_hold_survivors(&mut decided, local, remote, mode);
    let deferred = wait_below_kind_changes(&mut decided, local, remote);
    let mut actions: Vec<Action> = decided.into_values().collect();
    actions.sort_by(|a, b| {
        a.rank().cmp(&b.rank()).then_with(|| {
            if a.rank() == 2 {
                b.path().cmp(a.path())
            } else {
                a.path().cmp(b.path())
            }
        })
    });
    Plan { actions, deferred }
}

/// A path, and what the local side, the server and the journal hold there.
type AtPath<'a> = (
    &'a str,
    Option<&'a LocalState>,
    Option<&'a RemoteState>,
    Option<&'a Agreed>,
);

/// What the three sides hold at each path any of them knows, every path once and in order:
/// a merge of the sorted maps. A set of every path and three lookups for each cost a tree of
/// 100,000 files most of its planning time.
fn sides<'a>(
    local: &'a BTreeMap<String, LocalState>,
    remote: &'a BTreeMap<String, RemoteState>,
    agreed: &'a BTreeMap<String, Agreed>,
) -> impl Iterator<Item = AtPath<'a>> {
    let (mut l, mut r, mut a) = (
        local.iter().peekable(),
        remote.iter().peekable(),
        agreed.iter().peekable(),
    );
    std::iter::from_fn(move || {
        let path = [
            l.peek().map(|&(p, _)| p.as_str()),
            r.peek().map(|&(p, _)| p.as_str()),
            a.peek().map(|&(p, _)| p.as_str()),
        ]
        .into_iter()
        .flatten()
        .min()?;
        let here = l.next_if(|&(p, _)| p == path).map(|(_, v)| v);
        let there = r.next_if(|&(p, _)| p == path).map(|(_, v)| v);
        let before = a.next_if(|&(p, _)| p == path).map(|(_, v)| v);
        Some((path, here, there, before))
    })
}

/// Which side a folder delete removes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Local,
    Remote,
}

/// A modification beats a delete, recursively: a folder deleted on one side is kept (and
/// restored on that side) while anything below it survives on the other side, because it
/// was changed or added there. Deepest paths are settled first, so a survivor keeps every
/// folder above it. In the one-way modes the side that is never written keeps its folder
/// and the journal forgets it; a file standing where the kept folder must be becomes a
/// conflict (the file is kept under a conflict name).
fn keep_folders_that_hold_survivors<'a>(
    decided: &mut BTreeMap<&'a str, Action>,
    local: &'a BTreeMap<String, LocalState>,
    remote: &'a BTreeMap<String, RemoteState>,
    mode: Mode,
) {
    // Every path any side or the plan knows, deepest first: a descendant (`p/…`) sorts
    // after its ancestor `p`, so the reverse order visits it before.
    let paths: BTreeSet<&str> = local
        .keys()
        .chain(remote.keys())
        .map(String::as_str)
        .chain(decided.keys().copied())
        .collect();
    // Per folder: something below it is still on (local, remote) after the plan.
    let mut holds: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for path in paths.into_iter().rev() {
        let (l, r) = (local.get(path), remote.get(path));
        let below = holds.get(path).copied().unwrap_or_default();
        if let Some(Action::DeleteLocal { is_dir: true, .. }) = decided.get(path)
            && below.0
        {
            let kept = keep(path, r.map(|r| r.is_dir), Side::Local, mode);
            decided.insert(path, kept);
        }
        if let Some(Action::DeleteRemote { is_dir: true, .. }) = decided.get(path)
            && below.1
        {
            let kept = keep(path, l.map(|l| l.is_dir), Side::Remote, mode);
            decided.insert(path, kept);
        }
        let (on_local, on_remote) = present_after(decided.get(path), l.is_some(), r.is_some());
        if let Some((parent, _)) = path.rsplit_once('/') {
            let up = holds.entry(parent).or_default();
            up.0 |= on_local || below.0;
            up.1 |= on_remote || below.1;
        }
    }
}

/// What replaces the delete of folder `path` from `side` when something below survives
/// there; `other` is what the other side has at `path` (`Some(true)`: a folder).
fn keep(path: &str, other: Option<bool>, side: Side, mode: Mode) -> Action {
    let path = path.to_owned();
    match (other, mode, side) {
        (Some(false), ..) => Action::Conflict { path },
        (_, Mode::TwoWay, Side::Local) => Action::MkdirRemote { path },
        (_, Mode::TwoWay, Side::Remote) => Action::MkdirLocal { path },
        _ => Action::Forget { path },
    }
}

/// Whether a path is on (local, remote) once `action` is done.
fn present_after(action: Option<&Action>, local: bool, remote: bool) -> (bool, bool) {
    match action {
        None | Some(Action::Forget { .. }) => (local, remote),
        Some(Action::MkdirLocal { .. } | Action::Download { .. }) => (true, remote),
        Some(Action::MkdirRemote { .. } | Action::Upload { .. }) => (local, true),
        Some(Action::Conflict { .. } | Action::Agree { .. }) => (true, true),
        Some(Action::DeleteLocal { .. }) => (false, remote),
        Some(Action::DeleteRemote { .. }) => (local, false),
    }
}

/// Whether `action` only takes something away (or forgets it).
fn removes(action: &Action) -> bool {
    matches!(
        action,
        Action::DeleteLocal { .. } | Action::DeleteRemote { .. } | Action::Forget { .. }
    )
}

/// Below a path whose kind changes in this pass, nothing can be made yet: a download into a
/// folder that is still a file (or an upload into one) would fail. Those actions wait for
/// the next pass, which plans them again from the new state; the deletes below a folder
/// being replaced still go first, deepest first. Below a clash that this mode leaves alone
/// (a local file where the server has a folder, in download mode), nothing is made at all.
/// Returns whether anything waits.
fn wait_below_kind_changes(
    decided: &mut BTreeMap<&str, Action>,
    local: &BTreeMap<String, LocalState>,
    remote: &BTreeMap<String, RemoteState>,
) -> bool {
    let mut deferred = false;
    let clashes: Vec<(String, bool)> = decided
        .iter()
        .filter_map(|(path, action)| {
            let (l, r) = (local.get(*path), remote.get(*path));
            let clash = matches!((l, r), (Some(l), Some(r)) if l.is_dir != r.is_dir);
            let folder_involved = l.is_some_and(|l| l.is_dir) || r.is_some_and(|r| r.is_dir);
            match action {
                Action::Conflict { .. } if folder_involved => Some((path.to_string(), false)),
                Action::DeleteLocal { .. } | Action::DeleteRemote { .. } if clash => {
                    Some((path.to_string(), true))
                }
                _ => None,
            }
        })
        .collect();
    for (path, keep_deletes) in clashes {
        // The new item itself follows the old one's removal in the next pass.
        deferred = true;
        let below = format!("{path}/");
        decided.retain(|p, action| !p.starts_with(&below) || (keep_deletes && removes(action)));
    }
    // Clashes left as they are: no action at the path, a file on one side, a folder on the
    // other. What lies below the folder cannot be made beside the file.
    let standing: Vec<String> = local
        .iter()
        .filter(|(path, l)| {
            !decided.contains_key(path.as_str())
                && remote.get(*path).is_some_and(|r| r.is_dir != l.is_dir)
        })
        .map(|(path, _)| format!("{path}/"))
        .collect();
    for below in standing {
        decided.retain(|p, action| !p.starts_with(&below) || removes(action));
    }
    deferred
}

/// Whether the local item is not what both sides last agreed on.
pub(crate) fn differs_locally(local: Option<&LocalState>, agreed: Option<&Agreed>) -> bool {
    match (local, agreed) {
        (None, None) => false,
        (Some(local), Some(agreed)) => {
            local.is_dir != agreed.is_dir
                || (!local.is_dir
                    && (local.size != agreed.size || Some(local.mtime) != agreed.local_mtime))
        }
        _ => true,
    }
}

/// Whether the server's item is not what both sides last agreed on.
pub(crate) fn differs_remotely(remote: Option<&RemoteState>, agreed: Option<&Agreed>) -> bool {
    match (remote, agreed) {
        (None, None) => false,
        (Some(remote), Some(agreed)) => {
            remote.is_dir != agreed.is_dir
                || (!remote.is_dir
                    && match (&remote.etag, &agreed.etag) {
                        (Some(now), Some(then)) => !validator::same_version(now, then),
                        _ => remote.size != agreed.size || remote.mtime != agreed.remote_mtime,
                    })
        }
        _ => true,
    }
}

fn decide(
    path: &str,
    local: Option<&LocalState>,
    remote: Option<&RemoteState>,
    agreed: Option<&Agreed>,
    mode: Mode,
) -> Option<Action> {
    let path = path.to_owned();
    let local_changed = differs_locally(local, agreed);
    let remote_changed = differs_remotely(remote, agreed);
    if !local_changed && !remote_changed {
        return None;
    }
    // The action that makes the local side what the remote side is.
    let take_remote = |path: String| match remote {
        Some(remote) if remote.is_dir => Action::MkdirLocal { path },
        Some(_) => Action::Download { path },
        None => Action::DeleteLocal {
            path,
            is_dir: local.is_some_and(|local| local.is_dir),
        },
    };
    // The action that makes the remote side what the local side is.
    let take_local = |path: String| match local {
        Some(local) if local.is_dir => Action::MkdirRemote { path },
        Some(_) => Action::Upload { path },
        None => Action::DeleteRemote {
            path,
            is_dir: remote.is_some_and(|remote| remote.is_dir),
        },
    };
    // Both present: the same kind of thing, or a clash.
    let both = |path: String, local: &LocalState, remote: &RemoteState| {
        if local.is_dir && remote.is_dir {
            Action::Agree { path }
        } else {
            Action::Conflict { path }
        }
    };
    Some(match (local, remote) {
        (None, None) => Action::Forget { path },
        (Some(local), Some(remote)) if local_changed && remote_changed => both(path, local, remote),
        // One side changed and the other is absent: a modification or creation on one side,
        // or a delete on one side of something the other did not touch.
        _ => match mode {
            Mode::TwoWay => {
                if local_changed && remote_changed {
                    // One side deleted, the other modified or created: the modification wins.
                    if local.is_some() {
                        take_local(path)
                    } else {
                        take_remote(path)
                    }
                } else if local_changed {
                    match (local, remote) {
                        // The local side changed the kind: the server's old item goes first,
                        // the new one follows in the next pass.
                        (Some(local), Some(remote)) if local.is_dir != remote.is_dir => {
                            Action::DeleteRemote {
                                path,
                                is_dir: remote.is_dir,
                            }
                        }
                        _ => take_local(path),
                    }
                } else {
                    match (local, remote) {
                        (Some(local), Some(remote)) if local.is_dir != remote.is_dir => {
                            Action::DeleteLocal {
                                path,
                                is_dir: local.is_dir,
                            }
                        }
                        _ => take_remote(path),
                    }
                }
            }
            Mode::Download => match (local, remote) {
                // The remote is gone: delete the local copy only if it is the one agreed on.
                (Some(_), None) if local_changed => {
                    return agreed.is_some().then_some(Action::Forget { path });
                }
                (Some(_), None) => take_remote(path),
                // A local edit is never overwritten, and never sent either in this mode.
                (Some(_), Some(_)) if local_changed => return None,
                (Some(local), Some(remote)) if local.is_dir != remote.is_dir => {
                    Action::DeleteLocal {
                        path,
                        is_dir: local.is_dir,
                    }
                }
                _ => take_remote(path),
            },
            Mode::Upload => match (local, remote) {
                (None, Some(_)) if remote_changed => {
                    return agreed.is_some().then_some(Action::Forget { path });
                }
                (None, Some(_)) => take_local(path),
                (Some(_), Some(_)) if remote_changed => return None,
                (Some(local), Some(remote)) if local.is_dir != remote.is_dir => {
                    Action::DeleteRemote {
                        path,
                        is_dir: remote.is_dir,
                    }
                }
                _ => take_local(path),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64, mtime: i128) -> LocalState {
        LocalState {
            is_dir: false,
            size,
            mtime,
            inode: None,
            ctime: None,
        }
    }

    fn dir() -> LocalState {
        LocalState {
            is_dir: true,
            size: 0,
            mtime: 0,
            inode: None,
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

    fn rdir() -> RemoteState {
        RemoteState {
            is_dir: true,
            size: 0,
            etag: None,
            mtime: None,
            checksums: Vec::new(),
            file_id: None,
        }
    }

    fn agreed(size: u64, mtime: i128, etag: &str) -> Agreed {
        Agreed {
            path: "x".into(),
            is_dir: false,
            size,
            local_mtime: Some(mtime),
            etag: Some(etag.into()),
            remote_mtime: Some(1),
            local_inode: None,
            file_id: None,
        }
    }

    fn one(
        l: Option<LocalState>,
        r: Option<RemoteState>,
        b: Option<Agreed>,
        mode: Mode,
    ) -> Option<Action> {
        let local = l.into_iter().map(|l| ("x".to_owned(), l)).collect();
        let remote = r.into_iter().map(|r| ("x".to_owned(), r)).collect();
        let agreed = b.into_iter().map(|b| ("x".to_owned(), b)).collect();
        let plan = plan(&local, &remote, &agreed, mode, DeleteLimit::default()).unwrap();
        assert!(plan.actions.len() <= 1);
        plan.actions.into_iter().next()
    }

    fn x() -> String {
        "x".into()
    }

    #[test]
    fn two_way_rules() {
        use Mode::TwoWay as M;
        let same = || agreed(5, 10, "e1");
        // Nothing changed.
        assert_eq!(
            one(Some(file(5, 10)), Some(rfile(5, "e1")), Some(same()), M),
            None
        );
        // New on one side.
        assert_eq!(
            one(Some(file(5, 10)), None, None, M),
            Some(Action::Upload { path: x() })
        );
        assert_eq!(
            one(None, Some(rfile(5, "e1")), None, M),
            Some(Action::Download { path: x() })
        );
        assert_eq!(
            one(Some(dir()), None, None, M),
            Some(Action::MkdirRemote { path: x() })
        );
        assert_eq!(
            one(None, Some(rdir()), None, M),
            Some(Action::MkdirLocal { path: x() })
        );
        // Edited on one side.
        assert_eq!(
            one(Some(file(6, 11)), Some(rfile(5, "e1")), Some(same()), M),
            Some(Action::Upload { path: x() })
        );
        assert_eq!(
            one(Some(file(5, 11)), Some(rfile(5, "e1")), Some(same()), M),
            Some(Action::Upload { path: x() }),
            "mtime alone counts"
        );
        assert_eq!(
            one(Some(file(5, 10)), Some(rfile(5, "e2")), Some(same()), M),
            Some(Action::Download { path: x() })
        );
        // Deleted on one side, untouched on the other.
        assert_eq!(
            one(None, Some(rfile(5, "e1")), Some(same()), M),
            Some(Action::DeleteRemote {
                path: x(),
                is_dir: false
            })
        );
        assert_eq!(
            one(Some(file(5, 10)), None, Some(same()), M),
            Some(Action::DeleteLocal {
                path: x(),
                is_dir: false
            })
        );
        // Deleted on one side, modified on the other: the modification wins.
        assert_eq!(
            one(None, Some(rfile(5, "e2")), Some(same()), M),
            Some(Action::Download { path: x() })
        );
        assert_eq!(
            one(Some(file(7, 12)), None, Some(same()), M),
            Some(Action::Upload { path: x() })
        );
        // Both edited, both new: a conflict; both gone: forget.
        assert_eq!(
            one(Some(file(6, 11)), Some(rfile(7, "e2")), Some(same()), M),
            Some(Action::Conflict { path: x() })
        );
        assert_eq!(
            one(Some(file(6, 11)), Some(rfile(6, "e9")), None, M),
            Some(Action::Conflict { path: x() })
        );
        assert_eq!(
            one(None, None, Some(same()), M),
            Some(Action::Forget { path: x() })
        );
        // Two new folders agree; a file against a folder is a conflict.
        assert_eq!(
            one(Some(dir()), Some(rdir()), None, M),
            Some(Action::Agree { path: x() })
        );
        assert_eq!(
            one(Some(file(1, 1)), Some(rdir()), None, M),
            Some(Action::Conflict { path: x() })
        );
    }

    #[test]
    fn servers_without_etags_are_compared_by_size_and_time() {
        let b = Agreed {
            etag: None,
            ..agreed(5, 10, "")
        };
        let mut r = rfile(5, "");
        r.etag = None;
        assert_eq!(
            one(
                Some(file(5, 10)),
                Some(r.clone()),
                Some(b.clone()),
                Mode::TwoWay
            ),
            None
        );
        r.mtime = Some(2);
        assert_eq!(
            one(Some(file(5, 10)), Some(r), Some(b), Mode::TwoWay),
            Some(Action::Download { path: x() })
        );
    }

    #[test]
    fn download_mode_mirrors_the_remote_but_never_overwrites_a_local_edit() {
        use Mode::Download as M;
        let same = || agreed(5, 10, "e1");
        assert_eq!(
            one(None, Some(rfile(5, "e1")), None, M),
            Some(Action::Download { path: x() })
        );
        assert_eq!(
            one(None, Some(rfile(5, "e1")), Some(same()), M),
            Some(Action::Download { path: x() }),
            "a local delete is restored"
        );
        assert_eq!(
            one(Some(file(5, 10)), Some(rfile(5, "e2")), Some(same()), M),
            Some(Action::Download { path: x() })
        );
        assert_eq!(
            one(Some(file(6, 11)), Some(rfile(5, "e1")), Some(same()), M),
            None,
            "a local edit stays"
        );
        assert_eq!(
            one(Some(file(6, 11)), Some(rfile(5, "e2")), Some(same()), M),
            Some(Action::Conflict { path: x() })
        );
        assert_eq!(
            one(Some(file(5, 10)), None, Some(same()), M),
            Some(Action::DeleteLocal {
                path: x(),
                is_dir: false
            })
        );
        assert_eq!(
            one(Some(file(6, 11)), None, Some(same()), M),
            Some(Action::Forget { path: x() }),
            "an edited file outlives a remote delete"
        );
        assert_eq!(
            one(Some(file(6, 11)), None, None, M),
            None,
            "local-only files are left alone"
        );
    }

    #[test]
    fn upload_mode_backs_up_but_never_overwrites_a_remote_edit() {
        use Mode::Upload as M;
        let same = || agreed(5, 10, "e1");
        assert_eq!(
            one(Some(file(5, 10)), None, None, M),
            Some(Action::Upload { path: x() })
        );
        assert_eq!(
            one(Some(file(6, 11)), Some(rfile(5, "e1")), Some(same()), M),
            Some(Action::Upload { path: x() })
        );
        assert_eq!(
            one(Some(file(5, 10)), Some(rfile(5, "e2")), Some(same()), M),
            None,
            "a remote edit stays"
        );
        assert_eq!(
            one(Some(file(6, 11)), Some(rfile(5, "e2")), Some(same()), M),
            Some(Action::Conflict { path: x() })
        );
        assert_eq!(
            one(None, Some(rfile(5, "e1")), Some(same()), M),
            Some(Action::DeleteRemote {
                path: x(),
                is_dir: false
            })
        );
        assert_eq!(
            one(None, Some(rfile(5, "e2")), Some(same()), M),
            Some(Action::Forget { path: x() })
        );
        assert_eq!(
            one(None, Some(rfile(5, "e2")), None, M),
            None,
            "remote-only files are left alone"
        );
    }

    #[test]
    fn deletes_beyond_the_limit_on_one_side_are_refused() {
        let mut local = BTreeMap::new();
        let mut remote = BTreeMap::new();
        let mut base = BTreeMap::new();
        for i in 0..12 {
            let p = format!("f{i:02}");
            base.insert(
                p.clone(),
                Agreed {
                    path: p.clone(),
                    ..agreed(1, 1, "e")
                },
            );
            local.insert(p.clone(), file(1, 1));
            if i < 5 {
                remote.insert(p, rfile(1, "e"));
            }
        }
        let strict = DeleteLimit {
            files: 5,
            percent: 30,
        };
        let Err(PlanError::MassDelete {
            side,
            deletes,
            files,
            allowed,
            paths,
        }) = plan(&local, &remote, &base, Mode::TwoWay, strict)
        else {
            panic!("refused");
        };
        assert_eq!(
            (side, deletes, files, allowed),
            (DeleteSide::Phone, 7, 12, 5)
        );
        assert!(paths.contains(&("f05".to_owned(), 1)) && paths.len() == 7);
        // 7 of 12 is within the default: 50 files or 30 %, whichever is more.
        assert!(plan(&local, &remote, &base, Mode::TwoWay, DeleteLimit::default()).is_ok());
        assert_eq!(DeleteLimit::default().allowed(221), 66);
        assert_eq!(DeleteLimit::default().allowed(12), 50);
    }

    #[test]
    fn folders_come_first_and_deletes_go_deepest_first() {
        let base: BTreeMap<_, _> = ["old", "old/a"]
            .into_iter()
            .map(|p| {
                (
                    p.to_owned(),
                    Agreed {
                        path: p.into(),
                        is_dir: p == "old",
                        ..agreed(1, 1, "e")
                    },
                )
            })
            .collect();
        let mut local = BTreeMap::new();
        local.insert("old".to_owned(), dir());
        local.insert("old/a".to_owned(), file(1, 1));
        let mut remote = BTreeMap::new();
        remote.insert("new".to_owned(), rdir());
        remote.insert("new/b".to_owned(), rfile(1, "e"));
        let plan = plan(&local, &remote, &base, Mode::TwoWay, DeleteLimit::default()).unwrap();
        assert_eq!(
            plan.actions,
            [
                Action::MkdirLocal { path: "new".into() },
                Action::Download {
                    path: "new/b".into()
                },
                Action::DeleteLocal {
                    path: "old/a".into(),
                    is_dir: false
                },
                Action::DeleteLocal {
                    path: "old".into(),
                    is_dir: true
                },
            ]
        );
    }
}
