//! Uploads: to a hidden temp name on the server (recorded in the journal first), moved into
//! place with a precondition, so the real name never shows a partial file and never replaces
//! a version the plan did not see.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tidesync_webdav::{EntryKind, Overwrite, Precondition, RemotePath, validator};

use super::{Context, TransferError, stat_async};
use crate::journal::Agreed;
use crate::model::{RemoteState, UPLOAD_PREFIX};
use crate::scan::nanos;

/// Uploads the local file at `path` under a hidden name, then moves it into place. Refuses to
/// replace a remote file that is not the version the plan saw, or to create one over a file
/// that appeared meanwhile (`Overwrite: F`, which every server tested honours).
pub async fn send(
    ctx: &Context,
    path: &RemotePath,
    remote_before: Option<&RemoteState>,
) -> Result<Agreed, TransferError> {
    let local = ctx.local_path(path);
    let before = stat_async(&local)
        .await?
        .ok_or_else(|| TransferError::Changed {
            path: path.to_string(),
            what: "the local file is gone".into(),
        })?;
    let name = path.name().unwrap_or_default();
    let temp_name = format!("{UPLOAD_PREFIX}{:016x}-{name}", fastrand::u64(..));
    let temp = match path.parent() {
        Some(parent) => parent.join(&temp_name),
        None => RemotePath::root().join(&temp_name),
    }
    .map_err(|e| TransferError::Changed {
        path: path.to_string(),
        what: format!("no temporary name could be made: {e}"),
    })?;
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_nanos(before.mtime.max(0) as u64);
    let (pair, recorded) = (ctx.pair, temp.as_str().to_owned());
    ctx.journal
        .call(move |j| j.begin_upload(pair, &recorded))
        .await?;
    let uploaded = ctx
        .or_stop(ctx.client.put_file(
            &temp,
            &local,
            &Precondition::Absent,
            Some(mtime),
            upload_progress(ctx, path, before.size),
        ))
        .await;
    match uploaded {
        Err(TransferError::Stopped) => {
            discard_temp(ctx, temp).await;
            return Err(TransferError::Stopped);
        }
        Ok(Err(e)) => {
            discard_temp(ctx, temp).await;
            return Err(e.into());
        }
        _ => {}
    }
    if stat_async(&local).await?.as_ref() != Some(&before) {
        discard_temp(ctx, temp).await;
        return Err(TransferError::Changed {
            path: path.to_string(),
            what: "the local file changed during the upload".into(),
        });
    }
    // If-Match on MOVE guards the source, not the destination (RFC 4918), so the version
    // being replaced is checked just before the move. The window left is one round trip.
    if let Some(before) = remote_before {
        let now = ctx.or_stop(ctx.client.stat(path, EntryKind::File)).await?;
        let same = match now {
            Ok(entry) => entry.is_some_and(|e| match (&e.etag, &before.etag) {
                (Some(now), Some(then)) => validator::same_version(now, then),
                _ => e.size == before.size,
            }),
            Err(e) => {
                discard_temp(ctx, temp).await;
                return Err(e.into());
            }
        };
        if !same {
            discard_temp(ctx, temp).await;
            return Err(TransferError::Changed {
                path: path.to_string(),
                what: "the remote file changed during the upload".into(),
            });
        }
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
    let (pair, moved) = (ctx.pair, temp.as_str().to_owned());
    ctx.journal
        .call(move |j| j.end_upload(pair, &moved))
        .await?;
    let entry = ctx.client.stat(path, EntryKind::File).await?;
    Ok(Agreed {
        path: path.as_str().to_owned(),
        is_dir: false,
        size: before.size,
        local_mtime: Some(before.mtime),
        local_inode: before.inode,
        file_id: entry.as_ref().and_then(|e| e.file_id.clone()),
        etag: entry.as_ref().and_then(|e| e.etag.clone()),
        remote_mtime: entry
            .and_then(|e| e.modified)
            .map(|t| (nanos(t) / 1_000_000_000) as i64),
    })
}

/// Reports an upload's bytes as they go out. A retried attempt starts again from 0; the job's
/// total only grows by what goes beyond the furthest point reached, so nothing counts twice.
fn upload_progress(ctx: &Context, path: &RemotePath, size: u64) -> tidesync_webdav::SentBytes {
    let (hub, key) = (ctx.hub.clone(), path.as_str().to_owned());
    let furthest = std::sync::atomic::AtomicU64::new(0);
    Arc::new(move |sent| {
        let before = furthest.fetch_max(sent, std::sync::atomic::Ordering::Relaxed);
        hub.file_progress(&key, sent, size, sent.saturating_sub(before));
    })
}

/// Deletes an upload's temp name from the server, and forgets it once it is gone. One that
/// cannot be deleted now stays recorded: every run starts by deleting what is recorded (see
/// [`sweep_upload_temps`]).
async fn discard_temp(ctx: &Context, temp: RemotePath) {
    match ctx.client.delete(&temp, EntryKind::File, None).await {
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
