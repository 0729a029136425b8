//! Regression tests for issue 18 item 7 on generated captures: what a limit flushes is
//! reported as evicted by that limit (flag and value, file and packet), and overlapping TCP
//! data with other bytes than the first copy is reported as a conflict with its place.

use super::testutil::{pcap, run_with, summary, Conv, Frame};
use super::CaptureOptions;
use crate::diag::WarnKind;

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: h.test\r\n\r\n").into_bytes()
}

/// `n` connections, each sending an unfinished request head in segments of `mss` bytes,
/// started 10 ms apart.
fn open_heads(n: u16, head_bytes: usize, mss: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    for i in 0..n {
        let mut c = Conv::new(43000 + i);
        c.ts += i64::from(i) * 10_000;
        c.handshake();
        let mut head = b"GET /slow HTTP/1.1\r\nHost: h.test\r\n".to_vec();
        head.extend(std::iter::repeat_n(b'a', head_bytes));
        c.client(&head, mss);
        frames.extend(c.frames);
    }
    frames.sort_by_key(|f| f.0);
    frames
}

#[test]
fn live_connection_eviction_is_not_an_ended_connection() {
    let opts = CaptureOptions {
        max_live_connections: 2,
        ..CaptureOptions::default()
    };
    let o = run_with(pcap(&open_heads(5, 100, 1000), 1, false, false), &opts);
    assert!(o.result.is_ok());
    let heads = o.diag.details(WarnKind::HttpIncompleteHead);
    // Three evicted by the limit (named with its flag and value), two ended by the capture.
    let evicted: Vec<&String> = heads
        .iter()
        .filter(|d| d.contains("evicted by the limit of 2 live connections (--max-connections)"))
        .collect();
    assert_eq!(evicted.len(), 3, "{heads:#?}");
    for d in &evicted {
        assert!(d.starts_with("test: packet "), "{d}");
        assert!(!d.starts_with("test: packet 0 "), "{d}");
    }
    let ended = heads
        .iter()
        .filter(|d| d.contains("connection ended"))
        .count();
    assert_eq!(ended, 2, "{heads:#?}");
}

#[test]
fn total_buffer_eviction_names_its_flag() {
    let opts = CaptureOptions {
        max_total_buffer: 64 * 1024,
        ..CaptureOptions::default()
    };
    let o = run_with(pcap(&open_heads(60, 10_000, 100), 1, false, false), &opts);
    assert!(o.result.is_ok());
    let heads = o.diag.details(WarnKind::HttpIncompleteHead);
    assert!(
        heads.iter().any(|d| d.contains(
            "evicted by the limit of 65536 bytes buffered by all connections (--max-total-buffer)"
        )),
        "{heads:#?}"
    );
    // Unlimited, every head only ends with the capture.
    let o = run_with(
        pcap(&open_heads(60, 10_000, 100), 1, false, false),
        &CaptureOptions::default(),
    );
    let heads = o.diag.details(WarnKind::HttpIncompleteHead);
    assert!(
        heads.iter().all(|d| d.contains("connection ended")),
        "{heads:#?}"
    );
}

/// A conversation whose request segment is sent again: with the same bytes, or with others.
fn resent(same: bool) -> Vec<Frame> {
    let mut c = Conv::new(44000);
    c.handshake();
    let req = get("/a");
    let seq = c.cseq;
    c.client(&req, 1460);
    // The copy goes out again from the same sequence number.
    let mut copy = req.clone();
    if !same {
        copy[5] = b'b';
    }
    c.cseq = seq;
    c.client(&copy, 1460);
    c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1460);
    c.fins();
    c.frames
}

#[test]
fn conflicting_retransmission_is_reported_with_its_place() {
    let o = run_with(
        pcap(&resent(false), 1, false, false),
        &CaptureOptions::default(),
    );
    // The first copy is kept.
    assert_eq!(summary(&o)[0].1, "http://h.test/a");
    assert_eq!(o.diag.count(WarnKind::TcpRetransmission), 0);
    let d = o.diag.details(WarnKind::TcpConflictingOverlap);
    assert_eq!(d.len(), 1, "{d:?}");
    // Packet 5 (after the handshake and the first copy) differs from packet 4's bytes.
    assert!(d[0].starts_with("test: packet 5 (byte "), "{}", d[0]);
    assert!(
        d[0].contains("stream bytes 0..33 differ from the first copy (packet 4)"),
        "{}",
        d[0]
    );

    let o = run_with(
        pcap(&resent(true), 1, false, false),
        &CaptureOptions::default(),
    );
    assert_eq!(o.diag.count(WarnKind::TcpConflictingOverlap), 0);
    assert_eq!(o.diag.count(WarnKind::TcpRetransmission), 1);
}

