//! Packet captures (pcap, pcapng) to HTTP exchanges: link-layer decoding, TCP reassembly and
//! HTTP/1.x parsing, streaming, with memory bounded by the set of live connections.
//!
//! One step per module, composed here single-threaded:
//! [`reader`] (records) → [`decode`] (TCP segment views) → [`flows`] + [`tcp`] (connections,
//! reassembly) → [`http`] (framing, pairing; [`proxy`]: requests forwarded by a proxy) →
//! ordering → `emit`.
//!
//! For a parallel pipeline the layers split at [`flow_shard`]: every segment of a connection,
//! both directions, maps to the same shard, and each worker owns one [`flows::ConnTable`].
//!
//! # What an exchange holds
//! - `loc`: the packet (1-based number, record offset) that carried the request's first byte.
//! - `seq`: 0-based, in output order (see "Output order"), so the same however the capture's
//!   packets were ordered; inside the reader, the order request heads were completed in.
//! - `time`: capture time of the request's first byte; `client`: the IP that sent it.
//! - `connection`: the packet number of the connection's first packet: unique in the capture
//!   and the same however packets are sharded across workers.
//! - `request.url`: absolute-form targets as sent, else `http://` + `Host` (or the server's
//!   `ip:port` without one) + target.
//! - `timings.wait_ms`: from the last request byte seen before the response began (the body's
//!   last byte for a request with a body) to the response's first byte; `None` without one.
//! - `evidence.server_ip`: the server's `ip:port` (`[ip]:port` for IPv6).
//!
//! An exchange is emitted once its (final) response head is complete, or without a response
//! when its connection ends, is flushed (idle, limits, end of input) or the response was lost.
//!
//! # Output order
//! Exchanges come out in request order per connection and, across connections, sorted by
//! (request time, `seq`) behind a watermark: an exchange is released once no request that is
//! still waiting for its response is older. The order can deviate from exact time order only
//! when (a) more than [`MAX_REORDER_EXCHANGES`] exchanges wait behind one old unanswered
//! request (then the oldest waiting leave early; a request is unanswered for at most the idle
//! timeout after its connection's last packet, [`IDLE_TIMEOUT_SECS`]), or (b) a request's head
//! took several packets to complete, or its first segment was held out of order, while a
//! younger request finished: that skew is bounded by the time the head took to arrive.

pub(crate) mod app;
pub mod decode;
pub(crate) mod flows;
pub mod frag;
pub mod h2;
pub(crate) mod h3;
pub mod http;
pub mod parallel;
pub(crate) mod pool;
pub(crate) mod proxy;
pub mod quic;
pub mod reader;
pub(crate) mod streams;
pub mod tcp;
pub mod tls;

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::BufRead;
use std::sync::Arc;

use crate::diag::{Diagnostics, WarnKind};
use crate::model::loss::{Loss, LossLog};
use crate::model::{Exchange, Micros};

use decode::Segment;
use flows::{ConnTable, Out};
use tcp::PacketMeta;

pub use http::{MAX_CHUNK_LINE, MAX_HEADERS, MAX_HEAD_BYTES, MAX_PENDING_REQUESTS};
pub(crate) use reader::MAX_RECORD_BYTES;

/// Live connections kept at once; beyond it the oldest is flushed (`limit-live-connections`).
pub(crate) const MAX_LIVE_CONNECTIONS: usize = 100_000;
/// Bytes one connection may buffer (out-of-order data plus heads) before its oldest hole is
/// declared lost (`limit-connection-buffer`).
pub(crate) const MAX_CONNECTION_BUFFER: usize = 256 * 1024;
/// Bytes all connections together may buffer; beyond it the oldest connections are flushed
/// (`limit-total-buffer`), so many connections each holding a large unfinished head cannot
/// exhaust memory. Checked every [`TOTAL_BUFFER_CHECK_PACKETS`] packets.
pub(crate) const MAX_TOTAL_BUFFER: usize = 128 * 1024 * 1024;
/// How often (in packets per connection table) the total is recomputed: between checks it can
/// grow by at most this many packets' payload.
pub(crate) const TOTAL_BUFFER_CHECK_PACKETS: u32 = 4096;
/// Out-of-order segments held per direction (`limit-ooo-segments`).
pub(crate) const MAX_OOO_SEGMENTS: usize = 256;
/// How far data may run ahead of a hole before the hole is declared lost (`tcp-gap-window`).
pub(crate) const GAP_WINDOW_BYTES: u64 = 4 * 1024 * 1024;
/// Segments of one connection that may wait for the other direction to show the data they
/// acknowledge (capture reordering across directions) before that data is declared lost
/// (`tcp-ack-unseen`).
pub(crate) const MAX_CROSS_WAIT_SEGMENTS: usize = 64;
/// How long (capture time, by the connection's own later packets) a segment may wait for the
/// other direction before what it waits for is declared lost. Interfaces merged into one
/// capture disorder a connection's two directions by milliseconds; a quiet stretch of a
/// connection that keeps a segment waiting for more segments would otherwise hold a loss
/// undeclared past the pairing horizon, and a preflight whose request the capture lost
/// there was read as never followed (a WebKit capture with data lost: three
/// `blocked/AllowCredentialsNotTrue` for allowed requests).
pub(crate) const MAX_CROSS_WAIT_US: Micros = 2_000_000;
/// A connection without packets for this long (capture time) is flushed (`tcp-idle-flush`).
pub(crate) const IDLE_TIMEOUT_SECS: i64 = 300;
/// Finished exchanges held for time ordering (`limit-reorder-buffer`). The buffer also holds
/// an exchange up to [`pool::HOLD_US`] (30 s of capture time) for its connection's credentials
/// class, and everything after it in time order with it, so it must hold about 30 s of a busy
/// capture's exchanges: at 4096, a generated capture of ~370 exchanges a second (1 024
/// sessions) let 2 859 (419 MB) and 27 839 (4 GB) exchanges leave without their class (on the
/// 4 GB capture 8 249 records' credentials mode and 301 verdicts stayed `unknown`); at 32 768
/// none, peak RSS 104 -> 130 MB (`--jobs 2`, 4 GB; 72 -> 85 MB at 419 MB), time equal.
pub(crate) const MAX_REORDER_EXCHANGES: usize = 32_768;
/// Bytes the exchanges held for time ordering may hold together ([`Exchange::held_bytes`]):
/// beyond it the oldest leave early, as beyond the count. The count alone let a hostile
/// capture (64 KiB heads on every exchange) hold 32 768 × 128 KiB = 4 GiB; a generated
/// capture's exchanges are about 1-2 KiB, far below it at the count bound.
pub(crate) const MAX_REORDER_BYTES: usize = 128 << 20;

