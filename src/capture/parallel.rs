//! The parallel capture reader: one reader thread frames and decodes, `n` workers reassemble
//! and parse the connections of their shard, and the calling thread merges their exchanges
//! into exactly the stream [`super::read_capture`] produces, so `--jobs 1` and `--jobs N` print
//! the same bytes.
//!
//! # Data flow
//! - **Reader thread.** Reads the input in blocks of
//!   [`BLOCK_BYTES`] (one copy, from the kernel; none for a mapped file, whose blocks are
//!   ranges of the map) and frames the records in place. For each packet it reads just enough of the headers to find its
//!   connection (`flow_hint`: Ethernet or raw IP, IPv4 or IPv6, TCP ports; anything else is
//!   fully decoded here) and sends it to the worker [`flow_shard`] names: a symmetric hash of
//!   the 5-tuple, so both directions of a connection reach the same worker. A worker receives
//!   the block itself, shared read-only behind an `Arc`, plus the offsets of its packets; no
//!   packet is copied, and blocks are recycled once every worker is done with them. (The
//!   reader decoding every packet itself made it the pipeline's bottleneck: it now does a
//!   small fixed amount of work per packet, the workers the rest.) IP fragments and QUIC
//!   packets are the exception: the reader's own [`Decoder`] reassembles and counts them in
//!   capture order (the fragments of a datagram must meet in one place, and only the first
//!   has ports), then sends a reassembled datagram to the worker of its connection.
//! - **Workers.** Each decodes its packets and owns a [`ConnTable`] (TCP reassembly, HTTP
//!   parsing) for its connections (packets that are not TCP go to worker 0, which only
//!   counts their warnings), and returns, per block, the exchanges that finished plus a short log of the
//!   events the merge must replay (requests parsed, exchanges finished, warnings, the oldest
//!   request still open), one entry per packet or closed connection that did something.
//! - **Merge (the caller's thread).** Walks the block's packets in capture order and replays,
//!   packet by packet, what [`super::read_capture`] does after each packet: the workers'
//!   events for that packet (connection closes first, by connection id, then the packet's
//!   own processing), then the release of every exchange older than the watermark (the
//!   oldest request any worker still has open, or the packet's time) from one reorder buffer.
//!   Released exchanges go to `emit` (pairing, the CORS engine and the records follow).
//!
//! # Why the output does not depend on the number of workers
//! Connections are independent; what crosses them is replayed globally:
//! - request numbers (`seq`): the merge numbers requests in the order their heads completed
//!   (packet order, then event order within a packet), which is the single table's order;
//! - idle sweeps: the reader schedules them from the whole packet stream with the table's own
//!   rule ([`ConnTable::tick`]), and every worker sweeps at that packet (oldest connection
//!   first);
//! - the end-of-capture flush: oldest connection first, merged by connection id;
//! - the watermark and the reorder buffer (and its cap): one, in the merge;
//! - warnings: each thread counts its own for the whole run (counts reach the merge once, at
//!   the end) and hands on only the detail lines it kept, with the event they arose in, so the
//!   merge keeps the same first lines as the single table while a warning per packet costs
//!   no memory.
//!
//! The one exception is the live-connection cap: each worker enforces its share of
//! [`CaptureOptions::max_live_connections`], so when the cap is hit the connection chosen
//! for eviction can differ (the event is counted as `limit-live-connections` either way).
//!
//! Memory stays flat: at most [`QUEUE`] blocks wait per worker, and the merge holds only the
//! exchanges the reorder buffer holds anyway.

use std::collections::{HashMap, VecDeque};

/// Worker-local request numbers to global ones: small sequential keys the merge inserts and
/// removes once per request, where SipHash was most of the map's cost.
type SeqMap = HashMap<u64, u64, foldhash::fast::FixedState>;
use std::io::{self, BufRead};
use std::iter::Peekable;
use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread;

use crate::diag::{Diagnostics, Shipped, WarnKind};
use crate::input::mapped::Release;
use crate::model::loss::Loss;
use crate::model::{Exchange, Micros};

use super::decode::{self, Carried, Decoded, Decoder, LinkType};
use super::flows::{sweep_now, ConnTable, Out};
use super::frag::Datagram;
use super::reader::{Block, BlockSink, PacketReader, RawPacket, Source};
use super::tcp::{shard_hash, Endpoint, PacketMeta};
use super::{flow_shard, CaptureError, CaptureOptions, CaptureStats, Reorder};

/// Blocks queued per worker, and results queued per worker for the merge: enough to absorb
/// uneven blocks, few enough that memory stays a handful of blocks.
pub(crate) const QUEUE: usize = 4;

/// The reader's block size here: a quarter of the single-threaded reader's. Up to
/// [`QUEUE`] blocks wait per worker, so the block size sets how much input is in flight: 2 MiB
/// blocks were 14 MB of the peak RSS (419 MB capture, `--jobs 2`: 101 -> 87 MB). Time is the
/// same at 2 MiB, 1 MiB and 512 KiB (8 alternating runs each, CPU 0.85-0.87 s), once a
/// block's reads bypass the input's buffer (see `input::READ_BUFFER`).
pub(crate) const BLOCK_BYTES: usize = 512 << 10;

