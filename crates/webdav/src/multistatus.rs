//! A streaming parser for PROPFIND's `207 Multi-Status` answers.
//!
//! The body is read event by event from the socket (through `quick-xml`'s tokio reader), and
//! each `<response>` is handed to the caller as soon as it closes, so a 10,000-entry listing is
//! never held as text and as entries at the same time. Hostile documents are refused: no DTD
//! (hence no entity declarations to expand), only the five predefined entities and character
//! references, bounded nesting, bounded field sizes.

use quick_xml::NsReader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use tokio::io::AsyncBufRead;

const DAV: &str = "DAV:";
const OWNCLOUD: &str = "http://owncloud.org/ns";

/// Deeper than any real multistatus (which nests about six levels) but far from a stack problem.
const MAX_DEPTH: usize = 64;
/// The longest href or property value kept; real ones are a few hundred bytes.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// One `<response>` of a multistatus, with the properties of its successful propstats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawResponse {
    pub href: String,
    pub is_collection: bool,
    pub content_length: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// ownCloud/Nextcloud `oc:checksums`, e.g. `SHA1:… MD5:…`.
    pub checksums: Vec<String>,
    pub file_id: Option<String>,
    pub permissions: Option<String>,
    /// A folder's size: ownCloud/Nextcloud `oc:size`.
    pub used_bytes: Option<String>,
}

/// Why a multistatus body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    #[error("the document declares a DTD, which a WebDAV answer never needs")]
    Dtd,
    #[error("the document uses the undeclared entity '&{0};'")]
    Entity(String),
    #[error("the root element is <{0}>, not <multistatus>")]
    NotMultistatus(String),
    #[error("elements are nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("a value is longer than {MAX_FIELD_BYTES} bytes")]
    FieldTooLong,
    #[error("a <response> has no <href>")]
    MissingHref,
    #[error("the document ends before </multistatus>")]
    Truncated,
}

/// The elements the parser understands; everything else is skipped with its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Multistatus,
    Response,
    Href,
    Propstat,
    Prop,
    Status,
    ResourceType,
    Collection,
    ContentLength,
    GetEtag,
    LastModified,
    Checksums,
    Checksum,
    FileId,
    Permissions,
    OcSize,
    Other,
}

impl Tag {
    fn of(namespace: &ResolveResult<'_>, local: &str) -> Tag {
        let ns = match namespace {
            ResolveResult::Bound(ns) => ns.0,
            // Some servers forget to bind the DAV namespace; their element names are still clear.
            ResolveResult::Unbound => DAV,
            ResolveResult::Unknown(_) => return Tag::Other,
        };
        match (ns, local) {
            (DAV, "multistatus") => Tag::Multistatus,
            (DAV, "response") => Tag::Response,
            (DAV, "href") => Tag::Href,
            (DAV, "propstat") => Tag::Propstat,
            (DAV, "prop") => Tag::Prop,
            (DAV, "status") => Tag::Status,
            (DAV, "resourcetype") => Tag::ResourceType,
            (DAV, "collection") => Tag::Collection,
            (DAV, "getcontentlength") => Tag::ContentLength,
            (DAV, "getetag") => Tag::GetEtag,
            (DAV, "getlastmodified") => Tag::LastModified,
            (OWNCLOUD, "checksums") => Tag::Checksums,
            (OWNCLOUD, "checksum") => Tag::Checksum,
            (OWNCLOUD, "fileid") => Tag::FileId,
            (OWNCLOUD, "permissions") => Tag::Permissions,
            (OWNCLOUD, "size") => Tag::OcSize,
            _ => Tag::Other,
        }
    }

    /// Whether the text inside this element is a value the parser keeps.
    fn holds_text(self) -> bool {
        matches!(
            self,
            Tag::Href
                | Tag::Status
                | Tag::ContentLength
                | Tag::GetEtag
                | Tag::LastModified
                | Tag::Checksum
                | Tag::FileId
                | Tag::Permissions
                | Tag::OcSize
        )
    }
}

/// Properties of one propstat, kept apart until its status says whether they count.
#[derive(Default)]
struct Props {
    is_collection: bool,
    content_length: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    checksums: Vec<String>,
    file_id: Option<String>,
    permissions: Option<String>,
    used_bytes: Option<String>,
    status: Option<String>,
}

