//! Writes one record as one NDJSON line, byte for byte as `serde_json::to_writer` writes it
//! (through the record's `Serialize`), faster: the fields are written straight from the
//! record, in [`crate::report::FIELDS`] order, without serde's per-field dispatch; strings
//! are scanned eight bytes at a time for what JSON escapes; numbers go through serde_json
//! (its integer and shortest-float writers). Property tests compare lines with serde_json's.

use super::{PreflightInfo, Record, FIELDS};

/// Bytes JSON escapes: control bytes, `"` and `\` (`\b \t \n \f \r` by name, the rest
/// `\u00xx`, as serde_json does).
fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        b'\t' => out.extend_from_slice(b"\\t"),
        b'\n' => out.extend_from_slice(b"\\n"),
        0x0c => out.extend_from_slice(b"\\f"),
        b'\r' => out.extend_from_slice(b"\\r"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any of the eight bytes of `x` needs escaping (exact for "any": the borrow tricks
/// only misplace which byte).
fn any_needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let less_than_space = x.wrapping_sub(ONES * 0x20) & !x;
    let zero_byte = |y: u64| y.wrapping_sub(ONES) & !y;
    (less_than_space
        | zero_byte(x ^ (ONES * u64::from(b'"')))
        | zero_byte(x ^ (ONES * u64::from(b'\\'))))
        & HIGH
        != 0
}

/// Appends `s` as a JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if write_plain_str(out, s.as_bytes()) {
        return;
    }
    write_escaped_str(out, s);
}

/// Appends `bytes` in quotes when none of them needs an escape (nearly every string of a
/// record), copied and checked in one pass; whether it did (when not, `out` is as it was).
/// Most strings of a line are a few dozen bytes: the search, the copy (a `memcpy` call, and
/// another to pad a short tail) and two capacity checks per string were most of writing it.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn write_plain_str(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_storeu_si128};
    let len = bytes.len();
    out.reserve(len + 2);
    let at = out.len();
    let src = bytes.as_ptr();
    // SAFETY: `reserve` made room for `len + 2` bytes from `at`, and every store below is in
    // `at..at + len + 2` (the quotes at both ends, the bytes between, the overlapping blocks
    // and words within them); every load is within `bytes` (a block or word ending at
    // `len` is loaded only when `len` is at least its size). `set_len` comes only after all
    // `len + 2` bytes were written.
    unsafe {
        let dst = out.as_mut_ptr().add(at);
        dst.write(b'"');
        let d = dst.add(1);
        let escapes = if len >= 16 {
            let mut m = 0;
            let mut i = 0;
            while i + 16 <= len {
                let x = _mm_loadu_si128(src.add(i).cast::<__m128i>());
                m |= escape_mask_reg(x);
                _mm_storeu_si128(d.add(i).cast::<__m128i>(), x);
                i += 16;
            }
            if i < len {
                // The last sixteen bytes, over some already copied: stored again, the same.
                let x = _mm_loadu_si128(src.add(len - 16).cast::<__m128i>());
                m |= escape_mask_reg(x);
                _mm_storeu_si128(d.add(len - 16).cast::<__m128i>(), x);
            }
            m != 0
        } else if len >= 8 {
            let lo = src.cast::<u64>().read_unaligned();
            let hi = src.add(len - 8).cast::<u64>().read_unaligned();
            d.cast::<u64>().write_unaligned(lo);
            d.add(len - 8).cast::<u64>().write_unaligned(hi);
            any_needs_escape(lo) || any_needs_escape(hi)
        } else if len >= 4 {
            let lo = src.cast::<u32>().read_unaligned();
            let hi = src.add(len - 4).cast::<u32>().read_unaligned();
            d.cast::<u32>().write_unaligned(lo);
            d.add(len - 4).cast::<u32>().write_unaligned(hi);
            any_needs_escape(u64::from(lo) | u64::from(hi) << 32)
        } else {
            let mut any = false;
            for i in 0..len {
                let b = *src.add(i);
                any |= needs_escape(b);
                d.add(i).write(b);
            }
            any
        };
        if escapes {
            return false;
        }
        d.add(len).write(b'"');
        out.set_len(at + len + 2);
    }
    true
}

/// [`write_str`] of a string that has bytes to escape.
fn write_escaped_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut plain_from = 0;
    while let Some(i) = next_escape(bytes, plain_from) {
        out.extend_from_slice(&bytes[plain_from..i]);
        escape(out, bytes[i]);
        plain_from = i + 1;
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// The first byte at or after `from` that JSON escapes.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    return next_escape_sse2(bytes, from);
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    return next_escape_words(bytes, from);
}

