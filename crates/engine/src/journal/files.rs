//! What the journal knows per file of a pair: the state both sides last agreed on, the
//! checkpoints of downloads in flight, and the temp names and upload folders of uploads in
//! flight.

use rusqlite::params;

use super::{Journal, JournalError};
use crate::model::PairId;

/// The agreed state of one path of a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    pub path: String,
    pub is_dir: bool,
    pub size: u64,
    /// The local file's modification time (ns since the epoch) right after the last sync.
    pub local_mtime: Option<i128>,
    pub etag: Option<String>,
    /// The remote's modification time (s since the epoch), for servers without ETags.
    pub remote_mtime: Option<i64>,
    /// The local item's inode when it was agreed (see [`crate::model::LocalState::inode`]).
    pub local_inode: Option<u64>,
    /// The server's file id when it was agreed (see [`crate::model::RemoteState::file_id`]).
    pub file_id: Option<String>,
}

/// A download in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialDownload {
    pub etag: Option<String>,
    pub size: u64,
    pub offset: u64,
}

/// What a run's recorder writes in one transaction (see `record`).
#[derive(Debug, Default)]
pub struct Batch<'a> {
    /// Temp names of uploads about to start, so a later run deletes any left behind
    /// ([`Journal::pending_uploads`]).
    pub begun: &'a [String],
    /// Agreements, as [`Journal::agree_all`] records them.
    pub entries: &'a [Agreed],
    /// Temp names no longer in use: moved into place (see [`Journal::end_upload`]).
    pub ended: &'a [String],
}

impl Journal {
    /// Every agreed path of a pair.
    pub fn agreed(&self, pair: PairId) -> Result<Vec<Agreed>, JournalError> {
        self.with(|db| {
            let mut stmt = db.prepare(
                "SELECT path, is_dir, size, local_mtime, etag, remote_mtime, local_inode, file_id
                 FROM entries WHERE pair_id = ?1",
            )?;
            let rows = stmt.query_map([pair], |r| {
                Ok(Agreed {
                    path: r.get(0)?,
                    is_dir: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    local_mtime: r.get::<_, Option<i64>>(3)?.map(i128::from),
                    etag: r.get(4)?,
                    remote_mtime: r.get(5)?,
                    local_inode: r.get::<_, Option<i64>>(6)?.map(|i| i as u64),
                    file_id: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Records that both sides agree on every entry of `entries`, and forgets any partial
    /// download of them, in one transaction.
    pub fn agree_all(&self, pair: PairId, entries: &[Agreed]) -> Result<(), JournalError> {
        self.record_batch(
            pair,
            &Batch {
                entries,
                ..Batch::default()
            },
        )
    }

    /// Records a batch of a run's bookkeeping in one transaction (see [`Batch`]).
    pub fn record_batch(&self, pair: PairId, batch: &Batch<'_>) -> Result<(), JournalError> {
        let Batch {
            begun,
            entries,
            ended,
        } = batch;
        self.with(|db| {
            let tx = db.transaction()?;
            {
                let mut begin = tx.prepare_cached(
                    "INSERT OR IGNORE INTO uploads (pair_id, temp) VALUES (?1, ?2)",
                )?;
                for temp in *begun {
                    begin.execute(params![pair, temp])?;
                }
                let mut end =
                    tx.prepare_cached("DELETE FROM uploads WHERE pair_id = ?1 AND temp = ?2")?;
                for temp in *ended {
                    end.execute(params![pair, temp])?;
                }
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO entries
                     (pair_id, path, is_dir, size, local_mtime, etag, remote_mtime, local_inode, file_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                let mut done = tx
                    .prepare_cached("DELETE FROM downloads WHERE pair_id = ?1 AND path = ?2")?;
                for entry in *entries {
                    insert.execute(params![
                        pair,
                        entry.path,
                        entry.is_dir,
                        entry.size as i64,
                        // Nanoseconds fit an i64 until the year 2262.
                        entry.local_mtime.and_then(|t| i64::try_from(t).ok()),
                        entry.etag,
                        entry.remote_mtime,
                        entry.local_inode.map(|i| i as i64),
                        entry.file_id,
                    ])?;
                    done.execute(params![pair, entry.path])?;
                }
            }
            tx.commit()
        })
    }

    /// Forgets `path` and everything below it: it no longer exists on either side.
    pub fn forget(&self, pair: PairId, path: &str) -> Result<(), JournalError> {
        let below = format!("{path}/%");
        self.with(|db| {
            db.execute(
                "DELETE FROM entries WHERE pair_id = ?1 AND (path = ?2 OR path LIKE ?3 ESCAPE '\\')",
                params![pair, path, escape_like(&below)],
            )
            .map(drop)
        })
    }

    /// Moves the agreed state of `from` and everything below it to `to`: the item was moved
    /// on one side and the same move was made on the other. A download in flight below it
    /// is forgotten (its part file moved with it, under a name no checkpoint knows).
    pub fn rekey(&self, pair: PairId, from: &str, to: &str) -> Result<(), JournalError> {
        let below = escape_like(&format!("{from}/%"));
        let taken = escape_like(&format!("{to}/%"));
        self.with(|db| {
            let tx = db.transaction()?;
            tx.execute(
                "DELETE FROM entries WHERE pair_id = ?1 AND (path = ?2 OR path LIKE ?3 ESCAPE '\\')",
                params![pair, to, taken],
            )?;
            tx.execute(
                "UPDATE entries SET path = ?3 || substr(path, ?4)
                 WHERE pair_id = ?1 AND (path = ?2 OR path LIKE ?5 ESCAPE '\\')",
                params![pair, from, to, from.chars().count() as i64 + 1, below],
            )?;
            tx.execute(
                "DELETE FROM downloads WHERE pair_id = ?1 AND (path = ?2 OR path LIKE ?3 ESCAPE '\\')",
                params![pair, from, below],
            )?;
            tx.commit()
        })
    }

    /// Records how far a download got; called after the part file is fsync'd.
    pub fn checkpoint_download(
        &self,
        pair: PairId,
        path: &str,
        partial: &PartialDownload,
    ) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "INSERT OR REPLACE INTO downloads (pair_id, path, etag, size, offset) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![pair, path, partial.etag, partial.size as i64, partial.offset as i64],
            )
            .map(drop)
        })
    }

    /// Every download in flight of a pair: (path, what is recorded).
    pub fn partial_downloads(
        &self,
        pair: PairId,
    ) -> Result<Vec<(String, PartialDownload)>, JournalError> {
        self.with(|db| {
            let mut stmt =
                db.prepare("SELECT path, etag, size, offset FROM downloads WHERE pair_id = ?1")?;
            let rows = stmt.query_map([pair], |r| {
                Ok((
                    r.get(0)?,
                    PartialDownload {
                        etag: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        offset: r.get::<_, i64>(3)? as u64,
                    },
                ))
            })?;
            rows.collect()
        })
    }

    pub fn drop_partial_download(&self, pair: PairId, path: &str) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "DELETE FROM downloads WHERE pair_id = ?1 AND path = ?2",
                params![pair, path],
            )
            .map(drop)
        })
    }

