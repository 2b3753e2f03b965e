//! `tidesync demo` and `tidesync serve`: the embedded demo remote, from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use tidesync_demo::{DavServer, generate};

use crate::exit::Exit;
use crate::sync;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Where the demo files land.
    #[arg(long, default_value = "tidesync-demo")]
    dir: PathBuf,
    /// Which sample content to generate.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where the journal and the generated content live (default: the platform data dir).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The folder to serve.
    #[arg(long)]
    root: PathBuf,
    /// Where to listen; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

type Failure = (Exit, String);

/// Starts the demo remote on a loopback port, syncs it into `--dir`, prints what changed.
pub async fn demo(args: DemoArgs) -> Result<Exit, Failure> {
    let state = args
        .state
        .or_else(crate::default_state_dir)
        .ok_or_else(|| {
            (
                Exit::Usage,
                "no data directory is known here; pass --state".to_owned(),
            )
        })?;
    let content_dir = state.join(format!("demo-content-{}", args.seed));
    let generated = tokio::task::spawn_blocking(move || generate(&content_dir, args.seed))
        .await
        .map_err(|e| (Exit::Usage, e.to_string()))?
        .map_err(|e| {
            (
                Exit::Usage,
                format!("could not write the demo content: {e}"),
            )
        })?;
    let server = DavServer::serve(&generated.root).await.map_err(|e| {
        (
            Exit::Network,
            format!("could not start the demo server: {e}"),
        )
    })?;
    println!(
        "Demo remote: {} files, {:.1} MB at {}",
        generated.files,
        generated.bytes as f64 / 1e6,
        server.url()
    );
    let name = format!("Demo remote (seed {})", args.seed);
    let request = sync::Args::download(&name, server.url(), args.dir.clone(), Some(state));
    let (exit, outcome) = sync::sync(request).await?;
    let summary = outcome.summary;
    if summary.files_downloaded == 0 && summary.deleted_local == 0 && summary.conflicts == 0 {
        println!("Nothing changed: {} is up to date.", args.dir.display());
    } else {
        println!(
            "Downloaded {} files ({:.1} MB) into {}; {} conflicts, {} deleted.",
            summary.files_downloaded,
            summary.bytes_downloaded as f64 / 1e6,
            args.dir.display(),
            summary.conflicts,
            summary.deleted_local
        );
    }
    Ok(exit)
}

/// Serves a folder over WebDAV until Ctrl-C.
pub async fn serve(args: ServeArgs) -> Result<Exit, Failure> {
    if !args.root.is_dir() {
        return Err((
            Exit::Usage,
            format!("{} is not a folder", args.root.display()),
        ));
    }
    if !args.addr.ip().is_loopback() {
        eprintln!(
            "tidesync: warning: serving without encryption or a password on {}",
            args.addr
        );
    }
    let server = DavServer::serve_on(&args.root, args.addr)
        .await
        .map_err(|e| (Exit::Usage, format!("cannot listen on {}: {e}", args.addr)))?;
    println!("Serving {} at {}", args.root.display(), server.url());
    println!(
        "On an Android emulator: adb reverse tcp:{0} tcp:{0}, then use http://127.0.0.1:{0}/",
        server.addr().port()
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(Exit::Done)
}
