//! Step 1 (reader): pcap and pcapng records from a byte stream, one at a time, with the link
//! type, capture time, packet number and file offset of each. Streaming: the input is read in
//! blocks of [`BLOCK_BYTES`] (a block grows only for a record that does not fit, up to
//! [`MAX_RECORD_BYTES`]), never the whole file; records are parsed in place.
//!
//! Reading is live: a read that returns less than asked (a pipe holding only what the writer
//! has written so far) is parsed and handed on at once instead of waiting for a full block.
//!
//! A regular file may instead come mapped ([`Source::Mapped`]): the blocks are then windows of
//! the map, framed in place with the same rules (so the same packets and errors), nothing is
//! copied, and the pages behind the reader (or behind the last consumer of its blocks) are
//! given back ([`Release`]) so that the mapping costs no more memory than the blocks.
//!
//! Errors (truncation, damage, read errors such as a damaged gzip stream, unsupported link
//! type) are returned only after every packet before them was handed to the caller, and name
//! that packet's number and byte offset. A pcapng block that is complete by its own length
//! fields but cannot be read is skipped by its length with a warning (`pcapng-block-skipped`).

use std::fs::File;
use std::io::{self, Read};
use std::ops::{Deref, Range};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use memmap2::Mmap;

use pcap_parser::nom::{self, IResult};
use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
    LegacyPcapBlock, PcapHeader,
};
use pcap_parser::pcapng::{
    parse_block_be, parse_block_le, parse_sectionheaderblock, Block as NgBlock,
};
use pcap_parser::{PcapError, EPB_MAGIC, SPB_MAGIC};

use super::decode::LinkType;
use super::{behind, CaptureError, CaptureOptions};
use crate::diag::{Diagnostics, WarnKind};
use crate::input::mapped::{mapped_len, Release};
use crate::model::Micros;

/// Largest record (pcap frame or pcapng block) accepted; a block grows up to this.
pub(crate) const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

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

/// Where a capture's bytes come from.
pub enum Source {
    /// A stream, read block by block (pipes, stdin, gzip, `--no-mmap`).
    Stream(Box<dyn Read + Send>),
    /// A regular file mapped whole (by `input::open_with`), read as ended once `stop` is set
    /// (as a stream under `input::live::Stoppable`). `file` is the open file the map is of:
    /// its size is looked up as each window is framed ([`PacketReader::fill`]).
    Mapped {
        map: Arc<Mmap>,
        file: File,
        stop: Arc<AtomicBool>,
    },
}

/// A finished block ([`BlockSink::block`]): the reader's own buffer, or a range of the mapped
/// input (nothing copied). Either derefs to the block's bytes; a packet's
/// [`RawPacket::at`] is its offset in them.
pub(crate) enum Block {
    Owned(Vec<u8>),
    Mapped { map: Arc<Mmap>, range: Range<usize> },
}

impl Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Block::Owned(v) => v,
            Block::Mapped { map, range } => map.get(range.clone()).unwrap_or(&[]),
        }
    }
}

/// Receives packets and the blocks they were read from ([`PacketReader::for_each_block`]).
pub(crate) trait BlockSink {
    fn packet(&mut self, p: &RawPacket<'_>);
    /// Takes a finished block (every packet in it went to [`BlockSink::packet`] already) and
    /// returns a spare buffer (any size, contents ignored) to read a later block into (a
    /// mapped input reads into none).
    fn block(&mut self, block: Block) -> Vec<u8>;
    /// The input fell silent after every packet so far went to [`BlockSink::packet`] and
    /// every block to [`BlockSink::block`] (a live input, `input::live`).
    fn idle(&mut self) {}
}

/// What [`PacketReader::for_each_event`] hands on: a packet, or the input falling silent
/// after the packets before (a live input, `input::live`).
pub(crate) enum ReadEvent<'p, 'b> {
    Packet(&'p RawPacket<'b>),
    Idle,
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

/// Bytes read per block: large enough that syscalls and per-block work are negligible, small
/// enough that a parallel reader can keep a few blocks in flight in little memory, and twice
/// the input's read buffer (`input::READ_BUFFER`), so that reads go straight from the kernel
/// into the block instead of through that buffer.
pub(crate) const BLOCK_BYTES: usize = 2 << 20;

type LegacyParse = fn(&[u8]) -> IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Legacy {
        parse: LegacyParse,
        /// The usual 16-byte record header (not the "modified" format's 24): read in place
        /// ([`plain_record`]), `parse` only for the rest.
        plain: bool,
        big_endian: bool,
        /// A record claiming more captured bytes than this is damage, not a large packet:
        /// the file header's snapshot length, but at least [`PCAP_MAX_SNAPLEN`].
        max_caplen: u32,
    },
    Ng {
        big_endian: bool,
    },
}

/// The largest snapshot length tcpdump and Wireshark write (`MAXIMUM_SNAPLEN`): a pcap record
/// longer than this and than the file's own snapshot length is a damaged record header.
const PCAP_MAX_SNAPLEN: u32 = 262_144;

/// A pcap or pcapng stream, framed in large blocks: the input is read straight into a block
/// buffer (one copy, from the kernel) and records are parsed in place with `pcap-parser`'s
/// slice parsers; a record cut by the end of a block is moved to the front of the next one.
/// [`PacketReader::for_each_block`] hands whole blocks over, so a parallel reader can share
/// them with its workers instead of copying packets.
pub struct PacketReader {
    input: Box<dyn Read + Send>,
    /// The read error that ended the input, returned once the packets before it are out.
    read_error: Option<io::Error>,
    /// The input said it fell silent (a live input's `WouldBlock`, `input::live`): the
    /// reader tells its sink, then reads on.
    idle: bool,
    /// The current block: `buf[pos..end]` is read but not parsed yet. Empty for a mapped
    /// input, whose block is `map[base..base + window]` ([`PacketReader::bytes`]).
    buf: Vec<u8>,
    /// A mapped input ([`Source::Mapped`]).
    mapped: Option<Mapped>,
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
    /// Where Decryption Secrets Blocks go.
    keylog: Arc<super::tls::KeyLog>,
    /// The reader's own warnings (skipped blocks), for [`PacketReader::take_warnings`].
    warnings: Diagnostics,
    /// The input's name, for warning lines.
    source: Arc<str>,
    /// The time of the last packet handed out with one (a simple packet block has none): a
    /// new part is checked against where the part before it ended, not against its latest
    /// time, which one packet with a broken clock could set anywhere.
    last_ts: Micros,
    /// The time of the timed packet before that one: a packet back in time from the last but
    /// not from this one follows one packet that jumped ahead (a broken clock), not a part.
    before_last: Micros,
    /// A new part began (another file joined on, a pcapng section) and its first timed
    /// packet is still to come: it must not start before the parts before it ended.
    part_starts: bool,
    /// Where the newest part's file or section header is.
    part_at: u64,
    /// A stream's bytes from `held_from` (the pending part's header) to the block's start,
    /// while that part's first packet is still to be checked: if the part is out of time
    /// order, they begin the input's [`super::Rest`].
    held: Vec<u8>,
    held_from: u64,
    /// The pending part held more than twice the record limit before its first timed packet
    /// (a hostile run of untimed blocks): no rest is left for it.
    held_lost: bool,
    /// Where the rest of a stream goes when a part is out of time order.
    rest: super::Rest,
    /// Packets back in time to hand on before the next look ahead ([`stays_back`]): the
    /// look ahead costs at most as much again as framing, whatever the clocks do.
    jump_quiet: u32,
    /// A part out of time order ends the run ([`super::Resume::read_on`]: not any more).
    parts_apart: bool,
}

/// A mapped input as the reader walks it: a window of the map stands for the stream reader's
/// block buffer, and moves as that buffer would be refilled, so every record, error and
/// offset is the same as when the file is read.
struct Mapped {
    map: Arc<Mmap>,
    file: File,
    stop: Arc<AtomicBool>,
    /// The size the block buffer would have ([`PacketReader::swap_in`]).
    window: usize,
    /// Pages behind the reader given back ([`PacketReader::for_each`]; with blocks, the sink
    /// gives them back once their readers are done).
    release: Release,
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
    pub(crate) fn with_block_bytes<R: Read + Send + 'static>(
        reader: R,
        opts: &CaptureOptions,
        block_bytes: usize,
    ) -> Result<PacketReader, CaptureError> {
        Self::open(Source::Stream(Box::new(reader)), opts, block_bytes)
    }

    /// [`PacketReader::with_block_bytes`] for either source: a mapped one is framed in
    /// windows of `block_bytes`, as a stream is read in blocks of it.
    pub(crate) fn open(
        source: Source,
        opts: &CaptureOptions,
        block_bytes: usize,
    ) -> Result<PacketReader, CaptureError> {
        let block_bytes = block_bytes.max(64);
        let (input, buf, mapped) = match source {
            Source::Stream(input) => (input, vec![0; block_bytes], None),
            Source::Mapped { map, file, stop } => (
                Box::new(io::empty()) as Box<dyn Read + Send>,
                Vec::new(),
                Some(Mapped {
                    map,
                    file,
                    stop,
                    window: block_bytes,
                    release: Release::default(),
                }),
            ),
        };
        let mut r = PacketReader {
            input,
            read_error: None,
            idle: false,
            buf,
            mapped,
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
            keylog: opts.keylog.clone(),
            block_bytes,
            warnings: Diagnostics::new(),
            source: Arc::from(""),
            last_ts: Micros::MIN,
            before_last: Micros::MIN,
            part_starts: false,
            part_at: 0,
            held: Vec::new(),
            held_from: 0,
            held_lost: false,
            rest: opts.rest.clone(),
            jump_quiet: 0,
            parts_apart: !opts.resume.as_ref().is_some_and(|r| r.read_on),
        };
        // A later part's run starts where the part begins, numbering on (`Resume`).
        if let Some(resume) = &opts.resume {
            let to = usize::try_from(resume.offset).unwrap_or(usize::MAX);
            match &r.mapped {
                Some(m) => r.base = to.min(m.map.len()) as u64,
                // The rest of a stream begins at the header.
                None if resume.at_offset => r.base = resume.offset,
                None => {
                    let skipped =
                        io::copy(&mut (&mut r.input).take(resume.offset), &mut io::sink())
                            .map_err(read_failed(0))?;
                    r.base = skipped;
                }
            }
            r.number = resume.packets;
            // A part cut from inside another has no header: it is framed as that one was.
            if let Some(framing) = resume.framing.clone() {
                let Framing { kind, interfaces } = *framing;
                r.kind = kind;
                r.interfaces = interfaces;
                r.fill();
                return Ok(r);
            }
        }
        // Enough for any file header (a pipe may hand over less per read).
        while r.end < 64 && !r.exhausted {
            r.fill();
        }
        let data = r.bytes().get(..r.end).unwrap_or(&[]);
        let got = data.len().min(4);
        let head = data.get(..got).unwrap_or(&[]);
        match head {
            [] => {
                return Err(r
                    .read_error
                    .take()
                    .map_or(CaptureError::Empty, read_failed(0)))
            }
            m if m == SHB_TYPE => r.check_section_header()?,
            m if PCAP_MAGICS.iter().any(|p| p == m) => r.read_pcap_header()?,
            _ if got < 4 && is_magic_prefix(head) => {
                return Err(r.read_error.take().map_or(
                    CaptureError::TruncatedHeader {
                        what: "file header",
                        len: got as u64,
                    },
                    read_failed(got as u64),
                ))
            }
            other => return Err(CaptureError::NotACapture(hex_prefix(other))),
        }
        Ok(r)
    }

