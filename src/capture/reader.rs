//! Step 1 (reader): pcap and pcapng records from a byte stream, one at a time, with the link
//! type, capture time, packet number and file offset of each. Streaming: the input is read in
//! blocks of [`BLOCK_BYTES`] (a block grows only for a record that does not fit, up to
//! [`MAX_RECORD_BYTES`]), never the whole file; records are parsed in place.
//!
//! Errors (truncation, damage, unsupported link type) are returned only after every packet
//! before them was handed to the caller, and name that packet's number and byte offset.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use pcap_parser::nom::{self, IResult};
use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
    LegacyPcapBlock,
};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::PcapError;

use super::decode::LinkType;
use super::{CaptureError, CaptureOptions};
use crate::model::Micros;

/// Largest record (pcap frame or pcapng block) accepted; a block grows up to this.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// One packet record, borrowed from the reader's buffer.
#[derive(Debug)]
pub struct RawPacket<'a> {
    /// 1-based, counting packet records only (as Wireshark numbers frames).
    pub number: u64,
    /// Byte offset of the record in the (decompressed) stream.
    pub offset: u64,
    /// Capture time, microseconds since the epoch.
    pub ts: Micros,
    /// `None` for a link type that cannot be decoded (only when the options say to skip them).
    pub link: Option<LinkType>,
    /// The raw `LINKTYPE_` value when `link` is `None`.
    pub dlt: i32,
    /// Captured bytes.
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
    /// Offset of `data` in the reader's current block (see [`PacketReader::for_each_block`]).
    pub at: usize,
}

/// Receives packets and the blocks they were read from ([`PacketReader::for_each_block`]).
pub trait BlockSink {
    fn packet(&mut self, p: &RawPacket<'_>);
    /// Takes a finished block (every packet in it went to [`BlockSink::packet`] already) and
    /// returns a spare buffer (any size, contents ignored) to read a later block into.
    fn block(&mut self, block: Vec<u8>) -> Vec<u8>;
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    /// `Err(dlt)` for a link type we cannot decode.
    link: Result<LinkType, i32>,
    /// Timestamp units per second.
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// Reads until the buffer is full or the input ends, and keeps the I/O error that
/// `pcap-parser` would otherwise reduce to `ReadError`.
struct FullRead<R> {
    inner: R,
    error: Arc<Mutex<Option<io::Error>>>,
}

impl<R: Read> Read for FullRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            let Some(space) = buf.get_mut(filled..) else {
                break;
            };
            match self.inner.read(space) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if filled > 0 {
                        // Hand over what we have; the error comes back on the next read.
                        break;
                    }
                    let kind = e.kind();
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(e);
                    }
                    return Err(io::Error::from(kind));
                }
            }
        }
        Ok(filled)
    }
}

/// Bytes read per block: large enough that syscalls and per-block work are negligible, small
/// enough that a parallel reader can keep a few blocks in flight in little memory, and twice
/// the input's read buffer (`input::READ_BUFFER`), so that reads go straight from the kernel
/// into the block instead of through that buffer.
pub const BLOCK_BYTES: usize = 2 << 20;

type LegacyParse = fn(&[u8]) -> IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

#[derive(Clone, Copy)]
enum Kind {
    Legacy(LegacyParse),
    Ng { big_endian: bool },
}

/// A pcap or pcapng stream, framed in large blocks: the input is read straight into a block
/// buffer (one copy, from the kernel) and records are parsed in place with `pcap-parser`'s
/// slice parsers; a record cut by the end of a block is moved to the front of the next one.
/// [`PacketReader::for_each_block`] hands whole blocks over, so a parallel reader can share
/// them with its workers instead of copying packets.
pub struct PacketReader {
    input: FullRead<Box<dyn Read + Send>>,
    io_error: Arc<Mutex<Option<io::Error>>>,
    /// The current block: `buf[pos..end]` is read but not parsed yet.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// A read returned 0: the input has ended.
    exhausted: bool,
    kind: Kind,
    /// Packets handed out so far.
    number: u64,
    /// pcapng: the current section's interfaces; pcap: one entry from the file header.
    interfaces: Vec<Interface>,
    max_record: usize,
    skip_unknown_links: bool,
    block_bytes: usize,
}

