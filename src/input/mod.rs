//! Opening inputs: files or stdin, compressed (gzip, zstd, LZ4) or plain, a zip archive's HAR,
//! capture or Playwright trace ([`zip`]), UTF-16 text decoded to UTF-8, and telling HAR
//! from pcap/pcapng by their first bytes (never by the file name) before handing the stream to
//! the matching reader.

mod archive;
pub mod compressed;
pub mod gzip;
pub mod har;
pub(crate) mod live;
pub mod lz4;
#[cfg(unix)]
mod mapguard;
pub(crate) mod mapped;
pub(crate) mod tar;
mod utf16;
pub(crate) mod zip;
pub mod zstd;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use memmap2::Mmap;

use crate::diag::Diagnostics;

pub use compressed::Codec;

/// Read buffer for inputs: large enough that syscalls and gzip framing are not the bottleneck,
/// and at most half a capture reader's block, so that a block's reads bypass it (`BufReader`
/// copies through its buffer any read smaller than the buffer: with 1 MiB here, the parallel
/// reader's 512 KiB blocks were copied twice; 419 MB capture `--jobs 2`, 8 alternating runs:
/// CPU 0.93 -> 0.875 s). A HAR reads the same at 256 KiB as at 1 MiB.
pub(crate) const READ_BUFFER: usize = 256 << 10;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot open: {0}")]
    Open(#[source] io::Error),
    #[error("is a directory, not a HAR or capture file")]
    IsDirectory,
    #[error("read error at byte {offset}: {source}")]
    Read {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("empty input (0 bytes)")]
    Empty,
    #[error("not a HAR, pcap or pcapng file (first bytes: {0})")]
    Unrecognized(String),
    #[error("compressed or archived more than {layers} layers deep ({steps}, then {next} again); not read")]
    TooDeep {
        layers: usize,
        steps: String,
        next: &'static str,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Har,
    Pcap,
    PcapNg,
}

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Har => "HAR",
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
        }
    }
}

/// An opened input, positioned at its first byte (after decompression and UTF-16 decoding),
/// with its format.
pub struct Input {
    pub name: Arc<str>,
    pub format: Format,
    /// The compressed formats and archives the file's bytes are in, outermost first (the
    /// reader unwraps them).
    pub compression: Vec<Codec>,
    /// The byte order of a UTF-16 text read as UTF-8 ([`Input::decoding`]).
    utf16: Option<utf16::Order>,
    /// A pipe or terminal: reads return what has arrived, and results should be handed on
    /// as soon as they are final rather than in large batches.
    pub live: bool,
    pub reader: Box<dyn BufRead + Send>,
    /// Warnings of the layers under the reader (trailing garbage after a compressed stream),
    /// for the report.
    pub warnings: Arc<Mutex<Diagnostics>>,
    /// For an input read by the live pump: when its data last arrived (the idle flush).
    pub activity: Option<Arc<live::Activity>>,
    /// A regular, uncompressed capture file mapped whole ([`open_with`] with `mmap`), with the
    /// open file it maps: the capture reader frames it in place instead of reading `reader`.
    pub mapped: Option<(Arc<Mmap>, File)>,
}

/// Opens `path` (`-` is stdin), decompresses it (gzip, zstd, LZ4) and detects the format.
/// Anything but a regular
/// file (a pipe, a terminal) is read live ([`live::Live`]).
pub(crate) fn open(path: &str) -> Result<Input, InputError> {
    open_with(
        path,
        &Arc::new(AtomicBool::new(false)),
        DETECT_WINDOW,
        false,
        false,
    )
}

