//! LZ4 frame decoding for inputs (both formats), frame by frame and block by block, as `lz4 -d`
//! does it (skippable frames skipped): every block that decodes is handed on before an error;
//! errors (a cut stream, damaged data, a header, block or content checksum mismatch) name the
//! compressed and decompressed offsets ([`DecodeError`](super::compressed::DecodeError)); bytes
//! after the last frame that cannot start another are ignored with a warning
//! (`lz4-trailing-garbage`). The blocks are lz4_flex's to decode and the checksums twox-hash's
//! (XXH32); this module reads the frame format around them (lz4_flex's own frame reader takes
//! a stream cut between two blocks for a complete one).

use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex};

use std::hash::Hasher as _;

use twox_hash::XxHash32;

use crate::diag::Diagnostics;

use super::compressed::{Codec, Fault};

/// An LZ4 frame's magic number, as it appears in the file.
const FRAME: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];
/// The window a linked block may refer back into.
const WINDOW: usize = 64 << 10;

/// Whether `head` (its first 4 bytes) starts an LZ4 frame. A stream that starts with a
/// skippable frame is taken for zstd (pzstd writes one first; LZ4 tools do not).
pub(crate) fn is_frame_start(head: &[u8]) -> bool {
    head.get(..4) == Some(&FRAME[..])
}

/// Whether the bytes of `head` can start a frame or a skippable frame.
fn could_start(head: &[u8]) -> bool {
    super::compressed::could_start(head, FRAME)
}

/// What a frame's descriptor says, and what its blocks have given so far.
struct Frame {
    linked: bool,
    block_checksum: bool,
    content_checksum: bool,
    content_size: Option<u64>,
    max_block: usize,
    content: XxHash32,
    content_len: u64,
}

/// An LZ4 stream of one or more frames, decoded.
pub(crate) struct Lz4Reader<R: BufRead> {
    inner: R,
    frame: Option<Frame>,
    /// The current block's bytes, preceded (linked blocks) by up to [`WINDOW`] bytes of the
    /// blocks before it; `at..` is what is still to hand on.
    out: Vec<u8>,
    at: usize,
    /// The compressed bytes of the current block.
    src: Vec<u8>,
    /// The stream ended or failed: it reads as ended.
    done: bool,
    consumed: u64,
    decoded: u64,
    warnings: Arc<Mutex<Diagnostics>>,
    name: Arc<str>,
}

/// What stopped a read: the input ended inside something, or a fault.
enum Stop {
    Fault(Fault),
    Io(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

impl<R: BufRead> Lz4Reader<R> {
    pub(crate) fn new(inner: R, name: Arc<str>, warnings: Arc<Mutex<Diagnostics>>) -> Self {
        Lz4Reader {
            inner,
            frame: None,
            out: Vec::new(),
            at: 0,
            src: Vec::new(),
            done: false,
            consumed: 0,
            decoded: 0,
            warnings,
            name,
        }
    }

    /// Appends exactly `n` bytes of the input to `buf`; the input ending first is a cut.
    fn take(inner: &mut R, consumed: &mut u64, n: usize, buf: &mut Vec<u8>) -> Result<(), Stop> {
        let mut left = n;
        while left > 0 {
            let avail = match inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Stop::Io(e)),
            };
            if avail.is_empty() {
                return Err(Stop::Fault(Fault::Cut));
            }
            let k = left.min(avail.len());
            buf.extend_from_slice(&avail[..k]);
            inner.consume(k);
            *consumed += k as u64;
            left -= k;
        }
        Ok(())
    }

