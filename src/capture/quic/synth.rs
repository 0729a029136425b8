//! Step 0 (generator support): HTTP/3 over QUIC v1 for the synthetic capture generator
//! (`generate-pcap --quic-keylog`), so QUIC decryption and HTTP/3 can be measured on large
//! inputs. As with `tls::synth`, the handshake is a sketch (random traffic secrets written to
//! the key log, as a browser would; no certificate, no key exchange, no Handshake packets), but
//! the Initial and 1-RTT packets, their protection, the streams, the HTTP/3 frames and the QPACK
//! field sections are what a real connection carries.

use std::collections::VecDeque;

use super::packet::{seal, PacketKeys, VERSION_1};
use crate::capture::h3::frame::{CONTROL, DATA, HEADERS, SETTINGS};
use crate::capture::tls::keys::suite;
use crate::capture::tls::synth::{hellos, integer, keylog_lines, message_fields, random_bytes};

/// Stream bytes per packet: datagrams stay under 1,252 bytes, as Chromium's do.
const STREAM_CHUNK: usize = 1200;
/// The size of the client's first Initial datagram (RFC 9000 §14.1's minimum, Chromium's).
const CLIENT_INITIAL: usize = 1250;
const CID_LEN: usize = 8;
const CLIENT: usize = 0;
const SERVER: usize = 1;

/// QUIC and HTTP/3 state of one generated connection.
pub(crate) struct SynQuic {
    /// 1-RTT keys of the client's packets and of the server's.
    keys: [PacketKeys; 2],
    /// The client's connection ID and the server's: each the Destination ID of the other
    /// side's short headers.
    cid: [Vec<u8>; 2],
    /// Each side's next 1-RTT packet number.
    pn: [u64; 2],
    next_stream: u64,
    /// Request streams whose response is still to come, oldest first.
    waiting: VecDeque<u64>,
    /// Whether each side opened its control stream.
    control: [bool; 2],
}

/// What opening a connection produces: the key log lines and the Initial datagrams.
pub(crate) struct Opened {
    pub quic: SynQuic,
    pub keylog: String,
    /// The client's first Initial (its ClientHello, padded) and the server's (its ServerHello).
    pub client_initial: Vec<u8>,
    pub server_initial: Vec<u8>,
}

/// A QUIC variable-length integer (RFC 9000 §16).
fn varint(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=0x3f => out.push(v as u8),
        0x40..=0x3fff => out.extend_from_slice(&(v as u16 | 0x4000).to_be_bytes()),
        0x4000..=0x3fff_ffff => out.extend_from_slice(&(v as u32 | 0x8000_0000).to_be_bytes()),
        _ => out.extend_from_slice(&(v | 0xc000_0000_0000_0000).to_be_bytes()),
    }
}

