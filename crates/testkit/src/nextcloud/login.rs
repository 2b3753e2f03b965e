//! What a client asks before it syncs: `status.php`, the OCS capabilities, Login Flow v2 (by
//! Nextcloud's "Login Flow" documentation) and the deletion of an app password.
//!
//! The flow's browser step is a form at the `login` URL; a test plays the browser by posting
//! it ([`grant_form`] builds the body), which is what a person does after typing the account
//! password on the server's own page.

use std::time::SystemTime;

use bytes::Bytes;
use serde_json::json;

use super::{ACCOUNT_PASSWORD, Answer, Asked, Authenticated, State, USER, reply};

/// A flow that `POST /index.php/login/v2` started.
#[derive(Debug)]
pub(crate) struct Flow {
    /// The token in the `login` URL the browser opens.
    login_token: String,
    /// The app password, once the browser step granted access.
    granted: Option<String>,
    started: SystemTime,
}

/// How long a flow can be polled (Nextcloud's own limit is 20 minutes).
const FLOW_LIFETIME: std::time::Duration = std::time::Duration::from_secs(20 * 60);

/// A random token of `len` letters and digits.
pub(crate) fn new_token(len: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(len)
        .collect()
}

/// The body a browser posts to grant a flow: the flow's token from its `login` URL and the
/// account's credentials, form-encoded.
pub fn grant_form(login_url: &str, user: &str, password: &str) -> String {
    let token = login_url.rsplit('/').next().unwrap_or_default();
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "flow={}&user={}&password={}",
        encode(token),
        encode(user),
        encode(password)
    )
}

pub(super) fn status(state: &State) -> Answer {
    let body = json!({
        "installed": true,
        "maintenance": state.maintenance,
        "needsDbUpgrade": false,
        "version": "31.0.0.18",
        "versionstring": "31.0.0",
        "edition": "",
        "productname": "Nextcloud",
        "extendedSupport": false,
    });
    json_reply(200, &body)
}

/// `GET /ocs/v{1,2}.php/cloud/capabilities`, answered to anyone, in JSON when asked for it.
pub(super) fn capabilities(state: &State, asked: &Asked) -> Answer {
    if !wants_json(asked) {
        return reply(
            406,
            &[],
            "this emulation answers OCS in JSON only (format=json)",
        );
    }
    let features = &state.features;
    let mut dav = serde_json::Map::new();
    if features.chunking {
        dav.insert("chunking".into(), "1.0".into());
    }
    if features.bulk_upload {
        dav.insert("bulkupload".into(), "1.0".into());
    }
    let data = json!({
        "version": { "major": 31, "minor": 0, "micro": 0, "string": "31.0.0", "edition": "", "extendedSupport": false },
        "capabilities": {
            "core": { "pollinterval": 60, "webdav-root": "remote.php/webdav" },
            "dav": dav,
            "files": {
                "bigfilechunking": features.chunking,
                "chunked_upload": { "max_size": features.max_chunk_size, "max_parallel_count": 5 },
            },
        },
    });
    ocs_reply(asked, 200, data)
}

/// The other OCS requests: only the deletion of the app password a request signs with.
pub(super) fn ocs(state: &mut State, asked: &Asked, authenticated: Authenticated) -> Answer {
    if asked.header("ocs-apirequest") != Some("true") {
        return reply(401, &[], "OCS-APIRequest: true is required");
    }
    match (asked.method.as_str(), asked.path.as_str(), authenticated) {
        ("DELETE", "/ocs/v2.php/core/apppassword", Authenticated::AppPassword(password)) => {
            state.app_passwords.remove(&password);
            ocs_reply(asked, 200, json!([]))
        }
        ("DELETE", "/ocs/v2.php/core/apppassword", Authenticated::AccountPassword) => {
            reply(403, &[], "not signed in with an app password")
        }
        ("GET", "/ocs/v1.php/cloud/user" | "/ocs/v2.php/cloud/user", _) => ocs_reply(
            asked,
            200,
            json!({ "id": USER, "display-name": "Alice Example", "enabled": true }),
        ),
        _ => reply(404, &[], ""),
    }
}

