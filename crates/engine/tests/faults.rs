//! Broken connections and misbehaving servers lose nothing: every fault of the test kit's TCP
//! proxy (latency, a bandwidth cap, a cut after some bytes, a stall, a reset, refused
//! connections) on every connection of a download, an upload and a two-way sync (listing
//! included), then a seeded schedule of mixed faults; and every fault of its HTTP layer (423,
//! 429, 503 and 507 with `Retry-After`, an ignored range, a wrong `Content-Range`, a short body,
//! an ETag changed since the listing, a file changed mid-download, slow headers) on each kind of
//! request a sync makes. After each, one clean sync makes both sides byte-identical, no temporary
//! name is left on either side, nothing appears outside the test's folders, and a further sync
//! finds nothing to do (the journal agrees with both sides).
//!
//! `TIDESYNC_LONG=1` runs the full schedule of 200 faults; CI runs 40.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{leftovers, visible};
use tidesync_engine::{
    Engine, EngineOptions, FailureKind, JobState, Mode, Outcome, PairId, PlainHttp, Summary,
};
use tidesync_testkit::tree::write_tree;
use tidesync_testkit::{Fault, FaultProxy, FaultyDav, HttpFault};

struct Rig {
    root: tempfile::TempDir,
    /// Every file the rig seeded, by its path on both sides: each must survive every fault.
    seeded: Vec<String>,
    engine: Engine,
    pair: PairId,
    proxy: FaultProxy,
    server: FaultyDav,
}

/// Impatient clients (see `common::impatient`), and ranges to break.
fn options() -> EngineOptions {
    EngineOptions {
        webdav: common::impatient(),
        // Files over 64 KiB come in ranges, so range faults have ranges to break.
        range_size: 64 * 1024,
        // The proxy's faults stick to a connection for its whole life, so every connection
        // the adaptive limit opens stays faulty in the pool for later runs, which no real
        // network does. These tests are about surviving faults with a fixed number of
        // connections; the adaptive limit has its own tests (crates/webdav/tests/adaptive.rs).
        transfers: 8,
        ..EngineOptions::default()
    }
}

