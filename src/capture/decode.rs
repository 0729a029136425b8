//! Step 2 (decode): one captured frame to a borrowed TCP segment view. Walks the link layer,
//! tunnels and IP by hand (Ethernet, 802.1Q/QinQ, MPLS, PPPoE, Linux SLL/SLL2, BSD loopback,
//! raw IP, NFLOG; VXLAN, VXLAN-GPE, Geneve, GRE with its options and transparent Ethernet
//! bridging, ERSPAN I/II/III, IP-in-IP and IPv6-in-IPv4; IPv6 extension headers, IPsec AH) and
//! leaves the IPv4/IPv6/TCP header checks to `etherparse`, laxly, so snaplen-truncated packets
//! still yield the bytes that were captured. Nothing is copied. IP fragments are handed to
//! [`super::frag`] and come back as a reassembled [`Datagram`]; [`Decoder`] holds that state
//! (and the QUIC connections counted), and turns every outcome that is not a TCP segment into
//! a counted warning: nothing is dropped silently.
//!
//! Contract: every function here takes untrusted bytes and never panics; all reads go through
//! `get`, and any length problem becomes a [`Decoded`] value. Nesting (tags, labels, tunnels)
//! is bounded by [`MAX_NESTING`].

use std::net::IpAddr;
use std::sync::Arc;

use etherparse::err::{ipv4, ipv6, tcp};
use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice, TcpHeaderSlice};

use super::frag::{Datagram, Defrag, FragLimits};
use super::tcp::{Endpoint, PacketMeta, SeqNumber};
use crate::diag::{Diagnostics, WarnKind};

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

/// `LINKTYPE_` values and the link types they decode as; the first value of a link type is
/// the one written out (`corscope split`).
const LINK_TYPES: [(i32, LinkType); 11] = [
    (1, LinkType::Ethernet),
    (0, LinkType::Null),
    (108, LinkType::Loop),
    (101, LinkType::Raw),
    (12, LinkType::Raw),
    (14, LinkType::Raw),
    (228, LinkType::Ipv4),
    (229, LinkType::Ipv6),
    (113, LinkType::LinuxSll),
    (276, LinkType::LinuxSll2),
    (239, LinkType::Nflog),
];

impl LinkType {
    /// The link type for a pcap/pcapng `LINKTYPE_` value, `None` when unsupported.
    pub(crate) fn from_dlt(dlt: i32) -> Option<LinkType> {
        LINK_TYPES.iter().find(|(d, _)| *d == dlt).map(|(_, l)| *l)
    }

    /// The `LINKTYPE_` value to write for this link type.
    pub(crate) fn dlt(self) -> i32 {
        LINK_TYPES
            .iter()
            .find(|(_, l)| *l == self)
            .map_or(0, |(d, _)| *d)
    }
}

/// TCP flag bits as on the wire (low byte of the flags field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub(crate) const FIN: u8 = 0x01;
    pub(crate) const SYN: u8 = 0x02;
    pub(crate) const RST: u8 = 0x04;
    pub(crate) const ACK: u8 = 0x10;

    pub(crate) fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub(crate) fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub(crate) fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub(crate) fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// A UDP datagram that looks like QUIC, borrowed from the capture buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp<'a> {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub payload: &'a [u8],
    /// It is QUIC by itself (a long header, or port 443), so it may start a connection;
    /// otherwise it only has the fixed bit of a short header, and is QUIC only on a
    /// connection already known (a short header says too little: no version, no ID length).
    pub opens: bool,
}

