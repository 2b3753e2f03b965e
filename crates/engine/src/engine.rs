//! The engine: the journal, the connected servers, the job registry, the lifecycle controller,
//! and the task tracker every job runs under.
//!
//! The cancellation tree:
//!
//! ```text
//! root token        the engine's lifetime; cancelled by shutdown()
//!  └─ job token     one per job; cancelled by cancel(job)
//!      └─ run token one per run segment; cancelled by suspend() or pause(job),
//!                   a fresh child of the job token on every resume
//! ```
//!
//! Whoever cancels a token first writes down why (a [`StopReason`]), so a stopped run knows
//! whether to wait for a resume, end as Cancelled, or keep its checkpoint for the next start.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tidesync_webdav::{
    Client, Credentials, Depth, EntryKind, Listing, Options, RemotePath, ServerKind,
};
use tokio::sync::{Notify, broadcast, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::journal::{JobRecord, Journal, JournalError};
use crate::model::Remote as RemoteRecord;
use crate::model::{
    FailureKind, JobId, JobState, Mode, Pair, PairId, RemoteId, StopReason, Summary,
};
use crate::progress::{AttachId, Hub, JobEvent, JobSnapshot, Sink};
use crate::record::Recorder;
use crate::remote::Remote;
use crate::run::{RunError, run};
use crate::transfer::Context;

/// How the engine behaves; the defaults suit a phone.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Files transferred at once per job.
    pub transfers: usize,
    /// How the WebDAV clients connect (timeouts, retries, TLS).
    pub webdav: Options,
    /// The longest `suspend()` waits for jobs to checkpoint.
    pub suspend_wait: Duration,
    /// The longest `shutdown()` waits for jobs to checkpoint.
    pub shutdown_wait: Duration,
    /// Files larger than this are downloaded this many bytes at a time, in bounded ranges
    /// one after the other (see `Client::get_range` for why).
    pub range_size: u64,
    /// Refuse a sync that would delete more than half of a synced tree (see
    /// [`crate::plan::plan`]). Only tests of other rules on tiny trees turn it off.
    pub mass_delete_guard: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            transfers: 8,
            webdav: Options::default(),
            suspend_wait: Duration::from_secs(2),
            shutdown_wait: Duration::from_secs(5),
            range_size: crate::transfer::RANGE_SIZE,
            mass_delete_guard: true,
        }
    }
}

/// What went wrong with an engine call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Remote(#[from] tidesync_webdav::Error),
    #[error("there is no remote {0}")]
    NoRemote(RemoteId),
    #[error("there is no pair {0}")]
    NoPair(PairId),
    #[error("there is no job {0}")]
    NoJob(JobId),
    #[error("job {0} has ended")]
    JobEnded(JobId),
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("'{0}' is not a folder path on the server: {1}")]
    RemotePath(String, tidesync_webdav::HrefError),
    #[error("{0} is a file, not a folder")]
    NotAFolder(String),
    #[error("a sync of this {0} is under way; cancel it first")]
    Busy(&'static str),
}

/// A job appeared or changed state; sent to every [`Engine::subscribe_changes`] receiver after
/// the journal has the new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobChange {
    pub job_id: JobId,
    pub pair_id: PairId,
    pub state: JobState,
}

/// How a job ended, for the caller that waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub state: JobState,
    pub summary: Summary,
    pub error: Option<String>,
    /// For a Failed job: what kind of failure.
    pub failure: Option<FailureKind>,
}

/// The engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    journal: Journal,
    options: EngineOptions,
    /// Cancelled by `shutdown()`: every job token is its child.
    root: CancellationToken,
    /// Every job task, so shutdown can wait for them to checkpoint.
    tracker: TaskTracker,
    jobs: Mutex<HashMap<JobId, Arc<Job>>>,
    /// Passwords, held in memory only; the journal never sees them.
    credentials: Mutex<HashMap<RemoteId, Credentials>>,
    /// One client (and so one connection pool) per remote folder, dropped on suspend.
    clients: Mutex<HashMap<String, Arc<dyn Remote>>>,
    /// Servers that stand in for a remote's WebDAV client (an in-memory one in tests).
    stand_ins: Mutex<HashMap<RemoteId, Arc<dyn Remote>>>,
    /// True between `suspend()` and `resume()`: no run may start.
    suspended: AtomicBool,
    /// Wakes jobs waiting to run when the app resumes.
    resumed: Notify,
    /// Every job state change, for views of all jobs (the app's job list).
    changes: broadcast::Sender<JobChange>,
}

