//! The nouns of the engine, in the user's words: remotes, pairs, modes, jobs and their states,
//! what each side holds of a path, why a job failed, and the names of Tidesync's own files.

use std::fmt;
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidesync_webdav::{HrefError, RemotePath};

/// Declares an id: a journal row id that cannot be mistaken for another kind of id. As a
/// newtype it crosses IPC and JSON as a plain number.
macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id! {
    /// A WebDAV server the user connected (no secret: passwords live with the caller).
    RemoteId
}
id! {
    /// A remote folder paired with a local folder.
    PairId
}
id! {
    /// One sync of a pair, from start to its end state.
    JobId
}

/// Whether plain `http://` may carry a server's traffic, passwords included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlainHttp {
    /// Only to this machine (loopback); anything else must be HTTPS.
    #[default]
    LoopbackOnly,
    /// The user allowed plain HTTP to this server.
    Allowed,
}

impl PlainHttp {
    pub fn is_allowed(self) -> bool {
        self == PlainHttp::Allowed
    }
}

/// What a sync does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Bring the remote's changes down; local-only files are left alone.
    Download,
    /// Back the local folder up; remote-only files are left alone.
    Upload,
    /// Both ways; each side's changes since the last sync win over an unchanged other side.
    TwoWay,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Download => "download",
            Mode::Upload => "upload",
            Mode::TwoWay => "two-way",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "download" => Ok(Mode::Download),
            "upload" => Ok(Mode::Upload),
            "two-way" | "twoway" | "two_way" => Ok(Mode::TwoWay),
            other => Err(format!(
                "'{other}' is not a mode (download, upload, two-way)"
            )),
        }
    }
}

/// A connected server, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remote {
    pub id: RemoteId,
    pub name: String,
    /// The base URL, without credentials.
    pub url: String,
    pub user: Option<String>,
    /// Plain http to a non-loopback host was explicitly allowed.
    pub allow_http: bool,
    /// The server product the last connection test recognised, if any ("Nextcloud", ...).
    pub server_kind: Option<String>,
    /// The embedded demo remote (found by this mark, never by its name).
    pub is_demo: bool,
    /// The one certificate trusted for this server, by SHA-256 (`AB:CD:…`), when the user
    /// chose to trust a certificate nobody vouches for (a self-signed server).
    pub pin_sha256: Option<String>,
    /// What listings taught about the server, kept so the next process need not relearn it.
    #[serde(skip)]
    pub hints: ServerHints,
}

/// What listings taught about a server, kept in the journal: without them every new process
/// (each CLI run, each app start) pays the round trips that taught them again, one or two on a
/// phone's network before its first listing. Only what is safe to assume later is kept: a
/// server that once answered `Depth: infinity` is still checked on every listing (see
/// `Client::list`), while one that refused it is walked at once; a stale hint costs speed,
/// never a wrong listing. Forgotten when the remote's address changes.
///
/// What a setup proved at the server's version (its `PUT` honours preconditions, it refuses
/// bulk upload) is kept too, so a normal run writes nothing it does not sync: the precondition
/// probe runs again only when the server reports another version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHints {
    /// The server refused `PROPFIND Depth: infinity`, or answered it as `Depth: 1`.
    pub refuses_depth_infinity: bool,
    /// Whether its listings carry the ownCloud properties (`oc:fileid`, `oc:checksums`);
    /// `None` until a listing told.
    pub owncloud_properties: Option<bool>,
    /// What the server proved at its version; `None` until a setup proved something.
    pub proven: Option<tidesync_webdav::Proven>,
    /// Whether its folder ETags follow changes below them (see
    /// `tidesync_webdav::Quirks::folder_etags_follow`); `None` until a comparison told.
    pub folder_etags_follow: Option<bool>,
}

impl ServerHints {
    /// The hints in what a client learnt (`quirks`).
    pub fn of(quirks: &tidesync_webdav::Quirks) -> ServerHints {
        ServerHints {
            refuses_depth_infinity: quirks.depth_infinity == Some(false),
            owncloud_properties: quirks.owncloud_properties,
            proven: quirks.proven.clone(),
            folder_etags_follow: quirks.folder_etags_follow,
        }
    }

