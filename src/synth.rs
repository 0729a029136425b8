//! Synthetic inputs for benchmarks and memory tests: a deterministic generator of realistic CORS
//! traffic as a DevTools-style HAR (preflights, actual requests, a share of misconfigured
//! servers, base64 response bodies), seeded so every run writes the same bytes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

/// A small deterministic PRNG (SplitMix64): reproducible across platforms and versions.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[derive(Clone, Debug)]
pub struct HarSpec {
    pub seed: u64,
    /// Stop after roughly this many bytes.
    pub target_bytes: u64,
    /// Response body size range (bytes before base64).
    pub body_min: usize,
    pub body_max: usize,
}

impl Default for HarSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            target_bytes: 64 << 20,
            body_min: 2 << 10,
            body_max: 24 << 10,
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[allow(clippy::too_many_arguments)] // a private writer helper; a struct would only rename the list
fn entry(
    out: &mut dyn Write,
    t_ms: u64,
    method: &str,
    url: &str,
    req: &[(&str, String)],
    status: u16,
    resp: &[(&str, String)],
    body_b64: usize,
    rng: &mut Rng,
    extra: &str,
) -> io::Result<()> {
    let secs = t_ms / 1000;
    let time = format!(
        "2026-11-24T{:02}:{:02}:{:02}.{:03}Z",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
        t_ms % 1000
    );
    let hdrs = |h: &[(&str, String)]| {
        h.iter()
            .map(|(n, v)| format!("{{\"name\":\"{n}\",\"value\":\"{v}\"}}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let head = format!(
        "{{\"startedDateTime\":\"{time}\",\"time\":12.5,\"request\":{{\"method\":\"{method}\",\"url\":\"{url}\",\"httpVersion\":\"HTTP/1.1\",\"headers\":[{}],\"queryString\":[],\"cookies\":[],\"headersSize\":-1,\"bodySize\":0}},\"response\":{{\"status\":{status},\"statusText\":\"\",\"httpVersion\":\"HTTP/1.1\",\"headers\":[{}],\"cookies\":[],\"content\":{{\"size\":{},\"mimeType\":\"application/json\",\"encoding\":\"base64\",\"text\":\"",
        hdrs(req),
        hdrs(resp),
        body_b64 * 3 / 4
    );
    out.write_all(head.as_bytes())?;
    let mut line = [0u8; 4096];
    let mut left = body_b64;
    while left > 0 {
        let n = left.min(line.len());
        for b in line[..n].iter_mut() {
            *b = B64[(rng.next_u64() & 63) as usize];
        }
        out.write_all(&line[..n])?;
        left -= n;
    }
    let tail = format!(
        "\"}},\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":{body_b64}{extra}}},\"cache\":{{}},\"timings\":{{\"blocked\":-1,\"dns\":-1,\"connect\":-1,\"send\":0,\"wait\":10.1,\"receive\":2.4}},\"_resourceType\":\"fetch\",\"_initiator\":{{\"type\":\"script\"}}}}"
    );
    out.write_all(tail.as_bytes())
}

/// Counts what passes through, so the size target needs no bookkeeping at each write.
struct Counting<'a> {
    inner: &'a mut dyn Write,
    n: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a DevTools-style HAR of about `spec.target_bytes`; returns (bytes, entries).
pub fn write_har(out: &mut dyn Write, spec: &HarSpec) -> io::Result<(u64, u64)> {
    let mut out = Counting { inner: out, n: 0 };
    let entries = write_har_entries(&mut out, spec)?;
    Ok((out.n, entries))
}

