//! What a run learns about a server outlives the process: the next one (each CLI run, each
//! app start) walks a server that refused `PROPFIND Depth: infinity` at once, without asking
//! again or probing its properties, which saves it two round trips before its first listing.
//! Shown on a real Apache mod_dav, whose access log lists every request it answered.

mod common;

use tidesync_engine::{Engine, EngineOptions, JobState, Mode};
use tidesync_testkit::apache::{APACHE_PASSWORD, APACHE_USER, ApacheServer};
use tidesync_webdav::Credentials;

/// The PROPFINDs in `requests`, as `(depth, path)`.
fn propfinds(requests: &[String]) -> Vec<(String, String)> {
    requests
        .iter()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            (fields.next()? == "PROPFIND")
                .then(|| Some((fields.next()?.to_owned(), fields.next()?.to_owned())))?
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_walks_a_server_that_refused_depth_infinity_at_once() {
    let apache = ApacheServer::start().await.unwrap();
    common::apache_write(&apache, "a/one.txt", "one");
    common::apache_write(&apache, "a/b/two.txt", "two");
    let (data, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let (engine, remote, pair) = common::apache_pair(
        data.path(),
        apache.url(),
        None,
        local.path(),
        Mode::Download,
    )
    .await;
    let first = engine
        .wait(engine.start(pair).await.unwrap())
        .await
        .unwrap();
    assert_eq!(first.state, JobState::Completed, "{first:?}");
    let learnt = propfinds(&apache.requests().unwrap());
    assert!(
        learnt.iter().any(|(depth, _)| depth == "infinity"),
        "the first process asked for Depth: infinity and learnt it is refused: {learnt:?}"
    );
    engine.shutdown().await;
    drop(engine);

    common::apache_write(&apache, "a/b/c/three.txt", "three");
    let before = apache.requests().unwrap().len();
    let engine = Engine::open(data.path(), EngineOptions::default())
        .await
        .unwrap();
    engine.set_credentials(remote, Credentials::new(APACHE_USER, APACHE_PASSWORD));
    let second = engine
        .wait(engine.start(pair).await.unwrap())
        .await
        .unwrap();
    assert_eq!(second.state, JobState::Completed, "{second:?}");
    assert_eq!(second.summary.files_downloaded, 1, "the new file came down");
    assert_eq!(
        std::fs::read_to_string(local.path().join("a/b/c/three.txt")).unwrap(),
        "three"
    );
    let logged = apache
        .requests_once(|r| propfinds(&r[before..]).len() >= 4)
        .await
        .unwrap();
    let walked = propfinds(&logged[before..]);
    assert!(
        walked.iter().all(|(depth, _)| depth == "1"),
        "the second process only walked, Depth: 1: {walked:?}"
    );
    assert_eq!(walked.len(), 4, "one listing per folder: {walked:?}");
    engine.shutdown().await;
}
