//! Carrying a plan out: folders first (many at once, each after those above it), files as
//! many at once as the adaptive limit allows,
//! deletes last; each finished action counted once, and an error that concerns the whole run
//! (credentials, a full disk, the journal) ends it. Where the server offers bulk upload, small new files go up in
//! batches, each batch one of the transfers at once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use tidesync_webdav::{Answer, Concurrency, RemotePath};
use tokio::time::Instant;

use super::Context;
use super::actions::perform;
use super::error::RunError;
use super::outcome::{Finished, SAMPLE_MAX, account_for, answer_of};
use super::shared::{Effect, is_below, record};
use super::surveyed::Survey;
use crate::model::Summary;
use crate::plan::{Action, Plan};
use crate::progress::FileAction;
use crate::transfer::{BATCH_BYTES, BATCH_FILE_MAX, BATCH_FILES, offers_bulk, send_batch};

/// What the adaptive limit learns from one transfer: how long it took, and how it ended.
type Sample = Option<(Duration, Answer)>;

/// Small new files waiting to go up together.
#[derive(Default)]
struct Batch {
    paths: Vec<RemotePath>,
    bytes: u64,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.paths.len() >= BATCH_FILES || self.bytes >= BATCH_BYTES
    }
}

/// The size of the file an upload action would send, if it may go in a batch: new on the
/// server when surveyed, and small.
fn batchable(seen: &Survey, action: &Action) -> Option<(RemotePath, u64)> {
    let Action::Upload { path } = action else {
        return None;
    };
    if seen.remote.contains_key(path.as_str()) {
        return None;
    }
    let size = seen.local.get(path.as_str())?.size;
    let path = RemotePath::parse(path).ok()?;
    (size <= BATCH_FILE_MAX).then_some((path, size))
}

/// Sends a batch; one result per file, as the single uploads would give.
async fn send_batch_of(ctx: Arc<Context>, batch: Batch) -> Vec<Finished> {
    send_batch(&ctx, &batch.paths)
        .await
        .into_iter()
        .map(|(path, result)| {
            let result = result.and_then(|agreed| {
                let bytes = agreed.size;
                record(&ctx, agreed)?;
                Ok(Effect {
                    action: Some(FileAction::Uploaded),
                    bytes,
                    verified: false,
                })
            });
            (path.as_str().to_owned(), result)
        })
        .collect()
}

