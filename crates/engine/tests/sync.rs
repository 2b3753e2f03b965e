//! Whole syncs against real servers: the in-process dav-server and rclone serve webdav.

mod common;

use common::{Server, World, leftovers, visible, write};
use tidesync_engine::{JobState, Mode, PlainHttp};
use tidesync_testkit::tree::write_tree;

async fn download_mirrors_the_remote(server: Server) {
    let world = World::new(server, Mode::Download).await;
    let files = write_tree(world.remote(), 7, 40);
    let outcome = world.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(
        outcome.summary.errors.is_empty(),
        "{:?}",
        outcome.summary.errors
    );
    assert_eq!(outcome.summary.files_downloaded as usize, files.len());
    let (local, remote) = world.trees();
    assert_eq!(local, remote);
    assert!(leftovers(world.local()).is_empty());

    let again = world.sync().await;
    assert_eq!(
        again.summary.files_downloaded, 0,
        "a second sync downloads nothing"
    );
    assert_eq!(again.state, JobState::Completed);
}

async fn upload_backs_up_the_local_folder(server: Server) {
    let world = World::new(server, Mode::Upload).await;
    let files = write_tree(world.local(), 11, 30);
    let outcome = world.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(
        outcome.summary.errors.is_empty(),
        "{:?}",
        outcome.summary.errors
    );
    assert_eq!(outcome.summary.files_uploaded as usize, files.len());
    let (local, remote) = world.trees();
    assert_eq!(local, remote);
    assert!(
        leftovers(world.remote()).is_empty(),
        "no temporary upload is left on the server"
    );
    assert_eq!(world.sync().await.summary.files_uploaded, 0);
}

async fn two_way_converges(server: Server) {
    let world = World::new(server, Mode::TwoWay).await;
    write_tree(world.remote(), 3, 12);
    write(world.local(), "local only/notes.txt", b"from the phone");
    let first = world.sync().await;
    assert_eq!(first.state, JobState::Completed, "{first:?}");
    let (local, remote) = world.trees();
    assert_eq!(local, remote);
    assert!(remote.contains_key("local only/notes.txt"));
    assert_eq!(
        world.sync().await.summary,
        Default::default(),
        "nothing left to do"
    );
}

#[tokio::test]
async fn dav_server_download() {
    download_mirrors_the_remote(Server::Dav).await;
}

#[tokio::test]
async fn rclone_download() {
    download_mirrors_the_remote(Server::Rclone).await;
}

#[tokio::test]
async fn dav_server_upload() {
    upload_backs_up_the_local_folder(Server::Dav).await;
}

#[tokio::test]
async fn rclone_upload() {
    upload_backs_up_the_local_folder(Server::Rclone).await;
}

#[tokio::test]
async fn dav_server_two_way() {
    two_way_converges(Server::Dav).await;
}

#[tokio::test]
async fn rclone_two_way() {
    two_way_converges(Server::Rclone).await;
}

#[tokio::test]
async fn a_download_never_shows_a_partial_file_and_a_cancelled_one_is_reused() {
    let world = World::new(Server::Dav, Mode::Download).await;
    let big: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    write(world.remote(), "big.bin", &big);
    let job = world.engine.start(world.pair).await.unwrap();
    // Cancel once some bytes are in.
    loop {
        let snapshot = world.engine.snapshot(job).unwrap();
        if snapshot.bytes_done > 1024 * 1024 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    world.engine.cancel(job).unwrap();
    let outcome = world.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Cancelled);
    assert!(
        !world.local().join("big.bin").exists(),
        "no partial file under the real name"
    );
    assert_eq!(leftovers(world.local()), [part_name("big.bin")]);

    let job = world.engine.start(world.pair).await.unwrap();
    let outcome = world.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    let resumed_bytes = world.engine.snapshot(job).unwrap().bytes_done;
    assert!(
        resumed_bytes < big.len() as u64,
        "the part file was reused: {resumed_bytes} bytes fetched"
    );
    assert_eq!(std::fs::read(world.local().join("big.bin")).unwrap(), big);
    assert!(leftovers(world.local()).is_empty());
    assert_eq!(visible(world.local()).len(), 1);
}

