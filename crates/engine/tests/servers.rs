//! Adding and changing a server with its login and the certificate the user trusts is one
//! operation: tested against a real server (rclone serve with Basic authentication, over http
//! or over TLS with a certificate the test makes), with a password store that works or fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tidesync_engine::{
    Engine, EngineError, EngineOptions, FailureKind, JobState, Mode, PasswordStore,
    PasswordStoreError, ProcessPasswords, RemoteId, ServerForm,
};
use tidesync_testkit::{RcloneServer, TestCertificate};

const USER: &str = "ada";
const PASSWORD: &str = "lovelace";

/// The process store, until `broken` is set: then every write fails, as a locked keychain or
/// a full disk would make it.
#[derive(Debug, Default)]
struct FlakyStore {
    inner: ProcessPasswords,
    broken: AtomicBool,
}

impl FlakyStore {
    fn refuse(&self) -> Result<(), PasswordStoreError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(PasswordStoreError("the keychain is locked".into()));
        }
        Ok(())
    }
}

impl PasswordStore for FlakyStore {
    fn store(&self, remote: RemoteId, password: &str) -> Result<(), PasswordStoreError> {
        self.refuse()?;
        self.inner.store(remote, password)
    }

    fn load(&self, remote: RemoteId) -> Result<Option<String>, PasswordStoreError> {
        self.inner.load(remote)
    }

    fn forget(&self, remote: RemoteId) -> Result<(), PasswordStoreError> {
        self.refuse()?;
        self.inner.forget(remote)
    }
}

struct Setup {
    engine: Engine,
    store: Arc<FlakyStore>,
    url: String,
    _server: RcloneServer,
    _dirs: [tempfile::TempDir; 2],
}

