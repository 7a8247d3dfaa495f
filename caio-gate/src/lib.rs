//! The artifact inspector and the release gate: find every keyring block in a shipped
//! artifact, decode it, and compare it with the keyring a manifest encodes to.
//!
//! An artifact is anything a release ships: a native binary, a tarball, a `.tar.gz` or
//! `.tar.zst`, a Python wheel, a container image saved with `docker save` or laid out as
//! an OCI image directory, or a directory of any of these. The inspector does not
//! need to understand the binary format to find a block: it scans bytes for the magic
//! (rule 2 of the block format: the magic appears only inside real blocks), so it works
//! on ELF, Mach-O, PE and anything else alike. It opens containers it recognises by
//! their leading magic bytes, never by file name, recursively and streaming: a layer of
//! an image is decompressed and scanned as it is read, never held in memory. For a
//! native binary given as a file it also names the section that holds each block.
//!
//! In the same pass over the same bytes it looks for private keys, which must never
//! ship: a PEM private key (`-----BEGIN ` and a label ending in `PRIVATE KEY-----`) and
//! the DER encoding of a PKCS#8 Ed25519 private key. A private key anywhere fails the
//! artifact, whatever its keyring blocks say. What is recorded is where each one is and
//! what kind it is, never a byte of the key.
//!
//! # Key types
//!
//! - [`Limits`]: the bounds (depth, decompressed bytes, entries, block size, spills);
//!   going over one is a [`LimitExceeded`] error, never a pass.
//! - [`Inspector`] (or the one-shot [`inspect`]) turns a path into an [`Inspection`]:
//!   every [`BlockFinding`] (where, and the decoded [`Keyring`] or the [`DecodeError`] that
//!   makes it corrupt), every [`PrivateKeyFinding`] (where, and its [`PrivateKeyKind`]),
//!   or the [`ArtifactError`] that stopped the walk.
//! - [`compare`] names what differs between two keyrings ([`KeyringDiff`]).
//! - [`Gate`] judges inspections against a manifest's keyring under [`GateOptions`]:
//!   a [`GateReport`] with one [`ArtifactVerdict`] per path, a [`Status`] and the exit
//!   code of `caio-verify check` and `cargo xtask verify-artifact`; the report renders
//!   itself as text, JSON, GitHub annotations and a Markdown step summary.
//!
//! [`Gate::run`] examines paths one after another. A caller that wants them in
//! parallel gives each thread its own [`Inspector`] (or calls [`inspect`]), judges each
//! [`Inspection`] with [`Gate::judge`] (a `Gate` is `Sync`) and collects the verdicts,
//! in the order of the paths, with [`Gate::report`].
//!
//! # Example
//!
//! ```no_run
//! use caio_gate::{Gate, GateOptions, Limits};
//! # fn manifest_keyring() -> caio_keyring::Keyring { unimplemented!() }
//!
//! let expected = manifest_keyring(); // Manifest::load(path)?.keyring().clone()
//! let gate = Gate::against(&expected, "keys/keyring.toml", GateOptions::default());
//! let paths = ["dist/caio-verify".into(), "dist/image.tar".into()];
//! let report = gate.run(&paths, &Limits::default());
//! print!("{}", report.human());
//! std::process::exit(report.exit_code().into());
//! ```
//!
//! # How paths are shown
//!
//! A finding inside an archive is shown as the artifact's path and each member's name,
//! joined with `!`: `image.tar!blobs/sha256/ab12…!usr/bin/caio`. Compressed streams
//! (gzip, zstd) add no name: `app.tar.gz!bin/caio`. A file under a directory given as
//! `PATH` is shown by its own path. Member names are shown as the archive stores them,
//! `../` and absolute names included: nothing is ever extracted to disk, so such a name
//! is not a path traversal here, and showing it unchanged tells the reader what the
//! archive really holds. Links (tar symlinks and hard links, zip symlinks, symlinks in a
//! directory) are never followed; the file a hard link names is scanned where the
//! archive stores its bytes.
//!
//! # Non-goals
//!
//! - Extracting, repairing or rewriting artifacts.
//! - Deciding which blocks matter by section or file name: every block found counts.
//! - Archive formats beyond tar, gzip, zstd and zip; bytes of any other format are
//!   scanned as they are, which finds blocks stored uncompressed (an `ar` archive, an
//!   ISO image) but not inside other compression.

