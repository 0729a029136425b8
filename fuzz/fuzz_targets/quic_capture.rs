//! Arbitrary bytes as a pcap or pcapng capture through the whole capture pipeline
//! (`capture::read_capture`, `--jobs 1`) with the secrets of the HTTP/3 recordings in
//! `../tests/data/quic` loaded, so that seeds cut from them decrypt and their mutations reach
//! QUIC (Initial keys, ClientHello and ServerHello in CRYPTO frames, 0-RTT and 1-RTT packets,
//! header protection, key updates, Retry, ACK ranges, datagrams held for keys) and HTTP/3
//! behind it. The key log holds `chromium-h3.keylog.txt`, `chromium-h3-retry-chacha.keylog.txt`
//! and the key log embedded in `chromium-h3-aes256-dsb.pcapng` (read from its Decryption
//! Secrets Block here), so a capture of any of the three decrypts without its own key log.
//!
//! Checks: no panic; every exchange has a connection, and those over HTTP/3 an `https://` or
//! `http://` URL (as the `h3` target checks);
//! the parallel reader with 2 workers gives the same exchanges, the
//! same warnings (counts and detail lines) and the same success or failure (the limits that
//! are split per worker, live connections and total buffer, keep their defaults, which a
//! fuzz input cannot reach).
//!
//! `CORSCOPE_FUZZ_PRINT=1` prints each input's exchanges and warnings. Seeds
//! (`seeds/quic_capture/`, from `seeds/h3/gen_seeds.py`): the three recordings, each of their
//! connections alone as a pcap, and the first packets of the two smallest of each.
//!
//! Each run gets its own key log: a pcapng's Decryption Secrets Blocks add to it as read.
#![no_main]

use std::io::Cursor;
use std::sync::{Arc, OnceLock};

use corscope::capture::parallel::read_capture_parallel;
use corscope::capture::tls::KeyLog;
use corscope::capture::{read_capture, CaptureOptions};
use corscope::diag::Diagnostics;
use corscope::model::{Exchange, HttpVersion};
use libfuzzer_sys::fuzz_target;

/// The text of the TLS key logs in a pcapng's Decryption Secrets Blocks.
fn dsb_text(b: &[u8]) -> String {
    let mut out = String::new();
    let mut le = true;
    let mut i = 0usize;
    let u32_at = |at: usize, le: bool| -> Option<u32> {
        let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        })
    };
    while let Some(kind) = u32_at(i, le) {
        if kind == 0x0a0d_0d0a {
            // Section Header Block: its byte-order magic sets the endianness.
            le = b.get(i + 8..i + 12) == Some(&[0x4d, 0x3c, 0x2b, 0x1a][..]);
        }
        let Some(len) = u32_at(i + 4, le).map(|l| l as usize) else {
            break;
        };
        if len < 12 {
            break;
        }
        if kind == 0x0a {
            if let (Some(0x544c_534b), Some(n)) = (u32_at(i + 8, le), u32_at(i + 12, le)) {
                if let Some(text) = b.get(i + 16..i + 16 + n as usize) {
                    out.push_str(&String::from_utf8_lossy(text));
                    out.push('\n');
                }
            }
        }
        i += len;
    }
    out
}

fn keylog_text() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = String::new();
        t.push_str(include_str!("../../tests/data/quic/chromium-h3.keylog.txt"));
        t.push('\n');
        t.push_str(include_str!(
            "../../tests/data/quic/chromium-h3-retry-chacha.keylog.txt"
        ));
        t.push('\n');
        let dsb = dsb_text(include_bytes!(
            "../../tests/data/quic/chromium-h3-aes256-dsb.pcapng"
        ));
        assert!(
            dsb.contains("CLIENT_TRAFFIC_SECRET_0"),
            "no key log in the pcapng"
        );
        t.push_str(&dsb);
        t
    })
}

fn opts() -> CaptureOptions {
    let keys = KeyLog::default();
    keys.add_text(keylog_text());
    CaptureOptions {
        max_record_bytes: 1 << 20,
        max_connection_buffer: 16 << 10,
        max_ooo_segments: 8,
        max_cross_wait_segments: 4,
        max_head_bytes: 4096,
        max_headers: 32,
        max_chunk_line: 64,
        max_pending_requests: 4,
        max_reorder_exchanges: 4,
        keylog: Arc::new(keys),
        ..CaptureOptions::default()
    }
}

struct Run {
    exchanges: Vec<Exchange>,
    diag: Diagnostics,
    ok: bool,
}

fn run(data: &[u8], workers: usize) -> Run {
    let mut exchanges = Vec::new();
    let mut diag = Diagnostics::new();
    let reader = Box::new(Cursor::new(data.to_vec()));
    let opts = opts();
    let result = if workers == 1 {
        read_capture(
            reader,
            Arc::from("fuzz"),
            &opts,
            &mut |e| exchanges.push(e),
            &mut diag,
        )
    } else {
        read_capture_parallel(
            reader,
            Arc::from("fuzz"),
            &opts,
            workers,
            &mut |e| exchanges.push(e),
            &mut diag,
        )
    };
    Run {
        exchanges,
        diag,
        ok: result.is_ok(),
    }
}

/// `CORSCOPE_FUZZ_PRINT=1`: each input's exchanges and warnings on stderr (to check seeds).
fn print_outcome() -> bool {
    static P: OnceLock<bool> = OnceLock::new();
    *P.get_or_init(|| std::env::var_os("CORSCOPE_FUZZ_PRINT").is_some())
}

fuzz_target!(|data: &[u8]| {
    let one = run(data, 1);
    if print_outcome() {
        for ex in &one.exchanges {
            let status = ex.response.as_ref().map(|r| r.status);
            let (m, u, v) = (
                &ex.request.method,
                &ex.request.url,
                &ex.request.http_version,
            );
            eprintln!("{m} {u} {v:?} -> {status:?}");
        }
        eprintln!("ok: {}, {:?}", one.ok, one.diag);
    }
    for ex in &one.exchanges {
        assert!(ex.connection.is_some());
        if ex.request.http_version == HttpVersion::Http3 {
            assert!(
                ex.request.url.starts_with("https://") || ex.request.url.starts_with("http://"),
                "{:?}",
                ex.request.url
            );
        }
    }
    let two = run(data, 2);
    assert_eq!(one.ok, two.ok, "2 workers: result");
    assert_eq!(one.exchanges, two.exchanges, "2 workers: exchanges");
    assert_eq!(
        format!("{:?}", one.diag),
        format!("{:?}", two.diag),
        "2 workers: warnings"
    );
});
