//! Hazards of real local disks, each against dav-server, rclone serve and Apache mod_dav: what
//! a user's ordinary folder holds besides plain files, and what happens to the folder itself.
//! Each test names the loss it guards against; each failed on the engine before its guard.

#![cfg(unix)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Server, World, write};
use tidesync_engine::disk::Disk;
use tidesync_engine::names::nfc;
use tidesync_engine::{
    Engine, EngineOptions, FailureKind, JobState, Mode, Outcome, PairId, PlainHttp,
};
use tidesync_testkit::tree::{MARKER, TRASH, snapshot};

/// One test per server for each hazard.
macro_rules! on_every_server {
    ($($hazard:ident),* $(,)?) => {$(
        mod $hazard {
            #[tokio::test(flavor = "multi_thread")]
            async fn on_dav_server() {
                super::$hazard(super::Server::Dav).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn on_rclone_serve() {
                super::$hazard(super::Server::Rclone).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn on_apache_mod_dav() {
                super::$hazard(super::Server::Apache).await
            }
        }
    )*};
}

on_every_server!(
    a_symbolic_link_is_never_written_through_and_its_server_files_stay,
    a_named_pipe_is_left_alone_and_never_blocks,
    a_missing_or_replaced_local_folder_stops_the_run_and_deletes_nothing,
    a_name_in_another_unicode_form_is_one_item,
    long_names_download_and_a_path_too_long_is_an_error_of_its_own,
    far_future_and_pre_1970_times_are_sent_once,
    a_users_file_named_like_a_part_file_syncs,
    on_a_case_insensitive_folder_case_renames_move_and_server_twins_stay_apart,
);

/// A sync that must end on its own: a hang fails the test instead of the whole suite.
async fn sync(world: &World) -> Outcome {
    tokio::time::timeout(Duration::from_secs(120), world.sync())
        .await
        .expect("the sync ended")
}

/// Syncs until nothing is left to do: nothing is sent again, and a second run changes
/// nothing. The first may fetch again what it sent: rclone serve can list a file just
/// uploaded with another ETag than its upload answered (seen once in CI, for files sent with
/// `X-OC-Mtime`; it caches listings for a second), and a download of the same bytes loses
/// nothing.
async fn settled(world: &World) {
    let first = sync(world).await;
    let s = &first.summary;
    assert_eq!(first.state, JobState::Completed, "{first:?}");
    assert!(s.errors.is_empty(), "{first:?}");
    assert_eq!(
        (
            s.files_uploaded,
            s.deleted_local,
            s.deleted_remote,
            s.conflicts
        ),
        (0, 0, 0, 0),
        "nothing sent again: {first:?}"
    );
    let again = sync(world).await;
    assert_eq!(
        again.summary,
        Default::default(),
        "nothing to do: {again:?}"
    );
}

fn skipped(outcome: &Outcome) -> Vec<(&str, &str)> {
    let mut items: Vec<_> = outcome
        .summary
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.message.as_str()))
        .collect();
    items.sort();
    items
}

async fn set_mode(engine: &Engine, pair: PairId, mode: Mode) {
    let settings = engine.pair(pair).await.unwrap().settings;
    engine.update_pair(pair, mode, settings).await.unwrap();
}

