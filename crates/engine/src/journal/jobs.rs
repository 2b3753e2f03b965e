//! Jobs as the journal keeps them: their states, summaries and errors, for the history and
//! for resuming after a crash.

use std::time::{Duration, SystemTime};

use rusqlite::params;

use super::{Journal, JournalError};
use crate::model::{JobId, JobState, PairId, Summary};

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

impl Journal {
    pub fn create_job(&self, pair: PairId) -> Result<JobId, JournalError> {
        self.with(|db| {
            db.execute(
                "INSERT INTO jobs (pair_id, state, started_at) VALUES (?1, 'queued', ?2)",
                params![pair, unix_secs(SystemTime::now())],
            )?;
            Ok(JobId(db.last_insert_rowid()))
        })
    }

    /// How many jobs `pair` has had, this one included.
    pub fn job_count(&self, pair: PairId) -> Result<u64, JournalError> {
        self.with(|db| {
            db.query_row(
                "SELECT COUNT(*) FROM jobs WHERE pair_id = ?1",
                [pair],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
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

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn from_unix_secs(s: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(s.max(0) as u64)
}
