//! The properties the fuzz targets (`fuzz/`) check on arbitrary input, shared with the test that
//! replays their corpus (`tests/fuzz_corpus.rs`), so CI runs the same inputs without a fuzzer.

use url::Url;

use crate::{Listing, RemotePath, confine, validate_name};

/// The base every fuzz input is confined to: a Nextcloud-shaped folder below the server root.
pub fn base() -> Url {
    Url::parse("https://cloud.example/remote.php/dav/files/alice/Sync/").expect("a valid URL")
}

/// Parses `bytes` as a multistatus answer. It may be refused, never panic; every entry it
/// accepts is confined to [`base`] and has only valid names.
pub fn check_listing(bytes: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    if let Ok(listing) = runtime.block_on(Listing::read(&base(), bytes)) {
        for entry in &listing.entries {
            assert_confined(&entry.path);
        }
    }
}

/// Confines `bytes` (as an href) to [`base`]: refused, or a path that cannot escape it.
pub fn check_confine(bytes: &[u8]) {
    let href = String::from_utf8_lossy(bytes);
    if let Ok(path) = confine(&base(), &href) {
        assert_confined(&path);
    }
}

fn assert_confined(path: &RemotePath) {
    for segment in path.segments() {
        assert!(
            validate_name(segment).is_ok(),
            "accepted segment {segment:?} of {path:?}"
        );
        assert!(segment != "." && segment != "..", "dot segment in {path:?}");
        assert!(!segment.contains(['/', '\0']), "separator in {path:?}");
    }
}
