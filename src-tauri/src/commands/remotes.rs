//! Remotes: the WebDAV servers the user connected. A remote is saved only after a PROPFIND
//! with its credentials succeeded; its password goes to the password store, never anywhere else.

use std::sync::Arc;

use tauri::State;
use tidesync_engine::{Credentials, RemoteId};
use tidesync_webdav::ServerKind;

use crate::demo;
use crate::dto::{DemoDto, RemoteDto};
use crate::error::Error;
use crate::secrets::Secrets;
use crate::state::AppState;

#[tauri::command]
pub async fn list_remotes(state: State<'_, AppState>) -> Result<Vec<RemoteDto>, Error> {
    Ok(state
        .engine
        .remotes()
        .await?
        .into_iter()
        .map(RemoteDto::from)
        .collect())
}

/// Tests the connection, then saves the remote and its password.
#[tauri::command]
pub async fn add_remote(
    state: State<'_, AppState>,
    name: String,
    url: String,
    user: Option<String>,
    password: Option<String>,
) -> Result<RemoteDto, Error> {
    let form = Form::new(&name, &url, user)?;
    let tested = form.test(&state, password).await?;
    let id = state
        .engine
        .add_remote(
            &tested.form.name,
            &tested.form.url,
            tested.form.user(),
            false,
        )
        .await?;
    tracing::info!(id, url = %tested.form.url, "remote added");
    tested.keep(&state, id).await
}

/// Renames a remote or changes its address or login; a new address or login is tested first.
/// Without a password the stored one is kept.
#[tauri::command]
pub async fn update_remote(
    state: State<'_, AppState>,
    id: RemoteId,
    name: String,
    url: String,
    user: Option<String>,
    password: Option<String>,
) -> Result<RemoteDto, Error> {
    let form = Form::new(&name, &url, user)?;
    let password = match password {
        Some(password) => Some(password),
        None if form.user.is_some() => blocking(&state.secrets, move |s| s.load(id)).await?,
        None => None,
    };
    let tested = form.test(&state, password).await?;
    state
        .engine
        .update_remote(id, &tested.form.name, &tested.form.url, tested.form.user())
        .await?;
    tested.keep(&state, id).await
}

/// What the server form says, trimmed and checked for blanks.
struct Form {
    name: String,
    url: String,
    user: Option<String>,
}

/// A form whose connection test passed.
struct Tested {
    form: Form,
    password: Option<String>,
    credentials: Option<Credentials>,
    kind: Option<ServerKind>,
}

impl Form {
    fn new(name: &str, url: &str, user: Option<String>) -> Result<Form, Error> {
        Ok(Form {
            name: required("name", name)?,
            url: required("server address", url)?,
            user: user.filter(|u| !u.trim().is_empty()),
        })
    }

    fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// One PROPFIND with these credentials: nothing is saved for a server that does not work.
    async fn test(self, state: &AppState, password: Option<String>) -> Result<Tested, Error> {
        let credentials = credentials(self.user(), password.as_deref())?;
        let kind = state
            .engine
            .check_remote(&self.url, credentials.clone(), false)
            .await?;
        Ok(Tested {
            form: self,
            password,
            credentials,
            kind,
        })
    }
}

impl Tested {
    /// Records the server kind and the password for the saved remote `id`.
    async fn keep(self, state: &AppState, id: RemoteId) -> Result<RemoteDto, Error> {
        state.engine.set_server_kind(id, self.kind).await?;
        keep_password(state, id, self.credentials, self.password).await?;
        let Form { name, url, user } = self.form;
        Ok(RemoteDto {
            id,
            name,
            url,
            user,
            server_kind: self.kind.map(|k| k.name().to_owned()),
        })
    }
}

/// Forgets a remote, its pairs and its password. Files on both sides stay.
#[tauri::command]
pub async fn remove_remote(state: State<'_, AppState>, id: RemoteId) -> Result<(), Error> {
    state.engine.remove_remote(id).await?;
    blocking(&state.secrets, move |s| s.forget(id)).await
}

/// Starts the embedded demo remote and adds it with a pair, ready to sync.
#[tauri::command]
pub async fn add_demo_remote(state: State<'_, AppState>) -> Result<DemoDto, Error> {
    demo::start(&state).await
}

fn required(what: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::InvalidInput(format!("The {what} is empty.")));
    }
    Ok(value.to_owned())
}

fn credentials(user: Option<&str>, password: Option<&str>) -> Result<Option<Credentials>, Error> {
    match (user, password) {
        (Some(user), password) => Ok(Some(Credentials::new(user, password.unwrap_or("")))),
        (None, Some(p)) if !p.is_empty() => Err(Error::InvalidInput(
            "A password was given without a user name.".to_owned(),
        )),
        (None, _) => Ok(None),
    }
}

/// Stores the password and hands the credentials to the engine, or forgets both.
async fn keep_password(
    state: &AppState,
    id: RemoteId,
    credentials: Option<Credentials>,
    password: Option<String>,
) -> Result<(), Error> {
    match (credentials, password) {
        (Some(credentials), Some(password)) => {
            blocking(&state.secrets, move |s| s.store(id, &password)).await?;
            state.engine.set_credentials(id, credentials);
        }
        (Some(credentials), None) => state.engine.set_credentials(id, credentials),
        (None, _) => blocking(&state.secrets, move |s| s.forget(id)).await?,
    }
    Ok(())
}

/// Runs a password-store call on the blocking pool: it may talk D-Bus or touch the disk.
async fn blocking<T: Send + 'static>(
    secrets: &Arc<Secrets>,
    work: impl FnOnce(&Secrets) -> Result<T, crate::secrets::SecretError> + Send + 'static,
) -> Result<T, Error> {
    let secrets = secrets.clone();
    tauri::async_runtime::spawn_blocking(move || work(&secrets))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map_err(Error::from)
}
