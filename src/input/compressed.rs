//! Step 1a (compression): which compressed format an input's first bytes say it is in (one
//! table, [`CODECS`]), the decoder that unwraps it, and the errors every decoder reports, naming
//! the compressed and the decompressed offsets. The formats are the ones Wireshark's
//! `file_wrappers.c` reads capture files in: gzip, zstd and LZ4 (frames); and archives, whose
//! HAR, captures or Playwright trace are read as the archive's contents (zip, [`super::zip`];
//! tar, [`super::tar`]). Layers nest (`captures.tar.gz`, a zipped `.har.gz`): the input is
//! unwrapped until no codec's start is seen ([`MAX_LAYERS`]).

use std::fmt;
use std::io::{self, BufReader, Read};
use std::sync::{Arc, Mutex};

use crate::diag::{Diagnostics, WarnKind};

use super::READ_BUFFER;

/// A compressed format an input may come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
    Lz4,
    Zip,
    Tar,
}

/// Codecs an input is unwrapped through at most (a tarball of gzipped captures zipped to
/// attach it is four): deeper nesting is refused, so that a stream wrapped in itself over and
/// over (a gzip quine) cannot hold the reader.
pub(crate) const MAX_LAYERS: usize = 6;

/// What there is to know of each codec, in one place.
struct Row {
    codec: Codec,
    name: &'static str,
    /// What unwrapping it is called ("gzip decompression").
    step: &'static str,
    /// Whether a stream's first bytes are this codec's (as many as the input has, up to 4;
    /// [`HEAD_BYTES`] where no other codec or format is seen in the first 4).
    starts: fn(&[u8]) -> bool,
    /// File name endings that say a file is in it (lower case).
    suffixes: &'static [&'static str],
    /// What an error's two offsets count: the input's bytes and the bytes it gives.
    offsets: [&'static str; 2],
    /// What the format calls its checksum of the decoded data, for the error.
    checksum: &'static str,
    /// The warning for bytes after the last complete member or frame.
    garbage: WarnKind,
}

/// The codecs, tried in order on an input's first bytes.
const CODECS: &[Row] = &[
    Row {
        codec: Codec::Gzip,
        name: "gzip",
        step: "decompression",
        starts: |h| h.starts_with(&[0x1f, 0x8b]),
        suffixes: &[".gz", ".gzip"],
        offsets: DECOMPRESSED,
        checksum: "CRC",
        garbage: WarnKind::GzipTrailingGarbage,
    },
    Row {
        codec: Codec::Zstd,
        name: "zstd",
        step: "decompression",
        starts: super::zstd::is_frame_start,
        suffixes: &[".zst", ".zstd"],
        offsets: DECOMPRESSED,
        checksum: "checksum",
        garbage: WarnKind::ZstdTrailingGarbage,
    },
    Row {
        codec: Codec::Lz4,
        name: "lz4",
        step: "decompression",
        starts: super::lz4::is_frame_start,
        suffixes: &[".lz4"],
        offsets: DECOMPRESSED,
        checksum: "checksum",
        garbage: WarnKind::Lz4TrailingGarbage,
    },
    Row {
        codec: Codec::Zip,
        name: "zip",
        step: "extraction",
        starts: super::zip::is_archive_start,
        suffixes: &[".zip"],
        offsets: DECOMPRESSED,
        checksum: "CRC",
        garbage: WarnKind::ZipTrailingGarbage,
    },
    Row {
        codec: Codec::Tar,
        name: "tar",
        step: "extraction",
        starts: super::tar::is_archive_start,
        suffixes: &[".tar"],
        offsets: ["archive byte", "extracted byte"],
        checksum: "header checksum",
        garbage: WarnKind::TarTrailingGarbage,
    },
];

const DECOMPRESSED: [&str; 2] = ["compressed byte", "decompressed byte"];

/// Bytes a stream's start is looked at for a codec when its first 4 say nothing: a tar
/// archive's magic sits at byte 257 of its first header.
pub(crate) const HEAD_BYTES: usize = 512;

