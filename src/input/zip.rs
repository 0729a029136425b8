//! Step 1a (archives): the HAR or captures in a zip archive, read as the archive streams by:
//! a `.har` member (Playwright's `recordHar` to a `.zip` path, an export zipped to attach it
//! to a ticket) or captures (`.pcap`, `.pcapng`, `.cap`; every one compressed alike, joined
//! as `cat` joins files), passed on as they are (a member compressed on its own, `.har.gz`,
//! is decompressed as the next layer; [`super::archive`] tells members by name); or the network
//! log of a Playwright trace (`trace.zip`, as `tracing.stop` and Playwright Test's
//! `trace: 'on'` write it: each `*.network` member holds one `resource-snapshot` event a line,
//! whose `snapshot` is a HAR entry as `recordHar` writes it), made into one HAR. Chromium's
//! console lines among the trace's events (`*.trace`) about requests CORS blocked go to the
//! failed entries they are about (`_consoleMessage`): they name the reason Playwright's
//! `net::ERR_FAILED` does not.
//!
//! Members are read from their local headers in file order, not from the central directory at
//! the archive's end: a pipe is read as it arrives, and an archive cut off (a download stopped)
//! still gives every member and line before the cut. A member ends where its deflate stream
//! does: Playwright writes sizes and CRC after the data (a data descriptor), which the `zip`
//! crate's streaming reader refuses, and its archive reader needs the directory a cut archive
//! lacks.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex};

use flate2::{Crc, Decompress, FlushDecompress, Status};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::archive::{self, MemberKind};
use super::compressed::{Codec, Fault};
use crate::diag::{Diagnostics, WarnKind};

const LOCAL_HEADER: [u8; 4] = *b"PK\x03\x04";
/// Where the members end: the central directory, or (no member) the end record.
const DIRECTORY: [[u8; 4]; 3] = [*b"PK\x01\x02", *b"PK\x05\x06", *b"PK\x06\x06"];
const DESCRIPTOR: [u8; 4] = *b"PK\x07\x08";
/// A trace line longer than this is skipped (memory stays bounded on a hostile archive; a
/// real `resource-snapshot` line is a few kilobytes, bodies being files of their own).
const MAX_LINE: usize = 64 << 20;
/// A `.trace` member's lines read at most (its console events, its `context-options` event;
/// DOM snapshots, which may be longer, are not needed).
const MAX_EVENT_LINE: usize = 1 << 20;
/// Console lines kept from a trace's events: the longest, and the bytes kept in all (the
/// lines, and the entries they were given to); a real line is a few hundred bytes.
const MAX_CONSOLE_TEXT: usize = 16 << 10;
const MAX_CONSOLE_BYTES: usize = 64 << 20;
/// A member passed over is taken for a bomb past this many inflated bytes at 200:1.
const BOMB_BYTES: u64 = 256 << 20;
/// Decompressed bytes made per step.
const STEP: usize = 64 << 10;

/// Whether a stream starting with `head` is a zip archive (its first local header).
pub(crate) fn is_archive_start(head: &[u8]) -> bool {
    head.starts_with(&LOCAL_HEADER)
}

/// A zip archive's HAR or capture, or its Playwright trace's network log as a HAR.
pub(crate) struct ZipReader<R: BufRead> {
    inner: R,
    name: Arc<str>,
    warnings: Arc<Mutex<Diagnostics>>,
    /// Archive bytes consumed, and bytes handed on.
    consumed: u64,
    handed: u64,
    /// Bytes made and not yet handed on; `at` is the next one.
    out: Vec<u8>,
    at: usize,
    /// Decompressed bytes of a member that is not handed on as it is.
    scratch: Vec<u8>,
    member: Option<Member>,
    found: Found,
    /// What the trace's `context-options` event says (browser, Playwright's version).
    context: Option<TraceContext>,
    /// Chromium's console lines about requests CORS blocked, from the trace's events.
    console: Vec<ConsoleLine>,
    /// The lines given, by the entry's bytes.
    console_given: HashMap<Vec<u8>, String>,
    /// Bytes kept in `console` and `console_given` (at most [`MAX_CONSOLE_BYTES`]).
    console_bytes: usize,
    /// Member names seen, for the error when none is a HAR (the first few).
    seen: Vec<String>,
    /// The error to return once the bytes before it are handed on.
    failed: Option<io::Error>,
    ended: bool,
}

enum Found {
    Nothing,
    /// A HAR or capture, passed on as it is: its name, what it is, its compression by name
    /// (captures after it compressed alike are passed on too).
    File(String, MemberKind, Option<Codec>),
    /// A trace's network log: entries written so far (the HAR's start is written with the
    /// first, or at the end if none), and whether the HAR names its browser yet (it is written
    /// first when the `.trace` member came first, as Playwright orders them, so that a cut
    /// archive keeps it; else last).
    Trace {
        entries: u64,
        browser_named: bool,
    },
}

#[derive(Deserialize)]
struct TraceContext {
    #[serde(rename = "browserName", deserialize_with = "non_empty")]
    browser: Option<String>,
    #[serde(rename = "playwrightVersion")]
    version: Option<String>,
}

fn non_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// One line of a trace's network log: only `resource-snapshot` events are kept.
#[derive(Deserialize)]
struct TraceEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    snapshot: Option<&'a RawValue>,
}

/// Which of a trace's logs a member is.
#[derive(Clone, Copy)]
enum Log {
    /// `*.network`: one `resource-snapshot` event a line.
    Network,
    /// `*.trace`: the context's options first, then actions, console lines, DOM snapshots.
    Events,
}

impl Log {
    fn max_line(self) -> usize {
        match self {
            Log::Network => MAX_LINE,
            Log::Events => MAX_EVENT_LINE,
        }
    }
}

/// A trace's console event (`messageType`, `args` and `location` are not needed).
#[derive(Deserialize)]
struct ConsoleEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    /// Milliseconds on the trace's monotonic clock, as an entry's `_monotonicTime`.
    #[serde(default)]
    time: Option<f64>,
    #[serde(rename = "pageId", borrow, default)]
    page: Option<Cow<'a, str>>,
}

