//! Every command through real IPC routing on Tauri's mock runtime, against the in-process
//! WebDAV server and a real `rclone serve webdav`.

mod common;

use common::{TestApp, channel, wait_until};
use serde_json::{Value, json};
use tidesync_app_lib::lifecycle::Hint;
use tidesync_testkit::tree::{snapshot, write_tree};
use tidesync_testkit::{DavServer, RcloneServer, Reply, ScriptedServer};

fn serve(dir: &std::path::Path) -> DavServer {
    tauri::async_runtime::block_on(DavServer::serve(dir)).unwrap()
}

fn types(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m["type"].as_str().unwrap() {
            "stateChanged" => format!("stateChanged:{}", m["state"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect()
}

fn states(app: &TestApp, job: i64) -> Vec<String> {
    app.jobs_changed
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c["jobId"] == job)
        .map(|c| c["state"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn app_info_reports_version_platform_and_data_dir() {
    let app = TestApp::new();
    let info = app.ok("app_info", json!({}));
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["platform"], std::env::consts::OS);
    assert_eq!(info["arch"], std::env::consts::ARCH);
    assert_eq!(
        info["dataDir"],
        app.root.path().join("data").display().to_string()
    );
}

#[test]
fn an_engine_that_cannot_open_is_named_by_every_command_that_needs_it() {
    // The journal's folder is a file: the engine cannot open, while the window still works.
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("data"), b"not a folder").unwrap();
    let app = TestApp::in_root(root);
    let info = app.ok("app_info", json!({}));
    assert_eq!(info["platform"], std::env::consts::OS);
    for (command, args) in [
        ("list_pairs", json!({})),
        ("list_remotes", json!({})),
        ("sync_all", json!({})),
    ] {
        let error = app.invoke(command, args).unwrap_err();
        assert_eq!(error["kind"], "storage", "{command}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with("Tidesync could not start its sync engine:"),
            "{command}: {message}"
        );
    }
}

#[test]
fn an_unknown_command_is_refused() {
    let app = TestApp::new();
    let error = app.invoke("no_such_command", json!({})).unwrap_err();
    assert!(error.to_string().contains("no_such_command"), "{error}");
}

#[test]
fn a_sync_streams_a_snapshot_first_and_finished_last_and_announces_its_states() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    write_tree(served.path(), 6, 40);
    let server = serve(served.path());
    let pair = app.pair(&server.url(), "Mirror");
    assert_eq!(app.ok("list_pairs", json!({}))[0]["id"], pair);
    assert_eq!(app.ok("list_remotes", json!({}))[0]["url"], server.url());

    let job = app.ok(
        "start_sync",
        json!({ "pairId": pair, "onEvent": channel(1) }),
    );
    let job = job.as_i64().unwrap();
    let seen = app.channels.wait_for(1, "finished");
    assert_eq!(seen[0]["type"], "snapshot", "{:?}", types(&seen));
    assert_eq!(seen[0]["snapshot"]["jobId"], job);
    assert_eq!(seen.last().unwrap()["type"], "finished");
    let summary = &seen.last().unwrap()["summary"];
    assert_eq!(summary["filesDownloaded"], 40);
    assert!(seen.iter().any(|m| m["type"] == "fileDone"));
    for message in &seen {
        assert!(message.to_string().len() < 8 * 1024, "messages stay small");
    }
    assert_eq!(snapshot(&app.folder("Mirror")), snapshot(served.path()));

    let changes = wait_until("the completed state in jobs-changed", || {
        let s = states(&app, job);
        s.contains(&"completed".to_owned()).then_some(s)
    });
    assert_eq!(changes.first().map(String::as_str), Some("queued"));
    assert!(changes.contains(&"running".to_owned()), "{changes:?}");

    let history = app.ok("job_history", json!({}));
    assert_eq!(history[0]["id"], job);
    assert_eq!(history[0]["state"], "completed");
    assert_eq!(history[0]["summary"]["filesDownloaded"], 40);
    let jobs = app.ok("list_jobs", json!({}));
    assert_eq!(jobs[0]["state"], "completed");
}

#[test]
fn pause_resume_cancel_and_a_second_channel_show_in_the_stream() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    write_tree(served.path(), 7, 20);
    let server = serve(served.path());
    let pair = app.pair(&server.url(), "Mirror");
    let lifecycle = &app.started().lifecycle;

    // Suspended first, so the job waits where the test can reach it.
    assert!(tauri::async_runtime::block_on(lifecycle.apply(Hint::Suspend)).changed);
    let job = app.ok(
        "start_sync",
        json!({ "pairId": pair, "onEvent": channel(1) }),
    );
    app.channels.wait_for(1, "stateChanged");
    wait_until("the job to wait as suspended", || {
        types(&app.channels.of(1))
            .contains(&"stateChanged:suspended".to_owned())
            .then_some(())
    });
    app.ok("pause_job", json!({ "jobId": job }));
    wait_until("paused on channel 1", || {
        types(&app.channels.of(1))
            .contains(&"stateChanged:paused".to_owned())
            .then_some(())
    });
    // The app comes back: a job the user paused stays paused.
    assert!(tauri::async_runtime::block_on(lifecycle.apply(Hint::Resume)).changed);

    app.ok("attach_job", json!({ "jobId": job, "onEvent": channel(2) }));
    let second = app.channels.wait_for(2, "snapshot");
    assert_eq!(
        second[0]["type"], "snapshot",
        "a new channel starts with the truth"
    );
    assert_eq!(second[0]["snapshot"]["state"], "paused");
    let first_at_attach = app.channels.of(1).len();

    app.ok("resume_job", json!({ "jobId": job }));
    let second = app.channels.wait_for(2, "finished");
    let kinds = types(&second);
    assert!(
        kinds.contains(&"stateChanged:running".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"stateChanged:completed".to_owned()),
        "{kinds:?}"
    );
    assert_eq!(
        app.channels.of(1).len(),
        first_at_attach,
        "the replaced channel gets nothing more"
    );
    assert_eq!(snapshot(&app.folder("Mirror")), snapshot(served.path()));

    // Cancel: a job held by a suspend is cancelled, says so, and ends.
    std::fs::write(served.path().join("new.txt"), b"new").unwrap();
    assert!(tauri::async_runtime::block_on(lifecycle.apply(Hint::Suspend)).changed);
    let job = app.ok(
        "start_sync",
        json!({ "pairId": pair, "onEvent": channel(3) }),
    );
    app.channels.wait_for(3, "stateChanged");
    app.ok("cancel_job", json!({ "jobId": job }));
    let third = app.channels.wait_for(3, "finished");
    assert!(types(&third).contains(&"stateChanged:cancelled".to_owned()));
    assert!(!app.folder("Mirror").join("new.txt").exists());
    let error = app
        .invoke("pause_job", json!({ "jobId": 999 }))
        .unwrap_err();
    assert_eq!(error["kind"], "notFound");
    tauri::async_runtime::block_on(lifecycle.apply(Hint::Resume));
}

#[test]
fn a_bad_address_gives_invalid_input_and_a_missing_one_not_found() {
    let app = TestApp::new();
    for url in ["not a url", "ftp://127.0.0.1/"] {
        let error = app
            .invoke("add_remote", json!({ "name": "x", "url": url }))
            .unwrap_err();
        assert_eq!(error["kind"], "invalidInput", "{url}: {error}");
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    let error = app
        .invoke(
            "add_remote",
            json!({ "name": "", "url": "http://127.0.0.1:1/" }),
        )
        .unwrap_err();
    assert_eq!(error["kind"], "invalidInput");

    let served = tempfile::tempdir().unwrap();
    let server = serve(served.path());
    let missing = format!("{}no/such/folder/", server.url());
    let error = app
        .invoke("add_remote", json!({ "name": "x", "url": missing }))
        .unwrap_err();
    assert_eq!(error["kind"], "notFound", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("Check the URL"),
        "{error}"
    );
    assert_eq!(
        app.ok("list_remotes", json!({})),
        json!([]),
        "nothing saved"
    );

    let remote = app.ok("add_remote", json!({ "name": "x", "url": server.url() }));
    let error = app
        .invoke(
            "add_pair",
            json!({
                "remoteId": remote["id"],
                "remotePath": "no/such/folder",
                "local": { "kind": "named", "name": "Here" },
                "mode": "twoWay",
            }),
        )
        .unwrap_err();
    assert_eq!(error["kind"], "notFound", "{error}");
    let error = app
        .invoke(
            "add_pair",
            json!({
                "remoteId": remote["id"],
                "remotePath": "",
                "local": { "kind": "named", "name": "../outside" },
                "mode": "twoWay",
            }),
        )
        .unwrap_err();
    assert_eq!(error["kind"], "invalidInput", "{error}");
    assert!(!app.root.path().join("outside").exists());
}

/// A 403 is a permission the account lacks, not a wrong password: its own kind and words.
#[test]
fn a_forbidden_folder_gives_forbidden_not_auth() {
    let app = TestApp::new();
    let server = tauri::async_runtime::block_on(ScriptedServer::start(|_| {
        Reply::http("403 Forbidden", &[], b"")
    }))
    .unwrap();
    let error = app
        .invoke(
            "add_remote",
            json!({ "name": "r", "url": server.url(), "user": "alice", "password": "right" }),
        )
        .unwrap_err();
    assert_eq!(error["kind"], "forbidden", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("does not allow"), "{message}");
    assert!(!message.contains("password"), "{message}");
}

#[test]
fn a_refused_login_gives_auth_and_a_right_one_is_kept_out_of_the_journal() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    write_tree(served.path(), 8, 5);
    let server = tauri::async_runtime::block_on(RcloneServer::serve(
        served.path(),
        Some(("alice", "right horse")),
    ))
    .unwrap();
    let error = app
        .invoke(
            "add_remote",
            json!({ "name": "r", "url": server.url(), "user": "alice", "password": "wrong" }),
        )
        .unwrap_err();
    assert_eq!(error["kind"], "auth", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("user name or password"),
        "{error}"
    );

    let remote = app.ok(
        "add_remote",
        json!({ "name": "r", "url": server.url(), "user": "alice", "password": "right horse" }),
    );
    assert!(
        !remote.to_string().contains("right horse"),
        "never sent to the UI"
    );
    // A WAL journal holds recent writes in its -wal file until a checkpoint: read every file
    // of the journal, not only the main one.
    let data = app.root.path().join("data");
    let journal_files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("journal.sqlite"))
        })
        .collect();
    assert!(
        journal_files
            .iter()
            .any(|p| p.ends_with("journal.sqlite-wal")),
        "the journal's WAL is read too: {journal_files:?}"
    );
    for file in journal_files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(11).any(|w| w == b"right horse"),
            "never in the journal: {}",
            file.display()
        );
    }
    // Renamed without a password: the stored one is still used.
    app.ok(
        "update_remote",
        json!({ "id": remote["id"], "name": "Renamed", "url": server.url(), "user": "alice" }),
    );
    assert_eq!(app.ok("list_remotes", json!({}))[0]["name"], "Renamed");
    app.ok("remove_remote", json!({ "id": remote["id"] }));
    assert_eq!(app.ok("list_remotes", json!({})), json!([]));
}

