//! Where a small download's last step runs: on the blocking pool, or on the async worker
//! itself once this run has seen the disk do it in well under a thread hand-off.
//!
//! A small file ends with one blocking call (open, write, stamp the mtime, `fdatasync`, check
//! the target, rename, stat). On a disk that call waits for the device, so it belongs on the
//! blocking pool. On tmpfs, or a disk whose flush returns at once, it takes ~10–20 µs, and the
//! hand-off to the pool costs more than the work: two wake-ups and context switches per file.
//! Measured on two cores, a 10,000-file download into tmpfs spent 1.15 CPU-s with every finish
//! on the pool and 0.75 with them inline, and took 1.6 s instead of 1.25 s (the server, paced
//! by a quicker client, spent less too).
//!
//! tokio's rule of thumb is that a task may run 10–100 µs between awaits. So each run first
//! times its small finishes on the pool ([`PROBES`] in a row under [`QUICK`] switch inlining
//! on), then times every inline one. A disk that needs a flush per file (250 µs on this
//! machine's ext4) never passes the probes; a tmpfs does within its first files.
//!
//! An inline finish over [`STALL`] may be the disk, or the thread preempted mid-finish: on two
//! cores shared with a busy server that happens once every ten thousand files or so, and
//! reading each as the disk sent a 100,000-file download back to the pool after its first
//! few thousand files, for good (the bar doubled with each). A disk that stalls does so
//! again soon, or for long. So a stall sends the finishes back to the pool, until twice as
//! many probes in a row were quick again, when it lasted over [`LONG_STALL`] or came within
//! [`STALL_WINDOW`] inline finishes of the one before; a lone short one is let pass.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Consecutive quick finishes on the pool before finishes run inline.
pub const PROBES: u32 = 8;
/// A finish on the pool at most this long counts as quick.
pub const QUICK: Duration = Duration::from_micros(100);
/// An inline finish longer than this stalled the worker.
pub const STALL: Duration = Duration::from_millis(1);
/// A stall this long sends the finishes back to the pool at once: longer than a scheduler
/// keeps a runnable thread waiting on a busy machine.
pub const LONG_STALL: Duration = Duration::from_millis(10);
/// A stall within this many inline finishes of the previous one sends them back to the pool.
pub const STALL_WINDOW: u32 = 1000;
/// Only finishes of files at most this large are inlined or count as probes: a larger file's
/// flush is its bytes, which the pool overlaps with the network.
pub const INLINE_MAX: u64 = 256 * 1024;

/// One run's measure of its disk; shared by every transfer of the run.
#[derive(Debug)]
pub struct QuickDisk {
    /// Quick finishes on the pool in a row.
    quick_in_a_row: AtomicU32,
    /// How many in a row switch inlining on: [`PROBES`], doubled by every stall that counts.
    needed: AtomicU32,
    /// Inline finishes since the last stall (saturating; none yet reads as long ago).
    since_stall: AtomicU32,
}

impl Default for QuickDisk {
    fn default() -> Self {
        QuickDisk {
            quick_in_a_row: AtomicU32::new(0),
            needed: AtomicU32::new(PROBES),
            since_stall: AtomicU32::new(u32::MAX),
        }
    }
}

