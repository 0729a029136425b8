//! HTTP/1.x heads and framing on one connection (`capture::http`, through its `fuzzing`
//! entry point): request and status lines, header lines, Content-Length / Transfer-Encoding,
//! pipelining, gaps, resynchronisation. Checks: no panic, every exchange is a request that was
//! parsed, nothing stays counted as unanswered after the final flush.
//!
//! Input: one config byte, then the conversation in the format of `steps.rs` (seeds:
//! `fuzz/seeds/http_head/`, request stream + `FE FE FE` + response stream).
#![no_main]

#[path = "steps.rs"]
mod steps;

use corscope::capture::http::fuzzing::conversation;
use corscope::capture::http::HttpLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    // Bits 0-1: who the client is; bit 2: mid-stream start; bit 3: small limits (so that the
    // limit paths are reached by small inputs); bits 4-6: packet size.
    let client = match cfg & 3 {
        0 | 1 => Some(0),
        2 => Some(1),
        _ => None,
    };
    let mid_stream = cfg & 4 != 0;
    let limits = if cfg & 8 != 0 {
        HttpLimits {
            max_head_bytes: 256,
            max_headers: 4,
            max_chunk_line: 16,
            max_pending: 2,
        }
    } else {
        HttpLimits {
            max_head_bytes: corscope::capture::MAX_HEAD_BYTES,
            max_headers: corscope::capture::MAX_HEADERS,
            max_chunk_line: corscope::capture::MAX_CHUNK_LINE,
            max_pending: corscope::capture::MAX_PENDING_REQUESTS,
        }
    };
    let size = steps::SIZES[usize::from(cfg >> 4) & 7];
    let first_dir = client.unwrap_or(0);
    let steps = steps::steps(rest, size, first_dir);
    let o = conversation(&steps, client, mid_stream, limits);
    assert_eq!(o.open_after_flush, 0, "a request was never emitted");
    assert!(o.exchanges.len() as u64 <= o.stats.http_requests);
    for (_, ex) in &o.exchanges {
        assert!(!ex.request.method.is_empty());
        // Absolute-form targets are kept as sent (`HTTP://…` too); others get `http://`.
        assert!(ex
            .request
            .url
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case("http")));
    }
});