impl Rig {
    /// A server folder and a local folder seeded for `mode`, the server behind a fault proxy.
    async fn new(mode: Mode, files: usize, seed: u64) -> Rig {
        let root = tempfile::tempdir().unwrap();
        for dir in ["remote", "local", "data"] {
            std::fs::create_dir(root.path().join(dir)).unwrap();
        }
        let (remote, local) = (root.path().join("remote"), root.path().join("local"));
        let mut seeded = Vec::new();
        if mode != Mode::Upload {
            let written = write_tree(&remote.join("server"), seed, files);
            seeded.extend(written.into_iter().map(|p| format!("server/{p}")));
        }
        if mode != Mode::Download {
            let written = write_tree(&local.join("phone"), seed + 1, files);
            seeded.extend(written.into_iter().map(|p| format!("phone/{p}")));
        }
        let server = FaultyDav::serve(&remote).await.unwrap();
        let proxy = FaultProxy::start(server.addr()).await.unwrap();
        let engine = Engine::open(&root.path().join("data"), options())
            .await
            .unwrap();
        let id = engine
            .add_remote("faulty", &proxy.url(), None, PlainHttp::LoopbackOnly)
            .await
            .unwrap();
        let pair = engine.ensure_pair(id, "", &local, mode).await.unwrap();
        Rig {
            root,
            seeded,
            engine,
            pair,
            proxy,
            server,
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    async fn sync(&self) -> Outcome {
        let job = self.engine.start(self.pair).await.unwrap();
        tokio::time::timeout(Duration::from_secs(120), self.engine.wait(job))
            .await
            .expect("a sync under faults ends")
            .unwrap()
    }

    /// One clean sync, then everything the guarantees promise.
    async fn converges(&self, what: &str) {
        self.proxy.always(None);
        self.server.disarm();
        let outcome = self.sync().await;
        assert_eq!(outcome.state, JobState::Completed, "{what}: {outcome:?}");
        assert!(outcome.summary.errors.is_empty(), "{what}: {outcome:?}");
        let (local, remote) = (self.dir("local"), self.dir("remote"));
        let (local_files, remote_files) = (visible(&local), visible(&remote));
        assert_eq!(local_files, remote_files, "{what}: both sides agree");
        for path in &self.seeded {
            assert!(
                local_files.contains_key(path),
                "{what}: the seeded {path} survived"
            );
        }
        assert!(
            leftovers(&local).is_empty(),
            "{what}: {:?}",
            leftovers(&local)
        );
        assert!(
            leftovers(&remote).is_empty(),
            "{what}: {:?}",
            leftovers(&remote)
        );
        assert_eq!(
            entries(self.root.path()),
            ["data", "local", "remote"],
            "{what}"
        );
        let again = self.sync().await;
        assert_eq!(
            again.summary,
            Summary::default(),
            "{what}: nothing left to do"
        );
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn every_fault(mode: Mode) {
    for (i, fault) in Fault::catalogue().into_iter().enumerate() {
        let rig = Rig::new(mode, 12, 40 + i as u64).await;
        rig.proxy.always(Some(fault));
        let outcome = rig.sync().await;
        // A fault may be survived by retries or end the run; it never ends it any other way.
        assert!(
            matches!(outcome.state, JobState::Completed | JobState::Failed),
            "{fault:?}: {outcome:?}"
        );
        rig.converges(&format!("{mode:?} under {fault:?}")).await;
    }
}

#[tokio::test]
async fn every_fault_during_a_download() {
    every_fault(Mode::Download).await;
}

#[tokio::test]
async fn every_fault_during_an_upload() {
    every_fault(Mode::Upload).await;
}

#[tokio::test]
async fn every_fault_during_a_two_way_sync() {
    every_fault(Mode::TwoWay).await;
}

#[tokio::test]
async fn a_seeded_schedule_of_mixed_faults_across_a_two_way_sync() {
    let faults = if std::env::var("TIDESYNC_LONG").is_ok_and(|v| v == "1") {
        200
    } else {
        40
    };
    let rig = Rig::new(Mode::TwoWay, 40, 7).await;
    rig.proxy.schedule(2026, faults);
    let mut runs = 0u64;
    while rig.proxy.faults_dealt() < faults && runs < 200 {
        let outcome = rig.sync().await;
        runs += 1;
        if outcome.state == JobState::Completed && outcome.summary == Summary::default() {
            // In sync and nothing more to fetch: edit both sides so the schedule keeps biting.
            write_tree(&rig.dir("local").join(format!("phone-{runs}")), runs, 5);
            write_tree(
                &rig.dir("remote").join(format!("server-{runs}")),
                100 + runs,
                5,
            );
        }
    }
    assert!(
        rig.proxy.faults_dealt() >= faults,
        "only {} of {faults} faults were dealt in {runs} runs",
        rig.proxy.faults_dealt()
    );
    rig.converges(&format!("schedule of {faults} faults (seed 2026)"))
        .await;
}

/// The requests each mode makes on fresh trees.
fn made_by(mode: Mode, method: &str) -> bool {
    match mode {
        Mode::Download => matches!(method, "PROPFIND" | "GET"),
        Mode::Upload => matches!(method, "PROPFIND" | "PUT" | "MOVE" | "MKCOL"),
        Mode::TwoWay => true,
    }
}

/// What the faulty run itself must show: a full server fails the job as a storage problem, what
/// retries can absorb leaves no trace, a file changed since its listing is reported, and
/// nothing else ends a job.
fn survived_as_promised(fault: HttpFault, outcome: &Outcome, what: &str) {
    match fault {
        HttpFault::Status(507, _) => {
            assert_eq!(outcome.state, JobState::Failed, "{what}: {outcome:?}");
            assert_eq!(outcome.failure, Some(FailureKind::Storage), "{what}");
            let message = outcome.error.as_deref().unwrap_or_default();
            assert!(message.contains("storage is full"), "{what}: {message}");
        }
        HttpFault::Status(..) | HttpFault::SlowHeaders(_) | HttpFault::IgnoreRange => {
            assert_eq!(outcome.state, JobState::Completed, "{what}: {outcome:?}");
            assert!(outcome.summary.errors.is_empty(), "{what}: {outcome:?}");
        }
        HttpFault::EtagChanges => {
            assert_eq!(outcome.state, JobState::Completed, "{what}: {outcome:?}");
            assert!(
                outcome
                    .summary
                    .errors
                    .iter()
                    .any(|e| e.message.contains("changed since it was listed")),
                "{what}: {outcome:?}"
            );
        }
        _ => assert!(
            matches!(outcome.state, JobState::Completed | JobState::Failed),
            "{what}: {outcome:?}"
        ),
    }
}

async fn every_http_fault(mode: Mode) {
    let mut seed = 300;
    for fault in HttpFault::catalogue() {
        for &method in fault.methods().iter().filter(|m| made_by(mode, m)) {
            seed += 1;
            let rig = Rig::new(mode, 10, seed).await;
            // Twice, so the retry meets it too; a stall once, as each costs an idle timeout.
            let times = if matches!(fault, HttpFault::SlowHeaders(_)) {
                1
            } else {
                2
            };
            rig.server.arm(method, fault, times);
            let outcome = rig.sync().await;
            let what = format!("{mode:?}, {method} answered with {fault:?}");
            assert!(
                rig.server.dealt() > 0,
                "{what}: the fault never met a request"
            );
            survived_as_promised(fault, &outcome, &what);
            rig.converges(&what).await;
        }
    }
}

#[tokio::test]
async fn every_http_fault_during_a_download() {
    every_http_fault(Mode::Download).await;
}

#[tokio::test]
async fn every_http_fault_during_an_upload() {
    every_http_fault(Mode::Upload).await;
}

#[tokio::test]
async fn every_http_fault_during_a_two_way_sync() {
    every_http_fault(Mode::TwoWay).await;
}

/// A file that stays locked on the server (423, a person or an app has it open) past the
/// retries is skipped with a message that says so, the rest of the run goes on, and the next
/// run syncs it.
#[tokio::test]
async fn a_file_locked_on_the_server_is_skipped_and_synced_next_time() {
    let rig = Rig::new(Mode::Upload, 1, 12).await;
    let attempts = options().webdav.retry.attempts;
    rig.server.arm("PUT", HttpFault::Status(423, 0), attempts);
    let outcome = rig.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(outcome.summary.errors.len(), 1, "{outcome:?}");
    assert!(
        outcome.summary.errors[0]
            .message
            .contains("locked on the server"),
        "{:?}",
        outcome.summary.errors
    );
    rig.converges("a file locked past the retries").await;
}

/// An upload whose move fails, and whose cleanup fails too, leaves its hidden temp on the
/// server only until the next run: the temp name was recorded in the journal before the PUT,
/// and every run starts by deleting the recorded ones.
#[tokio::test]
async fn an_upload_temp_that_could_not_be_cleaned_up_is_deleted_by_the_next_run() {
    let rig = Rig::new(Mode::Upload, 1, 11).await;
    rig.server.arm("MOVE", HttpFault::Status(503, 0), 1000);
    rig.server.arm("DELETE", HttpFault::Status(503, 0), 1000);
    let failed = rig.sync().await;
    assert_eq!(failed.summary.files_uploaded, 0, "{failed:?}");
    assert!(!failed.summary.errors.is_empty(), "{failed:?}");
    assert!(
        !leftovers(&rig.dir("remote")).is_empty(),
        "the failed cleanup left the temp file"
    );
    rig.converges("after a failed cleanup").await;
}

/// A part file whose removal failed is not forgotten: the journal keeps a record of it, and a
/// later run removes it once it can. Here the first run's download of the one file fails on
/// the server (500) before a byte arrives; its part name is taken by a folder, so discarding
/// the part fails, and so does that run's own sweep. Then a part file lies there, as one
/// left by a card that turned read-only would, and the file is gone from the server: the
/// next run, with nothing to download, still removes it.
#[tokio::test]
async fn a_part_file_that_could_not_be_removed_is_removed_by_a_later_run() {
    let mut rig = Rig::new(Mode::Download, 1, 13).await;
    let file = rig.seeded[0].clone();
    let target = rig.dir("local").join(&file);
    let part = tidesync_engine::transfer::part_path(&target);
    std::fs::create_dir_all(part.join("inside")).unwrap();
    rig.server.arm("GET", HttpFault::Status(500, 0), 1000);
    let failed = rig.sync().await;
    assert_eq!(failed.summary.files_downloaded, 0, "{failed:?}");
    assert_eq!(failed.summary.errors.len(), 1, "{failed:?}");
    assert!(part.is_dir(), "nothing could remove the folder");

    std::fs::remove_dir_all(&part).unwrap();
    std::fs::write(&part, b"half a download").unwrap();
    std::fs::remove_file(rig.dir("remote").join(&file)).unwrap();
    rig.seeded.clear();
    rig.converges("after a part file that could not be removed")
        .await;
    assert!(!part.exists(), "the recorded part file was removed");
}
