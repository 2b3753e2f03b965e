//! One pair's automatic sync: a task that watches the folder, checks the server, and starts
//! runs, one at a time.
//!
//! ```text
//!  local events ──debounce──▶ changed per the journal? ─┐
//!  server check (interval, backing off) ── changed? ────┼─▶ queued ──▶ a run, when none is under way
//!  start · resume · network back · "Sync all now" ──────┘
//! ```
//!
//! A change while a run is under way waits for its end: its paths are looked at then (the
//! run's own writes are in the journal by then and count as no change), and at most one more
//! run follows. While the app is suspended nothing is checked or started; the resume nudges.

use super::changes::{ChangeQueue, ChangeSink};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::local::{Verdict, check_paths, check_tree, relative};
use super::server::{Propagation, ServerWatch};
use super::{AutoStatus, ServerCheck};
use crate::engine::{Engine, Outcome};
use crate::filter::Filter;
use crate::model::{FailureKind, JobId, JobState, Pair, Summary};
use crate::scan::changed::{Baseline, Changed, MOST_PATHS, Watched};

/// Quiet time after the last local event before its paths are looked at.
pub const DEBOUNCE: Duration = Duration::from_millis(500);
/// The longest local events are held while more keep coming (a long copy).
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(5);
/// While nothing changes, checks back off up to this many times the pair's interval.
pub const MAX_BACKOFF: u32 = 4;
/// After a failed check the next comes this soon (or at the interval, if sooner), then
/// backs off like an idle one: the network may be back any moment.
pub const RETRY_FIRST: Duration = Duration::from_secs(30);

pub(super) struct Supervisor {
    pub(super) engine: Engine,
    pub(super) pair: Pair,
    pub(super) token: CancellationToken,
    pub(super) nudge: Arc<Notify>,
    pub(super) status: watch::Sender<AutoStatus>,
}

