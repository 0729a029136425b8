//! Step 3c (TLS): decryption of one TCP connection's TLS 1.2 / 1.3 records with secrets from
//! a key log, handing the plaintext to HTTP/2 or HTTP/1.x as ALPN says. A session is never
//! guessed at: without its secrets, with a cipher suite not supported, on a record that does
//! not authenticate or after a capture gap, decoding stops with a counted reason.

pub(crate) mod keylog;
pub(crate) mod keys;
pub(crate) mod record;
pub(crate) mod synth;

use crate::diag::WarnKind;
use crate::model::{Exchange, Micros};

use super::h2::{self, H2Conn};
use super::http::{Ctx, HttpConn};
use super::tcp::{Dir, FlowKey, PacketMeta};
use keylog::{Secrets, Slot};
use keys::{DirKeys, Suite};
use record::{ClientHello, HsReader, ServerHello};

pub use keylog::KeyLog;

/// Bytes of undecided records one direction may hold (a client's 0-RTT data waits for the
/// ServerHello that names its cipher suite).
pub(crate) const MAX_RECORD_BUFFER: usize = 256 * 1024;

/// Record buffer capacity kept between segments while a record is incomplete (a full record
/// and its header fit).
const KEEP_CAPACITY: usize = 32 * 1024;

/// Record buffer capacity kept once every record is processed: keep-alive connections spend
/// most of their life idle at a record boundary, and thousands of them each keeping a record's
/// worth was the largest part of a TLS capture's peak memory (36 MB of 125 MB).
const IDLE_CAPACITY: usize = 2 * 1024;

/// What runs over the decrypted stream.
#[derive(Debug)]
enum App {
    /// No application data yet.
    Undecided,
    Http1(Box<HttpConn>),
    H2(Box<H2Conn>),
}

#[derive(Debug, Default)]
struct Side {
    /// Received bytes not yet processed as whole records.
    rec: Vec<u8>,
    hs: HsReader,
    /// Current record protection (TLS 1.2: from the ChangeCipherSpec on).
    keys: Option<DirKeys>,
    /// TLS 1.3 client: the 0-RTT key, tried when the handshake key fails before Finished.
    early: Option<DirKeys>,
    /// TLS 1.3: the application traffic secret in use (for KeyUpdate).
    secret: Option<Vec<u8>>,
    /// TLS 1.2: a ChangeCipherSpec was seen.
    ccs: bool,
    /// This side's Finished was seen (TLS 1.3: application keys are in use).
    finished: bool,
    /// The time of the segment `rec`'s first byte came in (when it was last empty).
    since: Micros,
}

/// TLS state of one connection.
#[derive(Debug)]
pub(crate) struct TlsConn {
    key: FlowKey,
    conn_no: u64,
    client: Option<Dir>,
    sides: [Side; 2],
    hello: Option<ClientHello>,
    server: Option<ServerHello>,
    suite: Option<Suite>,
    secrets: Option<Secrets>,
    alpn: Option<Vec<u8>>,
    app: App,
    stopped: bool,
    /// The time of the client's latest bytes (`Micros::MIN` before any): once the connection
    /// is stopped, what the client sends after it goes unread (`TlsConn::unread`).
    client_last: Micros,
}

/// A handshake event to act on once the record that carried it is done.
enum Hs {
    Client(ClientHello),
    Server(ServerHello),
    Alpn(Vec<u8>),
    Finished,
    KeyUpdate,
}

impl TlsConn {
    pub(crate) fn new(key: FlowKey, conn_no: u64, client: Option<Dir>) -> Self {
        TlsConn {
            key,
            conn_no,
            client,
            sides: [Side::default(), Side::default()],
            hello: None,
            server: None,
            suite: None,
            secrets: None,
            alpn: None,
            app: App::Undecided,
            stopped: false,
            client_last: Micros::MIN,
        }
    }

