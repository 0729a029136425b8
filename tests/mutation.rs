//! Mutation test (runs in CI): deterministic pseudo-random variants of every sample HAR and of a
//! selection of captures (bytes flipped, deleted, duplicated, inserted at places a seeded PRNG
//! picks), each run through the whole library path (`input::from_reader` +
//! `pipeline::analyze_input`). Every variant must finish without a panic, within a time bound,
//! and every record it yields must be well-formed. A failing variant is written to
//! `target/mutation-failures/` so it can be replayed with `corscope analyze FILE`.
//!
//! One test per sample, so the test harness spreads them over the cores.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use corscope::input::from_reader;
use corscope::pipeline::{analyze_input, InputReport, Options};
use corscope::report::Record;
use corscope::synth::Rng;

/// Most time one variant may take. The samples take a few milliseconds each in release mode;
/// the bound only catches hangs and blow-ups, with room for a slow, shared CI machine.
const VARIANT_TIME_BOUND: Duration = Duration::from_secs(10);
const VERDICTS: [&str; 4] = ["allowed", "blocked", "unknown", "not-cors"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load(rel: &str) -> Vec<u8> {
    let bytes = std::fs::read(root().join(rel)).unwrap();
    if rel.ends_with(".gz") {
        // Mutate the capture, not its compression (a flipped gzip byte only tests flate2).
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out)
            .unwrap();
        out
    } else {
        bytes
    }
}

/// A position to mutate: anywhere, or (half the time) at a structural byte of the format
/// (JSON punctuation, CR/LF) so that mutations hit syntax rather than only body bytes.
fn position(rng: &mut Rng, data: &[u8]) -> usize {
    let at = rng.below(data.len() as u64 + 1) as usize;
    if rng.below(2) == 0 {
        return at;
    }
    let structural = |b: &u8| {
        matches!(
            b,
            b'{' | b'}' | b'[' | b']' | b'"' | b':' | b',' | b'\\' | b'\n' | b'\r'
        )
    };
    data.get(at..)
        .and_then(|rest| rest.iter().take(4096).position(structural))
        .map_or(at, |p| at + p)
}

/// One variant: 1 to 4 mutations of `data`, chosen by `rng`.
fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = position(rng, &v);
        match rng.below(6) {
            // Flip one bit.
            0 => {
                if let Some(b) = v.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            // Replace one byte by an interesting value.
            1 => {
                const BYTES: [u8; 12] = [
                    0, 0xff, b'"', b'\\', b'{', b'}', b'[', b']', b'\n', b'\r', b':', b',',
                ];
                if let Some(b) = v.get_mut(at) {
                    *b = BYTES[rng.below(BYTES.len() as u64) as usize];
                }
            }
            // Delete a range.
            2 => {
                let n = (1 + rng.below(64) as usize).min(v.len() - at.min(v.len()));
                v.drain(at..at + n);
            }
            // Duplicate a range in place.
            3 => {
                let n = (1 + rng.below(256) as usize).min(v.len() - at.min(v.len()));
                let copy = v[at..at + n].to_vec();
                v.splice(at..at, copy);
            }
            // Insert random bytes.
            4 => {
                let n = 1 + rng.below(16) as usize;
                let bytes: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
                v.splice(at..at, bytes);
            }
            // Truncate.
            _ => v.truncate(at.max(1)),
        }
    }
    v
}

/// Why a record is not well-formed, if it is not.
fn malformed(r: &Record) -> Option<String> {
    let json = match serde_json::to_string(r) {
        Ok(j) => j,
        Err(e) => return Some(format!("does not serialize: {e}")),
    };
    if serde_json::from_str::<serde_json::Value>(&json).is_err() {
        return Some("serializes to invalid JSON".into());
    }
    for v in [r.verdict, r.firefox_verdict, r.safari_verdict] {
        if !VERDICTS.contains(&v.as_str()) {
            return Some(format!("verdict {v:?}"));
        }
    }
    if chrono::DateTime::parse_from_rfc3339(&r.time).is_err() {
        return Some(format!("time {:?} is not RFC 3339", r.time));
    }
    if r.url.is_empty() {
        return Some("empty url".into());
    }
    None
}

