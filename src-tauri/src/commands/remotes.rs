//! Remotes: the WebDAV servers the user connected. The engine saves a remote only after a
//! PROPFIND with its credentials succeeded, and only together with its password (which goes to
//! the password store, never anywhere else) and the certificate the user chose to trust, if
//! any; these commands check the form and hand it over. A refused certificate comes back as
//! `untrustedCertificate` with what it says; the UI sends its fingerprint back as `pinSha256`
//! once the user trusts it.

use tauri::State;
use tidesync_engine::{RemoteId, ServerForm};

use crate::demo;
use crate::dto::{DemoDto, RemoteDto};
use crate::error::Error;
use crate::state::AppState;

#[tauri::command]
pub async fn list_remotes(state: State<'_, AppState>) -> Result<Vec<RemoteDto>, Error> {
    Ok(state
        .engine()
        .await?
        .remotes()
        .await?
        .into_iter()
        .map(RemoteDto::from)
        .collect())
}

/// Tests the connection, then saves the remote, its password and the trusted certificate.
#[tauri::command]
pub async fn add_remote(
    state: State<'_, AppState>,
    name: String,
    url: String,
    user: Option<String>,
    password: Option<String>,
    pin_sha256: Option<String>,
) -> Result<RemoteDto, Error> {
    let form = form(&name, &url, user, password, pin_sha256)?;
    Ok(state.engine().await?.add_server(form).await?.into())
}

/// Renames a remote or changes its address or login; a new address or login is tested first.
/// Without a password the stored one is kept, and so is a trusted certificate without a new
/// one.
#[tauri::command]
pub async fn update_remote(
    state: State<'_, AppState>,
    id: RemoteId,
    name: String,
    url: String,
    user: Option<String>,
    password: Option<String>,
    pin_sha256: Option<String>,
) -> Result<RemoteDto, Error> {
    let form = form(&name, &url, user, password, pin_sha256)?;
    Ok(state.engine().await?.change_server(id, form).await?.into())
}

/// Forgets a remote, its pairs and its password. Files on both sides stay.
#[tauri::command]
pub async fn remove_remote(state: State<'_, AppState>, id: RemoteId) -> Result<(), Error> {
    Ok(state.engine().await?.remove_remote(id).await?)
}

/// Starts the embedded demo remote and adds it with a pair, ready to sync.
#[tauri::command]
pub async fn add_demo_remote(state: State<'_, AppState>) -> Result<DemoDto, Error> {
    demo::start(&state, state.engine().await?).await
}

/// What the server form says, trimmed, with no blank name or address.
fn form(
    name: &str,
    url: &str,
    user: Option<String>,
    password: Option<String>,
    pin_sha256: Option<String>,
) -> Result<ServerForm, Error> {
    Ok(ServerForm {
        name: required("name", name)?,
        url: required("server address", url)?,
        user: user.filter(|u| !u.trim().is_empty()),
        password,
        pin_sha256: pin_sha256.filter(|p| !p.trim().is_empty()),
    })
}

pub(super) fn required(what: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::InvalidInput(format!("The {what} is empty.")));
    }
    Ok(value.to_owned())
}
