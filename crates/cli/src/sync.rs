//! `tidesync sync`: one sync of a WebDAV folder with a local folder, through the engine.
//!
//! Ctrl-C once stops gracefully: the engine shuts down, every transfer checkpoints, and the
//! next run resumes. Twice exits at once (a partial file is still never visible under its
//! real name). SIGUSR1 suspends and SIGUSR2 resumes, as a phone would.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tidesync_engine::plan::DeleteLimit;
use tidesync_engine::{
    Credentials, Engine, EngineOptions, FailureKind, FileError, JobId, JobState, Mode, Outcome,
    PairId, PairSettings,
};
use tidesync_webdav::presented_certificate;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::bar::Bar;
use crate::connection::{Connection, read_password};
use crate::exit::Exit;
use crate::filtering::Filtering;

#[derive(clap::Args, Clone)]
pub struct Args {
    /// The WebDAV folder to pair with --local.
    #[arg(long)]
    pub(crate) url: String,
    /// The local folder (made by the first sync if missing; once synced, a missing folder
    /// stops the sync with exit 8).
    #[arg(long)]
    pub(crate) local: PathBuf,
    /// download (mirror the server here), upload (back this folder up), or two-way.
    #[arg(long, default_value = "download")]
    pub(crate) mode: Mode,
    #[arg(long)]
    user: Option<String>,
    /// The environment variable holding the password (never pass a password as an argument).
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Where the journal lives (default: the platform data dir, e.g. ~/.local/share/tidesync).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// The most files transferred at once (the number adapts to the server's answer times,
    /// from 8 up to this; default 128, fewer where the limit on open files is low).
    #[arg(long)]
    transfers: Option<usize>,
    /// Print exactly one JSON summary on stdout at the end.
    #[arg(long)]
    pub(crate) json: bool,
    /// Compare the contents of every file the server gives no ETag for (each is fetched):
    /// the only way to see an edit that kept a file's size on a server that gives neither
    /// ETags nor modification times. Without it, such a server is checked every 10th run.
    #[arg(long)]
    checksum: bool,
    /// The most files one sync may delete on one side: a number (`50`) or a share of the
    /// pair's files (`30%`). Default: 50 files or 30 %, whichever is more. A sync that would
    /// delete more stops (exit 5) and deletes nothing.
    #[arg(long, value_name = "N|P%", value_parser = parse_max_delete, conflicts_with = "allow_deletes")]
    max_delete: Option<DeleteLimit>,
    /// Run this once without the delete guard: every delete the sync finds is made (local
    /// files go to the folder's trash, see `tidesync trash`). Never with --watch.
    #[arg(long, conflicts_with = "watch")]
    allow_deletes: bool,
    /// A folder in the server folder (e.g. `.deleted`) where files the sync would delete on
    /// the server are moved instead, under their paths (a newer one replaces an older one);
    /// never synced itself. For servers without a trash bin of their own (Nextcloud and
    /// ownCloud have one).
    #[arg(long, value_name = "PATH")]
    backup_dir: Option<String>,
    /// A file whose first line is the password, as `tidesync login` writes it.
    #[arg(long, value_name = "FILE", conflicts_with = "password_env")]
    password_file: Option<PathBuf>,
    /// Keep running: sync on every local change and whenever a check finds the server
    /// changed, until Ctrl-C. With --json, one line per sync.
    #[arg(long)]
    pub(crate) watch: bool,
    /// With --watch: seconds between checks of the server (backing off while nothing
    /// changes).
    #[arg(long, value_name = "SECS", default_value_t = 300, requires = "watch")]
    pub(crate) interval: u64,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    filtering: Filtering,
    /// The embedded demo remote, named this: found by its demo mark instead of its URL (it
    /// moves ports).
    #[arg(skip)]
    demo_name: Option<String>,
}

impl Args {
    /// A download of `url` into `local` with the journal in `state`, as `tidesync demo` runs.
    pub fn download(name: &str, url: String, local: PathBuf, state: Option<PathBuf>) -> Args {
        Args {
            demo_name: Some(name.to_owned()),
            url,
            local,
            mode: Mode::Download,
            user: None,
            password_env: None,
            state,
            transfers: None,
            json: false,
            checksum: false,
            max_delete: None,
            allow_deletes: false,
            backup_dir: None,
            password_file: None,
            watch: false,
            interval: 300,
            connection: Connection::default(),
            filtering: Filtering::default(),
        }
    }
}

/// `--max-delete`: `N` files, or `P%` of the pair's files.
fn parse_max_delete(text: &str) -> Result<DeleteLimit, String> {
    let invalid = || format!("'{text}' is neither a number of files nor a percentage like 30%");
    match text.trim().strip_suffix('%') {
        Some(percent) => {
            let percent: u32 = percent.trim().parse().map_err(|_| invalid())?;
            if percent > 100 {
                return Err(invalid());
            }
            Ok(DeleteLimit { files: 0, percent })
        }
        None => Ok(DeleteLimit {
            files: text.trim().parse().map_err(|_| invalid())?,
            percent: 0,
        }),
    }
}

