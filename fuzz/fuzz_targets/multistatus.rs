//! Any bytes as a PROPFIND answer: refused or parsed, never a panic, never an escaping path.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tidesync_webdav::fuzzing::check_listing(data);
});
