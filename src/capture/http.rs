//! Step 4 (http): HTTP/1.x framing and request/response pairing on one TCP connection, fed by
//! the reassembler as a [`StreamSink`]. Heads (and chunk-size lines, trailers) are buffered up
//! to fixed limits and parsed with `httparse`; bodies are counted, never stored. HTTP is
//! recognised by content, never by port.
//!
//! Leniencies accepted (as browsers and servers do): bare-LF line ends, CRLFs between messages,
//! obsolete folded and invalid header lines in responses, several spaces in request and status
//! lines. Everything else that does not frame is counted in `Diagnostics` and the parser
//! resynchronises at the next line that starts a message.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use crate::diag::Diagnostics;
use crate::model::{
    escape_bytes, trim_http_ws, Evidence, Exchange, Flavour, Headers, Location, Micros, Position,
    Request, Response, Timings,
};

use super::tcp::{Dir, FlowKey, PacketMeta, StreamSink};
use super::CaptureStats;

/// Largest message head (request/status line plus headers) kept; longer ones are dropped.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header lines parsed per message (`httparse` fails beyond it).
pub const MAX_HEADERS: usize = 128;
/// Largest chunk-size line (with extensions) or trailer line.
pub const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Requests waiting for their responses on one connection (pipelining depth).
pub const MAX_PENDING_REQUESTS: usize = 1024;
/// Hard upper bound for `max_headers` (the header array lives on the stack).
const HEADER_ARRAY: usize = 256;

/// Limits for the HTTP layer, copied from `CaptureOptions`.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub max_head_bytes: usize,
    pub max_headers: usize,
    pub max_chunk_line: usize,
    pub max_pending: usize,
}

/// What a connection's HTTP layer reports into, borrowed from the connection table.
pub struct Ctx<'a> {
    pub source: &'a Arc<str>,
    pub diag: &'a mut Diagnostics,
    pub stats: &'a mut CaptureStats,
    /// Finished exchanges, in emission order.
    pub out: &'a mut Vec<Exchange>,
    /// (time, seq) of every request seen and not yet emitted, for the watermark.
    pub open: &'a mut BTreeSet<(Micros, u64)>,
    /// Next request sequence number.
    pub seq: &'a mut u64,
    pub limits: &'a HttpLimits,
}

impl Ctx<'_> {
    fn warn(&mut self, kind: &'static str, meta: &PacketMeta, what: impl FnOnce() -> String) {
        let source = self.source;
        self.diag.warn(kind, || {
            format!(
                "{source}: packet {} (byte {}): {}",
                meta.number,
                meta.offset,
                what()
            )
        });
    }

    fn emit(&mut self, ex: Exchange) {
        self.open.remove(&(ex.time, ex.seq));
        self.out.push(ex);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing seen yet in this direction.
    Start,
    /// Expecting (or inside) a message head.
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    /// The CRLF after chunk data; `true` once the CR was seen.
    ChunkCrlf(bool),
    Trailers,
    /// Response body delimited by the end of the connection.
    UntilClose,
    /// Lost track of framing: looking for the next line that starts a message.
    Resync,
    /// Nothing more to parse in this direction.
    Ignore,
}

#[derive(Debug)]
struct DirParser {
    state: State,
    /// Head, chunk-size line or trailer line being collected.
    buf: Vec<u8>,
    /// Whether the first line of the head in `buf` was checked already.
    line_checked: bool,
    /// For `Resync`: the previous byte delivered was a line end (or a gap).
    at_line_start: bool,
    /// Packet of the current message's first byte.
    msg_meta: PacketMeta,
    /// Heads parsed in this direction.
    messages: u64,
    /// Request direction: the `seq` of the request whose body is being received.
    cur_seq: Option<u64>,
}

impl DirParser {
    fn new() -> Self {
        DirParser {
            state: State::Start,
            buf: Vec::new(),
            line_checked: false,
            at_line_start: true,
            msg_meta: PacketMeta::default(),
            messages: 0,
            cur_seq: None,
        }
    }
}

#[derive(Debug)]
struct Pending {
    ex: Exchange,
    /// Capture time of the last request byte seen so far.
    last_ts: Micros,
    head: bool,
    connect: bool,
}