/// What a packet carries to the connection table: a TCP segment or a QUIC datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carried<'a> {
    Tcp(Segment<'a>),
    Quic(Udp<'a>),
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

/// A non-atomic IPv4 or IPv6 fragment, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The IP identification (16 bits in IPv4, 32 in IPv6).
    pub id: u32,
    /// The protocol of the whole datagram's payload.
    pub proto: u8,
    /// Byte offset of `data` in the datagram's payload.
    pub offset: u32,
    /// More fragments follow (false: this is the last one).
    pub more: bool,
    /// The fragment's captured data.
    pub data: &'a [u8],
    /// Data bytes the IP header announces beyond the captured ones (snaplen truncation).
    pub missing: u32,
    /// Headers already walked to reach it (see [`MAX_NESTING`]).
    pub depth: usize,
}

/// An encapsulation recognised but not decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// More nested headers than [`MAX_NESTING`].
    TooDeep,
    /// GRE version 1 (PPTP) or a reserved version.
    GreVersion(u16),
    /// GRE with the (deprecated, RFC 1701) routing field.
    GreRouting,
    /// GRE, Geneve or VXLAN-GPE carrying a protocol not followed here.
    Protocol(&'static str, u16),
    /// ERSPAN header version not known.
    ErspanVersion(u8),
    /// IPsec ESP: encrypted.
    Esp,
}

impl Unsupported {
    /// The warning kind and what to say about it: the one table of these messages.
    fn describe(self) -> (WarnKind, String) {
        match self {
            Unsupported::TooDeep => (
                WarnKind::EncapsulationTooDeep,
                format!("more than {MAX_NESTING} nested headers (tags, labels, tunnels)"),
            ),
            Unsupported::GreVersion(v) => (
                WarnKind::UnsupportedEncapsulation,
                format!("GRE version {v} (1 is PPTP) not decoded"),
            ),
            Unsupported::GreRouting => (
                WarnKind::UnsupportedEncapsulation,
                "GRE with source routing (RFC 1701) not decoded".to_string(),
            ),
            Unsupported::Protocol(tunnel, p) => (
                WarnKind::UnsupportedEncapsulation,
                format!("{tunnel} carrying protocol {p:#06x} not decoded"),
            ),
            Unsupported::ErspanVersion(v) => (
                WarnKind::UnsupportedEncapsulation,
                format!("ERSPAN header version {v} not decoded"),
            ),
            Unsupported::Esp => (
                WarnKind::UnsupportedEncapsulation,
                "IPsec ESP (encrypted) not decoded".to_string(),
            ),
        }
    }
}

/// The outcome of decoding one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    /// Not IP, or IP carrying nothing for us (ICMP, DNS, …): nothing wrong.
    Other,
    /// A non-atomic IP fragment: [`Decoder`] reassembles it.
    Fragment(Fragment<'a>),
    /// A UDP datagram of QUIC packets (HTTP/3), for the connection table.
    Quic(Udp<'a>),
    /// Cut off before the end of the named header.
    Truncated(&'static str),
    /// The named header does not parse.
    Malformed(&'static str),
    /// An encapsulation recognised but not decoded.
    Unsupported(Unsupported),
}

impl Decoded<'_> {
    /// Whether the outcome needs state across packets ([`Decoder::settle`]).
    pub(crate) fn needs_state(&self) -> bool {
        matches!(self, Decoded::Fragment(_))
    }
}

/// How many nested headers (VLAN tags, MPLS labels, PPPoE, tunnels and the IP headers inside
/// them) are followed before giving up (`encapsulation-too-deep`).
pub(crate) const MAX_NESTING: usize = 16;

/// IPv6 extension headers walked before the header chain is called malformed.
const MAX_IPV6_EXTENSIONS: usize = 16;

/// UDP destination ports of the tunnels decoded.
const UDP_TUNNELS: &[(u16, UdpTunnel)] = &[
    (4789, UdpTunnel::Vxlan),
    // The Linux kernel's VXLAN port before IANA's (also Cisco OTV).
    (8472, UdpTunnel::Vxlan),
    (4790, UdpTunnel::VxlanGpe),
    (6081, UdpTunnel::Geneve),
];

#[derive(Clone, Copy, Debug)]
enum UdpTunnel {
    Vxlan,
    VxlanGpe,
    Geneve,
}

/// IP protocol numbers.
const IP_IN_IP: u8 = 4;
const TCP: u8 = 6;
const UDP: u8 = 17;
const IPV6_IN_IP: u8 = 41;
const GRE: u8 = 47;
const ESP: u8 = 50;
const AH: u8 = 51;

/// IP protocols whose packets `decode` looks into: for any other protocol an unfragmented
/// packet is [`Decoded::Other`] (the parallel reader's shortcut relies on this).
pub(crate) fn looks_into(proto: u8) -> bool {
    matches!(proto, IP_IN_IP | TCP | UDP | IPV6_IN_IP | GRE | ESP | AH)
}

/// EtherTypes.
const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
/// Transparent Ethernet bridging: an Ethernet frame (GRE, Geneve).
const ETH_BRIDGED: u16 = 0x6558;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MULTICAST: u16 = 0x8848;
const ETH_PPPOE: u16 = 0x8864;
/// 802.1Q, 802.1ad (QinQ) and the pre-standard QinQ values.
const ETH_VLAN: [u16; 4] = [0x8100, 0x88a8, 0x9100, 0x9200];
/// ERSPAN types I and II, and type III (GRE protocol types).
const ERSPAN_2: u16 = 0x88be;
const ERSPAN_3: u16 = 0x22eb;

/// Whether [`ether_type`] follows this EtherType (towards IP).
fn follows_ether_type(et: u16) -> bool {
    matches!(
        et,
        ETH_IPV4 | ETH_IPV6 | ETH_BRIDGED | ETH_MPLS | ETH_MPLS_MULTICAST | ETH_PPPOE
    ) || ETH_VLAN.contains(&et)
}

/// Decodes one frame captured with link type `link`.
pub fn decode(link: LinkType, frame: &[u8]) -> Decoded<'_> {
    match plain_tcp4(link, frame) {
        Some(seg) => Decoded::Tcp(seg),
        None => walk(link, frame),
    }
}

/// [`decode`] layer by layer: every shape.
fn walk(link: LinkType, frame: &[u8]) -> Decoded<'_> {
    match link {
        LinkType::Ethernet => ethernet(frame, 0),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => ip(frame, 0),
        LinkType::Null => loopback(frame, false),
        LinkType::Loop => loopback(frame, true),
        LinkType::LinuxSll => match (be16(frame, 14), frame.get(16..)) {
            (Some(proto), Some(rest)) => ether_type(proto, rest, 0),
            _ => Decoded::Truncated("Linux cooked header"),
        },
        LinkType::LinuxSll2 => match (be16(frame, 0), frame.get(20..)) {
            (Some(proto), Some(rest)) => ether_type(proto, rest, 0),
            _ => Decoded::Truncated("Linux cooked header"),
        },
        LinkType::Nflog => nflog(frame),
    }
}

/// The common shape read straight from fixed offsets: Ethernet II or raw IP, an IPv4 header
/// without options and not a fragment, a whole TCP header. `None` for anything else, which
/// the general walk decodes (with the same outcome here: a property test checks the two
/// agree). Going through the layered walk cost a few hundred instructions a packet.
fn plain_tcp4(link: LinkType, frame: &[u8]) -> Option<Segment<'_>> {
    let ip = match link {
        LinkType::Ethernet => match frame {
            [_, _, _, _, _, _, _, _, _, _, _, _, 0x08, 0x00, ip @ ..] => ip,
            _ => return None,
        },
        LinkType::Raw | LinkType::Ipv4 => frame,
        _ => return None,
    };
    let h: &[u8; 20] = ip.get(..20)?.try_into().ok()?;
    // Version 4, 20-byte header, TCP, neither more fragments nor an offset.
    if h[0] != 0x45 || h[9] != TCP || (h[6] & 0x3f) != 0 || h[7] != 0 {
        return None;
    }
    let (payload, missing) = ip_payload(ip, 20, usize::from(u16::from_be_bytes([h[2], h[3]])));
    let t: &[u8; 20] = payload.get(..20)?.try_into().ok()?;
    let hlen = usize::from(t[12] >> 4) * 4;
    if hlen < 20 {
        return None;
    }
    let data = payload.get(hlen..)?;
    let word = |at: usize| u32::from_be_bytes([t[at], t[at + 1], t[at + 2], t[at + 3]]);
    let addr = |at: usize| IpAddr::from([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    Some(Segment {
        src: Endpoint {
            ip: addr(12),
            port: u16::from_be_bytes([t[0], t[1]]),
        },
        dst: Endpoint {
            ip: addr(16),
            port: u16::from_be_bytes([t[2], t[3]]),
        },
        seq: SeqNumber(word(4)),
        ack: SeqNumber(word(8)),
        flags: TcpFlags(t[13]),
        payload: data,
        missing,
    })
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(be16(d, at)?) << 16 | u32::from(be16(d, at.checked_add(2)?)?))
}

/// One level deeper, or the nesting limit's outcome.
fn deeper(depth: usize) -> Result<usize, Decoded<'static>> {
    if depth >= MAX_NESTING {
        Err(Decoded::Unsupported(Unsupported::TooDeep))
    } else {
        Ok(depth + 1)
    }
}