/// Options and limits for capture reading. Every limit defaults to the `pub const` of the
/// same name; hitting one is counted in `Diagnostics`, never fatal.
#[derive(Clone, Debug)]
pub struct CaptureOptions {
    pub max_record_bytes: usize,
    pub max_live_connections: usize,
    pub max_connection_buffer: usize,
    pub max_total_buffer: usize,
    pub max_ooo_segments: usize,
    pub gap_window_bytes: u64,
    pub max_cross_wait_segments: usize,
    pub idle_timeout_secs: i64,
    pub max_head_bytes: usize,
    pub max_headers: usize,
    pub max_chunk_line: usize,
    pub max_pending_requests: usize,
    pub max_reorder_exchanges: usize,
    pub max_reorder_bytes: usize,
    /// Skip packets on link types that cannot be decoded (counted as
    /// `unsupported-link-type`) instead of failing with [`CaptureError::UnsupportedLinkType`].
    pub skip_unknown_link_types: bool,
    /// TLS secrets (`--keylog` files); pcapng Decryption Secrets Blocks add to it as read.
    pub keylog: Arc<tls::KeyLog>,
    /// IP fragment reassembly limits.
    pub frag: frag::FragLimits,
    /// Where the bytes clients sent and the capture lost are recorded, for pairing to ask
    /// (one per input: the pipeline gives each capture its own, shared with its pairing).
    pub losses: Arc<LossLog>,
    /// Read from a later part of the input on (see [`Resume`]); `None`: from its start.
    pub resume: Option<Resume>,
    /// Called on the thread that emits exchanges, after the ones a silent live input let go
    /// ([`IdleHook`]).
    pub on_idle: Option<IdleHook>,
    /// Where a streamed input's reader leaves the unread rest of the input when it stops at
    /// a part out of time order (see [`Rest`]).
    pub rest: Rest,
}

/// Where a run over a later part of a capture starts: a part out of time order
/// ([`CaptureError::PartsOutOfOrder`]) is analysed by a run of its own, which reads from where
/// the part begins and numbers its packets and exchanges on from the runs before it.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// Byte offset (of the decoded input) where the part begins: its file or section header,
    /// or its first packet (with [`Resume::framing`]).
    pub offset: u64,
    /// Packets read before it.
    pub packets: u64,
    /// Exchanges emitted before it (the next one's `seq`).
    pub exchanges: u64,
    /// The source begins at `offset` already (the [`Rest`] of a stream), where a reopened
    /// file is read from its start and skipped to `offset`.
    pub at_offset: bool,
    /// The part's framing, when it begins with a packet rather than a header.
    pub framing: Option<Box<reader::Framing>>,
    /// This run reads the rest of the input as one part ([`MAX_PARTS`] were analysed apart):
    /// a part out of time order after it is read on.
    pub read_on: bool,
}

/// The unread rest of a streamed input (standard input, a pipe, a decompressed file) whose
/// reader stopped at a part out of time order ([`CaptureError::PartsOutOfOrder`]): from where
/// that part begins on, for a run of its own ([`Resume::at_offset`]), since a stream cannot be
/// opened again. A mapped file leaves none: it is opened again there. Shared by the
/// clones of one input's options; each input needs its own.
#[derive(Clone, Default)]
pub struct Rest(Arc<std::sync::Mutex<Option<Box<dyn std::io::Read + Send>>>>);

impl Rest {
    /// The rest left, if a reader left one (once).
    pub fn take(&self) -> Option<Box<dyn std::io::Read + Send>> {
        self.0.lock().ok().and_then(|mut r| r.take())
    }

    fn put(&self, rest: Box<dyn std::io::Read + Send>) {
        if let Ok(mut r) = self.0.lock() {
            *r = Some(rest);
        }
    }
}

/// What a run does once a live input fell silent (`input::live` reports it after the idle
/// flush's time, `--idle-flush`) and the exchanges that waited only for their connection's
/// credentials class were emitted: the pipeline decides what pairing holds, after them.
#[derive(Clone)]
pub struct IdleHook(pub Arc<dyn Fn() + Send + Sync>);

