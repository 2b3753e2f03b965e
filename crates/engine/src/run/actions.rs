//! One action of a plan, carried out by its executor: each checks that its item is still as
//! the survey saw it, does the work, and records the result in the journal.

use std::sync::Arc;

use tidesync_webdav::{Mkcol, RemotePath};
use tracing::Instrument;

use super::Context;
use super::conflict::conflict;
use super::delete::{delete_local, delete_remote};
use super::shared::{
    Effect, folder, forget, parse, record, record_installed, stat_folder, vanished,
};
use super::surveyed::Survey;
use crate::journal::Agreed;
use crate::model::{LocalState, RemoteState};
use crate::plan::Action;
use crate::progress::FileAction;
use crate::transfer::{Fetched, Landing, TransferError, fetch, install, is_verifiable, send};

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
    let target = ctx.writable_path(path).await?;
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
    if ctx.or_stop(ctx.client.mkcol(path)).await?? == Mkcol::Created {
        ctx.folders_made.made(path, std::time::Instant::now());
    }
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
    fetch_and_record(ctx, path, local, remote, partial).await?;
    Ok(downloaded(remote))
}

/// Fetches `remote` over `local` (the state the plan saw; `None`: nothing there) and hands
/// the result to the recorder; returns what was recorded.
pub(super) async fn fetch_and_record(
    ctx: &Arc<Context>,
    path: &RemotePath,
    local: Option<&LocalState>,
    remote: &RemoteState,
    partial: Option<&crate::journal::PartialDownload>,
) -> Result<Agreed, TransferError> {
    let agreed = match fetch(ctx, path, remote, partial, Landing::Target(local)).await? {
        Fetched::Installed(agreed) => agreed,
        Fetched::Part(part) => install(ctx, path, part, remote, local).await?,
    };
    record_installed(ctx, path, agreed.clone())?;
    Ok(agreed)
}

/// What a completed download of `remote` did.
pub(super) fn downloaded(remote: &RemoteState) -> Effect {
    Effect {
        action: Some(FileAction::Downloaded),
        bytes: remote.size,
        verified: is_verifiable(remote),
    }
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
        verified: false,
    })
}
