//! What the app remembers about the person using it, apart from remotes and pairs (those are
//! the engine's): whether it told them it lives on in the tray, and whether it offered to
//! start at login. Both are asked once; a new launch must not ask again.
//!
//! A small JSON file in the data folder, written whole to a temporary name, synced and
//! renamed, so a crash or a power cut mid-write leaves the old file. A file that cannot be
//! read counts as empty: the worst that costs is one question asked twice.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The file's name in the data folder.
const FILE: &str = "settings.json";

/// The remembered answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Remembered {
    /// The first close of the window said where Tidesync went.
    pub told_about_tray: bool,
    /// The person was asked whether Tidesync starts at login (and answered either way).
    pub start_at_login_offered: bool,
}

/// The settings file and its contents, shared by commands and window events.
pub struct Settings {
    path: PathBuf,
    now: Mutex<Remembered>,
}

impl Settings {
    /// Reads the settings kept in `data_dir`, or none.
    pub fn load(data_dir: &Path) -> Settings {
        let path = data_dir.join(FILE);
        let now = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(%error, path = %path.display(), "unreadable settings; starting afresh");
                Remembered::default()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Remembered::default(),
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "settings could not be read");
                Remembered::default()
            }
        };
        Settings {
            path,
            now: Mutex::new(now),
        }
    }

    /// What is remembered now.
    pub fn get(&self) -> Remembered {
        self.now
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes what is remembered with `change` and writes it down; returns whether `change`
    /// changed anything. The lock is held over the write, so two changes never interleave.
    pub fn update(&self, change: impl FnOnce(&mut Remembered)) -> Result<bool, Error> {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = now.clone();
        change(&mut next);
        if next == *now {
            return Ok(false);
        }
        write(&self.path, &next)?;
        *now = next;
        Ok(true)
    }
}

fn write(path: &Path, remembered: &Remembered) -> Result<(), Error> {
    let failed = |source| Error::Settings {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(remembered)
        .map_err(std::io::Error::other)
        .map_err(failed)?;
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(failed)?;
    }
    let temporary = path.with_extension("json.new");
    let mut file = std::fs::File::create(&temporary).map_err(failed)?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_survives_a_new_launch_and_is_written_once() {
        let folder = tempfile::tempdir().unwrap();
        let settings = Settings::load(folder.path());
        assert_eq!(settings.get(), Remembered::default());
        assert!(settings.update(|r| r.told_about_tray = true).unwrap());
        assert!(
            !settings.update(|r| r.told_about_tray = true).unwrap(),
            "nothing new to write"
        );
        let again = Settings::load(folder.path());
        assert!(again.get().told_about_tray);
        assert!(!again.get().start_at_login_offered);
    }

    #[test]
    fn a_damaged_file_counts_as_no_answers_and_is_replaced_by_the_next() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join(FILE), b"{ not json").unwrap();
        let settings = Settings::load(folder.path());
        assert_eq!(settings.get(), Remembered::default());
        settings
            .update(|r| r.start_at_login_offered = true)
            .unwrap();
        assert!(Settings::load(folder.path()).get().start_at_login_offered);
    }
}
