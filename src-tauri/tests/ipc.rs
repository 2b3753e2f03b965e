//! The app's commands driven through real IPC routing on Tauri's mock runtime: the same
//! `builder()` the app runs, the same argument parsing and serialization, no webview.

use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

const IDENTIFIER: &str = "app.tidesync.test";

fn app() -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let mut context = mock_context(noop_assets());
    context.config_mut().identifier = IDENTIFIER.to_owned();
    let app = tidesync_app_lib::builder(mock_builder())
        .build(context)
        .expect("the app builds on the mock runtime");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("the main window opens");
    (app, window)
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
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

#[test]
fn app_info_reports_version_platform_and_data_dir() {
    let (_app, window) = app();

    let info =
        invoke(&window, "app_info", Value::Object(Default::default())).expect("app_info succeeds");

    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["platform"], std::env::consts::OS);
    assert_eq!(info["arch"], std::env::consts::ARCH);
    let data_dir = info["dataDir"].as_str().expect("dataDir is a string");
    assert!(
        data_dir.ends_with(IDENTIFIER),
        "the data dir is the app's own folder, named for its identifier: {data_dir}"
    );
}

#[test]
fn an_unknown_command_is_refused() {
    let (_app, window) = app();

    let error = invoke(
        &window,
        "no_such_command",
        Value::Object(Default::default()),
    )
    .expect_err("an unregistered command fails");

    assert!(error.to_string().contains("no_such_command"), "{error}");
}
