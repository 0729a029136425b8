//! Step 5a (HPACK): the RFC 7541 header block decoder of one direction of an HTTP/2
//! connection: integers, Huffman-coded strings, the static table and a dynamic table bounded
//! by the size the encoder signalled (itself capped at [`MAX_TABLE_SIZE`]).
//!
//! Written here rather than taken from a crate: the `hpack` crate is unmaintained since 2016
//! and its forks are thin; the decoder is small, table-driven and fuzzed (`fuzz/fuzz_targets/hpack.rs`).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::OnceLock;

use super::tables::{HUFFMAN, STATIC_TABLE};

/// Largest dynamic table accepted (bytes, RFC 7541 §4.1 size): browsers ask for 64 KiB at most.
pub const MAX_TABLE_SIZE: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HpackError {
    #[error("header block ends inside a field")]
    Truncated,
    #[error("integer overflow")]
    Integer,
    #[error("index {0} not in the tables")]
    Index(usize),
    #[error("bad Huffman string")]
    Huffman,
    #[error("table size update to {0} above the allowed maximum")]
    TableSize(usize),
    #[error("table size update after the first field")]
    LateSizeUpdate,
    #[error("header list larger than the limit")]
    TooLarge,
}

/// One direction's decoder state.
#[derive(Debug)]
pub struct Decoder {
    table: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    max: usize,
    /// The largest size the peer's SETTINGS allow (capped).
    allowed: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            table: VecDeque::new(),
            size: 0,
            max: 4096,
            allowed: 4096,
        }
    }
}

/// Entry overhead (RFC 7541 §4.1).
const ENTRY_OVERHEAD: usize = 32;

impl Decoder {
    /// The decoding side's SETTINGS_HEADER_TABLE_SIZE (what the encoder may grow the table to).
    pub fn set_allowed(&mut self, n: usize) {
        self.allowed = n.min(MAX_TABLE_SIZE).max(self.allowed.min(4096));
    }

    /// Bytes held by the dynamic table (its RFC size, about what it takes in memory).
    pub fn table_bytes(&self) -> usize {
        self.size
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            match self.table.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + ENTRY_OVERHEAD,
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }

    fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        let s = name.len() + value.len() + ENTRY_OVERHEAD;
        if s > self.max {
            // RFC 7541 §4.4: an entry larger than the table empties it.
            self.table.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max - s);
        self.size += s;
        self.table.push_front((name, value));
    }

    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        if index == 0 {
            return Err(HpackError::Index(0));
        }
        if let Some((n, v)) = STATIC_TABLE.get(index - 1) {
            return Ok((n.as_bytes(), v.as_bytes()));
        }
        self.table
            .get(index - 1 - STATIC_TABLE.len())
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .ok_or(HpackError::Index(index))
    }

    /// Decodes a whole header block, calling `field` for each (name, value) in order. The
    /// table is updated as the block says even when `max_list` is exceeded (then the error is
    /// returned at the end), so the connection's later blocks still decode.
    pub fn decode(
        &mut self,
        mut block: &[u8],
        max_list: usize,
        field: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(), HpackError> {
        let mut first = true;
        let mut list = 0usize;
        while let Some(&b) = block.first() {
            if b & 0x80 != 0 {
                let i = integer(&mut block, 7)?;
                let (n, v) = self.entry(i)?;
                list += n.len() + v.len() + ENTRY_OVERHEAD;
                if list <= max_list {
                    field(n, v);
                }
            } else if b & 0xe0 == 0x20 {
                if !first {
                    return Err(HpackError::LateSizeUpdate);
                }
                let n = integer(&mut block, 5)?;
                if n > self.allowed.clamp(4096, MAX_TABLE_SIZE) {
                    return Err(HpackError::TableSize(n));
                }
                self.max = n;
                self.evict_to(n);
                continue;
            } else {
                let (prefix, index) = if b & 0xc0 == 0x40 {
                    (6, true)
                } else {
                    (4, false)
                };
                let i = integer(&mut block, prefix)?;
                // A literal name is read before the value, an indexed one checked first.
                let literal = if i == 0 {
                    Some(string(&mut block)?)
                } else {
                    self.entry(i)?;
                    None
                };
                let value = string(&mut block)?;
                let name = match &literal {
                    Some(n) => n,
                    None => self.entry(i)?.0,
                };
                list += name.len() + value.len() + ENTRY_OVERHEAD;
                if list <= max_list {
                    field(name, &value);
                }
                if index {
                    // Only an entry the table keeps is copied out of the block.
                    let name = name.to_vec();
                    self.insert(name, value.into_owned());
                }
            }
            first = false;
        }
        if list > max_list {
            return Err(HpackError::TooLarge);
        }
        Ok(())
    }
}

