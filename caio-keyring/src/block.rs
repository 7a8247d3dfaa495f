//! The embedded keyring block, format 1: the canonical byte encoding of a [`Keyring`].
//!
//! One keyring has one encoding, so a gate can compare bytes. The decoder reads
//! untrusted bytes through a bounds-checked cursor: it never indexes, never panics and
//! rejects anything that [`encode`] would not have written, trailing bytes included.
//! `docs/format.md` is the specification; this module is its reference implementation.
//!
//! The magic never appears in this crate's code or data as one run of bytes: it is kept
//! masked and unmasked through [`core::hint::black_box`] when needed, so that a scanner
//! finding it in a binary finds a real block and nothing else.

use sha2::{Digest, Sha256};

use crate::fingerprint::Fingerprint;
use crate::keyring::{
    Algorithm, Channel, KeyId, Keyring, KeyringError, MAX_ID_LEN, MAX_KEYS, MAX_REVOKED,
    RuntimeOverride, TrustedKey, Validity,
};

/// The format this crate reads and writes: the last byte of the magic.
pub const FORMAT: u8 = 1;

/// Length of the magic, format byte included.
pub const MAGIC_LEN: usize = 16;

/// How many leading magic bytes a scanner searches for: all but the format byte, so
/// that a block of an unknown format is found and reported rather than skipped.
pub const SCAN_PREFIX_LEN: usize = 15;

/// The largest block, in bytes.
pub const MAX_BLOCK_LEN: usize = 65536;

/// Length of the trailing SHA-256 digest.
pub const DIGEST_LEN: usize = 32;

/// Bytes of fixed header before the first key record.
pub const HEADER_LEN: usize = 28;

/// The smallest possible block: a header, one key with a one-byte id, a digest.
pub const MIN_BLOCK_LEN: usize = HEADER_LEN + RECORD_FIXED_LEN + 1 + DIGEST_LEN;

/// Bytes of a key record besides its id: id_len, algorithm, key, three instants.
const RECORD_FIXED_LEN: usize = 1 + 1 + 32 + 3 * 8;

/// The magic XORed with [`MASK`], so that the plain magic is in no binary's data.
const MASKED_MAGIC: [u8; MAGIC_LEN] = [
    0x19, 0x1b, 0x13, 0x15, 0x77, 0x11, 0x1f, 0x03, 0x08, 0x13, 0x14, 0x1d, 0x5a, 0x5a, 0x5a, 0x5b,
];
const MASK: u8 = 0x5a;

/// The 16 magic bytes, assembled at run time (see the module docs for why).
pub fn magic() -> [u8; MAGIC_LEN] {
    let mut out = core::hint::black_box(MASKED_MAGIC);
    let mask = core::hint::black_box(MASK);
    for b in &mut out {
        *b ^= mask;
    }
    out
}

/// The first [`SCAN_PREFIX_LEN`] magic bytes: what a scanner searches for.
pub fn scan_prefix() -> [u8; SCAN_PREFIX_LEN] {
    let m = magic();
    let mut out = [0u8; SCAN_PREFIX_LEN];
    out.copy_from_slice(m.get(..SCAN_PREFIX_LEN).unwrap_or(&[0; SCAN_PREFIX_LEN]));
    out
}

