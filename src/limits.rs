//! Resource limits of the analysis, defined once: [`LIMITS`] gives each its flag, default,
//! unit, help and where it goes in [`Options`]; the command line's flags and their help, the
//! defaults and the README's list are all made from it (as ripgrep's `flags/defs.rs` does).
//! Hitting a limit is counted as a `limit-…` warning and never fatal, except
//! `--max-record-bytes`, past which a capture cannot be framed at all.

use crate::capture;
use crate::input::har;
use crate::pairing;
use crate::pipeline::Options;

/// How a limit's value is written and read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes; the flag takes `K`, `M`, `G` suffixes.
    Bytes,
    /// A plain count.
    Count,
    /// Seconds.
    Seconds,
}

/// One limit: its flag (without `--`), default, smallest value, unit, help, and how it sets
/// [`Options`].
pub struct Limit {
    pub flag: &'static str,
    pub default: u64,
    /// The smallest value the analysis works with (where 0 would mean "nothing works"): the
    /// flag refuses a smaller one, naming this, instead of raising it unsaid.
    pub min: u64,
    pub unit: Unit,
    pub help: &'static str,
    /// Stores a value into the options.
    pub apply: fn(&mut Options, u64),
}

fn us(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Every limit. The defaults are the `pub const`s of the modules that enforce them.
pub const LIMITS: &[Limit] = &[
    Limit {
        flag: "max-string-bytes",
        default: har::MAX_STRING_BYTES as u64,
        min: 0,
        unit: Unit::Bytes,
        help: "HAR strings longer than this are dropped (bodies are never read)",
        apply: |o, v| o.har.max_string_bytes = us(v),
    },
    Limit {
        flag: "max-entry-bytes",
        default: har::MAX_ENTRY_BYTES as u64,
        min: 0,
        unit: Unit::Bytes,
        help: "A HAR entry keeping more than this (after dropped strings) is skipped",
        apply: |o, v| o.har.max_entry_bytes = us(v),
    },
    Limit {
        flag: "max-depth",
        default: har::MAX_DEPTH as u64,
        min: 0,
        unit: Unit::Count,
        help: "JSON nesting deeper than this skips the entry",
        apply: |o, v| o.har.max_depth = us(v),
    },
    Limit {
        flag: "detect-window",
        default: crate::input::DETECT_WINDOW as u64,
        min: 4,
        unit: Unit::Bytes,
        help: "Leading bytes searched for the input's format (a HAR after whitespace)",
        apply: |o, v| o.detect_window = us(v),
    },
    Limit {
        flag: "max-record-bytes",
        default: capture::MAX_RECORD_BYTES as u64,
        min: 0,
        unit: Unit::Bytes,
        help: "Largest capture record (packet) accepted; a larger one stops the capture",
        apply: |o, v| o.capture.max_record_bytes = us(v),
    },
    Limit {
        flag: "max-head-bytes",
        default: capture::MAX_HEAD_BYTES as u64,
        min: 0,
        unit: Unit::Bytes,
        help: "Largest HTTP message head (request/status line + headers)",
        apply: |o, v| o.capture.max_head_bytes = us(v),
    },
    Limit {
        flag: "max-headers",
        default: capture::MAX_HEADERS as u64,
        min: 0,
        unit: Unit::Count,
        help: "Most headers in one HTTP message head",
        apply: |o, v| o.capture.max_headers = us(v),
    },
    Limit {
        flag: "max-chunk-line",
        default: capture::MAX_CHUNK_LINE as u64,
        min: 8,
        unit: Unit::Bytes,
        help: "Longest chunk-size line in a chunked body",
        apply: |o, v| o.capture.max_chunk_line = us(v),
    },
    Limit {
        flag: "max-connection-buffer",
        default: capture::MAX_CONNECTION_BUFFER as u64,
        min: 0,
        unit: Unit::Bytes,
        help: "Bytes buffered per connection and direction (heads, out-of-order data)",
        apply: |o, v| o.capture.max_connection_buffer = us(v),
    },
    Limit {
        flag: "max-ooo-segments",
        default: capture::MAX_OOO_SEGMENTS as u64,
        min: 1,
        unit: Unit::Count,
        help: "Out-of-order TCP segments held per connection and direction",
        apply: |o, v| o.capture.max_ooo_segments = us(v),
    },
    Limit {
        flag: "max-total-buffer",
        default: capture::MAX_TOTAL_BUFFER as u64,
        min: 1,
        unit: Unit::Bytes,
        help: "Bytes all connections may buffer together; the oldest are flushed first",
        apply: |o, v| o.capture.max_total_buffer = us(v),
    },
    Limit {
        flag: "max-connections",
        default: capture::MAX_LIVE_CONNECTIONS as u64,
        min: 1,
        unit: Unit::Count,
        help: "Live TCP connections held; the oldest is flushed first",
        apply: |o, v| o.capture.max_live_connections = us(v),
    },
    Limit {
        flag: "idle-timeout",
        default: capture::IDLE_TIMEOUT_SECS as u64,
        min: 1,
        unit: Unit::Seconds,
        help: "Seconds without packets after which a connection is flushed",
        apply: |o, v| o.capture.idle_timeout_secs = i64::try_from(v).unwrap_or(i64::MAX),
    },
    Limit {
        flag: "max-pipelined",
        default: capture::MAX_PENDING_REQUESTS as u64,
        min: 1,
        unit: Unit::Count,
        help: "Requests waiting for their responses on one connection (pipelining)",
        apply: |o, v| o.capture.max_pending_requests = us(v),
    },
    Limit {
        flag: "max-ip-fragments",
        default: capture::frag::MAX_FRAG_DATAGRAMS as u64,
        min: 1,
        unit: Unit::Count,
        help: "IP datagrams reassembled from fragments at once; the oldest is dropped first",
        apply: |o, v| o.capture.frag.max_datagrams = us(v),
    },
    Limit {
        flag: "max-fragment-bytes",
        default: capture::frag::MAX_FRAG_BYTES as u64,
        min: 0,
        unit: Unit::Bytes,
        help: "Bytes held for IP fragment reassembly",
        apply: |o, v| o.capture.frag.max_bytes = us(v),
    },
    Limit {
        flag: "fragment-timeout",
        default: capture::frag::FRAG_TIMEOUT_SECS as u64,
        min: 0,
        unit: Unit::Seconds,
        help: "Seconds (capture time) an incomplete fragmented datagram waits",
        apply: |o, v| o.capture.frag.timeout_secs = i64::try_from(v).unwrap_or(i64::MAX),
    },
    Limit {
        flag: "max-reorder-buffer",
        default: capture::MAX_REORDER_EXCHANGES as u64,
        min: 1,
        unit: Unit::Count,
        help: "Finished exchanges held to put a capture's exchanges in time order",
        apply: |o, v| o.capture.max_reorder_exchanges = us(v),
    },
    Limit {
        flag: "max-reorder-bytes",
        default: capture::MAX_REORDER_BYTES as u64,
        min: 1,
        unit: Unit::Bytes,
        help: "Bytes of finished exchanges (URLs and heads) held to put a capture's exchanges in time order",
        apply: |o, v| o.capture.max_reorder_bytes = us(v),
    },
    Limit {
        flag: "pairing-window",
        default: (pairing::HORIZON / 1_000_000) as u64,
        min: 1,
        unit: Unit::Seconds,
        help: "Seconds an exchange waits for its preflight / redirect partners",
        apply: |o, v| {
            let w = i64::try_from(v.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
            o.pairing.horizon = w;
            o.pairing.follow_window = o.pairing.follow_window.min(w);
        },
    },
    Limit {
        flag: "max-pending-per-url",
        default: pairing::MAX_PENDING_PER_URL as u64,
        min: 1,
        unit: Unit::Count,
        help: "Requests to one URL held for pairing at once",
        apply: |o, v| o.pairing.max_pending_per_url = us(v),
    },
    Limit {
        flag: "max-cached-preflights",
        default: crate::cors::resolve::MAX_CACHED_PREFLIGHTS as u64,
        min: crate::pipeline::MIN_CACHED_PREFLIGHTS as u64,
        unit: Unit::Count,
        help: "Preflight-cache entries kept over all clients and browsers; beyond it the least recently refreshed go (each of the 8 resolver shards keeps at least one client's caches full)",
        apply: |o, v| o.max_cached_preflights = us(v),
    },
    Limit {
        flag: "max-pairing-buffer",
        default: pairing::MAX_PENDING_EXCHANGES as u64,
        min: 1,
        unit: Unit::Count,
        help: "Exchanges held for pairing at all; beyond it the oldest is decided early",
        apply: |o, v| o.pairing.max_pending = us(v),
    },
    Limit {
        flag: "max-pairing-bytes",
        default: pairing::MAX_PENDING_BYTES as u64,
        min: 1,
        unit: Unit::Bytes,
        help: "Bytes of exchanges held for pairing (URLs and heads); beyond it the oldest is decided early",
        apply: |o, v| o.pairing.max_pending_bytes = us(v),
    },
    Limit {
        flag: "idle-flush",
        default: crate::pipeline::IDLE_FLUSH_SECS,
        min: 0,
        unit: Unit::Seconds,
        help: "Seconds a live input may be silent before the exchanges waiting for pairing are decided (0: never)",
        apply: |o, v| o.idle_flush = std::time::Duration::from_secs(v),
    },
];

impl Limit {
    /// The default as the flag would take it (`64K`, `16M`, `300`).
    pub fn default_text(&self) -> String {
        self.format(self.default)
    }

    /// A value as the flag takes it.
    fn format(&self, v: u64) -> String {
        match self.unit {
            Unit::Bytes => format_size(v),
            Unit::Count | Unit::Seconds => v.to_string(),
        }
    }

    /// The help line shown by `--help`: the help plus the default.
    pub(crate) fn help_line(&self) -> String {
        match self.min {
            0 => format!("{} [default: {}]", self.help, self.default_text()),
            m => format!(
                "{} [default: {}; at least {}]",
                self.help,
                self.default_text(),
                self.format(m)
            ),
        }
    }
}

/// `65536` → `64K`; sizes that are not a whole number of K/M/G stay in bytes.
pub(crate) fn format_size(v: u64) -> String {
    for (shift, suffix) in [(30, 'G'), (20, 'M'), (10, 'K')] {
        if v >= 1 << shift && v.is_multiple_of(1 << shift) {
            return format!("{}{suffix}", v >> shift);
        }
    }
    v.to_string()
}

/// `64K`, `16M`, `1G`, or plain bytes.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
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

/// The limits as a Markdown table (flag, default, meaning), for the README.
pub fn markdown_table() -> String {
    let mut s = String::from("| flag | default | what it bounds |\n|---|---|---|\n");
    for l in LIMITS {
        s.push_str(&format!(
            "| `--{}` | {} | {} |\n",
            l.flag,
            l.default_text(),
            l.help
        ));
    }
    s
}

/// The limit flags given on the command line, in table order. Implements clap's `Args` by
/// hand so that the flags are made from [`LIMITS`] rather than written out a second time.
#[derive(Clone, Debug, Default)]
pub(crate) struct LimitArgs {
    /// (index into [`LIMITS`], value) for each flag given.
    pub given: Vec<(usize, u64)>,
}

impl LimitArgs {
    /// Stores every given value into `o`.
    pub(crate) fn apply(&self, o: &mut Options) {
        for &(i, v) in &self.given {
            if let Some(l) = LIMITS.get(i) {
                (l.apply)(o, v);
            }
        }
    }
}

impl clap::FromArgMatches for LimitArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut s = LimitArgs::default();
        s.update_from_arg_matches(m)?;
        Ok(s)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for (i, l) in LIMITS.iter().enumerate() {
            // `try_get_one`: the flags exist only where `augment_args` put them.
            if let Ok(Some(v)) = m.try_get_one::<u64>(l.flag) {
                self.given.retain(|(j, _)| *j != i);
                self.given.push((i, *v));
            }
        }
        self.given.sort_unstable();
        Ok(())
    }
}

