//! Apache httpd's mod_dav_fs, recognised by the property set it announces: its `PUT` writes
//! the body to a temporary file in the same folder and renames it over the target once the
//! body is complete (httpd 2.4; Apache bug 39815 made it so), so a partial file never shows
//! under its name, and like any mod_dav it honours `If-Match` and `If-None-Match: *`, which
//! the caller still proves with a probe before relying on them. Then a small file goes up in
//! one `PUT` instead of a `PUT` to a hidden name and a `MOVE`.

use reqwest::Method;

use super::Client;
use crate::entry::EntryKind;
use crate::error::Error;
use crate::path::RemotePath;
use crate::quirks::ServerKind;

/// The live-property set only mod_dav_fs registers; it names it in the `DAV` header of its
/// `OPTIONS` answers.
const MOD_DAV_FS: &str = "<http://apache.org/dav/propset/fs/1>";

impl Client {
    /// Whether the base folder is served by mod_dav_fs, and then its version as the `Server`
    /// header gives it (`Apache/2.4.62 (Debian)`, or just `Apache`): one `OPTIONS` request. A
    /// server that does not answer it is taken for one that is not.
    pub(super) async fn served_by_mod_dav_fs(&self) -> Result<Option<String>, Error> {
        let answer = match self
            .send(
                &Method::OPTIONS,
                &RemotePath::root(),
                EntryKind::Folder,
                |r| r,
            )
            .await
        {
            Ok(answer) => answer,
            Err(error) if error.is_auth() => return Err(error),
            Err(error) => {
                tracing::debug!(%error, "OPTIONS unanswered: not taken for mod_dav_fs");
                return Ok(None);
            }
        };
        let mod_dav_fs = answer
            .headers()
            .get_all("dav")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(MOD_DAV_FS));
        if !mod_dav_fs {
            return Ok(None);
        }
        self.learn(|q| q.upgrade(ServerKind::Apache));
        let version = answer
            .headers()
            .get(reqwest::header::SERVER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("mod_dav_fs");
        Ok(Some(version.to_owned()))
    }
}