    /// Seeds a new client's `quirks` with these hints.
    pub fn seed(&self, quirks: &mut tidesync_webdav::Quirks) {
        if self.refuses_depth_infinity {
            quirks.depth_infinity = Some(false);
        }
        if quirks.owncloud_properties.is_none() {
            quirks.owncloud_properties = self.owncloud_properties;
        }
        if quirks.proven.is_none() {
            quirks.proven.clone_from(&self.proven);
        }
        if quirks.folder_etags_follow.is_none() {
            quirks.folder_etags_follow = self.folder_etags_follow;
        }
    }
}

/// A remote folder paired with a local one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    pub id: PairId,
    pub remote_id: RemoteId,
    /// Relative to the remote's base URL; `""` is the base itself.
    pub remote_path: String,
    pub local_dir: PathBuf,
    pub mode: Mode,
    pub settings: PairSettings,
}

/// How a pair syncs besides its mode, set in its settings sheet. Changing them never
/// touches what the journal knows of the pair's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairSettings {
    /// Sync by itself: on local changes, when the server changed, on start and resume.
    pub auto_sync: bool,
    /// How often the server is checked for changes while `auto_sync` is on (backing off
    /// from there while nothing changes).
    pub check_every: Duration,
    /// Files transferred at once; `None` takes the engine's default.
    pub transfers: Option<u16>,
    /// Upload bytes a second; `None` for no limit.
    pub upload_limit: Option<NonZeroU64>,
    /// Download bytes a second; `None` for no limit.
    pub download_limit: Option<NonZeroU64>,
    /// Days the local trash keeps what syncs removed; `None`: [`crate::trash::KEEP_DAYS`].
    pub trash_days: Option<u32>,
    /// The most bytes the local trash keeps; `None`: a tenth of the volume, at most
    /// [`crate::trash::KEEP_BYTES_CAP`].
    pub trash_bytes: Option<u64>,
    /// A folder inside the pair's server folder where a file the sync would delete on the
    /// server is moved instead, under its path (as rclone's `--backup-dir`); never synced
    /// itself. For servers without a trash bin of their own; `None` deletes.
    pub server_backup: Option<String>,
    /// What the pair leaves out of its sync (see [`crate::filter`]).
    pub excludes: crate::filter::Excludes,
}

impl PairSettings {
    /// The shortest time between two checks of the server.
    pub const MIN_CHECK: Duration = Duration::from_secs(1);
    /// The longest time between two checks of the server the user may choose.
    pub const MAX_CHECK: Duration = Duration::from_secs(24 * 60 * 60);
    /// The most files a pair may transfer at once.
    pub const MAX_TRANSFERS: u16 = 128;
    /// The longest the trash may keep files, in days (ten years).
    pub const MAX_TRASH_DAYS: u32 = 3650;

    /// Why these settings cannot be saved, if they cannot.
    pub fn invalid(&self) -> Option<InvalidSetting> {
        if !(Self::MIN_CHECK..=Self::MAX_CHECK).contains(&self.check_every) {
            return Some(InvalidSetting::CheckEvery(self.check_every));
        }
        if let Some(n) = self
            .transfers
            .filter(|&n| n == 0 || n > Self::MAX_TRANSFERS)
        {
            return Some(InvalidSetting::Transfers(n));
        }
        if let Some(days) = self
            .trash_days
            .filter(|&days| days == 0 || days > Self::MAX_TRASH_DAYS)
        {
            return Some(InvalidSetting::TrashDays(days));
        }
        match self.server_backup.as_deref().map(RemotePath::parse) {
            Some(Err(error)) => return Some(InvalidSetting::ServerBackup(error)),
            Some(Ok(path)) if path.is_root() => {
                return Some(InvalidSetting::ServerBackup(HrefError::EmptyName));
            }
            _ => {}
        }
        crate::filter::Filter::new(&self.excludes)
            .err()
            .map(InvalidSetting::Pattern)
    }

    /// The matcher of what the pair leaves out.
    pub fn filter(&self) -> Result<crate::filter::Filter, InvalidSetting> {
        crate::filter::Filter::new(&self.excludes).map_err(InvalidSetting::Pattern)
    }

