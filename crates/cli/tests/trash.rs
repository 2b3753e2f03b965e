//! `tidesync trash list|restore|empty` on what real syncs removed, with `--json`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tidesync_testkit::DavServer;
use tokio::process::Command;

struct Setup {
    work: tempfile::TempDir,
    remote: PathBuf,
    local: PathBuf,
    server: DavServer,
}

impl Setup {
    async fn new() -> Setup {
        let work = tempfile::tempdir().unwrap();
        let (remote, local) = (work.path().join("remote"), work.path().join("local"));
        for dir in [&remote, &local] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let server = DavServer::serve(&remote).await.unwrap();
        Setup {
            work,
            remote,
            local,
            server,
        }
    }

    /// Runs `tidesync` with `args`; returns its exit code and stdout.
    async fn run(&self, args: &[&str]) -> (i32, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_tidesync"))
            .args(args)
            .env("HOME", self.work.path())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("the binary runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    async fn sync(&self) {
        let state = self.work.path().join("state");
        let (code, _) = self
            .run(&[
                "sync",
                "--mode",
                "two-way",
                "--url",
                &self.server.url(),
                "--local",
                self.local.to_str().unwrap(),
                "--state",
                state.to_str().unwrap(),
            ])
            .await;
        assert_eq!(code, 0, "the sync succeeded");
    }

    async fn trash(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["trash"];
        all.extend_from_slice(&args[..1]);
        all.extend(["--local", self.local.to_str().unwrap(), "--json"]);
        all.extend_from_slice(&args[1..]);
        let (code, stdout) = self.run(&all).await;
        assert_eq!(code, 0, "trash {args:?}: {stdout}");
        serde_json::from_str(stdout.trim()).unwrap()
    }
}

fn write(root: &Path, relative: &str, data: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

#[tokio::test]
async fn trash_lists_restores_and_empties_what_syncs_removed() {
    let s = Setup::new().await;
    write(&s.remote, "Photos/a.jpg", b"a photo");
    write(&s.remote, "notes.txt", b"version one");
    s.sync().await;
    std::fs::remove_file(s.remote.join("Photos/a.jpg")).unwrap();
    write(&s.remote, "notes.txt", b"version two");
    s.sync().await;

    let listed = s.trash(&["list"]).await;
    let mut entries: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["why"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            ("Photos/a.jpg".to_owned(), "deletedOnServer".to_owned()),
            ("notes.txt".to_owned(), "replacedByServer".to_owned()),
        ]
    );

    // By path: back where it was. The older notes go beside the newer ones.
    let restored = s.trash(&["restore", "Photos/a.jpg", "notes.txt"]).await;
    let places: Vec<&str> = restored
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["restoredAs"].as_str().unwrap())
        .collect();
    assert_eq!(places, ["Photos/a.jpg", "notes (restored).txt"]);
    assert_eq!(
        std::fs::read(s.local.join("Photos/a.jpg")).unwrap(),
        b"a photo"
    );
    assert_eq!(
        std::fs::read(s.local.join("notes (restored).txt")).unwrap(),
        b"version one"
    );
    // The next sync takes them for files new on the phone.
    s.sync().await;
    assert_eq!(
        std::fs::read(s.remote.join("Photos/a.jpg")).unwrap(),
        b"a photo"
    );
    assert!(s.remote.join("notes (restored).txt").is_file());

    std::fs::remove_file(s.remote.join("Photos/a.jpg")).unwrap();
    s.sync().await;
    assert_eq!(s.trash(&["empty"]).await["deleted"], 1);
    assert_eq!(s.trash(&["list"]).await, serde_json::json!([]));
}

#[tokio::test]
async fn backup_dir_keeps_what_a_sync_deletes_on_the_server() {
    let s = Setup::new().await;
    write(&s.local, "Docs/old.txt", b"not needed any more");
    s.sync().await;
    std::fs::remove_file(s.local.join("Docs/old.txt")).unwrap();
    let state = s.work.path().join("state");
    let (code, _) = s
        .run(&[
            "sync",
            "--mode",
            "two-way",
            "--backup-dir",
            ".deleted",
            "--url",
            &s.server.url(),
            "--local",
            s.local.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ])
        .await;
    assert_eq!(code, 0);
    assert!(!s.remote.join("Docs/old.txt").exists());
    assert_eq!(
        std::fs::read(s.remote.join(".deleted/Docs/old.txt")).unwrap(),
        b"not needed any more"
    );
}
