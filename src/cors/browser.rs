//! Browser profiles: every rule on which Chromium, Firefox and WebKit (Safari) differ is a field
//! here, read by the one engine; `DIFFERENCES` lists each with its source.

pub(crate) use crate::browser::all_names;
pub use crate::browser::{Browser, PerBrowser, ALL_BROWSERS};

/// How `Access-Control-Max-Age` is read (Chromium `preflight_result.cc`, Firefox
/// `nsCORSListenerProxy.cpp`, WebKit `parseAccessControlMaxAge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxAgeSyntax {
    /// `base::StringToInt64`: unparsable → default, negative → 0 (Chromium `preflight_result.cc`).
    SignedIntegerOrDefault,
    /// Only ASCII digits; anything else means "do not cache" (Firefox `nsCORSListenerProxy.cpp`).
    DigitsOrNoCache,
    /// `toUIntStrict`: unsigned integer, anything else → default (WebKit
    /// `CrossOriginPreflightResultCache.cpp`).
    UnsignedOrDefault,
}

/// How a browser classifies a failing `Access-Control-Allow-Origin` (the check order differs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowOriginRules {
    /// `cors.cc` CheckAccess: `*` → missing → space/comma → `null` → GURL validity → mismatch.
    Chromium,
    /// `CheckRequestApproved`: header lines > 1 → missing → `*` → mismatch.
    Firefox,
    /// `passesAccessControlCheck`: `*` → mismatch, where a `,` means "more than one origin".
    WebKit,
}

/// How a browser reads an HTTP/1.x response head (rows `head-space-before-colon` and
/// `head-size-limit` of [`DIFFERENCES`]; the rules all three share are in `headview`).
/// Confirmed by the probe recordings in `tests/data/probe-parse`.
#[derive(Clone, Copy, Debug)]
pub struct HeadRules {
    /// Keeps a header line written with whitespace before the colon (its name trimmed);
    /// otherwise the line is dropped.
    pub keeps_space_before_colon: bool,
    /// The largest head (status line through the blank line, in bytes) seen accepted, and the
    /// smallest seen failed; sizes between are not confirmed either way.
    pub max_head_accepted: u64,
    pub min_head_rejected: u64,
    /// What the browser reports for a head over its limit (a network error, not CORS).
    pub head_too_big: &'static str,
    /// What it reports for a head holding a NUL byte (all three fail it).
    pub nul_in_head: &'static str,
}

/// How a browser parses a request's `Content-Type` to decide whether it is safelisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestMimeParser {
    /// WHATWG "parse a MIME type": type and subtype must be tokens, parameters never make it
    /// fail (Chromium `net::ExtractMimeTypeFromMediaType`, WebKit `ParsedContentType`).
    Whatwg,
    /// Firefox `net_ParseRequestContentType` (`netwerk/base/nsURLHelper.cpp`): a `,` outside a
    /// quoted string fails; the type is whatever precedes the first space, tab or `;` (so
    /// `text/plain x;a=b` is `text/plain`); a `;` that ends a value after a parameter is left
    /// unconsumed and fails it (`text/plain;charset=utf-8;`, `text/plain;;`).
    FirefoxNetUtil,
}

/// How a browser reads a `Range` value for the safelist (a single `bytes=START-[END]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeSyntax {
    /// `Bytes=` / `BYTES=` accepted (WebKit).
    pub unit_any_case: bool,
    /// A `+` before either number accepted (WebKit: `bytes=+1-2`).
    pub plus_sign: bool,
    /// The largest accepted position (Chromium parses into an `int64` and refuses
    /// 9223372036854775807 itself; Firefox and WebKit take any `uint64`).
    pub max: u64,
}

/// What a value must look like for a name on a browser's extra safelist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtraValue {
    /// Any value (Chromium's `Intervention`).
    Any,
    /// `1*DIGIT ["." 1*DIGIT]` (Chromium `IsSimilarToDoubleABNF`).
    Decimal,
    /// `1*DIGIT` (Chromium `IsSimilarToIntABNF`).
    Integer,
    /// One of the effective connection types `slow-2g`, `2g`, `3g`, `4g`, byte-exact.
    ConnectionType,
    /// `on`, ASCII case-insensitive (`Save-Data`).
    On,
}

