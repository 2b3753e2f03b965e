//! The user's answer about a new server folder larger than the pair's limit, which its syncs
//! hold back (`Summary::waiting`): sync it, or leave it out.

use super::{Engine, EngineError};
use crate::model::{JobId, PairId, PairSettings};

impl Engine {
    /// Carries out the user's answer about the new server folder `path` of `pair`: `sync`
    /// starts a sync that brings it (resolving to that job), otherwise the folder joins the
    /// pair's folders not chosen to sync (and nothing starts).
    pub async fn answer_new_folder(
        &self,
        pair: PairId,
        path: String,
        sync: bool,
    ) -> Result<Option<JobId>, EngineError> {
        let saved = self.pair(pair).await?;
        let folder = path.trim_matches('/').to_owned();
        if sync {
            self.inner
                .journal
                .call(move |j| j.approve_folder(pair, &folder))
                .await?;
            return self.start(pair).await.map(Some);
        }
        let mut excludes = saved.settings.excludes.clone();
        if !excludes.unsynced.contains(&folder) {
            excludes.unsynced.push(folder);
        }
        let settings = PairSettings {
            excludes,
            ..saved.settings
        };
        self.update_pair(pair, saved.mode, settings).await?;
        Ok(None)
    }
}
