//! Client identification: which browser engine — or which non-browser tool — sent a request,
//! from its headers (User-Agent product tokens, UA client hints, fetch metadata), and which
//! browser made a HAR, from its `creator` and `browser`. CORS is enforced by browsers only, so
//! this decides whether a CORS verdict applies at all (curl, Postman and SDKs are never
//! blocked, even when they send `Origin`), and which browser's rules the evidence is read by.
//!
//! Used by both inputs: HAR (recording browser, and clients in exports by proxies such as ZAP or
//! Charles) and captures (every client IP is its own client).

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use crate::browser::Browser;
use crate::model::Headers;

/// Who sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// A browser, with its engine.
    Browser(Browser),
    /// A tool or library that is not a browser (the name shown to the user): CORS does not
    /// apply to it.
    NotBrowser(&'static str),
    /// The headers do not tell: no User-Agent, an unknown one, or signals that contradict each
    /// other (a tool's User-Agent with a browser's fetch metadata).
    Unknown,
}

/// User-Agent product tokens of HTTP clients that are not browsers: (token, name shown). A
/// token matches a product name of the User-Agent (the text before `/`, or the whole product),
/// ASCII case-insensitively. One table: add a client here, nowhere else.
const NOT_BROWSERS: &[(&str, &str)] = &[
    ("curl", "curl"),
    ("Wget", "Wget"),
    ("PostmanRuntime", "Postman"),
    ("insomnia", "Insomnia"),
    ("Thunder Client", "Thunder Client"),
    ("HTTPie", "HTTPie"),
    ("python-requests", "python-requests"),
    ("python-httpx", "python-httpx"),
    ("Python-urllib", "Python urllib"),
    ("aiohttp", "aiohttp"),
    ("Go-http-client", "Go net/http"),
    ("okhttp", "OkHttp"),
    ("Java", "Java"),
    ("Java-http-client", "Java HttpClient"),
    ("Apache-HttpClient", "Apache HttpClient"),
    ("Jakarta Commons-HttpClient", "Apache Commons HttpClient"),
    ("ReactorNetty", "Reactor Netty"),
    ("Dalvik", "Android HttpURLConnection"),
    ("axios", "axios"),
    ("node-fetch", "node-fetch"),
    ("undici", "Node.js fetch"),
    ("node", "Node.js fetch"),
    ("Deno", "Deno"),
    ("Bun", "Bun"),
    ("got", "got (Node.js)"),
    ("RestSharp", "RestSharp"),
    ("Dart", "Dart"),
    ("libwww-perl", "libwww-perl"),
    ("Faraday", "Faraday (Ruby)"),
    ("Ruby", "Ruby"),
    ("k6", "k6"),
    ("WindowsPowerShell", "PowerShell"),
    ("PowerShell", "PowerShell"),
    ("Paw", "Paw"),
    ("CFNetwork", "an Apple app (CFNetwork)"),
];

/// User-Agent product tokens of browsers, most specific first: (token, engine). iOS browsers
/// other than Safari (`CriOS`, `FxiOS`, `EdgiOS`) run on WebKit, so they come before the
/// desktop names they contain.
const BROWSERS: &[(&str, Browser)] = &[
    ("CriOS", Browser::Safari),
    ("FxiOS", Browser::Safari),
    ("EdgiOS", Browser::Safari),
    ("Firefox", Browser::Firefox),
    ("HeadlessChrome", Browser::Chromium),
    ("Chrome", Browser::Chromium),
    ("Chromium", Browser::Chromium),
    ("Edg", Browser::Chromium),
    ("OPR", Browser::Chromium),
    ("Version", Browser::Safari),
    // An app's web view (WKWebView) says neither `Version/` nor `Safari/`.
    ("AppleWebKit", Browser::Safari),
];

/// Request headers only a browser sends (a tool would have to copy them on purpose, as
/// "Copy as cURL" does): fetch metadata and UA client hints.
const BROWSER_ONLY: &[&str] = &[
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-dest",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
];

/// UA client hints: Chromium alone implements them, so they name the engine even when the
/// User-Agent is another browser's (DevTools device emulation sends an iPhone Safari UA).
const CHROMIUM_ONLY: &[&str] = &["sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform"];

/// The product names of a User-Agent (`Mozilla`, `AppleWebKit`, `Chrome`, …), without the
/// comments in parentheses.
fn products(ua: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0usize;
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in ua.char_indices() {
        match c {
            '(' => {
                if let Some(s) = start.take() {
                    out.push(&ua[s..i]);
                }
                depth += 1;
            }
            ')' => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && depth == 0 => {
                if let Some(s) = start.take() {
                    out.push(&ua[s..i]);
                }
            }
            _ if depth == 0 && start.is_none() => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&ua[s..]);
    }
    out.into_iter()
        .map(|p| p.split('/').next().unwrap_or(p).trim())
}

/// The non-browser tool a User-Agent names, if any.
pub(crate) fn tool_of_user_agent(ua: &str) -> Option<&'static str> {
    // Multi-word names first ("Thunder Client (…)", "Jakarta Commons-HttpClient/…").
    for &(token, name) in NOT_BROWSERS.iter().filter(|(t, _)| t.contains(' ')) {
        // Compared as bytes: the token's length may end inside a character of `ua` (a
        // `str` slice there panicked on such a User-Agent).
        let head = ua.as_bytes().get(..token.len());
        if head.is_some_and(|h| h.eq_ignore_ascii_case(token.as_bytes())) {
            return Some(name);
        }
    }
    products(ua).find_map(|p| {
        NOT_BROWSERS
            .iter()
            .find(|(t, _)| p.eq_ignore_ascii_case(t))
            .map(|(_, n)| *n)
    })
}

