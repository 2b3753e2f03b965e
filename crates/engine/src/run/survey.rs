//! The survey: both sides and the journal, read at once, then the moves found in them and
//! the plan made from them.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

use tidesync_webdav::{Concurrency, Depth, Entry, EntryKind, Listing, RemotePath, validator};

use super::Context;
use super::early::{Known, download_early};
use super::error::RunError;
use super::letter_case;
use super::listed::{self, Record};
use super::shared::is_below;
use super::shared::record_lasting_error;
use super::surveyed::{Survey, remote_state};
use super::unicode;
use crate::filter::{Ignored, Side};
use crate::journal::Agreed;
use crate::journal::JournalError;
use crate::model::{FileError, LocalState, Mode, NewFolder, RemoteState, Summary};
use crate::names::{fold_case, nfc};
use crate::progress::Phase;
use crate::root::{self, FolderGone, Seen};
use crate::scan::changed::{Baseline, Changed, scan_changed};
use crate::scan::{Scanned, scan};

/// Lists the server, scans the local folder and reads the journal, at once; files the plan is known
/// to download start as soon as their folder is listed (see [`early`](super::early)).
pub(super) async fn survey(
    ctx: &Arc<Context>,
    mode: Mode,
    transfers: &mut Concurrency,
    summary: &mut Summary,
) -> Result<Survey, RunError> {
    ctx.hub.update(|s| s.phase = Phase::Listing);
    // The listing, the local scan and the journal's records are independent: read at once, the
    // scan and the journal cost no wall time beside a listing that waits on the server. The scan
    // only reads (a missing folder is an empty one, created once the server has answered, when
    // nothing was synced from it), so a cancelled run may leave it to finish on its blocking
    // thread unobserved.
    let pair = ctx.pair;
    let records = ctx.journal.call(move |j| {
        Ok((
            j.agreed(pair)?,
            j.partial_downloads(pair)?,
            j.local_root(pair)?,
            j.approved_folders(pair)?,
        ))
    });
    let local = read_local(ctx, records);
    let root = RemotePath::root();
    let (found_tx, found) = tokio::sync::mpsc::unbounded_channel();
    let listed = async {
        let root = RemotePath::root();
        // Dropped with the listing, which tells the early downloads it has ended.
        let report = move |entries: &[Entry]| {
            // Nobody listens in a backup, or once a stop has ended the early downloads.
            let _ = found_tx.send(entries.to_vec());
        };
        let record = Record::load(ctx).await;
        // With nothing recorded, one `Depth: infinity` answer (where the server gives one)
        // beats a walk that could skip nothing.
        let listing = if record.is_empty() {
            ctx.client
                .list_reporting(&root, Depth::Infinity, &report)
                .await
        } else {
            ctx.client
                .list_pruned(&root, &report, &|folder| record.below(folder))
                .await
        };
        ctx.hub.update(|s| s.phase = Phase::Planning);
        (listing, record)
    };
    let local_error = |source| RunError::Local {
        path: ctx.local_root.display().to_string(),
        source,
    };
    let known = async {
        let (scanned, records) = ctx
            .run
            .run_until_cancelled(local)
            .await
            .ok_or(RunError::Stopped)?;
        let (seen, scanned) = scanned.map_err(local_error)?;
        let (agreed, partials, recorded, approved) = records?;
        let baseline = match ctx.watched {
            Some(_) => Baseline::of(&scanned, &agreed),
            None => None,
        };
        let Scanned {
            tree,
            skipped,
            unreadable,
            ignored,
        } = scanned;
        // What the pair leaves out stands where it is, like an item the scan could not read:
        // nothing is written over it, deleted because of it, or made of it on the server.
        let left_out: Vec<FileError> = ignored.iter().map(as_shield).collect();
        // Before anything is written or planned: a folder that is not the one synced must not
        // look like a folder whose files were deleted.
        root::verdict(
            &ctx.local_root,
            &seen,
            recorded.as_ref(),
            !agreed.is_empty(),
            holds_any(
                &agreed,
                &tree,
                skipped.iter().chain(&unreadable).chain(&left_out),
            ),
        )?;
        let mut known = Known {
            local: tree,
            shields: skipped
                .iter()
                .chain(&unreadable)
                .chain(&left_out)
                .cloned()
                .collect(),
            agreed: agreed.into_iter().map(|a| (a.path.clone(), a)).collect(),
            partials: partials.into_iter().collect(),
        };
        if mode != Mode::Upload {
            let installed = download_early(ctx, &known, found, transfers, summary).await?;
            known.add_installed(installed);
        }
        Ok::<_, RunError>((
            known, skipped, unreadable, recorded, ignored, approved, baseline,
        ))
    };
    let (listing, known) = tokio::join!(ctx.run.run_until_cancelled(listed), known);
    // A stop that arrived with the listing's end (the three finished in one poll) is still a
    // stop: nothing is planned after it.
    let (listing, record) = listing.ok_or(RunError::Stopped)?;
    if ctx.run.is_cancelled() {
        return Err(RunError::Stopped);
    }
    let listing = match listing {
        // The server's folder is gone while the journal lists files synced from it: neither
        // made again nor taken for a folder whose files were all deleted.
        Err(error)
            if error.is_not_found() && known.as_ref().is_ok_and(|k| !k.0.agreed.is_empty()) =>
        {
            return Err(FolderGone::RemoteMissing.into());
        }
        // Backing up to a folder that is not there yet: make it, and say so.
        Err(error) if error.is_not_found() && mode != Mode::Download => {
            ctx.run
                .run_until_cancelled(ctx.client.mkcol(&root))
                .await
                .ok_or(RunError::Stopped)??;
            tracing::info!("the remote folder did not exist and was created");
            summary.created_remote_root = true;
            Listing::default()
        }
        other => listed::keep(ctx, record, other?).await?,
    };
    let (
        Known {
            local,
            shields,
            mut agreed,
            partials,
        },
        skipped,
        unreadable,
        recorded,
        ignored_here,
        approved,
        baseline,
    ) = known?;
    tokio::fs::create_dir_all(&ctx.local_root)
        .await
        .map_err(local_error)?;
    let (folder, seed, disk) = (ctx.local_root.clone(), ctx.pair.0 as u64, ctx.disk);
    let before = recorded.clone();
    let (identity, case_insensitive) = tokio::task::spawn_blocking(move || {
        let identity = root::adopt(&folder, before.as_ref(), seed)?;
        Ok::<_, std::io::Error>((identity, disk.is_case_insensitive(&folder)))
    })
    .await
    .map_err(|e| local_error(std::io::Error::other(e)))?
    .map_err(local_error)?;
    if recorded.as_ref() != Some(&identity) {
        ctx.journal
            .call(move |j| j.set_local_root(pair, &identity))
            .await?;
    }
    for rejected in &listing.rejected {
        tracing::warn!(href = %rejected.href, error = %rejected.error, "remote entry skipped");
        record_lasting_error(
            ctx,
            summary,
            &rejected.href,
            &format!("skipped: {}", rejected.error),
        );
    }
    let mut ignored_there: Vec<Ignored> = Vec::new();
    // Collected in place, over the listing's own room, each path moved, not copied; then
    // built into the tree as that room is given back (see `tree_giving_back`).
    let remote: Vec<(String, RemoteState)> = listing
        .entries
        .into_iter()
        .filter_map(|mut entry| {
            let path = entry.path.as_str();
            if entry.path.is_root() || ctx.excluded(path) {
                return None;
            }
            let is_dir = entry.kind == EntryKind::Folder;
            if let Some(reason) = ctx.left_out(path, is_dir, Some(entry.size)) {
                // Only the topmost item left out is listed: below it, everything is.
                if !ignored_there.iter().any(|out| is_below(path, &out.path)) {
                    ignored_there.push(Ignored {
                        path: path.to_owned(),
                        is_dir,
                        size: if is_dir { 0 } else { entry.size },
                        reason,
                        side: Side::Server,
                    });
                }
                return None;
            }
            let path = std::mem::replace(&mut entry.path, RemotePath::root()).into_string();
            Some((path, remote_state(entry)))
        })
        .collect();
    let mut remote = tree_giving_back(remote);
    for (path, why) in hide_too_long(&ctx.local_root, &mut remote) {
        record_lasting_error(ctx, summary, &path, &why);
    }
    // The server's twins (two Unicode forms of a name; on a case-insensitive volume, also
    // two letter cases) each get a local copy of their own.
    let twins = letter_case::twins(&remote, &agreed, &local, case_insensitive);
    letter_case::forget_absent_copies(&twins, &local, &mut agreed);
    let case = case_insensitive.then(|| letter_case::case_match(&remote, &agreed, &local, &twins));
    // The local names under the server's spelling where they differ only in Unicode form
    // (or, on such a volume, in letter case).
    let matched = unicode::match_names(local, shields, &remote, &agreed, &twins, case.as_ref());
    let mut local = matched.local;
    // The server backup folder is not synced: a local folder of its name is left alone.
    if ctx.remote_backup.is_some() {
        local.retain(|path, _| !ctx.excluded(path));
    }
    let mut names = matched.aliases;
    for (twin, copy) in twins.copies {
        names.entry(twin).or_insert(copy);
    }
    if let Some(watched) = &ctx.watched {
        // The journal holds the server's spelling: where a local one differs, only a scan
        // finds the item under its own.
        watched.leave(baseline.filter(|_| names.is_empty()));
    }
    ctx.set_local_names(names);
    for twin in twins.reports {
        tracing::info!(path = %twin.path, reason = %twin.message, "synced under another name");
        note(&mut summary.renamed_locally, twin);
    }
    for clash in matched.clashes {
        record_lasting_error(ctx, summary, &clash.path, &clash.message);
    }
    // What the server leaves out shields its path locally too.
    let mut shields = matched.shields;
    shields.extend(ignored_there.iter().map(as_shield));
    let shielded: HashSet<String> = shield(&shields, &mut local, &mut remote, &mut agreed)
        .iter()
        .map(|key| nfc(key).into_owned())
        .collect();
    // An item left alone matters to a download only where it stands in the server's way.
    for item in skipped {
        if mode != Mode::Download || shielded.contains(nfc(&item.path).as_ref()) {
            tracing::info!(path = %item.path, reason = %item.message, "local item left alone");
            note(&mut summary.skipped, item);
        }
    }
    for error in unreadable {
        record_lasting_error(ctx, summary, &error.path, &error.message);
    }
    // A folder on one side only that holds nothing but what the pair leaves out is left
    // alone: not made on the other side, and, once the other side deleted it, kept quietly.
    let holders = |ignored: &[Ignored], keys: &dyn Fn(&str) -> String| -> HashSet<String> {
        ignored
            .iter()
            .flat_map(|item| ancestors(&keys(&item.path)))
            .collect()
    };
    let here = holders(&ignored_here, &|path| nfc(path).into_owned());
    let there = holders(&ignored_there, &|path| path.to_owned());
    drop_holders_only(&mut local, &here, &remote, &agreed);
    drop_holders_only(&mut remote, &there, &local, &agreed);
    // A new server folder larger than the pair's limit waits for the user's yes. Not on a
    // pair's first sync (the user paired the folder knowing what it holds), nor in upload
    // mode, which downloads nothing.
    let ask_above = ctx
        .filter
        .ask_above()
        .filter(|_| mode != Mode::Upload && !agreed.is_empty());
    if let Some(limit) = ask_above {
        summary.waiting = hold_big_new_folders(&mut remote, &local, &agreed, limit, &approved);
        let synced: Vec<String> = approved
            .into_iter()
            .filter(|path| agreed.contains_key(path))
            .collect();
        ctx.journal
            .call(move |j| j.forget_approvals(pair, &synced))
            .await?;
    }
    let left_out = both_sides(ignored_here, ignored_there);
    summary.ignored = left_out.len() as u64;
    ctx.journal
        .call(move |j| j.set_ignored(pair, &left_out))
        .await?;
    Ok(Survey {
        local,
        remote,
        agreed,
        partials,
    })
}

