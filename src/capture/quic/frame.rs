//! Step 3d (QUIC frames): the frames of a decrypted QUIC packet payload (RFC 9000 §19, plus
//! DATAGRAM, RFC 9221, and the ACK frequency extension's two frames), the variable-length
//! integers they are made of (RFC 9000 §16), and the errors of the QUIC layer.

/// What stops the reading of a QUIC datagram, packet or payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QuicError {
    #[error("truncated")]
    Truncated,
    #[error("unknown QUIC version {0:#010x}")]
    UnknownVersion(u32),
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// A frame type this reader does not know: its length cannot be known, so nothing after
    /// it in the packet can be read.
    #[error("unknown frame type {0:#x}")]
    UnknownFrame(u64),
    #[error("packet does not authenticate")]
    Authentication,
}

/// A cursor over bytes, reading QUIC's fields.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    /// Never past `buf`'s end: every advance is checked.
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The bytes read since position `start`.
    pub(crate) fn consumed_since(&self, start: usize) -> &'a [u8] {
        self.buf.get(start..self.pos).unwrap_or(&[])
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn u8(&mut self) -> Result<u8, QuicError> {
        let b = self.peek().ok_or(QuicError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], QuicError> {
        let end = self.pos.checked_add(n).ok_or(QuicError::Truncated)?;
        let b = self.buf.get(self.pos..end).ok_or(QuicError::Truncated)?;
        self.pos = end;
        Ok(b)
    }

    /// Bytes counted by a varint read before them (a length up to 2^62 from the wire).
    pub(crate) fn bytes_u64(&mut self, n: u64) -> Result<&'a [u8], QuicError> {
        self.bytes(usize::try_from(n).map_err(|_| QuicError::Truncated)?)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let b = &self.buf[self.pos..];
        self.pos = self.buf.len();
        b
    }

    /// A variable-length integer (RFC 9000 §16): the first byte's two high bits give its
    /// length, 1, 2, 4 or 8 bytes. Non-minimal encodings are accepted, as a reader should.
    pub(crate) fn varint(&mut self) -> Result<u64, QuicError> {
        let first = self.peek().ok_or(QuicError::Truncated)?;
        let len = 1usize << (first >> 6);
        let bytes = self.bytes(len)?;
        let mut v = u64::from(first & 0x3f);
        for b in &bytes[1..] {
            v = v << 8 | u64::from(*b);
        }
        Ok(v)
    }
}

/// The packet numbers an ACK frame acknowledges (RFC 9000 §19.3.1), read when iterated:
/// inclusive ranges, highest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AckRanges<'a> {
    largest: u64,
    first: u64,
    /// The Gap and ACK Range Length pairs after the first range (checked whole when read).
    rest: &'a [u8],
}

impl<'a> IntoIterator for AckRanges<'a> {
    type Item = (u64, u64);
    type IntoIter = AckIter<'a>;

    fn into_iter(self) -> AckIter<'a> {
        AckIter {
            r: Reader::new(self.rest),
            next: Some((self.largest, self.first)),
        }
    }
}

/// The ranges of [`AckRanges`], highest first.
pub(crate) struct AckIter<'a> {
    r: Reader<'a>,
    /// The next range's largest and length; `None` once done.
    next: Option<(u64, u64)>,
}

impl Iterator for AckIter<'_> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        let (hi, len) = self.next.take()?;
        // A range reaching below zero ends the list (the frame is bogus from there).
        let lo = hi.checked_sub(len)?;
        if let (Ok(gap), Ok(len)) = (self.r.varint(), self.r.varint()) {
            self.next = lo
                .checked_sub(gap)
                .and_then(|v| v.checked_sub(2))
                .map(|hi| (hi, len));
        }
        Some((lo, hi))
    }
}

