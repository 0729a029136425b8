//! HTTP/3 over QUIC, decrypted with the browser's key log: Chromium 156's recordings against
//! an aioquic server (`tools/h3lab/`, `tests/data/quic/README.md`) give Chromium's own
//! outcomes and console messages, with `--jobs 1` and 2, from a key log file or secrets
//! embedded in the pcapng; disordered, duplicated and damaged copies of the captures keep
//! every verdict or say `unknown`, never another verdict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "common/generated.rs"]
mod generated;

const DIR: &str = "tests/data/quic";

/// (capture, key log or none when the capture embeds it, the browser's outcomes' file stem)
const RECORDINGS: [(&str, Option<&str>, &str); 3] = [
    (
        "chromium-h3.pcap",
        Some("chromium-h3.keylog.txt"),
        "chromium-h3",
    ),
    (
        "chromium-h3-retry-chacha.pcap",
        Some("chromium-h3-retry-chacha.keylog.txt"),
        "chromium-h3-retry-chacha",
    ),
    ("chromium-h3-aes256-dsb.pcapng", None, "chromium-h3-aes256"),
];

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR).join(name)
}

/// The records (NDJSON, `--all`) and stderr of one run.
fn analyze(capture: &Path, keylog: Option<&str>, jobs: &str) -> (Vec<Value>, String) {
    analyze_with(capture, keylog, jobs, &[])
}

