//! Step 5b (HTTP/2 frames): the RFC 9113 frame header and the per-direction frame splitter.
//! DATA payloads are counted, never stored; other payloads are buffered up to a limit.

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub(crate) const DATA: u8 = 0;
pub(crate) const HEADERS: u8 = 1;
pub(crate) const RST_STREAM: u8 = 3;
pub(crate) const SETTINGS: u8 = 4;
pub(crate) const PUSH_PROMISE: u8 = 5;
pub(crate) const GOAWAY: u8 = 7;
pub(crate) const CONTINUATION: u8 = 9;

/// RST_STREAM's error code for a stream the server did not process (RFC 9113 §8.7): a client
/// may send its request again.
pub(crate) const REFUSED_STREAM: u32 = 0x7;
/// RST_STREAM's error code asking for the request over HTTP/1.1 (RFC 9113 §7): Chromium sends
/// it again on an HTTP/1.1 connection (recorded, `tests/data/field/
/// chromium-h2-http11-required-retry.pcapng`).
pub(crate) const HTTP_1_1_REQUIRED: u32 = 0xd;

/// Whether a browser sends a request again after the server reset its stream with `code`.
pub(crate) fn resent_after_reset(code: u32) -> bool {
    matches!(code, REFUSED_STREAM | HTTP_1_1_REQUIRED)
}

pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const ACK: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;
pub(crate) const PADDED: u8 = 0x8;
pub(crate) const PRIORITY: u8 = 0x20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

impl Head {
    pub(crate) fn parse(b: &[u8; 9]) -> Head {
        Head {
            len: (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]),
            kind: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("bad connection preface")]
    Preface,
    #[error("frame of type {0} with {1} bytes is over the {2}-byte limit")]
    TooLarge(u8, usize, usize),
    #[error("padding longer than the frame")]
    Padding,
}

/// What the splitter hands over.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    /// A whole non-DATA frame.
    Frame(Head, &'a [u8]),
    /// A DATA frame's header (its payload is skipped).
    Data(Head),
}

/// Splits one direction's byte stream into frames.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    /// Preface bytes still expected (client direction only).
    preface_left: usize,
    head: [u8; 9],
    head_len: usize,
    cur: Option<Head>,
    payload: Vec<u8>,
    /// DATA payload bytes still to skip.
    skip: usize,
}

impl Splitter {
    pub(crate) fn new(expect_preface: bool) -> Self {
        Splitter {
            preface_left: if expect_preface { PREFACE.len() } else { 0 },
            ..Splitter::default()
        }
    }

    pub(crate) fn buffered(&self) -> usize {
        self.payload.capacity()
    }

