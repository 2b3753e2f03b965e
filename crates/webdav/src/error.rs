//! The one error type of the WebDAV client, with the request it came from and a classification
//! the engine acts on (retry, ask for credentials, skip, resume, give up).

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::multistatus::ParseError;
use crate::path::HrefError;

/// What went wrong with a WebDAV request. Every variant names the method and the path (relative
/// to the base folder, never with credentials) so a message in a log or the UI says where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a status that is not success for this request.
    #[error("{method} {path}: the server answered {status}{}", reason(message))]
    Status {
        method: Method,
        path: String,
        status: StatusCode,
        /// The server's `Retry-After`, when it sent one with a 423, 429 or 503.
        retry_after: Option<Duration>,
        /// The server's own reason, where its error body gives one (Sabre's `s:message`
        /// under Nextcloud and ownCloud): "\".htaccess\" is a forbidden file or folder name."
        message: Option<String>,
    },
    /// Nextcloud or ownCloud is in maintenance mode (an update, usually): 503 with
    /// `X-Nextcloud-Maintenance-Mode`, or, from WebDAV, Sabre's `ServerMaintenanceMode` error
    /// body and no header. Retried like any 503; worth saying as such.
    #[error("{method} {path}: the server is in maintenance mode; it will be tried again")]
    Maintenance {
        method: Method,
        path: String,
        retry_after: Option<Duration>,
    },
    /// The request never got an answer: refused connection, reset, DNS, TLS handshake.
    #[error("{method} {path}: {source}")]
    Transport {
        method: Method,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// The TLS handshake failed on trust: an unknown issuer, an expired certificate, a name
    /// that does not match, or not the pinned certificate. Never retried.
    #[error("{method} {path}: the server's certificate is not trusted: {message}")]
    Certificate {
        method: Method,
        path: String,
        message: String,
    },
    /// The server answered something other than a WebDAV listing, typically a web page: the
    /// address is probably not the WebDAV folder.
    #[error(
        "PROPFIND {path}: the server answered {status} instead of a WebDAV listing; is this the WebDAV address?"
    )]
    NotWebDav { path: String, status: StatusCode },
    /// The server took longer than the connect timeout to accept, or sent nothing for the idle
    /// timeout while a body was expected.
    #[error("{method} {path}: no answer from the server for {waited:?}")]
    Stalled {
        method: Method,
        path: String,
        waited: Duration,
    },
    /// A PROPFIND answer that is not a usable multistatus document.
    #[error("PROPFIND {path}: the listing is malformed: {source}")]
    Listing {
        path: String,
        #[source]
        source: ParseError,
    },
    /// A 206 whose Content-Range does not start where the request asked.
    #[error("GET {path}: asked for bytes from {requested}, the server sent Content-Range '{got}'")]
    ContentRange {
        path: String,
        requested: u64,
        got: String,
    },
    /// The body ended before the length the server announced.
    #[error("GET {path}: the server sent {received} of {expected} bytes")]
    ShortBody {
        path: String,
        received: u64,
        expected: u64,
    },
    /// A path given to the client that cannot be a remote path.
    #[error("{path}: {source}")]
    Path {
        path: String,
        #[source]
        source: HrefError,
    },
    /// The base URL is unusable.
    #[error("the server address '{url}' is not usable: {reason}")]
    Url { url: String, reason: String },
    /// Plain http to a host that is not this machine, without the caller allowing it.
    #[error(
        "'{url}' uses unencrypted http to another machine; use https, or allow http explicitly"
    )]
    InsecureUrl { url: String },
    /// The TLS settings (extra CA certificates, pinned fingerprint) are unusable.
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    /// The server does not offer what was asked of it (chunked upload to a server that did
    /// not announce it): a caller's mistake, never a server's answer.
    #[error("the server does not offer {what}")]
    Unsupported { what: &'static str },
    /// The bytes that went out are not the ones whose SHA-1 went with them as `OC-Checksum`:
    /// the local file was written while it was being sent. Nextcloud stores that header as
    /// sent without checking it (`File::put`), so only the client can notice; the upload must
    /// not be used.
    #[error(
        "{method} {path}: the local file changed while it was being sent (its bytes no longer \
         match the checksum sent with them)"
    )]
    ChangedWhileSent { method: Method, path: String },
    /// A local file to upload could not be read.
    #[error("{method} {path}: reading the local file failed: {source}")]
    LocalRead {
        method: Method,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The server's reason, as the end of a message: `: "…"`, or nothing.
fn reason(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(": \"{m}\""))
        .unwrap_or_default()
}

