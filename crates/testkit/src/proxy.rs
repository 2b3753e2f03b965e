//! A loopback TCP proxy in front of a server that breaks connections on purpose, and counts the
//! bytes the server sends so a test can tell how much a client really fetched.
//!
//! Each new connection draws its fault when it is accepted: the fault set with
//! [`FaultProxy::always`], or the next one of a seeded schedule ([`FaultProxy::schedule`]), so
//! a failing run can be replayed from its seed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tidesync_demo::content::Seeded;
use tidesync_demo::server::serve_connections;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::{Instant, sleep};
use tokio_util::sync::{CancellationToken, DropGuard};

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every chunk arrives this much later, in each direction (a delay line: latency without
    /// a cap on throughput, as a long link behaves).
    Latency(Duration),
    /// At most this many bytes per second from the server.
    Bandwidth(u64),
    /// At most this many bytes per second each way (uploads too).
    Throttle(u64),
    /// The connection is closed after the server sent this many bytes.
    CutAfter(u64),
    /// Nothing is forwarded for this long (the socket stays open), then the connection closes.
    Stall(Duration),
    /// The connection is reset (RST) as soon as it is accepted.
    Reset,
    /// This connection and every new one for this long are closed at once.
    Refuse(Duration),
}

impl Fault {
    /// Every kind of fault, with values that hurt a client whose idle timeout is under 4 s.
    pub fn catalogue() -> [Fault; 6] {
        [
            Fault::Latency(Duration::from_millis(20)),
            Fault::Bandwidth(256 * 1024),
            Fault::CutAfter(20_000),
            Fault::Stall(Duration::from_secs(4)),
            Fault::Reset,
            Fault::Refuse(Duration::from_millis(300)),
        ]
    }
}

/// Which faults new connections get.
#[derive(Debug, Default)]
struct Plan {
    always: Option<Fault>,
    /// A seeded schedule: each connection draws a fault until `left` reaches zero.
    schedule: Option<(Seeded, u64)>,
    /// New connections are closed at once until this instant.
    refuse_until: Option<Instant>,
    dealt: u64,
    /// Connections accepted so far, faulted or not.
    accepted: u64,
    /// Cancelled to close every connection open now (see [`FaultProxy::close_connections`]).
    open: CancellationToken,
}

impl Plan {
    fn draw(&mut self) -> Option<Fault> {
        self.accepted += 1;
        if self
            .refuse_until
            .is_some_and(|until| Instant::now() < until)
        {
            return Some(Fault::Refuse(Duration::ZERO));
        }
        let fault = if let Some(fault) = self.always {
            Some(fault)
        } else if let Some((rng, left)) = &mut self.schedule {
            if *left == 0 {
                None
            } else {
                // Every connection gets one; the survivable ones (latency, bandwidth) keep the
                // sync moving, the others force new connections, which draw again.
                *left -= 1;
                let catalogue = Fault::catalogue();
                Some(
                    match catalogue[rng.below(catalogue.len() as u64) as usize] {
                        Fault::CutAfter(_) => Fault::CutAfter(1 + rng.below(256 * 1024)),
                        other => other,
                    },
                )
            }
        } else {
            None
        };
        if let Some(Fault::Refuse(span)) = fault {
            self.refuse_until = Some(Instant::now() + span);
        }
        self.dealt += u64::from(fault.is_some());
        fault
    }
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    /// Bytes the server sent to clients, over every connection so far.
    down: Arc<AtomicU64>,
    plan: Arc<Mutex<Plan>>,
    _stop: DropGuard,
}

impl FaultProxy {
    /// Forwards every connection on a new loopback port to `target`, faithfully until told
    /// otherwise.
    pub async fn start(target: SocketAddr) -> std::io::Result<FaultProxy> {
        let down = Arc::new(AtomicU64::new(0));
        let plan = Arc::new(Mutex::new(Plan::default()));
        let (counted, planned) = (down.clone(), plan.clone());
        let (addr, stop) =
            serve_connections(SocketAddr::from(([127, 0, 0, 1], 0)), move |client| {
                let counted = counted.clone();
                let (fault, open) = {
                    let mut plan = lock(&planned);
                    (plan.draw(), plan.open.clone())
                };
                async move {
                    open.run_until_cancelled(proxy(client, target, fault, counted))
                        .await;
                }
            })
            .await?;
        Ok(FaultProxy {
            addr,
            down,
            plan,
            _stop: stop,
        })
    }

