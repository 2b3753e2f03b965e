//! Downloads: into a hidden part file, resumed from the journal's checkpoint while the
//! server's version is the same, verified against the server's checksum where it publishes
//! one, and renamed into place only if the local file is still what the plan saw.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tidesync_webdav::{RemotePath, validator};

use super::{CHECKPOINT_BYTES, CHECKPOINT_EVERY, TransferError};
use crate::journal::{Agreed, PartialDownload};
use crate::model::{LEGACY_PART_SUFFIX, LocalState, PART_PREFIX, RemoteState};
use crate::part::PartWriter;
use crate::run::Context;
use crate::scan::stat;

/// The hidden file a download of `target` is written to: in the same folder (so the rename
/// into place is atomic), named from a hash of the target's name (so its length is fixed).
pub fn part_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, name);
    let hash: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    target.with_file_name(format!("{PART_PREFIX}{hash}"))
}

/// Where an older Tidesync wrote the download of `target` (`.<name>.tidesync-part`).
pub fn legacy_part_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{LEGACY_PART_SUFFIX}"))
}

/// Where a download goes once it is complete.
#[derive(Clone, Copy)]
pub enum Landing<'a> {
    /// It stays in its part file, for the caller to compare or install.
    Part,
    /// It is renamed over its target if the target is still what the plan saw (`None`: no
    /// file). A server checksum to verify first makes it land as a part file instead.
    Target(Option<&'a LocalState>),
}

/// A complete download.
pub enum Fetched {
    /// In its part file, complete, fsync'd and of the expected size.
    Part(PathBuf),
    /// Renamed into place (see [`install`]); the state to record.
    Installed(Agreed),
}

/// Downloads the remote file at `path` into its part file, resuming where a previous run
/// stopped if the remote version is the same. `recorded` is the journal's checkpoint of this
/// path, read once per run for every path (see `run::survey`). With [`Landing::Target`] the
/// final write and the rename share one blocking call: a small file costs one hop, not two.
pub async fn fetch(
    ctx: &Context,
    path: &RemotePath,
    remote: &RemoteState,
    recorded: Option<&PartialDownload>,
    landing: Landing<'_>,
) -> Result<Fetched, TransferError> {
    let target = ctx.writable_path(path).await?;
    let part = part_path(&target);
    let key = path.as_str().to_owned();
    // Resume only what the journal vouches for, and only if the part file still holds it.
    // Only a recorded download costs a stat.
    let mut offset = match resumable(recorded, remote) {
        0 => 0,
        checkpoint => match tokio::fs::metadata(&part).await {
            Ok(meta) if meta.len() >= checkpoint => checkpoint,
            _ => 0,
        },
    };
    if offset > 0 && offset == remote.size {
        // Stopped after the last byte was fsync'd but before the rename: nothing to fetch.
        return verified(ctx, &key, remote, part).await.map(Fetched::Part);
    }
    // Only a download with nothing left to check may be renamed as soon as it is written.
    let lands = match landing {
        Landing::Target(before) if checksum(remote).is_none() => Landing::Target(before),
        _ => Landing::Part,
    };
    // The client retried each request already; what is left here is a body that broke off
    // after bytes arrived, resumed from there under the same policy.
    let mut resumes = 0;
    loop {
        let before = offset;
        match fetch_from(ctx, path, remote, (&part, &target), &mut offset, lands).await {
            Ok(Some(installed)) => return Ok(Fetched::Installed(installed)),
            Ok(None) if offset < remote.size => resumes = 0,
            Ok(None) => return verified(ctx, &key, remote, part).await.map(Fetched::Part),
            Err(TransferError::Remote(e))
                if e.is_range_unsatisfiable() && offset > 0 && resumes + 1 < ctx.retry.attempts =>
            {
                // The server cannot serve the rest: re-check by fetching the whole file.
                resumes += 1;
                start_over(ctx, &key, &mut offset);
            }
            Err(TransferError::Remote(e))
                if e.is_retryable() && offset > before && resumes + 1 < ctx.retry.attempts =>
            {
                checkpoint(ctx, &key, remote, &part, offset).await?;
                let pause = ctx.retry.delay(resumes, e.retry_after());
                resumes += 1;
                ctx.or_stop(tokio::time::sleep(pause)).await?;
            }
            Err(e) => {
                if matches!(e, TransferError::Stopped | TransferError::Remote(_)) {
                    checkpoint(ctx, &key, remote, &part, offset).await?;
                }
                return Err(e);
            }
        }
    }
}

/// Starts the download of `path` over from its first byte, its progress with it.
fn start_over(ctx: &Context, path: &str, offset: &mut u64) {
    ctx.hub.start_over(path, *offset);
    *offset = 0;
}