impl IdleHook {
    fn call(&self) {
        (self.0)();
    }
}

impl std::fmt::Debug for IdleHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdleHook")
    }
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let left = self.0.lock().is_ok_and(|r| r.is_some());
        f.debug_tuple("Rest").field(&left).finish()
    }
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            max_record_bytes: MAX_RECORD_BYTES,
            max_live_connections: MAX_LIVE_CONNECTIONS,
            max_connection_buffer: MAX_CONNECTION_BUFFER,
            max_total_buffer: MAX_TOTAL_BUFFER,
            max_ooo_segments: MAX_OOO_SEGMENTS,
            gap_window_bytes: GAP_WINDOW_BYTES,
            max_cross_wait_segments: MAX_CROSS_WAIT_SEGMENTS,
            idle_timeout_secs: IDLE_TIMEOUT_SECS,
            max_head_bytes: MAX_HEAD_BYTES,
            max_headers: MAX_HEADERS,
            max_chunk_line: MAX_CHUNK_LINE,
            max_pending_requests: MAX_PENDING_REQUESTS,
            max_reorder_exchanges: MAX_REORDER_EXCHANGES,
            max_reorder_bytes: MAX_REORDER_BYTES,
            skip_unknown_link_types: false,
            keylog: Arc::default(),
            frag: frag::FragLimits::default(),
            losses: LossLog::new(),
            resume: None,
            on_idle: None,
            rest: Rest::default(),
        }
    }
}

/// What a capture held, for the summary.
#[derive(Clone, Debug, Default)]
pub struct CaptureStats {
    pub packets: u64,
    /// Captured bytes of all packets.
    pub bytes: u64,
    pub tcp_packets: u64,
    pub tcp_connections: u64,
    pub http_requests: u64,
    pub tls_connections: u64,
    /// QUIC connections not decrypted (no key-log secrets for them, or no handshake).
    pub quic_encrypted: u64,
    /// Of `tls_connections` and `quic_encrypted`, those whose handshake is not in the
    /// capture (they began before it): no key log can open them.
    pub before_capture: u64,
    /// The latest packet time read (0 before any; capture times are never negative): where
    /// the capture ends, for pairing (a request sent after it is not in the capture).
    pub last_packet: Micros,
}

impl CaptureStats {
    /// Adds other counts: a capture worker's to the reader's (`parallel`), a later part's run
    /// to the runs before it ([`Resume`]).
    pub(crate) fn add(&mut self, o: &CaptureStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.tcp_packets += o.tcp_packets;
        self.tcp_connections += o.tcp_connections;
        self.http_requests += o.http_requests;
        self.tls_connections += o.tls_connections;
        self.quic_encrypted += o.quic_encrypted;
        self.before_capture += o.before_capture;
        self.last_packet = self.last_packet.max(o.last_packet);
    }

    /// Counts a packet of `bytes` captured bytes read at `ts`.
    pub(crate) fn packet(&mut self, bytes: usize, ts: Micros) {
        self.packets += 1;
        self.bytes += bytes as u64;
        self.last_packet = self.last_packet.max(ts);
    }
}

impl CaptureError {
    /// Where the run that reads the part out of time order this error stopped at starts
    /// (`None` for any other error): `exchanges` were emitted before it, `at_offset` for the
    /// [`Rest`] of a stream, and `runs` ran on the input before it, the first included; the
    /// [`MAX_PARTS`]th reads on to the input's end ([`Resume::read_on`]).
    pub fn resume_at(&self, exchanges: u64, at_offset: bool, runs: u32) -> Option<Resume> {
        let CaptureError::PartsOutOfOrder {
            packet,
            part_offset,
            framing,
            ..
        } = self
        else {
            return None;
        };
        Some(Resume {
            offset: *part_offset,
            packets: packet.saturating_sub(1),
            exchanges,
            at_offset,
            framing: framing.clone(),
            read_on: runs + 1 >= MAX_PARTS,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("empty input (0 bytes)")]
    Empty,
    #[error("not a pcap or pcapng file (first bytes: {0})")]
    NotACapture(String),
    #[error("truncated {what}: the input ends after {len} bytes")]
    TruncatedHeader { what: &'static str, len: u64 },
    #[error(
        "truncated capture: packet {packet} (byte {offset}) is cut off by the end of the input"
    )]
    Truncated { packet: u64, offset: u64 },
    #[error("damaged capture at packet {packet} (byte {offset}): {detail}")]
    Damaged {
        packet: u64,
        offset: u64,
        detail: String,
    },
    #[error("packet {packet} (byte {offset}): record larger than the {limit}-byte limit (--max-record-bytes)")]
    RecordTooLarge {
        packet: u64,
        offset: u64,
        limit: usize,
    },
    #[error("packet {packet} (byte {offset}): unsupported link type {linktype}")]
    UnsupportedLinkType {
        linktype: i32,
        packet: u64,
        offset: u64,
    },
    #[error(
        "capture parts out of time order at packet {packet} (byte {offset}): this part (a file \
         joined on with `cat`, a pcapng section, or packets whose times jump back and stay \
         back, as `mergecap -a` joins files) starts {back_secs} s before the part before it \
         ends, and read after it its requests would be paired and cached against the wrong \
         clock; reading stopped here. Join the files in time order (`mergecap -w \
         joined.pcapng FILE...`) or analyse each on its own"
    )]
    PartsOutOfOrder {
        packet: u64,
        offset: u64,
        back_secs: u64,
        /// Where the part begins (where a run of its own starts): its file or section header,
        /// or its first packet.
        part_offset: u64,
        /// How the part is framed when it begins with a packet, not a header.
        framing: Option<Box<reader::Framing>>,
    },
    #[error("read error at byte {offset}: {source}")]
    Read {
        offset: u64,
        #[source]
        source: std::io::Error,
    },
}

