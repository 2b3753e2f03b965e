//! Deletes the guard refused, kept per pair until the user decides what becomes of them:
//! delete them on this side too (one run without the guard), or keep them, which puts them
//! back on the side that lost them (the journal forgets they were synced, so the next run
//! takes them for new files there). A run that completes clears them; after a restart the
//! next guarded run finds them again.

use super::{Engine, EngineError};
use crate::model::{JobId, PairId};
use crate::plan::DeleteSide;

/// What a guarded run would have deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedDeletes {
    /// Where the files would have been deleted: the other side lost them.
    pub side: DeleteSide,
    /// Each file with its size, deepest first.
    pub files: Vec<(String, u64)>,
}

/// What the user decided about refused deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteDecision {
    /// Delete them on this side too: one run without the guard (deleted local files go to
    /// the trash).
    DeleteThemToo,
    /// Keep them, and put them back on the side that lost them.
    KeepThem,
}

impl Engine {
    /// The deletes the guard refused in `pair`'s last run, if it refused any.
    pub fn refused_deletes(&self, pair: PairId) -> Option<RefusedDeletes> {
        super::lock(&self.inner.refused).get(&pair).cloned()
    }

    /// Acts on the user's decision about `pair`'s refused deletes and starts the sync that
    /// carries it out.
    pub async fn decide_deletes(
        &self,
        pair: PairId,
        decision: DeleteDecision,
    ) -> Result<JobId, EngineError> {
        let refused = super::lock(&self.inner.refused).remove(&pair);
        match decision {
            DeleteDecision::DeleteThemToo => {
                super::lock(&self.inner.unguarded_once).insert(pair);
            }
            DeleteDecision::KeepThem => {
                let paths: Vec<String> = refused
                    .map(|r| r.files.into_iter().map(|(path, _)| path).collect())
                    .unwrap_or_default();
                self.inner
                    .journal
                    .call(move |j| {
                        for path in &paths {
                            j.forget(pair, path)?;
                        }
                        Ok(())
                    })
                    .await?;
            }
        }
        self.start(pair).await
    }

    /// Notes what a run of `pair` refused to delete (or, `None`, that it completed).
    pub(super) fn note_refused(&self, pair: PairId, refused: Option<RefusedDeletes>) {
        let mut all = super::lock(&self.inner.refused);
        match refused {
            Some(refused) => all.insert(pair, refused),
            None => all.remove(&pair),
        };
    }

    /// Whether `pair`'s next run goes without the guard (once, as the user decided).
    pub(super) fn take_unguarded(&self, pair: PairId) -> bool {
        super::lock(&self.inner.unguarded_once).remove(&pair)
    }
}
