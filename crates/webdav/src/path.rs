//! Remote paths, and the confinement of every href a server sends back.
//!
//! A [`RemotePath`] is a path relative to the client's base folder whose every segment is a name
//! that can be stored safely on every platform Tidesync runs on (Android, iOS, Windows, macOS,
//! Linux). Nothing else ever leaves this crate as a path: a server that answers with `..`, an
//! absolute path outside the base, another host, a NUL byte or a name Windows would refuse gets
//! a typed [`HrefError`] instead, and the caller decides whether to skip the entry or fail.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use url::Url;

/// The longest name, in UTF-8 bytes, that ext4, APFS and NTFS all accept.
const MAX_NAME_BYTES: usize = 255;

/// Characters Windows (and Android's FAT-formatted storage) refuse in a file name. `:` is also
/// the path separator of classic macOS APIs, which Finder still maps to `/`.
const RESERVED_CHARS: &[char] = &['<', '>', ':', '"', '/', '\\', '|', '?', '*'];

/// Device names Windows reserves with or without an extension (`CON`, `con.txt`, `COM1.log`).
const RESERVED_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// What must be escaped in one path segment: controls, space, the URL delimiters, `%` itself,
/// and everything that is not ASCII (handled by `utf8_percent_encode`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

/// Why an href or a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HrefError {
    #[error("the href is not a valid URL: {0}")]
    Malformed(String),
    #[error("the href points at another server ({0})")]
    OtherHost(String),
    #[error("the href lies outside the synced folder")]
    OutsideBase,
    #[error("the path contains a '.' or '..' segment")]
    DotSegment,
    #[error("the name is empty")]
    EmptyName,
    #[error("the name is not valid UTF-8 once decoded")]
    NotUtf8,
    #[error("the name contains the control character U+{0:04X}")]
    ControlChar(u32),
    #[error("the name contains '{0}', which Windows and Android storage do not allow")]
    ReservedChar(char),
    #[error("'{0}' is a device name reserved by Windows")]
    ReservedName(String),
    #[error("the name ends with a dot or a space, which Windows does not allow")]
    TrailingDotOrSpace,
    #[error("the name is longer than {MAX_NAME_BYTES} bytes")]
    TooLong,
}

/// A safe path relative to the client's base folder: `""` is the base folder itself, otherwise
/// valid names joined by `/`, with no leading or trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RemotePath(String);

impl RemotePath {
    /// The base folder itself.
    pub fn root() -> Self {
        RemotePath(String::new())
    }

    /// Parses a relative path such as `photos/2024/a.jpg`, checking every name.
    pub fn parse(path: &str) -> Result<Self, HrefError> {
        let mut out = RemotePath::root();
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            out = out.join(segment)?;
        }
        Ok(out)
    }

    /// This path with one more name at the end.
    pub fn join(&self, name: &str) -> Result<Self, HrefError> {
        validate_name(name)?;
        Ok(if self.0.is_empty() {
            RemotePath(name.to_owned())
        } else {
            RemotePath(format!("{}/{name}", self.0))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as a string, without a copy.
    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last name, or `None` for the base folder.
    pub fn name(&self) -> Option<&str> {
        (!self.0.is_empty()).then(|| self.0.rsplit('/').next().unwrap_or(&self.0))
    }

    /// The folder holding this path, or `None` for the base folder.
    pub fn parent(&self) -> Option<RemotePath> {
        if self.0.is_empty() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => RemotePath(self.0[..i].to_owned()),
            None => RemotePath::root(),
        })
    }

    /// The names from the base folder down.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The URL of this path under `base` (which ends with `/`); folders get a trailing slash.
    pub(crate) fn url(&self, base: &Url, is_dir: bool) -> Url {
        let mut encoded = String::with_capacity(self.0.len() + 8);
        for (i, segment) in self.segments().enumerate() {
            if i > 0 {
                encoded.push('/');
            }
            encoded.extend(utf8_percent_encode(segment, SEGMENT));
        }
        if is_dir && !encoded.is_empty() {
            encoded.push('/');
        }
        let mut url = base.clone();
        url.set_path(&format!("{}{encoded}", base.path()));
        url
    }
}

impl fmt::Display for RemotePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("/")
        } else {
            f.write_str(&self.0)
        }
    }
}