fn read(root: &Path, path: &str) -> Vec<u8> {
    std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A folder linked from outside (a common way to "add" a folder) used to get the server's
/// files written into it, outside the sync folder; the next run, which does not follow links,
/// took them for deleted on the phone and deleted them on the server. An emacs lock (a dangling
/// link) made every run fail; it is now left out by the default patterns, quietly.
async fn a_symbolic_link_is_never_written_through_and_its_server_files_stay(server: Server) {
    let world = World::new(server, Mode::TwoWay).await;
    world.put_remote("Linked/from-server.txt", b"on the server");
    world.put_remote("plain.txt", b"plain");
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), world.local().join("Linked")).unwrap();
    std::os::unix::fs::symlink("nowhere@host.1234", world.local().join(".#notes.txt")).unwrap();
    std::os::unix::fs::symlink("plain.txt", world.local().join("alias.txt")).unwrap();

    for run in 0..2 {
        let outcome = sync(&world).await;
        assert_eq!(outcome.state, JobState::Completed, "run {run}: {outcome:?}");
        assert!(outcome.summary.errors.is_empty(), "run {run}: {outcome:?}");
        let paths: Vec<&str> = skipped(&outcome).iter().map(|(p, _)| *p).collect();
        assert_eq!(paths, ["Linked", "alias.txt"], "run {run}");
        assert_eq!(outcome.summary.ignored, 1, "run {run}: the emacs lock");
        assert!(
            skipped(&outcome)
                .iter()
                .all(|(_, why)| why.contains("symbolic link")),
            "{outcome:?}"
        );
        assert!(
            snapshot(outside.path()).is_empty(),
            "run {run}: nothing written through the link"
        );
        assert_eq!(
            read(world.remote(), "Linked/from-server.txt"),
            b"on the server"
        );
        assert!(!world.remote().join("alias.txt").exists());
        assert!(!world.remote().join(".#notes.txt").exists());
        assert_eq!(read(world.local(), "plain.txt"), b"plain");
    }

    // A synced folder later replaced by a link: its server files are not deleted either.
    write(world.local(), "Synced/mine.txt", b"mine");
    assert_eq!(sync(&world).await.state, JobState::Completed);
    assert_eq!(read(world.remote(), "Synced/mine.txt"), b"mine");
    std::fs::rename(world.local().join("Synced"), outside.path().join("moved")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("moved"), world.local().join("Synced")).unwrap();
    world.put_remote("Synced/new-on-server.txt", b"new");
    let outcome = sync(&world).await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(read(world.remote(), "Synced/mine.txt"), b"mine");
    assert_eq!(read(world.remote(), "Synced/new-on-server.txt"), b"new");
    assert!(!outside.path().join("moved/new-on-server.txt").exists());
}

/// A named pipe used to hang the sync in a blocking `open` that no stop reached.
async fn a_named_pipe_is_left_alone_and_never_blocks(server: Server) {
    let world = World::new(server, Mode::TwoWay).await;
    world.put_remote("pipe", b"a server file with the pipe's name");
    write(world.local(), "note.txt", b"note");
    let made = std::process::Command::new("mkfifo")
        .arg(world.local().join("pipe"))
        .arg(world.local().join("other-pipe"))
        .status()
        .unwrap();
    assert!(made.success());

    for run in 0..2 {
        let outcome = sync(&world).await;
        assert_eq!(outcome.state, JobState::Completed, "run {run}: {outcome:?}");
        assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
        let items = skipped(&outcome);
        assert_eq!(
            items.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            ["other-pipe", "pipe"]
        );
        assert!(items.iter().all(|(_, why)| why.contains("named pipe")));
        assert_eq!(
            read(world.remote(), "pipe"),
            b"a server file with the pipe's name"
        );
        assert!(!world.remote().join("other-pipe").exists());
        assert_eq!(read(world.remote(), "note.txt"), b"note");
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::symlink_metadata(world.local().join("pipe"))
            .unwrap()
            .file_type();
        assert!(kind.is_fifo(), "the pipe is still a pipe");
    }
}

/// An SD card taken out, a drive not mounted, a folder moved away and an empty one made in
/// its place: each looked like a folder whose files were deleted, and a two-way or upload run
/// deleted the server's copies when they were fewer than the mass-delete guard counts.
async fn a_missing_or_replaced_local_folder_stops_the_run_and_deletes_nothing(server: Server) {
    let world = World::new(server, Mode::TwoWay).await;
    for name in ["a.txt", "b.txt", "Docs/c.txt"] {
        world.put_remote(name, name.as_bytes());
    }
    assert_eq!(sync(&world).await.state, JobState::Completed);
    assert!(world.local().join(MARKER).is_file(), "the folder is marked");
    assert!(
        !world.remote().join(MARKER).exists(),
        "the marker is never synced"
    );
    let server_files = snapshot(world.remote());
    assert_eq!(server_files.len(), 4, "{server_files:?}");
    let away = world.local().with_extension("away");

    for mode in [Mode::TwoWay, Mode::Upload] {
        set_mode(&world.engine, world.pair, mode).await;
        std::fs::rename(world.local(), &away).unwrap();
        let outcome = sync(&world).await;
        assert_eq!(
            outcome.state,
            JobState::Failed,
            "{mode:?} missing: {outcome:?}"
        );
        assert_eq!(
            outcome.failure,
            Some(FailureKind::FolderGone),
            "{outcome:?}"
        );
        assert!(
            outcome
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("is missing"),
            "{outcome:?}"
        );
        assert!(!world.local().exists(), "{mode:?}: not made again");

        std::fs::create_dir(world.local()).unwrap();
        let outcome = sync(&world).await;
        assert_eq!(
            outcome.failure,
            Some(FailureKind::FolderGone),
            "{mode:?} replaced"
        );
        assert!(
            outcome
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("not the one that was synced"),
            "{outcome:?}"
        );
        assert!(
            snapshot(world.local()).is_empty(),
            "{mode:?}: nothing downloaded"
        );
        assert_eq!(
            snapshot(world.remote()),
            server_files,
            "{mode:?}: nothing deleted"
        );

        std::fs::remove_dir(world.local()).unwrap();
        std::fs::rename(&away, world.local()).unwrap();
        let outcome = sync(&world).await;
        assert_eq!(
            outcome.state,
            JobState::Completed,
            "{mode:?} back: {outcome:?}"
        );
        assert_eq!(
            outcome.summary,
            Default::default(),
            "{mode:?}: nothing to do"
        );
    }
}

