//! Step 3d (QUIC): one QUIC connection (a UDP endpoint pair) read passively, as Wireshark
//! does with a key log. The Initial packets are decrypted with the keys every observer can
//! derive (RFC 9001 §5.2) to read the ClientHello's random and the ServerHello's cipher
//! suite; the key log's traffic secrets for that random open the 0-RTT and 1-RTT packets
//! (with key updates); stream data is put back in order per stream and handed to HTTP/3.
//! Handshake packets carry nothing HTTP needs and are not decrypted. A connection is never
//! guessed at: without its handshake or its secrets it is counted (`quic-not-analysed`), and
//! what its client sent is recorded as unread.

pub(crate) mod frame;
pub(crate) mod packet;
pub(crate) mod synth;

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::diag::WarnKind;
use crate::model::loss::Loss;
use crate::model::{HttpVersion, Micros};

use super::h3::H3Conn;
use super::http::Ctx;
use super::streams::Heads;
use super::tcp::{Dir, FlowKey, PacketMeta};
use super::tls::keylog::{Secrets, Slot};
use super::tls::keys::{self, Suite};
use super::tls::record::{self, ClientHello, HsReader};
use frame::Frame;
use packet::{Kind, PacketKeys};

/// Datagrams held while the keys that open them are not known yet (the ServerHello, or the
/// whole handshake, comes later in a disordered or merged capture), and their bytes.
const MAX_HELD_DATAGRAMS: usize = 256;
const MAX_HELD_BYTES: usize = 512 * 1024;
/// Out-of-order bytes kept per stream (and for the Initial CRYPTO data) before the stream is
/// given up as lost.
const MAX_STREAM_BUFFER: usize = 256 * 1024;
/// Destination IDs the Initial keys are derived from, per connection: the client's first,
/// and one per Retry it followed (one, RFC 9000 §17.2.5.2).
const MAX_INITIAL_IDS: usize = 4;
/// Segment sizes tried on a short-header packet that does not open (GSO, see
/// `QuicConn::segments`), after the sender's own: QUIC's minimum, the Initial sizes browsers
/// use, and the payloads of common path MTUs (IPv6 and IPv4, 1280 and 1500).
const GSO_SIZES: [usize; 7] = [1200, 1232, 1252, 1280, 1350, 1452, 1472];
/// Streams followed at once per connection; a browser opens a few hundred at most.
const MAX_STREAMS: usize = 4096;

/// One direction's 0-RTT or 1-RTT keys: the current generation, the next (RFC 9001 §6: a
/// flipped key phase bit; derived when a packet first needs it, as most connections never
/// update), and the previous (packets reordered across an update).
#[derive(Debug)]
struct AppKeys {
    cur: PacketKeys,
    next: Option<Box<PacketKeys>>,
    prev: Option<Box<PacketKeys>>,
    phase: bool,
}

impl AppKeys {
    /// Boxed, as a connection keeps them: a connection without its keys (most of those a
    /// capture shows without a key log) then costs no room for them, and the generations
    /// other than the current one are boxed in turn (a connection was 10 KB before any key).
    fn boxed(keys: PacketKeys) -> Box<Self> {
        Box::new(AppKeys {
            next: None,
            cur: keys,
            prev: None,
            phase: false,
        })
    }

    /// The next generation opened a packet: it becomes current.
    fn update(&mut self) {
        if let Some(next) = self.next.take() {
            self.prev = Some(Box::new(std::mem::replace(&mut self.cur, *next)));
            self.phase = !self.phase;
        }
    }
}

/// In-order delivery of one byte stream (a QUIC stream, or CRYPTO data) from frames that may
/// come in any order, duplicated or overlapping.
#[derive(Debug, Default)]
struct Reorder {
    /// The next offset to deliver.
    next: u64,
    /// Data ahead of `next`, by offset.
    ahead: BTreeMap<u64, Vec<u8>>,
    ahead_bytes: usize,
    /// The stream's final size, once a FIN was seen.
    fin: Option<u64>,
}

impl Reorder {
    /// Drops the data held ahead of a hole; the bytes it held.
    fn drop_ahead(&mut self) -> usize {
        self.ahead.clear();
        std::mem::take(&mut self.ahead_bytes)
    }

    /// Takes the bytes at `offset`; calls `deliver(bytes, ends)` for every in-order run.
    /// False when the data ahead went over the bound (the stream is lost).
    fn push(
        &mut self,
        offset: u64,
        data: &[u8],
        fin: bool,
        deliver: &mut dyn FnMut(&[u8], bool),
    ) -> bool {
        let end = offset.saturating_add(data.len() as u64);
        if fin {
            self.fin = Some(end);
        }
        if end <= self.next && !(fin && end == self.next && data.is_empty()) {
            return true;
        }
        if offset > self.next {
            let slot = self.ahead.entry(offset).or_default();
            if data.len() > slot.len() {
                self.ahead_bytes += data.len() - slot.len();
                *slot = data.to_vec();
            }
            return self.ahead_bytes <= MAX_STREAM_BUFFER;
        }
        // `offset <= next < end`, or an empty FIN at `next`.
        let skip = usize::try_from(self.next - offset).unwrap_or(usize::MAX);
        let fresh = data.get(skip..).unwrap_or(&[]);
        self.next = end.max(self.next);
        deliver(fresh, self.fin == Some(self.next));
        while let Some(entry) = self.ahead.first_entry() {
            let at = *entry.key();
            if at > self.next {
                break;
            }
            let bytes = entry.remove();
            self.ahead_bytes -= bytes.len();
            let end = at + bytes.len() as u64;
            if end <= self.next {
                continue;
            }
            let skip = usize::try_from(self.next - at).unwrap_or(usize::MAX);
            self.next = end;
            deliver(bytes.get(skip..).unwrap_or(&[]), self.fin == Some(end));
        }
        true
    }
}

/// Packet numbers as merged inclusive ranges.
#[derive(Debug, Default)]
struct Ranges(BTreeMap<u64, u64>);

/// Ranges kept per direction for the acknowledged-but-unseen check: a capture with more
/// holes than this is not checked.
const MAX_RANGES: usize = 4096;

