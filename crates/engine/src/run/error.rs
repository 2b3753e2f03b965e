//! Why a run did not complete, and what kind of failure that is.

use crate::model::FailureKind;
use crate::plan::PlanError;

/// Why a run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("stopped")]
    Stopped,
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The server refused us (credentials, permissions) or could not be reached at all.
    #[error(transparent)]
    Remote(tidesync_webdav::Error),
    #[error("the local folder {path}: {}", crate::scan::io_cause(source))]
    Local {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// The server has no room left (507: its quota or its disk).
    #[error(
        "the server's storage is full (its quota or its disk): free space there, then sync \
         again; nothing was lost ({source})"
    )]
    ServerFull {
        #[source]
        source: tidesync_webdav::Error,
    },
    /// A side's folder is missing or is not the one synced: nothing was planned.
    #[error(transparent)]
    FolderGone(#[from] crate::root::FolderGone),
}

impl RunError {
    /// What kind of failure this is, for callers that map failures to actions or exit codes.
    pub fn kind(&self) -> FailureKind {
        match self {
            RunError::Stopped => FailureKind::Other,
            RunError::Plan(PlanError::MassDelete { .. }) => FailureKind::MassDelete,
            RunError::Remote(e) => FailureKind::of_remote(e),
            RunError::Local { source, .. } if !is_disk_full(source) => FailureKind::LocalAccess,
            RunError::Local { .. } | RunError::Journal(_) | RunError::ServerFull { .. } => {
                FailureKind::Storage
            }
            RunError::FolderGone(_) => FailureKind::FolderGone,
        }
    }
}

/// A server error that ends the whole run, as the run reports it: a full server says so.
impl From<tidesync_webdav::Error> for RunError {
    fn from(error: tidesync_webdav::Error) -> RunError {
        if error.is_insufficient_storage() {
            RunError::ServerFull { source: error }
        } else {
            RunError::Remote(error)
        }
    }
}

/// Whether an I/O error says the disk (or the user's quota on it) is full: that ends a run,
/// where another local error only fails its file.
pub(super) fn is_disk_full(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::QuotaExceeded
}