enum Item {
    /// A packet for the worker to decode and process: its frame is `block[at..at + len]`.
    Packet {
        meta: PacketMeta,
        link: LinkType,
        at: usize,
        len: usize,
    },
    /// An idle sweep due at this packet, before the packet itself is processed.
    Sweep(PacketMeta),
    /// A datagram the reader reassembled from fragments (its last one is `meta`), carrying
    /// a TCP segment of this worker's.
    /// Boxed: fragments are rare, and every other item would pay for its size.
    Datagram { meta: PacketMeta, dg: Box<Datagram> },
}

enum ToWorker {
    Batch { block: Arc<Block>, items: Vec<Item> },
    Finish,
}

/// What the merge needs of every packet: its number and time, whether the single-threaded
/// loop releases exchanges after it, and the reader's own warnings for it.
struct Mark {
    number: u64,
    ts: Micros,
    release: bool,
    diag: Option<Box<Diagnostics>>,
}

enum ToMerge {
    Block(Vec<Mark>),
    /// The input fell silent after the blocks before (a live input, `input::live`).
    Idle,
    /// The result, the reader's end-of-capture warnings (with details, e.g. fragments never
    /// completed) and its counts (its own and the framing's; details went with the marks).
    End(
        Result<(), CaptureError>,
        // Boxed: sent once, and the largest part of the message every block pays for.
        Box<CaptureStats>,
        Diagnostics,
        Diagnostics,
    ),
}

/// Something a worker did that the merge replays.
struct Event {
    /// The packet being processed (`u64::MAX` for the end-of-capture flush).
    packet: u64,
    /// 0: one connection closed (idle sweep, final flush), ordered by `conn`; 1: the packet's
    /// own processing.
    phase: u8,
    conn: u64,
    /// Requests whose heads completed (their worker-local `seq`s are consecutive).
    parsed: u64,
    /// Exchanges finished, taken in order from the worker's list.
    done: usize,
    /// Client bytes found lost, taken in order from the worker's list.
    lost: usize,
    /// The worker's oldest open request afterwards (worker-local `seq`).
    oldest: Option<(Micros, u64)>,
    diag: Option<Box<Diagnostics>>,
}

#[derive(Default)]
struct WorkerOut {
    events: Vec<Event>,
    exchanges: Vec<super::Finished>,
    losses: Vec<Loss>,
    /// Set on the final message, with the worker's warning counts (its detail lines went
    /// with the events where they arose).
    stats: Option<(CaptureStats, Diagnostics)>,
}

/// Reads a capture like [`super::read_capture`], with `workers` threads reassembling and
/// parsing connections (plus one reading and decoding); `emit` runs on the calling thread and
/// sees the same exchanges in the same order as with `read_capture`. `workers <= 1` is
/// `read_capture` itself.
pub fn read_capture_parallel(
    reader: Box<dyn BufRead + Send>,
    source: Arc<str>,
    opts: &CaptureOptions,
    workers: usize,
    emit: &mut dyn FnMut(Exchange),
    diag: &mut Diagnostics,
) -> Result<CaptureStats, CaptureError> {
    read_capture_parallel_from(Source::Stream(reader), source, opts, workers, emit, diag)
}

/// [`read_capture_parallel`] from either source: a mapped input's blocks are ranges of the
/// map, shared with the workers as a stream's blocks are.
pub fn read_capture_parallel_from(
    input: Source,
    source: Arc<str>,
    opts: &CaptureOptions,
    workers: usize,
    emit: &mut dyn FnMut(Exchange),
    diag: &mut Diagnostics,
) -> Result<CaptureStats, CaptureError> {
    if workers <= 1 {
        return super::read_capture_from(input, source, opts, emit, diag);
    }
    let n = workers;
    let mut packets = PacketReader::open(input, opts, BLOCK_BYTES)?.named(source.clone());
    thread::scope(|s| {
        let (to_merge, from_reader) = sync_channel::<ToMerge>(2 * QUEUE);
        let mut to_workers = Vec::with_capacity(n);
        let mut from_workers = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n + 1);
        for _ in 0..n {
            let (tx, rx) = sync_channel::<ToWorker>(QUEUE);
            let (out_tx, out_rx) = sync_channel::<WorkerOut>(QUEUE);
            let source = source.clone();
            let h = thread::Builder::new()
                .name(format!("capture-worker-{}", handles.len()))
                .spawn_scoped(s, move || worker(&rx, &out_tx, source, opts, n));
            handles.push(h);
            to_workers.push(tx);
            from_workers.push(out_rx);
        }
        let reader_source = source.clone();
        let reading = thread::Builder::new().name("capture-reader".into());
        handles.push(reading.spawn_scoped(s, move || {
            let mut d = Dispatch {
                items: (0..n).map(|_| Vec::new()).collect(),
                marks: Vec::new(),
                stats: CaptureStats::default(),
                diag: Diagnostics::new(),
                shipped: Shipped::default(),
                next_sweep: None,
                source: reader_source.clone(),
                to_workers: &to_workers,
                to_merge: &to_merge,
                inflight: VecDeque::new(),
                release: Release::default(),
                decoder: Decoder::new(reader_source, &opts.frag),
            };
            let result = packets.for_each_block(&mut d);
            for tx in &to_workers {
                let _ = tx.send(ToWorker::Finish);
            }
            let mut end = Diagnostics::new();
            d.decoder.finish(&mut end);
            let mut counts = d.diag.counts_only();
            counts.merge(packets.take_warnings());
            let _ = to_merge.send(ToMerge::End(result, Box::new(d.stats), end, counts));
        }));
        // Spawning only fails when the system is out of threads. The threads that did start
        // exit on their own once the channels of the missing ones are closed.
        if handles.iter().any(|h| h.is_err()) {
            return Err(CaptureError::Read {
                offset: 0,
                source: io::Error::other("cannot start capture threads"),
            });
        }
        let mut m = Merge {
            reorder: Reorder::of_run(opts),
            local_to_global: (0..n).map(|_| SeqMap::default()).collect(),
            next_local: vec![0; n],
            next_global: 0,
            oldest: vec![None; n],
            low: None,
            opts,
            diag,
            emit,
        };
        let result = m.run(&from_reader, &from_workers);
        // Closing our ends unblocks a reader or worker still sending (only after a failure).
        drop(from_reader);
        drop(from_workers);
        for h in handles.into_iter().flatten() {
            // A worker can only fail by a bug; its channel closing already made `run` fail.
            let _ = h.join();
        }
        result
    })
}

