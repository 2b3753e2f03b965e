//! `/remote.php/dav/files/<user>/`: the WebDAV requests a sync client makes, answered as
//! Nextcloud's documentation describes (WebDAV basics).

use bytes::Bytes;
use hyper::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::files::{Files, Node, sha1_checksum};
use super::{Answer, Asked, State, USER, destination_path, reply, sent_mtime, uploaded_headers};

/// Characters of a name that stay as they are in an href.
const NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(super) fn handle(state: &mut State, asked: &Asked, path: &str, body: Bytes) -> Answer {
    match asked.method.as_str() {
        "PROPFIND" => propfind(state, asked, path),
        "GET" | "HEAD" => get(state, asked, path),
        "PUT" => put(state, asked, path, body),
        "MKCOL" => {
            let now = state.now_seconds();
            match state.files.mkcol(path, now) {
                Ok(()) => reply(201, &[], ""),
                Err(refusal) => reply(refusal.status(), &[], ""),
            }
        }
        "DELETE" => {
            if let Some(failed) = check_if_match(&state.files, asked, path) {
                return failed;
            }
            match state.files.delete(path) {
                Ok(()) => reply(204, &[], ""),
                Err(refusal) => reply(refusal.status(), &[], ""),
            }
        }
        "MOVE" => {
            let Some(to) = destination_path(asked) else {
                return reply(400, &[], "Destination is not in this account's files");
            };
            if let Some(failed) = check_if_match(&state.files, asked, path) {
                return failed;
            }
            let overwrite = asked.header("overwrite") != Some("F");
            match state.files.rename(path, &to, overwrite) {
                Ok(true) => reply(204, &[], ""),
                Ok(false) => reply(201, &[], ""),
                Err(refusal) => reply(refusal.status(), &[], ""),
            }
        }
        _ => reply(405, &[], ""),
    }
}

/// `If-Match` against the item at `path`: `Some(412)` when it does not hold.
fn check_if_match(files: &Files, asked: &Asked, path: &str) -> Option<Answer> {
    let wanted = asked.header("if-match")?;
    let holds = match files.get(path) {
        Some(node) => wanted.trim() == "*" || tags(wanted).any(|t| t == node.etag),
        None => false,
    };
    (!holds).then(|| reply(412, &[], "If-Match does not hold"))
}

/// The tags of an `If-Match` list, without quotes.
fn tags(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
}

/// `If-Match` and `If-None-Match: *` before a write to `path`, as Nextcloud honours them.
pub(super) fn check_preconditions(files: &Files, asked: &Asked, path: &str) -> Option<Answer> {
    if asked.header("if-none-match").map(str::trim) == Some("*") && files.get(path).is_some() {
        return Some(reply(412, &[], "If-None-Match: the file exists"));
    }
    check_if_match(files, asked, path)
}

fn put(state: &mut State, asked: &Asked, path: &str, body: Bytes) -> Answer {
    if path.is_empty() {
        return reply(405, &[], "");
    }
    if let Some(failed) = check_preconditions(&state.files, asked, path) {
        return failed;
    }
    let replaced = state.files.get(path).map_or(0, Node::size);
    if state
        .free()
        .is_some_and(|free| body.len() as u64 > free + replaced)
    {
        return reply(507, &[], "Insufficient Storage");
    }
    let checksum = match asked.header("oc-checksum") {
        Some(sent) => match verified(sent, &body) {
            Ok(checksum) => Some(checksum),
            Err(message) => return reply(400, &[], message),
        },
        None => None,
    };
    let mtime = sent_mtime(asked);
    let now = state.now_seconds();
    let existed = state.files.get(path).is_some();
    match state
        .files
        .write(path, body, mtime.unwrap_or(now), checksum)
    {
        Ok(node) => reply(
            if existed { 204 } else { 201 },
            &uploaded_headers(node, mtime.is_some()),
            "",
        ),
        Err(refusal) => reply(refusal.status(), &[], ""),
    }
}

/// Checks an `OC-Checksum` against the data; only SHA1 is checked, other algorithms are kept.
pub(super) fn verified(sent: &str, data: &[u8]) -> Result<String, &'static str> {
    let sent = sent.trim();
    match sent.split_once(':') {
        Some((algorithm, _)) if algorithm.eq_ignore_ascii_case("SHA1") => {
            let actual = sha1_checksum(data);
            if actual.eq_ignore_ascii_case(sent) {
                Ok(actual)
            } else {
                Err("The computed checksum does not match the one received from the client.")
            }
        }
        Some(_) => Ok(sent.to_owned()),
        None => Err("OC-Checksum is not algorithm:digest"),
    }
}

