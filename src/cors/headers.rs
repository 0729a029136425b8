//! Fetch's header rules (`#terminology-headers`, `#http-new-header-syntax`): CORS-safelisted
//! request headers, forbidden names, the unsafe-name set a preflight announces, and the
//! `#field-name` / `#method` list syntax of `Access-Control-Allow-Methods/-Headers`.

use super::browser::{Browser, ExtraValue, RangeSyntax, RequestMimeParser};
use crate::model::NameList;

/// `tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// [`is_tchar`] as a table (every byte of a preflight's allow lists is checked, once per
/// browser; searching the punctuation list per byte cost about 30 instructions a byte).
static TCHAR: [bool; 256] = crate::model::byte_table(true, false, b"!#$%&'*+-.^_`|~");

pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// The outcome of parsing an `Access-Control-Allow-Methods`/`-Headers` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListParse<T = String> {
    /// Header absent (Fetch's "null").
    Absent,
    /// The elements, trimmed, empty ones dropped, case preserved.
    Items(Vec<T>),
    /// An element that is not a token (as Firefox reports it: the trimmed element).
    Invalid(String),
}

/// `#rule` list parsing as Chromium's `ParseAccessControlAllowList` and Firefox do it: the lines
/// joined with `,`, split on `,`, elements trimmed of whitespace, empty elements ignored, every
/// other element must be a token (`GET PUT` or `a;b` fail the whole header). The elements
/// owned: the fuzz target's and the tests' form of [`parse_allow_list_borrowed`], which deciding
/// uses.
pub fn parse_allow_list<'a>(values: impl Iterator<Item = &'a [u8]>) -> ListParse {
    match parse_allow_list_borrowed(values) {
        ListParse::Absent => ListParse::Absent,
        ListParse::Items(items) => ListParse::Items(items.iter().map(|&i| i.to_owned()).collect()),
        ListParse::Invalid(t) => ListParse::Invalid(t),
    }
}

/// [`parse_allow_list`] with the elements borrowed from the values (a preflight's lists are
/// parsed once per browser; only what a passed preflight caches is copied).
pub(crate) fn parse_allow_list_borrowed<'a>(
    values: impl Iterator<Item = &'a [u8]>,
) -> ListParse<&'a str> {
    let mut items = Vec::new();
    match parse_allow_list_into(values, &mut items) {
        Ok(true) => ListParse::Items(items),
        Ok(false) => ListParse::Absent,
        Err(token) => ListParse::Invalid(token),
    }
}

/// [`parse_allow_list_borrowed`] into a list of the caller's kind (the engine's inline one:
/// a preflight's lists are short, and parsed for every reading): `Ok` with whether the header
/// was there, `Err` with the first element that is not a token.
pub(crate) fn parse_allow_list_into<'a>(
    values: impl Iterator<Item = &'a [u8]>,
    items: &mut impl Extend<&'a str>,
) -> Result<bool, String> {
    let mut seen = false;
    for line in values {
        seen = true;
        for element in line.split(|&b| b == b',') {
            let element = crate::model::trim_http_ws(element);
            if element.is_empty() {
                continue;
            }
            if !is_token(element) {
                return Err(crate::model::escape_bytes(element));
            }
            // Tokens are ASCII by definition, so they are UTF-8.
            let Ok(token) = std::str::from_utf8(element) else {
                unreachable!("a token is ASCII")
            };
            items.extend(std::iter::once(token));
        }
    }
    Ok(seen)
}

/// CORS-safelisted methods (`#cors-safelisted-method`): byte-exact, upper case.
pub(crate) fn is_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

#[cfg(test)]
/// `#concept-method-normalize`: the six methods are upper-cased, every other is sent as written.
pub(crate) fn normalize_method(method: &str) -> String {
    for m in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if method.eq_ignore_ascii_case(m) {
            return m.to_owned();
        }
    }
    method.to_owned()
}

/// `#forbidden-request-header`: names a script cannot set, so they never count as unsafe.
// Deciding lower-cases a name once for both lists (`author_headers`); this form is tested.
#[cfg(test)]
pub(crate) fn is_forbidden_request_header(name: &[u8]) -> bool {
    // Lower-cased once on the stack and matched (a length switch, then one compare): scanning
    // the list with a case-insensitive compare per entry was a visible share of deciding.
    let mut buf = [0u8; LONGEST_LISTED_NAME];
    is_forbidden_lower(name, lower_listed(name, &mut buf))
}

/// `is_forbidden_request_header` given the name lower-cased by [`lower_listed`].
fn is_forbidden_lower(name: &[u8], lower: Option<&[u8]>) -> bool {
    matches!(
        lower,
        Some(
            b"accept-charset"
                | b"accept-encoding"
                | b"access-control-request-headers"
                | b"access-control-request-method"
                | b"connection"
                | b"content-length"
                | b"cookie"
                | b"cookie2"
                | b"date"
                | b"dnt"
                | b"expect"
                | b"host"
                | b"keep-alive"
                | b"origin"
                | b"referer"
                | b"set-cookie"
                | b"te"
                | b"trailer"
                | b"transfer-encoding"
                | b"upgrade"
                | b"via"
        )
    ) || starts_with_ignore_case(name, b"proxy-")
        || starts_with_ignore_case(name, b"sec-")
}

/// Longer than every name `is_forbidden_request_header` and `is_browser_added_header`
/// list (the longest, `access-control-request-headers` and `attribution-reporting-eligible`,
/// have 30 bytes).
const LONGEST_LISTED_NAME: usize = 32;

/// `name` lower-cased into `buf`, or `None` when it is longer than any listed name (and so
/// none of them).
fn lower_listed<'b>(name: &[u8], buf: &'b mut [u8; LONGEST_LISTED_NAME]) -> Option<&'b [u8]> {
    let out = buf.get_mut(..name.len())?;
    for (o, b) in out.iter_mut().zip(name) {
        *o = b.to_ascii_lowercase();
    }
    Some(out)
}

