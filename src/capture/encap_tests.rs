//! Test support and capture-level tests for step 2 (decode): wraps the frames of generated
//! conversations in tunnels (VXLAN, GRE, ERSPAN, Geneve, IP-in-IP), splits them into IP
//! fragments, adds QUIC traffic, and checks the exchanges and warnings `read_capture` and the
//! parallel reader give (the same for any number of workers).

use std::io::Cursor;
use std::sync::Arc;

use etherparse::{IpNumber, PacketBuilder};

use super::parallel::read_capture_parallel;
use super::testutil::*;
use super::CaptureOptions;
use crate::diag::{Diagnostics, WarnKind};

const OUTER_A: [u8; 4] = [192, 168, 7, 1];
const OUTER_B: [u8; 4] = [192, 168, 7, 2];

/// An outer Ethernet/IPv4 frame carrying `payload` as IP protocol `proto`.
pub(crate) fn outer_ip(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 8])
        .ipv4(OUTER_A, OUTER_B, 64)
        .write(&mut v, IpNumber(proto), payload)
        .expect("write to Vec");
    v
}

/// An outer Ethernet/IPv4/UDP frame to `dport`.
pub(crate) fn outer_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 8])
        .ipv4(OUTER_A, OUTER_B, 64)
        .udp(sport, dport)
        .write(&mut v, payload)
        .expect("write to Vec");
    v
}

/// VXLAN (VNI 42) around an Ethernet frame.
pub(crate) fn vxlan(inner: &[u8], port: u16) -> Vec<u8> {
    let mut p = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
    p.extend_from_slice(inner);
    outer_udp(51000, port, &p)
}

/// GRE with the given flags (checksum, key, sequence bits) and protocol around `inner`.
pub(crate) fn gre(flags: u16, proto: u16, inner: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(flags.to_be_bytes());
    p.extend(proto.to_be_bytes());
    for bit in [0x8000u16, 0x2000, 0x1000] {
        if flags & bit != 0 {
            p.extend([0xab, 0xcd, 0, 1]);
        }
    }
    p.extend_from_slice(inner);
    outer_ip(47, &p)
}

/// The IP packet inside an Ethernet frame built by `tcp4`.
pub(crate) fn ip_of(frame: &[u8]) -> &[u8] {
    &frame[14..]
}

/// Splits an Ethernet/IPv4 frame into IPv4 fragments whose data starts at `cuts` (multiples
/// of 8), with identification `id`.
pub(crate) fn fragments4(frame: &[u8], cuts: &[usize], id: u16) -> Vec<Vec<u8>> {
    let (eth, ip) = frame.split_at(14);
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let (hdr, data) = ip.split_at(ihl);
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied().filter(|c| *c < data.len()));
    bounds.push(data.len());
    bounds
        .windows(2)
        .map(|w| {
            let (s, e) = (w[0], w[1]);
            let mut h = hdr.to_vec();
            h[2..4].copy_from_slice(&((ihl + e - s) as u16).to_be_bytes());
            h[4..6].copy_from_slice(&id.to_be_bytes());
            let more = if e < data.len() { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&(more | (s / 8) as u16).to_be_bytes());
            [eth, &h, &data[s..e]].concat()
        })
        .collect()
}

/// A QUIC packet between CLIENT:`cport` and SERVER:`sport` (long header when `long`).
pub(crate) fn quic(cport: u16, sport: u16, long: bool, to_server: bool) -> Vec<u8> {
    let body: Vec<u8> = if long {
        // Initial, version 1, 8-byte DCID, empty SCID.
        [vec![0xc3, 0, 0, 0, 1, 8], vec![7; 8], vec![0], vec![0; 40]].concat()
    } else {
        [vec![0x43], vec![7; 8], vec![0; 30]].concat()
    };
    let (s, d) = if to_server {
        ((CLIENT, cport), (SERVER, sport))
    } else {
        ((SERVER, sport), (CLIENT, cport))
    };
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(s.0, d.0, 64)
        .udp(s.1, d.1)
        .write(&mut v, &body)
        .expect("write to Vec");
    v
}

