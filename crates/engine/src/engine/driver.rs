//! The job driver: one task per job that moves it through its [`Stage`]s.
//!
//! ```text
//!            ┌──────────── pause / suspend stopped the run ───────────┐
//!            ▼                                                        │
//! spawn ─▶ Held ── may run (not paused, not suspended) ──▶ Running ───┤
//!            │                                                        │
//!            └─ job token cancelled ──▶ Ended ◀── completed, failed, ─┘
//!                                                cancelled, shutdown
//! ```
//!
//! `Held` shows the job as Paused or Suspended and waits for a wake, a resume or the job token.
//! `Running` runs one segment under a fresh run token (a child of the job token) and records
//! how it stopped before it counts as no longer under way, so `suspend()` returns only once the
//! job shows Suspended. `Ended` is recorded and announced once.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::RefusedDeletes;
use super::connect::Limits;
use super::pair_lock::PairLock;
use super::{Engine, EngineError, EngineOptions, JobChange, Outcome, lock};
use crate::journal::JournalError;
use crate::model::{
    FailureKind, JobId, JobState, Mode, PairId, PairSettings, RemoteId, ServerHints, StopReason,
    Summary,
};
use crate::plan::PlanError;
use crate::progress::{Hub, JobEvent};
use crate::record::Recorder;
use crate::run::Context;
use crate::run::{RunError, run};
use crate::scan::changed::Watched;
use tidesync_webdav::{Concurrency, RemotePath};

/// A job in the registry.
pub(super) struct Job {
    pub(super) id: JobId,
    pub(super) pair: PairId,
    pub(super) hub: Arc<Hub>,
    /// Cancelled by `cancel(job)` or, as its parent, by shutdown.
    pub(super) token: CancellationToken,
    pub(super) control: Mutex<Control>,
    /// Wakes the job when the user resumes it.
    pub(super) wake: Notify,
    /// True while a run segment is under way; suspend waits for it to go false.
    pub(super) running: watch::Sender<bool>,
    /// The end state, once there is one.
    pub(super) ended: watch::Sender<Option<Outcome>>,
    /// What automatic sync's watcher saw, for a job it started (see [`crate::scan::changed`]).
    pub(super) watched: Option<Arc<Watched>>,
}

/// What the job's controls say; locked briefly, never across an await.
#[derive(Default)]
pub(super) struct Control {
    /// The token of the segment under way, for pause and suspend to cancel.
    pub(super) run: Option<CancellationToken>,
    /// Why the run was stopped, written by whoever stopped it first.
    pub(super) reason: Option<StopReason>,
    pub(super) paused: bool,
}

/// Where a job's driver is.
enum Stage {
    /// May not run now (paused, or the app is suspended): shows why and waits.
    Held,
    /// Runs one segment.
    Running,
    /// Over; the outcome is recorded and announced (boxed: it is much larger than the rest).
    Ended(Box<Outcome>),
}

/// The stage of a job that is over with `outcome`.
fn ended(outcome: Outcome) -> Stage {
    Stage::Ended(Box::new(outcome))
}

/// What the driver carries from one stage to the next.
struct Progress {
    /// Counts over all the job's segments.
    summary: Summary,
    /// The waiting state last recorded, so a wake that changes nothing records nothing.
    announced: Option<JobState>,
}

/// What a run segment needs, gathered when it starts.
struct Setup {
    ctx: Context,
    /// The pair's lock, held for the run (see [`super::pair_lock`]).
    _lock: PairLock,
    /// The pair's remote and the hints its record held: what the run learns beyond them is
    /// kept for the next process.
    remote: (RemoteId, ServerHints),
    mode: Mode,
    /// Files at once: adaptive, up to the pair's setting (else the engine's default).
    transfers: Concurrency,
}

