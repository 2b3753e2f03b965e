//! `tidesync`: the same engine as the app, without a window.
//!
//! - [`sync`]: `tidesync sync`, one sync of a WebDAV folder with a local folder.
//! - [`login`]: `tidesync login` / `logout`, a Nextcloud account by Login Flow v2.
//! - [`connection`]: the flags that say how to reach a server, and password files.
//! - [`exit`]: the exit codes, each with a one-line message that says what to do.
//! - [`demo`]: `tidesync demo` and `tidesync serve`, the embedded demo remote.
//! - [`trash`]: `tidesync trash`, what syncs removed from a local folder.
//! - [`bar`]: the progress bar shown on a terminal.

mod bar;
mod connection;
mod demo;
mod exit;
mod filtering;
mod login;
mod sync;
mod trash;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::Exit;

/// Tidesync: sync a WebDAV folder with a local folder.
#[derive(Parser)]
#[command(name = "tidesync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sync the WebDAV folder at --url with the local folder --local.
    Sync(Box<sync::Args>),
    /// Sign in to a Nextcloud server in a browser (Login Flow v2); the app password it makes
    /// for this device goes to --password-file.
    Login(login::LoginArgs),
    /// Revoke the app password `login` got, and delete its file.
    Logout(login::LogoutArgs),
    /// Start the embedded demo remote and sync it into --dir.
    Demo(demo::DemoArgs),
    /// Serve a folder over WebDAV until Ctrl-C (for testers and emulators).
    Serve(demo::ServeArgs),
    /// The files syncs removed from a local folder: list, restore, empty.
    Trash(trash::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                Exit::Usage.code()
            } else {
                0
            };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    init_logging();
    // One worker thread: the CLI's async work is waiting on sockets, while file writes, scans
    // and the journal run on the blocking pool. A second worker only added cross-thread
    // wake-ups (13% more CPU for a 10,000-file download on two cores, the same wall time).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Exit::Usage.report(&format!("could not start: {error}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Sync(args) => sync::run(*args).await,
            Command::Login(args) => login::login(args).await,
            Command::Logout(args) => login::logout(args).await,
            Command::Demo(args) => demo::demo(args).await,
            Command::Serve(args) => demo::serve(args).await,
            Command::Trash(args) => trash::run(args).await,
        }
    });
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err((exit, message)) => exit.report(&message),
    }
}

/// Logs go to stderr, errors only unless `RUST_LOG` says otherwise.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Where the journal lives unless `--state` says: the platform's data dir.
fn default_state_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .map(|dir| dir.join("tidesync"))
}