impl Ranges {
    fn insert(&mut self, mut lo: u64, mut hi: u64) {
        // The usual case in place: the next packet number, or an acknowledgment of what is
        // already known, meets the last range starting at or below it (no range starts
        // between that one and `hi + 1`, so widening it overlaps none).
        if let Some((&start, end)) = self.0.range_mut(..=hi.saturating_add(1)).next_back() {
            if start <= lo && end.saturating_add(1) >= lo {
                *end = (*end).max(hi);
                return;
            }
        }
        let mut absorbed = smallvec::SmallVec::<[u64; 4]>::new();
        for (&s, &e) in self.0.range(..=hi.saturating_add(1)).rev() {
            if e.saturating_add(1) < lo {
                break;
            }
            absorbed.push(s);
            lo = lo.min(s);
            hi = hi.max(e);
        }
        for s in absorbed {
            self.0.remove(&s);
        }
        self.0.insert(lo, hi);
    }

    /// How many of these numbers `other` lacks.
    fn count_not_in(&self, other: &Ranges) -> u64 {
        let mut n = 0u64;
        for (&s, &e) in &self.0 {
            let covered: u64 = other
                .0
                .range(..=e)
                .filter(|(_, &oe)| oe >= s)
                .map(|(&os, &oe)| oe.min(e) - os.max(s) + 1)
                .sum();
            n = n.saturating_add((e - s + 1).saturating_sub(covered));
        }
        n
    }
}

/// A connection's streams by (id, sending side). Hashed with foldhash under a random seed:
/// SipHash, looked up twice per STREAM frame, was 4 % of reading the generator's HTTP/3
/// capture; the ids are the peer's, but the seed is not known to it.
type Streams = HashMap<(u64, Dir), StreamIn, foldhash::fast::RandomState>;

/// Forgets the finished streams (those HTTP/3 wants no more of) of a full stream table, each
/// type's below a floor above them, so a retransmission of their data is still known as old
/// (streams of a type are opened in id order, RFC 9000 §2.1). False when none was finished.
fn forget_finished(streams: &mut Streams, floor: &mut [u64; 4]) -> bool {
    let before = streams.len();
    // The lowest id of each type still unfinished: the floor stays below it.
    let mut open = [u64::MAX; 4];
    for ((id, _), s) in streams.iter() {
        if !s.done {
            let t = (id & 3) as usize;
            open[t] = open[t].min(*id);
        }
    }
    streams.retain(|(id, _), s| {
        let t = (id & 3) as usize;
        let forget = s.done && *id < open[t];
        if forget {
            floor[t] = floor[t].max(id + 4);
        }
        !forget
    });
    streams.len() < before
}

/// A stream being followed in one direction.
#[derive(Debug, Default)]
struct StreamIn {
    data: Reorder,
    /// HTTP/3 wants no more of it (its head was read, or it is not read at all).
    done: bool,
    /// The sender reset it after this many bytes, not all delivered yet.
    reset: Option<u64>,
}

impl StreamIn {
    /// No more of it is read (HTTP/3 wants none, or it was given up): what it held goes.
    fn stop(&mut self) -> usize {
        self.done = true;
        self.data.drop_ahead()
    }
}

#[derive(Debug)]
struct Held {
    dir: Dir,
    bytes: Vec<u8>,
    meta: PacketMeta,
}

/// QUIC state of one UDP endpoint pair.
#[derive(Debug)]
pub(crate) struct QuicConn {
    key: FlowKey,
    conn_no: u64,
    client: Option<Dir>,
    version: u32,
    /// The Initial keys (client's, server's) of each Destination ID a client Initial opened
    /// with: its first, and the one a Retry named, in the order found (a disordered capture
    /// can show them either way; the server's Initials open with one of them).
    initials: Vec<[PacketKeys; 2]>,
    /// The Source IDs of the server's Retry packets.
    retry_ids: Vec<Vec<u8>>,
    /// The Initial CRYPTO data of each direction, and the handshake messages in it.
    crypto: [Reorder; 2],
    hs: [HsReader; 2],
    hello: Option<ClientHello>,
    /// The cipher suite the ServerHello names.
    server_suite: Option<u16>,
    secrets: Option<Secrets>,
    suite: Option<Suite>,
    app: [Option<Box<AppKeys>>; 2],
    early: Option<Box<AppKeys>>,
    /// Largest packet number opened, per direction and space (Initial, Handshake, data).
    largest: [[Option<u64>; 3]; 2],
    /// Per direction: the 0-RTT/1-RTT packet numbers opened, and those the other side
    /// acknowledged; acknowledged but never seen is what the capture lost (`quic-gap`).
    seen: [Ranges; 2],
    acked: [Ranges; 2],
    /// Capture time of the first and the latest datagram.
    span: Option<(Micros, Micros)>,
    /// The connection ID length of short headers sent in each direction (towards the server
    /// the server's ID, towards the client the client's), from the long headers.
    cid_len: [Option<usize>; 2],
    held: VecDeque<Held>,
    held_bytes: usize,
    /// Per direction: the segment size of its batched datagrams (GSO), once one was split,
    /// and the size of its largest Initial datagram.
    gso: [Option<usize>; 2],
    initial_size: [Option<usize>; 2],
    /// Keys became known while reading a datagram: what was held is read after it.
    replay_later: bool,
    streams: Streams,
    h3: Option<H3Conn>,
    /// Set once the connection cannot be read further (no keys, a protocol error).
    stopped: bool,
    /// Per stream type (`id & 3`): streams below this id were finished and forgotten (see
    /// [`forget_finished`]).
    floor: [u64; 4],
    /// Packets that did not authenticate (one warning per connection).
    failed: u64,
    /// The time of the client's latest unread bytes (`Micros::MIN` before any).
    unread_since: Micros,
    /// A side closed the connection (CONNECTION_CLOSE): nothing but its closing packets is
    /// still to come.
    closed: bool,
    /// The buffer 1-RTT packets are decrypted in.
    scratch: Vec<u8>,
}

impl QuicConn {
    pub(crate) fn new(key: FlowKey, conn_no: u64) -> Self {
        QuicConn {
            key,
            conn_no,
            client: None,
            version: 0,
            initials: Vec::new(),
            retry_ids: Vec::new(),
            crypto: [Reorder::default(), Reorder::default()],
            hs: [HsReader::default(), HsReader::default()],
            hello: None,
            server_suite: None,
            secrets: None,
            suite: None,
            app: [None, None],
            early: None,
            largest: [[None; 3]; 2],
            seen: [Ranges::default(), Ranges::default()],
            acked: [Ranges::default(), Ranges::default()],
            span: None,
            cid_len: [None, None],
            held: VecDeque::new(),
            held_bytes: 0,
            gso: [None, None],
            initial_size: [None, None],
            replay_later: false,
            streams: Streams::default(),
            h3: None,
            stopped: false,
            floor: [0; 4],
            failed: 0,
            unread_since: Micros::MIN,
            closed: false,
            scratch: Vec::new(),
        }
    }

