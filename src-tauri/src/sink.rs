//! A job's progress stream into a webview: the engine's events as [`SyncEvent`]s on a Tauri
//! `Channel`.

use tauri::ipc::Channel;
use tidesync_engine::{JobEvent, Sink};

use crate::dto::SyncEvent;

/// Sends a job's events to one webview's channel. The hub coalesces snapshots and bounds the
/// queue before this, so sending never slows a transfer.
///
/// A channel keeps accepting messages after its page reloads, so a successful send does not
/// mean anyone listens: the UI re-attaches after every load and resume, which replaces this
/// sink (same window, same owner key).
pub struct ChannelSink(pub Channel<SyncEvent>);

impl Sink for ChannelSink {
    fn send(&self, event: JobEvent) -> bool {
        self.0.send(event.into()).is_ok()
    }
}