/// [`open`], ending the input once `stop` is set, searching `window` leading bytes for the
/// format; `live` marks even a regular file as live ([`Input::live`]). With `mmap`, a regular,
/// uncompressed file given by its path is also mapped: a capture's map is framed in place
/// ([`Input::mapped`]), a HAR (not UTF-16) is read from its map through `reader`
/// ([`mapped::MappedText`]).
pub(crate) fn open_with(
    path: &str,
    stop: &Arc<AtomicBool>,
    window: usize,
    live: bool,
    mmap: bool,
) -> Result<Input, InputError> {
    if path == "-" {
        let raw: Box<dyn Read + Send> = Box::new(io::stdin());
        if !stdin_is_regular_file() {
            return from_live_with(Arc::from(path), raw, stop, window);
        }
        return from_reader_with(Arc::from(path), raw, window, live, stop);
    }
    // One open for everything: whether the file is regular, its format and its map all come
    // from the same open file, so a rename between two opens cannot give the map another
    // file than the one whose first bytes were read.
    let (file, regular) = open_file(path)?;
    if !regular {
        return from_live_with(Arc::from(path), file, stop, window);
    }
    // A second handle on the same open file (not a second open of the path): reading moves
    // the shared position, which a map does not use.
    let for_map = if mmap && !live {
        file.try_clone().ok()
    } else {
        None
    };
    let mut input = from_reader_with(Arc::from(path), Box::new(file), window, live, stop)?;
    // Only a file read as it is: decoded bytes (decompressed, UTF-16) are not the file's.
    let as_is = input.read_as_is();
    if let Some(file) = for_map.filter(|_| as_is) {
        if input.format == Format::Har {
            // The map replaces the reader, which has not read past its detection window.
            if let Some(map) = map_file(&file, path) {
                input.reader = Box::new(mapped::MappedText::new(map, file, stop.clone()));
            }
        } else {
            input.mapped = map_file(&file, path).map(|map| (map, file));
        }
    }
    Ok(input)
}

/// Maps a regular file whole, or `None` (it is then read): anything but a regular file of
/// the size it had when opened, an empty one, or a map the system refuses. Read-only and
/// shared: the pages are the page cache's own, and nothing is copied. `name` is the path the
/// user gave, for the error a cut map ends with.
fn map_file(file: &File, name: &str) -> Option<Arc<Mmap>> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: the map is only read, never written, and lives behind an `Arc` as long as any
    // block of it does. What `Mmap::map` cannot rule out is another process changing the file
    // while it is mapped: bytes rewritten in place are read as they are then (as `read` would
    // read them), and a file truncated under the map makes reading past its new end raise
    // SIGBUS. The capture reader looks the size up again for each window (a cut ahead of it
    // reads as the cut file); a cut inside the window being read still faults, and
    // `mapguard` turns that into an error line naming the file and the byte. The
    // README says so beside the other limits, and `--no-mmap` reads the file instead (its cut
    // is then a truncation after the records before it); only a regular file of the size
    // just seen is mapped.
    let map = unsafe { Mmap::map(file) }.ok()?;
    if map.len() as u64 != meta.len() {
        return None;
    }
    #[cfg(unix)]
    mapguard::guard(map.as_ptr(), map.len(), name);
    #[cfg(not(unix))]
    let _ = name;
    Some(Arc::new(map))
}

/// Opens a named file for reading: the file, and whether it is a regular one (as the open file
/// itself says). A directory is refused by name: where opening one fails (Windows) and where it
/// succeeds (Linux; also a path that became a directory just before the open).
fn open_file(path: &str) -> Result<(File, bool), InputError> {
    let file = File::open(path).map_err(|e| {
        if Path::new(path).is_dir() {
            InputError::IsDirectory
        } else {
            InputError::Open(e)
        }
    })?;
    let meta = file.metadata().ok();
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(InputError::IsDirectory);
    }
    Ok((file, meta.is_some_and(|m| m.is_file())))
}

/// Whether stdin is a regular file (read in full blocks) rather than a pipe or terminal.
#[cfg(unix)]
pub(crate) fn stdin_is_regular_file() -> bool {
    use std::os::fd::AsFd;
    io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| File::from(fd).metadata().ok())
        .is_some_and(|m| m.is_file())
}

#[cfg(not(unix))]
pub(crate) fn stdin_is_regular_file() -> bool {
    false
}

/// How many leading bytes format detection reads at most (whitespace before a HAR's `{`).
pub(crate) const DETECT_WINDOW: usize = 1 << 20;

