//! Entity tags as validators (RFC 7232). A weak tag (`W/"…"`) says two versions are
//! equivalent, not byte-identical: it may never be sent in `If-Match` or `If-Range`, which
//! use the strong comparison, and Apache hands out weak tags for a file changed within the
//! last second that turn strong later with the same opaque value. So a tag's version is its
//! opaque part: `W/"x"` and `"x"` name the same version, and `W/` alone is never a change.

/// Whether `tag` is a weak entity tag.
pub fn is_weak(tag: &str) -> bool {
    tag.trim_start().starts_with("W/")
}

/// The tag if it may be sent in a precondition (`If-Match`, `If-Range`): strong tags only.
pub fn strong(tag: &str) -> Option<&str> {
    (!is_weak(tag)).then_some(tag)
}

/// The opaque part that names a version, without the weakness marker.
pub fn opaque(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/")
}

/// Whether two tags name the same version of a file.
pub fn same_version(a: &str, b: &str) -> bool {
    opaque(a) == opaque(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weakness_is_not_a_change_and_is_never_sent() {
        assert!(is_weak("W/\"3-abc\""));
        assert!(!is_weak("\"3-abc\""));
        assert_eq!(strong("W/\"3-abc\""), None);
        assert_eq!(strong("\"3-abc\""), Some("\"3-abc\""));
        assert!(same_version("W/\"3-abc\"", "\"3-abc\""));
        assert!(!same_version("W/\"3-abc\"", "\"3-abd\""));
    }
}