/// [`next_escape`] eight bytes at a time (the last ones as one word too, padded with a byte
/// JSON never escapes: a byte-wise loop over them was a third of writing a string).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn next_escape_words(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let (words, tail) = rest.as_chunks::<8>();
    let mut pad = [b'a'; 8];
    pad[..tail.len()].copy_from_slice(tail);
    let at = words
        .iter()
        .chain(std::iter::once(&pad))
        .position(|w| any_needs_escape(u64::from_le_bytes(*w)))?;
    let word = words.get(at).unwrap_or(&pad);
    // The word holds a byte to escape (`any_needs_escape` is exact for "any").
    let i = word.iter().position(|&b| needs_escape(b))?;
    Some(from + at * 8 + i)
}

/// [`next_escape`] sixteen bytes at a time with SSE2 (every x86-64 has it): fewer
/// instructions a byte than the eight-byte words, and most of every line is its strings.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn next_escape_sse2(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let (blocks, tail) = rest.as_chunks::<16>();
    for (k, block) in blocks.iter().enumerate() {
        let m = escape_mask16(block);
        if m != 0 {
            return Some(from + k * 16 + m.trailing_zeros() as usize);
        }
    }
    if tail.is_empty() {
        return None;
    }
    let m = match rest.last_chunk::<16>() {
        // The last sixteen bytes, over the blocks' last bytes already read: their bits are
        // shifted out (a copy into a padded block was a call for every string).
        Some(last) => escape_mask16(last) >> (16 - tail.len()),
        None => {
            let mut pad = [b'a'; 16];
            pad[..tail.len()].copy_from_slice(tail);
            escape_mask16(&pad)
        }
    };
    (m != 0).then(|| from + blocks.len() * 16 + m.trailing_zeros() as usize)
}

/// Bit `i` set for each byte `i` of `block` that JSON escapes.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn escape_mask16(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::_mm_set_epi64x;
    let (lo, hi) = block.split_at(8);
    let half = |h: &[u8]| i64::from_le_bytes(h.try_into().unwrap_or_default());
    // SAFETY: the intrinsic only computes on registers, and needs SSE2, which every x86-64
    // has (the `target_feature` cfg of the callers holds it).
    escape_mask_reg(unsafe { _mm_set_epi64x(half(hi), half(lo)) })
}

/// [`escape_mask16`] of sixteen bytes in a register.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn escape_mask_reg(x: std::arch::x86_64::__m128i) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: these intrinsics only compute on registers, and need SSE2, which every x86-64
    // has (the `target_feature` cfg of the callers holds it).
    unsafe {
        // A byte below 0x20 is one whose (unsigned) maximum with 0x1f is 0x1f.
        let below_space = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
        let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(below_space, _mm_or_si128(quote, backslash))) as u32
    }
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A number (or `null` for `None`, and for a float that is not finite) exactly as serde_json
/// writes it.
fn write_number<T: serde::Serialize>(out: &mut Vec<u8>, n: T) {
    // Writing a number to a Vec cannot fail: serde_json's errors here come only from the
    // writer, and a Vec's never errs.
    let _ = serde_json::to_writer(&mut *out, &n);
}

/// A word of a closed set (verdict, credentials, preflight source): identifiers JSON never
/// escapes (`words_need_no_escape` checks the sets).
fn write_word(out: &mut Vec<u8>, w: &str) {
    write_bytes_word(out, w.as_bytes());
}

/// [`write_word`] of bytes known to need no escape.
fn write_bytes_word(out: &mut Vec<u8>, w: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(w);
    out.push(b'"');
}

fn write_preflight(out: &mut Vec<u8>, p: Option<&PreflightInfo>) {
    let Some(p) = p else {
        out.extend_from_slice(b"null");
        return;
    };
    out.extend_from_slice(b"{\"status\":");
    write_number(out, p.status);
    out.extend_from_slice(b",\"index\":");
    write_number(out, p.index);
    out.extend_from_slice(b",\"source\":");
    write_word(out, p.source.as_str());
    out.push(b'}');
}

/// Bytes of a line besides its strings' (field names, numbers, words), rounded up: the line
/// is sized once.
const LINE_OVERHEAD: usize = 768;

/// The record's line length, near enough to size its buffer once.
pub(crate) fn line_len_hint(r: &Record) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    LINE_OVERHEAD
        + r.source.len()
        + r.time.len()
        + opt(&r.origin)
        + r.url.len()
        + r.method.len()
        + opt(&r.failed_parameter)
        + opt(&r.message)
        + opt(&r.fix)
        + opt(&r.firefox_message)
        + opt(&r.safari_message)
        + r.final_url.len()
        + opt(&r.note)
        + r.location.len()
}

