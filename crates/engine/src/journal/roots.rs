//! Each pair's local folder as it was synced (see [`crate::root`]).

use rusqlite::{OptionalExtension, params};

use super::{Journal, JournalError};
use crate::model::PairId;
use crate::root::RootIdentity;

impl Journal {
    /// The identity recorded for `pair`'s local folder, `None` before its first sync.
    pub fn local_root(&self, pair: PairId) -> Result<Option<RootIdentity>, JournalError> {
        self.with(|db| {
            db.query_row(
                "SELECT token, device, inode FROM local_roots WHERE pair_id = ?1",
                [pair],
                |r| {
                    Ok(RootIdentity {
                        token: r.get(0)?,
                        device: r.get::<_, Option<i64>>(1)?.map(|d| d as u64),
                        inode: r.get::<_, Option<i64>>(2)?.map(|i| i as u64),
                    })
                },
            )
            .optional()
        })
    }

    /// Records `identity` as `pair`'s local folder.
    pub fn set_local_root(
        &self,
        pair: PairId,
        identity: &RootIdentity,
    ) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "INSERT INTO local_roots (pair_id, token, device, inode) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (pair_id) DO UPDATE
                 SET token = excluded.token, device = excluded.device, inode = excluded.inode",
                params![
                    pair,
                    identity.token,
                    identity.device.map(|d| d as i64),
                    identity.inode.map(|i| i as i64)
                ],
            )
            .map(|_| ())
        })
    }
}
