//! Moves found by the survey, repeated on the other side before anything else is done.

use std::collections::BTreeMap;

use tidesync_webdav::{EntryKind, Overwrite};

use super::Context;
use super::error::RunError;
use super::shared::{Checked, blocking, parse};
use crate::disk::same_file;
use crate::model::{LocalState, Summary};
use crate::moves::{Move, MovedOn};
use crate::progress::{FileAction, JobEvent};
use crate::scan::stat;
use crate::transfer::TransferError;

/// Repeats each move on the other side (a `MOVE` on the server, a rename locally) and
/// moves the journal's agreed state with it. Returns the sources of the moves that could not
/// be made, which the next pass plans as a delete and a creation. `local` (the survey's view
/// of the local side, the moves already applied) takes the state of each item renamed
/// locally: a rename changes its `ctime`, which later steps compare.
pub(super) async fn carry_moves(
    ctx: &Context,
    moves: &[Move],
    local: &mut BTreeMap<String, LocalState>,
    summary: &mut Summary,
) -> Result<Vec<String>, RunError> {
    // Agreements still in the recorder's batch land before their paths are moved.
    ctx.recorder.flush().await?;
    let mut failed = Vec::new();
    for m in moves {
        let made = match m.on {
            MovedOn::Local => move_on_server(ctx, m).await,
            MovedOn::Remote => move_locally(ctx, m).await,
        };
        match made {
            Ok(()) => {
                let (pair, from, to) = (ctx.pair, m.from.clone(), m.to.clone());
                ctx.journal.call(move |j| j.rekey(pair, &from, &to)).await?;
                if m.on == MovedOn::Remote {
                    refresh(ctx, &m.to, local).await;
                }
                tracing::info!(from = %m.from, to = %m.to, "moved on the other side too");
                summary.moved += 1;
                ctx.hub.emit(JobEvent::FileDone {
                    path: m.to.clone(),
                    action: FileAction::Moved,
                });
            }
            Err(TransferError::Stopped) => return Err(RunError::Stopped),
            Err(TransferError::Remote(e)) if e.is_auth() || e.is_insufficient_storage() => {
                return Err(RunError::from(e));
            }
            Err(TransferError::Journal(e)) => return Err(RunError::Journal(e)),
            Err(error) => {
                tracing::info!(from = %m.from, to = %m.to, %error, "not moved: synced as a delete and a new item instead");
                failed.push(m.from.clone());
            }
        }
    }
    Ok(failed)
}

/// Reads again the state of `key` locally, just renamed there.
async fn refresh(ctx: &Context, key: &str, local: &mut BTreeMap<String, LocalState>) {
    let Ok(path) = parse(key) else { return };
    let at = ctx.local_path(&path);
    // Gone or unreadable since: the step that needs it finds out and says so.
    if let Ok(Some(now)) = blocking(key, move || stat(&at)).await {
        local.insert(key.to_owned(), now);
    }
}

/// Makes on the server the move made locally: the folders above the new place first (a
/// folder just made locally may hold it), then a `MOVE` that never replaces anything.
async fn move_on_server(ctx: &Context, m: &Move) -> Result<(), TransferError> {
    let (from, to) = (parse(&m.from)?, parse(&m.to)?);
    let mut parents = Vec::new();
    let mut parent = to.parent();
    while let Some(folder) = parent.filter(|p| !p.is_root()) {
        parent = folder.parent();
        parents.push(folder);
    }
    for folder in parents.into_iter().rev() {
        ctx.or_stop(ctx.client.mkcol(&folder)).await??;
    }
    let kind = if m.is_dir {
        EntryKind::Folder
    } else {
        EntryKind::File
    };
    ctx.or_stop(ctx.client.move_to(&from, &to, kind, Overwrite::Never))
        .await??;
    Ok(())
}

/// Makes locally the move made on the server: a rename, if the old item is still what
/// was agreed and nothing stands at the new name. On a case-insensitive volume a new name that
/// differs only in case finds the item itself there: that rename changes the case, so the
/// item is never deleted and fetched again under its new name.
async fn move_locally(ctx: &Context, m: &Move) -> Result<(), TransferError> {
    let from = ctx.writable_path(&parse(&m.from)?).await?;
    let to_key = parse(&m.to)?;
    // What a lookup of the new name finds (on a case-insensitive volume, maybe the item
    // itself), and the name the rename gives.
    let there = ctx.writable_path(&to_key).await?;
    let to = ctx.named_path(&to_key);
    let is_dir = m.is_dir;
    blocking(&m.from, move || {
        if stat(&from)?.is_none_or(|s| s.is_dir != is_dir) {
            return Ok(Checked::Refused("it is gone from the local side"));
        }
        match std::fs::symlink_metadata(&there) {
            Ok(there) if !same_file(&there, &std::fs::symlink_metadata(&from)?) => {
                return Ok(Checked::Refused("something else stands at the new name"));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(&from, &to).map(|()| Checked::Done)
    })
    .await?
    .or_changed(&m.from)
}
