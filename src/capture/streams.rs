//! Step 5' (stream heads → exchanges): what HTTP/2 and HTTP/3 share once a stream's header
//! list is decoded. A request head (pseudo-headers checked, RFC 9113 §8.3.1 and RFC 9114
//! §4.3.1) becomes an [`Exchange`] that waits, by stream id, for its final response head;
//! a reset stream, a stopped connection or the end of the capture sends it out unanswered.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::WarnKind;
use crate::fingerprint::PseudoOrder;
use crate::model::{
    Closed, Evidence, Exchange, Flavour, Headers, HttpVersion, Location, Micros, Position, Request,
    Response, Timings,
};

use super::http::Ctx;
use super::tcp::PacketMeta;

#[derive(Debug)]
pub(crate) struct Stream {
    pub ex: Exchange,
    /// Request time made monotonic along the connection (the output's sort key).
    pub order_time: Micros,
    /// Capture time of the last request byte seen.
    pub last_ts: Micros,
}

/// The requests of one HTTP/2 or HTTP/3 connection waiting for their responses.
#[derive(Debug)]
pub(crate) struct Heads {
    conn_no: u64,
    /// The connection's scheme, for URLs whose `:scheme` cannot be one.
    scheme: &'static str,
    version: HttpVersion,
    /// Requests waiting for their responses, by stream id.
    /// Boxed: a tree node holds eleven values, moved on every insert and removal, and an
    /// exchange is about five hundred bytes.
    streams: BTreeMap<u64, Box<Stream>>,
    pub client_ip: Arc<str>,
    /// The server's address as text (`Evidence::server_ip`, and the URL's host without
    /// `:authority` or `Host`), made once per connection, not per request.
    pub server_text: Arc<str>,
    pub last_order_time: Micros,
    /// The connection's first request's stream: a browser resends any other request whose
    /// connection ended before its answer ([`Heads::mark_closed`]).
    first_stream: Option<u64>,
}

impl Heads {
    pub(crate) fn new(
        conn_no: u64,
        scheme: &'static str,
        version: HttpVersion,
        client_ip: Arc<str>,
        server_text: Arc<str>,
    ) -> Self {
        Heads {
            conn_no,
            scheme,
            version,
            streams: BTreeMap::new(),
            client_ip,
            server_text,
            last_order_time: Micros::MIN,
            first_stream: None,
        }
    }

