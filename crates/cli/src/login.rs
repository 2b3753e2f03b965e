//! `tidesync login` and `tidesync logout`: a Nextcloud account by Login Flow v2. `login`
//! prints the link to open in a browser, waits (Ctrl-C cancels; it gives up after 20
//! minutes), and writes the app password the server makes for this device to
//! `--password-file`, readable by this user only; the account password is never asked for
//! and never stored. `logout` revokes that app password on the server and deletes the file.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tidesync_webdav::{Client, Credentials, LoginError, LoginFlow};
use tokio_util::sync::CancellationToken;

use crate::connection::{Connection, read_password, write_password};
use crate::exit::Exit;

#[derive(clap::Args, Clone)]
pub struct LoginArgs {
    /// The server's address (its root, or any address on it).
    #[arg(long)]
    url: String,
    /// Where the app password is written (created, or replaced, readable by you only).
    #[arg(long, value_name = "FILE")]
    password_file: PathBuf,
    /// Print exactly one JSON object on stdout: the WebDAV address and the user name.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connection: Connection,
}

#[derive(clap::Args, Clone)]
pub struct LogoutArgs {
    /// The account's WebDAV address, as `login` printed it.
    #[arg(long)]
    url: String,
    #[arg(long)]
    user: String,
    /// The file `login` wrote; deleted once the app password is revoked.
    #[arg(long, value_name = "FILE")]
    password_file: PathBuf,
    #[command(flatten)]
    connection: Connection,
}

/// What `login --json` prints; its field names are a public interface.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedInReport<'a> {
    dav_url: &'a str,
    user: &'a str,
    password_file: &'a str,
}

type Failure = (Exit, String);

/// How often the server is asked whether access was granted.
const POLL_EVERY: Duration = Duration::from_secs(1);

pub async fn login(args: LoginArgs) -> Result<Exit, Failure> {
    let usage = |message: String| (Exit::Usage, message);
    let options = args.connection.webdav_options().map_err(usage)?;
    // Listening before the address is shown: a Ctrl-C right after it must cancel, not kill.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| usage(format!("cannot handle signals: {e}")))?;
    let flow = LoginFlow::start(&args.url, options)
        .await
        .map_err(failure)?;
    eprintln!(
        "Open this address in a browser and sign in:\n\n  {}\n\nWaiting for the sign-in (Ctrl-C to cancel)…",
        flow.login_url
    );
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if interrupt.recv().await.is_some() {
            on_interrupt.cancel();
        }
    });
    let signed_in = flow.wait(POLL_EVERY, &cancel).await.map_err(failure)?;
    let password = signed_in.credentials.password();
    write_password(&args.password_file, password).map_err(|e| {
        usage(format!(
            "--password-file {}: {e}",
            args.password_file.display()
        ))
    })?;
    let (dav_url, user) = (
        signed_in.dav_url.as_str(),
        signed_in.credentials.user.as_str(),
    );
    if args.json {
        let report = SignedInReport {
            dav_url,
            user,
            password_file: &args.password_file.display().to_string(),
        };
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        println!(
            "Signed in as {user}. The app password is in {}.\nSync with:\n  tidesync sync --url {dav_url} --user {user} --password-file {} --local DIR",
            args.password_file.display(),
            args.password_file.display(),
        );
    }
    Ok(Exit::Done)
}

pub async fn logout(args: LogoutArgs) -> Result<Exit, Failure> {
    let usage = |message: String| (Exit::Usage, message);
    let options = args.connection.webdav_options().map_err(usage)?;
    let password = read_password(&args.password_file).map_err(usage)?;
    let client = Client::new(
        &args.url,
        Some(Credentials::new(&args.user, password)),
        options,
    )
    .map_err(|e| usage(e.to_string()))?;
    client
        .revoke_app_password()
        .await
        .map_err(|e| failure(LoginError::Server(e)))?;
    std::fs::remove_file(&args.password_file).map_err(|e| {
        usage(format!(
            "--password-file {}: {e}",
            args.password_file.display()
        ))
    })?;
    eprintln!("tidesync: signed out; the app password is revoked on the server");
    Ok(Exit::Done)
}

fn failure(error: LoginError) -> Failure {
    let exit = match &error {
        LoginError::Cancelled => Exit::Interrupted,
        LoginError::Server(e) if e.is_auth() => Exit::Auth,
        LoginError::Server(tidesync_webdav::Error::Certificate { .. }) => Exit::Certificate,
        LoginError::Server(_) => Exit::Network,
        LoginError::NotOffered(_) | LoginError::TimedOut(_) => Exit::Usage,
    };
    (exit, error.to_string())
}
