//! What the engine tests share: an engine on a temp data dir paired with a served folder.

#![allow(dead_code)]

pub mod generated;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tidesync_engine::memory::{ManualWatch, MemoryConnector, MemoryRemote};
use tidesync_engine::{
    Engine, EngineOptions, JobEvent, JobId, Mode, Outcome, PairId, PlainHttp, RemoteId, ServerForm,
    Sink,
};
use tidesync_testkit::apache::{APACHE_PASSWORD, APACHE_USER, ApacheServer};
use tidesync_testkit::tree::snapshot;

/// Shorter timeouts and quicker retries than the defaults, so a fault costs seconds, not
/// minutes; long enough that a busy CI machine never trips them on a healthy connection.
pub fn impatient() -> tidesync_webdav::Options {
    tidesync_webdav::Options {
        connect_timeout: std::time::Duration::from_secs(3),
        idle_timeout: std::time::Duration::from_secs(3),
        retry: tidesync_webdav::RetryPolicy {
            attempts: 4,
            base_delay: std::time::Duration::from_millis(20),
            max_delay: std::time::Duration::from_millis(200),
        },
        ..tidesync_webdav::Options::default()
    }
}

/// A test's world: the served folder, the local folder, the engine.
pub struct World {
    /// The folder the server serves.
    pub remote_root: PathBuf,
    pub remote_dir: tempfile::TempDir,
    pub local_dir: tempfile::TempDir,
    pub data_dir: tempfile::TempDir,
    pub engine: Engine,
    pub pair: PairId,
    /// The server as the engine knows it, for more pairs on it.
    pub remote_id: RemoteId,
    /// The server, kept alive for the test.
    pub server: Box<dyn std::any::Any + Send>,
    /// With [`Server::DavCapped`]: the proxy that caps the rate and counts what the server sent.
    pub proxy: Option<tidesync_testkit::FaultProxy>,
}

pub enum Server {
    Dav,
    Rclone,
    /// dav-server behind the test kit's proxy at this many bytes per second each way, so the
    /// bytes the server sent can be counted and little is in flight when a run stops.
    DavCapped(u64),
    /// A private Apache mod_dav, with its Basic-auth account; write to its folder with
    /// [`World::put_remote`], which hands the files to Apache's account.
    Apache,
}

impl World {
    pub async fn new(server: Server, mode: Mode) -> World {
        Self::with_options(server, mode, EngineOptions::default()).await
    }

    pub async fn with_options(server: Server, mode: Mode, options: EngineOptions) -> World {
        // `RUST_LOG=debug cargo test -- --nocapture` shows what a failing test did.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let remote_dir = tempfile::tempdir().unwrap();
        let local_dir = tempfile::tempdir().unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        if let Server::Apache = server {
            let apache = ApacheServer::start().await.unwrap();
            let (engine, remote_id, pair) = apache_pair_with(
                data_dir.path(),
                apache.url(),
                None,
                local_dir.path(),
                mode,
                options,
            )
            .await;
            return World {
                remote_root: apache.root(),
                remote_id,
                remote_dir,
                local_dir,
                data_dir,
                engine,
                pair,
                server: Box::new(apache),
                proxy: None,
            };
        }
        let mut proxy = None;
        let (url, server): (String, Box<dyn std::any::Any + Send>) = match server {
            Server::Dav => {
                let s = tidesync_testkit::DavServer::serve(remote_dir.path())
                    .await
                    .unwrap();
                (s.url(), Box::new(s))
            }
            Server::DavCapped(rate) => {
                let s = tidesync_testkit::DavServer::serve(remote_dir.path())
                    .await
                    .unwrap();
                let capped = tidesync_testkit::FaultProxy::start(s.addr()).await.unwrap();
                capped.always(Some(tidesync_testkit::Fault::Throttle(rate)));
                let url = capped.url();
                proxy = Some(capped);
                (url, Box::new(s))
            }
            Server::Rclone => {
                let s = tidesync_testkit::RcloneServer::serve(remote_dir.path(), None)
                    .await
                    .unwrap();
                (s.url(), Box::new(s))
            }
            Server::Apache => unreachable!("started above"),
        };
        let engine = Engine::open(data_dir.path(), options).await.unwrap();
        let remote = engine
            .add_remote("test", &url, None, PlainHttp::LoopbackOnly)
            .await
            .unwrap();
        let pair = engine
            .ensure_pair(remote, "", local_dir.path(), mode)
            .await
            .unwrap();
        World {
            remote_root: remote_dir.path().to_owned(),
            remote_id: remote,
            remote_dir,
            local_dir,
            data_dir,
            engine,
            pair,
            server,
            proxy,
        }
    }

    pub fn remote(&self) -> &Path {
        &self.remote_root
    }

    /// Waits until a server that caches its folder's listings sees what a test wrote there
    /// directly (rclone serve keeps directories for `--dir-cache-time`, 1 s in the test kit).
    pub async fn remote_writes_seen(&self) {
        if self
            .server
            .downcast_ref::<tidesync_testkit::RcloneServer>()
            .is_some()
        {
            tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        }
    }

    /// Writes a file on the server's side, as another client would have.
    pub fn put_remote(&self, path: &str, bytes: &[u8]) {
        write(self.remote(), path, bytes);
        if let Some(apache) = self.server.downcast_ref::<ApacheServer>() {
            apache.adopt().unwrap();
        }
    }

