//! `--exclude`, `--exclude-from`, `--no-default-excludes`, `--max-size`: what a sync leaves
//! out, as rclone names the options. They set the pair's filter for this run and the next
//! ones (the engine keeps it with the pair, as the app's settings do).

use std::path::PathBuf;

use tidesync_engine::filter::{ALL_DEFAULTS, Excludes, Filter, parse_size};

#[derive(clap::Args, Clone, Default)]
pub struct Filtering {
    /// Leave out what matches this gitignore-style pattern (relative to the folder; `name`
    /// at any depth, `/name` at the top only, `name/` folders only, `**` across folders,
    /// `!` takes back). Repeatable. Left out means untouched on both sides.
    #[arg(long, value_name = "PATTERN")]
    exclude: Vec<String>,
    /// Read patterns from this file, one per line (`#` starts a comment). Repeatable.
    #[arg(long, value_name = "FILE")]
    exclude_from: Vec<PathBuf>,
    /// Do not leave out OS and editor debris (.DS_Store, Thumbs.db, ~$ owner files, swap
    /// files, partial downloads…), which is left out by default.
    #[arg(long)]
    no_default_excludes: bool,
    /// Leave out files larger than this: bytes, or with k, M, G or T (powers of 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_max_size)]
    max_size: Option<u64>,
    /// A folder deleted on one side takes the items left out in it along (into the trash
    /// here, or the server's); otherwise the folder stays for them.
    #[arg(long)]
    remove_excluded_with_folder: bool,
}

impl Filtering {
    /// The pair's filter from these options, checked: a pattern that is not one is named.
    pub fn excludes(&self) -> Result<Excludes, String> {
        let mut patterns = self.exclude.clone();
        for file in &self.exclude_from {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("--exclude-from {}: {e}", file.display()))?;
            patterns.extend(text.lines().map(str::to_owned));
        }
        let excludes = Excludes {
            patterns,
            defaults_off: match self.no_default_excludes {
                true => vec![ALL_DEFAULTS.to_owned()],
                false => Vec::new(),
            },
            max_size: self.max_size,
            remove_with_folder: self.remove_excluded_with_folder,
            // The CLI chooses folders by pattern (`--exclude /Folder/`).
            unsynced: Vec::new(),
            // A script cannot answer a question: the CLI syncs what the server holds.
            ask_above: Some(0),
        };
        Filter::new(&excludes).map_err(|e| format!("--exclude: {e}"))?;
        Ok(excludes)
    }
}

fn parse_max_size(text: &str) -> Result<u64, String> {
    parse_size(text).ok_or_else(|| format!("'{text}' is not a size like 500M or 2G"))
}
