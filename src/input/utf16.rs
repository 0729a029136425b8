//! UTF-16 text inputs read as UTF-8: a HAR saved again by Windows PowerShell (`>` and
//! `Out-File` write UTF-16LE with a byte-order mark) is the same JSON in other bytes. JSON
//! allowed UTF-16 until RFC 8259 made UTF-8 the rule, and the HAR reader takes UTF-8 only, so
//! such a file is decoded as it is read (every byte-order mark included, which the HAR reader
//! then skips as the UTF-8 one).

use std::io::{self, Read};

/// A UTF-16 text's byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    Little,
    Big,
}

impl Order {
    fn unit(self, pair: [u8; 2]) -> u16 {
        match self {
            Order::Little => u16::from_le_bytes(pair),
            Order::Big => u16::from_be_bytes(pair),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Order::Little => "UTF-16LE",
            Order::Big => "UTF-16BE",
        }
    }
}

/// The byte order of a UTF-16 JSON text from its first bytes: its byte-order mark, or, without
/// one, a `{` after whitespace in one order (its NUL bytes beside ASCII). `None` for
/// anything else (UTF-8 text has no NUL beside its first `{`). Whitespace is ASCII's, as
/// format detection (`input::detect`) and the HAR scanner read it: JSON's four and the form
/// feed, which they also pass.
pub(crate) fn sniff(head: &[u8]) -> Option<Order> {
    match head {
        [0xff, 0xfe, ..] => return Some(Order::Little),
        [0xfe, 0xff, ..] => return Some(Order::Big),
        _ => {}
    }
    [Order::Little, Order::Big].into_iter().find(|&order| {
        let mut units = head.chunks_exact(2).map(|p| order.unit([p[0], p[1]]));
        units
            .find(|&u| !u8::try_from(u).is_ok_and(|b| b.is_ascii_whitespace()))
            .is_some_and(|u| u == u16::from(b'{'))
    })
}

/// Input bytes decoded per read.
const CHUNK: usize = 64 << 10;

