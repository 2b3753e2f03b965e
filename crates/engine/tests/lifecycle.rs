//! Suspend, resume, pause and cancel at any moment: the sync still ends right, resumes from
//! its checkpoints, and never deadlocks.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Server, World, leftovers, recorder, write};
use tidesync_engine::{EngineOptions, JobEvent, JobId, JobState, Mode};
use tidesync_testkit::tree::Seeded;

const CHUNK_BOUND: u64 = 1024 * 1024;

/// Waits until the job has received more than `bytes`, or ended; a job that gets neither
/// far in 20 s (of the test's clock) fails the test rather than let it go on as if it had.
async fn until_bytes(world: &World, job: JobId, bytes: u64) {
    for _ in 0..20_000 {
        let s = world.engine.snapshot(job).unwrap();
        if s.bytes_done > bytes || s.state.is_final() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let s = world.engine.snapshot(job).unwrap();
    panic!(
        "the job never received {bytes} bytes: {} in state {:?}",
        s.bytes_done, s.state
    );
}

/// Counted at the server (through the test kit's proxy, at a capped rate so little is in
/// flight at a suspend): the bytes it sent beyond the file are at most one chunk per suspend.
#[tokio::test]
async fn fifty_suspends_during_a_download_cost_at_most_a_chunk_each() {
    let world = World::new(Server::DavCapped(48 * 1024 * 1024), Mode::Download).await;
    let mut rng = Seeded::new(99);
    let data = rng.bytes(24 * 1024 * 1024);
    write(world.remote(), "movie.bin", &data);
    write(world.remote(), "small/one.txt", b"one");
    let job = world.engine.start(world.pair).await.unwrap();
    let mut suspends = 0u64;
    let mut mark = 0;
    for _ in 0..50 {
        mark += (rng.next_u64() % (data.len() as u64 / 60)) + 1;
        until_bytes(&world, job, mark).await;
        if world.engine.snapshot(job).unwrap().state.is_final() {
            break;
        }
        world.engine.suspend().await;
        let state = world.engine.snapshot(job).unwrap().state;
        assert!(
            matches!(state, JobState::Suspended | JobState::Completed),
            "{state:?}"
        );
        assert!(!world.local().join("movie.bin").exists() || state == JobState::Completed);
        world.engine.resume_all();
        suspends += 1;
    }
    let outcome = world.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(suspends >= 10, "the test suspended {suspends} times");
    assert_eq!(
        std::fs::read(world.local().join("movie.bin")).unwrap(),
        data
    );
    assert!(leftovers(world.local()).is_empty());
    let received = world.engine.snapshot(job).unwrap().bytes_done;
    let total = data.len() as u64 + 3;
    assert!(
        received <= total + suspends * CHUNK_BOUND,
        "{received} bytes received for {total} after {suspends} suspends"
    );
    // What the server sent includes each run's listing and each request's headers.
    let sent = world.proxy.as_ref().unwrap().bytes_down();
    let overhead = (suspends + 1) * 16 * 1024;
    assert!(
        sent <= total + suspends * CHUNK_BOUND + overhead,
        "the server sent {sent} bytes for {total} after {suspends} suspends"
    );
}

#[tokio::test]
async fn pause_and_resume_show_in_the_state_stream() {
    let world = World::new(Server::Dav, Mode::Download).await;
    write(
        world.remote(),
        "big.bin",
        &Seeded::new(5).bytes(16 * 1024 * 1024),
    );
    let job = world.engine.start(world.pair).await.unwrap();
    let (sink, seen) = recorder();
    world.engine.attach(job, "test", sink).unwrap();
    until_bytes(&world, job, 1024 * 1024).await;
    world.engine.pause(job).unwrap();
    for _ in 0..2000 {
        if world.engine.snapshot(job).unwrap().state == JobState::Paused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(world.engine.snapshot(job).unwrap().state, JobState::Paused);
    // A paused job stays paused through an app suspend and resume.
    world.engine.suspend().await;
    world.engine.resume_all();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(world.engine.snapshot(job).unwrap().state, JobState::Paused);
    world.engine.resume(job).unwrap();
    let outcome = world.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let states: Vec<JobState> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            JobEvent::StateChanged { state } => Some(*state),
            _ => None,
        })
        .collect();
    let paused_at = states
        .iter()
        .position(|s| *s == JobState::Paused)
        .expect("Paused was announced");
    assert!(
        states[paused_at..].contains(&JobState::Running),
        "{states:?}"
    );
    assert_eq!(states.last(), Some(&JobState::Completed));
}

