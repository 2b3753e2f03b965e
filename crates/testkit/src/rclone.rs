//! A real third-party WebDAV server: `rclone serve webdav` on a free loopback port.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::certs::TestCertificate;

/// Where `scripts/bootstrap` installs the pinned rclone; `TIDESYNC_RCLONE` overrides it.
pub fn rclone_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TIDESYNC_RCLONE") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/rclone")
}

/// A running `rclone serve webdav`; killed when dropped.
pub struct RcloneServer {
    addr: SocketAddr,
    /// Over TLS: `https` URLs, and the folder holding its certificate and key.
    tls: Option<tempfile::TempDir>,
    /// Held so the process dies with the server value (`kill_on_drop`).
    _child: Child,
}

impl RcloneServer {
    /// Serves `root`, with Basic authentication when `auth` is given.
    pub async fn serve(root: &Path, auth: Option<(&str, &str)>) -> std::io::Result<RcloneServer> {
        Self::start(root, auth, None).await
    }

    /// Serves `root` over TLS with `certificate` (rclone then speaks HTTP/2 to clients that
    /// offer it), with Basic authentication when `auth` is given.
    pub async fn serve_tls(
        root: &Path,
        auth: Option<(&str, &str)>,
        certificate: &TestCertificate,
    ) -> std::io::Result<RcloneServer> {
        Self::start(root, auth, Some(certificate)).await
    }

    async fn start(
        root: &Path,
        auth: Option<(&str, &str)>,
        certificate: Option<&TestCertificate>,
    ) -> std::io::Result<RcloneServer> {
        let binary = rclone_binary();
        if !binary.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is missing: run scripts/bootstrap", binary.display()),
            ));
        }
        // rclone cannot report the port it picked, so take a free one and hand it over.
        let addr = StdListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut command = Command::new(binary);
        command
            .args([
                "serve",
                "webdav",
                "--addr",
                &addr.to_string(),
                "--config",
                "/dev/null",
            ])
            // A zero directory cache makes rclone's VFS spin forgetting directories (gigabytes
            // of debug log, seconds per request); one second keeps it fast and still notices
            // files a test writes into the served folder after a short wait.
            .args([
                "--log-level",
                "ERROR",
                "--dir-cache-time",
                "1s",
                "--poll-interval",
                "0",
            ])
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some((user, pass)) = auth {
            command.args(["--user", user, "--pass", pass]);
        }
        let tls = match certificate {
            Some(certificate) => {
                let dir = tempfile::tempdir()?;
                let (cert, key) = certificate.write(dir.path())?;
                command.arg("--cert").arg(cert).arg("--key").arg(key);
                Some(dir)
            }
            None => None,
        };
        let mut child = command.spawn()?;
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(RcloneServer {
                    addr,
                    tls,
                    _child: child,
                });
            }
            if let Some(status) = child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "rclone exited early: {status}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "rclone serve webdav did not start listening within 10 s",
        ))
    }

    /// The base URL, ending with `/`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }
}
