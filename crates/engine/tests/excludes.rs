//! What a pair leaves out (`crate::filter`) is untouched on both sides: never uploaded,
//! downloaded or deleted, whether it was left out from the start, a pattern came later or
//! went, or the folder it lies in was deleted on the other side.

mod common;

use common::{MemoryPair, write};
use tidesync_engine::filter::Excludes;
use tidesync_engine::trash;
use tidesync_engine::{JobState, Mode, NewFolder, Outcome, PairSettings};

/// Sets what the pair leaves out.
async fn leave_out(pair: &MemoryPair, excludes: Excludes) {
    let saved = pair.engine.pair(pair.pair).await.unwrap();
    let settings = PairSettings {
        excludes,
        ..saved.settings
    };
    pair.engine
        .update_pair(pair.pair, saved.mode, settings)
        .await
        .unwrap();
}

fn patterns(patterns: &[&str]) -> Excludes {
    Excludes {
        patterns: patterns.iter().map(|p| (*p).to_owned()).collect(),
        ..Excludes::default()
    }
}

/// A run that ended well and changed nothing.
fn quiet(outcome: &Outcome) {
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    let s = &outcome.summary;
    assert_eq!(
        (
            s.files_uploaded,
            s.files_downloaded,
            s.deleted_local,
            s.deleted_remote,
            s.moved
        ),
        (0, 0, 0, 0, 0),
        "{outcome:?}"
    );
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

fn trashed(pair: &MemoryPair) -> Vec<String> {
    let mut paths: Vec<String> = trash::list(pair.local.path())
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    paths.sort();
    paths
}

#[tokio::test(start_paused = true)]
async fn what_is_left_out_stays_on_its_side() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    leave_out(
        &pair,
        Excludes {
            max_size: Some(1000),
            ..patterns(&[".git/"])
        },
    )
    .await;
    let root = pair.local.path();
    write(root, "notes.txt", b"notes");
    write(root, ".DS_Store", b"finder");
    write(root, "Docs/~$report.docx", b"owner file");
    write(root, "Code/.git/config", b"[core]");
    write(root, "Code/main.rs", b"fn main() {}");
    pair.server.write("Thumbs.db", b"thumbnails");
    pair.server.write("big.iso", &[7; 2000]);
    pair.server.write("Videos/.nfs0001", b"open elsewhere");

    let outcome = pair.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(outcome.summary.files_uploaded, 2, "{outcome:?}");
    assert_eq!(outcome.summary.ignored, 6, "{outcome:?}");
    let on_server: Vec<String> = pair.server.files().into_keys().collect();
    assert_eq!(
        on_server,
        [
            "Code/main.rs",
            "Thumbs.db",
            "Videos/.nfs0001",
            "big.iso",
            "notes.txt"
        ]
    );
    assert!(
        !root.join("Videos").exists(),
        "a folder the server holds only for a left-out file is not made here"
    );
    assert!(
        !pair.server.folders().contains("Docs"),
        "nor one that holds only a left-out file here on the server"
    );
    for absent in ["Thumbs.db", "big.iso", "Videos/.nfs0001"] {
        assert!(!root.join(absent).exists(), "{absent} stays on the server");
    }
    quiet(&pair.sync().await);
}

/// A folder on the server that holds nothing but what the pair leaves out is not made here,
/// nor one here on the server.
#[tokio::test(start_paused = true)]
async fn a_folder_holding_only_what_is_left_out_stays_on_its_side() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    write(pair.local.path(), "Mac/.DS_Store", b"finder");
    write(pair.local.path(), "keep.txt", b"kept");
    pair.server.write("Win/Thumbs.db", b"thumbnails");
    let outcome = pair.sync().await;
    assert_eq!(outcome.summary.files_uploaded, 1, "{outcome:?}");
    assert!(!pair.server.folders().contains("Mac"));
    assert!(!pair.local.path().join("Win").exists());
    quiet(&pair.sync().await);
}

/// An emacs lock is a symbolic link to nowhere; left out by default, it no longer fails
/// every run.
#[cfg(unix)]
#[tokio::test(start_paused = true)]
async fn an_emacs_lock_is_left_out_quietly() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    write(pair.local.path(), "notes.txt", b"notes");
    std::os::unix::fs::symlink(
        "user@host.1234:1700000000",
        pair.local.path().join(".#notes.txt"),
    )
    .unwrap();
    let outcome = pair.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    assert!(outcome.summary.skipped.is_empty(), "{outcome:?}");
    assert_eq!(outcome.summary.ignored, 1);
    assert_eq!(pair.server.files().len(), 1);
}

