//! Answers no well-behaved server gives: each gets a typed error, never a panic or a hang.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tidesync_testkit::{Reply, ScriptedServer};
use tidesync_webdav::{Client, Depth, Error, Options, RemotePath, RetryPolicy};

fn options() -> Options {
    Options {
        idle_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        ..Options::default()
    }
}

fn file() -> RemotePath {
    RemotePath::parse("f.bin").unwrap()
}

/// A server that answers every request with `reply()` and counts the requests.
async fn server(
    reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> (ScriptedServer, Client, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let server = ScriptedServer::start(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
        reply()
    })
    .await
    .unwrap();
    let client = Client::new(&server.url(), None, options()).unwrap();
    (server, client, count)
}

#[tokio::test]
async fn a_content_range_that_is_not_the_one_asked_for_is_refused() {
    let (_s, client, _) = server(|| {
        Reply::http(
            "206 Partial Content",
            &[("Content-Range", "bytes 0-9/10")],
            b"0123456789",
        )
    })
    .await;
    let error = client.get(&file(), 5, Some("\"v1\"")).await.unwrap_err();
    assert!(
        matches!(&error, Error::ContentRange { requested: 5, got, .. } if got == "bytes 0-9/10"),
        "{error}"
    );

    let (_s, client, _) = server(|| Reply::http("206 Partial Content", &[], b"56789")).await;
    let error = client.get(&file(), 5, None).await.unwrap_err();
    assert!(matches!(error, Error::ContentRange { .. }), "{error}");
}

#[tokio::test]
async fn a_body_shorter_than_its_length_is_an_error_not_a_file() {
    let (_s, client, _) =
        server(|| Reply::http("200 OK", &[("Content-Length", "100")], b"only ten b")).await;
    let mut download = client.get(&file(), 0, None).await.unwrap();
    let mut received = 0;
    let error = loop {
        match download.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => panic!("a short body must not end cleanly"),
            Err(error) => break error,
        }
    };
    assert!(received <= 10);
    assert!(
        matches!(error, Error::Transport { .. } | Error::ShortBody { .. }),
        "{error}"
    );
    assert!(
        error.is_retryable(),
        "a cut body is resumed, so it is retryable: {error}"
    );
}

#[tokio::test]
async fn a_stalled_server_is_detected_by_the_idle_timeout() {
    let (_s, client, count) = server(|| Reply::Stall).await;
    let error = client.get(&file(), 0, None).await.unwrap_err();
    assert!(matches!(error, Error::Stalled { .. }), "{error}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "stalls are retried up to the attempt limit"
    );
}

#[tokio::test]
async fn final_statuses_are_not_retried_and_are_classified() {
    for (status, check) in [
        ("401 Unauthorized", Error::is_auth as fn(&Error) -> bool),
        ("403 Forbidden", Error::is_forbidden),
        ("404 Not Found", Error::is_not_found),
        ("412 Precondition Failed", Error::is_precondition_failed),
        ("507 Insufficient Storage", Error::is_insufficient_storage),
    ] {
        let (_s, client, count) = server(move || Reply::http(status, &[], b"")).await;
        let error = client.get(&file(), 0, None).await.unwrap_err();
        assert!(check(&error), "{status}: {error}");
        assert!(!error.is_retryable(), "{status}");
        assert_eq!(
            error.is_auth(),
            status.starts_with("401"),
            "only a 401 is a login failure: {status}"
        );
        assert_eq!(count.load(Ordering::SeqCst), 1, "{status} is asked once");
    }
}

#[tokio::test]
async fn busy_servers_are_retried_honouring_retry_after() {
    for status in [
        "423 Locked",
        "429 Too Many Requests",
        "500 Internal Server Error",
        "502 Bad Gateway",
        "503 Service Unavailable",
        "504 Gateway Timeout",
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let (_s, client, _) = server(move || {
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::http(status, &[("Retry-After", "0")], b"")
            } else {
                Reply::http("200 OK", &[], b"ok")
            }
        })
        .await;
        let mut download = client
            .get(&file(), 0, None)
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_eq!(download.chunk().await.unwrap().as_deref(), Some(&b"ok"[..]));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "{status} is retried once, then succeeds"
        );
    }
}

#[tokio::test]
async fn a_listing_that_is_a_web_page_says_so() {
    let (_s, client, _) = server(|| {
        Reply::http(
            "200 OK",
            &[("Content-Type", "text/html")],
            b"<html>Login</html>",
        )
    })
    .await;
    let error = client
        .list(&RemotePath::root(), Depth::One)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotWebDav { .. }), "{error}");
    assert!(error.to_string().contains("WebDAV address"), "{error}");
}

#[tokio::test]
async fn a_hostile_listing_over_the_wire_is_refused_typed() {
    let (_s, client, _) = server(|| {
        Reply::http(
            "207 Multi-Status",
            &[],
            br#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d:multistatus xmlns:d="DAV:"><d:response><d:href>/&x;</d:href></d:response></d:multistatus>"#,
        )
    })
    .await;
    let error = client
        .list(&RemotePath::root(), Depth::One)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Listing {
                source: tidesync_webdav::ParseError::Dtd,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_transport_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(&format!("http://127.0.0.1:{port}/"), None, options()).unwrap();
    let error = client
        .list(&RemotePath::root(), Depth::Zero)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error}");
    assert!(error.is_retryable());
}
