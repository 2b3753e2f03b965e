//! Both sides changed the same path: the server's version keeps the name, the local one a
//! conflict name that is never an earlier copy's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use tidesync_webdav::RemotePath;

use super::Context;
use super::shared::{Effect, blocking, folder, record, record_installed, stat_folder, vanished};
use crate::journal::{Agreed, PartialDownload};
use crate::model::{LocalState, RemoteState};
use crate::progress::FileAction;
use crate::scan::stat;
use crate::transfer::{
    Fetched, Landing, TransferError, conflict_name, fetch, install, is_verifiable, same_bytes,
};

/// Both sides changed the same path. The server's version keeps the name; the local one is
/// kept under a conflict name (and uploaded by the next pass in two-way and upload modes),
/// unless both hold the same bytes, which is simply recorded as agreed.
pub(super) async fn conflict(
    ctx: &Arc<Context>,
    path: &RemotePath,
    local: Option<&LocalState>,
    remote: Option<&RemoteState>,
    recorded: Option<&PartialDownload>,
) -> Result<Effect, TransferError> {
    let key = path.as_str().to_owned();
    let (Some(local), Some(remote)) = (local, remote) else {
        return Err(vanished(&key));
    };
    let target = ctx.writable_path(path).await?;
    let part = if remote.is_dir {
        None
    } else {
        match fetch(ctx, path, remote, recorded, Landing::Part).await? {
            Fetched::Part(part) => Some(part),
            Fetched::Installed(_) => unreachable!("a part landing is never installed"),
        }
    };
    if let Some(part) = &part
        && !local.is_dir
    {
        let (a, b) = (part.clone(), target.clone());
        // A comparison that stalls (a failing card) never holds up a stop.
        let same = ctx
            .or_stop(blocking(&key, move || same_bytes(&a, &b)))
            .await??;
        if same {
            crate::transfer::discard_part(ctx, &key, part).await?;
            record(
                ctx,
                Agreed {
                    path: key,
                    is_dir: false,
                    size: local.size,
                    local_mtime: Some(local.mtime),
                    etag: remote.etag.clone(),
                    remote_mtime: remote.mtime,
                    local_inode: local.inode,
                    file_id: remote.file_id.clone(),
                },
            )?;
            return Ok(Effect {
                action: None,
                bytes: remote.size,
                verified: is_verifiable(remote),
            });
        }
    }
    // Keep the local version under a conflict name, if it is still the one the plan saw.
    let name = path.name().unwrap_or_default();
    let (expected, when, from) = (local.clone(), SystemTime::now(), target.clone());
    let (name, disk) = (name.to_owned(), ctx.disk);
    let moved = blocking(&key, move || -> std::io::Result<Option<PathBuf>> {
        // A folder moves aside with whatever is in it; a file only if it is the one planned.
        let now = stat(&from)?;
        let unchanged = match &now {
            Some(now) if expected.is_dir => now.is_dir,
            now => now.as_ref().is_some_and(|now| expected.is_still(now)),
        };
        if !unchanged {
            return Ok(None);
        }
        // Never onto an earlier conflict copy of the same second (in any letter case, on a
        // volume that does not tell case apart).
        let free = |to: &PathBuf| {
            matches!(std::fs::symlink_metadata(disk.found(to)), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        };
        let to = (1..=u32::MAX)
            .map(|n| from.with_file_name(conflict_name(&name, when, n)))
            .find(free)
            .ok_or_else(|| std::io::Error::other("no free conflict name"))?;
        std::fs::rename(&from, &to)?;
        Ok(Some(to))
    })
    .await?;
    let Some(aside) = moved else {
        return Err(TransferError::Changed {
            path: key,
            what: "the local file changed while its conflict was being resolved".into(),
        });
    };
    tracing::info!(path = %key, kept_as = %aside.display(), "conflict: the local version was kept under a new name");
    let verified = part.is_some() && is_verifiable(remote);
    match part {
        Some(part) => {
            let agreed = install(ctx, path, part, remote, None).await?;
            record_installed(ctx, path, agreed)?;
        }
        None => {
            tokio::fs::create_dir_all(&target)
                .await
                .map_err(|source| TransferError::Local {
                    path: key.clone(),
                    source,
                })?;
            let made = stat_folder(&target).await?;
            record(ctx, folder(&key, made.as_ref(), Some(remote)))?;
        }
    }
    Ok(Effect {
        action: Some(FileAction::Conflict),
        bytes: remote.size,
        verified,
    })
}
