//! What a pair leaves out of its sync: gitignore-style patterns (the defaults below, less the
//! ones the user switched off, plus the pair's own) and a largest file size. One [`Filter`]
//! answers for every part of the engine (the scan, the listing, the plan's views, the
//! watcher, the server checks), so an item left out is left out everywhere: never uploaded,
//! downloaded, moved or deleted on either side.
//!
//! Patterns match the path relative to the pair's folder, in NFC, as in a `.gitignore` at its
//! root: a pattern without a `/` matches a name at any depth, a leading `/` anchors it, a
//! trailing `/` matches folders only, `**` spans folders, `!` takes an item back. As in git,
//! nothing below a folder left out can be taken back. Matching ignores letter case where the
//! local folder does.

use std::fmt;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::{Deserialize, Serialize};

use crate::names::nfc;

/// A default pattern, and why it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultPattern {
    pub pattern: &'static str,
    /// What it leaves out, in words for the settings screen.
    pub what: &'static str,
    /// Debris an operating system leaves in folders it shows (never anyone's work): it goes
    /// (into the trash) with a folder deleted on the other side, as Nextcloud's `]` patterns
    /// do, rather than keeping the folder alive.
    pub debris: bool,
}

const fn pattern(pattern: &'static str, what: &'static str, debris: bool) -> DefaultPattern {
    DefaultPattern {
        pattern,
        what,
        debris,
    }
}

/// OS and editor debris no one means to sync: the list the issue names, and what Nextcloud
/// desktop's `sync-exclude.lst` added over the years (partial downloads, KDE's and Apple's
/// hidden folders).
pub const DEFAULT_PATTERNS: &[DefaultPattern] = &[
    pattern(".DS_Store", "macOS folder view settings", true),
    pattern("._*", "macOS resource forks on other disks", true),
    pattern("Thumbs.db", "Windows thumbnail caches", true),
    pattern("desktop.ini", "Windows folder settings", true),
    // The name ends in a carriage return, which a plain pattern would lose as trailing space.
    pattern("Icon[\r]", "macOS custom folder icons", true),
    pattern(".TemporaryItems", "macOS temporary items", true),
    pattern(".Trashes", "macOS trash on other disks", true),
    pattern(".DocumentRevisions-V100", "macOS document versions", true),
    pattern(".fseventsd", "macOS file event logs", true),
    pattern(".apdisk", "macOS shared disk settings", true),
    pattern("~$*", "Microsoft Office owner files", false),
    pattern(".~lock.*#", "LibreOffice lock files", false),
    pattern("*.swp", "vim swap files", false),
    pattern(".*.sw?", "vim swap files", false),
    pattern("*.kate-swp", "Kate swap files", false),
    pattern("*~", "editor backups", false),
    pattern(".#*", "emacs lock files", false),
    pattern("*.part", "partial downloads", false),
    pattern("*.filepart", "partial downloads", false),
    pattern("*.crdownload", "Chrome partial downloads", false),
    pattern(".Trash-*", "Linux trash on other disks", false),
    pattern(".fuse_hidden*", "files deleted while open (FUSE)", false),
    pattern(".nfs*", "files deleted while open (NFS)", false),
    pattern("$RECYCLE.BIN/", "Windows recycle bin", false),
    pattern("System Volume Information/", "Windows volume data", false),
];

/// What a pair leaves out, as set (`PairSettings::excludes`; CLI `--exclude`,
/// `--exclude-from`, `--no-default-excludes`, `--max-size`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Excludes {
    /// The pair's own patterns, one per line as typed.
    pub patterns: Vec<String>,
    /// Default patterns switched off, by their text (`"*"` switches them all off).
    pub defaults_off: Vec<String>,
    /// Files larger than this many bytes are left out.
    pub max_size: Option<u64>,
    /// A folder deleted on the other side takes the items left out in it along (into the
    /// trash, or the server's); otherwise it stays for them.
    pub remove_with_folder: bool,
    /// Folders not chosen to sync (selective sync), by their path in the pair: each is left
    /// out with everything in it, on both sides.
    pub unsynced: Vec<String>,
    /// A new server folder holding more than this many bytes waits for the user's yes before
    /// it is downloaded; `None` for [`ASK_ABOVE`], `Some(0)` never to ask.
    pub ask_above: Option<u64>,
}

/// The size above which a new server folder waits for the user's yes: 500 MB, as Nextcloud
/// desktop's "Ask before syncing folders larger than" has it.
pub const ASK_ABOVE: u64 = 500_000_000;

/// Every default switched off.
pub const ALL_DEFAULTS: &str = "*";

