//! What the app keeps for its whole life: the engine (which holds the password store), the
//! lifecycle handle, where its folders are, and the embedded demo server once started.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager, Runtime};
use tidesync_demo::DavServer;
use tidesync_engine::Engine;
use tokio::sync::{Mutex, SetOnce};

use crate::error::Error;
use crate::lifecycle::Lifecycle;

/// The managed state every command reaches through `State<'_, AppState>`.
pub struct AppState {
    /// The engine and its lifecycle, set once they opened (or failed to). Start-up opens them
    /// in the background, so the window shows at once; a command that needs them waits.
    started: SetOnce<Result<Started, String>>,
    pub places: Places,
    /// The demo remote's server, once `add_demo_remote` (or start-up) started it.
    pub demo: Mutex<Option<DavServer>>,
}

/// What start-up opens.
pub struct Started {
    pub engine: Engine,
    pub lifecycle: Lifecycle,
}

impl AppState {
    /// The state before the engine opened.
    pub fn new(places: Places) -> AppState {
        AppState {
            started: SetOnce::new(),
            places,
            demo: Mutex::new(None),
        }
    }

    /// The engine, waiting while it opens; why it did not open, if it failed to.
    pub async fn engine(&self) -> Result<&Engine, Error> {
        Ok(&self.started().await?.engine)
    }

    /// The engine and its lifecycle, waiting while they open.
    pub async fn started(&self) -> Result<&Started, Error> {
        self.started
            .wait()
            .await
            .as_ref()
            .map_err(|reason| Error::Startup(reason.clone()))
    }

    /// The engine and its lifecycle if they are open now, without waiting: for window events
    /// and the exit, which cannot wait.
    pub fn started_now(&self) -> Option<&Started> {
        self.started.get().and_then(|started| started.as_ref().ok())
    }

    /// Records how start-up ended; only the first call counts.
    pub fn set_started(&self, started: Result<Started, Error>) {
        if self
            .started
            .set(started.map_err(|error| error.to_string()))
            .is_err()
        {
            tracing::warn!("the engine was set up twice; the second is dropped");
        }
    }
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
