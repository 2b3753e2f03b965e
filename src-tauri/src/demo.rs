//! The embedded demo remote in the app: generated sample content served over WebDAV on a
//! loopback port, added as a remote with a download pair, so a new user can sync at once.

use std::net::SocketAddr;

use tidesync_demo::{DavServer, Rate, generate};
use tidesync_engine::{Engine, Mode, PlainHttp};

use crate::dto::{DemoDto, PairDto, RemoteDto};
use crate::error::Error;
use crate::state::AppState;

/// The demo remote's name; it identifies the remote across restarts (the port changes).
pub const NAME: &str = "Demo remote";
/// Which sample content; the same seed gives the same files on every device.
const SEED: u64 = 42;

/// Starts the demo server (once per process) and makes sure the remote and its pair exist,
/// pointed at the server's current address.
pub async fn start(state: &AppState, engine: &Engine) -> Result<DemoDto, Error> {
    let content = state.places.data.join(format!("demo-content-{SEED}"));
    let generated = tauri::async_runtime::spawn_blocking(move || generate(&content, SEED))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map_err(Error::Demo)?;
    let url = {
        let mut server = state.demo.lock().await;
        match server.as_ref() {
            Some(running) => running.url(),
            None => {
                let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
                let started = DavServer::serve_limited(&generated.root, loopback, rate())
                    .await
                    .map_err(Error::Demo)?;
                let url = started.url();
                *server = Some(started);
                url
            }
        }
    };
    let remote_id = engine
        .ensure_demo_remote(NAME, &url, PlainHttp::LoopbackOnly)
        .await?;
    let local = state.places.folders.join("Demo");
    let pair_id = engine
        .ensure_pair(remote_id, "", &local, Mode::Download)
        .await?;
    let remote = RemoteDto::from(engine.remote(remote_id).await?);
    let pair = PairDto::from(engine.pair(pair_id).await?);
    tracing::info!(%url, files = generated.files, "demo remote ready");
    Ok(DemoDto {
        remote,
        pair,
        files: generated.files as u64,
        bytes: generated.bytes,
    })
}

/// `TIDESYNC_DEMO_RATE` (bytes per second) slows the demo server down, so a tester (or an E2E
/// test) can watch, suspend and reload a sync that would otherwise end in a blink.
fn rate() -> Option<Rate> {
    let rate = std::env::var("TIDESYNC_DEMO_RATE").ok()?;
    match rate.parse::<u64>() {
        Ok(bytes_per_sec) if bytes_per_sec > 0 => Some(Rate::new(bytes_per_sec)),
        _ => {
            tracing::warn!(%rate, "TIDESYNC_DEMO_RATE is not a number of bytes per second; ignored");
            None
        }
    }
}

/// At start-up: if the user added the demo remote before, serve it again (on a new port) so
/// its pair syncs without a visit to the remotes screen. With `TIDESYNC_DEMO=1` (what
/// `npm run app` sets) a first run gets the demo remote added, ready to sync.
pub async fn start_at_launch(state: &AppState, engine: &Engine) {
    let remotes = match engine.remotes().await {
        Ok(remotes) => remotes,
        Err(error) => {
            tracing::warn!(%error, "could not read the remotes");
            return;
        }
    };
    let known = remotes.iter().any(|r| r.name == NAME);
    let wanted = remotes.is_empty() && std::env::var("TIDESYNC_DEMO").is_ok_and(|v| v == "1");
    if (known || wanted)
        && let Err(error) = start(state, engine).await
    {
        tracing::warn!(%error, "the demo remote could not start");
    }
}
