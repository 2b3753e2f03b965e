//! Exit codes. Scripts branch on the number; people read the one-line message on stderr.

use std::process::ExitCode;

/// How `tidesync` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything synced.
    Done,
    /// The sync finished, but some files could not be synced.
    FileErrors,
    /// The command line or the configuration is wrong.
    Usage,
    /// The server refused the credentials.
    Auth,
    /// The server's certificate is not trusted (or not the pinned one).
    Certificate,
    /// The server could not be reached, after retries.
    Network,
    /// The server accepted the login but refused this account the folder (403).
    Forbidden,
    /// The sync would have deleted too much; nothing was deleted.
    MassDelete,
    /// The local folder or the server's is missing or is not the one synced; nothing done.
    FolderGone,
    /// Another Tidesync (the app, another `tidesync`) is syncing this pair; nothing done.
    Busy,
    /// Interrupted by Ctrl-C; the next run resumes.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::FileErrors => 1,
            Exit::Usage => 2,
            Exit::Auth => 3,
            Exit::Network => 4,
            Exit::MassDelete => 5,
            Exit::Forbidden => 6,
            Exit::Certificate => 7,
            Exit::FolderGone => 8,
            Exit::Busy => 9,
            Exit::Interrupted => 130,
        }
    }

    /// What to do about it, after the message.
    fn advice(self) -> &'static str {
        match self {
            Exit::Done => "",
            Exit::FileErrors => {
                "the files listed were not synced; fix what each message says and run again"
            }
            Exit::Usage => "see `tidesync sync --help`",
            Exit::Auth => "check the user name and the password",
            Exit::Certificate => {
                "check the address; if the certificate shown above is your server's, run again with --pin-sha256 and its SHA-256, or trust its CA with --ca-cert FILE"
            }
            Exit::Network => "check that the server is running and reachable, then run again",
            Exit::Forbidden => {
                "the login works, but this account may not use that folder; check its sharing or permissions on the server"
            }
            Exit::MassDelete => {
                "if the deletes are intended, run once with --allow-deletes (files deleted here go to the folder's trash) or raise --max-delete"
            }
            Exit::FolderGone => {
                "the journal in --state remembers files synced from that folder; to start afresh with another folder, use another --state"
            }
            Exit::Busy => "run again once the other one is done, or quit it",
            Exit::Interrupted => "run the same command again to resume",
        }
    }

    /// Prints `tidesync: <message> (<advice>)` on stderr and returns the exit code.
    pub fn report(self, message: &str) -> ExitCode {
        let advice = self.advice();
        if advice.is_empty() {
            eprintln!("tidesync: {message}");
        } else {
            eprintln!("tidesync: {message} ({advice})");
        }
        ExitCode::from(self.code())
    }
}