    /// How long and how much the pair's trash keeps, as set.
    pub fn trash_keep(&self) -> crate::trash::KeepSetting {
        crate::trash::KeepSetting {
            days: self.trash_days,
            bytes: self.trash_bytes,
        }
    }
}

impl Default for PairSettings {
    fn default() -> Self {
        PairSettings {
            auto_sync: false,
            check_every: Duration::from_secs(5 * 60),
            transfers: None,
            upload_limit: None,
            download_limit: None,
            trash_days: None,
            trash_bytes: None,
            server_backup: None,
            excludes: Default::default(),
        }
    }
}

/// A pair setting out of its range, said so the user knows what to choose instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSetting {
    #[error(
        "the server is checked every {min}s to every {max}s; {0:?} is out of range",
        min = PairSettings::MIN_CHECK.as_secs(),
        max = PairSettings::MAX_CHECK.as_secs()
    )]
    CheckEvery(Duration),
    #[error(
        "a pair transfers 1 to {max} files at once; {0} is out of range",
        max = PairSettings::MAX_TRANSFERS
    )]
    Transfers(u16),
    #[error(
        "the trash keeps files 1 to {max} days; {0} is out of range",
        max = PairSettings::MAX_TRASH_DAYS
    )]
    TrashDays(u32),
    #[error("the folder for what is deleted on the server: {0}")]
    ServerBackup(HrefError),
    #[error("a pattern of what to leave out: {0}")]
    Pattern(crate::filter::PatternError),
}

/// Where a job is in its life.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "JobStateDto"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobState {
    Queued,
    Running,
    /// Stopped because the app was suspended; resumes with the app.
    Suspended,
    /// Stopped by the user; resumes when the user says.
    Paused,
    /// Found Running in the journal at start-up: the process died. Resumes like Suspended.
    Interrupted,
    Completed,
    Cancelled,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Suspended => "suspended",
            JobState::Paused => "paused",
            JobState::Interrupted => "interrupted",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
            JobState::Failed => "failed",
        }
    }

    /// A job in this state will never run again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Cancelled | JobState::Failed
        )
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "suspended" => JobState::Suspended,
            "paused" => JobState::Paused,
            "interrupted" => JobState::Interrupted,
            "completed" => JobState::Completed,
            "cancelled" => JobState::Cancelled,
            "failed" => JobState::Failed,
            other => return Err(format!("unknown job state '{other}'")),
        })
    }
}

/// Why a run segment stopped before its end. Set by whoever cancels the run token, read by
/// the job, so the reason is never guessed from the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// The user cancelled the job: it ends.
    Cancelled,
    /// The app went to the background: the job waits for the app to resume.
    Suspended,
    /// The user paused the job: it waits for the user.
    Paused,
    /// The engine is shutting down: the job keeps its checkpoint for the next start.
    Shutdown,
}

impl StopReason {
    /// The state a job stopped for this reason is in.
    pub fn state(self) -> JobState {
        match self {
            StopReason::Cancelled => JobState::Cancelled,
            StopReason::Suspended => JobState::Suspended,
            StopReason::Paused => JobState::Paused,
            StopReason::Shutdown => JobState::Interrupted,
        }
    }
}

/// A new server folder held back for the user's yes, and its size.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NewFolderDto"))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewFolder {
    pub path: String,
    pub bytes: u64,
}

