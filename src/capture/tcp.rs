//! Step 3 (tcp): per-direction TCP reassembly. Turns segments in capture order into an in-order
//! byte stream for a [`StreamSink`], holding out-of-order data only where the sink needs the
//! bytes (message heads) and only up to fixed bounds; body ranges are accounted for by sequence
//! range and never copied. Knows nothing about HTTP.
//!
//! Sequence numbers are only ever compared through [`SeqNumber`] (wrapping difference); inside a
//! direction everything is a 64-bit stream offset counted from the first byte seen, so wrap-around
//! is handled in exactly one place ([`Reassembler::offset_of`]).

use crate::diag::WarnKind;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;

use crate::model::Micros;

/// A TCP sequence number: arithmetic wraps at 2^32, comparisons go through the signed wrapping
/// difference (RFC 793 / RFC 1982 style), never through the raw `u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// `self - earlier` as a signed distance: positive when `self` comes after `earlier`.
    pub(crate) fn diff(self, earlier: SeqNumber) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// Whether `self` comes strictly before `other` in sequence space.
    pub(crate) fn is_before(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }
}

impl std::ops::Add<u32> for SeqNumber {
    type Output = SeqNumber;

    /// Wraps at 2^32.
    fn add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One side of a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

impl Endpoint {
    /// The `Display` text, shared (every exchange of a connection names its server), written
    /// without the formatting machinery for IPv4 (made once per connection, where `format!`
    /// cost about a thousand instructions) and without a `String` first.
    pub(crate) fn text(&self) -> std::sync::Arc<str> {
        match self.ip {
            IpAddr::V4(v4) => {
                let (mut ip, mut port) = ([0; 15], [0; 5]);
                let (ip, port) = (
                    ip4_text(&mut ip, v4).as_bytes(),
                    decimal(self.port, &mut port),
                );
                // At most 15 + 1 + 5 bytes.
                let mut out = [0u8; 21];
                let n = ip.len() + 1 + port.len();
                out[..ip.len()].copy_from_slice(ip);
                out[ip.len()] = b':';
                out[ip.len() + 1..n].copy_from_slice(port);
                // Only ASCII digits, dots and a colon were written.
                std::sync::Arc::from(std::str::from_utf8(&out[..n]).unwrap_or_default())
            }
            IpAddr::V6(_) => std::sync::Arc::from(self.to_string()),
        }
    }
}

/// Servers' [`Endpoint::text`]s, made once per server rather than once per connection (a
/// capture's connections go to few servers; making one was about 500 instructions). Bounded:
/// emptied when full.
#[derive(Debug, Default)]
pub struct ServerTexts {
    texts: std::collections::HashMap<Endpoint, std::sync::Arc<str>, foldhash::fast::RandomState>,
}

impl ServerTexts {
    const MAX: usize = 4096;

    /// `e`'s text, shared.
    pub(crate) fn of(&mut self, e: Endpoint) -> std::sync::Arc<str> {
        if let Some(t) = self.texts.get(&e) {
            return t.clone();
        }
        if self.texts.len() >= Self::MAX {
            self.texts.clear();
        }
        let t = e.text();
        self.texts.insert(e, t.clone());
        t
    }
}

/// An IP address's `Display` text, shared (a connection's client): IPv4 written by hand,
/// without a `String` first, IPv6 by `Display`.
pub(crate) fn ip_shared(ip: IpAddr) -> std::sync::Arc<str> {
    match ip {
        IpAddr::V4(v4) => std::sync::Arc::from(ip4_text(&mut [0; 15], v4)),
        IpAddr::V6(_) => std::sync::Arc::from(ip.to_string()),
    }
}

/// An IPv4 address's dotted text, written into `out` (15 bytes hold the longest).
fn ip4_text(out: &mut [u8; 15], v4: std::net::Ipv4Addr) -> &str {
    let mut n = 0;
    for (i, o) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out[n] = b'.';
            n += 1;
        }
        if o >= 100 {
            out[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            out[n] = b'0' + o / 10 % 10;
            n += 1;
        }
        out[n] = b'0' + o % 10;
        n += 1;
    }
    // Only ASCII digits and dots were written.
    std::str::from_utf8(&out[..n]).unwrap_or_default()
}

/// `n` in decimal, written into `out`.
fn decimal(n: u16, out: &mut [u8; 5]) -> &[u8] {
    let mut at = out.len();
    let mut n = n;
    loop {
        at -= 1;
        out[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &out[at..]
}

/// Direction inside a connection: 0 = sent by `FlowKey::lo`, 1 = sent by `FlowKey::hi`.
pub type Dir = usize;

/// A connection's 5-tuple (TCP implied) in normalized order, so both directions give the same
/// key and the same hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

/// Hashed as two words when both ends are IPv4 (nearly every packet hashes its key): the
/// derived hash wrote each address's variant, length and bytes and its port, eight writes
/// where two do. Equal keys take the same branch, so equal keys hash equal.
impl Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        match (self.lo.v4_word(), self.hi.v4_word()) {
            (Some(lo), Some(hi)) => {
                h.write_u64(lo);
                h.write_u64(hi);
            }
            _ => {
                self.lo.hash(h);
                self.hi.hash(h);
            }
        }
    }
}

impl Endpoint {
    /// An IPv4 endpoint as one integer, ordered as `Endpoint`'s derived order orders two IPv4
    /// endpoints (the address's bits, then the port); `None` for IPv6.
    #[inline]
    fn v4_word(&self) -> Option<u64> {
        match self.ip {
            IpAddr::V4(a) => Some(u64::from(a.to_bits()) << 16 | u64::from(self.port)),
            IpAddr::V6(_) => None,
        }
    }
}