/// The request-side CORS-safelist (`#cors-safelisted-request-header`) as a browser implements it.
#[derive(Clone, Copy, Debug)]
pub struct Safelist {
    pub mime: RequestMimeParser,
    /// Every byte at or above 0x80 in `Accept` or `Content-Type` counts as CORS-unsafe (Firefox;
    /// the standard's unsafe bytes are all ASCII).
    pub non_ascii_unsafe: bool,
    pub range: RangeSyntax,
    /// Names safelisted beyond the standard's five, with their value rule (Chromium
    /// `services/network/public/cpp/cors/cors.cc` `IsCorsSafelistedHeader`).
    pub extra: &'static [(&'static str, ExtraValue)],
}

impl Safelist {
    /// The value rule of `name` when it is on this browser's extra safelist.
    pub(crate) fn extra_rule(&self, name: &[u8]) -> Option<ExtraValue> {
        self.extra
            .iter()
            .find(|(n, _)| name.eq_ignore_ascii_case(n.as_bytes()))
            .map(|(_, v)| *v)
    }
}

/// Chromium's extra safelisted names (the deprecated client hints, `Intervention`, `Save-Data`).
const CHROMIUM_EXTRA_SAFELIST: &[(&str, ExtraValue)] = &[
    ("intervention", ExtraValue::Any),
    ("device-memory", ExtraValue::Decimal),
    ("dpr", ExtraValue::Decimal),
    ("downlink", ExtraValue::Decimal),
    ("width", ExtraValue::Integer),
    ("viewport-width", ExtraValue::Integer),
    ("rtt", ExtraValue::Integer),
    ("ect", ExtraValue::ConnectionType),
    ("save-data", ExtraValue::On),
];

#[derive(Clone, Debug)]
pub struct Profile {
    pub browser: Browser,
    /// The version the rules were confirmed against (the corpus recordings).
    pub recorded_version: &'static str,
    pub allow_origin_rules: AllowOriginRules,
    /// WebKit checks the preflight's status before its ACAO; Chromium and Firefox after.
    pub preflight_status_before_allow_origin: bool,
    /// WebKit treats a 3xx preflight as an unsuccessful status, with no redirect reason.
    pub preflight_redirect_is_bad_status: bool,
    /// Firefox reports a failing ACAO on a 3xx preflight before the redirect itself.
    pub preflight_redirect_checks_allow_origin_first: bool,
    /// Firefox over HTTP/2 sees repeated `Access-Control-Allow-Origin` fields as one value
    /// joined with `, ` (a mismatch), not as several header lines.
    pub joins_repeated_allow_origin_over_http2: bool,
    /// WebKit over HTTP/2 compares an `Access-Control-Allow-Origin` value with the whitespace
    /// around it (HPACK carries the value as sent); the others trim it (difference
    /// `acao-whitespace-http2`).
    pub keeps_allow_origin_whitespace_over_http2: bool,
    /// The request-side safelist (differences `content-type-*`, `non-ascii-*`, `range-*`,
    /// `client-hints`).
    pub safelist: Safelist,
    /// `Access-Control-Allow-Headers: *` covers `Authorization` (all three today; the spec says no).
    pub wildcard_covers_authorization: bool,
    /// Firefox checks ACAM tokens, then the method, then ACAH; Chromium parses both first.
    pub parse_both_allow_lists_first: bool,
    pub max_age_default: u64,
    pub max_age_cap: u64,
    pub max_age_syntax: MaxAgeSyntax,
    pub cache_capacity: usize,
    /// Chromium keeps one result per key and replaces it; Firefox and WebKit merge per item.
    pub cache_replaces_whole_entry: bool,
    /// URLs at least this long are never cached (Chromium `preflight_cache.cc`).
    pub cache_max_url_len: Option<usize>,
    /// Firefox reports network failures of CORS requests as `CORSDidNotSucceed`.
    pub network_error_is_cors_error: bool,
    /// WebKitGTK sends `@font-face` loads without `Origin`: not a CORS request there.
    pub font_loads_use_cors: bool,
    /// Firefox preflights a request redirected to another origin with the page's origin, not
    /// `null`, so an `Access-Control-Allow-Origin: null` there does not match (probe recording
    /// `n-308-cross`, tests/data/novel).
    pub redirect_preflight_keeps_page_origin: bool,
    /// Firefox and WebKit preflight every hop after a redirect of a preflighted request, even
    /// one a `303` (or `301`/`302` of a `POST`) turned into a plain `GET`; Chromium preflights a
    /// hop only for its own method and headers (difference `redirect-keeps-preflight`).
    pub redirect_keeps_preflight: bool,
    /// WebKit's preflight of such a hop still announces the unsafe body headers (`content-type`)
    /// of the request before the redirect, which the hop itself no longer carries.
    pub redirect_preflight_announces_dropped_body_headers: bool,
    /// Chromium reads a redirect status with an empty `Location` as a final response; Firefox
    /// (after looping to its redirect limit) and WebKit fail the request (difference
    /// `redirect-empty-location`).
    pub empty_location_is_final: bool,
    /// A `408 Request Timeout` on a keep-alive connection that carried an earlier request (an
    /// idle connection's notice) is the request's answer, not the connection's end. Chromium
    /// resends the request on a new connection; Firefox ESR 140 and WebKitGTK 2.50 fail the
    /// fetch (recorded: `tests/data/field/{chromium,firefox,webkit}-408-*.pcapng`).
    pub reads_408_on_reused_connection_as_answer: bool,
    /// A connection's first request, sent on a socket that sat idle in the pool (a
    /// preconnected one), is sent again when the connection ends before any answer, as on a
    /// reused one. Chromium (`ShouldResendRequest`: `UNUSED_IDLE`) and Firefox ESR 140 do;
    /// WebKitGTK 2.50 failed the fetch (recorded: `tests/data/field/*-preconnect-*.pcapng`).
    pub resends_first_request_on_idle_socket: bool,
    /// A proxy's `407 Proxy Authentication Required` to a preflight is the preflight's answer
    /// (a failed preflight), not a request for the proxy's credentials. WebKitGTK 2.50 logged
    /// "Preflight response is not successful. Status code: 407" (it answered the proxy's
    /// challenge for its `GET`s, not for the preflight); Chromium 148 sent the preflight again
    /// with the credentials, and Firefox ESR 140 waited for them (recorded:
    /// `tests/data/field/*-407-*`).
    pub reads_407_to_a_preflight_as_answer: bool,
    pub head: HeadRules,
}

