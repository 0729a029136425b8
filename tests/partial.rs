//! Partial results: a HAR or a capture cut anywhere still yields everything that was complete
//! before the cut, and an error that says where the input ended (byte offset; HAR entry index
//! or capture packet number).

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use corscope::capture::{read_capture, CaptureError, CaptureOptions};
use corscope::diag::{Diagnostics, WarnKind};
use corscope::input::har::{read_har, HarError, HarMeta, HarOptions};
use corscope::model::{Exchange, Position};
use corscope::pairing::{Pairer, PairingOptions};
use corscope::pipeline::{analyze_input, AnalyzeError, InputReport, Options};
use corscope::report::Record;

fn data(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

fn har_exchanges(bytes: &[u8]) -> (Result<HarMeta, HarError>, Vec<Exchange>) {
    let mut out = Vec::new();
    let r = read_har(
        Box::new(Cursor::new(bytes.to_vec())),
        Arc::from("cut.har"),
        &HarOptions::default(),
        &mut |x| out.push(x),
        &mut Diagnostics::new(),
    );
    (r, out)
}

fn records(bytes: &[u8]) -> (InputReport, Vec<Record>) {
    let input =
        corscope::input::from_reader(Arc::from("cut"), Box::new(Cursor::new(bytes.to_vec())))
            .expect("format detected");
    let mut out = Vec::new();
    let report = analyze_input(
        input,
        &Options::default(),
        &mut |r| out.push(r),
        InputReport::default(),
    );
    (report, out)
}

fn entry_index(x: &Exchange) -> u64 {
    match x.loc.position {
        Position::HarEntry(i) => i,
        ref p => panic!("not a HAR position: {p:?}"),
    }
}

/// Byte offsets just past each element of `log.entries`, found independently of the reader
/// (a plain JSON bracket and string walk), so a reader that under-counts is caught.
fn entry_ends(text: &[u8]) -> Vec<usize> {
    let key = b"\"entries\"";
    let at = text
        .windows(key.len())
        .position(|w| w == key)
        .expect("entries array");
    let start = at
        + text[at..]
            .iter()
            .position(|b| *b == b'[')
            .expect("entries array")
        + 1;
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    let mut ends = Vec::new();
    for (i, &b) in text.iter().enumerate().skip(start) {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => break,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    ends.push(i + 1);
                }
            }
            _ => {}
        }
    }
    ends
}

/// The last entry index of each flow (over every hop and preflight), keyed by the index the
/// flow's record carries (its first hop's, or the preflight's when the request never came).
fn flow_extents(exchanges: &[Exchange]) -> BTreeMap<u64, u64> {
    let mut pairer = Pairer::new(PairingOptions::default());
    let mut flows = Vec::new();
    for x in exchanges {
        pairer.push(x.clone(), &mut |f| flows.push(f));
    }
    pairer.finish(&mut |f| flows.push(f));
    flows
        .iter()
        .map(|f| {
            let all = f
                .hops
                .iter()
                .flat_map(|h| std::iter::once(&h.exchange).chain(h.preflight.as_ref()));
            let last = all.map(entry_index).max().unwrap_or(0);
            (entry_index(&f.first().exchange), last)
        })
        .collect()
}