    /// Passes over exactly `n` bytes of the input, keeping none (a skippable frame may be
    /// up to 4 GiB); the input ending first is a cut.
    fn skip(&mut self, n: usize) -> Result<(), Stop> {
        let mut left = n;
        while left > 0 {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Stop::Io(e)),
            };
            if avail == 0 {
                return Err(Stop::Fault(Fault::Cut));
            }
            let k = left.min(avail);
            self.inner.consume(k);
            self.consumed += k as u64;
            left -= k;
        }
        Ok(())
    }

    fn read_u32(&mut self) -> Result<u32, Stop> {
        let mut b = Vec::with_capacity(4);
        Self::take(&mut self.inner, &mut self.consumed, 4, &mut b)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// At a frame boundary: starts the next frame (skipping skippable ones); false at the end
    /// of the stream or before trailing garbage (warned).
    fn next_frame(&mut self) -> Result<bool, Stop> {
        loop {
            let head = loop {
                match self.inner.fill_buf() {
                    Ok(b) => break b,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Stop::Io(e)),
                }
            };
            if head.is_empty() {
                return Ok(false);
            }
            if !could_start(head) {
                let (at, out) = (self.consumed, self.decoded);
                Codec::Lz4.trailing_garbage(&self.warnings, &self.name, at, out);
                return Ok(false);
            }
            let magic = self.read_u32()?.to_le_bytes();
            if magic != FRAME {
                // A skippable frame: its size, then that many bytes, passed over unkept.
                let size = self.read_u32()? as usize;
                self.skip(size)?;
                continue;
            }
            self.frame = Some(self.descriptor()?);
            self.out.clear();
            self.at = 0;
            return Ok(true);
        }
    }

    /// Reads a frame descriptor (after the magic), checking its header checksum.
    fn descriptor(&mut self) -> Result<Frame, Stop> {
        let damaged = |what: &str| Stop::Fault(Fault::Damaged(what.to_owned()));
        let mut d = Vec::with_capacity(15);
        Self::take(&mut self.inner, &mut self.consumed, 2, &mut d)?;
        let (flg, bd) = (d[0], d[1]);
        if flg >> 6 != 1 {
            return Err(damaged("frame version is not 01"));
        }
        if flg & 0x02 != 0 || bd & 0x8f != 0 {
            return Err(damaged("reserved frame descriptor bits set"));
        }
        if flg & 0x01 != 0 {
            return Err(damaged(
                "the frame needs a dictionary (a dictionary ID is set)",
            ));
        }
        let max_block = match (bd >> 4) & 7 {
            4 => 64 << 10,
            5 => 256 << 10,
            6 => 1 << 20,
            7 => 4 << 20,
            _ => return Err(damaged("block maximum size other than 64 KiB to 4 MiB")),
        };
        let sized = flg & 0x08 != 0;
        Self::take(
            &mut self.inner,
            &mut self.consumed,
            if sized { 9 } else { 1 },
            &mut d,
        )?;
        let hc = d[d.len() - 1];
        let descriptor = &d[..d.len() - 1];
        if (XxHash32::oneshot(0, descriptor) >> 8) as u8 != hc {
            return Err(damaged("frame header checksum does not match"));
        }
        let content_size = sized.then(|| {
            let mut s = [0u8; 8];
            s.copy_from_slice(&d[2..10]);
            u64::from_le_bytes(s)
        });
        Ok(Frame {
            linked: flg & 0x20 == 0,
            block_checksum: flg & 0x10 != 0,
            content_checksum: flg & 0x04 != 0,
            content_size,
            max_block,
            content: XxHash32::with_seed(0),
            content_len: 0,
        })
    }

    /// Decodes the frame's next block into `out` (false: the frame ended, its checks passed).
    fn next_block(&mut self) -> Result<bool, Stop> {
        let size = self.read_u32()?;
        let Some(frame) = self.frame.as_mut() else {
            return Ok(false);
        };
        if size == 0 {
            if frame.content_checksum {
                let want = {
                    let mut b = Vec::with_capacity(4);
                    Self::take(&mut self.inner, &mut self.consumed, 4, &mut b)?;
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
                };
                if frame.content.finish_32() != want {
                    return Err(Stop::Fault(Fault::Checksum));
                }
            }
            if let Some(n) = frame.content_size.filter(|&n| n != frame.content_len) {
                let got = frame.content_len;
                return Err(Stop::Fault(Fault::Damaged(format!(
                    "the frame's content size field says {n} bytes, its blocks hold {got}"
                ))));
            }
            self.frame = None;
            return Ok(false);
        }
        let stored = size & 0x8000_0000 != 0;
        let len = (size & 0x7fff_ffff) as usize;
        if len > frame.max_block {
            return Err(Stop::Fault(Fault::Damaged(format!(
                "a block of {len} bytes in a frame of blocks up to {} bytes",
                frame.max_block
            ))));
        }
        let (linked, block_checksum, max_block) =
            (frame.linked, frame.block_checksum, frame.max_block);
        self.src.clear();
        Self::take(&mut self.inner, &mut self.consumed, len, &mut self.src)?;
        if block_checksum {
            let want = self.read_u32()?;
            if XxHash32::oneshot(0, &self.src) != want {
                return Err(Stop::Fault(Fault::Checksum));
            }
        }
        // Linked blocks refer back into the window of the blocks before; independent ones
        // start afresh.
        let keep = if linked {
            self.out.len().min(WINDOW)
        } else {
            0
        };
        let start = self.out.len() - keep;
        self.out.drain(..start);
        let dict_len = self.out.len();
        if stored {
            self.out.extend_from_slice(&self.src);
        } else {
            self.out.resize(dict_len + max_block, 0);
            let (dict, dst) = self.out.split_at_mut(dict_len);
            let n = lz4_flex::block::decompress_into_with_dict(&self.src, dst, dict)
                .map_err(|e| Stop::Fault(Fault::Damaged(e.to_string())))?;
            self.out.truncate(dict_len + n);
        }
        self.at = dict_len;
        let block = &self.out[dict_len..];
        if let Some(frame) = self.frame.as_mut() {
            frame.content.write(block);
            frame.content_len += block.len() as u64;
        }
        Ok(true)
    }

    /// The typed error for `what`, at the current offsets; the stream reads as ended after it.
    fn fault(&mut self, what: Fault) -> io::Error {
        self.done = true;
        Codec::Lz4.error(what, self.consumed, self.decoded)
    }
}

