//! The HPACK decoder (`capture::h2::hpack::Decoder`): several header blocks through one
//! decoder (so the dynamic table carries over), Huffman strings, size updates. Checks: no
//! panic; the table never holds more than its cap; an error leaves the decoder usable.
//!
//! Input: one config byte (bit 0: small header list limit; bits 1-3: SETTINGS table size in
//! KiB), then blocks separated by `FF FE`.
#![no_main]

use corscope::capture::h2::hpack::{huffman_decode, Decoder, MAX_TABLE_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let mut d = Decoder::default();
    d.set_allowed(usize::from((cfg >> 1) & 7) * 8192);
    let max_list = if cfg & 1 != 0 { 200 } else { 64 * 1024 };
    let mut blocks = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < rest.len() {
        if rest[i] == 0xff && rest[i + 1] == 0xfe {
            blocks.push(&rest[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    blocks.push(&rest[start..]);
    for b in blocks {
        let mut n = 0usize;
        let _ = d.decode(b, max_list, &mut |name, value| {
            n += name.len() + value.len() + 32;
        });
        assert!(d.table_bytes() <= MAX_TABLE_SIZE);
        let _ = huffman_decode(b);
    }
});
