//! Chunked upload v2 under `/remote.php/dav/uploads/<user>/`, by the rules of Nextcloud's
//! "Chunked file upload" documentation: every request but `DELETE` names the target in
//! `Destination`; chunks are numbered 1–10000 and assembled in that order; every chunk but the
//! last has at least 5 MiB; `OC-Total-Length` lets a full quota refuse a chunk (507) before
//! its data; `MOVE …/.file` assembles; chunks cannot be downloaded; an upload folder expires
//! after 24 hours without activity.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};

use super::dav::{check_preconditions, http_date};
use super::files::Node;
use super::{Answer, Asked, State, USER, destination_path, reply, sent_mtime, uploaded_headers};

/// How long an upload folder lives without a request touching it.
pub const EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);
/// The smallest chunk but the last.
pub const MIN_CHUNK: usize = 5 * 1024 * 1024;

/// An upload folder.
#[derive(Debug)]
pub(crate) struct Upload {
    destination: String,
    chunks: BTreeMap<u32, Bytes>,
    touched: SystemTime,
}

impl Upload {
    pub(crate) fn chunks(&self) -> usize {
        self.chunks.len()
    }
}

/// The upload a request under the uploads root names, and what below it.
fn split(path: &str) -> (&str, Option<&str>) {
    match path.split_once('/') {
        Some((id, rest)) => (id, Some(rest)),
        None => (path, None),
    }
}

/// A chunk whose upload would not fit in the quota, answered before its body is read.
pub(super) fn refuse_early(state: &State, asked: &Asked) -> Option<Answer> {
    let prefix = format!("/remote.php/dav/uploads/{USER}/");
    if asked.method != hyper::Method::PUT || !asked.path.starts_with(&prefix) {
        return None;
    }
    let total: u64 = asked.header("oc-total-length")?.trim().parse().ok()?;
    let replaced = destination_path(asked)
        .and_then(|d| state.files.get(&d).map(Node::size))
        .unwrap_or(0);
    state
        .free()
        .is_some_and(|free| total > free + replaced)
        .then(|| reply(507, &[], "Insufficient Storage"))
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
            let Some(destination) = destination_path(asked) else {
                return reply(400, &[], "Destination header is missing");
            };
            if state.uploads.contains_key(id) {
                return reply(405, &[], "");
            }
            state.uploads.insert(
                id.to_owned(),
                Upload {
                    destination,
                    chunks: BTreeMap::new(),
                    touched: now,
                },
            );
            reply(201, &[], "")
        }
        ("PUT", Some(name)) => put_chunk(state, asked, id, name, body, now),
        ("MOVE", Some(".file")) => assemble(state, asked, id),
        ("DELETE", None) => match state.uploads.remove(id) {
            Some(_) => reply(204, &[], ""),
            None => reply(404, &[], ""),
        },
        ("GET", Some(_)) => reply(403, &[], "Chunks cannot be downloaded"),
        _ => reply(405, &[], ""),
    }
}

fn put_chunk(
    state: &mut State,
    asked: &Asked,
    id: &str,
    name: &str,
    body: Bytes,
    now: SystemTime,
) -> Answer {
    let destination = destination_path(asked);
    let Some(upload) = state.uploads.get_mut(id) else {
        return reply(404, &[], "No such upload");
    };
    if destination.as_deref() != Some(upload.destination.as_str()) {
        return reply(400, &[], "Destination does not match the upload's");
    }
    let Some(number) = name
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
    else {
        return reply(400, &[], "Chunks are numbered from 1 to 10000");
    };
    let received = body.len() as u64;
    upload.chunks.insert(number, body);
    upload.touched = now;
    state.chunk_bytes += received;
    reply(201, &[], "")
}

fn assemble(state: &mut State, asked: &Asked, id: &str) -> Answer {
    let destination = destination_path(asked);
    let Some(upload) = state.uploads.get(id) else {
        return reply(404, &[], "No such upload");
    };
    if destination.as_deref() != Some(upload.destination.as_str()) {
        return reply(400, &[], "Destination does not match the upload's");
    }
    let last = upload.chunks.keys().next_back().copied();
    if upload
        .chunks
        .iter()
        .any(|(n, c)| Some(*n) != last && c.len() < MIN_CHUNK)
    {
        return reply(400, &[], "Chunks but the last must have at least 5 MiB");
    }
    let total: u64 = upload.chunks.values().map(|c| c.len() as u64).sum();
    let announced = asked
        .header("oc-total-length")
        .and_then(|t| t.trim().parse::<u64>().ok());
    if announced.is_some_and(|a| a != total) {
        return reply(400, &[], "OC-Total-Length does not match the chunks");
    }
    let target = upload.destination.clone();
    if let Some(failed) = check_preconditions(&state.files, asked, &target) {
        return failed;
    }
    if asked.header("overwrite") == Some("F") && state.files.get(&target).is_some() {
        return reply(412, &[], "Overwrite: F and the destination exists");
    }
    let replaced = state.files.get(&target).map_or(0, Node::size);
    if state.free().is_some_and(|free| total > free + replaced) {
        return reply(507, &[], "Insufficient Storage");
    }
    let upload = state.uploads.remove(id).expect("looked up above");
    let mut data = BytesMut::with_capacity(total as usize);
    for chunk in upload.chunks.values() {
        data.extend_from_slice(chunk);
    }
    let mtime = sent_mtime(asked);
    let now = state.now_seconds();
    let existed = state.files.get(&target).is_some();
    match state
        .files
        .write(&target, data.freeze(), mtime.unwrap_or(now), None)
    {
        Ok(node) => reply(
            if existed { 204 } else { 201 },
            &uploaded_headers(node, mtime.is_some()),
            "",
        ),
        Err(refusal) => reply(refusal.status(), &[], ""),
    }
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
            for (number, chunk) in &upload.chunks {
                out.push_str(&format!(
                    "<d:response><d:href>{root}{id}/{number}</d:href><d:propstat><d:prop><d:resourcetype/>\
                     <d:getcontentlength>{}</d:getcontentlength></d:prop><d:status>HTTP/1.1 200 OK</d:status>\
                     </d:propstat></d:response>",
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