/// The offset a download of `remote` can resume from, by the journal's checkpoint: bytes
/// fsync'd from the same remote version, or 0.
pub fn resumable(recorded: Option<&PartialDownload>, remote: &RemoteState) -> u64 {
    match recorded {
        Some(r)
            if r.size == remote.size
                && matches!((&r.etag, &remote.etag), (Some(then), Some(now)) if validator::same_version(then, now)) =>
        {
            r.offset
        }
        _ => 0,
    }
}

/// The server's checksum of `remote` this client can verify: (name, algorithm, lowercase hex).
fn checksum(remote: &RemoteState) -> Option<(String, &'static ring::digest::Algorithm, String)> {
    remote.checksums.iter().find_map(|c| {
        let (kind, hex) = c.split_once(':')?;
        let algorithm = match kind.to_ascii_uppercase().as_str() {
            "SHA256" => &ring::digest::SHA256,
            "SHA1" => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            _ => return None,
        };
        Some((kind.to_owned(), algorithm, hex.to_ascii_lowercase()))
    })
}

/// Whether a download of `remote` is checked against a checksum the server publishes.
pub fn is_verifiable(remote: &RemoteState) -> bool {
    checksum(remote).is_some()
}

/// Checks a complete part file against the server's SHA-1 or SHA-256 checksum, where the
/// server publishes one (Nextcloud's `oc:checksums`). A mismatch discards the part file.
async fn verified(
    ctx: &Context,
    key: &str,
    remote: &RemoteState,
    part: PathBuf,
) -> Result<PathBuf, TransferError> {
    let Some((kind, algorithm, hex)) = checksum(remote) else {
        return Ok(part);
    };
    let path = part.clone();
    let actual = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?;
        let mut context = ring::digest::Context::new(algorithm);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            context.update(&buf[..n]);
        }
        Ok(context
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    })
    .await
    .map_err(|e| TransferError::local(&part, std::io::Error::other(e)))?
    .map_err(|e| TransferError::local(&part, e))?;
    if actual == hex {
        return Ok(part);
    }
    discard_part(ctx, key, &part).await?;
    Err(TransferError::Changed {
        path: key.to_owned(),
        what: format!("the downloaded bytes do not match the server's {kind} checksum"),
    })
}

/// One GET from `offset` (of at most `range_size` bytes for a large file), appending to the
/// part file; `offset` follows what is written. With [`Landing::Target`], a GET that completes the
/// file also renames it into place (see [`install`]) and returns the state to record.
async fn fetch_from(
    ctx: &Context,
    path: &RemotePath,
    remote: &RemoteState,
    (part, target): (&Path, &Path),
    offset: &mut u64,
    lands: Landing<'_>,
) -> Result<Option<Agreed>, TransferError> {
    let range = ctx.range_size.max(1);
    let end = (remote.size > range).then(|| (*offset + range).min(remote.size));
    let mut download = ctx
        .or_stop(ctx.client.get(path, *offset, end, remote.etag.as_deref()))
        .await??;
    let expected_end = if download.is_partial() {
        end.unwrap_or(remote.size)
    } else {
        // The whole file is coming (the server ignored the range, or the file changed).
        if *offset > 0 {
            tracing::info!(%path, from = *offset, "the server sent the whole file; starting over");
            start_over(ctx, path.as_str(), offset);
        }
        remote.size
    };
    if let Some(tag) = download.etag()
        && remote
            .etag
            .as_ref()
            .is_some_and(|listed| !validator::same_version(listed, tag))
    {
        return Err(TransferError::Changed {
            path: path.to_string(),
            what: "the remote file changed since it was listed".into(),
        });
    }
    let mut part_file = PartWriter::new(part, *offset);
    let name = path.as_str();
    // A process killed mid-download keeps what the last checkpoint vouches for: the part
    // file's version is recorded as it starts, its durable length every few MiB or seconds.
    let checkpoints = remote.etag.is_some() && remote.size > CHECKPOINT_BYTES;
    let mut durable = *offset;
    let mut synced_at = tokio::time::Instant::now();
    if checkpoints && *offset == 0 {
        checkpoint(ctx, name, remote, part, 0).await?;
    }
    let result = loop {
        let chunk = match ctx.run.run_until_cancelled(download.chunk()).await {
            None => break Err(TransferError::Stopped),
            Some(Err(e)) => break Err(e.into()),
            Some(Ok(None)) => break Ok(()),
            Some(Ok(Some(chunk))) => chunk,
        };
        // Not raced with the token: what is received is written before the run may stop.
        let length = chunk.len() as u64;
        if let Err(e) = part_file.push(chunk).await {
            break Err(TransferError::local(part, e));
        }
        ctx.hub
            .file_progress(name, part_file.received(), remote.size, length);
        let due = part_file.received() - durable >= CHECKPOINT_BYTES
            || synced_at.elapsed() >= CHECKPOINT_EVERY;
        if checkpoints && due {
            durable = match part_file.sync().await {
                Ok(durable) => durable,
                Err(e) => break Err(TransferError::local(part, e)),
            };
            synced_at = tokio::time::Instant::now();
            record_offset(ctx, name, remote, durable).await?;
        }
    };
    let received = part_file.received();
    let mtime = remote
        .mtime
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s.max(0) as u64));
    let complete = result.is_ok() && received == remote.size && expected_end == remote.size;
    let rename = match lands {
        Landing::Target(before) if complete => {
            let (part, target) = (part.to_owned(), target.to_owned());
            let (before, root) = (before.cloned(), ctx.local_root.clone());
            Some(move || rename_into_place(&root, &part, &target, before.as_ref()))
        }
        _ => None,
    };
    let renamed = part_file
        .finish(&ctx.quick_disk, mtime, move || {
            rename.map(|rename| rename()).transpose()
        })
        .await
        .map_err(|e| TransferError::local(part, e))?;
    *offset = received;
    result?;
    if *offset != expected_end {
        return Err(TransferError::Changed {
            path: path.to_string(),
            what: format!(
                "the server sent the file up to byte {} where {} was expected (size {} listed)",
                offset, expected_end, remote.size
            ),
        });
    }
    match renamed {
        None => Ok(None),
        Some(Ok(now)) => Ok(Some(agreed_download(path, &now, remote))),
        Some(Err(what)) => Err(TransferError::Changed {
            path: path.to_string(),
            what: what.to_owned(),
        }),
    }
}