    /// Whether a side closed the connection (see [`QuicConn::closed`]'s field).
    pub(crate) fn closed(&self) -> bool {
        self.closed
    }

    /// Bytes held: datagrams waiting for keys, stream data out of order, HTTP/3 state.
    pub(crate) fn buffered(&self) -> usize {
        let streams: usize = self.streams.values().map(|s| s.data.ahead_bytes).sum();
        self.held_bytes + streams + self.h3.as_ref().map_or(0, H3Conn::buffered)
    }

    /// Keeps the out-of-order stream data within `max` bytes: the streams holding the most
    /// are given up (`quic-gap`) until it fits (`--max-connection-buffer`).
    pub(crate) fn cap_buffer(&mut self, max: usize, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let mut total: usize = self.streams.values().map(|s| s.data.ahead_bytes).sum();
        while total > max {
            let Some((&(id, dir), _)) = self
                .streams
                .iter()
                .filter(|(_, s)| s.data.ahead_bytes > 0)
                .max_by_key(|(k, s)| (s.data.ahead_bytes, std::cmp::Reverse(**k)))
            else {
                break;
            };
            if let Some(s) = self.streams.get_mut(&(id, dir)) {
                total -= s.stop();
            }
            let conn = self.conn_no;
            ctx.warn(WarnKind::QuicGap, meta, || {
                format!("QUIC connection {conn}: stream {id} given up: more than {max} bytes waited behind lost packets (--max-connection-buffer)")
            });
            if let Some(h3) = self.h3.as_mut() {
                h3.reset(id, ctx);
            }
        }
    }

    /// One UDP datagram sent in direction `dir`.
    pub(crate) fn datagram(
        &mut self,
        dir: Dir,
        bytes: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) {
        let (first, last) = self.span.unwrap_or((meta.ts, meta.ts));
        self.span = Some((first.min(meta.ts), last.max(meta.ts)));
        if self.stopped {
            self.unread(dir, meta, ctx);
            return;
        }
        if !self.read(dir, bytes, meta, ctx) {
            self.hold(dir, bytes, meta, ctx);
        }
        if std::mem::take(&mut self.replay_later) {
            self.replay(ctx);
        }
    }

    /// Opens an Initial packet (`packet`, its bytes) into `copy`: with the keys (of `side`,
    /// 0 the client's) of each Destination ID a client Initial opened with so far, newest
    /// first; then, for a client's packet where `derive` allows, with the client keys of its
    /// own Destination ID (RFC 9001 §5.2), as a client's first Initial, or its first after
    /// a Retry, opens.
    fn open_initial(
        &self,
        side: usize,
        hdr: &packet::Header<'_>,
        packet: &[u8],
        largest: Option<u64>,
        derive: bool,
        copy: &mut Vec<u8>,
    ) -> Option<(packet::Opened, InitialKeys)> {
        let mut open = |keys: &PacketKeys| {
            copy.clear();
            copy.extend_from_slice(packet);
            packet::unprotect(copy, hdr, keys, largest).ok()
        };
        if let Some(o) = self.initials.iter().rev().find_map(|k| open(&k[side])) {
            return Some((o, InitialKeys::Known));
        }
        if side != 0 || !derive {
            return None;
        }
        let keys = PacketKeys::initial(hdr.version, hdr.dcid, true)?;
        let o = open(&keys)?;
        Some((o, InitialKeys::Derived(Box::new(keys))))
    }

    /// Whether a client datagram starts another connection on this endpoint pair (its client
    /// port reused after this one closed): after this one's handshake, a client Initial that
    /// opens only with the keys of its own Destination ID, an ID no Retry of this connection
    /// named, and whose ClientHello bytes (those it carries) are not this one's. The client's
    /// later Initials open with this connection's first ID's keys, and the Initial after a
    /// Retry repeats the same ClientHello, so neither is taken for one.
    pub(crate) fn starts_new(&self, dir: Dir, bytes: &[u8]) -> bool {
        let (Some(hello), Some(_)) = (&self.hello, self.server_suite) else {
            return false;
        };
        let Some(Ok(hdr)) = packet::packets(bytes, 0).next() else {
            return false;
        };
        if self.client != Some(dir)
            || hdr.kind != Kind::Initial
            || self.retry_ids.iter().any(|id| id.as_slice() == hdr.dcid)
        {
            return false;
        }
        let Some(packet) = bytes.get(hdr.range()) else {
            return false;
        };
        let mut copy = Vec::with_capacity(packet.len());
        let Some((opened, InitialKeys::Derived(_))) =
            self.open_initial(0, &hdr, packet, self.largest[dir][0], true, &mut copy)
        else {
            return false;
        };
        // The ClientHello's random is bytes 6..38 of the CRYPTO stream (message type and
        // length, legacy version); Chromium scatters the stream over small frames, so any
        // of them may carry some of it.
        let (mut carried, mut same) = (0, 0);
        for f in frame::frames(copy.get(opened.payload).unwrap_or(&[])) {
            let Ok(Frame::Crypto { offset, data }) = f else {
                continue;
            };
            for (at, b) in (offset..).zip(data).take_while(|(at, _)| *at < 38) {
                if let Some(r) = at.checked_sub(6).and_then(|i| hello.random.get(i as usize)) {
                    carried += 1;
                    same += usize::from(r == b);
                }
            }
        }
        carried == 0 || same < carried
    }

    /// Reads a datagram's packets; false when some could not be opened for want of keys
    /// that may still come (the datagram is then held, and read again whole: what was read
    /// of it is read again without effect).
    fn read(&mut self, dir: Dir, bytes: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) -> bool {
        let mut complete = true;
        let short_len = self.cid_len[dir];
        // Where the packets read so far end.
        let mut end = 0;
        for hdr in packet::packets(bytes, short_len.unwrap_or(0)) {
            // Zero bytes after a packet: padding, up to the end or (GSO) up to the next
            // datagram of a batch the capture shows as one. Else the rest does not parse
            // (bytes of another protocol): nothing more to read in it.
            if end > 0 && (hdr.is_err() || bytes.get(end) == Some(&0)) {
                if let Some(seg) = self.next_segment(dir, bytes, end) {
                    for chunk in bytes[seg..].chunks(seg) {
                        complete &= self.read(dir, chunk, meta, ctx);
                    }
                }
                break;
            }
            let Ok(hdr) = hdr else {
                break;
            };
            end = hdr.start + hdr.len;
            if hdr.kind == Kind::OneRtt && short_len.is_none() {
                // A short header before any long one: its connection ID length is unknown.
                return false;
            }
            let Some(packet) = bytes.get(hdr.range()) else {
                break;
            };
            if hdr.kind == Kind::Initial {
                self.initial_size[dir] = self.initial_size[dir].max(Some(bytes.len()));
            }
            match self.packet(dir, &hdr, packet, meta, ctx) {
                Opened::Read | Opened::Skipped => {}
                Opened::NoKeysYet => complete = false,
                Opened::Failed => {
                    if !(hdr.kind == Kind::OneRtt && self.segments(dir, packet, meta, ctx)) {
                        self.failed(meta, ctx);
                    }
                }
            }
            if self.stopped {
                break;
            }
        }
        complete
    }

