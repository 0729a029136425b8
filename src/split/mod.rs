//! Sharding (`corscope split`): streams captures into N pcapng files by a stable hash of the
//! client, so that each shard can be analysed on its own and the shards' records together
//! are the single run's. HARs are split by page where that is exact (`split_har`).
//!
//! Every piece of CORS state belongs to one browser (preflight cache, cookie jar, the
//! connection-credentials pools, redirect chains, pairing keyed by client), so sharding by
//! client keeps what is decided together in one shard. The client of a TCP connection is the
//! side that sent the SYN; lacking the handshake, the side whose first payload is a request
//! line or a TLS ClientHello (the receiver of a status line or a ServerHello); lacking both,
//! the side with the higher port. The decision is made at the connection's first packet and
//! remembered, so both directions of a connection always land in the same shard.
//!
//! Behind a proxy the browser's address is only in the HTTP headers (`Forwarded`,
//! `X-Forwarded-For`, see `capture::proxy`), and one proxy connection carries requests of
//! many browsers: a packet cannot be cut between them. Such captures are sharded by the
//! connecting address (the proxy's): exact, but all of one proxy's traffic is one shard.
//!
//! Inputs given together are one stream in time (rotated `tcpdump -C`/`-G` files): they are
//! read in natural order (`cap`, `cap1`, …, `cap10`) and their packets go out in that order,
//! so a connection crossing a file boundary is whole in its shard. An input, or a part of one
//! (a joined file, a section, times that jump back: `CaptureError::PartsOutOfOrder`), that
//! starts more than 10 s before the packets before it end is another recording: it starts a
//! new section in every shard, which `analyze` reads as a capture of its own (as it reads that
//! part of the unsplit input) wherever it starts more than 10 s before the shard's packets
//! before it end.

pub mod har;

use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::capture::decode::{self, Decoded, LinkType, Segment};
use crate::capture::reader::{PacketReader, RawPacket};
use crate::capture::tcp::{Endpoint, FlowKey};
use crate::capture::{behind, CaptureError, CaptureOptions};
use crate::fnv::Fnv1a;
use crate::input::{self, Format, Input, InputError};
use crate::model::Micros;

/// Most shards (open files) one run writes.
pub(crate) const MAX_SHARDS: usize = 4096;

/// Connections remembered with their client; past it, those idle for [`FORGET_US`] are
/// forgotten (a forgotten connection seen again is decided again, by the same rules).
const MAX_REMEMBERED: usize = 1 << 20;
const FORGET_US: Micros = 300_000_000;

