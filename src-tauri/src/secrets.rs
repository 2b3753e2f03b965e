//! Where remote passwords live: the OS credential store when there is one, else a file only the
//! user can read in the app's private data dir.
//!
//! The keyring crate reaches the macOS/iOS Keychain, the Windows Credential Manager and the
//! Linux Secret Service. Android has no store it reaches, and a headless Linux session often
//! has no Secret Service running; there the password goes to `secrets.json` (mode 0600) and the
//! log says so once. A password is never written to the journal, never logged and never sent
//! to the webview: commands only say whether a remote has one.
//!
//! Every method blocks (D-Bus, Keychain, file I/O): async callers use `spawn_blocking`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tidesync_engine::{PasswordStore, PasswordStoreError, RemoteId};

/// The service name passwords are filed under in the OS store.
#[cfg(not(target_os = "android"))]
const SERVICE: &str = "app.tidesync";

/// A password could not be kept or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    #[error("the password file {path} could not be {action}: {source}")]
    File {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the password file {path} is damaged: {source}")]
    Damaged {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The password store of one app installation.
#[derive(Debug)]
pub struct Secrets {
    file: PathBuf,
    /// False where no OS store can work (Android, tests): the file is used directly.
    use_os_store: bool,
    /// Whether the fallback warning was logged already.
    warned: AtomicBool,
}

impl Secrets {
    /// The OS store where one is reachable, the file in `data_dir` otherwise.
    pub fn new(data_dir: &Path) -> Secrets {
        Secrets {
            file: data_dir.join("secrets.json"),
            use_os_store: cfg!(not(target_os = "android")),
            warned: AtomicBool::new(false),
        }
    }

    /// Only the file in `data_dir`: for tests, which must not touch the user's keychain.
    pub fn file_only(data_dir: &Path) -> Secrets {
        Secrets {
            use_os_store: false,
            ..Secrets::new(data_dir)
        }
    }

    /// Keeps `password` for `remote`, replacing any earlier one.
    fn store_password(&self, remote: RemoteId, password: &str) -> Result<(), SecretError> {
        if self.use_os_store {
            match os_store::set(remote, password) {
                Ok(()) => return self.edit_file(|map| map.remove(&remote.to_string()).is_some()),
                Err(error) => self.warn_fallback(&error),
            }
        }
        self.edit_file(|map| {
            map.insert(remote.to_string(), password.to_owned());
            true
        })
    }

    /// The password kept for `remote`, if any.
    fn load_password(&self, remote: RemoteId) -> Result<Option<String>, SecretError> {
        if self.use_os_store {
            match os_store::get(remote) {
                Ok(Some(password)) => return Ok(Some(password)),
                Ok(None) => {}
                Err(error) => self.warn_fallback(&error),
            }
        }
        Ok(self.read_file()?.remove(&remote.to_string()))
    }

    /// Forgets the password of `remote` wherever it was kept.
    fn forget_password(&self, remote: RemoteId) -> Result<(), SecretError> {
        if self.use_os_store
            && let Err(error) = os_store::delete(remote)
        {
            self.warn_fallback(&error);
        }
        self.edit_file(|map| map.remove(&remote.to_string()).is_some())
    }

    fn warn_fallback(&self, error: &dyn std::fmt::Display) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                %error,
                file = %self.file.display(),
                "no OS credential store is available; passwords are kept in a file only this user can read"
            );
        }
    }

    fn read_file(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read(&self.file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| SecretError::Damaged {
                path: self.file.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(source) => Err(SecretError::File {
                path: self.file.clone(),
                action: "read",
                source,
            }),
        }
    }

    /// Applies `change` and rewrites the file when it reports a change: written to a private
    /// temp file, synced, then renamed over the old one, so a crash leaves one or the other.
    fn edit_file(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> bool,
    ) -> Result<(), SecretError> {
        let mut map = self.read_file()?;
        if !change(&mut map) {
            return Ok(());
        }
        let failed = |action| {
            let path = self.file.clone();
            move |source| SecretError::File {
                path,
                action,
                source,
            }
        };
        let dir = self.file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(failed("created"))?;
        let temp = self.file.with_extension("json.tmp");
        let mut out = private_file(&temp).map_err(failed("written"))?;
        let json = serde_json::to_vec(&map).unwrap_or_default();
        out.write_all(&json)
            .and_then(|()| out.sync_all())
            .map_err(failed("written"))?;
        std::fs::rename(&temp, &self.file).map_err(failed("replaced"))
    }
}

/// The engine stores and forgets passwords through this, on its blocking pool.
impl PasswordStore for Secrets {
    fn store(&self, remote: RemoteId, password: &str) -> Result<(), PasswordStoreError> {
        Ok(self.store_password(remote, password)?)
    }

    fn load(&self, remote: RemoteId) -> Result<Option<String>, PasswordStoreError> {
        Ok(self.load_password(remote)?)
    }

    fn forget(&self, remote: RemoteId) -> Result<(), PasswordStoreError> {
        Ok(self.forget_password(remote)?)
    }
}

impl From<SecretError> for PasswordStoreError {
    fn from(error: SecretError) -> Self {
        PasswordStoreError(Box::new(error))
    }
}

/// Creates `path` readable and writable by its owner only.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(not(target_os = "android"))]
mod os_store {
    use super::{RemoteId, SERVICE};

    fn entry(remote: RemoteId) -> keyring::Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, &format!("remote-{remote}"))
    }

    pub(super) fn set(remote: RemoteId, password: &str) -> keyring::Result<()> {
        entry(remote)?.set_password(password)
    }

    pub(super) fn get(remote: RemoteId) -> keyring::Result<Option<String>> {
        match entry(remote)?.get_password() {
            Ok(password) => Ok(Some(password)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub(super) fn delete(remote: RemoteId) -> keyring::Result<()> {
        match entry(remote)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// Android: no OS store is reachable, every call reports that and the file is used.
#[cfg(target_os = "android")]
mod os_store {
    use super::RemoteId;

    const NONE: &str = "Android has no credential store this app can reach";

    pub(super) fn set(_: RemoteId, _: &str) -> Result<(), &'static str> {
        Err(NONE)
    }

    pub(super) fn get(_: RemoteId) -> Result<Option<String>, &'static str> {
        Err(NONE)
    }

    pub(super) fn delete(_: RemoteId) -> Result<(), &'static str> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_store_keeps_replaces_and_forgets_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::file_only(dir.path());
        assert_eq!(secrets.load(RemoteId(1)).unwrap(), None);
        secrets.store(RemoteId(1), "first").unwrap();
        secrets.store(RemoteId(2), "other").unwrap();
        secrets.store(RemoteId(1), "second").unwrap();
        assert_eq!(
            secrets.load(RemoteId(1)).unwrap().as_deref(),
            Some("second")
        );
        secrets.forget(RemoteId(1)).unwrap();
        assert_eq!(secrets.load(RemoteId(1)).unwrap(), None);
        assert_eq!(secrets.load(RemoteId(2)).unwrap().as_deref(), Some("other"));
    }

    #[cfg(unix)]
    #[test]
    fn the_password_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::file_only(dir.path());
        secrets.store(RemoteId(7), "hunter2").unwrap();
        let mode = std::fs::metadata(dir.path().join("secrets.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secrets.json"), b"{not json").unwrap();
        let error = Secrets::file_only(dir.path())
            .load_password(RemoteId(1))
            .unwrap_err();
        assert!(matches!(error, SecretError::Damaged { .. }), "{error}");
    }
}
