//! The Tidesync app shell.
//!
//! This crate is the only place that knows about Tauri. It stays thin: commands parse their
//! arguments, call the engine and map errors; no sync logic lives here.
//!
//! - [`commands`]: every `#[tauri::command]`, one module per area, registered in [`builder`].
//! - [`state`]: the managed [`state::AppState`] (engine, password store, lifecycle, folders).
//! - [`dto`]: the serializable types the webview receives, mirrored into `gen/ipc/` by ts-rs.
//! - [`sink`]: a job's progress stream onto a Tauri `Channel`.
//! - [`lifecycle`]: window suspend/resume hints, de-duplicated, onto the engine's controller.
//! - [`secrets`]: passwords in the OS credential store, or a private file where there is none.
//! - [`error`]: the one error type commands return, crossing IPC as `{ kind, message }`.
//! - [`logging`]: the `tracing` subscriber for the platform the app runs on.
//! - [`notices`]: notifications of syncs that changed files or need the user.
//! - [`settings`]: what the app asked once and remembers (the tray notice, start at login).
//! - `tray` (desktop): the tray icon, its state and its menu.
//! - `background` (desktop): the window closes to the tray, Quit checkpoints, one instance.

#[cfg(desktop)]
pub mod background;
pub mod commands;
mod demo;
pub mod dto;
pub mod error;
pub mod lifecycle;
mod logging;
pub mod notices;
pub mod secrets;
pub mod settings;
pub mod sink;
pub mod state;
#[cfg(desktop)]
pub mod tray;

use std::path::PathBuf;
use std::sync::Arc;

use tauri::{App, Builder, Emitter, Manager, RunEvent, Runtime};
use tidesync_engine::{Engine, EngineOptions};
use tokio::sync::broadcast::error::RecvError;

use crate::dto::JobChangedDto;
use crate::error::Error;
use crate::lifecycle::Lifecycle;
use crate::secrets::Secrets;
use crate::state::{AppState, Places, Started};

/// The event every window gets when a job starts, changes state or ends.
pub const JOBS_CHANGED: &str = "jobs-changed";
/// The event every window gets after the app was suspended or resumed: views re-attach.
pub const LIFECYCLE: &str = "lifecycle";
/// The event every window gets when a pair's automatic sync changed what it shows (the next
/// check, the watcher, an error): views re-read the pair list.
pub const PAIRS_CHANGED: &str = "pairs-changed";

/// Every command the webview may call, plus any given (the debug-only one).
macro_rules! app_commands {
    ($($extra:path),*) => {
        tauri::generate_handler![
            commands::app::app_info,
            commands::app::open_logs_folder,
            commands::startup::start_at_login,
            commands::startup::set_start_at_login,
            commands::remotes::list_remotes,
            commands::remotes::add_remote,
            commands::remotes::update_remote,
            commands::remotes::remove_remote,
            commands::remotes::add_demo_remote,
            commands::login::begin_login,
            commands::login::complete_login,
            commands::login::cancel_login,
            commands::pairs::list_pairs,
            commands::pairs::add_pair,
            commands::pairs::remove_pair,
            commands::pairs::update_pair,
            commands::pairs::list_conflicts,
            commands::pairs::reveal_conflict,
            commands::pairs::refused_deletes,
            commands::pairs::decide_deletes,
            commands::pairs::list_trash,
            commands::pairs::restore_trashed,
            commands::pairs::empty_trash,
            commands::excludes::default_excludes,
            commands::excludes::list_ignored,
            commands::excludes::list_failures,
            commands::excludes::reveal_failure,
            commands::excludes::preview_excludes,
            commands::excludes::let_go_folder,
            commands::excludes::answer_new_folder,
            commands::browse::browse_server,
            commands::browse::make_server_folder,
            commands::jobs::start_sync,
            commands::jobs::sync_all,
            commands::jobs::attach_job,
            commands::jobs::pause_job,
            commands::jobs::resume_job,
            commands::jobs::cancel_job,
            commands::jobs::list_jobs,
            commands::jobs::job_history,
            $($extra),*
        ]
    };
}