/// Reads a multistatus document from `reader`, calling `on_response` for every `<response>`.
pub(crate) async fn parse<R, F>(reader: R, mut on_response: F) -> Result<(), ParseError>
where
    R: AsyncBufRead + Unpin,
    F: FnMut(RawResponse),
{
    let mut reader = NsReader::from_reader(reader);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;

    let mut buf = Vec::new();
    let mut stack: Vec<Tag> = Vec::new();
    let mut text = String::new();
    let mut response: Option<Pending> = None;
    let mut props = Props::default();
    let mut saw_root = false;

    loop {
        buf.clear();
        let (namespace, event) = reader
            .read_resolved_event_into_async(&mut buf)
            .await
            .map_err(|e| ParseError::Syntax(e.to_string()))?;
        match event {
            Event::Start(start) => {
                let local = start.local_name().into_inner();
                let tag = Tag::of(&namespace, local);
                if stack.is_empty() {
                    if tag != Tag::Multistatus {
                        return Err(ParseError::NotMultistatus(local.to_owned()));
                    }
                    saw_root = true;
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseError::TooDeep);
                }
                match tag {
                    Tag::Response => response = Some(Pending::default()),
                    Tag::Propstat => props = Props::default(),
                    Tag::Collection if stack.last() == Some(&Tag::ResourceType) => {
                        props.is_collection = true;
                    }
                    _ => {}
                }
                text.clear();
                stack.push(tag);
            }
            Event::End(_) => {
                let Some(tag) = stack.pop() else {
                    return Err(ParseError::Syntax("unbalanced end tag".into()));
                };
                let parent = stack.last().copied();
                close(
                    tag,
                    parent,
                    &text,
                    &mut response,
                    &mut props,
                    &mut on_response,
                )?;
                // Cleared, not taken: the one buffer serves every element of the listing.
                text.clear();
                if stack.is_empty() {
                    return Ok(());
                }
            }
            Event::Text(t) => {
                if stack.last().is_some_and(|t| t.holds_text()) {
                    push_bounded(&mut text, &t.xml10_content())?;
                }
            }
            Event::CData(c) => {
                if stack.last().is_some_and(|t| t.holds_text()) {
                    push_bounded(&mut text, &c.into_inner())?;
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| ParseError::Syntax(e.to_string()))?
                        .map(String::from)
                } else {
                    resolve_predefined_entity(&r.xml10_content()).map(str::to_owned)
                };
                let Some(resolved) = resolved else {
                    return Err(ParseError::Entity(r.xml10_content().into_owned()));
                };
                if stack.last().is_some_and(|t| t.holds_text()) {
                    push_bounded(&mut text, &resolved)?;
                }
            }
            Event::DocType(_) => return Err(ParseError::Dtd),
            Event::Empty(_) => unreachable!("expand_empty_elements turns these into Start + End"),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                return Err(if saw_root {
                    ParseError::Truncated
                } else {
                    ParseError::Syntax("the document is empty".into())
                });
            }
        }
    }
}

/// A `<response>` being read.
#[derive(Default)]
struct Pending {
    raw: RawResponse,
    /// Set when the response carries a non-2xx `<status>` of its own: the member is gone.
    failed: bool,
}

/// Files a closed element's value where it belongs.
fn close<F: FnMut(RawResponse)>(
    tag: Tag,
    parent: Option<Tag>,
    value: &str,
    response: &mut Option<Pending>,
    props: &mut Props,
    on_response: &mut F,
) -> Result<(), ParseError> {
    let value = || Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    match tag {
        Tag::Href if parent == Some(Tag::Response) => {
            if let Some(p) = response.as_mut().filter(|p| p.raw.href.is_empty()) {
                p.raw.href = value().unwrap_or_default();
            }
        }
        Tag::Status if parent == Some(Tag::Propstat) => props.status = value(),
        Tag::Status if parent == Some(Tag::Response) => {
            if let Some(p) = response.as_mut() {
                p.failed = value().is_some_and(|s| !is_success(&s));
            }
        }
        Tag::ContentLength => props.content_length = value(),
        Tag::GetEtag => props.etag = value(),
        Tag::LastModified => props.last_modified = value(),
        Tag::Checksum => props.checksums.extend(value()),
        Tag::FileId => props.file_id = value(),
        Tag::Permissions => props.permissions = value(),
        Tag::OcSize => props.used_bytes = value(),
        Tag::Propstat => {
            let found = std::mem::take(props);
            // A propstat without a status is read as 200; one with 404 lists missing props.
            let counts = found.status.as_deref().is_none_or(is_success);
            if let Some(r) = response.as_mut().map(|p| &mut p.raw).filter(|_| counts) {
                r.is_collection |= found.is_collection;
                r.content_length = r.content_length.take().or(found.content_length);
                r.etag = r.etag.take().or(found.etag);
                r.last_modified = r.last_modified.take().or(found.last_modified);
                r.checksums.extend(found.checksums);
                r.file_id = r.file_id.take().or(found.file_id);
                r.permissions = r.permissions.take().or(found.permissions);
                r.used_bytes = r.used_bytes.take().or(found.used_bytes);
            }
        }
        Tag::Response => {
            if let Some(p) = response.take() {
                if p.raw.href.is_empty() {
                    return Err(ParseError::MissingHref);
                }
                if !p.failed {
                    on_response(p.raw);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether a status line such as `HTTP/1.1 200 OK` reports success.
fn is_success(status: &str) -> bool {
    status
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .is_some_and(|code| (200..300).contains(&code))
}

fn push_bounded(text: &mut String, more: &str) -> Result<(), ParseError> {
    if text.len() + more.len() > MAX_FIELD_BYTES {
        return Err(ParseError::FieldTooLong);
    }
    text.push_str(more);
    Ok(())
}
