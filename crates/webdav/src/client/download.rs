//! GET: downloads whole or by range, with the answer's version, checked against what was
//! asked (a 206 must start where the range did).

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use reqwest::{Method, StatusCode};

use super::{Client, header_string, header_u64};
use crate::entry::EntryKind;
use crate::error::Error;
use crate::idle::IdleStream;
use crate::path::RemotePath;
use crate::rate::RateLimit;
use crate::validator;

/// A download in progress: the answer's metadata, then the body chunk by chunk.
pub struct Download {
    path: RemotePath,
    /// 206 when the server honoured the range, 200 when it sends the whole file.
    pub status: StatusCode,
    /// Bytes this answer will carry, when the server said.
    pub length: Option<u64>,
    /// `(first, last, total)` of a 206 answer.
    pub content_range: Option<(u64, u64, Option<u64>)>,
    pub etag: Option<String>,
    pub modified: Option<SystemTime>,
    received: u64,
    body: IdleStream,
    /// The client's download limit, charged for every chunk.
    limit: Option<RateLimit>,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("path", &self.path)
            .field("status", &self.status)
            .field("length", &self.length)
            .field("content_range", &self.content_range)
            .field("etag", &self.etag)
            .field("received", &self.received)
            .finish()
    }
}

impl Download {
    /// Whether the body starts where the request's range asked (206), rather than at byte 0.
    pub fn is_partial(&self) -> bool {
        self.status == StatusCode::PARTIAL_CONTENT
    }

    /// The next chunk of the body, or `None` at its end. Cancel-safe: dropping the future loses
    /// nothing that was not yet returned. Fails with [`Error::Stalled`] when the server sends
    /// nothing for the idle timeout, and with [`Error::ShortBody`] when the body ends early.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if let Some(limit) = &self.limit {
            limit.ready().await;
        }
        match self.body.next_chunk().await {
            Some(Ok(bytes)) => {
                self.received += bytes.len() as u64;
                if let Some(limit) = &self.limit {
                    limit.charge(bytes.len());
                }
                Ok(Some(bytes))
            }
            Some(Err(error)) => Err(error.into_error(Method::GET, &self.path)),
            None => match self.length {
                Some(expected) if self.received < expected => Err(Error::ShortBody {
                    path: self.path.to_string(),
                    received: self.received,
                    expected,
                }),
                _ => {
                    tracing::debug!(path = %self.path, bytes = self.received, "download body complete");
                    Ok(None)
                }
            },
        }
    }

    /// Bytes of the body returned so far.
    pub fn received(&self) -> u64 {
        self.received
    }
}

impl Client {
    /// Starts downloading `path`. With `from > 0` asks for the rest of the file from that byte,
    /// and with `if_range` only if the remote is still that version: a changed file comes back
    /// whole (200), which the caller sees in [`Download::status`].
    pub async fn get(
        &self,
        path: &RemotePath,
        from: u64,
        if_range: Option<&str>,
    ) -> Result<Download, Error> {
        self.get_range(path, from, None, if_range).await
    }

    /// Like [`get`](Client::get), for the bytes from `from` up to `end` (exclusive) when `end`
    /// is given. Large files are fetched in bounded ranges because some servers (rclone serve)
    /// stream an open range far less efficiently than bounded ones (figures in BENCHMARKS.md).
    /// A server that ignores ranges answers 200 with the whole file.
    pub async fn get_range(
        &self,
        path: &RemotePath,
        from: u64,
        end: Option<u64>,
        if_range: Option<&str>,
    ) -> Result<Download, Error> {
        let range = match end {
            Some(end) if end > from => Some(format!("bytes={from}-{}", end - 1)),
            _ if from > 0 => Some(format!("bytes={from}-")),
            _ => None,
        };
        let response = self
            .send(&Method::GET, path, EntryKind::File, |mut r| {
                if let Some(range) = &range {
                    r = r.header(RANGE, range.as_str());
                    // A weak tag never matches in If-Range: the range goes without it, and
                    // the caller compares the answer's ETag with the one it expects.
                    if let Some(tag) = if_range.and_then(validator::strong) {
                        r = r.header(IF_RANGE, tag);
                    }
                }
                r
            })
            .await?;
        let status = response.status();
        let headers = response.headers();
        let content_range = match headers.get(CONTENT_RANGE) {
            Some(value) if status == StatusCode::PARTIAL_CONTENT => {
                let text = value.to_str().unwrap_or_default();
                match parse_content_range(text) {
                    Some(range @ (first, _, _)) if first == from => Some(range),
                    _ => {
                        return Err(Error::ContentRange {
                            path: path.to_string(),
                            requested: from,
                            got: text.escape_debug().to_string(),
                        });
                    }
                }
            }
            None if status == StatusCode::PARTIAL_CONTENT => {
                return Err(Error::ContentRange {
                    path: path.to_string(),
                    requested: from,
                    got: String::new(),
                });
            }
            _ => None,
        };
        Ok(Download {
            path: path.clone(),
            status,
            length: header_u64(headers, CONTENT_LENGTH.as_str()),
            content_range,
            etag: header_string(headers, ETAG.as_str()),
            modified: header_string(headers, LAST_MODIFIED.as_str())
                .and_then(|d| httpdate::parse_http_date(&d).ok()),
            received: 0,
            body: IdleStream::new(response.bytes_stream(), self.inner.options.idle_timeout),
            limit: self.inner.options.download_limit.clone(),
        })
    }
}

/// Parses `bytes first-last/total` (total may be `*`).
fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let first = first.trim().parse().ok()?;
    let last = last.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    (first <= last && total.is_none_or(|t| last < t)).then_some((first, last, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 10-19/20"),
            Some((10, 19, Some(20)))
        );
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, 0, None)));
        assert_eq!(parse_content_range("bytes 10-5/20"), None);
        assert_eq!(parse_content_range("bytes 10-20/20"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(parse_content_range("bytes */20"), None);
    }
}