/// When local events not yet looked at came (what they were waits in the [`ChangeQueue`]).
#[derive(Default)]
struct Pending {
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Pending {
    /// Something more was seen now.
    fn add(&mut self) {
        let now = Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// When the events are due to be looked at.
    fn due(&self) -> Option<Instant> {
        Some((self.last? + DEBOUNCE).min(self.first? + MAX_DEBOUNCE))
    }
}

/// Where the supervisor is between events.
struct State {
    server: ServerWatch,
    /// Whether the pair's filter matches without letter case, as its folder looks names up.
    fold: bool,
    pending: Pending,
    /// The job under way (ours, or one the user started), if any.
    running: Option<JobId>,
    /// One more run is wanted once none is under way.
    queued: bool,
    next_check: Instant,
    /// `next_check` on the wall clock, for the UI (set with it, so it does not drift).
    next_check_wall: SystemTime,
    /// The wait before the next check: the interval, longer while idle or failing.
    delay: Duration,
    /// The last check or run failed to reach the server: the next success syncs.
    failing: bool,
    /// When the earliest file that failed is tried again (see `journal::failures`).
    retry_at: Option<Instant>,
    watching: bool,
    error: Option<String>,
    /// What the last survey of a run we started left (see [`crate::scan::changed`]): while
    /// it is fresh, our next run looks only at what changed since.
    baseline: Option<Baseline>,
    /// Local paths the watcher reported since the baseline (relative).
    dirty: BTreeSet<String>,
    /// What the run under way, if we started it, leaves for the next.
    watched: Option<Arc<Watched>>,
}

impl State {
    /// The next check, `delay` from now.
    fn schedule(&mut self) {
        self.next_check = Instant::now() + self.delay;
        self.next_check_wall = SystemTime::now() + self.delay;
    }
}

impl Supervisor {
    pub(super) async fn run(self) {
        let every = self.pair.settings.check_every;
        let (sender, changes) = super::changes::queue();
        let mut guard = self.watch(&sender);
        let (disk, root) = (self.engine.inner.options.disk, self.pair.local_dir.clone());
        let fold = tokio::task::spawn_blocking(move || disk.is_case_insensitive(&root))
            .await
            .unwrap_or(true);
        let mut state = State {
            server: ServerWatch::new(self.filter(), fold),
            fold,
            pending: Pending::default(),
            running: None,
            // A sync when automatic sync starts: on app start, and when the user turns it on.
            queued: true,
            next_check: Instant::now() + every,
            next_check_wall: SystemTime::now() + every,
            delay: every,
            failing: false,
            retry_at: self.next_retry().await,
            watching: guard.is_some(),
            error: None,
            baseline: None,
            dirty: BTreeSet::new(),
            watched: None,
        };
        // What the server looks like before the first run, so a change during it is seen.
        if !self.engine.is_suspended() {
            self.check(&mut state).await;
        }
        loop {
            self.start_if_wanted(&mut state).await;
            self.publish(&state);
            let suspended = self.engine.is_suspended();
            let idle = state.running.is_none() && !suspended;
            let due = state.pending.due().filter(|_| idle);
            let running = state.running;
            tokio::select! {
                () = self.token.cancelled() => break,
                () = self.nudge.notified() => {
                    // A resume, or "Sync all now": what happened meanwhile is not taken on
                    // the watcher's word.
                    state.baseline = None;
                    if state.running.is_none() {
                        state.queued = true;
                    }
                }
                () = changes.added() => state.pending.add(),
                () = sleep_until(due) => self.look_local(&mut state, &changes).await,
                () = sleep_until(state.retry_at.filter(|_| idle)) => {
                    tracing::debug!("trying the files that failed again");
                    state.retry_at = None;
                    state.queued = true;
                }
                () = tokio::time::sleep_until(state.next_check), if idle => {
                    self.check(&mut state).await;
                }
                outcome = wait(&self.engine, running) => {
                    state.running = None;
                    self.ended(&mut state, outcome).await;
                    if guard.is_none() {
                        guard = self.watch(&sender);
                        state.watching = guard.is_some();
                    }
                }
            }
        }
        drop(guard);
        tracing::debug!(pair = %self.pair.id, "automatic sync stopped");
    }

    /// Starts the folder watcher; `None` while the folder cannot be watched (it does not
    /// exist before the first run, say): retried after every run.
    fn watch(&self, sender: &ChangeSink) -> Option<Box<dyn Send>> {
        match self
            .engine
            .inner
            .options
            .watcher
            .watch(&self.pair.local_dir, sender.clone())
        {
            Ok(guard) => Some(guard),
            Err(error) => {
                tracing::info!(%error, "not watching the folder yet");
                None
            }
        }
    }

    /// Starts the queued run, unless one is under way (a run the user started counts).
    async fn start_if_wanted(&self, state: &mut State) {
        if state.running.is_some() {
            return;
        }
        if let Some(job) = self.engine.unfinished_job(self.pair.id) {
            state.running = Some(job);
            return;
        }
        if !state.queued || self.engine.is_suspended() {
            return;
        }
        state.queued = false;
        let watched = state.watching.then(|| {
            Arc::new(Watched {
                changed: Mutex::new(self.changed(state)),
                baseline: Mutex::new(None),
            })
        });
        match self
            .engine
            .start_watched(self.pair.id, watched.clone())
            .await
        {
            Ok((job, new)) => {
                state.running = Some(job);
                state.watched = watched.filter(|_| new);
            }
            Err(error) => tracing::warn!(%error, "could not start an automatic sync"),
        }
        if state.watched.is_none() {
            // What changed went nowhere: the next run scans in full.
            state.baseline = None;
        }
    }

    /// What changed since the baseline, while it can be trusted; the paths go with it.
    fn changed(&self, state: &mut State) -> Option<Changed> {
        let paths = std::mem::take(&mut state.dirty);
        let baseline = state.baseline.take().filter(Baseline::is_fresh)?;
        Some(Changed { baseline, paths })
    }

    /// What the pair leaves out; its settings were checked when saved.
    fn filter(&self) -> Filter {
        self.pair.settings.filter().unwrap_or_else(|error| {
            tracing::warn!(%error, "the pair's patterns do not build; leaving nothing out");
            Filter::none()
        })
    }

    /// Looks at the local paths that changed: a run if any differs from the journal.
    async fn look_local(&self, state: &mut State, changes: &ChangeQueue) {
        state.pending = Pending::default();
        let pending = changes.take();
        let journal = self.engine.inner.journal.clone();
        let (pair, root) = (self.pair.id, self.pair.local_dir.clone());
        let filter = (self.filter(), state.fold);
        let changed: Vec<String> = pending
            .paths
            .iter()
            .filter_map(|path| relative(&root, path))
            .collect();
        state.dirty.extend(changed.iter().cloned());
        if state.dirty.len() > MOST_PATHS {
            state.baseline = None;
        }
        if state.baseline.is_none() {
            state.dirty.clear();
        }
        let verdict = tokio::task::spawn_blocking(move || {
            // A file that failed and changed since starts its count of failures over.
            journal.reset_failures(pair, &changed)?;
            let verdict = match pending.overflowed {
                true => Verdict::Unsure,
                false => check_paths(&journal, pair, &root, &pending.paths, &filter)?,
            };
            match verdict {
                Verdict::Unsure => Ok((check_tree(&journal, pair, &root, &filter)?, true)),
                known => Ok::<_, crate::journal::JournalError>((known, false)),
            }
        })
        .await;
        match verdict {
            Ok(Ok((verdict, unsure))) => {
                // The paths proved nothing (events lost, a folder renamed under the watcher's
                // old name): the next run scans in full.
                if unsure {
                    state.baseline = None;
                }
                state.queued |= verdict == Verdict::Changed;
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not compare with the journal; syncing");
                state.baseline = None;
                state.queued = true;
            }
            Err(error) => {
                tracing::warn!(%error, "the local check failed");
                state.baseline = None;
            }
        }
    }

    /// Checks the server and schedules the next check.
    async fn check(&self, state: &mut State) {
        // Suspended while this check was due: the resume nudges a sync, which looks anyway.
        if self.engine.is_suspended() {
            return;
        }
        let every = self.pair.settings.check_every;
        let checked = match self.engine.pair_client(&self.pair).await {
            Ok(client) => {
                let look = state.server.check(client.as_ref());
                match self.token.run_until_cancelled(look).await {
                    Some(result) => result.map_err(|e| e.to_string()),
                    None => return,
                }
            }
            Err(error) => Err(error.to_string()),
        };
        state.delay = match checked {
            Ok(changed) => {
                state.error = None;
                if changed || std::mem::take(&mut state.failing) {
                    state.queued = true;
                    every
                } else {
                    (state.delay * 2).min(every * MAX_BACKOFF)
                }
            }
            Err(error) => {
                tracing::info!(%error, "the server could not be checked");
                state.error = Some(error);
                let delay = match state.failing {
                    true => state.delay * 2,
                    false => RETRY_FIRST.min(every),
                };
                state.failing = true;
                delay.min(every * MAX_BACKOFF)
            }
        };
        state.schedule();
    }

    /// After a run of ours changed the server: its changes are no news, but anything else
    /// on the server that the journal does not know is (see `ServerWatch::rebaseline`).
    async fn rebaseline(&self, state: &mut State) {
        let pair = self.pair.id;
        let agreed = self
            .engine
            .inner
            .journal
            .call(move |j| j.agreed(pair))
            .await;
        let filter = self.filter();
        let agreed: BTreeMap<String, Option<String>> = match agreed {
            Ok(agreed) => agreed
                .into_iter()
                .filter(|a| {
                    filter
                        .excludes(&a.path, a.is_dir, Some(a.size), state.fold)
                        .is_none()
                })
                .map(|a| (a.path, a.etag))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "could not read the journal; syncing again");
                state.queued = true;
                return;
            }
        };
        let looked = match self.engine.pair_client(&self.pair).await {
            Ok(client) => {
                let look = state.server.rebaseline(client.as_ref(), agreed);
                match self.token.run_until_cancelled(look).await {
                    Some(result) => result.map_err(|e| e.to_string()),
                    None => return,
                }
            }
            Err(error) => Err(error.to_string()),
        };
        match looked {
            Ok(theirs) => state.queued |= theirs,
            Err(error) => {
                // The next check only looks; what it finds then is taken as the baseline.
                tracing::info!(%error, "the server could not be listed after the sync");
                state.server.forget();
            }
        }
    }

