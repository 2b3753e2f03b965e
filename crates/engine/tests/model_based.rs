//! The sync rules for nested trees (docs/SYNC-RULES.md), checked on generated cases.
//!
//! Each scenario builds a random nested tree (depth up to 4, unicode names) on the server,
//! syncs it two-way, then plays rounds of random operations on BOTH sides — create, edit,
//! delete a file, delete a folder, make a folder with files, rename or move a file or a
//! folder, turn a file into a folder or a folder into a file — and syncs again. A reference
//! model ([`expect`]) says, from the agreed tree and the two edited trees, what must survive
//! and what must be gone; the oracle checks it:
//! - every edit of the round (a new or changed file, a moved one at its new place) is on both
//!   sides, at its path or as a conflict copy (one segment of the path given a conflict name);
//! - every untouched file stays;
//! - a delete the other side did not touch is carried over;
//! - both sides are identical after at most 2 runs, and a further run changes nothing;
//! - no internal temp file is left on either side;
//! - every version the phone held before a round's syncs is, after them, on both sides or in
//!   the phone's trash (a delete or a replacement from the server never loses a local file).
//!
//! proptest generates and shrinks: a failing case prints the smallest operations that still
//! fail. The in-memory server runs `TIDESYNC_MODEL_CASES` scenarios (1,000 by default);
//! dav-server, rclone serve, Apache mod_dav and the test kit's Nextcloud emulation (bulk and
//! chunked uploads, its ETag rules) run `TIDESYNC_MODEL_SERVER_CASES` each (20). The
//! in-memory server answers half the scenarios folder by folder, as Apache does, so downloads
//! start while the tree is listed there too.

mod common;

use common::generated::{CaseServer, RealServer, env_number, run_cases};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tidesync_engine::remote::Remote;
use tidesync_engine::{Engine, EngineOptions, JobState, Mode, Outcome, PairId};
use tidesync_webdav::{Depth, EntryKind, Overwrite, Precondition, RemotePath};

/// Names the generator picks from: unicode, spaces, dots; no two differ only by case.
const NAMES: &[&str] = &[
    "a", "b.txt", "été", "Ωmega", "日本", "x y", "ñ.md", "файл", "✓ done", "z.bin", "Ünï", "q",
];

/// One random operation, in terms that survive shrinking: indices pick among what exists
/// when the operation is applied.
#[derive(Debug, Clone)]
enum Op {
    CreateFile {
        parent: usize,
        name: usize,
    },
    Edit {
        target: usize,
    },
    DeleteFile {
        target: usize,
    },
    DeleteFolder {
        target: usize,
    },
    CreateFolder {
        parent: usize,
        name: usize,
        files: u8,
    },
    Move {
        target: usize,
        parent: usize,
        name: usize,
    },
    FileToFolder {
        target: usize,
    },
    FolderToFile {
        target: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let i = || 0..64usize;
    let n = || 0..NAMES.len();
    prop_oneof![
        3 => (i(), n()).prop_map(|(parent, name)| Op::CreateFile { parent, name }),
        3 => i().prop_map(|target| Op::Edit { target }),
        2 => i().prop_map(|target| Op::DeleteFile { target }),
        2 => i().prop_map(|target| Op::DeleteFolder { target }),
        2 => (i(), n(), 0..3u8).prop_map(|(parent, name, files)| Op::CreateFolder { parent, name, files }),
        2 => (i(), i(), n()).prop_map(|(target, parent, name)| Op::Move { target, parent, name }),
        1 => i().prop_map(|target| Op::FileToFolder { target }),
        1 => i().prop_map(|target| Op::FolderToFile { target }),
    ]
}

/// A scenario: how the tree is grown, then rounds of (local, remote) operations.
#[derive(Debug, Clone)]
struct Scenario {
    grow: Vec<Op>,
    rounds: Vec<(Vec<Op>, Vec<Op>)>,
    /// Whether the in-memory server answers folder by folder, as a server that must be
    /// walked does, so downloads start while it is listed (`run::early` in the engine).
    walks: bool,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let grow = prop::collection::vec(
        prop_oneof![
            2 => (0..64usize, 0..NAMES.len()).prop_map(|(parent, name)| Op::CreateFile { parent, name }),
            1 => (0..64usize, 0..NAMES.len(), 0..3u8)
                .prop_map(|(parent, name, files)| Op::CreateFolder { parent, name, files }),
        ],
        1..14,
    );
    let side = || prop::collection::vec(op(), 0..6);
    let rounds = prop::collection::vec((side(), side()), 1..3);
    (grow, rounds, any::<bool>()).prop_map(|(grow, rounds, walks)| Scenario {
        grow,
        rounds,
        walks,
    })
}

/// A tree as the oracle sees it: every folder, and every file with its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tree {
    folders: BTreeSet<String>,
    files: BTreeMap<String, Vec<u8>>,
}

