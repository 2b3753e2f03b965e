//! A client's rate limits hold against a real server: bytes take at least as long as the
//! limit allows, however the transfer is cut. Only lower bounds are asserted (a busy machine
//! makes things slower, never faster).

use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use tidesync_testkit::DavServer;
use tidesync_webdav::{Client, Options, Precondition, RateLimit, RemotePath};

const RATE: u64 = 128 * 1024;
const SIZE: usize = 384 * 1024;

fn limited() -> Option<RateLimit> {
    Some(RateLimit::new(NonZeroU64::new(RATE).unwrap()))
}

/// The time the limit allows `SIZE` bytes at the least: all but one burst at the rate.
fn at_least() -> Duration {
    Duration::from_secs_f64((SIZE as f64 - RATE as f64 * 0.5) / RATE as f64)
}

#[tokio::test]
async fn uploads_and_downloads_keep_to_their_limits() {
    let folder = tempfile::tempdir().unwrap();
    let server = DavServer::serve(folder.path()).await.unwrap();
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("big.bin");
    std::fs::write(&file, vec![9u8; SIZE]).unwrap();
    let path = RemotePath::parse("big.bin").unwrap();

    let options = Options {
        upload_limit: limited(),
        download_limit: limited(),
        ..Options::default()
    };
    let client = Client::new(&server.url(), None, options).unwrap();

    let started = Instant::now();
    client
        .put_file(&path, &file, &Precondition::None, None)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(took >= at_least(), "the upload took {took:?}");
    assert_eq!(
        std::fs::read(folder.path().join("big.bin")).unwrap().len(),
        SIZE
    );

    let started = Instant::now();
    let mut download = client.get(&path, 0, None).await.unwrap();
    let mut received = 0;
    while let Some(chunk) = download.chunk().await.unwrap() {
        received += chunk.len();
    }
    let took = started.elapsed();
    assert_eq!(received, SIZE);
    assert!(took >= at_least(), "the download took {took:?}");
}
