//! Gzip decoding for inputs (both formats), member by member, as `gzip -d` does it: every
//! byte that decodes is handed on before an error; errors (a cut stream, damaged data, a CRC
//! or length mismatch) name the compressed and decompressed offsets ([`DecodeError`]); bytes
//! after the last member that are not another member are ignored with a warning
//! (`gzip-trailing-garbage`).

use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex};

use flate2::bufread::GzDecoder;

use crate::diag::Diagnostics;

use super::compressed::{Codec, DecodeError, Fault};

/// Counts the compressed bytes consumed and keeps the last eight (a member's trailer, when a
/// checksum test fails).
struct Counting<R> {
    inner: R,
    consumed: u64,
    last8: [u8; 8],
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
                dst.copy_from_slice(src);
            }
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            // `amt` never exceeds what `fill_buf` returned; the buffer is unchanged since.
            let taken = buf.get(..amt.min(buf.len())).unwrap_or(&[]);
            let keep = taken.len().min(8);
            self.last8.copy_within(keep.., 0);
            if let (Some(dst), Some(src)) = (
                self.last8.get_mut(8 - keep..),
                taken.get(taken.len() - keep..),
            ) {
                dst.copy_from_slice(src);
            }
        }
        self.consumed += amt as u64;
        self.inner.consume(amt);
    }
}

/// A gzip stream of one or more members, decoded.
pub(crate) struct GzipReader<R: BufRead> {
    decoder: Option<GzDecoder<Counting<R>>>,
    /// Decompressed bytes handed on, in all and in the current member.
    out: u64,
    member_out: u64,
    /// The input's warnings (trailing garbage), merged into its report.
    warnings: Arc<Mutex<Diagnostics>>,
    name: Arc<str>,
}

impl<R: BufRead> GzipReader<R> {
    pub(crate) fn new(inner: R, name: Arc<str>, warnings: Arc<Mutex<Diagnostics>>) -> Self {
        GzipReader {
            decoder: Some(GzDecoder::new(Counting {
                inner,
                consumed: 0,
                last8: [0; 8],
            })),
            out: 0,
            member_out: 0,
            warnings,
            name,
        }
    }

    /// The typed error for a decoder failure, from the state of the compressed input.
    fn fault(&mut self, e: io::Error) -> io::Error {
        let Some(d) = self.decoder.as_mut() else {
            return e;
        };
        let c = d.get_mut();
        let at_end = c.inner.fill_buf().map(|b| b.is_empty()).unwrap_or(false);
        // flate2 words its trailer test failure so ("… does not have a matching checksum");
        // a unit test pins it.
        let what = if e.to_string().contains("checksum") {
            // flate2's trailer test fails on either field; tell which from the trailer.
            let len = u32::from_le_bytes([c.last8[4], c.last8[5], c.last8[6], c.last8[7]]);
            if len == self.member_out as u32 {
                Fault::Checksum
            } else {
                Fault::Length
            }
        } else if at_end {
            Fault::Cut
        } else {
            Fault::Damaged(e.to_string())
        };
        io::Error::new(
            e.kind(),
            DecodeError {
                codec: Codec::Gzip,
                what,
                compressed: c.consumed,
                decompressed: self.out,
            },
        )
    }
}

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(d) = self.decoder.as_mut() else {
                return Ok(0);
            };
            match d.read(buf) {
                Ok(0) if !buf.is_empty() => {}
                Ok(n) => {
                    self.out += n as u64;
                    self.member_out += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let e = self.fault(e);
                    // Like flate2's decoder, a failed stream reads as ended afterwards.
                    self.decoder = None;
                    return Err(e);
                }
            }
            // The member ended: another member, the end, or trailing garbage.
            let Some(d) = self.decoder.take() else {
                return Ok(0);
            };
            let mut c = d.into_inner();
            // (A lone 0x1f may be all the buffer holds of the next member's magic.)
            let next = match c.fill_buf()? {
                [] => None,
                b => Some(b.starts_with(&[0x1f, 0x8b]) || b == [0x1f]),
            };
            match next {
                None => return Ok(0),
                Some(true) => {
                    self.member_out = 0;
                    self.decoder = Some(GzDecoder::new(c));
                }
                Some(false) => {
                    let (at, out) = (c.consumed, self.out);
                    Codec::Gzip.trailing_garbage(&self.warnings, &self.name, at, out);
                    return Ok(0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::WarnKind;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    /// Reads everything, in small reads; returns the bytes, the error and the warnings.
    fn decode(bytes: &[u8]) -> (Vec<u8>, Option<DecodeError>, Diagnostics) {
        super::super::compressed::decode_all(Codec::Gzip, bytes, 64, 100)
    }

    fn data() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i * 7 % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn members_concatenate() {
        let (a, b) = (data(), b"tail".to_vec());
        let mut z = gz(&a);
        z.extend(gz(&b));
        let (out, err, d) = decode(&z);
        assert!(err.is_none());
        assert_eq!(out.len(), a.len() + b.len());
        assert!(d.is_empty());
    }

    /// Table: each damage, what is decoded before it, and the fault named.
    #[test]
    fn damage_keeps_the_decodable_prefix_and_names_the_fault() {
        let plain = data();
        let z = gz(&plain);
        let n = z.len();
        let cut = |k: usize| z[..k].to_vec();
        let flip = |at: usize| {
            let mut v = z.clone();
            v[at] ^= 1;
            v
        };
        let cases: Vec<(&str, Vec<u8>, Fault, usize)> = vec![
            ("cut in the middle", cut(n / 2), Fault::Cut, n / 2),
            ("trailer missing", cut(n - 8), Fault::Cut, n - 8),
            ("length missing", cut(n - 4), Fault::Cut, n - 4),
            ("bad CRC", flip(n - 6), Fault::Checksum, n),
            ("bad length", flip(n - 2), Fault::Length, n),
        ];
        for (name, bytes, fault, compressed) in cases {
            let (out, err, _) = decode(&bytes);
            let err = err.unwrap_or_else(|| panic!("{name}: no error"));
            assert_eq!(err.what, fault, "{name}");
            assert_eq!(err.compressed, compressed as u64, "{name}");
            assert_eq!(err.decompressed, out.len() as u64, "{name}");
            assert_eq!(&plain[..out.len()], &out[..], "{name}");
            // Everything the deflate stream holds before the cut is decoded (all of it when
            // only the trailer is damaged).
            if compressed >= n - 8 {
                assert_eq!(out.len(), plain.len(), "{name}");
            } else {
                assert!(out.len() > plain.len() / 3, "{name}: {}", out.len());
            }
        }
    }

    #[test]
    fn trailing_garbage_is_a_warning() {
        let plain = data();
        let mut z = gz(&plain);
        let at = z.len();
        z.extend_from_slice(b"garbage\n");
        let (out, err, d) = decode(&z);
        assert!(err.is_none());
        assert_eq!(out, plain);
        assert_eq!(d.count(WarnKind::GzipTrailingGarbage), 1);
        assert_eq!(
            d.details(WarnKind::GzipTrailingGarbage)[0],
            format!("t.z: compressed byte {at}: trailing garbage after the gzip stream ignored (the stream decoded completely: {} bytes)", plain.len())
        );
    }
}
