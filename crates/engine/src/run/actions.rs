//! One action of a plan, carried out by its executor: each checks that its item is still as
//! the survey saw it, does the work, and records the result in the journal.

use std::sync::Arc;

use tidesync_webdav::RemotePath;
use tracing::Instrument;

use super::conflict::conflict;
use super::delete::{delete_local, delete_remote};
use super::execute::Effect;
use super::survey::Survey;
use crate::journal::Agreed;
use crate::model::{LocalState, RemoteState};
use crate::plan::Action;
use crate::progress::FileAction;
use crate::scan::stat;
use crate::transfer::{Context, Fetched, Landing, TransferError, fetch, install, send};

/// Whether a check-then-act on the phone went ahead, or found the item not as planned.
pub(super) enum Checked {
    Done,
    /// Not done, and why, in words for the user.
    Refused(&'static str),
}

impl Checked {
    /// A refusal as the error that reports it against `path`.
    pub(super) fn or_changed(self, path: &str) -> Result<(), TransferError> {
        match self {
            Checked::Done => Ok(()),
            Checked::Refused(what) => Err(TransferError::Changed {
                path: path.to_owned(),
                what: what.into(),
            }),
        }
    }
}

/// Carries out one action, in its own tracing span.
pub(super) async fn perform(
    ctx: Arc<Context>,
    seen: Arc<Survey>,
    action: Action,
) -> Result<Effect, TransferError> {
    let span = tracing::debug_span!("file", path = action.path(), action = action.name());
    dispatch(ctx, seen, action).instrument(span).await
}

async fn dispatch(
    ctx: Arc<Context>,
    seen: Arc<Survey>,
    action: Action,
) -> Result<Effect, TransferError> {
    let path = parse(action.path())?;
    let local = seen.local.get(path.as_str());
    let remote = seen.remote.get(path.as_str());
    match action {
        Action::Forget { .. } => {
            forget(&ctx, &path).await?;
            Ok(Effect::QUIET)
        }
        Action::Agree { .. } => {
            record(&ctx, folder(path.as_str(), local, remote))?;
            Ok(Effect::QUIET)
        }
        Action::MkdirLocal { .. } => make_local_folder(&ctx, &path, remote).await,
        Action::MkdirRemote { .. } => make_remote_folder(&ctx, &path, local, remote).await,
        Action::Download { .. } => {
            let partial = seen.partials.get(path.as_str());
            download(&ctx, &path, local, remote, partial).await
        }
        Action::Upload { .. } => upload(&ctx, &path, remote).await,
        Action::Conflict { .. } => {
            let partial = seen.partials.get(path.as_str());
            conflict(&ctx, &path, local, remote, partial).await
        }
        Action::DeleteLocal { is_dir, .. } => delete_local(&ctx, &path, is_dir, local).await,
        Action::DeleteRemote { is_dir, .. } => delete_remote(&ctx, &path, is_dir, remote).await,
    }
}

async fn make_local_folder(
    ctx: &Context,
    path: &RemotePath,
    remote: Option<&RemoteState>,
) -> Result<Effect, TransferError> {
    let target = ctx.local_path(path);
    tokio::fs::create_dir_all(&target)
        .await
        .map_err(|source| TransferError::Local {
            path: target.display().to_string(),
            source,
        })?;
    let made = stat_folder(&target).await?;
    record(ctx, folder(path.as_str(), made.as_ref(), remote))?;
    Ok(Effect::shown(FileAction::CreatedFolder))
}

async fn make_remote_folder(
    ctx: &Context,
    path: &RemotePath,
    local: Option<&LocalState>,
    remote: Option<&RemoteState>,
) -> Result<Effect, TransferError> {
    ctx.or_stop(ctx.client.mkcol(path)).await??;
    record(ctx, folder(path.as_str(), local, remote))?;
    Ok(Effect::shown(FileAction::CreatedFolder))
}

async fn download(
    ctx: &Arc<Context>,
    path: &RemotePath,
    local: Option<&LocalState>,
    remote: Option<&RemoteState>,
    partial: Option<&crate::journal::PartialDownload>,
) -> Result<Effect, TransferError> {
    let remote = remote.ok_or_else(|| vanished(path.as_str()))?;
    let agreed = match fetch(ctx, path, remote, partial, Landing::Target(local)).await? {
        Fetched::Installed(agreed) => agreed,
        Fetched::Part(part) => install(ctx, path, part, remote, local).await?,
    };
    record_installed(ctx, path, agreed)?;
    Ok(Effect {
        action: Some(FileAction::Downloaded),
        bytes: remote.size,
    })
}

async fn upload(
    ctx: &Arc<Context>,
    path: &RemotePath,
    remote: Option<&RemoteState>,
) -> Result<Effect, TransferError> {
    let agreed = send(ctx, path, remote).await?;
    let bytes = agreed.size;
    record(ctx, agreed)?;
    Ok(Effect {
        action: Some(FileAction::Uploaded),
        bytes,
    })
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