    pub fn local(&self) -> &Path {
        self.local_dir.path()
    }

    /// Runs one sync of the pair to its end.
    pub async fn sync(&self) -> Outcome {
        let job = self.engine.start(self.pair).await.unwrap();
        self.engine.wait(job).await.unwrap()
    }

    /// Files of both sides, without Tidesync's hidden files.
    pub fn trees(&self) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
        (visible(self.local()), visible(self.remote()))
    }
}

/// The tree below `root` without in-progress files (which must never be visible anyway).
pub fn visible(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(path, _)| !path.split('/').any(tidesync_testkit::tree::is_in_progress))
        .collect()
}

/// Every hidden in-progress file below `root`.
pub fn leftovers(root: &Path) -> Vec<String> {
    snapshot(root)
        .into_keys()
        .filter(|path| path.split('/').any(tidesync_testkit::tree::is_in_progress))
        .collect()
}

/// A sink that keeps every message.
pub fn recorder() -> (Arc<dyn Sink>, Arc<Mutex<Vec<JobEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (
        Arc::new(move |e: JobEvent| {
            sink.lock().unwrap().push(e);
            true
        }),
        seen,
    )
}

pub fn write(root: &Path, path: &str, bytes: &[u8]) -> PathBuf {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(&full, bytes).unwrap();
    full
}

/// Writes `text` at `path` in the folder `apache` serves, handed to Apache as it needs.
pub fn apache_write(apache: &ApacheServer, path: &str, text: &str) {
    let file = apache.root().join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
    apache.adopt().unwrap();
}

/// An engine on `data` with the test kit's Apache account at `url` added as a user adds a
/// server (a connection test, the password kept), paired with `local` in `mode`.
pub async fn apache_pair(
    data: &Path,
    url: String,
    pin_sha256: Option<String>,
    local: &Path,
    mode: Mode,
) -> (Engine, RemoteId, PairId) {
    apache_pair_with(data, url, pin_sha256, local, mode, EngineOptions::default()).await
}

/// [`apache_pair`] by an engine with `options`.
pub async fn apache_pair_with(
    data: &Path,
    url: String,
    pin_sha256: Option<String>,
    local: &Path,
    mode: Mode,
    options: EngineOptions,
) -> (Engine, RemoteId, PairId) {
    let engine = Engine::open(data, options).await.unwrap();
    let remote = engine
        .add_server(ServerForm {
            name: "apache".into(),
            url,
            user: Some(APACHE_USER.into()),
            password: Some(APACHE_PASSWORD.into()),
            pin_sha256,
        })
        .await
        .unwrap();
    let pair = engine
        .ensure_pair(remote.id, "", local, mode)
        .await
        .unwrap();
    (engine, remote.id, pair)
}

pub async fn wait_for_job(engine: &Engine, job: JobId) -> Outcome {
    engine.wait(job).await.unwrap()
}

/// A pair on the in-memory server (no sockets: paused time works), for tests of engine logic.
pub struct MemoryPair {
    pub engine: Engine,
    pub pair: PairId,
    pub server: Arc<MemoryRemote>,
    pub local: tempfile::TempDir,
    pub _data: tempfile::TempDir,
    /// The folder watcher automatic sync uses: events come from the test.
    pub watch: Arc<ManualWatch>,
}

impl MemoryPair {
    pub async fn new(mode: Mode) -> MemoryPair {
        Self::with_server(mode, MemoryRemote::new()).await
    }

    /// A pair on `server`, which may offer what a plain one does not.
    pub async fn with_server(mode: Mode, server: MemoryRemote) -> MemoryPair {
        Self::with_options(mode, server, EngineOptions::default()).await
    }

    /// A pair on `server`, by an engine with `options` (its connector and watcher are the
    /// test's).
    pub async fn with_options(
        mode: Mode,
        server: MemoryRemote,
        options: EngineOptions,
    ) -> MemoryPair {
        let (local, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        Self::in_folders(mode, server, options, local, data).await
    }

    /// A pair syncing `local`, by an engine keeping its journal in `data` (tests of which
    /// volume holds what).
    pub async fn in_folders(
        mode: Mode,
        server: MemoryRemote,
        options: EngineOptions,
        local: tempfile::TempDir,
        data: tempfile::TempDir,
    ) -> MemoryPair {
        let connector = MemoryConnector::new();
        let watch = ManualWatch::new();
        let options = EngineOptions {
            connector: connector.clone(),
            watcher: watch.clone(),
            ..options
        };
        let engine = Engine::open(data.path(), options).await.unwrap();
        let remote = engine
            .add_remote(
                "memory",
                "http://127.0.0.1:9/",
                None,
                PlainHttp::LoopbackOnly,
            )
            .await
            .unwrap();
        let server = Arc::new(server);
        connector.serve(remote, server.clone());
        let pair = engine
            .ensure_pair(remote, "", local.path(), mode)
            .await
            .unwrap();
        MemoryPair {
            engine,
            pair,
            server,
            local,
            _data: data,
            watch,
        }
    }

    /// Runs one sync of the pair to its end.
    pub async fn sync(&self) -> Outcome {
        let job = self.engine.start(self.pair).await.unwrap();
        self.engine.wait(job).await.unwrap()
    }
}
