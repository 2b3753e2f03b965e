//! WebDAV protocol client for Tidesync: HTTP and XML on reqwest, nothing about sync.
//!
//! - [`client`]: [`Client`], one base folder and one keep-alive pool; list, get, put, mkcol,
//!   delete, move, one module each; retries with backoff; idle timeouts per chunk, never per
//!   transfer.
//! - [`path`]: [`RemotePath`] and the confinement of every href a server sends.
//! - [`entry`]: [`Entry`] and [`Listing`], what a PROPFIND says about each file.
//! - [`multistatus`]: the streaming, hostile-input-safe parser of `207 Multi-Status`.
//! - [`error`]: [`Error`], with the request it came from and its classification.
//! - [`retry`], [`quirks`], [`tls`]: backoff, server differences (HTTP/2 among them),
//!   certificate trust; [`certificate`]: what a refused certificate says, for the user.
//! - [`validator`]: entity tags, weak and strong (RFC 7232).
//!
//! ```no_run
//! # async fn demo() -> Result<(), tidesync_webdav::Error> {
//! use tidesync_webdav::{Client, Credentials, Depth, Options, RemotePath};
//! let client = Client::new("https://cloud.example/remote.php/dav/files/alice/", Some(Credentials::new("alice", "secret")), Options::default())?;
//! let listing = client.list(&RemotePath::root(), Depth::Infinity).await?;
//! let mut download = client.get(&listing.entries[1].path, 0, None).await?;
//! while let Some(chunk) = download.chunk().await? { /* write chunk */ }
//! # Ok(()) }
//! ```

pub mod adaptive;
pub mod certificate;
pub mod client;
pub mod entry;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod idle;
pub mod multistatus;
pub mod path;
pub mod plain_file;
pub mod quirks;
pub mod rate;
pub mod retry;
mod sabre;
pub mod tls;
pub mod validator;

pub use adaptive::{Answer, Concurrency};
pub use certificate::{CertificateInfo, presented_certificate};
pub use client::{
    BulkFile, BulkResult, ChunksSent, Client, Credentials, Depth, Download, Found, LOGIN_PATIENCE,
    LoginError, LoginFlow, MIN_CHUNK_SIZE, Mkcol, Options, Overwrite, Precondition, Recorded,
    SentBytes, SignedIn, Uploaded,
};
pub use entry::{Entry, EntryError, EntryKind, Listing, Rejected};
pub use error::Error;
pub use multistatus::ParseError;
pub use path::{HrefError, RemotePath, confine, validate_name};
pub use quirks::{Abilities, Chunking, Proven, Quirks, ServerKind};
pub use rate::RateLimit;
pub use reqwest::{Method, StatusCode};
pub use retry::RetryPolicy;
pub use tls::{TlsOptions, certificate_fingerprint, fingerprint_hex, parse_fingerprint};