    /// Decides whether a pcapng stream starts with a readable section header. Only checked
    /// here; the block is parsed again as the first record. A section header longer than the
    /// block (options) makes the block grow.
    fn check_section_header(&mut self) -> Result<(), CaptureError> {
        loop {
            let data = self.bytes().get(self.pos..self.end).unwrap_or(&[]);
            match parse_sectionheaderblock(data) {
                Err(nom::Err::Incomplete(n)) if !self.exhausted => {
                    let need = data.len().saturating_add(needed(n));
                    if need >= self.max_record {
                        break;
                    }
                    self.swap_in(need, None);
                    self.fill();
                }
                _ => break,
            }
        }
        let data = window_of(&self.buf, self.mapped.as_ref(), self.base);
        let data = data.get(self.pos..self.end).unwrap_or(&[]);
        let len = data.len();
        match nom_error(parse_sectionheaderblock(data)) {
            Ok(_) => Ok(()),
            Err(e) => Err(header_error(
                &mut self.read_error,
                &e,
                "pcapng section header",
                len,
            )),
        }
    }

    /// Reads a pcap file header: the record parser for its byte order and format, its time
    /// units, link type and snapshot length; positions the reader after it.
    fn read_pcap_header(&mut self) -> Result<(), CaptureError> {
        let data = window_of(&self.buf, self.mapped.as_ref(), self.base);
        let data = data.get(..self.end).unwrap_or(&[]);
        let len = data.len();
        let (rest, h) = match parse_pcap_header(data) {
            Ok(x) => x,
            Err(e) => {
                let e = nom_error::<()>(Err(e)).err().unwrap_or(PcapError::Eof);
                return Err(header_error(
                    &mut self.read_error,
                    &e,
                    "pcap file header",
                    len,
                ));
            }
        };
        let header_len = len - rest.len();
        let (kind, interface) = legacy_of(&h);
        self.interfaces.push(interface);
        self.kind = kind;
        self.pos = header_len;
        Ok(())
    }

    /// Names the input in warning lines.
    pub(crate) fn named(mut self, source: Arc<str>) -> Self {
        self.source = source;
        self
    }

    /// The reader's own warnings so far (blocks skipped), taken out.
    pub(crate) fn take_warnings(&mut self) -> Diagnostics {
        std::mem::take(&mut self.warnings)
    }

