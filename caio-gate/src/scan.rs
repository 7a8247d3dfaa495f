//! The byte scanner: finds every occurrence of the keyring magic and every private key
//! in a stream, in one pass, with bounded memory, and hands each hit to the caller.
//!
//! Three needles are looked for:
//!
//! - the first [`SCAN_PREFIX_LEN`] magic bytes (all but the format byte, so a block of
//!   an unknown format is found, not skipped); a hit is handed on with the bytes that
//!   follow it, up to the block window;
//! - `PRIVATE KEY-----`, confirmed by a `-----BEGIN ` shortly before it with only
//!   uppercase letters, digits and spaces between (a PEM private key's header line);
//! - the 11 bytes that wrap an Ed25519 private key's seed in DER (`30 05 06 03 2b 65
//!   70` the AlgorithmIdentifier, `04 22 04 20` the OCTET STRINGs), which occur in no
//!   other encoding (a public key's SPKI has `03 21 00` after the same identifier);
//!   every hit counts, and the bytes before it only tell the PKCS#8 version.
//!
//! They are found by two [`memchr::memmem::Finder`]s, built once per scanner, over each
//! chunk of one reused buffer. The magic (its bytes 5 to 7, see `docs/format.md`) and
//! the PEM needle share the bytes `KEY`: one finder looks for that [`ANCHOR`], and each
//! hit is compared with both needles around it. The other looks for the DER needle. A
//! finder costs about as much per byte whatever it looks for, so this costs two
//! searches, not three (the scan is benchmarked against ripgrep). Their hits are taken
//! in the order of the bytes.
//!
//! Read boundaries: a magic hit whose block could run past the end of the buffer is
//! carried to the front and the rest read before the hit is handed on; an anchor is
//! looked at only once the bytes its checks read after it are in the buffer; and every
//! chunk keeps its last [`TAIL`] bytes for the next, enough for any needle less one byte
//! with the bytes its check reads before and after it. So a needle straddling a
//! boundary is found whole, with its context, whatever the sizes of the reads. Each
//! finder resumes where it stopped, so nothing is found twice.
//!
//! A large slice (a mapped file, or a large entry of a mapped tar) can be scanned in
//! parts, one thread each ([`Scanner::scan_slice_parts`]): on two cores that takes the
//! scan of a 1 GiB tar under ripgrep's time for its one needle (`docs/benchmarks.md`).
//! Each part looks only at the needles whose position falls in its range, and reads the
//! look-behind before it and a block window after it, so every needle is judged once,
//! on the bytes one scan would judge it on. The first part calls the callbacks; the
//! others record what they find (bounded by what the caller can still accept) and are
//! replayed after it, in order.
//!
//! The private-key needles are never a literal here (only comments name them), as the
//! magic is not in `caio-keyring`: they are kept masked and unmasked at run time through
//! [`core::hint::black_box`], so the gate's own binaries do not hold what it fails.
//! Reported is where and what kind, never a byte of a key. The scanner knows nothing of
//! archives or file formats, and decides nothing: [`decode_window`] says what a magic
//! hit holds, and the gate judges.

use std::cell::RefCell;
use std::io::{self, Read};
use std::ops::Range;

use caio_keyring::Keyring;
use caio_keyring::block::{self, DecodeError, HEADER_LEN, SCAN_PREFIX_LEN};
use memchr::memmem::Finder;

use super::PrivateKeyKind;

/// The bytes read per chunk, on top of the block window kept for a hit near the end.
pub(crate) const DEFAULT_CHUNK: usize = 1 << 20;

/// A slice (a mapped file) is taken a quarter chunk at a time: both finders pass over
/// each window, and the second pass is only cheap while the window is still in the
/// CPU's cache (a 16 MiB window made the scan of a mapped file slower than reads).
const SLICE_CHUNK_DIVISOR: usize = 4;

