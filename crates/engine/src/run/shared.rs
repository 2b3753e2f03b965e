//! What every step of a run shares: the [`Effect`] an action reports, the [`Checked`] result
//! of a check-then-act locally, the journal writes and error reports each executor
//! makes. A leaf: it uses none of its sibling modules.

use tidesync_webdav::RemotePath;

use super::Context;
use crate::journal::Agreed;
use crate::model::{FileError, LocalState, RemoteState, Summary};
use crate::progress::{FileAction, JobEvent};
use crate::scan::stat;
use crate::transfer::TransferError;

/// What one action did.
pub(super) struct Effect {
    /// What the user sees happened; `None` when the action only recorded an agreement.
    pub(super) action: Option<FileAction>,
    /// Bytes moved over the network.
    pub(super) bytes: u64,
    /// A download checked against the server's checksum.
    pub(super) verified: bool,
}

impl Effect {
    /// An action the user does not see as a change (an agreement recorded).
    pub(super) const QUIET: Effect = Effect {
        action: None,
        bytes: 0,
        verified: false,
    };

    /// A change the user sees, without bytes over the network.
    pub(super) fn shown(action: FileAction) -> Effect {
        Effect {
            action: Some(action),
            bytes: 0,
            verified: false,
        }
    }
}

/// Whether a check-then-act locally went ahead, or found the item not as planned.
pub(super) enum Checked {
    Done,
    /// Not done, and why, in words for the user.
    Refused(&'static str),
    /// A folder deleted on the other side stays for the items the pair leaves out in it:
    /// its record goes, and nothing counts as deleted.
    Kept,
}

impl Checked {
    /// A refusal as the error that reports it against `path`.
    pub(super) fn or_changed(self, path: &str) -> Result<(), TransferError> {
        match self {
            Checked::Done | Checked::Kept => Ok(()),
            Checked::Refused(what) => Err(TransferError::Changed {
                path: path.to_owned(),
                what: what.into(),
            }),
        }
    }
}

/// [`record_error`] for a failure that stays until something changes (a name the local side cannot
/// hold, a link in the way): automatic sync does not try it again by the clock.
pub(super) fn record_lasting_error(
    ctx: &Context,
    summary: &mut Summary,
    path: &str,
    message: &str,
) {
    record_error(ctx, summary, path, message);
    if !summary.waits_for_change.iter().any(|p| p == path) {
        summary.waits_for_change.push(path.to_owned());
    }
}

/// Counts a file that could not be synced and tells the subscribers.
pub(super) fn record_error(ctx: &Context, summary: &mut Summary, path: &str, message: &str) {
    summary.errors.push(FileError {
        path: path.to_owned(),
        message: message.to_owned(),
    });
    ctx.hub.update(|s| s.errors += 1);
    ctx.hub.emit(JobEvent::FileFailed {
        path: path.to_owned(),
        message: message.to_owned(),
    });
}

/// Drops the journal's record of `path` (gone from both sides, or just deleted).
pub(super) async fn forget(ctx: &Context, path: &RemotePath) -> Result<(), TransferError> {
    let (pair, key) = (ctx.pair, path.as_str().to_owned());
    ctx.journal.call(move |j| j.forget(pair, &key)).await?;
    Ok(())
}

/// A plan's or a move's path as a remote path; the planner only makes valid ones, so a
/// failure here means the item changed under us.
pub(super) fn parse(path: &str) -> Result<RemotePath, TransferError> {
    RemotePath::parse(path).map_err(|e| TransferError::Changed {
        path: path.to_owned(),
        what: format!("not a valid path: {e}"),
    })
}

/// Runs `work` on the blocking pool; an I/O failure is reported against `path`.
pub(super) async fn blocking<T, F>(path: &str, work: F) -> Result<T, TransferError>
where
    T: Send + 'static,
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
{
    let local = |source| TransferError::Local {
        path: path.to_owned(),
        source,
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| local(std::io::Error::other(e)))?
        .map_err(local)
}

/// A folder both sides hold, with the identities each side gives it.
pub(super) fn folder(
    path: &str,
    local: Option<&LocalState>,
    remote: Option<&RemoteState>,
) -> Agreed {
    Agreed {
        path: path.to_owned(),
        is_dir: true,
        size: 0,
        local_mtime: None,
        etag: None,
        remote_mtime: None,
        local_inode: local.and_then(|l| l.inode),
        file_id: remote.and_then(|r| r.file_id.clone()),
    }
}

/// The state of a folder just made.
pub(super) async fn stat_folder(
    target: &std::path::Path,
) -> Result<Option<LocalState>, TransferError> {
    let owned = target.to_owned();
    blocking(&target.display().to_string(), move || stat(&owned)).await
}

/// The error of an action whose item is no longer where the survey saw it.
pub(super) fn vanished(path: &str) -> TransferError {
    TransferError::Changed {
        path: path.to_owned(),
        what: "it disappeared while the sync was planned".into(),
    }
}

/// Hands `agreed` to the run's recorder (committed in a batch; see `record`).
pub(super) fn record(ctx: &Context, agreed: Agreed) -> Result<(), TransferError> {
    Ok(ctx.recorder.agree(agreed, None)?)
}

/// Records a download just renamed to `path`; its folder is synced before the commit.
pub(super) fn record_installed(
    ctx: &Context,
    path: &RemotePath,
    agreed: Agreed,
) -> Result<(), TransferError> {
    let folder = ctx.local_path(path).parent().map(|p| p.to_owned());
    Ok(ctx.recorder.agree(agreed, folder)?)
}

/// Whether the relative `path` lies strictly below the folder `folder`.
pub(crate) fn is_below(path: &str, folder: &str) -> bool {
    path.strip_prefix(folder)
        .is_some_and(|rest| rest.starts_with('/'))
}
