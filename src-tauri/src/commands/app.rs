//! Facts about the running app itself.

use tauri::{AppHandle, Manager, Runtime};

use crate::dto::AppInfo;
use crate::error::Error;

/// Returns the app's version, the platform it runs on and its private data directory.
///
/// Async because resolving the data directory may touch the file system on some platforms, and
/// async commands run on the runtime instead of the main thread.
#[tauri::command]
pub async fn app_info<R: Runtime>(app: AppHandle<R>) -> Result<AppInfo, Error> {
    let data_dir = app
        .path()
        .app_data_dir()
        .map_err(|source| Error::DataDir { source })?;
    Ok(AppInfo {
        version: app.package_info().version.to_string(),
        platform: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        data_dir: data_dir.display().to_string(),
    })
}
