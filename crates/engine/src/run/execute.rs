//! Carrying a plan out: folders first, up to `transfers` files at once, deletes last; each
//! finished action counted once, and an error that concerns the whole run (credentials, a full
//! disk, the journal) ends it.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::RunError;
use super::actions::perform;
use super::shared::{Effect, record_error};
use super::survey::Survey;
use crate::model::Summary;
use crate::plan::{Action, Plan};
use crate::progress::{FileAction, JobEvent};
use crate::transfer::{Context, TransferError};

/// An action's path and how it ended.
type Finished = (String, Result<Effect, TransferError>);

/// Carries the plan out: folders, then up to `transfers` files at once, then deletes.
pub(super) async fn execute(
    ctx: &Arc<Context>,
    plan: Plan,
    seen: Arc<Survey>,
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
                account_for(ctx, summary, result, &mut stopped, &mut fatal);
            }
            if stopped || fatal.is_some() {
                break;
            }
            let path = action.path().to_owned();
            let result = perform(ctx.clone(), seen.clone(), action).await;
            account_for(ctx, summary, (path, result), &mut stopped, &mut fatal);
            continue;
        }
        let path = action.path().to_owned();
        let (task_ctx, task_seen) = (ctx.clone(), seen.clone());
        running.push(async move { (path, perform(task_ctx, task_seen, action).await) });
        if running.len() >= transfers.max(1)
            && let Some(result) = running.next().await
        {
            account_for(ctx, summary, result, &mut stopped, &mut fatal);
        }
    }
    while let Some(result) = running.next().await {
        account_for(ctx, summary, result, &mut stopped, &mut fatal);
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

/// Counts one finished action in the summary and the progress, or keeps the error that ends
/// the run.
fn account_for(
    ctx: &Context,
    summary: &mut Summary,
    (path, result): Finished,
    stopped: &mut bool,
    fatal: &mut Option<RunError>,
) {
    ctx.hub.file_ended(&path);
    match result {
        Ok(done) => {
            let Some(action) = done.action else { return };
            if done.verified {
                summary.files_verified += 1;
            }
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
            fatal.get_or_insert(RunError::from(e));
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
        Err(TransferError::Remote(e)) if e.is_locked() => {
            let message = format!(
                "{e}: the file is locked on the server (a person or an app has it open); it \
                 will be synced next time"
            );
            record_error(ctx, summary, &path, &message);
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
