//! Arbitrary bytes as a capture file through `read_capture`: it must never panic, whatever
//! the input (seed with `../tests/data/captures`, see the README there; `seeds/capture/encap-*`
//! cover tunnels, IP fragments and QUIC).
#![no_main]

use std::io::Cursor;
use std::sync::Arc;

use corscope::capture::frag::FragLimits;
use corscope::capture::{read_capture, CaptureOptions};
use corscope::diag::Diagnostics;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits so that the limit paths are reached by small inputs too.
    let opts = CaptureOptions {
        max_record_bytes: 1 << 20,
        max_live_connections: 8,
        max_connection_buffer: 4096,
        max_ooo_segments: 8,
        max_cross_wait_segments: 4,
        max_head_bytes: 2048,
        max_headers: 16,
        max_chunk_line: 64,
        max_pending_requests: 4,
        max_reorder_exchanges: 4,
        frag: FragLimits {
            max_datagrams: 4,
            max_bytes: 4096,
            timeout_secs: 1,
        },
        ..CaptureOptions::default()
    };
    let mut diag = Diagnostics::new();
    let mut n = 0u64;
    let _ = read_capture(
        Box::new(Cursor::new(data.to_vec())),
        Arc::from("fuzz"),
        &opts,
        &mut |ex| {
            n += 1;
            assert!(ex.connection.is_some());
        },
        &mut diag,
    );
});
