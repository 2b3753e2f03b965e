//! Chunked upload v2 (Nextcloud's documented protocol): a large file goes up in numbered chunks
//! into an upload folder, and one `MOVE …/.file` assembles it under its name, so a partial
//! file is never visible there. Every request names the target in `Destination`; chunk `PUT`s
//! carry `OC-Total-Length`, so a full quota refuses the first chunk (507) before its data.
//!
//! The upload folder's name comes from the caller, derived from the file's identity: a
//! stopped, suspended or killed upload finds its folder again, lists it, and sends only the
//! chunks that are missing or not whole.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::{ReaderStream, StreamReader};
use url::Url;

use super::upload::{uploaded, with_conditions};
use super::{Client, Precondition, SentBytes, Uploaded};
use crate::entry::{EntryKind, Listing};
use crate::error::Error;
use crate::idle::IdleStream;
use crate::path::RemotePath;
use crate::validator;

/// The smallest chunk Nextcloud takes (but the last), as its documentation says.
pub const MIN_CHUNK_SIZE: u64 = 5 * 1024 * 1024;

/// What [`Client::put_chunks`] sent, for [`Client::assemble_chunks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunksSent {
    /// The file's length, announced on assembly as `OC-Total-Length`.
    pub total: u64,
    /// `SHA1:<hex>` of the file, read once every chunk was sent, for a server that stores
    /// `OC-Checksum` (Nextcloud keeps the one sent with the assembly: the `MOVE` of a
    /// `FutureFile` copies it into place through `File::put`, which stores the request's
    /// header). The caller checks the file is unchanged after this, so the checksum is the
    /// one of the bytes in the chunks.
    pub checksum: Option<String>,
}

/// One chunk of a file: its number (from 1) and the bytes it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    number: u32,
    start: u64,
    len: u64,
}

/// The chunks of a file of `total` bytes, `size` bytes each but the last.
fn pieces(total: u64, size: u64) -> Vec<Piece> {
    let size = size.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < total || (total == 0 && out.is_empty()) {
        let len = size.min(total - start);
        out.push(Piece {
            number: out.len() as u32 + 1,
            start,
            len,
        });
        start += len;
        if len == 0 {
            break;
        }
    }
    out
}

impl Client {
    /// Sends `local`, meant for `path`, by chunked upload v2 into the upload folder
    /// `upload_id` (letters, digits and '-'), `chunk_size` bytes at a time (capped by the
    /// server's maximum). Chunks already in the folder with the right size are not sent again;
    /// `sent` counts them as gone out. Returns the file's length and, for a server that
    /// stores checksums, its SHA-1, for [`assemble_chunks`](Client::assemble_chunks).
    pub async fn put_chunks(
        &self,
        path: &RemotePath,
        local: &Path,
        upload_id: &str,
        chunk_size: u64,
        sent: SentBytes,
    ) -> Result<ChunksSent, Error> {
        let folder = self.upload_folder(upload_id)?;
        let destination = path.url(&self.inner.base, false);
        let total = tokio::fs::metadata(local)
            .await
            .map_err(|source| Error::LocalRead {
                method: Method::PUT,
                path: path.to_string(),
                source,
            })?
            .len();
        let max = self
            .quirks()
            .abilities
            .and_then(|a| a.chunking?.max_chunk_size);
        let size = max.map_or(chunk_size, |m| chunk_size.min(m));
        let label = format!("{path} (upload {upload_id})");
        let with_destination = |r: RequestBuilder| {
            r.header("Destination", destination.as_str())
                .header("OC-Total-Length", total)
        };
        let mkcol = Method::from_bytes(b"MKCOL").expect("MKCOL is a valid method");
        match self
            .send_url(&mkcol, &folder, &label, with_destination)
            .await
        {
            Ok(_) => {}
            Err(error) if error.status() == Some(StatusCode::METHOD_NOT_ALLOWED) => {}
            Err(error) => return Err(error),
        }
        let present = self.chunks_present(&folder, &label).await?;
        let mut done = 0u64;
        for piece in pieces(total, size) {
            if present.get(&piece.number) == Some(&piece.len) {
                done += piece.len;
                sent(done);
                continue;
            }
            let mut url = folder.clone();
            url.set_path(&format!("{}{:05}", folder.path(), piece.number));
            let report = sent.clone();
            let before = done;
            let progress: SentBytes = std::sync::Arc::new(move |n| report(before + n));
            self.put_url(&url, &label, &with_destination, progress, || {
                read_piece(local.to_owned(), piece)
            })
            .await
            .map_err(|e| e.into_error(path))?;
            done += piece.len;
        }
        let checksum = match self.takes_checksums() {
            true => {
                let local = local.to_owned();
                let hashed =
                    tokio::task::spawn_blocking(move || super::upload::file_sha1(&local)).await;
                let read = hashed.map_err(std::io::Error::other).and_then(|r| r);
                Some(read.map_err(|source| Error::LocalRead {
                    method: Method::PUT,
                    path: path.to_string(),
                    source,
                })?)
            }
            false => None,
        };
        Ok(ChunksSent { total, checksum })
    }

