//! The walk through one artifact: recognise each stream's format by its leading bytes,
//! open containers (tar, gzip, zstd, zip, directories) recursively, scan everything
//! else for blocks, and hold the whole walk to its [`Limits`].
//!
//! Everything is a stream read once from start to end: a gzip layer inside a tar inside
//! a tarball is decompressed as the outer tar is read, and each member is scanned as it
//! comes out. Memory stays bounded by the scanner's buffer, whatever the sizes. The one
//! exception is zip, whose directory sits at the end: a zip given as a file is read in
//! place, and a zip nested in a stream is first copied to an anonymous temporary file
//! (bounded by [`Limits::max_spill_bytes`]).
//!
//! Every stream is read to its end, so that gzip and zip checksums are checked and the
//! counts are complete. Bytes after a tar's end-of-archive marker are read but not
//! scanned. Faults are recorded where they happen (a read error of the file, a
//! decompressor's error, a bound reached) so that the error reported says which
//! container failed, not which reader happened to notice. Not here: decoding blocks
//! and recognising private keys (that is `scan.rs` and the codec), naming sections
//! (`native.rs`), judging (`gate.rs`).

use std::cell::{Cell, RefCell};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::mapped::Mapped;
use super::scan::{self, KeyHit, PartBounds, ScanError, Scanner, decode_window};
use super::{
    ArtifactError, BlockFinding, Format, Inspection, LimitExceeded, Limits, Location,
    PrivateKeyFinding, Stats,
};

/// Bytes read to recognise a format: tar's magic sits at offset 257.
const HEAD_LEN: usize = 512;

/// One inspection in progress.
pub(super) struct Walker<'a> {
    limits: &'a Limits,
    scanner: &'a mut Scanner,
    artifact: PathBuf,
    budget: Rc<Budget>,
    /// The file being read: the artifact, or a file under it when it is a directory.
    file: PathBuf,
    /// The members open inside `file`, outermost first.
    members: Vec<String>,
    findings: Vec<BlockFinding>,
    /// The first `max_private_keys` private keys.
    private_keys: Vec<PrivateKeyFinding>,
    /// Every private key, recorded or not.
    private_key_count: u64,
    stats: Stats,
}

/// The shared counters and the first fault, seen by every reader of one inspection.
struct Budget {
    max_unpacked: u64,
    unpacked: Cell<u64>,
    fault: RefCell<Option<Fault>>,
}

/// What went wrong first, recorded by the reader that saw it.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The file (or storage) beneath everything failed to read.
    Source,
    /// A decompressor or zip entry reported bad data.
    Decoder(Format),
    /// A bound was reached.
    Limit(LimitExceeded),
}

/// What a [`Tracked`] reader stands for.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// Bytes of a file: errors are read errors.
    Source,
    /// Output of a decompressor: counted, and errors are bad data of that format.
    Decoder(Format),
}

/// What [`Walker::scan`] scans.
enum Input<'r> {
    /// A stream, read into the scanner's buffer.
    Reader(&'r mut dyn Read),
    /// Bytes of a map, scanned where they are.
    Mapped(&'r Mapped, &'r [u8]),
}

/// Counts the bytes a tar reader reads while it looks for the next entry.
struct HeaderMeter {
    armed: Cell<bool>,
    read: Cell<u64>,
    max: u64,
    budget: Rc<Budget>,
}

/// The tar reader's input, metered by a [`HeaderMeter`].
struct Metered<R> {
    inner: R,
    meter: Rc<HeaderMeter>,
}

/// A reader that counts what it yields and records the first fault it sees.
struct Tracked<R> {
    inner: R,
    role: Role,
    budget: Rc<Budget>,
}

impl<'a> Walker<'a> {
    pub(super) fn new(limits: &'a Limits, scanner: &'a mut Scanner, artifact: &Path) -> Self {
        Self {
            limits,
            scanner,
            artifact: artifact.to_owned(),
            budget: Rc::new(Budget {
                max_unpacked: limits.max_unpacked_bytes,
                unpacked: Cell::new(0),
                fault: RefCell::new(None),
            }),
            file: artifact.to_owned(),
            members: Vec::new(),
            findings: Vec::new(),
            private_keys: Vec::new(),
            private_key_count: 0,
            stats: Stats::default(),
        }
    }

    /// Walks a file or a directory.
    pub(super) fn inspect_path(mut self, path: &Path) -> Inspection {
        let result = self.path(path);
        self.finish(result)
    }

    /// Walks a stream.
    pub(super) fn inspect_reader(mut self, reader: &mut dyn Read) -> Inspection {
        let mut tracked = self.tracked(reader, Role::Source);
        let result = self.stream(&mut tracked, 0, Format::Data);
        self.finish(result)
    }