/// A job in the registry.
struct Job {
    id: JobId,
    pair: PairId,
    hub: Arc<Hub>,
    token: CancellationToken,
    control: Mutex<Control>,
    /// Wakes the job when the user resumes it.
    wake: Notify,
    /// True while a run segment is under way; suspend waits for it to go false.
    running: watch::Sender<bool>,
    /// The end state, once there is one.
    ended: watch::Sender<Option<Outcome>>,
}

/// What the job's controls say; locked briefly, never across an await.
#[derive(Default)]
struct Control {
    run: Option<CancellationToken>,
    reason: Option<StopReason>,
    paused: bool,
}

/// How many finished jobs stay in memory (see [`Engine::forget_old_jobs`]).
pub const FINISHED_KEPT: usize = 16;

impl Engine {
    /// Opens the engine with its journal in `data_dir`. Jobs the journal has as running (the
    /// process died) become Interrupted and start again, resuming from their checkpoints.
    pub async fn open(data_dir: &Path, options: EngineOptions) -> Result<Engine, EngineError> {
        let path = data_dir.join("journal.sqlite");
        let journal = tokio::task::spawn_blocking(move || Journal::open(&path))
            .await
            .map_err(|e| JournalError::Worker(e.to_string()))??;
        let engine = Engine {
            inner: Arc::new(Inner {
                journal,
                options,
                root: CancellationToken::new(),
                tracker: TaskTracker::new(),
                jobs: Mutex::new(HashMap::new()),
                credentials: Mutex::new(HashMap::new()),
                clients: Mutex::new(HashMap::new()),
                stand_ins: Mutex::new(HashMap::new()),
                suspended: AtomicBool::new(false),
                resumed: Notify::new(),
                changes: broadcast::Sender::new(256),
            }),
        };
        Ok(engine)
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Restarts the jobs a previous process left unfinished (found Running or Interrupted);
    /// each continues from its checkpoint. Call once credentials are set.
    pub async fn restart_interrupted(&self) -> Result<Vec<JobId>, EngineError> {
        let journal = self.inner.journal.clone();
        let interrupted = journal
            .call(|j| {
                j.interrupt_running()?;
                Ok(j.jobs()?
                    .into_iter()
                    .filter(|r| r.state == JobState::Interrupted)
                    .collect::<Vec<_>>())
            })
            .await?;
        let mut restarted = Vec::new();
        for record in interrupted {
            self.spawn(record.id, record.pair_id, JobState::Interrupted)?;
            restarted.push(record.id);
        }
        Ok(restarted)
    }

    /// Makes the engine talk to `server` instead of the WebDAV client for `remote` (the
    /// in-memory [`crate::remote::MemoryRemote`] in tests).
    pub fn use_remote(&self, remote: RemoteId, server: Arc<dyn Remote>) {
        lock(&self.inner.stand_ins).insert(remote, server);
    }

    /// Keeps `credentials` for `remote` in memory for the jobs that need them.
    pub fn set_credentials(&self, remote: RemoteId, credentials: Credentials) {
        lock(&self.inner.credentials).insert(remote, credentials);
        lock(&self.inner.clients).clear();
    }

    /// Adds a remote (no secret) and returns its id.
    pub async fn add_remote(
        &self,
        name: &str,
        url: &str,
        user: Option<&str>,
        allow_http: bool,
    ) -> Result<RemoteId, EngineError> {
        let (name, url, user) = (name.to_owned(), url.to_owned(), user.map(str::to_owned));
        Ok(self
            .inner
            .journal
            .call(move |j| j.add_remote(&name, &url, user.as_deref(), allow_http))
            .await?)
    }

    /// The remote at `url` for `user`, added if new (the CLI identifies remotes this way).
    pub async fn ensure_remote(
        &self,
        url: &str,
        user: Option<&str>,
        allow_http: bool,
    ) -> Result<RemoteId, EngineError> {
        let (wanted_url, wanted_user) = (url.to_owned(), user.map(str::to_owned));
        let known = self
            .inner
            .journal
            .call(move |j| {
                Ok(j.remotes()?
                    .into_iter()
                    .find(|r| r.url == wanted_url && r.user == wanted_user)
                    .map(|r| r.id))
            })
            .await?;
        match known {
            Some(id) => Ok(id),
            None => self.add_remote(url, url, user, allow_http).await,
        }
    }

    /// The embedded demo remote, added (as `name`) if new, and pointed at `url` if it moved:
    /// it listens on a new port every time, its files stay the same. It is found by its demo
    /// mark, never by its name, so a user's own server called the same is left alone.
    pub async fn ensure_demo_remote(
        &self,
        name: &str,
        url: &str,
        allow_http: bool,
    ) -> Result<RemoteId, EngineError> {
        let new_url = url.to_owned();
        let known = self
            .inner
            .journal
            .call(move |j| {
                let found = j.demo_remote()?;
                if let Some(remote) = &found
                    && remote.url != new_url
                {
                    j.set_remote_url(remote.id, &new_url)?;
                }
                Ok(found.map(|r| r.id))
            })
            .await?;
        match known {
            Some(id) => {
                lock(&self.inner.clients).clear();
                Ok(id)
            }
            None => {
                let id = self.add_remote(name, url, None, allow_http).await?;
                self.inner.journal.call(move |j| j.mark_demo(id)).await?;
                Ok(id)
            }
        }
    }

    /// The pair of `remote_path` on `remote` with `local_dir`, created if new.
    pub async fn ensure_pair(
        &self,
        remote: RemoteId,
        remote_path: &str,
        local_dir: &Path,
        mode: Mode,
    ) -> Result<PairId, EngineError> {
        let remote_path = tidesync_webdav::RemotePath::parse(remote_path)
            .map_err(|e| EngineError::RemotePath(remote_path.to_owned(), e))?
            .as_str()
            .to_owned();
        let local_dir = local_dir.to_owned();
        Ok(self
            .inner
            .journal
            .call(move |j| j.ensure_pair(remote, &remote_path, &local_dir, mode))
            .await?)
    }

    /// Checks that `url` is a WebDAV folder these credentials may read (one PROPFIND), so a
    /// remote is saved only once it works. Returns the server product, when recognisable.
    pub async fn check_remote(
        &self,
        url: &str,
        credentials: Option<Credentials>,
        allow_http: bool,
    ) -> Result<Option<ServerKind>, EngineError> {
        let options = Options {
            allow_http: allow_http || self.inner.options.webdav.allow_http,
            ..self.inner.options.webdav.clone()
        };
        let client = Client::new(url, credentials, options)?;
        let listing = client.list(&RemotePath::root(), Depth::Zero).await?;
        is_folder(&listing, url)?;
        Ok(client.quirks().server)
    }

    /// Records the server product a connection test recognised, for display.
    pub async fn set_server_kind(
        &self,
        remote: RemoteId,
        kind: Option<ServerKind>,
    ) -> Result<(), EngineError> {
        let kind = kind.map(ServerKind::name);
        Ok(self
            .inner
            .journal
            .call(move |j| j.set_server_kind(remote, kind))
            .await?)
    }

    /// Checks that `folder` is a folder on `remote`, with the remote's credentials.
    pub async fn check_folder(&self, remote: RemoteId, folder: &str) -> Result<(), EngineError> {
        let path =
            RemotePath::parse(folder).map_err(|e| EngineError::RemotePath(folder.to_owned(), e))?;
        let record = self.remote(remote).await?;
        let url = join_url(&record.url, path.as_str());
        let stand_in = lock(&self.inner.stand_ins).get(&remote).cloned();
        if let Some(server) = stand_in {
            return is_folder(&server.list(&path, Depth::Zero).await?, &url);
        }
        let credentials = lock(&self.inner.credentials).get(&remote).cloned();
        self.check_remote(&url, credentials, record.allow_http)
            .await
            .map(drop)
    }

    /// One remote, as saved.
    pub async fn remote(&self, id: RemoteId) -> Result<RemoteRecord, EngineError> {
        self.inner
            .journal
            .call(move |j| j.remote(id))
            .await?
            .ok_or(EngineError::NoRemote(id))
    }

    /// One pair, as saved.
    pub async fn pair(&self, id: PairId) -> Result<Pair, EngineError> {
        self.inner
            .journal
            .call(move |j| j.pair(id))
            .await?
            .ok_or(EngineError::NoPair(id))
    }

    pub async fn remotes(&self) -> Result<Vec<RemoteRecord>, EngineError> {
        Ok(self.inner.journal.call(|j| j.remotes()).await?)
    }

    pub async fn pairs(&self) -> Result<Vec<Pair>, EngineError> {
        Ok(self.inner.journal.call(|j| j.pairs()).await?)
    }

    /// Renames a remote or points it at a new address or user; the next run connects afresh.
    pub async fn update_remote(
        &self,
        id: RemoteId,
        name: &str,
        url: &str,
        user: Option<&str>,
    ) -> Result<(), EngineError> {
        let (name, url, user) = (name.to_owned(), url.to_owned(), user.map(str::to_owned));
        let found = self
            .inner
            .journal
            .call(move |j| j.update_remote(id, &name, &url, user.as_deref()))
            .await?;
        lock(&self.inner.clients).clear();
        found.then_some(()).ok_or(EngineError::NoRemote(id))
    }

    /// Forgets a remote, its pairs and its password. Refused while one of its pairs syncs.
    pub async fn remove_remote(&self, id: RemoteId) -> Result<(), EngineError> {
        let pairs: Vec<PairId> = self
            .pairs()
            .await?
            .into_iter()
            .filter(|p| p.remote_id == id)
            .map(|p| p.id)
            .collect();
        if pairs.iter().any(|&p| self.is_syncing(p)) {
            return Err(EngineError::Busy("remote"));
        }
        let found = self
            .inner
            .journal
            .call(move |j| j.remove_remote(id))
            .await?;
        lock(&self.inner.credentials).remove(&id);
        lock(&self.inner.clients).clear();
        found.then_some(()).ok_or(EngineError::NoRemote(id))
    }

    /// Forgets a pair and its sync state; its files stay where they are. Refused while it syncs.
    pub async fn remove_pair(&self, id: PairId) -> Result<(), EngineError> {
        if self.is_syncing(id) {
            return Err(EngineError::Busy("pair"));
        }
        let found = self.inner.journal.call(move |j| j.remove_pair(id)).await?;
        found.then_some(()).ok_or(EngineError::NoPair(id))
    }

    /// Whether a job of `pair` has yet to end.
    fn is_syncing(&self, pair: PairId) -> bool {
        lock(&self.inner.jobs)
            .values()
            .any(|j| j.pair == pair && j.ended.borrow().is_none())
    }

    /// Every job change from now on; a receiver that lags is told how many it missed.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<JobChange> {
        self.inner.changes.subscribe()
    }