impl Engine {
    /// Registers a job and starts its driver under the engine's task tracker.
    pub(super) fn spawn(
        &self,
        id: JobId,
        pair: PairId,
        state: JobState,
        watched: Option<Arc<Watched>>,
    ) {
        let job = Arc::new(Job {
            id,
            pair,
            hub: Hub::new(id, pair, state),
            token: self.inner.root.child_token(),
            control: Mutex::new(Control::default()),
            wake: Notify::new(),
            // Under way until it first waits: a suspend() that comes before the job task first
            // runs waits for it to show Suspended.
            running: watch::Sender::new(true),
            ended: watch::Sender::new(None),
            watched,
        });
        lock(&self.inner.jobs).insert(id, job.clone());
        let _ = self.inner.changes.send(JobChange {
            job_id: id,
            pair_id: pair,
            state,
        });
        let engine = self.clone();
        let span = tracing::info_span!("job", id = id.0, pair = pair.0);
        self.inner
            .tracker
            .spawn(async move { engine.drive(job).await }.instrument(span));
    }

    /// The job's life, stage by stage.
    async fn drive(&self, job: Arc<Job>) {
        let mut progress = Progress {
            summary: Summary::default(),
            announced: None,
        };
        let mut stage = Stage::Held;
        let outcome = loop {
            stage = match stage {
                Stage::Held => self.hold(&job, &mut progress).await,
                Stage::Running => self.run_segment(&job, &mut progress).await,
                Stage::Ended(outcome) => break *outcome,
            };
        };
        job.running.send_replace(false);
        job.ended.send_replace(Some(outcome));
        self.forget_old_jobs();
    }

    /// Why the job may not run now, if it may not.
    fn held_by(&self, control: &Control) -> Option<StopReason> {
        if control.paused {
            Some(StopReason::Paused)
        } else if self.inner.suspended.load(Ordering::SeqCst) {
            Some(StopReason::Suspended)
        } else {
            None
        }
    }

    async fn hold(&self, job: &Job, progress: &mut Progress) -> Stage {
        loop {
            if job.token.is_cancelled() {
                return ended(self.stopped_for_good(job, progress.summary.clone()).await);
            }
            // Registered before the check, so a wake between the check and the wait counts.
            let notified = job.wake.notified();
            let resumed = self.inner.resumed.notified();
            let Some(reason) = self.held_by(&lock(&job.control)) else {
                return Stage::Running;
            };
            let waiting_as = reason.state();
            if progress.announced != Some(waiting_as) {
                progress.announced = Some(waiting_as);
                if let Err(error) = self.set_state(job, waiting_as, None, None).await {
                    tracing::warn!(%error, "could not record the job's state");
                }
            }
            job.running.send_replace(false);
            tokio::select! {
                () = notified => {}
                () = resumed => {}
                () = job.token.cancelled() => {}
            }
        }
    }

    /// A fresh run token, installed where pause and suspend find it. A pause or suspend that
    /// came after the hold found no run to cancel, so it is applied here.
    fn arm(&self, job: &Job) -> CancellationToken {
        let run = job.token.child_token();
        let mut control = lock(&job.control);
        control.run = Some(run.clone());
        control.reason = None;
        // Under way from the moment its token can be cancelled.
        job.running.send_replace(true);
        if let Some(reason) = self.held_by(&control) {
            control.reason = Some(reason);
            run.cancel();
        }
        run
    }

    async fn run_segment(&self, job: &Job, progress: &mut Progress) -> Stage {
        let run_token = self.arm(job);
        let setup = match self.set_state(job, JobState::Running, None, None).await {
            Ok(()) => self.setup(job, run_token).await,
            Err(error) => Err(error.into()),
        };
        let stage = match setup {
            Ok(Setup {
                ctx,
                _lock,
                remote,
                mode,
                mut transfers,
            }) => {
                let ctx = Arc::new(ctx);
                let result = run(ctx.clone(), mode, &mut transfers, &mut progress.summary).await;
                self.keep_hints(remote, ctx.client.hints()).await;
                self.after_run(job, progress, result).await
            }
            Err(error) => {
                let summary = progress.summary.clone();
                let kind = error.failure_kind();
                ended(self.failed(job, summary, error.to_string(), kind).await)
            }
        };
        // The run counts as under way until its end state is recorded.
        job.running.send_replace(false);
        stage
    }

