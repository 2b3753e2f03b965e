//! `POST /remote.php/dav/bulk`, as Nextcloud's own code answers it:
//! `apps/dav/lib/BulkUpload/BulkUploadPlugin.php` (`httpPost`) driving
//! `apps/dav/lib/BulkUpload/MultipartRequestParser.php`.
//!
//! - The content type is split like the parser's `parseBoundaryFromHeaders`: exactly
//!   `multipart/related`, then `boundary=…` (quotes removed); anything else is a Sabre
//!   `BadRequest` (400 with an XML error body) before any part is read.
//! - Parts are read one at a time until the stream is at `--boundary--\r\n`
//!   (`isAtLastBoundary`). A part must start with `--boundary\r\n`, every header line needs a
//!   `:`, and `Content-Length` and `X-File-MD5` are required (`readPartHeaders`); the MD5 must
//!   be the lower-case hex digest of the part's bytes (`readPartContent`). The first part that
//!   breaks a rule ends the request with 400 and a JSON body of the files written before it:
//!   those stay written.
//! - Each part is written with `IUserFolder::newFile`, which replaces whatever is at its path
//!   (no precondition), after its time is sanitised (`MtimeSanitizer::sanitizeMtime`:
//!   `X-File-Mtime` first, then `X-OC-Mtime`; a value that is not a number or not after
//!   1 January 1970 refuses that file alone). `OC-Checksum` is not read.
//! - The answer is 200 with JSON keyed by each part's `X-File-Path` as sent: `error`, `etag`
//!   (unquoted), `fileid` in its long form (`DavUtil::getDavFileId`) and `permissions`, or
//!   `error` and `message`.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::files::{Node, Write};
use super::{Answer, Asked, State, long_file_id, reply, sabre_error};

/// One file of the request.
struct Part {
    /// Header names in lower case, as the parser keys them.
    headers: Vec<(String, String)>,
    data: Bytes,
}

impl Part {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(super) fn handle(state: &mut State, asked: &Asked, body: &Bytes) -> Answer {
    let boundary = match asked.header("content-type").map(boundary) {
        Some(Ok(boundary)) => boundary,
        Some(Err(message)) => {
            return sabre_error(400, "Sabre\\DAV\\Exception\\BadRequest", message);
        }
        None => {
            return sabre_error(
                400,
                "Sabre\\DAV\\Exception\\BadRequest",
                "Content-Type can not be null",
            );
        }
    };
    let mut parser = Parser {
        body,
        at: 0,
        boundary: format!("--{boundary}\r\n"),
        last: format!("--{boundary}--\r\n"),
    };
    let mut written = Map::new();
    while !parser.at_last_boundary() {
        let part = match parser.next_part() {
            Ok(part) => part,
            Err(_message) => return json_answer(400, written),
        };
        let path = part.header("x-file-path").unwrap_or_default().to_owned();
        let entry = match store(state, &part, path.trim_start_matches('/')) {
            Ok(node) => json!({
                "error": false,
                "etag": node.etag,
                "fileid": long_file_id(node.file_id),
                "permissions": "RGDNVW",
            }),
            Err(message) => json!({ "error": true, "message": message }),
        };
        written.insert(path, entry);
    }
    json_answer(200, written)
}

fn json_answer(status: u16, written: Map<String, Value>) -> Answer {
    reply(
        status,
        &[("Content-Type", "application/json; charset=utf-8".into())],
        Value::Object(written).to_string(),
    )
}

/// `newFile` with the sanitised time; the quota and the names the server forbids refuse a
/// file alone, with the server's message.
fn store(state: &mut State, part: &Part, path: &str) -> Result<Node, String> {
    let mtime = match part
        .header("x-file-mtime")
        .or_else(|| part.header("x-oc-mtime"))
    {
        Some(sent) => Some(sanitize_mtime(sent)?),
        None => None,
    };
    if path.is_empty() {
        return Err("Could not create as provided path is empty".into());
    }
    if let Some(reason) = super::forbidden_name(path) {
        return Err(reason);
    }
    let replaced = state.files.get(path).map_or(0, Node::size);
    if state
        .free()
        .is_some_and(|free| part.data.len() as u64 > free + replaced)
    {
        return Err(format!("Insufficient space in {path}"));
    }
    let now = state.now_seconds();
    state
        .files
        .write(
            path,
            part.data.clone(),
            mtime.unwrap_or(now),
            None,
            // `Folder::newFile` → `View::file_put_contents`: into the file that is there.
            Write::InPlace,
        )
        .cloned()
        .map_err(|refusal| format!("Could not write the file ({})", refusal.status()))
}

/// `MtimeSanitizer::sanitizeMtime` (`apps/dav/lib/Connector/Sabre/MtimeSanitizer.php`): a
/// number, not hexadecimal, after the first day of 1970.
pub(super) fn sanitize_mtime(sent: &str) -> Result<i64, String> {
    let trimmed = sent.trim();
    let numeric = trimmed.parse::<f64>().ok().filter(|n| n.is_finite());
    let hexadecimal = trimmed.starts_with("0x") || trimmed.starts_with("0X");
    let Some(seconds) = numeric.filter(|_| !hexadecimal) else {
        return Err("X-OC-MTime header must be an integer (unix timestamp).".into());
    };
    let seconds = seconds as i64;
    if seconds <= 24 * 60 * 60 {
        return Err("X-OC-MTime header must be a valid positive integer".into());
    }
    Ok(seconds)
}

/// The boundary of the content type, split as `parseBoundaryFromHeaders` splits it.
fn boundary(content_type: &str) -> Result<String, &'static str> {
    let mut pieces = content_type.split(';');
    let (Some(mime), Some(parameter)) = (pieces.next(), pieces.next()) else {
        return Err("Error while parsing boundary in Content-Type header.");
    };
    let mut halves = parameter.split('=');
    let (Some(key), Some(value)) = (halves.next(), halves.next()) else {
        return Err("Error while parsing boundary in Content-Type header.");
    };
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if mime.trim() != "multipart/related" {
        return Err("Content-Type must be multipart/related");
    }
    if key.trim() != "boundary" {
        return Err("Boundary is invalid");
    }
    Ok(value.to_owned())
}

