//! Group commit of agreed states: transfers finishing together share one journal transaction.
//!
//! Each completed file must be in the journal before it counts as done, and each commit with
//! `synchronous=FULL` costs an fsync and a blocking-pool hop. One writer task takes every
//! agreement that is waiting, commits them in one transaction, then answers each. A transfer
//! still returns only once its own agreement is durable; under load, a commit covers as many
//! files as finished while the previous one was being written.
//!
//! A download's rename is durable only once its folder is fsync'd. The writer syncs each folder
//! named in a batch once, before the transaction: a file is never recorded as synced while its
//! rename could still be lost, and ten files renamed into one folder cost one folder sync.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tokio::sync::{mpsc, oneshot};

use crate::journal::{Agreed, Journal, JournalError};
use crate::model::PairId;

/// The most agreements one transaction takes.
const BATCH: usize = 512;

type Reply = oneshot::Sender<Result<(), String>>;

/// One agreement waiting for its commit.
struct Waiting {
    entry: Agreed,
    /// The local folder a file was just renamed into, to sync before the commit.
    renamed_in: Option<PathBuf>,
    reply: Reply,
}

/// Hands agreements to the writer task of one run; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Waiting>,
}

impl Recorder {
    /// Starts the writer task; it ends once every clone of the recorder is dropped.
    pub fn start(journal: Journal, pair: PairId) -> Recorder {
        let (queue, mut waiting) = mpsc::unbounded_channel::<Waiting>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while waiting.recv_many(&mut batch, BATCH).await > 0 {
                let mut folders = BTreeSet::new();
                let mut entries = Vec::with_capacity(batch.len());
                let mut replies = Vec::with_capacity(batch.len());
                for Waiting {
                    entry,
                    renamed_in,
                    reply,
                } in batch.drain(..)
                {
                    folders.extend(renamed_in);
                    entries.push(entry);
                    replies.push(reply);
                }
                let committed = journal
                    .call(move |j| {
                        for folder in &folders {
                            sync_folder(folder).map_err(|e| {
                                JournalError::Batch(format!("{}: {e}", folder.display()))
                            })?;
                        }
                        j.agree_all(pair, &entries)
                    })
                    .await
                    .map_err(|e| e.to_string());
                for reply in replies {
                    // A transfer that stopped waiting has nothing left to learn.
                    let _ = reply.send(committed.clone());
                }
            }
        });
        Recorder { queue }
    }

    /// Records that both sides agree on `entry`, once `renamed_in` (the folder a download was
    /// just renamed into) is synced; returns once the agreement is committed.
    pub async fn agree(
        &self,
        entry: Agreed,
        renamed_in: Option<PathBuf>,
    ) -> Result<(), JournalError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || JournalError::Worker("the journal's writer task stopped".into());
        let waiting = Waiting {
            entry,
            renamed_in,
            reply,
        };
        self.queue.send(waiting).map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(JournalError::Batch)
    }
}

/// Makes the renames into `folder` durable.
fn sync_folder(folder: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(folder)?.sync_all()
}