#[test]
fn the_demo_remote_comes_with_a_pair_and_pairs_and_remotes_can_be_removed() {
    let app = TestApp::new();
    let demo = app.ok("add_demo_remote", json!({}));
    assert_eq!(demo["remote"]["name"], "Demo remote");
    assert!(demo["files"].as_u64().unwrap() > 100, "{demo}");
    let pair = demo["pair"]["id"].clone();
    assert_eq!(app.ok("list_pairs", json!({}))[0]["id"], pair);
    // Asking again reuses the running server, the remote and the pair.
    let again = app.ok("add_demo_remote", json!({}));
    assert_eq!(again["pair"]["id"], pair);
    assert_eq!(again["remote"]["url"], demo["remote"]["url"]);

    app.ok("remove_pair", json!({ "id": pair }));
    assert_eq!(app.ok("list_pairs", json!({})), json!([]));
    let error = app
        .invoke("remove_pair", json!({ "id": pair }))
        .unwrap_err();
    assert_eq!(error["kind"], "notFound", "{error}");
    app.ok("remove_remote", json!({ "id": demo["remote"]["id"] }));
    assert_eq!(app.ok("list_remotes", json!({})), json!([]));
}

/// Settings as the sheet sends them.
fn settings(auto: bool, every: i64, transfers: Value, up: i64, down: i64) -> Value {
    json!({
        "autoSync": auto,
        "checkEverySecs": every,
        "transfers": transfers,
        "uploadLimit": up,
        "downloadLimit": down,
        "trashDays": null,
        "trashBytes": null,
        "serverBackup": null,
        "excludes": { "patterns": [], "defaultsOff": [], "maxSize": null, "removeWithFolder": false, "unsynced": [], "askAbove": null },
    })
}

