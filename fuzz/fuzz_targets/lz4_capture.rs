//! An LZ4-compressed capture, damaged, through the input layer (`input::from_reader`: LZ4
//! frame by frame, block by block, detection) and the capture reader with one or two workers:
//! as `gzip_capture`, whose mode byte it shares. Odd: the rest is a capture compressed here
//! (lz4_flex's frame writer, with the content checksum) and then cut, with a byte near its end
//! flipped or garbage appended; even, the rest is taken as raw (LZ4 or plain) bytes.
//!
//! Oracle for the damaged modes: the exchanges equal those of the bytes lz4_flex's own frame
//! reader still gives, read as a plain capture: nothing decodable is lost.
#![no_main]

use std::io::Write;

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
    let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
    let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    if enc.write_all(rest).is_err() {
        return;
    }
    let Ok(mut z) = enc.finish() else {
        return;
    };
    damage(mode, &mut z);
    // A byte flipped before the content checksum (the last 4 bytes) decodes wrongly until
    // that checksum says so: only a flipped checksum byte leaves the data to compare.
    let k = usize::from(mode >> 3) & 0x0f;
    if (mode >> 1) & 3 == 1 && k % 8 >= 4 {
        let _ = exchanges(z, workers);
        return;
    }
    let Some(got) = exchanges(z.clone(), workers) else {
        return;
    };
    let prefix = drain(lz4_flex::frame::FrameDecoder::new(&z[..]));
    if prefix.is_empty() {
        return;
    }
    let want = exchanges(prefix, workers).unwrap_or_default();
    assert_eq!(got, want, "mode {mode:#04x}");
});
