//! Downloads that start while the listing goes on.
//!
//! Where the server must be walked folder by folder (Apache refuses `Depth: infinity`), the
//! listing costs round trips that nothing else fills. The files of the folders listed first
//! are fetched meanwhile, but only those whose side of the plan is already known: files the
//! plan would make a plain download whatever the rest of the listing says. That holds for a
//! remote file when
//! - it is small (up to [`SAMPLE_MAX`]): its time is round trips, which the walk leaves idle;
//!   a larger file's is bandwidth, which gains little from an early start, and a stop would
//!   leave more of it in flight;
//! - the mode takes the server's files (not a backup);
//! - the journal never agreed on its path, and the local side has nothing there in any Unicode
//!   form (nor a file, a symbolic link or an unreadable name at a folder above it);
//! - it is no move: no agreed file has its file id, or its ETag and size (or, without
//!   ETags, its size and time), which [`crate::moves`] would take for the same file;
//! - every folder above it was synced before and is still a folder locally, or is new
//!   while the journal holds no folder at all (a first sync), so that no agreed folder can
//!   have moved there;
//! - no name on its path has a twin that differs only by letter case (the survey hides
//!   those), which a walk settles as it goes: a folder's children arrive together, and a
//!   folder only after its parent.
//!
//! Everything else waits for the plan, as does whatever qualifies but has not started when the
//! listing ends. A download made here is recorded as any other; the survey then adds it to
//! its view of the local side and of the journal, so the plan finds the file agreed. One that
//! failed for its own reasons is left to the plan, which tries again and reports it. A plan
//! that the mass-delete guard then refuses leaves these files in place: they are new, and
//! nothing was deleted to make room for them.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use tidesync_webdav::{Answer, Concurrency, Entry, EntryKind, RemotePath, validator};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;
use tracing::Instrument;

use super::Context;
use super::actions::{downloaded, fetch_and_record};
use super::error::RunError;
use super::outcome::{
    SAMPLE_MAX, Severity, account_for, answer_of, severity, widen_if_multiplexed,
};
use super::shared::Effect;
use super::surveyed::remote_state;
use crate::journal::{Agreed, PartialDownload};
use crate::model::{FileError, LocalState, RemoteState, Summary, is_internal_path};
use crate::names::fold_case;
use crate::transfer::{TransferError, resumable};

/// What the local side and the journal held when the run began, read while the server is listed.
pub(super) struct Known {
    pub(super) local: BTreeMap<String, LocalState>,
    /// Local items the scan left alone (symbolic links, special files) or could not take
    /// (unreadable, names that cannot be synced): nothing may be written at or below them.
    pub(super) shields: Vec<FileError>,
    pub(super) agreed: BTreeMap<String, Agreed>,
    pub(super) partials: HashMap<String, PartialDownload>,
}

impl Known {
    /// Adds downloads completed before the plan: each file is here and agreed.
    pub(super) fn add_installed(&mut self, installed: Vec<Agreed>) {
        for agreed in installed {
            let state = LocalState {
                is_dir: false,
                size: agreed.size,
                mtime: agreed.local_mtime.unwrap_or_default(),
                inode: agreed.local_inode,
                ctime: None,
            };
            self.local.insert(agreed.path.clone(), state);
            self.agreed.insert(agreed.path.clone(), agreed);
        }
    }
}

/// What a finished early download reports: its path, the agreed state it recorded or its
/// error, and what the adaptive limit learns from it.
type Ended = (
    String,
    Result<(Agreed, Effect), TransferError>,
    Option<(Duration, Answer)>,
);

