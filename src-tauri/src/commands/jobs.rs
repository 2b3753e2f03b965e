//! Jobs: start a sync, follow it through a Channel, pause, resume, cancel, and look back.
//! A job outlives the command that started it; the channel is only a view onto it.

use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::{Runtime, State, Window};
use tidesync_engine::{JobId, PairId};

use crate::dto::{JobRecordDto, JobSnapshotDto, SyncEvent};
use crate::error::Error;
use crate::sink::ChannelSink;
use crate::state::AppState;

/// Starts a sync of the pair in the background and streams its progress to `on_event`.
/// Returns the job's id at once.
#[tauri::command]
pub async fn start_sync<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    pair_id: PairId,
    on_event: Channel<SyncEvent>,
) -> Result<JobId, Error> {
    let job = state.engine().await?.start(pair_id).await?;
    state
        .engine()
        .await?
        .attach(job, window.label(), Arc::new(ChannelSink(on_event)))?;
    Ok(job)
}

/// Streams a running job's progress to `on_event`: a snapshot first, then live events. It
/// replaces the channel this window attached before (after a reload or a resume).
#[tauri::command]
pub async fn attach_job<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    job_id: JobId,
    on_event: Channel<SyncEvent>,
) -> Result<(), Error> {
    state
        .engine()
        .await?
        .attach(job_id, window.label(), Arc::new(ChannelSink(on_event)))?;
    Ok(())
}

/// Syncs every pair now ("Sync all now"): automatic pairs are asked to, others start; a pair
/// already syncing is left to finish. Returns the jobs started; the job list shows them all.
#[tauri::command]
pub async fn sync_all(state: State<'_, AppState>) -> Result<Vec<JobId>, Error> {
    Ok(state.engine().await?.sync_all_now().await?)
}

#[tauri::command]
pub async fn pause_job(state: State<'_, AppState>, job_id: JobId) -> Result<(), Error> {
    Ok(state.engine().await?.pause(job_id)?)
}

#[tauri::command]
pub async fn resume_job(state: State<'_, AppState>, job_id: JobId) -> Result<(), Error> {
    Ok(state.engine().await?.resume(job_id)?)
}

#[tauri::command]
pub async fn cancel_job(state: State<'_, AppState>, job_id: JobId) -> Result<(), Error> {
    Ok(state.engine().await?.cancel(job_id)?)
}

/// The jobs of this run of the app, with their latest progress, oldest first.
#[tauri::command]
pub async fn list_jobs(state: State<'_, AppState>) -> Result<Vec<JobSnapshotDto>, Error> {
    Ok(state.engine().await?.live_jobs())
}

/// Every job the journal remembers, newest first, with its result.
#[tauri::command]
pub async fn job_history(state: State<'_, AppState>) -> Result<Vec<JobRecordDto>, Error> {
    let mut history: Vec<JobRecordDto> = state
        .engine()
        .await?
        .history()
        .await?
        .into_iter()
        .map(JobRecordDto::from)
        .collect();
    history.reverse();
    Ok(history)
}
