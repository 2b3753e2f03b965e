//! Declares the app's own commands so that capabilities can allow exactly them.

/// The app's commands, read from the one list of them: the `commands::<area>::<name>` paths
/// registered with `tauri::generate_handler!` in `src/lib.rs` (the E2E-only
/// `debug_lifecycle` included). The capability files, the UI's typed wrappers and the
/// generated `gen/ipc/contract.ts` are checked against this list by `tests/contract.rs`.
fn commands() -> Vec<String> {
    let lib = std::fs::read_to_string("src/lib.rs").expect("src/lib.rs is readable");
    let mut names = Vec::new();
    for (at, _) in lib.match_indices("commands::") {
        let path: String = lib[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        if let [_, _area, name] = path.split("::").collect::<Vec<_>>()[..]
            && !name.is_empty()
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    assert!(!names.is_empty(), "no command found in src/lib.rs");
    names
}

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
    println!("cargo:rerun-if-changed=src/lib.rs");
    let commands = commands();
    println!("cargo:rustc-env=TIDESYNC_COMMANDS={}", commands.join(","));
    // tauri-build keeps the names for the life of the build script, which is about to end.
    let names: &'static [&'static str] = commands
        .into_iter()
        .map(|name| &*name.leak())
        .collect::<Vec<_>>()
        .leak();
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern(capabilities())
        .app_manifest(tauri_build::AppManifest::new().commands(names));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