/// Bytes of IP fragments held while waiting for their datagram's first fragment (which has
/// the ports); past it they go to shard 0.
const MAX_HELD_FRAGMENT_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SplitError {
    #[error("--shards must be between 1 and {MAX_SHARDS}")]
    Shards,
    #[error("{path}: {source}")]
    Input {
        path: String,
        #[source]
        source: InputError,
    },
    #[error("{path}: {source}")]
    Capture {
        path: String,
        #[source]
        source: CaptureError,
    },
    #[error("{path}: not a HAR: {source}")]
    HarJson {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {what}")]
    HarShape { path: String, what: String },
    #[error("{path}: {source}")]
    Output {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// What a split did.
#[derive(Debug, Default)]
pub(crate) struct SplitStats {
    pub packets: u64,
    pub bytes: u64,
    /// Packets per shard.
    pub per_shard: Vec<u64>,
    pub files: Vec<PathBuf>,
    /// Inputs, and parts of inputs (joined files, pcapng sections), whose first packet is
    /// more than [`crate::capture::MAX_CLOCK_LAG_US`] older than the last packet before it (given out of time
    /// order, or overlapping captures): each went into a new section of every shard, which
    /// `analyze` reads as a capture of its own (the input's name, and the part's byte offset
    /// in it).
    pub out_of_order_inputs: Vec<(String, Option<u64>)>,
    /// IP fragments whose datagram's first fragment never came (written to shard 0).
    pub unplaced_fragments: u64,
    /// HAR inputs, each split on its own (`split_har`): a HAR is one browser, never one
    /// stream with other inputs.
    pub hars: Vec<crate::split::har::HarSplit>,
}

/// The shard of a client address: FNV-1a over its bytes, stable across runs and machines.
pub(crate) fn client_shard(ip: IpAddr, n: usize) -> usize {
    let mut h = Fnv1a::default();
    ip.hash(&mut h);
    (h.finish() % n.max(1) as u64) as usize
}

/// Which side of a connection a payload's sender is, from its first bytes: `Some(true)` the
/// client (request line, HTTP/2 preface, TLS ClientHello), `Some(false)` the server (status
/// line, TLS ServerHello), `None` cannot tell.
fn sender_is_client(payload: &[u8]) -> Option<bool> {
    if payload.starts_with(b"HTTP/1.") {
        return Some(false);
    }
    if let [0x16, 0x03, _, _, _, hs, ..] = payload {
        return match hs {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        };
    }
    let token = payload.iter().take(16).position(|b| *b == b' ')?;
    let method = payload.get(..token)?;
    (crate::capture::http::KNOWN_METHODS.contains(&method) || method == b"PRI").then_some(true)
}

/// The client of a connection first seen with this segment (see the module docs).
fn decide_client(seg: &Segment<'_>) -> IpAddr {
    let (src, dst) = (seg.src, seg.dst);
    if seg.flags.syn() {
        return if seg.flags.ack() { dst.ip } else { src.ip };
    }
    match sender_is_client(seg.payload) {
        Some(true) => src.ip,
        Some(false) => dst.ip,
        // Servers listen on low ports, clients get ephemeral (high) ones.
        None if src.port != dst.port => {
            if src.port > dst.port {
                src.ip
            } else {
                dst.ip
            }
        }
        None => src.ip.min(dst.ip),
    }
}

/// A fragment's datagram: (source, destination, identification, protocol).
type FragKey = (IpAddr, IpAddr, u32, u8);

/// One packet as written out.
struct Held {
    ts: Micros,
    dlt: i32,
    orig_len: u32,
    data: Vec<u8>,
}

/// Decides each packet's shard.
struct Router {
    n: usize,
    conns: HashMap<FlowKey, (IpAddr, Micros)>,
    /// Datagrams whose first fragment placed them.
    frags: HashMap<FragKey, usize>,
    /// Fragments waiting for their first fragment.
    held: HashMap<FragKey, Vec<Held>>,
    held_bytes: usize,
}

enum Route {
    Shard(usize),
    /// A fragment held until its first fragment comes.
    Hold(FragKey),
}

impl Router {
    fn connection(
        &mut self,
        src: Endpoint,
        dst: Endpoint,
        seg: Option<&Segment<'_>>,
        ts: Micros,
    ) -> usize {
        let (key, _) = FlowKey::of(src, dst);
        if self.conns.len() >= MAX_REMEMBERED {
            let cutoff = ts.saturating_sub(FORGET_US);
            self.conns.retain(|_, (_, last)| *last >= cutoff);
        }
        let entry = self.conns.entry(key).or_insert_with(|| {
            let ip = seg.map_or_else(
                || if src.port > dst.port { src.ip } else { dst.ip },
                decide_client,
            );
            (ip, ts)
        });
        entry.1 = entry.1.max(ts);
        client_shard(entry.0, self.n)
    }

    /// Whether the connection of these endpoints was seen (a QUIC short header belongs to
    /// one only then).
    fn knows(&self, src: Endpoint, dst: Endpoint) -> bool {
        self.conns.contains_key(&FlowKey::of(src, dst).0)
    }

    fn route(&mut self, decoded: Decoded<'_>, ts: Micros) -> Route {
        match decoded {
            Decoded::Tcp(seg) => Route::Shard(self.connection(seg.src, seg.dst, Some(&seg), ts)),
            Decoded::Quic(u) if u.opens || self.knows(u.src, u.dst) => {
                Route::Shard(self.connection(u.src, u.dst, None, ts))
            }
            Decoded::Fragment(f) => {
                let key = (f.src, f.dst, f.id, f.proto);
                if let Some(s) = self.frags.get(&key) {
                    return Route::Shard(*s);
                }
                let ports = match f.data {
                    [a, b, c, d, ..] if f.offset == 0 => {
                        Some((u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d])))
                    }
                    _ => None,
                };
                let Some((sp, dp)) = ports else {
                    return Route::Hold(key);
                };
                let (src, dst) = (
                    Endpoint {
                        ip: f.src,
                        port: sp,
                    },
                    Endpoint {
                        ip: f.dst,
                        port: dp,
                    },
                );
                let s = self.connection(src, dst, None, ts);
                if self.frags.len() >= MAX_REMEMBERED {
                    self.frags.clear();
                }
                self.frags.insert(key, s);
                Route::Shard(s)
            }
            // Not TCP, or undecodable: shard 0, so its warnings are counted once.
            _ => Route::Shard(0),
        }
    }
}

/// One output file: a pcapng section with an interface per link type met.
struct ShardWriter {
    out: BufWriter<File>,
    path: PathBuf,
    interfaces: Vec<i32>,
    packets: u64,
}

impl ShardWriter {
    fn create(path: PathBuf) -> Result<Self, SplitError> {
        let file = File::create(&path).map_err(|e| output_error(&path, e))?;
        let mut w = ShardWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            path,
            interfaces: Vec::new(),
            packets: 0,
        };
        w.section().map_err(|e| output_error(&w.path, e))?;
        Ok(w)
    }

    /// Starts a section (the file's first, or one for a part out of time order): its
    /// interfaces are described again as packets need them.
    fn section(&mut self) -> io::Result<()> {
        // Section Header Block: byte-order magic, version 1.0, section length unknown.
        let mut shb = Vec::with_capacity(28);
        shb.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        self.out.write_all(&shb)?;
        self.interfaces.clear();
        Ok(())
    }

    fn write(&mut self, ts: Micros, dlt: i32, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let iface = match self.interfaces.iter().position(|d| *d == dlt) {
            Some(i) => i,
            None => {
                // Interface Description Block: link type, no snapshot limit, default
                // microsecond timestamps (the resolution the reader keeps).
                let mut idb = [0u8; 20];
                idb[0..4].copy_from_slice(&1u32.to_le_bytes());
                idb[4..8].copy_from_slice(&20u32.to_le_bytes());
                idb[8..10].copy_from_slice(&(dlt as u16).to_le_bytes());
                idb[16..20].copy_from_slice(&20u32.to_le_bytes());
                self.out.write_all(&idb)?;
                self.interfaces.push(dlt);
                self.interfaces.len() - 1
            }
        };
        let pad = (4 - data.len() % 4) % 4;
        let total = (32 + data.len() + pad) as u32;
        let ts = ts as u64;
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&6u32.to_le_bytes());
        head[4..8].copy_from_slice(&total.to_le_bytes());
        head[8..12].copy_from_slice(&(iface as u32).to_le_bytes());
        head[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
        head[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
        head[20..24].copy_from_slice(&(data.len() as u32).to_le_bytes());
        head[24..28].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..pad])?;
        self.out.write_all(&total.to_le_bytes())?;
        self.packets += 1;
        Ok(())
    }
}

