//! A zstd-compressed capture, damaged, through the input layer (`input::from_reader`: zstd
//! frame by frame, detection) and the capture reader with one or two workers: as
//! `gzip_capture`, whose mode byte it shares. Odd: the rest is a capture that is compressed
//! here (with its checksum) and then cut, has a byte near its end flipped or garbage
//! appended; even, the rest is taken as raw (zstd or plain) bytes. Bit 7: two capture workers.
//!
//! Oracle for the damaged modes: the exchanges equal those of the bytes libzstd's own reader
//! (`zstd::stream::read::Decoder`, one frame, read until it fails) still gives, read as a
//! plain capture: nothing decodable is lost.
#![no_main]

use std::io::{Cursor, Read};
use std::sync::Arc;

use corscope::capture::parallel::read_capture_parallel;
use corscope::capture::CaptureOptions;
use corscope::diag::Diagnostics;
use corscope::input::{from_reader, Format};
use corscope::model::Exchange;
use libfuzzer_sys::fuzz_target;

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

fn zstd_dc(z: &[u8]) -> Vec<u8> {
    let Ok(d) = zstd::stream::read::Decoder::new(z) else {
        return Vec::new();
    };
    let mut d = d.single_frame();
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

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let workers = if mode & 0x80 != 0 { 2 } else { 1 };
    if mode & 1 == 0 {
        let _ = exchanges(rest.to_vec(), workers);
        return;
    }
    let Ok(mut c) = zstd::bulk::Compressor::new(1) else {
        return;
    };
    if c.include_checksum(true).is_err() {
        return;
    }
    let Ok(mut z) = c.compress(rest) else {
        return;
    };
    let n = z.len();
    let k = usize::from(mode >> 3) & 0x0f;
    match (mode >> 1) & 3 {
        0 => z.truncate(n * (k + 1) / 17),
        1 => {
            // In the checksum (the last 4 bytes), or the block just before it.
            if let Some(b) = z.get_mut(n - 1 - k % 8) {
                *b ^= 1;
            }
        }
        2 => z.extend_from_slice(b"\0garbage"),
        _ => {}
    }
    // A byte flipped in the block decodes wrongly before the checksum says so: only the
    // checksum's own bytes leave the data intact.
    if (mode >> 1) & 3 == 1 && k % 8 >= 4 {
        let _ = exchanges(z, workers);
        return;
    }
    let Some(got) = exchanges(z.clone(), workers) else {
        return;
    };
    // The decodable prefix read as a plain capture gives the same exchanges (the source
    // name is the same; nothing else may differ).
    let prefix = zstd_dc(&z);
    if prefix.is_empty() {
        return;
    }
    let want = exchanges(prefix, workers).unwrap_or_default();
    assert_eq!(got, want, "mode {mode:#04x}");
});