impl FlowKey {
    /// The key of the connection carrying a segment from `src` to `dst`, and the segment's
    /// direction in it.
    pub fn of(src: Endpoint, dst: Endpoint) -> (FlowKey, Dir) {
        // Two IPv4 ends (nearly every packet) compare as two integers, in the same order.
        let in_order = match (src.v4_word(), dst.v4_word()) {
            (Some(s), Some(d)) => s <= d,
            _ => src <= dst,
        };
        if in_order {
            (FlowKey { lo: src, hi: dst }, 0)
        } else {
            (FlowKey { lo: dst, hi: src }, 1)
        }
    }

    /// [`FlowKey::of`] with the key's hash by `hasher`, equal to `hasher.hash_one(key)`: two
    /// IPv4 ends' words are found once for the order and the hash (the hash found them again,
    /// about ten instructions a packet).
    #[inline]
    pub(crate) fn of_hashed(
        src: Endpoint,
        dst: Endpoint,
        hasher: &impl BuildHasher,
    ) -> (FlowKey, Dir, u64) {
        match (src.v4_word(), dst.v4_word()) {
            (Some(s), Some(d)) => {
                let (key, dir, lo, hi) = if s <= d {
                    (FlowKey { lo: src, hi: dst }, 0, s, d)
                } else {
                    (FlowKey { lo: dst, hi: src }, 1, d, s)
                };
                // As `Hash for FlowKey` writes two IPv4 ends.
                let mut h = hasher.build_hasher();
                h.write_u64(lo);
                h.write_u64(hi);
                (key, dir, h.finish())
            }
            _ => {
                let (key, dir) = Self::of(src, dst);
                (key, dir, hasher.hash_one(key))
            }
        }
    }

    /// The sender of direction `dir`.
    pub(crate) fn sender(&self, dir: Dir) -> Endpoint {
        if dir == 0 {
            self.lo
        } else {
            self.hi
        }
    }
}

/// The shard hash of a connection from its two endpoints in either order, the same for both
/// directions and for every process (no random seed), so that shard assignment is
/// reproducible from run to run: the two endpoints' words added (the sum does not depend on
/// their order) and mixed, so the reader hashes a packet's addresses as they stand, without
/// ordering them into a [`FlowKey`] (FNV-1a over the key's `Hash` bytes, as before, cost about
/// two hundred instructions a packet on the reader thread). Only the balance of the workers
/// depends on it, not the output.
pub(crate) fn shard_hash(a: &Endpoint, b: &Endpoint) -> u64 {
    mix(endpoint_word(a).wrapping_add(endpoint_word(b)))
}

/// An endpoint in one word: IPv4 address and port side by side, IPv6 folded.
fn endpoint_word(e: &Endpoint) -> u64 {
    let port = u64::from(e.port);
    match e.ip {
        IpAddr::V4(ip) => u64::from(ip.to_bits()) << 16 | port,
        IpAddr::V6(ip) => {
            let bits = ip.to_bits();
            mix(bits as u64) ^ (bits >> 64) as u64 ^ port << 48 ^ 1
        }
    }
}

/// The splitmix64 finaliser: every input bit reaches every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Where a packet sits in the capture, carried with every delivered byte range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketMeta {
    /// 1-based packet number.
    pub number: u64,
    /// Byte offset of the packet's record in the (decompressed) capture.
    pub offset: u64,
    pub ts: Micros,
    /// How long the packet's TCP connection was silent before it (since its previous packet,
    /// either way; 0 when not known): a request after a long silence went out on a socket
    /// that sat idle in the browser's pool (`capture::http`'s idle first request).
    pub quiet: Micros,
}

/// What the reassembler delivers to. Calls for one direction come in stream order and cover
/// every byte exactly once (as data, skipped body or a declared gap).
pub trait StreamSink {
    /// In-order bytes.
    fn data(&mut self, dir: Dir, data: &[u8], meta: &PacketMeta);
    /// `len` bytes that were seen but not kept, because [`StreamSink::skippable`] said they
    /// were body when they arrived out of order.
    fn skip(&mut self, dir: Dir, len: u64, meta: &PacketMeta);
    /// `len` bytes that were never seen (capture loss, snaplen truncation).
    fn gap(&mut self, dir: Dir, len: u64, meta: &PacketMeta);
    /// How many bytes after the current stream position the sink will never look at (body of a
    /// known length, read-until-close, an ignored connection). Must stay true until those bytes
    /// are delivered.
    fn skippable(&self, dir: Dir) -> u64;
    /// The direction ended (FIN reached, RST, or the connection was flushed).
    fn end(&mut self, dir: Dir, meta: &PacketMeta);
    /// A non-fatal event worth counting (`tcp-gap`, `tcp-retransmission`, limits).
    fn warn(&mut self, kind: WarnKind, dir: Dir, meta: &PacketMeta);
    /// A warning whose detail says more than its kind (where in the stream it happened).
    fn warn_with(&mut self, kind: WarnKind, dir: Dir, meta: &PacketMeta, what: String) {
        let _ = what;
        self.warn(kind, dir, meta);
    }
}

/// Data pieces a direction delivered last, remembered by a fingerprint so that a
/// retransmission carrying other bytes than the first copy is reported as a conflict, not as a
/// retransmission (issue 18). A fixed handful: retransmissions repeat recent segments, and the
/// memory per connection stays constant.
const RECENT_PIECES: usize = 8;

#[derive(Clone, Copy, Debug, Default)]
struct Delivered {
    start: u64,
    len: u64,
    fingerprint: u64,
    /// Packet number of the first copy.
    packet: u64,
}

/// A cheap digest of a byte range: equal bytes give equal digests, so a differing digest is a
/// certain conflict (a collision can only hide one). It runs over every delivered byte, so it
/// is a Fletcher-style pair of word sums in four independent lanes (a running sum, and the sum
/// of running sums, which sees words moved): about a third of the instructions of the
/// multiply-and-xor digest it replaced. The compiler keeps the lanes in four scalar registers
/// (two adds a word, with or without AVX2); the four lanes are one AVX2 register, so where the
/// CPU has AVX2 the same sums take two vector adds for 32 bytes ([`fingerprint_avx2`]).
fn fingerprint(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `fingerprint_avx2` needs nothing but AVX2, which the CPU was just found to
        // have (the check reads a cached flag).
        return unsafe { fingerprint_avx2(bytes) };
    }
    fingerprint_lanes(bytes)
}

