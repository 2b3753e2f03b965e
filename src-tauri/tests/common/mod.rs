//! A Tidesync app on Tauri's mock runtime, driven through real IPC routing: the same wiring the
//! app runs (`builder_at`), real argument parsing and serialization, channels captured by a
//! channel interceptor, `jobs-changed` captured by a listener. Everything lives in a temp dir.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, Manager, WebviewWindow, WebviewWindowBuilder};
use tidesync_app_lib::state::{AppState, Started};

pub const IDENTIFIER: &str = "app.tidesync.test";

/// Messages the app sent: per channel id, in order.
#[derive(Clone, Default)]
pub struct Channels(Arc<Mutex<Vec<(u32, Value)>>>);

impl Channels {
    /// Everything channel `id` received so far.
    pub fn of(&self, id: u32) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| *c == id)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Waits until channel `id` received a message of `kind` (the SyncEvent's `type`).
    pub fn wait_for(&self, id: u32, kind: &str) -> Vec<Value> {
        wait_until(&format!("a {kind} on channel {id}"), || {
            let seen = self.of(id);
            seen.iter().any(|m| m["type"] == kind).then_some(seen)
        })
    }
}

pub struct TestApp {
    pub app: App<MockRuntime>,
    pub window: WebviewWindow<MockRuntime>,
    pub channels: Channels,
    pub jobs_changed: Arc<Mutex<Vec<Value>>>,
    pub root: tempfile::TempDir,
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::in_root(tempfile::tempdir().unwrap())
    }

    /// An app whose folders are all below `root`, as the test left it.
    pub fn in_root(root: tempfile::TempDir) -> TestApp {
        let channels = Channels::default();
        let recorded = channels.clone();
        let mut context = mock_context(noop_assets());
        context.config_mut().identifier = IDENTIFIER.to_owned();
        let mut app = tidesync_app_lib::builder_at(mock_builder(), root.path().to_owned())
            .channel_interceptor(move |_webview, channel, _index, body| {
                let message: Value = match body {
                    InvokeResponseBody::Json(json) => serde_json::from_str(json).unwrap(),
                    InvokeResponseBody::Raw(_) => panic!("progress is sent as JSON"),
                };
                recorded.0.lock().unwrap().push((channel.0, message));
                true
            })
            .build(context)
            .expect("the app builds on the mock runtime");
        // The app's setup runs when the event loop starts; one iteration of the mock loop
        // runs it (the deprecation warns against calling this in a loop, which we do not).
        #[allow(deprecated)]
        app.run_iteration(|_, _| {});
        let window = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("the main window opens");
        let jobs_changed = Arc::new(Mutex::new(Vec::new()));
        let sink = jobs_changed.clone();
        app.listen_any(tidesync_app_lib::JOBS_CHANGED, move |event| {
            let payload: Value = serde_json::from_str(event.payload()).unwrap();
            sink.lock().unwrap().push(payload);
        });
        TestApp {
            app,
            window,
            channels,
            jobs_changed,
            root,
        }
    }

    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke(&self.window, cmd, args)
    }

    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args.clone())
            .unwrap_or_else(|e| panic!("{cmd} {args} failed: {e}"))
    }

    pub fn state(&self) -> tauri::State<'_, AppState> {
        self.app.state::<AppState>()
    }

    /// The engine and its lifecycle, once start-up opened them (it does so in the background).
    pub fn started(&self) -> &Started {
        let state = self.app.state::<AppState>().inner();
        tauri::async_runtime::block_on(state.started()).expect("the engine opened")
    }

    /// Waits until `pair` has no job under way.
    pub fn wait_idle(&self, pair: i64, what: &str) {
        let engine = &self.started().engine;
        let pair = tidesync_engine::PairId(pair);
        wait_until(what, || engine.unfinished_job(pair).is_none().then_some(()));
    }

    /// Adds a remote at `url` and a download pair into a named folder; returns the pair id.
    pub fn pair(&self, url: &str, folder: &str) -> i64 {
        let remote = self.ok("add_remote", json!({ "name": "Test", "url": url }));
        let pair = self.ok(
            "add_pair",
            json!({
                "remoteId": remote["id"],
                "remotePath": "",
                "local": { "kind": "named", "name": folder },
                "mode": "download",
            }),
        );
        pair["id"].as_i64().unwrap()
    }

    pub fn folder(&self, name: &str) -> std::path::PathBuf {
        self.root.path().join("folders").join(name)
    }
}

pub fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("a valid URL"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, request).map(|body| body.deserialize::<Value>().expect("a JSON reply"))
}

/// The channel argument for channel `id`, as the webview's `Channel` serializes itself.
pub fn channel(id: u32) -> String {
    format!("__CHANNEL__:{id}")
}

/// Polls `check` until it returns something; a bound only so that a bug fails instead of
/// hanging (the work itself takes well under a second).
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
