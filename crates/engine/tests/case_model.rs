//! Letter case on a case-insensitive volume, in generated scenarios.
//!
//! Each case syncs a random tree down from the server (names in several letter cases, so some
//! are twins, folders `Docs` and `docs` among them) onto an emulated case-insensitive volume
//! (`Disk::CaseFolding`: the phone's writes in this test go through the same lookup), then
//! acts on both sides: renames that change only the case, on the server or the phone; new
//! files under any case (on the phone, one whose name another already holds in other case is
//! written into that one, as such a volume does); edits on either side, copies included. Then
//! it syncs two-way three times. The oracle:
//! - every sync completes, with no error;
//! - the phone never holds two names in one folder that differ only in case (the volume could
//!   not);
//! - every file either side held before the syncs that is not the synced version an edit on
//!   the other side replaces (by content: every write is unique) is on one side or the other
//!   afterwards, and both sides end with the same contents;
//! - the third run changes nothing.
//!
//! proptest generates and shrinks. The in-memory server runs `TIDESYNC_CASE_CASES` cases (150
//! by default); dav-server, rclone serve, Apache mod_dav and the Nextcloud emulation
//! `TIDESYNC_MODEL_SERVER_CASES` each (12), every case in a folder of its own.

#![cfg(unix)]

mod common;

use common::generated::{
    CaseServer, RealServer, changes, env_number, put_remote, remote_files, run_cases,
};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tidesync_engine::disk::Disk;
use tidesync_engine::names::fold_case;
use tidesync_engine::remote::Remote;
use tidesync_engine::{Engine, EngineOptions, JobState, Mode, Outcome, PairId};
use tidesync_webdav::{EntryKind, Overwrite, RemotePath};

/// Folders the generator places files in; `""` is the root. Two differ only in case.
const DIRS: &[&str] = &["", "Docs", "docs"];
/// Names, each in the letter cases the generator may write it in.
const NAMES: &[&[&str]] = &[
    &["note.txt", "Note.txt", "NOTE.txt"],
    &["photo.jpg", "Photo.JPG"],
    &["x", "X"],
];

/// A file's place: a folder of [`DIRS`], a name of [`NAMES`] in one of its cases.
#[derive(Debug, Clone, Copy)]
struct Place {
    dir: usize,
    name: usize,
    case: usize,
}