/// Carries the plan out: folders, then files as many at once as `transfers` allows (it
/// adapts to the server's answer times, see `tidesync_webdav::adaptive`), then deletes.
pub(super) async fn execute(
    ctx: &Arc<Context>,
    plan: Plan,
    seen: Arc<Survey>,
    transfers: &mut Concurrency,
    summary: &mut Summary,
) -> Result<(), RunError> {
    let mut running: FuturesUnordered<BoxFuture<'static, (Vec<Finished>, Sample)>> =
        FuturesUnordered::new();
    let mut fatal: Option<RunError> = None;
    let mut stopped = false;
    let bulk = plan
        .actions
        .iter()
        .filter(|a| batchable(&seen, a).is_some())
        .nth(1)
        .is_some()
        && offers_bulk(ctx).await.unwrap_or(false);
    let mut batch = Batch::default();
    // Folder actions under way: what below them waits for.
    let mut folders: BTreeSet<String> = BTreeSet::new();
    let mut actions = plan.actions;
    // The plan puts folders first, parents before children; level by level instead, so each
    // level's folders go at once rather than one branch at a time.
    let folders_end = actions
        .iter()
        .position(|a| !is_folder_action(a))
        .unwrap_or(actions.len());
    actions[..folders_end].sort_by_key(|a| a.path().matches('/').count());
    for action in actions {
        if stopped || fatal.is_some() || ctx.run.is_cancelled() {
            stopped |= ctx.run.is_cancelled();
            break;
        }
        let is_transfer = matches!(
            action,
            Action::Download { .. } | Action::Upload { .. } | Action::Conflict { .. }
        );
        let is_folder = is_folder_action(&action);
        let path = action.path().to_owned();
        // Folders are made many at once too, each once those above it exist, so a new tree
        // costs its depth in round trips rather than one per folder; every folder is made
        // before the first file goes in.
        while (is_folder && folders.iter().any(|f| is_below(&path, f))
            || is_transfer && !folders.is_empty())
            && let Some((results, _)) = running.next().await
        {
            forget_folders(&mut folders, &results);
            account_for_all(ctx, summary, results, &mut stopped, &mut fatal);
        }
        if bulk && let Some((path, size)) = batchable(&seen, &action) {
            batch.paths.push(path);
            batch.bytes += size;
            if batch.is_full() {
                running.push(unsampled(send_batch_of(
                    ctx.clone(),
                    std::mem::take(&mut batch),
                )));
            }
        } else if is_folder {
            folders.insert(path.clone());
            let (task_ctx, task_seen) = (ctx.clone(), seen.clone());
            running.push(unsampled(async move {
                let result = perform(task_ctx, task_seen, action).await;
                vec![(path, result)]
            }));
        } else if !is_transfer {
            // Deletes wait for every transfer: a folder is removed only once emptied.
            if !batch.paths.is_empty() {
                running.push(unsampled(send_batch_of(
                    ctx.clone(),
                    std::mem::take(&mut batch),
                )));
            }
            while let Some((results, _)) = running.next().await {
                forget_folders(&mut folders, &results);
                account_for_all(ctx, summary, results, &mut stopped, &mut fatal);
            }
            if stopped || fatal.is_some() {
                break;
            }
            let result = perform(ctx.clone(), seen.clone(), action).await;
            account_for(ctx, summary, (path, result), &mut stopped, &mut fatal);
            continue;
        } else {
            let sampled = transfer_size(&seen, &action).is_some_and(|size| size <= SAMPLE_MAX);
            let (task_ctx, task_seen) = (ctx.clone(), seen.clone());
            running.push(
                async move {
                    let (started, overloads) = (Instant::now(), task_ctx.client.overloads());
                    let client = task_ctx.client.clone();
                    let result = perform(task_ctx, task_seen, action).await;
                    let sample = sampled
                        .then(|| (started.elapsed(), answer_of(&result, &*client, overloads)));
                    (vec![(path, result)], sample)
                }
                .boxed(),
            );
        }
        while running.len() >= transfers.limit()
            && let Some((results, sample)) = running.next().await
        {
            if let Some((took, answer)) = sample {
                transfers.record(took, answer, running.len() + 1);
            }
            forget_folders(&mut folders, &results);
            account_for_all(ctx, summary, results, &mut stopped, &mut fatal);
        }
    }
    if !batch.paths.is_empty() && !stopped && fatal.is_none() {
        running.push(unsampled(send_batch_of(ctx.clone(), batch)));
    }
    while let Some((results, _)) = running.next().await {
        account_for_all(ctx, summary, results, &mut stopped, &mut fatal);
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

/// The actions the plan puts first: folders made or agreed on.
fn is_folder_action(action: &Action) -> bool {
    matches!(
        action,
        Action::MkdirLocal { .. } | Action::MkdirRemote { .. } | Action::Agree { .. }
    )
}

/// Folder actions that ended are no longer waited for.
fn forget_folders(folders: &mut BTreeSet<String>, results: &[Finished]) {
    for (path, _) in results {
        folders.remove(path);
    }
}

/// A batch's results: a batch says nothing of one request's answer time.
fn unsampled(
    batch: impl Future<Output = Vec<Finished>> + Send + 'static,
) -> BoxFuture<'static, (Vec<Finished>, Sample)> {
    batch.map(|results| (results, None)).boxed()
}

/// The bytes a transfer moves, as the survey saw them.
fn transfer_size(seen: &Survey, action: &Action) -> Option<u64> {
    match action {
        Action::Download { path } | Action::Conflict { path } => {
            seen.remote.get(path.as_str()).map(|r| r.size)
        }
        Action::Upload { path } => seen.local.get(path.as_str()).map(|l| l.size),
        _ => None,
    }
}

/// Counts one finished action in the summary and the progress, or keeps the error that ends
/// the run.
fn account_for_all(
    ctx: &Context,
    summary: &mut Summary,
    results: Vec<Finished>,
    stopped: &mut bool,
    fatal: &mut Option<RunError>,
) {
    for result in results {
        account_for(ctx, summary, result, stopped, fatal);
    }
}