/// `PRIVATE KEY-----`, the end of a PEM private key's header line, XORed with
/// [`MASK`].
const MASKED_PEM_NEEDLE: [u8; PEM_NEEDLE_LEN] = [
    0x0a, 0x08, 0x13, 0x0c, 0x1b, 0x0e, 0x1f, 0x7a, 0x11, 0x1f, 0x03, 0x77, 0x77, 0x77, 0x77, 0x77,
];

/// `30 05 06 03 2b 65 70 04 22 04 20`, the DER around an Ed25519 private key's seed,
/// XORed with [`MASK`].
const MASKED_PKCS8_NEEDLE: [u8; PKCS8_NEEDLE_LEN] = [
    0x6a, 0x5f, 0x5c, 0x59, 0x71, 0x3f, 0x2a, 0x5e, 0x78, 0x5e, 0x7a,
];

/// The XOR mask of the needles (the one the block magic uses).
const MASK: u8 = 0x5a;

const PEM_NEEDLE_LEN: usize = 16;
const PKCS8_NEEDLE_LEN: usize = 11;

/// The most label bytes before `PRIVATE KEY` in a PEM header that is recognised:
/// `ENCRYPTED ` and `OPENSSH ` are 10 and 8; 40 leaves a wide margin.
const MAX_PEM_LABEL_PREFIX: usize = 40;

/// How far before `PRIVATE KEY-----` a PEM header is looked for: `-----BEGIN ` and the
/// label's first words.
const PEM_LOOK_BEHIND: usize = b"-----BEGIN ".len() + MAX_PEM_LABEL_PREFIX;

/// How far before the DER wrapper the PKCS#8 header is looked for: `30 LL 02 01 0v`, or
/// `30 81 LL 02 01 0v` with a long-form length.
const PKCS8_LOOK_BEHIND: usize = 6;

/// What one finder looks for on behalf of both the magic and the PEM needle: bytes
/// both hold (the magic at [`MAGIC_ANCHOR_AT`], `PRIVATE KEY-----` at
/// [`PEM_ANCHOR_AT`]), and nothing secret on its own. The magic is never written out
/// here (the `tidy` test forbids it); a unit test checks that it holds the anchor.
const ANCHOR: [u8; 3] = *b"KEY";

/// Where [`ANCHOR`] sits in the magic.
const MAGIC_ANCHOR_AT: usize = 5;

/// Where [`ANCHOR`] sits in the PEM needle.
const PEM_ANCHOR_AT: usize = 8;

/// The bytes after an anchor that its checks read: the rest of the magic prefix, or of
/// the PEM needle.
const ANCHOR_LOOK_AHEAD: usize = max(
    SCAN_PREFIX_LEN - MAGIC_ANCHOR_AT - ANCHOR.len(),
    PEM_NEEDLE_LEN - PEM_ANCHOR_AT - ANCHOR.len(),
);

/// The bytes before an anchor that its checks read: the start of the magic, or the
/// start of the PEM needle and the header before it.
const ANCHOR_LOOK_BEHIND: usize = max(MAGIC_ANCHOR_AT, PEM_ANCHOR_AT + PEM_LOOK_BEHIND);

/// The bytes every chunk keeps for the next: a needle less its last byte, with the
/// bytes its checks read around it.
const TAIL: usize = max(
    ANCHOR_LOOK_BEHIND + ANCHOR.len() - 1 + ANCHOR_LOOK_AHEAD,
    PKCS8_LOOK_BEHIND + PKCS8_NEEDLE_LEN - 1,
);

