//! Facts about the running app itself.

use std::path::PathBuf;

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

/// Opens the folder of the app's log files in the desktop's file manager.
#[tauri::command]
pub async fn open_logs_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), Error> {
    open_folder(&app, state.places.logs.clone()).await
}

/// Shows `file` selected in the desktop's file manager.
#[cfg(desktop)]
pub(crate) async fn reveal<R: Runtime>(app: &AppHandle<R>, file: PathBuf) -> Result<(), Error> {
    use tauri_plugin_opener::OpenerExt;
    let app = app.clone();
    let shown = tokio::task::spawn_blocking(move || app.opener().reveal_item_in_dir(&file))
        .await
        .map_err(|e| Error::Task(e.to_string()))?;
    shown.map_err(|e| Error::Open(e.to_string()))
}

#[cfg(desktop)]
pub(crate) async fn open_folder<R: Runtime>(
    app: &AppHandle<R>,
    folder: PathBuf,
) -> Result<(), Error> {
    use tauri_plugin_opener::OpenerExt;
    let app = app.clone();
    let path = folder.display().to_string();
    let opened = tokio::task::spawn_blocking(move || app.opener().open_path(path, None::<&str>))
        .await
        .map_err(|e| Error::Task(e.to_string()))?;
    opened.map_err(|e| Error::Open(e.to_string()))
}

/// Phones have no file manager to show a file in.
#[cfg(mobile)]
pub(crate) async fn reveal<R: Runtime>(_app: &AppHandle<R>, _file: PathBuf) -> Result<(), Error> {
    Err(Error::Open(
        "showing files is not available on phones".to_owned(),
    ))
}

#[cfg(mobile)]
pub(crate) async fn open_folder<R: Runtime>(
    _app: &AppHandle<R>,
    _folder: PathBuf,
) -> Result<(), Error> {
    Err(Error::Open(
        "opening folders is not available on phones".to_owned(),
    ))
}
