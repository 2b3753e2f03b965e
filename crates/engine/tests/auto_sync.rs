//! Automatic sync in paused time: local changes through a watcher the test drives, server
//! changes through the in-memory server, and the timers between them.

mod common;

use std::time::Duration;

use common::MemoryPair;
use tidesync_engine::engine::auto::{DEBOUNCE, MAX_BACKOFF, RETRY_FIRST};
use tidesync_engine::scan::changed::FULL_SCAN_EVERY;
use tidesync_engine::{
    EngineError, FailureKind, JobChange, JobId, JobState, LocalChange, Mode, PairSettings,
    ServerCheck,
};
use tokio::sync::broadcast;
use tokio::time::Instant;

const EVERY: Duration = Duration::from_secs(60);

/// Turns automatic sync on, checking the server every `every`.
async fn auto_on(memory: &MemoryPair, every: Duration) {
    let pair = memory.engine.pair(memory.pair).await.unwrap();
    let settings = PairSettings {
        auto_sync: true,
        check_every: every,
        ..pair.settings
    };
    memory
        .engine
        .update_pair(memory.pair, pair.mode, settings)
        .await
        .unwrap();
}

/// The next job to start.
async fn next_job(changes: &mut broadcast::Receiver<JobChange>) -> JobId {
    loop {
        let change = changes.recv().await.unwrap();
        if change.state == JobState::Queued {
            return change.job_id;
        }
    }
}

/// Turns automatic sync on and waits for the sync it starts with to end.
async fn auto_on_and_settled(memory: &MemoryPair) -> broadcast::Receiver<JobChange> {
    let mut changes = memory.engine.subscribe_changes();
    auto_on(memory, EVERY).await;
    let first = next_job(&mut changes).await;
    let outcome = memory.engine.wait(first).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    changes
}

async fn jobs(memory: &MemoryPair) -> usize {
    memory.engine.history().await.unwrap().len()
}

/// Writes a file in the pair's folder and tells the watcher, as the platform's would.
fn edit(memory: &MemoryPair, name: &str, data: &[u8]) {
    let path = memory.local.path().join(name);
    std::fs::write(&path, data).unwrap();
    assert!(
        memory
            .watch
            .send(memory.local.path(), LocalChange::Paths(vec![path]))
    );
}

#[tokio::test(start_paused = true)]
async fn a_local_edit_becomes_a_sync_within_the_debounce() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    memory.server.write("kept.txt", b"from the server");
    let mut changes = auto_on_and_settled(&memory).await;
    assert_eq!(
        std::fs::read(memory.local.path().join("kept.txt")).unwrap(),
        b"from the server"
    );

    let edited = Instant::now();
    edit(&memory, "note.txt", b"written on the phone");
    let job = next_job(&mut changes).await;
    let waited = edited.elapsed();
    assert!(waited >= DEBOUNCE && waited < DEBOUNCE * 2, "{waited:?}");
    assert_eq!(
        memory
            .engine
            .wait(job)
            .await
            .unwrap()
            .summary
            .files_uploaded,
        1
    );
    assert_eq!(memory.server.files()["note.txt"], b"written on the phone");
}

#[tokio::test(start_paused = true)]
async fn ten_edits_in_one_second_make_one_run() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    let mut changes = auto_on_and_settled(&memory).await;
    let before = jobs(&memory).await;

    for i in 0..10 {
        edit(&memory, &format!("burst-{i}.txt"), b"x");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let job = next_job(&mut changes).await;
    assert_eq!(
        memory
            .engine
            .wait(job)
            .await
            .unwrap()
            .summary
            .files_uploaded,
        10
    );
    tokio::time::sleep(EVERY / 2).await;
    assert_eq!(jobs(&memory).await, before + 1);
}