/// Cuts `text` at `cut` and checks the partial result against the whole file's.
fn check_har_cut(
    text: &[u8],
    cut: usize,
    ends: &[usize],
    whole: &[Exchange],
    whole_records: &[Record],
) {
    let prefix = &text[..cut];
    let complete = ends.iter().filter(|&&e| e <= cut).count() as u64;
    let (r, got) = har_exchanges(prefix);
    // Every complete entry is read, exactly as in the whole file, and nothing else.
    let expected: Vec<&Exchange> = whole.iter().filter(|x| entry_index(x) < complete).collect();
    assert_eq!(got.len(), expected.len(), "cut at {cut}: exchanges");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(&g, e, "cut at {cut}");
    }
    match &r {
        Err(
            e @ HarError::Truncated {
                offset,
                entries,
                entry,
                ..
            },
        ) => {
            assert_eq!(*offset, cut as u64, "cut at {cut}: offset");
            assert_eq!(*entries, complete, "cut at {cut}: complete entries");
            // Inside an entry, the error names it: the first incomplete one.
            if let Some(i) = entry {
                assert_eq!(*i, complete, "cut at {cut}: entry named");
                assert!(e.to_string().contains(&format!("in entry {i}")), "{e}");
            }
            assert!(e.to_string().contains(&format!("byte {cut}")), "{e}");
        }
        other => panic!("cut at {cut}: expected a truncation error, got {other:?}"),
    }

    // Through the whole pipeline: every flow made only of complete entries gets the record it
    // gets from the whole file, in the same order, and the error names the offset.
    let (report, recs) = records(prefix);
    let msg = match &report.error {
        Some(e @ AnalyzeError::Har(HarError::Truncated { .. })) => e.to_string(),
        other => panic!("cut at {cut}: expected a truncation error, got {other:?}"),
    };
    assert!(msg.contains(&format!("truncated at byte {cut}")), "{msg}");
    let extents = flow_extents(whole);
    let expected: Vec<&Record> = whole_records
        .iter()
        .filter(|r| extents.get(&r.index).is_some_and(|last| *last < complete))
        .collect();
    let keep: std::collections::BTreeSet<u64> = expected.iter().map(|r| r.index).collect();
    let got: Vec<&Record> = recs.iter().filter(|r| keep.contains(&r.index)).collect();
    assert_eq!(got.len(), expected.len(), "cut at {cut}: records");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            (&g.url, g.verdict, g.reason, &g.preflight),
            (&e.url, e.verdict, e.reason, &e.preflight),
            "cut at {cut}: record {}",
            e.index
        );
        assert_eq!(g, e, "cut at {cut}");
    }
}

fn whole_har(text: &[u8]) -> (Vec<Exchange>, Vec<Record>) {
    let (r, whole) = har_exchanges(text);
    let meta = r.expect("the whole file reads");
    assert_eq!(meta.entries as usize, entry_ends(text).len());
    let (report, recs) = records(text);
    assert!(report.error.is_none());
    (whole, recs)
}

#[test]
fn har_cut_every_200th_and_at_tricky_places() {
    let text = data("samples/cors-scenarios.devtools.har");
    let ends = entry_ends(&text);
    let (whole, whole_records) = whole_har(&text);
    assert!(whole_records.len() > 50);
    let mut cuts: Vec<usize> = (1..200).map(|k| text.len() * k / 200).collect();
    // Right after the `[` of `log.entries` and of a header list; inside a string (just after
    // its opening quote and in its middle); just before an entry's closing brace and after it.
    let find = |pat: &[u8], from: usize| {
        text[from..]
            .windows(pat.len())
            .position(|w| w == pat)
            .map(|p| from + p)
            .unwrap()
    };
    let mid = text.len() / 2;
    cuts.push(find(b"\"entries\": [", 0) + 12);
    cuts.push(find(b"\"headers\": [", mid) + 12);
    let url = find(b"\"url\": \"", mid) + 8;
    cuts.extend([url, url + 1, url + 10]);
    let e = ends[ends.len() / 2];
    cuts.extend([e - 1, e, e + 1]);
    cuts.extend([1, 2, text.len() - 1]);
    for cut in cuts {
        check_har_cut(&text, cut, &ends, &whole, &whole_records);
    }
}

/// The sample has no escapes; the same file with every URL's slashes escaped (`\/`, the same
/// JSON string) reads the same, and cuts inside those escapes behave like any other cut.
#[test]
fn har_cut_inside_escapes() {
    let plain = data("samples/cors-scenarios.devtools.har");
    let text = String::from_utf8(plain.clone())
        .unwrap()
        .replace("\"url\": \"http://", "\"url\": \"http:\\/\\/")
        .into_bytes();
    assert!(text.len() > plain.len() + 100);
    let ends = entry_ends(&text);
    let (whole, whole_records) = whole_har(&text);
    let (plain_whole, plain_records) = whole_har(&plain);
    assert_eq!(whole, plain_whole, "escapes decode to the same strings");
    assert_eq!(whole_records.len(), plain_records.len());
    let escapes: Vec<usize> = text
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\\/")
        .map(|(i, _)| i)
        .collect();
    let picks = escapes.len() / 25;
    for &at in escapes.iter().step_by(picks.max(1)) {
        // Right after the backslash (inside the escape) and right after the escape.
        check_har_cut(&text, at + 1, &ends, &whole, &whole_records);
        check_har_cut(&text, at + 2, &ends, &whole, &whole_records);
    }
}