#[cfg(test)]
thread_local! {
    /// Tests: the system refuses every part's thread (as one out of threads would), for
    /// the scans in parts that this thread starts.
    pub(crate) static REFUSE_THREADS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The finders, the needles they lead to, and the read buffer, reused across every
/// stream of an inspection.
pub(crate) struct Scanner {
    /// Finds [`ANCHOR`].
    anchor: Finder<'static>,
    /// Finds the DER needle.
    pkcs8: Finder<'static>,
    /// The magic prefix, compared at each anchor.
    magic: [u8; SCAN_PREFIX_LEN],
    /// The PEM needle, compared at each anchor.
    pem: [u8; PEM_NEEDLE_LEN],
    /// How many bytes from a hit on are handed to the caller (at most).
    window: usize,
    /// How many new bytes each refill aims for.
    chunk: usize,
    buf: Vec<u8>,
}

/// What the scanner calls for each magic hit: the stream offset and the bytes from the
/// hit on; an error stops the scan.
pub(crate) type OnHit<'a, E> = dyn FnMut(u64, &[u8]) -> Result<(), E> + 'a;

/// What the scanner calls for each private key: where its encoding starts in the
/// stream, and what it is. It cannot stop the scan: the caller bounds what it keeps.
pub(crate) type OnKey<'a> = dyn FnMut(u64, KeyHit<'_>) + 'a;

/// A private key the scanner found, borrowed from the buffer, so that a hostile stream
/// of millions of them allocates nothing the caller does not keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyHit<'a> {
    /// A PEM header; the label, e.g. `RSA PRIVATE KEY`, is uppercase letters, digits and
    /// spaces only.
    Pem {
        /// The label's bytes.
        label: &'a [u8],
    },
    /// The DER wrapper of an Ed25519 seed, and the PKCS#8 version before it, if any.
    Pkcs8Ed25519 {
        /// 1, 2, or `None` without a recognisable header.
        version: Option<u8>,
    },
}

/// Why a scan stopped before the end of the stream.
#[derive(Debug)]
pub(crate) enum ScanError<E> {
    /// Reading the stream failed.
    Read(io::Error),
    /// The hit callback refused to go on.
    Hit(E),
}

impl Scanner {
    /// A scanner that hands on `window` bytes from each magic hit and reads `chunk`
    /// bytes at a time. The window is at least one magic long, and the chunk at least
    /// the [`TAIL`] kept between chunks, so that every refill reads something new.
    pub(crate) fn new(window: usize, chunk: usize) -> Self {
        let window = window.max(SCAN_PREFIX_LEN);
        let chunk = chunk.max(TAIL + 1);
        Self {
            anchor: Finder::new(&ANCHOR).into_owned(),
            pkcs8: Finder::new(&unmask(MASKED_PKCS8_NEEDLE)).into_owned(),
            magic: block::scan_prefix(),
            pem: unmask(MASKED_PEM_NEEDLE),
            window,
            chunk,
            buf: Vec::new(),
        }
    }

    /// Reads `reader` to its end; calls `on_hit(offset, window)` for every magic in it,
    /// in order (`offset` counts from the start of the stream, `window` holds the bytes
    /// from the hit on, as many as the scanner's window or as the stream has), and
    /// `on_key(offset, key)` for every private key, in order. Returns how many bytes
    /// were read.
    pub(crate) fn scan<E>(
        &mut self,
        reader: &mut dyn Read,
        on_hit: &mut OnHit<'_, E>,
        on_key: &mut OnKey<'_>,
    ) -> Result<u64, ScanError<E>> {
        self.run(Source::Reader(reader), 0..u64::MAX, on_hit, on_key)
    }

    /// As [`Scanner::scan`], over bytes already in memory (a mapped file): nothing is
    /// copied. The bytes are taken in cache-sized windows, as the reads would be, and
    /// `release(n)` says after each that the first `n` bytes are done with.
    pub(crate) fn scan_slice<E>(
        &mut self,
        bytes: &[u8],
        release: &mut dyn FnMut(usize),
        on_hit: &mut OnHit<'_, E>,
        on_key: &mut OnKey<'_>,
    ) -> Result<u64, ScanError<E>> {
        self.run(
            Source::Slice { bytes, release },
            0..u64::MAX,
            on_hit,
            on_key,
        )
    }

