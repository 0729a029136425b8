//! Step 2 (decode): one captured frame to a borrowed TCP segment view. Walks the link layer by
//! hand (Ethernet, 802.1Q/QinQ, MPLS, PPPoE, Linux SLL/SLL2, BSD loopback, raw IP, NFLOG) and
//! leaves IP and TCP to `etherparse`'s lax slices, so snaplen-truncated packets still yield the
//! bytes that were captured. Nothing is copied.
//!
//! Contract: every function here takes untrusted bytes and never panics; all reads go through
//! `get`, and any length problem becomes a [`Decoded`] value.

use std::net::IpAddr;

use etherparse::{ip_number, LaxNetSlice, LaxSlicedPacket, TransportSlice};

use super::tcp::{Endpoint, SeqNumber};

/// Link-layer header types (pcap `LINKTYPE_*` values) that can be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// 1: Ethernet II (VLAN, QinQ, MPLS and PPPoE inside are handled).
    Ethernet,
    /// 0: BSD loopback, 4-byte address family in the capturing host's byte order.
    Null,
    /// 108: OpenBSD loopback, address family in network byte order.
    Loop,
    /// 101, and the BSD values 12 and 14: raw IPv4 or IPv6.
    Raw,
    /// 228: raw IPv4.
    Ipv4,
    /// 229: raw IPv6.
    Ipv6,
    /// 113: Linux "cooked" capture v1 (`-i any`).
    LinuxSll,
    /// 276: Linux "cooked" capture v2 (`-i any` since libpcap 1.10).
    LinuxSll2,
    /// 239: Linux netfilter NFLOG.
    Nflog,
}

impl LinkType {
    /// The link type for a pcap/pcapng `LINKTYPE_` value, `None` when unsupported.
    pub fn from_dlt(dlt: i32) -> Option<LinkType> {
        Some(match dlt {
            1 => LinkType::Ethernet,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            101 | 12 | 14 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            239 => LinkType::Nflog,
            _ => return None,
        })
    }
}

/// TCP flag bits as on the wire (low byte of the flags field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// A TCP segment borrowed from the capture buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    /// The payload bytes that were captured.
    pub payload: &'a [u8],
    /// Payload bytes the IP header announces beyond the captured ones (snaplen truncation).
    pub missing: u32,
}

/// The outcome of decoding one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    /// Not IP, or IP but not TCP: nothing for us, nothing wrong.
    Other,
    /// A non-atomic IP fragment (not reassembled).
    Fragment,
    /// Cut off before the end of the TCP header.
    Truncated,
    /// An IP header that does not parse.
    Malformed,
}

/// How many nested link headers (VLAN tags, MPLS labels, PPPoE) are followed before giving up.
pub const MAX_LINK_NESTING: usize = 8;

/// Decodes one frame captured with link type `link`.
pub fn decode(link: LinkType, frame: &[u8]) -> Decoded<'_> {
    match link {
        LinkType::Ethernet => ethernet(frame, 0),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => ip(frame),
        LinkType::Null => loopback(frame, false),
        LinkType::Loop => loopback(frame, true),
        LinkType::LinuxSll => match (be16(frame, 14), frame.get(16..)) {
            (Some(proto), Some(rest)) => ether_type(proto, rest, 0),
            _ => Decoded::Truncated,
        },
        LinkType::LinuxSll2 => match (be16(frame, 0), frame.get(20..)) {
            (Some(proto), Some(rest)) => ether_type(proto, rest, 0),
            _ => Decoded::Truncated,
        },
        LinkType::Nflog => nflog(frame),
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn ethernet(frame: &[u8], depth: usize) -> Decoded<'_> {
    match (be16(frame, 12), frame.get(14..)) {
        (Some(et), Some(rest)) => ether_type(et, rest, depth),
        _ => Decoded::Truncated,
    }
}

/// Follows an EtherType through tags and labels down to IP.
fn ether_type(mut et: u16, mut rest: &[u8], mut depth: usize) -> Decoded<'_> {
    loop {
        depth += 1;
        if depth > MAX_LINK_NESTING {
            return Decoded::Other;
        }
        match et {
            0x0800 | 0x86dd => return ip(rest),
            // 802.1Q, 802.1ad (QinQ) and the pre-standard QinQ values.
            0x8100 | 0x88a8 | 0x9100 | 0x9200 => match (be16(rest, 2), rest.get(4..)) {
                (Some(inner), Some(r)) => {
                    et = inner;
                    rest = r;
                }
                _ => return Decoded::Truncated,
            },
            // MPLS unicast/multicast: labels until bottom-of-stack, then guess by the nibble.
            0x8847 | 0x8848 => {
                let mut r = rest;
                loop {
                    let (Some(label), Some(after)) = (r.get(..4), r.get(4..)) else {
                        return Decoded::Truncated;
                    };
                    r = after;
                    let bottom = label.get(2).is_some_and(|b| b & 1 == 1);
                    if bottom {
                        break;
                    }
                    depth += 1;
                    if depth > MAX_LINK_NESTING {
                        return Decoded::Other;
                    }
                }
                return match r.first().map(|b| b >> 4) {
                    Some(4) | Some(6) => ip(r),
                    // Pseudowire control word, then an Ethernet frame.
                    Some(0) => match r.get(4..) {
                        Some(inner) => ethernet(inner, depth),
                        None => Decoded::Truncated,
                    },
                    Some(_) => Decoded::Other,
                    None => Decoded::Truncated,
                };
            }
            // PPPoE session: 6-byte header, then the PPP protocol number.
            0x8864 => {
                return match (be16(rest, 6), rest.get(8..)) {
                    (Some(0x0021), Some(r)) | (Some(0x0057), Some(r)) => ip(r),
                    (Some(_), Some(_)) => Decoded::Other,
                    _ => Decoded::Truncated,
                }
            }
            _ => return Decoded::Other,
        }
    }
}

