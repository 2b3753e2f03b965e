//! What a listing says about each remote file and folder.

use std::time::SystemTime;

use tokio::io::AsyncBufRead;
use url::Url;

use crate::multistatus::{self, ParseError, RawResponse};
use crate::path::{HrefError, RemotePath, confine};

/// A file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    File,
    Folder,
}

/// One remote file or folder as the server described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: RemotePath,
    pub kind: EntryKind,
    /// Bytes; 0 for folders.
    pub size: u64,
    /// The version tag exactly as the server sent it (quotes and `W/` kept), ready to be sent
    /// back in `If-Match` / `If-Range`. `None` where the server has no ETags in listings.
    pub etag: Option<String>,
    pub modified: Option<SystemTime>,
    /// ownCloud/Nextcloud `oc:checksums`, e.g. `["SHA1:ab12…", "MD5:…"]`.
    pub checksums: Vec<String>,
    /// ownCloud/Nextcloud `oc:fileid`: stable across renames.
    pub file_id: Option<String>,
    /// ownCloud/Nextcloud `oc:permissions`, e.g. `RGDNVW`.
    pub permissions: Option<String>,
    /// A folder's total size, where the server reports it: ownCloud/Nextcloud `oc:size`, asked
    /// for only by [`crate::Client::browse`]. (RFC 4331's `quota-used-bytes` is not read: a
    /// plain server, dav-server's among them, answers it with the whole volume's usage.)
    pub used_bytes: Option<u64>,
}

/// Why one entry of a listing was left out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    #[error(transparent)]
    Href(#[from] HrefError),
    #[error("the size '{0}' is not a number of bytes")]
    BadSize(String),
}

/// An entry the client refused, with the href as received (control characters escaped, so it
/// is safe to log and show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub href: String,
    pub error: EntryError,
}

/// The result of a listing: the entries that are safe to use, and the ones that are not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub rejected: Vec<Rejected>,
}

impl Listing {
    /// Parses a multistatus document streamed from `reader`, confining every href to `base`.
    ///
    /// This is what [`crate::Client::list`] does with a PROPFIND answer; it is public so that
    /// parsers can be fuzzed and tested on captured answers without a server.
    pub async fn read<R: AsyncBufRead + Unpin>(
        base: &Url,
        reader: R,
    ) -> Result<Listing, ParseError> {
        let mut listing = Listing::default();
        multistatus::parse(reader, |raw| listing.push(base, raw)).await?;
        Ok(listing)
    }

    pub(crate) fn push(&mut self, base: &Url, raw: RawResponse) {
        match entry(base, raw) {
            Ok(entry) => self.entries.push(entry),
            Err(rejected) => self.rejected.push(rejected),
        }
    }
}

/// An entity tag in its quoted form. Some servers (dav-server among them) list `getetag`
/// without the quotes that their `ETag` header has; `If-Match` and `If-Range` need the quotes.
/// A tag already quoted is kept as it came: a listing holds one per entry.
fn quoted_etag(tag: String) -> String {
    let trimmed = tag.trim();
    if trimmed.starts_with('"') || trimmed.starts_with("W/\"") {
        if trimmed.len() == tag.len() {
            tag
        } else {
            trimmed.to_owned()
        }
    } else {
        format!("\"{trimmed}\"")
    }
}

/// The entry `raw` describes, its text moved rather than copied; or why it is refused.
fn entry(base: &Url, raw: RawResponse) -> Result<Entry, Rejected> {
    let kind = if raw.is_collection {
        EntryKind::Folder
    } else {
        EntryKind::File
    };
    let checked = confine(base, &raw.href)
        .map_err(EntryError::from)
        .and_then(|path| {
            let size = match (&raw.content_length, kind) {
                (_, EntryKind::Folder) | (None, EntryKind::File) => 0,
                (Some(len), EntryKind::File) => len
                    .parse()
                    .map_err(|_| EntryError::BadSize(len.escape_debug().to_string()))?,
            };
            Ok((path, size))
        });
    let (path, size) = checked.map_err(|error| Rejected {
        href: raw.href.escape_debug().to_string(),
        error,
    })?;
    let checksums = raw
        .checksums
        .iter()
        .flat_map(|c| c.split_whitespace())
        .map(str::to_owned)
        .collect();
    Ok(Entry {
        path,
        kind,
        size,
        etag: raw.etag.map(quoted_etag),
        modified: raw
            .last_modified
            .as_deref()
            .and_then(|d| httpdate::parse_http_date(d).ok()),
        checksums,
        file_id: raw.file_id,
        permissions: raw.permissions,
        // A size that is not a number (or a negative "unknown", as some servers send) is
        // simply not known.
        used_bytes: raw
            .used_bytes
            .as_deref()
            .and_then(|b| b.trim().parse().ok()),
    })
}