/// The shard (0..n) for a segment: a symmetric hash of its connection's 5-tuple, so both
/// directions of a connection go to the same worker. Stable across runs and machines.
pub(crate) fn flow_shard(seg: &Segment<'_>, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    (tcp::shard_hash(&seg.src, &seg.dst) % n as u64) as usize
}

/// An exchange finished by its connection, with its ordering time (the request time made
/// monotonic per connection). Boxed once, when its request head is parsed: from there it
/// moves as a pointer through the connection's queue, the table's (or a worker's) list and
/// the reorder buffer's heap, and is unboxed once, for `emit`. An exchange is about 560
/// bytes, and held by value it was copied about ten times on that way.
pub type Finished = (Micros, Box<Exchange>);

/// An exchange ordered by (ordering time, seq), smallest first in a max-heap; the heap moves
/// only the key and the box.
struct ByTime(Micros, u64, Box<Exchange>);

impl PartialEq for ByTime {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ByTime {}
impl PartialOrd for ByTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByTime {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.0, other.1).cmp(&(self.0, self.1))
    }
}

/// Holds finished exchanges until no older request can still finish (see the module docs),
/// and until their connection shows its credentials class ([`pool`], at most
/// [`pool::HOLD_US`] of capture time), which it writes into each exchange on the way out.
/// Shared with the parallel reader's merge, which feeds it the same sequence of pushes and
/// releases as [`read_capture`] does.
pub(crate) struct Reorder {
    heap: BinaryHeap<ByTime>,
    max: usize,
    /// The held exchanges' [`Exchange::held_bytes`], together, and their bound.
    bytes: usize,
    max_bytes: usize,
    pools: pool::Pools,
    /// The last watermark released up to: what the heap holds beyond the limit is counted as
    /// `limit-reorder-buffer` only when the watermark, not a connection's class, held it.
    watermark: (Micros, u64),
    /// The latest watermark time given, and how far one has gone back behind it (at most
    /// [`MAX_CLOCK_LAG_US`]): a disordered capture's clock runs ahead of requests still to
    /// come by up to that much, so releases lag by it.
    latest: Micros,
    lag: Micros,
    /// Exchanges emitted so far: the next one's `seq`.
    emitted: u64,
    /// The (time, seq) of the exchange at the top of the heap when its connection was last
    /// found still to be showing its class: until the next exchange is observed (the only
    /// thing that changes a class) the release of every packet skips that lookup.
    pending_top: Option<(Micros, u64)>,
    /// The watermark the last release was given, unless anything was pushed since: a release
    /// with the same watermark and nothing new finds what that one found (the lag and the
    /// effective watermark follow from the sequence of watermarks, which did not move; the
    /// heap and the connections' classes change only by pushes and releases), so it returns
    /// at once. Most packets finish nothing and leave the oldest open request where it was.
    settled_at: Option<(Micros, u64)>,
}

/// Capture parts out of time order analysed apart, at most (each is a run of its own,
/// [`Resume`]); past it the rest of the input is read on as one part, so that an input of
/// thousands of parts, each a few packets, costs no more than a run per part up to this.
pub(crate) const MAX_PARTS: u32 = 1024;

/// The most a capture's packet times are taken to go backwards (merged interfaces, clock
/// skew between capture points, queue reordering): beyond it, a late request leaves out of
/// time order rather than holding every exchange back.
pub(crate) const MAX_CLOCK_LAG_US: Micros = 10_000_000;

/// Whether `ts` is more than the clock lag a capture may have ([`MAX_CLOCK_LAG_US`]) before
/// `than`: a part out of time order (`reader`, `split`), or a packet to check for one.
#[inline(always)]
pub(crate) fn behind(ts: Micros, than: Micros) -> bool {
    ts.saturating_add(MAX_CLOCK_LAG_US) < than
}

impl Reorder {
    pub(crate) fn new(max: usize, max_bytes: usize) -> Self {
        Reorder {
            heap: BinaryHeap::new(),
            max: max.max(1),
            bytes: 0,
            max_bytes,
            pools: pool::Pools::default(),
            watermark: (Micros::MIN, 0),
            latest: Micros::MIN,
            lag: 0,
            emitted: 0,
            pending_top: None,
            settled_at: None,
        }
    }

    /// The buffer of a run with `opts`' limits, numbering its exchanges on from the runs
    /// before it (a later part's, [`Resume`]).
    pub(crate) fn of_run(opts: &CaptureOptions) -> Self {
        let mut r = Reorder::new(opts.max_reorder_exchanges, opts.max_reorder_bytes);
        r.emitted = opts.resume.as_ref().map_or(0, |r| r.exchanges);
        r
    }

