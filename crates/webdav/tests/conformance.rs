//! One suite, three real servers: the in-process `dav-server`, `rclone serve webdav` and a
//! private Apache mod_dav. Every case runs against each, so a server difference shows up as a
//! failing case here rather than as a surprise in the sync engine.

use std::path::Path;

use bytes::Bytes;
use tidesync_testkit::apache::{APACHE_PASSWORD, APACHE_USER, ApacheServer};
use tidesync_testkit::{DavServer, RcloneServer};
use tidesync_webdav::{
    Client, Credentials, Depth, EntryKind, Mkcol, Options, Overwrite, Precondition, RemotePath,
    validator,
};

fn path(p: &str) -> RemotePath {
    RemotePath::parse(p).unwrap()
}

fn seed(root: &Path) {
    std::fs::create_dir_all(root.join("docs/été")).unwrap();
    std::fs::write(root.join("hello.txt"), b"hello, world\n").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    std::fs::write(root.join("docs/été/notes ✓.md"), b"# notes\n").unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.join("docs/big.bin"), big).unwrap();
}

/// A body, shown in failures by length and a digest rather than byte by byte.
#[derive(PartialEq, Eq)]
struct Body(Vec<u8>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.0.hash(&mut hasher);
        write!(f, "{} bytes, hash {:016x}", self.0.len(), hasher.finish())
    }
}

async fn body(client: &Client, p: &str, from: u64, if_range: Option<&str>) -> (u16, Body) {
    let mut download = client.get(&path(p), from, if_range).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = download.chunk().await.unwrap() {
        out.extend_from_slice(&chunk);
    }
    (download.status.as_u16(), Body(out))
}

async fn etag_of(client: &Client, p: &str) -> String {
    let entry = client.stat(&path(p), EntryKind::File).await.unwrap();
    entry
        .expect("the file is there")
        .etag
        .expect("the server gives ETags")
}

/// Where servers legitimately differ; each case asserts what the server really does, so a
/// change in a server's behaviour (or ours) shows up here.
struct Traits {
    /// Answers `PROPFIND Depth: infinity` (rclone) or refuses it (dav-server, Apache).
    depth_infinity: bool,
    /// Honours `If-Match` / `If-None-Match: *` on PUT and `If-Match` on DELETE. rclone's
    /// server ignores both and writes or deletes anyway, which is why the engine uploads to a
    /// temporary name and MOVEs with `Overwrite: F` (which rclone does honour).
    write_preconditions: bool,
    /// Answers MKCOL on an existing folder with 405 (RFC 4918); rclone answers 201 again.
    mkcol_reports_existing: bool,
    /// Taken for a server whose `PUT` is atomic and honours preconditions, so a small file
    /// goes up in one request: Apache's mod_dav_fs (see
    /// `apache_put_shows_nothing_under_the_name_until_complete`).
    atomic_put: bool,
}

