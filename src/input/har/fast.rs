//! A direct reader for entries in the plain shape almost every exporter writes: the
//! [`RawEntry`] that serde's derived reader would make, in about a third of its
//! instructions (serde went through a field visitor, a seed and an `Option` for every key
//! and value, and scanned each string twice).
//!
//! It gives up (`None`) on anything it does not read exactly as serde would: escapes, a key
//! given twice, a value of an unexpected type, an unusual number, deep nesting. Then the
//! entry goes through serde, so the result, every error and every warning stay serde's; the
//! test beside it checks the two against each other on mutated entries.

use std::borrow::Cow;

use super::{byte_below, byte_is, find_in_words};
use super::{RawEntry, RawHeader, RawInitiator, RawRequest, RawResponse, RawTimings};

/// The entry in `json`, or `None` to leave it to serde.
pub(super) fn entry(json: &str) -> Option<RawEntry<'_>> {
    let mut p = P {
        s: json,
        b: json.as_bytes(),
        i: 0,
    };
    let e = p.entry()?;
    p.ws();
    (p.i == p.b.len()).then_some(e)
}

/// A number as serde reads it: an integer, or a float (a fraction or an exponent).
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

/// Objects and arrays nested deeper than this inside a skipped value are left to serde.
const MAX_SKIP_DEPTH: usize = 32;

struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> P<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A string without escapes or control characters (serde rejects the latter).
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = &self.b[start..];
        let special = |c: &u8| *c == b'"' || *c == b'\\' || *c < 0x20;
        let marks = |w| byte_is(w, b'"') | byte_is(w, b'\\') | byte_below(w, 0x20);
        let len = match find_in_words(rest, usize::MAX, marks) {
            Ok(i) => i,
            Err(at) => at + rest[at..].iter().position(special)?,
        };
        if self.b[start + len] != b'"' {
            return None;
        }
        self.i = start + len + 1;
        // Quotes are ASCII, so both ends are character boundaries.
        self.s.get(start..start + len)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// `null` (true) or not (false, nothing read).
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(true);
        }
        Some(false)
    }

    /// A number in JSON's grammar, as serde would read it where it reads exactly.
    fn number(&mut self) -> Option<Num> {
        self.ws();
        let negative = self.b.get(self.i) == Some(&b'-');
        if negative {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let start = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            &p.b[start..p.i]
        };
        let int = digits(self);
        if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
            return None;
        }
        let mut frac: &[u8] = &[];
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            frac = digits(self);
            if frac.is_empty() {
                return None;
            }
        }
        let mut exp: i32 = 0;
        let mut has_exp = false;
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            has_exp = true;
            let minus = match self.b.get(self.i) {
                Some(b'-') => {
                    self.i += 1;
                    true
                }
                Some(b'+') => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            let e = digits(self);
            if e.is_empty() || e.len() > 3 {
                return None;
            }
            exp = e.iter().fold(0, |a, d| a * 10 + i32::from(d - b'0'));
            if minus {
                exp = -exp;
            }
        }
        // Up to 15 digits: the significand stays below 2^53.
        if int.len() + frac.len() > 15 {
            return None;
        }
        let sig = int
            .iter()
            .chain(frac)
            .fold(0u64, |a, d| a * 10 + u64::from(d - b'0'));
        if frac.is_empty() && !has_exp {
            // serde reads `-0` as a float.
            if negative && sig == 0 {
                return None;
            }
            let v = i64::try_from(sig).ok()?;
            return Some(Num::Int(if negative { -v } else { v }));
        }
        let exp = exp - i32::try_from(frac.len()).ok()?;
        // Powers of ten up to 1e22 are exact, so one multiplication or division is correctly
        // rounded: what serde computes, whichever of its float parsers is built in.
        const POW10: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        let pow = *POW10.get(exp.unsigned_abs() as usize)?;
        let f = if exp >= 0 {
            sig as f64 * pow
        } else {
            sig as f64 / pow
        };
        Some(Num::Float(if negative { -f } else { f }))
    }

    /// Skips any value serde's ignoring reader accepts, within the limits above.
    fn skip(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.str().map(drop),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'{' => {
                if depth >= MAX_SKIP_DEPTH {
                    return None;
                }
                self.members(|p, _| p.skip(depth + 1))
            }
            b'[' => {
                if depth >= MAX_SKIP_DEPTH {
                    return None;
                }
                self.elements(|p| p.skip(depth + 1))
            }
            _ => self.number().map(drop),
        }
    }

    /// An object, calling `member` at each key with the parser before its value.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.str()?;
            self.eat(b':')?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn elements(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `Option<Cow<str>>`: a string or `null`.
    fn opt_str(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.null()? {
            return Some(None);
        }
        self.str().map(|s| Some(Cow::Borrowed(s)))
    }

    /// `lenient_f64`: a number, a string holding one, or `null`; other shapes to serde.
    fn lenient_f64(&mut self) -> Option<Option<f64>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'"' => self.str().map(|s| s.trim().parse().ok()),
            _ => self.number().map(|n| match n {
                Num::Int(v) => Some(v as f64),
                Num::Float(f) => Some(f),
            }),
        }
    }

    /// `lenient_i64`, likewise.
    fn lenient_i64(&mut self) -> Option<Option<i64>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'"' => self.str().map(|s| s.trim().parse().ok()),
            _ => self.number().map(|n| match n {
                Num::Int(v) => Some(v),
                Num::Float(f) => Some(f as i64),
            }),
        }
    }

    /// `lenient_string`: a string, a boolean as its text, or `null`; numbers to serde.
    fn lenient_string(&mut self) -> Option<Option<String>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b't' => self.literal(b"true").map(|()| Some("true".to_owned())),
            b'f' => self.literal(b"false").map(|()| Some("false".to_owned())),
            _ => self.str().map(|s| Some(s.to_owned())),
        }
    }

    /// `lenient_headers`: an array of `{name, value}` objects of strings (other members
    /// skipped); every other shape to serde.
    fn headers(&mut self) -> Option<Vec<RawHeader<'a>>> {
        let mut out = Vec::with_capacity(8);
        self.elements(|p| {
            let (mut name, mut value) = (None, None);
            p.members(|p, key| match key {
                "name" if name.is_none() => p.str().map(|s| name = Some(s)),
                "value" if value.is_none() => p.str().map(|s| value = Some(s)),
                "name" | "value" => None,
                _ => p.skip(0),
            })?;
            out.push(RawHeader {
                name: Cow::Borrowed(name.unwrap_or("")),
                value: Cow::Borrowed(value.unwrap_or("")),
            });
            Some(())
        })?;
        Some(out)
    }

    /// `lenient_initiator`: an object's `type` and `url` when strings (the last one given
    /// counts), a plain string as the URL, `null` as none; other shapes to serde.
    fn initiator(&mut self) -> Option<Option<RawInitiator>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'"' => self.str().map(|s| {
                Some(RawInitiator {
                    kind: None,
                    url: Some(s.to_owned()),
                })
            }),
            b'{' => {
                let (mut kind, mut url) = (None, None);
                self.members(|p, key| {
                    let slot = match key {
                        "type" => &mut kind,
                        "url" => &mut url,
                        _ => return p.skip(0),
                    };
                    *slot = match p.peek()? {
                        b'"' => Some(p.str()?.to_owned()),
                        _ => {
                            p.skip(0)?;
                            None
                        }
                    };
                    Some(())
                })?;
                Some(Some(RawInitiator { kind, url }))
            }
            _ => None,
        }
    }

    fn request(&mut self) -> Option<RawRequest<'a>> {
        let mut r = RawRequest::default();
        let mut seen = Seen::default();
        self.members(|p, key| match key {
            "method" => {
                seen.once(0)?;
                r.method = Cow::Borrowed(p.str()?);
                Some(())
            }
            "url" => {
                seen.once(1)?;
                r.url = Cow::Borrowed(p.str()?);
                Some(())
            }
            "httpVersion" => {
                seen.once(2)?;
                r.http_version = Cow::Borrowed(p.str()?);
                Some(())
            }
            "headers" => {
                seen.once(3)?;
                r.headers = p.headers()?;
                Some(())
            }
            _ => p.skip(0),
        })?;
        Some(r)
    }

    fn response(&mut self) -> Option<Option<RawResponse<'a>>> {
        if self.null()? {
            return Some(None);
        }
        let mut r = RawResponse::default();
        let mut seen = Seen::default();
        self.members(|p, key| {
            match key {
                "status" => (seen.once(0)?, r.status = p.lenient_i64()?),
                "statusText" => (seen.once(1)?, r.status_text = Cow::Borrowed(p.str()?)),
                "headers" => (seen.once(2)?, r.headers = p.headers()?),
                "_error" => (seen.once(3)?, r.error = p.lenient_string()?),
                "_failureText" => (seen.once(4)?, r.failure_text = p.lenient_string()?),
                "httpVersion" => (seen.once(5)?, r.http_version = p.lenient_string()?),
                "headersSize" => (seen.once(6)?, r.headers_size = p.lenient_i64()?),
                _ => (p.skip(0)?, ()),
            };
            Some(())
        })?;
        Some(Some(r))
    }

    fn timings(&mut self) -> Option<Option<RawTimings>> {
        if self.null()? {
            return Some(None);
        }
        let mut t = RawTimings::default();
        let mut seen = Seen::default();
        self.members(|p, key| match key {
            "wait" => {
                seen.once(0)?;
                t.wait = p.lenient_f64()?;
                Some(())
            }
            _ => p.skip(0),
        })?;
        Some(Some(t))
    }

    fn entry(&mut self) -> Option<RawEntry<'a>> {
        let mut e = RawEntry::default();
        let mut seen = Seen::default();
        self.members(|p, key| {
            match key {
                "pageref" => (seen.once(0)?, e.pageref = p.opt_str()?),
                "startedDateTime" => (seen.once(1)?, e.started = p.opt_str()?),
                "time" => (seen.once(2)?, e.time = p.lenient_f64()?),
                "request" => (seen.once(3)?, e.request = p.request()?),
                "response" => (seen.once(4)?, e.response = p.response()?),
                "timings" => (seen.once(5)?, e.timings = p.timings()?),
                "serverIPAddress" => (seen.once(6)?, e.server_ip = p.opt_str()?),
                "_connectionId" => (seen.once(7)?, e.connection_id = p.lenient_string()?),
                "connection" => (seen.once(8)?, e.connection = p.lenient_string()?),
                "_resourceType" => (seen.once(9)?, e.resource_type = p.opt_str()?),
                "_initiator" => (seen.once(10)?, e.initiator = p.initiator()?),
                "_initiator_type" => (seen.once(11)?, e.initiator_type = p.opt_str()?),
                "_fromCache" => (seen.once(12)?, e.from_cache = p.lenient_string()?),
                _ => (p.skip(0)?, ()),
            };
            Some(())
        })?;
        Some(e)
    }
}

