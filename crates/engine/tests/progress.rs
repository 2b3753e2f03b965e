//! Progress of a sync of 10,000 small files: the first message is a snapshot, the last is
//! Finished, and no second sees more than 20 snapshots. An upload's progress moves within the
//! file, as its bytes go out.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tidesync_engine::{Engine, EngineOptions, JobEvent, JobState, Mode, PlainHttp};

/// tmpfs when there is one: this test is about message rates, not about this disk's fsyncs.
fn fast_tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_files_stream_at_most_twenty_snapshots_a_second() {
    let (remote, local, data) = (fast_tempdir(), fast_tempdir(), fast_tempdir());
    for i in 0..10_000 {
        let dir = remote.path().join(format!("d{:02}", i % 50));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i:05}.txt")), format!("file {i}")).unwrap();
    }
    let server = tidesync_testkit::DavServer::serve(remote.path())
        .await
        .unwrap();
    let engine = Engine::open(data.path(), EngineOptions::default())
        .await
        .unwrap();
    let remote_id = engine
        .add_remote("demo", &server.url(), None, PlainHttp::LoopbackOnly)
        .await
        .unwrap();
    let pair = engine
        .ensure_pair(remote_id, "", local.path(), Mode::Download)
        .await
        .unwrap();

    let seen: Arc<Mutex<Vec<(Instant, JobEvent)>>> = Arc::default();
    let job = engine.start(pair).await.unwrap();
    let sink = seen.clone();
    engine
        .attach(
            job,
            "test",
            Arc::new(move |e: JobEvent| {
                sink.lock().unwrap().push((Instant::now(), e));
                true
            }),
        )
        .unwrap();
    let outcome = engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(outcome.summary.files_downloaded, 10_000);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let seen = seen.lock().unwrap();
    assert!(
        matches!(seen.first(), Some((_, JobEvent::Snapshot { .. }))),
        "the first message is a snapshot"
    );
    assert!(
        matches!(seen.last(), Some((_, JobEvent::Finished { .. }))),
        "the last message is Finished"
    );
    let snapshots: Vec<Instant> = seen
        .iter()
        .filter(|(_, e)| matches!(e, JobEvent::Snapshot { .. }))
        .map(|(t, _)| *t)
        .collect();
    let busiest = snapshots
        .iter()
        .map(|start| {
            snapshots
                .iter()
                .filter(|t| **t >= *start && t.duration_since(*start).as_millis() < 1000)
                .count()
        })
        .max()
        .unwrap_or(0);
    // 20 coalesced snapshots, plus the one that precedes Finished.
    assert!(busiest <= 21, "{busiest} snapshots within one second");
    assert!(
        snapshots.len() >= 2,
        "progress was reported while the job ran"
    );
    let largest = seen
        .iter()
        .map(|(_, e)| serde_json::to_vec(e).unwrap().len())
        .max()
        .unwrap_or(0);
    assert!(
        largest < 8 * 1024,
        "every message stays under 8 KiB ({largest} bytes)"
    );
}

#[tokio::test]
async fn an_upload_reports_its_bytes_as_they_go_out() {
    const SIZE: usize = 12 * 1024 * 1024;
    let world = common::World::new(common::Server::DavCapped(6 * 1024 * 1024), Mode::Upload).await;
    common::write(world.local(), "video.mp4", &vec![7u8; SIZE]);
    let job = world.engine.start(world.pair).await.unwrap();
    let mut partway = Vec::new();
    loop {
        let snapshot = world.engine.snapshot(job).unwrap();
        if snapshot.state.is_final() {
            break;
        }
        if let Some(file) = snapshot.in_flight.iter().find(|f| f.path == "video.mp4")
            && file.bytes_done > 0
            && file.bytes_done < SIZE as u64
        {
            partway.push((file.bytes_done, snapshot.bytes_done));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let outcome = world.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(
        partway.len() >= 2 && partway.windows(2).all(|w| w[0].0 <= w[1].0),
        "the file's bytes moved while it went out: {partway:?}"
    );
    assert_eq!(world.engine.snapshot(job).unwrap().bytes_done, SIZE as u64);
}

#[tokio::test]
async fn the_file_count_counts_what_the_summary_counts() {
    let memory = common::MemoryPair::new(tidesync_engine::Mode::Download).await;
    for path in ["a/b/c.txt", "a/d.txt", "e.txt"] {
        memory.server.write(path, b"x");
    }
    let job = memory.engine.start(memory.pair).await.unwrap();
    let outcome = memory.engine.wait(job).await.unwrap();
    let snapshot = memory.engine.snapshot(job).unwrap();
    assert_eq!(outcome.summary.files_downloaded, 3);
    assert_eq!(
        (snapshot.files_done, snapshot.files_total),
        (3, 3),
        "folders are not files"
    );
}
