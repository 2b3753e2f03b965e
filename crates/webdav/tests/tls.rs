//! https to a server with a self-signed certificate: refused by default, accepted when pinned
//! or when its CA is added, refused again when the pin is wrong.

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tidesync_testkit::{Reply, ScriptedServer};
use tidesync_webdav::{
    Client, Depth, Error, Options, RemotePath, TlsOptions, certificate_fingerprint,
    parse_fingerprint, presented_certificate,
};

const LISTING: &[u8] = br#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;

async fn listing_server(chain: Vec<Vec<u8>>, key: Vec<u8>) -> ScriptedServer {
    ScriptedServer::start_tls(chain, key, |_| {
        Reply::http("207 Multi-Status", &[], LISTING)
    })
    .await
    .unwrap()
}

async fn list(server: &ScriptedServer, tls: TlsOptions) -> Result<(), Error> {
    let client = Client::new(
        &server.url(),
        None,
        Options {
            tls,
            ..Options::default()
        },
    )?;
    client
        .list(&RemotePath::root(), Depth::Zero)
        .await
        .map(drop)
}

#[tokio::test]
async fn a_self_signed_ca_certificate_given_as_the_ca_is_trusted_for_its_own_names_only() {
    // What `openssl req -x509` makes: self-signed and marked as a CA.
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let server = listing_server(vec![cert.der().to_vec()], key.serialize_der()).await;
    let as_ca = TlsOptions {
        extra_ca_pem: cert.pem().into_bytes(),
        ..TlsOptions::default()
    };
    list(&server, as_ca.clone()).await.unwrap();

    // The same certificate, asked for by another name: refused, in words.
    let other_name = Client::new(
        &server.url().replace("localhost", "127.0.0.1"),
        None,
        Options {
            tls: as_ca,
            ..Options::default()
        },
    )
    .unwrap();
    let refused = other_name
        .list(&RemotePath::root(), Depth::Zero)
        .await
        .unwrap_err();
    let Error::Certificate { message, .. } = &refused else {
        panic!("{refused:?}");
    };
    assert!(message.contains("another host name"), "{message}");

    // Without it: refused, in words rather than the library's debug text.
    let refused = list(&server, TlsOptions::default()).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("presents a CA certificate as its own"),
        "{refused}"
    );
}

#[tokio::test]
async fn self_signed_is_refused_unless_pinned() {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let server = listing_server(vec![cert.der().to_vec()], key.serialize_der()).await;

    let refused = list(&server, TlsOptions::default()).await.unwrap_err();
    assert!(matches!(refused, Error::Certificate { .. }), "{refused:?}");
    assert!(!refused.is_retryable());

    let pin = parse_fingerprint(&certificate_fingerprint(cert.der())).unwrap();
    list(
        &server,
        TlsOptions {
            pinned_sha256: Some(pin),
            ..TlsOptions::default()
        },
    )
    .await
    .unwrap();

    let mut wrong = pin;
    wrong[0] ^= 0xFF;
    let refused = list(
        &server,
        TlsOptions {
            pinned_sha256: Some(wrong),
            ..TlsOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, Error::Certificate { .. }), "{refused}");
}

#[tokio::test]
async fn a_users_ca_is_trusted_when_added() {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let server = listing_server(
        vec![leaf.der().to_vec(), ca_cert.der().to_vec()],
        leaf_key.serialize_der(),
    )
    .await;

    let refused = list(&server, TlsOptions::default()).await.unwrap_err();
    assert!(matches!(refused, Error::Certificate { .. }), "{refused}");

    list(
        &server,
        TlsOptions {
            extra_ca_pem: ca_cert.pem().into_bytes(),
            ..TlsOptions::default()
        },
    )
    .await
    .unwrap();

    let garbage = list(
        &server,
        TlsOptions {
            extra_ca_pem: b"not a certificate".to_vec(),
            ..TlsOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(garbage, Error::Tls(_)), "{garbage}");
}

#[tokio::test]
async fn a_refused_certificate_is_shown_without_a_request_being_sent() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, SystemTime};

    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    let server =
        ScriptedServer::start_tls(vec![cert.der().to_vec()], key.serialize_der(), move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            Reply::http("207 Multi-Status", &[], LISTING)
        })
        .await
        .unwrap();
    let url = url::Url::parse(&server.url()).unwrap();
    let shown = presented_certificate(&url, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(shown.sha256, certificate_fingerprint(cert.der()));
    assert!(shown.is_self_signed(), "{shown:?}");
    assert!(shown.not_before <= SystemTime::now() && SystemTime::now() < shown.not_after);
    assert_eq!(
        requests.load(Ordering::SeqCst),
        0,
        "no request went over it"
    );
}
