//! Downloads that start while the server is still being listed (`run::early`): on a server
//! that must be walked folder by folder, the files of the folders listed first come down
//! while the rest is listed, and only files whose side of the plan is already settled do.
//! The in-memory server holds its walk before the last folder, so each test can look at the
//! phone while the listing is provably unfinished; Apache's access log shows the same order
//! on a real server.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{MemoryPair, leftovers, visible, write};
use tidesync_engine::memory::MEMORY_CHUNK;
use tidesync_engine::remote::Remote;
use tidesync_engine::{JobState, Mode};
use tidesync_testkit::apache::ApacheServer;
use tidesync_webdav::{EntryKind, Overwrite, RemotePath};

/// The files below `root` with their bytes (folders left out).
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = visible(root);
    found.retain(|path, _| !path.ends_with('/'));
    found
}

/// Waits (in real time, bounded) until `path` exists: a download made while the walk is held.
async fn appears(path: &Path) {
    for _ in 0..1000 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} was not downloaded while the listing was held",
        path.display()
    );
}

#[tokio::test]
async fn files_of_the_folders_listed_first_come_down_while_the_rest_is_listed() {
    let p = MemoryPair::new(Mode::Download).await;
    p.server.write("top.txt", b"top");
    p.server.write("a/one.txt", b"one");
    p.server.write("a/b/two.txt", b"two");
    p.server.write("z/y/x/last.txt", b"listed last");
    p.server.hold_walk_before_last_folder();

    let job = p.engine.start(p.pair).await.unwrap();
    appears(&p.local.path().join("a/b/two.txt")).await;
    for (path, text) in [("top.txt", "top"), ("a/one.txt", "one")] {
        appears(&p.local.path().join(path)).await;
        assert_eq!(
            std::fs::read_to_string(p.local.path().join(path)).unwrap(),
            text
        );
    }
    assert!(
        !p.local.path().join("z/y/x/last.txt").exists(),
        "the last folder is not listed yet"
    );
    p.server.release_listings();

    let outcome = p.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    assert_eq!(
        outcome.summary.files_downloaded, 4,
        "each file counted once"
    );
    assert_eq!(outcome.summary.bytes_downloaded, 3 + 3 + 3 + 11);
    assert_eq!(files(p.local.path()), p.server.files());
    assert!(leftovers(p.local.path()).is_empty());
    let again = p.sync().await;
    assert_eq!(again.summary.files_downloaded, 0, "{again:?}");
}

#[tokio::test]
async fn only_files_the_plan_is_sure_to_download_start_before_the_listing_ends() {
    let p = MemoryPair::new(Mode::TwoWay).await;
    p.server.write("docs/a.txt", b"a");
    p.server.write("old.txt", b"a file that will move");
    p.server.write("both.txt", b"v1");
    p.server.write("z/y/x/last.txt", b"listed last");
    let first = p.sync().await;
    assert_eq!(first.state, JobState::Completed, "{first:?}");

    // A new file in a synced folder: settled. Everything else needs the whole listing.
    p.server.write("docs/new.txt", b"new in a synced folder");
    let from = RemotePath::parse("old.txt").unwrap();
    let to = RemotePath::parse("moved.txt").unwrap();
    p.server
        .move_to(&from, &to, EntryKind::File, Overwrite::Never)
        .await
        .unwrap();
    p.server.write("both.txt", b"v2 from the server");
    write(p.local.path(), "both.txt", b"v2 from the phone");
    p.server.write("fresh/x.txt", b"in a new folder");
    write(p.local.path(), "clash.txt", b"made on the phone");
    p.server.write("clash.txt", b"made on the server");
    p.server.hold_walk_before_last_folder();

    let job = p.engine.start(p.pair).await.unwrap();
    appears(&p.local.path().join("docs/new.txt")).await;
    let local = files(p.local.path());
    assert!(local.contains_key("old.txt") && !local.contains_key("moved.txt"));
    assert!(
        !local.contains_key("fresh/x.txt"),
        "a new folder may be a move"
    );
    assert_eq!(local["both.txt"], b"v2 from the phone");
    assert_eq!(local["clash.txt"], b"made on the phone");
    p.server.release_listings();

    let outcome = p.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    assert_eq!(
        outcome.summary.moved, 1,
        "the move is carried, not refetched"
    );
    assert_eq!(outcome.summary.conflicts, 2, "{outcome:?}");
    assert_eq!(
        outcome.summary.files_downloaded, 2,
        "docs/new.txt, fresh/x.txt"
    );
    let local = files(p.local.path());
    assert_eq!(local["moved.txt"], b"a file that will move");
    assert!(!local.contains_key("old.txt"));
    assert_eq!(local["docs/new.txt"], b"new in a synced folder");
    assert_eq!(local["fresh/x.txt"], b"in a new folder");
    let kept: Vec<&[u8]> = local.values().map(Vec::as_slice).collect();
    for phone in [b"v2 from the phone".as_slice(), b"made on the phone"] {
        assert!(kept.contains(&phone), "the phone's version is kept");
    }
    let again = p.sync().await;
    assert_eq!(again.state, JobState::Completed, "{again:?}");
    assert_eq!(files(p.local.path()), p.server.files());
}