/// The output stage holds an exchange up to 30 s (capture time) for its connection's
/// credentials class; when `--max-reorder-buffer` overflows first it leaves without one, and
/// that is said with the flag (it was silent).
#[test]
fn class_hold_overflowing_the_reorder_buffer_is_warned() {
    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
    let ex = |conn: u64, t: crate::model::Micros, ua: &str| {
        let h = [
            ("Host", "api.test"),
            ("Connection", "keep-alive"),
            ("User-Agent", ua),
            ("Origin", "http://app.test"),
        ];
        let mut x = crate::model::test_exchange(
            crate::model::Flavour::Capture,
            "GET",
            &format!("http://api.test/{conn}"),
            &h,
            None,
            None,
        );
        x.connection = Some(conn);
        x.time = t;
        x.loc.position = crate::model::Position::Packet {
            number: conn,
            offset: 24,
        };
        x
    };
    let run = |max: usize, max_bytes: usize| {
        let mut reorder = super::Reorder::new(max, max_bytes);
        let mut diag = crate::diag::Diagnostics::new();
        let mut out = Vec::new();
        // A Chromium connection that has shown no class yet: held for it.
        reorder.push((0, Box::new(ex(1, 0, CHROME))), &mut diag, &mut |x| {
            out.push(x)
        });
        reorder.release((1_000_000, 0), &mut |x| out.push(x));
        assert!(out.is_empty());
        // Then exchanges of other, classless connections (no browser), all past the watermark.
        for i in 2..8u64 {
            let t = i as i64 * 1_000_000;
            reorder.push((t, Box::new(ex(i, t, "curl/8"))), &mut diag, &mut |x| {
                out.push(x)
            });
        }
        reorder.drain(&mut |x| out.push(x));
        assert_eq!(out.len(), 7);
        diag
    };
    let unbounded = usize::MAX;
    let diag = run(3, unbounded);
    let d = diag.details(WarnKind::LimitReorderBufferClass);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0].starts_with(
            "t: packet 1 (byte 24): more than 3 exchanges (--max-reorder-buffer) held"
        ),
        "{}",
        d[0]
    );
    assert_eq!(
        run(100, unbounded).count(WarnKind::LimitReorderBufferClass),
        0
    );
    // The byte bound: three exchanges' worth makes the held one leave the same way.
    let budget = 3 * ex(1, 0, CHROME).held_bytes();
    let diag = run(100, budget);
    let d = diag.details(WarnKind::LimitReorderBufferClass);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0].starts_with(&format!(
            "t: packet 1 (byte 24): more than {budget} bytes of exchanges (--max-reorder-bytes) held"
        )),
        "{}",
        d[0]
    );
}