/// What a finished job did. Kept in the journal as JSON: a field added later reads as its
/// default in older records.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SummaryDto"))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Summary {
    pub files_downloaded: u64,
    pub files_uploaded: u64,
    pub bytes_downloaded: u64,
    pub bytes_uploaded: u64,
    pub conflicts: u64,
    pub deleted_local: u64,
    pub deleted_remote: u64,
    /// Files and folders renamed or moved on one side and moved the same way on the other,
    /// without transferring them again.
    #[serde(default)]
    pub moved: u64,
    /// The pair's remote folder did not exist and was created (upload and two-way modes).
    #[serde(default)]
    pub created_remote_root: bool,
    /// Downloads checked against the checksum the server publishes (`oc:checksums`).
    #[serde(default)]
    pub files_verified: u64,
    /// Items the pair left out (its patterns, its largest size), each path once.
    pub ignored: u64,
    /// New server folders larger than the pair's limit, held back until the user says yes
    /// (see `Excludes::ask_above`).
    pub waiting: Vec<NewFolder>,
    /// Every pass of the run found more to do (the folder kept changing while it synced):
    /// what is left waits for the next sync, which automatic sync starts at once.
    pub unsettled: bool,
    /// The paths among `errors` that fail the same way until something changes (a name the
    /// local side cannot hold, a link in the way): automatic sync does not try them by the clock.
    pub waits_for_change: Vec<String>,
    pub errors: Vec<FileError>,
    /// Local items left alone on purpose (symbolic links, special files), with why: shown,
    /// but no failure.
    #[serde(default)]
    pub skipped: Vec<FileError>,
    /// Server items this folder holds under another name, with why: twins that differ only
    /// in letter case, on a volume that cannot tell them apart (see `run::letter_case`).
    /// Shown, but no failure.
    pub renamed_locally: Vec<FileError>,
    /// The files this sync deleted on the server went to the server's own trash bin
    /// (Nextcloud and ownCloud keep deleted files there), where they can be restored.
    pub deleted_remote_to_trash: bool,
    /// The server gave neither an ETag nor a modification time for its files: an edit there
    /// that keeps a file's size is only seen by comparing contents (see `run::verify`).
    #[serde(default)]
    pub without_validators: bool,
    /// Files whose contents were compared with the server's because it gives no ETag.
    #[serde(default)]
    pub files_compared: u64,
}

/// A file the job could not sync, and why, in words a person can act on.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FileErrorDto"))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileError {
    pub path: String,
    pub message: String,
}

/// A local file or folder as the scan found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalState {
    pub is_dir: bool,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime: i128,
    /// The file system's identity of the file (its inode), which a rename keeps: how a move
    /// locally is told from a delete and a new file. `None` where there is none.
    pub inode: Option<u64>,
    /// When the file's inode last changed (`ctime`, ns since the epoch): any write moves it,
    /// and no program can set it back, so an upload compares it before and after to catch a
    /// file rewritten in place with its size and modification time kept. `None` where the
    /// platform has none, or for a state made from the journal.
    pub ctime: Option<i128>,
}

impl LocalState {
    /// Whether `now`, a fresh look at the item, is still this state: the check before a
    /// download replaces the item or a delete removes it. A state made from the journal (see
    /// [`crate::scan::changed`]) knows no `ctime`, and may know no inode: those are compared
    /// only where both states know them.
    pub fn is_still(&self, now: &LocalState) -> bool {
        self.is_dir == now.is_dir
            && self.size == now.size
            && self.mtime == now.mtime
            && where_known(self.inode, now.inode)
            && where_known(self.ctime, now.ctime)
    }

    /// [`LocalState::is_still`] for an item that may not exist.
    pub fn still(before: Option<&LocalState>, now: Option<&LocalState>) -> bool {
        match (before, now) {
            (Some(before), Some(now)) => before.is_still(now),
            (None, None) => true,
            _ => false,
        }
    }
}

/// Whether two values are equal, or one of them is unknown.
fn where_known<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
    a.zip(b).is_none_or(|(a, b)| a == b)
}

/// A remote file or folder as the listing described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteState {
    pub is_dir: bool,
    pub size: u64,
    pub etag: Option<String>,
    /// Seconds since the epoch.
    pub mtime: Option<i64>,
    /// Checksums the server publishes (Nextcloud's `oc:checksums`), e.g. `SHA1:…`.
    pub checksums: Vec<String>,
    /// The server's identity of the item (ownCloud/Nextcloud `oc:fileid`), kept by a move.
    pub file_id: Option<String>,
}

