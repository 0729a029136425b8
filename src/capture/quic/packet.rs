//! Step 3d (QUIC packets): the packets coalesced in a UDP datagram (RFC 9000 §12.2, §17) and
//! their protection (RFC 9001 §5): Initial keys from the client's first Destination Connection
//! ID, packet keys from TLS traffic secrets and key updates, header protection removal,
//! packet number decoding and payload decryption, for QUIC versions 1 and 2 (RFC 9369). All
//! cryptography is ring's; this arranges inputs as the RFCs say.

use std::ops::Range;

use ring::aead::quic::{HeaderProtectionKey, AES_128, AES_256, CHACHA20};
use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey};
use ring::hmac;

use super::frame::{QuicError, Reader};
use crate::capture::tls::keys::{expand_label, Cipher, Hash, Suite, TAG_LEN};

pub(crate) const VERSION_1: u32 = 1;
pub(crate) const VERSION_2: u32 = 0x6b33_43cf;

/// A packet's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
    OneRtt,
    VersionNegotiation,
}

/// One packet's header, as far as it can be read before header protection is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub kind: Kind,
    /// 0 for short headers, which carry none (and for Version Negotiation, whose version is 0).
    pub version: u32,
    pub dcid: &'a [u8],
    /// Empty for short headers.
    pub scid: &'a [u8],
    /// Where the packet number starts, from the packet's start. Retry: where the token starts;
    /// Version Negotiation: where the supported versions start.
    pub pn_offset: usize,
    /// Where the packet starts in the datagram.
    pub start: usize,
    /// The packet's bytes, header included.
    pub len: usize,
}

impl Header<'_> {
    /// The packet's bytes in its datagram.
    pub(crate) fn range(&self) -> Range<usize> {
        self.start..self.start + self.len
    }
}

/// The packets of a datagram, in order; after an error item (a packet that does not parse,
/// an unknown version) nothing more. `short_dcid_len`: the length of the Destination
/// Connection ID of a short header packet, which the packet does not say (the caller knows
/// the connection's connection IDs). A short header packet runs to the datagram's end; so does
/// a tail of zeros after a packet (padding outside any packet: aioquic pads its Initial
/// datagrams so), which ends the datagram without an item.
pub(crate) fn packets(
    datagram: &[u8],
    short_dcid_len: usize,
) -> impl Iterator<Item = Result<Header<'_>, QuicError>> {
    let mut start = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        let rest = datagram.get(start..).filter(|r| !r.is_empty())?;
        if failed || (start > 0 && rest.iter().all(|&b| b == 0)) {
            return None;
        }
        let h = header(rest, start, short_dcid_len);
        match &h {
            Ok(h) => start += h.len,
            Err(_) => failed = true,
        }
        Some(h)
    })
}

/// The header of the packet at the start of `buf` (`start` bytes into its datagram).
fn header(buf: &[u8], start: usize, short_dcid_len: usize) -> Result<Header<'_>, QuicError> {
    let mut r = Reader::new(buf);
    let first = r.u8()?;
    if first & 0x80 == 0 {
        let dcid = r.bytes(short_dcid_len)?;
        return Ok(Header {
            kind: Kind::OneRtt,
            version: 0,
            dcid,
            scid: &[],
            pn_offset: r.pos(),
            start,
            len: buf.len(),
        });
    }
    let version = u32::from_be_bytes([r.u8()?, r.u8()?, r.u8()?, r.u8()?]);
    let len = r.u8()?;
    let dcid = r.bytes(usize::from(len))?;
    let len = r.u8()?;
    let scid = r.bytes(usize::from(len))?;
    let mut h = Header {
        kind: Kind::VersionNegotiation,
        version,
        dcid,
        scid,
        pn_offset: r.pos(),
        start,
        len: buf.len(),
    };
    if version == 0 {
        return Ok(h);
    }
    // The long packet type bits, v2 rotating v1's by one (RFC 9369 §3.2).
    let bits = (first >> 4) & 0x03;
    h.kind = match (version, bits) {
        (VERSION_1, 0) | (VERSION_2, 1) => Kind::Initial,
        (VERSION_1, 1) | (VERSION_2, 2) => Kind::ZeroRtt,
        (VERSION_1, 2) | (VERSION_2, 3) => Kind::Handshake,
        (VERSION_1 | VERSION_2, _) => Kind::Retry,
        _ => return Err(QuicError::UnknownVersion(version)),
    };
    // Versions 1 and 2 cap connection IDs at 20 bytes (RFC 9000 §17.2); Version Negotiation
    // may carry the longer ones of other versions.
    if dcid.len() > 20 || scid.len() > 20 {
        return Err(QuicError::Malformed("connection ID over 20 bytes"));
    }
    if h.kind == Kind::Retry {
        // Retry Token, then the 16-byte Retry Integrity Tag, to the datagram's end.
        if r.remaining() < 16 {
            return Err(QuicError::Truncated);
        }
        return Ok(h);
    }
    if h.kind == Kind::Initial {
        let token = r.varint()?;
        r.bytes_u64(token)?;
    }
    // Length: of the packet number and the payload.
    let rest = r.varint()?;
    h.pn_offset = r.pos();
    h.len = usize::try_from(rest)
        .ok()
        .and_then(|n| n.checked_add(h.pn_offset))
        .filter(|&n| n <= buf.len())
        .ok_or(QuicError::Truncated)?;
    Ok(h)
}

