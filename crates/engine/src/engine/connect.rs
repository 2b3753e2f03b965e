//! How the engine reaches a server: a [`Connector`] opens a client for a remote's folder, and
//! [`Clients`] keeps the passwords (in memory only) and one client per folder, so a folder's
//! runs share one connection pool until the app is suspended or the remote changes.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tidesync_webdav::{Client, Credentials, Options, RateLimit, parse_fingerprint};

use super::lock;
use crate::model::{Remote as RemoteRecord, RemoteId};
use crate::remote::Remote;

/// Opens the client a run talks to. Production uses [`WebDavConnector`]; tests inject an
/// in-memory server through [`super::EngineOptions::connector`], so the engine has one code
/// path whatever it talks to.
pub trait Connector: fmt::Debug + Send + Sync + 'static {
    /// A client for `folder_url`, the remote's address joined with a pair's folder.
    fn connect(
        &self,
        remote: &RemoteRecord,
        folder_url: &str,
        credentials: Option<Credentials>,
        options: Options,
    ) -> Result<Arc<dyn Remote>, tidesync_webdav::Error>;
}

/// The real thing: a WebDAV [`Client`] per folder.
#[derive(Debug, Default)]
pub struct WebDavConnector;

impl Connector for WebDavConnector {
    fn connect(
        &self,
        _remote: &RemoteRecord,
        folder_url: &str,
        credentials: Option<Credentials>,
        options: Options,
    ) -> Result<Arc<dyn Remote>, tidesync_webdav::Error> {
        Ok(Arc::new(Client::new(folder_url, credentials, options)?))
    }
}

/// Passwords and open clients, keyed so that a changed remote never reuses a stale one.
pub(super) struct Clients {
    connector: Arc<dyn Connector>,
    options: Options,
    /// Passwords, held in memory only; the journal never sees them.
    credentials: Mutex<HashMap<RemoteId, Credentials>>,
    /// One client (and so one connection pool) per remote folder and rate limits: a pair
    /// whose limits change gets a client with its new limits.
    open: Mutex<HashMap<(String, Limits), Arc<dyn Remote>>>,
}

/// A pair's rate limits, which its client applies to all its transfers together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(super) struct Limits {
    pub(super) upload: Option<NonZeroU64>,
    pub(super) download: Option<NonZeroU64>,
}

impl Limits {
    pub(super) fn of(pair: &crate::model::Pair) -> Limits {
        Limits {
            upload: pair.settings.upload_limit,
            download: pair.settings.download_limit,
        }
    }
}

impl Clients {
    pub(super) fn new(connector: Arc<dyn Connector>, options: Options) -> Clients {
        Clients {
            connector,
            options,
            credentials: Mutex::new(HashMap::new()),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps `credentials` for `remote`; clients opened with the old ones are dropped.
    pub(super) fn set_credentials(&self, remote: RemoteId, credentials: Credentials) {
        lock(&self.credentials).insert(remote, credentials);
        self.close_all();
    }

    pub(super) fn credentials(&self, remote: RemoteId) -> Option<Credentials> {
        lock(&self.credentials).get(&remote).cloned()
    }

    /// Forgets `remote`'s password and every open client.
    pub(super) fn forget(&self, remote: RemoteId) {
        lock(&self.credentials).remove(&remote);
        self.close_all();
    }

    /// Drops every open client and its pool (on suspend, or when a remote changed).
    pub(super) fn close_all(&self) {
        lock(&self.open).clear();
    }

    /// The options a client gets: plain HTTP only where the user allowed it, and only the
    /// pinned certificate where the user trusted one.
    pub(super) fn options_for(
        &self,
        allow_http: bool,
        pin_sha256: Option<&str>,
    ) -> Result<Options, tidesync_webdav::Error> {
        let mut options = Options {
            allow_http: allow_http || self.options.allow_http,
            ..self.options.clone()
        };
        if let Some(pin) = pin_sha256 {
            options.tls.pinned_sha256 = Some(parse_fingerprint(pin)?);
        }
        Ok(options)
    }

    /// The open client for `folder` on `remote` with `limits`, opened if there is none.
    pub(super) fn client(
        &self,
        remote: &RemoteRecord,
        folder: &str,
        limits: Limits,
    ) -> Result<Arc<dyn Remote>, tidesync_webdav::Error> {
        let key = (join_url(&remote.url, folder), limits);
        if let Some(client) = lock(&self.open).get(&key).cloned() {
            return Ok(client);
        }
        let client = self.open_client(remote, &key.0, limits)?;
        lock(&self.open).insert(key, client.clone());
        Ok(client)
    }

    /// A client of its own for `folder_url` (a one-off check), not kept.
    pub(super) fn connect(
        &self,
        remote: &RemoteRecord,
        folder_url: &str,
    ) -> Result<Arc<dyn Remote>, tidesync_webdav::Error> {
        self.open_client(remote, folder_url, Limits::default())
    }

    fn open_client(
        &self,
        remote: &RemoteRecord,
        folder_url: &str,
        limits: Limits,
    ) -> Result<Arc<dyn Remote>, tidesync_webdav::Error> {
        let mut options = self.options_for(remote.allow_http, remote.pin_sha256.as_deref())?;
        options.upload_limit = limits.upload.map(RateLimit::new);
        options.download_limit = limits.download.map(RateLimit::new);
        remote.hints.seed(&mut options.quirks);
        self.connector
            .connect(remote, folder_url, self.credentials(remote.id), options)
    }
}

/// `base` joined with a pair's remote folder, ending with `/`.
pub(super) fn join_url(base: &str, folder: &str) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    for segment in folder.split('/').filter(|s| !s.is_empty()) {
        url.push('/');
        url.extend(utf8_percent_encode(segment, NON_ALPHANUMERIC));
    }
    url.push('/');
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_urls_encode_their_folder() {
        assert_eq!(join_url("http://h/dav/", ""), "http://h/dav/");
        assert_eq!(
            join_url("http://h/dav", "a b/été"),
            "http://h/dav/a%20b/%C3%A9t%C3%A9/"
        );
    }
}
