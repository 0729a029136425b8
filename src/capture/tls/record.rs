//! Step 3c (TLS records): the record header, handshake message reassembly across records,
//! and the few handshake fields decryption needs (randoms, version, cipher suite, ALPN).

/// Content types (RFC 8446 §5.1).
pub(crate) const CHANGE_CIPHER_SPEC: u8 = 20;
pub(crate) const ALERT: u8 = 21;
pub(crate) const HANDSHAKE: u8 = 22;
pub(crate) const APPLICATION_DATA: u8 = 23;

/// Largest record fragment (TLS 1.2 allows 2^14 + 2048 of ciphertext).
pub(crate) const MAX_FRAGMENT: usize = (1 << 14) + 2048;

/// Handshake message types used.
pub(crate) const CLIENT_HELLO: u8 = 1;
pub(crate) const SERVER_HELLO: u8 = 2;
pub(crate) const ENCRYPTED_EXTENSIONS: u8 = 8;
pub(crate) const FINISHED: u8 = 20;
pub(crate) const KEY_UPDATE: u8 = 24;

/// Handshake messages kept whole; the others (certificates…) are skipped by length.
const KEPT: [u8; 5] = [
    CLIENT_HELLO,
    SERVER_HELLO,
    ENCRYPTED_EXTENSIONS,
    FINISHED,
    KEY_UPDATE,
];
/// Largest kept message (a ClientHello with many extensions stays far below).
const MAX_KEPT: usize = 64 * 1024;

/// ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Whether bytes can start a TLS record (handshake, version 3.x, sane length).
pub(crate) fn looks_like_record(data: &[u8]) -> bool {
    matches!(data, [HANDSHAKE, 3, 0..=4, ..])
}

/// Handshake bytes to messages, across record boundaries.
#[derive(Debug, Default)]
pub(crate) struct HsReader {
    head: [u8; 4],
    head_len: usize,
    /// (type, bytes left, kept) of the message being read.
    cur: Option<(u8, usize, bool)>,
    body: Vec<u8>,
}

impl HsReader {
    pub(crate) fn buffered(&self) -> usize {
        self.body.capacity()
    }

    /// Feeds handshake bytes; `on` gets (type, body) of every kept message completed.
    pub(crate) fn feed(&mut self, mut data: &[u8], on: &mut dyn FnMut(u8, &[u8])) {
        while !data.is_empty() {
            match self.cur {
                None => {
                    let n = (4 - self.head_len).min(data.len());
                    self.head[self.head_len..self.head_len + n].copy_from_slice(&data[..n]);
                    self.head_len += n;
                    data = &data[n..];
                    if self.head_len == 4 {
                        self.head_len = 0;
                        let kind = self.head[0];
                        let len = (usize::from(self.head[1]) << 16)
                            | (usize::from(self.head[2]) << 8)
                            | usize::from(self.head[3]);
                        let keep = KEPT.contains(&kind) && len <= MAX_KEPT;
                        if len == 0 {
                            if keep {
                                on(kind, &[]);
                            }
                        } else {
                            self.cur = Some((kind, len, keep));
                        }
                    }
                }
                Some((kind, left, keep)) => {
                    let n = left.min(data.len());
                    if keep {
                        self.body.extend_from_slice(&data[..n]);
                    }
                    data = &data[n..];
                    if n == left {
                        self.cur = None;
                        if keep {
                            let body = std::mem::take(&mut self.body);
                            on(kind, &body);
                        }
                    } else {
                        self.cur = Some((kind, left - n, keep));
                    }
                }
            }
        }
    }
}

/// A cursor over handshake fields; every read is checked.
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    /// Extensions as (type, data).
    fn extensions(&mut self) -> Vec<(u16, &'a [u8])> {
        let mut v = Vec::new();
        if let Some(all) = self.vec16() {
            let mut c = Cur(all);
            while let (Some(t), Some(d)) = (c.u16(), c.vec16()) {
                v.push((t, d));
            }
        }
        v
    }
}

