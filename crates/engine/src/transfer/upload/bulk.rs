//! Small new files to a server that offers bulk upload (Nextcloud's `dav.bulkupload`): many
//! in one `POST`. The server checks no precondition there, so a batch first lists the folders
//! its files go into, and a file that appeared on the server since the survey is left out: it
//! goes up alone with `If-None-Match: *`, as does every file the server's answer refuses, so
//! each ends exactly as a single upload would (a full quota, a lock, a conflict). The window
//! left is the batch's own round trip, as for a replacement by temp name and `MOVE`; in a
//! folder this run made, which is not listed for a few seconds after its `MKCOL`, it is
//! those seconds (`transfer/fresh_folders.rs`).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use tidesync_webdav::{BulkFile, BulkResult, Depth, RemotePath};

use super::{TransferError, agreed, mtime_of, send, settled};
use crate::journal::Agreed;
use crate::model::LocalState;
use crate::run::Context;
use crate::scan::stat;

/// The most files one request carries...
pub const BATCH_FILES: usize = 100;
/// ...and the most bytes.
pub const BATCH_BYTES: u64 = 8 * 1024 * 1024;
/// Files up to this size are sent in batches.
pub const BATCH_FILE_MAX: u64 = 256 * 1024;

/// Uploads `paths` (files new on the server when surveyed), in one request where it can;
/// one result per path, in order.
pub async fn send_batch(
    ctx: &Context,
    paths: &[RemotePath],
) -> Vec<(RemotePath, Result<Agreed, TransferError>)> {
    // A read that stalls (a failing card) never holds up a stop: it ends alone on its thread.
    let Ok(read) = ctx.or_stop(snapshots(ctx, paths)).await else {
        return paths
            .iter()
            .map(|p| (p.clone(), Err(TransferError::Stopped)))
            .collect();
    };
    let taken = taken_names(ctx, paths).await;
    let mut results: BTreeMap<RemotePath, Result<Agreed, TransferError>> = BTreeMap::new();
    let mut batch = Vec::new();
    let mut states = Vec::new();
    let mut alone = Vec::new();
    for (path, snapshot) in paths.iter().zip(read) {
        match snapshot {
            Err(error) => {
                results.insert(path.clone(), Err(error));
            }
            Ok(_) if taken.as_ref().is_none_or(|t| t.contains(path)) => alone.push(path.clone()),
            Ok((state, data)) => {
                batch.push(BulkFile {
                    path: path.clone(),
                    data,
                    mtime: mtime_of(&state),
                });
                states.push(state);
            }
        }
    }
    if !batch.is_empty() {
        match ctx.or_stop(ctx.client.put_bulk(&batch)).await {
            Ok(Ok(answers)) => {
                let now = states_now(ctx, &batch).await;
                for (((file, state), answer), now) in
                    batch.iter().zip(&states).zip(answers).zip(now)
                {
                    match answer {
                        BulkResult::Stored(uploaded) => {
                            let made = agreed(ctx, &file.path, state, Some(uploaded))
                                .await
                                .map(|made| settled(made, state, now.as_ref()));
                            upload_done(ctx, &file.path, state.size);
                            results.insert(file.path.clone(), made);
                        }
                        BulkResult::Refused(message) => {
                            tracing::debug!(path = %file.path, message, "refused in a batch; alone now");
                            alone.push(file.path.clone());
                        }
                    }
                }
            }
            // Only a server that refused the request as such (its format, the endpoint) is
            // answered file by file. A wrong password, a full quota, a busy or unreachable
            // server is every file's answer: sending each alone would repeat it a hundred
            // times, and on Nextcloud a hundred 401s set off its brute-force protection.
            Ok(Err(error)) if !error.is_request_refused() => {
                let first = batch[0].path.clone();
                for file in &batch[1..] {
                    results.insert(
                        file.path.clone(),
                        Err(TransferError::Changed {
                            path: file.path.to_string(),
                            what: format!("not sent: its batch failed as {first} did"),
                        }),
                    );
                }
                results.insert(first, Err(TransferError::Remote(error)));
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "the server refused a bulk upload; its files go up alone");
                alone.extend(batch.iter().map(|f| f.path.clone()));
            }
            // `or_stop` fails only when the run is stopped: nothing more goes up, and every
            // file without a result ends as stopped below.
            Err(_stopped) => alone.clear(),
        }
    }
    for path in alone {
        let sent = send(ctx, &path, None).await;
        results.insert(path, sent);
    }
    paths
        .iter()
        .map(|p| {
            let result = results.remove(p).unwrap_or(Err(TransferError::Stopped));
            (p.clone(), result)
        })
        .collect()
}