fn ethernet(frame: &[u8], depth: usize) -> Decoded<'_> {
    match (be16(frame, 12), frame.get(14..)) {
        (Some(et), Some(rest)) => ether_type(et, rest, depth),
        _ => Decoded::Truncated("Ethernet header"),
    }
}

/// Follows an EtherType through tags, labels and bridged frames down to IP.
fn ether_type(mut et: u16, mut rest: &[u8], mut depth: usize) -> Decoded<'_> {
    loop {
        depth = match deeper(depth) {
            Ok(d) => d,
            Err(e) => return e,
        };
        match et {
            ETH_IPV4 | ETH_IPV6 => return ip(rest, depth),
            ETH_BRIDGED => return ethernet(rest, depth),
            t if ETH_VLAN.contains(&t) => match (be16(rest, 2), rest.get(4..)) {
                (Some(inner), Some(r)) => {
                    et = inner;
                    rest = r;
                }
                _ => return Decoded::Truncated("VLAN tag"),
            },
            // MPLS unicast/multicast: labels until bottom-of-stack, then guess by the nibble.
            ETH_MPLS | ETH_MPLS_MULTICAST => {
                let mut r = rest;
                loop {
                    let (Some(label), Some(after)) = (r.get(..4), r.get(4..)) else {
                        return Decoded::Truncated("MPLS label");
                    };
                    r = after;
                    if label.get(2).is_some_and(|b| b & 1 == 1) {
                        break;
                    }
                    depth = match deeper(depth) {
                        Ok(d) => d,
                        Err(e) => return e,
                    };
                }
                return match r.first().map(|b| b >> 4) {
                    Some(4) | Some(6) => ip(r, depth),
                    // Pseudowire control word, then an Ethernet frame.
                    Some(0) => match r.get(4..) {
                        Some(inner) => ethernet(inner, depth),
                        None => Decoded::Truncated("MPLS control word"),
                    },
                    Some(_) => Decoded::Other,
                    None => Decoded::Truncated("MPLS payload"),
                };
            }
            // PPPoE session: 6-byte header, then the PPP protocol number.
            ETH_PPPOE => {
                return match (be16(rest, 6), rest.get(8..)) {
                    (Some(0x0021), Some(r)) | (Some(0x0057), Some(r)) => ip(r, depth),
                    (Some(_), Some(_)) => Decoded::Other,
                    _ => Decoded::Truncated("PPPoE header"),
                }
            }
            _ => return Decoded::Other,
        }
    }
}

fn loopback(frame: &[u8], network_order: bool) -> Decoded<'_> {
    let (Some(fam), Some(rest)) = (frame.get(..4), frame.get(4..)) else {
        return Decoded::Truncated("loopback header");
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
        2 | 10 | 24 | 28 | 30 => ip(rest, 0),
        _ => match rest.first().map(|b| b >> 4) {
            Some(4) | Some(6) => ip(rest, 0),
            _ => Decoded::Other,
        },
    }
}

/// NFLOG: a 4-byte header, then TLVs (length and type in the capturing host's byte order,
/// padded to 4 bytes); the packet is the `NFULA_PAYLOAD` (type 9) TLV.
fn nflog(frame: &[u8]) -> Decoded<'_> {
    let Some(family) = frame.first().copied() else {
        return Decoded::Truncated("NFLOG header");
    };
    if family != 2 && family != 10 {
        return Decoded::Other;
    }
    let mut off = 4usize;
    while let Some(tl) = frame.get(off..off.saturating_add(4)) {
        let (l0, l1, t0, t1) = match tl {
            [a, b, c, d] => (*a, *b, *c, *d),
            _ => return Decoded::Truncated("NFLOG TLV"),
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
                return Decoded::Truncated("NFLOG TLV");
            }
        };
        if typ & 0x7fff == 9 {
            return match frame.get(off + 4..off + len) {
                Some(p) => ip(p, 0),
                None => Decoded::Truncated("NFLOG TLV"),
            };
        }
        off = off.saturating_add((len + 3) & !3);
    }
    Decoded::Other
}

/// The payload of an IP header that declares `declared` bytes in all and is `hdr` bytes long:
/// Ethernet padding after it is cut off; a zero or too-small length (TSO/LRO captures taken
/// before the stack filled it in) is not believed, the captured length is all there is.
/// Returns the payload and how many declared bytes were not captured.
fn ip_payload(data: &[u8], hdr: usize, declared: usize) -> (&[u8], u32) {
    let end = if declared >= hdr && declared <= data.len() {
        declared
    } else {
        data.len()
    };
    let missing = if declared > data.len() {
        u32::try_from(declared - data.len()).unwrap_or(u32::MAX)
    } else {
        0
    };
    (data.get(hdr..end).unwrap_or(&[]), missing)
}

/// IPv4 or IPv6 by the version nibble.
fn ip(data: &[u8], depth: usize) -> Decoded<'_> {
    match data.first().map(|b| b >> 4) {
        Some(4) => ipv4(data, depth),
        Some(6) => ipv6(data, depth),
        Some(_) => Decoded::Other,
        None => Decoded::Truncated("IP header"),
    }
}

fn ipv4(data: &[u8], depth: usize) -> Decoded<'_> {
    let h = match Ipv4HeaderSlice::from_slice(data) {
        Ok(h) => h,
        Err(ipv4::HeaderSliceError::Len(_)) => return Decoded::Truncated("IP header"),
        Err(ipv4::HeaderSliceError::Content(_)) => return Decoded::Malformed("IP header"),
    };
    let (src, dst) = (
        IpAddr::V4(h.source_addr()),
        IpAddr::V4(h.destination_addr()),
    );
    let (payload, missing) = ip_payload(data, h.slice().len(), usize::from(h.total_len()));
    let proto = h.protocol().0;
    if h.more_fragments() || h.fragments_offset().value() != 0 {
        return Decoded::Fragment(Fragment {
            src,
            dst,
            id: u32::from(h.identification()),
            proto,
            offset: u32::from(h.fragments_offset().value()) * 8,
            more: h.more_fragments(),
            data: payload,
            missing,
            depth,
        });
    }
    transport(src, dst, proto, payload, missing, depth)
}

