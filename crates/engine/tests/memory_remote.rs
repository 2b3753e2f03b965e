//! The engine's logic on the in-memory server: no sockets, no server process, fast.

use std::sync::Arc;

use tidesync_engine::remote::MemoryRemote;
use tidesync_engine::{Engine, EngineOptions, JobState, Mode};

struct Setup {
    server: Arc<MemoryRemote>,
    engine: Engine,
    pair: i64,
    local: tempfile::TempDir,
    _data: tempfile::TempDir,
}

async fn setup(mode: Mode) -> Setup {
    let (local, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let engine = Engine::open(data.path(), EngineOptions::default())
        .await
        .unwrap();
    let remote = engine
        .add_remote("memory", "http://127.0.0.1:9/", None, false)
        .await
        .unwrap();
    let server = Arc::new(MemoryRemote::new());
    engine.use_remote(remote, server.clone());
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
async fn a_download_that_does_not_match_the_servers_checksum_is_not_installed() {
    let s = setup(Mode::Download).await;
    s.server.write("good.txt", b"good bytes");
    s.server.write_claiming(
        "bad.txt",
        b"bytes the server corrupted",
        "SHA1:0000000000000000000000000000000000000000",
    );
    let outcome = s.sync().await;
    assert_eq!(outcome.summary.files_downloaded, 1, "{outcome:?}");
    assert_eq!(outcome.summary.errors.len(), 1);
    assert!(
        outcome.summary.errors[0].message.contains("SHA1 checksum"),
        "{:?}",
        outcome.summary.errors
    );
    assert_eq!(
        s.local_files().keys().collect::<Vec<_>>(),
        ["good.txt"],
        "no corrupt file, no part file"
    );
}