fn get(state: &State, asked: &Asked, path: &str) -> Answer {
    let Some(node) = state.files.get(path) else {
        return reply(404, &[], "");
    };
    let Some(data) = &node.data else {
        return reply(405, &[], "GET is not implemented on a folder");
    };
    let etag = format!("\"{}\"", node.etag);
    let mut headers = vec![
        ("ETag", etag.clone()),
        ("OC-ETag", etag.clone()),
        ("Last-Modified", http_date(node.mtime)),
        ("Accept-Ranges", "bytes".into()),
    ];
    let if_range_holds = asked.header("if-range").is_none_or(|t| t.trim() == etag);
    let range = asked
        .header("range")
        .filter(|_| if_range_holds)
        .and_then(|r| byte_range(r, data.len() as u64));
    let (status, body) = match range {
        Some((from, to)) => {
            headers.push(("Content-Range", format!("bytes {from}-{to}/{}", data.len())));
            (206, data.slice(from as usize..=to as usize))
        }
        None => (200, data.clone()),
    };
    let body = if asked.method == Method::HEAD {
        Bytes::new()
    } else {
        body
    };
    reply(status, &headers, body)
}

/// `bytes=a-b` or `bytes=a-` within a file of `len` bytes, as inclusive offsets.
fn byte_range(header: &str, len: u64) -> Option<(u64, u64)> {
    let (from, to) = header.trim().strip_prefix("bytes=")?.split_once('-')?;
    let from: u64 = from.trim().parse().ok()?;
    let to = match to.trim() {
        "" => len.checked_sub(1)?,
        to => to.parse::<u64>().ok()?.min(len.checked_sub(1)?),
    };
    (from <= to).then_some((from, to))
}

fn propfind(state: &State, asked: &Asked, path: &str) -> Answer {
    let Some(node) = state.files.get(path) else {
        return reply(404, &[], "");
    };
    let mut out = String::from(
        "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" \
         xmlns:oc=\"http://owncloud.org/ns\" xmlns:nc=\"http://nextcloud.org/ns\">",
    );
    push_response(&mut out, path, node);
    // Sabre's default: with infinity not enabled, any depth but 0 is answered as 1, silently.
    if asked.header("depth").map(str::trim) != Some("0") && node.is_folder() {
        for (child, node) in state.files.children(path) {
            push_response(&mut out, child, node);
        }
    }
    out.push_str("</d:multistatus>");
    reply(
        207,
        &[
            ("Content-Type", "application/xml; charset=utf-8".into()),
            ("DAV", dav_header()),
        ],
        out,
    )
}

/// The `DAV` header Nextcloud sends, which names its extensions.
pub(super) fn dav_header() -> String {
    "1, 3, extended-mkcol, access-control, calendarserver-principal-property-search, \
     nextcloud-checksum-update, nc-paginate"
        .into()
}

fn push_response(out: &mut String, path: &str, node: &Node) {
    let mut href = format!("/remote.php/dav/files/{USER}/");
    for (i, segment) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
        if i > 0 {
            href.push('/');
        }
        href.extend(utf8_percent_encode(segment, NAME));
    }
    if node.is_folder() && !href.ends_with('/') {
        href.push('/');
    }
    out.push_str(&format!(
        "<d:response><d:href>{href}</d:href><d:propstat><d:prop>"
    ));
    out.push_str(&format!(
        "<d:getlastmodified>{}</d:getlastmodified><d:getetag>&quot;{}&quot;</d:getetag>\
         <oc:fileid>{}</oc:fileid><oc:size>{}</oc:size>",
        http_date(node.mtime),
        node.etag,
        node.file_id,
        node.size(),
    ));
    if node.is_folder() {
        out.push_str("<d:resourcetype><d:collection/></d:resourcetype><oc:permissions>RGDNVCK</oc:permissions>");
    } else {
        out.push_str(&format!(
            "<d:resourcetype/><d:getcontentlength>{}</d:getcontentlength>\
             <oc:permissions>RGDNVW</oc:permissions><oc:checksums>{}</oc:checksums>",
            node.size(),
            node.checksum
                .as_deref()
                .map(|c| format!("<oc:checksum>{c}</oc:checksum>"))
                .unwrap_or_default(),
        ));
    }
    out.push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>");
}

pub(super) fn http_date(seconds: i64) -> String {
    httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64),
    )
}