/// RFC 7541 §5.1 integer with an N-bit prefix.
fn integer(block: &mut &[u8], prefix: u8) -> Result<usize, HpackError> {
    let (&first, rest) = block.split_first().ok_or(HpackError::Truncated)?;
    *block = rest;
    let mask = (1u16 << prefix) as u8 - 1;
    let mut v = usize::from(first & mask);
    if v < usize::from(mask) {
        return Ok(v);
    }
    let mut shift = 0u32;
    loop {
        let (&b, rest) = block.split_first().ok_or(HpackError::Truncated)?;
        *block = rest;
        // Four continuation bytes reach 2^28: far more than any index or length here.
        if shift > 21 {
            return Err(HpackError::Integer);
        }
        v += usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
}

/// RFC 7541 §5.2 string literal.
fn string<'a>(block: &mut &'a [u8]) -> Result<Cow<'a, [u8]>, HpackError> {
    let huff = block.first().ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = integer(block, 7)?;
    if len > block.len() {
        return Err(HpackError::Truncated);
    }
    let (s, rest) = block.split_at(len);
    *block = rest;
    // A plain literal is borrowed from the block: most are only read, not kept.
    if huff {
        huffman_decode(s).map(Cow::Owned)
    } else {
        Ok(Cow::Borrowed(s))
    }
}

/// The Huffman code as a binary trie: `nodes[i]` holds the children for bits 0 and 1; a child
/// value >= `LEAF` is the symbol `value - LEAF`, 0 is "no child" (the root is never a child).
struct Trie {
    nodes: Vec<[u16; 2]>,
}

const LEAF: u16 = 0x8000;

fn trie() -> &'static Trie {
    static T: OnceLock<Trie> = OnceLock::new();
    T.get_or_init(|| {
        let mut nodes = vec![[0u16; 2]];
        for (sym, &(code, len)) in HUFFMAN.iter().enumerate() {
            let mut at = 0usize;
            for i in (0..len).rev() {
                let bit = ((code >> i) & 1) as usize;
                if i == 0 {
                    nodes[at][bit] = LEAF + sym as u16;
                } else {
                    let next = nodes[at][bit];
                    at = if next == 0 {
                        nodes.push([0, 0]);
                        let n = nodes.len() - 1;
                        nodes[at][bit] = n as u16;
                        n
                    } else {
                        usize::from(next)
                    };
                }
            }
        }
        Trie { nodes }
    })
}

/// One step of the Huffman decoder: the trie node reached after 4 more bits from a node, the
/// symbol completed on the way (at most one: every code is at least 5 bits long), or failure
/// (a path no code takes, or EOS inside the string).
#[derive(Clone, Copy)]
struct Nibble {
    next: u16,
    sym: Option<u8>,
    fail: bool,
}

/// The trie walked 4 bits at a time: per node, a [`Nibble`] for each 4-bit value, and whether
/// the bits since the last symbol (the node's path from the root) can end a string as padding
/// (at most 7 bits, all ones).
struct Nibbles {
    steps: Vec<[Nibble; 16]>,
    pad_ok: Vec<bool>,
}

