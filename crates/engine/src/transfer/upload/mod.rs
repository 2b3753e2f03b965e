//! Uploads, three ways, chosen per file by what the server proved it offers (see
//! `Client::abilities`), never by its name:
//!
//! - [`whole`]: one `PUT` with `If-Match` / `If-None-Match: *`, for small files, where `PUT` is
//!   atomic and honours preconditions (Nextcloud, ownCloud). The new ETag and file id come
//!   back in the answer's headers: one request per file.
//! - [`chunked`]: Nextcloud's chunked upload v2 for large files, resumable across runs.
//! - [`temp`]: any other case: a hidden temp name, then a `MOVE` into place.
//! - [`bulk`]: small new files many to a request, where the server offers bulk upload; the
//!   run batches them (`run/execute.rs`).
//!
//! Whichever way, the real name never shows a partial file and never replaces a version the
//! plan did not see.

mod bulk;
mod chunked;
mod temp;
mod whole;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tidesync_webdav::{Abilities, EntryKind, Precondition, RemotePath, Uploaded, validator};

pub use bulk::{BATCH_BYTES, BATCH_FILE_MAX, BATCH_FILES, send_batch};
pub use chunked::sweep_chunked;
pub use temp::sweep_upload_temps;

use super::{TransferError, stat_async};
use crate::journal::Agreed;
use crate::model::{LocalState, RemoteState, UPLOAD_PREFIX};
use crate::run::Context;
use crate::scan::nanos;

/// Files up to this size go up in one `PUT` where the server allows it. They are read into
/// memory first, so the server gets one consistent version even if the file is being
/// written; a handful of them in flight stays within a phone's memory.
pub const WHOLE_PUT_MAX: u64 = 1024 * 1024;

/// Uploads the local file at `path`. `remote_before` is the remote version the plan saw
/// (`None`: there was none), the only one it may replace.
pub async fn send(
    ctx: &Context,
    path: &RemotePath,
    remote_before: Option<&RemoteState>,
) -> Result<Agreed, TransferError> {
    let before = stat_async(ctx, &ctx.local_path(path))
        .await?
        .ok_or_else(|| TransferError::Changed {
            path: path.to_string(),
            what: "the local file is gone".into(),
        })?;
    let abilities = abilities(ctx, path).await?;
    // A weak tag cannot be sent as `If-Match`: such a replacement goes the checked way.
    let strong_or_new =
        remote_before.is_none_or(|r| r.etag.as_deref().and_then(validator::strong).is_some());
    if abilities.chunking.is_some() && before.size > ctx.uploads.chunked_above {
        chunked::send(ctx, path, remote_before, before).await
    } else if abilities.atomic_put && strong_or_new && before.size <= WHOLE_PUT_MAX {
        whole::send(ctx, path, remote_before, before).await
    } else {
        temp::send(ctx, path, remote_before, before).await
    }
}

/// Whether small new files may go up in batches: the server announced bulk upload.
pub async fn offers_bulk(ctx: &Context) -> Result<bool, TransferError> {
    Ok(abilities(ctx, &RemotePath::root())
        .await?
        .bulk_upload
        .is_some())
}

/// What the server offers, asked once per client (the first upload of its first run).
async fn abilities(ctx: &Context, path: &RemotePath) -> Result<Abilities, TransferError> {
    let probe =
        hidden_name(
            &RemotePath::root()
                .join("probe")
                .map_err(|e| TransferError::Changed {
                    path: path.to_string(),
                    what: format!("no probe name could be made: {e}"),
                })?,
        )?;
    Ok(ctx.or_stop(ctx.client.abilities(&probe)).await??)
}

/// A hidden name next to `path`, which the sync ignores and no one else uses.
fn hidden_name(path: &RemotePath) -> Result<RemotePath, TransferError> {
    let name = path.name().unwrap_or_default();
    let random = format!("{UPLOAD_PREFIX}{:016x}", fastrand::u64(..));
    // The name helps a person who finds a leftover, where it fits in the server's 255 bytes.
    let hidden = match random.len() + 1 + name.len() <= 255 {
        true => format!("{random}-{name}"),
        false => random,
    };
    match path.parent() {
        Some(parent) => parent.join(&hidden),
        None => RemotePath::root().join(&hidden),
    }
    .map_err(|e| TransferError::Changed {
        path: path.to_string(),
        what: format!("no temporary name could be made: {e}"),
    })
}

