//! The one `unsafe` boundary of the gate: a regular file's bytes through a read-only
//! memory map, so that the scanner and the tar walk read them where the page cache
//! holds them instead of copying them into a buffer first.
//!
//! What it is not: a cache, or a way to read anything but a regular, non-empty file on
//! Linux. [`Mapped::new`] answers `None` wherever a map is not wanted or cannot be had
//! (another platform, a special file, an empty file, a failed `mmap`), and the walker
//! reads the file as a stream instead.
//!
//! # Safety argument
//!
//! A map is only sound while nobody changes the file beneath it, and the gate cannot
//! stop anybody. Two things can happen, and both are handled:
//!
//! - **Bytes change** (another process writes the file while it is scanned). The bytes
//!   are untrusted input anyway: the scanner and the tar reader accept any value of any
//!   byte, never index out of bounds and never keep a byte's value across a re-read, so
//!   a change is a different input, never a memory error, exactly as with `read(2)` of a
//!   file written meanwhile. This is the argument `memmap2`'s users (ripgrep among
//!   them) make.
//! - **The file shrinks** (`truncate`, `ftruncate`, a copy over it with `O_TRUNC`). A
//!   read of a mapped page past the new end raises `SIGBUS`, whose default action kills
//!   the process (ripgrep and ag accept that and document it). Here every live map is
//!   registered in a fixed table, and a `SIGBUS` handler, installed once, looks the
//!   faulting address up: inside a registered map it puts a private anonymous page of
//!   zeros over the rest of the map (`mmap` with `MAP_FIXED`, one system call), marks
//!   the map faulted and returns, so the read is retried and sees zeros. The scan goes
//!   on over zeros, and [`Mapped::check`] turns the mark into an `unreadable` error for
//!   the artifact: a truncated file is never a pass. An I/O error of the storage under a
//!   map is a `SIGBUS` too, and ends the same way. A `SIGBUS` at any other address goes
//!   to the handler that was there before (Rust's own, which reports a stack overflow
//!   or restores the default), or to the default action, as if this handler were not
//!   there.
//!
//! The handler does async-signal-safe work only: atomic loads and stores, `mmap`, and
//! `sigaction` or the previous handler when the address is not ours. The table is
//! filled before a map's bytes are handed out and emptied before it is unmapped.
//! Tests in `tests.rs` truncate a mapped file before and while it is scanned, in a
//! child process so that a crash would fail them rather than the test run.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// A regular file's bytes, mapped read-only and registered with the `SIGBUS` handler.
pub(crate) struct Mapped {
    #[cfg(target_os = "linux")]
    inner: linux::Map,
}

impl Mapped {
    /// Maps `file` when it is a regular, non-empty file and mapping works; `None` means
    /// "read it instead".
    pub(crate) fn new(file: &File) -> Option<Self> {
        #[cfg(target_os = "linux")]
        {
            let mapped = linux::Map::new(file).map(|inner| Self { inner });
            #[cfg(test)]
            if mapped.is_some() {
                AFTER_MAP.with(|hook| hook.borrow_mut().as_mut().map(|hook| hook()));
            }
            mapped
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = file;
            None
        }
    }

    /// The file's bytes as they were when mapped (zeros from where it was cut, if it
    /// was truncated since: see [`Mapped::check`]).
    pub(crate) fn bytes(&self) -> &[u8] {
        #[cfg(target_os = "linux")]
        {
            self.inner.bytes()
        }
        #[cfg(not(target_os = "linux"))]
        {
            &[]
        }
    }

    /// Says that the bytes of `part` (a slice of [`Mapped::bytes`]) before `upto` will
    /// not be read again, so that their pages leave this process's resident set (they
    /// stay in the page cache). Keeps memory bounded on a file of any size; a hint
    /// only, whose failure changes nothing.
    pub(crate) fn release(&self, part: &[u8], upto: usize) {
        #[cfg(target_os = "linux")]
        self.inner.release(part, upto);
        #[cfg(not(target_os = "linux"))]
        let _ = (part, upto);
    }

    /// As [`Mapped::release`], for the bytes `from..upto` of `part` only, and without
    /// moving the map's mark of what is released: for scans of several parts of one
    /// slice at once, on several threads. Only whole pages inside the range go.
    pub(crate) fn release_range(&self, part: &[u8], from: usize, upto: usize) {
        #[cfg(target_os = "linux")]
        self.inner.release_range(part, from, upto);
        #[cfg(not(target_os = "linux"))]
        let _ = (part, from, upto);
    }