    /// Feeds bytes; `on` gets every frame completed. Stops at the first error.
    pub(crate) fn feed(
        &mut self,
        mut data: &[u8],
        max_payload: usize,
        on: &mut dyn FnMut(Event<'_>) -> bool,
    ) -> Result<(), FrameError> {
        while !data.is_empty() {
            if self.preface_left > 0 {
                let at = PREFACE.len() - self.preface_left;
                let n = self.preface_left.min(data.len());
                if data.get(..n) != PREFACE.get(at..at + n) {
                    return Err(FrameError::Preface);
                }
                self.preface_left -= n;
                data = data.get(n..).unwrap_or(&[]);
                continue;
            }
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = data.get(n..).unwrap_or(&[]);
                continue;
            }
            let Some(head) = self.cur else {
                let n = (9 - self.head_len).min(data.len());
                self.head[self.head_len..self.head_len + n].copy_from_slice(&data[..n]);
                self.head_len += n;
                data = data.get(n..).unwrap_or(&[]);
                if self.head_len == 9 {
                    self.head_len = 0;
                    let h = Head::parse(&self.head);
                    if h.kind == DATA {
                        self.skip = h.len;
                        if !on(Event::Data(h)) {
                            return Ok(());
                        }
                    } else if h.len > max_payload {
                        return Err(FrameError::TooLarge(h.kind, h.len, max_payload));
                    } else if h.len == 0 {
                        if !on(Event::Frame(h, &[])) {
                            return Ok(());
                        }
                    } else {
                        self.cur = Some(h);
                    }
                }
                continue;
            };
            let want = head.len - self.payload.len();
            if self.payload.is_empty() && data.len() >= head.len {
                // The whole payload is here: no copy.
                let (p, rest) = data.split_at(head.len);
                data = rest;
                self.cur = None;
                if !on(Event::Frame(head, p)) {
                    return Ok(());
                }
                continue;
            }
            let n = want.min(data.len());
            self.payload.extend_from_slice(&data[..n]);
            data = data.get(n..).unwrap_or(&[]);
            if self.payload.len() == head.len {
                self.cur = None;
                let p = std::mem::take(&mut self.payload);
                let go = on(Event::Frame(head, &p));
                self.payload = p;
                self.payload.clear();
                if !go {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// A HEADERS or PUSH_PROMISE payload without padding and priority fields: (header block
/// fragment, promised stream for PUSH_PROMISE).
pub(crate) fn header_fragment<'a>(h: &Head, p: &'a [u8]) -> Result<(&'a [u8], u32), FrameError> {
    let mut p = p;
    let mut pad = 0usize;
    if h.flags & PADDED != 0 {
        let (&n, rest) = p.split_first().ok_or(FrameError::Padding)?;
        pad = usize::from(n);
        p = rest;
    }
    let mut promised = 0;
    if h.kind == HEADERS && h.flags & PRIORITY != 0 {
        p = p.get(5..).ok_or(FrameError::Padding)?;
    }
    if h.kind == PUSH_PROMISE {
        let id = p.get(..4).ok_or(FrameError::Padding)?;
        promised = u32::from_be_bytes([id[0], id[1], id[2], id[3]]) & 0x7fff_ffff;
        p = p.get(4..).ok_or(FrameError::Padding)?;
    }
    let end = p.len().checked_sub(pad).ok_or(FrameError::Padding)?;
    Ok((p.get(..end).ok_or(FrameError::Padding)?, promised))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::capture::tls::synth::frame;

    fn collect(bytes: &[u8], step: usize) -> Result<Vec<(u8, u32, Vec<u8>)>, FrameError> {
        let mut s = Splitter::new(true);
        let mut got = Vec::new();
        for c in bytes.chunks(step) {
            s.feed(c, 1000, &mut |e| {
                got.push(match e {
                    Event::Frame(h, p) => (h.kind, h.stream, p.to_vec()),
                    Event::Data(h) => (h.kind, h.stream, vec![h.len as u8]),
                });
                true
            })?;
        }
        Ok(got)
    }

    #[test]
    fn any_split_gives_the_same_frames() {
        let mut b = PREFACE.to_vec();
        b.extend(frame(SETTINGS, 0, 0, &[0, 1, 0, 0, 0x10, 0]));
        b.extend(frame(HEADERS, END_HEADERS, 1, b"abc"));
        b.extend(frame(DATA, END_STREAM, 1, &[9; 40]));
        b.extend(frame(SETTINGS, ACK, 0, &[]));
        let whole = collect(&b, b.len()).unwrap();
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[2], (DATA, 1, vec![40]));
        for step in 1..12 {
            assert_eq!(collect(&b, step).unwrap(), whole, "step {step}");
        }
    }

    #[test]
    fn bad_preface_and_oversized_frames_are_errors() {
        assert_eq!(
            collect(b"GET / HTTP/1.1\r\n", 100),
            Err(FrameError::Preface)
        );
        let mut b = PREFACE.to_vec();
        b.extend(frame(HEADERS, 0, 1, &[0; 1001]));
        assert_eq!(
            collect(&b, 100),
            Err(FrameError::TooLarge(HEADERS, 1001, 1000))
        );
    }

    #[test]
    fn padding_and_priority_are_stripped() {
        let h = Head {
            len: 0,
            kind: HEADERS,
            flags: PADDED | PRIORITY,
            stream: 1,
        };
        assert_eq!(
            header_fragment(&h, &[2, 0, 0, 0, 3, 16, b'x', b'y', 0, 0]),
            Ok((&b"xy"[..], 0))
        );
        assert_eq!(
            header_fragment(&h, &[9, 0, 0, 0, 3, 16, b'x']),
            Err(FrameError::Padding)
        );
        let pp = Head {
            kind: PUSH_PROMISE,
            flags: 0,
            ..h
        };
        assert_eq!(
            header_fragment(&pp, &[0, 0, 0, 2, b'z']),
            Ok((&b"z"[..], 2))
        );
    }
}
