//! The trash bin, `/remote.php/dav/trashbin/<user>/trash/`, as `apps/files_trashbin` serves
//! it: every `DELETE` in the account's files moves the item here instead of erasing it; each
//! entry is named `<name>.d<deletion time>` (`Sabre/TrashFile.php`, `getName`) and lists
//! `nc:trashbin-filename`, `nc:trashbin-original-location` and `nc:trashbin-deletion-time`
//! (`Sabre/TrashbinPlugin.php`, `propFind`); a `DELETE` of an entry erases it for good
//! (`AbstractTrash::delete`, allowed by default).

use super::dav::http_date;
use super::{Answer, Asked, State, USER, reply, sabre_error};

/// One deleted item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashItem {
    /// Its name when it was deleted.
    pub name: String,
    /// Where it was, from the account's root (`Photos/a.jpg`).
    pub original_location: String,
    /// When it was deleted, in seconds since 1970.
    pub deleted_at: i64,
    pub size: u64,
    pub folder: bool,
}

impl TrashItem {
    /// Its name in the trash bin.
    fn entry_name(&self) -> String {
        format!("{}.d{}", self.name, self.deleted_at)
    }
}

pub(super) fn handle(state: &mut State, asked: &Asked, rest: &str) -> Answer {
    match (asked.method.as_str(), rest) {
        ("PROPFIND", "") => list(state, asked),
        ("DELETE", entry) if !entry.is_empty() && !entry.contains('/') => {
            let before = state.trash.len();
            state.trash.retain(|item| item.entry_name() != entry);
            if state.trash.len() < before {
                reply(204, &[], "")
            } else {
                sabre_error(404, "Sabre\\DAV\\Exception\\NotFound", "")
            }
        }
        _ => reply(405, &[], ""),
    }
}

fn list(state: &State, asked: &Asked) -> Answer {
    let root = format!("/remote.php/dav/trashbin/{USER}/trash/");
    let mut out = String::from(
        "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" xmlns:nc=\"http://nextcloud.org/ns\">",
    );
    out.push_str(&format!(
        "<d:response><d:href>{root}</d:href><d:propstat><d:prop><d:resourcetype><d:collection/>\
         </d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    ));
    if asked.header("depth").map(str::trim) != Some("0") {
        for item in &state.trash {
            let escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;");
            let href: String = percent_encoding::utf8_percent_encode(
                &item.entry_name(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            out.push_str(&format!(
                "<d:response><d:href>{root}{href}</d:href><d:propstat><d:prop>\
                 <d:resourcetype>{}</d:resourcetype><d:getcontentlength>{}</d:getcontentlength>\
                 <d:getlastmodified>{}</d:getlastmodified>\
                 <nc:trashbin-filename>{}</nc:trashbin-filename>\
                 <nc:trashbin-original-location>{}</nc:trashbin-original-location>\
                 <nc:trashbin-deletion-time>{}</nc:trashbin-deletion-time>\
                 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>",
                if item.folder { "<d:collection/>" } else { "" },
                item.size,
                http_date(item.deleted_at),
                escape(&item.name),
                escape(&item.original_location),
                item.deleted_at,
            ));
        }
    }
    out.push_str("</d:multistatus>");
    reply(
        207,
        &[("Content-Type", "application/xml; charset=utf-8".into())],
        out,
    )
}