/// The server's folder deleted (by another device, or by its admin) used to be made again
/// empty and the phone's copies deleted to match.
#[tokio::test]
async fn a_server_folder_that_is_gone_stops_the_run_and_deletes_nothing_locally() {
    let served = tempfile::tempdir().unwrap();
    let dav = tidesync_testkit::DavServer::serve(served.path())
        .await
        .unwrap();
    let (local, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let engine = Engine::open(data.path(), EngineOptions::default())
        .await
        .unwrap();
    let remote = engine
        .add_remote("dav", &dav.url(), None, PlainHttp::LoopbackOnly)
        .await
        .unwrap();
    let pair = engine
        .ensure_pair(remote, "Photos", local.path(), Mode::TwoWay)
        .await
        .unwrap();
    write(served.path(), "Photos/one.jpg", b"one");
    write(served.path(), "Photos/two.jpg", b"two");
    let run = |engine: &Engine| {
        let engine = engine.clone();
        async move {
            let job = engine.start(pair).await.unwrap();
            engine.wait(job).await.unwrap()
        }
    };
    assert_eq!(run(&engine).await.state, JobState::Completed);
    assert_eq!(snapshot(local.path()).len(), 2);

    std::fs::remove_dir_all(served.path().join("Photos")).unwrap();
    for mode in [Mode::TwoWay, Mode::Download, Mode::Upload] {
        set_mode(&engine, pair, mode).await;
        let outcome = run(&engine).await;
        assert_eq!(
            outcome.failure,
            Some(FailureKind::FolderGone),
            "{mode:?}: {outcome:?}"
        );
        assert!(
            outcome
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("folder on the server is gone"),
            "{outcome:?}"
        );
        assert_eq!(
            snapshot(local.path()).len(),
            2,
            "{mode:?}: the phone keeps its copies"
        );
        assert!(
            !served.path().join("Photos").exists(),
            "{mode:?}: not made again"
        );
    }
}

/// Every file's path in NFC, failing on two paths with one NFC form (a duplicate).
fn files_in_nfc(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    for (path, bytes) in snapshot(root) {
        let key = nfc(&path).into_owned();
        assert!(
            files.insert(key, bytes).is_none(),
            "{path:?} twice in {root:?}: {:?}",
            snapshot(root).keys().collect::<Vec<_>>()
        );
    }
    files
}

/// macOS and some Android file managers write names decomposed (NFD); servers and other
/// devices mostly composed (NFC). Compared as bytes they were two items: Apache got a
/// duplicate, rclone (which lists NFC) saw the upload "appear" under another name on every
/// run.
async fn a_name_in_another_unicode_form_is_one_item(server: Server) {
    const CAFE_NFC: &str = "caf\u{e9}.txt";
    const CAFE_NFD: &str = "cafe\u{301}.txt";
    const FOLDER_NFD: &str = "Re\u{301}sume\u{301}";
    let world = World::new(server, Mode::TwoWay).await;
    world.put_remote(CAFE_NFC, b"the same bytes");
    world.put_remote("R\u{e9}sum\u{e9}/from-server.txt", b"server");
    write(world.local(), CAFE_NFD, b"the same bytes");
    write(
        world.local(),
        &format!("{FOLDER_NFD}/from-phone.txt"),
        b"phone",
    );
    write(world.local(), "nouveaute\u{301}.txt", b"new on the phone");

    let first = sync(&world).await;
    assert_eq!(first.state, JobState::Completed, "{first:?}");
    assert!(first.summary.errors.is_empty(), "{first:?}");
    assert_eq!(first.summary.conflicts, 0, "{first:?}");
    let expected: std::collections::BTreeMap<String, Vec<u8>> = [
        (CAFE_NFC, &b"the same bytes"[..]),
        ("R\u{e9}sum\u{e9}/", b""),
        ("R\u{e9}sum\u{e9}/from-phone.txt", b"phone"),
        ("R\u{e9}sum\u{e9}/from-server.txt", b"server"),
        ("nouveaut\u{e9}.txt", b"new on the phone"),
    ]
    .into_iter()
    .map(|(p, b)| (p.to_owned(), b.to_vec()))
    .collect();
    assert_eq!(files_in_nfc(world.local()), expected, "the phone");
    assert_eq!(files_in_nfc(world.remote()), expected, "the server");
    assert!(
        world.local().join(CAFE_NFD).is_file(),
        "the phone's spelling stays"
    );
    assert!(world.local().join(FOLDER_NFD).is_dir());
    settled(&world).await;

    // An edit on either side reaches the other under its own spelling.
    write(world.local(), CAFE_NFD, b"edited on the phone");
    let edited = sync(&world).await;
    assert_eq!(edited.summary.files_uploaded, 1, "{edited:?}");
    assert_eq!(
        files_in_nfc(world.remote())[CAFE_NFC],
        b"edited on the phone"
    );
    let server_name = snapshot(world.remote())
        .into_keys()
        .find(|p| nfc(p) == CAFE_NFC)
        .unwrap();
    world.put_remote(&server_name, b"then edited on the server");
    world.remote_writes_seen().await;
    let fetched = sync(&world).await;
    assert_eq!(fetched.summary.files_downloaded, 1, "{fetched:?}");
    assert_eq!(read(world.local(), CAFE_NFD), b"then edited on the server");
    assert_eq!(files_in_nfc(world.local()).len(), expected.len());
    settled(&world).await;
}

/// Names of 241–255 bytes never downloaded (the part file's name, longer still, passed the
/// 255-byte limit); a path beyond the system's limit failed with a raw OS error and left a
/// chain of empty folders.
async fn long_names_download_and_a_path_too_long_is_an_error_of_its_own(server: Server) {
    let world = World::new(server, Mode::Download).await;
    let longest = format!("{}.txt", "n".repeat(251));
    let accented = format!("{}.md", "\u{e9}".repeat(126));
    assert_eq!((longest.len(), accented.len()), (255, 255));
    world.put_remote(&longest, b"255 bytes of name");
    world.put_remote(&accented, b"accented");
    let deep = format!("{}/{}/file.txt", "d".repeat(200), "e".repeat(200));
    world.put_remote(&deep, b"too deep for the folder below");

    // A local folder whose own path leaves less room than the server's paths need.
    let mut base = world.local().to_owned();
    while base.as_os_str().len() < 3_800 {
        base.push("p".repeat(200));
    }
    std::fs::create_dir_all(&base).unwrap();
    let pair = world
        .engine
        .ensure_pair(world.remote_id, "", &base, Mode::Download)
        .await
        .unwrap();
    let job = world.engine.start(pair).await.unwrap();
    let outcome = world.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(read(&base, &longest), b"255 bytes of name");
    assert_eq!(read(&base, &accented), b"accented");
    let errors: Vec<&str> = outcome
        .summary
        .errors
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        errors,
        ["d".repeat(200) + "/" + &"e".repeat(200)],
        "{outcome:?}"
    );
    assert!(
        outcome.summary.errors[0]
            .message
            .contains("takes at most 4095"),
        "{outcome:?}"
    );
    assert!(
        base.join("d".repeat(200)).is_dir(),
        "the folder that fits is the server's, and is made"
    );
    assert!(
        snapshot(&base.join("d".repeat(200))).is_empty(),
        "no chain of folders below it"
    );
}

