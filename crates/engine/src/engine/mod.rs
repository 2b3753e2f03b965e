//! The engine: the journal, the connected servers, the job registry, the lifecycle controller,
//! and the task tracker every job runs under. Its parts live in modules named for their jobs:
//! [`catalogue`] (remotes and pairs), [`connect`] (clients and passwords), [`jobs`] (the
//! registry), [`driver`] (one job's stages), [`lifecycle`] (pause, suspend, shutdown), [`servers`] (adding a server with its
//! password and the certificate the user trusts, as one operation).
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

pub mod auto;
mod browse;
mod catalogue;
mod conflicts;
pub mod connect;
mod driver;
mod jobs;
mod left_out;
mod lifecycle;
mod login;
mod new_folders;
pub mod pair_lock;
mod refused;
mod removed;
mod servers;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tidesync_webdav::{LoginError, Options};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use auto::local::{LocalChange, NotifyWatch, WatchError, WatchSource};
pub use auto::{AutoStatus, ServerCheck};
pub use browse::Browsed;
pub use conflicts::ConflictCopy;
pub use connect::{Connector, WebDavConnector};
pub use jobs::FINISHED_KEPT;
pub use left_out::FilterPreview;
pub use refused::{DeleteDecision, RefusedDeletes};
pub use servers::{PasswordStore, PasswordStoreError, ProcessPasswords, ServerForm};

use crate::journal::{Journal, JournalError};
use crate::model::{FailureKind, InvalidSetting, JobId, JobState, PairId, RemoteId, Summary};
use driver::Job;

