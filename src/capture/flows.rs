//! Step 3b (flows): the per-worker connection table. Owns every live connection (TCP
//! reassembly of both directions plus its HTTP state), finds the connection of each segment,
//! handles handshakes, RST/FIN, port reuse and mid-stream starts, and bounds memory: live
//! connections, per-connection buffers and idle time are all capped, and hitting a cap is a
//! counted diagnostic. No global state: a parallel pipeline gives each worker its own table
//! and routes segments with [`super::flow_shard`].

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use crate::diag::{Diagnostics, WarnKind};
use crate::model::Micros;

use super::decode::{Segment, Udp};
use super::http::{Ctx, HttpConn, HttpLimits, HttpSink};
use super::quic::QuicConn;
use super::tcp::{Dir, FlowKey, PacketMeta, Pool, Reassembler, ReassemblyLimits, SeqNumber};
use super::{CaptureOptions, CaptureStats};

/// How often (capture time) idle connections are looked for.
pub(crate) const SWEEP_INTERVAL_US: Micros = 10_000_000;

/// How long (capture time) a QUIC connection a side closed stays after its last packet, for
/// packets sent before the close that a disordered capture shows after it; the idle sweep
/// then flushes it (within [`SWEEP_INTERVAL_US`] more). TCP frees a connection's state at its
/// FINs; without this a closed QUIC connection kept its keys, streams and HTTP/3 state for the
/// whole idle timeout (the generator's 419 MB HTTP/3 capture peaked at 151 MB).
pub(crate) const CLOSE_GRACE_US: Micros = 2_000_000;

/// Packets of a connection after which a direction whose SYN was not seen starts where its
/// data starts (a connection already running when the capture began): until then its data
/// waits, since in a disordered capture the handshake can come after the first data.
pub(crate) const PRE_HANDSHAKE_PACKETS: u32 = 16;

/// A segment that cannot be processed yet: it acknowledges data of the other direction not
/// delivered yet (processing it now could put, say, a response ahead of its request), or its
/// direction's handshake was not seen yet (the capture is disordered, or the connection began
/// before it). It waits, bounded, copied; that only happens on disordered or partial captures.
#[derive(Debug)]
struct Waiting {
    dir: Dir,
    seq: SeqNumber,
    ack: Option<SeqNumber>,
    payload: Vec<u8>,
    missing: u32,
    fin: bool,
    rst: bool,
    meta: PacketMeta,
}

impl Waiting {
    /// Whether it occupies sequence space (data or FIN).
    fn in_stream(&self) -> bool {
        !self.payload.is_empty() || self.missing > 0 || self.fin
    }
}

#[derive(Debug)]
struct Conn {
    /// Connection id: the packet number of its first packet (unique in the capture and the
    /// same however packets are sharded).
    no: u64,
    /// Initial sequence number of each direction's SYN, when seen.
    isn: [Option<SeqNumber>; 2],
    last_ts: Micros,
    /// Number and offset of its latest packet: where a flush at the end of the capture says
    /// the connection ended.
    last_packet: (u64, u64),
    /// The running connection's state; `None` once both directions ended or it was reset.
    /// A closed connection is kept only to absorb late packets until idle, so it keeps
    /// nothing else: boxed, the running state is freed at close and a closed connection
    /// costs about a hundred bytes instead of about two kilobytes (they can be many: every
    /// connection of the last idle timeout).
    live: Option<Box<Live>>,
}

impl Conn {
    /// Bytes it holds: reassembly, HTTP parsing and waiting segments.
    fn buffered(&self) -> usize {
        self.live.as_ref().map_or(0, |l| {
            l.tcp[0].held_bytes()
                + l.tcp[1].held_bytes()
                + l.http.buffered_capacity()
                + l.waiting_bytes
        })
    }
}

#[derive(Debug)]
struct Live {
    tcp: [Reassembler; 2],
    http: HttpConn,
    /// Segments waiting (see [`Waiting`]), in capture order.
    waiting: VecDeque<Waiting>,
    /// Payload bytes copied into `waiting`.
    waiting_bytes: usize,
    /// Packets seen (for [`PRE_HANDSHAKE_PACKETS`]).
    packets: u32,
    /// An RST was processed: the connection closes.
    reset: bool,
    /// A direction was started without its SYN (counted once as `tcp-mid-stream`).
    mid_stream: bool,
    /// Where a direction whose SYN is not in the capture starts, as its peer's earliest ACK
    /// shows: the handshake's, or the first seen of a connection picked up mid-stream (see
    /// [`handshake`]).
    start_hint: [Option<SeqNumber>; 2],
}

/// A connection key with its hash, computed once per packet: a packet looks its connection up
/// several times, and hashing the 40-byte key for each lookup was a visible share of the
/// per-packet cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hashed {
    hash: u64,
    key: FlowKey,
}

impl Hash for Hashed {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

/// Passes [`Hashed::hash`] through (anything else is folded in, never produced here).
#[derive(Default)]
struct PassHasher(u64);

impl Hasher for PassHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A connection map with its creation order, so the oldest connection is found without a
/// scan (evicting at a cap, flushing at the end): entries of connections gone, or replaced
/// on the same key, are stale in the order and skipped, and the order is compacted when
/// they pile up.
struct Aged<V> {
    map: HashMap<Hashed, V, BuildHasherDefault<PassHasher>>,
    order: VecDeque<(Hashed, u64)>,
}

/// What [`Aged`] orders its entries by: the connection id (packet number of its first
/// packet).
trait Numbered {
    fn no(&self) -> u64;
}

impl<V> Default for Aged<V> {
    fn default() -> Self {
        Self {
            map: HashMap::default(),
            order: VecDeque::new(),
        }
    }
}

impl<V: Numbered> Aged<V> {
    fn insert(&mut self, key: Hashed, v: V) {
        self.order.push_back((key, v.no()));
        self.map.insert(key, v);
        if self.order.len() > 2 * self.map.len() + 1024 {
            let map = &self.map;
            self.order
                .retain(|(k, no)| map.get(k).is_some_and(|c| c.no() == *no));
        }
    }

    fn get_mut(&mut self, key: &Hashed) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    fn remove(&mut self, key: &Hashed) -> Option<V> {
        self.map.remove(key)
    }

    /// The id of the oldest connection (stale order entries in front are dropped).
    fn oldest(&mut self) -> Option<u64> {
        while let Some(&(key, no)) = self.order.front() {
            if self.map.get(&key).is_some_and(|c| c.no() == no) {
                return Some(no);
            }
            self.order.pop_front();
        }
        None
    }