    fn finish(mut self, result: Result<(), ArtifactError>) -> Inspection {
        self.stats.unpacked_bytes = self.budget.unpacked.get();
        Inspection {
            artifact: self.artifact,
            findings: self.findings,
            private_keys: self.private_keys,
            private_key_count: self.private_key_count,
            error: result.err(),
            stats: self.stats,
        }
    }

    fn path(&mut self, path: &Path) -> Result<(), ArtifactError> {
        let meta = fs::metadata(path).map_err(|source| ArtifactError::Unreadable {
            location: Location::file(path),
            source,
        })?;
        if meta.is_dir() {
            self.directory(path)
        } else if meta.is_file() {
            self.file(path)
        } else {
            Err(ArtifactError::NotAFile {
                path: path.to_owned(),
            })
        }
    }

    /// Every regular file under `dir`, in name order, symlinks not followed.
    fn directory(&mut self, dir: &Path) -> Result<(), ArtifactError> {
        let unreadable = |source| ArtifactError::Unreadable {
            location: Location::file(dir),
            source,
        };
        let mut entries = fs::read_dir(dir)
            .map_err(unreadable)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(unreadable)?;
        entries.sort();
        for path in entries {
            self.count_entry()?;
            let kind = fs::symlink_metadata(&path)
                .map_err(|source| ArtifactError::Unreadable {
                    location: Location::file(&path),
                    source,
                })?
                .file_type();
            if kind.is_dir() {
                self.directory(&path)?;
            } else if kind.is_file() {
                self.file(&path)?;
            }
        }
        Ok(())
    }

    /// A regular file: a zip is read in place, a native binary also gets its sections
    /// named, anything else is a stream.
    fn file(&mut self, path: &Path) -> Result<(), ArtifactError> {
        self.file = path.to_owned();
        self.members.clear();
        let file = File::open(path).map_err(|source| ArtifactError::Unreadable {
            location: Location::file(path),
            source,
        })?;
        let mut source = self.tracked(file, Role::Source);
        let mut head = Vec::with_capacity(HEAD_LEN);
        let peeked = (&mut source)
            .take(HEAD_LEN as u64)
            .read_to_end(&mut head)
            .and_then(|_| source.seek(SeekFrom::Start(0)));
        peeked.map_err(|e| self.error(e, Format::Data))?;
        let format = Format::detect(&head);
        if format == Format::Zip {
            let depth = self.enter(0)?;
            return self.zip(source, depth);
        }
        let first = self.findings.len();
        // A tar or a binary is read in place through a map; a compressed file, whose
        // bytes are copied by the decompressor anyway, through reads.
        if !matches!(format, Format::Gzip | Format::Zstd)
            && let Some(map) = Mapped::new(&source.inner)
        {
            let result = self.mapped(&map, map.bytes(), 0, Format::Data);
            // A fault of the map explains whatever else went wrong.
            map.check().map_err(|source| ArtifactError::Unreadable {
                location: Location::file(path),
                source,
            })?;
            result?;
        } else {
            self.stream(&mut source, 0, Format::Data)?;
        }
        if format.is_native()
            && let Some(found) = self.findings.get_mut(first..)
            && !found.is_empty()
        {
            super::native::name_sections(&source.inner, found);
        }
        Ok(())
    }

    /// A stream of unknown content at `depth`, produced by `origin` (for errors).
    fn stream(
        &mut self,
        reader: &mut dyn Read,
        depth: usize,
        origin: Format,
    ) -> Result<(), ArtifactError> {
        let mut head = Vec::with_capacity(HEAD_LEN);
        reader
            .take(HEAD_LEN as u64)
            .read_to_end(&mut head)
            .map_err(|e| self.error(e, origin))?;
        let format = Format::detect(&head);
        let mut whole = io::Cursor::new(head).chain(reader);
        match format {
            Format::Gzip => {
                let depth = self.enter(depth)?;
                let decoder = flate2::read::MultiGzDecoder::new(&mut whole);
                let mut decoded = self.tracked(decoder, Role::Decoder(Format::Gzip));
                self.stream(&mut decoded, depth, Format::Gzip)?;
            }
            Format::Zstd => {
                let depth = self.enter(depth)?;
                let decoder = zstd::stream::read::Decoder::new(&mut whole)
                    .map_err(|e| self.error(e, Format::Zstd))?;
                let mut decoded = self.tracked(decoder, Role::Decoder(Format::Zstd));
                self.stream(&mut decoded, depth, Format::Zstd)?;
            }
            Format::Tar => {
                let depth = self.enter(depth)?;
                self.tar(&mut whole, depth)?;
            }
            Format::Zip => {
                let depth = self.enter(depth)?;
                self.spilled_zip(&mut whole, depth)?;
            }
            _ => return self.scan(Input::Reader(&mut whole), origin),
        }
        // Read what the container left (tar padding, trailing frames) so that every
        // checksum is checked; it is not scanned.
        io::copy(&mut whole, &mut io::sink()).map_err(|e| self.error(e, origin))?;
        Ok(())
    }

