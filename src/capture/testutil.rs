//! Test support (not a pipeline step): builds frames with `etherparse::PacketBuilder`, writes
//! them as pcap/pcapng bytes, and runs `read_capture` on them.

use std::io::Cursor;
use std::sync::Arc;

use etherparse::PacketBuilder;

use super::{read_capture, CaptureError, CaptureOptions, CaptureStats};
use crate::diag::Diagnostics;
use crate::model::Exchange;

pub(crate) const CLIENT: [u8; 4] = [10, 0, 0, 1];
pub(crate) const SERVER: [u8; 4] = [10, 0, 0, 2];

pub(crate) const FIN: u8 = 0x01;
pub(crate) const SYN: u8 = 0x02;
pub(crate) const RST: u8 = 0x04;
pub(crate) const ACK: u8 = 0x10;

/// An Ethernet/IPv4/TCP frame.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp4(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src.0, dst.0, 64)
        .tcp(src.1, dst.1, seq, 65535);
    let b = with_flags(b, flags, ack);
    let mut v = Vec::new();
    b.write(&mut v, payload).expect("write to Vec");
    v
}

pub(crate) fn with_flags(
    mut b: etherparse::PacketBuilderStep<etherparse::TcpHeader>,
    flags: u8,
    ack: u32,
) -> etherparse::PacketBuilderStep<etherparse::TcpHeader> {
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & FIN != 0 {
        b = b.fin();
    }
    if flags & RST != 0 {
        b = b.rst();
    }
    if flags & ACK != 0 {
        b = b.ack(ack);
    }
    b
}

/// A frame with its capture time (µs).
pub(crate) type Frame = (i64, Vec<u8>);

/// A TCP conversation between CLIENT and SERVER:80, building frames in order.
pub(crate) struct Conv {
    pub cport: u16,
    pub sport: u16,
    pub cseq: u32,
    pub sseq: u32,
    pub ts: i64,
    pub frames: Vec<Frame>,
}

impl Conv {
    pub(crate) fn new(cport: u16) -> Self {
        Conv {
            cport,
            sport: 80,
            cseq: 1000,
            sseq: 5000,
            ts: 1_700_000_000_000_000,
            frames: Vec::new(),
        }
    }

    fn push(&mut self, frame: Vec<u8>) {
        self.ts += 1000;
        self.frames.push((self.ts, frame));
    }

    pub(crate) fn handshake(&mut self) -> &mut Self {
        let (c, s) = ((CLIENT, self.cport), (SERVER, self.sport));
        let f = tcp4(c, s, self.cseq, 0, SYN, b"");
        self.push(f);
        let f = tcp4(s, c, self.sseq, self.cseq + 1, SYN | ACK, b"");
        self.push(f);
        self.cseq += 1;
        self.sseq += 1;
        let f = tcp4(c, s, self.cseq, self.sseq, ACK, b"");
        self.push(f);
        self
    }

    /// Client data in segments of at most `mss` bytes.
    pub(crate) fn client(&mut self, data: &[u8], mss: usize) -> &mut Self {
        for chunk in data.chunks(mss.max(1)) {
            let f = tcp4(
                (CLIENT, self.cport),
                (SERVER, self.sport),
                self.cseq,
                self.sseq,
                ACK,
                chunk,
            );
            self.push(f);
            self.cseq = self.cseq.wrapping_add(chunk.len() as u32);
        }
        self
    }

    pub(crate) fn server(&mut self, data: &[u8], mss: usize) -> &mut Self {
        for chunk in data.chunks(mss.max(1)) {
            let f = tcp4(
                (SERVER, self.sport),
                (CLIENT, self.cport),
                self.sseq,
                self.cseq,
                ACK,
                chunk,
            );
            self.push(f);
            self.sseq = self.sseq.wrapping_add(chunk.len() as u32);
        }
        self
    }

    pub(crate) fn fins(&mut self) -> &mut Self {
        let (c, s) = ((CLIENT, self.cport), (SERVER, self.sport));
        let f = tcp4(c, s, self.cseq, self.sseq, FIN | ACK, b"");
        self.push(f);
        let f = tcp4(s, c, self.sseq, self.cseq + 1, FIN | ACK, b"");
        self.push(f);
        self.cseq += 1;
        self.sseq += 1;
        self
    }
}

/// A classic pcap file (link type `dlt`), little- or big-endian, micro- or nanosecond.
pub(crate) fn pcap(frames: &[Frame], dlt: u32, big_endian: bool, nanos: bool) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        if big_endian {
            v.extend_from_slice(&x.to_be_bytes())
        } else {
            v.extend_from_slice(&x.to_le_bytes())
        }
    };
    let w16 = |v: &mut Vec<u8>, x: u16| {
        if big_endian {
            v.extend_from_slice(&x.to_be_bytes())
        } else {
            v.extend_from_slice(&x.to_le_bytes())
        }
    };
    let mut v = Vec::new();
    w32(&mut v, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w16(&mut v, 2);
    w16(&mut v, 4);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, 262_144);
    w32(&mut v, dlt);
    for (ts, data) in frames {
        let secs = (ts / 1_000_000) as u32;
        let frac = if nanos {
            (ts % 1_000_000 * 1000) as u32
        } else {
            (ts % 1_000_000) as u32
        };
        w32(&mut v, secs);
        w32(&mut v, frac);
        w32(&mut v, data.len() as u32);
        w32(&mut v, data.len() as u32);
        v.extend_from_slice(data);
    }
    v
}