    /// Takes the oldest connection out.
    fn pop_oldest(&mut self) -> Option<V> {
        self.oldest()?;
        let (key, _) = self.order.pop_front()?;
        self.map.remove(&key)
    }
}

impl<V> std::ops::Deref for Aged<V> {
    type Target = HashMap<Hashed, V, BuildHasherDefault<PassHasher>>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl Numbered for Conn {
    fn no(&self) -> u64 {
        self.no
    }
}

impl Numbered for QuicEntry {
    fn no(&self) -> u64 {
        self.no
    }
}

/// A connection taken out of the table to be flushed (evicted at a cap, or the end).
enum Gone {
    Tcp(Conn),
    Quic(QuicEntry),
}

/// The cap that evicts a connection, naming the warning and its text.
#[derive(Clone, Copy)]
enum Cap {
    Live,
    Total,
}

/// A QUIC connection (a UDP endpoint pair) and what the table tracks of it.
#[derive(Debug)]
struct QuicEntry {
    /// Connection id, as a TCP connection's: the packet number of its first packet.
    no: u64,
    last_ts: Micros,
    last_packet: (u64, u64),
    /// Datagrams read, for checking its buffer every [`QUIC_BUFFER_CHECK`] of them.
    datagrams: u32,
    conn: Box<QuicConn>,
}

/// Datagrams of a QUIC connection between checks of what it buffers against
/// `--max-connection-buffer`: summing its streams' and HTTP/3's buffers for every datagram
/// took 3 % of reading the generator's HTTP/3 capture. A connection overshoots the cap by at
/// most this many datagrams' data, and the check falls on the same datagrams however the
/// capture is sharded.
const QUIC_BUFFER_CHECK: u32 = 8;

/// Short-header datagrams of endpoints with no QUIC connection yet, kept (bounded) in case
/// the connection's first Initial comes later in a disordered or merged capture: a short
/// header alone does not say it is QUIC.
const MAX_ORPHANS: usize = 64;
const MAX_ORPHAN_BYTES: usize = 128 * 1024;
/// How much older (capture time) than the packet being read an orphan may be and still be
/// given to its connection.
const ORPHAN_US: Micros = 10_000_000;

#[derive(Debug)]
struct Orphan {
    key: Hashed,
    dir: Dir,
    meta: PacketMeta,
    bytes: Vec<u8>,
}

/// A connection of the table as the idle sweep names it: TCP and QUIC connections are kept
/// apart (the same endpoints may carry both). `stuck`: not idle, but a segment of it has
/// waited for the other direction longer than [`super::MAX_CROSS_WAIT_US`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConnRef {
    key: FlowKey,
    quic: bool,
    stuck: bool,
}

/// The connections of one worker.
pub(crate) struct ConnTable {
    conns: Aged<Conn>,
    /// QUIC connections, in a table of their own (HTTP/3 has no TCP state).
    quic: Aged<QuicEntry>,
    orphans: VecDeque<Orphan>,
    orphan_bytes: usize,
    /// Hashes connection keys: foldhash with a random seed per table, a few instructions
    /// where keyed SipHash took a few hundred per packet (5 % of the run); the seed is not
    /// known to whoever wrote the capture, so its addresses cannot be aimed at collisions.
    keyer: foldhash::fast::RandomState,
    pool: Pool,
    reasm: ReassemblyLimits,
    emit: Emit,
    max_live: usize,
    max_conn_buffer: usize,
    max_total_buffer: usize,
    /// The two caps above as their warnings quote them: the flag's value, and this table's
    /// share of it when several workers split it.
    live_cap_text: String,
    total_cap_text: String,
    /// Packets since the total buffered bytes were last checked.
    since_total_check: u32,
    max_wait: usize,
    idle_us: Micros,
    next_sweep: Option<Micros>,
}

/// What every emitted exchange needs from the table: kept apart from the connections so a
/// [`Ctx`] can borrow it while the connection map is being changed.
struct Emit {
    source: Arc<str>,
    http: HttpLimits,
    seq: u64,
    open: super::http::OpenRequests,
    keylog: Arc<super::tls::KeyLog>,
    servers: super::tcp::ServerTexts,
}

impl Emit {
    fn ctx<'a>(&'a mut self, out: &'a mut Out<'_>) -> Ctx<'a> {
        Ctx {
            source: &self.source,
            diag: out.diag,
            stats: out.stats,
            out: out.exchanges,
            losses: out.losses,
            open: &mut self.open,
            seq: &mut self.seq,
            limits: &self.http,
            keylog: &self.keylog,
            servers: &mut self.servers,
            evicted_by: None,
        }
    }
}

/// What the table reports into for one call.
pub(crate) struct Out<'a> {
    pub diag: &'a mut Diagnostics,
    pub stats: &'a mut CaptureStats,
    /// Finished exchanges with their ordering time (see `http::Ctx::out`).
    pub exchanges: &'a mut Vec<super::Finished>,
    /// Bytes clients sent that the capture lost (see `http::Ctx::losses`).
    pub losses: &'a mut Vec<crate::model::loss::Loss>,
}

impl ConnTable {
    pub(crate) fn new(source: Arc<str>, opts: &CaptureOptions) -> Self {
        Self::sharded(source, opts, 1)
    }

    /// One of `shards` tables that split the live-connection and total-buffer caps between
    /// them (the parallel reader's workers).
    pub(crate) fn sharded(source: Arc<str>, opts: &CaptureOptions, shards: usize) -> Self {
        let shards = shards.max(1);
        let share = |max: usize| max.div_ceil(shards).max(1);
        let (max_live, max_total) = (
            share(opts.max_live_connections),
            share(opts.max_total_buffer),
        );
        let cap = |flag_value: usize, what: &str, flag: &str, mine: usize| {
            if shards > 1 {
                format!("{flag_value} {what} ({flag}; {mine} per capture worker)")
            } else {
                format!("{flag_value} {what} ({flag})")
            }
        };
        ConnTable {
            live_cap_text: cap(
                opts.max_live_connections,
                "live connections",
                "--max-connections",
                max_live,
            ),
            total_cap_text: cap(
                opts.max_total_buffer,
                "bytes buffered by all connections",
                "--max-total-buffer",
                max_total,
            ),
            conns: Aged::default(),
            quic: Aged::default(),
            orphans: VecDeque::new(),
            orphan_bytes: 0,
            keyer: foldhash::fast::RandomState::default(),
            pool: Pool::default(),
            reasm: ReassemblyLimits {
                max_segments: opts.max_ooo_segments.max(1),
                max_bytes: opts.max_connection_buffer,
                gap_window: opts.gap_window_bytes,
            },
            emit: Emit {
                source,
                http: HttpLimits {
                    max_head_bytes: opts.max_head_bytes,
                    max_headers: opts.max_headers,
                    max_chunk_line: opts.max_chunk_line,
                    max_pending: opts.max_pending_requests,
                },
                seq: 0,
                open: super::http::OpenRequests::default(),
                keylog: opts.keylog.clone(),
                servers: super::tcp::ServerTexts::default(),
            },
            max_live,
            max_conn_buffer: opts.max_connection_buffer,
            max_total_buffer: max_total,
            since_total_check: 0,
            max_wait: opts.max_cross_wait_segments,
            idle_us: opts.idle_timeout_secs.saturating_mul(1_000_000),
            next_sweep: None,
        }
    }

