//! Nextcloud's own client as a witness of the emulation: `nextcloudcmd` (Debian's
//! `nextcloud-desktop-cmd`, installed by `scripts/bootstrap`) uploads small files — which it
//! sends by bulk upload — and a file above its chunk size — which it sends by chunked upload
//! v2 — then downloads everything into an empty folder. The emulation must accept every
//! request the real client sends (one it refuses is a bug in the emulation), and the three
//! trees must match.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tidesync_testkit::NextcloudServer;
use tidesync_testkit::nextcloud::USER;
use tokio::process::Command;

/// Every file under `root`, by path relative to it.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            // nextcloudcmd keeps its journal in the folder it syncs.
            if name.starts_with(".sync_") || name.starts_with("._sync_") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                folders.push(path);
            } else {
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// One `nextcloudcmd` run of `local` against the server; its output when it fails.
async fn nextcloudcmd(local: &Path, server: &NextcloudServer, password: &str) {
    let run = Command::new("nextcloudcmd")
        .args([
            "--non-interactive",
            "--max-sync-retries",
            "1",
            "-u",
            USER,
            "-p",
            password,
        ])
        .arg(local)
        .arg(server.url())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("nextcloudcmd ends within two minutes")
        .expect("nextcloudcmd runs: scripts/bootstrap installs nextcloud-desktop-cmd");
    assert!(
        output.status.success(),
        "nextcloudcmd failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn nextcloudcmd_uploads_by_bulk_and_chunks_and_downloads_the_same_tree() {
    let server = NextcloudServer::start().await.unwrap();
    let password = server.issue_app_password();
    let up = tempfile::tempdir().unwrap();
    let mut seed = 7u64;
    let mut bytes = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    };
    std::fs::create_dir(up.path().join("notes")).unwrap();
    for i in 0..40 {
        let folder = if i % 2 == 0 { "" } else { "notes/" };
        std::fs::write(
            up.path().join(format!("{folder}small-{i:02}.txt")),
            bytes(100 + i * 97),
        )
        .unwrap();
    }
    // Above nextcloudcmd's chunk size (10 MB by default), so it goes up in chunks.
    std::fs::write(up.path().join("big.bin"), bytes(23 * 1024 * 1024 + 5)).unwrap();

    nextcloudcmd(up.path(), &server, &password).await;
    let sent = tree(up.path());
    let held: BTreeMap<String, Vec<u8>> = server
        .files()
        .into_iter()
        .map(|(path, data)| (path, data.to_vec()))
        .collect();
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        sent.keys().collect::<Vec<_>>()
    );
    assert!(
        held == sent,
        "the server holds what was sent, byte for byte"
    );
    let log = server.requests();
    let bulk = log
        .iter()
        .filter(|l| l.method == "POST" && l.path == "/remote.php/dav/bulk")
        .count();
    let assembled = log
        .iter()
        .filter(|l| l.method == "MOVE" && l.path.ends_with("/.file"))
        .count();
    assert!(bulk >= 1, "small files went up by bulk upload");
    assert_eq!(assembled, 1, "the big file went up in chunks");
    assert!(server.pending_uploads().is_empty());

    let down = tempfile::tempdir().unwrap();
    nextcloudcmd(down.path(), &server, &password).await;
    assert!(tree(down.path()) == sent, "the download matches the upload");
}