    /// Calls `f` for every packet record, in file order. Returns the first error after all
    /// packets before it were passed to `f`; packets on an unsupported link type are an error
    /// unless the options say to skip them (then they come with `link: None`).
    pub fn for_each(&mut self, mut f: impl FnMut(&RawPacket<'_>)) -> Result<(), CaptureError> {
        self.for_each_event(|e| {
            if let ReadEvent::Packet(p) = e {
                f(p);
            }
        })
    }

    /// [`PacketReader::for_each`], also telling `f` when the input falls silent.
    pub(crate) fn for_each_event(
        &mut self,
        mut f: impl FnMut(ReadEvent<'_, '_>),
    ) -> Result<(), CaptureError> {
        loop {
            match self
                .parse_buffered(&mut |p: &RawPacket<'_>| f(ReadEvent::Packet(p)))
                .map_err(|e| self.leave_rest(e))?
            {
                None => return Ok(()),
                Some(need) => {
                    self.check_size(need)?;
                    self.swap_in(need, None);
                    // Nothing before the new block is read again.
                    if let Some(m) = &mut self.mapped {
                        m.release.upto(&m.map, self.base as usize);
                    }
                    self.fill_telling(&mut || f(ReadEvent::Idle));
                }
            };
        }
    }

    /// [`PacketReader::for_each`] that also hands over every block once all its packets were
    /// passed to the sink (`RawPacket::at` is the packet's offset in that block). The last
    /// block is handed over before the result (an error included) is returned.
    pub(crate) fn for_each_block(&mut self, sink: &mut impl BlockSink) -> Result<(), CaptureError> {
        let mut spare = Vec::new();
        let result = loop {
            let step = match self.parse_buffered(&mut |p: &RawPacket<'_>| sink.packet(p)) {
                Ok(Some(need)) => self.check_size(need).map(|()| need),
                Ok(None) => break Ok(()),
                Err(e) => Err(self.leave_rest(e)),
            };
            match step {
                Ok(need) => {
                    let old = self.swap_in(need, Some(std::mem::take(&mut spare)));
                    spare = sink.block(old);
                    self.fill_telling(&mut || sink.idle());
                }
                Err(e) => break Err(e),
            }
        };
        let last = match &self.mapped {
            Some(m) => {
                let start = self.base as usize;
                Block::Mapped {
                    map: m.map.clone(),
                    range: start..start + self.end,
                }
            }
            None => Block::Owned(std::mem::take(&mut self.buf)),
        };
        drop(sink.block(last));
        result
    }

    /// The current block's bytes: the buffer, or the map from the block's start on (only
    /// `..end` of it is read).
    fn bytes(&self) -> &[u8] {
        window_of(&self.buf, self.mapped.as_ref(), self.base)
    }

    /// Parses every complete record in the buffer, passing packets to `f`. Returns `None` at
    /// the end of the input, or the number of bytes (from the first unparsed one) the next
    /// record needs.
    fn parse_buffered(&mut self, f: &mut impl FnMut(&RawPacket<'_>)) -> Stop {
        let PacketReader {
            buf,
            mapped,
            pos,
            end,
            base,
            exhausted,
            read_error,
            kind,
            number,
            interfaces,
            max_record,
            skip_unknown_links,
            keylog,
            warnings,
            source,
            last_ts,
            before_last,
            part_starts,
            part_at,
            jump_quiet,
            parts_apart,
            ..
        } = self;
        let buf = window_of(buf, mapped.as_ref(), *base);
        let input_end = *base + *end as u64;
        // The usual pcap file (little-endian 16-byte record headers, one decodable link type):
        // its records are read by a loop of their own, which leaves every other case (a record
        // cut by the block's end, a bogus or too large length) to the general loop below, where
        // it reads as it always did. Going through the general loop's record outcome and the
        // link-type checks for every packet was about 80 instructions a packet.
        let mut usual = usual_of(*kind, interfaces.first());
        loop {
            if let Some((link, units, max_caplen)) = usual {
                usual_records(
                    buf,
                    pos,
                    *end,
                    *base,
                    (number, last_ts, before_last),
                    (link, units, max_caplen),
                    *max_record,
                    mapped.is_some(),
                    f,
                );
            }
            let data = buf.get(*pos..*end).unwrap_or(&[]);
            let offset = *base + *pos as u64;
            let ended = Ended {
                have: data.len(),
                exhausted: *exhausted,
                read_error: &mut *read_error,
                input_end,
                packet: *number + 1,
                offset,
            };
            if data.is_empty() && *exhausted {
                return match ended.read_error.take() {
                    Some(source) => Err(read_failed(input_end)(source)),
                    None => Ok(None),
                };
            }
            if let Some(joined) = joined_file_at(data, matches!(kind, Kind::Ng { .. }), *exhausted)
            {
                let what = match joined {
                    Joined::Need(n) => return Ok(Some(n)),
                    Joined::Pcap(h, len) => {
                        let (k, interface) = legacy_of(&h);
                        *kind = k;
                        interfaces.clear();
                        interfaces.push(interface);
                        *pos += len;
                        "pcap file header"
                    }
                    Joined::Ng => {
                        // Its section header is read next, as the new section's first block.
                        *kind = Kind::Ng { big_endian: false };
                        interfaces.clear();
                        "pcapng section header"
                    }
                };
                warnings.warn(WarnKind::CaptureConcatenated, || {
                    format!(
                        "{source}: byte {offset}: a {what} where a record should be (capture \
                         files joined end to end); read on as the next file"
                    )
                });
                *part_starts |= *last_ts != Micros::MIN;
                *part_at = offset;
                // The fast loop waits until the part's first packet is checked (if there is
                // a part before it to check against).
                usual = if *part_starts {
                    None
                } else {
                    usual_of(*kind, interfaces.first())
                };
                continue;
            }
            let record = match *kind {
                Kind::Legacy {
                    parse,
                    plain,
                    big_endian,
                    max_caplen,
                } => legacy_record(
                    data,
                    (parse, plain, big_endian, max_caplen),
                    interfaces,
                    number,
                    ended,
                ),
                Kind::Ng { big_endian } => match ng_parse(data, big_endian) {
                    Ok((rest, block)) => {
                        if matches!(block, NgBlock::SectionHeader(_)) {
                            *part_starts |= *last_ts != Micros::MIN;
                            *part_at = offset;
                        }
                        match ng_block(block, kind, interfaces, number, keylog, offset) {
                            Ok(packet) => Ok(Record::Read {
                                consumed: data.len() - rest.len(),
                                packet,
                            }),
                            Err(e) => Err(Err(e)),
                        }
                    }
                    Err(e) => ng_unreadable(data, big_endian, e, ended, number, warnings, source),
                },
            };
            let (consumed, packet) = match record {
                Ok(Record::Read { consumed, packet }) => (consumed, packet),
                Ok(Record::Skipped(len)) => {
                    *pos += len;
                    continue;
                }
                Err(stop) => return stop,
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
            if let Some(packet) = packet {
                let ts = packet.1;
                // Simple packet blocks carry no time (0): the part's first timed packet decides.
                let back = *parts_apart && ts != 0 && behind(ts, *last_ts);
                let back_secs = || last_ts.saturating_sub(ts).unsigned_abs() / 1_000_000;
                if *part_starts && ts != 0 {
                    *part_starts = false;
                    if back {
                        return Err(CaptureError::PartsOutOfOrder {
                            packet: *number,
                            offset,
                            back_secs: back_secs(),
                            part_offset: *part_at,
                            framing: None,
                        });
                    }
                    usual = usual_of(*kind, interfaces.first());
                } else if back && !behind(ts, *before_last) {
                    // The last packet jumped ahead, alone: this one is back on the clock.
                } else if back && *jump_quiet > 0 {
                    *jump_quiet -= 1;
                } else if back {
                    // Inside a part, times that jump back and stay back are another recording
                    // joined on without a header (`mergecap -a`) or a clock set back: a part
                    // of its own from this packet on. One packet with a broken clock, or
                    // interfaces whose clocks disagree, do not stay back.
                    let window = (consumed + JUMP_BYTES)
                        .min(max_record.saturating_sub(1))
                        .saturating_sub(consumed);
                    let after = buf.get(*pos + consumed..*end).unwrap_or(&[]);
                    match stays_back(after, window, *exhausted, *kind, interfaces, *last_ts) {
                        Lookahead::Need => {
                            // The record is framed again once the bytes after it are read.
                            *number -= 1;
                            return Ok(Some(consumed + window));
                        }
                        Lookahead::Back => {
                            *part_at = offset;
                            return Err(CaptureError::PartsOutOfOrder {
                                packet: *number,
                                offset,
                                back_secs: back_secs(),
                                part_offset: offset,
                                framing: Some(Box::new(Framing {
                                    kind: *kind,
                                    interfaces: interfaces.clone(),
                                })),
                            });
                        }
                        Lookahead::Not => *jump_quiet = JUMP_PACKETS,
                    }
                }
                if ts != 0 {
                    *before_last = *last_ts;
                    *last_ts = ts;
                }
                let at = *pos + offset_in(data, packet.2);
                if mapped.is_some() {
                    prefetch_ahead(buf, *pos, consumed);
                }
                hand_on(packet, *number, offset, at, *skip_unknown_links, f)?;
            }
            *pos += consumed;
        }
    }

    /// At a part out of time order in a stream, leaves the input's unread rest, from where
    /// the part begins on, in [`super::Rest`] (the held bytes, the block's, then the stream);
    /// returns the error.
    fn leave_rest(&mut self, e: CaptureError) -> CaptureError {
        if self.mapped.is_some() || !matches!(e, CaptureError::PartsOutOfOrder { .. }) {
            return e;
        }
        let from = if self.part_at >= self.base {
            // The part began in this block: nothing of it was held.
            self.held.clear();
            usize::try_from(self.part_at - self.base).unwrap_or(usize::MAX)
        } else if self.held_from == self.part_at && !self.held_lost {
            0
        } else {
            return e;
        };
        let mut bytes = std::mem::take(&mut self.held);
        bytes.extend_from_slice(self.buf.get(from..self.end).unwrap_or(&[]));
        let input = std::mem::replace(&mut self.input, Box::new(io::empty()));
        // A read error that ended the input comes after the bytes read before it, as here.
        let after: Box<dyn Read + Send> = match self.read_error.take() {
            Some(error) => Box::new(Failing(Some(error))),
            None if self.exhausted => Box::new(io::empty()),
            None => input,
        };
        self.rest.put(Box::new(io::Cursor::new(bytes).chain(after)));
        e
    }

    /// Before a stream's block is replaced: keeps the bytes of a part whose first packet is
    /// still to be checked ([`PacketReader::held`]), up to twice the record limit.
    fn hold_part(&mut self) {
        if self.mapped.is_some() {
            return;
        }
        if !self.part_starts {
            if self.held.capacity() > 0 {
                self.held = Vec::new();
            }
            return;
        }
        if self.held_from != self.part_at {
            self.held.clear();
            self.held_lost = false;
            self.held_from = self.part_at;
        }
        if self.held_lost {
            return;
        }
        let from = usize::try_from(self.part_at.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.pos);
        let bytes = self.buf.get(from..self.pos).unwrap_or(&[]);
        if self.held.len() + bytes.len() > self.max_record.saturating_mul(2) {
            self.held_lost = true;
            self.held = Vec::new();
            return;
        }
        self.held.extend_from_slice(bytes);
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
    /// before the input's end shows it was a truncation. `fill` reads the rest. A mapped
    /// input moves its window instead (the block returned is the range parsed).
    fn swap_in(&mut self, need: usize, fresh: Option<Vec<u8>>) -> Block {
        self.hold_part();
        let have = self.end - self.pos;
        let len = self.mapped.as_ref().map_or(self.buf.len(), |m| m.window);
        let size = need
            .min(self.max_record)
            .min(len.max(self.block_bytes).saturating_mul(2))
            .max(self.block_bytes)
            .max(have);
        let tail = self.pos..self.end;
        let old = match (&mut self.mapped, fresh) {
            (Some(m), _) => {
                m.window = size;
                let start = self.base as usize;
                Block::Mapped {
                    map: m.map.clone(),
                    range: start..start + self.pos,
                }
            }
            (None, Some(mut next)) => {
                // A recycled block of the right size is used as it is: zeroing it again for
                // every block was a visible share of the reading thread (bytes past `end` are
                // never parsed).
                if next.len() != size {
                    // A fresh zeroed allocation: the allocator skips the zeroing for memory
                    // fresh from the system, which `resize` would write over again.
                    next = vec![0; size];
                }
                if let (Some(dst), Some(src)) = (next.get_mut(..have), self.buf.get(tail)) {
                    dst.copy_from_slice(src);
                }
                Block::Owned(std::mem::replace(&mut self.buf, next))
            }
            (None, None) => {
                self.buf.copy_within(tail, 0);
                self.buf.resize(size, 0);
                Block::Owned(Vec::new())
            }
        };
        self.base += self.pos as u64;
        self.pos = 0;
        self.end = have;
        old
    }

    /// [`PacketReader::fill`], calling `silent` each time the input says it fell silent
    /// before it has more (a live input), and reading on.
    fn fill_telling(&mut self, silent: &mut dyn FnMut()) {
        self.fill();
        while std::mem::take(&mut self.idle) {
            silent();
            self.fill();
        }
    }

    /// Reads what is available: until the buffer is full, the input ends, or a read returns
    /// less than asked (a pipe that holds only what its writer wrote so far: that is parsed
    /// and handed on now, not when a whole block has arrived). A read error ends the input;
    /// it is returned once every packet before it was handed on.
    fn fill(&mut self) {
        if let Some(m) = &self.mapped {
            // As a regular file reads: the window filled as far as the file goes, and the end
            // seen (a read returning 0) only by the next fill.
            if !self.exhausted {
                // As far as the file goes now: a file another process cut after it was mapped
                // reads as the cut file would (its records up to the cut, then the truncation)
                // instead of touching map pages past its end, which raises SIGBUS. Only a cut
                // inside a window already framed still can (`input::mapguard` reports it).
                let size = mapped_len(&m.map, &m.file);
                let base = self.base as usize;
                if size < base.saturating_add(self.end) {
                    // Cut inside the unparsed tail: it ends at the cut.
                    self.end = size.saturating_sub(base).max(self.pos);
                }
                let at = base.saturating_add(self.end);
                let left = size.saturating_sub(at);
                if left == 0 || m.stop.load(Ordering::Relaxed) {
                    self.exhausted = true;
                } else {
                    self.end += left.min(m.window.saturating_sub(self.end));
                }
            }
            return;
        }
        while !self.exhausted {
            let Some(space) = self.buf.get_mut(self.end..) else {
                break;
            };
            let asked = space.len();
            if asked == 0 {
                break;
            }
            match self.input.read(space) {
                Ok(0) => self.exhausted = true,
                Ok(n) => {
                    self.end += n;
                    if n < asked {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Only a live input says so, when it fell silent: told, then read on.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.idle = true;
                    break;
                }
                Err(e) => {
                    self.read_error = Some(e);
                    self.exhausted = true;
                }
            }
        }
    }
}

/// How the records of a part are framed where it has no header of its own (a part cut from
/// inside another, where times jump back: [`CaptureError::PartsOutOfOrder`]): the framing of
/// the part it was cut from, for the run that reads it ([`super::Resume`]).
#[derive(Clone, Debug)]
pub struct Framing {
    kind: Kind,
    interfaces: Vec<Interface>,
}

/// Timed packets looked at after a packet whose time jumps back ([`stays_back`]).
const JUMP_PACKETS: u32 = 16;
/// Bytes looked at after it, at most.
const JUMP_BYTES: usize = 256 << 10;

/// What the records after a packet whose time jumps back say.
#[derive(Debug, PartialEq)]
enum Lookahead {
    /// They stay back: a part starts at the packet.
    Back,
    /// One comes back to the clock before the jump (or none can tell): read on.
    Not,
    /// Fewer than `window` bytes of them are read yet.
    Need,
}

/// Whether the capture stays back in time after a packet more than [`super::MAX_CLOCK_LAG_US`]
/// before `before` (the last packet's time): the next [`JUMP_PACKETS`] timed packets in the
/// next `window` bytes of `data` (the records after it, framed as `kind`, not handed on) are
/// all that far back too. At least one must be, unless the input ends after the packet.
fn stays_back(
    data: &[u8],
    window: usize,
    exhausted: bool,
    kind: Kind,
    interfaces: &[Interface],
    before: Micros,
) -> Lookahead {
    let (mut at, mut seen) = (0, 0);
    while seen < JUMP_PACKETS && at < window {
        let rest = data.get(at..).unwrap_or(&[]);
        let record = match kind {
            Kind::Legacy {
                parse,
                plain,
                big_endian,
                ..
            } => {
                let units = interfaces.first().map_or(1_000_000, |i| i.units);
                let framed = legacy_frame(rest, parse, plain, big_endian).ok();
                framed.map(|(n, b)| (n, Some(legacy_ts(&b, units))))
            }
            Kind::Ng { big_endian } => match ng_parse(rest, big_endian) {
                // Another section: its header decides.
                Ok((_, NgBlock::SectionHeader(_))) => break,
                Ok((r, NgBlock::EnhancedPacket(epb))) => {
                    let Some(i) = interfaces.get(epb.if_id as usize) else {
                        break;
                    };
                    Some((rest.len() - r.len(), Some(epb_ts(&epb, i))))
                }
                Ok((r, _)) => Some((rest.len() - r.len(), None)),
                Err(_) => None,
            },
        };
        let Some((len, ts)) = record else {
            // Not a whole record here: more bytes may come.
            if !exhausted && data.len() < window {
                return Lookahead::Need;
            }
            break;
        };
        at += len;
        match ts {
            Some(0) | None => {}
            Some(ts) if behind(ts, before) => seen += 1,
            Some(_) => return Lookahead::Not,
        }
    }
    if seen > 0 || (exhausted && at >= data.len()) {
        Lookahead::Back
    } else {
        Lookahead::Not
    }
}

/// A read that fails once with the error that ended a stream, then ends.
struct Failing(Option<io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

/// The block's bytes: the stream reader's buffer, or the mapped input from `base` on.
fn window_of<'a>(buf: &'a [u8], mapped: Option<&'a Mapped>, base: u64) -> &'a [u8] {
    match mapped {
        Some(m) => usize::try_from(base)
            .ok()
            .and_then(|b| m.map.get(b..))
            .unwrap_or(&[]),
        None => buf,
    }
}

/// The error for a file header that did not parse (`have` bytes of input were there).
fn header_error(
    read_error: &mut Option<io::Error>,
    e: &PcapError<&[u8]>,
    what: &'static str,
    have: usize,
) -> CaptureError {
    match e {
        PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
            match read_error.take() {
                Some(source) => read_failed(have as u64)(source),
                None => CaptureError::TruncatedHeader {
                    what,
                    len: have as u64,
                },
            }
        }
        other => CaptureError::Damaged {
            packet: 1,
            offset: 0,
            detail: format!("bad {what}: {}", damage_text(other)),
        },
    }
}

/// What [`PacketReader::parse_buffered`] returns: `None` at the end of the input, or the bytes
/// the next record needs; or the error that stops reading.
type Stop = Result<Option<usize>, CaptureError>;

/// One packet as framed by either format: link type (`Err(dlt)` when it cannot be decoded),
/// capture time, captured bytes and length on the wire.
type Packet<'a> = (Result<LinkType, i32>, Micros, &'a [u8], u32);

/// One record's outcome in the parse loop.
enum Record<'a> {
    /// `consumed` bytes were one record, holding `packet` if it is a packet record.
    Read {
        consumed: usize,
        packet: Option<Packet<'a>>,
    },
    /// A pcapng block of this many bytes was skipped (with a warning).
    Skipped(usize),
}

/// The usual pcap file's framing, when `kind` and the first interface are it (see
/// [`PacketReader::parse_buffered`]): little-endian 16-byte record headers, one decodable
/// link type.
fn usual_of(kind: Kind, first: Option<&Interface>) -> Option<(LinkType, u64, u32)> {
    match (kind, first) {
        (
            Kind::Legacy {
                plain: true,
                big_endian: false,
                max_caplen,
                ..
            },
            Some(&Interface {
                link: Ok(link),
                units,
                ..
            }),
        ) => Some((link, units, max_caplen)),
        _ => None,
    }
}

/// The record framing and the one interface a pcap file header gives.
fn legacy_of(h: &PcapHeader) -> (Kind, Interface) {
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
    let kind = Kind::Legacy {
        parse,
        plain: !h.is_modified_format(),
        big_endian: h.is_bigendian(),
        max_caplen: h.snaplen.max(PCAP_MAX_SNAPLEN),
    };
    let interface = Interface {
        link: LinkType::from_dlt(h.network.0).ok_or(h.network.0),
        units,
        offset_secs: 0,
    };
    (kind, interface)
}

/// The magic numbers a pcap file starts with, as bytes (microsecond and nanosecond
/// resolution, either byte order; the "modified" format).
const PCAP_MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x34, 0xcd, 0xb2, 0xa1],
];
/// A pcapng Section Header Block's type, and its byte-order magic in either order.
const SHB_TYPE: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const SHB_BYTE_ORDERS: [[u8; 4]; 2] = [[0x4d, 0x3c, 0x2b, 0x1a], [0x1a, 0x2b, 0x3c, 0x4d]];

/// Another capture file's start where the next record should be: capture files joined end
/// to end (`cat a.pcap b.pcap`, rotated files gathered into one). A pcapng file may hold
/// several sections, so a section header inside pcapng is its own block, not this.
enum Joined {
    /// A pcap file header of this many bytes.
    Pcap(PcapHeader, usize),
    /// A pcapng section header: the new section's first block.
    Ng,
    /// The record place holds a file magic but fewer bytes than its header: this many needed.
    Need(usize),
}

/// Whether `data` (a record's place) starts another capture file: its magic, then a header
/// that reads as one (pcap version 2, a byte-order magic for pcapng), so that a record whose
/// time happens to spell a magic (in 1975, 2011, 2055 or 2083, to the second) still reads as
/// a record unless the rest agrees.
#[inline]
fn joined_file_at(data: &[u8], in_ng: bool, exhausted: bool) -> Option<Joined> {
    let magic: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let need = if PCAP_MAGICS.contains(&magic) {
        24
    } else if magic == SHB_TYPE && !in_ng {
        12
    } else {
        return None;
    };
    if data.len() < need {
        return (!exhausted).then_some(Joined::Need(need));
    }
    if need == 12 {
        let order: [u8; 4] = data.get(8..12)?.try_into().ok()?;
        return SHB_BYTE_ORDERS.contains(&order).then_some(Joined::Ng);
    }
    let (rest, h) = parse_pcap_header(data).ok()?;
    (h.version_major == 2).then(|| Joined::Pcap(h, data.len() - rest.len()))
}

/// Hands on the whole records of the usual pcap format ([`plain_record`]) at the front of
/// `buf[*pos..end]`, each as [`legacy_record`] and [`hand_on`] would for a little-endian file
/// of a decodable link type; stops at the first record that is not all there, claims more
/// than `max_caplen` or is over `max_record` bytes, which the general loop then reads.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn usual_records(
    buf: &[u8],
    pos: &mut usize,
    end: usize,
    base: u64,
    (number, last_ts, before_last): (&mut u64, &mut Micros, &mut Micros),
    (link, units, max_caplen): (LinkType, u64, u32),
    max_record: usize,
    prefetch: bool,
    f: &mut impl FnMut(&RawPacket<'_>),
) {
    // Fetching ahead may cross into the map's next window; framing may not.
    let ahead = buf;
    // Only what was read: the block's bytes past `end` are stale.
    let buf = buf.get(..end).unwrap_or(&[]);
    while let Some((consumed, b)) = buf.get(*pos..).and_then(|d| plain_record(d, false)) {
        // A record of no bytes is rare, and is what another pcap file's header reads as
        // (its time zone field, 0, in the length's place): the general loop decides it.
        if b.caplen > max_caplen || b.caplen == 0 || consumed > max_record {
            return;
        }
        if prefetch {
            prefetch_ahead(ahead, *pos, consumed);
        }
        let ts = legacy_ts(&b, units);
        // A time far back: the general loop decides whether a part starts there.
        if behind(ts, *last_ts) {
            return;
        }
        *number += 1;
        *before_last = *last_ts;
        *last_ts = ts;
        f(&RawPacket {
            number: *number,
            offset: base + *pos as u64,
            ts,
            link: Some(link),
            dlt: 0,
            data: b.data,
            orig_len: b.origlen,
            at: *pos + 16,
        });
        *pos += consumed;
    }
}

/// How far ahead of the record being framed a mapped input's bytes are fetched into the cache
/// ([`prefetch_ahead`]): a few records of a typical capture, one page.
const PREFETCH_AHEAD: usize = 4096;

/// Asks the CPU to fetch the cache lines `consumed` bytes long that lie [`PREFETCH_AHEAD`]
/// bytes past `pos`, as a record of that length is framed there. A mapped input's bytes are
/// not in the cache (`read` copied them through it), and framing is a chain of dependent
/// loads (each record's length says where the next one starts), so each record header was a
/// cache miss waited for in turn; the workers' first reads of a packet missed too. Fetched
/// ahead, the misses overlap. (Framing the 419 MB benchmark capture and touching every line
/// of every packet, 9 alternating runs: `read` 0.113 s of CPU, mapped 0.101 s, mapped and
/// fetched ahead 0.085 s.)
#[inline(always)]
fn prefetch_ahead(buf: &[u8], pos: usize, consumed: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut at = (pos + PREFETCH_AHEAD) & !63;
        let to = pos
            .saturating_add(consumed)
            .saturating_add(PREFETCH_AHEAD)
            .min(buf.len());
        while at < to {
            // SAFETY: a prefetch is a hint that never faults and reads nothing the program
            // sees; the address is inside `buf` (`at < to <= buf.len()`) anyway. SSE, which
            // `prefetcht0` belongs to, is part of every x86-64 CPU.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(buf.as_ptr().wrapping_add(at).cast()) };
            at += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, pos, consumed);
}

/// A pcap record's time in microseconds, from its two header words in the file's `units`.
#[inline(always)]
fn legacy_ts(b: &LegacyPcapBlock<'_>, units: u64) -> Micros {
    to_micros(u64::from(b.ts_sec) * units + u64::from(b.ts_usec), units, 0)
}

/// Decides one pcap record: damage when its header claims a bogus length, else its packet
/// with the time in the file header's units.
#[inline(always)]
fn legacy_record<'a>(
    data: &'a [u8],
    (parse, plain, big_endian, max_caplen): (LegacyParse, bool, bool, u32),
    interfaces: &[Interface],
    number: &mut u64,
    ended: Ended<'_>,
) -> Result<Record<'a>, Stop> {
    if let Some(stop) = legacy_bogus_caplen(data, big_endian, max_caplen, &ended) {
        return Err(stop);
    }
    let (consumed, b) = legacy_frame(data, parse, plain, big_endian).map_err(|e| ended.stop(e))?;
    *number += 1;
    let (units, link) = match interfaces.first() {
        Some(i) => (i.units, i.link),
        None => (1_000_000, Err(-1)),
    };
    let ts = legacy_ts(&b, units);
    Ok(Record::Read {
        consumed,
        packet: Some((link, ts, b.data, b.origlen)),
    })
}

