//! The hazards of real disks, in generated trees.
//!
//! Each case syncs a random tree down from the server, then, on the phone, puts hazards at
//! random places — a symbolic link to a folder outside the sync folder, a link to a file
//! inside it, a dangling link, a named pipe — some replacing synced files or folders, and
//! writes new files, some under decomposed (NFD) names, one name of 250 bytes, and some dated
//! after 2262; on the in-memory server one of them is sometimes rewritten in place (size and
//! time kept) as the first upload arrives. Now and then the sync folder itself is then removed, or removed and made again
//! empty: the next sync must stop (`FolderGone`) with the server unchanged. Otherwise it syncs
//! two-way three times. The oracle:
//! - every sync completes, with no error (a hazard is skipped, not a failure; a file rewritten
//!   while it went up is the first sync's error, sent by the next);
//! - nothing is written outside the sync folder;
//! - every server file at or below a hazard is still on the server, unchanged;
//! - every other file the server had, and every file the phone wrote, is on the server (at
//!   its name in any Unicode form, or as a conflict copy in its folder);
//! - the hazards are still on the phone as they were, and no part file is left;
//! - the third run changes nothing.
//!
//! Unreadable folders are not generated: these tests run as root on CI, which reads anything;
//! `crates/cli/tests/hazards.rs` runs the CLI as `nobody` for them.
//!
//! proptest generates and shrinks. The in-memory server runs `TIDESYNC_HAZARD_CASES` cases
//! (150 by default); dav-server, rclone serve, Apache mod_dav and the Nextcloud emulation
//! `TIDESYNC_MODEL_SERVER_CASES` each (12), every case in a folder of its own.

#![cfg(unix)]

mod common;

use common::generated::{
    CaseServer, RealServer, changes, env_number, put_remote, remote_files, run_cases,
};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tidesync_engine::memory::MemoryRemote;
use tidesync_engine::names::nfc;
use tidesync_engine::remote::Remote;
use tidesync_engine::{Engine, EngineOptions, FailureKind, JobState, Mode, Outcome, PairId};

/// Folders the generator places things in; `""` is the root.
const DIRS: &[&str] = &["", "Docs", "Docs/\u{c9}t\u{e9}", "\u{3a9}"];
/// Names, several with accents (so the NFD forms differ), and one of 250 bytes (its part
/// file must fit the 255-byte limit).
static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    let short = [
        "a.txt",
        "r\u{e9}sum\u{e9}.md",
        "x",
        "na\u{ef}ve",
        "Zo\u{eb}",
    ];
    let mut names: Vec<String> = short.into_iter().map(str::to_owned).collect();
    names.push(format!("{}.txt", "l".repeat(246)));
    names
});

#[derive(Debug, Clone, Copy)]
enum Hazard {
    LinkOutside,
    LinkInside,
    Dangling,
    Fifo,
}

/// Where something goes: a folder of [`DIRS`], and a name of [`NAMES`] in it, or the
/// folder itself (`name == None`, never the root).
#[derive(Debug, Clone, Copy)]
struct Place {
    dir: usize,
    name: Option<usize>,
}

impl Place {
    fn path(&self) -> Option<String> {
        let dir = DIRS[self.dir];
        match (self.name, dir) {
            (None, "") => None,
            (None, dir) => Some(dir.to_owned()),
            (Some(n), "") => Some(NAMES[n].clone()),
            (Some(n), dir) => Some(format!("{dir}/{}", NAMES[n])),
        }
    }
}

/// What becomes of the sync folder itself after the first sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Kept,
    /// Gone, as an unmounted card or a folder moved away.
    Removed,
    /// Gone and made again empty, as a card formatted or another one put in.
    Replaced,
}

#[derive(Debug, Clone)]
struct Case {
    server: Vec<Place>,
    hazards: Vec<(Place, Hazard)>,
    /// New local files: where, whether decomposed, whether dated after 2262.
    local: Vec<(Place, bool, bool)>,
    root: Root,
    /// On the in-memory server: the new local file rewritten in place (its size and time
    /// kept) as the first upload arrives, and whether the server's `PUT` is atomic (a small
    /// file is then read whole before it goes up).
    rewrite: Option<(usize, bool)>,
}

fn place() -> impl Strategy<Value = Place> {
    (0..DIRS.len(), prop::option::weighted(0.8, 0..NAMES.len()))
        .prop_map(|(dir, name)| Place { dir, name })
}