    /// The protocol's name in warnings.
    fn name(&self) -> &'static str {
        match self.version {
            HttpVersion::Http3 => "HTTP/3",
            _ => "HTTP/2",
        }
    }

    pub(crate) fn insert(&mut self, stream: u64, s: Box<Stream>) {
        self.first_stream.get_or_insert(stream);
        self.streams.insert(stream, s);
    }

    pub(crate) fn is_waiting(&self, stream: u64) -> bool {
        self.streams.contains_key(&stream)
    }

    /// More request bytes (a body, trailers) on a waiting stream at `ts`.
    pub(crate) fn touch(&mut self, stream: u64, ts: Micros) {
        if let Some(s) = self.streams.get_mut(&stream) {
            s.last_ts = ts;
        }
    }

    /// The stream was reset: its request goes out unanswered.
    pub(crate) fn reset(&mut self, stream: u64, ctx: &mut Ctx<'_>) {
        self.reset_closed(stream, None, ctx);
    }

    /// [`Heads::reset`], saying how the stream ended before any answer
    /// (`Evidence::closed_unanswered`).
    pub(crate) fn reset_closed(&mut self, stream: u64, closed: Option<Closed>, ctx: &mut Ctx<'_>) {
        if let Some(mut s) = self.streams.remove(&stream) {
            s.ex.evidence.closed_unanswered = closed;
            emit(ctx, s);
        }
    }

    /// A GOAWAY's last stream id `last`: the server processed no stream above it (RFC 9113
    /// §6.8), so their requests go out unanswered, each one a browser sends again on a new
    /// connection.
    pub(crate) fn refuse_above(&mut self, last: u64, at: Micros, ctx: &mut Ctx<'_>) {
        let refused = self.streams.split_off(&last.saturating_add(1));
        for (_, mut s) in refused {
            s.ex.evidence.closed_unanswered = Some(Closed {
                at,
                reused: true,
                by: crate::model::EndedBy::Close,
            });
            emit(ctx, s);
        }
    }

    /// The connection ended at `at` before any answer to the requests waiting: each is
    /// marked, sent again by a browser unless it was the connection's first (and the server
    /// did not ask for them over HTTP/1.1: `all_resent`).
    pub(crate) fn mark_closed(&mut self, at: Micros, all_resent: bool) {
        let first = self.first_stream;
        for (id, s) in &mut self.streams {
            let reused = all_resent || first != Some(*id);
            s.ex.evidence.closed_unanswered = Some(Closed {
                at,
                reused,
                by: crate::model::EndedBy::Close,
            });
        }
    }

    /// Emits every request still waiting, without a response.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        for (_, s) in std::mem::take(&mut self.streams) {
            emit(ctx, s);
        }
    }

    /// A request head on `stream`: checked (RFC 9113 §8.3.1), made an [`Exchange`] and kept
    /// open until its response. A second head on an open stream is its trailers.
    pub(crate) fn request(
        &mut self,
        stream: u64,
        fields: Headers,
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) {
        if self.streams.contains_key(&stream) {
            // Trailers of a request.
            return;
        }
        let head = RequestHead::read(fields);
        // RFC 9113 §8.3.1 (RFC 9114 §4.3.1 alike): a request without `:method`, or (but for
        // CONNECT) without `:path`, is malformed. No browser sends one; as a record it would
        // be a request with no method.
        if head.is_malformed() {
            let (kind, name) = match self.version {
                HttpVersion::Http3 => (WarnKind::H3MalformedRequest, "HTTP/3"),
                _ => (WarnKind::H2MalformedRequest, "HTTP/2"),
            };
            ctx.warn(kind, meta, || {
                format!("{name} stream {stream}: a request without :method or :path (RFC 9113 §8.3.1); the stream is skipped")
            });
            return;
        }
        let server = self.server_text.clone();
        let url = head.url(self.scheme, &server);
        let (method, headers, order) = head.into_parts();
        let seq = *ctx.seq;
        *ctx.seq += 1;
        ctx.stats.http_requests += 1;
        let order_time = meta.ts.max(self.last_order_time);
        self.last_order_time = order_time;
        ctx.open.insert((order_time, seq));
        let ex = Exchange {
            loc: Location {
                source: ctx.source.clone(),
                position: Position::Stream {
                    number: meta.number,
                    offset: meta.offset,
                    // HTTP/3 ids are 62 bits; a browser's stay far below 2^32.
                    stream: u32::try_from(stream).unwrap_or(u32::MAX),
                },
            },
            seq,
            time: meta.ts,
            client: self.client_ip.clone(),
            connection: Some(self.conn_no),
            flavour: Flavour::Capture,
            request: Request {
                method,
                url,
                http_version: self.version.clone(),
                headers,
            },
            response: None,
            timings: Timings::default(),
            evidence: Evidence {
                server_ip: Some(server),
                pseudo_order: Some(order),
                ..Evidence::default()
            },
        };
        self.open(stream, ex, order_time, meta, ctx);
    }

    /// Keeps a request waiting for its response; past `max_pending` streams the oldest is
    /// emitted unanswered, so a server that never answers cannot hold memory.
    fn open(
        &mut self,
        stream: u64,
        ex: Exchange,
        order_time: Micros,
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) {
        if self.streams.len() >= ctx.limits.max_pending.max(1) {
            if let Some((_, old)) = self.streams.pop_first() {
                let name = self.name();
                ctx.warn(WarnKind::LimitPendingRequests, meta, || {
                    format!(
                        "too many {name} streams waiting for responses; oldest emitted without one"
                    )
                });
                emit(ctx, old);
            }
        }
        self.insert(
            stream,
            Box::new(Stream {
                ex,
                order_time,
                last_ts: meta.ts,
            }),
        );
    }

    /// A response head on `stream`; interim (1xx) heads and trailers are passed over.
    pub(crate) fn response(
        &mut self,
        stream: u64,
        fields: Headers,
        meta: &PacketMeta,
        ctx: &mut Ctx<'_>,
    ) {
        let mut status = None;
        for (n, v) in fields.iter() {
            if n == b":status" {
                status = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<u16>().ok());
            }
        }
        // The regular fields, in the decoded list's own buffer (not copied into another).
        let mut headers = fields;
        headers.retain(|n, _| !n.starts_with(b":"));
        let Some(status) = status else {
            // Trailers (no :status), or a malformed head: not a response.
            return;
        };
        if (100..200).contains(&status) {
            return;
        }
        let Some(mut s) = self.streams.remove(&stream) else {
            // A pushed stream's response (HTTP/2: even ids), or a request the capture did not
            // hold.
            if self.version == HttpVersion::Http3 || stream % 2 == 1 {
                let name = self.name();
                ctx.warn(WarnKind::HttpResponseWithoutRequest, meta, || {
                    format!("{name} response {status} on stream {stream} without a request seen")
                });
            }
            return;
        };
        if let Some(by) = super::http::resent_on(status) {
            if !super::http::answer_kept(&mut s.ex, meta.ts, by) {
                emit(ctx, s);
                return;
            }
        }
        let wait = meta.ts.saturating_sub(s.last_ts).max(0) as f64 / 1000.0;
        s.ex.timings.wait_ms = Some(wait);
        s.ex.response = Some(Response {
            status,
            status_text: String::new(),
            headers,
        });
        emit(ctx, s);
    }
}

