//! Declares the app's own commands so that capabilities can allow exactly them.

/// Every command registered in `lib.rs`; a command missing here is refused at run time.
/// `debug_lifecycle` exists only in builds with the `debug-lifecycle` feature (E2E).
const COMMANDS: &[&str] = &[
    "app_info",
    "list_remotes",
    "add_remote",
    "update_remote",
    "remove_remote",
    "add_demo_remote",
    "list_pairs",
    "add_pair",
    "remove_pair",
    "start_sync",
    "attach_job",
    "pause_job",
    "resume_job",
    "cancel_job",
    "list_jobs",
    "job_history",
    "debug_lifecycle",
];

/// The capabilities a build grants: the E2E build (feature `debug-lifecycle`) adds the ones in
/// `capabilities/e2e/`; any other build, a release included, reads only the top folder.
fn capabilities() -> &'static str {
    if std::env::var_os("CARGO_FEATURE_DEBUG_LIFECYCLE").is_some() {
        "./capabilities/**/*.json"
    } else {
        "./capabilities/*.json"
    }
}

fn main() {
    println!("cargo:rerun-if-changed=capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern(capabilities())
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