/// The JSON summary; its field names are a public interface.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report<'a> {
    mode: Mode,
    files_downloaded: u64,
    files_uploaded: u64,
    bytes_downloaded: u64,
    bytes_uploaded: u64,
    conflicts: u64,
    deleted_local: u64,
    deleted_remote: u64,
    /// Renamed or moved on one side and moved the same way on the other.
    moved: u64,
    /// Downloads checked against the server's published checksum.
    files_verified: u64,
    /// Files compared with the server's copy because it gives no ETag (`--checksum`).
    files_compared: u64,
    /// The server gave neither ETags nor modification times: an edit there that keeps a
    /// file's size is only seen by comparing contents.
    without_validators: bool,
    errors: &'a [FileError],
    /// Items left out by the pair's patterns or largest size (`--exclude`, the defaults,
    /// `--max-size`), each path once.
    ignored: u64,
    /// Local items left alone on purpose (symbolic links, special files), with why.
    skipped: &'a [FileError],
    /// Server items the folder holds under another name (case twins on a case-insensitive
    /// volume), with the name.
    renamed_locally: &'a [FileError],
    /// What the sync deleted on the server is in the server's trash bin (Nextcloud, ownCloud).
    deleted_remote_to_trash: bool,
    /// The remote folder did not exist and this sync created it.
    created_remote_root: bool,
    /// The folder kept changing while it synced: what is left goes with the next sync.
    unsettled: bool,
    /// Why the sync failed, when it did: `auth`, `untrustedCertificate`, `forbidden`,
    /// `network`, `massDelete`, `storage`, `localAccess`, `folderGone`, `notFound` or `other`.
    failure: Option<FailureKind>,
    /// The failure's message.
    error: Option<&'a str>,
    duration_ms: u128,
}