fn loopback(frame: &[u8], network_order: bool) -> Decoded<'_> {
    let (Some(fam), Some(rest)) = (frame.get(..4), frame.get(4..)) else {
        return Decoded::Truncated;
    };
    let raw = [
        fam.first().copied().unwrap_or(0),
        fam.get(1).copied().unwrap_or(0),
        fam.get(2).copied().unwrap_or(0),
        fam.get(3).copied().unwrap_or(0),
    ];
    let be = u32::from_be_bytes(raw);
    let le = u32::from_le_bytes(raw);
    // DLT_NULL is in the capturing host's byte order, which the file does not record: the
    // family is a small number, so whichever reading is small is the right one.
    let family = if network_order || be < 0x100 { be } else { le };
    match family {
        // AF_INET everywhere; AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS.
        2 | 10 | 24 | 28 | 30 => ip(rest),
        _ => match rest.first().map(|b| b >> 4) {
            Some(4) | Some(6) => ip(rest),
            _ => Decoded::Other,
        },
    }
}

/// NFLOG: a 4-byte header, then TLVs (length and type in the capturing host's byte order,
/// padded to 4 bytes); the packet is the `NFULA_PAYLOAD` (type 9) TLV.
fn nflog(frame: &[u8]) -> Decoded<'_> {
    let Some(family) = frame.first().copied() else {
        return Decoded::Truncated;
    };
    if family != 2 && family != 10 {
        return Decoded::Other;
    }
    let mut off = 4usize;
    while let Some(tl) = frame.get(off..off.saturating_add(4)) {
        let (l0, l1, t0, t1) = match tl {
            [a, b, c, d] => (*a, *b, *c, *d),
            _ => return Decoded::Truncated,
        };
        let fits = |len: usize| len >= 4 && off.saturating_add(len) <= frame.len();
        let (len, typ) = {
            let le = usize::from(u16::from_le_bytes([l0, l1]));
            let be = usize::from(u16::from_be_bytes([l0, l1]));
            if fits(le) {
                (le, u16::from_le_bytes([t0, t1]))
            } else if fits(be) {
                (be, u16::from_be_bytes([t0, t1]))
            } else {
                return Decoded::Truncated;
            }
        };
        if typ & 0x7fff == 9 {
            return match frame.get(off + 4..off + len) {
                Some(p) => ip(p),
                None => Decoded::Truncated,
            };
        }
        off = off.saturating_add((len + 3) & !3);
    }
    Decoded::Other
}

/// IPv4/IPv6 (with extension headers) and TCP, laxly: a payload cut short by the snaplen keeps
/// its captured part and reports the rest as `missing`.
fn ip(data: &[u8]) -> Decoded<'_> {
    match data.first().map(|b| b >> 4) {
        Some(4) | Some(6) => {}
        Some(_) => return Decoded::Other,
        None => return Decoded::Truncated,
    }
    let pkt = match LaxSlicedPacket::from_ip(data) {
        Ok(p) => p,
        Err(_) if data.len() < 40 => return Decoded::Truncated,
        Err(_) => return Decoded::Malformed,
    };
    let (src, dst, payload, declared_total) = match &pkt.net {
        Some(LaxNetSlice::Ipv4(s)) => {
            let h = s.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                s.payload(),
                usize::from(h.total_len()),
            )
        }
        Some(LaxNetSlice::Ipv6(s)) => {
            let h = s.header();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                s.payload(),
                40 + usize::from(h.payload_length()),
            )
        }
        _ => return Decoded::Other,
    };
    if payload.fragmented {
        return Decoded::Fragment;
    }
    if payload.ip_number != ip_number::TCP {
        return Decoded::Other;
    }
    let Some(TransportSlice::Tcp(tcp)) = &pkt.transport else {
        return Decoded::Truncated;
    };
    // Where the IP payload starts inside `data`: both slices point into the same buffer.
    let ip_hdr_len = (payload.payload.as_ptr() as usize).saturating_sub(data.as_ptr() as usize);
    let tcp_hdr_len = tcp.header_slice().len();
    let captured = tcp.payload();
    // A zero or too-small length field (TSO/LRO captures taken before the stack filled it in)
    // is not believed: then the captured length is all there is.
    let missing = if declared_total > ip_hdr_len + tcp_hdr_len + captured.len() {
        (declared_total - ip_hdr_len - tcp_hdr_len - captured.len()) as u32
    } else {
        0
    };
    let slice = tcp.slice();
    let flags = slice.get(13).copied().unwrap_or(0);
    Decoded::Tcp(Segment {
        src: Endpoint {
            ip: src,
            port: tcp.source_port(),
        },
        dst: Endpoint {
            ip: dst,
            port: tcp.destination_port(),
        },
        seq: SeqNumber(tcp.sequence_number()),
        ack: SeqNumber(tcp.acknowledgment_number()),
        flags: TcpFlags(flags),
        payload: captured,
        missing,
    })
}
