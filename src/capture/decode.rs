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
        assert_eq!(decode(LinkType::Raw, &ip[..30]), Decoded::Truncated);
        assert_eq!(decode(LinkType::Ethernet, &[1, 2, 3]), Decoded::Truncated);
        assert_eq!(decode(LinkType::LinuxSll2, &[0x08]), Decoded::Truncated);
        assert_eq!(decode(LinkType::Raw, &[]), Decoded::Truncated);
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
        assert_eq!(decode(LinkType::Raw, &v), Decoded::Fragment);
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

    #[test]
    fn not_tcp_or_not_ip() {
        let mut v = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(53, 53)
            .write(&mut v, b"dns")
            .unwrap();
        assert_eq!(decode(LinkType::Raw, &v), Decoded::Other);
        let mut arp = vec![2u8; 12];
        arp.extend([0x08, 0x06, 0, 1]);
        assert_eq!(decode(LinkType::Ethernet, &arp), Decoded::Other);
        assert_eq!(LinkType::from_dlt(147), None);
        assert_eq!(LinkType::from_dlt(276), Some(LinkType::LinuxSll2));
    }
}