/// Detects compression and the format of an already opened stream.
pub fn from_reader(name: Arc<str>, raw: Box<dyn Read + Send>) -> Result<Input, InputError> {
    from_reader_with(
        name,
        raw,
        DETECT_WINDOW,
        false,
        &Arc::new(AtomicBool::new(false)),
    )
}

/// A stream read live: by the pump thread ([`live::Live`]), which hands on what has arrived
/// and ends the input once `stop` is set, even while the writer is silent.
pub fn from_live<R: Read + Send + 'static>(
    name: Arc<str>,
    raw: R,
    stop: &Arc<AtomicBool>,
) -> Result<Input, InputError> {
    from_live_with(name, raw, stop, DETECT_WINDOW)
}

fn from_live_with<R: Read + Send + 'static>(
    name: Arc<str>,
    raw: R,
    stop: &Arc<AtomicBool>,
    window: usize,
) -> Result<Input, InputError> {
    let pump = live::Live::new(raw, stop.clone()).map_err(InputError::Open)?;
    let activity = pump.activity();
    let mut input = from_reader_with(name, Box::new(pump), window, true, stop)?;
    input.activity = Some(activity);
    Ok(input)
}

/// [`from_reader`] searching up to `window` leading bytes for the format, reading as ended
/// once `stop` is set; `live` as in [`Input::live`].
pub(crate) fn from_reader_with(
    name: Arc<str>,
    raw: Box<dyn Read + Send>,
    window: usize,
    live: bool,
    stop: &Arc<AtomicBool>,
) -> Result<Input, InputError> {
    let warnings = Arc::new(Mutex::new(Diagnostics::new()));
    let mut compression = Vec::new();
    let mut decoded = raw;
    let head = loop {
        // Four bytes: a zstd frame's magic (a gzip stream's is two); more where they say
        // nothing, for a tar archive's magic.
        let (head, raw) = peek(decoded, 4, window, false)?;
        let (codec, raw) = match Codec::of(&head) {
            None if detect(&head).is_err() => {
                let (head, raw) = peek(raw, compressed::HEAD_BYTES, compressed::HEAD_BYTES, true)?;
                (Codec::of(&head), raw)
            }
            codec => (codec, raw),
        };
        let Some(codec) = codec else {
            break peek(raw, window, window, false)?;
        };
        if compression.len() == compressed::MAX_LAYERS {
            return Err(InputError::TooDeep {
                layers: compressed::MAX_LAYERS,
                steps: decoding(&compression, None).unwrap_or_default(),
                next: codec.name(),
            });
        }
        compression.push(codec);
        decoded = codec.decoder(raw, name.clone(), warnings.clone());
    };
    let (head, decoded) = head;
    // A UTF-16 text is read as UTF-8 (no capture magic reads as one; a UTF-16 `{` first
    // also reads as JSON's start, so only a capture is not asked).
    let mut format = detect(&head);
    let order = match format {
        Ok(Format::Pcap | Format::PcapNg) => None,
        _ => utf16::sniff(&head),
    };
    let decoded = match order {
        Some(order) => {
            let utf8 = Box::new(utf16::Utf16Reader::new(decoded, order));
            let (head, decoded) = peek(utf8, window, window, false)?;
            format = detect(&head);
            decoded
        }
        None => decoded,
    };
    let format = match format {
        // Say so when the bytes shown are not the file's own but what decoding made of them.
        Err(InputError::Unrecognized(shown)) if !compression.is_empty() || order.is_some() => {
            let steps = decoding(&compression, order).unwrap_or_default();
            return Err(InputError::Unrecognized(format!("{shown}, after {steps}")));
        }
        other => other?,
    };
    // The stop check sits above decompression, so a stop ends a compressed stream cleanly.
    let reader = Box::new(BufReader::with_capacity(
        READ_BUFFER,
        live::Stoppable::new(decoded, stop.clone()),
    ));
    Ok(Input {
        name,
        format,
        compression,
        utf16: order,
        live,
        reader,
        warnings,
        activity: None,
        mapped: None,
    })
}

impl Input {
    /// Whether the bytes read are the input's own (not decompressed, not UTF-16 decoded).
    pub(crate) fn read_as_is(&self) -> bool {
        self.compression.is_empty() && self.utf16.is_none()
    }

