//! Signing in to Nextcloud by Login Flow v2. `begin_login` starts a flow at the address the
//! user typed and opens its page in the system browser (where their saved logins and
//! two-factor apps are); the UI shows the same link in case no browser opened.
//! `complete_login` waits for the grant and saves the server with the app password the
//! server made for this device; the account password is typed only on the server's own page,
//! so it never reaches the app. `cancel_login` ends the wait.

use tauri::{AppHandle, Runtime, State};
use tauri_plugin_opener::OpenerExt;
use tidesync_engine::RemoteId;

use crate::commands::remotes::required;
use crate::dto::{LoginStartedDto, RemoteDto};
use crate::error::Error;
use crate::state::AppState;

/// Starts a sign-in at `url` (the server's address) and opens its page in the browser. With
/// `pin_sha256`, exactly that certificate is trusted, as when adding a server.
#[tauri::command]
pub async fn begin_login<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    url: String,
    pin_sha256: Option<String>,
) -> Result<LoginStartedDto, Error> {
    let url = required("server address", &url)?;
    let pin = pin_sha256.filter(|p| !p.trim().is_empty());
    let (login_id, login_url) = state
        .engine()
        .await?
        .begin_login(&url, pin.as_deref())
        .await?;
    if let Err(error) = app.opener().open_url(&login_url, None::<&str>) {
        tracing::warn!(%error, "no browser could be opened; the page shows the link");
    }
    Ok(LoginStartedDto {
        login_id,
        login_url,
    })
}

/// Waits until the user granted access in the browser, then saves the server as `name`: a
/// new one, or with `remote_id` that server signed in again (its app password was revoked).
#[tauri::command]
pub async fn complete_login(
    state: State<'_, AppState>,
    login_id: u64,
    name: String,
    remote_id: Option<RemoteId>,
) -> Result<RemoteDto, Error> {
    let name = required("name", &name)?;
    Ok(state
        .engine()
        .await?
        .complete_login(login_id, &name, remote_id)
        .await?
        .into())
}

/// Stops waiting for a sign-in; its `complete_login` ends with an error.
#[tauri::command]
pub async fn cancel_login(state: State<'_, AppState>, login_id: u64) -> Result<(), Error> {
    Ok(state.engine().await?.cancel_login(login_id)?)
}