fn nibbles() -> &'static Nibbles {
    static N: OnceLock<Nibbles> = OnceLock::new();
    N.get_or_init(|| {
        let t = trie();
        // Depth and all-ones of each internal node's path (children come after parents).
        let mut path = vec![(0u8, true); t.nodes.len()];
        for (at, kids) in t.nodes.iter().enumerate() {
            for (bit, &next) in kids.iter().enumerate() {
                if next != 0 && next < LEAF {
                    let (depth, ones) = path[at];
                    path[usize::from(next)] = (depth.saturating_add(1), ones && bit == 1);
                }
            }
        }
        let steps = (0..t.nodes.len())
            .map(|node| {
                std::array::from_fn(|nibble| {
                    let mut step = Nibble {
                        next: node as u16,
                        sym: None,
                        fail: false,
                    };
                    for i in (0..4).rev() {
                        let next = t.nodes[usize::from(step.next)][(nibble >> i) & 1];
                        if next >= LEAF {
                            // EOS (256) inside the string, or a second symbol (impossible with
                            // codes of 5 bits or more): not a string this decoder reads.
                            match u8::try_from(next - LEAF) {
                                Ok(sym) if step.sym.is_none() => step.sym = Some(sym),
                                _ => step.fail = true,
                            }
                            step.next = 0;
                        } else if next == 0 {
                            step.fail = true;
                        } else {
                            step.next = next;
                        }
                        if step.fail {
                            break;
                        }
                    }
                    step
                })
            })
            .collect();
        let pad_ok = path
            .iter()
            .map(|&(depth, ones)| depth <= 7 && ones)
            .collect();
        Nibbles { steps, pad_ok }
    })
}

