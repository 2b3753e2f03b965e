//! The user's yes to new server folders larger than the pair's limit (see
//! `Excludes::ask_above`): kept until the folder is synced, so it is asked about once.

use rusqlite::params;

use super::{Journal, JournalError};
use crate::model::PairId;

impl Journal {
    /// Records the user's yes to syncing the new server folder `path` of `pair`.
    pub fn approve_folder(&self, pair: PairId, path: &str) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "INSERT OR IGNORE INTO approved_folders (pair_id, path) VALUES (?1, ?2)",
                params![pair, path],
            )
            .map(|_| ())
        })
    }

    /// The new server folders of `pair` the user said yes to, not yet synced.
    pub fn approved_folders(&self, pair: PairId) -> Result<Vec<String>, JournalError> {
        self.with(|db| {
            let mut stmt = db.prepare("SELECT path FROM approved_folders WHERE pair_id = ?1")?;
            let rows = stmt.query_map([pair], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Forgets the yes to `paths`, synced now (a folder of that name new again is asked
    /// about again).
    pub fn forget_approvals(&self, pair: PairId, paths: &[String]) -> Result<(), JournalError> {
        self.delete_paths("approved_folders", pair, paths)
    }
}