    /// As [`Scanner::scan_slice`], with the slice cut into `parts` parts, each scanned
    /// on a thread of its own ([`parts_for`] says how many are worth it): the first
    /// here, through the callbacks, the others into a bounded record that is handed to
    /// the callbacks afterwards, in order (a part whose thread the system refuses is
    /// scanned here, after the first: slower, never an error). The callbacks see
    /// exactly what one scan of the whole slice shows them, in the same order, and the
    /// scan stops where that one would. `release(from, upto)`: the bytes `from..upto`
    /// are done with (each part says so for its own, in steps).
    ///
    /// How the parts keep that promise: every needle is looked at by the part its
    /// position falls in, and only there (the `accept` range of [`Scanner::run`]); each
    /// part's bytes reach [`BEHIND`] bytes before its range and a block window plus a
    /// [`TAIL`] past it, so every check reads what it would read in one scan. A part
    /// records at most `bounds.max_hits + 1` magic hits (one more than the caller
    /// accepts, so the caller's own limit trips where it would have) and the first
    /// `bounds.max_keys` private keys; the keys after those are only counted, and
    /// handed on as repeats of the last one kept, which a caller that keeps the first
    /// `max_keys` counts and does not keep.
    pub(crate) fn scan_slice_parts<E>(
        &mut self,
        bytes: &[u8],
        parts: usize,
        bounds: PartBounds,
        release: &(dyn Fn(usize, usize) + Sync),
        on_hit: &mut OnHit<'_, E>,
        on_key: &mut OnKey<'_>,
    ) -> Result<u64, ScanError<E>> {
        let len = bytes.len();
        let step = len.div_ceil(parts.max(1)).max(1);
        let reach = self.window.saturating_add(TAIL);
        let (window, chunk) = (self.window, self.chunk);
        // Part `i` looks at needles in `i * step..(i + 1) * step`.
        let part = |i: usize| {
            let from = i.saturating_mul(step).min(len);
            let to = from.saturating_add(step).min(len);
            let start = from.saturating_sub(BEHIND);
            let end = to.saturating_add(reach).min(len);
            (from..to, start..end)
        };
        // Part `i`'s record, scanned by the thread that runs this.
        let record = |i: usize| {
            let (accept, range) = part(i);
            let slice = bytes.get(range.clone()).unwrap_or_default();
            let accept = (accept.start - range.start) as u64..(accept.end - range.start) as u64;
            Record::of(window, chunk, slice, range.start, accept, bounds, release)
        };
        std::thread::scope(|scope| {
            // A part whose thread cannot be had is scanned here, after the first.
            let others: Vec<Result<_, usize>> = (1..parts)
                .map(|i| {
                    #[cfg(test)]
                    if REFUSE_THREADS.get() {
                        return Err(i);
                    }
                    std::thread::Builder::new()
                        .spawn_scoped(scope, move || record(i))
                        .map_err(|_| i)
                })
                .collect();
            let (accept, range) = part(0);
            let first = bytes.get(range.clone()).unwrap_or_default();
            let mut release_first = stepped(release, range.start);
            let source = Source::Slice {
                bytes: first,
                release: &mut release_first,
            };
            let accept = accept.start as u64..accept.end as u64;
            let scanned = self.run(source, accept, on_hit, on_key);
            let records: Vec<Record> = others
                .into_iter()
                .map(|other| match other {
                    Ok(thread) => thread
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                    Err(i) => record(i),
                })
                .collect();
            scanned?;
            for record in &records {
                record
                    .replay(bytes, on_hit, on_key)
                    .map_err(ScanError::Hit)?;
            }
            Ok(len as u64)
        })
    }

