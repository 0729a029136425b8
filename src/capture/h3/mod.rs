//! Step 5 (HTTP/3): RFC 9114 over one QUIC connection's decrypted streams: each side's control
//! stream (SETTINGS: the QPACK table capacity its decoder allows), each side's QPACK encoder
//! stream, and every request stream's request and response heads as one exchange (through
//! [`Heads`], as HTTP/2's). Field sections that refer to table entries not inserted yet wait
//! for them (QPACK's blocked streams). A protocol or QPACK error stops the connection with a
//! warning: nothing after it is guessed at.

pub(crate) mod frame;
pub(crate) mod qpack;

use std::collections::{HashMap, HashSet};

/// The hasher of the per-stream maps: foldhash with a random seed (stream ids are the peer's
/// choice; SipHash cost a few percent of reading HTTP/3, see `quic::Streams`).
type Seeded = foldhash::fast::RandomState;

use crate::diag::WarnKind;
use crate::model::Headers;

use super::http::Ctx;
use super::streams::Heads;
use super::tcp::{Dir, PacketMeta};
use frame::{FrameEvent, FrameReader};

/// Largest HEADERS or SETTINGS frame buffered (a field section is bounded by `max_head_bytes`
/// once decoded, as in HTTP/1 and HTTP/2).
const MAX_FRAME_BUFFER: usize = 64 * 1024;
/// The most QPACK dynamic-table bytes kept per direction: browsers and servers offer 4–64 KiB.
const MAX_TABLE: usize = 64 * 1024;
/// Field sections waiting for their table entries, per connection; and response heads
/// waiting for their request's (a capture out of order across directions).
const MAX_BLOCKED: usize = 256;
/// Request stream ids remembered as seen, behind the highest: a response on an older stream
/// whose request was not seen is not waited for.
const REMEMBERED_REQUESTS: u64 = 4 * 4096;

/// What a unidirectional stream carries, once its type is read.
#[derive(Debug)]
enum Uni {
    /// The stream type's bytes so far (a varint of up to eight bytes).
    Type(Vec<u8>),
    Control(FrameReader),
    /// The sender's QPACK encoder stream: table inserts for the fields it encodes.
    Encoder,
    /// Anything else (the QPACK decoder stream, push streams, reserved types): not read.
    Ignored,
}

/// A field section that refers to table entries not inserted yet.
#[derive(Debug)]
struct Blocked {
    dir: Dir,
    stream: u64,
    block: Vec<u8>,
    meta: PacketMeta,
}

/// HTTP/3 state of one QUIC connection.
#[derive(Debug)]
pub(crate) struct H3Conn {
    conn_no: u64,
    client: Dir,
    heads: Heads,
    /// Per direction: the decoder of the fields that side encodes.
    qpack: [qpack::Decoder; 2],
    uni: HashMap<(u64, Dir), Uni, Seeded>,
    /// Request streams' frame readers, per stream and direction.
    requests: HashMap<(u64, Dir), FrameReader, Seeded>,
    blocked: Vec<Blocked>,
    /// Request streams whose request head was read (recent ones, see
    /// [`REMEMBERED_REQUESTS`]), and the highest.
    requested: HashSet<u64, Seeded>,
    highest_request: u64,
    /// Response heads read before their request's, by stream, in order.
    early: HashMap<u64, Vec<(Headers, PacketMeta)>, Seeded>,
    stopped: bool,
}

