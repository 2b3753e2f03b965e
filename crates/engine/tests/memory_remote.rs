//! The engine's logic on the in-memory server, in paused time: no sockets, no server process,
//! no real timers. Cancel in each phase, suspend and resume at seeded random points, and a storm
//! of lifecycle calls; the same scenarios run against a real server in `lifecycle.rs`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::leftovers;
use tidesync_engine::disk::Disk;
use tidesync_engine::memory::{MEMORY_CHUNK, MemoryConnector, MemoryRemote};
use tidesync_engine::{
    Engine, EngineOptions, JobId, JobState, Mode, PairId, Phase, PlainHttp, Summary,
};
use tidesync_testkit::tree::Seeded;

struct Setup {
    server: Arc<MemoryRemote>,
    engine: Engine,
    pair: PairId,
    local: tempfile::TempDir,
    _data: tempfile::TempDir,
}

/// Files above this come in ranges (a smaller range than the app's, to keep tests fast).
const RANGE: u64 = 1024 * 1024;

async fn setup(mode: Mode) -> Setup {
    setup_on(mode, Disk::Native).await
}

/// A pair whose local folder resolves names as `disk` does.
async fn setup_on(mode: Mode, disk: Disk) -> Setup {
    let (local, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let connector = MemoryConnector::new();
    let options = EngineOptions {
        range_size: RANGE,
        connector: connector.clone(),
        disk,
        ..EngineOptions::default()
    };
    let engine = Engine::open(data.path(), options).await.unwrap();
    let remote = engine
        .add_remote(
            "memory",
            "http://127.0.0.1:9/",
            None,
            PlainHttp::LoopbackOnly,
        )
        .await
        .unwrap();
    let server = Arc::new(MemoryRemote::new());
    connector.serve(remote, server.clone());
    let pair = engine
        .ensure_pair(remote, "", local.path(), mode)
        .await
        .unwrap();
    Setup {
        server,
        engine,
        pair,
        local,
        _data: data,
    }
}

impl Setup {
    async fn sync(&self) -> tidesync_engine::Outcome {
        let job = self.engine.start(self.pair).await.unwrap();
        self.engine.wait(job).await.unwrap()
    }

    fn local_files(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        tidesync_testkit::tree::snapshot(self.local.path())
            .into_iter()
            .filter(|(p, _)| !p.ends_with('/'))
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn download_upload_and_two_way_on_the_memory_server() {
    let s = setup(Mode::TwoWay).await;
    s.server.write("a.txt", b"from the server");
    s.server.write("deep/er/b.bin", &[7u8; 300_000]);
    std::fs::write(s.local.path().join("c.txt"), b"from the phone").unwrap();
    let outcome = s.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(
        (
            outcome.summary.files_downloaded,
            outcome.summary.files_uploaded
        ),
        (2, 1)
    );
    assert_eq!(s.local_files(), s.server.files());

    // Edits on both sides of the same file: both versions are kept.
    s.server.write("a.txt", b"the server's second version");
    std::fs::write(s.local.path().join("a.txt"), b"the phone's edit").unwrap();
    let outcome = s.sync().await;
    assert_eq!(outcome.summary.conflicts, 1, "{outcome:?}");
    assert_eq!(s.local_files(), s.server.files());
    assert_eq!(s.local_files()["a.txt"], b"the server's second version");
    assert!(
        s.local_files()
            .iter()
            .any(|(p, b)| p.starts_with("a (conflict ") && b == b"the phone's edit")
    );

    // A remote delete of an untouched file is carried over; nothing left to do after.
    s.server.remove("deep");
    let outcome = s.sync().await;
    assert_eq!(
        outcome.summary.deleted_local, 3,
        "the file and its two folders"
    );
    assert_eq!(s.sync().await.summary, Default::default());
}

#[tokio::test(start_paused = true)]
async fn new_folders_go_up_many_at_once_each_after_its_parent() {
    // At a phone's round trip one MKCOL after another costs a round trip per folder: 16 new
    // folders, each three deep, are made many at once, and none before its parent (the
    // memory server refuses that with 409, as WebDAV servers do).
    let s = setup(Mode::Upload).await;
    s.server.slow_mkcol(Duration::from_millis(50));
    for top in 0..16 {
        let deep = s.local.path().join(format!("t{top:02}/a/b"));
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("f.txt"), format!("{top}")).unwrap();
    }
    let outcome = s.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    assert_eq!(outcome.summary.files_uploaded, 16);
    assert_eq!(s.local_files(), s.server.files());
    assert!(
        s.server.mkcols_at_once() >= 8,
        "only {} MKCOLs at once",
        s.server.mkcols_at_once()
    );
}

#[tokio::test(start_paused = true)]
async fn names_differing_only_by_case_each_sync_where_the_folder_tells_them_apart() {
    let s = setup(Mode::TwoWay).await;
    s.server.write("notes.txt", b"one");
    s.server.write("NOTES.txt", b"two");
    s.server.write("Photos/a.jpg", b"a");
    s.server.write("photos/b.jpg", b"b");
    // The same name in two Unicode forms: the phone holds one item per NFC form.
    s.server.write("caf\u{e9}.txt", b"composed");
    s.server.write("cafe\u{301}.txt", b"decomposed");
    let outcome = s.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    let renamed: Vec<&str> = outcome
        .summary
        .renamed_locally
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(renamed, ["caf\u{e9}.txt"], "{outcome:?}");
    let files = s.local_files();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "NOTES.txt",
            "Photos/a.jpg",
            "cafe\u{301}.txt",
            "caf\u{e9} (Unicode conflict).txt",
            "notes.txt",
            "photos/b.jpg"
        ]
    );
    let again = s.sync().await;
    assert_eq!(
        (
            again.summary.files_downloaded,
            again.summary.files_uploaded,
            again.summary.deleted_local,
            again.summary.deleted_remote
        ),
        (0, 0, 0, 0),
        "no loop, nothing deleted: {again:?}"
    );
}

