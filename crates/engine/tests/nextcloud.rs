//! The whole engine against the test kit's Nextcloud emulation (written from Nextcloud's
//! developer documentation; no Nextcloud runs here): every mode converges, a small upload is
//! one request, a large one goes by chunks and resumes with only the missing chunks after a
//! stop, an abandoned upload folder is deleted, and a full quota, a revoked app password and
//! maintenance mode each end as a Nextcloud user needs.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use common::{MemoryPair, visible, write};
use tidesync_engine::memory::MemoryRemote;
use tidesync_engine::{
    Engine, EngineOptions, FailureKind, JobState, Mode, Outcome, PairId, PlainHttp, ServerForm,
    UploadSizes,
};
use tidesync_testkit::nextcloud::{Features, Logged, USER};
use tidesync_testkit::{Fault, FaultProxy, NextcloudServer};
use tidesync_webdav::{Abilities, Credentials, MIN_CHUNK_SIZE};

/// An engine paired with the emulated account's root, through a proxy that can slow it down.
struct Cloud {
    server: NextcloudServer,
    proxy: FaultProxy,
    engine: Engine,
    pair: PairId,
    local: tempfile::TempDir,
    _data: tempfile::TempDir,
}

/// Chunks of the smallest size the server takes, for files above one chunk.
fn chunky() -> EngineOptions {
    EngineOptions {
        uploads: UploadSizes {
            chunked_above: MIN_CHUNK_SIZE,
            chunk_size: MIN_CHUNK_SIZE,
        },
        ..EngineOptions::default()
    }
}

impl Cloud {
    async fn new(mode: Mode, options: EngineOptions) -> Cloud {
        Self::with_features(mode, options, Features::default()).await
    }

