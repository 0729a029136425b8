//! Chunked bodies (`capture::http`): chunk-size lines with extensions, chunk data, the CRLF
//! after it, trailers, and what follows the body. The bytes are the body of a chunked
//! request or response between two well-formed messages; every line of the input also goes
//! through the chunk-size parser, checked against a reference.
//!
//! Input: one config byte (bit 0: response direction; bit 3: small limits; bits 4-6: packet
//! size), then the body in the format of `steps.rs` (seeds: `fuzz/seeds/chunked/`).
#![no_main]

#[path = "steps.rs"]
mod steps;

use corscope::capture::http::fuzzing::{chunk_size, conversation, Step};
use corscope::capture::http::HttpLimits;
use libfuzzer_sys::fuzz_target;

/// RFC 9112 §7.1 chunk-size as the parser reads it: hex digits, optional whitespace, then the
/// end of the line or `;extensions`; values over u64 are refused.
fn reference(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let rest = &line[digits..];
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let rest: Vec<u8> = rest.iter().copied().skip_while(|b| ws(b)).collect();
    let only_ws = rest.iter().all(ws);
    if !(only_ws || rest.first() == Some(&b';')) {
        return None;
    }
    let hex = std::str::from_utf8(&line[..digits]).ok()?;
    let significant = hex.trim_start_matches('0');
    if significant.len() > 16 {
        return None;
    }
    Some(u64::from_str_radix(significant, 16).unwrap_or(0))
}

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        assert_eq!(chunk_size(line), reference(line), "line {line:?}");
    }
    let Some((&cfg, body)) = data.split_first() else {
        return;
    };
    let response = cfg & 1 != 0;
    let limits = if cfg & 8 != 0 {
        HttpLimits {
            max_head_bytes: 1024,
            max_headers: 16,
            max_chunk_line: 12,
            max_pending: 4,
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
    let dir = usize::from(response);
    let body_steps = steps::steps(body, size, dir);
    let mut all = Vec::new();
    if response {
        all.push(Step::Data(
            0,
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
        ));
        all.push(Step::Data(
            1,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        ));
    } else {
        all.push(Step::Data(
            0,
            b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        ));
    }
    all.extend(body_steps);
    if response {
        all.push(Step::Data(1, b"HTTP/1.1 204 No Content\r\n\r\n"));
    } else {
        all.push(Step::Data(0, b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"));
        all.push(Step::Data(
            1,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        ));
    }
    let o = conversation(&all, Some(0), false, limits);
    assert_eq!(o.open_after_flush, 0, "a request was never emitted");
    // The first request is always parsed and always emitted (with or without a response).
    assert!(!o.exchanges.is_empty());
    assert!(o.exchanges.len() as u64 <= o.stats.http_requests);
});