impl Codec {
    fn row(self) -> &'static Row {
        // Every codec has its row (the table test checks it).
        CODECS
            .iter()
            .find(|r| r.codec == self)
            .unwrap_or(&CODECS[0])
    }

    /// The codec a stream starting with `head` (at least 4 bytes, unless the stream is
    /// shorter) is compressed with, if any.
    pub fn of(head: &[u8]) -> Option<Codec> {
        CODECS.iter().find(|r| (r.starts)(head)).map(|r| r.codec)
    }

    /// The codec a file name's ending says, and the ending (`name` in lower case).
    pub(crate) fn of_suffix(name: &str) -> Option<(Codec, &'static str)> {
        CODECS.iter().find_map(|r| {
            r.suffixes
                .iter()
                .find(|s| name.ends_with(**s))
                .map(|s| (r.codec, *s))
        })
    }

    /// Its name, as in messages ("gzip", "zstd").
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// What reading through it is called in messages ("gzip decompression", "zip extraction").
    pub(crate) fn step(self) -> String {
        format!("{} {}", self.name(), self.row().step)
    }

    /// The decoder of `raw`, which starts with this codec's data; `warnings` receives the
    /// decoder's warnings (trailing garbage) for the input's report.
    pub(crate) fn decoder<'a>(
        self,
        raw: Box<dyn Read + Send + 'a>,
        name: Arc<str>,
        warnings: Arc<Mutex<Diagnostics>>,
    ) -> Box<dyn Read + Send + 'a> {
        let buffered = BufReader::with_capacity(READ_BUFFER, raw);
        match self {
            Codec::Gzip => Box::new(super::gzip::GzipReader::new(buffered, name, warnings)),
            Codec::Zstd => Box::new(super::zstd::ZstdReader::new(buffered, name, warnings)),
            Codec::Lz4 => Box::new(super::lz4::Lz4Reader::new(buffered, name, warnings)),
            Codec::Zip => Box::new(super::zip::ZipReader::new(buffered, name, warnings)),
            Codec::Tar => Box::new(super::tar::TarReader::new(buffered, name, warnings)),
        }
    }

    /// The reading error for `what`, found after `compressed` bytes of the input gave
    /// `decompressed` bytes (all handed on): `UnexpectedEof` for a cut, `InvalidData` else.
    pub(crate) fn error(self, what: Fault, compressed: u64, decompressed: u64) -> io::Error {
        let kind = if what == Fault::Cut {
            io::ErrorKind::UnexpectedEof
        } else {
            io::ErrorKind::InvalidData
        };
        io::Error::new(
            kind,
            DecodeError {
                codec: self,
                what,
                compressed,
                decompressed,
            },
        )
    }

    /// Warns that bytes after the complete stream were ignored (as `gzip -d` does: "decompression
    /// OK, trailing garbage ignored").
    pub(crate) fn trailing_garbage(
        self,
        warnings: &Mutex<Diagnostics>,
        name: &str,
        at: u64,
        out: u64,
    ) {
        let codec = self.name();
        if let Ok(mut w) = warnings.lock() {
            w.warn(self.row().garbage, || {
                format!(
                    "{name}: compressed byte {at}: trailing garbage after the {codec} stream \
                     ignored (the stream decoded completely: {out} bytes)"
                )
            });
        }
    }
}

/// Skippable frames' magic, after its first byte (any of 0x50..=0x5f): shared by zstd and LZ4.
const SKIPPABLE: [u8; 3] = [0x2a, 0x4d, 0x18];

/// Whether the bytes of `head` (at most the first 4 are looked at) can be the start of a frame
/// with the magic `frame` or of a skippable frame: all of them match, however few there are.
pub(crate) fn could_start(head: &[u8], frame: [u8; 4]) -> bool {
    let head = head.get(..4).unwrap_or(head);
    let framed = head.iter().zip(frame).all(|(&b, m)| b == m);
    let skippable = head.first().is_none_or(|b| b & 0xf0 == 0x50)
        && head.iter().skip(1).zip(SKIPPABLE).all(|(&b, m)| b == m);
    framed || skippable
}