/// A pattern added after its files were synced leaves them where they are on both sides,
/// whatever happens to them meanwhile; removed again, the next run syncs them as usual.
#[tokio::test(start_paused = true)]
async fn a_pattern_added_later_leaves_synced_files_alone_and_removed_syncs_them() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    write(pair.local.path(), "logs/a.log", b"first");
    write(pair.local.path(), "logs/b.log", b"second");
    pair.sync().await;
    leave_out(&pair, patterns(&["*.log"])).await;

    std::fs::remove_file(pair.local.path().join("logs/a.log")).unwrap();
    pair.server
        .write("logs/b.log", b"second, edited on the server");
    write(pair.local.path(), "logs/c.log", b"new while left out");
    quiet(&pair.sync().await);
    let files = pair.server.files();
    assert_eq!(files["logs/a.log"], b"first", "a local delete is not sent");
    assert!(!files.contains_key("logs/c.log"));
    assert_eq!(
        std::fs::read(pair.local.path().join("logs/b.log")).unwrap(),
        b"second",
        "a server edit is not fetched"
    );

    leave_out(&pair, Excludes::default()).await;
    let outcome = pair.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    let files = pair.server.files();
    assert_eq!(files["logs/c.log"], b"new while left out");
    assert_eq!(
        std::fs::read(pair.local.path().join("logs/b.log")).unwrap(),
        b"second, edited on the server"
    );
    assert!(
        !files.contains_key("logs/a.log"),
        "the delete made while the pattern stood is sent once it is gone"
    );
}

/// The server deletes a folder that holds, here, a file the pair leaves out: the synced
/// files go to the trash, the folder stays for the other one, quietly, run after run.
#[tokio::test(start_paused = true)]
async fn a_folder_deleted_on_the_server_stays_here_for_what_is_left_out() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    leave_out(&pair, patterns(&["*.tmp"])).await;
    write(pair.local.path(), "Project/a.txt", b"synced");
    write(pair.local.path(), "Project/build.tmp", b"mine alone");
    write(pair.local.path(), "keep.txt", b"kept");
    pair.sync().await;
    pair.server.remove("Project");

    let outcome = pair.sync().await;
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    assert_eq!(trashed(&pair), ["Project/a.txt"]);
    assert_eq!(
        std::fs::read(pair.local.path().join("Project/build.tmp")).unwrap(),
        b"mine alone"
    );
    quiet(&pair.sync().await);
    assert!(!pair.server.folders().contains("Project"), "not made again");
}

/// With "remove ignored files with their folder", they go too, into the trash.
#[tokio::test(start_paused = true)]
async fn a_folder_deleted_on_the_server_takes_what_is_left_out_when_the_pair_says_so() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    leave_out(
        &pair,
        Excludes {
            remove_with_folder: true,
            ..patterns(&["*.tmp", "cache/"])
        },
    )
    .await;
    write(pair.local.path(), "Project/a.txt", b"synced");
    write(pair.local.path(), "Project/build.tmp", b"mine alone");
    write(pair.local.path(), "Project/cache/x/blob", b"cached");
    write(pair.local.path(), "keep.txt", b"kept");
    pair.sync().await;
    pair.server.remove("Project");

    let outcome = pair.sync().await;
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    assert!(!pair.local.path().join("Project").exists());
    assert_eq!(
        trashed(&pair),
        ["Project/a.txt", "Project/build.tmp", "Project/cache/x/blob"]
    );
}

/// OS debris never keeps a folder alive: it goes to the trash with the folder.
#[tokio::test(start_paused = true)]
async fn debris_goes_with_its_folder() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    write(pair.local.path(), "Photos/a.jpg", b"photo");
    write(pair.local.path(), "Photos/.DS_Store", b"finder");
    write(pair.local.path(), "keep.txt", b"kept");
    pair.sync().await;
    pair.server.remove("Photos");
    let outcome = pair.sync().await;
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    assert!(!pair.local.path().join("Photos").exists());
    assert_eq!(trashed(&pair), ["Photos/.DS_Store", "Photos/a.jpg"]);
}

/// The other way: a folder deleted here stays on the server for what the pair leaves out
/// there (and goes where it is only debris).
#[tokio::test(start_paused = true)]
async fn a_folder_deleted_here_stays_on_the_server_for_what_is_left_out() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    leave_out(&pair, patterns(&["*.tmp"])).await;
    pair.server.write("Work/a.txt", b"synced");
    pair.server.write("Work/server.tmp", b"theirs alone");
    pair.server.write("Pics/b.jpg", b"photo");
    pair.server.write("Pics/Thumbs.db", b"thumbnails");
    pair.server.write("keep.txt", b"kept");
    pair.sync().await;
    std::fs::remove_dir_all(pair.local.path().join("Work")).unwrap();
    std::fs::remove_dir_all(pair.local.path().join("Pics")).unwrap();

    let outcome = pair.sync().await;
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
    let files: Vec<String> = pair.server.files().into_keys().collect();
    assert_eq!(files, ["Work/server.tmp", "keep.txt"]);
    quiet(&pair.sync().await);
    assert!(!pair.local.path().join("Work").exists(), "not made again");
}

