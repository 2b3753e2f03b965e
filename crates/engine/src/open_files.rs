//! How many files a job may transfer at once, given the process's limit on open files.
//!
//! Every transfer in flight holds up to two descriptors: its connection (one per request on
//! HTTP/1.1) and its file. At the default ceiling of 128 that is 256, which is the whole soft
//! limit a macOS or iOS process starts with; Linux and Android start at 1,024. Past the limit
//! every `open` and `connect` fails with `EMFILE`, and a sync would report hundreds of files it
//! could not write. So, as Go's runtime does for every Go program (rclone among them), the
//! engine raises the soft limit toward the hard one when it opens ([`raise`]), and a run never
//! transfers more at once than what is left after a reserve for everything else the process
//! holds ([`transfers_within`]): the journal, the watcher, logs, and in the app the web view.

/// The soft limit the engine asks for: enough for several pairs at the ceiling each, and
/// under macOS's per-process bound (`kern.maxfilesperproc`, 10,240 by default), above which
/// `setrlimit` fails.
#[cfg(unix)]
const WANTED: u64 = 4096;

/// Descriptors kept for everything but transfers, at least.
const RESERVE: u64 = 64;

/// Descriptors one transfer may hold: its connection and its file.
const PER_TRANSFER: u64 = 2;

/// Raises this process's soft limit on open files toward [`WANTED`] (never above the hard
/// limit, never lowering it) and returns the soft limit in force: `None` where there is no
/// such limit (Windows) or it is unlimited. A refusal leaves the limit as it was, and says so
/// in the log: the run then transfers fewer files at once.
#[cfg(unix)]
pub fn raise() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    let current = now.current?;
    let target = now.maximum.map_or(WANTED, |hard| hard.min(WANTED));
    if current >= target {
        return Some(current);
    }
    let raised = Rlimit {
        current: Some(target),
        maximum: now.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some(target),
        Err(error) => {
            tracing::warn!(%error, current, target, "could not raise the limit on open files");
            Some(current)
        }
    }
}

/// Where the platform sets no limit on open files that transfers could reach.
#[cfg(not(unix))]
pub fn raise() -> Option<u64> {
    None
}

/// The most transfers at once under a soft limit of `open_files` (`None`: no limit): a
/// quarter of the limit, and at least [`RESERVE`], stays for everything else; each transfer
/// counts [`PER_TRANSFER`]. Never less than one.
pub fn transfers_within(open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return usize::MAX;
    };
    let reserve = RESERVE.max(limit / 4);
    let transfers = limit.saturating_sub(reserve) / PER_TRANSFER;
    usize::try_from(transfers).unwrap_or(usize::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_macos_default_limit_leaves_room_for_the_rest_of_the_process() {
        // 256 descriptors: 64 kept, 96 transfers of two each.
        assert_eq!(transfers_within(Some(256)), 96);
        assert_eq!(transfers_within(Some(1024)), 384);
        assert_eq!(transfers_within(Some(4096)), 1536);
    }

    #[test]
    fn a_tiny_limit_still_transfers_one_file_and_no_limit_caps_nothing() {
        assert_eq!(transfers_within(Some(10)), 1);
        assert_eq!(transfers_within(Some(0)), 1);
        assert_eq!(transfers_within(None), usize::MAX);
    }

    #[cfg(unix)]
    #[test]
    fn raising_reaches_the_wanted_limit_or_the_hard_one_and_never_lowers() {
        use rustix::process::{Resource, getrlimit};
        let before = getrlimit(Resource::Nofile);
        let now = raise();
        let after = getrlimit(Resource::Nofile);
        assert_eq!(now, after.current, "it returns the limit in force");
        assert_eq!(
            after.maximum, before.maximum,
            "the hard limit is left alone"
        );
        if let (Some(before), Some(after)) = (before.current, after.current) {
            assert!(after >= before, "never lowered: {before} → {after}");
            let reachable = getrlimit(Resource::Nofile)
                .maximum
                .map_or(WANTED, |h| h.min(WANTED));
            assert!(
                after >= reachable,
                "raised to {after}, {reachable} was allowed"
            );
        }
    }
}