    /// Assembles the chunks of `upload_id` into `path` (`sent.total` bytes in all, read from
    /// `local`), only if `precondition` holds there, with `mtime` and the file's checksum
    /// (`OC-Checksum`, as Nextcloud's own client sends it). The upload folder is gone
    /// afterwards.
    ///
    /// The precondition is not sent as `If-Match` / `If-None-Match`: Sabre checks those against
    /// the request's own URL, the `.file`, which exists, so `If-None-Match: *` would always
    /// fail (`Server::checkPreconditions`). Like Nextcloud's desktop client
    /// (`propagateuploadng.cpp`, `doFinalMove`), a replacement names the destination in a
    /// WebDAV `If` header, `If: <destination> (["etag"])`, and a new file relies on
    /// `Overwrite: F`.
    pub async fn assemble_chunks(
        &self,
        path: &RemotePath,
        local: &Path,
        upload_id: &str,
        sent: &ChunksSent,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
    ) -> Result<Uploaded, Error> {
        let total = sent.total;
        let folder = self.upload_folder(upload_id)?;
        let destination = path.url(&self.inner.base, false);
        let mut assemble = folder.clone();
        assemble.set_path(&format!("{}.file", folder.path()));
        let label = format!("{path} (upload {upload_id})");
        let moved = Method::from_bytes(b"MOVE").expect("MOVE is a valid method");
        let answer = self
            .send_url(&moved, &assemble, &label, |r| {
                let mut r = r
                    .header("Destination", destination.as_str())
                    .header("OC-Total-Length", total);
                if let Some(checksum) = &sent.checksum {
                    r = r.header("OC-Checksum", checksum);
                }
                let r = match precondition {
                    Precondition::Absent => r.header("Overwrite", "F"),
                    Precondition::Matches(tag) => match validator::strong(tag) {
                        Some(tag) => r.header("If", format!("<{destination}> ([{tag}])")),
                        None => r,
                    },
                    Precondition::None => r,
                };
                with_conditions(r, &Precondition::None, mtime)
            })
            .await;
        match answer {
            Ok(response) => Ok(uploaded(response.headers())),
            // An assembly that outlasted the idle timeout was retried after the server had
            // finished it: the folder is gone and the file is in place. Only a file that is
            // ours by every mark the server shows counts as done: another client may have
            // written one of the same size meanwhile.
            Err(error) if error.is_not_found() => match self.stat(path, EntryKind::File).await? {
                Some(entry) if self.is_our_assembly(&entry, local, total, mtime).await => {
                    Ok(Uploaded {
                        etag: entry.etag,
                        file_id: entry.file_id,
                        mtime_accepted: false,
                    })
                }
                _ => Err(error),
            },
            Err(error) => Err(error),
        }
    }

