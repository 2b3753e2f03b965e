//! Requests per uploaded file. On a generic WebDAV server: a `PUT` to a hidden name and a
//! `MOVE` into place, plus a `PROPFIND` for the new ETag only until an upload showed that the
//! server's moved files keep the ETag their `PUT` answered. Shown on the in-process
//! `dav-server` (whose ETags come from inode, size and time, so a move keeps them), with the
//! requests it answered counted; the ETags recorded without asking are proven right by the
//! next two-way sync, which finds nothing to do. On Apache's mod_dav_fs, whose `PUT` is
//! atomic: one `PUT` and the `PROPFIND` its answer makes necessary, counted in its access log.

mod common;

use tidesync_engine::{Engine, EngineOptions, JobState, Mode, PlainHttp, Summary};
use tidesync_testkit::FaultyDav;
use tidesync_testkit::apache::ApacheServer;

const FILES: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_stop_asking_for_etags_once_a_move_kept_one() {
    let root = tempfile::tempdir().unwrap();
    let (remote, local, data) = (
        root.path().join("remote"),
        root.path().join("local"),
        root.path().join("data"),
    );
    std::fs::create_dir_all(&remote).unwrap();
    std::fs::create_dir_all(local.join("docs")).unwrap();
    for i in 0..FILES {
        std::fs::write(local.join(format!("docs/{i}.txt")), format!("file {i}")).unwrap();
    }
    let server = FaultyDav::serve(&remote).await.unwrap();
    let options = EngineOptions {
        // One file at a time: the first upload learns, every later one can use it.
        transfers: 1,
        ..EngineOptions::default()
    };
    let engine = Engine::open(&data, options).await.unwrap();
    let id = engine
        .add_remote("dav", &server.url(), None, PlainHttp::LoopbackOnly)
        .await
        .unwrap();
    let pair = engine
        .ensure_pair(id, "", &local, Mode::TwoWay)
        .await
        .unwrap();

    let up = engine
        .wait(engine.start(pair).await.unwrap())
        .await
        .unwrap();
    assert_eq!(up.state, JobState::Completed, "{up:?}");
    assert_eq!(up.summary.files_uploaded, FILES as u64);
    let requests = server.requests();
    let count = |method: &str, file: bool| {
        requests
            .iter()
            .filter(|(m, path)| m == method && path.ends_with(".txt") == file)
            .count()
    };
    assert_eq!(count("PUT", true), FILES, "{requests:?}");
    assert_eq!(count("MOVE", true), FILES, "{requests:?}");
    assert_eq!(
        count("PROPFIND", true),
        1,
        "only the first upload asked for its ETag: {requests:?}"
    );

    let again = engine
        .wait(engine.start(pair).await.unwrap())
        .await
        .unwrap();
    assert_eq!(again.state, JobState::Completed, "{again:?}");
    assert_eq!(
        again.summary,
        Summary::default(),
        "the ETags recorded are the server's: nothing to do"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_apache_a_small_file_goes_up_in_one_put() {
    let apache = ApacheServer::start().await.unwrap();
    let (local, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for i in 0..FILES {
        std::fs::write(local.path().join(format!("{i}.txt")), format!("file {i}")).unwrap();
    }
    let (engine, _, pair) =
        common::apache_pair(data.path(), apache.url(), None, local.path(), Mode::TwoWay).await;
    let up = engine
        .wait(engine.start(pair).await.unwrap())
        .await
        .unwrap();
    assert_eq!(up.state, JobState::Completed, "{up:?}");
    assert_eq!(up.summary.files_uploaded, FILES as u64);
    for i in 0..FILES {
        let served = std::fs::read_to_string(apache.root().join(format!("{i}.txt"))).unwrap();
        assert_eq!(served, format!("file {i}"));
    }
    let requests = apache
        .requests_once(|r| r.iter().filter(|l| l.starts_with("PROPFIND")).count() > FILES)
        .await
        .unwrap();
    let of_files = |method: &str| {
        requests
            .iter()
            .filter(|r| r.starts_with(method) && r.contains(".txt "))
            .count()
    };
    assert_eq!(of_files("PUT"), FILES, "one PUT a file: {requests:#?}");
    assert_eq!(of_files("MOVE"), 0, "nothing to move: {requests:#?}");
    assert_eq!(of_files("PROPFIND"), FILES, "its ETag: {requests:#?}");

    let again = engine
        .wait(engine.start(pair).await.unwrap())
        .await
        .unwrap();
    assert_eq!(again.summary, Summary::default(), "{again:?}");
    engine.shutdown().await;
}
