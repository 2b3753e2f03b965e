//! Starting Tidesync when the person logs in (the official autostart plugin, desktop only):
//! read the setting, change it, and remember that it was offered so the offer comes once.
//!
//! The login entry starts Tidesync with `--hidden`, straight to the tray. Where the plugin is
//! not there (phones, and the test builder, which must not write the tester's own login
//! entries) the setting says it is unavailable and changing it is refused.

use tauri::{AppHandle, Runtime, State};

use crate::dto::StartAtLoginDto;
use crate::error::Error;
use crate::state::AppState;

/// Whether Tidesync starts at login, and whether the UI should offer it.
#[tauri::command]
pub async fn start_at_login<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<StartAtLoginDto, Error> {
    let enabled = login_entry::read(&app).await?;
    Ok(answer(&state, enabled))
}

/// Turns starting at login on or off; either answer counts as the offer taken up.
#[tauri::command]
pub async fn set_start_at_login<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    enabled: bool,
) -> Result<StartAtLoginDto, Error> {
    let now = login_entry::write(&app, enabled).await?;
    state
        .settings
        .update(|remembered| remembered.start_at_login_offered = true)?;
    Ok(answer(&state, now))
}

/// The setting as the UI sees it; `None` where this build cannot start at login.
fn answer(state: &AppState, enabled: Option<bool>) -> StartAtLoginDto {
    StartAtLoginDto {
        available: enabled.is_some(),
        enabled: enabled.unwrap_or(false),
        offer: enabled.is_some() && !state.settings.get().start_at_login_offered,
    }
}

#[cfg(desktop)]
mod login_entry {
    use tauri::{AppHandle, Manager, Runtime};
    use tauri_plugin_autostart::AutoLaunchManager;

    use crate::error::Error;

    /// Whether the login entry is there; `None` without the plugin.
    pub async fn read<R: Runtime>(app: &AppHandle<R>) -> Result<Option<bool>, Error> {
        let app = app.clone();
        blocking(move || {
            let Some(entry) = app.try_state::<AutoLaunchManager>() else {
                return Ok(None);
            };
            entry.is_enabled().map(Some)
        })
        .await
    }

    /// Adds or removes the login entry; what it is afterwards.
    pub async fn write<R: Runtime>(
        app: &AppHandle<R>,
        enabled: bool,
    ) -> Result<Option<bool>, Error> {
        let app = app.clone();
        let now = blocking(move || {
            let Some(entry) = app.try_state::<AutoLaunchManager>() else {
                return Ok(None);
            };
            // Removing an entry that is not there fails on some desktops: only change what differs.
            if entry.is_enabled()? != enabled {
                if enabled {
                    autostart_folder(&app)?;
                    entry.enable()?;
                } else {
                    entry.disable()?;
                }
            }
            entry.is_enabled().map(Some)
        })
        .await?;
        now.map(Some)
            .ok_or_else(|| Error::StartAtLogin("this build cannot start at login".into()))
    }

    /// Makes the folder of login entries on Linux, which the plugin creates only where its
    /// parent (`~/.config`) exists already: a new account may not have one yet.
    #[cfg(target_os = "linux")]
    fn autostart_folder<R: Runtime>(
        app: &AppHandle<R>,
    ) -> Result<(), tauri_plugin_autostart::Error> {
        let home = app
            .path()
            .home_dir()
            .map_err(|e| tauri_plugin_autostart::Error::Anyhow(e.to_string()))?;
        std::fs::create_dir_all(home.join(".config").join("autostart"))?;
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn autostart_folder<R: Runtime>(
        _app: &AppHandle<R>,
    ) -> Result<(), tauri_plugin_autostart::Error> {
        Ok(())
    }

    /// The entry is a file (or a registry key): not on the async threads.
    async fn blocking<T: Send + 'static>(
        work: impl FnOnce() -> Result<T, tauri_plugin_autostart::Error> + Send + 'static,
    ) -> Result<T, Error> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(|e| Error::StartAtLogin(e.to_string()))
    }
}

/// Phones start apps themselves: there is no login entry to add.
#[cfg(mobile)]
mod login_entry {
    use tauri::{AppHandle, Runtime};

    use crate::error::Error;

    pub async fn read<R: Runtime>(_app: &AppHandle<R>) -> Result<Option<bool>, Error> {
        Ok(None)
    }

    pub async fn write<R: Runtime>(
        _app: &AppHandle<R>,
        _enabled: bool,
    ) -> Result<Option<bool>, Error> {
        Err(Error::StartAtLogin("phones have no login entry".into()))
    }
}
