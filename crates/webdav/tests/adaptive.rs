//! The adaptive concurrency limit against a simulated server in paused time: a fixed number
//! of workers, each taking a fixed time per request, behind a fixed round trip. The limit
//! must settle near the knee (where every worker is busy) and stay there; a server that
//! refuses past a load must bring it down to that load.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tidesync_webdav::{Answer, Concurrency};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// A server with `workers` workers taking `service` each, `rtt` away; refuses (503) past
/// `refuse_above` requests in flight, if set.
#[derive(Clone)]
struct Server {
    workers: Arc<Semaphore>,
    service: Duration,
    rtt: Duration,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    refuse_above: Option<usize>,
    /// Requests differ: each takes `service` times a factor from 0.4 to 1.6 (seeded).
    uneven: Option<Arc<std::sync::Mutex<fastrand::Rng>>>,
    /// One request in this many crosses a slow link: ten round trips instead of one.
    slow_one_in: Option<usize>,
    sent: Arc<std::sync::atomic::AtomicUsize>,
}

impl Server {
    fn new(workers: usize, service_ms: u64, rtt_ms: u64) -> Server {
        Server {
            workers: Arc::new(Semaphore::new(workers)),
            service: Duration::from_millis(service_ms),
            rtt: Duration::from_millis(rtt_ms),
            in_flight: Default::default(),
            refuse_above: None,
            uneven: None,
            slow_one_in: None,
            sent: Default::default(),
        }
    }

    /// Requests in flight at which every worker is busy (Little's law).
    fn knee(&self) -> f64 {
        let workers = self.workers.available_permits() as f64;
        workers * (self.rtt + self.service).as_secs_f64() / self.service.as_secs_f64()
    }