/// The browser engine a User-Agent names, if any.
pub(crate) fn browser_of_user_agent(ua: &str) -> Option<Browser> {
    let names: Vec<&str> = products(ua).collect();
    let engine = BROWSERS
        .iter()
        .find(|(t, _)| names.iter().any(|p| p.eq_ignore_ascii_case(t)))
        .map(|(_, b)| *b);
    // `Version/… Safari/…` needs WebKit; old Gecko UAs say `rv:` and `Gecko/` only.
    engine
        .filter(|b| *b != Browser::Safari || names.contains(&"AppleWebKit"))
        .or_else(|| (names.contains(&"Gecko") && ua.contains("rv:")).then_some(Browser::Firefox))
}

/// What a User-Agent names: a tool, a browser engine, both or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct UaFacts {
    tool: Option<&'static str>,
    browser: Option<Browser>,
}

/// Distinct User-Agents remembered per thread before the memo starts over: a capture has a
/// few dozen, a hostile one could have one per request, so the memo is bounded.
const UA_MEMO_MAX: usize = 1024;

/// A User-Agent text in the memo, hashed as its bytes: the memo is looked up by a header
/// line's bytes ([`UaBytes`]) before they are known to be UTF-8.
#[derive(PartialEq, Eq)]
struct UaText(Rc<str>);

impl Hash for UaText {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write(self.0.as_bytes());
    }
}

/// A User-Agent line's bytes, looking up the [`UaText`] with the same bytes.
struct UaBytes<'a>(&'a [u8]);

impl Hash for UaBytes<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write(self.0);
    }
}

impl hashbrown::Equivalent<UaText> for UaBytes<'_> {
    fn equivalent(&self, key: &UaText) -> bool {
        self.0 == key.0.as_bytes()
    }
}

/// User-Agents already read, with their facts, and the last one asked for: a flow's request
/// is identified twice (its recorder, then whether CORS applies), and a client's requests
/// come in runs, so most lookups are the last one again.
#[derive(Default)]
struct UaMemo {
    map: hashbrown::HashMap<UaText, UaFacts, foldhash::fast::RandomState>,
    last: Option<(Rc<str>, UaFacts)>,
}

thread_local! {
    /// `UaFacts` per User-Agent already read: reading the product tokens was about a tenth of
    /// the per-request cost, for the same few strings again and again. Seeded per thread.
    static UA_MEMO: RefCell<UaMemo> = RefCell::new(UaMemo::default());
}

/// [`tool_of_user_agent`] and [`browser_of_user_agent`] of `ua`.
fn read_ua(ua: &str) -> UaFacts {
    UaFacts {
        tool: tool_of_user_agent(ua),
        browser: browser_of_user_agent(ua),
    }
}

/// [`read_ua`] of `ua`, memoised.
fn ua_facts(ua: &str) -> UaFacts {
    // A `str` is UTF-8: the memo always answers.
    ua_entry(ua.as_bytes()).map_or_else(|| read_ua(ua), |(_, f)| f)
}

/// The User-Agent whose text is the bytes `ua`, as the memo's shared text and its facts
/// (read and kept when new, the bytes checked for UTF-8 only then); `None` when the bytes
/// are not UTF-8.
fn ua_entry(ua: &[u8]) -> Option<(Rc<str>, UaFacts)> {
    UA_MEMO.with_borrow_mut(|memo| {
        if let Some((k, f)) = &memo.last {
            if k.as_bytes() == ua {
                return Some((k.clone(), *f));
            }
        }
        let found = memo.map.get_key_value(&UaBytes(ua));
        let (text, f) = match found {
            Some((k, f)) => (k.0.clone(), *f),
            None => {
                let text: Rc<str> = std::str::from_utf8(ua).ok()?.into();
                let f = read_ua(&text);
                if memo.map.len() >= UA_MEMO_MAX {
                    memo.map.clear();
                }
                memo.map.insert(UaText(text.clone()), f);
                (text, f)
            }
        };
        memo.last = Some((text.clone(), f));
        Some((text, f))
    })
}

/// The facts of a User-Agent given as its one header line's trimmed bytes; bytes that are
/// not UTF-8 are read as [`Headers::get_str`] escapes them.
fn ua_facts_of_line(line: &[u8]) -> UaFacts {
    ua_entry(line).map_or_else(|| ua_facts(&crate::model::escape_bytes(line)), |(_, f)| f)
}

/// `name`'s value as [`Headers::get_str`] gives it (lines trimmed and joined, bytes that are
/// not UTF-8 escaped), borrowed from the headers in the usual case of one UTF-8 line: the
/// resolver reads the same few headers of every flow several times, and the copy was most of
/// each lookup.
pub(crate) fn header_str<'h>(
    headers: &'h Headers,
    name: &str,
) -> Option<std::borrow::Cow<'h, str>> {
    let mut lines = headers.get_all(name);
    let first = lines.next()?;
    let one_line = lines.next().is_none();
    match std::str::from_utf8(crate::model::trim_http_ws(first)) {
        Ok(v) if one_line => Some(std::borrow::Cow::Borrowed(v)),
        _ => headers.get_str(name).map(std::borrow::Cow::Owned),
    }
}