    /// Forgets an upload's temp name: it was moved into place or deleted.
    pub fn end_upload(&self, pair: PairId, temp: &str) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "DELETE FROM uploads WHERE pair_id = ?1 AND temp = ?2",
                params![pair, temp],
            )
            .map(drop)
        })
    }

    /// The temp names of uploads that never ended, to delete from the server.
    pub fn pending_uploads(&self, pair: PairId) -> Result<Vec<String>, JournalError> {
        self.with(|db| {
            let mut stmt = db.prepare("SELECT temp FROM uploads WHERE pair_id = ?1")?;
            let rows = stmt.query_map([pair], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Records the upload folder of a chunked upload about to start (before its `MKCOL`).
    pub fn begin_chunked(&self, pair: PairId, upload_id: &str) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "INSERT OR IGNORE INTO chunked_uploads (pair_id, upload_id) VALUES (?1, ?2)",
                params![pair, upload_id],
            )
            .map(drop)
        })
    }

    /// Forgets a chunked upload: it was assembled, or its folder deleted.
    pub fn end_chunked(&self, pair: PairId, upload_id: &str) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "DELETE FROM chunked_uploads WHERE pair_id = ?1 AND upload_id = ?2",
                params![pair, upload_id],
            )
            .map(drop)
        })
    }

    /// The upload folders of chunked uploads not yet assembled or deleted.
    pub fn pending_chunked(&self, pair: PairId) -> Result<Vec<String>, JournalError> {
        self.with(|db| {
            let mut stmt =
                db.prepare("SELECT upload_id FROM chunked_uploads WHERE pair_id = ?1")?;
            let rows = stmt.query_map([pair], |r| r.get(0))?;
            rows.collect()
        })
    }
}

fn escape_like(pattern: &str) -> String {
    let (head, tail) = pattern.split_at(pattern.len() - 1);
    let escaped = head
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}{tail}")
}
