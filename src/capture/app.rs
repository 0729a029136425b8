//! Step 4' (application protocol above HTTP/1.x's sniffing): what a connection that is not
//! HTTP/1.x in clear runs — TLS (decrypted with a key log, then HTTP/2 or HTTP/1.x) or
//! cleartext HTTP/2 with prior knowledge or after `Upgrade: h2c`. [`super::http::HttpConn`]
//! hands a connection over here when its first bytes, or a `101` to `h2c`, say so.

use super::h2::{frame::PREFACE, H2Conn, Upgraded};
use super::http::Ctx;
use super::tcp::{Dir, FlowKey, PacketMeta};
use super::tls::{record::looks_like_record, TlsConn};
use crate::diag::WarnKind;

/// Boxed as a whole by its one owner (`HttpConn`), so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Upper {
    Tls(TlsConn),
    H2(H2Conn),
}

impl Upper {
    /// The protocol the first bytes of direction `dir` start, if it is one of ours.
    pub(crate) fn start(
        key: FlowKey,
        conn_no: u64,
        client: Option<Dir>,
        dir: Dir,
        data: &[u8],
    ) -> Option<Upper> {
        if looks_like_record(data) {
            return Some(Upper::Tls(TlsConn::new(key, conn_no, client)));
        }
        let n = data.len().min(PREFACE.len());
        if n >= 4 && data.get(..n) == PREFACE.get(..n) && client.is_none_or(|c| c == dir) {
            return Some(Upper::H2(H2Conn::new(key, conn_no, dir, "http")));
        }
        None
    }

    /// Whether a direction's first bytes are too few to tell: a cut TLS record header or
    /// HTTP/2 preface, which [`Upper::start`] would take for something else (a client or a
    /// middlebox that splits its first segment after a byte or two, as some censorship
    /// circumventers do).
    pub(crate) fn undecided(data: &[u8]) -> bool {
        let tls = matches!(
            data,
            [0x14..=0x17] | [0x14..=0x17, 3] | [0x14..=0x17, 3, 0..=4]
        );
        tls || (data.len() < 4 && PREFACE.starts_with(data))
    }

    /// Cleartext HTTP/2 after a `101 Switching Protocols` to `h2c`; `first` is the upgrade
    /// request (stream 1), when it was seen.
    pub(crate) fn h2c(key: FlowKey, conn_no: u64, client: Dir, first: Option<Upgraded>) -> Upper {
        Upper::H2(H2Conn::upgraded(key, conn_no, client, first))
    }

    pub(crate) fn data(&mut self, dir: Dir, data: &[u8], meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        match self {
            Upper::Tls(t) => t.data(dir, data, meta, ctx),
            Upper::H2(h) => h.data(dir, data, meta, ctx),
        }
    }

    /// Bytes lost: neither TLS nor HPACK state survives it.
    pub(crate) fn gap(&mut self, dir: Dir, len: u64, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        match self {
            Upper::Tls(t) => t.gap(dir, len, meta, ctx),
            Upper::H2(h) => h.stop(
                WarnKind::H2Gap,
                &format!("a capture gap lost {len} bytes (and the HPACK state)"),
                meta,
                ctx,
            ),
        }
    }

    pub(crate) fn end(&mut self, dir: Dir, meta: &PacketMeta, ctx: &mut Ctx<'_>) {
        if let Upper::Tls(t) = self {
            t.end(dir, meta, ctx);
        }
    }

    /// See [`super::http::HttpConn::mark_closed_unanswered`].
    pub(crate) fn mark_closed_unanswered(
        &mut self,
        reset: bool,
        ended: [bool; 2],
        at: crate::model::Micros,
    ) {
        match self {
            Upper::Tls(t) => t.mark_closed_unanswered(reset, ended, at),
            Upper::H2(h) => h.mark_closed_unanswered(reset, ended, at),
        }
    }

    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            Upper::Tls(t) => t.flush(ctx),
            Upper::H2(h) => h.flush(ctx),
        }
    }

    pub(crate) fn buffered(&self) -> usize {
        match self {
            Upper::Tls(t) => t.buffered(),
            Upper::H2(h) => h.buffered(),
        }
    }
}