impl Excludes {
    /// The defaults in use.
    pub fn defaults(&self) -> impl Iterator<Item = &'static DefaultPattern> + '_ {
        let all_off = self.defaults_off.iter().any(|p| p == ALL_DEFAULTS);
        DEFAULT_PATTERNS
            .iter()
            .filter(move |d| !all_off && !self.defaults_off.iter().any(|p| p == d.pattern))
    }
}

/// A pattern that is not one, pointed at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, \"{pattern}\": {reason}")]
pub struct PatternError {
    /// 1-based, among the pair's own patterns.
    pub line: usize,
    pub pattern: String,
    pub reason: String,
}

/// Why an item is left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Reason {
    /// A pattern matched it (or a folder above it).
    Pattern { pattern: String, debris: bool },
    /// It is, or lies in, a folder the user chose not to sync.
    NotChosen { folder: String },
    /// A file larger than the pair's largest size.
    TooLarge { limit: u64 },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Pattern { pattern, .. } => write!(f, "matches {pattern}"),
            Reason::NotChosen { folder } => write!(f, "in {folder}, which is not chosen to sync"),
            Reason::TooLarge { limit } => write!(f, "larger than {limit} bytes"),
        }
    }
}

impl Reason {
    /// Whether the item may go with a folder deleted on the other side even when the pair
    /// keeps what it leaves out.
    pub fn is_debris(&self) -> bool {
        matches!(self, Reason::Pattern { debris: true, .. })
    }
}

/// An item a run left out: found in the local scan or the server's listing. Below a folder
/// left out, nothing is listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ignored {
    pub path: String,
    pub is_dir: bool,
    /// A file's size (0 for a folder, whose content is not read).
    pub size: u64,
    pub reason: Reason,
    pub side: Side,
}

/// Where an item left out was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    Here,
    Server,
    Both,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Here => "here",
            Side::Server => "server",
            Side::Both => "both",
        }
    }
}

impl std::str::FromStr for Side {
    type Err = String;

    fn from_str(text: &str) -> Result<Side, String> {
        match text {
            "here" => Ok(Side::Here),
            "server" => Ok(Side::Server),
            "both" => Ok(Side::Both),
            other => Err(format!("no side is called {other:?}")),
        }
    }
}

/// The matcher built from [`Excludes`], in both letter-case modes (which one applies is known
/// only once the local folder has been looked at).
#[derive(Debug, Clone)]
pub struct Filter {
    exact: Gitignore,
    folded: Gitignore,
    debris: Vec<&'static str>,
    /// The pattern made for each folder not chosen to sync, and the folder.
    not_chosen: Vec<(String, String)>,
    max_size: Option<u64>,
    remove_with_folder: bool,
    ask_above: Option<u64>,
}

impl Filter {
    /// The filter of `excludes`, or the first of its own patterns that is not one.
    pub fn new(excludes: &Excludes) -> Result<Filter, PatternError> {
        let defaults: Vec<&DefaultPattern> = excludes.defaults().collect();
        let not_chosen: Vec<(String, String)> = excludes
            .unsynced
            .iter()
            .map(|folder| folder.trim_matches('/'))
            .filter(|folder| !folder.is_empty())
            .map(|folder| (format!("/{}/", literal(&nfc(folder))), folder.to_owned()))
            .collect();
        let build = |fold: bool| {
            let mut builder = GitignoreBuilder::new("");
            builder.allow_unclosed_class(false);
            // Never an error: the setter only records the flag.
            let _ = builder.case_insensitive(fold);
            for default in &defaults {
                builder
                    .add_line(None, default.pattern)
                    .expect("the default patterns are valid");
            }
            for (pattern, _) in &not_chosen {
                builder
                    .add_line(None, pattern)
                    .expect("an escaped path is a valid pattern");
            }
            for (i, line) in excludes.patterns.iter().enumerate() {
                let line = nfc(line);
                builder
                    .add_line(None, &line)
                    .map_err(|error| PatternError {
                        line: i + 1,
                        pattern: line.clone().into_owned(),
                        reason: reason(&error),
                    })?;
            }
            builder.build().map_err(|error| PatternError {
                line: 0,
                pattern: String::new(),
                reason: reason(&error),
            })
        };
        Ok(Filter {
            exact: build(false)?,
            folded: build(true)?,
            debris: defaults
                .iter()
                .filter(|d| d.debris)
                .map(|d| d.pattern)
                .collect(),
            not_chosen,
            max_size: excludes.max_size,
            remove_with_folder: excludes.remove_with_folder,
            ask_above: match excludes.ask_above {
                None => Some(ASK_ABOVE),
                Some(0) => None,
                Some(limit) => Some(limit),
            },
        })
    }

    /// A filter that leaves nothing out (no defaults, no patterns).
    pub fn none() -> Filter {
        Filter::new(&Excludes {
            defaults_off: vec![ALL_DEFAULTS.into()],
            ..Excludes::default()
        })
        .expect("no patterns are valid patterns")
    }

