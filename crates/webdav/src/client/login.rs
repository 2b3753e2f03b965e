//! Nextcloud's Login Flow v2: the person signs in in their own browser, on the server's own
//! page (with its two-factor step, if any), and the client receives an app password for
//! itself; the account password never passes through Tidesync. Also the deletion of that app
//! password when the server is removed.
//!
//! ```text
//! POST <server>/index.php/login/v2        → { poll: { token, endpoint }, login }
//! (the browser opens `login`)
//! POST <endpoint>  token=<token>          → 404 until granted, then { server, loginName, appPassword } once
//! GET  <server>/ocs/v1.php/cloud/user     → the user id, which names the WebDAV folder
//! ```

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::nextcloud::{Layout, small_json};
use super::{Client, Credentials, Options};
use crate::error::Error;

/// A started login, waiting for the person to grant access in the browser.
#[derive(Debug, Clone)]
pub struct LoginFlow {
    /// The page to open in the browser.
    pub login_url: Url,
    poll: Url,
    token: String,
    client: Client,
}

/// What a granted login gives: where the account's files are and the app password for them.
#[derive(Clone)]
pub struct SignedIn {
    /// The server's address, as the server gives it.
    pub server: Url,
    /// The account's WebDAV folder, `…/remote.php/dav/files/<user id>/`.
    pub dav_url: Url,
    /// The name to sign in with, and the app password made for this device.
    pub credentials: Credentials,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("server", &self.server.as_str())
            .field("dav_url", &self.dav_url.as_str())
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// How a login ended without credentials.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Server(#[from] Error),
    /// The server's answer is not a Login Flow v2 answer: not Nextcloud, or too old.
    #[error("{0}: this server does not offer Nextcloud's Login Flow v2")]
    NotOffered(String),
    /// Nobody granted access in time (the server forgets a flow after 20 minutes).
    #[error("nobody signed in within {0:?}")]
    TimedOut(Duration),
    #[error("the sign-in was cancelled")]
    Cancelled,
}

/// How long a flow is polled before giving up: the server's own lifetime of a flow.
pub const LOGIN_PATIENCE: Duration = Duration::from_secs(20 * 60);

impl LoginFlow {
    /// Starts a login at the server whose address a person typed (its root, or any address
    /// below it, such as its WebDAV folder).
    pub async fn start(server: &str, options: Options) -> Result<LoginFlow, LoginError> {
        let client = Client::new(server, None, options)?;
        let root = Layout::of(client.base()).map_or_else(|| client.base().clone(), |l| l.root);
        let start = root
            .join("index.php/login/v2")
            .map_err(|e| LoginError::NotOffered(e.to_string()))?;
        let answer = client
            .send_url(&Method::POST, &start, "login/v2", |r| r)
            .await
            .map_err(|e| match e.status() {
                Some(
                    StatusCode::BAD_REQUEST
                    | StatusCode::NOT_FOUND
                    | StatusCode::METHOD_NOT_ALLOWED
                    | StatusCode::NOT_IMPLEMENTED,
                ) => LoginError::NotOffered(root.to_string()),
                _ => LoginError::Server(e),
            })?;
        let started = small_json(answer).await;
        let on_server = |field: &Value| {
            field
                .as_str()
                .and_then(|s| Url::parse(s).ok())
                .filter(|u| u.origin() == root.origin())
        };
        let (Some(login_url), Some(poll), Some(token)) = (
            on_server(&started["login"]),
            on_server(&started["poll"]["endpoint"]),
            started["poll"]["token"].as_str(),
        ) else {
            return Err(LoginError::NotOffered(root.to_string()));
        };
        Ok(LoginFlow {
            login_url,
            poll,
            token: token.to_owned(),
            client,
        })
    }

    /// Asks once whether access was granted.
    pub async fn poll(&self) -> Result<Option<SignedIn>, LoginError> {
        let body = format!(
            "token={}",
            percent_encoding::utf8_percent_encode(&self.token, percent_encoding::NON_ALPHANUMERIC)
        );
        let answer = self
            .client
            .send_url(&Method::POST, &self.poll, "login/v2/poll", |r| {
                r.header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body.clone())
            })
            .await;
        let granted = match answer {
            Ok(answer) => small_json(answer).await,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let (Some(server), Some(login), Some(password)) = (
            granted["server"].as_str().and_then(|s| Url::parse(s).ok()),
            granted["loginName"].as_str(),
            granted["appPassword"].as_str(),
        ) else {
            return Err(LoginError::NotOffered(self.poll.to_string()));
        };
        let credentials = Credentials::new(login, password);
        let dav_url = self.dav_url(&server, &credentials).await?;
        Ok(Some(SignedIn {
            server,
            dav_url,
            credentials,
        }))
    }

    /// Polls every `every` until access is granted, `cancel` fires or [`LOGIN_PATIENCE`]
    /// passes.
    pub async fn wait(
        &self,
        every: Duration,
        cancel: &CancellationToken,
    ) -> Result<SignedIn, LoginError> {
        let waiting = async {
            loop {
                if let Some(signed_in) = self.poll().await? {
                    return Ok(signed_in);
                }
                tokio::time::sleep(every).await;
            }
        };
        tokio::select! {
            () = cancel.cancelled() => Err(LoginError::Cancelled),
            done = tokio::time::timeout(LOGIN_PATIENCE, waiting) => {
                done.unwrap_or(Err(LoginError::TimedOut(LOGIN_PATIENCE)))
            }
        }
    }

    /// The account's WebDAV folder: named by the user id, which may differ from the login
    /// name (an e-mail address, say), so the server is asked.
    async fn dav_url(&self, server: &Url, credentials: &Credentials) -> Result<Url, LoginError> {
        let mut base = server.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let mut options = self.client.inner.options.clone();
        options.quirks = Default::default();
        let account = Client::new(base.as_str(), Some(credentials.clone()), options)?;
        let mut who = base
            .join("ocs/v1.php/cloud/user")
            .map_err(|e| LoginError::NotOffered(e.to_string()))?;
        who.set_query(Some("format=json"));
        let answer = account
            .send_url(&Method::GET, &who, "cloud/user", |r| {
                r.header("OCS-APIRequest", "true")
                    .header(ACCEPT, "application/json")
            })
            .await?;
        let user = small_json(answer).await["ocs"]["data"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| LoginError::NotOffered(who.to_string()))?;
        let segment =
            percent_encoding::utf8_percent_encode(&user, percent_encoding::NON_ALPHANUMERIC);
        base.join(&format!("remote.php/dav/files/{segment}/"))
            .map_err(|e| LoginError::NotOffered(e.to_string()))
    }
}

impl Client {
    /// Deletes the app password this client signs in with (`DELETE
    /// /ocs/v2.php/core/apppassword`), so a removed server keeps no way in from this device.
    /// A server without the endpoint, or a password that is already gone, is not an error.
    pub async fn revoke_app_password(&self) -> Result<(), Error> {
        let root = Layout::of(&self.inner.base).map_or_else(|| self.inner.base.clone(), |l| l.root);
        let Ok(url) = root.join("ocs/v2.php/core/apppassword") else {
            return Ok(());
        };
        match self
            .send_url(&Method::DELETE, &url, "core/apppassword", |r| {
                r.header("OCS-APIRequest", "true")
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_auth() || e.is_not_found() || e.is_forbidden() => Ok(()),
            Err(e) => Err(e),
        }
    }
}