/// One frame. Fields that nothing downstream reads are skipped, not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A run of PADDING frames (each one zero byte), as one.
    Padding,
    Ping,
    /// ACK or ACK_ECN: the packet numbers it acknowledges ([`AckRanges`]).
    Ack(AckRanges<'a>),
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    Stream {
        id: u64,
        offset: u64,
        data: &'a [u8],
        fin: bool,
    },
    ResetStream {
        id: u64,
        final_size: u64,
    },
    StopSending {
        id: u64,
    },
    /// CONNECTION_CLOSE of either kind (transport 0x1c, application 0x1d).
    ConnectionClose,
    HandshakeDone,
    NewConnectionId {
        seq: u64,
        cid: &'a [u8],
    },
    /// Any other frame known, by type: NEW_TOKEN, flow control, RETIRE_CONNECTION_ID,
    /// PATH_CHALLENGE/RESPONSE, DATAGRAM, ACK_FREQUENCY, IMMEDIATE_ACK.
    Other(u64),
}

/// The frames of a packet's plaintext payload, in order; after an error item (an unknown
/// frame type, a frame cut short) nothing more.
pub(crate) fn frames(payload: &[u8]) -> impl Iterator<Item = Result<Frame<'_>, QuicError>> {
    let mut r = Reader::new(payload);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || r.remaining() == 0 {
            return None;
        }
        let f = frame(&mut r);
        failed = f.is_err();
        Some(f)
    })
}

