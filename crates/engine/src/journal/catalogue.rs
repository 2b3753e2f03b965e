//! Remotes and pairs as the journal keeps them (no secrets).

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use super::{Journal, JournalError};
use crate::model::{Mode, Pair, PairId, PairSettings, Remote, RemoteId, ServerHints};

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

    /// Points a remote at a new address (the demo remote gets a new port every start); what
    /// was learnt about the old one is forgotten.
    pub fn set_remote_url(&self, id: RemoteId, url: &str) -> Result<(), JournalError> {
        self.with(|db| {
            forget_listed_elsewhere(db, id, url)?;
            db.execute(
                &format!(
                    "UPDATE remotes SET {}, url = ?2 WHERE id = ?1",
                    forget_hints("?2")
                ),
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

    fn pair_from(&self, row: PairRow) -> Result<Pair, JournalError> {
        let corrupt = |message: String| JournalError::Corrupt {
            path: self.path.clone(),
            message,
        };
        let transfers = row
            .transfers
            .map(|n| u16::try_from(n).map_err(|_| corrupt(format!("{n} transfers"))))
            .transpose()?;
        let limit = |bytes: Option<i64>| bytes.and_then(|b| NonZeroU64::new(b.max(0) as u64));
        Ok(Pair {
            id: row.id,
            remote_id: row.remote_id,
            remote_path: row.remote_path,
            local_dir: PathBuf::from(row.local_dir),
            mode: row.mode.parse().map_err(corrupt)?,
            settings: PairSettings {
                auto_sync: row.auto_sync,
                check_every: Duration::from_secs(row.check_every.max(0) as u64),
                transfers,
                upload_limit: limit(row.upload_limit),
                download_limit: limit(row.download_limit),
                trash_days: row.trash_days.and_then(|d| u32::try_from(d).ok()),
                trash_bytes: row.trash_bytes.and_then(|b| u64::try_from(b).ok()),
                server_backup: row.server_backup,
                excludes: match row.excludes {
                    Some(json) => serde_json::from_str(&json)
                        .map_err(|e| corrupt(format!("the pair's excludes: {e}")))?,
                    None => Default::default(),
                },
            },
        })
    }

    /// Sets a pair's mode and settings; its agreed state is kept. False when there is no
    /// such pair.
    pub fn update_pair(
        &self,
        id: PairId,
        mode: Mode,
        settings: &PairSettings,
    ) -> Result<bool, JournalError> {
        let limit = |l: Option<NonZeroU64>| l.map(|b| b.get().min(i64::MAX as u64) as i64);
        let excludes = (settings.excludes != Default::default())
            .then(|| serde_json::to_string(&settings.excludes).expect("excludes serialize"));
        self.with(|db| {
            db.execute(
                "UPDATE pairs SET mode = ?2, auto_sync = ?3, check_every = ?4, transfers = ?5,
                        upload_limit = ?6, download_limit = ?7, trash_days = ?8,
                        trash_bytes = ?9, server_backup = ?10, excludes = ?11
                 WHERE id = ?1",
                params![
                    id,
                    mode.as_str(),
                    settings.auto_sync,
                    settings.check_every.as_secs() as i64,
                    settings.transfers,
                    limit(settings.upload_limit),
                    limit(settings.download_limit),
                    settings.trash_days,
                    settings.trash_bytes.map(|b| b.min(i64::MAX as u64) as i64),
                    settings.server_backup,
                    excludes,
                ],
            )
            .map(|n| n > 0)
        })
    }

    /// Records what listings taught about the remote's server.
    pub fn set_server_hints(&self, id: RemoteId, hints: ServerHints) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute(
                "UPDATE remotes SET refuses_depth_infinity = ?2, owncloud_properties = ?3, \
                 proven_version = ?4, proven_at = ?5, proven_preconditions = ?6, \
                 proven_refuses_bulk = ?7, folder_etags_follow = ?8 WHERE id = ?1",
                params![
                    id,
                    hints.refuses_depth_infinity,
                    hints.owncloud_properties,
                    hints.proven.as_ref().map(|p| p.version.as_str()),
                    hints.proven.as_ref().map_or(0, |p| p.at as i64),
                    hints.proven.as_ref().is_some_and(|p| p.preconditions),
                    hints.proven.as_ref().is_some_and(|p| p.refuses_bulk),
                    hints.folder_etags_follow,
                ],
            )
            .map(drop)
        })
    }

    /// Renames a remote or points it elsewhere (forgetting what was learnt about the old
    /// address); false when there is no such remote.
    pub fn update_remote(
        &self,
        id: RemoteId,
        name: &str,
        url: &str,
        user: Option<&str>,
    ) -> Result<bool, JournalError> {
        self.with(|db| {
            forget_listed_elsewhere(db, id, url)?;
            db.execute(
                &format!(
                    "UPDATE remotes SET name = ?2, username = ?4, {}, url = ?3 WHERE id = ?1",
                    forget_hints("?3")
                ),
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
const PAIR_COLUMNS: &str = "SELECT id, remote_id, remote_path, local_dir, mode, auto_sync, \
     check_every, transfers, upload_limit, download_limit, trash_days, trash_bytes, server_backup, \
     excludes FROM pairs";

/// A pair's columns before they are checked.
struct PairRow {
    id: PairId,
    remote_id: RemoteId,
    remote_path: String,
    local_dir: String,
    mode: String,
    auto_sync: bool,
    check_every: i64,
    transfers: Option<i64>,
    upload_limit: Option<i64>,
    download_limit: Option<i64>,
    trash_days: Option<i64>,
    trash_bytes: Option<i64>,
    server_backup: Option<String>,
    excludes: Option<String>,
}

fn pair_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PairRow> {
    Ok(PairRow {
        id: r.get(0)?,
        remote_id: r.get(1)?,
        remote_path: r.get(2)?,
        local_dir: r.get(3)?,
        mode: r.get(4)?,
        auto_sync: r.get(5)?,
        check_every: r.get(6)?,
        transfers: r.get(7)?,
        upload_limit: r.get(8)?,
        download_limit: r.get(9)?,
        trash_days: r.get(10)?,
        trash_bytes: r.get(11)?,
        server_backup: r.get(12)?,
        excludes: r.get(13)?,
    })
}

/// Forgets the trees recorded for the remote `id`'s pairs if it now points elsewhere than
/// `url`: another server's folders must all be listed.
fn forget_listed_elsewhere(
    db: &rusqlite::Connection,
    id: RemoteId,
    url: &str,
) -> rusqlite::Result<()> {
    db.execute(
        "DELETE FROM listed WHERE pair_id IN (SELECT id FROM pairs WHERE remote_id = ?1)
         AND (SELECT url FROM remotes WHERE id = ?1) IS NOT ?2",
        params![id, url],
    )
    .map(drop)
}

/// A `SET` clause that clears the server hints of a remote whose address changes to the
/// parameter `new_url` (SQLite reads the row's values from before the update).
fn forget_hints(new_url: &str) -> String {
    format!(
        "refuses_depth_infinity = CASE WHEN url = {new_url} THEN refuses_depth_infinity ELSE 0 END, \
         owncloud_properties = CASE WHEN url = {new_url} THEN owncloud_properties END, \
         proven_version = CASE WHEN url = {new_url} THEN proven_version END, \
         folder_etags_follow = CASE WHEN url = {new_url} THEN folder_etags_follow END"
    )
}

const REMOTE_COLUMNS: &str = "SELECT id, name, url, username, allow_http, server_kind, is_demo, \
     pin_sha256, refuses_depth_infinity, owncloud_properties, proven_version, proven_at, \
     proven_preconditions, proven_refuses_bulk, folder_etags_follow FROM remotes";

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
        hints: ServerHints {
            refuses_depth_infinity: r.get(8)?,
            owncloud_properties: r.get(9)?,
            proven: r
                .get::<_, Option<String>>(10)?
                .map(|version| -> rusqlite::Result<_> {
                    Ok(tidesync_webdav::Proven {
                        version,
                        at: r.get::<_, i64>(11)?.max(0) as u64,
                        preconditions: r.get(12)?,
                        refuses_bulk: r.get(13)?,
                    })
                })
                .transpose()?,
            folder_etags_follow: r.get(14)?,
        },
    })
}
