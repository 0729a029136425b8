//! Shared by the `http_head` and `chunked` targets (included with `#[path]`, not a target of
//! its own): turns fuzz bytes into connection steps.
//!
//! Format: the bytes of one direction, cut into packets of `size` bytes; the marker `FE FE`
//! followed by an op byte changes what happens next: `FE` switch direction, `FD n` a capture
//! gap of `n` bytes, `FC n` `n * 97` body bytes skipped, `FB` end (FIN) of the current
//! direction. Any other byte after `FE FE` is plain data.

use corscope::capture::http::fuzzing::Step;

/// Packet sizes used to cut each run of data (index from the config byte).
pub const SIZES: [usize; 8] = [usize::MAX, 1, 2, 3, 5, 8, 13, 64];

pub fn steps(data: &[u8], size: usize, mut dir: usize) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    let mut run_start = 0usize;
    let mut i = 0usize;
    while i + 2 < data.len() {
        if data[i] != 0xfe || data[i + 1] != 0xfe {
            i += 1;
            continue;
        }
        let arg = data.get(i + 3).copied().unwrap_or(0);
        let (step, used) = match data[i + 2] {
            0xfe => (None, 3),
            0xfd => (Some(Step::Gap(dir, u64::from(arg))), 4),
            0xfc => (Some(Step::Skip(dir, u64::from(arg) * 97)), 4),
            0xfb => (Some(Step::End(dir)), 3),
            _ => {
                i += 1;
                continue;
            }
        };
        for c in data[run_start..i].chunks(size) {
            out.push(Step::Data(dir, c));
        }
        match step {
            Some(s) => out.push(s),
            None => dir = 1 - dir,
        }
        i = (i + used).min(data.len());
        run_start = i;
    }
    for c in data[run_start..].chunks(size) {
        out.push(Step::Data(dir, c));
    }
    out
}
