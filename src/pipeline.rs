//! The analysis pipeline for one input: reader (HAR or capture) → pairing → resolution (per
//! browser, with the preflight caches) → records, pushed to the caller as they become final.
//!
//! # Threads
//! With one thread (`capture_workers == 1`, as `--jobs 1` sets) every step runs on the
//! caller's thread, in batches of [`BATCH`] flows. With more, three stages overlap, joined by
//! short queues (memory stays a few batches):
//! - reading and pairing, on a thread of its own (for captures this thread runs the merge of
//!   the parallel capture reader, whose own threads read, decode and reassemble);
//! - resolution, on a thread of its own: it is sequential and stateful (the preflight caches
//!   see the flows in time order) and the largest single step, so nothing else shares it;
//! - output, on the caller's thread (`out` stays there).
//!
//! Records (and, for an NDJSON sink, their lines) are built right after each flow is resolved,
//! in the same rayon job, so they are built in parallel too and the caller's thread only
//! writes them: once the input is read, the flows pairing still holds (its horizon, seconds of
//! input time) are decided with nothing else to overlap, and the caller's thread building
//! every record was then the longest stage. Every flow is resolved in the same order either
//! way, so the records are the same, in the same order, whatever the number of threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::input::live::{Activity, STOP_POLL};

use crate::capture::{self, CaptureError, CaptureOptions, CaptureStats, Resume};
use crate::cors::resolve::{Resolution, Resolver};
use crate::cors::Browser;
use crate::diag::{Diagnostics, WarnKind};
use crate::input::har::{self, HarError, HarMeta, HarOptions};
use crate::input::{self, Format, InputError};
use crate::model::loss::LossLog;
use crate::model::{Exchange, Micros};
use crate::pairing::{Flow, Pairer, PairingOptions};
use crate::report::Record;
use rayon::prelude::*;

// A capture reader's block reads bypass the input's `BufReader` only when they are at least as
// large as its buffer (see `input::READ_BUFFER`): else every byte is copied twice.
const _: () = assert!(
    capture::parallel::BLOCK_BYTES >= 2 * input::READ_BUFFER
        && capture::reader::BLOCK_BYTES >= 2 * input::READ_BUFFER
);

/// Flows decided per batch before records are built in parallel.
pub(crate) const BATCH: usize = 512;
/// Batches of flows queued between the reading thread and the deciding one.
const QUEUE: usize = 2;
/// Seconds a live input may be silent before what pairing holds is decided
/// ([`Options::idle_flush`]).
pub(crate) const IDLE_FLUSH_SECS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("HAR: {0}")]
    Har(#[from] HarError),
    #[error("capture: {0}")]
    Capture(#[from] CaptureError),
}

#[derive(Clone, Debug)]
pub struct Options {
    pub har: HarOptions,
    pub capture: CaptureOptions,
    pub pairing: PairingOptions,
    /// List same-origin and no-cors requests too (verdict `not-cors`).
    pub all: bool,
    /// Attach each record's flow and resolution (`Record::flow`) for the endpoint report.
    pub attach_flows: bool,
    /// Threads that reassemble and parse a capture's connections (plus one that reads and
    /// decodes); 0: one per thread of the rayon pool. The output does not depend on it.
    pub capture_workers: usize,
    /// Leading bytes searched for the input's format (`--detect-window`).
    pub detect_window: usize,
    /// Map a regular, uncompressed capture file instead of reading it (`--no-mmap` clears
    /// it): the capture reader then frames records in place, without `read`'s copy.
    pub mmap: bool,
    /// Set (by SIGINT/SIGTERM, or a closed output) to end the inputs as if they ended there:
    /// readers see the end of their input, and what was read is decided and reported.
    pub stop: Arc<AtomicBool>,
    /// Hand every flow on as soon as it is decided instead of in batches of [`BATCH`] (live
    /// input: a pipe or a terminal, where records should appear as traffic arrives).
    pub live: bool,
    /// A live input silent (no bytes arriving) for this long has what pairing holds decided
    /// as at the end of the input (preflights waiting for their request, requests waiting
    /// for redirect hops), and reading goes on. Browsers send the request right after the
    /// preflight's answer, so seconds of silence mean it is not coming. Zero: never.
    pub idle_flush: Duration,
    /// Preflight-cache entries kept over all clients and browsers (`--max-cached-preflights`),
    /// shared out evenly between the resolver shards.
    pub max_cached_preflights: usize,
    /// Write each record's NDJSON line ([`Record::ndjson`]) as the record is built where that
    /// is off the output's thread (the resolving thread, rayon's workers): the records go to
    /// an NDJSON sink. On the output's thread the sink writes the line into its own buffer
    /// (a line made there was one more allocation and copy a record).
    pub ndjson_lines: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            har: HarOptions::default(),
            capture: CaptureOptions::default(),
            pairing: PairingOptions::default(),
            all: false,
            capture_workers: 0,
            detect_window: input::DETECT_WINDOW,
            mmap: true,
            stop: Arc::new(AtomicBool::new(false)),
            attach_flows: false,
            live: false,
            idle_flush: Duration::from_secs(IDLE_FLUSH_SECS),
            max_cached_preflights: crate::cors::resolve::MAX_CACHED_PREFLIGHTS,
            ndjson_lines: false,
        }
    }
}

