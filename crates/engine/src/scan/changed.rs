//! Scanning only what changed: a run that automatic sync starts while the folder watcher
//! has been watching reads the local folder from the journal, and looks on disk only at the
//! paths the watcher reported and those the last survey found differing from the journal.
//!
//! Why that is the full scan's answer: every path is either as the journal agreed, or one
//! the last survey saw differ (its [`Baseline::differed`]), or changed since (the watcher
//! reported it, a run's own writes included), or one of the items the sync leaves alone
//! (kept in [`Baseline::left`], which the journal does not hold). A run moves the journal
//! only towards the disk, or writes the disk as it moves the journal, which the watcher
//! sees. Nextcloud's desktop client does the same (`LocalDiscoveryTracker`, with the
//! journal standing in for folders no event touched).
//!
//! The watcher is trusted only as far as it can be: automatic sync scans in full at its
//! start, on a resume or "Sync all now", after lost events or a report that proves nothing,
//! and at least every [`FULL_SCAN_EVERY`] (as Nextcloud's client does), which catches what
//! a watcher missed. A state made from the journal has no `ctime`; the executors' checks
//! before they write compare what both states know (see [`LocalState::is_still`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsStr;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{Scanned, Walk};
use crate::filter::{Filter, Ignored};
use crate::journal::Agreed;
use crate::model::{FileError, LocalState};
use crate::plan::differs_locally;
use crate::run::is_below;

/// The longest automatic sync trusts its watcher before it scans the folder in full again.
pub const FULL_SCAN_EVERY: Duration = Duration::from_secs(60 * 60);

/// Past this many paths to look at, a full scan is as cheap and needs no trust.
pub const MOST_PATHS: usize = 10_000;

/// What a survey leaves the next run of the pair, so it need not scan the folder again.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// What the scan found that the journal does not hold.
    pub left: LeftAlone,
    /// Paths where the folder differed from the journal: looked at again by the next run,
    /// whatever the watcher says of them (a file whose upload failed, say).
    pub differed: BTreeSet<String>,
    /// When the scan was made.
    pub taken: Instant,
}

/// The items a scan leaves alone; few, unlike the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftAlone {
    pub skipped: Vec<FileError>,
    pub unreadable: Vec<FileError>,
    pub ignored: Vec<Ignored>,
}

/// A run's instruction to look only at what changed since `baseline`.
#[derive(Debug, Clone)]
pub struct Changed {
    pub baseline: Baseline,
    /// Relative paths (`/`-separated) the watcher reported since.
    pub paths: BTreeSet<String>,
}

/// How automatic sync and the job it starts hand each other what changed and what the
/// survey found. Manual runs have none and always scan in full.
#[derive(Debug, Default)]
pub struct Watched {
    /// Taken by the job's first survey; later surveys (another pass, a run after a resume)
    /// scan in full.
    pub changed: Mutex<Option<Changed>>,
    /// Each survey's baseline replaces the one before; `None` where a survey could not give
    /// one (names that differ between the sides, too many paths differing).
    pub baseline: Mutex<Option<Baseline>>,
}

