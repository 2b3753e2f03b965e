//! Progress of one job, streamed to any number of subscribers (a Tauri `Channel`, the CLI's
//! bar, a test) without ever slowing the transfer down.
//!
//! The hub keeps the latest [`JobSnapshot`] (latest wins) and a bounded queue of discrete
//! events per subscriber. Each subscriber has its own task: it first sends the snapshot, then
//! the events in order, and a fresh snapshot at most every 50 ms while something changes
//! (so at most 20 snapshots a second, whatever the number of files). A subscriber that is
//! slow or gone only stalls its own task; a full queue drops events and counts them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::model::{FailureKind, JobId, JobState, PairId, Summary};

/// The longest a subscriber's event queue gets before events are dropped.
const EVENT_QUEUE: usize = 1024;
/// The shortest time between two snapshots to one subscriber.
const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(50);
/// Files in flight listed in a snapshot; keeps every message well under 8 KiB.
const MAX_IN_FLIGHT: usize = 8;
/// How far back the rate looks.
const RATE_WINDOW: Duration = Duration::from_secs(3);
/// Samples of the rate closer together than this are merged, so the window holds a few
/// hundred however many files a second complete (at 10,000 small files a second, a sample
/// per file made this bookkeeping a tenth of the download's CPU).
const SAMPLE_SPACING: Duration = Duration::from_millis(10);

/// What a running job is doing.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PhaseDto"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    Listing,
    Planning,
    Transferring,
    Finishing,
}

/// A file being transferred.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "InFlightDto"))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlight {
    pub path: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Everything a view needs to draw a job from scratch.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "JobSnapshotDto"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSnapshot {
    pub job_id: JobId,
    pub pair_id: PairId,
    pub state: JobState,
    pub phase: Phase,
    pub files_total: u64,
    pub files_done: u64,
    pub bytes_total: u64,
    pub bytes_done: u64,
    /// Bytes per second over the last few seconds.
    pub rate: u64,
    /// Seconds left at the current rate, when there is a rate.
    pub eta_secs: Option<u64>,
    pub in_flight: Vec<InFlight>,
    pub errors: u64,
    /// Events this subscriber's queue had to drop.
    pub dropped_events: u64,
    /// Grows with every change; a view ignores a snapshot older than the one it shows.
    pub seq: u64,
}

/// What a finished transfer did to a file.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ActionDto"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FileAction {
    Downloaded,
    Uploaded,
    DeletedLocal,
    DeletedRemote,
    Conflict,
    CreatedFolder,
    /// Moved the way the other side moved it.
    Moved,
}

/// A message to a subscriber.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum JobEvent {
    Snapshot { snapshot: JobSnapshot },
    StateChanged { state: JobState },
    FileDone { path: String, action: FileAction },
    FileFailed { path: String, message: String },
    Finished { summary: Summary },
    Failed { message: String, kind: FailureKind },
}

impl JobEvent {
    fn is_terminal(&self) -> bool {
        matches!(self, JobEvent::Finished { .. } | JobEvent::Failed { .. })
    }
}

/// Where a subscriber's messages go. `send` returns false once the subscriber is gone, which
/// ends its task. It is called from the subscriber's own task, never from a transfer.
pub trait Sink: Send + Sync + 'static {
    fn send(&self, event: JobEvent) -> bool;
}

impl<F: Fn(JobEvent) -> bool + Send + Sync + 'static> Sink for F {
    fn send(&self, event: JobEvent) -> bool {
        self(event)
    }
}

/// Identifies one attachment; a newer one from the same owner replaces it.
pub type AttachId = u64;

struct Attachment {
    id: AttachId,
    events: mpsc::Sender<JobEvent>,
    stop: CancellationToken,
    dropped: Arc<AtomicU64>,
}

struct State {
    snapshot: JobSnapshot,
    in_flight: HashMap<String, InFlight>,
    attachments: HashMap<String, Attachment>,
    /// The `Finished`/`Failed` event, replayed to late subscribers.
    terminal: Option<JobEvent>,
    /// (when, bytes_done) samples for the rate, oldest first, over [`RATE_WINDOW`].
    samples: VecDeque<(Instant, u64)>,
}

/// The progress hub of one job.
pub struct Hub {
    state: Mutex<State>,
    /// Bumped on every change, so subscriber tasks wake only when there is news.
    version: watch::Sender<u64>,
    next_attach: AtomicU64,
}