/// Checks that `name` can be a file or folder name on every platform Tidesync runs on.
pub fn validate_name(name: &str) -> Result<(), HrefError> {
    if name.is_empty() {
        return Err(HrefError::EmptyName);
    }
    if name == "." || name == ".." {
        return Err(HrefError::DotSegment);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(HrefError::TooLong);
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(HrefError::ControlChar(c as u32));
    }
    if let Some(c) = name.chars().find(|c| RESERVED_CHARS.contains(c)) {
        return Err(HrefError::ReservedChar(c));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err(HrefError::TrailingDotOrSpace);
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Err(HrefError::ReservedName(name.to_owned()));
    }
    Ok(())
}

/// Decodes an href from a multistatus answer and confines it to `base`.
///
/// `base` is the client's base URL (ending with `/`). The href may be an absolute URL, an
/// absolute path, or a path relative to `base`. Every segment is percent-decoded on its own, so
/// an encoded slash (`%2F`) or dot segment (`%2e%2e`) is seen for what it is and refused.
pub fn confine(base: &Url, href: &str) -> Result<RemotePath, HrefError> {
    let href = href.trim();
    if href.is_empty() {
        return Err(HrefError::Malformed("empty href".into()));
    }
    // Borrowed for the common absolute path: a listing confines every one of its hrefs.
    let raw_path: Cow<'_, str> = if href.starts_with("//") || has_scheme(href) {
        let url = Url::parse(href)
            .or_else(|_| base.join(href))
            .map_err(|e| HrefError::Malformed(e.to_string()))?;
        if url.scheme() != base.scheme()
            || url.host_str() != base.host_str()
            || url.port_or_known_default() != base.port_or_known_default()
        {
            return Err(HrefError::OtherHost(
                url.host_str().unwrap_or("no host").to_owned(),
            ));
        }
        // Take the path as the server wrote it: `Url` would already have resolved `..`.
        let after_scheme = href.split_once("//").map_or(href, |(_, rest)| rest);
        match after_scheme.find('/') {
            Some(i) => Cow::Borrowed(&after_scheme[i..]),
            None => Cow::Borrowed("/"),
        }
    } else if href.starts_with('/') {
        Cow::Borrowed(href)
    } else {
        Cow::Owned(format!("{}{href}", base.path()))
    };
    if raw_path.contains(['?', '#']) {
        return Err(HrefError::Malformed(
            "the href has a query or fragment".into(),
        ));
    }

    let mut href_segments = raw_path.split('/').filter(|s| !s.is_empty());
    for base_segment in base.path().split('/').filter(|s| !s.is_empty()) {
        let expected = decode(base_segment)?;
        match href_segments.next() {
            Some(segment) if decode(segment)? == expected => {}
            _ => return Err(HrefError::OutsideBase),
        }
    }
    // What `RemotePath::join` checks, name by name, into one string.
    let mut path = String::new();
    for segment in href_segments {
        let name = decode(segment)?;
        validate_name(&name)?;
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&name);
    }
    // A listing keeps every path it confines: no room beyond the name's own.
    path.shrink_to_fit();
    Ok(RemotePath(path))
}

fn has_scheme(href: &str) -> bool {
    match href.find(':') {
        Some(i) => {
            let scheme = &href[..i];
            !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && href[i..].starts_with("://")
        }
        None => false,
    }
}