impl Options {
    /// Flows or exchanges handed between stages at once.
    fn batch(&self) -> usize {
        if self.live {
            1
        } else {
            BATCH
        }
    }
}

/// What was read, for the summary.
#[derive(Debug, Default)]
pub struct InputReport {
    pub name: String,
    pub format: Option<Format>,
    pub har: Option<HarMeta>,
    pub capture: Option<CaptureStats>,
    pub exchanges: u64,
    pub flows: u64,
    pub diagnostics: Diagnostics,
    /// The browser that made the input (HAR metadata or User-Agent), if known.
    pub recorded_by: Option<Browser>,
    /// The error that stopped reading, after everything before it was analysed.
    pub error: Option<AnalyzeError>,
    /// Reading was ended early by [`Options::stop`] (a signal or a closed output).
    pub stopped: bool,
    /// The decoding between the file's bytes and those read ([`input::Input::decoding`],
    /// set by [`analyze_input`]): byte offsets in `error` count the decoded bytes.
    pub decoding: Option<String>,
}

impl InputReport {
    /// The reading error as printed. Where the input was decoded (decompressed, UTF-16) it
    /// says its byte offsets count the decoded bytes, since a reader would look for a file
    /// offset; a decompression error names both offsets itself.
    pub fn error_text(&self) -> Option<String> {
        let e = self.error.as_ref()?;
        let io = match e {
            AnalyzeError::Har(HarError::Io { source, .. }) => Some(source),
            AnalyzeError::Capture(CaptureError::Read { source, .. }) => Some(source),
            _ => None,
        };
        let own_offsets = io
            .and_then(|s| s.get_ref())
            .is_some_and(|s| s.is::<input::compressed::DecodeError>());
        Some(match (&self.decoding, e) {
            (Some(d), AnalyzeError::Har(_) | AnalyzeError::Capture(_)) if !own_offsets => {
                format!("{e} (byte offsets count the bytes after {d})")
            }
            _ => e.to_string(),
        })
    }
}

/// The stateful half of deciding: resolution in flow order per client (the preflight caches).
/// Clients are independent browsers, so flows are sharded by client over rayon, each shard
/// with its own `Resolver`. The shard count is fixed, not the thread count: each shard keeps
/// its share of the preflight-cache budget, and which entries that drops must not depend on
/// `--jobs`.
struct Resolving {
    shards: Vec<Resolver>,
    /// Whether rayon has more than one thread: with one, a batch is resolved on the calling
    /// thread, as everything else is; handing it to the pool's only thread made every flow
    /// and record cross threads (mimalloc's cross-thread frees) for no overlap.
    parallel: bool,
    flows: u64,
    recorded_by: Option<Browser>,
}

/// Below this many flows a batch is resolved on the calling thread.
const PARALLEL_RESOLVE_MIN: usize = 64;

/// Resolver shards (clients hashed over them), whatever the thread count.
const RESOLVE_SHARDS: usize = 8;

/// The smallest `--max-cached-preflights`: every resolver shard keeps at least one client's
/// caches full ([`crate::cors::resolve::MIN_CACHE_BUDGET`]).
pub(crate) const MIN_CACHED_PREFLIGHTS: usize =
    RESOLVE_SHARDS * crate::cors::resolve::MIN_CACHE_BUDGET;
// A batch names each flow's shard in a byte (`Decided::Sharded`).
const _: () = assert!(RESOLVE_SHARDS <= 1 << 8);

fn shard_of(client: &str, n: usize) -> usize {
    // Stable across runs and platforms.
    (crate::fnv::fnv1a(client.as_bytes()) % n.max(1) as u64) as usize
}

impl Resolving {
    fn new(opts: &Options) -> Self {
        Resolving {
            shards: (0..RESOLVE_SHARDS)
                .map(|_| Resolver::one_of(RESOLVE_SHARDS, opts.max_cached_preflights))
                .collect(),
            parallel: rayon::current_num_threads() > 1,
            flows: 0,
            recorded_by: None,
        }
    }

