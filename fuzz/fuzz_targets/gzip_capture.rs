//! A gzip'd capture, damaged, through the input layer (`input::from_reader`: gzip member by
//! member, detection) and the capture reader with one or two workers. The first byte picks the
//! mode: odd, the rest is a capture that is gzip'd here and then cut, has a trailer byte
//! flipped or garbage appended (so the capture parser is fuzzed behind real gzip damage);
//! even, the rest is taken as raw (gzip or plain) bytes. Bit 7: two capture workers.
//!
//! Oracle for the damaged modes: the exchanges equal those of the bytes `gzip -dc` still
//! gives (an independent flate2 decoder), read as a plain capture: nothing decodable is lost.
#![no_main]

use std::io::{Cursor, Read, Write};
use std::sync::Arc;

use corscope::capture::parallel::read_capture_parallel;
use corscope::capture::CaptureOptions;
use corscope::diag::Diagnostics;
use corscope::input::{from_reader, Format};
use corscope::model::Exchange;
use flate2::{write::GzEncoder, Compression};
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

fn gzip_dc(z: &[u8]) -> Vec<u8> {
    let mut d = flate2::read::GzDecoder::new(z);
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
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    let _ = enc.write_all(rest);
    let Ok(mut z) = enc.finish() else {
        return;
    };
    let n = z.len();
    let k = usize::from(mode >> 3) & 0x0f;
    match (mode >> 1) & 3 {
        0 => z.truncate(n * (k + 1) / 17),
        1 => {
            if let Some(b) = z.get_mut(n - 1 - k % 8) {
                *b ^= 1;
            }
        }
        2 => z.extend_from_slice(b"\0garbage"),
        _ => {}
    }
    let Some(got) = exchanges(z.clone(), workers) else {
        return;
    };
    // The decodable prefix read as a plain capture gives the same exchanges (the source
    // name is the same; nothing else may differ).
    let prefix = gzip_dc(&z);
    if prefix.is_empty() {
        return;
    }
    let want = exchanges(prefix, workers).unwrap_or_default();
    assert_eq!(got, want, "mode {mode:#04x}");
});