    /// Why the item at `path` (relative, `/`-separated) is left out, if it is: a pattern
    /// matching it or a folder above it, or (for a file of `size` bytes) the largest size.
    /// `fold` matches without letter case.
    pub fn excludes(
        &self,
        path: &str,
        is_dir: bool,
        size: Option<u64>,
        fold: bool,
    ) -> Option<Reason> {
        let path = nfc(path);
        // Top down, as git does: a folder left out takes everything below it, whatever a
        // later `!` pattern says of it.
        let folders = path.match_indices('/').map(|(i, _)| (&path[..i], true));
        for (part, dir) in folders.chain([(path.as_ref(), is_dir)]) {
            if let Some(reason) = self.pattern_for(part, dir, fold) {
                return Some(reason);
            }
        }
        self.too_large(is_dir, size)
    }

    /// [`excludes`](Filter::excludes) for an item whose folders above were found kept: only
    /// the item's own path is matched, not each folder's again. A walk down a tree, which
    /// enters only the folders kept, asks this once an item instead of once a level.
    pub fn excludes_in_kept(&self, path: &str, is_dir: bool, fold: bool) -> Option<Reason> {
        self.pattern_for(&nfc(path), is_dir, fold)
    }

    /// Why a file of `size` bytes is left out by the largest size, if it is.
    pub fn too_large(&self, is_dir: bool, size: Option<u64>) -> Option<Reason> {
        match (self.max_size, size) {
            (Some(limit), Some(size)) if !is_dir && size > limit => {
                Some(Reason::TooLarge { limit })
            }
            _ => None,
        }
    }

    /// The pattern that leaves out `path` (in NFC) itself, as the reason for it.
    fn pattern_for(&self, path: &str, is_dir: bool, fold: bool) -> Option<Reason> {
        let matcher = if fold { &self.folded } else { &self.exact };
        let Match::Ignore(glob) = matcher.matched(path, is_dir) else {
            return None;
        };
        let pattern = glob.original().to_owned();
        if let Some((_, folder)) = self.not_chosen.iter().find(|(p, _)| *p == pattern) {
            return Some(Reason::NotChosen {
                folder: folder.clone(),
            });
        }
        let debris = self.debris.contains(&pattern.as_str());
        Some(Reason::Pattern { pattern, debris })
    }

    /// The size above which a new server folder waits for the user's yes; `None` never.
    pub fn ask_above(&self) -> Option<u64> {
        self.ask_above
    }

    /// Whether a folder deleted on the other side takes the items left out in it along.
    pub fn remove_with_folder(&self) -> bool {
        self.remove_with_folder
    }
}

/// `path` as a pattern that matches it and nothing else: every character a glob reads
/// specially is escaped.
fn literal(path: &str) -> String {
    let mut pattern = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '\\' | '*' | '?' | '[' | ']' | '{' | '}' | '!' | '#') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

/// The matcher's error, without its repetition of the pattern.
fn reason(error: &ignore::Error) -> String {
    match error {
        ignore::Error::Glob { err, .. } => err.clone(),
        other => other.to_string(),
    }
}

