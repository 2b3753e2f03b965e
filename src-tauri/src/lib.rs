//! The Tidesync app shell.
//!
//! This crate is the only place that knows about Tauri. It stays thin: commands parse their
//! arguments, call into the core crates and map errors; no sync logic lives here.
//!
//! - [`commands`]: every `#[tauri::command]`, one module per area, registered in [`builder`].
//! - [`dto`]: the serializable types the webview receives, mirrored into `gen/ipc/` by ts-rs.
//! - [`error`]: the one error type commands return, crossing IPC as `{ kind, message }`.
//! - [`logging`]: the `tracing` subscriber for the platform the app runs on.

pub mod commands;
pub mod dto;
pub mod error;
mod logging;

use tauri::{Builder, Runtime};

/// Adds Tidesync's commands and set-up to a Tauri builder.
///
/// Generic over the runtime so that tests drive the very same wiring with
/// `tauri::test::mock_builder()` instead of a real webview.
pub fn builder<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder.invoke_handler(tauri::generate_handler![commands::app::app_info])
}

/// Starts the app: the desktop `main` and the mobile entry point both land here.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    logging::init();
    let app = builder(Builder::default()).build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(error) => {
            tracing::error!(%error, "the app could not start");
            std::process::exit(1);
        }
    }
}