/// On a case-insensitive folder (emulated), the server's twins used to be skipped, and a
/// newcomer was an error on every run. Each now syncs with a copy of its own.
#[tokio::test(start_paused = true)]
async fn names_differing_only_by_case_get_copies_of_their_own_and_never_overwrite_each_other() {
    let s = setup_on(Mode::Download, Disk::CaseFolding).await;
    s.server.write("notes.txt", b"synced first");
    assert_eq!(s.sync().await.summary.files_downloaded, 1);
    s.server.write("NOTES.txt", b"a newcomer");
    s.server.write("Report.txt", b"one");
    s.server.write("report.txt", b"two");
    s.server.write("Photos/a.jpg", b"a");
    s.server.write("photos/b.jpg", b"b");
    s.server.write("plain.txt", b"unaffected");
    let outcome = s.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    let renamed: Vec<&str> = outcome
        .summary
        .renamed_locally
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(renamed, ["NOTES.txt", "photos", "report.txt"]);
    let files = s.local_files();
    let expected: [(&str, &[u8]); 7] = [
        ("NOTES (case conflict).txt", b"a newcomer"),
        ("Photos/a.jpg", b"a"),
        ("Report.txt", b"one"),
        ("notes.txt", b"synced first"),
        ("photos (case conflict)/b.jpg", b"b"),
        ("plain.txt", b"unaffected"),
        ("report (case conflict).txt", b"two"),
    ];
    assert_eq!(
        files
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect::<Vec<_>>(),
        expected
    );
    let again = s.sync().await;
    assert_eq!(
        (again.summary.files_downloaded, again.summary.deleted_local),
        (0, 0),
        "{again:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_file_installed_but_not_yet_recorded_is_recognised_not_duplicated() {
    let s = setup(Mode::TwoWay).await;
    s.server.write("a.txt", b"the same bytes on both sides");
    assert_eq!(s.sync().await.summary.files_downloaded, 1);
    // A crash inside the recorder's linger: the file is in place, its agreement is not.
    s.engine.journal().forget(s.pair, "a.txt").unwrap();
    let outcome = s.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(
        outcome.summary,
        Summary::default(),
        "no conflict, no transfer"
    );
    assert_eq!(
        s.local_files().keys().collect::<Vec<_>>(),
        ["a.txt"],
        "no conflict copy"
    );
    assert_eq!(s.sync().await.summary, Summary::default(), "recorded again");
}

#[tokio::test(start_paused = true)]
async fn a_suspend_before_the_job_first_runs_returns_with_it_suspended() {
    let s = setup(Mode::Download).await;
    s.server.write("a.txt", b"from the server");
    let job = s.engine.start(s.pair).await.unwrap();
    // One thread: the job task has not run yet when suspend() starts.
    s.engine.suspend().await;
    assert_eq!(s.engine.snapshot(job).unwrap().state, JobState::Suspended);
    assert_eq!(s.server.bytes_served(), 0, "nothing moved while suspended");
    s.engine.resume_all();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(s.local_files()["a.txt"], b"from the server");
}

#[tokio::test(start_paused = true)]
async fn a_remote_edit_during_a_paused_download_restarts_that_file() {
    let s = setup(Mode::Download).await;
    s.server.write("big.bin", &vec![1u8; 4 * 1024 * 1024]);
    let job = s.engine.start(s.pair).await.unwrap();
    while s.engine.snapshot(job).unwrap().bytes_done < 256 * 1024 {
        tokio::task::yield_now().await;
    }
    s.engine.pause(job).unwrap();
    while s.engine.snapshot(job).unwrap().state != JobState::Paused {
        tokio::task::yield_now().await;
    }
    // A new version while paused: the part file must not be glued onto it.
    s.server.write("big.bin", &vec![2u8; 3 * 1024 * 1024]);
    s.engine.resume(job).unwrap();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(s.local_files()["big.bin"], vec![2u8; 3 * 1024 * 1024]);
}

#[tokio::test(start_paused = true)]
async fn a_job_cancelled_while_listing_ends_cancelled_and_touches_nothing() {
    let s = setup(Mode::Download).await;
    s.server.write("a.txt", b"a");
    s.server.hold_listings();
    let job = s.engine.start(s.pair).await.unwrap();
    while s.engine.snapshot(job).unwrap().state != JobState::Running {
        tokio::task::yield_now().await;
    }
    s.engine.cancel(job).unwrap();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Cancelled);
    assert!(s.local_files().is_empty());
    s.server.release_listings();
    assert_eq!(
        s.sync().await.summary.files_downloaded,
        1,
        "the next sync does the work"
    );
}

