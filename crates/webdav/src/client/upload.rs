//! PUT: a local file streamed with its length (or small bytes in one piece), with a
//! precondition and the modification time, reporting how much has gone out. To a server whose
//! listings carry ownCloud's properties, the body's SHA-1 goes along as `OC-Checksum`, which
//! ownCloud and Nextcloud store (Nextcloud without checking it: `File::put`); the bytes that
//! went out are hashed too, and an upload whose bytes no longer match is refused as changed.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::Stream;
use futures_util::stream::StreamExt;
use reqwest::header::{CONTENT_LENGTH, ETAG, IF_MATCH, IF_NONE_MATCH};
use reqwest::{Method, RequestBuilder};
use tokio_util::io::ReaderStream;
use url::Url;

use super::{Client, Precondition, SentBytes, Uploaded, header_string};
use crate::error::Error;
use crate::idle::Activity;
use crate::path::RemotePath;
use crate::retry::Retryable;
use crate::validator;

/// A local file about to be uploaded: read whole, or opened to be streamed; with its
/// `OC-Checksum` when the server takes one.
enum Opened {
    Small(Bytes, Option<String>),
    Large(std::fs::File, u64, Option<String>),
}

/// `SHA1:<hex>`, the form `OC-Checksum` takes.
pub(super) fn sha1_header(digest: ring::digest::Digest) -> String {
    format!("SHA1:{}", lower_hex(digest.as_ref()))
}

/// Bytes in lower-case hex, as servers compare digests (PHP's `hash_final`).
pub(super) fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes `file` from its start and leaves it at its start again.
fn sha1_of_file(file: &mut std::fs::File) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut context = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    let mut buf = vec![0u8; UPLOAD_CHUNK];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        context.update(&buf[..n]);
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(sha1_header(context.finish()))
}

/// `OC-Checksum`'s SHA1 of the file at `path`.
pub(super) fn file_sha1(path: &std::path::Path) -> std::io::Result<String> {
    sha1_of_file(&mut crate::plain_file::open_plain(path)?)
}

/// Large reads keep the per-chunk overhead of uploads low.
const UPLOAD_CHUNK: usize = 256 * 1024;

impl Client {
    /// Uploads the local file at `local` to `path`, streaming it with its known length.
    /// `mtime` is sent as `X-OC-Mtime`, which ownCloud, Nextcloud and rclone apply.
    pub async fn put_file(
        &self,
        path: &RemotePath,
        local: &Path,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
    ) -> Result<Uploaded, Error> {
        self.put_file_reporting(path, local, precondition, mtime, Arc::new(|_| {}))
            .await
    }

    /// Like [`put_file`](Client::put_file), telling `sent` how many bytes of the body have
    /// gone out so far, as they go (from 0 again when an attempt is retried).
    pub async fn put_file_reporting(
        &self,
        path: &RemotePath,
        local: &Path,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
        sent: SentBytes,
    ) -> Result<Uploaded, Error> {
        // Opened per attempt, so a retried upload sends the file from its start. A file that
        // fits one chunk is opened, measured and read in one blocking call, not in four
        // hand-offs to the blocking pool through `tokio::fs`.
        let with_checksum = self.takes_checksums();
        self.put_with(path, precondition, mtime, sent, || async {
            let local = local.to_owned();
            let opened = tokio::task::spawn_blocking(move || -> std::io::Result<Opened> {
                use std::io::Read;
                let mut file = crate::plain_file::open_plain(&local)?;
                let length = file.metadata()?.len();
                if length > UPLOAD_CHUNK as u64 {
                    let checksum = with_checksum.then(|| sha1_of_file(&mut file)).transpose()?;
                    return Ok(Opened::Large(file, length, checksum));
                }
                let mut data = Vec::with_capacity(length as usize + 1);
                file.read_to_end(&mut data)?;
                let checksum = with_checksum.then(|| {
                    sha1_header(ring::digest::digest(
                        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                        &data,
                    ))
                });
                Ok(Opened::Small(Bytes::from(data), checksum))
            })
            .await
            .map_err(std::io::Error::other)??;
            Ok(match opened {
                Opened::Small(data, checksum) => {
                    let length = data.len() as u64;
                    let stream = futures_util::stream::iter([Ok(data)]).left_stream();
                    (stream, length, checksum)
                }
                Opened::Large(file, length, checksum) => {
                    let file = tokio::fs::File::from_std(file);
                    let stream = ReaderStream::with_capacity(file, UPLOAD_CHUNK);
                    (stream.right_stream(), length, checksum)
                }
            })
        })
        .await
        .map_err(|error| error.into_error(path))
    }

