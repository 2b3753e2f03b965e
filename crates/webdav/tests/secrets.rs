//! Credentials against a real server: a wrong password is an auth error, and at the most
//! verbose log level neither the password nor the Authorization header value is ever written.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tidesync_testkit::RcloneServer;
use tidesync_webdav::{Client, Credentials, Depth, Options, RemotePath};

const PASSWORD: &str = "correct-horse-battery-staple";
/// `alice:correct-horse-battery-staple` in Base64, as it would appear in the header.
const BASIC_VALUE: &str = "YWxpY2U6Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5LXN0YXBsZQ==";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn wrong_passwords_fail_as_auth_and_no_secret_reaches_the_log() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
    let server = RcloneServer::serve(dir.path(), Some(("alice", PASSWORD)))
        .await
        .unwrap();

    let good = Client::new(
        &server.url(),
        Some(Credentials::new("alice", PASSWORD)),
        Options::default(),
    )
    .unwrap();
    let listing = good.list(&RemotePath::root(), Depth::One).await.unwrap();
    assert_eq!(listing.entries.len(), 2);
    let mut download = good
        .get(&RemotePath::parse("a.txt").unwrap(), 0, None)
        .await
        .unwrap();
    while download.chunk().await.unwrap().is_some() {}

    let bad = Client::new(
        &server.url(),
        Some(Credentials::new("alice", "wrong")),
        Options::default(),
    )
    .unwrap();
    let error = bad.list(&RemotePath::root(), Depth::One).await.unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert!(!error.is_retryable());
    assert!(
        !format!("{error} {error:?} {bad:?}").contains("wrong"),
        "the error names no password"
    );

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("PROPFIND"), "the log was captured: {log}");
    assert!(!log.contains(PASSWORD), "the password is in the log");
    assert!(
        !log.contains(BASIC_VALUE),
        "the Authorization value is in the log"
    );
}