/// What matching a console line needs of a network log's entry.
#[derive(Deserialize)]
struct SnapshotKeys<'a> {
    #[serde(rename = "pageref", borrow, default)]
    page: Option<Cow<'a, str>>,
    #[serde(rename = "_monotonicTime", default)]
    start: Option<f64>,
    #[serde(default)]
    time: Option<f64>,
    #[serde(borrow, default)]
    request: Option<SnapshotRequest<'a>>,
    #[serde(borrow, default)]
    response: Option<SnapshotResponse<'a>>,
}

#[derive(Deserialize)]
struct SnapshotRequest<'a> {
    #[serde(borrow)]
    url: Cow<'a, str>,
}

#[derive(Deserialize)]
struct SnapshotResponse<'a> {
    #[serde(rename = "_failureText", borrow, default)]
    failure: Option<Cow<'a, str>>,
}

/// A console line about a request CORS blocked.
struct ConsoleLine {
    page: String,
    time: f64,
    url: String,
    text: String,
    used: bool,
}

/// The URL Chromium's console line says CORS blocked (`Access to fetch at 'URL' (redirected
/// from '…') from origin '…' has been blocked by CORS policy: …`; the last hop's URL, as the
/// failed entry's).
fn chromium_blocked_url(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("Access to ")?;
    let (_, rest) = rest.split_once(" at '")?;
    let (url, rest) = rest.split_once('\'')?;
    rest.contains("has been blocked by CORS policy")
        .then_some(url)
}

struct Member {
    name: String,
    data: Data,
    /// The sizes and CRC follow the data (a data descriptor); with 8-byte sizes if `true`.
    descriptor: Option<bool>,
    crc: Crc,
    /// The header's CRC (a descriptor's replaces it).
    header_crc: u32,
    /// Archive bytes consumed when its data began, and the bytes it inflated to so far.
    data_from: u64,
    inflated: u64,
    role: Role,
}

enum Data {
    Stored {
        left: u64,
    },
    Deflated(Box<Decompress>),
    /// Passed over without decoding (its size is known; its contents are not needed or not
    /// readable).
    Raw {
        left: u64,
    },
}

enum Role {
    /// A HAR or capture: its bytes are handed on as they are.
    Whole,
    /// A trace's network log or its events, line by line: the line being gathered, its
    /// number, and whether it is being skipped as too long.
    Lines {
        log: Log,
        line: Vec<u8>,
        number: u64,
        overlong: bool,
    },
    Skip,
}

impl Role {
    fn lines(log: Log) -> Self {
        Role::Lines {
            log,
            line: Vec::new(),
            number: 0,
            overlong: false,
        }
    }
}