/// Takes every path at or below a shield out of all three views, so the plan neither
/// deletes nor writes anything there: a server file is never deleted because the local copy
/// is a symbolic link, a special file or unreadable, and no download goes through a link.
/// Returns the shields that stood over something on the server or in the journal.
fn shield(
    shields: &[FileError],
    local: &mut BTreeMap<String, LocalState>,
    remote: &mut BTreeMap<String, RemoteState>,
    agreed: &mut BTreeMap<String, Agreed>,
) -> BTreeSet<String> {
    let mut stood_over = BTreeSet::new();
    if shields.is_empty() {
        return stood_over;
    }
    let paths: HashSet<&str> = shields.iter().map(|s| s.path.as_str()).collect();
    // The path itself or the nearest folder above it that is a shield.
    let under = |path: &str| -> Option<String> {
        path.match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain([path])
            .find(|ancestor| paths.contains(ancestor))
            .map(str::to_owned)
    };
    local.retain(|path, _| under(path).is_none());
    remote.retain(|path, _| match under(path) {
        Some(shield) => {
            stood_over.insert(shield);
            false
        }
        None => true,
    });
    agreed.retain(|path, _| match under(path) {
        Some(shield) => {
            stood_over.insert(shield);
            false
        }
        None => true,
    });
    stood_over
}

