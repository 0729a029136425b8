//! Response-head syntax, read between the input readers (step 4) and the engine: what a
//! response head's raw bytes show beyond its parsed header list — lines the browsers read
//! differently, NUL and bare CR bytes, the head's size — so the engine can derive each
//! browser's own view of the headers (`cors::headview`, rules in `cors::browser`). Captures
//! classify every raw line; a HAR carries only the recorder's parse and `headersSize`.

use crate::model::{trim_http_ws, Headers};

/// How one raw header line (after the status line) is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineClass {
    /// `name: value` with a token name right before the colon.
    Field,
    /// Whitespace between a token name and the colon (`Name : value`).
    SpaceBeforeColon,
    /// Starts with SP or HT: an obs-fold continuation of the line before.
    Continuation,
    /// No colon at all.
    NoColon,
    /// Nothing before the colon.
    EmptyName,
    /// Bytes other than token characters in the name (inner spaces, `(`, controls, …).
    BadName,
}

/// Heads at least this large are kept as evidence even when every line is plain: below the
/// smallest browser limit (WebKitGTK's 64 KiB; checked by a test in `cors::browser`).
pub(crate) const LARGE_HEAD: u64 = 16 * 1024;

/// What one response head's raw form shows beyond its header list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeadSyntax {
    /// The head's size in bytes, status line through the blank line: exact from a capture, the
    /// HAR's `headersSize` otherwise.
    pub bytes: Option<u64>,
    /// Captures: the head was longer than corscope keeps (`--max-head-bytes`), so its lines were
    /// not parsed; `bytes` is its size where the capture showed its end, else a lower bound.
    pub cut: bool,
    /// Whether `bytes` is only a lower bound (the head's end was never seen).
    pub bytes_at_least: bool,
    /// Indexes into the response's header list of lines written with whitespace before the
    /// colon (the list itself keeps them, name trimmed, as Chromium does).
    pub space_before_colon: Vec<u32>,
    /// Lines every browser drops (no colon, empty or non-token name); not in the header list.
    pub dropped_lines: u32,
    /// Continuation lines, joined to the line before with one space (as all three browsers do).
    pub folded_lines: u32,
    /// A NUL byte somewhere in the head.
    pub nul: bool,
    /// A CR that does not end a line.
    pub bare_cr: bool,
    /// HARs: bytes of `headersSize` that the listed headers, written plainly, do not account
    /// for, beyond the smallest such excess in the same file (a server's constant habit, such
    /// as a trailing space after one value). Non-zero: some line was not written plainly.
    pub unexplained_bytes: Option<i64>,
}