    fn tar(&mut self, reader: &mut dyn Read, depth: usize) -> Result<(), ArtifactError> {
        // The tar reader holds long names and PAX records in memory while it looks for
        // the next entry: meter what it reads then. Each entry's data is read to its end
        // here before the next, so what it reads then is headers and padding only.
        let (metered, meter) = self.metered(reader);
        let mut archive = tar::Archive::new(metered);
        let mut entries = archive.entries().map_err(|e| self.error(e, Format::Tar))?;
        loop {
            let next = meter.measure(|| entries.next());
            let Some(entry) = next else {
                return Ok(());
            };
            let mut entry = entry.map_err(|e| self.error(e, Format::Tar))?;
            self.count_entry()?;
            let kind = entry.header().entry_type();
            let has_data = kind.is_file()
                || kind == tar::EntryType::Continuous
                || kind == tar::EntryType::GNUSparse;
            if !has_data {
                // Directories, links (never followed), devices, metadata: their data,
                // if any, is read past, not scanned.
                io::copy(&mut entry, &mut io::sink()).map_err(|e| self.error(e, Format::Tar))?;
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            self.members.push(name);
            let result = if kind == tar::EntryType::GNUSparse {
                let mut filled = self.sparse(&mut entry);
                self.stream(&mut filled, depth, Format::Tar)
            } else {
                self.stream(&mut entry, depth, Format::Tar)
            };
            self.members.pop();
            result?;
        }
    }

    /// A GNU sparse member as the tar reader gives it: its stored bytes with its holes
    /// filled with zeros. The holes are not in the file (a header of a few hundred bytes
    /// can declare one of an exabyte), so what comes out is counted against
    /// `max_unpacked_bytes`, as a decompressor's output is.
    fn sparse<'e>(&self, entry: &'e mut dyn Read) -> Tracked<&'e mut dyn Read> {
        self.tracked(entry, Role::Decoder(Format::Tar))
    }

    /// Bytes of a mapped file at `depth`, produced by `origin`: a tar is walked and
    /// anything else scanned in place; a compressed stream is read from the map.
    fn mapped(
        &mut self,
        map: &Mapped,
        data: &[u8],
        depth: usize,
        origin: Format,
    ) -> Result<(), ArtifactError> {
        match Format::detect(data.get(..HEAD_LEN).unwrap_or(data)) {
            Format::Tar => {
                let depth = self.enter(depth)?;
                self.mapped_tar(map, data, depth)
            }
            Format::Gzip | Format::Zstd | Format::Zip => {
                self.stream(&mut map.reader(data), depth, origin)
            }
            _ => self.scan(Input::Mapped(map, data), origin),
        }
    }

    /// A tar in a map: headers through the tar reader, each entry's bytes as the slice
    /// of the map that holds them (the reader seeks past them, nothing is copied).
    fn mapped_tar(&mut self, map: &Mapped, data: &[u8], depth: usize) -> Result<(), ArtifactError> {
        let (metered, meter) = self.metered(io::Cursor::new(data));
        let mut archive = tar::Archive::new(metered);
        let mut entries = archive
            .entries_with_seek()
            .map_err(|e| self.error(e, Format::Tar))?;
        loop {
            let next = meter.measure(|| entries.next());
            let Some(entry) = next else {
                break;
            };
            let mut entry = entry.map_err(|e| self.error(e, Format::Tar))?;
            self.count_entry()?;
            let kind = entry.header().entry_type();
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if kind == tar::EntryType::GNUSparse {
                // The reader fills the holes: read it as a stream, counted.
                self.members.push(name);
                let mut filled = self.sparse(&mut entry);
                let result = self.stream(&mut filled, depth, Format::Tar);
                self.members.pop();
                result?;
                continue;
            }
            if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                // Directories, links (never followed), devices, metadata: skipped.
                continue;
            }
            let body = usize::try_from(entry.raw_file_position())
                .ok()
                .zip(usize::try_from(entry.size()).ok())
                .and_then(|(at, len)| data.get(at..at.checked_add(len)?));
            let Some(body) = body else {
                let cut = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "an entry's data runs past the end of the archive",
                );
                return Err(self.malformed(Format::Tar, cut));
            };
            self.members.push(name);
            let result = self.mapped(map, body, depth, Format::Tar);
            self.members.pop();
            result?;
        }
        // The reader seeks past each entry's data and padding; a seek past the end
        // is an archive cut short, as a read would have found.
        if archive.into_inner().inner.position() > data.len() as u64 {
            let cut = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside an entry",
            );
            return Err(self.malformed(Format::Tar, cut));
        }
        Ok(())
    }

    /// A zip nested in a stream: copied to an anonymous temporary file, then read.
    fn spilled_zip(&mut self, reader: &mut dyn Read, depth: usize) -> Result<(), ArtifactError> {
        let mut spill = tempfile::tempfile().map_err(|source| ArtifactError::Spill {
            location: self.location(),
            source,
        })?;
        let max = self.limits.max_spill_bytes;
        let mut buf = vec![0_u8; 64 * 1024];
        let mut total = 0_u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.error(e, Format::Zip)),
            };
            total += n as u64;
            if total > max {
                return Err(self.limit(LimitExceeded::SpillBytes { max }));
            }
            io::Write::write_all(&mut spill, buf.get(..n).unwrap_or_default()).map_err(
                |source| ArtifactError::Spill {
                    location: self.location(),
                    source,
                },
            )?;
        }
        spill
            .seek(SeekFrom::Start(0))
            .map_err(|source| ArtifactError::Spill {
                location: self.location(),
                source,
            })?;
        let spill = self.tracked(spill, Role::Source);
        self.zip(spill, depth)
    }

    fn zip<R: Read + Seek>(&mut self, reader: R, depth: usize) -> Result<(), ArtifactError> {
        let mut archive = zip::ZipArchive::new(reader).map_err(|e| self.zip_error(e))?;
        for index in 0..archive.len() {
            self.count_entry()?;
            let entry = archive.by_index(index).map_err(|e| self.zip_error(e))?;
            if entry.is_dir() || entry.is_symlink() {
                continue;
            }
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            let mut decoded = self.tracked(entry, Role::Decoder(Format::Zip));
            self.members.push(name);
            let result = self.stream(&mut decoded, depth, Format::Zip);
            self.members.pop();
            result?;
        }
        Ok(())
    }

    /// Scans a stream that is not a container, recording every block and (up to the
    /// bound) every private key in it.
    fn scan(&mut self, input: Input<'_>, origin: Format) -> Result<(), ArtifactError> {
        let Self {
            scanner,
            findings,
            private_keys,
            private_key_count,
            limits,
            file,
            members,
            ..
        } = self;
        let max = limits.max_findings;
        let max_keys = limits.max_private_keys;
        // What this artifact may still record: a scan in parts bounds its records by it.
        let bounds = PartBounds {
            max_hits: max.saturating_sub(findings.len()),
            max_keys: max_keys.saturating_sub(private_keys.len()),
        };
        let mut on_hit = |offset: u64, window: &[u8]| {
            if findings.len() >= max {
                return Err(LimitExceeded::Findings { max });
            }
            let (bytes, keyring) = decode_window(window);
            findings.push(BlockFinding {
                location: Location {
                    file: file.clone(),
                    members: members.clone(),
                },
                offset,
                section: None,
                bytes,
                keyring,
            });
            Ok(())
        };
        let mut on_key = |offset: u64, hit: KeyHit<'_>| {
            *private_key_count = private_key_count.saturating_add(1);
            if private_keys.len() < max_keys {
                private_keys.push(PrivateKeyFinding {
                    location: Location {
                        file: file.clone(),
                        members: members.clone(),
                    },
                    offset,
                    kind: hit.into(),
                });
            }
        };
        let scanned = match input {
            Input::Reader(reader) => scanner.scan(reader, &mut on_hit, &mut on_key),
            Input::Mapped(map, data) => match scan::parts_for(data.len()) {
                1 => {
                    let mut release = |upto| map.release(data, upto);
                    scanner.scan_slice(data, &mut release, &mut on_hit, &mut on_key)
                }
                parts => {
                    let release = |from, upto| map.release_range(data, from, upto);
                    let scanned = scanner.scan_slice_parts(
                        data,
                        parts,
                        bounds,
                        &release,
                        &mut on_hit,
                        &mut on_key,
                    );
                    // Moves the map's mark past this slice (later scans release from it).
                    map.release(data, data.len());
                    scanned
                }
            },
        };
        match scanned {
            Ok(bytes) => {
                self.stats.scanned += 1;
                self.stats.scanned_bytes += bytes;
                Ok(())
            }
            Err(ScanError::Read(e)) => Err(self.error(e, origin)),
            Err(ScanError::Hit(limit)) => Err(self.limit(limit)),
        }
    }

    /// Opens one more container below `depth`, within the depth bound.
    fn enter(&self, depth: usize) -> Result<usize, ArtifactError> {
        let max = self.limits.max_depth;
        if depth >= max {
            return Err(self.limit(LimitExceeded::Depth { max }));
        }
        Ok(depth + 1)
    }

    fn count_entry(&mut self) -> Result<(), ArtifactError> {
        let max = self.limits.max_entries;
        if self.stats.entries >= max {
            return Err(self.limit(LimitExceeded::Entries { max }));
        }
        self.stats.entries += 1;
        Ok(())
    }

    /// `inner` as a tar reader's input, with the meter of what [`HeaderMeter::measure`]
    /// lets the reader read against `max_tar_header_bytes`.
    fn metered<R>(&self, inner: R) -> (Metered<R>, Rc<HeaderMeter>) {
        let meter = Rc::new(HeaderMeter {
            armed: Cell::new(false),
            read: Cell::new(0),
            max: self.limits.max_tar_header_bytes,
            budget: Rc::clone(&self.budget),
        });
        let metered = Metered {
            inner,
            meter: Rc::clone(&meter),
        };
        (metered, meter)
    }

    fn tracked<R>(&self, inner: R, role: Role) -> Tracked<R> {
        Tracked {
            inner,
            role,
            budget: Rc::clone(&self.budget),
        }
    }

    fn location(&self) -> Location {
        Location {
            file: self.file.clone(),
            members: self.members.clone(),
        }
    }

    fn limit(&self, limit: LimitExceeded) -> ArtifactError {
        ArtifactError::Limit {
            location: self.location(),
            limit,
        }
    }

    /// Turns a read error into the error that explains it: the first fault recorded,
    /// or else bad data of `format`, the container being parsed.
    fn error(&self, error: io::Error, format: Format) -> ArtifactError {
        let fault = *self.budget.fault.borrow();
        match fault {
            Some(Fault::Limit(limit)) => self.limit(limit),
            Some(Fault::Source) => ArtifactError::Unreadable {
                location: self.location(),
                source: error,
            },
            Some(Fault::Decoder(format)) => self.malformed(format, error),
            None => self.malformed(format, error),
        }
    }

    fn malformed(&self, format: Format, error: io::Error) -> ArtifactError {
        ArtifactError::Malformed {
            location: self.location(),
            format,
            source: Box::new(error),
        }
    }

    fn zip_error(&self, error: zip::result::ZipError) -> ArtifactError {
        match error {
            zip::result::ZipError::Io(e) => self.error(e, Format::Zip),
            other => ArtifactError::Malformed {
                location: self.location(),
                format: Format::Zip,
                source: Box::new(other),
            },
        }
    }
}

