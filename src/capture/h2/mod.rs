//! Step 5 (HTTP/2): RFC 9113 on one connection (decrypted TLS, or cleartext with prior
//! knowledge): frames per direction, HPACK per direction, and every stream's request and
//! response heads as one [`Exchange`]. Bodies are skipped by length. A protocol error, or a
//! capture gap (which loses the HPACK state), stops the connection with a warning: nothing
//! after it is guessed at.

pub mod frame;
pub mod hpack;
mod tables;

use crate::diag::WarnKind;

use crate::model::{Closed, Exchange, Headers, HttpVersion, Micros, Position};

use super::http::Ctx;
use super::streams::{Heads, Stream};
use super::tcp::{Dir, FlowKey, PacketMeta};
use frame::{Event, Head, Splitter};
use hpack::Decoder;

/// Largest non-DATA frame payload buffered (a HEADERS frame, a SETTINGS frame…); the header
/// block of one message is bounded by `max_head_bytes` as in HTTP/1.
pub(crate) const MAX_FRAME_BUFFER: usize = 64 * 1024;

/// An HTTP/1.1 request answered by `101` with `Upgrade: h2c`: stream 1 of the HTTP/2
/// connection that follows, with its ordering time and the time of its last byte.
#[derive(Debug)]
pub(crate) struct Upgraded {
    pub ex: Exchange,
    pub order_time: Micros,
    pub last_ts: Micros,
}