impl HeadSyntax {
    /// Whether anything here could make a browser read the head differently from the header
    /// list (otherwise it is not kept, and costs nothing).
    pub(crate) fn is_notable(&self) -> bool {
        self.cut
            || self.nul
            || self.bare_cr
            || !self.space_before_colon.is_empty()
            || self.unexplained_bytes.is_some_and(|b| b != 0)
            || self.bytes.is_some_and(|b| b >= LARGE_HEAD)
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The class of one header line (without its line end).
pub(crate) fn classify_line(line: &[u8]) -> LineClass {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return LineClass::Continuation;
    }
    let Some(colon) = line.iter().position(|b| *b == b':') else {
        return LineClass::NoColon;
    };
    let name = &line[..colon];
    let trimmed_len = name
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    let core = &name[..trimmed_len];
    if core.is_empty() {
        LineClass::EmptyName
    } else if !core.iter().copied().all(is_tchar) {
        LineClass::BadName
    } else if trimmed_len < name.len() {
        LineClass::SpaceBeforeColon
    } else {
        LineClass::Field
    }
}

/// Byte tables for [`is_plain`]: (token character, allowed in a plain value: not a control
/// byte other than HT, not DEL).
const PLAIN_BYTES: [(bool, bool); 256] = {
    let mut t = [(false, false); 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let tchar = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        t[i] = (tchar, (b >= 0x20 && b != 0x7f) || b == b'\t');
        i += 1;
    }
    t
};

/// Whether every header line of a head is a plain field (`token:value`, the value free of
/// control bytes but HT) and the head holds no NUL: then the parser's list is the one every
/// browser reads. One pass over the bytes with a table (it runs on every response head; the
/// line-by-line classification it stands for was a visible share of each), the same answer
/// as classifying each of [`header_lines`] (checked by a property test).
fn is_plain(head: &[u8]) -> bool {
    if memchr::memchr(0, head).is_some() {
        return false;
    }
    // Header lines start after the status line.
    let Some(nl) = memchr::memchr(b'\n', head) else {
        return true;
    };
    let mut i = nl + 1;
    loop {
        let name_end = i + head[i..]
            .iter()
            .take_while(|b| PLAIN_BYTES[**b as usize].0)
            .count();
        if name_end == i {
            // Not a token start: only the blank line (LF, CRLF, or a CR or nothing at the end)
            // keeps the head plain; anything else is an odd line.
            return matches!(
                head.get(i..),
                Some([] | [b'\n', ..] | [b'\r'] | [b'\r', b'\n', ..])
            );
        }
        if head.get(name_end) != Some(&b':') {
            return false;
        }
        let value = &head[name_end + 1..];
        let end = plain_value_len(value);
        i = name_end + 1 + end;
        match &value[end..] {
            [] | [b'\r'] => return true,
            [b'\n', ..] => i += 1,
            [b'\r', b'\n', ..] => i += 2,
            _ => return false,
        }
    }
}

/// How many bytes at the start of `value` may stand in a plain value (see [`PLAIN_BYTES`]):
/// eight at a time while none is a control byte or DEL, then one at a time (HT is allowed).
fn plain_value_len(value: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut end = 0;
    while let Some(Ok(word)) = value.get(end..end + 8).map(<[u8; 8]>::try_from) {
        let w = u64::from_ne_bytes(word);
        // A byte below 0x20 (the high bit of a byte below 0x80 set by the subtraction), or a
        // DEL (a zero byte after the xor): exact tests for "some byte is".
        let control = w.wrapping_sub(0x20 * ONES) & !w & HIGH;
        let del = (w ^ (0x7f * ONES)).wrapping_sub(ONES) & !(w ^ (0x7f * ONES)) & HIGH;
        if control | del != 0 {
            break;
        }
        end += 8;
    }
    end + value[end..]
        .iter()
        .take_while(|b| PLAIN_BYTES[**b as usize].1)
        .count()
}

/// A response head read line by line: the header list every line class contributes to, and
/// the syntax evidence.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// Plain and whitespace-before-colon lines (name trimmed), continuations joined with one
    /// space; the lines every browser drops left out.
    pub headers: Headers,
    pub syntax: HeadSyntax,
}

/// Reads a response head (status line through the blank line). `None` when every header line
/// is a plain field and there is no NUL or bare CR: then the caller's own parse is the one
/// every browser makes, and nothing is allocated.
pub(crate) fn scan_response_head(head: &[u8]) -> Option<Scanned> {
    if is_plain(head) {
        return None;
    }
    let mut syntax = HeadSyntax {
        bytes: Some(head.len() as u64),
        nul: memchr::memchr(0, head).is_some(),
        ..HeadSyntax::default()
    };
    // (name, value) pairs, a continuation extending the last value.
    let mut fields: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut last_kept = false;
    for line in header_lines(head) {
        if memchr::memchr(b'\r', line).is_some() {
            syntax.bare_cr = true;
        }
        match classify_line(line) {
            LineClass::Continuation => {
                syntax.folded_lines += 1;
                if let (true, Some((_, v))) = (last_kept, fields.last_mut()) {
                    let rest = trim_http_ws(line);
                    while v.last().is_some_and(|b| matches!(b, b' ' | b'\t')) {
                        v.pop();
                    }
                    if !rest.is_empty() {
                        if !trim_http_ws(v).is_empty() {
                            v.push(b' ');
                        }
                        v.extend_from_slice(rest);
                    }
                }
            }
            class @ (LineClass::Field | LineClass::SpaceBeforeColon) => {
                let colon = line.iter().position(|b| *b == b':').unwrap_or(line.len());
                let name = trim_http_ws(&line[..colon]);
                let value = line.get(colon + 1..).unwrap_or(&[]);
                if class == LineClass::SpaceBeforeColon {
                    syntax.space_before_colon.push(fields.len() as u32);
                }
                fields.push((name.to_vec(), value.to_vec()));
                last_kept = true;
            }
            LineClass::NoColon | LineClass::EmptyName | LineClass::BadName => {
                syntax.dropped_lines += 1;
                last_kept = false;
            }
        }
    }
    let bytes = fields.iter().map(|(n, v)| n.len() + v.len()).sum();
    let mut headers = Headers::with_capacity(fields.len(), bytes);
    for (n, v) in &fields {
        headers.push(n, v);
    }
    Some(Scanned { headers, syntax })
}

