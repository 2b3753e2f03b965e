//! Files that failed to sync, per pair, and when automatic sync tries each again: one minute
//! after the first failure, doubling with each failure after it up to an hour. A failure that
//! waits for a change (a name the local side cannot hold, a link in the way) has no time; it goes
//! when the file changes or a run syncs it. A run that completes forgets what it synced.

use std::collections::HashMap;

use rusqlite::params;

use super::{Journal, JournalError};
use crate::model::{FileError, PairId};

/// The first wait after a failure, in seconds.
pub const RETRY_FIRST_SECS: i64 = 60;
/// The longest wait between two tries, in seconds.
pub const RETRY_MAX_SECS: i64 = 60 * 60;

/// A file that failed, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub path: String,
    pub message: String,
    /// Failures in a row.
    pub attempts: u32,
    /// When automatic sync tries again (seconds since the Unix epoch); `None` when it waits
    /// for the file to change.
    pub retry_at: Option<i64>,
}

/// The wait before the next try after `attempts` failures in a row.
pub fn backoff(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(16);
    (RETRY_FIRST_SECS << doublings).min(RETRY_MAX_SECS)
}

impl Journal {
    /// Records what a completed run of `pair` could not sync (`lasting`: the paths among them
    /// that wait for a change) at `now`, and forgets every other failure: it synced.
    pub fn note_failures(
        &self,
        pair: PairId,
        errors: &[FileError],
        lasting: &[String],
        now: i64,
    ) -> Result<(), JournalError> {
        let before: HashMap<String, u32> = self
            .failures(pair)?
            .into_iter()
            .map(|f| (f.path, f.attempts))
            .collect();
        self.with(|db| {
            let tx = db.transaction()?;
            tx.execute("DELETE FROM failures WHERE pair_id = ?1", [pair])?;
            {
                let mut insert = tx.prepare(
                    "INSERT OR REPLACE INTO failures (pair_id, path, message, attempts, retry_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for error in errors {
                    let attempts = before.get(&error.path).copied().unwrap_or(0) + 1;
                    let retry_at =
                        (!lasting.contains(&error.path)).then(|| now + backoff(attempts));
                    insert.execute(params![pair, error.path, error.message, attempts, retry_at])?;
                }
            }
            tx.commit()
        })
    }

    /// What `pair` could not sync, by path.
    pub fn failures(&self, pair: PairId) -> Result<Vec<Failure>, JournalError> {
        self.with(|db| {
            let mut stmt = db.prepare(
                "SELECT path, message, attempts, retry_at FROM failures WHERE pair_id = ?1
                 ORDER BY path",
            )?;
            let rows = stmt.query_map([pair], |r| {
                Ok(Failure {
                    path: r.get(0)?,
                    message: r.get(1)?,
                    attempts: r.get(2)?,
                    retry_at: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The earliest time automatic sync tries one of `pair`'s failed files again.
    pub fn next_retry(&self, pair: PairId) -> Result<Option<i64>, JournalError> {
        self.with(|db| {
            db.query_row(
                "SELECT MIN(retry_at) FROM failures WHERE pair_id = ?1",
                [pair],
                |r| r.get(0),
            )
        })
    }

    /// Starts the count of `paths` over: they changed, so their next failure is a first one.
    pub fn reset_failures(&self, pair: PairId, paths: &[String]) -> Result<(), JournalError> {
        self.delete_paths("failures", pair, paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_a_minute_to_an_hour() {
        let waits: Vec<i64> = (1..=8).map(backoff).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
