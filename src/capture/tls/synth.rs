//! Step 0 (generator support): wraps the synthetic capture generator's HTTP/1.1 messages into
//! HTTP/2 over TLS 1.3 (`generate-pcap --tls-keylog`), so decryption and HTTP/2 can be
//! measured on large inputs. The handshake is a sketch (no certificate, no real key exchange:
//! the traffic secrets are random and written to the key log, as a browser would), but the
//! records, the key schedule, the ALPN and the HTTP/2 framing are what a real session has.

use std::collections::VecDeque;

use super::keys::{suite, DirKeys};
use super::record::{APPLICATION_DATA, HANDSHAKE};
use crate::capture::h2::frame::{self, PREFACE};

/// TLS and HTTP/2 state of one generated connection.
pub(crate) struct SynTls {
    client: DirKeys,
    server: DirKeys,
    next_stream: u32,
    /// Streams whose response is still to come, oldest first (responses follow requests).
    waiting: VecDeque<u32>,
    preface_sent: bool,
}

/// What opening a session produces: the key log lines and the two handshake flights.
pub(crate) struct Opened {
    pub tls: SynTls,
    pub keylog: String,
    pub client_hello: Vec<u8>,
    pub server_flight: Vec<u8>,
    pub client_finished: Vec<u8>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn handshake_msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn plain_record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// HPACK literal without indexing, new name, no Huffman (RFC 7541 §6.2.2).
fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0);
    integer(out, name.len(), 7);
    out.extend_from_slice(name);
    integer(out, value.len(), 7);
    out.extend_from_slice(value);
}

/// An HPACK (and QPACK) prefixed integer (RFC 7541 §5.1): the low `prefix` bits of the next
/// byte pushed, then continuation bytes; the caller sets the first byte's high bits.
pub(crate) fn integer(out: &mut Vec<u8>, mut v: usize, prefix: u8) {
    let max = (1usize << prefix) - 1;
    if v < max {
        out.push(v as u8);
        return;
    }
    out.push(max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128 + 128) as u8);
        v /= 128;
    }
    out.push(v as u8);
}

fn h2_frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// One HTTP/2 frame on its own, for the frame and connection tests.
#[cfg(test)]
pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + payload.len());
    h2_frame(&mut v, kind, flags, stream, payload);
    v
}

/// Header fields HTTP/2 forbids (RFC 9113 §8.2.2) or carries as pseudo-headers.
const DROPPED: [&str; 5] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "host",
    "upgrade",
];

/// The ClientHello and ServerHello handshake messages (type and length included) of a TLS 1.3
/// session with these randoms, TLS_AES_128_GCM_SHA256 and the ALPN protocol `alpn`.
pub(crate) fn hellos(
    client_random: &[u8],
    server_random: &[u8],
    alpn: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let mut ch = vec![3, 3];
    ch.extend_from_slice(client_random);
    ch.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    // supported_versions (TLS 1.3), then application_layer_protocol_negotiation.
    let mut ext = vec![0, 43, 0, 3, 2, 3, 4, 0, 16];
    ext.extend_from_slice(&(alpn.len() as u16 + 3).to_be_bytes());
    ext.extend_from_slice(&(alpn.len() as u16 + 1).to_be_bytes());
    ext.push(alpn.len() as u8);
    ext.extend_from_slice(alpn);
    ch.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    ch.extend_from_slice(&ext);
    let mut sh = vec![3, 3];
    sh.extend_from_slice(server_random);
    sh.extend_from_slice(&[0, 0x13, 0x01, 0]);
    let ext = [0, 43, 0, 2, 3, 4];
    sh.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    sh.extend_from_slice(&ext);
    (handshake_msg(1, &ch), handshake_msg(2, &sh))
}

/// An HTTP/1.1 message as the generator writes it, as HTTP/2 and HTTP/3 carry it: its
/// pseudo-header fields, then its fields (lowercase names, without those the two forbid), and
/// its body as it is (chunked framing included: only its size matters here).
pub(crate) fn message_fields(from_client: bool, msg: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let head_end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(msg.len(), |p| p + 4);
    let (head, body) = msg.split_at(head_end);
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let start = lines.next().unwrap_or("");
    let mut fields = Vec::new();
    let mut pseudo = |n: &str, v: &str| fields.push((n.to_string(), v.to_string()));
    if from_client {
        let mut parts = start.split(' ');
        let (method, path) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
        let host = text
            .split("\r\n")
            .find_map(|l| l.strip_prefix("Host: "))
            .unwrap_or("localhost");
        pseudo(":method", method);
        pseudo(":scheme", "https");
        pseudo(":authority", host);
        pseudo(":path", path);
    } else {
        pseudo(":status", start.split(' ').nth(1).unwrap_or("200"));
    }
    for line in lines {
        if let Some((n, v)) = line.split_once(':') {
            let n = n.trim().to_ascii_lowercase();
            if !DROPPED.contains(&n.as_str()) {
                fields.push((n, v.trim().to_string()));
            }
        }
    }
    (fields, body)
}

