//! The generic upload, for any WebDAV server: to a hidden temp name (recorded in the journal
//! first), moved into place with a precondition, so the real name never shows a partial file
//! and never replaces a version the plan did not see. Three requests per file, or two where
//! a moved file keeps the ETag its `PUT` answered.

use tidesync_webdav::{EntryKind, Overwrite, Precondition, RemotePath, Uploaded, validator};

use super::{
    TransferError, agreed, agreed_as_answered, changed_locally, hidden_name, mtime_of,
    remote_unchanged, stat_async, upload_progress,
};
use crate::journal::Agreed;
use crate::model::{LocalState, RemoteState};
use crate::run::Context;

/// Uploads the local file at `path` (now `before`) under a hidden name, then moves it into
/// place. Refuses to replace a remote file that is not the version the plan saw, or to create
/// one over a file that appeared meanwhile (`Overwrite: F`, which every server tested
/// honours).
pub(super) async fn send(
    ctx: &Context,
    path: &RemotePath,
    remote_before: Option<&RemoteState>,
    before: LocalState,
) -> Result<Agreed, TransferError> {
    let local = ctx.local_path(path);
    let temp = hidden_name(path)?;
    let mtime = mtime_of(&before);
    ctx.recorder.begin_upload(temp.as_str().to_owned()).await?;
    let uploaded = ctx
        .or_stop(ctx.client.put_file(
            &temp,
            &local,
            &Precondition::Absent,
            mtime,
            upload_progress(ctx, path, before.size),
        ))
        .await;
    let uploaded = match uploaded {
        Ok(Ok(uploaded)) => uploaded,
        Err(stopped) => {
            discard_temp(ctx, temp).await;
            return Err(stopped);
        }
        Ok(Err(e)) => {
            discard_temp(ctx, temp).await;
            return Err(match e.is_local_change() {
                true => changed_locally(path),
                false => e.into(),
            });
        }
    };
    if stat_async(ctx, &local).await?.as_ref() != Some(&before) {
        discard_temp(ctx, temp).await;
        return Err(changed_locally(path));
    }
    // If-Match on MOVE guards the source, not the destination (RFC 4918), so the version
    // being replaced is checked just before the move. The window left is one round trip.
    if let Err(error) = remote_unchanged(ctx, path, remote_before).await {
        discard_temp(ctx, temp).await;
        return Err(error);
    }
    // Replacing is only right over the version just checked; a new file never replaces one
    // that appeared meanwhile.
    let overwrite = match remote_before {
        Some(_) => Overwrite::Replace,
        None => Overwrite::Never,
    };
    let moved = ctx
        .or_stop(ctx.client.move_to(&temp, path, EntryKind::File, overwrite))
        .await;
    match moved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            discard_temp(ctx, temp).await;
            if e.is_precondition_failed() {
                return Err(TransferError::Changed {
                    path: path.to_string(),
                    what: "a remote file appeared at the same path during the upload".into(),
                });
            }
            return Err(e.into());
        }
        Err(stopped) => {
            discard_temp(ctx, temp).await;
            return Err(stopped);
        }
    }
    ctx.recorder.end_upload(temp.as_str().to_owned())?;
    agreed_after_move(ctx, path, &before, uploaded).await
}

/// What both sides agree on once the upload is in place. Where moves keep ETags, the one the
/// `PUT` answered is the file's and nothing is asked; until an upload showed that, the
/// `PROPFIND` that asks also tells. The ETag answered is also the safer one to record: a
/// version someone else writes right after the move is then seen as a change by the next
/// sync, where a `PROPFIND` would have taken it for ours.
async fn agreed_after_move(
    ctx: &Context,
    path: &RemotePath,
    before: &LocalState,
    uploaded: Uploaded,
) -> Result<Agreed, TransferError> {
    let Some(answered) = uploaded.etag.clone() else {
        return agreed(ctx, path, before, None).await;
    };
    if ctx.client.move_keeps_etag() == Some(true) {
        return Ok(agreed_as_answered(path, before, uploaded));
    }
    let listed = agreed(ctx, path, before, None).await?;
    if let Some(now) = &listed.etag {
        ctx.client
            .saw_move_keep_etag(validator::same_version(now, &answered));
    }
    Ok(listed)
}

/// Deletes an upload's temp name from the server, and forgets it once it is gone. One that
/// cannot be deleted now stays recorded: every run starts by deleting what is recorded (see
/// [`sweep_upload_temps`]).
async fn discard_temp(ctx: &Context, temp: RemotePath) {
    match ctx.client.delete_own(&temp).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(error) => {
            tracing::debug!(%temp, %error, "an upload's temp file stays for the next run");
            return;
        }
    }
    let (pair, key) = (ctx.pair, temp.as_str().to_owned());
    if let Err(error) = ctx.journal.call(move |j| j.end_upload(pair, &key)).await {
        tracing::warn!(%temp, %error, "an upload's temp file was deleted but not forgotten");
    }
}

/// Deletes the temp files of uploads that an earlier run started and never ended (the process
/// died, or the cleanup after a failure failed too). They are hidden, never under a real name,
/// but they are litter on the user's server.
pub async fn sweep_upload_temps(ctx: &Context) -> Result<(), TransferError> {
    let pair = ctx.pair;
    let pending = ctx.journal.call(move |j| j.pending_uploads(pair)).await?;
    for temp in pending {
        match RemotePath::parse(&temp) {
            Ok(path) => ctx.or_stop(discard_temp(ctx, path)).await?,
            Err(_) => {
                ctx.journal.call(move |j| j.end_upload(pair, &temp)).await?;
            }
        }
    }
    Ok(())
}
