//! Chunked upload under `/remote.php/dav/uploads/<user>/`, as a Nextcloud on local storage
//! answers it: there `ChunkingV2Plugin::checkPrerequisites`
//! (`apps/dav/lib/Upload/ChunkingV2Plugin.php`) finds no `IChunkedFileWrite` storage (and often
//! no distributed cache) and steps aside, so the upload folder is a plain folder
//! (`apps/dav/lib/Upload/UploadFolder.php`): a chunk of any name and size is stored, a
//! `MKCOL` needs no `Destination`, and `MOVE …/.file` assembles the chunks in natural order of
//! their names (`FutureFile`, `AssemblyStream`).
//!
//! The assembly `MOVE` goes through Sabre first: `Server::checkPreconditions`
//! (`sabre-io/dav`, `lib/DAV/Server.php`) evaluates `If-Match` and `If-None-Match` against the
//! request's own URL — the `.file`, which exists — so `If-None-Match: *` is always 412, and the
//! WebDAV `If` header against the resource each list names (`If: <destination> (["etag"])`,
//! what Nextcloud's desktop client sends for a replace); then `getCopyAndMoveInfo` refuses
//! `Overwrite: F` onto an existing file (412) and a destination whose folder is missing (409).
//! `ChunkingPlugin::verifySize` refuses an `OC-Total-Length` that the chunks do not add up to
//! (400), and `QuotaPlugin` a chunk `PUT` whose `OC-Total-Length` exceeds the free space
//! (`beforeCreateFile`, 507 before the data) and an assembly that would (`beforeMove`).
//! Chunks cannot be downloaded; an upload folder expires after 24 hours without activity
//! (`apps/dav/lib/BackgroundJob/UploadCleanup.php`).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};

use super::dav::{http_date, if_header, sent_checksum};
use super::files::{Write, parent_of};
use super::{
    Answer, Asked, State, USER, destination_path, forbidden_name, reply, sabre_error, sent_mtime,
    uploaded_headers,
};

/// How long an upload folder lives without a request touching it.
pub const EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

/// An upload folder.
#[derive(Debug)]
pub(crate) struct Upload {
    /// Chunks by name, in the order the assembly reads them.
    chunks: BTreeMap<ChunkName, Bytes>,
    touched: SystemTime,
}

impl Upload {
    pub(crate) fn chunks(&self) -> usize {
        self.chunks.len()
    }
}

/// A chunk's name, ordered as PHP's `strnatcmp` orders them for the assembly: runs of digits
/// by their value, so `2` comes before `10` and `00002` before `00010`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChunkName(String);

impl Ord for ChunkName {
    fn cmp(&self, other: &Self) -> Ordering {
        natural(&self.0, &other.0)
    }
}

impl PartialOrd for ChunkName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (ra, rb) = (run(a), run(b));
                let strip = |s: &[u8]| {
                    let zeros = s.iter().take_while(|c| **c == b'0').count();
                    s[zeros..].to_vec()
                };
                let (na, nb) = (strip(&a[..ra]), strip(&b[..rb]));
                let by_value = na.len().cmp(&nb.len()).then_with(|| na.cmp(&nb));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (a, b) = (&a[ra..], &b[rb..]);
            }
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => (a, b) = (&a[1..], &b[1..]),
        }
    }
}

/// The upload a request under the uploads root names, and what below it.
fn split(path: &str) -> (&str, Option<&str>) {
    match path.split_once('/') {
        Some((id, rest)) => (id, Some(rest)),
        None => (path, None),
    }
}

/// A chunk whose upload would not fit in the quota, answered before its body is read
/// (`QuotaPlugin::beforeCreateFile`: a `PUT` into an upload folder with `Destination` is
/// checked against `OC-Total-Length`, not the chunk's own length).
pub(super) fn refuse_early(state: &State, asked: &Asked) -> Option<Answer> {
    let prefix = format!("/remote.php/dav/uploads/{USER}/");
    if asked.method != hyper::Method::PUT || !asked.path.starts_with(&prefix) {
        return None;
    }
    let total: u64 = asked.header("oc-total-length")?.trim().parse().ok()?;
    let destination = destination_path(asked)?;
    let free = state.free()?;
    (total > free).then(|| insufficient(&destination, total, free))
}

