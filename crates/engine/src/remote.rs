//! What the engine needs from a server, as a trait: the WebDAV client is the real one, and
//! `crate::memory::MemoryRemote` (feature `test-support`) an in-memory server for fast tests
//! of the engine's logic.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use tidesync_webdav::{
    Abilities, BulkFile, BulkResult, ChunksSent, Client, Depth, Download, Entry, EntryKind, Error,
    Found, Listing, Mkcol, Overwrite, Precondition, Recorded, RemotePath, SentBytes, Uploaded,
};

use crate::model::ServerHints;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A download's answer: whether it honoured the range, its version, then its body.
pub trait Body: Send {
    /// True when the body starts at the requested offset (206), false when it is the whole
    /// file (200).
    fn is_partial(&self) -> bool;
    fn etag(&self) -> Option<&str>;
    /// The next chunk, `None` at the end. Cancel-safe.
    fn chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, Error>>;
}

/// The operations a sync performs on a server.
pub trait Remote: Send + Sync + 'static {
    fn list<'a>(
        &'a self,
        path: &'a RemotePath,
        depth: Depth,
    ) -> BoxFuture<'a, Result<Listing, Error>>;
    /// Like [`list`](Remote::list), telling `found` each folder's entries as they arrive where
    /// the listing is a walk (see [`Found`]). By default nothing is reported early.
    fn list_reporting<'a>(
        &'a self,
        path: &'a RemotePath,
        depth: Depth,
        found: Found<'a>,
    ) -> BoxFuture<'a, Result<Listing, Error>> {
        let _ = found;
        self.list(path, depth)
    }
    /// Everything below `root`, asking only for folders whose ETag differs from the one
    /// `recorded` knows, where the server's folder ETags follow what changes below them (see
    /// `Client::list_pruned`). By default, a whole listing.
    fn list_pruned<'a>(
        &'a self,
        root: &'a RemotePath,
        found: Found<'a>,
        recorded: Recorded<'a>,
    ) -> BoxFuture<'a, Result<Listing, Error>> {
        let _ = recorded;
        self.list_reporting(root, Depth::Infinity, found)
    }
    /// Records what a comparison of two listings showed: whether folder ETags followed what
    /// changed below them. A remote that never prunes its listings ignores it.
    fn saw_folder_etags_follow(&self, _follows: bool) {}
    /// What the server says of the item at `path` (a file's URL has no trailing slash, a
    /// folder's has one), `None` if nothing is there.
    fn stat<'a>(
        &'a self,
        path: &'a RemotePath,
        kind: EntryKind,
    ) -> BoxFuture<'a, Result<Option<Entry>, Error>>;
    /// The bytes of `path` from `from` up to `end` (exclusive; the end of the file if `None`),
    /// only if still version `if_range`; otherwise the whole current file.
    fn get<'a>(
        &'a self,
        path: &'a RemotePath,
        from: u64,
        end: Option<u64>,
        if_range: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Box<dyn Body>, Error>>;
    /// Uploads `local`; `sent` hears how much of it has gone out, as it goes.
    fn put_file<'a>(
        &'a self,
        path: &'a RemotePath,
        local: &'a Path,
        precondition: &'a Precondition,
        mtime: Option<SystemTime>,
        sent: SentBytes,
    ) -> BoxFuture<'a, Result<Uploaded, Error>>;
    /// Uploads `data`, read beforehand, in one request.
    fn put_bytes<'a>(
        &'a self,
        path: &'a RemotePath,
        data: Bytes,
        precondition: &'a Precondition,
        mtime: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Uploaded, Error>>;
    /// What the server offers beyond WebDAV, learnt once; `probe` is a hidden name the sync
    /// ignores, written and deleted to test preconditions.
    fn abilities<'a>(&'a self, probe: &'a RemotePath) -> BoxFuture<'a, Result<Abilities, Error>>;
    /// Sends the chunks of `local` missing from the upload folder `upload_id`; returns the
    /// file's length (and checksum, where the server stores one). Only where
    /// [`Abilities::chunking`] says so.
    fn put_chunks<'a>(
        &'a self,
        path: &'a RemotePath,
        local: &'a Path,
        upload_id: &'a str,
        chunk_size: u64,
        sent: SentBytes,
    ) -> BoxFuture<'a, Result<ChunksSent, Error>>;
    /// Assembles the upload folder `upload_id` into `path`; `local` is the file it came from.
    fn assemble_chunks<'a>(
        &'a self,
        path: &'a RemotePath,
        local: &'a Path,
        upload_id: &'a str,
        sent: &'a ChunksSent,
        precondition: &'a Precondition,
        mtime: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Uploaded, Error>>;
    /// Deletes the upload folder `upload_id` and its chunks.
    fn abort_chunked<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<(), Error>>;
    /// Uploads `files` in one request (no precondition is checked); one result per file.
    /// Only where [`Abilities::bulk_upload`] says so.
    fn put_bulk<'a>(
        &'a self,
        files: &'a [BulkFile],
    ) -> BoxFuture<'a, Result<Vec<BulkResult>, Error>>;
    fn mkcol<'a>(&'a self, path: &'a RemotePath) -> BoxFuture<'a, Result<Mkcol, Error>>;
    /// What the client learnt about the server that is worth keeping between processes. A
    /// remote that learns nothing (the in-memory one) has no hints.
    fn hints(&self) -> ServerHints {
        ServerHints::default()
    }
    /// Whether a moved file keeps the ETag its upload answered, once an upload compared them
    /// (see `tidesync_webdav::Quirks::move_keeps_etag`). `None` here: always ask.
    fn move_keeps_etag(&self) -> Option<bool> {
        None
    }
    /// Records what an upload saw: whether the moved file kept its `PUT`'s ETag.
    fn saw_move_keep_etag(&self, _kept: bool) {}
    fn delete<'a>(
        &'a self,
        path: &'a RemotePath,
        kind: EntryKind,
        if_match: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// How many answers so far said the server is overloaded (429, 503), retried ones
    /// included (see `Client::overloads`); a server that never says so: 0.
    fn overloads(&self) -> u64 {
        0
    }
    /// Whether requests share one multiplexed connection (the server answered over HTTP/2),
    /// so more of them in flight cost no new connections.
    fn multiplexes(&self) -> bool {
        false
    }
    /// What the folder `path` holds one level down, with each folder's size where the server
    /// reports it (see `Client::browse`): for a person choosing a folder. By default, a
    /// `Depth: 1` listing without folder sizes.
    fn browse<'a>(&'a self, path: &'a RemotePath) -> BoxFuture<'a, Result<Listing, Error>> {
        self.list(path, Depth::One)
    }
    /// Deletes a file of Tidesync's own (an upload's temp name) and any copy the server
    /// keeps of it in a trash bin: the user's deleted files are for the user's files.
    fn delete_own<'a>(&'a self, path: &'a RemotePath) -> BoxFuture<'a, Result<(), Error>>;
    fn move_to<'a>(
        &'a self,
        from: &'a RemotePath,
        to: &'a RemotePath,
        kind: EntryKind,
        overwrite: Overwrite,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

