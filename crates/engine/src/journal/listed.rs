//! The server's tree as each pair's last listing saw it, so that a listing on a server whose
//! folder ETags follow every change below them asks only for the folders that changed (see
//! `tidesync_webdav::Client::list_pruned` and `crate::run::listed`).
//!
//! The record is only ever replaced whole, in one transaction: a folder's row with a new ETag
//! next to its children's old rows would make the next listing skip a folder whose contents
//! it does not know.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::params;
use tidesync_webdav::{Entry, EntryKind, RemotePath};

use super::{Journal, JournalError};
use crate::model::PairId;

/// What changes between the recorded tree and a new listing's.
#[derive(Debug, Default)]
pub struct ListedChanges {
    /// Paths no longer on the server.
    pub gone: Vec<String>,
    /// Entries new or different, by index into the listing they came with.
    pub changed: Vec<usize>,
}

impl Journal {
    /// The tree `pair`'s last listing recorded, in no particular order.
    pub fn listed(&self, pair: PairId) -> Result<Vec<Entry>, JournalError> {
        let mut entries = Vec::new();
        self.each_listed(pair, |entry| entries.push(entry))?;
        Ok(entries)
    }

    /// Hands each entry of the tree `pair`'s last listing recorded to `each` as its row is
    /// read, so that a caller keeping them in its own structure never holds a large tree twice.
    pub fn each_listed(
        &self,
        pair: PairId,
        mut each: impl FnMut(Entry),
    ) -> Result<(), JournalError> {
        let mut bad_path = None;
        self.with(|db| {
            let mut stmt = db.prepare(
                "SELECT path, is_dir, size, etag, modified, checksums, file_id, permissions
                 FROM listed WHERE pair_id = ?1",
            )?;
            let mut rows = stmt.query([pair])?;
            while let Some(r) = rows.next()? {
                let path = r.get_ref(0)?.as_str()?;
                let Ok(path) = RemotePath::parse(path) else {
                    bad_path = Some(path.to_owned());
                    break;
                };
                let checksums: &str = r.get_ref(5)?.as_str()?;
                each(Entry {
                    path,
                    kind: if r.get::<_, bool>(1)? {
                        EntryKind::Folder
                    } else {
                        EntryKind::File
                    },
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                    etag: r.get(3)?,
                    modified: r.get::<_, Option<i64>>(4)?.map(from_nanos),
                    checksums: checksums.split_whitespace().map(str::to_owned).collect(),
                    file_id: r.get(6)?,
                    permissions: r.get(7)?,
                    used_bytes: None,
                });
            }
            Ok(())
        })?;
        match bad_path {
            Some(path) => Err(JournalError::Corrupt {
                path: self.path.clone(),
                message: format!("listed path {path} is not a server path"),
            }),
            None => Ok(()),
        }
    }

    /// Applies `changes` from `entries` (a new listing) to `pair`'s recorded tree, at once.
    pub fn update_listed(
        &self,
        pair: PairId,
        entries: &[Entry],
        changes: &ListedChanges,
    ) -> Result<(), JournalError> {
        self.with(|db| {
            let tx = db.transaction()?;
            {
                let mut delete =
                    tx.prepare("DELETE FROM listed WHERE pair_id = ?1 AND path = ?2")?;
                for path in &changes.gone {
                    delete.execute(params![pair, path])?;
                }
                let mut upsert = tx.prepare(
                    "INSERT OR REPLACE INTO listed
                     (pair_id, path, is_dir, size, etag, modified, checksums, file_id, permissions)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for entry in changes.changed.iter().filter_map(|&i| entries.get(i)) {
                    upsert.execute(params![
                        pair,
                        entry.path.as_str(),
                        entry.kind == EntryKind::Folder,
                        entry.size.min(i64::MAX as u64) as i64,
                        entry.etag,
                        entry.modified.map(to_nanos),
                        entry.checksums.join(" "),
                        entry.file_id,
                        entry.permissions,
                    ])?;
                }
            }
            tx.commit()
        })
    }

    /// Forgets `pair`'s recorded tree: its next listing asks for everything.
    pub fn forget_listed(&self, pair: PairId) -> Result<(), JournalError> {
        self.with(|db| {
            db.execute("DELETE FROM listed WHERE pair_id = ?1", [pair])
                .map(drop)
        })
    }
}

/// Nanoseconds since the epoch, negative before it (saturating far from it).
fn to_nanos(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

fn from_nanos(nanos: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_survive_the_round_trip_on_both_sides_of_the_epoch() {
        for time in [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_700_000_000, 123),
            UNIX_EPOCH - Duration::new(86_400, 5),
        ] {
            assert_eq!(from_nanos(to_nanos(time)), time);
        }
    }
}