static CHROMIUM: Profile = Profile {
    browser: Browser::Chromium,
    recorded_version: "156.0.8078.79",
    allow_origin_rules: AllowOriginRules::Chromium,
    preflight_status_before_allow_origin: false,
    preflight_redirect_is_bad_status: false,
    preflight_redirect_checks_allow_origin_first: false,
    joins_repeated_allow_origin_over_http2: false,
    keeps_allow_origin_whitespace_over_http2: false,
    safelist: Safelist {
        mime: RequestMimeParser::Whatwg,
        non_ascii_unsafe: false,
        range: RangeSyntax {
            unit_any_case: false,
            plus_sign: false,
            max: i64::MAX as u64 - 1,
        },
        extra: CHROMIUM_EXTRA_SAFELIST,
    },
    wildcard_covers_authorization: true,
    parse_both_allow_lists_first: true,
    max_age_default: 5,
    max_age_cap: 7200,
    max_age_syntax: MaxAgeSyntax::SignedIntegerOrDefault,
    cache_capacity: 1024,
    cache_replaces_whole_entry: true,
    cache_max_url_len: Some(1024),
    network_error_is_cors_error: false,
    font_loads_use_cors: true,
    redirect_preflight_keeps_page_origin: false,
    redirect_keeps_preflight: false,
    redirect_preflight_announces_dropped_body_headers: false,
    empty_location_is_final: true,
    reads_408_on_reused_connection_as_answer: false,
    resends_first_request_on_idle_socket: true,
    reads_407_to_a_preflight_as_answer: false,
    head: HeadRules {
        keeps_space_before_colon: true,
        max_head_accepted: 262_144,
        min_head_rejected: 262_179,
        head_too_big: "net::ERR_RESPONSE_HEADERS_TOO_BIG",
        nul_in_head: "net::ERR_INVALID_HTTP_RESPONSE",
    },
};

