//! PROPFIND: listings to any depth (a parallel `Depth: 1` walk where `Depth: infinity` is
//! refused), one item's properties, and what listings teach about the server.

use std::collections::VecDeque;

use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use tokio_util::io::StreamReader;

use super::{Client, Depth};
use crate::adaptive::Answer;
use crate::entry::{Entry, EntryKind, Listing};
use crate::error::Error;
use crate::idle::IdleStream;
use crate::path::RemotePath;
use crate::quirks::ServerKind;

/// The properties a listing asks for: the DAV basics plus the ownCloud/Nextcloud extras, which
/// other servers answer with a 404 propstat that the parser ignores.
const PROPFIND_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
  <d:prop>
    <d:resourcetype/><d:getcontentlength/><d:getetag/><d:getlastmodified/>
    <oc:checksums/><oc:fileid/><oc:permissions/>
  </d:prop>
</d:propfind>"#;

/// The DAV basics alone, for a server known not to have the ownCloud extras
/// (see [`Quirks::owncloud_properties`]).
const PROPFIND_BODY_DAV: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:">
  <d:prop>
    <d:resourcetype/><d:getcontentlength/><d:getetag/><d:getlastmodified/>
  </d:prop>
</d:propfind>"#;

/// What a browse asks for: names, kinds and sizes (a folder's from `oc:size`).
const BROWSE_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
  <d:prop>
    <d:resourcetype/><d:getcontentlength/><d:getlastmodified/><oc:size/>
  </d:prop>
</d:propfind>"#;

/// What a listing asks for, given whether the server is known to have the ownCloud properties.
fn propfind_body(owncloud_properties: Option<bool>) -> &'static str {
    match owncloud_properties {
        Some(false) => PROPFIND_BODY_DAV,
        Some(true) | None => PROPFIND_BODY,
    }
}

/// Hears the entries of each folder a walk lists, as its answer arrives: every child of one
/// folder at once, a folder's answer only after its parent's. A `Depth: infinity` answer is
/// not reported (it arrives whole, when the listing ends anyway).
pub type Found<'a> = &'a (dyn Fn(&[Entry]) + Send + Sync);

/// Folders listed at once from the start over HTTP/2 (see [`Concurrency::start_at_least`]).
///
/// [`Concurrency::start_at_least`]: crate::Concurrency::start_at_least
const MULTIPLEXED_WALK: usize = 32;

/// Reports nothing.
fn unheard(_: &[Entry]) {}

/// What a pruned listing knows without asking (see [`Client::list_pruned`]): given a folder as
/// just listed, everything recorded below it when its ETag is the one recorded (the folder
/// itself left out), `None` when it must be listed.
pub type Recorded<'a> = &'a (dyn Fn(&Entry) -> Option<Vec<Entry>> + Send + Sync);

/// Knows nothing: every folder is listed.
fn unrecorded(_: &Entry) -> Option<Vec<Entry>> {
    None
}

impl Client {
    /// Lists `path` to the given depth. Entries whose href is unsafe are in `rejected`.
    /// `path` is a folder: its URL ends with `/`.
    pub async fn list(&self, path: &RemotePath, depth: Depth) -> Result<Listing, Error> {
        self.list_reporting(path, depth, &unheard).await
    }

    /// Like [`list`](Client::list), telling `found` what each folder of a walk holds as soon
    /// as it is listed, so work on it can start before the walk ends (see [`Found`]). The
    /// listing returned is complete either way.
    pub async fn list_reporting(
        &self,
        path: &RemotePath,
        depth: Depth,
        found: Found<'_>,
    ) -> Result<Listing, Error> {
        if depth != Depth::Infinity {
            return self.propfind(path, depth, EntryKind::Folder).await;
        }
        let quirks = self.quirks();
        if quirks.depth_infinity != Some(false) {
            if quirks.owncloud_properties.is_none() {
                // One entry tells which properties the server has, before a listing of
                // thousands asks for the ones it has not.
                self.propfind(path, Depth::Zero, EntryKind::Folder).await?;
            }
            match self
                .propfind(path, Depth::Infinity, EntryKind::Folder)
                .await
            {
                Ok(listing) if quirks.depth_infinity == Some(true) || goes_deep(&listing, path) => {
                    self.learn(|q| q.depth_infinity = Some(true));
                    return Ok(listing);
                }
                Ok(listing) => {
                    // Folders with nothing listed below them: either they are all empty, or
                    // the server answered `Depth: 1` (Sabre, under Nextcloud and ownCloud, does
                    // so silently). Listing them tells which, and is right either way.
                    return self.walk_below(path, listing, found).await;
                }
                Err(error) if refuses_infinity(&error) => {
                    tracing::debug!(%path, "Depth: infinity refused; walking Depth: 1 instead");
                    self.learn(|q| q.depth_infinity = Some(false));
                }
                Err(error) => return Err(error),
            }
        }
        self.walk(path, found).await
    }

