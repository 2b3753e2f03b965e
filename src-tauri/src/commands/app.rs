//! Facts about the running app itself.

use tauri::{AppHandle, Runtime, State};

use crate::dto::AppInfo;
use crate::error::Error;
use crate::state::AppState;

/// Returns the app's version, the platform it runs on and its private data directory.
#[tauri::command]
pub async fn app_info<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<AppInfo, Error> {
    Ok(AppInfo {
        version: app.package_info().version.to_string(),
        platform: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        data_dir: state.places.data.display().to_string(),
    })
}