static FIREFOX: Profile = Profile {
    browser: Browser::Firefox,
    recorded_version: "153.7.0esr",
    allow_origin_rules: AllowOriginRules::Firefox,
    preflight_status_before_allow_origin: false,
    preflight_redirect_is_bad_status: false,
    preflight_redirect_checks_allow_origin_first: true,
    joins_repeated_allow_origin_over_http2: true,
    keeps_allow_origin_whitespace_over_http2: false,
    safelist: Safelist {
        mime: RequestMimeParser::FirefoxNetUtil,
        non_ascii_unsafe: true,
        range: RangeSyntax {
            unit_any_case: false,
            plus_sign: false,
            max: u64::MAX,
        },
        extra: &[],
    },
    wildcard_covers_authorization: true,
    parse_both_allow_lists_first: false,
    max_age_default: 5,
    max_age_cap: 86400,
    max_age_syntax: MaxAgeSyntax::DigitsOrNoCache,
    cache_capacity: 100,
    cache_replaces_whole_entry: false,
    cache_max_url_len: None,
    network_error_is_cors_error: true,
    font_loads_use_cors: true,
    redirect_preflight_keeps_page_origin: true,
    redirect_keeps_preflight: true,
    redirect_preflight_announces_dropped_body_headers: false,
    empty_location_is_final: false,
    reads_408_on_reused_connection_as_answer: true,
    resends_first_request_on_idle_socket: true,
    reads_407_to_a_preflight_as_answer: false,
    head: HeadRules {
        keeps_space_before_colon: false,
        max_head_accepted: 393_216,
        min_head_rejected: 393_716,
        head_too_big: "CORSDidNotSucceed (CORS request did not succeed, Status code: (null))",
        nul_in_head: "CORSDidNotSucceed (CORS request did not succeed, Status code: (null))",
    },
};

static SAFARI: Profile = Profile {
    browser: Browser::Safari,
    recorded_version: "WebKitGTK 2.50.6",
    allow_origin_rules: AllowOriginRules::WebKit,
    preflight_status_before_allow_origin: true,
    preflight_redirect_is_bad_status: true,
    preflight_redirect_checks_allow_origin_first: false,
    joins_repeated_allow_origin_over_http2: false,
    keeps_allow_origin_whitespace_over_http2: true,
    safelist: Safelist {
        mime: RequestMimeParser::Whatwg,
        non_ascii_unsafe: false,
        range: RangeSyntax {
            unit_any_case: true,
            plus_sign: true,
            max: u64::MAX,
        },
        extra: &[],
    },
    wildcard_covers_authorization: true,
    parse_both_allow_lists_first: true,
    max_age_default: 5,
    max_age_cap: 600,
    max_age_syntax: MaxAgeSyntax::UnsignedOrDefault,
    cache_capacity: 1024,
    cache_replaces_whole_entry: false,
    cache_max_url_len: None,
    network_error_is_cors_error: false,
    font_loads_use_cors: false,
    redirect_preflight_keeps_page_origin: false,
    redirect_keeps_preflight: true,
    redirect_preflight_announces_dropped_body_headers: true,
    empty_location_is_final: false,
    reads_408_on_reused_connection_as_answer: true,
    resends_first_request_on_idle_socket: false,
    reads_407_to_a_preflight_as_answer: true,
    head: HeadRules {
        keeps_space_before_colon: false,
        max_head_accepted: 65_537,
        min_head_rejected: 65_600,
        head_too_big: "\"Header too big\"",
        nul_in_head: "\"Could not parse HTTP response\"",
    },
};

impl Browser {
    pub fn profile(self) -> &'static Profile {
        match self {
            Browser::Chromium => &CHROMIUM,
            Browser::Firefox => &FIREFOX,
            Browser::Safari => &SAFARI,
        }
    }

    /// Max-Age in seconds as this browser reads it; `None` means "not cached".
    pub fn max_age(self, value: Option<&str>) -> Option<u64> {
        let p = self.profile();
        let Some(v) = value.map(str::trim) else {
            return Some(p.max_age_default);
        };
        let secs = match p.max_age_syntax {
            MaxAgeSyntax::SignedIntegerOrDefault => match v.parse::<i64>() {
                Ok(n) if n < 0 => 0,
                Ok(n) => n as u64,
                Err(_) => p.max_age_default,
            },
            MaxAgeSyntax::DigitsOrNoCache => {
                if v.is_empty() {
                    p.max_age_default
                } else if v.bytes().all(|b| b.is_ascii_digit()) {
                    v.parse::<u64>().unwrap_or(u64::MAX)
                } else {
                    return None;
                }
            }
            MaxAgeSyntax::UnsignedOrDefault => v.parse::<u64>().unwrap_or(p.max_age_default),
        };
        Some(secs.min(p.max_age_cap))
    }
}