/// [`fingerprint_lanes`] with each 32-byte block's four words added to the lanes at once.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fingerprint_avx2(bytes: &[u8]) -> u64 {
    use std::arch::x86_64::{__m256i, _mm256_add_epi64, _mm256_loadu_si256, _mm256_setzero_si256};
    let (blocks, rest) = bytes.as_chunks::<32>();
    let (mut a, mut b) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    for block in blocks {
        // SAFETY: an unaligned load of the block's 32 bytes, which it has; its lanes are the
        // block's four little-endian words (x86-64 is little-endian).
        let w = unsafe { _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()) };
        a = _mm256_add_epi64(a, w);
        b = _mm256_add_epi64(b, a);
    }
    // SAFETY: a 256-bit vector and four `u64` are the same 32 bytes of plain data.
    let (a, b) = unsafe {
        (
            std::mem::transmute::<__m256i, [u64; 4]>(a),
            std::mem::transmute::<__m256i, [u64; 4]>(b),
        )
    };
    fingerprint_end(a, b, bytes, rest)
}

/// The digest's sums a word at a time (see [`fingerprint`]).
fn fingerprint_lanes(bytes: &[u8]) -> u64 {
    let (blocks, rest) = bytes.as_chunks::<32>();
    let (mut a, mut b) = ([0u64; 4], [0u64; 4]);
    for block in blocks {
        for i in 0..4 {
            let mut w = [0u8; 8];
            w.copy_from_slice(&block[8 * i..8 * i + 8]);
            a[i] = a[i].wrapping_add(u64::from_le_bytes(w));
            b[i] = b[i].wrapping_add(a[i]);
        }
    }
    fingerprint_end(a, b, bytes, rest)
}

/// The digest from the lanes' sums over the whole blocks of `bytes`, its last partial block
/// `rest` and its length. The last partial block is read as the last 32 bytes of `bytes`
/// (over bytes of the last whole block: equal bytes still give equal digests), and padded
/// with zeros only when `bytes` is shorter: copying it into a padded block was a `memcpy`
/// call for nearly every delivered segment.
fn fingerprint_end(mut a: [u64; 4], mut b: [u64; 4], bytes: &[u8], rest: &[u8]) -> u64 {
    let len = bytes.len();
    let tail = match bytes.last_chunk::<32>() {
        Some(last) if !rest.is_empty() => *last,
        _ => {
            let mut tail = [0u8; 32];
            tail[..rest.len()].copy_from_slice(rest);
            tail
        }
    };
    let mut h = (len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for i in 0..4 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&tail[8 * i..8 * i + 8]);
        a[i] = a[i].wrapping_add(u64::from_le_bytes(w));
        b[i] = b[i].wrapping_add(a[i]);
        h = (h ^ a[i])
            .rotate_left(23)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ b[i];
    }
    h
}

/// The detail of a `tcp-conflicting-overlap` warning.
fn conflict_text(from: u64, to: u64, first: u64) -> String {
    format!(
        "stream bytes {from}..{to} differ from the first copy (packet {first}); the first copy is kept"
    )
}

/// Bounds for one direction's out-of-order store.
#[derive(Clone, Copy, Debug)]
pub struct ReassemblyLimits {
    /// Held segments (data or skipped ranges) before the oldest hole is declared lost.
    pub max_segments: usize,
    /// Held data bytes before the oldest hole is declared lost.
    pub max_bytes: usize,
    /// How far (bytes) data may run ahead of a hole before the hole is declared lost; also
    /// the largest jump an ACK may declare lost at once (a bigger one is not believed).
    pub gap_window: u64,
}

#[derive(Debug)]
enum HeldKind {
    Data(Vec<u8>),
    Skip,
    Lost,
}

#[derive(Debug)]
struct Held {
    start: u64,
    end: u64,
    kind: HeldKind,
    meta: PacketMeta,
}

/// Reusable byte buffers for held segments, so steady-state out-of-order handling allocates
/// nothing. Buffers larger than `Pool::KEEP_CAPACITY` are dropped rather than kept.
#[derive(Debug, Default)]
pub struct Pool {
    free: Vec<Vec<u8>>,
}

impl Pool {
    const KEEP_CAPACITY: usize = 16 * 1024;
    const KEEP_COUNT: usize = 256;

    pub(crate) fn take(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut v = self.free.pop().unwrap_or_default();
        v.clear();
        v.extend_from_slice(bytes);
        v
    }

    pub(crate) fn give(&mut self, v: Vec<u8>) {
        if v.capacity() <= Self::KEEP_CAPACITY && self.free.len() < Self::KEEP_COUNT {
            self.free.push(v);
        }
    }
}

/// One direction of a connection.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// Sequence number of stream offset 0; `None` until the first segment or SYN.
    origin: Option<SeqNumber>,
    /// Next stream offset to deliver.
    next: u64,
    /// Stream offset of the FIN, once seen.
    fin_at: Option<u64>,
    ended: bool,
    /// Sorted by `start`, non-overlapping, every `start > next`.
    held: VecDeque<Held>,
    held_bytes: usize,
    /// The last delivered data pieces (a ring, `recent_at` the next slot).
    recent: [Delivered; RECENT_PIECES],
    recent_at: usize,
}

impl Reassembler {
    pub(crate) fn is_started(&self) -> bool {
        self.origin.is_some()
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended
    }

    /// Whether anything is held beyond a hole.
    pub(crate) fn has_held(&self) -> bool {
        !self.held.is_empty()
    }

    /// Bytes of out-of-order data currently held.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Bytes delivered (or skipped, or declared lost) so far.
    pub(crate) fn position(&self) -> u64 {
        self.next
    }

