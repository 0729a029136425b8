//! Zstandard decoding for inputs (both formats), frame by frame, as `zstd -d` does it (skippable
//! frames skipped): every byte that decodes is handed on before an error; errors (a cut stream,
//! damaged data, a checksum mismatch) name the compressed and decompressed offsets
//! ([`DecodeError`](super::compressed::DecodeError)); bytes after the last frame that cannot
//! start another are ignored with a warning (`zstd-trailing-garbage`). libzstd decodes; this
//! module only feeds it and keeps count.

use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex};

use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

use crate::diag::Diagnostics;

use super::compressed::{Codec, Fault};

/// A zstd frame's magic number, as it appears in the file.
const FRAME: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Input given at a frame's start, before the decoder has said what it needs: the part of a
/// frame header that tells its size (`ZSTD_FRAMEHEADERSIZE_PREFIX`).
const FRAME_START: usize = 5;

/// The largest window a frame may ask for, as log2: libzstd's default limit (128 MiB), which
/// bounds the decoder's memory whatever the input says. Frames written with `zstd --long=31`
/// ask for more and are refused with a message saying so.
const WINDOW_LOG_MAX: u32 = 27;

/// Whether `head` (its first 4 bytes) starts a zstd frame or a skippable frame.
pub(crate) fn is_frame_start(head: &[u8]) -> bool {
    head.len() >= 4 && could_start(head)
}

/// Whether the bytes of `head` can start a frame or a skippable frame.
fn could_start(head: &[u8]) -> bool {
    super::compressed::could_start(head, FRAME)
}

/// A zstd stream of one or more frames, decoded.
pub(crate) struct ZstdReader<R: BufRead> {
    inner: R,
    /// `None` once the stream ended or failed (it then reads as ended, as gzip's does).
    decoder: Option<Decoder<'static>>,
    /// The decoder started a frame it has not finished and handed on.
    in_frame: bool,
    /// How much input the decoder asked for next (its hint: the next block with the header of
    /// the one after, or the checksum), 0 at a frame's start. It is given no more: libzstd's
    /// wrapper rolls a failed step back whole, so a step that decoded the last block and then
    /// met a bad checksum would lose that block's bytes, which were handed on by then.
    next: usize,
    /// A failure to report at the first read (libzstd could not make its context).
    pending: Option<Fault>,
    consumed: u64,
    out: u64,
    warnings: Arc<Mutex<Diagnostics>>,
    name: Arc<str>,
}

impl<R: BufRead> ZstdReader<R> {
    pub(crate) fn new(inner: R, name: Arc<str>, warnings: Arc<Mutex<Diagnostics>>) -> Self {
        let mut reader = ZstdReader {
            inner,
            decoder: None,
            in_frame: false,
            next: 0,
            pending: None,
            consumed: 0,
            out: 0,
            warnings,
            name,
        };
        let made = Decoder::new().and_then(|mut d| {
            d.set_parameter(zstd::stream::raw::DParameter::WindowLogMax(WINDOW_LOG_MAX))?;
            Ok(d)
        });
        match made {
            Ok(d) => reader.decoder = Some(d),
            // Only when libzstd cannot allocate its context: the first read says so.
            Err(e) => reader.pending = Some(Fault::Damaged(e.to_string())),
        }
        reader
    }

    /// The typed error for `what`, at the current offsets; the stream reads as ended after it.
    fn fault(&mut self, what: Fault) -> io::Error {
        self.decoder = None;
        Codec::Zstd.error(what, self.consumed, self.out)
    }
}

