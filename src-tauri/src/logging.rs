//! Logging: `tracing` everywhere, filtered by `RUST_LOG` (default `info`).
//!
//! Desktop: stderr plus a daily file in the app's log dir. Android: logcat. iOS: the unified
//! log. Passwords and Authorization headers never reach a log: the WebDAV client redacts its
//! credentials and logs URLs without userinfo.

use std::path::Path;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber once; a second call (tests, re-entry on mobile) is a no-op.
pub(crate) fn init(log_dir: &Path) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    #[cfg(desktop)]
    let installed = {
        // The appender prunes old files in this folder and complains when it is missing.
        let _ = std::fs::create_dir_all(log_dir);
        let file = tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("tidesync")
            .filename_suffix("log")
            .max_log_files(7)
            .build(log_dir);
        let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
        match file {
            Ok(file) => registry
                .with(stderr)
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(file),
                )
                .try_init(),
            Err(_) => registry.with(stderr).try_init(),
        }
    };
    #[cfg(target_os = "android")]
    let installed = {
        let _ = log_dir;
        registry
            .with(paranoid_android::layer("tidesync"))
            .try_init()
    };
    #[cfg(target_os = "ios")]
    let installed = {
        let _ = log_dir;
        registry
            .with(tracing_oslog::OsLogger::new("app.tidesync", "default"))
            .try_init()
    };
    if installed.is_ok() {
        tracing::info!(log_dir = %log_dir.display(), "logging started");
    }
}