pub(super) fn start_flow(state: &mut State) -> Answer {
    let (poll_token, login_token) = (new_token(64), new_token(64));
    let base = state.base.clone();
    let started = state.now();
    state.flows.insert(
        poll_token.clone(),
        Flow {
            login_token: login_token.clone(),
            granted: None,
            started,
        },
    );
    json_reply(
        200,
        &json!({
            "poll": { "token": poll_token, "endpoint": format!("{base}/index.php/login/v2/poll") },
            "login": format!("{base}/index.php/login/v2/flow/{login_token}"),
        }),
    )
}

/// 404 until the flow is granted, then the credentials, once.
pub(super) fn poll(state: &mut State, body: &Bytes) -> Answer {
    let now = state.now();
    state
        .flows
        .retain(|_, f| now.duration_since(f.started).unwrap_or_default() < FLOW_LIFETIME);
    let token = form_value(body, "token").unwrap_or_default();
    if state.flows.get(&token).is_none_or(|f| f.granted.is_none()) {
        return reply(404, &[], "");
    }
    let flow = state.flows.remove(&token).expect("looked up above");
    json_reply(
        200,
        &json!({
            "server": state.base,
            "loginName": USER,
            "appPassword": flow.granted,
        }),
    )
}

/// The page the browser opens: a form asking for the account's credentials.
pub(super) fn flow_page(state: &State, login_token: &str) -> Answer {
    if !state.flows.values().any(|f| f.login_token == login_token) {
        return reply(404, &[], "This login flow is not known or has expired");
    }
    let page = format!(
        "<!doctype html><title>Connect to your account</title>\
         <form method=\"post\" action=\"/index.php/login/v2/grant\">\
         <input type=\"hidden\" name=\"flow\" value=\"{login_token}\">\
         <input name=\"user\"><input type=\"password\" name=\"password\">\
         <button id=\"grant\" type=\"submit\">Grant access</button></form>"
    );
    reply(
        200,
        &[("Content-Type", "text/html; charset=utf-8".into())],
        page,
    )
}

/// The form's answer: with the account's credentials, an app password for the flow.
pub(super) fn grant(state: &mut State, body: &Bytes) -> Answer {
    let token = form_value(body, "flow").unwrap_or_default();
    let user = form_value(body, "user").unwrap_or_default();
    let password = form_value(body, "password").unwrap_or_default();
    if user != USER || password != ACCOUNT_PASSWORD {
        return reply(403, &[], "Wrong user name or password");
    }
    let app_password = new_token(72);
    let Some(flow) = state.flows.values_mut().find(|f| f.login_token == token) else {
        return reply(404, &[], "This login flow is not known or has expired");
    };
    flow.granted = Some(app_password.clone());
    state.app_passwords.insert(app_password);
    reply(
        200,
        &[("Content-Type", "text/html; charset=utf-8".into())],
        "Account connected",
    )
}

fn form_value(body: &Bytes, name: &str) -> Option<String> {
    std::str::from_utf8(body).ok()?.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n == name).then(|| {
            let v = v.replace('+', " ");
            percent_encoding::percent_decode_str(&v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn wants_json(asked: &Asked) -> bool {
    asked.query.split('&').any(|p| p == "format=json")
        || asked
            .header("accept")
            .is_some_and(|a| a.contains("application/json"))
}

fn json_reply(status: u16, body: &serde_json::Value) -> Answer {
    reply(
        status,
        &[("Content-Type", "application/json; charset=utf-8".into())],
        body.to_string(),
    )
}

/// An OCS envelope: v1 says 100 for success, v2 the HTTP status.
fn ocs_reply(asked: &Asked, status: u16, data: serde_json::Value) -> Answer {
    let code = if asked.path.starts_with("/ocs/v1.php") {
        100
    } else {
        status
    };
    json_reply(
        status,
        &json!({ "ocs": { "meta": { "status": "ok", "statuscode": code, "message": "OK" }, "data": data } }),
    )
}