proptest::proptest! {
    /// A release given the watermark of the release before, with nothing pushed between,
    /// returns at once (`Reorder::settled_at`): the same exchanges leave, in the same order,
    /// with the same classes and warnings, as when every release runs in full.
    #[test]
    fn repeated_watermarks_release_as_in_full(
        ops in proptest::collection::vec(
            (0u8..4, 1u64..6, 0i64..80, 0u8..3),
            1..60,
        ),
        max in 1usize..6,
    ) {
        const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        let ex = |conn: u64, t: crate::model::Micros, kind: u8| {
            let mut h = vec![("Host", "api.test"), ("User-Agent", CHROME), ("Origin", "http://app.test")];
            let method = match kind {
                0 => "GET",
                1 => {
                    h.push(("Access-Control-Request-Method", "PUT"));
                    "OPTIONS"
                }
                _ => {
                    h.push(("Cookie", "a=1"));
                    "GET"
                }
            };
            let mut x = crate::model::test_exchange(
                crate::model::Flavour::Capture, method, "http://api.test/", &h, None, None,
            );
            x.connection = Some(conn);
            x.time = t;
            x
        };
        let run = |full: bool| {
            let mut reorder = super::Reorder::new(max, max * 2_000);
            let mut diag = crate::diag::Diagnostics::new();
            let mut out = Vec::new();
            let mut clock = 0i64;
            let mut seq = 0u64;
            for &(op, conn, step, kind) in &ops {
                // Seconds, so the 30 s class hold both holds and expires.
                clock += step * 1_000_000 / 4;
                if op == 0 {
                    let mut x = ex(conn, clock, kind);
                    x.seq = seq;
                    seq += 1;
                    reorder.push((clock, Box::new(x)), &mut diag, &mut |x| out.push(x));
                } else {
                    let watermark = (clock - i64::from(op) * 2_000_000, u64::from(op));
                    for _ in 0..2 {
                        if full {
                            reorder.settled_at = None;
                        }
                        reorder.release(watermark, &mut |x| out.push(x));
                    }
                }
            }
            reorder.drain(&mut |x| out.push(x));
            let shown: Vec<_> = out
                .iter()
                .map(|x| (x.seq, x.connection, x.time, x.evidence.connection_credentials))
                .collect();
            (shown, diag.count(WarnKind::LimitReorderBuffer), diag.count(WarnKind::LimitReorderBufferClass))
        };
        proptest::prop_assert_eq!(run(false), run(true));
    }
}

/// What the capture lost of what clients sent is recorded (`model::loss`) for pairing to
/// ask: a request segment lost between a preflight and the next request (found by the gap the
/// next one leaves), with the client, the server and the span it was sent in; a response lost
/// on the way back is not (no request can hide in it). The parallel reader records the same.
#[test]
fn lost_request_bytes_are_recorded_with_client_server_and_span() {
    let preflight = b"OPTIONS /r HTTP/1.1\r\nHost: h.test\r\nOrigin: http://a.test\r\nAccess-Control-Request-Method: PATCH\r\n\r\n";
    let ok = |status: &str| format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").into_bytes();
    // Client loss: the PATCH's segment is cut out of the capture, the GET after it shows it.
    let mut a = Conv::new(44000);
    a.handshake()
        .client(preflight, 1460)
        .server(&ok("204 No Content"), 1460);
    let sent_after = a.frames[3].0;
    a.client(
        b"PATCH /r HTTP/1.1\r\nHost: h.test\r\nContent-Length: 0\r\n\r\n",
        1460,
    );
    a.frames.pop();
    a.client(&get("/next"), 1460);
    let next_sent = a.ts;
    // The server's answer acknowledges the lost bytes: they are declared lost then.
    a.server(&ok("200 OK"), 1460);
    let found_by = a.ts;
    // Its second answer has no request left to answer (`http-response-without-request`):
    // recorded too, sent after the last request seen.
    a.server(&ok("200 OK"), 1460).fins();
    let unanswered = a.frames[a.frames.len() - 3].0;
    // Server loss: a response's segment is cut out.
    let mut b = Conv::new(44001);
    b.ts += 1;
    b.handshake()
        .client(&get("/a"), 1460)
        .server(&ok("200 OK"), 1460);
    b.frames.pop();
    b.client(&get("/b"), 1460)
        .server(&ok("200 OK"), 1460)
        .fins();
    let mut frames = a.frames;
    frames.extend(b.frames);
    frames.sort_by_key(|f| f.0);
    let read = |workers: usize| {
        let (losses, diag) = super::testutil::losses_and_diag(&frames, "", workers);
        assert!(diag.count(WarnKind::TcpGap) >= 2, "{diag:?}");
        losses
    };
    let client = || "10.0.0.1".to_owned();
    let server = || "10.0.0.2:80".to_owned();
    // The two spans meet (the GET after the lost PATCH was sent before the answer that showed
    // the loss): the log keeps them as one.
    assert!(next_sent <= found_by);
    let want = [(client(), server(), sent_after, unanswered)];
    assert_eq!(read(1), want);
    assert_eq!(read(3), want);
}

/// 300 bytes that look like TLS ciphertext taken up mid-record (no record header at the start).
fn cipher(seed: u8) -> Vec<u8> {
    (0..300u16)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed ^ 0x9c)
        .collect()
}