/// [`analyze`] with more options.
fn analyze_with(
    capture: &Path,
    keylog: Option<&str>,
    jobs: &str,
    extra: &[&str],
) -> (Vec<Value>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_corscope"));
    cmd.args([
        "analyze", "--format", "ndjson", "--all", "-v", "--jobs", jobs,
    ]);
    cmd.args(extra).arg(capture);
    if let Some(k) = keylog {
        cmd.arg("--keylog").arg(path(k));
    }
    let out = cmd.output().expect("corscope runs");
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record per line"))
        .collect();
    (records, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The scenario a record belongs to (`/s/<id>/r`).
fn scenario(r: &Value) -> Option<String> {
    let url = r["url"].as_str()?;
    let rest = url.split("/s/").nth(1)?;
    Some(rest.split('/').next()?.to_string())
}

/// (scenario, method) → (verdict, reason, status) of every scenario record.
fn outcomes(records: &[Value]) -> BTreeMap<(String, String), (Value, Value, Value)> {
    records
        .iter()
        .filter_map(|r| {
            let key = (scenario(r)?, r["method"].as_str()?.to_string());
            Some((
                key,
                (
                    r["verdict"].clone(),
                    r["reason"].clone(),
                    r["status"].clone(),
                ),
            ))
        })
        .collect()
}

#[test]
fn records_are_chromiums_outcomes_and_messages() {
    for (capture, keylog, stem) in RECORDINGS {
        let results: BTreeMap<String, String> = serde_json::from_str(
            &std::fs::read_to_string(path(&format!("{stem}.results.json"))).expect("results"),
        )
        .expect("results JSON");
        let console =
            std::fs::read_to_string(path(&format!("{stem}.console.txt"))).expect("console lines");
        let (records, stderr) = analyze(&path(capture), keylog, "1");
        assert!(!stderr.contains("warning"), "{capture}: {stderr}");
        assert_eq!(
            analyze(&path(capture), keylog, "2").0,
            records,
            "{capture}: --jobs 2"
        );
        assert_eq!(results.len(), 14, "{stem}");
        for (id, outcome) in &results {
            let r = records
                .iter()
                .find(|r| scenario(r).as_deref() == Some(id.as_str()))
                .unwrap_or_else(|| panic!("{capture}: no record of {id}"));
            let verdict = r["verdict"].as_str().unwrap_or("");
            match outcome.as_str() {
                "allowed" => assert_eq!(verdict, "allowed", "{capture} {id}"),
                // A no-cors fetch is sent without Origin: not a CORS request.
                "opaque" => assert_eq!(verdict, "not-cors", "{capture} {id}"),
                "blocked" if verdict == "unknown" => {
                    // Only where the wire cannot tell: the credentials mode of a request
                    // that carried no cookie.
                    let note = r["note"].as_str().unwrap_or("");
                    assert!(
                        note.starts_with("the credentials mode is not visible"),
                        "{capture} {id}: {note}"
                    );
                }
                "blocked" => {
                    assert_eq!(verdict, "blocked", "{capture} {id}");
                    let message = r["message"].as_str().unwrap_or("");
                    assert!(
                        console.lines().any(|l| l == message),
                        "{capture} {id}: message not Chromium's: {message}"
                    );
                }
                other => panic!("{stem}: outcome {other}"),
            }
            assert_eq!(
                r["location"].as_str().map(|l| l.contains(" stream ")),
                Some(true)
            );
        }
        let blocked = results.values().filter(|o| *o == "blocked").count();
        let unknown = records.iter().filter(|r| r["verdict"] == "unknown").count();
        assert_eq!((blocked, unknown), (6, 1), "{capture}");
    }
}

/// The header and records of a classic pcap (little-endian, as tcpdump writes).
fn split(bytes: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let (head, mut rest) = bytes.split_at(24);
    let mut records = Vec::new();
    while rest.len() >= 16 {
        let incl = u32::from_le_bytes(rest[8..12].try_into().expect("four bytes")) as usize;
        let (rec, tail) = rest.split_at(16 + incl);
        records.push(rec);
        rest = tail;
    }
    (head, records)
}

/// The capture with its records rearranged by `f`.
fn rewrite(bytes: &[u8], f: impl FnOnce(Vec<&[u8]>) -> Vec<&[u8]>) -> Vec<u8> {
    let (head, records) = split(bytes);
    let mut out = head.to_vec();
    for r in f(records) {
        out.extend_from_slice(r);
    }
    out
}

/// A deterministic shuffle of each window of `n` records.
fn shuffled(mut v: Vec<&[u8]>, n: usize) -> Vec<&[u8]> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for w in v.chunks_mut(n) {
        for i in (1..w.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    v
}

type Mutation = (&'static str, fn(Vec<&[u8]>) -> Vec<&[u8]>);

const MUTATIONS: [Mutation; 5] = [
    ("adjacent pairs swapped", |mut v| {
        for p in v.chunks_mut(2) {
            p.reverse();
        }
        v
    }),
    ("every third record twice", |v| {
        v.iter()
            .enumerate()
            .flat_map(|(i, r)| std::iter::repeat_n(*r, if i % 3 == 0 { 2 } else { 1 }))
            .collect()
    }),
    ("windows of five reversed", |mut v| {
        for w in v.chunks_mut(5) {
            w.reverse();
        }
        v
    }),
    ("windows of eight shuffled", |v| shuffled(v, 8)),
    ("windows of sixteen shuffled", |v| shuffled(v, 16)),
];

#[test]
fn disordered_and_duplicated_copies_give_the_same_records() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quic-mutations");
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    for (capture, keylog, _) in RECORDINGS.iter().filter(|r| r.1.is_some()) {
        let bytes = std::fs::read(path(capture)).expect("capture");
        let (base, _) = analyze(&path(capture), *keylog, "1");
        let base = outcomes(&base);
        for (what, f) in MUTATIONS {
            let copy = tmp.join(format!("{capture}-{}.pcap", what.replace(' ', "-")));
            std::fs::write(&copy, rewrite(&bytes, f)).expect("write copy");
            for jobs in ["1", "2"] {
                let (records, stderr) = analyze(&copy, *keylog, jobs);
                assert!(
                    outcomes(&records) == base,
                    "{capture}, {what}, --jobs {jobs}: records differ\n{stderr}"
                );
                assert!(!stderr.contains("quic-"), "{capture}, {what}: {stderr}");
            }
        }
    }
}

/// A lost packet costs what it carried, said so: no verdict changes to another.
#[test]
fn lost_packets_make_unknowns_not_other_verdicts() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quic-losses");
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    let (capture, keylog) = ("chromium-h3.pcap", Some("chromium-h3.keylog.txt"));
    let bytes = std::fs::read(path(capture)).expect("capture");
    let (base, _) = analyze(&path(capture), keylog, "1");
    let base = outcomes(&base);
    let mut warned = 0;
    let count = split(&bytes).1.len();
    for drop in 0..count {
        let copy = tmp.join(format!("drop{drop}.pcap"));
        std::fs::write(
            &copy,
            rewrite(&bytes, |mut v| {
                v.remove(drop);
                v
            }),
        )
        .expect("write copy");
        let (records, stderr) = analyze(&copy, keylog, "1");
        let got = outcomes(&records);
        for (key, (verdict, reason, _)) in &got {
            if verdict == "unknown" || verdict == "not-cors" {
                continue;
            }
            let Some((v, r, _)) = base.get(key) else {
                panic!("drop {drop}: {key:?} not in the whole capture's records");
            };
            assert_eq!((v, r), (verdict, reason), "drop {drop}: {key:?}\n{stderr}");
        }
        if got != base {
            warned += 1;
            assert!(stderr.contains("warning"), "drop {drop}: changed silently");
        }
    }
    // Some packets carried what a record needs (a request, a response, table inserts).
    assert!(warned > 0);
}

/// At the live-connection cap the oldest QUIC connection is flushed, said so: what it had read
/// keeps its verdict, what it had not is `unknown` or missing, never another verdict.
#[test]
fn evicted_connections_keep_their_verdicts_or_say_unknown() {
    let (capture, keylog) = ("chromium-h3.pcap", Some("chromium-h3.keylog.txt"));
    let (base, _) = analyze(&path(capture), keylog, "1");
    let base = outcomes(&base);
    for jobs in ["1", "2"] {
        let (records, stderr) =
            analyze_with(&path(capture), keylog, jobs, &["--max-connections", "1"]);
        assert!(
            stderr.contains("limit-live-connections")
                && stderr.contains("): QUIC connection 1 flushed"),
            "--jobs {jobs}: {stderr}"
        );
        let got = outcomes(&records);
        let mut kept = 0;
        for (key, (verdict, reason, _)) in &got {
            if verdict == "unknown" {
                continue;
            }
            assert_eq!(
                base.get(key).map(|(v, r, _)| (v, r)),
                Some((verdict, reason)),
                "--jobs {jobs}: {key:?}"
            );
            kept += 1;
        }
        // What was read before the evictions (each worker has its own cap, so how much
        // depends on the sharding).
        assert!(kept > 0, "--jobs {jobs}: nothing kept");
    }
}

/// Firefox ESR 153 over HTTP/3 (`tools/h3lab/run-firefox.sh`): no verdict but Firefox's,
/// its console message for every blocked one corscope decides, `unknown` only where the
/// credentials mode is not visible (Firefox shares one connection between credentialed and
/// anonymous requests, so the connection does not tell it, as over HTTP/2).
#[test]
fn firefox_records_are_firefoxs_outcomes_or_unknown() {
    let results: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(path("firefox-h3.results.json")).expect("results"),
    )
    .expect("results JSON");
    let console = std::fs::read_to_string(path("firefox-h3.console.txt")).expect("console");
    let (records, stderr) = analyze(&path("firefox-h3.pcap"), Some("firefox-h3.keylog.txt"), "1");
    assert!(!stderr.contains("warning"), "{stderr}");
    let mut decided = 0;
    for (id, outcome) in &results {
        let r = records
            .iter()
            .find(|r| scenario(r).as_deref() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("no record of {id}"));
        let verdict = r["firefox_verdict"].as_str().unwrap_or("");
        let want = if outcome == "opaque" {
            "not-cors"
        } else {
            outcome.as_str()
        };
        if verdict == "unknown" {
            let note = r["note"].as_str().unwrap_or("");
            assert!(
                note.starts_with("the credentials mode is not visible"),
                "{id}: {note}"
            );
            continue;
        }
        decided += 1;
        assert_eq!(verdict, want, "{id}");
        if verdict == "blocked" {
            let message = r["firefox_message"].as_str().unwrap_or("");
            assert!(console.lines().any(|l| l == message), "{id}: {message}");
        }
    }
    // The five decided blocks, the preflighted and credentialed successes, no-cors.
    assert_eq!(decided, 9);
}

#[test]
fn without_keys_each_connection_is_counted_and_hinted() {
    let (records, stderr) = analyze(&path("chromium-h3.pcap"), None, "1");
    assert!(records.iter().all(|r| scenario(r).is_none()), "{records:?}");
    assert!(stderr.contains("3 × quic-not-analysed"), "{stderr}");
    assert!(
        stderr.contains("not decrypted: no key for this session in the key log"),
        "{stderr}"
    );
}

#[test]
fn the_table_says_what_would_decrypt_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(["--format", "table", "--width", "200", "--color", "never"])
        .arg(path("chromium-h3.pcap"))
        .output()
        .expect("corscope runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3 QUIC (HTTP/3) connection(s) encrypted, not decrypted (give the browser's SSLKEYLOGFILE with `--keylog FILE`"),
        "{text}"
    );
}