    /// Resolves a batch and hands its records to `out` (in flow order; flows that make none
    /// are left out).
    fn resolve(&mut self, opts: &Options, batch: Vec<Flow>, out: &mut dyn FnMut(Record)) {
        if self.parallel && batch.len() >= PARALLEL_RESOLVE_MIN {
            return self.decide(opts, batch, false).output(opts, out);
        }
        // One thread: each flow in batch order through its client's shard, which sees its
        // flows in the same order as when the batch is split by shard, and its record goes
        // out at once (no per-shard lists, no slots: a record is 488 bytes to move).
        self.flows += batch.len() as u64;
        if self.recorded_by.is_none() {
            self.recorded_by = batch.first().map(recorder_of);
        }
        let n = self.shards.len();
        for flow in batch {
            let Some(resolver) = self.shards.get_mut(shard_of(&flow.client, n)) else {
                continue;
            };
            let res = resolve_flow(resolver, &flow);
            if let Some(record) = record_of(opts, flow, res, false) {
                out(record);
            }
        }
    }

    /// Resolves a batch. Its records are built here, in the jobs that resolve its shards, unless
    /// `defer` and the batch is one client's (a HAR, a capture of one browser): resolution
    /// is then one sequence on this thread and the records are left to the receiving thread,
    /// which builds them while this one resolves the next batch.
    fn decide(&mut self, opts: &Options, batch: Vec<Flow>, defer: bool) -> Decided {
        self.flows += batch.len() as u64;
        let n = self.shards.len();
        let mut per: Vec<Vec<Flow>> = (0..n).map(|_| Vec::new()).collect();
        let mut order = Vec::with_capacity(batch.len());
        if self.recorded_by.is_none() {
            self.recorded_by = batch.first().map(recorder_of);
        }
        for flow in batch {
            let s = shard_of(&flow.client, n);
            order.push(s as u8);
            per[s].push(flow);
        }
        let busy = per.iter().filter(|p| !p.is_empty()).count();
        let threaded = self.parallel && order.len() >= PARALLEL_RESOLVE_MIN && busy >= 2;
        // The lines are written here only off the output's thread: the resolving one
        // (`defer`: the pipeline) or rayon's.
        let lines = opts.ndjson_lines && (defer || threaded);
        // Each flow's browser is found in its shard's job (a header scan per flow), not here
        // on the thread that hands the batches out.
        let work = |(s, resolver, flows): (usize, &mut Resolver, Vec<Flow>)| {
            let records = flows
                .into_iter()
                .map(|flow| {
                    let res = resolve_flow(resolver, &flow);
                    record_of(opts, flow, res, lines)
                })
                .collect::<Vec<_>>();
            (s, records)
        };
        if defer && busy == 1 {
            let mut resolved = Vec::with_capacity(order.len());
            for (resolver, flows) in self.shards.iter_mut().zip(per) {
                resolved.extend(flows.into_iter().map(|flow| {
                    let res = resolve_flow(resolver, &flow);
                    (flow, res)
                }));
            }
            return Decided::Resolved(resolved);
        }
        let jobs = self
            .shards
            .iter_mut()
            .zip(per)
            .enumerate()
            .map(|(s, (resolver, flows))| (s, resolver, flows));
        let done: Vec<(usize, Vec<Option<Record>>)> = if !threaded {
            jobs.map(work).collect()
        } else {
            // Largest shard first, one shard per job: the batch ends when its last shard
            // does, and split by index the threads' halves were as uneven as the clients.
            let mut jobs: Vec<_> = jobs.collect();
            jobs.sort_by_key(|(_, _, flows)| std::cmp::Reverse(flows.len()));
            jobs.into_par_iter().with_max_len(1).map(work).collect()
        };
        let mut shards: Vec<Vec<Option<Record>>> = (0..n).map(|_| Vec::new()).collect();
        for (s, records) in done {
            shards[s] = records;
        }
        // The records stay in their shards' lists and are put back in batch order as they
        // are handed out (`Decided::output`): a record is 488 bytes to move, and gathering
        // them here, between two batches' jobs, kept rayon's threads waiting.
        Decided::Sharded { order, shards }
    }

    /// Frees the shards' caches and evidence on the pool that built them, one shard per
    /// worker: on the caller's thread, every block was freed across threads, one after
    /// another, after the last record (a few percent of a two-thread run, all of it wall time).
    fn retire(self) {
        if self.parallel {
            self.shards.into_par_iter().with_max_len(1).for_each(drop);
        }
    }
}

/// A resolved batch: its records in their shards' lists with each flow's shard in batch
/// order, or its flows with their resolutions and the records still to build
/// ([`Resolving::decide`]).
enum Decided {
    Sharded {
        order: Vec<u8>,
        shards: Vec<Vec<Option<Record>>>,
    },
    Resolved(Vec<(Flow, Resolution)>),
}

