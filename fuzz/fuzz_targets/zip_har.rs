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

use std::io::{Cursor, Read, Write};
use std::sync::Arc;

use corscope::input::from_reader;
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
    let Some(mut z) = archive(member, streaming, deflate) else {
        return;
    };
    let k = usize::from(mode >> 4);
    let whole = match (mode >> 2) & 3 {
        0 => {
            z.truncate(z.len() * (k + 1) / 17);
            false
        }
        1 => {
            let at = z.len().saturating_sub(1 + k);
            z[at] ^= 0x20;
            false
        }
        2 => {
            z.extend_from_slice(b"\0garbage");
            true
        }
        _ => true,
    };
    let flipped = (mode >> 2) & 3 == 1;
    let Ok(mut input) = from_reader(Arc::from("fuzz.zip"), Box::new(Cursor::new(z))) else {
        return;
    };
    let mut got = Vec::new();
    let ended = input.reader.read_to_end(&mut got).is_ok();
    // (A member that reads as UTF-16 text is decoded after extraction: other bytes.)
    if flipped || input.decoding().as_deref() != Some("zip extraction") {
        return;
    }
    assert!(
        member.starts_with(&got),
        "read bytes that are not the member's"
    );
    if whole {
        assert!(ended && got == member, "a whole archive reads whole");
    }
});
