//! What Nextcloud and ownCloud offer beyond WebDAV, learnt from the server itself: `status.php`
//! says what it is, the OCS capabilities what it announces (chunked and bulk upload), and a
//! probe whether its `PUT` honours preconditions. A server whose WebDAV address is not under
//! `remote.php/` is asked one `OPTIONS` only, which tells Apache's mod_dav_fs (see `apache`),
//! the other server whose `PUT` is atomic; every other one gets the generic path.

use reqwest::Method;
use reqwest::header::ACCEPT;
use serde_json::Value;
use url::Url;

use super::{Client, Precondition};
use crate::error::Error;
use crate::path::RemotePath;
use crate::quirks::{Abilities, Chunking, Proven, ServerKind};

/// Where a Nextcloud-shaped WebDAV address puts things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// The server's own root, where `status.php` and `ocs/` live.
    pub root: Url,
    /// The account's files root, `…/remote.php/dav/files/<user>/`, when the address is one.
    pub files: Option<Url>,
    /// The user id of that files root.
    pub user: Option<String>,
}

impl Layout {
    /// The layout of `base`, if it is under `remote.php/`.
    pub(super) fn of(base: &Url) -> Option<Layout> {
        let path = base.path();
        let at = path.find("/remote.php/")?;
        let mut root = base.clone();
        root.set_path(&path[..=at]);
        let rest = &path[at + "/remote.php/".len()..];
        let user = rest
            .strip_prefix("dav/files/")
            .and_then(|r| r.split('/').next())
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        let files = user.as_ref().map(|u| {
            let mut files = root.clone();
            files.set_path(&format!("{}remote.php/dav/files/{u}/", root.path()));
            files
        });
        Some(Layout { root, files, user })
    }

    fn join(&self, tail: &str) -> Url {
        let mut url = self.root.clone();
        url.set_path(&format!("{}{tail}", self.root.path()));
        url
    }
}

impl Client {
    /// What the server offers beyond WebDAV, learnt once per client: transfers that ask at
    /// once wait for one setup. `probe` is a path the client may write and delete to test
    /// preconditions, a hidden name the sync ignores; it is written only when nothing was
    /// proven about the server's current version before ([`Quirks::proven`], which the engine
    /// keeps between processes).
    ///
    /// [`Quirks::proven`]: crate::Quirks::proven
    pub async fn abilities(&self, probe: &RemotePath) -> Result<Abilities, Error> {
        if let Some(known) = self.quirks().abilities {
            return Ok(known);
        }
        let _one_setup = self.inner.setup.lock().await;
        if let Some(known) = self.quirks().abilities {
            return Ok(known);
        }
        let Some(layout) = Layout::of(&self.inner.base) else {
            let atomic_put = match self.served_by_mod_dav_fs().await? {
                Some(version) => self.preconditions_at(&version, probe).await?,
                None => false,
            };
            let abilities = Abilities {
                atomic_put,
                ..Abilities::default()
            };
            self.learn(|q| q.abilities = Some(abilities.clone()));
            return Ok(abilities);
        };
        let Some((kind, version)) = self.server_status(&layout).await? else {
            // In maintenance, or not answering: nothing is concluded, the next upload asks again.
            return Ok(Abilities::default());
        };
        self.learn(|q| q.upgrade(kind));
        let announced = self.capabilities(&layout).await.unwrap_or(Value::Null);
        let dav = &announced["ocs"]["data"]["capabilities"]["dav"];
        let chunking = match (&layout.user, dav["chunking"].as_str()) {
            (Some(user), Some(_)) => Some(Chunking {
                uploads: layout.join(&format!("remote.php/dav/uploads/{user}/")),
                max_chunk_size: announced["ocs"]["data"]["capabilities"]["files"]["chunked_upload"]
                    ["max_size"]
                    .as_u64()
                    .filter(|&m| m > 0),
            }),
            _ => None,
        };
        let atomic_put = self.preconditions_at(&version, probe).await?;
        let refuses_bulk = self
            .quirks()
            .proven
            .is_some_and(|p| p.version == version && p.refuses_bulk);
        let bulk_upload =
            (layout.files.is_some() && dav["bulkupload"].as_str() == Some("1.0") && !refuses_bulk)
                .then(|| layout.join("remote.php/dav/bulk"));
        let abilities = Abilities {
            atomic_put,
            chunking,
            bulk_upload,
        };
        tracing::debug!(?kind, ?abilities, "learnt what the server offers");
        self.learn(|q| q.abilities = Some(abilities.clone()));
        Ok(abilities)
    }

