//! What the tray shows, derived from the engine's pairs and live jobs alone: the glyph, the
//! tooltip in words, and the menu. Pure, so every state is a unit test, and the menu renders
//! to text where a panel cannot be captured.

use tidesync_engine::{JobSnapshot, JobState, Pair, PairId};

/// The tray icon's overall state, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyph {
    /// A pair's last sync failed or left files unsynced: the user should look.
    Attention,
    Syncing,
    /// Nothing syncing, and a sync the user paused waits.
    Paused,
    UpToDate,
}

/// One pair as the tray lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairLine {
    pub pair: PairId,
    /// The local folder's name.
    pub name: String,
    pub glyph: Glyph,
    /// Its state in words: "Up to date", "Syncing · 120 of 900 files", "Paused", "3 files
    /// not synced", "The last sync failed".
    pub words: String,
}

/// Everything the tray shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub glyph: Glyph,
    pub tooltip: String,
    pub pairs: Vec<PairLine>,
    /// "Pause all" has something to pause.
    pub can_pause: bool,
    /// "Resume all" has something to resume.
    pub can_resume: bool,
}

/// A tray menu entry's action, as its id says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Open,
    SyncAll,
    PauseAll,
    ResumeAll,
    SyncPair(PairId),
    OpenFolder(PairId),
    Quit,
}

impl Action {
    /// The menu id that stands for this action.
    pub fn id(self) -> String {
        match self {
            Action::Open => "open".into(),
            Action::SyncAll => "sync-all".into(),
            Action::PauseAll => "pause-all".into(),
            Action::ResumeAll => "resume-all".into(),
            Action::SyncPair(pair) => format!("sync:{}", pair.0),
            Action::OpenFolder(pair) => format!("open-folder:{}", pair.0),
            Action::Quit => "quit".into(),
        }
    }

    /// The action a menu id stands for; `None` for an id the tray did not make.
    pub fn from_id(id: &str) -> Option<Action> {
        let pair = |n: &str| n.parse().ok().map(PairId);
        Some(match id {
            "open" => Action::Open,
            "sync-all" => Action::SyncAll,
            "pause-all" => Action::PauseAll,
            "resume-all" => Action::ResumeAll,
            "quit" => Action::Quit,
            _ => match id.split_once(':')? {
                ("sync", n) => Action::SyncPair(pair(n)?),
                ("open-folder", n) => Action::OpenFolder(pair(n)?),
                _ => return None,
            },
        })
    }
}

/// The tray for `pairs` and the engine's `jobs` (oldest first, as `live_jobs` lists them).
pub fn view(pairs: &[Pair], jobs: &[JobSnapshot]) -> TrayView {
    let lines: Vec<PairLine> = pairs
        .iter()
        .map(|pair| line(pair, jobs.iter().rev().find(|j| j.pair_id == pair.id)))
        .collect();
    let glyph = lines
        .iter()
        .map(|l| l.glyph)
        .min_by_key(|g| *g as u8)
        .unwrap_or(Glyph::UpToDate);
    let count = |g: Glyph| lines.iter().filter(|l| l.glyph == g).count();
    let pairs_word = |n: usize| {
        if n == 1 {
            "1 pair".to_owned()
        } else {
            format!("{n} pairs")
        }
    };
    let state = match glyph {
        Glyph::Attention => match count(Glyph::Attention) {
            1 => "1 pair needs attention".to_owned(),
            n => format!("{n} pairs need attention"),
        },
        Glyph::Syncing => {
            let (done, total) = jobs
                .iter()
                .filter(|j| is_under_way(j.state))
                .fold((0, 0), |(d, t), j| (d + j.files_done, t + j.files_total));
            let files = match total {
                0 => String::new(),
                total => format!(" · {done} of {total} files"),
            };
            format!("Syncing {}{files}", pairs_word(count(Glyph::Syncing)))
        }
        Glyph::Paused => "Paused".into(),
        Glyph::UpToDate if lines.is_empty() => "No folders paired yet".into(),
        Glyph::UpToDate => "Up to date".into(),
    };
    TrayView {
        glyph,
        tooltip: format!("Tidesync · {state}"),
        can_pause: jobs.iter().any(|j| is_under_way(j.state)),
        can_resume: jobs.iter().any(|j| j.state == JobState::Paused),
        pairs: lines,
    }
}

