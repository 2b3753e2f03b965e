//! What the generated (model-based) tests share: where a case's server is, the real servers
//! they run against, and a runner from a fixed seed.

use std::sync::Arc;

use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tidesync_engine::memory::{MemoryConnector, MemoryRemote};
use tidesync_engine::remote::Remote;
use tidesync_engine::{Engine, EngineOptions, PlainHttp, RemoteId};
use tidesync_webdav::{Client, Credentials, Options, RemotePath};

/// Where a case's server is.
pub enum CaseServer {
    /// A fresh in-memory server per case.
    Memory,
    /// A real server's folder (its URL ends with `/`) and its login; each case gets a folder
    /// of its own in it.
    WebDav {
        url: String,
        login: Option<(String, String)>,
    },
}

/// A case's engine, the remote it knows the server as, and the server for the test to act
/// on as another client would (through the engine's own `Remote` interface; the in-memory
/// one also as itself, for its hooks).
pub struct Connected {
    pub engine: Engine,
    pub remote: RemoteId,
    pub server: Arc<dyn Remote>,
    pub memory: Option<Arc<MemoryRemote>>,
}

impl CaseServer {
    /// An engine on `data` with `options`, connected to this server's `folder` (made on a
    /// real server). `walks`: an in-memory server answers folder by folder.
    pub async fn connect(
        &self,
        data: &std::path::Path,
        folder: &str,
        options: EngineOptions,
        walks: bool,
    ) -> Connected {
        self.connect_to(data, folder, options, walks, MemoryRemote::new())
            .await
    }

    /// [`connect`](Self::connect), with `memory` as the in-memory server.
    pub async fn connect_to(
        &self,
        data: &std::path::Path,
        folder: &str,
        mut options: EngineOptions,
        walks: bool,
        memory: MemoryRemote,
    ) -> Connected {
        let connector = MemoryConnector::new();
        if let CaseServer::Memory = self {
            options.connector = connector.clone();
        }
        let engine = Engine::open(data, options).await.unwrap();
        let (url, login) = match self {
            CaseServer::Memory => ("http://127.0.0.1:9/".to_owned(), None),
            CaseServer::WebDav { url, login } => (format!("{url}{folder}/"), login.clone()),
        };
        let remote = engine
            .add_remote("generated", &url, None, PlainHttp::LoopbackOnly)
            .await
            .unwrap();
        let mut in_memory = None;
        let server: Arc<dyn Remote> = match self {
            CaseServer::Memory => {
                let memory = Arc::new(memory);
                if walks {
                    memory.answer_folder_by_folder();
                }
                connector.serve(remote, memory.clone());
                in_memory = Some(memory.clone());
                memory
            }
            CaseServer::WebDav { .. } => {
                let credentials = login.map(|(user, password)| Credentials::new(user, password));
                if let Some(credentials) = &credentials {
                    engine.set_credentials(remote, credentials.clone());
                }
                let client = Client::new(&url, credentials, Options::default()).unwrap();
                client.mkcol(&RemotePath::root()).await.unwrap();
                Arc::new(client)
            }
        };
        Connected {
            engine,
            remote,
            server,
            memory: in_memory,
        }
    }
}

/// The real servers generated cases run against.
#[derive(Clone, Copy)]
pub enum RealServer {
    Dav,
    Rclone,
    Apache,
    Nextcloud,
}

impl RealServer {
    /// Starts the server on `runtime`, runs `cases` against it (a [`CaseServer::WebDav`]),
    /// then stops it. The server's runtime stays up (its worker threads serve) while the
    /// cases run on theirs.
    pub fn serve(self, cases: impl FnOnce(CaseServer)) {
        use tidesync_testkit::apache::{APACHE_PASSWORD, APACHE_USER, ApacheServer};
        use tidesync_testkit::nextcloud::{NextcloudServer, USER};
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (server, url, login): (Box<dyn std::any::Any>, _, _) = runtime.block_on(async {
            match self {
                RealServer::Dav => {
                    let s = tidesync_testkit::DavServer::serve(dir.path())
                        .await
                        .unwrap();
                    let url = s.url();
                    (Box::new(s) as Box<dyn std::any::Any>, url, None)
                }
                RealServer::Rclone => {
                    let s = tidesync_testkit::RcloneServer::serve(dir.path(), None)
                        .await
                        .unwrap();
                    let url = s.url();
                    (Box::new(s) as Box<dyn std::any::Any>, url, None)
                }
                RealServer::Apache => {
                    let s = ApacheServer::start().await.unwrap();
                    let url = s.url();
                    let login = Some((APACHE_USER.to_owned(), APACHE_PASSWORD.to_owned()));
                    (Box::new(s) as Box<dyn std::any::Any>, url, login)
                }
                RealServer::Nextcloud => {
                    let s = NextcloudServer::start().await.unwrap();
                    let url = s.dav_url();
                    let login = Some((USER.to_owned(), s.issue_app_password()));
                    (Box::new(s) as Box<dyn std::any::Any>, url, login)
                }
            }
        });
        cases(CaseServer::WebDav { url, login });
        drop(server);
    }
}

