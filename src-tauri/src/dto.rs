//! The types the webview receives. Each derives `ts_rs::TS`; `cargo test` writes their
//! TypeScript mirror into `gen/ipc/`, and CI fails when that mirror is out of date.
//!
//! Where the engine's own type already says what the UI needs (a job's snapshot and state,
//! a run's summary), it is sent as it is: it derives `TS` under the engine's `ts` feature,
//! named `…Dto` in TypeScript, and is aliased here, so a field is added in one place. The
//! types defined here shape what the engine's do not: times as seconds, settings as the UI
//! edits them, errors as `IpcError`.

use std::num::NonZeroU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tidesync_engine::filter::{Excludes, Ignored};
use tidesync_engine::journal::JobRecord;
use tidesync_engine::{
    AutoStatus, ConflictCopy, FileAction, JobChange, JobEvent, JobId, JobSnapshot, JobState, Mode,
    Pair, PairId, PairSettings, Phase, RemoteId, ServerCheck, Summary,
};
use ts_rs::TS;

use crate::error::{Error, ErrorKind, IpcError};

/// What the app tells the UI about itself.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppInfo {
    /// The app's semantic version, from the workspace `Cargo.toml`.
    pub version: String,
    /// The operating system: `linux`, `macos`, `windows`, `android` or `ios`.
    pub platform: String,
    /// The CPU architecture, e.g. `x86_64` or `aarch64`.
    pub arch: String,
    /// The app's private data directory, where the journal lives.
    pub data_dir: String,
}

/// Whether Tidesync starts when the person logs in, and whether to ask them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct StartAtLoginDto {
    /// This build can start at login (desktops; not phones, not tests).
    pub available: bool,
    /// The login entry is there: Tidesync starts, in the tray, with the session.
    pub enabled: bool,
    /// Nobody was asked yet: the UI offers it once, after the first pair is added.
    pub offer: bool,
}

/// A connected WebDAV server. Its password never leaves Rust.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RemoteDto {
    pub id: RemoteId,
    pub name: String,
    /// The base URL, without credentials.
    pub url: String,
    pub user: Option<String>,
    /// The server product the connection test recognised ("Nextcloud", "Apache", ...).
    pub server_kind: Option<String>,
    /// The one certificate trusted for this server (SHA-256, `AB:CD:…`), when the user chose
    /// to trust one nobody vouches for.
    pub pinned_sha256: Option<String>,
}

/// A server certificate, as the user checks it before trusting it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CertificateDto {
    /// SHA-256 of the certificate, `AB:CD:…`: what the user compares, and trusts.
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    /// Valid from and until, in seconds since 1970 (UTC).
    pub not_before: i64,
    pub not_after: i64,
    pub self_signed: bool,
}

impl From<&tidesync_webdav::CertificateInfo> for CertificateDto {
    fn from(c: &tidesync_webdav::CertificateInfo) -> Self {
        let secs = |t: std::time::SystemTime| match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => after.as_secs() as i64,
            Err(before) => -(before.duration().as_secs() as i64),
        };
        CertificateDto {
            sha256: c.sha256.clone(),
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            not_before: secs(c.not_before),
            not_after: secs(c.not_after),
            self_signed: c.is_self_signed(),
        }
    }
}

impl From<tidesync_engine::Remote> for RemoteDto {
    fn from(r: tidesync_engine::Remote) -> Self {
        RemoteDto {
            id: r.id,
            name: r.name,
            url: r.url,
            user: r.user,
            server_kind: r.server_kind,
            pinned_sha256: r.pin_sha256,
        }
    }
}

/// What a sync of a pair does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ModeDto {
    /// Bring the server's changes down; local-only files stay.
    Download,
    /// Back the local folder up; server-only files stay.
    Upload,
    /// Both ways; conflicting edits keep both versions.
    TwoWay,
}

impl From<Mode> for ModeDto {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Download => ModeDto::Download,
            Mode::Upload => ModeDto::Upload,
            Mode::TwoWay => ModeDto::TwoWay,
        }
    }
}