/// Runs one variant on a worker thread: `Err` with what went wrong (panic, hang, bad record).
fn run_variant(bytes: Vec<u8>) -> Result<usize, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(move || {
            let input = match from_reader(Arc::from("variant"), Box::new(Cursor::new(bytes))) {
                Ok(i) => i,
                // Not recognisable any more (first bytes changed): a clean error is fine.
                Err(_) => return Ok(0),
            };
            let opts = Options {
                all: true,
                ..Options::default()
            };
            let mut bad = None;
            let mut n = 0;
            analyze_input(
                input,
                &opts,
                &mut |r| {
                    n += 1;
                    if bad.is_none() {
                        bad = malformed(&r).map(|why| format!("record {}: {why}", r.index));
                    }
                },
                InputReport::default(),
            );
            bad.map_or(Ok(n), Err)
        });
        let _ = tx.send(outcome.unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panic: {msg}"))
        }));
    });
    let start = Instant::now();
    match rx.recv_timeout(VARIANT_TIME_BOUND) {
        Ok(r) => r,
        // The worker is left behind; the test fails anyway.
        Err(_) => Err(format!("no result after {:?}", start.elapsed())),
    }
}

fn failure_path(sample: &str, i: u64) -> PathBuf {
    let dir = root().join("target/mutation-failures");
    let _ = std::fs::create_dir_all(&dir);
    let name = Path::new(sample)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    dir.join(format!("{name}.variant-{i}"))
}

/// Runs `variants` mutations of `sample`; fails with every bad variant's number and file.
fn mutation_test(sample: &str, variants: u64) {
    let data = load(sample);
    // The unmutated sample itself must pass too.
    let base = run_variant(data.clone()).unwrap_or_else(|e| panic!("{sample} itself: {e}"));
    assert!(base > 0, "{sample}: no records from the unmutated sample");
    let mut failures = Vec::new();
    let mut productive = 0;
    let seed = sample
        .bytes()
        .fold(0xC0FFEEu64, |h, b| h.rotate_left(5) ^ u64::from(b));
    for i in 0..variants {
        let mut rng = Rng::new(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let variant = mutate(&data, &mut rng);
        match run_variant(variant.clone()) {
            Ok(n) => productive += u64::from(n > 0),
            Err(why) => {
                let path = failure_path(sample, i);
                let _ = std::fs::write(&path, &variant);
                failures.push(format!("variant {i} ({}): {why}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{sample}:\n{}", failures.join("\n"));
    // Most variants still yield records: a harness that breaks every input early tests little.
    assert!(
        productive * 4 > variants,
        "{sample}: only {productive} of {variants} variants yield records"
    );
}

#[test]
fn har_cors_scenarios() {
    mutation_test("samples/cors-scenarios.devtools.har", 500);
}

#[test]
fn har_browsers_disagree() {
    mutation_test("samples/browsers-disagree.har", 300);
}

#[test]
fn har_playwright() {
    mutation_test("tests/data/chromium/playwright.har", 500);
}

#[test]
fn pcap_chromium() {
    mutation_test("tests/data/captures/chromium.pcap", 500);
}

#[test]
fn captures_selection() {
    for c in [
        "tests/data/captures/own-lo-ipv6.pcap",
        "tests/data/captures/own-dumpcap-2if.pcapng",
        "tests/data/captures/own-any-sll2.pcap.gz",
        "tests/data/captures/own-reordered.pcap",
        "tests/data/captures/zeek-http-pipelined-requests.pcap",
        "tests/data/captures/zeek-http-100-continue.pcap",
    ] {
        mutation_test(c, 300);
    }
}
