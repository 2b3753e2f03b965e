//! Replays the fuzz corpus (`fuzz/corpus/`) through the same checks the fuzz targets make, so
//! every input a fuzzer ever kept runs in CI without a fuzzer.

use std::path::PathBuf;

use tidesync_webdav::fuzzing::{check_confine, check_listing};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} has no inputs", dir.display());
    inputs
}

#[test]
fn the_multistatus_corpus_parses_or_is_refused_and_never_escapes() {
    for (path, bytes) in corpus("multistatus") {
        eprintln!("{}", path.display());
        check_listing(&bytes);
    }
}

#[test]
fn the_href_corpus_is_confined_or_refused() {
    for (path, bytes) in corpus("confine") {
        eprintln!("{}", path.display());
        check_confine(&bytes);
    }
}
