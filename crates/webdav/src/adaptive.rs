//! How many requests go to a server at once: a limit that adapts to what the server shows.
//!
//! A phone's round trip to its server is 30–150 ms, so one request at a time leaves the link
//! idle: throughput rises with requests in flight until the server's workers are all busy.
//! From there on more requests only wait in the server's queue: answer times rise and nothing
//! goes faster, and a small server (a few PHP workers) starts refusing (429, 503) or stalling.
//!
//! The controller watches windows of completed requests (as many as the limit, at least 4):
//!
//! - the lowest median answer time of any window is the **baseline**: the time with no
//!   queue. A median, because requests differ (a big folder's listing takes longer than a
//!   small one's, a connection may be slower than the others) and a queue at the server
//!   slows most answers, where a few slow ones move a median little;
//! - a window with a refusal (429/503), a timeout or a stall cuts the limit by a quarter;
//! - a median answer time above 1.5× the baseline shrinks the limit toward where the baseline
//!   would be (by at most a quarter): requests are queueing at the server;
//! - a median under 1.2× the baseline, with the limit in use, grows it: doubling at first
//!   (slow start, left once a window shows a queue or a refusal), then one at a time;
//! - a median within 2 ms of the baseline is flat whatever its ratio: at sub-millisecond
//!   answer times (loopback, a fast server on a LAN) the spread is the two machines' CPU
//!   scheduling, not a queue worth avoiding, and read as one it held 1–3 requests in flight
//!   on loopback, where 10,000 small files then took 1.3 s instead of 1.0;
//! - in between, it holds, still in slow start if it was: one window a little slower (the
//!   client's own CPU busy, a folder listing that took longer) is not yet a queue, and
//!   leaving slow start on it would leave the limit to climb one at a time from far below
//!   the knee;
//! - at one request at a time nothing of ours can queue, so that window's median becomes the
//!   baseline, higher or lower: a network that turned slower is measured anew, and the limit
//!   climbs again (slow start) instead of staying at one.
//!
//! With W workers that each take S per request and a round trip of L, the workers are all busy
//! from W·(L+S)/S requests in flight on (Little's law); the limit settles just past that knee,
//! where answer times start to rise, and stays there. A server whose knee is below the
//! starting limit (two workers on a LAN) shows a queue from the first window on, so nothing
//! says the limit is high: it holds near the start with every worker busy, which costs the
//! server nothing, and refusals still bring it down. `crates/webdav/tests/adaptive.rs` drives
//! a simulated server with fixed workers in paused time.

use std::time::Duration;

/// How a request ended, as the controller counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Answered (whatever the status): its time counts.
    Answered,
    /// Refused for load (429, 503), timed out or stalled: the server is overwhelmed.
    Overloaded,
}

/// The adaptive limit.
#[derive(Debug, Clone)]
pub struct Concurrency {
    limit: f64,
    max: usize,
    slow_start: bool,
    baseline: Option<Duration>,
    window: Window,
}

#[derive(Debug, Clone, Default)]
struct Window {
    /// The answer times of this window.
    times: Vec<Duration>,
    overloaded: bool,
    /// The limit was reached while this window filled: there was demand for more.
    busy: bool,
}

/// A window's mean above this × the baseline: requests queue at the server.
const QUEUEING: f64 = 1.5;
/// A window's mean under this × the baseline: no queue yet, room to grow.
const FLAT: f64 = 1.2;
/// A window's median at most this much above the baseline is flat: no queue that matters.
const NOISE: Duration = Duration::from_millis(2);
/// The most a window takes off the limit.
const CUT: f64 = 0.75;
/// Windows hold at least this many answers, so one slow request does not decide.
const MIN_WINDOW: usize = 4;

impl Concurrency {
    /// Starts at `initial` requests at once, never more than `max` (the user's setting).
    pub fn new(initial: usize, max: usize) -> Concurrency {
        let max = max.max(1);
        Concurrency {
            limit: initial.clamp(1, max) as f64,
            max,
            slow_start: true,
            baseline: None,
            window: Window::default(),
        }
    }

    /// Raises a limit still in its first slow start to `at_least` (within the user's
    /// maximum): for a connection that multiplexes (HTTP/2), where another request in flight
    /// is another stream, not another connection and handshake, so starting low only costs
    /// round trips. A limit that adapted already is left alone.
    pub fn start_at_least(&mut self, at_least: usize) {
        if self.slow_start && self.baseline.is_none() {
            self.limit = self.limit.max(at_least.min(self.max) as f64);
        }
    }

    /// Requests that may be in flight now.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// A request ended after `took`; `in_flight` were under way when it did (itself included).
    pub fn record(&mut self, took: Duration, answer: Answer, in_flight: usize) {
        let limit = self.limit();
        let window = &mut self.window;
        window.busy |= in_flight >= limit;
        match answer {
            Answer::Answered => window.times.push(took),
            Answer::Overloaded => window.overloaded = true,
        }
        if window.overloaded || window.times.len() >= limit.max(MIN_WINDOW) {
            self.adapt();
        }
    }

    fn adapt(&mut self) {
        let window = std::mem::take(&mut self.window);
        if window.overloaded {
            self.slow_start = false;
            self.limit = (self.limit * CUT).max(1.0);
            tracing::debug!(
                limit = self.limit(),
                "concurrency cut after a refusal or a stall"
            );
            return;
        }
        let mut times = window.times;
        times.sort_unstable();
        let typical = times[times.len() / 2];
        let baseline = if self.limit() <= 1 {
            // One request at a time queues behind nothing of ours: its answer time is the
            // no-queue time now, whatever it was before. A slower network (Wi-Fi to mobile)
            // would otherwise read as a queue forever, and a limit cut to one by faults or by
            // that misreading would stay there; measured anew, it climbs again from here.
            if self.baseline.is_some_and(|b| typical > b) {
                self.slow_start = true;
            }
            typical
        } else {
            self.baseline.map_or(typical, |b| b.min(typical))
        };
        self.baseline = Some(baseline);
        let ratio = if typical.saturating_sub(baseline) <= NOISE {
            1.0
        } else {
            typical.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
        };
        if ratio > QUEUEING {
            self.slow_start = false;
            let toward = (FLAT / ratio).clamp(CUT, 1.0);
            self.limit = (self.limit * toward).max(1.0);
        } else if ratio < FLAT && window.busy {
            self.limit = if self.slow_start {
                self.limit * 2.0
            } else {
                self.limit + 1.0
            }
            .min(self.max as f64);
        }
        tracing::debug!(
            limit = self.limit(),
            median_ms = typical.as_secs_f64() * 1e3,
            baseline_ms = baseline.as_secs_f64() * 1e3,
            busy = window.busy,
            "concurrency adapted"
        );
    }
}
