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
//!
//! An upload's temp name must be durable before its `PUT` (a killed run's successor deletes
//! what is recorded), so [`Recorder::begin_upload`] waits for its commit; the writer commits
//! such a batch at once, with every other that queued meanwhile: many uploads starting
//! together share one transaction. Its end needs no hurry ([`Recorder::end_upload`]): if a
//! crash loses it, the next run's delete of a temp name already moved finds nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::journal::{Agreed, Batch, Journal, JournalError};
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
    /// An upload's temp name, to commit at once; answered once it is durable.
    BeginUpload {
        temp: String,
        committed: oneshot::Sender<Option<String>>,
    },
    /// An upload's temp name no longer in use, to forget with the next batch.
    EndUpload(String),
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

    /// Records the temp name an upload is about to use; returns once that is durable.
    pub async fn begin_upload(&self, temp: String) -> Result<(), JournalError> {
        let (committed, answer) = oneshot::channel();
        self.queue
            .send(Message::BeginUpload { temp, committed })
            .map_err(|_| stopped())?;
        match answer.await.map_err(|_| stopped())? {
            None => Ok(()),
            Some(failure) => Err(JournalError::Batch(failure)),
        }
    }

    /// Forgets, soon, the temp name of an upload that was moved into place.
    pub fn end_upload(&self, temp: String) -> Result<(), JournalError> {
        self.queue
            .send(Message::EndUpload(temp))
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
    /// Temp names to record, with who waits for them to be durable.
    begun: Vec<(String, oneshot::Sender<Option<String>>)>,
    ended: Vec<String>,
    failure: Option<String>,
}

impl Writer {
    fn new(journal: Journal, pair: PairId) -> Writer {
        Writer {
            journal,
            pair,
            entries: Vec::new(),
            folders: BTreeSet::new(),
            begun: Vec::new(),
            ended: Vec::new(),
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
                Some(Message::BeginUpload { temp, committed }) => {
                    // Due now: messages already queued still join (a timeout polls its
                    // future before its deadline).
                    due = Some(Instant::now());
                    self.begun.push((temp, committed));
                }
                Some(Message::EndUpload(temp)) => {
                    due.get_or_insert_with(|| Instant::now() + LINGER);
                    self.ended.push(temp);
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

    /// Syncs the folders renamed into, then records the batch in one transaction, and tells
    /// the uploads waiting for their temp names how it went.
    async fn commit(&mut self) {
        if self.entries.is_empty() && self.begun.is_empty() && self.ended.is_empty() {
            return;
        }
        let entries = std::mem::take(&mut self.entries);
        let folders = std::mem::take(&mut self.folders);
        let ended = std::mem::take(&mut self.ended);
        let (begun, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.begun).into_iter().unzip();
        let pair = self.pair;
        let committed = self
            .journal
            .call(move |j| {
                for folder in &folders {
                    sync_folder(folder)
                        .map_err(|e| JournalError::Batch(format!("{}: {e}", folder.display())))?;
                }
                j.record_batch(
                    pair,
                    &Batch {
                        begun: &begun,
                        entries: &entries,
                        ended: &ended,
                    },
                )
            })
            .await;
        let failure = committed.err().map(|error| error.to_string());
        for upload in waiting {
            let _ = upload.send(failure.clone());
        }
        if let Some(failure) = failure {
            tracing::warn!(error = %failure, "a batch could not be recorded");
            self.failure.get_or_insert(failure);
        }
    }
}

/// Makes the renames into `folder` durable.
fn sync_folder(folder: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::Mode;

    #[tokio::test]
    async fn upload_temps_are_durable_when_begun_and_forgotten_after_their_end() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
        let remote = journal
            .add_remote("demo", "http://127.0.0.1:1/", None, false)
            .unwrap();
        let pair = journal
            .ensure_pair(remote, "", Path::new("/tmp/x"), Mode::Upload)
            .unwrap();
        let recorder = Recorder::start(journal.clone(), pair);
        let begun = futures_util::future::join_all(
            (0..10).map(|i| recorder.begin_upload(format!(".tidesync-up-{i}"))),
        )
        .await;
        assert!(begun.iter().all(Result::is_ok), "{begun:?}");
        assert_eq!(
            journal.pending_uploads(pair).unwrap().len(),
            10,
            "every temp committed before begin returned"
        );

        recorder.end_upload(".tidesync-up-3".into()).unwrap();
        assert_eq!(
            journal.pending_uploads(pair).unwrap().len(),
            10,
            "an end waits for the next batch"
        );
        recorder.flush().await.unwrap();
        let left = journal.pending_uploads(pair).unwrap();
        assert_eq!(left.len(), 9);
        assert!(!left.contains(&".tidesync-up-3".to_owned()));
    }
}
