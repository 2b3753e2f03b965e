//! The conflict copies in a pair's folder, for the user to look at: each holds this device's
//! version of a file that the server's version replaced under the original name.

use std::time::SystemTime;

use super::{Engine, EngineError};
use crate::model::PairId;
use crate::scan::scan;
use crate::transfer::parse_conflict_name;

/// One conflict copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictCopy {
    /// The copy's path in the pair, `/`-separated.
    pub path: String,
    /// The path it is the conflict of, whose name the server's version kept.
    pub original: String,
    /// When the conflict was found (to the second, from the copy's name).
    pub found_at: SystemTime,
}

impl Engine {
    /// Every conflict copy in `pair`'s local folder, newest first.
    pub async fn conflicts(&self, pair: PairId) -> Result<Vec<ConflictCopy>, EngineError> {
        let pair = self.pair(pair).await?;
        let (root, filter, disk) = (
            pair.local_dir,
            pair.settings.filter()?,
            self.inner.options.disk,
        );
        let scanned = tokio::task::spawn_blocking(move || match root.try_exists()? {
            true => {
                scan(&root, &filter, disk.is_case_insensitive(&root)).map(|scanned| scanned.tree)
            }
            false => Ok(Default::default()),
        })
        .await
        .map_err(|e| EngineError::Worker(e.to_string()))?
        .map_err(|e| EngineError::Worker(format!("the folder could not be read: {e}")))?;
        let mut copies: Vec<ConflictCopy> = scanned
            .into_iter()
            .filter(|(_, state)| !state.is_dir)
            .filter_map(|(path, _)| {
                let (folder, name) = path
                    .rsplit_once('/')
                    .map_or(("", path.as_str()), |(f, n)| (f, n));
                let (original, found_at) = parse_conflict_name(name)?;
                let original = match folder {
                    "" => original,
                    folder => format!("{folder}/{original}"),
                };
                Some(ConflictCopy {
                    path,
                    original,
                    found_at,
                })
            })
            .collect();
        copies.sort_by(|a, b| b.found_at.cmp(&a.found_at).then(a.path.cmp(&b.path)));
        Ok(copies)
    }
}
