//! The lifecycle controller: what the user does to one job (pause, resume, cancel) and what the
//! platform does to all of them (suspend, resume, shutdown). Each writes down why it cancels a
//! token before it does, so the job's driver knows what the stop means.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::driver::Job;
use super::{Engine, EngineError, lock};
use crate::model::{JobId, StopReason};

impl Engine {
    /// Pauses a job: its run stops at the next safe point and keeps its checkpoint.
    pub fn pause(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.job(id)?;
        {
            let mut control = lock(&job.control);
            control.paused = true;
            if control.reason != Some(StopReason::Cancelled) {
                control.reason = Some(StopReason::Paused);
            }
            if let Some(run) = &control.run {
                run.cancel();
            }
        }
        // A job already waiting (suspended) wakes to show it is paused now.
        job.wake.notify_one();
        Ok(())
    }

    /// Resumes a paused job (it still waits if the app is suspended).
    pub fn resume(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.job(id)?;
        lock(&job.control).paused = false;
        job.wake.notify_one();
        Ok(())
    }

    /// Cancels a job: it ends as Cancelled. Its part files stay for the next sync of the pair.
    pub fn cancel(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.job(id)?;
        lock(&job.control).reason = Some(StopReason::Cancelled);
        job.token.cancel();
        Ok(())
    }

    /// The app went to the background: every run stops and checkpoints (waiting at most
    /// `suspend_wait`), and the connection pools are dropped. Safe to call any number of
    /// times, in any order with [`Engine::resume_all`]. Returns how long it took.
    pub async fn suspend(&self) -> Duration {
        let started = Instant::now();
        self.inner.suspended.store(true, Ordering::SeqCst);
        let jobs: Vec<Arc<Job>> = lock(&self.inner.jobs).values().cloned().collect();
        for job in &jobs {
            let mut control = lock(&job.control);
            if let Some(run) = control.run.clone()
                && !run.is_cancelled()
            {
                control.reason.get_or_insert(StopReason::Suspended);
                run.cancel();
            }
        }
        let waits = jobs.iter().map(|job| {
            let mut running = job.running.subscribe();
            async move {
                let _ = running.wait_for(|r| !r).await;
            }
        });
        let all = futures_util::future::join_all(waits);
        if tokio::time::timeout(self.inner.options.suspend_wait, all)
            .await
            .is_err()
        {
            tracing::warn!("some jobs did not checkpoint within the suspend window");
        }
        self.inner.clients.close_all();
        started.elapsed()
    }

    /// The app is back: jobs that were suspended run again from their checkpoints.
    /// Idempotent; a job the user paused stays paused.
    pub fn resume_all(&self) {
        self.inner.suspended.store(false, Ordering::SeqCst);
        self.inner.resumed.notify_waiters();
        for job in lock(&self.inner.jobs).values() {
            job.wake.notify_one();
        }
        self.nudge_auto();
    }

    /// Whether the engine is suspended.
    pub fn is_suspended(&self) -> bool {
        self.inner.suspended.load(Ordering::SeqCst)
    }

    /// Stops the engine: cancels the root token and waits (at most `shutdown_wait`) for every
    /// job to checkpoint. Unfinished jobs are Interrupted in the journal and resume on the
    /// next start.
    pub async fn shutdown(&self) {
        self.inner.root.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(self.inner.options.shutdown_wait, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some jobs did not stop within the shutdown window");
        }
    }
}
