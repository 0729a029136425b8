//! Step 2b (frag): IPv4 and IPv6 fragment reassembly, for [`super::decode::Decoder`]. Fed in
//! capture order; memory bounded (datagrams and bytes held, [`FragLimits`]), incomplete
//! datagrams expire after a timeout in capture time, and every datagram that is not
//! delivered is counted: `ip-fragment-incomplete` (expired, or still open at the end),
//! `ip-fragment-overlap` (fragments overlapping with different bytes: receivers resolve that
//! differently, RFC 5722, so the datagram is dropped rather than guessed),
//! `ip-fragment-invalid` (past 65,535 bytes, or two different ends), `limit-ip-fragments`
//! (evicted to stay within the limits). Overlaps with equal bytes (retransmitted fragments)
//! are merged silently.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use super::decode::{transport, Carried, Decoded, Fragment};
use super::tcp::PacketMeta;
use crate::diag::{Diagnostics, WarnKind};
use crate::model::Micros;

/// Datagrams being reassembled at once; beyond it the oldest is dropped (`limit-ip-fragments`).
pub(crate) const MAX_FRAG_DATAGRAMS: usize = 4096;
/// Bytes held for datagrams being reassembled (data plus `PIECE_OVERHEAD` per piece).
pub(crate) const MAX_FRAG_BYTES: usize = 32 * 1024 * 1024;
/// An incomplete datagram is given up after this long in capture time (Linux's
/// `ipfrag_time`), counted as `ip-fragment-incomplete`.
pub(crate) const FRAG_TIMEOUT_SECS: i64 = 30;
/// Largest datagram payload: IPv4's total length and IPv6's payload length are 16 bits.
const MAX_DATAGRAM: u32 = 65_535;
/// Bytes charged per held piece on top of its data, so tiny fragments cannot hold more
/// memory than the byte limit says.
const PIECE_OVERHEAD: usize = 64;

/// The reassembler's limits ([`super::CaptureOptions::frag`]).
#[derive(Clone, Debug)]
pub struct FragLimits {
    pub max_datagrams: usize,
    pub max_bytes: usize,
    pub timeout_secs: i64,
}

impl Default for FragLimits {
    fn default() -> Self {
        FragLimits {
            max_datagrams: MAX_FRAG_DATAGRAMS,
            max_bytes: MAX_FRAG_BYTES,
            timeout_secs: FRAG_TIMEOUT_SECS,
        }
    }
}

/// A reassembled datagram: the payload of the IP header(s) its fragments shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Datagram {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub payload: Vec<u8>,
    /// Nesting depth of its IP header (the decode continues from there).
    pub depth: usize,
}

impl Datagram {
    /// What the datagram carries, decoded like an unfragmented packet's payload.
    pub(crate) fn decode(&self) -> Decoded<'_> {
        transport(self.src, self.dst, self.proto, &self.payload, 0, self.depth)
    }

    /// The TCP segment or QUIC datagram it carries, if any.
    pub(crate) fn carried(&self) -> Option<Carried<'_>> {
        match self.decode() {
            Decoded::Tcp(s) => Some(Carried::Tcp(s)),
            Decoded::Quic(u) => Some(Carried::Quic(u)),
            _ => None,
        }
    }
}

/// Fragments of one datagram share source, destination, identification and protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

/// The key as one 38-byte write: hashing it field by field (keyed SipHash, since the
/// identifications are the sender's to choose) cost more than the rest of reassembly.
impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let octets = |ip: IpAddr| match ip {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => a.octets(),
        };
        let mut b = [0u8; 38];
        b[..16].copy_from_slice(&octets(self.src));
        b[16..32].copy_from_slice(&octets(self.dst));
        b[32..36].copy_from_slice(&self.id.to_be_bytes());
        b[36] = self.proto;
        b[37] = u8::from(self.src.is_ipv4());
        h.write(&b);
    }
}

impl Key {
    fn describe(&self) -> String {
        format!(
            "datagram {} → {} id {} (protocol {})",
            self.src, self.dst, self.id, self.proto
        )
    }
}