impl Tree {
    fn exists(&self, path: &str) -> bool {
        self.folders.contains(path) || self.files.contains_key(path)
    }

    /// Folders a new item may go in, the root (`""`) first.
    fn folders_with_root(&self) -> Vec<String> {
        std::iter::once(String::new())
            .chain(self.folders.iter().cloned())
            .collect()
    }

    fn below(&self, folder: &str) -> (Vec<String>, Vec<String>) {
        let prefix = format!("{folder}/");
        (
            self.folders
                .iter()
                .filter(|p| p.starts_with(&prefix))
                .cloned()
                .collect(),
            self.files
                .keys()
                .filter(|p| p.starts_with(&prefix))
                .cloned()
                .collect(),
        )
    }
}

fn depth(path: &str) -> usize {
    if path.is_empty() {
        0
    } else {
        path.split('/').count()
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

/// One change to a side, as the side's driver carries it out.
#[derive(Debug, Clone)]
enum Change {
    Write(String, Vec<u8>),
    Mkdir(String),
    /// The path, and whether it is a folder.
    Remove(String, bool),
    Rename(String, String, bool),
}

/// Turns `op` into changes against `tree` (updating it); `None` when it does not apply.
fn apply(op: &Op, tree: &mut Tree, fresh: &mut impl FnMut() -> Vec<u8>) -> Vec<Change> {
    let files: Vec<String> = tree.files.keys().cloned().collect();
    let folders: Vec<String> = tree.folders.iter().cloned().collect();
    let pick = |list: &[String], i: usize| (!list.is_empty()).then(|| list[i % list.len()].clone());
    let parents = tree.folders_with_root();
    let mut changes = Vec::new();
    match op {
        Op::CreateFile { parent, name } => {
            let parent = &parents[parent % parents.len()];
            let path = join(parent, NAMES[*name]);
            if depth(&path) <= 4 && !tree.exists(&path) {
                let data = fresh();
                tree.files.insert(path.clone(), data.clone());
                changes.push(Change::Write(path, data));
            }
        }
        Op::Edit { target } => {
            if let Some(path) = pick(&files, *target) {
                let data = fresh();
                tree.files.insert(path.clone(), data.clone());
                changes.push(Change::Write(path, data));
            }
        }
        Op::DeleteFile { target } => {
            if let Some(path) = pick(&files, *target) {
                tree.files.remove(&path);
                changes.push(Change::Remove(path, false));
            }
        }
        Op::DeleteFolder { target } => {
            if let Some(path) = pick(&folders, *target) {
                remove_folder(tree, &path);
                changes.push(Change::Remove(path, true));
            }
        }
        Op::CreateFolder {
            parent,
            name,
            files: count,
        } => {
            let parent = &parents[parent % parents.len()];
            let path = join(parent, NAMES[*name]);
            if depth(&path) < 4 && !tree.exists(&path) {
                tree.folders.insert(path.clone());
                changes.push(Change::Mkdir(path.clone()));
                for i in 0..*count as usize {
                    let file = join(&path, NAMES[(name + i + 1) % NAMES.len()]);
                    let data = fresh();
                    tree.files.insert(file.clone(), data.clone());
                    changes.push(Change::Write(file, data));
                }
            }
        }
        Op::Move {
            target,
            parent,
            name,
        } => {
            let all: Vec<String> = files.iter().chain(folders.iter()).cloned().collect();
            let Some(from) = pick(&all, *target) else {
                return changes;
            };
            let parent = &parents[parent % parents.len()];
            let to = join(parent, NAMES[*name]);
            let into_itself = *parent == from || parent.starts_with(&format!("{from}/"));
            let (sub_folders, _) = tree.below(&from);
            let deepest = sub_folders
                .iter()
                .chain(tree.below(&from).1.iter())
                .map(|p| depth(p) - depth(&from))
                .max()
                .unwrap_or(0);
            if into_itself || tree.exists(&to) || depth(&to) + deepest > 4 {
                return changes;
            }
            let is_dir = tree.folders.contains(&from);
            rename_in(tree, &from, &to);
            changes.push(Change::Rename(from, to, is_dir));
        }
        Op::FileToFolder { target } => {
            if let Some(path) = pick(&files, *target)
                && depth(&path) < 4
            {
                tree.files.remove(&path);
                tree.folders.insert(path.clone());
                let inner = join(&path, "inner");
                let data = fresh();
                tree.files.insert(inner.clone(), data.clone());
                changes.push(Change::Remove(path.clone(), false));
                changes.push(Change::Mkdir(path));
                changes.push(Change::Write(inner, data));
            }
        }
        Op::FolderToFile { target } => {
            if let Some(path) = pick(&folders, *target) {
                remove_folder(tree, &path);
                let data = fresh();
                tree.files.insert(path.clone(), data.clone());
                changes.push(Change::Remove(path.clone(), true));
                changes.push(Change::Write(path, data));
            }
        }
    }
    changes
}

fn remove_folder(tree: &mut Tree, path: &str) {
    let prefix = format!("{path}/");
    tree.folders
        .retain(|p| p != path && !p.starts_with(&prefix));
    tree.files.retain(|p, _| !p.starts_with(&prefix));
}

fn rename_in(tree: &mut Tree, from: &str, to: &str) {
    let prefix = format!("{from}/");
    let moved = |p: &String| -> Option<String> {
        if p == from {
            Some(to.to_owned())
        } else {
            p.strip_prefix(&prefix).map(|rest| format!("{to}/{rest}"))
        }
    };
    tree.folders = tree
        .folders
        .iter()
        .map(|p| moved(p).unwrap_or_else(|| p.clone()))
        .collect();
    tree.files = std::mem::take(&mut tree.files)
        .into_iter()
        .map(|(p, d)| (moved(&p).unwrap_or(p), d))
        .collect();
}

/// What the rules promise for one round, from the agreed tree and the two edited trees.
#[derive(Debug, Default)]
struct Expected {
    /// New or edited bytes that must be on both sides.
    kept: Vec<Kept>,
    /// Paths a side moved an unchanged file to: a file must stand there on both sides (the
    /// moved bytes, or the other side's newer edit of them), or at a conflict copy of it.
    present: Vec<Vec<String>>,
    /// (path, bytes) that must be on neither side at the path.
    gone: Vec<(String, Vec<u8>)>,
}

/// Bytes that must survive, and where.
#[derive(Debug)]
struct Kept {
    bytes: Vec<u8>,
    /// At one of these paths or a conflict copy of one; `None` where the other side moved
    /// folders in the same round too, so that which name wins is the engine's choice.
    places: Option<Vec<String>>,
}

/// The renames a side made in a round, in order: (from, to).
type Renames = Vec<(String, String)>;

/// Where `path` is once `renames` moved it (or its folders).
fn renamed(path: &str, renames: &Renames) -> String {
    let mut path = path.to_owned();
    for (from, to) in renames {
        if path == *from {
            path = to.clone();
        } else if let Some(rest) = path.strip_prefix(&format!("{from}/")) {
            path = format!("{to}/{rest}");
        }
    }
    path
}

/// The reference model. Bytes new or changed on a side are kept, where that side put them or
/// where the other side moved their folder to (a move is carried over as a move). A file a
/// side moved unchanged stands at its new place, unless the other side deleted it (a move
/// may carry that delete along). A file neither side touched is kept; a file
/// one side deleted (or moved away, or replaced by a folder) and the other left as it was is
/// gone from its old place.
fn expect(
    agreed: &Tree,
    (local, local_renames): (&Tree, &Renames),
    (remote, remote_renames): (&Tree, &Renames),
) -> Expected {
    let mut expected = Expected::default();
    let old_places: BTreeMap<&Vec<u8>, &String> =
        agreed.files.iter().map(|(p, d)| (d, p)).collect();
    for (side, other, other_renames) in [
        (local, remote, remote_renames),
        (remote, local, local_renames),
    ] {
        for (path, data) in &side.files {
            if agreed.files.get(path) == Some(data) {
                continue;
            }
            let places = vec![path.clone(), renamed(path, other_renames)];
            match old_places.get(data) {
                None => expected.kept.push(Kept {
                    bytes: data.clone(),
                    places: other_renames.is_empty().then_some(places),
                }),
                // Where the other side moved things too, any place will do.
                Some(_) if !other_renames.is_empty() => {}
                // Moved unchanged: it stands at its new place if the other side left it
                // alone or edited it; where the other side moved it too, at either new place;
                // where the other side deleted it, the move may carry the delete along.
                Some(was) => {
                    let moved_there = other
                        .files
                        .iter()
                        .find(|(p, d)| *d == data && p != was)
                        .map(|(p, _)| p.clone());
                    match moved_there {
                        Some(there) if !other.files.contains_key(*was) => {
                            expected.present.push([places, vec![there]].concat());
                        }
                        _ if other.files.contains_key(*was) => expected.present.push(places),
                        _ => {}
                    }
                }
            }
        }
    }
    for (path, data) in &agreed.files {
        let on = |side: &Tree| side.files.get(path) == Some(data);
        let absent = |side: &Tree| !side.files.contains_key(path);
        match (on(local), on(remote)) {
            (true, true) => expected.kept.push(Kept {
                bytes: data.clone(),
                places: Some(vec![path.clone()]),
            }),
            (true, false) if absent(remote) => expected.gone.push((path.clone(), data.clone())),
            (false, true) if absent(local) => expected.gone.push((path.clone(), data.clone())),
            _ => {}
        }
    }
    expected
}

/// Whether `name` is `original` given a conflict name (`stem (conflict …).ext`).
fn is_conflict_name(name: &str, original: &str) -> bool {
    let (stem, ext) = match original.rfind('.').filter(|&i| i > 0) {
        Some(i) => (&original[..i], &original[i..]),
        None => (original, ""),
    };
    name.starts_with(&format!("{stem} (conflict ")) && name.ends_with(&format!("){ext}"))
}

/// Whether `found` is `path`, or `path` with one segment given a conflict name.
fn is_path_or_conflict_copy(found: &str, path: &str) -> bool {
    if found == path {
        return true;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (found.split('/').collect(), path.split('/').collect());
    a.len() == b.len()
        && a.iter().zip(&b).filter(|(x, y)| x != y).count() == 1
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x == y || is_conflict_name(x, y))
}

/// One side of a pair as the test drives it.
trait Driver {
    async fn change(&self, change: &Change);
    async fn read(&self) -> Tree;
}

/// The phone's folder.
struct LocalSide<'a> {
    root: &'a Path,
    /// Modification times are set explicitly and never repeat: an edit must never look
    /// unchanged because the file system's clock is coarser than the test.
    clock: std::cell::Cell<u64>,
}

impl LocalSide<'_> {
    fn tick(&self) -> SystemTime {
        self.clock.set(self.clock.get() + 1);
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000 + self.clock.get())
    }
}

