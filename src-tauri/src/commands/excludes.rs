//! What a pair does not sync: the files that failed and when they are tried again, the
//! default patterns, the items its last sync left out, a preview of what edited patterns
//! would leave out, and the answers about folders it left out or holds back.

use tauri::{AppHandle, Runtime, State};
use tidesync_engine::filter::{DEFAULT_PATTERNS, Excludes};
use tidesync_engine::{JobId, PairId};

use crate::AppState;
use crate::dto::{DefaultPatternDto, ExcludesDto, FailureDto, FilterPreviewDto, IgnoredDto};
use crate::error::Error;

/// The patterns every pair leaves out unless its settings switch them off.
#[tauri::command]
pub fn default_excludes() -> Vec<DefaultPatternDto> {
    DEFAULT_PATTERNS
        .iter()
        .map(|d| DefaultPatternDto {
            pattern: d.pattern.to_owned(),
            what: d.what.to_owned(),
        })
        .collect()
}

/// The files the pair could not sync, and when automatic sync tries each again.
#[tauri::command]
pub async fn list_failures(
    state: State<'_, AppState>,
    pair_id: PairId,
) -> Result<Vec<FailureDto>, Error> {
    Ok(state
        .engine()
        .await?
        .failures(pair_id)
        .await?
        .into_iter()
        .map(FailureDto::from)
        .collect())
}

/// Shows a file the pair could not sync in the desktop's file manager: the file where it is
/// here, or its folder where it is not (a download that failed). Only a path the journal
/// lists as failed, so the webview cannot name any other.
#[tauri::command]
pub async fn reveal_failure<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    pair_id: PairId,
    path: String,
) -> Result<(), Error> {
    let engine = state.engine().await?;
    if !engine
        .failures(pair_id)
        .await?
        .iter()
        .any(|f| f.path == path)
    {
        return Err(Error::InvalidInput(format!(
            "'{path}' is not a file this folder failed to sync"
        )));
    }
    let file = engine.pair(pair_id).await?.local_dir.join(&path);
    let here = tokio::fs::symlink_metadata(&file).await.is_ok();
    match (here, file.parent()) {
        (false, Some(folder)) => crate::commands::app::open_folder(&app, folder.to_owned()).await,
        _ => crate::commands::app::reveal(&app, file).await,
    }
}

/// What the pair's last sync left out, and why.
#[tauri::command]
pub async fn list_ignored(
    state: State<'_, AppState>,
    pair_id: PairId,
) -> Result<Vec<IgnoredDto>, Error> {
    Ok(state
        .engine()
        .await?
        .ignored(pair_id)
        .await?
        .into_iter()
        .map(IgnoredDto::from)
        .collect())
}

/// Moves the copy here of `folder`, which the pair no longer syncs, into its trash; resolves
/// to how many files went. Refused for a folder still synced or while the pair syncs.
#[tauri::command]
pub async fn let_go_folder(
    state: State<'_, AppState>,
    pair_id: PairId,
    folder: String,
) -> Result<usize, Error> {
    Ok(state.engine().await?.let_go(pair_id, folder).await?)
}

/// The user's answer about a new server folder larger than the pair's limit: `sync` starts
/// the sync that brings it (resolving to the job), otherwise the folder is no longer chosen
/// to sync (resolving to `null`).
#[tauri::command]
pub async fn answer_new_folder(
    state: State<'_, AppState>,
    pair_id: PairId,
    path: String,
    sync: bool,
) -> Result<Option<JobId>, Error> {
    Ok(state
        .engine()
        .await?
        .answer_new_folder(pair_id, path, sync)
        .await?)
}

/// How much `excludes` would leave out of what the pair holds; a bad pattern is an
/// `invalidInput` error naming its line.
#[tauri::command]
pub async fn preview_excludes(
    state: State<'_, AppState>,
    pair_id: PairId,
    excludes: ExcludesDto,
) -> Result<FilterPreviewDto, Error> {
    let excludes = Excludes::try_from(excludes)?;
    Ok(state
        .engine()
        .await?
        .preview_excludes(pair_id, excludes)
        .await?
        .into())
}
