//! Step 3c (TLS keys): cipher suites, the TLS 1.3 key schedule (HKDF-Expand-Label, traffic
//! keys, KeyUpdate), the TLS 1.2 PRF key block, and record decryption with AES-GCM and
//! ChaCha20-Poly1305. All cryptography is ring's (HKDF, HMAC and the AEADs; its assembly
//! AES-GCM, with AES and GHASH in one pass, decrypts at several times the speed of a portable
//! implementation, and record decryption was the largest cost of a TLS capture); this only
//! arranges inputs as the RFCs say (RFC 8446 §7, RFC 5246 §5–6, RFC 5288, RFC 7905).

use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey};
use ring::{hkdf, hmac};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    /// The one table of the hashes: ring's HKDF of each, from which its HMAC and output length
    /// follow.
    fn hkdf(self) -> hkdf::Algorithm {
        match self {
            Hash::Sha256 => hkdf::HKDF_SHA256,
            Hash::Sha384 => hkdf::HKDF_SHA384,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        self.hkdf().hmac_algorithm()
    }

    pub(crate) fn out_len(self) -> usize {
        self.hmac().digest_algorithm().output_len()
    }
}

/// An HKDF output length, as ring asks for one.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl Cipher {
    /// ring's AEAD of each cipher (its key length follows from it).
    pub(crate) fn aead(self) -> &'static ring::aead::Algorithm {
        match self {
            Cipher::Aes128Gcm => &ring::aead::AES_128_GCM,
            Cipher::Aes256Gcm => &ring::aead::AES_256_GCM,
            Cipher::ChaCha20Poly1305 => &ring::aead::CHACHA20_POLY1305,
        }
    }

    pub(crate) fn key_len(self) -> usize {
        self.aead().key_len()
    }

    /// TLS 1.2 `fixed_iv_length`: 4 for GCM (an 8-byte explicit nonce follows in each
    /// record), 12 for ChaCha20-Poly1305 (no explicit nonce, as in TLS 1.3).
    fn tls12_iv_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => 4,
            Cipher::ChaCha20Poly1305 => 12,
        }
    }
}

/// A cipher suite we can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Suite {
    pub id: u16,
    pub tls13: bool,
    pub cipher: Cipher,
    pub hash: Hash,
}

const fn s(id: u16, tls13: bool, cipher: Cipher, hash: Hash) -> Suite {
    Suite {
        id,
        tls13,
        cipher,
        hash,
    }
}

/// Every suite supported: TLS 1.3's three AEAD suites and the TLS 1.2 AEAD suites (the key
/// exchange does not matter: the key log gives the master secret).
pub(crate) const SUITES: [Suite; 16] = [
    s(0x1301, true, Cipher::Aes128Gcm, Hash::Sha256),
    s(0x1302, true, Cipher::Aes256Gcm, Hash::Sha384),
    s(0x1303, true, Cipher::ChaCha20Poly1305, Hash::Sha256),
    s(0x009c, false, Cipher::Aes128Gcm, Hash::Sha256), // RSA
    s(0x009d, false, Cipher::Aes256Gcm, Hash::Sha384),
    s(0x009e, false, Cipher::Aes128Gcm, Hash::Sha256), // DHE_RSA
    s(0x009f, false, Cipher::Aes256Gcm, Hash::Sha384),
    s(0xc02b, false, Cipher::Aes128Gcm, Hash::Sha256), // ECDHE_ECDSA
    s(0xc02c, false, Cipher::Aes256Gcm, Hash::Sha384),
    s(0xc02f, false, Cipher::Aes128Gcm, Hash::Sha256), // ECDHE_RSA
    s(0xc030, false, Cipher::Aes256Gcm, Hash::Sha384),
    s(0xcca8, false, Cipher::ChaCha20Poly1305, Hash::Sha256), // ECDHE_RSA
    s(0xcca9, false, Cipher::ChaCha20Poly1305, Hash::Sha256), // ECDHE_ECDSA
    s(0xccaa, false, Cipher::ChaCha20Poly1305, Hash::Sha256), // DHE_RSA
    s(0x00a8, false, Cipher::Aes128Gcm, Hash::Sha256),        // PSK
    s(0x00a9, false, Cipher::Aes256Gcm, Hash::Sha384),
];

/// The suite for an id, for the protocol version negotiated.
pub(crate) fn suite(id: u16, tls13: bool) -> Option<Suite> {
    SUITES
        .iter()
        .find(|s| s.id == id && s.tls13 == tls13)
        .copied()
}