/// Why a job or an engine call failed, in the categories a caller acts on. This is the one
/// place a server's error is classified: the CLI maps these to exit codes, the app to the kinds
/// its UI branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FailureKind {
    /// The server refused the credentials.
    Auth,
    /// The server's certificate is not trusted (no known authority vouches for it, it
    /// expired, it names another server), or it is not the one the user chose to trust.
    UntrustedCertificate,
    /// The credentials are fine, but the server does not let this account do it (403).
    Forbidden,
    /// The server could not be reached, or kept failing, after retries.
    Network,
    /// The plan would have deleted too much; nothing was deleted.
    MassDelete,
    /// A disk (local or the server's) is full, or the journal cannot be written.
    Storage,
    /// The local folder could not be read or written for another reason than space: a
    /// permission, a read-only card, an I/O error.
    LocalAccess,
    /// The local folder or the server's is missing or is not the one that was synced (a
    /// removed card, an unmounted drive, a folder deleted on the server): nothing was done.
    FolderGone,
    /// What was named is not there: a folder on the server, a remote, a pair, a job.
    NotFound,
    /// An address or path that cannot be used as given (malformed, plain HTTP where not
    /// allowed, not a WebDAV folder).
    InvalidInput,
    /// Refused while a sync is under way, or asked of a job that has ended.
    Busy,
    /// The engine is shutting down.
    ShuttingDown,
    /// The user stopped it (a sign-in they cancelled).
    Cancelled,
    Other,
}

impl FailureKind {
    /// The kind of a server's refusal or of a failure to reach it.
    pub fn of_remote(error: &tidesync_webdav::Error) -> FailureKind {
        use tidesync_webdav::Error;
        match error {
            e if e.is_auth() => FailureKind::Auth,
            e if e.is_forbidden() => FailureKind::Forbidden,
            e if e.is_insufficient_storage() => FailureKind::Storage,
            Error::Certificate { .. } => FailureKind::UntrustedCertificate,
            e if e.is_not_found() => FailureKind::NotFound,
            Error::Url { .. } | Error::InsecureUrl { .. } | Error::NotWebDav { .. } => {
                FailureKind::InvalidInput
            }
            e if e.is_retryable()
                || matches!(e, Error::Transport { .. } | Error::Stalled { .. }) =>
            {
                FailureKind::Network
            }
            _ => FailureKind::Other,
        }
    }
}

/// Prefix of a download in progress, next to its target: `.tidesync-part-` and 16 hex digits
/// of a hash of the target's name. A fixed length, so a download of a name of any length has
/// a part file the file system takes.
pub const PART_PREFIX: &str = ".tidesync-part-";
/// What an older Tidesync named a part file: `.<name>` and this suffix. Only removed.
pub const LEGACY_PART_SUFFIX: &str = ".tidesync-part";
/// Prefix of an upload in progress on the server: `.tidesync-up-<random>-<name>`.
pub const UPLOAD_PREFIX: &str = ".tidesync-up-";

/// Whether `name` is one of Tidesync's own in-progress files, never synced itself.
pub fn is_internal(name: &str) -> bool {
    is_part_name(name) || name.starts_with(UPLOAD_PREFIX)
}

/// Whether `name` is exactly a part file's: the prefix and 16 lower-case hex digits. A user's
/// file named like one otherwise (`notes.tidesync-part`, `.tidesync-part-draft`) syncs.
pub fn is_part_name(name: &str) -> bool {
    name.strip_prefix(PART_PREFIX).is_some_and(|hash| {
        hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether the relative `path` (`/`-separated) is Tidesync's own: the folder's marker file
/// (see [`crate::root`]) or anything with an internal name on its way.
pub fn is_internal_path(path: &str) -> bool {
    let top = path.split('/').next().unwrap_or_default();
    top == crate::root::MARKER || top == crate::trash::TRASH || path.split('/').any(is_internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_recorded_before_a_field_was_added_still_reads() {
        let old = r#"{"filesDownloaded":3,"filesUploaded":0,"bytesDownloaded":10,"bytesUploaded":0,
            "conflicts":0,"deletedLocal":0,"deletedRemote":0,"moved":0,"errors":[]}"#;
        let read: Summary = serde_json::from_str(old).unwrap();
        assert_eq!((read.files_downloaded, read.ignored), (3, 0));
        assert!(read.waiting.is_empty());
    }

    #[test]
    fn ids_cross_json_as_plain_numbers() {
        assert_eq!(serde_json::to_string(&RemoteId(3)).unwrap(), "3");
        assert_eq!(serde_json::from_str::<JobId>("42").unwrap(), JobId(42));
        assert_eq!(PairId(7).to_string(), "7");
    }
}
