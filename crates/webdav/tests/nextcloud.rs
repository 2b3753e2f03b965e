//! The client against the test kit's Nextcloud emulation (written from Nextcloud's developer
//! documentation; no Nextcloud runs here): what it learns from `status.php`, the capabilities
//! and a precondition probe; atomic single `PUT`s; chunked upload v2 with resume, quota and
//! expiry; the `Depth: infinity` that Sabre silently answers as `Depth: 1`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tidesync_testkit::NextcloudServer;
use tidesync_testkit::nextcloud::{ACCOUNT_PASSWORD, Logged, USER, grant_form};
use tidesync_webdav::{
    Client, Credentials, Depth, EntryKind, LoginError, LoginFlow, MIN_CHUNK_SIZE, Options,
    Precondition, RemotePath, ServerKind,
};
use tokio_util::sync::CancellationToken;

fn path(p: &str) -> RemotePath {
    RemotePath::parse(p).unwrap()
}

fn client(server: &NextcloudServer, password: &str) -> Client {
    Client::new(
        &server.dav_url(),
        Some(Credentials::new(USER, password)),
        Options::default(),
    )
    .unwrap()
}

fn count(log: &[Logged], method: &str, under: &str) -> usize {
    log.iter()
        .filter(|l| l.method == method && l.path.starts_with(under))
        .count()
}

const PROBE: &str = ".tidesync-up-probe";

#[tokio::test]
async fn abilities_are_learnt_once_from_status_capabilities_and_a_probe() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    let abilities = client.abilities(&path(PROBE)).await.unwrap();
    assert!(abilities.atomic_put, "the emulation honours preconditions");
    let chunking = abilities.chunking.expect("dav.chunking is announced");
    assert_eq!(
        chunking.uploads.as_str(),
        format!("{}remote.php/dav/uploads/{USER}/", server.url())
    );
    assert_eq!(chunking.max_chunk_size, Some(100 * 1024 * 1024));
    assert_eq!(
        abilities.bulk_upload.unwrap().as_str(),
        format!("{}remote.php/dav/bulk", server.url())
    );
    assert_eq!(client.quirks().server, Some(ServerKind::Nextcloud));
    assert!(server.files().is_empty(), "the probe is deleted");

    let log = server.requests();
    assert_eq!(count(&log, "GET", "/status.php"), 1);
    assert_eq!(count(&log, "GET", "/ocs/v2.php/cloud/capabilities"), 1);
    assert_eq!(count(&log, "PUT", "/remote.php/dav/files/"), 3);
    server.clear_requests();
    client.abilities(&path(PROBE)).await.unwrap();
    assert!(server.requests().is_empty(), "learnt once per client");
}

#[tokio::test]
async fn generic_servers_are_not_asked_anything() {
    let dir = tempfile::tempdir().unwrap();
    let server = tidesync_testkit::DavServer::serve(dir.path())
        .await
        .unwrap();
    let client = Client::new(&server.url(), None, Options::default()).unwrap();
    let abilities = client.abilities(&path(PROBE)).await.unwrap();
    assert_eq!(abilities, Default::default());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_server_in_maintenance_is_asked_again_later() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    server.set_maintenance(true);
    assert_eq!(
        client.abilities(&path(PROBE)).await.unwrap(),
        Default::default()
    );
    assert_eq!(client.quirks().abilities, None);
    let once = Options {
        retry: tidesync_webdav::RetryPolicy {
            attempts: 1,
            ..Default::default()
        },
        ..Options::default()
    };
    let impatient = Client::new(
        &server.dav_url(),
        Some(Credentials::new(USER, server.issue_app_password())),
        once,
    )
    .unwrap();
    let busy = impatient
        .list(&RemotePath::root(), Depth::One)
        .await
        .unwrap_err();
    assert!(
        matches!(busy, tidesync_webdav::Error::Maintenance { .. }) && busy.is_retryable(),
        "{busy}"
    );
    assert!(busy.to_string().contains("maintenance mode"), "{busy}");
    server.set_maintenance(false);
    assert!(client.abilities(&path(PROBE)).await.unwrap().atomic_put);
}