/// Choosing a folder: the server browsed a level at a time (folders first), a folder made
/// from the browser, and a folder the pair still syncs never let go.
#[test]
fn the_server_is_browsed_and_a_folder_made_from_the_browser() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(served.path().join("Photos/2024")).unwrap();
    std::fs::write(served.path().join("Photos/2024/a.jpg"), [1; 30]).unwrap();
    std::fs::write(served.path().join("zeta.txt"), b"z").unwrap();
    std::fs::create_dir(served.path().join("Archive")).unwrap();
    let server = serve(served.path());
    let pair = app.pair(&server.url(), "Browsed");
    let remote = app.ok("list_remotes", json!({}))[0]["id"].clone();

    let top = app.ok("browse_server", json!({ "remoteId": remote, "path": "" }));
    let names: Vec<(&str, bool)> = top
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["name"].as_str().unwrap(), b["isDir"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        names,
        [("Archive", true), ("Photos", true), ("zeta.txt", false)]
    );
    assert_eq!(top[2]["size"], 1);
    let inside = app.ok(
        "browse_server",
        json!({ "remoteId": remote, "path": "Photos" }),
    );
    assert_eq!(inside[0]["path"], "Photos/2024");

    app.ok(
        "make_server_folder",
        json!({ "remoteId": remote, "path": "Photos/2025" }),
    );
    assert!(served.path().join("Photos/2025").is_dir());
    let outside = app
        .invoke(
            "browse_server",
            json!({ "remoteId": remote, "path": "../x" }),
        )
        .unwrap_err();
    assert_eq!(outside["kind"], "invalidInput", "{outside}");
    let still = app
        .invoke(
            "let_go_folder",
            json!({ "pairId": pair, "folder": "Photos" }),
        )
        .unwrap_err();
    assert_eq!(still["kind"], "invalidInput", "{still}");
}

