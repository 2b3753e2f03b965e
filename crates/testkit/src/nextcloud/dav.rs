//! `/remote.php/dav/files/<user>/`: the WebDAV requests a sync client makes, answered as
//! Nextcloud's documentation describes (WebDAV basics).

use bytes::Bytes;
use hyper::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::files::{Files, Node, Write};
use super::trash::TrashItem;
use super::{
    Answer, Asked, State, USER, destination_path, forbidden_name, reply, sabre_error, sent_mtime,
    uploaded_headers,
};

/// Characters of a name that stay as they are in an href.
const NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(super) fn handle(state: &mut State, asked: &Asked, path: &str, body: Bytes) -> Answer {
    // A name the server forbids is refused before anything is written
    // (`OCA\\DAV\\Connector\\Sabre\\Node::verifyPath` → `InvalidPath`, 400 with the reason).
    let written = match asked.method.as_str() {
        "PUT" | "MKCOL" => Some(path.to_owned()),
        "MOVE" => destination_path(asked),
        _ => None,
    };
    if let Some(reason) = written.as_deref().and_then(forbidden_name) {
        return sabre_error(
            400,
            "OCA\\DAV\\Connector\\Sabre\\Exception\\InvalidPath",
            &reason,
        );
    }
    // A write to a locked file: `OCP\\Lock\\LockedException`, answered as
    // `apps/dav/lib/Connector/Sabre/Exception/FileLocked.php` (423).
    let touched = match asked.method.as_str() {
        "PUT" | "DELETE" => vec![path.to_owned()],
        "MOVE" => std::iter::once(path.to_owned())
            .chain(destination_path(asked))
            .collect(),
        _ => Vec::new(),
    };
    if let Some(locked) = touched.iter().find(|p| state.locked.contains(p.as_str())) {
        return sabre_error(
            423,
            "OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked",
            &format!("\"{locked}\" is locked"),
        );
    }
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
            let deleted = state.files.get(path).map(|node| TrashItem {
                name: path.rsplit('/').next().unwrap_or(path).to_owned(),
                original_location: path.to_owned(),
                deleted_at: state.now_seconds(),
                size: node.size(),
                folder: node.is_folder(),
            });
            match state.files.delete(path) {
                Ok(()) => {
                    // `apps/files_trashbin`: a deleted item is kept in the trash bin.
                    state.trash.extend(deleted);
                    reply(204, &[], "")
                }
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

/// One list of the WebDAV `If` header, as `Sabre\\DAV\\Server::getIfConditions` reads it: the
/// resource it is about (`None`: the request's own) and its alternatives.
#[derive(Debug, PartialEq, Eq)]
struct IfCondition {
    uri: Option<String>,
    tokens: Vec<IfToken>,
}

#[derive(Debug, PartialEq, Eq)]
struct IfToken {
    negate: bool,
    /// A state token (a lock token): this server holds no locks, so none is valid.
    token: String,
    /// With its quotes, as Sabre compares it.
    etag: String,
}

/// The conditions of an `If` header: `(<uri> )?"(" ("Not ")? (<token>)? " "? ([etag])? ")"`,
/// matched anywhere in the header like Sabre's `preg_match_all`; a list without a URI adds to
/// the one before it.
fn if_conditions(header: &str) -> Vec<IfCondition> {
    let mut conditions: Vec<IfCondition> = Vec::new();
    let mut rest = header;
    while !rest.is_empty() {
        let Some((uri, token, after)) = one_list(rest) else {
            let mut next = rest.chars();
            next.next();
            rest = next.as_str();
            continue;
        };
        rest = after;
        match (uri, conditions.last_mut()) {
            (None, Some(last)) => last.tokens.push(token),
            (uri, _) => conditions.push(IfCondition {
                uri,
                tokens: vec![token],
            }),
        }
    }
    conditions
}

/// One `(<uri> )?( … )` at the start of `text`.
fn one_list(text: &str) -> Option<(Option<String>, IfToken, &str)> {
    let (uri, text) = match text.strip_prefix('<') {
        Some(inner) => {
            let (uri, after) = inner.split_once('>')?;
            let after = after.strip_prefix(|c: char| c.is_whitespace())?;
            (Some(uri.to_owned()), after)
        }
        None => (None, text),
    };
    let text = text.strip_prefix('(')?;
    let (negate, text) = match text.get(..4) {
        Some(not) if not.eq_ignore_ascii_case("not ") => (true, &text[4..]),
        _ => (false, text),
    };
    let (token, text) = match text.strip_prefix('<') {
        Some(inner) => {
            let (token, after) = inner.split_once('>')?;
            (token.to_owned(), after)
        }
        None => (String::new(), text),
    };
    let text = text.strip_prefix(' ').unwrap_or(text);
    let (etag, text) = match text.strip_prefix('[') {
        Some(inner) => {
            let (etag, after) = inner.split_once(']')?;
            (etag.to_owned(), after)
        }
        None => (String::new(), text),
    };
    let text = text.strip_prefix(')')?;
    Some((
        uri,
        IfToken {
            negate,
            token,
            etag,
        },
        text,
    ))
}

/// The `If` header's conditions, checked as `Server::checkPreconditions` checks them: every
/// list must have one alternative that holds; an ETag is compared with the file at the list's
/// resource (404 when there is none there), a list without one with `own`, the request's own
/// item among the account's files (`None`: not a file there, such as an upload's `.file`).
/// `None` when the request may go on.
pub(super) fn if_header(files: &Files, asked: &Asked, own: Option<&str>) -> Option<Answer> {
    let header = asked.header("if")?;
    for condition in if_conditions(header) {
        let resource = match &condition.uri {
            Some(uri) => {
                let Some(path) = super::files_path_of(uri) else {
                    return Some(sabre_error(
                        404,
                        "Sabre\\DAV\\Exception\\NotFound",
                        &format!("File with name {uri} could not be located"),
                    ));
                };
                Some(path)
            }
            None => None,
        };
        let mut held = false;
        for token in &condition.tokens {
            let token_valid = token.token.is_empty();
            let etag_valid = if token.etag.is_empty() {
                true
            } else if token_valid {
                let node = match &resource {
                    Some(path) => match files.get(path) {
                        Some(node) => Some(node),
                        None => {
                            return Some(sabre_error(
                                404,
                                "Sabre\\DAV\\Exception\\NotFound",
                                &format!("File with name {path} could not be located"),
                            ));
                        }
                    },
                    None => own.and_then(|path| files.get(path)),
                };
                node.is_some_and(|n| !n.is_folder() && format!("\"{}\"", n.etag) == token.etag)
            } else {
                false
            };
            if (token_valid && etag_valid) ^ token.negate {
                held = true;
                break;
            }
        }
        if !held {
            return Some(sabre_error(
                412,
                "Sabre\\DAV\\Exception\\PreconditionFailed",
                &format!(
                    "Failed to find a valid token/etag combination for {}",
                    condition.uri.as_deref().unwrap_or(&asked.path)
                ),
            ));
        }
    }
    None
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
    let checksum = sent_checksum(asked);
    let mtime = sent_mtime(asked);
    let now = state.now_seconds();
    let existed = state.files.get(path).is_some();
    match state
        .files
        .write(path, body, mtime.unwrap_or(now), checksum, Write::PartFile)
    {
        Ok(node) => reply(
            if existed { 204 } else { 201 },
            &uploaded_headers(node, mtime.is_some()),
            "",
        ),
        Err(refusal) => reply(refusal.status(), &[], ""),
    }
}

/// The `OC-Checksum` a write stores, as sent and unchecked: `File::put` ends with
/// `setChecksum(trim($checksumHeader))` (or clears the stored one when none was sent) and never
/// compares it with the bytes it wrote.
pub(super) fn sent_checksum(asked: &Asked) -> Option<String> {
    asked
        .header("oc-checksum")
        .map(str::trim)
        .filter(|sent| !sent.is_empty())
        .map(str::to_owned)
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
    // `FilesPlugin::httpGet`: the stored checksum, where there is one.
    if let Some(checksum) = &node.checksum {
        headers.push(("OC-Checksum", checksum.clone()));
    }
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
    push_response(&mut out, path, node, &state.files);
    // Nextcloud's `apps/dav/lib/Connector/Sabre/Server.php` turns Sabre's
    // `enablePropfindDepthInfinity` on; without it (Sabre's default, still older servers'),
    // any depth but 0 is answered as 1, silently (`CorePlugin::httpPropFind`).
    let depth = asked.header("depth").map(str::trim);
    if node.is_folder() && depth != Some("0") {
        if depth == Some("infinity") && state.features.depth_infinity {
            for (child, node) in state.files.descendants(path) {
                push_response(&mut out, child, node, &state.files);
            }
        } else {
            for (child, node) in state.files.children(path) {
                push_response(&mut out, child, node, &state.files);
            }
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

fn push_response(out: &mut String, path: &str, node: &Node, files: &super::files::Files) {
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
         <oc:id>{}</oc:id><oc:fileid>{}</oc:fileid><oc:size>{}</oc:size>",
        http_date(node.mtime),
        node.etag,
        super::long_file_id(node.file_id),
        node.file_id,
        // `FilesPlugin::handleGetProperties` answers `oc:size` with `$node->getSize()`: for a
        // folder, the size the file cache keeps of everything in it.
        if node.is_folder() {
            files.descendants(path).map(|(_, n)| n.size()).sum()
        } else {
            node.size()
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_if_header_is_read_as_sabre_reads_it() {
        let read = if_conditions(
            "<https://h/remote.php/dav/files/alice/a.txt> ([\"e1\"]) (Not <lock:1> [\"e2\"]) </b> ([\"e3\"])",
        );
        assert_eq!(read.len(), 2);
        assert_eq!(
            read[0].uri.as_deref(),
            Some("https://h/remote.php/dav/files/alice/a.txt")
        );
        assert_eq!(
            read[0].tokens,
            [
                IfToken {
                    negate: false,
                    token: String::new(),
                    etag: "\"e1\"".into()
                },
                IfToken {
                    negate: true,
                    token: "lock:1".into(),
                    etag: "\"e2\"".into()
                },
            ]
        );
        assert_eq!(read[1].uri.as_deref(), Some("/b"));
        assert!(if_conditions("nonsense").is_empty());
    }
}
