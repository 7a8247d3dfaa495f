//! The byte scanner: finds every occurrence of the keyring magic in a stream, in one
//! pass, with bounded memory, and hands each hit to the caller with the bytes that
//! follow it.
//!
//! It searches for the first [`SCAN_PREFIX_LEN`] magic bytes (all but the format byte,
//! so a block of an unknown format is found, not skipped) with one
//! [`memchr::memmem::Finder`] built per scanner. It reads large chunks into one reused
//! buffer; a hit whose block could run past the end of the buffer is carried to the
//! front and the rest read before the hit is handed on, and the last
//! `SCAN_PREFIX_LEN - 1` bytes of every chunk are kept for the next search, so a magic
//! or a block straddling a read boundary is found whole. It knows nothing of archives
//! or file formats, and decides nothing: [`decode_window`] says what a hit holds.

use std::io::{self, Read};

use caio_keyring::Keyring;
use caio_keyring::block::{self, DecodeError, HEADER_LEN, SCAN_PREFIX_LEN};
use memchr::memmem::Finder;

/// The bytes read per chunk, on top of the block window kept for a hit near the end.
pub(crate) const DEFAULT_CHUNK: usize = 1 << 20;

/// A magic finder and its read buffer, reused across every stream of an inspection.
pub(crate) struct Scanner {
    finder: Finder<'static>,
    /// How many bytes from a hit on are handed to the caller (at most).
    window: usize,
    /// How many new bytes each refill aims for.
    chunk: usize,
    buf: Vec<u8>,
}

/// What the scanner calls for each hit: the stream offset and the bytes from the hit
/// on; an error stops the scan.
pub(crate) type OnHit<'a, E> = dyn FnMut(u64, &[u8]) -> Result<(), E> + 'a;

/// Why a scan stopped before the end of the stream.
#[derive(Debug)]
pub(crate) enum ScanError<E> {
    /// Reading the stream failed.
    Read(io::Error),
    /// The hit callback refused to go on.
    Hit(E),
}

impl Scanner {
    /// A scanner that hands on `window` bytes from each hit and reads `chunk` bytes at
    /// a time. Both are at least one magic long.
    pub(crate) fn new(window: usize, chunk: usize) -> Self {
        let needle = block::scan_prefix();
        let window = window.max(SCAN_PREFIX_LEN);
        let chunk = chunk.max(SCAN_PREFIX_LEN);
        Self {
            finder: Finder::new(&needle).into_owned(),
            window,
            chunk,
            buf: Vec::new(),
        }
    }

    /// Reads `reader` to its end and calls `on_hit(offset, window)` for every magic in
    /// it, in order: `offset` counts from the start of the stream, `window` holds the
    /// bytes from the hit on, as many as the scanner's window or as the stream has.
    /// Returns how many bytes were read.
    pub(crate) fn scan<E>(
        &mut self,
        reader: &mut dyn Read,
        on_hit: &mut OnHit<'_, E>,
    ) -> Result<u64, ScanError<E>> {
        let capacity = self.chunk + self.window;
        self.buf.resize(capacity, 0);
        let mut len = 0_usize; // valid bytes at the front of `buf`
        let mut base = 0_u64; // stream offset of `buf[0]`
        let mut eof = false;
        loop {
            while len < capacity && !eof {
                let spare = self.buf.get_mut(len..).unwrap_or_default();
                match reader.read(spare) {
                    Ok(0) => eof = true,
                    Ok(n) => len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(ScanError::Read(e)),
                }
            }
            let data = self.buf.get(..len).unwrap_or_default();
            // Where the next search starts, and a hit whose block may run past `len`.
            let mut from = 0_usize;
            let mut carried = None;
            while let Some(at) = data
                .get(from..)
                .and_then(|rest| self.finder.find(rest))
                .map(|rel| from + rel)
            {
                let end = at.saturating_add(self.window);
                if end > len && !eof {
                    carried = Some(at);
                    break;
                }
                let window = data.get(at..end.min(len)).unwrap_or_default();
                on_hit(base + at as u64, window).map_err(ScanError::Hit)?;
                from = at + 1;
            }
            if eof && carried.is_none() {
                return Ok(base + len as u64);
            }
            // Keep the carried hit, or else the bytes that may start a magic that the
            // next read completes. Either way `keep > 0`: the buffer is full here, and a
            // carried hit lies past the first `chunk` bytes.
            let keep = carried.unwrap_or_else(|| len.saturating_sub(SCAN_PREFIX_LEN - 1).max(from));
            self.buf.copy_within(keep..len, 0);
            len -= keep;
            base += keep as u64;
        }
    }
}

/// What a magic hit holds: the block's bytes as far as they can be delimited, and the
/// keyring they decode to or why they do not.
///
/// When the stated length is usable the bytes are exactly the block; otherwise (a bad
/// format byte, a length out of range or past the end of the stream) they are the
/// header, or as much of it as there is.
pub(crate) fn decode_window(window: &[u8]) -> (Vec<u8>, Result<Keyring, DecodeError>) {
    match block::block_len(window) {
        Ok(len) => {
            let bytes = window.get(..len).unwrap_or(window).to_vec();
            let keyring = block::decode(&bytes);
            (bytes, keyring)
        }
        Err(error) => {
            let head = window.get(..HEADER_LEN.min(window.len())).unwrap_or(window);
            (head.to_vec(), Err(error))
        }
    }
}