/// Parses a size as people write it: bytes, or with a `k`, `M`, `G` or `T` suffix (powers
/// of 1024, as rclone reads `--max-size`), optionally followed by `B` or `iB`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("iB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(unit);
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    let bytes = number * scale as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> Filter {
        Filter::new(&Excludes {
            patterns: patterns.iter().map(|p| (*p).to_owned()).collect(),
            defaults_off: vec![ALL_DEFAULTS.into()],
            ..Excludes::default()
        })
        .unwrap()
    }

    fn out(filter: &Filter, path: &str, is_dir: bool) -> bool {
        filter.excludes(path, is_dir, None, false).is_some()
    }

    #[test]
    fn the_defaults_leave_out_os_and_editor_debris_and_nothing_else() {
        let filter = Filter::new(&Excludes::default()).unwrap();
        for debris in [
            ".DS_Store",
            "Photos/.DS_Store",
            "._photo.jpg",
            "Thumbs.db",
            "desktop.ini",
            "Docs/~$report.docx",
            "Docs/.~lock.report.odt#",
            ".notes.txt.swp",
            "notes.txt.swp",
            "notes.txt~",
            ".#notes.txt",
            "video.mp4.part",
            "setup.exe.crdownload",
            ".Trash-1000",
            ".fuse_hidden0000001",
            ".nfs000000001",
            "Icon\r",
        ] {
            assert!(out(&filter, debris, false), "{debris:?} is left out");
        }
        assert!(out(&filter, "$RECYCLE.BIN", true));
        assert!(out(&filter, "$RECYCLE.BIN/S-1-5/desktop.txt", false));
        for work in [
            "notes.txt",
            "report.docx",
            "partial.txt",
            "Photos/holiday.jpg",
            ".gitignore",
            "$RECYCLE.BIN",
        ] {
            assert!(!out(&filter, work, false), "{work:?} syncs");
        }
    }

    #[test]
    fn defaults_can_be_switched_off_one_by_one_or_all_together() {
        let one_off = Filter::new(&Excludes {
            defaults_off: vec!["*.part".into()],
            ..Excludes::default()
        })
        .unwrap();
        assert!(!out(&one_off, "video.part", false));
        assert!(out(&one_off, ".DS_Store", false));
        assert!(!out(&Filter::none(), ".DS_Store", false));
    }

    #[test]
    fn gitignore_rules_hold() {
        let filter = filter(&[
            "*.log",
            "!keep.log",
            "/build",
            "cache/",
            "docs/**/draft*",
            "Private/",
            "!Private/public.txt",
        ]);
        assert!(out(&filter, "a.log", false));
        assert!(out(&filter, "deep/down/a.log", false));
        assert!(!out(&filter, "keep.log", false), "negation takes it back");
        assert!(out(&filter, "build", true), "anchored at the root");
        assert!(!out(&filter, "src/build", true), "anchored: not deeper");
        assert!(out(&filter, "cache", true));
        assert!(
            out(&filter, "x/cache/data.bin", false),
            "below a folder left out"
        );
        assert!(
            !out(&filter, "cache", false),
            "a file named like a folder-only pattern"
        );
        assert!(
            out(&filter, "docs/a/b/draft-1.md", false),
            "** spans folders"
        );
        assert!(
            out(&filter, "docs/draft.md", false),
            "** spans no folder too"
        );
        assert!(!out(&filter, "other/draft.md", false));
        assert!(
            out(&filter, "Private/public.txt", false),
            "nothing below a folder left out comes back"
        );
    }

    #[test]
    fn letter_case_and_unicode_forms_match_as_the_disk_does() {
        let filter = filter(&["Cache/", "résumé.txt"]);
        assert!(filter.excludes("cache", true, None, false).is_none());
        assert!(filter.excludes("cache", true, None, true).is_some());
        assert!(
            filter
                .excludes("re\u{301}sume\u{301}.txt", false, None, false)
                .is_some(),
            "an NFD name matches an NFC pattern"
        );
    }

    #[test]
    fn files_above_the_largest_size_are_left_out_folders_never() {
        let filter = Filter::new(&Excludes {
            max_size: Some(1000),
            defaults_off: vec![ALL_DEFAULTS.into()],
            ..Excludes::default()
        })
        .unwrap();
        assert_eq!(
            filter.excludes("big.bin", false, Some(1001), false),
            Some(Reason::TooLarge { limit: 1000 })
        );
        assert_eq!(filter.excludes("ok.bin", false, Some(1000), false), None);
        assert_eq!(filter.excludes("folder", true, Some(5000), false), None);
    }

    #[test]
    fn a_bad_pattern_is_pointed_at() {
        let error = Filter::new(&Excludes {
            patterns: vec!["*.tmp".into(), "photos/[ab".into()],
            ..Excludes::default()
        })
        .unwrap_err();
        assert_eq!((error.line, error.pattern.as_str()), (2, "photos/[ab"));
        assert!(
            error.to_string().starts_with("line 2, \"photos/[ab\": "),
            "{error}"
        );
    }

    #[test]
    fn folders_not_chosen_are_left_out_whole_and_only_they() {
        let filter = Filter::new(&Excludes {
            unsynced: vec!["Photos/2019".into(), "Odd [1] *name*/".into()],
            ..Excludes::default()
        })
        .unwrap();
        let why = |path: &str, is_dir| filter.excludes(path, is_dir, None, false);
        assert_eq!(
            why("Photos/2019/a.jpg", false),
            Some(Reason::NotChosen {
                folder: "Photos/2019".into()
            })
        );
        assert!(why("Photos/2019", true).is_some());
        assert!(why("Photos/2020/a.jpg", false).is_none());
        assert!(why("Other/Photos/2019/a.jpg", false).is_none(), "anchored");
        assert!(
            why("Odd [1] *name*/x", false).is_some(),
            "glob characters are literal"
        );
        assert!(why("Odd 1 xnamex/x", false).is_none());
        assert_eq!(
            why("Photos/2019/a.jpg", false).unwrap().to_string(),
            "in Photos/2019, which is not chosen to sync"
        );
    }

    #[test]
    fn debris_is_told_from_work() {
        let filter = Filter::new(&Excludes::default()).unwrap();
        let reason = |path| filter.excludes(path, false, None, false).unwrap();
        assert!(reason("Photos/Thumbs.db").is_debris());
        assert!(!reason("~$report.docx").is_debris());
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("500"), Some(500));
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("10kB"), Some(10 << 10));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("5X"), None);
    }
}
