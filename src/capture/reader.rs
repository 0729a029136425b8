//! Step 1 (reader): pcap and pcapng records from a byte stream, one at a time, with the link
//! type, capture time, packet number and file offset of each. Streaming: `pcap-parser`'s
//! circular buffer holds one read window (grown only for a record that does not fit, up to
//! [`MAX_RECORD_BYTES`]), never the file.
//!
//! Errors (truncation, damage, unsupported link type) are returned only after every packet
//! before them was handed to the caller, and name that packet's number and byte offset.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::decode::LinkType;
use super::{CaptureError, CaptureOptions};
use crate::model::Micros;

/// Initial read window.
pub const READ_WINDOW: usize = 256 * 1024;
/// Largest record (pcap frame or pcapng block) accepted; the window grows up to this.
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

/// A pcap or pcapng stream.
pub struct PacketReader {
    inner: Box<dyn PcapReaderIterator + Send>,
    io_error: Arc<Mutex<Option<io::Error>>>,
    /// Offset of the next record.
    offset: u64,
    /// Packets handed out so far.
    number: u64,
    /// pcapng: the current section's interfaces; pcap: one entry from the file header.
    interfaces: Vec<Interface>,
    max_record: usize,
    skip_unknown_links: bool,
}

impl PacketReader {
    /// Checks the magic number and the file header.
    pub fn new<R: Read + Send + 'static>(
        reader: R,
        opts: &CaptureOptions,
    ) -> Result<PacketReader, CaptureError> {
        let io_error = Arc::new(Mutex::new(None));
        let mut full = FullRead {
            inner: reader,
            error: io_error.clone(),
        };
        let mut head = [0u8; 4];
        let got = full
            .read(&mut head)
            .map_err(|_| take_io_error(&io_error, 0))?;
        let head = head.get(..got).unwrap_or(&[]);
        let chained = FullRead {
            inner: io::Cursor::new(head.to_vec()).chain(full.inner),
            error: io_error.clone(),
        };
        let window = READ_WINDOW.min(opts.max_record_bytes.max(64));
        let inner: Box<dyn PcapReaderIterator + Send> = match head {
            [] => return Err(CaptureError::Empty),
            [0x0a, 0x0d, 0x0d, 0x0a] => Box::new(
                PcapNGReader::new(window, chained)
                    .map_err(|e| header_error(&e, &io_error, "pcapng section header"))?,
            ),
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x34, 0xcd, 0xb2, 0xa1] => Box::new(
                LegacyPcapReader::new(window, chained)
                    .map_err(|e| header_error(&e, &io_error, "pcap file header"))?,
            ),
            _ if got < 4 && is_magic_prefix(head) => {
                return Err(CaptureError::TruncatedHeader {
                    what: "file header",
                    len: got as u64,
                })
            }
            other => return Err(CaptureError::NotACapture(hex_prefix(other))),
        };
        Ok(PacketReader {
            inner,
            io_error,
            offset: 0,
            number: 0,
            interfaces: Vec::new(),
            max_record: opts.max_record_bytes.max(window),
            skip_unknown_links: opts.skip_unknown_link_types,
        })
    }

    /// Packets handed out so far.
    pub fn packets(&self) -> u64 {
        self.number
    }

    /// Calls `f` for every packet record, in file order. Returns the first error after all
    /// packets before it were passed to `f`; packets on an unsupported link type are an error
    /// unless the options say to skip them (then they come with `link: None`).
    pub fn for_each(&mut self, mut f: impl FnMut(&RawPacket<'_>)) -> Result<(), CaptureError> {
        let mut capacity = READ_WINDOW.min(self.max_record);
        loop {
            let (consumed, grow) = match self.inner.next() {
                Ok((consumed, block)) => {
                    let offset = self.offset;
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            let units = if h.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            };
                            self.interfaces.clear();
                            self.interfaces.push(Interface {
                                link: LinkType::from_dlt(h.network.0).ok_or(h.network.0),
                                units,
                                offset_secs: 0,
                            });
                        }
                        PcapBlockOwned::Legacy(b) => {
                            self.number += 1;
                            let iface = self.interfaces.first().copied();
                            let (units, link) = match iface {
                                Some(i) => (i.units, i.link),
                                None => (1_000_000, Err(-1)),
                            };
                            let ts = to_micros(
                                u64::from(b.ts_sec) * units + u64::from(b.ts_usec),
                                units,
                                0,
                            );
                            let link_res = link;
                            if let (Err(dlt), false) = (link_res, self.skip_unknown_links) {
                                return Err(CaptureError::UnsupportedLinkType {
                                    linktype: dlt,
                                    packet: self.number,
                                    offset,
                                });
                            }
                            f(&RawPacket {
                                number: self.number,
                                offset,
                                ts,
                                link: link_res.ok(),
                                dlt: link_res.map_or_else(|d| d, |_| 0),
                                data: b.data,
                                orig_len: b.origlen,
                            });
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => self.interfaces.clear(),
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            self.interfaces.push(Interface {
                                link: LinkType::from_dlt(idb.linktype.0).ok_or(idb.linktype.0),
                                units: ts_units(idb.if_tsresol),
                                offset_secs: idb.if_tsoffset,
                            });
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            self.number += 1;
                            let Some(iface) = self.interfaces.get(epb.if_id as usize).copied()
                            else {
                                return Err(CaptureError::Damaged {
                                    packet: self.number,
                                    offset,
                                    detail: format!(
                                        "packet names interface {} but the section has {}",
                                        epb.if_id,
                                        self.interfaces.len()
                                    ),
                                });
                            };
                            let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let ts = to_micros(raw, iface.units, iface.offset_secs);
                            // `caplen` may be larger than the block really holds: clamp.
                            let data = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
                            let link_res = iface.link;
                            if let (Err(dlt), false) = (link_res, self.skip_unknown_links) {
                                return Err(CaptureError::UnsupportedLinkType {
                                    linktype: dlt,
                                    packet: self.number,
                                    offset,
                                });
                            }
                            f(&RawPacket {
                                number: self.number,
                                offset,
                                ts,
                                link: link_res.ok(),
                                dlt: link_res.map_or_else(|d| d, |_| 0),
                                data,
                                orig_len: epb.origlen,
                            });
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            self.number += 1;
                            // Simple packet blocks belong to interface 0 and carry no time.
                            let Some(iface) = self.interfaces.first().copied() else {
                                return Err(CaptureError::Damaged {
                                    packet: self.number,
                                    offset,
                                    detail: "simple packet block before any interface".into(),
                                });
                            };
                            let data = spb.data.get(..spb.origlen as usize).unwrap_or(spb.data);
                            let link_res = iface.link;
                            if let (Err(dlt), false) = (link_res, self.skip_unknown_links) {
                                return Err(CaptureError::UnsupportedLinkType {
                                    linktype: dlt,
                                    packet: self.number,
                                    offset,
                                });
                            }
                            f(&RawPacket {
                                number: self.number,
                                offset,
                                ts: 0,
                                link: link_res.ok(),
                                dlt: link_res.map_or_else(|d| d, |_| 0),
                                data,
                                orig_len: spb.origlen,
                            });
                        }
                        PcapBlockOwned::NG(_) => {}
                    }
                    (consumed, false)
                }
                Err(PcapError::Eof) => return Ok(()),
                Err(PcapError::Incomplete(_)) => (0, false),
                Err(PcapError::BufferTooSmall) => (0, true),
                Err(PcapError::UnexpectedEof) => {
                    return Err(CaptureError::Truncated {
                        packet: self.number + 1,
                        offset: self.offset,
                    })
                }
                Err(PcapError::ReadError) => {
                    return Err(take_io_error(&self.io_error, self.offset));
                }
                Err(e) => {
                    return Err(CaptureError::Damaged {
                        packet: self.number + 1,
                        offset: self.offset,
                        detail: damage_text(&e),
                    })
                }
            };
            if consumed > 0 {
                self.inner.consume(consumed);
                self.offset += consumed as u64;
                continue;
            }
            if grow {
                // The record does not fit the window: double it, up to the cap.
                if !self.grow_window(&mut capacity) {
                    return Err(self.too_large());
                }
            }
            let before = self.inner.data().len();
            if self.inner.refill().is_err() {
                return Err(take_io_error(&self.io_error, self.offset));
            }
            if self.inner.data().len() == before
                && !self.inner.reader_exhausted()
                && !self.grow_window(&mut capacity)
            {
                // Nothing was read and no room can be made: the parser wants more than fits.
                return Err(self.too_large());
            }
        }
    }
}

impl PacketReader {
    fn grow_window(&mut self, capacity: &mut usize) -> bool {
        if *capacity >= self.max_record {
            return false;
        }
        *capacity = capacity.saturating_mul(2).min(self.max_record);
        self.inner.grow(*capacity);
        true
    }

    fn too_large(&self) -> CaptureError {
        CaptureError::RecordTooLarge {
            packet: self.number + 1,
            offset: self.offset,
            limit: self.max_record,
        }
    }
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
