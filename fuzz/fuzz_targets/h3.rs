//! HTTP/3 over one QUIC connection whose keys are known (`capture::quic::fuzzing::conversation`:
//! STREAM and RESET_STREAM frames straight into the connection's stream reassembly, then
//! `capture::h3`): control streams and SETTINGS, QPACK encoder streams and the dynamic table,
//! blocked field sections, request and response HEADERS, DATA, unknown frames and stream
//! types, streams in order, out of order, overlapping, retransmitted, cut by FIN or reset.
//! Checks: no panic; nothing left counted as unanswered after the final flush; every exchange
//! is an HTTP/3 request with an `https://` URL, or `http://` when its `:scheme` says so (RFC
//! 9114 §3.1.2: an `http` URI may be served over HTTP/3 through Alt-Svc; `capture::streams`
//! takes `:scheme` when it is `http` or `https`); no more exchanges than requests parsed.
//!
//! Input: one config byte (bit 0: small limits: 1 KiB heads, where a field section's size
//! counts 32 bytes per field; 2 pending requests; 16 headers), then pieces, each one packet
//! with one frame:
//!
//! - a header byte `H`: bit 7 the direction (0: the client); bits 3-6 the stream: an index into
//!   `[0, 4, 8, 2, 3, 6, 7, 10, 11, 12, 16, 14, 15, 1, 5]`, or 15: a QUIC varint with the id
//!   follows; bits 0-2 the mode:
//!   - 0: STREAM at the stream's end (in order), 1: the same with FIN;
//!   - 2: STREAM at an offset (a QUIC varint follows), 3: the same with FIN;
//!   - 4: STREAM overlapping: a byte `k` follows, and the frame re-sends the stream's last `k`
//!     bytes (as sent so far in this direction, a retransmission) before the new data;
//!   - 5: STREAM in order, delivered late: after the next piece of any other mode (late
//!     pieces in a row go out in their order after it), 6: the same with FIN;
//!   - 7: RESET_STREAM: a byte `d` follows; the final size is the stream's end plus `d` (no
//!     length or data follow);
//! - for STREAM: the data length, one byte `L` (`L < 0xc0`), or two (`(L & 0x3f) << 8 | next`),
//!   then that many data bytes (fewer if the input ends).
//!
//! "The stream's end" is how many bytes of it were sent from offset 0 without a hole, in this
//! direction. `CORSCOPE_FUZZ_PRINT=1` prints each input's exchanges and warnings.
//! `seeds/h3/` is built by `seeds/h3/gen_seeds.py` (run from the repository root) from the
//! streams of `../tests/data/quic/*` (decrypted by tshark) and from pylsqpack's encoder.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use corscope::capture::http::HttpLimits;
use corscope::capture::quic::fuzzing::{conversation, Piece};
use corscope::model::HttpVersion;
use libfuzzer_sys::fuzz_target;

/// Stream ids the header byte names (index 15: explicit).
const IDS: [u64; 15] = [0, 4, 8, 2, 3, 6, 7, 10, 11, 12, 16, 14, 15, 1, 5];

/// A QUIC variable-length integer at the start of `b`, and the rest.
fn varint(b: &[u8]) -> (u64, &[u8]) {
    let Some(&first) = b.first() else {
        return (0, b);
    };
    let len = (1usize << (first >> 6)).min(b.len());
    let v = b[1..len]
        .iter()
        .fold(u64::from(first & 0x3f), |v, &x| (v << 8) | u64::from(x));
    (v, &b[len..])
}

fn byte(b: &[u8]) -> (u8, &[u8]) {
    match b.split_first() {
        Some((&x, rest)) => (x, rest),
        None => (0, b),
    }
}

/// One decoded piece, its data owned (overlapping pieces repeat earlier bytes).
enum Owned {
    Stream {
        dir: usize,
        id: u64,
        offset: u64,
        data: Vec<u8>,
        fin: bool,
    },
    Reset {
        dir: usize,
        id: u64,
        final_size: u64,
    },
}