    async fn with_features(mode: Mode, options: EngineOptions, features: Features) -> Cloud {
        let server = NextcloudServer::with_features(features).await.unwrap();
        let proxy = FaultProxy::start(server.addr()).await.unwrap();
        let (local, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let engine = Engine::open(data.path(), options).await.unwrap();
        let url = format!("{}remote.php/dav/files/{USER}/", proxy.url());
        let remote = engine
            .add_remote("cloud", &url, Some(USER), PlainHttp::LoopbackOnly)
            .await
            .unwrap();
        engine.set_credentials(remote, Credentials::new(USER, server.issue_app_password()));
        let pair = engine
            .ensure_pair(remote, "", local.path(), mode)
            .await
            .unwrap();
        Cloud {
            server,
            proxy,
            engine,
            pair,
            local,
            _data: data,
        }
    }

    async fn sync(&self) -> Outcome {
        let job = self.engine.start(self.pair).await.unwrap();
        self.engine.wait(job).await.unwrap()
    }

    fn server_files(&self) -> BTreeMap<String, Vec<u8>> {
        self.server
            .files()
            .into_iter()
            .map(|(p, d)| (p, d.to_vec()))
            .collect()
    }

    /// Requests that named `path` in the account's files.
    /// The local files (not folders), without Tidesync's hidden ones.
    fn local_files(&self) -> BTreeMap<String, Vec<u8>> {
        visible(self.local.path())
            .into_iter()
            .filter(|(p, _)| !p.ends_with('/'))
            .collect()
    }

    /// Waits (on the real clock: the server is real) until the upload folders hold `n` chunks.
    async fn wait_for_chunks(&self, n: usize) {
        for _ in 0..2_000 {
            if self.server.chunks_stored() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{n} chunks never reached the server");
    }

    fn requests_for(&self, path: &str) -> Vec<Logged> {
        let full = format!("/remote.php/dav/files/{USER}/{path}");
        self.server
            .requests()
            .into_iter()
            .filter(|l| l.path == full)
            .collect()
    }
}

/// Both sides hold the same files; a failure names the paths, not the bytes.
fn same_files(local: &BTreeMap<String, Vec<u8>>, server: &BTreeMap<String, Vec<u8>>, what: &str) {
    let differ: Vec<&String> = local
        .keys()
        .chain(server.keys())
        .filter(|p| local.get(*p) != server.get(*p))
        .collect();
    assert!(differ.is_empty(), "{what}: these differ: {differ:?}");
}

fn completed(outcome: &Outcome) {
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(outcome.summary.errors.is_empty(), "{outcome:?}");
}

/// Seeded bytes of `len`.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn count(log: &[Logged], method: &str, path: &str) -> usize {
    log.iter()
        .filter(|l| l.method == method && l.path == path)
        .count()
}

#[tokio::test]
async fn every_mode_converges_and_small_new_files_go_up_in_one_bulk_request() {
    for mode in [Mode::Download, Mode::Upload, Mode::TwoWay] {
        let cloud = Cloud::new(mode, EngineOptions::default()).await;
        if mode != Mode::Upload {
            cloud
                .server
                .write("photos/2024/beach.jpg", &bytes(40_000, 1));
            cloud.server.write("notes.txt", b"from the server\n");
        }
        let small = ["docs/a.txt", "docs/deep/b.txt", "c.md"];
        if mode != Mode::Download {
            for (i, path) in small.iter().enumerate() {
                write(cloud.local.path(), path, &bytes(3_000 + i, 2));
            }
            write(cloud.local.path(), "medium.bin", &bytes(1_500_000, 3));
        }
        completed(&cloud.sync().await);
        same_files(
            &cloud.local_files(),
            &cloud.server_files(),
            &format!("{mode:?}"),
        );
        let log = cloud.server.requests();
        if mode != Mode::Download {
            for path in small {
                assert!(
                    cloud.requests_for(path).is_empty(),
                    "{mode:?} {path} went in the batch"
                );
            }
            assert_eq!(count(&log, "POST", "/remote.php/dav/bulk"), 1, "{mode:?}");
            let moves = log.iter().filter(|l| l.method == "MOVE").count();
            assert_eq!(
                moves, 1,
                "only the file above one MiB takes a temp name and a MOVE"
            );
        }
        cloud.server.clear_requests();
        let again = cloud.sync().await;
        completed(&again);
        assert_eq!(
            again.summary.files_uploaded + again.summary.files_downloaded,
            0
        );
        assert!(
            cloud
                .server
                .requests()
                .iter()
                .all(|l| l.method == "PROPFIND")
        );
    }
}

#[tokio::test]
async fn without_bulk_upload_a_small_upload_is_one_put() {
    let features = Features {
        bulk_upload: false,
        ..Features::default()
    };
    let cloud = Cloud::with_features(Mode::Upload, EngineOptions::default(), features).await;
    let small = ["docs/a.txt", "docs/deep/b.txt", "c.md"];
    for (i, path) in small.iter().enumerate() {
        write(cloud.local.path(), path, &bytes(3_000 + i, 2));
    }
    completed(&cloud.sync().await);
    same_files(&cloud.local_files(), &cloud.server_files(), "without bulk");
    for path in small {
        let asked = cloud.requests_for(path);
        assert_eq!(asked.len(), 1, "{path}: {asked:?}");
        assert_eq!(asked[0].method, "PUT");
    }
}

#[tokio::test]
async fn files_a_bulk_upload_refuses_end_as_single_uploads_would() {
    let cloud = Cloud::new(Mode::Upload, EngineOptions::default()).await;
    for name in ["a", "b", "c"] {
        write(
            cloud.local.path(),
            &format!("{name}.bin"),
            &bytes(100_000, 9),
        );
    }
    cloud.server.set_quota(Some(250_000));
    let outcome = cloud.sync().await;
    assert_eq!(outcome.state, JobState::Failed, "{outcome:?}");
    assert_eq!(outcome.failure, Some(FailureKind::Storage), "{outcome:?}");
    assert_eq!(
        cloud.server.files().len(),
        2,
        "two fitted; the third was refused"
    );
    let log = cloud.server.requests();
    assert_eq!(count(&log, "POST", "/remote.php/dav/bulk"), 1);

    cloud.server.set_quota(None);
    cloud.server.clear_requests();
    let rest = cloud.sync().await;
    completed(&rest);
    assert_eq!(
        rest.summary.files_uploaded, 1,
        "only the refused file goes again"
    );
    same_files(
        &cloud.local_files(),
        &cloud.server_files(),
        "after the quota",
    );
}

#[tokio::test]
async fn a_stopped_chunked_upload_resumes_with_only_the_missing_chunks() {
    let cloud = Cloud::new(Mode::Upload, chunky()).await;
    let data = bytes(4 * MIN_CHUNK_SIZE as usize + 100, 4);
    write(cloud.local.path(), "video.mp4", &data);
    cloud.proxy.always(Some(Fault::Throttle(16 * 1024 * 1024)));
    let job = cloud.engine.start(cloud.pair).await.unwrap();
    cloud.wait_for_chunks(2).await;
    cloud.engine.cancel(job).unwrap();
    let stopped = cloud.engine.wait(job).await.unwrap();
    assert_eq!(stopped.state, JobState::Cancelled, "{stopped:?}");
    let kept = cloud.server.chunks_stored();
    assert!(
        cloud.server.files().is_empty(),
        "nothing under a real name before assembly"
    );
    assert_eq!(cloud.server.pending_uploads().len(), 1);

    cloud.proxy.always(None);
    cloud.server.clear_requests();
    completed(&cloud.sync().await);
    // Which chunks went up (a retried attempt of one is the same chunk). A chunk in flight at
    // the stop may still have landed: never more than the rest is sent.
    let chunks_sent: std::collections::BTreeSet<String> = cloud
        .server
        .requests()
        .into_iter()
        .filter(|l| l.method == "PUT" && l.path.starts_with("/remote.php/dav/uploads/"))
        .map(|l| l.path)
        .collect();
    assert!(
        chunks_sent.len() <= 5 - kept,
        "{chunks_sent:?} sent, {kept} were kept"
    );
    assert_eq!(cloud.server_files()["video.mp4"], data);
    assert!(cloud.server.pending_uploads().is_empty());
    let pair = cloud.pair;
    let journal = cloud.engine.journal().clone();
    assert!(
        journal
            .call(move |j| j.pending_chunked(pair))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Seeded connection faults (resets, refusals, stalls, cut answers) through the proxy while
/// large files go up by chunks: the runs that break resume, and no chunk is sent more often
/// than once plus once per fault.
#[tokio::test]
async fn chunked_uploads_survive_a_seeded_schedule_of_connection_faults() {
    let options = EngineOptions {
        webdav: common::impatient(),
        ..chunky()
    };
    let cloud = Cloud::new(Mode::Upload, options).await;
    let mut expected = BTreeMap::new();
    for (i, len) in [
        3 * MIN_CHUNK_SIZE as usize + 5,
        2 * MIN_CHUNK_SIZE as usize + 1,
    ]
    .into_iter()
    .enumerate()
    {
        let path = format!("big-{i}.bin");
        let data = bytes(len, i as u8);
        write(cloud.local.path(), &path, &data);
        expected.insert(path, data);
    }
    write(cloud.local.path(), "small.txt", b"small");
    expected.insert("small.txt".into(), b"small".to_vec());
    let faults = 6;
    cloud.proxy.schedule(0x7e57, faults);
    let mut outcome = cloud.sync().await;
    for _ in 0..4 {
        if outcome.state == JobState::Completed && outcome.summary.errors.is_empty() {
            break;
        }
        outcome = cloud.sync().await;
    }
    assert!(cloud.proxy.faults_dealt() > 0, "the schedule dealt faults");
    cloud.proxy.always(None);
    completed(&cloud.sync().await);
    same_files(
        &cloud.local_files(),
        &cloud.server_files(),
        "after the faults",
    );
    same_files(&expected, &cloud.server_files(), "what was written");
    assert!(cloud.server.pending_uploads().is_empty());
    let chunk_puts = cloud
        .server
        .requests()
        .into_iter()
        .filter(|l| l.method == "PUT" && l.path.starts_with("/remote.php/dav/uploads/"))
        .count();
    assert!(
        chunk_puts as u64 <= 7 + cloud.proxy.faults_dealt(),
        "{chunk_puts} chunk PUTs for 7 chunks and {} faults",
        cloud.proxy.faults_dealt()
    );
}

#[tokio::test]
async fn an_upload_folder_no_run_needs_is_deleted() {
    let cloud = Cloud::new(Mode::Upload, chunky()).await;
    write(
        cloud.local.path(),
        "video.mp4",
        &bytes(3 * MIN_CHUNK_SIZE as usize, 5),
    );
    cloud.proxy.always(Some(Fault::Throttle(16 * 1024 * 1024)));
    let job = cloud.engine.start(cloud.pair).await.unwrap();
    cloud.wait_for_chunks(1).await;
    cloud.engine.cancel(job).unwrap();
    cloud.engine.wait(job).await.unwrap();
    let abandoned = cloud.server.pending_uploads();
    assert_eq!(abandoned.len(), 1);

    // The file changes: its upload starts over in a new folder, and the old one goes.
    cloud.proxy.always(None);
    let newer = bytes(2 * MIN_CHUNK_SIZE as usize + 7, 6);
    write(cloud.local.path(), "video.mp4", &newer);
    completed(&cloud.sync().await);
    assert_eq!(cloud.server_files()["video.mp4"], newer);
    assert!(
        cloud.server.pending_uploads().is_empty(),
        "{abandoned:?} is deleted"
    );
}

#[tokio::test]
async fn a_full_quota_fails_the_run_as_storage_and_loses_nothing() {
    let cloud = Cloud::new(Mode::Upload, chunky()).await;
    cloud.server.set_quota(Some(MIN_CHUNK_SIZE));
    let big = bytes(2 * MIN_CHUNK_SIZE as usize, 7);
    write(cloud.local.path(), "big.bin", &big);
    let outcome = cloud.sync().await;
    assert_eq!(outcome.state, JobState::Failed, "{outcome:?}");
    assert_eq!(outcome.failure, Some(FailureKind::Storage), "{outcome:?}");
    assert_eq!(
        std::fs::read(cloud.local.path().join("big.bin")).unwrap(),
        big
    );
    assert!(cloud.server.files().is_empty());
    assert_eq!(
        cloud.server.chunks_stored(),
        0,
        "refused before any chunk was kept"
    );

    cloud.server.set_quota(None);
    completed(&cloud.sync().await);
    assert_eq!(cloud.server_files()["big.bin"], big);
}

#[tokio::test]
async fn a_revoked_app_password_asks_to_sign_in_again() {
    let cloud = Cloud::new(Mode::TwoWay, EngineOptions::default()).await;
    write(cloud.local.path(), "a.txt", b"a");
    completed(&cloud.sync().await);
    cloud.server.revoke_app_passwords();
    write(cloud.local.path(), "a.txt", b"changed");
    let outcome = cloud.sync().await;
    assert_eq!(outcome.state, JobState::Failed, "{outcome:?}");
    assert_eq!(outcome.failure, Some(FailureKind::Auth), "{outcome:?}");
    assert_eq!(
        std::fs::read(cloud.local.path().join("a.txt")).unwrap(),
        b"changed"
    );
}

/// Requests for the server's setup in `log`: `status.php`, the capabilities, and the probe's
/// writes (a hidden name with "probe" in it).
fn setup_requests(log: &[Logged]) -> (usize, usize, usize) {
    let status = log.iter().filter(|l| l.path == "/status.php").count();
    let capabilities = log
        .iter()
        .filter(|l| l.path.ends_with("/cloud/capabilities"))
        .count();
    let probes = log
        .iter()
        .filter(|l| l.method == "PUT" && l.path.contains("probe"))
        .count();
    (status, capabilities, probes)
}

#[tokio::test]
async fn setup_is_made_once_per_run_and_a_new_process_writes_no_probe() {
    let cloud = Cloud::new(Mode::TwoWay, EngineOptions::default()).await;
    for i in 0..24 {
        cloud
            .server
            .write(&format!("f{i:02}.txt"), &bytes(500 + i, 4));
    }
    completed(&cloud.sync().await);
    // Every file changed here: 24 replacements start at once, before anything is known of
    // the server's abilities (a download learns none).
    for i in 0..24 {
        write(
            cloud.local.path(),
            &format!("f{i:02}.txt"),
            &bytes(700 + i, 6),
        );
    }
    cloud.server.clear_requests();
    let outcome = cloud.sync().await;
    completed(&outcome);
    assert_eq!(outcome.summary.files_uploaded, 24);
    let (status, capabilities, probes) = setup_requests(&cloud.server.requests());
    assert_eq!(
        (status, capabilities, probes),
        (1, 1, 3),
        "24 uploads at once share one setup, whose probe writes three times"
    );

    // A new process on the same journal (the next CLI run, an app start).
    let remote = cloud.engine.pairs().await.unwrap()[0].remote_id;
    cloud.engine.shutdown().await;
    let engine = Engine::open(cloud._data.path(), EngineOptions::default())
        .await
        .unwrap();
    engine.set_credentials(
        remote,
        Credentials::new(USER, cloud.server.issue_app_password()),
    );
    cloud.server.clear_requests();
    write(cloud.local.path(), "f00.txt", b"changed once more");
    let outcome = engine
        .wait(engine.start(cloud.pair).await.unwrap())
        .await
        .unwrap();
    completed(&outcome);
    assert_eq!(outcome.summary.files_uploaded, 1);
    let (status, capabilities, probes) = setup_requests(&cloud.server.requests());
    assert_eq!(
        (status, capabilities, probes),
        (1, 1, 0),
        "nothing written but the file"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_refused_password_is_sent_no_more_than_the_requests_already_in_flight() {
    // A tree of 120 folders, walked folder by folder (Sabre answers `Depth: infinity` as
    // `Depth: 1`), and 200 small new files in two bulk batches: every folder's listing and
    // every file's upload would meet the 401 if each went on after the first.
    let cloud = Cloud::new(Mode::TwoWay, EngineOptions::default()).await;
    for i in 0..120 {
        cloud
            .server
            .write(&format!("d{i:03}/sub/file.txt"), &bytes(100, 7));
    }
    completed(&cloud.sync().await);
    cloud.server.revoke_app_passwords();
    for i in 0..200 {
        write(cloud.local.path(), &format!("f{i:03}.txt"), &bytes(300, 5));
    }
    cloud.server.clear_requests();
    let outcome = cloud.sync().await;
    assert_eq!(outcome.failure, Some(FailureKind::Auth), "{outcome:?}");
    let log = cloud.server.requests();
    let refused = log.iter().filter(|l| l.status == 401).count();
    assert!(
        (1..=8).contains(&refused),
        "at most the first window of requests meets the 401: {refused}"
    );
    assert!(
        log.iter().all(|l| l.status != 429),
        "the server's brute-force protection was never set off"
    );
}

#[tokio::test]
async fn maintenance_mode_is_waited_out() {
    let cloud = Cloud::new(Mode::TwoWay, EngineOptions::default()).await;
    cloud.server.write("a.txt", b"a");
    cloud.server.set_maintenance(true);
    let sync = cloud.sync();
    // Ended once two requests were refused: the client still has retries left whatever its
    // jittered pauses drew (after 700 ms, as this test first did, they could all be spent).
    let end_maintenance = async {
        while cloud
            .server
            .requests()
            .iter()
            .filter(|l| l.status == 503)
            .count()
            < 2
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cloud.server.set_maintenance(false);
    };
    let (outcome, ()) = tokio::join!(sync, end_maintenance);
    completed(&outcome);
    same_files(
        &cloud.local_files(),
        &cloud.server_files(),
        "after maintenance",
    );
}

/// A remote file that changes between the listing and its single `PUT` is not replaced: the
/// `If-Match` fails, the file waits, and the next run keeps both versions.
#[tokio::test]
async fn a_single_put_never_replaces_a_version_the_plan_did_not_see() {
    let pair = MemoryPair::with_server(
        Mode::TwoWay,
        MemoryRemote::offering(Abilities {
            atomic_put: true,
            ..Abilities::default()
        }),
    )
    .await;
    pair.server.write("doc.txt", b"v1");
    completed(&pair.sync().await);
    write(pair.local.path(), "doc.txt", b"local edit");
    let server = pair.server.clone();
    pair.server
        .after_next_listing(move || server.write("doc.txt", b"server edit"));
    let outcome = pair.sync().await;
    assert_eq!(pair.server.files()["doc.txt"], b"server edit");
    assert!(
        outcome.summary.errors.iter().any(|e| e.path == "doc.txt"),
        "{outcome:?}"
    );
    completed(&pair.sync().await);
    let local = visible(pair.local.path());
    assert!(local.values().any(|v| v == b"local edit"), "{local:?}");
    assert!(local.values().any(|v| v == b"server edit"), "{local:?}");
}

#[tokio::test]
async fn removing_a_nextcloud_server_revokes_its_app_password() {
    let server = NextcloudServer::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open(data.path(), EngineOptions::default())
        .await
        .unwrap();
    let remote = engine
        .add_server(ServerForm {
            name: "cloud".into(),
            url: server.dav_url(),
            user: Some(USER.into()),
            password: Some(server.issue_app_password()),
            pin_sha256: None,
        })
        .await
        .unwrap();
    assert_eq!(remote.server_kind.as_deref(), Some("Nextcloud"));
    assert_eq!(server.app_passwords(), 1);
    engine.remove_remote(remote.id).await.unwrap();
    assert_eq!(server.app_passwords(), 0, "revoked on the server");
    assert!(engine.remotes().await.unwrap().is_empty());
}

#[tokio::test]
async fn signing_in_by_login_flow_adds_the_server_with_an_app_password() {
    let server = NextcloudServer::start().await.unwrap();
    server.write("Photos/a.jpg", b"a");
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open(data.path(), EngineOptions::default())
        .await
        .unwrap();
    let (id, login_url) = engine.begin_login(&server.url(), None).await.unwrap();
    let completing = engine.complete_login(id, "My cloud", None);
    let browser = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            server.grant_login(&login_url),
            "the person grants access in the browser"
        );
    };
    let (remote, ()) = tokio::join!(completing, browser);
    let remote = remote.unwrap();
    assert_eq!(remote.name, "My cloud");
    assert_eq!(remote.url, server.dav_url());
    assert_eq!(remote.user.as_deref(), Some(USER));
    assert_eq!(remote.server_kind.as_deref(), Some("Nextcloud"));
    assert_eq!(server.app_passwords(), 1);

    let local = tempfile::tempdir().unwrap();
    let pair = engine
        .ensure_pair(remote.id, "", local.path(), Mode::Download)
        .await
        .unwrap();
    let job = engine.start(pair).await.unwrap();
    completed(&engine.wait(job).await.unwrap());
    assert_eq!(
        std::fs::read(local.path().join("Photos/a.jpg")).unwrap(),
        b"a"
    );

    // A second sign-in, cancelled while it waits, adds nothing.
    let (id, _) = engine.begin_login(&server.url(), None).await.unwrap();
    let waiting = engine.complete_login(id, "Other", None);
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        engine.cancel_login(id).unwrap();
    };
    let (cancelled, ()) = tokio::join!(waiting, cancel);
    assert!(
        matches!(
            cancelled,
            Err(tidesync_engine::EngineError::Login(
                tidesync_webdav::LoginError::Cancelled
            ))
        ),
        "{cancelled:?}"
    );
    assert!(engine.cancel_login(id).is_err(), "forgotten");

    // The app password is revoked in the web interface: syncs fail until the user signs in
    // again, which replaces the login of the same server and keeps its pair.
    server.revoke_app_passwords();
    let job = engine.start(pair).await.unwrap();
    let refused = engine.wait(job).await.unwrap();
    assert_eq!(refused.failure, Some(FailureKind::Auth), "{refused:?}");
    let (id, login_url) = engine.begin_login(&remote.url, None).await.unwrap();
    assert!(server.grant_login(&login_url));
    let again = engine
        .complete_login(id, "My cloud", Some(remote.id))
        .await
        .unwrap();
    assert_eq!(again.id, remote.id);
    assert_eq!(engine.remotes().await.unwrap().len(), 1);
    server.write("Photos/b.jpg", b"b");
    let job = engine.start(pair).await.unwrap();
    completed(&engine.wait(job).await.unwrap());
    assert_eq!(
        std::fs::read(local.path().join("Photos/b.jpg")).unwrap(),
        b"b"
    );
    assert_eq!(engine.remotes().await.unwrap().len(), 1);
}

/// Turns automatic sync on, checking every second, and waits for its first sync to end.
async fn auto_sync_on(engine: &Engine, pair: PairId) {
    let current = engine.pair(pair).await.unwrap();
    let settings = tidesync_engine::PairSettings {
        auto_sync: true,
        check_every: Duration::from_secs(1),
        ..current.settings
    };
    engine
        .update_pair(pair, current.mode, settings)
        .await
        .unwrap();
    until("the first automatic sync ends", || async {
        engine.unfinished_job(pair).is_none() && !engine.history().await.unwrap().is_empty()
    })
    .await;
}

/// Waits (real time, at most a minute) until `done` holds.
async fn until<F: std::future::Future<Output = bool>>(what: &str, done: impl Fn() -> F) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn automatic_sync_learns_that_folder_etags_propagate_and_checks_the_root_only() {
    let cloud = Cloud::new(Mode::TwoWay, EngineOptions::default()).await;
    cloud.server.write("docs/old.txt", b"old");
    auto_sync_on(&cloud.engine, cloud.pair).await;
    let check = || cloud.engine.auto_status(cloud.pair).unwrap().server_check;
    assert_eq!(
        check(),
        tidesync_engine::ServerCheck::Listing,
        "not assumed"
    );

    // Our own upload two levels down changes the root's ETag: the server has shown it.
    write(cloud.local.path(), "docs/new.txt", b"new");
    until("the upload is seen to change the root", || async {
        check() == tidesync_engine::ServerCheck::RootOnly
    })
    .await;
    assert_eq!(cloud.server_files()["docs/new.txt"], b"new");

    // From now on a check is one Depth-0 PROPFIND of the root, and still finds changes.
    until("no run under way", || async {
        cloud.engine.unfinished_job(cloud.pair).is_none()
    })
    .await;
    cloud.server.clear_requests();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let requests = cloud.server.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.method == "PROPFIND"
            && r.path.trim_end_matches('/') == format!("/remote.php/dav/files/{USER}")),
        "{requests:?}"
    );
    cloud
        .server
        .write("docs/deeper/from-the-web.txt", b"uploaded in the browser");
    until("the change is downloaded", || async {
        cloud
            .local
            .path()
            .join("docs/deeper/from-the-web.txt")
            .exists()
    })
    .await;
    cloud.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_small_files_and_a_200_mib_file_go_up_with_no_request_refused() {
    let cloud = Cloud::new(Mode::Upload, EngineOptions::default()).await;
    for i in 0..500 {
        let folder = ["", "notes/", "notes/2024/"][i % 3];
        write(
            cloud.local.path(),
            &format!("{folder}small-{i:03}.txt"),
            &bytes(1024 + (i * 131) % 64_000, (i % 251) as u8),
        );
    }
    let big = bytes(200 * 1024 * 1024, 9);
    write(cloud.local.path(), "video.bin", &big);
    let outcome = cloud.sync().await;
    completed(&outcome);
    assert_eq!(outcome.summary.files_uploaded, 501);
    let log = cloud.server.requests();
    // The precondition probe asks for two refusals (that is what it proves); nothing else
    // may be refused, and a second process does not probe at all (see above).
    let probe_refusals = log
        .iter()
        .filter(|l| l.status == 412 && l.path.contains("probe"))
        .count();
    assert_eq!(probe_refusals, 2);
    let refused: Vec<&Logged> = log
        .iter()
        .filter(|l| l.status >= 400 && !l.path.contains("probe"))
        .collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    let bulk = count(&log, "POST", "/remote.php/dav/bulk");
    assert!(
        bulk >= 5,
        "500 small files in batches of at most 100: {bulk}"
    );
    let small_puts = log
        .iter()
        .filter(|l| l.method == "PUT" && l.path.contains("small-"))
        .count();
    assert_eq!(small_puts, 0, "no small file went up alone");
    let listed_new_folders = log
        .iter()
        .filter(|l| l.method == "PROPFIND" && l.path.contains("/notes"))
        .count();
    assert_eq!(
        listed_new_folders, 0,
        "the folders the run had just made were not listed before its batches"
    );
    assert!(cloud.server_files()["video.bin"] == big);
}

#[tokio::test]
async fn files_dated_before_1970_or_after_2262_go_up_once_by_bulk_and_by_put() {
    // Nextcloud's MtimeSanitizer refuses a time before the second day of 1970 (the whole
    // upload, or the bulk part); such a file goes without one and is not sent again.
    for bulk_upload in [true, false] {
        let features = Features {
            bulk_upload,
            ..Features::default()
        };
        let cloud = Cloud::with_features(Mode::TwoWay, EngineOptions::default(), features).await;
        let dated = [
            ("old.txt", UNIX_EPOCH - Duration::from_secs(3_600)),
            ("epoch.txt", UNIX_EPOCH),
            (
                "far.txt",
                UNIX_EPOCH + Duration::from_secs(500 * 365 * 24 * 3_600),
            ),
        ];
        for (name, time) in dated {
            let file = write(cloud.local.path(), name, name.as_bytes());
            let handle = std::fs::File::options().write(true).open(&file).unwrap();
            handle.set_modified(time).unwrap();
        }
        let first = cloud.sync().await;
        completed(&first);
        assert_eq!(
            first.summary.files_uploaded, 3,
            "bulk {bulk_upload}: {first:?}"
        );
        same_files(&cloud.local_files(), &cloud.server_files(), "dated");
        let again = cloud.sync().await;
        assert_eq!(
            again.summary,
            Default::default(),
            "bulk {bulk_upload}: {again:?}"
        );
    }
}

/// A file deleted on the phone is deleted on Nextcloud, which keeps it in its trash bin: the
/// summary says so (CLI, app), and the file is there to restore.
#[tokio::test]
async fn a_delete_sent_to_nextcloud_is_said_to_be_in_its_trash_bin() {
    let cloud = Cloud::new(Mode::TwoWay, EngineOptions::default()).await;
    cloud.server.write("old.txt", b"not needed any more");
    cloud.server.write("kept.txt", b"kept");
    completed(&cloud.sync().await);
    std::fs::remove_file(cloud.local.path().join("old.txt")).unwrap();
    let outcome = cloud.sync().await;
    completed(&outcome);
    assert_eq!(outcome.summary.deleted_remote, 1, "{outcome:?}");
    assert!(outcome.summary.deleted_remote_to_trash, "{outcome:?}");
    let binned: Vec<String> = cloud
        .server
        .trash()
        .into_iter()
        .map(|t| t.original_location)
        .collect();
    assert_eq!(binned, ["old.txt"]);
}

/// Browsing a Nextcloud folder: folders first, each with its size (`oc:size`, the total of
/// what it holds), then files with theirs; a new folder made from the browser is there.
#[tokio::test]
async fn browsing_shows_folders_first_with_their_sizes() {
    let cloud = Cloud::new(Mode::Download, EngineOptions::default()).await;
    cloud.server.write("Photos/2024/a.jpg", &[1; 300]);
    cloud.server.write("Photos/b.jpg", &[2; 200]);
    cloud.server.write("notes.txt", b"notes");
    cloud.server.write("Archive/old.zip", &[3; 1000]);
    let remote = cloud.engine.pair(cloud.pair).await.unwrap().remote_id;

    let top = cloud.engine.browse(remote, "").await.unwrap();
    let seen: Vec<(&str, bool, Option<u64>)> = top
        .iter()
        .map(|b| (b.name.as_str(), b.is_dir, b.size))
        .collect();
    assert_eq!(
        seen,
        [
            ("Archive", true, Some(1000)),
            ("Photos", true, Some(500)),
            ("notes.txt", false, Some(5)),
        ]
    );
    let photos = cloud.engine.browse(remote, "/Photos/").await.unwrap();
    assert_eq!(photos[0].path, "Photos/2024");

    cloud
        .engine
        .make_remote_folder(remote, "Photos/2025")
        .await
        .unwrap();
    let photos = cloud.engine.browse(remote, "Photos").await.unwrap();
    assert!(photos.iter().any(|b| b.path == "Photos/2025" && b.is_dir));
    let outside = cloud.engine.browse(remote, "../etc").await.unwrap_err();
    assert_eq!(outside.failure_kind(), FailureKind::InvalidInput);
}

/// The account's folders a run asked the server to list, as paths from the account's root
/// (`""` for the root, `a/b/` for a folder).
fn listed_folders(log: &[Logged]) -> Vec<String> {
    let base = format!("/remote.php/dav/files/{USER}/");
    let mut folders: Vec<String> = log
        .iter()
        .filter(|l| l.method == "PROPFIND")
        .filter_map(|l| l.path.strip_prefix(&base).map(str::to_owned))
        .collect();
    folders.sort();
    folders
}

#[tokio::test]
async fn a_run_lists_only_the_folders_whose_etag_changed_and_a_quiet_server_costs_one_request() {
    let cloud = Cloud::new(Mode::TwoWay, EngineOptions::default()).await;
    for path in ["a/b/c/deep.txt", "a/x.txt", "d/y.txt", "z.txt"] {
        cloud.server.write(path, path.as_bytes());
    }
    completed(&cloud.sync().await);
    same_files(&cloud.local_files(), &cloud.server_files(), "first sync");

    cloud.server.clear_requests();
    completed(&cloud.sync().await);
    let log = cloud.server.requests();
    assert_eq!(
        log.len(),
        1,
        "nothing changed: one Depth: 0 request of the root: {log:?}"
    );
    assert_eq!(listed_folders(&log), [""]);

    // Another client adds a file three folders down: only the folders above it are listed.
    cloud.server.write("a/b/c/new.txt", b"new");
    cloud.server.clear_requests();
    let outcome = cloud.sync().await;
    completed(&outcome);
    assert_eq!(outcome.summary.files_downloaded, 1);
    assert_eq!(
        std::fs::read(cloud.local.path().join("a/b/c/new.txt")).unwrap(),
        b"new"
    );
    assert_eq!(
        listed_folders(&cloud.server.requests()),
        ["", "", "a/", "a/b/", "a/b/c/"],
        "the root twice (Depth: 0, then Depth: 1), then the changed folders; never d/"
    );

    // A deletion in a folder the record holds is seen, and so is a deleted folder.
    assert!(cloud.server.remove("d/y.txt"));
    assert!(cloud.server.remove("a/b"));
    completed(&cloud.sync().await);
    same_files(&cloud.local_files(), &cloud.server_files(), "after deletes");
    assert!(!cloud.local.path().join("a/b").exists());

    // A run's own upload changes the root's ETag: the next run walks down to it once, and
    // the one after is one request again.
    write(cloud.local.path(), "a/x.txt", b"edited here");
    let outcome = cloud.sync().await;
    completed(&outcome);
    assert_eq!(outcome.summary.files_uploaded, 1);
    completed(&cloud.sync().await);
    cloud.server.clear_requests();
    completed(&cloud.sync().await);
    assert_eq!(listed_folders(&cloud.server.requests()), [""]);
    same_files(&cloud.local_files(), &cloud.server_files(), "in the end");
}