/// What a pair leaves out: the defaults listed, the pair's own patterns saved, what its last
/// sync left out listed with why, and a preview of edited patterns (a bad one named).
#[test]
fn left_out_items_are_listed_and_edited_patterns_previewed() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("notes.txt"), b"notes").unwrap();
    std::fs::write(served.path().join("Thumbs.db"), b"thumbnails").unwrap();
    std::fs::write(served.path().join("debug.log"), [b'x'; 100]).unwrap();
    let server = serve(served.path());
    let pair = app.pair(&server.url(), "Filtered");
    let defaults = app.ok("default_excludes", json!({}));
    assert!(
        defaults
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["pattern"] == "Thumbs.db" && d["what"].is_string()),
        "{defaults}"
    );

    let mut filtered = settings(false, 600, Value::Null, 0, 0);
    filtered["excludes"]["patterns"] = json!(["*.log", "  "]);
    let saved = app.ok(
        "update_pair",
        json!({ "id": pair, "mode": "download", "settings": filtered }),
    );
    assert_eq!(saved["settings"]["excludes"]["patterns"], json!(["*.log"]));
    app.ok(
        "start_sync",
        json!({ "pairId": pair, "onEvent": channel(1) }),
    );
    let seen = app.channels.wait_for(1, "finished");
    assert_eq!(seen.last().unwrap()["summary"]["ignored"], 2);
    assert!(app.folder("Filtered").join("notes.txt").exists());
    assert!(!app.folder("Filtered").join("debug.log").exists());

    assert_eq!(
        app.ok("list_failures", json!({ "pairId": pair })),
        json!([]),
        "nothing failed"
    );
    let ignored = app.ok("list_ignored", json!({ "pairId": pair }));
    assert_eq!(
        ignored,
        json!([
            { "path": "Thumbs.db", "isDir": false, "size": 10, "side": "server", "why": "matches Thumbs.db" },
            { "path": "debug.log", "isDir": false, "size": 100, "side": "server", "why": "matches *.log" },
        ])
    );

    let preview = |patterns: Value| {
        app.invoke(
            "preview_excludes",
            json!({ "pairId": pair, "excludes": { "patterns": patterns, "defaultsOff": [], "maxSize": null, "removeWithFolder": false, "unsynced": [], "askAbove": null } }),
        )
    };
    assert_eq!(
        preview(json!(["*.txt"])).unwrap(),
        json!({ "files": 2, "folders": 0, "bytes": 15 }),
        "notes.txt (synced) and Thumbs.db (left out by default)"
    );
    let bad = preview(json!(["*.txt", "[oops"])).unwrap_err();
    assert_eq!(bad["kind"], "invalidInput", "{bad}");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("line 2, \"[oops\""),
        "{bad}"
    );
}

