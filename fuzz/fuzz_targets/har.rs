//! Arbitrary bytes as a HAR file through `input::har::read_har` (with small limits, so that the
//! string, entry and depth limits are reached by small inputs). Checks: no panic, each entry is
//! emitted at most once (in time order, so not necessarily in file order: `read_har` sorts),
//! and an error names a byte offset inside the input and an entry after every one emitted.
#![no_main]

use std::io::Cursor;
use std::sync::Arc;

use corscope::diag::Diagnostics;
use corscope::input::har::{read_har, HarError, HarOptions};
use corscope::model::Position;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the limits: the defaults, or small ones.
    let small = data.first().is_some_and(|b| b & 1 == 1);
    let opts = if small {
        HarOptions {
            max_string_bytes: 16,
            max_entry_bytes: 512,
            max_depth: 8,
        }
    } else {
        HarOptions::default()
    };
    let mut diag = Diagnostics::new();
    let mut seen = std::collections::HashSet::new();
    let mut last: Option<u64> = None;
    let r = read_har(
        Box::new(Cursor::new(data.to_vec())),
        Arc::from("fuzz.har"),
        &opts,
        &mut |x| {
            let Position::HarEntry(i) = x.loc.position else {
                panic!("HAR exchange without an entry index");
            };
            assert!(seen.insert(i), "entry {i} emitted twice");
            // The highest entry number emitted: an error must name a later one.
            last = last.max(Some(i));
            assert!(!x.request.url.is_empty() && !x.request.method.is_empty());
        },
        &mut diag,
    );
    let len = data.len() as u64;
    match r {
        Ok(meta) => assert!(last.is_none_or(|l| l < meta.entries)),
        Err(HarError::Syntax { offset, entry, .. })
        | Err(HarError::Truncated { offset, entry, .. }) => {
            assert!(offset <= len);
            // The entry named is the one after the last emitted, or a later one.
            if let (Some(e), Some(l)) = (entry, last) {
                assert!(
                    e > l,
                    "error names entry {e}, entry {l} was already complete"
                );
            }
        }
        Err(_) => {}
    }
});