/// Adds Tidesync's commands and set-up to a Tauri builder, with the platform's folders.
///
/// Generic over the runtime so that tests drive the very same wiring with
/// `tauri::test::mock_builder()` instead of a real webview.
pub fn builder<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    wire(builder, None)
}

/// [`builder`] with every folder (journal, passwords, logs, pair folders) below `root` and
/// passwords in the file store: for tests, which must not touch the user's data or keychain.
pub fn builder_at<R: Runtime>(builder: Builder<R>, root: PathBuf) -> Builder<R> {
    wire(builder, Some(root))
}

fn wire<R: Runtime>(builder: Builder<R>, root: Option<PathBuf>) -> Builder<R> {
    // The real desktop app's own plugins; not for tests, whose folders are all below `root`
    // and whose process holds many apps. Single instance comes first, so a second launch hands
    // over before anything else starts (it is one per session bus); start at login writes the
    // user's login entries; the window comes back as large, where and as maximised as it was
    // (its file is in the user's config folder).
    #[cfg(desktop)]
    let builder = match root {
        None => {
            use tauri_plugin_window_state::StateFlags;
            builder
                .plugin(background::single_instance())
                .plugin(
                    tauri_plugin_autostart::Builder::new()
                        .app_name("Tidesync")
                        .arg(background::HIDDEN)
                        .build(),
                )
                .plugin(
                    tauri_plugin_window_state::Builder::default()
                        .with_state_flags(
                            StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED,
                        )
                        .build(),
                )
        }
        Some(_) => builder,
    };
    #[cfg(desktop)]
    let builder = builder.plugin(tauri_plugin_dialog::init());
    // Sign-ins open the server's page in the system browser, on phones too.
    let builder = builder.plugin(tauri_plugin_opener::init());
    let builder = builder.plugin(tauri_plugin_notification::init());
    #[cfg(desktop)]
    let builder = builder.on_window_event(background::on_window_event);
    #[cfg(mobile)]
    let builder = builder.on_window_event(|window, event| {
        if let (Some(hint), Some(state)) =
            (lifecycle::hint_for(event), window.try_state::<AppState>())
        {
            state.hint(hint);
        }
    });
    #[cfg(feature = "debug-lifecycle")]
    let builder = builder.invoke_handler(app_commands![
        commands::debug::debug_lifecycle,
        commands::debug::debug_quit
    ]);
    #[cfg(not(feature = "debug-lifecycle"))]
    let builder = builder.invoke_handler(app_commands![]);
    builder.setup(move |app| Ok(setup(app, root.as_deref())?))
}

/// Shows the main window, which the configuration keeps hidden so that a launch from the
/// login entry (`--hidden`, desktop) goes straight to the tray without a flash of a window.
fn show_unless_hidden<R: Runtime>(app: &App<R>, root: Option<&std::path::Path>) {
    #[cfg(desktop)]
    if root.is_none() && background::starts_hidden() {
        tracing::info!("started at login: in the tray only");
        return;
    }
    #[cfg(mobile)]
    let _ = root;
    if let Some(window) = app.get_webview_window("main")
        && let Err(error) = window.show()
    {
        tracing::warn!(%error, "the window could not be shown");
    }
}

/// Finds the app's folders and manages its state, then opens the engine in the background
/// (see [`start`]): the window shows while the journal opens, and commands wait for it.
fn setup<R: Runtime>(app: &mut App<R>, root: Option<&std::path::Path>) -> Result<(), Error> {
    let places = match root {
        Some(root) => Places::under(root),
        None => Places::of(app.handle())?,
    };
    logging::init(&places.logs);
    let secrets = Arc::new(match root {
        Some(_) => Secrets::file_only(&places.data),
        None => Secrets::new(&places.data),
    });
    app.manage(AppState::new(places));
    #[cfg(desktop)]
    app.manage(background::Quit::default());
    show_unless_hidden(app, root);
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        let state = handle.state::<AppState>();
        let started = start(&handle, &state, secrets).await;
        if let Err(error) = &started {
            tracing::error!(%error, "the sync engine did not open");
        }
        let opened = started.is_ok();
        state.set_started(started);
        if opened {
            resume_work(&state).await;
        }
    });
    Ok(())
}

