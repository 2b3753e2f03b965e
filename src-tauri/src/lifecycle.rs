//! Maps the platform's lifecycle hints onto the engine's suspend/resume controller.
//!
//! Window events are hints, not a protocol: every window reports Suspended and Resumed, Android
//! reports them for dialogs too, iOS may suspend without a matching resume (Control Center) and
//! reports focus instead. So hints go, in the order they arrived, through one task that keeps
//! the app's state and reaches the engine only when a hint changes it: two windows suspending
//! cause one suspend.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidesync_engine::Engine;
use tokio::sync::{mpsc, oneshot};
use ts_rs::TS;

/// What the platform says is happening to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Hint {
    Suspend,
    Resume,
}

/// What one hint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// False when the app already was in the state the hint asks for.
    pub changed: bool,
    /// How long a suspend took to checkpoint every job.
    pub took: Option<Duration>,
}

type Request = (Hint, Option<oneshot::Sender<Applied>>);

/// The handle windows and commands send hints through.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    hints: mpsc::UnboundedSender<Request>,
}

impl Lifecycle {
    /// Starts the task that applies hints to `engine`; it ends with the last handle.
    /// `on_change` runs after each hint that changed the state (the shell tells the windows).
    pub fn start(engine: Engine, on_change: impl Fn(Hint) + Send + 'static) -> Lifecycle {
        let (hints, mut requests) = mpsc::unbounded_channel::<Request>();
        tauri::async_runtime::spawn(async move {
            let mut suspended = false;
            while let Some((hint, reply)) = requests.recv().await {
                let applied = match hint {
                    Hint::Suspend if !suspended => {
                        suspended = true;
                        let took = engine.suspend().await;
                        tracing::info!(?took, "suspended: every job checkpointed");
                        Applied {
                            changed: true,
                            took: Some(took),
                        }
                    }
                    Hint::Resume if suspended => {
                        suspended = false;
                        engine.resume_all();
                        tracing::info!("resumed");
                        Applied {
                            changed: true,
                            took: None,
                        }
                    }
                    _ => Applied {
                        changed: false,
                        took: None,
                    },
                };
                if applied.changed {
                    on_change(hint);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(applied);
                }
            }
        });
        Lifecycle { hints }
    }

    /// Queues a hint without waiting for it (window events).
    pub fn hint(&self, hint: Hint) {
        let _ = self.hints.send((hint, None));
    }

    /// Applies a hint after every earlier one and says what it did.
    pub async fn apply(&self, hint: Hint) -> Applied {
        let (reply, applied) = oneshot::channel();
        let unchanged = Applied {
            changed: false,
            took: None,
        };
        if self.hints.send((hint, Some(reply))).is_err() {
            return unchanged;
        }
        applied.await.unwrap_or(unchanged)
    }
}