/// The labels of a version's packet protection (RFC 9001 §5.1, RFC 9369 §3.3.2), without
/// TLS 1.3's "tls13 " prefix, which `expand_label` adds: key, IV, header protection, key
/// update.
struct Labels {
    key: &'static str,
    iv: &'static str,
    hp: &'static str,
    ku: &'static str,
}

fn labels(version: u32) -> Option<&'static Labels> {
    const V1: Labels = Labels {
        key: "quic key",
        iv: "quic iv",
        hp: "quic hp",
        ku: "quic ku",
    };
    const V2: Labels = Labels {
        key: "quicv2 key",
        iv: "quicv2 iv",
        hp: "quicv2 hp",
        ku: "quicv2 ku",
    };
    match version {
        VERSION_1 => Some(&V1),
        VERSION_2 => Some(&V2),
        _ => None,
    }
}

/// The Initial salt of each version (RFC 9001 §5.2, RFC 9369 §3.3.1).
fn initial_salt(version: u32) -> Option<[u8; 20]> {
    match version {
        VERSION_1 => Some([
            0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
            0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
        ]),
        VERSION_2 => Some([
            0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
            0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
        ]),
        _ => None,
    }
}

/// Initial packets are protected with TLS_AES_128_GCM_SHA256 (RFC 9001 §5.2).
const INITIAL_SUITE: Suite = Suite {
    id: 0x1301,
    tls13: true,
    cipher: Cipher::Aes128Gcm,
    hash: Hash::Sha256,
};

/// The longest secret and key: SHA-384's output, AES-256's and ChaCha20's keys.
const MAX_SECRET: usize = 48;
const MAX_KEY: usize = 32;

/// Packet protection of one direction and one packet number space (and key phase).
pub(crate) struct PacketKeys {
    aead: LessSafeKey,
    iv: [u8; 12],
    hp: HeaderProtectionKey,
    /// What a key update derives from: the version (for its labels), the suite, the
    /// secret, and the header protection key, which updates keep (ring's key cannot be
    /// cloned, so it is made again from these bytes).
    version: u32,
    suite: Suite,
    secret: [u8; MAX_SECRET],
    hp_key: [u8; MAX_KEY],
}

impl std::fmt::Debug for PacketKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PacketKeys({:#x}, {:?})",
            self.version, self.suite.cipher
        )
    }
}