/// Hides remote entries the local side could not hold under their name (longer than `NAME_MAX`)
/// or their path (longer than `PATH_MAX` below `root`, the part file's name counted where it
/// is the longer), and everything below them: each is an error of its own, instead of an OS
/// error halfway down a chain of folders made for nothing. Returns the hidden paths and why.
fn hide_too_long(root: &Path, remote: &mut BTreeMap<String, RemoteState>) -> Vec<(String, String)> {
    let mut hidden: Vec<(String, String)> = Vec::new();
    for path in remote.keys() {
        if hidden.iter().any(|(h, _)| is_below(path, h)) {
            continue;
        }
        let Some(why) = crate::confine::too_long(root, path) else {
            continue;
        };
        hidden.push((path.clone(), why));
    }
    if !hidden.is_empty() {
        remote.retain(|path, _| !hidden.iter().any(|(h, _)| path == h || is_below(path, h)));
    }
    hidden
}

/// Whether the scan found any item the journal lists (in any Unicode form or letter case),
/// counting the items it left out.
fn holds_any<'a>(
    agreed: &[Agreed],
    tree: &BTreeMap<String, LocalState>,
    left_out: impl Iterator<Item = &'a FileError>,
) -> bool {
    if agreed.iter().any(|a| tree.contains_key(&a.path)) {
        return true;
    }
    let found: HashSet<String> = tree
        .keys()
        .chain(left_out.map(|item| &item.path))
        .map(|path| fold_case(path))
        .collect();
    agreed.iter().any(|a| found.contains(&fold_case(&a.path)))
}

