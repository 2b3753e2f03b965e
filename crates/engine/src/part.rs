//! Writing a download's part file without a blocking-pool hop per network chunk.
//!
//! `tokio::fs` sends every call to the blocking pool: an open, a seek, several writes and an
//! fsync would each be a thread hand-off, which costs a small file more than its bytes. A
//! [`PartWriter`] gathers the body in memory and writes it in slices of [`SLICE`] bytes, each in
//! one blocking call that runs while the next slice arrives: a file smaller than a slice is
//! opened, written and fsync'd in a single call, a large one is written by a disk that keeps
//! pace with the network, and at most two slices per transfer are ever held in memory.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tokio::task::JoinHandle;

/// How much of a body is gathered before it is written. It is also the most a stopped run
/// can lose: everything received is written and fsync'd before the checkpoint is recorded.
pub const SLICE: usize = 1024 * 1024;

/// The part file is opened on the first write, so a file that fits one slice costs one call.
enum File {
    Closed { offset: u64 },
    Open(std::fs::File),
}

/// A slice being written: it hands back the file and the emptied buffer.
type Writing = JoinHandle<std::io::Result<(File, Vec<u8>)>>;

/// Appends to a part file from `offset`; [`finish`](PartWriter::finish) makes it durable.
pub struct PartWriter {
    path: PathBuf,
    /// `None` while a slice is being written; the write hands the file back.
    file: Option<File>,
    writing: Option<Writing>,
    buf: Vec<u8>,
    /// The buffer of the last finished write, reused for the next slice.
    spare: Vec<u8>,
    /// Bytes handed to the writer so far, from the start of the file.
    received: u64,
}

impl PartWriter {
    /// A writer for `path` that keeps its first `offset` bytes; `expected` (the bytes still to
    /// come, if known) sizes the first buffer, so a 4 KiB file does not reserve a whole slice.
    pub fn new(path: &Path, offset: u64, expected: u64) -> PartWriter {
        let first = usize::try_from(expected).unwrap_or(SLICE).clamp(1, SLICE);
        PartWriter {
            path: path.to_owned(),
            file: Some(File::Closed { offset }),
            writing: None,
            buf: Vec::with_capacity(first),
            spare: Vec::new(),
            received: offset,
        }
    }

    /// Bytes received so far, counted from the start of the file.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Takes `bytes`; once a slice is full it is written in the background.
    pub async fn push(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.received += bytes.len() as u64;
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= SLICE {
            self.settle().await?;
            let file = self.file.take().ok_or_else(lost_write)?;
            let next = std::mem::take(&mut self.spare);
            let slice = std::mem::replace(&mut self.buf, next);
            let path = self.path.clone();
            self.writing = Some(tokio::task::spawn_blocking(move || {
                let file = write(&path, file, &slice)?;
                Ok((File::Open(file), slice))
            }));
        }
        Ok(())
    }

    /// Makes every byte received so far durable (written and fsync'd) while the download
    /// goes on, and returns how many that is: the offset a checkpoint may record.
    pub async fn sync(&mut self) -> std::io::Result<u64> {
        self.settle().await?;
        let file = self.file.take().ok_or_else(lost_write)?;
        let buf = std::mem::take(&mut self.buf);
        let path = self.path.clone();
        let (file, mut buf) = tokio::task::spawn_blocking(move || {
            let file = write(&path, file, &buf)?;
            file.sync_data()?;
            Ok::<_, std::io::Error>((File::Open(file), buf))
        })
        .await
        .map_err(std::io::Error::other)??;
        buf.clear();
        self.buf = buf;
        self.file = Some(file);
        Ok(self.received)
    }

    /// Writes what is left, stamps the modification time `mtime` (the server's, so the file
    /// keeps it once renamed) and fsyncs the file, then runs `then` (a complete download's
    /// rename into place), all in one blocking call. Called on every exit path, a stop
    /// included, so the checkpoint that follows can vouch for every byte received.
    pub async fn finish<T: Send + 'static>(
        mut self,
        mtime: Option<SystemTime>,
        then: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        self.settle().await?;
        let file = self.file.take().ok_or_else(lost_write)?;
        let (path, buf) = (self.path, self.buf);
        tokio::task::spawn_blocking(move || {
            let file = write(&path, file, &buf)?;
            if let Some(mtime) = mtime {
                file.set_modified(mtime)?;
            }
            file.sync_data()?;
            drop(file);
            then()
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Waits for the slice being written, if any, and takes the file back.
    async fn settle(&mut self) -> std::io::Result<()> {
        if let Some(writing) = self.writing.take() {
            let (file, mut used) = writing.await.map_err(std::io::Error::other)??;
            used.clear();
            self.spare = used;
            self.file = Some(file);
        }
        Ok(())
    }
}

/// A write failed earlier and took the file with it: nothing more can be written.
fn lost_write() -> std::io::Error {
    std::io::Error::other("an earlier write to the part file failed")
}

/// Writes `bytes` at the end of what the file holds, opening it first if needed. An empty
/// write to a closed file still opens it: a zero-byte download must leave a part file.
fn write(path: &Path, file: File, bytes: &[u8]) -> std::io::Result<std::fs::File> {
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
    file.write_all(bytes)?;
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
        let mut writer = PartWriter::new(&path, 4, 3 * SLICE as u64);
        let body: Vec<u8> = (0..3 * SLICE + 17).map(|i| (i % 251) as u8).collect();
        for chunk in body.chunks(16 * 1024 + 3) {
            writer.push(chunk).await.unwrap();
        }
        assert_eq!(writer.received(), 4 + body.len() as u64);
        writer.finish(None, || Ok(())).await.unwrap();
        let written = std::fs::read(&path).unwrap();
        assert_eq!(&written[..4], b"keep");
        assert!(
            written[4..] == body[..],
            "the body is written whole and in order"
        );
    }

    #[tokio::test]
    async fn an_empty_body_still_leaves_a_stamped_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        let stamp = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        PartWriter::new(&path, 0, 0)
            .finish(Some(stamp), || Ok(()))
            .await
            .unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 0);
        assert_eq!(meta.modified().unwrap(), stamp, "the server's time is kept");
    }
}