impl Decided {
    /// Hands the batch's records to `out` in flow order (flows that make none are left out).
    fn output(self, opts: &Options, out: &mut dyn FnMut(Record)) {
        match self {
            Decided::Sharded { order, shards } => {
                // Each shard's list is in batch order, so the next record of a flow's shard is
                // that flow's.
                let mut shards: Vec<_> = shards.into_iter().map(Vec::into_iter).collect();
                for s in order {
                    if let Some(Some(record)) =
                        shards.get_mut(usize::from(s)).and_then(Iterator::next)
                    {
                        out(record);
                    }
                }
            }
            Decided::Resolved(resolved) => {
                for (flow, res) in resolved {
                    // On the output's thread: the sink writes the line itself.
                    if let Some(record) = record_of(opts, flow, res, false) {
                        out(record);
                    }
                }
            }
        }
    }
}

/// The browser that made a flow: HAR evidence, else the request's fingerprint or its
/// preflight's (`fingerprint::identify`), else Chromium.
fn recorder_of(flow: &Flow) -> Browser {
    recorder_identified(flow).0
}

/// Resolves `flow` as made by [`recorder_of`]'s browser, passing on the request's fingerprint
/// (the resolver asks the same of the same headers).
fn resolve_flow(resolver: &mut Resolver, flow: &Flow) -> Resolution {
    let (recorder, identified) = recorder_identified(flow);
    resolver.resolve_identified(flow, recorder, identified)
}

/// [`recorder_of`], and `fingerprint::identify` of the flow's client headers
/// (`cors::resolve::client_headers`) where it was asked.
fn recorder_identified(flow: &Flow) -> (Browser, Option<crate::fingerprint::Client>) {
    use crate::fingerprint::{identify, Client};
    let engine = |h: &crate::model::Headers| match identify(h) {
        Client::Browser(b) => Some(b),
        _ => None,
    };
    let first = &flow.first().exchange;
    if let Some(b) = first.evidence.browser.and_then(|b| b.parse().ok()) {
        return (b, None);
    }
    let request = identify(&first.request.headers);
    let is_client = std::ptr::eq(
        crate::cors::resolve::client_headers(flow),
        &first.request.headers,
    );
    let recorder = match request {
        Client::Browser(b) => Some(b),
        _ => None,
    }
    .or_else(|| {
        flow.first()
            .preflight
            .as_ref()
            .and_then(|p| engine(&p.request.headers))
    })
    .unwrap_or(Browser::Chromium);
    (recorder, is_client.then_some(request))
}

/// The stateless half: the flow's record (messages, fixes, and its NDJSON line when `line`),
/// or `None` when it is not reported.
fn record_of(opts: &Options, mut flow: Flow, mut res: Resolution, line: bool) -> Option<Record> {
    // Decided from the verdicts alone: a flow not reported builds no record.
    if !(opts.all || crate::report::is_cross_origin_cors(&res)) {
        return None;
    }
    let mut r = if opts.attach_flows {
        let mut r = Record::new(&flow, &res);
        r.flow = Some(crate::report::summary::FlowRef(Arc::new((flow, res))));
        r
    } else {
        Record::from_taken(&mut flow, &mut res)
    };
    if line {
        r.ndjson = Some(r.ndjson_line());
    }
    Some(r)
}

/// What reading an input produced besides its flows.
#[derive(Default)]
struct ReadOutcome {
    har: Option<HarMeta>,
    capture: Option<CaptureStats>,
    error: Option<AnalyzeError>,
    exchanges: u64,
    diag: Diagnostics,
}

/// Pairing, batched: exchanges in, flows out in batches of [`BATCH`] (for a live input,
/// every flow as soon as pairing decides it).
struct Pairing {
    pairer: Pairer,
    batch: Vec<Flow>,
    size: usize,
}

impl Pairing {
    /// A HAR is finite and read in time order: it is paired with the browsers' own windows
    /// (`PairingOptions::for_time_ordered`), not the streaming ones.
    fn new(opts: &Options, format: Format, live: bool) -> Self {
        let pairing = if format == Format::Har {
            opts.pairing.for_time_ordered()
        } else {
            opts.pairing.clone()
        };
        Pairing {
            pairer: Pairer::new(pairing),
            batch: Vec::with_capacity(if live { 1 } else { opts.batch() }),
            size: if live { 1 } else { opts.batch() },
        }
    }

    fn push(&mut self, x: Exchange, send: &mut dyn FnMut(Vec<Flow>)) {
        let batch = &mut self.batch;
        self.pairer.push(x, &mut |f| batch.push(f));
        if self.batch.len() >= self.size {
            send(std::mem::replace(
                &mut self.batch,
                Vec::with_capacity(self.size),
            ));
        }
    }

    /// Decides everything pairing holds, as at the end of the input; what arrives later is
    /// paired on its own (the idle flush of a live input). The flows are handed over in
    /// batches too, or the whole window's flows, verdicts and records would all exist at once.
    fn flush(&mut self, send: &mut dyn FnMut(Vec<Flow>)) {
        let Pairing {
            pairer,
            batch,
            size,
        } = self;
        pairer.finish(&mut |f| {
            batch.push(f);
            if batch.len() >= *size {
                send(std::mem::replace(batch, Vec::with_capacity(*size)));
            }
        });
        if !self.batch.is_empty() {
            send(std::mem::take(&mut self.batch));
        }
    }