    /// Records what the run learnt about the server, if anything, before the job's end is
    /// recorded (a CLI run's process ends then). The hints only save round trips, so a journal
    /// that cannot take them fails nothing.
    async fn keep_hints(&self, (remote, before): (RemoteId, ServerHints), learnt: ServerHints) {
        if learnt == before {
            return;
        }
        let kept = self
            .inner
            .journal
            .call(move |j| j.set_server_hints(remote, learnt))
            .await;
        if let Err(error) = kept {
            tracing::warn!(%error, "could not keep what was learnt about the server");
        }
    }

    /// What a segment's end means: the job is over, or it waits for a resume.
    async fn after_run(
        &self,
        job: &Job,
        progress: &mut Progress,
        result: Result<(), RunError>,
    ) -> Stage {
        let summary = progress.summary.clone();
        match &result {
            Ok(()) => self.note_refused(job.pair, None),
            Err(RunError::Plan(PlanError::MassDelete { side, paths, .. })) => self.note_refused(
                job.pair,
                Some(RefusedDeletes {
                    side: *side,
                    files: paths.clone(),
                }),
            ),
            Err(_) => {}
        }
        match result {
            Ok(()) => {
                self.note_failures(job.pair, &summary).await;
                self.record_end(job, JobState::Completed, Some(&summary), None)
                    .await;
                job.hub.emit(JobEvent::Finished {
                    summary: summary.clone(),
                });
                ended(Outcome {
                    state: JobState::Completed,
                    summary,
                    error: None,
                    failure: None,
                })
            }
            Err(RunError::Stopped) => match self.reason(job) {
                StopReason::Cancelled | StopReason::Shutdown => {
                    ended(self.stopped_for_good(job, summary).await)
                }
                reason @ (StopReason::Suspended | StopReason::Paused) => {
                    match self.set_state(job, reason.state(), None, None).await {
                        Ok(()) => {
                            progress.announced = Some(reason.state());
                            Stage::Held
                        }
                        Err(error) => ended(
                            self.failed(job, summary, error.to_string(), FailureKind::Storage)
                                .await,
                        ),
                    }
                }
            },
            Err(error) => {
                let kind = error.kind();
                ended(self.failed(job, summary, error.to_string(), kind).await)
            }
        }
    }

    /// Why the job's run stopped: what the canceller wrote down, else what the tokens say.
    fn reason(&self, job: &Job) -> StopReason {
        if let Some(reason) = lock(&job.control).reason {
            return reason;
        }
        if self.inner.root.is_cancelled() {
            StopReason::Shutdown
        } else if job.token.is_cancelled() {
            StopReason::Cancelled
        } else {
            StopReason::Suspended
        }
    }

    async fn stopped_for_good(&self, job: &Job, summary: Summary) -> Outcome {
        let state = if self.inner.root.is_cancelled()
            && lock(&job.control).reason != Some(StopReason::Cancelled)
        {
            // Shutdown: the journal keeps the job as Interrupted, to resume on the next start.
            StopReason::Shutdown.state()
        } else {
            JobState::Cancelled
        };
        let recorded = (state == JobState::Cancelled).then_some(&summary);
        self.record_end(job, state, recorded, None).await;
        if state == JobState::Cancelled {
            job.hub.emit(JobEvent::Finished {
                summary: summary.clone(),
            });
        }
        Outcome {
            state,
            summary,
            error: None,
            failure: None,
        }
    }

    async fn failed(
        &self,
        job: &Job,
        summary: Summary,
        message: String,
        kind: FailureKind,
    ) -> Outcome {
        tracing::warn!(error = %message, "job failed");
        self.record_end(job, JobState::Failed, Some(&summary), Some(&message))
            .await;
        job.hub.emit(JobEvent::Failed {
            message: message.clone(),
            kind,
        });
        Outcome {
            state: JobState::Failed,
            summary,
            error: Some(message),
            failure: Some(kind),
        }
    }

    /// Writes the state to the journal, then announces it.
    async fn set_state(
        &self,
        job: &Job,
        state: JobState,
        summary: Option<&Summary>,
        error: Option<&str>,
    ) -> Result<(), JournalError> {
        let (id, summary, error) = (job.id, summary.cloned(), error.map(str::to_owned));
        self.inner
            .journal
            .call(move |j| j.set_job_state(id, state, summary.as_ref(), error.as_deref()))
            .await?;
        self.announce(job, state);
        Ok(())
    }