/// Body framing decided from a head.
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// HTTP state of one TCP connection: a parser per direction and the FIFO of requests waiting
/// for responses.
#[derive(Debug)]
pub struct HttpConn {
    key: FlowKey,
    conn_no: u64,
    dirs: [DirParser; 2],
    /// The direction that carries requests, once known (SYN, or the first message seen).
    client: Option<Dir>,
    /// The connection began before the capture: both directions start by resynchronising.
    mid_stream: bool,
    ignored: bool,
    pending: VecDeque<Pending>,
    client_ip: Option<Arc<str>>,
}

const KNOWN_METHODS: [&[u8]; 9] = [
    b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
];

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A method token followed by a space (or by the end of the bytes seen so far).
fn looks_like_request_start(data: &[u8]) -> bool {
    let n = data.iter().take(32).take_while(|b| is_tchar(**b)).count();
    n > 0 && (data.get(n) == Some(&b' ') || (n == data.len() && n < 32))
}

/// A TLS record header: handshake/alert/CCS/application data, version 3.x.
fn looks_like_tls(data: &[u8]) -> bool {
    matches!(data, [0x14..=0x17, 0x03, 0x00..=0x04, ..])
}

/// Index just past the blank line that ends a head, searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(rel) = buf.get(i..)?.iter().position(|b| *b == b'\n') {
        let nl = i + rel;
        match (buf.get(nl + 1), buf.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// Whether `line` (without its line end) ends in `HTTP/d.d`, and the major version digit.
fn request_line_version(line: &[u8]) -> Option<u8> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line {
        [.., b' ', b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some(*major)
        }
        _ => None,
    }
}

/// Where in `data` a message starts, for resynchronisation: a status line (when `responses`)
/// or a request line (when `requests`) at the start of a line.
fn find_message_start(
    data: &[u8],
    at_line_start: bool,
    requests: bool,
    responses: bool,
) -> Option<(usize, bool)> {
    let mut p = if at_line_start {
        0
    } else {
        data.iter().position(|b| *b == b'\n')? + 1
    };
    loop {
        let c = data.get(p..)?;
        if c.is_empty() {
            return None;
        }
        if responses && c.starts_with(b"HTTP/1.") {
            return Some((p, false));
        }
        if requests && looks_like_request_start(c) {
            let line_end = c.iter().position(|b| *b == b'\n');
            let ok = match line_end {
                Some(e) => c.get(..e).and_then(request_line_version) == Some(b'1'),
                None => {
                    let n = c.iter().take_while(|b| is_tchar(**b)).count();
                    c.get(..n).is_some_and(|m| KNOWN_METHODS.contains(&m))
                }
            };
            if ok {
                return Some((p, true));
            }
        }
        p += c.iter().position(|b| *b == b'\n')? + 1;
    }
}

/// Content-Length: every comma-separated value must be the same decimal number.
fn content_length(headers: &Headers) -> Option<Result<u64, ()>> {
    let mut out: Option<u64> = None;
    for v in headers.get_all("content-length") {
        for part in v.split(|b| *b == b',') {
            let part = trim_http_ws(part);
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Some(Err(()));
            }
            let mut n: u64 = 0;
            for d in part {
                n = match n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d - b'0')))
                {
                    Some(n) => n,
                    None => return Some(Err(())),
                };
            }
            match out {
                Some(prev) if prev != n => return Some(Err(())),
                _ => out = Some(n),
            }
        }
    }
    out.map(Ok)
}

/// Whether the last transfer coding is `chunked`; `None` without Transfer-Encoding.
fn chunked_last(headers: &Headers) -> Option<bool> {
    let mut last: Option<&[u8]> = None;
    for v in headers.get_all("transfer-encoding") {
        for part in v.split(|b| *b == b',') {
            let t = trim_http_ws(part);
            if !t.is_empty() {
                last = Some(t);
            }
        }
    }
    let has = headers.contains("transfer-encoding");
    if !has {
        return None;
    }
    Some(last.is_some_and(|t| t.eq_ignore_ascii_case(b"chunked")))
}

