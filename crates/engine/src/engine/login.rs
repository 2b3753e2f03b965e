//! Signing in to Nextcloud by Login Flow v2, as one engine operation in two steps: `begin`
//! starts a flow and gives the page to open in the browser; `complete` waits for the person to
//! grant access there, then adds the server with the app password the server made, through the
//! same connection test and password store as a typed one. The account password never
//! reaches the engine. Each flow's token is a child of the engine's root token, so shutdown
//! and `cancel_login` both end a wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tidesync_webdav::{LoginFlow, TlsOptions, parse_fingerprint};
use tokio_util::sync::CancellationToken;

use super::{Engine, EngineError, ServerForm, lock};
use crate::model::{Remote as RemoteRecord, RemoteId};

/// How often a waiting flow asks the server whether access was granted.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Flows begun and not yet completed or cancelled, by id.
#[derive(Default)]
pub(super) struct Logins {
    next: Mutex<u64>,
    flows: Mutex<HashMap<u64, Pending>>,
}

/// A flow begun: what `complete_login` waits on, what cancels the wait, the trusted pin.
#[derive(Clone)]
struct Pending {
    flow: LoginFlow,
    token: CancellationToken,
    pin: Option<String>,
}

impl Engine {
    /// Starts a sign-in at the server a person typed (`url`: its address, or its WebDAV
    /// folder). Returns the flow's id and the page to open in a browser. With `pin_sha256`,
    /// exactly that certificate is trusted (a self-signed server), and the server added at the
    /// end keeps it.
    pub async fn begin_login(
        &self,
        url: &str,
        pin_sha256: Option<&str>,
    ) -> Result<(u64, String), EngineError> {
        let mut options = self.inner.options.webdav.clone();
        if let Some(pin) = pin_sha256 {
            options.tls = TlsOptions {
                pinned_sha256: Some(parse_fingerprint(pin)?),
                ..options.tls
            };
        }
        let flow = LoginFlow::start(url, options).await?;
        let login_url = flow.login_url.to_string();
        let logins = &self.inner.logins;
        let id = {
            let mut next = lock(&logins.next);
            *next += 1;
            *next
        };
        let token = self.inner.root.child_token();
        let pending = Pending {
            flow,
            token,
            pin: pin_sha256.map(str::to_owned),
        };
        lock(&logins.flows).insert(id, pending);
        Ok((id, login_url))
    }

    /// Waits until the person granted access to flow `id` in the browser (or the flow is
    /// cancelled, or 20 minutes pass), then saves the server as `name` with the app password:
    /// as a new server, or in place of the login of `replacing` (signing in again after the
    /// app password was revoked), keeping its pairs and what their journals know.
    pub async fn complete_login(
        &self,
        id: u64,
        name: &str,
        replacing: Option<RemoteId>,
    ) -> Result<RemoteRecord, EngineError> {
        let Pending { flow, token, pin } = lock(&self.inner.logins.flows)
            .get(&id)
            .cloned()
            .ok_or(EngineError::NoLogin(id))?;
        let waited = flow.wait(POLL_EVERY, &token).await;
        lock(&self.inner.logins.flows).remove(&id);
        let signed_in = waited?;
        let form = ServerForm {
            name: name.to_owned(),
            url: signed_in.dav_url.to_string(),
            user: Some(signed_in.credentials.user.clone()),
            password: Some(signed_in.credentials.password().to_owned()),
            pin_sha256: pin,
        };
        match replacing {
            Some(remote) => self.change_server(remote, form).await,
            None => self.add_server(form).await,
        }
    }

    /// Forgets flow `id`; a `complete_login` waiting for it returns `Cancelled`.
    pub fn cancel_login(&self, id: u64) -> Result<(), EngineError> {
        let pending = lock(&self.inner.logins.flows)
            .remove(&id)
            .ok_or(EngineError::NoLogin(id))?;
        pending.token.cancel();
        Ok(())
    }
}