    /// A short-header packet that did not open may be several: a sender using UDP
    /// segmentation offload (GSO; Firefox does) hands the kernel one buffer of equal-sized
    /// datagrams, and a capture on the sending host records it as one. Each candidate
    /// segment size is tried on the first segment (its own previous one first, then the size
    /// of its Initial datagrams, then usual path MTUs); true when one opened, and then every
    /// segment was read as a datagram of its own.
    fn segments(&mut self, dir: Dir, bytes: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) -> bool {
        let short_len = self.cid_len[dir].unwrap_or(0);
        let learned = [self.gso[dir], self.initial_size[dir]];
        let sizes = learned.into_iter().flatten().chain(GSO_SIZES);
        for (i, seg) in sizes.enumerate() {
            if seg >= bytes.len() || (i >= 2 && learned.contains(&Some(seg))) {
                continue;
            }
            let first = &bytes[..seg];
            let Some(Ok(hdr)) = packet::packets(first, short_len).next() else {
                continue;
            };
            if hdr.kind != Kind::OneRtt
                || !matches!(
                    self.app_packet(dir, &hdr, first, false, meta, ctx),
                    Opened::Read
                )
            {
                continue;
            }
            self.gso[dir] = Some(seg);
            for chunk in bytes[seg..].chunks(seg) {
                // Each segment is a datagram: coalesced packets or one short header.
                if !self.read(dir, chunk, meta, ctx) {
                    self.failed(meta, ctx);
                }
            }
            return true;
        }
        false
    }

    /// The segment size of a batch (GSO) whose first datagram's packets end at `end`, followed
    /// by zero padding: the first candidate size past `end` with only zeros before it and a QUIC
    /// first byte (fixed bit set) at it.
    fn next_segment(&self, dir: Dir, bytes: &[u8], end: usize) -> Option<usize> {
        let learned = [self.gso[dir], self.initial_size[dir]];
        learned.into_iter().flatten().chain(GSO_SIZES).find(|&seg| {
            seg > end
                && seg < bytes.len()
                && bytes[end..seg].iter().all(|&b| b == 0)
                && bytes[seg] & 0x40 != 0
        })
    }