/// The document; the size target is read off the counting writer as it goes.
fn write_har_entries(out: &mut Counting, spec: &HarSpec) -> io::Result<u64> {
    let mut rng = Rng::new(spec.seed);
    let head = "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"WebInspector\",\"version\":\"537.36\"},\"browser\":{\"name\":\"Chromium\",\"version\":\"156\"},\"pages\":[{\"startedDateTime\":\"2026-11-24T00:00:00.000Z\",\"id\":\"page_1\",\"title\":\"https://app.example.com/\",\"pageTimings\":{}}],\"entries\":[\n";
    out.write_all(head.as_bytes())?;
    let mut entries = 0u64;
    let mut t = 0u64;
    let origin = "https://app.example.com".to_string();
    while out.n < spec.target_bytes {
        let api = rng.below(40);
        let misconfigured = api % 7 == 3;
        let path = format!("https://api{api}.example.net/v1/items/{}", rng.below(1000));
        let preflight = rng.below(3) == 0;
        let body = spec.body_min + rng.below((spec.body_max - spec.body_min + 1) as u64) as usize;
        let body_b64 = body.div_ceil(3) * 4;
        let sep = |entries: u64| if entries == 0 { "" } else { ",\n" };
        let acao = if misconfigured {
            "https://other.example.com".to_string()
        } else {
            origin.clone()
        };
        if preflight {
            out.write_all(sep(entries).as_bytes())?;
            entry(
                out,
                t,
                "PUT",
                &path,
                &[
                    ("Origin", origin.clone()),
                    ("Content-Type", "application/json".into()),
                ],
                200,
                &[
                    ("Access-Control-Allow-Origin", acao.clone()),
                    ("Content-Type", "application/json".into()),
                ],
                body_b64,
                &mut rng,
                if misconfigured {
                    ",\"_error\":\"net::ERR_FAILED\""
                } else {
                    ""
                },
            )?;
            entries += 1;
            out.write_all(b",\n")?;
            entry(
                out,
                t + 1,
                "OPTIONS",
                &path,
                &[
                    ("Origin", origin.clone()),
                    ("Access-Control-Request-Method", "PUT".into()),
                    ("Access-Control-Request-Headers", "content-type".into()),
                ],
                204,
                &[
                    ("Access-Control-Allow-Origin", acao),
                    ("Access-Control-Allow-Methods", "GET, PUT".into()),
                    ("Access-Control-Allow-Headers", "Content-Type".into()),
                ],
                0,
                &mut rng,
                "",
            )?;
        } else {
            out.write_all(sep(entries).as_bytes())?;
            entry(
                out,
                t,
                "GET",
                &path,
                &[
                    ("Origin", origin.clone()),
                    ("Accept", "application/json".into()),
                ],
                200,
                &[
                    ("Access-Control-Allow-Origin", acao),
                    ("Content-Type", "application/json".into()),
                ],
                body_b64,
                &mut rng,
                if misconfigured {
                    ",\"_error\":\"net::ERR_FAILED\""
                } else {
                    ""
                },
            )?;
        }
        entries += 1;
        t += 1 + rng.below(40);
    }
    out.write_all(b"\n]}}\n")?;
    Ok(entries)
}

// ---------------------------------------------------------------------------------------------
// Synthetic packet captures
// ---------------------------------------------------------------------------------------------

/// What [`write_pcap`] generates. Sizes are bytes; every value has a realistic default.
#[derive(Clone, Debug)]
pub struct PcapSpec {
    pub seed: u64,
    /// Stop opening sessions once this many bytes are written; sessions under way are finished,
    /// so the file ends a little above it (at most a few MB).
    pub target_bytes: u64,
    /// Sessions running at once; their packets interleave in the capture.
    pub concurrent: usize,
    /// Distinct client IP addresses.
    pub clients: u32,
    /// Distinct API servers (hosts); about a third of them are misconfigured.
    pub servers: u32,
    /// Request and response body size range.
    pub body_min: usize,
    pub body_max: usize,
    /// TCP payload per segment.
    pub mss: usize,
    /// What the requests travel in: HTTP/1.1 in clear, HTTP/2 over TLS 1.3 or HTTP/3 over
    /// QUIC (both on port 443, their secrets in [`PcapCounts::keylog`]).
    pub wire: Wire,
    /// Share of requests (percent) that are no-cors subresource loads (images, scripts,
    /// styles: no `Origin`, no preflight) instead of CORS requests: most production traffic
    /// is not cross-origin. 0 keeps the generator's output as it was.
    pub non_cors_percent: u8,
}

impl Default for PcapSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            target_bytes: 64 << 20,
            concurrent: 1024,
            clients: 4000,
            servers: 40,
            body_min: 2 << 10,
            body_max: 24 << 10,
            mss: 1448,
            wire: Wire::Http1,
            non_cors_percent: 0,
        }
    }
}

/// The protocols a generated capture's requests travel in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wire {
    /// HTTP/1.1 in clear over TCP, on ports 80 and 8080.
    #[default]
    Http1,
    /// HTTP/2 over TLS 1.3 over TCP, on port 443.
    H2Tls,
    /// HTTP/3 over QUIC v1, on UDP port 443.
    H3Quic,
}

/// What a generated capture holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PcapCounts {
    pub bytes: u64,
    pub packets: u64,
    pub connections: u64,
    /// HTTP requests, preflights included.
    pub requests: u64,
    pub preflights: u64,
    /// NSS key log of the TLS sessions or QUIC connections ([`Wire::H2Tls`], [`Wire::H3Quic`]).
    pub keylog: String,
}

/// How an API server answers CORS requests (by server index, so it is the same for every
/// client and the summary shows stable per-endpoint verdicts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerKind {
    Correct,
    /// `Access-Control-Allow-Origin` names another origin.
    WrongOrigin,
    /// No CORS headers on actual responses (preflights are answered correctly).
    NoAcao,
    /// The preflight does not allow the requested `x-request-id` header.
    NarrowHeaders,
    /// The preflight answers 404 without CORS headers.
    PreflightNotFound,
    /// `*` with `Access-Control-Allow-Credentials: true` (fails for credentialed requests).
    Wildcard,
}