/// Orders names as people number files: digit runs compare as numbers (`cap2` < `cap10`).
fn natural_key(s: &str) -> Vec<(u8, u128, String)> {
    let mut key = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            let (d, r) = rest.split_at(digits);
            key.push((0, d.parse().unwrap_or(u128::MAX), d.to_owned()));
            rest = r;
        } else {
            let text = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let (t, r) = rest.split_at(text);
            key.push((1, 0, t.to_owned()));
            rest = r;
        }
    }
    key
}

/// The shard files' names: `shard-03-of-07.pcapng`.
pub(crate) fn shard_path(dir: &Path, i: usize, n: usize) -> PathBuf {
    let w = n.to_string().len();
    dir.join(format!("shard-{i:0w$}-of-{n:0w$}.pcapng"))
}

/// Splits `inputs` into `n` files each in `dir`: the captures (one stream in time) into
/// pcapng files, each HAR into HAR files of its own (see `split_har`).
pub(crate) fn split(
    inputs: &[String],
    n: usize,
    dir: &Path,
    opts: &CaptureOptions,
) -> Result<SplitStats, SplitError> {
    if n == 0 || n > MAX_SHARDS {
        return Err(SplitError::Shards);
    }
    std::fs::create_dir_all(dir).map_err(|e| output_error(dir, e))?;
    let mut stats = SplitStats::default();
    let captures = split_hars(inputs, n, dir, &mut stats)?;
    if captures.is_empty() {
        return Ok(stats);
    }
    let mut sharder = Sharder::create(n, dir, stats)?;
    for (path, opened) in captures {
        sharder.capture(path, opened, opts)?;
    }
    sharder.finish()
}

