//! How names compare: in NFC everywhere, and case-folded where a volume ignores letter case.
//! A leaf the scan, the filter, the disk and the run's name matching all build on.

use std::borrow::Cow;

use icu_normalizer::ComposingNormalizerBorrowed;

/// `text` in NFC (borrowed when it already is).
pub fn nfc(text: &str) -> Cow<'_, str> {
    ComposingNormalizerBorrowed::new_nfc().normalize(text)
}

/// `text` as a case-insensitive volume compares names: NFC, in lower case.
pub fn fold_case(text: &str) -> String {
    nfc(text).to_lowercase()
}

/// `path` with its own name case-folded and its folders as they are: folders that differ in
/// case are twins of their own, with contents apart.
pub fn fold_name(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((folder, name)) => format!("{folder}/{}", fold_case(name)),
        None => fold_case(path),
    }
}
