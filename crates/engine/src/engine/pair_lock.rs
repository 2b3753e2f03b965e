//! One process at a time per pair: a run holds an OS file lock on `locks/pair-<id>.lock` in the
//! engine's data folder, so the app and the CLI (or two CLIs) on one journal never sync the
//! same pair at once. The lock goes with the process, however it ends; the file keeps the
//! holder's process id for the message the other one shows.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::model::PairId;

/// Why a pair could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum PairLockError {
    #[error(
        "this pair is already syncing in another Tidesync (process {pid}); it syncs here once \
         that one is done"
    )]
    Held { pid: String },
    #[error("the pair's lock {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A held lock on one pair; released when dropped.
#[derive(Debug)]
pub struct PairLock {
    _file: std::fs::File,
}

impl PairLock {
    /// Takes the lock of `pair` in `data_dir` without waiting. Blocking (file system calls).
    pub fn take(data_dir: &Path, pair: PairId) -> Result<PairLock, PairLockError> {
        let folder = data_dir.join("locks");
        let path = folder.join(format!("pair-{}.lock", pair.0));
        let io = |source| PairLockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&folder).map_err(io)?;
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                return Err(PairLockError::Held {
                    pid: Some(pid.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "unknown".into()),
                });
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(io(error)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(PairLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_process_id() {
        let dir = tempfile::tempdir().unwrap();
        let held = PairLock::take(dir.path(), PairId(3)).unwrap();
        let refused = PairLock::take(dir.path(), PairId(3)).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains(&format!("process {}", std::process::id())),
            "{refused}"
        );
        PairLock::take(dir.path(), PairId(4)).expect("another pair is free");
        drop(held);
        PairLock::take(dir.path(), PairId(3)).expect("free once released");
    }
}