impl QuickDisk {
    /// Runs `work`, the last blocking step of a file of `size` bytes, where it costs least.
    pub async fn run<T: Send + 'static>(
        &self,
        size: u64,
        work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        let small = size <= INLINE_MAX;
        if small && self.inlines() {
            let started = Instant::now();
            let result = work();
            self.inline_took(started.elapsed());
            return result;
        }
        let (result, took) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = work();
            (result, started.elapsed())
        })
        .await
        .map_err(std::io::Error::other)?;
        if small {
            self.pooled_took(took);
        }
        result
    }

    /// A measure whose probes have all passed: small finishes run inline from the start.
    #[cfg(test)]
    pub(crate) fn proven() -> QuickDisk {
        QuickDisk {
            quick_in_a_row: AtomicU32::new(PROBES),
            needed: AtomicU32::new(PROBES),
            since_stall: AtomicU32::new(u32::MAX),
        }
    }

    /// Whether small finishes now run on the caller's thread.
    pub fn inlines(&self) -> bool {
        self.quick_in_a_row.load(Ordering::Relaxed) >= self.needed.load(Ordering::Relaxed)
    }

    /// Counts a small finish that ran on the pool in `took`.
    fn pooled_took(&self, took: Duration) {
        if took <= QUICK {
            self.quick_in_a_row.fetch_add(1, Ordering::Relaxed);
        } else {
            self.quick_in_a_row.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a finish that ran inline in `took`.
    fn inline_took(&self, took: Duration) {
        if took <= STALL {
            // One read-modify-write, so finishes on several workers never undo a stall's reset;
            // the closure never refuses, so it cannot fail.
            let _ = self
                .since_stall
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_add(1))
                });
            return;
        }
        let since = self.since_stall.swap(0, Ordering::Relaxed);
        if took <= LONG_STALL && since >= STALL_WINDOW {
            tracing::debug!(?took, since, "a lone short stall: finishes stay inline");
            return;
        }
        let needed = self.needed.load(Ordering::Relaxed).saturating_mul(2);
        self.needed.store(needed, Ordering::Relaxed);
        self.quick_in_a_row.store(0, Ordering::Relaxed);
        tracing::debug!(
            ?took,
            since,
            needed,
            "a small file's finish stalled the worker: back to the blocking pool"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inlines_only_after_enough_quick_probes_in_a_row() {
        let disk = QuickDisk::default();
        for _ in 0..PROBES - 1 {
            disk.pooled_took(QUICK / 2);
        }
        disk.pooled_took(QUICK * 3);
        assert!(!disk.inlines(), "a slow probe starts the count again");
        for _ in 0..PROBES - 1 {
            disk.pooled_took(QUICK);
        }
        assert!(!disk.inlines());
        disk.pooled_took(Duration::ZERO);
        assert!(disk.inlines());
    }

    /// A disk that passed its probes.
    fn proven_by_probes() -> QuickDisk {
        let disk = QuickDisk::default();
        for _ in 0..PROBES {
            disk.pooled_took(Duration::ZERO);
        }
        assert!(disk.inlines());
        disk
    }

    #[test]
    fn a_lone_short_stall_is_let_pass_as_a_preempted_thread() {
        let disk = proven_by_probes();
        disk.inline_took(STALL);
        assert!(
            disk.inlines(),
            "a finish as long as the bound is not a stall"
        );
        disk.inline_took(STALL * 3);
        assert!(disk.inlines(), "the first short stall is let pass");
        for _ in 0..STALL_WINDOW {
            disk.inline_took(Duration::ZERO);
        }
        disk.inline_took(STALL * 3);
        assert!(disk.inlines(), "and so is one a window of finishes later");
    }

    #[test]
    fn a_stall_soon_after_another_sends_finishes_back_until_twice_as_many_probes_pass() {
        let disk = proven_by_probes();
        disk.inline_took(STALL * 2);
        for _ in 0..STALL_WINDOW - 1 {
            disk.inline_took(Duration::ZERO);
        }
        disk.inline_took(STALL * 2);
        assert!(!disk.inlines(), "a second stall within the window counts");
        for _ in 0..2 * PROBES - 1 {
            disk.pooled_took(Duration::ZERO);
        }
        assert!(!disk.inlines(), "the bar is twice as high after a stall");
        disk.pooled_took(Duration::ZERO);
        assert!(disk.inlines());
        disk.inline_took(STALL * 2);
        assert!(
            !disk.inlines(),
            "the stall before is still within the window"
        );
        for _ in 0..4 * PROBES - 1 {
            disk.pooled_took(Duration::ZERO);
        }
        assert!(!disk.inlines(), "and twice as high again after the next");
    }

    #[test]
    fn a_long_stall_sends_finishes_back_at_once() {
        let disk = proven_by_probes();
        disk.inline_took(LONG_STALL + Duration::from_millis(1));
        assert!(!disk.inlines());
    }

    #[tokio::test]
    async fn small_work_runs_on_the_callers_thread_once_the_disk_proved_quick() {
        let disk = QuickDisk::proven();
        let caller = std::thread::current().id();
        let here = disk
            .run(INLINE_MAX, move || Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_eq!(here, caller);
        let large = disk
            .run(INLINE_MAX + 1, move || Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_ne!(large, caller, "a large finish still goes to the pool");
    }

    #[tokio::test]
    async fn an_unproven_disk_runs_work_on_the_pool() {
        let disk = QuickDisk::default();
        let caller = std::thread::current().id();
        let ran = disk
            .run(1, move || Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_ne!(ran, caller);
    }
}
