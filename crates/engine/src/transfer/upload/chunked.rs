//! Large files to a server with chunked upload v2 (Nextcloud): the chunks go to an upload
//! folder named from the file's identity (pair, path, size, modification time, inode, chunk
//! size), recorded in the journal first. A run that is stopped, or a process that is killed,
//! leaves the folder; the next upload of the same file finds it and sends only the missing
//! chunks. The local file is hashed after the last chunk (its SHA-1 goes with the assembly,
//! where the server stores checksums) and checked after that, and the remote version just
//! before the assembly, so the real name gets exactly the version planned. Folders no run
//! needs any more are deleted by [`sweep_chunked`].

use tidesync_webdav::RemotePath;

use super::{
    TransferError, abilities, agreed, changed_locally, changed_remotely, mtime_of,
    precondition_for, remote_unchanged, stat_async, upload_progress,
};
use crate::journal::Agreed;
use crate::model::{LocalState, PairId, RemoteState};
use crate::run::Context;

pub(super) async fn send(
    ctx: &Context,
    path: &RemotePath,
    remote_before: Option<&RemoteState>,
    before: LocalState,
) -> Result<Agreed, TransferError> {
    let local = ctx.local_path(path);
    let id = upload_id(ctx.pair, path, &before, ctx.uploads.chunk_size);
    ctx.chunked_in_use(&id);
    let (pair, recorded) = (ctx.pair, id.clone());
    ctx.journal
        .call(move |j| j.begin_chunked(pair, &recorded))
        .await?;
    let progress = upload_progress(ctx, path, before.size);
    let sent = ctx
        .or_stop(
            ctx.client
                .put_chunks(path, &local, &id, ctx.uploads.chunk_size, progress),
        )
        .await??;
    // After the checksum `put_chunks` read: an unchanged file means it is the chunks' one.
    if stat_async(ctx, &local).await?.as_ref() != Some(&before) {
        discard(ctx, &id).await;
        return Err(changed_locally(path));
    }
    if let Err(error) = remote_unchanged(ctx, path, remote_before).await {
        discard(ctx, &id).await;
        return Err(error);
    }
    let precondition = precondition_for(remote_before);
    let assembled = ctx
        .or_stop(ctx.client.assemble_chunks(
            path,
            &local,
            &id,
            &sent,
            &precondition,
            mtime_of(&before),
        ))
        .await?;
    match assembled {
        Ok(uploaded) => {
            let (pair, done) = (ctx.pair, id.clone());
            ctx.journal
                .call(move |j| j.end_chunked(pair, &done))
                .await?;
            agreed(ctx, path, &before, Some(uploaded)).await
        }
        Err(e) if e.is_precondition_failed() => {
            discard(ctx, &id).await;
            Err(match remote_before {
                Some(_) => changed_remotely(path),
                None => TransferError::Changed {
                    path: path.to_string(),
                    what: "a remote file appeared at the same path during the upload".into(),
                },
            })
        }
        // Kept for the next run, which sends what is missing and assembles again.
        Err(e) => Err(e.into()),
    }
}

/// The upload folder's name for this version of this file: the same after a restart, another
/// one as soon as the file changes.
fn upload_id(pair: PairId, path: &RemotePath, state: &LocalState, chunk_size: u64) -> String {
    // The change time too: chunks of a file since rewritten in place (size and time kept)
    // are never resumed into the new version.
    let identity = format!(
        "{pair}\n{path}\n{}\n{}\n{:?}\n{:?}\n{chunk_size}",
        state.size, state.mtime, state.inode, state.ctime
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, identity.as_bytes());
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("tidesync-{hex}")
}

/// Deletes an upload folder and forgets it; one that cannot be deleted now is left to
/// [`sweep_chunked`] (and, failing that, to the server's own expiry after a day).
async fn discard(ctx: &Context, id: &str) {
    match ctx.client.abort_chunked(id).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(error) => {
            tracing::debug!(id, %error, "an upload folder stays for the next run");
            return;
        }
    }
    let (pair, key) = (ctx.pair, id.to_owned());
    if let Err(error) = ctx.journal.call(move |j| j.end_chunked(pair, &key)).await {
        tracing::warn!(id, %error, "an upload folder was deleted but not forgotten");
    }
}

/// Deletes the upload folders recorded for the pair that this run did not use: their file
/// changed, went away or was synced otherwise. Called when a run completes.
pub async fn sweep_chunked(ctx: &Context) -> Result<(), TransferError> {
    let pair = ctx.pair;
    let pending = ctx.journal.call(move |j| j.pending_chunked(pair)).await?;
    let abandoned: Vec<String> = pending
        .into_iter()
        .filter(|id| !ctx.chunked_was_used(id))
        .collect();
    if abandoned.is_empty() {
        return Ok(());
    }
    if abilities(ctx, &RemotePath::root())
        .await?
        .chunking
        .is_none()
    {
        return Ok(());
    }
    for id in abandoned {
        ctx.or_stop(discard(ctx, &id)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_folder_is_named_by_the_files_version() {
        let path = RemotePath::parse("a/b.bin").unwrap();
        let state = LocalState {
            is_dir: false,
            size: 10,
            mtime: 5,
            inode: Some(7),
            ctime: None,
        };
        let id = upload_id(PairId(1), &path, &state, 1 << 20);
        assert_eq!(id, upload_id(PairId(1), &path, &state, 1 << 20));
        assert!(id.starts_with("tidesync-") && id.len() == "tidesync-".len() + 32);
        let newer = LocalState { mtime: 6, ..state };
        assert_ne!(id, upload_id(PairId(1), &path, &newer, 1 << 20));
        assert_ne!(id, upload_id(PairId(2), &path, &state, 1 << 20));
    }
}
