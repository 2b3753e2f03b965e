//! Nextcloud's trash bin, for Tidesync's own files only: a `DELETE` there keeps the file in
//! the user's "Deleted files" (`apps/files_trashbin`), where a precondition probe or an
//! upload's leftover temp name is clutter the user never made. After deleting one of those,
//! its entries in the trash bin (`/remote.php/dav/trashbin/<user>/trash/`, found by
//! `nc:trashbin-original-location`) are deleted too. The user's own files that a sync
//! deletes stay in the trash bin: there they can be restored.

use quick_xml::Reader;
use quick_xml::events::Event;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use url::Url;

use super::Client;
use super::nextcloud::{Layout, body_up_to};
use crate::entry::EntryKind;
use crate::error::Error;
use crate::path::RemotePath;
use crate::quirks::ServerKind;

const TRASH_PROPFIND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns"><d:prop><nc:trashbin-original-location/></d:prop></d:propfind>"#;

/// The most of a trash bin listing that is read.
const LISTING_LIMIT: usize = 8 * 1024 * 1024;

impl Client {
    /// Deletes `path`, a file of Tidesync's own (the precondition probe, an upload's temp
    /// name), and on Nextcloud its entries in the trash bin. A trash bin that cannot be
    /// cleaned is logged, not an error: the file itself is gone.
    pub async fn delete_own(&self, path: &RemotePath) -> Result<(), Error> {
        self.delete(path, EntryKind::File, None).await?;
        if let Some(trash) = self.trash_url()
            && let Err(error) = self.purge_from_trash(&trash, path).await
        {
            tracing::debug!(%path, %error, "left in the trash bin");
        }
        Ok(())
    }

    /// The trash bin of the account whose files the base address is in, on Nextcloud.
    fn trash_url(&self) -> Option<Url> {
        if self.quirks().server != Some(ServerKind::Nextcloud) {
            return None;
        }
        let layout = Layout::of(&self.inner.base)?;
        let user = layout.user.as_deref()?;
        let mut url = layout.root.clone();
        url.set_path(&format!(
            "{}remote.php/dav/trashbin/{user}/trash/",
            layout.root.path()
        ));
        Some(url)
    }

    /// Deletes every entry of the trash bin at `trash` that was `path`.
    async fn purge_from_trash(&self, trash: &Url, path: &RemotePath) -> Result<(), Error> {
        let location = format!("{}{}", self.prefix_in_account()?, path.as_str());
        let propfind = Method::from_bytes(b"PROPFIND").expect("PROPFIND is a valid method");
        let answer = self
            .send_url(&propfind, trash, "trash bin", |r| {
                r.header("Depth", "1")
                    .header(CONTENT_TYPE, "application/xml; charset=utf-8")
                    .body(TRASH_PROPFIND)
            })
            .await?;
        let (body, _whole) = body_up_to(answer, LISTING_LIMIT)
            .await
            .map_err(|e| Error::transport(&propfind, &"trash bin", e))?;
        for href in entries_from(&body, &location) {
            let mut entry = trash.clone();
            entry.set_path(&href);
            entry.set_query(None);
            self.send_url(&Method::DELETE, &entry, "trash bin entry", |r| r)
                .await?;
        }
        Ok(())
    }
}

/// The hrefs of the listing's entries whose original location is `location`.
fn entries_from(body: &[u8], location: &str) -> Vec<String> {
    let mut reader = Reader::from_reader(body);
    let mut found = Vec::new();
    let (mut href, mut original) = (String::new(), String::new());
    let mut inside: Option<&'static str> = None;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(start)) => {
                inside = match start.local_name().into_inner() {
                    "href" => Some("href"),
                    "trashbin-original-location" => Some("original"),
                    "response" => {
                        href.clear();
                        original.clear();
                        None
                    }
                    _ => None,
                }
            }
            Ok(Event::Text(text)) => match inside {
                Some("href") => href.push_str(&text.xml10_content()),
                Some(_) => original.push_str(&text.xml10_content()),
                None => {}
            },
            Ok(Event::GeneralRef(reference)) => {
                let resolved =
                    quick_xml::escape::resolve_predefined_entity(&reference.xml10_content())
                        .map(str::to_owned);
                match (inside, resolved) {
                    (Some("href"), Some(r)) => href.push_str(&r),
                    (Some(_), Some(r)) => original.push_str(&r),
                    _ => {}
                }
            }
            Ok(Event::End(end)) => {
                if end.local_name().into_inner() == "response"
                    && original.trim_start_matches('/') == location
                    && !href.ends_with("/trash/")
                {
                    found.push(href.clone());
                }
                inside = None;
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_by_their_original_location() {
        let body = br#"<d:multistatus xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns">
<d:response><d:href>/remote.php/dav/trashbin/a/trash/</d:href></d:response>
<d:response><d:href>/remote.php/dav/trashbin/a/trash/.tidesync-up-p.d1</d:href><d:propstat><d:prop><nc:trashbin-original-location>Docs/.tidesync-up-p</nc:trashbin-original-location></d:prop></d:propstat></d:response>
<d:response><d:href>/remote.php/dav/trashbin/a/trash/mine.txt.d2</d:href><d:propstat><d:prop><nc:trashbin-original-location>Docs/mine.txt</nc:trashbin-original-location></d:prop></d:propstat></d:response>
<d:response><d:href>/remote.php/dav/trashbin/a/trash/.tidesync-up-p.d3</d:href><d:propstat><d:prop><nc:trashbin-original-location>Docs/.tidesync-up-p</nc:trashbin-original-location></d:prop></d:propstat></d:response>
</d:multistatus>"#;
        assert_eq!(
            entries_from(body, "Docs/.tidesync-up-p"),
            [
                "/remote.php/dav/trashbin/a/trash/.tidesync-up-p.d1",
                "/remote.php/dav/trashbin/a/trash/.tidesync-up-p.d3"
            ]
        );
        assert!(entries_from(body, "Docs/other").is_empty());
    }
}
