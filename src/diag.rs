//! Non-fatal problems met while reading inputs (skipped packets, gaps, limits hit, encrypted
//! traffic): counted per kind for the summary, with the first details kept for `-v`.

use std::collections::BTreeMap;

/// How many detail lines are kept per kind; the counts are always exact.
pub const MAX_DETAILS_PER_KIND: usize = 20;

/// Declares [`WarnKind`]: each kind once, with its stable identifier (shown in summaries, `-v`
/// and the JSON `warnings` object) and what it means (the README's table is made from it).
macro_rules! warn_kinds {
    ($($variant:ident = $id:literal: $doc:literal,)*) => {
        /// A kind of non-fatal warning; [`WarnKind::id`] is its stable name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum WarnKind {
            $(#[doc = $doc] $variant,)*
        }

        impl WarnKind {
            /// Every kind, in declaration order.
            pub(crate) const ALL: &[WarnKind] = &[$(WarnKind::$variant),*];

            /// The stable identifier (`tcp-gap`, `limit-headers`, …).
            pub(crate) fn id(self) -> &'static str {
                match self {
                    $(WarnKind::$variant => $id,)*
                }
            }

            /// What the warning means, one sentence.
            pub(crate) fn doc(self) -> &'static str {
                match self {
                    $(WarnKind::$variant => $doc,)*
                }
            }
        }
    };
}

