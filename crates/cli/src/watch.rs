//! `tidesync sync --watch`: the engine's automatic sync from the command line. It syncs at
//! once, then on every local change and whenever a check of the server (every --interval,
//! backing off while nothing changes) finds one; one line per sync (JSON with --json).
//!
//! Ctrl-C stops gracefully: the engine shuts down, a sync under way checkpoints (no partial
//! file is ever visible under its real name), and it exits 130. Twice exits at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tidesync_engine::{JobId, JobState, Outcome, PairSettings};
use tokio::sync::broadcast::error::RecvError;

use crate::exit::Exit;
use crate::sync::{Args, Failure, Opened, Report, Signals, open, tell_files, verdict};

pub async fn watch(args: Args) -> Result<Exit, Failure> {
    let usage = |message: String| (Exit::Usage, message);
    let Opened { engine, pair } = open(&args).await?;
    let mut signals =
        Signals::install().map_err(|e| usage(format!("cannot handle signals: {e}")))?;
    let mut changes = engine.subscribe_changes();
    let settings = PairSettings {
        auto_sync: true,
        check_every: Duration::from_secs(args.interval),
        ..engine
            .pair(pair)
            .await
            .map_err(|e| usage(e.to_string()))?
            .settings
    };
    engine
        .update_pair(pair, args.mode, settings)
        .await
        .map_err(|e| usage(format!("--interval: {e}")))?;
    eprintln!(
        "tidesync: watching {} and {}; Ctrl-C stops",
        args.local.display(),
        args.url
    );

    let mut started: HashMap<JobId, Instant> = HashMap::new();
    let mut stopping: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Ok(change) if change.pair_id != pair => {}
                Ok(change) if change.state == JobState::Queued => {
                    started.insert(change.job_id, Instant::now());
                }
                Ok(change) if matches!(change.state, JobState::Completed | JobState::Failed) => {
                    let took = started.remove(&change.job_id).map_or(Duration::ZERO, |t| t.elapsed());
                    if let Ok(outcome) = engine.wait(change.job_id).await {
                        tell(&args, &outcome, took);
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => tracing::debug!(missed, "job changes skipped"),
                Err(RecvError::Closed) => return Ok(Exit::Interrupted),
            },
            _ = signals.interrupt.recv() => {
                if stopping.is_some() {
                    eprintln!("tidesync: stopped at once; run the same command again to resume");
                    std::process::exit(i32::from(Exit::Interrupted.code()));
                }
                let engine = engine.clone();
                stopping = Some(tokio::spawn(async move { engine.shutdown().await }));
            }
            _ = async { stopping.as_mut().expect("guarded").await }, if stopping.is_some() => {
                eprintln!("tidesync: stopped; a sync under way goes on from its checkpoint next time");
                return Ok(Exit::Interrupted);
            }
        }
    }
}

/// One line per sync: the JSON report, or a sentence.
fn tell(args: &Args, outcome: &Outcome, took: Duration) {
    tell_files(outcome);
    if args.json {
        Report::of(args.mode, outcome, took).print();
        return;
    }
    let s = &outcome.summary;
    match verdict(outcome) {
        Ok(_) | Err((Exit::FileErrors, _)) => eprintln!(
            "tidesync: synced: {} downloaded, {} uploaded, {} deleted, {} moved, {} conflicts",
            s.files_downloaded,
            s.files_uploaded,
            s.deleted_local + s.deleted_remote,
            s.moved,
            s.conflicts
        ),
        Err((_, message)) => eprintln!("tidesync: the sync failed: {message}; still watching"),
    }
}
