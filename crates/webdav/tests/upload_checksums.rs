//! Uploads carry `OC-Checksum: SHA1:<hex>` to a server whose listings show ownCloud's
//! properties (ownCloud and Nextcloud store it), and no such header to any other
//! server, which would ignore it while the client read each file twice.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tidesync_testkit::{Reply, ScriptedServer};
use tidesync_webdav::{Client, Depth, Options, Precondition, RemotePath};

const OWNCLOUD_LISTING: &[u8] = br#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
 <d:response><d:href>/</d:href><d:propstat><d:prop>
  <d:resourcetype><d:collection/></d:resourcetype><oc:fileid>1</oc:fileid>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
 <d:response><d:href>/old.txt</d:href><d:propstat><d:prop>
  <d:resourcetype/><d:getcontentlength>3</d:getcontentlength><d:getetag>"e1"</d:getetag>
  <oc:fileid>2</oc:fileid><oc:checksums><oc:checksum>SHA1:0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33</oc:checksum></oc:checksums>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"#;

const PLAIN_LISTING: &[u8] = br#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:">
 <d:response><d:href>/</d:href><d:propstat><d:prop>
  <d:resourcetype><d:collection/></d:resourcetype>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
 <d:response><d:href>/old.txt</d:href><d:propstat><d:prop>
  <d:resourcetype/><d:getcontentlength>3</d:getcontentlength><d:getetag>"e1"</d:getetag>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"#;

/// A server answering listings with `listing` and recording the head of every PUT.
async fn recording(listing: &'static [u8]) -> (ScriptedServer, Arc<Mutex<Vec<String>>>) {
    let puts = Arc::new(Mutex::new(Vec::new()));
    let seen = puts.clone();
    let server = ScriptedServer::start(move |head| {
        if head.starts_with("PUT ") {
            seen.lock().unwrap().push(head.to_ascii_lowercase());
            return Reply::http("201 Created", &[("ETag", "\"e2\"")], b"");
        }
        Reply::http(
            "207 Multi-Status",
            &[("Content-Type", "application/xml")],
            listing,
        )
    })
    .await
    .unwrap();
    (server, puts)
}

async fn upload_both_ways(client: &Client) {
    client.list(&RemotePath::root(), Depth::One).await.unwrap();
    client
        .put_bytes(
            &RemotePath::parse("a.txt").unwrap(),
            Bytes::from_static(b"foo"),
            &Precondition::None,
            None,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let large = dir.path().join("large.bin");
    std::fs::write(&large, vec![7u8; 600 * 1024]).unwrap();
    client
        .put_file(
            &RemotePath::parse("large.bin").unwrap(),
            &large,
            &Precondition::None,
            None,
        )
        .await
        .unwrap();
}

fn sha1_header(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("oc-checksum: sha1:{hex}")
}

#[tokio::test]
async fn an_owncloud_server_gets_each_uploads_sha1() {
    let (server, puts) = recording(OWNCLOUD_LISTING).await;
    let client = Client::new(&server.url(), None, Options::default()).unwrap();
    upload_both_ways(&client).await;
    let puts = puts.lock().unwrap().clone();
    assert_eq!(puts.len(), 2);
    // SHA-1 of "foo".
    assert!(
        puts[0].contains("oc-checksum: sha1:0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33"),
        "{}",
        puts[0]
    );
    assert!(
        puts[1].contains(&sha1_header(&vec![7u8; 600 * 1024])),
        "the streamed file's checksum covers all of it: {}",
        puts[1]
    );
}

#[tokio::test]
async fn another_server_gets_no_checksum_header() {
    let (server, puts) = recording(PLAIN_LISTING).await;
    let client = Client::new(&server.url(), None, Options::default()).unwrap();
    upload_both_ways(&client).await;
    let puts = puts.lock().unwrap().clone();
    assert_eq!(puts.len(), 2);
    assert!(
        puts.iter().all(|head| !head.contains("oc-checksum")),
        "{puts:?}"
    );
}
