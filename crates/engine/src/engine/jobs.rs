//! The job registry: starting jobs, finding them, watching them, and forgetting old ones.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::driver::Job;
use super::{Engine, EngineError, JobChange, Outcome, lock};
use crate::journal::JobRecord;
use crate::model::{JobId, JobState, PairId};
use crate::progress::{AttachId, JobSnapshot, Sink};
use crate::scan::changed::Watched;

/// How many finished jobs stay in memory (see [`Engine::forget_old_jobs`]).
pub const FINISHED_KEPT: usize = 16;

impl Engine {
    /// Starts syncing `pair` in the background and returns the job's id at once.
    pub async fn start(&self, pair: PairId) -> Result<JobId, EngineError> {
        Ok(self.start_watched(pair, None).await?.0)
    }

    /// [`Engine::start`] for automatic sync, which hands the job what its watcher saw (see
    /// [`crate::scan::changed`]). Returns whether the job is a new one: a job already under
    /// way for the pair never got `watched`.
    pub(super) async fn start_watched(
        &self,
        pair: PairId,
        watched: Option<Arc<Watched>>,
    ) -> Result<(JobId, bool), EngineError> {
        if self.inner.root.is_cancelled() {
            return Err(EngineError::ShuttingDown);
        }
        // One job per pair: the check and the new job happen under one lock, so a second
        // start (the user's beside automatic sync's) gets the job under way.
        let _one_start_at_a_time = self.inner.starting.lock().await;
        if let Some(running) = self.unfinished_job(pair) {
            return Ok((running, false));
        }
        self.pair(pair).await?;
        let id = self.inner.journal.call(move |j| j.create_job(pair)).await?;
        self.spawn(id, pair, JobState::Queued, watched);
        Ok((id, true))
    }

    /// Restarts the jobs a previous process left unfinished (found Running or Interrupted);
    /// each continues from its checkpoint. Call once credentials are set.
    pub async fn restart_interrupted(&self) -> Result<Vec<JobId>, EngineError> {
        let interrupted = self
            .inner
            .journal
            .call(|j| {
                j.interrupt_running()?;
                Ok(j.jobs()?
                    .into_iter()
                    .filter(|r| r.state == JobState::Interrupted)
                    .collect::<Vec<_>>())
            })
            .await?;
        Ok(interrupted
            .into_iter()
            .map(|record| {
                self.spawn(record.id, record.pair_id, JobState::Interrupted, None);
                record.id
            })
            .collect())
    }

    pub(super) fn job(&self, id: JobId) -> Result<Arc<Job>, EngineError> {
        lock(&self.inner.jobs)
            .get(&id)
            .cloned()
            .ok_or(EngineError::NoJob(id))
    }

    /// Whether a job of `pair` has yet to end.
    pub(super) fn is_syncing(&self, pair: PairId) -> bool {
        self.unfinished_job(pair).is_some()
    }

    /// The job of `pair` that has yet to end, if any.
    pub fn unfinished_job(&self, pair: PairId) -> Option<JobId> {
        lock(&self.inner.jobs)
            .values()
            .find(|j| j.pair == pair && j.ended.borrow().is_none())
            .map(|j| j.id)
    }

    /// Keeps the [`FINISHED_KEPT`] most recent finished jobs in memory (a late subscriber still
    /// gets their last snapshot); older ones live on in the journal's history only, so a
    /// long-lived app does not grow with every sync it ever ran.
    pub(super) fn forget_old_jobs(&self) {
        let mut jobs = lock(&self.inner.jobs);
        let mut finished: Vec<JobId> = jobs
            .values()
            .filter(|j| j.ended.borrow().is_some())
            .map(|j| j.id)
            .collect();
        if finished.len() <= FINISHED_KEPT {
            return;
        }
        finished.sort_unstable();
        for id in &finished[..finished.len() - FINISHED_KEPT] {
            jobs.remove(id);
        }
    }

    /// Every job change from now on; a receiver that lags is told how many it missed.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<JobChange> {
        self.inner.changes.subscribe()
    }

    /// Subscribes `sink` to a job's progress; see [`crate::progress::Hub::attach`].
    pub fn attach(
        &self,
        id: JobId,
        owner: &str,
        sink: Arc<dyn Sink>,
    ) -> Result<AttachId, EngineError> {
        Ok(self.job(id)?.hub.attach(owner, sink))
    }

    /// The latest snapshot of a job known to this process.
    pub fn snapshot(&self, id: JobId) -> Result<JobSnapshot, EngineError> {
        Ok(self.job(id)?.hub.snapshot())
    }

    /// Every job this process knows, newest last.
    pub fn live_jobs(&self) -> Vec<JobSnapshot> {
        let mut jobs: Vec<_> = lock(&self.inner.jobs)
            .values()
            .map(|j| j.hub.snapshot())
            .collect();
        jobs.sort_by_key(|s| s.job_id);
        jobs
    }

    /// Every job the journal knows, with its end state and summary.
    pub async fn history(&self) -> Result<Vec<JobRecord>, EngineError> {
        Ok(self.inner.journal.call(|j| j.jobs()).await?)
    }

    /// Waits until the job ends and returns how.
    pub async fn wait(&self, id: JobId) -> Result<Outcome, EngineError> {
        let mut ended = self.job(id)?.ended.subscribe();
        let outcome = ended
            .wait_for(Option::is_some)
            .await
            .map_err(|_| EngineError::JobEnded(id))?
            .clone();
        outcome.ok_or(EngineError::JobEnded(id))
    }
}