    fn hashed(&self, key: FlowKey) -> Hashed {
        Hashed {
            hash: self.keyer.hash_one(key),
            key,
        }
    }

    /// (request time, seq) of the oldest request seen but not yet emitted: nothing emitted
    /// later can be older than this, apart from requests whose head is still incomplete.
    pub(crate) fn oldest_open(&self) -> Option<(Micros, u64)> {
        self.emit.open.first()
    }

    /// Requests parsed so far (the next request's `seq`).
    pub(crate) fn requests_seen(&self) -> u64 {
        self.emit.seq
    }

    /// The idle sweep's schedule, advanced for every packet (TCP or not) before it is
    /// processed: whether [`ConnTable::sweep`] is due. Every `SWEEP_INTERVAL_US` of capture
    /// time, connections idle for longer than the idle timeout are flushed, oldest first (so the order of what the flush emits does not depend
    /// on hash order). A parallel reader runs the same schedule (`sweep_now`) over the
    /// whole packet stream and has every worker sweep at the same packets
    /// ([`ConnTable::idle_at`], [`ConnTable::close_idle`]), so which connections are
    /// idle-flushed does not depend on how packets were sharded.
    #[inline]
    pub(crate) fn tick(&mut self, ts: Micros) -> bool {
        sweep_now(&mut self.next_sweep, ts)
    }

    /// The idle sweep itself, when [`ConnTable::tick`] says so (out of line: the packet loop
    /// only tests the time).
    #[inline(never)]
    pub(crate) fn sweep(&mut self, meta: &PacketMeta, out: &mut Out<'_>) {
        for (_, conn) in self.idle_at(meta.ts) {
            self.close_idle(&conn, meta, out);
        }
    }

    /// The connections idle for longer than the idle timeout at `ts` (a closed QUIC
    /// connection: for longer than [`CLOSE_GRACE_US`]), and the TCP connections a segment of
    /// which has waited too long for the other direction (a quiet connection's next packet
    /// would force it, [`ConnTable::feed`]), as (id, connection), oldest id first.
    pub(crate) fn idle_at(&self, ts: Micros) -> Vec<(u64, ConnRef)> {
        let idle = self.idle_us;
        let tcp = self.conns.iter().map(|(k, c)| {
            let stuck = c.live.as_deref().is_some_and(|l| waited_long(l, ts));
            (k.key, c.no, c.last_ts, idle, false, stuck)
        });
        let quic = self.quic.iter().map(|(k, c)| {
            let quiet = if c.conn.closed() {
                idle.min(CLOSE_GRACE_US)
            } else {
                idle
            };
            (k.key, c.no, c.last_ts, quiet, true, false)
        });
        let mut v: Vec<(u64, ConnRef)> = tcp
            .chain(quic)
            .filter_map(|(key, no, last, quiet, quic, stuck)| {
                let idle = ts.saturating_sub(last) > quiet;
                let stuck = stuck && !idle;
                (idle || stuck).then_some((no, ConnRef { key, quic, stuck }))
            })
            .collect();
        v.sort_unstable_by_key(|(no, _)| *no);
        v
    }

    /// Flushes one idle connection found by [`ConnTable::idle_at`] (an idle sweep at `meta`).
    pub(crate) fn close_idle(&mut self, conn: &ConnRef, meta: &PacketMeta, out: &mut Out<'_>) {
        let key = self.hashed(conn.key);
        if conn.quic {
            if let Some(mut q) = self.quic.remove(&key) {
                q.conn.flush(&mut self.emit.ctx(out));
            }
            return;
        }
        if conn.stuck {
            self.force_stuck(key, meta, out);
            return;
        }
        let Some(mut c) = self.conns.remove(&key) else {
            return;
        };
        let mut ctx = self.emit.ctx(out);
        if c.live.is_some() {
            ctx.diag.add(WarnKind::TcpIdleFlush, 1);
        }
        close(&mut c.live, meta, &mut self.pool, &mut ctx);
    }

    /// Forces out what has waited too long in a connection found stuck by
    /// [`ConnTable::idle_at`] (closing it if that reset it).
    fn force_stuck(&mut self, key: Hashed, meta: &PacketMeta, out: &mut Out<'_>) {
        let Some(Conn { live, .. }) = self.conns.get_mut(&key) else {
            return;
        };
        let Some(c) = live.as_deref_mut() else {
            return;
        };
        let (pool, lim, emit) = (&mut self.pool, &self.reasm, &mut self.emit);
        let mut ctx = emit.ctx(out);
        while waited_long(c, meta.ts) && !c.reset {
            force_one(c, lim, pool, &mut ctx);
        }
        if c.reset || (c.tcp[0].is_ended() && c.tcp[1].is_ended()) {
            close(live, meta, pool, &mut ctx);
        }
    }

    /// Processes one TCP segment (after [`ConnTable::tick`] for its packet), in stages: a
    /// new handshake on a known 4-tuple replaces the connection ([`ConnTable::reuse`]), an
    /// unknown one is opened ([`ConnTable::open`]), then the segment goes to the connection
    /// ([`ConnTable::feed`]).
    pub(crate) fn process(&mut self, seg: &Segment<'_>, meta: &PacketMeta, out: &mut Out<'_>) {
        self.since_total_check += 1;
        if self.since_total_check >= super::TOTAL_BUFFER_CHECK_PACKETS {
            self.since_total_check = 0;
            self.enforce_total_buffer(meta, out);
        }
        let (flow, dir, hash) = FlowKey::of_hashed(seg.src, seg.dst, &self.keyer);
        let key = Hashed { hash, key: flow };
        // Only a SYN can replace a connection: other segments skip that lookup.
        if seg.flags.syn() {
            self.reuse(key, dir, seg, meta, out);
        }
        // One lookup for a known connection (nearly every packet); an unknown one is opened
        // and fed.
        if !self.feed(key, dir, seg, meta, out) && self.open(key, dir, seg, meta, out) {
            self.feed(key, dir, seg, meta, out);
        }
    }

