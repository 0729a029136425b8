//! Mapped regular files: giving back the pages a reader is done with ([`Release`]), and a
//! mapped HAR read as a `BufRead` over the map ([`MappedText`]), so that the kernel's copy into
//! a read buffer is skipped. (Captures are framed in the map itself: `capture::reader`.)

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use memmap2::{Mmap, UncheckedAdvice};

/// Pages of a mapped input are given back in steps of this many bytes: a multiple of every
/// page size Linux uses (4 KiB to 64 KiB), so that a step never gives back a page a later
/// block still reads, and a few syscalls per block at most. It is x86-64's huge-page (PMD)
/// size: the page cache of a large file is held in large folios that the kernel maps 2 MiB at
/// a time, and giving back half of one split the mapping first (`thp_split_pmd`, a TLB
/// shootdown to every CPU running a thread of the process): 374 splits on the 419 MB
/// benchmark capture with steps of 1 MiB, none with 2 MiB.
const RELEASE_GRAIN: usize = 2 << 20;

/// Gives back the pages of a mapped input that every reader of them is done with, oldest
/// first: mapped file pages count in the resident set like the heap, and a mapping read
/// whole would hold the whole file there.
#[derive(Default)]
pub(crate) struct Release {
    /// Bytes from the map's start given back so far (a multiple of [`RELEASE_GRAIN`]).
    done: usize,
}

impl Release {
    /// Everything before `upto` is read: give back its whole grains not given back yet.
    pub(crate) fn upto(&mut self, map: &Mmap, upto: usize) {
        let end = upto.min(map.len()) / RELEASE_GRAIN * RELEASE_GRAIN;
        if end <= self.done {
            return;
        }
        // SAFETY: `Mmap` maps the file read-only and shared (`MAP_SHARED`), and nothing here
        // writes to it, so `MADV_DONTNEED` only unmaps these pages from the process: touching
        // them again would fault the same file bytes back in from the page cache, never zeros.
        // Nothing touches them again anyway: every block before `upto` was dropped by all of
        // its readers (the caller's rule), and the reader's window starts past it. A refusal
        // leaves the pages mapped (memory only, counted in the resident set as before).
        let _ = unsafe {
            map.unchecked_advise_range(UncheckedAdvice::DontNeed, self.done, end - self.done)
        };
        self.done = end;
    }
}

/// How much of a map can be read now: the file's size as the open file says it now (another
/// process may have cut it since it was mapped; reading a page past the new end raises
/// SIGBUS), at most the map's length (what was appended after is not in the map).
pub(crate) fn mapped_len(map: &Mmap, file: &File) -> usize {
    file.metadata()
        .map_or(map.len(), |m| {
            usize::try_from(m.len()).unwrap_or(usize::MAX)
        })
        .min(map.len())
}

/// Bytes handed out per `fill_buf`: one release step, so that each `consume` of a whole
/// window gives back the one before it.
const WINDOW: usize = RELEASE_GRAIN;

/// A mapped text file (a HAR) read through `BufRead`, a window of the map at a time: the
/// reader's bytes are the page cache's own, where `read` copied each into a buffer first.
/// Reading ends early, as [`super::live::Stoppable`] does, once `stop` is set.
pub(crate) struct MappedText {
    map: Arc<Mmap>,
    /// The open file the map is of: its size is looked up again for each window.
    file: File,
    pos: usize,
    stop: Arc<AtomicBool>,
    release: Release,
}

impl MappedText {
    pub(crate) fn new(map: Arc<Mmap>, file: File, stop: Arc<AtomicBool>) -> Self {
        MappedText {
            map,
            file,
            pos: 0,
            stop,
            release: Release::default(),
        }
    }
}

impl BufRead for MappedText {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(&[]);
        }
        // As far as the file goes now: a file another process cut after it was mapped reads
        // as the cut file would (a truncated HAR), instead of touching pages past its new end,
        // which raises SIGBUS. Only a cut inside the window being scanned still can
        // (`mapguard` reports it).
        let size = mapped_len(&self.map, &self.file);
        let end = self.pos.saturating_add(WINDOW).min(size);
        Ok(self.map.get(self.pos..end).unwrap_or(&[]))
    }

    fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.map.len());
        // What `fill_buf` handed out before `pos` is never read again: `BufRead`'s callers
        // keep what they need of consumed bytes as copies.
        self.release.upto(&self.map, self.pos);
    }
}

impl Read for MappedText {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let window = self.fill_buf()?;
            let n = window.len().min(buf.len());
            buf[..n].copy_from_slice(&window[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn mapped(bytes: &[u8]) -> (tempfile::NamedTempFile, MappedText, Arc<AtomicBool>) {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("written");
        f.flush().expect("flushed");
        let file = f.reopen().expect("reopened");
        // SAFETY: a test's own temporary file, changed only where a test says so.
        let map = unsafe { Mmap::map(&file) }.expect("mapped");
        let stop = Arc::new(AtomicBool::new(false));
        let r = MappedText::new(Arc::new(map), file, stop.clone());
        (f, r, stop)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
    }

    #[test]
    fn reads_the_file_whatever_the_reads() {
        let bytes = pattern(2 * WINDOW + 12_345);
        // (consume at most this much of each window, read() buffer size or 0 for BufRead)
        for (step, read_buf) in [
            (usize::MAX, 0),
            (1, 0),
            (4096, 0),
            (WINDOW - 1, 0),
            (0, 1000),
        ] {
            let (_f, mut r, _) = mapped(&bytes);
            let mut got = Vec::new();
            if read_buf > 0 {
                let mut buf = vec![0; read_buf];
                loop {
                    let n = r.read(&mut buf).expect("reads");
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            } else {
                loop {
                    let w = r.fill_buf().expect("fills");
                    if w.is_empty() {
                        break;
                    }
                    let n = w.len().min(step);
                    got.extend_from_slice(&w[..n]);
                    r.consume(n);
                }
            }
            assert!(got == bytes, "step {step}, read buffer {read_buf}");
        }
    }

    #[test]
    fn ends_at_a_stop() {
        let (_f, mut r, stop) = mapped(&pattern(3 * WINDOW));
        let n = r.fill_buf().expect("fills").len();
        assert_eq!(n, WINDOW);
        r.consume(n);
        stop.store(true, Ordering::Relaxed);
        assert!(r.fill_buf().expect("fills").is_empty());
    }

    #[test]
    fn a_file_cut_while_mapped_reads_as_the_cut_file() {
        let bytes = pattern(3 * WINDOW);
        let (f, mut r, _) = mapped(&bytes);
        let n = r.fill_buf().expect("fills").len();
        r.consume(n);
        // Cut inside the next window: it ends at the cut, and no page past it is touched.
        let cut = WINDOW + 1000;
        f.as_file().set_len(cut as u64).expect("cut");
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).expect("reads");
        assert!(
            rest == bytes[WINDOW..cut],
            "{} bytes after the cut",
            rest.len()
        );
    }
}