/// An item left out, as a shield over its path.
fn as_shield(item: &Ignored) -> FileError {
    FileError {
        path: item.path.clone(),
        message: format!("left out: {}", item.reason),
    }
}

/// Every folder above `path`.
fn ancestors(path: &str) -> Vec<String> {
    path.match_indices('/')
        .map(|(i, _)| path[..i].to_owned())
        .collect()
}

/// Takes out of `side` each folder that holds items left out (`holders`), holds nothing
/// else there, and is neither on the `other` side nor agreed: the deepest first, so a folder
/// whose only content was such a folder goes too.
fn drop_holders_only<S, O>(
    side: &mut BTreeMap<String, S>,
    holders: &HashSet<String>,
    other: &BTreeMap<String, O>,
    agreed: &BTreeMap<String, Agreed>,
) {
    let mut candidates: Vec<&String> = holders
        .iter()
        .filter(|f| side.contains_key(*f) && !other.contains_key(*f) && !agreed.contains_key(*f))
        .collect();
    candidates.sort_by_key(|f| std::cmp::Reverse(f.matches('/').count()));
    for folder in candidates {
        let holds_more = side
            .range::<String, _>((
                std::ops::Bound::Excluded(folder),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(path, _)| path.starts_with(folder.as_str()))
            .any(|(path, _)| is_below(path, folder));
        if !holds_more {
            side.remove(folder);
        }
    }
}

/// Takes out of `remote` each new server folder (neither agreed nor here, in a folder that
/// is) holding more than `limit` bytes that the user has not said yes to, with all it holds;
/// returns them with their sizes.
fn hold_big_new_folders(
    remote: &mut BTreeMap<String, RemoteState>,
    local: &BTreeMap<String, LocalState>,
    agreed: &BTreeMap<String, Agreed>,
    limit: u64,
    approved: &[String],
) -> Vec<NewFolder> {
    let known = |path: &str| agreed.contains_key(path) || local.contains_key(path);
    let mut held: Vec<NewFolder> = Vec::new();
    for (path, _) in remote.iter().filter(|(_, s)| s.is_dir) {
        let parent_known = path
            .rsplit_once('/')
            .is_none_or(|(parent, _)| known(parent));
        if known(path) || !parent_known || approved.iter().any(|a| a == path) {
            continue;
        }
        let bytes: u64 = remote
            .range::<String, _>((std::ops::Bound::Excluded(path), std::ops::Bound::Unbounded))
            .take_while(|(p, _)| p.starts_with(path.as_str()))
            .filter(|(p, s)| !s.is_dir && is_below(p, path))
            .map(|(_, s)| s.size)
            .sum();
        if bytes > limit {
            held.push(NewFolder {
                path: path.clone(),
                bytes,
            });
        }
    }
    remote.retain(|path, _| {
        !held
            .iter()
            .any(|h| *path == h.path || is_below(path, &h.path))
    });
    held
}

/// The items the run left out, each path once (in NFC) whichever side it is on.
fn both_sides(here: Vec<Ignored>, there: Vec<Ignored>) -> Vec<Ignored> {
    let mut by_path: BTreeMap<String, Ignored> = BTreeMap::new();
    for mut item in here.into_iter().chain(there) {
        item.path = nfc(&item.path).into_owned();
        match by_path.get_mut(&item.path) {
            Some(found) if found.side != item.side => found.side = Side::Both,
            Some(_) => {}
            None => {
                by_path.insert(item.path.clone(), item);
            }
        }
    }
    by_path.into_values().collect()
}

/// Adds `item` to a summary's list, once: every pass of a run surveys again.
fn note(list: &mut Vec<FileError>, item: FileError) {
    if !list.iter().any(|known| known.path == item.path) {
        list.push(item);
    }
}

/// Removes the part files an older Tidesync named `.<name>.tidesync-part` for the downloads
/// its journal recorded, before the scan could take them for the user's files. Those downloads
/// start over once, under the fixed-length names.
pub(super) async fn sweep_legacy_parts(ctx: &Context) -> Result<(), RunError> {
    let pair = ctx.pair;
    let partials = ctx.journal.call(move |j| j.partial_downloads(pair)).await?;
    for (path, _) in partials {
        let Ok(remote_path) = RemotePath::parse(&path) else {
            continue;
        };
        let Ok(target) = ctx.writable_path(&remote_path).await else {
            continue;
        };
        let legacy = crate::transfer::legacy_part_path(&target);
        match tokio::fs::remove_file(&legacy).await {
            Ok(()) => tracing::info!(%path, "removed an older Tidesync's part file"),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => tracing::warn!(%path, %error, "an older part file could not be removed"),
        }
    }
    Ok(())
}

/// Removes part files that can never be resumed: their remote file is gone or is now another
/// version. Part files of a version still on the server stay for the next run.
pub(super) async fn sweep_stale_parts(
    ctx: &Context,
    remote: &BTreeMap<String, RemoteState>,
) -> Result<(), RunError> {
    let pair = ctx.pair;
    let partials = ctx.journal.call(move |j| j.partial_downloads(pair)).await?;
    for (path, partial) in partials {
        let current = remote.get(&path);
        let same = |r: &RemoteState| match (&r.etag, &partial.etag) {
            (Some(now), Some(then)) => validator::same_version(now, then),
            _ => false,
        };
        if current.is_some_and(|r| !r.is_dir && same(r)) {
            continue;
        }
        if let Ok(remote_path) = RemotePath::parse(&path) {
            let Ok(target) = ctx.writable_path(&remote_path).await else {
                tracing::warn!(%path, "a stale part file lies beyond a symbolic link; left");
                continue;
            };
            let part = crate::transfer::part_path(&target);
            if let Err(error) = tokio::fs::remove_file(&part).await
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(%path, %error, "a stale part file could not be removed");
                continue;
            }
        }
        let key = path.clone();
        ctx.journal
            .call(move |j| j.drop_partial_download(pair, &key))
            .await?;
        tracing::debug!(%path, "removed a stale part file");
    }
    Ok(())
}

