//! Opening a file that configuration names (a manifest, a key file, a PIN, the runtime
//! key): a regular file only.
//!
//! A path in a manifest, an argument or an environment variable may name a device
//! (`/dev/zero` never ends), a FIFO (its open waits for a writer) or a directory, or a
//! link to one. [`open_regular`] refuses those before it opens anything that could block,
//! and checks the opened file again, so what is read is what was checked. How much of the
//! file to read is the caller's bound.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens `path` for reading if it is a regular file (a link is followed); anything else
/// is an [`io::ErrorKind::InvalidInput`] error, "not a regular file".
pub fn open_regular(path: &Path) -> io::Result<File> {
    let not_regular = || io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
    // Checked before the open, which would wait for a writer on a FIFO, and again on the
    // open file, which is what is read.
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_or_a_link_to_one_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(open_regular(&file).is_ok());
        assert!(open_regular(&link).is_ok());
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        // A FIFO is refused without waiting for a writer.
        for path in [fifo.as_path(), Path::new("/dev/zero"), &zero, dir.path()] {
            let error = open_regular(path).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            assert_eq!(
                error.to_string(),
                "not a regular file",
                "{}",
                path.display()
            );
        }
        let missing = open_regular(&dir.path().join("missing")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