fn ipv6(data: &[u8], depth: usize) -> Decoded<'_> {
    let h = match Ipv6HeaderSlice::from_slice(data) {
        Ok(h) => h,
        Err(ipv6::HeaderSliceError::Len(_)) => return Decoded::Truncated("IP header"),
        Err(ipv6::HeaderSliceError::Content(_)) => return Decoded::Malformed("IP header"),
    };
    let (src, dst) = (
        IpAddr::V6(h.source_addr()),
        IpAddr::V6(h.destination_addr()),
    );
    // A zero payload length is a jumbogram or a TSO capture: the captured length counts.
    let declared = match h.payload_length() {
        0 => 0,
        n => 40 + usize::from(n),
    };
    let (mut rest, missing) = ip_payload(data, 40, declared);
    let mut next = h.next_header().0;
    // The extension headers, walked by hand: a fragment's data must not be parsed as headers.
    for _ in 0..MAX_IPV6_EXTENSIONS {
        let len = match next {
            // Hop-by-hop, routing, destination options: 8-byte units after the first 8.
            0 | 43 | 60 => rest.get(1).map(|l| (usize::from(*l) + 1) * 8),
            AH => rest.get(1).map(|l| (usize::from(*l) + 2) * 4),
            44 => {
                let (Some(nh), Some(off), Some(id), Some(data)) =
                    (rest.first(), be16(rest, 2), be32(rest, 4), rest.get(8..))
                else {
                    return Decoded::Truncated("IPv6 fragment header");
                };
                let (offset, more) = (u32::from(off & 0xfff8), off & 1 == 1);
                if offset != 0 || more {
                    return Decoded::Fragment(Fragment {
                        src,
                        dst,
                        id,
                        proto: *nh,
                        offset,
                        more,
                        data,
                        missing,
                        depth,
                    });
                }
                // An atomic fragment (RFC 6946) is a whole packet.
                Some(8)
            }
            _ => return transport(src, dst, next, rest, missing, depth),
        };
        let (Some(nh), Some(after)) = (rest.first(), len.and_then(|l| rest.get(l..))) else {
            return Decoded::Truncated("IPv6 extension header");
        };
        next = *nh;
        rest = after;
    }
    Decoded::Malformed("IPv6 extension header chain")
}

/// What an IP payload of protocol `proto` carries. `missing`: payload bytes declared by the
/// IP header but not captured.
pub(crate) fn transport<'a>(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    payload: &'a [u8],
    missing: u32,
    depth: usize,
) -> Decoded<'a> {
    match proto {
        TCP => tcp(src, dst, payload, missing),
        UDP => udp(src, dst, payload, depth),
        GRE | IP_IN_IP | IPV6_IN_IP | AH => {
            let depth = match deeper(depth) {
                Ok(d) => d,
                Err(e) => return e,
            };
            match proto {
                GRE => gre(payload, depth),
                AH => match (payload.first(), payload.get(1)) {
                    (Some(nh), Some(l)) => match payload.get((usize::from(*l) + 2) * 4..) {
                        Some(rest) => transport(src, dst, *nh, rest, missing, depth),
                        None => Decoded::Truncated("IPsec AH header"),
                    },
                    _ => Decoded::Truncated("IPsec AH header"),
                },
                _ => ip(payload, depth),
            }
        }
        ESP => Decoded::Unsupported(Unsupported::Esp),
        _ => Decoded::Other,
    }
}

fn tcp(src: IpAddr, dst: IpAddr, payload: &[u8], missing: u32) -> Decoded<'_> {
    let h = match TcpHeaderSlice::from_slice(payload) {
        Ok(h) => h,
        Err(tcp::HeaderSliceError::Len(_)) => return Decoded::Truncated("TCP header"),
        Err(tcp::HeaderSliceError::Content(_)) => return Decoded::Malformed("TCP header"),
    };
    let flags = h.slice().get(13).copied().unwrap_or(0);
    Decoded::Tcp(Segment {
        src: Endpoint {
            ip: src,
            port: h.source_port(),
        },
        dst: Endpoint {
            ip: dst,
            port: h.destination_port(),
        },
        seq: SeqNumber(h.sequence_number()),
        ack: SeqNumber(h.acknowledgment_number()),
        flags: TcpFlags(flags),
        payload: payload.get(h.slice().len()..).unwrap_or(&[]),
        missing,
    })
}

/// UDP: tunnels by destination port, QUIC by port 443 or its long header, else nothing.
fn udp(src: IpAddr, dst: IpAddr, p: &[u8], depth: usize) -> Decoded<'_> {
    let (Some(sport), Some(dport), Some(len), Some(body)) =
        (be16(p, 0), be16(p, 2), be16(p, 4), p.get(8..))
    else {
        return Decoded::Truncated("UDP header");
    };
    // Padding after the datagram is not payload; a zero length (offload) is not believed.
    let body = match usize::from(len).checked_sub(8) {
        Some(n) if n > 0 => body.get(..n).unwrap_or(body),
        _ => body,
    };
    if let Some((_, tunnel)) = UDP_TUNNELS.iter().find(|(port, _)| *port == dport) {
        let depth = match deeper(depth) {
            Ok(d) => d,
            Err(e) => return e,
        };
        return match tunnel {
            UdpTunnel::Vxlan => vxlan(body, depth),
            UdpTunnel::VxlanGpe => vxlan_gpe(body, depth),
            UdpTunnel::Geneve => geneve(body, depth),
        };
    }
    let (s, d) = (
        Endpoint {
            ip: src,
            port: sport,
        },
        Endpoint {
            ip: dst,
            port: dport,
        },
    );
    let opens = is_quic(sport, dport, body);
    if opens || body.first().is_some_and(|b| b & 0xc0 == 0x40) {
        Decoded::Quic(Udp {
            src: s,
            dst: d,
            payload: body,
            opens,
        })
    } else {
        Decoded::Other
    }
}

