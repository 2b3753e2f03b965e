//! Pairs: a remote folder synced with a local one. The local folder never comes from the
//! webview as a path: the user picks it in the native dialog (desktop), or names a folder the
//! app creates in its documents folder (phones, tests).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use tauri::{AppHandle, Runtime, State};
use tidesync_engine::{DeleteDecision, JobId, JobState, PairId, PairSettings, RemoteId};

use crate::dto::{
    ConflictDto, DeleteDecisionDto, LocalFolderDto, ModeDto, PairDto, PairSettingsDto,
    RefusedDeletesDto, TrashedDto,
};
use crate::error::Error;
use crate::state::AppState;

/// Every pair, with what automatic sync is doing and when each last synced.
#[tauri::command]
pub async fn list_pairs(state: State<'_, AppState>) -> Result<Vec<PairDto>, Error> {
    let engine = &state.engine().await?;
    let mut last_synced: HashMap<PairId, SystemTime> = HashMap::new();
    for job in engine.history().await? {
        if let (JobState::Completed, Some(ended)) = (job.state, job.ended_at) {
            let latest = last_synced.entry(job.pair_id).or_insert(ended);
            *latest = (*latest).max(ended);
        }
    }
    Ok(engine
        .pairs()
        .await?
        .into_iter()
        .map(|pair| {
            let (auto, synced) = (engine.auto_status(pair.id), last_synced.get(&pair.id));
            PairDto::new(pair, auto, synced.copied())
        })
        .collect())
}

/// Sets a pair's mode and settings (the sheet's "Save"). What the journal knows is kept, so
/// the next sync goes on from the last one. Turning automatic sync on asks, once, for
/// permission to notify.
#[tauri::command]
pub async fn update_pair<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: PairId,
    mode: ModeDto,
    settings: PairSettingsDto,
) -> Result<PairDto, Error> {
    let settings = PairSettings::try_from(settings)?;
    let was_auto = state.engine().await?.pair(id).await?.settings.auto_sync;
    let pair = state
        .engine()
        .await?
        .update_pair(id, mode.into(), settings)
        .await?;
    if pair.settings.auto_sync && !was_auto {
        crate::notices::ask_permission(&app).await;
    }
    let auto = state.engine().await?.auto_status(id);
    Ok(PairDto::new(pair, auto, None))
}

/// The conflict copies in a pair's folder, newest first.
#[tauri::command]
pub async fn list_conflicts(
    state: State<'_, AppState>,
    pair_id: PairId,
) -> Result<Vec<ConflictDto>, Error> {
    Ok(state
        .engine()
        .await?
        .conflicts(pair_id)
        .await?
        .into_iter()
        .map(|copy| ConflictDto::new(pair_id, copy))
        .collect())
}

/// Shows a conflict copy in the desktop's file manager. It takes the pair and the copy's
/// path in it, and reveals only a copy the engine lists: never a path of the webview's.
#[tauri::command]
pub async fn reveal_conflict<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    pair_id: PairId,
    path: String,
) -> Result<(), Error> {
    let listed = state.engine().await?.conflicts(pair_id).await?;
    if !listed.iter().any(|c| c.path == path) {
        return Err(Error::InvalidInput(format!(
            "'{path}' is not a conflict copy of this folder"
        )));
    }
    let file = state
        .engine()
        .await?
        .pair(pair_id)
        .await?
        .local_dir
        .join(&path);
    crate::commands::app::reveal(&app, file).await
}

/// What the delete guard refused in a pair's last sync, if anything.
#[tauri::command]
pub async fn refused_deletes(
    state: State<'_, AppState>,
    pair_id: PairId,
) -> Result<Option<RefusedDeletesDto>, Error> {
    state.engine().await?.pair(pair_id).await?;
    Ok(state
        .engine()
        .await?
        .refused_deletes(pair_id)
        .map(|refused| RefusedDeletesDto::new(pair_id, refused)))
}

/// Carries out the user's decision about refused deletes; returns the sync that does it.
#[tauri::command]
pub async fn decide_deletes(
    state: State<'_, AppState>,
    pair_id: PairId,
    decision: DeleteDecisionDto,
) -> Result<JobId, Error> {
    let decision = match decision {
        DeleteDecisionDto::DeleteThemToo => DeleteDecision::DeleteThemToo,
        DeleteDecisionDto::KeepThem => DeleteDecision::KeepThem,
    };
    Ok(state
        .engine()
        .await?
        .decide_deletes(pair_id, decision)
        .await?)
}