/// Calls `f` with the request's User-Agent as `Headers::get_str` gives it (joined lines, bytes
/// that are not UTF-8 escaped): in the usual case of one UTF-8 line, the memo's text of the
/// same bytes (a User-Agent's UTF-8 check was most of reading it, for every request).
pub(crate) fn with_user_agent<R>(headers: &Headers, f: impl FnOnce(Option<&str>) -> R) -> R {
    let mut lines = headers.get_all("user-agent");
    match (lines.next(), lines.next()) {
        (None, _) => f(None),
        (Some(line), None) => match ua_entry(crate::model::trim_http_ws(line)) {
            Some((text, _)) => f(Some(&text)),
            None => f(header_str(headers, "user-agent").as_deref()),
        },
        _ => f(header_str(headers, "user-agent").as_deref()),
    }
}

/// Notes whether `name` is one of [`BROWSER_ONLY`] (`seen.0`) or of [`CHROMIUM_ONLY`]
/// (`seen.1`); a list already matched is not searched again.
// Always in line: `identify` asks for every name of every request, and the call was most of
// the work for a name that is not a `sec-` one.
#[inline(always)]
fn note_browser_header(name: &[u8], seen: &mut (bool, bool)) {
    // All of them start with `sec-`: the first byte rules out most names at once.
    if name.len() < 8 || name[0] | 0x20 != b's' || !name[..4].eq_ignore_ascii_case(b"sec-") {
        return;
    }
    let is = |list: &[&str]| list.iter().any(|h| name.eq_ignore_ascii_case(h.as_bytes()));
    seen.0 = seen.0 || is(BROWSER_ONLY);
    seen.1 = seen.1 || is(CHROMIUM_ONLY);
}

/// Whether the headers carry any of [`BROWSER_ONLY`], and any of [`CHROMIUM_ONLY`]: one pass
/// over the names.
fn browser_headers(headers: &Headers) -> (bool, bool) {
    let mut seen = (false, false);
    for (name, _) in headers.iter() {
        note_browser_header(name, &mut seen);
        // Nothing is left to learn once both have matched (a Chromium request's first `sec-`
        // line usually settles both).
        if seen.0 && seen.1 {
            break;
        }
    }
    seen
}

/// Who sent a request with these headers: one pass over the names finds the User-Agent line
/// and the [`BROWSER_ONLY`] and [`CHROMIUM_ONLY`] ones (a walk for each, and the User-Agent's
/// UTF-8 check, were most of identifying a request, which every flow asks twice).
pub(crate) fn identify(headers: &Headers) -> Client {
    let mut seen = (false, false);
    let (mut ua, mut ua_lines) = (None, 0u32);
    for (name, value) in headers.iter() {
        if name.len() == 10 && name.eq_ignore_ascii_case(b"user-agent") {
            ua_lines += 1;
            ua = ua.or(Some(value));
        } else if !(seen.0 && seen.1) {
            note_browser_header(name, &mut seen);
        }
    }
    let (browser_only, chromium_only) = seen;
    let facts = match (ua, ua_lines) {
        // One line: the text `header_str` gives is its trimmed bytes (escaped if not UTF-8).
        (Some(line), 1) => ua_facts_of_line(crate::model::trim_http_ws(line)),
        (None, _) => ua_facts(""),
        // Several lines: joined as `header_str` joins them.
        _ => with_user_agent(headers, |ua| ua_facts(ua.unwrap_or_default())),
    };
    client_of(facts, browser_only, chromium_only)
}

/// Who sent a request whose User-Agent says `facts` and whose headers carry any of
/// [`BROWSER_ONLY`] and any of [`CHROMIUM_ONLY`].
fn client_of(facts: UaFacts, browser_only: bool, chromium_only: bool) -> Client {
    if let Some(tool) = facts.tool {
        return if browser_only {
            Client::Unknown
        } else {
            Client::NotBrowser(tool)
        };
    }
    if chromium_only {
        return Client::Browser(Browser::Chromium);
    }
    match facts.browser {
        Some(b) => Client::Browser(b),
        None => Client::Unknown,
    }
}

/// The protocol a request was written in: its wire shape is read from different places.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wire {
    /// HTTP/1.x: the order of the first header lines.
    H1,
    /// HTTP/2: the order of the request pseudo-headers.
    H2,
}

pub use crate::model::PseudoOrder;

/// How an engine writes a request, beside what it sends.
enum Shape {
    /// HTTP/1.x: the first header lines, in order: (name, the value it must have, if any).
    H1(&'static [(&'static str, Option<&'static str>)]),
    /// HTTP/2: the request pseudo-headers, in order.
    H2(&'static [&'static str]),
}

/// Each engine's wire shape, as recorded (Chromium 156, Firefox 153, WebKitGTK; HTTP/2 over
/// TLS checked with tshark on every request of the tls-dev recordings). One table: a shape
/// names at most one engine. WebKit's HTTP/1.1 (`Host` last, `Connection: Keep-Alive`) is not
/// a prefix shape, so it has no row: such requests name no engine.
const SHAPES: &[(Shape, Browser)] = &[
    (
        Shape::H1(&[("host", None), ("connection", Some("keep-alive"))]),
        Browser::Chromium,
    ),
    (
        Shape::H1(&[("host", None), ("user-agent", None)]),
        Browser::Firefox,
    ),
    (
        Shape::H2(&[":method", ":authority", ":scheme", ":path"]),
        Browser::Chromium,
    ),
    (
        Shape::H2(&[":method", ":path", ":authority", ":scheme"]),
        Browser::Firefox,
    ),
    (
        Shape::H2(&[":method", ":scheme", ":authority", ":path"]),
        Browser::Safari,
    ),
];

