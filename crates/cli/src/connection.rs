//! How a command reaches a server: the flags `sync` and `login` share (plain http, extra CA
//! certificates, a pinned certificate), and the password file `login` writes and `sync` reads.

use std::io::Write;
use std::path::{Path, PathBuf};

use tidesync_engine::PlainHttp;
use tidesync_webdav::{Options, TlsOptions, parse_fingerprint};

#[derive(clap::Args, Clone, Default)]
pub struct Connection {
    /// Allow unencrypted http to a server that is not this machine.
    #[arg(long)]
    pub allow_http: bool,
    /// Also trust the CA certificates in this PEM file (a company's or a home CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Trust exactly the server certificate with this SHA-256 fingerprint (hex, colons
    /// optional), and no other: for a self-signed server. A refused certificate's is shown.
    #[arg(long, value_name = "HEX")]
    pub pin_sha256: Option<String>,
}

impl Connection {
    /// What `--allow-http` says.
    pub fn plain_http(&self) -> PlainHttp {
        if self.allow_http {
            PlainHttp::Allowed
        } else {
            PlainHttp::LoopbackOnly
        }
    }

    /// The client options these flags make; a message naming the flag when one is unusable.
    pub fn webdav_options(&self) -> Result<Options, String> {
        let extra_ca_pem = match &self.ca_cert {
            Some(path) => {
                std::fs::read(path).map_err(|e| format!("--ca-cert {}: {e}", path.display()))?
            }
            None => Vec::new(),
        };
        let pinned_sha256 = match &self.pin_sha256 {
            Some(pin) => Some(parse_fingerprint(pin).map_err(|e| format!("--pin-sha256: {e}"))?),
            None => None,
        };
        Ok(Options {
            allow_http: self.allow_http,
            tls: TlsOptions {
                extra_ca_pem,
                pinned_sha256,
            },
            ..Options::default()
        })
    }
}

/// Reads a password file: its first line, without the line end.
pub fn read_password(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--password-file {}: {e}", path.display()))?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        return Err(format!(
            "--password-file {}: the file is empty",
            path.display()
        ));
    }
    Ok(password)
}

/// Writes `password` to `path`, readable by this user only, replacing the file whole: a
/// temp file next to it, synced, then renamed over it.
pub fn write_password(path: &Path, password: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension("tidesync-new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(format!("{password}\n").as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}