impl Error {
    /// The server's own reason for refusing, where it gave one.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Error::Status { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// Classifies a failed request: trust failures apart from other transport failures.
    pub(crate) fn transport(
        method: &Method,
        path: &impl ToString,
        source: reqwest::Error,
    ) -> Error {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&source);
        while let Some(error) = cause {
            if let Some(tls) = error.downcast_ref::<rustls::Error>() {
                return Error::Certificate {
                    method: method.clone(),
                    path: path.to_string(),
                    message: crate::tls::refusal_in_words(tls),
                };
            }
            // `io::Error::source` skips the error it wraps, so step into it explicitly.
            cause = match error
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => error.source(),
            };
        }
        Error::Transport {
            method: method.clone(),
            path: path.to_string(),
            source: source.without_url(),
        }
    }

    /// The HTTP status the server answered, if the failure was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Status { status, .. } => Some(*status),
            Error::Maintenance { .. } => Some(StatusCode::SERVICE_UNAVAILABLE),
            _ => None,
        }
    }

    /// Worth trying again after a pause: locked (423), rate-limited (429), a server or gateway
    /// error (500, 502, 503, 504), a reset or refused connection, a stall, a cut-short body.
    /// Never 401/403/404/412/507: trying again cannot change their answer.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Status { status, .. } => {
                matches!(status.as_u16(), 423 | 429 | 500 | 502 | 503 | 504)
            }
            // A body cut short reaches us as a decode error of the byte stream (we decode
            // nothing else: no compression, no JSON), so it counts as a transport failure.
            Error::Transport { source, .. } => {
                source.is_connect()
                    || source.is_timeout()
                    || source.is_request()
                    || source.is_body()
                    || source.is_decode()
            }
            Error::Stalled { .. } | Error::ShortBody { .. } | Error::Maintenance { .. } => true,
            _ => false,
        }
    }

    /// The server showed it has more than it can take: 429, 503 (maintenance too), a stall
    /// or a timeout. What the adaptive concurrency limit backs off from.
    pub fn is_overload(&self) -> bool {
        match self {
            Error::Status { status, .. } => matches!(status.as_u16(), 429 | 503),
            Error::Transport { source, .. } => source.is_timeout(),
            Error::Stalled { .. } | Error::Maintenance { .. } => true,
            _ => false,
        }
    }

    /// The server refused the request itself, not what it asked for: malformed for its
    /// parser (400, 411, 415) or a method or endpoint it does not serve (404, 405, 501). What a
    /// bulk upload is answered by a server that will not take one.
    pub fn is_request_refused(&self) -> bool {
        matches!(
            self.status().map(|s| s.as_u16()),
            Some(400 | 404 | 405 | 411 | 415 | 501)
        )
    }

    /// The server refused the credentials (401).
    pub fn is_auth(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// The credentials are fine but the account may not do this (403): a permission on the
    /// server, not a wrong password.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN)
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self.status().map(|s| s.as_u16()), Some(404 | 410))
    }

    /// The local file changed while it was being sent ([`Error::ChangedWhileSent`]).
    pub fn is_local_change(&self) -> bool {
        matches!(self, Error::ChangedWhileSent { .. })
    }

    /// An `If-Match`/`If-None-Match` precondition failed: the remote changed meanwhile.
    pub fn is_precondition_failed(&self) -> bool {
        self.status() == Some(StatusCode::PRECONDITION_FAILED)
    }

    /// The server cannot serve the range asked for (416): the file is shorter than the offset.
    pub fn is_range_unsatisfiable(&self) -> bool {
        self.status() == Some(StatusCode::RANGE_NOT_SATISFIABLE)
    }

    /// The server is out of space (507) or over the account's quota.
    pub fn is_insufficient_storage(&self) -> bool {
        self.status() == Some(StatusCode::INSUFFICIENT_STORAGE)
    }

    /// The file is locked on the server (423): someone or some app has it open.
    pub fn is_locked(&self) -> bool {
        self.status() == Some(StatusCode::LOCKED)
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } | Error::Maintenance { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}
