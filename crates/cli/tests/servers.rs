//! The `tidesync` binary on each real server a user meets — dav-server, rclone serve and Apache
//! mod_dav — in every mode, on a nested unicode tree: download, upload into a folder that does
//! not exist yet, then two-way with a folder deleted on each side while the other side edits
//! inside it. Every edit is kept on both sides, and a further run changes nothing.

use std::path::Path;
use std::process::{Output, Stdio};

use bytes::Bytes;
use tidesync_testkit::apache::{APACHE_PASSWORD, APACHE_USER, ApacheServer};
use tidesync_testkit::tree::{snapshot, write_tree};
use tidesync_testkit::{DavServer, RcloneServer};
use tidesync_webdav::{Client, Credentials, EntryKind, Options, Precondition, RemotePath};
use tokio::process::Command;

/// A running server, its WebDAV URL and login.
struct Served {
    url: String,
    login: Option<(&'static str, &'static str)>,
    /// Keeps the server up.
    _server: Box<dyn std::any::Any>,
}

async fn start(kind: &str, root: &Path) -> Served {
    match kind {
        "dav-server" => {
            let server = DavServer::serve(root).await.unwrap();
            Served {
                url: server.url(),
                login: None,
                _server: Box::new(server),
            }
        }
        "rclone" => {
            let server = RcloneServer::serve(root, None).await.unwrap();
            Served {
                url: server.url(),
                login: None,
                _server: Box::new(server),
            }
        }
        _ => {
            let server = ApacheServer::start().await.unwrap();
            Served {
                url: server.url(),
                login: Some((APACHE_USER, APACHE_PASSWORD)),
                _server: Box::new(server),
            }
        }
    }
}

impl Served {
    /// The server's WebDAV folder `folder/`, as another client sees it.
    fn client(&self, folder: &str) -> Client {
        let credentials = self.login.map(|(u, p)| Credentials::new(u, p));
        Client::new(&self.folder(folder), credentials, Options::default()).unwrap()
    }

    fn folder(&self, folder: &str) -> String {
        format!("{}{folder}/", self.url)
    }

