//! `tidesync sync` killed (SIGKILL) in the middle of a chunked upload to the test kit's
//! Nextcloud emulation: nothing shows under the file's name until the end, and each next run
//! sends only the chunks the server does not hold whole, at most one again per kill.

use std::process::Stdio;
use std::time::Duration;

use tidesync_testkit::nextcloud::USER;
use tidesync_testkit::{Fault, FaultProxy, NextcloudServer};
use tokio::process::Command;

const MIB: u64 = 1024 * 1024;
/// The engine's default chunk size.
const CHUNK: u64 = 10 * MIB;

#[tokio::test]
async fn sigkills_during_a_chunked_upload_resend_at_most_one_chunk_each() {
    const KILLS: usize = 3;
    let server = NextcloudServer::start().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    proxy.always(Some(Fault::Throttle(32 * MIB)));
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let data: Vec<u8> = (0..5 * CHUNK + 12_345)
        .map(|i| (i * 13 % 251) as u8)
        .collect();
    std::fs::write(local.join("video.mp4"), &data).unwrap();
    let password = dir.path().join("cloud.pass");
    std::fs::write(&password, format!("{}\n", server.issue_app_password())).unwrap();
    let url = format!("{}remote.php/dav/files/{USER}/", proxy.url());
    let sync = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tidesync"));
        command
            .args([
                "sync", "--mode", "upload", "--json", "--user", USER, "--url", &url,
            ])
            .arg("--password-file")
            .arg(&password)
            .arg("--local")
            .arg(&local)
            .arg("--state")
            .arg(dir.path().join("state"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        command
    };
    for kill in 1..=KILLS {
        let mut child = sync().spawn().unwrap();
        // Each run gets one chunk further than the last before it is killed.
        while server.stats().chunks_stored < kill {
            assert!(
                child.try_wait().unwrap().is_none(),
                "run {kill} ended before the kill"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let pid = child.id().unwrap().to_string();
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap();
        let _ = child.wait().await;
        assert!(
            server.files().is_empty(),
            "kill {kill}: nothing under a real name yet"
        );
    }
    proxy.always(None);
    let done = sync().status().await.unwrap();
    assert_eq!(done.code(), Some(0));
    assert_eq!(server.files()["video.mp4"].as_ref(), &data[..]);
    assert!(server.pending_uploads().is_empty());
    let chunks = data.len().div_ceil(CHUNK as usize);
    let puts = server.stats().chunk_puts;
    assert!(
        puts <= chunks + KILLS,
        "{puts} chunk PUTs for {chunks} chunks and {KILLS} kills"
    );
}