/// The reader thread's packet sink: decodes, shards, schedules sweeps, ships blocks.
struct Dispatch<'a> {
    items: Vec<Vec<Item>>,
    marks: Vec<Mark>,
    stats: CaptureStats,
    /// The reader's warnings: counted here for the whole run, detail lines handed to the
    /// merge with the packet they belong to (see [`Diagnostics::new_details`]).
    diag: Diagnostics,
    shipped: Shipped,
    next_sweep: Option<Micros>,
    source: Arc<str>,
    to_workers: &'a [SyncSender<ToWorker>],
    to_merge: &'a SyncSender<ToMerge>,
    /// Blocks handed out, oldest first, until every worker has dropped them.
    inflight: VecDeque<Arc<Block>>,
    /// A mapped input's pages behind the blocks every worker has dropped, given back.
    release: Release,
    /// Fragment reassembly and QUIC counting: done here, in capture order, because the
    /// fragments of a datagram (only the first has ports) must meet in one place; the
    /// reassembled datagram then goes to the worker of its connection.
    decoder: Decoder,
}

impl BlockSink for Dispatch<'_> {
    fn packet(&mut self, pkt: &RawPacket<'_>) {
        self.stats.packet(pkt.data.len(), pkt.ts);
        let meta = PacketMeta {
            number: pkt.number,
            offset: pkt.offset,
            ts: pkt.ts,
            quiet: 0,
        };
        let mut mark = Mark {
            number: pkt.number,
            ts: pkt.ts,
            release: true,
            diag: None,
        };
        let Some(link) = pkt.link else {
            // `read_capture` returns before its sweep and release steps for these.
            mark.release = false;
            let src = &self.source;
            // The same text `read_capture` writes.
            self.diag.warn(WarnKind::UnsupportedLinkType, || {
                format!(
                    "{src}: packet {} (byte {}): link type {} skipped",
                    pkt.number, pkt.offset, pkt.dlt
                )
            });
            mark.diag = self.diag.new_details(&mut self.shipped).map(Box::new);
            self.marks.push(mark);
            return;
        };
        if sweep_now(&mut self.next_sweep, pkt.ts) {
            for items in &mut self.items {
                items.push(Item::Sweep(meta));
            }
        }
        let n = self.items.len();
        // Packets that are not TCP go to worker 0, which only counts their warnings.
        let shard = match flow_hint(link, pkt.data) {
            Hint::Tcp(hash) => (hash % n as u64) as usize,
            Hint::NotTcp => 0,
            Hint::Unknown => match decode::decode(link, pkt.data) {
                Decoded::Tcp(seg) => flow_shard(&seg, n),
                // The worker decodes it again and gives it to its QUIC connection.
                Decoded::Quic(udp) => (shard_hash(&udp.src, &udp.dst) % n as u64) as usize,
                d if d.needs_state() => {
                    let mut diag = Diagnostics::new();
                    if let Some(dg) = self.decoder.settle(d, &meta, &mut diag) {
                        let shard = match dg.carried() {
                            Some(Carried::Tcp(seg)) => flow_shard(&seg, n),
                            Some(Carried::Quic(udp)) => {
                                (shard_hash(&udp.src, &udp.dst) % n as u64) as usize
                            }
                            None => 0,
                        };
                        if let Some(items) = self.items.get_mut(shard) {
                            items.push(Item::Datagram {
                                meta,
                                dg: Box::new(dg),
                            });
                        }
                    }
                    mark.diag = (!diag.is_empty()).then(|| Box::new(diag));
                    self.marks.push(mark);
                    return;
                }
                _ => 0,
            },
        };
        if let Some(items) = self.items.get_mut(shard) {
            items.push(Item::Packet {
                meta,
                link,
                at: pkt.at,
                len: pkt.data.len(),
            });
        }
        self.marks.push(mark);
    }

    fn block(&mut self, block: Block) -> Vec<u8> {
        let block = Arc::new(block);
        for (tx, items) in self.to_workers.iter().zip(self.items.iter_mut()) {
            let cap = with_slack(items.len());
            let items = std::mem::replace(items, Vec::with_capacity(cap));
            // A closed channel means the merge gave up; what is read from here on is dropped.
            let _ = tx.send(ToWorker::Batch {
                block: block.clone(),
                items,
            });
        }
        let cap = with_slack(self.marks.len());
        let marks = std::mem::replace(&mut self.marks, Vec::with_capacity(cap));
        let _ = self.to_merge.send(ToMerge::Block(marks));
        self.inflight.push_back(block);
        // Recycle the oldest block once every worker has dropped it; give back the pages of
        // every mapped range all workers are done with (in file order: a range's last page
        // may be the next one's first).
        while self
            .inflight
            .front()
            .is_some_and(|b| Arc::strong_count(b) == 1)
        {
            match self.inflight.pop_front().map(Arc::try_unwrap) {
                Some(Ok(Block::Owned(v))) => return v,
                Some(Ok(Block::Mapped { map, range })) => self.release.upto(&map, range.end),
                _ => break,
            }
        }
        Vec::new()
    }

    fn idle(&mut self) {
        let _ = self.to_merge.send(ToMerge::Idle);
    }
}