pub(super) fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Headers browsers add themselves that are not on the forbidden list. On the wire there is no
/// way to tell who set a header, so these are taken as the browser's own
/// (`#terminology-headers`): a preflight's `Access-Control-Request-Headers`, when present, is
/// the authoritative list.
/// - `X-Client-Data`: Chromium's field-trial header on Google hosts
///   (`components/variations/net/variations_http_headers.cc`); `X-Browser-Channel`,
///   `-Copyright`, `-Validation`, `-Year`: Chrome's own headers to Google hosts (Chrome 137+).
///   Added in the network stack, after the CORS check, so never in a preflight.
/// - `If-None-Match`, `If-Modified-Since`, `If-Range`: the HTTP cache's revalidation of a
///   stored response (`net/http/http_cache_transaction.cc`), also after the CORS check. A
///   script that sets them itself needs a preflight, which then lists them.
/// - `Attribution-Reporting-Eligible`/`-Support`: Chromium's Attribution Reporting API.
/// - `Alt-Used`: the alternative service a request went to (RFC 7838 §5), which Firefox adds
///   to requests it sends over an Alt-Svc route (HTTP/3 recordings, `tools/h3lab`: on its
///   credentialed fetches, never in a preflight's `Access-Control-Request-Headers`).
// Deciding lower-cases a name once for both lists (`author_headers`); this form is tested.
#[cfg(test)]
pub(crate) fn is_browser_added_header(name: &[u8]) -> bool {
    let mut buf = [0u8; LONGEST_LISTED_NAME];
    is_browser_added_lower(lower_listed(name, &mut buf))
}

/// `is_browser_added_header` given the name lower-cased by [`lower_listed`].
fn is_browser_added_lower(lower: Option<&[u8]>) -> bool {
    matches!(
        lower,
        Some(
            b"user-agent"
                | b"priority"
                | b"upgrade-insecure-requests"
                | b"x-client-data"
                | b"purpose"
                | b"x-purpose"
                | b"x-browser-channel"
                | b"x-browser-copyright"
                | b"x-browser-validation"
                | b"x-browser-year"
                | b"if-none-match"
                | b"if-modified-since"
                | b"if-range"
                | b"attribution-reporting-eligible"
                | b"attribution-reporting-support"
                | b"alt-used"
        )
    )
}

/// `#cors-unsafe-request-header-byte`.
pub(crate) fn is_unsafe_byte(b: u8) -> bool {
    UNSAFE_BYTES[usize::from(b)]
}

/// [`is_unsafe_byte`] as a table (every byte of a safelisted value is checked; scanning the
/// list per byte cost about 50 instructions a byte).
static UNSAFE_BYTES: [bool; 256] = crate::model::byte_table(false, true, b"\"():<>?@[\\]{}");

/// The value rule for Accept-Language and Content-Language.
fn is_language_value(v: &[u8]) -> bool {
    v.iter().all(|&b| LANGUAGE_BYTES[usize::from(b)])
}

/// [`is_language_value`]'s bytes as a table (Accept-Language is on most requests).
static LANGUAGE_BYTES: [bool; 256] = crate::model::byte_table(true, false, b" *,-.;=");

/// WHATWG "parse a MIME type" far enough to get the essence (type/subtype, lower-cased).
/// Parameters never make parsing fail in the standard, so they are not examined.
pub fn mime_essence(v: &[u8]) -> Option<String> {
    let (ty, sub) = essence_parts(v)?;
    let mut essence = String::from_utf8_lossy(ty).to_ascii_lowercase();
    essence.push('/');
    essence.push_str(&String::from_utf8_lossy(sub).to_ascii_lowercase());
    Some(essence)
}

/// The request MIME types CORS safelists (`#cors-safelisted-request-header`), lower case.
const SAFELISTED_MIME: [&[u8]; 3] = [
    b"application/x-www-form-urlencoded",
    b"multipart/form-data",
    b"text/plain",
];

/// Whether a Content-Type value's type, as `parser` reads it ([`mime_essence`],
/// `firefox_request_mime`), is one CORS safelists; compared in place, without the lower-cased
/// copies (a Content-Type is judged on most CORS requests, once per browser).
pub(crate) fn is_safelisted_mime(parser: RequestMimeParser, value: &[u8]) -> bool {
    match parser {
        // The type holds no `/` (the essence splits at the first), so the listed type's `/`
        // falls where the type ends.
        RequestMimeParser::Whatwg => essence_parts(value).is_some_and(|(ty, sub)| {
            SAFELISTED_MIME.iter().any(|m| {
                m.len() == ty.len() + 1 + sub.len()
                    && m[..ty.len()].eq_ignore_ascii_case(ty)
                    && m[ty.len()] == b'/'
                    && m[ty.len() + 1..].eq_ignore_ascii_case(sub)
            })
        }),
        // Bytes that are not UTF-8 (replaced in the lower-cased copy) match no listed type,
        // which is ASCII, either way.
        RequestMimeParser::FirefoxNetUtil => firefox_request_type(value)
            .is_some_and(|ty| SAFELISTED_MIME.iter().any(|m| m.eq_ignore_ascii_case(ty))),
    }
}

/// [`mime_essence`]'s type and subtype as written (both tokens, so ASCII).
fn essence_parts(v: &[u8]) -> Option<(&[u8], &[u8])> {
    let v = crate::model::trim_http_ws(v);
    let slash = v.iter().position(|&b| b == b'/')?;
    let ty = &v[..slash];
    let rest = &v[slash + 1..];
    let sub_end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
    // Only trailing whitespace of the subtype is removed by the algorithm; leading whitespace
    // makes it a non-token and the parse fails.
    let sub_raw = &rest[..sub_end];
    let sub_len = sub_raw
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |e| e + 1);
    let sub = &sub_raw[..sub_len];
    if !is_token(ty) || !is_token(sub) {
        return None;
    }
    Some((ty, sub))
}

