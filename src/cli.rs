//! The command line: argument definitions (clap), output selection, filters, the terminal
//! table and summary, error printing and the exit-code contract (0 clean, 1 what `--fail-on`
//! names was found, 2 usage or input errors, even after partial output).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::cors::explain;
use crate::cors::Browser;
use crate::limits::LimitArgs;
use crate::pipeline::{self, InputReport, Options};
use crate::report::{CsvSink, InputSummary, JsonSink, NdjsonSink, Record, RecordSink, Summary};
use crate::term::{self, ColorChoice, Output, Paging, Style};

const EXAMPLES: &str = "Examples:
  corscope site.har                       # a table on a terminal, NDJSON otherwise
  corscope --format csv a.har b.pcap      # one CSV, the NDJSON fields as columns
  corscope --only blocked,unknown --url '*/api/*' site.har
  tcpdump -i any -U -w - port 80 | corscope -      # live; Ctrl-C prints the summary
  corscope -q --fail-on blocked,unknown site.har   # CI: the exit status only
  corscope explain MissingAllowOriginHeader
  corscope completions bash > ~/.local/share/bash-completion/completions/corscope

`corscope FILE...` is short for `corscope analyze FILE...`; flags go before or after the files.
Exit status: 0 nothing `--fail-on` names was found, 1 it was, 2 usage or input error (also when
other inputs, or the part before the damage, were analysed).";

#[derive(Parser, Debug)]
#[command(
    name = "corscope",
    version,
    about = "Why did the browser block that cross-origin request? Reads HAR exports and packet captures and decides every CORS request as Chromium, Firefox and Safari would.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    analyze: AnalyzeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse HAR files and captures (.har, .pcap, .pcapng; plain, compressed or in a zip or tar
    /// archive); `-` is stdin.
    #[command(visible_alias = "analyse", after_help = EXAMPLES)]
    Analyze(Box<AnalyzeArgs>),
    /// Explain a blocking reason (Chromium, Firefox or Safari name): meaning, causes, fix.
    Explain {
        /// A reason name (e.g. MissingAllowOriginHeader, CORSMissingAllowOrigin,
        /// PreflightNotSuccessful; `safari:NAME` for one browser's, as `--list` writes them),
        /// an audit code (CA003), or a console message pasted from Chromium, Firefox or Safari
        #[arg(required_unless_present = "list")]
        reason: Option<String>,
        /// List every reason of every browser, one line each
        #[arg(long, conflicts_with = "reason")]
        list: bool,
    },
    /// Print the JSON Schema of a record (NDJSON line, JSON `records` element, CSV row).
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `corscope man > corscope.1`.
    Man,
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
        /// Approximate size: the 1,024 interleaved sessions under way when it is reached are
        /// finished, which adds up to about 20 MB (a 20 MB target writes 39 MB, 100 MB writes
        /// 119 MB, 400 MB writes 419 MB).
        #[arg(long, default_value_t = 64 << 20)]
        bytes: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// HTTP/2 over TLS 1.3 instead of HTTP/1.1 in clear; the key log goes to this file.
        #[arg(long, value_name = "FILE", conflicts_with = "quic_keylog")]
        tls_keylog: Option<String>,
        /// HTTP/3 over QUIC instead of HTTP/1.1 in clear; the key log goes to this file.
        #[arg(long, value_name = "FILE")]
        quic_keylog: Option<String>,
        /// Percent of requests that are no-cors subresource loads (no `Origin`, no preflight)
        /// instead of CORS requests, as in most production traffic.
        #[arg(long, default_value_t = 0, value_name = "PERCENT",
              value_parser = clap::value_parser!(u8).range(0..=100))]
        non_cors_percent: u8,
    },
    /// Split captures into N pcapng files by a stable hash of the client (the browser's
    /// address), so each can be analysed alone; inputs given together are one stream in time
    /// (rotated files). A HAR is split by page where that is exact (pages sharing no host,
    /// each HAR into files of its own). Analyse each shard, then `corscope merge` their summaries.
    Split {
        /// Number of shards.
        #[arg(long, short = 'n')]
        shards: usize,
        /// Directory for the shards (created if missing): `shard-I-of-N.pcapng` for captures,
        /// `NAME-shard-I-of-N.har` for each HAR.
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
        /// pcap or pcapng captures, or HARs (compressed or archived too); `-` is stdin.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Copy packets on link types that cannot be decoded to shard 0 instead of failing.
        #[arg(long)]
        skip_unknown_links: bool,
    },
    /// Merge JSON summaries (`corscope --summary --format ndjson SHARD`) into one, printed as
    /// JSON. The endpoint report (routes, audit, timeline) is not mergeable and is left out.
    Merge {
        /// Summary files (a bare summary or a `--format json` document); `-` is stdin.
        #[arg(required = true, value_name = "SUMMARY.json")]
        files: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum OutputFormat {
    Table,
    Csv,
    Json,
    Ndjson,
    /// One self-contained HTML report (totals, timeline, fixes with proof, audit).
    Html,
    /// JUnit XML for CI: one test case per endpoint, failing when it has blocked requests.
    Junit,
}

/// Verdicts `--only` keeps.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Only {
    Blocked,
    Unknown,
    Allowed,
    #[value(name = "not-cors")]
    NotCors,
}

impl Only {
    fn verdict(self) -> &'static str {
        match self {
            Only::Blocked => "blocked",
            Only::Unknown => "unknown",
            Only::Allowed => "allowed",
            Only::NotCors => "not-cors",
        }
    }
}