fn server_kind(i: u32) -> ServerKind {
    match i % 10 {
        3 => ServerKind::WrongOrigin,
        6 => ServerKind::NoAcao,
        8 if i % 20 == 8 => ServerKind::NarrowHeaders,
        8 => ServerKind::PreflightNotFound,
        9 if i % 20 == 19 => ServerKind::Wildcard,
        _ => ServerKind::Correct,
    }
}

type Addr = ([u8; 4], u16);

/// One connection of a session: TCP, with the next sequence number of each side (and its TLS
/// session), or QUIC.
struct SynConn {
    client: Addr,
    server: Addr,
    cseq: u32,
    sseq: u32,
    open: bool,
    tls: Option<Box<crate::capture::tls::synth::SynTls>>,
    quic: Option<Box<crate::capture::quic::synth::SynQuic>>,
}

/// One client talking to one API host over one or two keep-alive connections. Its packets are
/// sequential (a request, its answer, the next request…); sessions interleave.
struct Session {
    conns: Vec<SynConn>,
    /// Frames (Ethernet onwards) waiting to be written, in order, each with its delay (µs)
    /// after the frame before it.
    queue: std::collections::VecDeque<(u32, Vec<u8>)>,
    /// The delay of the next frame queued (think time, server wait, round trip).
    delay: u32,
    requests_left: u32,
    server: u32,
    origin: u32,
    credentialed: bool,
    closed: bool,
}

struct PcapGen<'a> {
    spec: &'a PcapSpec,
    rng: Rng,
    counts: PcapCounts,
    ip_id: u16,
    next_port: Vec<u16>,
    /// Random printable bytes that bodies are cut from (generating each byte would dominate).
    filler: Vec<u8>,
}

const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