#[tokio::test(start_paused = true)]
async fn a_suspend_while_listing_waits_for_resume_then_completes() {
    let s = setup(Mode::Download).await;
    s.server.write("a.txt", b"a");
    s.server.hold_listings();
    let job = s.engine.start(s.pair).await.unwrap();
    while s.engine.snapshot(job).unwrap().state != JobState::Running {
        tokio::task::yield_now().await;
    }
    s.engine.suspend().await;
    assert_eq!(s.engine.snapshot(job).unwrap().state, JobState::Suspended);
    s.server.release_listings();
    s.engine.resume_all();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    assert_eq!(s.local_files()["a.txt"], b"a");
}

#[tokio::test(start_paused = true)]
async fn a_download_that_does_not_match_the_servers_checksum_is_not_installed() {
    let s = setup(Mode::Download).await;
    s.server.write("good.txt", b"good bytes");
    s.server.write_claiming(
        "bad.txt",
        b"bytes the server corrupted",
        "SHA1:0000000000000000000000000000000000000000",
    );
    s.server
        .write_claiming("unchecked.txt", b"no checksum published", "");
    let outcome = s.sync().await;
    assert_eq!(outcome.summary.files_downloaded, 2, "{outcome:?}");
    assert_eq!(
        outcome.summary.files_verified, 1,
        "only the file with a published checksum counts as verified"
    );
    assert_eq!(outcome.summary.errors.len(), 1);
    assert!(
        outcome.summary.errors[0].message.contains("SHA1 checksum"),
        "{:?}",
        outcome.summary.errors
    );
    assert_eq!(
        s.local_files().keys().collect::<Vec<_>>(),
        ["good.txt", "unchecked.txt"],
        "no corrupt file, no part file"
    );
}

