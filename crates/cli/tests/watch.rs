//! `tidesync sync --watch` as a user runs it: a local edit and a server edit each become a
//! sync without a command, one JSON line each, and Ctrl-C ends it with 130 and nothing
//! partial on either side.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tidesync_testkit::DavServer;
use tidesync_testkit::tree::snapshot;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};

/// The next JSON line, waiting at most a minute (the syncs themselves take milliseconds).
async fn next_report(lines: &mut Lines<BufReader<ChildStdout>>) -> serde_json::Value {
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("a sync within a minute")
        .unwrap()
        .expect("a line before the end");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn leftovers(root: &Path) -> Vec<String> {
    snapshot(root)
        .into_keys()
        .filter(|p| p.split('/').any(tidesync_testkit::tree::is_in_progress))
        .collect()
}

#[tokio::test]
async fn watch_syncs_local_and_server_edits_and_stops_on_ctrl_c() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    std::fs::write(remote.path().join("first.txt"), b"on the server").unwrap();
    let server = DavServer::serve(remote.path()).await.unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidesync"))
        .args([
            "sync",
            "--url",
            &server.url(),
            "--mode",
            "two-way",
            "--local",
        ])
        .arg(local.path())
        .arg("--state")
        .arg(state.path())
        .args(["--json", "--watch", "--interval", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let first = next_report(&mut lines).await;
    assert_eq!(first["filesDownloaded"], 1, "{first}");
    assert_eq!(first["mode"], "two-way");

    std::fs::write(local.path().join("from-here.txt"), b"written locally").unwrap();
    let local_edit = next_report(&mut lines).await;
    assert_eq!(local_edit["filesUploaded"], 1, "{local_edit}");
    assert_eq!(
        std::fs::read(remote.path().join("from-here.txt")).unwrap(),
        b"written locally"
    );

    // Long enough for the look after that upload: this edit is found by a check at the interval.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    std::fs::create_dir(remote.path().join("later")).unwrap();
    std::fs::write(
        remote.path().join("later/from-there.txt"),
        b"written on the server",
    )
    .unwrap();
    let server_edit = next_report(&mut lines).await;
    assert_eq!(server_edit["filesDownloaded"], 1, "{server_edit}");
    assert_eq!(
        std::fs::read(local.path().join("later/from-there.txt")).unwrap(),
        b"written on the server"
    );

    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it stops within the shutdown window")
        .unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        leftovers(local.path()).is_empty(),
        "{:?}",
        leftovers(local.path())
    );
    assert!(
        leftovers(remote.path()).is_empty(),
        "{:?}",
        leftovers(remote.path())
    );
}

#[tokio::test]
async fn interval_needs_watch_and_a_zero_interval_is_refused() {
    let (local, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tidesync"))
            .args(["sync", "--url", "http://127.0.0.1:9/", "--local"])
            .arg(local.path())
            .arg("--state")
            .arg(state.path())
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let without_watch = run(&["--interval", "5"]);
    assert_eq!(without_watch.status.code(), Some(2));
    let zero = run(&["--watch", "--interval", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    let said = String::from_utf8_lossy(&zero.stderr);
    assert!(said.contains("every 1s to every 86400s"), "{said}");
}