/// Length of [`KEYS`]: each name of [`FIELDS`] with its four bytes around it.
const KEYS_LEN: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < FIELDS.len() {
        n += FIELDS[i].name.len() + 4;
        i += 1;
    }
    n
};

/// Each field's key as a line writes it, one after another: `{"source":`, `,"index":`, …,
/// made from [`FIELDS`] at compile time, so a line writes each key with one copy (a push per
/// punctuation byte and a copy of the name cost more than the copy of the rest of the line).
const KEYS: [u8; KEYS_LEN] = {
    let mut out = [0u8; KEYS_LEN];
    let (mut at, mut i) = (0, 0);
    while i < FIELDS.len() {
        out[at] = if i == 0 { b'{' } else { b',' };
        out[at + 1] = b'"';
        at += 2;
        let name = FIELDS[i].name.as_bytes();
        let mut j = 0;
        while j < name.len() {
            out[at] = name[j];
            at += 1;
            j += 1;
        }
        out[at] = b'"';
        out[at + 1] = b':';
        at += 2;
        i += 1;
    }
    out
};

/// Appends `r` as one JSON line (with its `\n`) to `out`: the names are [`FIELDS`]'s (the
/// contract's one list), each with its value written by the writer at the same place below,
/// in the order of the record's `Serialize`, which the tests hold equal. Field names are
/// identifiers, which JSON never escapes (`field_names_need_no_escape`).
pub(crate) fn write_record(out: &mut Vec<u8>, r: &Record) {
    /// Writes each field's key and then its value, in order; as many writers as fields, or
    /// this does not compile. Written out in line (it was a table of closures called in a
    /// loop): each key's length is then a constant, copied without a call.
    macro_rules! fields {
        ($o:ident; $($value:expr),* $(,)?) => {{
            const COUNT: usize = [$(stringify!($value)),*].len();
            const _: () = assert!(COUNT == FIELDS.len(), "one writer a field");
            let (mut at, mut i) = (0, 0);
            $(
                let end = at + FIELDS[i].name.len() + 4;
                out.extend_from_slice(&KEYS[at..end]);
                (at, i) = (end, i + 1);
                let $o: &mut Vec<u8> = &mut *out;
                $value;
            )*
            // Both end past the last field.
            let _ = (at, i);
        }};
    }
    fields![o;
        write_str(o, &r.source),
        write_number(o, r.index),
        // Digits and punctuation only (`second_bytes`): nothing to escape or check.
        write_bytes_word(o, &r.time.0),
        write_opt_str(o, r.origin.as_deref()),
        write_str(o, &r.url),
        write_str(o, &r.method),
        write_word(o, r.credentials.as_str()),
        write_preflight(o, r.preflight.as_ref()),
        write_word(o, r.verdict.as_str()),
        write_opt_str(o, r.reason),
        write_opt_str(o, r.failed_parameter.as_deref()),
        write_opt_str(o, r.message.as_deref()),
        write_opt_str(o, r.fix.as_deref()),
        write_word(o, r.firefox_verdict.as_str()),
        write_opt_str(o, r.firefox_reason),
        write_opt_str(o, r.firefox_message.as_deref()),
        write_word(o, r.safari_verdict.as_str()),
        write_opt_str(o, r.safari_reason),
        write_opt_str(o, r.safari_message.as_deref()),
        o.extend_from_slice(if r.browsers_agree { b"true" } else { b"false" }),
        write_number(o, r.status),
        write_str(o, &r.final_url),
        write_number(o, r.redirects),
        write_str(o, r.recorded_by),
        write_opt_str(o, r.note.as_deref()),
        write_str(o, &r.location),
        write_number(o, r.wait_ms),
        write_number(o, r.preflight_wait_ms),
    ];
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::resolve::{Credentials, Verdict};
    use crate::report::PreflightSource;
    use proptest::prelude::*;

    fn serde_json_line<T: serde::Serialize>(v: &T) -> Vec<u8> {
        let mut want = serde_json::to_vec(v).unwrap();
        want.push(b'\n');
        want
    }

    /// Any text, with the bytes JSON escapes over-represented.
    fn text() -> impl Strategy<Value = String> {
        "(\\PC|[\\x00-\\x1f\"\\\\\\x7f]){0,40}"
    }

    /// Reason names and the recorder are `&'static str`: one of these.
    const STATIC: &[&str] = &["AllowOriginMismatch", "chromium", "a \"quoted\"\tname", ""];

    prop_compose! {
        fn record()(
            s in proptest::collection::vec(text(), 6),
            o in proptest::collection::vec(proptest::option::of(text()), 7),
            statics in proptest::collection::vec(proptest::sample::select(STATIC), 4),
            reasons in proptest::collection::vec(any::<bool>(), 3),
            (index, status, redirects, agree) in (any::<u64>(), proptest::option::of(any::<u16>()), any::<usize>(), any::<bool>()),
            preflight in proptest::option::of((proptest::option::of(any::<u16>()), proptest::option::of(any::<u64>()), 0..3usize)),
            (wait_ms, preflight_wait_ms) in (proptest::option::of(proptest::num::f64::ANY), proptest::option::of(proptest::num::f64::ANY)),
            (v, fv, sv, cred) in (0..4usize, 0..4usize, 0..4usize, 0..3usize),
        ) -> Record {
            let reason = |i: usize| reasons[i].then_some(statics[i]);
            Record {
                source: s[0].as_str().into(),
                index,
                time: crate::report::RecordTime::new(index as i64),
                origin: o[0].clone(),
                url: s[2].clone(),
                method: s[3].clone(),
                credentials: Credentials::ALL[cred],
                preflight: preflight.map(|(status, index, k)| PreflightInfo {
                    status,
                    index,
                    source: PreflightSource::ALL[k],
                }),
                verdict: Verdict::ALL[v],
                reason: reason(0),
                failed_parameter: o[1].clone(),
                message: o[2].clone(),
                fix: o[3].clone(),
                firefox_verdict: Verdict::ALL[fv],
                firefox_reason: reason(1),
                firefox_message: o[4].clone(),
                safari_verdict: Verdict::ALL[sv],
                safari_reason: reason(2),
                safari_message: o[5].clone(),
                browsers_agree: agree,
                status,
                final_url: s[4].clone(),
                redirects,
                recorded_by: statics[3],
                note: o[6].clone(),
                location: s[5].clone(),
                wait_ms,
                preflight_wait_ms,
                flow: None,
                ndjson: None,
            }
        }
    }

    proptest! {
        /// Any string, escaped as serde_json escapes it.
        #[test]
        fn strings_as_serde_json_writes_them(s in text()) {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            out.push(b'\n');
            prop_assert_eq!(out, serde_json_line(&s));
        }

        /// Any record, written as serde_json writes it through the record's `Serialize`:
        /// the same field names in the same order, the same values.
        #[test]
        fn records_as_serde_json_writes_them(r in record()) {
            let mut out = Vec::new();
            write_record(&mut out, &r);
            let want = serde_json_line(&r);
            prop_assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&want));
        }
    }

    #[test]
    fn every_escape() {
        let all: String = (0u8..0x80).map(char::from).collect();
        for n in 0..all.len() {
            let mut out = Vec::new();
            write_str(&mut out, &all[n..]);
            out.push(b'\n');
            assert_eq!(out, serde_json_line(&&all[n..]), "from {n}");
        }
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b'a', b'b', b, b'c', b'd', b'e', b'f', b'g']);
            assert_eq!(any_needs_escape(word), needs_escape(b), "{b:#04x}");
        }
    }

    proptest! {
        /// Both scans find the first byte to escape, as a byte-wise search does, from any
        /// start, in strings of every length around the block sizes.
        #[test]
        fn next_escape_is_the_first_byte_to_escape(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'a'), Just(b'"'), Just(b'\\'), any::<u8>()], 0..70),
            from in 0..72usize,
        ) {
            let want = bytes
                .get(from..)
                .and_then(|r| r.iter().position(|&b| needs_escape(b)))
                .map(|i| from + i);
            prop_assert_eq!(next_escape_words(&bytes, from), want);
            prop_assert_eq!(next_escape(&bytes, from), want);
        }
    }

    #[test]
    fn field_names_need_no_escape() {
        for f in FIELDS {
            let mut escaped = Vec::new();
            write_str(&mut escaped, f.name);
            assert_eq!(
                escaped,
                format!("\"{}\"", f.name).into_bytes(),
                "{}",
                f.name
            );
        }
    }

    #[test]
    fn words_need_no_escape() {
        let words = Verdict::NAMES
            .iter()
            .chain(&Credentials::NAMES)
            .chain(&PreflightSource::NAMES);
        for w in words {
            assert!(!w.bytes().any(needs_escape), "{w}");
        }
    }
}
