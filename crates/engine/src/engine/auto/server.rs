//! Server changes: the cheapest check the server allows, learnt from what it shows.
//!
//! Where a folder's ETag changes whenever anything below it changes (Nextcloud and ownCloud
//! do this, most servers do not), one `Depth: 0` PROPFIND of the pair's root says whether
//! anything changed. Until the server has shown that, a check lists the whole tree and
//! compares it with the listing before. Each such comparison is also the evidence: when only
//! files two or more levels down changed, the root's ETag either changed with them (it
//! propagates) or did not (it never will be trusted). A change one level down proves nothing,
//! since a plain server's folder ETag follows its own modification time.
//!
//! After a run that changed the server, its own changes must not look like news, and news
//! that arrived meanwhile must not be taken for its own: [`ServerWatch::rebaseline`] lists
//! the tree and compares it with what the journal agreed at the run's end. Whatever differs
//! is somebody else's.

use std::collections::BTreeMap;

use tidesync_webdav::validator::same_version;
use tidesync_webdav::{Depth, EntryKind, Listing, RemotePath};

use crate::filter::Filter;
use crate::model::is_internal_path;
use crate::remote::Remote;

/// Whether the root's ETag follows every change below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Unknown,
    Yes,
    No,
}

/// What the server looked like at the last check.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Baseline {
    /// The root's ETag (propagating servers).
    Root(Option<String>),
    /// Every path with its ETag and whether it is a folder, and the root's ETag.
    Tree {
        root: Option<String>,
        paths: BTreeMap<String, (Option<String>, bool)>,
    },
}

/// A pair's server, as its checks see it.
#[derive(Debug)]
pub struct ServerWatch {
    propagation: Propagation,
    baseline: Option<Baseline>,
    /// What the pair leaves out, and whether without letter case: a change there is no news.
    filter: Filter,
    fold: bool,
}

impl ServerWatch {
    pub fn new(filter: Filter, fold: bool) -> ServerWatch {
        ServerWatch {
            propagation: Propagation::Unknown,
            baseline: None,
            filter,
            fold,
        }
    }

    pub fn propagation(&self) -> Propagation {
        self.propagation
    }

    /// Looks at the server; true when it changed since the last look. The first look only
    /// remembers what it saw.
    pub async fn check(&mut self, client: &dyn Remote) -> Result<bool, tidesync_webdav::Error> {
        let now = if self.propagation == Propagation::Yes {
            let listing = client.list(&RemotePath::root(), Depth::Zero).await?;
            Baseline::Root(root_etag(&listing))
        } else {
            self.tree(client.list(&RemotePath::root(), Depth::Infinity).await?)
                .0
        };
        let changed = self.compare(now);
        self.tell(client);
        Ok(changed)
    }

    /// Tells `client` when its folder ETags proved not to follow changes below them, so runs
    /// list every folder from now on (see `Remote::list_pruned`).
    fn tell(&self, client: &dyn Remote) {
        if self.propagation == Propagation::No {
            client.saw_folder_etags_follow(false);
        }
    }

    /// After a run of ours changed the server: lists the tree, takes it as the new baseline,
    /// and says whether it holds anything besides what the journal agreed (`agreed`: every
    /// path with its ETag, folders' ETags left out, and what the pair leaves out already
    /// taken away).
    pub async fn rebaseline(
        &mut self,
        client: &dyn Remote,
        mut agreed: BTreeMap<String, Option<String>>,
    ) -> Result<bool, tidesync_webdav::Error> {
        let (now, left_out) = self.tree(client.list(&RemotePath::root(), Depth::Infinity).await?);
        let Baseline::Tree { paths, root } = &now else {
            unreachable!("a listing makes a tree")
        };
        // A path left out on the server (a file grown past the largest size, say) is left
        // out of the sync on both sides: its record is no news either.
        agreed.retain(|path, _| {
            !left_out
                .iter()
                .any(|out| path == out || crate::run::is_below(path, out))
        });
        let theirs = paths.len() != agreed.len()
            || paths
                .iter()
                .any(|(path, (etag, folder))| match agreed.get(path) {
                    None => true,
                    Some(_) if *folder => false,
                    Some(known) => !same(etag, known),
                });
        let root = root.clone();
        self.compare(now.clone());
        self.tell(client);
        if self.propagation == Propagation::Yes {
            self.baseline = Some(Baseline::Root(root));
        }
        Ok(theirs)
    }