/// Records how far a download got; the part file was fsync'd before.
async fn record_offset(
    ctx: &Context,
    key: &str,
    remote: &RemoteState,
    offset: u64,
) -> Result<(), TransferError> {
    let partial = PartialDownload {
        etag: remote.etag.clone(),
        size: remote.size,
        offset,
    };
    let (pair, key) = (ctx.pair, key.to_owned());
    ctx.journal
        .call(move |j| j.checkpoint_download(pair, &key, &partial))
        .await?;
    Ok(())
}

/// Removes the part file of `key` that nothing will resume, and its record. Where the removal
/// fails (a card turned read-only), a record without a version stays, so that a later run's
/// sweep of stale part files tries again rather than leave it behind unknown; that is logged.
pub(crate) async fn discard_part(
    ctx: &Context,
    key: &str,
    part: &Path,
) -> Result<(), TransferError> {
    let (pair, key) = (ctx.pair, key.to_owned());
    match tokio::fs::remove_file(part).await {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(path = %key, %error, "a part file could not be removed; tried again later");
            let unknown = PartialDownload {
                etag: None,
                size: 0,
                offset: 0,
            };
            ctx.journal
                .call(move |j| j.checkpoint_download(pair, &key, &unknown))
                .await?;
        }
        _ => {
            ctx.journal
                .call(move |j| j.drop_partial_download(pair, &key))
                .await?;
        }
    }
    Ok(())
}

/// Records how far a download got once it stopped (the part file was fsync'd before); a
/// part file with nothing worth keeping, or whose version cannot be known, is removed.
async fn checkpoint(
    ctx: &Context,
    key: &str,
    remote: &RemoteState,
    part: &Path,
    offset: u64,
) -> Result<(), TransferError> {
    if (offset == 0 && remote.size <= CHECKPOINT_BYTES) || remote.etag.is_none() {
        // Nothing worth keeping, or no way to know the version on resume.
        return discard_part(ctx, key, part).await;
    }
    record_offset(ctx, key, remote, offset).await
}

/// Moves a complete part file over `target`, if `target` is still what the plan saw.
/// Returns the agreed state to record.
pub async fn install(
    ctx: &Context,
    path: &RemotePath,
    part: PathBuf,
    remote: &RemoteState,
    local_before: Option<&LocalState>,
) -> Result<Agreed, TransferError> {
    let target = ctx.local_path(path);
    let before = local_before.cloned();
    let changed = |what: &str| TransferError::Changed {
        path: path.to_string(),
        what: what.to_owned(),
    };
    let now = tokio::task::spawn_blocking({
        let (target, root) = (target.clone(), ctx.local_root.clone());
        move || rename_into_place(&root, &part, &target, before.as_ref())
    })
    .await
    .map_err(|e| TransferError::local(&target, std::io::Error::other(e)))?
    .map_err(|e| TransferError::local(&target, e))?
    .map_err(changed)?;
    Ok(agreed_download(path, &now, remote))
}