    fn out(&mut self, t: ByTime, emit: &mut dyn FnMut(Exchange)) {
        // Finished in its box, then moved out once, straight to `emit`.
        let mut ex = t.2;
        self.bytes -= ex.held_bytes();
        ex.evidence.connection_credentials = self.pools.class(&ex);
        // Numbered in output order, which is time order: the same however the capture's
        // packets were ordered (the order heads completed in is not).
        ex.seq = self.emitted;
        self.emitted += 1;
        emit(*ex);
    }

    pub(crate) fn push(
        &mut self,
        (key, ex): Finished,
        diag: &mut Diagnostics,
        emit: &mut dyn FnMut(Exchange),
    ) {
        self.pools.observe(&ex);
        self.pending_top = None;
        self.settled_at = None;
        let seq = ex.seq;
        self.bytes += ex.held_bytes();
        self.heap.push(ByTime(key, seq, ex));
        // Over the count one leaves; over the bytes as many as it takes (the newest, alone,
        // may stay over: it leaves with the next push or release).
        while self.heap.len() > self.max || (self.bytes > self.max_bytes && self.heap.len() > 1) {
            let (by_count, max, max_bytes) = (self.heap.len() > self.max, self.max, self.max_bytes);
            if let Some(t) = self.heap.pop() {
                if (t.0, t.1) >= self.watermark {
                    diag.add(WarnKind::LimitReorderBuffer, 1);
                } else if self.pools.pending(&t.2) {
                    let ex = &t.2;
                    // Held only for its connection's credentials class: it leaves without
                    // one, which is worth saying (the request may stay `unknown`).
                    let loc = &ex.loc;
                    diag.warn(WarnKind::LimitReorderBufferClass, || {
                        let over = if by_count {
                            format!("{max} exchanges (--max-reorder-buffer)")
                        } else {
                            format!("{max_bytes} bytes of exchanges (--max-reorder-bytes)")
                        };
                        format!(
                            "{loc}: more than {over} held while this one waited for its \
                             connection to show its credentials class (up to {} s): it leaves \
                             without it",
                            pool::HOLD_US / 1_000_000
                        )
                    });
                }
                self.out(t, emit);
            }
        }
    }

    /// Emits everything older than `watermark`, except (and behind) an exchange whose
    /// connection may still show its class within the hold time. In line for the test that
    /// settles most packets (see `settled_at`); the release itself is out of line.
    #[inline]
    pub(crate) fn release(&mut self, watermark: (Micros, u64), emit: &mut dyn FnMut(Exchange)) {
        if self.settled_at != Some(watermark) {
            self.release_to(watermark, emit);
        }
    }

    #[inline(never)]
    fn release_to(&mut self, watermark: (Micros, u64), emit: &mut dyn FnMut(Exchange)) {
        self.settled_at = Some(watermark);
        self.latest = self.latest.max(watermark.0);
        let behind = self.latest.saturating_sub(watermark.0);
        self.lag = self.lag.max(behind.min(MAX_CLOCK_LAG_US));
        let watermark = if self.lag > 0 {
            (watermark.0.saturating_sub(self.lag), 0)
        } else {
            watermark
        };
        self.watermark = watermark;
        while let Some(t) = self.heap.peek() {
            let top = (t.0, t.1);
            if top >= watermark {
                break;
            }
            let ex = &t.2;
            if ex.time.saturating_add(pool::HOLD_US) > watermark.0
                && (self.pending_top == Some(top) || self.pools.pending(ex))
            {
                self.pending_top = Some(top);
                break;
            }
            if let Some(t) = self.heap.pop() {
                self.out(t, emit);
            }
        }
        if self.pools.prune(watermark.0) {
            self.pending_top = None;
        }
    }

    /// The input fell silent: emits everything older than the last watermark, the exchanges
    /// still waiting for their connection's credentials class too (they leave with the class
    /// known by now, as at the end of the input; requests still open hold back what is
    /// newer), then runs the run's [`IdleHook`].
    pub(crate) fn on_silence(&mut self, opts: &CaptureOptions, emit: &mut dyn FnMut(Exchange)) {
        self.release_held(emit);
        if let Some(hook) = &opts.on_idle {
            hook.call();
        }
    }

    fn release_held(&mut self, emit: &mut dyn FnMut(Exchange)) {
        self.settled_at = None;
        self.pending_top = None;
        while let Some(t) = self.heap.peek() {
            if (t.0, t.1) >= self.watermark {
                break;
            }
            if let Some(t) = self.heap.pop() {
                self.out(t, emit);
            }
        }
    }

    pub(crate) fn drain(&mut self, emit: &mut dyn FnMut(Exchange)) {
        self.settled_at = None;
        while let Some(t) = self.heap.pop() {
            self.out(t, emit);
        }
    }
}

/// Reads a pcap or pcapng stream and calls `emit` for every HTTP exchange, in request order per
/// connection. On a damaged or truncated file, everything before the damage is emitted first,
/// then the error is returned.
pub fn read_capture(
    reader: Box<dyn BufRead + Send>,
    source: Arc<str>,
    opts: &CaptureOptions,
    emit: &mut dyn FnMut(Exchange),
    diag: &mut Diagnostics,
) -> Result<CaptureStats, CaptureError> {
    read_capture_from(reader::Source::Stream(reader), source, opts, emit, diag)
}

