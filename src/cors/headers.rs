//! Fetch's header rules (`#terminology-headers`, `#http-new-header-syntax`): CORS-safelisted
//! request headers, forbidden names, the unsafe-name set a preflight announces, and the
//! `#field-name` / `#method` list syntax of `Access-Control-Allow-Methods/-Headers`.

use super::browser::Browser;

/// `tchar` (RFC 9110 §5.6.2).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// The outcome of parsing an `Access-Control-Allow-Methods`/`-Headers` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListParse {
    /// Header absent (Fetch's "null").
    Absent,
    /// The elements, trimmed, empty ones dropped, case preserved.
    Items(Vec<String>),
    /// An element that is not a token (as Firefox reports it: the trimmed element).
    Invalid(String),
}

/// `#rule` list parsing as Chromium's `ParseAccessControlAllowList` and Firefox do it: the lines
/// joined with `,`, split on `,`, elements trimmed of whitespace, empty elements ignored, every
/// other element must be a token (`GET PUT` or `a;b` fail the whole header).
pub fn parse_allow_list<'a>(values: impl Iterator<Item = &'a [u8]>) -> ListParse {
    let mut seen = false;
    let mut items = Vec::new();
    for line in values {
        seen = true;
        for element in line.split(|&b| b == b',') {
            let element = crate::model::trim_http_ws(element);
            if element.is_empty() {
                continue;
            }
            if !is_token(element) {
                return ListParse::Invalid(crate::model::escape_bytes(element));
            }
            // Tokens are ASCII by definition, so this conversion is lossless.
            items.push(String::from_utf8_lossy(element).into_owned());
        }
    }
    if seen {
        ListParse::Items(items)
    } else {
        ListParse::Absent
    }
}

/// CORS-safelisted methods (`#cors-safelisted-method`): byte-exact, upper case.
pub fn is_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// `#concept-method-normalize`: the six methods are upper-cased, every other is sent as written.
pub fn normalize_method(method: &str) -> String {
    for m in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if method.eq_ignore_ascii_case(m) {
            return m.to_owned();
        }
    }
    method.to_owned()
}

/// `#forbidden-request-header`: names a script cannot set, so they never count as unsafe.
pub fn is_forbidden_request_header(name: &[u8]) -> bool {
    const FORBIDDEN: [&str; 21] = [
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    ];
    // Compared in place: lower-casing into a new Vec for each header was a visible share of
    // the per-request cost.
    FORBIDDEN
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
        || starts_with_ignore_case(name, b"proxy-")
        || starts_with_ignore_case(name, b"sec-")
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
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
pub fn is_browser_added_header(name: &[u8]) -> bool {
    const ADDED: [&str; 15] = [
        "user-agent",
        "priority",
        "upgrade-insecure-requests",
        "x-client-data",
        "purpose",
        "x-purpose",
        "x-browser-channel",
        "x-browser-copyright",
        "x-browser-validation",
        "x-browser-year",
        "if-none-match",
        "if-modified-since",
        "if-range",
        "attribution-reporting-eligible",
        "attribution-reporting-support",
    ];
    ADDED
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
}

/// `#cors-unsafe-request-header-byte`.
pub fn is_unsafe_byte(b: u8) -> bool {
    UNSAFE_BYTES[usize::from(b)]
}

/// [`is_unsafe_byte`] as a table (every byte of a safelisted value is checked; scanning the
/// list per byte cost about 50 instructions a byte).
static UNSAFE_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b < 0x20 && b != 0x09) || b == 0x7f;
        b += 1;
    }
    let listed = b"\"():<>?@[\\]{}";
    let mut i = 0;
    while i < listed.len() {
        t[listed[i] as usize] = true;
        i += 1;
    }
    t
};

/// The value rule for Accept-Language and Content-Language.
fn is_language_value(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b" *,-.;=".contains(&b))
}

/// WHATWG "parse a MIME type" far enough to get the essence (type/subtype, lower-cased).
/// Parameters never make parsing fail in the standard, so they are not examined.
pub fn mime_essence(v: &[u8]) -> Option<String> {
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
    let mut essence = String::from_utf8_lossy(ty).to_ascii_lowercase();
    essence.push('/');
    essence.push_str(&String::from_utf8_lossy(sub).to_ascii_lowercase());
    Some(essence)
}