#[derive(Debug)]
struct Pending {
    /// Disjoint pieces by offset.
    pieces: BTreeMap<u32, Vec<u8>>,
    /// The datagram's length, once its last fragment was seen.
    total: Option<u32>,
    /// Bytes the pieces cover.
    covered: u32,
    /// Bytes charged to the byte limit.
    charged: usize,
    /// Its first fragment: capture time, packet number, record offset.
    first: PacketMeta,
    /// A fragment was cut short by the capture's snapshot length: it can never complete.
    cut: bool,
    /// Already given up (overlap, invalid) and counted: later fragments are absorbed.
    dead: bool,
    /// Delivered: the whole payload is kept (as one piece) until the timeout, so that a
    /// duplicate fragment (a retransmission, a mirror port's copy) is absorbed instead of
    /// starting a datagram that would never complete.
    done: bool,
    depth: usize,
    generation: u64,
}

impl Pending {
    /// Whether a delivered datagram already holds exactly this fragment's bytes.
    fn holds(&self, f: &Fragment<'_>) -> bool {
        let (Some(total), Some(whole)) = (self.total, self.pieces.get(&0)) else {
            return false;
        };
        let end = f.offset as usize + f.data.len();
        (f.more || end == total as usize) && whole.get(f.offset as usize..end) == Some(f.data)
    }

    /// Checks fragment `f` against the datagram's bounds (a datagram has one end, within
    /// 65,535 bytes) and stores the bytes not held yet. Returns the bytes charged to the byte
    /// limit, or why the datagram must be dropped (the caller counts it and kills it).
    #[inline]
    fn accept(&mut self, f: &Fragment<'_>) -> Result<usize, Reject> {
        let len = u32::try_from(f.data.len()).unwrap_or(u32::MAX);
        let end = u64::from(f.offset) + u64::from(len) + u64::from(f.missing);
        if end > u64::from(MAX_DATAGRAM) {
            return Err(Reject::Invalid("run past 65,535 bytes"));
        }
        // `end` fits in a u32 here.
        let end = end as u32;
        let last_piece_end = self
            .pieces
            .last_key_value()
            .map_or(0, |(s, d)| s + d.len() as u32);
        match (f.more, self.total) {
            (false, Some(t)) if t != end => {
                return Err(Reject::Invalid("end at two different lengths"))
            }
            (false, _) if last_piece_end > end => return Err(Reject::Invalid(AFTER_END)),
            (true, Some(t)) if end > t => return Err(Reject::Invalid(AFTER_END)),
            (false, _) => self.total = Some(end),
            (true, _) => {}
        }
        let (bytes, pieces) = add(&mut self.pieces, f.offset, f.data).map_err(Reject::Overlap)?;
        self.covered += bytes;
        let charge = bytes as usize + pieces * PIECE_OVERHEAD;
        self.charged += charge;
        self.cut |= f.missing > 0;
        Ok(charge)
    }
}

/// Why a fragment makes its whole datagram dropped ([`Pending::accept`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reject {
    /// The fragments disagree about the datagram's bounds (`ip-fragment-invalid`).
    Invalid(&'static str),
    /// Held bytes differ from this fragment's at that offset (`ip-fragment-overlap`).
    Overlap(u32),
}

const AFTER_END: &str = "hold data after the last fragment's end";

impl Reject {
    /// The warning that counts the dropped datagram.
    fn kind(&self) -> crate::diag::WarnKind {
        match self {
            Reject::Invalid(_) => WarnKind::IpFragmentInvalid,
            Reject::Overlap(_) => WarnKind::IpFragmentOverlap,
        }
    }

    /// What happens to the datagram, and for overlaps why it is not guessed.
    fn consequence(&self) -> &'static str {
        match self {
            Reject::Invalid(_) => "datagram dropped",
            Reject::Overlap(_) => "datagram dropped (receivers resolve overlaps differently)",
        }
    }
}

