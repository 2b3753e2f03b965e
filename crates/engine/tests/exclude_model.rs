//! What a pair leaves out, in generated scenarios.
//!
//! Each case grows a small tree on the server and syncs it two-way, then plays rounds. In
//! each round both sides write, edit and delete files the pair syncs and items it leaves out —
//! OS debris (`Thumbs.db`, `.DS_Store`), an Office owner file (`~$a.docx`), `x.tmp` (left out
//! by the pair's own `*.tmp`, switched on and off between rounds) and `cache/blob` (inside a
//! folder the pattern `cache/` leaves out) — and delete whole folders, left-out items and
//! all; "remove left-out items with their folder" is on in some cases. The oracle, for the
//! filter in force during the round's syncs:
//! - every item left out on a side is, after the syncs, byte-identical at its path on that
//!   side, unless its folder was deleted on the other side and it went with it (debris, or
//!   the pair says so): then, on the phone, it is in the trash;
//! - no side gains an item the pair leaves out;
//! - the synced trees (everything not left out) are identical on both sides, and a further
//!   run changes nothing.
//!
//! proptest generates and shrinks. The in-memory server runs `TIDESYNC_EXCLUDE_CASES` cases
//! (150 by default); dav-server, rclone serve, Apache mod_dav and the Nextcloud emulation
//! `TIDESYNC_MODEL_SERVER_CASES` each (12).

mod common;

use common::generated::{
    CaseServer, RealServer, changes, env_number, put_remote, remote_files, run_cases,
};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tidesync_engine::filter::{Excludes, Filter};
use tidesync_engine::remote::Remote;
use tidesync_engine::{Engine, EngineOptions, JobState, Mode, Outcome, PairId, PairSettings};
use tidesync_webdav::{EntryKind, RemotePath};

/// Folders things go in; `""` is the root.
const DIRS: &[&str] = &["", "Docs", "Docs/Deep", "Pics"];
/// Names the pair syncs.
const SYNCED: &[&str] = &["a.txt", "b.md", "c"];
/// Names it leaves out (see the module doc).
const LEFT_OUT: &[&str] = &["Thumbs.db", ".DS_Store", "~$a.docx", "x.tmp", "cache/blob"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Phone,
    Server,
}

#[derive(Debug, Clone)]
enum Op {
    /// Writes (makes or edits) a file: a synced name, or (`left_out`) one left out.
    Write {
        side: Side,
        dir: usize,
        name: usize,
        left_out: bool,
    },
    /// Deletes a file, if it is there.
    Delete {
        side: Side,
        dir: usize,
        name: usize,
        left_out: bool,
    },
    /// Deletes a folder with everything in it, if it is there.
    DeleteFolder { side: Side, dir: usize },
}

#[derive(Debug, Clone)]
struct Round {
    ops: Vec<Op>,
    /// Whether `*.tmp` is among the pair's patterns during this round's syncs.
    tmp_left_out: bool,
}

#[derive(Debug, Clone)]
struct Case {
    grow: Vec<(usize, usize)>,
    rounds: Vec<Round>,
    remove_with_folder: bool,
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Phone), Just(Side::Server)]
}