impl PacketKeys {
    /// Initial keys (RFC 9001 §5.2; RFC 9369 §3.3.1) from the Destination Connection ID of the
    /// client's first Initial packet; `client`: of the client's packets, else the server's.
    pub(crate) fn initial(version: u32, dcid: &[u8], client: bool) -> Option<Self> {
        let salt = initial_salt(version)?;
        // HKDF-Extract(salt, dcid) is HMAC(salt, dcid) (RFC 5869 §2.2): ring's HKDF keeps its
        // PRK opaque, and `expand_label` takes the secret's bytes.
        let initial = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &salt), dcid);
        let label = if client { "client in" } else { "server in" };
        let mut secret = [0u8; 32];
        expand_label(Hash::Sha256, initial.as_ref(), label, &[], &mut secret);
        Self::from_secret(version, INITIAL_SUITE, &secret)
    }

    /// Keys from a TLS 1.3 traffic secret (a key log's `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
    /// `SERVER_TRAFFIC_SECRET_0`, …) of the connection's suite (RFC 9001 §5.1). `None` for an
    /// unknown version or a secret not of the suite's hash length.
    pub(crate) fn from_secret(version: u32, suite: Suite, secret: &[u8]) -> Option<Self> {
        let labels = labels(version)?;
        if secret.len() != suite.hash.out_len() {
            return None;
        }
        // The header protection key is as long as the packet key (RFC 9001 §5.4.3, §5.4.4).
        let mut hp_key = [0u8; MAX_KEY];
        let n = suite.cipher.key_len();
        expand_label(suite.hash, secret, labels.hp, &[], &mut hp_key[..n]);
        Self::with_hp_key(version, suite, labels, secret, hp_key)
    }

    /// The next key phase's keys (RFC 9001 §6.1): a new secret by "quic ku" ("quicv2 ku"), new
    /// packet key and IV from it, the same header protection key.
    pub(crate) fn next(&self) -> Option<Self> {
        let labels = labels(self.version)?;
        let hash = self.suite.hash;
        let len = hash.out_len();
        let mut secret = [0u8; MAX_SECRET];
        expand_label(
            hash,
            &self.secret[..len],
            labels.ku,
            &[],
            &mut secret[..len],
        );
        Self::with_hp_key(
            self.version,
            self.suite,
            labels,
            &secret[..len],
            self.hp_key,
        )
    }

    /// The packet key and IV of `secret`, with a header protection key already derived.
    fn with_hp_key(
        version: u32,
        suite: Suite,
        labels: &Labels,
        secret: &[u8],
        hp_key: [u8; MAX_KEY],
    ) -> Option<Self> {
        let n = suite.cipher.key_len();
        let mut key = [0u8; MAX_KEY];
        let mut iv = [0u8; 12];
        expand_label(suite.hash, secret, labels.key, &[], &mut key[..n]);
        expand_label(suite.hash, secret, labels.iv, &[], &mut iv);
        let mut s = [0u8; MAX_SECRET];
        s.get_mut(..secret.len())?.copy_from_slice(secret);
        Some(PacketKeys {
            aead: LessSafeKey::new(UnboundKey::new(suite.cipher.aead(), &key[..n]).ok()?),
            iv,
            hp: hp_key_of(suite.cipher, &hp_key[..n])?,
            version,
            suite,
            secret: s,
            hp_key,
        })
    }
}

fn hp_key_of(cipher: Cipher, key: &[u8]) -> Option<HeaderProtectionKey> {
    let alg = match cipher {
        Cipher::Aes128Gcm => &AES_128,
        Cipher::Aes256Gcm => &AES_256,
        Cipher::ChaCha20Poly1305 => &CHACHA20,
    };
    HeaderProtectionKey::new(alg, key).ok()
}

/// A packet's header once its protection is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unmasked {
    /// The full packet number (RFC 9000 §A.3).
    pub pn: u64,
    /// Bytes of the packet number on the wire, 1 to 4.
    pub pn_len: usize,
    /// The Key Phase bit (short headers; false for long ones).
    pub key_phase: bool,
}

/// A decrypted packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Opened {
    pub pn: u64,
    pub key_phase: bool,
    /// The plaintext payload (its frames) within the packet.
    pub payload: Range<usize>,
}

/// Removes header protection (RFC 9001 §5.4) from `packet`, exactly one packet's bytes (a
/// mutable copy; `hdr` from [`packets`]), in place: the first byte and the packet number are
/// left unmasked, the rest untouched. `largest`: the largest packet number decrypted so far
/// in this packet number space, `None` before the first. The header protection key never
/// changes with key updates, so any key phase's `keys` serve here: the Key Phase bit then
/// tells which keys [`decrypt`] takes. Not to be applied twice to the same bytes (a second
/// time masks them again).
pub(crate) fn remove_header_protection(
    packet: &mut [u8],
    hdr: &Header,
    keys: &PacketKeys,
    largest: Option<u64>,
) -> Result<Unmasked, QuicError> {
    let long = match hdr.kind {
        Kind::OneRtt => false,
        Kind::Initial | Kind::ZeroRtt | Kind::Handshake => true,
        Kind::Retry | Kind::VersionNegotiation => {
            return Err(QuicError::Malformed("packet type without protection"))
        }
    };
    // The sample: 16 bytes from 4 past the packet number's start, as if it were 4 bytes long
    // (RFC 9001 §5.4.2). A packet too short for it cannot be a valid one.
    let at = hdr.pn_offset;
    let sample = packet
        .get(at.saturating_add(4)..at.saturating_add(20))
        .ok_or(QuicError::Truncated)?;
    let mask = keys
        .hp
        .new_mask(sample)
        .map_err(|_| QuicError::Malformed("header protection sample"))?;
    // Long headers protect the 4 low bits of the first byte, short ones 5 (the Key Phase and
    // reserved bits too).
    packet[0] ^= mask[0] & if long { 0x0f } else { 0x1f };
    let pn_len = usize::from(packet[0] & 0x03) + 1;
    let mut truncated = 0u64;
    for (b, m) in packet[at..at + pn_len].iter_mut().zip(&mask[1..]) {
        *b ^= m;
        truncated = truncated << 8 | u64::from(*b);
    }
    Ok(Unmasked {
        pn: decode_pn(largest, truncated, pn_len),
        pn_len,
        key_phase: !long && packet[0] & 0x04 != 0,
    })
}

