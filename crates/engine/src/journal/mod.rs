//! The journal: what the engine must remember across restarts and crashes, in SQLite.
//!
//! It holds remotes and pairs (no secrets), the last agreed state of every path of every pair,
//! jobs and their states, in-flight downloads (part-file offsets) and uploads (temp names).
//! WAL mode with `synchronous=FULL`: a committed change survives a crash of the process or of
//! the OS.
//!
//! Every method is synchronous and short; async callers go through [`Journal::call`], which
//! runs the closure on the blocking pool so no tokio worker ever waits on the disk. The
//! connection's mutex is only held inside that closure, never across an `.await`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{JobId, JobState, Mode, Pair, PairId, Remote, RemoteId, Summary};

/// Schema changes, applied in order; the journal records how many it has applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE remotes (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    username    TEXT,
    allow_http  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE pairs (
    id          INTEGER PRIMARY KEY,
    remote_id   INTEGER NOT NULL REFERENCES remotes(id) ON DELETE CASCADE,
    remote_path TEXT NOT NULL,
    local_dir   TEXT NOT NULL,
    mode        TEXT NOT NULL,
    UNIQUE (remote_id, remote_path, local_dir)
);
-- The last state both sides agreed on, per path: what "changed since the last sync" means.
CREATE TABLE entries (
    pair_id      INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    is_dir       INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    local_mtime  INTEGER,
    etag         TEXT,
    remote_mtime INTEGER,
    PRIMARY KEY (pair_id, path)
);
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY,
    pair_id    INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    summary    TEXT,
    error      TEXT
);
-- Downloads in flight: the part file holds `offset` bytes of the remote version `etag`.
CREATE TABLE downloads (
    pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    etag    TEXT,
    size    INTEGER NOT NULL,
    offset  INTEGER NOT NULL,
    PRIMARY KEY (pair_id, path)
);
"#,
    r#"
-- What kind of server answered the connection test (Nextcloud, Apache, ...), for display.
ALTER TABLE remotes ADD COLUMN server_kind TEXT;
"#,
    r#"
-- Uploads in flight: the hidden temp name on the server, recorded before its PUT, so a run
-- after a crash or a failed cleanup deletes what an earlier one left.
CREATE TABLE uploads (
    pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    temp    TEXT NOT NULL,
    PRIMARY KEY (pair_id, temp)
);
"#,
    r#"
-- Identities a move keeps, to carry renames over as moves: the local file's inode and the
-- server's file id (ownCloud/Nextcloud oc:fileid).
ALTER TABLE entries ADD COLUMN local_inode INTEGER;
ALTER TABLE entries ADD COLUMN file_id TEXT;
"#,
    r#"
-- The embedded demo remote, marked as such: found by this flag, never by its name, so a
-- user's own server with the same name is never repointed to the demo server.
ALTER TABLE remotes ADD COLUMN is_demo INTEGER NOT NULL DEFAULT 0;
-- Before the mark, the demo remote was the one with its name on this machine's loopback.
UPDATE remotes SET is_demo = 1
 WHERE name LIKE 'Demo remote%' AND url LIKE 'http://127.0.0.1:%';
"#,
];

/// A journal operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("journal {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("the journal's worker thread stopped: {0}")]
    Worker(String),
    /// A transaction shared by several files failed; each file reports the same cause.
    #[error("recording synced files in the journal failed: {0}")]
    Batch(String),
}

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

/// A job as the journal knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: JobId,
    pub pair_id: PairId,
    pub state: JobState,
    pub started_at: SystemTime,
    pub ended_at: Option<SystemTime>,
    pub summary: Option<Summary>,
    pub error: Option<String>,
}