    /// The scan loop. Only needles (the anchor, the DER needle) at stream offsets in
    /// `accept` are looked at and handed on; the bytes around them are read wherever
    /// they lie (see [`Scanner::scan_slice_parts`]).
    fn run<E>(
        &mut self,
        mut source: Source<'_>,
        accept: Range<u64>,
        on_hit: &mut OnHit<'_, E>,
        on_key: &mut OnKey<'_>,
    ) -> Result<u64, ScanError<E>> {
        let chunk = match source {
            Source::Reader(_) => self.chunk,
            Source::Slice { .. } => (self.chunk / SLICE_CHUNK_DIVISOR).max(TAIL + 1),
        };
        let capacity = chunk + self.window;
        if let Source::Reader(_) = source {
            self.buf.resize(capacity, 0);
        }
        let mut len = 0_usize; // valid bytes at the front of the window
        let mut base = 0_u64; // stream offset of the window's first byte
        let mut eof = false;
        // Where each finder resumes in the window: every hit starting before it was
        // handled.
        let (mut anchor_from, mut pkcs8_from) = (0_usize, 0_usize);
        loop {
            let data: &[u8] = match &mut source {
                Source::Reader(reader) => {
                    while len < capacity && !eof {
                        let spare = self.buf.get_mut(len..).unwrap_or_default();
                        match reader.read(spare) {
                            Ok(0) => eof = true,
                            Ok(n) => len += n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(ScanError::Read(e)),
                        }
                    }
                    self.buf.get(..len).unwrap_or_default()
                }
                Source::Slice { bytes, .. } => {
                    let bytes: &[u8] = bytes;
                    let rest = bytes.get(base as usize..).unwrap_or_default();
                    len = rest.len().min(capacity);
                    eof = len == rest.len();
                    rest.get(..len).unwrap_or_default()
                }
            };
            // An anchor is looked at once the bytes its checks read after it are here
            // (at the end of the stream, whatever there is).
            let limit = if eof {
                len
            } else {
                len.saturating_sub(ANCHOR_LOOK_AHEAD)
            };
            let anchors = data.get(..limit).unwrap_or_default();
            let mut anchor_at = find(&self.anchor, anchors, anchor_from);
            let mut pkcs8_at = find(&self.pkcs8, data, pkcs8_from);
            // The anchor of a magic hit whose block may run past `len`.
            let mut carried = None;
            loop {
                let (at, is_anchor) = match (anchor_at, pkcs8_at) {
                    (Some(a), Some(d)) if d < a => (d, false),
                    (Some(a), _) => (a, true),
                    (None, Some(d)) => (d, false),
                    (None, None) => break,
                };
                let accepted = accept.contains(&(base + at as u64));
                if !is_anchor {
                    if accepted {
                        pkcs8_hit(data, base, at, on_key);
                    }
                    pkcs8_at = find(&self.pkcs8, data, at + 1);
                    continue;
                }
                if accepted
                    && let Some(start) = at.checked_sub(MAGIC_ANCHOR_AT)
                    && data.get(start..start + SCAN_PREFIX_LEN) == Some(&self.magic[..])
                {
                    let end = start.saturating_add(self.window);
                    if end > len && !eof {
                        carried = Some(at);
                        break;
                    }
                    let window = data.get(start..end.min(len)).unwrap_or_default();
                    on_hit(base + start as u64, window).map_err(ScanError::Hit)?;
                }
                if accepted
                    && let Some(start) = at.checked_sub(PEM_ANCHOR_AT)
                    && data.get(start..start + PEM_NEEDLE_LEN) == Some(&self.pem[..])
                {
                    pem_hit(data, base, start, on_key);
                }
                anchor_at = find(&self.anchor, anchors, at + 1);
            }

            if eof && carried.is_none() {
                return Ok(base + len as u64);
            }
            // Every anchor before `next_anchor` and every DER needle before `next_pkcs8`
            // was handled: all that start before where the finders stopped, or up to the
            // carried magic hit (which was not handed on) and the DER needle after it.
            // Keep the bytes from there on, with the look-behind of each check. The
            // window is full here and `chunk > TAIL`, and a carried hit lies past the
            // first `chunk` bytes, so `keep > 0`: every round reads something new.
            let next_anchor = carried.unwrap_or((limit + 1).saturating_sub(ANCHOR.len()));
            let next_pkcs8 = pkcs8_at.unwrap_or((len + 1).saturating_sub(PKCS8_NEEDLE_LEN));
            let keep = next_anchor
                .saturating_sub(ANCHOR_LOOK_BEHIND)
                .min(next_pkcs8.saturating_sub(PKCS8_LOOK_BEHIND));
            match &mut source {
                Source::Reader(_) => self.buf.copy_within(keep..len, 0),
                Source::Slice { release, .. } => release(base as usize + keep),
            }
            len -= keep;
            base += keep as u64;
            anchor_from = next_anchor - keep;
            pkcs8_from = next_pkcs8 - keep;
        }
    }
}