    /// Starts the stream at `seq` (the SYN's sequence number + 1, or the first data seen).
    /// Only valid before anything was delivered.
    pub fn start_at(&mut self, seq: SeqNumber) {
        if self.next == 0 && self.held.is_empty() {
            self.origin = Some(seq);
        }
    }

    /// Whether the stream's first byte is at `seq`.
    pub(crate) fn starts_at(&self, seq: SeqNumber) -> bool {
        self.origin == Some(seq)
    }

    /// Stream offset of `seq`, relative to the first byte; negative before it.
    pub(crate) fn offset_of(&self, seq: SeqNumber) -> Option<i64> {
        // Relative to `next` (not to the origin), so any 2^31 window around the current
        // position is unambiguous however long the stream gets.
        self.origin.map(|o| {
            let next_seq = o + self.next as u32;
            self.next as i64 + i64::from(seq.diff(next_seq))
        })
    }

    /// Accepts one segment of this direction: `payload` captured bytes at `seq`, followed by
    /// `missing` bytes that were on the wire but not captured (snaplen), then an optional FIN.
    #[allow(clippy::too_many_arguments)]
    pub fn segment<S: StreamSink + ?Sized>(
        &mut self,
        dir: Dir,
        seq: SeqNumber,
        payload: &[u8],
        missing: u32,
        fin: bool,
        meta: &PacketMeta,
        lim: &ReassemblyLimits,
        pool: &mut Pool,
        sink: &mut S,
    ) {
        if self.origin.is_none() {
            self.origin = Some(seq);
        }
        if self.ended {
            if !payload.is_empty() {
                sink.warn(WarnKind::TcpDataAfterFin, dir, meta);
            }
            return;
        }
        let Some(start) = self.offset_of(seq) else {
            return;
        };
        let len = payload.len() as i64 + i64::from(missing);
        let end = start + len;
        if fin && self.fin_at.is_none() && end >= 0 {
            self.fin_at = Some(end as u64);
        }
        let next = self.next as i64;
        if len > 0 {
            let conflict =
                start < next && self.conflicts_delivered(dir, start, payload, meta, sink);
            if end <= next {
                if !conflict {
                    sink.warn(WarnKind::TcpRetransmission, dir, meta);
                }
            } else if start <= next {
                // In order, possibly overlapping what was already delivered: the first copy
                // won, so only the new tail counts.
                let trim = (next - start) as u64;
                self.deliver_tail(dir, payload, missing, trim, meta, sink);
                // Nearly always nothing is held: no call for it.
                if !self.held.is_empty() {
                    self.drain(dir, pool, sink);
                }
            } else {
                self.hold(dir, start as u64, payload, missing, meta, lim, pool, sink);
            }
        }
        // A FIN ends the direction once every byte before it was delivered: in a disordered
        // capture the FIN can come before the last data. Holes still open are declared lost
        // by the usual bounds, a peer's ACK, or the connection's close.
        self.end_at_fin(dir, meta, pool, sink);
    }

    /// Compares a segment starting at `start` (before `next`) with the recently delivered
    /// pieces it covers whole; reports the first that differs. Whether it found one.
    fn conflicts_delivered<S: StreamSink + ?Sized>(
        &self,
        dir: Dir,
        start: i64,
        payload: &[u8],
        meta: &PacketMeta,
        sink: &mut S,
    ) -> bool {
        let covered_to = (start + payload.len() as i64).min(self.next as i64);
        for r in &self.recent {
            let (rs, re) = (r.start as i64, (r.start + r.len) as i64);
            if r.len == 0 || rs < start || re > covered_to {
                continue;
            }
            let a = (rs - start) as usize;
            let bytes = payload.get(a..a + r.len as usize).unwrap_or(&[]);
            if fingerprint(bytes) != r.fingerprint {
                let what = conflict_text(r.start, r.start + r.len, r.packet);
                sink.warn_with(WarnKind::TcpConflictingOverlap, dir, meta, what);
                return true;
            }
        }
        false
    }

    /// Remembers a delivered data piece (see [`Delivered`]).
    fn remember(&mut self, start: u64, bytes: &[u8], meta: &PacketMeta) {
        if bytes.is_empty() {
            return;
        }
        self.recent[self.recent_at] = Delivered {
            start,
            len: bytes.len() as u64,
            fingerprint: fingerprint(bytes),
            packet: meta.number,
        };
        self.recent_at = (self.recent_at + 1) % RECENT_PIECES;
    }

    /// Ends the direction when the stream has reached its FIN.
    fn end_at_fin<S: StreamSink + ?Sized>(
        &mut self,
        dir: Dir,
        meta: &PacketMeta,
        pool: &mut Pool,
        sink: &mut S,
    ) {
        if self.fin_at.is_some_and(|f| self.next >= f) {
            self.finish(dir, meta, pool, sink);
        }
    }

    /// Whether the peer's `ack` covers bytes of this direction that were not delivered yet
    /// (missing, or held behind a hole): a segment carrying that ACK was sent after those bytes
    /// arrived, so processing it first could put, say, a response ahead of its request. ACKs
    /// absurdly far ahead (beyond the gap window) are not believed.
    pub(crate) fn acks_undelivered(&self, ack: SeqNumber, lim: &ReassemblyLimits) -> bool {
        if self.ended {
            return false;
        }
        let Some(mut upto) = self.offset_of(ack) else {
            return false;
        };
        if let Some(f) = self.fin_at {
            // The FIN occupies one sequence number that carries no byte.
            upto = upto.min(f as i64);
        }
        let next = self.next as i64;
        upto > next && (upto - next) as u64 <= lim.gap_window
    }

