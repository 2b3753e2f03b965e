//! Renames are moves, not transfers: a folder of 200 files renamed on either side is moved the
//! same way on the other (a `MOVE` on the server, a rename on the phone), transferring under
//! 1% of its bytes, on dav-server and on Apache mod_dav. An edit made meanwhile on the other
//! side under the old name follows the move.

mod common;

use common::{Server, World, write};
use tidesync_engine::{JobState, Mode, PlainHttp};
use tidesync_testkit::apache::{APACHE_PASSWORD, APACHE_USER, ApacheServer};
use tidesync_testkit::tree::Seeded;
use tidesync_webdav::{
    Client, Credentials, EntryKind, Options, Overwrite, Precondition, RemotePath,
};

const FILES: usize = 200;
const SIZE: usize = 64 * 1024;

fn album(root: &std::path::Path, folder: &str) {
    let mut rng = Seeded::new(3);
    for i in 0..FILES {
        write(
            root,
            &format!("{folder}/photo {i:03}.jpg"),
            &rng.bytes(SIZE),
        );
    }
}

/// The bytes a sync moved over the network, and the moves it made.
fn transferred(outcome: &tidesync_engine::Outcome) -> (u64, u64) {
    let s = &outcome.summary;
    (s.bytes_downloaded + s.bytes_uploaded, s.moved)
}

/// Syncs after a move and checks it was carried over as one: one move, under 1% of the
/// folder's bytes transferred, both sides alike with `edited` (made under the old name on the
/// other side) holding `bytes` at its new place, nothing left under `old`, and a further run
/// that does nothing.
async fn carried_as_a_move(world: &World, old: &str, edited: &str, bytes: &[u8]) {
    let outcome = world.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    let (sent, moved) = transferred(&outcome);
    assert_eq!(moved, 1, "{outcome:?}");
    assert!(
        sent * 100 < (FILES * SIZE) as u64,
        "{sent} bytes transferred to move {FILES} files: {outcome:?}"
    );
    let (local, remote) = world.trees();
    assert_eq!(local, remote);
    assert!(
        !local.keys().any(|p| p.starts_with(&format!("{old}/"))),
        "{local:?}"
    );
    assert_eq!(local[edited], bytes);
    assert_eq!(local.keys().filter(|p| !p.ends_with('/')).count(), FILES);
    let again = world.sync().await;
    assert_eq!(transferred(&again), (0, 0), "{again:?}");
}

#[tokio::test]
async fn a_folder_renamed_on_the_phone_is_moved_on_the_server() {
    let world = World::new(Server::Dav, Mode::TwoWay).await;
    album(world.local(), "Holiday");
    assert_eq!(world.sync().await.state, JobState::Completed);
    std::fs::rename(
        world.local().join("Holiday"),
        world.local().join("Holiday 2026"),
    )
    .unwrap();
    // The server edits one photo under the old name meanwhile.
    write(
        world.remote(),
        "Holiday/photo 007.jpg",
        b"retouched on the server",
    );
    carried_as_a_move(
        &world,
        "Holiday",
        "Holiday 2026/photo 007.jpg",
        b"retouched on the server",
    )
    .await;
}

#[tokio::test]
async fn a_folder_moved_on_the_server_is_renamed_on_the_phone() {
    let world = World::new(Server::Dav, Mode::TwoWay).await;
    album(world.remote(), "Holiday");
    assert_eq!(world.sync().await.state, JobState::Completed);
    std::fs::create_dir(world.remote().join("Archive")).unwrap();
    std::fs::rename(
        world.remote().join("Holiday"),
        world.remote().join("Archive/Holiday"),
    )
    .unwrap();
    // The phone edits one photo under the old name meanwhile.
    write(
        world.local(),
        "Holiday/photo 042.jpg",
        b"cropped on the phone",
    );
    carried_as_a_move(
        &world,
        "Holiday",
        "Archive/Holiday/photo 042.jpg",
        b"cropped on the phone",
    )
    .await;
}

/// On Apache, through its own `MOVE`: the server keeps the ETags, so the moved files are
/// recognised and nothing is fetched again.
#[tokio::test]
async fn a_folder_moved_on_apache_is_renamed_on_the_phone_and_back() {
    let server = ApacheServer::start().await.unwrap();
    let login = Credentials::new(APACHE_USER, APACHE_PASSWORD);
    let client = Client::new(&server.url(), Some(login.clone()), Options::default()).unwrap();
    let mut rng = Seeded::new(4);
    client
        .mkcol(&RemotePath::parse("Holiday").unwrap())
        .await
        .unwrap();
    for i in 0..FILES {
        let path = RemotePath::parse(&format!("Holiday/photo {i:03}.jpg")).unwrap();
        client
            .put_bytes(&path, rng.bytes(SIZE).into(), &Precondition::None, None)
            .await
            .unwrap();
    }
    let (local, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let engine = tidesync_engine::Engine::open(data.path(), Default::default())
        .await
        .unwrap();
    let remote = engine
        .add_remote(
            "apache",
            &server.url(),
            Some(APACHE_USER),
            PlainHttp::LoopbackOnly,
        )
        .await
        .unwrap();
    engine.set_credentials(remote, login);
    let pair = engine
        .ensure_pair(remote, "", local.path(), Mode::TwoWay)
        .await
        .unwrap();
    let sync = || async {
        let job = engine.start(pair).await.unwrap();
        engine.wait(job).await.unwrap()
    };
    assert_eq!(sync().await.state, JobState::Completed);

    client
        .move_to(
            &RemotePath::parse("Holiday").unwrap(),
            &RemotePath::parse("Trip").unwrap(),
            EntryKind::Folder,
            Overwrite::Never,
            None,
        )
        .await
        .unwrap();
    let outcome = sync().await;
    assert_eq!(transferred(&outcome), (0, 1), "{outcome:?}");
    assert!(local.path().join("Trip/photo 199.jpg").is_file());
    assert!(!local.path().join("Holiday").exists());

    std::fs::rename(local.path().join("Trip"), local.path().join("Trip 2026")).unwrap();
    let outcome = sync().await;
    assert_eq!(transferred(&outcome), (0, 1), "{outcome:?}");
    let listed = client
        .stat(
            &RemotePath::parse("Trip 2026/photo 000.jpg").unwrap(),
            EntryKind::File,
        )
        .await
        .unwrap();
    assert!(listed.is_some(), "moved on the server");
    let again = sync().await;
    assert_eq!(transferred(&again), (0, 0), "{again:?}");
}
