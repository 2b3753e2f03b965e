//! `POST /remote.php/dav/bulk`, by Nextcloud's "File bulk upload" documentation: a
//! `multipart/related` body, one part per file with `X-File-Path`, `Content-Length`, a
//! checksum (`OC-Checksum`, or the legacy `X-File-MD5`) and optionally `X-OC-Mtime` /
//! `X-File-Mtime`; the answer is JSON keyed by `X-File-Path`, 200 even when files failed.
//! Like the server, no precondition is checked: a part replaces whatever is at its path.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::dav::verified;
use super::files::Node;
use super::{Answer, Asked, State, reply};

/// One file of the request.
struct Part {
    headers: Vec<(String, String)>,
    data: Bytes,
}

impl Part {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(super) fn handle(state: &mut State, asked: &Asked, body: &Bytes) -> Answer {
    let Some(boundary) = asked.header("content-type").and_then(boundary) else {
        return reply(400, &[], "multipart/related with a boundary is required");
    };
    let parts = match parse(body, &boundary) {
        Ok(parts) => parts,
        Err(message) => return reply(400, &[], message),
    };
    let mut answer = Map::new();
    for part in parts {
        let Some(path) = part.header("x-file-path").map(str::to_owned) else {
            return reply(400, &[], "a part has no X-File-Path");
        };
        let result = store(state, &part, path.trim_start_matches('/'));
        answer.insert(
            path,
            match result {
                Ok(node) => json!({
                    "error": false,
                    "etag": node.etag,
                    "fileid": node.file_id.to_string(),
                    "permissions": "RGDNVW",
                }),
                Err(message) => json!({ "error": true, "message": message }),
            },
        );
    }
    reply(
        200,
        &[("Content-Type", "application/json; charset=utf-8".into())],
        Value::Object(answer).to_string(),
    )
}

fn store(state: &mut State, part: &Part, path: &str) -> Result<Node, String> {
    let checksum = match (part.header("oc-checksum"), part.header("x-file-md5")) {
        (Some(sent), _) => Some(verified(sent, &part.data).map_err(str::to_owned)?),
        (None, Some(_)) => None,
        (None, None) => return Err("A checksum header is required".into()),
    };
    let replaced = state.files.get(path).map_or(0, Node::size);
    if state
        .free()
        .is_some_and(|free| part.data.len() as u64 > free + replaced)
    {
        return Err("Insufficient Storage".into());
    }
    let mtime = part
        .header("x-file-mtime")
        .or_else(|| part.header("x-oc-mtime"))
        .and_then(|m| m.trim().parse::<f64>().ok())
        .map(|m| m as i64);
    let now = state.now_seconds();
    state
        .files
        .write(path, part.data.clone(), mtime.unwrap_or(now), checksum)
        .cloned()
        .map_err(|refusal| format!("Could not write the file ({})", refusal.status()))
}

/// The boundary of a `multipart/related` content type.
fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    if !params
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/related")
    {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, &'static str> {
    let open = format!("--{boundary}\r\n");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut at = 0;
    loop {
        let rest = &body[at..];
        if rest.starts_with(close.as_bytes()) {
            return Ok(parts);
        }
        if !rest.starts_with(open.as_bytes()) {
            return Err("a part does not start with the boundary");
        }
        at += open.len();
        let head_len = find(&body[at..], b"\r\n\r\n").ok_or("a part's headers do not end")?;
        let head = std::str::from_utf8(&body[at..at + head_len])
            .map_err(|_| "a part's headers are not UTF-8")?;
        at += head_len + 4;
        let headers: Vec<(String, String)> = head
            .split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .ok_or("a part has no Content-Length")?;
        if body.len() < at + length + 2 || &body[at + length..at + length + 2] != b"\r\n" {
            return Err("a part is shorter than its Content-Length");
        }
        parts.push(Part {
            headers,
            data: body.slice(at..at + length),
        });
        at += length + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
