//! The Tidesync sync engine. Knows nothing about Tauri: the app shell and the CLI drive it.
//!
//! - [`engine`]: [`Engine`], the registry of jobs, the lifecycle controller (`suspend`,
//!   `resume_all`) and `shutdown`, and the cancellation tree:
//!   root token (engine) → job token (cancel) → run token (pause, suspend; fresh per resume).
//! - [`run`]: one run segment of a job: list, scan, plan, execute.
//! - [`plan`]: the pure decision of what to do, per mode, with the mass-delete guard;
//!   `moves`: renames and moves recognised on either side and repeated on the other.
//! - [`transfer`]: downloads into part files renamed into place, uploads moved into place,
//!   conflict names.
//! - [`progress`]: the per-job hub streaming snapshots and events to subscribers.
//! - [`remote`]: the [`remote::Remote`] trait the engine talks to: the WebDAV client, or
//!   `memory::MemoryRemote` in fast tests (feature `test-support`, injected through
//!   [`EngineOptions::connector`]).
//! - [`journal`]: SQLite state that survives crashes: pairs, agreed state, jobs, checkpoints.
//! - `part`: part files written a slice per blocking call; `quick_disk`: a small file's
//!   last step inline where the run measured the disk quicker than a thread hand-off;
//!   `record`: group commit of completed files to the journal; `open_files`: the process's
//!   limit on open files, raised, and the transfers it leaves room for.
//! - [`scan`]: the local tree, read on the blocking pool; `confine`: no write leaves it
//!   through a symbolic link; `root`: a missing or replaced folder is never taken for
//!   an emptied one.
//! - [`model`]: remotes, pairs, modes, job states, summaries.
//!
//! What the app shell, the CLI and the integration tests use is public; the run's own
//! machinery (`moves`, `part`, `quick_disk`, `record`, `open_files`, `confine`, `root`) is not.

mod confine;
pub mod disk;
pub mod engine;
pub mod filter;
pub mod journal;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
pub mod model;
mod moves;
pub mod names;
mod open_files;
mod part;
pub mod plan;
pub mod progress;
mod quick_disk;
mod record;
pub mod remote;
mod root;
pub mod run;
pub mod scan;
pub mod transfer;
pub mod trash;

pub use engine::{
    AutoStatus, Browsed, ConflictCopy, Connector, DeleteDecision, Engine, EngineError,
    EngineOptions, FilterPreview, JobChange, LocalChange, NotifyWatch, Outcome, PasswordStore,
    PasswordStoreError, ProcessPasswords, RefusedDeletes, ServerCheck, ServerForm, WatchError,
    WatchSource, WebDavConnector,
};
pub use model::{
    FailureKind, FileError, InvalidSetting, JobId, JobState, Mode, NewFolder, Pair, PairId,
    PairSettings, PlainHttp, Remote, RemoteId, StopReason, Summary,
};
pub use progress::{AttachId, FileAction, InFlight, JobEvent, JobSnapshot, Phase, Sink};
pub use tidesync_webdav::Credentials;
pub use transfer::UploadSizes;
