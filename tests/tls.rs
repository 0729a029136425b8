//! HTTPS captures: TLS 1.3 (secrets in a pcapng Decryption Secrets Block) and TLS 1.2 (an NSS
//! key log), both HTTP/2, decrypted by `read_capture`; every connection's exchanges (method,
//! path, status, in stream order) must equal what tshark decodes from the same file
//! (`tests/data/tls/*.tshark.txt`, written by `tshark_expected.py`, so no tshark is needed
//! here). Also: no keys means nothing decoded and the connections counted; a lost packet stops
//! that connection without a wrong exchange.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use corscope::capture::tls::KeyLog;
use corscope::capture::{read_capture, CaptureOptions};
use corscope::diag::{Diagnostics, WarnKind};
use corscope::model::Exchange;

#[path = "common/generated.rs"]
mod generated;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

struct Run {
    exchanges: Vec<Exchange>,
    diag: Diagnostics,
    tls: u64,
    before_capture: u64,
}

fn run(bytes: Vec<u8>, keylog: Option<&str>) -> Run {
    let keys = KeyLog::default();
    if let Some(k) = keylog {
        keys.add_text(&std::fs::read_to_string(data(k)).unwrap());
    }
    let opts = CaptureOptions {
        keylog: Arc::new(keys),
        ..CaptureOptions::default()
    };
    let mut exchanges = Vec::new();
    let mut diag = Diagnostics::new();
    let stats = read_capture(
        Box::new(Cursor::new(bytes)),
        Arc::from("t"),
        &opts,
        &mut |ex| exchanges.push(ex),
        &mut diag,
    )
    .unwrap();
    Run {
        exchanges,
        diag,
        tls: stats.tls_connections,
        before_capture: stats.before_capture,
    }
}

/// Per connection, the (method, path, status) of its streams in order; connections sorted.
type Convs = Vec<Vec<String>>;

fn ours(exchanges: &[Exchange]) -> Convs {
    let mut by: BTreeMap<u64, Vec<(u64, String)>> = BTreeMap::new();
    for ex in exchanges {
        let url = &ex.request.url;
        let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        let status = ex
            .response
            .as_ref()
            .map_or("-".to_string(), |r| r.status.to_string());
        by.entry(ex.connection.unwrap())
            .or_default()
            .push((ex.seq, format!("{} {path} {status}", ex.request.method)));
    }
    let mut v: Convs = by
        .into_values()
        .map(|mut c| {
            c.sort();
            c.into_iter().map(|(_, s)| s).collect()
        })
        .collect();
    v.sort();
    v
}