/// A write to `path` that failed.
pub(crate) fn output_error(path: &Path, source: io::Error) -> SplitError {
    SplitError::Output {
        path: path.display().to_string(),
        source,
    }
}

/// Opens `inputs` in natural order and splits each HAR on its own (a HAR is one browser);
/// returns the captures, in that order, for the sharder: they are one stream in time.
fn split_hars<'a>(
    inputs: &'a [String],
    n: usize,
    dir: &Path,
    stats: &mut SplitStats,
) -> Result<Vec<(&'a String, Input)>, SplitError> {
    let mut order: Vec<&String> = inputs.iter().collect();
    order.sort_by_cached_key(|p| natural_key(p));
    let mut captures = Vec::new();
    for path in order {
        let opened = input::open(path).map_err(|source| SplitError::Input {
            path: path.clone(),
            source,
        })?;
        if opened.format != Format::Har {
            captures.push((path, opened));
            continue;
        }
        // Two HARs of one file name (in different directories) would write the same files.
        let first_file = crate::split::har::har_shard_path(dir, path, 0, n);
        if stats
            .hars
            .iter()
            .any(|h| h.files.first() == Some(&first_file))
        {
            return Err(SplitError::HarShape {
                path: path.clone(),
                what: "another HAR of this file name was split into the same files (give the HARs distinct names)".into(),
            });
        }
        let har = crate::split::har::split_har(path, opened.reader, n, dir)?;
        stats.hars.push(har);
    }
    Ok(captures)
}

/// The captures' side of a split: the shard files, the router deciding each packet's
/// shard, and what is counted, across all the captures (one stream in time).
struct Sharder {
    writers: Vec<ShardWriter>,
    router: Router,
    /// The time of the last timed packet read, to tell inputs given out of time order (as
    /// the capture reader tells parts: against where the one before ended).
    last_ts: Micros,
    stats: SplitStats,
}