/// Parses a chunk-size line (without its line end): hex digits, then optional whitespace and
/// `;extensions`.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let rest = line.get(digits..)?;
    let rest = trim_http_ws(rest);
    if !(rest.is_empty() || rest.first() == Some(&b';')) {
        return None;
    }
    let mut n: u64 = 0;
    for b in line.get(..digits)? {
        let d = char::from(*b).to_digit(16)?;
        n = n.checked_mul(16)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

impl HttpConn {
    /// `client` is the requests' direction when the handshake showed it; `mid_stream` when the
    /// connection was already running at its first packet.
    pub fn new(key: FlowKey, conn_no: u64, client: Option<Dir>, mid_stream: bool) -> Self {
        HttpConn {
            key,
            conn_no,
            dirs: [DirParser::new(), DirParser::new()],
            client,
            mid_stream,
            ignored: false,
            pending: VecDeque::new(),
            client_ip: None,
        }
    }

    pub fn set_client(&mut self, dir: Dir) {
        if self.client.is_none() {
            self.client = Some(dir);
        }
    }

    pub fn is_ignored(&self) -> bool {
        self.ignored
    }

    /// Bytes buffered for heads and lines (counted in the connection's buffer limit).
    pub fn buffered(&self) -> usize {
        self.dirs[0].buf.len() + self.dirs[1].buf.len()
    }

    /// Stops parsing the connection (TLS, not HTTP, upgraded to another protocol).
    fn ignore(&mut self) {
        self.ignored = true;
        for d in &mut self.dirs {
            d.state = State::Ignore;
            d.buf = Vec::new();
        }
    }

    /// Emits every request still waiting, without a response (the connection is gone).
    pub fn flush(&mut self, ctx: &mut Ctx<'_>) {
        while let Some(p) = self.pending.pop_front() {
            ctx.emit(p.ex);
        }
        for d in &mut self.dirs {
            d.buf = Vec::new();
        }
    }

    pub fn data(&mut self, dir: Dir, mut data: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let other = 1 - dir.min(1);
        let dir = dir.min(1);
        while !data.is_empty() {
            if self.ignored {
                return;
            }
            let state = self.dirs[dir].state;
            match state {
                State::Ignore | State::UntilClose => return,
                State::Start => self.classify(dir, other, data, meta, ctx),
                State::Body(rem) => {
                    let n = rem.min(data.len() as u64);
                    data = data.get(n as usize..).unwrap_or(&[]);
                    self.touch_request(dir, meta);
                    if n == rem {
                        self.message_done(dir);
                    } else {
                        self.dirs[dir].state = State::Body(rem - n);
                    }
                }
                State::ChunkData(rem) => {
                    let n = rem.min(data.len() as u64);
                    data = data.get(n as usize..).unwrap_or(&[]);
                    self.touch_request(dir, meta);
                    self.dirs[dir].state = if n == rem {
                        State::ChunkCrlf(false)
                    } else {
                        State::ChunkData(rem - n)
                    };
                }
                State::ChunkCrlf(cr) => {
                    match (data.first(), cr) {
                        (Some(b'\r'), false) => self.dirs[dir].state = State::ChunkCrlf(true),
                        (Some(b'\n'), _) => self.dirs[dir].state = State::ChunkSize,
                        _ => {
                            ctx.warn("http-bad-chunk", meta, || {
                                "chunk data not followed by CRLF".into()
                            });
                            self.resync(dir);
                            continue;
                        }
                    }
                    data = data.get(1..).unwrap_or(&[]);
                }
                State::Resync => {
                    let d = &self.dirs[dir];
                    let (req, resp) = match self.client {
                        Some(c) if c == dir => (true, false),
                        Some(_) => (false, true),
                        None => (true, true),
                    };
                    match find_message_start(data, d.at_line_start, req, resp) {
                        Some((p, is_request)) => {
                            data = data.get(p..).unwrap_or(&[]);
                            if self.client.is_none() {
                                self.client = Some(if is_request { dir } else { other });
                            }
                            self.start_head(dir);
                        }
                        None => {
                            self.dirs[dir].at_line_start = data.last() == Some(&b'\n');
                            return;
                        }
                    }
                }
                State::Head => {
                    let n = self.head(dir, other, data, meta, ctx);
                    data = data.get(n..).unwrap_or(&[]);
                }
                State::ChunkSize | State::Trailers => {
                    let n = self.line(dir, data, meta, ctx);
                    data = data.get(n..).unwrap_or(&[]);
                }
            }
        }
    }

    /// Body bytes the reassembler did not keep: same as data in a body state.
    pub fn skip(&mut self, dir: Dir, len: u64, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let dir = dir.min(1);
        match self.dirs[dir].state {
            State::Body(rem) if len <= rem => {
                self.touch_request(dir, meta);
                if len == rem {
                    self.message_done(dir);
                } else {
                    self.dirs[dir].state = State::Body(rem - len);
                }
            }
            State::ChunkData(rem) if len <= rem => {
                self.touch_request(dir, meta);
                self.dirs[dir].state = if len == rem {
                    State::ChunkCrlf(false)
                } else {
                    State::ChunkData(rem - len)
                };
            }
            State::UntilClose | State::Ignore => {}
            _ => self.gap(dir, len, meta, ctx),
        }
    }

    /// Bytes lost in the capture. Inside a body of known length the framing survives; anywhere
    /// else the current message ends here and parsing resumes at the next message start.
    pub fn gap(&mut self, dir: Dir, len: u64, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let dir = dir.min(1);
        match self.dirs[dir].state {
            State::Body(rem) if len < rem => self.dirs[dir].state = State::Body(rem - len),
            State::Body(rem) if len == rem => self.message_done(dir),
            State::ChunkData(rem) if len < rem => {
                self.dirs[dir].state = State::ChunkData(rem - len)
            }
            State::ChunkData(rem) if len == rem => self.dirs[dir].state = State::ChunkCrlf(false),
            State::UntilClose | State::Ignore => {}
            State::Head if !self.dirs[dir].buf.is_empty() => {
                ctx.warn("http-head-lost", meta, || {
                    "a capture gap cut a message head; it is dropped".into()
                });
                self.resync(dir);
            }
            _ => self.resync(dir),
        }
    }

    pub fn skippable(&self, dir: Dir) -> u64 {
        if self.ignored {
            return u64::MAX;
        }
        match self.dirs[dir.min(1)].state {
            State::Body(r) | State::ChunkData(r) => r,
            State::UntilClose | State::Ignore => u64::MAX,
            _ => 0,
        }
    }

    /// The direction ended (FIN, RST, flush).
    pub fn end(&mut self, dir: Dir, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let dir = dir.min(1);
        let d = &mut self.dirs[dir];
        match d.state {
            State::Head if !d.buf.is_empty() => {
                let n = d.buf.len();
                ctx.warn("http-incomplete-head", meta, || {
                    format!("connection ended inside a message head ({n} bytes)")
                });
            }
            State::Body(_) | State::ChunkData(_) | State::ChunkSize | State::Trailers => {
                ctx.warn("http-truncated-body", meta, || {
                    "connection ended inside a message body".into()
                });
            }
            _ => {}
        }
        d.state = State::Ignore;
        d.buf = Vec::new();
    }

    fn resync(&mut self, dir: Dir) {
        let d = &mut self.dirs[dir];
        d.state = State::Resync;
        d.buf.clear();
        d.line_checked = false;
        d.at_line_start = true;
    }

    fn start_head(&mut self, dir: Dir) {
        let d = &mut self.dirs[dir];
        d.state = State::Head;
        d.buf.clear();
        d.line_checked = false;
    }

    fn message_done(&mut self, dir: Dir) {
        self.start_head(dir);
        self.dirs[dir].cur_seq = None;
    }

    /// The request whose body is arriving got another byte: its "last byte" time moves.
    fn touch_request(&mut self, dir: Dir, meta: &PacketMeta) {
        let cur = self.dirs[dir].cur_seq;
        if cur.is_none() {
            return;
        }
        if let Some(back) = self.pending.back_mut() {
            if Some(back.ex.seq) == cur {
                back.last_ts = meta.ts;
            }
        }
    }

    /// First bytes of a direction: TLS, HTTP or something else.
    fn classify(&mut self, dir: Dir, other: Dir, data: &[u8], meta: &PacketMeta, ctx: &mut Ctx) {
        let port443 = self.key.lo.port == 443 || self.key.hi.port == 443;
        let http_like = data.starts_with(b"HTTP/") || looks_like_request_start(data);
        if looks_like_tls(data) || (port443 && !http_like) {
            ctx.stats.tls_connections += 1;
            let key = self.key;
            ctx.warn("tls-encrypted", meta, || {
                format!("TLS between {} and {}: not decrypted", key.lo, key.hi)
            });
            self.ignore();
            return;
        }
        if self.mid_stream {
            self.resync(dir);
            return;
        }
        let is_request_dir = match self.client {
            Some(c) => c == dir,
            None if data.starts_with(b"HTTP/") => {
                self.client = Some(other);
                false
            }
            None => {
                self.client = Some(dir);
                true
            }
        };
        if is_request_dir {
            if looks_like_request_start(data) {
                self.start_head(dir);
            } else {
                self.not_http(meta, ctx);
            }
        } else if b"HTTP/".starts_with(data.get(..5).unwrap_or(data)) {
            self.start_head(dir);
        } else if self.pending.is_empty() && self.dirs[other].messages == 0 {
            // The server spoke first, and not HTTP (SSH, SMTP banners…).
            self.not_http(meta, ctx);
        } else {
            ctx.warn("http-garbage", meta, || {
                "answer to an HTTP request is not HTTP".into()
            });
            self.dirs[dir].state = State::Ignore;
        }
    }

    fn not_http(&mut self, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let key = self.key;
        ctx.warn("non-http", meta, || {
            format!("TCP between {} and {} is not HTTP/1.x", key.lo, key.hi)
        });
        self.ignore();
    }

    /// Collects a head; parses it once complete. Returns the bytes of `data` consumed.
    fn head(
        &mut self,
        dir: Dir,
        other: Dir,
        data: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> usize {
        let max = ctx.limits.max_head_bytes.max(16);
        let d = &mut self.dirs[dir];
        if d.buf.is_empty() {
            // Blank lines between messages are ignored (RFC 9112 section 2.2).
            let blank = data
                .iter()
                .take_while(|b| **b == b'\r' || **b == b'\n')
                .count();
            if blank > 0 {
                return blank;
            }
            d.msg_meta = *meta;
            // Fast path: the whole head is in this segment, parse it in place.
            if let Some(end) = find_head_end(data, 0) {
                if end <= max {
                    let head = data.get(..end).unwrap_or(&[]);
                    self.parse_head(dir, other, head, meta, ctx);
                    return end;
                }
            }
        }
        let old = d.buf.len();
        let take = data.len().min(max.saturating_sub(old)).max(1);
        let taken = data.get(..take).unwrap_or(data);
        d.buf.extend_from_slice(taken);
        if !d.line_checked {
            if let Some(nl) = d.buf.iter().position(|b| *b == b'\n') {
                d.line_checked = true;
                let first = d.buf.get(..nl).unwrap_or(&[]);
                let ok = if self.client == Some(dir) {
                    request_line_version(first).is_some()
                } else {
                    first.starts_with(b"HTTP/")
                };
                if !ok {
                    let first = first.to_vec();
                    self.bad_start_line(dir, &first, meta, ctx);
                    return take;
                }
            }
        }
        let d = &mut self.dirs[dir];
        match find_head_end(&d.buf, old.saturating_sub(3)) {
            Some(end) => {
                let used = end - old;
                d.buf.truncate(end);
                let buf = std::mem::take(&mut d.buf);
                self.parse_head(dir, other, &buf, meta, ctx);
                // Keep the allocation for the next head.
                let d = &mut self.dirs[dir];
                if d.buf.is_empty() {
                    d.buf = buf;
                    d.buf.clear();
                }
                used
            }
            None if d.buf.len() >= max => {
                let n = d.buf.len();
                ctx.warn("limit-header-bytes", meta, || {
                    format!("message head longer than {n} bytes dropped")
                });
                self.resync(dir);
                take
            }
            None => take,
        }
    }

    /// A first line that cannot start a message.
    fn bad_start_line(&mut self, dir: Dir, line: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let is_request = self.client == Some(dir);
        if is_request && self.dirs[dir].messages == 0 {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let words = line.split(|b| *b == b' ').filter(|w| !w.is_empty()).count();
            if line.ends_with(b" HTTP/2.0") {
                ctx.warn("http2", meta, || {
                    "HTTP/2 with prior knowledge: not parsed".into()
                });
            } else if words == 2 {
                ctx.warn("http-0.9", meta, || {
                    format!("HTTP/0.9 request ignored: {}", escape_bytes(line))
                });
            } else {
                let shown = escape_bytes(line.get(..60).unwrap_or(line));
                ctx.warn("non-http", meta, || {
                    format!("not an HTTP/1.x request line: {shown}")
                });
            }
            self.ignore();
        } else {
            ctx.warn("http-garbage", meta, || {
                "bytes that do not start an HTTP message; resynchronising".into()
            });
            self.resync(dir);
        }
    }

    fn parse_head(
        &mut self,
        dir: Dir,
        other: Dir,
        head: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) {
        if self.client.is_none() {
            self.client = Some(if head.starts_with(b"HTTP/") {
                other
            } else {
                dir
            });
        }
        if self.client == Some(dir) {
            self.parse_request(dir, head, meta, ctx);
        } else {
            self.parse_response(dir, head, meta, ctx);
        }
    }

    fn parse_request(&mut self, dir: Dir, head: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let mut hdrs = [httparse::EMPTY_HEADER; HEADER_ARRAY];
        let n = ctx.limits.max_headers.clamp(1, HEADER_ARRAY);
        let mut req = httparse::Request::new(hdrs.get_mut(..n).unwrap_or(&mut []));
        let mut cfg = httparse::ParserConfig::default();
        cfg.allow_multiple_spaces_in_request_line_delimiters(true);
        match cfg.parse_request(&mut req, head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) | Err(_) => {
                let first_line = head.split(|b| *b == b'\n').next().unwrap_or(&[]).to_vec();
                let too_many = matches!(
                    cfg.parse_request(&mut httparse::Request::new(&mut []), head),
                    Err(httparse::Error::TooManyHeaders)
                );
                if too_many {
                    ctx.warn("limit-headers", meta, || {
                        format!("request with more than {n} header lines dropped")
                    });
                    self.resync(dir);
                } else if self.dirs[dir].messages == 0 {
                    self.bad_start_line(dir, &first_line, meta, ctx);
                } else {
                    ctx.warn("http-parse-error", meta, || {
                        format!(
                            "unparsable request head: {}",
                            escape_bytes(first_line.get(..80).unwrap_or(&first_line))
                        )
                    });
                    self.resync(dir);
                }
                return;
            }
        }
        let method = req.method.unwrap_or("").to_owned();
        let target = req.path.unwrap_or("");
        let version = req.version.unwrap_or(1);
        let mut headers = Headers::with_capacity(req.headers.len(), head.len());
        for h in req.headers.iter() {
            headers.push(h.name.as_bytes(), h.value);
        }
        let server = self.key.sender(1 - dir);
        let client = self.key.sender(dir);
        let url = build_url(&method, target, &headers, &server.to_string());
        let framing = match (chunked_last(&headers), content_length(&headers)) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => {
                ctx.warn("http-bad-framing", meta, || {
                    "request Transfer-Encoding does not end in chunked".into()
                });
                Framing::Length(0)
            }
            (None, Some(Ok(n))) => Framing::Length(n),
            (None, Some(Err(()))) => {
                ctx.warn("http-bad-framing", meta, || {
                    "invalid request Content-Length".into()
                });
                Framing::Length(0)
            }
            (None, None) => Framing::Length(0),
        };
        let client_ip = self
            .client_ip
            .get_or_insert_with(|| Arc::from(client.ip.to_string()))
            .clone();
        let start = self.dirs[dir].msg_meta;
        let seq = *ctx.seq;
        *ctx.seq += 1;
        ctx.stats.http_requests += 1;
        ctx.open.insert((start.ts, seq));
        let head_method = method == "HEAD";
        let connect = method.eq_ignore_ascii_case("CONNECT");
        let ex = Exchange {
            loc: Location {
                source: ctx.source.clone(),
                position: Position::Packet {
                    number: start.number,
                    offset: start.offset,
                },
            },
            seq,
            time: start.ts,
            client: client_ip,
            connection: Some(self.conn_no),
            flavour: Flavour::Capture,
            request: Request {
                method,
                url,
                http_version: format!("HTTP/1.{version}"),
                headers,
            },
            response: None,
            timings: Timings::default(),
            evidence: Evidence {
                server_ip: Some(server.to_string()),
                ..Evidence::default()
            },
        };
        if self.pending.len() >= ctx.limits.max_pending.max(1) {
            if let Some(old) = self.pending.pop_front() {
                ctx.warn("limit-pending-requests", meta, || {
                    "too many requests waiting for responses; oldest emitted without one".into()
                });
                ctx.emit(old.ex);
            }
        }
        self.pending.push_back(Pending {
            ex,
            last_ts: meta.ts,
            head: head_method,
            connect,
        });
        let d = &mut self.dirs[dir];
        d.messages += 1;
        d.cur_seq = Some(seq);
        match framing {
            Framing::Length(0) | Framing::UntilClose => self.message_done(dir),
            Framing::Length(n) => self.dirs[dir].state = State::Body(n),
            Framing::Chunked => self.dirs[dir].state = State::ChunkSize,
        }
    }

    fn parse_response(&mut self, dir: Dir, head: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let mut hdrs = [httparse::EMPTY_HEADER; HEADER_ARRAY];
        let n = ctx.limits.max_headers.clamp(1, HEADER_ARRAY);
        let mut resp = httparse::Response::new(hdrs.get_mut(..n).unwrap_or(&mut []));
        let mut cfg = httparse::ParserConfig::default();
        cfg.allow_obsolete_multiline_headers_in_responses(true)
            .allow_spaces_after_header_name_in_responses(true)
            .allow_multiple_spaces_in_response_status_delimiters(true)
            .ignore_invalid_headers_in_responses(true);
        match cfg.parse_response(&mut resp, head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) | Err(_) => {
                let first = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
                let shown = escape_bytes(first.get(..80).unwrap_or(first));
                ctx.warn("http-parse-error", meta, || {
                    format!("unparsable response head: {shown}")
                });
                self.resync(dir);
                return;
            }
        }
        let status = resp.code.unwrap_or(0);
        self.dirs[dir].messages += 1;
        if (100..200).contains(&status) && status != 101 {
            // Interim (100 Continue, 103 Early Hints): not the final response, no body.
            self.message_done(dir);
            return;
        }
        let mut headers = Headers::with_capacity(resp.headers.len(), head.len());
        for h in resp.headers.iter() {
            headers.push(h.name.as_bytes(), h.value);
        }
        let first_byte = self.dirs[dir].msg_meta;
        let (req_head, req_connect) = match self.pending.pop_front() {
            Some(mut p) => {
                let wait = (first_byte.ts - p.last_ts).max(0) as f64 / 1000.0;
                p.ex.timings.wait_ms = Some(wait);
                p.ex.response = Some(Response {
                    status,
                    status_text: resp.reason.unwrap_or("").to_owned(),
                    headers: headers.clone(),
                });
                let flags = (p.head, p.connect);
                ctx.emit(p.ex);
                flags
            }
            None => {
                ctx.warn("http-response-without-request", meta, || {
                    format!("response {status} without a request seen")
                });
                (false, false)
            }
        };
        if status == 101 || (req_connect && (200..300).contains(&status)) {
            ctx.warn("http-upgrade", meta, || {
                format!("connection switched protocols after {status}; rest not parsed")
            });
            // Requests still waiting will never be answered in HTTP/1.
            self.flush(ctx);
            self.ignore();
            return;
        }
        let framing = if req_head || status == 204 || status == 304 {
            Framing::Length(0)
        } else {
            match (chunked_last(&headers), content_length(&headers)) {
                (Some(true), _) => Framing::Chunked,
                (Some(false), _) => Framing::UntilClose,
                (None, Some(Ok(n))) => Framing::Length(n),
                (None, Some(Err(()))) => {
                    ctx.warn("http-bad-framing", meta, || {
                        "invalid response Content-Length; reading until close".into()
                    });
                    Framing::UntilClose
                }
                (None, None) => Framing::UntilClose,
            }
        };
        match framing {
            Framing::Length(0) => self.message_done(dir),
            Framing::Length(n) => self.dirs[dir].state = State::Body(n),
            Framing::Chunked => self.dirs[dir].state = State::ChunkSize,
            Framing::UntilClose => self.dirs[dir].state = State::UntilClose,
        }
    }

    /// Chunk-size lines and trailer lines. Returns the bytes of `data` consumed.
    fn line(&mut self, dir: Dir, data: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) -> usize {
        let max = ctx.limits.max_chunk_line.max(8);
        let d = &mut self.dirs[dir];
        let (used, complete) = match data.iter().position(|b| *b == b'\n') {
            Some(nl) => (nl + 1, true),
            None => (data.len(), false),
        };
        if d.buf.len() + used > max {
            ctx.warn("limit-chunk-line", meta, || {
                format!("chunk-size or trailer line longer than {max} bytes")
            });
            self.resync(dir);
            return used;
        }
        d.buf.extend_from_slice(data.get(..used).unwrap_or(&[]));
        if !complete {
            return used;
        }
        let line = std::mem::take(&mut d.buf);
        let content = line.strip_suffix(b"\n").unwrap_or(&line);
        match d.state {
            State::ChunkSize => match chunk_size(content) {
                Some(0) => d.state = State::Trailers,
                Some(n) => d.state = State::ChunkData(n),
                None => {
                    let shown = escape_bytes(content.get(..40).unwrap_or(content));
                    ctx.warn("http-bad-chunk", meta, || {
                        format!("bad chunk-size line: {shown}")
                    });
                    self.resync(dir);
                    return used;
                }
            },
            _ => {
                // Trailers end at the first empty line.
                if content.strip_suffix(b"\r").unwrap_or(content).is_empty() {
                    self.touch_request(dir, meta);
                    self.message_done(dir);
                }
            }
        }
        let d = &mut self.dirs[dir];
        if d.buf.is_empty() {
            d.buf = line;
            d.buf.clear();
        }
        used
    }
}

