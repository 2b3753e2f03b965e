//! Property test: whatever href a server sends, `confine` either refuses it or returns a path
//! made of safe names that lies under the base folder and maps back to the same URL.

use proptest::prelude::*;
use tidesync_webdav::{confine, validate_name};
use url::Url;

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{1,12}",
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("%2F".to_owned()),
        Just("%00".to_owned()),
        Just("CON".to_owned()),
        "\\PC{1,6}",
        "(%[0-9A-Fa-f]{2}){1,4}",
    ]
}

fn href() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("/base/dir/".to_owned()),
            Just("https://h.example/base/dir/".to_owned()),
            Just("https://evil.example/base/dir/".to_owned()),
            Just("/".to_owned()),
            Just(String::new()),
            Just("//h.example/base/dir/".to_owned()),
        ],
        prop::collection::vec(segment(), 0..6),
    )
        .prop_map(|(prefix, segments)| format!("{prefix}{}", segments.join("/")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn confined_paths_are_safe_and_inside_the_base(href in href()) {
        let base = Url::parse("https://h.example/base/dir/").unwrap();
        if let Ok(path) = confine(&base, &href) {
            for name in path.segments() {
                prop_assert!(validate_name(name).is_ok(), "unsafe name {name:?} from {href:?}");
                prop_assert!(name != ".." && name != "." && !name.contains('/') && !name.contains('\0'));
            }
            let joined = base.join(&path.segments().map(|s| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()).collect::<Vec<_>>().join("/")).unwrap();
            prop_assert!(joined.path().starts_with("/base/dir/"), "{joined} escapes the base");
            prop_assert_eq!(confine(&base, joined.as_str()), Ok(path));
        }
    }
}