    /// Bytes held: partial records, handshake messages, and the application layer's buffers.
    pub(crate) fn buffered(&self) -> usize {
        let app = match &self.app {
            App::Undecided => 0,
            App::Http1(h) => h.buffered_capacity(),
            App::H2(h) => h.buffered(),
        };
        self.sides
            .iter()
            .map(|s| s.rec.capacity() + s.hs.buffered())
            .sum::<usize>()
            + app
    }

    pub(crate) fn data(&mut self, dir: Dir, data: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let dir = dir.min(1);
        if self.stopped {
            self.unread(dir, data, meta, ctx);
            return;
        }
        if self.sides[dir].rec.is_empty() {
            self.sides[dir].since = meta.ts;
        }
        // Taken record by record: the buffer is given at most the rest of the record it holds
        // before that record is processed, and is sized for a whole record when one starts,
        // so a record is copied in once (grown by doubling from a segment's worth, and past
        // its end by the next record's first bytes, a 16 KiB record was copied several
        // times on its way in).
        let mut data = data;
        while !data.is_empty() && !self.stopped {
            let rec = &mut self.sides[dir].rec;
            let take = match rec.get(..5) {
                Some(&[_, _, _, hi, lo]) => {
                    let whole = 5 + usize::from(u16::from_be_bytes([hi, lo]));
                    // A whole record already held waits for its keys: the rest goes behind.
                    match whole.checked_sub(rec.len()) {
                        Some(rest) if rest > 0 => rest.min(data.len()),
                        _ => data.len(),
                    }
                }
                _ => {
                    if let (true, Some(&[_, _, _, hi, lo])) = (rec.is_empty(), data.get(..5)) {
                        let whole = 5 + usize::from(u16::from_be_bytes([hi, lo]));
                        rec.reserve_exact(whole.min(5 + record::MAX_FRAGMENT).max(data.len()));
                    }
                    data.len()
                }
            };
            rec.extend_from_slice(&data[..take]);
            data = &data[take..];
            self.process(dir, meta, ctx);
        }
        // Left over by a stop.
        self.unread(dir, data, meta, ctx);
        if !self.stopped && self.sides[dir].rec.len() > MAX_RECORD_BUFFER {
            self.stop(
                WarnKind::LimitConnectionBuffer,
                "TLS records held over the limit",
                meta,
                ctx,
            );
        }
        if self.client.is_none_or(|c| c == dir) {
            self.client_last = meta.ts;
        }
    }

    /// Records `data`, bytes sent in `dir` and left unread by a stop (no key, a gap, a bad
    /// record), as lost (`model::loss`) where they are the client's and may hold a request
    /// ([`may_hold_request`]): a request missing after its preflight is then no evidence of a
    /// block. Lost since the client's previous bytes. Where the roles are not known (no
    /// ClientHello seen), `dir`'s sender is taken as the client.
    fn unread(&mut self, dir: Dir, data: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if !self.stopped || self.client.is_some_and(|c| c != dir) || !may_hold_request(data) {
            return;
        }
        let client = self.client.unwrap_or(dir);
        // Before any of the client's bytes were seen, these are its first.
        let after = match self.client_last {
            Micros::MIN => meta.ts,
            last => last,
        };
        ctx.losses.push(self.loss(client, after, meta.ts));
        self.client_last = meta.ts;
    }

    /// What `client`'s sender lost to the other side between `after` and `by`.
    fn loss(&self, client: Dir, after: Micros, by: Micros) -> crate::model::loss::Loss {
        crate::model::loss::Loss {
            client: super::tcp::ip_shared(self.key.sender(client).ip),
            server: self.key.sender(1 - client).text(),
            after,
            by,
        }
    }