/// A file dated after 2262 or before 1970 was uploaded again on every run: its time did not
/// fit the journal, so it always looked changed.
async fn far_future_and_pre_1970_times_are_sent_once(server: Server) {
    let world = World::new(server, Mode::TwoWay).await;
    let year = |y: u64| (y - 1970) * 365 * 24 * 60 * 60;
    let dated = [
        (
            "future.txt",
            std::time::UNIX_EPOCH + Duration::from_secs(year(2400)),
        ),
        (
            "past.txt",
            std::time::UNIX_EPOCH - Duration::from_secs(10 * 365 * 24 * 60 * 60),
        ),
        ("epoch.txt", std::time::UNIX_EPOCH),
        (
            &*format!("{}.txt", "l".repeat(251)),
            std::time::UNIX_EPOCH + Duration::from_secs(year(2001)),
        ),
    ];
    for (name, time) in &dated {
        let file = write(world.local(), name, name.as_bytes());
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(*time)
            .unwrap();
    }
    let first = sync(&world).await;
    assert_eq!(first.state, JobState::Completed, "{first:?}");
    assert!(first.summary.errors.is_empty(), "{first:?}");
    assert_eq!(first.summary.files_uploaded, 4, "{first:?}");
    for _ in 0..2 {
        settled(&world).await;
    }
    for (name, _) in &dated {
        assert_eq!(read(world.remote(), name), name.as_bytes());
    }
}