    /// The base URL of the proxied server, ending with `/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Bytes the server has sent through the proxy so far.
    pub fn bytes_down(&self) -> u64 {
        self.down.load(Ordering::SeqCst)
    }

    /// Every new connection gets `fault` (none: forwarded faithfully).
    pub fn always(&self, fault: Option<Fault>) {
        let mut plan = lock(&self.plan);
        plan.always = fault;
        plan.schedule = None;
        plan.refuse_until = None;
    }

    /// New connections draw from a schedule of `faults` faults seeded with `seed` (cuts at a
    /// random byte); once they are dealt, connections are forwarded faithfully.
    pub fn schedule(&self, seed: u64, faults: u64) {
        let mut plan = lock(&self.plan);
        plan.always = None;
        plan.schedule = Some((Seeded::new(seed), faults));
    }

    /// How many faults connections have received so far.
    pub fn faults_dealt(&self) -> u64 {
        lock(&self.plan).dealt
    }

    /// Closes every connection open now, as a network change does; later ones are forwarded
    /// as before.
    pub fn close_connections(&self) {
        let mut plan = lock(&self.plan);
        plan.open.cancel();
        plan.open = CancellationToken::new();
    }

    /// How many connections clients have opened through the proxy so far: what shows a
    /// client reusing its connections (keep-alive, HTTP/2) rather than opening new ones.
    pub fn connections(&self) -> u64 {
        lock(&self.plan).accepted
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn proxy(client: TcpStream, target: SocketAddr, fault: Option<Fault>, down: Arc<AtomicU64>) {
    match fault {
        Some(Fault::Reset) => {
            // A zero linger turns the close into a reset.
            let _ = client.set_zero_linger();
            return;
        }
        Some(Fault::Refuse(_)) => return,
        Some(Fault::Stall(span)) => {
            sleep(span).await;
            return;
        }
        _ => {}
    }
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    // Both ends write small frames as they come (HTTP/2 sends a request's HEADERS and DATA
    // apart): with Nagle's algorithm the proxy would hold the second until the first is
    // acknowledged, which a delayed ACK makes up to 40 ms, a round trip the network being
    // imitated does not have.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump(client_read, server_write, fault, None),
        pump(server_read, client_write, fault, Some(down)),
    );
}

/// Copies `from` to `to` until either side closes or the fault ends it, counting server bytes.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    fault: Option<Fault>,
    count: Option<Arc<AtomicU64>>,
) {
    if let Some(Fault::Latency(delay)) = fault {
        return delay_line(from, to, delay, count).await;
    }
    let from_server = count.is_some();
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut n = n;
        match fault {
            Some(Fault::Bandwidth(rate)) if from_server => {
                sleep(Duration::from_nanos(n as u64 * 1_000_000_000 / rate.max(1))).await;
            }
            Some(Fault::Throttle(rate)) => {
                sleep(Duration::from_nanos(n as u64 * 1_000_000_000 / rate.max(1))).await;
            }
            Some(Fault::CutAfter(limit)) if from_server => {
                n = n.min(limit.saturating_sub(sent) as usize);
            }
            _ => {}
        }
        if n > 0 && to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        sent += n as u64;
        if let Some(count) = &count {
            count.fetch_add(n as u64, Ordering::SeqCst);
        }
        if matches!(fault, Some(Fault::CutAfter(limit)) if from_server && sent >= limit) {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Forwards each chunk `delay` after it arrived, while later chunks keep arriving.
async fn delay_line(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    delay: Duration,
    count: Option<Arc<AtomicU64>>,
) {
    let (queue, mut due) = tokio::sync::mpsc::channel::<(Instant, Vec<u8>)>(256);
    let read = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf).await {
            if queue
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let write = async move {
        while let Some((at, bytes)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
            if let Some(count) = &count {
                count.fetch_add(bytes.len() as u64, Ordering::SeqCst);
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}