/// Why bytes are not a format-1 block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the smallest block.
    #[error("{len} bytes is shorter than the smallest block ({MIN_BLOCK_LEN} bytes)")]
    TooShort {
        /// Bytes available.
        len: usize,
    },
    /// The first 15 bytes are not the magic.
    #[error("the block does not start with the keyring magic")]
    BadMagic,
    /// The magic is right but the format byte is one this decoder does not know.
    #[error("block format {format} is not supported (this decoder reads format 1)")]
    UnknownFormat {
        /// The format byte found.
        format: u8,
    },
    /// `block_len` is outside the possible range or past the bytes available.
    #[error(
        "block_len {block_len} is out of range ({MIN_BLOCK_LEN}..={MAX_BLOCK_LEN}) or past the {available} bytes available"
    )]
    BadLength {
        /// The stated length.
        block_len: u32,
        /// Bytes available.
        available: usize,
    },
    /// Bytes after `block_len`.
    #[error("{extra} bytes follow the block")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The trailing digest does not match the bytes before it.
    #[error("the digest does not match the block's bytes: the block was altered")]
    DigestMismatch,
    /// Flag bits that format 1 does not define, or an undefined override value.
    #[error("flags {flags:#06x} set undefined bits")]
    BadFlags {
        /// The flags found.
        flags: u16,
    },
    /// `key_count` is 0 or over 32.
    #[error("key_count {count} is out of range (1..=32)")]
    KeyCount {
        /// The count found.
        count: u8,
    },
    /// `revoked_count` is over 64.
    #[error("revoked_count {count} is out of range (0..=64)")]
    RevokedCount {
        /// The count found.
        count: u8,
    },
    /// A field runs past the end of the records.
    #[error("field `{field}` at offset {offset} runs past the end of the block")]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// Which field.
        field: &'static str,
    },
    /// A key id is empty, too long or has bytes outside the id syntax.
    #[error("key record at offset {offset}: the id is not 1..=64 bytes of [A-Za-z0-9._-]")]
    BadId {
        /// Where the record starts.
        offset: usize,
    },
    /// Ids not in strictly ascending byte order.
    #[error("key record at offset {offset}: ids are not sorted and unique")]
    UnsortedIds {
        /// Where the record starts.
        offset: usize,
    },
    /// An algorithm byte other than 1.
    #[error("key record at offset {offset}: unknown algorithm {algorithm}")]
    UnknownAlgorithm {
        /// Where the record starts.
        offset: usize,
        /// The byte found.
        algorithm: u8,
    },
    /// Revoked fingerprints not strictly ascending.
    #[error("revoked fingerprint {index} is not in ascending order")]
    UnsortedRevoked {
        /// Its index in the list.
        index: usize,
    },
    /// The records decode but do not make a keyring (weak key, windows, duplicates).
    #[error(transparent)]
    Keyring(#[from] KeyringError),
}