    /// Forgets the baseline: the next check only looks.
    pub fn forget(&mut self) {
        self.baseline = None;
    }

    /// Takes `now` as the baseline; true when it differs from the one before.
    fn compare(&mut self, now: Baseline) -> bool {
        let Some(before) = self.baseline.replace(now.clone()) else {
            return false;
        };
        if let (
            Baseline::Tree {
                root: was,
                paths: old,
            },
            Baseline::Tree { root, paths: new },
        ) = (&before, &now)
        {
            self.learn(was, old, root, new);
        }
        match (&before, &now) {
            (Baseline::Root(was), Baseline::Root(root)) => was != root || root.is_none(),
            (Baseline::Tree { paths: old, .. }, Baseline::Tree { paths: new, .. }) => old != new,
            // The way of checking changed since the last look: compare from the next one.
            _ => false,
        }
    }

    /// What the change from `old` to `new` shows of the root's ETag. A folder found in both
    /// is left out: its ETag changing is the very thing in question.
    fn learn(
        &mut self,
        was: &Option<String>,
        old: &BTreeMap<String, (Option<String>, bool)>,
        root: &Option<String>,
        new: &BTreeMap<String, (Option<String>, bool)>,
    ) {
        if self.propagation != Propagation::Unknown || root.is_none() {
            return;
        }
        let kept_folder = |path: &String| {
            matches!(
                (old.get(path), new.get(path)),
                (Some((_, true)), Some((_, true)))
            )
        };
        let mut changed = old
            .iter()
            .filter(|(path, seen)| new.get(*path) != Some(seen))
            .map(|(path, _)| path)
            .chain(new.keys().filter(|path| !old.contains_key(*path)))
            .filter(|path| !kept_folder(path))
            .peekable();
        if changed.peek().is_none() {
            return;
        }
        // A change right below the root changes a plain server's root too (its modification
        // time): only changes further down tell.
        if !changed.all(|path| path.contains('/')) {
            return;
        }
        self.propagation = if was != root {
            tracing::info!(
                "the server's folder ETags follow changes below them; checking the root only"
            );
            Propagation::Yes
        } else {
            tracing::info!("the server's folder ETags do not follow changes below them");
            Propagation::No
        };
    }
}

impl ServerWatch {
    /// A listing as a baseline: every path but the root, Tidesync's own hidden files and
    /// what the pair leaves out; and the paths left out (not what lies below them).
    fn tree(&self, listing: Listing) -> (Baseline, Vec<String>) {
        let root = root_etag(&listing);
        let mut left_out: Vec<String> = Vec::new();
        let mut paths = BTreeMap::new();
        for e in listing.entries {
            let path = e.path.as_str();
            if e.path.is_root() || is_internal_path(path) {
                continue;
            }
            let folder = e.kind == EntryKind::Folder;
            if self
                .filter
                .excludes(path, folder, Some(e.size), self.fold)
                .is_some()
            {
                if !left_out.iter().any(|out| crate::run::is_below(path, out)) {
                    left_out.push(path.to_owned());
                }
                continue;
            }
            paths.insert(path.to_owned(), (e.etag, folder));
        }
        (Baseline::Tree { root, paths }, left_out)
    }
}

/// The same version, whether or not one side marked its tag weak.
fn same(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_version(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn root_etag(listing: &Listing) -> Option<String> {
    listing
        .entries
        .iter()
        .find(|e| e.path.is_root())
        .and_then(|e| e.etag.clone())
}
