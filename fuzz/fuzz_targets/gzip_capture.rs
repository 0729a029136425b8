//! A gzip'd capture, damaged, through the input layer (`input::from_reader`: gzip member by
//! member, detection) and the capture reader with one or two workers. The first byte picks the
//! mode: odd, the rest is a capture that is gzip'd here and then cut, has a trailer byte
//! flipped or garbage appended (so the capture parser is fuzzed behind real gzip damage);
//! even, the rest is taken as raw (gzip or plain) bytes. Bit 7: two capture workers.
//!
//! Oracle for the damaged modes: the exchanges equal those of the bytes `gzip -dc` still
//! gives (an independent flate2 decoder), read as a plain capture: nothing decodable is lost.
#![no_main]

use std::io::Write;

use flate2::{write::GzEncoder, Compression};
use libfuzzer_sys::fuzz_target;

#[path = "compressed.rs"]
mod compressed;

fuzz_target!(|data: &[u8]| {
    let compress = |b: &[u8]| {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b).ok()?;
        enc.finish().ok()
    };
    let decode = |z: &[u8]| compressed::drain(flate2::read::GzDecoder::new(z));
    // Every byte `damage` flips is in the 8-byte trailer (CRC-32 and length).
    compressed::check(data, compress, decode, 8);
});