/// [`read_capture`] from either source (a regular file may come mapped).
pub fn read_capture_from(
    input: reader::Source,
    source: Arc<str>,
    opts: &CaptureOptions,
    emit: &mut dyn FnMut(Exchange),
    diag: &mut Diagnostics,
) -> Result<CaptureStats, CaptureError> {
    let mut packets =
        reader::PacketReader::open(input, opts, reader::BLOCK_BYTES)?.named(source.clone());
    let mut stats = CaptureStats::default();
    let mut table = ConnTable::new(source.clone(), opts);
    let mut reorder = Reorder::of_run(opts);
    let mut done: Vec<Finished> = Vec::new();
    let mut losses: Vec<Loss> = Vec::new();
    let src = source.clone();
    let mut decoder = decode::Decoder::new(source.clone(), &opts.frag);
    let result = packets.for_each_event(|event| {
        let pkt = match event {
            reader::ReadEvent::Packet(pkt) => pkt,
            reader::ReadEvent::Idle => return reorder.on_silence(opts, emit),
        };
        stats.packet(pkt.data.len(), pkt.ts);
        let meta = PacketMeta {
            number: pkt.number,
            offset: pkt.offset,
            ts: pkt.ts,
            quiet: 0,
        };
        let Some(link) = pkt.link else {
            diag.warn(WarnKind::UnsupportedLinkType, || {
                format!(
                    "{src}: packet {} (byte {}): link type {} skipped",
                    pkt.number, pkt.offset, pkt.dlt
                )
            });
            return;
        };
        let mut out = Out {
            diag,
            stats: &mut stats,
            exchanges: &mut done,
            losses: &mut losses,
        };
        if table.tick(meta.ts) {
            table.sweep(&meta, &mut out);
        }
        match decoder.frame(link, pkt.data, &meta, out.diag) {
            Some(decode::Carried::Tcp(seg)) => {
                out.stats.tcp_packets += 1;
                table.process(&seg, &meta, &mut out);
            }
            Some(decode::Carried::Quic(udp)) => table.process_quic(&udp, &meta, &mut out),
            None => {}
        }
        // Recorded before this packet's exchanges can move pairing on (as the parallel merge).
        if !losses.is_empty() {
            opts.losses.record(losses.drain(..));
        }
        // Most packets finish no exchange: no drain to set up and drop.
        if !done.is_empty() {
            for ex in done.drain(..) {
                reorder.push(ex, diag, emit);
            }
        }
        let watermark = table.oldest_open().unwrap_or((meta.ts, u64::MAX));
        let watermark = watermark.min((meta.ts, u64::MAX));
        reorder.release(watermark, emit);
    });
    // Whatever happened to the input, the connections seen so far are finished and emitted
    // before the error (if any) is returned.
    decoder.finish(diag);
    table.flush_all(&mut Out {
        diag,
        stats: &mut stats,
        exchanges: &mut done,
        losses: &mut losses,
    });
    opts.losses.record(losses.drain(..));
    for ex in done.drain(..) {
        reorder.push(ex, diag, emit);
    }
    reorder.drain(emit);
    diag.merge(packets.take_warnings());
    result.map(|()| stats)
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
pub(crate) mod encap_tests;

#[cfg(test)]
mod robust_tests;

#[cfg(test)]
mod proptests {
    //! Any segmentation and any causally possible capture order (with duplicates, and the
    //! handshake after the first data) of a valid HTTP/1.1 conversation gives the same
    //! exchanges as in-order delivery.

    use proptest::prelude::*;

    use super::testutil::{pcap, run_with, tcp4, Frame, ACK, CLIENT, SERVER, SYN};
    use super::CaptureOptions;

    #[derive(Clone, Debug)]
    struct Msg {
        method: &'static str,
        path: String,
        req_body: Vec<u8>,
        req_chunked: bool,
        status: u16,
        resp_body: Vec<u8>,
        resp_chunked: bool,
    }

    fn msg() -> impl Strategy<Value = Msg> {
        (
            prop::sample::select(vec!["GET", "POST", "HEAD", "PUT", "OPTIONS"]),
            "[a-z]{1,8}",
            prop::collection::vec(any::<u8>(), 0..40),
            any::<bool>(),
            prop::sample::select(vec![200u16, 204, 304, 404, 500]),
            prop::collection::vec(any::<u8>(), 0..60),
            any::<bool>(),
        )
            .prop_map(
                |(method, path, req_body, req_chunked, status, resp_body, resp_chunked)| Msg {
                    method,
                    path,
                    req_body,
                    req_chunked,
                    status,
                    resp_body,
                    resp_chunked,
                },
            )
    }

    fn body(out: &mut Vec<u8>, b: &[u8], chunked: bool) {
        if chunked {
            out.extend(b"Transfer-Encoding: chunked\r\n\r\n");
            for c in b.chunks(7) {
                out.extend(format!("{:x};e=1\r\n", c.len()).as_bytes());
                out.extend(c);
                out.extend(b"\r\n");
            }
            out.extend(b"0\r\nT: x\r\n\r\n");
        } else {
            out.extend(format!("Content-Length: {}\r\n\r\n", b.len()).as_bytes());
            out.extend(b);
        }
    }

    fn request(m: &Msg) -> Vec<u8> {
        let mut r = format!("{} /{} HTTP/1.1\r\nHost: p.test\r\n", m.method, m.path).into_bytes();
        if m.method == "GET" || m.method == "HEAD" {
            r.extend(b"\r\n");
        } else {
            body(&mut r, &m.req_body, m.req_chunked);
        }
        r
    }

    fn response(m: &Msg) -> Vec<u8> {
        let mut r = format!("HTTP/1.1 {} X\r\n", m.status).into_bytes();
        if m.method == "HEAD" || m.status == 204 || m.status == 304 {
            r.extend(b"Content-Length: 12\r\n\r\n");
        } else {
            body(&mut r, &m.resp_body, m.resp_chunked);
        }
        r
    }

    struct Seg {
        dir: usize,
        end: u32,
        ack: u32,
        frame: Frame,
    }

    /// Segments in causal order: request i, then response i (or all requests first).
    fn segments(msgs: &[Msg], sizes: &[usize], pipelined: bool) -> (Vec<Frame>, Vec<Seg>) {
        let (c, s) = ((CLIENT, 45000u16), (SERVER, 80u16));
        let (ci, si) = (7000u32, 9000u32);
        let mut ts = 1_600_000_000_000_000i64;
        let hs = vec![
            (ts, tcp4(c, s, ci, 0, SYN, b"")),
            (ts + 1, tcp4(s, c, si, ci + 1, SYN | ACK, b"")),
            (ts + 2, tcp4(c, s, ci + 1, si + 1, ACK, b"")),
        ];
        ts += 10;
        let mut off = [0u32, 0u32];
        let mut segs = Vec::new();
        let mut k = 0usize;
        let mut send = |dir: usize, data: &[u8], off: &mut [u32; 2], segs: &mut Vec<Seg>| {
            let mut rest = data;
            while !rest.is_empty() {
                let n = sizes[k % sizes.len()].min(rest.len());
                k += 1;
                let (chunk, r) = rest.split_at(n);
                rest = r;
                let (src, dst, base, peer) = if dir == 0 {
                    (c, s, ci + 1, si + 1)
                } else {
                    (s, c, si + 1, ci + 1)
                };
                let ack = off[1 - dir];
                let f = tcp4(src, dst, base + off[dir], peer + ack, ACK, chunk);
                ts += 100;
                segs.push(Seg {
                    dir,
                    end: off[dir] + n as u32,
                    ack,
                    frame: (ts, f),
                });
                off[dir] += n as u32;
            }
        };
        if pipelined {
            for m in msgs {
                send(0, &request(m), &mut off, &mut segs);
            }
            for m in msgs {
                send(1, &response(m), &mut off, &mut segs);
            }
        } else {
            for m in msgs {
                send(0, &request(m), &mut off, &mut segs);
                send(1, &response(m), &mut off, &mut segs);
            }
        }
        (hs, segs)
    }

    /// A random order that respects what each segment acknowledges, with duplicates.
    fn shuffle(segs: &[Seg], mut seed: u64, dups: usize) -> Vec<Frame> {
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut items: Vec<usize> = (0..segs.len()).collect();
        for _ in 0..dups {
            if !segs.is_empty() {
                items.push((rnd() % segs.len() as u64) as usize);
            }
        }
        let mut seen = vec![false; segs.len()];
        let mut out = Vec::new();
        while !items.is_empty() {
            let ready: Vec<usize> = (0..items.len())
                .filter(|&i| {
                    let x = &segs[items[i]];
                    segs.iter()
                        .enumerate()
                        .all(|(j, y)| y.dir == x.dir || y.end > x.ack || seen[j])
                })
                .collect();
            let pick = ready[(rnd() % ready.len() as u64) as usize];
            let idx = items.swap_remove(pick);
            seen[idx] = true;
            out.push(segs[idx].frame.clone());
        }
        out
    }

    fn opts() -> CaptureOptions {
        CaptureOptions {
            max_ooo_segments: 1 << 20,
            max_connection_buffer: 1 << 30,
            ..CaptureOptions::default()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_segmentation_and_order_gives_the_same_exchanges(
            msgs in prop::collection::vec(msg(), 1..5),
            sizes in prop::collection::vec(1usize..48, 1..8),
            pipelined in any::<bool>(),
            seed in 1u64..u64::MAX,
            dups in 0usize..6,
            hs_late in 0usize..4,
        ) {
            let (hs, segs) = segments(&msgs, &sizes, pipelined);
            let mut in_order = hs.clone();
            in_order.extend(segs.iter().map(|s| s.frame.clone()));
            let base = run_with(pcap(&in_order, 1, false, false), &opts());
            prop_assert!(base.result.is_ok());
            prop_assert_eq!(base.exchanges.len(), msgs.len());
            for (e, m) in base.exchanges.iter().zip(&msgs) {
                prop_assert_eq!(&e.request.method, m.method);
                prop_assert_eq!(e.response.as_ref().map(|r| r.status), Some(m.status));
            }
            // The handshake may come after the first data (SYN-ACK before SYN at times).
            let mut shuffled = shuffle(&segs, seed, dups);
            let at = hs_late.min(shuffled.len());
            let mut hs = hs;
            if seed % 2 == 0 {
                hs.swap(0, 1);
            }
            for (i, f) in hs.into_iter().enumerate() {
                shuffled.insert(at + i, f);
            }
            let o = run_with(pcap(&shuffled, 1, false, false), &opts());
            prop_assert!(o.result.is_ok());
            // Packet numbers and offsets name the packet that carried the first byte, which
            // moves with the order; everything else must be identical.
            let strip = |v: &[crate::model::Exchange]| {
                v.iter()
                    .map(|e| {
                        let mut e = e.clone();
                        e.loc.position = crate::model::Position::Byte(0);
                        e
                    })
                    .collect::<Vec<_>>()
            };
            prop_assert_eq!(strip(&o.exchanges), strip(&base.exchanges));
        }
    }
}

#[cfg(test)]
mod shard_tests {
    use super::decode::{decode, Decoded, LinkType};
    use super::flow_shard;
    use super::testutil::{tcp4, ACK};

    #[test]
    fn both_directions_go_to_the_same_shard() {
        let mut spread = std::collections::BTreeSet::new();
        for port in 1000..1064u16 {
            let a = tcp4(([10, 0, 0, 1], port), ([10, 0, 0, 2], 80), 1, 1, ACK, b"x");
            let b = tcp4(([10, 0, 0, 2], 80), ([10, 0, 0, 1], port), 1, 1, ACK, b"y");
            let (Decoded::Tcp(sa), Decoded::Tcp(sb)) = (
                decode(LinkType::Ethernet, &a),
                decode(LinkType::Ethernet, &b),
            ) else {
                panic!("not TCP");
            };
            assert_eq!(flow_shard(&sa, 4), flow_shard(&sb, 4));
            assert_eq!(flow_shard(&sa, 1), 0);
            spread.insert(flow_shard(&sa, 4));
        }
        assert_eq!(
            spread.len(),
            4,
            "64 flows should reach every one of 4 shards"
        );
    }
}

#[cfg(test)]
mod fuzz_regressions {
    //! Hostile inputs that once broke, or could break, an invariant: each must run to
    //! completion without a panic.

    use super::testutil::*;

    /// An interface whose `if_tsoffset` is i64::MIN and one whose packets are at the far
    /// future: times saturate instead of overflowing (wait = response time - request time).
    #[test]
    fn extreme_pcapng_time_offsets() {
        let mut c = Conv::new(40200);
        c.handshake();
        c.client(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1460);
        c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1460);
        let mut v = Vec::new();
        pcapng_shb(&mut v);
        // IDB with options: if_tsoffset (14) = i64::MIN, then opt_endofopt.
        let mut body = Vec::new();
        body.extend(1u16.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend(65535u32.to_le_bytes());
        body.extend(14u16.to_le_bytes());
        body.extend(8u16.to_le_bytes());
        body.extend(i64::MIN.to_le_bytes());
        body.extend([0u8; 4]);
        let total = (12 + body.len()) as u32;
        v.extend(1u32.to_le_bytes());
        v.extend(total.to_le_bytes());
        v.extend(&body);
        v.extend(total.to_le_bytes());
        pcapng_idb(&mut v, 1, Some(0)); // one unit per second
        for (i, (_, f)) in c.frames.iter().enumerate() {
            // Alternate interfaces: times jump between -9.2e18 and +1.8e19 µs.
            let (iface, ts) = if i % 2 == 0 { (0, 0) } else { (1, u64::MAX) };
            pcapng_epb(&mut v, iface, ts, f);
        }
        let o = run(v);
        assert!(o.result.is_ok());
        assert_eq!(o.exchanges.len(), 1);
        assert!(o.exchanges[0].timings.wait_ms.is_some_and(|w| w >= 0.0));
    }

    /// Sequence numbers that jump by about 2^31 and ACKs for data far in the future.
    #[test]
    fn sequence_jumps_and_bogus_acks() {
        let (c, s) = ((CLIENT, 40201u16), (SERVER, 80u16));
        let mut frames = Vec::new();
        let mut ts = 1_000_000;
        let mut push = |f: Vec<u8>| {
            ts += 1;
            frames.push((ts, f));
        };
        push(tcp4(c, s, 0, 0, SYN, b""));
        push(tcp4(s, c, 0x8000_0000, 1, SYN | ACK, b""));
        push(tcp4(c, s, 1, 0x8000_0001, ACK, b"GET / HTTP/1.1\r\n\r\n"));
        push(tcp4(
            c,
            s,
            0x8000_0001,
            0x0000_0001,
            ACK,
            b"GET /x HTTP/1.1\r\n\r\n",
        ));
        push(tcp4(
            s,
            c,
            0x8000_0001,
            0x7fff_ffff,
            ACK,
            b"HTTP/1.1 200 OK\r\n\r\n",
        ));
        push(tcp4(s, c, 0x0000_0001, 19, FIN | ACK, b"junk"));
        push(tcp4(c, s, 19, 0xffff_ffff, RST, b""));
        let o = run_frames(&frames);
        assert!(o.result.is_ok());
    }

    /// Every truncation point of a small valid capture: an error or a clean end, never a
    /// panic, and never more exchanges than the whole file has.
    #[test]
    fn every_prefix_of_a_capture() {
        let mut c = Conv::new(40202);
        c.handshake();
        c.client(b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n", 7);
        c.server(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            9,
        );
        c.fins();
        let whole = pcap(&c.frames, 1, false, false);
        for n in 0..whole.len() {
            let o = run(whole[..n].to_vec());
            assert!(o.exchanges.len() <= 1);
        }
    }
}