/// Some editors and databases rewrite a file in place and set its modification time back.
/// During an upload, that used to leave the server with old and new bytes mixed, recorded
/// as synced: size and time matched. The change time, which no program can set back, tells.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_rewritten_in_place_during_its_upload_is_never_recorded_as_sent() {
    use std::io::Write;
    const SIZE: usize = 2 * 1024 * 1024;
    let world = World::new(Server::DavCapped(512 * 1024), Mode::Upload).await;
    let file = write(world.local(), "db.bin", &vec![b'a'; SIZE]);
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let job = world.engine.start(world.pair).await.unwrap();
    // Once part of the file is on the server, rewrite it in place and put its time back.
    let mut under_way = false;
    for _ in 0..2_000 {
        under_way = std::fs::read_dir(world.remote())
            .unwrap()
            .flatten()
            .any(|e| e.metadata().is_ok_and(|m| m.len() > 0) && e.file_name() != "db.bin");
        if under_way {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(under_way, "the upload started");
    let mut rewrite = std::fs::File::options().write(true).open(&file).unwrap();
    rewrite.write_all(&vec![b'b'; SIZE]).unwrap();
    rewrite.set_modified(mtime).unwrap();
    drop(rewrite);
    let first = world.engine.wait(job).await.unwrap();
    assert!(
        first
            .summary
            .errors
            .iter()
            .any(|e| e.message.contains("changed during the upload")),
        "{first:?}"
    );

    let second = sync(&world).await;
    assert_eq!(second.state, JobState::Completed, "{second:?}");
    let sent = read(world.remote(), "db.bin");
    assert!(
        sent.iter().all(|b| *b == b'b'),
        "the server has the new version whole"
    );
    settled(&world).await;
}

/// A user's file named like a part file used to be taken for one and never synced.
async fn a_users_file_named_like_a_part_file_syncs(server: Server) {
    let world = World::new(server, Mode::TwoWay).await;
    let names = [
        "notes.tidesync-part",
        ".notes.txt.tidesync-part",
        ".tidesync-part-draft",
    ];
    for name in names {
        write(world.local(), name, name.as_bytes());
    }
    world.put_remote(".tidesync-part-from-server", b"server");
    let outcome = sync(&world).await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(outcome.summary.files_uploaded, 3, "{outcome:?}");
    assert_eq!(outcome.summary.files_downloaded, 1, "{outcome:?}");
    for name in names {
        assert_eq!(read(world.remote(), name), name.as_bytes());
    }
    assert_eq!(read(world.local(), ".tidesync-part-from-server"), b"server");
    settled(&world).await;
}

/// A server that gives neither an ETag nor a modification time hid every edit that kept a
/// file's size: it was never downloaded. Such a server is named in the summary, and its files
/// are compared every `VERIFY_EVERY`th run, or on every run with `verify_contents`.
#[tokio::test]
async fn a_same_size_edit_on_a_server_without_validators_is_found_by_comparing_contents() {
    use common::MemoryPair;
    use tidesync_engine::memory::MemoryRemote;
    use tidesync_engine::run::VERIFY_EVERY;

    let server = MemoryRemote::new();
    server.drop_validators();
    let pair = MemoryPair::with_server(Mode::TwoWay, server).await;
    pair.server.write("notes.txt", b"version one");
    let first = pair.sync().await;
    assert_eq!(first.summary.files_downloaded, 1, "{first:?}");
    assert!(first.summary.without_validators, "{first:?}");
    pair.server.write("notes.txt", b"version two");
    for run in 2..=VERIFY_EVERY {
        let outcome = pair.sync().await;
        let compared = run % VERIFY_EVERY == 0;
        assert_eq!(
            (
                outcome.summary.files_compared,
                outcome.summary.files_downloaded
            ),
            if compared { (1, 1) } else { (0, 0) },
            "run {run}: {outcome:?}"
        );
    }
    assert_eq!(read(pair.local.path(), "notes.txt"), b"version two");

    let server = MemoryRemote::new();
    server.drop_validators();
    let options = EngineOptions {
        verify_contents: true,
        ..EngineOptions::default()
    };
    let pair = MemoryPair::with_options(Mode::TwoWay, server, options).await;
    pair.server.write("a.txt", b"one");
    pair.server.write("b.txt", b"same");
    pair.sync().await;
    pair.server.write("a.txt", b"two");
    // An edit on the phone meanwhile is the phone's, not replaced by the comparison.
    write(pair.local.path(), "b.txt", b"mine!");
    let checked = pair.sync().await;
    assert_eq!(checked.summary.files_compared, 1, "{checked:?}");
    assert_eq!(read(pair.local.path(), "a.txt"), b"two");
    assert_eq!(pair.server.files()["b.txt"], b"mine!");
}

/// Stop must end a run whatever the other side does: here a server that accepts the
/// connection and then sends nothing for two minutes. The run ends on the token, not on a
/// timeout (the bound is generous for a busy machine; the stall is far longer).
#[tokio::test(flavor = "multi_thread")]
async fn a_sync_waiting_on_a_stalled_server_stops_at_once_when_cancelled() {
    let world = World::new(Server::DavCapped(u64::MAX / 4), Mode::Download).await;
    world.put_remote("a.txt", b"a");
    let proxy = world.proxy.as_ref().unwrap();
    proxy.always(Some(tidesync_testkit::Fault::Stall(Duration::from_secs(
        120,
    ))));
    stops_at_once(&world.engine, world.pair).await;
}

/// Starts a sync of `pair`, cancels it 300 ms later and checks it ended as cancelled at
/// once (within a bound generous for a busy machine, far below the stalls these tests make).
async fn stops_at_once(engine: &Engine, pair: PairId) {
    let job = engine.start(pair).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = std::time::Instant::now();
    engine.cancel(job).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(60), engine.wait(job))
        .await
        .expect("the run ended")
        .unwrap();
    let took = asked.elapsed();
    assert_eq!(outcome.state, JobState::Cancelled, "{outcome:?}");
    assert!(took < Duration::from_secs(5), "stopped after {took:?}");
}

