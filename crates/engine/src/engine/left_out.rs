//! What a pair's syncs did not sync, for the user to see: the files that failed and when they
//! are tried again, the items its last sync left out and why, and how much a change of its
//! patterns would leave out.

use super::{Engine, EngineError};
use crate::filter::{Excludes, Filter, Ignored};
use crate::journal::failures::Failure;
use crate::model::{InvalidSetting, PairId};

/// How much a filter leaves out of what a pair's folder is known to hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterPreview {
    pub files: u64,
    pub folders: u64,
    /// The files' bytes (a folder left out counts nothing of its content, which no sync read).
    pub bytes: u64,
}

impl Engine {
    /// The files `pair` could not sync, and when automatic sync tries each again.
    pub async fn failures(&self, pair: PairId) -> Result<Vec<Failure>, EngineError> {
        self.pair(pair).await?;
        Ok(self.inner.journal.call(move |j| j.failures(pair)).await?)
    }

    /// What `pair`'s last sync left out, by path.
    pub async fn ignored(&self, pair: PairId) -> Result<Vec<Ignored>, EngineError> {
        self.pair(pair).await?;
        Ok(self.inner.journal.call(move |j| j.ignored(pair)).await?)
    }

    /// How much `excludes` would leave out of what `pair` holds as its last sync saw it (the
    /// synced items and those left out then); an invalid pattern is pointed at.
    pub async fn preview_excludes(
        &self,
        pair: PairId,
        excludes: Excludes,
    ) -> Result<FilterPreview, EngineError> {
        let filter = Filter::new(&excludes).map_err(InvalidSetting::Pattern)?;
        let root = self.pair(pair).await?.local_dir;
        let disk = self.inner.options.disk;
        let (agreed, ignored) = self
            .inner
            .journal
            .call(move |j| Ok((j.agreed(pair)?, j.ignored(pair)?)))
            .await?;
        let known = agreed
            .into_iter()
            .map(|a| (a.path, a.is_dir, a.size))
            .chain(ignored.into_iter().map(|i| (i.path, i.is_dir, i.size)));
        let fold = tokio::task::spawn_blocking(move || disk.is_case_insensitive(&root))
            .await
            .map_err(|e| EngineError::Worker(e.to_string()))?;
        let mut preview = FilterPreview::default();
        for (path, is_dir, size) in known {
            if filter.excludes(&path, is_dir, Some(size), fold).is_none() {
                continue;
            }
            if is_dir {
                preview.folders += 1;
            } else {
                preview.files += 1;
                preview.bytes += size;
            }
        }
        Ok(preview)
    }
}