impl<'a> Report<'a> {
    pub(crate) fn of(mode: Mode, outcome: &'a Outcome, took: Duration) -> Report<'a> {
        Report {
            mode,
            files_downloaded: outcome.summary.files_downloaded,
            files_uploaded: outcome.summary.files_uploaded,
            bytes_downloaded: outcome.summary.bytes_downloaded,
            bytes_uploaded: outcome.summary.bytes_uploaded,
            conflicts: outcome.summary.conflicts,
            deleted_local: outcome.summary.deleted_local,
            deleted_remote: outcome.summary.deleted_remote,
            moved: outcome.summary.moved,
            files_verified: outcome.summary.files_verified,
            files_compared: outcome.summary.files_compared,
            ignored: outcome.summary.ignored,
            without_validators: outcome.summary.without_validators,
            errors: &outcome.summary.errors,
            skipped: &outcome.summary.skipped,
            renamed_locally: &outcome.summary.renamed_locally,
            deleted_remote_to_trash: outcome.summary.deleted_remote_to_trash,
            created_remote_root: outcome.summary.created_remote_root,
            unsettled: outcome.summary.unsettled,
            failure: outcome.failure,
            error: outcome.error.as_deref(),
            duration_ms: took.as_millis(),
        }
    }

    /// One line of JSON on stdout.
    pub(crate) fn print(&self) {
        println!("{}", serde_json::to_string(self).unwrap_or_default());
    }
}

pub(crate) type Failure = (Exit, String);

pub async fn run(args: Args) -> Result<Exit, Failure> {
    if args.watch {
        return crate::watch::watch(args).await;
    }
    sync(args).await.map(|(exit, _)| exit)
}

/// An engine on the journal, with the pair of `--url` and `--local`.
pub(crate) struct Opened {
    pub(crate) engine: Engine,
    pub(crate) pair: PairId,
}

/// Checks the arguments, opens the engine and finds (or adds) the remote and the pair.
pub(crate) async fn open(args: &Args) -> Result<Opened, Failure> {
    let usage = |message: String| (Exit::Usage, message);
    let password = match (&args.password_env, &args.password_file) {
        (Some(var), _) => Some(
            std::env::var(var)
                .map_err(|_| usage(format!("the environment variable {var} is not set")))?,
        ),
        (None, Some(file)) => Some(read_password(file).map_err(usage)?),
        (None, None) => None,
    };
    if password.is_some() && args.user.is_none() {
        return Err(usage("a password needs --user".into()));
    }
    let webdav = args.connection.webdav_options().map_err(usage)?;
    // Refuse a bad or insecure URL before touching any state.
    tidesync_webdav::Client::new(&args.url, None, webdav.clone())
        .map_err(|e| usage(e.to_string()))?;
    let excludes = args.filtering.excludes().map_err(usage)?;
    if args.transfers == Some(0) {
        return Err(usage("--transfers must be at least 1".into()));
    }
    let local =
        resolve_local(&args.local).map_err(|e| usage(format!("{}: {e}", args.local.display())))?;
    let state = args
        .state
        .clone()
        .or_else(crate::default_state_dir)
        .ok_or_else(|| usage("no data directory is known here; pass --state".into()))?;

    let engine = Engine::open(
        &state,
        EngineOptions {
            transfers: args.transfers.unwrap_or(EngineOptions::default().transfers),
            webdav,
            verify_contents: args.checksum,
            mass_delete_guard: !args.allow_deletes,
            delete_limit: args.max_delete.unwrap_or_default(),
            remote_backup: args.backup_dir.clone(),
            ..EngineOptions::default()
        },
    )
    .await
    .map_err(|e| usage(format!("the journal in {}: {e}", state.display())))?;
    let setup = |e: tidesync_engine::EngineError| usage(e.to_string());
    let remote = match &args.demo_name {
        Some(name) => {
            engine
                .ensure_demo_remote(name, &args.url, args.connection.plain_http())
                .await
        }
        None => {
            engine
                .ensure_remote(
                    &args.url,
                    args.user.as_deref(),
                    args.connection.plain_http(),
                )
                .await
        }
    }
    .map_err(setup)?;
    if let (Some(user), Some(password)) = (&args.user, password) {
        engine.set_credentials(remote, Credentials::new(user.clone(), password));
    }
    let pair = engine
        .ensure_pair(remote, "", &local, args.mode)
        .await
        .map_err(setup)?;
    let saved = engine.pair(pair).await.map_err(setup)?;
    if saved.settings.excludes != excludes {
        let settings = PairSettings {
            excludes,
            ..saved.settings
        };
        engine
            .update_pair(pair, saved.mode, settings)
            .await
            .map_err(setup)?;
    }
    Ok(Opened { engine, pair })
}

/// Runs the sync and returns the exit with the job's outcome.
pub async fn sync(args: Args) -> Result<(Exit, Outcome), Failure> {
    let started = Instant::now();
    let usage = |message: String| (Exit::Usage, message);
    let setup = |e: tidesync_engine::EngineError| usage(e.to_string());
    let Opened { engine, pair } = open(&args).await?;
    // Handlers go in before the job starts: an early SIGUSR1 must suspend, not kill.
    let signals = Signals::install().map_err(|e| usage(format!("cannot handle signals: {e}")))?;
    let job = engine.start(pair).await.map_err(setup)?;
    if std::io::stderr().is_terminal() && !args.json {
        engine
            .attach(job, "cli", Arc::new(Bar::new()))
            .map_err(setup)?;
    }

    let outcome = signals.wait(&engine, job).await.map_err(setup)?;
    if outcome.failure == Some(FailureKind::UntrustedCertificate) {
        show_certificate(&args.url).await;
    }
    tell_files(&outcome);
    if let Some(refused) = engine.refused_deletes(pair) {
        tell_refused(&refused);
    }
    if args.json {
        Report::of(args.mode, &outcome, started.elapsed()).print();
    }
    verdict(&outcome).map(|exit| (exit, outcome))
}

/// What the delete guard kept, by folder (most files first), on stderr.
fn tell_refused(refused: &tidesync_engine::RefusedDeletes) {
    let mut folders: std::collections::BTreeMap<&str, (usize, u64)> = Default::default();
    for (path, size) in &refused.files {
        let folder = path.rsplit_once('/').map_or("", |(f, _)| f);
        let entry = folders.entry(folder).or_default();
        entry.0 += 1;
        entry.1 += size;
    }
    let mut folders: Vec<_> = folders.into_iter().collect();
    folders.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    for (folder, (files, bytes)) in folders {
        let folder = if folder.is_empty() {
            "(top folder)"
        } else {
            folder
        };
        eprintln!("tidesync: not deleted: {files} file(s) in {folder}, {bytes} bytes");
    }
}

/// The local folder's canonical path, without making it: a folder that is missing (a card
/// taken out) must reach the engine as missing, which tells it from a folder never synced.
/// The nearest folder above it that exists is resolved, and the rest appended, so the path is
/// the one the pair was recorded with whether the folder is there or not.
fn resolve_local(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let mut missing = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        match existing.canonicalize() {
            Ok(resolved) => {
                return Ok(missing.iter().rev().fold(resolved, |p, name| p.join(name)));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.push(name.to_owned());
                        existing = parent;
                    }
                    _ => return Err(error),
                }
            }
            Err(error) => return Err(error),
        }
    }
}