/// What the fragments did, as the warning words it.
impl std::fmt::Display for Reject {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::Invalid(why) => out.write_str(why),
            Reject::Overlap(pos) => write!(out, "overlap with different bytes at offset {pos}"),
        }
    }
}

/// The reassembler: datagrams in progress, oldest first.
#[derive(Debug)]
pub(crate) struct Defrag {
    limits: FragLimits,
    pending: HashMap<Key, Pending>,
    /// Creation order (key, generation, first capture time) for expiry and eviction;
    /// entries of finished datagrams are skipped.
    order: VecDeque<(Key, u64, Micros)>,
    next_generation: u64,
    charged: usize,
}

/// Where a warning about a datagram points: its first fragment.
fn at(src: &str, m: &PacketMeta) -> String {
    format!("{src}: packet {} (byte {})", m.number, m.offset)
}

impl Defrag {
    pub(crate) fn new(limits: FragLimits) -> Self {
        Defrag {
            limits,
            pending: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            charged: 0,
        }
    }

    #[cfg(test)]
    /// Datagrams in progress (including given-up ones still absorbing fragments).
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Adds one fragment; returns the datagram when this fragment completes it.
    pub(crate) fn insert(
        &mut self,
        f: &Fragment<'_>,
        meta: &PacketMeta,
        src: &str,
        diag: &mut Diagnostics,
    ) -> Option<Datagram> {
        self.expire(meta.ts, src, diag);
        let key = Key {
            src: f.src,
            dst: f.dst,
            id: f.id,
            proto: f.proto,
        };
        if !self.admit(&key, f, src, diag) {
            return None;
        }
        let p = self.pending_for(key, f, meta);
        let first = p.first;
        let charge = match p.accept(f) {
            Ok(charge) => charge,
            Err(reject) => {
                diag.warn(reject.kind(), || {
                    format!(
                        "{}: fragments of {} {reject} (packet {}, byte {}): {}",
                        at(src, &first),
                        key.describe(),
                        meta.number,
                        meta.offset,
                        reject.consequence()
                    )
                });
                self.kill(&key);
                return None;
            }
        };
        let whole = p.total.is_some_and(|t| t == p.covered);
        self.charged += charge;
        let done = if whole { self.complete(&key) } else { None };
        while self.charged > self.limits.max_bytes {
            if !self.evict_oldest(src, diag) {
                break;
            }
        }
        done
    }

    /// Decides whether fragment `f` of `key` is read at all: false when its datagram was
    /// delivered or given up (the fragment is absorbed); a delivered datagram whose bytes
    /// differ means the identification was reused, so the old one is forgotten. Makes room
    /// under the datagram limit before a new datagram is started.
    #[inline]
    fn admit(&mut self, key: &Key, f: &Fragment<'_>, src: &str, diag: &mut Diagnostics) -> bool {
        let known = match self.pending.get(key) {
            // The identification was reused for a new datagram.
            Some(p) if p.done && !p.holds(f) => {
                let generation = p.generation;
                self.take(key, generation);
                false
            }
            Some(p) if p.done || p.dead => return false,
            Some(_) => true,
            None => false,
        };
        if !known {
            while self.pending.len() >= self.limits.max_datagrams.max(1) {
                if !self.evict_oldest(src, diag) {
                    break;
                }
            }
        }
        true
    }

