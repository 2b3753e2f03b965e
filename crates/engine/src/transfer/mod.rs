//! Moving one file: [`download`]s into a hidden part file that is renamed into place only when
//! complete and checked; [`upload`]s to a hidden name on the server that is moved into place;
//! the [`names`] of conflict copies.
//!
//! Every network await is raced against the run token. Writes are not: the token is checked
//! between chunks, never in the middle of a `write_all`. When a run stops, a download's part
//! file is fsync'd and its offset written to the journal (the checkpoint), so the next run
//! resumes with `Range` while the remote version is still the same.

mod download;
mod fresh_folders;
mod names;
mod upload;

use std::path::Path;
use std::time::Duration;

pub(crate) use download::discard_part;
pub use download::{
    Fetched, Landing, fetch, install, is_verifiable, legacy_part_path, part_path, resumable,
};
pub use fresh_folders::FreshFolders;
pub use names::{conflict_name, parse_conflict_name, same_bytes, utc_minute};
pub use upload::{
    BATCH_BYTES, BATCH_FILE_MAX, BATCH_FILES, WHOLE_PUT_MAX, offers_bulk, send, send_batch,
    sweep_chunked, sweep_upload_temps,
};

use crate::journal::JournalError;
use crate::model::LocalState;
use crate::run::Context;
use crate::scan::stat;

/// The default of `EngineOptions::range_size`: large enough that a request per range costs
/// nothing, small enough that a server which streams open ranges slowly is not asked for one.
/// Ranges are fetched one after the other, so a checkpoint is still one offset.
pub const RANGE_SIZE: u64 = 64 * 1024 * 1024;

/// A download in progress records a durable checkpoint at least every this many bytes...
pub const CHECKPOINT_BYTES: u64 = 8 * 1024 * 1024;
/// ...and at least this often, so a slow link loses little to a killed process too.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// Why a transfer did not complete.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The run was stopped (pause, suspend, cancel, shutdown); the checkpoint is written.
    #[error("stopped")]
    Stopped,
    #[error(transparent)]
    Remote(#[from] tidesync_webdav::Error),
    #[error("{path}: {source}")]
    Local {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The file is not what it was when the sync planned it; it is left for the next sync.
    #[error("{path}: {what}; it will be synced next time")]
    Changed { path: String, what: String },
    /// Writing the file would go through a symbolic link, out of the sync folder.
    #[error(
        "{path}: not synced, because `{link}` is a symbolic link and Tidesync never writes \
         through one (it could lead out of the sync folder)"
    )]
    ThroughLink { path: String, link: String },
    /// The local file system cannot hold the path: checked before any folder is made.
    #[error("{path}: {why}")]
    TooLong { path: String, why: String },
}

impl TransferError {
    pub(super) fn local(path: &Path, source: std::io::Error) -> TransferError {
        TransferError::Local {
            path: path.display().to_string(),
            source,
        }
    }
}

/// When an upload goes by chunks (where the server offers chunked uploads), and how large
/// they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadSizes {
    /// Files larger than this go by chunks.
    pub chunked_above: u64,
    /// The size of each chunk (capped by the server's maximum; the server's minimum is 5 MiB).
    pub chunk_size: u64,
}

impl Default for UploadSizes {
    fn default() -> Self {
        UploadSizes {
            chunked_above: 10 * 1024 * 1024,
            chunk_size: 10 * 1024 * 1024,
        }
    }
}

/// The state of a local file, read on the blocking pool; a stop does not wait for a disk
/// that stalls (the `stat` ends alone on its thread).
async fn stat_async(ctx: &Context, path: &Path) -> Result<Option<LocalState>, TransferError> {
    let owned = path.to_owned();
    ctx.or_stop(tokio::task::spawn_blocking(move || stat(&owned)))
        .await?
        .map_err(|e| TransferError::local(path, std::io::Error::other(e)))?
        .map_err(|e| TransferError::local(path, e))
}