/// What went wrong in a compressed stream, and where.
#[derive(Debug)]
pub struct DecodeError {
    pub codec: Codec,
    pub what: Fault,
    /// Bytes of the compressed input consumed when it was found.
    pub compressed: u64,
    /// Bytes decompressed before it (all of them were handed on).
    pub decompressed: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Fault {
    /// The compressed input ends inside a member or frame.
    Cut,
    /// The decoded data does not match the stream's checksum of it.
    Checksum,
    /// A gzip member's length field does not match its data.
    Length,
    /// Damaged compressed data or headers (the decoder's words).
    Damaged(String),
    /// An archive that holds nothing to read (what it holds).
    Contents(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = self.codec.row();
        let (codec, checksum, [input, output]) = (row.name, row.checksum, row.offsets);
        match &self.what {
            Fault::Cut => write!(f, "{codec} stream cut off")?,
            Fault::Checksum => write!(
                f,
                "{codec} {checksum} error (the data decoded but does not match its checksum)"
            )?,
            Fault::Length => write!(
                f,
                "{codec} length error (the member's length field does not match its data)"
            )?,
            Fault::Damaged(d) => write!(f, "damaged {codec} data ({d})")?,
            Fault::Contents(d) => return write!(f, "the {codec} archive {d}"),
        }
        write!(
            f,
            " at {input} {} ({output} {})",
            self.compressed, self.decompressed
        )
    }
}

impl std::error::Error for DecodeError {}

/// For the decoders' tests: reads `codec`'s stream `bytes` to its end or its error through an
/// input buffer of `input` bytes, in reads of `reads` bytes (a failed or ended stream must read
/// as ended after); the bytes, the error and the warnings.
#[cfg(test)]
pub(crate) fn decode_all(
    codec: Codec,
    bytes: &[u8],
    input: usize,
    reads: usize,
) -> (Vec<u8>, Option<DecodeError>, Diagnostics) {
    let w = Arc::new(Mutex::new(Diagnostics::new()));
    let raw = BufReader::with_capacity(input, std::io::Cursor::new(bytes.to_vec()));
    let mut r: Box<dyn Read> = match codec {
        Codec::Gzip => Box::new(super::gzip::GzipReader::new(raw, "t.z".into(), w.clone())),
        Codec::Zstd => Box::new(super::zstd::ZstdReader::new(raw, "t.z".into(), w.clone())),
        Codec::Lz4 => Box::new(super::lz4::Lz4Reader::new(raw, "t.z".into(), w.clone())),
        Codec::Zip => Box::new(super::zip::ZipReader::new(raw, "t.z".into(), w.clone())),
        Codec::Tar => Box::new(super::tar::TarReader::new(raw, "t.z".into(), w.clone())),
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; reads];
    let err = loop {
        match r.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                let inner = e.into_inner().expect("a typed error");
                break Some(*inner.downcast::<DecodeError>().expect("a DecodeError"));
            }
        }
    };
    assert_eq!(r.read(&mut buf).expect("reads as ended"), 0);
    let d = w.lock().map(|d| d.clone()).unwrap_or_default();
    (out, err, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_has_one_row() {
        for c in [Codec::Gzip, Codec::Zstd, Codec::Lz4, Codec::Zip, Codec::Tar] {
            assert_eq!(CODECS.iter().filter(|r| r.codec == c).count(), 1, "{c:?}");
            assert_eq!(c.row().codec, c);
        }
    }

    /// Table: first bytes and the codec they say.
    #[test]
    fn first_bytes_name_the_codec() {
        let cases: &[(&[u8], Option<Codec>)] = &[
            (&[0x1f, 0x8b, 8, 0], Some(Codec::Gzip)),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0], Some(Codec::Zstd)),
            // A skippable frame first (pzstd writes one).
            (&[0x50, 0x2a, 0x4d, 0x18], Some(Codec::Zstd)),
            (&[0x5f, 0x2a, 0x4d, 0x18], Some(Codec::Zstd)),
            (&[0x60, 0x2a, 0x4d, 0x18], None),
            (&[0x04, 0x22, 0x4d, 0x18, 0x64], Some(Codec::Lz4)),
            // The legacy LZ4 format (`lz4 -l`) is not read.
            (&[0x02, 0x21, 0x4c, 0x18], None),
            (b"PK\x03\x04", Some(Codec::Zip)),
            // An empty archive (its end record alone) holds nothing to read.
            (b"PK\x05\x06", None),
            // A stream shorter than a magic is no frame.
            (&[0x28, 0xb5], None),
            (&[0xd4, 0xc3, 0xb2, 0xa1], None),
            (b"{\"lo", None),
        ];
        for (head, want) in cases {
            assert_eq!(Codec::of(head), *want, "{head:02x?}");
        }
    }

    #[test]
    fn errors_name_both_offsets() {
        let e = |codec, what| DecodeError {
            codec,
            what,
            compressed: 10,
            decompressed: 20,
        };
        assert_eq!(
            e(Codec::Gzip, Fault::Checksum).to_string(),
            "gzip CRC error (the data decoded but does not match its checksum) at compressed byte 10 (decompressed byte 20)"
        );
        assert_eq!(
            e(Codec::Zstd, Fault::Checksum).to_string(),
            "zstd checksum error (the data decoded but does not match its checksum) at compressed byte 10 (decompressed byte 20)"
        );
        assert_eq!(
            e(Codec::Zstd, Fault::Cut).to_string(),
            "zstd stream cut off at compressed byte 10 (decompressed byte 20)"
        );
    }
}