impl H3Conn {
    pub(crate) fn new(conn_no: u64, client: Dir, heads: Heads) -> Self {
        H3Conn {
            conn_no,
            client,
            heads,
            qpack: [
                qpack::Decoder::new(MAX_TABLE),
                qpack::Decoder::new(MAX_TABLE),
            ],
            uni: HashMap::default(),
            requests: HashMap::default(),
            blocked: Vec::new(),
            requested: HashSet::default(),
            highest_request: 0,
            early: HashMap::default(),
            stopped: false,
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Bytes held: frame buffers, waiting field sections, QPACK tables.
    pub(crate) fn buffered(&self) -> usize {
        let frames: usize = self.requests.values().map(FrameReader::buffered).sum();
        let control: usize = self
            .uni
            .values()
            .map(|u| match u {
                Uni::Control(f) => f.buffered(),
                _ => 0,
            })
            .sum();
        let blocked: usize = self.blocked.iter().map(|b| b.block.len()).sum::<usize>()
            + self
                .early
                .values()
                .flatten()
                .map(|(h, _)| h.heap_bytes())
                .sum::<usize>();
        frames + control + blocked + self.qpack.iter().map(|q| q.table_bytes()).sum::<usize>()
    }

    /// In-order bytes of stream `id` sent in direction `dir`; `fin`: the stream ends with
    /// them. Whether more of this stream matters (a response stream's head was read, an
    /// ignored stream: no).
    pub(crate) fn stream_data(
        &mut self,
        dir: Dir,
        id: u64,
        data: &[u8],
        fin: bool,
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        if self.stopped {
            return false;
        }
        let wanted = if id & 0x2 == 0 {
            self.request_stream(dir, id, data, meta, ctx)
        } else {
            self.uni_stream(dir, id, data, ctx)
        };
        if let Err(why) = wanted {
            self.stop(&why, meta, ctx);
            return false;
        }
        if fin {
            self.requests.remove(&(id, dir));
        }
        wanted.unwrap_or(false) && !fin
    }

    /// A request stream's bytes: the request (client) or the response (server).
    fn request_stream(
        &mut self,
        dir: Dir,
        id: u64,
        data: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Result<bool, String> {
        let mut reader = self
            .requests
            .remove(&(id, dir))
            .unwrap_or_else(|| FrameReader::new(MAX_FRAME_BUFFER.max(ctx.limits.max_head_bytes)));
        let mut heads = Vec::new();
        let mut body = false;
        reader
            .feed(data, &mut |ev| match ev {
                FrameEvent::Headers(block) => heads.push(block.to_vec()),
                FrameEvent::Data(_) => body = true,
                FrameEvent::Settings(_) | FrameEvent::Other(_) => {}
            })
            .map_err(|e| format!("stream {id}: {e}"))?;
        if dir == self.client && (body || !heads.is_empty()) {
            self.heads.touch(id, meta.ts);
        }
        for block in heads {
            self.field_section(dir, id, block, meta, ctx)?;
        }
        // A response stream matters until its final head is read; a request stream until
        // its end (its body's last byte times the server's wait).
        let wanted = dir == self.client || self.heads.is_waiting(id) || self.is_blocked(id);
        if wanted {
            self.requests.insert((id, dir), reader);
        }
        Ok(wanted)
    }

    fn is_blocked(&self, id: u64) -> bool {
        self.blocked.iter().any(|b| b.stream == id)
    }

    /// A field section on request stream `id` from `dir`: decoded now, or kept until the
    /// table entries it refers to arrive (behind any earlier section of the same stream).
    fn field_section(
        &mut self,
        dir: Dir,
        id: u64,
        block: Vec<u8>,
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        if !self.is_blocked(id) && self.decode(dir, id, &block, meta, ctx)? {
            return Ok(());
        }
        if self.blocked.len() >= MAX_BLOCKED {
            return Err(format!(
                "more than {MAX_BLOCKED} field sections wait for QPACK table entries"
            ));
        }
        self.blocked.push(Blocked {
            dir,
            stream: id,
            block,
            meta: *meta,
        });
        Ok(())
    }

    /// Decodes one field section into a request or response head; false when it is blocked.
    fn decode(
        &mut self,
        dir: Dir,
        id: u64,
        block: &[u8],
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) -> Result<bool, String> {
        let max = ctx.limits.max_head_bytes;
        let max_headers = ctx.limits.max_headers.max(8) + 8;
        let mut fields = Headers::with_capacity(16, block.len() * 2);
        match self.qpack[dir].decode(block, max, &mut |n, v| {
            if fields.len() < max_headers {
                fields.push(n, v);
            }
        }) {
            Ok(()) => {}
            Err(qpack::QpackError::Blocked { .. }) => return Ok(false),
            Err(qpack::QpackError::TooLarge) => {
                ctx.warn(WarnKind::LimitHeadBytes, meta, || {
                    format!("HTTP/3 header list over {max} bytes dropped")
                });
                return Ok(true);
            }
            Err(e) => return Err(format!("stream {id}: QPACK: {e}")),
        }
        if dir == self.client {
            self.heads.request(id, fields, meta, ctx);
            self.note_request(id);
            // A response the capture showed first comes after its request.
            for (fields, meta) in self.early.remove(&id).unwrap_or_default() {
                self.heads.response(id, fields, &meta, ctx);
            }
        } else if self.requested.contains(&id)
            || id.saturating_add(REMEMBERED_REQUESTS) < self.highest_request
            || self.early.len() >= MAX_BLOCKED
        {
            self.heads.response(id, fields, meta, ctx);
        } else {
            self.early.entry(id).or_default().push((fields, *meta));
        }
        Ok(true)
    }

    /// Remembers that request stream `id` carried a request head.
    fn note_request(&mut self, id: u64) {
        self.requested.insert(id);
        if id > self.highest_request {
            self.highest_request = id;
            if self.requested.len() as u64 > REMEMBERED_REQUESTS / 4 + 64 {
                let floor = id.saturating_sub(REMEMBERED_REQUESTS);
                self.requested.retain(|&r| r >= floor);
            }
        }
    }

    /// Field sections whose table entries have arrived, in the order they came.
    fn unblock(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let mut i = 0;
        while i < self.blocked.len() {
            let b = &self.blocked[i];
            // Sections of one stream stay in order: a later one waits behind an earlier.
            let earlier = self.blocked[..i].iter().any(|e| e.stream == b.stream);
            if !earlier {
                let b = self.blocked.remove(i);
                if self.decode(b.dir, b.stream, &b.block, &b.meta, ctx)? {
                    continue;
                }
                self.blocked.insert(i, b);
            }
            i += 1;
        }
        Ok(())
    }

    /// A unidirectional stream's bytes: its type first, then what that type carries.
    fn uni_stream(
        &mut self,
        dir: Dir,
        id: u64,
        mut data: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> Result<bool, String> {
        let state = self.uni.entry((id, dir)).or_insert(Uni::Type(Vec::new()));
        if let Uni::Type(bytes) = state {
            let take = data.len().min(8 - bytes.len().min(8));
            bytes.extend_from_slice(&data[..take]);
            let Some((kind, used)) = frame::varint(bytes) else {
                return Ok(true);
            };
            // What of `data` followed the type.
            data = &data[used.saturating_sub(bytes.len() - take)..];
            *state = match kind {
                frame::CONTROL => Uni::Control(FrameReader::new(MAX_FRAME_BUFFER)),
                frame::QPACK_ENCODER => Uni::Encoder,
                _ => Uni::Ignored,
            };
        }
        let mut settings = Vec::new();
        match state {
            Uni::Type(_) => return Ok(true),
            Uni::Ignored => return Ok(false),
            Uni::Control(reader) => {
                reader
                    .feed(data, &mut |ev| {
                        if let FrameEvent::Settings(p) = ev {
                            settings.push(p.to_vec());
                        }
                    })
                    .map_err(|e| format!("control stream: {e}"))?;
            }
            Uni::Encoder => {
                self.qpack[dir]
                    .encoder_stream(data)
                    .map_err(|e| format!("QPACK encoder stream: {e}"))?;
                self.unblock(ctx)?;
            }
        }
        for p in settings {
            let list = frame::settings(&p).map_err(|e| format!("SETTINGS: {e}"))?;
            for (k, v) in list {
                if k == frame::SETTINGS_QPACK_MAX_TABLE_CAPACITY {
                    // A side's decoder limit bounds the fields its peer encodes.
                    self.qpack[1 - dir].set_max_capacity(v);
                }
            }
            self.unblock(ctx)?;
        }
        Ok(true)
    }

    /// The stream was reset by its sender, or the client stopped reading it: a request
    /// still waiting goes out unanswered.
    pub(crate) fn reset(&mut self, id: u64, ctx: &mut Ctx<'_>) {
        if id & 0x2 == 0 && !self.is_blocked(id) {
            self.heads.reset(id, ctx);
        }
        self.requests.remove(&(id, 0));
        self.requests.remove(&(id, 1));
    }

    /// Stops decoding (protocol error): requests waiting are emitted without responses.
    pub(crate) fn stop(&mut self, why: &str, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if self.stopped {
            return;
        }
        let conn = self.conn_no;
        ctx.warn(WarnKind::H3ProtocolError, meta, || {
            format!("HTTP/3 on QUIC connection {conn}: {why}; the rest of it is not decoded")
        });
        self.stopped = true;
        self.flush(ctx);
        self.uni.clear();
        self.requests.clear();
    }

    /// End of the connection: requests waiting are emitted without responses; field
    /// sections still waiting for their table entries are counted.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(b) = self.blocked.first() {
            let (n, conn) = (self.blocked.len(), self.conn_no);
            ctx.warn(WarnKind::H3ProtocolError, &b.meta, || {
                format!("HTTP/3 on QUIC connection {conn}: {n} field section(s) never got the QPACK table entries they refer to (the capture lost encoder-stream bytes); not decoded")
            });
            self.blocked.clear();
        }
        // Responses whose request never came: each counted as such.
        let mut early: Vec<_> = std::mem::take(&mut self.early).into_iter().collect();
        early.sort_unstable_by_key(|(id, _)| *id);
        for (id, list) in early {
            for (fields, meta) in list {
                self.heads.response(id, fields, &meta, ctx);
            }
        }
        self.heads.flush(ctx);
    }
}
