//! Arbitrary bytes as a capture file through `read_capture`: it must never panic, whatever
//! the input (seed with `../tests/data/captures`, see the README there; `seeds/capture/encap-*`
//! cover tunnels, IP fragments and QUIC; `joined-*` and `jump-*` parts out of time order,
//! followed as `pipeline` follows them).
#![no_main]

use std::io::{BufRead, BufReader, Cursor};
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
    let mut opts = opts;
    let mut source: Box<dyn BufRead + Send> = Box::new(Cursor::new(data.to_vec()));
    // A part out of time order is read from the rest the reader leaves, as `pipeline` reads
    // it: each run must start past the last one's start.
    let (mut from, mut runs) = (0, 1);
    for _ in 0..64 {
        let ended = read_capture(
            source,
            Arc::from("fuzz"),
            &opts,
            &mut |ex| {
                n += 1;
                assert!(ex.connection.is_some());
            },
            &mut diag,
        );
        let Some(resume) = ended.err().and_then(|e| e.resume_at(n, true, runs)) else {
            break;
        };
        let Some(rest) = opts.rest.take() else {
            break;
        };
        assert!(
            resume.offset > from || from == 0,
            "{} after {from}",
            resume.offset
        );
        from = resume.offset;
        runs += 1;
        opts.resume = Some(resume);
        source = Box::new(BufReader::new(rest));
    }
});
