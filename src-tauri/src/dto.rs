//! The types the webview receives. Each derives `ts_rs::TS`; `cargo test` writes their
//! TypeScript mirror into `gen/ipc/`, and CI fails when that mirror is out of date.

use serde::Serialize;
use ts_rs::TS;

/// What the app tells the UI about itself.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppInfo {
    /// The app's semantic version, from the workspace `Cargo.toml`.
    pub version: String,
    /// The operating system: `linux`, `macos`, `windows`, `android` or `ios`.
    pub platform: String,
    /// The CPU architecture, e.g. `x86_64` or `aarch64`.
    pub arch: String,
    /// The app's private data directory, where the journal lives.
    pub data_dir: String,
}
