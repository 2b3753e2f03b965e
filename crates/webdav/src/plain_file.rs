//! Opening a local file to upload it, without ever blocking on something that is not one.
//!
//! `open` on a named pipe (FIFO) waits until a writer appears, forever if none does, on a
//! blocking thread that no cancellation reaches. The scan leaves special files alone, but a
//! file may be replaced by one between the scan and the upload. So every file sent is opened
//! with `O_NONBLOCK` (which changes nothing for a regular file's reads) and checked to be a
//! regular file before a byte is read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Opens `path` for reading if it is a regular file; anything else is refused at once.
pub fn open_plain(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a plain file (a named pipe, a socket or a device), so it is not read",
        ));
    }
    Ok(file)
}

/// The whole content of the regular file at `path` (see [`open_plain`]).
pub fn read_plain(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = open_plain(path)?;
    let mut data = Vec::with_capacity(file.metadata()?.len() as usize + 1);
    file.read_to_end(&mut data)?;
    Ok(data)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_named_pipe_is_refused_at_once_and_a_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let pipe = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&pipe)
            .status()
            .unwrap();
        assert!(made.success());
        let error = open_plain(&pipe).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        let file = dir.path().join("file");
        std::fs::write(&file, b"bytes").unwrap();
        assert_eq!(read_plain(&file).unwrap(), b"bytes");
    }
}