/// Whether a job in `state` still has work to do (queued, running, or stopped by the app).
pub fn is_under_way(state: JobState) -> bool {
    matches!(
        state,
        JobState::Queued | JobState::Running | JobState::Suspended | JobState::Interrupted
    )
}

/// A pair's line, from its latest live job (none: nothing happened since the app started).
fn line(pair: &Pair, job: Option<&JobSnapshot>) -> PairLine {
    let (glyph, words) = match job {
        Some(job) if is_under_way(job.state) => (
            Glyph::Syncing,
            match job.files_total {
                0 => "Syncing".to_owned(),
                total => format!("Syncing · {} of {total} files", job.files_done),
            },
        ),
        Some(job) if job.state == JobState::Paused => (Glyph::Paused, "Paused".to_owned()),
        Some(job) if job.state == JobState::Failed => {
            (Glyph::Attention, "The last sync failed".to_owned())
        }
        Some(job) if job.errors > 0 => (
            Glyph::Attention,
            match job.errors {
                1 => "1 file not synced".to_owned(),
                n => format!("{n} files not synced"),
            },
        ),
        _ => (Glyph::UpToDate, "Up to date".to_owned()),
    };
    PairLine {
        pair: pair.id,
        name: pair
            .local_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| pair.local_dir.display().to_string()),
        glyph,
        words,
    }
}

/// One entry of the menu: what the tray builds, and what a test reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Item {
        action: Action,
        label: String,
        enabled: bool,
    },
    Separator,
    Submenu {
        label: String,
        items: Vec<Entry>,
    },
}

/// The menu for `view`: Open, Sync now, Pause all or Resume all, a submenu per pair, Quit.
pub fn menu(view: &TrayView) -> Vec<Entry> {
    let item = |action, label: &str, enabled| Entry::Item {
        action,
        label: label.to_owned(),
        enabled,
    };
    let mut entries = vec![
        item(Action::Open, "Open Tidesync", true),
        item(Action::SyncAll, "Sync now", !view.pairs.is_empty()),
        match view.can_resume && !view.can_pause {
            true => item(Action::ResumeAll, "Resume all", true),
            false => item(Action::PauseAll, "Pause all", view.can_pause),
        },
    ];
    if !view.pairs.is_empty() {
        entries.push(Entry::Separator);
    }
    for line in &view.pairs {
        entries.push(Entry::Submenu {
            label: format!("{} — {}", line.name, line.words),
            items: vec![
                item(Action::SyncPair(line.pair), "Sync now", true),
                item(Action::OpenFolder(line.pair), "Open folder", true),
            ],
        });
    }
    entries.push(Entry::Separator);
    entries.push(item(Action::Quit, "Quit Tidesync", true));
    entries
}