    /// Processes one QUIC datagram (after [`ConnTable::tick`] for its packet): to the QUIC
    /// connection of its endpoint pair, opened by its first datagram (evicting the oldest at
    /// the live-connection cap).
    pub(crate) fn process_quic(&mut self, udp: &Udp<'_>, meta: &PacketMeta, out: &mut Out<'_>) {
        let (flow, dir, hash) = FlowKey::of_hashed(udp.src, udp.dst, &self.keyer);
        let key = Hashed { hash, key: flow };
        let opened = !self.quic.contains_key(&key);
        // A client port reused for a new connection after the old one closed: the old one
        // is flushed as at its end.
        let replaced = !opened
            && udp.opens
            && self
                .quic
                .get(&key)
                .is_some_and(|q| q.conn.starts_new(dir, udp.payload));
        if replaced {
            if let Some(old) = self.quic.remove(&key) {
                self.retire(Gone::Quic(old), meta, None, out);
            }
        }
        if opened || replaced {
            if !udp.opens {
                // Only the fixed bit of a short header: not QUIC unless its connection is,
                // which may show later.
                while self.orphans.len() >= MAX_ORPHANS
                    || self.orphan_bytes + udp.payload.len() > MAX_ORPHAN_BYTES
                {
                    let Some(o) = self.orphans.pop_front() else {
                        break;
                    };
                    self.orphan_bytes -= o.bytes.len();
                }
                if udp.payload.len() <= MAX_ORPHAN_BYTES {
                    self.orphan_bytes += udp.payload.len();
                    self.orphans.push_back(Orphan {
                        key,
                        dir,
                        meta: *meta,
                        bytes: udp.payload.to_vec(),
                    });
                }
                return;
            }
            if self.quic.len() >= self.max_live {
                if let Some(q) = self.quic.pop_oldest() {
                    self.retire(Gone::Quic(q), meta, Some(Cap::Live), out);
                }
            }
            self.quic.insert(
                key,
                QuicEntry {
                    no: meta.number,
                    last_ts: meta.ts,
                    last_packet: (meta.number, meta.offset),
                    datagrams: 0,
                    conn: Box::new(QuicConn::new(flow, meta.number)),
                },
            );
        }
        let mut ctx = self.emit.ctx(out);
        if let Some(q) = self.quic.get_mut(&key) {
            q.last_ts = q.last_ts.max(meta.ts);
            q.last_packet = (meta.number, meta.offset);
            q.conn.datagram(dir, udp.payload, meta, &mut ctx);
            if opened && !self.orphans.is_empty() {
                // Its datagrams the capture showed before its first long header.
                let floor = meta.ts.saturating_sub(ORPHAN_US);
                let mut kept = VecDeque::with_capacity(self.orphans.len());
                for o in std::mem::take(&mut self.orphans) {
                    if o.key == key {
                        self.orphan_bytes -= o.bytes.len();
                        if o.meta.ts >= floor {
                            q.conn.datagram(o.dir, &o.bytes, &o.meta, &mut ctx);
                        }
                    } else {
                        kept.push_back(o);
                    }
                }
                self.orphans = kept;
            }
            q.datagrams = q.datagrams.wrapping_add(1);
            if q.datagrams % QUIC_BUFFER_CHECK == 0 && q.conn.buffered() > self.max_conn_buffer {
                q.conn.cap_buffer(self.max_conn_buffer, meta, &mut ctx);
            }
        }
    }