fn tshark(name: &str) -> Convs {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let mut by: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (port, stream) = (f[0].parse().unwrap(), f[1].parse().unwrap());
        by.entry(port).or_default().push((stream, f[2..].join(" ")));
    }
    let mut v: Convs = by
        .into_values()
        .map(|mut c| {
            c.sort();
            c.into_iter().map(|(_, s)| s).collect()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn tls13_dsb_exchanges_equal_tshark() {
    let r = run(std::fs::read(data("tls13-h2-dsb.pcapng")).unwrap(), None);
    let want = tshark("tls13-h2-dsb.tshark.txt");
    assert_eq!(want.iter().map(Vec::len).sum::<usize>(), 151);
    assert_eq!(ours(&r.exchanges), want);
    assert!(r
        .exchanges
        .iter()
        .all(|e| e.request.url.starts_with("https://")
            && e.request.http_version == corscope::model::HttpVersion::Http2
            && e.request.headers.iter().all(|(n, _)| !n.starts_with(b":"))));
    assert_eq!(r.diag.count(WarnKind::H2ProtocolError), 0);
    assert_eq!(r.diag.count(WarnKind::TlsDecryptFailed), 0);
}

#[test]
fn tls12_keylog_exchanges_equal_tshark() {
    let r = run(
        std::fs::read(data("tls12-h2.pcap")).unwrap(),
        Some("tls12-keylog.txt"),
    );
    assert_eq!(ours(&r.exchanges), tshark("tls12-h2.tshark.txt"));
    assert_eq!(r.diag.count(WarnKind::TlsDecryptFailed), 0);
}

#[test]
fn without_keys_nothing_is_decoded_and_all_is_counted() {
    let r = run(std::fs::read(data("tls12-h2.pcap")).unwrap(), None);
    assert!(r.exchanges.is_empty());
    assert!(r.tls > 0);
    assert_eq!(r.diag.count(WarnKind::TlsEncrypted), r.tls);
    // Every handshake is in the capture: a key log would open them all.
    assert_eq!(r.before_capture, 0);
}

/// A capture started late: the connections whose handshake went by before it are counted as
/// such (no key log opens them), the others are decrypted.
#[test]
fn connections_begun_before_the_capture_are_told_apart() {
    let whole = std::fs::read(data("tls12-h2.pcap")).unwrap();
    let recs = records(&whole);
    let (from, _) = recs[recs.len() / 3];
    let mut late = whole[..24].to_vec();
    late.extend_from_slice(&whole[from..]);
    let r = run(late, Some("tls12-keylog.txt"));
    // Four connections were under way; the later ones' sessions are not in this key log.
    assert_eq!((r.before_capture, r.tls), (4, 9), "{:?}", r.diag);
    assert!(!r.exchanges.is_empty());
}

/// Legacy pcap records as (offset, length) of each whole record.
fn records(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let incl = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        v.push((at, 16 + incl));
        at += 16 + incl;
    }
    v
}

#[test]
fn a_lost_packet_stops_its_connection_and_nothing_wrong_comes_out() {
    let whole = std::fs::read(data("tls12-h2.pcap")).unwrap();
    let recs = records(&whole);
    let all: Vec<String> = tshark("tls12-h2.tshark.txt").concat();
    // Drop single packets carrying data at several places.
    for k in [
        recs.len() / 5,
        recs.len() / 3,
        recs.len() / 2,
        2 * recs.len() / 3,
    ] {
        let (at, len) = recs[k];
        if len < 16 + 40 + 80 {
            continue;
        }
        let mut cut = whole[..at].to_vec();
        cut.extend_from_slice(&whole[at + len..]);
        let r = run(cut, Some("tls12-keylog.txt"));
        let got: Vec<String> = ours(&r.exchanges).concat();
        for g in &got {
            // An exchange cut off by the loss may lack its response, never have a wrong one.
            let ok = all.contains(g)
                || (g.ends_with(" -")
                    && all
                        .iter()
                        .any(|a| a.rsplit_once(' ').unwrap().0 == g.rsplit_once(' ').unwrap().0));
            assert!(ok, "packet {k} dropped: unexpected {g}");
        }
        assert!(got.len() <= all.len());
    }
}

/// The generator's HTTP/2-over-TLS 1.3 capture (`generate-pcap --tls-keylog`) decodes to every
/// request it wrote, with its key log; without it, to none.
#[test]
fn generated_tls_capture_decodes_completely() {
    let (bytes, counts, _) = generated::decoded_completely(corscope::synth::Wire::H2Tls);
    let r = generated::read(&bytes, "");
    assert_eq!(r.requests, 0);
    // Every connection that was opened (a session's second connection may stay unused).
    let encrypted = r.diag.count(WarnKind::TlsEncrypted);
    assert!(encrypted > 0 && encrypted <= counts.connections);
    assert_eq!(r.stats.tls_connections, encrypted);
}

/// Chromium's HTTP/2 connections show the credentials mode (`PrivacyMode` is in its session
/// key): on the TLS 1.3 and TLS 1.2 recordings every request fingerprints as Chromium over
/// HTTP/2 (pseudo-headers `:method :authority :scheme :path`), and each connection's class is
/// what it carried: a preflight and no `Cookie` uncredentialed, a `Cookie` and no preflight
/// credentialed, neither nothing (never both on these recordings).
#[test]
fn chromium_http2_connections_show_their_credentials_mode() {
    use corscope::cors::Browser;
    use corscope::fingerprint::{wire_engine, Wire};
    for (file, keylog) in [
        ("tls13-h2-dsb.pcapng", None),
        ("tls12-h2.pcap", Some("tls12-keylog.txt")),
    ] {
        let r = run(std::fs::read(data(file)).unwrap(), keylog);
        let mut by: BTreeMap<u64, Vec<&Exchange>> = BTreeMap::new();
        for ex in &r.exchanges {
            assert_eq!(
                wire_engine(&ex.request.headers, ex.evidence.pseudo_order.as_ref()),
                Some((Browser::Chromium, Wire::H2)),
                "{file}: {}",
                ex.request.url
            );
            by.entry(ex.connection.unwrap()).or_default().push(ex);
        }
        let mut classes = BTreeMap::new();
        for xs in by.values() {
            let preflight = xs.iter().any(|x| {
                x.request.method == "OPTIONS"
                    && x.request.headers.contains("access-control-request-method")
            });
            let cookie = xs.iter().any(|x| x.request.headers.contains("cookie"));
            assert!(!(preflight && cookie), "{file}: a connection mixes both");
            let want = match (preflight, cookie) {
                (true, false) => Some(false),
                (false, true) => Some(true),
                _ => None,
            };
            for x in xs {
                assert_eq!(
                    x.evidence.connection_credentials, want,
                    "{file}: {}",
                    x.request.url
                );
            }
            *classes.entry(want).or_insert(0) += xs.len();
        }
        // 151 requests on 9 connections: 133 on 3 preflight-carrying ones, 10 on 2 with a
        // Cookie.
        let counts: Vec<(Option<bool>, usize)> = classes.into_iter().collect();
        assert_eq!(
            counts,
            [(None, 8), (Some(false), 133), (Some(true), 10)],
            "{file}"
        );
    }
}