/// The request URL: absolute-form targets as sent; otherwise `http://` + Host (or the server
/// address when there is none) + target.
fn build_url(method: &str, target: &str, headers: &Headers, server: &str) -> String {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return target.to_owned();
    }
    let host = headers
        .first("host")
        .map(trim_http_ws)
        .filter(|h| !h.is_empty())
        .map(escape_bytes);
    let host = host.as_deref().unwrap_or(server);
    if method.eq_ignore_ascii_case("CONNECT") {
        return format!("http://{target}");
    }
    if target.starts_with('/') {
        format!("http://{host}{target}")
    } else {
        format!("http://{host}/{target}")
    }
}

/// Adapts a connection's HTTP state plus the shared context to the reassembler's sink.
pub struct HttpSink<'c, 'x> {
    pub conn: &'c mut HttpConn,
    pub ctx: &'c mut Ctx<'x>,
}

impl StreamSink for HttpSink<'_, '_> {
    fn data(&mut self, dir: Dir, data: &[u8], meta: &PacketMeta) {
        self.conn.data(dir, data, meta, self.ctx);
    }
    fn skip(&mut self, dir: Dir, len: u64, meta: &PacketMeta) {
        self.conn.skip(dir, len, meta, self.ctx);
    }
    fn gap(&mut self, dir: Dir, len: u64, meta: &PacketMeta) {
        self.conn.gap(dir, len, meta, self.ctx);
    }
    fn skippable(&self, dir: Dir) -> u64 {
        self.conn.skippable(dir)
    }
    fn end(&mut self, dir: Dir, meta: &PacketMeta) {
        self.conn.end(dir, meta, self.ctx);
    }
    fn warn(&mut self, kind: &'static str, _dir: Dir, meta: &PacketMeta) {
        let conn = self.conn.conn_no;
        self.ctx
            .warn(kind, meta, || format!("connection {conn}: {kind}"));
    }
}