    /// Records what the client sent and the connection still holds undecrypted when it is
    /// gone as lost (`model::loss`), as [`TlsConn::unread`] does after a stop: records
    /// waiting for a ServerHello that never came (0-RTT data, a session begun before the
    /// capture) or cut by the connection's end. Sent from the time the oldest of them came
    /// in to the client's latest bytes; where the roles are not known, either side may be
    /// the client.
    fn held_unread(&mut self, ctx: &mut Ctx<'_>) {
        for dir in 0..2 {
            if self.client.is_some_and(|c| c != dir) {
                continue;
            }
            let held = std::mem::take(&mut self.sides[dir].rec);
            if !may_hold_request(&held) {
                continue;
            }
            let since = self.sides[dir].since;
            ctx.losses
                .push(self.loss(dir, since, self.client_last.max(since)));
        }
    }

    /// Bytes lost in the capture: the record stream cannot be followed.
    pub(crate) fn gap(&mut self, dir: Dir, len: u64, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let _ = dir;
        self.stop(
            WarnKind::TlsGap,
            &format!("a capture gap lost {len} bytes of the TLS stream"),
            meta,
            ctx,
        );
    }

    pub(crate) fn end(&mut self, dir: Dir, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if let App::Http1(h) = &mut self.app {
            with_https(ctx, |ctx| h.end(dir, meta, ctx));
        }
    }

    /// See [`HttpConn::mark_closed_unanswered`]: for a session still read whose server left
    /// no record cut short.
    pub(crate) fn mark_closed_unanswered(&mut self, reset: bool, ended: [bool; 2], at: Micros) {
        let Some(client) = self.client else {
            return;
        };
        if self.stopped || !self.sides[1 - client.min(1)].rec.is_empty() {
            return;
        }
        match &mut self.app {
            App::Undecided => {}
            App::Http1(h) => h.mark_closed_unanswered(reset, ended, at),
            App::H2(h) => h.mark_closed_unanswered(reset, ended, at),
        }
    }