    /// Records how a job ended. Where the journal cannot take it, the end is announced all the
    /// same (the journal's record serves the next process, which then finds the job unfinished
    /// and resumes it from its checkpoint, harmlessly), and the failure is logged.
    async fn record_end(
        &self,
        job: &Job,
        state: JobState,
        summary: Option<&Summary>,
        error: Option<&str>,
    ) {
        if let Err(failure) = self.set_state(job, state, summary, error).await {
            tracing::error!(%failure, ?state, "the journal could not record how the job ended");
            self.announce(job, state);
        }
    }

    /// Keeps what a completed run could not sync, for automatic sync to try again (see
    /// `journal::failures`). It only schedules tries, so a journal that cannot take it fails
    /// nothing; that is logged.
    async fn note_failures(&self, pair: PairId, summary: &Summary) {
        let (errors, lasting) = (summary.errors.clone(), summary.waits_for_change.clone());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let noted = self
            .inner
            .journal
            .call(move |j| j.note_failures(pair, &errors, &lasting, now))
            .await;
        if let Err(error) = noted {
            tracing::warn!(%error, "could not record the files that failed");
        }
    }

    /// Tells the job's subscribers and the job list of its new state.
    fn announce(&self, job: &Job, state: JobState) {
        job.hub.update(|s| s.state = state);
        job.hub.emit(JobEvent::StateChanged { state });
        // No receiver is fine: nobody is watching the job list.
        let _ = self.inner.changes.send(JobChange {
            job_id: job.id,
            pair_id: job.pair,
            state,
        });
    }

    /// Everything a run of `job` needs: its pair, a client for the pair's remote folder.
    async fn setup(&self, job: &Job, run: CancellationToken) -> Result<Setup, EngineError> {
        let (data_dir, id) = (self.inner.data_dir.clone(), job.pair);
        let lock = tokio::task::spawn_blocking(move || PairLock::take(&data_dir, id))
            .await
            .map_err(|e| EngineError::Worker(e.to_string()))??;
        let pair = self.pair(job.pair).await?;
        let remote = self.remote(pair.remote_id).await?;
        let client = self
            .inner
            .clients
            .client(&remote, &pair.remote_path, Limits::of(&pair))?;
        let options = &self.inner.options;
        Ok(Setup {
            _lock: lock,
            ctx: Context {
                pair: pair.id,
                local_root: pair.local_dir.clone(),
                client,
                journal: self.inner.journal.clone(),
                hub: job.hub.clone(),
                run,
                recorder: Recorder::start(self.inner.journal.clone(), pair.id),
                range_size: options.range_size,
                retry: options.webdav.retry.clone(),
                mass_delete_guard: options.mass_delete_guard && !self.take_unguarded(pair.id),
                delete_limit: options.delete_limit,
                trash_keep: pair.settings.trash_keep(),
                remote_backup: remote_backup(options, &pair.settings)?,
                uploads: options.uploads,
                chunked_used: Default::default(),
                quick_disk: Default::default(),
                folders_made: Default::default(),
                local_names: Default::default(),
                verify_contents: options.verify_contents,
                disk: options.disk,
                filter: pair.settings.filter()?,
                fold: true.into(),
                watched: job.watched.clone(),
            },
            remote: (remote.id, remote.hints),
            mode: pair.mode,
            transfers: {
                let most = pair
                    .settings
                    .transfers
                    .map_or(options.transfers, usize::from)
                    .min(self.inner.transfers_cap);
                Concurrency::new(options.transfers_at_start.min(most), most)
            },
        })
    }
}

/// Where a run moves what it would delete on the server: the folder given for this run
/// (CLI `--backup-dir`), else the pair's own setting, else nowhere (it deletes).
fn remote_backup(
    options: &EngineOptions,
    settings: &PairSettings,
) -> Result<Option<RemotePath>, EngineError> {
    let Some(folder) = options
        .remote_backup
        .as_deref()
        .or(settings.server_backup.as_deref())
    else {
        return Ok(None);
    };
    RemotePath::parse(folder)
        .map(Some)
        .map_err(|e| EngineError::RemotePath(folder.to_owned(), e))
}