impl clap::Args for LimitArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let cmd = cmd.next_help_heading("Limits (sizes take K, M, G suffixes)");
        LIMITS.iter().fold(cmd, |cmd, l| {
            let arg = clap::Arg::new(l.flag)
                .long(l.flag)
                .help(l.help_line())
                .action(clap::ArgAction::Set);
            // `l` is an element of the static table: the parser may keep it.
            let at_least = move |text: &str| -> Result<u64, String> {
                let v = match l.unit {
                    Unit::Bytes => parse_size(text)?,
                    Unit::Count | Unit::Seconds => text
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| format!("`{text}` is not a whole number"))?,
                };
                if v < l.min {
                    return Err(format!(
                        "the smallest value that works is {}",
                        l.format(l.min)
                    ));
                }
                Ok(v)
            };
            let name = match l.unit {
                Unit::Bytes => "SIZE",
                Unit::Count => "N",
                Unit::Seconds => "SECS",
            };
            let arg = arg.value_name(name).value_parser(at_least);
            cmd.arg(arg)
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_trip() {
        for (text, v) in [
            ("64K", 65_536),
            ("16M", 16 << 20),
            ("1G", 1 << 30),
            ("300", 300),
        ] {
            assert_eq!(parse_size(text), Ok(v));
            assert_eq!(format_size(v), text);
        }
        assert!(parse_size("lots").is_err());
    }

    /// Every limit's default is what the options already hold: the table cannot drift from
    /// the constants the readers enforce.
    #[test]
    fn defaults_are_the_options_defaults() {
        for l in LIMITS {
            let mut set = Options::default();
            (l.apply)(&mut set, l.default);
            assert_eq!(
                format!("{set:?}"),
                format!("{:?}", Options::default()),
                "--{}",
                l.flag
            );
        }
    }

    /// Every default is a value the flag takes; a smaller one than the minimum is refused,
    /// naming it (they were raised unsaid: `--max-cached-preflights 1` ran as 32768).
    #[test]
    fn minimums_are_enforced_by_the_flags() {
        let cmd = <LimitArgs as clap::Args>::augment_args(clap::Command::new("t"));
        for l in LIMITS {
            assert!(l.default >= l.min, "--{}", l.flag);
            let ok = cmd.clone().try_get_matches_from([
                "t",
                &format!("--{}", l.flag),
                &l.default_text(),
            ]);
            assert!(ok.is_ok(), "--{} {}", l.flag, l.default_text());
            if l.min > 0 {
                let below = (l.min - 1).to_string();
                let err = cmd
                    .clone()
                    .try_get_matches_from(["t", &format!("--{}", l.flag), &below])
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(
                    err.contains(&format!(
                        "the smallest value that works is {}",
                        l.format(l.min)
                    )),
                    "--{} {below}: {err}",
                    l.flag
                );
            }
        }
    }

    #[test]
    fn flags_are_unique() {
        let mut flags: Vec<_> = LIMITS.iter().map(|l| l.flag).collect();
        flags.sort_unstable();
        flags.dedup();
        assert_eq!(flags.len(), LIMITS.len());
    }
}