    fn packet(
        &mut self,
        dir: Dir,
        hdr: &packet::Header<'_>,
        bytes: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Opened {
        match hdr.kind {
            Kind::Initial => self.initial_packet(dir, hdr, bytes, meta, ctx),
            Kind::Handshake => {
                self.learn_cid(dir, hdr);
                Opened::Skipped
            }
            // The client's next Initial shows a Retry's effect (`initial_packet`).
            Kind::Retry => {
                // The ID its client's next Initial goes to (see `starts_new`).
                if self.client != Some(dir) && self.retry_ids.len() < MAX_INITIAL_IDS {
                    self.retry_ids.push(hdr.scid.to_vec());
                }
                Opened::Skipped
            }
            Kind::VersionNegotiation => Opened::Skipped,
            Kind::ZeroRtt => {
                if self.client.is_some_and(|c| c != dir) {
                    return Opened::Skipped;
                }
                if self.early.is_none() {
                    return if self.suite.is_some() {
                        Opened::Skipped
                    } else {
                        Opened::NoKeysYet
                    };
                }
                self.app_packet(dir, hdr, bytes, true, meta, ctx)
            }
            Kind::OneRtt => {
                if self.app[dir].is_none() {
                    return Opened::NoKeysYet;
                }
                self.app_packet(dir, hdr, bytes, false, meta, ctx)
            }
        }
    }

    /// The connection ID lengths the long headers show.
    fn learn_cid(&mut self, dir: Dir, hdr: &packet::Header<'_>) {
        // Short headers towards this sender carry its Source ID.
        self.cid_len[1 - dir] = Some(hdr.scid.len());
        if self.cid_len[dir].is_none() {
            self.cid_len[dir] = Some(hdr.dcid.len());
        }
    }

    fn initial_packet(
        &mut self,
        dir: Dir,
        hdr: &packet::Header<'_>,
        bytes: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Opened {
        // The keys of each Destination ID found so far, then (a client's first Initial, or
        // its first after a Retry) the keys derived from the packet's own (RFC 9001 §5.2):
        // those that open it tell the client. A Retry changes nothing by itself: a stale one
        // (answering an earlier Initial) is ignored by the client, and the Initials show
        // which one counted.
        let side = usize::from(self.client.is_some_and(|c| c != dir));
        let derive = self.initials.len() < MAX_INITIAL_IDS;
        let mut copy = Vec::new();
        let opened = self.open_initial(side, hdr, bytes, self.largest[dir][0], derive, &mut copy);
        let opened = opened.map(|(opened, keys)| {
            if let InitialKeys::Derived(ck) = keys {
                if let Some(sk) = PacketKeys::initial(hdr.version, hdr.dcid, false) {
                    self.client = Some(dir);
                    self.version = hdr.version;
                    self.initials.push([*ck, sk]);
                    // Datagrams of the server's that came first can be opened now.
                    self.replay_later = true;
                }
            }
            opened
        });
        self.learn_cid(dir, hdr);
        let Some(opened) = opened else {
            // Its keys may come with a client Initial later in the capture: the first, or
            // the first after a Retry (whose packets a disordered capture can show after
            // those that follow them). What never opens is counted at the end.
            if self.initials.len() < MAX_INITIAL_IDS {
                return Opened::NoKeysYet;
            }
            self.failed(meta, ctx);
            return Opened::Skipped;
        };
        self.largest[dir][0] = self.largest[dir][0].max(Some(opened.pn));
        let payload = copy.get(opened.payload).unwrap_or(&[]);
        let mut messages = Vec::new();
        for f in frame::frames(payload) {
            let Ok(f) = f else { break };
            if let Frame::Crypto { offset, data } = f {
                let hs = &mut self.hs[dir];
                let ok = self.crypto[dir].push(offset, data, false, &mut |bytes, _| {
                    hs.feed(bytes, &mut |kind, body| {
                        messages.push((kind, body.to_vec()))
                    });
                });
                if !ok {
                    self.crypto[dir].drop_ahead();
                }
            } else if let Frame::ConnectionClose = f {
                // Refused or failed in its handshake: it leaves as a closed one does.
                self.closed = true;
            }
        }
        for (kind, body) in messages {
            match kind {
                record::CLIENT_HELLO if Some(dir) == self.client => {
                    if let Some(hello) = record::client_hello(&body) {
                        self.secrets = ctx.keylog.lookup(&hello.random);
                        self.hello = Some(hello);
                    }
                }
                record::SERVER_HELLO if Some(dir) != self.client => {
                    if let Some(sh) = record::server_hello(&body) {
                        self.server_suite = Some(sh.suite);
                    }
                }
                _ => {}
            }
        }
        // Both hellos (in either order: a disordered capture can show the ServerHello before
        // the end of a ClientHello that spans two packets) give the keys.
        if let (Some(suite), true, None) = (self.server_suite, self.hello.is_some(), self.suite) {
            self.server_hello(suite, meta, ctx);
        }
        Opened::Read
    }

    /// The ServerHello names the cipher suite: with the key log's secrets, the 0-RTT and
    /// 1-RTT keys, and what was held for them is read.
    fn server_hello(&mut self, suite_id: u16, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if self.suite.is_some() {
            return;
        }
        let Some(client) = self.client else { return };
        let Some(suite) = keys::suite(suite_id, true) else {
            self.not_analysed(
                &format!("cipher suite 0x{suite_id:04x} is not supported"),
                meta,
                ctx,
            );
            return;
        };
        let keys = |slot| {
            let s = self.secrets.as_ref()?.get(slot)?;
            PacketKeys::from_secret(self.version, suite, s)
        };
        let (Some(ck), Some(sk)) = (keys(Slot::ClientApp), keys(Slot::ServerApp)) else {
            let why = if self.secrets.is_none() {
                "no key for this session in the key log"
            } else {
                "the key log has no application traffic secrets for this session"
            };
            self.not_analysed(why, meta, ctx);
            return;
        };
        self.early = keys(Slot::ClientEarly).map(AppKeys::boxed);
        self.app[client] = Some(AppKeys::boxed(ck));
        self.app[1 - client] = Some(AppKeys::boxed(sk));
        self.suite = Some(suite);
        self.replay_later = true;
        let server_text = self.key.sender(1 - client).text();
        let client_ip = super::tcp::ip_shared(self.key.sender(client).ip);
        self.h3 = Some(H3Conn::new(
            self.conn_no,
            client,
            Heads::new(
                self.conn_no,
                "https",
                HttpVersion::Http3,
                client_ip,
                server_text,
            ),
        ));
    }

    /// Reads again, in capture order, the datagrams held for keys.
    fn replay(&mut self, ctx: &mut Ctx<'_>) {
        // Reading one can bring more keys (the ServerHello held behind the client's first
        // Initial): then what is still held is read again. A round that gains no keys ends
        // it, so this ends.
        loop {
            let held = std::mem::take(&mut self.held);
            self.held_bytes = 0;
            for h in held {
                if self.stopped {
                    break;
                }
                if !self.read(h.dir, &h.bytes, &h.meta, ctx) {
                    self.hold(h.dir, &h.bytes, &h.meta, ctx);
                }
            }
            if !std::mem::take(&mut self.replay_later) || self.held.is_empty() {
                break;
            }
        }
    }

    /// Keeps a datagram until its keys are known; past the bound the connection is given up.
    fn hold(&mut self, dir: Dir, bytes: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if self.h3.is_some() {
            // Keys are known: only Initials that may still open with a later key base wait,
            // and past the bound the oldest is given up.
            while self.held.len() >= MAX_HELD_DATAGRAMS
                || self.held_bytes + bytes.len() > MAX_HELD_BYTES
            {
                let Some(old) = self.held.pop_front() else {
                    break;
                };
                self.held_bytes -= old.bytes.len();
                self.failed(&old.meta, ctx);
            }
        } else if self.held.len() >= MAX_HELD_DATAGRAMS
            || self.held_bytes + bytes.len() > MAX_HELD_BYTES
        {
            self.not_analysed(self.missing(), meta, ctx);
            self.unread(dir, meta, ctx);
            return;
        }
        self.held_bytes += bytes.len();
        self.held.push_back(Held {
            dir,
            bytes: bytes.to_vec(),
            meta: *meta,
        });
    }

    /// A 0-RTT or 1-RTT packet.
    fn app_packet(
        &mut self,
        dir: Dir,
        hdr: &packet::Header<'_>,
        bytes: &[u8],
        early: bool,
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Opened {
        let largest = self.largest[dir][2];
        let keys = if early {
            self.early.as_mut()
        } else {
            self.app[dir].as_mut()
        };
        let Some(keys) = keys else {
            return Opened::NoKeysYet;
        };
        // The header protection key is the same for every key generation: the unmasked Key
        // Phase bit picks the generation (RFC 9001 §6). Decrypted in a buffer the connection
        // keeps (a fresh one per packet cost an allocation and its page faults).
        let mut copy = std::mem::take(&mut self.scratch);
        copy.clear();
        copy.extend_from_slice(bytes);
        let opened = packet::remove_header_protection(&mut copy, hdr, &keys.cur, largest)
            .ok()
            .and_then(|un| {
                if un.key_phase == keys.phase {
                    let payload = packet::decrypt(&mut copy, hdr, &un, &keys.cur).ok()?;
                    return Some((un.pn, payload));
                }
                // Flipped: the next generation (a key update), or a packet from before the
                // last update that arrived late. Each try spoils the copy it decrypts.
                if keys.next.is_none() {
                    keys.next = keys.cur.next().map(Box::new);
                }
                let fresh = copy.clone();
                if let Some(payload) = keys
                    .next
                    .as_ref()
                    .and_then(|k| packet::decrypt(&mut copy, hdr, &un, k).ok())
                {
                    keys.update();
                    return Some((un.pn, payload));
                }
                copy = fresh;
                let prev = keys.prev.as_ref()?;
                let payload = packet::decrypt(&mut copy, hdr, &un, prev).ok()?;
                Some((un.pn, payload))
            });
        let Some((pn, payload)) = opened else {
            return Opened::Failed;
        };
        self.largest[dir][2] = self.largest[dir][2].max(Some(pn));
        if self.seen[dir].0.len() <= MAX_RANGES {
            self.seen[dir].insert(pn, pn);
        }
        let payload = copy.get(payload).unwrap_or(&[]);
        for f in frame::frames(payload) {
            let Ok(f) = f else { break };
            self.frame(dir, f, meta, ctx);
            if self.stopped {
                break;
            }
        }
        self.scratch = copy;
        Opened::Read
    }

    fn frame(&mut self, dir: Dir, f: Frame<'_>, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if let Frame::Ack(ranges) = f {
            let acked = &mut self.acked[1 - dir];
            for (lo, hi) in ranges {
                if acked.0.len() > MAX_RANGES {
                    break;
                }
                acked.insert(lo, hi);
            }
            return;
        }
        let Some(h3) = self.h3.as_mut() else { return };
        match f {
            Frame::Stream {
                id,
                offset,
                data,
                fin,
            } => {
                // Streams are sent by one side (unidirectional) or both (bidirectional); a
                // stream opened by the other side's frames is followed as well.
                if !self.streams.contains_key(&(id, dir)) {
                    if id < self.floor[(id & 3) as usize] {
                        // Finished and forgotten: a retransmission.
                        return;
                    }
                    if self.streams.len() >= MAX_STREAMS
                        && !forget_finished(&mut self.streams, &mut self.floor)
                    {
                        let conn = self.conn_no;
                        ctx.warn(WarnKind::QuicGap, meta, || {
                            format!("QUIC connection {conn}: more than {MAX_STREAMS} streams unfinished at once; stream {id} is not read")
                        });
                        return;
                    }
                }
                let s = self.streams.entry((id, dir)).or_default();
                if s.done {
                    return;
                }
                let mut wanted = true;
                let ok = s.data.push(offset, data, fin, &mut |bytes, ends| {
                    if wanted {
                        wanted = h3.stream_data(dir, id, bytes, ends, meta, ctx);
                    }
                });
                if s.reset.is_some_and(|r| s.data.next >= r) {
                    s.reset = None;
                    h3.reset(id, ctx);
                }
                if !wanted {
                    s.stop();
                } else if !ok {
                    s.stop();
                    let conn = self.conn_no;
                    ctx.warn(WarnKind::QuicGap, meta, || {
                        format!("QUIC connection {conn}: stream {id} lost bytes (more than {MAX_STREAM_BUFFER} waiting behind them); the rest of it is not read")
                    });
                    // (`reset` ends only request streams' waits.)
                    h3.reset(id, ctx);
                }
            }
            // No response is coming once the server abandons its side of a request stream
            // (a client's STOP_SENDING asks it to, and says nothing of what was sent before;
            // RESET_STREAM from the client is about the request body) and all it had sent is
            // in: what a disordered capture still brings of it is waited for.
            Frame::ResetStream { id, final_size } if id & 0x2 == 0 && Some(dir) != self.client => {
                let s = self.streams.entry((id, dir)).or_default();
                if s.data.next >= final_size || s.done {
                    h3.reset(id, ctx);
                } else {
                    s.reset = Some(final_size);
                }
            }
            // CONNECTION_CLOSE ends nothing at once: a disordered capture can show packets
            // sent before it after it. The table flushes the connection once it has been
            // quiet for a moment after it (`closed`).
            Frame::ConnectionClose => self.closed = true,
            _ => {}
        }
        if h3.is_stopped() {
            self.stopped = true;
        }
    }

    fn failed(&mut self, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        self.failed += 1;
        if self.failed == 1 {
            let conn = self.conn_no;
            ctx.warn(WarnKind::QuicDecryptFailed, meta, || {
                format!(
                    "QUIC connection {conn}: a packet did not authenticate with its keys; skipped"
                )
            });
        }
    }

    /// The connection cannot be read: counted, and what its client sends goes unread.
    fn not_analysed(&mut self, why: &str, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        ctx.stats.quic_encrypted += 1;
        if self.hello.is_none() {
            ctx.stats.before_capture += 1;
        }
        let (key, conn) = (self.key, self.conn_no);
        ctx.warn(WarnKind::QuicNotAnalysed, meta, || {
            format!(
                "QUIC connection {conn} between {} and {}: not decrypted: {why}",
                key.lo, key.hi
            )
        });
        // What the client sent in the datagrams held for keys is unread.
        let client = self.client_dir();
        let mut sent = self
            .held
            .iter()
            .filter(|h| h.dir == client)
            .map(|h| h.meta.ts);
        if let Some(first) = sent.next() {
            let last = sent.next_back().unwrap_or(first);
            ctx.losses.push(Loss {
                client: super::tcp::ip_shared(self.key.sender(client).ip),
                server: self.key.sender(1 - client).text(),
                after: first.saturating_sub(1),
                by: last,
            });
            self.unread_since = last;
        }
        self.held.clear();
        self.held_bytes = 0;
        self.streams.clear();
        if let Some(h3) = self.h3.as_mut() {
            h3.flush(ctx);
        }
    }

    /// Records what the client sent on a connection that cannot be read as lost
    /// (`model::loss`): a request may be in it, so a request missing after its preflight is
    /// no evidence of a block. Without a known client, the side not on 443 is taken.
    fn unread(&mut self, dir: Dir, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let client = self.client_dir();
        if dir != client {
            return;
        }
        ctx.losses.push(Loss {
            client: super::tcp::ip_shared(self.key.sender(client).ip),
            server: self.key.sender(1 - client).text(),
            after: self.unread_since,
            by: meta.ts,
        });
        self.unread_since = meta.ts;
    }

    /// The client's direction: known from its first Initial, else the side not on 443.
    fn client_dir(&self) -> Dir {
        self.client
            .unwrap_or(if self.key.sender(0).port == 443 { 1 } else { 0 })
    }

    /// Why the keys of a connection are not known.
    fn missing(&self) -> &'static str {
        if self.hello.is_none() && self.server_suite.is_some() {
            "its ClientHello is not in the capture"
        } else if self.hello.is_none() {
            "its handshake (the client's first Initial packet) is not in the capture"
        } else if self.secrets.is_none() {
            "no key for this session in the key log"
        } else {
            "its ServerHello is not in the capture"
        }
    }

    /// End of the connection (idle, evicted, end of capture): requests waiting go out
    /// unanswered; a connection whose packets waited for keys that never came is counted.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(meta) = self.held.back().map(|h| h.meta) {
            if self.h3.is_none() {
                self.not_analysed(self.missing(), &meta, ctx);
            } else {
                // Keys came, and these still did not open with them.
                self.failed(&meta, ctx);
            }
        }
        self.check_acked(ctx);
        if let Some(h3) = self.h3.as_mut() {
            h3.flush(ctx);
        }
        self.streams.clear();
    }

    /// Packets one side acknowledged that the capture does not hold: what they carried
    /// (requests, responses, table inserts) is missing, said so rather than taken for
    /// absent; requests may have been in the client's.
    fn check_acked(&mut self, ctx: &mut Ctx<'_>) {
        if self.h3.is_none()
            || self
                .seen
                .iter()
                .chain(&self.acked)
                .any(|r| r.0.len() > MAX_RANGES)
        {
            return;
        }
        let client = self.client_dir();
        let lost = [0, 1].map(|d| self.acked[d].count_not_in(&self.seen[d]));
        if lost == [0, 0] {
            return;
        }
        let (conn, (up, down)) = (self.conn_no, (lost[client], lost[1 - client]));
        let meta = PacketMeta {
            ts: self.span.map_or(0, |s| s.1),
            ..PacketMeta::default()
        };
        ctx.warn(WarnKind::QuicGap, &meta, || {
            format!("QUIC connection {conn}: packets the other side acknowledged are not in the capture ({up} from the client, {down} from the server); what they carried is missing")
        });
        if up > 0 {
            if let Some((first, last)) = self.span {
                ctx.losses.push(Loss {
                    client: super::tcp::ip_shared(self.key.sender(client).ip),
                    server: self.key.sender(1 - client).text(),
                    after: first.saturating_sub(1),
                    by: last,
                });
            }
        }
    }
}