/// One line on stderr per item left alone and per file that failed, and a word about a
/// server without validators.
pub(crate) fn tell_files(outcome: &Outcome) {
    if outcome.summary.without_validators {
        eprintln!(
            "tidesync: this server gives neither ETags nor modification times, so an edit on it \
             that keeps a file's size is only seen by comparing contents (every {}th sync, or \
             every sync with --checksum); {} file(s) compared this time",
            tidesync_engine::run::VERIFY_EVERY,
            outcome.summary.files_compared
        );
    }
    for item in &outcome.summary.skipped {
        eprintln!("tidesync: skipped {}: {}", item.path, item.message);
    }
    if outcome.summary.unsettled {
        eprintln!(
            "tidesync: the folder kept changing while it synced; what is left goes with the \
             next sync"
        );
    }
    if outcome.summary.ignored > 0 {
        eprintln!(
            "tidesync: {} item(s) left out by the patterns or the largest size",
            outcome.summary.ignored
        );
    }
    if outcome.summary.deleted_remote_to_trash {
        eprintln!(
            "tidesync: the {} file(s) deleted on the server are in its trash bin (Deleted files), \
             where they can be restored",
            outcome.summary.deleted_remote
        );
    }
    for item in &outcome.summary.renamed_locally {
        eprintln!("tidesync: {}: {}", item.path, item.message);
    }
    for error in &outcome.summary.errors {
        eprintln!("tidesync: {}: {}", error.path, error.message);
    }
}

/// The signals the CLI turns into engine calls.
pub(crate) struct Signals {
    pub(crate) interrupt: Signal,
    suspend: Signal,
    resume: Signal,
}

impl Signals {
    pub(crate) fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            suspend: signal(SignalKind::user_defined1())?,
            resume: signal(SignalKind::user_defined2())?,
        })
    }

    /// Waits for the job: Ctrl-C shuts the engine down gracefully (twice: exit at once),
    /// SIGUSR1 suspends, SIGUSR2 resumes.
    async fn wait(
        mut self,
        engine: &Engine,
        job: JobId,
    ) -> Result<Outcome, tidesync_engine::EngineError> {
        let waiting = engine.wait(job);
        tokio::pin!(waiting);
        let mut interrupted = false;
        loop {
            tokio::select! {
                outcome = &mut waiting => return outcome,
                _ = self.interrupt.recv() => {
                    if interrupted {
                        eprintln!("tidesync: stopped at once; run the same command again to resume");
                        std::process::exit(i32::from(Exit::Interrupted.code()));
                    }
                    interrupted = true;
                    let engine = engine.clone();
                    tokio::spawn(async move { engine.shutdown().await });
                }
                _ = self.suspend.recv() => {
                    let took = engine.suspend().await;
                    tracing::info!(?took, "suspended");
                }
                _ = self.resume.recv() => engine.resume_all(),
            }
        }
    }
}

/// The extra trust `--ca-cert` and `--pin-sha256` ask for.
/// Prints what the refused certificate says, for the user to judge (never to trust it).
async fn show_certificate(url: &str) {
    let Ok(url) = url::Url::parse(url) else {
        return;
    };
    match presented_certificate(&url, Duration::from_secs(15)).await {
        Ok(shown) => {
            let until = httpdate::fmt_http_date(shown.not_after);
            eprintln!(
                "tidesync: the server showed this certificate:\n  SHA-256: {}\n  subject: {}\n  issuer:  {}{}\n  valid until: {until}",
                shown.sha256,
                shown.subject,
                shown.issuer,
                if shown.is_self_signed() {
                    " (self-signed)"
                } else {
                    ""
                }
            );
        }
        Err(error) => eprintln!("tidesync: the server's certificate could not be read: {error}"),
    }
}

pub(crate) fn verdict(outcome: &Outcome) -> Result<Exit, Failure> {
    match outcome.state {
        JobState::Completed if outcome.summary.errors.is_empty() => Ok(Exit::Done),
        JobState::Completed => Err((
            Exit::FileErrors,
            format!(
                "{} file(s) could not be synced",
                outcome.summary.errors.len()
            ),
        )),
        JobState::Interrupted | JobState::Cancelled => {
            Err((Exit::Interrupted, "interrupted".into()))
        }
        _ => {
            let message = outcome
                .error
                .clone()
                .unwrap_or_else(|| "the sync failed".into());
            let exit = match outcome.failure {
                Some(FailureKind::Auth) => Exit::Auth,
                Some(FailureKind::UntrustedCertificate) => Exit::Certificate,
                Some(FailureKind::Network) => Exit::Network,
                Some(FailureKind::Forbidden) => Exit::Forbidden,
                Some(FailureKind::MassDelete) => Exit::MassDelete,
                Some(FailureKind::FolderGone) => Exit::FolderGone,
                Some(FailureKind::Busy) => Exit::Busy,
                _ => Exit::FileErrors,
            };
            Err((exit, message))
        }
    }
}
