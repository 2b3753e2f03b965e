//! Any bytes as an href: refused, or a path that stays below the base folder.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tidesync_webdav::fuzzing::check_confine(data);
});
