//! `tidesync demo` and `tidesync serve` as a new user meets them.

use std::process::Stdio;
use std::time::Duration;

use tidesync_testkit::tree::snapshot;
use tidesync_webdav::{Client, Depth, Options, RemotePath};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn demo_syncs_the_sample_content_then_reports_nothing_changed() {
    let (state, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let target = dir.path().join("tidesync-demo");
    let demo = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tidesync"));
        command
            .args(["demo", "--seed", "3", "--dir"])
            .arg(&target)
            .arg("--state")
            .arg(state.path());
        command
    };
    let first = demo().output().await.unwrap();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("Downloaded"), "{stdout}");
    let content = state.path().join("demo-content-3/content");
    assert_eq!(
        snapshot(&target),
        snapshot(&content),
        "the demo content arrived byte for byte"
    );
    assert!(snapshot(&target).len() > 150);

    let second = demo().output().await.unwrap();
    assert_eq!(second.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&second.stdout).contains("Nothing changed"));
    assert!(
        !snapshot(&target)
            .keys()
            .any(|p| p.contains("tidesync-part")),
        "nothing was fetched again to find that out"
    );
}

#[tokio::test]
async fn serve_answers_webdav_until_interrupted() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("hello.txt"), b"hi").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidesync"))
        .args(["serve", "--root"])
        .arg(root.path())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let client = Client::new(&url, None, Options::default()).unwrap();
    let listing = client.list(&RemotePath::root(), Depth::One).await.unwrap();
    assert!(
        listing
            .entries
            .iter()
            .any(|e| e.path.as_str() == "hello.txt")
    );
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