/// [`scan_response_head`] for a head a parser has already split: `fields` are its header
/// lines' (name, value) slices of `head`, in order, names checked to be tokens and values free
/// of control bytes but HT and of DEL (what `httparse` gives; folded values may span lines).
/// When they tile the head line by line (each name at a line start, right before its colon,
/// only blanks around each value, then the line end, and the blank line last) the head is
/// plain without a pass over its bytes (the parser must refuse NUL bytes, as httparse does); anything else is scanned as before. A property test
/// in `capture::http` checks that tiling implies [`is_plain`] for httparse's fields.
pub(crate) fn scan_parsed_response_head<'a, I>(head: &'a [u8], fields: I) -> Option<Scanned>
where
    I: Iterator<Item = (&'a [u8], &'a [u8])>,
{
    if fields_tile_plainly(head, fields) {
        return None;
    }
    scan_response_head(head)
}

/// Whether `fields` tile `head` as plain lines (see [`scan_parsed_response_head`]).
pub(crate) fn fields_tile_plainly<'a, I>(head: &'a [u8], fields: I) -> bool
where
    I: Iterator<Item = (&'a [u8], &'a [u8])>,
{
    // No NUL test: the parser refuses a NUL anywhere in what it parsed (httparse does: a
    // status or header line with one is an error), and tiled fields cover the whole head.
    let Some(nl) = memchr::memchr(b'\n', head) else {
        return false;
    };
    let base = head.as_ptr() as usize;
    let blanks = |from: usize| {
        from + head
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count()
    };
    let mut pos = nl + 1;
    let mut lines = 0;
    for (name, value) in fields {
        lines += 1;
        let at = (name.as_ptr() as usize).wrapping_sub(base);
        let colon = pos + name.len();
        if at != pos || name.is_empty() || head.get(colon) != Some(&b':') {
            return false;
        }
        let v = (value.as_ptr() as usize).wrapping_sub(base);
        // Only blanks between the colon and the value.
        if v <= colon || v > head.len() || blanks(colon + 1) < v {
            return false;
        }
        let end = blanks(v + value.len());
        pos = match head.get(end..end + 2) {
            Some([b'\r', b'\n']) => end + 2,
            Some([b'\n', ..]) => end + 1,
            _ if head.get(end) == Some(&b'\n') => end + 1,
            _ => return false,
        };
    }
    // Every line end is where the walk found one (the status line's, each field's, the blank
    // line's): none inside a value, as a folded line would put there. One vector count over
    // the head, not a search per value.
    matches!(head.get(pos..), Some(b"\r\n" | b"\n"))
        && memchr::memchr_iter(b'\n', head).count() == lines + 2
}

/// The header lines of a head: after the status line, up to the blank line, line ends (LF or
/// CRLF) removed.
fn header_lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|b| *b == b'\n')
        .skip(1)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !l.is_empty())
}

