//! What the client learns about a server from its answers, and what it then asks for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tidesync_testkit::{Reply, ScriptedServer};
use tidesync_webdav::{Client, Depth, Options, RemotePath, ServerKind};

/// One folder with one file, with or without ownCloud's properties.
fn multistatus(owncloud: bool) -> Vec<u8> {
    let extra = if owncloud {
        "<oc:fileid>00000042ocabc</oc:fileid><oc:permissions>RGDNVW</oc:permissions>"
    } else {
        ""
    };
    format!(
        r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
<d:response><d:href>/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype>{extra}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/a.txt</d:href><d:propstat><d:prop><d:resourcetype/><d:getcontentlength>3</d:getcontentlength><d:getetag>"e1"</d:getetag>{extra}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"#
    )
    .into_bytes()
}

/// A server answering every PROPFIND with [`multistatus`]; counts the requests by `Depth`.
async fn server(owncloud: bool) -> (ScriptedServer, Client, Arc<[AtomicUsize; 3]>) {
    let counts = Arc::new([const { AtomicUsize::new(0) }; 3]);
    let seen = counts.clone();
    let server = ScriptedServer::start(move |head| {
        let head = head.to_ascii_lowercase();
        let slot = ["depth: 0", "depth: 1", "depth: infinity"]
            .iter()
            .position(|d| head.contains(d))
            .expect("every PROPFIND names its depth");
        seen[slot].fetch_add(1, Ordering::SeqCst);
        Reply::http("207 Multi-Status", &[], &multistatus(owncloud))
    })
    .await
    .unwrap();
    let client = Client::new(&server.url(), None, Options::default()).unwrap();
    (server, client, counts)
}

fn counted(counts: &[AtomicUsize; 3]) -> [usize; 3] {
    counts.each_ref().map(|c| c.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_server_without_owncloud_properties_is_probed_once_then_not_asked_for_them() {
    let (_s, client, counts) = server(false).await;
    assert_eq!(client.quirks().owncloud_properties, None);
    let listing = client
        .list(&RemotePath::root(), Depth::Infinity)
        .await
        .unwrap();
    assert_eq!(listing.entries.len(), 2);
    assert_eq!(
        counted(&counts),
        [1, 0, 1],
        "one Depth: 0 probe, then the listing"
    );
    assert_eq!(client.quirks().owncloud_properties, Some(false));
    client
        .list(&RemotePath::root(), Depth::Infinity)
        .await
        .unwrap();
    assert_eq!(counted(&counts), [1, 0, 2], "no second probe");
}

#[tokio::test]
async fn an_owncloud_server_keeps_being_asked_for_its_properties() {
    let (_s, client, counts) = server(true).await;
    let listing = client
        .list(&RemotePath::root(), Depth::Infinity)
        .await
        .unwrap();
    assert_eq!(counted(&counts), [1, 0, 1]);
    let quirks = client.quirks();
    assert_eq!(quirks.owncloud_properties, Some(true));
    assert_eq!(quirks.server, Some(ServerKind::OwnCloud));
    assert!(
        listing
            .entries
            .iter()
            .all(|e| e.file_id.as_deref() == Some("00000042ocabc")),
        "{listing:?}"
    );
}

/// Every answer that says the server is overloaded is counted, those the client retried by
/// itself included: the engine's adaptive limit reads the count around each transfer.
#[tokio::test]
async fn overloaded_answers_are_counted_even_when_a_retry_gets_through() {
    let answered = Arc::new(AtomicUsize::new(0));
    let seen = answered.clone();
    let server = ScriptedServer::start(move |_| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::http("429 Too Many Requests", &[("Retry-After", "0")], b""),
        1 => Reply::http("503 Service Unavailable", &[("Retry-After", "0")], b""),
        _ => Reply::http("207 Multi-Status", &[], &multistatus(false)),
    })
    .await
    .unwrap();
    let client = Client::new(&server.url(), None, Options::default()).unwrap();
    assert_eq!(client.overloads(), 0);
    client.list(&RemotePath::root(), Depth::One).await.unwrap();
    assert_eq!(client.overloads(), 2);
}