/// How the engine behaves; the defaults suit a phone.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The most files a job transfers at once (a pair's own setting overrides it): the upper
    /// bound of the adaptive limit (see `tidesync_webdav::adaptive`).
    pub transfers: usize,
    /// Files transferred at once when a run starts, before the limit adapts.
    pub transfers_at_start: usize,
    /// How the WebDAV clients connect (timeouts, retries, TLS).
    pub webdav: Options,
    /// The longest `suspend()` waits for jobs to checkpoint.
    pub suspend_wait: Duration,
    /// The longest `shutdown()` waits for jobs to checkpoint.
    pub shutdown_wait: Duration,
    /// Files larger than this are downloaded this many bytes at a time, in bounded ranges
    /// one after the other (see `Client::get_range` for why).
    pub range_size: u64,
    /// Refuse a sync that would delete more files on one side than `delete_limit` allows
    /// (see [`crate::plan::plan`]). Only tests of other rules, and a user's `--allow-deletes`
    /// for one run, turn it off.
    pub mass_delete_guard: bool,
    /// How many files one sync may delete on one side (CLI `--max-delete`).
    pub delete_limit: crate::plan::DeleteLimit,
    /// A folder inside each pair's server folder (CLI `--backup-dir`) where a file the sync
    /// would delete on the server is moved instead, under its path; never synced itself. For
    /// servers without a trash bin of their own.
    pub remote_backup: Option<String>,
    /// Opens the client each run talks to: WebDAV, or an in-memory server in tests.
    pub connector: Arc<dyn Connector>,
    /// Where passwords are kept between runs (see [`PasswordStore`]).
    pub passwords: Arc<dyn PasswordStore>,
    /// Which uploads go by chunks, where the server offers chunked uploads.
    pub uploads: crate::transfer::UploadSizes,
    /// Watches pairs' folders for automatic sync: the platform's watcher, or one a test
    /// drives by hand.
    pub watcher: Arc<dyn WatchSource>,
    /// Compare the contents of every file the server gives no ETag for, on every run (CLI
    /// `--checksum`; see `run::verify`). Without it, such servers are verified every
    /// [`crate::run::VERIFY_EVERY`]th run.
    pub verify_contents: bool,
    /// How local paths resolve: the operating system's way, or an emulated case-insensitive
    /// volume in tests (see [`Disk`](crate::disk::Disk)).
    pub disk: crate::disk::Disk,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            transfers: 128,
            transfers_at_start: 8,
            webdav: Options::default(),
            suspend_wait: Duration::from_secs(2),
            shutdown_wait: Duration::from_secs(5),
            range_size: crate::transfer::RANGE_SIZE,
            mass_delete_guard: true,
            delete_limit: Default::default(),
            remote_backup: None,
            connector: Arc::new(WebDavConnector),
            passwords: Arc::new(ProcessPasswords::default()),
            uploads: Default::default(),
            watcher: Arc::new(NotifyWatch),
            verify_contents: false,
            disk: Default::default(),
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
    #[error(transparent)]
    PairLocked(#[from] pair_lock::PairLockError),
    #[error("{0} is still chosen to sync; only a folder no longer synced can be let go")]
    StillSynced(String),
    #[error("a password was given without a user name")]
    PasswordWithoutUser,
    /// The server's certificate was refused; `certificate` is what it says, for the user to
    /// judge (and trust by its fingerprint, if it is theirs).
    #[error("the server's certificate is not trusted: {reason}")]
    UntrustedCertificate {
        reason: String,
        certificate: Box<tidesync_webdav::CertificateInfo>,
    },
    #[error(transparent)]
    Passwords(#[from] PasswordStoreError),
    #[error("a background task failed: {0}")]
    Worker(String),
    /// A sign-in by Login Flow v2 did not end with credentials.
    #[error(transparent)]
    Login(#[from] tidesync_webdav::LoginError),
    #[error("there is no sign-in {0} under way")]
    NoLogin(u64),
    #[error(transparent)]
    InvalidSetting(#[from] InvalidSetting),
    #[error(transparent)]
    Trash(#[from] crate::trash::TrashError),
}

impl EngineError {
    /// What kind of failure this is (see [`FailureKind`]).
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            EngineError::Remote(e) => FailureKind::of_remote(e),
            EngineError::Journal(_) | EngineError::Passwords(_) => FailureKind::Storage,
            EngineError::UntrustedCertificate { .. } => FailureKind::UntrustedCertificate,
            EngineError::NoRemote(_) | EngineError::NoPair(_) | EngineError::NoJob(_) => {
                FailureKind::NotFound
            }
            EngineError::JobEnded(_) | EngineError::Busy(_) | EngineError::PairLocked(_) => {
                FailureKind::Busy
            }
            EngineError::ShuttingDown => FailureKind::ShuttingDown,
            EngineError::RemotePath(..)
            | EngineError::NotAFolder(_)
            | EngineError::StillSynced(_)
            | EngineError::PasswordWithoutUser
            | EngineError::InvalidSetting(_) => FailureKind::InvalidInput,
            EngineError::Worker(_) => FailureKind::Other,
            EngineError::Trash(crate::trash::TrashError::NoSuchEntry { .. }) => {
                FailureKind::NotFound
            }
            EngineError::Trash(crate::trash::TrashError::Io { .. }) => FailureKind::LocalAccess,
            EngineError::Login(LoginError::Server(e)) => FailureKind::of_remote(e),
            EngineError::Login(LoginError::NotOffered(_)) => FailureKind::InvalidInput,
            EngineError::Login(LoginError::Cancelled) => FailureKind::Cancelled,
            EngineError::Login(LoginError::TimedOut(_)) => FailureKind::Other,
            EngineError::NoLogin(_) => FailureKind::NotFound,
        }
    }
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
    /// The folder of the journal, where pairs' locks are (see [`pair_lock`]).
    data_dir: std::path::PathBuf,
    /// Held while a start checks for a job of its pair and makes one: two starts at once
    /// (the user's and automatic sync's) make one job.
    starting: tokio::sync::Mutex<()>,
    options: EngineOptions,
    /// Cancelled by `shutdown()`: every job token is its child.
    root: CancellationToken,
    /// Every job task, so shutdown can wait for them to checkpoint.
    tracker: TaskTracker,
    jobs: Mutex<HashMap<JobId, Arc<Job>>>,
    /// Passwords and open clients.
    clients: connect::Clients,
    /// True between `suspend()` and `resume()`: no run may start.
    suspended: AtomicBool,
    /// Wakes jobs waiting to run when the app resumes.
    resumed: Notify,
    /// Every job state change, for views of all jobs (the app's job list).
    changes: broadcast::Sender<JobChange>,
    /// Sign-ins by Login Flow v2 under way.
    logins: login::Logins,
    /// Automatic sync, per pair that has it on.
    auto: auto::Supervisors,
    /// The pairs whose automatic-sync status changed, for views of the pair list.
    auto_changes: broadcast::Sender<PairId>,
    /// What the delete guard refused, per pair, until the user decides (see `refused`).
    refused: Mutex<HashMap<PairId, refused::RefusedDeletes>>,
    /// Pairs whose next run goes without the guard, as the user decided.
    unguarded_once: Mutex<std::collections::HashSet<PairId>>,
    /// The most files a run transfers at once whatever its settings: what the process's
    /// limit on open files leaves room for (see `crate::open_files`).
    transfers_cap: usize,
}

impl Engine {
    /// Opens the engine with its journal in `data_dir`. Jobs the journal has as running (the
    /// process died) are restarted by [`Engine::restart_interrupted`], from their checkpoints.
    pub async fn open(data_dir: &Path, options: EngineOptions) -> Result<Engine, EngineError> {
        let path = data_dir.join("journal.sqlite");
        let journal = tokio::task::spawn_blocking(move || Journal::open(&path))
            .await
            .map_err(|e| JournalError::Worker(e.to_string()))??;
        let clients = connect::Clients::new(options.connector.clone(), options.webdav.clone());
        let open_files = crate::open_files::raise();
        let transfers_cap = crate::open_files::transfers_within(open_files);
        tracing::debug!(?open_files, transfers_cap, "the limit on open files");
        Ok(Engine {
            inner: Arc::new(Inner {
                journal,
                data_dir: data_dir.to_owned(),
                starting: tokio::sync::Mutex::new(()),
                options,
                root: CancellationToken::new(),
                tracker: TaskTracker::new(),
                jobs: Mutex::new(HashMap::new()),
                clients,
                suspended: AtomicBool::new(false),
                resumed: Notify::new(),
                changes: broadcast::Sender::new(256),
                logins: login::Logins::default(),
                auto: Default::default(),
                auto_changes: broadcast::Sender::new(64),
                refused: Mutex::new(HashMap::new()),
                unguarded_once: Mutex::new(Default::default()),
                transfers_cap,
            }),
        })
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
