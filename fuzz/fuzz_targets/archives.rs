//! Shared by the `zip_har` and `tar_capture` targets (included with `#[path]`, not a target of
//! its own): the damage the mode byte picks, done to an archive another implementation wrote,
//! and the oracle on what the input layer reads from it.

use std::io::{Cursor, Read};
use std::sync::Arc;

use corscope::input::from_reader;

/// Damages archive `a` as `mode` says (bits 2-3: cut at (k + 1) / 17 of its length, k = bits
/// 4-7; flip a byte, the k-th from the end; append garbage; or leave it whole), reads it
/// through the input layer as `name`, and asserts that what is read is a prefix of `want`, all
/// of it when the archive is whole or only garbage was appended. Not asserted where a byte was
/// flipped, or where the input was not unwrapped by `step` alone (a member that reads as
/// UTF-16 text is decoded after extraction: other bytes); there only no panic counts.
pub fn check(mode: u8, mut a: Vec<u8>, name: &str, step: &str, want: &[u8]) {
    let k = usize::from(mode >> 4);
    let whole = match (mode >> 2) & 3 {
        0 => {
            a.truncate(a.len() * (k + 1) / 17);
            false
        }
        1 => {
            let at = a.len().saturating_sub(1 + k);
            a[at] ^= 0x20;
            false
        }
        2 => {
            a.extend_from_slice(b"\0garbage");
            true
        }
        _ => true,
    };
    let flipped = (mode >> 2) & 3 == 1;
    let Ok(mut input) = from_reader(Arc::from(name), Box::new(Cursor::new(a))) else {
        return;
    };
    let mut got = Vec::new();
    let ended = input.reader.read_to_end(&mut got).is_ok();
    if flipped || input.decoding().as_deref() != Some(step) {
        return;
    }
    assert!(
        want.starts_with(&got),
        "read bytes that are not the archive's"
    );
    if whole {
        assert!(ended && got == want, "a whole archive reads whole");
    }
}