#[tokio::test]
async fn a_suspend_during_early_downloads_stops_them_and_the_resume_completes() {
    let p = MemoryPair::new(Mode::Download).await;
    // Small enough to start early (256 KiB at most), large enough to be caught mid-body.
    let count = 16;
    let body = |i: u32| -> Vec<u8> { (0..200 * 1024u32).map(|b| ((b + i) % 251) as u8).collect() };
    for i in 0..count {
        p.server.write(&format!("f{i:02}.bin"), &body(i));
    }
    p.server.write("z/y/last.txt", b"listed last");
    p.server.hold_walk_before_last_folder();

    let job = p.engine.start(p.pair).await.unwrap();
    let first_done = || {
        files(p.local.path())
            .keys()
            .any(|path| path.ends_with(".bin"))
    };
    for _ in 0..1000 {
        if first_done() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(first_done(), "an early download completed");
    p.engine.suspend().await;
    assert!(
        !p.local.path().join("z/y/last.txt").exists(),
        "the walk was still held when the app was suspended"
    );
    p.engine.resume_all();
    p.server.release_listings();

    let outcome = p.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(files(p.local.path()), p.server.files());
    let data: u64 = p.server.files().values().map(|d| d.len() as u64).sum();
    let twice = p.server.bytes_served() - data;
    assert!(
        twice <= u64::from(count) * MEMORY_CHUNK as u64,
        "what was received before the suspend is kept: {twice} bytes fetched twice"
    );
    assert!(leftovers(p.local.path()).is_empty());
}

/// The method and path of each request Apache logged (`METHOD depth path status`).
fn method_and_path(line: &str) -> (&str, &str) {
    let fields: Vec<&str> = line.split(' ').collect();
    (fields[0], fields[2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_apache_a_file_listed_early_is_fetched_before_the_walk_reaches_the_bottom() {
    let apache = ApacheServer::start().await.unwrap();
    common::apache_write(&apache, "top.txt", "top");
    common::apache_write(&apache, "l1/l2/l3/l4/deep.txt", "deep");
    // 20 ms each way in front of Apache: the walk's round trips, not the scheduling of a busy
    // machine, decide the order the log shows (on bare loopback they are too short to).
    let apache_addr = apache.url().split('/').nth(2).unwrap().parse().unwrap();
    let proxy = tidesync_testkit::FaultProxy::start(apache_addr)
        .await
        .unwrap();
    proxy.always(Some(tidesync_testkit::Fault::Latency(
        std::time::Duration::from_millis(20),
    )));
    let (data, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (engine, _, pair) = common::apache_pair(
        data.path(),
        proxy.url() + "dav/",
        None,
        local.path(),
        Mode::Download,
    )
    .await;
    let outcome = engine
        .wait(engine.start(pair).await.unwrap())
        .await
        .unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(outcome.summary.files_downloaded, 2, "{outcome:?}");
    assert_eq!(
        std::fs::read_to_string(local.path().join("l1/l2/l3/l4/deep.txt")).unwrap(),
        "deep"
    );

    // Apache logs a request as it completes. The deepest folder is listed three round trips
    // after the top one; the top file was asked for right after the top listing.
    let is_bottom = |line: &String| method_and_path(line) == ("PROPFIND", "/dav/l1/l2/l3/l4/");
    let log = apache
        .requests_once(|r| r.iter().any(is_bottom) && r.iter().any(|l| l.starts_with("GET")))
        .await
        .unwrap();
    let top = log
        .iter()
        .position(|l| method_and_path(l) == ("GET", "/dav/top.txt"))
        .expect("top.txt was fetched");
    let bottom = log.iter().position(is_bottom).expect("the walk went down");
    assert!(top < bottom, "{log:#?}");
}