    /// Uploads `data` to `path`. Meant for small payloads: the idle timeout covers the whole
    /// body, which is sent in one piece.
    pub async fn put_bytes(
        &self,
        path: &RemotePath,
        data: Bytes,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
    ) -> Result<Uploaded, Error> {
        let checksum = self.takes_checksums().then(|| {
            sha1_header(ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                &data,
            ))
        });
        self.put_with(path, precondition, mtime, Arc::new(|_| {}), || {
            let (data, checksum) = (data.clone(), checksum.clone());
            async move {
                let length = data.len() as u64;
                Ok((futures_util::stream::iter([Ok(data)]), length, checksum))
            }
        })
        .await
        .map_err(|error| error.into_error(path))
    }

    /// Sends a PUT whose body `body` makes afresh for every attempt. The body is watched: the
    /// upload counts as stalled only when no chunk went out for the idle timeout.
    async fn put_with<F, Fut, S>(
        &self,
        path: &RemotePath,
        precondition: &Precondition,
        mtime: Option<SystemTime>,
        sent: SentBytes,
        body: F,
    ) -> Result<Uploaded, PutError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(S, u64, Option<String>), std::io::Error>>,
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
    {
        let url = path.url(&self.inner.base, false);
        let conditions = |r: RequestBuilder| with_conditions(r, precondition, mtime);
        let response = self
            .put_url(&url, &path.to_string(), &conditions, sent, body)
            .await?;
        Ok(uploaded(response.headers()))
    }

    /// A PUT to `url` with the headers `extra` adds, retried by the policy, with a body made
    /// afresh for each attempt (its length, and its `OC-Checksum` if it has one).
    pub(super) async fn put_url<F, Fut, S>(
        &self,
        url: &Url,
        label: &str,
        extra: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
        sent: SentBytes,
        mut body: F,
    ) -> Result<reqwest::Response, PutError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(S, u64, Option<String>), std::io::Error>>,
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
    {
        let what = format!("PUT {label}");
        self.inner
            .options
            .retry
            .run(&what, || {
                let made = body();
                let report = sent.clone();
                self.put_once(url, label, extra, made, report)
            })
            .await
    }

    /// One attempt of a PUT with the body `made` produces.
    async fn put_once<S>(
        &self,
        url: &Url,
        label: &str,
        extra: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
        made: impl Future<Output = Result<(S, u64, Option<String>), std::io::Error>>,
        report: SentBytes,
    ) -> Result<reqwest::Response, PutError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
    {
        let (stream, length, checksum) = made.await.map_err(PutError::Local)?;
        let activity = Activity::new();
        let mut so_far = 0u64;
        // What went out is hashed where a checksum went with it: Nextcloud stores the header
        // as sent, so a file written during its upload would be recorded with a checksum its
        // bytes do not have (and with mixed bytes).
        let sent_digest = checksum.as_ref().map(|_| {
            Arc::new(std::sync::Mutex::new(ring::digest::Context::new(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            )))
        });
        let hashing = sent_digest.clone();
        let counted = stream.inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                so_far += chunk.len() as u64;
                report(so_far);
                if let Some(digest) = &hashing {
                    digest.lock().expect("never poisoned").update(chunk);
                }
            }
        });
        let limit = self.inner.options.upload_limit.clone();
        let limited = counted.then(move |chunk| {
            let limit = limit.clone();
            async move {
                if let (Some(limit), Ok(bytes)) = (&limit, &chunk) {
                    limit.charge(bytes.len());
                    limit.ready().await;
                }
                chunk
            }
        });
        let data = reqwest::Body::wrap_stream(activity.watch(limited));
        let announced = checksum.clone();
        let request = |r: RequestBuilder| {
            let mut r = extra(r.header(CONTENT_LENGTH, length).body(data));
            if let Some(checksum) = announced {
                r = r.header("OC-Checksum", checksum);
            }
            r
        };
        let response = self
            .send_url_once(&Method::PUT, url, label, &activity, request)
            .await
            .map_err(PutError::Remote)?;
        if let (Some(announced), Some(digest)) = (checksum, sent_digest) {
            let digest = digest.lock().expect("never poisoned").clone().finish();
            if !sha1_header(digest).eq_ignore_ascii_case(&announced) {
                return Err(PutError::ChangedWhileSent);
            }
        }
        Ok(response)
    }
}

