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

fuzz_target!(|data: &[u8]| {
    let compress = |b: &[u8]| {
        let mut c = zstd::bulk::Compressor::new(1).ok()?;
        c.include_checksum(true).ok()?;
        c.compress(b).ok()
    };
    // libzstd's own reader, one frame.
    let decode = |z: &[u8]| match zstd::stream::read::Decoder::new(z) {
        Ok(d) => compressed::drain(d.single_frame()),
        Err(_) => Vec::new(),
    };
    // The frame's checksum is its last 4 bytes.
    compressed::check(data, compress, decode, 4);
});
