//! The catalogue: the remotes (servers) and pairs (a remote folder with a local one) the
//! journal keeps, and the checks that let only a working server in.

use std::path::Path;

use tidesync_webdav::{
    Client, Credentials, Depth, EntryKind, Listing, RemotePath, ServerKind, presented_certificate,
};

use super::connect::join_url;
use super::{Engine, EngineError};
use crate::model::Remote as RemoteRecord;
use crate::model::{Mode, Pair, PairId, PairSettings, PlainHttp, RemoteId};

impl Engine {
    /// Keeps `credentials` for `remote` in memory for the jobs that need them.
    pub fn set_credentials(&self, remote: RemoteId, credentials: Credentials) {
        self.inner.clients.set_credentials(remote, credentials);
    }

    /// Adds a remote (no secret) and returns its id.
    pub async fn add_remote(
        &self,
        name: &str,
        url: &str,
        user: Option<&str>,
        http: PlainHttp,
    ) -> Result<RemoteId, EngineError> {
        let (name, url, user) = (name.to_owned(), url.to_owned(), user.map(str::to_owned));
        Ok(self
            .inner
            .journal
            .call(move |j| j.add_remote(&name, &url, user.as_deref(), http.is_allowed()))
            .await?)
    }

    /// The remote at `url` for `user`, added if new (the CLI identifies remotes this way).
    pub async fn ensure_remote(
        &self,
        url: &str,
        user: Option<&str>,
        http: PlainHttp,
    ) -> Result<RemoteId, EngineError> {
        let (wanted_url, wanted_user) = (url.to_owned(), user.map(str::to_owned));
        let known = self
            .inner
            .journal
            .call(move |j| {
                Ok(j.remotes()?
                    .into_iter()
                    .find(|r| r.url == wanted_url && r.user == wanted_user)
                    .map(|r| r.id))
            })
            .await?;
        match known {
            Some(id) => Ok(id),
            None => self.add_remote(url, url, user, http).await,
        }
    }

    /// The embedded demo remote, added (as `name`) if new, and pointed at `url` if it moved:
    /// it listens on a new port every time, its files stay the same. It is found by its demo
    /// mark, never by its name, so a user's own server called the same is left alone.
    pub async fn ensure_demo_remote(
        &self,
        name: &str,
        url: &str,
        http: PlainHttp,
    ) -> Result<RemoteId, EngineError> {
        let new_url = url.to_owned();
        let known = self
            .inner
            .journal
            .call(move |j| {
                let found = j.demo_remote()?;
                if let Some(remote) = &found
                    && remote.url != new_url
                {
                    j.set_remote_url(remote.id, &new_url)?;
                }
                Ok(found.map(|r| r.id))
            })
            .await?;
        match known {
            Some(id) => {
                self.inner.clients.close_all();
                Ok(id)
            }
            None => {
                let id = self.add_remote(name, url, None, http).await?;
                self.inner.journal.call(move |j| j.mark_demo(id)).await?;
                Ok(id)
            }
        }
    }

    /// The pair of `remote_path` on `remote` with `local_dir`, created if new.
    pub async fn ensure_pair(
        &self,
        remote: RemoteId,
        remote_path: &str,
        local_dir: &Path,
        mode: Mode,
    ) -> Result<PairId, EngineError> {
        let remote_path = tidesync_webdav::RemotePath::parse(remote_path)
            .map_err(|e| EngineError::RemotePath(remote_path.to_owned(), e))?
            .as_str()
            .to_owned();
        let local_dir = local_dir.to_owned();
        Ok(self
            .inner
            .journal
            .call(move |j| j.ensure_pair(remote, &remote_path, &local_dir, mode))
            .await?)
    }

