//! Every `#[tauri::command]` of the app, one module per area.
//!
//! Commands live in modules rather than at the crate root: a command defined at the root collides
//! with the macro's generated `__cmd__` item (E0255). They are thin: parse, call the engine,
//! map the error.

pub mod app;
pub mod browse;
#[cfg(feature = "debug-lifecycle")]
pub mod debug;
pub mod excludes;
pub mod jobs;
pub mod login;
pub mod pairs;
pub mod remotes;
pub mod startup;