/// Lets the job run until it has received more than `bytes` (or ended). Yields instead of
/// sleeping: in paused time a sleep would only fire once the job itself goes idle.
async fn until_bytes(s: &Setup, job: JobId, bytes: u64) {
    loop {
        let snapshot = s.engine.snapshot(job).unwrap();
        if snapshot.bytes_done > bytes || snapshot.state.is_final() {
            return;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_job_cancelled_while_planning_ends_cancelled_and_transfers_nothing() {
    let s = setup(Mode::TwoWay).await;
    s.server.write("remote.txt", b"from the server");
    std::fs::write(s.local.path().join("local.txt"), b"from the phone").unwrap();
    let job = s.engine.start(s.pair).await.unwrap();
    // The job task has not run yet (one thread): the hook is in place before its listing.
    let engine = s.engine.clone();
    s.server
        .after_next_listing(move || engine.cancel(job).expect("the job is live"));
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Cancelled, "{outcome:?}");
    let snapshot = s.engine.snapshot(job).unwrap();
    assert_eq!(snapshot.phase, Phase::Planning, "stopped after the listing");
    assert_eq!(snapshot.files_total, 0, "no plan was carried out");
    assert_eq!(s.local_files().keys().collect::<Vec<_>>(), ["local.txt"]);
    assert_eq!(s.server.files().keys().collect::<Vec<_>>(), ["remote.txt"]);

    let outcome = s.sync().await;
    assert_eq!(
        (
            outcome.summary.files_downloaded,
            outcome.summary.files_uploaded
        ),
        (1, 1),
        "the next sync does the work"
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_cancelled_while_transferring_keeps_its_part_for_the_next_run() {
    let s = setup(Mode::Download).await;
    let data = Seeded::new(3).bytes(4 * 1024 * 1024);
    s.server.write("big.bin", &data);
    let job = s.engine.start(s.pair).await.unwrap();
    until_bytes(&s, job, 1024 * 1024).await;
    assert_eq!(s.engine.snapshot(job).unwrap().phase, Phase::Transferring);
    s.engine.cancel(job).unwrap();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Cancelled, "{outcome:?}");
    assert!(!s.local.path().join("big.bin").exists(), "no partial file");
    assert_eq!(leftovers(s.local.path()).len(), 1, "the part file is kept");
    let first = s.server.bytes_served();

    let outcome = s.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(s.local_files()["big.bin"], data);
    assert!(leftovers(s.local.path()).is_empty());
    let total = s.server.bytes_served();
    assert!(
        total <= data.len() as u64 + MEMORY_CHUNK as u64,
        "the second run resumed: {first} then {total} bytes for {}",
        data.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_large_file_comes_in_bounded_ranges_and_resumes_inside_one() {
    let s = setup(Mode::Download).await;
    let size = RANGE as usize * 5 / 2 + 5;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    s.server.write("disk.img", &data);
    let job = s.engine.start(s.pair).await.unwrap();
    // Suspend in the middle of the second range.
    until_bytes(&s, job, RANGE + RANGE / 4).await;
    s.engine.suspend().await;
    assert_eq!(s.engine.snapshot(job).unwrap().state, JobState::Suspended);
    s.engine.resume_all();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(s.local_files()["disk.img"] == data, "byte-identical");
    let snapshot = s.engine.snapshot(job).unwrap();
    assert_eq!(
        (snapshot.bytes_done, snapshot.bytes_total),
        (size as u64, size as u64),
        "the resumed job's bar counts each byte once"
    );
    assert!(leftovers(s.local.path()).is_empty());
    let ranges = s.server.ranges_asked();
    assert_eq!(ranges[0], (0, Some(RANGE)), "{ranges:?}");
    assert_eq!(ranges[1], (RANGE, Some(2 * RANGE)), "{ranges:?}");
    let (resumed_at, end) = ranges[2];
    assert!(
        resumed_at > RANGE && resumed_at < 2 * RANGE && end == Some(resumed_at + RANGE),
        "the resume continues inside the second range: {ranges:?}"
    );
    assert_eq!(ranges.len(), 4, "{ranges:?}");
    assert_eq!(ranges[3], (resumed_at + RANGE, Some(size as u64)));
    assert!(
        s.server.bytes_served() <= size as u64 + MEMORY_CHUNK as u64,
        "at most a chunk is fetched twice: {}",
        s.server.bytes_served()
    );
}

#[tokio::test(start_paused = true)]
async fn fifty_suspends_at_seeded_points_cost_at_most_a_chunk_each() {
    let s = setup(Mode::Download).await;
    let mut rng = Seeded::new(50);
    let mut expected = std::collections::BTreeMap::new();
    for (path, len) in [
        ("movie.bin", 12 * 1024 * 1024),
        ("photos/a.jpg", 700_000),
        ("photos/b.jpg", 300_000),
        ("notes/empty.txt", 0),
        ("notes/ünïcode.md", 2_000),
    ] {
        let bytes = rng.bytes(len);
        s.server.write(path, &bytes);
        expected.insert(path.to_owned(), bytes);
    }
    let size: u64 = expected.values().map(|b| b.len() as u64).sum();
    let job = s.engine.start(s.pair).await.unwrap();
    let mut suspends = 0u64;
    for _ in 0..50 {
        // A random point: anywhere from before the listing to deep into a transfer.
        for _ in 0..rng.below(400) {
            tokio::task::yield_now().await;
        }
        if s.engine.snapshot(job).unwrap().state.is_final() {
            break;
        }
        s.engine.suspend().await;
        let state = s.engine.snapshot(job).unwrap().state;
        assert!(
            matches!(state, JobState::Suspended | JobState::Completed),
            "{state:?}"
        );
        s.engine.resume_all();
        suspends += 1;
    }
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(suspends >= 10, "the test suspended only {suspends} times");
    assert_eq!(s.local_files(), expected, "byte-identical to the remote");
    assert!(leftovers(s.local.path()).is_empty(), "no part file remains");
    let served = s.server.bytes_served();
    assert!(
        served <= size + suspends * MEMORY_CHUNK as u64,
        "{served} bytes served for {size} after {suspends} suspends"
    );
}

#[tokio::test(start_paused = true)]
async fn a_storm_of_a_thousand_lifecycle_calls_ends_without_deadlock() {
    let s = setup(Mode::Download).await;
    for i in 0..24 {
        s.server
            .write(&format!("f{i}.bin"), &Seeded::new(i).bytes(200_000));
    }
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(s.engine.start(s.pair).await.unwrap());
    }
    let mut tasks = Vec::new();
    for t in 0..4u64 {
        let engine = s.engine.clone();
        let jobs = jobs.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Seeded::new(t);
            for _ in 0..250 {
                let job = jobs[rng.below(jobs.len() as u64) as usize];
                match rng.below(5) {
                    0 => {
                        engine.suspend().await;
                    }
                    1 => engine.resume_all(),
                    2 => {
                        let _ = engine.pause(job);
                    }
                    3 => {
                        let _ = engine.resume(job);
                    }
                    _ => {
                        if rng.below(10) == 0 {
                            let _ = engine.cancel(job);
                        }
                    }
                }
                for _ in 0..rng.below(20) {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("no lifecycle call panicked");
    }
    s.engine.resume_all();
    for &job in &jobs {
        let _ = s.engine.resume(job);
    }
    for &job in &jobs {
        // Paused time jumps straight to this deadline if every task is stuck.
        let outcome = tokio::time::timeout(Duration::from_secs(600), s.engine.wait(job))
            .await
            .expect("every job ends: no deadlock")
            .unwrap();
        assert!(
            matches!(outcome.state, JobState::Completed | JobState::Cancelled),
            "{outcome:?}"
        );
    }
    assert!(leftovers(s.local.path()).len() <= 24);
    let outcome = s.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(s.local_files(), s.server.files());
    assert!(leftovers(s.local.path()).is_empty());
}

/// A server that stops honouring `Range` mid-download sends the whole file: the download
/// starts over, and its bar counts each byte once, never past its end.
#[tokio::test(start_paused = true)]
async fn a_server_that_stops_honouring_ranges_restarts_the_file_and_the_bar_with_it() {
    let s = setup(Mode::Download).await;
    let size = RANGE as usize * 5 / 2 + 5;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    s.server.write("disk.img", &data);
    let job = s.engine.start(s.pair).await.unwrap();
    until_bytes(&s, job, RANGE + RANGE / 4).await;
    s.engine.suspend().await;
    s.server.ignore_ranges();
    s.engine.resume_all();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(s.local_files()["disk.img"] == data, "byte-identical");
    let snapshot = s.engine.snapshot(job).unwrap();
    assert_eq!(
        (snapshot.bytes_done, snapshot.bytes_total),
        (size as u64, size as u64),
        "the bar ends at its end"
    );
}