/// nom's result of a header parse as the `PcapError` the error mapping expects.
fn nom_error<'a, T>(
    r: IResult<&'a [u8], T, PcapError<&'a [u8]>>,
) -> Result<T, PcapError<&'a [u8]>> {
    match r {
        Ok((_, t)) => Ok(t),
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e),
        Err(nom::Err::Incomplete(_)) => Err(PcapError::Incomplete(0)),
    }
}

impl PacketReader {
    /// Checks the magic number and the file header.
    pub fn new<R: Read + Send + 'static>(
        reader: R,
        opts: &CaptureOptions,
    ) -> Result<PacketReader, CaptureError> {
        Self::with_block_bytes(reader, opts, BLOCK_BYTES)
    }

    /// [`PacketReader::new`] with another block size (tests use tiny ones to cut records).
    pub fn with_block_bytes<R: Read + Send + 'static>(
        reader: R,
        opts: &CaptureOptions,
        block_bytes: usize,
    ) -> Result<PacketReader, CaptureError> {
        let io_error = Arc::new(Mutex::new(None));
        let block_bytes = block_bytes.max(64);
        let mut r = PacketReader {
            input: FullRead {
                inner: Box::new(reader),
                error: io_error.clone(),
            },
            io_error,
            buf: vec![0; block_bytes],
            pos: 0,
            end: 0,
            base: 0,
            exhausted: false,
            kind: Kind::Ng { big_endian: false },
            number: 0,
            interfaces: Vec::new(),
            // As with the streaming window this replaces: never below 64 bytes.
            max_record: opts.max_record_bytes.max(64),
            skip_unknown_links: opts.skip_unknown_link_types,
            block_bytes,
        };
        r.fill()?;
        let data = r.buf.get(..r.end).unwrap_or(&[]);
        let got = data.len().min(4);
        let head = data.get(..got).unwrap_or(&[]);
        match head {
            [] => return Err(CaptureError::Empty),
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                // Only checked here; the block is parsed again as the first record. A section
                // header longer than the block (options) makes the block grow.
                loop {
                    let data = r.buf.get(r.pos..r.end).unwrap_or(&[]);
                    match parse_sectionheaderblock(data) {
                        Err(nom::Err::Incomplete(n)) if !r.exhausted => {
                            let Ok(Some(need)) =
                                Self::stop(nom::Err::Incomplete(n), data.len(), false, 0, 0)
                            else {
                                break;
                            };
                            if need >= r.max_record {
                                break;
                            }
                            r.swap_in(need, None);
                            r.fill()?;
                        }
                        other => {
                            nom_error(other).map_err(|e| {
                                header_error(&e, &r.io_error, "pcapng section header")
                            })?;
                            break;
                        }
                    }
                }
                let data = r.buf.get(r.pos..r.end).unwrap_or(&[]);
                nom_error(parse_sectionheaderblock(data))
                    .map_err(|e| header_error(&e, &r.io_error, "pcapng section header"))?;
            }
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x34, 0xcd, 0xb2, 0xa1] => {
                let (rest, h) = match parse_pcap_header(data) {
                    Ok(x) => x,
                    Err(e) => {
                        let e = nom_error::<()>(Err(e)).err().unwrap_or(PcapError::Eof);
                        return Err(header_error(&e, &r.io_error, "pcap file header"));
                    }
                };
                let parse: LegacyParse = if h.is_modified_format() {
                    parse_pcap_frame_modified
                } else if h.is_bigendian() {
                    parse_pcap_frame_be
                } else {
                    parse_pcap_frame
                };
                let units = if h.is_nanosecond_precision() {
                    1_000_000_000
                } else {
                    1_000_000
                };
                r.interfaces.push(Interface {
                    link: LinkType::from_dlt(h.network.0).ok_or(h.network.0),
                    units,
                    offset_secs: 0,
                });
                r.kind = Kind::Legacy(parse);
                r.pos = data.len() - rest.len();
            }
            _ if got < 4 && is_magic_prefix(head) => {
                return Err(CaptureError::TruncatedHeader {
                    what: "file header",
                    len: got as u64,
                })
            }
            other => return Err(CaptureError::NotACapture(hex_prefix(other))),
        }
        Ok(r)
    }

    /// Packets handed out so far.
    pub fn packets(&self) -> u64 {
        self.number
    }

    /// Calls `f` for every packet record, in file order. Returns the first error after all
    /// packets before it were passed to `f`; packets on an unsupported link type are an error
    /// unless the options say to skip them (then they come with `link: None`).
    pub fn for_each(&mut self, mut f: impl FnMut(&RawPacket<'_>)) -> Result<(), CaptureError> {
        loop {
            match self.parse_buffered(&mut f)? {
                None => return Ok(()),
                Some(need) => {
                    self.check_size(need)?;
                    self.swap_in(need, None);
                    self.fill()?;
                }
            };
        }
    }

    /// [`PacketReader::for_each`] that also hands over every block once all its packets were
    /// passed to the sink (`RawPacket::at` is the packet's offset in that block). The last
    /// block is handed over before the result (an error included) is returned.
    pub fn for_each_block(&mut self, sink: &mut impl BlockSink) -> Result<(), CaptureError> {
        let mut spare = Vec::new();
        let result = loop {
            let step = match self.parse_buffered(&mut |p: &RawPacket<'_>| sink.packet(p)) {
                Ok(Some(need)) => self.check_size(need).map(|()| need),
                Ok(None) => break Ok(()),
                Err(e) => Err(e),
            };
            match step {
                Ok(need) => {
                    let old = self.swap_in(need, Some(std::mem::take(&mut spare)));
                    spare = sink.block(old);
                    // On a read error the new block holds only the unparsed tail: no packet
                    // refers to it, so nothing is left to hand over.
                    if let Err(e) = self.fill() {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        drop(sink.block(std::mem::take(&mut self.buf)));
        result
    }

    /// Parses every complete record in the buffer, passing packets to `f`. Returns `None` at
    /// the end of the input, or the number of bytes (from the first unparsed one) the next
    /// record needs.
    fn parse_buffered(
        &mut self,
        f: &mut impl FnMut(&RawPacket<'_>),
    ) -> Result<Option<usize>, CaptureError> {
        let PacketReader {
            buf,
            pos,
            end,
            base,
            exhausted,
            kind,
            number,
            interfaces,
            skip_unknown_links,
            max_record,
            ..
        } = self;
        loop {
            let data = buf.get(*pos..*end).unwrap_or(&[]);
            if data.is_empty() && *exhausted {
                return Ok(None);
            }
            let offset = *base + *pos as u64;
            let (consumed, packet) = match *kind {
                Kind::Legacy(parse) => match parse(data) {
                    Ok((rest, b)) => {
                        *number += 1;
                        let (units, link) = match interfaces.first() {
                            Some(i) => (i.units, i.link),
                            None => (1_000_000, Err(-1)),
                        };
                        let ts =
                            to_micros(u64::from(b.ts_sec) * units + u64::from(b.ts_usec), units, 0);
                        (data.len() - rest.len(), Some((link, ts, b.data, b.origlen)))
                    }
                    Err(e) => return Self::stop(e, data.len(), *exhausted, *number, offset),
                },
                Kind::Ng { big_endian } => {
                    let parsed = if big_endian {
                        parse_block_be(data)
                    } else {
                        parse_block_le(data)
                    };
                    let (rest, block) = match parsed {
                        Ok(x) => x,
                        Err(e) => return Self::stop(e, data.len(), *exhausted, *number, offset),
                    };
                    let packet = match block {
                        Block::SectionHeader(shb) => {
                            *kind = Kind::Ng {
                                big_endian: shb.big_endian(),
                            };
                            interfaces.clear();
                            None
                        }
                        Block::InterfaceDescription(idb) => {
                            interfaces.push(Interface {
                                link: LinkType::from_dlt(idb.linktype.0).ok_or(idb.linktype.0),
                                units: ts_units(idb.if_tsresol),
                                offset_secs: idb.if_tsoffset,
                            });
                            None
                        }
                        Block::EnhancedPacket(epb) => {
                            *number += 1;
                            let Some(iface) = interfaces.get(epb.if_id as usize).copied() else {
                                return Err(CaptureError::Damaged {
                                    packet: *number,
                                    offset,
                                    detail: format!(
                                        "packet names interface {} but the section has {}",
                                        epb.if_id,
                                        interfaces.len()
                                    ),
                                });
                            };
                            let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let ts = to_micros(raw, iface.units, iface.offset_secs);
                            // `caplen` may be larger than the block really holds: clamp.
                            let d = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
                            Some((iface.link, ts, d, epb.origlen))
                        }
                        Block::SimplePacket(spb) => {
                            *number += 1;
                            // Simple packet blocks belong to interface 0 and carry no time.
                            let Some(iface) = interfaces.first().copied() else {
                                return Err(CaptureError::Damaged {
                                    packet: *number,
                                    offset,
                                    detail: "simple packet block before any interface".into(),
                                });
                            };
                            let d = spb.data.get(..spb.origlen as usize).unwrap_or(spb.data);
                            Some((iface.link, 0, d, spb.origlen))
                        }
                        _ => None,
                    };
                    (data.len() - rest.len(), packet)
                }
            };
            // A record that fits in the block is bound by the limit too (`check_size` only
            // sees records that cross a block's end).
            if consumed > *max_record {
                return Err(CaptureError::RecordTooLarge {
                    packet: *number + u64::from(packet.is_none()),
                    offset,
                    limit: *max_record,
                });
            }
            // Every packet, whichever format framed it, is checked and handed on the same way.
            if let Some((link, ts, d, orig_len)) = packet {
                if let (Err(dlt), false) = (link, *skip_unknown_links) {
                    return Err(CaptureError::UnsupportedLinkType {
                        linktype: dlt,
                        packet: *number,
                        offset,
                    });
                }
                f(&RawPacket {
                    number: *number,
                    offset,
                    ts,
                    link: link.ok(),
                    dlt: link.map_or_else(|d| d, |_| 0),
                    data: d,
                    orig_len,
                    at: *pos + offset_in(data, d),
                });
            }
            *pos += consumed;
        }
    }

    /// Why parsing stopped at a record that did not parse: more bytes needed (`Ok(Some)`),
    /// truncation at the end of the input, or damage.
    fn stop(
        e: nom::Err<PcapError<&[u8]>>,
        have: usize,
        exhausted: bool,
        number: u64,
        offset: u64,
    ) -> Result<Option<usize>, CaptureError> {
        match e {
            nom::Err::Incomplete(_) if exhausted => Err(CaptureError::Truncated {
                packet: number + 1,
                offset,
            }),
            nom::Err::Incomplete(n) => {
                let more = match n {
                    nom::Needed::Size(n) => n.get(),
                    nom::Needed::Unknown => 1,
                };
                Ok(Some(have.saturating_add(more)))
            }
            nom::Err::Error(e) | nom::Err::Failure(e) => Err(CaptureError::Damaged {
                packet: number + 1,
                offset,
                detail: damage_text(&e),
            }),
        }
    }

    /// A record of `need` bytes that the input holds at least `max_record` bytes of is too
    /// large; one the input ends inside is a truncation (found when the buffer is parsed again).
    fn check_size(&self, need: usize) -> Result<(), CaptureError> {
        if need >= self.max_record && self.end - self.pos >= self.max_record {
            return Err(CaptureError::RecordTooLarge {
                packet: self.number + 1,
                offset: self.base + self.pos as u64,
                limit: self.max_record,
            });
        }
        Ok(())
    }

    /// Makes room for a record of `need` bytes: moves the unparsed tail to the front of `fresh`
    /// when given (returning the replaced block), else of the same buffer. A buffer grows at
    /// most twofold per call, so a bogus length in a short file costs no large allocation
    /// before the input's end shows it was a truncation. `fill` reads the rest.
    fn swap_in(&mut self, need: usize, fresh: Option<Vec<u8>>) -> Vec<u8> {
        let have = self.end - self.pos;
        let size = need
            .min(self.max_record)
            .min(self.buf.len().max(self.block_bytes).saturating_mul(2))
            .max(self.block_bytes)
            .max(have);
        let tail = self.pos..self.end;
        let old = match fresh {
            Some(mut next) => {
                // A recycled block of the right size is used as it is: zeroing it again for
                // every block was a visible share of the reading thread (bytes past `end` are
                // never parsed).
                if next.len() != size {
                    next.clear();
                    next.resize(size, 0);
                }
                if let (Some(dst), Some(src)) = (next.get_mut(..have), self.buf.get(tail)) {
                    dst.copy_from_slice(src);
                }
                std::mem::replace(&mut self.buf, next)
            }
            None => {
                self.buf.copy_within(tail, 0);
                self.buf.resize(size, 0);
                Vec::new()
            }
        };
        self.base += self.pos as u64;
        self.pos = 0;
        self.end = have;
        old
    }

    /// Reads until the buffer is full or the input ends.
    fn fill(&mut self) -> Result<(), CaptureError> {
        while !self.exhausted {
            let Some(space) = self.buf.get_mut(self.end..) else {
                break;
            };
            if space.is_empty() {
                break;
            }
            match self.input.read(space) {
                Ok(0) => self.exhausted = true,
                Ok(n) => self.end += n,
                Err(_) => return Err(take_io_error(&self.io_error, self.base + self.pos as u64)),
            }
        }
        Ok(())
    }
}

/// Where `part` starts in `whole`. The record parsers return sub-slices of their input, so this
/// is exact; it saturates only so that the arithmetic itself can never fail.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Units per second for a pcapng `if_tsresol` value (bit 7: power of two, else of ten).
fn ts_units(tsresol: u8) -> u64 {
    let exp = u32::from(tsresol & 0x7f);
    let units = if tsresol & 0x80 != 0 {
        1u64.checked_shl(exp)
    } else {
        10u64.checked_pow(exp)
    };
    match units {
        Some(u) if u > 0 => u,
        _ => 1_000_000,
    }
}

/// `raw` units (of `units` per second) plus `offset_secs`, as microseconds, saturating.
fn to_micros(raw: u64, units: u64, offset_secs: i64) -> Micros {
    let units = units.max(1);
    let us = u128::from(raw) * 1_000_000 / u128::from(units);
    let us = i64::try_from(us).unwrap_or(i64::MAX);
    us.saturating_add(offset_secs.saturating_mul(1_000_000))
}

fn take_io_error(slot: &Arc<Mutex<Option<io::Error>>>, offset: u64) -> CaptureError {
    let source = slot
        .lock()
        .ok()
        .and_then(|mut s| s.take())
        .unwrap_or_else(|| io::Error::other("read failed"));
    CaptureError::Read { offset, source }
}

fn header_error(
    e: &PcapError<&[u8]>,
    io_error: &Arc<Mutex<Option<io::Error>>>,
    what: &'static str,
) -> CaptureError {
    match e {
        PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
            CaptureError::TruncatedHeader { what, len: 0 }
        }
        PcapError::ReadError => take_io_error(io_error, 0),
        other => CaptureError::Damaged {
            packet: 1,
            offset: 0,
            detail: format!("bad {what}: {}", damage_text(other)),
        },
    }
}

fn damage_text(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("unparsable block ({kind:?})")
        }
        PcapError::HeaderNotRecognized => "header not recognized".into(),
        other => format!("{other:?}"),
    }
}

fn is_magic_prefix(head: &[u8]) -> bool {
    const MAGICS: [[u8; 4]; 6] = [
        [0x0a, 0x0d, 0x0d, 0x0a],
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x34, 0xcd, 0xb2, 0xa1],
    ];
    MAGICS.iter().any(|m| m.starts_with(head))
}

fn hex_prefix(b: &[u8]) -> String {
    b.iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{CaptureError, CaptureOptions};

    fn conversation() -> Vec<Frame> {
        let mut c = Conv::new(40100);
        c.handshake();
        c.client(b"GET /r HTTP/1.1\r\nHost: h\r\n\r\n", 1460);
        c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1460);
        c.fins();
        c.frames
    }

    #[test]
    fn empty_one_byte_and_foreign_inputs() {
        assert!(matches!(run(vec![]).result, Err(CaptureError::Empty)));
        assert!(matches!(
            run(vec![0xd4]).result,
            Err(CaptureError::TruncatedHeader { .. })
        ));
        assert!(matches!(
            run(b"x".to_vec()).result,
            Err(CaptureError::NotACapture(_))
        ));
        assert!(matches!(
            run(b"{\"log\": {}}".to_vec()).result,
            Err(CaptureError::NotACapture(_))
        ));
        // A pcap header cut short.
        let p = pcap(&[], 1, false, false);
        assert!(matches!(
            run(p[..10].to_vec()).result,
            Err(CaptureError::TruncatedHeader { .. })
        ));
        // A header alone is a valid, empty capture.
        let o = run(p);
        assert_eq!(o.result.unwrap().packets, 0);
    }

    #[test]
    fn truncated_last_record_errors_after_earlier_packets() {
        let frames = conversation();
        let mut bytes = pcap(&frames, 1, false, false);
        let full_len = bytes.len() as u64;
        let extra = pcap(&frames[3..4], 1, false, false);
        // The record header and part of the frame of a 9th packet.
        bytes.extend_from_slice(&extra[24..24 + 16 + 10]);
        let o = run(bytes);
        assert_eq!(
            o.exchanges.len(),
            1,
            "packets before the damage are processed"
        );
        assert!(o.exchanges[0].response.is_some());
        match o.result {
            Err(CaptureError::Truncated { packet, offset }) => {
                assert_eq!(packet, frames.len() as u64 + 1);
                assert_eq!(offset, full_len);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn huge_record_length_is_truncation_not_allocation() {
        let mut bytes = pcap(&[], 1, false, false);
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[0u8; 100]);
        assert!(matches!(
            run(bytes).result,
            Err(CaptureError::Truncated {
                packet: 1,
                offset: 24
            }) | Err(CaptureError::RecordTooLarge { packet: 1, .. })
        ));
    }

    #[test]
    fn both_byte_orders_and_nanoseconds_agree() {
        let frames = conversation();
        let base = run(pcap(&frames, 1, false, false));
        assert_eq!(base.exchanges.len(), 1);
        for (be, ns) in [(true, false), (false, true), (true, true)] {
            let o = run(pcap(&frames, 1, be, ns));
            assert!(o.result.is_ok());
            let mut a = o.exchanges.clone();
            let mut b = base.exchanges.clone();
            // Only the record offsets may differ (same sizes, so they do not).
            for e in a.iter_mut().chain(b.iter_mut()) {
                e.loc.source = "x".into();
            }
            assert_eq!(a, b, "big-endian {be}, nanoseconds {ns}");
            assert_eq!(o.exchanges[0].time, frames[3].0);
        }
    }

    #[test]
    fn pcapng_two_interfaces_two_sections_and_simple_packets() {
        let frames = conversation();
        let mut v = Vec::new();
        pcapng_shb(&mut v);
        pcapng_idb(&mut v, 1, None); // Ethernet, microseconds
        pcapng_idb(&mut v, 101, Some(9)); // raw IP, nanoseconds
        for (i, (ts, f)) in frames.iter().enumerate() {
            if i % 2 == 0 {
                pcapng_epb(&mut v, 0, *ts as u64, f);
            } else {
                pcapng_epb(&mut v, 1, *ts as u64 * 1000, &f[14..]);
            }
        }
        // A second section: one Ethernet interface, a connection in simple packet blocks.
        pcapng_shb(&mut v);
        pcapng_idb(&mut v, 1, None);
        let mut c = Conv::new(40101);
        c.handshake();
        c.client(b"GET /spb HTTP/1.1\r\nHost: h\r\n\r\n", 1460);
        for (_, f) in &c.frames {
            pcapng_spb(&mut v, f);
        }
        let o = run(v);
        let stats = o.result.as_ref().expect("valid pcapng");
        assert_eq!(stats.packets, frames.len() as u64 + c.frames.len() as u64);
        let s = summary(&o);
        assert_eq!(s.len(), 2, "{:?}", o.diag);
        // Simple packet blocks carry no time (0): that request comes out last, at the flush.
        assert_eq!(s[0], ("GET".into(), "http://h/r".into(), Some(200)));
        assert_eq!(s[1].1, "http://h/spb");
        assert_eq!(o.exchanges[0].time, frames[3].0);
    }

    #[test]
    fn unknown_link_type_is_an_error_or_skipped() {
        let frames = conversation();
        let bytes = pcap(&frames, 147, false, false);
        match run(bytes.clone()).result {
            Err(CaptureError::UnsupportedLinkType {
                linktype: 147,
                packet: 1,
                offset: 24,
            }) => {}
            other => panic!("{other:?}"),
        }
        let opts = CaptureOptions {
            skip_unknown_link_types: true,
            ..CaptureOptions::default()
        };
        let o = run_with(bytes, &opts);
        assert!(o.result.is_ok());
        assert_eq!(o.diag.count("unsupported-link-type"), frames.len() as u64);
    }

    #[test]
    fn packet_on_undeclared_interface_is_damage() {
        let frames = conversation();
        let mut v = Vec::new();
        pcapng_shb(&mut v);
        pcapng_idb(&mut v, 1, None);
        pcapng_epb(&mut v, 0, 1, &frames[0].1);
        let offset = v.len() as u64;
        pcapng_epb(&mut v, 3, 2, &frames[1].1);
        match run(v).result {
            Err(CaptureError::Damaged {
                packet: 2,
                offset: o,
                ..
            }) => assert_eq!(o, offset),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn damaged_block_after_good_packets() {
        let frames = conversation();
        let mut v = Vec::new();
        pcapng_shb(&mut v);
        pcapng_idb(&mut v, 1, None);
        for (ts, f) in &frames {
            pcapng_epb(&mut v, 0, *ts as u64, f);
        }
        let offset = v.len() as u64;
        // An enhanced packet block whose trailing length disagrees with its leading one.
        let mut bad = Vec::new();
        pcapng_epb(&mut bad, 0, 1, &frames[0].1);
        let n = bad.len();
        bad[n - 4] ^= 0x40;
        v.extend(bad);
        let o = run(v);
        assert_eq!(o.exchanges.len(), 1);
        match o.result {
            Err(CaptureError::Damaged {
                packet, offset: at, ..
            }) => {
                assert_eq!((packet, at), (frames.len() as u64 + 1, offset));
            }
            other => panic!("{other:?}"),
        }
    }

    /// Every block size frames the same packets with the same result, sequentially and block
    /// by block: records cut by block ends, blocks grown for large records.
    #[test]
    fn block_size_does_not_change_the_packets() {
        use super::{BlockSink, PacketReader, RawPacket};
        type Seen = (Vec<(u64, u64, i64, Vec<u8>)>, Result<(), String>);
        fn read(bytes: &[u8], block: usize, blockwise: bool) -> Seen {
            let mut seen = Vec::new();
            let opts = CaptureOptions::default();
            let cursor = std::io::Cursor::new(bytes.to_vec());
            let mut r = match PacketReader::with_block_bytes(cursor, &opts, block) {
                Ok(r) => r,
                Err(e) => return (seen, Err(e.to_string())),
            };
            struct Sink<'a> {
                seen: &'a mut Vec<(u64, u64, i64, Vec<u8>)>,
                blocks: usize,
            }
            impl BlockSink for Sink<'_> {
                fn packet(&mut self, p: &RawPacket<'_>) {
                    self.seen.push((p.number, p.offset, p.ts, p.data.to_vec()));
                }
                fn block(&mut self, b: Vec<u8>) -> Vec<u8> {
                    self.blocks += 1;
                    b
                }
            }
            let res = if blockwise {
                let mut sink = Sink {
                    seen: &mut seen,
                    blocks: 0,
                };
                r.for_each_block(&mut sink)
            } else {
                r.for_each(|p| seen.push((p.number, p.offset, p.ts, p.data.to_vec())))
            };
            (seen, res.map_err(|e| e.to_string()))
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/captures");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
            .collect();
        files.sort();
        assert!(files.len() > 10);
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let base = read(&bytes, super::BLOCK_BYTES, false);
            for block in [64, 97, 1500, 4096] {
                for blockwise in [false, true] {
                    let o = read(&bytes, block, blockwise);
                    assert_eq!(o.1, base.1, "{} block {block}", f.display());
                    assert_eq!(o.0, base.0, "{} block {block}", f.display());
                }
            }
            // Cut inside the file: the same packets up to the cut, then the same error.
            let cut = &bytes[..bytes.len() * 2 / 3];
            let base = read(cut, super::BLOCK_BYTES, false);
            assert_eq!(read(cut, 100, true), base, "{}", f.display());
        }
    }

    #[test]
    fn units_and_times() {
        assert_eq!(super::ts_units(6), 1_000_000);
        assert_eq!(super::ts_units(9), 1_000_000_000);
        assert_eq!(super::ts_units(0x80 | 10), 1024);
        assert_eq!(super::ts_units(0xff), 1_000_000);
        assert_eq!(super::to_micros(1_500, 1_000, 2), 3_500_000);
        assert_eq!(super::to_micros(u64::MAX, 1, i64::MAX), i64::MAX);
    }
}
