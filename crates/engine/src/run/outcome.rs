//! How one action ended, as the run counts it: in the summary and the progress, as an error of
//! its file, or as the end of the run; and what the adaptive limit learns from it. Shared by
//! the plan's executor and the early downloads.

use tidesync_webdav::{Answer, Concurrency};

use super::Context;
use super::error::{RunError, is_disk_full};
use super::shared::{Effect, record_error, record_lasting_error};
use crate::model::Summary;
use crate::progress::{FileAction, JobEvent};
use crate::transfer::TransferError;

/// An action's path and how it ended.
pub(super) type Finished = (String, Result<Effect, TransferError>);

/// Transfers up to this size tell the adaptive limit about the server's answer time: their
/// time is round trips, where a larger file's is bandwidth.
pub(super) const SAMPLE_MAX: u64 = 256 * 1024;

/// How a transfer ended, for the adaptive limit: overloaded when it failed so, or when the
/// server said it was overloaded while it ran (`client.overloads()` grew past `before`),
/// though the client's own retries then got through.
pub(super) fn answer_of<T>(
    result: &Result<T, TransferError>,
    client: &dyn crate::remote::Remote,
    before: u64,
) -> Answer {
    match result {
        Err(TransferError::Remote(error)) if error.is_overload() => Answer::Overloaded,
        _ if client.overloads() > before => Answer::Overloaded,
        _ => Answer::Answered,
    }
}

pub(super) fn account_for(
    ctx: &Context,
    summary: &mut Summary,
    (path, result): Finished,
    stopped: &mut bool,
    fatal: &mut Option<RunError>,
) {
    ctx.hub.file_ended(&path);
    match result {
        Ok(done) => {
            let Some(action) = done.action else { return };
            if done.verified {
                summary.files_verified += 1;
            }
            match action {
                FileAction::Downloaded => {
                    summary.files_downloaded += 1;
                    summary.bytes_downloaded += done.bytes;
                }
                FileAction::Uploaded => {
                    summary.files_uploaded += 1;
                    summary.bytes_uploaded += done.bytes;
                }
                FileAction::Conflict => {
                    summary.conflicts += 1;
                    summary.bytes_downloaded += done.bytes;
                }
                FileAction::DeletedLocal => summary.deleted_local += 1,
                FileAction::DeletedRemote => summary.deleted_remote += 1,
                FileAction::CreatedFolder => {}
                FileAction::Moved => summary.moved += 1,
            }
            if action != FileAction::CreatedFolder {
                ctx.hub.update(|s| s.files_done += 1);
            }
            ctx.hub.emit(JobEvent::FileDone { path, action });
        }
        Err(error) => match severity(error) {
            Severity::Stopped => *stopped = true,
            Severity::EndsRun(error) => {
                fatal.get_or_insert(error);
            }
            Severity::File(
                error @ (TransferError::ThroughLink { .. } | TransferError::TooLong { .. }),
            ) => record_lasting_error(ctx, summary, &path, &file_message(error)),
            Severity::File(error) => record_error(ctx, summary, &path, &file_message(error)),
        },
    }
}

/// What an action's error means beyond its own file.
pub(super) enum Severity {
    /// The run was stopped.
    Stopped,
    /// The whole run cannot go on (credentials, a full disk or server, the journal).
    EndsRun(RunError),
    /// Only this file could not be synced.
    File(TransferError),
}

pub(super) fn severity(error: TransferError) -> Severity {
    match error {
        TransferError::Stopped => Severity::Stopped,
        TransferError::Remote(e) if e.is_auth() || e.is_insufficient_storage() => {
            Severity::EndsRun(RunError::from(e))
        }
        TransferError::Journal(e) => Severity::EndsRun(RunError::Journal(e)),
        TransferError::Local {
            path: local,
            source,
        } if is_disk_full(&source) => Severity::EndsRun(RunError::Local {
            path: local,
            source,
        }),
        other => Severity::File(other),
    }
}

/// A file's error in words for the user.
fn file_message(error: TransferError) -> String {
    match error {
        TransferError::Remote(e) if e.is_locked() => format!(
            "{e}: the file is locked on the server (a person or an app has it open); it \
             will be synced next time"
        ),
        TransferError::Remote(e) if e.is_forbidden() => format!(
            "{e}: the server does not allow this account to change it (a permission, not the \
             password)"
        ),
        other => other.to_string(),
    }
}

/// Transfers at once from the start on a connection that multiplexes (HTTP/2): Apache and
/// nginx allow 100 streams on one connection, and each costs no handshake, so the usual
/// start (a few, doubling each window) would only spend round trips. The limit still comes
/// down where answers show a queue.
const MULTIPLEXED_START: usize = 32;

/// Starts `transfers` higher once the server is known to answer over HTTP/2.
pub(super) fn widen_if_multiplexed(ctx: &Context, transfers: &mut Concurrency) {
    if ctx.client.multiplexes() {
        transfers.start_at_least(MULTIPLEXED_START);
    }
}