/// The capacity for the next block's list, from this block's length: a quarter more, so that
/// blocks a little fuller than the last do not regrow (and copy) the list; a regrowth of the
/// workers' exchange lists copied 3.2 M bytes of exchanges on a 39 MB capture.
fn with_slack(len: usize) -> usize {
    len + len / 4 + 4
}

/// What the reader learns of a packet from a few header bytes.
#[derive(Debug, PartialEq, Eq)]
enum Hint {
    /// If `decode` finds a TCP segment in this packet, its connection has this
    /// [`shard_hash`].
    Tcp(u64),
    /// `decode` cannot find a TCP segment in it (another protocol, an IPv4 fragment).
    NotTcp,
    /// Anything else: decode it to find out.
    Unknown,
}

/// The connection of a packet, from fixed header offsets, for the common shapes (Ethernet or
/// raw IP; IPv4, or IPv6 without extension headers; TCP). It has to agree with `decode`:
/// whenever `decode` yields a TCP segment, its endpoints are the ones found here, or the
/// answer is [`Hint::Unknown`] (a unit test checks every packet of the test captures).
fn flow_hint(link: LinkType, frame: &[u8]) -> Hint {
    let ip = match link {
        LinkType::Ethernet => match (frame.get(12..14), frame.get(14..)) {
            (Some([0x08, 0x00]), Some(ip)) | (Some([0x86, 0xdd]), Some(ip)) => ip,
            _ => return Hint::Unknown,
        },
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => frame,
        _ => return Hint::Unknown,
    };
    let byte = |i: usize| ip.get(i).copied();
    let port = |i: usize| Some(u16::from_be_bytes([byte(i)?, byte(i + 1)?]));
    let endpoints = |src: IpAddr, dst: IpAddr, tcp: usize| match (port(tcp), port(tcp + 2)) {
        (Some(sp), Some(dp)) => Hint::Tcp(shard_hash(
            &Endpoint { ip: src, port: sp },
            &Endpoint { ip: dst, port: dp },
        )),
        _ => Hint::Unknown,
    };
    match byte(0).map(|b| b >> 4) {
        Some(4) => {
            let ihl = usize::from(byte(0).unwrap_or(0) & 0x0f) * 4;
            let (Some(proto), Some(frag), Some(src), Some(dst)) =
                (byte(9), port(6), ip.get(12..16), ip.get(16..20))
            else {
                return Hint::Unknown;
            };
            if ihl < 20 || ip.len() < ihl {
                return Hint::Unknown;
            }
            // A non-atomic fragment (more fragments, or an offset), or a protocol `decode`
            // looks into (tunnels, QUIC): let `decode` and the reader's `Decoder` see it.
            if frag & 0x3fff != 0 || (proto != 6 && decode::looks_into(proto)) {
                return Hint::Unknown;
            }
            if proto != 6 {
                return Hint::NotTcp;
            }
            let (Ok(s), Ok(d)) = (<[u8; 4]>::try_from(src), <[u8; 4]>::try_from(dst)) else {
                return Hint::Unknown;
            };
            endpoints(IpAddr::from(s), IpAddr::from(d), ihl)
        }
        Some(6) => {
            let (Some(6), Some(src), Some(dst)) = (byte(6), ip.get(8..24), ip.get(24..40)) else {
                // Extension headers or another protocol: let `decode` walk them.
                return Hint::Unknown;
            };
            let (Ok(s), Ok(d)) = (<[u8; 16]>::try_from(src), <[u8; 16]>::try_from(dst)) else {
                return Hint::Unknown;
            };
            endpoints(IpAddr::from(s), IpAddr::from(d), 40)
        }
        _ => Hint::Unknown,
    }
}

