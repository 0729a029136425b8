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

use libfuzzer_sys::fuzz_target;

#[path = "compressed.rs"]
mod compressed;
use compressed::{damage, drain, exchanges, workers};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let workers = workers(mode);
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
    damage(mode, &mut z);
    // A byte flipped before the checksum (the last 4 bytes) decodes wrongly until the
    // checksum says so: only a flipped checksum byte leaves the data to compare.
    let k = usize::from(mode >> 3) & 0x0f;
    if (mode >> 1) & 3 == 1 && k % 8 >= 4 {
        let _ = exchanges(z, workers);
        return;
    }
    let Some(got) = exchanges(z.clone(), workers) else {
        return;
    };
    // The decodable prefix (libzstd's own reader, one frame) read as a plain capture gives
    // the same exchanges.
    let prefix = match zstd::stream::read::Decoder::new(&z[..]) {
        Ok(d) => drain(d.single_frame()),
        Err(_) => return,
    };
    if prefix.is_empty() {
        return;
    }
    let want = exchanges(prefix, workers).unwrap_or_default();
    assert_eq!(got, want, "mode {mode:#04x}");
});
