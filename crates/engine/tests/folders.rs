//! The folder cases of the sync rules (docs/SYNC-RULES.md) end to end, each as a user met it:
//! a folder deleted on one side while the other edits inside it, a folder replaced by a file,
//! a folder deleted on the server while a file is added to it, a missing remote folder. The
//! generated cases are in `model_based.rs`; these name the ones that once lost edits.

mod common;

use common::{MemoryPair, Server, World, leftovers, write};
use tidesync_engine::{JobState, Mode};

/// A synced pair holding `docs/a.txt`, `docs/b.txt` and `docs/sub/c.txt` on both sides.
async fn synced(mode: Mode) -> World {
    let world = World::new(Server::Dav, mode).await;
    write(world.remote(), "docs/a.txt", b"a v1");
    write(world.remote(), "docs/b.txt", b"b v1");
    write(world.remote(), "docs/sub/c.txt", b"c v1");
    if mode == Mode::Upload {
        write(world.local(), "docs/a.txt", b"a v1");
        write(world.local(), "docs/b.txt", b"b v1");
        write(world.local(), "docs/sub/c.txt", b"c v1");
    }
    let first = world.sync().await;
    assert_eq!(first.state, JobState::Completed, "{first:?}");
    world
}

async fn sync_clean(world: &World) {
    let outcome = world.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
}

#[tokio::test]
async fn a_folder_deleted_on_the_phone_keeps_what_the_server_changed_inside_it() {
    let world = synced(Mode::TwoWay).await;
    std::fs::remove_dir_all(world.local().join("docs")).unwrap();
    write(world.remote(), "docs/b.txt", b"b v2 edited on the server");
    write(world.remote(), "docs/sub/new.txt", b"new on the server");
    sync_clean(&world).await;
    let (local, remote) = world.trees();
    assert_eq!(local, remote);
    assert_eq!(local["docs/b.txt"], b"b v2 edited on the server");
    assert_eq!(local["docs/sub/new.txt"], b"new on the server");
    assert!(
        !local.contains_key("docs/a.txt"),
        "an untouched file follows the delete"
    );
    assert!(!local.contains_key("docs/sub/c.txt"));
    sync_clean(&world).await;
    assert_eq!(world.trees().0, local, "a further run changes nothing");
}

#[tokio::test]
async fn a_folder_replaced_by_a_file_on_the_phone_keeps_the_server_edits_and_the_file() {
    let world = synced(Mode::TwoWay).await;
    std::fs::remove_dir_all(world.local().join("docs")).unwrap();
    write(world.local(), "docs", b"now a file on the phone");
    write(
        world.remote(),
        "docs/sub/c.txt",
        b"c v2 edited on the server",
    );
    sync_clean(&world).await;
    let (local, remote) = world.trees();
    assert_eq!(local, remote);
    assert_eq!(local["docs/sub/c.txt"], b"c v2 edited on the server");
    let kept: Vec<_> = local
        .iter()
        .filter(|(p, _)| p.starts_with("docs (conflict "))
        .map(|(_, d)| d.as_slice())
        .collect();
    assert_eq!(kept, [b"now a file on the phone".as_slice()]);
}

#[tokio::test]
async fn a_folder_replaced_by_a_file_with_nothing_changed_below_becomes_the_file() {
    let world = synced(Mode::TwoWay).await;
    std::fs::remove_dir_all(world.local().join("docs")).unwrap();
    write(world.local(), "docs", b"a file now");
    sync_clean(&world).await;
    let (local, remote) = world.trees();
    assert_eq!(local, remote);
    assert_eq!(
        local.into_iter().collect::<Vec<_>>(),
        [("docs".to_owned(), b"a file now".to_vec())]
    );
}

