//! The built `tidesync` binary against real servers: trees, JSON summaries, exit codes,
//! signals, and SIGKILL at seeded moments.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use tidesync_testkit::tree::{Seeded, snapshot, write_tree};
use tidesync_testkit::{DavServer, Fault, FaultProxy, RcloneServer, Reply, ScriptedServer};
use tokio::process::Command;

fn tidesync(state: &Path, url: &str, local: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidesync"));
    command
        .args(["sync", "--url", url, "--local"])
        .arg(local)
        .arg("--state")
        .arg(state)
        .arg("--json")
        .args(extra)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

async fn run(command: &mut Command) -> (i32, serde_json::Value, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().await.unwrap();
    let json = serde_json::from_slice(&stdout).unwrap_or(serde_json::Value::Null);
    (
        status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Files below `root` without Tidesync's hidden in-progress files.
fn visible(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(p, _)| !p.split('/').any(tidesync_testkit::tree::is_in_progress))
        .collect()
}

/// A served folder, for the cases that run against both servers.
enum Server {
    Dav(DavServer),
    Rclone(RcloneServer),
}

impl Server {
    async fn start(rclone: bool, root: &Path) -> Server {
        if rclone {
            Server::Rclone(RcloneServer::serve(root, None).await.unwrap())
        } else {
            Server::Dav(DavServer::serve(root).await.unwrap())
        }
    }

    fn url(&self) -> String {
        match self {
            Server::Dav(s) => s.url(),
            Server::Rclone(s) => s.url(),
        }
    }
}

async fn download_then_nothing_to_do(rclone: bool) {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let files = write_tree(remote.path(), 1, 25);
    let server = Server::start(rclone, remote.path()).await;
    let (code, json, stderr) = run(&mut tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &[],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["mode"], "download");
    assert_eq!(json["filesDownloaded"], files.len());
    assert_eq!(json["errors"], serde_json::json!([]));
    assert!(json["durationMs"].is_u64());
    assert_eq!(visible(local.path()), visible(remote.path()));
    let (code, json, _) = run(&mut tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &[],
    ))
    .await;
    assert_eq!(
        (code, json["filesDownloaded"].as_u64()),
        (0, Some(0)),
        "a second run changes nothing"
    );
}

async fn upload_then_two_way(rclone: bool) {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let files = write_tree(local.path(), 2, 20);
    let server = Server::start(rclone, remote.path()).await;
    let (code, json, stderr) = run(&mut tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &["--mode", "upload"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["filesUploaded"], files.len());
    assert_eq!(visible(local.path()), visible(remote.path()));

    std::fs::write(local.path().join("from the phone.txt"), b"new here").unwrap();
    let (code, json, stderr) = run(&mut tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &["--mode", "two-way"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["mode"], "two-way");
    assert_eq!(json["filesUploaded"], 1);
    assert_eq!(visible(local.path()), visible(remote.path()));
}

#[tokio::test]
async fn download_against_dav_server() {
    download_then_nothing_to_do(false).await;
}

#[tokio::test]
async fn download_against_rclone() {
    download_then_nothing_to_do(true).await;
}

#[tokio::test]
async fn upload_and_two_way_against_dav_server() {
    upload_then_two_way(false).await;
}

#[tokio::test]
async fn upload_and_two_way_against_rclone() {
    upload_then_two_way(true).await;
}

#[tokio::test]
async fn a_wrong_password_exits_3_and_says_what_to_do() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let server = RcloneServer::serve(remote.path(), Some(("alice", "right")))
        .await
        .unwrap();
    let mut command = tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &["--user", "alice", "--password-env", "TS_PASS"],
    );
    command.env("TS_PASS", "wrong");
    let (code, _, stderr) = run(&mut command).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("password"), "{stderr}");
    assert!(
        !stderr.contains("wrong"),
        "the password is never printed: {stderr}"
    );
    command.env("TS_PASS", "right");
    assert_eq!(run(&mut command).await.0, 0);
}

