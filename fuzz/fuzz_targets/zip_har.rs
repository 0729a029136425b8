//! A HAR (or capture) in a zip archive written by the `zip` crate, damaged, through the input
//! layer (`input::from_reader`: `input::zip`'s walk over local headers, then detection). The
//! first byte picks the mode: bit 0, the `zip` crate's streaming writer (sizes and CRC in data
//! descriptors after deflated data, as Playwright writes them) or its seeking one (sizes in the
//! local headers); bit 1, deflated or stored; bits 2-3: the archive cut (at (k + 1) / 17 of
//! its length, k = bits 4-7), a byte flipped (the k-th from the end), garbage appended, or
//! left whole. A resource member comes before the file, as in Playwright's archives.
//!
//! Oracle: what the input layer reads from the archive is a prefix of the member's bytes, all
//! of them when the archive is whole or only garbage was appended (a flipped byte, or a member
//! read as UTF-16 text: no panic).
#![no_main]

#[path = "archives.rs"]
mod archives;

use std::io::{Cursor, Write};

use libfuzzer_sys::fuzz_target;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn archive(data: &[u8], streaming: bool, deflate: bool) -> Option<Vec<u8>> {
    let method = if deflate {
        CompressionMethod::Deflated
    } else {
        CompressionMethod::Stored
    };
    let opts = SimpleFileOptions::default().compression_method(method);
    let write = |z: &mut dyn FnMut(&str, &[u8]) -> Option<()>| {
        z("resources/a.bin", b"\x89PNG\r\n\x1a\n0123456789")?;
        z("har.har", data)
    };
    if streaming {
        let mut w = ZipWriter::new_stream(Vec::new());
        write(&mut |name, bytes| {
            w.start_file(name, opts).ok()?;
            w.write_all(bytes).ok()
        })?;
        Some(w.finish().ok()?.into_inner())
    } else {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        write(&mut |name, bytes| {
            w.start_file(name, opts).ok()?;
            w.write_all(bytes).ok()
        })?;
        Some(w.finish().ok()?.into_inner())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, member)) = data.split_first() else {
        return;
    };
    let (streaming, deflate) = (mode & 1 != 0, mode & 2 != 0);
    if streaming && !deflate {
        // A stored member with its size after it cannot be walked (the reader says so).
        return;
    }
    let Some(z) = archive(member, streaming, deflate) else {
        return;
    };
    archives::check(mode, z, "fuzz.zip", "zip extraction", member);
});