/// HKDF-Expand-Label (RFC 8446 §7.1). `out.len()` and the label are small (a key, an IV or a
/// secret), so the encoding cannot overflow its one-byte lengths.
pub(crate) fn expand_label(hash: Hash, secret: &[u8], label: &str, context: &[u8], out: &mut [u8]) {
    expand_labels(hash, secret, &mut [(label, context, out)]);
}

/// [`expand_label`] of several labels from one secret: the HMAC key schedule of the secret is
/// made once (a traffic secret gives its key and IV; the schedule was a quarter of the
/// hashing per connection).
fn expand_labels(hash: Hash, secret: &[u8], outs: &mut [(&str, &[u8], &mut [u8])]) {
    // A secret shorter than the hash is not a PRK (RFC 5869 §2.3: at least HashLen bytes; a
    // key log line cut short); the expansion itself only fails for outputs longer than 255
    // hashes. Either leaves `out` zeroed: such a key simply never authenticates a record,
    // which is reported as a decryption failure.
    let prk =
        (secret.len() >= hash.out_len()).then(|| hkdf::Prk::new_less_safe(hash.hkdf(), secret));
    for (label, context, out) in outs.iter_mut() {
        let mut stack = [0u8; 64];
        let mut heap = Vec::new();
        let info = label_info(out.len(), label, context, &mut stack, &mut heap);
        out.fill(0);
        let info = [info];
        if let Some(okm) = prk
            .as_ref()
            .and_then(|p| p.expand(&info, Len(out.len())).ok())
        {
            // `fill` refuses only an output of another length than the one expanded (`out`'s
            // own), and then writes nothing.
            let _ = okm.fill(out);
        }
    }
}

/// The `HkdfLabel` structure (RFC 8446 §7.1), written into `stack` when it fits (every label
/// this reader derives, with a hash as context: an allocation per label was most of a
/// connection's), else into `heap`.
fn label_info<'b>(
    len: usize,
    label: &str,
    context: &[u8],
    stack: &'b mut [u8; 64],
    heap: &'b mut Vec<u8>,
) -> &'b [u8] {
    let parts: [&[u8]; 6] = [
        &(len as u16).to_be_bytes(),
        &[(6 + label.len()) as u8],
        b"tls13 ",
        label.as_bytes(),
        &[context.len() as u8],
        context,
    ];
    let total = parts.iter().map(|p| p.len()).sum::<usize>();
    let info: &mut [u8] = match stack.get_mut(..total) {
        Some(s) => s,
        None => {
            heap.resize(total, 0);
            heap
        }
    };
    let mut at = 0;
    for p in parts {
        info[at..at + p.len()].copy_from_slice(p);
        at += p.len();
    }
    info
}

/// The next traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub(crate) fn next_secret(hash: Hash, secret: &[u8]) -> Vec<u8> {
    let mut out = vec![0; hash.out_len()];
    expand_label(hash, secret, "traffic upd", &[], &mut out);
    out
}

fn hmac(key: &hmac::Key, parts: &[&[u8]]) -> hmac::Tag {
    let mut m = hmac::Context::with_key(key);
    for p in parts {
        m.update(p);
    }
    m.sign()
}

/// The TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed), `len` bytes.
pub(crate) fn prf12(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash.out_len());
    // HMAC takes keys of any length; its key schedule is made once for every block.
    let key = hmac::Key::new(hash.hmac(), secret);
    let mut a = hmac(&key, &[label, seed]);
    while out.len() < len {
        out.extend_from_slice(hmac(&key, &[a.as_ref(), label, seed]).as_ref());
        a = hmac(&key, &[a.as_ref()]);
    }
    out.truncate(len);
    out
}

/// Record protection of one direction: the AEAD, its IV and the record sequence number.
pub(crate) struct DirKeys {
    /// `None` only if the AEAD rejected the key, which `Cipher::key_len` rules out: then no
    /// record authenticates, reported as a decryption failure. Boxed: the expanded key is
    /// 544 bytes, and a connection holds up to four of these (each side's, and 0-RTT's).
    aead: Option<Box<LessSafeKey>>,
    iv: [u8; 12],
    /// TLS 1.2 GCM: only the first 4 IV bytes are fixed; the rest is in each record.
    explicit_nonce: bool,
    tls13: bool,
    pub seq: u64,
}

