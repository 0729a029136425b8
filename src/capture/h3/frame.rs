//! Step 5c (HTTP/3 frames): QUIC variable-length integers, the RFC 9114 frame reader of one
//! stream (fed its bytes in order, in any pieces) and SETTINGS payloads. DATA and unknown
//! payloads are counted down, never stored; HEADERS and SETTINGS are buffered up to a limit.

/// Frame types (RFC 9114 §7.2).
pub(crate) const DATA: u64 = 0x00;
pub(crate) const HEADERS: u64 = 0x01;
pub(crate) const SETTINGS: u64 = 0x04;

/// Setting identifiers (RFC 9204 §5).
pub(crate) const SETTINGS_QPACK_MAX_TABLE_CAPACITY: u64 = 0x01;
// Named with its sibling; a passive reader has no blocked-stream budget to keep.
#[allow(dead_code)]
pub(crate) const SETTINGS_QPACK_BLOCKED_STREAMS: u64 = 0x07;

/// Unidirectional stream types (RFC 9114 §6.2, RFC 9204 §4.2).
pub(crate) const CONTROL: u64 = 0x00;
// Named for completeness: push and decoder streams carry nothing read here.
#[allow(dead_code)]
pub(crate) const PUSH: u64 = 0x01;
pub(crate) const QPACK_ENCODER: u64 = 0x02;
#[allow(dead_code)]
pub(crate) const QPACK_DECODER: u64 = 0x03;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum H3Error {
    #[error("frame of type {0:#x} with {1} bytes is over the {2}-byte limit")]
    FrameTooLarge(u64, u64, usize),
    #[error("{0}")]
    Protocol(&'static str),
}

/// A QUIC variable-length integer (RFC 9000 §16): its value and length, `None` if `buf` ends
/// inside it.
pub(crate) fn varint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let len = 1usize << (first >> 6);
    let bytes = buf.get(..len)?;
    let v = bytes
        .iter()
        .skip(1)
        .fold(u64::from(first & 0x3f), |v, &b| (v << 8) | u64::from(b));
    Some((v, len))
}

