//! What the webview may do: no remote script, only the app's own commands and event listening,
//! and no way to hand the backend a filesystem path.

mod common;

use common::TestApp;
use serde_json::{Value, json};

fn config(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_csp_allows_only_the_apps_own_scripts_and_ipc() {
    let csp = &config("tauri.conf.json")["app"]["security"]["csp"];
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["script-src"], "'self'", "no remote or inline script");
    assert_eq!(csp["object-src"], "'none'");
    let connect = csp["connect-src"].as_str().unwrap();
    for source in connect.split_whitespace() {
        assert!(
            ["ipc:", "http://ipc.localhost"].contains(&source),
            "the page connects only to the IPC bridge, not {source}"
        );
    }
    assert_eq!(
        config("tauri.conf.json")["app"]["security"]["freezePrototype"],
        true
    );
}

#[test]
fn the_main_window_gets_the_apps_commands_and_event_listening_only() {
    let capability = config("capabilities/main.json");
    assert_eq!(capability["windows"], json!(["main"]));
    for permission in capability["permissions"].as_array().unwrap() {
        let permission = permission.as_str().unwrap();
        let own = permission.starts_with("allow-") && !permission.contains(':');
        let listening =
            ["core:event:allow-listen", "core:event:allow-unlisten"].contains(&permission);
        assert!(
            own || listening,
            "{permission}: no plugin (fs, shell, dialog, http) is reachable from the page"
        );
    }
}

/// The debug commands (suspend and resume the app; quit it as the tray does) and closing the
/// window from the page (as its close button does) are granted only by a capability the E2E build reads (`capabilities/e2e/`, chosen in `build.rs`); a release
/// build never grants them.
#[test]
fn a_release_build_grants_no_debug_command() {
    let top = std::fs::read_dir(format!("{}/capabilities", env!("CARGO_MANIFEST_DIR"))).unwrap();
    for entry in top {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains("debug"),
                "{} is read by release builds and must grant no debug command",
                path.display()
            );
        }
    }
    let e2e = config("capabilities/e2e/debug-lifecycle.json");
    assert_eq!(
        e2e["permissions"],
        json!([
            "allow-debug-lifecycle",
            "allow-debug-quit",
            "core:window:allow-close"
        ])
    );
    let build =
        std::fs::read_to_string(format!("{}/build.rs", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        build.contains("\"./capabilities/*.json\""),
        "build.rs reads only the top folder without the E2E feature"
    );
}

#[test]
fn a_pair_cannot_be_given_a_path_from_the_page() {
    let app = TestApp::new();
    let served = tempfile::tempdir().unwrap();
    let server =
        tauri::async_runtime::block_on(tidesync_testkit::DavServer::serve(served.path())).unwrap();
    let remote = app.ok("add_remote", json!({ "name": "x", "url": server.url() }));
    let outside = tempfile::tempdir().unwrap();
    for local in [
        json!({ "kind": "path", "path": outside.path() }),
        json!(outside.path()),
        json!({ "kind": "named", "name": outside.path() }),
        json!({ "kind": "named", "name": "../../escape" }),
    ] {
        let error = app
            .invoke(
                "add_pair",
                json!({ "remoteId": remote["id"], "remotePath": "", "local": local, "mode": "download" }),
            )
            .expect_err("refused");
        assert!(!error.to_string().is_empty(), "{local}: {error}");
    }
    assert_eq!(app.ok("list_pairs", json!({})), json!([]));
    assert!(
        std::fs::read_dir(outside.path()).unwrap().next().is_none(),
        "nothing was written outside the app's folders"
    );
}

/// iOS: the synced folders (in the app's Documents) show in the Files app, and plain HTTP
/// stays limited to this device.
#[test]
fn the_ios_plist_shares_documents_and_keeps_transport_security() {
    let plist =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Info.ios.plist")).unwrap();
    let value_of = |key: &str| {
        let after = plist
            .split(&format!("<key>{key}</key>"))
            .nth(1)
            .unwrap_or_else(|| panic!("{key} is missing"));
        after.trim_start().split('>').next().unwrap().to_owned() + ">"
    };
    assert_eq!(value_of("UIFileSharingEnabled"), "<true/>");
    assert_eq!(value_of("LSSupportsOpeningDocumentsInPlace"), "<true/>");
    assert_eq!(value_of("NSAllowsArbitraryLoads"), "<false/>");
    assert_eq!(value_of("NSAllowsLocalNetworking"), "<true/>");
}