/// What makes the exit status 1.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FailOn {
    /// A request the browser blocks (the default).
    Blocked,
    /// A request whose verdict the input cannot decide.
    Unknown,
    /// A finding of the passive audit (a server configuration that works but is risky or
    /// wasteful) at `--finding-severity` or above.
    Finding,
    /// Nothing: exit 0 unless an input failed.
    Never,
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    /// Input files; `-` reads standard input (live captures: records appear as flows finish).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Output format (default: table on a terminal, ndjson otherwise).
    #[arg(long, short = 'f', value_enum)]
    format: Option<OutputFormat>,
    /// List every request, with `not-cors` for same-origin and no-cors ones.
    #[arg(long)]
    all: bool,
    /// The browser the table, summary and exit code speak for (default: per input, the one
    /// that made it, else chromium). Records always carry all three.
    #[arg(long, value_parser = parse_browser)]
    browser: Option<Browser>,
    /// Keep only these verdicts (comma-separated), as the chosen browser decides.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "VERDICT,...")]
    only: Vec<Only>,
    /// Keep only requests from this page origin (a glob: `*` any run, `?` one character).
    #[arg(long, value_name = "GLOB")]
    origin: Option<String>,
    /// Keep only requests to matching URLs (a glob over the whole URL, e.g. '*/api/*').
    #[arg(long, value_name = "GLOB")]
    url: Option<String>,
    /// Print only the summary (totals, reasons, top endpoints), not the records.
    #[arg(long)]
    summary: bool,
    /// Print nothing; only the exit status tells (errors still go to stderr).
    #[arg(long, short = 'q')]
    quiet: bool,
    /// What makes the exit status 1 (comma-separated; counts the records the filters keep).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "blocked",
        value_name = "WHAT,..."
    )]
    fail_on: Vec<FailOn>,
    /// The least severity an audit finding needs to count for `--fail-on finding` (`corscope
    /// explain --list` gives each code's): the default leaves out the low and info ones
    /// (a preflight without `Access-Control-Max-Age`, a Max-Age above what browsers honour).
    #[arg(long, value_enum, default_value = "medium", value_name = "LEVEL")]
    finding_severity: crate::audit::Severity,
    /// Exit 0 even when blocked requests were found (same as `--fail-on never`).
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
    /// Table width (default: COLUMNS, else the terminal's, else 80).
    #[arg(long, value_name = "COLS")]
    width: Option<usize>,
    /// Colour in the table (auto: on a terminal, unless NO_COLOR is set or TERM=dumb).
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: ColorChoice,
    /// Page the table through `less -RF` on a terminal.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    paging: Paging,
    /// Endpoints shown in the terminal summary (ranked by blocked, then traffic).
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Skip packets on link types that cannot be decoded instead of failing the capture.
    #[arg(long)]
    skip_unknown_links: bool,
    /// Read capture and HAR files with `read` instead of mapping them into memory (mapping copies
    /// nothing; a file another process truncates while it is read then reads as the cut
    /// file, unless the cut falls in the part being read, which stops corscope with an error
    /// at the cut, before the records not yet written).
    #[arg(long)]
    no_mmap: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

fn parse_browser(s: &str) -> Result<Browser, String> {
    s.parse()
}

/// Subcommand names a mistyped first argument is compared with.
const SUBCOMMANDS: &[&str] = &[
    "analyze",
    "analyse",
    "explain",
    "schema",
    "completions",
    "man",
    "generate-har",
    "generate-pcap",
    "split",
    "merge",
];

