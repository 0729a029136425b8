//! TLS records over one connection (`capture::tls` through `http::fuzzing::conversation_with_keys`):
//! record framing across packets, handshake reassembly, ClientHello / ServerHello parsing,
//! key derivation and decryption with the secrets of the committed TLS 1.2 fixture (so seeds
//! cut from that capture decrypt, and mutations exercise the rejection paths), then the HTTP/2
//! or HTTP/1.x layer. Checks: no panic, nothing left counted as unanswered, every exchange is an
//! `https://` request.
//!
//! Input: one config byte (bits 4-6: packet size), then the steps format of `steps.rs`
//! (client first).
#![no_main]

#[path = "steps.rs"]
mod steps;

use std::sync::OnceLock;

use corscope::capture::http::fuzzing::conversation_with_keys;
use corscope::capture::http::HttpLimits;
use corscope::capture::tls::KeyLog;
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static KeyLog {
    static K: OnceLock<KeyLog> = OnceLock::new();
    K.get_or_init(|| {
        let k = KeyLog::default();
        k.add_text(include_str!("../../tests/data/tls/tls12-keylog.txt"));
        k
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let limits = HttpLimits {
        max_head_bytes: corscope::capture::MAX_HEAD_BYTES,
        max_headers: corscope::capture::MAX_HEADERS,
        max_chunk_line: corscope::capture::MAX_CHUNK_LINE,
        max_pending: 64,
    };
    let size = steps::SIZES[usize::from(cfg >> 4) & 7];
    let steps = steps::steps(rest, size, 0);
    let o = conversation_with_keys(&steps, Some(0), false, limits, keys());
    assert_eq!(o.open_after_flush, 0, "a request was never emitted");
    for (_, ex) in &o.exchanges {
        assert!(!ex.request.method.is_empty());
    }
});