/// What the journal holds for the pair: what both sides agreed, downloads in flight, the
/// local folder's identity and the big new folders the user approved.
type Records = (
    Vec<Agreed>,
    Vec<(String, crate::journal::PartialDownload)>,
    Option<root::RootIdentity>,
    Vec<String>,
);

/// The local folder and the journal's records. A run automatic sync started while its
/// watcher watched reads the folder from the journal and looks only at what changed (see
/// [`crate::scan::changed`]), once the folder is known to be the one synced; any other scans
/// it in full, beside the journal's read.
async fn read_local(
    ctx: &Arc<Context>,
    records: impl Future<Output = Result<Records, JournalError>>,
) -> (
    std::io::Result<(Seen, Scanned)>,
    Result<Records, JournalError>,
) {
    let changed = ctx.watched.as_ref().and_then(|w| w.take_changed());
    let (folder, scanning) = (ctx.local_root.clone(), ctx.clone());
    let Some(changed) = changed else {
        let scanned = tokio::task::spawn_blocking(move || scan_local(&scanning, &folder, None));
        let (scanned, records) = tokio::join!(scanned, records);
        let scanned = scanned.map_err(std::io::Error::other).and_then(|r| r);
        return (scanned.map(|(seen, found, _)| (seen, found)), records);
    };
    let (agreed, partials, recorded, approved) = match records.await {
        Ok(records) => records,
        Err(error) => return (Ok((Seen::Missing, Scanned::default())), Err(error)),
    };
    let known = recorded.clone().map(|identity| (identity, agreed, changed));
    let scanned = tokio::task::spawn_blocking(move || scan_local(&scanning, &folder, known))
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
    match scanned {
        Ok((seen, found, agreed)) => (
            Ok((seen, found)),
            Ok((agreed, partials, recorded, approved)),
        ),
        Err(error) => (Err(error), Ok((Vec::new(), partials, recorded, approved))),
    }
}

