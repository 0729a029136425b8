//! Shared by the `gzip_capture` and `zstd_capture` targets (included with `#[path]`, not a
//! target of its own): the capture read through the input layer with small limits, the damage
//! the mode byte picks, and an independent decoder's output read until it fails.

use std::io::{Cursor, Read};
use std::sync::Arc;

use corscope::capture::parallel::read_capture_parallel;
use corscope::capture::CaptureOptions;
use corscope::diag::Diagnostics;
use corscope::input::{from_reader, Format};
use corscope::model::Exchange;

fn opts() -> CaptureOptions {
    CaptureOptions {
        max_record_bytes: 1 << 20,
        max_live_connections: 8,
        max_connection_buffer: 4096,
        max_ooo_segments: 8,
        max_head_bytes: 2048,
        max_headers: 16,
        max_pending_requests: 4,
        max_reorder_exchanges: 4,
        ..CaptureOptions::default()
    }
}

/// The exchanges read from `bytes` (None: not a capture).
fn exchanges(bytes: Vec<u8>, workers: usize) -> Option<Vec<Exchange>> {
    let input = from_reader(Arc::from("fuzz"), Box::new(Cursor::new(bytes))).ok()?;
    if input.format == Format::Har {
        return None;
    }
    let mut out = Vec::new();
    let _ = read_capture_parallel(
        input.reader,
        input.name,
        &opts(),
        workers,
        &mut |x| out.push(x),
        &mut Diagnostics::new(),
    );
    Some(out)
}

/// What `d` gives until it ends or fails.
pub fn drain(mut d: impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = d.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// The damage `mode` (an odd mode byte) picks, done to the compressed stream `z`: bits 1-2 cut
/// it (at (k + 1) / 17 of its length, k = bits 3-6), flip one of its last 8 bytes (the
/// (k % 8 + 1)-th from the end), append garbage, or leave it whole.
fn damage(mode: u8, z: &mut Vec<u8>) {
    let n = z.len();
    let k = usize::from(mode >> 3) & 0x0f;
    match (mode >> 1) & 3 {
        0 => z.truncate(n * (k + 1) / 17),
        1 => {
            if let Some(b) = z.get_mut(n.wrapping_sub(1 + k % 8)) {
                *b ^= 1;
            }
        }
        2 => z.extend_from_slice(b"\0garbage"),
        _ => {}
    }
}

/// The whole check, on fuzz input `data` (mode byte, then bytes): even modes read the bytes
/// raw; odd ones compress them (`compress`), damage them ([`damage`]) and assert that the
/// exchanges equal those of what the independent decoder `decode` still gives, read as a plain
/// capture. A flipped byte among the last `tail` (the checksums after the data) leaves the
/// data to compare; one before them decodes wrongly until a checksum says so, and is only run.
pub fn check(
    data: &[u8],
    compress: impl Fn(&[u8]) -> Option<Vec<u8>>,
    decode: impl Fn(&[u8]) -> Vec<u8>,
    tail: usize,
) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // Bit 7: one or two capture workers.
    let workers = if mode & 0x80 != 0 { 2 } else { 1 };
    if mode & 1 == 0 {
        let _ = exchanges(rest.to_vec(), workers);
        return;
    }
    let Some(mut z) = compress(rest) else {
        return;
    };
    damage(mode, &mut z);
    let k = usize::from(mode >> 3) & 0x0f;
    if (mode >> 1) & 3 == 1 && k % 8 >= tail {
        let _ = exchanges(z, workers);
        return;
    }
    let Some(got) = exchanges(z.clone(), workers) else {
        return;
    };
    let prefix = decode(&z);
    if prefix.is_empty() {
        return;
    }
    let want = exchanges(prefix, workers).unwrap_or_default();
    assert_eq!(got, want, "mode {mode:#04x}");
}