#[tokio::test]
async fn depth_infinity_answered_as_depth_one_is_noticed_and_walked() {
    // Sabre's default, kept by older servers (and ownCloud): infinity quietly clamped to 1.
    let server = NextcloudServer::with_features(tidesync_testkit::nextcloud::Features {
        depth_infinity: false,
        ..Default::default()
    })
    .await
    .unwrap();
    server.write("a/b/deep.txt", b"deep");
    server.write("a/top.txt", b"top");
    server.write("c/empty-sibling/x", b"x");
    server.write("root.txt", b"root");
    let client = client(&server, &server.issue_app_password());
    let listing = client
        .list(&RemotePath::root(), Depth::Infinity)
        .await
        .unwrap();
    let mut names: Vec<_> = listing
        .entries
        .iter()
        .map(|e| e.path.as_str().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "",
            "a",
            "a/b",
            "a/b/deep.txt",
            "a/top.txt",
            "c",
            "c/empty-sibling",
            "c/empty-sibling/x",
            "root.txt"
        ]
    );
    assert_eq!(client.quirks().depth_infinity, Some(false));
}

#[tokio::test]
async fn a_single_put_honours_preconditions_and_says_what_it_made() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    let file = path("note.txt");
    let made = client
        .put_bytes(
            &file,
            Bytes::from_static(b"one"),
            &Precondition::Absent,
            Some(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        )
        .await
        .unwrap();
    let listed = client.stat(&file, EntryKind::File).await.unwrap().unwrap();
    assert_eq!(made.etag, listed.etag, "OC-ETag is the listed ETag");
    assert_eq!(
        made.file_id, listed.file_id,
        "OC-FileId names the listed oc:fileid"
    );
    assert!(made.mtime_accepted);
    assert_eq!(
        listed.modified.unwrap(),
        std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    );

    let again = client
        .put_bytes(
            &file,
            Bytes::from_static(b"two"),
            &Precondition::Absent,
            None,
        )
        .await
        .unwrap_err();
    assert!(again.is_precondition_failed(), "{again}");
    server.write("note.txt", b"changed on the server");
    let stale = client
        .put_bytes(
            &file,
            Bytes::from_static(b"two"),
            &Precondition::Matches(made.etag.unwrap()),
            None,
        )
        .await
        .unwrap_err();
    assert!(stale.is_precondition_failed(), "{stale}");
    assert_eq!(&server.files()["note.txt"][..], b"changed on the server");
}

/// Sends the chunks and assembles them, as the engine does (it checks the files in between).
async fn chunked(
    client: &Client,
    target: &RemotePath,
    local: &std::path::Path,
    id: &str,
    size: u64,
    precondition: &Precondition,
    sent: tidesync_webdav::SentBytes,
) -> Result<tidesync_webdav::Uploaded, tidesync_webdav::Error> {
    let sent = client.put_chunks(target, local, id, size, sent).await?;
    client
        .assemble_chunks(target, local, id, &sent, precondition, None)
        .await
}

fn big_file(dir: &std::path::Path, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let local = dir.join("big.bin");
    std::fs::write(&local, &data).unwrap();
    (local, data)
}

/// What an earlier, interrupted run left: the upload folder `id` for `target` with `chunks`.
async fn leave_chunks(
    server: &NextcloudServer,
    password: &str,
    id: &str,
    target: &str,
    chunks: &[(u32, &[u8])],
) {
    let http = reqwest::Client::new();
    let folder = format!("{}remote.php/dav/uploads/{USER}/{id}", server.url());
    let destination = format!("{}{target}", server.dav_url());
    let made = http
        .request(reqwest::Method::from_bytes(b"MKCOL").unwrap(), &folder)
        .basic_auth(USER, Some(password))
        .header("Destination", &destination)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);
    for (number, data) in chunks {
        let put = http
            .put(format!("{folder}/{number:05}"))
            .basic_auth(USER, Some(password))
            .header("Destination", &destination)
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 201);
    }
}