    /// Lists everything below `root` like [`list_reporting`](Client::list_reporting) with
    /// `Depth: infinity`, but where a folder's ETag follows every change below it, asks only
    /// for what changed: `root` alone first (`Depth: 0`), then `Depth: 1` down every folder
    /// whose ETag differs from the one `recorded` knows, taking the rest from `recorded`. When
    /// nothing changed, that is one request.
    ///
    /// Folder ETags are trusted where the root carries an `oc:fileid` (the ownCloud family,
    /// whose file cache propagates every change up to the root, as Nextcloud's desktop client
    /// relies on) and no comparison said otherwise ([`Quirks::folder_etags_follow`]).
    ///
    /// [`Quirks::folder_etags_follow`]: crate::Quirks::folder_etags_follow
    pub async fn list_pruned(
        &self,
        root: &RemotePath,
        found: Found<'_>,
        recorded: Recorded<'_>,
    ) -> Result<Listing, Error> {
        let quirks = self.quirks();
        if quirks.folder_etags_follow == Some(false) || quirks.owncloud_properties == Some(false) {
            return self.list_reporting(root, Depth::Infinity, found).await;
        }
        let mut top = self.propfind(root, Depth::Zero, EntryKind::Folder).await?;
        let trusted = top
            .entries
            .iter()
            .find(|e| e.path == *root)
            .filter(|e| e.file_id.is_some() && e.etag.is_some())
            .cloned();
        let Some(folder) = trusted else {
            return self.list_reporting(root, Depth::Infinity, found).await;
        };
        if let Some(mut below) = recorded(&folder) {
            // Not reported to `found`: the listing ends here, and a copy of a whole tree
            // would only cost memory. The root joins the tree (not the tree the root), so a
            // large tree is not moved into a new allocation.
            below.append(&mut top.entries);
            top.entries = below;
            return Ok(top);
        }
        let mut listing = Listing::default();
        let mut queue = VecDeque::from([root.clone()]);
        self.walk_queue(root, &mut queue, &mut listing, found, recorded)
            .await?;
        Ok(listing)
    }

    /// Lists everything below `path` with parallel `Depth: 1` requests.
    async fn walk(&self, root: &RemotePath, found: Found<'_>) -> Result<Listing, Error> {
        let mut listing = Listing::default();
        let mut queue = VecDeque::from([root.clone()]);
        self.walk_queue(root, &mut queue, &mut listing, found, &unrecorded)
            .await?;
        Ok(listing)
    }