/// The parser's cursor over the body.
struct Parser<'a> {
    body: &'a Bytes,
    at: usize,
    boundary: String,
    last: String,
}

impl Parser<'_> {
    fn rest(&self) -> &[u8] {
        &self.body[self.at..]
    }

    fn at_last_boundary(&self) -> bool {
        self.rest().starts_with(self.last.as_bytes())
    }

    /// `parseNextPart`: the boundary, the headers, the content checked against its MD5.
    fn next_part(&mut self) -> Result<Part, &'static str> {
        if !self.rest().starts_with(self.boundary.as_bytes()) {
            return Err("Boundary not found where it should be.");
        }
        self.at += self.boundary.len();
        let mut headers = Vec::new();
        loop {
            let line_end = find(self.rest(), b"\n")
                .ok_or("An error occurred while reading headers of a part")?;
            let line = &self.body[self.at..self.at + line_end + 1];
            self.at += line_end + 1;
            if line == b"\r\n" {
                break;
            }
            let line = String::from_utf8_lossy(line);
            let Some((key, value)) = line.split_once(':') else {
                return Err("An error occurred while reading headers of a part");
            };
            headers.push((key.trim().to_lowercase(), value.trim().to_owned()));
        }
        let find_header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let length = find_header("content-length")
            .ok_or("The Content-Length header must not be null.")?
            .parse::<usize>()
            .unwrap_or(0);
        let md5 = find_header("x-file-md5").ok_or("The X-File-MD5 header must not be null.")?;
        let end = (self.at + length).min(self.body.len());
        let data = self.body.slice(self.at..end);
        if md5 != md5_hex(&data) {
            return Err("Computed md5 hash is incorrect.");
        }
        if length != 0 && end + 2 > self.body.len() {
            return Err("Unexpected EOF while reading stream.");
        }
        // The CRLF after the content is read, whatever it is.
        self.at = (end + 2).min(self.body.len());
        Ok(Part { headers, data })
    }
}

/// Lower-case hex, as PHP's `hash_final('md5')`.
fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
