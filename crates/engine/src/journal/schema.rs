//! The journal's schema, as the migrations that build it.

/// Schema changes, applied in order; the journal records how many it has applied.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE remotes (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    username    TEXT,
    allow_http  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE pairs (
    id          INTEGER PRIMARY KEY,
    remote_id   INTEGER NOT NULL REFERENCES remotes(id) ON DELETE CASCADE,
    remote_path TEXT NOT NULL,
    local_dir   TEXT NOT NULL,
    mode        TEXT NOT NULL,
    UNIQUE (remote_id, remote_path, local_dir)
);
-- The last state both sides agreed on, per path: what "changed since the last sync" means.
CREATE TABLE entries (
    pair_id      INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    is_dir       INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    local_mtime  INTEGER,
    etag         TEXT,
    remote_mtime INTEGER,
    PRIMARY KEY (pair_id, path)
);
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY,
    pair_id    INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    summary    TEXT,
    error      TEXT
);
-- Downloads in flight: the part file holds `offset` bytes of the remote version `etag`.
CREATE TABLE downloads (
    pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    etag    TEXT,
    size    INTEGER NOT NULL,
    offset  INTEGER NOT NULL,
    PRIMARY KEY (pair_id, path)
);
"#,
    r#"
-- What kind of server answered the connection test (Nextcloud, Apache, ...), for display.
ALTER TABLE remotes ADD COLUMN server_kind TEXT;
"#,
    r#"
-- Uploads in flight: the hidden temp name on the server, recorded before its PUT, so a run
-- after a crash or a failed cleanup deletes what an earlier one left.
CREATE TABLE uploads (
    pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    temp    TEXT NOT NULL,
    PRIMARY KEY (pair_id, temp)
);
"#,
    r#"
-- Identities a move keeps, to carry renames over as moves: the local file's inode and the
-- server's file id (ownCloud/Nextcloud oc:fileid).
ALTER TABLE entries ADD COLUMN local_inode INTEGER;
ALTER TABLE entries ADD COLUMN file_id TEXT;
"#,
    r#"
-- The embedded demo remote, marked as such: found by this flag, never by its name, so a
-- user's own server with the same name is never repointed to the demo server.
ALTER TABLE remotes ADD COLUMN is_demo INTEGER NOT NULL DEFAULT 0;
-- Before the mark, the demo remote was the one with its name on this machine's loopback.
UPDATE remotes SET is_demo = 1
 WHERE name LIKE 'Demo remote%' AND url LIKE 'http://127.0.0.1:%';
"#,
    r#"
-- The certificate the user chose to trust for this server (a self-signed one), by its
-- SHA-256 fingerprint: exactly that certificate is accepted, and no other.
ALTER TABLE remotes ADD COLUMN pin_sha256 TEXT;
"#,
    r#"
-- Chunked uploads in flight (Nextcloud's chunked upload v2): the upload folder on the server,
-- named from the file's identity so a later run resumes it, and deleted by the first run
-- that no longer needs it.
CREATE TABLE chunked_uploads (
    pair_id   INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    upload_id TEXT NOT NULL,
    PRIMARY KEY (pair_id, upload_id)
);
"#,
    r#"
-- Each pair's settings beside its mode: automatic sync, how often the server is checked
-- (seconds), files at once (NULL: the engine's default), rate limits (bytes a second, NULL:
-- none).
ALTER TABLE pairs ADD COLUMN auto_sync INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pairs ADD COLUMN check_every INTEGER NOT NULL DEFAULT 300;
ALTER TABLE pairs ADD COLUMN transfers INTEGER;
ALTER TABLE pairs ADD COLUMN upload_limit INTEGER;
ALTER TABLE pairs ADD COLUMN download_limit INTEGER;
"#,
    r#"
-- What listings taught about the server (see `model::ServerHints`): NULL until learnt.
ALTER TABLE remotes ADD COLUMN refuses_depth_infinity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE remotes ADD COLUMN owncloud_properties INTEGER;
"#,
    r#"
-- What a setup proved at the server's version (see `tidesync_webdav::Proven`): NULL version
-- until proven.
ALTER TABLE remotes ADD COLUMN proven_version TEXT;
ALTER TABLE remotes ADD COLUMN proven_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE remotes ADD COLUMN proven_preconditions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE remotes ADD COLUMN proven_refuses_bulk INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- The local folder each pair synced (see `crate::root`): the token its marker file holds, and
-- the device and inode it had, so a missing, unmounted or replaced folder is never taken for
-- a folder whose files were deleted.
CREATE TABLE local_roots (
    pair_id INTEGER PRIMARY KEY REFERENCES pairs(id) ON DELETE CASCADE,
    token   TEXT NOT NULL,
    device  INTEGER,
    inode   INTEGER
);
"#,
    r#"
-- How long and how much each pair's local trash keeps (see `crate::trash`): NULL for the
-- defaults.
ALTER TABLE pairs ADD COLUMN trash_days INTEGER;
ALTER TABLE pairs ADD COLUMN trash_bytes INTEGER;
"#,
    r#"
-- Where a pair moves what its syncs delete on the server (see `PairSettings::server_backup`):
-- NULL deletes.
ALTER TABLE pairs ADD COLUMN server_backup TEXT;
"#,
    r#"
-- What each pair leaves out of its sync (`crate::filter::Excludes` as JSON): NULL for the
-- defaults.
ALTER TABLE pairs ADD COLUMN excludes TEXT;
-- What each pair's last survey left out, for the pair screen (see `journal::left_out`).
CREATE TABLE ignored (
    pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    side    TEXT NOT NULL,
    is_dir  INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    reason  TEXT NOT NULL,
    PRIMARY KEY (pair_id, path)
);
"#,
    r#"
-- New server folders larger than a pair's limit that the user said yes to, until synced
-- (see `journal::answers`).
CREATE TABLE approved_folders (
    pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    PRIMARY KEY (pair_id, path)
);
"#,
    r#"
-- Files a pair could not sync, and when automatic sync tries each again (NULL: when it
-- changes); see `journal::failures`.
CREATE TABLE failures (
    pair_id  INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path     TEXT NOT NULL,
    message  TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    retry_at INTEGER,
    PRIMARY KEY (pair_id, path)
);
"#,
    r#"
-- The server's tree as a pair's last listing saw it, on servers whose folder ETags follow
-- every change below them (see `journal::listed`): a folder whose ETag is the one recorded
-- is not listed again. `modified` is in nanoseconds since the epoch, `checksums` the
-- server's, separated by spaces.
CREATE TABLE listed (
    pair_id     INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    is_dir      INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    etag        TEXT,
    modified    INTEGER,
    checksums   TEXT NOT NULL,
    file_id     TEXT,
    permissions TEXT,
    PRIMARY KEY (pair_id, path)
) WITHOUT ROWID;
-- Whether the server's folder ETags follow changes below them (see
-- `tidesync_webdav::Quirks::folder_etags_follow`): NULL until a comparison told.
ALTER TABLE remotes ADD COLUMN folder_etags_follow INTEGER;
"#,
];