#[tokio::test]
async fn a_forbidden_folder_exits_6_and_does_not_blame_the_password() {
    let (local, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = ScriptedServer::start(|_| Reply::http("403 Forbidden", &[], b""))
        .await
        .unwrap();
    let mut command = tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &["--user", "alice", "--password-env", "TS_PASS"],
    );
    command.env("TS_PASS", "right");
    let (code, json, stderr) = run(&mut command).await;
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("permissions"), "{stderr}");
    assert!(!stderr.contains("password"), "{stderr}");
    assert_eq!(json["failure"], "forbidden", "{json}");
}

#[tokio::test]
async fn a_dead_server_exits_4_after_bounded_retries() {
    let (local, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let (code, _, stderr) = tokio::time::timeout(
        Duration::from_secs(60),
        run(&mut tidesync(state.path(), &url, local.path(), &[])),
    )
    .await
    .expect("retries are bounded");
    assert_eq!(code, 4, "{stderr}");
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let (local, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (code, _, stderr) = run(&mut tidesync(
        state.path(),
        "http://cloud.example/dav/",
        local.path(),
        &[],
    ))
    .await;
    assert_eq!(
        code, 2,
        "plain http to another machine is refused: {stderr}"
    );
    let (code, _, stderr) = run(&mut tidesync(
        state.path(),
        "http://127.0.0.1:1/",
        local.path(),
        &["--mode", "sideways"],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(&mut tidesync(
        state.path(),
        "http://127.0.0.1:1/",
        local.path(),
        &["--user", "a", "--password-env", "TS_UNSET_VAR"],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
}

#[tokio::test]
async fn a_mass_delete_exits_5_and_deletes_nothing() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    for i in 0..12 {
        std::fs::write(remote.path().join(format!("f{i}")), b"x").unwrap();
    }
    let server = DavServer::serve(remote.path()).await.unwrap();
    assert_eq!(
        run(&mut tidesync(
            state.path(),
            &server.url(),
            local.path(),
            &[]
        ))
        .await
        .0,
        0
    );
    for i in 0..10 {
        std::fs::remove_file(remote.path().join(format!("f{i}"))).unwrap();
    }
    let url = server.url();
    for limit in ["5", "60%"] {
        let (code, _, stderr) = run(&mut tidesync(
            state.path(),
            &url,
            local.path(),
            &["--max-delete", limit],
        ))
        .await;
        assert_eq!(code, 5, "--max-delete {limit}: {stderr}");
        assert!(
            stderr.contains("would delete 10 of the 12 synced files on this device"),
            "{stderr}"
        );
        assert!(stderr.contains("--allow-deletes"), "{stderr}");
        assert!(
            stderr.contains("not deleted: 10 file(s) in (top folder), 10 bytes"),
            "{stderr}"
        );
        assert_eq!(
            visible(local.path()).len(),
            12,
            "nothing was deleted locally"
        );
    }
    let (code, _, stderr) = run(&mut tidesync(
        state.path(),
        &url,
        local.path(),
        &["--max-delete", "half"],
    ))
    .await;
    assert_eq!(code, 2, "a limit that is no number: {stderr}");
    // 10 of 12 is 83 %: within 90 % (and within the default, 50 files or 30 %).
    let (code, _, stderr) = run(&mut tidesync(
        state.path(),
        &url,
        local.path(),
        &["--max-delete", "90%"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(visible(local.path()).len(), 2);
}

#[tokio::test]
async fn allow_deletes_runs_once_without_the_guard_and_keeps_the_files_in_the_trash() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    for i in 0..12 {
        std::fs::write(remote.path().join(format!("f{i}")), b"x").unwrap();
    }
    let server = DavServer::serve(remote.path()).await.unwrap();
    let strict = ["--max-delete", "5"];
    assert_eq!(
        run(&mut tidesync(
            state.path(),
            &server.url(),
            local.path(),
            &strict
        ))
        .await
        .0,
        0
    );
    for i in 0..10 {
        std::fs::remove_file(remote.path().join(format!("f{i}"))).unwrap();
    }
    let (code, _, stderr) = run(&mut tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &["--allow-deletes"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(visible(local.path()).len(), 2);
    assert_eq!(
        tidesync_engine::trash::list(local.path()).unwrap().len(),
        10,
        "every deleted file is in the trash"
    );
}

/// A remote with many small files and a few large ones, so a signal lands mid-transfer. The
/// large files differ in size (3, 6, 9, 12 MiB): transferred side by side at one rate, they
/// complete one after the other, so when the first completes the others are still under way.
fn heavy_tree(root: &Path, seed: u64) {
    let mut rng = Seeded::new(seed);
    for i in 0..4 {
        std::fs::write(
            root.join(format!("large-{i}.bin")),
            rng.bytes((i + 1) * 3 * 1024 * 1024),
        )
        .unwrap();
    }
    write_tree(root, seed, 60);
}

/// Waits until a download is under way in `local` (a part file exists).
async fn until_transferring(local: &Path) {
    for _ in 0..10_000 {
        if snapshot(local).keys().any(|p| {
            p.rsplit('/')
                .next()
                .is_some_and(tidesync_testkit::tree::is_in_progress)
        }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("no download started");
}

async fn signal_after(child: &tokio::process::Child, signal: &str, after: Duration) {
    tokio::time::sleep(after).await;
    let pid = child.id().expect("the child is running").to_string();
    let _ = std::process::Command::new("kill")
        .args([signal, &pid])
        .status();
}

#[tokio::test]
async fn ctrl_c_exits_130_and_the_next_run_downloads_no_completed_file_again() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    heavy_tree(remote.path(), 3);
    let server = DavServer::serve(remote.path()).await.unwrap();
    let mut child = tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &["--transfers", "2"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    until_transferring(local.path()).await;
    signal_after(&child, "-INT", Duration::ZERO).await;
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(130));
    let done_before: Vec<String> = visible(local.path())
        .into_keys()
        .filter(|p| !p.ends_with('/'))
        .collect();

    let (code, json, stderr) = run(&mut tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &[],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(visible(local.path()), visible(remote.path()));
    let total_files = visible(remote.path())
        .keys()
        .filter(|p| !p.ends_with('/'))
        .count();
    assert_eq!(
        json["filesDownloaded"].as_u64().unwrap() as usize,
        total_files - done_before.len(),
        "files completed before Ctrl-C are not downloaded again"
    );
}

#[tokio::test]
async fn suspend_and_resume_signals_cost_at_most_a_chunk_each() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    heavy_tree(remote.path(), 4);
    let server = DavServer::serve(remote.path()).await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let child = tidesync(state.path(), &proxy.url(), local.path(), &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    until_transferring(local.path()).await;
    let suspends = 5;
    for i in 0..suspends {
        signal_after(&child, "-USR1", Duration::from_millis(20 * i)).await;
        signal_after(&child, "-USR2", Duration::from_millis(30)).await;
    }
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(visible(local.path()), visible(remote.path()));
    let data: u64 = visible(remote.path())
        .values()
        .map(|b| b.len() as u64)
        .sum();
    // Listings and headers cost a little too; allow them 1 MiB on top of one chunk (at
    // most 1 MiB in flight) per suspend.
    let allowed = data + (suspends + 1) * 1024 * 1024;
    assert!(
        proxy.bytes_down() <= allowed,
        "{} bytes fetched for {data} of data",
        proxy.bytes_down()
    );
}

/// Kills `tidesync sync --mode <mode>` with SIGKILL `kills` times at seeded moments (listing,
/// transfers, renames, journal commits, whatever is under way), then checks that one more run
/// converges, that a local edit survived and that nothing was written outside the folders.
/// The server is behind the test kit's proxy at a capped rate per connection both ways, so
/// every kill lands while the sync is still under way (asserted): a run of at most 420 ms can
/// complete no large file (the smallest needs 750 ms) and reaches no checkpoint (2 s). The
/// middle kill waits for a completed file, which leaves the larger ones under way, and the
/// last run must then transfer fewer files than a first run would: it resumed.
async fn sigkill_loop(mode: &str, seed: u64, kills: usize) {
    let workspace = tempfile::tempdir().unwrap();
    let (remote, local, state) = (
        workspace.path().join("remote"),
        workspace.path().join("local"),
        workspace.path().join("state"),
    );
    std::fs::create_dir_all(&remote).unwrap();
    std::fs::create_dir_all(&local).unwrap();
    match mode {
        "download" => heavy_tree(&remote, seed),
        "upload" => heavy_tree(&local, seed),
        _ => {
            for dir in [remote.join("server"), local.join("phone")] {
                std::fs::create_dir_all(dir).unwrap();
            }
            heavy_tree(&remote.join("server"), seed);
            heavy_tree(&local.join("phone"), seed + 1);
        }
    }
    // A local edit that must survive every kill: no mode ever overwrites it.
    std::fs::write(local.join("my notes.txt"), b"written on the phone").unwrap();
    let (source_remote, source_local) = (visible(&remote), visible(&local));
    let dav = DavServer::serve(&remote).await.unwrap();
    let server = FaultProxy::start(dav.addr()).await.unwrap();
    server.always(Some(Fault::Throttle(4 * 1024 * 1024)));
    let target = if mode == "upload" { &remote } else { &local };
    let mut rng = Seeded::new(seed);
    // Outside the workspace, whose contents the test checks.
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("stderr.log");
    for kill in 0..kills {
        let mut child = tidesync(&state, &server.url(), &local, &["--mode", mode])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        // A run that ended by itself before its kill says why.
        let still_running = |child: &mut tokio::process::Child| match child.try_wait().unwrap() {
            None => {}
            Some(status) => panic!(
                "{mode}: run {kill} ended before its kill ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        if kill == kills / 2 {
            let before = visible(target).len();
            while visible(target).len() <= before {
                still_running(&mut child);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(20 + rng.next_u64() % 400)).await;
        }
        still_running(&mut child);
        signal_after(&child, "-KILL", Duration::ZERO).await;
        let _ = child.wait().await;
        // Whatever moment it died at, no partial file is visible under a real name.
        for (side, now, source) in [
            ("local", visible(&local), &source_remote),
            ("remote", visible(&remote), &source_local),
        ] {
            for (path, bytes) in now {
                if let Some(expected) = source.get(&path).filter(|_| !path.ends_with('/')) {
                    assert_eq!(
                        &bytes, expected,
                        "{mode}: {side} {path} is complete or absent"
                    );
                }
            }
        }
    }
    let (code, json, stderr) = run(&mut tidesync(
        &state,
        &server.url(),
        &local,
        &["--mode", mode],
    ))
    .await;
    assert_eq!(code, 0, "{mode}: {stderr}");
    let transferred =
        json["filesDownloaded"].as_u64().unwrap() + json["filesUploaded"].as_u64().unwrap();
    let first_run = match mode {
        "download" => source_remote.len(),
        "upload" => source_local.len(),
        _ => source_remote.len() + source_local.len(),
    };
    assert!(
        (transferred as usize) < first_run,
        "{mode}: the last run transferred {transferred} of {first_run} files: it resumed"
    );
    let mut expected = match mode {
        "download" => source_remote.clone(),
        "upload" => source_local.clone(),
        _ => source_remote
            .clone()
            .into_iter()
            .chain(source_local.clone())
            .collect(),
    };
    expected.insert("my notes.txt".into(), b"written on the phone".to_vec());
    assert_eq!(
        visible(&local),
        expected,
        "{mode}: converged, the local edit intact"
    );
    if mode != "download" {
        assert_eq!(visible(&remote), expected, "{mode}: the server has it all");
    }
    let mut top: Vec<String> = std::fs::read_dir(workspace.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(
        top,
        ["local", "remote", "state"],
        "{mode}: nothing was written outside the sync folder"
    );
}

/// 20 SIGKILLs during one 200 MiB download through the test kit's proxy at a capped rate. Each
/// kill lands mid-transfer: the part file grew past its previous high-water mark and the file
/// is not complete. Each next run resumes from the last durable checkpoint (at least every
/// 8 MiB), so all runs together fetch at most the file plus 8 MiB per kill.
#[tokio::test]
async fn twenty_sigkills_during_a_200_mib_download_refetch_at_most_a_checkpoint_each() {
    const SIZE: usize = 200 * 1024 * 1024;
    const KILLS: u64 = 20;
    const MIB: u64 = 1024 * 1024;
    let workspace = tempfile::tempdir().unwrap();
    let (remote, local, state) = (
        workspace.path().join("remote"),
        workspace.path().join("local"),
        workspace.path().join("state"),
    );
    std::fs::create_dir_all(&remote).unwrap();
    std::fs::create_dir_all(&local).unwrap();
    let mut rng = Seeded::new(21);
    let data = rng.bytes(SIZE);
    std::fs::write(remote.join("big.bin"), &data).unwrap();
    let server = DavServer::serve(&remote).await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    proxy.always(Some(Fault::Bandwidth(64 * MIB)));
    let part = tidesync_engine::transfer::part_path(&local.join("big.bin"));
    let part_len = || std::fs::metadata(&part).map_or(0, |m| m.len());
    let mut high_water = 0;
    for kill in 0..KILLS {
        let mut child = tidesync(&state, &proxy.url(), &local, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Progress past anything an earlier run wrote: this run resumed and is downloading.
        // 4 MiB a run leave room for kills that land late on a busy machine (20 runs of
        // 9 MiB each once left too little of the 200 MiB for the last run to be killed).
        let target = high_water + 4 * MIB + rng.next_u64() % (MIB / 2);
        while part_len() < target {
            assert!(
                child.try_wait().unwrap().is_none(),
                "kill {kill}: the run ended before the kill"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let pid = child.id().unwrap().to_string();
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap();
        let _ = child.wait().await;
        high_water = part_len();
        assert!(
            !local.join("big.bin").exists() && high_water < SIZE as u64,
            "kill {kill} landed mid-transfer"
        );
    }
    let (code, _, stderr) = run(&mut tidesync(&state, &proxy.url(), &local, &[])).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::read(local.join("big.bin")).unwrap() == data,
        "the file arrived whole"
    );
    let fetched = proxy.bytes_down();
    eprintln!(
        "{KILLS} kills: fetched {:.1} MiB for a {} MiB file ({:.2} MiB again per kill)",
        fetched as f64 / MIB as f64,
        SIZE as u64 / MIB,
        (fetched as f64 - SIZE as f64) / MIB as f64 / KILLS as f64
    );
    // Listings and headers are a few KiB a run.
    let bound = SIZE as u64 + KILLS * 8 * MIB + 256 * 1024;
    assert!(
        fetched <= bound,
        "fetched {fetched} bytes for a {SIZE}-byte file over {KILLS} kills (bound {bound})"
    );
}

#[tokio::test]
async fn sigkill_at_twenty_seeded_moments_of_a_download_loses_nothing() {
    sigkill_loop("download", 5, 20).await;
}

#[tokio::test]
async fn sigkill_at_fifteen_seeded_moments_of_an_upload_loses_nothing() {
    sigkill_loop("upload", 6, 15).await;
}

#[tokio::test]
async fn sigkill_at_fifteen_seeded_moments_of_a_two_way_sync_loses_nothing() {
    sigkill_loop("two-way", 7, 15).await;
}

#[tokio::test]
async fn files_that_cannot_be_synced_exit_1_and_are_listed() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    std::fs::write(local.path().join("fine.txt"), b"fine").unwrap();
    // Legal on Linux, refused by Windows and Android storage: never uploaded.
    std::fs::write(local.path().join("what?.txt"), b"odd").unwrap();
    let server = DavServer::serve(remote.path()).await.unwrap();
    let (code, json, stderr) = run(&mut tidesync(
        state.path(),
        &server.url(),
        local.path(),
        &["--mode", "upload"],
    ))
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(json["filesUploaded"], 1);
    assert_eq!(json["errors"][0]["path"], "what?.txt");
    assert!(stderr.contains("what?.txt"), "{stderr}");
    assert_eq!(
        visible(remote.path()).keys().collect::<Vec<_>>(),
        ["fine.txt"]
    );
}

/// `--exclude`, `--exclude-from`, `--max-size` and the default patterns leave files out of an
/// upload (counted in the JSON); `--no-default-excludes` takes the defaults back; a bad
/// pattern is a usage error that names it.
#[tokio::test]
async fn exclude_options_leave_out_what_they_name() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let server = DavServer::serve(remote.path()).await.unwrap();
    let url = server.url();
    for (path, bytes) in [
        ("notes.txt", &b"notes"[..]),
        (".DS_Store", b"finder"),
        ("build/out.o", b"object"),
        ("debug.log", b"log"),
        ("video.mp4", &[7; 4096]),
    ] {
        let full = local.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }
    let list = state.path().join("excludes.txt");
    std::fs::write(&list, "# build output\nbuild/\n").unwrap();
    let list = list.to_str().unwrap();
    let upload = |extra: &[&str]| {
        let mut args = vec!["--mode", "upload"];
        args.extend_from_slice(extra);
        tidesync(state.path(), &url, local.path(), &args)
    };

    let (code, json, stderr) = run(&mut upload(&[
        "--exclude",
        "*.log",
        "--exclude-from",
        list,
        "--max-size",
        "2k",
    ]))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["filesUploaded"], 1, "{json}");
    assert_eq!(json["ignored"], 4, "{json}");
    assert!(stderr.contains("4 item(s) left out"), "{stderr}");
    let on_server: Vec<String> = snapshot(remote.path()).into_keys().collect();
    assert_eq!(on_server, ["notes.txt"]);

    let (code, json, stderr) = run(&mut upload(&["--no-default-excludes"])).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["filesUploaded"], 4, "{json}");
    assert_eq!(json["ignored"], 0, "{json}");

    let (code, _, stderr) = run(&mut upload(&["--exclude", "ok", "--exclude", "[oops"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 2, \"[oops\""), "{stderr}");
    let (code, _, stderr) = run(&mut upload(&["--max-size", "lots"])).await;
    assert_eq!(code, 2, "{stderr}");
}

/// Two processes on one journal (the app and the CLI, here two CLIs): while one syncs a pair,
/// the other is refused at once with the first one's process id and touches nothing; the
/// first ends as it would have, and the next sync finishes the pair.
#[tokio::test]
async fn a_second_process_on_a_syncing_pair_is_refused_naming_the_first() {
    let (remote, local, state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    heavy_tree(remote.path(), 5);
    let server = DavServer::serve(remote.path()).await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    // Slow enough (about two minutes for the tree) that the first sync is still under way
    // when the second has started and been refused, however busy the machine.
    proxy.always(Some(Fault::Bandwidth(256 * 1024)));
    let first = tidesync(state.path(), &proxy.url(), local.path(), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_pid = first.id().unwrap();
    until_transferring(local.path()).await;

    let (code, _, stderr) = run(&mut tidesync(state.path(), &proxy.url(), local.path(), &[])).await;
    assert_eq!(code, 9, "{stderr}");
    assert!(
        stderr.contains(&format!("another Tidesync (process {first_pid})")),
        "{stderr}"
    );

    signal_after(&first, "-INT", Duration::ZERO).await;
    let output = first.wait_with_output().await.unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "the first was still syncing: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    proxy.always(None);
    let (code, _, stderr) = run(&mut tidesync(state.path(), &proxy.url(), local.path(), &[])).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(visible(local.path()), visible(remote.path()));
}