    /// What turned the file's bytes into the ones read ("gzip decompression", "UTF-16LE
    /// decoding"), if anything did: byte offsets in messages count the bytes read.
    pub fn decoding(&self) -> Option<String> {
        decoding(&self.compression, self.utf16)
    }

    /// What a later part of this input read from the rest of its stream keeps of it
    /// ([`Lineage::input`]).
    pub(crate) fn lineage(&self) -> Lineage {
        Lineage(self.reading(Box::new(io::empty())))
    }

    /// This input's name, decoding, liveness, warnings and activity, reading `reader`.
    fn reading(&self, reader: Box<dyn BufRead + Send>) -> Input {
        Input {
            name: self.name.clone(),
            format: self.format,
            compression: self.compression.clone(),
            utf16: self.utf16,
            live: self.live,
            reader,
            warnings: self.warnings.clone(),
            activity: self.activity.clone(),
            mapped: None,
        }
    }
}

/// An input without its bytes ([`Input::lineage`]).
pub(crate) struct Lineage(Input);

impl Lineage {
    /// The unread rest of the input's stream (`capture::Rest`: from where a later capture
    /// part begins on) as an input of its own, named, decoded, live and watched as the input was;
    /// the layers under it still report their warnings to the input's.
    pub(crate) fn input(&self, rest: Box<dyn Read + Send>) -> Input {
        self.0
            .reading(Box::new(BufReader::with_capacity(READ_BUFFER, rest)))
    }
}

/// The decoding steps between a file's bytes and the bytes read, in words (`None`: none).
fn decoding(compression: &[Codec], order: Option<utf16::Order>) -> Option<String> {
    let steps: Vec<String> = compression
        .iter()
        .map(|c| c.step())
        .chain(order.map(|o| format!("{} decoding", o.name())))
        .collect();
    (!steps.is_empty()).then(|| steps.join(" and "))
}

/// Reads the stream's first bytes, until `want` of them or (unless `all`) one that is not
/// whitespace (past a capture magic's four bytes) is seen, `window` is reached or the input
/// ends; returns them and the stream with them put back in front. Pipes hand over what they
/// have, so one read may give a single byte.
fn peek(
    mut r: Box<dyn Read + Send>,
    want: usize,
    window: usize,
    all: bool,
) -> Result<(Vec<u8>, Box<dyn Read + Send>), InputError> {
    let mut head = vec![0u8; window.clamp(4, READ_BUFFER)];
    let mut len = 0;
    loop {
        let seen = head.get(..len).unwrap_or(&[]);
        let text = seen.strip_prefix(b"\xef\xbb\xbf").unwrap_or(seen);
        let text_seen = !all && len >= 4 && text.iter().any(|b| !b.is_ascii_whitespace());
        let enough = len >= want || text_seen;
        if enough || len >= window {
            break;
        }
        if len == head.len() {
            head.resize((head.len() * 2).min(window), 0);
        }
        let Some(space) = head.get_mut(len..) else {
            break;
        };
        match r.read(space) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(InputError::Read {
                    offset: len as u64,
                    source,
                })
            }
        }
    }
    head.truncate(len);
    if head.is_empty() {
        return Err(InputError::Empty);
    }
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head.clone()).chain(r));
    Ok((head, chained))
}