warn_kinds! {
    CapturePartOutOfOrder = "capture-part-out-of-order": "A capture part (a file joined with `cat`, a pcapng section, or packets whose times jump back and stay back, as `mergecap -a` joins files) that starts more than 10 s before the part before it ends; it is analysed as a capture of its own.",
    CaptureConcatenated = "capture-concatenated": "Another capture file's header where a record should be (files joined with `cat`); reading goes on with that file's packets.",
    EncapsulationTooDeep = "encapsulation-too-deep": "More nested headers (VLAN tags, MPLS labels, tunnels) than corscope unwraps; the packet is skipped.",
    GzipTrailingGarbage = "gzip-trailing-garbage": "Bytes after a complete gzip stream were ignored.",
    H2Gap = "h2-gap": "A capture gap cut an HTTP/2 connection; its HPACK state is lost, so the rest of the connection is not read.",
    H2MalformedRequest = "h2-malformed-request": "An HTTP/2 request without :method or :path (RFC 9113 §8.3.1); the stream is skipped.",
    H2ProtocolError = "h2-protocol-error": "An HTTP/2 connection broke the protocol (bad frame, HPACK error); the rest of it is not read.",
    H3MalformedRequest = "h3-malformed-request": "An HTTP/3 request without :method or :path (RFC 9114 §4.3.1); the stream is skipped.",
    H3ProtocolError = "h3-protocol-error": "An HTTP/3 connection broke the protocol (bad frame, QPACK error), or lost encoder-stream bytes its field sections need; the rest of it is not read.",
    HarEntryDuplicate = "har-entry-duplicate": "A HAR entry identical to an earlier one (same start, same content): the same request listed twice; analysed once.",
    HarEntryInvalid = "har-entry-invalid": "A HAR entry could not be read (wrong types, missing request); it is skipped.",
    HarFailedLeftOut = "har-failed-left-out": "A Safari (WebKit Web Inspector) HAR that lists no failed request: Web Inspector's export leaves out every request that did not finish (its Network tab exports finished requests only), so a request Safari blocked for CORS is not in it. Reproduce in Chromium or Firefox and export there, or record a capture.",
    HarEntryNoTime = "har-entry-no-time": "A HAR entry without a valid startedDateTime; it takes the start of the entry before it in the file, or of a neighbour that is its preflight or its request.",
    Http09 = "http-0.9": "An HTTP/0.9 request (no version); ignored.",
    HttpBadChunk = "http-bad-chunk": "A chunked body broke its framing; reading resumes at the next message head.",
    HttpBadFraming = "http-bad-framing": "A message's Transfer-Encoding / Content-Length cannot frame its body.",
    HttpGarbage = "http-garbage": "The answer to an HTTP request is not HTTP; the connection is ignored.",
    HttpHeadLost = "http-head-lost": "A capture gap cut a message head; the message is dropped.",
    HttpIncompleteHead = "http-incomplete-head": "The capture or connection ended inside a message head.",
    HttpParseError = "http-parse-error": "A message head that cannot be parsed; reading resumes at the next one.",
    HttpResponseLost = "http-response-lost": "A capture gap lost the response to a request.",
    HttpRetried = "http-retried": "A request sent again after its connection or HTTP/2 stream ended before any answer (a stale keep-alive connection, a 408 on one, a refused stream); the first attempt is folded into the retry.",
    HttpResponseWithoutRequest = "http-response-without-request": "A response whose request the capture does not hold.",
    HttpTruncatedBody = "http-truncated-body": "The capture or connection ended inside a message body.",
    HttpUpgrade = "http-upgrade": "A connection switched protocols (101 or CONNECT); what follows is not read as HTTP/1.x.",
    Http2PriorKnowledge = "http2": "HTTP/2 with prior knowledge on a connection read as HTTP/1.x; not parsed.",
    InputStopped = "input-stopped": "Reading an input stopped at damage; what came before it was analysed.",
    IpFragment = "ip-fragment": "An IP fragment inside an already reassembled datagram; skipped.",
    IpFragmentIncomplete = "ip-fragment-incomplete": "A fragmented IP datagram never completed; dropped.",
    IpFragmentInvalid = "ip-fragment-invalid": "An IP fragment out of bounds or inconsistent; its datagram is dropped.",
    IpFragmentOverlap = "ip-fragment-overlap": "IP fragments overlapping with different bytes; the datagram is dropped.",
    LimitChunkLine = "limit-chunk-line": "A chunk-size line longer than --max-chunk-line.",
    LimitConnectionBuffer = "limit-connection-buffer": "A connection buffered more than --max-connection-buffer; it skipped ahead.",
    LimitHarDepth = "limit-har-depth": "A HAR entry nested deeper than --max-depth; skipped.",
    LimitHarEntryBytes = "limit-har-entry-bytes": "A HAR entry larger than --max-entry-bytes; skipped.",
    LimitHarString = "limit-har-string": "A HAR string longer than --max-string-bytes; dropped.",
    LimitHeadBytes = "limit-head-bytes": "An HTTP/2 header list larger than --max-head-bytes; the message is dropped.",
    LimitHeaderBytes = "limit-header-bytes": "A message head longer than --max-head-bytes (HTTP/1.x); the message is dropped.",
    LimitHeaders = "limit-headers": "A message head with more than --max-headers header lines; the message is dropped.",
    LimitIpFragments = "limit-ip-fragments": "More fragmented IP datagrams in flight than --max-ip-fragments or --max-fragment-bytes allow; the oldest is dropped.",
    LimitLiveConnections = "limit-live-connections": "More live TCP (or QUIC) connections than --max-connections; the oldest is flushed.",
    LimitOooSegments = "limit-ooo-segments": "More out-of-order TCP segments than --max-ooo-segments; the connection skipped ahead.",
    LimitPairingBuffer = "limit-pairing-buffer": "More exchanges waiting for pairing than --max-pairing-buffer; the oldest is decided early.",
    LimitPairingUrl = "limit-pairing-url": "More exchanges of one client to one URL waiting for pairing than --max-pending-per-url; the oldest are paired early.",
    LimitCaptureParts = "limit-capture-parts": "More capture parts out of time order than corscope analyses apart (1024); the rest of the input is read on as one part, its times out of order.",
    LimitPreflightCache = "limit-preflight-cache": "More live preflight-cache entries than --max-cached-preflights; the least recently refreshed were dropped, and a request one would have served is decided as if the input began after its preflight.",
    LimitPendingRequests = "limit-pending-requests": "More pipelined requests waiting for responses than --max-pipelined.",
    LimitReorderBuffer = "limit-reorder-buffer": "More finished exchanges waiting for time order than --max-reorder-buffer.",
    LimitReorderBufferClass = "limit-reorder-buffer-class": "A pool hold pushed the time-order buffer past --max-reorder-buffer.",
    LimitTotalBuffer = "limit-total-buffer": "All connections together buffered more than --max-total-buffer; the oldest are flushed.",
    MalformedPacket = "malformed-packet": "A packet whose headers contradict themselves; skipped.",
    NonHttp = "non-http": "A TCP connection that is not HTTP/1.x; ignored.",
    PcapngBlockSkipped = "pcapng-block-skipped": "A damaged or unknown pcapng block; skipped.",
    QuicDecryptFailed = "quic-decrypt-failed": "QUIC packets that did not authenticate with the keys of their connection; skipped (counted per connection).",
    QuicGap = "quic-gap": "A QUIC stream whose head the capture did not hold whole (packets lost); its request or response is missing.",
    QuicNotAnalysed = "quic-not-analysed": "A QUIC (HTTP/3) connection that cannot be decrypted: no key-log secrets for it, its handshake not captured, or a QUIC version not read; counted per connection.",
    TcpAckUnseen = "tcp-ack-unseen": "Data acknowledged by the other side but never seen in the capture (it was taken as lost).",
    TcpConflictingOverlap = "tcp-conflicting-overlap": "A TCP retransmission whose bytes differ from the first copy; the first is kept.",
    TcpDataAfterFin = "tcp-data-after-fin": "TCP data after the direction's FIN; ignored.",
    TcpGap = "tcp-gap": "Bytes of a TCP stream the capture missed.",
    TcpGapWindow = "tcp-gap-window": "Data far beyond a TCP gap; the stream skipped ahead over the gap.",
    TcpIdleFlush = "tcp-idle-flush": "A connection flushed after --idle-timeout without packets.",
    TcpMidStream = "tcp-mid-stream": "A TCP connection whose start the capture does not hold.",
    TcpOutOfOrder = "tcp-out-of-order": "A TCP segment ahead of missing data; held until the gap fills.",
    TcpPortReuse = "tcp-port-reuse": "A new SYN on a live connection; the old one is closed.",
    TcpRetransmission = "tcp-retransmission": "A TCP segment already delivered; dropped.",
    TlsBadRecord = "tls-bad-record": "Bytes that are not a TLS record; the connection is not read further.",
    TlsDecryptFailed = "tls-decrypt-failed": "A TLS record did not authenticate with the logged keys.",
    TlsEncrypted = "tls-encrypted": "A TLS connection without keys (give --keylog, or an embedded secrets block).",
    TlsGap = "tls-gap": "A capture gap cut a TLS stream; the rest of it cannot be decrypted.",
    TlsUnsupportedCipher = "tls-unsupported-cipher": "A TLS cipher suite corscope cannot decrypt.",
    TruncatedPacket = "truncated-packet": "A packet cut shorter than its headers say (snap length); skipped.",
    UnsupportedEncapsulation = "unsupported-encapsulation": "A tunnel or encapsulation corscope does not unwrap; skipped.",
    UnsupportedLinkType = "unsupported-link-type": "A capture interface whose link type is not supported; its packets are skipped.",
    TraceNoRequests = "trace-no-requests": "A Playwright trace whose network log holds no request: Playwright records them only when tracing with `snapshots: true` (as Playwright Test's `trace: 'on'` does).",
    TraceLineInvalid = "trace-line-invalid": "A line of a Playwright trace's network log (`*.network` in a `trace.zip`) that is not a JSON event, or longer than 64 MiB; skipped.",
    ZipMemberSkipped = "zip-member-skipped": "A zip archive member not read: a second HAR or capture (only the first is read), one beside a Playwright trace, one that cannot be read (encrypted, or compressed other than deflate), or one whose size is only in the archive's directory, or one passed over that inflates more than 200 times its size (a bomb; for these two the members after it are not read either).",
    ZipTrailingGarbage = "zip-trailing-garbage": "Bytes where a zip archive's next member or directory should be were ignored (the members before them were read whole).",
    TarMemberSkipped = "tar-member-skipped": "A tar archive member not read: a second HAR, a capture beside a HAR, a capture compressed otherwise than the archive's first one (the archive's captures are read joined, so they must decode as one stream), a GNU sparse file, or a pax or long-name header longer than 1 MiB (the member it names is read under its plain name).",
    TarTrailingGarbage = "tar-trailing-garbage": "Bytes after a tar archive's end, or where its next member header should be, were ignored (the members before them were read whole).",
    Lz4TrailingGarbage = "lz4-trailing-garbage": "Bytes after a complete LZ4 stream (its last frame) were ignored.",
    ZstdTrailingGarbage = "zstd-trailing-garbage": "Bytes after a complete zstd stream (its last frame) were ignored.",
}

