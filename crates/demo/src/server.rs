//! A WebDAV server over a local folder, on a loopback port, stopped when dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dav_server::DavHandler;
use dav_server::fakels::FakeLs;
use dav_server::localfs::LocalFs;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::throttle::Rate;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::either::Either;
use tokio_util::sync::{CancellationToken, DropGuard};

/// A running server; it stops (with every connection) when dropped.
pub struct DavServer {
    addr: SocketAddr,
    root: PathBuf,
    /// Held for its `Drop`: cancels the accept loop and every connection.
    _stop: DropGuard,
}

impl DavServer {
    /// Serves `root` on `127.0.0.1:<free port>`.
    pub async fn serve(root: &Path) -> std::io::Result<DavServer> {
        Self::serve_on(root, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `root` on `addr` (port 0 picks a free one).
    pub async fn serve_on(root: &Path, addr: SocketAddr) -> std::io::Result<DavServer> {
        Self::serve_limited(root, addr, None).await
    }

    /// Serves `root` on `addr`, sending at most `rate` bytes per second over all connections
    /// together when a rate is given: a slow network, on purpose.
    pub async fn serve_limited(
        root: &Path,
        addr: SocketAddr,
        rate: Option<Rate>,
    ) -> std::io::Result<DavServer> {
        let handler = DavHandler::builder()
            .filesystem(LocalFs::new(root, false, false, false))
            .locksystem(FakeLs::new())
            .build_handler();
        let (addr, stop) = serve_connections(addr, move |stream| {
            let handler = handler.clone();
            let service = service_fn(move |request| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler.handle(request).await) }
            });
            let stream = match &rate {
                Some(rate) => Either::Left(rate.limit(stream)),
                None => Either::Right(stream),
            };
            http1::Builder::new().serve_connection(TokioIo::new(stream), service)
        })
        .await?;
        Ok(DavServer {
            addr,
            root: root.to_owned(),
            _stop: stop,
        })
    }

    /// The base URL, ending with `/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The folder being served.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Binds `addr` and serves each connection with `serve` until the returned guard drops.
pub async fn serve_connections<F, Fut>(
    addr: SocketAddr,
    serve: F,
) -> std::io::Result<(SocketAddr, DropGuard)>
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
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