/// A single `bytes=START-[END]` range as `syntax` reads it (`#simple-range-header-value`:
/// no whitespace, a start, start <= end; `bytes=0-9,20-29` and `bytes=-500` are preflighted in
/// every browser). The browsers differ on the unit's case, a `+` sign and the largest position
/// (differences `range-unit-case`, `range-plus-sign`, `range-large-position`).
fn is_safelisted_range(v: &[u8], syntax: RangeSyntax) -> bool {
    let Some((unit, rest)) = v.split_first_chunk::<6>() else {
        return false;
    };
    let unit_ok = if syntax.unit_any_case {
        unit.eq_ignore_ascii_case(b"bytes=")
    } else {
        unit == b"bytes="
    };
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return false;
    };
    let position = |s: &[u8]| -> Option<u64> {
        let s = match s.strip_prefix(b"+") {
            Some(t) if syntax.plus_sign => t,
            _ => s,
        };
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Leading zeros do not count towards the size (`bytes=00-01` is safelisted).
        let digits = &s[s.iter().position(|&b| b != b'0').unwrap_or(s.len())..];
        let n = if digits.is_empty() {
            0
        } else {
            std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?
        };
        (n <= syntax.max).then_some(n)
    };
    let (start, end) = (&rest[..dash], &rest[dash + 1..]);
    let Some(start) = position(start) else {
        return false;
    };
    unit_ok && (end.is_empty() || position(end).is_some_and(|end| start <= end))
}

/// Firefox's request Content-Type parser, `net_ParseRequestContentType` with
/// `net_ParseMediaType` in strict mode (`netwerk/base/nsURLHelper.cpp`), step for step: the
/// type (lower-cased) when the value parses, or `None`. Nothing is checked to be a token.
// The reference `is_safelisted_mime` is tested against.
#[cfg(test)]
pub(crate) fn firefox_request_mime(v: &[u8]) -> Option<String> {
    firefox_request_type(v).map(|ty| String::from_utf8_lossy(ty).to_ascii_lowercase())
}

/// `firefox_request_mime`'s type as written.
fn firefox_request_type(v: &[u8]) -> Option<&[u8]> {
    let len = v.len();
    if firefox_media_delimiter(v, 0, b',') != len {
        return None;
    }
    let lws = |b: u8| b == b' ' || b == b'\t';
    let ty = v.iter().position(|&b| !lws(b)).unwrap_or(len);
    let ty_end = v[ty..]
        .iter()
        .position(|&b| lws(b) || b == b';')
        .map_or(len, |p| ty + p);
    // (sic) An offset from the type's start, later read from the value's start.
    let mut consumed = ty_end - ty;
    if let Some(p) = v[ty_end..].iter().position(|&b| b == b';') {
        let mut cur = ty_end + p + 1;
        // A do-while: a `;` at the very end after a parameter is never consumed.
        loop {
            let end = firefox_media_delimiter(v, cur, b';');
            consumed = end;
            cur = end + 1;
            if cur >= len {
                break;
            }
        }
    }
    let ty = &v[ty..ty_end];
    let rest_is_space = v[consumed.min(len)..].iter().all(|&b| lws(b));
    (!ty.is_empty() && ty.contains(&b'/') && rest_is_space).then_some(ty)
}

/// `net_FindMediaDelimiter`: the next `delimiter` at or after `from` outside a quoted string,
/// or the length.
fn firefox_media_delimiter(v: &[u8], from: usize, delimiter: u8) -> usize {
    let len = v.len();
    let mut search = from;
    loop {
        let Some(p) = v
            .get(search..)
            .and_then(|t| t.iter().position(|&b| b == delimiter || b == b'"'))
        else {
            return len;
        };
        let pos = search + p;
        if v[pos] == delimiter {
            return pos;
        }
        // `net_FindStringEnd`: the closing quote, skipping backslash escapes.
        let mut start = pos;
        let close = loop {
            match v[start + 1..].iter().position(|&b| b == b'"' || b == b'\\') {
                None => break len,
                Some(q) if v[start + 1 + q] == b'\\' => {
                    start += q + 2;
                    if start >= len {
                        break len;
                    }
                }
                Some(q) => break start + 1 + q,
            }
        };
        if close >= len {
            return len;
        }
        search = close + 1;
    }
}

/// Whether `value` fits `rule` (Chromium `cors.cc`: `IsSimilarToDoubleABNF`,
/// `IsSimilarToIntABNF`, the effective-connection-type names, `on`).
fn extra_value_fits(rule: ExtraValue, value: &[u8]) -> bool {
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    match rule {
        ExtraValue::Any => true,
        ExtraValue::Integer => digits(value),
        ExtraValue::Decimal => match value.iter().position(|&b| b == b'.') {
            Some(dot) => digits(&value[..dot]) && digits(&value[dot + 1..]),
            None => digits(value),
        },
        ExtraValue::ConnectionType => matches!(value, b"slow-2g" | b"2g" | b"3g" | b"4g"),
        ExtraValue::On => value.eq_ignore_ascii_case(b"on"),
    }
}

/// How the input wrote the values a page set: the safelist's 128 limit and 1,024 total count
/// the page's characters, and browsers send them differently (difference `non-ascii-value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueEncoding {
    /// One byte per character (Chromium and Firefox on the wire: latin-1).
    Latin1,
    /// UTF-8 (WebKit on the wire; every HAR, which is JSON text).
    Utf8,
}

impl ValueEncoding {
    /// The value's length in the page's characters.
    fn chars(self, v: &[u8]) -> usize {
        // Latin-1 needs no UTF-8 check (it was made for every header judged).
        match self {
            ValueEncoding::Utf8 => std::str::from_utf8(v).map_or(v.len(), |s| s.chars().count()),
            ValueEncoding::Latin1 => v.len(),
        }
    }
}

/// `#cors-safelisted-request-header` for one (name, value), as `browser` implements it
/// (its `Profile::safelist`), with the value written as one byte per character.
pub fn is_safelisted_request_header(browser: Browser, name: &[u8], value: &[u8]) -> bool {
    is_safelisted_as(browser, name, value, ValueEncoding::Latin1)
}

fn is_safelisted_as(browser: Browser, name: &[u8], value: &[u8], enc: ValueEncoding) -> bool {
    if enc.chars(value) > 128 {
        return false;
    }
    let rules = &browser.profile().safelist;
    let unsafe_byte = |b: &u8| is_unsafe_byte(*b) || (rules.non_ascii_unsafe && *b >= 0x80);
    let mut buf = [0u8; LONGEST_LISTED_NAME];
    // Every name matched here is short: a longer one goes to the extra rules, as before.
    match lower_listed(name, &mut buf).unwrap_or_default() {
        b"accept" => !value.iter().any(unsafe_byte),
        b"accept-language" | b"content-language" => is_language_value(value),
        b"content-type" => !value.iter().any(unsafe_byte) && is_safelisted_mime(rules.mime, value),
        b"range" => is_safelisted_range(value, rules.range),
        _ => rules
            .extra_rule(name)
            .is_some_and(|rule| extra_value_fits(rule, value)),
    }
}