impl WarnKind {
    /// Whether the warning is about what the input cannot show at all, with the way to see
    /// it (an export that leaves the blocked requests out, a trace without requests): its
    /// detail is printed without `--verbose`, since the records alone would read as "nothing
    /// was blocked".
    pub(crate) fn is_advice(self) -> bool {
        matches!(self, WarnKind::HarFailedLeftOut | WarnKind::TraceNoRequests)
    }
}

impl Ord for WarnKind {
    /// By identifier, so summaries list kinds alphabetically (as when kinds were strings).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id().cmp(other.id())
    }
}

impl PartialOrd for WarnKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for WarnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// The README's table of warning kinds (a test keeps it current).
pub fn markdown_table() -> String {
    let mut kinds = WarnKind::ALL.to_vec();
    kinds.sort();
    let mut s = String::from("| warning | what it means |\n|---|---|\n");
    for k in kinds {
        s.push_str(&format!("| `{}` | {} |\n", k.id(), k.doc()));
    }
    s
}

#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    counts: BTreeMap<WarnKind, u64>,
    details: BTreeMap<WarnKind, Vec<String>>,
    /// Detail lines ever kept (all kinds): a cheap "anything new?" for [`Diagnostics::new_details`].
    kept: usize,
}

/// How many detail lines of each kind a producer has handed on ([`Diagnostics::new_details`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Shipped {
    per_kind: BTreeMap<WarnKind, usize>,
    kept: usize,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one occurrence of `kind`; `detail` is only built while the kind still has room,
    /// so hot paths pay nothing for the message after the first few.
    pub(crate) fn warn(&mut self, kind: WarnKind, detail: impl FnOnce() -> String) {
        *self.counts.entry(kind).or_insert(0) += 1;
        let d = self.details.entry(kind).or_default();
        if d.len() < MAX_DETAILS_PER_KIND {
            d.push(detail());
            self.kept += 1;
        }
    }

    /// The detail lines kept since the last call (with `shipped` as its memory), without
    /// counts: a producer whose lines are merged elsewhere in a global order keeps one
    /// `Diagnostics` for its whole run (so its memory and work stay bounded however many
    /// warnings it counts) and hands on just these lines at the place they arose; its counts
    /// follow once, at the end ([`Diagnostics::counts_only`]). Only the first lines of each kind
    /// can be among the first lines of a merge, so nothing the merge would keep is lost.
    #[inline]
    pub(crate) fn new_details(&self, shipped: &mut Shipped) -> Option<Diagnostics> {
        // Checked in line: a parallel capture worker asks after every packet.
        if self.kept == shipped.kept {
            return None;
        }
        self.details_since(shipped)
    }

    #[inline(never)]
    fn details_since(&self, shipped: &mut Shipped) -> Option<Diagnostics> {
        shipped.kept = self.kept;
        let mut out = Diagnostics::new();
        for (kind, lines) in &self.details {
            let sent = shipped.per_kind.entry(*kind).or_insert(0);
            if let Some(new) = lines.get(*sent..).filter(|n| !n.is_empty()) {
                out.details.insert(*kind, new.to_vec());
                out.kept += new.len();
                *sent = lines.len();
            }
        }
        Some(out)
    }

    /// The counts alone (see [`Diagnostics::new_details`]).
    pub(crate) fn counts_only(&self) -> Diagnostics {
        Diagnostics {
            counts: self.counts.clone(),
            ..Diagnostics::default()
        }
    }

    /// Adds `n` occurrences without details.
    pub(crate) fn add(&mut self, kind: WarnKind, n: u64) {
        if n > 0 {
            *self.counts.entry(kind).or_insert(0) += n;
        }
    }

    pub fn count(&self, kind: WarnKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    pub fn counts(&self) -> impl Iterator<Item = (WarnKind, u64)> + '_ {
        self.counts.iter().map(|(k, v)| (*k, *v))
    }

    pub fn details(&self, kind: WarnKind) -> &[String] {
        self.details.get(&kind).map_or(&[], |v| v.as_slice())
    }

    pub(crate) fn merge(&mut self, other: Diagnostics) {
        for (k, v) in other.counts {
            *self.counts.entry(k).or_insert(0) += v;
        }
        for (k, v) in other.details {
            let d = self.details.entry(k).or_default();
            for line in v {
                if d.len() < MAX_DETAILS_PER_KIND {
                    d.push(line);
                    self.kept += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_and_details_capped() {
        let mut d = Diagnostics::new();
        for i in 0..50 {
            d.warn(WarnKind::TcpGap, || format!("gap {i}"));
        }
        assert_eq!(d.count(WarnKind::TcpGap), 50);
        assert_eq!(d.details(WarnKind::TcpGap).len(), MAX_DETAILS_PER_KIND);
        let mut e = Diagnostics::new();
        e.add(WarnKind::TcpGap, 5);
        d.merge(e);
        assert_eq!(d.count(WarnKind::TcpGap), 55);
    }

    /// Identifiers are unique, kebab-case and documented; the table lists each once, sorted.
    #[test]
    fn kinds_are_unique_documented_and_tabled() {
        let mut ids: Vec<&str> = WarnKind::ALL.iter().map(|k| k.id()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate warning identifier");
        for k in WarnKind::ALL {
            let id = k.id();
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
                "{id}"
            );
            assert!(
                k.doc().ends_with('.') && k.doc().len() > 20,
                "{id}: {}",
                k.doc()
            );
            assert_eq!(k.to_string(), id);
        }
        let table = markdown_table();
        let tabled: Vec<&str> = table
            .lines()
            .skip(2)
            .filter_map(|row| row.split('`').nth(1))
            .collect();
        assert_eq!(tabled, ids, "one row per kind, sorted by identifier");
    }

    /// Lines handed on as they arise plus counts at the end merge to what one `Diagnostics`
    /// fed directly holds.
    #[test]
    fn shipped_details_and_final_counts_equal_a_direct_merge() {
        let (mut direct, mut merged) = (Diagnostics::new(), Diagnostics::new());
        let (mut local, mut shipped) = (Diagnostics::new(), Shipped::default());
        for i in 0..100 {
            let kind = if i % 3 == 0 {
                WarnKind::TcpGap
            } else {
                WarnKind::TcpRetransmission
            };
            direct.warn(kind, || format!("{kind} {i}"));
            local.warn(kind, || format!("{kind} {i}"));
            if let Some(d) = local.new_details(&mut shipped) {
                merged.merge(d);
            }
            assert!(local.new_details(&mut shipped).is_none());
        }
        merged.merge(local.counts_only());
        assert_eq!(
            format!("{:?}", direct.counts),
            format!("{:?}", merged.counts)
        );
        assert_eq!(direct.details, merged.details);
    }
}