/// One pcap record framed at the start of `data`, with the bytes it takes: the usual format
/// in place ([`plain_record`]), else (another format, or not all there) by `parse`, whose
/// error says how.
#[inline(always)]
fn legacy_frame(
    data: &[u8],
    parse: LegacyParse,
    plain: bool,
    big_endian: bool,
) -> Result<(usize, LegacyPcapBlock<'_>), nom::Err<PcapError<&[u8]>>> {
    match plain.then(|| plain_record(data, big_endian)).flatten() {
        Some(read) => Ok(read),
        None => parse(data).map(|(rest, b)| (data.len() - rest.len(), b)),
    }
}

/// An enhanced packet block's time on its interface.
fn epb_ts(epb: &pcap_parser::EnhancedPacketBlock<'_>, iface: &Interface) -> Micros {
    let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
    to_micros(raw, iface.units, iface.offset_secs)
}

/// A whole record of the usual pcap format (16-byte header, then its captured bytes) read in
/// place, as `pcap_parser::parse_pcap_frame` (or `_be`) reads it, with the bytes it takes;
/// `None` when the record is not all there (the parser then says how). The parser's call
/// through a pointer and its `nom` framing were about 50 instructions a packet.
#[inline(always)]
fn plain_record(data: &[u8], big_endian: bool) -> Option<(usize, LegacyPcapBlock<'_>)> {
    let word = |at: usize| {
        let b = [data[at], data[at + 1], data[at + 2], data[at + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    if data.len() < 16 {
        return None;
    }
    let caplen = word(8);
    let end = 16usize.checked_add(caplen as usize)?;
    let frame = data.get(16..end)?;
    Some((
        end,
        LegacyPcapBlock {
            ts_sec: word(0),
            ts_usec: word(4),
            caplen,
            origlen: word(12),
            data: frame,
        },
    ))
}

/// Decides whether a pcap record header claims more than any snapshot length: damage when
/// more data follows it (a bogus length), truncation when the input ends.
#[inline]
fn legacy_bogus_caplen(
    data: &[u8],
    big_endian: bool,
    max_caplen: u32,
    ended: &Ended<'_>,
) -> Option<Stop> {
    let caplen = data.get(8..12).map(|b| {
        let b = [b[0], b[1], b[2], b[3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    })?;
    if caplen <= max_caplen || (data.len() <= 16 && ended.exhausted) {
        return None;
    }
    if data.len() <= 16 {
        return Some(Ok(Some(17)));
    }
    Some(Err(CaptureError::Damaged {
        packet: ended.packet,
        offset: ended.offset,
        detail: format!(
            "record header claims {caplen} captured bytes, more than the snapshot length \
             ({max_caplen})"
        ),
    }))
}

/// One pcapng block in the section's byte order.
#[inline]
fn ng_parse(data: &[u8], big_endian: bool) -> IResult<&[u8], NgBlock<'_>, PcapError<&[u8]>> {
    if big_endian {
        parse_block_be(data)
    } else {
        parse_block_le(data)
    }
}

/// Decides what a pcapng block that does not parse is: skipped by its length (with a
/// warning) when its own length fields frame it completely, else more bytes needed,
/// truncation or damage.
#[cold]
fn ng_unreadable<'a>(
    data: &[u8],
    big_endian: bool,
    e: nom::Err<PcapError<&[u8]>>,
    ended: Ended<'_>,
    number: &mut u64,
    warnings: &mut Diagnostics,
    source: &str,
) -> Result<Record<'a>, Stop> {
    match ng_frame(data, big_endian) {
        NgFrame::Complete { typ, len } => {
            if matches!(typ, EPB_MAGIC | SPB_MAGIC) {
                *number += 1;
            }
            let why = match e {
                nom::Err::Incomplete(_) => "its contents overrun its length".into(),
                nom::Err::Error(e) | nom::Err::Failure(e) => damage_text(&e),
            };
            let offset = ended.offset;
            warnings.warn(WarnKind::PcapngBlockSkipped, || {
                format!(
                    "{source}: byte {offset}: pcapng block of type {typ:#010x} ({len} bytes) \
                     skipped: {why}"
                )
            });
            Ok(Record::Skipped(len))
        }
        NgFrame::Need(n) if n > data.len() => {
            Err(ended.stop(nom::Err::Incomplete(nom::Needed::new(n - data.len()))))
        }
        NgFrame::Bad(detail) => Err(Err(CaptureError::Damaged {
            packet: ended.packet,
            offset: ended.offset,
            detail,
        })),
        NgFrame::Need(_) => Err(ended.stop(e)),
    }
}

/// Decides what a parsed pcapng block contributes: a packet (with its interface's link type
/// and time), a new section or interface, TLS secrets, or nothing.
#[inline]
fn ng_block<'a>(
    block: NgBlock<'a>,
    kind: &mut Kind,
    interfaces: &mut Vec<Interface>,
    number: &mut u64,
    keylog: &super::tls::KeyLog,
    offset: u64,
) -> Result<Option<Packet<'a>>, CaptureError> {
    Ok(match block {
        NgBlock::SectionHeader(shb) => {
            *kind = Kind::Ng {
                big_endian: shb.big_endian(),
            };
            interfaces.clear();
            None
        }
        NgBlock::InterfaceDescription(idb) => {
            interfaces.push(Interface {
                link: LinkType::from_dlt(idb.linktype.0).ok_or(idb.linktype.0),
                units: ts_units(idb.if_tsresol),
                offset_secs: idb.if_tsoffset,
            });
            None
        }
        NgBlock::EnhancedPacket(epb) => {
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
            let ts = epb_ts(&epb, &iface);
            // `caplen` may be larger than the block really holds: clamp.
            let d = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
            Some((iface.link, ts, d, epb.origlen))
        }
        NgBlock::SimplePacket(spb) => {
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
        NgBlock::DecryptionSecrets(dsb) => {
            let d = dsb.data.get(..dsb.secrets_len as usize).unwrap_or(dsb.data);
            keylog.add_dsb(dsb.secrets_type.0, d);
            None
        }
        // Other blocks (statistics, name resolution, custom, …) carry nothing this tool reads.
        _ => None,
    })
}

/// Decides whether a packet goes on: every packet, whichever format framed it, is refused on
/// an undecodable link type (unless the options skip those) and otherwise passed to `f`.
#[inline]
fn hand_on(
    (link, ts, data, orig_len): Packet<'_>,
    number: u64,
    offset: u64,
    at: usize,
    skip_unknown_links: bool,
    f: &mut impl FnMut(&RawPacket<'_>),
) -> Result<(), CaptureError> {
    if let (Err(dlt), false) = (link, skip_unknown_links) {
        return Err(CaptureError::UnsupportedLinkType {
            linktype: dlt,
            packet: number,
            offset,
        });
    }
    f(&RawPacket {
        number,
        offset,
        ts,
        link: link.ok(),
        dlt: link.map_or_else(|d| d, |_| 0),
        data,
        orig_len,
        at,
    });
    Ok(())
}

/// Where parsing stopped at a record that did not parse, and what the input had left.
struct Ended<'a> {
    have: usize,
    exhausted: bool,
    read_error: &'a mut Option<io::Error>,
    /// Stream offset of the end of what was read.
    input_end: u64,
    /// The next packet's number and the record's offset.
    packet: u64,
    offset: u64,
}

impl Ended<'_> {
    /// Why parsing stopped: more bytes needed (`Ok(Some(total))`), the input ended inside the
    /// record (truncation, or the read error that ended it), or damage.
    fn stop(self, e: nom::Err<PcapError<&[u8]>>) -> Result<Option<usize>, CaptureError> {
        match e {
            nom::Err::Incomplete(_) if self.exhausted => match self.read_error.take() {
                Some(source) => Err(read_failed(self.input_end)(source)),
                None => Err(CaptureError::Truncated {
                    packet: self.packet,
                    offset: self.offset,
                }),
            },
            nom::Err::Incomplete(n) => Ok(Some(self.have.saturating_add(needed(n)))),
            nom::Err::Error(e) | nom::Err::Failure(e) => Err(CaptureError::Damaged {
                packet: self.packet,
                offset: self.offset,
                detail: damage_text(&e),
            }),
        }
    }
}