    /// The connection is gone: emits what waits. A session that never got to its keys is
    /// counted as encrypted; what the client sent that is still held undecrypted is lost.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        if !self.stopped {
            self.held_unread(ctx);
        }
        if !self.stopped && self.suite.is_none() {
            self.stopped = true;
            self.count_encrypted("no ServerHello seen", ctx);
        }
        match &mut self.app {
            App::Undecided => {}
            App::Http1(h) => with_https(ctx, |ctx| h.flush(ctx)),
            App::H2(h) => h.flush(ctx),
        }
    }

    fn count_encrypted(&self, why: &str, ctx: &mut Ctx<'_>) {
        ctx.stats.tls_connections += 1;
        if self.hello.is_none() {
            ctx.stats.before_capture += 1;
        }
        let (key, conn) = (self.key, self.conn_no);
        let source = ctx.source;
        ctx.diag.warn(WarnKind::TlsEncrypted, || {
            format!(
                "{source}: connection {conn}: TLS between {} and {}: not decrypted: {why}",
                key.lo, key.hi
            )
        });
    }

    fn stop(&mut self, kind: WarnKind, why: &str, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // What the client had buffered (0-RTT data waiting for the ServerHello) goes unread;
        // the records of the direction being processed are its caller's (`process`).
        let client = self.client.unwrap_or(0);
        let held = std::mem::take(&mut self.sides[client].rec);
        self.unread(client, &held, meta, ctx);
        if kind == WarnKind::TlsEncrypted {
            self.count_encrypted(why, ctx);
        } else {
            let conn = self.conn_no;
            ctx.warn(kind, meta, || {
                format!("TLS connection {conn}: {why}; the rest is not decrypted")
            });
            if self.secrets.is_none() {
                // Nothing of it was decrypted: it counts with the encrypted connections.
                ctx.stats.tls_connections += 1;
            }
        }
        for s in &mut self.sides {
            *s = Side::default();
        }
        self.flush(ctx);
    }

    /// Processes the whole records buffered in `dir`.
    fn process(&mut self, dir: Dir, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let mut at = 0;
        // The size of the record still incomplete at the end, header included.
        let mut incomplete = 0;
        let mut buf = std::mem::take(&mut self.sides[dir].rec);
        while !self.stopped {
            let Some(h) = buf.get(at..at + 5) else { break };
            let header: [u8; 5] = [h[0], h[1], h[2], h[3], h[4]];
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if !(record::CHANGE_CIPHER_SPEC..=record::APPLICATION_DATA).contains(&header[0])
                || header[1] != 3
                || len > record::MAX_FRAGMENT
            {
                self.stop(
                    WarnKind::TlsBadRecord,
                    &format!("not a TLS record (header {header:02x?})"),
                    meta,
                    ctx,
                );
                break;
            }
            if buf.len() < at + 5 + len {
                incomplete = 5 + len;
                break;
            }
            // A protected record before its keys can be known (0-RTT data ahead of the
            // ServerHello) waits for the other direction; without a ClientHello (a session
            // begun before the capture) no key log entry can be found for it: never read.
            if header[0] == record::APPLICATION_DATA && self.suite.is_none() {
                if self.hello.is_none() {
                    self.stop(
                        WarnKind::TlsEncrypted,
                        "its handshake is not in the capture",
                        meta,
                        ctx,
                    );
                }
                break;
            }
            let frag = &mut buf[at + 5..at + 5 + len];
            self.record(dir, &header, frag, meta, ctx);
            at += 5 + len;
        }
        if self.stopped {
            // The record that stopped the connection and those after it.
            self.unread(dir, buf.get(at..).unwrap_or_default(), meta, ctx);
        } else {
            buf.drain(..at.min(buf.len()));
            // A large segment (loopback captures have 64 KiB ones) must not leave its capacity
            // behind in every idle connection: the total buffer budget counts capacity.
            if buf.is_empty() && buf.capacity() > IDLE_CAPACITY {
                buf = Vec::new();
            } else if buf.capacity() > KEEP_CAPACITY {
                buf.shrink_to(buf.len().max(KEEP_CAPACITY / 2));
            } else {
                // Room for the rest of the record at once: grown by doubling from a segment's
                // worth, a 16 KiB record was copied four or five times on its way in.
                buf.reserve_exact(incomplete.saturating_sub(buf.len()));
            }
            self.sides[dir].rec = buf;
        }
    }

    fn record(
        &mut self,
        dir: Dir,
        header: &[u8; 5],
        frag: &mut [u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) {
        let tls13 = self.server.as_ref().is_some_and(|s| s.tls13);
        let kind = header[0];
        if kind == record::CHANGE_CIPHER_SPEC {
            if !tls13 && self.suite.is_some() {
                self.sides[dir].ccs = true;
            }
            return;
        }
        let protected = if tls13 {
            kind == record::APPLICATION_DATA
        } else {
            self.sides[dir].ccs
        };
        let (inner, plain): (u8, &[u8]) = if protected {
            match self.open(dir, header, frag) {
                Some(Some((t, n))) => (t, &frag[..n]),
                // A 0-RTT record the server refused (RFC 8446 §4.2.10): skipped.
                Some(None) => return,
                None => {
                    self.stop(
                        WarnKind::TlsDecryptFailed,
                        "a record did not authenticate with the logged keys",
                        meta,
                        ctx,
                    );
                    return;
                }
            }
        } else {
            (kind, &frag[..])
        };
        match inner {
            record::HANDSHAKE => {
                let mut events = Vec::new();
                self.sides[dir].hs.feed(plain, &mut |t, body| {
                    let e = match t {
                        record::CLIENT_HELLO => record::client_hello(body).map(Hs::Client),
                        record::SERVER_HELLO => record::server_hello(body).map(Hs::Server),
                        record::ENCRYPTED_EXTENSIONS => {
                            record::encrypted_extensions_alpn(body).map(Hs::Alpn)
                        }
                        record::FINISHED => Some(Hs::Finished),
                        record::KEY_UPDATE => Some(Hs::KeyUpdate),
                        _ => None,
                    };
                    events.extend(e);
                });
                for e in events {
                    self.handshake(dir, e, meta, ctx);
                }
            }
            record::APPLICATION_DATA if protected => self.deliver(dir, plain, meta, ctx),
            _ => {}
        }
    }

    /// Decrypts in place: `Some(Some((inner type, length)))`, `Some(None)` for a refused 0-RTT
    /// record to skip, `None` when it does not authenticate.
    fn open(&mut self, dir: Dir, header: &[u8; 5], frag: &mut [u8]) -> Option<Option<(u8, usize)>> {
        let tls13 = self.server.as_ref().is_some_and(|s| s.tls13);
        let side = &mut self.sides[dir];
        let copy = (side.early.is_some() && !side.finished).then(|| frag.to_vec());
        let n = match side.keys.as_mut().and_then(|k| k.open(header, frag)) {
            Some(n) => n,
            None => {
                // Before the client's Finished, a record may be 0-RTT data: the early key.
                let (Some(early), Some(mut copy)) = (side.early.as_mut(), copy) else {
                    return None;
                };
                match early.open(header, &mut copy) {
                    Some(n) => {
                        frag[..n].copy_from_slice(&copy[..n]);
                        n
                    }
                    None => return Some(None),
                }
            }
        };
        if !tls13 {
            return Some(Some((header[0], n)));
        }
        // TLSInnerPlaintext: content, type, zero padding.
        let end = frag[..n].iter().rposition(|b| *b != 0)?;
        Some(Some((frag[end], end)))
    }

    fn secret(&self, slot: Slot) -> Option<Vec<u8>> {
        self.secrets.as_ref()?.get(slot).map(<[u8]>::to_vec)
    }

    fn handshake(&mut self, dir: Dir, e: Hs, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        match e {
            Hs::Client(ch) => {
                if self.client.is_none() {
                    self.client = Some(dir);
                }
                if self.hello.is_none() {
                    self.hello = Some(ch);
                }
            }
            Hs::Server(sh) if sh.retry => {}
            Hs::Server(sh) => {
                if self.suite.is_some() {
                    return;
                }
                self.server_hello(dir, sh, meta, ctx);
            }
            Hs::Alpn(a) => self.alpn = Some(a),
            Hs::Finished => {
                let Some(suite) = self.suite else { return };
                self.sides[dir].finished = true;
                if !suite.tls13 {
                    return;
                }
                let slot = if Some(dir) == self.client {
                    Slot::ClientApp
                } else {
                    Slot::ServerApp
                };
                let Some(secret) = self.secret(slot) else {
                    self.stop(
                        WarnKind::TlsEncrypted,
                        "the key log has no application traffic secret",
                        meta,
                        ctx,
                    );
                    return;
                };
                let side = &mut self.sides[dir];
                side.keys = Some(DirKeys::tls13(suite, &secret));
                side.early = None;
                side.secret = Some(secret);
            }
            Hs::KeyUpdate => {
                let (Some(suite), Some(old)) = (self.suite, self.sides[dir].secret.take()) else {
                    return;
                };
                let next = keys::next_secret(suite.hash, &old);
                self.sides[dir].keys = Some(DirKeys::tls13(suite, &next));
                self.sides[dir].secret = Some(next);
            }
        }
    }

    fn server_hello(&mut self, dir: Dir, sh: ServerHello, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let client = *self.client.get_or_insert(1 - dir);
        let Some(hello) = self.hello.clone() else {
            self.stop(
                WarnKind::TlsEncrypted,
                "the ClientHello was not captured",
                meta,
                ctx,
            );
            return;
        };
        let Some(suite) = keys::suite(sh.suite, sh.tls13) else {
            let why = format!("cipher suite 0x{:04x} is not supported", sh.suite);
            self.stop(WarnKind::TlsUnsupportedCipher, &why, meta, ctx);
            return;
        };
        let Some(secrets) = ctx.keylog.lookup(&hello.random) else {
            self.stop(
                WarnKind::TlsEncrypted,
                "no key for this session in the key log",
                meta,
                ctx,
            );
            return;
        };
        self.secrets = Some(secrets);
        self.alpn = sh.alpn.clone();
        // Keys made from the secrets where they are kept (no copy of each).
        let secret = |slot| self.secrets.as_ref().and_then(|s| s.get(slot));
        if suite.tls13 {
            let keys = match (secret(Slot::ClientHandshake), secret(Slot::ServerHandshake)) {
                (Some(cs), Some(ss)) => Some((
                    DirKeys::tls13(suite, cs),
                    DirKeys::tls13(suite, ss),
                    secret(Slot::ClientEarly)
                        .filter(|_| hello.early_data)
                        .map(|e| DirKeys::tls13(suite, e)),
                )),
                _ => None,
            };
            let Some((ck, sk, early)) = keys else {
                self.stop(
                    WarnKind::TlsEncrypted,
                    "the key log has no handshake secrets for this session",
                    meta,
                    ctx,
                );
                return;
            };
            self.sides[client].keys = Some(ck);
            self.sides[1 - client].keys = Some(sk);
            if hello.early_data {
                self.sides[client].early = early;
            }
        } else {
            let keys = secret(Slot::Master)
                .map(|master| DirKeys::tls12(suite, master, &hello.random, &sh.random));
            let Some((ck, sk)) = keys else {
                self.stop(
                    WarnKind::TlsEncrypted,
                    "the key log has no master secret for this session",
                    meta,
                    ctx,
                );
                return;
            };
            self.sides[client].keys = Some(ck);
            self.sides[1 - client].keys = Some(sk);
        }
        self.suite = Some(suite);
        self.server = Some(sh);
        // Client records held until the suite was known can go now.
        self.process(client, meta, ctx);
    }

    fn deliver(&mut self, dir: Dir, plain: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let Some(client) = self.client else { return };
        if let App::Undecided = self.app {
            let h2 = match self.alpn.as_deref() {
                Some(b"h2") => true,
                Some(_) => false,
                None => {
                    dir == client && plain.starts_with(&h2::frame::PREFACE[..plain.len().min(24)])
                }
            };
            self.app = if h2 {
                App::H2(Box::new(H2Conn::new(
                    self.key,
                    self.conn_no,
                    client,
                    "https",
                )))
            } else {
                App::Http1(Box::new(HttpConn::new(
                    self.key,
                    self.conn_no,
                    Some(client),
                    false,
                )))
            };
        }
        match &mut self.app {
            App::Undecided => {}
            App::Http1(h) => with_https(ctx, |ctx| h.data(dir, plain, meta, ctx)),
            App::H2(h) => h.data(dir, plain, meta, ctx),
        }
    }
}