/// "Parse a single range header value" (allowWhitespace = false): `bytes=START-[END]`, and
/// the safelist additionally needs a start (`#cors-safelisted-request-header`;
/// `bytes=0-9,20-29` is preflighted in the recordings).
fn is_safelisted_range(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"bytes=") else {
        return false;
    };
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return false;
    };
    let (start, end) = (&rest[..dash], &rest[dash + 1..]);
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if start.is_empty() || !digits(start) || !digits(end) {
        return false;
    }
    if end.is_empty() {
        return true;
    }
    // Compare as decimal strings of arbitrary length: strip leading zeros, then length, then bytes.
    let strip = |s: &[u8]| -> Vec<u8> {
        let t: Vec<u8> = s.iter().copied().skip_while(|&b| b == b'0').collect();
        t
    };
    let (s, e) = (strip(start), strip(end));
    (s.len(), s) <= (e.len(), e)
}

/// Whether `name` is one of Chromium's safelisted client hints (the value decides the rest).
pub fn is_client_hint_name(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "save-data" | "device-memory" | "dpr" | "width" | "viewport-width"
    )
}

/// Chromium's extra safelist (client hints) from `services/network/public/cpp/cors/cors.cc`
/// `IsCorsSafelistedHeader`; Firefox and WebKit follow the standard list only.
fn is_chromium_client_hint(name: &[u8], value: &[u8]) -> Option<bool> {
    let lower = name.to_ascii_lowercase();
    let v = std::str::from_utf8(value).ok();
    let number = || v.is_some_and(|s| !s.is_empty() && s.parse::<f64>().is_ok_and(f64::is_finite));
    let integer = || v.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    Some(match lower.as_slice() {
        b"save-data" => value.eq_ignore_ascii_case(b"on"),
        b"device-memory" | b"dpr" => number(),
        b"width" | b"viewport-width" => integer(),
        _ => return None,
    })
}

/// `#cors-safelisted-request-header` for one (name, value), with the browser's extensions.
pub fn is_safelisted_request_header(browser: Browser, name: &[u8], value: &[u8]) -> bool {
    if value.len() > 128 {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"accept" => !value.iter().any(|&b| is_unsafe_byte(b)),
        b"accept-language" | b"content-language" => is_language_value(value),
        b"content-type" => {
            !value.iter().any(|&b| is_unsafe_byte(b))
                && mime_essence(value).is_some_and(|e| {
                    matches!(
                        e.as_str(),
                        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
                    )
                })
        }
        b"range" => is_safelisted_range(value),
        _ => {
            browser.profile().safelists_client_hints
                && is_chromium_client_hint(name, value).unwrap_or(false)
        }
    }
}

/// `#cors-unsafe-request-header-names` over the author headers of a request: lower-cased,
/// de-duplicated and sorted, including the 1024-byte rule for the safelisted ones.
/// Forbidden and browser-added headers are skipped (see `is_browser_added_header`).
pub fn unsafe_request_header_names<'a>(
    browser: Browser,
    headers: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> Vec<String> {
    let headers: Vec<(&[u8], &[u8])> = headers.collect();
    // `Cache-Control: no-cache` with `Pragma: no-cache` is what the browser itself adds to an
    // EventSource request and to every request when DevTools disables the cache; a script
    // setting both to exactly that is rare, and then its preflight (if any) tells.
    // Likewise `Cache-Control: max-age=0` alone: a reload's revalidation (Firefox).
    let value_of = |n: &str| {
        headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(n.as_bytes()))
            .map(|(_, v)| crate::model::trim_http_ws(v).to_ascii_lowercase())
    };
    let browser_no_cache = match (value_of("cache-control"), value_of("pragma")) {
        (Some(c), Some(p)) => c == b"no-cache" && p == b"no-cache",
        (Some(c), None) => c == b"max-age=0",
        _ => false,
    };
    let mut unsafe_names = Vec::new();
    let mut safelisted = Vec::new();
    let mut safelisted_bytes = 0usize;
    for (name, value) in headers.iter().copied() {
        if is_forbidden_request_header(name) || is_browser_added_header(name) {
            continue;
        }
        if browser_no_cache
            && (name.eq_ignore_ascii_case(b"cache-control") || name.eq_ignore_ascii_case(b"pragma"))
        {
            continue;
        }
        let lower = crate::model::escape_bytes(name).to_ascii_lowercase();
        // Header values are stored untrimmed; the browser saw them normalized.
        let value = crate::model::trim_http_ws(value);
        if is_safelisted_request_header(browser, name, value) {
            safelisted_bytes += value.len();
            safelisted.push(lower);
        } else {
            unsafe_names.push(lower);
        }
    }
    if safelisted_bytes > 1024 {
        unsafe_names.extend(safelisted);
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

/// Header names compared ASCII case-insensitively, for checking one request-controlled list
/// against another: a nested scan over two 13,000-name lists was quadratic, and a sorted list
/// with binary search still cost a sort and a search per name, growing with the list's length
/// (issue 18). Long lists are lower-cased into one buffer and indexed by a hash table, so
/// building is linear and a lookup is one hash: the work per name does not depend on the
/// list's length. The hasher is std's randomly keyed SipHash, so a recording cannot be crafted
/// to collide. Short lists are scanned, which allocates nothing.
pub enum NameSet<'a> {
    Few(Vec<&'a [u8]>),
    Many {
        /// Every name, lower-cased, back to back.
        buf: Vec<u8>,
        /// (start, end) of each distinct name in `buf`.
        index: hashbrown::HashTable<(u32, u32)>,
        hasher: std::hash::RandomState,
    },
}

impl std::fmt::Debug for NameSet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameSet::Few(v) => f.debug_tuple("Few").field(v).finish(),
            NameSet::Many { index, .. } => write!(f, "Many({} names)", index.len()),
        }
    }
}