    /// The peer acknowledged `ack`: bytes before it were received, so holes before it that
    /// are still empty were lost by the capture, not by the network. Declares them now so the
    /// other direction's data is never processed ahead of this one's.
    pub(crate) fn peer_ack<S: StreamSink + ?Sized>(
        &mut self,
        dir: Dir,
        ack: SeqNumber,
        meta: &PacketMeta,
        lim: &ReassemblyLimits,
        pool: &mut Pool,
        sink: &mut S,
    ) {
        if self.ended {
            return;
        }
        let Some(mut upto) = self.offset_of(ack) else {
            return;
        };
        if let Some(f) = self.fin_at {
            // The FIN occupies one sequence number that carries no byte.
            upto = upto.min(f as i64);
        }
        let next = self.next as i64;
        if upto <= next || (upto - next) as u64 > lim.gap_window {
            return;
        }
        let upto = upto as u64;
        while self.next < upto {
            let hole_end = self.held.front().map_or(upto, |h| h.start.min(upto));
            if hole_end > self.next {
                sink.warn(WarnKind::TcpGap, dir, meta);
                sink.gap(dir, hole_end - self.next, meta);
                self.next = hole_end;
            }
            self.drain(dir, pool, sink);
        }
        self.end_at_fin(dir, meta, pool, sink);
    }

    /// Declares every hole lost, delivers everything held and ends the direction.
    pub(crate) fn finish<S: StreamSink + ?Sized>(
        &mut self,
        dir: Dir,
        meta: &PacketMeta,
        pool: &mut Pool,
        sink: &mut S,
    ) {
        if self.ended {
            return;
        }
        while !self.held.is_empty() {
            self.give_up_first_hole(dir, meta, pool, sink);
        }
        if let Some(f) = self.fin_at {
            if f > self.next {
                sink.warn(WarnKind::TcpGap, dir, meta);
                sink.gap(dir, f - self.next, meta);
                self.next = f;
            }
        }
        self.ended = true;
        sink.end(dir, meta);
    }

    /// Declares the hole before the first held segment lost and delivers what follows it
    /// (ending the direction if that reached its FIN). Returns false when nothing was held.
    pub(crate) fn declare_first_gap<S: StreamSink + ?Sized>(
        &mut self,
        dir: Dir,
        meta: &PacketMeta,
        pool: &mut Pool,
        sink: &mut S,
    ) -> bool {
        let held = self.give_up_first_hole(dir, meta, pool, sink);
        self.end_at_fin(dir, meta, pool, sink);
        held
    }

    fn give_up_first_hole<S: StreamSink + ?Sized>(
        &mut self,
        dir: Dir,
        meta: &PacketMeta,
        pool: &mut Pool,
        sink: &mut S,
    ) -> bool {
        let Some(first) = self.held.front() else {
            return false;
        };
        let start = first.start;
        if start > self.next {
            sink.warn(WarnKind::TcpGap, dir, meta);
            sink.gap(dir, start - self.next, meta);
            self.next = start;
        }
        self.drain(dir, pool, sink);
        true
    }

    /// Releases held buffers into the pool (the connection is going away).
    pub(crate) fn release(&mut self, pool: &mut Pool) {
        for h in self.held.drain(..) {
            if let HeldKind::Data(v) = h.kind {
                pool.give(v);
            }
        }
        self.held_bytes = 0;
    }

    fn deliver_tail<S: StreamSink + ?Sized>(
        &mut self,
        dir: Dir,
        payload: &[u8],
        missing: u32,
        trim: u64,
        meta: &PacketMeta,
        sink: &mut S,
    ) {
        let captured = payload.len() as u64;
        if trim < captured {
            // Safe: trim < payload.len() was just checked.
            let tail = payload.get(trim as usize..).unwrap_or(&[]);
            sink.data(dir, tail, meta);
            self.remember(self.next, tail, meta);
            self.next += tail.len() as u64;
        }
        let missing_left = (captured + u64::from(missing)).saturating_sub(trim.max(captured));
        if missing_left > 0 {
            sink.warn(WarnKind::TcpGap, dir, meta);
            sink.gap(dir, missing_left, meta);
            self.next += missing_left;
        }
    }

    /// Delivers held segments that the stream has reached.
    fn drain<S: StreamSink + ?Sized>(&mut self, dir: Dir, pool: &mut Pool, sink: &mut S) {
        while self.held.front().is_some_and(|h| h.start <= self.next) {
            let Some(h) = self.held.pop_front() else {
                break;
            };
            if h.end > self.next {
                let trim = self.next - h.start;
                let len = h.end - self.next;
                match &h.kind {
                    HeldKind::Data(v) => {
                        let bytes = v.get(trim as usize..).unwrap_or(&[]);
                        sink.data(dir, bytes, &h.meta);
                        self.remember(self.next, bytes, &h.meta);
                    }
                    HeldKind::Skip => sink.skip(dir, len, &h.meta),
                    HeldKind::Lost => {
                        sink.warn(WarnKind::TcpGap, dir, &h.meta);
                        sink.gap(dir, len, &h.meta);
                    }
                }
                self.next = h.end;
            }
            if let HeldKind::Data(v) = h.kind {
                self.held_bytes -= v.len();
                pool.give(v);
            }
        }
    }