#[tokio::test(start_paused = true)]
async fn the_engines_own_writes_are_no_change() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    let mut changes = auto_on_and_settled(&memory).await;
    let before = jobs(&memory).await;

    // Another client adds a file; the next check finds it and a run downloads it.
    memory.server.write("docs/from-elsewhere.txt", b"hello");
    let job = next_job(&mut changes).await;
    assert_eq!(
        memory
            .engine
            .wait(job)
            .await
            .unwrap()
            .summary
            .files_downloaded,
        1
    );
    // The watcher reports what the download wrote: the journal says it is as agreed.
    let written = memory.local.path().join("docs/from-elsewhere.txt");
    let part = tidesync_engine::transfer::part_path(&written);
    let folder = memory.local.path().join("docs");
    assert!(memory.watch.send(
        memory.local.path(),
        LocalChange::Paths(vec![part, written, folder])
    ));
    tokio::time::sleep(EVERY / 2).await;
    assert_eq!(jobs(&memory).await, before + 1);
}

#[tokio::test(start_paused = true)]
async fn a_change_during_a_run_makes_exactly_one_more_run() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    let mut changes = auto_on_and_settled(&memory).await;
    let before = jobs(&memory).await;

    memory.server.hold_listings();
    edit(&memory, "first.txt", b"1");
    let running = next_job(&mut changes).await;
    // The run waits on its listing; three more edits arrive meanwhile.
    tokio::time::sleep(DEBOUNCE * 4).await;
    for name in ["second.txt", "third.txt", "fourth.txt"] {
        edit(&memory, name, b"2");
        tokio::time::sleep(DEBOUNCE * 2).await;
    }
    memory.server.release_listings();
    memory.engine.wait(running).await.unwrap();
    let more = next_job(&mut changes).await;
    let outcome = memory.engine.wait(more).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    assert_eq!(
        memory.server.files().len(),
        4,
        "{:?}",
        memory.server.files().keys()
    );
    tokio::time::sleep(EVERY / 2).await;
    assert_eq!(
        jobs(&memory).await,
        before + 2,
        "one run, and exactly one more"
    );
}

#[tokio::test(start_paused = true)]
async fn server_checks_back_off_while_idle_and_after_failures() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    let mut changes = auto_on_and_settled(&memory).await;
    let listings = || memory.server.listings()[2];
    let settled = Instant::now();
    let before = listings();

    // Idle: a check after one interval, then each wait doubles, up to MAX_BACKOFF intervals.
    let mut at = Duration::ZERO;
    let mut delay = EVERY;
    for check in 1..=5u64 {
        at += delay;
        tokio::time::sleep_until(settled + at - Duration::from_secs(1)).await;
        assert_eq!(
            listings(),
            before + check - 1,
            "before check {check} at {at:?}"
        );
        tokio::time::sleep_until(settled + at + Duration::from_secs(1)).await;
        assert_eq!(listings(), before + check, "check {check} at {at:?}");
        delay = (delay * 2).min(EVERY * MAX_BACKOFF);
    }
    assert_eq!(delay, EVERY * MAX_BACKOFF);

    // The network goes: the next check fails, and the one after comes sooner.
    memory.server.set_offline(true);
    at += delay;
    tokio::time::sleep_until(settled + at + Duration::from_secs(1)).await;
    let failed_at = listings();
    let status = memory.engine.auto_status(memory.pair).unwrap();
    assert!(status.error.is_some(), "{status:?}");
    tokio::time::sleep_until(settled + at + RETRY_FIRST + Duration::from_secs(1)).await;
    assert_eq!(listings(), failed_at + 1, "retried after {RETRY_FIRST:?}");
    tokio::time::sleep_until(settled + at + RETRY_FIRST * 3 + Duration::from_secs(1)).await;
    assert_eq!(listings(), failed_at + 2, "then after twice that");

    // The network is back: the next check succeeds and a sync follows at once.
    memory.server.set_offline(false);
    let jobs_before = jobs(&memory).await;
    let job = next_job(&mut changes).await;
    assert_eq!(
        memory.engine.wait(job).await.unwrap().state,
        JobState::Completed
    );
    assert_eq!(jobs(&memory).await, jobs_before + 1);
    assert_eq!(memory.engine.auto_status(memory.pair).unwrap().error, None);
}