fn insufficient(path: &str, length: u64, free: u64) -> Answer {
    sabre_error(
        507,
        "Sabre\\DAV\\Exception\\InsufficientStorage",
        &format!("Insufficient space in /{path}, {length} required, {free} available"),
    )
}

pub(super) fn handle(state: &mut State, asked: &Asked, path: &str, body: Bytes) -> Answer {
    let now = state.now();
    state
        .uploads
        .retain(|_, u| now.duration_since(u.touched).unwrap_or_default() < EXPIRY);
    let (id, rest) = split(path);
    match (asked.method.as_str(), rest) {
        ("PROPFIND", None) => list(state, asked, id),
        ("MKCOL", None) if !id.is_empty() => {
            if state.uploads.contains_key(id) {
                return sabre_error(
                    405,
                    "Sabre\\DAV\\Exception\\MethodNotAllowed",
                    "The resource you tried to create already exists",
                );
            }
            state.uploads.insert(
                id.to_owned(),
                Upload {
                    chunks: BTreeMap::new(),
                    touched: now,
                },
            );
            reply(201, &[], "")
        }
        ("PUT", Some(name)) if !name.contains('/') && name != ".file" => {
            let Some(upload) = state.uploads.get_mut(id) else {
                return not_found(id);
            };
            let received = body.len() as u64;
            upload.chunks.insert(ChunkName(name.to_owned()), body);
            upload.touched = now;
            state.chunk_bytes += received;
            reply(201, &[], "")
        }
        ("MOVE", Some(".file")) => assemble(state, asked, id),
        ("DELETE", None) => match state.uploads.remove(id) {
            Some(_) => reply(204, &[], ""),
            None => not_found(id),
        },
        ("GET", Some(_)) => sabre_error(
            405,
            "Sabre\\DAV\\Exception\\MethodNotAllowed",
            "Reading intermediate uploads is not allowed",
        ),
        _ => reply(405, &[], ""),
    }
}

fn not_found(id: &str) -> Answer {
    sabre_error(
        404,
        "Sabre\\DAV\\Exception\\NotFound",
        &format!("File with name {id} could not be located"),
    )
}

/// The ETag of an upload's `.file` (`FutureFile::getETag`, its folder's): nothing a client
/// knows, so no `If-Match` names it.
fn future_file_etag(id: &str) -> String {
    format!("\"upload-{id}\"")
}