    /// Port reuse: a SYN on a known 4-tuple that starts a new connection closes the old one.
    fn reuse(
        &mut self,
        key: Hashed,
        dir: Dir,
        seg: &Segment<'_>,
        meta: &PacketMeta,
        out: &mut Out<'_>,
    ) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let same_isn = c.isn[dir] == Some(seg.seq);
        let replace = if c.live.is_none() {
            !same_isn
        } else if same_isn {
            false
        } else {
            // A different ISN on a running connection is a new connection, unless this
            // side's SYN was simply not seen yet (it came after the SYN-ACK in the
            // capture, or the connection started mid-stream) and it sent nothing.
            // (Or the SYN-ACK already showed where this side's stream starts.)
            c.isn[dir].is_some()
                || c.live.as_ref().is_some_and(|l| {
                    l.tcp[dir].position() > 0 && !l.tcp[dir].starts_at(seg.seq + 1)
                })
        };
        if replace {
            let mut ctx = self.emit.ctx(out);
            if c.live.is_some() {
                ctx.warn_port_reuse(meta);
            }
            close(&mut c.live, meta, &mut self.pool, &mut ctx);
            self.conns.remove(&key);
        }
    }

    /// Opens the connection of a segment with no known connection, evicting the oldest at
    /// the live-connection cap; whether it was opened (pure ACKs, RSTs and FINs of unknown
    /// connections start nothing).
    fn open(
        &mut self,
        key: Hashed,
        dir: Dir,
        seg: &Segment<'_>,
        meta: &PacketMeta,
        out: &mut Out<'_>,
    ) -> bool {
        let f = seg.flags;
        if !(f.syn() || !seg.payload.is_empty() || seg.missing > 0) {
            return false;
        }
        if self.conns.len() >= self.max_live {
            if let Some(c) = self.conns.pop_oldest() {
                self.retire(Gone::Tcp(c), meta, Some(Cap::Live), out);
            }
        }
        let ctx = self.emit.ctx(out);
        let client = f.syn().then(|| if f.ack() { 1 - dir } else { dir });
        ctx.stats.tcp_connections += 1;
        self.conns.insert(
            key,
            Conn {
                no: meta.number,
                isn: [None, None],
                last_ts: meta.ts,
                last_packet: (meta.number, meta.offset),
                live: Some(Box::new(Live {
                    tcp: [Reassembler::default(), Reassembler::default()],
                    http: HttpConn::new(key.key, meta.number, client, !f.syn()),
                    waiting: VecDeque::new(),
                    waiting_bytes: 0,
                    packets: 0,
                    reset: false,
                    mid_stream: false,
                    start_hint: [None, None],
                })),
            },
        );
        true
    }

    /// Gives a segment to its running connection: handshake facts, then its data (or it
    /// waits), then what waited, the close, and the per-connection buffer cap. False when
    /// there is no connection of that key (a closed one absorbs the segment).
    fn feed(
        &mut self,
        key: Hashed,
        dir: Dir,
        seg: &Segment<'_>,
        meta: &PacketMeta,
        out: &mut Out<'_>,
    ) -> bool {
        let Some(Conn {
            isn,
            last_ts,
            last_packet,
            live,
            ..
        }) = self.conns.get_mut(&key)
        else {
            return false;
        };
        let Some(c) = live.as_deref_mut() else {
            return true;
        };
        let meta = &PacketMeta {
            quiet: meta.ts.saturating_sub(*last_ts).max(0),
            ..*meta
        };
        *last_ts = (*last_ts).max(meta.ts);
        *last_packet = (meta.number, meta.offset);
        let (pool, lim, emit) = (&mut self.pool, &self.reasm, &mut self.emit);
        c.packets = c.packets.saturating_add(1);
        handshake(c, isn, dir, seg);
        // The report context is made where something may be reported: a bare ACK (two
        // packets in five) with nothing waiting reports nothing.
        let f = seg.flags;
        if !seg.payload.is_empty() || seg.missing > 0 || f.fin() || f.rst() {
            take_segment(c, dir, seg, meta, lim, pool, &mut emit.ctx(out));
        }
        if !c.waiting.is_empty() {
            let mut ctx = emit.ctx(out);
            if c.packets > PRE_HANDSHAKE_PACKETS {
                for d in 0..2 {
                    if !c.tcp[d].is_started() {
                        start_mid_stream(c, d, &mut ctx);
                    }
                }
            }
            release_waiting(c, lim, pool, &mut ctx);
            while (c.waiting.len() > self.max_wait || waited_long(c, meta.ts)) && !c.reset {
                force_one(c, lim, pool, &mut ctx);
            }
        }
        if c.reset
            || (c.tcp[0].is_ended() && c.tcp[1].is_ended())
            || (over_buffer(c, self.max_conn_buffer)
                && !cap_buffer(c, self.max_conn_buffer, meta, lim, pool, &mut emit.ctx(out)))
        {
            close(live, meta, pool, &mut emit.ctx(out));
        }
        true
    }

    /// Flushes the oldest connections while all of them together buffer more than
    /// `max_total_buffer` (`limit-total-buffer`).
    fn enforce_total_buffer(&mut self, meta: &PacketMeta, out: &mut Out<'_>) {
        let mut total: usize = self.conns.values().map(Conn::buffered).sum::<usize>()
            + self.quic.values().map(|q| q.conn.buffered()).sum::<usize>();
        while total > self.max_total_buffer {
            let Some(gone) = self.pop_oldest_any() else {
                break;
            };
            total = total.saturating_sub(match &gone {
                Gone::Tcp(c) => c.buffered(),
                Gone::Quic(q) => q.conn.buffered(),
            });
            self.retire(gone, meta, Some(Cap::Total), out);
        }
    }

    /// Flushes every connection (end of capture): pending requests are emitted without
    /// responses.
    pub(crate) fn flush_all(&mut self, out: &mut Out<'_>) {
        while self.flush_next(out).is_some() {}
    }

    /// Flushes the oldest connection (end of capture) and returns its id; `None` when no
    /// connection is left. Oldest first, so the flush order does not depend on hash order.
    pub(crate) fn flush_next(&mut self, out: &mut Out<'_>) -> Option<u64> {
        let gone = self.pop_oldest_any()?;
        let (no, (number, offset), ts) = match &gone {
            Gone::Tcp(c) => (c.no, c.last_packet, c.last_ts),
            Gone::Quic(q) => (q.no, q.last_packet, q.last_ts),
        };
        let meta = PacketMeta {
            ts,
            number,
            offset,
            quiet: 0,
        };
        self.retire(gone, &meta, None, out);
        Some(no)
    }

    /// Takes the oldest connection of either kind out of the table.
    fn pop_oldest_any(&mut self) -> Option<Gone> {
        let quic_first = match (self.conns.oldest(), self.quic.oldest()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(tcp), Some(quic)) => quic < tcp,
        };
        if quic_first {
            self.quic.pop_oldest().map(Gone::Quic)
        } else {
            self.conns.pop_oldest().map(Gone::Tcp)
        }
    }

    /// Flushes a connection taken out of the table at `meta`; `cap` names the cap that
    /// evicted it (its warning, and the reason its unanswered requests give), `None` at the
    /// end of the capture.
    fn retire(&mut self, gone: Gone, meta: &PacketMeta, cap: Option<Cap>, out: &mut Out<'_>) {
        let mut ctx = self.emit.ctx(out);
        let evicted = cap.map(|cap| match cap {
            Cap::Live => (WarnKind::LimitLiveConnections, self.live_cap_text.as_str()),
            Cap::Total => (WarnKind::LimitTotalBuffer, self.total_cap_text.as_str()),
        });
        let (no, running, what) = match &gone {
            Gone::Tcp(c) => (c.no, c.live.is_some(), "connection"),
            Gone::Quic(q) => (q.no, true, "QUIC connection"),
        };
        if let Some((kind, text)) = evicted {
            if running {
                let (src, n, o) = (ctx.source, meta.number, meta.offset);
                ctx.diag.warn(kind, || {
                    format!("{src}: packet {n} (byte {o}): more than {text}: {what} {no} flushed")
                });
            }
            ctx.evicted_by = Some(text);
        }
        match gone {
            Gone::Tcp(mut c) => close(&mut c.live, meta, &mut self.pool, &mut ctx),
            Gone::Quic(mut q) => q.conn.flush(&mut ctx),
        }
    }
}

/// Whether an idle sweep is due at `ts`, updating the schedule: every
/// [`SWEEP_INTERVAL_US`] of capture time, the first one a full interval after the first
/// packet (captures are nearly time ordered; a clock jump backwards only delays the sweep).
/// Shared by [`ConnTable::tick`] and the parallel reader.
#[inline]
pub(crate) fn sweep_now(next: &mut Option<Micros>, ts: Micros) -> bool {
    match *next {
        Some(t) if ts < t => false,
        prev => {
            *next = Some(ts.saturating_add(SWEEP_INTERVAL_US));
            prev.is_some()
        }
    }
}

impl Ctx<'_> {
    fn warn_port_reuse(&mut self, meta: &PacketMeta) {
        let source = self.source.clone();
        let (n, o) = (meta.number, meta.offset);
        self.diag.warn(WarnKind::TcpPortReuse, || {
            format!("{source}: packet {n} (byte {o}): new SYN on a live connection")
        });
    }
}

/// What a segment's SYN and SYN-ACK flags tell: where each direction's stream starts, and
/// which side is the client.
fn handshake(c: &mut Live, isn: &mut [Option<SeqNumber>; 2], dir: Dir, seg: &Segment<'_>) {
    let f = seg.flags;
    if f.syn() && isn[dir].is_none() {
        isn[dir] = Some(seg.seq);
        if c.tcp[dir].position() == 0 {
            c.tcp[dir].start_at(seg.seq + 1);
            if c.tcp[1 - dir].position() == 0 {
                // Whatever arrived before the handshake waited for it: nothing was
                // parsed yet, so the connection is read from its start after all.
                c.http.handshake_seen();
            }
        }
        c.http.set_client(if f.ack() { 1 - dir } else { dir });
    }
    if f.syn() && f.ack() && !c.tcp[1 - dir].is_started() {
        // A SYN-ACK acknowledges the client's SYN: the client's stream starts at its ACK
        // number, whether or not the SYN itself is (or will be) in the capture.
        c.tcp[1 - dir].start_at(seg.ack);
    } else if !f.syn() && f.ack() && !c.tcp[1 - dir].is_started() {
        // Likewise the client's first ACK after its SYN acknowledges the server's SYN-ACK,
        // when that is not in the capture: the server's stream starts there. In a connection
        // picked up mid-stream, the earliest ACK shows what the peer had received when the
        // capture began: bytes after it came since. Kept for the start where the direction's
        // data waits (`start_mid_stream`), so an answer the capture lost is a gap, not
        // skipped.
        let hint = &mut c.start_hint[1 - dir];
        if hint.is_none_or(|h| seg.ack.is_before(h)) {
            *hint = Some(seg.ack);
        }
    }
}

