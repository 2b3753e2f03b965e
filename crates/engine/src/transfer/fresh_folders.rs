//! Server folders a run made, and when. Bulk upload checks no precondition, so a batch first
//! lists the folders its files go into (a file that appeared since the survey goes up alone).
//! A folder this run's own `MKCOL` created a moment ago held nothing then, and listing it
//! costs a round trip per folder per batch (10 of a fresh 60-file upload's 31 requests): such
//! a folder is taken as holding only what the run put there for [`FRESH_FOR`] after its
//! `MKCOL`. Later, as in a long run whose batches wait behind large transfers, it is listed
//! like any other, so another client's file is never overwritten after more than those
//! seconds.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tidesync_webdav::RemotePath;

/// How long a folder the run made is taken as still holding only the run's files.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// The folders a run made, with the moment each was made.
#[derive(Debug, Default)]
pub struct FreshFolders(Mutex<HashMap<RemotePath, Instant>>);

impl FreshFolders {
    /// Marks `path` as made by the run at `at`.
    pub(crate) fn made(&self, path: &RemotePath, at: Instant) {
        self.lock().insert(path.clone(), at);
    }

    /// Whether the run made `path` less than [`FRESH_FOR`] before `now`.
    pub(crate) fn is_fresh(&self, path: &RemotePath, now: Instant) -> bool {
        self.lock()
            .get(path)
            .is_some_and(|made| now.saturating_duration_since(*made) < FRESH_FOR)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RemotePath, Instant>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_the_run_made_is_fresh_for_a_few_seconds_only() {
        let folders = FreshFolders::default();
        let (made, other) = (
            RemotePath::parse("new").unwrap(),
            RemotePath::parse("old").unwrap(),
        );
        let at = Instant::now();
        folders.made(&made, at);
        assert!(folders.is_fresh(&made, at + Duration::from_millis(200)));
        assert!(
            !folders.is_fresh(&made, at + FRESH_FOR),
            "listed again later"
        );
        assert!(!folders.is_fresh(&other, at), "a folder it did not make");
    }
}