/// One worker: its connection table, fed segments and sweeps in capture order.
fn worker(
    rx: &Receiver<ToWorker>,
    tx: &SyncSender<WorkerOut>,
    source: Arc<str>,
    opts: &CaptureOptions,
    workers: usize,
) {
    // Each worker holds its share of the live-connection and total-buffer caps.
    let mut w = WorkerState {
        table: ConnTable::sharded(source.clone(), opts, workers),
        stats: CaptureStats::default(),
        scratch: Diagnostics::new(),
        shipped: Shipped::default(),
    };
    // This block's list lengths size the next block's lists (`with_slack`).
    let mut sizes = (0, 0);
    while let Ok(msg) = rx.recv() {
        let mut out = WorkerOut {
            events: Vec::with_capacity(with_slack(sizes.0)),
            exchanges: Vec::with_capacity(with_slack(sizes.1)),
            losses: Vec::new(),
            stats: None,
        };
        match msg {
            ToWorker::Batch { block, items } => {
                for (i, item) in items.iter().enumerate() {
                    // The reader framed these bytes on the other core and nothing here has
                    // read them: the first read of a packet (`tcp::fingerprint`) waited for
                    // them (204 of 3,148 samples, 419 MB capture `--jobs 2`; 45 fetched ahead,
                    // CPU q1 0.66 -> 0.63 s over 25 alternating runs).
                    if let Some(Item::Packet { at, len, .. }) = items.get(i + 1) {
                        prefetch(block.get(*at..at + len).unwrap_or(&[]));
                    }
                    match item {
                        Item::Sweep(meta) => {
                            for (no, conn) in w.table.idle_at(meta.ts) {
                                w.step(&mut out, meta.number, 0, |table, o| {
                                    table.close_idle(&conn, meta, o);
                                    Some(no)
                                });
                            }
                        }
                        Item::Datagram { meta, dg } => {
                            w.step(&mut out, meta.number, 1, |table, o| {
                                match dg.carried() {
                                    Some(Carried::Tcp(seg)) => {
                                        o.stats.tcp_packets += 1;
                                        table.process(&seg, meta, o);
                                    }
                                    Some(Carried::Quic(udp)) => table.process_quic(&udp, meta, o),
                                    None => {}
                                }
                                Some(0)
                            });
                        }
                        Item::Packet {
                            meta,
                            link,
                            at,
                            len,
                        } => {
                            let frame = block.get(*at..at + len).unwrap_or(&[]);
                            w.step(&mut out, meta.number, 1, |table, o| {
                                decode_and_process(table, *link, frame, meta, &source, o);
                                Some(0)
                            });
                        }
                    }
                }
                // Let the reader recycle the block before the merge gets to it.
                drop(items);
                drop(block);
                sizes = (out.events.len(), out.exchanges.len());
                if tx.send(out).is_err() {
                    return;
                }
            }
            ToWorker::Finish => {
                while w.step(&mut out, u64::MAX, 0, |table, o| table.flush_next(o)) {}
                out.stats = Some((std::mem::take(&mut w.stats), w.scratch.counts_only()));
                let _ = tx.send(out);
                return;
            }
        }
    }
}

/// Asks the CPU to bring a frame's bytes into this core's cache while the packet before it is
/// processed (a frame is about 15 lines on average, so a line at a time).
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch is a hint that never faults and reads nothing the program sees;
        // the address is inside `bytes` anyway. SSE, which `prefetcht0` belongs to, is part of
        // every x86-64 CPU.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// A worker's state for its whole run: its connections, counts, and warnings (counts here,
/// detail lines shipped with the events they arose in, bounded however many packets warn).
struct WorkerState {
    table: ConnTable,
    stats: CaptureStats,
    scratch: Diagnostics,
    shipped: Shipped,
}

impl WorkerState {
    /// One unit of work (a sweep's close, a packet, a flush at the end): runs `f` on the
    /// table, which names the connection it acted on (`None`: nothing to do, nothing logged),
    /// then logs an event when it did something the merge must replay (warnings only when
    /// they kept a detail line: counts go to the merge once, at the end).
    fn step(
        &mut self,
        out: &mut WorkerOut,
        packet: u64,
        phase: u8,
        f: impl FnOnce(&mut ConnTable, &mut Out<'_>) -> Option<u64>,
    ) -> bool {
        let seq_before = self.table.requests_seen();
        let done_before = out.exchanges.len();
        let lost_before = out.losses.len();
        let mut o = Out {
            diag: &mut self.scratch,
            stats: &mut self.stats,
            exchanges: &mut out.exchanges,
            losses: &mut out.losses,
        };
        let Some(conn) = f(&mut self.table, &mut o) else {
            return false;
        };
        let parsed = self.table.requests_seen() - seq_before;
        let done = out.exchanges.len() - done_before;
        let lost = out.losses.len() - lost_before;
        let details = self.scratch.new_details(&mut self.shipped);
        if parsed > 0 || done > 0 || lost > 0 || details.is_some() {
            out.events.push(Event {
                packet,
                phase,
                conn,
                parsed,
                done,
                lost,
                oldest: self.table.oldest_open(),
                diag: details.map(Box::new),
            });
        }
        true
    }
}

/// What `read_capture` does with a packet after its sweep: decode, then process a TCP
/// segment or count a warning (same kinds and texts).
fn decode_and_process(
    table: &mut ConnTable,
    link: LinkType,
    frame: &[u8],
    meta: &PacketMeta,
    src: &str,
    out: &mut Out<'_>,
) {
    match decode::decode(link, frame) {
        Decoded::Tcp(seg) => {
            out.stats.tcp_packets += 1;
            table.process(&seg, meta, out);
        }
        Decoded::Quic(udp) => table.process_quic(&udp, meta, out),
        // The reader keeps fragments (`Decoder::settle`): never sent here.
        d => decode::warn(&d, src, meta, out.diag),
    }
}

/// The merge: replays the workers' events in capture order (see the module docs).
struct Merge<'a> {
    reorder: Reorder,
    /// Per worker: worker-local `seq` → global `seq`, for requests not emitted yet.
    local_to_global: Vec<SeqMap>,
    next_local: Vec<u64>,
    next_global: u64,
    /// Per worker: the oldest open request, global `seq`.
    oldest: Vec<Option<(Micros, u64)>>,
    /// The oldest of `oldest`, kept as events change it: every packet's release reads it,
    /// and only packets with events change it.
    low: Option<(Micros, u64)>,
    /// The run's options: its loss log, its silence hook ([`Reorder::on_silence`]).
    opts: &'a CaptureOptions,
    diag: &'a mut Diagnostics,
    emit: &'a mut dyn FnMut(Exchange),
}

