//! One run segment of a job: list both sides, plan, carry the plan out. A run stops early when
//! its token is cancelled; what it completed is in the journal, so the next run (after a
//! resume, or a restart of the process) plans only what is left.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tidesync_webdav::{Depth, EntryKind, Listing, RemotePath, validator};
use tracing::Instrument;

use crate::journal::{Agreed, PartialDownload};
use crate::model::{FailureKind, FileError, LocalState, Mode, RemoteState, Summary, is_internal};
use crate::moves::{self, Move, MovedOn};
use crate::plan::{Action, Plan, PlanError, plan, plan_unguarded};
use crate::progress::{FileAction, JobEvent, Phase};
use crate::scan::{nanos, scan, stat};
use crate::transfer::{
    Context, Fetched, Landing, TransferError, conflict_name, fetch, install, resumable, same_bytes,
    send, sweep_upload_temps,
};

/// Why a run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("stopped")]
    Stopped,
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The server refused us (credentials, permissions) or could not be reached at all.
    #[error(transparent)]
    Remote(#[from] tidesync_webdav::Error),
    #[error("the local folder {path}: {source}")]
    Local {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
}

impl RunError {
    /// What kind of failure this is, for callers that map failures to actions or exit codes.
    pub fn kind(&self) -> FailureKind {
        match self {
            RunError::Stopped => FailureKind::Other,
            RunError::Plan(PlanError::MassDelete { .. }) => FailureKind::MassDelete,
            RunError::Remote(e) => FailureKind::of_remote(e),
            RunError::Local { .. } | RunError::Journal(_) => FailureKind::Storage,
        }
    }
}

/// The most passes one run makes. A conflict's local copy is uploaded by the next pass, and
/// what waits below a path whose kind changed (see [`Plan::deferred`]) is made by it; a
/// kind change nested in another needs one pass more.
const PASSES: usize = 4;

/// How many levels of moves inside moves one survey finds (the rest wait for the next pass).
const MOVE_DEPTH: usize = 8;

/// Runs the sync of `ctx`'s pair to its end, or until the run token is cancelled.
pub async fn run(
    ctx: Arc<Context>,
    mode: Mode,
    transfers: usize,
    summary: &mut Summary,
) -> Result<(), RunError> {
    match sweep_upload_temps(&ctx).await {
        Ok(()) => {}
        Err(TransferError::Stopped) => return Err(RunError::Stopped),
        Err(TransferError::Journal(e)) => return Err(RunError::Journal(e)),
        Err(error) => tracing::warn!(%error, "earlier uploads' temp files were not all deleted"),
    }
    // Moves that failed in this run are planned as a delete and a creation from then on.
    let mut refused = BTreeSet::new();
    for _ in 0..PASSES {
        let (moves, plan, survey) = survey(&ctx, mode, &refused, summary).await?;
        if !moves.is_empty() {
            let failed = carry_moves(&ctx, &moves, summary).await?;
            if !failed.is_empty() {
                // The plan counted on every move: plan again without the failed ones.
                refused.extend(failed);
                continue;
            }
        }
        let had_conflicts = plan
            .actions
            .iter()
            .any(|a| matches!(a, Action::Conflict { .. }));
        // After moves, a further pass finds the moves inside the moved folders.
        let again = plan.deferred || !moves.is_empty() || (had_conflicts && mode != Mode::Download);
        let survey = Arc::new(survey);
        execute(&ctx, plan, survey.clone(), transfers, summary).await?;
        if !again {
            sweep_stale_parts(&ctx, &survey.remote).await?;
            break;
        }
    }
    ctx.hub.update(|s| s.phase = Phase::Finishing);
    Ok(())
}

/// Both sides as the plan saw them, so each step can check nothing moved meanwhile.
struct Survey {
    local: BTreeMap<String, LocalState>,
    remote: BTreeMap<String, RemoteState>,
    /// The journal's download checkpoints, read once rather than once per file.
    partials: HashMap<String, PartialDownload>,
}

async fn survey(
    ctx: &Arc<Context>,
    mode: Mode,
    refused: &BTreeSet<String>,
    summary: &mut Summary,
) -> Result<(Vec<Move>, Plan, Survey), RunError> {
    ctx.hub.update(|s| s.phase = Phase::Listing);
    // The listing, the local scan and the journal's records are independent: read at once, the
    // scan and the journal cost no wall time beside a listing that waits on the server. The scan
    // only reads (a missing folder is an empty one, created once the server has answered), so a
    // cancelled run may leave it to finish on its blocking thread unobserved.
    let folder = ctx.local_root.clone();
    let scanned = tokio::task::spawn_blocking(move || match folder.try_exists()? {
        true => scan(&folder),
        false => Ok(Default::default()),
    });
    let pair = ctx.pair;
    let records = ctx
        .journal
        .call(move |j| Ok((j.agreed(pair)?, j.partial_downloads(pair)?)));
    let root = RemotePath::root();
    let listed = async {
        let listing = ctx.client.list(&root, Depth::Infinity).await;
        ctx.hub.update(|s| s.phase = Phase::Planning);
        listing
    };
    let (listing, scanned, records) = ctx
        .run
        .run_until_cancelled(async { tokio::join!(listed, scanned, records) })
        .await
        .ok_or(RunError::Stopped)?;
    // A stop that arrived with the listing's end (the three finished in one poll) is still a
    // stop: nothing is planned after it.
    if ctx.run.is_cancelled() {
        return Err(RunError::Stopped);
    }
    let listing = match listing {
        // Backing up to a folder that is not there yet: make it, and say so.
        Err(error) if error.is_not_found() && mode != Mode::Download => {
            ctx.run
                .run_until_cancelled(ctx.client.mkcol(&root))
                .await
                .ok_or(RunError::Stopped)??;
            tracing::info!("the remote folder did not exist and was created");
            summary.created_remote_root = true;
            Listing::default()
        }
        other => other?,
    };
    let local_error = |source| RunError::Local {
        path: ctx.local_root.display().to_string(),
        source,
    };
    let (mut local, skipped) = scanned
        .map_err(|e| local_error(std::io::Error::other(e)))?
        .map_err(local_error)?;
    let (agreed, partials) = records?;
    tokio::fs::create_dir_all(&ctx.local_root)
        .await
        .map_err(local_error)?;
    for rejected in &listing.rejected {
        tracing::warn!(href = %rejected.href, error = %rejected.error, "remote entry skipped");
        record_error(
            ctx,
            summary,
            &rejected.href,
            &format!("skipped: {}", rejected.error),
        );
    }
    let mut remote: BTreeMap<String, RemoteState> = listing
        .entries
        .into_iter()
        .filter(|e| !e.path.is_root() && !e.path.segments().any(is_internal))
        .map(|e| {
            let state = RemoteState {
                is_dir: e.kind == EntryKind::Folder,
                size: e.size,
                etag: e.etag,
                mtime: e.modified.map(unix_secs),
                checksums: e.checksums,
                file_id: e.file_id,
            };
            (e.path.as_str().to_owned(), state)
        })
        .collect();
    if mode != Mode::Download {
        for error in skipped {
            record_error(ctx, summary, &error.path, &error.message);
        }
    }
    let mut agreed: BTreeMap<String, Agreed> =
        agreed.into_iter().map(|a| (a.path.clone(), a)).collect();
    let partials: HashMap<String, PartialDownload> = partials.into_iter().collect();
    for path in hide_case_clashes(&mut remote, &agreed) {
        tracing::warn!(%path, "remote entry skipped: its name differs from another only by case");
        record_error(
            ctx,
            summary,
            &path,
            "skipped: another item in the same folder has the same name in other letter case, \
             and Windows, macOS and Android storage cannot hold both; rename one on the server",
        );
    }
    // Outer moves first: once they are applied to the trees, the moves inside them show.
    let mut moves = Vec::new();
    for _ in 0..MOVE_DEPTH {
        let found = moves::detect(&local, &remote, &agreed, mode, refused);
        if found.is_empty() {
            break;
        }
        moves::apply(&found, &mut local, &mut remote, &mut agreed);
        moves.extend(found);
    }
    let plan = if ctx.mass_delete_guard {
        plan(&local, &remote, &agreed, mode)?
    } else {
        plan_unguarded(&local, &remote, &agreed, mode)
    };
    // What is left: a download resumes after its checkpoint, whose bytes were counted as done
    // by the run that received them.
    let bytes_left: u64 = plan
        .actions
        .iter()
        .map(|a| match a {
            Action::Download { path } | Action::Conflict { path } => remote
                .get(path)
                .map_or(0, |r| r.size - resumable(partials.get(path), r).min(r.size)),
            Action::Upload { path } => local.get(path).map_or(0, |l| l.size),
            _ => 0,
        })
        .sum();
    let files_left = plan.changes().count() as u64;
    // Totals are what is done plus what is left, so a resumed job's bar does not jump back.
    ctx.hub.update(|s| {
        s.phase = Phase::Transferring;
        s.files_total = s.files_done + files_left;
        s.bytes_total = s.bytes_done + bytes_left;
    });
    Ok((
        moves,
        plan,
        Survey {
            local,
            remote,
            partials,
        },
    ))
}

/// Repeats each move on the other side (a `MOVE` on the server, a rename on the phone) and
/// moves the journal's agreed state with it. Returns the sources of the moves that could not
/// be made, which the next pass plans as a delete and a creation.
async fn carry_moves(
    ctx: &Context,
    moves: &[Move],
    summary: &mut Summary,
) -> Result<Vec<String>, RunError> {
    // Agreements still in the recorder's batch land before their paths are moved.
    ctx.recorder.flush().await?;
    let mut failed = Vec::new();
    for m in moves {
        let made = match m.on {
            MovedOn::Local => move_on_server(ctx, m).await,
            MovedOn::Remote => move_on_phone(ctx, m).await,
        };
        match made {
            Ok(()) => {
                let (pair, from, to) = (ctx.pair, m.from.clone(), m.to.clone());
                ctx.journal.call(move |j| j.rekey(pair, &from, &to)).await?;
                tracing::info!(from = %m.from, to = %m.to, "moved on the other side too");
                summary.moved += 1;
                ctx.hub.emit(JobEvent::FileDone {
                    path: m.to.clone(),
                    action: FileAction::Moved,
                });
            }
            Err(TransferError::Stopped) => return Err(RunError::Stopped),
            Err(TransferError::Remote(e)) if e.is_auth() || e.is_insufficient_storage() => {
                return Err(RunError::Remote(e));
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

/// Makes on the server the move made on the phone: the folders above the new place first (a
/// folder just made on the phone may hold it), then a `MOVE` that never replaces anything.
async fn move_on_server(ctx: &Context, m: &Move) -> Result<(), TransferError> {
    let to = RemotePath::parse(&m.to).map_err(|e| TransferError::Changed {
        path: m.to.clone(),
        what: format!("not a valid path: {e}"),
    })?;
    let from = RemotePath::parse(&m.from).map_err(|e| TransferError::Changed {
        path: m.from.clone(),
        what: format!("not a valid path: {e}"),
    })?;
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
    ctx.or_stop(ctx.client.move_to(&from, &to, kind, false))
        .await??;
    Ok(())
}

/// Makes on the phone the move made on the server: a rename, if the old item is still what
/// was agreed and nothing stands at the new place.
async fn move_on_phone(ctx: &Context, m: &Move) -> Result<(), TransferError> {
    let from = ctx.local_root.join(&m.from);
    let to = ctx.local_root.join(&m.to);
    let is_dir = m.is_dir;
    let renamed = blocking(
        &m.from,
        move || -> std::io::Result<Result<(), &'static str>> {
            if stat(&from)?.is_none_or(|s| s.is_dir != is_dir) {
                return Ok(Err("it is gone from the phone"));
            }
            if stat(&to)?.is_some() {
                return Ok(Err("something else stands at the new name"));
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&from, &to).map(Ok)
        },
    )
    .await?;
    renamed.map_err(|what| TransferError::Changed {
        path: m.from.clone(),
        what: what.into(),
    })
}

/// Hides remote entries whose paths differ only by letter case (`Report.txt`, `report.txt`), and
/// everything below them: on a case-insensitive file system one would overwrite the other. An
/// entry already synced keeps syncing, so a newcomer never makes a synced file look deleted;
/// the others are hidden. Returns the hidden paths (not their contents), to report.
fn hide_case_clashes(
    remote: &mut BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
) -> Vec<String> {
    let mut groups: HashMap<String, Vec<&String>> = HashMap::new();
    for path in remote.keys() {
        groups.entry(path.to_lowercase()).or_default().push(path);
    }
    let hidden: BTreeSet<String> = groups
        .into_values()
        .filter(|group| group.len() > 1)
        .flatten()
        .filter(|path| !agreed.contains_key(*path))
        .cloned()
        .collect();
    if hidden.is_empty() {
        return Vec::new();
    }
    remote.retain(|path, _| {
        !path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain([path.as_str()])
            .any(|ancestor| hidden.contains(ancestor))
    });
    hidden.into_iter().collect()
}

/// Removes part files that can never be resumed: their remote file is gone or is now another
/// version. Part files of a version still on the server stay for the next run.
async fn sweep_stale_parts(
    ctx: &Context,
    remote: &BTreeMap<String, RemoteState>,
) -> Result<(), RunError> {
    let pair = ctx.pair;
    let partials = ctx.journal.call(move |j| j.partial_downloads(pair)).await?;
    for (path, partial) in partials {
        let current = remote.get(&path);
        let same = |r: &RemoteState| match (&r.etag, &partial.etag) {
            (Some(now), Some(then)) => validator::same_version(now, then),
            _ => false,
        };
        if current.is_some_and(|r| !r.is_dir && same(r)) {
            continue;
        }
        if let Ok(remote_path) = RemotePath::parse(&path) {
            let part = crate::transfer::part_path(&ctx.local_path(&remote_path));
            if let Err(error) = tokio::fs::remove_file(&part).await
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(%path, %error, "a stale part file could not be removed");
                continue;
            }
        }
        let key = path.clone();
        ctx.journal
            .call(move |j| j.drop_partial_download(pair, &key))
            .await?;
        tracing::debug!(%path, "removed a stale part file");
    }
    Ok(())
}

fn unix_secs(t: SystemTime) -> i64 {
    (nanos(t) / 1_000_000_000) as i64
}

fn record_error(ctx: &Context, summary: &mut Summary, path: &str, message: &str) {
    summary.errors.push(FileError {
        path: path.to_owned(),
        message: message.to_owned(),
    });
    ctx.hub.update(|s| s.errors += 1);
    ctx.hub.emit(JobEvent::FileFailed {
        path: path.to_owned(),
        message: message.to_owned(),
    });
}

/// What one step did.
struct Done {
    /// What the user sees happened; `None` when the step only recorded an agreement.
    action: Option<FileAction>,
    /// Bytes moved over the network.
    bytes: u64,
}

type StepResult = (String, Result<Done, TransferError>);

/// Carries the plan out: folders, then up to `transfers` files at once, then deletes.
async fn execute(
    ctx: &Arc<Context>,
    plan: Plan,
    survey: Arc<Survey>,
    transfers: usize,
    summary: &mut Summary,
) -> Result<(), RunError> {
    let mut running = FuturesUnordered::new();
    let mut fatal: Option<RunError> = None;
    let mut stopped = false;
    for action in plan.actions {
        if stopped || fatal.is_some() || ctx.run.is_cancelled() {
            stopped |= ctx.run.is_cancelled();
            break;
        }
        let is_transfer = matches!(
            action,
            Action::Download { .. } | Action::Upload { .. } | Action::Conflict { .. }
        );
        if !is_transfer {
            // Deletes wait for every transfer: a folder is removed only once emptied.
            while let Some(result) = running.next().await {
                settle(ctx, summary, result, &mut stopped, &mut fatal);
            }
            if stopped || fatal.is_some() {
                break;
            }
            let path = action.path().to_owned();
            let result = step(ctx.clone(), survey.clone(), action).await;
            settle(ctx, summary, (path, result), &mut stopped, &mut fatal);
            continue;
        }
        let path = action.path().to_owned();
        let (ctx2, survey2) = (ctx.clone(), survey.clone());
        running.push(async move { (path, step(ctx2, survey2, action).await) });
        if running.len() >= transfers.max(1)
            && let Some(result) = running.next().await
        {
            settle(ctx, summary, result, &mut stopped, &mut fatal);
        }
    }
    while let Some(result) = running.next().await {
        settle(ctx, summary, result, &mut stopped, &mut fatal);
    }
    // However the run ends, what it completed is in the journal before it says so.
    let flushed = ctx.recorder.flush().await;
    match fatal {
        Some(error) => Err(error),
        None => {
            flushed?;
            if stopped || ctx.run.is_cancelled() {
                Err(RunError::Stopped)
            } else {
                Ok(())
            }
        }
    }
}

/// Accounts for one finished step.
fn settle(
    ctx: &Context,
    summary: &mut Summary,
    (path, result): StepResult,
    stopped: &mut bool,
    fatal: &mut Option<RunError>,
) {
    ctx.hub.file_ended(&path);
    match result {
        Ok(done) => {
            let Some(action) = done.action else { return };
            match action {
                FileAction::Downloaded => {
                    summary.files_downloaded += 1;
                    summary.bytes_downloaded += done.bytes;
                }
                FileAction::Uploaded => {
                    summary.files_uploaded += 1;
                    summary.bytes_uploaded += done.bytes;
                }
                FileAction::Conflict => {
                    summary.conflicts += 1;
                    summary.bytes_downloaded += done.bytes;
                }
                FileAction::DeletedLocal => summary.deleted_local += 1,
                FileAction::DeletedRemote => summary.deleted_remote += 1,
                FileAction::CreatedFolder => {}
                FileAction::Moved => summary.moved += 1,
            }
            ctx.hub.update(|s| s.files_done += 1);
            ctx.hub.emit(JobEvent::FileDone { path, action });
        }
        Err(TransferError::Stopped) => *stopped = true,
        Err(TransferError::Remote(e)) if e.is_auth() || e.is_insufficient_storage() => {
            fatal.get_or_insert(RunError::Remote(e));
        }
        Err(TransferError::Journal(e)) => {
            fatal.get_or_insert(RunError::Journal(e));
        }
        Err(TransferError::Local {
            path: local,
            source,
        }) if is_disk_full(&source) => {
            fatal.get_or_insert(RunError::Local {
                path: local,
                source,
            });
        }
        Err(TransferError::Remote(e)) if e.is_forbidden() => {
            let message = format!(
                "{e}: the server does not allow this account to change it (a permission, not the \
                 password)"
            );
            record_error(ctx, summary, &path, &message);
        }
        Err(error) => record_error(ctx, summary, &path, &error.to_string()),
    }
}

fn is_disk_full(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::QuotaExceeded
}

/// Carries out one action, recording its result in the journal.
async fn step(
    ctx: Arc<Context>,
    survey: Arc<Survey>,
    action: Action,
) -> Result<Done, TransferError> {
    let span = tracing::debug_span!("file", path = action.path(), action = action.name());
    step_inner(ctx, survey, action).instrument(span).await
}

async fn step_inner(
    ctx: Arc<Context>,
    survey: Arc<Survey>,
    action: Action,
) -> Result<Done, TransferError> {
    let key = action.path().to_owned();
    let path = RemotePath::parse(&key).map_err(|e| TransferError::Changed {
        path: key.clone(),
        what: format!("not a valid path: {e}"),
    })?;
    let local = survey.local.get(&key);
    let remote = survey.remote.get(&key);
    let agreed = match action {
        Action::Forget { .. } => {
            let pair = ctx.pair;
            ctx.journal.call(move |j| j.forget(pair, &key)).await?;
            return Ok(Done {
                action: None,
                bytes: 0,
            });
        }
        Action::Agree { .. } => folder(&key, local, remote),
        Action::MkdirLocal { .. } => {
            let target = ctx.local_path(&path);
            tokio::fs::create_dir_all(&target)
                .await
                .map_err(|source| TransferError::Local {
                    path: target.display().to_string(),
                    source,
                })?;
            let made = stat_folder(&target).await?;
            record(&ctx, folder(&key, made.as_ref(), remote))?;
            return Ok(Done {
                action: Some(FileAction::CreatedFolder),
                bytes: 0,
            });
        }
        Action::MkdirRemote { .. } => {
            ctx.run
                .run_until_cancelled(ctx.client.mkcol(&path))
                .await
                .ok_or(TransferError::Stopped)??;
            record(&ctx, folder(&key, local, remote))?;
            return Ok(Done {
                action: Some(FileAction::CreatedFolder),
                bytes: 0,
            });
        }
        Action::Download { .. } => {
            let remote = remote.ok_or_else(|| gone(&key))?;
            let recorded = survey.partials.get(&key);
            let agreed = match fetch(&ctx, &path, remote, recorded, Landing::Target(local)).await? {
                Fetched::Installed(agreed) => agreed,
                Fetched::Part(part) => install(&ctx, &path, part, remote, local).await?,
            };
            record_installed(&ctx, &path, agreed)?;
            return Ok(Done {
                action: Some(FileAction::Downloaded),
                bytes: remote.size,
            });
        }
        Action::Upload { .. } => {
            let agreed = send(&ctx, &path, remote).await?;
            let bytes = agreed.size;
            record(&ctx, agreed)?;
            return Ok(Done {
                action: Some(FileAction::Uploaded),
                bytes,
            });
        }
        Action::Conflict { .. } => {
            return conflict(&ctx, &path, local, remote, survey.partials.get(&key)).await;
        }
        Action::DeleteLocal { is_dir, .. } => {
            let target = ctx.local_path(&path);
            let expected = local.cloned();
            let removed = blocking(
                &key,
                move || -> std::io::Result<Result<(), &'static str>> {
                    if is_dir {
                        return remove_synced_folder(&target);
                    }
                    // Re-check: a file edited since the scan is not deleted.
                    if stat(&target)? != expected {
                        return Ok(Err("the local file changed, so it was not deleted"));
                    }
                    std::fs::remove_file(&target).map(Ok)
                },
            )
            .await?;
            if let Err(what) = removed {
                return Err(TransferError::Changed {
                    path: key,
                    what: what.into(),
                });
            }
            let pair = ctx.pair;
            ctx.journal.call(move |j| j.forget(pair, &key)).await?;
            return Ok(Done {
                action: Some(FileAction::DeletedLocal),
                bytes: 0,
            });
        }
        Action::DeleteRemote { is_dir, .. } => {
            let deleted = if is_dir {
                delete_remote_folder(&ctx, &path).await
            } else {
                delete_remote_file(&ctx, &path, remote).await
            };
            match deleted {
                Ok(()) => {}
                Err(TransferError::Remote(e)) if e.is_not_found() => {}
                Err(TransferError::Remote(e)) if e.is_precondition_failed() => {
                    return Err(TransferError::Changed {
                        path: key,
                        what: "the server's copy changed since it was listed, so it was not \
                               deleted"
                            .into(),
                    });
                }
                Err(e) => return Err(e),
            }
            let pair = ctx.pair;
            ctx.journal.call(move |j| j.forget(pair, &key)).await?;
            return Ok(Done {
                action: Some(FileAction::DeletedRemote),
                bytes: 0,
            });
        }
    };
    record(&ctx, agreed)?;
    Ok(Done {
        action: None,
        bytes: 0,
    })
}

/// Removes a local folder the plan emptied. Anything still in it but Tidesync's own part
/// files means something arrived that was not synced: the folder is kept.
fn remove_synced_folder(target: &std::path::Path) -> std::io::Result<Result<(), &'static str>> {
    match std::fs::remove_dir(target) {
        Ok(()) => return Ok(Ok(())),
        Err(e) if e.kind() != std::io::ErrorKind::DirectoryNotEmpty => return Err(e),
        Err(_) => {}
    }
    let mut ours = Vec::new();
    for entry in std::fs::read_dir(target)? {
        let entry = entry?;
        let internal = entry.file_name().to_str().is_some_and(is_internal);
        if !internal || entry.file_type()?.is_dir() {
            return Ok(Err(
                "the folder holds files that were not synced, so it was kept",
            ));
        }
        ours.push(entry.path());
    }
    for part in ours {
        std::fs::remove_file(part)?;
    }
    std::fs::remove_dir(target).map(Ok)
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
    ctx.or_stop(ctx.client.delete(path, EntryKind::File, etag.as_deref()))
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

/// Both sides changed the same path. The server's version keeps the name; the local one is
/// kept under a conflict name (and uploaded by the next pass in two-way and upload modes),
/// unless both hold the same bytes, which is simply recorded as agreed.
async fn conflict(
    ctx: &Arc<Context>,
    path: &RemotePath,
    local: Option<&LocalState>,
    remote: Option<&RemoteState>,
    recorded: Option<&PartialDownload>,
) -> Result<Done, TransferError> {
    let key = path.as_str().to_owned();
    let (Some(local), Some(remote)) = (local, remote) else {
        return Err(gone(&key));
    };
    let target = ctx.local_path(path);
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
        let same = blocking(&key, move || same_bytes(&a, &b)).await?;
        if same {
            let _ = tokio::fs::remove_file(part).await;
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
            return Ok(Done {
                action: None,
                bytes: remote.size,
            });
        }
    }
    // Keep the local version under a conflict name, if it is still the one the plan saw.
    let name = path.name().unwrap_or_default();
    let (expected, when, from) = (local.clone(), SystemTime::now(), target.clone());
    let name = name.to_owned();
    let moved = blocking(&key, move || -> std::io::Result<Option<PathBuf>> {
        // A folder moves aside with whatever is in it; a file only if it is the one planned.
        let now = stat(&from)?;
        let unchanged = match &now {
            Some(now) if expected.is_dir => now.is_dir,
            now => now.as_ref() == Some(&expected),
        };
        if !unchanged {
            return Ok(None);
        }
        // Never onto an earlier conflict copy of the same second.
        let free = |to: &PathBuf| {
            matches!(std::fs::symlink_metadata(to), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
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
    Ok(Done {
        action: Some(FileAction::Conflict),
        bytes: remote.size,
    })
}

/// Runs `work` on the blocking pool; an I/O failure is reported against `path`.
async fn blocking<T, F>(path: &str, work: F) -> Result<T, TransferError>
where
    T: Send + 'static,
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
{
    let local = |source| TransferError::Local {
        path: path.to_owned(),
        source,
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| local(std::io::Error::other(e)))?
        .map_err(local)
}

/// A folder both sides hold, with the identities each side gives it.
fn folder(path: &str, local: Option<&LocalState>, remote: Option<&RemoteState>) -> Agreed {
    Agreed {
        path: path.to_owned(),
        is_dir: true,
        size: 0,
        local_mtime: None,
        etag: None,
        remote_mtime: None,
        local_inode: local.and_then(|l| l.inode),
        file_id: remote.and_then(|r| r.file_id.clone()),
    }
}

/// The state of a folder just made.
async fn stat_folder(target: &std::path::Path) -> Result<Option<LocalState>, TransferError> {
    let owned = target.to_owned();
    blocking(&target.display().to_string(), move || stat(&owned)).await
}

fn gone(path: &str) -> TransferError {
    TransferError::Changed {
        path: path.to_owned(),
        what: "it disappeared while the sync was planned".into(),
    }
}

/// Hands `agreed` to the run's recorder (committed in a batch; see `record`).
fn record(ctx: &Context, agreed: Agreed) -> Result<(), TransferError> {
    Ok(ctx.recorder.agree(agreed, None)?)
}

/// Records a download just renamed to `path`; its folder is synced before the commit.
fn record_installed(ctx: &Context, path: &RemotePath, agreed: Agreed) -> Result<(), TransferError> {
    let folder = ctx.local_path(path).parent().map(|p| p.to_owned());
    Ok(ctx.recorder.agree(agreed, folder)?)
}
