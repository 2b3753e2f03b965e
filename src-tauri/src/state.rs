//! What the app keeps for its whole life: the engine (which holds the password store), the
//! lifecycle handle, where its folders are, the embedded demo server once started, and the
//! app's own settings.

use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use tauri::{AppHandle, Manager, Runtime};
use tidesync_demo::DavServer;
use tidesync_engine::Engine;
use tokio::sync::{Mutex, SetOnce};

use crate::error::Error;
use crate::lifecycle::{Hint, Lifecycle};
use crate::settings::Settings;

/// The managed state every command reaches through `State<'_, AppState>`.
pub struct AppState {
    /// The engine and its lifecycle, set once they opened (or failed to). Start-up opens them
    /// in the background, so the window shows at once; a command that needs them waits.
    started: SetOnce<Result<Started, String>>,
    /// The last lifecycle hint that came before the engine opened (a phone suspending the
    /// app while it starts), applied once it has; the lock also orders the two.
    early_hint: std::sync::Mutex<Option<Hint>>,
    pub places: Places,
    /// The demo remote's server, once `add_demo_remote` (or start-up) started it.
    pub demo: Mutex<Option<DavServer>>,
    /// What the app asked the person once and must not ask again.
    pub settings: Settings,
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
            early_hint: std::sync::Mutex::new(None),
            settings: Settings::load(&places.data),
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

    /// Passes a lifecycle hint on to the engine's lifecycle, or keeps it until the engine
    /// opened: a suspend that comes while the journal opens must still suspend what start-up
    /// then resumes.
    pub fn hint(&self, hint: Hint) {
        let mut early = self
            .early_hint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match self.started_now() {
            Some(started) => started.lifecycle.hint(hint),
            None => *early = Some(hint),
        }
    }

    /// Records how start-up ended, and applies a hint that came before; only the first call
    /// counts.
    pub fn set_started(&self, started: Result<Started, Error>) {
        let mut early = self
            .early_hint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self
            .started
            .set(started.map_err(|error| error.to_string()))
            .is_err()
        {
            tracing::warn!("the engine was set up twice; the second is dropped");
        }
        if let Some(started) = self.started_now()
            && let Some(hint) = early.take()
        {
            started.lifecycle.hint(hint);
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

#[cfg(test)]
mod tests {
    use tidesync_engine::EngineOptions;

    use super::*;

    #[test]
    fn a_suspend_before_the_engine_opened_is_applied_once_it_has() {
        let root = tempfile::tempdir().unwrap();
        let state = AppState::new(Places::under(root.path()));
        state.hint(Hint::Suspend);
        let engine = tauri::async_runtime::block_on(Engine::open(
            &state.places.data,
            EngineOptions::default(),
        ))
        .unwrap();
        let lifecycle = Lifecycle::start(engine.clone(), |_| {});
        state.set_started(Ok(Started { engine, lifecycle }));
        let started = state.started_now().unwrap();
        // Hints apply in order: this one finds the app suspended already.
        let again = tauri::async_runtime::block_on(started.lifecycle.apply(Hint::Suspend));
        assert!(!again.changed, "the early suspend was applied");
        assert!(started.engine.is_suspended());
    }
}