impl Shape {
    fn matches(&self, headers: &Headers, pseudo: Option<&PseudoOrder>) -> bool {
        match (self, pseudo) {
            (Shape::H1(lines), None) => {
                let mut got = headers.iter();
                lines.iter().all(|(name, value)| {
                    got.next().is_some_and(|(n, v)| {
                        n.eq_ignore_ascii_case(name.as_bytes())
                            && value.is_none_or(|want| v.trim_ascii() == want.as_bytes())
                    })
                })
            }
            (Shape::H2(names), Some(p)) => p.is(names),
            _ => false,
        }
    }
}

/// The engine that wrote a request, from how it is written (its `SHAPES` row: first header
/// lines on HTTP/1.x, pseudo-header order on HTTP/2 when `pseudo` is given) with the
/// User-Agent naming the same engine, no tool, and UA client hints only from Chromium, whose
/// `sec-ch-ua` lists the `Chromium` brand. Anything else (tools, proxies, an unknown shape, a
/// shape and a User-Agent that disagree) is `None`: a client copying a browser's User-Agent
/// is not taken for the browser.
pub fn wire_engine(headers: &Headers, pseudo: Option<&PseudoOrder>) -> Option<(Browser, Wire)> {
    with_user_agent(headers, |ua| wire_engine_of(headers, pseudo, ua))
}

/// [`wire_engine`] with the request's User-Agent as [`with_user_agent`] gives it, for a caller
/// that reads the User-Agent anyway.
pub(crate) fn wire_engine_of(
    headers: &Headers,
    pseudo: Option<&PseudoOrder>,
    ua: Option<&str>,
) -> Option<(Browser, Wire)> {
    let engine = shape_engine(headers, pseudo)?;
    let facts = ua.map(ua_facts)?;
    // Any line naming the brand: the same as the joined value naming it. The names are
    // walked for hints only when the brands do not settle it.
    let brands_ok = || {
        let mut brands = headers.get_all("sec-ch-ua").peekable();
        brands.peek().is_none()
            || brands.any(|b| memchr::memmem::find(b, b"\"Chromium\"").is_some())
    };
    agreeing(engine, facts, brands_ok, || browser_headers(headers).1)
        .then_some((engine, wire_of(pseudo)))
}

/// The engine whose [`SHAPES`] row the request's first lines (or pseudo-header order) match.
fn shape_engine(headers: &Headers, pseudo: Option<&PseudoOrder>) -> Option<Browser> {
    SHAPES
        .iter()
        .find(|(shape, _)| shape.matches(headers, pseudo))
        .map(|(_, b)| *b)
}

/// The protocol a request with (or without) a pseudo-header order was written in.
fn wire_of(pseudo: Option<&PseudoOrder>) -> Wire {
    if pseudo.is_some() {
        Wire::H2
    } else {
        Wire::H1
    }
}

/// Whether a request whose shape names `engine` and whose User-Agent says `facts` is that
/// engine's: no tool, the same engine, and UA client hints (`chromium_only`) only from
/// Chromium, whose `sec-ch-ua` names the `Chromium` brand (`brands_ok`: no such line, or one
/// naming it). The two are asked only when needed.
fn agreeing(
    engine: Browser,
    facts: UaFacts,
    brands_ok: impl FnOnce() -> bool,
    chromium_only: impl FnOnce() -> bool,
) -> bool {
    if facts.tool.is_some() || facts.browser != Some(engine) {
        return false;
    }
    engine == Browser::Chromium && brands_ok() || !chromium_only()
}

/// What the connection pool (`capture::pool`) reads of a request's header lines, found in one
/// walk over the names (a walk each for the User-Agent, the client hints, the brands and the
/// `Cookie`, and a second reading of the User-Agent, were about 1,200 instructions a
/// request): the User-Agent line, the client hints and brands [`wire_engine`] asks about, and
/// the lines that show credentials or a preflight.
#[derive(Debug, Default)]
pub(crate) struct RequestLines<'h> {
    /// The first User-Agent line, and how many there are.
    ua: Option<&'h [u8]>,
    ua_lines: u32,
    /// A `sec-ch-ua` line, and one naming the `Chromium` brand.
    brands: bool,
    chromium_brand: bool,
    /// A line of [`CHROMIUM_ONLY`].
    chromium_only: bool,
    /// A `Cookie` line.
    pub(crate) cookie: bool,
    /// An `Origin` and an `Access-Control-Request-Method` line (a preflight's).
    pub(crate) origin: bool,
    pub(crate) request_method: bool,
}

/// [`CHROMIUM_ONLY`] as a length-tested list: asked of every name of every request.
const CHROMIUM_ONLY_LIST: crate::model::NameList = crate::model::NameList::new(CHROMIUM_ONLY);

/// The names [`RequestLines::of`] reads besides [`CHROMIUM_ONLY`].
const REQUEST_LINE_NAMES: &[&str] = &[
    "user-agent",
    "cookie",
    "origin",
    "access-control-request-method",
];

impl<'h> RequestLines<'h> {
    /// One walk over `headers`' lines; those whose name has none of the lengths looked for
    /// are passed over on their span.
    pub(crate) fn of(headers: &'h Headers) -> Self {
        const LENGTHS: u64 =
            Headers::lengths_of(REQUEST_LINE_NAMES) | Headers::lengths_of(CHROMIUM_ONLY);
        let mut s = RequestLines::default();
        for (name, value) in headers.of_lengths(LENGTHS) {
            match name.len() {
                10 if name.eq_ignore_ascii_case(b"user-agent") => {
                    s.ua_lines += 1;
                    s.ua = s.ua.or(Some(value));
                }
                6 if name.eq_ignore_ascii_case(b"cookie") => s.cookie = true,
                6 if name.eq_ignore_ascii_case(b"origin") => s.origin = true,
                29 if name.eq_ignore_ascii_case(b"access-control-request-method") => {
                    s.request_method = true;
                }
                _ if CHROMIUM_ONLY_LIST.contains(name) => {
                    s.chromium_only = true;
                    if name.eq_ignore_ascii_case(b"sec-ch-ua") {
                        s.brands = true;
                        s.chromium_brand |= memchr::memmem::find(value, b"\"Chromium\"").is_some();
                    }
                }
                _ => {}
            }
        }
        s
    }