/// An HTTPS connection begun before the capture, first seen mid-record (no TLS record header
/// to take up, no handshake for a key log): ignored as encrypted, and what its client sends
/// is recorded lost from the connection's start on, found by its latest client bytes; the
/// server's bytes are not a client's. The same bytes on port 80 are not taken for TLS.
#[test]
fn an_https_connection_first_seen_mid_record_loses_what_its_client_sends() {
    for (sport, want_lost) in [(443, true), (80, false)] {
        let mut c = Conv::new(51000);
        c.sport = sport;
        c.client(&cipher(1), 1460)
            .server(&cipher(2), 1460)
            .client(&cipher(3), 1460);
        let last_client = c.ts;
        c.server(&cipher(4), 1460);
        let want: Vec<_> = if want_lost {
            vec![(
                "10.0.0.1".to_owned(),
                format!("10.0.0.2:{sport}"),
                crate::model::Micros::MIN,
                last_client,
            )]
        } else {
            Vec::new()
        };
        for workers in [0, 2] {
            let got = super::testutil::losses_of(&c.frames, "", workers);
            assert_eq!(got, want, "port {sport}, {workers} workers");
        }
    }
}

/// The same on a port that does not say HTTPS (8441), both sides first seen inside a record:
/// the connection reads as HTTP picked up mid-stream, out of step, until a side's bytes start
/// with a TLS record header while no message was ever read: TLS after all, and what its
/// client sends is recorded lost from the connection's start on. Masked WebSocket frames (a
/// connection upgraded before the capture) are no TLS, and lose nothing.
#[test]
fn a_connection_first_seen_mid_record_on_another_port_is_found_tls_by_its_next_record() {
    fn record(seed: u8) -> Vec<u8> {
        let mut r = vec![0x17, 0x03, 0x03, 0x01, 0x2c];
        r.extend(cipher(seed));
        r
    }
    fn ws_frame(seed: u8) -> Vec<u8> {
        let mut f = vec![0x81, 0x80 | 60, seed, 1, 2, 3];
        f.extend((0..60u8).map(|i| i ^ seed));
        f
    }
    // (what, first client bytes, what follows from each side, lost)
    type Bytes = fn(u8) -> Vec<u8>;
    let cases: [(&str, Bytes, Bytes, bool); 2] = [
        ("TLS", cipher, record, true),
        ("WebSocket", ws_frame, ws_frame, false),
    ];
    for (what, first, next, want_lost) in cases {
        let mut c = Conv::new(51000);
        c.sport = 8441;
        c.client(&first(1), 1460)
            .server(&first(2), 1460)
            .client(&next(3), 1460);
        let last_client = c.ts;
        c.server(&next(4), 1460);
        let got = super::testutil::losses_of(&c.frames, "", 0);
        let client_side: Vec<_> = got
            .iter()
            .filter(|l| l.0 == "10.0.0.1" && l.1 == "10.0.0.2:8441")
            .map(|l| (l.2, l.3))
            .collect();
        if want_lost {
            let from_start = [(crate::model::Micros::MIN, last_client)];
            assert_eq!(client_side, from_start, "{what}: {got:?}");
        } else {
            assert_eq!(got, [], "{what}");
        }
        assert_eq!(
            super::testutil::losses_of(&c.frames, "", 2),
            got,
            "{what}, 2 workers"
        );
    }
}

/// The server's SYN-ACK and its first answer not in the capture: the server's stream starts
/// where the client's first ACK after its SYN says (the handshake's, else its first
/// request's), so the lost answer is a gap (the first request has none) instead of bytes
/// before the capture, which left the next answer to the first request and every later one a
/// request behind (field audit: WebKit's capture with packets lost and swapped, a `DELETE`'s
/// preflight given the `DELETE`'s `200`: `blocked/MethodNotAllowedByAllowMethods`). The same
/// with the parallel reader.
#[test]
fn a_lost_syn_ack_leaves_the_server_stream_start_to_the_clients_ack() {
    let ok = |status: &str| format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").into_bytes();
    for (what, no_ack) in [
        ("handshake ACK seen", false),
        ("handshake ACK lost too", true),
    ] {
        let mut c = Conv::new(44200);
        c.handshake();
        c.client(&get("/a"), 1460).server(&ok("200 OK"), 1460);
        c.client(&get("/b"), 1460)
            .server(&ok("201 Created"), 1460)
            .fins();
        // Frames: SYN, SYN-ACK, ACK, GET /a, 200, GET /b, 201, FINs.
        let mut frames = c.frames.clone();
        frames.remove(4);
        if no_ack {
            frames.remove(2);
        }
        frames.remove(1);
        // `run_both` checks the parallel reader agrees.
        let got: Vec<(String, Option<u16>)> = summary(&super::encap_tests::run_both(&frames))
            .into_iter()
            .map(|s| (s.1, s.2))
            .collect();
        let want = [
            ("http://h.test/a".to_owned(), None),
            ("http://h.test/b".to_owned(), Some(201)),
        ];
        assert_eq!(got, want, "{what}");
    }
}

