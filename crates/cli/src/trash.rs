//! `tidesync trash list|restore|empty`: what syncs removed from a local folder (deleted on the
//! server, or replaced by a newer server version), kept in the folder's own trash. The trash
//! describes itself (see the engine's `trash` module), so these commands need only the folder.

use std::path::PathBuf;

use serde::Serialize;
use tidesync_engine::transfer::utc_minute;
use tidesync_engine::trash::{self, TrashError, Trashed};

use crate::exit::Exit;
use crate::sync::Failure;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// List the removed files, newest first.
    List(Where),
    /// Put removed files back where they were (beside, as "name (restored).ext", where that
    /// path is taken); the next sync uploads them.
    Restore(RestoreArgs),
    /// Delete everything in the trash.
    Empty(Where),
}

#[derive(clap::Args)]
struct Where {
    /// The synced local folder.
    #[arg(long, value_name = "DIR")]
    local: PathBuf,
    /// Print JSON on stdout instead of lines.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct RestoreArgs {
    #[command(flatten)]
    at: Where,
    /// What to restore: an entry's id (as `list` shows it) or a path relative to the folder
    /// (its newest entry).
    #[arg(required_unless_present = "all")]
    items: Vec<String>,
    /// Restore everything in the trash.
    #[arg(long, conflicts_with = "items")]
    all: bool,
}

/// What `restore --json` prints, one per file; its field names are a public interface.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Restored {
    id: String,
    path: String,
    restored_as: String,
}

pub async fn run(args: Args) -> Result<Exit, Failure> {
    tokio::task::spawn_blocking(move || match args.action {
        Action::List(at) => list(&at),
        Action::Restore(restore) => restore_items(&restore),
        Action::Empty(at) => empty(&at),
    })
    .await
    .map_err(|error| (Exit::FileErrors, error.to_string()))?
}

fn failed(error: TrashError) -> Failure {
    let exit = match error {
        TrashError::NoSuchEntry { .. } => Exit::Usage,
        TrashError::Io { .. } => Exit::FileErrors,
    };
    (exit, error.to_string())
}

fn list(at: &Where) -> Result<Exit, Failure> {
    let entries = trash::list(&at.local).map_err(failed)?;
    if at.json {
        println!("{}", serde_json::to_string(&entries).unwrap_or_default());
        return Ok(Exit::Done);
    }
    for entry in &entries {
        println!(
            "{}  {}  {} bytes  {}  ({})",
            utc_minute(entry.removed_at),
            entry.why.words(),
            entry.size,
            entry.path,
            entry.id
        );
    }
    Ok(Exit::Done)
}

fn restore_items(args: &RestoreArgs) -> Result<Exit, Failure> {
    let root = &args.at.local;
    let entries = trash::list(root).map_err(failed)?;
    let chosen: Vec<&Trashed> = if args.all {
        entries.iter().collect()
    } else {
        let mut chosen = Vec::new();
        for item in &args.items {
            // Newest first: a path names its latest removal.
            let entry = entries
                .iter()
                .find(|e| e.id == *item || e.path == item.trim_matches('/'))
                .ok_or_else(|| {
                    failed(TrashError::NoSuchEntry {
                        root: root.display().to_string(),
                        id: item.clone(),
                    })
                })?;
            chosen.push(entry);
        }
        chosen
    };
    let mut restored = Vec::new();
    for entry in chosen {
        let to = trash::restore(root, &entry.id).map_err(failed)?;
        let relative = to
            .strip_prefix(root)
            .unwrap_or(&to)
            .to_string_lossy()
            .into_owned();
        if !args.at.json {
            println!("{} restored as {relative}", entry.path);
        }
        restored.push(Restored {
            id: entry.id.clone(),
            path: entry.path.clone(),
            restored_as: relative,
        });
    }
    if args.at.json {
        println!("{}", serde_json::to_string(&restored).unwrap_or_default());
    }
    Ok(Exit::Done)
}

fn empty(at: &Where) -> Result<Exit, Failure> {
    let gone = trash::empty(&at.local).map_err(failed)?;
    if at.json {
        println!("{{\"deleted\":{gone}}}");
    } else {
        println!("{gone} file(s) deleted from the trash");
    }
    Ok(Exit::Done)
}