    /// Decides what is left and returns pairing's diagnostics.
    fn finish(mut self, send: &mut dyn FnMut(Vec<Flow>)) -> Diagnostics {
        self.flush(send);
        self.pairer.take_diagnostics()
    }
}

/// Reads the input, passing every exchange to `emit` in order.
fn produce(
    input: input::Input,
    opts: &Options,
    workers: usize,
    emit: &mut dyn FnMut(Exchange),
) -> ReadOutcome {
    let name: Arc<str> = input.name.clone();
    let under = input.warnings.clone();
    let mut r = ReadOutcome::default();
    let mut exchanges = 0u64;
    let mut newest = Micros::MIN;
    let mut count = |x: Exchange| {
        exchanges += 1;
        newest = newest.max(x.time);
        emit(x);
    };
    match input.format {
        Format::Har => {
            match har::read_har_with_workers(
                input.reader,
                name,
                &opts.har,
                workers,
                &mut count,
                &mut r.diag,
            ) {
                Ok(meta) => r.har = Some(meta),
                Err(e) => {
                    // An export cut off may have held a preflight's request past the cut.
                    opts.capture.losses.cut(newest);
                    r.error = Some(e.into());
                }
            }
        }
        Format::Pcap | Format::PcapNg => {
            let bytes = match input.mapped {
                Some((map, file)) => capture::reader::Source::Mapped {
                    map,
                    file,
                    stop: opts.stop.clone(),
                },
                None => capture::reader::Source::Stream(input.reader),
            };
            match capture::parallel::read_capture_parallel_from(
                bytes,
                name,
                &opts.capture,
                // Every thread of the run, also beside resolution (rayon's threads): on two
                // cores the reader alone on the reading thread left the second core idle for
                // the first third of a capture (the time-order buffer and pairing hold its
                // first seconds before the first flow is decided) and made reading the
                // longest stage after it (419 MB
                // capture, `--jobs 2`, 12 interleaved runs: wall 0.44 -> 0.35 s; 1 GB: 0.89
                // -> 0.80 s; 119 MB: 0.13 -> 0.10 s; peak RSS 72 -> 76 MB).
                workers,
                &mut count,
                &mut r.diag,
            ) {
                Ok(stats) => {
                    // A request sent after the capture's last packet is not in it.
                    if stats.packets > 0 {
                        opts.capture.losses.end(stats.last_packet);
                    }
                    r.capture = Some(stats)
                }
                Err(e) => {
                    // What clients sent after the damage or the cut is not in the input: a
                    // preflight near the end may have had its request there. A part that
                    // ends where a part out of time order begins ends as a file does.
                    if matches!(e, CaptureError::PartsOutOfOrder { .. }) {
                        opts.capture.losses.end(newest);
                    } else {
                        opts.capture.losses.cut(newest);
                    }
                    r.error = Some(e.into());
                }
            }
        }
    }
    r.exchanges = exchanges;
    if let Ok(mut w) = under.lock() {
        r.diag.merge(std::mem::take(&mut *w));
    }
    r
}

/// Analyses one input (path or `-`), calling `out` for every record in time order of the
/// flows. Reading errors after a partial read are returned inside the report.
pub fn analyze(path: &str, opts: &Options, out: &mut dyn FnMut(Record)) -> InputReport {
    let mut report = InputReport {
        name: path.to_owned(),
        ..Default::default()
    };
    let opened = input::open_with(path, &opts.stop, opts.detect_window, opts.live, opts.mmap);
    let input = match opened {
        Ok(i) => i,
        Err(e) => {
            report.error = Some(e.into());
            return report;
        }
    };
    report.format = Some(input.format);
    // This input's own place for the rest of its stream (`capture::Rest`): inputs may be
    // analysed side by side with the same options.
    let mut own = opts.clone();
    own.capture.rest = capture::Rest::default();
    let opts = &own;
    let lineage = input.lineage();
    let mut report = analyze_input(input, opts, out, report);
    // Each part's run starts past the last one's start: the loop ends.
    let (mut from, mut runs) = (0, 1);
    while let Some(part) = later_part(path, opts, &report, runs).filter(|p| p.resume.offset > from)
    {
        from = part.resume.offset;
        runs += 1;
        if part.resume.read_on {
            report.diagnostics.warn(WarnKind::LimitCaptureParts, || {
                format!(
                    "{path}: byte {from}: more than {} capture parts out of time order; the rest \
                     of the input is read on as one part",
                    capture::MAX_PARTS
                )
            });
        }
        report = analyze_part(path, opts, &lineage, out, report, part);
    }
    if opts.stop.load(Ordering::Relaxed) {
        // The input was cut by the stop, not damaged: what it says about the cut is a
        // warning, and the run ends as after a complete input.
        report.stopped = true;
        if let Some(e) = report.error_text() {
            report.error = None;
            report.diagnostics.warn(WarnKind::InputStopped, || {
                format!("{path}: reading stopped: {e}")
            });
        }
    }
    report
}

