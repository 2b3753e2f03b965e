//! Moving one file: downloads into a hidden part file that is renamed into place only when
//! complete and checked; uploads to a hidden name on the server that is moved into place.
//!
//! Every network await is raced against the run token. Writes are not: the token is checked
//! between chunks, never in the middle of a `write_all`. When a run stops, a download's part
//! file is fsync'd and its offset written to the journal (the checkpoint), so the next run
//! resumes with `Range` while the remote version is still the same.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tidesync_webdav::{EntryKind, Precondition, RemotePath, RetryPolicy, validator};
use tokio_util::sync::CancellationToken;

use crate::journal::{Agreed, Journal, JournalError, PartialDownload};
use crate::model::{LocalState, PART_SUFFIX, PairId, RemoteState, UPLOAD_PREFIX};
use crate::part::PartWriter;
use crate::progress::Hub;
use crate::record::Recorder;
use crate::remote::Remote;
use crate::scan::{nanos, stat};

/// The default of `EngineOptions::range_size`: large enough that a request per range costs
/// nothing, small enough that a server which streams open ranges slowly is not asked for one.
/// Ranges are fetched one after the other, so a checkpoint is still one offset.
pub const RANGE_SIZE: u64 = 64 * 1024 * 1024;

/// A download in progress records a durable checkpoint at least every this many bytes...
pub const CHECKPOINT_BYTES: u64 = 8 * 1024 * 1024;
/// ...and at least this often, so a slow link loses little to a killed process too.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// Why a transfer did not complete.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The run was stopped (pause, suspend, cancel, shutdown); the checkpoint is written.
    #[error("stopped")]
    Stopped,
    #[error(transparent)]
    Remote(#[from] tidesync_webdav::Error),
    #[error("{path}: {source}")]
    Local {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The file is not what it was when the sync planned it; it is left for the next sync.
    #[error("{path}: {what}; it will be synced next time")]
    Changed { path: String, what: String },
}

impl TransferError {
    fn local(path: &Path, source: std::io::Error) -> TransferError {
        TransferError::Local {
            path: path.display().to_string(),
            source,
        }
    }
}

/// What every transfer of a run shares.
pub struct Context {
    pub pair: PairId,
    pub local_root: PathBuf,
    /// The server: the WebDAV client, or an in-memory one in tests.
    pub client: Arc<dyn Remote>,
    pub journal: Journal,
    pub hub: Arc<Hub>,
    pub run: CancellationToken,
    /// Where completed files are recorded, in shared transactions.
    pub recorder: Recorder,
    /// Files larger than this are fetched in ranges of this size.
    pub range_size: u64,
    /// The client's retry policy, which also bounds how often a download that broke off
    /// mid-body is resumed within a run.
    pub retry: RetryPolicy,
    /// Whether plans that delete most of the tree are refused.
    pub mass_delete_guard: bool,
}

impl Context {
    pub fn local_path(&self, path: &RemotePath) -> PathBuf {
        path.segments()
            .fold(self.local_root.clone(), |p, s| p.join(s))
    }

    /// Races `future` against the run token.
    pub(crate) async fn or_stop<T>(
        &self,
        future: impl Future<Output = T>,
    ) -> Result<T, TransferError> {
        self.run
            .run_until_cancelled(future)
            .await
            .ok_or(TransferError::Stopped)
    }
}

/// The hidden file a download of `target` is written to.
pub fn part_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{PART_SUFFIX}"))
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
    let target = ctx.local_path(path);
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
    let install_now = match landing {
        Landing::Target(before) if checksum(remote).is_none() => Some(before),
        _ => None,
    };
    // The client retried each request already; what is left here is a body that broke off
    // after bytes arrived, resumed from there under the same policy.
    let mut resumes = 0;
    loop {
        let before = offset;
        match fetch_from(
            ctx,
            path,
            remote,
            (&part, &target),
            &mut offset,
            install_now,
        )
        .await
        {
            Ok(Some(installed)) => return Ok(Fetched::Installed(installed)),
            Ok(None) if offset < remote.size => resumes = 0,
            Ok(None) => return verified(ctx, &key, remote, part).await.map(Fetched::Part),
            Err(TransferError::Remote(e))
                if e.is_range_unsatisfiable() && offset > 0 && resumes + 1 < ctx.retry.attempts =>
            {
                // The server cannot serve the rest: re-check by fetching the whole file.
                resumes += 1;
                offset = 0;
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
    let _ = tokio::fs::remove_file(&part).await;
    let (pair, owned) = (ctx.pair, key.to_owned());
    ctx.journal
        .call(move |j| j.drop_partial_download(pair, &owned))
        .await?;
    Err(TransferError::Changed {
        path: key.to_owned(),
        what: format!("the downloaded bytes do not match the server's {kind} checksum"),
    })
}

/// One GET from `offset` (of at most `range_size` bytes for a large file), appending to the
/// part file; `offset` follows what is written. With `install_now`, a GET that completes the
/// file also renames it into place (see [`install`]) and returns the state to record.
async fn fetch_from(
    ctx: &Context,
    path: &RemotePath,
    remote: &RemoteState,
    (part, target): (&Path, &Path),
    offset: &mut u64,
    install_now: Option<Option<&LocalState>>,
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
        *offset = 0;
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
    let mut part_file = PartWriter::new(part, *offset, remote.size.saturating_sub(*offset));
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
        if let Err(e) = part_file.push(&chunk).await {
            break Err(TransferError::local(part, e));
        }
        ctx.hub
            .file_progress(name, part_file.received(), remote.size, chunk.len() as u64);
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
    let rename = install_now.filter(|_| complete).map(|before| {
        let (part, target) = (part.to_owned(), target.to_owned());
        let before = before.cloned();
        move || rename_into_place(&part, &target, before.as_ref())
    });
    let renamed = part_file
        .finish(mtime, move || rename.map(|rename| rename()).transpose())
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
        let _ = tokio::fs::remove_file(part).await;
        let key = key.to_owned();
        let pair = ctx.pair;
        ctx.journal
            .call(move |j| j.drop_partial_download(pair, &key))
            .await?;
        return Ok(());
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
        let target = target.clone();
        move || rename_into_place(&part, &target, before.as_ref())
    })
    .await
    .map_err(|e| TransferError::local(&target, std::io::Error::other(e)))?
    .map_err(|e| TransferError::local(&target, e))?
    .map_err(changed)?;
    Ok(agreed_download(path, &now, remote))
}

/// Renames a complete, fsync'd part file over `target` if `target` is still `before` (a local
/// edit made during the download wins). The part file already carries the server's mtime. The
/// rename is durable once its folder is synced, which the recorder does before it records the
/// agreement. Returns the target's state, or why it was left alone.
fn rename_into_place(
    part: &Path,
    target: &Path,
    before: Option<&LocalState>,
) -> std::io::Result<Result<LocalState, &'static str>> {
    if stat(target)?.as_ref() != before {
        return Ok(Err("the local file changed during the download"));
    }
    std::fs::rename(part, target)?;
    Ok(Ok(stat(target)?.unwrap_or(LocalState {
        is_dir: false,
        size: 0,
        mtime: 0,
        inode: None,
    })))
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

/// Uploads the local file at `path` under a hidden name, then moves it into place. Refuses to
/// replace a remote file that is not the version the plan saw, or to create one over a file
/// that appeared meanwhile (`Overwrite: F`, which every server tested honours).
pub async fn send(
    ctx: &Context,
    path: &RemotePath,
    remote_before: Option<&RemoteState>,
) -> Result<Agreed, TransferError> {
    let local = ctx.local_path(path);
    let before = stat_async(&local)
        .await?
        .ok_or_else(|| TransferError::Changed {
            path: path.to_string(),
            what: "the local file is gone".into(),
        })?;
    let name = path.name().unwrap_or_default();
    let temp_name = format!("{UPLOAD_PREFIX}{:016x}-{name}", fastrand::u64(..));
    let temp = match path.parent() {
        Some(parent) => parent.join(&temp_name),
        None => RemotePath::root().join(&temp_name),
    }
    .map_err(|e| TransferError::Changed {
        path: path.to_string(),
        what: format!("no temporary name could be made: {e}"),
    })?;
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_nanos(before.mtime.max(0) as u64);
    let (pair, recorded) = (ctx.pair, temp.as_str().to_owned());
    ctx.journal
        .call(move |j| j.begin_upload(pair, &recorded))
        .await?;
    let uploaded = ctx
        .or_stop(ctx.client.put_file(
            &temp,
            &local,
            &Precondition::Absent,
            Some(mtime),
            upload_progress(ctx, path, before.size),
        ))
        .await;
    match uploaded {
        Err(TransferError::Stopped) => {
            discard_temp(ctx, temp).await;
            return Err(TransferError::Stopped);
        }
        Ok(Err(e)) => {
            discard_temp(ctx, temp).await;
            return Err(e.into());
        }
        _ => {}
    }
    if stat_async(&local).await?.as_ref() != Some(&before) {
        discard_temp(ctx, temp).await;
        return Err(TransferError::Changed {
            path: path.to_string(),
            what: "the local file changed during the upload".into(),
        });
    }
    // If-Match on MOVE guards the source, not the destination (RFC 4918), so the version
    // being replaced is checked just before the move. The window left is one round trip.
    if let Some(before) = remote_before {
        let now = ctx.or_stop(ctx.client.stat(path, EntryKind::File)).await?;
        let same = match now {
            Ok(entry) => entry.is_some_and(|e| match (&e.etag, &before.etag) {
                (Some(now), Some(then)) => validator::same_version(now, then),
                _ => e.size == before.size,
            }),
            Err(e) => {
                discard_temp(ctx, temp).await;
                return Err(e.into());
            }
        };
        if !same {
            discard_temp(ctx, temp).await;
            return Err(TransferError::Changed {
                path: path.to_string(),
                what: "the remote file changed during the upload".into(),
            });
        }
    }
    let moved = ctx
        .or_stop(
            ctx.client
                .move_to(&temp, path, EntryKind::File, remote_before.is_some()),
        )
        .await;
    match moved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            discard_temp(ctx, temp).await;
            if e.is_precondition_failed() {
                return Err(TransferError::Changed {
                    path: path.to_string(),
                    what: "a remote file appeared at the same path during the upload".into(),
                });
            }
            return Err(e.into());
        }
        Err(stopped) => {
            discard_temp(ctx, temp).await;
            return Err(stopped);
        }
    }
    let (pair, moved) = (ctx.pair, temp.as_str().to_owned());
    ctx.journal
        .call(move |j| j.end_upload(pair, &moved))
        .await?;
    let entry = ctx.client.stat(path, EntryKind::File).await?;
    Ok(Agreed {
        path: path.as_str().to_owned(),
        is_dir: false,
        size: before.size,
        local_mtime: Some(before.mtime),
        local_inode: before.inode,
        file_id: entry.as_ref().and_then(|e| e.file_id.clone()),
        etag: entry.as_ref().and_then(|e| e.etag.clone()),
        remote_mtime: entry
            .and_then(|e| e.modified)
            .map(|t| (nanos(t) / 1_000_000_000) as i64),
    })
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