#[test]
fn update_pair_saves_settings_and_says_what_is_wrong_with_bad_ones() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    let server = serve(served.path());
    let pair = app.pair(&server.url(), "Settings");
    let listed = &app.ok("list_pairs", json!({}))[0];
    assert_eq!(listed["settings"]["autoSync"], false);
    assert_eq!(listed["auto"], Value::Null);

    let saved = app.ok(
        "update_pair",
        json!({ "id": pair, "mode": "twoWay", "settings": settings(false, 600, json!(3), 0, 50_000) }),
    );
    assert_eq!(saved["mode"], "twoWay");
    assert_eq!(saved["settings"], settings(false, 600, json!(3), 0, 50_000));
    let listed = &app.ok("list_pairs", json!({}))[0];
    assert_eq!(listed["settings"]["uploadLimit"], 0, "0 means no limit");
    assert_eq!(listed["settings"]["downloadLimit"], 50_000);

    let mut backed_up = settings(false, 600, json!(3), 0, 50_000);
    backed_up["serverBackup"] = json!(" /Deleted by sync/ ");
    let saved = app.ok(
        "update_pair",
        json!({ "id": pair, "mode": "twoWay", "settings": backed_up }),
    );
    assert_eq!(saved["settings"]["serverBackup"], "Deleted by sync");
    let mut blank = settings(false, 600, json!(3), 0, 50_000);
    blank["serverBackup"] = json!("  ");
    let saved = app.ok(
        "update_pair",
        json!({ "id": pair, "mode": "twoWay", "settings": blank }),
    );
    assert_eq!(
        saved["settings"]["serverBackup"],
        Value::Null,
        "blank is off"
    );

    let refused = |settings: Value, says: &str| {
        let error = app
            .invoke(
                "update_pair",
                json!({ "id": pair, "mode": "twoWay", "settings": settings }),
            )
            .unwrap_err();
        assert_eq!(error["kind"], "invalidInput", "{error}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    };
    refused(settings(false, 600, json!(0), 0, 0), "1 to 128 files");
    let mut forever = settings(false, 600, Value::Null, 0, 0);
    forever["trashDays"] = json!(100_000);
    refused(forever, "the trash keeps files 1 to 3650 days");
    let mut outside = settings(false, 600, Value::Null, 0, 0);
    outside["serverBackup"] = json!("../elsewhere");
    refused(outside, "the folder for what is deleted on the server");
    refused(settings(false, 600, json!(-2), 0, 0), "1 to 128 files");
    refused(settings(false, 600, json!(129), 0, 0), "1 to 128 files");
    refused(settings(false, -5, Value::Null, 0, 0), "cannot be negative");
    refused(
        settings(false, 0, Value::Null, 0, 0),
        "every 1s to every 86400s",
    );
    refused(
        settings(false, 600, Value::Null, -1, 0),
        "the upload limit cannot be negative",
    );
    let unchanged = &app.ok("list_pairs", json!({}))[0];
    assert_eq!(
        unchanged["settings"]["transfers"], 3,
        "a refused change changes nothing"
    );

    let missing = app
        .invoke(
            "update_pair",
            json!({ "id": 999, "mode": "twoWay", "settings": settings(false, 600, Value::Null, 0, 0) }),
        )
        .unwrap_err();
    assert_eq!(missing["kind"], "notFound", "{missing}");
}

#[test]
fn automatic_sync_uploads_a_local_edit_and_conflicts_are_listed() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("plan.txt"), b"first").unwrap();
    let server = serve(served.path());
    let pair = app.pair(&server.url(), "Auto");
    let saved = app.ok(
        "update_pair",
        json!({ "id": pair, "mode": "twoWay", "settings": settings(true, 3600, Value::Null, 0, 0) }),
    );
    assert_eq!(saved["settings"]["autoSync"], true);
    assert!(saved["auto"].is_object(), "{saved}");

    let folder = app.folder("Auto");
    wait_until("the first automatic sync and the watcher", || {
        let pair = &app.ok("list_pairs", json!({}))[0];
        (folder.join("plan.txt").exists()
            && pair["auto"]["watching"] == true
            && pair["lastSyncedAt"].is_u64()
            && pair["auto"]["nextCheckAt"].is_u64())
        .then_some(())
    });
    assert_eq!(
        app.ok("sync_all", json!({})),
        json!([]),
        "an automatic pair is asked, not started"
    );

    std::fs::write(folder.join("from-the-app.txt"), b"written here").unwrap();
    wait_until("the local edit on the server", || {
        served
            .path()
            .join("from-the-app.txt")
            .exists()
            .then_some(())
    });

    // Both sides change the same file while nobody looks; the next sync keeps both.
    app.wait_idle(pair, "no sync under way");
    std::fs::write(served.path().join("plan.txt"), b"edited on the server").unwrap();
    std::fs::write(folder.join("plan.txt"), b"edited here").unwrap();
    let conflicts = wait_until("the conflict copy", || {
        let listed = app.ok("list_conflicts", json!({ "pairId": pair }));
        (!listed.as_array().unwrap().is_empty()).then_some(listed)
    });
    assert_eq!(conflicts[0]["original"], "plan.txt");
    assert_eq!(conflicts[0]["pairId"], pair);
    let copy = conflicts[0]["path"].as_str().unwrap();
    assert_eq!(std::fs::read(folder.join(copy)).unwrap(), b"edited here");

    let refused = app
        .invoke(
            "reveal_conflict",
            json!({ "pairId": pair, "path": "../../etc/passwd" }),
        )
        .unwrap_err();
    assert_eq!(refused["kind"], "invalidInput", "{refused}");

    // A file deleted on the server goes to this device's trash, and comes back from it. The
    // server is checked once an hour here: the delete is seen by the look the supervisor takes
    // after a run of its own changed the server, if the conflict's run is still under way, and
    // otherwise by the check that "Sync all now" asks for.
    std::fs::remove_file(served.path().join("from-the-app.txt")).unwrap();
    app.wait_idle(pair, "no sync under way");
    assert_eq!(app.ok("sync_all", json!({})), json!([]));
    let removed = wait_until("the delete in the trash", || {
        let listed = app.ok("list_trash", json!({ "pairId": pair }));
        (!listed.as_array().unwrap().is_empty()).then_some(listed)
    });
    assert_eq!(removed[0]["path"], "from-the-app.txt");
    assert_eq!(removed[0]["why"], "deletedOnServer");
    assert!(!folder.join("from-the-app.txt").exists());
    let placed = app.ok(
        "restore_trashed",
        json!({ "pairId": pair, "id": removed[0]["id"] }),
    );
    assert_eq!(placed, "from-the-app.txt");
    assert_eq!(
        std::fs::read(folder.join("from-the-app.txt")).unwrap(),
        b"written here"
    );
    let missing = app
        .invoke(
            "restore_trashed",
            json!({ "pairId": pair, "id": "1-deleted-00000000" }),
        )
        .unwrap_err();
    assert_eq!(missing["kind"], "notFound", "{missing}");
    assert_eq!(app.ok("empty_trash", json!({ "pairId": pair })), 0);
}