impl std::fmt::Debug for DirKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DirKeys(seq {})", self.seq)
    }
}

/// Bytes an AEAD tag takes (all supported ciphers).
pub(crate) const TAG_LEN: usize = 16;

impl DirKeys {
    fn new(cipher: Cipher, key: &[u8], iv: &[u8], explicit_nonce: bool, tls13: bool) -> Self {
        let aead = UnboundKey::new(cipher.aead(), key)
            .ok()
            .map(|k| Box::new(LessSafeKey::new(k)));
        let mut v = [0u8; 12];
        for (d, s) in v.iter_mut().zip(iv) {
            *d = *s;
        }
        DirKeys {
            aead,
            iv: v,
            explicit_nonce,
            tls13,
            seq: 0,
        }
    }

    /// TLS 1.3 keys from a traffic secret (RFC 8446 §7.3).
    pub(crate) fn tls13(suite: Suite, secret: &[u8]) -> Self {
        // Room for the longest key (`key_len`), without an allocation.
        let mut key = [0u8; 32];
        let key = &mut key[..suite.cipher.key_len()];
        let mut iv = [0u8; 12];
        expand_labels(
            suite.hash,
            secret,
            &mut [("key", &[], key), ("iv", &[], &mut iv)],
        );
        DirKeys::new(suite.cipher, key, &iv, false, true)
    }

    /// TLS 1.2 keys of both directions (client, server) from the master secret (RFC 5246
    /// §6.3; AEAD suites have no MAC keys).
    pub(crate) fn tls12(
        suite: Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> (Self, Self) {
        let (kl, il) = (suite.cipher.key_len(), suite.cipher.tls12_iv_len());
        let mut seed = [0u8; 64];
        seed[..32].copy_from_slice(server_random);
        seed[32..].copy_from_slice(client_random);
        let kb = prf12(suite.hash, master, b"key expansion", &seed, 2 * (kl + il));
        let (ck, rest) = kb.split_at(kl);
        let (sk, rest) = rest.split_at(kl);
        let (civ, siv) = rest.split_at(il);
        let explicit = il == 4;
        (
            DirKeys::new(suite.cipher, ck, civ, explicit, false),
            DirKeys::new(suite.cipher, sk, siv, explicit, false),
        )
    }

    /// Decrypts one record's fragment in place and returns the plaintext's length (at the
    /// start of `frag`); `None` when it does not authenticate. `header` is the 5-byte record
    /// header. The sequence number advances only on success.
    pub(crate) fn open(&mut self, header: &[u8; 5], frag: &mut [u8]) -> Option<usize> {
        let mut nonce = self.iv;
        // The additional data, in place: the record header (TLS 1.3), or sequence number,
        // type, version and length (TLS 1.2).
        let mut aad = [0u8; 13];
        let (body_at, aad): (usize, &[u8]) = if self.tls13 {
            xor_seq(&mut nonce, self.seq);
            (0, header)
        } else {
            let explicit = if self.explicit_nonce { 8 } else { 0 };
            if self.explicit_nonce {
                nonce[4..].copy_from_slice(frag.get(..8)?);
            } else {
                xor_seq(&mut nonce, self.seq);
            }
            let plain_len = frag.len().checked_sub(explicit + TAG_LEN)?;
            aad[..8].copy_from_slice(&self.seq.to_be_bytes());
            aad[8..11].copy_from_slice(&header[..3]);
            aad[11..].copy_from_slice(&(plain_len as u16).to_be_bytes());
            (explicit, &aad)
        };
        let body = frag.get_mut(body_at..)?;
        let plain_len = body.len().checked_sub(TAG_LEN)?;
        let (text, tag) = body.split_at_mut(plain_len);
        let tag = Tag::from(<[u8; TAG_LEN]>::try_from(&*tag).ok()?);
        self.aead
            .as_ref()?
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                tag,
                text,
                0..,
            )
            .ok()?;
        self.seq += 1;
        if body_at > 0 {
            frag.copy_within(body_at..body_at + plain_len, 0);
        }
        Some(plain_len)
    }
}

