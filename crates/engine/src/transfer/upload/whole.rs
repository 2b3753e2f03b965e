//! One `PUT` per file, where the server's `PUT` is atomic and honours preconditions: the file
//! is read into memory first (a consistent version even while it is being written), sent with
//! `If-Match` on the version the plan saw or `If-None-Match: *` for a new file, and what the
//! server made of it is read from the answer's headers.

use bytes::Bytes;
use tidesync_webdav::RemotePath;

use super::{
    TransferError, agreed, changed_remotely, mtime_of, precondition_for, settled, stat_async,
    upload_progress,
};
use crate::journal::Agreed;
use crate::model::{LocalState, RemoteState};
use crate::run::Context;
use crate::scan::stat;

pub(super) async fn send(
    ctx: &Context,
    path: &RemotePath,
    remote_before: Option<&RemoteState>,
    before: LocalState,
) -> Result<Agreed, TransferError> {
    // A read that stalls (a failing card) never holds up a stop: it ends alone on its thread.
    let data = ctx.or_stop(snapshot(ctx, path, &before)).await??;
    let precondition = precondition_for(remote_before);
    let put = ctx
        .or_stop(
            ctx.client
                .put_bytes(path, data, &precondition, mtime_of(&before)),
        )
        .await?;
    match put {
        Ok(uploaded) => {
            upload_progress(ctx, path, before.size)(before.size);
            let made = agreed(ctx, path, &before, Some(uploaded)).await?;
            let now = stat_async(ctx, &ctx.local_path(path)).await?;
            Ok(settled(made, &before, now.as_ref()))
        }
        Err(e) if e.is_precondition_failed() => Err(match remote_before {
            Some(_) => changed_remotely(path),
            None => TransferError::Changed {
                path: path.to_string(),
                what: "a remote file appeared at the same path during the upload".into(),
            },
        }),
        Err(e) => Err(e.into()),
    }
}

/// The file's bytes, read in one blocking call, if it is still `before` once read.
async fn snapshot(
    ctx: &Context,
    path: &RemotePath,
    before: &LocalState,
) -> Result<Bytes, TransferError> {
    let local = ctx.local_path(path);
    let (read_from, disk) = (local.clone(), ctx.disk);
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        disk.before_read();
        let data = tidesync_webdav::plain_file::read_plain(&read_from)?;
        Ok((data, stat(&read_from)?))
    })
    .await
    .map_err(|e| TransferError::local(&local, std::io::Error::other(e)))?
    .map_err(|e| TransferError::local(&local, e))?;
    match read {
        (data, Some(after)) if after == *before => Ok(Bytes::from(data)),
        _ => Err(TransferError::Changed {
            path: path.to_string(),
            what: "the local file changed while it was read".into(),
        }),
    }
}
