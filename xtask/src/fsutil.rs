//! File writes that cannot leave a half-written manifest or an exposed private key.
//!
//! [`write_atomic`] replaces a file through a temporary file in the same directory
//! (write, fsync, rename, fsync the directory), so a reader sees the old bytes or the
//! new ones, never a mix. [`create_new`] makes a file that did not exist, with its
//! permission bits set at creation, so a private key is never readable by others even
//! for an instant. Neither ever replaces a file that holds a private key (`license
//! reissue --key k.pem in.txt -o k.pem` would otherwise swap the signing key for
//! licenses). [`AtomicFile`] is the streaming form of [`write_atomic`], for output
//! too large to hold in memory. [`DirLock`] serializes the processes that edit the
//! files of one directory. [`read_secret_file`] reads a private key or a PIN: only a
//! small regular file, into one zeroizing buffer. Nothing here decides what to write.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read as _, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use caio_gate::Limits;
use zeroize::Zeroizing;

/// Replaces (or creates) `path` with `bytes` atomically, keeping the old file's
/// permission bits (a new file gets 0644).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write a temporary file for {}", path.display()))?;
    file.commit()
}

/// A file being written in full to replace (or create) `path`: the bytes go to a
/// temporary file in the same directory, buffered, and [`AtomicFile::commit`] flushes,
/// fsyncs and renames it into place. Dropped without a commit (an error, a panic), the
/// temporary file is deleted and `path` is untouched: no reader ever sees a partial file.
pub struct AtomicFile {
    path: PathBuf,
    mode: u32,
    writer: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    /// Starts replacing `path`; the old file's permission bits are kept (a new file
    /// gets 0644).
    /// The temporary file is named `.<file name>.<random>.tmp`, so one left behind by
    /// a killed process says what it was for (see [`stale_temporaries`]).
    ///
    /// A file at `path` that holds a private key (what the release gate calls one: a
    /// PEM private key, the DER of an Ed25519 one) is refused, and so is one that
    /// cannot be read to the end to tell.
    pub fn create(path: &Path) -> Result<Self> {
        refuse_to_replace_a_private_key(path)?;
        let dir = parent_dir(path);
        let mode = fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
        let tmp = tempfile::Builder::new()
            .prefix(&temporary_prefix(path))
            .suffix(TEMPORARY_SUFFIX)
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        Ok(Self {
            path: path.to_owned(),
            mode,
            writer: BufWriter::new(tmp),
        })
    }

    /// Flushes, fsyncs and renames the file into place, then fsyncs the directory.
    pub fn commit(self) -> Result<()> {
        self.sync()?.replace()
    }

    /// The first half of [`AtomicFile::commit`]: flushes and fsyncs the temporary file,
    /// whose bytes are then complete on disk but not yet in place.
    pub fn sync(self) -> Result<SyncedFile> {
        let dir = parent_dir(&self.path).to_owned();
        let tmp = self
            .writer
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .and_then(|tmp| {
                tmp.as_file()
                    .set_permissions(fs::Permissions::from_mode(self.mode))?;
                tmp.as_file().sync_all()?;
                Ok(tmp)
            })
            .with_context(|| format!("cannot write a temporary file in {}", dir.display()))?;
        Ok(SyncedFile {
            path: self.path,
            tmp,
        })
    }
}