fn ends_with(name: &str, suffix: &str) -> bool {
    name.len() >= suffix.len()
        && name.as_bytes()[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// A member read as it is: a HAR or a capture (the format is told from its bytes after).
fn is_input(name: &str) -> bool {
    archive::kind_of_name(name).is_some()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// The compressed size from a local header's zip64 extra field (id 1: the uncompressed size,
/// then the compressed one, each only where the header's own field is `0xffffffff`), and
/// whether there is one (a data descriptor then has 8-byte sizes).
fn zip64_sizes(extra: &[u8], usize32: u32, csize32: u32) -> (Option<u64>, bool) {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let (id, len) = (u16_at(extra, at), usize::from(u16_at(extra, at + 2)));
        let field = extra.get(at + 4..at + 4 + len).unwrap_or(&[]);
        if id == 1 {
            let mut pos = 0;
            if usize32 == u32::MAX {
                pos += 8;
            }
            let csize = (csize32 == u32::MAX && field.len() >= pos + 8).then(|| u64_at(field, pos));
            return (csize, true);
        }
        at += 4 + len;
    }
    (None, false)
}

impl<R: BufRead> ZipReader<R> {
    pub(crate) fn new(inner: R, name: Arc<str>, warnings: Arc<Mutex<Diagnostics>>) -> Self {
        ZipReader {
            inner,
            name,
            warnings,
            consumed: 0,
            handed: 0,
            out: Vec::new(),
            at: 0,
            scratch: Vec::new(),
            member: None,
            found: Found::Nothing,
            context: None,
            console: Vec::new(),
            console_given: HashMap::new(),
            console_bytes: 0,
            seen: Vec::new(),
            failed: None,
            ended: false,
        }
    }

    fn fault(&self, what: Fault) -> io::Error {
        Codec::Zip.error(what, self.consumed, self.handed)
    }

    fn warn(&self, kind: WarnKind, detail: impl FnOnce() -> String) {
        archive::warn(&self.warnings, &self.name, kind, detail);
    }

    /// Exactly `n` archive bytes; a cut archive is [`Fault::Cut`].
    fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let b = archive::read_upto(&mut self.inner, n)?;
        self.consumed += b.len() as u64;
        if b.len() < n {
            return Err(self.fault(Fault::Cut));
        }
        Ok(b)
    }

    /// Reads the next member's header and decides what it is for; at the directory, at the
    /// input's end, or at bytes that are no header after a member was found, the walk ends.
    fn next_member(&mut self) -> io::Result<()> {
        if self.inner.fill_buf()?.is_empty() {
            // Cut after a whole member (no directory): what was read stands.
            return self.finish();
        }
        let sig = match self.take(4) {
            Ok(sig) => sig,
            Err(_) if !matches!(self.found, Found::Nothing) => return self.finish(),
            Err(e) => return Err(e),
        };
        if DIRECTORY.iter().any(|d| sig == d[..]) {
            return self.finish();
        }
        if sig != LOCAL_HEADER {
            if matches!(self.found, Found::Nothing) {
                return Err(self.fault(Fault::Damaged(
                    "no member header where one should be".into(),
                )));
            }
            let at = self.consumed - 4;
            self.warn(WarnKind::ZipTrailingGarbage, || {
                format!("byte {at}: not a zip member header; the rest of the archive is ignored")
            });
            return self.finish();
        }
        // The local header after its signature (APPNOTE 4.3.7).
        let h = self.take(26)?;
        let (flags, method) = (u16_at(&h, 2), u16_at(&h, 4));
        let (crc, csize32, usize32) = (u32_at(&h, 10), u32_at(&h, 14), u32_at(&h, 18));
        let (name_len, extra_len) = (usize::from(u16_at(&h, 22)), usize::from(u16_at(&h, 24)));
        let name = String::from_utf8_lossy(&self.take(name_len)?).into_owned();
        let extra = self.take(extra_len)?;
        let (csize64, zip64) = zip64_sizes(&extra, usize32, csize32);
        let descriptor = (flags & 8 != 0).then_some(zip64);
        let size = match csize64 {
            Some(s) => Some(s),
            None if descriptor.is_some() => None,
            None => Some(u64::from(csize32)),
        };
        if self.seen.len() < 8 {
            self.seen.push(name.clone());
        }
        let wanted = is_input(&name) || ends_with(&name, ".network");
        let readable = flags & 1 == 0 && (method == 0 || method == 8);
        let data = match (readable, method, size) {
            (true, 8, _) => Data::Deflated(Box::new(Decompress::new(false))),
            (true, _, Some(left)) => Data::Stored { left },
            (false, _, Some(left)) => {
                if wanted {
                    self.warn(WarnKind::ZipMemberSkipped, || {
                        format!("member {name}: encrypted or compressed with method {method} (only deflate and stored are read)")
                    });
                }
                Data::Raw { left }
            }
            (_, _, None) => {
                // Its end is only in the directory: the walk cannot go past it.
                self.warn(WarnKind::ZipMemberSkipped, || {
                    format!("member {name}: its size is only in the archive's directory (method {method}); it and the members after it are not read")
                });
                return self.finish();
            }
        };
        let role = match (&self.found, readable) {
            (_, false) => Role::Skip,
            _ if name.ends_with('/') || archive::is_metadata(&name) => Role::Skip,
            (Found::Nothing, _) if is_input(&name) => {
                if let Some((kind, codec)) = archive::kind_of_name(&name) {
                    self.found = Found::File(name.clone(), kind, codec);
                }
                Role::Whole
            }
            (Found::File(_, MemberKind::Capture, codec), _)
                if archive::kind_of_name(&name) == Some((MemberKind::Capture, *codec)) =>
            {
                Role::Whole
            }
            (Found::Nothing | Found::Trace { .. }, _) if ends_with(&name, ".network") => {
                if matches!(self.found, Found::Nothing) {
                    self.found = Found::Trace {
                        entries: 0,
                        browser_named: false,
                    };
                }
                Role::lines(Log::Network)
            }
            (found, _) if wanted => {
                let why = match found {
                    Found::File(first, kind, codec) => archive::not_read(
                        &name,
                        first,
                        (*kind, *codec),
                        archive::kind_of_name(&name),
                    ),
                    _ => archive::not_read(
                        &name,
                        "the Playwright trace's network log",
                        (MemberKind::Har, None),
                        None,
                    ),
                };
                self.warn(WarnKind::ZipMemberSkipped, || why);
                Role::Skip
            }
            (Found::Nothing | Found::Trace { .. }, _) if ends_with(&name, ".trace") => {
                Role::lines(Log::Events)
            }
            _ => Role::Skip,
        };
        // A member skipped whose size is known is passed over, not inflated (a trace's
        // screenshots, a bomb).
        let data = match (&role, size) {
            (Role::Skip, Some(left)) => Data::Raw { left },
            _ => data,
        };
        self.member = Some(Member {
            name,
            data,
            descriptor,
            crc: Crc::new(),
            header_crc: crc,
            data_from: self.consumed,
            inflated: 0,
            role,
        });
        Ok(())
    }

    /// Decodes the next piece of the current member and gives it to its role.
    fn step_member(&mut self) -> io::Result<()> {
        let Some(m) = self.member.as_mut() else {
            return Ok(());
        };
        let avail = self.inner.fill_buf()?;
        let left = match &m.data {
            Data::Stored { left } | Data::Raw { left } => Some(*left),
            Data::Deflated(_) => None,
        };
        if left == Some(0) {
            return self.end_member();
        }
        if avail.is_empty() {
            return Err(self.fault(Fault::Cut));
        }
        // A `Whole` member's bytes go out as they are; the others' to `scratch`.
        let target = if matches!(m.role, Role::Whole) {
            &mut self.out
        } else {
            &mut self.scratch
        };
        target.clear();
        let stored = matches!(m.data, Data::Stored { .. });
        let (used, ended) = match &mut m.data {
            Data::Stored { left } | Data::Raw { left } => {
                let n = avail
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                if stored {
                    target.extend_from_slice(&avail[..n]);
                }
                *left -= n as u64;
                (n, false)
            }
            Data::Deflated(d) => {
                target.resize(STEP, 0);
                let (in0, out0) = (d.total_in(), d.total_out());
                let status = d.decompress(avail, target, FlushDecompress::None);
                let used = (d.total_in() - in0) as usize;
                let made = (d.total_out() - out0) as usize;
                target.truncate(made);
                match status {
                    Ok(Status::StreamEnd) => (used, true),
                    Ok(_) if used > 0 || made > 0 => (used, false),
                    Ok(_) => {
                        let name = m.name.clone();
                        return Err(self.fault(Fault::Damaged(format!(
                            "member {name}: the deflate stream makes no progress"
                        ))));
                    }
                    Err(e) => {
                        let name = m.name.clone();
                        return Err(self.fault(Fault::Damaged(format!("member {name}: {e}"))));
                    }
                }
            }
        };
        self.inner.consume(used);
        self.consumed += used as u64;
        let Some(m) = self.member.as_mut() else {
            return Ok(());
        };
        let made = if matches!(m.role, Role::Whole) {
            &self.out
        } else {
            &self.scratch
        };
        m.crc.update(made);
        m.inflated += made.len() as u64;
        // A member passed over that inflates past any real file's ratio (a bomb: deflate
        // reaches 1032:1) would hold the walk for as long as it inflates: it ends the walk.
        let (inflated, compressed) = (m.inflated, self.consumed - m.data_from);
        if matches!(m.role, Role::Skip) && inflated > BOMB_BYTES && inflated / 200 > compressed {
            let name = m.name.clone();
            self.member = None;
            self.warn(WarnKind::ZipMemberSkipped, || {
                format!("member {name}: inflates more than 200 times its size; it and the members after it are not read")
            });
            return self.finish();
        }
        let piece = std::mem::take(&mut self.scratch);
        self.feed(&piece);
        self.scratch = piece;
        if ended {
            return self.end_member();
        }
        Ok(())
    }

    /// Gives decompressed bytes of a member that is not handed on as it is to its role.
    fn feed(&mut self, mut piece: &[u8]) {
        while !piece.is_empty() {
            let Some(m) = self.member.as_mut() else {
                return;
            };
            match &mut m.role {
                Role::Whole | Role::Skip => return,
                Role::Lines {
                    log,
                    line,
                    number,
                    overlong,
                } => {
                    let end = memchr::memchr(b'\n', piece);
                    let part = &piece[..end.unwrap_or(piece.len())];
                    if !*overlong {
                        if line.len() + part.len() > log.max_line() {
                            *overlong = true;
                            line.clear();
                        } else {
                            line.extend_from_slice(part);
                        }
                    }
                    let Some(end) = end else {
                        return;
                    };
                    piece = &piece[end + 1..];
                    *number += 1;
                    let (log, text, n, long) = (*log, std::mem::take(line), *number, *overlong);
                    *overlong = false;
                    let member = m.name.clone();
                    self.line(log, &member, &text, n, long);
                }
            }
        }
    }

    /// A complete line of a trace's member.
    fn line(&mut self, log: Log, member: &str, line: &[u8], number: u64, overlong: bool) {
        match log {
            Log::Network => self.trace_line(member, line, number, overlong),
            Log::Events if overlong => {}
            Log::Events => {
                if number == 1 {
                    self.read_context(line);
                }
                self.console_line(line);
            }
        }
    }

    /// A `.trace` member's first line: the context's browser, if it names one (Playwright
    /// Test's own `test.trace` comes first and names none; each context's `N-trace.trace`
    /// does).
    fn read_context(&mut self, line: &[u8]) {
        let context = serde_json::from_slice::<TraceContext>(line).ok();
        if self.context.is_none() && context.as_ref().is_some_and(|c| c.browser.is_some()) {
            self.context = context;
        }
    }

    /// A trace event that is Chromium's console line about a request CORS blocked, kept for
    /// the entry it is about ([`Self::console_for`]).
    fn console_line(&mut self, line: &[u8]) {
        // (Only lines that can be one are parsed: DOM snapshots are most of the bytes.)
        if self.console_bytes >= MAX_CONSOLE_BYTES
            || memchr::memmem::find(line, b"\"console\"").is_none()
        {
            return;
        }
        let Ok(e) = serde_json::from_slice::<ConsoleEvent>(line) else {
            return;
        };
        let (Some(text), Some(time), Some(page)) = (e.text, e.time, e.page) else {
            return;
        };
        if e.kind != "console" || text.len() > MAX_CONSOLE_TEXT {
            return;
        }
        let Some(url) = chromium_blocked_url(&text) else {
            return;
        };
        self.console_bytes += text.len() + url.len();
        self.console.push(ConsoleLine {
            page: page.into_owned(),
            time,
            url: url.to_owned(),
            text: text.into_owned(),
            used: false,
        });
    }

    /// The console line about the failed request `entry` (a network log's `resource-snapshot`
    /// entry), taken for it: the earliest one not yet taken of the same page and URL logged
    /// while the request was under way; none where another such line says something else
    /// (two requests to one URL at once, failing differently: which is whose is open).
    fn console_for(&mut self, entry: &[u8]) -> Option<String> {
        if self.console.is_empty() || memchr::memmem::find(entry, b"ERR_FAILED").is_none() {
            return None;
        }
        // The same entry listed twice (a trace merged or re-zipped) gets the same line, so
        // that the HAR reader still sees the copies as one request.
        if let Some(text) = self.console_given.get(entry) {
            return Some(text.clone());
        }
        let e = serde_json::from_slice::<SnapshotKeys>(entry).ok()?;
        let failed = e
            .response?
            .failure
            .is_some_and(|f| f.contains("ERR_FAILED"));
        let (Some(start), Some(page), Some(url)) = (e.start, e.page, e.request.map(|r| r.url))
        else {
            return None;
        };
        if !failed {
            return None;
        }
        // The console line comes between the request's start and the entry's end (`time`,
        // its duration): 0.07-2.6 ms before the end in the recorded trace; a quarter second
        // more where the page was busy.
        let end = start + e.time.filter(|t| *t >= 0.0).unwrap_or(0.0) + 250.0;
        let about = |c: &ConsoleLine| {
            !c.used && c.page == page && c.url == url && (start - 1.0..=end).contains(&c.time)
        };
        let mut found = self.console.iter().enumerate().filter(|(_, c)| about(c));
        let (i, first) = found.next()?;
        if found.any(|(_, c)| c.text != first.text) {
            return None;
        }
        let line = &mut self.console[i];
        line.used = true;
        let text = line.text.clone();
        if self.console_bytes + entry.len() <= MAX_CONSOLE_BYTES {
            self.console_bytes += entry.len();
            self.console_given.insert(entry.to_vec(), text.clone());
        }
        Some(text)
    }

    /// One line of a network log: its entry (a `resource-snapshot` event's) into the HAR.
    fn trace_line(&mut self, member: &str, line: &[u8], number: u64, overlong: bool) {
        if overlong {
            self.warn(WarnKind::TraceLineInvalid, || {
                format!("{member} line {number}: longer than {MAX_LINE} bytes; skipped")
            });
            return;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let event = match serde_json::from_slice::<TraceEvent>(line) {
            Ok(e) => e,
            Err(e) => {
                self.warn(WarnKind::TraceLineInvalid, || {
                    format!("{member} line {number}: {e}; skipped")
                });
                return;
            }
        };
        let (true, Some(entry)) = (event.kind == "resource-snapshot", event.snapshot) else {
            return;
        };
        let entry = entry.get().as_bytes();
        let console = self.console_for(entry);
        self.open_log();
        let Found::Trace { entries, .. } = &mut self.found else {
            return;
        };
        if *entries > 0 {
            self.out.push(b',');
        }
        *entries += 1;
        match (console, entry.split_first()) {
            // The browser's console line beside Playwright's `_failureText`, as the HAR
            // reader's `_consoleMessage`.
            (Some(text), Some((b'{', rest))) => {
                self.out.extend_from_slice(b"{\"_consoleMessage\":");
                self.out.extend_from_slice(json_string(&text).as_bytes());
                if rest.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
                    self.out.push(b',');
                }
                self.out.extend_from_slice(rest);
            }
            _ => self.out.extend_from_slice(entry),
        }
    }

    /// Before a trace's first entry (no entry written yet): the HAR's start, naming
    /// Playwright as its creator (every network log is Playwright's) and the browser if the
    /// `.trace` member said it already.
    fn open_log(&mut self) {
        let Found::Trace {
            entries: 0,
            browser_named,
        } = &mut self.found
        else {
            return;
        };
        let ctx = self.context.as_ref();
        let version = ctx.and_then(|c| c.version.as_deref()).unwrap_or("");
        let mut head = format!(
            "{{\"log\":{{\"creator\":{{\"name\":\"Playwright\",\"version\":{}}},",
            json_string(version)
        );
        if let Some(browser) = ctx.and_then(|c| c.browser.as_deref()) {
            head.push_str(&format!(
                "\"browser\":{{\"name\":{}}},",
                json_string(browser)
            ));
            *browser_named = true;
        }
        head.push_str("\"entries\":[");
        self.out.extend_from_slice(head.as_bytes());
    }

    /// The member's data ended: its descriptor read, its CRC checked, a last line without
    /// its newline taken.
    fn end_member(&mut self) -> io::Result<()> {
        let Some(m) = self.member.as_ref() else {
            return Ok(());
        };
        let descriptor = m.descriptor;
        let mut expected = m.header_crc;
        if let Some(wide) = descriptor {
            // The signature is optional; the CRC follows, then both sizes.
            let first = self.take(4)?;
            let crc = if first == DESCRIPTOR {
                u32_at(&self.take(4)?, 0)
            } else {
                u32_at(&first, 0)
            };
            self.take(if wide { 16 } else { 8 })?;
            expected = crc;
        }
        let Some(m) = self.member.take() else {
            return Ok(());
        };
        let decoded = !matches!(m.data, Data::Raw { .. });
        if decoded && m.crc.sum() != expected {
            return Err(self.fault(Fault::Damaged(format!(
                "member {}: CRC mismatch (the data decoded but does not match its checksum)",
                m.name
            ))));
        }
        if let Role::Lines {
            log,
            line,
            number,
            overlong,
        } = m.role
        {
            if !line.is_empty() || overlong {
                self.line(log, &m.name, &line, number + 1, overlong);
            }
        }
        Ok(())
    }

    /// The walk is over: a trace's HAR closed, or the error for an archive without one.
    fn finish(&mut self) -> io::Result<()> {
        self.ended = true;
        match &self.found {
            Found::Nothing => {
                let mut names = self.seen.join(", ");
                if names.is_empty() {
                    names = "none".into();
                }
                Err(self.fault(Fault::Contents(format!(
                    "holds no HAR (`*.har`), capture (`*.pcap`, `*.pcapng`, `*.cap`) or Playwright trace network log (`*.network`); members: {names}"
                ))))
            }
            Found::File(..) => Ok(()),
            Found::Trace { entries, .. } => {
                if *entries == 0 {
                    self.warn(WarnKind::TraceNoRequests, || {
                        "the trace's network log holds no request (trace with `snapshots: true` to record them)".into()
                    });
                }
                // (Without an entry, the start is still to write.)
                self.open_log();
                self.close_log();
                Ok(())
            }
        }
    }

    /// After a trace's last entry: the HAR's end, naming the browser if its start could not.
    fn close_log(&mut self) {
        let Found::Trace { browser_named, .. } = self.found else {
            return;
        };
        self.out.push(b']');
        let browser = self.context.as_ref().and_then(|c| c.browser.as_deref());
        if let (false, Some(browser)) = (browser_named, browser) {
            let named = format!(",\"browser\":{{\"name\":{}}}", json_string(browser));
            self.out.extend_from_slice(named.as_bytes());
        }
        self.out.extend_from_slice(
            b",\"comment\":\"made by corscope from a Playwright trace's network log\"}}",
        );
    }
}

/// `s` as a JSON string.
fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

impl<R: BufRead> Read for ZipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.out.len() {
                let n = buf.len().min(self.out.len() - self.at);
                buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
                self.at += n;
                self.handed += n as u64;
                return Ok(n);
            }
            self.out.clear();
            self.at = 0;
            if let Some(e) = self.failed.take() {
                return Err(e);
            }
            if self.ended || buf.is_empty() {
                return Ok(0);
            }
            let step = if self.member.is_some() {
                self.step_member()
            } else {
                self.next_member()
            };
            if let Err(e) = step {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Like the other decoders, a failed stream reads as ended afterwards.
                self.ended = true;
                self.member = None;
                self.failed = Some(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::compressed::decode_all;
    use flate2::{write::DeflateEncoder, Compression};
    use std::io::Write;

    /// A member as a test writes it.
    #[derive(Clone, Copy)]
    struct M<'a> {
        name: &'a str,
        data: &'a [u8],
        deflate: bool,
        /// Sizes and CRC after the data (as Playwright writes them).
        descriptor: bool,
        zip64: bool,
        encrypted: bool,
    }

    fn m<'a>(name: &'a str, data: &'a [u8]) -> M<'a> {
        M {
            name,
            data,
            deflate: true,
            descriptor: true,
            zip64: false,
            encrypted: false,
        }
    }

    /// A zip archive of `members`, with its central directory.
    fn zip(members: &[M]) -> Vec<u8> {
        let mut z = Vec::new();
        let mut directory = Vec::new();
        for m in members {
            let mut crc = Crc::new();
            crc.update(m.data);
            let body = if m.deflate {
                let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
                e.write_all(m.data).unwrap();
                e.finish().unwrap()
            } else {
                m.data.to_vec()
            };
            let flags: u16 = u16::from(m.descriptor) * 8 + u16::from(m.encrypted);
            let method: u16 = if m.deflate { 8 } else { 0 };
            let (crc, csize, usize) = (crc.sum(), body.len() as u64, m.data.len() as u64);
            let offset = z.len() as u32;
            let mut extra = Vec::new();
            if m.zip64 {
                extra.extend_from_slice(&1u16.to_le_bytes());
                extra.extend_from_slice(&16u16.to_le_bytes());
                let (u, c) = if m.descriptor { (0, 0) } else { (usize, csize) };
                extra.extend_from_slice(&u.to_le_bytes());
                extra.extend_from_slice(&c.to_le_bytes());
            }
            let (hcrc, hc, hu) = match (m.descriptor, m.zip64) {
                (true, _) => (0, 0, 0),
                (false, true) => (crc, u32::MAX, u32::MAX),
                (false, false) => (crc, csize as u32, usize as u32),
            };
            let mut fixed = Vec::new();
            fixed.extend_from_slice(&[20, 0]);
            fixed.extend_from_slice(&flags.to_le_bytes());
            fixed.extend_from_slice(&method.to_le_bytes());
            fixed.extend_from_slice(&[0, 0, 0x21, 0]);
            z.extend_from_slice(&LOCAL_HEADER);
            z.extend_from_slice(&fixed);
            for v in [hcrc, hc, hu] {
                z.extend_from_slice(&v.to_le_bytes());
            }
            z.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
            z.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            z.extend_from_slice(m.name.as_bytes());
            z.extend_from_slice(&extra);
            z.extend_from_slice(&body);
            if m.descriptor {
                z.extend_from_slice(&DESCRIPTOR);
                z.extend_from_slice(&crc.to_le_bytes());
                if m.zip64 {
                    z.extend_from_slice(&csize.to_le_bytes());
                    z.extend_from_slice(&usize.to_le_bytes());
                } else {
                    z.extend_from_slice(&(csize as u32).to_le_bytes());
                    z.extend_from_slice(&(usize as u32).to_le_bytes());
                }
            }
            directory.extend_from_slice(b"PK\x01\x02\x14\x00");
            directory.extend_from_slice(&fixed);
            for v in [crc, csize as u32, usize as u32] {
                directory.extend_from_slice(&v.to_le_bytes());
            }
            directory.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
            directory.extend_from_slice(&[0; 12]);
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(m.name.as_bytes());
        }
        let at = z.len() as u32;
        z.extend_from_slice(&directory);
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        let n = members.len() as u16;
        z.extend_from_slice(&n.to_le_bytes());
        z.extend_from_slice(&n.to_le_bytes());
        z.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        z.extend_from_slice(&at.to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z
    }

    fn read(bytes: &[u8]) -> (Vec<u8>, Option<String>, Diagnostics) {
        let (out, err, d) = decode_all(Codec::Zip, bytes, 64, 100);
        (out, err.map(|e| e.to_string()), d)
    }

    fn har() -> Vec<u8> {
        let entries: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    "{{\"startedDateTime\":\"2026-01-01T00:00:{:02}Z\",\"n\":{i}}}",
                    i % 60
                )
            })
            .collect();
        format!("{{\"log\":{{\"entries\":[{}]}}}}", entries.join(",")).into_bytes()
    }

    const CONTEXT: &[u8] = b"{\"version\":10,\"type\":\"context-options\",\"browserName\":\"webkit\",\"playwrightVersion\":\"1.65.1\"}\n{\"type\":\"event\"}\n";

    const TEST_CONTEXT: &[u8] = b"{\"version\":10,\"type\":\"context-options\",\"origin\":\"testRunner\",\"browserName\":\"\"}\n";

    fn network(n: usize, from: usize) -> Vec<u8> {
        let mut s = String::new();
        for i in from..from + n {
            s.push_str(&format!(
                "{{\"type\":\"resource-snapshot\",\"snapshot\":{{\"n\":{i},\"request\":{{\"url\":\"http://a.test/{i}\"}}}}}}\n"
            ));
        }
        s.into_bytes()
    }

    /// The numbers of the entries of the HAR `out` made of a trace, its creator and browser.
    fn trace_har(out: &[u8]) -> (Vec<u64>, String, String) {
        let v: serde_json::Value = serde_json::from_slice(out).expect("a JSON HAR");
        let log = &v["log"];
        let ns = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["n"].as_u64().unwrap())
            .collect();
        let name = |k: &str| format!("{} {}", log[k]["name"], log[k]["version"]);
        (ns, name("creator"), log["browser"]["name"].to_string())
    }

    /// A HAR member reads back byte for byte however it is stored: deflated or not, sizes
    /// before or after the data, 4- or 8-byte sizes; the members before and after it are
    /// walked over.
    #[test]
    fn a_har_member_reads_whole_in_every_layout() {
        let data = har();
        for deflate in [true, false] {
            for descriptor in [true, false] {
                if descriptor && !deflate {
                    continue;
                }
                for zip64 in [false, true] {
                    let member = M {
                        name: "har.har",
                        data: &data,
                        deflate,
                        descriptor,
                        zip64,
                        encrypted: false,
                    };
                    // Neighbours stored alike (passed over by their sizes where known).
                    let png = M {
                        name: "resources/a.png",
                        data: b"\x89PNG...",
                        ..member
                    };
                    let txt = M {
                        name: "b.txt",
                        data: b"x",
                        ..member
                    };
                    let z = zip(&[png, member, txt]);
                    let (out, err, d) = read(&z);
                    let case = (deflate, descriptor, zip64);
                    assert_eq!(err, None, "{case:?}");
                    assert_eq!(out, data, "{case:?}");
                    assert!(d.is_empty(), "{case:?}");
                }
            }
        }
    }

    /// A trace's network log becomes one HAR: only `resource-snapshot` events, from every
    /// `.network` member in archive order, the browser from the `.trace` member's first line,
    /// wherever it is; a line that is not JSON is skipped with
    /// a warning, a last line without its newline is kept.
    #[test]
    fn a_traces_network_log_becomes_a_har() {
        let mut first = network(3, 0);
        first.extend_from_slice(b"{\"type\":\"other\"}\n\n{not json\n");
        first.extend_from_slice(network(1, 3).strip_suffix(b"\n").unwrap());
        let second = network(2, 4);
        for context_first in [true, false] {
            let mut members = vec![
                m("trace.network", &first),
                m("trace.stacks", b"{}"),
                m("1-trace.network", &second),
            ];
            let context = m("0-trace.trace", CONTEXT);
            if context_first {
                members.insert(0, context);
                // Playwright Test's own trace first: it names no browser.
                members.insert(0, m("test.trace", TEST_CONTEXT));
            } else {
                members.push(context);
            }
            let (out, err, d) = read(&zip(&members));
            assert_eq!(err, None);
            let (ns, creator, browser) = trace_har(&out);
            assert_eq!(ns, [0, 1, 2, 3, 4, 5], "{context_first}");
            // Playwright is the creator from the start (a cut archive keeps it); its version
            // only if the `.trace` member came first, as Playwright writes it.
            let version = if context_first { "\"1.65.1\"" } else { "\"\"" };
            assert_eq!(creator, format!("\"Playwright\" {version}"));
            assert_eq!(browser, "\"webkit\"");
            assert_eq!(d.count(WarnKind::TraceLineInvalid), 1);
            assert!(
                d.details(WarnKind::TraceLineInvalid)[0].contains("trace.network line 6"),
                "{:?}",
                d.details(WarnKind::TraceLineInvalid)
            );
        }
        // Without events, or without its `.trace`: an empty log, no browser named.
        let (out, err, d) = read(&zip(&[m("trace.network", b"")]));
        assert_eq!(err, None);
        assert_eq!(d.count(WarnKind::TraceNoRequests), 1);
        assert_eq!(
            trace_har(&out),
            (vec![], "\"Playwright\" \"\"".into(), "null".into())
        );
    }

    /// Chromium's console line about a request CORS blocked, from the trace's events, is
    /// kept beside the entry it is about (`_consoleMessage`): same page, same URL, logged
    /// while the request was under way, each line for one entry; none where two lines of the
    /// request's URL and time say different things, or the entry did not fail.
    #[test]
    fn console_lines_go_to_the_entries_they_are_about() {
        let console = |page: &str, t: f64, url: &str, why: &str| {
            let text = format!("Access to fetch at '{url}' from origin 'http://app.test' has been blocked by CORS policy: {why}");
            serde_json::json!({"type": "console", "messageType": "error", "text": text, "time": t, "pageId": page}).to_string()
        };
        let entry = |n: u32, page: &str, t: f64, url: &str, failed: bool| {
            let failure = if failed { "net::ERR_FAILED" } else { "" };
            let snap = serde_json::json!({"n": n, "pageref": page, "_monotonicTime": t, "time": 5.0,
                "request": {"url": url}, "response": {"status": -1, "_failureText": failure}});
            serde_json::json!({"type": "resource-snapshot", "snapshot": snap}).to_string()
        };
        let (a, b) = ("http://api.test/a", "http://api.test/b");
        let events = [
            r#"{"type":"context-options","browserName":"chromium"}"#.to_owned(),
            console("p1", 105.0, a, "first"),
            console("p2", 106.0, a, "other page"),
            console("p1", 1005.0, a, "second"),
            console("p1", 2001.0, b, "one"),
            console("p1", 2002.0, b, "two"),
            r#"{"type":"console","text":"Failed to load resource: net::ERR_FAILED","time":106,"pageId":"p1"}"#.to_owned(),
        ]
        .join("\n");
        let network = [
            entry(0, "p1", 100.0, a, true),
            // Listed twice: the copy gets the same line.
            entry(0, "p1", 100.0, a, true),
            entry(1, "p1", 1000.0, a, true),
            entry(2, "p2", 100.0, a, true),
            entry(3, "p1", 1500.0, a, true),
            entry(4, "p1", 2000.0, b, true),
            entry(5, "p1", 100.0, a, false),
        ]
        .join("\n");
        let (out, err, _) = read(&zip(&[
            m("trace.trace", events.as_bytes()),
            m("trace.network", network.as_bytes()),
        ]));
        assert_eq!(err, None);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let said: Vec<Option<String>> = v["log"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let c = e["_consoleMessage"].as_str()?;
                Some(c.rsplit(": ").next().unwrap().to_owned())
            })
            .collect();
        let want = [
            Some("first"),
            Some("first"),
            Some("second"),
            Some("other page"),
            None,
            None,
            None,
        ];
        assert_eq!(said, want.map(|w| w.map(str::to_owned)));
    }

    /// What the archive holds decides what is read: the first HAR only (a second, or a HAR
    /// beside a trace, is named in a warning); nothing to read is an error naming the members.
    #[test]
    fn the_first_har_or_the_trace_is_read_and_the_rest_named() {
        let (a, b) = (har(), b"{\"log\":{\"entries\":[]}}".to_vec());
        let (out, err, d) = read(&zip(&[m("a.har", &a), m("dir/B.HAR", &b)]));
        assert_eq!((out, err), (a.clone(), None));
        assert_eq!(d.count(WarnKind::ZipMemberSkipped), 1);
        assert!(d.details(WarnKind::ZipMemberSkipped)[0].contains("dir/B.HAR: only a.har is read"));
        let net = network(2, 0);
        let (out, err, d) = read(&zip(&[m("trace.network", &net), m("x.har", &a)]));
        assert_eq!(err, None);
        assert_eq!(trace_har(&out).0, [0, 1]);
        assert_eq!(d.count(WarnKind::ZipMemberSkipped), 1);
        let (out, err, _) = read(&zip(&[m("readme.txt", b"hi"), m("img/", b"")]));
        assert!(out.is_empty());
        assert_eq!(
            err.as_deref(),
            Some("the zip archive holds no HAR (`*.har`), capture (`*.pcap`, `*.pcapng`, `*.cap`) or Playwright trace network log (`*.network`); members: readme.txt, img/")
        );
    }

    /// macOS's archiver puts a resource fork beside each file (`__MACOSX/._name`): never
    /// read, whichever comes first, and not named as a second HAR.
    #[test]
    fn resource_forks_are_not_files() {
        let data = har();
        let fork = b"\0\x05\x16\x07\0\x02\0\0Mac OS X";
        let (out, err, d) = read(&zip(&[
            m("__MACOSX/._site.har", fork),
            m("site.har", &data),
            m("__MACOSX/x/._b.har", fork),
        ]));
        assert_eq!((out, err), (data, None));
        assert!(d.is_empty(), "{d:?}");
    }

    /// Members that cannot be read: an encrypted HAR is walked over (its size is in its
    /// header) and named; a stored member whose size follows its data ends the walk.
    #[test]
    fn unreadable_members_are_named() {
        let data = har();
        let secret = M {
            encrypted: true,
            descriptor: false,
            ..m("secret.har", &data)
        };
        let (out, err, d) = read(&zip(&[secret, m("open.har", &data)]));
        assert_eq!((out, err), (data.clone(), None));
        assert!(d.details(WarnKind::ZipMemberSkipped)[0].contains("secret.har: encrypted"));
        let stored = M {
            deflate: false,
            ..m("a.bin", b"abc")
        };
        let (out, err, d) = read(&zip(&[m("h.har", &data), stored, m("late.har", b"{}")]));
        assert_eq!((out, err), (data, None));
        assert!(d.details(WarnKind::ZipMemberSkipped)[0]
            .contains("a.bin: its size is only in the archive's directory"));
    }

    /// A member passed over that inflates like a bomb (zeros, 1000:1) ends the walk at
    /// 256 MiB instead of inflating on; what was read before stands.
    #[test]
    fn a_bomb_passed_over_ends_the_walk() {
        let data = har();
        let zeros = vec![0u8; 300 << 20];
        let (out, err, d) = read(&zip(&[
            m("h.har", &data),
            m("zeros.bin", &zeros),
            m("b.har", &data),
        ]));
        assert_eq!((out, err), (data, None));
        let skipped = d.details(WarnKind::ZipMemberSkipped);
        assert!(
            skipped
                .iter()
                .any(|w| w.contains("zeros.bin: inflates more than 200 times")),
            "{skipped:?}"
        );
    }

    /// Damage: a CRC that does not match, bytes that are no header (before anything was found:
    /// an error; after: a warning, what was read stands).
    #[test]
    fn damage_is_named() {
        let data = har();
        let mut z = zip(&[m("h.har", &data)]);
        let crc_at = z.windows(4).position(|w| w == DESCRIPTOR).unwrap() + 4;
        z[crc_at] ^= 1;
        let (out, err, _) = read(&z);
        assert_eq!(
            out, data,
            "every byte decoded is handed on before the error"
        );
        assert!(err.unwrap().contains("member h.har: CRC mismatch"));
        let mut z = zip(&[m("h.har", &data)]);
        let dir = z.windows(4).position(|w| w == DIRECTORY[0]).unwrap();
        z.truncate(dir);
        z.extend_from_slice(b"garbage after the member");
        let (out, err, d) = read(&z);
        assert_eq!((out, err), (data, None));
        assert_eq!(d.count(WarnKind::ZipTrailingGarbage), 1);
        let (_, err, _) = read(b"PK\x03\x04");
        assert!(err
            .unwrap()
            .starts_with("zip stream cut off at compressed byte 4"));
    }

    proptest::proptest! {
        /// Damage anywhere (bytes overwritten in a trace archive) never panics, and a failed
        /// archive reads as ended afterwards (`decode_all` checks it).
        #[test]
        fn damage_anywhere_never_panics(
            at in 0usize..4000,
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 1..16),
        ) {
            let net = network(30, 0);
            let mut z = zip(&[m("trace.trace", CONTEXT), m("trace.network", &net)]);
            let at = at % z.len();
            let end = (at + bytes.len()).min(z.len());
            z[at..end].copy_from_slice(&bytes[..end - at]);
            let _ = read(&z);
        }
    }

    /// An archive cut anywhere (a download stopped) gives a prefix of what the whole one gives,
    /// and all of it once the members are whole; never a panic.
    #[test]
    fn a_cut_archive_gives_what_precedes_the_cut() {
        let (h, net) = (har(), network(40, 0));
        for members in [
            vec![m("har.har", &h[..4000])],
            vec![m("trace.trace", CONTEXT), m("trace.network", &net)],
        ] {
            let z = zip(&members);
            let (full, err, _) = read(&z);
            assert_eq!(err, None);
            let last_data = z.windows(4).position(|w| w == DIRECTORY[0]).unwrap();
            for cut in 0..z.len() {
                let (out, err, _) = read(&z[..cut]);
                assert!(full.starts_with(&out), "cut {cut}");
                if cut >= last_data {
                    assert_eq!((out.len(), err), (full.len(), None), "cut {cut}");
                } else if cut > 0 {
                    assert!(err.is_some(), "cut {cut}");
                }
            }
        }
    }
}