/// Format from the first bytes: pcapng's section header block, pcap's four magic numbers
/// (both byte orders, micro- and nanosecond), or JSON's `{` after whitespace and a UTF-8 BOM.
pub(crate) fn detect(head: &[u8]) -> Result<Format, InputError> {
    const PCAP_MAGICS: [[u8; 4]; 4] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
    ];
    if head.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        return Ok(Format::PcapNg);
    }
    if head.len() >= 4 && PCAP_MAGICS.iter().any(|m| head[..4] == m[..]) {
        return Ok(Format::Pcap);
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    if let Some(&b) = text.iter().find(|b| !b.is_ascii_whitespace()) {
        if b == b'{' {
            return Ok(Format::Har);
        }
    }
    let shown: String = head
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    Err(InputError::Unrecognized(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_by_magic() {
        assert_eq!(detect(b"\xd4\xc3\xb2\xa1....").unwrap(), Format::Pcap);
        assert_eq!(detect(b"\xa1\xb2\x3c\x4d....").unwrap(), Format::Pcap);
        assert_eq!(detect(b"\x0a\x0d\x0d\x0a....").unwrap(), Format::PcapNg);
        assert_eq!(detect(b"\xef\xbb\xbf \n {\"log\"").unwrap(), Format::Har);
        assert!(matches!(
            detect(b"\xff\xd8\xff\xe0JFIF"),
            Err(InputError::Unrecognized(_))
        ));
    }

    #[test]
    fn gzip_is_unwrapped() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"{\"log\":{}}").unwrap();
        let gz = enc.finish().unwrap();
        let input = from_reader(Arc::from("x.har.gz"), Box::new(io::Cursor::new(gz))).unwrap();
        assert_eq!(input.compression, [Codec::Gzip]);
        assert_eq!(input.format, Format::Har);
    }

    /// Layers nest, each told from its first bytes (a tar's at byte 257), up to
    /// [`compressed::MAX_LAYERS`]; deeper is refused by name.
    #[test]
    fn layers_nest_to_a_bound() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let gzip = |b: &[u8]| {
            let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
            enc.write_all(b).unwrap();
            enc.finish().unwrap()
        };
        let tar = |name: &str, b: &[u8]| {
            let mut t = ::tar::Builder::new(Vec::new());
            let mut h = ::tar::Header::new_gnu();
            h.set_size(b.len() as u64);
            t.append_data(&mut h, name, b).unwrap();
            t.into_inner().unwrap()
        };
        let har = b"{\"log\":{\"entries\":[]}}";
        let read = |bytes: Vec<u8>| {
            from_reader(Arc::from("x"), Box::new(io::Cursor::new(bytes))).map(|mut i| {
                let mut out = Vec::new();
                i.reader.read_to_end(&mut out).unwrap();
                (i.compression.clone(), i.format, out)
            })
        };
        use Codec::{Gzip, Tar};
        let cases: [(Vec<u8>, &[Codec]); 4] = [
            (tar("a.har", har), &[Tar]),
            (gzip(&tar("a.har", har)), &[Gzip, Tar]),
            (tar("a.har.gz", &gzip(har)), &[Tar, Gzip]),
            (gzip(&gzip(&gzip(&gzip(&gzip(&gzip(har)))))), &[Gzip; 6]),
        ];
        for (bytes, layers) in cases {
            let (got, format, out) = read(bytes).expect("read");
            assert_eq!((got.as_slice(), format), (layers, Format::Har));
            assert_eq!(out, har);
        }
        let Err(e) = read(gzip(&gzip(&gzip(&gzip(&gzip(&gzip(&gzip(har)))))))) else {
            panic!("seven layers read");
        };
        assert!(
            e.to_string()
                .starts_with("compressed or archived more than 6 layers deep"),
            "{e}"
        );
    }

    #[test]
    fn unrecognized_gzip_content_says_so() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"\xff\xd8\xff\xe0 a JPEG").unwrap();
        let gz = enc.finish().unwrap();
        let Err(e) = from_reader(Arc::from("x.gz"), Box::new(io::Cursor::new(gz))) else {
            panic!("not an input");
        };
        assert_eq!(
            e.to_string(),
            "not a HAR, pcap or pcapng file (first bytes: ff d8 ff e0 20 61 20 4a, after gzip decompression)"
        );
    }

    /// UTF-16 text, gzipped or not, reads as the UTF-8 text; what does not start like JSON
    /// after decoding is refused, saying which decoding its bytes went through.
    #[test]
    fn utf16_is_decoded() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let text = "\u{feff}{\"log\":{\"comment\":\"é\"}}";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let gz = |bytes: &[u8]| {
            let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
            enc.write_all(bytes).unwrap();
            enc.finish().unwrap()
        };
        let jpeg: Vec<u8> = "\u{feff}JFIF"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        // (input, UTF-8 text read or the error)
        let cases: Vec<(Vec<u8>, Result<&str, &str>)> = vec![
            (le.clone(), Ok(text)),
            (be, Ok(text)),
            (le[2..].to_vec(), Ok(&text[3..])),
            (gz(&le), Ok(text)),
            (
                jpeg.clone(),
                Err("first bytes: ef bb bf 4a 46 49 46, after UTF-16LE decoding"),
            ),
            (
                gz(&jpeg),
                Err("first bytes: ef bb bf 4a 46 49 46, after gzip decompression and UTF-16LE decoding"),
            ),
        ];
        for (bytes, want) in cases {
            let opened = from_reader(Arc::from("x.har"), Box::new(io::Cursor::new(bytes)));
            match (opened, want) {
                (Ok(mut input), Ok(want)) => {
                    assert_eq!(input.format, Format::Har);
                    let mut got = String::new();
                    input.reader.read_to_string(&mut got).expect(want);
                    assert_eq!(got, want);
                }
                (Err(e), Err(want)) => assert_eq!(
                    e.to_string(),
                    format!("not a HAR, pcap or pcapng file ({want})")
                ),
                (Ok(_), Err(want)) => panic!("opened; wanted {want}"),
                (Err(e), Ok(_)) => panic!("{e}"),
            }
        }
    }

    /// Writes `bytes` as `name` in `dir`; its path.
    fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_string_lossy().into_owned()
    }

    /// What opening a path gives: only a regular, uncompressed capture is mapped, and only
    /// when asked; a directory is refused by name.
    #[test]
    fn what_is_mapped() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let pcap = b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x01\0\0\0";
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(pcap).unwrap();
        let gz = enc.finish().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        // (path, mmap asked, live, (format, mapped); `None`: refused as a directory)
        type Want = Option<(Format, bool)>;
        let cases: [(String, bool, bool, Want); 6] = [
            (
                file(&d, "a.pcap", pcap),
                true,
                false,
                Some((Format::Pcap, true)),
            ),
            (
                file(&d, "b.pcap", pcap),
                false,
                false,
                Some((Format::Pcap, false)),
            ),
            (
                file(&d, "c.pcap", pcap),
                true,
                true,
                Some((Format::Pcap, false)),
            ),
            (
                file(&d, "d.pcap.gz", &gz),
                true,
                false,
                Some((Format::Pcap, false)),
            ),
            (
                file(&d, "e.har", b"{\"log\":{}}"),
                true,
                false,
                Some((Format::Har, false)),
            ),
            (d.path().to_string_lossy().into_owned(), true, false, None),
        ];
        for (path, mmap, live, want) in cases {
            let got = open_with(&path, &stop, DETECT_WINDOW, live, mmap);
            match (got, want) {
                (Ok(input), Some((format, mapped))) => {
                    assert_eq!(input.format, format, "{path}");
                    assert_eq!(input.mapped.is_some(), mapped, "{path}");
                    if let Some((m, _)) = &input.mapped {
                        assert_eq!(&m[..], &pcap[..], "{path}");
                    }
                }
                (Err(InputError::IsDirectory), None) => {}
                (got, want) => panic!("{path}: {:?} / {want:?}", got.map(|i| i.format)),
            }
        }
    }

    /// The map is of the file that was opened, not of whatever the path names later: the
    /// path replaced between the open and the map (here: before `map_file`) changes nothing.
    #[test]
    fn the_map_is_of_the_opened_file() {
        let d = tempfile::tempdir().unwrap();
        let path = file(&d, "cap.pcap", b"first file's bytes");
        let (opened, _) = open_file(&path).unwrap();
        let other = file(&d, "other", b"another file");
        std::fs::rename(&other, &path).unwrap();
        let map = map_file(&opened, &path).unwrap();
        assert_eq!(&map[..], b"first file's bytes");
    }

    #[test]
    fn empty_input_is_an_error() {
        let r = from_reader(Arc::from("e"), Box::new(io::Cursor::new(Vec::new())));
        assert!(matches!(r, Err(InputError::Empty)));
    }
}
