//! Test-only access to the lifecycle controller: desktop windows never suspend, so E2E builds
//! (cargo feature `debug-lifecycle`) suspend and resume the engine through this command the
//! way a phone's window events do; and a quit as the tray's Quit does it, since WebDriver
//! cannot click a tray menu.

use tauri::{AppHandle, Runtime, State};

use crate::dto::LifecycleDto;
use crate::error::Error;
use crate::lifecycle::Hint;
use crate::state::AppState;

#[tauri::command]
pub async fn debug_lifecycle(
    state: State<'_, AppState>,
    hint: Hint,
) -> Result<LifecycleDto, Error> {
    let applied = state.started().await?.lifecycle.apply(hint).await;
    Ok(LifecycleDto {
        changed: applied.changed,
        took_ms: applied.took.map(|d| d.as_millis() as u64),
    })
}

/// Quits the app as the tray's Quit does: every job checkpoints, the window's state is kept.
#[tauri::command]
pub fn debug_quit<R: Runtime>(app: AppHandle<R>) {
    app.exit(0);
}