impl Place {
    fn path(&self) -> String {
        let variants = NAMES[self.name];
        let name = variants[self.case % variants.len()];
        match DIRS[self.dir] {
            "" => name.to_owned(),
            dir => format!("{dir}/{name}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Renames the `n`th server file (by path order) to another case of its name.
    ServerRename {
        n: usize,
        case: usize,
    },
    /// Renames the `n`th phone file to another case of its name.
    PhoneRename {
        n: usize,
        case: usize,
    },
    ServerEdit {
        n: usize,
    },
    PhoneEdit {
        n: usize,
    },
    ServerNew(Place),
    PhoneNew(Place),
}

#[derive(Debug, Clone)]
struct Case {
    server: Vec<Place>,
    ops: Vec<Op>,
}

fn place() -> impl Strategy<Value = Place> {
    (0..DIRS.len(), 0..NAMES.len(), 0..3usize).prop_map(|(dir, name, case)| Place {
        dir,
        name,
        case,
    })
}

fn case() -> impl Strategy<Value = Case> {
    let op = prop_oneof![
        (0..8usize, 0..3usize).prop_map(|(n, case)| Op::ServerRename { n, case }),
        (0..8usize, 0..3usize).prop_map(|(n, case)| Op::PhoneRename { n, case }),
        (0..8usize).prop_map(|n| Op::ServerEdit { n }),
        (0..8usize).prop_map(|n| Op::PhoneEdit { n }),
        place().prop_map(Op::ServerNew),
        place().prop_map(Op::PhoneNew),
    ];
    (
        prop::collection::vec(place(), 1..8),
        prop::collection::vec(op, 1..6),
    )
        .prop_map(|(server, ops)| Case { server, ops })
}

/// `name` in the `case`th of the cases the generator writes it in, or, for a name it does not
/// know (a twin's copy), in lower or upper case.
fn recased(name: &str, case: usize) -> String {
    match NAMES.iter().find(|v| v.contains(&name)) {
        Some(variants) => variants[case % variants.len()].to_owned(),
        None if case.is_multiple_of(2) => name.to_lowercase(),
        None => name.to_uppercase(),
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
    let options = EngineOptions {
        mass_delete_guard: false,
        disk: Disk::CaseFolding,
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

    /// Writes `path` on the server (its folders made first), replacing what is there.
    async fn put(&self, path: &str, data: &[u8]) {
        put_remote(self.server.as_ref(), self.scratch.path(), path, data).await
    }

    /// The server's files by path.
    async fn server_files(&self) -> BTreeMap<String, Vec<u8>> {
        remote_files(self.server.as_ref()).await
    }

    /// The phone's files by path (its marker aside).
    fn local_files(&self) -> BTreeMap<String, Vec<u8>> {
        tidesync_testkit::tree::snapshot(self.local.path())
            .into_iter()
            .filter(|(p, _)| !p.ends_with('/') && p != tidesync_testkit::tree::MARKER)
            .collect()
    }

    /// Writes `path` on the phone as a case-insensitive volume would: into the entries that
    /// already hold its names in other case.
    fn write_local(&self, path: &str, data: &[u8]) {
        let full = Disk::CaseFolding.resolve(self.local.path(), path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, data).unwrap();
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// Two names in one folder of `root` that differ only in case, if any.
fn case_twins(root: &Path) -> Option<(String, String)> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            }
            if let Some(other) = seen.insert(fold_case(&name), name.clone()) {
                return Some((other, name));
            }
        }
    }
    None
}

async fn act(stage: &Stage, op: Op, i: usize) {
    let data = format!("op #{i}: {op:?}").into_bytes();
    match op {
        Op::ServerRename { n, case } => {
            let files: Vec<String> = stage.server_files().await.into_keys().collect();
            let Some(from) = files.get(n % files.len().max(1)) else {
                return;
            };
            let (folder, name) = match from.rsplit_once('/') {
                Some((folder, name)) => (Some(folder), name),
                None => (None, from.as_str()),
            };
            let renamed = recased(name, case);
            let to = match folder {
                Some(folder) => format!("{folder}/{renamed}"),
                None => renamed,
            };
            if files.contains(&to) {
                return;
            }
            stage
                .server
                .move_to(
                    &RemotePath::parse(from).unwrap(),
                    &RemotePath::parse(&to).unwrap(),
                    EntryKind::File,
                    Overwrite::Never,
                )
                .await
                .unwrap();
        }
        Op::PhoneRename { n, case } => {
            let files: Vec<String> = stage.local_files().into_keys().collect();
            let Some(from) = files.get(n % files.len().max(1)) else {
                return;
            };
            let full = stage.local.path().join(from);
            let name = full.file_name().unwrap().to_str().unwrap().to_owned();
            let renamed = recased(&name, case);
            // Another case of the same name: such a volume renames the file itself.
            if fold_case(&renamed) == fold_case(&name) && renamed != name {
                std::fs::rename(&full, full.with_file_name(renamed)).unwrap();
            }
        }
        Op::ServerEdit { n } => {
            let files: Vec<String> = stage.server_files().await.into_keys().collect();
            if let Some(path) = files.get(n % files.len().max(1)) {
                stage.put(path, &data).await;
            }
        }
        Op::PhoneEdit { n } => {
            let files: Vec<String> = stage.local_files().into_keys().collect();
            if let Some(path) = files.get(n % files.len().max(1)) {
                std::fs::write(stage.local.path().join(path), &data).unwrap();
            }
        }
        Op::ServerNew(place) => stage.put(&place.path(), &data).await,
        Op::PhoneNew(place) => stage.write_local(&place.path(), &data),
    }
}

async fn play(server: &CaseServer, folder: &str, case: &Case) -> Result<(), TestCaseError> {
    let stage = stage(server, folder).await;
    for (i, place) in case.server.iter().enumerate() {
        let path = place.path();
        stage
            .put(&path, format!("server #{i} at {path}").as_bytes())
            .await;
    }
    let first = stage.sync().await;
    if first.state != JobState::Completed || !first.summary.errors.is_empty() {
        return Err(fail(format!("the first sync: {first:?}")));
    }
    let synced: Vec<Vec<u8>> = stage.local_files().into_values().collect();
    for (i, op) in case.ops.iter().enumerate() {
        act(&stage, *op, i).await;
    }
    let server_before = stage.server_files().await;
    let local_before = stage.local_files();

    let mut outcomes = Vec::new();
    for run in 0..3 {
        let outcome = stage.sync().await;
        if outcome.state != JobState::Completed || !outcome.summary.errors.is_empty() {
            return Err(fail(format!("run {run} after the changes: {outcome:?}")));
        }
        outcomes.push(outcome);
        if let Some(twins) = case_twins(stage.local.path()) {
            return Err(fail(format!(
                "run {run} left two names the volume cannot hold: {twins:?}; {outcomes:#?}"
            )));
        }
    }
    if changes(&outcomes[2].summary) > 0 {
        return Err(fail(format!(
            "the third run was not a no-op: {outcomes:#?}"
        )));
    }
    let server_after = stage.server_files().await;
    let local_after = stage.local_files();
    let contents = |files: &BTreeMap<String, Vec<u8>>| {
        let mut all: Vec<Vec<u8>> = files.values().cloned().collect();
        all.sort();
        all
    };
    // A synced version that one side no longer holds was edited there: the other side's copy
    // of it is the old version, which the edit replaces.
    let replaced = |data: &Vec<u8>| {
        synced.contains(data)
            && !(server_before.values().any(|d| d == data)
                && local_before.values().any(|d| d == data))
    };
    for (side, files) in [("server", &server_before), ("phone", &local_before)] {
        for (path, data) in files {
            if replaced(data) {
                continue;
            }
            let kept =
                server_after.values().any(|d| d == data) || local_after.values().any(|d| d == data);
            if !kept {
                return Err(fail(format!(
                    "the {side}'s {path} ({}) was lost: server {server_after:?}, phone \
                     {local_after:?}; runs: {outcomes:#?}",
                    String::from_utf8_lossy(data)
                )));
            }
        }
    }
    if contents(&server_after) != contents(&local_after) {
        return Err(fail(format!(
            "the sides differ: server {server_after:?}, phone {local_after:?}; runs: \
             {outcomes:#?}"
        )));
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
fn letter_case_loses_nothing_on_the_in_memory_server() {
    cases_on(
        CaseServer::Memory,
        env_number("TIDESYNC_CASE_CASES", 150),
        21,
    );
}

fn on_real_server(real: RealServer, seed: u8) {
    let cases = env_number("TIDESYNC_MODEL_SERVER_CASES", 12);
    real.serve(|server| cases_on(server, cases, seed));
}

#[test]
fn letter_case_loses_nothing_on_dav_server() {
    on_real_server(RealServer::Dav, 22);
}

#[test]
fn letter_case_loses_nothing_on_rclone_serve() {
    on_real_server(RealServer::Rclone, 23);
}

#[test]
fn letter_case_loses_nothing_on_apache_mod_dav() {
    on_real_server(RealServer::Apache, 24);
}

#[test]
fn letter_case_loses_nothing_on_the_nextcloud_emulation() {
    on_real_server(RealServer::Nextcloud, 25);
}
