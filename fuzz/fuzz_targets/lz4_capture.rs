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

fuzz_target!(|data: &[u8]| {
    let compress = |b: &[u8]| {
        let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        enc.write_all(b).ok()?;
        enc.finish().ok()
    };
    let decode = |z: &[u8]| compressed::drain(lz4_flex::frame::FrameDecoder::new(z));
    // The content checksum is the frame's last 4 bytes.
    compressed::check(data, compress, decode, 4);
});