/// Below this many bytes a slice is scanned as one part: a thread costs more than it
/// saves.
pub(crate) const MIN_PART: usize = 32 << 20;

/// How many parts [`Scanner::scan_slice_parts`] should cut `len` bytes into: one per
/// core, each at least [`MIN_PART`] bytes.
pub(crate) fn parts_for(len: usize) -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    cores.min(len / MIN_PART).max(1)
}

/// How far a part's scan moves between two releases of the bytes behind it.
const PART_RELEASE_STEP: usize = 8 << 20;

/// A part's `release(upto)` for a scan of bytes that start at `start` in the slice:
/// `release(from, to)` of the slice, in steps of [`PART_RELEASE_STEP`].
fn stepped(release: &(dyn Fn(usize, usize) + Sync), start: usize) -> impl FnMut(usize) + '_ {
    let mut released = 0;
    move |upto: usize| {
        if upto >= released + PART_RELEASE_STEP {
            release(start + released, start + upto);
            released = upto;
        }
    }
}

/// How far before its range a part's bytes reach: every check's look-behind.
const BEHIND: usize = max(ANCHOR_LOOK_BEHIND, PKCS8_LOOK_BEHIND);

/// What the caller of [`Scanner::scan_slice_parts`] keeps: at most `max_hits` magic hits
/// (it stops the scan at the next) and the first `max_keys` private keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartBounds {
    pub(crate) max_hits: usize,
    pub(crate) max_keys: usize,
}

/// What a part's scan found, in order, bounded (see [`Scanner::scan_slice_parts`]).
#[derive(Debug, Default)]
struct Record {
    events: Vec<Event>,
    /// Magic hits recorded.
    hits: usize,
    /// Private keys recorded in full.
    keys: usize,
}

#[derive(Debug)]
enum Event {
    /// A magic hit: its offset in the whole slice, and its window's length.
    Hit { offset: u64, len: usize },
    /// A private key: its offset in the whole slice, and what it is.
    Key { offset: u64, kind: PrivateKeyKind },
    /// This many private keys after the first `max_keys`: counted, not kept.
    MoreKeys(u64),
}

impl PrivateKeyKind {
    /// The [`KeyHit`] this was made from: the label of a PEM header is ASCII (uppercase
    /// letters, digits and spaces, as [`pem_header`] checks), so it comes back whole.
    fn as_hit(&self) -> KeyHit<'_> {
        match self {
            Self::Pem { label } => KeyHit::Pem {
                label: label.as_bytes(),
            },
            Self::Pkcs8Ed25519 { version } => KeyHit::Pkcs8Ed25519 { version: *version },
        }
    }
}

/// A part's scan stopped: it recorded one magic hit more than the caller accepts.
struct Full;