/// QUIC (RFC 9000 §17, RFC 9369): on port 443 any packet with the fixed bit; elsewhere a long
/// header of a known version (1, 2, drafts, version negotiation) with valid connection-id
/// lengths.
fn is_quic(sport: u16, dport: u16, body: &[u8]) -> bool {
    let Some(first) = body.first().copied() else {
        return false;
    };
    let long = first & 0x80 != 0;
    if sport == 443 || dport == 443 {
        return first & 0x40 != 0 || long;
    }
    let (Some(version), Some(dcid_len)) = (be32(body, 1), body.get(5).copied()) else {
        return false;
    };
    let scid_len = body.get(6 + usize::from(dcid_len)).copied();
    long && matches!(version, 0 | 1 | 0x6b33_43cf | 0xff00_0000..=0xff00_00ff)
        && dcid_len <= 20
        && scid_len.is_some_and(|l| l <= 20)
}

/// VXLAN (RFC 7348): 8 bytes, the I flag set, then an Ethernet frame.
fn vxlan(p: &[u8], depth: usize) -> Decoded<'_> {
    match (p.first(), p.get(8..)) {
        (Some(flags), Some(inner)) if flags & 0x08 != 0 => ethernet(inner, depth),
        (Some(_), Some(_)) => Decoded::Malformed("VXLAN header"),
        _ => Decoded::Truncated("VXLAN header"),
    }
}

/// VXLAN-GPE: 8 bytes, the next protocol in byte 3 (1 IPv4, 2 IPv6, 3 Ethernet, 5 MPLS).
fn vxlan_gpe(p: &[u8], depth: usize) -> Decoded<'_> {
    let (Some(next), Some(inner)) = (p.get(3), p.get(8..)) else {
        return Decoded::Truncated("VXLAN-GPE header");
    };
    match next {
        1 | 2 => ip(inner, depth),
        3 => ethernet(inner, depth),
        5 => ether_type(ETH_MPLS, inner, depth),
        n => Decoded::Unsupported(Unsupported::Protocol("VXLAN-GPE", u16::from(*n))),
    }
}

/// Geneve (RFC 8926): 8 bytes plus options, the protocol an EtherType.
fn geneve(p: &[u8], depth: usize) -> Decoded<'_> {
    let (Some(b0), Some(proto)) = (p.first(), be16(p, 2)) else {
        return Decoded::Truncated("Geneve header");
    };
    let Some(inner) = p.get(8 + usize::from(b0 & 0x3f) * 4..) else {
        return Decoded::Truncated("Geneve header");
    };
    if follows_ether_type(proto) {
        ether_type(proto, inner, depth)
    } else {
        Decoded::Unsupported(Unsupported::Protocol("Geneve", proto))
    }
}

/// GRE (RFC 2784, 2890): checksum, key and sequence options; transparent Ethernet bridging;
/// ERSPAN type I (no header), II (8 bytes) and III (12, plus 8 with the O flag).
fn gre(p: &[u8], depth: usize) -> Decoded<'_> {
    let (Some(flags), Some(proto)) = (be16(p, 0), be16(p, 2)) else {
        return Decoded::Truncated("GRE header");
    };
    let version = flags & 0x7;
    if version != 0 {
        return Decoded::Unsupported(Unsupported::GreVersion(version));
    }
    if flags & 0x4000 != 0 {
        return Decoded::Unsupported(Unsupported::GreRouting);
    }
    let seq = flags & 0x1000 != 0;
    // Checksum (+ reserved), key, sequence number: 4 bytes each when flagged.
    let len = [0x8000u16, 0x2000, 0x1000]
        .iter()
        .filter(|f| flags & **f != 0)
        .count()
        * 4
        + 4;
    let Some(body) = p.get(len..) else {
        return Decoded::Truncated("GRE header");
    };
    match proto {
        // Type I has no sequence number and no ERSPAN header.
        ERSPAN_2 if !seq => ethernet(body, depth),
        ERSPAN_2 => match (body.first().map(|b| b >> 4), body.get(8..)) {
            (Some(1), Some(inner)) => ethernet(inner, depth),
            (Some(v), Some(_)) => Decoded::Unsupported(Unsupported::ErspanVersion(v)),
            _ => Decoded::Truncated("ERSPAN header"),
        },
        ERSPAN_3 => {
            let (Some(v), Some(b10), Some(b11)) =
                (body.first().map(|b| b >> 4), body.get(10), body.get(11))
            else {
                return Decoded::Truncated("ERSPAN header");
            };
            if v != 2 {
                return Decoded::Unsupported(Unsupported::ErspanVersion(v));
            }
            // The optional platform-specific subheader.
            let Some(inner) = body.get(if b11 & 1 == 1 { 20 } else { 12 }..) else {
                return Decoded::Truncated("ERSPAN header");
            };
            match (b10 >> 2) & 0x1f {
                0 => ethernet(inner, depth),
                2 => ip(inner, depth),
                ft => Decoded::Unsupported(Unsupported::Protocol("ERSPAN frame type", ft.into())),
            }
        }
        et if follows_ether_type(et) => ether_type(et, body, depth),
        // The reply inside a Cisco GRE keepalive: nothing is carried.
        0 => Decoded::Other,
        et => Decoded::Unsupported(Unsupported::Protocol("GRE", et)),
    }
}

/// Counts one warning for an outcome that is neither a TCP segment nor "nothing for us".
/// Fragments reaching this are nested inside a reassembled datagram (not reassembled again).
pub(crate) fn warn(d: &Decoded<'_>, src: &str, meta: &PacketMeta, diag: &mut Diagnostics) {
    let (n, o) = (meta.number, meta.offset);
    let at = |what: &dyn std::fmt::Display| format!("{src}: packet {n} (byte {o}): {what}");
    match *d {
        // QUIC goes to the connection table, which warns per connection.
        Decoded::Tcp(_) | Decoded::Other | Decoded::Quic(..) => {}
        Decoded::Fragment(_) => diag.warn(WarnKind::IpFragment, || {
            at(&"IP fragment inside a reassembled datagram skipped")
        }),
        Decoded::Truncated(what) => diag.warn(WarnKind::TruncatedPacket, || {
            at(&format_args!("cut off before the end of its {what}"))
        }),
        Decoded::Malformed(what) => diag.warn(WarnKind::MalformedPacket, || {
            at(&format_args!("bad {what}"))
        }),
        Decoded::Unsupported(u) => {
            let (kind, what) = u.describe();
            diag.warn(kind, || at(&what));
        }
    }
}