    /// Checks that `url` is a WebDAV folder these credentials may read (one PROPFIND), so a
    /// remote is saved only once it works. Returns the server product, when recognisable.
    /// With `pin_sha256`, exactly that certificate is trusted. A refused certificate comes
    /// back with what it says ([`EngineError::UntrustedCertificate`]), for the user to judge.
    pub async fn check_remote(
        &self,
        url: &str,
        credentials: Option<Credentials>,
        http: PlainHttp,
        pin_sha256: Option<&str>,
    ) -> Result<Option<ServerKind>, EngineError> {
        let options = self
            .inner
            .clients
            .options_for(http.is_allowed(), pin_sha256)?;
        let timeout = options.connect_timeout;
        let client = Client::new(url, credentials, options)?;
        match client.list(&RemotePath::root(), Depth::Zero).await {
            Ok(listing) => {
                is_folder(&listing, url)?;
                Ok(client.quirks().server)
            }
            Err(tidesync_webdav::Error::Certificate { message, .. }) => {
                let certificate = presented_certificate(client.base(), timeout).await?;
                Err(EngineError::UntrustedCertificate {
                    reason: message,
                    certificate: Box::new(certificate),
                })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Records the server product a connection test recognised, for display.
    pub async fn set_server_kind(
        &self,
        remote: RemoteId,
        kind: Option<ServerKind>,
    ) -> Result<(), EngineError> {
        let kind = kind.map(ServerKind::name);
        Ok(self
            .inner
            .journal
            .call(move |j| j.set_server_kind(remote, kind))
            .await?)
    }

    /// Checks that `folder` is a folder on `remote`, with the remote's credentials.
    pub async fn check_folder(&self, remote: RemoteId, folder: &str) -> Result<(), EngineError> {
        let path =
            RemotePath::parse(folder).map_err(|e| EngineError::RemotePath(folder.to_owned(), e))?;
        let record = self.remote(remote).await?;
        let url = join_url(&record.url, path.as_str());
        let client = self.inner.clients.connect(&record, &url)?;
        is_folder(&client.list(&RemotePath::root(), Depth::Zero).await?, &url)
    }

    /// One remote, as saved.
    pub async fn remote(&self, id: RemoteId) -> Result<RemoteRecord, EngineError> {
        self.inner
            .journal
            .call(move |j| j.remote(id))
            .await?
            .ok_or(EngineError::NoRemote(id))
    }

    /// One pair, as saved.
    pub async fn pair(&self, id: PairId) -> Result<Pair, EngineError> {
        self.inner
            .journal
            .call(move |j| j.pair(id))
            .await?
            .ok_or(EngineError::NoPair(id))
    }

    pub async fn remotes(&self) -> Result<Vec<RemoteRecord>, EngineError> {
        Ok(self.inner.journal.call(|j| j.remotes()).await?)
    }

    pub async fn pairs(&self) -> Result<Vec<Pair>, EngineError> {
        Ok(self.inner.journal.call(|j| j.pairs()).await?)
    }

    /// Renames a remote or points it at a new address or user; the next run connects afresh.
    pub async fn update_remote(
        &self,
        id: RemoteId,
        name: &str,
        url: &str,
        user: Option<&str>,
    ) -> Result<(), EngineError> {
        let (name, url, user) = (name.to_owned(), url.to_owned(), user.map(str::to_owned));
        let found = self
            .inner
            .journal
            .call(move |j| j.update_remote(id, &name, &url, user.as_deref()))
            .await?;
        self.inner.clients.close_all();
        found.then_some(()).ok_or(EngineError::NoRemote(id))
    }

    /// Forgets a remote, its pairs and its password (in memory and in the password store).
    /// Refused while one of its pairs syncs. On Nextcloud and ownCloud the app password is
    /// revoked on the server first, so the removed server keeps no way in from this device.
    pub async fn remove_remote(&self, id: RemoteId) -> Result<(), EngineError> {
        let pairs: Vec<PairId> = self
            .pairs()
            .await?
            .into_iter()
            .filter(|p| p.remote_id == id)
            .map(|p| p.id)
            .collect();
        if pairs.iter().any(|&p| self.is_syncing(p)) {
            return Err(EngineError::Busy("remote"));
        }
        self.revoke_app_password(id).await;
        let found = self
            .inner
            .journal
            .call(move |j| j.remove_remote(id))
            .await?;
        self.inner.clients.forget(id);
        self.passwords(move |s| s.forget(id)).await?;
        found.then_some(()).ok_or(EngineError::NoRemote(id))
    }

    /// Deletes the app password of `remote` on a Nextcloud or ownCloud server. Nextcloud's
    /// documentation says to remove the account whatever the answer, so a failure (the server
    /// is gone, the password was an account password) is logged, not returned.
    async fn revoke_app_password(&self, id: RemoteId) {
        let Ok(remote) = self.remote(id).await else {
            return;
        };
        let is_nextcloud = matches!(
            remote.server_kind.as_deref(),
            Some("Nextcloud" | "ownCloud")
        );
        let Some(credentials) = self.inner.clients.credentials(id).filter(|_| is_nextcloud) else {
            return;
        };
        let revoked = async {
            let options = self
                .inner
                .clients
                .options_for(remote.allow_http, remote.pin_sha256.as_deref())?;
            let timeout = options.connect_timeout;
            let client = Client::new(&remote.url, Some(credentials), options)?;
            tokio::time::timeout(timeout, client.revoke_app_password())
                .await
                .unwrap_or(Ok(()))
        };
        if let Err(error) = revoked.await {
            tracing::warn!(remote = %id, %error, "the app password could not be revoked");
        }
    }

    /// Sets a pair's mode and settings. What the journal knows of its files is kept, so the
    /// next run goes on from the last one; a run under way keeps the settings it started
    /// with. Automatic sync starts or stops at once.
    pub async fn update_pair(
        &self,
        id: PairId,
        mode: Mode,
        settings: PairSettings,
    ) -> Result<Pair, EngineError> {
        if let Some(invalid) = settings.invalid() {
            return Err(invalid.into());
        }
        let found = self
            .inner
            .journal
            .call(move |j| j.update_pair(id, mode, &settings))
            .await?;
        if !found {
            return Err(EngineError::NoPair(id));
        }
        let pair = self.pair(id).await?;
        self.reconfigure_auto(&pair);
        Ok(pair)
    }

    /// Forgets a pair and its sync state; its files stay where they are. Refused while it syncs.
    pub async fn remove_pair(&self, id: PairId) -> Result<(), EngineError> {
        if self.is_syncing(id) {
            return Err(EngineError::Busy("pair"));
        }
        self.stop_auto(id);
        let found = self.inner.journal.call(move |j| j.remove_pair(id)).await?;
        found.then_some(()).ok_or(EngineError::NoPair(id))
    }
}

/// A Depth-0 listing of a folder names a folder first; of a file, the file.
fn is_folder(listing: &Listing, url: &str) -> Result<(), EngineError> {
    match listing.entries.first() {
        Some(entry) if entry.kind == EntryKind::File => {
            Err(EngineError::NotAFolder(url.to_owned()))
        }
        _ => Ok(()),
    }
}