/// Looks at the folder and scans it, in full or (given the journal's records of it) only
/// what changed, where its marker shows it is the folder synced. Runs on the blocking pool.
/// Returns the journal's records it was given.
fn scan_local(
    ctx: &Context,
    folder: &Path,
    known: Option<(root::RootIdentity, Vec<Agreed>, Changed)>,
) -> std::io::Result<(Seen, Scanned, Vec<Agreed>)> {
    let seen = root::look(folder)?;
    // The filter matches as the folder looks names up (a folder without its marker yet
    // counts as case-insensitive, the side that leaves more out).
    let fold = ctx.disk.is_case_insensitive(folder);
    ctx.fold.store(fold, std::sync::atomic::Ordering::Relaxed);
    let (found, agreed) = match (&seen, known) {
        (Seen::Folder { tokens, .. }, Some((identity, agreed, changed)))
            if tokens.contains(&identity.token) && !agreed.is_empty() =>
        {
            tracing::debug!(paths = changed.paths.len(), "scanning only what changed");
            let found = scan_changed(folder, &ctx.filter, fold, &agreed, &changed)?;
            (found, agreed)
        }
        (Seen::Folder { .. }, known) => (
            scan(folder, &ctx.filter, fold)?,
            known.map(|k| k.1).unwrap_or_default(),
        ),
        (Seen::Missing | Seen::NotAFolder, known) => {
            (Scanned::default(), known.map(|k| k.1).unwrap_or_default())
        }
    };
    Ok((seen, found, agreed))
}

/// Entries built into a tree a slice at a time from the back, each slice's room given back to
/// the allocator as it goes in, so that the vector and the tree are never both whole: for a
/// large account the server's tree is the largest thing a run holds, and building it from the
/// whole vector at once (`BTreeMap::from_iter`) held both, the peak of a no-op run. Every
/// slice is built whole, then merged (`append`), so the nodes are full, where inserting one by
/// one leaves them half empty. The sort is unstable, as it needs no room of its own (a stable
/// one took 8 MB at 100,000 entries): of two entries at one path, which a server should never
/// list, one stays.
fn tree_giving_back<V>(mut items: Vec<(String, V)>) -> BTreeMap<String, V> {
    /// Entries per slice: a few slices for the largest accounts, one for most.
    const SLICE: usize = 16 * 1024;
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut tree = BTreeMap::new();
    while !items.is_empty() {
        let slice = items.split_off(items.len().saturating_sub(SLICE));
        items.shrink_to_fit();
        let mut built: BTreeMap<String, V> = slice.into_iter().collect();
        built.append(&mut tree);
        tree = built;
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_built_a_slice_at_a_time_is_the_tree_built_at_once() {
        // Three slices and a bit, in no order.
        let mut rng = fastrand::Rng::with_seed(34);
        let mut items: Vec<(String, u32)> = (0..50_000u32)
            .map(|i| (format!("d{:03}/f{i:05}", rng.u32(..300)), i))
            .collect();
        rng.shuffle(&mut items);
        let at_once: BTreeMap<String, u32> = items.clone().into_iter().collect();
        assert_eq!(tree_giving_back(items), at_once);
        assert!(tree_giving_back(Vec::<(String, u32)>::new()).is_empty());
    }

    #[test]
    fn a_path_listed_twice_is_in_the_tree_once_with_one_of_its_values() {
        let items: Vec<(String, u32)> = (0..40_000u32)
            .map(|i| (format!("f{:05}", i % 20_000), i))
            .collect();
        let tree = tree_giving_back(items);
        assert_eq!(tree.len(), 20_000);
        assert!(
            tree.iter()
                .all(|(path, &v)| path == &format!("f{:05}", v % 20_000))
        );
    }
}
