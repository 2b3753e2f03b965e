//! Pairs: a remote folder synced with a local one. The local folder never comes from the
//! webview as a path: the user picks it in the native dialog (desktop), or names a folder the
//! app creates in its documents folder (phones, tests).

use std::path::PathBuf;

use tauri::{AppHandle, Runtime, State};
use tidesync_engine::{PairId, RemoteId};

use crate::dto::{LocalFolderDto, ModeDto, PairDto};
use crate::error::Error;
use crate::state::AppState;

#[tauri::command]
pub async fn list_pairs(state: State<'_, AppState>) -> Result<Vec<PairDto>, Error> {
    Ok(state
        .engine
        .pairs()
        .await?
        .into_iter()
        .map(PairDto::from)
        .collect())
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
    state.engine.check_folder(remote_id, &remote_path).await?;
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
        .engine
        .ensure_pair(remote_id, &remote_path, &local_dir, mode.into())
        .await?;
    Ok(state.engine.pair(id).await?.into())
}

/// Forgets a pair and its sync state; the files on both sides stay.
#[tauri::command]
pub async fn remove_pair(state: State<'_, AppState>, id: PairId) -> Result<(), Error> {
    Ok(state.engine.remove_pair(id).await?)
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
