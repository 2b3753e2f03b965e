//! The journal: what the engine must remember across restarts and crashes, in SQLite.
//!
//! It holds remotes and pairs (no secrets), the last agreed state of every path of every pair,
//! jobs and their states, in-flight downloads (part-file offsets) and uploads (temp names).
//! WAL mode with `synchronous=FULL`: a committed change survives a crash of the process or of
//! the OS.
//!
//! Its parts: [`schema`] (the migrations), [`catalogue`] (remotes and pairs), [`files`]
//! (agreed state, download checkpoints, upload temps), [`jobs`], [`roots`] (each pair's
//! local folder as synced).
//!
//! Every method is synchronous and short; async callers go through [`Journal::call`], which
//! runs the closure on the blocking pool so no tokio worker ever waits on the disk. The
//! connection's mutex is only held inside that closure, never across an `.await`.

mod answers;
mod catalogue;
pub mod failures;
mod files;
mod jobs;
mod left_out;
mod listed;
mod roots;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

pub use files::{Agreed, Batch, PartialDownload};
pub use jobs::JobRecord;
pub use listed::ListedChanges;

use schema::MIGRATIONS;

use crate::model::{JobId, PairId, RemoteId};

/// Ids are stored as the row ids they are.
macro_rules! sql_id {
    ($($name:ident),*) => {$(
        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    )*};
}

sql_id!(RemoteId, PairId, JobId);

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

    /// Deletes `pair`'s rows at `paths` from `table`, one of the journal's tables keyed by
    /// pair and path, in one transaction.
    pub(super) fn delete_paths(
        &self,
        table: &'static str,
        pair: PairId,
        paths: &[String],
    ) -> Result<(), JournalError> {
        if paths.is_empty() {
            return Ok(());
        }
        let sql = format!("DELETE FROM {table} WHERE pair_id = ?1 AND path = ?2");
        self.with(|db| {
            let tx = db.transaction()?;
            for path in paths {
                tx.execute(&sql, rusqlite::params![pair, path])?;
            }
            tx.commit()
        })
    }

    pub(super) fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, JournalError> {
        let mut db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        work(&mut db).map_err(|source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobState, Mode, ServerHints};

    #[test]
    fn server_hints_are_kept_until_the_address_changes() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
        let url = "https://dav.example/files/";
        let remote = journal.add_remote("home", url, None, false).unwrap();
        let hints = |j: &Journal| j.remote(remote).unwrap().unwrap().hints;
        assert_eq!(
            hints(&journal),
            ServerHints::default(),
            "nothing learnt yet"
        );
        let learnt = ServerHints {
            refuses_depth_infinity: true,
            owncloud_properties: Some(false),
            proven: Some(tidesync_webdav::Proven {
                version: "31.0.6.2".into(),
                at: 1_800_000_000,
                preconditions: true,
                refuses_bulk: true,
            }),
            folder_etags_follow: Some(true),
        };
        journal.set_server_hints(remote, learnt.clone()).unwrap();
        assert_eq!(hints(&journal), learnt);
        let pair = journal
            .ensure_pair(remote, "", Path::new("/tmp/x"), Mode::TwoWay)
            .unwrap();
        let tree = [tidesync_webdav::Entry {
            path: tidesync_webdav::RemotePath::parse("a/b.txt").unwrap(),
            kind: tidesync_webdav::EntryKind::File,
            size: 3,
            etag: Some("\"e1\"".into()),
            modified: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)),
            checksums: vec!["SHA1:aa".into(), "MD5:bb".into()],
            file_id: Some("00000042oc".into()),
            permissions: Some("RGDNVW".into()),
            used_bytes: None,
        }];
        let everything = ListedChanges {
            gone: Vec::new(),
            changed: vec![0],
        };
        journal.update_listed(pair, &tree, &everything).unwrap();
        assert_eq!(journal.listed(pair).unwrap(), tree);
        journal
            .update_remote(remote, "renamed", url, Some("ann"))
            .unwrap();
        assert_eq!(hints(&journal), learnt, "the same server, renamed");
        assert_eq!(journal.listed(pair).unwrap(), tree, "its tree is kept");
        journal.set_remote_url(remote, url).unwrap();
        assert_eq!(hints(&journal), learnt, "the same address again");
        journal
            .update_remote(remote, "renamed", "https://other.example/", None)
            .unwrap();
        assert_eq!(hints(&journal), ServerHints::default(), "another server");
        assert!(journal.listed(pair).unwrap().is_empty(), "its tree is not");
        journal.update_listed(pair, &tree, &everything).unwrap();
        journal.set_server_hints(remote, learnt).unwrap();
        journal
            .set_remote_url(remote, "https://third.example/")
            .unwrap();
        assert_eq!(hints(&journal), ServerHints::default(), "and another");
        assert!(journal.listed(pair).unwrap().is_empty(), "with its tree");
    }

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