/// A request the connection's end left unanswered (`Evidence::closed_unanswered`): marked
/// when an RST or the server's FIN ended it between responses with nothing of the server's
/// lost, with whether the connection had carried a request before; not when only the client
/// closed, the server's answer was cut or lost.
#[test]
fn a_request_its_connection_ended_unanswered_is_marked() {
    use super::testutil::{tcp4, ACK, CLIENT, FIN, RST, SERVER};
    fn end(c: &mut Conv, from_server: bool, flags: u8, skip: u32) {
        let (src, dst) = ((SERVER, 80), (CLIENT, c.cport));
        let f = if from_server {
            tcp4(src, dst, c.sseq.wrapping_add(skip), c.cseq, flags, b"")
        } else {
            tcp4(dst, src, c.cseq, c.sseq, flags, b"")
        };
        c.frames.push((c.ts + 1000, f));
    }
    type End = fn(&mut Conv);
    // (end, marked: the connection's first request, a later one)
    let cases: [(&str, End, Option<bool>, Option<bool>); 6] = [
        (
            "server RST",
            |c| end(c, true, RST, 0),
            Some(false),
            Some(true),
        ),
        (
            "server FIN",
            |c| end(c, true, FIN | ACK, 0),
            Some(false),
            Some(true),
        ),
        (
            "client RST",
            |c| end(c, false, RST, 0),
            Some(false),
            Some(true),
        ),
        (
            "client FIN only",
            |c| end(c, false, FIN | ACK, 0),
            None,
            None,
        ),
        (
            "server FIN after lost bytes",
            |c| end(c, true, FIN | ACK, 20),
            None,
            None,
        ),
        (
            "server RST inside an answer's head",
            |c| {
                c.server(b"HTTP/1.1 200 OK\r\nContent-", 1000);
                end(c, true, RST, 0);
            },
            None,
            None,
        ),
    ];
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (what, ending, first, later) in cases {
        for (reused, marked) in [(false, first), (true, later)] {
            let mut c = Conv::new(43100);
            c.handshake();
            if reused {
                c.client(&get("/before"), 1000).server(ok, 1000);
            }
            c.client(&get("/r"), 1000);
            ending(&mut c);
            let o = super::testutil::run_frames(&c.frames);
            let r = o.exchanges.iter().find(|x| x.request.url.ends_with("/r"));
            let got = r
                .and_then(|x| x.evidence.closed_unanswered)
                .map(|c| c.reused);
            assert_eq!(got, marked, "{what}, reused {reused}");
        }
    }
}

/// The same over cleartext HTTP/2: the streams waiting when the server reset the connection
/// are marked, each resent by a browser unless it was the connection's first.
#[test]
fn http2_streams_waiting_when_the_connection_ended_are_marked() {
    use super::testutil::{tcp4, CLIENT, RST, SERVER};
    use crate::capture::tls::synth::frame;
    let head = h2_get_head;
    for answered_first in [false, true] {
        let mut c = h2_get_conversation(43200, &["/a"]);
        let mut server = frame(4, 0, 0, &[]);
        if answered_first {
            server.extend(frame(1, 0x5, 1, &[0x88]));
        }
        c.server(&server, 1400);
        c.client(&frame(1, 0x5, 3, &head("/b")), 1400);
        let f = tcp4((SERVER, 80), (CLIENT, c.cport), c.sseq, 0, RST, b"");
        c.frames.push((c.ts + 1000, f));
        let o = super::testutil::run_frames(&c.frames);
        let mut got: Vec<(String, Option<bool>)> = o
            .exchanges
            .iter()
            .map(|x| {
                (
                    x.request.url.clone(),
                    x.evidence.closed_unanswered.map(|c| c.reused),
                )
            })
            .collect();
        got.sort();
        let a = (!answered_first).then_some(false);
        let want = vec![
            ("http://h.test/a".to_owned(), a),
            ("http://h.test/b".to_owned(), Some(true)),
        ];
        assert_eq!(got, want, "answered first {answered_first}");
    }
}

