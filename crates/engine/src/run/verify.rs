//! Contents compared where the server gives no validator.
//!
//! The plan sees a change on the server by its ETag, or without one by its size and time. A
//! server that gives neither an ETag nor a modification time (some minimal WebDAV servers and
//! gateways) hides an edit that keeps a file's size: the plan cannot see it. So after the
//! plan, each such file the run left alone is fetched into a part file and compared with the
//! local copy; where they differ the server's version is installed, as a download would
//! (only over the copy the survey saw, so an edit locally meanwhile is kept). This costs
//! a transfer of every such file, so it runs every [`VERIFY_EVERY`]th run of a pair on such a
//! server, or on every run when asked (CLI `--checksum`).

use std::collections::HashSet;
use std::sync::Arc;

use super::Context;
use super::error::RunError;
use super::shared::{blocking, parse, record_error, record_installed};
use super::surveyed::Survey;
use crate::model::Summary;
use crate::transfer::{Fetched, Landing, TransferError, fetch, install, same_bytes};

/// How often (in runs of a pair) a server without validators has its files compared.
pub const VERIFY_EVERY: u64 = 10;

/// Whether the listing gave nothing to tell a same-size edit by: files, none with an ETag or a
/// modification time.
pub(super) fn lacks_validators(seen: &Survey) -> bool {
    let mut files = seen.remote.values().filter(|r| !r.is_dir).peekable();
    files.peek().is_some() && files.all(|r| r.etag.is_none() && r.mtime.is_none())
}

/// Compares every file the server gives no ETag for with the local copy, skipping what the
/// plan of this run acted on (`acted`) and what changed locally since it was agreed.
pub(super) async fn compare_contents(
    ctx: &Arc<Context>,
    seen: &Survey,
    acted: &HashSet<String>,
    summary: &mut Summary,
) -> Result<(), RunError> {
    for (path, remote) in &seen.remote {
        if remote.is_dir || remote.etag.is_some() || acted.contains(path) {
            continue;
        }
        let (Some(local), Some(agreed)) = (seen.local.get(path), seen.agreed.get(path)) else {
            continue;
        };
        let unchanged_here =
            !local.is_dir && local.size == agreed.size && Some(local.mtime) == agreed.local_mtime;
        if !unchanged_here {
            continue;
        }
        if ctx.run.is_cancelled() {
            return Err(RunError::Stopped);
        }
        match compare_one(ctx, path, local, remote).await {
            Ok(differed) => {
                summary.files_compared += 1;
                if differed {
                    summary.files_downloaded += 1;
                    summary.bytes_downloaded += remote.size;
                }
            }
            Err(TransferError::Stopped) => return Err(RunError::Stopped),
            Err(TransferError::Journal(e)) => return Err(RunError::Journal(e)),
            Err(error) => record_error(ctx, summary, path, &error.to_string()),
        }
    }
    Ok(())
}

/// Fetches one file and installs it if its bytes differ from the local copy; returns whether
/// they differed.
async fn compare_one(
    ctx: &Arc<Context>,
    path: &str,
    local: &crate::model::LocalState,
    remote: &crate::model::RemoteState,
) -> Result<bool, TransferError> {
    let remote_path = parse(path)?;
    let target = ctx.writable_path(&remote_path).await?;
    let Fetched::Part(part) = fetch(ctx, &remote_path, remote, None, Landing::Part).await? else {
        unreachable!("a part landing is never installed");
    };
    let (a, b) = (part.clone(), target);
    if ctx
        .or_stop(blocking(path, move || same_bytes(&a, &b)))
        .await??
    {
        crate::transfer::discard_part(ctx, path, &part).await?;
        return Ok(false);
    }
    tracing::info!(%path, "the server's copy differs from the local copy; fetched");
    let agreed = install(ctx, &remote_path, part, remote, Some(local)).await?;
    record_installed(ctx, &remote_path, agreed)?;
    Ok(true)
}
