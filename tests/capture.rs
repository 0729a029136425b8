//! Runs `corscope::capture::read_capture` on every capture in `tests/data/captures/` and checks
//! the number of HTTP requests against `tests/data/captures/expected.json` (counts from tshark,
//! with corscope's own number and the reason where the two rightly differ; see the README
//! there).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use corscope::capture::{read_capture, CaptureOptions};
use corscope::diag::{Diagnostics, WarnKind};
use corscope::model::Exchange;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/captures")
}

struct Run {
    exchanges: Vec<Exchange>,
    diag: Diagnostics,
    error: Option<String>,
    tls: u64,
}

fn run(path: &Path) -> Run {
    let file = File::open(path).unwrap();
    // Through the input layer, which decompresses what its first bytes say (gzip, zstd, LZ4).
    let name = Arc::from(path.file_name().unwrap().to_string_lossy().as_ref());
    let input = corscope::input::from_reader(name, Box::new(file)).unwrap();
    let mut exchanges = Vec::new();
    let mut diag = Diagnostics::new();
    let res = read_capture(
        input.reader,
        input.name,
        &CaptureOptions::default(),
        &mut |ex| exchanges.push(ex),
        &mut diag,
    );
    let (error, tls) = match res {
        Ok(stats) => (None, stats.tls_connections),
        Err(e) => (Some(e.to_string()), 0),
    };
    Run {
        exchanges,
        diag,
        error,
        tls,
    }
}

fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            [
                ".pcap",
                ".pcapng",
                ".pcap.gz",
                ".pcap.zst",
                ".pcap.lz4",
                ".pcap.zip",
                "-rotated.zip",
                "-rotated.tgz",
            ]
            .iter()
            .any(|ext| n.ends_with(ext))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn request_counts_match_expected() {
    let expected: BTreeMap<String, serde_json::Value> =
        serde_json::from_reader(File::open(dir().join("expected.json")).expect("expected.json"))
            .unwrap();
    let files = expected
        .get("files")
        .and_then(|f| f.as_object())
        .expect("files object");
    let mut failures = Vec::new();
    let mut seen = 0;
    for path in captures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let r = run(&path);
        let got = r.exchanges.len() as u64;
        let Some(e) = files.get(&name) else {
            failures.push(format!("{name}: not in expected.json (corscope: {got})"));
            continue;
        };
        seen += 1;
        let want = e
            .get("corscope")
            .or_else(|| e.get("tshark"))
            .and_then(|v| v.as_u64())
            .unwrap();
        if got != want {
            failures.push(format!(
                "{name}: corscope {got}, expected {want}; error {:?}; diag {:?}",
                r.error,
                r.diag.counts().collect::<Vec<_>>()
            ));
        }
        let want_err = e.get("error").and_then(|v| v.as_str());
        match (want_err, &r.error) {
            (None, Some(err)) => failures.push(format!("{name}: unexpected error {err}")),
            (Some(w), Some(err)) if !err.contains(w) => {
                failures.push(format!("{name}: error {err:?} does not contain {w:?}"))
            }
            (Some(w), None) => failures.push(format!("{name}: expected error {w:?}")),
            _ => {}
        }
        if let Some(tls) = e.get("tls_connections").and_then(|v| v.as_u64()) {
            if tls != r.tls {
                failures.push(format!("{name}: {} TLS connections, expected {tls}", r.tls));
            }
        }
    }
    assert!(seen > 0, "no captures found");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every exchange is well formed: capture flavour, a connection, a client, an http URL, and
/// per connection the requests come out in order.
#[test]
fn exchanges_are_well_formed_and_ordered() {
    for path in captures() {
        let r = run(&path);
        let mut last_per_conn: BTreeMap<u64, (i64, u64)> = BTreeMap::new();
        for ex in &r.exchanges {
            assert_eq!(ex.flavour, corscope::model::Flavour::Capture);
            // Absolute-form targets are kept as sent (`HTTP://bro.org/` in one trace).
            assert!(
                ex.request.url.to_ascii_lowercase().starts_with("http"),
                "{}",
                ex.request.url
            );
            assert!(!ex.client.is_empty());
            assert!(ex.evidence.server_ip.is_some());
            let conn = ex.connection.unwrap();
            if let Some(prev) = last_per_conn.insert(conn, (ex.time, ex.seq)) {
                assert!(
                    prev.1 < ex.seq,
                    "{}: seq order in connection {conn}",
                    path.display()
                );
            }
        }
    }
}