fn needed(n: nom::Needed) -> usize {
    match n {
        nom::Needed::Size(n) => n.get(),
        nom::Needed::Unknown => 1,
    }
}

/// A pcapng block's framing, from its own length fields only.
enum NgFrame {
    /// The block needs this many bytes (or at least the 12-byte frame).
    Need(usize),
    /// Both length fields agree and the whole block is here.
    Complete { typ: u32, len: usize },
    /// The length fields cannot frame a block: nothing after it can be trusted.
    Bad(String),
}

fn ng_frame(data: &[u8], big_endian: bool) -> NgFrame {
    let word = |at: usize| {
        data.get(at..at + 4).map(|b| {
            let b = [b[0], b[1], b[2], b[3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        })
    };
    let (Some(typ), Some(len)) = (word(0), word(4)) else {
        return NgFrame::Need(12);
    };
    if len < 12 || len % 4 != 0 {
        return NgFrame::Bad(format!(
            "block length {len} is not a multiple of 4 of at least 12"
        ));
    }
    let len = len as usize;
    match word(len - 4) {
        None => NgFrame::Need(len),
        Some(trailer) if trailer as usize == len => NgFrame::Complete { typ, len },
        Some(trailer) => NgFrame::Bad(format!(
            "block length {len} at its start but {trailer} at its end"
        )),
    }
}

/// The error for a read that failed after `offset` bytes of the (decompressed) input.
fn read_failed(offset: u64) -> impl FnOnce(io::Error) -> CaptureError {
    move |source| CaptureError::Read { offset, source }
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
    // Microseconds and nanoseconds (nearly every capture) without the 128-bit division
    // (the same floor: 10^6 / 10^9 is 1 / 1000).
    let us = match units {
        1_000_000 => i64::try_from(raw),
        1_000_000_000 => i64::try_from(raw / 1000),
        _ => i64::try_from(u128::from(raw) * 1_000_000 / u128::from(units)),
    };
    let us = us.unwrap_or(i64::MAX);
    us.saturating_add(offset_secs.saturating_mul(1_000_000))
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
    SHB_TYPE.starts_with(head) || PCAP_MAGICS.iter().any(|m| m.starts_with(head))
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
    use super::{PacketReader, BLOCK_BYTES};
    use crate::diag::WarnKind;

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

    /// A record header claiming more than any snapshot length: damage at that record when
    /// data follows it, truncation when the input ends right there; never an allocation.
    #[test]
    fn absurd_record_length_is_damage_when_data_follows() {
        let frames = conversation();
        let good = pcap(&frames, 1, false, false);
        let mut bytes = good.clone();
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        let header_only = bytes.clone();
        bytes.extend_from_slice(&[0u8; 100]);
        let o = run(bytes);
        assert_eq!(o.exchanges.len(), 1, "the packets before it are read");
        match o.result {
            Err(e @ CaptureError::Damaged { .. }) => assert_eq!(
                e.to_string(),
                format!(
                    "damaged capture at packet {} (byte {}): record header claims 2147483647 \
                     captured bytes, more than the snapshot length (262144)",
                    frames.len() + 1,
                    good.len()
                )
            ),
            other => panic!("{other:?}"),
        }
        match run(header_only).result {
            Err(CaptureError::Truncated { packet, offset }) => {
                assert_eq!(
                    (packet, offset),
                    (frames.len() as u64 + 1, good.len() as u64)
                )
            }
            other => panic!("{other:?}"),
        }
    }

    /// `--max-record-bytes` below the block size still holds.
    #[test]
    fn record_limit_holds_for_records_inside_a_block() {
        let frames = conversation();
        let opts = CaptureOptions {
            max_record_bytes: 80,
            ..CaptureOptions::default()
        };
        let o = run_with(pcap(&frames, 1, false, false), &opts);
        let first_big = frames.iter().position(|f| f.1.len() + 16 > 80).unwrap() as u64 + 1;
        match o.result {
            Err(CaptureError::RecordTooLarge { packet, limit, .. }) => {
                assert_eq!((packet, limit), (first_big, 80))
            }
            other => panic!("{other:?}"),
        }
    }

    /// A file header cut short says how much of it there was.
    #[test]
    fn short_file_header_names_its_length() {
        let p = pcap(&[], 1, false, false);
        let e = run(p[..20].to_vec()).result.unwrap_err();
        assert_eq!(
            e.to_string(),
            "truncated pcap file header: the input ends after 20 bytes"
        );
    }

    /// pcapng blocks that are complete by their length fields but unreadable inside are skipped
    /// by their length, with a warning naming their offset; the exchanges after them are read.
    #[test]
    fn unreadable_pcapng_blocks_are_skipped_by_their_length() {
        let mut v = Vec::new();
        pcapng_shb(&mut v);
        pcapng_idb(&mut v, 1, None);
        let mut offsets = Vec::new();
        for (i, port) in (40300u16..40306).enumerate() {
            let mut c = Conv::new(port);
            c.ts += i as i64 * 1_000_000;
            c.handshake();
            c.client(
                format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
                1460,
            );
            c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1460);
            c.fins();
            for (ts, f) in &c.frames {
                pcapng_epb(&mut v, 0, *ts as u64, f);
            }
            match i {
                // A 12-byte process information block (it needs more to be read).
                1 => {
                    offsets.push(v.len());
                    ng_block(&mut v, 0x8000_0001, &[]);
                }
                // An enhanced packet block whose captured length exceeds its block.
                3 => {
                    offsets.push(v.len());
                    let mut bad = Vec::new();
                    pcapng_epb(&mut bad, 0, 1, &c.frames[0].1);
                    bad[20..24].copy_from_slice(&5000u32.to_le_bytes());
                    v.extend(bad);
                }
                _ => {}
            }
        }
        let o = run(v);
        assert!(o.result.is_ok(), "{:?}", o.result);
        assert_eq!(o.exchanges.len(), 6);
        assert_eq!(o.diag.count(WarnKind::PcapngBlockSkipped), 2);
        let d = o.diag.details(WarnKind::PcapngBlockSkipped);
        assert!(
            d[0].starts_with(&format!(
                "test: byte {}: pcapng block of type 0x80000001 (12 bytes) skipped",
                offsets[0]
            )),
            "{d:?}"
        );
        assert!(
            d[1].starts_with(&format!(
                "test: byte {}: pcapng block of type 0x00000006",
                offsets[1]
            )),
            "{d:?}"
        );
    }

    /// A read error (a damaged gzip stream, a failing disk) comes after every packet before
    /// it, and names the offset the input reached.
    #[test]
    fn read_error_comes_after_every_packet_before_it() {
        struct Failing(std::io::Cursor<Vec<u8>>);
        impl std::io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                // Small reads, as from a pipe, then the error instead of the end.
                let n = buf.len().min(7);
                match self.0.read(&mut buf[..n])? {
                    0 => Err(std::io::Error::other("disk on fire")),
                    n => Ok(n),
                }
            }
        }
        let frames = conversation();
        let bytes = pcap(&frames, 1, false, false);
        for cut in [bytes.len(), bytes.len() - 5] {
            let mut exchanges = Vec::new();
            let r = super::super::read_capture(
                Box::new(std::io::BufReader::new(Failing(std::io::Cursor::new(
                    bytes[..cut].to_vec(),
                )))),
                "t".into(),
                &CaptureOptions::default(),
                &mut |e| exchanges.push(e),
                &mut crate::diag::Diagnostics::new(),
            );
            assert_eq!(exchanges.len(), 1, "cut {cut}");
            match r {
                Err(CaptureError::Read { offset, .. }) => assert_eq!(offset, cut as u64),
                other => panic!("{other:?}"),
            }
        }
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

    /// One conversation (`GET /<path>` on client port `port`) as a capture file of each
    /// format: pcap (little- or big-endian, micro- or nanoseconds, Ethernet or raw IP),
    /// pcapng.
    fn file_of(format: &str, port: u16, path: &str) -> Vec<u8> {
        file_at(format, port, path, Conv::new(port).ts)
    }

    /// [`file_of`] with its first packet at `start` (microseconds).
    fn file_at(format: &str, port: u16, path: &str, start: i64) -> Vec<u8> {
        framed(format, &conv_at(port, path, start))
    }

    /// The frames of one conversation (`GET /<path>` on client port `port`) from `start` on.
    fn conv_at(port: u16, path: &str, start: i64) -> Vec<Frame> {
        let mut c = Conv::new(port);
        c.ts = start;
        c.handshake();
        c.client(
            format!("GET /{path} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
            1460,
        );
        c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1460);
        c.fins();
        c.frames
    }

    /// Ethernet frames as one capture file of `format` ([`file_of`]).
    fn framed(format: &str, frames: &[Frame]) -> Vec<u8> {
        match format {
            "pcap" => pcap(frames, 1, false, false),
            "pcap-be-ns" => pcap(frames, 1, true, true),
            "pcap-raw-ip" => {
                let raw: Vec<Frame> = frames.iter().map(|(t, f)| (*t, f[14..].to_vec())).collect();
                pcap(&raw, 101, false, false)
            }
            _ => {
                let mut v = Vec::new();
                pcapng_shb(&mut v);
                pcapng_idb(&mut v, 1, None);
                for (ts, f) in frames {
                    pcapng_epb(&mut v, 0, *ts as u64, f);
                }
                v
            }
        }
    }

    /// (number, offset, time) of every packet a stream reader with blocks of `block` bytes
    /// hands on, and how its reading ended.
    type Read = (Vec<(u64, u64, i64)>, Result<(), CaptureError>);
    fn packets_of(bytes: Vec<u8>, opts: &CaptureOptions, block: usize) -> Read {
        let mut got = Vec::new();
        let ended = PacketReader::with_block_bytes(std::io::Cursor::new(bytes), opts, block)
            .and_then(|mut r| r.for_each(|p| got.push((p.number, p.offset, p.ts))));
        (got, ended)
    }

    const HOUR: i64 = 3_600_000_000;

    /// From a stream, which cannot be opened again, a part out of time order leaves the rest
    /// of the input from its header on ([`super::super::Rest`]), whatever block size cut it
    /// or held its header; read from there ([`super::super::Resume::at_offset`]), it gives
    /// the packets, numbers and offsets of the file opened again at the header. A part that
    /// holds more than twice the record limit before its first packet leaves none.
    #[test]
    fn a_stream_leaves_its_rest_at_a_part_out_of_time_order() {
        use std::io::Read as _;
        let t = Conv::new(0).ts;
        for (first, second) in [
            ("pcap", "pcap"),
            ("pcapng", "pcapng"),
            ("pcap", "pcapng"),
            ("pcapng", "pcap-be-ns"),
        ] {
            let a = file_at(first, 40100, "later", t + HOUR);
            let b = file_at(second, 40101, "earlier", t);
            let joined = [a.clone(), b.clone()].concat();
            let alone = packets_of(a.clone(), &CaptureOptions::default(), BLOCK_BYTES).0;
            let resume = |at_offset| CaptureOptions {
                resume: Some(super::super::Resume {
                    offset: a.len() as u64,
                    packets: alone.len() as u64,
                    exchanges: 1,
                    at_offset,
                    framing: None,
                    read_on: false,
                }),
                ..CaptureOptions::default()
            };
            let (reopened, ended) = packets_of(joined.clone(), &resume(false), BLOCK_BYTES);
            assert!(ended.is_ok(), "{first} then {second}: {ended:?}");
            for block in [64, 97, 256, 4096, BLOCK_BYTES] {
                let case = format!("{first} then {second}, blocks of {block}");
                let opts = CaptureOptions::default();
                let (got, ended) = packets_of(joined.clone(), &opts, block);
                assert_eq!(got, alone, "{case}");
                assert!(
                    matches!(ended, Err(CaptureError::PartsOutOfOrder { part_offset, .. }) if part_offset == a.len() as u64),
                    "{case}: {ended:?}"
                );
                let mut rest = Vec::new();
                let mut left = opts.rest.take().expect("a stream leaves its rest");
                left.read_to_end(&mut rest).unwrap();
                assert!(rest == b, "{case}: the rest is the second file");
                let (resumed, ended) = packets_of(rest, &resume(true), block);
                assert!(ended.is_ok(), "{case}: {ended:?}");
                assert_eq!(resumed, reopened, "{case}");
            }
        }
        // Five hundred interface blocks before the part's first packet: more than twice a
        // 4 KiB record limit.
        let mut b = Vec::new();
        pcapng_shb(&mut b);
        for _ in 0..500 {
            pcapng_idb(&mut b, 1, None);
        }
        for (ts, f) in conv_at(40101, "earlier", t) {
            pcapng_epb(&mut b, 0, ts as u64, &f);
        }
        let joined = [file_at("pcap", 40100, "later", t + HOUR), b].concat();
        let opts = CaptureOptions {
            max_record_bytes: 4096,
            ..CaptureOptions::default()
        };
        let (_, ended) = packets_of(joined, &opts, 1024);
        assert!(
            matches!(ended, Err(CaptureError::PartsOutOfOrder { .. })),
            "{ended:?}"
        );
        assert!(opts.rest.take().is_none());
    }

    /// Inside one part (`mergecap -a` writes the files it joins as one section), times that
    /// jump back and stay back start a part at the packet where they jump, framed as the part
    /// it was cut from, read on from a stream's rest or the file opened again. One packet
    /// with a broken clock does not, nor do interfaces whose clocks disagree.
    #[test]
    fn times_that_jump_back_and_stay_back_start_a_part() {
        use std::io::Read as _;
        let t = Conv::new(0).ts;
        let (later, earlier) = (
            conv_at(40100, "later", t + HOUR),
            conv_at(40101, "earlier", t),
        );
        let n = later.len() as u64;
        for format in ["pcap", "pcap-be-ns", "pcapng"] {
            let bytes = framed(format, &[later.clone(), earlier.clone()].concat());
            let first_len = framed(format, &later).len() as u64;
            for block in [64, 200, 1000, BLOCK_BYTES] {
                let case = format!("{format}, blocks of {block}");
                let opts = CaptureOptions::default();
                let (got, ended) = packets_of(bytes.clone(), &opts, block);
                assert_eq!(got.len() as u64, n, "{case}");
                let Err(CaptureError::PartsOutOfOrder {
                    packet,
                    part_offset,
                    back_secs,
                    framing,
                    ..
                }) = ended
                else {
                    panic!("{case}: {ended:?}");
                };
                assert_eq!((packet, part_offset), (n + 1, first_len), "{case}");
                assert!((3599..=3600).contains(&back_secs), "{case}: {back_secs}");
                assert!(framing.is_some(), "{case}");
                let mut rest = Vec::new();
                let mut left = opts.rest.take().expect("a stream leaves its rest");
                left.read_to_end(&mut rest).unwrap();
                assert!(rest[..] == bytes[first_len as usize..], "{case}");
                for (at_offset, source) in [(true, rest), (false, bytes.clone())] {
                    let opts = CaptureOptions {
                        resume: Some(super::super::Resume {
                            offset: part_offset,
                            packets: n,
                            exchanges: 1,
                            at_offset,
                            framing: framing.clone(),
                            read_on: false,
                        }),
                        ..CaptureOptions::default()
                    };
                    let (got, ended) = packets_of(source.clone(), &opts, block);
                    assert!(ended.is_ok(), "{case}: {ended:?}");
                    assert_eq!(got.len(), earlier.len(), "{case}");
                    assert_eq!((got[0].0, got[0].1), (n + 1, first_len), "{case}");
                    let o = run_with(source, &opts);
                    let urls: Vec<String> = summary(&o).into_iter().map(|s| s.1).collect();
                    assert_eq!(urls, ["http://h/earlier"], "{case}");
                    assert_eq!(o.exchanges[0].seq, 1, "{case}");
                }
            }
        }
        // One packet stamped an hour early, or an hour late, mid-conversation: read on in
        // place (after the late one, the rest is back only from it).
        for shift in [-HOUR, HOUR] {
            let mut broken = later.clone();
            broken[3].0 += shift;
            let o = run(framed("pcap", &broken));
            assert!(o.result.is_ok(), "{shift}: {:?}", o.result);
            assert_eq!(summary(&o).len(), 1, "{shift}");
        }
        // Two interfaces whose clocks disagree by an hour, their packets interleaved.
        let mut v = Vec::new();
        pcapng_shb(&mut v);
        pcapng_idb(&mut v, 1, None);
        pcapng_idb(&mut v, 1, None);
        for (a, b) in later.iter().zip(&conv_at(40101, "other", t + HOUR)) {
            pcapng_epb(&mut v, 0, a.0 as u64, &a.1);
            pcapng_epb(&mut v, 1, (b.0 - HOUR) as u64, &b.1);
        }
        let (got, ended) = packets_of(v, &CaptureOptions::default(), 256);
        assert!(ended.is_ok(), "{ended:?}");
        assert_eq!(got.len(), 2 * later.len());
    }

    #[test]
    fn capture_files_joined_end_to_end_read_as_one() {
        const FORMATS: [&str; 4] = ["pcap", "pcap-be-ns", "pcap-raw-ip", "pcapng"];
        for first in FORMATS {
            for second in FORMATS {
                let (a, b) = (file_of(first, 40100, "a"), file_of(second, 40101, "b"));
                let packets = {
                    let (oa, ob) = (run(a.clone()), run(b.clone()));
                    oa.result.unwrap().packets + ob.result.unwrap().packets
                };
                let o = run([a, b].concat());
                let case = format!("{first} then {second}");
                let stats = o.result.as_ref().unwrap_or_else(|e| panic!("{case}: {e}"));
                assert_eq!(stats.packets, packets, "{case}");
                let urls: Vec<String> = summary(&o).into_iter().map(|s| s.1).collect();
                assert_eq!(urls, ["http://h/a", "http://h/b"], "{case}");
                // pcapng holds several sections by design: only the other joins are told.
                let joined = u64::from(!(first == "pcapng" && second == "pcapng"));
                assert_eq!(
                    o.diag.count(WarnKind::CaptureConcatenated),
                    joined,
                    "{case}"
                );
                assert_eq!(
                    o.diag.counts().map(|(_, n)| n).sum::<u64>(),
                    joined,
                    "{case}: {:?}",
                    o.diag
                );
            }
        }
    }

    #[test]
    fn parts_joined_out_of_time_order_stop_where_the_earlier_part_begins() {
        let t = Conv::new(0).ts;
        for (first, second) in [("pcap", "pcap"), ("pcapng", "pcapng"), ("pcap", "pcapng")] {
            let case = format!("{first} then {second}");
            // The later recording first: the second part starts an hour before the first
            // ends. Its packets are not read; the first part's are.
            let a = file_at(first, 40100, "later", t + 3_600_000_000);
            let packets = run(a.clone()).result.unwrap().packets;
            let first_len = a.len() as u64;
            let joined = [a, file_at(second, 40101, "earlier", t)].concat();
            let o = run(joined);
            match &o.result {
                Err(CaptureError::PartsOutOfOrder {
                    packet,
                    back_secs,
                    part_offset,
                    ..
                }) => {
                    assert_eq!(*packet, packets + 1, "{case}");
                    assert_eq!(*back_secs, 3600, "{case}");
                    // A run of its own starts at the part's header, where the first file ends.
                    assert_eq!(*part_offset, first_len, "{case}");
                }
                other => panic!("{case}: {other:?}"),
            }
            let urls: Vec<String> = summary(&o).into_iter().map(|s| s.1).collect();
            assert_eq!(urls, ["http://h/later"], "{case}");
            // Resumed there, a run reads the earlier part, numbering on from the first's.
            let opts = CaptureOptions {
                resume: Some(super::super::Resume {
                    offset: first_len,
                    packets,
                    exchanges: 1,
                    at_offset: false,
                    framing: None,
                    read_on: false,
                }),
                ..CaptureOptions::default()
            };
            let joined = [
                file_at(first, 40100, "later", t + 3_600_000_000),
                file_at(second, 40101, "earlier", t),
            ]
            .concat();
            let o = run_with(joined, &opts);
            assert!(o.result.is_ok(), "{case}: {:?}", o.result);
            let urls: Vec<String> = summary(&o).into_iter().map(|s| s.1).collect();
            assert_eq!(urls, ["http://h/earlier"], "{case}");
            assert_eq!(o.exchanges[0].seq, 1, "{case}");
            assert!(
                o.exchanges[0]
                    .loc
                    .to_string()
                    .contains(&format!("packet {}", packets + 4)),
                "{case}: {}",
                o.exchanges[0].loc
            );
            // Within the clock lag a disordered capture may have (5 s back), both are read.
            let near = file_at(second, 40101, "earlier", t + 3_600_000_000 - 5_000_000);
            let o = run([file_at(first, 40100, "later", t + 3_600_000_000), near].concat());
            assert!(o.result.is_ok(), "{case}: {:?}", o.result);
            assert_eq!(summary(&o).len(), 2, "{case}");
        }
    }

    #[test]
    fn a_record_whose_time_spells_a_file_magic_is_a_record() {
        // 0xa1b2c3d4 seconds (2055) written little-endian is the pcap magic; the microseconds
        // after it are not a version 2 header's, so the record reads as a record.
        let mut c = Conv::new(40100);
        c.ts = 0xa1b2_c3d4 * 1_000_000 + 17;
        c.handshake();
        c.client(b"GET /r HTTP/1.1\r\nHost: h\r\n\r\n", 1460);
        let o = run(pcap(&c.frames, 1, false, false));
        assert_eq!(o.result.unwrap().packets, c.frames.len() as u64);
        assert_eq!(o.diag.count(WarnKind::CaptureConcatenated), 0);
        // A file magic at the end of the input with too few bytes for a header after it is a
        // cut record, as any other.
        let mut cut = file_of("pcap", 40100, "a");
        cut.extend_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]);
        let o = run(cut);
        assert!(
            matches!(o.result, Err(CaptureError::Truncated { .. })),
            "{:?}",
            o.result
        );
        assert_eq!(summary(&o).len(), 1);
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
        assert_eq!(
            o.diag.count(WarnKind::UnsupportedLinkType),
            frames.len() as u64
        );
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

    /// `bytes` as a mapped input ([`super::Source::Mapped`]), through a temporary file.
    fn mapped(bytes: &[u8], stop: bool) -> super::Source {
        mapped_file(bytes, stop).0
    }

    /// [`mapped`], and a handle on its temporary file (for a test to cut it).
    fn mapped_file(bytes: &[u8], stop: bool) -> (super::Source, std::fs::File) {
        use std::io::Write;
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        // SAFETY: the temporary file is this test's own; only a test that asks for the
        // handle changes it (to cut it under the map).
        let map = unsafe { memmap2::Mmap::map(&f) }.unwrap();
        let handle = f.try_clone().unwrap();
        let source = super::Source::Mapped {
            map: std::sync::Arc::new(map),
            file: f,
            stop: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(stop)),
        };
        (source, handle)
    }

    /// Every block size frames the same packets with the same result, sequentially and block
    /// by block: records cut by block ends, blocks grown for large records; and so does the
    /// mapped file, in windows of every size, its blocks being consecutive ranges of the map
    /// that hold their packets.
    #[test]
    fn block_size_does_not_change_the_packets() {
        use super::{Block, BlockSink, PacketReader, RawPacket, Source};
        type Seen = (Vec<(u64, u64, i64, Vec<u8>)>, Result<(), String>);
        fn read(bytes: &[u8], block: usize, blockwise: bool, map: bool) -> Seen {
            let mut seen = Vec::new();
            let opts = CaptureOptions::default();
            let source = if map {
                mapped(bytes, false)
            } else {
                Source::Stream(Box::new(std::io::Cursor::new(bytes.to_vec())))
            };
            let mut r = match PacketReader::open(source, &opts, block) {
                Ok(r) => r,
                Err(e) => return (seen, Err(e.to_string())),
            };
            struct Sink<'a> {
                seen: &'a mut Vec<(u64, u64, i64, Vec<u8>)>,
                /// This block's packets: where each is in the block, and its bytes.
                open: Vec<(usize, Vec<u8>)>,
                /// Where the last mapped block ended.
                mapped_end: Option<usize>,
            }
            impl BlockSink for Sink<'_> {
                fn packet(&mut self, p: &RawPacket<'_>) {
                    self.seen.push((p.number, p.offset, p.ts, p.data.to_vec()));
                    self.open.push((p.at, p.data.to_vec()));
                }
                fn block(&mut self, b: Block) -> Vec<u8> {
                    for (at, data) in self.open.drain(..) {
                        assert_eq!(b.get(at..at + data.len()), Some(&data[..]));
                    }
                    match b {
                        Block::Owned(v) => v,
                        Block::Mapped { range, .. } => {
                            assert_eq!(range.start, self.mapped_end.unwrap_or(range.start));
                            self.mapped_end = Some(range.end);
                            Vec::new()
                        }
                    }
                }
            }
            let res = if blockwise {
                let mut sink = Sink {
                    seen: &mut seen,
                    open: Vec::new(),
                    mapped_end: None,
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
            let base = read(&bytes, super::BLOCK_BYTES, false, false);
            assert!(!base.0.is_empty(), "{}", f.display());
            for map in [false, true] {
                for block in [64, 97, 1500, 4096, super::BLOCK_BYTES] {
                    for blockwise in [false, true] {
                        let o = read(&bytes, block, blockwise, map);
                        let at = format!("{} block {block} mapped {map}", f.display());
                        assert_eq!(o.1, base.1, "{at}");
                        assert_eq!(o.0, base.0, "{at}");
                    }
                }
            }
            // Cut inside the file: the same packets up to the cut, then the same error.
            let cut = &bytes[..bytes.len() * 2 / 3];
            let base = read(cut, super::BLOCK_BYTES, false, false);
            assert_eq!(read(cut, 100, true, false), base, "{}", f.display());
            for block in [100, super::BLOCK_BYTES] {
                for blockwise in [false, true] {
                    let o = read(cut, block, blockwise, true);
                    assert_eq!(o, base, "{} mapped, block {block}", f.display());
                }
            }
        }
    }

    /// A mapped file that another process cuts while it is read, past what was framed so far:
    /// the reader stops at the cut with the packets and error that reading the cut file gives
    /// (before, framing went on into the map past the file's end: zeros in the cut page, and
    /// SIGBUS past it).
    /// The cut comes at the first block handed on, at every block size and cut point.
    #[test]
    fn a_mapped_file_cut_while_read_reads_as_the_cut_file() {
        use super::{Block, BlockSink, PacketReader, RawPacket, Source};
        let bytes = pcap(&conversation(), 1, false, false);
        type Seen = (Vec<(u64, u64, Vec<u8>)>, Result<(), String>);
        let stream = |bytes: &[u8]| -> Seen {
            let mut seen = Vec::new();
            let source = Source::Stream(Box::new(std::io::Cursor::new(bytes.to_vec())));
            let res = PacketReader::open(source, &CaptureOptions::default(), 100)
                .and_then(|mut r| r.for_each(|p| seen.push((p.number, p.offset, p.data.to_vec()))));
            (seen, res.map_err(|e| e.to_string()))
        };
        struct Cutter<'a> {
            file: &'a std::fs::File,
            cut: Option<u64>,
            seen: Vec<(u64, u64, Vec<u8>)>,
        }
        impl BlockSink for Cutter<'_> {
            fn packet(&mut self, p: &RawPacket<'_>) {
                self.seen.push((p.number, p.offset, p.data.to_vec()));
            }
            fn block(&mut self, _: Block) -> Vec<u8> {
                if let Some(cut) = self.cut.take() {
                    self.file.set_len(cut).unwrap();
                }
                Vec::new()
            }
        }
        let mut checked = 0;
        for block in [64, 100, 300] {
            for cut in (block + 24..bytes.len()).step_by(37) {
                let (source, file) = mapped_file(&bytes, false);
                let mut cutter = Cutter {
                    file: &file,
                    cut: Some(cut as u64),
                    seen: Vec::new(),
                };
                let mut r = PacketReader::open(source, &CaptureOptions::default(), block).unwrap();
                // The first block is handed on once a record needs the next window, so the
                // cut (past the first window) comes after framing started and before it got
                // there.
                let res = r.for_each_block(&mut cutter).map_err(|e| e.to_string());
                let want = stream(&bytes[..cut]);
                // Packets the reader framed before the cut came are whole and stay; from the
                // cut on, the map reads as the cut file.
                assert_eq!((cutter.seen, res), want, "block {block}, cut at {cut}");
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
    }

    /// A mapped file cut inside its last record: every packet before it, then the error
    /// `read` gives, naming the same packet and offset; a stop ends it as the end of a file.
    #[test]
    fn mapped_truncation_and_stop_read_as_a_stream() {
        let frames = conversation();
        let mut bytes = pcap(&frames, 1, false, false);
        let extra = pcap(&frames[3..4], 1, false, false);
        bytes.extend_from_slice(&extra[24..24 + 16 + 10]);
        let run_source = |source| {
            let mut exchanges = Vec::new();
            let mut diag = crate::diag::Diagnostics::new();
            let result = super::super::read_capture_from(
                source,
                std::sync::Arc::from("test"),
                &CaptureOptions::default(),
                &mut |e| exchanges.push(e),
                &mut diag,
            );
            (
                exchanges.len(),
                result.map(|s| s.packets).map_err(|e| e.to_string()),
            )
        };
        let stream = run(bytes.clone());
        let stream = (
            stream.exchanges.len(),
            stream.result.map(|s| s.packets).map_err(|e| e.to_string()),
        );
        assert!(
            stream.1.as_ref().is_err_and(|e| e.contains("truncated")),
            "{stream:?}"
        );
        assert_eq!(run_source(mapped(&bytes, false)), stream);
        // Stopped before the first read: nothing read, as from a stream that ended at once.
        assert_eq!(
            run_source(mapped(&bytes, true)),
            (0, Err(CaptureError::Empty.to_string()))
        );
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

    proptest::proptest! {
        /// The microsecond and nanosecond shortcuts give the 128-bit division's result.
        #[test]
        fn to_micros_shortcuts_equal_the_division(raw in proptest::prelude::any::<u64>(), nanos: bool, offset in -1_000_000i64..1_000_000) {
            let units: u64 = if nanos { 1_000_000_000 } else { 1_000_000 };
            let want = i64::try_from(u128::from(raw) * 1_000_000 / u128::from(units))
                .unwrap_or(i64::MAX)
                .saturating_add(offset.saturating_mul(1_000_000));
            proptest::prop_assert_eq!(super::to_micros(raw, units, offset), want);
        }

        /// A record read in place is the one `pcap_parser` reads (fields, bytes taken), in
        /// both byte orders; where it declines, the record is not all there.
        #[test]
        fn plain_records_read_as_the_parser_reads_them(
            header in proptest::prelude::any::<[u8; 16]>(),
            caplen in 0u32..64,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
            cut in 0usize..100,
            big_endian: bool,
        ) {
            let mut data = header.to_vec();
            let len = if big_endian { caplen.to_be_bytes() } else { caplen.to_le_bytes() };
            data[8..12].copy_from_slice(&len);
            data.extend_from_slice(&body);
            data.truncate(cut);
            let parsed = if big_endian {
                pcap_parser::pcap::parse_pcap_frame_be(&data)
            } else {
                pcap_parser::pcap::parse_pcap_frame(&data)
            };
            let shown = |(n, b): (usize, pcap_parser::LegacyPcapBlock<'_>)| {
                (n, b.ts_sec, b.ts_usec, b.caplen, b.origlen, b.data.to_vec())
            };
            match super::plain_record(&data, big_endian) {
                Some(read) => {
                    let want = parsed.map(|(rest, b)| shown((data.len() - rest.len(), b)));
                    proptest::prop_assert_eq!(Some(shown(read)), want.ok());
                }
                None => proptest::prop_assert!(parsed.is_err()),
            }
        }
    }
}