    /// Completes `listing`, a `Depth: infinity` answer that showed nothing below any
    /// subfolder, by listing those subfolders. When one turns out not to be empty, the server
    /// only pretends to answer `Depth: infinity`, and is walked from now on. The first
    /// answer is reported to `found` before the walk, so every folder walked is known there.
    async fn walk_below(
        &self,
        root: &RemotePath,
        listing: Listing,
        found: Found<'_>,
    ) -> Result<Listing, Error> {
        found(&listing.entries);
        let mut queue: VecDeque<RemotePath> = listing
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Folder && e.path != *root)
            .map(|e| e.path.clone())
            .collect();
        let mut complete = listing;
        let shallow = complete.entries.len();
        self.walk_queue(root, &mut queue, &mut complete, found, &unrecorded)
            .await?;
        if complete.entries.len() > shallow {
            tracing::debug!(%root, "Depth: infinity was answered as Depth: 1; walking from now on");
            self.learn(|q| q.depth_infinity = Some(false));
        }
        Ok(complete)
    }

    /// Lists the folders in `queue` and every folder found below them, as many at a time as
    /// the adaptive limit allows (see [`crate::adaptive`]), adding what they hold to `listing`
    /// (and `root` itself, when it is in the queue) and telling `found` folder by folder. A
    /// folder `recorded` knows is not listed: what it holds comes from there.
    async fn walk_queue(
        &self,
        root: &RemotePath,
        queue: &mut VecDeque<RemotePath>,
        listing: &mut Listing,
        found: Found<'_>,
        recorded: Recorded<'_>,
    ) -> Result<(), Error> {
        let mut running = FuturesUnordered::new();
        loop {
            if self.quirks().http2 == Some(true) {
                // Another listing in flight is another stream on the one connection, not
                // another handshake: start where a few round trips of doubling would reach.
                self.walk_limit().start_at_least(MULTIPLEXED_WALK);
            }
            let limit = self.walk_limit().limit();
            while running.len() < limit {
                let Some(folder) = queue.pop_front() else {
                    break;
                };
                running.push(async move {
                    let started = Instant::now();
                    let listed = self.propfind(&folder, Depth::One, EntryKind::Folder).await;
                    (folder, listed, started.elapsed())
                });
            }
            let Some((folder, listed, took)) = running.next().await else {
                break;
            };
            let answer = match &listed {
                Err(error) if error.is_overload() => Answer::Overloaded,
                _ => Answer::Answered,
            };
            self.walk_limit().record(took, answer, running.len() + 1);
            let listed = listed?;
            listing.rejected.extend(listed.rejected);
            let start = listing.entries.len();
            let mut unchanged = Vec::new();
            for entry in listed.entries {
                if entry.path == folder {
                    if folder == *root {
                        listing.entries.push(entry);
                    }
                    continue;
                }
                let below = match entry.kind {
                    EntryKind::Folder => recorded(&entry),
                    EntryKind::File => None,
                };
                match below {
                    Some(below) => unchanged.extend(below),
                    None if entry.kind == EntryKind::Folder => {
                        queue.push_back(entry.path.clone());
                    }
                    None => {}
                }
                listing.entries.push(entry);
            }
            // Only what the server answered: a copy of the recorded subtrees, most of a large
            // tree, would cost memory for downloads that can wait for the plan.
            found(&listing.entries[start..]);
            listing.entries.extend(unchanged);
        }
        Ok(())
    }

    /// What the server says of one item, `None` if there is nothing at `path`. A file's URL
    /// never ends with `/` (Apache answers 400 and others 403 to a file path with one), a
    /// folder's always does.
    pub async fn stat(&self, path: &RemotePath, kind: EntryKind) -> Result<Option<Entry>, Error> {
        match self.propfind(path, Depth::Zero, kind).await {
            Ok(listing) => Ok(listing.entries.into_iter().find(|e| e.path == *path)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn propfind(
        &self,
        path: &RemotePath,
        depth: Depth,
        kind: EntryKind,
    ) -> Result<Listing, Error> {
        let body = propfind_body(self.quirks().owncloud_properties);
        self.propfind_asking(path, depth, kind, body).await
    }

    /// What `path` (a folder) holds, one level down, with each folder's size where the server
    /// reports it: for a person choosing a folder, not for a sync.
    pub async fn browse(&self, path: &RemotePath) -> Result<Listing, Error> {
        self.propfind_asking(path, Depth::One, EntryKind::Folder, BROWSE_BODY)
            .await
    }

    /// A `PROPFIND` of `path` asking for the properties in `body`.
    async fn propfind_asking(
        &self,
        path: &RemotePath,
        depth: Depth,
        kind: EntryKind,
        body: &'static str,
    ) -> Result<Listing, Error> {
        let method = Method::from_bytes(b"PROPFIND").expect("PROPFIND is a valid method");
        let response = self
            .send(&method, path, kind, |r| {
                r.header("Depth", depth.header())
                    .header(CONTENT_TYPE, "application/xml; charset=utf-8")
                    .body(body)
            })
            .await?;
        if response.status() != StatusCode::MULTI_STATUS {
            return Err(Error::NotWebDav {
                path: path.to_string(),
                status: response.status(),
            });
        }
        let body = IdleStream::new(response.bytes_stream(), self.inner.options.idle_timeout);
        let failure = body.failure();
        let reader = tokio::io::BufReader::with_capacity(64 * 1024, StreamReader::new(body));
        match Listing::read(&self.inner.base, reader).await {
            Ok(listing) => {
                let owncloud = listing.entries.iter().any(|e| {
                    e.file_id.is_some() || e.permissions.is_some() || !e.checksums.is_empty()
                });
                if owncloud {
                    self.learn(|q| {
                        q.upgrade(ServerKind::OwnCloud);
                        q.owncloud_properties = Some(true);
                    });
                } else if !listing.entries.is_empty() {
                    self.learn(|q| {
                        q.owncloud_properties.get_or_insert(false);
                    });
                }
                Ok(listing)
            }
            Err(source) => Err(match failure.take() {
                Some(transport) => transport.into_error(method, path),
                None => Error::Listing {
                    path: path.to_string(),
                    source,
                },
            }),
        }
    }
}

/// Whether a `Depth: infinity` answer shows an entry below one of `root`'s subfolders, which
/// proves the server went deeper than `Depth: 1`.
fn goes_deep(listing: &Listing, root: &RemotePath) -> bool {
    listing
        .entries
        .iter()
        .any(|e| e.path != *root && e.path.parent().is_some_and(|p| p != *root))
}

/// Whether a failed `Depth: infinity` PROPFIND means "not here, walk instead".
fn refuses_infinity(error: &Error) -> bool {
    matches!(error.status().map(|s| s.as_u16()), Some(400 | 403 | 501))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownclouds_properties_are_asked_for_until_a_listing_shows_the_server_has_none() {
        for body in [propfind_body(None), propfind_body(Some(true))] {
            assert!(body.contains("<oc:fileid/>") && body.contains("<oc:checksums/>"));
        }
        let plain = propfind_body(Some(false));
        assert!(!plain.contains("oc:"), "{plain}");
        for prop in [
            "resourcetype",
            "getcontentlength",
            "getetag",
            "getlastmodified",
        ] {
            assert!(
                plain.contains(&format!("<d:{prop}/>")),
                "{prop} is still asked for"
            );
        }
    }
}
