//! `tidesync sync` against servers whose certificate nobody vouches for: rclone serve over TLS
//! with a self-signed certificate, or one from a home CA. Refused with exit 7 and the
//! certificate shown; used with `--pin-sha256` or `--ca-cert`; a wrong pin is refused.

use std::path::Path;
use std::process::{Output, Stdio};

use tidesync_testkit::{RcloneServer, TestCertificate};
use tokio::process::Command;

/// Runs a download of `url` into `local`; exit code and stderr.
async fn download(url: &str, local: &Path, state: &Path, extra: &[&str]) -> (i32, String) {
    let Output { status, stderr, .. } = Command::new(env!("CARGO_BIN_EXE_tidesync"))
        .args(["sync", "--url", url, "--local"])
        .arg(local)
        .arg("--state")
        .arg(state)
        .args(["--json", "--mode", "download"])
        .args(extra)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

struct Setup {
    served: tempfile::TempDir,
    local: tempfile::TempDir,
    state: tempfile::TempDir,
}

fn setup() -> Setup {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("notes.txt"), b"over TLS").unwrap();
    Setup {
        served,
        local: tempfile::tempdir().unwrap(),
        state: tempfile::tempdir().unwrap(),
    }
}

#[tokio::test]
async fn a_self_signed_server_is_refused_and_shown_then_used_with_its_pin() {
    let s = setup();
    let certificate = TestCertificate::self_signed();
    let server = RcloneServer::serve_tls(s.served.path(), None, &certificate)
        .await
        .unwrap();
    let fingerprint = tidesync_webdav::certificate_fingerprint(&certificate.der);

    let (code, stderr) = download(&server.url(), s.local.path(), s.state.path(), &[]).await;
    assert_eq!(code, 7, "{stderr}");
    assert!(
        stderr.contains(&fingerprint),
        "the fingerprint is shown: {stderr}"
    );
    assert!(stderr.contains("self-signed"), "{stderr}");
    assert!(!s.local.path().join("notes.txt").exists());

    let mut wrong = fingerprint.clone();
    wrong.replace_range(0..2, if wrong.starts_with("00") { "11" } else { "00" });
    let (code, stderr) = download(
        &server.url(),
        s.local.path(),
        s.state.path(),
        &["--pin-sha256", &wrong],
    )
    .await;
    assert_eq!(code, 7, "a wrong pin is refused: {stderr}");

    let (code, stderr) = download(
        &server.url(),
        s.local.path(),
        s.state.path(),
        &["--pin-sha256", &fingerprint],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read(s.local.path().join("notes.txt")).unwrap(),
        b"over TLS"
    );
}

/// A server with `certificate` is refused (exit 7, in words, no debug text), then synced from
/// with `--ca-cert` naming the PEM file `ca`.
async fn refused_then_trusted_with(s: &Setup, certificate: &TestCertificate, ca: &Path) {
    let server = RcloneServer::serve_tls(s.served.path(), None, certificate)
        .await
        .unwrap();
    let (code, stderr) = download(&server.url(), s.local.path(), s.state.path(), &[]).await;
    assert_eq!(code, 7, "{stderr}");
    assert!(
        !stderr.contains("OtherError") && !stderr.contains("Other("),
        "no debug text: {stderr}"
    );
    let (code, stderr) = download(
        &server.url(),
        s.local.path(),
        s.state.path(),
        &["--ca-cert", ca.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read(s.local.path().join("notes.txt")).unwrap(),
        b"over TLS"
    );
}

#[tokio::test]
async fn a_home_cas_server_is_used_with_ca_cert() {
    let s = setup();
    let certificate = TestCertificate::from_home_ca();
    let ca = s.state.path().join("home-ca.pem");
    std::fs::write(&ca, certificate.ca_pem.as_deref().unwrap()).unwrap();
    refused_then_trusted_with(&s, &certificate, &ca).await;
}

#[tokio::test]
async fn a_certificate_made_by_openssl_req_is_trusted_with_ca_cert() {
    let s = setup();
    // Marked CA:TRUE and given as its own CA, as people do with such certificates.
    let certificate = TestCertificate::from_openssl_req(s.state.path()).unwrap();
    let ca = s.state.path().join("openssl-cert.pem");
    refused_then_trusted_with(&s, &certificate, &ca).await;
}

#[tokio::test]
async fn a_pin_that_is_not_a_fingerprint_is_a_usage_error() {
    let s = setup();
    let (code, stderr) = download(
        "https://127.0.0.1:9/",
        s.local.path(),
        s.state.path(),
        &["--pin-sha256", "not-hex"],
    )
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--pin-sha256"), "{stderr}");
}