    /// Stores a segment that starts beyond `next`. Parts already held are not replaced (first
    /// copy wins); parts inside the sink's skippable range are kept as ranges only.
    #[allow(clippy::too_many_arguments)]
    fn hold<S: StreamSink + ?Sized>(
        &mut self,
        dir: Dir,
        start: u64,
        payload: &[u8],
        missing: u32,
        meta: &PacketMeta,
        lim: &ReassemblyLimits,
        pool: &mut Pool,
        sink: &mut S,
    ) {
        sink.warn(WarnKind::TcpOutOfOrder, dir, meta);
        let skip_end = self.next.saturating_add(sink.skippable(dir));
        let data_end = start + payload.len() as u64;
        let end = data_end + u64::from(missing);
        // Walk the uncovered pieces of [start, end) left to right.
        let mut pos = start;
        let mut conflict = false;
        let mut idx = self.held.partition_point(|h| h.end <= start);
        while pos < end {
            let (piece_end, next_pos) = match self.held.get(idx) {
                Some(h) if h.start <= pos => {
                    // Covered by an earlier copy: the first copy wins, but other bytes in
                    // this one are a conflict, reported once per segment.
                    if let (HeldKind::Data(v), false) = (&h.kind, conflict) {
                        let to = h.end.min(data_end);
                        if pos < to {
                            let mine = payload.get((pos - start) as usize..(to - start) as usize);
                            let first = v.get((pos - h.start) as usize..(to - h.start) as usize);
                            if mine != first {
                                conflict = true;
                                let what = conflict_text(pos, to, h.meta.number);
                                sink.warn_with(WarnKind::TcpConflictingOverlap, dir, meta, what);
                            }
                        }
                    }
                    pos = h.end.min(end).max(pos);
                    idx += 1;
                    continue;
                }
                Some(h) => (h.start.min(end), h.start.min(end)),
                None => (end, end),
            };
            // The piece [pos, piece_end) is new; split it at the data/missing and skip borders.
            let mut p = pos;
            while p < piece_end {
                let mut q = piece_end;
                if p < data_end {
                    q = q.min(data_end);
                }
                if p < skip_end {
                    q = q.min(skip_end);
                }
                let kind = if p < skip_end {
                    HeldKind::Skip
                } else if p >= data_end {
                    HeldKind::Lost
                } else {
                    let a = (p - start) as usize;
                    let b = (q - start) as usize;
                    let bytes = payload.get(a..b).unwrap_or(&[]);
                    self.held_bytes += bytes.len();
                    HeldKind::Data(pool.take(bytes))
                };
                self.held.insert(
                    idx,
                    Held {
                        start: p,
                        end: q,
                        kind,
                        meta: *meta,
                    },
                );
                idx += 1;
                p = q;
            }
            pos = next_pos;
        }
        // Bounds: too many pieces, too many bytes, or data too far ahead of the hole.
        loop {
            let far = self.held.back().map_or(0, |h| h.end - self.next);
            let kind = if self.held.len() > lim.max_segments {
                WarnKind::LimitOooSegments
            } else if self.held_bytes > lim.max_bytes {
                WarnKind::LimitConnectionBuffer
            } else if far > lim.gap_window {
                WarnKind::TcpGapWindow
            } else {
                break;
            };
            sink.warn(kind, dir, meta);
            if !self.give_up_first_hole(dir, meta, pool, sink) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what was delivered: data bytes, `<skip N>` and `<gap N>` markers, `<end>`.
    #[derive(Default)]
    struct Rec {
        out: Vec<u8>,
        skippable: u64,
        warns: Vec<WarnKind>,
    }

    impl StreamSink for Rec {
        fn data(&mut self, _: Dir, data: &[u8], _: &PacketMeta) {
            self.out.extend_from_slice(data);
        }
        fn skip(&mut self, _: Dir, len: u64, _: &PacketMeta) {
            self.out
                .extend_from_slice(format!("<skip {len}>").as_bytes());
            self.skippable = self.skippable.saturating_sub(len);
        }
        fn gap(&mut self, _: Dir, len: u64, _: &PacketMeta) {
            self.out
                .extend_from_slice(format!("<gap {len}>").as_bytes());
        }
        fn skippable(&self, _: Dir) -> u64 {
            self.skippable
        }
        fn end(&mut self, _: Dir, _: &PacketMeta) {
            self.out.extend_from_slice(b"<end>");
        }
        fn warn(&mut self, kind: WarnKind, _: Dir, _: &PacketMeta) {
            self.warns.push(kind);
        }
    }

    const LIM: ReassemblyLimits = ReassemblyLimits {
        max_segments: 8,
        max_bytes: 1024,
        gap_window: 4096,
    };

    struct T {
        r: Reassembler,
        pool: Pool,
        sink: Rec,
    }

    impl T {
        fn new(isn: u32) -> Self {
            let mut r = Reassembler::default();
            r.start_at(SeqNumber(isn));
            T {
                r,
                pool: Pool::default(),
                sink: Rec::default(),
            }
        }
        fn seg(&mut self, seq: u32, data: &[u8]) -> &mut Self {
            self.seg_full(seq, data, 0, false)
        }
        fn seg_full(&mut self, seq: u32, data: &[u8], missing: u32, fin: bool) -> &mut Self {
            let meta = PacketMeta::default();
            self.r.segment(
                0,
                SeqNumber(seq),
                data,
                missing,
                fin,
                &meta,
                &LIM,
                &mut self.pool,
                &mut self.sink,
            );
            self
        }
        fn finish(&mut self) -> String {
            self.r
                .finish(0, &PacketMeta::default(), &mut self.pool, &mut self.sink);
            String::from_utf8_lossy(&self.sink.out).into_owned()
        }
    }

    #[test]
    fn seq_numbers_compare_across_wrap() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a + 4;
        assert_eq!(b, SeqNumber(2));
        assert_eq!(b.diff(a), 4);
        assert!(a.is_before(b));
        assert!(!b.is_before(a));
    }

    /// The AVX2 digest is the word-at-a-time one for every length and content (checked when
    /// this CPU has AVX2).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn fingerprint_avx2_equals_lanes() {
        use proptest::prelude::*;
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..300), at in 0usize..8)| {
            // Every alignment of the blocks in memory.
            let bytes = bytes.get(at.min(bytes.len())..).unwrap_or_default();
            // SAFETY: AVX2 was found just above.
            let fast = unsafe { fingerprint_avx2(bytes) };
            prop_assert_eq!(fast, fingerprint_lanes(bytes));
        });
    }

    #[test]
    fn fingerprint_sees_changed_and_moved_bytes() {
        let base: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        let fp = fingerprint(&base);
        for len in [0, 1, 7, 8, 31, 32, 33, 64, 200] {
            // Equal bytes elsewhere in memory, equal digest.
            let copy = base[..len].to_vec();
            assert_eq!(fingerprint(&base[..len]), fingerprint(&copy));
        }
        for at in [0, 5, 31, 32, 100, 199] {
            let mut one = base.clone();
            one[at] ^= 1;
            assert_ne!(fingerprint(&one), fp, "byte {at} changed");
        }
        // Two words swapped (same lane, different blocks; different lanes), a byte more.
        for (x, y) in [(0, 32), (8, 16), (40, 72)] {
            let mut moved = base.clone();
            for k in 0..8 {
                moved.swap(x + k, y + k);
            }
            assert_ne!(fingerprint(&moved), fp, "words {x} and {y} swapped");
        }
        let mut longer = base.clone();
        longer.push(0);
        assert_ne!(fingerprint(&longer), fp);
    }

    /// The key's hash found with its order is the key's own hash, for IPv4 and IPv6 ends.
    #[test]
    fn flow_key_hashed_with_its_order_is_its_hash() {
        let hasher = foldhash::fast::RandomState::default();
        let v4 = |a: [u8; 4], port| Endpoint {
            ip: IpAddr::from(a),
            port,
        };
        let v6 = Endpoint {
            ip: "2001:db8::1".parse().expect("an IPv6 literal"),
            port: 443,
        };
        let pairs = [
            (v4([10, 0, 0, 1], 5000), v4([10, 0, 0, 2], 80)),
            (v4([10, 0, 0, 2], 80), v4([10, 0, 0, 1], 5000)),
            (v4([10, 0, 0, 1], 80), v4([10, 0, 0, 1], 81)),
            (v4([10, 0, 0, 1], 80), v6),
            (v6, v4([192, 168, 1, 1], 80)),
        ];
        for (src, dst) in pairs {
            let (key, dir, hash) = FlowKey::of_hashed(src, dst, &hasher);
            assert_eq!((key, dir), FlowKey::of(src, dst));
            assert_eq!(hash, hasher.hash_one(key));
        }
    }

    #[test]
    fn flow_key_is_symmetric() {
        let a = Endpoint {
            ip: "10.0.0.1".parse().unwrap(),
            port: 1234,
        };
        let b = Endpoint {
            ip: "10.0.0.2".parse().unwrap(),
            port: 80,
        };
        let (k1, d1) = FlowKey::of(a, b);
        let (k2, d2) = FlowKey::of(b, a);
        assert_eq!(k1, k2);
        assert_ne!(d1, d2);
        assert_eq!(shard_hash(&a, &b), shard_hash(&b, &a));
        assert_eq!(k1.sender(d1), a);
    }

    #[test]
    fn in_order() {
        let mut t = T::new(100);
        t.seg(100, b"hello ").seg(106, b"world");
        assert_eq!(t.finish(), "hello world<end>");
    }

    #[test]
    fn out_of_order_is_held_then_delivered() {
        let mut t = T::new(100);
        t.seg(106, b"world").seg(111, b"!");
        assert_eq!(t.sink.out, b"");
        assert_eq!(t.r.held_bytes(), 6);
        t.seg(100, b"hello ");
        assert_eq!(t.r.held_bytes(), 0);
        assert_eq!(t.finish(), "hello world!<end>");
        assert!(t.sink.warns.contains(&WarnKind::TcpOutOfOrder));
    }

    #[test]
    fn overlap_and_retransmission_first_copy_wins() {
        let mut t = T::new(0);
        // Held first: "BBBB" at 4..8; a later copy "xxxxxxxx" at 2..10 only fills 2..4, 8..10.
        t.seg(4, b"BBBB").seg(2, b"xxxxxxxx").seg(0, b"AA");
        // Retransmission of delivered bytes with different content is ignored.
        t.seg(0, b"ZZZZ");
        // Partial overlap with the delivered end: only the new tail counts.
        t.seg(8, b"yyCC");
        assert_eq!(t.finish(), "AAxxBBBBxxCC<end>");
        // Every later copy carried other bytes: conflicts (one per segment), not
        // retransmissions (issue 18).
        let conflicts = |t: &T| {
            t.sink
                .warns
                .iter()
                .filter(|w| **w == WarnKind::TcpConflictingOverlap)
                .count()
        };
        assert_eq!(conflicts(&t), 3, "{:?}", t.sink.warns);
        assert!(!t.sink.warns.contains(&WarnKind::TcpRetransmission));

        // The same bytes again, whole or coalesced, held or delivered: retransmissions.
        let mut t = T::new(0);
        t.seg(4, b"BBBB").seg(4, b"BBBB").seg(0, b"AAAA");
        t.seg(0, b"AAAA").seg(0, b"AAAABBBB").seg(6, b"BBCC");
        assert_eq!(t.finish(), "AAAABBBBCC<end>");
        assert_eq!(conflicts(&t), 0, "{:?}", t.sink.warns);
        assert!(t.sink.warns.contains(&WarnKind::TcpRetransmission));
    }

    /// Only the few last delivered pieces are remembered: a copy of older bytes is a
    /// retransmission as far as anyone can tell, never a false conflict.
    #[test]
    fn conflicts_are_checked_against_recent_pieces_only() {
        let mut t = T::new(0);
        for i in 0..(RECENT_PIECES as u32 + 2) {
            t.seg(i * 2, b"ab");
        }
        t.seg(0, b"zz");
        let last = (RECENT_PIECES as u32 + 1) * 2;
        t.seg(last, b"zz");
        let warns = &t.sink.warns;
        assert_eq!(warns[warns.len() - 2], WarnKind::TcpRetransmission);
        assert_eq!(warns[warns.len() - 1], WarnKind::TcpConflictingOverlap);
    }

    #[test]
    fn gap_is_declared_at_finish() {
        let mut t = T::new(0);
        t.seg(0, b"ab").seg(5, b"fg");
        assert_eq!(t.finish(), "ab<gap 3>fg<end>");
        assert!(t.sink.warns.contains(&WarnKind::TcpGap));
    }

    #[test]
    fn gap_is_declared_when_too_much_is_held() {
        let mut t = T::new(0);
        t.seg(0, b"a");
        // Ten held segments exceed max_segments (8): the hole before them is given up.
        for i in 0..10u32 {
            t.seg(10 + i, b"x");
        }
        assert!(String::from_utf8_lossy(&t.sink.out).starts_with("a<gap 9>x"));
        assert!(t.sink.warns.contains(&WarnKind::LimitOooSegments));
    }

    #[test]
    fn sequence_wrap_around() {
        let isn = u32::MAX - 2;
        let mut t = T::new(isn);
        t.seg(isn.wrapping_add(3), b"def"); // seq 0, after the wrap, out of order
        t.seg(isn, b"abc");
        t.seg(isn.wrapping_add(6), b"ghi");
        assert_eq!(t.finish(), "abcdefghi<end>");
    }

    #[test]
    fn mid_stream_start_at_first_segment() {
        let mut r = Reassembler::default();
        let mut pool = Pool::default();
        let mut sink = Rec::default();
        let meta = PacketMeta::default();
        r.segment(
            0,
            SeqNumber(777),
            b"xy",
            0,
            false,
            &meta,
            &LIM,
            &mut pool,
            &mut sink,
        );
        // An earlier segment (before the start) counts as a retransmission.
        r.segment(
            0,
            SeqNumber(770),
            b"1234567",
            0,
            false,
            &meta,
            &LIM,
            &mut pool,
            &mut sink,
        );
        assert_eq!(sink.out, b"xy");
    }

    #[test]
    fn body_ranges_are_skipped_not_stored() {
        let mut t = T::new(0);
        t.sink.skippable = 1000;
        t.seg(10, &[b'b'; 100]);
        assert_eq!(t.r.held_bytes(), 0, "body bytes must not be buffered");
        t.seg(0, &[b'a'; 10]);
        assert_eq!(t.finish(), "aaaaaaaaaa<skip 100><end>");
    }

    #[test]
    fn snaplen_missing_bytes_become_a_gap() {
        let mut t = T::new(0);
        t.seg_full(0, b"abc", 5, false).seg(8, b"z");
        assert_eq!(t.finish(), "abc<gap 5>z<end>");
    }

    #[test]
    fn fin_before_the_last_data_waits_for_it() {
        let mut t = T::new(0);
        t.seg(0, b"ab").seg_full(4, b"ef", 0, true);
        assert!(!t.r.is_ended(), "a hole before the FIN is waited for");
        t.seg(2, b"cd");
        assert!(t.r.is_ended());
        assert_eq!(String::from_utf8_lossy(&t.sink.out), "abcdef<end>");
        // Data after the FIN is ignored.
        t.seg(6, b"gh");
        assert_eq!(t.finish(), "abcdef<end>");
    }

    #[test]
    fn fin_with_a_hole_never_filled_declares_it_at_finish() {
        let mut t = T::new(0);
        t.seg(0, b"ab").seg_full(4, b"ef", 0, true);
        assert_eq!(t.finish(), "ab<gap 2>ef<end>");
    }

    #[test]
    fn peer_ack_declares_capture_loss() {
        let mut t = T::new(0);
        t.seg(0, b"ab").seg(6, b"gh");
        let meta = PacketMeta::default();
        t.r.peer_ack(0, SeqNumber(8), &meta, &LIM, &mut t.pool, &mut t.sink);
        assert_eq!(String::from_utf8_lossy(&t.sink.out), "ab<gap 4>gh");
        // An absurd ACK far beyond the window is not believed.
        t.r.peer_ack(0, SeqNumber(1 << 30), &meta, &LIM, &mut t.pool, &mut t.sink);
        assert_eq!(t.r.position(), 8);
    }

    proptest::proptest! {
        /// A key's ends are ordered as `Endpoint`'s derived order orders them, whichever
        /// direction the segment went and whatever the address families; both directions
        /// give one key, and its hash, whichever way it is computed, is that key's.
        #[test]
        fn flow_key_order_is_endpoint_order(
            a in proptest::prelude::any::<[u8; 4]>(),
            b in proptest::prelude::any::<[u8; 4]>(),
            v6 in proptest::prelude::any::<[u8; 16]>(),
            ports in proptest::prelude::any::<(u16, u16)>(),
            same_ip in proptest::prelude::any::<bool>(),
        ) {
            let b = if same_ip { a } else { b };
            let ends = [IpAddr::from(a), IpAddr::from(b), IpAddr::from(v6)];
            let hash = |k: &FlowKey| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                k.hash(&mut h);
                h.finish()
            };
            for (x, y) in [(0, 1), (1, 0), (0, 2), (2, 1)] {
                let src = Endpoint { ip: ends[x], port: ports.0 };
                let dst = Endpoint { ip: ends[y], port: ports.1 };
                let (key, dir) = FlowKey::of(src, dst);
                let (lo, hi) = if src <= dst { (src, dst) } else { (dst, src) };
                proptest::prop_assert_eq!(key, FlowKey { lo, hi });
                proptest::prop_assert_eq!(dir, usize::from(src > dst));
                let (back, back_dir) = FlowKey::of(dst, src);
                proptest::prop_assert_eq!(back, key);
                proptest::prop_assert_eq!(hash(&back), hash(&key));
                proptest::prop_assert_eq!(back_dir, if src == dst { 0 } else { 1 - dir });
            }
        }

        /// The hand-written texts equal `Display`'s.
        #[test]
        fn endpoint_text_is_display(a in proptest::prelude::any::<[u8; 4]>(), port in proptest::prelude::any::<u16>(), v6 in proptest::prelude::any::<[u8; 16]>()) {
            for ip in [IpAddr::from(a), IpAddr::from(v6)] {
                let e = Endpoint { ip, port };
                proptest::prop_assert_eq!(&*e.text(), e.to_string());
                proptest::prop_assert_eq!(&*ip_shared(ip), ip.to_string());
            }
        }
    }
}