impl Driver for LocalSide<'_> {
    async fn change(&self, change: &Change) {
        let at = |p: &str| self.root.join(p);
        match change {
            Change::Write(path, data) => {
                std::fs::write(at(path), data).unwrap();
                let file = std::fs::File::options().write(true).open(at(path)).unwrap();
                file.set_modified(self.tick()).unwrap();
            }
            Change::Mkdir(path) => std::fs::create_dir(at(path)).unwrap(),
            Change::Remove(path, _) => {
                let full = at(path);
                if full.is_dir() {
                    std::fs::remove_dir_all(full).unwrap();
                } else {
                    std::fs::remove_file(full).unwrap();
                }
            }
            Change::Rename(from, to, _) => std::fs::rename(at(from), at(to)).unwrap(),
        }
    }

    async fn read(&self) -> Tree {
        let mut tree = Tree::default();
        let mut stack = vec![(self.root.to_owned(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().into_string().unwrap();
                let ours = [
                    tidesync_testkit::tree::MARKER,
                    tidesync_testkit::tree::TRASH,
                ];
                if prefix.is_empty() && ours.contains(&name.as_str()) {
                    continue;
                }
                let path = join(&prefix, &name);
                if entry.file_type().unwrap().is_dir() {
                    tree.folders.insert(path.clone());
                    stack.push((entry.path(), path));
                } else {
                    tree.files
                        .insert(path, std::fs::read(entry.path()).unwrap());
                }
            }
        }
        tree
    }
}