/// Decodes a Huffman-coded string (RFC 7541 §5.2): EOS inside, or padding that is longer than
/// 7 bits or not all ones, is an error. Four bits per table step (a bit per trie step cost
/// most of an HTTP/2 head's decoding).
pub fn huffman_decode(s: &[u8]) -> Result<Vec<u8>, HpackError> {
    let n = nibbles();
    let mut out = Vec::with_capacity(s.len() * 8 / 5);
    let mut at = 0usize;
    for &byte in s {
        for nibble in [byte >> 4, byte & 0xf] {
            let step = n
                .steps
                .get(at)
                .and_then(|row| row.get(usize::from(nibble)))
                .ok_or(HpackError::Huffman)?;
            if step.fail {
                return Err(HpackError::Huffman);
            }
            if let Some(sym) = step.sym {
                out.push(sym);
            }
            at = usize::from(step.next);
        }
    }
    if !n.pad_ok.get(at).copied().unwrap_or(false) {
        return Err(HpackError::Huffman);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::capture::tls::keylog::unhex;

    fn run(d: &mut Decoder, block: &str) -> Vec<(String, String)> {
        let mut v = Vec::new();
        d.decode(&unhex(block), usize::MAX, &mut |n, x| {
            v.push((
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(x).into_owned(),
            ))
        })
        .unwrap();
        v
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// RFC 7541 C.3 and C.4: three requests without and with Huffman coding; the dynamic
    /// table's size after each is the RFC's.
    #[test]
    fn rfc7541_c3_c4_requests() {
        let req1 = pairs(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ]);
        let req2 = pairs(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
            ("cache-control", "no-cache"),
        ]);
        let req3 = pairs(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ]);
        let plain = [
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ];
        let huff = [
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ];
        for blocks in [plain, huff] {
            let mut d = Decoder::default();
            assert_eq!(run(&mut d, blocks[0]), req1);
            assert_eq!(d.table_bytes(), 57);
            assert_eq!(run(&mut d, blocks[1]), req2);
            assert_eq!(d.table_bytes(), 110);
            assert_eq!(run(&mut d, blocks[2]), req3);
            assert_eq!(d.table_bytes(), 164);
        }
    }

    /// RFC 7541 C.5 / C.6: responses with a 256-byte table, so entries are evicted.
    #[test]
    fn rfc7541_c5_c6_responses_with_eviction() {
        let r1 = pairs(&[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ]);
        let r2 = pairs(&[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ]);
        let r3 = pairs(&[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", "https://www.example.com"),
            ("content-encoding", "gzip"),
            (
                "set-cookie",
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            ),
        ]);
        let plain = [
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
        ];
        let huff = [
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ];
        for blocks in [plain, huff] {
            let mut d = Decoder {
                max: 256,
                ..Decoder::default()
            };
            assert_eq!(run(&mut d, blocks[0]), r1);
            assert_eq!(d.table_bytes(), 222);
            assert_eq!(run(&mut d, blocks[1]), r2);
            assert_eq!(d.table_bytes(), 222);
            assert_eq!(run(&mut d, blocks[2]), r3);
            assert_eq!(d.table_bytes(), 215);
        }
    }

    /// The bit-at-a-time decoder the nibble tables replaced: the reference they must match.
    fn huffman_bitwise(s: &[u8]) -> Result<Vec<u8>, HpackError> {
        let t = trie();
        let mut out = Vec::with_capacity(s.len() * 8 / 5);
        let mut at = 0usize;
        // Bits consumed since the last symbol, and whether they were all ones.
        let mut pad_bits = 0u8;
        let mut pad_ones = true;
        for &byte in s {
            for i in (0..8).rev() {
                let bit = usize::from((byte >> i) & 1);
                let next = t.nodes.get(at).ok_or(HpackError::Huffman)?[bit];
                pad_bits += 1;
                pad_ones &= bit == 1;
                if next >= LEAF {
                    let sym = next - LEAF;
                    if sym > 255 {
                        return Err(HpackError::Huffman);
                    }
                    out.push(sym as u8);
                    at = 0;
                    pad_bits = 0;
                    pad_ones = true;
                } else if next == 0 {
                    return Err(HpackError::Huffman);
                } else {
                    at = usize::from(next);
                }
            }
        }
        if pad_bits > 7 || !pad_ones {
            return Err(HpackError::Huffman);
        }
        Ok(out)
    }

    proptest::proptest! {
        /// Any bytes decode (or fail) as the bit-at-a-time decoder does; so do encodings of
        /// any string, cut anywhere.
        #[test]
        fn nibble_decoder_matches_bitwise(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            proptest::prop_assert_eq!(huffman_decode(&raw), huffman_bitwise(&raw));
            let coded = huffman_encode(&text);
            proptest::prop_assert_eq!(huffman_decode(&coded), Ok(text));
            for cut in 0..coded.len() {
                let c = &coded[..cut];
                proptest::prop_assert_eq!(huffman_decode(c), huffman_bitwise(c));
            }
        }
    }

    /// Huffman-codes `text` with EOS-prefix padding (RFC 7541 §5.2), for the tests.
    fn huffman_encode(text: &[u8]) -> Vec<u8> {
        let (mut acc, mut bits, mut out) = (0u64, 0u32, Vec::new());
        for &b in text {
            let (code, len) = HUFFMAN[usize::from(b)];
            acc = (acc << len) | u64::from(code);
            bits += u32::from(len);
            while bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        if bits > 0 {
            out.push(((acc << (8 - bits)) as u8) | (0xff >> bits));
        }
        out
    }

    /// Table-driven rejections: each block is malformed in one way.
    #[test]
    fn malformed_blocks_are_errors() {
        let cases: [(&str, HpackError); 5] = [
            ("80", HpackError::Index(0)),
            ("be", HpackError::Index(62)),
            ("41", HpackError::Truncated),
            ("ff ff ff ff ff ff", HpackError::Integer),
            ("82 20", HpackError::LateSizeUpdate),
        ];
        for (block, want) in cases {
            let mut d = Decoder::default();
            assert_eq!(
                d.decode(&unhex(block), usize::MAX, &mut |_, _| {}),
                Err(want),
                "{block}"
            );
        }
        // A size update to 65536, above the allowed 4096.
        let mut d = Decoder::default();
        assert_eq!(
            d.decode(&unhex("3f e1 ff 03"), usize::MAX, &mut |_, _| {}),
            Err(HpackError::TableSize(65536))
        );
        // Huffman: EOS padding longer than 7 bits, or padding not all ones.
        assert_eq!(huffman_decode(&[0xff, 0xff]), Err(HpackError::Huffman));
        assert_eq!(huffman_decode(&[0x00]), Err(HpackError::Huffman));
    }

    #[test]
    fn header_list_limit_keeps_table_in_step() {
        let mut d = Decoder::default();
        let block = unhex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        assert_eq!(
            d.decode(&block, 10, &mut |_, _| {}),
            Err(HpackError::TooLarge)
        );
        assert_eq!(d.table_bytes(), 57);
    }
}