/// The menu as text, one entry per line (submenus indented, disabled items in brackets).
pub fn menu_text(entries: &[Entry]) -> String {
    fn lines(entries: &[Entry], depth: usize, out: &mut String) {
        for entry in entries {
            let indent = "  ".repeat(depth);
            match entry {
                Entry::Item { label, enabled, .. } if *enabled => {
                    out.push_str(&format!("{indent}{label}\n"))
                }
                Entry::Item { label, .. } => out.push_str(&format!("{indent}[{label}]\n")),
                Entry::Separator => out.push_str(&format!("{indent}---\n")),
                Entry::Submenu { label, items } => {
                    out.push_str(&format!("{indent}{label} >\n"));
                    lines(items, depth + 1, out);
                }
            }
        }
    }
    let mut out = String::new();
    lines(entries, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidesync_engine::progress::Phase;
    use tidesync_engine::{JobId, Mode, PairSettings, RemoteId};

    fn pair(id: i64, folder: &str) -> Pair {
        Pair {
            id: PairId(id),
            remote_id: RemoteId(1),
            remote_path: String::new(),
            local_dir: format!("/home/me/{folder}").into(),
            mode: Mode::TwoWay,
            settings: PairSettings::default(),
        }
    }

    fn job(id: i64, pair: i64, state: JobState, done: u64, total: u64, errors: u64) -> JobSnapshot {
        JobSnapshot {
            job_id: JobId(id),
            pair_id: PairId(pair),
            state,
            phase: Phase::Transferring,
            files_total: total,
            files_done: done,
            bytes_total: 0,
            bytes_done: 0,
            rate: 0,
            eta_secs: None,
            in_flight: Vec::new(),
            errors,
            dropped_events: 0,
            seq: 0,
        }
    }

    #[test]
    fn each_state_of_the_tray_comes_from_the_job_list() {
        let pairs = [pair(1, "Photos"), pair(2, "Notes")];
        let quiet = view(&pairs, &[]);
        assert_eq!(
            (quiet.glyph, quiet.tooltip.as_str()),
            (Glyph::UpToDate, "Tidesync · Up to date")
        );
        assert_eq!(view(&[], &[]).tooltip, "Tidesync · No folders paired yet");

        let syncing = view(
            &pairs,
            &[
                job(1, 1, JobState::Running, 120, 800, 0),
                job(2, 2, JobState::Queued, 0, 100, 0),
            ],
        );
        assert_eq!(syncing.glyph, Glyph::Syncing);
        assert_eq!(
            syncing.tooltip,
            "Tidesync · Syncing 2 pairs · 120 of 900 files"
        );
        assert!(syncing.can_pause && !syncing.can_resume);

        let paused = view(&pairs, &[job(1, 1, JobState::Paused, 5, 10, 0)]);
        assert_eq!(
            (paused.glyph, paused.tooltip.as_str()),
            (Glyph::Paused, "Tidesync · Paused")
        );
        assert!(paused.can_resume && !paused.can_pause);

        // A later job of a pair decides its line; attention wins over syncing.
        let attention = view(
            &pairs,
            &[
                job(1, 1, JobState::Failed, 0, 0, 0),
                job(2, 2, JobState::Completed, 10, 10, 3),
                job(3, 1, JobState::Running, 1, 2, 0),
            ],
        );
        assert_eq!(attention.glyph, Glyph::Attention);
        assert_eq!(attention.tooltip, "Tidesync · 1 pair needs attention");
        assert_eq!(attention.pairs[0].words, "Syncing · 1 of 2 files");
        assert_eq!(attention.pairs[1].words, "3 files not synced");
        let failed = view(&pairs[..1], &[job(1, 1, JobState::Failed, 0, 0, 0)]);
        assert_eq!(failed.pairs[0].words, "The last sync failed");
    }

    #[test]
    fn the_menu_offers_what_can_be_done_now() {
        let pairs = [pair(1, "Photos"), pair(2, "Notes")];
        let syncing = view(&pairs, &[job(1, 1, JobState::Running, 3, 9, 0)]);
        assert_eq!(
            menu_text(&menu(&syncing)),
            "Open Tidesync\nSync now\nPause all\n---\nPhotos — Syncing · 3 of 9 files >\n  \
             Sync now\n  Open folder\nNotes — Up to date >\n  Sync now\n  Open folder\n---\n\
             Quit Tidesync\n"
        );
        let paused = view(&pairs, &[job(1, 1, JobState::Paused, 3, 9, 0)]);
        assert!(menu_text(&menu(&paused)).contains("\nResume all\n"));
        let empty = view(&[], &[]);
        assert_eq!(
            menu_text(&menu(&empty)),
            "Open Tidesync\n[Sync now]\n[Pause all]\n---\nQuit Tidesync\n"
        );
    }

    #[test]
    fn every_action_survives_its_menu_id() {
        for action in [
            Action::Open,
            Action::SyncAll,
            Action::PauseAll,
            Action::ResumeAll,
            Action::SyncPair(PairId(7)),
            Action::OpenFolder(PairId(12)),
            Action::Quit,
        ] {
            assert_eq!(Action::from_id(&action.id()), Some(action));
        }
        assert_eq!(Action::from_id("sync:x"), None);
        assert_eq!(Action::from_id("delete-everything"), None);
    }
}
