//! A loopback TCP proxy in front of a server, counting the bytes the server sends, so a test
//! can tell how much a client really fetched, resumes included.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tidesync_demo::server::serve_connections;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::DropGuard;

/// A running proxy; it stops when dropped.
pub struct CountingProxy {
    addr: SocketAddr,
    /// Bytes the server sent to clients, over every connection so far.
    down: Arc<AtomicU64>,
    _stop: DropGuard,
}

impl CountingProxy {
    /// Forwards every connection on a new loopback port to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<CountingProxy> {
        let down = Arc::new(AtomicU64::new(0));
        let counted = down.clone();
        let (addr, stop) =
            serve_connections(SocketAddr::from(([127, 0, 0, 1], 0)), move |client| {
                let counted = counted.clone();
                async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pump(client_read, server_write, None),
                        pump(server_read, client_write, Some(counted)),
                    );
                }
            })
            .await?;
        Ok(CountingProxy {
            addr,
            down,
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
}

/// Copies `from` to `to` until either side closes, counting as it goes.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, count: Option<Arc<AtomicU64>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        if let Some(count) = &count {
            count.fetch_add(n as u64, Ordering::SeqCst);
        }
    }
    let _ = to.shutdown().await;
}
