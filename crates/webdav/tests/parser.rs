//! The multistatus parser on answers shaped like those of real servers, and on hostile ones.

use std::time::{Duration, SystemTime};

use tidesync_webdav::{EntryError, EntryKind, HrefError, Listing, ParseError};
use url::Url;

async fn read(base: &str, xml: &[u8]) -> Result<Listing, ParseError> {
    Listing::read(&Url::parse(base).unwrap(), xml).await
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn at(secs: u64) -> Option<SystemTime> {
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[tokio::test]
async fn nextcloud_with_checksums_file_ids_and_404_propstats() {
    let listing = read(
        "https://cloud.example/remote.php/dav/files/alice/Documents/",
        &fixture("nextcloud.xml"),
    )
    .await
    .unwrap();
    assert!(listing.rejected.is_empty(), "{:?}", listing.rejected);
    let [root, welcome, summer] = &listing.entries[..] else {
        panic!("three entries expected: {:?}", listing.entries)
    };
    assert!(root.path.is_root());
    assert_eq!(root.kind, EntryKind::Folder);
    assert_eq!(root.etag.as_deref(), Some("\"6650b6c1a3f2e\""));
    assert_eq!(welcome.path.as_str(), "Welcome to Nextcloud.md");
    assert_eq!(welcome.kind, EntryKind::File);
    assert_eq!(welcome.size, 2071);
    assert_eq!(welcome.modified, at(1_716_565_761));
    assert_eq!(
        welcome.checksums,
        [
            "SHA1:2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
            "MD5:9e107d9d372bb6826bd81d3542a419d6",
            "ADLER32:5bdc0fda"
        ]
    );
    assert_eq!(welcome.file_id.as_deref(), Some("413"));
    assert_eq!(welcome.permissions.as_deref(), Some("RGDNVW"));
    assert_eq!(summer.path.as_str(), "Été & hiver.odt");
    assert_eq!(summer.size, 0);
    assert!(summer.checksums.is_empty());
}

#[tokio::test]
async fn owncloud_pretty_printed() {
    let listing = read(
        "https://oc.example/remote.php/webdav/",
        &fixture("owncloud.xml"),
    )
    .await
    .unwrap();
    let paths: Vec<_> = listing
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.kind, e.size))
        .collect();
    assert_eq!(
        paths,
        [
            ("", EntryKind::Folder, 0),
            ("Photos", EntryKind::Folder, 0),
            ("ownCloud Manual.pdf", EntryKind::File, 5_124_387)
        ]
    );
    assert_eq!(
        listing.entries[2].checksums,
        ["SHA1:da39a3ee5e6b4b0d3255bfef95601890afd80709"]
    );
}

#[tokio::test]
async fn apache_with_per_response_namespace_prefixes() {
    let listing = read("https://files.example/dav/", &fixture("apache.xml"))
        .await
        .unwrap();
    assert_eq!(listing.entries.len(), 2);
    assert_eq!(listing.entries[0].kind, EntryKind::Folder);
    let report = &listing.entries[1];
    assert_eq!(report.path.as_str(), "report 2024.txt");
    assert_eq!(report.size, 12);
    assert_eq!(report.etag.as_deref(), Some("\"c-61a0c2b3d4e60\""));
}

#[tokio::test]
async fn nginx_without_etags() {
    let listing = read("https://h.example/files/", &fixture("nginx.xml"))
        .await
        .unwrap();
    assert_eq!(listing.entries.len(), 2);
    assert_eq!(listing.entries[1].path.as_str(), "notes.txt");
    assert_eq!(listing.entries[1].size, 42);
    assert_eq!(listing.entries[1].etag, None);
}

#[tokio::test]
async fn rclone_with_redeclared_namespaces_and_plus_signs() {
    let listing = read("http://127.0.0.1:8080/", &fixture("rclone.xml"))
        .await
        .unwrap();
    let paths: Vec<_> = listing.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["", "sub dir", "sub dir/a+b.bin"]);
    assert_eq!(
        listing.entries[0].etag, None,
        "the 404 propstat's empty getetag does not count"
    );
    assert_eq!(listing.entries[2].size, 1024);
}