/// An HTTP/3 frame (RFC 9114 §7.1).
fn h3_frame(out: &mut Vec<u8>, kind: u64, payload: &[u8]) {
    varint(out, kind);
    varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// A STREAM frame with its offset and length (RFC 9000 §19.8).
fn stream_frame(out: &mut Vec<u8>, id: u64, offset: u64, data: &[u8], fin: bool) {
    out.push(0x08 | 0x04 | 0x02 | u8::from(fin));
    varint(out, id);
    varint(out, offset);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// A QPACK field line with a literal name, no Huffman coding (RFC 9204 §4.5.6).
fn qpack_literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    let at = out.len();
    integer(out, name.len(), 3);
    out[at] |= 0x20;
    out.extend_from_slice(name);
    integer(out, value.len(), 7);
    out.extend_from_slice(value);
}

/// An Initial packet (RFC 9000 §17.2.2) with a two-byte packet number; `pad_to`: the datagram
/// size PADDING frames bring it to.
pub(crate) fn initial(
    keys: &PacketKeys,
    dcid: &[u8],
    scid: &[u8],
    payload: &[u8],
    pad_to: Option<usize>,
) -> Vec<u8> {
    let mut header = vec![0xc1];
    header.extend_from_slice(&VERSION_1.to_be_bytes());
    for id in [dcid, scid] {
        header.push(id.len() as u8);
        header.extend_from_slice(id);
    }
    // No token; then the Length field, two bytes, and the packet number.
    header.push(0);
    let mut payload = payload.to_vec();
    if let Some(size) = pad_to {
        payload.resize(size.saturating_sub(header.len() + 2 + 2 + 16), 0);
    }
    header.extend_from_slice(&((2 + payload.len() + 16) as u16 | 0x4000).to_be_bytes());
    header.extend_from_slice(&[0, 0]);
    seal(keys, &header, 0, 2, &payload)
}

/// A CRYPTO frame at offset 0 (RFC 9000 §19.6).
fn crypto(out: &mut Vec<u8>, data: &[u8]) {
    out.push(0x06);
    varint(out, 0);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

impl SynQuic {
    /// A new connection; `random` gives the IDs, the ClientHello random and the secrets.
    pub(crate) fn open(random: &mut dyn FnMut() -> u64) -> Opened {
        let mut bytes = |n: usize| random_bytes(random, n);
        let (cr, sr) = (bytes(32), bytes(32));
        let (dcid, client_cid, server_cid) = (bytes(CID_LEN), bytes(CID_LEN), bytes(CID_LEN));
        let secrets: Vec<Vec<u8>> = (0..4).map(|_| bytes(32)).collect();
        let keylog = keylog_lines(&cr, &secrets);
        let (ch, sh) = hellos(&cr, &sr, b"h3");
        // Invariant: version 1 has Initial salts and labels, the suite is in the table, and the
        // secrets are SHA-256 long, so every key below exists.
        let initial_keys = |client| PacketKeys::initial(VERSION_1, &dcid, client).expect("v1");
        let mut hello = Vec::new();
        crypto(&mut hello, &ch);
        let client_initial = initial(
            &initial_keys(true),
            &dcid,
            &client_cid,
            &hello,
            Some(CLIENT_INITIAL),
        );
        // An ACK of the client's Initial 0, then the ServerHello.
        let mut answer = vec![0x02, 0, 0, 0, 0];
        crypto(&mut answer, &sh);
        let server_initial = initial(
            &initial_keys(false),
            &client_cid,
            &server_cid,
            &answer,
            None,
        );
        let aes128 = suite(0x1301, true).expect("TLS_AES_128_GCM_SHA256 is in the table");
        let app = |s: &[u8]| PacketKeys::from_secret(VERSION_1, aes128, s).expect("32 bytes");
        Opened {
            quic: SynQuic {
                keys: [app(&secrets[2]), app(&secrets[3])],
                cid: [client_cid, server_cid],
                pn: [0, 0],
                next_stream: 0,
                waiting: VecDeque::new(),
                control: [false, false],
            },
            keylog,
            client_initial,
            server_initial,
        }
    }

    /// One HTTP/1.1 message (as the generator writes it) as HTTP/3 on its request stream,
    /// in datagrams of one 1-RTT packet each; a side's first message also opens its control
    /// stream (SETTINGS). Field sections use no dynamic table.
    pub(crate) fn wrap(&mut self, from_client: bool, msg: &[u8]) -> Vec<Vec<u8>> {
        let side = if from_client { CLIENT } else { SERVER };
        let (fields, body) = message_fields(from_client, msg);
        // Required Insert Count 0, Base 0.
        let mut section = vec![0, 0];
        for (n, v) in &fields {
            qpack_literal(&mut section, n.as_bytes(), v.as_bytes());
        }
        let mut h3 = Vec::with_capacity(section.len() + body.len() + 16);
        h3_frame(&mut h3, HEADERS, &section);
        if !body.is_empty() {
            h3_frame(&mut h3, DATA, body);
        }
        let stream = if from_client {
            let s = self.next_stream;
            self.next_stream += 4;
            self.waiting.push_back(s);
            s
        } else {
            self.waiting.pop_front().unwrap_or(0)
        };
        let chunks: Vec<&[u8]> = h3.chunks(STREAM_CHUNK).collect();
        let mut out = Vec::with_capacity(chunks.len());
        let mut offset = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            let mut payload = Vec::with_capacity(chunk.len() + 16);
            if !std::mem::replace(&mut self.control[side], true) {
                // Unidirectional stream 2 (the client's) or 3 (the server's).
                let mut control = Vec::new();
                varint(&mut control, CONTROL);
                h3_frame(&mut control, SETTINGS, &[]);
                stream_frame(&mut payload, 2 + side as u64, 0, &control, false);
            }
            stream_frame(&mut payload, stream, offset, chunk, i + 1 == chunks.len());
            offset += chunk.len() as u64;
            out.push(self.packet(side, &payload));
        }
        out
    }

    /// From one side, an acknowledgment of every packet the other side sent so far (`None`
    /// before it sent any).
    pub(crate) fn ack(&mut self, from_client: bool) -> Option<Vec<u8>> {
        let side = if from_client { CLIENT } else { SERVER };
        let largest = self.pn[1 - side].checked_sub(1)?;
        let mut payload = vec![0x02];
        varint(&mut payload, largest);
        // No delay, no further ranges, the first range down to packet 0.
        payload.extend_from_slice(&[0, 0]);
        varint(&mut payload, largest);
        Some(self.packet(side, &payload))
    }

    /// The client closing the connection (CONNECTION_CLOSE, no error).
    pub(crate) fn close(&mut self) -> Vec<u8> {
        self.packet(CLIENT, &[0x1c, 0, 0, 0])
    }

    /// A 1-RTT packet of `side` (short header, two-byte packet number).
    fn packet(&mut self, side: usize, payload: &[u8]) -> Vec<u8> {
        let pn = self.pn[side];
        self.pn[side] += 1;
        let mut header = vec![0x41];
        header.extend_from_slice(&self.cid[1 - side]);
        header.extend_from_slice(&(pn as u16).to_be_bytes());
        seal(&self.keys[side], &header, pn, 2, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::h3::frame::varint as read_varint;

    #[test]
    fn varints_read_back() {
        for v in [
            0,
            37,
            63,
            64,
            15_293,
            16_383,
            16_384,
            494_878_333,
            1 << 30,
            1 << 61,
        ] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(read_varint(&out), Some((v, out.len())), "{v}");
        }
    }

    /// RFC 9204 §4.5.6: `0x2` then a 3-bit name length prefix.
    #[test]
    fn qpack_literal_names_use_a_three_bit_prefix() {
        let mut out = Vec::new();
        qpack_literal(&mut out, b"x-a", b"1");
        assert_eq!(out, [0x23, b'x', b'-', b'a', 1, b'1']);
        let mut long = Vec::new();
        qpack_literal(&mut long, &[b'n'; 9], b"");
        assert_eq!(&long[..2], [0x27, 2]);
    }
}
