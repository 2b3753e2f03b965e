//! Property test of the planner on random states of three sides (local, remote, journal),
//! applied by a small model of the executor: a plan never deletes anything that changed since
//! the journal, never loses a local edit, and a second pass leaves nothing to do.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tidesync_engine::Mode;
use tidesync_engine::journal::Agreed;
use tidesync_engine::model::{LocalState, RemoteState};
use tidesync_engine::plan::{Action, DeleteLimit, plan};

/// A path's content on one side: a folder, or a file whose bytes are named by a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Dir,
    File(u8),
}

type Side = BTreeMap<String, Item>;

fn local_state(item: Item) -> LocalState {
    match item {
        Item::Dir => LocalState {
            is_dir: true,
            size: 0,
            mtime: 0,
            inode: None,
            ctime: None,
        },
        Item::File(c) => LocalState {
            is_dir: false,
            size: u64::from(c) + 1,
            mtime: i128::from(c) * 1000,
            inode: None,
            ctime: None,
        },
    }
}

fn remote_state(item: Item) -> RemoteState {
    match item {
        Item::Dir => RemoteState {
            is_dir: true,
            size: 0,
            etag: None,
            mtime: None,
            checksums: Vec::new(),
            file_id: None,
        },
        Item::File(c) => RemoteState {
            is_dir: false,
            size: u64::from(c) + 1,
            etag: Some(format!("\"e{c}\"")),
            mtime: Some(1),
            checksums: Vec::new(),
            file_id: None,
        },
    }
}

fn agreed(path: &str, item: Item) -> Agreed {
    let (l, r) = (local_state(item), remote_state(item));
    Agreed {
        path: path.to_owned(),
        is_dir: l.is_dir,
        size: l.size,
        local_mtime: (!l.is_dir).then_some(l.mtime),
        etag: r.etag,
        remote_mtime: r.mtime,
        local_inode: None,
        file_id: None,
    }
}

struct World {
    local: Side,
    remote: Side,
    base: Side,
}

impl World {
    fn plan(&self, mode: Mode) -> Vec<Action> {
        let local = self
            .local
            .iter()
            .map(|(p, i)| (p.clone(), local_state(*i)))
            .collect();
        let remote = self
            .remote
            .iter()
            .map(|(p, i)| (p.clone(), remote_state(*i)))
            .collect();
        let base = self
            .base
            .iter()
            .map(|(p, i)| (p.clone(), agreed(p, *i)))
            .collect();
        plan(&local, &remote, &base, mode, DeleteLimit::default())
            .expect("trees of fewer files than 50 are never guarded")
            .actions
    }

    /// Applies `actions` the way the executor does, checking the safety rules as it goes.
    fn apply(&mut self, actions: &[Action], pass: usize) -> Result<(), TestCaseError> {
        for action in actions {
            let path = action.path().to_owned();
            let (l, r, b) = (
                self.local.get(&path).copied(),
                self.remote.get(&path).copied(),
                self.base.get(&path).copied(),
            );
            match action {
                Action::Download { .. } | Action::MkdirLocal { .. } => {
                    prop_assert!(
                        l.is_none() || l == b,
                        "{action:?} would overwrite a local edit"
                    );
                    let r = r.expect("downloads what the remote has");
                    self.local.insert(path.clone(), r);
                    self.base.insert(path, r);
                }
                Action::Upload { .. } | Action::MkdirRemote { .. } => {
                    prop_assert!(
                        r.is_none() || r == b,
                        "{action:?} would overwrite a remote edit"
                    );
                    let l = l.expect("uploads what the local side has");
                    self.remote.insert(path.clone(), l);
                    self.base.insert(path, l);
                }
                Action::DeleteLocal { .. } => {
                    prop_assert_eq!(l, b, "{:?} deletes a local change", action);
                    self.local.remove(&path);
                    self.base.remove(&path);
                }
                Action::DeleteRemote { .. } => {
                    prop_assert_eq!(r, b, "{:?} deletes a remote change", action);
                    self.remote.remove(&path);
                    self.base.remove(&path);
                }
                Action::Agree { .. } => {
                    prop_assert_eq!(l, r);
                    self.base.insert(path, l.expect("agrees on what both have"));
                }
                Action::Forget { .. } => {
                    self.base.remove(&path);
                }
                Action::Conflict { .. } => {
                    let (l, r) = (
                        l.expect("a conflict has a local side"),
                        r.expect("and a remote side"),
                    );
                    if l != r || l == Item::Dir && r == Item::Dir {
                        // The local version moves aside under a new name; the server's keeps it.
                        self.local.insert(format!("{path} (conflict {pass})"), l);
                    }
                    self.local.insert(path.clone(), r);
                    self.base.insert(path, r);
                }
            }
        }
        Ok(())
    }
}

fn item() -> impl Strategy<Value = Option<Item>> {
    prop_oneof![
        Just(None),
        Just(Some(Item::Dir)),
        (0u8..3).prop_map(|c| Some(Item::File(c)))
    ]
}

fn side(items: Vec<Option<Item>>) -> Side {
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| item.map(|it| (format!("p{i}"), it)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_safe_and_converge(
        local in prop::collection::vec(item(), 4),
        remote in prop::collection::vec(item(), 4),
        base in prop::collection::vec(item(), 4),
        mode in prop_oneof![Just(Mode::Download), Just(Mode::Upload), Just(Mode::TwoWay)],
    ) {
        let mut world = World { local: side(local), remote: side(remote), base: side(base) };
        let edits: Vec<Item> = world
            .local
            .iter()
            .filter(|(p, i)| world.base.get(*p) != Some(i) && matches!(i, Item::File(_)))
            .map(|(_, i)| *i)
            .collect();
        for pass in 0..3 {
            let actions = world.plan(mode);
            if actions.is_empty() {
                break;
            }
            prop_assert!(pass < 2, "still not converged after two passes: {:?}", actions);
            world.apply(&actions, pass)?;
        }
        for edit in edits {
            prop_assert!(world.local.values().any(|i| *i == edit), "the local edit {:?} was lost", edit);
        }
    }
}
