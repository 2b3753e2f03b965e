//! The desktop tray: an icon whose glyph and tooltip say how every pair stands, and a menu
//! that does what the window's buttons do (Sync now, Pause all / Resume all, per pair "Sync
//! now" and "Open folder", Quit) through the same commands and engine calls.
//!
//! What it shows comes from [`model`], derived from the engine's pairs and live jobs alone;
//! a task follows the engine's job changes (and, while a sync runs, its counts every two
//! seconds) and redraws only what changed. Desktop only: phones have no tray.

mod glyph;
pub mod model;

use std::time::Duration;

use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::background::show_window;
use crate::error::Error;
use crate::state::AppState;
use model::{Action, Entry, Glyph, TrayView};

/// How often the tray looks again while a sync runs (its file counts move without a job
/// changing state) and while nothing runs (a pair added or removed changes the menu).
const WHILE_SYNCING: Duration = Duration::from_secs(2);
const WHILE_IDLE: Duration = Duration::from_secs(30);

/// The tray icon's id: closing the window hides it only while this icon is there.
pub const ID: &str = "tidesync";

/// Puts Tidesync's icon in the tray and keeps it current. The tray is a convenience: where
/// the desktop has none, the error is logged and the app goes on without it.
pub fn install<R: Runtime>(app: &AppHandle<R>) {
    let view = model::view(&[], &[]);
    let built = menu(app, &model::menu(&view)).and_then(|menu| {
        TrayIconBuilder::with_id(ID)
            .icon(glyph::image(view.glyph))
            .tooltip(&view.tooltip)
            .menu(&menu)
            .show_menu_on_left_click(false)
            .on_menu_event(|app, event| {
                if let Some(action) = Action::from_id(event.id().as_ref()) {
                    let app = app.clone();
                    tauri::async_runtime::spawn(async move {
                        if let Err(error) = act(&app, action).await {
                            tracing::warn!(%error, ?action, "the tray's action failed");
                        }
                    });
                }
            })
            .on_tray_icon_event(|tray, event| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = event
                {
                    show_window(tray.app_handle());
                }
            })
            .build(app)
    });
    match built {
        Ok(tray) => {
            tauri::async_runtime::spawn(follow(app.clone(), tray, view));
        }
        Err(error) => tracing::warn!(%error, "no tray icon on this desktop"),
    }
}

/// Does what a tray menu entry says, as the window's buttons do it.
pub async fn act<R: Runtime>(app: &AppHandle<R>, action: Action) -> Result<(), Error> {
    let state = app.state::<AppState>();
    match action {
        Action::Open => show_window(app),
        Action::SyncAll => {
            crate::commands::jobs::sync_all(state).await?;
        }
        Action::PauseAll => {
            for job in state.engine().await?.live_jobs() {
                if model::is_under_way(job.state) {
                    crate::commands::jobs::pause_job(app.state(), job.job_id).await?;
                }
            }
        }
        Action::ResumeAll => {
            for job in state.engine().await?.live_jobs() {
                if job.state == tidesync_engine::JobState::Paused {
                    crate::commands::jobs::resume_job(app.state(), job.job_id).await?;
                }
            }
        }
        Action::SyncPair(pair) => {
            state.engine().await?.start(pair).await?;
        }
        Action::OpenFolder(pair) => {
            let folder = state.engine().await?.pair(pair).await?.local_dir;
            crate::commands::app::open_folder(app, folder).await?;
        }
        // The exit request lets every job checkpoint first (see `background`).
        Action::Quit => app.exit(0),
    }
    Ok(())
}

/// Keeps the tray current until the engine closes.
async fn follow<R: Runtime>(app: AppHandle<R>, tray: TrayIcon<R>, mut shown: TrayView) {
    let state = app.state::<AppState>();
    let Ok(engine) = state.engine().await else {
        return;
    };
    let mut changes = engine.subscribe_changes();
    loop {
        match engine.pairs().await {
            Ok(pairs) => {
                let view = model::view(&pairs, &engine.live_jobs());
                if view != shown {
                    if let Err(error) = redraw(&app, &tray, &shown, &view) {
                        tracing::warn!(%error, "the tray could not be updated");
                    }
                    shown = view;
                }
            }
            Err(error) => tracing::warn!(%error, "the tray could not read the pairs"),
        }
        let again = match shown.glyph {
            Glyph::Syncing => WHILE_SYNCING,
            _ => WHILE_IDLE,
        };
        tokio::select! {
            change = changes.recv() => {
                if let Err(RecvError::Closed) = change {
                    break;
                }
            }
            () = tokio::time::sleep(again) => {}
        }
    }
}

/// Changes what differs between `before` and `now`.
fn redraw<R: Runtime>(
    app: &AppHandle<R>,
    tray: &TrayIcon<R>,
    before: &TrayView,
    now: &TrayView,
) -> tauri::Result<()> {
    if before.glyph != now.glyph {
        tray.set_icon(Some(glyph::image(now.glyph)))?;
    }
    if before.tooltip != now.tooltip {
        tray.set_tooltip(Some(&now.tooltip))?;
    }
    let entries = model::menu(now);
    if model::menu(before) != entries {
        tray.set_menu(Some(menu(app, &entries)?))?;
    }
    Ok(())
}

/// The native menu of `entries`.
fn menu<R: Runtime>(app: &AppHandle<R>, entries: &[Entry]) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    for entry in entries {
        menu.append(item(app, entry)?.as_ref())?;
    }
    Ok(menu)
}

fn item<R: Runtime>(app: &AppHandle<R>, entry: &Entry) -> tauri::Result<Box<dyn IsMenuItem<R>>> {
    Ok(match entry {
        Entry::Item {
            action,
            label,
            enabled,
        } => Box::new(MenuItem::with_id(
            app,
            action.id(),
            label,
            *enabled,
            None::<&str>,
        )?),
        Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        Entry::Submenu { label, items } => {
            let submenu = Submenu::new(app, label, true)?;
            for entry in items {
                submenu.append(item(app, entry)?.as_ref())?;
            }
            Box::new(submenu)
        }
    })
}