impl DirKeys {
    /// Seals `plain` as one TLS 1.3 record of inner type `kind` (the synthetic capture
    /// generator writes encrypted sessions with it).
    pub(crate) fn seal(&mut self, kind: u8, plain: &[u8]) -> Vec<u8> {
        let len = plain.len() + 1 + TAG_LEN;
        let mut rec = Vec::with_capacity(5 + len);
        rec.extend_from_slice(&[APPLICATION_DATA_TYPE, 3, 3]);
        rec.extend_from_slice(&(len as u16).to_be_bytes());
        let header: [u8; 5] = [rec[0], rec[1], rec[2], rec[3], rec[4]];
        let mut body = plain.to_vec();
        body.push(kind);
        let mut nonce = self.iv;
        xor_seq(&mut nonce, self.seq);
        self.seq += 1;
        // Sealing only fails for inputs over 2^36 bytes; records are at most 2^14.
        let tag = self.aead.as_ref().and_then(|a| {
            a.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(header),
                &mut body,
            )
            .ok()
        });
        rec.extend_from_slice(&body);
        rec.extend_from_slice(tag.as_ref().map_or(&[][..], |t| t.as_ref()));
        rec
    }
}

/// The outer content type of every TLS 1.3 protected record.
const APPLICATION_DATA_TYPE: u8 = 23;