/// Renames a complete, fsync'd part file over `target` if `target` is still `before` (a local
/// edit made during the download wins); a file it replaces goes into the trash of the sync
/// folder `root` first. The part file already carries the server's mtime. The rename is
/// durable once its folder is synced, which the recorder does before it records the
/// agreement. Returns the target's state, or why it was left alone.
fn rename_into_place(
    root: &Path,
    part: &Path,
    target: &Path,
    before: Option<&LocalState>,
) -> std::io::Result<Result<LocalState, &'static str>> {
    match before {
        None => {
            if !rename_if_absent(part, target)? {
                return Ok(Err(
                    "a local file of that name appeared during the download",
                ));
            }
        }
        Some(before) => {
            if !LocalState::still(Some(before), stat(target)?.as_ref()) {
                return Ok(Err("the local file changed during the download"));
            }
            if !before.is_dir {
                crate::trash::keep_below(root, target, crate::trash::Removal::ReplacedByServer)?;
            }
            std::fs::rename(part, target)?;
        }
    }
    Ok(Ok(stat(target)?.unwrap_or(LocalState {
        is_dir: false,
        size: 0,
        mtime: 0,
        inode: None,
        ctime: None,
    })))
}

/// Renames `part` to `target` only if nothing is at `target`; whether it did. Where the
/// system can refuse to replace in the rename itself (Linux, Android, Apple), a file made
/// locally while the download ran can never be replaced, and no check is made first; a file
/// system without that flag (some network and FUSE ones) and other systems check, then rename.
fn rename_if_absent(part: &Path, target: &Path) -> std::io::Result<bool> {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        match renameat_with(CWD, part, CWD, target, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(true),
            Err(Errno::EXIST) => return Ok(false),
            Err(e)
                if e == Errno::INVAL
                    || e == Errno::NOSYS
                    || e == Errno::NOTSUP
                    || e == Errno::OPNOTSUPP => {}
            Err(e) => return Err(e.into()),
        }
    }
    if stat(target)?.is_some() {
        return Ok(false);
    }
    std::fs::rename(part, target)?;
    Ok(true)
}

/// What to record once a download of `remote` landed at `path` with the local state `now`.
fn agreed_download(path: &RemotePath, now: &LocalState, remote: &RemoteState) -> Agreed {
    Agreed {
        path: path.as_str().to_owned(),
        is_dir: false,
        size: now.size,
        local_mtime: Some(now.mtime),
        etag: remote.etag.clone(),
        remote_mtime: remote.mtime,
        local_inode: now.inode,
        file_id: remote.file_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::is_part_name;

    #[test]
    fn a_new_file_never_replaces_one_that_appeared_while_it_downloaded() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("notes.txt");
        let part = part_path(&target);
        std::fs::write(&part, b"from the server").unwrap();
        std::fs::write(&target, b"written here meanwhile").unwrap();
        let left = rename_into_place(root.path(), &part, &target, None).unwrap();
        assert!(left.is_err(), "{left:?}");
        assert_eq!(std::fs::read(&target).unwrap(), b"written here meanwhile");
        assert!(
            part.exists(),
            "the download is kept for the next run to compare"
        );

        std::fs::remove_file(&target).unwrap();
        let landed = rename_into_place(root.path(), &part, &target, None)
            .unwrap()
            .unwrap();
        assert_eq!(landed.size, 15);
        assert_eq!(std::fs::read(&target).unwrap(), b"from the server");
        assert!(!part.exists());
    }

    #[test]
    fn part_files_are_hidden_next_to_their_target_with_a_name_of_fixed_length() {
        let part = part_path(Path::new("/a/b/c.txt"));
        assert_eq!(part.parent(), Some(Path::new("/a/b")));
        let name = part.file_name().unwrap().to_str().unwrap();
        assert!(is_part_name(name), "{name}");
        let long = "é".repeat(127) + "x";
        assert_eq!(long.len(), 255);
        let long_part = part_path(&Path::new("/a").join(&long));
        assert_eq!(long_part.file_name().unwrap().len(), name.len());
        assert_ne!(long_part.file_name(), part.file_name());
        assert!(!is_part_name("notes.tidesync-part"));
        assert!(!is_part_name(".tidesync-part-draft"));
        assert_eq!(
            legacy_part_path(Path::new("/a/b/c.txt")),
            Path::new("/a/b/.c.txt.tidesync-part")
        );
    }
}