/// `n` conversations, each one GET answered 200, interleaved by time.
pub(crate) fn conversations(n: u16) -> Vec<Frame> {
    let mut frames = Vec::new();
    for i in 0..n {
        let mut c = Conv::new(42000 + i);
        c.ts += i64::from(i) * 100;
        c.handshake();
        c.client(
            format!("GET /r{i} HTTP/1.1\r\nHost: api.test\r\nOrigin: http://app.test\r\n\r\n")
                .as_bytes(),
            1460,
        );
        c.server(
            b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 2\r\n\r\nok",
            1460,
        );
        c.fins();
        frames.extend(c.frames);
    }
    frames.sort_by_key(|f| f.0);
    frames
}

pub(crate) fn wrap(frames: &[Frame], f: impl Fn(&[u8]) -> Vec<u8>) -> Vec<Frame> {
    frames.iter().map(|(t, d)| (*t, f(d))).collect()
}

/// Runs a pcap of `frames` with 1 and 2 workers, checks both agree (exchanges and every
/// warning), and returns the single-threaded outcome.
pub(crate) fn run_both(frames: &[Frame]) -> Outcome {
    let bytes = pcap(frames, 1, false, false);
    let base = run(bytes.clone());
    let mut exchanges = Vec::new();
    let mut diag = Diagnostics::new();
    let result = read_capture_parallel(
        Box::new(Cursor::new(bytes)),
        Arc::from("test"),
        &CaptureOptions::default(),
        2,
        &mut |e| exchanges.push(e),
        &mut diag,
    );
    assert_eq!(exchanges, base.exchanges, "2 workers");
    assert_eq!(format!("{diag:?}"), format!("{:?}", base.diag), "2 workers");
    assert_eq!(result.is_ok(), base.result.is_ok());
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wraps one Ethernet frame in some encapsulation.
    type Wrapper = Box<dyn Fn(&[u8]) -> Vec<u8>>;

    /// Every tunnel around ten conversations gives the ten exchanges, without a warning.
    #[test]
    fn tunnels_give_the_exchanges_inside() {
        let plain = conversations(10);
        let teb = |f: &[u8]| gre(0, 0x6558, f);
        let cases: Vec<(&str, Wrapper)> = vec![
            ("VXLAN 4789", Box::new(|f| vxlan(f, 4789))),
            ("VXLAN 8472", Box::new(|f| vxlan(f, 8472))),
            ("GRE IPv4", Box::new(|f| gre(0, 0x0800, ip_of(f)))),
            (
                "GRE checksum+key+seq",
                Box::new(|f| gre(0xb000, 0x0800, ip_of(f))),
            ),
            ("GRE Ethernet bridging", Box::new(teb)),
            ("GRE key, Ethernet", Box::new(|f| gre(0x2000, 0x6558, f))),
            ("ERSPAN I", Box::new(|f| gre(0, 0x88be, f))),
            (
                "ERSPAN II",
                Box::new(|f| {
                    gre(
                        0x1000,
                        0x88be,
                        &[&[0x10, 1, 0, 0, 0, 0, 0, 5][..], f].concat(),
                    )
                }),
            ),
            (
                "ERSPAN III",
                Box::new(|f| gre(0x1000, 0x22eb, &[&[0x20, 1, 0, 0][..], &[0; 8], f].concat())),
            ),
            (
                "ERSPAN III with platform subheader",
                Box::new(|f| {
                    gre(
                        0x1000,
                        0x22eb,
                        &[&[0x20, 1, 0, 0][..], &[0, 0, 0, 0, 0, 0, 0, 1], &[0; 8], f].concat(),
                    )
                }),
            ),
            (
                "Geneve",
                Box::new(|f| {
                    outer_udp(
                        5000,
                        6081,
                        &[&[1, 0, 0x65, 0x58, 0, 0, 1, 0][..], &[0; 4], f].concat(),
                    )
                }),
            ),
            (
                "VXLAN-GPE IPv4",
                Box::new(|f| {
                    outer_udp(
                        5000,
                        4790,
                        &[&[0x0c, 0, 0, 1, 0, 0, 1, 0][..], ip_of(f)].concat(),
                    )
                }),
            ),
            ("IP-in-IP", Box::new(|f| outer_ip(4, ip_of(f)))),
            (
                "VXLAN in GRE",
                Box::new(|f| gre(0, 0x0800, ip_of(&vxlan(f, 4789)))),
            ),
        ];
        for (name, wrapper) in cases {
            let o = run_both(&wrap(&plain, wrapper));
            assert_eq!(o.exchanges.len(), 10, "{name}: {:?}", o.diag);
            assert!(o.diag.is_empty(), "{name}: {:?}", o.diag);
            assert_eq!(o.exchanges[3].request.url, "http://api.test/r3", "{name}");
            assert_eq!(&*o.exchanges[3].client, "10.0.0.1", "{name}");
        }
    }

    /// What cannot be decoded is counted by kind, never dropped silently.
    #[test]
    fn undecodable_encapsulations_are_counted() {
        let plain = conversations(2);
        let n = plain.len() as u64;
        let cases: Vec<(&str, Wrapper, WarnKind)> = vec![
            (
                "GRE v1",
                Box::new(|f| gre(0x2001, 0x880b, f)),
                WarnKind::UnsupportedEncapsulation,
            ),
            (
                "GRE routing",
                Box::new(|f| gre(0x4000, 0x0800, f)),
                WarnKind::UnsupportedEncapsulation,
            ),
            (
                "GRE unknown",
                Box::new(|f| gre(0, 0x1234, f)),
                WarnKind::UnsupportedEncapsulation,
            ),
            (
                "ESP",
                Box::new(|f| outer_ip(50, f)),
                WarnKind::UnsupportedEncapsulation,
            ),
            (
                "VXLAN no I flag",
                Box::new(|f| outer_udp(1, 4789, &[&[0; 8][..], f].concat())),
                WarnKind::MalformedPacket,
            ),
            (
                "VXLAN cut",
                Box::new(|_| outer_udp(1, 4789, &[8, 0, 0])),
                WarnKind::TruncatedPacket,
            ),
            (
                "too deep",
                Box::new(|f| {
                    let mut g = f.to_vec();
                    for _ in 0..20 {
                        g = gre(0, 0x6558, &g);
                    }
                    g
                }),
                WarnKind::EncapsulationTooDeep,
            ),
        ];
        for (name, wrapper, kind) in cases {
            let o = run_both(&wrap(&plain, wrapper));
            assert_eq!(o.exchanges.len(), 0, "{name}");
            assert_eq!(o.diag.count(kind), n, "{name}: {:?}", o.diag);
            assert!(
                o.diag.details(kind)[0].contains("packet 1 (byte 24)"),
                "{name}"
            );
        }
    }

    /// Ten requests each split into two IPv4 fragments: ten exchanges, in order or reversed.
    #[test]
    fn fragmented_requests_are_reassembled() {
        let plain = conversations(10);
        for reversed in [false, true] {
            let mut frames = Vec::new();
            for (i, (t, f)) in plain.iter().enumerate() {
                if f.len() > 60 && ip_of(f)[9] == 6 {
                    let mut parts = fragments4(f, &[24], i as u16);
                    if reversed {
                        parts.reverse();
                    }
                    frames.extend(parts.into_iter().map(|p| (*t, p)));
                } else {
                    frames.push((*t, f.clone()));
                }
            }
            let o = run_both(&frames);
            assert_eq!(o.exchanges.len(), 10, "reversed {reversed}: {:?}", o.diag);
            assert!(o.diag.is_empty(), "{:?}", o.diag);
            assert!(o.exchanges.iter().all(|e| e.response.is_some()));
        }
    }

    /// A conflicting overlap and a missing last fragment are reported; the rest goes on.
    #[test]
    fn broken_fragments_are_reported() {
        let plain = conversations(3);
        let mut frames = Vec::new();
        let mut k = 0;
        for (i, (t, f)) in plain.iter().enumerate() {
            if !(f.len() > 60 && ip_of(f)[9] == 6 && ip_of(f)[40..].starts_with(b"GET")) {
                frames.push((*t, f.clone()));
                continue;
            }
            let mut parts = fragments4(f, &[16, 40], i as u16);
            match k {
                // Request 0: a second copy of the middle fragment with other bytes.
                0 => {
                    let mut bad = parts[1].clone();
                    let last = bad.len() - 1;
                    bad[last] ^= 0x55;
                    parts.insert(2, bad);
                }
                // Request 1: the last fragment never comes.
                1 => {
                    parts.pop();
                }
                _ => {}
            }
            k += 1;
            frames.extend(parts.into_iter().map(|p| (*t, p)));
        }
        let o = run_both(&frames);
        assert_eq!(o.diag.count(WarnKind::IpFragmentOverlap), 1, "{:?}", o.diag);
        assert_eq!(
            o.diag.count(WarnKind::IpFragmentIncomplete),
            1,
            "{:?}",
            o.diag
        );
        // Only the third request arrived whole (the others' responses have no request).
        let urls: Vec<_> = o.exchanges.iter().map(|e| e.request.url.as_str()).collect();
        assert_eq!(urls, ["http://api.test/r2"], "{:?}", o.diag);
    }

    /// QUIC is counted per connection (UDP endpoint pair), on 443 or by its long header;
    /// other UDP and GRE keepalives are not reported.
    #[test]
    fn quic_connections_are_counted() {
        let mut frames = conversations(1);
        let mut ts = 1_700_000_001_000_000;
        let mut push = |f: Vec<u8>| {
            ts += 10;
            frames.push((ts, f));
        };
        for port in [50000u16, 50001, 50002] {
            push(quic(port, 443, true, true));
            push(quic(port, 443, true, false));
            push(quic(port, 443, false, true));
            push(quic(port, 443, false, false));
        }
        // Another port: only by the long header.
        push(quic(50003, 8443, true, true));
        push(quic(50003, 8443, false, false));
        // DNS is not QUIC.
        let mut dns = Vec::new();
        PacketBuilder::ethernet2([2; 6], [3; 6])
            .ipv4(CLIENT, SERVER, 64)
            .udp(53000, 53)
            .write(&mut dns, &[0x12, 0x34, 1, 0, 0, 1, 0, 0])
            .unwrap();
        push(dns);
        // A GRE keepalive (an IP packet whose GRE carries protocol 0) is nothing to report.
        push(gre(0, 0x0800, &outer_ip(47, &[0, 0, 0, 0])[14..]));
        let o = run_both(&frames);
        assert_eq!(o.exchanges.len(), 1);
        assert_eq!(o.diag.count(WarnKind::QuicNotAnalysed), 4, "{:?}", o.diag);
        assert_eq!(o.diag.counts().count(), 1, "{:?}", o.diag);
    }

    /// Frames of a small capture for each new decode path, as committed fuzz seeds
    /// (`fuzz/seeds/capture/encap-*.pcap`).
    fn seeds() -> Vec<(&'static str, Vec<u8>)> {
        let plain = conversations(2);
        let frag = |reverse: bool| -> Vec<Frame> {
            let mut out = Vec::new();
            for (i, (t, f)) in plain.iter().enumerate() {
                let mut parts = fragments4(f, &[16, 40], i as u16);
                if reverse {
                    parts.reverse();
                }
                out.extend(parts.into_iter().map(|p| (*t, p)));
            }
            out
        };
        let mut broken = frag(false);
        broken.remove(3);
        let last = broken.len() - 1;
        let mut bad = broken[last].1.clone();
        let end = bad.len() - 1;
        bad[end] ^= 1;
        broken.push((broken[last].0, bad));
        let mut quic_frames = plain.clone();
        for p in [50000, 50001] {
            quic_frames.push((1, quic(p, 443, true, true)));
            quic_frames.push((2, quic(p, 443, false, false)));
        }
        let cases: Vec<(&str, Vec<Frame>)> = vec![
            ("encap-vxlan", wrap(&plain, |f| vxlan(f, 4789))),
            (
                "encap-gre-keyseq",
                wrap(&plain, |f| gre(0xb000, 0x0800, ip_of(f))),
            ),
            ("encap-gre-teb", wrap(&plain, |f| gre(0x2000, 0x6558, f))),
            (
                "encap-erspan3",
                wrap(&plain, |f| {
                    gre(0x1000, 0x22eb, &[&[0x20, 1, 0, 0][..], &[0; 8], f].concat())
                }),
            ),
            (
                "encap-geneve",
                wrap(&plain, |f| {
                    outer_udp(
                        5000,
                        6081,
                        &[&[1, 0, 0x65, 0x58, 0, 0, 1, 0][..], &[0; 4], f].concat(),
                    )
                }),
            ),
            ("encap-ipip", wrap(&plain, |f| outer_ip(4, ip_of(f)))),
            ("encap-fragments", frag(false)),
            ("encap-fragments-reversed", frag(true)),
            ("encap-fragments-broken", broken),
            ("encap-quic", quic_frames),
        ];
        cases
            .into_iter()
            .map(|(name, frames)| (name, pcap(&frames, 1, false, false)))
            .collect()
    }

    /// The committed seeds are what `seeds()` builds (regenerate them with
    /// `CORSCOPE_WRITE_SEEDS=1 cargo test --release --lib fuzz_seeds`), and each decodes as
    /// it should.
    #[test]
    fn fuzz_seeds_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/capture");
        let write = std::env::var_os("CORSCOPE_WRITE_SEEDS").is_some();
        for (name, bytes) in seeds() {
            assert!(bytes.len() <= 16 * 1024, "{name}");
            let path = dir.join(format!("{name}.pcap"));
            if write {
                std::fs::write(&path, &bytes).unwrap();
            }
            assert_eq!(
                std::fs::read(&path).ok(),
                Some(bytes.clone()),
                "{name}: missing or stale seed (CORSCOPE_WRITE_SEEDS=1 cargo test --release --lib fuzz_seeds)"
            );
            let o = run(bytes);
            if name.ends_with("broken") {
                // A lost handshake fragment, and a changed copy of a delivered one.
                assert_eq!(
                    o.diag.count(WarnKind::IpFragmentIncomplete),
                    2,
                    "{:?}",
                    o.diag
                );
            } else {
                assert_eq!(o.exchanges.len(), 2, "{name}: {:?}", o.diag);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        /// Damaged tunnels, fragments and QUIC packets: no panic, and 2 workers still give
        /// what 1 gives (the reader's fragment handling and the workers' decode agree).
        #[test]
        fn damaged_encapsulations_are_the_same_with_two_workers(
            which in 0usize..10,
            flips in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 1u8..=255), 1..12),
        ) {
            let mut all = seeds();
            let (_, mut bytes) = all.swap_remove(which % all.len());
            for (at, x) in flips {
                // Past the pcap file header: damage packets, not the file format.
                let i = 24 + at.index(bytes.len() - 24);
                bytes[i] ^= x;
            }
            let frames = super::super::reader::PacketReader::new(
                Cursor::new(bytes.clone()),
                &CaptureOptions::default(),
            )
            .is_ok();
            proptest::prop_assume!(frames);
            let base = run(bytes.clone());
            let mut exchanges = Vec::new();
            let mut diag = Diagnostics::new();
            let result = read_capture_parallel(
                Box::new(Cursor::new(bytes)),
                Arc::from("test"),
                &CaptureOptions::default(),
                2,
                &mut |e| exchanges.push(e),
                &mut diag,
            );
            proptest::prop_assert_eq!(&exchanges, &base.exchanges);
            proptest::prop_assert_eq!(format!("{diag:?}"), format!("{:?}", base.diag));
            proptest::prop_assert_eq!(
                result.map_err(|e| e.to_string()).map(|s| s.tcp_packets),
                base.result.map_err(|e| e.to_string()).map(|s| s.tcp_packets)
            );
        }
    }
}