/// Deletes an upload's temp name from the server, and forgets it once it is gone. One that
/// cannot be deleted now stays recorded: every run starts by deleting what is recorded (see
/// [`sweep_upload_temps`]).
async fn discard_temp(ctx: &Context, temp: RemotePath) {
    match ctx.client.delete(&temp, EntryKind::File, None).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(error) => {
            tracing::debug!(%temp, %error, "an upload's temp file stays for the next run");
            return;
        }
    }
    let (pair, key) = (ctx.pair, temp.as_str().to_owned());
    if let Err(error) = ctx.journal.call(move |j| j.end_upload(pair, &key)).await {
        tracing::warn!(%temp, %error, "an upload's temp file was deleted but not forgotten");
    }
}

/// Deletes the temp files of uploads that an earlier run started and never ended (the process
/// died, or the cleanup after a failure failed too). They are hidden, never under a real name,
/// but they are litter on the user's server.
pub async fn sweep_upload_temps(ctx: &Context) -> Result<(), TransferError> {
    let pair = ctx.pair;
    let pending = ctx.journal.call(move |j| j.pending_uploads(pair)).await?;
    for temp in pending {
        match RemotePath::parse(&temp) {
            Ok(path) => ctx.or_stop(discard_temp(ctx, path)).await?,
            Err(_) => {
                ctx.journal.call(move |j| j.end_upload(pair, &temp)).await?;
            }
        }
    }
    Ok(())
}

