//! Servers with their logins and the certificate the user trusts: adding or changing one is
//! one operation that tests the connection, saves the remote, its pinned certificate and its
//! password, or leaves everything as it was.
//!
//! A remote saved without its password would fail every sync with "wrong password" although
//! the user typed the right one; so when the password store fails, a new remote is removed
//! again and a changed one goes back to what it was.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tidesync_webdav::{Credentials, ServerKind, fingerprint_hex, parse_fingerprint};

use super::{Engine, EngineError, lock};
use crate::model::{PlainHttp, Remote as RemoteRecord, RemoteId};

/// Where passwords are kept between runs: the platform's credential store in the app. Every
/// method may block (D-Bus, Keychain, a file); the engine calls them on the blocking pool.
pub trait PasswordStore: fmt::Debug + Send + Sync + 'static {
    fn store(&self, remote: RemoteId, password: &str) -> Result<(), PasswordStoreError>;
    fn load(&self, remote: RemoteId) -> Result<Option<String>, PasswordStoreError>;
    fn forget(&self, remote: RemoteId) -> Result<(), PasswordStoreError>;
}

/// A password could not be stored, read or removed.
#[derive(Debug, thiserror::Error)]
#[error("passwords cannot be stored: {0}")]
pub struct PasswordStoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Keeps passwords for the life of the process only: for the CLI, which is given its password
/// on every run.
#[derive(Debug, Default)]
pub struct ProcessPasswords {
    passwords: Mutex<HashMap<RemoteId, String>>,
}

impl PasswordStore for ProcessPasswords {
    fn store(&self, remote: RemoteId, password: &str) -> Result<(), PasswordStoreError> {
        lock(&self.passwords).insert(remote, password.to_owned());
        Ok(())
    }

    fn load(&self, remote: RemoteId) -> Result<Option<String>, PasswordStoreError> {
        Ok(lock(&self.passwords).get(&remote).cloned())
    }

    fn forget(&self, remote: RemoteId) -> Result<(), PasswordStoreError> {
        lock(&self.passwords).remove(&remote);
        Ok(())
    }
}

/// A server as the user describes it: trimmed, with no blank name or address.
#[derive(Debug, Clone)]
pub struct ServerForm {
    pub name: String,
    pub url: String,
    pub user: Option<String>,
    /// When changing a server, `None` keeps the stored password.
    pub password: Option<String>,
    /// The certificate the user chose to trust for a server no authority vouches for, by
    /// the SHA-256 fingerprint they were shown. When changing a server, `None` keeps the one
    /// trusted before.
    pub pin_sha256: Option<String>,
}

impl ServerForm {
    /// The pin in its one written form (`AB:CD:…`), refused if it is not a fingerprint.
    fn pin(&self, before: Option<&str>) -> Result<Option<String>, EngineError> {
        match self.pin_sha256.as_deref().or(before) {
            Some(pin) => Ok(Some(fingerprint_hex(&parse_fingerprint(pin)?))),
            None => Ok(None),
        }
    }

    fn credentials(&self, password: Option<&str>) -> Result<Option<Credentials>, EngineError> {
        match (&self.user, password) {
            (Some(user), password) => Ok(Some(Credentials::new(user, password.unwrap_or("")))),
            (None, Some(p)) if !p.is_empty() => Err(EngineError::PasswordWithoutUser),
            (None, _) => Ok(None),
        }
    }
}

/// What a form's connection test established, to be saved.
struct Tested {
    credentials: Option<Credentials>,
    /// The certificate trusted for the server, in its one written form.
    pin: Option<String>,
    kind: Option<ServerKind>,
}

impl Engine {
    /// Hands the engine every stored password, for the remotes that have a user. Call once,
    /// before the first sync.
    pub async fn load_passwords(&self) -> Result<(), EngineError> {
        for remote in self.remotes().await? {
            let Some(user) = remote.user else { continue };
            let id = remote.id;
            if let Some(password) = self.passwords(move |s| s.load(id)).await? {
                self.set_credentials(id, Credentials::new(user, password));
            }
        }
        Ok(())
    }