/// libzstd's error, as a fault (its names: `ZSTD_getErrorName`).
fn fault_of(e: &io::Error) -> Fault {
    let words = e.to_string();
    if words.contains("checksum") {
        Fault::Checksum
    } else if words.contains("too much memory") {
        Fault::Damaged(format!(
            "{words}: the frame asks for a window over {} MiB, as `zstd --long` writes; \
             decompress it first (`zstd -d --long=31`)",
            1u32 << (WINDOW_LOG_MAX - 20)
        ))
    } else {
        Fault::Damaged(words)
    }
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(what) = self.pending.take() {
            return Err(self.fault(what));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(d) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let input = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let end = input.is_empty();
            // Between frames: another frame, the end, or trailing garbage.
            if !self.in_frame && (end || !could_start(input)) {
                if !end {
                    let (at, out) = (self.consumed, self.out);
                    Codec::Zstd.trailing_garbage(&self.warnings, &self.name, at, out);
                }
                self.decoder = None;
                return Ok(0);
            }
            let given = match self.next {
                0 => FRAME_START,
                n => n,
            };
            let mut from = InBuffer::around(input.get(..given).unwrap_or(input));
            let mut to = OutBuffer::around(&mut *buf);
            let step = d.run(&mut from, &mut to);
            let (used, n) = (from.pos(), to.pos());
            self.inner.consume(used);
            self.consumed += used as u64;
            self.out += n as u64;
            match step {
                Ok(hint) => {
                    self.in_frame = hint != 0;
                    self.next = hint;
                }
                // (A failed step hands on nothing: the wrapper rolls its positions back.)
                Err(e) => return Err(self.fault(fault_of(&e))),
            }
            if n > 0 {
                return Ok(n);
            }
            if end {
                // The input ended inside a frame and the decoder has nothing more to give.
                return Err(self.fault(Fault::Cut));
            }
            if used == 0 {
                // libzstd always moves with input and room to write; never spin if it did not.
                return Err(self.fault(Fault::Damaged("the decoder made no progress".into())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::WarnKind;
    use crate::input::compressed::DecodeError;

    fn zst(data: &[u8], checksum: bool) -> Vec<u8> {
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        c.include_checksum(checksum).unwrap();
        c.compress(data).unwrap()
    }

    /// Reads everything, in small reads; returns the bytes, the error and the warnings.
    fn decode(bytes: &[u8]) -> (Vec<u8>, Option<DecodeError>, Diagnostics) {
        decode_in(bytes, 64, 100)
    }

    /// [`decode`] through an input buffer of `input` bytes, in reads of `reads` bytes.
    fn decode_in(
        bytes: &[u8],
        input: usize,
        reads: usize,
    ) -> (Vec<u8>, Option<DecodeError>, Diagnostics) {
        super::super::compressed::decode_all(Codec::Zstd, bytes, input, reads)
    }

    fn data() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i * 7 % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn frames_and_skippable_frames_concatenate() {
        let (a, b) = (data(), b"tail".to_vec());
        // A skippable frame first (as pzstd writes), and one between the frames.
        let skip = |n: u8| [vec![0x50 + n, 0x2a, 0x4d, 0x18, 3, 0, 0, 0], vec![n; 3]].concat();
        let z = [skip(0), zst(&a, true), skip(15), zst(&b, false)].concat();
        let (out, err, d) = decode(&z);
        assert!(err.is_none(), "{err:?}");
        assert!(out == [a, b].concat(), "not the data");
        assert!(d.is_empty());
    }

    /// Table: each damage, what is decoded before it, and the fault named.
    #[test]
    fn damage_keeps_the_decodable_prefix_and_names_the_fault() {
        let plain = data();
        let z = zst(&plain, true);
        let n = z.len();
        let cut = |k: usize| z[..k].to_vec();
        let flip = |at: usize| {
            let mut v = z.clone();
            v[at] ^= 1;
            v
        };
        let damaged = |f: &Fault| matches!(f, Fault::Damaged(_));
        // (what, bytes, the fault wanted, the compressed offset it is found at)
        type Case = (&'static str, Vec<u8>, fn(&Fault) -> bool, usize);
        let cases: Vec<Case> = vec![
            ("cut in the middle", cut(n / 2), |f| *f == Fault::Cut, n / 2),
            ("checksum missing", cut(n - 4), |f| *f == Fault::Cut, n - 4),
            ("cut in the header", cut(2), |f| *f == Fault::Cut, 2),
            // libzstd names where the checksum starts.
            (
                "bad checksum",
                flip(n - 2),
                |f| *f == Fault::Checksum,
                n - 4,
            ),
            ("damaged header", flip(4), damaged, 0),
        ];
        for (name, bytes, fault, compressed) in cases {
            let (out, err, _) = decode(&bytes);
            let err = err.unwrap_or_else(|| panic!("{name}: no error"));
            assert!(fault(&err.what), "{name}: {:?}", err.what);
            if compressed > 0 {
                assert_eq!(err.compressed, compressed as u64, "{name}");
            }
            assert_eq!(err.decompressed, out.len() as u64, "{name}");
            assert!(
                plain[..out.len()] == out[..],
                "{name}: not the data's start"
            );
        }
        // Read whole at once, a bad checksum still hands on every byte before it (the step
        // that meets it is given nothing else).
        let (out, err, _) = decode_in(&flip(n - 2), 1 << 20, 1 << 20);
        assert_eq!(err.map(|e| e.what), Some(Fault::Checksum));
        assert_eq!(out.len(), plain.len());
        // Damage inside the data is found (at the latest by the checksum: a flipped literal
        // decodes, wrongly, until then).
        let (_, err, _) = decode(&flip(n / 2));
        assert!(err.is_some());
    }

    #[test]
    fn trailing_garbage_is_a_warning() {
        let plain = data();
        for garbage in [&b"garbage\n"[..], b"\n", b"\x28\xb5\x00"] {
            let mut z = zst(&plain, true);
            let at = z.len();
            z.extend_from_slice(garbage);
            let (out, err, d) = decode(&z);
            assert!(err.is_none(), "{garbage:?}: {err:?}");
            assert!(out == plain, "{garbage:?}: not the data");
            assert_eq!(d.count(WarnKind::ZstdTrailingGarbage), 1, "{garbage:?}");
            assert_eq!(
                d.details(WarnKind::ZstdTrailingGarbage)[0],
                format!("t.z: compressed byte {at}: trailing garbage after the zstd stream ignored (the stream decoded completely: {} bytes)", plain.len())
            );
        }
        // The start of a frame's magic and then the end: a frame cut in its magic.
        let mut z = zst(&plain, true);
        z.extend_from_slice(&FRAME[..2]);
        let (out, err, _) = decode(&z);
        assert_eq!(err.map(|e| e.what), Some(Fault::Cut));
        assert!(out == plain, "not the data");
    }

    #[test]
    fn a_window_over_the_limit_is_refused_with_the_way_out() {
        // A streaming encoder (no content size known) writes the window into the frame.
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        enc.set_parameter(zstd::stream::raw::CParameter::WindowLog(WINDOW_LOG_MAX + 1))
            .unwrap();
        std::io::Write::write_all(&mut enc, &data()).unwrap();
        let z = enc.finish().unwrap();
        let (out, err, _) = decode(&z);
        let err = err.expect("refused");
        assert!(out.is_empty());
        assert!(
            err.to_string().contains("zstd -d --long=31"),
            "{}",
            err.to_string()
        );
    }

    #[test]
    fn frame_starts() {
        assert!(could_start(&[]));
        assert!(could_start(&[0x28, 0xb5]));
        assert!(could_start(&[0x5a, 0x2a]));
        assert!(!could_start(&[0x28, 0xb4]));
        assert!(!could_start(b"\n"));
        assert!(is_frame_start(&FRAME));
        assert!(!is_frame_start(&FRAME[..3]));
    }
}
