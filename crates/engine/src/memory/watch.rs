//! A folder watcher a test drives by hand: what it "sees" is what the test sends, so tests
//! of automatic sync decide exactly which events arrive and when (in paused time too).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::engine::auto::changes::ChangeSink;

use crate::engine::{LocalChange, WatchError, WatchSource};

/// Hands each watched folder's change sink to the test.
#[derive(Debug, Default)]
pub struct ManualWatch {
    watching: Arc<Mutex<HashMap<PathBuf, ChangeSink>>>,
}

impl ManualWatch {
    pub fn new() -> Arc<ManualWatch> {
        Arc::new(ManualWatch::default())
    }

    /// Reports `change` for the folder `root` as its watcher would; false when nobody
    /// watches it (automatic sync is off, or its task has ended).
    pub fn send(&self, root: &Path, change: LocalChange) -> bool {
        self.lock()
            .get(root)
            .is_some_and(|sender| sender.send(change))
    }

    /// Whether anybody watches `root` now.
    pub fn is_watched(&self, root: &Path) -> bool {
        self.lock().get(root).is_some_and(|s| !s.is_closed())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, ChangeSink>> {
        self.watching.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WatchSource for ManualWatch {
    fn watch(&self, root: &Path, changes: ChangeSink) -> Result<Box<dyn Send>, WatchError> {
        self.lock().insert(root.to_owned(), changes);
        Ok(Box::new(()))
    }
}