    /// Tests the connection (one PROPFIND), then saves the remote and stores its password; if
    /// the password cannot be stored, nothing is saved.
    pub async fn add_server(&self, form: ServerForm) -> Result<RemoteRecord, EngineError> {
        let tested = self
            .test_form(&form, form.password.as_deref(), None)
            .await?;
        let id = self
            .add_remote(
                &form.name,
                &form.url,
                form.user.as_deref(),
                PlainHttp::LoopbackOnly,
            )
            .await?;
        if let Err(error) = self.keep(id, tested.kind, tested.pin, &form).await {
            let undone = self.inner.journal.call(move |j| j.remove_remote(id)).await;
            if let Err(undo) = undone {
                tracing::warn!(%undo, "could not remove the remote whose password failed");
            }
            return Err(error);
        }
        self.use_credentials(id, tested.credentials);
        tracing::info!(id = id.0, url = %form.url, "remote added");
        self.remote(id).await
    }

    /// Changes a server's name, address or login. The new connection is tested first (with
    /// the stored password when none is given); if the password cannot be stored, the remote
    /// goes back to what it was.
    pub async fn change_server(
        &self,
        id: RemoteId,
        form: ServerForm,
    ) -> Result<RemoteRecord, EngineError> {
        let before = self.remote(id).await?;
        let password = match (&form.password, &form.user) {
            (Some(password), _) => Some(password.clone()),
            (None, Some(_)) => self.passwords(move |s| s.load(id)).await?,
            (None, None) => None,
        };
        let tested = self
            .test_form(&form, password.as_deref(), before.pin_sha256.as_deref())
            .await?;
        self.update_remote(id, &form.name, &form.url, form.user.as_deref())
            .await?;
        if let Err(error) = self.keep(id, tested.kind, tested.pin, &form).await {
            let undone = self.restore(before).await;
            if let Err(undo) = undone {
                tracing::warn!(%undo, "could not restore the remote whose password failed");
            }
            return Err(error);
        }
        self.use_credentials(id, tested.credentials);
        self.remote(id).await
    }

    /// The form's connection test (one PROPFIND) with `password` and the certificate trusted
    /// by the form, or else `pinned_before`.
    async fn test_form(
        &self,
        form: &ServerForm,
        password: Option<&str>,
        pinned_before: Option<&str>,
    ) -> Result<Tested, EngineError> {
        let credentials = form.credentials(password)?;
        let pin = form.pin(pinned_before)?;
        let kind = self
            .check_remote(
                &form.url,
                credentials.clone(),
                PlainHttp::LoopbackOnly,
                pin.as_deref(),
            )
            .await?;
        Ok(Tested {
            credentials,
            pin,
            kind,
        })
    }

    /// Records what the connection test learned and the trusted certificate, and stores (or
    /// forgets) the password.
    async fn keep(
        &self,
        id: RemoteId,
        kind: Option<ServerKind>,
        pin: Option<String>,
        form: &ServerForm,
    ) -> Result<(), EngineError> {
        self.set_server_kind(id, kind).await?;
        self.inner
            .journal
            .call(move |j| j.set_remote_pin(id, pin.as_deref()))
            .await?;
        self.inner.clients.close_all();
        match (&form.user, form.password.clone()) {
            (Some(_), Some(password)) => self.passwords(move |s| s.store(id, &password)).await,
            (Some(_), None) => Ok(()),
            (None, _) => self.passwords(move |s| s.forget(id)).await,
        }
    }

    fn use_credentials(&self, id: RemoteId, credentials: Option<Credentials>) {
        match credentials {
            Some(credentials) => self.set_credentials(id, credentials),
            None => self.inner.clients.forget(id),
        }
    }

    /// Puts a remote back as it was saved before.
    async fn restore(&self, before: RemoteRecord) -> Result<(), EngineError> {
        self.inner
            .journal
            .call(move |j| {
                j.update_remote(before.id, &before.name, &before.url, before.user.as_deref())?;
                j.set_server_kind(before.id, before.server_kind.as_deref())?;
                j.set_remote_pin(before.id, before.pin_sha256.as_deref())
            })
            .await?;
        self.inner.clients.close_all();
        Ok(())
    }

    /// Runs a password-store call on the blocking pool.
    pub(super) async fn passwords<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn PasswordStore) -> Result<T, PasswordStoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store: Arc<dyn PasswordStore> = self.inner.options.passwords.clone();
        tokio::task::spawn_blocking(move || work(store.as_ref()))
            .await
            .map_err(|e| EngineError::Worker(e.to_string()))?
            .map_err(EngineError::from)
    }
}