/// A segment's data, FIN or RST: reassembled and parsed at once when nothing waits and it
/// may go now, else copied to wait (see [`Waiting`]). Only called for a segment that has one.
fn take_segment(
    c: &mut Live,
    dir: Dir,
    seg: &Segment<'_>,
    meta: &PacketMeta,
    lim: &ReassemblyLimits,
    pool: &mut Pool,
    ctx: &mut Ctx<'_>,
) {
    let f = seg.flags;
    let has_data = !seg.payload.is_empty() || seg.missing > 0;
    // Data on a SYN (TCP Fast Open) starts after the SYN's sequence number.
    let seq = if f.syn() { seg.seq + 1 } else { seg.seq };
    let ack = f.ack().then_some(seg.ack);
    let stream = has_data || f.fin();
    let early_rst = f.rst() && rst_early(c, dir, seq, lim);
    if c.waiting.is_empty() && !early_rst && !blocked(c, dir, ack, stream, lim) {
        let mut sink = HttpSink {
            conn: &mut c.http,
            ctx,
        };
        if stream {
            c.tcp[dir].segment(
                dir,
                seq,
                seg.payload,
                seg.missing,
                f.fin(),
                meta,
                lim,
                pool,
                &mut sink,
            );
        }
        c.reset |= f.rst();
    } else {
        c.waiting_bytes += seg.payload.len();
        c.waiting.push_back(Waiting {
            dir,
            seq,
            ack,
            payload: pool.take(seg.payload),
            missing: seg.missing,
            fin: f.fin(),
            rst: f.rst(),
            meta: *meta,
        });
    }
}

/// The per-connection buffer cap (held out-of-order data, waiting segments and head
/// buffers): forces what waits, then declares the oldest holes lost, until it fits. False
/// when that reset the connection (it is to be closed).
fn cap_buffer(
    c: &mut Live,
    max: usize,
    meta: &PacketMeta,
    lim: &ReassemblyLimits,
    pool: &mut Pool,
    ctx: &mut Ctx<'_>,
) -> bool {
    let mut guard = 0;
    while over_buffer(c, max) && guard < 1024 {
        guard += 1;
        if !c.waiting.is_empty() {
            ctx.diag.add(WarnKind::LimitConnectionBuffer, 1);
            force_one(c, lim, pool, ctx);
            if c.reset {
                return false;
            }
            continue;
        }
        let d: Dir = if c.tcp[0].held_bytes() >= c.tcp[1].held_bytes() {
            0
        } else {
            1
        };
        ctx.diag.add(WarnKind::LimitConnectionBuffer, 1);
        let mut sink = HttpSink {
            conn: &mut c.http,
            ctx,
        };
        if !c.tcp[d].declare_first_gap(d, meta, pool, &mut sink) {
            break;
        }
    }
    true
}

/// Whether a connection holds more than `max` bytes (held out-of-order data, waiting segments
/// and head buffers).
#[inline]
fn over_buffer(c: &Live, max: usize) -> bool {
    c.tcp[0].held_bytes() + c.tcp[1].held_bytes() + c.http.buffered() + c.waiting_bytes > max
}

/// Whether the connection's oldest waiting segment has waited longer than
/// [`super::MAX_CROSS_WAIT_US`] at capture time `ts`.
fn waited_long(c: &Live, ts: Micros) -> bool {
    c.waiting
        .front()
        .is_some_and(|w| ts.saturating_sub(w.meta.ts) > super::MAX_CROSS_WAIT_US)
}

/// Whether a segment must wait (see [`Waiting`]): it carries data (or a FIN) for a direction
/// not started yet, or acknowledges data of the other direction not delivered yet. For an
/// other direction not started yet, its waiting data before `ack`, or its bytes after an
/// earlier ACK, is what is acknowledged.
fn blocked(
    c: &Live,
    dir: Dir,
    ack: Option<SeqNumber>,
    stream: bool,
    lim: &ReassemblyLimits,
) -> bool {
    if stream && !c.tcp[dir].is_started() {
        return true;
    }
    let Some(ack) = ack else {
        return false;
    };
    let other = 1 - dir;
    if c.tcp[other].is_started() {
        c.tcp[other].acks_undelivered(ack, lim)
    } else {
        // Nor past where an earlier ACK showed the other direction to stand: what lies
        // between came before this segment, seen or not (`Live::start_hint`).
        c.start_hint[other].is_some_and(|h| h.is_before(ack))
            || c.waiting
                .iter()
                .any(|w| w.dir == other && w.in_stream() && w.seq.is_before(ack))
    }
}

/// An RST closes the connection, so it waits while data is still to come: segments waiting,
/// data held beyond a hole, or data of its own direction before its sequence number not seen
/// yet (in a disordered capture the RST can come before the last data).
fn rst_early(c: &Live, dir: Dir, seq: SeqNumber, lim: &ReassemblyLimits) -> bool {
    c.waiting.iter().any(|w| !w.rst)
        || c.tcp.iter().any(Reassembler::has_held)
        || c.tcp[dir].acks_undelivered(seq, lim)
}

/// Starts direction `dir`, whose SYN was not seen, at its earliest waiting byte: the connection
/// began before the capture (or its handshake was lost). Nothing to do without waiting data.
fn start_mid_stream(c: &mut Live, dir: Dir, ctx: &mut Ctx<'_>) {
    let mut first: Option<SeqNumber> = None;
    for w in c.waiting.iter().filter(|w| w.dir == dir && w.in_stream()) {
        if first.is_none_or(|f| w.seq.is_before(f)) {
            first = Some(w.seq);
        }
    }
    let Some(first) = first else {
        return;
    };
    // The peer's earliest ACK showed where the stream starts: bytes between it and the first
    // waiting one were lost (within the gap window; farther is no start of this stream).
    let hinted = c.start_hint[dir]
        .filter(|h| h.is_before(first) && first.diff(*h) as u64 <= super::GAP_WINDOW_BYTES);
    c.tcp[dir].start_at(hinted.unwrap_or(first));
    if !c.mid_stream {
        c.mid_stream = true;
        ctx.diag.add(WarnKind::TcpMidStream, 1);
    }
}

/// Processes waiting segments that are no longer blocked, oldest first, until none is.
fn release_waiting(c: &mut Live, lim: &ReassemblyLimits, pool: &mut Pool, ctx: &mut Ctx<'_>) {
    while !c.reset {
        let ready = c.waiting.iter().position(|w| {
            let early_rst = w.rst && rst_early(c, w.dir, w.seq, lim);
            !early_rst && !blocked(c, w.dir, w.ack, w.in_stream(), lim)
        });
        let Some(w) = ready.and_then(|i| c.waiting.remove(i)) else {
            return;
        };
        run_waiting(c, w, lim, pool, ctx);
    }
}