/// A pcap record (Ethernet, IPv4, UDP) with its UDP ports mapped by `ports` (from, to) and its
/// time `secs` later; the UDP checksum is zeroed (optional over IPv4).
fn moved(record: &[u8], ports: &[(u16, u16)], secs: u32) -> Vec<u8> {
    let mut r = record.to_vec();
    let t = u32::from_le_bytes(r[..4].try_into().expect("four bytes")) + secs;
    r[..4].copy_from_slice(&t.to_le_bytes());
    let udp = 16 + 14 + usize::from(r[16 + 14] & 0x0f) * 4;
    for at in [udp, udp + 2] {
        let port = u16::from_be_bytes([r[at], r[at + 1]]);
        if let Some((_, to)) = ports.iter().find(|(from, _)| *from == port) {
            r[at..at + 2].copy_from_slice(&to.to_be_bytes());
        }
    }
    r[udp + 6..udp + 8].fill(0);
    r
}

/// The (method, URL, verdict, reason, status) of every record, sorted.
fn summary(records: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}",
                r["method"], r["url"], r["verdict"], r["reason"], r["status"]
            )
        })
        .collect();
    v.sort();
    v
}

/// Two recordings, the second a second later on the first's client ports (each reused after
/// its connection closed, within the idle timeout): each new Initial starts a new connection,
/// and the records are those of the two recordings read apart.
#[test]
fn a_client_port_reused_after_close_is_a_new_connection() {
    let first = std::fs::read(path("chromium-h3.pcap")).expect("capture");
    let second = std::fs::read(path("chromium-h3-retry-chacha.pcap")).expect("capture");
    let (head, a) = split(&first);
    let (_, b) = split(&second);
    let first_end = u32::from_le_bytes(a[a.len() - 1][..4].try_into().expect("four bytes"));
    let second_start = u32::from_le_bytes(b[0][..4].try_into().expect("four bytes"));
    let shift = first_end + 1 - second_start;
    let ports = [(37754, 43700), (60787, 58202), (40100, 50981)];
    let mut both = head.to_vec();
    for r in &a {
        both.extend_from_slice(r);
    }
    for r in &b {
        both.extend_from_slice(&moved(r, &ports, shift));
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quic-reused.pcap");
    std::fs::write(&tmp, both).expect("write copy");
    let keylog = path("chromium-h3-retry-chacha.keylog.txt");
    let (alone_a, _) = analyze(
        &path("chromium-h3.pcap"),
        Some("chromium-h3.keylog.txt"),
        "1",
    );
    let (alone_b, _) = analyze(
        &path("chromium-h3-retry-chacha.pcap"),
        Some("chromium-h3-retry-chacha.keylog.txt"),
        "1",
    );
    let mut want = summary(&alone_a);
    want.extend(summary(&alone_b));
    want.sort();
    for jobs in ["1", "2"] {
        let (records, stderr) = analyze_with(
            &tmp,
            Some("chromium-h3.keylog.txt"),
            jobs,
            &["--keylog", &keylog.to_string_lossy()],
        );
        assert!(summary(&records) == want, "--jobs {jobs}\n{stderr}");
        assert!(!stderr.contains("quic-"), "--jobs {jobs}: {stderr}");
    }
}

/// A capture begun after the connections were opened (the port moved to 443, where a short
/// header alone is taken for QUIC): each connection is counted, and the table says a key log
/// cannot help.
#[test]
fn connections_begun_before_the_capture_are_named_so() {
    let bytes = std::fs::read(path("chromium-h3.pcap")).expect("capture");
    let (head, records) = split(&bytes);
    let mut late = head.to_vec();
    for r in &records[60..] {
        late.extend_from_slice(&moved(r, &[(4433, 443)], 0));
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quic-late.pcap");
    std::fs::write(&tmp, late).expect("write copy");
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args([
            "--format", "table", "--width", "400", "--color", "never", "-v",
        ])
        .arg(&tmp)
        .arg("--keylog")
        .arg(path("chromium-h3.keylog.txt"))
        .output()
        .expect("corscope runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3 QUIC (HTTP/3) connection(s) encrypted, not decrypted (they all began before the capture, so no key log can open them"),
        "{text}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not decrypted: its handshake (the client's first Initial packet) is not in the capture"),
        "{stderr}"
    );
}