impl From<ModeDto> for Mode {
    fn from(mode: ModeDto) -> Self {
        match mode {
            ModeDto::Download => Mode::Download,
            ModeDto::Upload => Mode::Upload,
            ModeDto::TwoWay => Mode::TwoWay,
        }
    }
}

/// A remote folder paired with a local one.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PairDto {
    pub id: PairId,
    pub remote_id: RemoteId,
    /// The folder on the server, relative to the remote's URL; `""` is the URL itself.
    pub remote_path: String,
    /// Where the files land, for display only: commands never take paths from the webview.
    pub local_dir: String,
    pub mode: ModeDto,
    pub settings: PairSettingsDto,
    /// What automatic sync is doing; `null` while it is off.
    pub auto: Option<AutoStatusDto>,
    /// When a sync of the pair last completed (seconds since the Unix epoch).
    #[ts(type = "number | null")]
    pub last_synced_at: Option<u64>,
}

impl PairDto {
    /// The pair with what automatic sync is doing and when it last synced.
    pub fn new(pair: Pair, auto: Option<AutoStatus>, last_synced_at: Option<SystemTime>) -> Self {
        PairDto {
            id: pair.id,
            remote_id: pair.remote_id,
            remote_path: pair.remote_path,
            local_dir: pair.local_dir.display().to_string(),
            mode: pair.mode.into(),
            settings: pair.settings.into(),
            auto: auto.map(Into::into),
            last_synced_at: last_synced_at.map(unix_secs),
        }
    }
}

impl From<Pair> for PairDto {
    fn from(pair: Pair) -> Self {
        PairDto::new(pair, None, None)
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A pair's settings, as the settings sheet shows them and sends them back. Numbers are
/// signed so that a negative one gets a message that says what to choose, not a parse error.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PairSettingsDto {
    pub auto_sync: bool,
    /// Seconds between checks of the server while automatic sync is on.
    #[ts(type = "number")]
    pub check_every_secs: i64,
    /// Files transferred at once; `null` for the app's default.
    #[ts(type = "number | null")]
    pub transfers: Option<i64>,
    /// Upload bytes a second; 0 for no limit.
    #[ts(type = "number")]
    pub upload_limit: i64,
    /// Download bytes a second; 0 for no limit.
    #[ts(type = "number")]
    pub download_limit: i64,
    /// Days the trash keeps what syncs removed; `null` for the default (30).
    #[ts(type = "number | null")]
    pub trash_days: Option<i64>,
    /// The most bytes the trash keeps; `null` for the default (a tenth of the volume, at
    /// most 5 GiB).
    #[ts(type = "number | null")]
    pub trash_bytes: Option<i64>,
    /// A folder of the pair's server folder where what syncs delete on the server is moved
    /// instead; `null` (or blank) deletes.
    pub server_backup: Option<String>,
    /// What the pair leaves out of its sync.
    pub excludes: ExcludesDto,
}

/// What a pair leaves out: gitignore-style patterns and a largest file size.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExcludesDto {
    /// The pair's own patterns, one per line.
    pub patterns: Vec<String>,
    /// Default patterns switched off, by their text (`default_excludes` lists them).
    pub defaults_off: Vec<String>,
    /// Files larger than this many bytes are left out; `null` for no limit.
    #[ts(type = "number | null")]
    pub max_size: Option<i64>,
    /// A folder deleted on one side takes what is left out in it along (into the trash).
    pub remove_with_folder: bool,
    /// Folders of the pair not chosen to sync (selective sync), by their path in the pair.
    pub unsynced: Vec<String>,
    /// New server folders larger than this many bytes wait for the user's yes; `null` for
    /// the default (500 MB), 0 never to ask.
    #[ts(type = "number | null")]
    pub ask_above: Option<i64>,
}