fn stopped() -> CaptureError {
    CaptureError::Read {
        offset: 0,
        source: io::Error::other("a capture worker thread stopped"),
    }
}

impl Merge<'_> {
    fn run(
        &mut self,
        from_reader: &Receiver<ToMerge>,
        from_workers: &[Receiver<WorkerOut>],
    ) -> Result<CaptureStats, CaptureError> {
        loop {
            let (marks, end) = match from_reader.recv().map_err(|_| stopped())? {
                ToMerge::Block(marks) => (marks, None),
                // Every block before it is merged: as `read_capture` does on silence.
                ToMerge::Idle => {
                    self.reorder.on_silence(self.opts, self.emit);
                    continue;
                }
                // The end-of-capture flush: everything at "packet" u64::MAX, no release.
                ToMerge::End(result, stats, last, counts) => (
                    vec![Mark {
                        number: u64::MAX,
                        ts: Micros::MAX,
                        release: false,
                        diag: (!last.is_empty()).then(|| Box::new(last)),
                    }],
                    Some((result, *stats, counts)),
                ),
            };
            let mut outs = Vec::with_capacity(from_workers.len());
            for rx in from_workers {
                outs.push(rx.recv().map_err(|_| stopped())?);
            }
            let mut stats = end.as_ref().map(|(_, s, _)| s.clone());
            let mut counts = Diagnostics::new();
            if let Some(total) = &mut stats {
                for o in &mut outs {
                    if let Some((w, c)) = o.stats.take() {
                        counts.merge(c);
                        // A worker counts no packets or bytes (the reader's dispatch does).
                        total.add(&w);
                    }
                }
            }
            self.block(marks, outs);
            if let Some((result, _, reader_counts)) = end {
                self.reorder.drain(self.emit);
                // After everything, as `read_capture` merges the framing's warnings last.
                self.diag.merge(counts);
                self.diag.merge(reader_counts);
                return result.map(|()| stats.unwrap_or_default());
            }
        }
    }

    /// Replays one block: per packet, its events (closes by connection id, then processing),
    /// then the release.
    fn block(&mut self, marks: Vec<Mark>, outs: Vec<WorkerOut>) {
        let mut events: Vec<Peekable<std::vec::IntoIter<Event>>> = Vec::with_capacity(outs.len());
        let mut exchanges = Vec::with_capacity(outs.len());
        let mut losses = Vec::with_capacity(outs.len());
        for o in outs {
            events.push(o.events.into_iter().peekable());
            exchanges.push(o.exchanges.into_iter());
            losses.push(o.losses.into_iter());
        }
        // The lowest packet number any worker's next event is for: the marks before it have
        // no events, and skip the search (an event left behind by its mark, which would be a
        // bug, keeps every mark searching, as before).
        let next_packet = |events: &mut Vec<Peekable<std::vec::IntoIter<Event>>>| {
            events
                .iter_mut()
                .filter_map(|ev| ev.peek().map(|e| e.packet))
                .min()
                .unwrap_or(u64::MAX)
        };
        let mut next = next_packet(&mut events);
        for m in marks {
            if let Some(d) = m.diag {
                self.diag.merge(*d);
            }
            while next <= m.number {
                let mut best: Option<(u8, u64, usize)> = None;
                for (w, ev) in events.iter_mut().enumerate() {
                    if let Some(e) = ev.peek().filter(|e| e.packet == m.number) {
                        let k = (e.phase, e.conn, w);
                        if best.is_none_or(|b| k < b) {
                            best = Some(k);
                        }
                    }
                }
                let Some((_, _, w)) = best else {
                    break;
                };
                if let (Some(e), Some(xs), Some(ls)) = (
                    events.get_mut(w).and_then(Iterator::next),
                    exchanges.get_mut(w),
                    losses.get_mut(w),
                ) {
                    self.apply(w, e, xs, ls);
                }
                next = next_packet(&mut events);
            }
            if m.release {
                let at = (m.ts, u64::MAX);
                let watermark = self.low.map_or(at, |low| low.min(at));
                self.reorder.release(watermark, self.emit);
            }
        }
        // Every event belongs to a packet of its block; anything else would be a bug, and is
        // still replayed rather than lost.
        for (w, ((ev, xs), ls)) in events
            .iter_mut()
            .zip(exchanges.iter_mut())
            .zip(losses.iter_mut())
            .enumerate()
        {
            for e in ev.by_ref() {
                self.apply(w, e, xs, ls);
            }
        }
    }

    fn apply(
        &mut self,
        w: usize,
        e: Event,
        xs: &mut impl Iterator<Item = super::Finished>,
        ls: &mut impl Iterator<Item = Loss>,
    ) {
        let (Some(map), Some(next_local)) =
            (self.local_to_global.get_mut(w), self.next_local.get_mut(w))
        else {
            return;
        };
        for _ in 0..e.parsed {
            map.insert(*next_local, self.next_global);
            *next_local += 1;
            self.next_global += 1;
        }
        if let Some(d) = e.diag {
            self.diag.merge(*d);
        }
        // Before this event's exchanges can move pairing on, as `read_capture` does.
        if e.lost > 0 {
            self.opts.losses.record(ls.take(e.lost));
        }
        for (t, mut ex) in xs.take(e.done) {
            // Every finished request was parsed (and mapped) first.
            ex.seq = map.remove(&ex.seq).unwrap_or(ex.seq);
            self.reorder.push((t, ex), self.diag, self.emit);
        }
        if let Some(o) = self.oldest.get_mut(w) {
            *o = e
                .oldest
                .map(|(t, local)| (t, map.get(&local).copied().unwrap_or(u64::MAX)));
            self.low = self.oldest.iter().flatten().min().copied();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testutil::*;
    use std::io::Cursor;

    const CLIENT_EP: ([u8; 4], u16) = (CLIENT, 41999);
    const SERVER_EP: ([u8; 4], u16) = (SERVER, 80);

    struct Run {
        exchanges: Vec<Exchange>,
        diag: Diagnostics,
        result: Result<CaptureStats, String>,
    }

    fn run_n(bytes: &[u8], opts: &CaptureOptions, n: usize) -> Run {
        let mut exchanges = Vec::new();
        let mut diag = Diagnostics::new();
        let result = read_capture_parallel(
            Box::new(Cursor::new(bytes.to_vec())),
            Arc::from("t.pcap"),
            opts,
            n,
            &mut |e| exchanges.push(e),
            &mut diag,
        )
        .map_err(|e| e.to_string());
        Run {
            exchanges,
            diag,
            result,
        }
    }

    /// Exchanges, result, warning counts and kept details are the same for 1..=4 workers.
    fn assert_same(bytes: &[u8], opts: &CaptureOptions) {
        let base = run_n(bytes, opts, 1);
        for n in 2..=4 {
            let o = run_n(bytes, opts, n);
            assert_eq!(o.exchanges, base.exchanges, "{n} workers");
            assert_eq!(
                format!("{:?}", o.result),
                format!("{:?}", base.result),
                "{n} workers"
            );
            assert_eq!(
                format!("{:?}", o.diag),
                format!("{:?}", base.diag),
                "{n} workers"
            );
        }
    }

    #[test]
    fn synthetic_capture_is_the_same_with_any_worker_count() {
        let spec = crate::synth::PcapSpec {
            target_bytes: 3_000_000,
            concurrent: 64,
            ..crate::synth::PcapSpec::default()
        };
        let mut bytes = Vec::new();
        let counts = crate::synth::write_pcap(&mut bytes, &spec).unwrap();
        assert_same(&bytes, &CaptureOptions::default());
        let base = run_n(&bytes, &CaptureOptions::default(), 1);
        assert_eq!(base.exchanges.len() as u64, counts.requests);
        // Small limits: reorder cap, pending cap, head limits reached on every worker.
        let tight = CaptureOptions {
            max_reorder_exchanges: 3,
            max_pending_requests: 2,
            max_head_bytes: 700,
            idle_timeout_secs: 0,
            ..CaptureOptions::default()
        };
        assert_same(&bytes, &tight);
        // Cut short: the error comes after the same exchanges.
        assert_same(&bytes[..bytes.len() / 2 + 7], &CaptureOptions::default());
    }

    /// The reader's shortcut agrees with `decode` on every packet of the test captures: a
    /// TCP segment's connection is the one the hint names (or the hint defers to `decode`),
    /// and a packet hinted as not TCP is not decoded as TCP.
    #[test]
    fn flow_hint_agrees_with_decode() {
        use super::super::reader::PacketReader;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/captures");
        let mut checked = 0u64;
        let mut hinted = 0u64;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let bytes = if path.extension().is_some_and(|x| x == "gz") {
                let mut v = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                    &mut v,
                )
                .unwrap();
                v
            } else {
                bytes
            };
            let opts = CaptureOptions {
                skip_unknown_link_types: true,
                ..CaptureOptions::default()
            };
            let Ok(mut r) = PacketReader::new(Cursor::new(bytes), &opts) else {
                continue;
            };
            let _ = r.for_each(|p| {
                let Some(link) = p.link else { return };
                checked += 1;
                let hint = flow_hint(link, p.data);
                match (decode::decode(link, p.data), &hint) {
                    (Decoded::Tcp(seg), Hint::Tcp(k)) => {
                        hinted += 1;
                        assert_eq!(shard_hash(&seg.src, &seg.dst), *k, "{}", path.display());
                    }
                    (Decoded::Tcp(_), Hint::NotTcp) => {
                        panic!("{}: packet {} is TCP", path.display(), p.number)
                    }
                    (d, Hint::NotTcp) if d.needs_state() => {
                        panic!("{}: packet {} needs the reader", path.display(), p.number)
                    }
                    _ => {}
                }
            });
        }
        assert!(
            checked > 5_000 && hinted > checked / 2,
            "{checked} {hinted}"
        );
    }

    /// Fragments and what a tunnel or QUIC may hide are left to `decode` and the reader.
    #[test]
    fn flow_hint_defers_fragments_and_tunnels() {
        use super::super::encap_tests::{fragments4, gre, quic, vxlan};
        let f = tcp4((CLIENT, 1), (SERVER, 80), 1, 1, ACK, &[b'x'; 64]);
        for frame in [
            fragments4(&f, &[24], 9)[1].clone(),
            vxlan(&f, 4789),
            gre(0, 0x6558, &f),
            quic(1, 443, true, true),
        ] {
            assert_eq!(flow_hint(LinkType::Ethernet, &frame), Hint::Unknown);
        }
    }

    /// Inputs where many packets warn: the same counts and kept detail lines with any worker
    /// count (detail lines travel to the merge only while a worker's kind has room left).
    #[test]
    fn warnings_are_the_same_with_any_worker_count() {
        let mut frames = Vec::new();
        for (i, port) in (41100u16..41130).enumerate() {
            let mut c = Conv::new(port);
            c.ts += i as i64 * 500;
            c.handshake();
            c.client(b"GET /w HTTP/1.1\r\nHost: h\r\n\r\n", 1460);
            c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1460);
            frames.extend(c.frames);
            // Warnings: an empty frame and a frame cut inside its TCP header.
            frames.push((c.ts + 1, Vec::new()));
            let mut cut = tcp4(CLIENT_EP, SERVER_EP, 1, 1, ACK, b"");
            cut.truncate(40);
            frames.push((c.ts + 2, cut));
        }
        frames.sort_by_key(|f| f.0);
        let bytes = pcap(&frames, 1, false, false);
        assert_same(&bytes, &CaptureOptions::default());
        let o = run_n(&bytes, &CaptureOptions::default(), 3);
        assert_eq!(o.diag.count(WarnKind::TruncatedPacket), 60);
        assert_eq!(
            o.diag.details(WarnKind::TruncatedPacket).len(),
            crate::diag::MAX_DETAILS_PER_KIND
        );
    }

    /// Warnings of the end-of-capture flush name the connection's last packet (they said
    /// "packet 0 (byte 0)"), the same with any worker count.
    #[test]
    fn flush_warnings_name_the_connections_last_packet() {
        let mut c = Conv::new(41200);
        c.handshake();
        c.client(b"GET /f HTTP/1.1\r\nHost: h\r\n\r\n", 1460);
        c.server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
            1460,
        );
        let bytes = pcap(&c.frames, 1, false, false);
        let last = c.frames.len();
        let offset = bytes.len() - 16 - c.frames[last - 1].1.len();
        assert_same(&bytes, &CaptureOptions::default());
        let o = run_n(&bytes, &CaptureOptions::default(), 2);
        let d = o.diag.details(WarnKind::HttpTruncatedBody);
        assert_eq!(
            d,
            [format!(
                "t.pcap: packet {last} (byte {offset}): connection ended inside a message body"
            )]
        );
    }

    /// Limit warnings name the file and packet and quote the flag's value (and the share of
    /// it each worker holds).
    #[test]
    fn limit_warnings_quote_the_flag() {
        let mut frames = Vec::new();
        for (i, port) in (41300u16..41308).enumerate() {
            let mut c = Conv::new(port);
            c.ts += i as i64 * 1000;
            c.handshake();
            c.client(b"GET /l HTTP/1.1\r\nHost: h\r\n", 1460);
            frames.extend(c.frames);
        }
        frames.sort_by_key(|f| f.0);
        let bytes = pcap(&frames, 1, false, false);
        let opts = CaptureOptions {
            max_live_connections: 2,
            ..CaptureOptions::default()
        };
        for (n, share) in [(1, ""), (2, "; 1 per capture worker")] {
            let o = run_n(&bytes, &opts, n);
            let d = o.diag.details(WarnKind::LimitLiveConnections);
            assert!(!d.is_empty(), "{n} workers");
            for line in d {
                assert!(line.starts_with("t.pcap: packet "), "{line}");
                assert!(
                    line.contains(&format!(
                        "more than 2 live connections (--max-connections{share}): connection "
                    )),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn idle_sweeps_and_out_of_order_connections() {
        // Three connections, one idle for longer than the timeout between its requests.
        let mut frames = Vec::new();
        for (i, port) in [41000u16, 41001, 41002].into_iter().enumerate() {
            let mut c = Conv::new(port);
            c.ts += i as i64 * 1000;
            c.handshake();
            c.client(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 1460);
            if port == 41001 {
                c.ts += 400_000_000;
            }
            c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1460);
            c.client(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n", 1460);
            frames.extend(c.frames);
        }
        frames.sort_by_key(|f| f.0);
        let bytes = pcap(&frames, 1, false, false);
        assert_same(&bytes, &CaptureOptions::default());
        let o = run_n(&bytes, &CaptureOptions::default(), 3);
        assert!(o.diag.count(WarnKind::TcpIdleFlush) > 0);
    }
}