    /// An error if a read of the map faulted (the file shrank while it was read, or its
    /// storage failed): then some of the bytes scanned were zeros, not the file's.
    pub(crate) fn check(&self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            self.inner.check()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Ok(())
        }
    }

    /// A reader over `part` (a slice of [`Mapped::bytes`]) that releases what it has
    /// read, for decompressors fed from the map.
    pub(crate) fn reader<'m>(&'m self, part: &'m [u8]) -> MappedReader<'m> {
        MappedReader {
            map: self,
            part,
            pos: 0,
            released: 0,
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Runs on this thread right after each map is made: the tests truncate the file
    /// there, between the map and the scan.
    pub(crate) static AFTER_MAP: std::cell::RefCell<Option<Box<dyn FnMut()>>> =
        const { std::cell::RefCell::new(None) };
}

/// Reads a slice of a map, releasing its pages behind it (see [`Mapped::reader`]).
pub(crate) struct MappedReader<'m> {
    map: &'m Mapped,
    part: &'m [u8],
    pos: usize,
    released: usize,
}

/// How far a [`MappedReader`] reads between two releases.
const RELEASE_STEP: usize = 8 << 20;

impl io::Read for MappedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.part.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        self.pos += n;
        if self.pos - self.released >= RELEASE_STEP {
            self.map.release(self.part, self.pos);
            self.released = self.pos;
        }
        Ok(n)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    //! The map, the table of live maps and the `SIGBUS` handler.

    use core::ffi::{c_int, c_void};
    use core::ptr;
    use std::fs::File;
    use std::io;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};

    /// How many maps may be live at once (one per thread inspecting a file); past
    /// that, files are read.
    const SLOTS: usize = 64;

    /// Releases happen in steps of at least this many bytes.
    const RELEASE_STEP: usize = 8 << 20;

    pub(super) struct Map {
        map: Mmap,
        slot: &'static Slot,
        /// Bytes from the start already released, by [`Map::release`] (which the one
        /// thread walking the file calls; atomic so that other threads may scan parts of
        /// the map through [`Map::release_range`] meanwhile).
        released: AtomicUsize,
    }

    /// One live map: the page-aligned range it covers, and whether a read of it
    /// faulted. `end == 0` marks a free slot's range as matching nothing.
    struct Slot {
        taken: AtomicBool,
        start: AtomicUsize,
        end: AtomicUsize,
        faulted: AtomicBool,
    }

    /// The handler's view of the maps: read in the handler with atomic loads only.
    static TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

    /// The page size, known before the first map.
    static PAGE: AtomicUsize = AtomicUsize::new(0);

    /// The `SIGBUS` disposition before ours (set once, before the handler can run for
    /// a map of ours), or `None` when installing failed: then nothing is mapped.
    static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

    impl Map {
        pub(super) fn new(file: &File) -> Option<Self> {
            let meta = file.metadata().ok()?;
            let len = usize::try_from(meta.len()).ok()?;
            if !meta.is_file() || len == 0 || install().is_none() {
                return None;
            }
            let slot = Slot::claim()?;
            // SAFETY: the map is read-only; what a change of the file beneath it does
            // is the module's safety argument: changed bytes are untrusted input like
            // any other, and a read past a new end is caught by the handler below,
            // which needs the slot filled before a byte is read (done next).
            let map = match unsafe { MmapOptions::new().len(len).map(file) } {
                Ok(map) => map,
                Err(_) => {
                    slot.free();
                    return None;
                }
            };
            let start = map.as_ptr() as usize;
            let page = PAGE.load(Ordering::Relaxed);
            let end = start.saturating_add(len).next_multiple_of(page);
            slot.faulted.store(false, Ordering::Relaxed);
            slot.start.store(start, Ordering::Release);
            slot.end.store(end, Ordering::Release);
            // A hint: the file is read once, from start to end.
            let _ = map.advise(Advice::Sequential);
            Some(Self {
                map,
                slot,
                released: AtomicUsize::new(0),
            })
        }

        pub(super) fn bytes(&self) -> &[u8] {
            &self.map
        }

        pub(super) fn release(&self, part: &[u8], upto: usize) {
            let base = self.map.as_ptr() as usize;
            let Some(offset) = (part.as_ptr() as usize).checked_sub(base) else {
                return;
            };
            let page = PAGE.load(Ordering::Relaxed);
            let upto = (offset + upto.min(part.len())).min(self.map.len());
            let upto = upto - upto % page;
            let from = self.released.load(Ordering::Relaxed);
            if upto < from + RELEASE_STEP {
                return;
            }
            self.dont_need(from, upto);
            self.released.store(upto, Ordering::Relaxed);
        }

        pub(super) fn release_range(&self, part: &[u8], from: usize, upto: usize) {
            let base = self.map.as_ptr() as usize;
            let Some(offset) = (part.as_ptr() as usize).checked_sub(base) else {
                return;
            };
            let page = PAGE.load(Ordering::Relaxed);
            let end = offset
                .saturating_add(upto.min(part.len()))
                .min(self.map.len());
            let start = offset.saturating_add(from.min(part.len()));
            self.dont_need(start.next_multiple_of(page), end - end % page);
        }

        /// Drops the map's pages in `from..upto` (page-aligned offsets) from this
        /// process's resident set.
        fn dont_need(&self, from: usize, upto: usize) {
            if from >= upto {
                return;
            }
            // SAFETY: `MADV_DONTNEED` on a read-only shared file map only drops pages
            // from this process's tables; a later read (by any thread) faults them in
            // again from the page cache, with the same bytes. Nothing borrows them
            // mutably.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, from, upto - from)
            };
        }

        pub(super) fn check(&self) -> io::Result<()> {
            if self.slot.faulted.load(Ordering::Acquire) {
                return Err(io::Error::other(
                    "the file shrank (or its storage failed) while it was read; inspect it \
                     again once nothing writes it",
                ));
            }
            Ok(())
        }
    }

    impl Drop for Map {
        fn drop(&mut self) {
            // Out of the table before `Mmap`'s own drop unmaps the range.
            self.slot.free();
        }
    }

    impl Slot {
        const fn new() -> Self {
            Self {
                taken: AtomicBool::new(false),
                start: AtomicUsize::new(0),
                end: AtomicUsize::new(0),
                faulted: AtomicBool::new(false),
            }
        }

        fn claim() -> Option<&'static Self> {
            TABLE.iter().find(|slot| {
                slot.taken
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            })
        }

        fn free(&self) {
            self.end.store(0, Ordering::Release);
            self.start.store(0, Ordering::Release);
            self.taken.store(false, Ordering::Release);
        }
    }

    /// Installs the handler once; `None` if that failed (then nothing is mapped).
    fn install() -> Option<()> {
        let previous = PREVIOUS.get_or_init(|| {
            // SAFETY: `sysconf` and `sigaction` with valid arguments; the handler only
            // acts on addresses in the table, which is empty until this returns.
            unsafe {
                let page = libc::sysconf(libc::_SC_PAGESIZE);
                let page = usize::try_from(page).ok().filter(|p| p.is_power_of_two())?;
                PAGE.store(page, Ordering::Relaxed);
                let mut action: libc::sigaction = core::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&raw mut action.sa_mask);
                let mut old: libc::sigaction = core::mem::zeroed();
                (libc::sigaction(libc::SIGBUS, &action, &mut old) == 0).then_some(old)
            }
        });
        previous.as_ref().map(|_| ())
    }

    /// The `SIGBUS` handler: zeros over the rest of a faulting map of ours, else the
    /// previous disposition.
    extern "C" fn on_sigbus(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        // SAFETY: the kernel hands a valid `siginfo_t` to an `SA_SIGINFO` handler.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE.load(Ordering::Relaxed);
        for slot in &TABLE {
            let start = slot.start.load(Ordering::Acquire);
            let end = slot.end.load(Ordering::Acquire);
            if start <= addr && addr < end && page != 0 {
                let from = addr - addr % page;
                // SAFETY: replaces pages of our own read-only map (registered, so not
                // yet unmapped) with zeros; no reference to them is mutable.
                let zeros = unsafe {
                    libc::mmap(
                        from as *mut c_void,
                        end - from,
                        libc::PROT_READ,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
                if zeros != libc::MAP_FAILED {
                    slot.faulted.store(true, Ordering::Release);
                    return;
                }
                break;
            }
        }
        // SAFETY: hands the signal on as the previous disposition would have had it.
        unsafe { chain(signal, info, context) }
    }

    /// The previous handler, or the default action: restore it and return, so that the
    /// faulting read runs again and the signal is delivered to it.
    unsafe fn chain(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        let previous = PREVIOUS.get().copied().flatten();
        match previous {
            Some(old) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
                if old.sa_flags & libc::SA_SIGINFO != 0 {
                    // SAFETY: an `SA_SIGINFO` handler has this signature.
                    let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                        unsafe { core::mem::transmute(old.sa_sigaction) };
                    handler(signal, info, context);
                } else {
                    // SAFETY: a plain handler has this signature.
                    let handler: extern "C" fn(c_int) =
                        unsafe { core::mem::transmute(old.sa_sigaction) };
                    handler(signal);
                }
            }
            _ => {
                // SAFETY: `sigaction` is async-signal-safe; a zeroed action is SIG_DFL.
                unsafe {
                    let mut default: libc::sigaction = core::mem::zeroed();
                    default.sa_sigaction = libc::SIG_DFL;
                    libc::sigaction(signal, &default, ptr::null_mut());
                }
            }
        }
    }
}