impl PcapGen<'_> {
    fn origin(&self, i: u32) -> String {
        format!("https://app{i}.example.com")
    }

    fn host(&self, server: u32) -> String {
        if server % 4 == 1 {
            format!("api{server}.example.net:8080")
        } else {
            format!("api{server}.example.net")
        }
    }

    fn body(&mut self) -> usize {
        let (lo, hi) = (
            self.spec.body_min,
            self.spec.body_max.max(self.spec.body_min),
        );
        lo + self.rng.below((hi - lo + 1) as u64) as usize
    }

    fn filler(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.filler.len());
        let start = self.rng.below((self.filler.len() - n + 1) as u64) as usize;
        &self.filler[start..start + n]
    }

    /// An Ethernet + IPv4 + UDP frame; the UDP checksum is left 0 (none, over IPv4).
    fn udp_frame(&mut self, src: Addr, dst: Addr, payload: &[u8]) -> Vec<u8> {
        let mut udp = Vec::with_capacity(8);
        udp.extend_from_slice(&src.1.to_be_bytes());
        udp.extend_from_slice(&dst.1.to_be_bytes());
        udp.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        self.ip_frame(src, dst, 17, &udp, payload)
    }

    /// An Ethernet + IPv4 frame of protocol `proto` with its transport header and payload; the
    /// IPv4 header checksum is correct.
    fn ip_frame(
        &mut self,
        src: Addr,
        dst: Addr,
        proto: u8,
        transport: &[u8],
        payload: &[u8],
    ) -> Vec<u8> {
        let ip_len = 20 + transport.len() + payload.len();
        let mut f = Vec::with_capacity(14 + ip_len);
        let mac = |a: &Addr| [0x02, 0x42, a.0[0], a.0[1], a.0[2], a.0[3]];
        f.extend_from_slice(&mac(&dst));
        f.extend_from_slice(&mac(&src));
        f.extend_from_slice(&[0x08, 0x00]);
        self.ip_id = self.ip_id.wrapping_add(1);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
        ip[6] = 0x40; // don't fragment
        ip[8] = 64;
        ip[9] = proto;
        ip[12..16].copy_from_slice(&src.0);
        ip[16..20].copy_from_slice(&dst.0);
        let mut sum: u32 = ip
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(transport);
        f.extend_from_slice(payload);
        f
    }

    /// An Ethernet + IPv4 + TCP frame. TCP checksums are left 0, as on a capture taken with
    /// checksum offload.
    fn frame(
        &mut self,
        src: Addr,
        dst: Addr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let syn = flags & 0x02 != 0;
        let opts: &[u8] = if syn {
            // MSS 1460, SACK permitted, timestamps, window scale 7.
            &[
                2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
            ]
        } else {
            &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 1]
        };
        let tcp_len = 20 + opts.len();
        let mut tcp = Vec::with_capacity(tcp_len);
        tcp.extend_from_slice(&src.1.to_be_bytes());
        tcp.extend_from_slice(&dst.1.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&(if flags & 0x10 != 0 { ack } else { 0 }).to_be_bytes());
        tcp.push(((tcp_len / 4) as u8) << 4);
        tcp.push(flags);
        tcp.extend_from_slice(&(if syn { 64240u16 } else { 502 }).to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        tcp.extend_from_slice(opts);
        self.ip_frame(src, dst, 6, &tcp, payload)
    }

    fn new_session(&mut self) -> Session {
        let client_no = self.rng.below(u64::from(self.spec.clients.max(1))) as u32;
        let ip = [
            10,
            1 + (client_no >> 16) as u8,
            (client_no >> 8) as u8,
            client_no as u8,
        ];
        let server = self.rng.below(u64::from(self.spec.servers.max(1))) as u32;
        let sip = [172, 16, (server >> 8) as u8, 1 + server as u8];
        let sport = match (self.spec.wire, server % 4 == 1) {
            (Wire::Http1, true) => 8080,
            (Wire::Http1, false) => 80,
            _ => 443,
        };
        let n_conns = if self.rng.below(3) == 0 { 2 } else { 1 };
        let mut conns = Vec::new();
        for _ in 0..n_conns {
            let slot = client_no as usize % self.next_port.len();
            let port = self.next_port[slot];
            self.next_port[slot] = if port >= 60999 { 32768 } else { port + 1 };
            conns.push(SynConn {
                client: (ip, port),
                server: (sip, sport),
                cseq: self.rng.next_u64() as u32,
                sseq: self.rng.next_u64() as u32,
                open: false,
                tls: None,
                quic: None,
            });
            self.counts.connections += 1;
        }
        Session {
            conns,
            queue: std::collections::VecDeque::new(),
            delay: 0,
            requests_left: 1 + self.rng.below(12) as u32,
            server,
            origin: self.rng.below(6) as u32,
            credentialed: self.rng.below(3) == 0,
            closed: false,
        }
    }

    /// A random delay in `lo..=hi` µs.
    fn pause(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.rng.below(u64::from(hi.saturating_sub(lo)) + 1) as u32
    }

    /// Queues a frame: the session's pending delay (if any), else `gap`.
    fn push(s: &mut Session, gap: u32, frame: Vec<u8>) {
        let delay = if s.delay > 0 {
            std::mem::take(&mut s.delay)
        } else {
            gap
        };
        s.queue.push_back((delay, frame));
    }

    /// Sends `data` from one side in MSS-sized segments; the other side ACKs every second
    /// segment and the last one.
    fn send(&mut self, s: &mut Session, c: usize, from_client: bool, data: &[u8]) {
        if s.conns[c].quic.is_some() {
            return self.send_quic(s, c, from_client, data);
        }
        let wrapped;
        let data = match s.conns[c].tls.as_mut() {
            Some(t) => {
                wrapped = t.wrap(from_client, data);
                &wrapped[..]
            }
            None => data,
        };
        let mss = self.spec.mss.max(1);
        let chunks: Vec<&[u8]> = data.chunks(mss).collect();
        let n = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let conn = &s.conns[c];
            let (src, dst, seq, ack) = if from_client {
                (conn.client, conn.server, conn.cseq, conn.sseq)
            } else {
                (conn.server, conn.client, conn.sseq, conn.cseq)
            };
            let flags = if i + 1 == n { 0x18 } else { 0x10 }; // PSH on the last
            let f = self.frame(src, dst, seq, ack, flags, chunk);
            let gap = self.pause(10, 120);
            Self::push(s, gap, f);
            let conn = &mut s.conns[c];
            if from_client {
                conn.cseq = conn.cseq.wrapping_add(chunk.len() as u32);
            } else {
                conn.sseq = conn.sseq.wrapping_add(chunk.len() as u32);
            }
            if i % 2 == 1 || i + 1 == n {
                let conn = &s.conns[c];
                let (asrc, adst, aseq, aack) = if from_client {
                    (conn.server, conn.client, conn.sseq, conn.cseq)
                } else {
                    (conn.client, conn.server, conn.cseq, conn.sseq)
                };
                let f = self.frame(asrc, adst, aseq, aack, 0x10, &[]);
                let gap = self.pause(30, 300);
                Self::push(s, gap, f);
            }
        }
    }

    /// Sends `data` from one side over QUIC, a datagram per packet; the other side
    /// acknowledges every second one and the last.
    fn send_quic(&mut self, s: &mut Session, c: usize, from_client: bool, data: &[u8]) {
        let conn = &mut s.conns[c];
        let (from, to) = if from_client {
            (conn.client, conn.server)
        } else {
            (conn.server, conn.client)
        };
        let Some(q) = conn.quic.as_mut() else {
            return;
        };
        let datagrams = q.wrap(from_client, data);
        let n = datagrams.len();
        let mut acks = Vec::new();
        for (i, d) in datagrams.into_iter().enumerate() {
            let ack = (i % 2 == 1 || i + 1 == n)
                .then(|| q.ack(!from_client))
                .flatten();
            acks.push((d, ack));
        }
        for (d, ack) in acks {
            let f = self.udp_frame(from, to, &d);
            let gap = self.pause(10, 120);
            Self::push(s, gap, f);
            if let Some(a) = ack {
                let f = self.udp_frame(to, from, &a);
                let gap = self.pause(30, 300);
                Self::push(s, gap, f);
            }
        }
    }

    fn handshake(&mut self, s: &mut Session, c: usize) {
        if self.spec.wire == Wire::H3Quic {
            let rng = &mut self.rng;
            let o = crate::capture::quic::synth::SynQuic::open(&mut || rng.next_u64());
            self.counts.keylog.push_str(&o.keylog);
            let conn = &mut s.conns[c];
            let (cl, sv) = (conn.client, conn.server);
            conn.open = true;
            conn.quic = Some(Box::new(o.quic));
            let a = self.udp_frame(cl, sv, &o.client_initial);
            let b = self.udp_frame(sv, cl, &o.server_initial);
            let rtt = self.pause(300, 3000);
            Self::push(s, 0, a);
            Self::push(s, rtt, b);
            return;
        }
        let conn = &s.conns[c];
        let (cl, sv, cs, ss) = (conn.client, conn.server, conn.cseq, conn.sseq);
        let a = self.frame(cl, sv, cs, 0, 0x02, &[]);
        let b = self.frame(sv, cl, ss, cs.wrapping_add(1), 0x12, &[]);
        let d = self.frame(cl, sv, cs.wrapping_add(1), ss.wrapping_add(1), 0x10, &[]);
        let (rtt, gap) = (self.pause(300, 3000), self.pause(20, 100));
        Self::push(s, 0, a);
        Self::push(s, rtt, b);
        Self::push(s, gap, d);
        let conn = &mut s.conns[c];
        conn.cseq = cs.wrapping_add(1);
        conn.sseq = ss.wrapping_add(1);
        conn.open = true;
        if self.spec.wire == Wire::H2Tls {
            let rng = &mut self.rng;
            let o = crate::capture::tls::synth::SynTls::open(&mut || rng.next_u64());
            self.counts.keylog.push_str(&o.keylog);
            self.send(s, c, true, &o.client_hello);
            self.send(s, c, false, &o.server_flight);
            self.send(s, c, true, &o.client_finished);
            s.conns[c].tls = Some(Box::new(o.tls));
        }
    }

    fn close(&mut self, s: &mut Session) {
        for c in 0..s.conns.len() {
            let conn = &s.conns[c];
            if !conn.open {
                continue;
            }
            let (cl, sv, cs, ss) = (conn.client, conn.server, conn.cseq, conn.sseq);
            if let Some(q) = s.conns[c].quic.as_mut() {
                let close = q.close();
                let f = self.udp_frame(cl, sv, &close);
                let idle = self.pause(1_000, 50_000);
                Self::push(s, idle, f);
                continue;
            }
            let a = self.frame(cl, sv, cs, ss, 0x11, &[]);
            let b = self.frame(sv, cl, ss, cs.wrapping_add(1), 0x11, &[]);
            let d = self.frame(cl, sv, cs.wrapping_add(1), ss.wrapping_add(1), 0x10, &[]);
            let (idle, rtt, gap) = (
                self.pause(1_000, 50_000),
                self.pause(300, 3000),
                self.pause(20, 100),
            );
            Self::push(s, idle, a);
            Self::push(s, rtt, b);
            Self::push(s, gap, d);
        }
        s.closed = true;
    }

    fn use_conn(&mut self, s: &mut Session, c: usize) {
        if !s.conns[c].open {
            self.handshake(s, c);
        }
    }

    /// One request and its answers, queued: a no-cors subresource for
    /// [`PcapSpec::non_cors_percent`] of them, else a CORS request (with its preflight when
    /// it needs one).
    fn request(&mut self, s: &mut Session, t_us: i64) {
        // Drawn only when asked for, so captures without non-CORS traffic stay as they were.
        let pct = u64::from(self.spec.non_cors_percent);
        if pct > 0 && self.rng.below(100) < pct {
            return self.asset(s, t_us);
        }
        let r = self.cors_lines(s, t_us);
        let roll = self.rng.below(100);
        let c = self.pick_conn(s);
        let (method, req_body, preflight) = match roll {
            0..=44 => ("GET", 0, false),
            45..=64 => ("POST", self.body(), false),
            65..=84 => ("PUT", self.body(), true),
            _ => ("PATCH", self.body(), true),
        };
        if preflight && !self.preflight(s, &r, c, method) {
            // The browser never sends the actual request.
            return;
        }
        self.actual(s, &r, c, (method, req_body, preflight));
    }

    /// The connection of a session a request goes on (either of two, at random).
    fn pick_conn(&mut self, s: &Session) -> usize {
        usize::from(s.conns.len() > 1 && self.rng.below(2) == 0)
    }

    /// The `Cookie` line of a credentialed session's request (empty otherwise).
    fn cookie_line(&mut self, s: &Session) -> String {
        if s.credentialed {
            format!("Cookie: sid={:016x}\r\n", self.rng.next_u64())
        } else {
            String::new()
        }
    }

    /// The target and the head lines a CORS request and its preflight share.
    fn cors_lines(&mut self, s: &Session, t_us: i64) -> CorsLines {
        let kind = server_kind(s.server);
        let origin = self.origin(s.origin);
        let host = self.host(s.server);
        let item = self.rng.below(500);
        let path = format!("/v1/items/{item}?v={}", self.rng.below(1_000_000));
        let cookie = self.cookie_line(s);
        let common = format!(
            "Host: {host}\r\nConnection: keep-alive\r\nOrigin: {origin}\r\nReferer: {origin}/\r\nUser-Agent: {USER_AGENT}\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n"
        );
        let acao = match kind {
            ServerKind::WrongOrigin => "Access-Control-Allow-Origin: https://www.example.org\r\n".to_string(),
            ServerKind::NoAcao => String::new(),
            ServerKind::Wildcard => "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\n".to_string(),
            _ => format!("Access-Control-Allow-Origin: {origin}\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n"),
        };
        CorsLines {
            kind,
            origin,
            path,
            cookie,
            date: date_line(t_us),
            common,
            acao,
        }
    }

    /// A preflight for `method` and its answer, queued; whether the browser goes on to send
    /// the actual request.
    fn preflight(&mut self, s: &mut Session, r: &CorsLines, c: usize, method: &str) -> bool {
        self.counts.requests += 1;
        self.counts.preflights += 1;
        // Preflights go out uncredentialed: Chromium puts them on the other connection
        // of a session that has two.
        let pc = if s.conns.len() > 1 { 1 - c } else { c };
        self.use_conn(s, pc);
        let CorsLines {
            path,
            common,
            date,
            acao,
            origin,
            ..
        } = r;
        let head = format!(
            "OPTIONS {path} HTTP/1.1\r\n{common}Accept: */*\r\nAccess-Control-Request-Method: {method}\r\nAccess-Control-Request-Headers: content-type,x-request-id\r\n\r\n"
        );
        self.send(s, pc, true, head.as_bytes());
        let resp = match r.kind {
            ServerKind::PreflightNotFound => format!(
                "HTTP/1.1 404 Not Found\r\n{date}Server: nginx\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nnot found"
            ),
            ServerKind::NarrowHeaders => format!(
                "HTTP/1.1 204 No Content\r\n{date}Server: nginx\r\n{acao}Access-Control-Allow-Methods: GET, POST, PUT, PATCH\r\nAccess-Control-Allow-Headers: content-type\r\nAccess-Control-Max-Age: 600\r\n\r\n"
            ),
            ServerKind::NoAcao => format!(
                "HTTP/1.1 204 No Content\r\n{date}Server: nginx\r\nAccess-Control-Allow-Origin: {origin}\r\nAccess-Control-Allow-Credentials: true\r\nAccess-Control-Allow-Methods: GET, POST, PUT, PATCH\r\nAccess-Control-Allow-Headers: content-type, x-request-id\r\nAccess-Control-Max-Age: 600\r\n\r\n"
            ),
            _ => format!(
                "HTTP/1.1 204 No Content\r\n{date}Server: nginx\r\n{acao}Access-Control-Allow-Methods: GET, POST, PUT, PATCH\r\nAccess-Control-Allow-Headers: content-type, x-request-id\r\nAccess-Control-Max-Age: 600\r\n\r\n"
            ),
        };
        // The server takes a moment to answer.
        s.delay = self.pause(500, 20_000);
        self.send(s, pc, false, resp.as_bytes());
        match r.kind {
            ServerKind::PreflightNotFound | ServerKind::NarrowHeaders | ServerKind::WrongOrigin => {
                false
            }
            ServerKind::Wildcard => !s.credentialed,
            _ => true,
        }
    }

    /// The actual CORS request `(method, body bytes, preflighted)` and its answer, queued.
    fn actual(&mut self, s: &mut Session, r: &CorsLines, c: usize, req: (&str, usize, bool)) {
        let (method, req_body, preflight) = req;
        self.counts.requests += 1;
        self.use_conn(s, c);
        let CorsLines {
            path,
            common,
            cookie,
            ..
        } = r;
        let mut head =
            format!("{method} {path} HTTP/1.1\r\n{common}{cookie}Accept: application/json\r\n");
        if req_body > 0 {
            let ct = if preflight {
                "application/json"
            } else {
                "text/plain;charset=UTF-8"
            };
            head.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {req_body}\r\n"
            ));
            if preflight {
                head.push_str(&format!(
                    "X-Request-Id: {:08x}\r\n",
                    self.rng.next_u64() as u32
                ));
            }
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        let filler = self.filler(req_body).to_vec();
        bytes.extend_from_slice(&filler);
        self.send(s, c, true, &bytes);
        let resp_body = if method == "GET" || self.rng.below(2) == 0 {
            self.body()
        } else {
            self.rng.below(200) as usize + 16
        };
        let chunked = self.rng.below(5) == 0;
        let resp = format!(
            "HTTP/1.1 200 OK\r\n{}Server: nginx\r\nContent-Type: application/json\r\n{}Cache-Control: no-store\r\n",
            r.date, r.acao
        );
        let body = self.filler(resp_body).to_vec();
        let out = if chunked {
            chunked_message(resp, &body)
        } else {
            sized_message(resp, &body)
        };
        s.delay = self.pause(1_000, 80_000);
        self.send(s, c, false, &out);
    }

    /// A no-cors subresource load (an image, script or style of the page from the API host:
    /// no `Origin`, not a preflight, so CORS does not govern it) and its cacheable answer,
    /// queued.
    fn asset(&mut self, s: &mut Session, t_us: i64) {
        const ASSETS: [(&str, &str, &str); 3] = [
            ("image", "png", "image/png"),
            ("script", "js", "text/javascript"),
            ("style", "css", "text/css"),
        ];
        let (dest, ext, ctype) = ASSETS[self.rng.below(ASSETS.len() as u64) as usize];
        let (host, origin) = (self.host(s.server), self.origin(s.origin));
        let item = self.rng.below(500);
        let cookie = self.cookie_line(s);
        let c = self.pick_conn(s);
        self.counts.requests += 1;
        self.use_conn(s, c);
        let head = format!(
            "GET /static/{item}.{ext} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\nReferer: {origin}/\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: {dest}\r\n{cookie}\r\n"
        );
        self.send(s, c, true, head.as_bytes());
        let n = self.body();
        let resp = format!(
            "HTTP/1.1 200 OK\r\n{}Server: nginx\r\nContent-Type: {ctype}\r\nCache-Control: public, max-age=86400\r\nETag: \"{item:x}\"\r\n",
            date_line(t_us)
        );
        let body = self.filler(n).to_vec();
        let out = sized_message(resp, &body);
        s.delay = self.pause(1_000, 80_000);
        self.send(s, c, false, &out);
    }
}

