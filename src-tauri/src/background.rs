//! Tidesync in the background, on the desktop: closing the window hides it and syncing goes
//! on (the tray brings it back); Quit lets every job checkpoint before the process ends, and a
//! second Quit while they do ends it at once; a second launch shows the first one's window
//! instead of starting another engine on the same pairs.
//!
//! Phones have none of this: their system suspends and resumes the app (see [`crate::lifecycle`]).

use std::sync::atomic::{AtomicU8, Ordering};

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, ExitRequestApi, Manager, Runtime, Window, WindowEvent};

use crate::notices::{self, Notice};
use crate::settings::Settings;
use crate::state::AppState;

/// The argument the login entry starts Tidesync with: straight to the tray, no window.
pub const HIDDEN: &str = "--hidden";

/// Whether this launch was asked to start without a window.
pub fn starts_hidden() -> bool {
    std::env::args().skip(1).any(|arg| arg == HIDDEN)
}

/// The plugin that keeps one Tidesync per session: a second launch hands its arguments to
/// the first, which shows its window, and exits. Where the session has no message bus (Linux
/// without D-Bus) the plugin stands aside and a second launch runs; the per-pair lock in the
/// engine still keeps two processes off one pair.
pub fn single_instance<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_single_instance::init(|app, args, _cwd| {
        tracing::info!(?args, "a second launch; showing this one");
        if !args.iter().any(|arg| arg == HIDDEN) {
            show_window(app);
        }
    })
}

/// Brings the main window back, shown and focused.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// A window asked to close: while there is a tray icon to come back from, the window hides
/// and Tidesync goes on syncing; the first time, a notification says where it went. Without
/// a tray (a desktop that has none) closing the window quits, as any app's would.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    let quitting = app.try_state::<Quit>().is_some_and(|quit| quit.has_begun());
    if quitting || app.tray_by_id(crate::tray::ID).is_none() {
        return;
    }
    api.prevent_close();
    if let Err(error) = window.hide() {
        tracing::warn!(%error, "the window could not be hidden");
    }
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    if let Some(notice) = first_close(&state.settings) {
        let app = app.clone();
        // A notification is a message-bus call on Linux: not on the window's thread.
        tauri::async_runtime::spawn_blocking(move || notices::show(&app, notice));
    }
}

/// The notice for the first time the window closes, once per installation.
fn first_close(settings: &Settings) -> Option<Notice> {
    match settings.update(|remembered| remembered.told_about_tray = true) {
        Ok(true) => Some(Notice {
            title: "Tidesync is still syncing".into(),
            body: "It keeps your folders in sync from the tray. Click its icon to open it again, \
                   or choose Quit there to stop."
                .into(),
        }),
        Ok(false) => None,
        Err(error) => {
            tracing::warn!(%error, "could not remember telling about the tray");
            None
        }
    }
}

/// Where a quit stands.
#[derive(Debug, Default)]
pub struct Quit(AtomicU8);

/// What an exit request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The first request: hold the exit, let every job checkpoint, then exit.
    Checkpoint,
    /// A request while jobs checkpoint: the person does not want to wait. The journal is
    /// written in transactions, so what checkpointed so far resumes and the rest restarts.
    Now,
    /// The request the checkpoint itself makes when it is done.
    Exit,
}

const RUNNING: u8 = 0;
const CHECKPOINTING: u8 = 1;
const DONE: u8 = 2;

impl Quit {
    /// Moves the quit on for one more exit request and says what that request does.
    pub fn request(&self) -> Step {
        match self
            .0
            .compare_exchange(RUNNING, CHECKPOINTING, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => Step::Checkpoint,
            Err(CHECKPOINTING) => Step::Now,
            Err(_) => Step::Exit,
        }
    }

    /// Every job checkpointed: the next request exits.
    pub fn checkpointed(&self) {
        self.0.store(DONE, Ordering::SeqCst);
    }

    /// Whether a quit was asked for.
    pub fn has_begun(&self) -> bool {
        self.0.load(Ordering::SeqCst) != RUNNING
    }
}

/// The app was asked to exit (Quit in the tray or the menu, the last window gone).
pub fn on_exit_requested<R: Runtime>(app: &AppHandle<R>, api: &ExitRequestApi) {
    let Some(quit) = app.try_state::<Quit>() else {
        return;
    };
    match quit.request() {
        Step::Exit => {}
        Step::Now => {
            tracing::warn!("quit again while jobs checkpoint: exiting now");
            app.cleanup_before_exit();
            std::process::exit(0);
        }
        Step::Checkpoint => {
            api.prevent_exit();
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                if let Some(started) = app.state::<AppState>().started_now() {
                    started.engine.shutdown().await;
                }
                app.state::<Quit>().checkpointed();
                app.exit(0);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_quit_checkpoints_a_second_exits_at_once_and_the_last_lets_go() {
        let quit = Quit::default();
        assert!(!quit.has_begun());
        assert_eq!(quit.request(), Step::Checkpoint);
        assert!(quit.has_begun(), "a closing window no longer hides");
        assert_eq!(quit.request(), Step::Now);
        assert_eq!(quit.request(), Step::Now);
        quit.checkpointed();
        assert_eq!(quit.request(), Step::Exit);
    }

    #[test]
    fn only_the_first_close_of_an_installation_tells_where_tidesync_went() {
        let folder = tempfile::tempdir().unwrap();
        let settings = Settings::load(folder.path());
        let notice = first_close(&settings).expect("the first close tells");
        assert!(notice.body.contains("tray"));
        assert_eq!(first_close(&settings), None);
        assert_eq!(
            first_close(&Settings::load(folder.path())),
            None,
            "nor after a new launch"
        );
    }
}
