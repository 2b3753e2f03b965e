//! What a client is given: credentials, connection options, and the small types of its
//! requests and answers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::quirks::Quirks;
use crate::rate::RateLimit;
use crate::retry::RetryPolicy;
use crate::tls::TlsOptions;

/// User name and password for HTTP Basic authentication. The password never appears in `Debug`.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub(super) password: String,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The password itself, to hand to a password store (an app password from a login, say);
    /// never for a log or a message.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How the client connects and how patient it is.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// The longest silence tolerated while an answer or a body is expected. Applied per chunk,
    /// never to a whole transfer, so large files are fine and a stalled server is caught.
    pub idle_timeout: Duration,
    pub user_agent: String,
    /// Allow plain http to hosts other than this machine.
    pub allow_http: bool,
    pub tls: TlsOptions,
    pub retry: RetryPolicy,
    /// Folders listed at once when a server refuses `Depth: infinity`, at first: the limit
    /// adapts to the server's answer times (see [`crate::adaptive`]) up to `walk_max`.
    pub walk_concurrency: usize,
    /// The most folders listed at once.
    pub walk_max: usize,
    /// Quirks the user set by hand, overriding detection.
    pub quirks: Quirks,
    /// Upload bytes a second, shared by every upload of this client; `None` for no limit.
    pub upload_limit: Option<RateLimit>,
    /// Download bytes a second, shared by every download of this client.
    pub download_limit: Option<RateLimit>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(30),
            user_agent: format!("Tidesync/{}", env!("CARGO_PKG_VERSION")),
            allow_http: false,
            tls: TlsOptions::default(),
            retry: RetryPolicy::default(),
            walk_concurrency: 8,
            walk_max: 64,
            quirks: Quirks::default(),
            upload_limit: None,
            download_limit: None,
        }
    }
}

/// How deep a listing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The path itself.
    Zero,
    /// The path and its direct children.
    One,
    /// Everything below the path: one request where the server allows it, else a parallel
    /// walk of `Depth: 1` listings.
    Infinity,
}

impl Depth {
    pub(super) fn header(self) -> &'static str {
        match self {
            Depth::Zero => "0",
            Depth::One => "1",
            Depth::Infinity => "infinity",
        }
    }
}

/// Told how many bytes of an upload's body have gone out so far (from 0 on each attempt).
pub type SentBytes = Arc<dyn Fn(u64) + Send + Sync>;

/// A condition on the remote version for a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Write whatever is there.
    None,
    /// Only if the remote is still this version (`If-Match`). A weak tag is not sent (it
    /// never matches): the caller checks the version itself first.
    Matches(String),
    /// Only if nothing exists at the path yet (`If-None-Match: *`).
    Absent,
}

/// Whether a `MOVE` may replace what is at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it (`Overwrite: T`).
    Replace,
    /// Fail with 412 if anything is there (`Overwrite: F`).
    Never,
}

impl Overwrite {
    pub(super) fn header(self) -> &'static str {
        match self {
            Overwrite::Replace => "T",
            Overwrite::Never => "F",
        }
    }
}

/// What a successful upload reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The new version's ETag, where the server returns one.
    pub etag: Option<String>,
    /// The file's id (as `oc:fileid` lists it), where the server returns one (`OC-FileId`).
    pub file_id: Option<String>,
    /// Whether the server applied the modification time sent in `X-OC-Mtime`.
    pub mtime_accepted: bool,
}

/// Whether a folder was made or was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mkcol {
    Created,
    AlreadyExists,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_their_password() {
        let c = Credentials::new("alice", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
