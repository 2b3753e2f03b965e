//! The base folder's address and where the client may follow it: http only to this machine
//! unless allowed, no credentials in URLs, redirects only within the same server.

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use super::Options;
use crate::error::Error;

pub(super) fn base_url(raw: &str, allow_http: bool) -> Result<Url, Error> {
    let invalid = |reason: &str| Error::Url {
        url: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Url {
            url: redact(&url),
            reason: "credentials belong in the user and password fields, not in the address".into(),
        });
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => {
            return Err(Error::InsecureUrl {
                url: url.to_string(),
            });
        }
        other => return Err(invalid(&format!("'{other}' is not http or https"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `url` with any userinfo removed, for messages.
fn redact(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

pub(super) fn build_http(options: &Options) -> Result<reqwest::Client, Error> {
    let builder = reqwest::Client::builder()
        .user_agent(&options.user_agent)
        .connect_timeout(options.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        // The session cookie Nextcloud and ownCloud set at the first login spares every later
        // request a password check (`validateUserPass` accepts the session): with an account
        // password, whose check is a slow hash, 500 small downloads took 182 s on a real
        // server where nextcloudcmd, which keeps the cookie, took 28 s.
        .cookie_store(true)
        .redirect(same_origin_redirects());
    options
        .tls
        .apply(builder)?
        .build()
        .map_err(|e| Error::Tls(e.to_string()))
}

/// Follows a few redirects on the same scheme, host and port; a redirect elsewhere would send
/// our credentials or our data to a server the user did not choose.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let origin = |u: &Url| {
            (
                u.scheme().to_owned(),
                u.host_str().map(str::to_owned),
                u.port_or_known_default(),
            )
        };
        let first = attempt.previous().first().map(origin);
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.is_some_and(|o| o != origin(attempt.url())) {
            attempt.error("redirect to another server refused")
        } else {
            attempt.follow()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised_and_http_is_confined_to_loopback() {
        let ok = |u: &str| base_url(u, false).map(|u| u.to_string());
        assert_eq!(
            ok("https://h.example/dav").unwrap(),
            "https://h.example/dav/"
        );
        assert_eq!(
            ok("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(ok("http://[::1]:8080/x/").unwrap(), "http://[::1]:8080/x/");
        assert_eq!(ok("http://localhost/x").unwrap(), "http://localhost/x/");
        assert!(matches!(
            ok("http://cloud.example/dav"),
            Err(Error::InsecureUrl { .. })
        ));
        assert!(matches!(
            ok("http://10.0.0.2/dav"),
            Err(Error::InsecureUrl { .. })
        ));
        assert_eq!(
            base_url("http://cloud.example/dav", true).unwrap().as_str(),
            "http://cloud.example/dav/"
        );
        assert!(matches!(ok("ftp://h.example/"), Err(Error::Url { .. })));
        assert!(matches!(ok("not a url"), Err(Error::Url { .. })));
        let with_password = ok("https://alice:s3cret@h.example/")
            .unwrap_err()
            .to_string();
        assert!(!with_password.contains("s3cret"), "{with_password}");
    }
}