/// What syncs removed from a pair's folder (its trash), newest first.
#[tauri::command]
pub async fn list_trash(
    state: State<'_, AppState>,
    pair_id: PairId,
) -> Result<Vec<TrashedDto>, Error> {
    Ok(state
        .engine()
        .await?
        .trash(pair_id)
        .await?
        .into_iter()
        .map(|entry| TrashedDto::new(pair_id, entry))
        .collect())
}

/// Puts a removed file back in its pair's folder; returns where it went (its path, or
/// `name (restored).ext` beside a file that took it). The next sync uploads it.
#[tauri::command]
pub async fn restore_trashed(
    state: State<'_, AppState>,
    pair_id: PairId,
    id: String,
) -> Result<String, Error> {
    Ok(state.engine().await?.restore_trashed(pair_id, id).await?)
}

/// Deletes everything in a pair's trash; returns how many files went.
#[tauri::command]
pub async fn empty_trash(state: State<'_, AppState>, pair_id: PairId) -> Result<u32, Error> {
    let gone = state.engine().await?.empty_trash(pair_id).await?;
    Ok(u32::try_from(gone).unwrap_or(u32::MAX))
}

/// Pairs `remote_path` on the remote with a local folder, after checking the remote folder
/// exists.
#[tauri::command]
pub async fn add_pair<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    remote_id: RemoteId,
    remote_path: String,
    local: LocalFolderDto,
    mode: ModeDto,
) -> Result<PairDto, Error> {
    state
        .engine()
        .await?
        .check_folder(remote_id, &remote_path)
        .await?;
    let local_dir = match local {
        LocalFolderDto::Pick => pick_folder(&app).await?,
        LocalFolderDto::Named { name } => {
            let dir = state.places.folders.join(folder_name(&name)?);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|source| Error::LocalFolder {
                    path: dir.clone(),
                    source,
                })?;
            dir
        }
    };
    let id = state
        .engine()
        .await?
        .ensure_pair(remote_id, &remote_path, &local_dir, mode.into())
        .await?;
    Ok(state.engine().await?.pair(id).await?.into())
}

/// Forgets a pair and its sync state; the files on both sides stay.
#[tauri::command]
pub async fn remove_pair(state: State<'_, AppState>, id: PairId) -> Result<(), Error> {
    Ok(state.engine().await?.remove_pair(id).await?)
}

/// A folder name typed by a person: one plain segment, nothing that climbs or hides.
fn folder_name(name: &str) -> Result<&str, Error> {
    let name = name.trim();
    let bad = name.is_empty()
        || name.len() > 120
        || name == "."
        || name == ".."
        || name.starts_with('.')
        || name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '\0' | ':') || c.is_control());
    if bad {
        return Err(Error::InvalidInput(format!(
            "'{name}' cannot be a folder name: use letters, digits and spaces, without / \\ : or a leading dot."
        )));
    }
    Ok(name)
}

/// Opens the native folder dialog and waits for the choice without blocking a worker.
#[cfg(desktop)]
async fn pick_folder<R: Runtime>(app: &AppHandle<R>) -> Result<PathBuf, Error> {
    use tauri_plugin_dialog::DialogExt;
    let (chosen, choice) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Choose the local folder to sync")
        .pick_folder(move |folder| {
            let _ = chosen.send(folder);
        });
    let folder = choice.await.ok().flatten().ok_or(Error::NoFolderChosen)?;
    folder
        .into_path()
        .map_err(|e| Error::InvalidInput(format!("the chosen folder is not usable: {e}")))
}

/// Phones have no folder dialog the app can sync into: folders are named instead.
#[cfg(mobile)]
async fn pick_folder<R: Runtime>(_app: &AppHandle<R>) -> Result<PathBuf, Error> {
    Err(Error::InvalidInput(
        "Choosing a folder is not available on phones; give the folder a name instead.".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::folder_name;

    #[test]
    fn folder_names_are_one_plain_segment() {
        assert_eq!(folder_name("  Photos 2026 ").unwrap(), "Photos 2026");
        assert_eq!(folder_name("Über Café").unwrap(), "Über Café");
        for bad in [
            "", " ", ".", "..", "../etc", "/abs", "a/b", "a\\b", "nul\0", ".hidden", "c:",
        ] {
            assert!(folder_name(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
