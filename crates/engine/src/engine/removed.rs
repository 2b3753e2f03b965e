//! What syncs removed from a pair's folder (its trash, see [`crate::trash`]), for the user to
//! look at, restore or let go.

use std::path::PathBuf;

use super::{Engine, EngineError};
use crate::model::PairId;
use crate::trash::{self, Removal, TrashError, Trashed};
use tidesync_webdav::RemotePath;

impl Engine {
    /// What the trash of `pair`'s folder holds, newest first.
    pub async fn trash(&self, pair: PairId) -> Result<Vec<Trashed>, EngineError> {
        self.in_trash(pair, |root| trash::list(&root)).await
    }

    /// Puts the trash entry `id` of `pair` back in its folder (beside, as
    /// `name (restored).ext`, where its path is taken). Returns where it went, relative to
    /// the folder; the next sync uploads it.
    pub async fn restore_trashed(&self, pair: PairId, id: String) -> Result<String, EngineError> {
        self.in_trash(pair, move |root| {
            let at = trash::restore(&root, &id)?;
            Ok(at
                .strip_prefix(&root)
                .unwrap_or(&at)
                .to_string_lossy()
                .replace('\\', "/"))
        })
        .await
    }

    /// Lets the copy here of `folder`, a folder `pair` no longer syncs, go into the trash
    /// (file by file, so each can come back). Refused for a folder the pair still syncs, and
    /// while a sync of the pair runs (it may not know yet that the folder is out). Returns how
    /// many files went.
    pub async fn let_go(&self, pair: PairId, folder: String) -> Result<usize, EngineError> {
        let settings = self.pair(pair).await?.settings;
        let path = RemotePath::parse(folder.trim_matches('/'))
            .map_err(|e| EngineError::RemotePath(folder.clone(), e))?;
        let unsynced = settings
            .excludes
            .unsynced
            .iter()
            .any(|f| f.trim_matches('/') == path.as_str());
        if path.is_root() || !unsynced {
            return Err(EngineError::StillSynced(folder));
        }
        if self.unfinished_job(pair).is_some() {
            return Err(EngineError::Busy("pair"));
        }
        self.in_trash(pair, move |root| {
            trash::keep_folder(&root, path.as_str(), Removal::NoLongerSynced)
        })
        .await
    }

    /// Deletes everything in the trash of `pair`'s folder; returns how many files went.
    pub async fn empty_trash(&self, pair: PairId) -> Result<usize, EngineError> {
        self.in_trash(pair, |root| trash::empty(&root)).await
    }

    /// Runs `work` on the blocking pool with `pair`'s folder.
    async fn in_trash<T: Send + 'static>(
        &self,
        pair: PairId,
        work: impl FnOnce(PathBuf) -> Result<T, TrashError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let root = self.pair(pair).await?.local_dir;
        Ok(tokio::task::spawn_blocking(move || work(root))
            .await
            .map_err(|e| EngineError::Worker(e.to_string()))??)
    }
}