#[tokio::test]
async fn a_storm_of_lifecycle_calls_ends_without_deadlock() {
    let world = World::with_options(
        Server::Dav,
        Mode::Download,
        EngineOptions {
            suspend_wait: Duration::from_millis(500),
            ..EngineOptions::default()
        },
    )
    .await;
    for i in 0..20 {
        write(
            world.remote(),
            &format!("f{i}.bin"),
            &Seeded::new(i).bytes(256 * 1024),
        );
    }
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(world.engine.start(world.pair).await.unwrap());
    }
    let engine = Arc::new(world.engine.clone());
    let mut tasks = Vec::new();
    for t in 0..4u64 {
        let engine = engine.clone();
        let jobs = jobs.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Seeded::new(t);
            for _ in 0..250 {
                let job = jobs[(rng.next_u64() % jobs.len() as u64) as usize];
                match rng.next_u64() % 5 {
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
                        if rng.next_u64().is_multiple_of(10) {
                            let _ = engine.cancel(job);
                        }
                    }
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("no lifecycle call panicked");
    }
    engine.resume_all();
    for &job in &jobs {
        let _ = engine.resume(job);
    }
    for &job in &jobs {
        let outcome = tokio::time::timeout(Duration::from_secs(60), engine.wait(job))
            .await
            .expect("every job ends: no deadlock")
            .unwrap();
        assert!(
            matches!(outcome.state, JobState::Completed | JobState::Cancelled),
            "{outcome:?}"
        );
    }
    assert!(
        !world.local().join("f0.bin").exists()
            || std::fs::metadata(world.local().join("f0.bin"))
                .unwrap()
                .len()
                == 256 * 1024
    );
}

#[tokio::test]
async fn shutdown_interrupts_and_a_new_engine_finishes_the_job() {
    let world = World::new(Server::Dav, Mode::Download).await;
    let data = Seeded::new(8).bytes(16 * 1024 * 1024);
    write(world.remote(), "big.bin", &data);
    let job = world.engine.start(world.pair).await.unwrap();
    until_bytes(&world, job, 2 * 1024 * 1024).await;
    world.engine.shutdown().await;
    assert_eq!(
        world.engine.wait(job).await.unwrap().state,
        JobState::Interrupted
    );
    assert!(!world.local().join("big.bin").exists());

    let engine = tidesync_engine::Engine::open(world.data_dir.path(), EngineOptions::default())
        .await
        .unwrap();
    let restarted = engine.restart_interrupted().await.unwrap();
    assert_eq!(restarted, [job]);
    let outcome = engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    assert!(
        engine.snapshot(job).unwrap().bytes_done < data.len() as u64,
        "resumed from the checkpoint"
    );
    assert_eq!(std::fs::read(world.local().join("big.bin")).unwrap(), data);
}

/// Two starts of one pair at once (the user's and automatic sync's) make one job: the second
/// gets the first one's id.
#[tokio::test(start_paused = true)]
async fn two_starts_at_once_make_one_job() {
    let pair = common::MemoryPair::new(tidesync_engine::Mode::Download).await;
    pair.server.write("a.txt", b"a");
    let (first, second) = tokio::join!(pair.engine.start(pair.pair), pair.engine.start(pair.pair));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, second);
    pair.engine.wait(first).await.unwrap();
    assert_eq!(pair.engine.history().await.unwrap().len(), 1);
    let next = pair.engine.start(pair.pair).await.unwrap();
    assert_ne!(next, first, "once it ended, a start makes a new job");
}

/// A pair another process is syncing (its lock held) is not synced here: the run fails as
/// busy, naming the other process, and goes through once the lock is free.
#[tokio::test(start_paused = true)]
async fn a_pair_another_process_syncs_is_left_to_it() {
    let pair = common::MemoryPair::new(tidesync_engine::Mode::Download).await;
    pair.server.write("a.txt", b"a");
    let held =
        tidesync_engine::engine::pair_lock::PairLock::take(pair._data.path(), pair.pair).unwrap();
    let refused = pair.sync().await;
    assert_eq!(
        refused.failure,
        Some(tidesync_engine::FailureKind::Busy),
        "{refused:?}"
    );
    let said = refused.error.unwrap_or_default();
    assert!(
        said.contains(&format!(
            "another Tidesync (process {})",
            std::process::id()
        )),
        "{said}"
    );
    assert!(!pair.local.path().join("a.txt").exists());
    drop(held);
    assert_eq!(pair.sync().await.summary.files_downloaded, 1);
}

/// Another client renames a file on the server before each pass's listing is answered: every
/// pass carries a move and needs one more, and the run ends after its last pass saying that
/// the folder kept changing, rather than as if all were done.
#[tokio::test(start_paused = true)]
async fn a_folder_that_keeps_changing_ends_the_run_saying_so() {
    use tidesync_engine::memory::MemoryRemote;

    /// At each listing, renames note-`n` to note-`n + 1`, up to note-`last`.
    fn rename_at_each_listing(server: Arc<MemoryRemote>, n: u32, last: u32) {
        let again = server.clone();
        server.after_next_listing(move || {
            again.rename(&format!("note-{n}.txt"), &format!("note-{}.txt", n + 1));
            if n + 1 < last {
                rename_at_each_listing(again.clone(), n + 1, last);
            }
        });
    }

    let pair = common::MemoryPair::new(Mode::TwoWay).await;
    pair.server.write("note-0.txt", b"a note");
    pair.server.write("keep.txt", b"kept");
    assert!(!pair.sync().await.summary.unsettled);
    pair.server.rename("note-0.txt", "note-1.txt");
    rename_at_each_listing(pair.server.clone(), 1, 6);
    let outcome = pair.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.unsettled, "{outcome:?}");
    let settled = pair.sync().await;
    assert!(!settled.summary.unsettled, "{settled:?}");
    assert!(pair.local.path().join("note-6.txt").exists());
}