/// A request's decoded header list: the pseudo-headers it carries (RFC 9113 §8.3.1), the
/// regular fields, and the order the pseudo-headers came in. The pseudo-headers are read
/// where they lie in the list (as text they were an allocation each).
struct RequestHead {
    method: String,
    /// The decoded list, pseudo-headers included until [`RequestHead::into_parts`].
    fields: Headers,
    /// Where in `fields` the (last) `:path`, `:authority` and `:scheme` lines are.
    path: Option<usize>,
    authority: Option<usize>,
    scheme: Option<usize>,
    /// The client's pseudo-header order: its engine's fingerprint (`fingerprint::SHAPES`).
    order: PseudoOrder,
}

impl RequestHead {
    /// Sorts a request's fields into pseudo-headers and regular fields.
    #[inline]
    fn read(fields: Headers) -> Self {
        let mut head = RequestHead {
            method: String::new(),
            fields: Headers::new(),
            path: None,
            authority: None,
            scheme: None,
            order: PseudoOrder::default(),
        };
        let mut regular = false;
        for (i, (n, v)) in fields.iter().enumerate() {
            if n.starts_with(b":") {
                if regular {
                    head.order.mark_odd();
                }
                head.order.push(n);
            }
            match n {
                b":method" => head.method = String::from_utf8_lossy(v).into_owned(),
                b":path" => head.path = Some(i),
                b":authority" => head.authority = Some(i),
                b":scheme" => head.scheme = Some(i),
                n if n.starts_with(b":") => {}
                _ => regular = true,
            }
        }
        head.fields = fields;
        head
    }