/// Runs every case against a server that serves `root` (seeded by [`seed`]).
async fn conformance(client: Client, root: &Path, traits: Traits) {
    let depth_infinity = traits.depth_infinity;
    // Listing at each depth.
    let zero = client.list(&RemotePath::root(), Depth::Zero).await.unwrap();
    assert_eq!(zero.entries.len(), 1);
    assert!(zero.entries[0].path.is_root());
    assert_eq!(zero.entries[0].kind, EntryKind::Folder);
    assert_eq!(
        client.quirks().owncloud_properties,
        Some(false),
        "neither server has ownCloud's properties, so later listings stop asking for them"
    );

    let one = client.list(&RemotePath::root(), Depth::One).await.unwrap();
    let mut names: Vec<_> = one
        .entries
        .iter()
        .map(|e| (e.path.as_str().to_owned(), e.kind, e.size))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            (String::new(), EntryKind::Folder, 0),
            ("docs".into(), EntryKind::Folder, 0),
            ("empty".into(), EntryKind::File, 0),
            ("hello.txt".into(), EntryKind::File, 13),
        ]
    );

    let all = client
        .list(&RemotePath::root(), Depth::Infinity)
        .await
        .unwrap();
    let mut everything: Vec<_> = all
        .entries
        .iter()
        .map(|e| e.path.as_str().to_owned())
        .collect();
    everything.sort();
    assert_eq!(
        everything,
        [
            "",
            "docs",
            "docs/big.bin",
            "docs/été",
            "docs/été/notes ✓.md",
            "empty",
            "hello.txt"
        ]
    );
    assert!(all.rejected.is_empty());
    assert_eq!(client.quirks().depth_infinity, Some(depth_infinity));
    let big = all
        .entries
        .iter()
        .find(|e| e.path.as_str() == "docs/big.bin")
        .unwrap();
    assert_eq!(big.size, 200_000);
    assert!(big.modified.is_some());

    // Downloads: whole, ranged, and If-Range with a stale tag.
    let expected = std::fs::read(root.join("docs/big.bin")).unwrap();
    assert_eq!(
        body(&client, "docs/big.bin", 0, None).await,
        (200, Body(expected.clone()))
    );
    let tag = etag_of(&client, "docs/big.bin").await;
    assert_eq!(
        body(&client, "docs/big.bin", 150_000, Some(&tag)).await,
        (206, Body(expected[150_000..].to_vec())),
        "If-Range {tag}"
    );
    assert_eq!(
        body(
            &client,
            "docs/big.bin",
            150_000,
            Some("\"not-the-current-version\"")
        )
        .await,
        (200, Body(expected.clone())),
        "a changed file comes back whole"
    );
    assert_eq!(
        body(&client, "docs/été/notes ✓.md", 0, None).await.1,
        Body(b"# notes\n".to_vec())
    );
    let missing = client.get(&path("nope.txt"), 0, None).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    // Uploads with preconditions.
    let new = path("docs/new file.txt");
    client
        .put_bytes(&new, Bytes::from_static(b"v1"), &Precondition::Absent, None)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(root.join("docs/new file.txt")).unwrap(),
        b"v1"
    );
    let exists = client
        .put_bytes(&new, Bytes::from_static(b"v2"), &Precondition::Absent, None)
        .await;
    let stale = client
        .put_bytes(
            &new,
            Bytes::from_static(b"v3"),
            &Precondition::Matches("\"stale\"".into()),
            None,
        )
        .await;
    if traits.write_preconditions {
        assert!(exists.unwrap_err().is_precondition_failed());
        assert!(stale.unwrap_err().is_precondition_failed());
        assert_eq!(
            std::fs::read(root.join("docs/new file.txt")).unwrap(),
            b"v1"
        );
    } else {
        exists.unwrap();
        stale.unwrap();
        assert_eq!(
            std::fs::read(root.join("docs/new file.txt")).unwrap(),
            b"v3",
            "preconditions ignored"
        );
    }
    let current = etag_of(&client, "docs/new file.txt").await;
    client
        .put_bytes(
            &new,
            Bytes::from_static(b"v4!"),
            &Precondition::Matches(current),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(root.join("docs/new file.txt")).unwrap(),
        b"v4!"
    );

    // Files read whole (up to one 256 KiB chunk) and files streamed chunk by chunk.
    let streamed: Vec<u8> = (0..786_437u32).map(|i| (i % 241) as u8).collect();
    for (name, bytes) in [
        ("upload-empty.bin", &[][..]),
        ("upload.bin", &expected[..]),
        ("upload-streamed.bin", &streamed[..]),
    ] {
        let local = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(local.path(), bytes).unwrap();
        client
            .put_file(&path(name), local.path(), &Precondition::None, None)
            .await
            .unwrap();
        assert_eq!(
            Body(std::fs::read(root.join(name)).unwrap()),
            Body(bytes.to_vec()),
            "{name}"
        );
    }

    // Folders, moves, deletes.
    assert_eq!(client.mkcol(&path("made")).await.unwrap(), Mkcol::Created);
    let again = if traits.mkcol_reports_existing {
        Mkcol::AlreadyExists
    } else {
        Mkcol::Created
    };
    assert_eq!(client.mkcol(&path("made")).await.unwrap(), again);
    assert!(root.join("made").is_dir());
    client
        .move_to(
            &path("upload.bin"),
            &path("made/moved.bin"),
            EntryKind::File,
            Overwrite::Never,
            None,
        )
        .await
        .unwrap();
    assert!(!root.join("upload.bin").exists());
    assert_eq!(
        std::fs::read(root.join("made/moved.bin")).unwrap(),
        expected
    );
    client
        .put_bytes(
            &path("taken.txt"),
            Bytes::from_static(b"x"),
            &Precondition::None,
            None,
        )
        .await
        .unwrap();
    let refused = client
        .move_to(
            &path("hello.txt"),
            &path("taken.txt"),
            EntryKind::File,
            Overwrite::Never,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        refused.is_precondition_failed(),
        "Overwrite: F onto an existing file: {refused}"
    );
    client
        .move_to(
            &path("hello.txt"),
            &path("taken.txt"),
            EntryKind::File,
            Overwrite::Replace,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(root.join("taken.txt")).unwrap(),
        b"hello, world\n"
    );

    let guarded = client
        .delete(&path("taken.txt"), EntryKind::File, Some("\"stale\""))
        .await;
    if traits.write_preconditions {
        assert!(guarded.unwrap_err().is_precondition_failed());
        assert!(root.join("taken.txt").exists());
    } else {
        guarded.unwrap();
        assert!(
            !root.join("taken.txt").exists(),
            "If-Match ignored on DELETE"
        );
    }

    client
        .delete(&path("made"), EntryKind::Folder, None)
        .await
        .unwrap();
    assert!(!root.join("made").exists());
    client
        .delete(&path("empty"), EntryKind::File, None)
        .await
        .unwrap();
    assert!(!root.join("empty").exists());
    let gone = client
        .delete(&path("empty"), EntryKind::File, None)
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone}");

    let abilities = client.abilities(&path(".probe")).await.unwrap();
    assert_eq!(abilities.atomic_put, traits.atomic_put);
    assert!(!root.join(".probe").exists(), "the probe is cleaned up");
}

