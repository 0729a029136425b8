//! The mapped inputs' guard: a SIGBUS from reading a mapped capture file that another process
//! truncated becomes one error line naming the file and the byte (exit status 2, as for any
//! input error) instead of the signal's silent end of the process.
//!
//! The kernel raises SIGBUS when a page of a shared file mapping lies past the file's end; the
//! fault's address says which map and which byte. Only an async-signal-safe handler can turn
//! that into a message: it reads a lock-free list of the maps (pushed once per mapped file,
//! never freed, so the handler never reads freed memory), writes with `write(2)` and leaves
//! with `_exit`. A SIGBUS at any other address is not ours: the action that was there before
//! (the default, or a host's own, such as Python's `faulthandler` when the library runs in
//! it) is put back and the faulting instruction, run again, goes to it.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Once, OnceLock};

/// One mapped file: its address range and the error line's text around the byte number.
struct Guarded {
    base: usize,
    len: usize,
    /// `corscope: error: NAME: truncated while it was read: byte `
    head: Box<[u8]>,
    /// Older entries (a map's range may be reused by a later one: the newest is found first).
    next: *mut Guarded,
}

static MAPS: AtomicPtr<Guarded> = AtomicPtr::new(ptr::null_mut());
static INSTALL: Once = Once::new();
/// The SIGBUS action before ours, put back for a fault that is not a mapped input's.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

const TAIL: &[u8] = b" and after it are gone (another process cut the file; it was memory-mapped: \
--no-mmap reads it instead and reports the cut as a truncation)\n";

/// Registers a mapped file's bytes `base[..len]` under `name`; installs the handler once.
/// Each call keeps one small entry for the rest of the run (one per mapped input).
pub(crate) fn guard(base: *const u8, len: usize, name: &str) {
    let head = format!("corscope: error: {name}: truncated while it was read: byte ")
        .into_bytes()
        .into_boxed_slice();
    let entry = Box::into_raw(Box::new(Guarded {
        base: base as usize,
        len,
        head,
        next: ptr::null_mut(),
    }));
    let mut old = MAPS.load(Ordering::Acquire);
    loop {
        // SAFETY: `entry` is ours alone until the exchange below publishes it.
        unsafe { (*entry).next = old };
        match MAPS.compare_exchange_weak(old, entry, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => old = now,
        }
    }
    INSTALL.call_once(install);
}

fn install() {
    // SAFETY: a zeroed `sigaction` is a valid empty one; the handler below only calls
    // async-signal-safe functions (`write`, `_exit`, `sigaction`) and reads entries that are
    // never freed.
    unsafe {
        let mut previous: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGBUS, ptr::null(), &mut previous) != 0 {
            return;
        }
        // Stored before ours is installed, so the handler always finds it.
        let _ = PREVIOUS.set(previous);
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        // A refusal leaves the default action: the process ends on the signal, as before.
        let _ = libc::sigaction(libc::SIGBUS, &action, ptr::null_mut());
    }
}

extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel hands a valid `siginfo_t` to an SA_SIGINFO handler; the list's
    // entries are never freed or changed once published.
    unsafe {
        let addr = (*info).si_addr() as usize;
        let mut at = MAPS.load(Ordering::Acquire);
        while let Some(g) = at.as_ref() {
            if addr >= g.base && addr - g.base < g.len {
                write_all(&g.head);
                let mut digits = [0u8; 20];
                write_all(decimal(addr - g.base, &mut digits));
                write_all(TAIL);
                libc::_exit(2);
            }
            at = g.next;
        }
        // Not a mapped input's: the earlier action takes it when the access runs again.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        let before = PREVIOUS.get().unwrap_or(&dfl);
        let _ = libc::sigaction(libc::SIGBUS, before, ptr::null_mut());
    }
}

/// `n` in decimal, written into the end of `buf` (no allocation: a signal handler's).
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

fn write_all(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid slice; `write` is async-signal-safe.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = bytes.get(n as usize..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::Command;

    #[test]
    fn decimal_digits() {
        for (n, s) in [
            (0usize, "0"),
            (7, "7"),
            (10, "10"),
            (4096, "4096"),
            (usize::MAX, "18446744073709551615"),
        ] {
            let mut buf = [0u8; 20];
            assert_eq!(decimal(n, &mut buf), s.as_bytes());
        }
    }

    extern "C" fn theirs(_: libc::c_int) {
        write_all(b"their handler\n");
        // SAFETY: async-signal-safe.
        unsafe { libc::_exit(3) };
    }

    /// A map that is not guarded, cut to 100 bytes: reading byte 8192 raises SIGBUS.
    fn cut_map(path: &str) -> memmap2::Mmap {
        let file = std::fs::File::open(path).expect("the parent wrote it");
        // SAFETY: the test cuts the file under the map on purpose.
        let map = unsafe { memmap2::Mmap::map(&file) }.expect("a regular file maps");
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(100))
            .expect("the file can be cut");
        map
    }

    /// Runs this test binary's test `name` in a child with `CORSCOPE_MAPGUARD_CHILD` set to a
    /// fresh 12 KiB file: its exit code and stderr.
    fn child(name: &str) -> (Option<i32>, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cut.pcap");
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&[7u8; 3 * 4096]))
            .expect("write");
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", name])
            .env("CORSCOPE_MAPGUARD_CHILD", &path)
            .output()
            .expect("child runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A SIGBUS outside every guarded map goes to the action installed before ours.
    #[test]
    fn other_sigbus_goes_to_the_earlier_handler() {
        if let Ok(path) = std::env::var("CORSCOPE_MAPGUARD_CHILD") {
            // SAFETY: installs a handler that only writes and exits.
            unsafe { libc::signal(libc::SIGBUS, theirs as *const () as libc::sighandler_t) };
            let ours = cut_map(&path);
            guard(ours.as_ptr(), 50, "ours.pcap");
            let b = unsafe { ptr::read_volatile(ours.as_ptr().add(8192)) };
            panic!("read {b} past the cut without a SIGBUS");
        }
        let (code, stderr) =
            child("input::mapguard::tests::other_sigbus_goes_to_the_earlier_handler");
        assert_eq!(code, Some(3), "{stderr}");
        assert!(
            stderr.contains("their handler") && !stderr.contains("ours.pcap"),
            "{stderr}"
        );
    }

    /// Run in a child process (the handler ends the process): maps a file, cuts it, and
    /// reads a byte past the cut.
    #[test]
    fn truncated_map_is_an_error_line() {
        if let Ok(path) = std::env::var("CORSCOPE_MAPGUARD_CHILD") {
            let map = cut_map(&path);
            guard(map.as_ptr(), map.len(), "cut.pcap");
            // The page of byte 8192 is past the new end: SIGBUS.
            let b = unsafe { ptr::read_volatile(map.as_ptr().add(8192)) };
            panic!("read {b} past the cut without a SIGBUS");
        }
        let (code, stderr) = child("input::mapguard::tests::truncated_map_is_an_error_line");
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("corscope: error: cut.pcap: truncated while it was read: byte 8192 and after it are gone"),
            "{stderr}"
        );
    }
}