impl From<Excludes> for ExcludesDto {
    fn from(e: Excludes) -> Self {
        ExcludesDto {
            patterns: e.patterns,
            defaults_off: e.defaults_off,
            max_size: e.max_size.map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
            remove_with_folder: e.remove_with_folder,
            unsynced: e.unsynced,
            ask_above: e.ask_above.map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
        }
    }
}

impl TryFrom<ExcludesDto> for Excludes {
    type Error = Error;

    /// Blank lines go; the patterns themselves are the engine's to check.
    fn try_from(e: ExcludesDto) -> Result<Self, Error> {
        let ask_above = match e.ask_above {
            None => None,
            Some(bytes) => Some(u64::try_from(bytes).map_err(|_| {
                Error::InvalidInput(format!(
                    "the size above which new folders wait cannot be negative ({bytes})"
                ))
            })?),
        };
        let max_size = match e.max_size {
            None => None,
            Some(bytes) => Some(u64::try_from(bytes).map_err(|_| {
                Error::InvalidInput(format!(
                    "the largest file size cannot be negative ({bytes})"
                ))
            })?),
        };
        Ok(Excludes {
            patterns: e
                .patterns
                .into_iter()
                .filter(|line| !line.trim().is_empty())
                .collect(),
            defaults_off: e.defaults_off,
            max_size,
            remove_with_folder: e.remove_with_folder,
            unsynced: e
                .unsynced
                .into_iter()
                .map(|folder| folder.trim().trim_matches('/').to_owned())
                .filter(|folder| !folder.is_empty())
                .collect(),
            ask_above,
        })
    }
}

/// A file a pair could not sync, and when automatic sync tries it again.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FailureDto {
    pub path: String,
    pub message: String,
    /// Failures in a row.
    pub attempts: u32,
    /// When it is tried again (seconds since the Unix epoch); `null` when it waits for the
    /// file to change.
    #[ts(type = "number | null")]
    pub retry_at: Option<i64>,
}

impl From<tidesync_engine::journal::failures::Failure> for FailureDto {
    fn from(f: tidesync_engine::journal::failures::Failure) -> Self {
        FailureDto {
            path: f.path,
            message: f.message,
            attempts: f.attempts,
            retry_at: f.retry_at,
        }
    }
}

/// One item of a server folder, as a person browsing it sees it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BrowsedDto {
    pub name: String,
    /// Its path from the server's address, as a pair's `remotePath` takes it.
    pub path: String,
    pub is_dir: bool,
    /// A file's size; a folder's where the server reports it (Nextcloud, ownCloud).
    #[ts(type = "number | null")]
    pub size: Option<u64>,
}

impl From<tidesync_engine::Browsed> for BrowsedDto {
    fn from(b: tidesync_engine::Browsed) -> Self {
        BrowsedDto {
            name: b.name,
            path: b.path,
            is_dir: b.is_dir,
            size: b.size,
        }
    }
}

/// A pattern every pair leaves out unless switched off.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DefaultPatternDto {
    pub pattern: String,
    /// What it leaves out, in words.
    pub what: String,
}

/// An item the pair's last sync left out, and why.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IgnoredDto {
    pub path: String,
    pub is_dir: bool,
    /// A file's size; 0 for a folder.
    #[ts(type = "number")]
    pub size: u64,
    /// Where it was found: `here`, `server` or `both`.
    pub side: String,
    /// Why, in words: `matches *.log`, `larger than 1000 bytes`.
    pub why: String,
}

impl From<Ignored> for IgnoredDto {
    fn from(item: Ignored) -> Self {
        IgnoredDto {
            why: item.reason.to_string(),
            side: item.side.as_str().to_owned(),
            path: item.path,
            is_dir: item.is_dir,
            size: item.size,
        }
    }
}

/// How much a set of patterns would leave out of what a pair holds.
#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FilterPreviewDto {
    #[ts(type = "number")]
    pub files: u64,
    #[ts(type = "number")]
    pub folders: u64,
    #[ts(type = "number")]
    pub bytes: u64,
}