#[tokio::test(start_paused = true)]
async fn a_watcher_overflow_falls_back_to_a_scan() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    memory.server.write("a.txt", b"a");
    let mut changes = auto_on_and_settled(&memory).await;
    let before = jobs(&memory).await;

    // Events were lost and nothing changed: the scan says so, no run.
    assert!(
        memory
            .watch
            .send(memory.local.path(), LocalChange::Overflow)
    );
    tokio::time::sleep(EVERY / 2).await;
    assert_eq!(jobs(&memory).await, before);

    // Events were lost over a real change: the scan finds it.
    std::fs::write(memory.local.path().join("a.txt"), b"edited, unannounced").unwrap();
    assert!(
        memory
            .watch
            .send(memory.local.path(), LocalChange::Overflow)
    );
    let job = next_job(&mut changes).await;
    assert_eq!(
        memory
            .engine
            .wait(job)
            .await
            .unwrap()
            .summary
            .files_uploaded,
        1
    );
    assert_eq!(memory.server.files()["a.txt"], b"edited, unannounced");
}

#[tokio::test(start_paused = true)]
async fn a_renamed_folder_whose_old_path_is_reported_is_scanned() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    memory.server.write("old/a.txt", b"a");
    let mut changes = auto_on_and_settled(&memory).await;

    // A watcher that still names the folder by its old name reports an edit inside it.
    let root = memory.local.path();
    std::fs::rename(root.join("old"), root.join("new")).unwrap();
    std::fs::write(root.join("new/a.txt"), b"edited after the rename").unwrap();
    assert!(
        memory
            .watch
            .send(root, LocalChange::Paths(vec![root.join("old/a.txt")]))
    );
    let job = next_job(&mut changes).await;
    memory.engine.wait(job).await.unwrap();
    assert_eq!(
        memory.server.files()["new/a.txt"],
        b"edited after the rename"
    );
}

/// What the next run that starts did.
async fn next_summary(
    memory: &MemoryPair,
    changes: &mut broadcast::Receiver<JobChange>,
) -> tidesync_engine::Summary {
    let job = next_job(changes).await;
    let outcome = memory.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    outcome.summary
}

#[tokio::test(start_paused = true)]
async fn a_run_the_watcher_started_looks_only_at_what_changed_and_a_full_scan_catches_the_rest() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    for name in ["missed.txt", "reported.txt", "missed-too.txt"] {
        memory.server.write(name, b"one");
    }
    let mut changes = auto_on_and_settled(&memory).await;
    let root = memory.local.path();

    // An edit the watcher missed stays unseen; the one it reported goes up.
    std::fs::write(root.join("missed.txt"), b"edited, unannounced").unwrap();
    edit(&memory, "reported.txt", b"edited and reported");
    let summary = next_summary(&memory, &mut changes).await;
    assert_eq!(summary.files_uploaded, 1, "{summary:?}");
    assert_eq!(memory.server.files()["missed.txt"], b"one");
    assert_eq!(
        memory.server.files()["reported.txt"],
        b"edited and reported"
    );

    // A run for a server change does not scan either.
    memory.server.write("news.txt", b"from the server");
    let summary = next_summary(&memory, &mut changes).await;
    assert_eq!(
        (summary.files_downloaded, summary.files_uploaded),
        (1, 0),
        "{summary:?}"
    );

    // "Sync all now" (as a resume) scans in full.
    memory.engine.sync_all_now().await.unwrap();
    let summary = next_summary(&memory, &mut changes).await;
    assert_eq!(summary.files_uploaded, 1, "{summary:?}");
    assert_eq!(memory.server.files()["missed.txt"], b"edited, unannounced");

    // Within the hour the watcher is trusted; past it, a full scan again.
    std::fs::write(root.join("missed-too.txt"), b"edited, unannounced").unwrap();
    edit(&memory, "soon.txt", b"new");
    let summary = next_summary(&memory, &mut changes).await;
    assert_eq!(summary.files_uploaded, 1, "{summary:?}");
    tokio::time::sleep(FULL_SCAN_EVERY).await;
    edit(&memory, "later.txt", b"new");
    let summary = next_summary(&memory, &mut changes).await;
    assert_eq!(summary.files_uploaded, 2, "{summary:?}");
    assert_eq!(
        memory.server.files()["missed-too.txt"],
        b"edited, unannounced"
    );
}