/// A pcapng block of type `typ` around `body` (padded), little-endian.
pub(crate) fn ng_block(v: &mut Vec<u8>, typ: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    v.extend_from_slice(&typ.to_le_bytes());
    v.extend_from_slice(&total.to_le_bytes());
    v.extend_from_slice(body);
    v.resize(v.len() + padded - body.len(), 0);
    v.extend_from_slice(&total.to_le_bytes());
}

/// A pcapng section header block (little-endian).
pub(crate) fn pcapng_shb(v: &mut Vec<u8>) {
    let mut b = Vec::new();
    b.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    ng_block(v, 0x0a0d_0d0a, &b);
}

/// An interface description block; `tsresol` 9 means nanoseconds.
pub(crate) fn pcapng_idb(v: &mut Vec<u8>, dlt: u16, tsresol: Option<u8>) {
    let mut b = Vec::new();
    b.extend_from_slice(&dlt.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&262_144u32.to_le_bytes());
    if let Some(r) = tsresol {
        b.extend_from_slice(&9u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&[r, 0, 0, 0]);
        b.extend_from_slice(&[0, 0, 0, 0]);
    }
    ng_block(v, 1, &b);
}

/// An enhanced packet block; `ts` in the interface's units.
pub(crate) fn pcapng_epb(v: &mut Vec<u8>, if_id: u32, ts: u64, data: &[u8]) {
    let mut b = Vec::new();
    b.extend_from_slice(&if_id.to_le_bytes());
    b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(ts as u32).to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    ng_block(v, 6, &b);
}

/// A simple packet block (interface 0, no time).
pub(crate) fn pcapng_spb(v: &mut Vec<u8>, data: &[u8]) {
    let mut b = Vec::new();
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    ng_block(v, 3, &b);
}

pub(crate) struct Outcome {
    pub exchanges: Vec<Exchange>,
    pub diag: Diagnostics,
    pub result: Result<CaptureStats, CaptureError>,
}

pub(crate) fn run_with(bytes: Vec<u8>, opts: &CaptureOptions) -> Outcome {
    let mut exchanges = Vec::new();
    let mut diag = Diagnostics::new();
    let result = read_capture(
        Box::new(Cursor::new(bytes)),
        Arc::from("test"),
        opts,
        &mut |e| exchanges.push(e),
        &mut diag,
    );
    Outcome {
        exchanges,
        diag,
        result,
    }
}

pub(crate) fn run(bytes: Vec<u8>) -> Outcome {
    run_with(bytes, &CaptureOptions::default())
}

/// Runs frames as an Ethernet pcap.
pub(crate) fn run_frames(frames: &[Frame]) -> Outcome {
    run(pcap(frames, 1, false, false))
}

/// (method, url, status) of each exchange, for compact assertions.
pub(crate) fn summary(o: &Outcome) -> Vec<(String, String, Option<u16>)> {
    o.exchanges
        .iter()
        .map(|e| {
            (
                e.request.method.clone(),
                e.request.url.clone(),
                e.response.as_ref().map(|r| r.status),
            )
        })
        .collect()
}

/// A lost span as the tests read it: (client, server, after, by).
pub(crate) type LossRow = (String, String, crate::model::Micros, crate::model::Micros);

/// What the capture records as lost (`model::loss`) for a generated conversation, read with
/// `workers` (0: the sequential reader) and `keylog`'s text, with the diagnostics of the read.
pub(crate) fn losses_and_diag(
    frames: &[Frame],
    keylog: &str,
    workers: usize,
) -> (Vec<LossRow>, Diagnostics) {
    let keys = super::tls::KeyLog::default();
    keys.add_text(keylog);
    let opts = CaptureOptions {
        losses: crate::model::loss::LossLog::new(),
        keylog: Arc::new(keys),
        ..CaptureOptions::default()
    };
    let mut diag = Diagnostics::new();
    let result = super::parallel::read_capture_parallel(
        Box::new(Cursor::new(pcap(frames, 1, false, false))),
        Arc::from("test"),
        &opts,
        workers,
        &mut |_| {},
        &mut diag,
    );
    assert!(result.is_ok(), "{result:?}");
    let losses = opts
        .losses
        .entries()
        .into_iter()
        .map(|l| (l.client.to_string(), l.server.to_string(), l.after, l.by))
        .collect();
    (losses, diag)
}

/// [`losses_and_diag`]'s losses, for the rule tests of the layers above HTTP/1.x.
pub(crate) fn losses_of(frames: &[Frame], keylog: &str, workers: usize) -> Vec<LossRow> {
    losses_and_diag(frames, keylog, workers).0
}