impl From<tidesync_engine::FilterPreview> for FilterPreviewDto {
    fn from(p: tidesync_engine::FilterPreview) -> Self {
        FilterPreviewDto {
            files: p.files,
            folders: p.folders,
            bytes: p.bytes,
        }
    }
}

impl From<PairSettings> for PairSettingsDto {
    fn from(s: PairSettings) -> Self {
        let limit =
            |l: Option<NonZeroU64>| l.map_or(0, |b| i64::try_from(b.get()).unwrap_or(i64::MAX));
        PairSettingsDto {
            auto_sync: s.auto_sync,
            check_every_secs: s.check_every.as_secs() as i64,
            transfers: s.transfers.map(i64::from),
            upload_limit: limit(s.upload_limit),
            download_limit: limit(s.download_limit),
            trash_days: s.trash_days.map(i64::from),
            trash_bytes: s.trash_bytes.map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
            server_backup: s.server_backup,
            excludes: s.excludes.into(),
        }
    }
}

impl TryFrom<PairSettingsDto> for PairSettings {
    type Error = Error;

    /// Signs and units here; the ranges are the engine's to check.
    fn try_from(s: PairSettingsDto) -> Result<Self, Error> {
        let invalid = |what: &str, value: i64| {
            Error::InvalidInput(format!("{what} cannot be negative ({value})"))
        };
        let limit = |what: &str, value: i64| match u64::try_from(value) {
            Ok(bytes) => Ok(NonZeroU64::new(bytes)),
            Err(_) => Err(invalid(what, value)),
        };
        let check_every = u64::try_from(s.check_every_secs)
            .map_err(|_| invalid("the time between checks", s.check_every_secs))?;
        let transfers = match s.transfers {
            None => None,
            Some(n) => Some(u16::try_from(n).map_err(|_| {
                Error::InvalidInput(format!(
                    "a pair transfers 1 to {} files at once; {n} is out of range",
                    PairSettings::MAX_TRANSFERS
                ))
            })?),
        };
        let trash_days = match s.trash_days {
            None => None,
            Some(days) => Some(u32::try_from(days).map_err(|_| {
                Error::InvalidInput(format!(
                    "the trash keeps files 1 to {} days; {days} is out of range",
                    PairSettings::MAX_TRASH_DAYS
                ))
            })?),
        };
        let trash_bytes = match s.trash_bytes {
            None => None,
            Some(bytes) => {
                Some(u64::try_from(bytes).map_err(|_| invalid("the trash's size", bytes))?)
            }
        };
        Ok(PairSettings {
            auto_sync: s.auto_sync,
            check_every: Duration::from_secs(check_every),
            transfers,
            upload_limit: limit("the upload limit", s.upload_limit)?,
            download_limit: limit("the download limit", s.download_limit)?,
            trash_days,
            trash_bytes,
            server_backup: s
                .server_backup
                .map(|folder| folder.trim().trim_matches('/').to_owned())
                .filter(|folder| !folder.is_empty()),
            excludes: s.excludes.try_into()?,
        })
    }
}

/// What automatic sync of a pair is doing.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AutoStatusDto {
    /// The folder is watched for changes.
    pub watching: bool,
    /// When the server is checked next (seconds since the Unix epoch); `null` while a sync
    /// runs or the app is in the background.
    #[ts(type = "number | null")]
    pub next_check_at: Option<u64>,
    /// `rootOnly`: one small request per check (the server showed its folder versions follow
    /// every change); `listing`: the whole listing.
    pub server_check: ServerCheckDto,
    /// Why the last check of the server failed, if it did.
    pub error: Option<String>,
}

/// How the server is checked for changes: the engine's own type.
pub type ServerCheckDto = ServerCheck;

impl From<AutoStatus> for AutoStatusDto {
    fn from(a: AutoStatus) -> Self {
        AutoStatusDto {
            watching: a.watching,
            next_check_at: a.next_check.map(unix_secs),
            server_check: a.server_check,
            error: a.error,
        }
    }
}