impl Body for Download {
    fn is_partial(&self) -> bool {
        Download::is_partial(self)
    }

    fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    fn chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, Error>> {
        Box::pin(Download::chunk(self))
    }
}

impl Remote for Client {
    fn list<'a>(
        &'a self,
        path: &'a RemotePath,
        depth: Depth,
    ) -> BoxFuture<'a, Result<Listing, Error>> {
        Box::pin(Client::list(self, path, depth))
    }

    fn list_reporting<'a>(
        &'a self,
        path: &'a RemotePath,
        depth: Depth,
        found: Found<'a>,
    ) -> BoxFuture<'a, Result<Listing, Error>> {
        Box::pin(Client::list_reporting(self, path, depth, found))
    }

    fn stat<'a>(
        &'a self,
        path: &'a RemotePath,
        kind: EntryKind,
    ) -> BoxFuture<'a, Result<Option<Entry>, Error>> {
        Box::pin(Client::stat(self, path, kind))
    }

    fn get<'a>(
        &'a self,
        path: &'a RemotePath,
        from: u64,
        end: Option<u64>,
        if_range: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Box<dyn Body>, Error>> {
        Box::pin(async move {
            let download = Client::get_range(self, path, from, end, if_range).await?;
            Ok(Box::new(download) as Box<dyn Body>)
        })
    }

    fn put_file<'a>(
        &'a self,
        path: &'a RemotePath,
        local: &'a Path,
        precondition: &'a Precondition,
        mtime: Option<SystemTime>,
        sent: SentBytes,
    ) -> BoxFuture<'a, Result<Uploaded, Error>> {
        Box::pin(Client::put_file_reporting(
            self,
            path,
            local,
            precondition,
            mtime,
            sent,
        ))
    }

    fn put_bytes<'a>(
        &'a self,
        path: &'a RemotePath,
        data: Bytes,
        precondition: &'a Precondition,
        mtime: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Uploaded, Error>> {
        Box::pin(Client::put_bytes(self, path, data, precondition, mtime))
    }

    fn abilities<'a>(&'a self, probe: &'a RemotePath) -> BoxFuture<'a, Result<Abilities, Error>> {
        Box::pin(Client::abilities(self, probe))
    }

    fn put_chunks<'a>(
        &'a self,
        path: &'a RemotePath,
        local: &'a Path,
        upload_id: &'a str,
        chunk_size: u64,
        sent: SentBytes,
    ) -> BoxFuture<'a, Result<ChunksSent, Error>> {
        Box::pin(Client::put_chunks(
            self, path, local, upload_id, chunk_size, sent,
        ))
    }

    fn assemble_chunks<'a>(
        &'a self,
        path: &'a RemotePath,
        local: &'a Path,
        upload_id: &'a str,
        sent: &'a ChunksSent,
        precondition: &'a Precondition,
        mtime: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Uploaded, Error>> {
        Box::pin(Client::assemble_chunks(
            self,
            path,
            local,
            upload_id,
            sent,
            precondition,
            mtime,
        ))
    }

    fn abort_chunked<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Client::abort_chunked(self, upload_id))
    }

    fn put_bulk<'a>(
        &'a self,
        files: &'a [BulkFile],
    ) -> BoxFuture<'a, Result<Vec<BulkResult>, Error>> {
        Box::pin(Client::put_bulk(self, files))
    }

    fn hints(&self) -> ServerHints {
        ServerHints::of(&self.quirks())
    }

    fn move_keeps_etag(&self) -> Option<bool> {
        self.quirks().move_keeps_etag
    }

    fn saw_move_keep_etag(&self, kept: bool) {
        Client::saw_move_keep_etag(self, kept);
    }

    fn list_pruned<'a>(
        &'a self,
        root: &'a RemotePath,
        found: Found<'a>,
        recorded: Recorded<'a>,
    ) -> BoxFuture<'a, Result<Listing, Error>> {
        Box::pin(Client::list_pruned(self, root, found, recorded))
    }

    fn saw_folder_etags_follow(&self, follows: bool) {
        Client::saw_folder_etags_follow(self, follows);
    }

    fn mkcol<'a>(&'a self, path: &'a RemotePath) -> BoxFuture<'a, Result<Mkcol, Error>> {
        Box::pin(Client::mkcol(self, path))
    }

    fn delete<'a>(
        &'a self,
        path: &'a RemotePath,
        kind: EntryKind,
        if_match: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Client::delete(self, path, kind, if_match))
    }

    fn browse<'a>(&'a self, path: &'a RemotePath) -> BoxFuture<'a, Result<Listing, Error>> {
        Box::pin(Client::browse(self, path))
    }

    fn multiplexes(&self) -> bool {
        self.quirks().http2 == Some(true)
    }

    fn overloads(&self) -> u64 {
        Client::overloads(self)
    }

    fn delete_own<'a>(&'a self, path: &'a RemotePath) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Client::delete_own(self, path))
    }

    fn move_to<'a>(
        &'a self,
        from: &'a RemotePath,
        to: &'a RemotePath,
        kind: EntryKind,
        overwrite: Overwrite,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Client::move_to(self, from, to, kind, overwrite, None))
    }
}
