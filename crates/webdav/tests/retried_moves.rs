//! A `MOVE` is not idempotent: a retry after a lost answer must not turn a move the server
//! made into a failure, nor a real 404 into a success.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tidesync_testkit::{Reply, ScriptedServer};
use tidesync_webdav::{Client, EntryKind, Options, Overwrite, RemotePath, RetryPolicy};

fn one_file(href: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">
<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:resourcetype/><d:getcontentlength>3</d:getcontentlength><d:getetag>"e1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"#
    )
    .into_bytes()
}

/// A server that carries out the first MOVE but closes the connection before answering (as a
/// dropped link would), then answers as such a server does: the source is gone, the
/// destination is there. `first_answers` makes the first MOVE answer 404 instead.
async fn server(first_answers: bool) -> (ScriptedServer, Client, Arc<AtomicUsize>) {
    let moves = Arc::new(AtomicUsize::new(0));
    let seen = moves.clone();
    let server = ScriptedServer::start(move |head| {
        let first_line = head.lines().next().unwrap_or_default();
        if first_line.starts_with("MOVE") {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            return if n == 0 && !first_answers {
                Reply::Raw(Vec::new())
            } else {
                Reply::http("404 Not Found", &[], b"")
            };
        }
        if first_line.starts_with("PROPFIND /b.txt") && !first_answers {
            return Reply::http("207 Multi-Status", &[], &one_file("/b.txt"));
        }
        Reply::http("404 Not Found", &[], b"")
    })
    .await
    .unwrap();
    let options = Options {
        retry: RetryPolicy {
            attempts: 3,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
        },
        ..Options::default()
    };
    let client = Client::new(&server.url(), None, options).unwrap();
    (server, client, moves)
}

fn path(p: &str) -> RemotePath {
    RemotePath::parse(p).unwrap()
}

#[tokio::test]
async fn a_move_whose_answer_was_lost_is_found_made_by_its_retry() {
    let (_server, client, moves) = server(false).await;
    client
        .move_to(
            &path("a.txt"),
            &path("b.txt"),
            EntryKind::File,
            Overwrite::Never,
            None,
        )
        .await
        .expect("the source is gone and the destination there: the move was made");
    assert_eq!(moves.load(Ordering::SeqCst), 2, "tried, then retried once");
}

#[tokio::test]
async fn a_first_404_stays_a_404() {
    let (_server, client, moves) = server(true).await;
    let error = client
        .move_to(
            &path("a.txt"),
            &path("b.txt"),
            EntryKind::File,
            Overwrite::Never,
            None,
        )
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert_eq!(moves.load(Ordering::SeqCst), 1);
}