fn decode(segment: &str) -> Result<Cow<'_, str>, HrefError> {
    percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| HrefError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://cloud.example/remote.php/dav/files/alice/").unwrap()
    }

    #[test]
    fn confines_hrefs_in_every_form() {
        let b = base();
        let ok = |href: &str| confine(&b, href).map(|p| p.as_str().to_owned());
        assert_eq!(ok("/remote.php/dav/files/alice/").unwrap(), "");
        assert_eq!(ok("/remote.php/dav/files/alice").unwrap(), "");
        assert_eq!(
            ok("/remote.php/dav/files/alice/Photos/a%20b.jpg").unwrap(),
            "Photos/a b.jpg"
        );
        assert_eq!(
            ok("https://cloud.example/remote.php/dav/files/alice/x/").unwrap(),
            "x"
        );
        assert_eq!(
            ok("https://cloud.example:443/remote.php/dav/files/alice/x").unwrap(),
            "x"
        );
        assert_eq!(ok("Notes/todo.md").unwrap(), "Notes/todo.md");
        assert_eq!(
            ok("/remote.php/dav/files/alice/%C3%A9t%C3%A9/%E2%9C%93").unwrap(),
            "été/✓"
        );
        assert_eq!(ok("/remote.php/dav/files/alice/été/x").unwrap(), "été/x");
        assert_eq!(ok("/remote.php/dav/files/alice//a//b").unwrap(), "a/b");
    }

    #[test]
    fn refuses_hrefs_that_escape_the_base() {
        let b = base();
        let err = |href: &str| confine(&b, href).unwrap_err();
        assert_eq!(
            err("/remote.php/dav/files/alice/../bob/x"),
            HrefError::DotSegment
        );
        assert_eq!(
            err("/remote.php/dav/files/alice/%2e%2e/bob"),
            HrefError::DotSegment
        );
        assert_eq!(
            err("/remote.php/dav/files/alice/%2E%2E%2Fbob"),
            HrefError::ReservedChar('/')
        );
        assert_eq!(err("/remote.php/dav/files/bob/x"), HrefError::OutsideBase);
        assert_eq!(err("/etc/passwd"), HrefError::OutsideBase);
        assert_eq!(err("../x"), HrefError::DotSegment);
        assert!(matches!(
            err("https://evil.example/remote.php/dav/files/alice/x"),
            HrefError::OtherHost(_)
        ));
        assert!(matches!(
            err("http://cloud.example/remote.php/dav/files/alice/x"),
            HrefError::OtherHost(_)
        ));
        assert!(matches!(
            err("//evil.example/remote.php/dav/files/alice/x"),
            HrefError::OtherHost(_)
        ));
        assert_eq!(
            err("/remote.php/dav/files/alice/a%00b"),
            HrefError::ControlChar(0)
        );
        assert_eq!(
            err("/remote.php/dav/files/alice/a%0Ab"),
            HrefError::ControlChar(10)
        );
        assert_eq!(err("/remote.php/dav/files/alice/%FF"), HrefError::NotUtf8);
        assert!(matches!(
            err("/remote.php/dav/files/alice/x?y"),
            HrefError::Malformed(_)
        ));
    }

    #[test]
    fn refuses_names_some_platform_cannot_store() {
        for (name, want) in [
            ("", HrefError::EmptyName),
            (".", HrefError::DotSegment),
            ("a:b", HrefError::ReservedChar(':')),
            ("what?", HrefError::ReservedChar('?')),
            ("a\\b", HrefError::ReservedChar('\\')),
            ("CON", HrefError::ReservedName("CON".into())),
            ("com1.txt", HrefError::ReservedName("com1.txt".into())),
            ("trailing.", HrefError::TrailingDotOrSpace),
            ("trailing ", HrefError::TrailingDotOrSpace),
        ] {
            assert_eq!(validate_name(name), Err(want), "{name:?}");
        }
        assert_eq!(validate_name(&"x".repeat(256)), Err(HrefError::TooLong));
        for fine in [
            "a.txt",
            ".hidden",
            "CONSOLE",
            "con-tent",
            "été ✓",
            "a b",
            "x".repeat(255).as_str(),
        ] {
            assert_eq!(validate_name(fine), Ok(()), "{fine:?}");
        }
    }

    #[test]
    fn urls_round_trip_through_confine() {
        let b = base();
        for raw in ["a b/c#d.txt", "été/✓ 100%", "x/y/z", "[brackets]/{braces}"] {
            let path = RemotePath::parse(raw).unwrap();
            for is_dir in [false, true] {
                let url = path.url(&b, is_dir);
                assert_eq!(confine(&b, url.as_str()).unwrap(), path, "{url}");
                assert_eq!(confine(&b, url.path()).unwrap(), path, "{url}");
            }
        }
    }

    #[test]
    fn path_accessors() {
        let p = RemotePath::parse("a/b/c.txt").unwrap();
        assert_eq!(p.name(), Some("c.txt"));
        assert_eq!(p.parent().unwrap().as_str(), "a/b");
        assert_eq!(
            RemotePath::parse("a").unwrap().parent(),
            Some(RemotePath::root())
        );
        assert_eq!(RemotePath::root().parent(), None);
        assert_eq!(RemotePath::root().name(), None);
        assert_eq!(p.to_string(), "a/b/c.txt");
        assert_eq!(RemotePath::root().to_string(), "/");
    }
}