/// A folder not chosen to sync (selective sync) is neither downloaded nor deleted on the
/// server, and what the phone makes under its name stays here.
#[tokio::test(start_paused = true)]
async fn a_folder_not_chosen_is_untouched_on_both_sides() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    leave_out(
        &pair,
        Excludes {
            unsynced: vec!["Photos/2019".into()],
            ..Excludes::default()
        },
    )
    .await;
    pair.server.write("Photos/2019/a.jpg", b"old photo");
    pair.server.write("Photos/2020/b.jpg", b"newer photo");
    pair.server.write("Docs/c.txt", b"doc");
    let outcome = pair.sync().await;
    assert_eq!(outcome.summary.files_downloaded, 2, "{outcome:?}");
    assert!(!pair.local.path().join("Photos/2019").exists());
    write(pair.local.path(), "Photos/2019/mine.jpg", b"made here");
    quiet(&pair.sync().await);
    let files = pair.server.files();
    assert_eq!(files["Photos/2019/a.jpg"], b"old photo");
    assert!(!files.contains_key("Photos/2019/mine.jpg"));
}

/// Unchosen after it was synced: the copy here stays, unsynced (a server edit is not
/// fetched), until the user lets it go: then its files go into the trash and nothing is
/// deleted on the server. A folder still synced cannot be let go.
#[tokio::test(start_paused = true)]
async fn an_unchosen_synced_folder_stays_until_let_go() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    pair.server.write("Docs/c.txt", b"doc");
    pair.server.write("Docs/Deep/d.txt", b"deep");
    pair.server.write("keep.txt", b"kept");
    pair.sync().await;
    let refused = pair
        .engine
        .let_go(pair.pair, "Docs".into())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("still chosen to sync"),
        "{refused}"
    );

    leave_out(
        &pair,
        Excludes {
            unsynced: vec!["Docs".into()],
            ..Excludes::default()
        },
    )
    .await;
    pair.server
        .write("Docs/c.txt", b"doc, edited on the server");
    quiet(&pair.sync().await);
    assert_eq!(
        std::fs::read(pair.local.path().join("Docs/c.txt")).unwrap(),
        b"doc"
    );

    assert_eq!(
        pair.engine.let_go(pair.pair, "Docs".into()).await.unwrap(),
        2
    );
    assert!(!pair.local.path().join("Docs").exists());
    assert_eq!(trashed(&pair), ["Docs/Deep/d.txt", "Docs/c.txt"]);
    quiet(&pair.sync().await);
    let files = pair.server.files();
    assert_eq!(files["Docs/c.txt"], b"doc, edited on the server");
    assert_eq!(files["Docs/Deep/d.txt"], b"deep");
}

/// A new server folder holding more than the pair's limit waits for the user's yes (not on a
/// pair's first sync): a yes syncs it, a no leaves it out as a folder not chosen.
#[tokio::test(start_paused = true)]
async fn a_big_new_server_folder_waits_for_a_yes() {
    let pair = MemoryPair::new(Mode::TwoWay).await;
    leave_out(
        &pair,
        Excludes {
            ask_above: Some(1000),
            ..Excludes::default()
        },
    )
    .await;
    pair.server.write("First/big.bin", &[1; 2000]);
    let first = pair.sync().await;
    assert_eq!(
        first.summary.files_downloaded, 1,
        "the first sync asks nothing"
    );
    assert!(first.summary.waiting.is_empty());

    pair.server.write("Big/a.bin", &[2; 800]);
    pair.server.write("Big/sub/b.bin", &[3; 800]);
    pair.server.write("Small/c.txt", b"small");
    pair.server.write("First/more.bin", &[4; 2000]);
    let outcome = pair.sync().await;
    assert_eq!(outcome.summary.files_downloaded, 2, "{outcome:?}");
    assert_eq!(
        outcome.summary.waiting,
        [NewFolder {
            path: "Big".into(),
            bytes: 1600
        }]
    );
    assert!(!pair.local.path().join("Big").exists());
    let again = pair.sync().await;
    quiet(&again);
    assert_eq!(again.summary.waiting.len(), 1, "still waiting");

    let job = pair
        .engine
        .answer_new_folder(pair.pair, "Big".into(), true)
        .await
        .unwrap()
        .unwrap();
    let yes = pair.engine.wait(job).await.unwrap();
    assert_eq!(yes.summary.files_downloaded, 2, "{yes:?}");
    assert!(yes.summary.waiting.is_empty());
    assert!(pair.local.path().join("Big/sub/b.bin").exists());

    pair.server.write("Huge/x.bin", &[5; 3000]);
    assert_eq!(pair.sync().await.summary.waiting.len(), 1);
    let none = pair
        .engine
        .answer_new_folder(pair.pair, "Huge".into(), false)
        .await
        .unwrap();
    assert_eq!(none, None);
    let after = pair.sync().await;
    quiet(&after);
    assert!(after.summary.waiting.is_empty());
    assert_eq!(
        pair.engine
            .pair(pair.pair)
            .await
            .unwrap()
            .settings
            .excludes
            .unsynced,
        ["Huge"]
    );
    assert!(!pair.local.path().join("Huge").exists());
}