fn decode(mut b: &[u8]) -> Vec<Owned> {
    let mut out = Vec::new();
    let mut late: Vec<Owned> = Vec::new();
    // Bytes sent so far on (stream, direction) from offset 0, without a hole.
    let mut sent: HashMap<(u64, usize), Vec<u8>> = HashMap::new();
    while let Some((&h, rest)) = b.split_first() {
        b = rest;
        let dir = usize::from(h >> 7);
        let id = match usize::from(h >> 3) & 0x0f {
            15 => {
                let (v, rest) = varint(b);
                b = rest;
                v
            }
            i => IDS[i],
        };
        let mode = h & 7;
        let hist = sent.entry((id, dir)).or_default();
        let end = hist.len() as u64;
        if mode == 7 {
            let (d, rest) = byte(b);
            b = rest;
            out.push(Owned::Reset {
                dir,
                id,
                final_size: end + u64::from(d),
            });
            out.append(&mut late);
            continue;
        }
        let (offset, resend) = match mode {
            2 | 3 => {
                let (v, rest) = varint(b);
                b = rest;
                (v, 0)
            }
            4 => {
                let (k, rest) = byte(b);
                b = rest;
                let k = usize::from(k).min(hist.len());
                (end - k as u64, k)
            }
            _ => (end, 0),
        };
        let (l, rest) = byte(b);
        b = rest;
        let len = if l < 0xc0 {
            usize::from(l)
        } else {
            let (l2, rest) = byte(b);
            b = rest;
            usize::from(l & 0x3f) << 8 | usize::from(l2)
        };
        let (fresh, rest) = b.split_at(len.min(b.len()));
        b = rest;
        let mut data = hist[hist.len() - resend..].to_vec();
        data.extend_from_slice(fresh);
        // What extends the run from offset 0 is remembered for later overlaps.
        if offset <= end {
            if let Some(new) = data.get((end - offset) as usize..) {
                hist.extend_from_slice(new);
            }
        }
        let fin = matches!(mode, 1 | 3 | 6);
        let piece = Owned::Stream {
            dir,
            id,
            offset,
            data,
            fin,
        };
        if matches!(mode, 5 | 6) {
            late.push(piece);
        } else {
            out.push(piece);
            out.append(&mut late);
        }
    }
    out.append(&mut late);
    out
}

/// `CORSCOPE_FUZZ_PRINT=1`: each input's exchanges and warnings on stderr (to check seeds).
fn print_outcome() -> bool {
    static P: OnceLock<bool> = OnceLock::new();
    *P.get_or_init(|| std::env::var_os("CORSCOPE_FUZZ_PRINT").is_some())
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let small = cfg & 1 != 0;
    let limits = HttpLimits {
        max_head_bytes: if small {
            1024
        } else {
            corscope::capture::MAX_HEAD_BYTES
        },
        max_headers: if small {
            16
        } else {
            corscope::capture::MAX_HEADERS
        },
        max_chunk_line: corscope::capture::MAX_CHUNK_LINE,
        max_pending: if small { 2 } else { 64 },
    };
    let owned = decode(rest);
    let pieces: Vec<Piece<'_>> = owned
        .iter()
        .map(|p| match *p {
            Owned::Stream {
                dir,
                id,
                offset,
                ref data,
                fin,
            } => Piece::Stream {
                dir,
                id,
                offset,
                data,
                fin,
            },
            Owned::Reset {
                dir,
                id,
                final_size,
            } => Piece::Reset {
                dir,
                id,
                final_size,
            },
        })
        .collect();
    let o = conversation(&pieces, limits);
    if print_outcome() {
        for (_, ex) in &o.exchanges {
            let status = ex.response.as_ref().map(|r| r.status);
            eprintln!("{} {} -> {status:?}", ex.request.method, ex.request.url);
        }
        eprintln!("{} pieces, {:?}\n{:?}", pieces.len(), o.stats, o.diag);
    }
    assert_eq!(o.open_after_flush, 0, "a request was never emitted");
    assert!(
        o.exchanges.len() as u64 <= o.stats.http_requests,
        "{} exchanges, {} requests",
        o.exchanges.len(),
        o.stats.http_requests
    );
    for (_, ex) in &o.exchanges {
        assert!(
            ex.request.url.starts_with("https://") || ex.request.url.starts_with("http://"),
            "{:?}",
            ex.request.url
        );
        assert_eq!(ex.request.http_version, HttpVersion::Http3);
    }
});