/// Downloads the files of `found` (each folder's entries as the listing reports them) that
/// the plan is known to download, as many at once as `transfers` allows, until the listing
/// ends; waits for those started. Returns what they recorded.
pub(super) async fn download_early(
    ctx: &Arc<Context>,
    known: &Known,
    mut found: UnboundedReceiver<Vec<Entry>>,
    transfers: &mut Concurrency,
    summary: &mut Summary,
) -> Result<Vec<Agreed>, RunError> {
    // Where new server folders may wait for the user's yes, none is downloaded into early:
    // its size is known only once the listing ends.
    let mut proof = Proof::new(known, ctx.filter.ask_above().is_some());
    let mut waiting: VecDeque<(RemotePath, RemoteState)> = VecDeque::new();
    let mut running: FuturesUnordered<BoxFuture<'static, Ended>> = FuturesUnordered::new();
    let mut installed = Vec::new();
    let (mut listing, mut stopped, mut fatal) = (true, false, None);
    loop {
        while listing && !stopped && fatal.is_none() && running.len() < transfers.limit() {
            let Some((path, remote)) = waiting.pop_front() else {
                break;
            };
            let partial = known.partials.get(path.as_str()).cloned();
            let left = remote.size - resumable(partial.as_ref(), &remote).min(remote.size);
            ctx.hub.update(|s| {
                s.files_total += 1;
                s.bytes_total += left;
            });
            running.push(start(ctx.clone(), path, remote, partial));
        }
        tokio::select! {
            entries = found.recv(), if listing => match entries {
                Some(entries) => {
                    // The listing's first answer told how the server connects.
                    widen_if_multiplexed(ctx, transfers);
                    let synced = entries.into_iter().filter(|e| {
                        !ctx.excluded(e.path.as_str())
                            && ctx
                                .left_out(e.path.as_str(), e.kind == EntryKind::Folder, Some(e.size))
                                .is_none()
                    });
                    waiting.extend(proof.admit(synced.collect()));
                }
                None => listing = false,
            },
            Some((path, result, sample)) = running.next() => {
                if let Some((took, answer)) = sample {
                    transfers.record(took, answer, running.len() + 1);
                }
                match result {
                    Ok((agreed, effect)) => {
                        account_for(ctx, summary, (path, Ok(effect)), &mut stopped, &mut fatal);
                        installed.push(agreed);
                    }
                    Err(error) => {
                        ctx.hub.file_ended(&path);
                        match severity(error) {
                            Severity::Stopped => stopped = true,
                            Severity::EndsRun(error) => {
                                fatal.get_or_insert(error);
                            }
                            Severity::File(error) => {
                                tracing::debug!(%path, %error, "an early download failed; left to the plan");
                            }
                        }
                    }
                }
            }
            else => break,
        }
        stopped |= ctx.run.is_cancelled();
    }
    if !installed.is_empty() {
        ctx.recorder.flush().await?;
    }
    match fatal {
        Some(error) => Err(error),
        None if stopped => Err(RunError::Stopped),
        None => Ok(installed),
    }
}

/// Downloads one file that nothing is at locally, making the folders above it first.
fn start(
    ctx: Arc<Context>,
    path: RemotePath,
    remote: RemoteState,
    partial: Option<PartialDownload>,
) -> BoxFuture<'static, Ended> {
    let span = tracing::debug_span!("file", path = path.as_str(), action = "download-early");
    async move {
        let (started, overloads) = (Instant::now(), ctx.client.overloads());
        let result = async {
            ctx.make_folders_for(&path).await?;
            let agreed = fetch_and_record(&ctx, &path, None, &remote, partial.as_ref()).await?;
            Ok((agreed, downloaded(&remote)))
        }
        .await;
        let sample = (remote.size <= SAMPLE_MAX).then(|| {
            (
                started.elapsed(),
                answer_of(&result, &*ctx.client, overloads),
            )
        });
        (path.as_str().to_owned(), result, sample)
    }
    .instrument(span)
    .boxed()
}

/// Decides, entry by entry as the listing arrives, which files the plan is known to
/// download (the rules are in the module's doc).
struct Proof<'a> {
    known: &'a Known,
    /// Every path listed so far: whether it is a folder.
    listed: HashMap<String, bool>,
    /// How many listed paths have each lower-case form.
    cases: HashMap<String, u32>,
    /// Local items the scan left out, which may stand where a download would go.
    skipped: HashSet<&'a str>,
    /// Every local path and shield, case-folded: a name the local side spells in another Unicode
    /// form, or (on a case-insensitive volume) in other letter case, stands where the download
    /// would go, and only the survey matches it.
    local_folded: HashSet<String>,
    /// The file ids of everything agreed.
    ids: HashSet<&'a str>,
    /// The versions of agreed files by ETag (its opaque part) and size.
    tagged: HashSet<(&'a str, u64)>,
    /// The versions of agreed files with an ETag, by size and remote time.
    stamped: HashSet<(u64, Option<i64>)>,
    /// Whether a folder not agreed may take downloads: the journal holds no folder (so no
    /// agreed folder can have moved), and no new folder may have to wait for the user's yes.
    new_folders_open: bool,
}