/// Opens the engine on the app's journal, hands it the stored passwords, starts forwarding
/// job changes to every window and serves the demo remote if it is wanted, all before any
/// command sees the engine: the page's first listing already shows the demo remote.
async fn start<R: Runtime>(
    app: &tauri::AppHandle<R>,
    state: &AppState,
    secrets: Arc<Secrets>,
) -> Result<Started, Error> {
    let options = EngineOptions {
        passwords: secrets,
        ..EngineOptions::default()
    };
    let engine = Engine::open(&state.places.data, options).await?;
    engine.load_passwords().await?;
    forward_job_changes(app.clone(), &engine);
    forward_pair_changes(app.clone(), &engine);
    notices::forward(app.clone(), &engine);
    let handle = app.clone();
    let lifecycle = Lifecycle::start(engine.clone(), move |hint| {
        let _ = handle.emit(LIFECYCLE, hint);
    });
    demo::start_at_launch(state, &engine).await;
    Ok(Started { engine, lifecycle })
}

/// Restarts the jobs a previous process left unfinished, then automatic sync.
async fn resume_work(state: &AppState) {
    let Some(Started { engine, .. }) = state.started_now() else {
        return;
    };
    match engine.restart_interrupted().await {
        Ok(jobs) if !jobs.is_empty() => tracing::info!(?jobs, "resumed unfinished jobs"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not resume unfinished jobs"),
    }
    // After the interrupted jobs: an automatic pair with one under way adopts it.
    if let Err(error) = engine.start_auto_sync().await {
        tracing::warn!(%error, "could not start automatic sync");
    }
}

/// Emits `jobs-changed` to every window for each job change, in order.
fn forward_job_changes<R: Runtime>(app: tauri::AppHandle<R>, engine: &Engine) {
    let mut changes = engine.subscribe_changes();
    tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    let _ = app.emit(JOBS_CHANGED, JobChangedDto::from(change));
                }
                // Views re-read the job list on every event, so a missed one costs nothing.
                Err(RecvError::Lagged(missed)) => tracing::debug!(missed, "job changes skipped"),
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// Emits `pairs-changed` to every window when a pair's automatic-sync status changes.
fn forward_pair_changes<R: Runtime>(app: tauri::AppHandle<R>, engine: &Engine) {
    let mut changes = engine.subscribe_auto();
    tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(pair) => {
                    let _ = app.emit(PAIRS_CHANGED, pair);
                }
                Err(RecvError::Lagged(missed)) => tracing::debug!(missed, "pair changes skipped"),
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// Starts the app: the desktop `main` and the mobile entry point both land here.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let app = builder(Builder::default()).build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|app, event| match event {
            // Once set-up has managed the app's state. The real app only: tests drive the
            // same wiring on a mock runtime, without a tray.
            #[cfg(desktop)]
            RunEvent::Ready => tray::install(app),
            #[cfg(desktop)]
            RunEvent::ExitRequested { api, .. } => background::on_exit_requested(app, &api),
            RunEvent::Exit => {
                if let Some(state) = app.try_state::<AppState>()
                    && let Some(started) = state.started_now()
                {
                    // Cancel every job and wait (bounded) for its checkpoint: the next start
                    // resumes it. On the desktop a Quit has done so already, and this returns
                    // at once.
                    tauri::async_runtime::block_on(started.engine.shutdown());
                }
            }
            _ => {}
        }),
        Err(error) => {
            eprintln!("Tidesync could not start: {error}");
            std::process::exit(1);
        }
    }
}