/// A complete, fsynced temporary file waiting to replace its target; dropped without
/// [`SyncedFile::replace`], it is deleted and the target untouched.
pub struct SyncedFile {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl SyncedFile {
    /// Renames the file into place (one atomic step), then fsyncs the directory.
    pub fn replace(self) -> Result<()> {
        let dir = parent_dir(&self.path).to_owned();
        self.tmp
            .persist(&self.path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot replace {}", self.path.display()))?;
        sync_dir(&dir)
    }
}

/// Fails when `path` exists and holds a private key, or cannot be examined to say it
/// does not (fail closed). A missing file is fine.
fn refuse_to_replace_a_private_key(path: &Path) -> Result<()> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    let inspection = caio_gate::inspect(path, &Limits::default());
    if let Some(key) = inspection.private_keys.first() {
        bail!(
            "{} holds a private key ({} at byte {}); refusing to replace it",
            path.display(),
            key.kind,
            key.offset
        );
    }
    if let Some(error) = inspection.error {
        bail!(
            "{} cannot be examined for a private key ({error}); refusing to replace it",
            path.display()
        );
    }
    Ok(())
}

const TEMPORARY_SUFFIX: &str = ".tmp";

fn temporary_prefix(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(".{name}.")
}

/// The temporary files an [`AtomicFile`] for `path` left behind when its process was
/// killed before the rename. Only safe to delete while holding the [`DirLock`] every
/// writer of `path` takes.
pub fn stale_temporaries(path: &Path) -> Result<Vec<PathBuf>> {
    let dir = parent_dir(path);
    let prefix = temporary_prefix(path);
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix)
            && name.ends_with(TEMPORARY_SUFFIX)
            && name.len() > prefix.len() + TEMPORARY_SUFFIX.len()
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// An exclusive `flock` on a directory, held until dropped.
///
/// The lock belongs to the open file description, so the kernel drops it when the
/// process exits or is killed: a crashed edit never leaves a stale lock behind, which
/// a lock *file* created with `O_EXCL` would. Locking the directory rather than the
/// manifest matters because every edit replaces the manifest with a new inode, which
/// a lock on the old one would not cover.
pub struct DirLock {
    _dir: File,
}

impl DirLock {
    /// Takes the lock on `dir`, calling `on_wait` once first if another process holds
    /// it, and then waiting for it.
    pub fn acquire(dir: &Path, on_wait: impl FnOnce()) -> Result<Self> {
        use rustix::fs::{FlockOperation, flock};
        use rustix::io::Errno;

        let file = File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
        let context = || format!("cannot lock {}", dir.display());
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == Errno::WOULDBLOCK => {
                on_wait();
                loop {
                    match flock(&file, FlockOperation::LockExclusive) {
                        Ok(()) => break,
                        Err(e) if e == Errno::INTR => {}
                        Err(e) => return Err(std::io::Error::from(e)).with_context(context),
                    }
                }
            }
            Err(e) => return Err(std::io::Error::from(e)).with_context(context),
        }
        Ok(Self { _dir: file })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// Creates `path`, which must not exist, with permission bits `mode` from the start.
pub fn create_new(path: &Path, mode: u32) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| match path.try_exists() {
            Ok(true) => format!(
                "{} already exists; refusing to overwrite it",
                path.display()
            ),
            _ => format!("cannot create {}", path.display()),
        })
}

/// Writes all of `bytes` to a file made by [`create_new`] and flushes it to disk.
pub fn write_all_synced(file: &mut File, path: &Path, bytes: &[u8]) -> Result<()> {
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Creates `dir` and its missing parents, each new one with permission bits 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))
}

/// Flushes a directory entry change (a create, rename or delete) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync the directory {}", dir.display()))
}

/// The directory that holds `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The bytes of a small secret file (a private key, a PIN): a regular file (a link is
/// followed) of at most `max` bytes. A device (`/dev/zero` would never end), a FIFO (its
/// open waits for a writer) or a directory is refused before it is opened, a larger
/// file once `max + 1` bytes are read. The buffer is zeroizing and sized up front, so
/// no reallocation leaves a copy of the secret behind.
pub fn read_secret_file(path: &Path, max: usize) -> io::Result<Zeroizing<Vec<u8>>> {
    let file = caio_keyring::file::open_regular(path)?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(max.saturating_add(1)));
    file.take(max as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_is_read_only_when_regular_and_small() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        fs::write(&key, b"secret\n").unwrap();
        assert_eq!(read_secret_file(&key, 7).unwrap().as_slice(), b"secret\n");
        let error = read_secret_file(&key, 6).unwrap_err();
        assert_eq!(error.to_string(), "larger than 6 bytes");
        // What is not a regular file is refused (`caio_keyring::file` tests a FIFO too).
        for path in [Path::new("/dev/zero"), dir.path()] {
            let error = read_secret_file(path, 4096).unwrap_err();
            assert_eq!(
                error.to_string(),
                "not a regular file",
                "{}",
                path.display()
            );
        }
        assert_eq!(
            read_secret_file(&dir.path().join("missing"), 10)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}