impl<'a> Proof<'a> {
    fn new(known: &'a Known, hold_new_folders: bool) -> Proof<'a> {
        let agreed = known.agreed.values();
        let files = || agreed.clone().filter(|a| !a.is_dir && a.etag.is_some());
        Proof {
            known,
            listed: HashMap::new(),
            cases: HashMap::new(),
            skipped: known.shields.iter().map(|s| s.path.as_str()).collect(),
            local_folded: known
                .local
                .keys()
                .chain(known.shields.iter().map(|s| &s.path))
                .map(|p| fold_case(p))
                .collect(),
            ids: agreed
                .clone()
                .filter_map(|a| a.file_id.as_deref())
                .collect(),
            tagged: files()
                .filter_map(|a| Some((validator::opaque(a.etag.as_deref()?), a.size)))
                .collect(),
            stamped: files().map(|a| (a.size, a.remote_mtime)).collect(),
            new_folders_open: !agreed.clone().any(|a| a.is_dir)
                && (!hold_new_folders || known.agreed.is_empty()),
        }
    }

    /// Takes one folder's entries; returns the files among them known to be downloads.
    fn admit(&mut self, entries: Vec<Entry>) -> Vec<(RemotePath, RemoteState)> {
        let entries: Vec<Entry> = entries
            .into_iter()
            .filter(|e| !e.path.is_root() && !is_internal_path(e.path.as_str()))
            .collect();
        for entry in &entries {
            let path = entry.path.as_str();
            if self
                .listed
                .insert(path.to_owned(), entry.kind == EntryKind::Folder)
                .is_none()
            {
                *self.cases.entry(fold_case(path)).or_default() += 1;
            }
        }
        entries
            .into_iter()
            .filter(|e| e.kind == EntryKind::File && e.size <= SAMPLE_MAX)
            .map(|e| (e.path.clone(), remote_state(e)))
            .filter(|(path, remote)| self.is_known_download(path.as_str(), remote))
            .collect()
    }

    fn is_known_download(&self, path: &str, remote: &RemoteState) -> bool {
        let (local, agreed) = (&self.known.local, &self.known.agreed);
        let is_new = !agreed.contains_key(path)
            && !local.contains_key(path)
            && !self.local_folded.contains(&fold_case(path));
        is_new
            && !self.is_a_move(remote)
            && self.has_one_case(path)
            && !self.skipped.contains(path)
            && ancestors(path).all(|folder| self.may_hold(folder))
    }

    /// Whether `remote` could be an agreed file that moved.
    fn is_a_move(&self, remote: &RemoteState) -> bool {
        let by_id = remote
            .file_id
            .as_deref()
            .is_some_and(|id| self.ids.contains(id));
        let by_version = match &remote.etag {
            Some(tag) => self.tagged.contains(&(validator::opaque(tag), remote.size)),
            None => self.stamped.contains(&(remote.size, remote.mtime)),
        };
        by_id || by_version
    }

    /// Whether no path from the top down to `path` has a twin in other letter case.
    fn has_one_case(&self, path: &str) -> bool {
        ancestors(path)
            .chain([path])
            .all(|p| self.cases.get(&fold_case(p)) == Some(&1))
    }

    /// Whether a download may go into the folder `folder` (see the module's doc).
    fn may_hold(&self, folder: &str) -> bool {
        if self.listed.get(folder) != Some(&true) || self.skipped.contains(folder) {
            return false;
        }
        let local = self.known.local.get(folder);
        if local.is_some_and(|l| !l.is_dir)
            || (local.is_none() && self.local_folded.contains(&fold_case(folder)))
        {
            return false;
        }
        match self.known.agreed.get(folder) {
            Some(agreed) => agreed.is_dir && local.is_some(),
            None => self.new_folders_open,
        }
    }
}

/// The folders above `path`, from the top down (`a`, `a/b` for `a/b/c`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}
