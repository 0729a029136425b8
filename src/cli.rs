//! The command line: argument definitions (clap), output selection, the terminal table and
//! summary, error printing and the exit-code contract (0 clean, 1 blocked flows, 2 errors).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;

use clap::{Parser, Subcommand, ValueEnum};
use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};

use crate::cors::explain;
use crate::cors::Browser;
use crate::pipeline::{self, InputReport, Options};
use crate::report::{CsvSink, JsonSink, NdjsonSink, Record, RecordSink, Summary};

#[derive(Parser, Debug)]
#[command(
    name = "corscope",
    version,
    about = "Why did the browser block that cross-origin request? Reads HAR exports and packet captures and decides every CORS request as Chromium, Firefox and Safari would.",
    after_help = "`corscope FILE...` is short for `corscope analyze FILE...`.\nExit status: 0 no blocked request, 1 blocked requests found, 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse HAR files (.har, .har.gz) and captures (.pcap, .pcapng, gzip'd); `-` is stdin.
    Analyze(Box<AnalyzeArgs>),
    /// Explain a blocking reason (Chromium, Firefox or Safari name): meaning, causes, fix.
    Explain {
        /// e.g. MissingAllowOriginHeader, CORSMissingAllowOrigin, PreflightNotSuccessful
        reason: String,
    },
    /// Write a deterministic synthetic DevTools HAR of CORS traffic (for benchmarks).
    GenerateHar {
        /// Output file (`-` for stdout).
        out: String,
        /// Approximate size, e.g. 1000000000 for 1 GB.
        #[arg(long, default_value_t = 64 << 20)]
        bytes: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a deterministic synthetic pcap of CORS traffic (for benchmarks): interleaved
    /// keep-alive connections from many clients, preflights, multi-segment bodies, a share of
    /// misconfigured servers.
    GeneratePcap {
        /// Output file (`-` for stdout).
        out: String,
        /// Approximate size (the sessions under way at the target are finished).
        #[arg(long, default_value_t = 64 << 20)]
        bytes: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// HTTP/2 over TLS 1.3 instead of HTTP/1.1 in clear; the key log goes to this file.
        #[arg(long, value_name = "FILE")]
        tls_keylog: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum OutputFormat {
    Table,
    Csv,
    Json,
    Ndjson,
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    /// Input files; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<String>,
    /// Output format (default: table on a terminal, ndjson otherwise).
    #[arg(long, short = 'f', value_enum)]
    format: Option<OutputFormat>,
    /// List every request, with `not-cors` for same-origin and no-cors ones.
    #[arg(long)]
    all: bool,
    /// The browser the table, summary and exit code speak for (default: the one that made the
    /// input, else chromium). Records always carry all three.
    #[arg(long, value_parser = parse_browser)]
    browser: Option<Browser>,
    /// Exit 0 even when blocked requests were found.
    #[arg(long)]
    exit_zero: bool,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Show warning details (skipped packets, gaps, limits hit).
    #[arg(long, short = 'v')]
    verbose: bool,
    /// TLS key log (NSS format, as SSLKEYLOGFILE writes it) to decrypt HTTPS in captures;
    /// repeatable. Secrets in pcapng Decryption Secrets Blocks are used without it.
    #[arg(long, value_name = "FILE")]
    keylog: Vec<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Resource limits. Hitting one is counted in the summary (`limit-…` warnings), never fatal,
/// except `--max-record-bytes`, past which a capture cannot be framed at all.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Limits (sizes take K, M, G suffixes)")]
struct LimitArgs {
    /// HAR strings longer than this are dropped (response bodies) [default: 64K].
    #[arg(long, value_parser = parse_size)]
    max_string_bytes: Option<u64>,
    /// A HAR entry keeping more than this (after dropped strings) is skipped [default: 16M].
    #[arg(long, value_parser = parse_size)]
    max_entry_bytes: Option<u64>,
    /// JSON nesting deeper than this skips the entry [default: 128].
    #[arg(long)]
    max_depth: Option<usize>,
    /// Largest capture record (packet) accepted [default: 16M].
    #[arg(long, value_parser = parse_size)]
    max_record_bytes: Option<u64>,
    /// Largest HTTP message head (request/status line + headers) [default: 64K].
    #[arg(long, value_parser = parse_size)]
    max_head_bytes: Option<u64>,
    /// Most headers in one HTTP message head [default: 128].
    #[arg(long)]
    max_headers: Option<usize>,
    /// Longest chunk-size line in a chunked body [default: 4K].
    #[arg(long, value_parser = parse_size)]
    max_chunk_line: Option<u64>,
    /// Bytes buffered per connection and direction (heads, out-of-order data) [default: 256K].
    #[arg(long, value_parser = parse_size)]
    max_connection_buffer: Option<u64>,
    /// Bytes all connections may buffer together; the oldest are flushed first [default: 128M].
    #[arg(long, value_parser = parse_size)]
    max_total_buffer: Option<u64>,
    /// Live TCP connections held; the oldest is flushed first [default: 100000].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Seconds without packets after which a connection is flushed [default: 300].
    #[arg(long)]
    idle_timeout: Option<i64>,
    /// Requests waiting for their responses on one connection (pipelining) [default: 1024].
    #[arg(long)]
    max_pipelined: Option<usize>,
    /// Skip packets on link types that cannot be decoded instead of failing the capture.
    #[arg(long)]
    skip_unknown_links: bool,
    /// Seconds an exchange waits for its preflight / redirect partners [default: 15].
    #[arg(long)]
    pairing_window: Option<u64>,
    /// Requests to one URL held for pairing at once [default: 128].
    #[arg(long)]
    max_pending_per_url: Option<usize>,
}

impl LimitArgs {
    fn apply(&self, o: &mut Options) {
        let usize_of = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if let Some(v) = self.max_string_bytes {
            o.har.max_string_bytes = usize_of(v);
        }
        if let Some(v) = self.max_entry_bytes {
            o.har.max_entry_bytes = usize_of(v);
        }
        if let Some(v) = self.max_depth {
            o.har.max_depth = v;
        }
        if let Some(v) = self.max_record_bytes {
            o.capture.max_record_bytes = usize_of(v);
        }
        if let Some(v) = self.max_head_bytes {
            o.capture.max_head_bytes = usize_of(v);
        }
        if let Some(v) = self.max_headers {
            o.capture.max_headers = v;
        }
        if let Some(v) = self.max_chunk_line {
            o.capture.max_chunk_line = usize_of(v);
        }
        if let Some(v) = self.max_connection_buffer {
            o.capture.max_connection_buffer = usize_of(v);
        }
        if let Some(v) = self.max_total_buffer {
            o.capture.max_total_buffer = usize_of(v).max(1);
        }
        if let Some(v) = self.max_connections {
            o.capture.max_live_connections = v.max(1);
        }
        if let Some(v) = self.idle_timeout {
            o.capture.idle_timeout_secs = v.max(1);
        }
        if let Some(v) = self.max_pipelined {
            o.capture.max_pending_requests = v.max(1);
        }
        if self.skip_unknown_links {
            o.capture.skip_unknown_link_types = true;
        }
        if let Some(v) = self.pairing_window {
            let w = i64::try_from(v.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
            o.pairing.horizon = w;
            o.pairing.follow_window = o.pairing.follow_window.min(w);
        }
        if let Some(v) = self.max_pending_per_url {
            o.pairing.max_pending_per_url = v.max(1);
        }
    }
}

/// `64K`, `16M`, `1G`, or plain bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|_| format!("'{s}' is not a size (e.g. 4096, 64K, 16M, 1G)"))
}

fn parse_browser(s: &str) -> Result<Browser, String> {
    s.parse()
}

/// Parses `std::env::args` and runs; the binary's whole `main`.
pub fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    // `corscope FILE...` shortcut: a first argument that is neither a subcommand nor a flag.
    if let Some(first) = args.get(1) {
        let known = [
            "analyze",
            "explain",
            "generate-har",
            "generate-pcap",
            "help",
        ];
        if !known.contains(&first.as_str()) && (!first.starts_with('-') || first == "-") {
            args.insert(1, "analyze".into());
        }
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Explain { reason } => run_explain(&reason),
        Command::GenerateHar { out, bytes, seed } => {
            let spec = crate::synth::HarSpec {
                seed,
                target_bytes: bytes,
                ..Default::default()
            };
            let result = if out == "-" {
                crate::synth::write_har(&mut io::BufWriter::new(io::stdout().lock()), &spec)
            } else {
                std::fs::File::create(&out).and_then(|f| {
                    let mut w = io::BufWriter::with_capacity(1 << 20, f);
                    let r = crate::synth::write_har(&mut w, &spec);
                    w.flush().and(r)
                })
            };
            match result {
                Ok((b, n)) => {
                    eprintln!("corscope: wrote {n} entries, {b} bytes to {out}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("corscope: error: {out}: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::GeneratePcap {
            out,
            bytes,
            seed,
            tls_keylog,
        } => {
            let spec = crate::synth::PcapSpec {
                seed,
                target_bytes: bytes,
                tls: tls_keylog.is_some(),
                ..Default::default()
            };
            let result = if out == "-" {
                let mut w = io::BufWriter::new(io::stdout().lock());
                crate::synth::write_pcap(&mut w, &spec).and_then(|c| w.flush().map(|()| c))
            } else {
                std::fs::File::create(&out).and_then(|f| {
                    let mut w = io::BufWriter::with_capacity(1 << 20, f);
                    let r = crate::synth::write_pcap(&mut w, &spec);
                    w.flush().and(r)
                })
            };
            let result = result.and_then(|c| match &tls_keylog {
                Some(k) => std::fs::write(k, &c.keylog).map(|()| c),
                None => Ok(c),
            });
            match result {
                Ok(c) => {
                    eprintln!(
                        "corscope: wrote {} packets ({} connections, {} requests of which {} preflights), {} bytes to {out}",
                        c.packets, c.connections, c.requests, c.preflights, c.bytes
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("corscope: error: {out}: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Analyze(a) => match run_analyze(*a) {
            Ok(code) => code,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("corscope: error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn run_explain(name: &str) -> ExitCode {
    match explain::lookup(name) {
        Some(e) => {
            print!("{}", explain::render(e));
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("corscope: error: unknown reason '{name}'");
            let s = explain::suggestions(name);
            if !s.is_empty() {
                eprintln!("did you mean: {}", s.join(", "));
            }
            ExitCode::from(2)
        }
    }
}

/// What one input sends to the printing thread, in order.
enum FileMsg {
    Records(Vec<Record>),
    Done(Box<InputReport>),
}

/// Records sent to the printing thread at once.
const FILE_BATCH: usize = 64;

/// Batches of records a later input may queue while an earlier one is still printing; past
/// it, its analysis waits (memory stays bounded whatever the inputs).
const FILE_QUEUE: usize = 64;

fn run_analyze(a: AnalyzeArgs) -> io::Result<ExitCode> {
    if let Some(j) = a.jobs {
        // Only fails when a global pool already exists, which nothing else creates.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(j.max(1))
            .build_global();
    }
    let jobs = rayon::current_num_threads().max(1);
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    let format = a.format.unwrap_or(if tty {
        OutputFormat::Table
    } else {
        OutputFormat::Ndjson
    });
    // Several inputs are analysed at once (each with its share of the threads) and printed
    // in the order given.
    let concurrent = jobs.min(a.files.len()).max(1);
    let mut opts = Options {
        all: a.all,
        capture_workers: (jobs / concurrent).max(1),
        ..Options::default()
    };
    a.limits.apply(&mut opts);
    for path in &a.keylog {
        let loaded = if path == "-" {
            Err("standard input is for captures; give the key log as a file".to_owned())
        } else {
            std::fs::read(path)
                .map_err(|e| e.to_string())
                .map(|b| opts.capture.keylog.add_text(&String::from_utf8_lossy(&b)))
        };
        match loaded {
            Ok(r) if r.used == 0 => {
                eprintln!(
                    "corscope: error: --keylog {path}: no TLS secrets in it ({} malformed line(s))",
                    r.malformed
                );
                return Ok(ExitCode::from(2));
            }
            Ok(r) if r.malformed > 0 => {
                eprintln!(
                    "corscope: warning: --keylog {path}: {} malformed line(s) skipped",
                    r.malformed
                );
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("corscope: error: --keylog {path}: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    let out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    // Only the table needs the records themselves; for the exit code (and the JSON sink's own
    // summary) counting blocked ones per browser is enough.
    let keep = format == OutputFormat::Table;
    let mut table_rows: Vec<Record> = Vec::new();
    let mut blocked = [0u64; 3];
    let mut reports: Vec<InputReport> = Vec::new();
    let mut sink: Box<dyn RecordSink> = match format {
        OutputFormat::Ndjson => Box::new(NdjsonSink::new(out)),
        OutputFormat::Csv => Box::new(CsvSink::new(out)?),
        OutputFormat::Json => Box::new(JsonSink::new(out, a.browser.unwrap_or(Browser::Chromium))),
        OutputFormat::Table => Box::new(NdjsonSink::new(io::sink())),
    };
    let mut io_error: Option<io::Error> = None;
    let stop = AtomicBool::new(false);
    let mut take = |r: Record| {
        if io_error.is_none() {
            if let Err(e) = sink.record(&r) {
                io_error = Some(e);
                // No input is started after a write error (a closed pipe, a full disk).
                stop.store(true, Ordering::Relaxed);
            }
        }
        for (n, b) in blocked.iter_mut().zip(BROWSERS) {
            *n += u64::from(r.verdict_for(b) == "blocked");
        }
        if keep {
            table_rows.push(r);
        }
    };
    let done = |report: InputReport, reports: &mut Vec<InputReport>| {
        if let Some(err) = &report.error {
            eprintln!("corscope: error: {}: {err}", report.name);
        }
        reports.push(report);
    };
    if concurrent <= 1 {
        for path in &a.files {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let report = pipeline::analyze(path, &opts, &mut take);
            done(report, &mut reports);
        }
    } else {
        let next = AtomicUsize::new(0);
        let mut senders = Vec::with_capacity(a.files.len());
        let mut receivers = Vec::with_capacity(a.files.len());
        for _ in &a.files {
            let (tx, rx) = mpsc::sync_channel::<FileMsg>(FILE_QUEUE);
            senders.push(Mutex::new(Some(tx)));
            receivers.push(rx);
        }
        thread::scope(|s| {
            for _ in 0..concurrent {
                s.spawn(|| {
                    // Inputs are taken in order, so the one being printed is always running.
                    while let Some(i) = Some(next.fetch_add(1, Ordering::Relaxed))
                        .filter(|i| *i < a.files.len() && !stop.load(Ordering::Relaxed))
                    {
                        let tx = senders
                            .get(i)
                            .and_then(|m| m.lock().ok().and_then(|mut t| t.take()));
                        let (Some(tx), Some(path)) = (tx, a.files.get(i)) else {
                            continue;
                        };
                        let mut batch = Vec::with_capacity(FILE_BATCH);
                        let report = pipeline::analyze(path, &opts, &mut |r| {
                            batch.push(r);
                            if batch.len() >= FILE_BATCH {
                                let full =
                                    std::mem::replace(&mut batch, Vec::with_capacity(FILE_BATCH));
                                // A closed channel: printing stopped (write error).
                                let _ = tx.send(FileMsg::Records(full));
                            }
                        });
                        let _ = tx.send(FileMsg::Records(batch));
                        let _ = tx.send(FileMsg::Done(Box::new(report)));
                    }
                });
            }
            for rx in receivers {
                if stop.load(Ordering::Relaxed) {
                    // Dropping the receivers lets running analyses finish without printing.
                    break;
                }
                for msg in rx.iter() {
                    match msg {
                        FileMsg::Records(rs) => rs.into_iter().for_each(&mut take),
                        FileMsg::Done(report) => {
                            done(*report, &mut reports);
                            break;
                        }
                    }
                }
            }
        });
    }
    if let Some(e) = io_error.take() {
        return Err(e);
    }
    sink.finish()?;
    // Which browser speaks: the flag, else the (first) input's recorder, else Chromium.
    let speaker = a
        .browser
        .or_else(|| reports.iter().find_map(|r| r.recorded_by))
        .unwrap_or(Browser::Chromium);
    let speaker_blocked = BROWSERS
        .iter()
        .position(|b| *b == speaker)
        .and_then(|i| blocked.get(i))
        .copied()
        .unwrap_or(0);
    if format == OutputFormat::Table {
        let mut summary = Summary::new(speaker);
        for r in &table_rows {
            summary.add(r);
        }
        let mut out = io::BufWriter::new(io::stdout().lock());
        print_table(&mut out, &table_rows, speaker, tty)?;
        print_summary(&mut out, &summary, &reports, speaker, a.verbose)?;
        out.flush()?;
    } else {
        print_warnings(&reports, a.verbose);
    }
    let failed_entirely = reports
        .iter()
        .any(|r| r.error.is_some() && r.exchanges == 0);
    Ok(if failed_entirely {
        ExitCode::from(2)
    } else if speaker_blocked > 0 && !a.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The browsers the exit code can speak for.
const BROWSERS: [Browser; 3] = [Browser::Chromium, Browser::Firefox, Browser::Safari];

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn print_table(out: &mut dyn Write, rows: &[Record], b: Browser, tty: bool) -> io::Result<()> {
    if rows.is_empty() {
        writeln!(
            out,
            "No cross-origin requests found (use --all to list every request)."
        )?;
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !tty {
        t.force_no_tty();
        t.set_width(160);
    }
    t.set_header(vec![
        "#",
        "Request",
        "From",
        "Preflight",
        b.profile().name,
        "Why / fix",
    ]);
    for r in rows {
        let verdict = r.verdict_for(b);
        let mut vcell = Cell::new(verdict);
        if tty {
            vcell = match verdict {
                "blocked" => vcell.fg(Color::Red).add_attribute(Attribute::Bold),
                "allowed" => vcell.fg(Color::Green),
                "unknown" => vcell.fg(Color::Yellow),
                _ => vcell,
            };
        }
        let why = match (r.reason_for(b), &r.fix) {
            (Some(reason), Some(fix)) => format!("{reason}\n→ {}", short(fix, 160)),
            (Some(reason), None) => reason.to_owned(),
            (None, _) if verdict == "blocked" || verdict == "unknown" => {
                short(r.note.as_deref().unwrap_or(""), 160)
            }
            _ => String::new(),
        };
        let pf = r
            .preflight
            .as_ref()
            .map_or_else(String::new, |p| match p.source {
                "recorded" => format!(
                    "OPTIONS {}",
                    p.status.map_or("-".to_owned(), |s| s.to_string())
                ),
                other => other.to_owned(),
            });
        t.add_row(vec![
            Cell::new(r.index),
            Cell::new(format!("{} {}", r.method, short(&r.url, 70))),
            Cell::new(r.origin.as_deref().unwrap_or("?")),
            Cell::new(pf),
            vcell,
            Cell::new(why),
        ]);
    }
    writeln!(out, "{t}")
}

fn print_summary(
    out: &mut dyn Write,
    s: &Summary,
    reports: &[InputReport],
    b: Browser,
    verbose: bool,
) -> io::Result<()> {
    let v = |k: &str| s.verdicts.get(k).copied().unwrap_or(0);
    writeln!(
        out,
        "\n{} cross-origin request(s) as {} decides them: {} blocked, {} allowed, {} unknown",
        s.requests,
        b.profile().name,
        v("blocked"),
        v("allowed"),
        v("unknown")
    )?;
    if !s.reasons.is_empty() {
        writeln!(out, "\nBlocked, by reason:")?;
        let mut reasons: Vec<_> = s.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, n) in reasons {
            writeln!(out, "  {n:>5}  {reason}   (corscope explain {reason})")?;
        }
    }
    let blocked: Vec<_> = s.endpoints.iter().filter(|(_, e)| e.blocked > 0).collect();
    if !blocked.is_empty() {
        writeln!(out, "\nBlocked, by endpoint:")?;
        for (ep, e) in blocked {
            let reasons: Vec<String> = e.reasons.keys().cloned().collect();
            writeln!(
                out,
                "  {}/{}  {ep}  [{}]",
                e.blocked,
                e.requests,
                reasons.join(", ")
            )?;
            if let Some(fix) = &e.fix {
                writeln!(out, "         fix: {fix}")?;
            }
        }
    }
    let mut overhead: Vec<_> = s
        .endpoints
        .iter()
        .filter(|(_, e)| e.preflights > 0 && e.preflight_wait_ms > 0.0)
        .collect();
    if !overhead.is_empty() {
        overhead.sort_by(|a, b| b.1.preflight_wait_ms.total_cmp(&a.1.preflight_wait_ms));
        writeln!(
            out,
            "\nPreflight overhead (time to the OPTIONS answer; `Access-Control-Max-Age` saves it):"
        )?;
        for (ep, e) in overhead.iter().take(10) {
            writeln!(
                out,
                "  {:>8.1} ms over {} preflight(s), {:.1} ms each  {ep}",
                e.preflight_wait_ms,
                e.preflights,
                e.preflight_wait_ms / e.preflights as f64
            )?;
        }
    }
    if !s.disagreements.is_empty() {
        writeln!(out, "\nBrowsers disagree:")?;
        for (ep, what) in &s.disagreements {
            writeln!(out, "  {ep}: {what}")?;
        }
    }
    for r in reports {
        if let Some(stats) = &r.capture {
            if stats.tls_connections > 0 {
                writeln!(
                    out,
                    "\n{}: {} TLS connection(s) encrypted, not decrypted (give the browser's SSLKEYLOGFILE with `--keylog FILE`, or embed it with `editcap --inject-secrets`; `-v` shows why each was not)",
                    r.name, stats.tls_connections
                )?;
            }
        }
    }
    print_warnings(reports, verbose);
    Ok(())
}

fn print_warnings(reports: &[InputReport], verbose: bool) {
    for r in reports {
        for (kind, n) in r.diagnostics.counts() {
            eprintln!("corscope: warning: {}: {n} × {kind}", r.name);
            if verbose {
                for d in r.diagnostics.details(kind) {
                    eprintln!("    {d}");
                }
            }
        }
    }
}