/// The oldest waiting segment waited long enough: what blocks it was lost by the capture (or
/// never in it). Starts a direction whose SYN never came, or declares the acknowledged data
/// lost (after running the other direction's waiting data it acknowledges, which was sent
/// before it), processes it, and releases what that unblocks.
fn force_one(c: &mut Live, lim: &ReassemblyLimits, pool: &mut Pool, ctx: &mut Ctx<'_>) {
    let Some(front) = c.waiting.front() else {
        return;
    };
    let (dir, ack) = (front.dir, front.ack);
    let other = 1 - dir;
    if front.in_stream() && !c.tcp[dir].is_started() {
        start_mid_stream(c, dir, ctx);
    } else if ack.is_some() && !c.tcp[other].is_started() {
        start_mid_stream(c, other, ctx);
        if !c.tcp[other].is_started() {
            // Nothing of the other direction is waiting: nothing blocks the front.
            if let Some(w) = c.waiting.pop_front() {
                run_waiting(c, w, lim, pool, ctx);
            }
        }
    } else {
        ctx.diag.add(WarnKind::TcpAckUnseen, 1);
        if let Some(ack) = ack {
            if declare_blocking_hole(c, other, ack, lim, pool, ctx) {
                let unblocked = c
                    .waiting
                    .front()
                    .is_some_and(|w| !blocked(c, w.dir, w.ack, w.in_stream(), lim));
                if unblocked {
                    run_front(c, lim, pool, ctx);
                }
                release_waiting(c, lim, pool, ctx);
                return;
            }
            // The other direction's waiting data this one acknowledges, in stream order.
            loop {
                let next = c
                    .waiting
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.dir == other && w.in_stream() && w.seq.is_before(ack))
                    .min_by_key(|(_, w)| w.seq.diff(ack))
                    .map(|(i, _)| i);
                let Some(w) = next.and_then(|i| c.waiting.remove(i)) else {
                    break;
                };
                run_waiting(c, w, lim, pool, ctx);
            }
            let mut sink = HttpSink {
                conn: &mut c.http,
                ctx,
            };
            let meta = c.waiting.front().map(|w| w.meta).unwrap_or_default();
            c.tcp[other].peer_ack(other, ack, &meta, lim, pool, &mut sink);
        }
        run_front(c, lim, pool, ctx);
    }
    release_waiting(c, lim, pool, ctx);
}

/// Runs the front waiting segment, which was forced out of its wait.
fn run_front(c: &mut Live, lim: &ReassemblyLimits, pool: &mut Pool, ctx: &mut Ctx<'_>) {
    let Some(w) = c.waiting.pop_front() else {
        return;
    };
    let (dir, seq, meta, in_stream) = (w.dir, w.seq, w.meta, w.in_stream());
    run_waiting(c, w, lim, pool, ctx);
    // Bytes of its own direction before it that never came are as lost as those it
    // acknowledges: held behind them, it would reach HTTP only after losses the other
    // direction declares later, which it came before (a request then looks sent after its
    // own lost answer and takes the next one). Not while an earlier segment of its direction
    // still waits to fill them.
    let earlier_waits = c
        .waiting
        .iter()
        .any(|o| o.dir == dir && o.in_stream() && o.seq.is_before(seq));
    if in_stream && !c.reset && !earlier_waits {
        let mut sink = HttpSink {
            conn: &mut c.http,
            ctx,
        };
        c.tcp[dir].peer_ack(dir, seq, &meta, lim, pool, &mut sink);
    }
}

/// Follows what blocks the front waiting segment, which acknowledges `ack` of direction `d`:
/// through waiting segments that hold `d`'s next bytes and wait in turn for the other
/// direction, to bytes that no waiting segment holds. Those the capture lost: declares them
/// (up to the next waiting data of their direction) and returns true. The waiting segments
/// then run in the order they were sent: a response whose request still waits behind the
/// same loss comes after that request, not ahead of it as a response to nothing. False when
/// the chain ends elsewhere (a segment waiting for something else, a cycle).
fn declare_blocking_hole(
    c: &mut Live,
    mut d: Dir,
    mut ack: SeqNumber,
    lim: &ReassemblyLimits,
    pool: &mut Pool,
    ctx: &mut Ctx<'_>,
) -> bool {
    for _ in 0..=c.waiting.len() {
        let r = &c.tcp[d];
        if !r.is_started() || !r.acks_undelivered(ack, lim) {
            return false;
        }
        let Some(mut upto_off) = r.offset_of(ack) else {
            return false;
        };
        let next = r.position() as i64;
        let (mut upto, mut holder) = (ack, None);
        for w in c.waiting.iter().filter(|w| w.dir == d && w.in_stream()) {
            let Some(off) = r.offset_of(w.seq) else {
                continue;
            };
            let end = off + w.payload.len() as i64 + i64::from(w.missing);
            if off <= next && (end > next || (w.fin && end == next)) {
                holder = Some(w.ack);
                break;
            }
            if off > next && off < upto_off {
                (upto, upto_off) = (w.seq, off);
            }
        }
        match holder {
            Some(Some(a)) => (d, ack) = (1 - d, a),
            Some(None) => return false,
            None => {
                // Nor past what a waiting segment of the other direction acknowledges: it
                // was sent before the bytes after that, which may answer it (a request
                // waiting behind the lost answer before its own).
                for w in c.waiting.iter().filter(|w| w.dir != d) {
                    let off = w.ack.and_then(|a| r.offset_of(a).map(|o| (a, o)));
                    if let Some((a, o)) = off.filter(|&(_, o)| o > next && o < upto_off) {
                        (upto, upto_off) = (a, o);
                    }
                }
                let meta = c.waiting.front().map(|w| w.meta).unwrap_or_default();
                let mut sink = HttpSink {
                    conn: &mut c.http,
                    ctx,
                };
                c.tcp[d].peer_ack(d, upto, &meta, lim, pool, &mut sink);
                return true;
            }
        }
    }
    false
}

fn run_waiting(
    c: &mut Live,
    w: Waiting,
    lim: &ReassemblyLimits,
    pool: &mut Pool,
    ctx: &mut Ctx<'_>,
) {
    c.waiting_bytes = c.waiting_bytes.saturating_sub(w.payload.len());
    if c.reset {
        pool.give(w.payload);
        return;
    }
    if w.in_stream() {
        if !c.tcp[w.dir].is_started() {
            // Forced before its direction started: it starts here.
            c.tcp[w.dir].start_at(w.seq);
        }
        let mut sink = HttpSink {
            conn: &mut c.http,
            ctx,
        };
        c.tcp[w.dir].segment(
            w.dir, w.seq, &w.payload, w.missing, w.fin, &w.meta, lim, pool, &mut sink,
        );
    }
    c.reset |= w.rst;
    pool.give(w.payload);
}

