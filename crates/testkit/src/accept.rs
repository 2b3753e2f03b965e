//! The accept loop every loopback server of the kit shares: one task per connection, and all
//! of them stop when the server's token is cancelled (when the server value is dropped).

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, DropGuard};

/// Binds `127.0.0.1:0` and serves each connection with `serve` until the returned guard drops.
pub(crate) async fn serve_loopback<F, Fut>(serve: F) -> std::io::Result<(SocketAddr, DropGuard)>
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let accept_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = accept_stop.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            let connection = serve(stream);
            let connection_stop = accept_stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = connection_stop.cancelled() => {}
                    _ = connection => {}
                }
            });
        }
    });
    Ok((addr, stop.drop_guard()))
}