    /// [`wire_engine`] of the request these are the lines of (`headers`, with `pseudo`), and
    /// the hash (by `hasher`) of its User-Agent as [`with_user_agent`] gives it (an
    /// `Option<&str>`): the usual single UTF-8 line is read once, through the memo.
    pub(crate) fn wire_engine_and_agent(
        &self,
        headers: &Headers,
        pseudo: Option<&PseudoOrder>,
        hasher: &impl std::hash::BuildHasher,
    ) -> (Option<(Browser, Wire)>, u64) {
        let entry = match (self.ua, self.ua_lines) {
            (Some(line), 1) => ua_entry(crate::model::trim_http_ws(line)),
            (None, _) => return (None, hasher.hash_one(None::<&str>)),
            _ => None,
        };
        let Some((text, facts)) = entry else {
            // Several lines, or bytes that are not UTF-8: as `with_user_agent` reads them.
            return with_user_agent(headers, |ua| {
                (wire_engine_of(headers, pseudo, ua), hasher.hash_one(ua))
            });
        };
        let agent = hasher.hash_one(Some(&*text));
        let engine = shape_engine(headers, pseudo).filter(|engine| {
            agreeing(
                *engine,
                facts,
                || !self.brands || self.chromium_brand,
                || self.chromium_only,
            )
        });
        (engine.map(|e| (e, wire_of(pseudo))), agent)
    }
}

/// Why a verdict about `client` would be a guess, for a note: `None` for a known browser.
pub(crate) fn doubt(client: Client, headers: &Headers) -> Option<String> {
    match client {
        Client::Browser(_) => None,
        Client::NotBrowser(tool) => Some(format!(
            "not a browser: CORS is not enforced; the request came from {tool}"
        )),
        Client::Unknown => Some(match headers.get_str("user-agent") {
            None => "the client is not identified: no User-Agent (every browser sends one)".to_owned(),
            Some(ua) if tool_of_user_agent(&ua).is_some() => format!(
                "the client is not identified: the User-Agent names a tool ({ua}) but the request carries a browser's fetch metadata"
            ),
            Some(ua) => format!("the client is not identified: an unknown User-Agent ({ua})"),
        }),
    }
}