fn file_place() -> impl Strategy<Value = Place> {
    (0..DIRS.len(), 0..NAMES.len()).prop_map(|(dir, name)| Place {
        dir,
        name: Some(name),
    })
}

fn case() -> impl Strategy<Value = Case> {
    let hazard = prop_oneof![
        Just(Hazard::LinkOutside),
        Just(Hazard::LinkInside),
        Just(Hazard::Dangling),
        Just(Hazard::Fifo),
    ];
    let root = prop_oneof![
        16 => Just(Root::Kept),
        1 => Just(Root::Removed),
        1 => Just(Root::Replaced),
    ];
    (
        prop::collection::vec(file_place(), 1..8),
        prop::collection::vec((place(), hazard), 1..4),
        prop::collection::vec(
            (file_place(), any::<bool>(), prop::bool::weighted(0.2)),
            0..5,
        ),
        root,
        prop::option::weighted(0.3, (0..5usize, any::<bool>())),
    )
        .prop_map(|(server, hazards, local, root, rewrite)| Case {
            server,
            hazards,
            local,
            root,
            rewrite,
        })
}

/// `path` decomposed: NFD of every accented letter the names use.
fn decomposed(path: &str) -> String {
    path.chars()
        .map(|c| match c {
            '\u{e9}' => "e\u{301}".to_owned(),
            '\u{c9}' => "E\u{301}".to_owned(),
            '\u{ef}' => "i\u{308}".to_owned(),
            '\u{eb}' => "e\u{308}".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

fn is_at_or_below(path: &str, place: &str) -> bool {
    let (path, place) = (nfc(path), nfc(place));
    path == place || path.starts_with(&format!("{place}/"))
}

/// A case's pair: its engine, its server (through the engine's `Remote` interface), its
/// local folder and the folder outside it that links point into.
struct Stage {
    engine: Engine,
    pair: PairId,
    server: Arc<dyn Remote>,
    /// The in-memory server as itself, for its upload hook.
    memory: Option<Arc<MemoryRemote>>,
    local: tempfile::TempDir,
    outside: tempfile::TempDir,
    scratch: tempfile::TempDir,
    _data: tempfile::TempDir,
}

async fn stage(server: &CaseServer, folder: &str, atomic_put: bool) -> Stage {
    let data = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        mass_delete_guard: false,
        ..EngineOptions::default()
    };
    let memory = MemoryRemote::offering(tidesync_webdav::Abilities {
        atomic_put,
        chunking: None,
        bulk_upload: None,
    });
    let connected = server
        .connect_to(data.path(), folder, options, false, memory)
        .await;
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
        memory: connected.memory,
        local,
        outside: tempfile::tempdir().unwrap(),
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

    /// Puts `hazard` at `path` on the phone, in place of whatever stood there.
    fn make(&self, path: &str, hazard: Hazard) {
        let full = self.local.path().join(path);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&full).unwrap(),
            Ok(_) => std::fs::remove_file(&full).unwrap(),
            Err(_) => std::fs::create_dir_all(full.parent().unwrap()).unwrap(),
        }
        match hazard {
            Hazard::LinkOutside => std::os::unix::fs::symlink(self.outside.path(), &full).unwrap(),
            Hazard::LinkInside => {
                let target = self.local.path().join("kept.txt");
                std::os::unix::fs::symlink(target, &full).unwrap()
            }
            Hazard::Dangling => std::os::unix::fs::symlink("nowhere", &full).unwrap(),
            Hazard::Fifo => {
                let made = std::process::Command::new("mkfifo").arg(&full).status();
                assert!(made.unwrap().success());
            }
        }
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// What a hazard looks like on the disk, to see it untouched.
fn kind_at(path: &Path) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::symlink_metadata(path).ok()?;
    let kind = meta.file_type();
    Some(if kind.is_symlink() {
        format!("link to {:?}", std::fs::read_link(path).ok()?)
    } else if kind.is_fifo() {
        "pipe".to_owned()
    } else {
        "other".to_owned()
    })
}

async fn play(server: &CaseServer, folder: &str, case: &Case) -> Result<(), TestCaseError> {
    let stage = stage(
        server,
        folder,
        case.rewrite.is_some_and(|(_, atomic)| atomic),
    )
    .await;
    std::fs::write(stage.outside.path().join("outside.txt"), b"outside").unwrap();
    // The server's tree, synced down once (a file where a folder already is, or inside a
    // file, is left out).
    let mut server_before = BTreeMap::new();
    for (i, place) in case.server.iter().enumerate() {
        let path = place.path().unwrap();
        let clash = server_before.keys().any(|p: &String| {
            p.starts_with(&format!("{path}/")) || path.starts_with(&format!("{p}/"))
        });
        if clash || server_before.contains_key(&path) {
            continue;
        }
        let data = format!("server #{i} at {path}").into_bytes();
        stage.put(&path, &data).await;
        server_before.insert(path, data);
    }
    std::fs::write(stage.local.path().join("kept.txt"), b"kept").unwrap();
    let first = stage.sync().await;
    if first.state != JobState::Completed || !first.summary.errors.is_empty() {
        return Err(fail(format!("the first sync: {first:?}")));
    }
    let server_before = stage.server_files().await;

    // Hazards, then the phone's new files where no hazard stands.
    let mut hazards: Vec<(String, String)> = Vec::new();
    for (place, hazard) in &case.hazards {
        let Some(path) = place.path() else { continue };
        if hazards.iter().any(|(h, _)| is_at_or_below(&path, h)) || path == "kept.txt" {
            continue;
        }
        stage.make(&path, *hazard);
        hazards.retain(|(h, _)| !is_at_or_below(h, &path));
        hazards.push((
            path.clone(),
            kind_at(&stage.local.path().join(&path)).unwrap(),
        ));
    }
    let mut written: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, (place, nfd, far)) in case.local.iter().enumerate() {
        let path = place.path().unwrap();
        let blocked = hazards
            .iter()
            .any(|(h, _)| is_at_or_below(&path, h) || is_at_or_below(h, &path));
        let taken = written
            .iter()
            .any(|(w, _)| is_at_or_below(&path, w) || is_at_or_below(w, &path));
        let full = stage.local.path().join(&path);
        let parent_is_file = full
            .ancestors()
            .skip(1)
            .take_while(|a| *a != stage.local.path())
            .any(|a| std::fs::symlink_metadata(a).is_ok_and(|m| !m.is_dir()));
        if blocked || taken || parent_is_file || full.is_dir() {
            continue;
        }
        // Only the file's own name is decomposed: its folders are the synced ones (a folder
        // made again under another spelling is two names, which the engine reports).
        let on_disk = match (nfd, path.rsplit_once('/')) {
            (false, _) => path.clone(),
            (true, Some((folder, name))) => format!("{folder}/{}", decomposed(name)),
            (true, None) => decomposed(&path),
        };
        // Overwriting a synced file under the other spelling would make two names.
        let synced_twin = server_before
            .keys()
            .any(|s| nfc(s) == nfc(&path) && *s != on_disk);
        let full = stage
            .local
            .path()
            .join(if synced_twin { &path } else { &on_disk });
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        let data = format!("phone #{i} at {path}").into_bytes();
        std::fs::write(&full, &data).unwrap();
        if *far {
            let year_2400 = SystemTime::UNIX_EPOCH + Duration::from_secs(430 * 365 * 24 * 3_600);
            let file = std::fs::File::options().write(true).open(&full).unwrap();
            file.set_modified(year_2400).unwrap();
        }
        written.push((path, data));
    }

    // A new file rewritten in place as the first upload arrives, its size and time kept, as
    // editors and databases do: the sync must end with the new bytes on the server.
    if let (Some((n, _)), Some(memory)) = (case.rewrite, &stage.memory)
        && !written.is_empty()
    {
        let chosen = n % written.len();
        let (path, data) = &mut written[chosen];
        // The name as written on the disk: maybe decomposed.
        let spellings = [
            path.clone(),
            match path.rsplit_once('/') {
                Some((folder, name)) => format!("{folder}/{}", decomposed(name)),
                None => decomposed(path),
            },
        ];
        let full = spellings
            .iter()
            .map(|p| stage.local.path().join(p))
            .find(|p| p.is_file())
            .expect("the file the phone wrote");
        let newer: Vec<u8> = data.iter().map(|b| b ^ 1).collect();
        *data = newer.clone();
        memory.during_next_upload(move || {
            let time = std::fs::metadata(&full).unwrap().modified().unwrap();
            std::fs::write(&full, &newer).unwrap();
            let file = std::fs::File::options().write(true).open(&full).unwrap();
            file.set_modified(time).unwrap();
        });
    }
    if case.root != Root::Kept {
        // The folder is not the one synced: every run stops before planning, in every mode,
        // and the server keeps every file.
        std::fs::remove_dir_all(stage.local.path()).unwrap();
        if case.root == Root::Replaced {
            std::fs::create_dir(stage.local.path()).unwrap();
        }
        let stopped = stage.sync().await;
        if stopped.failure != Some(FailureKind::FolderGone) {
            return Err(fail(format!(
                "a {:?} folder synced: {stopped:?}",
                case.root
            )));
        }
        let server_after = stage.server_files().await;
        if server_after != server_before {
            return Err(fail(format!(
                "the server changed behind a {:?} folder: {server_after:?}",
                case.root
            )));
        }
        return Ok(());
    }
    let mut outcomes = Vec::new();
    for run in 0..3 {
        let outcome = stage.sync().await;
        // A file rewritten while it went up is left for the next sync, and says so.
        let unexpected = outcome.summary.errors.iter().any(|e| {
            !(case.rewrite.is_some() && run == 0 && e.message.contains("the local file changed"))
        });
        if outcome.state != JobState::Completed || unexpected {
            return Err(fail(format!("run {run} after the hazards: {outcome:?}")));
        }
        outcomes.push(outcome);
    }
    if changes(&outcomes[2].summary) > 0 {
        return Err(fail(format!(
            "the third run was not a no-op: {outcomes:#?}"
        )));
    }
    let outside = tidesync_testkit::tree::snapshot(stage.outside.path());
    if outside.len() != 1 || outside.get("outside.txt").map(Vec::as_slice) != Some(b"outside") {
        return Err(fail(format!("written outside the folder: {outside:?}")));
    }
    for (path, kind) in &hazards {
        let now = kind_at(&stage.local.path().join(path));
        if now.as_ref() != Some(kind) {
            return Err(fail(format!("the hazard at {path} became {now:?}")));
        }
    }
    let server_after = stage.server_files().await;
    let on_server = |path: &str, data: &[u8]| {
        let folder = |p: &str| nfc(p).rsplit_once('/').map(|(f, _)| f.to_owned());
        server_after
            .iter()
            .any(|(p, d)| d == data && (nfc(p) == nfc(path) || folder(p) == folder(path)))
    };
    for (path, data) in &server_before {
        let shielded = hazards.iter().any(|(h, _)| is_at_or_below(path, h));
        if shielded && server_after.get(path) != Some(data) {
            return Err(fail(format!(
                "{path}, at or below a hazard, changed on the server: {:?}; runs: {outcomes:#?}",
                server_after
                    .get(path)
                    .map(|d| String::from_utf8_lossy(d).into_owned())
            )));
        }
        let replaced_by_phone = written.iter().any(|(w, _)| nfc(w) == nfc(path));
        if !shielded && !replaced_by_phone && !on_server(path, data) {
            return Err(fail(format!(
                "{path} was lost on the server; it holds {:?}; runs: {outcomes:#?}",
                server_after.keys().collect::<Vec<_>>()
            )));
        }
    }
    for (path, data) in &written {
        if !on_server(path, data) {
            return Err(fail(format!(
                "the phone's {path} is not on the server; it holds {:?}; runs: {outcomes:#?}",
                server_after.keys().collect::<Vec<_>>()
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
fn hazards_lose_nothing_on_the_in_memory_server() {
    cases_on(
        CaseServer::Memory,
        env_number("TIDESYNC_HAZARD_CASES", 150),
        11,
    );
}

fn on_real_server(real: RealServer, seed: u8) {
    let cases = env_number("TIDESYNC_MODEL_SERVER_CASES", 12);
    real.serve(|server| cases_on(server, cases, seed));
}

#[test]
fn hazards_lose_nothing_on_dav_server() {
    on_real_server(RealServer::Dav, 12);
}

#[test]
fn hazards_lose_nothing_on_rclone_serve() {
    on_real_server(RealServer::Rclone, 13);
}

#[test]
fn hazards_lose_nothing_on_apache_mod_dav() {
    on_real_server(RealServer::Apache, 14);
}

#[test]
fn hazards_lose_nothing_on_the_nextcloud_emulation() {
    on_real_server(RealServer::Nextcloud, 15);
}