/// A HAR's listed header names, where some keep whitespace before where the colon was
/// (`"Access-Control-Allow-Origin "`): the list with those names trimmed, and their indexes
/// (`HeadSyntax::space_before_colon`). `None` when every name is plain.
pub(crate) fn trim_listed_names(headers: &Headers) -> Option<(Headers, Vec<u32>)> {
    let spaced = |n: &[u8]| {
        let line = [n, b":"].concat();
        classify_line(&line) == LineClass::SpaceBeforeColon
    };
    if !headers.iter().any(|(n, _)| spaced(n)) {
        return None;
    }
    let mut out = Headers::with_capacity(headers.len(), headers.byte_len());
    let mut marked = Vec::new();
    for (i, (n, v)) in headers.iter().enumerate() {
        if spaced(n) {
            marked.push(i as u32);
        }
        out.push(trim_http_ws(n), v);
    }
    Some((out, marked))
}

/// Whether a HAR's `httpVersion` is HTTP/1.x, whose heads are text lines (HTTP/2 and 3 have
/// no raw lines, and their `headersSize` is not a head size).
pub(crate) fn is_http1(version: &str) -> bool {
    let v = version.trim().as_bytes();
    v.len() >= 6 && v[..6].eq_ignore_ascii_case(b"HTTP/1")
}

/// What a head holding exactly a HAR entry's listed headers needs when every line is written
/// plainly (`Name: value` CRLF, status line and blank line included); `None` unless the
/// version is HTTP/1.x. `headersSize` minus this is the entry's excess.
pub(crate) fn har_plain_head_size<'a>(
    version: &str,
    status_text: &str,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<u64> {
    if !is_http1(version) {
        return None;
    }
    // "HTTP/1.1 200 OK\r\n": version, space, three digits, space, text, CRLF.
    let status_line = version.trim().len() + 1 + 3 + 1 + status_text.len() + 2;
    let lines: usize = headers.map(|(n, v)| n.len() + 2 + v.len() + 2).sum();
    Some((status_line + lines + 2) as u64)
}

