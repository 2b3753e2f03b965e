//! The one error type every command returns.
//!
//! It crosses IPC as `{ kind, message }`: `kind` is what the UI branches on, `message` is what a
//! person reads. A kind is added only when the UI needs to tell it apart.

use serde::Serialize;
use ts_rs::TS;

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
}

/// What the UI can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ErrorKind {
    Auth,
    Network,
    NotFound,
    Conflict,
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
}

impl Error {
    /// The kind the UI sees for this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::DataDir { .. } => ErrorKind::Storage,
        }
    }
}

impl From<&Error> for IpcError {
    fn from(error: &Error) -> Self {
        IpcError {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        IpcError::from(self).serialize(serializer)
    }
}