/// What the reader hands over, frame by frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameEvent<'a> {
    /// A whole HEADERS payload: a QPACK field section.
    Headers(&'a [u8]),
    /// A DATA frame's length (its payload is skipped).
    Data(u64),
    /// A whole SETTINGS payload.
    Settings(&'a [u8]),
    /// Any other frame type (GOAWAY, PRIORITY_UPDATE, grease, unknown): skipped.
    Other(u64),
}

/// Splits one stream's bytes into frames. After an error the stream is not in step any more:
/// the caller drops it.
#[derive(Debug)]
pub(crate) struct FrameReader {
    max_frame: usize,
    /// The frame header read so far: two varints, 16 bytes at most.
    head: [u8; 16],
    head_len: usize,
    /// The type and length of the HEADERS or SETTINGS frame being buffered.
    cur: Option<(u64, usize)>,
    payload: Vec<u8>,
    /// Payload bytes still to skip (DATA and other frames).
    skip: u64,
}

impl FrameReader {
    pub(crate) fn new(max_frame: usize) -> Self {
        FrameReader {
            max_frame,
            head: [0; 16],
            head_len: 0,
            cur: None,
            payload: Vec::new(),
            skip: 0,
        }
    }

    /// Bytes held for a frame not yet whole.
    pub(crate) fn buffered(&self) -> usize {
        self.payload.capacity()
    }

    /// Feeds the stream's next bytes; `on` gets every frame as it completes (DATA and other
    /// frames as soon as their header is read). Stops at the first error.
    pub(crate) fn feed(
        &mut self,
        mut data: &[u8],
        on: &mut dyn FnMut(FrameEvent<'_>),
    ) -> Result<(), H3Error> {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip).map_or(data.len(), |s| s.min(data.len()));
                self.skip -= n as u64;
                data = &data[n..];
                continue;
            }
            if let Some((kind, len)) = self.cur {
                if self.payload.is_empty() && data.len() >= len {
                    // The whole payload is here: no copy.
                    let (p, rest) = data.split_at(len);
                    data = rest;
                    self.cur = None;
                    on(event(kind, p));
                    continue;
                }
                if self.payload.is_empty() {
                    self.payload.reserve_exact(len);
                }
                let n = (len - self.payload.len()).min(data.len());
                self.payload.extend_from_slice(&data[..n]);
                data = &data[n..];
                if self.payload.len() == len {
                    self.cur = None;
                    // Released rather than kept: a request stream rarely has a second one.
                    let p = std::mem::take(&mut self.payload);
                    on(event(kind, &p));
                }
                continue;
            }
            let need = head_need(&self.head[..self.head_len]);
            let n = (need - self.head_len).min(data.len());
            self.head[self.head_len..self.head_len + n].copy_from_slice(&data[..n]);
            self.head_len += n;
            data = &data[n..];
            if head_need(&self.head[..self.head_len]) > self.head_len {
                continue;
            }
            self.head_len = 0;
            // A complete header holds both varints (head_need said so).
            let Some((kind, tl)) = varint(&self.head) else {
                continue;
            };
            let Some((len, _)) = varint(&self.head[tl..]) else {
                continue;
            };
            self.start(kind, len, on)?;
        }
        Ok(())
    }

    /// Acts on a frame header.
    fn start(
        &mut self,
        kind: u64,
        len: u64,
        on: &mut dyn FnMut(FrameEvent<'_>),
    ) -> Result<(), H3Error> {
        match kind {
            DATA => {
                self.skip = len;
                on(FrameEvent::Data(len));
            }
            // RFC 9114 §7.2.8: HTTP/2 frame types without an HTTP/3 counterpart.
            0x02 | 0x06 | 0x08 | 0x09 => {
                return Err(H3Error::Protocol("HTTP/2 frame type on an HTTP/3 stream"))
            }
            HEADERS | SETTINGS => match usize::try_from(len) {
                Ok(0) => on(event(kind, &[])),
                Ok(n) if n <= self.max_frame => self.cur = Some((kind, n)),
                _ => return Err(H3Error::FrameTooLarge(kind, len, self.max_frame)),
            },
            _ => {
                self.skip = len;
                on(FrameEvent::Other(kind));
            }
        }
        Ok(())
    }
}

/// How many header bytes the frame header starting with `h` takes, as far as `h` tells.
fn head_need(h: &[u8]) -> usize {
    let Some(&first) = h.first() else {
        return 1;
    };
    let tl = 1usize << (first >> 6);
    match h.get(tl) {
        Some(&b) => tl + (1usize << (b >> 6)),
        None => tl + 1,
    }
}

fn event(kind: u64, p: &[u8]) -> FrameEvent<'_> {
    if kind == SETTINGS {
        FrameEvent::Settings(p)
    } else {
        FrameEvent::Headers(p)
    }
}