/// A capture part out of time order that a run of its own reads ([`analyze_part`]).
struct LaterPart {
    resume: Resume,
    /// Where the part was found out of order, for the warning.
    packet: u64,
    back_secs: u64,
    /// The rest of a streamed input from where the part begins on (`capture::Rest`); `None`:
    /// the file is opened again there.
    rest: Option<Box<dyn std::io::Read + Send>>,
}

/// A capture part out of time order that a run of its own can read (`Resume`), unless a
/// stop came: a stream's reader left the rest of it (`capture::Rest`), or else the input is a
/// file, opened again (a mapped one always is). Standard input or a followed input whose
/// rest is not left (the part held too much before its first packet) keeps the error.
/// `runs`: the input's runs so far.
fn later_part(path: &str, opts: &Options, report: &InputReport, runs: u32) -> Option<LaterPart> {
    let Some(AnalyzeError::Capture(
        e @ CaptureError::PartsOutOfOrder {
            packet, back_secs, ..
        },
    )) = &report.error
    else {
        return None;
    };
    if opts.stop.load(Ordering::Relaxed) {
        return None;
    }
    let rest = opts.capture.rest.take();
    if rest.is_none() && (path == "-" || opts.live) {
        return None;
    }
    Some(LaterPart {
        resume: e.resume_at(report.exchanges, rest.is_some(), runs)?,
        packet: *packet,
        back_secs: *back_secs,
        rest,
    })
}

/// Analyses the part of the input from `resume` on as a capture of its own (a part out of
/// time order: read on with the parts before it, its requests would be paired and cached
/// against their clock), its records after theirs, and adds what it read to `report`.
fn analyze_part(
    path: &str,
    opts: &Options,
    lineage: &input::Lineage,
    out: &mut dyn FnMut(Record),
    mut report: InputReport,
    part: LaterPart,
) -> InputReport {
    report.error = None;
    let LaterPart {
        resume,
        packet,
        back_secs,
        rest,
    } = part;
    let offset = resume.offset;
    report
        .diagnostics
        .warn(WarnKind::CapturePartOutOfOrder, || {
            format!(
                "{path}: packet {packet} (byte {offset}): this part starts {back_secs} s before \
             the part before it ends; analysed as a capture of its own"
            )
        });
    let opened = match rest {
        Some(rest) => Ok(lineage.input(rest)),
        None => input::open_with(path, &opts.stop, opts.detect_window, opts.live, opts.mmap),
    };
    let input = match opened {
        Ok(i) => i,
        Err(e) => {
            report.error = Some(e.into());
            return report;
        }
    };
    let mut part_opts = opts.clone();
    part_opts.capture.resume = Some(resume);
    let part = analyze_input(input, &part_opts, out, InputReport::default());
    match (&mut report.capture, part.capture) {
        (Some(a), Some(b)) => a.add(&b),
        (a @ None, b) => *a = b,
        _ => {}
    }
    report.exchanges += part.exchanges;
    report.flows += part.flows;
    report.recorded_by = report.recorded_by.or(part.recorded_by);
    report.diagnostics.merge(part.diagnostics);
    report.error = part.error;
    report
}

pub fn analyze_input(
    input: input::Input,
    opts: &Options,
    out: &mut dyn FnMut(Record),
    mut report: InputReport,
) -> InputReport {
    let workers = match opts.capture_workers {
        0 => rayon::current_num_threads(),
        n => n,
    };
    // What the input lost, where its pairing asks (`model::loss`): a capture's reader records
    // its losses, and an input cut off its cut. One record per input, as each loses its own.
    let mut with_losses = opts.clone();
    with_losses.capture.losses = LossLog::new();
    with_losses.pairing.losses = Some(with_losses.capture.losses.clone());
    let opts = &with_losses;
    report.decoding = input.decoding();
    let mut resolving = Resolving::new(opts);
    // The idle flush needs pairing on a thread that is not blocked reading the input.
    let flushes_idle = input.activity.is_some() && !opts.idle_flush.is_zero();
    let read = if workers <= 1 && !flushes_idle {
        sequential(input, opts, &mut resolving, out)
    } else {
        pipelined(input, opts, workers, &mut resolving, out)
    };
    report.har = read.har;
    report.capture = read.capture;
    report.error = read.error;
    report.exchanges = read.exchanges;
    report.flows = resolving.flows;
    report.recorded_by = report
        .har
        .as_ref()
        .and_then(|m| m.browser_name())
        .or(resolving.recorded_by);
    report.diagnostics = read.diag;
    let dropped = resolving
        .shards
        .iter()
        .map(Resolver::dropped_cache_entries)
        .sum();
    report
        .diagnostics
        .add(WarnKind::LimitPreflightCache, dropped);
    resolving.retire();
    report
}

