//! Writing a download's part file without a blocking-pool hop per network chunk.
//!
//! `tokio::fs` sends every call to the blocking pool: an open, a seek, several writes and an
//! fsync would each be a thread hand-off, which costs a small file more than its bytes. A
//! [`PartWriter`] keeps the body's chunks as they arrived (no copy) and writes them a slice of
//! [`SLICE`] bytes at a time, each with one vectored write in one blocking call that runs
//! while the next slice arrives: a file smaller than a slice is opened, written and fsync'd in
//! a single call, a large one is written by a disk that keeps pace with the network, and at
//! most two slices per transfer are ever held in memory.

use std::io::{IoSlice, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use tokio::task::JoinHandle;

use crate::quick_disk::QuickDisk;

/// How much of a body is gathered before it is written. It is also the most a stopped run
/// can lose: everything received is written and fsync'd before the checkpoint is recorded.
pub const SLICE: usize = 1024 * 1024;

/// The part file is opened on the first write, so a file that fits one slice costs one call.
enum File {
    Closed { offset: u64 },
    Open(std::fs::File),
}

/// A slice being written: it hands back the file.
type Writing = JoinHandle<std::io::Result<File>>;

/// Appends to a part file from `offset`; [`finish`](PartWriter::finish) makes it durable.
pub struct PartWriter {
    path: PathBuf,
    /// `None` while a slice is being written; the write hands the file back.
    file: Option<File>,
    writing: Option<Writing>,
    /// Chunks received and not yet handed to a write, and their length.
    gathered: Vec<Bytes>,
    gathered_len: usize,
    /// Bytes handed to the writer so far, from the start of the file.
    received: u64,
}

impl PartWriter {
    /// A writer for `path` that keeps its first `offset` bytes.
    pub fn new(path: &Path, offset: u64) -> PartWriter {
        PartWriter {
            path: path.to_owned(),
            file: Some(File::Closed { offset }),
            writing: None,
            gathered: Vec::new(),
            gathered_len: 0,
            received: offset,
        }
    }

    /// Bytes received so far, counted from the start of the file.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Takes `chunk`; once a slice is gathered it is written in the background.
    pub async fn push(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.received += chunk.len() as u64;
        self.gathered_len += chunk.len();
        self.gathered.push(chunk);
        if self.gathered_len >= SLICE {
            self.settle().await?;
            let file = self.file.take().ok_or_else(lost_write)?;
            let slice = self.take_gathered();
            let path = self.path.clone();
            self.writing = Some(tokio::task::spawn_blocking(move || {
                write(&path, file, &slice).map(File::Open)
            }));
        }
        Ok(())
    }

    /// Makes every byte received so far durable (written and fsync'd) while the download
    /// goes on, and returns how many that is: the offset a checkpoint may record.
    pub async fn sync(&mut self) -> std::io::Result<u64> {
        self.settle().await?;
        let file = self.file.take().ok_or_else(lost_write)?;
        let slice = self.take_gathered();
        let path = self.path.clone();
        let file = tokio::task::spawn_blocking(move || {
            let file = write(&path, file, &slice)?;
            file.sync_data()?;
            Ok::<_, std::io::Error>(File::Open(file))
        })
        .await
        .map_err(std::io::Error::other)??;
        self.file = Some(file);
        Ok(self.received)
    }

    /// Writes what is left, stamps the modification time `mtime` (the server's, so the file
    /// keeps it once renamed) and fsyncs the file, then runs `then` (a complete download's
    /// rename into place), all in one blocking call, which `disk` places (see
    /// [`QuickDisk`]). Called on every exit path, a stop included, so the checkpoint that
    /// follows can vouch for every byte received.
    pub async fn finish<T: Send + 'static>(
        mut self,
        disk: &QuickDisk,
        mtime: Option<SystemTime>,
        then: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        self.settle().await?;
        let file = self.file.take().ok_or_else(lost_write)?;
        let size = self.received;
        let (path, slice) = (self.path, self.gathered);
        disk.run(size, move || {
            let file = write(&path, file, &slice)?;
            if let Some(mtime) = mtime {
                file.set_modified(mtime)?;
            }
            file.sync_data()?;
            drop(file);
            then()
        })
        .await
    }

    fn take_gathered(&mut self) -> Vec<Bytes> {
        self.gathered_len = 0;
        std::mem::take(&mut self.gathered)
    }

    /// Waits for the slice being written, if any, and takes the file back.
    async fn settle(&mut self) -> std::io::Result<()> {
        if let Some(writing) = self.writing.take() {
            self.file = Some(writing.await.map_err(std::io::Error::other)??);
        }
        Ok(())
    }
}

/// A write failed earlier and took the file with it: nothing more can be written.
fn lost_write() -> std::io::Error {
    std::io::Error::other("an earlier write to the part file failed")
}

/// Writes `chunks` at the end of what the file holds, opening it first if needed. An empty
/// write to a closed file still opens it: a zero-byte download must leave a part file.
fn write(path: &Path, file: File, chunks: &[Bytes]) -> std::io::Result<std::fs::File> {
    let mut file = match file {
        File::Open(file) => file,
        File::Closed { offset: 0 } => std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?,
        File::Closed { offset } => {
            let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
            file.set_len(offset)?;
            file.seek(SeekFrom::Start(offset))?;
            file
        }
    };
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let mut rest = &mut slices[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut rest, written),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slices_arrive_in_order_after_the_kept_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        std::fs::write(&path, b"keepTHIS-IS-DROPPED").unwrap();
        let mut writer = PartWriter::new(&path, 4);
        let body: Vec<u8> = (0..3 * SLICE + 17).map(|i| (i % 251) as u8).collect();
        for chunk in body.chunks(16 * 1024 + 3) {
            writer.push(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        assert_eq!(writer.received(), 4 + body.len() as u64);
        writer
            .finish(&QuickDisk::default(), None, || Ok(()))
            .await
            .unwrap();
        let written = std::fs::read(&path).unwrap();
        assert_eq!(&written[..4], b"keep");
        assert!(
            written[4..] == body[..],
            "the body is written whole and in order"
        );
    }

    #[tokio::test]
    async fn a_small_file_on_a_quick_disk_is_finished_and_renamed_on_the_callers_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (part, target) = (dir.path().join(".f.part"), dir.path().join("f"));
        let stamp = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        let mut writer = PartWriter::new(&part, 0);
        writer
            .push(Bytes::from_static(b"small body"))
            .await
            .unwrap();
        let moved = (part.clone(), target.clone());
        let ran_on = writer
            .finish(&QuickDisk::proven(), Some(stamp), move || {
                std::fs::rename(&moved.0, &moved.1)?;
                Ok(std::thread::current().id())
            })
            .await
            .unwrap();
        assert_eq!(ran_on, std::thread::current().id());
        assert!(!part.exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"small body");
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!(meta.modified().unwrap(), stamp);
    }

    #[tokio::test]
    async fn an_empty_body_still_leaves_a_stamped_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        let stamp = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        PartWriter::new(&path, 0)
            .finish(&QuickDisk::default(), Some(stamp), || Ok(()))
            .await
            .unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 0);
        assert_eq!(meta.modified().unwrap(), stamp, "the server's time is kept");
    }
}