fn assemble(state: &mut State, asked: &Asked, id: &str) -> Answer {
    let Some(upload) = state.uploads.get(id) else {
        return not_found(id);
    };
    // `Server::checkPreconditions`, against the request's URL: the `.file`, which exists.
    let own = future_file_etag(id);
    if let Some(wanted) = asked.header("if-match") {
        let matches = wanted.trim() == "*" || wanted.split(',').any(|t| t.trim() == own);
        if !matches {
            return precondition_failed(
                "An If-Match header was specified, but none of the specified ETags matched.",
            );
        }
    }
    if let Some(unwanted) = asked.header("if-none-match")
        && (unwanted.trim() == "*" || unwanted.split(',').any(|t| t.trim() == own))
    {
        return precondition_failed(
            "An If-None-Match header was specified, but the ETag matched (or * was specified).",
        );
    }
    if let Some(failed) = if_header(&state.files, asked, None) {
        return failed;
    }
    // `Server::getCopyAndMoveInfo`.
    let Some(target) = destination_path(asked) else {
        return sabre_error(
            400,
            "Sabre\\DAV\\Exception\\BadRequest",
            "The destination header was not supplied",
        );
    };
    if let Some(reason) = forbidden_name(&target) {
        return sabre_error(
            400,
            "OCA\\DAV\\Connector\\Sabre\\Exception\\InvalidPath",
            &reason,
        );
    }
    if state
        .files
        .get(parent_of(&target))
        .is_none_or(|parent| !parent.is_folder())
    {
        return sabre_error(
            409,
            "Sabre\\DAV\\Exception\\Conflict",
            "The destination node is not found",
        );
    }
    let existed = state.files.get(&target).is_some();
    if existed && asked.header("overwrite").map(str::trim) == Some("F") {
        return precondition_failed(
            "The destination node already exists, and the overwrite header is set to false",
        );
    }
    // `ChunkingPlugin::verifySize`.
    let total: u64 = upload.chunks.values().map(|c| c.len() as u64).sum();
    if let Some(announced) = asked.header("oc-total-length")
        && announced.trim() != total.to_string()
    {
        return sabre_error(
            400,
            "Sabre\\DAV\\Exception\\BadRequest",
            &format!(
                "Chunks on server do not sum up to {} but to {total} bytes",
                announced.trim()
            ),
        );
    }
    // `QuotaPlugin::beforeMove`.
    if let Some(free) = state.free()
        && total > free
    {
        return insufficient(&target, total, free);
    }
    let upload = state.uploads.remove(id).expect("looked up above");
    let mut data = BytesMut::with_capacity(total as usize);
    for chunk in upload.chunks.values() {
        data.extend_from_slice(chunk);
    }
    let mtime = sent_mtime(asked);
    let now = state.now_seconds();
    // The `MOVE` of a `FutureFile` copies it into place (`Directory::moveInto` declines a
    // node that is not a `Node`, so Sabre's `Tree::move` copies and deletes), and the copy is a
    // `File::put` within this request: it stores this request's `OC-Checksum`.
    match state.files.write(
        &target,
        data.freeze(),
        mtime.unwrap_or(now),
        sent_checksum(asked),
        Write::PartFile,
    ) {
        Ok(node) => reply(
            if existed { 204 } else { 201 },
            &uploaded_headers(node, mtime.is_some()),
            "",
        ),
        Err(refusal) => reply(refusal.status(), &[], ""),
    }
}

fn precondition_failed(message: &str) -> Answer {
    sabre_error(412, "Sabre\\DAV\\Exception\\PreconditionFailed", message)
}

/// PROPFIND of the uploads root (the upload folders) or of one upload (its chunks).
fn list(state: &State, asked: &Asked, id: &str) -> Answer {
    let root = format!("/remote.php/dav/uploads/{USER}/");
    let mut out = String::from("<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\">");
    let folder = |href: &str, touched: SystemTime| {
        format!(
            "<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype>\
             <d:getlastmodified>{}</d:getlastmodified></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>",
            http_date(seconds(touched))
        )
    };
    let depth_one = asked.header("depth").map(str::trim) != Some("0");
    if id.is_empty() {
        out.push_str(&folder(&root, state.now()));
        if depth_one {
            for (name, upload) in &state.uploads {
                out.push_str(&folder(&format!("{root}{name}/"), upload.touched));
            }
        }
    } else {
        let Some(upload) = state.uploads.get(id) else {
            return reply(404, &[], "");
        };
        out.push_str(&folder(&format!("{root}{id}/"), upload.touched));
        if depth_one {
            for (name, chunk) in &upload.chunks {
                out.push_str(&format!(
                    "<d:response><d:href>{root}{id}/{}</d:href><d:propstat><d:prop><d:resourcetype/>\
                     <d:getcontentlength>{}</d:getcontentlength></d:prop><d:status>HTTP/1.1 200 OK</d:status>\
                     </d:propstat></d:response>",
                    name.0,
                    chunk.len()
                ));
            }
        }
    }
    out.push_str("</d:multistatus>");
    reply(
        207,
        &[("Content-Type", "application/xml; charset=utf-8".into())],
        out,
    )
}

fn seconds(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_assembled_in_natural_order_of_their_names() {
        let mut names: Vec<ChunkName> = ["10", "2", "00011", "1", "a", "00003"]
            .into_iter()
            .map(|n| ChunkName(n.into()))
            .collect();
        names.sort();
        let names: Vec<&str> = names.iter().map(|n| n.0.as_str()).collect();
        assert_eq!(names, ["1", "2", "00003", "10", "00011", "a"]);
    }
}