/// Everything on the caller's thread.
fn sequential(
    input: input::Input,
    opts: &Options,
    resolving: &mut Resolving,
    out: &mut dyn FnMut(Record),
) -> ReadOutcome {
    let mut pairing = Pairing::new(opts, input.format, input.live);
    let mut decide = |batch: Vec<Flow>| resolving.resolve(opts, batch, out);
    let mut read = produce(input, opts, 1, &mut |x| pairing.push(x, &mut decide));
    let diag = pairing.finish(&mut decide);
    read.diag.merge(diag);
    read
}

/// What the reading thread hands to the resolving one.
enum Work {
    /// Flows, paired on the reading thread (captures: the capture reader's own threads do
    /// most of the reading work, so pairing fits there; HAR: the file is scanned whole before
    /// its first exchange comes out, and then the reading thread only replays the spool).
    Flows(Vec<Flow>),
    /// Exchanges, to be paired on the resolving thread (a live input with an idle flush: the
    /// reading thread may wait for data for any time).
    Exchanges(Vec<Exchange>),
    /// The live capture fell silent and its reader let go of what it held, all of it sent
    /// before this: what pairing holds is decided now ([`capture::IdleHook`]).
    Silent,
}

/// Three stages on three threads, joined by short queues: reading and pairing (a thread of
/// its own, with the capture reader's threads under it), resolution (a thread of its own: the
/// largest sequential step), records and output (the caller's thread, since `out` stays
/// there).
fn pipelined(
    input: input::Input,
    opts: &Options,
    workers: usize,
    resolving: &mut Resolving,
    out: &mut dyn FnMut(Record),
) -> ReadOutcome {
    let (format, live) = (input.format, input.live);
    let idle = input
        .activity
        .clone()
        .filter(|_| !opts.idle_flush.is_zero());
    let pair_on_resolver = idle.is_some();
    // A live capture read as it comes (no decoder in between to carry the signal) says when
    // it falls silent: its reader lets go of the exchanges it holds for later packets (the
    // time-order buffer waits up to 30 s of capture time for a connection's credentials
    // class) and then pairing is flushed; without it those exchanges waited for the next
    // packets, past any idle flush, or for the end of the input.
    let reader_tells_silence =
        matches!(format, Format::Pcap | Format::PcapNg) && input.read_as_is();
    if let Some(activity) = idle.as_ref().filter(|_| reader_tells_silence) {
        activity.report_silence_after(opts.idle_flush);
    }
    thread::scope(|s| {
        // The input goes to the reading thread only once it runs, so that if it cannot be
        // started the input is still here to be read on this thread.
        let (input_tx, input_rx) = sync_channel::<input::Input>(1);
        let (work_tx, work_rx) = sync_channel::<Work>(QUEUE);
        let (resolved_tx, resolved_rx) = sync_channel::<Decided>(QUEUE);
        let reading = thread::Builder::new()
            .name("analyze-read".into())
            .spawn_scoped(s, move || {
                let input = input_rx.recv().ok()?;
                Some(if pair_on_resolver {
                    read_exchanges(input, opts, workers, &work_tx)
                } else {
                    read_flows(input, opts, workers, &work_tx)
                })
            });
        let reading = match reading {
            Ok(h) => h,
            Err(_) => return sequential(input, opts, resolving, out),
        };
        if let Err(e) = input_tx.send(input) {
            return sequential(e.0, opts, resolving, out);
        }
        let resolver = thread::Builder::new()
            .name("analyze-resolve".into())
            .spawn_scoped(s, move || {
                let mut decide = |flows: Vec<Flow>| {
                    // A closed queue only happens if this thread's caller failed.
                    let _ = resolved_tx.send(resolving.decide(opts, flows, true));
                };
                let mut stage = ResolveStage {
                    opts,
                    format,
                    live,
                    reader_tells_silence,
                    pairing: None,
                };
                stage.run(&work_rx, idle.as_deref(), &mut decide);
                stage.pairing.map(|p| p.finish(&mut decide))
            });
        if resolver.is_err() {
            // Without a resolving thread the reading one's sends fail (the queue's other end
            // went with the thread that did not start): it reads to its end, unanalysed.
            drop(resolved_rx);
            let _ = reading.join();
            return stage_failed("cannot start the resolving thread");
        }
        for decided in resolved_rx {
            decided.output(opts, out);
        }
        let pairing_diag = match resolver {
            Ok(h) => h.join().ok().flatten(),
            Err(_) => None,
        };
        match reading.join() {
            Ok(Some(mut read)) => {
                // Pairing's warnings come after the reader's, as when it runs on its thread.
                if let Some(d) = pairing_diag {
                    read.diag.merge(d);
                }
                read
            }
            // Only a bug in a reader could get here; what was read is analysed already.
            _ => stage_failed("the reading thread stopped"),
        }
    })
}