impl Watched {
    /// What changed, for the first survey that asks.
    pub fn take_changed(&self) -> Option<Changed> {
        self.changed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Leaves a survey's baseline (or that it has none) for automatic sync.
    pub fn leave(&self, baseline: Option<Baseline>) {
        *self.baseline.lock().unwrap_or_else(PoisonError::into_inner) = baseline;
    }

    /// The last survey's baseline, once the job has ended.
    pub fn take_baseline(&self) -> Option<Baseline> {
        self.baseline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl Baseline {
    /// What `scanned` (a scan of the whole folder, or of what changed) leaves the next run,
    /// given what the journal agreed; `None` when too much differs for a short look to pay.
    pub fn of(scanned: &Scanned, agreed: &[Agreed]) -> Option<Baseline> {
        let left = LeftAlone {
            skipped: scanned.skipped.clone(),
            unreadable: scanned.unreadable.clone(),
            ignored: scanned.ignored.clone(),
        };
        // By the path and each of its folders: a set lookup per level, not a pass over every
        // item left alone for each of the journal's paths.
        let covered: HashSet<&str> = left.paths().into_iter().collect();
        let under_left = |path: &str| {
            covered.contains(path)
                || path
                    .match_indices('/')
                    .any(|(at, _)| covered.contains(&path[..at]))
        };
        let mut differed = BTreeSet::new();
        let mut journal: HashSet<&str> = HashSet::with_capacity(agreed.len());
        for a in agreed {
            journal.insert(&a.path);
            if differs_locally(scanned.tree.get(&a.path), Some(a)) && !under_left(&a.path) {
                differed.insert(a.path.clone());
            }
            if differed.len() > MOST_PATHS {
                return None;
            }
        }
        for path in scanned.tree.keys() {
            if !journal.contains(path.as_str()) {
                differed.insert(path.clone());
                if differed.len() > MOST_PATHS {
                    return None;
                }
            }
        }
        Some(Baseline {
            left,
            differed,
            taken: Instant::now(),
        })
    }

    /// Whether the baseline is recent enough to trust the watcher since.
    pub fn is_fresh(&self) -> bool {
        self.taken.elapsed() < FULL_SCAN_EVERY
    }
}

impl LeftAlone {
    fn paths(&self) -> Vec<&str> {
        self.skipped
            .iter()
            .chain(&self.unreadable)
            .map(|e| e.path.as_str())
            .chain(self.ignored.iter().map(|i| i.path.as_str()))
            .collect()
    }

    /// Forgets every item at or below `path`.
    fn forget(&mut self, path: &str) {
        let kept = |p: &str| p != path && !is_below(p, path);
        self.skipped.retain(|e| kept(&e.path));
        self.unreadable.retain(|e| kept(&e.path));
        self.ignored.retain(|i| kept(&i.path));
    }
}

/// The local tree below `root` as a full [`scan`](super::scan) would find it, read from the
/// journal's `agreed` states and, on disk, only the paths in `changed`. Every path the
/// baseline left alone stays so unless a change is reported at or below it.
pub fn scan_changed(
    root: &Path,
    filter: &Filter,
    fold: bool,
    agreed: &[Agreed],
    changed: &Changed,
) -> std::io::Result<Scanned> {
    let mut left = changed.baseline.left.clone();
    let mut paths: BTreeSet<&str> = changed
        .paths
        .iter()
        .chain(&changed.baseline.differed)
        .map(String::as_str)
        .collect();
    let mut tree = BTreeMap::new();
    for a in agreed {
        match state_agreed(a) {
            Some(state) => {
                tree.insert(a.path.clone(), state);
            }
            // No local state on record: only the disk can tell.
            None => {
                paths.insert(&a.path);
            }
        }
    }
    for path in left.paths() {
        remove_at_or_below(&mut tree, path);
    }
    let targets = targets(&paths, &tree, &left);
    for target in &targets {
        remove_at_or_below(&mut tree, target);
        left.forget(target);
    }
    let mut found = Scanned {
        tree,
        skipped: left.skipped,
        unreadable: left.unreadable,
        ignored: left.ignored,
    };
    for target in targets {
        let at = root.join(&target);
        let (prefix, name) = match target.rsplit_once('/') {
            Some((folder, name)) => (format!("{folder}/"), name),
            None => (String::new(), target.as_str()),
        };
        let meta = std::fs::symlink_metadata(&at);
        let is_dir = meta.as_ref().is_ok_and(|m| m.is_dir());
        if matches!(&meta, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            continue;
        }
        let mut walk = Walk {
            found: &mut found,
            filter,
            fold,
            stack: Vec::new(),
            items: Vec::new(),
            above_kept: false,
        };
        walk.consider(&prefix, OsStr::new(name), is_dir, at.clone(), &|| {
            std::fs::symlink_metadata(&at)
        });
        // Below the target, the walk enters only what the filter kept.
        walk.above_kept = true;
        walk.run()?;
        let items = walk.items;
        found.tree.extend(items);
    }
    Ok(found)
}

/// What the journal says the local item was when last synced; `None` where it kept no time.
fn state_agreed(a: &Agreed) -> Option<LocalState> {
    let mtime = match a.is_dir {
        true => a.local_mtime.unwrap_or(0),
        false => a.local_mtime?,
    };
    Some(LocalState {
        is_dir: a.is_dir,
        size: if a.is_dir { 0 } else { a.size },
        mtime,
        inode: a.local_inode,
        ctime: None,
    })
}

/// The paths to look at on disk, none below another: for each path reported, the topmost
/// of it and its folders that the tree does not hold as a folder (new, or not a folder any
/// more) or that was left alone, since the scan of that one item answers for all below.
fn targets(
    paths: &BTreeSet<&str>,
    tree: &BTreeMap<String, LocalState>,
    left: &LeftAlone,
) -> Vec<String> {
    let left: HashSet<&str> = left.paths().into_iter().collect();
    let mut chosen: BTreeSet<&str> = BTreeSet::new();
    for path in paths {
        let mut end = 0;
        let target = loop {
            end = match path[end..].find('/') {
                Some(at) => end + at,
                None => break *path,
            };
            let folder = &path[..end];
            if left.contains(folder) || !tree.get(folder).is_some_and(|s| s.is_dir) {
                break folder;
            }
            end += 1;
        };
        chosen.insert(target);
    }
    // One item's scan answers for everything below it.
    let below_another = |target: &str| {
        target
            .match_indices('/')
            .any(|(at, _)| chosen.contains(&target[..at]))
    };
    chosen
        .iter()
        .filter(|target| !below_another(target))
        .map(|target| (*target).to_owned())
        .collect()
}

/// Takes `path` and everything below it out of `tree`.
fn remove_at_or_below(tree: &mut BTreeMap<String, LocalState>, path: &str) {
    tree.remove(path);
    let below: Vec<String> = tree
        .range(format!("{path}/")..format!("{path}0"))
        .map(|(p, _)| p.clone())
        .collect();
    for p in below {
        tree.remove(&p);
    }
}

#[cfg(test)]
mod tests {
    //! The full scan is the reference: after any changes the watcher reported, scanning only
    //! what changed finds what a full scan finds.

    use super::*;
    use crate::filter::Excludes;
    use crate::scan::scan;
    use proptest::prelude::*;
    use std::path::PathBuf;

    const NAMES: [&str; 4] = ["a", "b", "c.tmp", "d"];

    /// One change to the folder, by paths built from [`NAMES`].
    #[derive(Debug, Clone)]
    enum Op {
        Write(Vec<u8>, usize),
        Mkdir(Vec<u8>),
        Remove(Vec<u8>),
        Rename(Vec<u8>, Vec<u8>),
        Link(Vec<u8>),
        /// A folder holding files moved in from outside: only its own path is reported.
        MoveIn(Vec<u8>),
    }

    fn path() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(0u8..4, 1..4)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (path(), 0usize..40).prop_map(|(p, n)| Op::Write(p, n)),
            2 => path().prop_map(Op::Mkdir),
            2 => path().prop_map(Op::Remove),
            2 => (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
            1 => path().prop_map(Op::Link),
            1 => path().prop_map(Op::MoveIn),
        ]
    }

    fn relative(parts: &[u8]) -> String {
        parts
            .iter()
            .map(|&n| NAMES[n as usize])
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Applies `op` under `root`; returns the paths a watcher reports (nothing where the op
    /// failed, as it does when a folder on the way is missing or a file).
    fn apply(root: &Path, op: &Op) -> Vec<PathBuf> {
        let at = |p: &[u8]| root.join(relative(p));
        let done = match op {
            Op::Write(p, n) => std::fs::write(at(p), vec![b'x'; *n]).map(|()| vec![at(p)]),
            Op::Mkdir(p) => std::fs::create_dir(at(p)).map(|()| vec![at(p)]),
            Op::Remove(p) => match std::fs::symlink_metadata(at(p)) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(at(p)),
                Ok(_) => std::fs::remove_file(at(p)),
                Err(e) => Err(e),
            }
            .map(|()| vec![at(p)]),
            Op::Rename(a, b) => std::fs::rename(at(a), at(b)).map(|()| vec![at(a), at(b)]),
            Op::Link(p) => std::os::unix::fs::symlink("/tmp", at(p)).map(|()| vec![at(p)]),
            Op::MoveIn(p) => {
                let outside = root.with_extension("outside");
                let _ = std::fs::remove_dir_all(&outside);
                std::fs::create_dir_all(outside.join("d/a")).unwrap();
                std::fs::write(outside.join("d/a/b"), b"moved in").unwrap();
                std::fs::write(outside.join("c.tmp"), b"left out").unwrap();
                std::fs::rename(&outside, at(p)).map(|()| vec![at(p)])
            }
        };
        done.unwrap_or_default()
    }

    /// What the journal would hold after a sync of `scanned`.
    fn agreed_after(scanned: &Scanned) -> Vec<Agreed> {
        scanned
            .tree
            .iter()
            .map(|(path, s)| Agreed {
                path: path.clone(),
                is_dir: s.is_dir,
                size: s.size,
                local_mtime: (!s.is_dir).then_some(s.mtime),
                etag: None,
                remote_mtime: None,
                local_inode: s.inode,
                file_id: None,
            })
            .collect()
    }

    fn sorted(left: &LeftAlone) -> (Vec<String>, Vec<String>, Vec<String>) {
        let mut skipped: Vec<String> = left.skipped.iter().map(|e| e.path.clone()).collect();
        let mut unreadable: Vec<String> = left.unreadable.iter().map(|e| e.path.clone()).collect();
        let mut ignored: Vec<String> = left.ignored.iter().map(|i| i.path.clone()).collect();
        skipped.sort();
        unreadable.sort();
        ignored.sort();
        (skipped, unreadable, ignored)
    }

    fn left_of(scanned: Scanned) -> (BTreeMap<String, LocalState>, LeftAlone) {
        let left = LeftAlone {
            skipped: scanned.skipped,
            unreadable: scanned.unreadable,
            ignored: scanned.ignored,
        };
        (scanned.tree, left)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// `before` builds the folder the journal agreed on; `unseen` changes it before the
        /// baseline's scan (so the baseline finds them differing, as after a failed
        /// upload); `after` changes it with the watcher reporting each path.
        #[test]
        fn scanning_what_changed_finds_what_a_full_scan_finds(
            before in prop::collection::vec(op(), 0..12),
            unseen in prop::collection::vec(op(), 0..4),
            after in prop::collection::vec(op(), 0..8),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let root = &dir.path().join("pair");
            std::fs::create_dir(root).unwrap();
            let filter = Filter::new(&Excludes {
                patterns: vec!["*.tmp".into()],
                ..Excludes::default()
            })
            .unwrap();
            for op in &before {
                apply(root, op);
            }
            let agreed = agreed_after(&scan(root, &filter, false).unwrap());
            for op in &unseen {
                apply(root, op);
            }
            let baseline = Baseline::of(&scan(root, &filter, false).unwrap(), &agreed).unwrap();
            let mut paths = BTreeSet::new();
            for op in &after {
                for reported in apply(root, op) {
                    paths.insert(reported.strip_prefix(root).unwrap().to_str().unwrap().to_owned());
                }
            }
            let changed = Changed { baseline, paths };
            let (tree, left) = left_of(scan_changed(root, &filter, false, &agreed, &changed).unwrap());
            let (full_tree, full_left) = left_of(scan(root, &filter, false).unwrap());
            prop_assert_eq!(tree.keys().collect::<Vec<_>>(), full_tree.keys().collect::<Vec<_>>());
            for (path, full) in &full_tree {
                let found = &tree[path];
                prop_assert_eq!(found.is_dir, full.is_dir, "{}", path);
                if !full.is_dir {
                    prop_assert!(found.is_still(full), "{}: {:?} against {:?}", path, found, full);
                }
            }
            prop_assert_eq!(sorted(&left), sorted(&full_left));
        }
    }

    #[test]
    fn only_the_paths_reported_are_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/a.txt"), b"a").unwrap();
        std::fs::write(root.join("docs/b.txt"), b"b").unwrap();
        let filter = Filter::none();
        let first = scan(root, &filter, false).unwrap();
        let agreed = agreed_after(&first);
        let baseline = Baseline::of(&first, &agreed).unwrap();
        assert!(baseline.differed.is_empty());
        // An edit the watcher missed stays unseen; the one it reported is found.
        std::fs::write(root.join("docs/a.txt"), b"missed edit").unwrap();
        std::fs::write(root.join("docs/b.txt"), b"reported edit").unwrap();
        let changed = Changed {
            baseline,
            paths: BTreeSet::from(["docs/b.txt".to_owned()]),
        };
        let found = scan_changed(root, &filter, false, &agreed, &changed).unwrap();
        assert_eq!(found.tree["docs/a.txt"].size, 1);
        assert_eq!(found.tree["docs/b.txt"].size, 13);
        assert!(
            found.tree["docs/b.txt"].ctime.is_some(),
            "looked at on disk"
        );
        assert!(
            found.tree["docs/a.txt"].ctime.is_none(),
            "taken from the journal"
        );
    }
}