/// The Chromium capture: every request of the server log, with its response.
#[test]
fn chromium_capture_matches_server_log() {
    let r = run(&dir().join("chromium.pcap"));
    assert_eq!(r.exchanges.len(), 151);
    assert!(r.exchanges.iter().all(|e| e.response.is_some()));
    let purge = r
        .exchanges
        .iter()
        .filter(|e| e.request.method == "PURGE")
        .count();
    assert_eq!(purge, 1);
    let options = r
        .exchanges
        .iter()
        .filter(|e| e.request.method == "OPTIONS")
        .count();
    assert_eq!(options, 61);
    for ex in &r.exchanges {
        assert_eq!(&*ex.client, "127.0.0.1");
        assert!(ex.request.url.starts_with("http://"), "{}", ex.request.url);
        assert!(ex.timings.wait_ms.is_some());
    }
    // Time order across connections.
    for w in r.exchanges.windows(2) {
        assert!((w[0].time, w[0].seq) <= (w[1].time, w[1].seq));
    }
}

/// Prints a table of counts (run with `--ignored --nocapture` to refresh expected.json).
#[test]
#[ignore]
fn print_counts() {
    for path in captures() {
        let r = run(&path);
        let with_resp = r.exchanges.iter().filter(|e| e.response.is_some()).count();
        println!(
            "{}\t{}\t{}\t{:?}\t{:?}",
            path.file_name().unwrap().to_string_lossy(),
            r.exchanges.len(),
            with_resp,
            r.error,
            r.diag.counts().collect::<Vec<_>>()
        );
    }
}

/// Prints diagnostics details for one capture (`CAPTURE=name`).
#[test]
#[ignore]
fn print_details() {
    let name = std::env::var("CAPTURE").unwrap_or_default();
    let r = run(&dir().join(&name));
    for (k, n) in r.diag.counts() {
        println!("{k} {n}");
        for d in r.diag.details(k) {
            println!("   {d}");
        }
    }
    for ex in &r.exchanges {
        println!(
            "#{} conn {:?} {} {} {} -> {:?} {:?}",
            ex.seq,
            ex.connection,
            ex.loc.position,
            ex.request.method,
            ex.request.url,
            ex.response.as_ref().map(|r| r.status),
            ex.timings.wait_ms
        );
    }
}

