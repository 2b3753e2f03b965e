//! The error bodies of Sabre, the WebDAV server under Nextcloud and ownCloud: a 4xx or 5xx
//! comes with a `d:error` document naming the exception's class (`s:exception`) and its reason
//! (`s:message`), the only place the server says *why* (a forbidden name, a full quota, a
//! locked file, maintenance mode).

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

/// The most of an error body that is read: Sabre's are a few hundred bytes.
pub(crate) const BODY_LIMIT: usize = 16 * 1024;
/// The most of a message that is kept, in characters.
const MESSAGE_LIMIT: usize = 300;

/// What a Sabre error body says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SabreError {
    /// The exception's class, such as `Sabre\DAV\Exception\Forbidden`.
    pub exception: Option<String>,
    /// The reason, trimmed, control characters dropped, at most 300 characters.
    pub message: Option<String>,
}

impl SabreError {
    /// Nextcloud's maintenance mode (`OCA\DAV\Exception\ServerMaintenanceMode`, thrown by
    /// `apps/dav/lib/Connector/Sabre/MaintenancePlugin.php`), which sends no header saying so.
    pub(crate) fn is_maintenance(&self) -> bool {
        self.exception
            .as_deref()
            .is_some_and(|e| e.ends_with("ServerMaintenanceMode"))
    }
}

impl SabreError {
    fn push(&mut self, field: &str, text: &str) {
        let slot = match field {
            "exception" => &mut self.exception,
            _ => &mut self.message,
        };
        slot.get_or_insert_with(String::new).push_str(text);
    }
}

/// Reads `body` as a Sabre error; `None` when it is not one.
pub(crate) fn read(body: &[u8]) -> Option<SabreError> {
    let mut reader = Reader::from_reader(body);
    let mut found = SabreError::default();
    let mut inside: Option<&'static str> = None;
    let mut seen_error = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(start) => {
                let name = start.local_name();
                match name.into_inner() {
                    "error" => seen_error = true,
                    "exception" => inside = Some("exception"),
                    "message" => inside = Some("message"),
                    _ => inside = None,
                }
            }
            Event::Text(text) => {
                if let Some(field) = inside {
                    found.push(field, &text.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    reference.resolve_char_ref().ok()?.map(String::from)
                } else {
                    resolve_predefined_entity(&reference.xml10_content()).map(str::to_owned)
                };
                if let (Some(field), Some(resolved)) = (inside, resolved) {
                    found.push(field, &resolved);
                }
            }
            Event::End(_) => inside = None,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_error || (found.exception.is_none() && found.message.is_none()) {
        return None;
    }
    found.message = found.message.map(|m| clean(&m)).filter(|m| !m.is_empty());
    found.exception = found.exception.map(|e| clean(&e));
    Some(found)
}

/// Trimmed, without control characters, cut at a character boundary.
fn clean(text: &str) -> String {
    let kept: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MESSAGE_LIMIT)
        .collect();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sabre_error_gives_its_class_and_its_reason() {
        let body = br#"<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">
  <s:exception>OCA\DAV\Connector\Sabre\Exception\InvalidPath</s:exception>
  <s:message>&quot;.htaccess&quot; is a forbidden file or folder name.</s:message>
</d:error>"#;
        let read = read(body).unwrap();
        assert_eq!(
            read.exception.as_deref(),
            Some(r"OCA\DAV\Connector\Sabre\Exception\InvalidPath")
        );
        assert_eq!(
            read.message.as_deref(),
            Some("\".htaccess\" is a forbidden file or folder name.")
        );
        assert!(!read.is_maintenance());
    }

    #[test]
    fn maintenance_is_told_by_the_exception_class() {
        let body = br#"<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:exception>OCA\DAV\Exception\ServerMaintenanceMode</s:exception><s:message>System is in maintenance mode.</s:message></d:error>"#;
        assert!(read(body).unwrap().is_maintenance());
    }

    #[test]
    fn anything_else_is_not_a_sabre_error_and_a_long_reason_is_cut() {
        assert_eq!(read(b"<html><body>Bad gateway</body></html>"), None);
        assert_eq!(read(b"not xml at all <<<"), None);
        assert_eq!(read(b""), None);
        let long = format!(
            "<d:error xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\"><s:message>{}\u{7}</s:message></d:error>",
            "x".repeat(1000)
        );
        assert_eq!(read(long.as_bytes()).unwrap().message.unwrap().len(), 300);
    }
}