/// Stop must end a run whatever the disk does: here every read of a file's contents stalls
/// for 10 s on its thread (`Disk::SlowReads`, as a failing card would). The run ends on the
/// token; the read finishes alone. (The test lasts the stall: the runtime waits for it.)
#[tokio::test(flavor = "multi_thread")]
async fn a_sync_waiting_on_a_slow_disk_stops_at_once_when_cancelled() {
    use common::MemoryPair;
    use tidesync_engine::memory::MemoryRemote;
    let options = EngineOptions {
        disk: Disk::SlowReads(Duration::from_secs(10)),
        ..Default::default()
    };
    // A server whose `PUT` is atomic: a small file is read whole before it goes up.
    let server = MemoryRemote::offering(tidesync_webdav::Abilities {
        atomic_put: true,
        chunking: None,
        bulk_upload: None,
    });
    let pair = MemoryPair::with_options(Mode::Upload, server, options).await;
    write(pair.local.path(), "a.txt", b"on a slow card");
    stops_at_once(&pair.engine, pair.pair).await;
}

/// The names in `folder` as its directory lists them (the spelling a volume keeps).
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != MARKER && n != TRASH)
        .collect();
    names.sort();
    names
}

/// On a case-insensitive volume (FAT/exFAT cards, Android's shared storage, macOS; emulated
/// here by `Disk::CaseFolding`), a rename on the server that changed only the letter case was
/// refused on the phone (the new name "was taken" by the file itself), then planned as a
/// download of the new name, which landed on the old file, and a delete of the old name, which
/// removed it. Twins on the server that differ only in case were written over each other.
async fn on_a_case_insensitive_folder_case_renames_move_and_server_twins_stay_apart(
    server: Server,
) {
    let options = EngineOptions {
        disk: Disk::CaseFolding,
        ..Default::default()
    };
    let world = World::with_options(server, Mode::TwoWay, options).await;
    world.put_remote("Report.txt", b"the report");
    world.put_remote("Docs/note.txt", b"a note");
    let first = sync(&world).await;
    assert_eq!(first.summary.files_downloaded, 2, "{first:?}");
    settled(&world).await;

    // Renamed on the server in case only: renamed on the phone, nothing fetched or deleted.
    std::fs::rename(
        world.remote().join("Report.txt"),
        world.remote().join("report.txt"),
    )
    .unwrap();
    world.remote_writes_seen().await;
    let renamed = sync(&world).await;
    assert_eq!(renamed.state, JobState::Completed, "{renamed:?}");
    assert!(renamed.summary.errors.is_empty(), "{renamed:?}");
    assert_eq!(renamed.summary.moved, 1, "{renamed:?}");
    assert_eq!(
        (
            renamed.summary.files_downloaded,
            renamed.summary.deleted_local
        ),
        (0, 0),
        "{renamed:?}"
    );
    assert_eq!(names_in(world.local()), ["Docs", "report.txt"]);
    assert_eq!(read(world.local(), "report.txt"), b"the report");
    settled(&world).await;

    // Renamed on the phone in case only: moved on the server.
    std::fs::rename(
        world.local().join("report.txt"),
        world.local().join("REPORT.txt"),
    )
    .unwrap();
    let moved = sync(&world).await;
    assert_eq!(moved.summary.moved, 1, "{moved:?}");
    assert_eq!(moved.summary.files_uploaded, 0, "{moved:?}");
    assert_eq!(names_in(world.remote()), ["Docs", "REPORT.txt"]);
    world.remote_writes_seen().await;
    settled(&world).await;

    // A twin appears on the server: it gets a copy of its own on the phone, paired with it.
    world.put_remote("Docs/Note.txt", b"another note");
    world.remote_writes_seen().await;
    let twinned = sync(&world).await;
    assert_eq!(twinned.state, JobState::Completed, "{twinned:?}");
    assert!(twinned.summary.errors.is_empty(), "{twinned:?}");
    assert_eq!(twinned.summary.files_downloaded, 1, "{twinned:?}");
    let reported: Vec<&str> = twinned
        .summary
        .renamed_locally
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(reported, ["Docs/Note.txt"], "{twinned:?}");
    assert_eq!(
        names_in(&world.local().join("Docs")),
        ["Note (case conflict).txt", "note.txt"]
    );
    assert_eq!(read(world.local(), "Docs/note.txt"), b"a note");
    assert_eq!(
        read(world.local(), "Docs/Note (case conflict).txt"),
        b"another note"
    );
    let quiet = sync(&world).await;
    assert_eq!(
        (
            quiet.summary.files_downloaded,
            quiet.summary.files_uploaded,
            quiet.summary.deleted_local,
            quiet.summary.deleted_remote
        ),
        (0, 0, 0, 0),
        "no loop: {quiet:?}"
    );

    // The copy and its twin stay paired: an edit of the copy goes to the twin.
    write(
        world.local(),
        "Docs/Note (case conflict).txt",
        b"edited copy",
    );
    let edited = sync(&world).await;
    assert_eq!(edited.summary.files_uploaded, 1, "{edited:?}");
    assert_eq!(read(world.remote(), "Docs/Note.txt"), b"edited copy");
    assert_eq!(read(world.remote(), "Docs/note.txt"), b"a note");
    assert_eq!(
        names_in(&world.remote().join("Docs")),
        ["Note.txt", "note.txt"]
    );
}