#![deny(unsafe_code)]
// Code that reads untrusted bytes never indexes and never unwraps; tests may.
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used))]

mod archive;
mod compare;
mod gate;
mod limits;
mod mapped;
mod native;
mod report;
mod scan;

use core::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use caio_keyring::Keyring;
use caio_keyring::block::DecodeError;

pub use compare::{Change, KeyDifference, KeyringDiff, compare};
pub use gate::{
    ArtifactVerdict, BlockFailure, Expectation, Gate, GateOptions, GateReport, JudgedFinding,
    Status,
};
pub use limits::{LimitExceeded, Limits};
pub use report::GithubEnv;

/// Everything found in one artifact.
#[derive(Debug)]
pub struct Inspection {
    /// The path as given.
    pub artifact: PathBuf,
    /// Every block found, valid or corrupt, in the order the bytes were read.
    pub findings: Vec<BlockFinding>,
    /// The first [`Limits::max_private_keys`] private keys found, in the order the bytes
    /// were read. Any private key fails the artifact.
    pub private_keys: Vec<PrivateKeyFinding>,
    /// How many private keys were found in all, the unrecorded ones beyond
    /// [`Limits::max_private_keys`] included: a hostile artifact holding millions costs
    /// a counter, not memory.
    pub private_key_count: u64,
    /// What stopped the walk before the end, if anything. The findings before it are
    /// kept, but an artifact with an error is never a pass.
    pub error: Option<ArtifactError>,
    /// How much was read.
    pub stats: Stats,
}

/// One occurrence of the magic.
#[derive(Debug, Clone)]
pub struct BlockFinding {
    /// The file, and the members inside it, that hold the block.
    pub location: Location,
    /// Where the block starts in the innermost member's bytes (decompressed), or in the
    /// file when it is not inside an archive.
    pub offset: u64,
    /// The section that holds the block, for a native binary (ELF, Mach-O, PE) that is
    /// a file of its own (not a member of an archive). Mach-O sections are shown as
    /// `segment,section`.
    pub section: Option<String>,
    /// The block's bytes, as far as they can be delimited: exactly the block when its
    /// length field is usable, else its header.
    pub bytes: Vec<u8>,
    /// The decoded keyring, or why the bytes are a corrupt block.
    pub keyring: Result<Keyring, DecodeError>,
}

/// A private key found in an artifact: where it starts and what kind it is.
///
/// Deliberately nothing else: no byte of the key, no prefix, no hash of it, so that a
/// report (a CI log, a step summary, a JSON file kept as evidence) never spreads the
/// secret it warns about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateKeyFinding {
    /// The file, and the members inside it, that hold the key.
    pub location: Location,
    /// Where the key's encoding starts in the innermost member's bytes (decompressed):
    /// the first `-` of `-----BEGIN ` for PEM; for DER, the outer SEQUENCE when its
    /// header is there, else the Ed25519 private key wrapper.
    pub offset: u64,
    /// What was found.
    pub kind: PrivateKeyKind,
}

