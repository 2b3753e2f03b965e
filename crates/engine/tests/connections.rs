//! A pair's runs share their connections: a no-op sync right after a sync opens none, so on a
//! phone's network it costs its round trips and no handshakes. Counted by the test kit's
//! proxy in front of a real Apache mod_dav, over plain HTTP/1.1 (keep-alive) and over TLS,
//! where Apache offers HTTP/2 and every request of a run shares one connection.

use std::net::SocketAddr;

mod common;

use tidesync_engine::{Engine, JobState, Mode, PairId};
use tidesync_testkit::apache::ApacheServer;
use tidesync_testkit::{FaultProxy, TestCertificate};

/// 48 small files in 12 folders, two levels deep: enough requests to fill several
/// connections at once over HTTP/1.1.
fn fill(apache: &ApacheServer) {
    for folder in 0..4 {
        for sub in 0..3 {
            let dir = apache.root().join(format!("f{folder}/s{sub}"));
            std::fs::create_dir_all(&dir).unwrap();
            for file in 0..4 {
                std::fs::write(
                    dir.join(format!("{file}.txt")),
                    format!("{folder}{sub}{file}"),
                )
                .unwrap();
            }
        }
    }
    apache.adopt().unwrap();
}

fn addr_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    rest.split('/').next().unwrap().parse().unwrap()
}

/// A download pair of `apache`'s folder, reached through a fault proxy, in an engine of its
/// own; the temporary folders live as long as it.
struct ProxiedPair {
    proxy: FaultProxy,
    engine: Engine,
    pair: PairId,
    _folders: (tempfile::TempDir, tempfile::TempDir),
}

impl ProxiedPair {
    async fn new(apache: &ApacheServer, pin_sha256: Option<String>) -> ProxiedPair {
        let proxy = FaultProxy::start(addr_of(&apache.url())).await.unwrap();
        let scheme = apache.url().split_once("://").unwrap().0.to_owned();
        let url = proxy.url().replacen("http", &scheme, 1) + "dav/";
        let (data, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (engine, _, pair) =
            common::apache_pair(data.path(), url, pin_sha256, local.path(), Mode::Download).await;
        ProxiedPair {
            proxy,
            engine,
            pair,
            _folders: (data, local),
        }
    }

    /// One sync to the end, which must complete; how many files it downloaded.
    async fn sync(&self) -> u64 {
        let job = self.engine.start(self.pair).await.unwrap();
        let done = self.engine.wait(job).await.unwrap();
        assert_eq!(done.state, JobState::Completed, "{done:?}");
        done.summary.files_downloaded
    }
}

/// Syncs the proxied Apache twice in one engine; returns the connections the proxy saw during
/// the first run and during the second.
async fn connections_per_run(apache: &ApacheServer, pin_sha256: Option<String>) -> (u64, u64) {
    fill(apache);
    let proxied = ProxiedPair::new(apache, pin_sha256).await;
    let before = proxied.proxy.connections();
    assert_eq!(proxied.sync().await, 48);
    let after_first = proxied.proxy.connections();
    assert_eq!(proxied.sync().await, 0, "nothing changed");
    (
        after_first - before,
        proxied.proxy.connections() - after_first,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_op_sync_after_a_sync_opens_no_connection() {
    let apache = ApacheServer::start().await.unwrap();
    let (first, second) = connections_per_run(&apache, None).await;
    assert!(first >= 1, "the first run connected");
    assert_eq!(
        second, 0,
        "the second run reused the first run's connections"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_a_run_shares_one_connection() {
    let certificate = TestCertificate::self_signed();
    let apache = ApacheServer::start_tls(&certificate).await.unwrap();
    let pin = tidesync_webdav::certificate_fingerprint(&certificate.der);
    let (first, second) = connections_per_run(&apache, Some(pin)).await;
    assert_eq!(
        first, 1,
        "every request of the run multiplexed on one connection"
    );
    assert_eq!(second, 0, "and the next run used it again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_after_the_network_dropped_resumes_the_tls_session() {
    // The pair's client outlives its runs, and so does its TLS session cache: once the
    // network dropped the connection (here the proxy closes it), the next run reconnects with
    // a resumed session, which Apache's mod_ssl reports per connection.
    let certificate = TestCertificate::self_signed();
    let apache = ApacheServer::start_tls(&certificate).await.unwrap();
    fill(&apache);
    let pin = tidesync_webdav::certificate_fingerprint(&certificate.der);
    let proxied = ProxiedPair::new(&apache, Some(pin)).await;
    assert_eq!(proxied.sync().await, 48);
    let before = apache.tls_sessions_once(|s| !s.is_empty()).await.unwrap();
    assert!(
        before.iter().all(|s| s == "Initial"),
        "the first run's connections are new: {before:?}"
    );

    let connections = proxied.proxy.connections();
    proxied.proxy.close_connections();
    common::apache_write(&apache, "f0/s0/new.txt", "after the drop");
    assert_eq!(proxied.sync().await, 1);
    assert!(
        proxied.proxy.connections() > connections,
        "the second run had to reconnect"
    );
    let after = apache
        .tls_sessions_once(|s| s.len() > before.len())
        .await
        .unwrap();
    assert!(
        after[before.len()..].iter().all(|s| s == "Resumed"),
        "every connection after the drop resumed its session: {after:?}"
    );
}