impl Hub {
    pub fn new(job_id: JobId, pair_id: PairId, state: JobState) -> Arc<Hub> {
        Arc::new(Hub {
            state: Mutex::new(State {
                snapshot: JobSnapshot {
                    job_id,
                    pair_id,
                    state,
                    phase: Phase::Listing,
                    files_total: 0,
                    files_done: 0,
                    bytes_total: 0,
                    bytes_done: 0,
                    rate: 0,
                    eta_secs: None,
                    in_flight: Vec::new(),
                    errors: 0,
                    dropped_events: 0,
                    seq: 0,
                },
                in_flight: HashMap::new(),
                attachments: HashMap::new(),
                terminal: None,
                samples: VecDeque::new(),
            }),
            version: watch::Sender::new(0),
            next_attach: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> JobSnapshot {
        let state = self.lock();
        current(&state)
    }

    /// Changes the snapshot and tells subscribers.
    pub fn update(&self, change: impl FnOnce(&mut JobSnapshot)) {
        {
            let mut state = self.lock();
            change(&mut state.snapshot);
            state.snapshot.seq += 1;
        }
        self.version.send_modify(|v| *v += 1);
    }

    /// Records progress of a file transfer.
    pub fn file_progress(&self, path: &str, done: u64, total: u64, delta: u64) {
        {
            let mut state = self.lock();
            let entry = state
                .in_flight
                .entry(path.to_owned())
                .or_insert_with(|| InFlight {
                    path: path.to_owned(),
                    bytes_done: 0,
                    bytes_total: total,
                });
            entry.bytes_done = done;
            entry.bytes_total = total;
            state.snapshot.bytes_done += delta;
            state.snapshot.seq += 1;
            let bytes = state.snapshot.bytes_done;
            sample(&mut state.samples, Instant::now(), bytes);
        }
        self.version.send_modify(|v| *v += 1);
    }

    /// A download of `path` starts over from its first byte, `back` bytes before where it
    /// was (the server ignored a range, or cannot serve the rest): those bytes come again, so
    /// they leave the count of bytes done. Where the count holds fewer (they were fetched by
    /// an earlier process, and the total left them out), the total takes the rest; either
    /// way, bytes done plus bytes to come stays the total, and the bar never passes its end.
    pub fn start_over(&self, path: &str, back: u64) {
        self.update(|s| {
            if s.bytes_done >= back {
                s.bytes_done -= back;
            } else {
                s.bytes_total += back - s.bytes_done;
                s.bytes_done = 0;
            }
        });
        if let Some(entry) = self.lock().in_flight.get_mut(path) {
            entry.bytes_done = 0;
        }
    }

    /// A file transfer ended (done or failed): it is no longer in flight.
    pub fn file_ended(&self, path: &str) {
        self.lock().in_flight.remove(path);
        self.version.send_modify(|v| *v += 1);
    }

    /// Sends a discrete event to every subscriber; the snapshot is refreshed before it.
    pub fn emit(&self, event: JobEvent) {
        let mut state = self.lock();
        state.snapshot.seq += 1;
        let snapshot = current(&state);
        if event.is_terminal() {
            state.terminal = Some(event.clone());
        }
        for attachment in state.attachments.values() {
            // Discrete events carry meaning a snapshot cannot; send the snapshot first so a
            // view that shows `Finished` shows the final numbers with it.
            if event.is_terminal() {
                let _ = attachment.events.try_send(JobEvent::Snapshot {
                    snapshot: snapshot.clone(),
                });
            }
            if attachment.events.try_send(event.clone()).is_err() {
                attachment.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(state);
        self.version.send_modify(|v| *v += 1);
    }

    /// Subscribes `sink` on behalf of `owner` (a window, the CLI): the snapshot first, then live
    /// events. A previous attachment of the same owner stops receiving.
    pub fn attach(self: &Arc<Self>, owner: &str, sink: Arc<dyn Sink>) -> AttachId {
        let id = self.next_attach.fetch_add(1, Ordering::Relaxed);
        let (events, receiver) = mpsc::channel(EVENT_QUEUE);
        let stop = CancellationToken::new();
        let dropped = Arc::new(AtomicU64::new(0));
        {
            let mut state = self.lock();
            let snapshot = current(&state);
            let _ = events.try_send(JobEvent::Snapshot { snapshot });
            if let Some(terminal) = &state.terminal {
                let _ = events.try_send(terminal.clone());
            }
            let attachment = Attachment {
                id,
                events,
                stop: stop.clone(),
                dropped: dropped.clone(),
            };
            if let Some(old) = state.attachments.insert(owner.to_owned(), attachment) {
                old.stop.cancel();
            }
        }
        let hub = self.clone();
        let owner = owner.to_owned();
        tokio::spawn(async move {
            hub.deliver(receiver, sink, stop, dropped).await;
            let mut state = hub.lock();
            if state.attachments.get(&owner).is_some_and(|a| a.id == id) {
                state.attachments.remove(&owner);
            }
        });
        id
    }

    async fn deliver(
        &self,
        mut events: mpsc::Receiver<JobEvent>,
        sink: Arc<dyn Sink>,
        stop: CancellationToken,
        dropped: Arc<AtomicU64>,
    ) {
        let mut version = self.version.subscribe();
        version.mark_unchanged();
        let mut last_sent = Instant::now();
        let mut sent_seq = 0;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                event = events.recv() => {
                    let Some(event) = event else { return };
                    let terminal = event.is_terminal();
                    if let JobEvent::Snapshot { snapshot } = &event {
                        sent_seq = snapshot.seq;
                        last_sent = Instant::now();
                    }
                    if !sink.send(with_dropped(event, &dropped)) || terminal {
                        return;
                    }
                }
                changed = version.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Coalesce: wait out the interval, then send whatever is latest.
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep_until(last_sent + SNAPSHOT_INTERVAL) => {}
                    }
                    version.mark_unchanged();
                    if !events.is_empty() {
                        // Discrete events go first; the snapshot follows on the next change.
                        version.mark_changed();
                        continue;
                    }
                    let snapshot = self.snapshot();
                    if snapshot.seq != sent_seq {
                        sent_seq = snapshot.seq;
                        last_sent = Instant::now();
                        if !sink.send(with_dropped(JobEvent::Snapshot { snapshot }, &dropped)) {
                            return;
                        }
                    }
                }
            }
        }
    }
}

fn with_dropped(event: JobEvent, dropped: &AtomicU64) -> JobEvent {
    match event {
        JobEvent::Snapshot { mut snapshot } => {
            snapshot.dropped_events = dropped.load(Ordering::Relaxed);
            JobEvent::Snapshot { snapshot }
        }
        other => other,
    }
}

/// Adds `bytes` done at `now` to the rate's samples and lets go of those older than the
/// window. The newest sample is always `now`; the one it follows is replaced when the sample
/// before that is under [`SAMPLE_SPACING`] old, so the others stay that far apart.
fn sample(samples: &mut VecDeque<(Instant, u64)>, now: Instant, bytes: u64) {
    let len = samples.len();
    if len >= 2 && now.duration_since(samples[len - 2].0) < SAMPLE_SPACING {
        samples.pop_back();
    }
    samples.push_back((now, bytes));
    let horizon = now.checked_sub(RATE_WINDOW).unwrap_or(now);
    while samples.front().is_some_and(|(t, _)| *t < horizon) {
        samples.pop_front();
    }
}

/// The snapshot with its derived fields (files in flight, rate, ETA) filled in.
fn current(state: &State) -> JobSnapshot {
    let mut snapshot = state.snapshot.clone();
    let mut in_flight: Vec<_> = state.in_flight.values().cloned().collect();
    in_flight.sort_by(|a, b| a.path.cmp(&b.path));
    in_flight.truncate(MAX_IN_FLIGHT);
    snapshot.in_flight = in_flight;
    if let (Some(first), Some(last)) = (state.samples.front(), state.samples.back()) {
        let elapsed = last.0.duration_since(first.0).as_secs_f64();
        if elapsed > 0.2 {
            snapshot.rate = ((last.1 - first.1) as f64 / elapsed) as u64;
        }
    }
    snapshot.eta_secs = snapshot
        .bytes_total
        .saturating_sub(snapshot.bytes_done)
        .checked_div(snapshot.rate);
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_started_over_keeps_done_plus_to_come_equal_to_the_total() {
        let hub = Hub::new(JobId(1), PairId(1), JobState::Running);
        // Resumed at byte 400 from an earlier process's checkpoint: only 600 to come.
        hub.update(|s| s.bytes_total = 600);
        hub.file_progress("f", 500, 1000, 100);
        hub.start_over("f", 500);
        let s = hub.snapshot();
        assert_eq!(
            (s.bytes_done, s.bytes_total),
            (0, 1000),
            "the whole file is to come"
        );
        hub.file_progress("f", 1000, 1000, 1000);
        let s = hub.snapshot();
        assert_eq!(s.bytes_done, s.bytes_total);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_keeps_a_few_hundred_samples_however_many_files_complete() {
        let hub = Hub::new(JobId(1), PairId(1), JobState::Running);
        // 40,000 small files of 1,000 bytes over 4 s: one every 100 µs.
        for n in 0..40_000u64 {
            hub.file_progress(&format!("f{n}"), 1_000, 1_000, 1_000);
            hub.file_ended(&format!("f{n}"));
            tokio::time::advance(Duration::from_micros(100)).await;
        }
        let held = hub.lock().samples.len();
        // One per spacing over the window, give or take the edges (30,000 before they merged).
        let most = (RATE_WINDOW.as_millis() / SAMPLE_SPACING.as_millis()) as usize + 10;
        assert!(held <= most, "{held} samples held, at most {most} expected");
        // 10 bytes a microsecond, over the last 3 s.
        assert_eq!(hub.snapshot().rate / 1_000_000, 10);
        // Nothing for longer than the window: the old samples are let go.
        tokio::time::advance(RATE_WINDOW * 2).await;
        hub.file_progress("last", 1_000, 1_000, 1_000);
        assert_eq!(hub.lock().samples.len(), 1);
    }

    fn collector() -> (Arc<dyn Sink>, Arc<Mutex<Vec<JobEvent>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        (
            Arc::new(move |e: JobEvent| {
                sink.lock().unwrap().push(e);
                true
            }),
            seen,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn snapshot_first_then_coalesced_then_finished_last() {
        let hub = Hub::new(JobId(1), PairId(1), JobState::Running);
        let (sink, seen) = collector();
        hub.attach("window", sink);
        // 10,000 updates over one (paused) second.
        for i in 0..10_000u64 {
            hub.file_progress("a", i, 10_000, 1);
            if i % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        hub.emit(JobEvent::Finished {
            summary: Summary::default(),
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let seen = seen.lock().unwrap();
        assert!(matches!(seen.first(), Some(JobEvent::Snapshot { .. })));
        assert!(matches!(seen.last(), Some(JobEvent::Finished { .. })));
        let snapshots = seen
            .iter()
            .filter(|e| matches!(e, JobEvent::Snapshot { .. }))
            .count();
        assert!(
            (5..=24).contains(&snapshots),
            "{snapshots} snapshots for about one second"
        );
        let JobEvent::Snapshot { snapshot } = &seen[seen.len() - 2] else {
            panic!("a final snapshot precedes Finished")
        };
        assert_eq!(snapshot.bytes_done, 10_000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_attach_from_the_same_owner_replaces_the_old_one() {
        let hub = Hub::new(JobId(1), PairId(1), JobState::Running);
        let (first, first_seen) = collector();
        let (second, second_seen) = collector();
        hub.attach("window", first);
        tokio::time::sleep(Duration::from_millis(10)).await;
        hub.attach("window", second);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let before = first_seen.lock().unwrap().len();
        hub.emit(JobEvent::StateChanged {
            state: JobState::Paused,
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            first_seen.lock().unwrap().len(),
            before,
            "the replaced sink hears nothing more"
        );
        let second_seen = second_seen.lock().unwrap();
        assert!(matches!(second_seen[0], JobEvent::Snapshot { .. }));
        assert!(second_seen.contains(&JobEvent::StateChanged {
            state: JobState::Paused
        }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let hub = Hub::new(JobId(1), PairId(1), JobState::Running);
        let (sink, _seen) = collector();
        hub.attach("slow", sink);
        // The subscriber's task gets no chance to run while the job emits: emitting must
        // neither wait for it nor grow its queue without bound.
        for i in 0..5_000 {
            hub.emit(JobEvent::FileDone {
                path: format!("f{i}"),
                action: FileAction::Downloaded,
            });
        }
        let state = hub.lock();
        let dropped = state.attachments["slow"].dropped.load(Ordering::Relaxed);
        assert_eq!(
            dropped,
            5_000 - (EVENT_QUEUE as u64 - 1),
            "the queue holds the first snapshot and 1023 events"
        );
    }
}
