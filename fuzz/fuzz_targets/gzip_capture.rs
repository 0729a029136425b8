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
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    let _ = enc.write_all(rest);
    let Ok(mut z) = enc.finish() else {
        return;
    };
    damage(mode, &mut z);
    let Some(got) = exchanges(z.clone(), workers) else {
        return;
    };
    // The decodable prefix read as a plain capture gives the same exchanges (the source
    // name is the same; nothing else may differ).
    let prefix = drain(flate2::read::GzDecoder::new(&z[..]));
    if prefix.is_empty() {
        return;
    }
    let want = exchanges(prefix, workers).unwrap_or_default();
    assert_eq!(got, want, "mode {mode:#04x}");
});