struct CaptureRun {
    result: Result<(), CaptureError>,
    exchanges: Vec<Exchange>,
}

fn capture(bytes: &[u8]) -> CaptureRun {
    let mut exchanges = Vec::new();
    let result = read_capture(
        Box::new(Cursor::new(bytes.to_vec())),
        Arc::from("cut.pcap"),
        &CaptureOptions::default(),
        &mut |x| exchanges.push(x),
        &mut Diagnostics::new(),
    )
    .map(|_| ());
    CaptureRun { result, exchanges }
}

/// A capture cut inside packet N gives exactly what the capture of its first N - 1 packets
/// gives (every earlier exchange; those whose response was cut off come without it) plus a
/// truncation error naming packet N and its offset.
#[test]
fn pcap_cut_at_many_offsets() {
    let bytes = data("tests/data/captures/chromium.pcap");
    let whole = capture(&bytes);
    assert!(whole.result.is_ok());
    assert!(whole.exchanges.len() > 100);
    let by_seq: BTreeMap<u64, &Exchange> = whole.exchanges.iter().map(|x| (x.seq, x)).collect();
    let mut previous = 0;
    let mut cuts: Vec<usize> = (1..200).map(|k| bytes.len() * k / 200).collect();
    cuts.extend([24, 25, 24 + 16, 24 + 17]);
    cuts.sort_unstable();
    for cut in cuts {
        let run = capture(&bytes[..cut]);
        let (packet, offset) = match &run.result {
            Err(CaptureError::Truncated { packet, offset }) => (*packet, *offset),
            // A cut exactly at a record boundary is a clean, shorter capture.
            Ok(()) => (0, cut as u64),
            Err(e) => panic!("cut at {cut}: {e}"),
        };
        if let Err(e) = &run.result {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("packet {packet} (byte {offset})")),
                "cut at {cut}: {msg}"
            );
            assert!(
                offset as usize <= cut && offset >= 24,
                "cut at {cut}: {msg}"
            );
            // The same capture ending cleanly before the cut packet gives the same exchanges.
            let clean = capture(&bytes[..offset as usize]);
            assert!(clean.result.is_ok(), "cut at {cut}: prefix to {offset}");
            assert_eq!(clean.exchanges, run.exchanges, "cut at {cut}");
        }
        // Every exchange is one of the whole capture's: the same request, and the same
        // response when it is there.
        for x in &run.exchanges {
            let w = by_seq[&x.seq];
            assert_eq!(x.request, w.request, "cut at {cut}: request {}", x.seq);
            if x.response.is_some() {
                assert_eq!(x.response, w.response, "cut at {cut}: response {}", x.seq);
            }
        }
        // Exchanges only ever accumulate as the cut moves on.
        assert!(run.exchanges.len() >= previous, "cut at {cut}");
        previous = run.exchanges.len();
    }
    assert!(previous > 100);

    // Through the pipeline the error reaches the report after the records.
    let cut = bytes.len() * 3 / 4 + 7;
    let (report, recs) = records(&bytes[..cut]);
    assert!(!recs.is_empty());
    let msg = report.error.expect("truncation reported").to_string();
    assert!(msg.contains("truncated capture: packet "), "{msg}");
}

/// Cuts inside the pcap file header: an error that says how much there was.
#[test]
fn pcap_cut_in_the_file_header() {
    let bytes = data("tests/data/captures/chromium.pcap");
    for cut in 1..24 {
        let run = capture(&bytes[..cut]);
        let msg = run
            .result
            .expect_err("a header cut is an error")
            .to_string();
        assert!(
            msg.contains("truncated") || msg.contains("header"),
            "cut at {cut}: {msg}"
        );
        assert!(run.exchanges.is_empty());
    }
}