/// The longest protected record that cannot hold a request: an alert (TLS 1.3: 2 bytes, the
/// content type and a 16-byte tag; TLS 1.2 AES-GCM: 2 bytes, an 8-byte nonce and the tag). The
/// smallest request is longer: an HTTP/2 HEADERS frame of indexed fields is 9 + 4 bytes, an
/// HTTP/1.1 request line with `Host` more.
const MAX_RECORD_WITHOUT_REQUEST: usize = 26;

/// Whether `data`, a client's bytes on a connection that is not read any more, may hold a
/// request: anything but whole records that cannot (a ChangeCipherSpec, a handshake message,
/// an alert, a protected record no longer than [`MAX_RECORD_WITHOUT_REQUEST`]). A client that
/// gives up on a handshake sends only those, and its key log then has no application secret
/// for the session: the connection is unread, but nothing on it was a request. Bytes that do
/// not start a whole record (the framing lost with a gap or the stop) may.
fn may_hold_request(data: &[u8]) -> bool {
    let mut rest = data;
    while let Some(&[kind, major, _, hi, lo]) = rest.get(..5) {
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let whole = rest.get(5 + len..);
        let small = match kind {
            record::CHANGE_CIPHER_SPEC | record::ALERT | record::HANDSHAKE => true,
            record::APPLICATION_DATA => len <= MAX_RECORD_WITHOUT_REQUEST,
            _ => false,
        };
        match whole {
            Some(next) if major == 3 && small => rest = next,
            _ => return true,
        }
    }
    !rest.is_empty()
}

