//! Deletes, on either side, that never take what the sync has not seen: a local file only if
//! unchanged since the scan (and then into the pair's trash, see [`crate::trash`]), a local folder only if empty of anything but our part files, a
//! server file with its precondition, a server folder only once a fresh listing shows it empty.

use std::path::Path;

use tidesync_webdav::{Depth, EntryKind, Overwrite, RemotePath, validator};

use super::shared::{Checked, Effect, blocking, forget};
use crate::model::{LocalState, RemoteState, is_internal};
use crate::progress::FileAction;
use crate::scan::stat;
use crate::transfer::{Context, TransferError};
use crate::trash::{self, Removal};

pub(super) async fn delete_local(
    ctx: &Context,
    path: &RemotePath,
    is_dir: bool,
    local: Option<&LocalState>,
) -> Result<Effect, TransferError> {
    let target = ctx.writable_path(path).await?;
    let expected = local.cloned();
    let root = ctx.local_root.clone();
    blocking(path.as_str(), move || {
        if is_dir {
            return remove_synced_folder(&target);
        }
        // Re-check: a file edited since the scan is not deleted.
        if stat(&target)? != expected {
            return Ok(Checked::Refused(
                "the local file changed, so it was not deleted",
            ));
        }
        // Never gone for good: into the pair's trash.
        trash::keep_below(&root, &target, Removal::DeletedOnServer).map(|_| Checked::Done)
    })
    .await?
    .or_changed(path.as_str())?;
    forget(ctx, path).await?;
    Ok(Effect::shown(FileAction::DeletedLocal))
}

pub(super) async fn delete_remote(
    ctx: &Context,
    path: &RemotePath,
    is_dir: bool,
    remote: Option<&RemoteState>,
) -> Result<Effect, TransferError> {
    let deleted = if is_dir {
        delete_remote_folder(ctx, path).await
    } else {
        delete_remote_file(ctx, path, remote).await
    };
    match deleted {
        Ok(()) => {}
        Err(TransferError::Remote(e)) if e.is_not_found() => {}
        Err(TransferError::Remote(e)) if e.is_precondition_failed() => {
            return Err(TransferError::Changed {
                path: path.to_string(),
                what: "the server's copy changed since it was listed, so it was not deleted".into(),
            });
        }
        Err(e) => return Err(e),
    }
    forget(ctx, path).await?;
    Ok(Effect::shown(FileAction::DeletedRemote))
}

/// Removes a local folder the plan emptied. Anything still in it but Tidesync's own part
/// files means something arrived that was not synced: the folder is kept.
fn remove_synced_folder(target: &Path) -> std::io::Result<Checked> {
    match std::fs::remove_dir(target) {
        Ok(()) => return Ok(Checked::Done),
        Err(e) if e.kind() != std::io::ErrorKind::DirectoryNotEmpty => return Err(e),
        Err(_) => {}
    }
    let mut ours = Vec::new();
    for entry in std::fs::read_dir(target)? {
        let entry = entry?;
        let internal = entry.file_name().to_str().is_some_and(is_internal);
        if !internal || entry.file_type()?.is_dir() {
            return Ok(Checked::Refused(
                "the folder holds files that were not synced, so it was kept",
            ));
        }
        ours.push(entry.path());
    }
    for part in ours {
        std::fs::remove_file(part)?;
    }
    std::fs::remove_dir(target).map(|()| Checked::Done)
}

/// Deletes a remote file only if it is still the version the plan saw: `If-Match` with a
/// strong tag; with a weak one (which never matches) a fresh look at the file right before.
async fn delete_remote_file(
    ctx: &Context,
    path: &RemotePath,
    listed: Option<&RemoteState>,
) -> Result<(), TransferError> {
    let etag = listed.and_then(|r| r.etag.clone());
    if let Some(weak) = etag.as_deref().filter(|t| validator::is_weak(t)) {
        let now = ctx
            .or_stop(ctx.client.stat(path, EntryKind::File))
            .await??;
        match now {
            None => return Ok(()),
            Some(entry)
                if entry
                    .etag
                    .as_deref()
                    .is_some_and(|t| validator::same_version(t, weak)) => {}
            Some(_) => {
                return Err(TransferError::Changed {
                    path: path.to_string(),
                    what: "the server's copy changed since it was listed, so it was not deleted"
                        .into(),
                });
            }
        }
    }
    match &ctx.remote_backup {
        Some(backup) => move_to_backup(ctx, path, backup).await,
        None => {
            ctx.or_stop(ctx.client.delete(path, EntryKind::File, etag.as_deref()))
                .await??;
            Ok(())
        }
    }
}

/// Moves a file the sync would delete on the server into the backup folder, under its path
/// (an older backup of the same path is replaced, as rclone's `--backup-dir` does).
async fn move_to_backup(
    ctx: &Context,
    path: &RemotePath,
    backup: &RemotePath,
) -> Result<(), TransferError> {
    let kept =
        RemotePath::parse(&format!("{backup}/{path}")).map_err(|e| TransferError::Changed {
            path: path.to_string(),
            what: format!("no backup name could be made: {e}"),
        })?;
    let mut folders = Vec::new();
    let mut parent = kept.parent();
    while let Some(folder) = parent.filter(|p| !p.is_root()) {
        parent = folder.parent();
        folders.push(folder);
    }
    for folder in folders.into_iter().rev() {
        ctx.or_stop(ctx.client.mkcol(&folder)).await??;
    }
    ctx.or_stop(
        ctx.client
            .move_to(path, &kept, EntryKind::File, Overwrite::Replace),
    )
    .await??;
    Ok(())
}

/// Deletes a remote folder without ever deleting what this sync has not seen. WebDAV's
/// `DELETE` of a folder takes everything in it, so the plan first deletes the files it knows
/// unchanged (with their preconditions, deepest first); then a fresh listing of the folder
/// must show it empty, apart from Tidesync's own upload temps, right before the `DELETE`.
/// Anything else keeps the folder, and the next sync brings it over.
async fn delete_remote_folder(ctx: &Context, path: &RemotePath) -> Result<(), TransferError> {
    let listing = ctx.or_stop(ctx.client.list(path, Depth::One)).await??;
    let unseen = listing
        .entries
        .iter()
        .any(|e| e.path != *path && !e.path.name().is_some_and(is_internal));
    if unseen || !listing.rejected.is_empty() {
        return Err(TransferError::Changed {
            path: path.to_string(),
            what: "the folder on the server holds files this sync has not seen, so it was kept"
                .into(),
        });
    }
    ctx.or_stop(ctx.client.delete(path, EntryKind::Folder, None))
        .await??;
    Ok(())
}
