//! The test kit's proxy as a process, for benchmarks that drive other clients through it:
//! `fault-proxy TARGET_ADDR LATENCY_MS` forwards a new loopback port to `TARGET_ADDR`, delaying
//! every chunk by `LATENCY_MS` in each direction, prints its base URL on one line, and runs
//! until its standard input closes; then it prints the bytes the server sent through it.

use std::time::Duration;

use tidesync_testkit::proxy::{Fault, FaultProxy};

#[tokio::main]
async fn main() {
    let usage = "usage: fault-proxy TARGET_ADDR LATENCY_MS";
    let mut args = std::env::args().skip(1);
    let target = args.next().expect(usage).parse().expect(usage);
    let latency: u64 = args.next().expect(usage).parse().expect(usage);
    let proxy = FaultProxy::start(target)
        .await
        .expect("the proxy starts on loopback");
    if latency > 0 {
        proxy.always(Some(Fault::Latency(Duration::from_millis(latency))));
    }
    println!("{}", proxy.url());
    let _ = tokio::task::spawn_blocking(|| {
        std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
    })
    .await;
    println!("{}", proxy.bytes_down());
}