/// The state of each file of `batch` now, in one blocking call (`None` where it cannot be
/// read: the agreement then says it changed).
async fn states_now(ctx: &Context, batch: &[BulkFile]) -> Vec<Option<LocalState>> {
    let locals: Vec<_> = batch.iter().map(|f| ctx.local_path(&f.path)).collect();
    let count = locals.len();
    let read = tokio::task::spawn_blocking(move || {
        locals
            .iter()
            .map(|local| stat(local).ok().flatten())
            .collect::<Vec<_>>()
    });
    match ctx.or_stop(read).await {
        Ok(Ok(states)) => states,
        _ => vec![None; count],
    }
}

/// Each file's bytes, read in one blocking call, with the state they were read at.
async fn snapshots(
    ctx: &Context,
    paths: &[RemotePath],
) -> Vec<Result<(LocalState, Bytes), TransferError>> {
    let locals: Vec<_> = paths.iter().map(|p| ctx.local_path(p)).collect();
    let names: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let disk = ctx.disk;
    let read = tokio::task::spawn_blocking(move || {
        locals
            .iter()
            .zip(names)
            .map(|(local, name)| {
                disk.before_read();
                let before = stat(local).map_err(|e| TransferError::local(local, e))?;
                let data = tidesync_webdav::plain_file::read_plain(local)
                    .map_err(|e| TransferError::local(local, e))?;
                let after = stat(local).map_err(|e| TransferError::local(local, e))?;
                match (before, after) {
                    (Some(before), Some(after)) if before == after && !before.is_dir => {
                        Ok((before, Bytes::from(data)))
                    }
                    _ => Err(TransferError::Changed {
                        path: name,
                        what: "the local file changed while it was read".into(),
                    }),
                }
            })
            .collect::<Vec<_>>()
    })
    .await;
    match read {
        Ok(read) => read,
        Err(error) => paths
            .iter()
            .map(|p| {
                Err(TransferError::local(
                    &ctx.local_path(p),
                    std::io::Error::other(error.to_string()),
                ))
            })
            .collect(),
    }
}

/// What is at the batch's paths on the server now: the folders they go into, listed — but
/// those this run made moments ago (see `transfer/fresh_folders.rs`). `None` when a listing
/// failed, so that nothing goes in the batch unchecked.
async fn taken_names(ctx: &Context, paths: &[RemotePath]) -> Option<BTreeSet<RemotePath>> {
    let folders: BTreeSet<RemotePath> = paths
        .iter()
        .map(|p| p.parent().unwrap_or_else(RemotePath::root))
        .filter(|folder| !ctx.folders_made.is_fresh(folder, std::time::Instant::now()))
        .collect();
    let mut taken = BTreeSet::new();
    for folder in folders {
        let listing = ctx
            .or_stop(ctx.client.list(&folder, Depth::One))
            .await
            .ok()?
            .ok()?;
        taken.extend(listing.entries.into_iter().map(|e| e.path));
    }
    Some(taken)
}

/// The job's progress hears a batched file as sent whole.
fn upload_done(ctx: &Context, path: &RemotePath, size: u64) {
    ctx.hub.file_progress(path.as_str(), size, size, size);
}
