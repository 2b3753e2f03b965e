//! `tidesync login` / `logout` against the test kit's Nextcloud emulation: the link is printed,
//! the test plays the browser, the app password lands in a file only this user can read and
//! works for `sync --password-file`; `logout` revokes it; Ctrl-C cancels a login with 130.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use tidesync_testkit::NextcloudServer;
use tidesync_testkit::nextcloud::{ACCOUNT_PASSWORD, USER, grant_form};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn tidesync(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidesync"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Starts `tidesync login` and returns it with the link it printed. The rest of its stderr
/// is read on, so its last words never meet a closed pipe.
async fn start_login(server: &NextcloudServer, password_file: &Path) -> (Child, String) {
    let mut child = tidesync(&["login", "--json", "--url", &server.url(), "--password-file"])
        .arg(password_file)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(link) = line.trim().strip_prefix(&server.url()) {
            let link = format!("{}{link}", server.url());
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, link);
        }
    }
    panic!("tidesync login printed no link");
}

#[tokio::test]
async fn login_writes_an_app_password_that_sync_uses_and_logout_revokes() {
    let server = NextcloudServer::start().await.unwrap();
    server.write("Photos/beach.jpg", b"sand");
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("cloud.pass");
    let (child, link) = start_login(&server, &password_file).await;

    // The browser's part: the server's own page, where the account password is typed.
    // (curl runs async: the server answers on this test's own thread.)
    let granted = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--data"])
        .arg(grant_form(&link, USER, ACCOUNT_PASSWORD))
        .arg(format!("{}index.php/login/v2/grant", server.url()))
        .output()
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&granted.stdout), "200");

    let done = child.wait_with_output().await.unwrap();
    assert_eq!(done.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["davUrl"], server.dav_url());
    assert_eq!(report["user"], USER);
    let mode = std::fs::metadata(&password_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only this user reads the app password");
    let stored = std::fs::read_to_string(&password_file).unwrap();
    assert!(
        !stored.contains(ACCOUNT_PASSWORD),
        "the account password is never stored"
    );
    assert_eq!(server.app_passwords(), 1);

    let local = dir.path().join("local");
    let synced = tidesync(&[
        "sync", "--mode", "download", "--json", "--user", USER, "--url",
    ])
    .arg(server.dav_url())
    .arg("--password-file")
    .arg(&password_file)
    .arg("--local")
    .arg(&local)
    .arg("--state")
    .arg(dir.path().join("state"))
    .output()
    .await
    .unwrap();
    assert_eq!(
        synced.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&synced.stderr)
    );
    assert_eq!(
        std::fs::read(local.join("Photos/beach.jpg")).unwrap(),
        b"sand"
    );

    let out = tidesync(&["logout", "--user", USER, "--url"])
        .arg(server.dav_url())
        .arg("--password-file")
        .arg(&password_file)
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.app_passwords(), 0, "the app password is revoked");
    assert!(!password_file.exists());
}

#[tokio::test]
async fn ctrl_c_cancels_a_login_and_a_plain_webdav_server_is_refused() {
    let server = NextcloudServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("cloud.pass");
    let (child, _) = start_login(&server, &password_file).await;
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let done = child.wait_with_output().await.unwrap();
    assert_eq!(done.status.code(), Some(130));
    assert!(!password_file.exists());

    let served = tempfile::tempdir().unwrap();
    let plain = tidesync_testkit::DavServer::serve(served.path())
        .await
        .unwrap();
    let refused = tidesync(&["login", "--url", &plain.url(), "--password-file"])
        .arg(&password_file)
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("Login Flow v2"), "{stderr}");
}