/// A first argument that is no file but one or two edits from a subcommand: the subcommand.
fn mistyped_subcommand(first: &str) -> Option<&'static str> {
    if first == "-"
        || first == "help"
        || SUBCOMMANDS.contains(&first)
        || first.contains(['/', '.'])
        || std::path::Path::new(first).exists()
    {
        return None;
    }
    SUBCOMMANDS
        .iter()
        .map(|c| (strsim::levenshtein(first, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

/// Parses `std::env::args` and runs; the binary's whole `main`.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(sub) = args.get(1).and_then(|first| mistyped_subcommand(first)) {
        eprintln!(
            "corscope: error: '{}' is neither a file nor a subcommand; did you mean `corscope {sub}`?",
            args.get(1).map_or("", String::as_str)
        );
        return ExitCode::from(2);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let command = match cli.command {
        Some(c) => c,
        None => Command::Analyze(Box::new(cli.analyze)),
    };
    match command {
        Command::Explain { reason, list } => run_explain(reason.as_deref(), list),
        Command::Schema => print_quietly(|out| {
            serde_json::to_writer_pretty(&mut *out, &crate::report::json_schema())?;
            writeln!(out)
        }),
        Command::Completions { shell } => print_quietly(|out| {
            // Made in memory: clap_complete panics on a write error (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "corscope", &mut script);
            out.write_all(&script)
        }),
        Command::Man => print_quietly(|out| clap_mangen::Man::new(Cli::command()).render(out)),
        Command::GenerateHar { out, bytes, seed } => run_generate_har(&out, bytes, seed),
        Command::GeneratePcap {
            out,
            bytes,
            seed,
            tls_keylog,
            quic_keylog,
            non_cors_percent,
        } => {
            let keylog = tls_keylog.as_deref().or(quic_keylog.as_deref());
            let wire = match (&tls_keylog, &quic_keylog) {
                (Some(_), _) => crate::synth::Wire::H2Tls,
                (None, Some(_)) => crate::synth::Wire::H3Quic,
                (None, None) => crate::synth::Wire::Http1,
            };
            run_generate_pcap(&out, bytes, seed, (wire, keylog), non_cors_percent)
        }
        Command::Split {
            shards,
            out,
            files,
            skip_unknown_links,
        } => run_split(shards, &out, &files, skip_unknown_links),
        Command::Merge { files } => run_merge(&files),
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

/// `generate-har`: a synthetic HAR of about `bytes` to `out` (`-`: stdout).
fn run_generate_har(out: &str, bytes: u64, seed: u64) -> ExitCode {
    let spec = crate::synth::HarSpec {
        seed,
        target_bytes: bytes,
        ..Default::default()
    };
    let result = write_generated(out, |w| crate::synth::write_har(w, &spec));
    generated(out, result, |(b, n)| format!("{n} entries, {b} bytes"))
}

/// `generate-pcap`: a synthetic capture of about `bytes` to `out` (`-`: stdout) in `wire`'s
/// protocols, with its key log written to the file given beside it (TLS and QUIC), and
/// `non_cors_percent` of its requests no-cors subresource loads.
fn run_generate_pcap(
    out: &str,
    bytes: u64,
    seed: u64,
    (wire, keylog): (crate::synth::Wire, Option<&str>),
    non_cors_percent: u8,
) -> ExitCode {
    let spec = crate::synth::PcapSpec {
        seed,
        target_bytes: bytes,
        wire,
        non_cors_percent,
        ..Default::default()
    };
    let result = write_generated(out, |w| crate::synth::write_pcap(w, &spec));
    let result = result.and_then(|c| match keylog {
        Some(k) => std::fs::write(k, &c.keylog).map(|()| c),
        None => Ok(c),
    });
    generated(out, result, |c| {
        format!(
            "{} packets ({} connections, {} requests of which {} preflights), {} bytes",
            c.packets, c.connections, c.requests, c.preflights, c.bytes
        )
    })
}

/// Writes a generated input to `out` (`-`: stdout) through a buffer, flushed at the end.
fn write_generated<T>(
    out: &str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<T>,
) -> io::Result<T> {
    if out == "-" {
        let mut w = io::BufWriter::new(io::stdout().lock());
        write(&mut w).and_then(|c| w.flush().map(|()| c))
    } else {
        std::fs::File::create(out).and_then(|f| {
            let mut w = io::BufWriter::with_capacity(1 << 20, f);
            let r = write(&mut w);
            w.flush().and(r)
        })
    }
}

/// The exit code of a generator, and its one line on stderr (`what` describes the output).
fn generated<T>(out: &str, result: io::Result<T>, what: impl FnOnce(T) -> String) -> ExitCode {
    match result {
        Ok(c) => {
            eprintln!("corscope: wrote {} to {out}", what(c));
            ExitCode::SUCCESS
        }
        // `generate-… - | head`: the reader has what it wanted.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corscope: error: {out}: {e}");
            ExitCode::from(2)
        }
    }
}

/// `merge`: the summaries of `files` as one, on stdout; the ones that cannot be merged are
/// named and left out.
fn run_merge(files: &[String]) -> ExitCode {
    match crate::merge::merge_files(files) {
        Ok(m) => {
            if !m.dropped.is_empty() {
                eprintln!(
                    "corscope: note: not mergeable, left out: {}",
                    m.dropped.join(", ")
                );
            }
            print_quietly(|out| {
                serde_json::to_writer(&mut *out, &m.summary)?;
                writeln!(out)
            })
        }
        Err(e) => {
            eprintln!("corscope: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_split(
    shards: usize,
    out: &std::path::Path,
    files: &[String],
    skip_unknown_links: bool,
) -> ExitCode {
    let opts = crate::capture::CaptureOptions {
        skip_unknown_link_types: skip_unknown_links,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    match crate::split::split(files, shards, out, &opts) {
        Ok(s) => {
            let secs = start.elapsed().as_secs_f64();
            // The captures' line, when there were captures (HARs have their own lines).
            if s.packets > 0 || s.hars.is_empty() {
                eprintln!(
                    "corscope: split {} packets ({} bytes) into {shards} shard(s) in {} in {secs:.2} s ({:.0} MB/s); packets per shard: {:?}",
                    s.packets,
                    s.bytes,
                    out.display(),
                    s.bytes as f64 / 1e6 / secs.max(1e-9),
                    s.per_shard
                );
            }
            for h in &s.hars {
                eprintln!(
                    "corscope: split {}: {} entries of {} page(s), {} independent group(s); entries per shard: {:?}",
                    h.path, h.entries, h.pages, h.groups, h.per_shard
                );
                if let Some(why) = &h.whole {
                    eprintln!(
                        "corscope: note: {}: not split, all in one shard: {why}",
                        h.path
                    );
                }
            }
            for (f, part) in &s.out_of_order_inputs {
                let what = match part {
                    Some(offset) => format!("the part at byte {offset}"),
                    None => "it".to_owned(),
                };
                eprintln!("corscope: warning: {f}: {what} starts before the packets before it end (inputs are one stream in time, in natural name order); written as a section of its own in every shard, analysed as a capture of its own");
            }
            if s.unplaced_fragments > 0 {
                eprintln!(
                    "corscope: warning: {} IP fragment(s) without their first fragment went to shard 0",
                    s.unplaced_fragments
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("corscope: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Writes to standard output; a closed pipe (`| head`) ends quietly.
fn print_quietly(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> ExitCode {
    let mut out = io::BufWriter::new(io::stdout().lock());
    match f(&mut out).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corscope: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_explain(query: Option<&str>, list: bool) -> ExitCode {
    // `| head` closing the pipe ends the output quietly.
    let print = |text: &str| match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("corscope: error: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    };
    let Some(query) = query.filter(|_| !list) else {
        // The reasons, then the audit's codes, in one aligned list.
        let lines = explain::list_lines();
        let audit = crate::audit::list_lines(explain::list_width());
        let mut text = lines
            .into_iter()
            .chain(audit)
            .collect::<Vec<_>>()
            .join("\n");
        text.push('\n');
        return print(&text);
    };
    // Audit codes (CA001…) have their own table beside the reason registry.
    if let Some(text) = crate::audit::explain(query) {
        return print(&text);
    }
    match explain::explain_text(query) {
        Some(text) => print(&text),
        None => {
            eprintln!("corscope: error: unknown reason '{query}' (neither a reason name nor a console message corscope knows)");
            let s = explain::suggestions(query);
            if !s.is_empty() {
                eprintln!("did you mean: {}", s.join(", "));
            }
            eprintln!("`corscope explain --list` lists every reason");
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

/// Glob match over the whole text: `*` any run of characters, `?` one, the rest literal.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was and the text position it matched up to: on a mismatch the star
    // takes one more character (linear backtracking, as shells do).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// Whether the format prints the endpoint report (fixes with their proof, the audit, the
/// timeline): then the records carry their flows and the printer collects them.
fn reports_insights(format: OutputFormat) -> bool {
    matches!(
        format,
        OutputFormat::Table | OutputFormat::Json | OutputFormat::Html | OutputFormat::Junit
    )
}

/// The audit's findings at `least` severity or above, for `--fail-on finding`: over the records
/// the filters kept, as the summary's audit lists them (the collector runs for that flag in
/// every format).
fn audit_findings(audit: &[crate::audit::Finding], least: crate::audit::Severity) -> usize {
    audit.iter().filter(|f| f.severity <= least).count()
}

/// Whether standard output is read as it is written (a terminal, a pipe, a socket): then
/// every record is flushed as it is printed, as ripgrep's `--line-buffered` does.
fn stdout_streams() -> bool {
    let out = io::stdout();
    if out.is_terminal() {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::FileTypeExt;
        if let Ok(fd) = out.as_fd().try_clone_to_owned() {
            if let Ok(m) = std::fs::File::from(fd).metadata() {
                return m.file_type().is_fifo() || m.file_type().is_socket();
            }
        }
    }
    false
}

/// Whether an input is a regular file (`-`: whether standard input is one); anything else (a
/// pipe, a terminal) is read live.
fn is_regular_file(path: &str) -> bool {
    if path != "-" {
        return std::fs::metadata(path).is_ok_and(|m| m.is_file());
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() {
            return std::fs::File::from(fd)
                .metadata()
                .is_ok_and(|m| m.is_file());
        }
    }
    false
}

/// The printing side of a run: filters, per-input browser and summary, the sinks.
struct Printer<'a> {
    a: &'a AnalyzeArgs,
    style: Style,
    /// The table (and text summary), when the format is `table` and not `--quiet`.
    text: Option<Output>,
    /// NDJSON, CSV or JSON records.
    sink: Option<Box<dyn RecordSink>>,
    line_buffered: bool,
    /// The input being printed: its browser, its summary, whether its heading is out.
    file: Option<(Browser, Summary, bool)>,
    total: Summary,
    /// Endpoints, fixes with their proof and the audit (table and JSON summaries, and
    /// `--fail-on finding` in any format).
    collector: Option<crate::report::summary::Collector>,
    reports: Vec<InputReport>,
    error: Option<io::Error>,
    stop: Arc<AtomicBool>,
    /// Whether the summary's endpoint table and disagreements are printed
    /// ([`Printer::input_summary`]).
    tables: bool,
}

impl Printer<'_> {
    /// An input's summary: with its endpoint table and disagreements only where they are
    /// printed (the table, JSON, `--summary`); the other formats' runs count.
    fn input_summary(tables: bool, b: Browser) -> Summary {
        if tables {
            Summary::new(b)
        } else {
            Summary::counts_only(b)
        }
    }

    fn keep(&self, r: &Record, b: Browser) -> bool {
        let a = self.a;
        (a.only.is_empty() || a.only.iter().any(|o| o.verdict() == r.verdict_for(b)))
            && a.origin
                .as_deref()
                .is_none_or(|g| glob(g, r.origin.as_deref().unwrap_or("")))
            && a.url.as_deref().is_none_or(|g| glob(g, &r.url))
    }

    fn heading(&mut self, name: &str, b: Browser) -> io::Result<()> {
        let style = self.style;
        if let Some(out) = self.text.as_mut().filter(|_| !self.a.summary) {
            let title = format!("{name} · as {} decides", b.name());
            // Wrapped like every other line, then painted line by line.
            for line in term::wrap(&title, "", "    ", style.width) {
                writeln!(out, "{}", style.paint(&line, "1"))?;
            }
        }
        Ok(())
    }

    fn record(&mut self, r: Record) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_record(r) {
            self.error = Some(e);
            // No more input is read after a write error (a closed pipe, a full disk).
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn try_record(&mut self, r: Record) -> io::Result<()> {
        let tables = self.tables;
        let (b, _, _) = *self.file.get_or_insert_with(|| {
            // One browser per input: the flag, else the one that recorded it.
            let b = self
                .a
                .browser
                .or_else(|| r.recorded_by.parse().ok())
                .unwrap_or(Browser::Chromium);
            (b, Printer::input_summary(tables, b), false)
        });
        if !self.keep(&r, b) {
            return Ok(());
        }
        if let Some(c) = self.collector.as_mut() {
            // Judged by the input's browser, as its rows were printed and the exit status
            // counts them.
            c.add_judged(&r, b);
        }
        if let Some((_, summary, headed)) = self.file.as_mut() {
            summary.add(&r);
            if !*headed {
                *headed = true;
                self.heading(&r.source, b)?;
            }
        }
        if self.a.summary {
            return Ok(());
        }
        if let Some(out) = self.text.as_mut() {
            for line in term::record_lines(&r, b, &self.style) {
                writeln!(out, "{line}")?;
            }
            if self.line_buffered {
                out.flush()?;
            }
        }
        if let Some(sink) = self.sink.as_mut() {
            sink.record(&r)?;
            if self.line_buffered {
                sink.flush()?;
            }
        }
        Ok(())
    }

    fn done(&mut self, report: InputReport) {
        let (b, mut summary, headed) = self.file.take().unwrap_or_else(|| {
            let b = self
                .a
                .browser
                .or(report.recorded_by)
                .unwrap_or(Browser::Chromium);
            (b, Printer::input_summary(self.tables, b), false)
        });
        if !headed && self.text.is_some() && self.error.is_none() && !self.a.summary {
            let written = self
                .heading(&report.name, b)
                .and_then(|()| match self.text.as_mut() {
                    Some(out) => writeln!(
                        out,
                        "   No cross-origin requests{} (--all lists every request).",
                        if report.error.is_some() {
                            " before the error"
                        } else {
                            ""
                        }
                    ),
                    None => Ok(()),
                });
            if let Err(e) = written {
                self.error = Some(e);
            }
        }
        let error = report.error_text();
        if let Some(e) = &error {
            let msg = format!("{}: {e}", report.name);
            eprintln!("corscope: error: {msg}");
            summary.errors.push(msg);
        }
        summary.inputs.push(InputSummary {
            name: report.name.clone(),
            format: report.format.map(|f| f.name()),
            browser: b.id(),
            requests: summary.requests,
            blocked: summary.blocked(),
            unknown: summary.unknown(),
            stopped: report.stopped,
            error,
        });
        self.total.merge(summary);
        self.reports.push(report);
    }
}

fn run_analyze(a: AnalyzeArgs) -> io::Result<ExitCode> {
    if let Some(j) = a.jobs {
        // Only fails when a global pool already exists, which nothing else creates.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(j.max(1))
            .build_global();
    }
    let jobs = rayon::current_num_threads().max(1);
    let tty = io::stdout().is_terminal();
    let format = a.format.unwrap_or(if tty {
        OutputFormat::Table
    } else {
        OutputFormat::Ndjson
    });
    // The summary is a table or a JSON value; the HTML and JUnit reports already carry it.
    if a.summary
        && matches!(
            format,
            OutputFormat::Csv | OutputFormat::Html | OutputFormat::Junit
        )
    {
        let name = format.to_possible_value();
        let name = name.as_ref().map_or("this", |v| v.get_name());
        eprintln!(
            "corscope: error: --summary has no {name} form (use table, json or ndjson; the html and junit reports include the summary)"
        );
        return Ok(ExitCode::from(2));
    }
    let stop = watch_signals();
    // Several inputs are analysed at once (each with its share of the threads) and printed
    // in the order given.
    let concurrent = jobs.min(a.files.len()).max(1);
    let live = a.files.iter().any(|f| !is_regular_file(f));
    // `--fail-on finding` needs the audit, which reads the flows behind the records, whatever
    // the format prints.
    let audits = a.fail_on.contains(&FailOn::Finding);
    let mut opts = Options {
        all: a.all,
        attach_flows: reports_insights(format) || audits,
        capture_workers: (jobs / concurrent).max(1),
        stop: stop.clone(),
        live,
        ..Options::default()
    };
    // NDJSON lines are written on the resolving workers; the caller's thread only writes them.
    opts.ndjson_lines = format == OutputFormat::Ndjson && !a.quiet && !a.summary;
    opts.capture.skip_unknown_link_types = a.skip_unknown_links;
    opts.mmap = !a.no_mmap;
    a.limits.apply(&mut opts);
    if let Some(code) = load_keylogs(&a.keylog, &mut opts) {
        return Ok(code);
    }
    let style = Style::detect(a.width, a.color, tty);
    let records_out = !a.quiet && !a.summary;
    let sink = if records_out {
        record_sink(format, a.browser.unwrap_or(Browser::Chromium))?
    } else {
        None
    };
    let text = (format == OutputFormat::Table && !a.quiet)
        // A live input is not paged: the pager would hold the rows and take the Ctrl-C.
        .then(|| Output::new(a.paging == Paging::Auto && !a.summary && !live));
    let mut p = Printer {
        a: &a,
        style,
        text,
        sink,
        line_buffered: stdout_streams(),
        file: None,
        total: Summary::default(),
        collector: (reports_insights(format) || audits).then(|| {
            crate::report::summary::Collector::new(a.browser.unwrap_or(Browser::Chromium))
        }),
        reports: Vec::new(),
        error: None,
        stop: stop.clone(),
        tables: a.summary || matches!(format, OutputFormat::Table | OutputFormat::Json),
    };
    if concurrent <= 1 {
        for path in &a.files {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let report = pipeline::analyze(path, &opts, &mut |r| p.record(r));
            p.done(report);
        }
    } else {
        analyze_concurrently(&a.files, &opts, concurrent, &stop, &mut p);
    }
    finish(p, format)
}

/// The stop flag: the first SIGINT or SIGTERM ends the input (what was read is decided and
/// summarised); a second one, if that takes too long, ends the process as the signal would.
fn watch_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, stop.clone());
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    stop
}

/// Loads the `--keylog` files into the capture options; `Some` exit status when one cannot be
/// used (unreadable, standard input, no secrets in it).
fn load_keylogs(paths: &[String], opts: &mut Options) -> Option<ExitCode> {
    for path in paths {
        let loaded = if path == "-" {
            Err("standard input is for captures; give the key log as a file".to_owned())
        } else {
            std::fs::read(path)
                .map_err(|e| e.to_string())
                .map(|b| opts.capture.keylog.add_bytes(&b))
        };
        match loaded {
            Ok(r) if r.used == 0 => {
                eprintln!(
                    "corscope: error: --keylog {path}: no TLS secrets in it ({} malformed line(s))",
                    r.malformed
                );
                return Some(ExitCode::from(2));
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
                return Some(ExitCode::from(2));
            }
        }
    }
    None
}

/// The sink the records are written to on stdout, by format (`None` for the table, which the
/// printer writes itself); `browser` is the one the reports are written for.
fn record_sink(format: OutputFormat, browser: Browser) -> io::Result<Option<Box<dyn RecordSink>>> {
    let stdout = || io::BufWriter::with_capacity(1 << 16, io::stdout());
    Ok(match format {
        OutputFormat::Table => None,
        OutputFormat::Ndjson => Some(Box::new(NdjsonSink::new(stdout()))),
        OutputFormat::Csv => Some(Box::new(CsvSink::new(stdout())?)),
        OutputFormat::Json => Some(Box::new(JsonSink::new(stdout(), browser))),
        OutputFormat::Html => Some(Box::new(crate::report::summary::ReportSink::new(
            stdout(),
            crate::report::summary::html::render,
        ))),
        OutputFormat::Junit => Some(Box::new(crate::report::summary::ReportSink::new(
            stdout(),
            crate::report::summary::junit::render,
        ))),
    })
}

/// Analyses several inputs at once, `concurrent` at a time and each with its share of the
/// threads, and prints them in the order given: each input's records go through a channel of
/// its own, read in turn.
fn analyze_concurrently(
    files: &[String],
    opts: &Options,
    concurrent: usize,
    stop: &AtomicBool,
    p: &mut Printer<'_>,
) {
    let next = AtomicUsize::new(0);
    let mut senders = Vec::with_capacity(files.len());
    let mut receivers = Vec::with_capacity(files.len());
    for _ in files {
        let (tx, rx) = mpsc::sync_channel::<FileMsg>(FILE_QUEUE);
        senders.push(Mutex::new(Some(tx)));
        receivers.push(rx);
    }
    let take = |i: usize| {
        senders
            .get(i)
            .and_then(|m| m.lock().ok().and_then(|mut t| t.take()))
    };
    thread::scope(|s| {
        for _ in 0..concurrent {
            s.spawn(|| {
                // Inputs are taken in order, so the one being printed is always running.
                while let Some(i) = Some(next.fetch_add(1, Ordering::Relaxed))
                    .filter(|i| *i < files.len() && !stop.load(Ordering::Relaxed))
                {
                    let (Some(tx), Some(path)) = (take(i), files.get(i)) else {
                        continue;
                    };
                    let mut batch = Vec::with_capacity(FILE_BATCH);
                    let report = pipeline::analyze(path, opts, &mut |r| {
                        batch.push(r);
                        if batch.len() >= FILE_BATCH || opts.live {
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
        for (i, rx) in receivers.into_iter().enumerate() {
            if stop.load(Ordering::Relaxed) {
                // An input not started yet never will be: its channel ends here. One
                // already started (its sender taken) ends soon and reports.
                drop(take(i));
            }
            for msg in rx.iter() {
                match msg {
                    FileMsg::Records(rs) => rs.into_iter().for_each(|r| p.record(r)),
                    FileMsg::Done(report) => {
                        p.done(*report);
                        break;
                    }
                }
            }
        }
    });
}

/// Ends the run: the JSON summary or the text one, warnings, the exit status.
fn finish(mut p: Printer<'_>, format: OutputFormat) -> io::Result<ExitCode> {
    let a = p.a;
    if let Some(e) = p.error.take() {
        return Err(e);
    }
    let mut findings = 0;
    if let Some(c) = p.collector.as_ref() {
        let insights = c.finish();
        findings = audit_findings(&insights.audit, a.finding_severity);
        // The table, JSON, HTML and JUnit print them (with `--fail-on finding` alone the
        // collector runs for the count, and NDJSON's `--summary` stays as it was).
        if reports_insights(format) {
            p.total.insights = Some(insights);
        }
    }
    if let Some(mut sink) = p.sink.take() {
        sink.summary(&p.total);
        sink.finish()?;
    }
    if a.summary && !a.quiet && format != OutputFormat::Table {
        let mut out = io::BufWriter::new(io::stdout().lock());
        if format == OutputFormat::Json {
            serde_json::to_writer(&mut out, &serde_json::json!({ "summary": &p.total }))?;
        } else {
            serde_json::to_writer(&mut out, &p.total)?;
        }
        writeln!(out)?;
        out.flush()?;
    }
    if let Some(mut out) = p.text.take() {
        print_summary(&mut out, &p.total, &p.reports, &p.style, a.top)?;
        out.finish()?;
    }
    if !a.quiet {
        print_warnings(&p.reports, a.verbose);
    }
    let t = &p.total;
    let fails = |f: FailOn| match f {
        FailOn::Blocked => t.blocked() > 0,
        FailOn::Unknown => t.unknown() > 0,
        FailOn::Finding => findings > 0,
        FailOn::Never => false,
    };
    let never = a.exit_zero || a.fail_on.contains(&FailOn::Never);
    Ok(if !t.errors.is_empty() {
        ExitCode::from(2)
    } else if !never && a.fail_on.iter().any(|f| fails(*f)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes `text` wrapped to the style's width, first line after `first`, the rest after `rest`.
fn para(out: &mut dyn Write, style: &Style, text: &str, first: &str, rest: &str) -> io::Result<()> {
    for line in term::wrap(text, first, rest, style.width) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Endpoints, reasons and disagreements listed at most; the JSON summary has them all.
const TOP: usize = 10;

/// The summary on a terminal: the endpoint report (or, without it, the totals, reasons,
/// endpoints and preflight overhead), then the inputs, disagreements, TLS hints and errors.
fn print_summary(
    out: &mut dyn Write,
    s: &Summary,
    reports: &[InputReport],
    style: &Style,
    top: usize,
) -> io::Result<()> {
    // The endpoint report (issue 14) replaces the per-reason and per-endpoint lists below
    // when it was collected.
    let legacy = s.insights.is_none();
    if let Some(insights) = &s.insights {
        print_insights(out, s, insights, style, top)?;
    } else {
        print_totals(out, s, style)?;
    }
    print_inputs(out, s, style)?;
    if legacy {
        print_reasons(out, s, style)?;
        print_blocked_endpoints(out, s, style)?;
        print_preflight_overhead(out, s, style)?;
    }
    print_disagreements(out, s, style)?;
    print_tls_hints(out, reports, style)?;
    print_errors(out, s, style)
}

/// The endpoint report, wrapped to the terminal like the rest (each line keeps its indent).
fn print_insights(
    out: &mut dyn Write,
    s: &Summary,
    insights: &crate::report::summary::Insights,
    style: &Style,
    top: usize,
) -> io::Result<()> {
    let mut text = Vec::new();
    crate::report::summary::text::print(&mut text, insights, s.judged_by(), top)?;
    // Wrapped to the terminal like the rest, keeping each line's indent.
    for line in String::from_utf8_lossy(&text).lines() {
        let body = line.trim_start();
        if body.is_empty() {
            writeln!(out)?;
            continue;
        }
        let indent = &line[..line.len() - body.len()];
        para(out, style, body, indent, &format!("{indent}    "))?;
    }
    Ok(())
}

/// The totals line (without the endpoint report).
fn print_totals(out: &mut dyn Write, s: &Summary, style: &Style) -> io::Result<()> {
    let v = |k: &str| s.verdicts.get(k).copied().unwrap_or(0);
    let who = match s.browser.parse::<Browser>() {
        Ok(b) => b.name().to_owned(),
        Err(_) => "each input's browser".to_owned(),
    };
    let not_cors = if s.not_cors > 0 {
        format!("; {} more not CORS (same-origin or no-cors)", s.not_cors)
    } else {
        String::new()
    };
    writeln!(out)?;
    para(
        out,
        style,
        &format!(
            "{} cross-origin request(s) as {who} decides them: {} blocked, {} allowed, {} unknown{not_cors}",
            s.requests,
            v("blocked"),
            v("allowed"),
            v("unknown")
        ),
        "",
        "  ",
    )?;
    Ok(())
}

/// One line per input, when there are several.
fn print_inputs(out: &mut dyn Write, s: &Summary, style: &Style) -> io::Result<()> {
    if s.inputs.len() > 1 {
        writeln!(out, "\nInputs:")?;
        for i in &s.inputs {
            let state = match (&i.error, i.stopped) {
                (Some(_), _) => " — error (below)",
                (None, true) => " — stopped early",
                _ => "",
            };
            para(
                out,
                style,
                &format!(
                    "{} ({}, as {}): {} request(s), {} blocked, {} unknown{state}",
                    i.name,
                    i.format.unwrap_or("unread"),
                    i.browser,
                    i.requests,
                    i.blocked,
                    i.unknown
                ),
                "  ",
                "      ",
            )?;
        }
    }
    Ok(())
}

/// Blocked requests by reason, with the command that explains each.
fn print_reasons(out: &mut dyn Write, s: &Summary, style: &Style) -> io::Result<()> {
    if !s.reasons.is_empty() {
        writeln!(out, "\nBlocked, by reason:")?;
        let mut reasons: Vec<_> = s.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, n) in reasons {
            para(
                out,
                style,
                &format!("{reason} (corscope explain {reason})"),
                &format!("  {n:>5}  "),
                "         ",
            )?;
        }
    }
    Ok(())
}

/// The endpoints with blocked requests, most first, with their fix.
fn print_blocked_endpoints(out: &mut dyn Write, s: &Summary, style: &Style) -> io::Result<()> {
    let mut blocked: Vec<_> = s.endpoints.iter().filter(|(_, e)| e.blocked > 0).collect();
    if !blocked.is_empty() {
        blocked.sort_by(|a, b| b.1.blocked.cmp(&a.1.blocked).then(a.0.cmp(b.0)));
        writeln!(out, "\nBlocked, by endpoint:")?;
        for (ep, e) in blocked.iter().take(TOP) {
            let reasons: Vec<&str> = e.reasons.keys().map(String::as_str).collect();
            para(
                out,
                style,
                &format!("{ep} [{}]", reasons.join(", ")),
                &format!("  {}/{}  ", e.blocked, e.requests),
                "         ",
            )?;
            if let Some(fix) = &e.fix {
                para(out, style, fix, "         fix: ", "              ")?;
            }
        }
        if blocked.len() > TOP {
            writeln!(
                out,
                "  … and {} more (--format json lists all)",
                blocked.len() - TOP
            )?;
        }
    }
    Ok(())
}

/// The endpoints whose preflights cost the most time.
fn print_preflight_overhead(out: &mut dyn Write, s: &Summary, style: &Style) -> io::Result<()> {
    let mut overhead: Vec<_> = s
        .endpoints
        .iter()
        .filter(|(_, e)| e.preflights > 0 && e.preflight_wait_ms > 0.0)
        .collect();
    if !overhead.is_empty() {
        overhead.sort_by(|a, b| b.1.preflight_wait_ms.total_cmp(&a.1.preflight_wait_ms));
        writeln!(out)?;
        para(
            out,
            style,
            "Preflight overhead (time to the OPTIONS answer; `Access-Control-Max-Age` saves it):",
            "",
            "",
        )?;
        for (ep, e) in overhead.iter().take(TOP) {
            para(
                out,
                style,
                &format!(
                    "{:.1} ms over {} preflight(s), {:.1} ms each {ep}",
                    e.preflight_wait_ms,
                    e.preflights,
                    e.preflight_wait_ms / e.preflights as f64
                ),
                "  ",
                "      ",
            )?;
        }
    }
    Ok(())
}

/// Disagreements listed in the table's summary, grouped by route pattern.
const DISAGREEMENTS_LISTED: usize = 5;

/// The requests the browsers decide differently, grouped by route pattern and verdicts
/// (`PATCH …/items/{id} ×4: Chromium blocked (…), Firefox unknown, …`), each group with its
/// first request's explanation and fix: the same explanation repeated for every id made the
/// summary as long as the input's endpoints. `--format json` keeps every request's.
fn print_disagreements(out: &mut dyn Write, s: &Summary, style: &Style) -> io::Result<()> {
    if s.disagreements.is_empty() {
        return Ok(());
    }
    // (pattern, verdicts) → (first text, requests, first seen); a map: up to 10,000
    // disagreements.
    let mut by_group: std::collections::BTreeMap<(String, &str), (&str, usize, usize)> =
        std::collections::BTreeMap::new();
    for (seen, (ep, what)) in s.disagreements.iter().enumerate() {
        let pattern = match ep.split_once(' ') {
            Some((method, url)) => format!(
                "{method} {}",
                crate::report::summary::route::endpoint_key(url)
            ),
            None => ep.clone(),
        };
        let v = crate::report::disagreement_parts(what).0;
        by_group.entry((pattern, v)).or_insert((what, 0, seen)).1 += 1;
    }
    // Most requests first, then by pattern, then as first seen.
    let mut groups: Vec<_> = by_group.into_iter().collect();
    groups.sort_by(|((pa, _), (_, na, sa)), ((pb, _), (_, nb, sb))| {
        nb.cmp(na).then_with(|| pa.cmp(pb)).then(sa.cmp(sb))
    });
    let groups: Vec<(String, String, &str, usize)> = groups
        .into_iter()
        .map(|((p, v), (what, n, _))| (p, v.to_owned(), what, n))
        .collect();
    writeln!(out, "\nBrowsers disagree:")?;
    // A group whose verdicts and explanation were given for one listed above says so.
    let mut told: Vec<(String, String)> = Vec::new();
    for (pattern, v, what, n) in groups.iter().take(DISAGREEMENTS_LISTED) {
        let times = if *n > 1 {
            format!(" ×{n}")
        } else {
            String::new()
        };
        let w = crate::report::disagreement_parts(what).1.to_owned();
        let text = if told.iter().any(|(tv, tw)| tv == v && *tw == w) {
            format!("{pattern}{times}: {v} — the same as above")
        } else {
            told.push((v.clone(), w));
            format!("{pattern}{times}: {what}")
        };
        para(out, style, &text, "  ", "      ")?;
    }
    if groups.len() > DISAGREEMENTS_LISTED {
        writeln!(
            out,
            "  … and {} more (--format json lists all)",
            groups.len() - DISAGREEMENTS_LISTED
        )?;
    }
    Ok(())
}

/// A hint per input whose TLS or QUIC connections were not decrypted: a key log opens those
/// whose handshake is in the capture; those begun before the capture need a new capture.
fn print_tls_hints(out: &mut dyn Write, reports: &[InputReport], style: &Style) -> io::Result<()> {
    for r in reports {
        let Some(stats) = &r.capture else {
            continue;
        };
        if stats.tls_connections + stats.quic_encrypted == 0 {
            continue;
        }
        let what = match (stats.tls_connections, stats.quic_encrypted) {
            (t, 0) => format!("{t} TLS connection(s)"),
            (0, q) => format!("{q} QUIC (HTTP/3) connection(s)"),
            (t, q) => format!("{t} TLS and {q} QUIC (HTTP/3) connection(s)"),
        };
        let late = stats.before_capture;
        let total = stats.tls_connections + stats.quic_encrypted;
        let way_out = if late == 0 {
            KEYLOG_WAY_OUT.to_string()
        } else {
            let began = format!(
                "{} began before the capture, so no key log can open {}: start capturing before the browser connects, e.g. after restarting it or flushing chrome://net-internals/#sockets",
                if late == total { "they all".to_string() } else { format!("{late} of them") },
                if late == 1 { "it" } else { "them" },
            );
            if late == total {
                began
            } else {
                format!("{KEYLOG_WAY_OUT}; {began}")
            }
        };
        writeln!(out)?;
        para(
            out,
            style,
            &format!(
                "{}: {what} encrypted, not decrypted ({way_out}; `-v` shows why each was not)",
                r.name
            ),
            "",
            "  ",
        )?;
    }
    Ok(())
}

/// How a capture's TLS and QUIC connections are decrypted.
const KEYLOG_WAY_OUT: &str = "give the browser's SSLKEYLOGFILE with `--keylog FILE`, or embed it with `editcap --inject-secrets`";

/// The inputs' errors (they make the exit status 2).
fn print_errors(out: &mut dyn Write, s: &Summary, style: &Style) -> io::Result<()> {
    if !s.errors.is_empty() {
        writeln!(out, "\n{}", style.paint("Errors (exit status 2):", "1;31"))?;
        for e in &s.errors {
            para(out, style, e, "  ", "      ")?;
        }
    }
    Ok(())
}

fn print_warnings(reports: &[InputReport], verbose: bool) {
    for r in reports {
        for (kind, n) in r.diagnostics.counts() {
            eprintln!("corscope: warning: {}: {n} × {kind}", r.name);
            if verbose || kind.is_advice() {
                for d in r.diagnostics.details(kind) {
                    eprintln!("    {d}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("*/api/*", "https://x.test/api/v1", true),
            ("*/api/*", "https://x.test/apx/v1", false),
            ("https://*.example.com", "https://a.b.example.com", true),
            ("https://*.example.com", "https://example.com", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*", "", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("**a*b*", "xxaxxbxx", true),
        ] {
            assert_eq!(glob(p, t), want, "{p} ~ {t}");
        }
    }

    #[test]
    fn typos_of_subcommands_are_caught_and_files_are_not() {
        assert_eq!(mistyped_subcommand("anlyze"), Some("analyze"));
        assert_eq!(mistyped_subcommand("explian"), Some("explain"));
        assert_eq!(mistyped_subcommand("capture.pcap"), None);
        assert_eq!(mistyped_subcommand("-"), None);
        assert_eq!(mistyped_subcommand("explain"), None);
        assert_eq!(mistyped_subcommand("zzzzzzzzz"), None);
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