/// The kinds of private key the scanner recognises.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrivateKeyKind {
    /// A PEM header line `-----BEGIN <label>-----` whose label ends in `PRIVATE KEY`
    /// (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`,
    /// `OPENSSH PRIVATE KEY`, ...), whatever follows it: the header alone fails, since a
    /// key cut short or folded onto one line is still a leaked key.
    Pem {
        /// The label, e.g. `OPENSSH PRIVATE KEY`: uppercase letters, digits and spaces.
        label: String,
    },
    /// The DER of an Ed25519 private key: the AlgorithmIdentifier of Ed25519 followed by
    /// the OCTET STRING that wraps the 32-byte seed (RFC 8410, section 7), as OpenSSL
    /// (`openssl pkey -outform DER`) and `cargo xtask keygen` write it. These 11 bytes
    /// occur in nothing else, so they count wherever they are.
    Pkcs8Ed25519 {
        /// The PKCS#8 version: `Some(1)` for a v1 `PrivateKeyInfo` (RFC 5208), `Some(2)`
        /// for a v2 `OneAsymmetricKey` (RFC 5958), `None` when the bytes before the
        /// wrapper are not a SEQUENCE header and a version.
        version: Option<u8>,
    },
}

/// Where in an artifact something is: a file, then the members inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file on disk: the path given, or a file under the directory given.
    pub file: PathBuf,
    /// Member names, outermost first, as the archives store them.
    pub members: Vec<String>,
}

/// How much an inspection read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Streams scanned for blocks: files and archive members that are not containers.
    pub scanned: u64,
    /// Bytes of those streams.
    pub scanned_bytes: u64,
    /// Archive and directory entries seen, of every type.
    pub entries: u64,
    /// Bytes that came out of decompressors and of GNU sparse members (see
    /// [`Limits::max_unpacked_bytes`]).
    pub unpacked_bytes: u64,
}

/// A container or binary format, recognised by its leading bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// A tar archive (POSIX ustar, GNU or PAX).
    Tar,
    /// A gzip stream (one or more members).
    Gzip,
    /// A zstd stream (one or more frames).
    Zstd,
    /// A zip archive, wheels included.
    Zip,
    /// An ELF binary.
    Elf,
    /// A Mach-O binary.
    MachO,
    /// A PE (Windows) binary.
    Pe,
    /// Anything else: scanned as it is.
    Data,
}

/// Why an artifact could not be examined to the end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The path, a file under it, or the storage beneath a stream could not be read.
    #[error("{location}: cannot read: {source}")]
    Unreadable {
        /// What could not be read.
        location: Location,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The path is neither a regular file nor a directory (a device, a socket, a FIFO).
    #[error("{path}: not a regular file or a directory; give the artifact's file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A container that starts like `format` but does not parse, fails its checksum or
    /// ends early; or a zip entry that cannot be read (encrypted, an unsupported
    /// compression method).
    #[error("{location}: malformed {format} data: {source}")]
    Malformed {
        /// Where.
        location: Location,
        /// The container at fault.
        format: Format,
        /// What the parser said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The artifact went over one of the [`Limits`].
    #[error("{location}: {limit}")]
    Limit {
        /// Where the bound was reached.
        location: Location,
        /// Which bound.
        limit: LimitExceeded,
    },
    /// A nested zip could not be copied to a temporary file.
    #[error("{location}: cannot copy a nested zip archive to a temporary file: {source}")]
    Spill {
        /// The zip member.
        location: Location,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Finds keyring blocks and private keys in artifacts: one set of finders and one read
/// buffer, reused for every artifact inspected with it.
pub struct Inspector {
    limits: Limits,
    scanner: scan::Scanner,
}

impl Inspection {
    /// Whether the walk reached the end of the artifact.
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
    }
}

impl BlockFinding {
    /// `location` and offset, for messages: `a.tar!bin/caio @ 0x2a000 (.caio_keys)`.
    pub fn describe(&self) -> String {
        let mut out = format!("{} @ {:#x}", self.location, self.offset);
        if let Some(section) = &self.section {
            out += &format!(" ({section})");
        }
        out
    }
}

impl PrivateKeyFinding {
    /// `location` and offset, for messages: `a.tar!etc/key.pem @ 0x0`.
    pub fn describe(&self) -> String {
        format!("{} @ {:#x}", self.location, self.offset)
    }
}

impl PrivateKeyKind {
    /// The stable name of this kind, as in `--json` output: `pem_private_key` or
    /// `pkcs8_ed25519_private_key`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Pem { .. } => "pem_private_key",
            Self::Pkcs8Ed25519 { .. } => "pkcs8_ed25519_private_key",
        }
    }
}