#[tokio::test]
async fn sharepoint_style_absolute_hrefs_and_gone_members() {
    let listing = read(
        "https://contoso.sharepoint.example/sites/team/Shared%20Documents/",
        &fixture("sharepoint.xml"),
    )
    .await
    .unwrap();
    let paths: Vec<_> = listing.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["", "Budget Q3.xlsx"],
        "the 404 response is left out"
    );
    assert_eq!(listing.entries[1].size, 23552);
}

const HEAD: &str = r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">"#;

fn response(href: &str) -> String {
    format!(
        "<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:getcontentlength>1</d:getcontentlength></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )
}

#[tokio::test]
async fn hostile_hrefs_are_rejected_one_by_one_and_the_rest_is_kept() {
    let hrefs = [
        "/dav/ok.txt",
        "/dav/../etc/passwd",
        "/dav/%2e%2e/%2e%2e/etc/passwd",
        "/etc/passwd",
        "https://evil.example/dav/x",
        "/dav/a%00b",
        "/dav/CON",
        "/dav/what%3F.txt",
        "/dav/back%5Cslash",
        "/dav/ends%20with%20a%20dot.",
        "/dav/sub/also%20ok",
    ];
    let xml = format!(
        "{HEAD}{}</d:multistatus>",
        hrefs.iter().map(|h| response(h)).collect::<String>()
    );
    let listing = read("https://h.example/dav/", xml.as_bytes())
        .await
        .unwrap();
    let kept: Vec<_> = listing.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(kept, ["ok.txt", "sub/also ok"]);
    let errors: Vec<_> = listing.rejected.iter().map(|r| r.error.clone()).collect();
    assert_eq!(
        errors,
        [
            EntryError::Href(HrefError::DotSegment),
            EntryError::Href(HrefError::DotSegment),
            EntryError::Href(HrefError::OutsideBase),
            EntryError::Href(HrefError::OtherHost("evil.example".into())),
            EntryError::Href(HrefError::ControlChar(0)),
            EntryError::Href(HrefError::ReservedName("CON".into())),
            // Refused by Windows and by Android's shared storage alike.
            EntryError::Href(HrefError::ReservedChar('?')),
            EntryError::Href(HrefError::ReservedChar('\\')),
            EntryError::Href(HrefError::TrailingDotOrSpace),
        ]
    );
}

#[tokio::test]
async fn an_unusable_size_rejects_that_entry() {
    let xml = format!(
        "{HEAD}<d:response><d:href>/x</d:href><d:propstat><d:prop><d:getcontentlength>-5</d:getcontentlength></d:prop></d:propstat></d:response></d:multistatus>"
    );
    let listing = read("http://127.0.0.1/", xml.as_bytes()).await.unwrap();
    assert!(listing.entries.is_empty());
    assert_eq!(listing.rejected[0].error, EntryError::BadSize("-5".into()));
}

#[tokio::test]
async fn entity_declarations_are_refused_without_expansion() {
    let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<d:multistatus xmlns:d="DAV:"><d:response><d:href>/&lol2;</d:href></d:response></d:multistatus>"#;
    assert_eq!(
        read("http://127.0.0.1/", billion_laughs.as_bytes()).await,
        Err(ParseError::Dtd)
    );

    let undeclared =
        format!("{HEAD}<d:response><d:href>/&xxe;</d:href></d:response></d:multistatus>");
    assert_eq!(
        read("http://127.0.0.1/", undeclared.as_bytes()).await,
        Err(ParseError::Entity("xxe".into()))
    );

    let predefined = format!(
        "{HEAD}{}</d:multistatus>",
        response("/a&amp;b&#x20;c&#233;")
    );
    let listing = read("http://127.0.0.1/", predefined.as_bytes())
        .await
        .unwrap();
    assert_eq!(listing.entries[0].path.as_str(), "a&b cé");
}

#[tokio::test]
async fn malformed_documents_get_typed_errors() {
    let base = "http://127.0.0.1/";
    assert!(matches!(read(base, b"").await, Err(ParseError::Syntax(_))));
    assert!(
        matches!(read(base, b"<html><body>Login</body></html>").await, Err(ParseError::NotMultistatus(n)) if n == "html")
    );
    let truncated = format!("{HEAD}{}", response("/a"));
    assert_eq!(
        read(base, truncated.as_bytes()).await,
        Err(ParseError::Truncated)
    );
    let mismatched =
        format!("{HEAD}<d:response><d:href>/a</d:propstat></d:response></d:multistatus>");
    assert!(matches!(
        read(base, mismatched.as_bytes()).await,
        Err(ParseError::Syntax(_))
    ));
    let no_href = format!("{HEAD}<d:response><d:propstat/></d:response></d:multistatus>");
    assert_eq!(
        read(base, no_href.as_bytes()).await,
        Err(ParseError::MissingHref)
    );
    let deep = format!(
        "{HEAD}{}{}</d:multistatus>",
        "<x>".repeat(100),
        "</x>".repeat(100)
    );
    assert_eq!(read(base, deep.as_bytes()).await, Err(ParseError::TooDeep));
    let long = format!(
        "{HEAD}{}</d:multistatus>",
        response(&format!("/{}", "a".repeat(70_000)))
    );
    assert_eq!(
        read(base, long.as_bytes()).await,
        Err(ParseError::FieldTooLong)
    );
}

#[tokio::test]
async fn a_50_mb_listing_parses_entry_by_entry() {
    let one = response("/folder/some%20reasonably%20long%20file%20name%20number%20XXXXXXX.bin");
    let count = 50 * 1024 * 1024 / one.len() + 1;
    let mut xml = String::with_capacity(count * one.len() + 200);
    xml.push_str(HEAD);
    for i in 0..count {
        xml.push_str(&one.replace("XXXXXXX", &format!("{i:07}")));
    }
    xml.push_str("</d:multistatus>");
    assert!(xml.len() > 50 * 1024 * 1024);
    let listing = read("http://127.0.0.1/", xml.as_bytes()).await.unwrap();
    assert_eq!(listing.entries.len(), count);
    assert!(listing.entries.iter().all(|e| e.size == 1));
}

/// A browse's answer: a folder's `oc:size` is its total size; one a plain server leaves out
/// (a 404 propstat), or sends as `-1` or text, is simply unknown.
#[tokio::test]
async fn folder_sizes_come_from_oc_size_when_the_server_knows_them() {
    let xml = br#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
 <d:response><d:href>/dav/</d:href><d:propstat><d:prop>
  <d:resourcetype><d:collection/></d:resourcetype><oc:size>1500</oc:size>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
 <d:response><d:href>/dav/Photos/</d:href><d:propstat><d:prop>
  <d:resourcetype><d:collection/></d:resourcetype><oc:size>1200</oc:size>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
 <d:response><d:href>/dav/Plain/</d:href><d:propstat><d:prop>
  <d:resourcetype><d:collection/></d:resourcetype>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 <d:propstat><d:prop><oc:size/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>
 <d:response><d:href>/dav/Odd/</d:href><d:propstat><d:prop>
  <d:resourcetype><d:collection/></d:resourcetype><oc:size>-1</oc:size>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
 <d:response><d:href>/dav/a.txt</d:href><d:propstat><d:prop>
  <d:resourcetype/><d:getcontentlength>300</d:getcontentlength>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"#;
    let listing = read("https://cloud.example/dav/", xml).await.unwrap();
    let sizes: Vec<(&str, Option<u64>, u64)> = listing
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.used_bytes, e.size))
        .collect();
    assert_eq!(
        sizes,
        [
            ("", Some(1500), 0),
            ("Photos", Some(1200), 0),
            ("Plain", None, 0),
            ("Odd", None, 0),
            ("a.txt", None, 300),
        ]
    );
}