/// What the answer to an upload says of the new version: its ETag (`OC-ETag` first: a proxy
/// may rewrite `ETag`), its file id, and whether the modification time was applied.
pub(super) fn uploaded(headers: &reqwest::header::HeaderMap) -> Uploaded {
    Uploaded {
        etag: header_string(headers, "oc-etag").or_else(|| header_string(headers, ETAG.as_str())),
        file_id: header_string(headers, "oc-fileid").and_then(|long| short_file_id(&long)),
        mtime_accepted: header_string(headers, "x-oc-mtime")
            .is_some_and(|v| v.eq_ignore_ascii_case("accepted")),
    }
}

/// `OC-FileId` is the id padded to eight digits followed by the instance id
/// (`00000123ocabcdef`); listings give the id alone (`oc:fileid` 123), which is what the
/// journal keeps.
pub(super) fn short_file_id(long: &str) -> Option<String> {
    let digits: String = long.chars().take_while(char::is_ascii_digit).collect();
    let id = digits.trim_start_matches('0');
    match (digits.is_empty(), id.is_empty()) {
        (true, _) => None,
        (false, true) => Some("0".into()),
        (false, false) => Some(id.to_owned()),
    }
}

impl Client {
    /// Whether the server stores checksums sent with uploads: its listings carry ownCloud's
    /// properties (ownCloud, Nextcloud). Others would ignore the header, so no file is read
    /// twice for them.
    pub(super) fn takes_checksums(&self) -> bool {
        self.quirks().owncloud_properties == Some(true)
    }
}

/// A PUT's precondition (a weak tag is not sent: it never matches) and `X-OC-Mtime`.
pub(super) fn with_conditions(
    mut request: RequestBuilder,
    precondition: &Precondition,
    mtime: Option<SystemTime>,
) -> RequestBuilder {
    request = match precondition {
        Precondition::None => request,
        Precondition::Matches(tag) => match validator::strong(tag) {
            Some(tag) => request.header(IF_MATCH, tag),
            None => request,
        },
        Precondition::Absent => request.header(IF_NONE_MATCH, "*"),
    };
    if let Some(seconds) = mtime.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()) {
        request = request.header("X-OC-Mtime", seconds.as_secs());
    }
    request
}

/// Why an upload failed: the local file (unreadable, or written while it was sent) or the
/// server.
pub(super) enum PutError {
    Local(std::io::Error),
    ChangedWhileSent,
    Remote(Error),
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::Local(error) => write!(f, "reading the local file: {error}"),
            PutError::ChangedWhileSent => write!(f, "the local file changed while it was sent"),
            PutError::Remote(error) => error.fmt(f),
        }
    }
}

/// A local failure is not retried: the file will not read better a second later, and one
/// being written is sent again by the next pass, once the writer is done.
impl Retryable for PutError {
    fn worth_retrying(&self) -> bool {
        matches!(self, PutError::Remote(e) if e.is_retryable())
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            PutError::Remote(e) => e.retry_after(),
            PutError::Local(_) | PutError::ChangedWhileSent => None,
        }
    }
}

impl PutError {
    pub(super) fn into_error(self, path: &RemotePath) -> Error {
        match self {
            PutError::Remote(error) => error,
            PutError::Local(source) => Error::LocalRead {
                method: Method::PUT,
                path: path.to_string(),
                source,
            },
            PutError::ChangedWhileSent => Error::ChangedWhileSent {
                method: Method::PUT,
                path: path.to_string(),
            },
        }
    }
}