#[tokio::test(start_paused = true)]
async fn turning_automatic_sync_off_stops_every_timer() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    auto_on_and_settled(&memory).await;
    assert!(memory.watch.is_watched(memory.local.path()));
    assert_eq!(memory.engine.background_tasks(), 1, "the supervisor");
    let status = memory.engine.auto_status(memory.pair).unwrap();
    assert!(status.watching && status.next_check.is_some(), "{status:?}");
    assert_eq!(status.server_check, ServerCheck::Listing);

    let pair = memory.engine.pair(memory.pair).await.unwrap();
    let off = PairSettings {
        auto_sync: false,
        ..pair.settings
    };
    memory
        .engine
        .update_pair(memory.pair, pair.mode, off)
        .await
        .unwrap();
    assert_eq!(memory.engine.auto_status(memory.pair), None);
    while memory.engine.background_tasks() > 0 {
        tokio::task::yield_now().await;
    }
    assert!(!memory.watch.is_watched(memory.local.path()));
    let (before, listings) = (jobs(&memory).await, memory.server.listings());
    tokio::time::sleep(EVERY * 100).await;
    assert_eq!(jobs(&memory).await, before);
    assert_eq!(
        memory.server.listings(),
        listings,
        "no check after it was turned off"
    );
}

#[tokio::test(start_paused = true)]
async fn resume_syncs_an_automatic_pair() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    let mut changes = auto_on_and_settled(&memory).await;
    memory.engine.suspend().await;
    memory
        .server
        .write("while-away.txt", b"written while suspended");
    // Suspended: no check finds it, however long.
    tokio::time::sleep(EVERY * 10).await;
    assert!(!memory.local.path().join("while-away.txt").exists());
    memory.engine.resume_all();
    let job = next_job(&mut changes).await;
    assert_eq!(
        memory
            .engine
            .wait(job)
            .await
            .unwrap()
            .summary
            .files_downloaded,
        1
    );
}

#[tokio::test]
async fn settings_survive_and_changing_them_keeps_what_the_journal_knows() {
    let memory = MemoryPair::new(Mode::Download).await;
    memory.server.write("a.txt", b"a");
    assert_eq!(memory.sync().await.summary.files_downloaded, 1);

    let settings = PairSettings {
        auto_sync: false,
        check_every: Duration::from_secs(900),
        transfers: Some(2),
        upload_limit: std::num::NonZeroU64::new(100_000),
        download_limit: None,
        trash_days: Some(7),
        trash_bytes: Some(1 << 30),
        server_backup: Some("Removed/by sync".into()),
        excludes: tidesync_engine::filter::Excludes {
            patterns: vec!["*.tmp".into(), "Build/".into()],
            defaults_off: vec!["*.part".into()],
            max_size: Some(1 << 20),
            remove_with_folder: true,
            unsynced: vec!["Photos/2019".into()],
            ask_above: Some(1 << 30),
        },
    };
    let pair = memory
        .engine
        .update_pair(memory.pair, Mode::TwoWay, settings.clone())
        .await
        .unwrap();
    assert_eq!((pair.mode, &pair.settings), (Mode::TwoWay, &settings));
    assert_eq!(
        memory.engine.pair(memory.pair).await.unwrap().settings,
        settings
    );
    let outcome = memory.sync().await;
    assert_eq!(outcome.state, JobState::Completed);
    assert_eq!(
        (
            outcome.summary.files_downloaded,
            outcome.summary.files_uploaded
        ),
        (0, 0),
        "nothing starts over: {outcome:?}"
    );
}