    /// Runs `tidesync sync` for `folder` on this server; exit code and JSON summary.
    async fn sync(
        &self,
        state: &Path,
        folder: &str,
        local: &Path,
        mode: &str,
    ) -> (i32, serde_json::Value, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tidesync"));
        command
            .args(["sync", "--url", &self.folder(folder), "--local"])
            .arg(local)
            .arg("--state")
            .arg(state)
            .args(["--json", "--mode", mode])
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some((user, password)) = self.login {
            command
                .args(["--user", user, "--password-env", "SERVER_PASSWORD"])
                .env("SERVER_PASSWORD", password);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().await.unwrap();
        (
            status.code().unwrap_or(-1),
            serde_json::from_slice(&stdout).unwrap_or_default(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }
}

/// Every file of the server's `folder/`, read over WebDAV.
async fn remote_files(client: &Client) -> std::collections::BTreeMap<String, Vec<u8>> {
    let listing = client
        .list(&RemotePath::root(), tidesync_webdav::Depth::Infinity)
        .await
        .unwrap();
    let mut files = std::collections::BTreeMap::new();
    for entry in listing.entries {
        if entry.kind != EntryKind::File {
            continue;
        }
        let mut download = client.get(&entry.path, 0, None).await.unwrap();
        let mut data = Vec::new();
        while let Some(chunk) = download.chunk().await.unwrap() {
            data.extend_from_slice(&chunk);
        }
        files.insert(entry.path.as_str().to_owned(), data);
    }
    files
}

fn local_files(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(p, _)| !p.ends_with('/'))
        .collect()
}

/// Nothing happened and nothing failed.
fn assert_no_op(json: &serde_json::Value, what: &str) {
    for field in [
        "filesDownloaded",
        "filesUploaded",
        "deletedLocal",
        "deletedRemote",
        "conflicts",
    ] {
        assert_eq!(json[field], 0, "{what}: {field} in {json}");
    }
    assert_eq!(json["errors"], serde_json::json!([]), "{what}");
}

async fn every_mode_on(kind: &str) {
    let work = tempfile::tempdir().unwrap();
    let served_dir = work.path().join("served");
    std::fs::create_dir(&served_dir).unwrap();
    let served = start(kind, &served_dir).await;
    let state = work.path().join("state");

    // Download a nested unicode tree that another client put on the server.
    let seed = work.path().join("seed");
    let files = write_tree(&seed, 31, 30);
    let shared = served.client("shared");
    shared.mkcol(&RemotePath::root()).await.unwrap();
    for path in &files {
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 1..parts.len() {
            let folder = RemotePath::parse(&parts[..depth].join("/")).unwrap();
            shared.mkcol(&folder).await.unwrap();
        }
        let data = Bytes::from(std::fs::read(seed.join(path)).unwrap());
        shared
            .put_bytes(
                &RemotePath::parse(path).unwrap(),
                data,
                &Precondition::None,
                None,
            )
            .await
            .unwrap();
    }
    let phone = work.path().join("phone");
    let (code, json, stderr) = served.sync(&state, "shared", &phone, "download").await;
    assert_eq!(code, 0, "{kind}: {stderr}");
    assert_eq!(json["filesDownloaded"], files.len(), "{kind}: {json}");
    assert_eq!(local_files(&phone), local_files(&seed), "{kind}");
    let (code, json, _) = served.sync(&state, "shared", &phone, "download").await;
    assert_eq!(code, 0);
    assert_no_op(&json, &format!("{kind}: download again"));

    // Upload a tree into a folder the server does not have yet: it is created.
    let camera = work.path().join("camera");
    let taken = write_tree(&camera, 32, 20);
    let (code, json, stderr) = served.sync(&state, "backup", &camera, "upload").await;
    assert_eq!(code, 0, "{kind}: {stderr}");
    assert_eq!(json["filesUploaded"], taken.len(), "{kind}: {json}");
    assert_eq!(json["createdRemoteRoot"], true, "{kind}: {json}");
    assert_eq!(
        remote_files(&served.client("backup")).await,
        local_files(&camera),
        "{kind}"
    );
    let (code, json, _) = served.sync(&state, "backup", &camera, "upload").await;
    assert_eq!(code, 0);
    assert_no_op(&json, &format!("{kind}: upload again"));

    // Two-way on the downloaded pair: each side deletes a folder the other edits inside.
    let (code, _, stderr) = served.sync(&state, "shared", &phone, "two-way").await;
    assert_eq!(code, 0, "{kind}: {stderr}");
    std::fs::remove_dir_all(phone.join("docs")).unwrap();
    let edited_on_server = files
        .iter()
        .find(|p| p.starts_with("docs/"))
        .expect("the tree has files in docs/");
    shared
        .put_bytes(
            &RemotePath::parse(edited_on_server).unwrap(),
            Bytes::from_static(b"edited on the server"),
            &Precondition::None,
            None,
        )
        .await
        .unwrap();
    let in_photos = files
        .iter()
        .find(|p| p.starts_with("photos/"))
        .expect("the tree has files in photos/");
    shared
        .delete(
            &RemotePath::parse("photos").unwrap(),
            EntryKind::Folder,
            None,
        )
        .await
        .unwrap();
    std::fs::write(phone.join(in_photos), b"edited on the phone").unwrap();
    let (code, json, stderr) = served.sync(&state, "shared", &phone, "two-way").await;
    assert_eq!(code, 0, "{kind}: {stderr} {json}");
    let (local, remote) = (local_files(&phone), remote_files(&shared).await);
    assert_eq!(local, remote, "{kind}: both sides agree");
    assert_eq!(local[edited_on_server.as_str()], b"edited on the server");
    assert_eq!(local[in_photos.as_str()], b"edited on the phone");
    let (code, json, _) = served.sync(&state, "shared", &phone, "two-way").await;
    assert_eq!(code, 0);
    assert_no_op(&json, &format!("{kind}: two-way again"));
}

#[tokio::test]
async fn every_mode_on_dav_server() {
    every_mode_on("dav-server").await;
}

#[tokio::test]
async fn every_mode_on_rclone_serve() {
    every_mode_on("rclone").await;
}

#[tokio::test]
async fn every_mode_on_apache_mod_dav() {
    every_mode_on("apache").await;
}