/// A runtime for the cases and a runner from `seed` (`TIDESYNC_MODEL_SEED=N` explores other
/// cases; CI's seeds are fixed), shrinking a failure at most `shrink` times.
pub fn runner(cases: u32, seed: u8, shrink: u32) -> (tokio::runtime::Runtime, TestRunner) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: shrink,
        ..Config::default()
    };
    let seed = env_number("TIDESYNC_MODEL_SEED", u32::from(seed)) as u8;
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    (runtime, TestRunner::new_with_rng(config, rng))
}

/// A count from the environment, or `default`.
pub fn env_number(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `cases` cases that `strategy` generates, each played by `play` (given a runtime to
/// block on) on `server` in a folder of its own (shrinking ones too: the server is shared),
/// from `seed`, shrinking a failure at most `shrink` times; panics with the shrunk case.
pub fn run_cases<S, P>(server: CaseServer, cases: u32, seed: u8, shrink: u32, strategy: S, play: P)
where
    S: proptest::strategy::Strategy,
    P: Fn(
        &tokio::runtime::Runtime,
        &CaseServer,
        String,
        S::Value,
    ) -> Result<(), proptest::test_runner::TestCaseError>,
{
    let (runtime, mut runner) = runner(cases, seed, shrink);
    let played = std::sync::atomic::AtomicU32::new(0);
    let result = runner.run(&strategy, |case| {
        let n = played.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        play(&runtime, &server, format!("case-{n}"), case)
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// Writes `path` on `server` as another client would (its folders made first), replacing
/// what is there; `scratch` holds the bytes on their way.
pub async fn put_remote(server: &dyn Remote, scratch: &std::path::Path, path: &str, data: &[u8]) {
    let mut folder = String::new();
    for part in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
        folder = if folder.is_empty() {
            (*part).to_owned()
        } else {
            format!("{folder}/{part}")
        };
        let _ = server.mkcol(&RemotePath::parse(&folder).unwrap()).await;
    }
    let file = scratch.join("upload");
    std::fs::write(&file, data).unwrap();
    server
        .put_file(
            &RemotePath::parse(path).unwrap(),
            &file,
            &tidesync_webdav::Precondition::None,
            None,
            Arc::new(|_| {}),
        )
        .await
        .unwrap();
}

/// The files on `server`, by path, with their bytes.
pub async fn remote_files(server: &dyn Remote) -> std::collections::BTreeMap<String, Vec<u8>> {
    let listing = server
        .list(&RemotePath::root(), tidesync_webdav::Depth::Infinity)
        .await
        .unwrap();
    let mut files = std::collections::BTreeMap::new();
    for entry in listing.entries {
        if entry.kind != tidesync_webdav::EntryKind::File {
            continue;
        }
        let mut body = server.get(&entry.path, 0, None, None).await.unwrap();
        let mut data = Vec::new();
        while let Some(chunk) = body.chunk().await.unwrap() {
            data.extend_from_slice(&chunk);
        }
        files.insert(entry.path.as_str().to_owned(), data);
    }
    files
}

/// How many things a sync changed on either side (transfers, deletes, conflicts, moves): a
/// no-op run has none.
pub fn changes(summary: &tidesync_engine::Summary) -> u64 {
    summary.files_downloaded
        + summary.files_uploaded
        + summary.deleted_local
        + summary.deleted_remote
        + summary.conflicts
        + summary.moved
}