/// The (identifier, value) pairs of a SETTINGS payload (RFC 9114 §7.2.4).
pub(crate) fn settings(mut payload: &[u8]) -> Result<Vec<(u64, u64)>, H3Error> {
    let mut out = Vec::new();
    while !payload.is_empty() {
        let truncated = H3Error::Protocol("SETTINGS frame ends inside a setting");
        let (id, a) = varint(payload).ok_or(truncated)?;
        let (v, b) = varint(&payload[a..]).ok_or(truncated)?;
        payload = &payload[a + b..];
        // §7.2.4.1: HTTP/2's settings without an HTTP/3 counterpart are errors.
        if (0x02..=0x05).contains(&id) {
            return Err(H3Error::Protocol("HTTP/2 setting in SETTINGS"));
        }
        out.push((id, v));
    }
    let mut ids: Vec<u64> = out.iter().map(|&(id, _)| id).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(H3Error::Protocol("setting repeated in SETTINGS"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::any;

    use super::*;

    /// `n` as the shortest varint (or `len` bytes long when given).
    fn enc(n: u64, len: Option<usize>) -> Vec<u8> {
        let len = len.unwrap_or(match n {
            0..=0x3f => 1,
            0x40..=0x3fff => 2,
            0x4000..=0x3fff_ffff => 4,
            _ => 8,
        });
        let tag = len.trailing_zeros() as u8;
        let mut b = n.to_be_bytes()[8 - len..].to_vec();
        b[0] |= tag << 6;
        b
    }

    fn frame(kind: u64, payload: &[u8]) -> Vec<u8> {
        let mut b = enc(kind, None);
        b.extend(enc(payload.len() as u64, None));
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn varint_rfc9000_examples() {
        let cases: [(&[u8], u64, usize); 5] = [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c],
                151_288_809_941_952_652,
                8,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333, 4),
            (&[0x7b, 0xbd], 15_293, 2),
            (&[0x25], 37, 1),
            (&[0x40, 0x25], 37, 2),
        ];
        for (bytes, v, n) in cases {
            assert_eq!(varint(bytes), Some((v, n)), "{bytes:02x?}");
            // Extra bytes are not read; a cut one is too short.
            let mut more = bytes.to_vec();
            more.push(0xff);
            assert_eq!(varint(&more), Some((v, n)));
            assert_eq!(varint(&bytes[..n - 1]), None);
        }
    }

    /// The events of `bytes` fed in the given pieces, owned.
    fn events(r: &mut FrameReader, pieces: &[&[u8]]) -> Result<Vec<(char, u64, Vec<u8>)>, H3Error> {
        let mut got = Vec::new();
        for p in pieces {
            r.feed(p, &mut |e| {
                got.push(match e {
                    FrameEvent::Headers(p) => ('h', 0, p.to_vec()),
                    FrameEvent::Data(n) => ('d', n, vec![]),
                    FrameEvent::Settings(p) => ('s', 0, p.to_vec()),
                    FrameEvent::Other(t) => ('o', t, vec![]),
                })
            })?;
        }
        Ok(got)
    }

    fn stream() -> Vec<u8> {
        let mut b = frame(SETTINGS, &[0x01, 0x50, 0x00, 0x07, 0x10, 0x21, 0x00]);
        b.extend(frame(0x21 + 0x1f * 7, b"grease"));
        b.extend(frame(HEADERS, &[0u8; 70]));
        b.extend(frame(DATA, &[7u8; 100]));
        b.extend(frame(0xf0700, &[0, 1, 2, 3]));
        b.extend(frame(HEADERS, &[]));
        // A DATA frame with an over-long (8-byte) length, allowed by RFC 9000 §16.
        b.extend(enc(DATA, None));
        b.extend(enc(3, Some(8)));
        b.extend_from_slice(b"xyz");
        b.extend(frame(0x07, &[0x04])); // GOAWAY
        b.extend(frame(HEADERS, b"trailers"));
        b
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let b = stream();
        let whole = events(&mut FrameReader::new(100), &[&b]).unwrap();
        let kinds: String = whole.iter().map(|e| e.0).collect();
        assert_eq!(kinds, "sohdohdoh");
        assert_eq!(whole[2], ('h', 0, vec![0; 70]));
        assert_eq!(whole[3], ('d', 100, vec![]));
        assert_eq!(whole[4], ('o', 0xf0700, vec![]));
        assert_eq!(whole[6], ('d', 3, vec![]));
        for cut in 0..=b.len() {
            let (a, z) = b.split_at(cut);
            let got = events(&mut FrameReader::new(100), &[a, z]).unwrap();
            assert_eq!(got, whole, "cut at {cut}");
        }
        for step in 1..8 {
            let pieces: Vec<&[u8]> = b.chunks(step).collect();
            let got = events(&mut FrameReader::new(100), &pieces).unwrap();
            assert_eq!(got, whole, "step {step}");
        }
    }

    #[test]
    fn bad_frames_are_errors() {
        let cases: [(Vec<u8>, H3Error); 6] = [
            (
                frame(HEADERS, &[0; 101]),
                H3Error::FrameTooLarge(HEADERS, 101, 100),
            ),
            (
                frame(SETTINGS, &[0; 200]),
                H3Error::FrameTooLarge(SETTINGS, 200, 100),
            ),
            (
                frame(0x02, &[]),
                H3Error::Protocol("HTTP/2 frame type on an HTTP/3 stream"),
            ),
            (
                frame(0x06, &[0; 8]),
                H3Error::Protocol("HTTP/2 frame type on an HTTP/3 stream"),
            ),
            (
                frame(0x08, &[0; 4]),
                H3Error::Protocol("HTTP/2 frame type on an HTTP/3 stream"),
            ),
            (
                frame(0x09, &[]),
                H3Error::Protocol("HTTP/2 frame type on an HTTP/3 stream"),
            ),
        ];
        for (b, want) in cases {
            // The oversized frame is refused at its header, before any payload is held.
            let head = &b[..b.len().min(3)];
            let mut r = FrameReader::new(100);
            assert_eq!(
                events(&mut r, &[head, &b[head.len()..]]),
                Err(want),
                "{b:02x?}"
            );
            assert_eq!(r.buffered(), 0);
        }
        // A length beyond usize (on any target) is too large too.
        let mut b = enc(HEADERS, None);
        b.extend(enc((1 << 62) - 1, None));
        assert_eq!(
            events(&mut FrameReader::new(100), &[&b]),
            Err(H3Error::FrameTooLarge(HEADERS, (1 << 62) - 1, 100))
        );
    }

    #[test]
    fn data_is_counted_not_buffered() {
        let mut b = enc(DATA, None);
        b.extend(enc(1 << 20, None));
        b.extend(vec![0xab; 1 << 20]);
        b.extend(frame(HEADERS, b"trailer section"));
        let mut r = FrameReader::new(100);
        let mut got = Vec::new();
        for piece in b.chunks(1000) {
            r.feed(piece, &mut |e| {
                got.push(format!("{e:?}"));
            })
            .unwrap();
            assert!(r.buffered() <= 100, "{}", r.buffered());
        }
        assert_eq!(
            got,
            [
                "Data(1048576)",
                &format!("{:?}", FrameEvent::Headers(b"trailer section"))
            ]
        );
    }

    #[test]
    fn settings_pairs_and_errors() {
        type Case = (&'static [u8], &'static [(u64, u64)]);
        let ok: [Case; 3] = [
            (&[], &[]),
            (
                &[0x01, 0x50, 0x00, 0x07, 0x10, 0x06, 0x44, 0x00],
                &[(0x01, 4096), (0x07, 16), (0x06, 1024)],
            ),
            // Grease identifier (0x1f * N + 0x21) with an 8-byte value.
            (&[0x40, 0x21, 0xc0, 0, 0, 0, 0, 0, 0, 0x05], &[(0x21, 5)]),
        ];
        for (p, want) in ok {
            assert_eq!(settings(p).as_deref(), Ok(want), "{p:02x?}");
        }
        let bad: [(&[u8], &str); 4] = [
            (&[0x01], "SETTINGS frame ends inside a setting"),
            (&[0x01, 0x40], "SETTINGS frame ends inside a setting"),
            (&[0x04, 0x00], "HTTP/2 setting in SETTINGS"),
            (
                &[0x01, 0x00, 0x06, 0x01, 0x01, 0x05],
                "setting repeated in SETTINGS",
            ),
        ];
        for (p, msg) in bad {
            assert_eq!(settings(p), Err(H3Error::Protocol(msg)), "{p:02x?}");
        }
    }

    proptest::proptest! {
        /// Arbitrary bytes in arbitrary pieces: no panic, and no more buffered than the limit.
        #[test]
        fn arbitrary_bytes_never_panic(
            raw in proptest::collection::vec(any::<u8>(), 0..300),
            step in 1usize..40,
        ) {
            let mut r = FrameReader::new(64);
            for piece in raw.chunks(step) {
                if r.feed(piece, &mut |_| {}).is_err() {
                    break;
                }
                proptest::prop_assert!(r.buffered() <= 64);
            }
            let _ = settings(&raw);
        }
    }
}