/// The outcome of a run whose pipeline could not go on: an input error saying which stage.
fn stage_failed(what: &str) -> ReadOutcome {
    ReadOutcome {
        error: Some(AnalyzeError::Input(InputError::Read {
            offset: 0,
            source: std::io::Error::other(what),
        })),
        ..ReadOutcome::default()
    }
}

/// The reading thread when pairing runs on the resolving one (a live input with an
/// idle flush): exchanges go out in batches (one by one when live).
fn read_exchanges(
    input: input::Input,
    opts: &Options,
    workers: usize,
    work_tx: &SyncSender<Work>,
) -> ReadOutcome {
    let size = if input.live { 1 } else { opts.batch() };
    let mut batch = Vec::with_capacity(size);
    // After the exchanges a silence let go (sent one by one: `size` is 1 for a live input).
    let mut opts = opts.clone();
    let silent = work_tx.clone();
    opts.capture.on_idle = Some(capture::IdleHook(Arc::new(move || {
        let _ = silent.send(Work::Silent);
    })));
    let opts = &opts;
    // A closed queue only happens if a later stage failed.
    let read = produce(input, opts, workers, &mut |x| {
        batch.push(x);
        if batch.len() >= size {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(size));
            let _ = work_tx.send(Work::Exchanges(full));
        }
    });
    let _ = work_tx.send(Work::Exchanges(batch));
    read
}

/// The reading thread when it pairs too (captures): flows go out as pairing makes them, and
/// pairing's warnings follow the reader's.
fn read_flows(
    input: input::Input,
    opts: &Options,
    workers: usize,
    work_tx: &SyncSender<Work>,
) -> ReadOutcome {
    let mut pairing = Pairing::new(opts, input.format, input.live);
    // A closed queue only happens if a later stage failed.
    let mut send = |flows| {
        let _ = work_tx.send(Work::Flows(flows));
    };
    let mut read = produce(input, opts, workers, &mut |x| pairing.push(x, &mut send));
    let diag = pairing.finish(&mut send);
    read.diag.merge(diag);
    read
}

/// The resolving thread's loop: flows are decided as they come; exchanges are paired here
/// first, and on a silent live input what pairing holds is decided after the idle flush.
struct ResolveStage<'a> {
    opts: &'a Options,
    format: Format,
    live: bool,
    /// The reader says when the input falls silent ([`Work::Silent`]): pairing is flushed
    /// then, not on this stage's own clock.
    reader_tells_silence: bool,
    /// Created at the first exchanges (flows paired by the reader need none).
    pairing: Option<Pairing>,
}

impl ResolveStage<'_> {
    /// Takes work until the reading side closes the queue.
    fn run(
        &mut self,
        work_rx: &Receiver<Work>,
        idle: Option<&Activity>,
        decide: &mut dyn FnMut(Vec<Flow>),
    ) {
        let mut last_work = Instant::now();
        loop {
            let work = match idle {
                None => match work_rx.recv() {
                    Ok(w) => w,
                    Err(_) => break,
                },
                Some(activity) => match work_rx.recv_timeout(STOP_POLL) {
                    Ok(w) => w,
                    Err(RecvTimeoutError::Timeout) => {
                        self.on_silence(activity, last_work, decide);
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            };
            last_work = Instant::now();
            match work {
                Work::Flows(flows) => decide(flows),
                Work::Silent => {
                    if let Some(p) = self.pairing.as_mut().filter(|p| p.pairer.pending() > 0) {
                        p.flush(decide);
                    }
                }
                Work::Exchanges(xs) => {
                    let (opts, format, live) = (self.opts, self.format, self.live);
                    let p = self
                        .pairing
                        .get_or_insert_with(|| Pairing::new(opts, format, live));
                    for x in xs {
                        p.push(x, decide);
                    }
                }
            }
        }
    }

    /// Silent for long enough: nothing the reader holds is still on its way here, so the
    /// waiting exchanges are decided now.
    fn on_silence(
        &mut self,
        activity: &Activity,
        last_work: Instant,
        decide: &mut dyn FnMut(Vec<Flow>),
    ) {
        if self.reader_tells_silence {
            return;
        }
        let quiet = activity.idle_for().min(last_work.elapsed());
        if let Some(p) = self.pairing.as_mut() {
            if quiet >= self.opts.idle_flush && p.pairer.pending() > 0 {
                p.flush(decide);
            }
        }
    }
}