fn frame<'a>(r: &mut Reader<'a>) -> Result<Frame<'a>, QuicError> {
    let t = r.varint()?;
    // Fields read only to be stepped over.
    let skip = |r: &mut Reader<'a>, n: usize| -> Result<(), QuicError> {
        for _ in 0..n {
            r.varint()?;
        }
        Ok(())
    };
    Ok(match t {
        0x00 => {
            while r.peek() == Some(0) {
                r.pos += 1;
            }
            Frame::Padding
        }
        0x01 => Frame::Ping,
        0x02 | 0x03 => {
            // Largest Acknowledged, ACK Delay, then the range count.
            let largest = r.varint()?;
            r.varint()?;
            let count = r.varint()?;
            let first = r.varint()?;
            // A Gap and a Length per further range; each reads at least one byte, so a
            // bogus count ends at the payload's end.
            let start = r.pos();
            for _ in 0..count {
                skip(r, 2)?;
            }
            let ranges = AckRanges {
                largest,
                first,
                rest: r.consumed_since(start),
            };
            if t == 0x03 {
                // ECT0, ECT1, ECN-CE counts.
                skip(r, 3)?;
            }
            Frame::Ack(ranges)
        }
        0x04 => {
            let id = r.varint()?;
            r.varint()?; // application error code
            Frame::ResetStream {
                id,
                final_size: r.varint()?,
            }
        }
        0x05 => {
            let id = r.varint()?;
            r.varint()?;
            Frame::StopSending { id }
        }
        0x06 => {
            let offset = r.varint()?;
            let len = r.varint()?;
            Frame::Crypto {
                offset,
                data: r.bytes_u64(len)?,
            }
        }
        0x07 => {
            let len = r.varint()?;
            r.bytes_u64(len)?;
            Frame::Other(t)
        }
        0x08..=0x0f => {
            let id = r.varint()?;
            let offset = if t & 0x04 != 0 { r.varint()? } else { 0 };
            // Without the LEN bit the data runs to the end of the packet.
            let data = if t & 0x02 != 0 {
                let len = r.varint()?;
                r.bytes_u64(len)?
            } else {
                r.rest()
            };
            Frame::Stream {
                id,
                offset,
                data,
                fin: t & 0x01 != 0,
            }
        }
        // MAX_DATA, MAX_STREAMS (2), DATA_BLOCKED, STREAMS_BLOCKED (2), RETIRE_CONNECTION_ID.
        0x10 | 0x12 | 0x13 | 0x14 | 0x16 | 0x17 | 0x19 => {
            skip(r, 1)?;
            Frame::Other(t)
        }
        // MAX_STREAM_DATA, STREAM_DATA_BLOCKED.
        0x11 | 0x15 => {
            skip(r, 2)?;
            Frame::Other(t)
        }
        0x18 => {
            let seq = r.varint()?;
            r.varint()?; // Retire Prior To
            let len = r.u8()?;
            if !(1..=20).contains(&len) {
                return Err(QuicError::Malformed("NEW_CONNECTION_ID length"));
            }
            let cid = r.bytes(usize::from(len))?;
            r.bytes(16)?; // Stateless Reset Token
            Frame::NewConnectionId { seq, cid }
        }
        // PATH_CHALLENGE, PATH_RESPONSE.
        0x1a | 0x1b => {
            r.bytes(8)?;
            Frame::Other(t)
        }
        0x1c | 0x1d => {
            r.varint()?; // error code
            if t == 0x1c {
                r.varint()?; // the frame type that caused it
            }
            let len = r.varint()?;
            r.bytes_u64(len)?;
            Frame::ConnectionClose
        }
        0x1e => Frame::HandshakeDone,
        // IMMEDIATE_ACK (draft-ietf-quic-ack-frequency): no fields.
        0x1f => Frame::Other(t),
        // DATAGRAM (RFC 9221): without the length bit, to the end of the packet.
        0x30 => {
            r.rest();
            Frame::Other(t)
        }
        0x31 => {
            let len = r.varint()?;
            r.bytes_u64(len)?;
            Frame::Other(t)
        }
        // ACK_FREQUENCY: Sequence Number, Ack-Eliciting Threshold, Requested Max Ack Delay,
        // Reordering Threshold. Early drafts (QUICHE's) end with a one-byte Ignore Order of
        // 0 or 1, which reads the same as a one-byte varint.
        0xaf => {
            skip(r, 4)?;
            Frame::Other(t)
        }
        _ => return Err(QuicError::UnknownFrame(t)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::tls::keylog::unhex;
    use proptest::prelude::*;

    /// RFC 9000 §A.1's sample varints, and truncations of each.
    #[test]
    fn varints() {
        let cases: [(&str, u64); 5] = [
            ("c2197c5eff14e88c", 151_288_809_941_952_652),
            ("9d7f3e7d", 494_878_333),
            ("7bbd", 15_293),
            ("25", 37),
            ("4025", 37),
        ];
        for (hex, want) in cases {
            let b = unhex(hex);
            let mut r = Reader::new(&b);
            assert_eq!(r.varint(), Ok(want), "{hex}");
            assert_eq!(r.remaining(), 0);
            let mut cut = Reader::new(&b[..b.len() - 1]);
            assert_eq!(cut.varint(), Err(QuicError::Truncated), "{hex} cut");
        }
    }

    fn all(payload: &[u8]) -> Vec<Result<Frame<'_>, QuicError>> {
        frames(payload).collect()
    }

    /// RFC 9000 §19.3.1: ranges from the largest down, each gap two less than it says.
    #[test]
    fn ack_ranges_read_highest_first() {
        let cases: &[(&str, &[(u64, u64)])] = &[
            ("02 05 00 00 02", &[(3, 5)]),
            ("02 0a 00 01 02 01 03", &[(8, 10), (2, 5)]),
            // A gap below zero ends the list; a range below zero too.
            ("02 05 00 01 02 09 00", &[(3, 5)]),
            ("02 05 00 00 09", &[]),
            (
                "02 14 00 02 00 00 00 01 01",
                &[(20, 20), (18, 18), (14, 15)],
            ),
        ];
        for (hex, want) in cases {
            let bytes = unhex(&hex.replace(' ', ""));
            let Some(Ok(Frame::Ack(r))) = frames(&bytes).next() else {
                panic!("{hex}: not an ACK");
            };
            assert_eq!(r.into_iter().collect::<Vec<_>>(), *want, "{hex}");
        }
    }

    /// Each frame type, alone and then followed by a PING (which shows that its length was
    /// read right); each cut one byte short is truncated.
    #[test]
    fn every_frame_type() {
        use Frame::*;
        #[rustfmt::skip]
        let cases: &[(&str, Frame)] = &[
            ("01", Ping),
            ("02 4005 00 01 02 03 04", Ack(AckRanges { largest: 5, first: 2, rest: &[3, 4] })),
            ("03 05 00 00 02 01 02 03", Ack(AckRanges { largest: 5, first: 2, rest: &[] })),
            ("04 04 01 4100", ResetStream { id: 4, final_size: 0x100 }),
            ("05 08 02", StopSending { id: 8 }),
            ("06 00 03 616263", Crypto { offset: 0, data: b"abc" }),
            ("07 02 aabb", Other(0x07)),
            ("0a 00 02 6869", Stream { id: 0, offset: 0, data: b"hi", fin: false }),
            ("0f 04 4010 01 21", Stream { id: 4, offset: 16, data: b"!", fin: true }),
            ("10 00", Other(0x10)),
            ("11 00 00", Other(0x11)),
            ("12 24", Other(0x12)),
            ("13 24", Other(0x13)),
            ("14 00", Other(0x14)),
            ("15 00 00", Other(0x15)),
            ("16 00", Other(0x16)),
            ("17 00", Other(0x17)),
            ("18 01 00 04 01020304 000102030405060708090a0b0c0d0e0f",
             NewConnectionId { seq: 1, cid: &[1, 2, 3, 4] }),
            ("19 00", Other(0x19)),
            ("1a 0001020304050607", Other(0x1a)),
            ("1b 0001020304050607", Other(0x1b)),
            ("1c 0a 06 02 6f6b", ConnectionClose),
            ("1d 00 00", ConnectionClose),
            ("1e", HandshakeDone),
            ("1f", Other(0x1f)),
            ("31 02 aabb", Other(0x31)),
            ("40af 01 02 4019 00", Other(0xaf)),
        ];
        for (hex, want) in cases {
            let b = unhex(hex);
            assert_eq!(all(&b), [Ok(*want)], "{hex}");
            let mut then_ping = b.clone();
            then_ping.push(0x01);
            assert_eq!(all(&then_ping), [Ok(*want), Ok(Ping)], "{hex} + PING");
            if b.len() > 1 {
                assert_eq!(
                    all(&b[..b.len() - 1]),
                    [Err(QuicError::Truncated)],
                    "{hex} cut"
                );
            }
        }
    }

    /// Frames that run to the end of the packet, PADDING runs, and what ends the reading.
    #[test]
    fn to_the_end_runs_and_errors() {
        use Frame::*;
        #[rustfmt::skip]
        let cases: &[(&str, &[Result<Frame, QuicError>])] = &[
            ("08 00 6869 01", &[Ok(Stream { id: 0, offset: 0, data: b"hi\x01", fin: false })]),
            ("30 aabb 01", &[Ok(Other(0x30))]),
            ("00 00 00 01 00", &[Ok(Padding), Ok(Ping), Ok(Padding)]),
            ("01 21 01", &[Ok(Ping), Err(QuicError::UnknownFrame(0x21))]),
            ("06 00 05 6162", &[Err(QuicError::Truncated)]),
            ("18 01 00 15 00", &[Err(QuicError::Malformed("NEW_CONNECTION_ID length"))]),
            ("02 00 00 ffffffffffffffff", &[Err(QuicError::Truncated)]), // bogus range count
            ("", &[]),
        ];
        for (hex, want) in cases {
            let b = unhex(hex);
            assert_eq!(all(&b), *want, "{hex}");
        }
    }

    proptest! {
        /// Any bytes: no panic, at most one error and it comes last, and every slice handed
        /// out lies within the payload.
        #[test]
        fn frames_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..600)) {
            let items: Vec<_> = frames(&payload).collect();
            for (i, f) in items.iter().enumerate() {
                match f {
                    Err(_) => prop_assert_eq!(i, items.len() - 1),
                    Ok(Frame::Crypto { data, .. } | Frame::Stream { data, .. }) => {
                        prop_assert!(data.len() <= payload.len())
                    }
                    Ok(_) => {}
                }
            }
        }
    }
}
