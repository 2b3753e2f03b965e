//! What the app keeps for its whole life: the engine (which holds the password store), the
//! lifecycle handle, where its folders are, and the embedded demo server once started.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager, Runtime};
use tidesync_demo::DavServer;
use tidesync_engine::Engine;
use tokio::sync::Mutex;

use crate::error::Error;
use crate::lifecycle::Lifecycle;

/// The managed state every command reaches through `State<'_, AppState>`.
pub struct AppState {
    pub engine: Engine,
    pub lifecycle: Lifecycle,
    pub places: Places,
    /// The demo remote's server, once `add_demo_remote` (or start-up) started it.
    pub demo: Mutex<Option<DavServer>>,
}

/// Where the app keeps things.
#[derive(Debug, Clone)]
pub struct Places {
    /// The journal, the password file, the demo content.
    pub data: PathBuf,
    /// Where folders the app creates for pairs go (the demo folder, named folders on phones).
    pub folders: PathBuf,
    /// Where the daily log files go.
    pub logs: PathBuf,
}

impl Places {
    /// The platform's folders for this app.
    pub fn of<R: Runtime>(app: &AppHandle<R>) -> Result<Places, Error> {
        let paths = app.path();
        let data = paths
            .app_data_dir()
            .map_err(|source| Error::DataDir { source })?;
        let logs = paths.app_log_dir().unwrap_or_else(|_| data.join("logs"));
        // Documents where the platform has them (the app's own on iOS and Android), else home.
        let folders = paths
            .document_dir()
            .or_else(|_| paths.home_dir())
            .map(|dir| dir.join("Tidesync"))
            .unwrap_or_else(|_| data.join("folders"));
        Ok(Places {
            data,
            folders,
            logs,
        })
    }

    /// Everything below one folder: for tests, which must not touch the user's real folders.
    pub fn under(root: &Path) -> Places {
        Places {
            data: root.join("data"),
            folders: root.join("folders"),
            logs: root.join("logs"),
        }
    }
}
