//! TLS against real servers with certificates this test makes. On rclone serve: a self-signed
//! server is refused until pinned, a home CA's server until its CA is added, a pinned server
//! that changed its certificate is refused again. On Apache (mod_ssl, mod_http2): the client
//! speaks HTTP/2 where the server offers it by ALPN; rclone serve (1.75) offers only
//! HTTP/1.1, and the client stays on it.

use std::time::Duration;

use bytes::Bytes;
use tidesync_testkit::apache::{APACHE_PASSWORD, APACHE_USER};
use tidesync_testkit::{ApacheServer, RcloneServer, TestCertificate};
use tidesync_webdav::{
    Client, Credentials, Depth, Error, Options, Precondition, RemotePath, TlsOptions,
    parse_fingerprint, presented_certificate,
};

async fn list(url: &str, tls: TlsOptions) -> Result<Client, Error> {
    list_as(url, None, tls).await
}

async fn list_as(
    url: &str,
    credentials: Option<Credentials>,
    tls: TlsOptions,
) -> Result<Client, Error> {
    let client = Client::new(
        url,
        credentials,
        Options {
            tls,
            ..Options::default()
        },
    )?;
    client.list(&RemotePath::root(), Depth::One).await?;
    Ok(client)
}

fn pinned(certificate: &TestCertificate) -> TlsOptions {
    let fingerprint = tidesync_webdav::certificate_fingerprint(&certificate.der);
    TlsOptions {
        pinned_sha256: Some(parse_fingerprint(&fingerprint).unwrap()),
        ..TlsOptions::default()
    }
}

#[tokio::test]
async fn a_self_signed_server_is_used_once_pinned() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("a.txt"), b"over TLS").unwrap();
    let certificate = TestCertificate::self_signed();
    let server = RcloneServer::serve_tls(served.path(), None, &certificate)
        .await
        .unwrap();

    let refused = list(&server.url(), TlsOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Certificate { .. }), "{refused}");
    let shown = presented_certificate(
        &url::Url::parse(&server.url()).unwrap(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(
        shown.sha256,
        tidesync_webdav::certificate_fingerprint(&certificate.der)
    );

    let client = list(&server.url(), pinned(&certificate)).await.unwrap();
    assert_eq!(client.quirks().http2, Some(false), "rclone offers no h2");
    let mut body = client
        .get(&RemotePath::parse("a.txt").unwrap(), 0, None)
        .await
        .unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    assert_eq!(bytes, b"over TLS");
}

#[tokio::test]
async fn a_pinned_server_with_a_new_certificate_is_refused() {
    let served = tempfile::tempdir().unwrap();
    let trusted = TestCertificate::self_signed();
    let pin = pinned(&trusted);
    let server = RcloneServer::serve_tls(served.path(), None, &trusted)
        .await
        .unwrap();
    list(&server.url(), pin.clone()).await.unwrap();
    drop(server);

    let replaced = RcloneServer::serve_tls(served.path(), None, &TestCertificate::self_signed())
        .await
        .unwrap();
    let refused = list(&replaced.url(), pin).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Certificate { message, .. } if message.contains("not the pinned one")),
        "{refused}"
    );
}

#[tokio::test]
async fn a_home_cas_server_is_trusted_once_its_ca_is_added() {
    let served = tempfile::tempdir().unwrap();
    let certificate = TestCertificate::from_home_ca();
    let server = RcloneServer::serve_tls(served.path(), None, &certificate)
        .await
        .unwrap();
    let refused = list(&server.url(), TlsOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Certificate { .. }), "{refused}");
    let with_ca = TlsOptions {
        extra_ca_pem: certificate.ca_pem.clone().unwrap().into_bytes(),
        ..TlsOptions::default()
    };
    list(&server.url(), with_ca).await.unwrap();
}

#[tokio::test]
async fn a_server_that_offers_http2_gets_it_over_tls() {
    let certificate = TestCertificate::self_signed();
    let server = ApacheServer::start_tls(&certificate).await.unwrap();
    let client = list_as(
        &server.url(),
        Some(Credentials::new(APACHE_USER, APACHE_PASSWORD)),
        pinned(&certificate),
    )
    .await
    .unwrap();
    assert_eq!(
        client.quirks().http2,
        Some(true),
        "Apache offers h2 by ALPN"
    );
    // Requests with bodies and bodies back work over the one HTTP/2 connection.
    let path = RemotePath::parse("over h2.txt").unwrap();
    client
        .put_bytes(
            &path,
            Bytes::from_static(b"multiplexed"),
            &Precondition::Absent,
            None,
        )
        .await
        .unwrap();
    let mut body = client.get(&path, 0, None).await.unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    assert_eq!(bytes, b"multiplexed");
}

#[tokio::test]
async fn plain_http_stays_http_1_1() {
    let served = tempfile::tempdir().unwrap();
    let server = RcloneServer::serve(served.path(), None).await.unwrap();
    let client = list(&server.url(), TlsOptions::default()).await.unwrap();
    assert_eq!(client.quirks().http2, Some(false));
}
