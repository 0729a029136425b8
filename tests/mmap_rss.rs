//! A memory-mapped capture or HAR keeps memory flat: mapped file pages count in the resident set, so
//! a map read whole would add the whole file to the peak; the reader gives pages back behind
//! itself (and behind the last worker), so the mapped run's peak stays within a few blocks of
//! the `read` run's.
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};

/// Runs the binary and returns its exit status and peak resident set in bytes (`wait4`'s
/// rusage: this child's own, not the test process's other children's).
// The child is reaped by `wait4` below, which std's `wait` cannot do with its rusage.
#[allow(clippy::zombie_processes)]
fn peak_rss(args: &[&str]) -> (i32, u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid for wait4 to fill; `pid` is our child, not waited yet
    // (`child` is never waited through std, so it is reaped exactly once, here).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4 reaps the child");
    assert!(
        libc::WIFEXITED(status),
        "the child exits (status {status:#x})"
    );
    // ru_maxrss is in KiB on Linux.
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 * 1024)
}

/// Generates a ~100 MB input with `generator` and checks that analysing it mapped peaks
/// within 16 MB of analysing it with `--no-mmap`, with one worker and with two.
fn mapped_peak_stays_with_the_read_one(generator: &str, name: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(name);
    let file = file.to_str().expect("utf-8 temp path");
    let (code, _) = peak_rss(&[generator, "--bytes", "100000000", "--seed", "1", file]);
    assert_eq!(code, 0, "{generator} writes {name}");
    let size = std::fs::metadata(file).expect("written").len();
    assert!(size > 90_000_000, "{size}");
    for jobs in ["1", "2"] {
        let base = ["analyze", file, "--format", "ndjson", "--jobs", jobs];
        let (code_read, read) = peak_rss(&[&base[..], &["--no-mmap"]].concat());
        let (code_mapped, mapped) = peak_rss(&base);
        // 1: blocked requests under the default `--fail-on`; the same either way.
        assert_eq!(code_read, code_mapped, "{name} --jobs {jobs}");
        // The whole map held would add the file's ~100 MB; a few blocks or scanner windows
        // and release steps (2 MiB each) are all the mapping may add.
        assert!(
            mapped <= read + 16 * 1024 * 1024,
            "{name} --jobs {jobs}: mapped peak {} MB against {} MB read ({} MB file)",
            mapped >> 20,
            read >> 20,
            size >> 20
        );
    }
}

#[test]
fn mapped_capture_peak_rss_stays_with_the_read_one() {
    mapped_peak_stays_with_the_read_one("generate-pcap", "g.pcap");
}

#[test]
fn mapped_har_peak_rss_stays_with_the_read_one() {
    mapped_peak_stays_with_the_read_one("generate-har", "g.har");
}
