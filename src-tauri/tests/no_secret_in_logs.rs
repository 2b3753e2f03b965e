//! A whole sync with a password, logged at trace level into a buffer: neither the password
//! nor the Authorization header's value appears anywhere in it. Its own test binary, because
//! it installs the process-wide subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{TestApp, channel};
use serde_json::json;
use tidesync_testkit::RcloneServer;
use tidesync_testkit::tree::write_tree;

const USER: &str = "alice";
const PASSWORD: &str = "c0rrect-h0rse-battery";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Standard base64, as in `Authorization: Basic …`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_sync_logged_at_trace_level_shows_no_password() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let served = tempfile::tempdir().unwrap();
    write_tree(served.path(), 11, 12);
    let server =
        tauri::async_runtime::block_on(RcloneServer::serve(served.path(), Some((USER, PASSWORD))))
            .unwrap();
    let app = TestApp::new();
    let remote = app.ok(
        "add_remote",
        json!({ "name": "r", "url": server.url(), "user": USER, "password": PASSWORD }),
    );
    let pair = app.ok(
        "add_pair",
        json!({
            "remoteId": remote["id"],
            "remotePath": "",
            "local": { "kind": "named", "name": "Mirror" },
            "mode": "twoWay",
        }),
    );
    std::fs::write(app.folder("Mirror").join("up.txt"), b"from here").unwrap();
    app.ok(
        "start_sync",
        json!({ "pairId": pair["id"], "onEvent": channel(1) }),
    );
    let seen = app.channels.wait_for(1, "finished");
    let summary = &seen.last().unwrap()["summary"];
    assert_eq!(summary["filesDownloaded"], 12, "{summary}");
    assert_eq!(summary["filesUploaded"], 1, "{summary}");

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("TRACE"), "trace level was on");
    assert!(logs.contains("remote added"), "the sync was logged");
    let header = base64(format!("{USER}:{PASSWORD}").as_bytes());
    assert!(!logs.contains(PASSWORD), "the password is in the logs");
    assert!(
        !logs.contains(&header),
        "the Authorization value is in the logs"
    );
}