/// Ends both directions (holes declared lost, read-until-close bodies complete), emits the
/// requests still waiting and frees the running state (see [`Conn::live`]). Idempotent.
fn close(live: &mut Option<Box<Live>>, meta: &PacketMeta, pool: &mut Pool, ctx: &mut Ctx<'_>) {
    let Some(mut c) = live.take() else {
        return;
    };
    let lim = ReassemblyLimits {
        max_segments: usize::MAX,
        max_bytes: usize::MAX,
        gap_window: u64::MAX,
    };
    // An RST ends the connection at once: what still waits was never answered.
    let mut reset = c.reset;
    c.reset = false;
    while !c.waiting.is_empty() {
        force_one(&mut c, &lim, pool, ctx);
        reset |= c.reset;
        c.reset = false;
    }
    // Which directions the connection itself ended (FIN), before the capture's end or a
    // limit ends them here.
    let ended = [c.tcp[0].is_ended(), c.tcp[1].is_ended()];
    let mut sink = HttpSink {
        conn: &mut c.http,
        ctx,
    };
    for d in 0..2 {
        c.tcp[d].finish(d, meta, pool, &mut sink);
        c.tcp[d].release(pool);
    }
    c.http.mark_closed_unanswered(reset, ended, meta.ts);
    c.http.flush(ctx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::quic::synth::{Opened, SynQuic};
    use crate::capture::tcp::Endpoint;
    use std::net::{IpAddr, Ipv4Addr};

    /// What the table reports into, owned by a test.
    struct Sink {
        diag: Diagnostics,
        stats: CaptureStats,
        exchanges: Vec<super::super::Finished>,
        losses: Vec<crate::model::loss::Loss>,
    }

    impl Sink {
        fn new() -> Self {
            Sink {
                diag: Diagnostics::new(),
                stats: CaptureStats::default(),
                exchanges: Vec::new(),
                losses: Vec::new(),
            }
        }

        fn out(&mut self) -> Out<'_> {
            Out {
                diag: &mut self.diag,
                stats: &mut self.stats,
                exchanges: &mut self.exchanges,
                losses: &mut self.losses,
            }
        }
    }

    /// A generated QUIC connection, its randomness from `seed`.
    fn opened(mut seed: u64) -> Opened {
        SynQuic::open(&mut move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            seed
        })
    }

    /// Gives the table datagrams (from the client, or not) between 10.0.0.1:50000 and
    /// 10.0.0.2:443, a millisecond apart from 1 s on; the time of the last.
    fn feed(table: &mut ConnTable, datagrams: &[(bool, &[u8])], sink: &mut Sink) -> Micros {
        let end = |ip: u8, port: u16| Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, ip)),
            port,
        };
        let (client, server) = (end(1, 50000), end(2, 443));
        let mut last = 0;
        for (i, &(from_client, payload)) in datagrams.iter().enumerate() {
            let (src, dst) = if from_client {
                (client, server)
            } else {
                (server, client)
            };
            let meta = PacketMeta {
                number: i as u64 + 1,
                offset: 0,
                ts: 1_000_000 + i as Micros * 1000,
                quiet: 0,
            };
            last = meta.ts;
            let udp = Udp {
                src,
                dst,
                payload,
                opens: true,
            };
            table.process_quic(&udp, &meta, &mut sink.out());
        }
        last
    }

    /// A generated QUIC connection (handshake, one request and its response), closed by its
    /// client or not: a closed one is idle for the sweep once quiet for [`CLOSE_GRACE_US`],
    /// an open one only after the idle timeout; its exchange is emitted either way.
    #[test]
    fn closed_quic_connections_leave_after_a_grace() {
        for close in [true, false] {
            let opened = opened(7);
            let keys = crate::capture::tls::KeyLog::default();
            keys.add_text(&opened.keylog);
            let opts = CaptureOptions {
                keylog: Arc::new(keys),
                ..CaptureOptions::default()
            };
            let mut table = ConnTable::new(Arc::from("t"), &opts);
            let mut q = opened.quic;
            let mut datagrams = vec![
                (true, opened.client_initial),
                (false, opened.server_initial),
            ];
            let request = b"GET /a HTTP/1.1\r\nHost: b.test\r\nOrigin: https://a.test\r\n\r\n";
            datagrams.extend(q.wrap(true, request).into_iter().map(|d| (true, d)));
            let response = b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\n\r\n";
            datagrams.extend(q.wrap(false, response).into_iter().map(|d| (false, d)));
            if close {
                datagrams.push((true, q.close()));
            }
            let datagrams: Vec<(bool, &[u8])> =
                datagrams.iter().map(|(c, d)| (*c, d.as_slice())).collect();
            let mut sink = Sink::new();
            let last = feed(&mut table, &datagrams, &mut sink);
            assert_eq!(table.quic.len(), 1);
            assert!(table.idle_at(last + CLOSE_GRACE_US / 2).is_empty());
            let after_grace = table.idle_at(last + CLOSE_GRACE_US + 1).len();
            assert_eq!(after_grace, usize::from(close), "closed: {close}");
            table.flush_all(&mut sink.out());
            assert_eq!(sink.exchanges.len(), 1, "closed: {close}");
            assert!(sink.diag.is_empty(), "{:?}", sink.diag);
        }
    }

    /// A server refusing a connection in its Initial (CONNECTION_CLOSE there, RFC 9000
    /// §10.2.3): the connection leaves after the grace as one closed later does.
    #[test]
    fn a_connection_refused_in_its_handshake_leaves_after_the_grace() {
        use crate::capture::quic::packet::{PacketKeys, VERSION_1};
        use crate::capture::quic::synth::initial;
        let opened = opened(11);
        // The client's first Initial: its Destination ID (the Initial keys) and Source ID.
        let ci = &opened.client_initial;
        let dcid = &ci[6..6 + usize::from(ci[5])];
        let at = 6 + dcid.len();
        let scid = &ci[at + 1..at + 1 + usize::from(ci[at])];
        let keys = PacketKeys::initial(VERSION_1, dcid, false).expect("v1 keys");
        // CONNECTION_CLOSE: error 0x0a (PROTOCOL_VIOLATION), frame type 0, no reason.
        let refusal = initial(&keys, scid, &[7; 8], &[0x1c, 0x0a, 0, 0], None);
        let mut table = ConnTable::new(Arc::from("t"), &CaptureOptions::default());
        let mut sink = Sink::new();
        let last = feed(&mut table, &[(true, ci), (false, &refusal)], &mut sink);
        assert_eq!(table.idle_at(last + CLOSE_GRACE_US + 1).len(), 1);
    }
}