/// The journal; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    path: PathBuf,
    db: Arc<Mutex<Connection>>,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let sqlite = |source| JournalError::Sqlite {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| JournalError::Corrupt {
                path: path.to_owned(),
                message: format!("cannot create its folder: {e}"),
            })?;
        }
        let mut db = Connection::open(path).map_err(sqlite)?;
        db.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        db.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        db.pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite)?;
        let applied: i64 = db
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sqlite)?;
        let applied = usize::try_from(applied).unwrap_or(usize::MAX);
        if applied > MIGRATIONS.len() {
            return Err(JournalError::Corrupt {
                path: path.to_owned(),
                message: format!(
                    "it was written by a newer Tidesync (schema {applied}, this one knows {})",
                    MIGRATIONS.len()
                ),
            });
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = db.transaction().map_err(sqlite)?;
            tx.execute_batch(migration).map_err(sqlite)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(sqlite)?;
            tx.commit().map_err(sqlite)?;
        }
        Ok(Journal {
            path: path.to_owned(),
            db: Arc::new(Mutex::new(db)),
        })
    }

    /// Runs `work` on the blocking pool with the connection.
    pub async fn call<T, F>(&self, work: F) -> Result<T, JournalError>
    where
        T: Send + 'static,
        F: FnOnce(&Journal) -> Result<T, JournalError> + Send + 'static,
    {
        let journal = self.clone();
        tokio::task::spawn_blocking(move || work(&journal))
            .await
            .map_err(|e| JournalError::Worker(e.to_string()))?
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, JournalError> {
        let mut db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        work(&mut db).map_err(|source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    pub fn add_remote(
        &self,
        name: &str,
        url: &str,
        user: Option<&str>,
        allow_http: bool,
    ) -> Result<RemoteId, JournalError> {
        self.with(|db| {
            db.execute(
                "INSERT INTO remotes (name, url, username, allow_http) VALUES (?1, ?2, ?3, ?4)",
                params![name, url, user, allow_http],
            )?;
            Ok(db.last_insert_rowid())
        })
    }

    /// The embedded demo remote, if one was added (found by its mark, never by its name).
    pub fn demo_remote(&self) -> Result<Option<Remote>, JournalError> {
        Ok(self.remotes()?.into_iter().find(|r| r.is_demo))
    }

    /// Marks `id` as the embedded demo remote.
    pub fn mark_demo(&self, id: RemoteId) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute("UPDATE remotes SET is_demo = 1 WHERE id = ?1", [id])
                .map(drop)
        })
    }

    /// Points a remote at a new address (the demo remote gets a new port every start).
    pub fn set_remote_url(&self, id: RemoteId, url: &str) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "UPDATE remotes SET url = ?2 WHERE id = ?1",
                params![id, url],
            )
            .map(drop)
        })
    }

    /// Records what kind of server the remote is, as its last connection test saw it.
    pub fn set_server_kind(&self, id: RemoteId, kind: Option<&str>) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "UPDATE remotes SET server_kind = ?2 WHERE id = ?1",
                params![id, kind],
            )
            .map(drop)
        })
    }

    pub fn remote(&self, id: RemoteId) -> Result<Option<Remote>, JournalError> {
        self.with(|db| {
            db.query_row(&format!("{REMOTE_COLUMNS} WHERE id = ?1"), [id], remote_row)
                .optional()
        })
    }

    pub fn remotes(&self) -> Result<Vec<Remote>, JournalError> {
        self.with(|db| {
            let mut stmt = db.prepare(&format!("{REMOTE_COLUMNS} ORDER BY id"))?;
            let rows = stmt.query_map([], remote_row)?;
            rows.collect()
        })
    }

    /// The pair of `remote_id`'s `remote_path` with `local_dir`, created if it does not exist.
    pub fn ensure_pair(
        &self,
        remote_id: RemoteId,
        remote_path: &str,
        local_dir: &Path,
        mode: Mode,
    ) -> Result<PairId, JournalError> {
        let local = local_dir.to_string_lossy().into_owned();
        self.with(|db| {
            db.execute(
                "INSERT INTO pairs (remote_id, remote_path, local_dir, mode) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (remote_id, remote_path, local_dir) DO UPDATE SET mode = excluded.mode",
                params![remote_id, remote_path, local, mode.as_str()],
            )?;
            db.query_row(
                "SELECT id FROM pairs WHERE remote_id = ?1 AND remote_path = ?2 AND local_dir = ?3",
                params![remote_id, remote_path, local],
                |r| r.get(0),
            )
        })
    }

    pub fn pair(&self, id: PairId) -> Result<Option<Pair>, JournalError> {
        let row = self.with(|db| {
            db.query_row(&format!("{PAIR_COLUMNS} WHERE id = ?1"), [id], pair_row)
                .optional()
        })?;
        row.map(|row| self.pair_from(row)).transpose()
    }

    pub fn pairs(&self) -> Result<Vec<Pair>, JournalError> {
        let rows = self.with(|db| {
            let mut stmt = db.prepare(&format!("{PAIR_COLUMNS} ORDER BY id"))?;
            let rows = stmt.query_map([], pair_row)?;
            rows.collect::<Result<Vec<_>, _>>()
        })?;
        rows.into_iter().map(|row| self.pair_from(row)).collect()
    }

    fn pair_from(
        &self,
        (id, remote_id, remote_path, local_dir, mode): PairRow,
    ) -> Result<Pair, JournalError> {
        Ok(Pair {
            id,
            remote_id,
            remote_path,
            local_dir: PathBuf::from(local_dir),
            mode: mode.parse().map_err(|message| JournalError::Corrupt {
                path: self.path.clone(),
                message,
            })?,
        })
    }

    /// Renames a remote or points it elsewhere; false when there is no such remote.
    pub fn update_remote(
        &self,
        id: RemoteId,
        name: &str,
        url: &str,
        user: Option<&str>,
    ) -> Result<bool, JournalError> {
        self.with(|db| {
            db.execute(
                "UPDATE remotes SET name = ?2, url = ?3, username = ?4 WHERE id = ?1",
                params![id, name, url, user],
            )
            .map(|n| n > 0)
        })
    }

    /// Forgets a remote with its pairs, their agreed state and their jobs; false when there
    /// is no such remote. Local and remote files are not touched.
    pub fn remove_remote(&self, id: RemoteId) -> Result<bool, JournalError> {
        self.with(|db| {
            db.execute("DELETE FROM remotes WHERE id = ?1", [id])
                .map(|n| n > 0)
        })
    }

    /// Forgets a pair with its agreed state and jobs; false when there is no such pair.
    pub fn remove_pair(&self, id: PairId) -> Result<bool, JournalError> {
        self.with(|db| {
            db.execute("DELETE FROM pairs WHERE id = ?1", [id])
                .map(|n| n > 0)
        })
    }

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
        self.with(|db| {
            let tx = db.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO entries
                     (pair_id, path, is_dir, size, local_mtime, etag, remote_mtime, local_inode, file_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                let mut done = tx
                    .prepare_cached("DELETE FROM downloads WHERE pair_id = ?1 AND path = ?2")?;
                for entry in entries {
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

    /// Records the temp name an upload is about to be sent to (before its `PUT`).
    pub fn begin_upload(&self, pair: PairId, temp: &str) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "INSERT OR IGNORE INTO uploads (pair_id, temp) VALUES (?1, ?2)",
                params![pair, temp],
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

    pub fn create_job(&self, pair: PairId) -> Result<JobId, JournalError> {
        self.with(|db| {
            db.execute(
                "INSERT INTO jobs (pair_id, state, started_at) VALUES (?1, 'queued', ?2)",
                params![pair, unix_secs(SystemTime::now())],
            )?;
            Ok(db.last_insert_rowid())
        })
    }

    /// Records a job's new state; a final state also records the end time, summary and error.
    pub fn set_job_state(
        &self,
        job: JobId,
        state: JobState,
        summary: Option<&Summary>,
        error: Option<&str>,
    ) -> Result<(), JournalError> {
        let summary = summary.map(|s| serde_json::to_string(s).unwrap_or_default());
        let ended = state.is_final().then(|| unix_secs(SystemTime::now()));
        self.with(|db| {
            db.execute(
                "UPDATE jobs SET state = ?2, ended_at = COALESCE(?3, ended_at), summary = COALESCE(?4, summary),
                 error = COALESCE(?5, error) WHERE id = ?1",
                params![job, state.as_str(), ended, summary, error],
            )
            .map(drop)
        })
    }

    pub fn jobs(&self) -> Result<Vec<JobRecord>, JournalError> {
        let rows = self.with(|db| {
            let mut stmt = db.prepare("SELECT id, pair_id, state, started_at, ended_at, summary, error FROM jobs ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, JobId>(0)?,
                    r.get::<_, PairId>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?;
            rows.collect::<Result<Vec<_>, _>>()
        })?;
        rows.into_iter()
            .map(|(id, pair_id, state, started, ended, summary, error)| {
                Ok(JobRecord {
                    id,
                    pair_id,
                    state: state.parse().map_err(|message| JournalError::Corrupt {
                        path: self.path.clone(),
                        message,
                    })?,
                    started_at: from_unix_secs(started),
                    ended_at: ended.map(from_unix_secs),
                    summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
                    error,
                })
            })
            .collect()
    }

    /// Jobs that were running when the process died become Interrupted; returns them.
    pub fn interrupt_running(&self) -> Result<Vec<JobId>, JournalError> {
        self.with(|db| {
            let tx = db.transaction()?;
            let ids = {
                let mut stmt =
                    tx.prepare("SELECT id FROM jobs WHERE state IN ('running', 'queued')")?;
                stmt.query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<JobId>, _>>()?
            };
            tx.execute(
                "UPDATE jobs SET state = 'interrupted' WHERE state IN ('running', 'queued')",
                [],
            )?;
            tx.commit()?;
            Ok(ids)
        })
    }
}

/// The columns [`remote_row`] reads, in its order.
const PAIR_COLUMNS: &str = "SELECT id, remote_id, remote_path, local_dir, mode FROM pairs";

/// A pair's columns before its mode is parsed.
type PairRow = (PairId, RemoteId, String, String, String);

fn pair_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PairRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

const REMOTE_COLUMNS: &str =
    "SELECT id, name, url, username, allow_http, server_kind, is_demo FROM remotes";

fn remote_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Remote> {
    Ok(Remote {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        user: r.get(3)?,
        allow_http: r.get(4)?,
        server_kind: r.get(5)?,
        is_demo: r.get(6)?,
    })
}

fn escape_like(pattern: &str) -> String {
    let (head, tail) = pattern.split_at(pattern.len() - 1);
    let escaped = head
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}{tail}")
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn from_unix_secs(s: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(s.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let journal = Journal::open(&path).unwrap();
        let remote = journal
            .add_remote("demo", "http://127.0.0.1:1/", None, false)
            .unwrap();
        let pair = journal
            .ensure_pair(remote, "", Path::new("/tmp/x"), Mode::Download)
            .unwrap();
        assert_eq!(
            journal
                .ensure_pair(remote, "", Path::new("/tmp/x"), Mode::TwoWay)
                .unwrap(),
            pair
        );
        let entry = Agreed {
            path: "a_b/c%d".into(),
            is_dir: false,
            size: 3,
            local_mtime: Some(1_700_000_000_123_456_789),
            etag: Some("\"e\"".into()),
            remote_mtime: Some(1_700_000_000),
            local_inode: Some(42),
            file_id: Some("00000042oc".into()),
        };
        journal
            .agree_all(
                pair,
                &[
                    entry.clone(),
                    Agreed {
                        path: "axb/c".into(),
                        ..entry.clone()
                    },
                ],
            )
            .unwrap();
        let job = journal.create_job(pair).unwrap();
        journal
            .set_job_state(job, JobState::Running, None, None)
            .unwrap();
        drop(journal);

        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.pair(pair).unwrap().unwrap().mode, Mode::TwoWay);
        assert_eq!(journal.agreed(pair).unwrap().len(), 2);
        journal.forget(pair, "a_b").unwrap();
        let left: Vec<_> = journal
            .agreed(pair)
            .unwrap()
            .into_iter()
            .map(|a| a.path)
            .collect();
        assert_eq!(
            left,
            ["axb/c"],
            "below a_b goes; the '_' is not a LIKE wildcard"
        );
        assert_eq!(journal.agreed(pair).unwrap()[0].local_inode, Some(42));
        journal.rekey(pair, "axb", "moved/here").unwrap();
        let moved: Vec<_> = journal
            .agreed(pair)
            .unwrap()
            .into_iter()
            .map(|a| (a.path, a.file_id))
            .collect();
        assert_eq!(
            moved,
            [("moved/here/c".to_owned(), Some("00000042oc".to_owned()))],
            "a move carries the agreed state and its identities"
        );
        assert_eq!(journal.interrupt_running().unwrap(), vec![job]);
        assert_eq!(journal.jobs().unwrap()[0].state, JobState::Interrupted);
    }
}