/// Whether [`is_safelisted_as`] reads the value of `name` for `browser`: the names its match
/// lists and the browser's extra safelist. Any other name is unsafe whatever its value (a
/// property test in `cors::recent` holds the two together).
pub(crate) fn has_value_rule(browser: Browser, name: &[u8]) -> bool {
    const RULED: NameList = NameList::new(&[
        "accept",
        "accept-language",
        "content-language",
        "content-type",
        "range",
    ]);
    let extra = browser.profile().safelist.extra;
    RULED.contains(name)
        || (!extra.is_empty() && browser.profile().safelist.extra_rule(name).is_some())
}

/// Whether `browser` safelists some value of `name` that `recorder` does not, so that a
/// preflight `recorder` sent for a value the input does not show (a captured preflight whose
/// request never followed) may not have been sent by `browser` at all. Derived from the two
/// profiles' safelists (rows `content-type-*`, `non-ascii-value`, `range-*`); the extra names
/// are judged by the caller.
pub(crate) fn may_safelist_what_recorder_refused(
    browser: Browser,
    recorder: Browser,
    name: &[u8],
) -> bool {
    let (b, r) = (&browser.profile().safelist, &recorder.profile().safelist);
    let non_ascii = r.non_ascii_unsafe && !b.non_ascii_unsafe;
    if name.eq_ignore_ascii_case(b"content-type") {
        b.mime != r.mime || non_ascii
    } else if name.eq_ignore_ascii_case(b"accept") {
        non_ascii
    } else if name.eq_ignore_ascii_case(b"range") {
        (b.range.unit_any_case && !r.range.unit_any_case)
            || (b.range.plus_sign && !r.range.plus_sign)
            || b.range.max > r.range.max
    } else {
        false
    }
}

/// `#cors-unsafe-request-header-names` over the author headers of a request: lower-cased,
/// de-duplicated and sorted, including the 1024-byte rule for the safelisted ones.
/// Forbidden and browser-added headers are skipped (see `is_browser_added_header`).
pub fn unsafe_request_header_names<'a>(
    browser: Browser,
    headers: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> Vec<String> {
    unsafe_request_header_names_as(browser, headers, ValueEncoding::Latin1)
}

/// [`unsafe_request_header_names`] with the values written in `enc`.
pub(crate) fn unsafe_request_header_names_as<'a>(
    browser: Browser,
    headers: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    enc: ValueEncoding,
) -> Vec<String> {
    let headers: Vec<(&[u8], &[u8])> = headers.collect();
    judge_author_headers(browser, &headers, &author_headers(&headers), enc)
}

/// Header positions, a request's few kept inline (a flow's memo copies them per browser).
pub(crate) type Positions = smallvec::SmallVec<[usize; 16]>;

/// The positions in `headers` of the ones a script may have set: not forbidden, not added by
/// the browser, not the browser's own no-cache pair. The same for every browser, so a flow
/// judged for several finds them once ([`judge_author_headers`] does the per-browser part).
pub(crate) fn author_headers(headers: &[(&[u8], &[u8])]) -> Positions {
    // `Cache-Control: no-cache` with `Pragma: no-cache` is what the browser itself adds to an
    // EventSource request and to every request when DevTools disables the cache; a script
    // setting both to exactly that is rare, and then its preflight (if any) tells.
    // Likewise `Cache-Control: max-age=0` alone: a reload's revalidation (Firefox).
    let value_of = |n: &str| {
        headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(n.as_bytes()))
            .map(|(_, v)| crate::model::trim_http_ws(v))
    };
    // Compared ignoring ASCII case: the value lower-cased, without the copy.
    let is = |v: &[u8], want: &[u8]| v.eq_ignore_ascii_case(want);
    let browser_no_cache = match (value_of("cache-control"), value_of("pragma")) {
        (Some(c), Some(p)) => is(c, b"no-cache") && is(p, b"no-cache"),
        (Some(c), None) => is(c, b"max-age=0"),
        _ => false,
    };
    // A request that shows a proxy (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`, `Via`) in an
    // input that kept the proxy's headers (a HAR recorded behind one; a capture takes them out,
    // `capture::proxy`): those were added past the browser, which never judged them. A page
    // that set one itself announced it in its preflight, which stays authoritative.
    let via_proxy = headers
        .iter()
        .any(|(n, _)| crate::capture::proxy::is_forwarding(n));
    let by_script = |name: &[u8]| {
        // Lower-cased once for both lists.
        let mut buf = [0u8; LONGEST_LISTED_NAME];
        let lower = lower_listed(name, &mut buf);
        !(is_forbidden_lower(name, lower)
            || is_browser_added_lower(lower)
            || (browser_no_cache
                && (name.eq_ignore_ascii_case(b"cache-control")
                    || name.eq_ignore_ascii_case(b"pragma")))
            || (via_proxy && crate::capture::proxy::is_proxy_added(name)))
    };
    (0..headers.len())
        .filter(|&i| by_script(headers[i].0))
        .collect()
}

/// `#cors-unsafe-request-header-names` as `browser` judges the author headers of `headers`
/// (positions from [`author_headers`]): lower-cased, de-duplicated and sorted, including the
/// 1024-byte rule for the safelisted ones.
pub(crate) fn judge_author_headers(
    browser: Browser,
    headers: &[(&[u8], &[u8])],
    authors: &[usize],
    enc: ValueEncoding,
) -> Vec<String> {
    let lower = |name: &[u8]| {
        let mut lower = crate::model::escape_bytes(name);
        lower.make_ascii_lowercase();
        lower
    };
    let mut unsafe_names = Vec::new();
    let mut safelisted_bytes = 0usize;
    for &i in authors {
        let (name, value) = headers[i];
        // Header values are stored untrimmed; the browser saw them normalized.
        let value = crate::model::trim_http_ws(value);
        if is_safelisted_as(browser, name, value, enc) {
            safelisted_bytes += enc.chars(value);
        } else {
            unsafe_names.push(lower(name));
        }
    }
    if safelisted_bytes > 1024 {
        // The safelisted names count too (their names are only written out here: rare).
        for &i in authors {
            let (name, value) = headers[i];
            if is_safelisted_as(browser, name, crate::model::trim_http_ws(value), enc) {
                unsafe_names.push(lower(name));
            }
        }
    }
    unsafe_names.sort();
    unsafe_names.dedup();
    unsafe_names
}