/// A conflict copy in a pair's folder.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConflictDto {
    pub pair_id: PairId,
    /// The copy's path in the pair: this device's version of `original`.
    pub path: String,
    /// The file it is a conflict of; the server's version kept this name.
    pub original: String,
    /// When the conflict was found (seconds since the Unix epoch).
    #[ts(type = "number")]
    pub found_at: u64,
}

impl ConflictDto {
    pub fn new(pair_id: PairId, copy: ConflictCopy) -> Self {
        ConflictDto {
            pair_id,
            path: copy.path,
            original: copy.original,
            found_at: unix_secs(copy.found_at),
        }
    }
}

/// A file a sync removed from a pair's folder, kept in its trash.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TrashedDto {
    pub pair_id: PairId,
    /// The entry, as `restore_trashed` takes it.
    pub id: String,
    /// Where the file was in the pair.
    pub path: String,
    #[ts(type = "number")]
    pub size: u64,
    /// When the sync removed it (seconds since the Unix epoch).
    #[ts(type = "number")]
    pub removed_at: u64,
    pub why: RemovalDto,
}

/// Why a sync removed a file from this device: the engine's own type.
pub type RemovalDto = tidesync_engine::trash::Removal;

impl TrashedDto {
    pub fn new(pair_id: PairId, entry: tidesync_engine::trash::Trashed) -> Self {
        TrashedDto {
            pair_id,
            id: entry.id,
            path: entry.path,
            size: entry.size,
            removed_at: entry.removed_at,
            why: entry.why,
        }
    }
}

/// What the delete guard refused in a pair's last sync, for the user to decide on.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RefusedDeletesDto {
    pub pair_id: PairId,
    /// Where the files would have been deleted: `phone` (the server lost them) or `server`.
    pub side: DeleteSideDto,
    /// How many files, and their bytes.
    pub files: u32,
    #[ts(type = "number")]
    pub bytes: u64,
    /// The folders they are in, most files first.
    pub folders: Vec<RefusedFolderDto>,
}

/// One folder's share of refused deletes.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RefusedFolderDto {
    /// The folder's path in the pair (empty: its top).
    pub folder: String,
    pub files: u32,
    #[ts(type = "number")]
    pub bytes: u64,
}

/// A side of a pair.
#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum DeleteSideDto {
    Phone,
    Server,
}

impl RefusedDeletesDto {
    pub fn new(pair_id: PairId, refused: tidesync_engine::RefusedDeletes) -> Self {
        let mut folders: std::collections::BTreeMap<String, (u32, u64)> = Default::default();
        for (path, size) in &refused.files {
            let folder = path.rsplit_once('/').map_or("", |(f, _)| f).to_owned();
            let entry = folders.entry(folder).or_default();
            entry.0 += 1;
            entry.1 += size;
        }
        let mut folders: Vec<RefusedFolderDto> = folders
            .into_iter()
            .map(|(folder, (files, bytes))| RefusedFolderDto {
                folder,
                files,
                bytes,
            })
            .collect();
        folders.sort_by(|a, b| b.files.cmp(&a.files).then(a.folder.cmp(&b.folder)));
        RefusedDeletesDto {
            pair_id,
            side: match refused.side {
                tidesync_engine::plan::DeleteSide::Phone => DeleteSideDto::Phone,
                tidesync_engine::plan::DeleteSide::Server => DeleteSideDto::Server,
            },
            files: u32::try_from(refused.files.len()).unwrap_or(u32::MAX),
            bytes: refused.files.iter().map(|(_, size)| size).sum(),
            folders,
        }
    }
}

/// What the user decided about refused deletes.
#[derive(Debug, Clone, Copy, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum DeleteDecisionDto {
    /// Delete them on that side too (one sync without the guard).
    DeleteThemToo,
    /// Keep them, and put them back on the side that lost them.
    KeepThem,
}