    /// The text of the pseudo-header line at `at`.
    fn pseudo(&self, at: Option<usize>) -> Option<Cow<'_, str>> {
        let (_, v) = self.fields.iter().nth(at?)?;
        Some(String::from_utf8_lossy(v))
    }

    fn is_connect(&self) -> bool {
        self.method.eq_ignore_ascii_case("CONNECT")
    }

    /// Without `:method`, or (but for CONNECT) without `:path` (RFC 9113 §8.3.1).
    fn is_malformed(&self) -> bool {
        self.method.is_empty()
            || (self.pseudo(self.path).is_none_or(|p| p.is_empty()) && !self.is_connect())
    }

    /// The request's URL: host from `:authority`, else `Host`, else the server's address;
    /// scheme from `:scheme` only when it is `http` or `https` (the field is the peer's
    /// text, the URL ours), else the connection's.
    fn url(&self, conn_scheme: &str, server: &str) -> String {
        let host_field;
        let authority = self.pseudo(self.authority);
        let host = match &authority {
            Some(a) => a,
            None => {
                host_field = self.fields.get_str("host");
                host_field.as_deref().unwrap_or(server)
            }
        };
        let scheme = self.pseudo(self.scheme);
        let scheme = ["http", "https"]
            .into_iter()
            .find(|w| scheme.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(w)))
            .unwrap_or(conn_scheme);
        // Written piece by piece: `format!` cost about a thousand instructions a request.
        let path = self.pseudo(self.path).filter(|_| !self.is_connect());
        let path = path.as_deref().unwrap_or("");
        let mut url = String::with_capacity(scheme.len() + 4 + host.len() + path.len());
        url.push_str(scheme);
        url.push_str("://");
        url.push_str(host);
        if !self.is_connect() && !path.starts_with('/') {
            url.push('/');
        }
        url.push_str(path);
        url
    }

    /// The method, the regular fields (narrowed in the decoded list's own buffer, not copied
    /// into another) and the pseudo-header order.
    fn into_parts(self) -> (String, Headers, PseudoOrder) {
        let mut fields = self.fields;
        fields.retain(|n, _| !n.starts_with(b":"));
        (self.method, fields, self.order)
    }
}

fn emit(ctx: &mut Ctx<'_>, s: Box<Stream>) {
    ctx.open.remove(&(s.order_time, s.ex.seq));
    // Its one move into a box of its own (see `capture::Finished`).
    ctx.out.push((s.order_time, Box::new(s.ex)));
}

#[cfg(test)]
mod tests {
    /// The request head alone: pseudo-headers sorted out, malformed heads told, and the
    /// URL's host and scheme taken from the fields only when they can be.
    #[test]
    fn request_head_reads_pseudo_headers_into_the_url() {
        let head =
            |fields: &[(&str, &str)]| super::RequestHead::read(fields.iter().copied().collect());
        // (fields, URL; `None`: malformed)
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case] = &[
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":authority", "a.test"),
                    (":path", "/x"),
                ],
                Some("https://a.test/x"),
            ),
            // No :authority: the Host field; a scheme that cannot be one: the connection's.
            (
                &[
                    (":method", "GET"),
                    (":scheme", "x y"),
                    (":path", "p"),
                    ("host", "h.test"),
                ],
                Some("http://h.test/p"),
            ),
            // Neither: the server's address.
            (
                &[(":method", "GET"), (":path", "/")],
                Some("http://10.0.0.2:80/"),
            ),
            (
                &[(":method", "CONNECT"), (":authority", "a.test:443")],
                Some("http://a.test:443"),
            ),
            (&[(":path", "/")], None),
            (&[(":method", "GET")], None),
        ];
        for (fields, url) in cases {
            let h = head(fields);
            let got = (!h.is_malformed()).then(|| h.url("http", "10.0.0.2:80"));
            assert_eq!(got.as_deref(), *url, "{fields:?}");
        }
        let (_, headers, _) =
            head(&[(":method", "GET"), ("accept", "*/*"), (":path", "/")]).into_parts();
        assert_eq!(headers.get_str("accept").as_deref(), Some("*/*"));
        assert!(headers.get_str(":path").is_none());
    }
}