/// Parses an `Access-Control-Request-Headers` value into lower-cased, sorted, unique names.
///
/// Deciding one flow parses the same list once per browser and credentials reading (six
/// times), and sorting a list of thousands of names was the largest cost left on hostile input
/// (issue 18): the last list's answer is kept per thread. Exact: the same bytes, the same answer.
pub fn parse_request_headers_list(value: &[u8]) -> Vec<String> {
    thread_local! {
        static LAST: std::cell::RefCell<(Vec<u8>, Vec<String>)> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    // Short lists cost less to parse than to remember.
    const REMEMBER: usize = 256;
    if value.len() < REMEMBER {
        return parse_request_headers_list_uncached(value);
    }
    LAST.with(|cell| {
        let Ok(mut last) = cell.try_borrow_mut() else {
            return parse_request_headers_list_uncached(value);
        };
        if last.0 != value {
            let names = parse_request_headers_list_uncached(value);
            *last = (value.to_vec(), names);
        }
        last.1.clone()
    })
}

fn parse_request_headers_list_uncached(value: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = value
        .split(|&b| b == b',')
        .map(crate::model::trim_http_ws)
        .filter(|n| !n.is_empty())
        .map(|n| {
            let mut n = crate::model::escape_bytes(n);
            n.make_ascii_lowercase();
            n
        })
        .collect();
    // Equal names are identical, so an unstable sort gives the same list, faster.
    names.sort_unstable();
    names.dedup();
    names
}

pub(crate) use crate::model::NameSet;

/// Header values read borrowed (lower in the layers, beside the User-Agent reading that
/// first did so).
pub(crate) use crate::fingerprint::header_str;

/// Whether `name`'s joined value ([`crate::model::Headers::get_joined`]) is exactly `want`, without joining:
/// two lines or more join with `, `, which `want` (a token) never holds.
pub(crate) fn joined_is(headers: &crate::model::Headers, name: &str, want: &[u8]) -> bool {
    let mut lines = headers.get_all(name);
    match (lines.next(), lines.next()) {
        (Some(v), None) => crate::model::trim_http_ws(v) == want,
        (None, _) => false,
        _ => headers.get_joined(name).as_deref() == Some(want),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_table_is_the_rfc_definition() {
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), want, "{b:#x}");
        }
    }

    #[test]
    fn unsafe_byte_table_is_the_fetch_definition() {
        // Fetch: a byte < 0x20 other than HT, one of "():<>?@[\]{}, or DEL.
        for b in 0..=255u8 {
            let spec = (b < 0x20 && b != 0x09) || b"\"():<>?@[\\]{}".contains(&b) || b == 0x7f;
            assert_eq!(is_unsafe_byte(b), spec, "byte {b:#04x}");
        }
    }

    #[test]
    fn language_byte_table_is_the_fetch_definition() {
        // Fetch: 0x30-0x39, 0x41-0x5A, 0x61-0x7A, 0x20, 0x2A, 0x2C, 0x2D, 0x2E, 0x3B, 0x3D.
        for b in 0..=255u8 {
            let spec = b.is_ascii_alphanumeric() || b" *,-.;=".contains(&b);
            assert_eq!(is_language_value(&[b]), spec, "byte {b:#04x}");
        }
    }

    #[test]
    fn name_lists_ignore_case_and_prefixes_need_the_whole_prefix() {
        for (name, forbidden) in [
            (&b"Accept-Encoding"[..], true),
            (b"PROXY-Authorization", true),
            (b"Sec-Fetch-Mode", true),
            (b"proxy", false),
            (b"se", false),
            (b"X-Custom", false),
            (b"", false),
        ] {
            assert_eq!(is_forbidden_request_header(name), forbidden, "{name:?}");
        }
        assert!(is_forbidden_request_header(
            b"Access-Control-Request-Headers"
        ));
        assert!(!is_forbidden_request_header(&[b'a'; 40]));
        assert!(is_browser_added_header(b"User-Agent"));
        assert!(is_browser_added_header(b"ATTRIBUTION-REPORTING-ELIGIBLE"));
        assert!(!is_browser_added_header(b"User-Agent2"));
    }
    use Browser::*;

    #[test]
    fn name_set_is_case_insensitive_at_every_size() {
        for n in [0, 1, NameSet::SCAN, NameSet::SCAN + 1, 1000] {
            let names: Vec<String> = (0..n).map(|i| format!("X-Name-{i}")).collect();
            let set = NameSet::new(names.iter().map(|s| s.as_bytes()));
            for name in &names {
                assert!(
                    set.contains(name.to_ascii_lowercase().as_bytes()),
                    "{n}: {name}"
                );
                assert!(
                    set.contains(name.to_ascii_uppercase().as_bytes()),
                    "{n}: {name}"
                );
                assert!(set.contains(name.as_bytes()), "{n}: {name}");
            }
            assert!(!set.contains(b"x-name-"), "{n}");
            assert!(!set.contains(b""), "{n}");
        }
    }

    /// One row per safelist rule of `#cors-safelisted-request-header` (and Chromium's extras).
    #[test]
    fn safelisted_request_headers_table() {
        let long_accept = "a".repeat(129);
        let cases: &[(Browser, &str, &str, bool, &str)] = &[
            (
                Chromium,
                "Accept",
                "application/json",
                true,
                "accept: any value without unsafe bytes",
            ),
            (
                Chromium,
                "Accept",
                "text/\"x\"",
                false,
                "accept: unsafe byte \"",
            ),
            (
                Chromium,
                "Accept",
                &long_accept,
                false,
                "any value over 128 bytes",
            ),
            (
                Chromium,
                "Accept-Language",
                "en-US,en;q=0.9",
                true,
                "language: allowed bytes",
            ),
            (
                Chromium,
                "Accept-Language",
                "en_US",
                false,
                "language: _ is not allowed",
            ),
            (
                Chromium,
                "Content-Language",
                "de-DE",
                true,
                "content-language",
            ),
            (
                Chromium,
                "Content-Type",
                "text/plain;charset=UTF-8",
                true,
                "content-type with params",
            ),
            (
                Chromium,
                "Content-Type",
                "application/x-www-form-urlencoded",
                true,
                "form",
            ),
            (
                Chromium,
                "Content-Type",
                "multipart/form-data; boundary=x",
                true,
                "multipart",
            ),
            (
                Chromium,
                "Content-Type",
                "application/json",
                false,
                "json is not safelisted",
            ),
            (
                Chromium,
                "Content-Type",
                "text/plain; charset=\"utf-8\"",
                false,
                "quote is an unsafe byte",
            ),
            (
                Chromium,
                "Content-Type",
                "text/plain(x)",
                false,
                "unsafe byte (",
            ),
            (Chromium, "Content-Type", "text", false, "not a MIME type"),
            (Chromium, "Range", "bytes=0-99", true, "single range"),
            (Chromium, "Range", "bytes=100-", true, "open-ended range"),
            (
                Chromium,
                "Range",
                "bytes=-500",
                false,
                "suffix range has no start",
            ),
            (Chromium, "Range", "bytes=0-9,20-29", false, "multi-range"),
            (Chromium, "Range", "bytes=10-5", false, "start after end"),
            (Chromium, "X-Api-Key", "k", false, "any other name"),
            (
                Chromium,
                "DPR",
                "2",
                true,
                "Chromium safelists client hints",
            ),
            (Firefox, "DPR", "2", false, "Firefox does not"),
            (Safari, "Width", "100", false, "WebKit does not"),
            (Chromium, "Width", "1.5", false, "width must be an integer"),
            (Chromium, "Save-Data", "on", true, "save-data on"),
        ];
        for (browser, name, value, want, why) in cases {
            assert_eq!(
                is_safelisted_request_header(*browser, name.as_bytes(), value.as_bytes()),
                *want,
                "{why}: {name}: {value} ({browser:?})"
            );
        }
    }

    /// The request-side rows of `browser::DIFFERENCES`, each with values recorded in the three
    /// browsers (tests/data/probe-reqside, scenario ids in the comments): whether each of
    /// Chromium, Firefox and Safari safelists the header (no preflight).
    #[test]
    fn safelist_difference_rows() {
        type Row<'a> = (&'a str, &'a str, &'a str, [bool; 3]);
        let long_e = "\u{e9}".repeat(100);
        let rows: &[Row] = &[
            // ch-*: Chromium's extra names and their value rules.
            ("client-hints", "DPR", "1.5", [true, false, false]),
            ("client-hints", "DPR", "1e2", [false, false, false]),
            ("client-hints", "DPR", "2.", [false, false, false]),
            ("client-hints", "Device-Memory", "8", [true, false, false]),
            ("client-hints", "Downlink", "1.5", [true, false, false]),
            ("client-hints", "RTT", "50", [true, false, false]),
            ("client-hints", "Width", "1.5", [false, false, false]),
            ("client-hints", "ECT", "4g", [true, false, false]),
            ("client-hints", "ECT", "5g", [false, false, false]),
            ("client-hints", "Save-Data", "ON", [true, false, false]),
            (
                "client-hints",
                "Intervention",
                "<https://x.test/>; level=\"warning\"",
                [true, false, false],
            ),
            // ct-comma-param, ct-comma-only-param, ct-mp-comma-boundary, ct-two-types
            (
                "content-type-comma",
                "Content-Type",
                "text/plain;a=b,c",
                [true, false, true],
            ),
            (
                "content-type-comma",
                "Content-Type",
                "text/plain;,",
                [true, false, true],
            ),
            (
                "content-type-comma",
                "Content-Type",
                "multipart/form-data; boundary=a,b",
                [true, false, true],
            ),
            (
                "content-type-comma",
                "Content-Type",
                "text/plain,text/html",
                [false, false, false],
            ),
            // ct-trailing-semi-param, ct-double-semi, ct-trailing-semi
            (
                "content-type-trailing-semicolon",
                "Content-Type",
                "text/plain;charset=utf-8;",
                [true, false, true],
            ),
            (
                "content-type-trailing-semicolon",
                "Content-Type",
                "text/plain;;",
                [true, false, true],
            ),
            (
                "content-type-trailing-semicolon",
                "Content-Type",
                "text/plain;",
                [true, true, true],
            ),
            // ct-junk-then-param, ct-junk-nosemi, ct-space-in-subtype, ct-space-semi
            (
                "content-type-before-parameters",
                "Content-Type",
                "text/plain x;charset=utf-8",
                [false, true, false],
            ),
            (
                "content-type-before-parameters",
                "Content-Type",
                "text/plain x",
                [false, false, false],
            ),
            (
                "content-type-before-parameters",
                "Content-Type",
                "text/pla in",
                [false, false, false],
            ),
            (
                "content-type-before-parameters",
                "Content-Type",
                "text/plain ; charset=utf-8",
                [true, true, true],
            ),
            // acc-latin1, ct-latin1-param, al-latin1 (latin-1 bytes, as Chromium sends them)
            (
                "non-ascii-value",
                "Accept",
                "text/\u{e9}",
                [true, false, true],
            ),
            (
                "non-ascii-value",
                "Content-Type",
                "text/plain; charset=\u{e9}",
                [true, false, true],
            ),
            (
                "non-ascii-value",
                "Accept-Language",
                "\u{e9}",
                [false, false, false],
            ),
            ("non-ascii-value", "Accept", &long_e, [true, false, true]),
            // rg-upper, rg-allupper, rg-mixed
            (
                "range-unit-case",
                "Range",
                "Bytes=0-1",
                [false, false, true],
            ),
            (
                "range-unit-case",
                "Range",
                "bYtEs=0-1",
                [false, false, true],
            ),
            // rg-plus, rg-plus-end, rg-upper-plus
            (
                "range-plus-sign",
                "Range",
                "bytes=+1-2",
                [false, false, true],
            ),
            (
                "range-plus-sign",
                "Range",
                "bytes=0-+1",
                [false, false, true],
            ),
            (
                "range-plus-sign",
                "Range",
                "Bytes=+1-2",
                [false, false, true],
            ),
            // rg-i64max*, rg-u64max*, rg-i64max-1*, rg-overflow-*
            (
                "range-large-position",
                "Range",
                "bytes=9223372036854775806-",
                [true, true, true],
            ),
            (
                "range-large-position",
                "Range",
                "bytes=0-9223372036854775806",
                [true, true, true],
            ),
            (
                "range-large-position",
                "Range",
                "bytes=9223372036854775807-",
                [false, true, true],
            ),
            (
                "range-large-position",
                "Range",
                "bytes=0-18446744073709551615",
                [false, true, true],
            ),
            (
                "range-large-position",
                "Range",
                "bytes=99999999999999999999-",
                [false, false, false],
            ),
        ];
        for (row, name, value, want) in rows {
            assert!(
                crate::cors::browser::DIFFERENCES
                    .iter()
                    .any(|d| d.id == *row),
                "{row} is not a DIFFERENCES row"
            );
            // Values are latin-1 on the wire: one byte per character.
            let bytes: Vec<u8> = value.chars().map(|c| c as u32 as u8).collect();
            for (b, want) in [Chromium, Firefox, Safari].into_iter().zip(want) {
                assert_eq!(
                    is_safelisted_request_header(b, name.as_bytes(), &bytes),
                    *want,
                    "{row}: {name}: {value:?} in {b:?}"
                );
            }
        }
    }

    /// Difference `non-ascii-value`: WebKit and every HAR write `é` as two UTF-8 bytes; the
    /// 128 limit counts the page's characters (probe recording acc-latin1-100: 200 bytes from
    /// WebKit, safelisted in Chromium and WebKit).
    #[test]
    fn value_length_counts_characters_of_the_encoding() {
        let v = "\u{e9}".repeat(100);
        let h = [("Accept", v.as_str())];
        let names = |b, enc| {
            unsafe_request_header_names_as(
                b,
                h.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
                enc,
            )
        };
        assert!(names(Safari, ValueEncoding::Utf8).is_empty());
        assert!(names(Chromium, ValueEncoding::Utf8).is_empty());
        assert_eq!(names(Firefox, ValueEncoding::Utf8), ["accept"]);
        // Read as one byte per character, the same bytes are 200 characters.
        assert_eq!(names(Chromium, ValueEncoding::Latin1), ["accept"]);
    }

    /// Difference `safelist-total` (probe recordings sum-1024, sum-1025): Chromium's total
    /// counts its extra names too.
    #[test]
    fn safelisted_total_counts_extra_names_in_chromium() {
        let a = |n| "a".repeat(n);
        let d = |n| "1".repeat(n);
        let mut h: Vec<(&str, String)> = vec![
            ("Accept", a(128)),
            ("Accept-Language", a(128)),
            ("Content-Language", a(128)),
            ("Intervention", a(128)),
            ("Width", d(128)),
            ("Viewport-Width", d(128)),
            ("RTT", d(128)),
            ("Downlink", d(128)),
        ];
        let names = |h: &[(&str, String)]| {
            unsafe_request_header_names(
                Chromium,
                h.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            )
        };
        assert!(names(&h).is_empty(), "1,024 bytes pass");
        h[0].1 = a(127);
        h.push(("ECT", "4g".into()));
        assert_eq!(names(&h).len(), 9, "1,025 bytes: every one is unsafe");
    }

    /// Which hidden values can hide a difference, per (browser, recorder): e.g. a Content-Type
    /// Chromium preflighted may be one Firefox safelists (`text/plain x;a=b`), but an Accept
    /// Chromium preflighted never is (Firefox's Accept rule is stricter).
    #[test]
    fn hidden_values_that_can_differ() {
        let cases: &[(Browser, Browser, &str, bool)] = &[
            (Firefox, Chromium, "content-type", true),
            (Safari, Chromium, "content-type", false),
            (Chromium, Firefox, "content-type", true),
            (Firefox, Chromium, "accept", false),
            (Chromium, Firefox, "accept", true),
            (Safari, Chromium, "range", true),
            (Firefox, Chromium, "range", true),
            (Chromium, Firefox, "range", false),
            (Safari, Firefox, "range", true),
            (Firefox, Safari, "range", false),
            (Firefox, Chromium, "accept-language", false),
            (Firefox, Chromium, "x-custom", false),
        ];
        for (b, r, name, want) in cases {
            assert_eq!(
                may_safelist_what_recorder_refused(*b, *r, name.as_bytes()),
                *want,
                "{b:?} after {r:?}: {name}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn safelisted_mime_in_place_is_the_lower_cased_essence(
            v in "[ \t]{0,2}(Text|text|TEXT|multipart|application|x)[ /]{0,2}(Plain|plain|form-data|x-www-form-urlencoded|Form-Data)?[ \t]{0,2}(;[ a-z=\"\\;]{0,8})?[ ,]{0,2}",
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            let listed = |e: Option<String>| e.is_some_and(|e| {
                matches!(
                    e.as_str(),
                    "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
                )
            });
            let mut odd = v.as_bytes().to_vec();
            odd.extend_from_slice(&junk);
            for value in [v.as_bytes(), &odd[..], &junk[..]] {
                proptest::prop_assert_eq!(
                    is_safelisted_mime(RequestMimeParser::Whatwg, value),
                    listed(mime_essence(value))
                );
                proptest::prop_assert_eq!(
                    is_safelisted_mime(RequestMimeParser::FirefoxNetUtil, value),
                    listed(firefox_request_mime(value))
                );
            }
        }

        #[test]
        fn borrowed_lookups_equal_the_joined_ones(
            lines in proptest::collection::vec(
                (proptest::sample::select(vec!["a", "A", "b", "ab"]),
                 proptest::collection::vec(proptest::sample::select(
                     vec![b' ', b'\t', b'a', b',', b't', b'r', b'u', b'e', 0xc3, 0xa9, 0xff]), 0..8)),
                0..5),
            want in proptest::sample::select(vec!["true", "a", "", "true, true"]),
        ) {
            let headers: crate::model::Headers = lines.iter().map(|(n, v)| (n.as_bytes(), v)).collect();
            for name in ["a", "b", "c"] {
                proptest::prop_assert_eq!(
                    header_str(&headers, name).map(|c| c.into_owned()),
                    headers.get_str(name)
                );
                proptest::prop_assert_eq!(
                    joined_is(&headers, name, want.as_bytes()),
                    headers.get_joined(name).as_deref() == Some(want.as_bytes())
                );
            }
        }
    }

    proptest::proptest! {
        /// Firefox's parser never panics, and on values without spaces, commas, quotes or
        /// empty parameters it finds the essence the WHATWG parser finds.
        #[test]
        fn firefox_mime_agrees_on_plain_values(
            ty in "[a-z]{1,8}", sub in "[a-z+.-]{1,8}",
            params in proptest::collection::vec(("[a-z]{1,5}", "[a-z0-9-]{1,5}"), 0..3),
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let _ = firefox_request_mime(&junk);
            let _ = is_safelisted_range(&junk, Safari.profile().safelist.range);
            let mut v = format!("{ty}/{sub}");
            for (k, val) in &params {
                v.push_str(&format!(";{k}={val}"));
            }
            proptest::prop_assert_eq!(firefox_request_mime(v.as_bytes()), mime_essence(v.as_bytes()));
        }
    }

    #[test]
    fn unsafe_names_are_sorted_lowercase_and_skip_forbidden() {
        let h = [
            ("X-B", "1"),
            ("Content-Type", "application/json"),
            ("x-a", "2"),
            ("X-B", "3"),
            ("Cookie", "a=b"),
            ("Sec-Fetch-Mode", "cors"),
            ("User-Agent", "x"),
            ("Accept", "*/*"),
        ];
        let names = unsafe_request_header_names(
            Chromium,
            h.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        );
        assert_eq!(names, ["content-type", "x-a", "x-b"]);
    }

    /// Issue 10.7: headers the browser adds itself are not the page's.
    #[test]
    #[allow(clippy::type_complexity)] // a table of (request headers, names the page set)
    fn browser_added_headers_are_not_author_set() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            (
                &[
                    ("X-Browser-Channel", "stable"),
                    (
                        "X-Browser-Copyright",
                        "Copyright 2026 Google LLC. All rights reserved.",
                    ),
                    ("X-Browser-Validation", "6h3XF8YcD8syi2FF2BbuE2KllQo="),
                    ("X-Browser-Year", "2026"),
                    ("X-Client-Data", "CIW2yQEIo7bJAQ=="),
                ],
                &[],
            ),
            (
                &[
                    ("If-None-Match", "\"abc\""),
                    ("If-Modified-Since", "Tue, 24 Nov 2026 19:46:40 GMT"),
                ],
                &[],
            ),
            (&[("Cache-Control", "max-age=0")], &[]),
            (&[("Alt-Used", "api.test:4433")], &[]),
            (
                &[("Cache-Control", "max-age=0"), ("X-Token", "1")],
                &["x-token"],
            ),
            (&[("Cache-Control", "no-store")], &["cache-control"]),
            (&[("X-Browser-Whatever", "1")], &["x-browser-whatever"]),
            // A request that came through a proxy (a HAR recorded behind one): the proxy's
            // headers are not the page's, the page's own still are.
            (
                &[
                    ("X-Forwarded-For", "10.0.0.7"),
                    ("X-Forwarded-Proto", "https"),
                    ("X-Request-Id", "42"),
                    ("X-Token", "1"),
                ],
                &["x-token"],
            ),
            (&[("Via", "1.1 squid"), ("CF-Ray", "8a1")], &[]),
            // Without a proxy, a page may set any of those names itself.
            (&[("X-Request-Id", "42")], &["x-request-id"]),
        ];
        for (h, want) in cases {
            let names = unsafe_request_header_names(
                Chromium,
                h.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            );
            assert_eq!(names, *want, "{h:?}");
        }
    }

    #[test]
    fn browser_no_cache_pair_is_not_author_set() {
        let h = [
            ("Cache-Control", "no-cache"),
            ("Pragma", "no-cache"),
            ("Accept", "text/event-stream"),
        ];
        let names = unsafe_request_header_names(
            Chromium,
            h.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        );
        assert!(names.is_empty());
        let h = [("Cache-Control", "no-cache")];
        let names = unsafe_request_header_names(
            Chromium,
            h.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        );
        assert_eq!(names, ["cache-control"]);
    }

    #[test]
    fn safelisted_total_over_1024_bytes_makes_them_unsafe() {
        let v = "a".repeat(120);
        let h: Vec<(String, String)> = (0..9).map(|_| ("Accept".to_string(), v.clone())).collect();
        let names = unsafe_request_header_names(
            Chromium,
            h.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        );
        assert_eq!(names, ["accept"]);
    }

    #[test]
    fn allow_list_syntax() {
        let p = |s: &str| parse_allow_list(std::iter::once(s.as_bytes()));
        assert_eq!(
            p("GET, , PUT"),
            ListParse::Items(vec!["GET".into(), "PUT".into()])
        );
        assert_eq!(p("PUT DELETE"), ListParse::Invalid("PUT DELETE".into()));
        assert_eq!(p("x-a;x-b"), ListParse::Invalid("x-a;x-b".into()));
        assert_eq!(p("*"), ListParse::Items(vec!["*".into()]));
        assert_eq!(parse_allow_list(std::iter::empty()), ListParse::Absent);
        let two = [b"PUT".as_slice(), b"DELETE".as_slice()];
        assert_eq!(
            parse_allow_list(two.into_iter()),
            ListParse::Items(vec!["PUT".into(), "DELETE".into()])
        );
    }

    #[test]
    fn method_normalization() {
        assert_eq!(normalize_method("delete"), "DELETE");
        assert_eq!(normalize_method("patch"), "patch");
        assert!(!is_safelisted_method("get"));
        assert!(is_safelisted_method("POST"));
    }

    #[test]
    fn mime_essence_parsing() {
        assert_eq!(
            mime_essence(b" Text/Plain ; charset=x").as_deref(),
            Some("text/plain")
        );
        assert_eq!(mime_essence(b"text/ plain"), None);
        assert_eq!(mime_essence(b"/plain"), None);
    }
}
