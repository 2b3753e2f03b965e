//! Deletes, on either side, that never take what the sync has not seen: a local file only if
//! unchanged since the scan (and then into the pair's trash, see [`crate::trash`]), a local folder only if empty of anything but our part files, a
//! server file with its precondition, a server folder only once a fresh listing shows it empty.

use std::path::Path;

use tidesync_webdav::{Depth, EntryKind, Overwrite, RemotePath, validator};

use std::sync::atomic::Ordering;

use super::Context;
use super::shared::{Checked, Effect, blocking, forget, is_below};
use crate::filter::Filter;
use crate::model::{LocalState, RemoteState, is_internal};
use crate::progress::FileAction;
use crate::scan::stat;
use crate::transfer::TransferError;
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
    let (filter, fold) = (ctx.filter.clone(), ctx.fold.load(Ordering::Relaxed));
    let key = path.as_str().to_owned();
    let checked = blocking(path.as_str(), move || {
        if is_dir {
            return remove_synced_folder(&root, &target, &key, &filter, fold);
        }
        // Re-check: a file edited since the scan is not deleted.
        if !LocalState::still(expected.as_ref(), stat(&target)?.as_ref()) {
            return Ok(Checked::Refused(
                "the local file changed, so it was not deleted",
            ));
        }
        // Never gone for good: into the pair's trash.
        trash::keep_below(&root, &target, Removal::DeletedOnServer).map(|_| Checked::Done)
    })
    .await?;
    let kept = matches!(checked, Checked::Kept);
    checked.or_changed(path.as_str())?;
    forget(ctx, path).await?;
    if kept {
        tracing::info!(%path, "deleted on the server; kept here for the items left out in it");
        return Ok(Effect::QUIET);
    }
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
        delete_remote_file(ctx, path, remote).await.map(|()| true)
    };
    match deleted {
        Ok(true) => {}
        Ok(false) => {
            forget(ctx, path).await?;
            tracing::info!(%path, "deleted here; kept on the server for the items left out in it");
            return Ok(Effect::QUIET);
        }
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

/// Removes a local folder the plan emptied (`key`: its path in the pair). Anything still in
/// it but Tidesync's own part files and what the pair leaves out means something arrived that
/// was not synced: the folder is kept, and that is reported. What the pair leaves out goes
/// into the trash with the folder where the pair says so or where it is all debris;
/// otherwise the folder stays, quietly, for it.
fn remove_synced_folder(
    root: &Path,
    target: &Path,
    key: &str,
    filter: &Filter,
    fold: bool,
) -> std::io::Result<Checked> {
    match std::fs::remove_dir(target) {
        Ok(()) => return Ok(Checked::Done),
        Err(e) if e.kind() != std::io::ErrorKind::DirectoryNotEmpty => return Err(e),
        Err(_) => {}
    }
    let mut found = Remains::default();
    if !found.look(target, key, filter, fold)? {
        return Ok(Checked::Refused(
            "the folder holds files that were not synced, so it was kept",
        ));
    }
    if !found.left_out.is_empty() && !filter.remove_with_folder() && found.not_debris {
        return Ok(Checked::Kept);
    }
    for item in &found.left_out {
        trash::keep_below(root, item, Removal::DeletedOnServer)?;
    }
    for part in &found.ours {
        std::fs::remove_file(part)?;
    }
    // The deepest first: each is empty by the time its turn comes.
    found
        .folders
        .sort_by_key(|folder| std::cmp::Reverse(folder.components().count()));
    for folder in &found.folders {
        std::fs::remove_dir(folder)?;
    }
    std::fs::remove_dir(target).map(|()| Checked::Done)
}

/// What a local folder holds after the plan emptied it.
#[derive(Default)]
struct Remains {
    /// Tidesync's own part files.
    ours: Vec<std::path::PathBuf>,
    /// The files the pair leaves out, each on its own (the trash keeps files, one per entry).
    left_out: Vec<std::path::PathBuf>,
    /// Some of `left_out` is not debris (see `filter::DefaultPattern::debris`).
    not_debris: bool,
    /// Folders below that hold only the above.
    folders: Vec<std::path::PathBuf>,
}

impl Remains {
    /// Sorts what `folder` (`key` in the pair) holds; false at the first item that was
    /// neither synced nor left out.
    fn look(
        &mut self,
        folder: &Path,
        key: &str,
        filter: &Filter,
        fold: bool,
    ) -> std::io::Result<bool> {
        for entry in std::fs::read_dir(folder)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Ok(false);
            };
            let kind = entry.file_type()?;
            if is_internal(&name) && !kind.is_dir() {
                self.ours.push(entry.path());
                continue;
            }
            let path = format!("{key}/{name}");
            let size = (!kind.is_dir())
                .then(|| entry.metadata().map(|m| m.len()))
                .transpose()?;
            if let Some(reason) = filter.excludes(&path, kind.is_dir(), size, fold) {
                self.not_debris |= !reason.is_debris();
                self.take_all(entry.path(), kind.is_dir())?;
                continue;
            }
            if !kind.is_dir() {
                return Ok(false);
            }
            self.folders.push(entry.path());
            if !self.look(&entry.path(), &path, filter, fold)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Takes `item`, left out, with everything in it.
    fn take_all(&mut self, item: std::path::PathBuf, is_dir: bool) -> std::io::Result<()> {
        if !is_dir {
            self.left_out.push(item);
            return Ok(());
        }
        for entry in std::fs::read_dir(&item)? {
            let entry = entry?;
            self.take_all(entry.path(), entry.file_type()?.is_dir())?;
        }
        self.folders.push(item);
        Ok(())
    }
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
/// Anything else keeps the folder, and the next sync brings it over. Items the pair leaves
/// out go with the folder where the pair says so or where they are all debris; otherwise the
/// folder stays for them (false).
async fn delete_remote_folder(ctx: &Context, path: &RemotePath) -> Result<bool, TransferError> {
    let listing = ctx
        .or_stop(ctx.client.list(path, Depth::Infinity))
        .await??;
    let mut left_out: Vec<(&str, bool)> = Vec::new();
    let mut folders = Vec::new();
    let mut unseen = !listing.rejected.is_empty();
    for entry in listing.entries.iter().filter(|e| e.path != *path) {
        let key = entry.path.as_str();
        if entry.path.name().is_some_and(is_internal)
            || left_out.iter().any(|(out, _)| is_below(key, out))
        {
            continue;
        }
        let is_dir = entry.kind == EntryKind::Folder;
        match ctx.left_out(key, is_dir, Some(entry.size)) {
            Some(reason) => left_out.push((key, reason.is_debris())),
            None if is_dir => folders.push(key),
            None => unseen = true,
        }
    }
    // A folder below counts as seen only where it holds items left out.
    unseen |= folders
        .iter()
        .any(|folder| !left_out.iter().any(|(out, _)| is_below(out, folder)));
    if unseen {
        return Err(TransferError::Changed {
            path: path.to_string(),
            what: "the folder on the server holds files this sync has not seen, so it was kept"
                .into(),
        });
    }
    let all_debris = left_out.iter().all(|(_, debris)| *debris);
    if !left_out.is_empty() && !ctx.filter.remove_with_folder() && !all_debris {
        return Ok(false);
    }
    ctx.or_stop(ctx.client.delete(path, EntryKind::Folder, None))
        .await??;
    Ok(true)
}