#[tokio::test]
async fn dav_server_conforms() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let server = DavServer::serve(dir.path()).await.unwrap();
    let client = Client::new(&server.url(), None, Options::default()).unwrap();
    conformance(
        client,
        dir.path(),
        Traits {
            depth_infinity: false,
            write_preconditions: true,
            mkcol_reports_existing: true,
            atomic_put: false,
        },
    )
    .await;
}

#[tokio::test]
async fn rclone_serve_webdav_conforms() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let server = RcloneServer::serve(dir.path(), None).await.unwrap();
    let client = Client::new(&server.url(), None, Options::default()).unwrap();
    conformance(
        client,
        dir.path(),
        Traits {
            depth_infinity: true,
            write_preconditions: false,
            mkcol_reports_existing: false,
            atomic_put: false,
        },
    )
    .await;
}

#[tokio::test]
async fn apache_mod_dav_conforms() {
    let server = ApacheServer::start().await.unwrap();
    seed(&server.root());
    server.adopt().unwrap();
    let login = Credentials::new(APACHE_USER, APACHE_PASSWORD);
    let client = Client::new(&server.url(), Some(login), Options::default()).unwrap();
    conformance(
        client,
        &server.root(),
        Traits {
            depth_infinity: false,
            write_preconditions: true,
            mkcol_reports_existing: true,
            atomic_put: true,
        },
    )
    .await;
}

/// Apache's mod_dav_fs writes a `PUT`'s body to a temporary file and renames it over the
/// target once complete: while the body is half sent, nothing is under the file's name. This
/// is what lets a small file go up to Apache in one `PUT` (`Client::abilities`).
#[tokio::test]
async fn apache_put_shows_nothing_under_the_name_until_complete() {
    const HALF: usize = 256 * 1024;
    let server = ApacheServer::start().await.unwrap();
    let (send, receive) = tokio::sync::mpsc::channel::<Bytes>(1);
    let body = futures_util::stream::unfold(receive, |mut receive| async move {
        let chunk = receive.recv().await?;
        Some((Ok::<_, std::io::Error>(chunk), receive))
    });
    let put = tokio::spawn(
        reqwest::Client::new()
            .put(format!("{}half.bin", server.url()))
            .basic_auth(APACHE_USER, Some(APACHE_PASSWORD))
            .header(reqwest::header::CONTENT_LENGTH, 2 * HALF)
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    send.send(Bytes::from(vec![1u8; HALF])).await.unwrap();
    let root = server.root();
    let written = |root: &Path| {
        std::fs::read_dir(root)
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .any(|m| m.len() > 0)
    };
    for _ in 0..200 {
        if written(&root) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(written(&root), "Apache wrote the first half somewhere");
    assert!(
        !root.join("half.bin").exists(),
        "nothing under the name while the body is incomplete"
    );
    send.send(Bytes::from(vec![2u8; HALF])).await.unwrap();
    drop(send);
    let answer = put.await.unwrap().unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    assert_eq!(
        std::fs::read(root.join("half.bin")).unwrap().len(),
        2 * HALF
    );
}

/// What Apache does that a client must handle, recorded so a change shows up here: a file
/// path with a trailing slash is a 400 (so a file is never asked for as a folder), and a file
/// changed within the last second has a weak ETag, which turns strong with the same opaque
/// value (so `W/` alone is never a change, and a weak tag is never sent as a precondition).
#[tokio::test]
async fn apache_traits_a_client_must_handle() {
    let server = ApacheServer::start().await.unwrap();
    let login = Credentials::new(APACHE_USER, APACHE_PASSWORD);
    let client = Client::new(&server.url(), Some(login), Options::default()).unwrap();
    let file = path("fresh.txt");
    client
        .put_bytes(
            &file,
            Bytes::from_static(b"fresh"),
            &Precondition::Absent,
            None,
        )
        .await
        .unwrap();

    let raw = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{}fresh.txt/", server.url()),
        )
        .basic_auth(APACHE_USER, Some(APACHE_PASSWORD))
        .header("Depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.status().as_u16(),
        400,
        "a file path with a trailing slash"
    );

    let weak = etag_of(&client, "fresh.txt").await;
    assert!(
        validator::is_weak(&weak),
        "a fresh file's tag is weak: {weak}"
    );
    // A weak tag is not sent in If-Match: the guarded delete goes through as unguarded, which
    // is why the engine looks at the file itself first.
    let fresh_delete_target = path("fresh-copy.txt");
    client
        .put_bytes(
            &fresh_delete_target,
            Bytes::from_static(b"x"),
            &Precondition::Absent,
            None,
        )
        .await
        .unwrap();
    let refused = client
        .delete(&fresh_delete_target, EntryKind::File, Some("\"stale\""))
        .await
        .unwrap_err();
    assert!(
        refused.is_precondition_failed(),
        "a strong stale tag is refused"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let strong = etag_of(&client, "fresh.txt").await;
    assert!(!validator::is_weak(&strong), "{strong}");
    assert!(
        validator::same_version(&weak, &strong),
        "the same version: {weak} then {strong}"
    );
    client
        .delete(&file, EntryKind::File, Some(&strong))
        .await
        .unwrap();
}
