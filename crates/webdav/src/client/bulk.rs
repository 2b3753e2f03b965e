//! Nextcloud's bulk upload: many small files in one `POST …/remote.php/dav/bulk`, a
//! `multipart/related` body with one part per file. The server's parser
//! (`apps/dav/lib/BulkUpload/MultipartRequestParser.php`, `readPartHeaders`) refuses the whole
//! request with 400 unless every part has `Content-Length` and `X-File-MD5` (the hex MD5 of
//! the part's bytes, checked); `X-File-Path` names the file, `X-File-Mtime` / `X-OC-Mtime` its
//! time. `OC-Checksum` goes along for servers that record it. The answer is JSON keyed by path
//! and can be a 200 while some files failed, so every file's entry is read: each file comes
//! back stored or refused.
//!
//! The server checks no precondition here: a file is written whatever is at its path. The
//! caller sends only files that were new when it last looked, and looks again just before.

use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;

use super::nextcloud::{Layout, small_json};
use super::upload::{lower_hex, sha1_header, short_file_id};
use super::{Client, Uploaded};
use crate::error::Error;
use crate::path::RemotePath;

/// Refusals of bulk upload after which a client stops offering it.
const BULK_REFUSALS_TOLERATED: u32 = 2;

/// One file of a bulk upload: where it goes, its bytes, its modification time.
#[derive(Debug, Clone)]
pub struct BulkFile {
    pub path: RemotePath,
    pub data: Bytes,
    pub mtime: Option<SystemTime>,
}

/// What the server said of one file of a bulk upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkResult {
    Stored(Uploaded),
    /// The server's message, or that it said nothing of the file.
    Refused(String),
}

impl Client {
    /// Uploads `files` in one request; the results are in the same order.
    pub async fn put_bulk(&self, files: &[BulkFile]) -> Result<Vec<BulkResult>, Error> {
        let Some(url) = self.quirks().abilities.and_then(|a| a.bulk_upload) else {
            return Err(Error::Unsupported {
                what: "bulk upload",
            });
        };
        let prefix = self.prefix_in_account()?;
        let boundary = format!("tidesync-{:016x}", fastrand::u64(..));
        let paths: Vec<String> = files
            .iter()
            .map(|f| format!("/{prefix}{}", f.path.as_str()))
            .collect();
        let body = multipart(files, &paths, &boundary);
        let answer = self
            .send_url(&Method::POST, &url, "bulk upload", |r| {
                r.header(
                    CONTENT_TYPE,
                    format!("multipart/related; boundary={boundary}"),
                )
                .body(body.clone())
            })
            .await
            .inspect_err(|error| self.count_bulk_refusal(error))?;
        let results = small_json(answer).await;
        Ok(files
            .iter()
            .zip(&paths)
            .map(|(file, path)| read_result(&results[path.as_str()], file.mtime.is_some()))
            .collect())
    }

    /// A server that refused bulk upload itself twice (its parser's 400, an endpoint it does
    /// not serve) is not offered another batch by this client: each refusal costs a round
    /// trip and the batch's bytes sent for nothing.
    fn count_bulk_refusal(&self, error: &Error) {
        if !error.is_request_refused() {
            return;
        }
        self.learn(|q| {
            q.bulk_refusals += 1;
            if q.bulk_refusals >= BULK_REFUSALS_TOLERATED {
                if let Some(proven) = q.proven.as_mut() {
                    proven.refuses_bulk = true;
                }
                if let Some(abilities) = q.abilities.as_mut()
                    && abilities.bulk_upload.take().is_some()
                {
                    tracing::warn!(
                        %error,
                        "the server refused bulk upload twice; small files go up one by one"
                    );
                }
            }
        });
    }

    /// Where the base folder is within the account's files, decoded, ending with `/` unless
    /// it is the account's root (`Photos/2024/`).
    pub(super) fn prefix_in_account(&self) -> Result<String, Error> {
        let base = &self.inner.base;
        let files = Layout::of(base)
            .and_then(|l| l.files)
            .ok_or(Error::Unsupported {
                what: "bulk upload outside remote.php/dav/files/",
            })?;
        let rest = base.path().strip_prefix(files.path()).unwrap_or_default();
        Ok(percent_encoding::percent_decode_str(rest)
            .decode_utf8_lossy()
            .into_owned())
    }
}

