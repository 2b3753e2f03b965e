//! What each pair's last survey left out (see [`crate::filter`]): the pair screen lists it,
//! and the settings' preview counts what new patterns would leave out.

use rusqlite::params;

use super::{Journal, JournalError};
use crate::filter::{Ignored, Reason};
use crate::model::PairId;

impl Journal {
    /// Replaces what `pair` leaves out with `items`.
    pub fn set_ignored(&self, pair: PairId, items: &[Ignored]) -> Result<(), JournalError> {
        self.with(|db| {
            let tx = db.transaction()?;
            tx.execute("DELETE FROM ignored WHERE pair_id = ?1", [pair])?;
            {
                let mut insert = tx.prepare(
                    "INSERT OR REPLACE INTO ignored (pair_id, path, side, is_dir, size, reason)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for item in items {
                    let reason = serde_json::to_string(&item.reason).expect("a reason serializes");
                    insert.execute(params![
                        pair,
                        item.path,
                        item.side.as_str(),
                        item.is_dir,
                        item.size.min(i64::MAX as u64) as i64,
                        reason
                    ])?;
                }
            }
            tx.commit()
        })
    }

    /// What `pair`'s last survey left out, by path.
    pub fn ignored(&self, pair: PairId) -> Result<Vec<Ignored>, JournalError> {
        let rows = self.with(|db| {
            let mut stmt = db.prepare(
                "SELECT path, side, is_dir, size, reason FROM ignored WHERE pair_id = ?1
                 ORDER BY path",
            )?;
            let rows = stmt.query_map([pair], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            rows.collect::<Result<Vec<_>, _>>()
        })?;
        rows.into_iter()
            .map(|(path, side, is_dir, size, reason)| {
                let corrupt = |what: String| JournalError::Corrupt {
                    path: self.path.clone(),
                    message: format!("left-out item {path}: {what}"),
                };
                Ok(Ignored {
                    side: side.parse().map_err(corrupt)?,
                    reason: serde_json::from_str::<Reason>(&reason)
                        .map_err(|e| corrupt(e.to_string()))?,
                    path,
                    is_dir,
                    size: size.max(0) as u64,
                })
            })
            .collect()
    }
}