#[tokio::test]
async fn a_part_file_whose_remote_file_is_gone_is_removed() {
    let world = World::new(Server::Dav, Mode::Download).await;
    let big: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    write(world.remote(), "gone.bin", &big);
    write(world.remote(), "stays.txt", b"stays");
    let job = world.engine.start(world.pair).await.unwrap();
    while world.engine.snapshot(job).unwrap().bytes_done < 1024 * 1024 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    world.engine.cancel(job).unwrap();
    world.engine.wait(job).await.unwrap();
    assert_eq!(leftovers(world.local()), [part_name("gone.bin")]);

    std::fs::remove_file(world.remote().join("gone.bin")).unwrap();
    let outcome = world.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(
        leftovers(world.local()).is_empty(),
        "the stale part file was removed"
    );
    assert_eq!(
        visible(world.local()).keys().collect::<Vec<_>>(),
        ["stays.txt"]
    );
}

/// The demo remote is found by its mark, never by its name: a user's own server called the
/// same is never repointed to the demo server's loopback address.
#[tokio::test]
async fn a_server_named_like_the_demo_remote_is_left_alone() {
    let data = tempfile::tempdir().unwrap();
    let engine = tidesync_engine::Engine::open(data.path(), Default::default())
        .await
        .unwrap();
    let mine = engine
        .add_remote(
            "Demo remote",
            "https://cloud.example/dav/",
            None,
            PlainHttp::LoopbackOnly,
        )
        .await
        .unwrap();
    let demo = engine
        .ensure_demo_remote(
            "Demo remote",
            "http://127.0.0.1:4000/",
            PlainHttp::LoopbackOnly,
        )
        .await
        .unwrap();
    assert_ne!(mine, demo, "the user's server is not taken for the demo");
    let moved = engine
        .ensure_demo_remote(
            "Demo remote",
            "http://127.0.0.1:5000/",
            PlainHttp::LoopbackOnly,
        )
        .await
        .unwrap();
    assert_eq!(
        moved, demo,
        "the demo remote is found again when its port moves"
    );
    assert_eq!(
        engine.remote(mine).await.unwrap().url,
        "https://cloud.example/dav/"
    );
    assert_eq!(
        engine.remote(demo).await.unwrap().url,
        "http://127.0.0.1:5000/"
    );
}

/// A long-lived app does not keep every job it ever ran in memory: the most recent finished
/// ones stay (a late subscriber still gets their last snapshot), the rest are history.
#[tokio::test]
async fn finished_jobs_beyond_the_last_few_live_on_in_the_history_only() {
    use tidesync_engine::engine::FINISHED_KEPT;
    let memory = common::MemoryPair::new(Mode::Download).await;
    memory.server.write("a.txt", b"a");
    let (engine, pair) = (&memory.engine, memory.pair);
    let runs = FINISHED_KEPT + 4;
    let mut last = None;
    for _ in 0..runs {
        let job = engine.start(pair).await.unwrap();
        assert_eq!(engine.wait(job).await.unwrap().state, JobState::Completed);
        last = Some(job);
    }
    let last = last.unwrap();
    assert_eq!(engine.live_jobs().len(), FINISHED_KEPT);
    assert_eq!(engine.snapshot(last).unwrap().state, JobState::Completed);
    assert_eq!(engine.history().await.unwrap().len(), runs);
}

/// The part file's name of a download of `name` (a hash of it).
fn part_name(name: &str) -> String {
    let part = tidesync_engine::transfer::part_path(std::path::Path::new(name));
    part.file_name().unwrap().to_str().unwrap().to_owned()
}