/// The modification time to send with an upload, or `None` for one servers cannot take:
/// before the second day of 1970 (Nextcloud's `MtimeSanitizer` refuses the whole upload for
/// it, others store nonsense). The server then stamps its own time; the journal keeps the
/// local time as it is, so the file is not sent again.
fn mtime_of(state: &LocalState) -> Option<SystemTime> {
    const FIRST_DAY: i128 = 24 * 60 * 60 * 1_000_000_000;
    (state.mtime > FIRST_DAY)
        .then(|| SystemTime::UNIX_EPOCH + Duration::from_nanos(state.mtime as u64))
}

/// The precondition that lets a write replace exactly `remote_before` (or create a file where
/// there was none).
fn precondition_for(remote_before: Option<&RemoteState>) -> Precondition {
    match remote_before
        .and_then(|r| r.etag.as_deref())
        .and_then(validator::strong)
    {
        Some(tag) => Precondition::Matches(tag.to_owned()),
        None if remote_before.is_none() => Precondition::Absent,
        None => Precondition::None,
    }
}

/// Checks that the remote file is still the version the plan saw, just before it is
/// replaced by a request that cannot check it itself.
async fn remote_unchanged(
    ctx: &Context,
    path: &RemotePath,
    remote_before: Option<&RemoteState>,
) -> Result<(), TransferError> {
    let Some(before) = remote_before else {
        return Ok(());
    };
    let now = ctx
        .or_stop(ctx.client.stat(path, EntryKind::File))
        .await??;
    let same = now.is_some_and(|e| match (&e.etag, &before.etag) {
        (Some(now), Some(then)) => validator::same_version(now, then),
        _ => e.size == before.size,
    });
    if same {
        Ok(())
    } else {
        Err(changed_remotely(path))
    }
}

/// The local file was written while it went up (seen by its state afterwards, or by the
/// bytes sent no longer matching the checksum sent with them): the upload is not used.
fn changed_locally(path: &RemotePath) -> TransferError {
    TransferError::Changed {
        path: path.to_string(),
        what: "the local file changed during the upload".into(),
    }
}

fn changed_remotely(path: &RemotePath) -> TransferError {
    TransferError::Changed {
        path: path.to_string(),
        what: "the remote file changed during the upload".into(),
    }
}

/// The agreement `made` for a file that went up from bytes read whole first (`before` when
/// read), as it stands now: a file written while its request was under way leaves the
/// server holding the version read, and the agreement then says the local file is not that
/// one (no local time), so the next pass sends the new version over it. Without this, an
/// edit that keeps the size and puts the time back would never be seen again.
fn settled(made: Agreed, before: &LocalState, now: Option<&LocalState>) -> Agreed {
    if now == Some(before) {
        return made;
    }
    tracing::info!(path = %made.path, "the local file changed while it went up; it goes again");
    Agreed {
        local_mtime: None,
        ..made
    }
}

/// What both sides agree on after `before` went up to `path`. The answer's headers say it
/// where the server sends them (ETag, file id, the modification time applied); otherwise one
/// `PROPFIND` asks.
async fn agreed(
    ctx: &Context,
    path: &RemotePath,
    before: &LocalState,
    uploaded: Option<Uploaded>,
) -> Result<Agreed, TransferError> {
    if let Some(
        uploaded @ Uploaded {
            etag: Some(_),
            file_id: Some(_),
            mtime_accepted: true,
        },
    ) = uploaded
    {
        return Ok(agreed_as_answered(path, before, uploaded));
    }
    let entry = ctx.client.stat(path, EntryKind::File).await?;
    Ok(agreed_with(
        path,
        before,
        entry.as_ref().and_then(|e| e.etag.clone()),
        entry.as_ref().and_then(|e| e.file_id.clone()),
        entry
            .and_then(|e| e.modified)
            .map(|t| (nanos(t) / 1_000_000_000) as i64),
    ))
}

/// The agreement an upload's answer states: its ETag and file id, and the modification time
/// sent if the server applied it.
fn agreed_as_answered(path: &RemotePath, before: &LocalState, uploaded: Uploaded) -> Agreed {
    let remote_mtime = uploaded
        .mtime_accepted
        .then(|| before.mtime.div_euclid(1_000_000_000) as i64);
    agreed_with(path, before, uploaded.etag, uploaded.file_id, remote_mtime)
}

fn agreed_with(
    path: &RemotePath,
    before: &LocalState,
    etag: Option<String>,
    file_id: Option<String>,
    remote_mtime: Option<i64>,
) -> Agreed {
    Agreed {
        path: path.as_str().to_owned(),
        is_dir: false,
        size: before.size,
        local_mtime: Some(before.mtime),
        local_inode: before.inode,
        file_id,
        etag,
        remote_mtime,
    }
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