/// The browser that made a HAR, from its `log.browser` name or its `log.creator` name.
pub(crate) fn recording_browser(creator: Option<&str>, browser: Option<&str>) -> Option<Browser> {
    let b = browser.unwrap_or("").to_ascii_lowercase();
    let named = |s: &str| -> Option<Browser> {
        if s.contains("firefox") || s.contains("gecko") {
            Some(Browser::Firefox)
        } else if s.contains("chrom") || s.contains("edge") || s.contains("brave") {
            Some(Browser::Chromium)
        } else if s.contains("safari") || s.contains("webkit") {
            Some(Browser::Safari)
        } else {
            None
        }
    };
    if let Some(x) = named(&b) {
        return Some(x);
    }
    let c = creator.unwrap_or("").to_ascii_lowercase();
    if c == "webinspector"
        || c.contains("chrome-har")
        || c.contains("browsertime")
        || c.contains("sitespeed")
    {
        // Chrome's DevTools (also Edge and Brave), and chrome-har (built on the DevTools
        // protocol).
        return Some(Browser::Chromium);
    }
    if c.contains("firefox") {
        return Some(Browser::Firefox);
    }
    if c.contains("webkit") || c.contains("safari") {
        return Some(Browser::Safari);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36";
    const HEADLESS: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
    const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36 Edg/146.0.0.0";
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0";
    const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.4 Safari/605.1.15";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1";
    const CHROME_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/137.0.7151.51 Mobile/15E148 Safari/604.1";
    const POWERSHELL: &str =
        "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4648";

    fn h(list: &[(&str, &str)]) -> Headers {
        list.iter().copied().collect()
    }

    #[test]
    fn memoised_user_agent_facts_are_the_direct_ones() {
        // Twice each (the second from the memo), and past the memo's bound.
        let many: Vec<String> = (0..UA_MEMO_MAX + 3)
            .map(|i| format!("Tool{i}/1.0"))
            .collect();
        let uas = [
            CHROME,
            FIREFOX,
            SAFARI,
            POWERSHELL,
            "curl/8.5.0",
            "",
            "Thunder Client (x)",
        ];
        for ua in uas
            .into_iter()
            .chain(uas)
            .chain(many.iter().map(String::as_str))
        {
            let want = (tool_of_user_agent(ua), browser_of_user_agent(ua));
            let got = ua_facts(ua);
            assert_eq!((got.tool, got.browser), want, "{ua}");
        }
        assert!(UA_MEMO.with_borrow(|m| m.map.len()) <= UA_MEMO_MAX);
    }

    #[test]
    fn borrowed_user_agent_is_get_str() {
        let mut bad = Headers::new();
        bad.push(b"User-Agent", b"curl/8\xff");
        let cases = [
            h(&[]),
            h(&[("user-agent", " curl/8.5.0 \t")]),
            h(&[("User-Agent", "a"), ("x", "y"), ("USER-AGENT", "b")]),
            bad,
        ];
        // Twice each: the second from the memo.
        for headers in cases.iter().chain(&cases) {
            let want = headers.get_str("user-agent");
            with_user_agent(headers, |ua| assert_eq!(ua, want.as_deref(), "{headers:?}"));
        }
    }

    /// [`identify`] as it was: a walk for the hint names, one for the User-Agent as
    /// `header_str` gives it, the facts read without the memo.
    fn identify_reference(headers: &Headers) -> Client {
        let (browser_only, chromium_only) = browser_headers(headers);
        let facts = with_user_agent(headers, |ua| read_ua(ua.unwrap_or_default()));
        client_of(facts, browser_only, chromium_only)
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Any list of User-Agent lines (any bytes, padded, repeated) and hint names:
        /// identified as the two walks and the direct reading do.
        #[test]
        fn identify_is_the_reference(
            lines in proptest::collection::vec(
                (
                    proptest::sample::select(&[
                        "User-Agent", "user-agent", "USER-AGENT", "sec-fetch-mode",
                        "Sec-CH-UA", "sec-ch-ua-mobile", "sec-fetch-x", "sec-", "host", "user-agenx",
                    ][..]),
                    proptest::prop_oneof![
                        proptest::sample::select(&[
                            CHROME, FIREFOX, SAFARI, IPHONE, POWERSHELL, " curl/8.5.0 \t", "", "node",
                        ][..]).prop_map(|v: &str| v.as_bytes().to_vec()),
                        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
                    ],
                ),
                0..6,
            ),
        ) {
            let mut headers = Headers::new();
            for (name, value) in &lines {
                headers.push(name.as_bytes(), value);
            }
            // Twice: the second from the memo.
            proptest::prop_assert_eq!(identify(&headers), identify_reference(&headers));
            proptest::prop_assert_eq!(identify(&headers), identify_reference(&headers));
        }

        /// The pool's one walk over a request's lines answers as the walks it stands for: the
        /// wire engine and the User-Agent's hash as `with_user_agent` gives it, and which of
        /// `Cookie`, `Origin` and `Access-Control-Request-Method` it carries (any case,
        /// repeated, empty, non-UTF-8 User-Agents, brands with and without `Chromium`).
        #[test]
        fn request_lines_are_the_walks(
            lines in proptest::collection::vec(
                (
                    proptest::sample::select(&[
                        "User-Agent", "user-agent", "Host", "Connection", "Sec-CH-UA",
                        "sec-ch-ua-platform", "sec-fetch-mode", "Cookie", "ORIGIN",
                        "access-control-request-method", "cookiez", "originx",
                    ][..]),
                    proptest::prop_oneof![
                        proptest::sample::select(&[
                            CHROME, FIREFOX, SAFARI, IPHONE, " curl/8.5.0 \t", "", "keep-alive",
                            "\"Chromium\";v=\"156\"", "\"Google Chrome\";v=\"156\"", "x=1",
                        ][..]).prop_map(|v: &str| v.as_bytes().to_vec()),
                        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
                    ],
                ),
                0..7,
            ),
            h2 in proptest::prelude::any::<bool>(),
        ) {
            let mut headers = Headers::new();
            for (name, value) in &lines {
                headers.push(name.as_bytes(), value);
            }
            let mut pseudo = PseudoOrder::default();
            for n in [":method", ":authority", ":scheme", ":path"] {
                pseudo.push(n.as_bytes());
            }
            let pseudo = h2.then_some(&pseudo);
            let hasher = foldhash::fast::RandomState::default();
            let want = with_user_agent(&headers, |ua| {
                (wire_engine(&headers, pseudo), std::hash::BuildHasher::hash_one(&hasher, ua))
            });
            let read = RequestLines::of(&headers);
            // Twice: the second from the memo.
            for _ in 0..2 {
                proptest::prop_assert_eq!(read.wire_engine_and_agent(&headers, pseudo, &hasher), want);
            }
            proptest::prop_assert_eq!(read.cookie, headers.contains("cookie"));
            proptest::prop_assert_eq!(read.origin, headers.contains("origin"));
            proptest::prop_assert_eq!(
                read.request_method,
                headers.contains("access-control-request-method")
            );
        }
    }

    #[test]
    fn a_multi_word_tool_name_ending_inside_a_character_is_no_match() {
        // "Thunder Client" is 14 bytes; the 14th byte of this User-Agent is inside `А`.
        let ua = "Thunder ClienА/1";
        assert_eq!(tool_of_user_agent(ua), None);
        assert_eq!(identify(&h(&[("User-Agent", ua)])), Client::Unknown);
    }

    #[test]
    fn identifies_clients() {
        use crate::browser::Browser::*;
        use Client::*;
        let cases: &[(&[(&str, &str)], Client)] = &[
            (&[("User-Agent", CHROME)], Browser(Chromium)),
            (&[("User-Agent", HEADLESS)], Browser(Chromium)),
            (&[("User-Agent", EDGE)], Browser(Chromium)),
            (&[("User-Agent", FIREFOX)], Browser(Firefox)),
            (&[("User-Agent", SAFARI)], Browser(Safari)),
            (&[("User-Agent", IPHONE)], Browser(Safari)),
            (&[("User-Agent", CHROME_IOS)], Browser(Safari)),
            (
                &[("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148")],
                Browser(Safari),
            ),
            // DevTools device emulation: an iPhone UA, but Chromium's client hints.
            (
                &[("User-Agent", IPHONE), ("sec-ch-ua-mobile", "?1")],
                Browser(Chromium),
            ),
            (&[("User-Agent", "curl/8.5.0")], NotBrowser("curl")),
            (
                &[("User-Agent", "PostmanRuntime/7.43.0"), ("Origin", "https://a.test")],
                NotBrowser("Postman"),
            ),
            (&[("User-Agent", "python-requests/2.32.3")], NotBrowser("python-requests")),
            (&[("User-Agent", "Go-http-client/2.0")], NotBrowser("Go net/http")),
            (&[("User-Agent", "okhttp/4.12.0")], NotBrowser("OkHttp")),
            (&[("User-Agent", "Java/17.0.9")], NotBrowser("Java")),
            (
                &[("User-Agent", "Apache-HttpClient/4.5.14 (Java/17.0.9)")],
                NotBrowser("Apache HttpClient"),
            ),
            (&[("User-Agent", "axios/1.7.9")], NotBrowser("axios")),
            (&[("User-Agent", "node")], NotBrowser("Node.js fetch")),
            (
                &[("User-Agent", "Thunder Client (https://www.thunderclient.com)")],
                NotBrowser("Thunder Client"),
            ),
            (&[("User-Agent", POWERSHELL)], NotBrowser("PowerShell")),
            (
                &[("User-Agent", "MyApp/3 CFNetwork/1568.100.1 Darwin/24.0.0")],
                NotBrowser("an Apple app (CFNetwork)"),
            ),
            // A tool's User-Agent with a browser's fetch metadata: a page that set its own
            // User-Agent (Firefox allows it), or a tool replaying a browser's headers.
            (
                &[("User-Agent", "curl/8.5.0"), ("Sec-Fetch-Mode", "cors")],
                Unknown,
            ),
            (&[], Unknown),
            (&[("User-Agent", "MyCompanyClient/1.0")], Unknown),
            (&[("Sec-Fetch-Mode", "cors")], Unknown),
        ];
        for (headers, want) in cases {
            assert_eq!(identify(&h(headers)), *want, "{headers:?}");
        }
    }

    /// `wire_engine`: the shape (HTTP/1 first lines, HTTP/2 pseudo-header order) and the
    /// User-Agent must name the same engine; tools, unknown shapes and disagreement name none.
    #[test]
    fn wire_shapes() {
        use crate::browser::Browser::*;
        use Wire::*;
        const WEBKIT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15";
        const BRANDS: &str =
            r#""Chromium";v="156", "Not)A;Brand";v="24", "HeadlessChrome";v="156""#;
        let cr2 = [":method", ":authority", ":scheme", ":path"];
        let ff2 = [":method", ":path", ":authority", ":scheme"];
        let wk2 = [":method", ":scheme", ":authority", ":path"];
        let curl2 = [":method", ":path", ":scheme", ":authority"];
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            Option<&'a [&'a str]>,
            Option<(Browser, Wire)>,
        );
        let cases: &[Case] = &[
            // HTTP/1.1.
            (
                &[
                    ("Host", "a"),
                    ("Connection", "keep-alive"),
                    ("User-Agent", HEADLESS),
                ],
                None,
                Some((Chromium, H1)),
            ),
            (
                &[
                    ("Host", "a"),
                    ("User-Agent", FIREFOX),
                    ("Connection", "keep-alive"),
                ],
                None,
                Some((Firefox, H1)),
            ),
            // WebKitGTK: Host last, `Keep-Alive`.
            (
                &[
                    ("User-Agent", WEBKIT),
                    ("Connection", "Keep-Alive"),
                    ("Host", "a"),
                ],
                None,
                None,
            ),
            // A Chrome User-Agent on a request not written like Chromium's (a tool copying it).
            (
                &[("Host", "a"), ("User-Agent", CHROME), ("Accept", "*/*")],
                None,
                None,
            ),
            (
                &[
                    ("Host", "a"),
                    ("Connection", "close"),
                    ("User-Agent", CHROME),
                ],
                None,
                None,
            ),
            // Chromium's order with a Safari User-Agent: the two disagree.
            (
                &[
                    ("Host", "a"),
                    ("Connection", "keep-alive"),
                    ("User-Agent", WEBKIT),
                ],
                None,
                None,
            ),
            (&[("Host", "a")], None, None),
            // HTTP/2: preflights carry no client hints, other requests Chromium's brands.
            (
                &[("user-agent", HEADLESS)],
                Some(&cr2),
                Some((Chromium, H2)),
            ),
            (
                &[("sec-ch-ua", BRANDS), ("user-agent", CHROME)],
                Some(&cr2),
                Some((Chromium, H2)),
            ),
            (&[("user-agent", EDGE)], Some(&cr2), Some((Chromium, H2))),
            (&[("user-agent", FIREFOX)], Some(&ff2), Some((Firefox, H2))),
            (&[("user-agent", WEBKIT)], Some(&wk2), Some((Safari, H2))),
            // Shapes and User-Agents that disagree, client hints from a non-Chromium shape or
            // without the Chromium brand, a tool, no User-Agent, an unknown order.
            (&[("user-agent", FIREFOX)], Some(&cr2), None),
            (&[("user-agent", CHROME)], Some(&ff2), None),
            (&[("user-agent", CHROME)], Some(&wk2), None),
            (
                &[("sec-ch-ua-mobile", "?0"), ("user-agent", FIREFOX)],
                Some(&ff2),
                None,
            ),
            (
                &[("sec-ch-ua", r#""Other";v="1""#), ("user-agent", CHROME)],
                Some(&cr2),
                None,
            ),
            (&[("user-agent", "curl/8.5.0")], Some(&curl2), None),
            (&[("user-agent", "curl/8.5.0")], Some(&cr2), None),
            (&[], Some(&cr2), None),
            (&[("user-agent", CHROME)], Some(&curl2), None),
            (&[("user-agent", CHROME)], Some(&cr2[..3]), None),
            // HTTP/1 shape with an HTTP/2 block, and the reverse: the protocol decides.
            (
                &[
                    ("Host", "a"),
                    ("Connection", "keep-alive"),
                    ("User-Agent", CHROME),
                ],
                Some(&[]),
                None,
            ),
        ];
        for (headers, order, want) in cases {
            let pseudo = order.map(|o| {
                let mut p = PseudoOrder::default();
                o.iter().for_each(|n| p.push(n.as_bytes()));
                p
            });
            assert_eq!(
                wire_engine(&h(headers), pseudo.as_ref()),
                *want,
                "{headers:?} {order:?}"
            );
        }
    }

    /// Repeated, unknown or late pseudo-headers match no shape.
    #[test]
    fn odd_pseudo_orders_match_nothing() {
        let cr2 = [":method", ":authority", ":scheme", ":path"];
        let build = |names: &[&str], late: bool| {
            let mut p = PseudoOrder::default();
            names.iter().for_each(|n| p.push(n.as_bytes()));
            if late {
                p.mark_odd();
            }
            p
        };
        assert!(build(&cr2, false).is(&cr2));
        assert!(!build(&cr2, true).is(&cr2));
        assert!(!build(
            &[":method", ":method", ":authority", ":scheme", ":path"],
            false
        )
        .is(&cr2));
        assert!(!build(&[":method", ":x", ":authority", ":scheme", ":path"], false).is(&cr2));
        let all = [
            ":method",
            ":scheme",
            ":authority",
            ":path",
            ":protocol",
            ":method",
        ];
        assert!(!build(&all, false).is(&all[..5]));
        assert!(build(&all[..5], false).is(&all[..5]));
    }

    #[test]
    fn identifies_the_recording_browser() {
        use crate::browser::Browser::*;
        let cases: &[(Option<&str>, Option<&str>, Option<Browser>)] = &[
            (Some("WebInspector"), None, Some(Chromium)),
            (Some("WebInspector"), Some("Chrome"), Some(Chromium)),
            (Some("WebKit Web Inspector"), None, Some(Safari)),
            (Some("Firefox"), Some("Firefox"), Some(Firefox)),
            (Some("Playwright"), Some("chromium"), Some(Chromium)),
            (Some("Playwright"), Some("firefox"), Some(Firefox)),
            (Some("Playwright"), Some("webkit"), Some(Safari)),
            (Some("chrome-har"), None, Some(Chromium)),
            (Some("Playwright"), None, None),
            (Some("OWASP ZAP"), None, None),
            (None, None, None),
        ];
        for (creator, browser, want) in cases {
            assert_eq!(
                recording_browser(*creator, *browser),
                *want,
                "{creator:?} {browser:?}"
            );
        }
    }

    #[test]
    fn products_skip_comments() {
        let p: Vec<&str> = products(CHROME).collect();
        assert_eq!(p, ["Mozilla", "AppleWebKit", "Chrome", "Safari"]);
        let p: Vec<&str> = products("x (a (b) c) y/1").collect();
        assert_eq!(p, ["x", "y"]);
    }
}

#[cfg(test)]
mod capture_tests {
    //! Issue 19.5 from a capture: tools that send `Origin` get no CORS verdict.
    use std::io::Cursor;
    use std::sync::Arc;

    use crate::capture::testutil::{pcap, Conv};
    use crate::pipeline::{analyze_input, InputReport, Options};

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36";

    #[test]
    fn tools_in_a_capture_get_no_cors_verdict() {
        let clients = [
            ("curl/8.5.0", "not-cors"),
            ("PostmanRuntime/7.43.0", "not-cors"),
            ("python-requests/2.32.3", "not-cors"),
            ("Go-http-client/1.1", "not-cors"),
            ("okhttp/4.12.0", "not-cors"),
            (CHROME, "blocked"),
            // No User-Agent at all: taken as a browser's, as before.
            ("", "blocked"),
            ("MyCompanyClient/1.0", "unknown"),
        ];
        let mut frames = Vec::new();
        for (i, (ua, _)) in clients.iter().enumerate() {
            let mut c = Conv::new(40_000 + i as u16);
            c.ts += i as i64 * 1_000_000;
            let ua_line = if ua.is_empty() {
                String::new()
            } else {
                format!("User-Agent: {ua}\r\n")
            };
            let req = format!(
                "GET /api/{i} HTTP/1.1\r\nHost: api.test\r\nOrigin: http://app.test\r\n{ua_line}\r\n"
            );
            c.handshake()
                .client(req.as_bytes(), 1460)
                .server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1460)
                .fins();
            frames.extend(c.frames);
        }
        let bytes = pcap(&frames, 1, false, false);
        let input =
            crate::input::from_reader(Arc::from("t.pcap"), Box::new(Cursor::new(bytes))).unwrap();
        let opts = Options {
            all: true,
            ..Options::default()
        };
        let mut recs = Vec::new();
        analyze_input(input, &opts, &mut |r| recs.push(r), InputReport::default());
        assert_eq!(recs.len(), clients.len());
        for (i, (ua, want)) in clients.iter().enumerate() {
            let r = recs
                .iter()
                .find(|r| r.url.ends_with(&format!("/api/{i}")))
                .expect("a record per request");
            for got in [r.verdict, r.firefox_verdict, r.safari_verdict] {
                assert_eq!(got, *want, "{ua}: {r:?}");
            }
            if *want == "not-cors" {
                let note = r.note.as_deref().unwrap_or_default();
                assert!(
                    note.contains("not a browser: CORS is not enforced"),
                    "{note}"
                );
                assert!(r.fix.is_none());
            }
        }
    }
}