/// Where a new pair's local folder comes from. Never a path: the webview cannot name one.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum LocalFolderDto {
    /// The user picks a folder in the native dialog (desktop only).
    Pick,
    /// A folder of this name in the app's documents folder, created if needed.
    Named { name: String },
}

/// Where a job is in its life: the engine's own type, under this name in TypeScript.
pub type JobStateDto = JobState;

/// What a running job is doing: the engine's own type.
pub type PhaseDto = Phase;

/// A file being transferred: the engine's own type.
pub type InFlightDto = tidesync_engine::progress::InFlight;

/// Everything a view needs to draw a job from scratch: the engine's own type.
pub type JobSnapshotDto = JobSnapshot;

/// What a finished transfer did to a file: the engine's own type.
pub type ActionDto = FileAction;

/// A file a job could not sync, and why: the engine's own type.
pub type FileErrorDto = tidesync_engine::FileError;

/// What a job did: the engine's own type (as the journal keeps it).
pub type SummaryDto = Summary;

/// A new server folder held back until the user says whether to sync it: the engine's own
/// type.
pub type NewFolderDto = tidesync_engine::NewFolder;

/// One message of a job's progress stream: a `Snapshot` first after every attach, then live
/// events. Each stays well under 8 KiB.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
#[ts(export)]
pub enum SyncEvent {
    Snapshot { snapshot: JobSnapshotDto },
    StateChanged { state: JobStateDto },
    FileDone { path: String, action: ActionDto },
    FileFailed { path: String, message: String },
    Finished { summary: SummaryDto },
    Failed { error: IpcError },
}

impl From<JobEvent> for SyncEvent {
    fn from(event: JobEvent) -> Self {
        match event {
            JobEvent::Snapshot { snapshot } => SyncEvent::Snapshot { snapshot },
            JobEvent::StateChanged { state } => SyncEvent::StateChanged { state },
            JobEvent::FileDone { path, action } => SyncEvent::FileDone { path, action },
            JobEvent::FileFailed { path, message } => SyncEvent::FileFailed { path, message },
            JobEvent::Finished { summary } => SyncEvent::Finished { summary },
            JobEvent::Failed { message, kind } => SyncEvent::Failed {
                error: IpcError::new(ErrorKind::from(kind), message),
            },
        }
    }
}

/// A past or present job, as the history shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JobRecordDto {
    pub id: JobId,
    pub pair_id: PairId,
    pub state: JobStateDto,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
    pub ended_at: Option<u64>,
    pub summary: Option<SummaryDto>,
    pub error: Option<String>,
}

impl From<JobRecord> for JobRecordDto {
    fn from(r: JobRecord) -> Self {
        JobRecordDto {
            id: r.id,
            pair_id: r.pair_id,
            state: r.state,
            started_at: unix_secs(r.started_at),
            ended_at: r.ended_at.map(unix_secs),
            summary: r.summary,
            error: r.error,
        }
    }
}

/// The payload of the `jobs-changed` event: a job appeared or changed state.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JobChangedDto {
    pub job_id: JobId,
    pub pair_id: PairId,
    pub state: JobStateDto,
}

impl From<JobChange> for JobChangedDto {
    fn from(c: JobChange) -> Self {
        JobChangedDto {
            job_id: c.job_id,
            pair_id: c.pair_id,
            state: c.state,
        }
    }
}

/// A sign-in begun: the page to open in a browser, and the id `complete_login` waits on.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LoginStartedDto {
    #[ts(type = "number")]
    pub login_id: u64,
    pub login_url: String,
}

/// The embedded demo remote, added with a pair ready to sync.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DemoDto {
    pub remote: RemoteDto,
    pub pair: PairDto,
    pub files: u64,
    pub bytes: u64,
}

/// What a lifecycle hint did (the `debug_lifecycle` command of E2E builds).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LifecycleDto {
    /// False when the app already was in that state.
    pub changed: bool,
    /// How long the suspend took to checkpoint every job.
    pub took_ms: Option<u64>,
}
