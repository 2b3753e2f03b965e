//! What differs from one WebDAV server to the next, in one place: detected from answers, or set
//! by the user where detection cannot tell.

use reqwest::header::{HeaderMap, SERVER};

/// The server software, as far as its answers tell. Shown to the user as a hint, and used to
/// pick the properties and headers worth sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    Nextcloud,
    /// ownCloud, or a server that speaks its extensions (`oc:fileid`, `oc:checksums`).
    OwnCloud,
    Apache,
    Nginx,
    Dufs,
}

impl ServerKind {
    /// The product's name, as a person knows it.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Nextcloud => "Nextcloud",
            ServerKind::OwnCloud => "ownCloud",
            ServerKind::Apache => "Apache",
            ServerKind::Nginx => "nginx",
            ServerKind::Dufs => "dufs",
        }
    }

    /// Application servers (which also answer through a web server) outrank web servers.
    fn rank(self) -> u8 {
        match self {
            ServerKind::Nextcloud => 2,
            ServerKind::OwnCloud => 1,
            ServerKind::Apache | ServerKind::Nginx | ServerKind::Dufs => 0,
        }
    }
}

/// Learnt (or configured) facts about a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quirks {
    pub server: Option<ServerKind>,
    /// Whether `PROPFIND Depth: infinity` is answered: rclone does; Apache, nginx, dufs,
    /// dav-server and Nextcloud (by default) refuse it. `None` until tried.
    pub depth_infinity: Option<bool>,
    /// Whether listings carry the ownCloud properties (`oc:fileid`, `oc:permissions`,
    /// `oc:checksums`). A server without them answers each entry with a 404 propstat naming
    /// them, which makes a large listing much longer, so once a listing shows none they are no
    /// longer asked for. `None` until a listing tells.
    pub owncloud_properties: Option<bool>,
    /// Whether the server answered over HTTP/2 (agreed in the TLS handshake by ALPN), so many
    /// requests share one connection. `None` until it answered.
    pub http2: Option<bool>,
    /// Whether a file keeps its ETag when it is moved, as where the ETag is made from the
    /// file's inode, size and time or its content rather than its path (dav-server; rclone
    /// serve's `PUT` answers the ETag from before it applies `X-OC-Mtime`, and Apache's answers
    /// none). Then the ETag a `PUT` to a temporary name answered is the moved file's, and
    /// no `PROPFIND` need ask for it. `None` until an upload compared the two; one that did
    /// not match settles it as `false` for good.
    pub move_keeps_etag: Option<bool>,
    /// Whether a folder's ETag changes whenever anything below it changes (Nextcloud and
    /// ownCloud keep it so; a plain server's follows the folder's own modification time).
    /// Trusted where listings carry `oc:fileid` unless a comparison of two listings showed
    /// otherwise, which settles it as `false` for good (see [`Client::list_pruned`]).
    ///
    /// [`Client::list_pruned`]: crate::Client::list_pruned
    pub folder_etags_follow: Option<bool>,
    /// What the server offers beyond WebDAV, once asked (see [`Client::abilities`]); `None`
    /// until then.
    ///
    /// [`Client::abilities`]: crate::Client::abilities
    pub abilities: Option<Abilities>,
    /// Bulk uploads the server refused as such (a 400 from its parser, an endpoint it does
    /// not serve); at two, bulk upload is taken out of [`Quirks::abilities`].
    pub bulk_refusals: u32,
    /// What the server proved at its current version, kept between processes by the caller
    /// (the engine's journal), so a new process neither writes a probe again nor offers a
    /// batch the server refused. `None` until a setup proved something.
    pub proven: Option<Proven>,
}

/// What a server proved about itself at one version of its software. Valid only while the
/// server reports that version: an upgrade can change either answer, so it is proven anew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// `status.php`'s `version` (Nextcloud, ownCloud), or the `Server` header of the
    /// `OPTIONS` answer (Apache's mod_dav_fs).
    pub version: String,
    /// When it was proven, in seconds since 1970.
    pub at: u64,
    /// Its `PUT` honours `If-Match` and `If-None-Match: *` (the probe's answer).
    pub preconditions: bool,
    /// It refused bulk upload twice.
    pub refuses_bulk: bool,
}

impl Proven {
    /// What was proven about `version` now.
    pub(crate) fn now(version: &str, preconditions: bool) -> Proven {
        Proven {
            version: version.to_owned(),
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            preconditions,
            refuses_bulk: false,
        }
    }
}

/// Ways of uploading a server offers beyond WebDAV's, each used only once the server proved
/// or announced it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Abilities {
    /// A `PUT` never shows a partial file under its name and honours `If-Match` and
    /// `If-None-Match: *`, so a file goes up in one request. Atomicity is what Nextcloud and
    /// ownCloud document (they write a part file and rename it) and what Apache's mod_dav_fs
    /// does (a temporary file, renamed); the preconditions are proven by a probe on the server
    /// itself.
    pub atomic_put: bool,
    /// Chunked upload v2 (`dav.chunking` in the capabilities), with where its upload folders
    /// live.
    pub chunking: Option<Chunking>,
    /// Bulk upload (`dav.bulkupload` 1.0 in the capabilities) to this URL.
    pub bulk_upload: Option<url::Url>,
}

/// Where and how large chunked uploads may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunking {
    /// The account's uploads folder, `…/remote.php/dav/uploads/<user>/`.
    pub uploads: url::Url,
    /// The largest chunk the server takes (`files.chunked_upload.max_size`), if it says.
    pub max_chunk_size: Option<u64>,
}

impl Quirks {
    /// Learns what an answer's headers tell about the server.
    pub(crate) fn observe(&mut self, headers: &HeaderMap) {
        let server = headers
            .get(SERVER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let dav = headers
            .get_all("dav")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
            .to_ascii_lowercase();
        let seen = if dav.contains("nextcloud") || dav.contains("nc-") {
            Some(ServerKind::Nextcloud)
        } else if server.contains("apache") {
            Some(ServerKind::Apache)
        } else if server.contains("nginx") {
            Some(ServerKind::Nginx)
        } else if server.contains("dufs") {
            Some(ServerKind::Dufs)
        } else {
            None
        };
        if let Some(kind) = seen {
            self.upgrade(kind);
        }
    }

    /// Records `kind` unless a more specific kind is already known.
    pub(crate) fn upgrade(&mut self, kind: ServerKind) {
        if self.server.is_none_or(|known| known.rank() < kind.rank()) {
            self.server = Some(kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn detects_servers_and_keeps_the_most_specific() {
        let mut q = Quirks::default();
        q.observe(&headers(&[("server", "Apache/2.4.62 (Debian)")]));
        assert_eq!(q.server, Some(ServerKind::Apache));
        q.observe(&headers(&[(
            "dav",
            "1, 3, extended-mkcol, nextcloud-checksum-update, nc-calendar-search",
        )]));
        assert_eq!(q.server, Some(ServerKind::Nextcloud));
        q.observe(&headers(&[("server", "nginx")]));
        assert_eq!(q.server, Some(ServerKind::Nextcloud));
        q.upgrade(ServerKind::OwnCloud);
        assert_eq!(q.server, Some(ServerKind::Nextcloud));

        let mut q = Quirks::default();
        q.observe(&headers(&[]));
        assert_eq!(q.server, None);
        q.observe(&headers(&[("server", "dufs/0.43")]));
        assert_eq!(q.server, Some(ServerKind::Dufs));
    }
}