/// Which keys opened an Initial packet ([`QuicConn::open_initial`]).
enum InitialKeys {
    /// Those of a Destination ID found before.
    Known,
    /// The client keys derived from the packet's own Destination ID.
    Derived(Box<PacketKeys>),
}

/// What became of one packet.
enum Opened {
    Read,
    /// Not for us, or it did not authenticate.
    Skipped,
    /// Its keys are not known yet: the datagram waits for them.
    NoKeysYet,
    /// It did not authenticate with the keys it should open with.
    Failed,
}

/// For fuzz targets: an HTTP/3 connection whose keys are known, fed frames directly (no packet
/// protection: what a fuzzer could not forge), through the same stream reassembly.
#[doc(hidden)]
pub mod fuzzing {
    use std::net::{IpAddr, Ipv4Addr};

    use super::{Frame, H3Conn, Heads, QuicConn};
    use crate::capture::http::fuzzing::reported;
    use crate::capture::http::HttpLimits;
    use crate::capture::tcp::{Endpoint, FlowKey, PacketMeta};
    use crate::capture::tls::KeyLog;
    use crate::model::{HttpVersion, Micros};

    /// One frame of a packet sent in direction `dir` (0: the client).
    #[derive(Clone, Copy, Debug)]
    pub enum Piece<'a> {
        Stream {
            dir: usize,
            id: u64,
            offset: u64,
            data: &'a [u8],
            fin: bool,
        },
        Reset {
            dir: usize,
            id: u64,
            final_size: u64,
        },
    }

    pub use crate::capture::http::fuzzing::Outcome;

    /// A connection between 10.0.0.1:40000 (the client) and 10.0.0.2:443 whose handshake is
    /// done (HTTP/3 running, short headers with empty connection IDs), and the client's
    /// direction in it.
    pub(crate) fn keyed() -> (QuicConn, usize) {
        let client = Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 40000,
        };
        let server = Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            port: 443,
        };
        let (key, c) = FlowKey::of(client, server);
        let mut q = QuicConn::new(key, 1);
        q.client = Some(c);
        q.cid_len = [Some(0), Some(0)];
        q.h3 = Some(H3Conn::new(
            1,
            c,
            Heads::new(
                1,
                "https",
                HttpVersion::Http3,
                crate::capture::tcp::ip_shared(client.ip),
                key.sender(1 - c).text(),
            ),
        ));
        (q, c)
    }

    /// Feeds the pieces (one packet each) to a [`keyed`] connection, then flushes it as at
    /// the end of a capture.
    pub fn conversation(pieces: &[Piece<'_>], limits: HttpLimits) -> Outcome {
        let (mut q, c) = keyed();
        reported(limits, &KeyLog::default(), |ctx| {
            for (i, p) in pieces.iter().enumerate() {
                let meta = PacketMeta {
                    number: i as u64 + 1,
                    offset: i as u64 * 100,
                    ts: i as Micros * 1000,
                    quiet: 0,
                };
                // Direction 0 of the pieces is the client's.
                let (dir, frame) = match *p {
                    Piece::Stream {
                        dir,
                        id,
                        offset,
                        data,
                        fin,
                    } => (
                        dir,
                        Frame::Stream {
                            id,
                            offset,
                            data,
                            fin,
                        },
                    ),
                    Piece::Reset {
                        dir,
                        id,
                        final_size,
                    } => (dir, Frame::ResetStream { id, final_size }),
                };
                let dir = if dir == 0 { c } else { 1 - c };
                q.frame(dir, frame, &meta, ctx);
                if q.buffered() > crate::capture::MAX_CONNECTION_BUFFER {
                    q.cap_buffer(crate::capture::MAX_CONNECTION_BUFFER, &meta, ctx);
                }
            }
            q.flush(ctx);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::http::fuzzing::reported;
    use crate::capture::http::HttpLimits;

    /// Pieces at any offsets, overlapping and repeated, come out once and in order, with the
    /// end marked where the FIN's final size is reached.
    #[test]
    fn reorder_delivers_each_byte_once_in_order() {
        // (offset, data, fin) pieces of "abcdefgh"
        type Piece = (u64, &'static [u8], bool);
        let cases: &[&[Piece]] = &[
            &[(0, b"abcd", false), (4, b"efgh", true)],
            &[(4, b"efgh", true), (0, b"abcd", false)],
            &[(2, b"cdef", false), (0, b"abc", false), (6, b"gh", true)],
            &[
                (6, b"gh", true),
                (3, b"def", false),
                (3, b"de", false),
                (0, b"abcd", false),
            ],
            &[(0, b"abcdefgh", false), (8, b"", true)],
            &[(8, b"", true), (0, b"abcdefgh", false)],
        ];
        for pieces in cases {
            let mut r = Reorder::default();
            let mut out = Vec::new();
            let mut ended = false;
            for (off, data, fin) in pieces.iter() {
                assert!(r.push(*off, data, *fin, &mut |b, end| {
                    out.extend_from_slice(b);
                    ended |= end;
                }));
            }
            assert_eq!(out, b"abcdefgh", "{pieces:?}");
            assert!(ended, "{pieces:?}");
            assert_eq!(r.ahead_bytes, 0, "{pieces:?}");
        }
        // Data far ahead of a hole: over the bound, the stream is lost.
        let mut r = Reorder::default();
        let big = vec![0u8; MAX_STREAM_BUFFER + 1];
        assert!(!r.push(1, &big, false, &mut |_, _| {}));
    }

    #[test]
    fn ranges_merge_and_count_what_another_lacks() {
        let mut acked = Ranges::default();
        for (lo, hi) in [(0, 3), (10, 12), (4, 5), (7, 7), (6, 6)] {
            acked.insert(lo, hi);
        }
        assert_eq!(acked.0.iter().collect::<Vec<_>>(), [(&0, &7), (&10, &12)]);
        let mut seen = Ranges::default();
        for pn in [0, 1, 2, 5, 6, 7, 10, 12, 20] {
            seen.insert(pn, pn);
        }
        // 3, 4 and 11 acknowledged, never seen.
        assert_eq!(acked.count_not_in(&seen), 3);
        assert_eq!(seen.count_not_in(&seen), 0);
        assert_eq!(Ranges::default().count_not_in(&seen), 0);
    }

    /// A long-lived connection carries more streams than the table follows at once: the
    /// finished ones are forgotten, and their retransmissions still known as old.
    #[test]
    fn more_streams_than_the_table_holds() {
        use fuzzing::{conversation, Piece};
        let frame = |block: &[u8]| [&[0x01, block.len() as u8][..], block].concat();
        // QPACK, static table only: GET https, :authority a.test, :path /.
        let request = frame(&[
            0, 0, 0xd1, 0xd7, 0x50, 6, b'a', b'.', b't', b'e', b's', b't', 0xc1,
        ]);
        let response = frame(&[0, 0, 0xd9]);
        let n = MAX_STREAMS as u64 + 900;
        let mut pieces = Vec::new();
        for i in 0..n {
            let id = 4 * i;
            pieces.push(Piece::Stream {
                dir: 0,
                id,
                offset: 0,
                data: &request,
                fin: true,
            });
            pieces.push(Piece::Stream {
                dir: 1,
                id,
                offset: 0,
                data: &response,
                fin: true,
            });
            if i % 1000 == 999 {
                // A retransmission of a stream long finished.
                pieces.push(Piece::Stream {
                    dir: 0,
                    id: 4,
                    offset: 0,
                    data: &request,
                    fin: true,
                });
            }
        }
        let limits = crate::capture::http::HttpLimits {
            max_head_bytes: crate::capture::MAX_HEAD_BYTES,
            max_headers: crate::capture::MAX_HEADERS,
            max_chunk_line: crate::capture::MAX_CHUNK_LINE,
            max_pending: crate::capture::MAX_PENDING_REQUESTS,
        };
        let o = conversation(&pieces, limits);
        assert!(o.diag.is_empty(), "{:?}", o.diag);
        assert_eq!(o.exchanges.len() as u64, n);
        assert!(o.exchanges.iter().all(|(_, e)| e
            .response
            .as_ref()
            .is_some_and(|r| r.status == 200)
            && e.request.url == "https://a.test/"));
        assert_eq!(o.open_after_flush, 0);
    }

    /// A key update mid-connection (RFC 9001 §6): the flipped Key Phase bit opens with the
    /// next generation, a packet sent before the update that arrives after it still opens
    /// with the previous one, and a packet of neither is counted as failed.
    #[test]
    fn key_updates_and_late_packets_open() {
        use super::packet::{seal, VERSION_1};
        let suite = keys::suite(0x1301, true).expect("TLS_AES_128_GCM_SHA256");
        let gen0 = |b: u8| PacketKeys::from_secret(VERSION_1, suite, &[b; 32]).expect("keys");
        let (mut q, c) = fuzzing::keyed();
        q.app = [Some(AppKeys::boxed(gen0(1))), Some(AppKeys::boxed(gen0(1)))];
        let sender = gen0(1);
        let next = sender.next().expect("gen 1");
        // STREAM frames carrying a request head on stream 0 in three pieces.
        let head = [
            0x01, 13, 0, 0, 0xd1, 0xd7, 0x50, 6, b'a', b'.', b't', b'e', b's', b't', 0xc1,
        ];
        let stream = |off: usize, end: usize| {
            let mut f = vec![0x0e, 0x00, off as u8, (end - off) as u8];
            f.extend_from_slice(&head[off..end]);
            f
        };
        let packet = |keys: &PacketKeys, phase: bool, pn: u64, frame: &[u8]| {
            let first = 0x40 | if phase { 0x04 } else { 0 } | 0x01;
            let header = [first, 0, pn as u8];
            seal(keys, &header, pn, 2, frame)
        };
        let limits = HttpLimits {
            max_head_bytes: 4096,
            max_headers: 64,
            max_chunk_line: 64,
            max_pending: 64,
        };
        let stranger = gen0(2);
        let datagrams = [
            packet(&sender, false, 1, &stream(0, 5)),
            // After the update; then one sent before it, late.
            packet(&next, true, 3, &stream(10, 15)),
            packet(&sender, false, 2, &stream(5, 10)),
            packet(&stranger, false, 4, &[0x01, 0, 0, 0, 0, 0, 0, 0]),
        ];
        let o = reported(limits, &Default::default(), |ctx| {
            for (i, d) in datagrams.iter().enumerate() {
                let meta = PacketMeta {
                    number: i as u64 + 1,
                    offset: 0,
                    ts: i as Micros,
                    quiet: 0,
                };
                q.datagram(c, d, &meta, ctx);
            }
            q.flush(ctx);
        });
        assert_eq!(o.exchanges.len(), 1, "{:?}", o.diag);
        assert_eq!(o.exchanges[0].1.request.url, "https://a.test/");
        assert_eq!(o.diag.count(WarnKind::QuicDecryptFailed), 1, "{:?}", o.diag);
        assert_eq!(q.app[c].as_ref().map(|k| k.phase), Some(true));
    }
}
#[cfg(test)]
mod size {
    /// A connection's fixed part stays small: every QUIC connection of the capture's last
    /// moments has one, keyed or not (its keys inline made it 10 KB; boxed, 1.8 KB).
    #[test]
    fn a_connection_keeps_its_keys_out_of_line() {
        assert!(std::mem::size_of::<super::QuicConn>() <= 2048);
        assert!(std::mem::size_of::<super::AppKeys>() <= 1024);
    }
}