/// A `408` answers a connection's first request (the browser reads it, CORS and all), but on a
/// connection that carried a request before it is the idle connection's timeout notice: no
/// answer, the request marked as ended unanswered and resent.
#[test]
fn a_408_on_a_reused_connection_is_no_answer() {
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let timeout = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    // (reused, the request's status, marked timed out)
    for (reused, status, marked) in [(false, Some(408), None), (true, None, Some(true))] {
        let mut c = Conv::new(43300);
        c.handshake();
        if reused {
            c.client(&get("/before"), 1000).server(ok, 1000);
        }
        c.client(&get("/r"), 1000).server(timeout, 1000).fins();
        let o = super::testutil::run_frames(&c.frames);
        let r = o.exchanges.iter().find(|x| x.request.url.ends_with("/r"));
        let r = r.expect("the request");
        assert_eq!(
            r.response.as_ref().map(|r| r.status),
            status,
            "reused {reused}"
        );
        let got = r
            .evidence
            .closed_unanswered
            .map(|c| c.by == crate::model::EndedBy::Timeout);
        assert_eq!(got, marked, "reused {reused}");
    }
}

/// A `421 Misdirected Request` or a proxy's `407` is no answer, on a connection's first request
/// or a later one, over HTTP/1.1 (and the `421` over HTTP/2): the browser sends the request
/// again (recorded, `tests/data/field/*-421-*`, `*-407-*`). The request is marked resent with
/// no response, and the connection's next request keeps its own answer.
#[test]
fn a_421_or_407_is_no_answer_and_the_next_answer_stays_in_step() {
    use crate::model::EndedBy;
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let seen = |o: &super::testutil::Outcome, by| -> Vec<(String, Option<u16>, Option<bool>)> {
        let mut v: Vec<_> = o
            .exchanges
            .iter()
            .map(|x| {
                let c = x.evidence.closed_unanswered;
                (
                    x.request.url.clone(),
                    x.response.as_ref().map(|r| r.status),
                    c.map(|c| c.by == by && c.reused),
                )
            })
            .collect();
        v.sort();
        v
    };
    let statuses: [(&[u8], EndedBy); 2] = [
        (
            b"HTTP/1.1 421 Misdirected Request\r\nContent-Length: 0\r\n\r\n",
            EndedBy::Misdirected,
        ),
        (
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              Proxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n",
            EndedBy::ProxyAuth,
        ),
    ];
    for (answer, by) in statuses {
        for reused in [false, true] {
            let mut c = Conv::new(43400);
            c.handshake();
            if reused {
                c.client(&get("/before"), 1000).server(ok, 1000);
            }
            c.client(&get("/r"), 1000).server(answer, 1000);
            c.client(&get("/s"), 1000).server(ok, 1000).fins();
            let o = super::testutil::run_frames(&c.frames);
            let mut want = vec![
                ("http://h.test/r".to_owned(), None, Some(true)),
                ("http://h.test/s".to_owned(), Some(200), None),
            ];
            if reused {
                want.insert(0, ("http://h.test/before".to_owned(), Some(200), None));
            }
            assert_eq!(seen(&o, by), want, "{by:?} reused {reused}");
        }
    }

    // HTTP/2: stream 1 answered `421` (`:status` as a literal with indexed name), stream 3
    // `200` (indexed).
    use crate::capture::tls::synth::frame;
    let mut c = h2_get_conversation(43500, &["/r", "/s"]);
    let mut server = frame(4, 0, 0, &[]);
    server.extend(frame(1, 0x5, 1, &[0x08, 3, b'4', b'2', b'1']));
    server.extend(frame(1, 0x5, 3, &[0x88]));
    c.server(&server, 1400).fins();
    let o = super::testutil::run_frames(&c.frames);
    let want = vec![
        ("http://h.test/r".to_owned(), None, Some(true)),
        ("http://h.test/s".to_owned(), Some(200), None),
    ];
    assert_eq!(seen(&o, EndedBy::Misdirected), want, "HTTP/2");
}

