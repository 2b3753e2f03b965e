//! A loopback HTTP server that answers with exactly the bytes a test scripts, for answers no
//! real server would give: a wrong Content-Range, a body shorter than its Content-Length, a
//! hostile multistatus, or no answer at all.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::DropGuard;

use tidesync_demo::server::serve_connections;

/// What the server does with one request.
pub enum Reply {
    /// Writes these bytes (status line, headers, body) and closes the connection.
    Raw(Vec<u8>),
    /// Keeps the connection open and sends nothing.
    Stall,
}

impl Reply {
    /// A complete answer with the given status line, extra headers and body; the
    /// Content-Length is the body's unless `headers` sets one.
    pub fn http(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        Reply::Raw(bytes)
    }
}

/// A running scripted server; it stops when dropped.
pub struct ScriptedServer {
    addr: SocketAddr,
    scheme: &'static str,
    _stop: DropGuard,
}

impl ScriptedServer {
    /// Starts a server that answers each request with `script(request_head)`.
    pub async fn start<F>(script: F) -> std::io::Result<ScriptedServer>
    where
        F: Fn(&str) -> Reply + Send + Sync + 'static,
    {
        Self::listen(None, script).await
    }

    /// The same over https, presenting `chain` (leaf first, DER) with the PKCS#8 `key`.
    /// Its URL names `localhost`, so certificates for that name verify.
    pub async fn start_tls<F>(
        chain: Vec<Vec<u8>>,
        key: Vec<u8>,
        script: F,
    ) -> std::io::Result<ScriptedServer>
    where
        F: Fn(&str) -> Reply + Send + Sync + 'static,
    {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(
                chain.into_iter().map(CertificateDer::from).collect(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            )
            .map_err(std::io::Error::other)?;
        Self::listen(Some(TlsAcceptor::from(Arc::new(config))), script).await
    }

    async fn listen<F>(tls: Option<TlsAcceptor>, script: F) -> std::io::Result<ScriptedServer>
    where
        F: Fn(&str) -> Reply + Send + Sync + 'static,
    {
        let tls_enabled = tls.is_some();
        let script = Arc::new(script);
        let (addr, stop) =
            serve_connections(SocketAddr::from(([127, 0, 0, 1], 0)), move |stream| {
                let script = script.clone();
                let tls = tls.clone();
                async move {
                    match tls {
                        Some(acceptor) => {
                            answer(acceptor.accept(stream).await?, script.as_ref()).await
                        }
                        None => answer(stream, script.as_ref()).await,
                    }
                }
            })
            .await?;
        Ok(ScriptedServer {
            addr,
            scheme: if tls_enabled { "https" } else { "http" },
            _stop: stop,
        })
    }

    /// The base URL, ending with `/`: `http://127.0.0.1:port/` or `https://localhost:port/`.
    pub fn url(&self) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}/", self.addr.port()),
            _ => format!("http://{}/", self.addr),
        }
    }
}

async fn answer<S, F>(mut stream: S, script: &F) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(&str) -> Reply,
{
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let body_len = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; body_len];
    stream.read_exact(&mut body).await?;
    match script(&head) {
        Reply::Raw(bytes) => {
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        }
        Reply::Stall => std::future::pending().await,
    }
}