/// The tray's menu entries call what the window's buttons call: a pair's "Sync now" starts
/// it, "Sync now" for all starts every pair without automatic sync, "Pause all" pauses what
/// runs and "Resume all" resumes it.
#[test]
fn the_trays_actions_do_what_the_windows_buttons_do() {
    use tidesync_app_lib::tray::{act, model::Action};
    use tidesync_engine::{JobState, PairId};
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("a.txt"), b"first").unwrap();
    let server = serve(served.path());
    let pair = PairId(app.pair(&server.url(), "Tray"));
    let handle = app.app.handle();
    let engine = &app.started().engine;
    let settled = |what: &str| app.wait_idle(pair.0, what);

    tauri::async_runtime::block_on(act(handle, Action::SyncPair(pair))).unwrap();
    wait_until("the pair's sync from the tray", || {
        app.folder("Tray").join("a.txt").exists().then_some(())
    });
    settled("the pair's sync to end");

    std::fs::write(served.path().join("b.txt"), b"second").unwrap();
    tauri::async_runtime::block_on(act(handle, Action::SyncAll)).unwrap();
    wait_until("every pair's sync from the tray", || {
        app.folder("Tray").join("b.txt").exists().then_some(())
    });
    settled("that sync to end");

    // A sync held by a suspend (so it cannot end first) is paused from the tray, stays
    // paused past the resume, and runs once the tray resumes it.
    tauri::async_runtime::block_on(engine.suspend());
    let job = tauri::async_runtime::block_on(engine.start(pair)).unwrap();
    tauri::async_runtime::block_on(act(handle, Action::PauseAll)).unwrap();
    wait_until("the pause", || {
        (engine.snapshot(job).unwrap().state == JobState::Paused).then_some(())
    });
    engine.resume_all();
    assert_eq!(engine.snapshot(job).unwrap().state, JobState::Paused);
    tauri::async_runtime::block_on(act(handle, Action::ResumeAll)).unwrap();
    let outcome = tauri::async_runtime::block_on(engine.wait(job)).unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
}

/// "Show in folder" on a failed file names only a path the journal lists as failed: any other
/// is refused before anything is opened.
#[test]
fn only_a_file_the_pair_failed_to_sync_is_shown_in_the_file_manager() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    let server = serve(served.path());
    let pair = app.pair(&server.url(), "Failures");
    for path in ["../../etc/passwd", "never-failed.txt"] {
        let refused = app
            .invoke("reveal_failure", json!({ "pairId": pair, "path": path }))
            .unwrap_err();
        assert_eq!(refused["kind"], "invalidInput", "{refused}");
    }
}

/// The test builder has no login entry to write (it must not touch the tester's own): the
/// setting says so, is never offered, and a change is refused with a reason, not faked.
#[test]
fn starting_at_login_is_unavailable_where_there_is_no_login_entry() {
    let app = TestApp::new();
    let setting = app.invoke("start_at_login", json!({})).unwrap();
    assert_eq!(
        setting,
        json!({ "available": false, "enabled": false, "offer": false })
    );
    let refused = app
        .invoke("set_start_at_login", json!({ "enabled": true }))
        .unwrap_err();
    assert_eq!(refused["kind"], "internal", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("cannot start at login"),
        "{refused}"
    );
}
