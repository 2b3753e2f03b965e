//! Every local file a sync deletes or replaces goes into the pair's trash first, one test per
//! way a sync removes one: a delete that came from the server, a newer version from the
//! server over an unchanged file, and a content comparison that found the server's copy
//! different. Each file comes back with `trash::restore`.

mod common;

use common::{MemoryPair, write};
use tidesync_engine::memory::MemoryRemote;
use tidesync_engine::trash::{self, Removal};
use tidesync_engine::{EngineOptions, JobState, Mode};

/// The trash's entries as (path, why, bytes kept).
fn in_trash(pair: &MemoryPair) -> Vec<(String, Removal, Vec<u8>)> {
    let root = pair.local.path();
    trash::list(root)
        .unwrap()
        .into_iter()
        .map(|entry| {
            let kept = root.join(trash::TRASH).join(&entry.id).join(&entry.path);
            (entry.path, entry.why, std::fs::read(kept).unwrap())
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_file_deleted_on_the_server_goes_to_the_trash_and_comes_back() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    pair.server.write("Photos/a.jpg", b"a photo");
    pair.server.write("keep.txt", b"kept");
    pair.sync().await;
    pair.server.remove("Photos/a.jpg");
    let outcome = pair.sync().await;
    assert_eq!(outcome.summary.deleted_local, 1, "{outcome:?}");
    assert!(!pair.local.path().join("Photos/a.jpg").exists());
    assert_eq!(
        in_trash(&pair),
        [(
            "Photos/a.jpg".to_owned(),
            Removal::DeletedOnServer,
            b"a photo".to_vec()
        )]
    );

    // Restored, it is a file new on the phone: the next sync uploads it.
    let id = trash::list(pair.local.path()).unwrap()[0].id.clone();
    trash::restore(pair.local.path(), &id).unwrap();
    let back = pair.sync().await;
    assert_eq!(back.summary.files_uploaded, 1, "{back:?}");
    assert_eq!(pair.server.files()["Photos/a.jpg"], b"a photo");
    assert!(in_trash(&pair).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_file_a_newer_server_version_replaces_goes_to_the_trash() {
    let pair = MemoryPair::new(Mode::Download).await;
    pair.server.write("notes.txt", b"version one");
    pair.sync().await;
    pair.server.write("notes.txt", b"version two, longer");
    let outcome = pair.sync().await;
    assert_eq!(outcome.summary.files_downloaded, 1, "{outcome:?}");
    assert_eq!(
        std::fs::read(pair.local.path().join("notes.txt")).unwrap(),
        b"version two, longer"
    );
    assert_eq!(
        in_trash(&pair),
        [(
            "notes.txt".to_owned(),
            Removal::ReplacedByServer,
            b"version one".to_vec()
        )]
    );
    // The trash is never synced: the server holds what it held.
    assert_eq!(pair.server.files().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_file_a_content_comparison_replaces_goes_to_the_trash() {
    let server = MemoryRemote::new();
    server.drop_validators();
    let options = EngineOptions {
        verify_contents: true,
        ..EngineOptions::default()
    };
    let pair = MemoryPair::with_options(Mode::TwoWay, server, options).await;
    pair.server.write("a.txt", b"one");
    pair.sync().await;
    // The same size and no validator: only the comparison sees the edit.
    pair.server.write("a.txt", b"two");
    let outcome = pair.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(outcome.summary.files_compared, 1, "{outcome:?}");
    assert_eq!(
        std::fs::read(pair.local.path().join("a.txt")).unwrap(),
        b"two"
    );
    assert_eq!(
        in_trash(&pair),
        [(
            "a.txt".to_owned(),
            Removal::ReplacedByServer,
            b"one".to_vec()
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn a_file_made_on_the_phone_is_never_put_in_the_trash() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    write(pair.local.path(), "mine.txt", b"mine");
    pair.server.write("theirs.txt", b"theirs");
    pair.sync().await;
    write(pair.local.path(), "mine.txt", b"mine, edited");
    pair.sync().await;
    assert!(in_trash(&pair).is_empty());
    assert_eq!(pair.server.files()["mine.txt"], b"mine, edited");
}

/// For a server without a trash bin of its own, `remote_backup` (CLI `--backup-dir`) moves a
/// file the sync would delete there into a folder of the server instead; that folder is
/// never synced.
#[tokio::test(start_paused = true)]
async fn a_delete_sent_to_the_server_goes_to_the_backup_folder_given_for_the_run() {
    let options = EngineOptions {
        remote_backup: Some("Deleted by Tidesync".into()),
        ..EngineOptions::default()
    };
    let pair = MemoryPair::with_options(Mode::TwoWay, MemoryRemote::new(), options).await;
    deletes_go_to_the_backup_folder(&pair).await;
}

/// The same folder set once in the pair's settings (the app's "Keep what syncs delete on the
/// server in").
#[tokio::test(start_paused = true)]
async fn a_delete_sent_to_the_server_goes_to_the_backup_folder_the_pair_names() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    let settings = tidesync_engine::PairSettings {
        server_backup: Some("Deleted by Tidesync".into()),
        ..pair.engine.pair(pair.pair).await.unwrap().settings
    };
    pair.engine
        .update_pair(pair.pair, Mode::TwoWay, settings)
        .await
        .unwrap();
    deletes_go_to_the_backup_folder(&pair).await;
}

/// A file deleted on the phone lands in `Deleted by Tidesync` on the server, which is then
/// neither downloaded nor deleted.
async fn deletes_go_to_the_backup_folder(pair: &MemoryPair) {
    pair.server.write("Docs/old.txt", b"not needed any more");
    pair.server.write("keep.txt", b"kept");
    pair.sync().await;
    std::fs::remove_file(pair.local.path().join("Docs/old.txt")).unwrap();
    let outcome = pair.sync().await;
    assert_eq!(outcome.summary.deleted_remote, 1, "{outcome:?}");
    let files = pair.server.files();
    assert!(!files.contains_key("Docs/old.txt"));
    assert_eq!(
        files["Deleted by Tidesync/Docs/old.txt"],
        b"not needed any more"
    );
    let again = pair.sync().await;
    assert_eq!(
        again.summary,
        Default::default(),
        "the backup is not synced"
    );
    assert!(!pair.local.path().join("Deleted by Tidesync").exists());
}

/// The pair's settings say how long the trash keeps files: set to keep nothing older than a
/// day, a file removed two days ago goes after the next sync; a new one stays.
#[tokio::test(start_paused = true)]
async fn the_trash_keeps_files_as_long_as_the_pair_says() {
    let pair = MemoryPair::new(Mode::Download).await;
    pair.server.write("a.txt", b"one");
    pair.sync().await;
    let old = pair
        .local
        .path()
        .join(trash::TRASH)
        .join("1000-deleted-00000000");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("ancient.txt"), b"from long ago").unwrap();
    let settings = tidesync_engine::PairSettings {
        trash_days: Some(1),
        ..pair.engine.pair(pair.pair).await.unwrap().settings
    };
    pair.engine
        .update_pair(pair.pair, Mode::Download, settings)
        .await
        .unwrap();
    pair.server.write("a.txt", b"two, longer");
    pair.sync().await;
    let kept: Vec<String> = trash::list(pair.local.path())
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(kept, ["a.txt"], "the old entry went, the new one stays");
}

/// The device (volume) `path` is on.
fn device(path: &std::path::Path) -> u64 {
    std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(path).unwrap())
}

/// Two folders on different volumes: a tmpfs one (`/dev/shm`) and one on the disk that holds
/// the build (`CARGO_TARGET_TMPDIR`).
fn two_volumes() -> (tempfile::TempDir, tempfile::TempDir) {
    let memory = tempfile::tempdir_in("/dev/shm").expect("/dev/shm (tmpfs) for a second volume");
    let disk = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    assert_ne!(
        device(memory.path()),
        device(disk.path()),
        "/dev/shm and the target folder must be two volumes for this test"
    );
    (memory, disk)
}

/// The sync folder on one volume and the state folder on another: a server delete moves the
/// file into the trash beside the sync folder, by a rename (the same inode), not through the
/// state folder's volume.
#[tokio::test(start_paused = true)]
async fn the_trash_is_on_the_sync_folders_volume_whatever_the_state_folders() {
    let (local, data) = two_volumes();
    let pair = MemoryPair::in_folders(
        Mode::TwoWay,
        MemoryRemote::new(),
        EngineOptions::default(),
        local,
        data,
    )
    .await;
    pair.server.write("a.txt", b"a file");
    pair.server.write("keep.txt", b"kept");
    pair.sync().await;
    let inode = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(pair.local.path().join("a.txt")).unwrap(),
    );
    pair.server.remove("a.txt");
    assert_eq!(pair.sync().await.summary.deleted_local, 1);
    let entry = &trash::list(pair.local.path()).unwrap()[0];
    let kept = pair
        .local
        .path()
        .join(trash::TRASH)
        .join(&entry.id)
        .join("a.txt");
    let meta = std::fs::metadata(&kept).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&meta),
        inode,
        "renamed, not copied"
    );
    assert_eq!(
        std::os::unix::fs::MetadataExt::dev(&meta),
        device(pair.local.path())
    );
}

/// Where the file lies on another volume than the trash (a card mounted inside the sync
/// folder), a rename cannot move it: it is copied into the trash, then removed.
#[test]
fn a_file_on_another_volume_than_the_trash_is_copied_there_then_removed() {
    let (root, elsewhere) = two_volumes();
    let file = elsewhere.path().join("card.txt");
    std::fs::write(&file, b"on the card").unwrap();
    let kept = trash::keep(
        root.path(),
        &file,
        "Card/card.txt",
        Removal::DeletedOnServer,
    )
    .unwrap();
    assert!(!file.exists(), "the original is removed");
    assert_eq!(std::fs::read(&kept).unwrap(), b"on the card");
    let listed = trash::list(root.path()).unwrap();
    assert_eq!(listed[0].path, "Card/card.txt");
    assert_eq!(device(&kept), device(root.path()));
}
