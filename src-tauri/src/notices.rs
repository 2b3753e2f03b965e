//! Notifications: one per sync that changed files (conflicts first) or that failed in a way
//! only the user can mend (a refused password, a changed certificate, a full disk). Never one
//! per file, never for a sync that changed nothing, never for a network failure (automatic
//! sync tries again by itself), and not while a window has the focus (the user is looking).

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::{NotificationExt, PermissionState};
use tidesync_engine::{Engine, FailureKind, JobState, Outcome, PairId, Summary};
use tokio::sync::broadcast::error::RecvError;

/// What a notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// The notice for a sync of `folder` that ended with `outcome`, if it deserves one.
pub fn notice_for(folder: &str, outcome: &Outcome) -> Option<Notice> {
    match outcome.state {
        JobState::Completed => changed(folder, &outcome.summary),
        JobState::Failed => needs_you(folder, outcome.failure?),
        _ => None,
    }
}

fn changed(folder: &str, summary: &Summary) -> Option<Notice> {
    if let Some(new) = summary.waiting.first() {
        let others = match summary.waiting.len() {
            1 => String::new(),
            n => format!(" ({} more like it)", n - 1),
        };
        return Some(Notice {
            title: format!("{folder}: a large new folder"),
            body: format!(
                "{} ({:.1} GB) is new on the server{others}. Open Tidesync to sync it or leave it out.",
                new.path,
                new.bytes as f64 / 1e9
            ),
        });
    }
    let files = summary.files_downloaded
        + summary.files_uploaded
        + summary.deleted_local
        + summary.deleted_remote
        + summary.moved;
    if summary.conflicts > 0 {
        let others = files.saturating_sub(summary.conflicts);
        let mut body = format!(
            "Both sides changed {}; this device's version is kept beside the server's as a conflict copy.",
            count(summary.conflicts, "file")
        );
        if others > 0 {
            body.push_str(&format!(" {} synced too.", count(others, "other file")));
        }
        return Some(Notice {
            title: format!("{} in {folder}", count(summary.conflicts, "conflict")),
            body,
        });
    }
    if files == 0 {
        return None;
    }
    let parts: Vec<String> = [
        (summary.files_downloaded, "downloaded"),
        (summary.files_uploaded, "uploaded"),
        (summary.deleted_local + summary.deleted_remote, "deleted"),
        (summary.moved, "moved"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    Some(Notice {
        title: format!("{folder} is in sync"),
        body: format!("{} changed: {}.", count(files, "file"), parts.join(", ")),
    })
}

fn needs_you(folder: &str, kind: FailureKind) -> Option<Notice> {
    let body = match kind {
        FailureKind::Auth => {
            "The server refused the password. Sign in again on the Servers screen."
        }
        FailureKind::UntrustedCertificate => {
            "The server's certificate changed. Check it on the Servers screen before trusting it."
        }
        FailureKind::Storage => {
            "A disk is full. Free some space; the sync goes on from where it stopped."
        }
        FailureKind::LocalAccess => {
            "The folder could not be read or written (a permission, a read-only card or a \
             disk error). Nothing was deleted; open Tidesync to see which."
        }
        FailureKind::FolderGone => {
            "The folder is missing or is not the one that was synced (a removed card or \
             drive?). Nothing was deleted; put it back and the sync goes on."
        }
        FailureKind::Forbidden => "The server does not let this account change that folder.",
        FailureKind::MassDelete => {
            "The sync would delete more files than it deletes without asking, so it deleted \
             nothing. Open Tidesync to decide: delete them, restore them, or later."
        }
        _ => return None,
    };
    Some(Notice {
        title: format!("{folder} needs you"),
        body: body.to_owned(),
    })
}

fn count(n: u64, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

/// Asks the platform for permission to notify, if it was not yet given or refused (phones
/// ask the user; desktops need none). Called when the user turns automatic sync on.
pub async fn ask_permission<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    let asked = tokio::task::spawn_blocking(move || {
        let notifications = app.notification();
        match notifications.permission_state()? {
            PermissionState::Prompt | PermissionState::PromptWithRationale => {
                notifications.request_permission()
            }
            state => Ok(state),
        }
    })
    .await;
    match asked {
        Ok(Ok(state)) => tracing::info!(?state, "permission to notify"),
        Ok(Err(error)) => tracing::warn!(%error, "could not ask for permission to notify"),
        Err(error) => tracing::warn!(%error, "the permission request failed"),
    }
}

/// Notifies, for as long as the engine runs, of each sync that deserves it.
pub fn forward<R: Runtime>(app: AppHandle<R>, engine: &Engine) {
    let mut changes = engine.subscribe_changes();
    let engine = engine.clone();
    tauri::async_runtime::spawn(async move {
        // A large new folder waits run after run: it is told of once.
        let mut told_waiting: std::collections::HashSet<(PairId, String)> = Default::default();
        loop {
            match changes.recv().await {
                Ok(change) if matches!(change.state, JobState::Completed | JobState::Failed) => {
                    let Ok(mut outcome) = engine.wait(change.job_id).await else {
                        continue;
                    };
                    outcome
                        .summary
                        .waiting
                        .retain(|new| told_waiting.insert((change.pair_id, new.path.clone())));
                    let folder = folder_name(&engine, change.pair_id).await;
                    if let Some(notice) = notice_for(&folder, &outcome) {
                        show(&app, notice);
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => tracing::debug!(missed, "job changes skipped"),
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// The folder as the UI names it: the server's name, and the folder on it.
async fn folder_name(engine: &Engine, pair: PairId) -> String {
    let Ok(pair) = engine.pair(pair).await else {
        return "A folder".to_owned();
    };
    let server = match engine.remote(pair.remote_id).await {
        Ok(remote) => remote.name,
        Err(_) => "Server".to_owned(),
    };
    match pair.remote_path.as_str() {
        "" => server,
        path => format!("{server} / {path}"),
    }
}

/// Shows `notice`, unless a window is in front of the user.
pub fn show<R: Runtime>(app: &AppHandle<R>, notice: Notice) {
    let watched = app
        .webview_windows()
        .values()
        .any(|w| w.is_focused().unwrap_or(false) && w.is_visible().unwrap_or(false));
    if watched && cfg!(desktop) {
        tracing::debug!(?notice, "not notifying: a window has the focus");
        return;
    }
    let shown = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show();
    if let Err(error) = shown {
        tracing::warn!(%error, "could not notify");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(state: JobState, summary: Summary, failure: Option<FailureKind>) -> Outcome {
        Outcome {
            state,
            summary,
            error: failure.map(|_| "failed".to_owned()),
            failure,
        }
    }

    #[test]
    fn a_sync_that_changed_nothing_says_nothing() {
        let done = outcome(JobState::Completed, Summary::default(), None);
        assert_eq!(notice_for("Demo", &done), None);
        let cancelled = outcome(JobState::Cancelled, Summary::default(), None);
        assert_eq!(notice_for("Demo", &cancelled), None);
    }

    #[test]
    fn changes_are_counted_once_in_one_notice() {
        let summary = Summary {
            files_downloaded: 3,
            files_uploaded: 1,
            deleted_local: 1,
            ..Summary::default()
        };
        let notice = notice_for("Demo", &outcome(JobState::Completed, summary, None)).unwrap();
        assert_eq!(notice.title, "Demo is in sync");
        assert_eq!(
            notice.body,
            "5 files changed: 3 downloaded, 1 uploaded, 1 deleted."
        );
    }

    #[test]
    fn a_large_new_folder_is_told_with_its_size() {
        let summary = Summary {
            files_downloaded: 2,
            waiting: vec![
                tidesync_engine::NewFolder {
                    path: "Videos/2026".into(),
                    bytes: 1_240_000_000,
                },
                tidesync_engine::NewFolder {
                    path: "Backups".into(),
                    bytes: 900_000_000,
                },
            ],
            ..Summary::default()
        };
        let notice = notice_for("Cloud", &outcome(JobState::Completed, summary, None)).unwrap();
        assert_eq!(notice.title, "Cloud: a large new folder");
        assert_eq!(
            notice.body,
            "Videos/2026 (1.2 GB) is new on the server (1 more like it). Open Tidesync to sync \
             it or leave it out."
        );
    }

    #[test]
    fn conflicts_come_first() {
        let summary = Summary {
            files_downloaded: 4,
            files_uploaded: 1,
            conflicts: 1,
            ..Summary::default()
        };
        let notice = notice_for(
            "Cloud / Photos",
            &outcome(JobState::Completed, summary, None),
        );
        let notice = notice.unwrap();
        assert_eq!(notice.title, "1 conflict in Cloud / Photos");
        assert!(
            notice.body.starts_with("Both sides changed 1 file;"),
            "{notice:?}"
        );
        assert!(
            notice.body.ends_with("4 other files synced too."),
            "{notice:?}"
        );
    }

    #[test]
    fn only_failures_the_user_can_mend_notify() {
        let failed = |kind| outcome(JobState::Failed, Summary::default(), Some(kind));
        for kind in [
            FailureKind::Auth,
            FailureKind::UntrustedCertificate,
            FailureKind::Storage,
            FailureKind::LocalAccess,
            FailureKind::FolderGone,
            FailureKind::MassDelete,
        ] {
            let notice = notice_for("Demo", &failed(kind)).unwrap();
            assert_eq!(notice.title, "Demo needs you", "{kind:?}");
        }
        assert!(
            notice_for("Demo", &failed(FailureKind::Auth))
                .unwrap()
                .body
                .contains("password")
        );
        for kind in [
            FailureKind::Network,
            FailureKind::Cancelled,
            FailureKind::Other,
        ] {
            assert_eq!(notice_for("Demo", &failed(kind)), None, "{kind:?}");
        }
    }
}