async fn setup() -> Setup {
    let (served, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = RcloneServer::serve(served.path(), Some((USER, PASSWORD)))
        .await
        .unwrap();
    let store = Arc::new(FlakyStore::default());
    let options = EngineOptions {
        passwords: store.clone(),
        ..EngineOptions::default()
    };
    let engine = Engine::open(data.path(), options).await.unwrap();
    Setup {
        engine,
        store,
        url: server.url(),
        _server: server,
        _dirs: [served, data],
    }
}

fn form(name: &str, url: &str, password: Option<&str>) -> ServerForm {
    ServerForm {
        name: name.to_owned(),
        url: url.to_owned(),
        user: Some(USER.to_owned()),
        password: password.map(str::to_owned),
        pin_sha256: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_is_saved_with_its_password_and_removed_with_it() {
    let s = setup().await;
    let remote = s
        .engine
        .add_server(form("home", &s.url, Some(PASSWORD)))
        .await
        .unwrap();
    assert_eq!(remote.name, "home");
    assert_eq!(s.store.load(remote.id).unwrap().as_deref(), Some(PASSWORD));
    assert_eq!(s.engine.remotes().await.unwrap().len(), 1);

    s.engine.remove_remote(remote.id).await.unwrap();
    assert_eq!(s.store.load(remote.id).unwrap(), None);
    assert!(s.engine.remotes().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_saves_nothing() {
    let s = setup().await;
    let error = s
        .engine
        .add_server(form("home", &s.url, Some("wrong")))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, EngineError::Remote(e) if e.is_auth()),
        "{error}"
    );
    assert!(s.engine.remotes().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_password_cannot_be_stored_is_not_saved() {
    let s = setup().await;
    s.store.broken.store(true, Ordering::SeqCst);
    let error = s
        .engine
        .add_server(form("home", &s.url, Some(PASSWORD)))
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::Passwords(_)), "{error}");
    assert!(
        s.engine.remotes().await.unwrap().is_empty(),
        "a remote without its password would fail every sync"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_server_goes_back_when_its_password_cannot_be_stored() {
    let s = setup().await;
    let before = s
        .engine
        .add_server(form("home", &s.url, Some(PASSWORD)))
        .await
        .unwrap();
    s.store.broken.store(true, Ordering::SeqCst);
    let error = s
        .engine
        .change_server(before.id, form("renamed", &s.url, Some(PASSWORD)))
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::Passwords(_)), "{error}");
    assert_eq!(s.engine.remote(before.id).await.unwrap(), before);

    // Without a new password the stored one is used and kept: nothing to store, so it works.
    let renamed = s
        .engine
        .change_server(before.id, form("renamed", &s.url, None))
        .await
        .unwrap();
    assert_eq!(renamed.name, "renamed");
    assert_eq!(s.store.load(before.id).unwrap().as_deref(), Some(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_without_a_user_is_refused_before_anything_is_sent() {
    let s = setup().await;
    let error = s
        .engine
        .add_server(ServerForm {
            user: None,
            ..form("home", &s.url, Some(PASSWORD))
        })
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::PasswordWithoutUser), "{error}");
    assert!(s.engine.remotes().await.unwrap().is_empty());
}

/// An engine and a TLS rclone whose certificate nobody vouches for, serving one file.
async fn self_signed() -> (Setup, TestCertificate, RcloneServer, tempfile::TempDir) {
    let s = setup().await;
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("report.txt"), b"over TLS").unwrap();
    let certificate = TestCertificate::self_signed();
    let server = RcloneServer::serve_tls(served.path(), Some((USER, PASSWORD)), &certificate)
        .await
        .unwrap();
    (s, certificate, server, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_server_is_shown_then_trusted_by_its_fingerprint_and_syncs() {
    let (s, certificate, server, _served) = self_signed().await;
    let error = s
        .engine
        .add_server(form("home", &server.url(), Some(PASSWORD)))
        .await
        .unwrap_err();
    let EngineError::UntrustedCertificate {
        certificate: shown, ..
    } = &error
    else {
        panic!("{error}");
    };
    let fingerprint = tidesync_webdav::certificate_fingerprint(&certificate.der);
    assert_eq!(shown.sha256, fingerprint);
    assert!(shown.is_self_signed());
    assert_eq!(error.failure_kind(), FailureKind::UntrustedCertificate);
    assert!(
        s.engine.remotes().await.unwrap().is_empty(),
        "nothing saved"
    );

    // Trusted as shown (any spelling of the fingerprint), it is saved with its pin and syncs.
    let remote = s
        .engine
        .add_server(ServerForm {
            pin_sha256: Some(fingerprint.replace(':', "").to_lowercase()),
            ..form("home", &server.url(), Some(PASSWORD))
        })
        .await
        .unwrap();
    assert_eq!(remote.pin_sha256.as_deref(), Some(fingerprint.as_str()));
    let local = tempfile::tempdir().unwrap();
    let pair = s
        .engine
        .ensure_pair(remote.id, "", local.path(), Mode::Download)
        .await
        .unwrap();
    let job = s.engine.start(pair).await.unwrap();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert_eq!(
        std::fs::read(local.path().join("report.txt")).unwrap(),
        b"over TLS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_server_with_a_new_certificate_is_refused_not_re_trusted() {
    let (s, certificate, server, served) = self_signed().await;
    let fingerprint = tidesync_webdav::certificate_fingerprint(&certificate.der);
    let remote = s
        .engine
        .add_server(ServerForm {
            pin_sha256: Some(fingerprint.clone()),
            ..form("home", &server.url(), Some(PASSWORD))
        })
        .await
        .unwrap();
    let local = tempfile::tempdir().unwrap();
    let pair = s
        .engine
        .ensure_pair(remote.id, "", local.path(), Mode::Download)
        .await
        .unwrap();
    // The server comes back with another certificate (at another port here).
    drop(server);
    let replaced = TestCertificate::self_signed();
    let server = RcloneServer::serve_tls(served.path(), Some((USER, PASSWORD)), &replaced)
        .await
        .unwrap();

    // Changing the address keeps the pin: the new certificate is shown, not trusted.
    let error = s
        .engine
        .change_server(remote.id, form("home", &server.url(), None))
        .await
        .unwrap_err();
    let EngineError::UntrustedCertificate {
        certificate: shown, ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(
        shown.sha256,
        tidesync_webdav::certificate_fingerprint(&replaced.der)
    );
    assert_eq!(s.engine.remote(remote.id).await.unwrap(), remote);

    // A sync that meets the new certificate fails as untrusted and writes nothing.
    s.engine
        .update_remote(remote.id, "home", &server.url(), Some(USER))
        .await
        .unwrap();
    let job = s.engine.start(pair).await.unwrap();
    let outcome = s.engine.wait(job).await.unwrap();
    assert_eq!(outcome.state, JobState::Failed);
    assert_eq!(outcome.failure, Some(FailureKind::UntrustedCertificate));
    assert!(
        outcome
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("not the pinned one"),
        "{outcome:?}"
    );
    assert!(!local.path().join("report.txt").exists());
}
