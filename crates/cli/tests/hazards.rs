//! The built `tidesync` binary on the hazards of real local disks: an unreadable folder, a
//! folder that is missing or replaced, links and pipes, with the exit codes and words a user
//! sees.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tidesync_testkit::DavServer;
use tidesync_testkit::tree::snapshot;
use tokio::process::Command;

/// The nobody account: permissions only stop an account that is not root.
const NOBODY: u32 = 65534;

struct Setup {
    work: tempfile::TempDir,
    remote: PathBuf,
    local: PathBuf,
    state: PathBuf,
    /// The binary, copied where any account may run it.
    binary: PathBuf,
    server: DavServer,
}

impl Setup {
    async fn new() -> Setup {
        let work = tempfile::tempdir().unwrap();
        let (remote, local, state) = (
            work.path().join("remote"),
            work.path().join("local"),
            work.path().join("state"),
        );
        for dir in [&remote, &local, &state] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let binary = work.path().join("tidesync");
        std::fs::copy(env!("CARGO_BIN_EXE_tidesync"), &binary).unwrap();
        let server = DavServer::serve(&remote).await.unwrap();
        Setup {
            work,
            remote,
            local,
            state,
            binary,
            server,
        }
    }

    /// Runs a two-way sync; as root, it runs as nobody (who owns the local folder and the
    /// state), so that a folder without permissions stops it as it stops a user.
    async fn sync(&self) -> (i32, String) {
        self.sync_in("two-way").await
    }

    /// Runs a sync in `mode` (see [`Setup::sync`]).
    async fn sync_in(&self, mode: &str) -> (i32, String) {
        let as_root = is_root();
        let mut command = if as_root {
            for path in [self.work.path(), &self.local, &self.state] {
                chown_tree(path);
            }
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
            ])
            .arg(&self.binary);
            c
        } else {
            Command::new(&self.binary)
        };
        command
            .args([
                "sync",
                "--mode",
                mode,
                "--url",
                &self.server.url(),
                "--local",
            ])
            .arg(&self.local)
            .arg("--state")
            .arg(&self.state)
            .env("HOME", self.work.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = command.output().await.expect("the binary runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// Whether this process runs as root (uid 0), read from `/proc` without `unsafe`.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Hands `path` and everything below it (if it is there) to nobody, as a user's own files
/// are theirs.
fn chown_tree(path: &Path) {
    if !path.exists() {
        return;
    }
    let mut stack = vec![path.to_owned()];
    while let Some(path) = stack.pop() {
        std::os::unix::fs::lchown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn an_unreadable_folder_is_an_error_for_it_alone_and_its_server_files_stay() {
    let setup = Setup::new().await;
    std::fs::create_dir_all(setup.local.join("Private")).unwrap();
    std::fs::write(setup.local.join("Private/secret.txt"), b"secret").unwrap();
    std::fs::write(setup.local.join("open.txt"), b"open").unwrap();
    let (code, stderr) = setup.sync().await;
    assert_eq!(code, 0, "{stderr}");
    assert!(setup.remote.join("Private/secret.txt").is_file());

    set_mode(&setup.local.join("Private"), 0o000);
    std::fs::write(setup.remote.join("Private/new-on-server.txt"), b"new").unwrap();
    std::fs::write(setup.remote.join("later.txt"), b"later").unwrap();
    let (code, stderr) = setup.sync().await;
    set_mode(&setup.local.join("Private"), 0o755);

    assert_eq!(code, 1, "one item failed, the rest synced: {stderr}");
    assert!(
        stderr.contains("Private: could not be read (permission denied)"),
        "the folder and the real cause, not the root nor a full disk: {stderr}"
    );
    assert!(!stderr.contains("disk is full"), "{stderr}");
    assert_eq!(
        std::fs::read(setup.local.join("later.txt")).unwrap(),
        b"later",
        "the rest of the tree synced"
    );
    let server = snapshot(&setup.remote);
    assert_eq!(
        server["Private/secret.txt"], b"secret",
        "nothing below it deleted"
    );
    assert_eq!(server["Private/new-on-server.txt"], b"new");
    assert!(
        !setup.local.join("Private/new-on-server.txt").exists(),
        "nothing written into it"
    );

    let (code, stderr) = setup.sync().await;
    assert_eq!(code, 0, "readable again, it syncs: {stderr}");
    assert_eq!(
        std::fs::read(setup.local.join("Private/new-on-server.txt")).unwrap(),
        b"new"
    );
}

#[tokio::test]
async fn a_missing_folder_exits_8_and_a_link_or_a_pipe_is_skipped_with_exit_0() {
    let setup = Setup::new().await;
    for name in ["a.txt", "b.txt"] {
        std::fs::write(setup.remote.join(name), name).unwrap();
    }
    std::os::unix::fs::symlink("nowhere", setup.local.join("link.txt")).unwrap();
    // An emacs lock is a dangling link too, left out quietly by the default patterns.
    std::os::unix::fs::symlink("user@host.1", setup.local.join(".#a.txt")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(setup.local.join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let (code, stderr) = setup.sync().await;
    assert_eq!(code, 0, "left alone is no failure: {stderr}");
    assert!(
        stderr.contains("skipped link.txt: not synced: symbolic links are not followed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 item(s) left out") && !stderr.contains(".#a.txt"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped pipe: not synced: a named pipe (FIFO) is not a file"),
        "{stderr}"
    );

    let away = setup.work.path().join("away");
    std::fs::rename(&setup.local, &away).unwrap();
    let (code, stderr) = setup.sync().await;
    assert_eq!(code, 8, "{stderr}");
    assert!(stderr.contains("is missing"), "{stderr}");
    assert_eq!(
        snapshot(&setup.remote).len(),
        2,
        "nothing deleted on the server"
    );
    assert!(!setup.local.exists(), "not made again");
    std::fs::rename(&away, &setup.local).unwrap();
    let (code, stderr) = setup.sync().await;
    assert_eq!(code, 0, "{stderr}");
}

#[tokio::test]
async fn a_read_only_folder_backs_up_without_a_marker_and_is_still_known() {
    let setup = Setup::new().await;
    std::fs::write(setup.local.join("photo.jpg"), b"photo").unwrap();
    set_mode(&setup.local, 0o555);
    let (code, stderr) = setup.sync_in("upload").await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read(setup.remote.join("photo.jpg")).unwrap(),
        b"photo"
    );
    assert!(
        !setup.local.join(".tidesync").exists(),
        "no marker could be written"
    );
    let (code, stderr) = setup.sync_in("upload").await;
    assert_eq!(code, 0, "known by its device and inode: {stderr}");
    set_mode(&setup.local, 0o755);
}