/// Firefox's default UDP segmentation offload: a capture on the sending host records each
/// batch of equal-sized datagrams as one (up to 12.5 kB here); split again, the recording
/// gives the same Firefox verdicts as the one made without it.
#[test]
fn gso_batches_read_as_their_datagrams() {
    let verdicts = |capture: &str, keylog: &str| -> BTreeMap<String, (Value, Value)> {
        analyze(&path(capture), Some(keylog), "1")
            .0
            .iter()
            .filter_map(|r| {
                Some((
                    scenario(r)?,
                    (r["firefox_verdict"].clone(), r["firefox_reason"].clone()),
                ))
            })
            .collect()
    };
    let plain = verdicts("firefox-h3.pcap", "firefox-h3.keylog.txt");
    let gso = verdicts("firefox-h3-gso.pcap", "firefox-h3-gso.keylog.txt");
    assert_eq!(plain.len(), 14);
    assert!(gso == plain, "{gso:?}");
    for jobs in ["1", "2"] {
        let (_, stderr) = analyze(
            &path("firefox-h3-gso.pcap"),
            Some("firefox-h3-gso.keylog.txt"),
            jobs,
        );
        assert!(!stderr.contains("warning"), "{stderr}");
    }
}

/// The generator's HTTP/3 capture (`generate-pcap --quic-keylog`: QUIC v1, 1-RTT packets of
/// up to 1,250 bytes, acknowledgments, control streams, QPACK literals) decodes to every
/// request it wrote, each answered, with no warning, and alike at 1 and 2 workers; without the
/// key log every connection is counted and nothing is read.
#[test]
fn generated_http3_capture_decodes_completely() {
    use corscope::diag::WarnKind;
    let (bytes, counts, r) = generated::decoded_completely(corscope::synth::Wire::H3Quic);
    assert_eq!(r.stats.quic_encrypted, 0);
    let r = generated::read(&bytes, "");
    assert_eq!(r.requests, 0);
    // Every connection that was opened (a session's second one may stay unused).
    let encrypted = r.stats.quic_encrypted;
    assert!(encrypted > 0 && encrypted <= counts.connections);
    assert_eq!(r.diag.count(WarnKind::QuicNotAnalysed), encrypted);

    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (capture, keylog) = (tmp.join("gen-h3.pcap"), tmp.join("gen-h3.keylog.txt"));
    std::fs::write(&capture, &bytes).expect("write capture");
    std::fs::write(&keylog, &counts.keylog).expect("write key log");
    let keylog = keylog.to_string_lossy().into_owned();
    let (one, stderr) = analyze_with(&capture, None, "1", &["--keylog", &keylog]);
    assert!(!stderr.contains("warning"), "{stderr}");
    let (two, _) = analyze_with(&capture, None, "2", &["--keylog", &keylog]);
    assert!(one == two, "--jobs 1 and 2 differ");
    assert!(!one.is_empty());
}
