//! Where a folder's watcher puts what it sees, for its pair's supervisor: a set of paths, so a
//! path reported a thousand times is held once, and bounded, so a `git checkout` of 100,000
//! files does not queue 100,000 events. Past [`MAX_PENDING`] paths the set becomes an
//! overflow, and the supervisor scans the whole folder instead.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use super::local::LocalChange;

/// Past this many pending paths, a scan of the folder is cheaper than looking at each.
pub const MAX_PENDING: usize = 10_000;

/// The watcher's end: cheap to clone, callable from any thread (platform watchers call from
/// their own).
#[derive(Debug, Clone)]
pub struct ChangeSink(Arc<Shared>);

/// The supervisor's end; dropping it tells the watchers nobody listens any more.
#[derive(Debug)]
pub(super) struct ChangeQueue(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Changes>,
    added: Notify,
    closed: AtomicBool,
}

/// Changes not yet looked at.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Changes {
    pub(super) paths: BTreeSet<PathBuf>,
    /// Events were lost, or too many came: the whole folder is looked at.
    pub(super) overflowed: bool,
}

/// A queue and the sink that fills it.
pub(super) fn queue() -> (ChangeSink, ChangeQueue) {
    let shared = Arc::new(Shared::default());
    (ChangeSink(shared.clone()), ChangeQueue(shared))
}

impl ChangeSink {
    /// Adds what a watcher saw; false once nobody listens (automatic sync stopped).
    pub fn send(&self, change: LocalChange) -> bool {
        if self.is_closed() {
            return false;
        }
        {
            let mut pending = self
                .0
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match change {
                LocalChange::Paths(_) if pending.overflowed => {}
                LocalChange::Paths(paths) => {
                    pending.paths.extend(paths);
                    if pending.paths.len() > MAX_PENDING {
                        pending.paths = BTreeSet::new();
                        pending.overflowed = true;
                    }
                }
                LocalChange::Overflow => {
                    pending.paths = BTreeSet::new();
                    pending.overflowed = true;
                }
            }
        }
        self.0.added.notify_one();
        true
    }

    /// Whether nobody listens any more.
    pub fn is_closed(&self) -> bool {
        self.0.closed.load(Ordering::Acquire)
    }
}

impl ChangeQueue {
    /// Waits until something was added since the last call (at once when it was meanwhile).
    pub(super) async fn added(&self) {
        self.0.added.notified().await;
    }

    /// Takes everything pending.
    pub(super) fn take(&self) -> Changes {
        std::mem::take(
            &mut *self
                .0
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

impl Drop for ChangeQueue {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_reported_often_is_held_once_and_too_many_become_an_overflow() {
        let (sink, queue) = queue();
        for _ in 0..1_000 {
            assert!(sink.send(LocalChange::Paths(vec!["/f/a.txt".into()])));
        }
        assert_eq!(queue.take().paths.len(), 1);
        for n in 0..=MAX_PENDING {
            sink.send(LocalChange::Paths(vec![format!("/f/{n}").into()]));
        }
        let taken = queue.take();
        assert!(
            taken.overflowed && taken.paths.is_empty(),
            "bounded: {}",
            taken.paths.len()
        );
        sink.send(LocalChange::Paths(vec!["/f/b.txt".into()]));
        assert_eq!(queue.take().paths.len(), 1, "taken, it starts over");
        drop(queue);
        assert!(!sink.send(LocalChange::Overflow), "nobody listens");
        assert!(sink.is_closed());
    }
}
