//! Arbitrary bytes through the whole library path the CLI takes: `input::from_reader` (gzip,
//! format detection), the HAR or capture reader, pairing, the CORS engine for all three
//! browsers and record building. Checks: no panic, and every record is well-formed (serializes
//! to JSON, verdicts in the allowed set, a parsable time, a URL).
#![no_main]

use std::io::Cursor;
use std::sync::Arc;

use corscope::capture::CaptureOptions;
use corscope::input::from_reader;
use corscope::pipeline::{analyze_input, InputReport, Options};
use libfuzzer_sys::fuzz_target;

const VERDICTS: [&str; 4] = ["allowed", "blocked", "unknown", "not-cors"];

fuzz_target!(|data: &[u8]| {
    let Ok(input) = from_reader(Arc::from("fuzz"), Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    // Small capture limits so that the limit paths are reached by small inputs; `all` so that
    // same-origin and no-cors flows are built into records too.
    let opts = Options {
        all: true,
        capture: CaptureOptions {
            max_live_connections: 8,
            max_connection_buffer: 8192,
            max_ooo_segments: 8,
            max_cross_wait_segments: 4,
            max_pending_requests: 8,
            max_reorder_exchanges: 8,
            skip_unknown_link_types: true,
            ..CaptureOptions::default()
        },
        ..Options::default()
    };
    let mut n = 0u64;
    let report = analyze_input(
        input,
        &opts,
        &mut |r| {
            n += 1;
            let json = serde_json::to_string(&r).expect("record serializes");
            assert!(json.starts_with('{'));
            for v in [r.verdict, r.firefox_verdict, r.safari_verdict] {
                assert!(VERDICTS.contains(&v.as_str()), "verdict {v:?}");
            }
            assert!(
                chrono::DateTime::parse_from_rfc3339(&r.time).is_ok(),
                "time {:?}",
                r.time
            );
            assert!(!r.url.is_empty());
        },
        InputReport::default(),
    );
    assert!(n <= report.flows);
    assert!(report.flows <= report.exchanges);
});