/// Reads a UTF-16 text as UTF-8. A surrogate without its pair, and an odd last byte, read as
/// U+FFFD (as `String::from_utf16_lossy` does): the JSON around them still parses.
pub(crate) struct Utf16Reader<R> {
    inner: R,
    order: Order,
    raw: Vec<u8>,
    /// Input bytes not decoded yet: an odd byte, or a high surrogate waiting for its pair.
    pending: Vec<u8>,
    /// Decoded text not handed on yet, from `at`.
    out: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<R: Read> Utf16Reader<R> {
    pub(crate) fn new(inner: R, order: Order) -> Self {
        Utf16Reader {
            inner,
            order,
            raw: vec![0; CHUNK],
            pending: Vec::new(),
            out: Vec::new(),
            at: 0,
            ended: false,
        }
    }

    /// Decodes the next chunk of input into `out` (possibly nothing: a read of one byte).
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.at = 0;
        let n = loop {
            match self.inner.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.pending
            .extend_from_slice(self.raw.get(..n).unwrap_or_default());
        let mut units = self.pending.len() / 2;
        if n == 0 {
            self.ended = true;
        } else if units > 0 {
            // A high surrogate last waits for the next read, which may hold its pair.
            let at = 2 * (units - 1);
            let last = self.order.unit([self.pending[at], self.pending[at + 1]]);
            if (0xd800..0xdc00).contains(&last) {
                units -= 1;
            }
        }
        let order = self.order;
        let decoded = char::decode_utf16(
            self.pending[..2 * units]
                .chunks_exact(2)
                .map(|p| order.unit([p[0], p[1]])),
        );
        let mut utf8 = [0u8; 4];
        for c in decoded {
            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        self.pending.drain(..2 * units);
        if self.ended && !self.pending.is_empty() {
            // The input ends inside a code unit.
            self.pending.clear();
            self.out.extend_from_slice(
                char::REPLACEMENT_CHARACTER
                    .encode_utf8(&mut utf8)
                    .as_bytes(),
            );
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.ended || buf.is_empty() {
                return Ok(0);
            }
            self.refill()?;
        }
        let left = self.out.get(self.at..).unwrap_or_default();
        let n = buf.len().min(left.len());
        buf[..n].copy_from_slice(&left[..n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, order: Order, bom: bool) -> Vec<u8> {
        let bom = bom.then_some('\u{feff}');
        let units = bom.into_iter().chain(text.chars()).collect::<String>();
        units
            .encode_utf16()
            .flat_map(|u| match order {
                Order::Little => u.to_le_bytes(),
                Order::Big => u.to_be_bytes(),
            })
            .collect()
    }

    /// Hands its bytes over `step` at a time, as a pipe may.
    struct Trickle(Vec<u8>, usize, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len() - self.2);
            buf[..n].copy_from_slice(&self.0[self.2..self.2 + n]);
            self.2 += n;
            Ok(n)
        }
    }

    fn decode(bytes: Vec<u8>, order: Order, step: usize) -> String {
        let mut out = String::new();
        Utf16Reader::new(Trickle(bytes, step, 0), order)
            .read_to_string(&mut out)
            .expect("the decoder's output is UTF-8 and the source never fails");
        out
    }

    #[test]
    fn sniffs_byte_order() {
        let har = "\r\n {\"log\": {}}";
        let cases: &[(Vec<u8>, Option<Order>)] = &[
            (utf16(har, Order::Little, true), Some(Order::Little)),
            (utf16(har, Order::Big, true), Some(Order::Big)),
            (utf16(har, Order::Little, false), Some(Order::Little)),
            (utf16(har, Order::Big, false), Some(Order::Big)),
            // UTF-8 JSON, with and without its BOM, and the capture magics: not UTF-16.
            (har.as_bytes().to_vec(), None),
            (b"\xef\xbb\xbf{\"log\"".to_vec(), None),
            (vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0], None),
            (vec![0x0a, 0x0d, 0x0d, 0x0a], None),
            // UTF-16 text that is not JSON's start: left to the format's error.
            (utf16("GIF89a", Order::Little, false), None),
            // A form feed before `{`, passed as UTF-8 detection and the scanner pass it.
            (utf16("\u{c} {}", Order::Little, false), Some(Order::Little)),
            (utf16("\u{c} {}", Order::Big, false), Some(Order::Big)),
            (vec![b'{'], None),
        ];
        for (head, want) in cases {
            assert_eq!(sniff(head), *want, "{head:02x?}");
        }
    }

    #[test]
    fn decodes_whatever_the_reads_split() {
        // A surrogate pair (U+1F600) and two-byte and three-byte UTF-8 characters.
        let text = "{\"a\": \"é — \u{1f600} ok\"}";
        for order in [Order::Little, Order::Big] {
            for step in [1, 2, 3, 5, CHUNK] {
                let got = decode(utf16(text, order, true), order, step);
                assert_eq!(got, format!("\u{feff}{text}"), "{order:?} step {step}");
            }
        }
    }

    proptest::proptest! {
        /// Any bytes, split into reads anywhere, decode as `String::from_utf16_lossy` reads
        /// their whole units, plus U+FFFD for an odd last byte.
        #[test]
        fn decodes_as_from_utf16_lossy(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            step in 1usize..9,
            big in proptest::prelude::any::<bool>(),
        ) {
            let order = if big { Order::Big } else { Order::Little };
            let units: Vec<u16> = bytes.chunks_exact(2).map(|p| order.unit([p[0], p[1]])).collect();
            let mut want = String::from_utf16_lossy(&units);
            if bytes.len() % 2 == 1 {
                want.push(char::REPLACEMENT_CHARACTER);
            }
            proptest::prop_assert_eq!(decode(bytes, order, step), want);
        }
    }

    #[test]
    fn broken_units_read_as_replacement() {
        let r = char::REPLACEMENT_CHARACTER;
        let cases: &[(&[u16], bool, String)] = &[
            // A lone high surrogate last, a lone low one, a high one before a plain unit.
            (&[0x41, 0xd83d], false, format!("A{r}")),
            (&[0xde00, 0x41], false, format!("{r}A")),
            (&[0xd83d, 0x41], false, format!("{r}A")),
            // An odd last byte.
            (&[0x41], true, format!("A{r}")),
        ];
        for (units, odd, want) in cases {
            let mut bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            if *odd {
                bytes.push(0x42);
            }
            for step in [1, 3, CHUNK] {
                assert_eq!(
                    decode(bytes.clone(), Order::Little, step),
                    *want,
                    "{units:x?}"
                );
            }
        }
    }
}