/// The server, through the engine's own `Remote` interface (the in-memory server, or a
/// WebDAV client of a real one): another client editing the same folder.
struct RemoteSide {
    server: Arc<dyn Remote>,
    scratch: tempfile::TempDir,
}

fn kind(is_dir: bool) -> EntryKind {
    if is_dir {
        EntryKind::Folder
    } else {
        EntryKind::File
    }
}

fn remote_path(path: &str) -> RemotePath {
    RemotePath::parse(path).unwrap()
}

impl Driver for RemoteSide {
    async fn change(&self, change: &Change) {
        match change {
            Change::Write(path, data) => {
                let file = self.scratch.path().join("upload");
                std::fs::write(&file, data).unwrap();
                self.server
                    .put_file(
                        &remote_path(path),
                        &file,
                        &Precondition::None,
                        None,
                        Arc::new(|_| {}),
                    )
                    .await
                    .unwrap();
            }
            Change::Mkdir(path) => {
                self.server.mkcol(&remote_path(path)).await.unwrap();
            }
            Change::Remove(path, is_dir) => {
                self.server
                    .delete(&remote_path(path), kind(*is_dir), None)
                    .await
                    .unwrap();
            }
            Change::Rename(from, to, is_dir) => {
                self.server
                    .move_to(
                        &remote_path(from),
                        &remote_path(to),
                        kind(*is_dir),
                        Overwrite::Never,
                    )
                    .await
                    .unwrap();
            }
        }
    }