#[tokio::test]
async fn settings_out_of_range_are_refused_with_what_to_choose() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    let base = memory.engine.pair(memory.pair).await.unwrap().settings;
    let refused = |settings: PairSettings| {
        let engine = memory.engine.clone();
        let pair = memory.pair;
        async move {
            engine
                .update_pair(pair, Mode::TwoWay, settings)
                .await
                .unwrap_err()
        }
    };
    let error = refused(PairSettings {
        transfers: Some(0),
        ..base.clone()
    })
    .await;
    assert!(matches!(error, EngineError::InvalidSetting(_)), "{error:?}");
    assert_eq!(error.failure_kind(), FailureKind::InvalidInput);
    assert!(error.to_string().contains("1 to 128 files"), "{error}");
    let error = refused(PairSettings {
        check_every: Duration::ZERO,
        ..base.clone()
    })
    .await;
    assert!(
        error.to_string().contains("every 1s to every 86400s"),
        "{error}"
    );
    let error = refused(PairSettings {
        trash_days: Some(0),
        ..base.clone()
    })
    .await;
    assert!(
        error
            .to_string()
            .contains("the trash keeps files 1 to 3650 days"),
        "{error}"
    );
    let error = refused(PairSettings {
        excludes: tidesync_engine::filter::Excludes {
            patterns: vec!["*.tmp".into(), "[unclosed".into()],
            ..Default::default()
        },
        ..base.clone()
    })
    .await;
    assert!(
        error
            .to_string()
            .contains("a pattern of what to leave out: line 2, \"[unclosed\""),
        "{error}"
    );
    let error = refused(PairSettings {
        server_backup: Some("../elsewhere".into()),
        ..base.clone()
    })
    .await;
    assert!(
        error
            .to_string()
            .contains("the folder for what is deleted on the server"),
        "{error}"
    );
    assert_eq!(
        memory.engine.pair(memory.pair).await.unwrap().settings,
        base
    );
}

/// Waits (in real time, at most a minute) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_platform_watcher_sees_new_folders_and_renamed_ones() {
    use common::{Server, World, visible, write};
    let world = World::new(Server::Dav, Mode::TwoWay).await;
    let pair = world.engine.pair(world.pair).await.unwrap();
    let settings = PairSettings {
        auto_sync: true,
        // Only the watcher can start these runs within the test's minute.
        check_every: PairSettings::MAX_CHECK,
        ..pair.settings
    };
    world
        .engine
        .update_pair(world.pair, pair.mode, settings)
        .await
        .unwrap();
    eventually("the first sync ends", || {
        world.engine.unfinished_job(world.pair).is_none()
            && world
                .engine
                .auto_status(world.pair)
                .is_some_and(|s| s.watching)
    })
    .await;

    write(world.local(), "notes/deep/a.txt", b"a");
    eventually("a file in new folders is uploaded", || {
        visible(world.remote()).contains_key("notes/deep/a.txt")
    })
    .await;

    std::fs::rename(world.local().join("notes"), world.local().join("renamed")).unwrap();
    eventually("the rename reaches the server", || {
        visible(world.remote()).contains_key("renamed/deep/a.txt")
    })
    .await;
    write(world.local(), "renamed/deep/b.txt", b"b");
    eventually("an edit inside the renamed folder is uploaded", || {
        visible(world.remote())
            .get("renamed/deep/b.txt")
            .map(Vec::as_slice)
            == Some(b"b")
    })
    .await;
    world.engine.shutdown().await;
}