/// Runs the HTTP/1.x parser, which builds `http://` URLs from the Host header, and gives the
/// exchanges it emits their real scheme.
fn with_https(ctx: &mut Ctx<'_>, f: impl FnOnce(&mut Ctx<'_>)) {
    let before = ctx.out.len();
    f(ctx);
    for (_, ex) in ctx.out.iter_mut().skip(before) {
        set_https(ex);
    }
}

fn set_https(ex: &mut Exchange) {
    if let Some(rest) = ex.request.url.strip_prefix("http://") {
        ex.request.url = format!("https://{rest}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of `kind` with `len` bytes of (encrypted) content.
    fn rec(kind: u8, len: usize) -> Vec<u8> {
        let mut r = vec![kind, 3, 3];
        r.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        r.resize(5 + len, 0xab);
        r
    }

    /// A generated TLS 1.3 session (`seed` for its randoms) and one exchange in it: the
    /// request's and the response's records.
    fn session(seed: u64) -> (synth::Opened, Vec<u8>, Vec<u8>) {
        let mut n = seed;
        let mut o = synth::SynTls::open(&mut || {
            n = n.wrapping_mul(6364136223846793005).wrapping_add(1);
            n
        });
        let request = o.tls.wrap(
            true,
            b"GET /r HTTP/1.1\r\nHost: a.test\r\nOrigin: http://o.test\r\n\r\n",
        );
        let response = o
            .tls
            .wrap(false, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        (o, request, response)
    }

    /// What the client sent that is never decrypted is recorded as lost when the connection
    /// is gone, however it ends: records held for a ServerHello that never came (0-RTT
    /// data), a session whose handshake the capture did not see (every record held), a
    /// record cut by the connection's end. A session read whole loses nothing. The same with
    /// the parallel reader.
    #[test]
    fn client_records_never_decrypted_are_recorded_as_lost() {
        use crate::capture::testutil::Conv;
        let (o, request, response) = session(7);
        let server = ("10.0.0.2".to_owned(), "10.0.0.1:40300".to_owned());
        // (what, the packets as (from the client, bytes), whether the handshake is
        // captured, losses as (the server's side taken as the client, after, by) packet
        // indexes, counted from the first data packet)
        type Case<'a> = (
            &'a str,
            Vec<(bool, &'a [u8])>,
            bool,
            Vec<(bool, usize, usize)>,
        );
        let cases: Vec<Case> = vec![
            (
                "a whole session",
                vec![
                    (true, &o.client_hello),
                    (false, &o.server_flight),
                    (true, &o.client_finished),
                    (true, &request),
                    (false, &response),
                ],
                true,
                vec![],
            ),
            (
                "0-RTT data, no ServerHello",
                vec![(true, &o.client_hello), (true, &request)],
                true,
                vec![(false, 1, 1)],
            ),
            (
                "the handshake not captured (roles unknown: either side may be the client)",
                vec![(true, &request), (false, &response)],
                false,
                vec![(false, 0, 0), (true, 0, 1)],
            ),
            (
                "a client record cut by the end",
                vec![
                    (true, &o.client_hello),
                    (false, &o.server_flight),
                    (true, &o.client_finished),
                    (true, &request[..request.len() / 2]),
                ],
                true,
                vec![(false, 3, 3)],
            ),
        ];
        for (what, packets, handshake, want) in cases {
            let mut c = Conv::new(40300);
            if handshake {
                c.handshake();
            }
            let first = c.frames.len();
            for (from_client, bytes) in &packets {
                if *from_client {
                    c.client(bytes, 1 << 16);
                } else {
                    c.server(bytes, 1 << 16);
                }
            }
            c.fins();
            let at = |k: usize| c.frames[first + k].0;
            let want: Vec<_> = want
                .iter()
                .map(|&(flipped, after, by)| {
                    let (client, server) = if flipped {
                        server.clone()
                    } else {
                        ("10.0.0.1".to_owned(), "10.0.0.2:80".to_owned())
                    };
                    (client, server, at(after), at(by))
                })
                .collect();
            for workers in [0, 2] {
                let got = crate::capture::testutil::losses_of(&c.frames, &o.keylog, workers);
                assert_eq!(got, want, "{what} ({workers} workers)");
            }
        }
    }

    /// A ClientHello whose first segment is a byte or a few (a client or middlebox that
    /// splits it, as some censorship circumventers do; the field audit's resegmented capture
    /// cut one after its first byte) is TLS all the same: the session is read.
    #[test]
    fn a_client_hello_split_after_its_first_bytes_is_read() {
        use crate::capture::testutil::{pcap, run_with, summary, Conv};
        let (o, request, response) = session(11);
        let keys = KeyLog::default();
        keys.add_text(&o.keylog);
        let opts = crate::capture::CaptureOptions {
            keylog: std::sync::Arc::new(keys),
            ..Default::default()
        };
        for cut in [1, 2, 3, 5, 40] {
            let mut c = Conv::new(40300);
            c.handshake();
            c.client(&o.client_hello[..cut], 1 << 16);
            c.client(&o.client_hello[cut..], 1 << 16);
            c.server(&o.server_flight, 1 << 16);
            c.client(&o.client_finished, 1 << 16);
            c.client(&request, 1 << 16);
            c.server(&response, 1 << 16);
            c.fins();
            let got = summary(&run_with(pcap(&c.frames, 1, false, false), &opts));
            let want = ("GET".to_owned(), "https://a.test/r".to_owned(), Some(200));
            assert_eq!(got, [want], "cut after {cut}");
        }
    }

    /// A client's bytes on a connection no longer read may hold a request unless they are
    /// whole records too short for one: what a client that gave up on its handshake sends.
    #[test]
    fn only_whole_records_too_short_for_a_request_hold_none() {
        let cat = |rs: &[Vec<u8>]| rs.concat();
        // (what, bytes, may hold a request)
        let cases: Vec<(&str, Vec<u8>, bool)> = vec![
            ("nothing", Vec::new(), false),
            (
                "ChangeCipherSpec and a TLS 1.3 alert (Chromium giving up)",
                cat(&[
                    rec(record::CHANGE_CIPHER_SPEC, 1),
                    rec(record::APPLICATION_DATA, 19),
                ]),
                false,
            ),
            ("a TLS 1.2 alert", rec(record::ALERT, 26), false),
            ("a TLS 1.2 Finished", rec(record::HANDSHAKE, 40), false),
            ("the longest record without a request", rec(23, 26), false),
            ("a protected record one longer", rec(23, 27), true),
            (
                "a request after an alert",
                cat(&[rec(record::APPLICATION_DATA, 19), rec(23, 300)]),
                true,
            ),
            (
                "a record cut by the segment's end",
                rec(23, 19)[..10].to_vec(),
                true,
            ),
            ("a header cut", vec![23, 3, 3], true),
            (
                "not a record (framing lost)",
                b"GET / HTTP/1.1\r\n".to_vec(),
                true,
            ),
            ("SSL 2 version byte", vec![21, 2, 0, 0, 2, 1, 0], true),
        ];
        for (what, bytes, want) in cases {
            assert_eq!(may_hold_request(&bytes), want, "{what}");
        }
    }
}