impl fmt::Display for PrivateKeyKind {
    /// For people: `PEM "OPENSSH PRIVATE KEY"`, `DER PKCS#8 v1 Ed25519 private key`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pem { label } => write!(f, "PEM {label:?}"),
            Self::Pkcs8Ed25519 {
                version: Some(version),
            } => write!(f, "DER PKCS#8 v{version} Ed25519 private key"),
            Self::Pkcs8Ed25519 { version: None } => {
                f.write_str("DER Ed25519 private key (without a PKCS#8 header)")
            }
        }
    }
}

impl Location {
    /// A file on disk, not inside an archive.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            file: path.into(),
            members: Vec::new(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        for member in &self.members {
            write!(f, "!{member}")?;
        }
        Ok(())
    }
}

impl Format {
    /// The lowercase name used in messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tar => "tar",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
            Self::Zip => "zip",
            Self::Elf => "elf",
            Self::MachO => "mach-o",
            Self::Pe => "pe",
            Self::Data => "data",
        }
    }

    /// Recognises a format from the first bytes of a stream (512 are enough for all).
    pub fn detect(head: &[u8]) -> Self {
        let starts = |magic: &[u8]| head.starts_with(magic);
        let zstd_skippable = matches!(head, [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..]);
        if starts(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) || zstd_skippable {
            Self::Zstd
        } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
            Self::Zip
        } else if starts(b"\x7fELF") {
            Self::Elf
        } else if [
            [0xfe, 0xed, 0xfa, 0xce],
            [0xfe, 0xed, 0xfa, 0xcf],
            [0xce, 0xfa, 0xed, 0xfe],
            [0xcf, 0xfa, 0xed, 0xfe],
        ]
        .iter()
        .any(|magic| starts(magic))
        {
            Self::MachO
        } else if head.get(257..262) == Some(b"ustar") {
            Self::Tar
        } else if starts(b"MZ") {
            Self::Pe
        } else {
            Self::Data
        }
    }

    /// Whether the format is a native binary, whose sections can be named.
    pub fn is_native(self) -> bool {
        matches!(self, Self::Elf | Self::MachO | Self::Pe)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl ArtifactError {
    /// The stable name of this kind of error, as in `--json` output: `unreadable`,
    /// `malformed_archive` or `limit_exceeded`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable { .. } | Self::NotAFile { .. } | Self::Spill { .. } => "unreadable",
            Self::Malformed { .. } => "malformed_archive",
            Self::Limit { .. } => "limit_exceeded",
        }
    }
}

impl Inspector {
    /// An inspector that holds every artifact to `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            scanner: scan::Scanner::new(limits.block_window(), scan::DEFAULT_CHUNK),
            limits,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Examines the file or directory at `path` to the end, or to the first error.
    /// Never panics and never stops at the first finding.
    pub fn inspect(&mut self, path: &Path) -> Inspection {
        archive::Walker::new(&self.limits, &mut self.scanner, path).inspect_path(path)
    }

    /// Examines a stream (standard input, bytes in memory, a download), shown as
    /// `name`. Containers are recognised as in a file; a zip stream is copied to a
    /// temporary file (within [`Limits::max_spill_bytes`]) and no section is named.
    pub fn inspect_reader(&mut self, name: &Path, reader: &mut dyn Read) -> Inspection {
        archive::Walker::new(&self.limits, &mut self.scanner, name).inspect_reader(reader)
    }

    #[cfg(test)]
    fn with_chunk(limits: Limits, chunk: usize) -> Self {
        Self {
            scanner: scan::Scanner::new(limits.block_window(), chunk),
            limits,
        }
    }
}

/// Examines one artifact with a fresh [`Inspector`].
pub fn inspect(path: &Path, limits: &Limits) -> Inspection {
    Inspector::new(*limits).inspect(path)
}

#[cfg(test)]
mod tests;