    /// When the earliest file that failed is tried again, if any waits for the clock.
    async fn next_retry(&self) -> Option<Instant> {
        let pair = self.pair.id;
        let at = match self
            .engine
            .inner
            .journal
            .call(move |j| j.next_retry(pair))
            .await
        {
            Ok(at) => at?,
            Err(error) => {
                tracing::warn!(%error, "could not read when failed files are tried again");
                return None;
            }
        };
        let now = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Some(Instant::now() + Duration::from_secs(at.saturating_sub(now).max(0) as u64))
    }

    /// A run ended: what it means for the next check.
    async fn ended(&self, state: &mut State, outcome: Option<Outcome>) {
        if let Some(watched) = state.watched.take() {
            state.baseline = watched.take_baseline();
        }
        // A run that completed without a failed file left nothing to try again.
        state.retry_at = match &outcome {
            Some(o) if o.state == JobState::Completed && o.summary.errors.is_empty() => None,
            _ => self.next_retry().await,
        };
        let every = self.pair.settings.check_every;
        match outcome {
            Some(outcome) if outcome.state == JobState::Completed => {
                state.failing = false;
                state.delay = every;
                state.queued |= outcome.summary.unsettled;
                if changed_server(&outcome.summary) {
                    self.rebaseline(state).await;
                }
            }
            Some(outcome) if outcome.failure == Some(FailureKind::Network) => {
                state.failing = true;
                state.delay = RETRY_FIRST.min(every);
            }
            _ => {}
        }
        state.schedule();
    }

    fn publish(&self, state: &State) {
        let checks_at = (state.running.is_none() && !self.engine.is_suspended())
            .then_some(state.next_check_wall);
        let status = AutoStatus {
            watching: state.watching,
            next_check: checks_at,
            server_check: match state.server.propagation() {
                Propagation::Yes => ServerCheck::RootOnly,
                Propagation::Unknown | Propagation::No => ServerCheck::Listing,
            },
            error: state.error.clone(),
        };
        let changed = self.status.send_if_modified(|old| {
            let changed = *old != status;
            *old = status;
            changed
        });
        if changed {
            // Nobody listening (no window open) is fine.
            let _ = self.engine.inner.auto_changes.send(self.pair.id);
        }
    }
}

/// Whether a run changed the server (so its own changes must not look like someone else's).
fn changed_server(summary: &Summary) -> bool {
    summary.files_uploaded > 0
        || summary.deleted_remote > 0
        || summary.moved > 0
        || summary.conflicts > 0
        || summary.created_remote_root
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How `job` ended, or never without one. `None` when the engine no longer knows it.
async fn wait(engine: &Engine, job: Option<JobId>) -> Option<Outcome> {
    match job {
        Some(job) => engine.wait(job).await.ok(),
        None => std::future::pending().await,
    }
}