/// A `GOAWAY` asking for HTTP/1.1 (`HTTP_1_1_REQUIRED`) makes every stream still waiting when
/// the connection ends resent, the connection's first too (Chromium sends it again over
/// HTTP/1.1, recorded: `tests/data/field/chromium-h2-goaway-first-stream-http11-required-
/// retry.pcapng`); after any other `GOAWAY` naming it, the first stream is not.
#[test]
fn a_goaway_asking_for_http11_makes_the_first_stream_resent() {
    use super::testutil::{tcp4, CLIENT, RST, SERVER};
    use crate::capture::tls::synth::frame;
    // (GOAWAY's error code, the first stream marked resent)
    for (error, resent) in [(0xd_u8, true), (0, false)] {
        let mut c = h2_get_conversation(43700, &["/one"]);
        let mut server = frame(4, 0, 0, &[]);
        server.extend(frame(7, 0, 0, &[0, 0, 0, 1, 0, 0, 0, error]));
        c.server(&server, 1400);
        let f = tcp4((SERVER, 80), (CLIENT, c.cport), c.sseq, 0, RST, b"");
        c.frames.push((c.ts + 1000, f));
        let o = super::testutil::run_frames(&c.frames);
        let got: Vec<Option<bool>> = o
            .exchanges
            .iter()
            .map(|x| x.evidence.closed_unanswered.map(|c| c.reused))
            .collect();
        assert_eq!(got, [Some(resent)], "error {error}");
    }
}

/// A cleartext HTTP/2 connection from client port `port`, its TCP handshake done and the
/// client's preface sent with a `GET` of each of `paths` (streams 1, 3, …).
fn h2_get_conversation(port: u16, paths: &[&str]) -> Conv {
    use crate::capture::tls::synth::frame;
    let mut c = Conv::new(port);
    c.handshake();
    let mut client = crate::capture::h2::frame::PREFACE.to_vec();
    for (stream, path) in (1u32..).step_by(2).zip(paths) {
        client.extend(frame(1, 0x5, stream, &h2_get_head(path)));
    }
    c.client(&client, 1400);
    c
}

/// An HTTP/2 `GET` of `path` on `h.test` as one header block (literal fields, no Huffman).
fn h2_get_head(path: &str) -> Vec<u8> {
    let mut b = Vec::new();
    let fields = [
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "h.test"),
    ];
    for (n, v) in fields.into_iter().chain([(":path", path)]) {
        b.extend([0, n.len() as u8]);
        b.extend(n.as_bytes());
        b.push(v.len() as u8);
        b.extend(v.as_bytes());
    }
    b
}

/// A connection's first request after the connection sat silent (`IDLE_SOCKET_US` or more
/// since the handshake's last packet) went out on a socket idle in the browser's pool (a
/// preconnected one): Chromium and Firefox send it again when the connection ends
/// unanswered, WebKit does not (recorded, `tests/data/field/*-preconnect-*`). Marked resent by
/// the sending browser's profile; a request sent at once is not.
#[test]
fn a_first_request_on_an_idle_socket_is_resent_by_the_browsers_that_do() {
    use super::testutil::{tcp4, CLIENT, RST, SERVER};
    const CHROMIUM: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Safari/537.36";
    const WEBKIT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15";
    // (silence before the request µs, User-Agent, marked resent)
    let cases = [
        (0, None, false),
        (50_000, None, false),
        (300_000, None, true),
        (300_000, Some(CHROMIUM), true),
        (300_000, Some(WEBKIT), false),
    ];
    for (silence, ua, resent) in cases {
        let mut c = Conv::new(43600);
        c.handshake();
        c.ts += silence;
        let ua = ua
            .map(|u| format!("User-Agent: {u}\r\n"))
            .unwrap_or_default();
        let req = format!("GET /r HTTP/1.1\r\nHost: h.test\r\n{ua}\r\n");
        c.client(req.as_bytes(), 1400);
        let f = tcp4((SERVER, 80), (CLIENT, c.cport), c.sseq, 0, RST, b"");
        c.frames.push((c.ts + 1000, f));
        let o = super::testutil::run_frames(&c.frames);
        let r = o.exchanges.iter().find(|x| x.request.url.ends_with("/r"));
        let got = r
            .and_then(|x| x.evidence.closed_unanswered)
            .map(|c| c.reused);
        assert_eq!(got, Some(resent), "silence {silence} µs, {ua:?}");
    }
}