impl<'a> NameSet<'a> {
    /// Lists up to this long are scanned.
    const SCAN: usize = 16;

    pub fn new(names: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut few = Vec::new();
        let mut names = names.into_iter();
        for n in names.by_ref() {
            few.push(n);
            if few.len() > Self::SCAN {
                return Self::hashed(few.into_iter().chain(names));
            }
        }
        NameSet::Few(few)
    }

    fn hashed(names: impl Iterator<Item = &'a [u8]>) -> Self {
        use std::hash::BuildHasher;
        let hasher = std::hash::RandomState::new();
        let mut buf = Vec::new();
        let mut index = hashbrown::HashTable::with_capacity(names.size_hint().0);
        for n in names {
            // Names come from single header values (at most a few MiB): u32 offsets suffice,
            // and a name past them is left out rather than wrapped.
            let (Ok(start), Ok(end)) =
                (u32::try_from(buf.len()), u32::try_from(buf.len() + n.len()))
            else {
                break;
            };
            buf.extend(n.iter().map(u8::to_ascii_lowercase));
            let name = &buf[start as usize..end as usize];
            let hash = hasher.hash_one(name);
            let at = |&(s, e): &(u32, u32)| &buf[s as usize..e as usize];
            match index.entry(hash, |k| at(k) == name, |k| hasher.hash_one(at(k))) {
                // A repeated name: its bytes are not needed twice.
                hashbrown::hash_table::Entry::Occupied(_) => buf.truncate(start as usize),
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert((start, end));
                }
            }
        }
        NameSet::Many { buf, index, hasher }
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        match self {
            NameSet::Few(v) => v.iter().any(|n| n.eq_ignore_ascii_case(name)),
            NameSet::Many { buf, index, hasher } => {
                use std::hash::BuildHasher;
                let lower;
                let name = if name.iter().any(u8::is_ascii_uppercase) {
                    lower = name.to_ascii_lowercase();
                    &lower[..]
                } else {
                    name
                };
                index
                    .find(hasher.hash_one(name), |&(s, e)| {
                        &buf[s as usize..e as usize] == name
                    })
                    .is_some()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_byte_table_is_the_fetch_definition() {
        // Fetch: a byte < 0x20 other than HT, one of "():<>?@[\]{}, or DEL.
        for b in 0..=255u8 {
            let spec = (b < 0x20 && b != 0x09) || b"\"():<>?@[\\]{}".contains(&b) || b == 0x7f;
            assert_eq!(is_unsafe_byte(b), spec, "byte {b:#04x}");
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
        assert!(is_browser_added_header(b"User-Agent"));
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
            (
                &[("Cache-Control", "max-age=0"), ("X-Token", "1")],
                &["x-token"],
            ),
            (&[("Cache-Control", "no-store")], &["cache-control"]),
            (&[("X-Browser-Whatever", "1")], &["x-browser-whatever"]),
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
