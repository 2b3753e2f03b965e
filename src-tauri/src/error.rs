//! The one error type every command returns.
//!
//! It crosses IPC as `{ kind, message }`: `kind` is what the UI branches on, `message` is what a
//! person reads. A kind is added only when the UI needs to tell it apart.

use std::path::PathBuf;

use serde::Serialize;
use tidesync_engine::{EngineError, FailureKind};
use tidesync_webdav::Error as WebDavError;
use tidesync_webdav::LoginError;
use ts_rs::TS;

use crate::dto::CertificateDto;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform could not tell where the app may keep its data.
    #[error("the app data directory could not be resolved: {source}")]
    DataDir {
        #[source]
        source: tauri::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// An argument a person typed is not usable; the message says why.
    #[error("{0}")]
    InvalidInput(String),
    #[error("no folder was chosen")]
    NoFolderChosen,
    #[error("the local folder {path} could not be created: {source}")]
    LocalFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the demo remote could not start: {0}")]
    Demo(#[source] std::io::Error),
    #[error("a background task failed: {0}")]
    Task(String),
    /// The desktop could not show a file or folder.
    #[error("could not open it: {0}")]
    Open(String),
    /// The engine did not open at start-up (its journal, the password store); every command
    /// that needs it answers this, with the reason.
    #[error("Tidesync could not start its sync engine: {0}")]
    Startup(String),
    /// The app's own settings file could not be written.
    #[error("the settings could not be saved to {path}: {source}")]
    Settings {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Starting at login could not be read or changed (the desktop's autostart entry), or
    /// this build has no such setting (phones, tests).
    #[error("starting at login: {0}")]
    StartAtLogin(String),
}

/// What the UI can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ErrorKind {
    Auth,
    /// The server's certificate is not trusted; `certificate` says what it is, for the user to
    /// trust by its fingerprint if it is theirs.
    UntrustedCertificate,
    /// The login is fine, but the server does not allow this account to do it (403).
    Forbidden,
    Network,
    NotFound,
    Conflict,
    /// The sync would have deleted most of the synced tree; nothing was deleted.
    MassDelete,
    Cancelled,
    InvalidInput,
    Storage,
    Internal,
}

/// An error as the webview receives it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct IpcError {
    pub kind: ErrorKind,
    pub message: String,
    /// With `untrustedCertificate` from a connection test: the certificate the server showed.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateDto>,
}

impl IpcError {
    pub fn new(kind: ErrorKind, message: String) -> IpcError {
        IpcError {
            kind,
            message,
            certificate: None,
        }
    }
}

impl Error {
    /// The kind the UI sees for this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::DataDir { .. }
            | Error::LocalFolder { .. }
            | Error::Startup(_)
            | Error::Settings { .. } => ErrorKind::Storage,
            Error::Engine(error) => ErrorKind::from(error.failure_kind()),
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::NoFolderChosen => ErrorKind::Cancelled,
            Error::Demo(_) | Error::Task(_) | Error::Open(_) | Error::StartAtLogin(_) => {
                ErrorKind::Internal
            }
        }
    }

    /// What a person reads: for server errors, what happened and what to do about it.
    pub fn message(&self) -> String {
        match self {
            Error::Engine(EngineError::Remote(error))
            | Error::Engine(EngineError::Login(LoginError::Server(error))) => remote_message(error),
            Error::Engine(EngineError::UntrustedCertificate {
                reason,
                certificate,
            }) => {
                if certificate.is_self_signed() {
                    "The server's certificate is self-signed: no authority vouches for it."
                        .to_owned()
                } else {
                    format!("The server's certificate is not trusted ({reason}).")
                }
            }
            other => other.to_string(),
        }
    }

    /// The certificate a refused connection test was shown, if that is what failed.
    fn certificate(&self) -> Option<CertificateDto> {
        match self {
            Error::Engine(EngineError::UntrustedCertificate { certificate, .. }) => {
                Some(CertificateDto::from(certificate.as_ref()))
            }
            _ => None,
        }
    }
}

/// The shell's only classification: the engine has already said what kind of failure it is.
impl From<FailureKind> for ErrorKind {
    fn from(kind: FailureKind) -> ErrorKind {
        match kind {
            FailureKind::Auth => ErrorKind::Auth,
            FailureKind::UntrustedCertificate => ErrorKind::UntrustedCertificate,
            FailureKind::Forbidden => ErrorKind::Forbidden,
            FailureKind::Network => ErrorKind::Network,
            FailureKind::MassDelete => ErrorKind::MassDelete,
            FailureKind::Storage | FailureKind::LocalAccess => ErrorKind::Storage,
            FailureKind::NotFound | FailureKind::FolderGone => ErrorKind::NotFound,
            FailureKind::InvalidInput => ErrorKind::InvalidInput,
            FailureKind::Busy => ErrorKind::Conflict,
            FailureKind::ShuttingDown | FailureKind::Cancelled => ErrorKind::Cancelled,
            FailureKind::Other => ErrorKind::Internal,
        }
    }
}

fn remote_message(error: &WebDavError) -> String {
    match error {
        e if e.is_auth() => "The server refused the user name or password. Check both and \
             try again; if you signed in with Nextcloud, its app password may have been revoked: \
             sign in again."
            .to_owned(),
        e if e.is_forbidden() => "The server accepted the login but does not allow this \
             account to use this folder. Check the folder's sharing or permissions on the server."
            .to_owned(),
        WebDavError::Certificate { message, .. } => format!(
            "The server's certificate is not trusted ({message}). If it changed since you \
             trusted it, check with whoever runs the server before you trust the new one."
        ),
        e if e.is_not_found() => {
            "There is no folder at this address on the server. Check the URL and the folder name."
                .to_owned()
        }
        WebDavError::NotWebDav { .. } => {
            "This address answers, but not as a WebDAV server. Check the URL: Nextcloud and \
             ownCloud use https://host/remote.php/dav/files/USER/."
                .to_owned()
        }
        WebDavError::Maintenance { .. } => "The server is in maintenance mode (an update, \
             probably). Sync again once it is back; nothing was lost."
            .to_owned(),
        WebDavError::Transport { .. } | WebDavError::Stalled { .. } => format!(
            "The server could not be reached ({error}). Check the address and the connection."
        ),
        other => other.to_string(),
    }
}

impl From<&Error> for IpcError {
    fn from(error: &Error) -> Self {
        IpcError {
            kind: error.kind(),
            message: error.message(),
            certificate: error.certificate(),
        }
    }
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        IpcError::from(self).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_mass_delete_is_not_shown_as_a_conflict() {
        assert_eq!(
            ErrorKind::from(FailureKind::MassDelete),
            ErrorKind::MassDelete
        );
    }

    #[test]
    fn the_engine_classifies_and_the_shell_only_translates() {
        let insecure = Error::Engine(EngineError::Remote(WebDavError::InsecureUrl {
            url: "http://cloud.example/".to_owned(),
        }));
        assert_eq!(insecure.kind(), ErrorKind::InvalidInput);
        let busy = Error::Engine(EngineError::Busy("pair"));
        assert_eq!(busy.kind(), ErrorKind::Conflict);
        let missing = Error::Engine(EngineError::NoRemote(tidesync_engine::RemoteId(7)));
        assert_eq!(missing.kind(), ErrorKind::NotFound);
    }
}
