//! A server's folders, one level at a time, for a person choosing which folder to pair or
//! which to sync: names, kinds and sizes (a folder's where the server reports it), and a new
//! folder made on the spot.

use tidesync_webdav::{EntryKind, RemotePath};

use super::connect::Limits;
use super::{Engine, EngineError};
use crate::model::{RemoteId, is_internal_path};

/// One item of a browsed folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Browsed {
    pub name: String,
    /// Its path on the server, from the remote's address (as a pair's `remote_path`).
    pub path: String,
    pub is_dir: bool,
    /// A file's size; a folder's where the server reports it (Nextcloud, ownCloud).
    pub size: Option<u64>,
}

impl Engine {
    /// What `folder` (a path from `remote`'s address; `""` for its top) holds: folders first,
    /// then files, each by name without letter case. Tidesync's own items are left out.
    pub async fn browse(
        &self,
        remote: RemoteId,
        folder: &str,
    ) -> Result<Vec<Browsed>, EngineError> {
        let path = parse(folder)?;
        let record = self.remote(remote).await?;
        let client = self.inner.clients.client(&record, "", Limits::default())?;
        let listing = client.browse(&path).await?;
        let mut items: Vec<Browsed> = listing
            .entries
            .into_iter()
            .filter(|e| e.path != path && !is_internal_path(e.path.as_str()))
            .map(|e| {
                let is_dir = e.kind == EntryKind::Folder;
                Browsed {
                    name: e.path.name().unwrap_or_default().to_owned(),
                    path: e.path.as_str().to_owned(),
                    is_dir,
                    size: if is_dir { e.used_bytes } else { Some(e.size) },
                }
            })
            .collect();
        items.sort_by_cached_key(|item| (!item.is_dir, item.name.to_lowercase()));
        Ok(items)
    }

    /// Makes the folder `folder` on `remote` (its parent must exist).
    pub async fn make_remote_folder(
        &self,
        remote: RemoteId,
        folder: &str,
    ) -> Result<(), EngineError> {
        let path = parse(folder)?;
        if path.is_root() {
            return Err(EngineError::RemotePath(
                folder.to_owned(),
                tidesync_webdav::HrefError::EmptyName,
            ));
        }
        let record = self.remote(remote).await?;
        let client = self.inner.clients.client(&record, "", Limits::default())?;
        client.mkcol(&path).await?;
        Ok(())
    }
}

fn parse(folder: &str) -> Result<RemotePath, EngineError> {
    let trimmed = folder.trim().trim_matches('/');
    RemotePath::parse(trimmed).map_err(|e| EngineError::RemotePath(folder.to_owned(), e))
}