/// A compressed capture (gzip, zstd, LZ4) damaged in each way its decompressor knows (tables below),
/// through the pipeline with one and with several capture threads: every record of what an
/// independent decoder (`gzip -dc`, libzstd's reader, lz4_flex's frame reader) can still decode comes out, then the fault as
/// an error naming the compressed and decompressed offsets (trailing garbage: a warning, no
/// error). Small (under one read block) and large (several blocks) captures, generated.
#[test]
fn damaged_compressed_capture_keeps_everything_before_the_damage() {
    use corscope::input::compressed::{DecodeError, Fault};
    use flate2::{write::GzEncoder, Compression};
    use std::io::{Read, Write};

    fn gz(b: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }
    fn zst(b: &[u8]) -> Vec<u8> {
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        c.include_checksum(true).unwrap();
        c.compress(b).unwrap()
    }
    /// What a decoder independent of the reader still gives (read until it fails).
    fn drain(mut d: impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0; 4096];
        while let Ok(n) = d.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }
    fn gzip_dc(z: &[u8]) -> Vec<u8> {
        drain(flate2::read::GzDecoder::new(z))
    }
    fn lz4(b: &[u8]) -> Vec<u8> {
        let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
        let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }
    /// lz4_flex's own frame reader (not `input::lz4`'s).
    fn lz4_dc(z: &[u8]) -> Vec<u8> {
        drain(lz4_flex::frame::FrameDecoder::new(z))
    }
    /// zstd's own reader (libzstd's one-frame-at-a-time loop, not `input::zstd`'s).
    fn zstd_dc(z: &[u8]) -> Vec<u8> {
        match zstd::stream::read::Decoder::new(z) {
            Ok(d) => drain(d.single_frame()),
            Err(_) => Vec::new(),
        }
    }
    fn run(
        bytes: &[u8],
        workers: usize,
    ) -> Result<(InputReport, usize), corscope::input::InputError> {
        let input = corscope::input::from_reader(
            Arc::from("d.pcap.z"),
            Box::new(Cursor::new(bytes.to_vec())),
        )?;
        let opts = Options {
            capture_workers: workers,
            ..Options::default()
        };
        let mut n = 0;
        let report = analyze_input(input, &opts, &mut |_| n += 1, InputReport::default());
        Ok((report, n))
    }

    /// Name, bytes, and the fault with the compressed offset it is found at (none: garbage).
    type Case = (&'static str, Vec<u8>, Option<(Fault, usize)>);
    /// A codec: its name, compressor, independent decoder, damage table (from the compressed
    /// stream) and its trailing-garbage warning.
    type Codec = (
        &'static str,
        fn(&[u8]) -> Vec<u8>,
        fn(&[u8]) -> Vec<u8>,
        fn(&[u8]) -> Vec<Case>,
        WarnKind,
    );
    fn flipped(z: &[u8], at: usize) -> Vec<u8> {
        let mut v = z.to_vec();
        v[at] ^= 1;
        v
    }
    fn with_garbage(z: &[u8]) -> Vec<u8> {
        [z, b"trailing junk\n"].concat()
    }
    let codecs: [Codec; 3] = [
        (
            "gzip",
            gz,
            gzip_dc,
            |z| {
                let n = z.len();
                vec![
                    (
                        "cut at 2/3",
                        z[..n * 2 / 3].to_vec(),
                        Some((Fault::Cut, n * 2 / 3)),
                    ),
                    (
                        "length field missing",
                        z[..n - 4].to_vec(),
                        Some((Fault::Cut, n - 4)),
                    ),
                    ("bad CRC", flipped(z, n - 6), Some((Fault::Checksum, n))),
                    ("bad length", flipped(z, n - 2), Some((Fault::Length, n))),
                    ("trailing garbage", with_garbage(z), None),
                ]
            },
            WarnKind::GzipTrailingGarbage,
        ),
        (
            "zstd",
            zst,
            zstd_dc,
            |z| {
                let n = z.len();
                vec![
                    (
                        "cut at 2/3",
                        z[..n * 2 / 3].to_vec(),
                        Some((Fault::Cut, n * 2 / 3)),
                    ),
                    (
                        "checksum missing",
                        z[..n - 4].to_vec(),
                        Some((Fault::Cut, n - 4)),
                    ),
                    // libzstd names where the checksum starts.
                    (
                        "bad checksum",
                        flipped(z, n - 2),
                        Some((Fault::Checksum, n - 4)),
                    ),
                    ("trailing garbage", with_garbage(z), None),
                ]
            },
            WarnKind::ZstdTrailingGarbage,
        ),
        (
            "lz4",
            lz4,
            lz4_dc,
            |z| {
                let n = z.len();
                vec![
                    (
                        "cut at 2/3",
                        z[..n * 2 / 3].to_vec(),
                        Some((Fault::Cut, n * 2 / 3)),
                    ),
                    (
                        "checksum missing",
                        z[..n - 4].to_vec(),
                        Some((Fault::Cut, n - 4)),
                    ),
                    (
                        "bad checksum",
                        flipped(z, n - 2),
                        Some((Fault::Checksum, n)),
                    ),
                    ("trailing garbage", with_garbage(z), None),
                ]
            },
            WarnKind::Lz4TrailingGarbage,
        ),
    ];
    for (target, concurrent) in [(2_000u64, 4usize), (3_000_000, 64)] {
        let spec = corscope::synth::PcapSpec {
            target_bytes: target,
            concurrent,
            ..corscope::synth::PcapSpec::default()
        };
        let mut plain = Vec::new();
        corscope::synth::write_pcap(&mut plain, &spec).unwrap();
        for (codec, compress, independent, damage, garbage) in &codecs {
            let z = compress(&plain);
            for workers in [1, 2] {
                for (name, bytes, fault) in damage(&z) {
                    let what = format!("{codec}, {target} bytes, {workers} workers, {name}");
                    // The fault as the decoder reports it: its kind and both offsets.
                    let check = |source: &std::io::Error, prefix: usize| {
                        let g = source
                            .get_ref()
                            .and_then(|e| e.downcast_ref::<DecodeError>())
                            .unwrap_or_else(|| panic!("{what}: {source}"));
                        let (f, at) = fault.as_ref().expect("a fault");
                        assert_eq!(&g.what, f, "{what}");
                        assert_eq!(g.decompressed, prefix as u64, "{what}");
                        assert_eq!(g.compressed, *at as u64, "{what}");
                    };
                    let prefix = independent(&bytes);
                    if prefix.is_empty() {
                        // Nothing decodes (a zstd block is whole or nothing): the input does
                        // not open, and the error says why.
                        match run(&bytes, workers) {
                            Err(corscope::input::InputError::Read { offset: 0, source }) => {
                                check(&source, 0)
                            }
                            other => panic!("{what}: {:?}", other.map(|r| r.1)),
                        }
                        continue;
                    }
                    let (want_report, want) = run(&prefix, workers).expect("plain capture");
                    let (report, got) = run(&bytes, workers).expect("format detected");
                    // `analyze_input` itself reports the decoding (not only `analyze` by path).
                    let decoding = format!("{codec} decompression");
                    assert_eq!(report.decoding.as_deref(), Some(&*decoding), "{what}");
                    assert_eq!(want_report.decoding, None, "{what}");
                    assert!(want > 0, "{what}");
                    assert_eq!(got, want, "{what}: records");
                    match (&fault, &report.error) {
                        (None, None) => {
                            assert_eq!(report.diagnostics.count(*garbage), 1, "{what}")
                        }
                        (
                            Some(_),
                            Some(AnalyzeError::Capture(CaptureError::Read { offset, source })),
                        ) => {
                            check(source, prefix.len());
                            assert_eq!(*offset, prefix.len() as u64, "{what}");
                        }
                        (f, e) => panic!(
                            "{what}: wanted {f:?}, got {e:?} (plain: {:?})",
                            want_report.error
                        ),
                    }
                }
            }
        }
    }
}
