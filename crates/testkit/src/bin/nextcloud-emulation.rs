//! The test kit's Nextcloud emulation as a process, for the app's E2E tests: prints the
//! server's address on one line, then serves until its standard input closes. Files are
//! added through WebDAV with the account password, as the web interface would.

use tidesync_testkit::NextcloudServer;

#[tokio::main]
async fn main() {
    let server = NextcloudServer::start()
        .await
        .expect("the emulation starts on loopback");
    println!("{}", server.url());
    let _ = tokio::task::spawn_blocking(|| {
        std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
    })
    .await;
}