#[tokio::test]
async fn a_chunked_upload_resumes_with_only_the_missing_chunks() {
    let server = NextcloudServer::start().await.unwrap();
    let password = server.issue_app_password();
    let client = client(&server, &password);
    client.abilities(&path(PROBE)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let chunk = MIN_CHUNK_SIZE as usize;
    let (local, data) = big_file(dir.path(), 3 * chunk + 1234);
    let target = path("big.bin");

    // An earlier run sent chunk 1 whole and chunk 3 cut short, then stopped.
    leave_chunks(
        &server,
        &password,
        "t-1",
        "big.bin",
        &[(1, &data[..chunk]), (3, &data[2 * chunk..2 * chunk + 10])],
    )
    .await;
    assert!(
        server.files().is_empty(),
        "nothing is visible before assembly"
    );

    server.clear_requests();
    let total = Arc::new(AtomicU64::new(0));
    let counted = total.clone();
    let uploaded = chunked(
        &client,
        &target,
        &local,
        "t-1",
        MIN_CHUNK_SIZE,
        &Precondition::Absent,
        Arc::new(move |n| {
            counted.store(n, Ordering::Relaxed);
        }),
    )
    .await
    .unwrap();
    let log = server.requests();
    let chunk_puts: Vec<_> = log
        .iter()
        .filter(|l| l.method == "PUT")
        .map(|l| l.path.clone())
        .collect();
    let folder = format!("/remote.php/dav/uploads/{USER}/t-1");
    assert_eq!(
        chunk_puts,
        [2, 3, 4].map(|n| format!("{folder}/{n:05}")),
        "chunk 1 is not sent again; the short chunk 3 is"
    );
    assert_eq!(count(&log, "MOVE", "/remote.php/dav/uploads/"), 1);
    assert_eq!(
        total.load(Ordering::Relaxed),
        data.len() as u64,
        "progress counts the chunk kept"
    );
    assert_eq!(&server.files()["big.bin"][..], &data[..]);
    assert!(
        server.pending_uploads().is_empty(),
        "assembly removes the upload folder"
    );
    let listed = client
        .stat(&target, EntryKind::File)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(uploaded.etag, listed.etag);
    assert_eq!(uploaded.file_id, listed.file_id);
}

#[tokio::test]
async fn a_full_quota_refuses_the_first_chunk_and_an_expired_upload_starts_over() {
    let server = NextcloudServer::start().await.unwrap();
    let password = server.issue_app_password();
    let client = client(&server, &password);
    client.abilities(&path(PROBE)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (local, data) = big_file(dir.path(), MIN_CHUNK_SIZE as usize + 10);
    let target = path("big.bin");
    let quiet: tidesync_webdav::SentBytes = Arc::new(|_| {});

    server.set_quota(Some(MIN_CHUNK_SIZE));
    server.clear_requests();
    let full = chunked(
        &client,
        &target,
        &local,
        "q-1",
        MIN_CHUNK_SIZE,
        &Precondition::Absent,
        quiet.clone(),
    )
    .await
    .unwrap_err();
    assert!(full.is_insufficient_storage(), "{full}");
    assert_eq!(
        count(&server.requests(), "PUT", "/remote.php/dav/uploads/"),
        1,
        "refused at the first chunk"
    );
    client.abort_chunked("q-1").await.unwrap();
    assert!(server.pending_uploads().is_empty());
    server.set_quota(None);

    // A chunk went up, then the upload was left for more than a day: the server expired it.
    leave_chunks(
        &server,
        &password,
        "e-1",
        "big.bin",
        &[(1, &data[..MIN_CHUNK_SIZE as usize])],
    )
    .await;
    server.advance_clock(Duration::from_secs(25 * 60 * 60));
    server.clear_requests();
    chunked(
        &client,
        &target,
        &local,
        "e-1",
        MIN_CHUNK_SIZE,
        &Precondition::Absent,
        quiet,
    )
    .await
    .unwrap();
    assert_eq!(
        count(&server.requests(), "PUT", "/remote.php/dav/uploads/"),
        2,
        "every chunk again"
    );
    assert_eq!(&server.files()["big.bin"][..], &data[..]);
}

#[tokio::test]
async fn assembly_honours_if_match_and_a_revoked_app_password_is_an_auth_failure() {
    let server = NextcloudServer::start().await.unwrap();
    let password = server.issue_app_password();
    let client = client(&server, &password);
    client.abilities(&path(PROBE)).await.unwrap();
    server.write("big.bin", b"old");
    let dir = tempfile::tempdir().unwrap();
    let (local, _) = big_file(dir.path(), 100);
    let stale = chunked(
        &client,
        &path("big.bin"),
        &local,
        "m-1",
        MIN_CHUNK_SIZE,
        &Precondition::Matches("\"not-the-etag\"".into()),
        Arc::new(|_| {}),
    )
    .await
    .unwrap_err();
    assert!(stale.is_precondition_failed(), "{stale}");
    assert_eq!(&server.files()["big.bin"][..], b"old");

    server.revoke_app_passwords();
    let revoked = client
        .list(&RemotePath::root(), Depth::One)
        .await
        .unwrap_err();
    assert!(revoked.is_auth(), "{revoked}");
}

/// Plays the browser's part of a Login Flow: opens the page, then posts its form with the
/// account's credentials, as the person would on the server's own page.
async fn grant_in_browser(server: &NextcloudServer, login_url: &str) {
    let http = reqwest::Client::new();
    let page = http.get(login_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("<form"));
    let granted = http
        .post(format!("{}index.php/login/v2/grant", server.url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(grant_form(login_url, USER, ACCOUNT_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status().as_u16(), 200);
}

#[tokio::test]
async fn login_flow_v2_yields_an_app_password_that_removal_revokes() {
    let server = NextcloudServer::start().await.unwrap();
    let flow = LoginFlow::start(&server.url(), Options::default())
        .await
        .unwrap();
    assert!(
        flow.login_url
            .as_str()
            .starts_with(&format!("{}index.php/login/v2/flow/", server.url())),
        "{}",
        flow.login_url
    );
    assert!(flow.poll().await.unwrap().is_none(), "not granted yet");
    grant_in_browser(&server, flow.login_url.as_str()).await;
    let signed_in = flow
        .wait(Duration::from_millis(20), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(signed_in.dav_url.as_str(), server.dav_url());
    assert_eq!(signed_in.credentials.user, USER);
    assert_eq!(server.app_passwords(), 1);
    assert!(
        flow.poll().await.unwrap().is_none(),
        "the credentials come once"
    );

    let account = Client::new(
        signed_in.dav_url.as_str(),
        Some(signed_in.credentials.clone()),
        Options::default(),
    )
    .unwrap();
    account.list(&RemotePath::root(), Depth::One).await.unwrap();
    account.revoke_app_password().await.unwrap();
    assert_eq!(server.app_passwords(), 0);
    let refused = account
        .list(&RemotePath::root(), Depth::One)
        .await
        .unwrap_err();
    assert!(refused.is_auth(), "{refused}");
    account.revoke_app_password().await.unwrap();
}

#[tokio::test]
async fn a_login_can_be_cancelled_and_a_plain_server_has_no_login_flow() {
    let server = NextcloudServer::start().await.unwrap();
    let flow = LoginFlow::start(&server.dav_url(), Options::default())
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let stopped = flow.wait(Duration::from_millis(20), &cancel).await;
    assert!(matches!(stopped, Err(LoginError::Cancelled)), "{stopped:?}");

    let dir = tempfile::tempdir().unwrap();
    let plain = tidesync_testkit::DavServer::serve(dir.path())
        .await
        .unwrap();
    let refused = LoginFlow::start(&plain.url(), Options::default()).await;
    assert!(
        matches!(refused, Err(LoginError::NotOffered(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_bulk_upload_reports_each_file_and_its_failures() {
    let server = NextcloudServer::start().await.unwrap();
    server.write("Photos/.keep", b"");
    let client = Client::new(
        &format!("{}Photos/", server.dav_url()),
        Some(Credentials::new(USER, server.issue_app_password())),
        Options::default(),
    )
    .unwrap();
    client.abilities(&path(PROBE)).await.unwrap();
    let file = |p: &str, data: &'static [u8]| tidesync_webdav::BulkFile {
        path: path(p),
        data: Bytes::from_static(data),
        mtime: Some(std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000)),
    };
    server.clear_requests();
    let results = client
        .put_bulk(&[
            file("a.txt", b"a"),
            file("no-such-folder/b.txt", b"b"),
            file("c d.txt", b"c\r\n--not-a-boundary"),
        ])
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 1, "one request for three files");
    let stored = |i: usize| match &results[i] {
        tidesync_webdav::BulkResult::Stored(uploaded) => uploaded.clone(),
        refused => panic!("{i}: {refused:?}"),
    };
    let listed = client
        .stat(&path("a.txt"), EntryKind::File)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored(0).etag,
        listed.etag,
        "the answer's ETag is the listed one"
    );
    assert_eq!(stored(0).file_id, listed.file_id);
    assert_eq!(
        listed.modified.unwrap(),
        std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000)
    );
    assert!(
        matches!(&results[1], tidesync_webdav::BulkResult::Refused(_)),
        "a 200 can carry a failure: {:?}",
        results[1]
    );
    stored(2);
    let files = server.files();
    assert_eq!(&files["Photos/a.txt"][..], b"a");
    assert_eq!(&files["Photos/c d.txt"][..], b"c\r\n--not-a-boundary");
    assert!(!files.contains_key("Photos/no-such-folder/b.txt"));
}

/// A request sent as it is, with the app password: what another client (or an older
/// Tidesync) would send, to see the emulation answer it as the real server does.
async fn raw(
    server: &NextcloudServer,
    password: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("http://{}{path}", server.addr()),
        )
        .basic_auth(USER, Some(password))
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let answer = request.send().await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// One bulk part with the headers given.
fn part(boundary: &str, headers: &[(&str, String)], data: &[u8]) -> Vec<u8> {
    let mut out = format!("--{boundary}\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// A bulk upload sent as it is.
async fn post_bulk(
    server: &NextcloudServer,
    password: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, String) {
    raw(
        server,
        password,
        "POST",
        "/remote.php/dav/bulk",
        headers,
        body,
    )
    .await
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn bulk_parts_without_a_correct_x_file_md5_are_refused_as_the_real_parser_does() {
    let server = NextcloudServer::start().await.unwrap();
    let password = server.issue_app_password();
    let b = "B0undary";
    let content_type = [("Content-Type", format!("multipart/related; boundary={b}"))];
    let headers = |p: &str, data: &[u8], md5: Option<String>| {
        let mut h = vec![
            ("X-File-Path", format!("/{p}")),
            ("Content-Length", data.len().to_string()),
            ("OC-Checksum", "SHA1:0".to_owned()),
        ];
        if let Some(md5) = md5 {
            h.push(("X-File-MD5", md5));
        }
        h
    };
    // What Tidesync sent before: OC-Checksum only. The whole request is refused.
    let mut body = part(b, &headers("a.txt", b"a", None), b"a");
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    let (status, _) = post_bulk(&server, &password, &content_type, body).await;
    assert_eq!(status, 400, "a part without X-File-MD5");
    assert!(server.files().is_empty());

    // A good part, then one whose MD5 is wrong: 400, and the first stays written, as the
    // answer's JSON says.
    let mut body = part(b, &headers("one.txt", b"1", Some(md5_hex(b"1"))), b"1");
    body.extend(part(
        b,
        &headers("two.txt", b"2", Some(md5_hex(b"3"))),
        b"2",
    ));
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    let (status, answer) = post_bulk(&server, &password, &content_type, body).await;
    assert_eq!(status, 400, "a wrong MD5");
    let written: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(written["/one.txt"]["error"], false, "{answer}");
    assert!(written.get("/two.txt").is_none(), "{answer}");
    assert_eq!(server.files().keys().collect::<Vec<_>>(), ["one.txt"]);

    // Not multipart/related: refused before any part, with Sabre's reason.
    let mixed = [("Content-Type", format!("multipart/mixed; boundary={b}"))];
    let (status, answer) = post_bulk(&server, &password, &mixed, Vec::new()).await;
    assert_eq!(status, 400);
    assert!(
        answer.contains("Content-Type must be multipart/related"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_bulk_upload_sends_what_the_real_parser_needs_and_reads_long_file_ids() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    client.abilities(&path(PROBE)).await.unwrap();
    let results = client
        .put_bulk(&[tidesync_webdav::BulkFile {
            path: path("x.txt"),
            data: Bytes::from_static(b"x"),
            mtime: Some(std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000)),
        }])
        .await
        .unwrap();
    let tidesync_webdav::BulkResult::Stored(stored) = &results[0] else {
        panic!("{results:?}");
    };
    let listed = client
        .stat(&path("x.txt"), EntryKind::File)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.file_id, listed.file_id,
        "the long form read as the id"
    );
}

#[tokio::test]
async fn a_server_that_refuses_bulk_twice_is_offered_no_third_batch() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    client.abilities(&path(PROBE)).await.unwrap();
    let bad = || tidesync_webdav::BulkFile {
        path: path("a.txt"),
        data: Bytes::from_static(b"a"),
        mtime: None,
    };
    server.refuse_bulk(true);
    for _ in 0..2 {
        let refused = client.put_bulk(&[bad()]).await.unwrap_err();
        assert!(refused.is_request_refused(), "{refused}");
    }
    assert!(client.quirks().abilities.unwrap().bulk_upload.is_none());
    let third = client.put_bulk(&[bad()]).await.unwrap_err();
    assert!(
        matches!(third, tidesync_webdav::Error::Unsupported { .. }),
        "{third}"
    );
}

#[tokio::test]
async fn the_assembly_move_carries_no_if_none_match_and_a_replace_names_its_destination() {
    let server = NextcloudServer::start().await.unwrap();
    let password = server.issue_app_password();
    let client = client(&server, &password);
    client.abilities(&path(PROBE)).await.unwrap();

    // As Tidesync sent it before: If-None-Match: * on the MOVE, which Sabre checks against
    // the `.file` itself, so it always fails.
    let uploads = format!("/remote.php/dav/uploads/{USER}/old-way");
    let destination = format!("{}new.bin", server.dav_url());
    let dest = [("Destination", destination.clone())];
    assert_eq!(
        raw(&server, &password, "MKCOL", &uploads, &dest, vec![])
            .await
            .0,
        201
    );
    let chunk = format!("{uploads}/00001");
    assert_eq!(
        raw(&server, &password, "PUT", &chunk, &dest, b"abc".to_vec())
            .await
            .0,
        201
    );
    let (status, answer) = raw(
        &server,
        &password,
        "MOVE",
        &format!("{uploads}/.file"),
        &[
            ("Destination", destination),
            ("If-None-Match", "*".into()),
            ("Overwrite", "F".into()),
        ],
        vec![],
    )
    .await;
    assert_eq!(status, 412, "{answer}");
    assert!(answer.contains("If-None-Match"), "{answer}");
    assert!(server.files().is_empty());

    // The client: a new file with Overwrite: F, then a replace with the If header.
    let dir = tempfile::tempdir().unwrap();
    let (local, data) = big_file(dir.path(), 1000);
    let made = chunked(
        &client,
        &path("new.bin"),
        &local,
        "n-1",
        300,
        &Precondition::Absent,
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    assert_eq!(&server.files()["new.bin"][..], &data[..]);
    let again = chunked(
        &client,
        &path("new.bin"),
        &local,
        "n-2",
        300,
        &Precondition::Absent,
        Arc::new(|_| {}),
    )
    .await
    .unwrap_err();
    assert!(
        again.is_precondition_failed(),
        "a new file never replaces one: {again}"
    );
    std::fs::write(&local, b"second version").unwrap();
    chunked(
        &client,
        &path("new.bin"),
        &local,
        "n-3",
        300,
        &Precondition::Matches(made.etag.clone().unwrap()),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    assert_eq!(&server.files()["new.bin"][..], b"second version");
    let moves: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|l| l.method == "MOVE")
        .collect();
    assert_eq!(moves.len(), 4);
}

#[tokio::test]
async fn a_retried_assembly_counts_only_a_file_that_is_ours() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    client.abilities(&path(PROBE)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (local, _) = big_file(dir.path(), 1000);
    let mtime = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let sent = client
        .put_chunks(&path("f.bin"), &local, "r-1", 300, Arc::new(|_| {}))
        .await
        .unwrap();
    let target = path("f.bin");
    let assemble = || {
        client.assemble_chunks(
            &target,
            &local,
            "r-1",
            &sent,
            &Precondition::Absent,
            Some(mtime),
        )
    };
    assemble().await.unwrap();
    // The same assembly again, as after an answer lost to a timeout: the folder is gone
    // and the file in place is ours (size, time).
    assemble().await.expect("the file in place is ours");
    // Another client wrote a file of the same size meanwhile: not ours.
    server.write("f.bin", &[0u8; 1000]);
    let lost = assemble().await.unwrap_err();
    assert!(lost.is_not_found(), "{lost}");
}

#[tokio::test]
async fn a_refusal_carries_the_servers_reason() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("rules");
    std::fs::write(&local, b"deny from all").unwrap();
    let refused = client
        .put_file(&path(".htaccess"), &local, &Precondition::Absent, None)
        .await
        .unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(
        refused.server_message(),
        Some("\".htaccess\" is a forbidden file or folder name.")
    );
    assert!(
        refused
            .to_string()
            .contains("forbidden file or folder name"),
        "{refused}"
    );
}

#[tokio::test]
async fn after_a_401_the_client_sends_nothing_more_for_a_while() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    server.revoke_app_passwords();
    let first = client
        .list(&RemotePath::root(), Depth::One)
        .await
        .unwrap_err();
    assert!(first.is_auth(), "{first}");
    // Whatever else the client is asked now (a retry, another worker's request) is refused
    // here, not sent: each wrong password counts toward the server's brute-force protection.
    for _ in 0..5 {
        let again = client
            .stat(&path("a.txt"), EntryKind::File)
            .await
            .unwrap_err();
        assert!(again.is_auth(), "{again}");
    }
    assert_eq!(server.requests().len(), 1, "{:?}", server.requests());
}

#[tokio::test]
async fn the_session_cookie_spares_every_later_request_a_password_check() {
    let server = NextcloudServer::start().await.unwrap();
    server.write("a.txt", b"a");
    let account = client(&server, ACCOUNT_PASSWORD);
    for _ in 0..20 {
        account
            .stat(&path("a.txt"), EntryKind::File)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(server.password_checks(), 1, "one login, then the session");

    // A revoked app password ends its sessions too.
    let password = server.issue_app_password();
    let app = client(&server, &password);
    app.stat(&path("a.txt"), EntryKind::File).await.unwrap();
    server.revoke_app_passwords();
    let revoked = app.stat(&path("a.txt"), EntryKind::File).await.unwrap_err();
    assert!(revoked.is_auth(), "{revoked}");
}

#[tokio::test]
async fn our_own_files_leave_nothing_in_the_trash_bin_and_the_users_stay_there() {
    let server = NextcloudServer::start().await.unwrap();
    server.write("Docs/mine.txt", b"the user's");
    server.write("Docs/.tidesync-up-x", b"ours");
    server.write("Docs/keep.txt", b"keep");
    let client = Client::new(
        &format!("{}Docs/", server.dav_url()),
        Some(Credentials::new(USER, server.issue_app_password())),
        Options::default(),
    )
    .unwrap();
    // The probe goes in the trash bin and out of it again.
    client.abilities(&path(".tidesync-up-probe")).await.unwrap();
    client.delete_own(&path(".tidesync-up-x")).await.unwrap();
    client
        .delete(&path("mine.txt"), EntryKind::File, None)
        .await
        .unwrap();
    let trash: Vec<String> = server
        .trash()
        .into_iter()
        .map(|item| item.original_location)
        .collect();
    assert_eq!(
        trash,
        ["Docs/mine.txt"],
        "only the user's file can be restored"
    );
}

#[tokio::test]
async fn nextcloud_answers_depth_infinity_in_full_and_is_not_walked() {
    let server = NextcloudServer::start().await.unwrap();
    server.write("a/b/deep.txt", b"deep");
    server.write("root.txt", b"root");
    let client = client(&server, &server.issue_app_password());
    let listing = client
        .list(&RemotePath::root(), Depth::Infinity)
        .await
        .unwrap();
    assert_eq!(listing.entries.len(), 5, "{:?}", listing.entries);
    // The root only (the first listing also asks it which properties it has): no walk.
    assert!(
        server
            .requests()
            .iter()
            .all(|l| l.path == format!("/remote.php/dav/files/{USER}/")),
        "{:?}",
        server.requests()
    );
    assert_eq!(client.quirks().depth_infinity, Some(true));
}

#[tokio::test]
async fn a_locked_file_is_423_with_the_servers_words() {
    let server = NextcloudServer::start().await.unwrap();
    server.write("report.odt", b"v1");
    let client = client(&server, &server.issue_app_password());
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("report.odt");
    std::fs::write(&local, b"v2").unwrap();
    server.lock_file("report.odt");
    let refused = client
        .put_file(&path("report.odt"), &local, &Precondition::None, None)
        .await
        .unwrap_err();
    assert!(refused.is_locked(), "{refused}");
    assert_eq!(refused.server_message(), Some("\"report.odt\" is locked"));
    server.unlock_file("report.odt");
    client
        .put_file(&path("report.odt"), &local, &Precondition::None, None)
        .await
        .unwrap();
    assert_eq!(&server.files()["report.odt"][..], b"v2");
}

#[tokio::test]
async fn names_the_server_reserves_are_refused_with_its_reason() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("data");
    std::fs::write(&local, b"data").unwrap();
    for (name, reason) in [
        ("movie.filepart", "\".filepart\" is a forbidden file type."),
        ("Backup.PART", "\".part\" is a forbidden file type."),
        (
            ".htaccess",
            "\".htaccess\" is a forbidden file or folder name.",
        ),
    ] {
        let refused = client
            .put_file(&path(name), &local, &Precondition::Absent, None)
            .await
            .unwrap_err();
        assert_eq!(refused.status().map(|s| s.as_u16()), Some(400), "{name}");
        assert_eq!(refused.server_message(), Some(reason), "{name}");
    }
    assert!(server.files().is_empty());
}

#[tokio::test]
async fn an_assembly_whose_chunks_do_not_add_up_is_refused() {
    let server = NextcloudServer::start().await.unwrap();
    let password = server.issue_app_password();
    let uploads = format!("/remote.php/dav/uploads/{USER}/short");
    let destination = format!("{}short.bin", server.dav_url());
    let dest = [("Destination", destination.clone())];
    raw(&server, &password, "MKCOL", &uploads, &dest, vec![]).await;
    let chunk = format!("{uploads}/1");
    raw(&server, &password, "PUT", &chunk, &dest, b"12345".to_vec()).await;
    let (status, answer) = raw(
        &server,
        &password,
        "MOVE",
        &format!("{uploads}/.file"),
        &[
            ("Destination", destination),
            ("OC-Total-Length", "9".into()),
        ],
        vec![],
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("Chunks on server do not sum up to 9 but to 5 bytes"),
        "{answer}"
    );
    assert!(server.files().is_empty());
}

#[tokio::test]
async fn a_file_keeps_its_etag_when_bulk_rewrites_it_in_place_at_the_same_size_and_time() {
    // Local storage's ETag is md5(mtime, inode, device, size): bulk upload writes into the
    // file that is there, so other bytes of the same size sent with the same time leave the
    // ETag as it was, while a `PUT` renames a part file over it and changes it.
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    client.abilities(&path(PROBE)).await.unwrap();
    let at = Some(std::time::UNIX_EPOCH + Duration::from_secs(1_650_000_000));
    let bulk = |data: &'static [u8]| {
        let client = client.clone();
        async move {
            let results = client
                .put_bulk(&[tidesync_webdav::BulkFile {
                    path: path("same.txt"),
                    data: Bytes::from_static(data),
                    mtime: at,
                }])
                .await
                .unwrap();
            match &results[0] {
                tidesync_webdav::BulkResult::Stored(stored) => stored.etag.clone().unwrap(),
                other => panic!("{other:?}"),
            }
        }
    };
    let first = bulk(b"before").await;
    assert_eq!(
        bulk(b"after!").await,
        first,
        "same size, same time, same inode"
    );
    assert_eq!(&server.files()["same.txt"][..], b"after!");
    assert_ne!(bulk(b"longer text").await, first, "the size is part of it");
    let listed = client
        .stat(&path("same.txt"), EntryKind::File)
        .await
        .unwrap()
        .unwrap();
    let put = client
        .put_bytes(
            &path("same.txt"),
            Bytes::from_static(b"longer text"),
            &Precondition::Matches(listed.etag.clone().unwrap()),
            at,
        )
        .await
        .unwrap();
    assert_ne!(put.etag, listed.etag, "a PUT's part file is a new inode");
}

fn sha1_hex(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `File::put` stores the `OC-Checksum` of the request that writes a file, as sent and
/// unchecked, and the assembly `MOVE` writes through it. So the client sends the file's SHA-1
/// with the assembly (as `nextcloudcmd` does), and the server then reports it.
#[tokio::test]
async fn the_assembly_carries_the_files_checksum_and_the_server_keeps_any_checksum_unchecked() {
    let server = NextcloudServer::start().await.unwrap();
    let password = server.issue_app_password();
    let client = client(&server, &password);
    client.list(&RemotePath::root(), Depth::One).await.unwrap();
    client.abilities(&path(PROBE)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (local, data) = big_file(dir.path(), 1000);
    let target = path("f.bin");
    let no_report: tidesync_webdav::SentBytes = Arc::new(|_| {});
    chunked(
        &client,
        &target,
        &local,
        "c-1",
        300,
        &Precondition::Absent,
        no_report,
    )
    .await
    .unwrap();
    let listed = client
        .stat(&target, EntryKind::File)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.checksums, vec![format!("SHA1:{}", sha1_hex(&data))]);

    // Whatever a write says is kept as it is: the server never compares.
    let wrong = format!("SHA1:{}", "0".repeat(40));
    let (status, _) = raw(
        &server,
        &password,
        "PUT",
        &format!("/remote.php/dav/files/{USER}/odd.txt"),
        &[("OC-Checksum", wrong.clone())],
        b"abc".to_vec(),
    )
    .await;
    assert_eq!(status, 201);
    let odd = client
        .stat(&path("odd.txt"), EntryKind::File)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(odd.checksums, vec![wrong]);
}

/// Since the server keeps the checksum unchecked, only the client can see that the bytes it
/// streamed are not the ones it hashed: a file rewritten in place while it goes up (same
/// size) is refused as changed, not reported as uploaded.
#[tokio::test]
async fn a_file_rewritten_while_it_streams_is_refused_by_its_own_checksum() {
    let server = NextcloudServer::start().await.unwrap();
    let client = client(&server, &server.issue_app_password());
    client.list(&RemotePath::root(), Depth::One).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("db.bin");
    std::fs::write(&local, vec![1u8; 1024 * 1024]).unwrap();
    let rewritten = std::sync::atomic::AtomicBool::new(false);
    let writer = local.clone();
    // Called as the first piece is handed to the connection, before the next is read.
    let sent: tidesync_webdav::SentBytes = Arc::new(move |n| {
        if n > 0 && !rewritten.swap(true, Ordering::SeqCst) {
            std::fs::write(&writer, vec![2u8; 1024 * 1024]).unwrap();
        }
    });
    let refused = client
        .put_file_reporting(&path("db.bin"), &local, &Precondition::Absent, None, sent)
        .await
        .unwrap_err();
    assert!(refused.is_local_change(), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("changed while it was being sent"),
        "{refused}"
    );
}
