//! Engine-level figures for `scripts/bench`, measured on a real download through the test kit's
//! byte-counting proxy: suspend latency, resume to first byte, bytes fetched again per suspend,
//! cancel latency, and what an attached progress sink costs.
//!
//! ```text
//! engine_figures URL SCRATCH [SUSPENDS]
//! ```
//! `URL` is a WebDAV folder of large files (the bench's `large` dataset), `SCRATCH` a folder for
//! the journals and downloads (tmpfs, so the disk does not dominate). Prints one JSON object.
//! Every completed download stays in `SCRATCH` (as `*/local`), so the caller can check each
//! against the dataset before any figure counts; cancelled ones are removed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tidesync_engine::{
    Engine, EngineOptions, JobEvent, JobId, JobState, Mode, PairId, PlainHttp, Sink,
};
use tidesync_testkit::proxy::FaultProxy;

/// Every figure, as printed.
#[derive(serde::Serialize, Default)]
struct Figures {
    suspends: usize,
    suspend_ms_p50: f64,
    suspend_ms_p99: f64,
    suspend_ms_max: f64,
    resume_to_first_byte_ms_p50: f64,
    resume_to_first_byte_ms_p99: f64,
    /// Body bytes the engine received twice, per suspend: what a resume fetched again.
    refetched_bytes_per_suspend: f64,
    /// Bytes the server sent beyond an uninterrupted download, per suspend: the re-fetched
    /// bytes, each resume's listing and headers, and what was in the socket buffers when the
    /// connections were dropped (sent by the server, never read by the client).
    wire_bytes_per_suspend: f64,
    cancels: usize,
    cancel_ms_p50: f64,
    cancel_ms_max: f64,
    download_secs_without_sink: f64,
    download_secs_with_sink: f64,
    sink_messages_per_sec: f64,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: engine_figures URL SCRATCH [SUSPENDS]";
    let url = args.next().expect(usage);
    let scratch = PathBuf::from(args.next().expect(usage));
    let suspends: usize = args.next().map_or(100, |n| n.parse().expect(usage));

    let parsed = url::Url::parse(&url).expect("a valid URL");
    let target: SocketAddr = format!(
        "{}:{}",
        parsed.host_str().expect("a host"),
        parsed.port_or_known_default().expect("a port")
    )
    .parse()
    .expect("a loopback address");
    let proxy = FaultProxy::start(target).await.expect("the proxy starts");
    let folder = format!("{}{}", proxy.url(), parsed.path().trim_start_matches('/'));
    let mut figures = Figures::default();
    let mut run = 0;
    let mut next = |name: &str| {
        run += 1;
        scratch.join(format!("{name}-{run}"))
    };

    // An uninterrupted download, without and with a sink, alternating: the baseline for the
    // bytes a suspend costs, and the price of streaming progress.
    let (mut plain, mut with_sink, mut rates) = (vec![], vec![], vec![]);
    let (mut baseline_wire, mut baseline_body) = (0, 0);
    for _ in 0..3 {
        let before = proxy.bytes_down();
        let (secs, body) = download(&next("plain"), &folder, None).await;
        (baseline_wire, baseline_body) = (proxy.bytes_down() - before, body);
        plain.push(secs);
        let messages = Arc::new(AtomicU64::new(0));
        let (secs, _) = download(&next("sink"), &folder, Some(messages.clone())).await;
        with_sink.push(secs);
        rates.push(messages.load(Ordering::Relaxed) as f64 / secs);
    }
    figures.download_secs_without_sink = median(&mut plain);
    figures.download_secs_with_sink = median(&mut with_sink);
    figures.sink_messages_per_sec = median(&mut rates);

