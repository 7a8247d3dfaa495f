//! The bounds that make inspecting an untrusted artifact safe: how deep, how much, how
//! many. One [`Limits`] value holds them all; going over any of them is a
//! [`LimitExceeded`] error for that artifact, never a pass and never a silent skip.
//!
//! This module only states the bounds; the walker in `archive.rs` counts against them.
//! One bound is not an error: [`Limits::max_private_keys`] only caps how many private
//! keys a report lists, since the first one already fails the artifact.

use core::fmt;

use caio_keyring::block::MAX_BLOCK_LEN;

/// How far the inspector goes into one artifact before it gives up with an error.
///
/// Every bound holds per artifact (per `PATH` given to the inspector). The defaults fit
/// real release artifacts (a multi-gigabyte container image, a wheel, a tarball of
/// binaries) with a wide margin, and stop decompression bombs, archive-in-archive
/// recursion and entry floods well before they exhaust memory, disk or time.
///
/// ```
/// use caio_gate::Limits;
///
/// let limits = Limits { max_depth: 4, ..Limits::default() };
/// assert_eq!(limits.max_unpacked_bytes, 16 << 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How many containers may be opened one inside another. The artifact itself is
    /// depth 0; each tar, gzip, zstd or zip opened is one level more. `docker save`
    /// output with gzip layers needs 3 (tar, gzip, tar). Directories do not count: each
    /// file under a directory given as `PATH` starts again at depth 0. Default 8.
    pub max_depth: usize,
    /// How many bytes in total may come out of decompressors (gzip, zstd, zip
    /// entries) and out of GNU sparse tar members (whose holes the tar reader fills with
    /// zeros: a small header can declare an exabyte), over the whole artifact. Other
    /// bytes read straight from a file or an uncompressed tar are not counted: they
    /// cannot be more than the file. Default 16 GiB.
    pub max_unpacked_bytes: u64,
    /// How many archive entries (tar headers of every type, zip entries, directory
    /// entries) the artifact may hold, over all its levels. Default 1,000,000.
    pub max_entries: u64,
    /// How many bytes after a magic hit are read to delimit and decode the block, and so
    /// the largest block accepted: a block that states a longer length is corrupt.
    /// Default and maximum 65536, the format's own bound ([`MAX_BLOCK_LEN`]); a larger
    /// value is treated as 65536.
    pub max_block_len: usize,
    /// The largest zip archive nested inside a stream (a wheel inside a tarball) that
    /// may be copied to a temporary file to be read: zip needs random access. A zip
    /// given as a file is read in place and is not bounded by this. Default 4 GiB.
    pub max_spill_bytes: u64,
    /// How many bytes of tar headers may be read before one entry: the header, and
    /// the GNU long-name and PAX extension records that the tar reader holds in memory
    /// to name the entry. Real names and attributes take a few kilobytes. Default 1 MiB.
    pub max_tar_header_bytes: u64,
    /// How many blocks (valid or corrupt) one artifact may hold. A real artifact holds
    /// one per binary; a file made of nothing but copies of the magic would otherwise
    /// grow the report without bound. Default 10,000.
    pub max_findings: usize,
    /// How many private keys one artifact's report records (where and what kind). The
    /// rest are counted, not recorded, so that an artifact holding millions of them
    /// stays in bounded memory. Unlike the other bounds, going over it is no error: the
    /// artifact fails for its first private key, and the count says how many there
    /// are. Default 100.
    pub max_private_keys: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 8,
            max_unpacked_bytes: 16 << 30,
            max_entries: 1_000_000,
            max_block_len: MAX_BLOCK_LEN,
            max_spill_bytes: 4 << 30,
            max_tar_header_bytes: 1 << 20,
            max_findings: 10_000,
            max_private_keys: 100,
        }
    }
}

impl Limits {
    /// Tighter bounds for fuzzing: the `artifact` fuzz target and its corpus replay in
    /// the tests use these, so that one input costs little and the two agree on what a
    /// limit error is.
    pub fn fuzzing() -> Self {
        Self {
            max_depth: 4,
            max_unpacked_bytes: 64 << 20,
            max_entries: 10_000,
            max_spill_bytes: 16 << 20,
            ..Self::default()
        }
    }

    /// The bytes read after a hit: [`Limits::max_block_len`], at most the format's
    /// bound, and at least the magic and length field so a length can be read.
    pub(crate) fn block_window(&self) -> usize {
        self.max_block_len.clamp(20, MAX_BLOCK_LEN)
    }
}

/// Which bound an artifact went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// Containers nested deeper than [`Limits::max_depth`].
    Depth {
        /// The bound.
        max: usize,
    },
    /// More than [`Limits::max_unpacked_bytes`] came out of decompressors.
    UnpackedBytes {
        /// The bound.
        max: u64,
    },
    /// More than [`Limits::max_entries`] archive entries.
    Entries {
        /// The bound.
        max: u64,
    },
    /// A nested zip larger than [`Limits::max_spill_bytes`].
    SpillBytes {
        /// The bound.
        max: u64,
    },
    /// Tar headers longer than [`Limits::max_tar_header_bytes`] before one entry.
    TarHeaderBytes {
        /// The bound.
        max: u64,
    },
    /// More than [`Limits::max_findings`] blocks.
    Findings {
        /// The bound.
        max: usize,
    },
}

impl LimitExceeded {
    /// The name of the [`Limits`] field that was exceeded.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Depth { .. } => "max_depth",
            Self::UnpackedBytes { .. } => "max_unpacked_bytes",
            Self::Entries { .. } => "max_entries",
            Self::SpillBytes { .. } => "max_spill_bytes",
            Self::TarHeaderBytes { .. } => "max_tar_header_bytes",
            Self::Findings { .. } => "max_findings",
        }
    }
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Depth { max } => write!(f, "containers nest deeper than {max} levels"),
            Self::UnpackedBytes { max } => {
                write!(f, "more than {max} bytes decompressed")
            }
            Self::Entries { max } => write!(f, "more than {max} archive entries"),
            Self::SpillBytes { max } => {
                write!(f, "a nested zip archive is larger than {max} bytes")
            }
            Self::TarHeaderBytes { max } => {
                write!(f, "a tar entry has more than {max} bytes of headers")
            }
            Self::Findings { max } => write!(f, "more than {max} keyring blocks"),
        }?;
        write!(
            f,
            "; the artifact is refused (raise `{}` only for an artifact you trust)",
            self.field()
        )
    }
}