    /// Whether `entry` is the file our assembly made: its size, the time we sent (to the
    /// second, as listings show it) and, where the server reports a SHA1 checksum, that
    /// checksum of `local`.
    async fn is_our_assembly(
        &self,
        entry: &crate::entry::Entry,
        local: &Path,
        total: u64,
        mtime: Option<SystemTime>,
    ) -> bool {
        let seconds = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        if entry.size != total {
            return false;
        }
        if let Some(sent) = mtime
            && entry.modified.map(seconds) != Some(seconds(sent))
        {
            return false;
        }
        let Some(reported) = entry
            .checksums
            .iter()
            .find(|c| c.len() > 5 && c[..5].eq_ignore_ascii_case("SHA1:"))
        else {
            return true;
        };
        let local = local.to_owned();
        let ours = tokio::task::spawn_blocking(move || super::upload::file_sha1(&local)).await;
        matches!(ours, Ok(Ok(ours)) if ours.eq_ignore_ascii_case(reported))
    }

    /// Deletes the upload folder `upload_id` with every chunk in it.
    pub async fn abort_chunked(&self, upload_id: &str) -> Result<(), Error> {
        let mut folder = self.upload_folder(upload_id)?;
        let trimmed = folder.path().trim_end_matches('/').to_owned();
        folder.set_path(&trimmed);
        self.send_url(&Method::DELETE, &folder, upload_id, |r| r)
            .await
            .map(drop)
    }

    /// The URL of an upload folder, ending with `/`.
    fn upload_folder(&self, upload_id: &str) -> Result<Url, Error> {
        let unsupported = |reason: &str| Error::Url {
            url: upload_id.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(chunking) = self.quirks().abilities.and_then(|a| a.chunking) else {
            return Err(unsupported("the server does not offer chunked uploads"));
        };
        if upload_id.is_empty()
            || !upload_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(unsupported(
                "an upload folder's name is letters, digits and '-'",
            ));
        }
        let mut folder = chunking.uploads.clone();
        folder.set_path(&format!("{}{upload_id}/", chunking.uploads.path()));
        Ok(folder)
    }

    /// The chunks already in an upload folder, by number, with their sizes.
    async fn chunks_present(&self, folder: &Url, label: &str) -> Result<BTreeMap<u32, u64>, Error> {
        let propfind = Method::from_bytes(b"PROPFIND").expect("PROPFIND is a valid method");
        let answer = self
            .send_url(&propfind, folder, label, |r| {
                r.header("Depth", "1")
                    .header(CONTENT_TYPE, "application/xml; charset=utf-8")
                    .body(CHUNK_PROPFIND)
            })
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(error) if error.is_not_found() => return Ok(BTreeMap::new()),
            Err(error) => return Err(error),
        };
        let body = IdleStream::new(response.bytes_stream(), self.inner.options.idle_timeout);
        let reader = tokio::io::BufReader::new(StreamReader::new(body));
        let listing = Listing::read(folder, reader)
            .await
            .map_err(|source| Error::Listing {
                path: label.to_owned(),
                source,
            })?;
        Ok(listing
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .filter_map(|e| Some((e.path.as_str().parse::<u32>().ok()?, e.size)))
            .collect())
    }
}

const CHUNK_PROPFIND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/></d:prop></d:propfind>"#;

/// Opens `local` at the piece's start, for one attempt of its PUT.
async fn read_piece(
    local: std::path::PathBuf,
    piece: Piece,
) -> Result<
    (
        ReaderStream<tokio::io::Take<tokio::fs::File>>,
        u64,
        Option<String>,
    ),
    std::io::Error,
> {
    let opened = tokio::task::spawn_blocking(move || crate::plain_file::open_plain(&local));
    let mut file = tokio::fs::File::from_std(opened.await.map_err(std::io::Error::other)??);
    file.seek(std::io::SeekFrom::Start(piece.start)).await?;
    Ok((
        ReaderStream::with_capacity(file.take(piece.len), 256 * 1024),
        piece.len,
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_cut_into_numbered_pieces_of_the_chunk_size_but_the_last() {
        let cut = pieces(25, 10);
        assert_eq!(
            cut,
            [
                Piece {
                    number: 1,
                    start: 0,
                    len: 10
                },
                Piece {
                    number: 2,
                    start: 10,
                    len: 10
                },
                Piece {
                    number: 3,
                    start: 20,
                    len: 5
                },
            ]
        );
        assert_eq!(pieces(20, 10).len(), 2);
        assert_eq!(
            pieces(0, 10),
            [Piece {
                number: 1,
                start: 0,
                len: 0
            }]
        );
    }
}
