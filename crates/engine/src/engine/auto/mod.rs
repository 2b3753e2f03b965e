//! Automatic sync: per pair with it on, a [`supervisor`] task (under the engine's tracker,
//! its token a child of the root) that syncs on local changes, on server changes, on start,
//! resume and when the network is back. Turning it off cancels the task, its timers and its
//! watcher with it.

pub mod changes;
pub mod local;
mod server;
mod supervisor;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use supervisor::{DEBOUNCE, MAX_BACKOFF, MAX_DEBOUNCE, RETRY_FIRST};

use super::{Engine, EngineError, lock};
use crate::model::{JobId, Pair, PairId};
use crate::remote::Remote;
use supervisor::Supervisor;

/// What automatic sync of a pair is doing, for the UI's "next check in 12 min".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoStatus {
    /// The folder is watched for changes (not yet, before the first run made it).
    pub watching: bool,
    /// When the server is checked next; `None` while a run is under way or the app is
    /// suspended.
    pub next_check: Option<SystemTime>,
    pub server_check: ServerCheck,
    /// Why the last check of the server failed, if it did.
    pub error: Option<String>,
}

/// How the server is checked for changes.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ServerCheckDto"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ServerCheck {
    /// One `Depth: 0` request: the server showed its folder ETags follow every change.
    RootOnly,
    /// The whole listing, compared with the one before.
    Listing,
}

/// A running supervisor, as the engine holds it.
pub(super) struct Handle {
    token: CancellationToken,
    nudge: Arc<Notify>,
    status: watch::Receiver<AutoStatus>,
}

/// The supervisors, by pair.
pub(super) type Supervisors = std::sync::Mutex<HashMap<PairId, Handle>>;

impl Engine {
    /// Starts automatic sync for every pair that has it on (each syncs once now). Call once
    /// credentials are set, at start.
    pub async fn start_auto_sync(&self) -> Result<(), EngineError> {
        for pair in self.pairs().await? {
            self.reconfigure_auto(&pair);
        }
        Ok(())
    }

    /// Starts, restarts or stops `pair`'s supervisor to match its settings.
    pub(super) fn reconfigure_auto(&self, pair: &Pair) {
        self.stop_auto(pair.id);
        if !pair.settings.auto_sync || self.inner.root.is_cancelled() {
            return;
        }
        let token = self.inner.root.child_token();
        let nudge = Arc::new(Notify::new());
        let (status, watched) = watch::channel(AutoStatus {
            watching: false,
            next_check: None,
            server_check: ServerCheck::Listing,
            error: None,
        });
        let supervisor = Supervisor {
            engine: self.clone(),
            pair: pair.clone(),
            token: token.clone(),
            nudge: nudge.clone(),
            status,
        };
        lock(&self.inner.auto).insert(
            pair.id,
            Handle {
                token,
                nudge,
                status: watched,
            },
        );
        let span = tracing::info_span!("auto", pair = pair.id.0);
        self.inner.tracker.spawn(supervisor.run().instrument(span));
    }

    /// Stops `pair`'s automatic sync, if it was on; a run under way goes on.
    pub(super) fn stop_auto(&self, pair: PairId) {
        if let Some(handle) = lock(&self.inner.auto).remove(&pair) {
            handle.token.cancel();
            let _ = self.inner.auto_changes.send(pair);
        }
    }

    /// The pairs whose [`AutoStatus`] changes from now on (a check scheduled, a watcher
    /// started, a check failed); a receiver that lags is told how many it missed.
    pub fn subscribe_auto(&self) -> tokio::sync::broadcast::Receiver<PairId> {
        self.inner.auto_changes.subscribe()
    }

    /// What `pair`'s automatic sync is doing; `None` when it is off.
    pub fn auto_status(&self, pair: PairId) -> Option<AutoStatus> {
        lock(&self.inner.auto)
            .get(&pair)
            .map(|h| h.status.borrow().clone())
    }

    /// Asks every automatic pair to sync now (after a resume).
    pub(super) fn nudge_auto(&self) {
        for handle in lock(&self.inner.auto).values() {
            handle.nudge.notify_one();
        }
    }

    /// Syncs every pair now: a pair with automatic sync is asked to, any other is started,
    /// and a pair already syncing is left to finish. Returns the jobs started here.
    pub async fn sync_all_now(&self) -> Result<Vec<JobId>, EngineError> {
        let mut started = Vec::new();
        for pair in self.pairs().await? {
            if let Some(handle) = lock(&self.inner.auto).get(&pair.id) {
                handle.nudge.notify_one();
                continue;
            }
            if self.unfinished_job(pair.id).is_none() {
                started.push(self.start(pair.id).await?);
            }
        }
        Ok(started)
    }

    /// Tasks under the engine's tracker: jobs and automatic-sync supervisors. Zero once
    /// every job has ended and automatic sync is off everywhere.
    pub fn background_tasks(&self) -> usize {
        self.inner.tracker.len()
    }

    /// The client a run of `pair` uses (the same connection pool).
    pub(super) async fn pair_client(&self, pair: &Pair) -> Result<Arc<dyn Remote>, EngineError> {
        let remote = self.remote(pair.remote_id).await?;
        Ok(self.inner.clients.client(
            &remote,
            &pair.remote_path,
            super::connect::Limits::of(pair),
        )?)
    }
}