/// (method, path, status, response header names) of each exchange: what must not depend on
/// the link type, the capture tool or the packet order.
fn shape(r: &Run) -> Vec<(String, String, Option<u16>, Vec<String>)> {
    let mut v: Vec<_> = r
        .exchanges
        .iter()
        .map(|e| {
            let path = e
                .request
                .url
                .splitn(4, '/')
                .nth(3)
                .unwrap_or("")
                .to_string();
            let resp = e.response.as_ref();
            (
                e.request.method.clone(),
                path,
                resp.map(|r| r.status),
                resp.map(|r| {
                    r.headers
                        .iter()
                        .map(|(n, _)| String::from_utf8_lossy(n).to_lowercase())
                        .filter(|n| n != "date")
                        .collect()
                })
                .unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The same client session captured on every link type and by every tool, and rewritten
/// (VLAN, QinQ, reordered and duplicated segments), gives the same exchanges.
#[test]
fn own_captures_agree_across_link_types_tools_and_order() {
    let base = run(&dir().join("own-lo-ipv4.pcap"));
    let want = shape(&base);
    let statuses: Vec<_> = want
        .iter()
        .map(|w| (w.0.as_str(), w.1.as_str(), w.2))
        .collect();
    assert_eq!(
        statuses,
        [
            ("GET", "a", Some(200)),
            ("GET", "chunked", Some(200)),
            ("GET", "close", Some(200)),
            ("GET", "empty", Some(204)),
            ("HEAD", "head", Some(200)),
            ("OPTIONS", "api", Some(204)),
            ("POST", "post", Some(200)),
            ("PUT", "put", Some(200)),
        ]
    );
    for name in [
        "own-lo-ipv6.pcap",
        "own-any-sll.pcap",
        "own-any-sll2.pcap.gz",
        "own-dumpcap-2if.pcapng",
        "own-vlan.pcap",
        "own-qinq.pcap",
        "own-reordered.pcap",
        "own-ts-backwards.pcap",
        "own-before-handshake.pcap",
    ] {
        let r = run(&dir().join(name));
        assert!(r.error.is_none(), "{name}: {:?}", r.error);
        assert_eq!(shape(&r), want, "{name}");
        let client = if name.contains("ipv6") {
            "::1"
        } else {
            "127.0.0.1"
        };
        assert!(r.exchanges.iter().all(|e| &*e.client == client), "{name}");
    }
    // The PUT's wait is from its body's last byte, after the interim 100 Continue.
    let put = base
        .exchanges
        .iter()
        .find(|e| e.request.method == "PUT")
        .unwrap();
    assert!(put.timings.wait_ms.unwrap() < 50.0);
}

/// One response head was not captured: that request has no response and every later
/// request is still paired with its own response.
#[test]
fn dropped_response_is_not_shifted_onto_later_requests() {
    let r = run(&dir().join("zeek-http-1000-requests-one-dropped-response.pcap.gz"));
    assert_eq!(r.exchanges.len(), 1000);
    assert!(r.exchanges[0].response.is_none());
    assert!(r.exchanges[1..].iter().all(|e| e.response.is_some()));
    assert_eq!(r.diag.count(WarnKind::HttpResponseLost), 1);
}

/// Data before the handshake waits for the SYN: the connection is read from its start, not
/// resynchronised as one that began before the capture.
#[test]
fn data_before_the_handshake_waits_for_it() {
    let r = run(&dir().join("own-before-handshake.pcap"));
    assert_eq!(r.diag.count(WarnKind::TcpMidStream), 0);
    assert_eq!(r.diag.count(WarnKind::HttpGarbage), 0);
}

/// Runs the binary on `path` and returns its records (ndjson, `--all`).
fn records(path: &Path) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(["analyze", "--all", "--format", "ndjson", "--exit-zero"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The classic pcap's records (header, then (timestamp µs, bytes) per packet).
fn pcap_records(bytes: &[u8]) -> (Vec<u8>, Vec<(u64, Vec<u8>)>) {
    let u32le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let (hdr, mut rest) = bytes.split_at(24);
    assert_eq!(u32le(hdr), 0xa1b2_c3d4, "little-endian microsecond pcap");
    let mut recs = Vec::new();
    while rest.len() >= 16 {
        let ts = u64::from(u32le(&rest[0..])) * 1_000_000 + u64::from(u32le(&rest[4..]));
        let cap = u32le(&rest[8..]) as usize;
        recs.push((ts, rest[16..16 + cap].to_vec()));
        rest = &rest[16 + cap..];
    }
    (hdr.to_vec(), recs)
}

fn pcap_bytes(hdr: &[u8], recs: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut v = hdr.to_vec();
    for (ts, data) in recs {
        for x in [
            (ts / 1_000_000) as u32,
            (ts % 1_000_000) as u32,
            data.len() as u32,
            data.len() as u32,
        ] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
    }
    v
}

/// A recorded browser session with its packets shuffled in windows (timestamps kept, so they
/// go backwards) and a share of the data segments duplicated, as a merge of interfaces, a
/// SPAN port or a multi-queue NIC delivers it: the records are those of the capture in order.
#[test]
fn shuffled_and_duplicated_recording_gives_the_same_records() {
    // WebKit's recording ends connections with RSTs, which shuffling can put before the last
    // data.
    for name in ["chromium.pcap", "webkit.pcap"] {
        shuffled_and_duplicated(&dir().join(name));
    }
}

fn shuffled_and_duplicated(path: &Path) {
    let (hdr, recs) = pcap_records(&std::fs::read(path).unwrap());
    // Location names the packet (which moves), index the record: everything else must match.
    let strip = |v: Vec<serde_json::Value>| {
        let mut v: Vec<String> = v
            .into_iter()
            .map(|mut r| {
                let o = r.as_object_mut().unwrap();
                for k in ["location", "index", "source"] {
                    o.remove(k);
                }
                r.to_string()
            })
            .collect();
        v.sort();
        v
    };
    let want = strip(records(path));
    assert!(want.len() > 100);
    let tmp = std::env::temp_dir().join(format!("corscope-shuffle-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for (seed, window, dup_every) in [(1u64, 4usize, 20usize), (7, 4, 10), (42, 8, 20)] {
        let mut rnd = seed;
        let mut next = move || {
            rnd ^= rnd << 13;
            rnd ^= rnd >> 7;
            rnd ^= rnd << 17;
            rnd
        };
        let mut out = Vec::new();
        for chunk in recs.chunks(window) {
            let mut c: Vec<_> = chunk.to_vec();
            for i in (1..c.len()).rev() {
                c.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            for r in c {
                // Ethernet + IPv4 + TCP headers are 54 bytes here: longer frames carry data.
                let dup = r.1.len() > 54 && next() % dup_every as u64 == 0;
                out.push(r.clone());
                if dup {
                    out.push(r);
                }
            }
        }
        let file = tmp.join(format!(
            "shuffled-{seed}-{}",
            path.display().to_string().replace('/', "_")
        ));
        std::fs::write(&file, pcap_bytes(&hdr, &out)).unwrap();
        let got = strip(records(&file));
        assert_eq!(
            got,
            want,
            "{}: seed {seed}, window {window}",
            path.display()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A WebSocket handshake is not CORS (no block, no fix), and what follows the 101 is frames,
/// not HTTP, even when the frames read like HTTP messages.
#[test]
fn websocket_handshake_is_not_cors_and_frames_are_not_http() {
    let path = dir().join("own-websocket.pcap");
    let r = run(&path);
    let got: Vec<_> = r
        .exchanges
        .iter()
        .map(|e| {
            (
                e.request.url.as_str(),
                e.response.as_ref().map(|r| r.status),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("http://api.test:8081/chat", Some(101)),
            ("http://api.test:8081/data", Some(200))
        ]
    );
    assert_eq!(r.diag.count(WarnKind::HttpGarbage), 0);
    let recs = records(&path);
    assert_eq!(recs[0]["verdict"], "not-cors");
    assert!(recs[0]["note"].as_str().unwrap().contains("WebSocket"));
    assert!(recs[0]["fix"].is_null());
}

/// Behind a proxy: the browsers' addresses are the clients, the URL is what the browser asked
/// for, and the proxy's headers are not taken for the page's (which would make the PATCH fail
/// its preflight and the GET need one).
#[test]
fn proxied_requests_are_judged_as_the_browser_sent_them() {
    let path = dir().join("own-backend.pcap");
    let r = run(&path);
    let got: Vec<_> = r
        .exchanges
        .iter()
        .map(|e| {
            (
                e.request.method.as_str(),
                e.request.url.as_str(),
                &*e.client,
                e.evidence.via_proxy.as_deref(),
            )
        })
        .collect();
    let via = Some("10.0.0.9:40000");
    assert_eq!(
        got,
        [
            ("OPTIONS", "https://api.example/items/1", "203.0.113.5", via),
            ("PATCH", "https://api.example/items/1", "203.0.113.5", via),
            ("GET", "https://api.example/items", "198.51.100.77", via),
        ]
    );
    for e in &r.exchanges {
        assert!(!e.request.headers.contains("x-forwarded-for"));
        assert!(!e.request.headers.contains("x-request-id"));
        assert!(e.evidence.proxy_headers.contains("x-forwarded-proto"));
        // The proxy's pool mixes browsers: its connection says nothing about credentials.
        assert_eq!(e.evidence.connection_credentials, None);
    }
    let recs = records(&path);
    let verdicts: Vec<_> = recs
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    // The GET is answered with `*`: allowed without credentials, blocked with them, and a
    // proxied request's connection cannot tell which.
    assert_eq!(verdicts, [("PATCH", "allowed"), ("GET", "unknown")]);
}

/// Chromium and Firefox keep credentialed and uncredentialed requests on separate
/// connections: on their recordings a request that shared its connection with a preflight is
/// read as uncredentialed (and says so); WebKit mixes them, so its recording stays undecided.
#[test]
fn credentials_mode_is_read_from_the_connection_for_chromium_and_gecko_only() {
    for (capture, want) in [
        ("chromium.pcap", Some("omit")),
        ("firefox.pcap", Some("omit")),
        ("webkit.pcap", None),
    ] {
        let recs = records(&dir().join(capture));
        let r = recs
            .iter()
            .find(|r| {
                r["url"]
                    .as_str()
                    .unwrap()
                    .contains("/s/d-simple-get-exact-acao/")
            })
            .unwrap();
        let note = r["note"].as_str().unwrap_or("");
        match want {
            Some(mode) => {
                assert_eq!(r["credentials"], mode, "{capture}");
                assert_eq!(r["verdict"], "allowed", "{capture}");
                assert!(
                    note.contains("read from the connection"),
                    "{capture}: {note}"
                );
            }
            None => {
                assert_eq!(r["verdict"], "unknown", "{capture}");
                assert!(!note.contains("read from the connection"), "{capture}");
            }
        }
        // Never "credentialed" from a connection without a Cookie.
        let exchanges = run(&dir().join(capture)).exchanges;
        for e in exchanges {
            if e.evidence.connection_credentials == Some(true) {
                assert!(e.request.headers.contains("cookie") || capture != "webkit.pcap");
            }
            if capture == "webkit.pcap" {
                assert_eq!(e.evidence.connection_credentials, None);
            }
        }
    }
}