/// A test response head: a status line, `lines`, the blank line; CRLF or LF line ends.
#[cfg(test)]
pub(crate) fn test_head(lines: &[Vec<u8>], crlf: bool) -> Vec<u8> {
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut head = b"HTTP/1.1 200 OK".to_vec();
    for l in lines {
        head.extend_from_slice(eol);
        head.extend_from_slice(l);
    }
    head.extend_from_slice(eol);
    head.extend_from_slice(eol);
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn line_classes() {
        use LineClass::*;
        let cases: &[(&[u8], LineClass)] = &[
            (b"Access-Control-Allow-Origin: x", Field),
            (b"a:x", Field),
            (b"Access-Control-Allow-Origin : x", SpaceBeforeColon),
            (b"Access-Control-Allow-Origin\t: x", SpaceBeforeColon),
            (b" x", Continuation),
            (b"\tx", Continuation),
            (b"Garbage line", NoColon),
            (b": foo", EmptyName),
            (b"  : foo", Continuation),
            (b"X(Bad): 1", BadName),
            (b"X Bad: 1", BadName),
            (b"X-\x01: 1", BadName),
        ];
        for (line, want) in cases {
            assert_eq!(
                classify_line(line),
                *want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    fn scan(lines: &[&str]) -> Option<Scanned> {
        let head = format!("HTTP/1.1 200 OK\r\n{}\r\n\r\n", lines.join("\r\n"));
        scan_response_head(head.as_bytes())
    }

    fn listed(s: &Scanned) -> Vec<(String, String)> {
        s.headers
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into(),
                    String::from_utf8_lossy(trim_http_ws(v)).into(),
                )
            })
            .collect()
    }

    #[test]
    fn plain_heads_cost_nothing() {
        assert!(scan(&["A: 1", "Access-Control-Allow-Origin: *"]).is_none());
        // LF-only line ends are plain too.
        assert!(scan_response_head(b"HTTP/1.1 200 OK\nA: 1\n\n").is_none());
    }

    #[test]
    fn odd_lines_are_classified_and_listed_as_chromium_reads_them() {
        let s = scan(&[
            "Access-Control-Allow-Origin : http://a",
            "X-A: 1",
            " 2",
            "Garbage",
            "X(Bad): 1",
            "Y:",
            "\tz",
        ])
        .unwrap();
        assert_eq!(
            listed(&s),
            [
                ("Access-Control-Allow-Origin".into(), "http://a".into()),
                ("X-A".into(), "1 2".into()),
                ("Y".into(), "z".into()),
            ]
        );
        assert_eq!(s.syntax.space_before_colon, [0]);
        assert_eq!((s.syntax.dropped_lines, s.syntax.folded_lines), (2, 2));
        assert!(!s.syntax.nul && !s.syntax.bare_cr && s.syntax.is_notable());
    }

    #[test]
    fn control_bytes_stay_in_the_value() {
        let s = scan(&["Access-Control-Allow-Origin: http://a\x01"]).unwrap();
        assert_eq!(
            s.headers.first("access-control-allow-origin"),
            Some(&b" http://a\x01"[..])
        );
        assert!(!s.syntax.is_notable());
    }

    #[test]
    fn nul_and_bare_cr_are_flagged() {
        let s = scan_response_head(b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n").unwrap();
        assert!(s.syntax.nul && s.syntax.is_notable());
        let s = scan_response_head(b"HTTP/1.1 200 OK\r\nX: a\rY: b\r\n\r\n").unwrap();
        assert!(s.syntax.bare_cr);
    }

    #[test]
    fn listed_names_with_trailing_whitespace_are_trimmed_and_marked() {
        let h: Headers = [("A", "1"), ("Access-Control-Allow-Origin ", "x")]
            .into_iter()
            .collect();
        let (t, marked) = trim_listed_names(&h).unwrap();
        assert_eq!(t.first("access-control-allow-origin"), Some(&b"x"[..]));
        assert_eq!(marked, [1]);
        assert!(trim_listed_names(&t).is_none());
    }

    #[test]
    fn har_plain_size_is_a_plain_head_s_size() {
        let head = "HTTP/1.1 200 OK\r\nA: 1\r\nBb: 22\r\n\r\n";
        let h = [("A", "1"), ("Bb", "22")];
        let size = Some(head.len() as u64);
        assert_eq!(har_plain_head_size("HTTP/1.1", "OK", h.into_iter()), size);
        assert_eq!(har_plain_head_size("h2", "", h.into_iter()), None);
    }

    proptest! {
        /// The one-pass plainness test answers as classifying every line does.
        #[test]
        fn plain_test_agrees_with_line_classes(
            lines in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        4 => proptest::sample::select(b"aZ-:; \t\r\x00\x01\x7f\xc3(".to_vec()),
                        1 => Just(b'\n'),
                    ],
                    0..24,
                ),
                0..6,
            ),
            crlf in any::<bool>(),
        ) {
            let head = test_head(&lines, crlf);
            // The reference: every line classified (as `scan_response_head` used to).
            let by_lines = |h: &[u8]| {
                memchr::memchr(0, h).is_none()
                    && header_lines(h).all(|l| {
                        classify_line(l) == LineClass::Field
                            && !l.iter().any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
                    })
            };
            // Every prefix too: heads cut anywhere (a bare CR or nothing at the end).
            for cut in 0..=head.len() {
                let h = &head[..cut];
                prop_assert_eq!(is_plain(h), by_lines(h), "{:?}", String::from_utf8_lossy(h));
            }
        }

        /// Any bytes: no panic, and a plain head (per `classify_line`) is left to the caller.
        #[test]
        fn scanning_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
            head.extend_from_slice(&body);
            head.extend_from_slice(b"\r\n\r\n");
            if let Some(s) = scan_response_head(&head) {
                prop_assert!(s.syntax.bytes == Some(head.len() as u64));
                prop_assert!(s.syntax.space_before_colon.iter().all(|i| (*i as usize) < s.headers.len()));
            }
        }

        /// Folding a value onto a continuation line reads as the value with one space.
        #[test]
        fn folds_join_with_one_space(a in "[a-z]{1,8}", b in "[a-z]{1,8}", ws in "[ \t]{1,3}") {
            let s = scan(&[&format!("X: {a}"), &format!("{ws}{b}")]).unwrap();
            prop_assert_eq!(listed(&s), vec![("X".to_string(), format!("{a} {b}"))]);
        }
    }
}
