//! A full disk: the local folder is a 2 MB tmpfs (mounted in a private user and mount
//! namespace, so no root is needed) and the server holds more than that. The sync fails with a
//! storage error and says so, every file it kept is complete, and once the folder has room the
//! next run completes without fetching those files again.

use std::path::Path;

use tidesync_testkit::DavServer;
use tidesync_testkit::tree::{Seeded, snapshot};
use tokio::process::Command;

/// Runs both syncs inside one namespace (its mount vanishes with it) and reports through files.
const SCRIPT: &str = r#"
set -e
mount -t tmpfs -o size=2m tidesync-full "$LOCAL"
set +e
"$BIN" sync --url "$URL" --local "$LOCAL" --state "$STATE" 2> "$OUT/first.err"
echo $? > "$OUT/first.code"
(cd "$LOCAL" && find . -type f ! -name '.*' -printf '%P\n' | sort) > "$OUT/first.files"
mkdir "$OUT/first"
(cd "$LOCAL" && find . -type f ! -name '.*' -exec cp --parents {} "$OUT/first/" \;)
mount -o remount,size=64m "$LOCAL"
"$BIN" sync --url "$URL" --local "$LOCAL" --state "$STATE" --json > "$OUT/second.json" 2> "$OUT/second.err"
echo $? > "$OUT/second.code"
mkdir "$OUT/second"
(cd "$LOCAL" && find . -type f ! -name '.*' -exec cp --parents {} "$OUT/second/" \;)
"#;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test]
async fn a_full_disk_fails_with_a_storage_error_and_the_next_run_resumes() {
    let work = tempfile::tempdir().unwrap();
    let (remote, local, state, out) = (
        work.path().join("remote"),
        work.path().join("local"),
        work.path().join("state"),
        work.path().join("out"),
    );
    for dir in [&remote, &local, &state, &out] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut rng = Seeded::new(12);
    for i in 0..6 {
        std::fs::write(remote.join(format!("part-{i}.bin")), rng.bytes(700 * 1024)).unwrap();
    }
    for i in 0..10 {
        std::fs::write(remote.join(format!("note-{i}.txt")), rng.bytes(2_000)).unwrap();
    }
    let server = DavServer::serve(&remote).await.unwrap();
    let status = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", SCRIPT])
        .env("BIN", env!("CARGO_BIN_EXE_tidesync"))
        .env("URL", server.url())
        .env("LOCAL", &local)
        .env("STATE", &state)
        .env("OUT", &out)
        .status()
        .await
        .expect("unshare (util-linux) runs");
    assert!(
        status.success(),
        "a private tmpfs could not be mounted (user namespaces off?): {status}; {}",
        read(&out.join("first.err"))
    );

    let first_code = read(&out.join("first.code"));
    let first_err = read(&out.join("first.err"));
    assert_eq!(first_code.trim(), "1", "{first_err}");
    assert!(
        first_err.contains("the disk is full"),
        "the message says the disk is full: {first_err}"
    );
    let kept = snapshot(&out.join("first"));
    assert!(!kept.is_empty(), "what fitted was kept");
    let all = snapshot(&remote);
    assert!(kept.len() < all.len(), "the disk really was full");
    for (path, bytes) in &kept {
        assert_eq!(Some(bytes), all.get(path), "{path} is complete");
    }

    let second_code = read(&out.join("second.code"));
    assert_eq!(second_code.trim(), "0", "{}", read(&out.join("second.err")));
    assert_eq!(
        snapshot(&out.join("second")),
        all,
        "everything is there once space is back"
    );
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("second.json"))).unwrap();
    let downloaded = report["filesDownloaded"].as_u64().unwrap();
    let kept_files = kept.keys().filter(|p| !p.ends_with('/')).count() as u64;
    let all_files = all.keys().filter(|p| !p.ends_with('/')).count() as u64;
    assert_eq!(
        downloaded,
        all_files - kept_files,
        "completed files are not fetched again: {report}"
    );
}