    // Suspends spread over one download, each followed by a resume.
    let place = next("suspend");
    let engine = engine_at(&place).await;
    let pair = add_pair(&engine, &place, &folder).await;
    let before = proxy.bytes_down();
    let job = engine.start(pair).await.expect("the job starts");
    let total = wait_for_total(&engine, job).await;
    let step = total / (suspends as u64 + 2);
    let (mut suspend_ms, mut first_byte_ms) = (vec![], vec![]);
    for i in 1..=suspends as u64 {
        if !wait_for_bytes(&engine, job, step * i).await {
            break;
        }
        suspend_ms.push(engine.suspend().await.as_secs_f64() * 1000.0);
        let done = engine.snapshot(job).expect("the job is known").bytes_done;
        let resumed = Instant::now();
        engine.resume_all();
        if wait_for_bytes(&engine, job, done + 1).await {
            first_byte_ms.push(resumed.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let outcome = engine.wait(job).await.expect("the job ends");
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    let body = engine.snapshot(job).expect("the job is known").bytes_done;
    let wire = (proxy.bytes_down() - before).saturating_sub(baseline_wire);
    figures.suspends = suspend_ms.len();
    let per_suspend = |bytes: u64| bytes as f64 / suspend_ms.len().max(1) as f64;
    figures.refetched_bytes_per_suspend = per_suspend(body.saturating_sub(baseline_body));
    figures.wire_bytes_per_suspend = per_suspend(wire);
    figures.suspend_ms_p50 = percentile(&mut suspend_ms, 50.0);
    figures.suspend_ms_p99 = percentile(&mut suspend_ms, 99.0);
    figures.suspend_ms_max = percentile(&mut suspend_ms, 100.0);
    figures.resume_to_first_byte_ms_p50 = percentile(&mut first_byte_ms, 50.0);
    figures.resume_to_first_byte_ms_p99 = percentile(&mut first_byte_ms, 99.0);
    engine.shutdown().await;

    // Cancels in the middle of a transfer.
    let mut cancel_ms = vec![];
    for _ in 0..10 {
        let place = next("cancel");
        let engine = engine_at(&place).await;
        let pair = add_pair(&engine, &place, &folder).await;
        let job = engine.start(pair).await.expect("the job starts");
        let total = wait_for_total(&engine, job).await;
        if wait_for_bytes(&engine, job, total / 4).await {
            let asked = Instant::now();
            engine.cancel(job).expect("the job is live");
            let outcome = engine.wait(job).await.expect("the job ends");
            assert_eq!(outcome.state, JobState::Cancelled, "{outcome:?}");
            cancel_ms.push(asked.elapsed().as_secs_f64() * 1000.0);
        }
        engine.shutdown().await;
        let _ = std::fs::remove_dir_all(&place);
    }
    figures.cancels = cancel_ms.len();
    figures.cancel_ms_p50 = percentile(&mut cancel_ms, 50.0);
    figures.cancel_ms_max = percentile(&mut cancel_ms, 100.0);

    println!(
        "{}",
        serde_json::to_string(&figures).expect("figures serialise")
    );
}

async fn engine_at(place: &Path) -> Engine {
    Engine::open(&place.join("state"), EngineOptions::default())
        .await
        .expect("the engine opens")
}

async fn add_pair(engine: &Engine, place: &Path, folder: &str) -> PairId {
    let remote = engine
        .add_remote("bench", folder, None, PlainHttp::LoopbackOnly)
        .await
        .expect("the remote is added");
    engine
        .ensure_pair(remote, "", &place.join("local"), Mode::Download)
        .await
        .expect("the pair is added")
}

/// Downloads the folder into a fresh place; with `messages`, a sink counting what it is sent
/// is attached. Returns the wall time and the body bytes received.
async fn download(place: &Path, folder: &str, messages: Option<Arc<AtomicU64>>) -> (f64, u64) {
    let engine = engine_at(place).await;
    let pair = add_pair(&engine, place, folder).await;
    let started = Instant::now();
    let job = engine.start(pair).await.expect("the job starts");
    if let Some(messages) = messages {
        let sink: Arc<dyn Sink> = Arc::new(move |_: JobEvent| {
            messages.fetch_add(1, Ordering::Relaxed);
            true
        });
        engine.attach(job, "bench", sink).expect("the job is live");
    }
    let outcome = engine.wait(job).await.expect("the job ends");
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    let secs = started.elapsed().as_secs_f64();
    let body = engine.snapshot(job).expect("the job is known").bytes_done;
    engine.shutdown().await;
    (secs, body)
}

/// Waits until the job has planned, and returns the bytes it will move.
async fn wait_for_total(engine: &Engine, job: JobId) -> u64 {
    loop {
        let snapshot = engine.snapshot(job).expect("the job is known");
        if snapshot.bytes_total > 0 || snapshot.state.is_final() {
            return snapshot.bytes_total;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits until the job has moved more than `bytes`; false if it ended first. Watched from a
/// thread that looks every 0.2 ms, finer than tokio's 1 ms timer.
async fn wait_for_bytes(engine: &Engine, job: JobId, bytes: u64) -> bool {
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || {
        loop {
            let snapshot = engine.snapshot(job).expect("the job is known");
            if snapshot.bytes_done >= bytes {
                return true;
            }
            if snapshot.state.is_final() {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    })
    .await
    .expect("the watcher does not panic")
}

fn median(values: &mut [f64]) -> f64 {
    percentile(values, 50.0)
}

/// The nearest-rank percentile; 0 for no values.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}