    /// The datagram `key` in progress, started (and queued for expiry) by this fragment
    /// when it is the first one seen.
    #[inline]
    fn pending_for(&mut self, key: Key, f: &Fragment<'_>, meta: &PacketMeta) -> &mut Pending {
        match self.pending.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let generation = self.next_generation;
                self.next_generation += 1;
                self.order.push_back((key, generation, meta.ts));
                e.insert(Pending {
                    pieces: BTreeMap::new(),
                    total: None,
                    covered: 0,
                    charged: 0,
                    first: *meta,
                    cut: false,
                    dead: false,
                    done: false,
                    depth: f.depth,
                    generation,
                })
            }
        }
    }

    /// End of input: what is still incomplete is counted.
    pub(crate) fn finish(&mut self, src: &str, diag: &mut Diagnostics) {
        while let Some((key, generation, _)) = self.order.pop_front() {
            self.give_up(&key, generation, "at the end of the capture", src, diag);
        }
    }

    /// Gives up datagrams older than the timeout (in capture time; a clock going backwards
    /// expires nothing).
    fn expire(&mut self, now: Micros, src: &str, diag: &mut Diagnostics) {
        let timeout = self.limits.timeout_secs.saturating_mul(1_000_000);
        while let Some((key, generation, first)) = self.order.front().copied() {
            if now.saturating_sub(first) <= timeout {
                break;
            }
            self.order.pop_front();
            let why = format!("after {} s", self.limits.timeout_secs);
            self.give_up(&key, generation, &why, src, diag);
        }
        // Finished datagrams leave stale entries behind a live one: compact now and then.
        if self.order.len() > 2 * self.pending.len() + 64 {
            let pending = &self.pending;
            self.order
                .retain(|(k, g, _)| pending.get(k).is_some_and(|p| p.generation == *g));
        }
    }

    /// Drops the oldest datagram in progress (`limit-ip-fragments`); false when none is left.
    fn evict_oldest(&mut self, src: &str, diag: &mut Diagnostics) -> bool {
        while let Some((key, generation, _)) = self.order.pop_front() {
            let Some(p) = self.take(&key, generation) else {
                continue;
            };
            if !p.dead && !p.done {
                let first = p.first;
                diag.warn(WarnKind::LimitIpFragments, || {
                    format!(
                        "{}: fragments of {} dropped unfinished to stay within the fragment limits ({} datagrams, {} bytes)",
                        at(src, &first),
                        key.describe(),
                        self.limits.max_datagrams,
                        self.limits.max_bytes
                    )
                });
            }
            return true;
        }
        false
    }

    /// Counts a datagram that will not complete (unless already counted) and forgets it.
    fn give_up(
        &mut self,
        key: &Key,
        generation: u64,
        why: &str,
        src: &str,
        diag: &mut Diagnostics,
    ) {
        let Some(p) = self.take(key, generation) else {
            return;
        };
        if !p.dead && !p.done {
            diag.warn(WarnKind::IpFragmentIncomplete, || {
                let seen = match p.total {
                    Some(t) => format!("{} of {t} bytes seen", p.covered),
                    None => format!("{} bytes seen, the last fragment missing", p.covered),
                };
                let cut = if p.cut {
                    " (a fragment was cut short by the capture's snapshot length)"
                } else {
                    ""
                };
                format!(
                    "{}: fragments of {} incomplete {why}: {seen}{cut}",
                    at(src, &p.first),
                    key.describe()
                )
            });
        }
    }

    /// Marks a datagram given up: its data is freed, its later fragments absorbed.
    fn kill(&mut self, key: &Key) {
        if let Some(p) = self.pending.get_mut(key) {
            self.charged -= p.charged;
            p.charged = 0;
            p.pieces = BTreeMap::new();
            p.dead = true;
        }
    }

    /// Removes datagram `key` if it is still the one of that generation.
    fn take(&mut self, key: &Key, generation: u64) -> Option<Pending> {
        match self.pending.entry(*key) {
            Entry::Occupied(e) if e.get().generation == generation => {
                let p = e.remove();
                self.charged -= p.charged;
                Some(p)
            }
            _ => None,
        }
    }

    /// Builds the datagram and keeps its payload as the tombstone's one piece.
    fn complete(&mut self, key: &Key) -> Option<Datagram> {
        let p = self.pending.get_mut(key)?;
        let mut payload = Vec::with_capacity(p.covered as usize);
        // Disjoint pieces covering exactly [0, total): each starts where the last ended
        // (`insert` keeps it so; checked rather than trusted).
        let contiguous = p.pieces.iter().all(|(start, data)| {
            let ok = *start as usize == payload.len();
            payload.extend_from_slice(data);
            ok
        });
        if !contiguous {
            self.kill(key);
            return None;
        }
        self.charged -= p.charged;
        p.charged = payload.len() + PIECE_OVERHEAD;
        self.charged += p.charged;
        p.pieces = BTreeMap::from([(0, payload.clone())]);
        p.done = true;
        let depth = p.depth;
        Some(Datagram {
            src: key.src,
            dst: key.dst,
            proto: key.proto,
            payload,
            depth,
        })
    }
}