impl Budget {
    fn record(&self, fault: Fault) {
        self.fault.borrow_mut().get_or_insert(fault);
    }
}

impl HeaderMeter {
    /// Runs `search` (the tar reader looking for the next entry) with the meter armed
    /// from zero.
    fn measure<T>(&self, search: impl FnOnce() -> T) -> T {
        self.read.set(0);
        self.armed.set(true);
        let found = search();
        self.armed.set(false);
        found
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let meter = &self.meter;
        if meter.armed.get() {
            let read = meter.read.get().saturating_add(n as u64);
            meter.read.set(read);
            if read > meter.max {
                let max = meter.max;
                meter
                    .budget
                    .record(Fault::Limit(LimitExceeded::TarHeaderBytes { max }));
                return Err(io::Error::other("the tar header limit is reached"));
            }
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for Metered<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                if let Role::Decoder(_) = self.role {
                    let budget = &self.budget;
                    let total = budget.unpacked.get().saturating_add(n as u64);
                    budget.unpacked.set(total);
                    if total > budget.max_unpacked {
                        let max = budget.max_unpacked;
                        budget.record(Fault::Limit(LimitExceeded::UnpackedBytes { max }));
                        return Err(io::Error::other("the decompressed-bytes limit is reached"));
                    }
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.budget.record(match self.role {
                    Role::Source => Fault::Source,
                    Role::Decoder(format) => Fault::Decoder(format),
                });
                Err(e)
            }
        }
    }
}

impl<R: Seek> Seek for Tracked<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos).inspect_err(|_| {
            if let Role::Source = self.role {
                self.budget.record(Fault::Source);
            }
        })
    }
}