const EXT_ALPN: u16 = 16;
const EXT_EARLY_DATA: u16 = 42;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientHello {
    pub random: [u8; 32],
    pub early_data: bool,
}

pub(crate) fn client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut c = Cur(body);
    c.u16()?;
    let random: [u8; 32] = c.take(32)?.try_into().ok()?;
    c.vec8()?; // session id
    c.vec16()?; // cipher suites
    c.vec8()?; // compression
    let early_data = c.extensions().iter().any(|(t, _)| *t == EXT_EARLY_DATA);
    Some(ClientHello { random, early_data })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerHello {
    pub random: [u8; 32],
    pub tls13: bool,
    pub suite: u16,
    pub alpn: Option<Vec<u8>>,
    pub retry: bool,
}

pub(crate) fn server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut c = Cur(body);
    // legacy_version: TLS 1.3 says 1.2 here; SSL 3.0 – TLS 1.1 (CBC suites only) fail the
    // suite lookup and are reported as unsupported.
    c.u16()?;
    let random: [u8; 32] = c.take(32)?.try_into().ok()?;
    c.vec8()?;
    let suite = c.u16()?;
    c.u8()?;
    let mut tls13 = false;
    let mut alpn = None;
    for (t, d) in c.extensions() {
        match t {
            EXT_SUPPORTED_VERSIONS => tls13 = d == [3, 4],
            EXT_ALPN => alpn = alpn_of(d),
            _ => {}
        }
    }
    Some(ServerHello {
        random,
        tls13,
        suite,
        alpn,
        retry: random == HRR_RANDOM,
    })
}

/// The protocol an ALPN extension (server side: exactly one) selects.
fn alpn_of(d: &[u8]) -> Option<Vec<u8>> {
    let mut c = Cur(d);
    let list = c.vec16()?;
    Cur(list).vec8().map(<[u8]>::to_vec)
}

/// ALPN from EncryptedExtensions (TLS 1.3).
pub(crate) fn encrypted_extensions_alpn(body: &[u8]) -> Option<Vec<u8>> {
    Cur(body)
        .extensions()
        .into_iter()
        .find(|(t, _)| *t == EXT_ALPN)
        .and_then(|(_, d)| alpn_of(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_messages_across_any_split() {
        let mut b = vec![CLIENT_HELLO, 0, 0, 3, 1, 2, 3];
        b.extend([11, 0, 0, 2, 9, 9]); // certificate: skipped
        b.extend([FINISHED, 0, 0, 1, 7]);
        for step in 1..b.len() {
            let mut r = HsReader::default();
            let mut got = Vec::new();
            for c in b.chunks(step) {
                r.feed(c, &mut |t, body| got.push((t, body.to_vec())));
            }
            assert_eq!(
                got,
                vec![(CLIENT_HELLO, vec![1, 2, 3]), (FINISHED, vec![7])]
            );
        }
    }

    #[test]
    fn hellos_parse_and_truncations_do_not() {
        let mut sh = vec![3, 3];
        sh.extend([5u8; 32]);
        sh.extend([0, 0x13, 0x01, 0]);
        // supported_versions = 1.3, ALPN = h2
        let ext = [0, 43, 0, 2, 3, 4, 0, 16, 0, 5, 0, 3, 2, b'h', b'2'];
        sh.extend((ext.len() as u16).to_be_bytes());
        sh.extend(ext);
        let h = server_hello(&sh).unwrap();
        assert!(h.tls13 && !h.retry);
        assert_eq!((h.suite, h.alpn.as_deref()), (0x1301, Some(&b"h2"[..])));
        for n in 0..38 {
            assert!(server_hello(&sh[..n]).is_none(), "{n}");
        }
        assert!(client_hello(&[3, 3, 1]).is_none());
    }
}