fn op() -> impl Strategy<Value = Op> {
    let dir = || 0..DIRS.len();
    let name = || 0..SYNCED.len().max(LEFT_OUT.len());
    prop_oneof![
        3 => (side(), dir(), name(), any::<bool>())
            .prop_map(|(side, dir, name, left_out)| Op::Write { side, dir, name, left_out }),
        2 => (side(), dir(), name(), any::<bool>())
            .prop_map(|(side, dir, name, left_out)| Op::Delete { side, dir, name, left_out }),
        1 => (side(), 1..DIRS.len()).prop_map(|(side, dir)| Op::DeleteFolder { side, dir }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let grow = prop::collection::vec((0..DIRS.len(), 0..SYNCED.len()), 1..8);
    let round = (prop::collection::vec(op(), 1..8), any::<bool>())
        .prop_map(|(ops, tmp_left_out)| Round { ops, tmp_left_out });
    let rounds = prop::collection::vec(round, 1..4);
    (grow, rounds, any::<bool>()).prop_map(|(grow, rounds, remove_with_folder)| Case {
        grow,
        rounds,
        remove_with_folder,
    })
}

fn path(dir: usize, name: &str) -> String {
    match DIRS[dir] {
        "" => name.to_owned(),
        folder => format!("{folder}/{name}"),
    }
}

fn file_name(name: usize, left_out: bool) -> &'static str {
    if left_out {
        LEFT_OUT[name % LEFT_OUT.len()]
    } else {
        SYNCED[name % SYNCED.len()]
    }
}

/// The pair's filter for a round.
fn excludes(tmp_left_out: bool, remove_with_folder: bool) -> Excludes {
    let mut patterns = vec!["cache/".to_owned()];
    if tmp_left_out {
        patterns.push("*.tmp".to_owned());
    }
    Excludes {
        patterns,
        remove_with_folder,
        ..Excludes::default()
    }
}

struct Stage {
    engine: Engine,
    pair: PairId,
    server: Arc<dyn Remote>,
    local: tempfile::TempDir,
    scratch: tempfile::TempDir,
    _data: tempfile::TempDir,
}

async fn stage(server: &CaseServer, folder: &str) -> Stage {
    let data = tempfile::tempdir().unwrap();
    // Small trees: one deleted folder is often most of the tree.
    let options = EngineOptions {
        mass_delete_guard: false,
        ..EngineOptions::default()
    };
    let connected = server.connect(data.path(), folder, options, false).await;
    let local = tempfile::tempdir().unwrap();
    let pair = connected
        .engine
        .ensure_pair(connected.remote, "", local.path(), Mode::TwoWay)
        .await
        .unwrap();
    Stage {
        engine: connected.engine,
        pair,
        server: connected.server,
        local,
        scratch: tempfile::tempdir().unwrap(),
        _data: data,
    }
}

impl Stage {
    async fn sync(&self) -> Outcome {
        let job = self.engine.start(self.pair).await.unwrap();
        self.engine.wait(job).await.unwrap()
    }

    async fn set_excludes(&self, excludes: Excludes) {
        let pair = self.engine.pair(self.pair).await.unwrap();
        let settings = PairSettings {
            excludes,
            ..pair.settings
        };
        self.engine
            .update_pair(self.pair, pair.mode, settings)
            .await
            .unwrap();
    }

    fn phone_files(&self) -> BTreeMap<String, Vec<u8>> {
        tidesync_testkit::tree::snapshot(self.local.path())
            .into_iter()
            .filter(|(p, _)| !p.starts_with(".tidesync") && !p.ends_with('/'))
            .collect()
    }

    async fn server_files(&self) -> BTreeMap<String, Vec<u8>> {
        remote_files(self.server.as_ref()).await
    }

    async fn apply(&self, op: &Op, counter: &mut u32) {
        *counter += 1;
        match *op {
            Op::Write {
                side,
                dir,
                name,
                left_out,
            } => {
                let at = path(dir, file_name(name, left_out));
                let data = format!("{side:?} #{counter} at {at}").into_bytes();
                match side {
                    Side::Phone => {
                        let full = self.local.path().join(&at);
                        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                        std::fs::write(full, data).unwrap();
                    }
                    Side::Server => {
                        put_remote(self.server.as_ref(), self.scratch.path(), &at, &data).await
                    }
                }
            }
            Op::Delete {
                side,
                dir,
                name,
                left_out,
            } => {
                let at = path(dir, file_name(name, left_out));
                match side {
                    Side::Phone => {
                        let _ = std::fs::remove_file(self.local.path().join(&at));
                    }
                    Side::Server => {
                        let remote = RemotePath::parse(&at).unwrap();
                        let _ = self.server.delete(&remote, EntryKind::File, None).await;
                    }
                }
            }
            Op::DeleteFolder { side, dir } => match side {
                Side::Phone => {
                    let _ = std::fs::remove_dir_all(self.local.path().join(DIRS[dir]));
                }
                Side::Server => {
                    let remote = RemotePath::parse(DIRS[dir]).unwrap();
                    let _ = self.server.delete(&remote, EntryKind::Folder, None).await;
                }
            },
        }
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// The files `filter` leaves out, and the rest.
type Split = (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>);

fn split(files: &BTreeMap<String, Vec<u8>>, filter: &Filter) -> Split {
    files
        .iter()
        .map(|(p, d)| (p.clone(), d.clone()))
        .partition(|(p, d)| {
            filter
                .excludes(p, false, Some(d.len() as u64), false)
                .is_some()
        })
}

/// The contents of every file in the phone's trash.
fn trashed(root: &Path) -> Vec<Vec<u8>> {
    use tidesync_engine::trash;
    trash::list(root)
        .unwrap()
        .into_iter()
        .map(|e| std::fs::read(root.join(trash::TRASH).join(&e.id).join(&e.path)).unwrap())
        .collect()
}

/// Whether anything is left on a side in the folder holding `path`.
fn folder_holds_anything(files: &BTreeMap<String, Vec<u8>>, path: &str) -> bool {
    match path.rsplit_once('/') {
        None => true,
        Some((folder, _)) => {
            let folder = format!("{folder}/");
            files.keys().any(|p| p.starts_with(&folder))
        }
    }
}

async fn play(server: &CaseServer, folder: &str, case: &Case) -> Result<(), TestCaseError> {
    let stage = stage(server, folder).await;
    for (i, (dir, name)) in case.grow.iter().enumerate() {
        let at = path(*dir, SYNCED[*name]);
        let data = format!("grown #{i} at {at}").into_bytes();
        put_remote(stage.server.as_ref(), stage.scratch.path(), &at, &data).await;
    }
    let first = stage.sync().await;
    if first.state != JobState::Completed {
        return Err(fail(format!("the first sync: {first:?}")));
    }
    let mut counter = 0;
    for (n, round) in case.rounds.iter().enumerate() {
        let excludes = excludes(round.tmp_left_out, case.remove_with_folder);
        let filter = Filter::new(&excludes).unwrap();
        stage.set_excludes(excludes).await;
        for op in &round.ops {
            stage.apply(op, &mut counter).await;
        }
        let (phone_before, server_before) = (stage.phone_files(), stage.server_files().await);
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let outcome = stage.sync().await;
            if outcome.state != JobState::Completed || !outcome.summary.errors.is_empty() {
                return Err(fail(format!("round {n}: a sync ended {outcome:?}")));
            }
            let synced = |files| split(&files, &filter).1;
            let done = synced(stage.phone_files()) == synced(stage.server_files().await);
            outcomes.push(outcome);
            if done {
                break;
            }
        }
        let (phone_after, server_after) = (stage.phone_files(), stage.server_files().await);
        let ((phone_out, phone_synced), (server_out, server_synced)) =
            (split(&phone_after, &filter), split(&server_after, &filter));
        if phone_synced != server_synced {
            return Err(fail(format!(
                "round {n}: the synced trees differ after 3 runs\nphone: {phone_synced:#?}\n\
                 server: {server_synced:#?}\nruns: {outcomes:#?}"
            )));
        }
        let in_trash = trashed(stage.local.path());
        let sides = [
            ("phone", &phone_before, &phone_after, &phone_out),
            ("server", &server_before, &server_after, &server_out),
        ];
        for (name, before, after, out_after) in sides {
            let out_before = split(before, &filter).0;
            for (path, data) in &out_before {
                if after.get(path) == Some(data) {
                    continue;
                }
                // Gone with its folder, deleted on the other side: only debris, or where the
                // pair says so; on the phone, into the trash.
                let debris = filter
                    .excludes(path, false, None, false)
                    .is_some_and(|r| r.is_debris());
                let went_with_folder = (debris || case.remove_with_folder)
                    && !folder_holds_anything(after, path)
                    && (name == "server" || in_trash.contains(data));
                if !went_with_folder {
                    return Err(fail(format!(
                        "round {n}: the {name}'s left-out {path} changed or went: {:?}; runs: \
                         {outcomes:#?}",
                        after
                            .get(path)
                            .map(|d| String::from_utf8_lossy(d).into_owned())
                    )));
                }
            }
            for path in out_after.keys() {
                if !out_before.contains_key(path) {
                    return Err(fail(format!(
                        "round {n}: the {name} gained the left-out {path}; runs: {outcomes:#?}"
                    )));
                }
            }
        }
        let again = stage.sync().await;
        if again.state != JobState::Completed || changes(&again.summary) > 0 {
            return Err(fail(format!(
                "round {n}: a further run was not a no-op: {again:?}"
            )));
        }
    }
    let leftovers = common::leftovers(stage.local.path());
    if !leftovers.is_empty() {
        return Err(fail(format!("part files left: {leftovers:?}")));
    }
    Ok(())
}

fn cases_on(server: CaseServer, cases: u32, seed: u8) {
    run_cases(
        server,
        cases,
        seed,
        300,
        case(),
        |runtime, server, folder, case| runtime.block_on(play(server, &folder, &case)),
    );
}

#[test]
fn what_is_left_out_stays_on_the_in_memory_server() {
    cases_on(
        CaseServer::Memory,
        env_number("TIDESYNC_EXCLUDE_CASES", 150),
        21,
    );
}

fn on_real_server(real: RealServer, seed: u8) {
    let cases = env_number("TIDESYNC_MODEL_SERVER_CASES", 12);
    real.serve(|server| cases_on(server, cases, seed));
}

#[test]
fn what_is_left_out_stays_on_dav_server() {
    on_real_server(RealServer::Dav, 22);
}

#[test]
fn what_is_left_out_stays_on_rclone_serve() {
    on_real_server(RealServer::Rclone, 23);
}

#[test]
fn what_is_left_out_stays_on_apache_mod_dav() {
    on_real_server(RealServer::Apache, 24);
}

#[test]
fn what_is_left_out_stays_on_the_nextcloud_emulation() {
    on_real_server(RealServer::Nextcloud, 25);
}