    async fn read(&self) -> Tree {
        let listing = self
            .server
            .list(&RemotePath::root(), Depth::Infinity)
            .await
            .unwrap();
        let mut tree = Tree::default();
        for entry in listing.entries {
            if entry.path.is_root() {
                continue;
            }
            let path = entry.path.as_str().to_owned();
            if entry.kind == EntryKind::Folder {
                tree.folders.insert(path);
                continue;
            }
            let mut body = self.server.get(&entry.path, 0, None, None).await.unwrap();
            let mut data = Vec::new();
            while let Some(chunk) = body.chunk().await.unwrap() {
                data.extend_from_slice(&chunk);
            }
            tree.files.insert(path, data);
        }
        tree
    }
}

/// A pair to play a scenario on.
struct Stage {
    engine: Engine,
    pair: PairId,
    local_dir: tempfile::TempDir,
    remote: RemoteSide,
    _data_dir: tempfile::TempDir,
}

impl Stage {
    async fn sync(&self) -> Outcome {
        let job = self.engine.start(self.pair).await.unwrap();
        self.engine.wait(job).await.unwrap()
    }
}

async fn stage(server: &CaseServer, folder: &str, walks: bool) -> Stage {
    let data_dir = tempfile::tempdir().unwrap();
    let local_dir = tempfile::tempdir().unwrap();
    // The trees are tiny, so deleting one folder is often "most of the tree": the guard
    // would refuse cases that exist to test the other rules.
    let options = EngineOptions {
        mass_delete_guard: false,
        ..EngineOptions::default()
    };
    let connected = server
        .connect(data_dir.path(), folder, options, walks)
        .await;
    let pair = connected
        .engine
        .ensure_pair(connected.remote, "", local_dir.path(), Mode::TwoWay)
        .await
        .unwrap();
    Stage {
        engine: connected.engine,
        pair,
        local_dir,
        remote: RemoteSide {
            server: connected.server,
            scratch: tempfile::tempdir().unwrap(),
        },
        _data_dir: data_dir,
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// Plays `scenario` on a fresh pair and checks the oracle after every round.
async fn play(server: &CaseServer, folder: &str, scenario: &Scenario) -> Result<(), TestCaseError> {
    let stage = stage(server, folder, scenario.walks).await;
    let local = LocalSide {
        root: stage.local_dir.path(),
        clock: std::cell::Cell::new(0),
    };
    let mut counter = 0u64;
    let mut fresh = |side: &str| {
        counter += 1;
        // Sizes vary, so some edits keep a file's size and some change it.
        let pad = "·".repeat((counter % 7) as usize);
        format!("{side} #{counter}{pad}").into_bytes()
    };

    // Grow the agreed tree on the server and bring it down.
    let mut tree = Tree::default();
    for op in &scenario.grow {
        for change in apply(op, &mut tree, &mut || fresh("grown")) {
            stage.remote.change(&change).await;
        }
    }
    converge(&stage, &local, "the first sync").await?;

    for (round, (local_ops, remote_ops)) in scenario.rounds.iter().enumerate() {
        let agreed = stage.remote.read().await;
        let (mut l, mut r) = (agreed.clone(), agreed.clone());
        let (mut l_renames, mut r_renames) = (Renames::new(), Renames::new());
        for op in local_ops {
            for change in apply(op, &mut l, &mut || fresh("phone")) {
                if let Change::Rename(from, to, _) = &change {
                    l_renames.push((from.clone(), to.clone()));
                }
                local.change(&change).await;
            }
        }
        for op in remote_ops {
            for change in apply(op, &mut r, &mut || fresh("server")) {
                if let Change::Rename(from, to, _) = &change {
                    r_renames.push((from.clone(), to.clone()));
                }
                stage.remote.change(&change).await;
            }
        }
        let expected = expect(&agreed, (&l, &l_renames), (&r, &r_renames));
        let what = format!("round {round}");
        let phone_before = local.read().await.files;
        let end = converge(&stage, &local, &what).await?;
        // Every version the phone held before the syncs is on both sides or in its trash.
        let trashed = trashed_contents(local.root);
        for (path, data) in &phone_before {
            if !end.files.values().any(|d| d == data) && !trashed.contains(data) {
                return Err(fail(format!(
                    "{what}: the phone's {path} ({:?}) is neither on either side nor in the \
                     trash; both sides hold {end:#?}",
                    String::from_utf8_lossy(data)
                )));
            }
        }
        let at = |p: &str, places: &[String]| places.iter().any(|x| is_path_or_conflict_copy(p, x));
        for kept in &expected.kept {
            let found = end.files.iter().any(|(p, d)| {
                *d == kept.bytes && kept.places.as_ref().is_none_or(|places| at(p, places))
            });
            if !found {
                return Err(fail(format!(
                    "{what}: {:?} at {:?} was lost; both sides now hold {end:#?}",
                    String::from_utf8_lossy(&kept.bytes),
                    kept.places,
                )));
            }
        }
        for places in &expected.present {
            if !end.files.keys().any(|p| at(p, places)) {
                return Err(fail(format!(
                    "{what}: nothing stands where {places:?} was moved; both sides hold {end:#?}"
                )));
            }
        }
        for (path, data) in &expected.gone {
            if end.files.get(path) == Some(data) {
                return Err(fail(format!(
                    "{what}: the delete of {path} was not carried over; both sides hold {end:#?}"
                )));
            }
        }
    }
    Ok(())
}

/// The contents of every file in the trash of the sync folder `root`.
fn trashed_contents(root: &Path) -> Vec<Vec<u8>> {
    use tidesync_engine::trash;
    trash::list(root)
        .unwrap()
        .into_iter()
        .map(|e| std::fs::read(root.join(trash::TRASH).join(&e.id).join(&e.path)).unwrap())
        .collect()
}

/// Syncs until both sides agree (at most 2 runs), then once more to prove nothing is left.
async fn converge(stage: &Stage, local: &LocalSide<'_>, what: &str) -> Result<Tree, TestCaseError> {
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let outcome = stage.sync().await;
        if outcome.state != JobState::Completed {
            return Err(fail(format!("{what}: a sync ended {outcome:?}")));
        }
        outcomes.push(outcome);
        if local.read().await == stage.remote.read().await {
            break;
        }
    }
    let (l, r) = (local.read().await, stage.remote.read().await);
    if l != r {
        return Err(fail(format!(
            "{what}: the sides differ after 2 runs ({outcomes:#?})\nphone: {l:#?}\nserver: {r:#?}"
        )));
    }
    let again = stage.sync().await;
    let s = &again.summary;
    let changed =
        s.files_downloaded + s.files_uploaded + s.deleted_local + s.deleted_remote + s.conflicts;
    if again.state != JobState::Completed || changed > 0 || !s.errors.is_empty() {
        return Err(fail(format!(
            "{what}: a further run was not a no-op: {again:?}"
        )));
    }
    let litter: Vec<&String> = l
        .files
        .keys()
        .chain(l.folders.iter())
        .filter(|p| p.contains(".tidesync-"))
        .collect();
    if !litter.is_empty() {
        return Err(fail(format!("{what}: internal files left: {litter:?}")));
    }
    let leftovers = common::leftovers(local.root);
    if !leftovers.is_empty() {
        return Err(fail(format!("{what}: part files left: {leftovers:?}")));
    }
    Ok(l)
}

/// Runs `cases` scenarios from a fixed seed, each on a fresh pair.
fn cases_on(server: CaseServer, cases: u32, seed: u8) {
    run_cases(
        server,
        cases,
        seed,
        400,
        scenario(),
        |runtime, server, folder, scenario| runtime.block_on(play(server, &folder, &scenario)),
    );
}

#[test]
fn nothing_is_lost_in_any_tree_shape_on_the_in_memory_server() {
    cases_on(
        CaseServer::Memory,
        env_number("TIDESYNC_MODEL_CASES", 1000),
        1,
    );
}

/// Scenarios against a real server, each in a folder of its own.
fn on_real_server(real: RealServer, seed: u8) {
    let cases = env_number("TIDESYNC_MODEL_SERVER_CASES", 20);
    real.serve(|server| cases_on(server, cases, seed));
}

#[test]
fn nothing_is_lost_in_any_tree_shape_on_dav_server() {
    on_real_server(RealServer::Dav, 2);
}

#[test]
fn nothing_is_lost_in_any_tree_shape_on_rclone_serve() {
    on_real_server(RealServer::Rclone, 3);
}

#[test]
fn nothing_is_lost_in_any_tree_shape_on_apache_mod_dav() {
    on_real_server(RealServer::Apache, 4);
}

#[test]
fn nothing_is_lost_in_any_tree_shape_on_the_nextcloud_emulation() {
    on_real_server(RealServer::Nextcloud, 5);
}
