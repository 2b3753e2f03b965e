//! The embedded demo remote: a real WebDAV server, in process, on a loopback port.
//!
//! - [`server`]: [`DavServer`] serves a folder with the `dav-server` crate until dropped. The
//!   CLI's `serve`, the app's demo remote and the tests all use it.
//! - [`content`]: [`generate`] writes deterministic sample content from a seed: about 200
//!   files and 50 MB of text, images, large files, empty files, unicode names, nested folders.
//! - [`throttle`]: [`Rate`], an optional shared byte rate, for watching a sync on a fast machine.

pub mod content;
pub mod server;
pub mod throttle;

pub use content::{Generated, generate};
pub use server::DavServer;
pub use throttle::Rate;