/// The full packet number nearest the next one expected (RFC 9000 §A.3).
fn decode_pn(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    const MAX: u64 = (1 << 62) - 1;
    let expected = largest.map_or(0, |l| l.min(MAX) + 1);
    let win = 1u64 << (8 * pn_len);
    let hwin = win / 2;
    let candidate = (expected & !(win - 1)) | truncated;
    if candidate + hwin <= expected && candidate < (1 << 62) - win {
        candidate + win
    } else if candidate > expected + hwin && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Decrypts the payload of `packet` in place (RFC 9001 §5.3), once [`remove_header_protection`]
/// has unmasked its header: the plaintext's range in `packet`. When it does not authenticate,
/// ring zeroes the payload: to try other keys (the previous key phase's, for a packet that
/// arrived late), start again from a fresh copy of the protected packet.
pub(crate) fn decrypt(
    packet: &mut [u8],
    hdr: &Header,
    unmasked: &Unmasked,
    keys: &PacketKeys,
) -> Result<Range<usize>, QuicError> {
    let header_len = hdr.pn_offset.saturating_add(unmasked.pn_len);
    let end = packet
        .len()
        .checked_sub(TAG_LEN)
        .filter(|&e| e >= header_len)
        .ok_or(QuicError::Truncated)?;
    let (header, body) = packet.split_at_mut(header_len);
    let (text, tag) = body.split_at_mut(end - header_len);
    // `tag` is TAG_LEN bytes by construction of `end`.
    let tag = Tag::from(<[u8; TAG_LEN]>::try_from(&*tag).map_err(|_| QuicError::Truncated)?);
    let mut nonce = keys.iv;
    for (n, p) in nonce[4..].iter_mut().zip(unmasked.pn.to_be_bytes()) {
        *n ^= p;
    }
    keys.aead
        .open_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&*header),
            tag,
            text,
            0..,
        )
        .map_err(|_| QuicError::Authentication)?;
    Ok(header_len..end)
}

/// [`remove_header_protection`] then [`decrypt`] with the same keys: for Initial, 0-RTT and
/// Handshake packets, and 1-RTT ones when no key update is in sight. On an error `packet` is
/// spoilt (header unmasked, payload possibly zeroed): retry from a fresh copy.
pub(crate) fn unprotect(
    packet: &mut [u8],
    hdr: &Header,
    keys: &PacketKeys,
    largest: Option<u64>,
) -> Result<Opened, QuicError> {
    let u = remove_header_protection(packet, hdr, keys, largest)?;
    let payload = decrypt(packet, hdr, &u, keys)?;
    Ok(Opened {
        pn: u.pn,
        key_phase: u.key_phase,
        payload,
    })
}