impl Record {
    /// Scans `slice` (which starts at `start` in the whole slice), looking at needles in
    /// `accept` (offsets in `slice`), and records what it finds within `bounds`.
    fn of(
        window: usize,
        chunk: usize,
        slice: &[u8],
        start: usize,
        accept: Range<u64>,
        bounds: PartBounds,
        release: &(dyn Fn(usize, usize) + Sync),
    ) -> Self {
        let record = RefCell::new(Self::default());
        let at = |offset: u64| start as u64 + offset;
        let mut on_hit = |offset: u64, found: &[u8]| {
            let mut record = record.borrow_mut();
            if record.hits > bounds.max_hits {
                return Err(Full);
            }
            record.hits += 1;
            record.events.push(Event::Hit {
                offset: at(offset),
                len: found.len(),
            });
            Ok(())
        };
        let mut on_key = |offset: u64, hit: KeyHit<'_>| {
            let mut record = record.borrow_mut();
            if record.keys < bounds.max_keys {
                record.keys += 1;
                record.events.push(Event::Key {
                    offset: at(offset),
                    kind: hit.into(),
                });
            } else if let Some(Event::MoreKeys(n)) = record.events.last_mut() {
                *n = n.saturating_add(1);
            } else {
                record.events.push(Event::MoreKeys(1));
            }
        };
        let mut release_part = stepped(release, start);
        let source = Source::Slice {
            bytes: slice,
            release: &mut release_part,
        };
        // `Full` only stops this part early; the replay trips the caller's own limit.
        let _ = Scanner::new(window, chunk).run(source, accept, &mut on_hit, &mut on_key);
        record.into_inner()
    }

    /// Hands what was recorded to the callbacks, in order; `bytes` is the whole slice.
    fn replay<E>(
        &self,
        bytes: &[u8],
        on_hit: &mut OnHit<'_, E>,
        on_key: &mut OnKey<'_>,
    ) -> Result<(), E> {
        let mut last_key = None;
        for event in &self.events {
            match event {
                Event::Hit { offset, len } => {
                    let from = *offset as usize;
                    let found = bytes.get(from..from + len).unwrap_or_default();
                    on_hit(*offset, found)?;
                }
                Event::Key { offset, kind } => {
                    on_key(*offset, kind.as_hit());
                    last_key = Some((*offset, kind));
                }
                Event::MoreKeys(n) => {
                    // Only after `max_keys` kept ones (`max_keys` may be 0: then any
                    // stand-in is counted and not kept).
                    let fallback = PrivateKeyKind::Pkcs8Ed25519 { version: None };
                    let (offset, kind) = last_key.unwrap_or((0, &fallback));
                    for _ in 0..*n {
                        on_key(offset, kind.as_hit());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Where a scan's bytes come from.
enum Source<'a> {
    /// Read into the scanner's buffer.
    Reader(&'a mut dyn Read),
    /// Already in memory; `release(n)`: the first `n` bytes are done with.
    Slice {
        bytes: &'a [u8],
        release: &'a mut dyn FnMut(usize),
    },
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

impl From<KeyHit<'_>> for PrivateKeyKind {
    fn from(hit: KeyHit<'_>) -> Self {
        match hit {
            KeyHit::Pem { label } => Self::Pem {
                label: String::from_utf8_lossy(label).into_owned(),
            },
            KeyHit::Pkcs8Ed25519 { version } => Self::Pkcs8Ed25519 { version },
        }
    }
}

/// The first hit of `finder` in `data` at or after `from`.
fn find(finder: &Finder<'_>, data: &[u8], from: usize) -> Option<usize> {
    data.get(from..)
        .and_then(|rest| finder.find(rest))
        .map(|rel| from + rel)
}

/// `PRIVATE KEY-----` at `at` in `data` (which starts at stream offset `base`): handed
/// on when it ends a PEM private key's header.
fn pem_hit(data: &[u8], base: u64, at: usize, on_key: &mut OnKey<'_>) {
    if let Some((start, label)) = pem_header(data, at) {
        on_key(base + start as u64, KeyHit::Pem { label });
    }
}

/// The DER wrapper of an Ed25519 seed at `at` in `data` (which starts at stream offset
/// `base`): always handed on, from its PKCS#8 header when there is one.
fn pkcs8_hit(data: &[u8], base: u64, at: usize, on_key: &mut OnKey<'_>) {
    let (start, version) = pkcs8_header(data, at).map_or((at, None), |(s, v)| (s, Some(v)));
    on_key(base + start as u64, KeyHit::Pkcs8Ed25519 { version });
}

/// Confirms a PEM private key header around `PRIVATE KEY-----` at `at`: `-----BEGIN `
/// and at most [`MAX_PEM_LABEL_PREFIX`] label bytes (uppercase letters, digits, spaces)
/// before it. Returns where the header starts and the label. Looks only at the
/// [`PEM_LOOK_BEHIND`] bytes before `at`, so the answer does not depend on where the
/// reads fell.
fn pem_header(data: &[u8], at: usize) -> Option<(usize, &[u8])> {
    let lo = at.saturating_sub(PEM_LOOK_BEHIND);
    let before = data.get(lo..at)?;
    // `BEGIN ` is made of label bytes too: the run of them ends at the dashes.
    let run = before
        .iter()
        .rev()
        .take_while(|&&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
        .count();
    let words = before.len().checked_sub(run)?;
    let header = words.checked_sub(b"-----".len())?;
    if before.get(header..words)? != b"-----" || !before.get(words..)?.starts_with(b"BEGIN ") {
        return None;
    }
    let label_start = lo + words + b"BEGIN ".len();
    let label_end = at + b"PRIVATE KEY".len();
    Some((lo + header, data.get(label_start..label_end)?))
}

/// The PKCS#8 header before the DER wrapper at `at`, if it is one: the outer SEQUENCE's
/// tag and length (short form, or `81 LL`) and the version INTEGER (0 for v1, 1 for
/// v2). Returns where the SEQUENCE starts and the version (1 or 2).
fn pkcs8_header(data: &[u8], at: usize) -> Option<(usize, u8)> {
    let version_at = at.checked_sub(3)?;
    let version = match data.get(version_at..at)? {
        [0x02, 0x01, 0x00] => 1,
        [0x02, 0x01, 0x01] => 2,
        _ => return None,
    };
    let short = version_at
        .checked_sub(2)
        .and_then(|s| data.get(s..version_at));
    let long = version_at
        .checked_sub(3)
        .and_then(|s| data.get(s..version_at));
    match (short, long) {
        (Some([0x30, len]), _) if *len < 0x80 => Some((version_at - 2, version)),
        (_, Some([0x30, 0x81, _])) => Some((version_at - 3, version)),
        _ => None,
    }
}

/// A needle, unmasked at run time: `black_box` keeps the compiler from folding the
/// plain bytes back into the binary.
fn unmask<const N: usize>(masked: [u8; N]) -> [u8; N] {
    let mut out = core::hint::black_box(masked);
    let mask = core::hint::black_box(MASK);
    for b in &mut out {
        *b ^= mask;
    }
    out
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

#[cfg(test)]
pub(crate) mod needles {
    //! The plain needles, for tests only: test binaries are never gated.

    /// `PRIVATE KEY-----`.
    pub(crate) fn pem() -> [u8; super::PEM_NEEDLE_LEN] {
        super::unmask(super::MASKED_PEM_NEEDLE)
    }

    /// The DER wrapper of an Ed25519 seed.
    pub(crate) fn pkcs8() -> [u8; super::PKCS8_NEEDLE_LEN] {
        super::unmask(super::MASKED_PKCS8_NEEDLE)
    }

    /// The bytes kept between chunks.
    pub(crate) const TAIL: usize = super::TAIL;

    /// The anchor, and where it sits in the magic and in the PEM needle.
    pub(crate) const ANCHOR: (&[u8], usize, usize) =
        (&super::ANCHOR, super::MAGIC_ANCHOR_AT, super::PEM_ANCHOR_AT);
}