/// One rule on which the engines differ, with where it was established.
// Documentation data: rustdoc renders the table and the engine tests check each row has its
// `difference_*` test; no code path reads the prose fields.
#[allow(dead_code)]
pub(crate) struct Difference {
    pub id: &'static str,
    pub topic: &'static str,
    pub chromium: &'static str,
    pub firefox: &'static str,
    pub safari: &'static str,
    pub source: &'static str,
}

/// Every known difference, each tested by `tests::difference_*` in `engine.rs`.
#[allow(dead_code)]
pub(crate) const DIFFERENCES: &[Difference] = &[
    Difference {
        id: "preflight-check-order",
        topic: "a failing preflight: Allow-Origin checked before or after the status",
        chromium: "Allow-Origin first (a 405 without ACAO is PreflightMissingAllowOriginHeader)",
        firefox: "Allow-Origin first (CORSMissingAllowOrigin, Status code: 405)",
        safari: "status first (PreflightNotSuccessful)",
        source: "corpus d-pf-status-bad-2; Chromium preflight_controller.cc; WebKit CrossOriginPreflightChecker.cpp",
    },
    Difference {
        id: "preflight-redirect",
        topic: "a preflight answered with a 3xx",
        chromium: "PreflightDisallowedRedirect",
        firefox: "CORSMissingAllowOrigin without ACAO, CORSExternalRedirectNotAllowed with a valid one",
        safari: "an unsuccessful status (PreflightNotSuccessful)",
        source: "corpus d-pf-redirect-1, d-pf-redirect-2",
    },
    Difference {
        id: "acao-list",
        topic: "Access-Control-Allow-Origin holding two origins",
        chromium: "MultipleAllowOriginValues for a space, a comma or two lines",
        firefox: "CORSMultipleAllowOriginNotAllowed only for two lines; one line is CORSAllowOriginNotMatchingOrigin",
        safari: "MultipleAllowOriginValues for a comma or two lines; a space is NotAllowedByAccessControlAllowOrigin",
        source: "corpus d-simple-get-acao-two-headers, d-simple-post-acao-comma-list, d-simple-get-acao-space-list",
    },
    Difference {
        id: "acao-lines-http2",
        topic: "two Access-Control-Allow-Origin fields in an HTTP/2 response",
        chromium: "MultipleAllowOriginValues (as over HTTP/1.1)",
        firefox: "CORSAllowOriginNotMatchingOrigin with the joined value `a, b` (over HTTP/1.1: CORSMultipleAllowOriginNotAllowed)",
        safari: "MultipleAllowOriginValues (as over HTTP/1.1)",
        source: "corpus tls-dev td-simple-get-acao-two-headers, td-pf-acao-multiple (Firefox 153 console: does not match ‘https://app.test:8440, https://app.test:8440’)",
    },
    Difference {
        id: "acao-whitespace-http2",
        topic: "an HTTP/2 Access-Control-Allow-Origin value with whitespace around it (a tab a proxy passed on)",
        chromium: "trimmed: the origin matches",
        firefox: "trimmed: the origin matches",
        safari: "kept by WebKitGTK: NotAllowedByAccessControlAllowOrigin (over HTTP/1.1 trimmed); Safari's CFNetwork not confirmed",
        source: "probe recording tests/data/probe-variants/https o-tab (nginx passes `\\thttps://…` on in HPACK)",
    },
    Difference {
        id: "acao-syntax",
        topic: "Access-Control-Allow-Origin that is `null` or not a URL",
        chromium: "AllowOriginMismatch when GURL parses it, InvalidAllowOriginValue when not",
        firefox: "CORSAllowOriginNotMatchingOrigin",
        safari: "NotAllowedByAccessControlAllowOrigin",
        source: "Chromium cors.cc CheckAccess (GURL); corpus d-simple-get-acao-garbage, d-simple-get-acao-null",
    },
    Difference {
        id: "client-hints",
        topic: "request headers a script sets that only Chromium safelists: DPR, Device-Memory, Downlink, Width, Viewport-Width, RTT, ECT, Save-Data, Intervention",
        chromium: "safelisted when the value fits (DPR `1.5` yes, `1e2` no; Width digits only; ECT `slow-2g`/`2g`/`3g`/`4g`; Save-Data `on` in any case; Intervention any value): no preflight",
        firefox: "not safelisted: preflight",
        safari: "not safelisted: preflight",
        source: "Chromium services/network/public/cpp/cors/cors.cc IsCorsSafelistedHeader; probe recordings tests/data/probe-reqside ch-* (Chromium 156.0.8078.108, Firefox 153.8.0, WebKitGTK 2.50.6)",
    },
    Difference {
        id: "safelist-total",
        topic: "the 1,024-byte total of safelisted values",
        chromium: "reachable through the extra names: 1,024 bytes pass, 1,025 are all preflighted",
        firefox: "not reachable (five names of at most 128 bytes)",
        safari: "not reachable (five names of at most 128 bytes)",
        source: "Chromium cors.cc CorsUnsafeRequestHeaderNames kSafeListValueSizeMax; probe recordings sum-1024, sum-1025",
    },
    Difference {
        id: "content-type-comma",
        topic: "a `,` in a request Content-Type (`text/plain;a=b,c`, `multipart/form-data; boundary=a,b`)",
        chromium: "safelisted (a parameter never fails the parse)",
        firefox: "not safelisted: preflight (a comma means a list of types)",
        safari: "safelisted",
        source: "Firefox netwerk/base/nsURLHelper.cpp net_ParseRequestContentType; probe recordings ct-comma-param, ct-comma-only-param, ct-mp-comma-boundary",
    },
    Difference {
        id: "content-type-trailing-semicolon",
        topic: "a request Content-Type ending in `;` after a parameter (`text/plain;charset=utf-8;`, `text/plain;;`)",
        chromium: "safelisted",
        firefox: "not safelisted: preflight (the last `;` is left unparsed; `text/plain;` alone passes)",
        safari: "safelisted",
        source: "Firefox nsURLHelper.cpp net_ParseMediaType (strict mode); probe recordings ct-trailing-semi-param, ct-double-semi, ct-trailing-semi",
    },
    Difference {
        id: "content-type-before-parameters",
        topic: "text between the subtype and the parameters (`text/plain x;charset=utf-8`)",
        chromium: "not safelisted (`plain x` is no token): preflight",
        firefox: "safelisted (the type ends at the space)",
        safari: "not safelisted: preflight",
        source: "Firefox nsURLHelper.cpp net_ParseMediaType; WHATWG mimesniff parse a MIME type; probe recordings ct-junk-then-param, ct-junk-nosemi",
    },
    Difference {
        id: "non-ascii-value",
        topic: "a byte at or above 0x80 in Accept or Content-Type (`Accept: text/é`)",
        chromium: "safelisted (sent as one latin-1 byte per character)",
        firefox: "not safelisted: preflight",
        safari: "safelisted (sent as UTF-8; the 128 limit counts characters, so 100 × `é` is 200 bytes on the wire and still safelisted)",
        source: "probe recordings acc-latin1, acc-latin1-100, ct-latin1-param (wire bytes E9 from Chromium, C3 A9 from WebKit); Firefox dom/base/nsContentUtils.cpp IsCorsUnsafeRequestHeaderValue",
    },
    Difference {
        id: "range-unit-case",
        topic: "`Range: Bytes=0-1` (the unit not in lower case)",
        chromium: "not safelisted: preflight",
        firefox: "not safelisted: preflight",
        safari: "safelisted",
        source: "WebKit Source/WebCore/platform/network/HTTPParsers.cpp (range unit compared ignoring ASCII case); probe recordings rg-upper, rg-allupper, rg-mixed",
    },
    Difference {
        id: "range-plus-sign",
        topic: "`Range: bytes=+1-2` (a sign before a position)",
        chromium: "not safelisted: preflight",
        firefox: "not safelisted: preflight",
        safari: "safelisted",
        source: "WebKit HTTPParsers.cpp (positions read with parseInteger, which takes a `+`); probe recordings rg-plus, rg-plus-end, rg-upper-plus",
    },
    Difference {
        id: "range-large-position",
        topic: "a Range position of 9223372036854775807 or more",
        chromium: "not safelisted (parsed into an int64; the largest value itself is refused): preflight",
        firefox: "safelisted up to 18446744073709551615 (uint64)",
        safari: "safelisted up to 18446744073709551615",
        source: "Chromium net/http/http_util.cc ParseRangeHeader; Firefox nsContentUtils ParseSingleRangeRequest (uint64); probe recordings rg-i64max, rg-i64max-1, rg-u64max, rg-overflow-start",
    },
    Difference {
        id: "max-age-cap",
        topic: "Access-Control-Max-Age cap",
        chromium: "7200 s",
        firefox: "86400 s",
        safari: "600 s",
        source: "Chromium preflight_result.cc kMaxTimeout; Firefox nsCORSListenerProxy.cpp; WebKit maxPreflightCacheTimeout",
    },
    Difference {
        id: "max-age-syntax",
        topic: "an Access-Control-Max-Age that is not a plain number",
        chromium: "default 5 s (negative: 0)",
        firefox: "not cached at all",
        safari: "default 5 s",
        source: "Chromium preflight_result.cc; Firefox nsCORSListenerProxy.cpp; WebKit parseAccessControlMaxAge",
    },
    Difference {
        id: "preflight-cache-shape",
        topic: "preflight cache entries",
        chromium: "one result per (origin, URL), replaced by each preflight; 1024 entries",
        firefox: "per method / header with own expiry; 100 entries, LRU",
        safari: "per method / header with own expiry",
        source: "Chromium preflight_cache.cc; Firefox nsPreflightCache",
    },
    Difference {
        id: "network-error",
        topic: "a network failure (refused, reset, TLS) of a CORS request",
        chromium: "a net error, no CORS reason",
        firefox: "CORSDidNotSucceed",
        safari: "a load failure, no CORS reason",
        source: "Chromium net/base/net_error_list.h; Firefox security.properties CORSDidNotSucceed2",
    },
    Difference {
        id: "redirect-credentials",
        topic: "a redirect to a URL with user:password",
        chromium: "RedirectContainsCredentials",
        firefox: "CORSDidNotSucceed (Status code: (null))",
        safari: "RedirectURLHasCredentials",
        source: "corpus d-redir-credentials-in-url",
    },
    Difference {
        id: "redirect-preflight-origin",
        topic: "the preflight of a request redirected to a third origin",
        chromium: "sent with `Origin: null`; `Access-Control-Allow-Origin: null` matches",
        firefox: "sent with the page's origin (the request itself carries `null`): a static `null` does not match (CORSAllowOriginNotMatchingOrigin), a reflected origin does; so an answer recorded for the other Origin decides only where it is `*`",
        safari: "sent with `Origin: null`",
        source: "probe recordings n-308-cross (tests/data/novel, a static `null`) and r-307-put-cross-origin-reflect (tests/data/probe-variants, reflected); Fetch #http-redirect-fetch",
    },
    Difference {
        id: "redirect-keeps-preflight",
        topic: "a preflighted request redirected (`DELETE` or `POST` answered `303`, `POST` answered `301`/`302`: a plain `GET` follows)",
        chromium: "the `GET` is sent without a preflight (a preflight only for its own method and headers)",
        firefox: "preflighted again (`Access-Control-Request-Method: GET`, the dropped body headers not announced)",
        safari: "preflighted again, announcing the original request's headers (`Access-Control-Request-Headers: content-type` though the `GET` carries none): an answer that does not allow them blocks it (HeaderNotAllowedByAllowHeaders) where Firefox is allowed",
        source: "probe recordings tests/data/probe-redirect-preflight (rp-delete-303-*, rp-post-json-303-*, rp-post-json-302-api2-*, rq-post-json-303-no-acah) and tests/data/probe-variants2 r-301-post-json; Fetch #http-redirect-fetch (request-body-header names removed), #main-fetch (a preflight only for an unsafe method or names)",
    },
    Difference {
        id: "redirect-empty-location",
        topic: "a redirect status (`302`) with an empty `Location`",
        chromium: "not a redirect: the response is final and passes the CORS check like any other (the request is allowed)",
        firefox: "a redirect to the same URL (Fetch: the empty string parsed against it), followed until the redirect limit: a network error (CORSDidNotSucceed)",
        safari: "a load failure at once, no CORS reason",
        source: "probe recording tests/data/probe-redirect-limits rx-empty-location (Firefox sent the request 21 times); Chromium net/http/http_response_headers.cc IsRedirect (an empty location is not one)",
    },
    Difference {
        id: "head-space-before-colon",
        topic: "an HTTP/1.x header line with whitespace before the colon (`Access-Control-Allow-Origin : …`)",
        chromium: "kept, name trimmed (the request is allowed)",
        firefox: "dropped: the name is not a token (CORSMissingAllowOrigin)",
        safari: "dropped by WebKitGTK's libsoup (NotAllowedByAccessControlAllowOrigin); Safari's CFNetwork not confirmed",
        source: "probe recording tests/data/probe-parse p-sp-colon, p-tab-colon, p-dup-one-bad, p-acac-sp-colon, p-pf-sp-colon; Chromium net/http/http_util.cc HeadersIterator (TrimLWS, then IsToken); Firefox nsHttpHeaderArray::ParseHeaderLine (IsValidToken); libsoup soup-headers.c soup_headers_parse (whitespace before the colon)",
    },
    Difference {
        id: "head-size-limit",
        topic: "the largest HTTP/1.x response head accepted (status line through the blank line)",
        chromium: "256 KiB (262,144 bytes accepted, 262,179 failed): net::ERR_RESPONSE_HEADERS_TOO_BIG",
        firefox: "384 KiB (393,216 accepted, 393,716 failed): CORSDidNotSucceed",
        safari: "64 KiB in WebKitGTK (65,537 accepted, 65,600 failed): \"Header too big\"",
        source: "probe recording tests/data/probe-parse p-big-*, r-head-* (sizes bisected); Chromium http_stream_parser.cc kMaxHeaderBufSize; Firefox network.http.max_response_header_size",
    },
    Difference {
        id: "font-cors",
        topic: "@font-face loads",
        chromium: "CORS mode (Origin sent, ACAO checked)",
        firefox: "CORS mode",
        safari: "sent without Origin by WebKitGTK: not a CORS request",
        source: "WebKitGTK 2.50 recording (issue: WebKitGTK sends @font-face loads without Origin)",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents() {
        let cr = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        let fx = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0";
        let wk = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15";
        assert_eq!(Browser::from_user_agent(cr), Some(Browser::Chromium));
        assert_eq!(Browser::from_user_agent(fx), Some(Browser::Firefox));
        assert_eq!(Browser::from_user_agent(wk), Some(Browser::Safari));
        assert_eq!(Browser::from_user_agent("curl/8.0"), None);
    }

    /// Difference `max-age-cap` and `max-age-syntax`.
    #[test]
    fn max_age_per_browser() {
        use Browser::*;
        let cases: &[(Browser, Option<&str>, Option<u64>)] = &[
            (Chromium, None, Some(5)),
            (Chromium, Some("86400"), Some(7200)),
            (Chromium, Some("-1"), Some(0)),
            (Chromium, Some("abc"), Some(5)),
            (Firefox, Some("86400"), Some(86400)),
            (Firefox, Some("99999"), Some(86400)),
            (Firefox, Some("1.5"), None),
            (Firefox, Some(""), Some(5)),
            (Safari, Some("86400"), Some(600)),
            (Safari, Some("x"), Some(5)),
        ];
        for (b, v, want) in cases {
            assert_eq!(b.max_age(*v), *want, "{b:?} {v:?}");
        }
    }

    /// `Index` by discriminant agrees with the `ALL_BROWSERS` order every other method uses.
    #[test]
    fn per_browser_is_indexed_in_all_browsers_order() {
        let p = PerBrowser::from_fn(Browser::id);
        for (b, id) in p.iter() {
            assert_eq!(p[b], *id);
            assert_eq!(*id, b.id());
        }
        assert_eq!(p.values().count(), ALL_BROWSERS.len());
        assert_eq!(all_names(), "Chromium, Firefox and Safari");
    }

    #[test]
    fn difference_ids_are_unique() {
        let mut ids: Vec<_> = DIFFERENCES.iter().map(|d| d.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), DIFFERENCES.len());
    }
}
