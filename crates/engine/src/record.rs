//! Write-behind of agreed states: completed files are recorded in batches, one journal
//! transaction per batch instead of one per file.
//!
//! Each commit with `synchronous=FULL` costs an fsync and a blocking-pool hop, and a transfer
//! must not hold its slot while one runs. So a transfer hands its agreement over and moves on;
//! one writer task commits what gathered over [`LINGER`] (or [`BATCH`] entries) in one
//! transaction. A run calls [`Recorder::flush`] before it ends, stopped or not, so a run's end
//! (and a suspend, a pause, a completed job) always finds its files in the journal.
//!
//! What a crash can cost: files completed in the last [`LINGER`] are on disk but not recorded.
//! The next run finds them on both sides with no agreement, compares the bytes and records
//! them: a second download, never a loss or a conflict copy of identical bytes.
//!
//! A download's rename is durable only once its folder is fsync'd. The writer syncs each folder
//! named in a batch once, before the transaction: a file is never recorded as synced while its
//! rename could still be lost, and ten files renamed into one folder cost one folder sync.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::journal::{Agreed, Journal, JournalError};
use crate::model::PairId;

/// The most agreements one transaction takes.
const BATCH: usize = 1024;

/// How long the first agreement of a batch waits for others to join it.
const LINGER: Duration = Duration::from_millis(20);

enum Message {
    Agree {
        entry: Agreed,
        /// The local folder a file was just renamed into, to sync before the commit.
        renamed_in: Option<PathBuf>,
    },
    /// Commit what is pending, then answer with the first failure since the last flush.
    Flush(oneshot::Sender<Option<String>>),
}

/// Hands agreements to the writer task of one run; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Message>,
}

impl Recorder {
    /// Starts the writer task; it commits what is left and ends once every clone is dropped.
    pub fn start(journal: Journal, pair: PairId) -> Recorder {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(Writer::new(journal, pair).run(waiting));
        Recorder { queue }
    }

    /// Records, soon, that both sides agree on `entry`, once `renamed_in` (the folder a
    /// download was just renamed into) is synced.
    pub fn agree(&self, entry: Agreed, renamed_in: Option<PathBuf>) -> Result<(), JournalError> {
        self.queue
            .send(Message::Agree { entry, renamed_in })
            .map_err(|_| stopped())
    }

    /// Returns once everything handed over so far is committed, or why it could not be.
    pub async fn flush(&self) -> Result<(), JournalError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Flush(reply))
            .map_err(|_| stopped())?;
        match answer.await.map_err(|_| stopped())? {
            None => Ok(()),
            Some(failure) => Err(JournalError::Batch(failure)),
        }
    }
}

fn stopped() -> JournalError {
    JournalError::Worker("the journal's writer task stopped".into())
}

struct Writer {
    journal: Journal,
    pair: PairId,
    entries: Vec<Agreed>,
    folders: BTreeSet<PathBuf>,
    failure: Option<String>,
}

impl Writer {
    fn new(journal: Journal, pair: PairId) -> Writer {
        Writer {
            journal,
            pair,
            entries: Vec::new(),
            folders: BTreeSet::new(),
            failure: None,
        }
    }

    async fn run(mut self, mut waiting: mpsc::UnboundedReceiver<Message>) {
        let mut due = None;
        loop {
            let message = match due {
                None => waiting.recv().await,
                Some(at) => match tokio::time::timeout_at(at, waiting.recv()).await {
                    Ok(message) => message,
                    Err(_) => {
                        self.commit().await;
                        due = None;
                        continue;
                    }
                },
            };
            match message {
                Some(Message::Agree { entry, renamed_in }) => {
                    due.get_or_insert_with(|| Instant::now() + LINGER);
                    self.entries.push(entry);
                    self.folders.extend(renamed_in);
                    if self.entries.len() >= BATCH {
                        self.commit().await;
                        due = None;
                    }
                }
                Some(Message::Flush(reply)) => {
                    self.commit().await;
                    due = None;
                    let _ = reply.send(self.failure.take());
                }
                None => {
                    self.commit().await;
                    return;
                }
            }
        }
    }

    /// Syncs the folders renamed into, then records the batch in one transaction.
    async fn commit(&mut self) {
        if self.entries.is_empty() {
            return;
        }
        let entries = std::mem::take(&mut self.entries);
        let folders = std::mem::take(&mut self.folders);
        let pair = self.pair;
        let committed = self
            .journal
            .call(move |j| {
                for folder in &folders {
                    sync_folder(folder)
                        .map_err(|e| JournalError::Batch(format!("{}: {e}", folder.display())))?;
                }
                j.agree_all(pair, &entries)
            })
            .await;
        if let Err(error) = committed {
            tracing::warn!(%error, "synced files could not be recorded");
            self.failure.get_or_insert(error.to_string());
        }
    }
}

/// Makes the renames into `folder` durable.
fn sync_folder(folder: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(folder)?.sync_all()
}