async fn stat_async(path: &Path) -> Result<Option<LocalState>, TransferError> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || stat(&owned))
        .await
        .map_err(|e| TransferError::local(path, std::io::Error::other(e)))?
        .map_err(|e| TransferError::local(path, e))
}

/// `report (conflict 2024-06-01 093000).txt` for `report.txt`, at `when` (UTC); the `n`th
/// name of that second (from 2 on) is `report (conflict 2024-06-01 093000 2).txt`, so a second
/// conflict within the same second never lands on the first one's copy.
pub fn conflict_name(name: &str, when: SystemTime, n: u32) -> String {
    let secs = when
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let mut stamp = format!(
        "{y:04}-{m:02}-{d:02} {:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if n > 1 {
        stamp.push_str(&format!(" {n}"));
    }
    match name.rfind('.').filter(|&i| i > 0) {
        Some(i) => format!("{} (conflict {stamp}){}", &name[..i], &name[i..]),
        None => format!("{name} (conflict {stamp})"),
    }
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Whether two local files hold the same bytes.
pub fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let (fa, fb) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (std::io::BufReader::new(fa), std::io::BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = ra.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        rb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_names_keep_the_extension() {
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_717_234_200); // 2024-06-01 09:30:00
        assert_eq!(
            conflict_name("report.txt", when, 1),
            "report (conflict 2024-06-01 093000).txt"
        );
        assert_eq!(
            conflict_name("report.txt", when, 2),
            "report (conflict 2024-06-01 093000 2).txt"
        );
        assert_eq!(
            conflict_name("Makefile", when, 1),
            "Makefile (conflict 2024-06-01 093000)"
        );
        assert_eq!(
            conflict_name(".bashrc", when, 1),
            ".bashrc (conflict 2024-06-01 093000)"
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn part_files_are_hidden_next_to_their_target() {
        assert_eq!(
            part_path(Path::new("/a/b/c.txt")),
            Path::new("/a/b/.c.txt.tidesync-part")
        );
    }
}