#[tokio::test]
async fn a_server_whose_folder_etags_do_not_propagate_is_listed() {
    use common::{Server, World, write};
    let world = World::new(Server::Dav, Mode::TwoWay).await;
    write(world.remote(), "docs/old.txt", b"old");
    let pair = world.engine.pair(world.pair).await.unwrap();
    let settings = PairSettings {
        auto_sync: true,
        check_every: Duration::from_secs(1),
        ..pair.settings
    };
    world
        .engine
        .update_pair(world.pair, pair.mode, settings)
        .await
        .unwrap();
    eventually("the first sync ends", || {
        world.local().join("docs/old.txt").exists()
    })
    .await;
    // Another client writes two levels down; the listing finds it.
    write(world.remote(), "docs/deeper/new.txt", b"new");
    eventually("the change is downloaded", || {
        world.local().join("docs/deeper/new.txt").exists()
    })
    .await;
    assert_eq!(
        world.engine.auto_status(world.pair).unwrap().server_check,
        ServerCheck::Listing
    );
    world.engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_change_during_our_own_upload_is_not_taken_for_ours() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    let mut changes = auto_on_and_settled(&memory).await;

    // Another client writes just after the run listed the server: the run cannot see it,
    // and the look after the run must not take it for the run's own upload.
    let elsewhere = memory.server.clone();
    memory
        .server
        .after_next_listing(move || elsewhere.write("late.txt", b"from another client"));
    edit(&memory, "mine.txt", b"uploaded by the run");
    let upload = next_job(&mut changes).await;
    let outcome = memory.engine.wait(upload).await.unwrap();
    assert_eq!(outcome.summary.files_uploaded, 1, "{outcome:?}");
    assert_eq!(outcome.summary.files_downloaded, 0, "{outcome:?}");

    let next = next_job(&mut changes).await;
    assert_eq!(
        memory
            .engine
            .wait(next)
            .await
            .unwrap()
            .summary
            .files_downloaded,
        1
    );
    assert_eq!(
        std::fs::read(memory.local.path().join("late.txt")).unwrap(),
        b"from another client"
    );
}

/// A file that failed (locked on the server) is tried again by automatic sync without any
/// change: a minute after the first failure, two after the second; it goes up once the lock
/// is gone, and its failure is forgotten.
#[tokio::test(start_paused = true)]
async fn a_failed_file_is_tried_again_with_growing_waits() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    memory.server.lock_file("report.docx");
    let mut changes = auto_on_and_settled(&memory).await;
    edit(&memory, "report.docx", b"my report");
    let job = next_job(&mut changes).await;
    let failed = memory.engine.wait(job).await.unwrap();
    assert_eq!(failed.summary.errors.len(), 1, "{failed:?}");
    let ended = Instant::now();
    let failures = memory.engine.failures(memory.pair).await.unwrap();
    assert_eq!(
        (failures[0].path.as_str(), failures[0].attempts),
        ("report.docx", 1)
    );
    assert!(failures[0].retry_at.is_some());

    let again = next_job(&mut changes).await;
    let waited = ended.elapsed();
    assert!(
        (Duration::from_secs(59)..Duration::from_secs(65)).contains(&waited),
        "tried again after {waited:?}"
    );
    memory.engine.wait(again).await.unwrap();
    let ended = Instant::now();
    assert_eq!(
        memory.engine.failures(memory.pair).await.unwrap()[0].attempts,
        2
    );

    memory.server.unlock_file("report.docx");
    let third = next_job(&mut changes).await;
    let waited = ended.elapsed();
    assert!(
        (Duration::from_secs(119)..Duration::from_secs(125)).contains(&waited),
        "tried again after {waited:?}"
    );
    let outcome = memory.engine.wait(third).await.unwrap();
    assert_eq!(outcome.summary.files_uploaded, 1, "{outcome:?}");
    assert_eq!(memory.server.files()["report.docx"], b"my report");
    assert!(
        memory
            .engine
            .failures(memory.pair)
            .await
            .unwrap()
            .is_empty()
    );
}
