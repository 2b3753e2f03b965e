//! A 100 MB multistatus is parsed as it streams in: the process never holds the document, let
//! alone twice.
//! Alone in its test binary so that the peak resident size it reads is its own.

use bytes::Bytes;
use futures_util::stream;
use tidesync_webdav::Listing;
use tokio_util::io::StreamReader;
use url::Url;

/// Peak resident set size of this process, from the kernel.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

/// One response padded with a property the parser skips, about 2.3 KB of XML.
fn response(i: usize) -> Bytes {
    Bytes::from(format!(
        "<d:response><d:href>/dav/file-{i:08}.bin</d:href><d:propstat><d:prop><d:getcontentlength>{i}</d:getcontentlength><x:note xmlns:x=\"urn:x\">{}</x:note></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>",
        "padding ".repeat(256)
    ))
}

#[tokio::test]
async fn a_100_mb_listing_is_parsed_without_holding_it() {
    let count = 100 * 1024 * 1024 / response(0).len() + 1;
    let chunks = std::iter::once(Bytes::from_static(
        br#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">"#,
    ))
    .chain((0..count).map(response))
    .chain(std::iter::once(Bytes::from_static(b"</d:multistatus>")))
    .map(Ok::<_, std::io::Error>);
    let reader = tokio::io::BufReader::new(StreamReader::new(stream::iter(chunks)));

    let before = peak_rss_bytes();
    let listing = Listing::read(&Url::parse("http://127.0.0.1/dav/").unwrap(), reader)
        .await
        .unwrap();
    let grown = peak_rss_bytes().saturating_sub(before);

    assert_eq!(listing.entries.len(), count);
    assert_eq!(listing.entries[count - 1].size, (count - 1) as u64);
    assert!(
        grown < 32 * 1024 * 1024,
        "parsing 100 MB of XML grew the peak RSS by {} MB; the document must not be buffered",
        grown / (1024 * 1024)
    );
}
