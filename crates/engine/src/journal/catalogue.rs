//! Remotes and pairs as the journal keeps them (no secrets).

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, params};

use super::{Journal, JournalError};
use crate::model::{Mode, Pair, PairId, Remote, RemoteId};

impl Journal {
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
            Ok(RemoteId(db.last_insert_rowid()))
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

    /// Records the certificate the user trusts for the remote (`None`: the usual trust).
    pub fn set_remote_pin(
        &self,
        id: RemoteId,
        pin_sha256: Option<&str>,
    ) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "UPDATE remotes SET pin_sha256 = ?2 WHERE id = ?1",
                params![id, pin_sha256],
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
}

/// The columns [`pair_row`] reads, in its order.
const PAIR_COLUMNS: &str = "SELECT id, remote_id, remote_path, local_dir, mode FROM pairs";

/// A pair's columns before its mode is parsed.
type PairRow = (PairId, RemoteId, String, String, String);

fn pair_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PairRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

const REMOTE_COLUMNS: &str =
    "SELECT id, name, url, username, allow_http, server_kind, is_demo, pin_sha256 FROM remotes";

fn remote_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Remote> {
    Ok(Remote {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        user: r.get(3)?,
        allow_http: r.get(4)?,
        server_kind: r.get(5)?,
        is_demo: r.get(6)?,
        pin_sha256: r.get(7)?,
    })
}