/// The hint a window event carries, if any. Mobile only: desktop windows never suspend.
#[cfg(mobile)]
pub fn hint_for(event: &tauri::WindowEvent) -> Option<Hint> {
    match event {
        tauri::WindowEvent::Suspended => Some(Hint::Suspend),
        tauri::WindowEvent::Resumed => Some(Hint::Resume),
        // iOS can suspend without a matching Resumed; regaining focus means the app is back.
        #[cfg(target_os = "ios")]
        tauri::WindowEvent::Focused(true) => Some(Hint::Resume),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tidesync_engine::memory::{MemoryConnector, MemoryRemote};
    use tidesync_engine::{EngineOptions, JobId, JobState, Mode, PlainHttp};

    use super::*;

    #[test]
    fn two_windows_suspending_cause_one_suspend_and_one_resume() {
        let data = tempfile::tempdir().unwrap();
        let engine =
            tauri::async_runtime::block_on(Engine::open(data.path(), EngineOptions::default()))
                .unwrap();
        let changes = Arc::new(Mutex::new(Vec::new()));
        let seen = changes.clone();
        let lifecycle = Lifecycle::start(engine.clone(), move |hint| {
            seen.lock().unwrap().push(hint);
        });
        // Each window reports the same transition.
        lifecycle.hint(Hint::Suspend);
        lifecycle.hint(Hint::Suspend);
        let third = tauri::async_runtime::block_on(lifecycle.apply(Hint::Suspend));
        assert!(!third.changed, "already suspended");
        assert!(engine.is_suspended());
        lifecycle.hint(Hint::Resume);
        let again = tauri::async_runtime::block_on(lifecycle.apply(Hint::Resume));
        assert!(!again.changed, "already resumed");
        assert!(!engine.is_suspended());
        assert_eq!(*changes.lock().unwrap(), [Hint::Suspend, Hint::Resume]);
    }

    #[test]
    fn a_resume_without_a_suspend_does_nothing() {
        let data = tempfile::tempdir().unwrap();
        let engine =
            tauri::async_runtime::block_on(Engine::open(data.path(), EngineOptions::default()))
                .unwrap();
        let lifecycle = Lifecycle::start(engine, |_| panic!("nothing changed"));
        let applied = tauri::async_runtime::block_on(lifecycle.apply(Hint::Resume));
        assert!(!applied.changed);
    }

    /// An engine syncing from an in-memory server whose listing waits for `release_listings`,
    /// so a job is mid-sync for as long as the test needs.
    fn engine_with_a_held_job() -> (Engine, JobId, Arc<MemoryRemote>, [tempfile::TempDir; 2]) {
        let (data, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let server = Arc::new(MemoryRemote::new());
        server.write("notes/a.txt", b"from the server");
        server.hold_listings();
        let (engine, job) = tauri::async_runtime::block_on(async {
            let connector = MemoryConnector::new();
            let options = EngineOptions {
                connector: connector.clone(),
                ..EngineOptions::default()
            };
            let engine = Engine::open(data.path(), options).await.unwrap();
            let remote = engine
                .add_remote(
                    "memory",
                    "http://127.0.0.1:9/",
                    None,
                    PlainHttp::LoopbackOnly,
                )
                .await
                .unwrap();
            connector.serve(remote, server.clone());
            let pair = engine
                .ensure_pair(remote, "", local.path(), Mode::Download)
                .await
                .unwrap();
            let job = engine.start(pair).await.unwrap();
            (engine, job)
        });
        (engine, job, server, [data, local])
    }

    /// Feeds `hints` as window events would (without waiting), then one awaited `last`.
    fn feed(lifecycle: &Lifecycle, hints: &[Hint], last: Hint) -> Applied {
        for &hint in hints {
            lifecycle.hint(hint);
        }
        tauri::async_runtime::block_on(lifecycle.apply(last))
    }

    fn recorder(engine: &Engine) -> (Lifecycle, Arc<Mutex<Vec<Hint>>>) {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let seen = changes.clone();
        let lifecycle = Lifecycle::start(engine.clone(), move |hint| {
            seen.lock().unwrap().push(hint);
        });
        (lifecycle, changes)
    }

    fn finishes(engine: &Engine, job: JobId, server: &MemoryRemote) -> JobState {
        server.release_listings();
        tauri::async_runtime::block_on(engine.wait(job))
            .unwrap()
            .state
    }

    #[test]
    fn ios_suspend_without_resume_then_focus_resumes_and_the_job_finishes() {
        let (engine, job, server, _dirs) = engine_with_a_held_job();
        let (lifecycle, changes) = recorder(&engine);
        // iOS: Suspended (Control Center), no Resumed; then Focused(true), which maps to Resume.
        let applied = feed(&lifecycle, &[Hint::Suspend], Hint::Resume);
        assert!(applied.changed);
        assert!(!engine.is_suspended(), "never left suspended");
        assert_eq!(*changes.lock().unwrap(), [Hint::Suspend, Hint::Resume]);
        assert_eq!(finishes(&engine, job, &server), JobState::Completed);
    }

    #[test]
    fn android_dialog_suspend_and_quick_resume_leave_the_job_running() {
        let (engine, job, server, _dirs) = engine_with_a_held_job();
        let (lifecycle, changes) = recorder(&engine);
        // Android: a system dialog sends Suspended and, a moment later, Resumed; then the
        // activity's own Resumed arrives too.
        let applied = feed(&lifecycle, &[Hint::Suspend, Hint::Resume], Hint::Resume);
        assert!(!applied.changed, "the second Resumed is a duplicate");
        assert!(!engine.is_suspended());
        assert_eq!(*changes.lock().unwrap(), [Hint::Suspend, Hint::Resume]);
        assert_eq!(finishes(&engine, job, &server), JobState::Completed);
    }

    #[test]
    fn resumed_twice_resumes_once() {
        let (engine, job, server, _dirs) = engine_with_a_held_job();
        let (lifecycle, changes) = recorder(&engine);
        feed(&lifecycle, &[Hint::Suspend], Hint::Suspend);
        // suspend() returns once every job shows Suspended.
        assert_eq!(engine.snapshot(job).unwrap().state, JobState::Suspended);
        let applied = feed(&lifecycle, &[Hint::Resume], Hint::Resume);
        assert!(!applied.changed);
        assert_eq!(*changes.lock().unwrap(), [Hint::Suspend, Hint::Resume]);
        assert_eq!(finishes(&engine, job, &server), JobState::Completed);
    }
}