impl<R: BufRead> Read for Lz4Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(rest) = self.out.get(self.at..).filter(|r| !r.is_empty()) {
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                self.at += n;
                self.decoded += n as u64;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            // The frame's next block (none: it ended, checked), or the next frame.
            let step = if self.frame.is_some() {
                self.next_block().map(|_| true)
            } else {
                self.next_frame()
            };
            match step {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return Ok(0);
                }
                Err(Stop::Io(e)) => return Err(e),
                Err(Stop::Fault(f)) => return Err(self.fault(f)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::WarnKind;
    use crate::input::compressed::decode_all;
    use crate::input::compressed::DecodeError;

    fn data() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i * 7 % 251).to_le_bytes())
            .collect()
    }

    /// One frame as the `lz4` tool writes them, made here: blocks of at most 64 KiB, each
    /// compressed by lz4_flex (or stored when `stored`), linked (each compressed against the
    /// 64 KiB before it) or not, with the block and content checksums asked for.
    fn frame(
        data: &[u8],
        linked: bool,
        block_sum: bool,
        content_sum: bool,
        sized: bool,
    ) -> Vec<u8> {
        let flg = 0x40
            | if linked { 0 } else { 0x20 }
            | if block_sum { 0x10 } else { 0 }
            | if sized { 0x08 } else { 0 }
            | if content_sum { 0x04 } else { 0 };
        let mut desc = vec![flg, 0x40];
        if sized {
            desc.extend_from_slice(&(data.len() as u64).to_le_bytes());
        }
        let mut f = FRAME.to_vec();
        f.extend_from_slice(&desc);
        f.push((XxHash32::oneshot(0, &desc) >> 8) as u8);
        let mut at = 0;
        while at < data.len() {
            let end = (at + (64 << 10)).min(data.len());
            let block = &data[at..end];
            let packed = if linked && at > 0 {
                let dict = &data[at.saturating_sub(WINDOW)..at];
                lz4_flex::block::compress_with_dict(block, dict)
            } else {
                lz4_flex::block::compress(block)
            };
            let (bytes, size) = if packed.len() < block.len() {
                (packed, 0)
            } else {
                (block.to_vec(), 0x8000_0000)
            };
            f.extend_from_slice(&(bytes.len() as u32 | size).to_le_bytes());
            f.extend_from_slice(&bytes);
            if block_sum {
                f.extend_from_slice(&XxHash32::oneshot(0, &bytes).to_le_bytes());
            }
            at = end;
        }
        f.extend_from_slice(&[0; 4]);
        if content_sum {
            f.extend_from_slice(&XxHash32::oneshot(0, data).to_le_bytes());
        }
        f
    }

    fn decode(bytes: &[u8]) -> (Vec<u8>, Option<DecodeError>, Diagnostics) {
        decode_all(Codec::Lz4, bytes, 64, 100)
    }

    #[test]
    fn frames_of_every_kind_and_skippable_frames_concatenate() {
        let (a, b) = (data(), b"tail".to_vec());
        let skip = [vec![0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0], vec![1; 3]].concat();
        for (linked, block_sum, content_sum, sized) in [
            (true, false, true, false),
            (false, true, false, true),
            (true, true, true, true),
            (false, false, false, false),
        ] {
            let z = [
                frame(&a, linked, block_sum, content_sum, sized),
                skip.clone(),
                frame(&b, linked, block_sum, content_sum, sized),
            ]
            .concat();
            let (out, err, d) = decode(&z);
            assert!(err.is_none(), "{err:?}");
            assert!(out == [a.clone(), b.clone()].concat(), "not the data");
            assert!(d.is_empty());
        }
    }

    /// Table: each damage, the fault named, where, and how much decodes before it.
    #[test]
    fn damage_keeps_the_decoded_blocks_and_names_the_fault() {
        let plain = data();
        let z = frame(&plain, true, true, true, true);
        let n = z.len();
        let flip = |at: usize| {
            let mut v = z.clone();
            v[at] ^= 1;
            v
        };
        let damaged = |f: &Fault| matches!(f, Fault::Damaged(_));
        // A cut between two blocks: every block before it, then the cut (lz4_flex's own
        // frame reader ends there without a word).
        // The header is 15 bytes (magic, flags, content size, header checksum); the first
        // block's size field follows, then its data and checksum.
        let size = u32::from_le_bytes(z[15..19].try_into().unwrap()) & 0x7fff_ffff;
        let first_block = 19 + size as usize;
        let between = first_block + 4;
        // (what, bytes, the fault wanted, the compressed offset, bytes decoded before)
        type Case = (
            &'static str,
            Vec<u8>,
            fn(&Fault) -> bool,
            usize,
            Option<usize>,
        );
        let cases: Vec<Case> = vec![
            (
                "cut between blocks",
                z[..between].to_vec(),
                |f| *f == Fault::Cut,
                between,
                Some(64 << 10),
            ),
            (
                "cut in a block",
                z[..n / 2].to_vec(),
                |f| *f == Fault::Cut,
                n / 2,
                None,
            ),
            (
                "content checksum missing",
                z[..n - 4].to_vec(),
                |f| *f == Fault::Cut,
                n - 4,
                Some(plain.len()),
            ),
            (
                "bad content checksum",
                flip(n - 1),
                |f| *f == Fault::Checksum,
                n,
                Some(plain.len()),
            ),
            (
                "bad block checksum",
                flip(first_block + 1),
                |f| *f == Fault::Checksum,
                between,
                Some(0),
            ),
            ("bad header checksum", flip(14), damaged, 15, Some(0)),
            ("bad version", flip(4), damaged, 6, Some(0)),
        ];
        for (name, bytes, fault, compressed, decoded) in cases {
            let (out, err, _) = decode(&bytes);
            let err = err.unwrap_or_else(|| panic!("{name}: no error"));
            assert!(fault(&err.what), "{name}: {:?}", err.what);
            assert_eq!(err.compressed, compressed as u64, "{name}");
            assert_eq!(err.decompressed, out.len() as u64, "{name}");
            assert!(
                plain[..out.len()] == out[..],
                "{name}: not the data's start"
            );
            if let Some(k) = decoded {
                assert_eq!(out.len(), k, "{name}");
            }
        }
    }

    #[test]
    fn trailing_garbage_is_a_warning() {
        let plain = data();
        for garbage in [&b"garbage\n"[..], b"\n"] {
            let mut z = frame(&plain, false, false, true, false);
            let at = z.len();
            z.extend_from_slice(garbage);
            let (out, err, d) = decode(&z);
            assert!(err.is_none(), "{garbage:?}: {err:?}");
            assert!(out == plain, "{garbage:?}: not the data");
            assert_eq!(d.count(WarnKind::Lz4TrailingGarbage), 1, "{garbage:?}");
            assert_eq!(
                d.details(WarnKind::Lz4TrailingGarbage)[0],
                format!("t.z: compressed byte {at}: trailing garbage after the lz4 stream ignored (the stream decoded completely: {} bytes)", plain.len())
            );
        }
    }
}