    async fn request(self) -> (Duration, Answer) {
        use std::sync::atomic::Ordering;
        let started = Instant::now();
        let n = self.sent.fetch_add(1, Ordering::SeqCst);
        let rtt = match self.slow_one_in {
            Some(every) if n.is_multiple_of(every) => self.rtt * 10,
            _ => self.rtt,
        };
        tokio::time::sleep(rtt / 2).await;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let answer = if self.refuse_above.is_some_and(|limit| now > limit) {
            Answer::Overloaded
        } else {
            let _worker = self.workers.acquire().await.unwrap();
            let factor = match &self.uneven {
                Some(rng) => 0.4 + 1.2 * rng.lock().unwrap().f64(),
                None => 1.0,
            };
            tokio::time::sleep(self.service.mul_f64(factor)).await;
            Answer::Answered
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        tokio::time::sleep(rtt / 2).await;
        (started.elapsed(), answer)
    }
}

/// Sends `requests` through the controller; returns its limit after each answer, and the
/// requests answered per second.
async fn drive(server: &Server, limit: &mut Concurrency, requests: usize) -> (Vec<usize>, f64) {
    let started = Instant::now();
    let mut running = FuturesUnordered::new();
    let (mut sent, mut limits) = (0, Vec::new());
    while sent < requests || !running.is_empty() {
        while running.len() < limit.limit() && sent < requests {
            running.push(server.clone().request());
            sent += 1;
        }
        let Some((took, answer)) = running.next().await else {
            break;
        };
        limit.record(took, answer, running.len() + 1);
        limits.push(limit.limit());
    }
    (limits, requests as f64 / started.elapsed().as_secs_f64())
}

/// The last `n` limits' lowest and highest.
fn settled(limits: &[usize], n: usize) -> (usize, usize) {
    let tail = &limits[limits.len().saturating_sub(n)..];
    (*tail.iter().min().unwrap(), *tail.iter().max().unwrap())
}

#[tokio::test(start_paused = true)]
async fn the_limit_settles_near_the_knee_and_stays() {
    // (workers, ms per request, round trip ms)
    for (workers, service, rtt) in [(4, 20, 50), (8, 10, 150), (16, 5, 30), (3, 40, 60)] {
        let server = Server::new(workers, service, rtt);
        let knee = server.knee();
        let (limits, rate) = drive(&server, &mut Concurrency::new(8, 256), 20_000).await;
        let (low, high) = settled(&limits, 2_000);
        let case = format!(
            "{workers} workers × {service} ms, {rtt} ms away: knee {knee:.0}, settled {low}–{high}"
        );
        assert!(
            low as f64 >= 0.8 * knee && high as f64 <= 1.7 * knee + 2.0,
            "{case}"
        );
        assert!(
            high - low <= (knee * 0.35).ceil() as usize + 1,
            "oscillates: {case}"
        );
        let best = workers as f64 / Duration::from_millis(service).as_secs_f64();
        assert!(rate >= 0.8 * best, "{case}: {rate:.0}/s of {best:.0}/s");
    }
}

#[tokio::test(start_paused = true)]
async fn requests_that_differ_do_not_pull_the_limit_down() {
    let mut server = Server::new(8, 25, 100);
    server.uneven = Some(Arc::new(std::sync::Mutex::new(fastrand::Rng::with_seed(
        20,
    ))));
    let knee = server.knee();
    let (limits, rate) = drive(&server, &mut Concurrency::new(8, 256), 20_000).await;
    let (low, high) = settled(&limits, 2_000);
    assert!(
        low as f64 >= 0.7 * knee && high as f64 <= 1.8 * knee,
        "knee {knee:.0}, settled {low}–{high}"
    );
    assert!(rate >= 0.8 * 320.0, "{rate:.0}/s of 320/s");
}

#[tokio::test(start_paused = true)]
async fn a_few_slow_connections_do_not_pull_the_limit_down() {
    let mut server = Server::new(8, 10, 50);
    server.slow_one_in = Some(5);
    let knee = server.knee();
    let (limits, _) = drive(&server, &mut Concurrency::new(8, 256), 20_000).await;
    let (low, high) = settled(&limits, 2_000);
    assert!(
        low as f64 >= 0.8 * knee,
        "knee {knee:.0}, settled {low}–{high}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_knee_below_the_start_holds_near_the_start_with_every_worker_busy() {
    let server = Server::new(2, 50, 5);
    let (limits, rate) = drive(&server, &mut Concurrency::new(8, 256), 5_000).await;
    let (low, high) = settled(&limits, 1_000);
    assert!(low >= 1 && high <= 12, "settled {low}–{high}");
    assert!(rate >= 0.95 * 40.0, "{rate:.0}/s of 40/s");
}

#[tokio::test(start_paused = true)]
async fn the_users_setting_is_an_upper_bound() {
    let server = Server::new(64, 10, 150);
    let (limits, _) = drive(&server, &mut Concurrency::new(8, 12), 2_000).await;
    assert_eq!(*limits.iter().max().unwrap(), 12);
}

#[tokio::test(start_paused = true)]
async fn refusals_bring_the_limit_down_to_what_the_server_takes() {
    let mut server = Server::new(64, 10, 50);
    server.refuse_above = Some(6);
    let (limits, _) = drive(&server, &mut Concurrency::new(32, 256), 5_000).await;
    let (low, high) = settled(&limits, 500);
    assert!(
        high <= 12 && low >= 1,
        "settled {low}–{high} against a server that takes 6"
    );
}

#[tokio::test(start_paused = true)]
async fn a_network_that_turns_slower_is_measured_anew() {
    // Learnt on a LAN, then the phone moves to a mobile network 50 times farther away: the
    // answer times rise without any queue. The limit may fall while that looks like one, but
    // must climb back to the user's bound, where every request at once is still no queue.
    let mut limit = Concurrency::new(8, 32);
    drive(&Server::new(64, 5, 2), &mut limit, 2_000).await;
    assert_eq!(limit.limit(), 32, "a LAN with 64 workers takes the bound");
    let (limits, _) = drive(&Server::new(64, 5, 100), &mut limit, 5_000).await;
    let (low, high) = settled(&limits, 1_000);
    assert_eq!(
        (low, high),
        (32, 32),
        "back at the bound on the slower network"
    );
}

#[test]
fn one_slightly_slower_window_does_not_end_slow_start() {
    // A window 1.3× the baseline (the client's CPU busy for a moment, say) holds the limit;
    // the next flat window doubles it again rather than adding one.
    let mut limit = Concurrency::new(8, 256);
    let ms = Duration::from_millis;
    window(&mut limit, ms(50));
    assert_eq!(limit.limit(), 16);
    window(&mut limit, ms(65));
    assert_eq!(limit.limit(), 16, "a window between 1.2× and 1.5× holds");
    window(&mut limit, ms(50));
    assert_eq!(limit.limit(), 32, "still in slow start");
    window(&mut limit, ms(80));
    assert!(limit.limit() < 32, "a queue (1.6×) brings it down");
    let after = limit.limit();
    window(&mut limit, ms(50));
    assert_eq!(limit.limit(), after + 1, "then one at a time");
}

#[test]
fn sub_millisecond_answers_that_wobble_are_not_a_queue() {
    // Loopback: the baseline is a quarter of a millisecond and windows come back at 1.5 ms,
    // six times as long, because both ends share two busy cores. That is no queue to avoid:
    // the limit keeps doubling. A window 3 ms over the baseline is one, and cuts it.
    let mut limit = Concurrency::new(8, 256);
    let us = Duration::from_micros;
    window(&mut limit, us(250));
    assert_eq!(limit.limit(), 16);
    window(&mut limit, us(1_500));
    assert_eq!(limit.limit(), 32);
    window(&mut limit, us(2_250));
    assert_eq!(limit.limit(), 64, "2 ms over the baseline is still flat");
    window(&mut limit, us(3_500));
    assert!(limit.limit() < 64, "3.25 ms over the baseline is a queue");
}

/// One full window at the current limit, every answer taking `took`, with the limit in use.
fn window(limit: &mut Concurrency, took: Duration) {
    let at_once = limit.limit();
    for _ in 0..at_once {
        limit.record(took, Answer::Answered, at_once);
    }
}

#[test]
fn a_multiplexed_connection_starts_higher_but_only_before_any_window() {
    let ms = Duration::from_millis;
    let mut limit = Concurrency::new(8, 64);
    limit.start_at_least(32);
    assert_eq!(
        limit.limit(),
        32,
        "HTTP/2: another stream costs no handshake"
    );
    limit.start_at_least(128);
    assert_eq!(limit.limit(), 64, "never past the user's bound");

    let mut adapted = Concurrency::new(8, 256);
    window(&mut adapted, ms(50));
    window(&mut adapted, ms(80));
    let measured = adapted.limit();
    adapted.start_at_least(200);
    assert_eq!(
        adapted.limit(),
        measured,
        "what the answers showed is not overruled"
    );
}
