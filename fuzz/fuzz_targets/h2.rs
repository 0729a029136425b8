//! HTTP/2 frames over one connection (`capture::h2`, cleartext with prior knowledge, through
//! `http::fuzzing::conversation_with_keys`): frame splitting across packets, padding,
//! CONTINUATION, interleaved streams, RST_STREAM, SETTINGS, HPACK, gaps. The client preface is
//! prepended. Checks: no panic, nothing left counted as unanswered, every exchange has a
//! method and an `http://` URL, responses pair only with requests.
//!
//! Input: one config byte (bits 4-6: packet size), then the steps format of `steps.rs`
//! (client first).
#![no_main]

#[path = "steps.rs"]
mod steps;

use corscope::capture::h2::frame::PREFACE;
use corscope::capture::http::fuzzing::{conversation_with_keys, Step};
use corscope::capture::http::HttpLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let limits = HttpLimits {
        max_head_bytes: if cfg & 8 != 0 {
            256
        } else {
            corscope::capture::MAX_HEAD_BYTES
        },
        max_headers: corscope::capture::MAX_HEADERS,
        max_chunk_line: corscope::capture::MAX_CHUNK_LINE,
        max_pending: if cfg & 8 != 0 { 2 } else { 64 },
    };
    let size = steps::SIZES[usize::from(cfg >> 4) & 7];
    let mut all = vec![Step::Data(0, &PREFACE[..])];
    all.extend(steps::steps(rest, size, 0));
    let o = conversation_with_keys(&all, Some(0), false, limits, &Default::default());
    assert_eq!(o.open_after_flush, 0, "a request was never emitted");
    assert!(o.exchanges.len() as u64 <= o.stats.http_requests);
    for (_, ex) in &o.exchanges {
        assert!(ex.request.url.starts_with("http"));
        assert_eq!(ex.request.http_version, corscope::model::HttpVersion::Http2);
    }
});