    /// Starts syncing `pair` in the background and returns the job's id at once.
    pub async fn start(&self, pair: PairId) -> Result<JobId, EngineError> {
        if self.inner.root.is_cancelled() {
            return Err(EngineError::ShuttingDown);
        }
        let exists = self
            .inner
            .journal
            .call(move |j| j.pair(pair))
            .await?
            .is_some();
        if !exists {
            return Err(EngineError::NoPair(pair));
        }
        let id = self.inner.journal.call(move |j| j.create_job(pair)).await?;
        self.spawn(id, pair, JobState::Queued)?;
        Ok(id)
    }

    fn spawn(&self, id: JobId, pair: PairId, state: JobState) -> Result<(), EngineError> {
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
        });
        lock(&self.inner.jobs).insert(id, job.clone());
        let _ = self.inner.changes.send(JobChange {
            job_id: id,
            pair_id: pair,
            state,
        });
        let engine = self.clone();
        let span = tracing::info_span!("job", id, pair);
        self.inner
            .tracker
            .spawn(async move { engine.drive(job).await }.instrument(span));
        Ok(())
    }

    /// The job's life: wait until it may run, run, and decide what a stop means.
    async fn drive(&self, job: Arc<Job>) {
        let mut summary = Summary::default();
        let mut announced: Option<JobState> = None;
        let outcome = loop {
            // Wait while paused or while the app is suspended, showing which.
            loop {
                if job.token.is_cancelled() {
                    break;
                }
                let notified = job.wake.notified();
                let resumed = self.inner.resumed.notified();
                let waiting_as = if lock(&job.control).paused {
                    Some(JobState::Paused)
                } else if self.inner.suspended.load(Ordering::SeqCst) {
                    Some(JobState::Suspended)
                } else {
                    None
                };
                let Some(waiting_as) = waiting_as else { break };
                if announced != Some(waiting_as) {
                    announced = Some(waiting_as);
                    if let Err(error) = self.set_state(&job, waiting_as, None, None).await {
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
            if job.token.is_cancelled() {
                break self.stopped_for_good(&job, summary.clone()).await;
            }
            let run_token = job.token.child_token();
            {
                let mut control = lock(&job.control);
                control.run = Some(run_token.clone());
                control.reason = None;
                // Under way from the moment its token can be cancelled.
                job.running.send_replace(true);
                // A pause or suspend that came after the checks above found no run to cancel.
                let late = if control.paused {
                    Some(StopReason::Paused)
                } else if self.inner.suspended.load(Ordering::SeqCst) {
                    Some(StopReason::Suspended)
                } else {
                    None
                };
                if let Some(reason) = late {
                    control.reason = Some(reason);
                    run_token.cancel();
                }
            }
            let ctx = match self.set_state(&job, JobState::Running, None, None).await {
                Ok(()) => self.context(&job, run_token.clone()).await,
                Err(error) => Err(error.into()),
            };
            let ctx = match ctx {
                Ok(ctx) => ctx,
                Err(error) => {
                    let kind = match &error {
                        EngineError::Remote(e) => FailureKind::of_remote(e),
                        _ => FailureKind::Other,
                    };
                    let outcome = self
                        .failed(&job, summary.clone(), error.to_string(), kind)
                        .await;
                    job.running.send_replace(false);
                    break outcome;
                }
            };
            let mode = ctx.1;
            let result = run(
                Arc::new(ctx.0),
                mode,
                self.inner.options.transfers,
                &mut summary,
            )
            .await;
            // The run counts as under way until its end state is recorded, so that suspend()
            // returns only once the job shows Suspended.
            let ended = match result {
                Ok(()) => {
                    let _ = self
                        .set_state(&job, JobState::Completed, Some(&summary), None)
                        .await;
                    job.hub.emit(JobEvent::Finished {
                        summary: summary.clone(),
                    });
                    Some(Outcome {
                        state: JobState::Completed,
                        summary: summary.clone(),
                        error: None,
                        failure: None,
                    })
                }
                Err(RunError::Stopped) => match self.reason(&job) {
                    StopReason::Cancelled | StopReason::Shutdown => {
                        Some(self.stopped_for_good(&job, summary.clone()).await)
                    }
                    reason @ (StopReason::Suspended | StopReason::Paused) => {
                        match self.set_state(&job, reason.state(), None, None).await {
                            Ok(()) => {
                                announced = Some(reason.state());
                                None
                            }
                            Err(error) => Some(
                                self.failed(
                                    &job,
                                    summary.clone(),
                                    error.to_string(),
                                    FailureKind::Storage,
                                )
                                .await,
                            ),
                        }
                    }
                },
                Err(error) => Some(
                    self.failed(&job, summary.clone(), error.to_string(), error.kind())
                        .await,
                ),
            };
            job.running.send_replace(false);
            if let Some(outcome) = ended {
                break outcome;
            }
        };
        job.running.send_replace(false);
        job.ended.send_replace(Some(outcome));
        self.forget_old_jobs();
    }

    /// Keeps the [`FINISHED_KEPT`] most recent finished jobs in memory (a late subscriber still
    /// gets their last snapshot); older ones live on in the journal's history only, so a
    /// long-lived app does not grow with every sync it ever ran.
    fn forget_old_jobs(&self) {
        let mut jobs = lock(&self.inner.jobs);
        let mut finished: Vec<JobId> = jobs
            .values()
            .filter(|j| j.ended.borrow().is_some())
            .map(|j| j.id)
            .collect();
        if finished.len() <= FINISHED_KEPT {
            return;
        }
        finished.sort_unstable();
        for id in &finished[..finished.len() - FINISHED_KEPT] {
            jobs.remove(id);
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
        let recorded = if state == JobState::Cancelled {
            Some(&summary)
        } else {
            None
        };
        let _ = self.set_state(job, state, recorded, None).await;
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
        let _ = self
            .set_state(job, JobState::Failed, Some(&summary), Some(&message))
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
        job.hub.update(|s| s.state = state);
        job.hub.emit(JobEvent::StateChanged { state });
        // No receiver is fine: nobody is watching the job list.
        let _ = self.inner.changes.send(JobChange {
            job_id: job.id,
            pair_id: job.pair,
            state,
        });
        Ok(())
    }

    /// Everything a run of `job` needs: its pair, a client for the pair's remote folder.
    async fn context(
        &self,
        job: &Job,
        run: CancellationToken,
    ) -> Result<(Context, Mode), EngineError> {
        let pair_id = job.pair;
        let pair = self
            .inner
            .journal
            .call(move |j| j.pair(pair_id))
            .await?
            .ok_or(EngineError::NoPair(pair_id))?;
        let remote_id = pair.remote_id;
        let remote = self
            .inner
            .journal
            .call(move |j| j.remote(remote_id))
            .await?
            .ok_or(EngineError::NoRemote(remote_id))?;
        let base = join_url(&remote.url, &pair.remote_path);
        let stand_in = lock(&self.inner.stand_ins).get(&remote.id).cloned();
        let client = if let Some(stand_in) = stand_in {
            stand_in
        } else {
            let cached = lock(&self.inner.clients).get(&base).cloned();
            match cached {
                Some(client) => client,
                None => {
                    let credentials = lock(&self.inner.credentials).get(&remote.id).cloned();
                    let options = Options {
                        allow_http: remote.allow_http || self.inner.options.webdav.allow_http,
                        ..self.inner.options.webdav.clone()
                    };
                    let client: Arc<dyn Remote> =
                        Arc::new(Client::new(&base, credentials, options)?);
                    lock(&self.inner.clients).insert(base, client.clone());
                    client
                }
            }
        };
        Ok((
            Context {
                pair: pair.id,
                local_root: pair.local_dir.clone(),
                client,
                journal: self.inner.journal.clone(),
                hub: job.hub.clone(),
                run,
                recorder: Recorder::start(self.inner.journal.clone(), pair.id),
                range_size: self.inner.options.range_size,
                retry: self.inner.options.webdav.retry.clone(),
                mass_delete_guard: self.inner.options.mass_delete_guard,
            },
            pair.mode,
        ))
    }

    fn job(&self, id: JobId) -> Result<Arc<Job>, EngineError> {
        lock(&self.inner.jobs)
            .get(&id)
            .cloned()
            .ok_or(EngineError::NoJob(id))
    }

    /// Pauses a job: its run stops at the next safe point and keeps its checkpoint.
    pub fn pause(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.job(id)?;
        {
            let mut control = lock(&job.control);
            control.paused = true;
            if control.reason != Some(StopReason::Cancelled) {
                control.reason = Some(StopReason::Paused);
            }
            if let Some(run) = &control.run {
                run.cancel();
            }
        }
        // A job already waiting (suspended) wakes to show it is paused now.
        job.wake.notify_one();
        Ok(())
    }

    /// Resumes a paused job (it still waits if the app is suspended).
    pub fn resume(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.job(id)?;
        lock(&job.control).paused = false;
        job.wake.notify_one();
        Ok(())
    }

    /// Cancels a job: it ends as Cancelled. Its part files stay for the next sync of the pair.
    pub fn cancel(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.job(id)?;
        lock(&job.control).reason = Some(StopReason::Cancelled);
        job.token.cancel();
        Ok(())
    }

    /// The app went to the background: every run stops and checkpoints (waiting at most
    /// `suspend_wait`), and the connection pools are dropped. Safe to call any number of
    /// times, in any order with [`Engine::resume_all`]. Returns how long it took.
    pub async fn suspend(&self) -> Duration {
        let started = Instant::now();
        self.inner.suspended.store(true, Ordering::SeqCst);
        let jobs: Vec<Arc<Job>> = lock(&self.inner.jobs).values().cloned().collect();
        for job in &jobs {
            let mut control = lock(&job.control);
            if let Some(run) = control.run.clone()
                && !run.is_cancelled()
            {
                control.reason.get_or_insert(StopReason::Suspended);
                run.cancel();
            }
        }
        let waits = jobs.iter().map(|job| {
            let mut running = job.running.subscribe();
            async move {
                let _ = running.wait_for(|r| !r).await;
            }
        });
        let all = futures_util::future::join_all(waits);
        if tokio::time::timeout(self.inner.options.suspend_wait, all)
            .await
            .is_err()
        {
            tracing::warn!("some jobs did not checkpoint within the suspend window");
        }
        lock(&self.inner.clients).clear();
        started.elapsed()
    }

    /// The app is back: jobs that were suspended run again from their checkpoints.
    /// Idempotent; a job the user paused stays paused.
    pub fn resume_all(&self) {
        self.inner.suspended.store(false, Ordering::SeqCst);
        self.inner.resumed.notify_waiters();
        for job in lock(&self.inner.jobs).values() {
            job.wake.notify_one();
        }
    }

    /// Whether the engine is suspended.
    pub fn is_suspended(&self) -> bool {
        self.inner.suspended.load(Ordering::SeqCst)
    }

    /// Subscribes `sink` to a job's progress; see [`Hub::attach`].
    pub fn attach(
        &self,
        id: JobId,
        owner: &str,
        sink: Arc<dyn Sink>,
    ) -> Result<AttachId, EngineError> {
        Ok(self.job(id)?.hub.attach(owner, sink))
    }

    /// The latest snapshot of a job known to this process.
    pub fn snapshot(&self, id: JobId) -> Result<JobSnapshot, EngineError> {
        Ok(self.job(id)?.hub.snapshot())
    }

    /// Every job this process knows, newest last.
    pub fn live_jobs(&self) -> Vec<JobSnapshot> {
        let mut jobs: Vec<_> = lock(&self.inner.jobs)
            .values()
            .map(|j| j.hub.snapshot())
            .collect();
        jobs.sort_by_key(|s| s.job_id);
        jobs
    }

    /// Every job the journal knows, with its end state and summary.
    pub async fn history(&self) -> Result<Vec<JobRecord>, EngineError> {
        Ok(self.inner.journal.call(|j| j.jobs()).await?)
    }

    /// Waits until the job ends and returns how.
    pub async fn wait(&self, id: JobId) -> Result<Outcome, EngineError> {
        let mut ended = self.job(id)?.ended.subscribe();
        let outcome = ended
            .wait_for(Option::is_some)
            .await
            .map_err(|_| EngineError::JobEnded(id))?
            .clone();
        outcome.ok_or(EngineError::JobEnded(id))
    }

    /// Stops the engine: cancels the root token and waits (at most `shutdown_wait`) for every
    /// job to checkpoint. Unfinished jobs are Interrupted in the journal and resume on the
    /// next start.
    pub async fn shutdown(&self) {
        self.inner.root.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(self.inner.options.shutdown_wait, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some jobs did not stop within the shutdown window");
        }
    }
}

/// A Depth-0 listing of a folder names a folder first; of a file, the file.
fn is_folder(listing: &Listing, url: &str) -> Result<(), EngineError> {
    match listing.entries.first() {
        Some(entry) if entry.kind == EntryKind::File => {
            Err(EngineError::NotAFolder(url.to_owned()))
        }
        _ => Ok(()),
    }
}

/// `base` joined with a pair's remote folder, ending with `/`.
fn join_url(base: &str, folder: &str) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    for segment in folder.split('/').filter(|s| !s.is_empty()) {
        url.push('/');
        url.extend(utf8_percent_encode(segment, NON_ALPHANUMERIC));
    }
    url.push('/');
    url
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_urls_encode_their_folder() {
        assert_eq!(join_url("http://h/dav/", ""), "http://h/dav/");
        assert_eq!(
            join_url("http://h/dav", "a b/été"),
            "http://h/dav/a%20b/%C3%A9t%C3%A9/"
        );
    }
}