#[tokio::test]
async fn a_folder_deleted_on_the_server_keeps_what_the_phone_changed_inside_it() {
    let world = synced(Mode::TwoWay).await;
    std::fs::remove_dir_all(world.remote().join("docs")).unwrap();
    write(world.local(), "docs/sub/c.txt", b"c v2 edited on the phone");
    write(
        world.local(),
        "docs/sub/deeper/new.txt",
        b"new on the phone",
    );
    sync_clean(&world).await;
    let (local, remote) = world.trees();
    assert_eq!(local, remote);
    assert_eq!(remote["docs/sub/c.txt"], b"c v2 edited on the phone");
    assert_eq!(remote["docs/sub/deeper/new.txt"], b"new on the phone");
    assert!(!local.contains_key("docs/a.txt"));
    sync_clean(&world).await;
}

#[tokio::test]
async fn upload_mode_never_deletes_a_server_edit_with_its_folder() {
    let world = synced(Mode::Upload).await;
    std::fs::remove_dir_all(world.local().join("docs")).unwrap();
    write(world.remote(), "docs/b.txt", b"b v2 edited on the server");
    sync_clean(&world).await;
    let remote = common::visible(world.remote());
    assert_eq!(remote["docs/b.txt"], b"b v2 edited on the server");
    assert!(
        !remote.contains_key("docs/a.txt"),
        "the untouched file is deleted"
    );
    sync_clean(&world).await;
}

#[tokio::test]
async fn download_mode_keeps_a_local_edit_in_a_folder_the_server_deleted() {
    let world = synced(Mode::Download).await;
    std::fs::remove_dir_all(world.remote().join("docs")).unwrap();
    write(world.local(), "docs/a.txt", b"a v2 edited on the phone");
    sync_clean(&world).await;
    let local = common::visible(world.local());
    assert_eq!(local["docs/a.txt"], b"a v2 edited on the phone");
    assert!(!local.contains_key("docs/b.txt"));
    sync_clean(&world).await;
}

#[tokio::test]
async fn a_missing_remote_folder_is_created_for_uploads_and_is_an_error_for_downloads() {
    for mode in [Mode::Upload, Mode::TwoWay, Mode::Download] {
        let world = World::new(Server::Dav, mode).await;
        let remote = world.engine.pair(world.pair).await.unwrap().remote_id;
        let pair = world
            .engine
            .ensure_pair(remote, "new/backup", world.local(), mode)
            .await
            .unwrap();
        std::fs::create_dir(world.remote().join("new")).unwrap();
        write(world.local(), "photo.jpg", b"jpeg");
        let job = world.engine.start(pair).await.unwrap();
        let outcome = world.engine.wait(job).await.unwrap();
        if mode == Mode::Download {
            assert_eq!(outcome.state, JobState::Failed, "{outcome:?}");
            continue;
        }
        assert_eq!(outcome.state, JobState::Completed, "{mode}: {outcome:?}");
        assert!(outcome.summary.created_remote_root, "{outcome:?}");
        assert_eq!(
            std::fs::read(world.remote().join("new/backup/photo.jpg")).unwrap(),
            b"jpeg"
        );
        assert!(leftovers(world.remote()).is_empty());
    }
}

/// A file that arrives on the server between the listing and the folder's `DELETE` keeps the
/// folder: the fresh listing right before the delete sees it.
#[tokio::test(start_paused = true)]
async fn a_file_added_to_a_folder_while_it_is_deleted_is_kept() {
    let memory = MemoryPair::new(Mode::TwoWay).await;
    let (server, local) = (&memory.server, &memory.local);
    server.write("docs/a.txt", b"a");
    let sync = || memory.sync();
    assert_eq!(sync().await.state, JobState::Completed);

    std::fs::remove_dir_all(local.path().join("docs")).unwrap();
    let racing = server.clone();
    server.after_next_listing(move || racing.write("docs/late.txt", b"arrived late"));
    let outcome = sync().await;
    assert_eq!(outcome.summary.deleted_remote, 1, "{outcome:?}");
    assert_eq!(
        server.files().keys().collect::<Vec<_>>(),
        ["docs/late.txt"],
        "the known file went, the late one stayed"
    );
    assert_eq!(outcome.summary.errors.len(), 1, "{outcome:?}");

    let outcome = sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(
        std::fs::read(local.path().join("docs/late.txt")).unwrap(),
        b"arrived late"
    );
}