/// Seals a packet as a sender would (RFC 9001 §5.3–5.4), with the keys' own key, IV and
/// header protection: `header` unprotected, its last `pn_len` bytes the packet number, and
/// the packet long enough for the header protection sample (the generator's and the tests'
/// packets are).
pub(crate) fn seal(
    keys: &PacketKeys,
    header: &[u8],
    pn: u64,
    pn_len: usize,
    payload: &[u8],
) -> Vec<u8> {
    let mut nonce = keys.iv;
    for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let mut body = payload.to_vec();
    let tag = keys
        .aead
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(header),
            &mut body,
        )
        // Invariant: ring refuses only payloads past the AEAD's limit (gigabytes).
        .expect("a packet's payload is within the AEAD's limit");
    let mut p = [header, &body, tag.as_ref()].concat();
    let at = header.len() - pn_len;
    // Invariant: the sample is 16 bytes, the length every header protection takes.
    let mask = keys
        .hp
        .new_mask(&p[at + 4..at + 20])
        .expect("a 16-byte sample");
    p[0] ^= mask[0] & if p[0] & 0x80 != 0 { 0x0f } else { 0x1f };
    for (b, m) in p[at..header.len()].iter_mut().zip(&mask[1..]) {
        *b ^= m;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::quic::frame::{frames, Frame};
    use crate::capture::tls::keylog::unhex;
    use proptest::prelude::*;

    const RFC_DCID: &str = "8394c8f03e515708";

    /// The one packet of a datagram.
    fn only(datagram: &[u8], short_dcid_len: usize) -> Header<'_> {
        let all: Vec<_> = packets(datagram, short_dcid_len).collect();
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].unwrap()
    }

    /// RFC 9001 §A.1 and RFC 9369 §A.1: the Initial secrets and keys of both directions from
    /// the client's Destination Connection ID (the A.2–A.3 packets below check that ring's
    /// keys were made from these bytes).
    #[test]
    fn initial_keys() {
        #[rustfmt::skip]
        let cases = [
            (VERSION_1, true, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
             "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"),
            (VERSION_1, false, "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b",
             "cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314"),
            (VERSION_2, true, "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
             "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"),
            (VERSION_2, false, "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1",
             "82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652", "edf6d05c83121201b436e16877593c3a"),
        ];
        for (version, client, secret, key, iv, hp) in cases {
            let keys = PacketKeys::initial(version, &unhex(RFC_DCID), client).unwrap();
            let at = format!("{version:#x} client={client}");
            assert_eq!(keys.secret[..32], unhex(secret), "{at}");
            assert_eq!(keys.iv[..], unhex(iv), "{at}");
            assert_eq!(keys.hp_key[..16], unhex(hp), "{at}");
            // The packet key, through what it does: a payload sealed with the listed key opens.
            let sealer =
                LessSafeKey::new(UnboundKey::new(&ring::aead::AES_128_GCM, &unhex(key)).unwrap());
            let nonce = Nonce::assume_unique_for_key(keys.iv);
            let mut text = b"payload".to_vec();
            let tag = sealer
                .seal_in_place_separate_tag(nonce, Aad::from(b"h"), &mut text)
                .unwrap();
            let nonce = Nonce::assume_unique_for_key(keys.iv);
            keys.aead
                .open_in_place_separate_tag(nonce, Aad::from(b"h"), tag, &mut text, 0..)
                .expect("the listed key");
        }
        assert!(PacketKeys::initial(0xff00_001d, &unhex(RFC_DCID), true).is_none());
    }

    /// The protected Initial packets of RFC 9001 §A.2–A.3 and RFC 9369 §A.2–A.3 (as
    /// reproduced in aioquic's tests/test_crypto_v1.py and test_crypto_v2.py): the header as
    /// read, the packet number, the unprotected header, and the payload's start.
    #[test]
    fn rfc_initial_packets() {
        /// Version, client's packet or not, protected packet, unprotected header, packet
        /// number, payload's start.
        struct Case(u32, bool, &'static str, &'static str, u64, &'static str);
        #[rustfmt::skip]
        let cases = [
            Case(VERSION_1, true, V1_CLIENT_INITIAL, "c300000001088394c8f03e5157080000449e00000002", 2,
                 "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"),
            Case(VERSION_1, false, V1_SERVER_INITIAL, "c1000000010008f067a5502a4262b50040750001", 1,
                 "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"),
            Case(VERSION_2, true, V2_CLIENT_INITIAL, "d36b3343cf088394c8f03e5157080000449e00000002", 2,
                 "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"),
            Case(VERSION_2, false, V2_SERVER_INITIAL, "d16b3343cf0008f067a5502a4262b50040750001", 1,
                 "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"),
        ];
        for Case(version, client, protected, plain_header, pn, payload_start) in cases {
            let datagram = unhex(protected);
            let hdr = only(&datagram, 0);
            assert_eq!(hdr.kind, Kind::Initial);
            assert_eq!(hdr.version, version);
            assert_eq!(hdr.len, datagram.len());
            let (dcid, scid) = if client {
                (unhex(RFC_DCID), vec![])
            } else {
                (vec![], unhex("f067a5502a4262b5"))
            };
            assert_eq!((hdr.dcid, hdr.scid), (&dcid[..], &scid[..]));
            let keys = PacketKeys::initial(version, &unhex(RFC_DCID), client).unwrap();
            let mut packet = datagram[hdr.range()].to_vec();
            let opened = unprotect(&mut packet, &hdr, &keys, None).unwrap();
            assert_eq!(opened.pn, pn);
            let plain_header = unhex(plain_header);
            assert_eq!(packet[..plain_header.len()], plain_header);
            assert_eq!(opened.payload.start, plain_header.len());
            assert_eq!(opened.payload.end, packet.len() - TAG_LEN);
            let payload = &packet[opened.payload];
            assert!(payload.starts_with(&unhex(payload_start)));
            // The client's: a CRYPTO frame with the ClientHello, then PADDING to 1162 bytes.
            // The server's: an ACK, then a CRYPTO frame with the ServerHello.
            let got: Vec<_> = frames(payload).collect::<Result<_, _>>().unwrap();
            let crypto = got.iter().find_map(|f| match f {
                Frame::Crypto { offset: 0, data } => Some(data[0]),
                _ => None,
            });
            assert_eq!(crypto, Some(if client { 1 } else { 2 }), "{got:?}");
            if client {
                assert_eq!(payload.len(), 1162);
                assert_eq!(got.last(), Some(&Frame::Padding));
            }
            // The other direction's keys, or the same packet one bit off, do not open it.
            let other = PacketKeys::initial(version, &unhex(RFC_DCID), !client).unwrap();
            let mut copy = datagram[hdr.range()].to_vec();
            assert!(unprotect(&mut copy, &hdr, &other, None).is_err());
            let mut flipped = datagram[hdr.range()].to_vec();
            *flipped.last_mut().unwrap() ^= 1;
            assert_eq!(
                unprotect(&mut flipped, &hdr, &keys, None),
                Err(QuicError::Authentication)
            );
        }
    }

    /// RFC 9001 §A.5 and RFC 9369 §A.5: a short header packet under ChaCha20-Poly1305
    /// (secret given, 3-byte packet number of 654360564, a PING), and the key update's
    /// next secret of §A.5.
    #[test]
    fn rfc_chacha20_short_header() {
        let secret = unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b");
        let suite = crate::capture::tls::keys::suite(0x1303, true).unwrap();
        for (version, protected) in [
            (VERSION_1, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb"),
            (VERSION_2, "5558b1c60ae7b6b932bc27d786f4bc2bb20f2162ba"),
        ] {
            let datagram = unhex(protected);
            let hdr = only(&datagram, 0);
            assert_eq!(
                (hdr.kind, hdr.pn_offset, hdr.dcid),
                (Kind::OneRtt, 1, &[][..])
            );
            let keys = PacketKeys::from_secret(version, suite, &secret).unwrap();
            let mut packet = datagram.clone();
            let opened = unprotect(&mut packet, &hdr, &keys, Some(654_360_563)).unwrap();
            assert_eq!(opened.pn, 654_360_564);
            assert!(!opened.key_phase);
            assert_eq!(packet[..4], unhex("4200bff4"));
            assert_eq!(packet[opened.payload], [0x01]);
        }
        let next = PacketKeys::from_secret(VERSION_1, suite, &secret)
            .unwrap()
            .next()
            .unwrap();
        assert_eq!(
            next.secret[..32].to_vec(),
            unhex("1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9")
        );
        // A secret of another length than the suite's hash gives no keys.
        assert!(PacketKeys::from_secret(VERSION_1, suite, &secret[..31]).is_none());
    }

    /// RFC 9000 §A.3's example, and the window's edges.
    #[test]
    fn packet_numbers() {
        let cases = [
            (Some(0xa82f30ea), 0x9b32, 2, 0xa82f9b32),
            (None, 0, 1, 0),
            (None, 0xff, 1, 0xff),
            (Some(0xff), 0x00, 1, 0x100),
            (Some(0x100), 0xff, 1, 0xff),
            (Some((1 << 62) - 1), 0xff, 1, (1 << 62) - 1),
            (Some(u64::MAX), 0xffff_ffff, 4, (1 << 62) - 1),
        ];
        for (largest, truncated, len, want) in cases {
            assert_eq!(
                decode_pn(largest, truncated, len),
                want,
                "{largest:?} {truncated:#x}"
            );
        }
    }

    /// A key update as a receiver follows it: header protection removed with any
    /// generation's keys (its key never changes), the Key Phase bit chooses the keys, the
    /// wrong generation does not authenticate; for every TLS 1.3 suite.
    #[test]
    fn key_update() {
        for id in [0x1301, 0x1302, 0x1303] {
            let suite = crate::capture::tls::keys::suite(id, true).unwrap();
            let secret = vec![9u8; suite.hash.out_len()];
            let gen0 = PacketKeys::from_secret(VERSION_1, suite, &secret).unwrap();
            let gen1 = gen0.next().unwrap();
            let dcid = [0xaa; 4];
            for (phase, pn, keys, wrong) in [(false, 7u64, &gen0, &gen1), (true, 8, &gen1, &gen0)] {
                let first = 0x41 | if phase { 0x04 } else { 0 };
                let header = [&[first][..], &dcid, &(pn as u16).to_be_bytes()].concat();
                let sealed = seal(keys, &header, pn, 2, b"\x01\x00\x00\x00");
                let hdr = only(&sealed, dcid.len());
                assert_eq!((hdr.dcid, hdr.pn_offset), (&dcid[..], 5));
                let mut packet = sealed.clone();
                let u = remove_header_protection(&mut packet, &hdr, wrong, Some(6)).unwrap();
                assert_eq!((u.pn, u.pn_len, u.key_phase), (pn, 2, phase), "{id:#x}");
                let chosen = if u.key_phase { &gen1 } else { &gen0 };
                let payload = decrypt(&mut packet, &hdr, &u, chosen).unwrap();
                assert_eq!(packet[payload], *b"\x01\x00\x00\x00");
                let mut again = sealed.clone();
                assert_eq!(
                    unprotect(&mut again, &hdr, wrong, Some(6)),
                    Err(QuicError::Authentication)
                );
            }
        }
    }

    /// Coalesced packets (RFC 9000 §12.2): an Initial, a Handshake and a short header packet
    /// in one datagram, each's range; a tail of zeros ends the datagram.
    #[test]
    fn coalesced() {
        let initial = unhex(V1_CLIENT_INITIAL);
        let handshake = unhex("e0 00000001 04 01020304 00 05 00112233 44");
        let short = unhex("41 01020304 aabbccdd");
        let datagram = [&initial[..], &handshake, &short].concat();
        let got: Vec<_> = packets(&datagram, 4).map(Result::unwrap).collect();
        let kinds: Vec<_> = got.iter().map(|h| (h.kind, h.range())).collect();
        let (a, b) = (initial.len(), initial.len() + handshake.len());
        assert_eq!(
            kinds,
            [
                (Kind::Initial, 0..a),
                (Kind::Handshake, a..b),
                (Kind::OneRtt, b..datagram.len())
            ]
        );
        assert_eq!(got[1].pn_offset, 12);
        assert_eq!(got[2].dcid, [1, 2, 3, 4]);
        let padded = [&handshake[..], &[0u8; 30]].concat();
        assert_eq!(packets(&padded, 4).count(), 1);
    }

    /// Every long header type of both versions, Retry and Version Negotiation, and what
    /// stops the reading.
    #[test]
    fn headers_and_errors() {
        #[rustfmt::skip]
        /// Kind, version, pn_offset, len.
        type Want = Result<(Kind, u32, usize, usize), QuicError>;
        let cases: &[(&str, Want)] = &[
            (
                "c0 00000001 01 aa 01 bb 00 02 0000",
                Ok((Kind::Initial, 1, 11, 13)),
            ),
            (
                "c0 00000001 01 aa 01 bb 02 7777 02 0000",
                Ok((Kind::Initial, 1, 13, 15)),
            ),
            ("d0 00000001 00 00 01 00", Ok((Kind::ZeroRtt, 1, 8, 9))),
            ("e0 00000001 00 00 01 00", Ok((Kind::Handshake, 1, 8, 9))),
            (
                "f0 00000001 00 00 000102030405060708090a0b0c0d0e0f",
                Ok((Kind::Retry, 1, 7, 23)),
            ),
            (
                "d0 6b3343cf 00 00 00 01 00",
                Ok((Kind::Initial, VERSION_2, 9, 10)),
            ),
            (
                "e0 6b3343cf 00 00 01 00",
                Ok((Kind::ZeroRtt, VERSION_2, 8, 9)),
            ),
            (
                "f0 6b3343cf 00 00 01 00",
                Ok((Kind::Handshake, VERSION_2, 8, 9)),
            ),
            (
                "c0 6b3343cf 00 00 000102030405060708090a0b0c0d0e0f",
                Ok((Kind::Retry, VERSION_2, 7, 23)),
            ),
            (
                "80 00000000 01 aa 00 00000001 6b3343cf",
                Ok((Kind::VersionNegotiation, 0, 8, 16)),
            ),
            (
                "c0 ff00001d 00 00 00 01 00",
                Err(QuicError::UnknownVersion(0xff00_001d)),
            ),
            (
                "c0 00000001 15 000102030405060708090a0b0c0d0e0f1011121314 00 00 01 00",
                Err(QuicError::Malformed("connection ID over 20 bytes")),
            ),
            ("c0 00000001 00 00 00 05 0000", Err(QuicError::Truncated)), // Length past the end
            ("c0 00000001 00 00 05 00", Err(QuicError::Truncated)),      // token past the end
            ("f0 00000001 00 00 0001", Err(QuicError::Truncated)),       // no integrity tag
            ("c0 000000", Err(QuicError::Truncated)),
            ("41 0102", Err(QuicError::Truncated)), // shorter than its DCID
        ];
        for (hex, want) in cases {
            let b = unhex(hex);
            let got: Vec<_> = packets(&b, 4).collect();
            assert_eq!(got.len(), 1, "{hex}");
            let got = got[0].map(|h| (h.kind, h.version, h.pn_offset, h.len));
            assert_eq!(got, *want, "{hex}");
        }
        // After an error item, nothing.
        let b = unhex("e0 00000001 00 00 01 00 c0 ff00001d 00 00 00 01 00 e0 00000001 00 00 01 00");
        assert_eq!(packets(&b, 0).count(), 2);
        // Retry and Version Negotiation packets have no protection to remove.
        let keys = PacketKeys::initial(VERSION_1, &[1; 8], true).unwrap();
        let mut retry = unhex("f0 00000001 00 00 000102030405060708090a0b0c0d0e0f");
        let copy = retry.clone();
        let hdr = only(&copy, 0);
        assert!(unprotect(&mut retry, &hdr, &keys, None).is_err());
    }

    proptest! {
        /// Any datagram: no panic, ranges that tile the datagram from its start, an error
        /// only last; and unprotecting each packet (with keys it was not sealed with, or an
        /// arbitrary header offset) fails cleanly.
        #[test]
        fn arbitrary_bytes_never_panic(
            datagram in proptest::collection::vec(any::<u8>(), 0..300),
            first in prop::sample::select(vec![0x40u8, 0xc0, 0xd0, 0xe0, 0xf0]),
            dcid_len in 0usize..24,
            pn_offset in 0usize..400,
            largest in proptest::option::of(any::<u64>()),
        ) {
            let keys = PacketKeys::initial(VERSION_1, &[1; 8], true).unwrap();
            for datagram in [datagram.clone(), [&[first, 0, 0, 0, 1][..], &datagram].concat()] {
                let items: Vec<_> = packets(&datagram, dcid_len).collect();
                let mut at = 0;
                for (i, h) in items.iter().enumerate() {
                    match h {
                        Ok(h) => {
                            prop_assert_eq!(h.start, at);
                            prop_assert!(h.pn_offset <= h.len && h.range().end <= datagram.len());
                            at = h.range().end;
                            let mut packet = datagram[h.range()].to_vec();
                            let _ = unprotect(&mut packet, h, &keys, largest);
                            let odd = Header { pn_offset, ..*h };
                            let _ = unprotect(&mut datagram.clone(), &odd, &keys, largest);
                        }
                        Err(_) => prop_assert_eq!(i, items.len() - 1),
                    }
                }
            }
        }
    }

    const V1_CLIENT_INITIAL: &str = "
        c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11
        d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399
        1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c
        8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212
        30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5
        457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208
        4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec
        4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3
        485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db
        059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c
        7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8
        9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556
        be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74
        68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a
        c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00
        f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632
        291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964
        25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd
        14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff
        ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198
        e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd
        c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73
        203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f
        cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e
        fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade
        a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047
        90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2
        162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4
        40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0
        6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e
        8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0
        be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400
        54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab
        760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9
        f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4
        056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064
        7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241
        e221af44860018ab0856972e194cd934";

    const V1_SERVER_INITIAL: &str = "
        cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
        5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
        dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
        022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
        2158407dd074ee";

    const V2_CLIENT_INITIAL: &str = "
        d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485
        dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04
        9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d
        250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a
        12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500
        cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68
        18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33
        12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3
        d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd
        6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520
        bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045
        636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f
        ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12
        16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5
        4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4
        fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b
        8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7
        14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9
        9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91
        abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd
        80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db
        848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18
        d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15
        c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc
        7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61
        f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710
        10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b
        3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e
        06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce
        8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1
        34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1
        e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd
        5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3
        8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89
        d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53
        6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19
        9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b
        a18b2faa745b6fe189cf772a9f84cbfc";

    const V2_SERVER_INITIAL: &str = "
        dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698
        baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17
        f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2
        c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8
        4bed8521e2e140";
}