    /// Whether the server's `PUT` honours preconditions: what was proven at `version` before,
    /// else the probe's answer, kept as proven at `version`.
    async fn preconditions_at(&self, version: &str, probe: &RemotePath) -> Result<bool, Error> {
        if let Some(proven) = self.quirks().proven.filter(|p| p.version == version) {
            tracing::debug!(
                version,
                at = proven.at,
                "preconditions proven before; no probe"
            );
            return Ok(proven.preconditions);
        }
        let honoured = self.proves_preconditions(probe).await?;
        self.learn(|q| q.proven = Some(Proven::now(version, honoured)));
        Ok(honoured)
    }

    /// `status.php`: Nextcloud or ownCloud, installed and not in maintenance, and its version.
    /// `None` when it is in maintenance or the answer says neither.
    async fn server_status(&self, layout: &Layout) -> Result<Option<(ServerKind, String)>, Error> {
        let url = layout.join("status.php");
        let answer = match self.send_url(&Method::GET, &url, "status.php", |r| r).await {
            Ok(answer) => answer,
            Err(error) if error.is_auth() => return Err(error),
            Err(error) => {
                tracing::debug!(%error, "no status.php: a generic WebDAV server");
                return Ok(None);
            }
        };
        let status = small_json(answer).await;
        if status["installed"] != Value::Bool(true) || status["maintenance"] != Value::Bool(false) {
            return Ok(None);
        }
        let product = status["productname"].as_str().unwrap_or_default();
        let kind = if product.contains("Nextcloud") {
            ServerKind::Nextcloud
        } else {
            ServerKind::OwnCloud
        };
        let version = status["version"].as_str().unwrap_or_default().to_owned();
        Ok(Some((kind, version)))
    }

    /// The OCS capabilities document, in JSON.
    async fn capabilities(&self, layout: &Layout) -> Result<Value, Error> {
        let mut url = layout.join("ocs/v2.php/cloud/capabilities");
        url.set_query(Some("format=json"));
        let answer = self
            .send_url(&Method::GET, &url, "capabilities", |r| {
                r.header("OCS-APIRequest", "true")
                    .header(ACCEPT, "application/json")
            })
            .await?;
        Ok(small_json(answer).await)
    }

    /// Writes `probe` three times: created with `If-None-Match: *`, then refused (412) with
    /// `If-None-Match: *` and with an `If-Match` that cannot hold; then deletes it. Only a
    /// server that refuses both honours preconditions.
    async fn proves_preconditions(&self, probe: &RemotePath) -> Result<bool, Error> {
        let data = bytes::Bytes::from_static(b"tidesync precondition probe\n");
        let create = |precondition: Precondition| {
            let data = data.clone();
            async move { self.put_bytes(probe, data, &precondition, None).await }
        };
        if let Err(error) = create(Precondition::Absent).await {
            tracing::debug!(%error, "the precondition probe could not be written");
            return if error.is_auth() {
                Err(error)
            } else {
                Ok(false)
            };
        }
        let exists = create(Precondition::Absent).await;
        let other = create(Precondition::Matches("\"tidesync-never-this\"".into())).await;
        if let Err(error) = self.delete_own(probe).await {
            tracing::debug!(%error, "the precondition probe stays on the server");
        }
        let refused = |r: &Result<_, Error>| r.as_ref().is_err_and(Error::is_precondition_failed);
        Ok(refused(&exists) && refused(&other))
    }
}

/// The largest JSON answer read: status and capabilities are a few KiB.
const JSON_LIMIT: usize = 1024 * 1024;

/// A small JSON answer, or `Null` when it is not JSON or larger than [`JSON_LIMIT`].
pub(super) async fn small_json(answer: reqwest::Response) -> Value {
    match body_up_to(answer, JSON_LIMIT).await {
        Ok((body, true)) => serde_json::from_slice(&body).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// An answer's body, read until it ends or passes `limit` bytes; whether it ended within it.
pub(super) async fn body_up_to(
    mut answer: reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Ok((body, false));
        }
    }
    Ok((body, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nextcloud_address_tells_where_its_endpoints_are() {
        let base = Url::parse("https://h/cloud/remote.php/dav/files/alice/Photos/").unwrap();
        let layout = Layout::of(&base).unwrap();
        assert_eq!(layout.root.as_str(), "https://h/cloud/");
        assert_eq!(layout.user.as_deref(), Some("alice"));
        assert_eq!(
            layout.files.unwrap().as_str(),
            "https://h/cloud/remote.php/dav/files/alice/"
        );
        let legacy = Layout::of(&Url::parse("https://h/remote.php/webdav/").unwrap()).unwrap();
        assert_eq!(legacy.root.as_str(), "https://h/");
        assert_eq!(legacy.user, None);
        assert_eq!(Layout::of(&Url::parse("https://h/dav/").unwrap()), None);
    }
}
