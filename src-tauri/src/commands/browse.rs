//! A server's folders for a person choosing one: browsed a level at a time, and made on the
//! spot.

use tauri::State;
use tidesync_engine::RemoteId;

use crate::AppState;
use crate::dto::BrowsedDto;
use crate::error::Error;

/// What `path` (from the server's address; `""` for its top) holds: folders first, with
/// their sizes where the server reports them.
#[tauri::command]
pub async fn browse_server(
    state: State<'_, AppState>,
    remote_id: RemoteId,
    path: String,
) -> Result<Vec<BrowsedDto>, Error> {
    Ok(state
        .engine()
        .await?
        .browse(remote_id, &path)
        .await?
        .into_iter()
        .map(BrowsedDto::from)
        .collect())
}

/// Makes the folder `path` on the server (its parent must exist).
#[tauri::command]
pub async fn make_server_folder(
    state: State<'_, AppState>,
    remote_id: RemoteId,
    path: String,
) -> Result<(), Error> {
    Ok(state
        .engine()
        .await?
        .make_remote_folder(remote_id, &path)
        .await?)
}