/// `n` bytes drawn from `random`, eight at a time.
pub(crate) fn random_bytes(random: &mut dyn FnMut() -> u64, n: usize) -> Vec<u8> {
    (0..n.div_ceil(8))
        .flat_map(|_| random().to_be_bytes())
        .take(n)
        .collect()
}

/// The key log lines of a generated TLS 1.3 session: its four traffic secrets (the client's
/// and the server's handshake, then application secrets) under its ClientHello random.
pub(crate) fn keylog_lines(client_random: &[u8], secrets: &[Vec<u8>]) -> String {
    let labels = [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ];
    labels
        .iter()
        .zip(secrets)
        .map(|(l, s)| format!("{l} {} {}\n", hex(client_random), hex(s)))
        .collect()
}

impl SynTls {
    /// A new session; `random` gives the ClientHello random and the traffic secrets.
    pub(crate) fn open(random: &mut dyn FnMut() -> u64) -> Opened {
        let mut bytes = |n: usize| random_bytes(random, n);
        let (cr, sr) = (bytes(32), bytes(32));
        let secrets: Vec<Vec<u8>> = (0..4).map(|_| bytes(32)).collect();
        let s = suite(0x1301, true).expect("TLS_AES_128_GCM_SHA256 is in the table");
        let keylog = keylog_lines(&cr, &secrets);
        let (ch, sh) = hellos(&cr, &sr, b"h2");
        let client_hello = plain_record(HANDSHAKE, &ch);
        let mut server_flight = plain_record(HANDSHAKE, &sh);
        let mut shs = DirKeys::tls13(s, &secrets[1]);
        let ee = [0, 9, 0, 16, 0, 5, 0, 3, 2, b'h', b'2'];
        let mut flight = handshake_msg(8, &ee);
        flight.extend(handshake_msg(20, &[0x5a; 32]));
        server_flight.extend(shs.seal(HANDSHAKE, &flight));
        let mut chs = DirKeys::tls13(s, &secrets[0]);
        let client_finished = chs.seal(HANDSHAKE, &handshake_msg(20, &[0xa5; 32]));
        Opened {
            tls: SynTls {
                client: DirKeys::tls13(s, &secrets[2]),
                server: DirKeys::tls13(s, &secrets[3]),
                next_stream: 1,
                waiting: VecDeque::new(),
                preface_sent: false,
            },
            keylog,
            client_hello,
            server_flight,
            client_finished,
        }
    }

    /// One HTTP/1.1 message (head and body, as the generator writes it) as HTTP/2 frames in
    /// TLS records. The body is carried as it is (chunked framing included: only its size
    /// matters here).
    pub(crate) fn wrap(&mut self, from_client: bool, msg: &[u8]) -> Vec<u8> {
        let (fields, body) = message_fields(from_client, msg);
        let mut block = Vec::new();
        for (n, v) in &fields {
            literal(&mut block, n.as_bytes(), v.as_bytes());
        }
        let mut h2 = Vec::new();
        let stream = if from_client {
            if !self.preface_sent {
                self.preface_sent = true;
                h2.extend_from_slice(PREFACE);
                h2_frame(&mut h2, 4, 0, 0, &[0, 1, 0, 0, 0x10, 0]);
            }
            let s = self.next_stream;
            self.next_stream += 2;
            self.waiting.push_back(s);
            s
        } else {
            self.waiting.pop_front().unwrap_or(1)
        };
        let end_stream = if body.is_empty() {
            frame::END_STREAM
        } else {
            0
        };
        h2_frame(
            &mut h2,
            frame::HEADERS,
            frame::END_HEADERS | end_stream,
            stream,
            &block,
        );
        let chunks: Vec<&[u8]> = body.chunks(16_384).collect();
        for (i, c) in chunks.iter().enumerate() {
            let flags = if i + 1 == chunks.len() {
                frame::END_STREAM
            } else {
                0
            };
            h2_frame(&mut h2, frame::DATA, flags, stream, c);
        }
        let keys = if from_client {
            &mut self.client
        } else {
            &mut self.server
        };
        let mut out = Vec::with_capacity(h2.len() + h2.len() / 1000 * 22 + 22);
        for rec in h2.chunks(16_384) {
            out.extend(keys.seal(APPLICATION_DATA, rec));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_encoding_matches_rfc7541_c1() {
        let mut v = Vec::new();
        integer(&mut v, 10, 5);
        integer(&mut v, 1337, 5);
        assert_eq!(v, [10, 31, 154, 10]);
    }
}