/// The request body: each part's headers, a blank line, its bytes, CRLF; then the end.
fn multipart(files: &[BulkFile], paths: &[String], boundary: &str) -> Bytes {
    let mut body = BytesMut::new();
    for (file, path) in files.iter().zip(paths) {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(format!("X-File-Path: {path}\r\n").as_bytes());
        body.extend_from_slice(format!("Content-Length: {}\r\n", file.data.len()).as_bytes());
        let checksum = sha1_header(ring::digest::digest(
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &file.data,
        ));
        body.extend_from_slice(format!("OC-Checksum: {checksum}\r\n").as_bytes());
        body.extend_from_slice(format!("X-File-MD5: {}\r\n", md5_hex(&file.data)).as_bytes());
        if let Some(seconds) = file
            .mtime
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        {
            body.extend_from_slice(format!("X-OC-Mtime: {}\r\n", seconds.as_secs()).as_bytes());
        }
        body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
        body.extend_from_slice(&file.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body.freeze()
}

/// The MD5 of `data` in lower-case hex, as PHP's `hash_final` gives it and the server
/// compares it (byte for byte, so the case matters).
fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    lower_hex(&md5::Md5::digest(data))
}

/// One file's entry of the answer.
fn read_result(entry: &serde_json::Value, mtime_sent: bool) -> BulkResult {
    match (entry["error"].as_bool(), entry["etag"].as_str()) {
        (Some(false), Some(etag)) => BulkResult::Stored(Uploaded {
            etag: Some(quoted(etag)),
            // The long form (`DavUtil::getDavFileId`: the id padded to eight digits, then the
            // instance id); listings and the journal use the id alone.
            file_id: entry["fileid"]
                .as_str()
                .and_then(short_file_id)
                .or_else(|| entry["fileid"].as_u64().map(|id| id.to_string())),
            mtime_accepted: mtime_sent,
        }),
        (Some(true), _) => BulkResult::Refused(
            entry["message"]
                .as_str()
                .unwrap_or("the server refused the file")
                .to_owned(),
        ),
        _ => BulkResult::Refused("the server's answer says nothing of this file".into()),
    }
}

/// An ETag as listings show it: in quotes.
fn quoted(etag: &str) -> String {
    if etag.starts_with('"') || etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_files_entry_is_read_and_a_missing_one_is_a_refusal() {
        let ok = json!({"error": false, "etag": "abc", "fileid": "00000012ocabc123"});
        assert_eq!(
            read_result(&ok, true),
            BulkResult::Stored(Uploaded {
                etag: Some("\"abc\"".into()),
                file_id: Some("12".into()),
                mtime_accepted: true,
            })
        );
        let refused = json!({"error": true, "message": "quota"});
        assert_eq!(
            read_result(&refused, true),
            BulkResult::Refused("quota".into())
        );
        assert!(matches!(
            read_result(&serde_json::Value::Null, true),
            BulkResult::Refused(_)
        ));
    }

    #[test]
    fn the_body_is_multipart_related_with_exact_lengths() {
        let files = [BulkFile {
            path: RemotePath::parse("a b.txt").unwrap(),
            data: Bytes::from_static(b"x\r\ny"),
            mtime: None,
        }];
        let body = multipart(&files, &["/a b.txt".into()], "B");
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.starts_with("--B\r\nX-File-Path: /a b.txt\r\nContent-Length: 4\r\n"));
        assert!(text.contains("OC-Checksum: SHA1:"));
        // md5("x\r\ny"), as `printf 'x\r\ny' | md5sum` prints it.
        assert!(text.contains(&format!("X-File-MD5: {}\r\n", md5_hex(b"x\r\ny"))));
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert!(text.ends_with("\r\n\r\nx\r\ny\r\n--B--\r\n"));
    }
}