/// Decodes base64url without padding (`HTTP2-Settings`, RFC 7540 §3.2.1); `None` when the
/// value is not that. Trailing `=` and surrounding whitespace are tolerated.
fn base64url(v: &[u8]) -> Option<Vec<u8>> {
    let v = crate::model::trim_http_ws(v);
    let v = v.strip_suffix(b"==").or(v.strip_suffix(b"=")).unwrap_or(v);
    let mut out = Vec::with_capacity(v.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in v {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(d);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A header block being collected over CONTINUATION frames.
#[derive(Debug)]
struct Cont {
    stream: u32,
    push: bool,
    block: Vec<u8>,
    meta: PacketMeta,
}

#[derive(Debug)]
struct Side {
    frames: Splitter,
    hpack: Decoder,
    cont: Option<Cont>,
}

/// HTTP/2 state of one connection.
#[derive(Debug)]
pub(crate) struct H2Conn {
    conn_no: u64,
    client: Dir,
    sides: [Side; 2],
    /// The requests waiting for their responses.
    heads: Heads,
    stopped: bool,
    /// Once stopped: the time of the client's latest bytes, unread (the stop's, at first).
    unread_since: Micros,
    /// The server's `GOAWAY` asked for HTTP/1.1 (`HTTP_1_1_REQUIRED`): a browser sends every
    /// request still waiting again over HTTP/1.1, the connection's first too.
    http11_required: bool,
}

/// Why decoding stopped, from one frame.
enum Stop {
    Protocol(String),
    Hpack(hpack::HpackError),
}

impl H2Conn {
    /// `client` is the direction that sends the preface; `scheme` goes into the URLs.
    pub(crate) fn new(key: FlowKey, conn_no: u64, client: Dir, scheme: &'static str) -> Self {
        let side = |d: Dir| Side {
            frames: Splitter::new(d == client),
            hpack: Decoder::default(),
            cont: None,
        };
        H2Conn {
            conn_no,
            client,
            sides: [side(0), side(1)],
            heads: Heads::new(
                conn_no,
                scheme,
                HttpVersion::Http2,
                super::tcp::ip_shared(key.sender(client).ip),
                key.sender(1 - client).text(),
            ),
            stopped: false,
            unread_since: Micros::MIN,
            http11_required: false,
        }
    }

    /// The connection an HTTP/1.1 `Upgrade: h2c` request turned into after its
    /// `101 Switching Protocols` (RFC 7540 §3.2): the client still sends the preface, the
    /// server starts with SETTINGS, and the upgrade request is stream 1 (half-closed from the
    /// client), whose response comes in HTTP/2.
    pub(crate) fn upgraded(
        key: FlowKey,
        conn_no: u64,
        client: Dir,
        first: Option<Upgraded>,
    ) -> Self {
        let mut h = H2Conn::new(key, conn_no, client, "http");
        if let Some(Upgraded {
            mut ex,
            order_time,
            last_ts,
        }) = first
        {
            // The client's SETTINGS travelled in the request (base64url, RFC 7540 §3.2.1).
            if let Some(s) = ex
                .request
                .headers
                .first("http2-settings")
                .and_then(base64url)
            {
                h.settings(client, &s);
            }
            // The response is read as HTTP/2 (repeated fields are lines of one list there).
            ex.request.http_version = crate::model::HttpVersion::Http2;
            if let Position::Packet { number, offset } = ex.loc.position {
                ex.loc.position = Position::Stream {
                    number,
                    offset,
                    stream: 1,
                };
            }
            h.heads.last_order_time = order_time;
            h.heads.insert(
                1,
                Box::new(Stream {
                    ex,
                    order_time,
                    last_ts,
                }),
            );
        }
        h
    }

    /// Bytes held: frame buffers, header blocks being collected, HPACK tables.
    pub(crate) fn buffered(&self) -> usize {
        self.sides
            .iter()
            .map(|s| {
                s.frames.buffered()
                    + s.hpack.table_bytes()
                    + s.cont.as_ref().map_or(0, |c| c.block.capacity())
            })
            .sum()
    }

    pub(crate) fn data(&mut self, dir: Dir, data: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        let dir = dir.min(1);
        if self.stopped {
            self.unread(dir, meta, ctx);
            return;
        }
        let max = MAX_FRAME_BUFFER.max(ctx.limits.max_head_bytes);
        let mut frames = std::mem::take(&mut self.sides[dir].frames);
        let mut stop = None;
        let r = frames.feed(data, max, &mut |ev| match self.event(dir, ev, meta, ctx) {
            Ok(()) => true,
            Err(s) => {
                stop = Some(s);
                false
            }
        });
        self.sides[dir].frames = frames;
        let why = match (r, stop) {
            (Err(e), _) => Some(e.to_string()),
            (_, Some(Stop::Protocol(s))) => Some(s),
            (_, Some(Stop::Hpack(e))) => Some(format!("HPACK: {e}")),
            _ => None,
        };
        if let Some(why) = why {
            self.stop(WarnKind::H2ProtocolError, &why, meta, ctx);
            // The frames after the one that stopped it, in this segment.
            self.unread(dir, meta, ctx);
        }
    }

    /// Records bytes the client sent on a stopped connection as lost (`model::loss`): a
    /// request may be in them (the frames cannot be told apart once the framing or the
    /// HPACK state is gone), so a request missing after its preflight is no evidence of a
    /// block. Lost since the client's previous unread bytes (or the stop).
    fn unread(&mut self, dir: Dir, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if dir != self.client {
            return;
        }
        ctx.losses.push(crate::model::loss::Loss {
            client: self.heads.client_ip.clone(),
            server: self.heads.server_text.clone(),
            after: self.unread_since,
            by: meta.ts,
        });
        self.unread_since = meta.ts;
    }

    /// Stops decoding (protocol error, capture gap): requests waiting are emitted without
    /// responses.
    pub(crate) fn stop(&mut self, kind: WarnKind, why: &str, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if self.stopped {
            return;
        }
        let conn = self.conn_no;
        ctx.warn(kind, meta, || {
            format!("HTTP/2 connection {conn}: {why}; the rest of it is not decoded")
        });
        self.stopped = true;
        self.unread_since = meta.ts;
        self.flush(ctx);
        for s in &mut self.sides {
            s.frames = Splitter::default();
            s.hpack = Decoder::default();
            s.cont = None;
        }
    }

    /// See [`crate::capture::http::HttpConn::mark_closed_unanswered`]: the streams still
    /// waiting when an RST or the server's FIN ended the connection, the server's frames
    /// read to a frame boundary and decoding not stopped, got no answer.
    pub(crate) fn mark_closed_unanswered(&mut self, reset: bool, ended: [bool; 2], at: Micros) {
        let server = 1 - self.client.min(1);
        let side = &self.sides[server];
        if self.stopped || !(reset || ended[server]) {
            return;
        }
        if side.frames.buffered() > 0 || side.cont.is_some() {
            return;
        }
        self.heads.mark_closed(at, self.http11_required);
    }

    /// Emits every request still waiting, without a response.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        self.heads.flush(ctx);
    }

    fn event(
        &mut self,
        dir: Dir,
        ev: Event<'_>,
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Stop> {
        match ev {
            Event::Data(h) => {
                if self.sides[dir].cont.is_some() {
                    return Err(Stop::Protocol("DATA inside a header block".into()));
                }
                if dir == self.client {
                    self.heads.touch(h.stream.into(), meta.ts);
                }
                Ok(())
            }
            Event::Frame(h, p) => self.frame(dir, h, p, meta, ctx),
        }
    }

    fn frame(
        &mut self,
        dir: Dir,
        h: Head,
        p: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Stop> {
        let side = &mut self.sides[dir];
        if let Some(c) = side.cont.as_mut() {
            if h.kind != frame::CONTINUATION || h.stream != c.stream {
                return Err(Stop::Protocol(
                    "header block not continued by CONTINUATION".into(),
                ));
            }
            if c.block.len() + p.len() > ctx.limits.max_head_bytes {
                return Err(Stop::Protocol(format!(
                    "header block over the {}-byte limit",
                    ctx.limits.max_head_bytes
                )));
            }
            c.block.extend_from_slice(p);
            if h.flags & frame::END_HEADERS != 0 {
                if let Some(c) = side.cont.take() {
                    self.block(dir, c.stream, c.push, &c.block, &c.meta, ctx)?;
                }
            }
            return Ok(());
        }
        match h.kind {
            frame::HEADERS | frame::PUSH_PROMISE => {
                let (frag, _) =
                    frame::header_fragment(&h, p).map_err(|e| Stop::Protocol(e.to_string()))?;
                let push = h.kind == frame::PUSH_PROMISE;
                if h.flags & frame::END_HEADERS != 0 {
                    self.block(dir, h.stream, push, frag, meta, ctx)?;
                } else {
                    side.cont = Some(Cont {
                        stream: h.stream,
                        push,
                        block: frag.to_vec(),
                        meta: *meta,
                    });
                }
                if dir == self.client && h.kind == frame::HEADERS {
                    self.heads.touch(h.stream.into(), meta.ts);
                }
            }
            frame::CONTINUATION => {
                return Err(Stop::Protocol("CONTINUATION without a header block".into()));
            }
            frame::RST_STREAM => {
                // No answer can come on it any more. A browser sends a request again after a
                // server's REFUSED_STREAM or HTTP_1_1_REQUIRED only; a client's reset is its own
                // cancel.
                let refused = dir != self.client && word(p).is_some_and(frame::resent_after_reset);
                let closed = Closed {
                    at: meta.ts,
                    reused: refused,
                    by: crate::model::EndedBy::Close,
                };
                self.heads.reset_closed(h.stream.into(), Some(closed), ctx);
            }
            frame::GOAWAY if dir != self.client => {
                // Chromium sent the connection's first stream again over HTTP/1.1 after one
                // (recorded: `chromium-h2-goaway-first-stream-http11-required-retry.pcapng`).
                let error = p.get(4..).and_then(word);
                self.http11_required |= error == Some(frame::HTTP_1_1_REQUIRED);
                if let Some(last) = word(p) {
                    self.heads
                        .refuse_above((last & 0x7fff_ffff).into(), meta.ts, ctx);
                }
            }
            frame::SETTINGS if h.flags & frame::ACK == 0 => self.settings(dir, p),
            // PRIORITY, PING, a client's GOAWAY, WINDOW_UPDATE, SETTINGS ACK, extensions:
            // nothing to decode.
            _ => {}
        }
        Ok(())
    }

    /// A SETTINGS payload sent in direction `dir` (a frame, or `HTTP2-Settings` on an upgrade).
    fn settings(&mut self, dir: Dir, p: &[u8]) {
        for kv in p.chunks_exact(6) {
            if kv[..2] == [0, 1] {
                let v = u32::from_be_bytes([kv[2], kv[3], kv[4], kv[5]]);
                // Our peer's decoder limit bounds the blocks the other side encodes.
                self.sides[1 - dir].hpack.set_allowed(v as usize);
            }
        }
    }

    /// A complete header block on `stream` sent in direction `dir`.
    fn block(
        &mut self,
        dir: Dir,
        stream: u32,
        push: bool,
        block: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Stop> {
        // One buffer for the whole list (a pair of vectors per field was most of the
        // allocations of an HTTP/2 head).
        let mut fields = Headers::with_capacity(16, block.len() * 2);
        let max = ctx.limits.max_head_bytes;
        let r = self.sides[dir].hpack.decode(block, max, &mut |n, v| {
            if fields.len() < ctx.limits.max_headers.max(8) + 8 {
                fields.push(n, v);
            }
        });
        match r {
            Ok(()) => {}
            Err(hpack::HpackError::TooLarge) => {
                ctx.warn(WarnKind::LimitHeadBytes, meta, || {
                    format!("HTTP/2 header list over {max} bytes dropped")
                });
                return Ok(());
            }
            Err(e) => return Err(Stop::Hpack(e)),
        }
        if push {
            // A promised request: the HPACK state is what mattered.
            return Ok(());
        }
        if dir == self.client {
            self.heads.request(stream.into(), fields, meta, ctx);
        } else {
            self.heads.response(stream.into(), fields, meta, ctx);
        }
        Ok(())
    }
}

/// A frame payload's first 32-bit word (RST_STREAM's error code, GOAWAY's last stream id).
fn word(p: &[u8]) -> Option<u32> {
    let b: [u8; 4] = p.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

#[cfg(test)]
mod tests {
    use crate::capture::http::fuzzing::{conversation_with_keys, Step};
    use crate::capture::http::HttpLimits;
    use crate::diag::WarnKind;

    use crate::capture::tls::synth::frame;

    fn limits() -> HttpLimits {
        HttpLimits {
            max_head_bytes: 4096,
            max_headers: 64,
            max_chunk_line: 64,
            max_pending: 8,
        }
    }

    /// Each exchange's URL and response status, in output order.
    fn urls_and_statuses(o: &crate::capture::http::fuzzing::Outcome) -> Vec<(String, Option<u16>)> {
        o.exchanges
            .iter()
            .map(|(_, e)| (e.request.url.clone(), e.response.as_ref().map(|r| r.status)))
            .collect()
    }

    /// Literal field without indexing, new name.
    fn field(n: &str, v: &str) -> Vec<u8> {
        let mut b = vec![0, n.len() as u8];
        b.extend(n.as_bytes());
        b.push(v.len() as u8);
        b.extend(v.as_bytes());
        b
    }

    /// h2c with prior knowledge: two interleaved streams, one reset, one answered after an
    /// interim 103 and followed by trailers; a bogus `:scheme` does not reach the URL.
    #[test]
    fn streams_pair_by_id_and_reset_streams_go_out_unanswered() {
        let req = |path: &str, scheme: &str| {
            [
                field(":method", "GET"),
                field(":scheme", scheme),
                field(":authority", "a.test"),
                field(":path", path),
                field("origin", "https://o.test"),
            ]
            .concat()
        };
        let mut client = super::frame::PREFACE.to_vec();
        client.extend(frame(1, 0x5, 1, &req("/one", "https")));
        client.extend(frame(1, 0x5, 3, &req("/two", "x y")));
        client.extend(frame(3, 0, 3, &[0, 0, 0, 8]));
        let mut server = frame(4, 0, 0, &[]);
        server.extend(frame(1, 0x4, 1, &field(":status", "103")));
        server.extend(frame(
            1,
            0x4,
            1,
            &[
                field(":status", "200"),
                field("access-control-allow-origin", "*"),
            ]
            .concat(),
        ));
        server.extend(frame(0, 0, 1, b"body"));
        server.extend(frame(1, 0x5, 1, &field("grpc-status", "0")));
        let steps = [Step::Data(0, &client[..]), Step::Data(1, &server[..])];
        let o = conversation_with_keys(&steps, Some(0), false, limits(), &Default::default());
        let got = urls_and_statuses(&o);
        assert_eq!(
            got,
            [
                ("http://a.test/two".to_string(), None),
                ("https://a.test/one".to_string(), Some(200))
            ]
        );
        assert_eq!(o.open_after_flush, 0);
        // Each record says which stream it was (issue 13).
        let at: Vec<String> = o.exchanges.iter().map(|(_, e)| e.loc.to_string()).collect();
        assert!(at[0].ends_with(") stream 3"), "{at:?}");
        assert!(at[1].ends_with(") stream 1"), "{at:?}");
        let one = &o.exchanges[1].1;
        assert_eq!(
            one.request.headers.get_str("origin").as_deref(),
            Some("https://o.test")
        );
    }

    /// Streams that end without an answer say how (`Evidence::closed_unanswered`, whether a
    /// browser sends the request again): the server's REFUSED_STREAM, HTTP_1_1_REQUIRED and a
    /// GOAWAY below the stream are resent; the client's cancel and the server's other resets
    /// are not.
    #[test]
    fn streams_ended_unanswered_say_whether_a_browser_resends_them() {
        let req = |path: &str| {
            [
                field(":method", "GET"),
                field(":scheme", "http"),
                field(":authority", "a.test"),
                field(":path", path),
            ]
            .concat()
        };
        let mut client = super::frame::PREFACE.to_vec();
        for (id, path) in [
            (1, "/one"),
            (3, "/two"),
            (5, "/three"),
            (7, "/four"),
            (9, "/five"),
            (11, "/six"),
        ] {
            client.extend(frame(1, 0x5, id, &req(path)));
        }
        // The client cancels stream 5 (CANCEL).
        client.extend(frame(3, 0, 5, &[0, 0, 0, 8]));
        let mut server = frame(4, 0, 0, &[]);
        // REFUSED_STREAM on 3, INTERNAL_ERROR on 9, HTTP_1_1_REQUIRED on 11, an answer on 1,
        // then GOAWAY: last 5.
        server.extend(frame(3, 0, 3, &[0, 0, 0, 7]));
        server.extend(frame(3, 0, 9, &[0, 0, 0, 2]));
        server.extend(frame(3, 0, 11, &[0, 0, 0, 0xd]));
        server.extend(frame(1, 0x5, 1, &field(":status", "204")));
        server.extend(frame(7, 0, 0, &[0, 0, 0, 5, 0, 0, 0, 0]));
        let steps = [Step::Data(0, &client[..]), Step::Data(1, &server[..])];
        let o = conversation_with_keys(&steps, Some(0), false, limits(), &Default::default());
        let mut got: Vec<(String, Option<bool>)> = o
            .exchanges
            .iter()
            .map(|(_, e)| {
                let closed = e.evidence.closed_unanswered.map(|c| c.reused);
                (e.request.url.clone(), closed)
            })
            .collect();
        got.sort();
        let want = [
            ("http://a.test/five", Some(false)),
            ("http://a.test/four", Some(true)),
            ("http://a.test/one", None),
            ("http://a.test/six", Some(true)),
            ("http://a.test/three", Some(false)),
            ("http://a.test/two", Some(true)),
        ];
        let want: Vec<(String, Option<bool>)> =
            want.iter().map(|(u, c)| (u.to_string(), *c)).collect();
        assert_eq!(got, want);
    }

    /// The prior-knowledge preface cut after its first bytes (`P`, `PR`, `PRI` also begin an
    /// HTTP/1 request line): the connection is HTTP/2 all the same.
    #[test]
    fn a_preface_split_after_its_first_bytes_is_http2() {
        let mut client = super::frame::PREFACE.to_vec();
        client.extend(frame(
            1,
            0x5,
            1,
            &[
                field(":method", "GET"),
                field(":scheme", "http"),
                field(":authority", "a.test"),
                field(":path", "/one"),
            ]
            .concat(),
        ));
        let mut server = frame(4, 0, 0, &[]);
        server.extend(frame(1, 0x5, 1, &field(":status", "204")));
        for cut in 1..5 {
            let steps = [
                Step::Data(0, &client[..cut]),
                Step::Data(0, &client[cut..]),
                Step::Data(1, &server[..]),
            ];
            let o = conversation_with_keys(&steps, Some(0), false, limits(), &Default::default());
            let want = [("http://a.test/one".to_string(), Some(204))];
            assert_eq!(urls_and_statuses(&o), want, "cut after {cut}");
        }
    }

    /// A request header block without `:method` (found by the `tls` fuzz target: an empty
    /// HEADERS frame) is malformed: warned and skipped, never a record with no method.
    #[test]
    fn request_without_method_is_skipped() {
        let mut client = super::frame::PREFACE.to_vec();
        client.extend(frame(1, 0x5, 1, b""));
        client.extend(frame(1, 0x5, 3, &field(":path", "/x")));
        let good = [
            field(":method", "GET"),
            field(":authority", "a.test"),
            field(":path", "/y"),
        ]
        .concat();
        client.extend(frame(1, 0x5, 5, &good));
        let steps = [Step::Data(0, &client[..])];
        let o = conversation_with_keys(&steps, Some(0), false, limits(), &Default::default());
        assert_eq!(o.diag.count(WarnKind::H2MalformedRequest), 2);
        let urls: Vec<&str> = o
            .exchanges
            .iter()
            .map(|(_, e)| e.request.url.as_str())
            .collect();
        assert_eq!(urls, ["http://a.test/y"]);
        assert!(o
            .exchanges
            .iter()
            .all(|(_, e)| !e.request.method.is_empty()));
    }

    /// A header block not continued by CONTINUATION is a protocol error: decoding stops, the
    /// waiting request goes out without a response, nothing later is guessed.
    #[test]
    fn broken_continuation_stops_the_connection() {
        let mut client = super::frame::PREFACE.to_vec();
        let block = [field(":method", "GET"), field(":path", "/x")].concat();
        client.extend(frame(1, 0x5, 1, &block));
        client.extend(frame(1, 0x1, 3, &block[..3]));
        client.extend(frame(0, 0x1, 3, b"oops"));
        client.extend(frame(1, 0x5, 5, &block));
        let steps = [Step::Data(0, &client[..])];
        let o = conversation_with_keys(&steps, Some(0), false, limits(), &Default::default());
        assert_eq!(o.exchanges.len(), 1);
        assert_eq!(o.diag.count(WarnKind::H2ProtocolError), 1);
    }

    /// What the client sends on a connection decoding stopped (a capture gap in either
    /// direction, a protocol error) is recorded as lost from the stop on: a request sent
    /// after it is never read, so its preflight alone must not be taken as never followed.
    /// One conversation per case (h2c with prior knowledge), the same with the parallel
    /// reader.
    #[test]
    fn what_the_client_sends_after_a_stop_is_recorded_as_lost() {
        use crate::capture::testutil::Conv;
        let get = |path: &str| {
            [
                field(":method", "GET"),
                field(":authority", "a.test"),
                field(":path", path),
            ]
            .concat()
        };
        let ok = frame(1, 0x5, 1, &field(":status", "200"));
        // (what, the packet dropped, the client's second flight is a protocol error, losses
        // as (after, by) packet indexes: `None` for a loss found before any request time was
        // known; the log keeps spans that meet as one, `model::loss`). Packets: 0-2 the handshake, 3 the preface, 4 GET /one, 5 the server's
        // SETTINGS, 6 its answer, 7 the second flight, 8 GET /three.
        type Case = (
            &'static str,
            Option<usize>,
            bool,
            &'static [(Option<usize>, usize)],
        );
        let cases: &[Case] = &[
            ("nothing lost", None, false, &[]),
            // The server's SETTINGS is lost: the client's next packet acknowledges it, which
            // shows the gap, and carries the next request, not read; the one after neither.
            ("a server segment lost", Some(5), false, &[(Some(7), 8)]),
            // The client's first request is lost: the server's acknowledgement shows the gap
            // (the connection's loss, found before any request), then what follows is unread.
            ("a client segment lost", Some(4), false, &[(None, 8)]),
            // Unread from the frame that broke the framing on.
            ("a protocol error", None, true, &[(Some(7), 8)]),
        ];
        for &(what, drop, bad, want) in cases {
            let mut c = Conv::new(40200);
            c.handshake();
            let mut preface = super::frame::PREFACE.to_vec();
            preface.extend(frame(4, 0, 0, &[]));
            c.client(&preface, 1460);
            c.client(&frame(1, 0x5, 1, &get("/one")), 1460);
            c.server(&frame(4, 0, 0, &[]), 1460);
            c.server(&ok, 1460);
            let second = if bad {
                frame(9, 0x4, 3, b"oops")
            } else {
                frame(1, 0x5, 3, &get("/two"))
            };
            c.client(&second, 1460);
            c.client(&frame(1, 0x5, 5, &get("/three")), 1460);
            let at: Vec<i64> = c.frames.iter().map(|f| f.0).collect();
            if let Some(d) = drop {
                c.frames.remove(d);
            }
            let want: Vec<_> = want
                .iter()
                .map(|&(after, by)| {
                    let after = after.map_or(crate::model::Micros::MIN, |a| at[a]);
                    (
                        "10.0.0.1".to_owned(),
                        "10.0.0.2:80".to_owned(),
                        after,
                        at[by],
                    )
                })
                .collect();
            for workers in [0, 2] {
                let got = crate::capture::testutil::losses_of(&c.frames, "", workers);
                assert_eq!(got, want, "{what} ({workers} workers)");
            }
        }
    }

    /// `Upgrade: h2c` (RFC 7540 §3.2) in a generated capture: the upgrade request pairs with
    /// the response on stream 1 (the server's frames start in the 101's segment), later
    /// streams pair by id, and a 200 instead of a 101 keeps the connection HTTP/1.1.
    mod upgrade {
        use super::field;
        use crate::capture::testutil::{run_frames, summary, Conv};
        use crate::capture::tls::synth::frame;
        use crate::diag::WarnKind;
        use crate::model::Position;

        const UPGRADE: &[u8] = b"GET /up HTTP/1.1\r\nHost: a.test\r\nOrigin: https://o.test\r\n\
            Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
            HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n";

        fn get(path: &str) -> Vec<u8> {
            [
                field(":method", "GET"),
                field(":scheme", "http"),
                field(":authority", "a.test"),
                field(":path", path),
            ]
            .concat()
        }

        fn status(code: &str) -> Vec<u8> {
            [
                field(":status", code),
                field("access-control-allow-origin", "https://o.test"),
            ]
            .concat()
        }

        /// The whole exchange, the server's 101 and first frames cut at `mss`.
        fn accepted(mss: usize) -> crate::capture::testutil::Outcome {
            let mut c = Conv::new(40100);
            c.handshake();
            c.client(UPGRADE, 1460);
            let mut server =
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                    .to_vec();
            server.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 100]));
            server.extend(frame(1, 0x4, 1, &status("200")));
            server.extend(frame(0, 0x1, 1, b"hello"));
            c.server(&server, mss);
            let mut client = super::super::frame::PREFACE.to_vec();
            client.extend(frame(4, 0, 0, &[]));
            client.extend(frame(4, 0x1, 0, &[]));
            client.extend(frame(1, 0x5, 3, &get("/three")));
            client.extend(frame(1, 0x5, 5, &get("/five")));
            c.client(&client, 1460);
            let mut later = frame(4, 0x1, 0, &[]);
            later.extend(frame(1, 0x5, 5, &status("204")));
            later.extend(frame(1, 0x5, 3, &status("404")));
            c.server(&later, 1460);
            run_frames(&c.frames)
        }

        #[test]
        fn accepted_upgrade_continues_as_http2() {
            // Output is in request order; the server answered 5 before 3.
            for mss in [1460, 7, 1] {
                let o = accepted(mss);
                assert_eq!(
                    summary(&o),
                    [
                        ("GET".into(), "http://a.test/up".into(), Some(200)),
                        ("GET".into(), "http://a.test/three".into(), Some(404)),
                        ("GET".into(), "http://a.test/five".into(), Some(204)),
                    ],
                    "mss {mss}: {:?}",
                    o.diag
                );
                let up = &o.exchanges[0];
                assert!(
                    matches!(up.loc.position, Position::Stream { stream: 1, .. }),
                    "{}",
                    up.loc
                );
                // Its response was read in HTTP/2, as the engine must judge it.
                assert!(up.request.is_http2());
                let resp = up.response.as_ref().map(|r| &r.headers);
                assert_eq!(
                    resp.and_then(|h| h.get_str("access-control-allow-origin"))
                        .as_deref(),
                    Some("https://o.test")
                );
                assert_eq!(
                    up.request.headers.get_str("origin").as_deref(),
                    Some("https://o.test")
                );
                assert_eq!(o.diag.count(WarnKind::HttpUpgrade), 0);
                assert_eq!(o.diag.count(WarnKind::H2ProtocolError), 0);
            }
        }

        #[test]
        fn refused_upgrade_stays_http1() {
            let mut c = Conv::new(40101);
            c.handshake();
            c.client(UPGRADE, 1460);
            c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1460);
            c.client(b"GET /next HTTP/1.1\r\nHost: a.test\r\n\r\n", 1460);
            c.server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 1460);
            let o = run_frames(&c.frames);
            assert_eq!(
                summary(&o),
                [
                    ("GET".into(), "http://a.test/up".into(), Some(200)),
                    ("GET".into(), "http://a.test/next".into(), Some(404)),
                ]
            );
            assert!(o.exchanges.iter().all(|e| !e.request.is_http2()));
        }

        /// A 101 that switches to something else (`websocket`) still ends the parsing, even
        /// when the request offered h2c too.
        #[test]
        fn upgrade_to_another_protocol_is_not_followed() {
            let mut c = Conv::new(40102);
            c.handshake();
            c.client(UPGRADE, 1460);
            let mut server =
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
            server.extend(frame(1, 0x4, 1, &status("200")));
            c.server(&server, 1460);
            let o = run_frames(&c.frames);
            assert_eq!(
                summary(&o),
                [("GET".into(), "http://a.test/up".into(), Some(101))]
            );
            assert_eq!(o.diag.count(WarnKind::HttpUpgrade), 1);
        }

        /// The committed fuzz seed (`fuzz/make_tls_seeds.py`) reaches the h2c path: the
        /// upgrade request gets stream 1's 302, stream 3 its 307.
        #[test]
        fn fuzz_seed_follows_the_upgrade() {
            use crate::capture::http::fuzzing::{conversation, Step};
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/seeds/http_head/h2c-upgrade");
            let seed = std::fs::read(path).unwrap_or_default();
            let body = seed.get(1..).unwrap_or_default();
            let mut steps = Vec::new();
            let (mut dir, mut rest) = (0, body);
            while let Some(i) = rest.windows(3).position(|w| w == b"\xfe\xfe\xfe") {
                steps.push(Step::Data(dir, &rest[..i]));
                (dir, rest) = (1 - dir, &rest[i + 3..]);
            }
            steps.push(Step::Data(dir, rest));
            let o = conversation(&steps, Some(0), false, super::limits());
            let got = super::urls_and_statuses(&o);
            assert_eq!(
                got,
                [
                    ("http://www.example.com/".to_string(), Some(302)),
                    ("http://www.example.com/".to_string(), Some(307)),
                ]
            );
        }

        #[test]
        fn http2_settings_is_base64url() {
            let s = super::super::base64url(b"AAMAAABkAAQAoAAAAAIAAAAA").unwrap_or_default();
            assert_eq!(
                s,
                [0, 3, 0, 0, 0, 100, 0, 4, 0, 160, 0, 0, 0, 2, 0, 0, 0, 0]
            );
            assert_eq!(super::super::base64url(b"_-8"), Some(vec![0xff, 0xef]));
            assert_eq!(super::super::base64url(b"a b"), None);
        }
    }
}
