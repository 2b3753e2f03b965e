//! What a survey found: both sides and the journal as the plan sees them, the moves between
//! them, and the plan made from them. A leaf: the survey makes it, the executors read it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

use tidesync_webdav::{Entry, EntryKind};

use super::Context;
use super::error::RunError;
use crate::journal::{Agreed, PartialDownload};
use crate::model::{LocalState, Mode, RemoteState};
use crate::moves::{self, Move};
use crate::plan::{Action, Plan, plan, plan_unguarded};
use crate::progress::Phase;
use crate::scan::nanos;
use crate::transfer::resumable;

/// How many levels of moves inside moves one survey finds (the rest wait for the next pass).
const MOVE_DEPTH: usize = 8;

/// Both sides as the plan saw them, so each step can check nothing moved meanwhile.
pub(super) struct Survey {
    pub(super) local: BTreeMap<String, LocalState>,
    pub(super) remote: BTreeMap<String, RemoteState>,
    /// What both sides last agreed on, from the journal.
    pub(super) agreed: BTreeMap<String, Agreed>,
    /// The journal's download checkpoints, read once rather than once per file.
    pub(super) partials: HashMap<String, PartialDownload>,
}

/// A listed entry as the plan sees it.
pub(super) fn remote_state(e: Entry) -> RemoteState {
    RemoteState {
        is_dir: e.kind == EntryKind::Folder,
        size: e.size,
        etag: e.etag,
        mtime: e.modified.map(unix_secs),
        checksums: e.checksums,
        file_id: e.file_id,
    }
}

impl Survey {
    /// Finds the renames and moves made on either side and applies them to the trees, outer
    /// moves first: once applied, the moves inside them show.
    pub(super) fn find_moves(&mut self, mode: Mode, refused: &BTreeSet<String>) -> Vec<Move> {
        let mut moves = Vec::new();
        for _ in 0..MOVE_DEPTH {
            let found = moves::detect(&self.local, &self.remote, &self.agreed, mode, refused);
            if found.is_empty() {
                break;
            }
            moves::apply(&found, &mut self.local, &mut self.remote, &mut self.agreed);
            moves.extend(found);
        }
        moves
    }

    /// Plans what is left to do and shows the totals.
    pub(super) fn plan(&self, ctx: &Context, mode: Mode) -> Result<Plan, RunError> {
        let (local, remote, agreed) = (&self.local, &self.remote, &self.agreed);
        let plan = if ctx.mass_delete_guard {
            plan(local, remote, agreed, mode, ctx.delete_limit)?
        } else {
            plan_unguarded(local, remote, agreed, mode)
        };
        // What is left: a download resumes after its checkpoint, whose bytes were counted as done
        // by the run that received them.
        let bytes_left: u64 = plan
            .actions
            .iter()
            .map(|a| match a {
                Action::Download { path } | Action::Conflict { path } => {
                    remote.get(path).map_or(0, |r| {
                        r.size - resumable(self.partials.get(path), r).min(r.size)
                    })
                }
                Action::Upload { path } => local.get(path).map_or(0, |l| l.size),
                _ => 0,
            })
            .sum();
        // Files, as the summary counts them: a folder made on either side is no file.
        let files_left = plan
            .changes()
            .filter(|a| !matches!(a, Action::MkdirLocal { .. } | Action::MkdirRemote { .. }))
            .count() as u64;
        // Totals are what is done plus what is left, so a resumed job's bar does not jump back.
        ctx.hub.update(|s| {
            s.phase = Phase::Transferring;
            s.files_total = s.files_done + files_left;
            s.bytes_total = s.bytes_done + bytes_left;
        });
        Ok(plan)
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    (nanos(t) / 1_000_000_000) as i64
}