impl Sharder {
    /// Creates the `n` shard files in `dir`.
    fn create(n: usize, dir: &Path, stats: SplitStats) -> Result<Self, SplitError> {
        let writers = (0..n)
            .map(|i| ShardWriter::create(shard_path(dir, i, n)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sharder {
            writers,
            router: Router {
                n,
                conns: HashMap::new(),
                frags: HashMap::new(),
                held: HashMap::new(),
                held_bytes: 0,
            },
            last_ts: Micros::MIN,
            stats,
        })
    }

    /// Shards every packet of one capture; the first write error stops it. A part of it out
    /// of time order ([`CaptureError::PartsOutOfOrder`]) goes on in a new section of every
    /// shard, read from the rest the reader left ([`crate::capture::Rest`]), as `analyze`
    /// reads such a part as a capture of its own.
    fn capture(
        &mut self,
        path: &str,
        opened: Input,
        opts: &CaptureOptions,
    ) -> Result<(), SplitError> {
        let capture_error = |source| SplitError::Capture {
            path: path.to_owned(),
            source,
        };
        let mut opts = opts.clone();
        opts.rest = crate::capture::Rest::default();
        let mut source: Box<dyn io::Read + Send> = Box::new(opened.reader);
        let (mut part, mut runs) = (None, 1);
        loop {
            let mut reader = PacketReader::new(source, &opts).map_err(capture_error)?;
            let result = self.shard_packets(path, part, &mut reader);
            // As `analyze` reads parts (past its limit, the rest as one); each part's run
            // starts past the last one's start.
            let Err(SplitError::Capture { source: e, .. }) = &result else {
                return result;
            };
            let Some(resume) = e.resume_at(0, true, runs).filter(|r| Some(r.offset) > part) else {
                return result;
            };
            let Some(rest) = opts.rest.take() else {
                return result;
            };
            runs += 1;
            part = Some(resume.offset);
            opts.resume = Some(resume);
            source = rest;
        }
    }

    /// Shards the packets `reader` reads (of `path`; `part`: the byte offset of the part out
    /// of time order read, when it is not the input's start: its first packet starts new
    /// sections, as that of an input out of time order does).
    fn shard_packets(
        &mut self,
        path: &str,
        part: Option<u64>,
        reader: &mut PacketReader,
    ) -> Result<(), SplitError> {
        let mut first = true;
        let mut write_error: Option<SplitError> = None;
        let result = reader.for_each(|p| {
            if write_error.is_some() {
                return;
            }
            // Simple packet blocks carry no time (0): the first timed packet decides.
            if first && p.ts != 0 {
                first = false;
                if part.is_some() || behind(p.ts, self.last_ts) {
                    self.stats.out_of_order_inputs.push((path.to_owned(), part));
                    if let Some((s, e)) = self.new_sections() {
                        write_error = Some(output_error(&self.writers[s].path, e));
                        return;
                    }
                }
            }
            if p.ts != 0 {
                self.last_ts = p.ts;
            }
            self.stats.packets += 1;
            self.stats.bytes += p.data.len() as u64;
            if let Err((s, e)) = self.packet(p) {
                write_error = Some(output_error(&self.writers[s].path, e));
            }
        });
        if let Some(e) = write_error {
            return Err(e);
        }
        result.map_err(|source| SplitError::Capture {
            path: path.to_owned(),
            source,
        })
    }

    /// Starts a new section in every shard; the first write error names its shard.
    fn new_sections(&mut self) -> Option<(usize, io::Error)> {
        self.writers
            .iter_mut()
            .enumerate()
            .find_map(|(s, w)| w.section().err().map(|e| (s, e)))
    }

    /// Writes one packet to its shard, or holds it (a fragment before its first fragment);
    /// an error names the shard whose write failed.
    fn packet(&mut self, p: &RawPacket<'_>) -> Result<(), (usize, io::Error)> {
        // `dlt` is the raw value only for link types that cannot be decoded.
        let dlt = p.link.map_or(p.dlt, LinkType::dlt);
        let route = match p.link {
            Some(link) => self.router.route(decode::decode(link, p.data), p.ts),
            None => Route::Shard(0),
        };
        match route {
            Route::Shard(s) => self.write(s, dlt, p).map_err(|e| (s, e)),
            Route::Hold(key) => {
                self.router.held_bytes += p.data.len();
                self.router.held.entry(key).or_default().push(Held {
                    ts: p.ts,
                    dlt,
                    orig_len: p.orig_len,
                    data: p.data.to_vec(),
                });
                if self.router.held_bytes > MAX_HELD_FRAGMENT_BYTES {
                    flush_held(&mut self.router, &mut self.writers[0], &mut self.stats)
                        .map_err(|e| (0, e))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Writes a packet to shard `s`, followed by the fragments that waited for it (when it
    /// is a datagram's first fragment).
    fn write(&mut self, s: usize, dlt: i32, p: &RawPacket<'_>) -> io::Result<()> {
        let w = &mut self.writers[s];
        w.write(p.ts, dlt, p.orig_len, p.data)?;
        let router = &mut self.router;
        let waiting = match p.link.filter(|_| !router.held.is_empty()) {
            Some(l) => match decode::decode(l, p.data) {
                Decoded::Fragment(f) => router.held.remove(&(f.src, f.dst, f.id, f.proto)),
                _ => None,
            },
            None => None,
        };
        for h in waiting.into_iter().flatten() {
            router.held_bytes -= h.data.len();
            w.write(h.ts, h.dlt, h.orig_len, &h.data)?;
        }
        Ok(())
    }

    /// Writes the fragments still held to shard 0 and flushes every shard.
    fn finish(mut self) -> Result<SplitStats, SplitError> {
        let w0 = &mut self.writers[0];
        flush_held(&mut self.router, w0, &mut self.stats).map_err(|e| output_error(&w0.path, e))?;
        for w in &mut self.writers {
            w.out.flush().map_err(|e| output_error(&w.path, e))?;
            self.stats.per_shard.push(w.packets);
            self.stats.files.push(w.path.clone());
        }
        Ok(self.stats)
    }
}

/// Writes the fragments still waiting for their first fragment to shard 0.
fn flush_held(router: &mut Router, w: &mut ShardWriter, stats: &mut SplitStats) -> io::Result<()> {
    let mut held: Vec<Held> = router.held.drain().flat_map(|(_, v)| v).collect();
    held.sort_by_key(|h| h.ts);
    router.held_bytes = 0;
    for h in held {
        stats.unplaced_fragments += 1;
        w.write(h.ts, h.dlt, h.orig_len, &h.data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_side_from_first_bytes() {
        for (payload, want) in [
            (&b"GET / HTTP/1.1\r\n"[..], Some(true)),
            (b"OPTIONS /x HTTP/1.1\r\n", Some(true)),
            (b"PRI * HTTP/2.0\r\n", Some(true)),
            (b"HTTP/1.1 200 OK\r\n", Some(false)),
            (&[0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x00], Some(true)),
            (&[0x16, 0x03, 0x03, 0x00, 0x10, 0x02, 0x00], Some(false)),
            (b"\x17\x03\x03\x00\x10", None),
            (b"hello world", None),
            (b"", None),
        ] {
            assert_eq!(sender_is_client(payload), want, "{payload:?}");
        }
    }

    /// The captures' side on its own: fragments that come before their datagram's first
    /// fragment wait for it and follow it into its connection's shard; one whose first
    /// fragment never comes goes to shard 0 at the end, counted.
    #[test]
    fn held_fragments_follow_their_first_fragment() {
        use crate::capture::encap_tests::fragments4;
        use crate::capture::testutil::{pcap, Conv, CLIENT};
        let mut c = Conv::new(40001);
        c.handshake().client(&[b'x'; 96], 1460);
        let data = c.frames.pop().map(|(_, f)| f).unwrap_or_default();
        let parts = fragments4(&data, &[24, 56], 7);
        assert_eq!(parts.len(), 3);
        let orphan = fragments4(&data, &[24], 8).pop().unwrap_or_default();
        let mut ts = c.ts;
        let mut frames = c.frames.clone();
        for f in [&parts[2], &parts[1], &orphan, &parts[0]] {
            ts += 1000;
            frames.push((ts, f.clone()));
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("in.pcap");
        std::fs::write(&input, pcap(&frames, 1, false, false)).expect("write the input");
        let out = dir.path().join("out");
        let n = 4;
        let stats = split(
            &[input.display().to_string()],
            n,
            &out,
            &CaptureOptions::default(),
        )
        .expect("splits");
        assert_eq!(stats.unplaced_fragments, 1);
        let lengths = |path: &Path| {
            let file = File::open(path).expect("a shard");
            let mut r = PacketReader::new(file, &CaptureOptions::default()).expect("pcapng");
            let mut v = Vec::new();
            r.for_each(|p| v.push(p.data.len())).expect("reads");
            v
        };
        let home = client_shard(IpAddr::from(CLIENT), n);
        let len = |f: &Vec<u8>| f.len();
        // The handshake, the first fragment, then the two that waited, in arrival order.
        let mut want: Vec<usize> = c.frames.iter().map(|(_, f)| f.len()).collect();
        want.extend([len(&parts[0]), len(&parts[2]), len(&parts[1])]);
        let mut home_packets = lengths(&shard_path(&out, home, n));
        if home == 0 {
            assert_eq!(home_packets.pop(), Some(orphan.len()));
        } else {
            assert_eq!(lengths(&shard_path(&out, 0, n)), [orphan.len()]);
        }
        assert_eq!(home_packets, want);
    }

    #[test]
    fn natural_order_of_rotated_files() {
        let mut names = vec!["c.pcap10", "c.pcap2", "c.pcap", "c.pcap1"];
        names.sort_by_cached_key(|p| natural_key(p));
        assert_eq!(names, ["c.pcap", "c.pcap1", "c.pcap2", "c.pcap10"]);
    }

    #[test]
    fn client_shard_is_stable() {
        let ip: IpAddr = "10.0.0.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        // FNV-1a of the address bytes: the same in every process and on every machine.
        let first = client_shard(ip, 7);
        assert!((0..7).all(|_| client_shard(ip, 7) == first));
        assert_eq!(client_shard(ip, 1), 0);
    }
}