fn xor_seq(nonce: &mut [u8; 12], seq: u64) {
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::capture::tls::keylog::unhex;

    /// RFC 8448 §3 (simple 1-RTT handshake): traffic secrets to record keys and IVs.
    #[test]
    fn rfc8448_traffic_keys() {
        let cases = [
            (
                // server handshake traffic secret
                "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
                "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc",
                "5d 31 3e b2 67 12 76 ee 13 00 0b 30",
            ),
            (
                // client handshake traffic secret
                "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21",
                "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01",
                "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f",
            ),
            (
                // server application traffic secret
                "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43",
                "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56",
                "cf 78 2b 88 dd 83 54 9a ad f1 e9 84",
            ),
        ];
        for (secret, key, iv) in cases {
            let mut k = [0u8; 16];
            let mut i = [0u8; 12];
            expand_label(Hash::Sha256, &unhex(secret), "key", &[], &mut k);
            expand_label(Hash::Sha256, &unhex(secret), "iv", &[], &mut i);
            assert_eq!(k.to_vec(), unhex(key));
            assert_eq!(i.to_vec(), unhex(iv));
        }
    }

    /// A record not sealed with the key (here: zeros) never authenticates and leaves the
    /// sequence number where it was (whole records are checked end to end against real
    /// captures in `tests/tls.rs`).
    #[test]
    fn foreign_record_does_not_authenticate() {
        let suite = suite(0x1301, true).unwrap();
        let secret = unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38");
        let mut keys = DirKeys::tls13(suite, &secret);
        let mut junk = vec![0u8; 40];
        let header = [23, 3, 3, 0, 40];
        assert_eq!(keys.open(&header, &mut junk), None);
        assert_eq!(keys.seq, 0);
    }

    /// Every TLS 1.3 suite: records sealed with a traffic secret open with the same secret, in
    /// sequence; a flipped bit or a replayed record does not authenticate.
    #[test]
    fn tls13_suites_round_trip_and_reject_tampering() {
        for s in SUITES.iter().filter(|s| s.tls13) {
            let secret = vec![3u8; s.hash.out_len()];
            let mut tx = DirKeys::tls13(*s, &secret);
            let mut rx = DirKeys::tls13(*s, &secret);
            let mut last = Vec::new();
            for i in 0..3u8 {
                let rec = tx.seal(23, &[i; 40]);
                let header: [u8; 5] = rec[..5].try_into().unwrap();
                let mut frag = rec[5..].to_vec();
                let n = rx.open(&header, &mut frag).expect("authenticates");
                assert_eq!(&frag[..n], [&[i; 40][..], &[23]].concat(), "{s:?}");
                last = rec;
            }
            let header: [u8; 5] = last[..5].try_into().unwrap();
            assert_eq!(rx.open(&header, &mut last[5..].to_vec()), None, "replay");
            let mut rec = tx.seal(23, b"x");
            rec[6] ^= 1;
            let header: [u8; 5] = rec[..5].try_into().unwrap();
            assert_eq!(rx.open(&header, &mut rec[5..].to_vec()), None, "tampered");
            assert_eq!(rx.seq, 3);
        }
    }

    /// Records sealed by another implementation (Python's `cryptography`, i.e. OpenSSL) open
    /// here, for every AEAD and both nonce and additional-data arrangements: TLS 1.3 (IV XOR
    /// sequence number, the record header as additional data), TLS 1.2 GCM (4-byte salt and
    /// the 8-byte explicit nonce in the record, RFC 5288) and TLS 1.2 ChaCha20-Poly1305 (IV
    /// XOR sequence number, RFC 7905), the latter two with sequence number, type, version and
    /// plaintext length as additional data. A round trip through `seal` could not catch a
    /// mistake made the same way on both sides.
    #[test]
    fn records_sealed_elsewhere_open() {
        /// One record: cipher, TLS 1.3 or not, explicit nonce or not, key, IV (TLS 1.2 GCM:
        /// the salt), sequence number, record header, fragment, plaintext.
        struct Case(
            Cipher,
            bool,
            bool,
            &'static str,
            &'static str,
            u64,
            &'static str,
            &'static str,
            &'static [u8],
        );
        #[rustfmt::skip]
        let cases = [
            Case(Cipher::Aes128Gcm, true, false, "000102030405060708090a0b0c0d0e0f",
             "6465666768696a6b6c6d6e6f", 1, "1703030023",
             "f3403d3383a52e9117736be715f6087ab120f9956da19bbf67ce5f18d8a897d8ed0060",
             b"GET / HTTP/1.1\r\n\r\n\x17"),
            Case(Cipher::ChaCha20Poly1305, true, false,
             "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
             "c8c9cacbcccdcecfd0d1d2d3", 2, "1703030019",
             "ae365055944d2766115d2ff79b198e7a820d9f374bc35813ad",
             b"\x00\x00\x00\x04\x01\x00\x00\x00\x17"),
            Case(Cipher::Aes256Gcm, false, true,
             "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f", "09080706", 5,
             "170303002b",
             "0000000000000005acee938bc93f50530a28193b5355e5b54e4e55cf8987cb6888c6043f3a58da2677f0b5",
             b"HTTP/1.1 200 OK\r\n\r\n"),
            Case(Cipher::ChaCha20Poly1305, false, false,
             "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
             "32333435363738393a3b3c3d", 3, "1703030013",
             "806f6979c2a5d275cbbc2598227e1e73fd9c05", b"PRI"),
        ];
        for Case(cipher, tls13, explicit, key, iv, seq, header, record, plain) in cases {
            let mut keys = DirKeys::new(cipher, &unhex(key), &unhex(iv), explicit, tls13);
            keys.seq = seq;
            let header: [u8; 5] = unhex(header).try_into().unwrap();
            let mut frag = unhex(record);
            let n = keys.open(&header, &mut frag);
            assert_eq!(
                n.map(|n| &frag[..n]),
                Some(plain),
                "{cipher:?} tls13={tls13}"
            );
            assert_eq!(keys.seq, seq + 1);
            // The same record under the next sequence number is a replay.
            let mut again = unhex(record);
            assert_eq!(keys.open(&header, &mut again), None, "{cipher:?} replayed");
        }
    }

    /// A secret shorter than its hash (a key log line cut short) derives no key: the output
    /// stays zeroed, and nothing it would decrypt authenticates.
    #[test]
    fn short_secret_derives_nothing() {
        for hash in [Hash::Sha256, Hash::Sha384] {
            let mut out = [7u8; 16];
            expand_label(hash, &vec![5u8; hash.out_len() - 1], "key", &[], &mut out);
            assert_eq!(out, [0u8; 16]);
            expand_label(hash, &vec![5u8; hash.out_len()], "key", &[], &mut out);
            assert_ne!(out, [0u8; 16]);
        }
    }

    /// KeyUpdate's next secret (HKDF-Expand-Label(secret, "traffic upd")) has the hash's
    /// length and differs from the old one.
    #[test]
    fn key_update_changes_secret() {
        let s = vec![7u8; 32];
        let n = next_secret(Hash::Sha256, &s);
        assert_eq!(n.len(), 32);
        assert_ne!(n, s);
        assert_eq!(next_secret(Hash::Sha384, &[7u8; 48]).len(), 48);
    }

    /// RFC 5246 PRF test vector (SHA-256), as published on the IETF TLS list and used by
    /// several TLS stacks' test suites.
    #[test]
    fn tls12_prf_sha256_vector() {
        let secret = unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = prf12(Hash::Sha256, &secret, b"test label", &seed, 100);
        let want = unhex(
            "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
             6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
             4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
             87 34 7b 66",
        );
        assert_eq!(out, want);
    }
}