/// Step 2's state across packets, fed in capture order: IP fragment reassembly. The
/// single-threaded reader feeds it every frame ([`Decoder::frame`]);
/// the parallel reader only what needs it ([`Decoder::settle`]), so both see the same
/// sequence and warn alike.
pub(crate) struct Decoder {
    source: Arc<str>,
    defrag: Defrag,
    /// The warnings only this stage gives (`ip-fragment-*`, `limit-ip-fragments`), counted
    /// here and handed over by [`Decoder::finish`]: their order among
    /// themselves is capture order either way, and a flood of them costs no memory or
    /// per-packet work in the parallel reader.
    own: Diagnostics,
    /// The datagram the last call reassembled, lent out by [`Decoder::frame`].
    held: Option<Datagram>,
}

impl Decoder {
    pub(crate) fn new(source: Arc<str>, frag: &FragLimits) -> Self {
        Decoder {
            source,
            defrag: Defrag::new(frag.clone()),
            own: Diagnostics::new(),
            held: None,
        }
    }

    /// The TCP segment or QUIC datagram a frame carries, directly or as the datagram its
    /// fragment completed; anything else counted in `diag`. Inline: the plain shape is read in the caller's
    /// packet loop (whether the compiler inlined it changed from build to build, about 20
    /// instructions a packet).
    #[inline]
    pub(crate) fn frame<'a>(
        &'a mut self,
        link: LinkType,
        frame: &'a [u8],
        meta: &PacketMeta,
        diag: &mut Diagnostics,
    ) -> Option<Carried<'a>> {
        if let Some(seg) = plain_tcp4(link, frame) {
            return Some(Carried::Tcp(seg));
        }
        self.frame_walked(link, frame, meta, diag)
    }

    /// [`Decoder::frame`] for a frame not of the plain shape.
    #[inline(never)]
    fn frame_walked<'a>(
        &'a mut self,
        link: LinkType,
        frame: &'a [u8],
        meta: &PacketMeta,
        diag: &mut Diagnostics,
    ) -> Option<Carried<'a>> {
        // Not the plain shape: the walk, without `decode` trying that shape again.
        match walk(link, frame) {
            Decoded::Tcp(seg) => Some(Carried::Tcp(seg)),
            Decoded::Quic(udp) => Some(Carried::Quic(udp)),
            d if d.needs_state() => {
                self.held = self.settle(d, meta, diag);
                self.held.as_ref().and_then(Datagram::carried)
            }
            d => {
                warn(&d, &self.source, meta, diag);
                None
            }
        }
    }

    /// Handles a fragment (reassembly); returns a reassembled datagram only when it carries
    /// a TCP segment or QUIC ([`Datagram::carried`]).
    pub(crate) fn settle(
        &mut self,
        d: Decoded<'_>,
        meta: &PacketMeta,
        diag: &mut Diagnostics,
    ) -> Option<Datagram> {
        match d {
            Decoded::Fragment(f) => {
                let dg = self.defrag.insert(&f, meta, &self.source, &mut self.own)?;
                match dg.decode() {
                    Decoded::Tcp(_) | Decoded::Quic(_) => return Some(dg),
                    other => warn(&other, &self.source, meta, diag),
                }
                None
            }
            other => {
                warn(&other, &self.source, meta, diag);
                None
            }
        }
    }

    /// End of capture: datagrams still incomplete are counted, and this stage's warnings
    /// handed over.
    pub(crate) fn finish(&mut self, diag: &mut Diagnostics) {
        self.defrag.finish(&self.source, &mut self.own);
        diag.merge(std::mem::take(&mut self.own));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{
        IpFragOffset, IpHeaders, IpNumber, Ipv4Header, Ipv6Extensions, Ipv6FragmentHeader,
        Ipv6Header, PacketBuilder, VlanId,
    };

    const PAYLOAD: &[u8] = b"GET / HTTP/1.1\r\n\r\n";

    /// A raw IPv4/TCP packet (no link header).
    fn ip4() -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1234, 80, 7, 1000)
            .ack(9)
            .write(&mut v, PAYLOAD)
            .unwrap();
        v
    }

    fn ip6() -> Vec<u8> {
        let mut v = Vec::new();
        let mut src = [0u8; 16];
        src[15] = 1;
        PacketBuilder::ipv6(src, src, 64)
            .tcp(1234, 80, 7, 1000)
            .write(&mut v, PAYLOAD)
            .unwrap();
        v
    }

    fn check(d: Decoded<'_>, ip: &str) {
        let Decoded::Tcp(s) = d else {
            panic!("not TCP: {d:?}");
        };
        assert_eq!(s.src.ip.to_string(), ip);
        assert_eq!((s.src.port, s.dst.port), (1234, 80));
        assert_eq!(s.seq, SeqNumber(7));
        assert_eq!(s.payload, PAYLOAD);
        assert_eq!(s.missing, 0);
    }

    fn with_link(head: &[u8], ip: &[u8]) -> Vec<u8> {
        [head, ip].concat()
    }

    #[test]
    fn ethernet_ipv4_and_ipv6() {
        let mut v = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1234, 80, 7, 1000)
            .write(&mut v, PAYLOAD)
            .unwrap();
        check(decode(LinkType::Ethernet, &v), "10.0.0.1");
        let eth6 = with_link(&[[2u8; 6], [1u8; 6]].concat(), &[]);
        let v = [eth6, vec![0x86, 0xdd], ip6()].concat();
        check(decode(LinkType::Ethernet, &v), "::1");
    }

    #[test]
    fn vlan_and_qinq() {
        let mut v = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(VlanId::try_new(42).unwrap())
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1234, 80, 7, 1000)
            .write(&mut v, PAYLOAD)
            .unwrap();
        check(decode(LinkType::Ethernet, &v), "10.0.0.1");
        let mut v = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .double_vlan(VlanId::try_new(1).unwrap(), VlanId::try_new(2).unwrap())
            .ipv6([0; 16], [0; 16], 64)
            .tcp(1234, 80, 7, 1000)
            .write(&mut v, PAYLOAD)
            .unwrap();
        check(decode(LinkType::Ethernet, &v), "::");
    }

    #[test]
    fn mpls_and_pppoe() {
        // Ethernet, 802.1Q, MPLS (two labels), IPv4.
        let mut f = vec![2u8; 12];
        f.extend([0x81, 0x00, 0x00, 0x07, 0x88, 0x47]);
        f.extend([0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40]);
        f.extend(ip4());
        check(decode(LinkType::Ethernet, &f), "10.0.0.1");
        let mut f = vec![2u8; 12];
        f.extend([0x88, 0x64, 0x11, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x21]);
        f.extend(ip4());
        check(decode(LinkType::Ethernet, &f), "10.0.0.1");
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
        sll.extend([0x08, 0x00]);
        check(
            decode(LinkType::LinuxSll, &with_link(&sll, &ip4())),
            "10.0.0.1",
        );
        let mut sll2 = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6];
        sll2.extend([1, 2, 3, 4, 5, 6, 0, 0]);
        check(
            decode(LinkType::LinuxSll2, &with_link(&sll2, &ip6())),
            "::1",
        );
    }

    #[test]
    fn loopback_both_byte_orders_and_raw() {
        check(
            decode(LinkType::Null, &with_link(&[2, 0, 0, 0], &ip4())),
            "10.0.0.1",
        );
        check(
            decode(LinkType::Null, &with_link(&[0, 0, 0, 2], &ip4())),
            "10.0.0.1",
        );
        check(
            decode(LinkType::Null, &with_link(&[30, 0, 0, 0], &ip6())),
            "::1",
        );
        check(
            decode(LinkType::Loop, &with_link(&[0, 0, 0, 24], &ip6())),
            "::1",
        );
        check(decode(LinkType::Raw, &ip4()), "10.0.0.1");
        check(decode(LinkType::Ipv6, &ip6()), "::1");
    }

    #[test]
    fn nflog_payload_tlv() {
        let ip = ip4();
        let mut f = vec![2, 0, 0, 0];
        // A prefix TLV (type 10, 6 bytes, padded to 8), then the payload TLV (type 9).
        f.extend([6, 0, 10, 0, b'a', 0, 0, 0]);
        f.extend(((ip.len() + 4) as u16).to_le_bytes());
        f.extend(9u16.to_le_bytes());
        f.extend(&ip);
        check(decode(LinkType::Nflog, &f), "10.0.0.1");
    }

    #[test]
    fn truncated_and_snaplen_cut() {
        let ip = ip4();
        // Cut inside the TCP header.
        assert_eq!(
            decode(LinkType::Raw, &ip[..30]),
            Decoded::Truncated("TCP header")
        );
        assert_eq!(
            decode(LinkType::Ethernet, &[1, 2, 3]),
            Decoded::Truncated("Ethernet header")
        );
        assert_eq!(
            decode(LinkType::LinuxSll2, &[0x08]),
            Decoded::Truncated("Linux cooked header")
        );
        assert_eq!(decode(LinkType::Raw, &[]), Decoded::Truncated("IP header"));
        // Cut inside the payload: the captured part and how much is missing.
        let Decoded::Tcp(s) = decode(LinkType::Raw, &ip[..ip.len() - 5]) else {
            panic!("payload cut should still decode");
        };
        assert_eq!(s.payload, &PAYLOAD[..PAYLOAD.len() - 5]);
        assert_eq!(s.missing, 5);
        // Ethernet padding after the IP packet is not payload.
        let mut padded = vec![2u8; 12];
        padded.extend([0x08, 0x00]);
        padded.extend(&ip);
        padded.extend([0u8; 6]);
        check(decode(LinkType::Ethernet, &padded), "10.0.0.1");
    }

    #[test]
    fn fragments() {
        let mut h = Ipv4Header::new(0, 64, IpNumber::TCP, [10, 0, 0, 1], [10, 0, 0, 2]).unwrap();
        h.more_fragments = true;
        let mut v = Vec::new();
        PacketBuilder::ip(IpHeaders::Ipv4(h, Default::default()))
            .tcp(1234, 80, 7, 1000)
            .write(&mut v, PAYLOAD)
            .unwrap();
        assert!(matches!(decode(LinkType::Raw, &v), Decoded::Fragment(_)));
        // An IPv6 atomic fragment (offset 0, no more fragments) is a whole packet.
        let mut src = [0u8; 16];
        src[15] = 1;
        let hdr = Ipv6Header {
            source: src,
            destination: src,
            hop_limit: 64,
            ..Default::default()
        };
        let exts = Ipv6Extensions {
            fragment: Some(Ipv6FragmentHeader::new(
                IpNumber::TCP,
                IpFragOffset::ZERO,
                false,
                99,
            )),
            ..Default::default()
        };
        let mut v = Vec::new();
        PacketBuilder::ip(IpHeaders::Ipv6(hdr, exts))
            .tcp(1234, 80, 7, 1000)
            .write(&mut v, PAYLOAD)
            .unwrap();
        check(decode(LinkType::Raw, &v), "::1");
    }

    /// IPv6 split into fragments after a hop-by-hop header: `n` pieces of the TCP
    /// packet `ip6()` carries, each a raw IPv6 packet.
    fn ip6_fragments(cut: usize) -> Vec<Vec<u8>> {
        let whole = ip6();
        let (hdr, data) = whole.split_at(40);
        let mut pieces = Vec::new();
        for (start, end) in [(0, cut), (cut, data.len())] {
            let mut h = hdr.to_vec();
            h[6] = 0; // hop-by-hop first
            let mut ext = vec![44, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop: 8 bytes, padding
            let more = u16::from(end < data.len());
            let off = (start as u16) | more;
            ext.extend([6, 0]);
            ext.extend(off.to_be_bytes());
            ext.extend(0xdead_beefu32.to_be_bytes());
            let body = [&ext[..], &data[start..end]].concat();
            h[4..6].copy_from_slice(&(body.len() as u16).to_be_bytes());
            pieces.push([h, body].concat());
        }
        pieces
    }

    fn meta(number: u64) -> PacketMeta {
        PacketMeta {
            number,
            offset: 0,
            ts: 0,
            quiet: 0,
        }
    }

    #[test]
    fn ipv6_fragments_are_reassembled_by_the_decoder() {
        let pieces = ip6_fragments(16);
        let Decoded::Fragment(f) = decode(LinkType::Raw, &pieces[1]) else {
            panic!("not a fragment");
        };
        assert_eq!(
            (f.id, f.proto, f.offset, f.more),
            (0xdead_beef, 6, 16, false)
        );
        for order in [[0, 1], [1, 0]] {
            let mut d = Decoder::new(Arc::from("t"), &FragLimits::default());
            let mut diag = Diagnostics::new();
            assert!(d
                .frame(LinkType::Raw, &pieces[order[0]], &meta(1), &mut diag)
                .is_none());
            let seg = d.frame(LinkType::Raw, &pieces[order[1]], &meta(2), &mut diag);
            let seg = seg.map_or(Decoded::Other, |c| match c {
                Carried::Tcp(s) => Decoded::Tcp(s),
                Carried::Quic(u) => Decoded::Quic(u),
            });
            check(seg, "::1");
            assert!(diag.is_empty(), "{diag:?}");
        }
    }

    #[test]
    fn ip_in_ip_and_ipv6_in_ipv4() {
        for (proto, inner) in [(4u8, ip4()), (41, ip6())] {
            let mut v = Vec::new();
            PacketBuilder::ipv4([192, 168, 0, 1], [192, 168, 0, 2], 64)
                .write(&mut v, IpNumber(proto), &inner)
                .unwrap();
            let Decoded::Tcp(s) = decode(LinkType::Raw, &v) else {
                panic!("protocol {proto}: not TCP");
            };
            assert_eq!(s.payload, PAYLOAD);
            assert_eq!(s.src.ip, inner_src(&inner));
        }
    }

    fn inner_src(ip: &[u8]) -> IpAddr {
        match decode(LinkType::Raw, ip) {
            Decoded::Tcp(s) => s.src.ip,
            d => panic!("{d:?}"),
        }
    }

    /// Every outcome that is not a segment is one warning of a stable kind; QUIC and
    /// "nothing for us" are not warnings.
    #[test]
    fn warnings_by_kind() {
        let cases: [(Decoded<'_>, Option<WarnKind>); 6] = [
            (Decoded::Other, None),
            (
                Decoded::Truncated("TCP header"),
                Some(WarnKind::TruncatedPacket),
            ),
            (
                Decoded::Malformed("IP header"),
                Some(WarnKind::MalformedPacket),
            ),
            (
                Decoded::Unsupported(Unsupported::TooDeep),
                Some(WarnKind::EncapsulationTooDeep),
            ),
            (
                Decoded::Unsupported(Unsupported::GreVersion(1)),
                Some(WarnKind::UnsupportedEncapsulation),
            ),
            (
                Decoded::Quic(Udp {
                    src: Endpoint {
                        ip: IpAddr::from([1, 1, 1, 1]),
                        port: 1,
                    },
                    dst: Endpoint {
                        ip: IpAddr::from([1, 1, 1, 2]),
                        port: 443,
                    },
                    payload: &[0xc0],
                    opens: true,
                }),
                None,
            ),
        ];
        for (d, kind) in cases {
            let mut diag = Diagnostics::new();
            warn(&d, "f.pcap", &meta(3), &mut diag);
            match kind {
                Some(k) => {
                    assert_eq!(diag.count(k), 1, "{d:?}");
                    assert!(diag.details(k)[0].starts_with("f.pcap: packet 3 (byte 0): "));
                }
                None => assert!(diag.is_empty(), "{d:?}"),
            }
        }
        assert_eq!(
            Decoded::Truncated("TCP header"),
            decode(LinkType::Raw, &ip4()[..30])
        );
    }

    #[test]
    fn not_tcp_or_not_ip() {
        let udp = |payload: &[u8]| {
            let mut v = Vec::new();
            PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .udp(53, 53)
                .write(&mut v, payload)
                .unwrap();
            v
        };
        assert_eq!(
            decode(LinkType::Raw, &udp(&[0x12, 0x34, 1, 0])),
            Decoded::Other
        );
        // The fixed bit alone could be a QUIC short header: for the connection table, which
        // takes it only on a QUIC connection it knows.
        let v = udp(b"dns");
        let Decoded::Quic(u) = decode(LinkType::Raw, &v) else {
            panic!("a possible short header");
        };
        assert!(!u.opens);
        let mut arp = vec![2u8; 12];
        arp.extend([0x08, 0x06, 0, 1]);
        assert_eq!(decode(LinkType::Ethernet, &arp), Decoded::Other);
        assert_eq!(LinkType::from_dlt(147), None);
        assert_eq!(LinkType::from_dlt(276), Some(LinkType::LinuxSll2));
    }

    proptest::proptest! {
        /// The fixed-offset read of plain Ethernet/IPv4/TCP and raw IPv4/TCP agrees with the
        /// layered walk on every frame it accepts: valid ones, and ones with any header byte
        /// (IHL, flags, fragment offset, protocol, data offset, lengths) changed or cut.
        #[test]
        fn plain_tcp4_agrees_with_the_walk(
            ethernet in proptest::prelude::any::<bool>(),
            edits in proptest::collection::vec((0usize..60, proptest::prelude::any::<u8>()), 0..4),
            cut in 0usize..80,
        ) {
            let mut f = if ethernet {
                with_link(&[[0u8; 12].as_slice(), &[0x08, 0x00]].concat(), &ip4())
            } else {
                ip4()
            };
            for (at, b) in edits {
                if let Some(x) = f.get_mut(at) {
                    *x = b;
                }
            }
            f.truncate(f.len().saturating_sub(cut % 4 * 20));
            let link = if ethernet { LinkType::Ethernet } else { LinkType::Raw };
            if let Some(seg) = plain_tcp4(link, &f) {
                proptest::prop_assert_eq!(Decoded::Tcp(seg), walk(link, &f));
            }
            proptest::prop_assert_eq!(decode(link, &f), walk(link, &f));
        }
    }

    #[test]
    fn plain_tcp4_takes_the_common_shape() {
        let ip = ip4();
        assert!(plain_tcp4(LinkType::Raw, &ip).is_some());
        let eth = with_link(&[[0u8; 12].as_slice(), &[0x08, 0x00]].concat(), &ip);
        assert!(plain_tcp4(LinkType::Ethernet, &eth).is_some());
    }
}
