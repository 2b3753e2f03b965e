//! One run segment of a job, as a pipeline: [`survey`] both sides and the journal, carry out
//! the moves found ([`carry`]), plan, then [`execute`] the plan, each action by its own
//! executor ([`actions`], [`delete`], [`conflict`]) that owns its journal writes and progress.
//! A run stops early when its token is cancelled; what it completed is in the journal, so the
//! next run (after a resume, or a restart of the process) plans only what is left.
//!
//! The modules import one way, with no circle: [`context`] (what every executor of a run
//! shares, built by the job's driver; the transfers in [`crate::transfer`] take it too),
//! [`error`], [`shared`], [`surveyed`] (what a survey found) and [`outcome`] (how an action
//! ended, as the run counts it) are leaves that the survey, the early downloads and the
//! executors build on.

mod actions;
mod carry;
mod conflict;
mod context;
mod delete;
mod early;
mod error;
mod execute;
mod letter_case;
mod listed;
mod outcome;
mod shared;
mod survey;
mod surveyed;
mod unicode;
mod verify;

pub use context::Context;
pub use error::RunError;
pub(crate) use shared::is_below;
pub use verify::VERIFY_EVERY;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use tidesync_webdav::Concurrency;

use crate::model::{Mode, Summary};
use crate::plan::Action;
use crate::progress::Phase;
use crate::transfer::{TransferError, sweep_chunked, sweep_upload_temps};

/// The most passes one run makes. A conflict's local copy is uploaded by the next pass, and
/// what waits below a path whose kind changed (see [`Plan::deferred`]) is made by it; a
/// kind change nested in another needs one pass more.
const PASSES: usize = 4;

/// Whether this run of the pair is one that compares contents on a server without
/// validators: every [`VERIFY_EVERY`]th.
async fn verify_due(ctx: &Context) -> Result<bool, RunError> {
    let pair = ctx.pair;
    let runs = ctx.journal.call(move |j| j.job_count(pair)).await?;
    Ok(runs % VERIFY_EVERY == 0)
}

/// Drops from the pair's trash what it keeps no longer (see [`crate::trash::purge`]), once a
/// run has done its work. A failure only costs space: logged.
async fn purge_trash(ctx: &Context) {
    let (root, keep) = (ctx.local_root.clone(), ctx.trash_keep);
    let purged = tokio::task::spawn_blocking(move || {
        crate::trash::purge(&root, keep.for_folder(&root), std::time::SystemTime::now())
    })
    .await;
    match purged {
        Ok(Ok(0)) => {}
        Ok(Ok(gone)) => tracing::info!(gone, "old files left the trash"),
        Ok(Err(error)) => tracing::warn!(%error, "the trash was not purged"),
        Err(error) => tracing::warn!(%error, "the trash was not purged"),
    }
}

/// Runs the sync of `ctx`'s pair to its end, or until the run token is cancelled.
pub async fn run(
    ctx: Arc<Context>,
    mode: Mode,
    transfers: &mut Concurrency,
    summary: &mut Summary,
) -> Result<(), RunError> {
    match sweep_upload_temps(&ctx).await {
        Ok(()) => {}
        Err(TransferError::Stopped) => return Err(RunError::Stopped),
        Err(TransferError::Journal(e)) => return Err(RunError::Journal(e)),
        Err(error) => tracing::warn!(%error, "earlier uploads' temp files were not all deleted"),
    }
    survey::sweep_legacy_parts(&ctx).await?;
    // Moves that failed in this run are planned as a delete and a creation from then on.
    let mut refused = BTreeSet::new();
    let mut settled = false;
    for _ in 0..PASSES {
        let mut seen = survey::survey(&ctx, mode, transfers, summary).await?;
        let moves = seen.find_moves(mode, &refused);
        if !moves.is_empty() {
            let failed = carry::carry_moves(&ctx, &moves, &mut seen.local, summary).await?;
            if !failed.is_empty() {
                // The plan counts on every move: survey again without the failed ones.
                refused.extend(failed);
                continue;
            }
        }
        let plan = seen.plan(&ctx, mode)?;
        let had_conflicts = plan
            .actions
            .iter()
            .any(|a| matches!(a, Action::Conflict { .. }));
        // After moves, a further pass finds the moves inside the moved folders.
        let again = plan.deferred || !moves.is_empty() || (had_conflicts && mode != Mode::Download);
        let acted: HashSet<String> = plan.actions.iter().map(|a| a.path().to_owned()).collect();
        let seen = Arc::new(seen);
        outcome::widen_if_multiplexed(&ctx, transfers);
        execute::execute(&ctx, plan, seen.clone(), transfers, summary).await?;
        if !again {
            summary.without_validators = verify::lacks_validators(&seen);
            // Nextcloud and ownCloud (the servers with ownCloud's properties) keep what a
            // client deletes in their trash bin.
            summary.deleted_remote_to_trash =
                summary.deleted_remote > 0 && ctx.client.hints().owncloud_properties == Some(true);
            if ctx.verify_contents || (summary.without_validators && verify_due(&ctx).await?) {
                verify::compare_contents(&ctx, &seen, &acted, summary).await?;
            }
            survey::sweep_stale_parts(&ctx, &seen.remote).await?;
            purge_trash(&ctx).await;
            match sweep_chunked(&ctx).await {
                Ok(()) => {}
                Err(TransferError::Stopped) => return Err(RunError::Stopped),
                Err(TransferError::Journal(e)) => return Err(RunError::Journal(e)),
                Err(error) => {
                    tracing::warn!(%error, "abandoned upload folders were not all deleted")
                }
            }
            settled = true;
            break;
        }
    }
    if !settled {
        // Every pass found more to do (the tree kept changing, or moves inside moves): what
        // is left goes with the next run, and the outcome says so.
        tracing::info!(
            passes = PASSES,
            "the folder kept changing; the rest waits for the next sync"
        );
        summary.unsettled = true;
    }
    ctx.hub.update(|s| s.phase = Phase::Finishing);
    Ok(())
}
