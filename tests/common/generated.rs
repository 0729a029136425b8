//! The generator's encrypted captures (`generate-pcap --tls-keylog`, `--quic-keylog`) written
//! and read back through the library: shared by `tests/tls.rs` and `tests/quic.rs`, included
//! by path (`#[path]`) so each takes only this file of `common`.

use std::io::Cursor;
use std::sync::Arc;

use corscope::capture::tls::KeyLog;
use corscope::capture::{read_capture, CaptureOptions, CaptureStats};
use corscope::diag::Diagnostics;
use corscope::synth::{write_pcap, PcapCounts, PcapSpec, Wire};

/// A small capture of `wire` (16 sessions, about 2 MB of target) and what the generator says
/// it holds.
pub fn capture(wire: Wire) -> (Vec<u8>, PcapCounts) {
    let spec = PcapSpec {
        target_bytes: 2 << 20,
        concurrent: 16,
        wire,
        ..Default::default()
    };
    let mut bytes = Vec::new();
    let counts = write_pcap(&mut bytes, &spec).expect("generated");
    assert!(counts.requests > 20);
    (bytes, counts)
}

/// A capture of `wire` read with its key log: every request it holds decoded and answered,
/// with no warning. The capture, its counts and what was read, for the test's own checks.
pub fn decoded_completely(wire: Wire) -> (Vec<u8>, PcapCounts, Read) {
    let (bytes, counts) = capture(wire);
    let r = read(&bytes, &counts.keylog);
    assert_eq!((r.requests, r.answered), (counts.requests, counts.requests));
    assert!(
        r.diag.is_empty(),
        "{:?}",
        r.diag.counts().collect::<Vec<_>>()
    );
    (bytes, counts, r)
}

/// What reading a capture gave: requests decoded, how many of them answered, the warnings and
/// the capture's counts.
pub struct Read {
    pub requests: u64,
    pub answered: u64,
    pub diag: Diagnostics,
    pub stats: CaptureStats,
}

/// Reads `bytes` with the key log `keylog` (empty: none); every request decoded is to one of
/// the generator's API hosts over HTTPS.
pub fn read(bytes: &[u8], keylog: &str) -> Read {
    let keys = KeyLog::default();
    if !keylog.is_empty() {
        assert!(keys.add_text(keylog).used > 0);
    }
    let opts = CaptureOptions {
        keylog: Arc::new(keys),
        ..CaptureOptions::default()
    };
    let (mut requests, mut answered) = (0u64, 0u64);
    let mut diag = Diagnostics::new();
    let stats = read_capture(
        Box::new(Cursor::new(bytes.to_vec())),
        Arc::from("gen"),
        &opts,
        &mut |ex| {
            requests += 1;
            answered += u64::from(ex.response.is_some());
            assert!(
                ex.request.url.starts_with("https://api"),
                "{}",
                ex.request.url
            );
        },
        &mut diag,
    )
    .expect("read");
    Read {
        requests,
        answered,
        diag,
        stats,
    }
}