/// The fields of a struct read so far: serde refuses a field given twice.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn once(&mut self, field: u32) -> Option<()> {
        let bit = 1 << field;
        (self.0 & bit == 0).then(|| self.0 |= bit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_way(json: &str) -> Option<String> {
        serde_json::from_str::<RawEntry>(json)
            .ok()
            .map(|e| format!("{e:?}"))
    }

    const PLAIN: &str = r#"{"pageref":"page_1","startedDateTime":"2026-11-24T00:00:00.052Z","time":12.5,"request":{"method":"OPTIONS","url":"https://api19.example.net/v1/items/958","httpVersion":"HTTP/1.1","headers":[{"name":"Origin","value":"https://app.example.com"},{"name":"Access-Control-Request-Method","value":"PUT"}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":204,"statusText":"","httpVersion":"HTTP/1.1","headers":[{"name":"Access-Control-Allow-Origin","value":"https://app.example.com"}],"cookies":[],"content":{"size":0,"mimeType":"application/json","encoding":"base64","text":""},"redirectURL":"","headersSize":-1,"bodySize":0,"_error":null},"cache":{},"timings":{"blocked":-1,"dns":-1,"connect":-1,"send":0,"wait":10.1,"receive":2.4},"_resourceType":"fetch","_initiator":{"type":"script","stack":{"callFrames":[{"url":"x","lineNumber":3}]}},"_connectionId":"61","serverIPAddress":"10.0.0.1","_fromCache":"disk"}"#;

    /// The plain shape is read here, and as serde reads it.
    #[test]
    fn plain_entries_are_read_directly_as_serde_reads_them() {
        let e = entry(PLAIN).expect("the plain shape");
        assert_eq!(Some(format!("{e:?}")), serde_way(PLAIN));
    }

    /// Pieces that replace a value somewhere in the plain entry: every type, escapes,
    /// duplicates, odd numbers, nesting.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("\"\"".to_owned()),
            Just("\" 7 \"".to_owned()),
            Just("\"a\\\"b\"".to_owned()),
            Just("\"\\u00e9\"".to_owned()),
            Just("\"x\ty\"".to_owned()),
            Just("[]".to_owned()),
            Just("{}".to_owned()),
            Just("[[[[1]]]]".to_owned()),
            Just("{\"name\":\"n\",\"value\":\"v\",\"name\":\"m\"}".to_owned()),
            Just("[{\"name\":\"n\"},{\"value\":1},null,{\"comment\":[1,{}]}]".to_owned()),
            Just("{\"type\":1,\"url\":\"u\",\"type\":\"t\"}".to_owned()),
            Just("{\"type\":\"t\",\"type\":[1]}".to_owned()),
            prop_oneof![
                Just("0"),
                Just("-0"),
                Just("-0.0"),
                Just("01"),
                Just("1."),
                Just(".5"),
                Just("1e5"),
                Just("1E-5"),
                Just("1e+2"),
                Just("2.5e-3"),
                Just("-7"),
                Just("12.50"),
                Just("1e400"),
                Just("123456789012345678"),
                Just("9223372036854775808"),
                Just("0.1"),
                Just("1e22"),
                Just("1e23"),
                Just("-"),
                Just("1e"),
                Just("tru"),
            ]
            .prop_map(str::to_owned),
            any::<i32>().prop_map(|n| n.to_string()),
            (any::<u32>(), 0u32..8).prop_map(|(n, k)| format!(
                "{}.{:0k$}",
                n,
                n % 1000,
                k = k as usize
            )),
        ]
    }

    /// Whatever the direct reader accepts, serde reads to the same entry; and it accepts
    /// a good share of the mutations (about a fifth; the test is not empty).
    #[test]
    fn the_direct_reader_agrees_with_serde_on_mutated_entries() {
        // Every value's place in the plain entry (the byte after each `:`, or `[`/`,` in
        // arrays), and its end.
        let spots: Vec<(usize, usize)> = {
            let b = PLAIN.as_bytes();
            let mut v = Vec::new();
            let mut in_key_or_value = false;
            for (i, &c) in b.iter().enumerate() {
                if c == b'"' {
                    in_key_or_value = !in_key_or_value;
                }
                if c == b':' && !in_key_or_value {
                    // The value runs to the next `,` `}` or `]` at the same depth.
                    let (mut depth, mut j, mut in_str) = (0i32, i + 1, false);
                    while j < b.len() {
                        match (in_str, b[j]) {
                            (true, b'"') => in_str = false,
                            (false, b'"') => in_str = true,
                            (false, b'{' | b'[') => depth += 1,
                            (false, b'}' | b']') if depth == 0 => break,
                            (false, b'}' | b']') => depth -= 1,
                            (false, b',') if depth == 0 => break,
                            _ => {}
                        }
                        j += 1;
                    }
                    v.push((i + 1, j));
                }
            }
            v
        };
        let accepted = std::cell::Cell::new(0u32);
        let runs = std::cell::Cell::new(0u32);
        proptest!(|(edits in prop::collection::vec((0..spots.len(), piece()), 1..3), dup in 0usize..20)| {
            let mut edits = edits;
            edits.sort_by_key(|e| std::cmp::Reverse(spots[e.0].0));
            edits.dedup_by_key(|e| spots[e.0].0);
            let mut json = PLAIN.to_owned();
            let mut last_start = usize::MAX;
            for (k, v) in &edits {
                let (s, e) = spots[*k];
                if e > last_start {
                    continue;
                }
                json.replace_range(s..e, v);
                last_start = s;
            }
            // Sometimes a member given twice.
            let keys = ["\"time\":", "\"method\":", "\"name\":", "\"status\":", "\"wait\":", "\"type\":", "\"pageref\":", "\"_fromCache\":", "\"_error\":"];
            if let Some(key) = keys.get(dup) {
                if let Some(at) = json.find(key) {
                    let member = json[at..].split([',', '}']).next().unwrap_or("").to_owned();
                    if !member.contains('[') && !member.contains('{') {
                        json.insert_str(at, &format!("{member},"));
                    }
                }
            }
            runs.set(runs.get() + 1);
            if let Some(e) = entry(&json) {
                accepted.set(accepted.get() + 1);
                prop_assert_eq!(Some(format!("{e:?}")), serde_way(&json), "{}", json);
            }
        });
        assert!(
            accepted.get() * 10 > runs.get(),
            "{} of {}",
            accepted.get(),
            runs.get()
        );
    }
}