/// Adds `data` at `start` to disjoint `pieces`, keeping only the bytes not held yet. Returns
/// the bytes and pieces added, or the first offset where held bytes differ (nothing added).
fn add(pieces: &mut BTreeMap<u32, Vec<u8>>, start: u32, data: &[u8]) -> Result<(u32, usize), u32> {
    // `start + len` is at most 65,535 + a captured length, checked by the caller.
    let end = start.saturating_add(u32::try_from(data.len()).unwrap_or(u32::MAX));
    let slice = |from: u32, to: u32| data.get((from - start) as usize..(to - start) as usize);
    let mut fresh: Vec<(u32, u32)> = Vec::new();
    let mut cursor = start;
    let before = pieces.range(..start).next_back();
    for (&ps, held) in before.into_iter().chain(pieces.range(start..end)) {
        let pe = ps.saturating_add(held.len() as u32);
        if pe <= cursor {
            continue;
        }
        if ps > cursor {
            fresh.push((cursor, ps.min(end)));
        }
        let (os, oe) = (ps.max(cursor), pe.min(end));
        if os < oe {
            let ours = slice(os, oe).unwrap_or(&[]);
            let theirs = held
                .get((os - ps) as usize..(oe - ps) as usize)
                .unwrap_or(&[]);
            if let Some(i) = ours.iter().zip(theirs).position(|(a, b)| a != b) {
                return Err(os + i as u32);
            }
        }
        cursor = cursor.max(oe);
    }
    if cursor < end {
        fresh.push((cursor, end));
    }
    let mut bytes = 0;
    for &(s, e) in &fresh {
        if let Some(d) = slice(s, e) {
            pieces.insert(s, d.to_vec());
            bytes += e - s;
        }
    }
    Ok((bytes, fresh.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            src: A,
            dst: B,
            id: 7,
            proto: 17,
            offset,
            more,
            data,
            missing: 0,
            depth: 0,
        }
    }

    fn meta(number: u64, secs: i64) -> PacketMeta {
        PacketMeta {
            number,
            offset: number * 100,
            ts: secs * 1_000_000,
            quiet: 0,
        }
    }

    /// Feeds (offset, more, data) in order; returns every datagram completed and the warnings.
    fn feed(d: &mut Defrag, parts: &[(u32, bool, Vec<u8>)]) -> (Vec<Vec<u8>>, Diagnostics) {
        let mut diag = Diagnostics::new();
        let mut out = Vec::new();
        for (i, (off, more, data)) in parts.iter().enumerate() {
            if let Some(dg) = d.insert(
                &frag(*off, *more, data),
                &meta(i as u64 + 1, 0),
                "t",
                &mut diag,
            ) {
                out.push(dg.payload);
            }
        }
        (out, diag)
    }

    #[test]
    fn table_of_fragment_sequences() {
        let data: Vec<u8> = (0..40u8).collect();
        let (a, b, c) = (
            data[..16].to_vec(),
            data[16..32].to_vec(),
            data[32..].to_vec(),
        );
        let mut changed = b.clone();
        changed[3] ^= 0xff;
        // (name, fragments, datagrams delivered, warning kind expected)
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Vec<(u32, bool, Vec<u8>)>, usize, Option<WarnKind>)> = vec![
            (
                "in order",
                vec![
                    (0, true, a.clone()),
                    (16, true, b.clone()),
                    (32, false, c.clone()),
                ],
                1,
                None,
            ),
            (
                "reversed",
                vec![
                    (32, false, c.clone()),
                    (16, true, b.clone()),
                    (0, true, a.clone()),
                ],
                1,
                None,
            ),
            (
                "duplicate",
                vec![
                    (0, true, a.clone()),
                    (0, true, a.clone()),
                    (32, false, c.clone()),
                    (16, true, b.clone()),
                ],
                1,
                None,
            ),
            (
                "equal overlap",
                vec![
                    (0, true, data[..24].to_vec()),
                    (16, true, b.clone()),
                    (32, false, c.clone()),
                ],
                1,
                None,
            ),
            (
                "conflicting overlap",
                vec![
                    (0, true, a.clone()),
                    (16, true, b.clone()),
                    (16, true, changed),
                    (32, false, c.clone()),
                ],
                0,
                Some(WarnKind::IpFragmentOverlap),
            ),
            (
                "two ends",
                vec![
                    (0, true, a.clone()),
                    (32, false, c.clone()),
                    (24, false, b[..0].to_vec()),
                ],
                0,
                Some(WarnKind::IpFragmentInvalid),
            ),
            (
                "past 64 KiB",
                vec![(65_528, true, a.clone())],
                0,
                Some(WarnKind::IpFragmentInvalid),
            ),
            (
                "data after the end",
                vec![(32, true, c.clone()), (0, false, a.clone())],
                0,
                Some(WarnKind::IpFragmentInvalid),
            ),
        ];
        for (name, parts, delivered, warning) in cases {
            let mut d = Defrag::new(FragLimits::default());
            let (out, mut diag) = feed(&mut d, &parts);
            assert_eq!(out.len(), delivered, "{name}");
            if delivered == 1 {
                assert_eq!(out[0], data, "{name}");
            }
            d.finish("t", &mut diag);
            match warning {
                Some(kind) => assert_eq!(diag.count(kind), 1, "{name}: {diag:?}"),
                None => assert!(diag.is_empty(), "{name}: {diag:?}"),
            }
            // Nothing is counted twice: the datagram's one warning is all.
            assert!(
                diag.counts().map(|(_, n)| n).sum::<u64>() <= 1,
                "{name}: {diag:?}"
            );
            assert!(d.is_empty() && d.charged == 0, "{name}");
        }
    }

    /// `Pending::accept` alone: the bounds checks and the charge, fragment by fragment.
    #[test]
    fn accept_checks_bounds_and_charges_fresh_bytes() {
        let mut p = Pending {
            pieces: BTreeMap::new(),
            total: None,
            covered: 0,
            charged: 0,
            first: meta(1, 0),
            cut: false,
            dead: false,
            done: false,
            depth: 0,
            generation: 0,
        };
        let fresh = 8 + PIECE_OVERHEAD;
        assert_eq!(p.accept(&frag(0, true, b"abcdefgh")), Ok(fresh));
        // A retransmission adds nothing and costs nothing.
        assert_eq!(p.accept(&frag(0, true, b"abcdefgh")), Ok(0));
        assert_eq!(p.accept(&frag(4, true, b"eXgh")), Err(Reject::Overlap(5)));
        assert_eq!(p.accept(&frag(16, false, b"qrst")), Ok(4 + PIECE_OVERHEAD));
        assert_eq!(p.total, Some(20));
        assert_eq!(
            p.accept(&frag(16, false, b"qrstuv")),
            Err(Reject::Invalid("end at two different lengths"))
        );
        assert_eq!(
            p.accept(&frag(18, true, b"uvwx")),
            Err(Reject::Invalid(AFTER_END))
        );
        assert_eq!(
            p.accept(&frag(65_530, true, b"0123456789")),
            Err(Reject::Invalid("run past 65,535 bytes"))
        );
        assert_eq!((p.covered, p.charged), (12, 12 + 2 * PIECE_OVERHEAD));
        assert!(!p.cut);
    }

    #[test]
    fn missing_last_fragment_expires_in_capture_time() {
        let mut d = Defrag::new(FragLimits::default());
        let mut diag = Diagnostics::new();
        assert!(d
            .insert(&frag(0, true, &[1; 8]), &meta(1, 100), "t", &mut diag)
            .is_none());
        // Another datagram 10 s later: the first is still waiting.
        let mut other = frag(0, true, &[2; 8]);
        other.id = 8;
        assert!(d.insert(&other, &meta(2, 110), "t", &mut diag).is_none());
        assert_eq!(diag.count(WarnKind::IpFragmentIncomplete), 0);
        other.id = 9;
        assert!(d.insert(&other, &meta(3, 131), "t", &mut diag).is_none());
        assert_eq!(diag.count(WarnKind::IpFragmentIncomplete), 1);
        assert!(diag.details(WarnKind::IpFragmentIncomplete)[0].contains("packet 1 (byte 100)"));
        d.finish("t", &mut diag);
        assert_eq!(diag.count(WarnKind::IpFragmentIncomplete), 3);
        assert!(d.is_empty());
    }

    #[test]
    fn limits_evict_the_oldest_and_count_it() {
        let limits = FragLimits {
            max_datagrams: 3,
            max_bytes: 4 * (8 + PIECE_OVERHEAD),
            timeout_secs: 30,
        };
        let mut d = Defrag::new(limits);
        let mut diag = Diagnostics::new();
        for id in 0..10u32 {
            let mut f = frag(0, true, &[0; 8]);
            f.id = id;
            d.insert(&f, &meta(u64::from(id), 0), "t", &mut diag);
            assert!(d.len() <= 3 && d.charged <= 4 * (8 + PIECE_OVERHEAD));
        }
        assert_eq!(diag.count(WarnKind::LimitIpFragments), 7);
        // A big fragment over the byte limit evicts everything, itself last.
        let big = vec![0u8; 1000];
        let mut f = frag(8, true, &big);
        f.id = 99;
        d.insert(&f, &meta(20, 0), "t", &mut diag);
        assert!(d.charged <= 4 * (8 + PIECE_OVERHEAD));
    }

    proptest! {
        /// Any split into fragments, in any order, with duplicates, gives back the datagram,
        /// exactly once, when its last missing byte arrives; no warning.
        #[test]
        fn any_split_and_order_reassembles(
            data in prop::collection::vec(any::<u8>(), 1..3000),
            cuts in prop::collection::vec(1usize..400, 1..20),
            order in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
            dups in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
        ) {
            // Fragment boundaries at multiples of 8.
            let mut parts = Vec::new();
            let mut off = 0usize;
            for c in cuts.iter().cycle() {
                if off >= data.len() {
                    break;
                }
                let end = (off + c * 8).min(data.len());
                parts.push((off as u32, end < data.len(), data[off..end].to_vec()));
                off = end;
            }
            for i in dups {
                let p = parts[i.index(parts.len())].clone();
                parts.push(p);
            }
            for (i, j) in order.iter().enumerate() {
                let (a, b) = (i % parts.len(), j.index(parts.len()));
                parts.swap(a, b);
            }
            let mut d = Defrag::new(FragLimits::default());
            let (out, diag) = feed(&mut d, &parts);
            prop_assert_eq!(out.len(), 1);
            prop_assert_eq!(&out[0], &data);
            prop_assert!(diag.is_empty());
        }

        /// Arbitrary fragments (any offsets, lengths, flags, ids) never panic, and memory
        /// stays within the limits.
        #[test]
        fn arbitrary_fragments_stay_bounded(
            frags in prop::collection::vec((0u32..70_000, any::<bool>(), 0usize..300, 0u32..4, 0i64..100), 0..60),
        ) {
            let limits = FragLimits { max_datagrams: 3, max_bytes: 2000, timeout_secs: 5 };
            let mut d = Defrag::new(limits);
            let mut diag = Diagnostics::new();
            for (i, (off, more, len, id, t)) in frags.iter().enumerate() {
                let data = vec![(*off % 251) as u8; *len];
                let mut f = frag(*off, *more, &data);
                f.id = *id;
                let _ = d.insert(&f, &meta(i as u64, *t), "t", &mut diag);
                prop_assert!(d.len() <= 3);
                prop_assert!(d.charged <= 2000 + 300 + PIECE_OVERHEAD);
            }
            d.finish("t", &mut diag);
            prop_assert!(d.is_empty());
            prop_assert_eq!(d.charged, 0);
        }
    }
}
