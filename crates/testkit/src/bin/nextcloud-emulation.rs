//! The test kit's Nextcloud emulation as a process, for the app's E2E tests and the
//! benchmarks: prints the server's address and an app password, one per line, then serves
//! until its standard input closes. `--no-bulk` leaves bulk upload out of the capabilities.
//! What clients sent is counted at `GET /emulation/stats`.

use tidesync_testkit::nextcloud::{Features, NextcloudServer};

#[tokio::main]
async fn main() {
    let bulk_upload = !std::env::args().any(|a| a == "--no-bulk");
    let server = NextcloudServer::with_features(Features {
        bulk_upload,
        ..Features::default()
    })
    .await
    .expect("the emulation starts on loopback");
    println!("{}", server.url());
    println!("{}", server.issue_app_password());
    let _ = tokio::task::spawn_blocking(|| {
        std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
    })
    .await;
}
