//! The in-process WebDAV server: `dav-server` over a local folder, on a loopback port.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dav_server::DavHandler;
use dav_server::fakels::FakeLs;
use dav_server::localfs::LocalFs;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio_util::sync::DropGuard;

use crate::accept::serve_loopback;

/// A running server; it stops when dropped.
pub struct DavServer {
    addr: SocketAddr,
    root: PathBuf,
    /// Held for its `Drop`: cancels the accept loop and every connection.
    _stop: DropGuard,
}

impl DavServer {
    /// Serves `root` on `127.0.0.1:<free port>`.
    pub async fn serve(root: &Path) -> std::io::Result<DavServer> {
        let handler = DavHandler::builder()
            .filesystem(LocalFs::new(root, false, false, false))
            .locksystem(FakeLs::new())
            .build_handler();
        let (addr, stop) = serve_loopback(move |stream| {
            let handler = handler.clone();
            let service = service_fn(move |request| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler.handle(request).await) }
            });
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