/// What a CORS request and its preflight share (see [`PcapGen::cors_lines`]).
struct CorsLines {
    kind: ServerKind,
    origin: String,
    path: String,
    /// `Cookie` line (credentialed sessions), `Date` line, and the head lines every request
    /// of the flow sends; the `Access-Control-Allow-*` lines of the server's answers.
    cookie: String,
    date: String,
    common: String,
    acao: String,
}

/// The `Date` line of an answer at `t_us` (capture time).
fn date_line(t_us: i64) -> String {
    let secs = (t_us / 1_000_000).rem_euclid(86_400);
    format!(
        "Date: Tue, 24 Nov 2026 {:02}:{:02}:{:02} GMT\r\n",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A response `head` (status line and fields, no blank line) with `body` and its
/// `Content-Length`.
fn sized_message(mut head: String, body: &[u8]) -> Vec<u8> {
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A response `head` with `body` in 4 KiB chunks.
fn chunked_message(mut head: String, body: &[u8]) -> Vec<u8> {
    head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    let mut out = head.into_bytes();
    for part in body.chunks(4096) {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Writes a deterministic Ethernet/IPv4 pcap of CORS traffic: `spec.concurrent` interleaved
/// sessions (one client, one API host, one or two keep-alive connections each), simple and
/// preflighted requests with multi-segment bodies, ACKs, handshakes and FINs, a share of
/// misconfigured servers. Returns what was written.
pub fn write_pcap(out: &mut dyn Write, spec: &PcapSpec) -> io::Result<PcapCounts> {
    let mut g = PcapGen {
        spec,
        rng: Rng::new(spec.seed),
        counts: PcapCounts::default(),
        ip_id: 0,
        next_port: vec![32768; 4096],
        filler: Vec::new(),
    };
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789{}\":, ";
    g.filler = (0..(spec.body_max.max(64) + 4096))
        .map(|_| alphabet[g.rng.below(alphabet.len() as u64) as usize])
        .collect();
    // pcap header: little-endian, microseconds, v2.4, snaplen 262144, Ethernet.
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&262_144u32.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes());
    out.write_all(&header)?;
    g.counts.bytes = 24;
    // 2026-11-24T08:00:00Z
    let mut now: i64 = 1_795_507_200_000_000;
    // Sessions by the time of their next frame (then id, so ties are deterministic).
    let mut slots: Vec<Option<Session>> = Vec::new();
    let mut queue: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
    let mut opening = true;
    for _ in 0..spec.concurrent.max(1) {
        let s = g.new_session();
        // Staggered starts over the first second.
        let start = now + g.rng.below(1_000_000) as i64;
        queue.push(Reverse((start, slots.len())));
        slots.push(Some(s));
    }
    while let Some(Reverse((t, id))) = queue.pop() {
        now = now.max(t);
        let Some(mut s) = slots.get_mut(id).and_then(Option::take) else {
            continue;
        };
        if s.queue.is_empty() {
            if s.requests_left > 0 && opening {
                s.requests_left -= 1;
                // Think time between the page's fetches on its keep-alive connections.
                s.delay = g.pause(50_000, 4_000_000);
                g.request(&mut s, now);
            } else if !s.closed {
                g.close(&mut s);
            } else {
                // Closed and drained: the session is over; another client takes its place.
                if opening {
                    let fresh = g.new_session();
                    let start = now + g.rng.below(50_000) as i64;
                    queue.push(Reverse((start, id)));
                    if let Some(slot) = slots.get_mut(id) {
                        *slot = Some(fresh);
                    }
                }
                continue;
            }
            // The first frame of what was just queued is due after its delay.
            let next = s.queue.front().map_or(0, |(d, _)| i64::from(*d));
            queue.push(Reverse((now + next, id)));
            if let Some(slot) = slots.get_mut(id) {
                *slot = Some(s);
            }
            continue;
        }
        let Some((_, frame)) = s.queue.pop_front() else {
            continue;
        };
        let mut rec = Vec::with_capacity(16);
        rec.extend_from_slice(&((now / 1_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&((now % 1_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.write_all(&rec)?;
        out.write_all(&frame)?;
        g.counts.bytes += 16 + frame.len() as u64;
        g.counts.packets += 1;
        if g.counts.bytes >= spec.target_bytes {
            opening = false;
        }
        // The next frame of this session goes out after its delay; an empty queue is refilled
        // at once (the next request's think time is the delay of its first frame).
        let next = s.queue.front().map_or(0, |(d, _)| i64::from(*d));
        queue.push(Reverse((now + next, id)));
        if let Some(slot) = slots.get_mut(id) {
            *slot = Some(s);
        }
    }
    Ok(g.counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_readable() {
        let spec = HarSpec {
            target_bytes: 200_000,
            ..HarSpec::default()
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        let (n, entries) = write_har(&mut a, &spec).unwrap();
        write_har(&mut b, &spec).unwrap();
        assert_eq!(a, b);
        assert_eq!(n as usize, a.len());
        let doc: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(
            doc["log"]["entries"].as_array().unwrap().len() as u64,
            entries
        );
    }

    #[test]
    fn pcap_generator_is_deterministic_and_readable() {
        let spec = PcapSpec {
            target_bytes: 400_000,
            concurrent: 16,
            ..PcapSpec::default()
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        let counts = write_pcap(&mut a, &spec).unwrap();
        write_pcap(&mut b, &spec).unwrap();
        assert_eq!(a, b);
        assert_eq!(counts.bytes as usize, a.len());
        assert!(a.len() >= 400_000);
        let mut seen = 0u64;
        let mut diag = crate::diag::Diagnostics::new();
        let stats = crate::capture::read_capture(
            Box::new(std::io::Cursor::new(a)),
            std::sync::Arc::from("synth.pcap"),
            &crate::capture::CaptureOptions::default(),
            &mut |_| seen += 1,
            &mut diag,
        )
        .unwrap();
        assert_eq!(stats.packets, counts.packets);
        assert_eq!(seen, counts.requests);
        assert!(diag.is_empty(), "{diag:?}");
    }

    #[test]
    fn non_cors_share_makes_no_cors_subresource_loads() {
        let spec = |non_cors_percent| PcapSpec {
            target_bytes: 400_000,
            concurrent: 16,
            non_cors_percent,
            ..PcapSpec::default()
        };
        let mut plain = Vec::new();
        let cors = write_pcap(&mut plain, &spec(0)).unwrap();
        let mut mixed = Vec::new();
        let counts = write_pcap(&mut mixed, &spec(90)).unwrap();
        let mut origins = 0u64;
        let mut diag = crate::diag::Diagnostics::new();
        let mut seen = 0u64;
        crate::capture::read_capture(
            Box::new(std::io::Cursor::new(mixed)),
            std::sync::Arc::from("synth.pcap"),
            &crate::capture::CaptureOptions::default(),
            &mut |x| {
                seen += 1;
                origins += u64::from(x.request.headers.contains("origin"));
            },
            &mut diag,
        )
        .unwrap();
        assert_eq!(seen, counts.requests);
        assert!(diag.is_empty(), "{diag:?}");
        // About nine in ten requests carry no Origin (CORS requests and preflights all do).
        let share = 100 * (seen - origins) / seen;
        assert!((80..=95).contains(&share), "{share} % without Origin");
        assert!(
            counts.preflights * 4 < cors.preflights,
            "{counts:?} {cors:?}"
        );
    }
}