/// Encodes a keyring as its one canonical block.
pub fn encode(keyring: &Keyring) -> Vec<u8> {
    let mut out = Vec::with_capacity(MIN_BLOCK_LEN + keyring.keys().len() * 100);
    out.extend_from_slice(&magic());
    out.extend_from_slice(&[0; 4]); // block_len, filled in below
    out.extend_from_slice(&keyring.serial().to_le_bytes());
    out.extend_from_slice(&flags_of(keyring).to_le_bytes());
    // Keyring::new bounds both counts, so these casts never truncate.
    out.push(keyring.keys().len() as u8);
    out.push(keyring.revoked().len() as u8);
    for key in keyring.keys() {
        let id = key.id().as_str().as_bytes();
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.push(key.algorithm().code());
        out.extend_from_slice(key.public_key().as_bytes());
        let v = key.validity();
        for instant in [v.not_before, v.sign_until, v.not_after] {
            out.extend_from_slice(&instant.to_le_bytes());
        }
    }
    for fingerprint in keyring.revoked() {
        out.extend_from_slice(fingerprint.as_bytes());
    }
    let block_len = (out.len() + DIGEST_LEN) as u32;
    if let Some(slot) = out.get_mut(16..20) {
        slot.copy_from_slice(&block_len.to_le_bytes());
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// Decodes one whole block: `bytes` must be exactly the block, no more.
pub fn decode(bytes: &[u8]) -> Result<Keyring, DecodeError> {
    let len = block_len(bytes)?;
    if bytes.len() > len {
        return Err(DecodeError::TrailingBytes {
            extra: bytes.len() - len,
        });
    }
    let (body, digest) = bytes.split_at(len - DIGEST_LEN);
    if Sha256::digest(body).as_slice() != digest {
        return Err(DecodeError::DigestMismatch);
    }
    let mut cur = Cursor::new(body);
    cur.take(MAGIC_LEN + 4, "magic")?;
    let serial = cur.u32("serial")?;
    let flags = cur.u16("flags")?;
    let (channel, runtime_override) = parse_flags(flags)?;
    let key_count = cur.u8("key_count")?;
    if key_count == 0 || usize::from(key_count) > MAX_KEYS {
        return Err(DecodeError::KeyCount { count: key_count });
    }
    let revoked_count = cur.u8("revoked_count")?;
    if usize::from(revoked_count) > MAX_REVOKED {
        return Err(DecodeError::RevokedCount {
            count: revoked_count,
        });
    }
    let mut keys: Vec<TrustedKey> = Vec::with_capacity(key_count.into());
    for _ in 0..key_count {
        let offset = cur.offset();
        let id_len = usize::from(cur.u8("id_len")?);
        if id_len == 0 || id_len > MAX_ID_LEN {
            return Err(DecodeError::BadId { offset });
        }
        let id_bytes = cur.take(id_len, "id")?;
        let id = core::str::from_utf8(id_bytes)
            .ok()
            .and_then(|s| KeyId::new(s).ok())
            .ok_or(DecodeError::BadId { offset })?;
        if keys
            .last()
            .is_some_and(|prev| prev.id().as_str().as_bytes() >= id.as_str().as_bytes())
        {
            return Err(DecodeError::UnsortedIds { offset });
        }
        let algorithm = cur.u8("algorithm")?;
        if Algorithm::from_code(algorithm) != Some(Algorithm::Ed25519) {
            return Err(DecodeError::UnknownAlgorithm { offset, algorithm });
        }
        let raw = cur.array::<32>("public_key")?;
        let validity = Validity {
            not_before: cur.i64("not_before")?,
            sign_until: cur.i64("sign_until")?,
            not_after: cur.i64("not_after")?,
        };
        keys.push(TrustedKey::ed25519(id, &raw, validity)?);
    }
    let mut revoked: Vec<Fingerprint> = Vec::with_capacity(revoked_count.into());
    for index in 0..usize::from(revoked_count) {
        let fingerprint = Fingerprint::from_bytes(cur.array::<32>("revoked")?);
        if revoked.last().is_some_and(|prev| *prev >= fingerprint) {
            return Err(DecodeError::UnsortedRevoked { index });
        }
        revoked.push(fingerprint);
    }
    if !cur.is_empty() {
        return Err(DecodeError::TrailingBytes {
            extra: cur.remaining(),
        });
    }
    Ok(Keyring::new(
        serial,
        channel,
        runtime_override,
        keys,
        revoked,
    )?)
}

/// Checks the magic and returns the stated `block_len`, bounded by `bytes`. A scanner
/// calls this at each magic hit to learn how many bytes to hand to [`decode`].
pub fn block_len(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut cur = Cursor::new(bytes);
    let head = cur
        .take(MAGIC_LEN, "magic")
        .map_err(|_| DecodeError::TooShort { len: bytes.len() })?;
    let magic = magic();
    let (prefix, format) = head.split_at(SCAN_PREFIX_LEN);
    if Some(prefix) != magic.get(..SCAN_PREFIX_LEN) {
        return Err(DecodeError::BadMagic);
    }
    if format != [FORMAT] {
        return Err(DecodeError::UnknownFormat {
            format: format.first().copied().unwrap_or_default(),
        });
    }
    let block_len = cur
        .u32("block_len")
        .map_err(|_| DecodeError::TooShort { len: bytes.len() })?;
    let len = usize::try_from(block_len).unwrap_or(usize::MAX);
    if !(MIN_BLOCK_LEN..=MAX_BLOCK_LEN).contains(&len) || len > bytes.len() {
        return Err(DecodeError::BadLength {
            block_len,
            available: bytes.len(),
        });
    }
    Ok(len)
}

/// The trailing digest of an encoded block, as a fingerprint.
pub fn digest_of(block: &[u8]) -> Fingerprint {
    let mut out = [0u8; DIGEST_LEN];
    if let Some(tail) = block
        .len()
        .checked_sub(DIGEST_LEN)
        .and_then(|at| block.get(at..))
    {
        out.copy_from_slice(tail);
    }
    Fingerprint::from_bytes(out)
}

fn flags_of(keyring: &Keyring) -> u16 {
    let dev = match keyring.channel() {
        Channel::Production => 0,
        Channel::Development => 1 << 2,
    };
    keyring.runtime_override().code() | dev
}

fn parse_flags(flags: u16) -> Result<(Channel, RuntimeOverride), DecodeError> {
    let runtime_override =
        RuntimeOverride::from_code(flags & 0b11).ok_or(DecodeError::BadFlags { flags })?;
    if flags & !0b111 != 0 {
        return Err(DecodeError::BadFlags { flags });
    }
    let channel = if flags & 0b100 != 0 {
        Channel::Development
    } else {
        Channel::Production
    };
    Ok((channel, runtime_override))
}

/// A reader over untrusted bytes that never indexes and never reads past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    fn offset(&self) -> usize {
        self.offset
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.offset.checked_add(n);
        let slice = end.and_then(|end| self.bytes.get(self.offset..end));
        match (slice, end) {
            (Some(slice), Some(end)) => {
                self.offset = end;
                Ok(slice)
            }
            _ => Err(DecodeError::Truncated {
                offset: self.offset,
                field,
            }),
        }
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(u8::from_le_bytes(self.array(field)?))
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
