//! Long explanations of every CORS blocking reason (Chromium, Firefox, WebKit names): what it
//! means, common causes and the fix — the text behind `corscope explain`.
//!
//! The names are Chromium's `Network.CorsError` values, Firefox's console identifiers (the
//! `security.properties` keys without their version digit) and corscope's stable identifiers for
//! WebKit's console templates (`reference/cors.md` 2.1, 3.1 and 7.1). Console templates are
//! byte-exact with these placeholders: `{url}` (the request URL; for a WebKit redirect, the
//! redirect target), `{origin}` (the page's origin), `{value}` (the offending header value or
//! token), `{status}`, `{method}`, `{header}`, `{schemes}`, and `{target_space}` /
//! `{resource_space}` (IP address spaces: `public`, `private`, `local`/`loopback`).
//!
//! WebKit's `MultipleAllowOriginValues` has the same name as Chromium's. A bare name resolves to
//! the Chromium entry; `safari:MultipleAllowOriginValues` (or [`lookup_in`]) reaches WebKit's.

/// The browser whose vocabulary an [`Explanation`] is written in. Named apart from the engine's
/// `Browser` so both can be imported together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExplainBrowser {
    Chromium,
    Firefox,
    /// Safari and every other WebKit port (the corpus was recorded with WebKitGTK).
    Safari,
}

impl ExplainBrowser {
    pub const ALL: [ExplainBrowser; 3] = [Self::Chromium, Self::Firefox, Self::Safari];

    /// The name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Self::Chromium => "Chromium",
            Self::Firefox => "Firefox",
            Self::Safari => "Safari (WebKit)",
        }
    }

    /// Parses the qualifier of `lookup("safari:Name")`; case-insensitive.
    pub fn from_qualifier(q: &str) -> Option<Self> {
        const TABLE: [(&str, ExplainBrowser); 11] = [
            ("chromium", ExplainBrowser::Chromium),
            ("chrome", ExplainBrowser::Chromium),
            ("blink", ExplainBrowser::Chromium),
            ("cr", ExplainBrowser::Chromium),
            ("firefox", ExplainBrowser::Firefox),
            ("gecko", ExplainBrowser::Firefox),
            ("fx", ExplainBrowser::Firefox),
            ("ff", ExplainBrowser::Firefox),
            ("safari", ExplainBrowser::Safari),
            ("webkit", ExplainBrowser::Safari),
            ("wk", ExplainBrowser::Safari),
        ];
        let q = q.trim();
        TABLE
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(q))
            .map(|&(_, b)| b)
    }
}

/// One reason, as one browser names it.
#[derive(Debug)]
pub struct Explanation {
    /// The identifier, e.g. `MissingAllowOriginHeader`, `CORSMissingAllowOrigin`,
    /// `PreflightNotSuccessful`.
    pub name: &'static str,
    pub browser: ExplainBrowser,
    /// One line.
    pub summary: &'static str,
    /// The browser's console text, with the placeholders listed in the module docs.
    pub console: &'static str,
    /// Which check failed, on which response, the spec section, and how browsers differ.
    pub meaning: &'static str,
    pub causes: &'static [&'static str],
    /// Steps in order. A line of a step that starts with four spaces is literal (a header line
    /// or a command) and is shown as is.
    pub fix: &'static [&'static str],
    /// The same failure's name in the other browsers (`reference/cors.md` 3.4 and 7.1).
    pub equivalents: &'static [(ExplainBrowser, &'static str)],
}

use ExplainBrowser::{Chromium, Firefox, Safari};

/// Chromium's console frame (`cors_error_string.cc`), for fetch(); see [`render`] for XHR.
macro_rules! cr {
    ($detail:tt) => {
        concat!(
            "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: ",
            $detail
        )
    };
}

/// The same frame for the `Preflight*` reasons, which Chromium prefixes.
macro_rules! cr_pf {
    ($detail:tt) => {
        concat!(
            "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: ",
            "Response to preflight request doesn't pass access control check: ",
            $detail
        )
    };
}

/// Firefox's frame (`security.properties`, CORS* keys).
macro_rules! fx {
    ($reason:tt) => {
        concat!(
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote ",
            "resource at {url}. (Reason: ",
            $reason,
            ")."
        )
    };
}

/// Firefox's frame for the keys that append the status code.
macro_rules! fx_status {
    ($reason:tt) => {
        concat!(
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote ",
            "resource at {url}. (Reason: ",
            $reason,
            "). Status code: {status}."
        )
    };
}

/// WebKit's reason line for a failure on a redirect (3xx) response.
macro_rules! wk_redirect {
    ($inner:tt) => {
        concat!(
            "Cross-origin redirection to {url} denied by Cross-Origin Resource Sharing policy: ",
            $inner
        )
    };
}

// Steps shared by several reasons; each entry puts them where they fit its failure.

const STEP_CURL_ACTUAL: &str = "Read the exact console message (URL, origin, value), then \
reproduce the response the browser judged, sending the page's Origin (curl itself is never blocked, so read the Access-Control-* lines it prints):\n    \
curl -si -H 'Origin: https://app.example' https://api.example/path";

const STEP_CURL_PREFLIGHT: &str = "Read the exact console message, then replay the preflight \
with the method and header names the page used (a DevTools HAR has them in the OPTIONS entry) and read its status and \
Access-Control-* lines:\n    \
curl -si -X OPTIONS -H 'Origin: https://app.example' \\\n      \
  -H 'Access-Control-Request-Method: PUT' \\\n      \
  -H 'Access-Control-Request-Headers: content-type,x-api-key' \\\n      \
  https://api.example/path";

const STEP_ONE_ORIGIN: &str = "Send exactly one origin, chosen per request: compare the \
request's Origin header with an allow-list of full origins (exact string match, no prefix, \
suffix or unanchored regex) and echo the matching entry, or `*` for a public API that is called \
without credentials:\n    \
Access-Control-Allow-Origin: https://app.example";

const STEP_VARY: &str = "When the Access-Control-Allow-Origin value depends on the request, \
send Vary: Origin on every response of that URL (with or without the header), so that CDNs and \
the browser cache do not replay one origin's answer to another:\n    \
Vary: Origin";

const STEP_CREDENTIALS: &str = "With cookies, HTTP authentication or client certificates \
(fetch credentials: 'include', XHR withCredentials = true), send the specific origin, never `*`, \
and exactly `true`:\n    \
Access-Control-Allow-Origin: https://app.example\n    \
Access-Control-Allow-Credentials: true";

const STEP_OPTIONS_FIRST: &str = "Make the OPTIONS route answer 2xx (204 is usual) with the CORS \
headers before any authentication, session, CSRF or redirect middleware runs: a preflight never \
carries cookies or Authorization, so an auth layer in front of it rejects it.";

const STEP_PREFLIGHT_ANSWER: &str = "A complete preflight answer for a credential-less PUT with \
JSON and an API key looks like:\n    \
HTTP/1.1 204 No Content\n    \
Access-Control-Allow-Origin: https://app.example\n    \
Access-Control-Allow-Methods: GET, POST, PUT, DELETE\n    \
Access-Control-Allow-Headers: Content-Type, Authorization, X-Api-Key\n    \
Access-Control-Max-Age: 86400\n    \
Vary: Origin";

const STEP_MAX_AGE: &str = "Once the preflight passes, let browsers cache it to cut repeated \
OPTIONS requests. Each browser caps the value (Chromium 7200 s, Firefox 86400 s, WebKit 600 s), \
and without it they cache for 5 s:\n    \
Access-Control-Max-Age: 86400";

const STEP_LIST_METHODS: &str = "List every method the page sends, upper case, comma-separated \
(GET, HEAD and POST never need listing):\n    \
Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE";

const STEP_LIST_HEADERS: &str = "List every header name the preflight's \
Access-Control-Request-Headers carries (case does not matter for header names), \
comma-separated:\n    \
Access-Control-Allow-Headers: Content-Type, Authorization, X-Api-Key";

const STEP_FINAL_URL: &str = "Call the final URL directly (https, exact host and path, \
trailing slash as the server wants it) so that no redirect happens, or put the CORS headers on \
the redirect response too.";

const STEP_LNA_NOTE: &str = "A capture or HAR cannot show the permission state: check the \
site's permission settings (Local network access) in the browser that failed.";

const CAUSE_PROXY_ERROR: &str = "A proxy, CDN, WAF or gateway answered instead of the \
application (error page, 429 rate limit, 502/504) and does not add CORS headers.";

const CAUSE_ERROR_PATH: &str = "The CORS middleware only runs on successful responses: a 401, \
404 or 500 produced by an earlier layer or an exception handler goes out without the headers, \
and the CORS error hides the real one.";

const CAUSE_OPTIONS_UNROUTED: &str = "OPTIONS is not routed to the CORS handler: the framework, \
web server or gateway answers it (often 404 or 405) without Access-Control-* headers.";

const CAUSE_OPTIONS_AUTH: &str = "Authentication middleware runs before the CORS handler and \
rejects the preflight (401/403): a preflight never carries cookies or Authorization.";

static ENTRIES: &[Explanation] = &[
    // ---------------------------------------------------------------- Chromium (cors.md 2.1)
    Explanation {
        name: "DisallowedByMode",
        browser: Chromium,
        summary: "A fetch() with mode 'same-origin' asked for a URL on another origin.",
        console: "Fetch API cannot load {url}. Request mode is \"same-origin\" but the URL's \
origin is not same as the request origin {origin}.",
        meaning: "The request's mode is `same-origin` (Fetch #concept-request-mode) and its URL \
is cross-origin, so main fetch (#main-fetch) returns a network error before anything is sent: \
there is no preflight, no request on the wire and no response to fix. Blink rejects it in \
fetch_manager.cc with its own frame (the enum's generic text, 'Cross origin requests are not \
allowed by request mode.', is not what the console shows), and fetch() rejects with a \
TypeError. Nothing a server sends can change it. WebKit logs only 'Fetch API cannot load \
{url}.' (CannotLoad); Firefox rejects with a TypeError and, as far as recorded, no CORS \
reason.",
        causes: &[
            "The code, or a wrapper or library default, sets `mode: 'same-origin'` on a request \
that goes to another host, port or scheme.",
            "The API moved to another origin (a subdomain, another port in development, http \
vs https) while the client still uses same-origin mode.",
            "The URL is built from configuration that points at another host than the page.",
        ],
        fix: &[
            "Check the URL against the page's origin: scheme, host and port must all be equal \
for same-origin mode.",
            "If the cross-origin call is intended, use mode 'cors' (the default for fetch()) \
and make the API send CORS headers:\n    \
fetch(url, { mode: 'cors' })",
            "Otherwise keep same-origin mode and serve the API under the page's own origin, for \
example behind a reverse proxy at /api.",
        ],
        equivalents: &[(Safari, "CannotLoad")],
    },
    Explanation {
        name: "InvalidResponse",
        browser: Chromium,
        summary: "DevTools warning only: a Private Network Access preflight hit a network error.",
        console: cr!("The response is invalid."),
        meaning: "Not a block by itself. Chromium sent a Private Network Access preflight in \
warning mode (WICG private-network-access) and that OPTIONS failed with a non-CORS network \
error such as net::ERR_EMPTY_RESPONSE or a timeout (200 ms in warning mode). DevTools records \
the issue with this reason while the actual request still goes ahead. If the request itself \
failed, the net::ERR_* code on it is the real cause, not CORS. Firefox and WebKit never sent \
these preflights and have no equivalent.",
        causes: &[
            "A device or service on the private network (router, printer, local dev server) \
closes the connection on OPTIONS or never answers it.",
            "The server answers OPTIONS too slowly for the warning-mode timeout.",
        ],
        fix: &[
            "Make the server answer OPTIONS quickly with a 2xx status; check it with:\n    \
curl -si -X OPTIONS -H 'Origin: https://app.example' http://192.168.1.10/path",
            "If the actual request failed too, read its net::ERR_* code (HAR `_error`) and fix \
that network problem first.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "WildcardOriginNotAllowed",
        browser: Chromium,
        summary: "The response allows origin `*`, but the request was sent with credentials.",
        console: cr!(
            "The value of the 'Access-Control-Allow-Origin' header in the response must \
not be the wildcard '*' when the request's credentials mode is 'include'."
        ),
        meaning: "The CORS check on the actual response (or on a redirect hop) failed: \
Access-Control-Allow-Origin is exactly `*` and the request's credentials mode is `include` \
(fetch credentials: 'include', XHR withCredentials = true). `*` is a wildcard only for requests \
without credentials (Fetch #cors-check step 3, #cors-protocol-and-credentials); with \
credentials the server must name the origin and also send Access-Control-Allow-Credentials: \
true. The response reached the browser and the server did the work; only the page is denied \
the result. For XHR Chromium adds a sentence saying withCredentials controls the mode. Firefox \
reports CORSNotSupportingCredentials, WebKit CredentialsWithWildcard.",
        causes: &[
            "The server or its CORS middleware is configured with origin `*` while the client \
sends cookies (a default such as `origin: '*'`).",
            "The client adds credentials: 'include' or withCredentials = true \"just in case\" \
although the API does not use cookies.",
            "A CDN or gateway rewrites Access-Control-Allow-Origin to `*`.",
        ],
        fix: &[
            "Decide whether the request needs cookies, HTTP authentication or client \
certificates. If not, drop credentials: 'include' / withCredentials and `*` works as is.",
            STEP_CREDENTIALS,
            STEP_ONE_ORIGIN,
            STEP_VARY,
            "Never combine credentials with an Origin echoed without an allow-list: any site \
could then read the user's authenticated responses.",
        ],
        equivalents: &[
            (Firefox, "CORSNotSupportingCredentials"),
            (Safari, "CredentialsWithWildcard"),
            (Safari, "RedirectCredentialsWithWildcard"),
        ],
    },
    Explanation {
        name: "MissingAllowOriginHeader",
        browser: Chromium,
        summary: "The response has no Access-Control-Allow-Origin header.",
        console: cr!(
            "No 'Access-Control-Allow-Origin' header is present on the requested \
resource."
        ),
        meaning: "The CORS check on the actual response failed because it carries no \
Access-Control-Allow-Origin header at all (Fetch #cors-check step 2; an absent header is not the \
string `null`). The check runs on every response of a CORS request, redirects included: when a \
3xx lacks the header the request fails at that hop. The status code does not matter, so a 404 \
or 500 without CORS headers shows up as this error and hides the real one; the request did \
reach the server, and any side effect happened. Chromium 156 prints no suffix for fetch(); \
older builds added a hint about mode 'no-cors', which only yields an unreadable opaque \
response. Firefox says CORSMissingAllowOrigin (with the status code), WebKit \
NotAllowedByAccessControlAllowOrigin.",
        causes: &[
            "The server does not implement CORS for this route, or CORS is enabled for other \
paths or methods only.",
            CAUSE_ERROR_PATH,
            CAUSE_PROXY_ERROR,
            "A redirect (http to https, a trailing slash, a login page) answers without CORS \
headers.",
            "A cache stored the response to a request without Origin and serves it to this one \
(no Vary: Origin).",
            "The request went to a wrong host or path that belongs to something else.",
        ],
        fix: &[
            STEP_CURL_ACTUAL,
            "Add the header on every response of the route, errors and redirects included:\n    \
Access-Control-Allow-Origin: https://app.example\n\
Use `*` instead only for a public API called without credentials.",
            "Register the CORS layer before routing, authentication and error handlers so that \
it also decorates their responses.",
            STEP_VARY,
            STEP_FINAL_URL,
        ],
        equivalents: &[
            (Firefox, "CORSMissingAllowOrigin"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
            (Safari, "RedirectNotAllowedByAccessControlAllowOrigin"),
        ],
    },
    Explanation {
        name: "MultipleAllowOriginValues",
        browser: Chromium,
        summary: "Access-Control-Allow-Origin holds several values (a list, or the header sent \
twice).",
        console: cr!(
            "The 'Access-Control-Allow-Origin' header contains multiple values '{value}', \
but only one is allowed. Have the server send the header with a valid value."
        ),
        meaning: "The CORS check on the actual response failed: Access-Control-Allow-Origin is \
not byte-equal to the request's origin and contains a space or a comma. Getting a header joins \
several lines with ', ' (Fetch #cors-check step 1), so two header lines arrive as \
'A, B' and land here even when both are correct; the failed parameter is the joined value. The \
spec allows one origin, `*` or `null`, never a list. Chromium appends the last sentence for \
fetch() only. Firefox splits the case: two lines give CORSMultipleAllowOriginNotAllowed, one \
line holding a list gives CORSAllowOriginNotMatchingOrigin. WebKit gives \
MultipleAllowOriginValues for a comma list or two lines, and \
NotAllowedByAccessControlAllowOrigin for a space-separated pair.",
        causes: &[
            "Both the application and a reverse proxy, CDN or API gateway add the header, often \
with the same value ('https://app.example, https://app.example').",
            "The server sends its whole allow-list as the value ('https://a.example \
https://b.example' or a comma list).",
            "A framework adds the header and the code, or a web server rule (nginx add_header, \
Apache Header set), adds it again.",
        ],
        fix: &[
            "Count the header lines:\n    \
curl -si -H 'Origin: https://app.example' https://api.example/path | grep -i allow-origin",
            "Keep CORS in one layer: disable it in either the application or the proxy/CDN, or \
let the proxy drop the upstream copy (nginx: proxy_hide_header Access-Control-Allow-Origin).",
            STEP_ONE_ORIGIN,
            STEP_VARY,
        ],
        equivalents: &[
            (Firefox, "CORSMultipleAllowOriginNotAllowed"),
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
            (Safari, "MultipleAllowOriginValues"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
            (Safari, "RedirectMultipleAllowOriginValues"),
        ],
    },
    Explanation {
        name: "InvalidAllowOriginValue",
        browser: Chromium,
        summary: "Access-Control-Allow-Origin is not an origin at all (empty, no scheme, \
garbage).",
        console: cr!(
            "The 'Access-Control-Allow-Origin' header contains the invalid value \
'{value}'. Have the server send the header with a valid value."
        ),
        meaning: "The CORS check on the actual response failed: the Access-Control-Allow-Origin \
value differs from the request's origin, has no space or comma, is not `null`, and does not \
parse as a URL in Chromium (GURL), e.g. an empty value after trimming or a string without a \
scheme. For the spec (Fetch #cors-check step 4) it is simply not byte-equal to the origin. Which \
malformed values land here and which in AllowOriginMismatch depends on URL parsing: \
`app.example:8080` parses (as scheme `app.example`) and is a mismatch. Chromium appends the last \
sentence for fetch() only; the exact Chromium 156 wording was not observed. Firefox reports \
CORSAllowOriginNotMatchingOrigin, WebKit NotAllowedByAccessControlAllowOrigin.",
        causes: &[
            "A template or environment variable is empty or unset, so the header goes out as \
`Access-Control-Allow-Origin:` with no value.",
            "A bare host name without a scheme (`api.example.com`, `localhost`).",
            "A value meant for another header (`true`, `yes`) written into this one.",
        ],
        fix: &[
            STEP_CURL_ACTUAL,
            "Send a serialized origin: scheme, host and port as the browser writes them in the \
Origin header, nothing else:\n    \
Access-Control-Allow-Origin: https://app.example",
            STEP_ONE_ORIGIN,
            STEP_VARY,
        ],
        equivalents: &[
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
            (Safari, "RedirectNotAllowedByAccessControlAllowOrigin"),
        ],
    },
    Explanation {
        name: "AllowOriginMismatch",
        browser: Chromium,
        summary: "Access-Control-Allow-Origin names an origin, but not the page's origin.",
        console: cr!(
            "The 'Access-Control-Allow-Origin' header has a value '{value}' that is not \
equal to the supplied origin. Have the server send the header with a valid value."
        ),
        meaning: "The CORS check on the actual response (or on a redirect hop) failed: the \
Access-Control-Allow-Origin value is `null` or a valid URL, but not byte-equal to the request's \
serialized origin (Fetch #cors-check step 4, #origin-header). The comparison is exact: no case \
folding, no trailing slash, no path, no wildcard subdomains, and scheme, host and port all \
count (a default port is left out of an origin, so `https://app.example:443` does not match \
`https://app.example`). Surrounding spaces are trimmed and do no harm. After a redirect from \
one cross-origin URL to another origin, the request's origin becomes `null` \
(#serializing-a-request-origin) and only `null` or `*` can pass, although the console still \
shows the page's origin. Chromium appends the last sentence for fetch() only. Firefox reports \
CORSAllowOriginNotMatchingOrigin (naming the value), WebKit NotAllowedByAccessControlAllowOrigin \
(naming the request's Origin instead).",
        causes: &[
            "A trailing slash or a path: `https://app.example/`.",
            "Another scheme or port: http vs https, `:443` written out, a development port \
(`http://localhost:3000` vs `:5173`).",
            "Different letter case: `https://App.example`.",
            "An origin hard-coded for another environment (staging, localhost) or a pattern such \
as `https://*.example.com`, which CORS does not support.",
            "A cached response made for another origin, served without Vary: Origin.",
            "A cross-origin redirect to another origin made the request's Origin `null`.",
        ],
        fix: &[
            "Compare the request's Origin header with the response's Access-Control-Allow-Origin \
byte for byte (the HAR or capture has both).",
            STEP_ONE_ORIGIN,
            "For many subdomains, match the Origin against an anchored pattern such as \
^https://[a-z0-9-]+\\.example\\.com$ on the server and echo the Origin; never send the pattern.",
            STEP_VARY,
            STEP_FINAL_URL,
        ],
        equivalents: &[
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
            (Safari, "RedirectNotAllowedByAccessControlAllowOrigin"),
        ],
    },
    Explanation {
        name: "InvalidAllowCredentials",
        browser: Chromium,
        summary: "A credentialed request got no `Access-Control-Allow-Credentials: true`.",
        console: cr!(
            "The value of the 'Access-Control-Allow-Credentials' header in the response \
is '{value}' which must be 'true' when the request's credentials mode is 'include'."
        ),
        meaning: "The CORS check on the actual response failed at its last step: the request was \
sent with credentials (fetch credentials: 'include', XHR withCredentials = true), \
Access-Control-Allow-Origin matched, but Access-Control-Allow-Credentials is not exactly `true` \
(Fetch #cors-check step 6; the comparison is case-sensitive). When the header is absent the \
console shows an empty value ''. For XHR Chromium adds a sentence saying withCredentials \
controls the mode. Firefox reports CORSMissingAllowCredentials, WebKit AllowCredentialsNotTrue.",
        causes: &[
            "Only Access-Control-Allow-Origin is configured; the credentials header is never \
sent.",
            "A wrong value: `True`, `TRUE`, `1`, or `false` from a server that decided not to \
allow credentials.",
            "The header is on the preflight but not on the actual response, or the other way \
round.",
            "The client sends credentials although the API does not need them.",
        ],
        fix: &[
            STEP_CURL_ACTUAL,
            STEP_CREDENTIALS,
            "Send both headers on every response of the route, including errors and \
redirects.",
            "If the API does not use cookies or HTTP authentication, drop credentials: \
'include' / withCredentials on the client instead.",
            STEP_VARY,
        ],
        equivalents: &[
            (Firefox, "CORSMissingAllowCredentials"),
            (Safari, "AllowCredentialsNotTrue"),
            (Safari, "RedirectAllowCredentialsNotTrue"),
        ],
    },
    Explanation {
        name: "CorsDisabledScheme",
        browser: Chromium,
        summary: "A CORS request was made to a URL whose scheme does not support CORS (file:, a \
typo).",
        console: cr!(
            "Cross origin requests are only supported for protocol schemes: \
{schemes}."
        ),
        meaning: "The request needed CORS but its URL's scheme is not one of Chromium's \
CORS-enabled schemes (http, https and a few browser-internal ones), so it fails before anything \
is sent; the spec's scheme fetch (Fetch #main-fetch) only does HTTP(S) fetches for CORS. The \
usual case is a page opened from disk fetching another file: URL, or a URL missing its scheme: \
fetch('localhost:3000/api') parses `localhost:` as the scheme. Firefox reports \
CORSRequestNotHttp. No WebKit identifier was recorded for this failure; corscope files it \
under CannotLoad.",
        causes: &[
            "The HTML file is opened directly from disk (file://) and fetches local files.",
            "The URL lacks `http://`: `localhost:3000/api` or `api.example/path` are read as a \
scheme or a relative path.",
            "A typo in the scheme (`htp://`) or a custom scheme handled by an app.",
        ],
        fix: &[
            "Serve the page and the data from a local web server and use http(s) URLs:\n    \
python3 -m http.server 8000",
            "Write absolute URLs with their scheme:\n    \
fetch('http://localhost:3000/api')",
        ],
        equivalents: &[(Firefox, "CORSRequestNotHttp"), (Safari, "CannotLoad")],
    },
    Explanation {
        name: "PreflightInvalidStatus",
        browser: Chromium,
        summary: "The preflight (OPTIONS) carried valid CORS headers but its status was not \
2xx.",
        console: cr_pf!("It does not have HTTP ok status."),
        meaning: "The preflight response passed the Access-Control-Allow-Origin and credentials \
checks but its status is outside 200-299, which the spec requires (Fetch #cors-preflight-fetch, \
'ok status'). Chromium checks the preflight's Allow-Origin before its status, so this reason \
only appears when the failing OPTIONS response carried valid CORS headers; a 404/405 without \
them is PreflightMissingAllowOriginHeader instead, and a 3xx is PreflightDisallowedRedirect. The \
actual request is never sent. Firefox behaves the same (CORSPreflightDidNotSucceed, with the \
status). WebKit checks the status first and reports PreflightNotSuccessful whatever the headers \
say.",
        causes: &[
            "A CORS layer adds headers to every response, but routing answers OPTIONS with \
404 or 405 because no handler exists for it.",
            CAUSE_OPTIONS_AUTH,
            "The handler fails on OPTIONS (500), e.g. because it parses a body or requires a \
parameter the preflight does not carry.",
            "A WAF or gateway blocks the OPTIONS method.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_OPTIONS_FIRST,
            STEP_PREFLIGHT_ANSWER,
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Firefox, "CORSPreflightDidNotSucceed"),
            (Safari, "PreflightNotSuccessful"),
        ],
    },
    Explanation {
        name: "PreflightDisallowedRedirect",
        browser: Chromium,
        summary: "The preflight (OPTIONS) was answered with a redirect.",
        console: cr_pf!("Redirect is not allowed for a preflight request."),
        meaning: "A preflight is never redirected: it goes through HTTP-network-or-cache fetch, \
which does not follow redirects, and a 3xx is not an ok status (Fetch #cors-preflight-fetch). \
Chromium reports any followed 3xx with a Location as this reason; in a DevTools HAR the OPTIONS \
entry carries net::ERR_INVALID_REDIRECT and the actual request is never sent. A redirect of the \
actual request is fine when it carries CORS headers, and a preflighted request answered with \
307/308 is preflighted again at the new URL. Firefox reports CORSExternalRedirectNotAllowed when \
the 3xx carried a valid Access-Control-Allow-Origin and CORSMissingAllowOrigin when it did not; \
WebKit treats the 3xx as an unsuccessful status (PreflightNotSuccessful).",
        causes: &[
            "An http to https redirect: the page calls http://api.example.",
            "Trailing-slash normalization (/items to /items/) or host canonicalization (www).",
            "A login redirect (302 to a sign-in page) because the preflight carries no cookie.",
            "A load balancer or gateway rule that redirects every method, OPTIONS included.",
        ],
        fix: &[
            STEP_FINAL_URL,
            "Exempt OPTIONS from redirect and login rules, and answer it with 204 and the CORS \
headers at the URL the page calls.",
            STEP_PREFLIGHT_ANSWER,
        ],
        equivalents: &[
            (Firefox, "CORSExternalRedirectNotAllowed"),
            (Firefox, "CORSMissingAllowOrigin"),
            (Safari, "PreflightNotSuccessful"),
        ],
    },
    Explanation {
        name: "PreflightWildcardOriginNotAllowed",
        browser: Chromium,
        summary: "The preflight allows origin `*`, but the actual request will carry \
credentials.",
        console: cr_pf!(
            "The value of the 'Access-Control-Allow-Origin' header in the response \
must not be the wildcard '*' when the request's credentials mode is 'include'."
        ),
        meaning: "The CORS check on the preflight response failed: Access-Control-Allow-Origin is \
`*` and the actual request's credentials mode is `include`. The preflight itself never carries \
credentials, but it is checked with the actual request's mode (Fetch #cors-preflight-fetch, \
#cors-check step 3), so it must name the origin and send Access-Control-Allow-Credentials: true \
just like the actual response. Chromium checks this before the preflight's status. Firefox \
reports CORSNotSupportingCredentials; WebKit checks the status first, then reports \
CredentialsWithWildcard.",
        causes: &[
            "The OPTIONS handler (often a web server or gateway rule) answers with a static `*` \
while the application reflects the origin on the actual response.",
            "CORS middleware configured with origin `*` and a client that sends cookies.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_CREDENTIALS,
            "Make the OPTIONS answer and the actual answer come from the same CORS \
configuration so that they agree.",
            STEP_VARY,
            "If no cookies or HTTP authentication are needed, drop credentials on the client.",
        ],
        equivalents: &[
            (Firefox, "CORSNotSupportingCredentials"),
            (Safari, "CredentialsWithWildcard"),
        ],
    },
    Explanation {
        name: "PreflightMissingAllowOriginHeader",
        browser: Chromium,
        summary: "The preflight (OPTIONS) response has no Access-Control-Allow-Origin header.",
        console: cr_pf!(
            "No 'Access-Control-Allow-Origin' header is present on the requested \
resource."
        ),
        meaning: "The CORS check on the preflight response failed because it has no \
Access-Control-Allow-Origin (Fetch #cors-preflight-fetch, #cors-check step 2), so the actual \
request was never sent. Chromium checks the preflight's Allow-Origin before its status: a \
404/405/401 OPTIONS without CORS headers is reported here, not as PreflightInvalidStatus, which \
makes this the most common sign of a server that does not handle OPTIONS at all. Firefox agrees \
(CORSMissingAllowOrigin, with the preflight's status code). WebKit checks the status first: a \
non-2xx preflight is PreflightNotSuccessful there, a 2xx one without the header \
NotAllowedByAccessControlAllowOrigin.",
        causes: &[
            CAUSE_OPTIONS_UNROUTED,
            CAUSE_OPTIONS_AUTH,
            "CORS headers are added by the handler of the actual route (GET/POST), which never \
sees OPTIONS.",
            CAUSE_PROXY_ERROR,
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_OPTIONS_FIRST,
            STEP_PREFLIGHT_ANSWER,
            STEP_VARY,
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Firefox, "CORSMissingAllowOrigin"),
            (Safari, "PreflightNotSuccessful"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
        ],
    },
    Explanation {
        name: "PreflightMultipleAllowOriginValues",
        browser: Chromium,
        summary: "The preflight's Access-Control-Allow-Origin holds several values.",
        console: cr_pf!(
            "The 'Access-Control-Allow-Origin' header contains multiple values \
'{value}', but only one is allowed. Have the server send the header with a valid value."
        ),
        meaning:
            "The CORS check on the preflight response failed: its Access-Control-Allow-Origin \
is not the request's origin and contains a space or a comma, usually because two header lines \
were joined as 'A, B' (Fetch #cors-check step 1) or the server sent a list. Chromium checks \
this before the preflight's status, and the actual request is never sent. Firefox reports \
CORSMultipleAllowOriginNotAllowed for two lines and CORSAllowOriginNotMatchingOrigin for a list \
on one line; WebKit checks the status first, then gives MultipleAllowOriginValues (comma list, \
two lines) or NotAllowedByAccessControlAllowOrigin (space-separated).",
        causes: &[
            "The web server or gateway answers OPTIONS with its own CORS headers and the \
application adds another set.",
            "The allow-list itself is sent as the value.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            "Keep CORS in one layer, for OPTIONS as for the other methods.",
            STEP_ONE_ORIGIN,
            STEP_VARY,
        ],
        equivalents: &[
            (Firefox, "CORSMultipleAllowOriginNotAllowed"),
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
            (Safari, "MultipleAllowOriginValues"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
        ],
    },
    Explanation {
        name: "PreflightInvalidAllowOriginValue",
        browser: Chromium,
        summary: "The preflight's Access-Control-Allow-Origin is not an origin at all.",
        console: cr_pf!(
            "The 'Access-Control-Allow-Origin' header contains the invalid value \
'{value}'. Have the server send the header with a valid value."
        ),
        meaning: "The CORS check on the preflight response failed: Access-Control-Allow-Origin \
is neither the request's origin, `*` nor `null`, has no space or comma, and does not parse as a \
URL in Chromium (empty, or without a scheme). For the spec it is just not byte-equal to the \
origin (Fetch #cors-check step 4). Chromium checks this before the preflight's status; the \
actual request is never sent. Firefox reports CORSAllowOriginNotMatchingOrigin; WebKit checks \
the status first, then reports NotAllowedByAccessControlAllowOrigin.",
        causes: &[
            "The OPTIONS handler fills the header from an empty variable.",
            "A host name without a scheme (`app.example`).",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            "Send the serialized origin exactly as the request's Origin header gives it:\n    \
Access-Control-Allow-Origin: https://app.example",
            STEP_ONE_ORIGIN,
        ],
        equivalents: &[
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
        ],
    },
    Explanation {
        name: "PreflightAllowOriginMismatch",
        browser: Chromium,
        summary: "The preflight's Access-Control-Allow-Origin names another origin than the \
page's.",
        console: cr_pf!(
            "The 'Access-Control-Allow-Origin' header has a value '{value}' that is \
not equal to the supplied origin. Have the server send the header with a valid value."
        ),
        meaning: "The CORS check on the preflight response failed: Access-Control-Allow-Origin is \
`null` or a valid URL that is not byte-equal to the request's serialized origin (Fetch \
#cors-check step 4): another host, scheme or port, a trailing slash, other letter case. \
Chromium checks this before the preflight's status; the actual request is never sent. Firefox \
reports CORSAllowOriginNotMatchingOrigin; WebKit checks the status first, then reports \
NotAllowedByAccessControlAllowOrigin.",
        causes: &[
            "The OPTIONS handler sends a fixed origin (another environment, a development port) \
while the actual handler reflects the right one.",
            "A trailing slash, another scheme or port, or other letter case in the configured \
origin.",
            "A cached OPTIONS answer for another origin, served without Vary: Origin.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_ONE_ORIGIN,
            "Answer OPTIONS from the same CORS configuration as the actual request.",
            STEP_VARY,
        ],
        equivalents: &[
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
        ],
    },
    Explanation {
        name: "PreflightInvalidAllowCredentials",
        browser: Chromium,
        summary: "The preflight for a credentialed request lacks \
`Access-Control-Allow-Credentials: true`.",
        console: cr_pf!(
            "The value of the 'Access-Control-Allow-Credentials' header in the \
response is '{value}' which must be 'true' when the request's credentials mode is 'include'."
        ),
        meaning: "The CORS check on the preflight response failed at its last step: the actual \
request has credentials mode `include`, Access-Control-Allow-Origin matched, but \
Access-Control-Allow-Credentials is not exactly `true` (Fetch #cors-preflight-fetch, #cors-check \
step 6). The preflight carries no cookies itself, yet must allow them. A preflight cached from \
an uncredentialed request never serves a credentialed one (#cors-preflight-cache), so turning \
credentials on triggers a new OPTIONS that fails here. Firefox reports \
CORSMissingAllowCredentials; WebKit checks the status first, then reports \
AllowCredentialsNotTrue.",
        causes: &[
            "The OPTIONS handler omits Access-Control-Allow-Credentials although the actual \
response has it.",
            "A wrong value such as `True` or `1`.",
            "Credentials were turned on in the client without changing the server.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_CREDENTIALS,
            "Send the same pair on the OPTIONS answer and on the actual response.",
            STEP_VARY,
        ],
        equivalents: &[
            (Firefox, "CORSMissingAllowCredentials"),
            (Safari, "AllowCredentialsNotTrue"),
        ],
    },
    Explanation {
        name: "PreflightMissingAllowExternal",
        browser: Chromium,
        summary: "Obsolete (CORS-RFC1918 experiment): the preflight lacked \
Access-Control-Allow-External.",
        console: cr_pf!(
            "No 'Access-Control-Allow-External' header was present in the preflight \
response for this external request (This is an experimental header which is defined in \
'https://wicg.github.io/cors-rfc1918/')."
        ),
        meaning: "Obsolete. An early form of Private Network Access (WICG cors-rfc1918) asked \
servers on private addresses to answer the preflight with Access-Control-Allow-External: true. \
Chromium dropped the experiment; the name stays in the DevTools protocol only so that old logs \
still display. Current Chromium never reports it, and the text above is from the 2020 source. \
Firefox and WebKit never had it. See the Local Network Access reasons \
(LocalNetworkAccessPermissionDenied) for what replaced it.",
        causes: &["An old Chromium build or an old DevTools log or HAR."],
        fix: &[
            "Nothing to change for current browsers; if the log is recent, look for the Local \
Network Access reasons instead.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "PreflightInvalidAllowExternal",
        browser: Chromium,
        summary: "Obsolete (CORS-RFC1918 experiment): Access-Control-Allow-External was not \
`true`.",
        console: cr_pf!(
            "The 'Access-Control-Allow-External' header in the preflight response for \
this external request had a value of '{value}',  not 'true' (This is an experimental header \
which is defined in 'https://wicg.github.io/cors-rfc1918/')."
        ),
        meaning: "Obsolete. Under the abandoned CORS-RFC1918 experiment, the preflight to a \
private address answered Access-Control-Allow-External with something other than `true`. The \
name is kept in the DevTools protocol for old logs only; current Chromium never reports it, and \
the text above (with its double space) is from the 2020 source. Firefox and WebKit never had \
it.",
        causes: &["An old Chromium build or an old DevTools log or HAR."],
        fix: &[
            "Nothing to change for current browsers; if the log is recent, look for the Local \
Network Access reasons instead.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "InvalidAllowMethodsPreflightResponse",
        browser: Chromium,
        summary: "The preflight's Access-Control-Allow-Methods could not be parsed.",
        console: cr!(
            "Cannot parse Access-Control-Allow-Methods response header field in \
preflight response."
        ),
        meaning: "The preflight passed its Allow-Origin and status checks, but \
Access-Control-Allow-Methods is not a comma-separated list of tokens, so extracting its values \
fails and the preflight is a network error (Fetch #cors-preflight-fetch, \
#extract-header-list-values, ABNF `#method`). Empty elements are allowed (`GET, , PUT`); a space \
inside an element (`GET PUT`), quotes, `/`, `;` or other separators are not. Chromium does not \
say which element is bad. Firefox names the first bad token (CORSInvalidAllowMethod); WebKit \
prints the raw value (InvalidAllowMethods).",
        causes: &[
            "Methods separated by spaces or semicolons instead of commas (`GET PUT DELETE`).",
            "Quoted values or a JSON array pasted into the header (`[\"GET\",\"POST\"]`).",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_LIST_METHODS,
            "Several header lines are fine too: they are joined with commas before parsing.",
        ],
        equivalents: &[
            (Firefox, "CORSInvalidAllowMethod"),
            (Safari, "InvalidAllowMethods"),
        ],
    },
    Explanation {
        name: "InvalidAllowHeadersPreflightResponse",
        browser: Chromium,
        summary: "The preflight's Access-Control-Allow-Headers could not be parsed.",
        console: cr!(
            "Cannot parse Access-Control-Allow-Headers response header field in \
preflight response."
        ),
        meaning: "Access-Control-Allow-Methods parsed, but Access-Control-Allow-Headers is not a \
comma-separated list of tokens (Fetch #cors-preflight-fetch, #extract-header-list-values, ABNF \
`#field-name`), so the preflight is a network error. Empty elements are ignored; a space inside \
an element, `;`, `:`, quotes or `/` make the whole header fail. Chromium does not say which \
element is bad. Firefox names the first bad token (CORSInvalidAllowHeader); WebKit prints the \
raw value (InvalidAllowHeaders).",
        causes: &[
            "Names separated by semicolons or spaces (`x-requested-with;x-api-key`).",
            "A full header line pasted as a value (`Content-Type: application/json`).",
            "Quoted names or a JSON array.",
        ],
        fix: &[STEP_CURL_PREFLIGHT, STEP_LIST_HEADERS],
        equivalents: &[
            (Firefox, "CORSInvalidAllowHeader"),
            (Safari, "InvalidAllowHeaders"),
        ],
    },
    Explanation {
        name: "MethodDisallowedByPreflightResponse",
        browser: Chromium,
        summary: "The preflight does not allow the request's method.",
        console: cr!(
            "Method {method} is not allowed by Access-Control-Allow-Methods in preflight \
response."
        ),
        meaning: "The preflight passed, but the request's method is not in \
Access-Control-Allow-Methods, is not GET, HEAD or POST, and no usable `*` is present (Fetch \
#cors-preflight-fetch, method rule; `*` counts only without credentials, \
#http-new-header-syntax). Matching is byte-exact, hence case-sensitive, in all three browsers, \
as the spec says (Chromium's feature AccessControlAllowMethodsInCORSPreflightSpecConformant is \
on by default): `put` does not allow PUT. fetch() upper-cases only DELETE, GET, HEAD, OPTIONS, \
POST and PUT (#concept-method-normalize); `patch` is sent as written and is not matched by \
PATCH. The message shows the method as sent. Firefox reports CORSMethodNotFound (without the \
method), WebKit MethodNotAllowedByAllowMethods.",
        causes: &[
            "The header lists only the framework default (GET, HEAD, POST) and the page sends \
PUT, PATCH or DELETE.",
            "Lower-case entries in the header (`get, put, delete`).",
            "The client writes `method: 'patch'` (not normalized) while the server lists PATCH.",
            "`Access-Control-Allow-Methods: *` on a credentialed request, where `*` is a literal \
method name.",
            "The preflight has no Access-Control-Allow-Methods at all.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_LIST_METHODS,
            "Write non-standard methods in upper case on the client (`method: 'PATCH'`), or \
list them exactly as sent.",
            "With credentials, list the methods instead of `*`.",
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Firefox, "CORSMethodNotFound"),
            (Safari, "MethodNotAllowedByAllowMethods"),
        ],
    },
    Explanation {
        name: "HeaderDisallowedByPreflightResponse",
        browser: Chromium,
        summary: "The preflight does not allow one of the request's headers.",
        console: cr!(
            "Request header field {header} is not allowed by Access-Control-Allow-Headers \
in preflight response."
        ),
        meaning: "The preflight passed, but a request header that is not CORS-safelisted (Fetch \
#cors-safelisted-request-header) is missing from Access-Control-Allow-Headers (compared \
case-insensitively) and no usable `*` is present (#cors-preflight-fetch, header rule; `*` counts \
only without credentials). The preflight's Access-Control-Request-Headers lists exactly the \
names that must be allowed; Content-Type counts when its value is not form, multipart or \
text/plain (e.g. application/json). The spec says `*` never covers Authorization \
(#terminology-headers), but Chromium, Firefox (with a warning) and WebKit all accept it today; \
Chromium then never caches the preflight. Chromium names the first failing header in the \
request's order, lower-cased. Firefox reports CORSMissingAllowHeaderFromPreflight (first \
missing name in sorted order); WebKit HeaderNotAllowedByAllowHeaders (the name as the page \
wrote it).",
        causes: &[
            "A custom header (X-Api-Key, X-Requested-With) or Authorization not listed.",
            "Content-Type: application/json, which is not safelisted.",
            "Headers added by an SDK, APM or tracing library (traceparent, sentry-trace, \
x-datadog-*) that the page author did not write.",
            "A safelisted name with a value that is not (Accept-Language with unusual \
characters, a multi-range Range, a value over 128 bytes).",
            "`Access-Control-Allow-Headers: *` on a credentialed request.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_LIST_HEADERS,
            "List Authorization by name even when sending `*`: the spec does not let `*` cover \
it and browsers are expected to follow.",
            "Or stop sending the header if it is not needed (e.g. drop X-Requested-With).",
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Firefox, "CORSMissingAllowHeaderFromPreflight"),
            (Safari, "HeaderNotAllowedByAllowHeaders"),
        ],
    },
    Explanation {
        name: "RedirectContainsCredentials",
        browser: Chromium,
        summary: "A redirect pointed to a URL with a username or password in it.",
        console: cr!(
            "Redirect location '{value}' contains a username and password, which is \
disallowed for cross-origin requests."
        ),
        meaning: "A redirect of a CORS request has a Location with userinfo \
(`https://user:pass@host/`) and crosses origins, which Fetch #http-redirect-fetch turns into a \
network error. Chromium 156 does not fill in the location, so the console shows \
`Redirect location ''`; read the Location header of the 3xx in the HAR or capture. Firefox logs \
only CORSDidNotSucceed (Status code: (null)) and does not follow the redirect; WebKit reports \
RedirectURLHasCredentials with the full URL.",
        causes: &[
            "A server or proxy builds redirect URLs that embed basic-auth credentials.",
            "A storage or download service redirects to a signed URL in user:password form.",
        ],
        fix: &[
            "Remove the userinfo from the Location URL.",
            "Pass credentials another way (an Authorization header, a token in the query or a \
cookie) and allow it with CORS headers as usual.",
        ],
        equivalents: &[
            (Firefox, "CORSDidNotSucceed"),
            (Safari, "RedirectURLHasCredentials"),
        ],
    },
    Explanation {
        name: "InsecureLocalNetwork",
        browser: Chromium,
        summary: "Local Network Access: a page that is not a secure context reached a more \
private network.",
        console: cr!(
            "The request client is not a secure context and the resource is in \
more-private address space `{resource_space}`."
        ),
        meaning: "Local Network Access (WICG local-network-access, enforced from Chrome 142; \
formerly InsecurePrivateNetwork under Private Network Access) only lets secure contexts \
(https pages, localhost) reach a more private address space: public to private, or anything to \
loopback. This page is plain http on a public address, so Chromium blocks the request before \
any CORS check. The console text is from older Chromium source and may be worded differently \
now. Firefox and WebKit have no such rule.",
        causes: &[
            "An http:// page on a public host calls a service on 192.168.x.x, 10.x.x.x or \
localhost.",
            "A page served over http in production that talks to a device on the LAN.",
        ],
        fix: &[
            "Serve the page over https (a secure context).",
            "Or expose the service on a public address or the page's own origin.",
            STEP_LNA_NOTE,
        ],
        equivalents: &[],
    },
    Explanation {
        name: "InvalidLocalNetworkAccess",
        browser: Chromium,
        summary: "Local Network Access: the endpoint is not in the address space the request \
declared.",
        console: cr!(
            "Request had a target IP address space of `{target_space}` yet the resource \
is in address space `{resource_space}`."
        ),
        meaning: "The request declared a target address space (fetch()'s targetAddressSpace \
option in Local Network Access, WICG local-network-access; formerly \
InvalidPrivateNetworkAccess), but the address the connection actually reached belongs to \
another space, so Chromium fails it. This guards against DNS rebinding. The console text is \
from older Chromium source. Firefox and WebKit have no equivalent.",
        causes: &[
            "The host name resolves to a different kind of address than the code declared (a \
public name now pointing at a private IP, or the reverse).",
            "A wrong targetAddressSpace value in the fetch() options.",
        ],
        fix: &[
            "Declare the space that matches the real address:\n    \
fetch(url, { targetAddressSpace: 'local' })",
            "Check DNS for the host (`dig +short api.example`) from the failing machine.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "NoCorsRedirectModeNotFollow",
        browser: Chromium,
        summary: "A no-cors request used redirect mode 'error' or 'manual'.",
        console: "Fetch API cannot load {url}. Request mode is \"no-cors\" but the redirect mode \
is not \"follow\".",
        meaning: "A request in mode `no-cors` must use redirect mode `follow`; main fetch returns \
a network error otherwise (Fetch #main-fetch), and Blink rejects it \
before the network. It is a rule of the client code, not of the server. The exact current \
console text is unconfirmed. Firefox and WebKit reject such a fetch() with a TypeError and no \
named reason.",
        causes: &["fetch(url, { mode: 'no-cors', redirect: 'manual' }) or redirect: 'error'."],
        fix: &[
            "Use redirect: 'follow' (the default) with mode 'no-cors'.",
            "Or use mode 'cors' and have the server send CORS headers, which also makes the \
response readable.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "LocalNetworkAccessPermissionDenied",
        browser: Chromium,
        summary: "Local Network Access: the user denied, or could not be asked for, the \
permission.",
        console: cr!(
            "Permission was denied for this request to access the `{target_space}` \
address space."
        ),
        meaning: "From Chrome 142 a request from a public page to a private or loopback address \
needs the user's Local Network Access permission (WICG local-network-access, a permission \
prompt replacing PNA preflights). The user declined it, or no prompt could be shown (e.g. a \
cross-origin iframe without permission delegation), so the request failed before CORS was \
evaluated. The console text is from 2025 Chromium source and unconfirmed for current builds. \
Firefox and WebKit have no equivalent.",
        causes: &[
            "The user clicked Block on the prompt, or an enterprise policy denies it.",
            "The request comes from an iframe that was not delegated the permission.",
        ],
        fix: &[
            "Allow the site under the page's site settings (Local network access) and reload.",
            "Delegate the permission to the iframe:\n    \
<iframe src=\"https://widget.example\" allow=\"local-network-access\"></iframe>",
            STEP_LNA_NOTE,
        ],
        equivalents: &[],
    },
    // Removed from the DevTools protocol in early 2026 (cors.md 2.1): parse, never emit.
    Explanation {
        name: "PreflightMissingAllowPrivateNetwork",
        browser: Chromium,
        summary: "Obsolete (Private Network Access): the preflight lacked \
Access-Control-Allow-Private-Network.",
        console: cr_pf!(
            "No 'Access-Control-Allow-Private-Network' header was present in the \
preflight response for this private network request targeting the `{target_space}` address \
space."
        ),
        meaning: "Obsolete; removed from the DevTools protocol in early 2026. Under Private \
Network Access, a request to a more private address space got a preflight with \
Access-Control-Request-Private-Network: true, and the server had to answer \
Access-Control-Allow-Private-Network: true. Enforcement never shipped for subresources: Chrome \
ran it in warning mode and ignored failures. Local Network Access (a permission prompt) replaced \
it. The text is from 2025 source. Firefox and WebKit never had it.",
        causes: &["An older Chromium (2023-2025) or an old DevTools log or HAR."],
        fix: &[
            "For old builds, answer the preflight with the header:\n    \
Access-Control-Allow-Private-Network: true",
            "For current Chromium, see LocalNetworkAccessPermissionDenied.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "PreflightInvalidAllowPrivateNetwork",
        browser: Chromium,
        summary: "Obsolete (Private Network Access): Access-Control-Allow-Private-Network was \
not `true`.",
        console: cr_pf!(
            "The 'Access-Control-Allow-Private-Network' header in the preflight \
response for this private network request targeting the `{target_space}` address space had a \
value of '{value}',  not 'true'."
        ),
        meaning: "Obsolete; removed from the DevTools protocol in early 2026. The Private Network \
Access preflight was answered with Access-Control-Allow-Private-Network set to something other \
than `true` (the value is the failed parameter). Chrome only warned about it for subresources. \
The text is from 2025 source. Firefox and WebKit never had it.",
        causes: &["An older Chromium (2023-2025) or an old DevTools log or HAR."],
        fix: &[
            "For old builds, send exactly:\n    \
Access-Control-Allow-Private-Network: true",
            "For current Chromium, see LocalNetworkAccessPermissionDenied.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "UnexpectedPrivateNetworkAccess",
        browser: Chromium,
        summary: "Obsolete (Private Network Access): a request reached a private address it \
had not declared.",
        console: cr!(
            "Request had no target IP address space, yet the resource is in address \
space `{resource_space}`."
        ),
        meaning: "Obsolete; removed from the DevTools protocol in early 2026. A request that \
declared no target address space connected to a private or local address, which Private \
Network Access treated as unexpected (a DNS-rebinding guard). The text is from 2025 source. \
Firefox and WebKit never had it.",
        causes: &["An older Chromium (2023-2025) or an old DevTools log or HAR."],
        fix: &["For current Chromium, see InvalidLocalNetworkAccess."],
        equivalents: &[],
    },
    Explanation {
        name: "PreflightMissingPrivateNetworkAccessId",
        browser: Chromium,
        summary: "Obsolete (Private Network Access): the preflight lacked \
Private-Network-Access-Id.",
        console: cr!(
            "No 'Private-Network-Access-Id' header was present in the preflight response \
for this private network request targeting the `{target_space}` address space."
        ),
        meaning: "Obsolete; removed from the DevTools protocol in early 2026. The Private Network \
Access permission flow for devices on the local network expected the preflight to identify the \
device with a Private-Network-Access-Id header. The text is from 2025 source. Firefox and \
WebKit never had it.",
        causes: &["An older Chromium (2023-2025) or an old DevTools log or HAR."],
        fix: &["For current Chromium, see LocalNetworkAccessPermissionDenied."],
        equivalents: &[],
    },
    Explanation {
        name: "PreflightMissingPrivateNetworkAccessName",
        browser: Chromium,
        summary: "Obsolete (Private Network Access): the preflight lacked \
Private-Network-Access-Name.",
        console: cr!(
            "No 'Private-Network-Access-Name' header was present in the preflight \
response for this private network request targeting the `{target_space}` address space."
        ),
        meaning: "Obsolete; removed from the DevTools protocol in early 2026. The Private Network \
Access permission flow expected the preflight to name the device with a \
Private-Network-Access-Name header. The text is from 2025 source. Firefox and WebKit never had \
it.",
        causes: &["An older Chromium (2023-2025) or an old DevTools log or HAR."],
        fix: &["For current Chromium, see LocalNetworkAccessPermissionDenied."],
        equivalents: &[],
    },
    Explanation {
        name: "PrivateNetworkAccessPermissionUnavailable",
        browser: Chromium,
        summary: "Obsolete (Private Network Access): the permission could not be requested.",
        console: cr!(
            "Unable to ask for permission to access the `{target_space}` IP address \
space."
        ),
        meaning: "Obsolete; removed from the DevTools protocol in early 2026. The Private Network \
Access permission prompt could not be shown for this request. Local Network Access replaced it. \
The text is from 2025 source. Firefox and WebKit never had it.",
        causes: &["An older Chromium (2023-2025) or an old DevTools log or HAR."],
        fix: &["For current Chromium, see LocalNetworkAccessPermissionDenied."],
        equivalents: &[],
    },
    Explanation {
        name: "PrivateNetworkAccessPermissionDenied",
        browser: Chromium,
        summary: "Obsolete (Private Network Access): the user denied the permission.",
        console: cr!(
            "Permission was denied for this request to access the `{target_space}` \
address space."
        ),
        meaning: "Obsolete; removed from the DevTools protocol in early 2026 and succeeded by \
LocalNetworkAccessPermissionDenied, which prints the same text. The user denied the Private \
Network Access permission. The text is from 2025 source. Firefox and WebKit never had it.",
        causes: &["An older Chromium (2023-2025) or an old DevTools log or HAR."],
        fix: &["See LocalNetworkAccessPermissionDenied."],
        equivalents: &[],
    },
    // ---------------------------------------------------------------- Firefox (cors.md 3.1)
    Explanation {
        name: "CORSDisabled",
        browser: Firefox,
        summary: "CORS is switched off in this Firefox profile, so every CORS request fails.",
        console: fx!("CORS disabled"),
        meaning: "The preference content.cors.disable is true, so Firefox refuses every \
cross-origin request that needs CORS, whatever the server sends. It is the first check in \
nsCORSListenerProxy and has nothing to do with the Fetch standard or the server. Chromium and \
WebKit have no such switch.",
        causes: &[
            "The preference was set in about:config, a user.js or an automation profile.",
            "An enterprise policy or a testing harness sets it.",
        ],
        fix: &[
            "Open about:config, search content.cors.disable and reset it to false.",
            "Check user.js and policies.json in the profile for the preference.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "CORSDidNotSucceed",
        browser: Firefox,
        summary: "The request failed at the network level; no usable response arrived.",
        console: fx_status!("CORS request did not succeed"),
        meaning: "Firefox logs this when the HTTP channel of a cross-origin request failed \
before the CORS headers could be judged: connection refused, DNS or TLS failure, reset, \
timeout, blocked by an extension. It is not a problem with the server's CORS headers, and the \
status is usually '(null)'. A failed preflight also logs it as a second line for the request it \
guarded: the line before it names the real reason. A redirect to a URL with a username or \
password ends here too (not followed). Chromium shows such failures as a net::ERR_* code \
without a CorsError, except the userinfo redirect (RedirectContainsCredentials; WebKit \
RedirectURLHasCredentials).",
        causes: &[
            "The server is down, on another port, or unreachable from this network.",
            "A certificate the browser does not trust (self-signed, expired, wrong name).",
            "An extension, an ad blocker or mixed-content blocking (an https page calling \
http) stopped it.",
            "A preflight failed: the previous console line names why.",
            "A redirect to a URL containing user:password@.",
        ],
        fix: &[
            "Look at the console line just before this one: if it is another CORS reason, fix \
that one.",
            "Open the URL directly in a tab to see the network error (certificate, DNS, \
refused).",
            "Remove userinfo from redirect targets and pass credentials in a header instead.",
        ],
        equivalents: &[
            (Chromium, "RedirectContainsCredentials"),
            (Safari, "RedirectURLHasCredentials"),
        ],
    },
    Explanation {
        name: "CORSOriginHeaderNotAdded",
        browser: Firefox,
        summary: "Firefox could not add an Origin header (request from an extension content \
script).",
        console: fx!("CORS header ‘Origin’ cannot be added"),
        meaning: "The request's principal is an expanded principal, as used by extension content \
scripts, which has no single origin to put in the Origin header, so Firefox cannot make a CORS \
request. This is Firefox-specific; the server is not involved.",
        causes: &["A WebExtension content script calls fetch() or XHR on another origin."],
        fix: &[
            "Make the request from the extension's background script, with host permissions \
for the target in the manifest.",
            "Or use content.fetch() in the content script to send it as the page would.",
        ],
        equivalents: &[],
    },
    Explanation {
        name: "CORSExternalRedirectNotAllowed",
        browser: Firefox,
        summary: "The preflight (OPTIONS) was answered with a redirect.",
        console: fx!("CORS request external redirect not allowed"),
        meaning: "A preflight received a real redirect (not an internal one such as an HSTS \
upgrade); preflights never follow redirects (Fetch #cors-preflight-fetch). Firefox checks the \
3xx's Access-Control-Allow-Origin first: with a valid one it logs this reason, then \
CORSPreflightDidNotSucceed with the 3xx status, then CORSDidNotSucceed; without one it reports \
CORSMissingAllowOrigin with the 3xx status instead. Chromium reports \
PreflightDisallowedRedirect, WebKit PreflightNotSuccessful.",
        causes: &[
            "An http to https redirect, or a trailing-slash or host canonicalization rule.",
            "A login redirect, because the preflight carries no cookie.",
        ],
        fix: &[
            STEP_FINAL_URL,
            "Exempt OPTIONS from redirect and login rules and answer it with 204 and the CORS \
headers.",
            STEP_PREFLIGHT_ANSWER,
        ],
        equivalents: &[
            (Chromium, "PreflightDisallowedRedirect"),
            (Safari, "PreflightNotSuccessful"),
        ],
    },
    Explanation {
        name: "CORSRequestNotHttp",
        browser: Firefox,
        summary: "A CORS request was made to a non-HTTP URL (file:, a typo).",
        console: fx!("CORS request not http"),
        meaning: "The cross-origin request's URL is not http or https, and only HTTP(S) fetches \
can do CORS (Fetch #main-fetch, scheme fetch). Firefox treats each file: URL as its own origin, \
so a page opened from disk cannot even read a file next to it. Chromium reports \
CorsDisabledScheme.",
        causes: &[
            "The HTML file is opened from disk (file://) and fetches local files.",
            "A URL without `http://` or with a mistyped scheme.",
        ],
        fix: &[
            "Serve the files from a local web server and use http(s) URLs:\n    \
python3 -m http.server 8000",
            "Write absolute URLs with their scheme.",
        ],
        equivalents: &[(Chromium, "CorsDisabledScheme"), (Safari, "CannotLoad")],
    },
    Explanation {
        name: "CORSMissingAllowOrigin",
        browser: Firefox,
        summary: "The response (actual, redirect or preflight) has no Access-Control-Allow-Origin \
header.",
        console: fx_status!("CORS header ‘Access-Control-Allow-Origin’ missing"),
        meaning: "The CORS check failed because the response has no Access-Control-Allow-Origin \
(Fetch #cors-check step 2). Firefox uses this one reason for the actual response, a redirect \
hop and the preflight; the status code tells which: a 404/405 preflight without CORS headers is \
reported here with its status (Firefox checks the preflight's Allow-Origin before its status, as \
Chromium does), and so is a 3xx preflight without the header. The status code of an actual \
response does not matter: a 500 without CORS headers also lands here. Chromium splits it into \
MissingAllowOriginHeader, PreflightMissingAllowOriginHeader and, for a redirected preflight, \
PreflightDisallowedRedirect; WebKit says NotAllowedByAccessControlAllowOrigin, or \
PreflightNotSuccessful for a non-2xx preflight.",
        causes: &[
            "The server does not implement CORS for this route or method.",
            CAUSE_OPTIONS_UNROUTED,
            CAUSE_ERROR_PATH,
            CAUSE_PROXY_ERROR,
            "A redirect without CORS headers.",
        ],
        fix: &[
            STEP_CURL_ACTUAL,
            "If the status is not 2xx and a preflight was sent, fix the OPTIONS route first:",
            STEP_OPTIONS_FIRST,
            "Add the header on every response of the route, errors and redirects included:\n    \
Access-Control-Allow-Origin: https://app.example",
            STEP_VARY,
        ],
        equivalents: &[
            (Chromium, "MissingAllowOriginHeader"),
            (Chromium, "PreflightMissingAllowOriginHeader"),
            (Chromium, "PreflightDisallowedRedirect"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
            (Safari, "PreflightNotSuccessful"),
        ],
    },
    Explanation {
        name: "CORSMultipleAllowOriginNotAllowed",
        browser: Firefox,
        summary: "The response carries more than one Access-Control-Allow-Origin header line.",
        console: fx!("Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed"),
        meaning: "Firefox counts the Access-Control-Allow-Origin lines of the original response \
and fails when there are two or more, even if they are identical; this is its first header \
check. A single line holding a list ('a, b') is CORSAllowOriginNotMatchingOrigin instead. For \
the spec the lines are joined into 'a, b', which then cannot equal the origin (Fetch #cors-check). \
Chromium reports MultipleAllowOriginValues (or its Preflight form); WebKit \
MultipleAllowOriginValues.",
        causes: &[
            "Both the application and a proxy, CDN or gateway add the header.",
            "A framework adds it and the code adds it again by hand.",
        ],
        fix: &[
            "Count the header lines:\n    \
curl -si -H 'Origin: https://app.example' https://api.example/path | grep -i allow-origin",
            "Keep CORS in one layer (nginx: proxy_hide_header Access-Control-Allow-Origin to \
drop the upstream copy).",
            STEP_ONE_ORIGIN,
            STEP_VARY,
        ],
        equivalents: &[
            (Chromium, "MultipleAllowOriginValues"),
            (Chromium, "PreflightMultipleAllowOriginValues"),
            (Safari, "MultipleAllowOriginValues"),
        ],
    },
    Explanation {
        name: "CORSAllowOriginNotMatchingOrigin",
        browser: Firefox,
        summary: "Access-Control-Allow-Origin is not the page's origin.",
        console: fx!("CORS header ‘Access-Control-Allow-Origin’ does not match ‘{value}’"),
        meaning: "The CORS check failed: the Access-Control-Allow-Origin value is not byte-equal \
to the origin's serialization (Fetch #cors-check step 4). The value shown is the header's. \
Firefox uses this one reason for every wrong value on one line: another origin, a trailing \
slash, other case, `null`, a bare host, a wildcard pattern, and a list ('a, b' or 'a b'). It \
applies to the actual response, redirect hops and the preflight. Chromium splits it into \
AllowOriginMismatch, InvalidAllowOriginValue and MultipleAllowOriginValues (and their Preflight \
forms); WebKit reports NotAllowedByAccessControlAllowOrigin, or MultipleAllowOriginValues for a \
comma list.",
        causes: &[
            "A trailing slash, another scheme or port, or other letter case.",
            "An origin configured for another environment, or a pattern such as \
`https://*.example.com`.",
            "A list of origins in one header line.",
            "A cached response for another origin without Vary: Origin.",
            "A cross-origin redirect to another origin made the request's Origin `null`.",
        ],
        fix: &[
            "Compare the request's Origin header with the value in the message, byte for byte.",
            STEP_ONE_ORIGIN,
            STEP_VARY,
            STEP_FINAL_URL,
        ],
        equivalents: &[
            (Chromium, "AllowOriginMismatch"),
            (Chromium, "InvalidAllowOriginValue"),
            (Chromium, "MultipleAllowOriginValues"),
            (Chromium, "PreflightAllowOriginMismatch"),
            (Chromium, "PreflightInvalidAllowOriginValue"),
            (Chromium, "PreflightMultipleAllowOriginValues"),
            (Safari, "NotAllowedByAccessControlAllowOrigin"),
            (Safari, "MultipleAllowOriginValues"),
        ],
    },
    Explanation {
        name: "CORSNotSupportingCredentials",
        browser: Firefox,
        summary: "The response allows origin `*`, but the request was sent with credentials.",
        console: "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the \
remote resource at ‘{url}’. (Reason: Credential is not supported if the CORS header \
‘Access-Control-Allow-Origin’ is ‘*’).",
        meaning: "The request has credentials mode `include` (credentials: 'include', \
withCredentials = true) and Access-Control-Allow-Origin is `*`, which is a wildcard only \
without credentials (Fetch #cors-check step 3, #cors-protocol-and-credentials). It applies to \
the actual response and to the preflight, which is judged with the actual request's mode. This \
is the only Firefox CORS message that quotes the URL. Chromium reports WildcardOriginNotAllowed \
(or its Preflight form), WebKit CredentialsWithWildcard.",
        causes: &[
            "CORS configured with `*` while the client sends cookies.",
            "credentials: 'include' or withCredentials set although the API needs no cookies.",
        ],
        fix: &[
            "If no cookies or HTTP authentication are needed, drop credentials on the client.",
            STEP_CREDENTIALS,
            STEP_ONE_ORIGIN,
            STEP_VARY,
        ],
        equivalents: &[
            (Chromium, "WildcardOriginNotAllowed"),
            (Chromium, "PreflightWildcardOriginNotAllowed"),
            (Safari, "CredentialsWithWildcard"),
        ],
    },
    Explanation {
        name: "CORSMissingAllowCredentials",
        browser: Firefox,
        summary: "A credentialed request got no `Access-Control-Allow-Credentials: true`.",
        console: fx!("expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’"),
        meaning: "The request has credentials mode `include`, Access-Control-Allow-Origin \
matched, but Access-Control-Allow-Credentials is absent or not exactly `true` (Fetch \
#cors-check step 6, case-sensitive). It applies to the actual response and to the preflight. \
Chromium reports InvalidAllowCredentials (or its Preflight form), WebKit \
AllowCredentialsNotTrue.",
        causes: &[
            "The server never sends Access-Control-Allow-Credentials.",
            "A wrong value: `True`, `1`, `false`.",
            "The header is on the actual response but not on the preflight, or the reverse.",
        ],
        fix: &[
            STEP_CREDENTIALS,
            "Send it on the OPTIONS answer and on the actual response alike.",
            "If the API needs no cookies, drop credentials on the client instead.",
        ],
        equivalents: &[
            (Chromium, "InvalidAllowCredentials"),
            (Chromium, "PreflightInvalidAllowCredentials"),
            (Safari, "AllowCredentialsNotTrue"),
        ],
    },
    Explanation {
        name: "CORSPreflightDidNotSucceed",
        browser: Firefox,
        summary: "The preflight (OPTIONS) carried valid CORS headers but its status was not \
2xx.",
        console: fx_status!("CORS preflight response did not succeed"),
        meaning: "The preflight response's status is not 2xx (Fetch #cors-preflight-fetch, 'ok \
status'). Firefox checks the preflight's Access-Control-Allow-Origin first, so this appears only \
when the failing OPTIONS response carried a valid one; without it the reason is \
CORSMissingAllowOrigin with the same status. It also follows CORSExternalRedirectNotAllowed for \
a redirected preflight. A second line, CORSDidNotSucceed, is logged for the request it guarded. \
MDN's older wording is 'CORS preflight channel did not succeed'. Chromium reports \
PreflightInvalidStatus; WebKit, which checks the status first, PreflightNotSuccessful.",
        causes: &[
            CAUSE_OPTIONS_AUTH,
            "No OPTIONS handler (404/405) behind a layer that adds CORS headers everywhere.",
            "The handler fails on OPTIONS (500).",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_OPTIONS_FIRST,
            STEP_PREFLIGHT_ANSWER,
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Chromium, "PreflightInvalidStatus"),
            (Chromium, "PreflightDisallowedRedirect"),
            (Safari, "PreflightNotSuccessful"),
        ],
    },
    Explanation {
        name: "CORSInvalidAllowMethod",
        browser: Firefox,
        summary: "The preflight's Access-Control-Allow-Methods has an element that is not a \
token.",
        console: fx!("invalid token ‘{value}’ in CORS header ‘Access-Control-Allow-Methods’"),
        meaning: "Firefox splits Access-Control-Allow-Methods on commas, skips empty elements \
and fails at the first element that is not an HTTP token (Fetch #cors-preflight-fetch, \
#extract-header-list-values); the message names it, e.g. ‘PUT DELETE’ for a space-separated \
list. Chromium reports InvalidAllowMethodsPreflightResponse, WebKit InvalidAllowMethods.",
        causes: &[
            "Methods separated by spaces or semicolons.",
            "Quotes or a JSON array in the value.",
        ],
        fix: &[STEP_CURL_PREFLIGHT, STEP_LIST_METHODS],
        equivalents: &[
            (Chromium, "InvalidAllowMethodsPreflightResponse"),
            (Safari, "InvalidAllowMethods"),
        ],
    },
    Explanation {
        name: "CORSMethodNotFound",
        browser: Firefox,
        summary: "The preflight does not allow the request's method.",
        console: fx!("Did not find method in CORS header ‘Access-Control-Allow-Methods’"),
        meaning: "The method is not GET, HEAD or POST, is not listed in \
Access-Control-Allow-Methods, and no usable `*` is present (`*` counts only without \
credentials; Fetch #cors-preflight-fetch, #http-new-header-syntax). Matching is case-sensitive, \
as in the spec and in Chromium and WebKit: `put` does not allow PUT, and `patch` as written by \
the page is not matched by PATCH. Unlike the others, Firefox does not name the method: read \
Access-Control-Request-Method on the preflight. Chromium reports \
MethodDisallowedByPreflightResponse, WebKit MethodNotAllowedByAllowMethods.",
        causes: &[
            "PUT, PATCH or DELETE missing from the list.",
            "Lower-case entries, or a lower-case `patch` from the client.",
            "`*` on a credentialed request.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_LIST_METHODS,
            "Write the method in upper case on the client.",
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Chromium, "MethodDisallowedByPreflightResponse"),
            (Safari, "MethodNotAllowedByAllowMethods"),
        ],
    },
    Explanation {
        name: "CORSInvalidAllowHeader",
        browser: Firefox,
        summary: "The preflight's Access-Control-Allow-Headers has an element that is not a \
token.",
        console: fx!("invalid token ‘{value}’ in CORS header ‘Access-Control-Allow-Headers’"),
        meaning: "Firefox splits Access-Control-Allow-Headers on commas, skips empty elements and \
fails at the first element that is not a token (Fetch #cors-preflight-fetch, \
#extract-header-list-values); the message names it, e.g. ‘x-requested-with;x-api-key’. \
Chromium reports InvalidAllowHeadersPreflightResponse, WebKit InvalidAllowHeaders.",
        causes: &[
            "Names separated by semicolons or spaces.",
            "A full header line or quoted names in the value.",
        ],
        fix: &[STEP_CURL_PREFLIGHT, STEP_LIST_HEADERS],
        equivalents: &[
            (Chromium, "InvalidAllowHeadersPreflightResponse"),
            (Safari, "InvalidAllowHeaders"),
        ],
    },
    Explanation {
        name: "CORSMissingAllowHeaderFromPreflight",
        browser: Firefox,
        summary: "The preflight does not allow one of the request's headers.",
        console: fx!("header ‘{header}’ is not allowed according to header \
‘Access-Control-Allow-Headers’ from CORS preflight response"),
        meaning: "A request header that is not CORS-safelisted is missing from \
Access-Control-Allow-Headers (case-insensitive) and no usable `*` is present (Fetch \
#cors-preflight-fetch; `*` counts only without credentials). Firefox names the first missing \
header of the preflight's sorted, lower-case Access-Control-Request-Headers. `*` covers \
Authorization here although the spec says it must not, with a console warning \
(CORSAllowHeaderFromPreflightDeprecation). The .properties key is \
CORSMissingAllowHeaderFromPreflight2; MDN's older wording is \"missing token 'xyz' in CORS \
header 'Access-Control-Allow-Headers' from CORS preflight channel\". Chromium reports \
HeaderDisallowedByPreflightResponse, WebKit HeaderNotAllowedByAllowHeaders.",
        causes: &[
            "A custom header, Authorization, or Content-Type: application/json not listed.",
            "Headers added by an SDK or tracing library.",
            "`*` on a credentialed request.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_LIST_HEADERS,
            "Or stop sending headers that are not needed.",
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Chromium, "HeaderDisallowedByPreflightResponse"),
            (Safari, "HeaderNotAllowedByAllowHeaders"),
        ],
    },
    Explanation {
        name: "CORSAllowHeaderFromPreflightDeprecation",
        browser: Firefox,
        summary: "Warning, not a block: `Access-Control-Allow-Headers: *` let Authorization \
through.",
        console: "Cross-Origin Request Warning: The Same Origin Policy will disallow reading the \
remote resource at {url} soon. (Reason: When the `Access-Control-Allow-Headers` is `*`, the \
`Authorization` header is not covered. To include the `Authorization` header, it must be \
explicitly listed in CORS header `Access-Control-Allow-Headers`).",
        meaning: "The request sent Authorization and the preflight allowed headers only with \
`*`. The spec says `*` never covers Authorization (Fetch #terminology-headers, CORS \
non-wildcard request-header name; #cors-preflight-fetch). Firefox still allows it (preference \
network.cors_preflight.authorization_covered_by_wildcard, true by default since 115) and warns \
that this will change. Chromium and WebKit allow it silently; Chromium then never caches such a \
preflight. Once browsers follow the spec, these requests fail as \
CORSMissingAllowHeaderFromPreflight / HeaderDisallowedByPreflightResponse.",
        causes: &[
            "A server that answers `Access-Control-Allow-Headers: *` to a preflight \
listing authorization.",
        ],
        fix: &[
            "List Authorization by name, next to `*` or in a full list:\n    \
Access-Control-Allow-Headers: Authorization, *",
        ],
        equivalents: &[],
    },
    // ---------------------------------------------------------------- WebKit (cors.md 7.1)
    Explanation {
        name: "NotAllowedByAccessControlAllowOrigin",
        browser: Safari,
        summary: "Access-Control-Allow-Origin is missing or does not match the page's origin.",
        console: "Origin {origin} is not allowed by Access-Control-Allow-Origin. Status code: \
{status}",
        meaning: "WebKit's single reason for an Access-Control-Allow-Origin that is missing, \
mismatching, `null`, not a URL, or a space-separated pair (Fetch #cors-check steps 2 and 4). \
The message names the request's Origin, never the header's value: read the response to see \
what the server sent. It is the same for the actual response and the preflight; the status \
tells them apart, and a preflight only gets this far with a 2xx status because WebKit checks \
the preflight's status before its Allow-Origin (Chromium and Firefox do the reverse). Chromium \
reports MissingAllowOriginHeader, AllowOriginMismatch or InvalidAllowOriginValue (or a \
Preflight form); Firefox CORSMissingAllowOrigin or CORSAllowOriginNotMatchingOrigin.",
        causes: &[
            "No CORS handling on the route, or headers missing on error responses.",
            "The configured origin differs by scheme, port, case or a trailing slash.",
            "Two origins separated by a space.",
            CAUSE_PROXY_ERROR,
            "A cached response for another origin without Vary: Origin.",
        ],
        fix: &[
            STEP_CURL_ACTUAL,
            STEP_ONE_ORIGIN,
            "Send it on every response of the route, errors included, and on the OPTIONS \
answer.",
            STEP_VARY,
        ],
        equivalents: &[
            (Chromium, "MissingAllowOriginHeader"),
            (Chromium, "AllowOriginMismatch"),
            (Chromium, "InvalidAllowOriginValue"),
            (Chromium, "MultipleAllowOriginValues"),
            (Chromium, "PreflightMissingAllowOriginHeader"),
            (Chromium, "PreflightAllowOriginMismatch"),
            (Chromium, "PreflightInvalidAllowOriginValue"),
            (Firefox, "CORSMissingAllowOrigin"),
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
        ],
    },
    Explanation {
        name: "MultipleAllowOriginValues",
        browser: Safari,
        summary: "Access-Control-Allow-Origin holds a comma list or was sent twice.",
        console: "Access-Control-Allow-Origin cannot contain more than one origin.",
        meaning: "WebKit found a comma-separated list in Access-Control-Allow-Origin, or two \
header lines (which are joined with a comma); the spec allows one origin, `*` or `null` (Fetch \
#cors-check). A space-separated pair is NotAllowedByAccessControlAllowOrigin instead. The same \
message serves the actual response and the preflight. Chromium uses the same name, \
MultipleAllowOriginValues (query `safari:MultipleAllowOriginValues` for this page); Firefox \
reports CORSMultipleAllowOriginNotAllowed for two lines and CORSAllowOriginNotMatchingOrigin for \
a list.",
        causes: &[
            "Both the application and a proxy, CDN or gateway add the header.",
            "The allow-list is sent as the value.",
        ],
        fix: &[
            "Count the header lines:\n    \
curl -si -H 'Origin: https://app.example' https://api.example/path | grep -i allow-origin",
            "Keep CORS in one layer.",
            STEP_ONE_ORIGIN,
            STEP_VARY,
        ],
        equivalents: &[
            (Chromium, "MultipleAllowOriginValues"),
            (Chromium, "PreflightMultipleAllowOriginValues"),
            (Firefox, "CORSMultipleAllowOriginNotAllowed"),
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
        ],
    },
    Explanation {
        name: "CredentialsWithWildcard",
        browser: Safari,
        summary: "The response allows origin `*`, but the request was sent with credentials.",
        console: "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is \
true.",
        meaning: "The request has credentials mode `include` and Access-Control-Allow-Origin is \
`*`, which is a wildcard only without credentials (Fetch #cors-check step 3, \
#cors-protocol-and-credentials). The same message serves the actual response and the preflight \
(checked with the actual request's mode). Chromium reports WildcardOriginNotAllowed (or its \
Preflight form), Firefox CORSNotSupportingCredentials.",
        causes: &[
            "CORS configured with `*` while the client sends cookies.",
            "credentials: 'include' or withCredentials set although no cookies are needed.",
        ],
        fix: &[
            "If no cookies or HTTP authentication are needed, drop credentials on the client.",
            STEP_CREDENTIALS,
            STEP_ONE_ORIGIN,
            STEP_VARY,
        ],
        equivalents: &[
            (Chromium, "WildcardOriginNotAllowed"),
            (Chromium, "PreflightWildcardOriginNotAllowed"),
            (Firefox, "CORSNotSupportingCredentials"),
        ],
    },
    Explanation {
        name: "AllowCredentialsNotTrue",
        browser: Safari,
        summary: "A credentialed request got no `Access-Control-Allow-Credentials: true`.",
        console: "Credentials flag is true, but Access-Control-Allow-Credentials is not \
\"true\".",
        meaning: "The request has credentials mode `include`, Access-Control-Allow-Origin \
matched, but Access-Control-Allow-Credentials is absent or not exactly `true` (Fetch \
#cors-check step 6). The same message serves the actual response and the preflight. Chromium \
reports InvalidAllowCredentials (or its Preflight form), Firefox CORSMissingAllowCredentials.",
        causes: &[
            "The server never sends Access-Control-Allow-Credentials.",
            "A wrong value: `True`, `1`, `false`.",
            "Only one of the preflight and the actual response carries it.",
        ],
        fix: &[
            STEP_CREDENTIALS,
            "Send it on the OPTIONS answer and on the actual response alike.",
            "If the API needs no cookies, drop credentials on the client instead.",
        ],
        equivalents: &[
            (Chromium, "InvalidAllowCredentials"),
            (Chromium, "PreflightInvalidAllowCredentials"),
            (Firefox, "CORSMissingAllowCredentials"),
        ],
    },
    Explanation {
        name: "PreflightNotSuccessful",
        browser: Safari,
        summary: "The preflight (OPTIONS) answered with a status other than 2xx (redirects \
included).",
        console: "Preflight response is not successful. Status code: {status}",
        meaning: "The preflight's status is not an ok status (Fetch #cors-preflight-fetch). \
WebKit checks it before the CORS headers, so a 404/405/401 OPTIONS without any CORS header \
lands here, where Chromium says PreflightMissingAllowOriginHeader and Firefox \
CORSMissingAllowOrigin; with valid headers they say PreflightInvalidStatus and \
CORSPreflightDidNotSucceed. A 3xx preflight is just an unsuccessful status for WebKit \
(Chromium: PreflightDisallowedRedirect; Firefox: CORSExternalRedirectNotAllowed). The actual \
request is never sent.",
        causes: &[
            CAUSE_OPTIONS_UNROUTED,
            CAUSE_OPTIONS_AUTH,
            "A redirect of the OPTIONS request (http to https, trailing slash, login).",
            "The handler fails on OPTIONS (500).",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_OPTIONS_FIRST,
            STEP_FINAL_URL,
            STEP_PREFLIGHT_ANSWER,
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Chromium, "PreflightInvalidStatus"),
            (Chromium, "PreflightMissingAllowOriginHeader"),
            (Chromium, "PreflightDisallowedRedirect"),
            (Firefox, "CORSPreflightDidNotSucceed"),
            (Firefox, "CORSMissingAllowOrigin"),
            (Firefox, "CORSExternalRedirectNotAllowed"),
        ],
    },
    Explanation {
        name: "MethodNotAllowedByAllowMethods",
        browser: Safari,
        summary: "The preflight does not allow the request's method.",
        console: "Method {method} is not allowed by Access-Control-Allow-Methods.",
        meaning: "The method is not GET, HEAD or POST, is not listed in \
Access-Control-Allow-Methods, and no usable `*` is present (Fetch #cors-preflight-fetch; `*` \
counts only without credentials). Matching is case-sensitive, as in the spec and the other \
browsers, and WebKit does not upper-case `patch`. Chromium reports \
MethodDisallowedByPreflightResponse, Firefox CORSMethodNotFound.",
        causes: &[
            "PUT, PATCH or DELETE missing from the list.",
            "Lower-case entries, or a lower-case `patch` from the client.",
            "`*` on a credentialed request.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_LIST_METHODS,
            "Write the method in upper case on the client.",
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Chromium, "MethodDisallowedByPreflightResponse"),
            (Firefox, "CORSMethodNotFound"),
        ],
    },
    Explanation {
        name: "HeaderNotAllowedByAllowHeaders",
        browser: Safari,
        summary: "The preflight does not allow one of the request's headers.",
        console: "Request header field {header} is not allowed by Access-Control-Allow-Headers.",
        meaning: "A request header that is not CORS-safelisted is missing from \
Access-Control-Allow-Headers (case-insensitive) and no usable `*` is present (Fetch \
#cors-preflight-fetch). WebKit names the header as the page wrote it (X-Api-Key), Chromium and \
Firefox in lower case. WebKit has no client-hint extension to the safelist, so DPR or Width set \
by a script need listing here, as in Firefox but not in Chromium. `*` covers Authorization \
today although the spec says it must not. Chromium reports HeaderDisallowedByPreflightResponse, \
Firefox CORSMissingAllowHeaderFromPreflight.",
        causes: &[
            "A custom header, Authorization, or Content-Type: application/json not listed.",
            "Headers added by an SDK or tracing library.",
            "`*` on a credentialed request.",
        ],
        fix: &[
            STEP_CURL_PREFLIGHT,
            STEP_LIST_HEADERS,
            "Or stop sending headers that are not needed.",
            STEP_MAX_AGE,
        ],
        equivalents: &[
            (Chromium, "HeaderDisallowedByPreflightResponse"),
            (Firefox, "CORSMissingAllowHeaderFromPreflight"),
        ],
    },
    Explanation {
        name: "InvalidAllowMethods",
        browser: Safari,
        summary: "The preflight's Access-Control-Allow-Methods could not be parsed.",
        console: "Header Access-Control-Allow-Methods has an invalid value: {value}",
        meaning: "Access-Control-Allow-Methods is not a comma-separated list of tokens (Fetch \
#cors-preflight-fetch, #extract-header-list-values); WebKit prints the raw value. WebKitGTK \
parses HTTP with libsoup, Safari with CFNetwork, so limits on odd header syntax may differ \
between them. Chromium reports InvalidAllowMethodsPreflightResponse, Firefox \
CORSInvalidAllowMethod.",
        causes: &[
            "Methods separated by spaces or semicolons.",
            "Quotes or a JSON array in the value.",
        ],
        fix: &[STEP_CURL_PREFLIGHT, STEP_LIST_METHODS],
        equivalents: &[
            (Chromium, "InvalidAllowMethodsPreflightResponse"),
            (Firefox, "CORSInvalidAllowMethod"),
        ],
    },
    Explanation {
        name: "InvalidAllowHeaders",
        browser: Safari,
        summary: "The preflight's Access-Control-Allow-Headers could not be parsed.",
        console: "Header Access-Control-Allow-Headers has an invalid value: {value}",
        meaning: "Access-Control-Allow-Headers is not a comma-separated list of tokens (Fetch \
#cors-preflight-fetch, #extract-header-list-values); WebKit prints the raw value. Chromium \
reports InvalidAllowHeadersPreflightResponse, Firefox CORSInvalidAllowHeader.",
        causes: &[
            "Names separated by semicolons or spaces.",
            "A full header line or quoted names in the value.",
        ],
        fix: &[STEP_CURL_PREFLIGHT, STEP_LIST_HEADERS],
        equivalents: &[
            (Chromium, "InvalidAllowHeadersPreflightResponse"),
            (Firefox, "CORSInvalidAllowHeader"),
        ],
    },
    Explanation {
        name: "RedirectNotAllowedByAccessControlAllowOrigin",
        browser: Safari,
        summary: "A redirect (3xx) of a CORS request lacks a matching Access-Control-Allow-Origin.",
        console: wk_redirect!(
            "Origin {origin} is not allowed by Access-Control-Allow-Origin. \
Status code: {status}"
        ),
        meaning: "The CORS check runs on every redirect response of a CORS request, not only on \
the final one (Fetch #concept-http-fetch, #http-redirect-fetch): this 3xx had no \
Access-Control-Allow-Origin, or a wrong one, so WebKit refused to follow it. {url} is the \
redirect target and {status} the 3xx code. Chromium reports the plain ACAO reason \
(MissingAllowOriginHeader, AllowOriginMismatch, ...) with '(redirected from ...)' in the \
message; Firefox CORSMissingAllowOrigin or CORSAllowOriginNotMatchingOrigin.",
        causes: &[
            "The API redirects (http to https, trailing slash, a moved route, a login page) \
and the redirect response carries no CORS headers.",
            "The redirect comes from a proxy or load balancer that does not add CORS headers.",
        ],
        fix: &[
            STEP_FINAL_URL,
            "If the redirect must stay, send the CORS headers on the 3xx as on the final \
response:\n    \
Access-Control-Allow-Origin: https://app.example",
            "After a redirect to another origin the next request carries Origin: null, so the \
final response must allow `null` or `*`; prefer avoiding the redirect.",
        ],
        equivalents: &[
            (Chromium, "MissingAllowOriginHeader"),
            (Chromium, "AllowOriginMismatch"),
            (Chromium, "InvalidAllowOriginValue"),
            (Firefox, "CORSMissingAllowOrigin"),
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
        ],
    },
    Explanation {
        name: "RedirectMultipleAllowOriginValues",
        browser: Safari,
        summary: "A redirect (3xx) of a CORS request carries several Access-Control-Allow-Origin \
values.",
        console: wk_redirect!("Access-Control-Allow-Origin cannot contain more than one origin."),
        meaning: "The CORS check on a redirect response (Fetch #http-redirect-fetch) found a \
comma list or two Access-Control-Allow-Origin lines on the 3xx. {url} is the redirect target. \
Chromium reports MultipleAllowOriginValues; Firefox CORSMultipleAllowOriginNotAllowed or \
CORSAllowOriginNotMatchingOrigin.",
        causes: &["The application and a proxy both add the header to the redirect."],
        fix: &[
            STEP_FINAL_URL,
            "Keep CORS in one layer so the 3xx carries exactly one value.",
            STEP_ONE_ORIGIN,
        ],
        equivalents: &[
            (Chromium, "MultipleAllowOriginValues"),
            (Firefox, "CORSMultipleAllowOriginNotAllowed"),
            (Firefox, "CORSAllowOriginNotMatchingOrigin"),
        ],
    },
    Explanation {
        name: "RedirectCredentialsWithWildcard",
        browser: Safari,
        summary: "A redirect (3xx) of a credentialed CORS request allows origin `*`.",
        console: wk_redirect!(
            "Cannot use wildcard in Access-Control-Allow-Origin when \
credentials flag is true."
        ),
        meaning: "The CORS check on a redirect response (Fetch #http-redirect-fetch, \
#cors-check step 3) found Access-Control-Allow-Origin `*` on the 3xx of a request with \
credentials. {url} is the redirect target. Chromium reports WildcardOriginNotAllowed, Firefox \
CORSNotSupportingCredentials.",
        causes: &[
            "The redirect is served by a layer configured with `*` while the client sends \
cookies.",
        ],
        fix: &[STEP_FINAL_URL, STEP_CREDENTIALS, STEP_VARY],
        equivalents: &[
            (Chromium, "WildcardOriginNotAllowed"),
            (Firefox, "CORSNotSupportingCredentials"),
        ],
    },
    Explanation {
        name: "RedirectAllowCredentialsNotTrue",
        browser: Safari,
        summary: "A redirect (3xx) of a credentialed CORS request lacks \
`Access-Control-Allow-Credentials: true`.",
        console: wk_redirect!(
            "Credentials flag is true, but Access-Control-Allow-Credentials is \
not \"true\"."
        ),
        meaning: "The CORS check on a redirect response (Fetch #http-redirect-fetch, \
#cors-check step 6) found a matching origin but no exact `true` in \
Access-Control-Allow-Credentials on the 3xx of a credentialed request. {url} is the redirect \
target. Chromium reports InvalidAllowCredentials, Firefox CORSMissingAllowCredentials.",
        causes: &[
            "The redirect response carries Access-Control-Allow-Origin but not the \
credentials header.",
        ],
        fix: &[STEP_FINAL_URL, STEP_CREDENTIALS],
        equivalents: &[
            (Chromium, "InvalidAllowCredentials"),
            (Firefox, "CORSMissingAllowCredentials"),
        ],
    },
    Explanation {
        name: "RedirectURLHasCredentials",
        browser: Safari,
        summary: "A redirect pointed to a URL with a username or password in it.",
        console: wk_redirect!("redirection URL {value} has credentials"),
        meaning: "A redirect of a CORS request has a Location with userinfo, which Fetch \
#http-redirect-fetch turns into a network error. {url} is the target without its credentials \
and {value} the Location as sent, user:password included. Chromium reports \
RedirectContainsCredentials (with an empty location in Chromium 156); Firefox only \
CORSDidNotSucceed.",
        causes: &[
            "A server or proxy builds redirect URLs that embed basic-auth credentials.",
            "A storage or download service redirects to a user:password@ URL.",
        ],
        fix: &[
            "Remove the userinfo from the Location URL.",
            "Pass credentials in a header, token or cookie instead.",
        ],
        equivalents: &[
            (Chromium, "RedirectContainsCredentials"),
            (Firefox, "CORSDidNotSucceed"),
        ],
    },
    Explanation {
        name: "CannotLoad",
        browser: Safari,
        summary: "fetch() refused the request before sending it (mode 'same-origin' to another \
origin).",
        console: "Fetch API cannot load {url}.",
        meaning: "WebKit prints only this line, with no reason line before it, when a fetch() \
with mode `same-origin` targets another origin (Fetch #concept-request-mode, #main-fetch). \
Nothing reaches the network; fetch() rejects with a TypeError. The blocked-by-CORS variant of \
this line ends in 'due to access control checks.' and follows a reason line. Chromium reports \
DisallowedByMode. corscope also files a cross-origin request to a URL that is not http(s) under \
this name, since no WebKit identifier was recorded for that case (Chromium: CorsDisabledScheme, \
Firefox: CORSRequestNotHttp).",
        causes: &[
            "`mode: 'same-origin'` on a request to another host, port or scheme.",
            "The API moved to another origin while the client kept same-origin mode.",
            "A request to a file: or other non-HTTP(S) URL.",
        ],
        fix: &[
            "Use mode 'cors' (the default) and CORS headers on the server, or serve the API \
under the page's origin.",
            "For a file: URL, serve the files from a local web server and fetch http(s) URLs.",
        ],
        equivalents: &[
            (Chromium, "DisallowedByMode"),
            (Chromium, "CorsDisabledScheme"),
            (Firefox, "CORSRequestNotHttp"),
        ],
    },
];

/// Old names that resolve to a current entry: (alias, browser, canonical name).
const ALIASES: &[(&str, ExplainBrowser, &str)] = &[
    // Renamed when Private Network Access became Local Network Access (protocol r1581282).
    ("InsecurePrivateNetwork", Chromium, "InsecureLocalNetwork"),
    (
        "InvalidPrivateNetworkAccess",
        Chromium,
        "InvalidLocalNetworkAccess",
    ),
];

/// Every explanation: Chromium's first, then Firefox's, then WebKit's.
pub fn all() -> &'static [Explanation] {
    ENTRIES
}

/// Case-insensitive; accepts Firefox's versioned .properties keys (`CORSMissingAllowOrigin2`,
/// `CORSPreflightDidNotSucceed3`), the `Preflight…`/`Redirect…` prefixed variants, and WebKit
/// identifiers.
///
/// A `browser:` qualifier (`chromium:`, `firefox:`, `safari:`/`webkit:`) restricts the search;
/// without one a name shared by two browsers (`MultipleAllowOriginValues`) gives Chromium's.
pub fn lookup(name: &str) -> Option<&'static Explanation> {
    let name = name.trim();
    if let Some((q, rest)) = name.split_once([':', '/']) {
        if let Some(b) = ExplainBrowser::from_qualifier(q) {
            return resolve(Some(b), rest.trim());
        }
    }
    resolve(None, name)
}

/// Like [`lookup`], but only among `browser`'s names.
pub fn lookup_in(browser: ExplainBrowser, name: &str) -> Option<&'static Explanation> {
    resolve(Some(browser), name.trim())
}

fn find_exact(browser: Option<ExplainBrowser>, name: &str) -> Option<&'static Explanation> {
    let wanted = |b: ExplainBrowser| allows(browser, b);
    if let Some(e) = ENTRIES
        .iter()
        .find(|e| wanted(e.browser) && e.name.eq_ignore_ascii_case(name))
    {
        return Some(e);
    }
    let &(_, b, canonical) = ALIASES
        .iter()
        .find(|(alias, b, _)| wanted(*b) && alias.eq_ignore_ascii_case(name))?;
    ENTRIES
        .iter()
        .find(|e| e.browser == b && e.name == canonical)
}

/// Whether a search limited to `filter` (None: every browser) may return `b`'s names.
// Not `Option::is_none_or`: that needs Rust 1.82 and the crate's MSRV is 1.80.
fn allows(filter: Option<ExplainBrowser>, b: ExplainBrowser) -> bool {
    filter.is_none_or(|w| w == b)
}

/// Strips an ASCII prefix case-insensitively, keeping a non-empty rest.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    // `get` instead of slicing: a multi-byte character at the cut makes it None, not a panic.
    let head = s.get(..prefix.len())?;
    let rest = s.get(prefix.len()..)?;
    (head.eq_ignore_ascii_case(prefix) && !rest.is_empty()).then_some(rest)
}

fn resolve(browser: Option<ExplainBrowser>, name: &str) -> Option<&'static Explanation> {
    if name.is_empty() {
        return None;
    }
    if let Some(e) = find_exact(browser, name) {
        return Some(e);
    }
    // Firefox's .properties keys carry a version digit (CORSMissingAllowOrigin2) that the
    // console category and MDN slug drop.
    if strip_prefix_ci(name, "CORS").is_some() && allows(browser, Firefox) {
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
        if base.len() < name.len() {
            if let Some(e) = find_exact(Some(Firefox), base) {
                return Some(e);
            }
        }
    }
    // The mojom spelling of a Chromium enum value: kMissingAllowOriginHeader.
    if let Some(rest) = name.strip_prefix('k') {
        if rest.starts_with(|c: char| c.is_ascii_uppercase()) {
            if let Some(e) = find_exact(browser, rest) {
                return Some(e);
            }
        }
    }
    // WebKit writes failures on a redirect as "Redirect" + the inner identifier, and people
    // prefix a WebKit or Firefox reason with "Preflight" when it hit the OPTIONS response: the
    // inner reason explains both.
    for prefix in ["Redirect", "Preflight"] {
        if let Some(inner) = strip_prefix_ci(name, prefix) {
            if let Some(e) = find_exact(browser, inner) {
                return Some(e);
            }
        }
    }
    None
}

/// Names close to `name` (edit distance or common prefix) for "did you mean" on a typo.
pub fn suggestions(name: &str) -> Vec<&'static str> {
    const MAX: usize = 8;
    // Bounds the edit-distance work on absurd input; real names are under 50 characters.
    const MAX_INPUT: usize = 100;
    let mut name = name.trim();
    if let Some((q, rest)) = name.split_once([':', '/']) {
        if ExplainBrowser::from_qualifier(q).is_some() {
            name = rest.trim();
        }
    }
    let input: Vec<char> = name
        .chars()
        .take(MAX_INPUT)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if input.is_empty() {
        return Vec::new();
    }
    let threshold = (input.len() / 5).clamp(1, 6);
    let mut scored: Vec<(usize, usize, &'static str)> = Vec::new();
    let names = ENTRIES
        .iter()
        .map(|e| e.name)
        .chain(ALIASES.iter().map(|a| a.0));
    for cand in names {
        let c: Vec<char> = cand.chars().map(|c| c.to_ascii_lowercase()).collect();
        let dist = levenshtein(&input, &c);
        let common = input.iter().zip(&c).take_while(|(a, b)| a == b).count();
        let shorter = input.len().min(c.len());
        let prefix_like = (input.len() >= 4 && common == input.len())
            || (c.len() >= 6 && common == c.len())
            || (common >= 8 && common * 3 >= shorter * 2);
        if dist <= threshold {
            scored.push((0, dist, cand));
        } else if prefix_like {
            // Ranked after every near-typo; among themselves by closeness.
            scored.push((1, dist, cand));
        }
    }
    scored.sort();
    let mut out: Vec<&'static str> = Vec::new();
    for (_, _, n) in scored {
        // WebKit and Chromium share MultipleAllowOriginValues: list it once.
        if !out.contains(&n) {
            out.push(n);
        }
        if out.len() == MAX {
            break;
        }
    }
    out
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Widest line [`render`] produces, in characters.
pub const RENDER_WIDTH: usize = 100;

/// Indent of the console text; the tests undo it to compare with [`Explanation::console`].
const CONSOLE_INDENT: &str = "    ";

/// The closing line of every page.
pub const BROWSER_ONLY_NOTE: &str =
    "CORS is enforced by browsers only: curl and server-to-server calls are not affected.";

/// The text `corscope explain NAME` prints: name and browser, summary, console message, meaning,
/// common causes, numbered fix steps, equivalents in other browsers, and a closing line that
/// CORS is enforced by browsers only (curl and server-to-server calls are not affected). Plain
/// text, ≤ 100 columns, no ANSI.
///
/// The console text is wrapped at single spaces: joining its lines (each without its four-space
/// indent) with one space gives the template back byte for byte.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    push_wrapped(
        &mut out,
        &format!("{} [{}]", e.name, e.browser.label()),
        "",
        "",
    );
    push_wrapped(&mut out, e.summary, "", "");
    out.push('\n');

    out.push_str("Console message (placeholders in braces):\n");
    push_wrapped(&mut out, e.console, CONSOLE_INDENT, CONSOLE_INDENT);
    out.push('\n');
    if let Some(note) = console_note(e) {
        push_wrapped(&mut out, note, "", "");
        out.push('\n');
    }

    out.push_str("What it means:\n");
    push_wrapped(&mut out, e.meaning, "  ", "  ");
    out.push('\n');

    out.push_str("Common causes:\n");
    for cause in e.causes {
        push_item(&mut out, cause, "  - ");
    }
    out.push('\n');

    out.push_str("How to fix it:\n");
    for (i, step) in e.fix.iter().enumerate() {
        push_item(&mut out, step, &format!("  {}. ", i + 1));
    }
    out.push('\n');

    out.push_str("The same failure in other browsers:\n");
    let mut any = false;
    for b in ExplainBrowser::ALL {
        let names: Vec<&str> = e
            .equivalents
            .iter()
            .filter(|(eb, _)| *eb == b)
            .map(|(_, n)| *n)
            .collect();
        if !names.is_empty() {
            any = true;
            let head = format!("  {}: ", b.label());
            let rest = " ".repeat(head.chars().count());
            push_wrapped(&mut out, &names.join(", "), &head, &rest);
        }
    }
    if !any {
        out.push_str("  none: no other browser reports this failure under a name of its own.\n");
    }
    out.push('\n');
    out.push_str(BROWSER_ONLY_NOTE);
    out.push('\n');
    out
}

/// What the stored template leaves out about the lines around it.
fn console_note(e: &Explanation) -> Option<&'static str> {
    match e.browser {
        Chromium if e.console.starts_with("Access to fetch at") => Some(
            "(For XMLHttpRequest Chromium writes 'XMLHttpRequest' instead of 'fetch', and the \
resource type for other loads; after redirects the URL is followed by \
(redirected from '{first_url}').)",
        ),
        Safari if e.name != "CannotLoad" => Some(
            "(WebKit follows it with 'Fetch API cannot load {url} due to access control \
checks.' (or XMLHttpRequest ...) and 'Failed to load resource: ' + the same reason.)",
        ),
        Firefox if e.console.starts_with("Cross-Origin Request Blocked") => Some(
            "(A failed preflight is followed by a second line, CORSDidNotSucceed, for the \
request it guarded; the first line is the reason.)",
        ),
        _ => None,
    }
}

/// One cause or fix step: prose lines wrap under `marker`; lines starting with four spaces are
/// literal (headers, commands) and keep their indentation under the item.
fn push_item(out: &mut String, item: &str, marker: &str) {
    let hang = " ".repeat(marker.chars().count());
    for (i, line) in item.split('\n').enumerate() {
        let first = if i == 0 { marker } else { hang.as_str() };
        if line.starts_with("    ") {
            let literal = format!("{hang}{line}");
            // A long literal still wraps, so the width promise holds for any input.
            push_wrapped(out, &literal, "", &format!("{hang}      "));
        } else {
            push_wrapped(out, line, first, &hang);
        }
    }
}

/// Greedy word wrap at single spaces to [`RENDER_WIDTH`] characters. A break consumes exactly
/// one space, so joining the lines (minus their prefixes) with one space restores `text`. A word
/// longer than the line is cut, keeping the width promise.
fn push_wrapped(out: &mut String, text: &str, first_prefix: &str, rest_prefix: &str) {
    let mut rest = text;
    let mut prefix = first_prefix;
    loop {
        // At least one character per line, whatever the prefix.
        let avail = RENDER_WIDTH.saturating_sub(prefix.chars().count()).max(1);
        if rest.chars().count() <= avail {
            out.push_str(prefix);
            out.push_str(rest);
            trim_line_end(out);
            out.push('\n');
            return;
        }
        let mut break_at = None;
        let mut cut_at = rest.len();
        let mut prev_space = true;
        for (n, (i, c)) in rest.char_indices().enumerate() {
            if n == avail {
                cut_at = i;
                // A space right after a full line is a break point too.
                if c == ' ' && !prev_space {
                    break_at = Some(i);
                }
                break;
            }
            if c == ' ' && !prev_space {
                break_at = Some(i);
            }
            prev_space = c == ' ';
        }
        out.push_str(prefix);
        // Both cut points come from `char_indices`, and the byte after `i` is the one-byte
        // space found there, so every slice below falls on a character boundary.
        match break_at {
            Some(i) => {
                out.push_str(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => {
                out.push_str(&rest[..cut_at]);
                rest = &rest[cut_at..];
            }
        }
        trim_line_end(out);
        out.push('\n');
        prefix = rest_prefix;
    }
}

fn trim_line_end(out: &mut String) {
    let keep = out.trim_end_matches(' ').len();
    out.truncate(keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cors.md 2.1, every `CorsError` value, the removed PNA names and the pre-LNA names.
    const CHROMIUM_NAMES: &[&str] = &[
        "DisallowedByMode",
        "InvalidResponse",
        "WildcardOriginNotAllowed",
        "MissingAllowOriginHeader",
        "MultipleAllowOriginValues",
        "InvalidAllowOriginValue",
        "AllowOriginMismatch",
        "InvalidAllowCredentials",
        "CorsDisabledScheme",
        "PreflightInvalidStatus",
        "PreflightDisallowedRedirect",
        "PreflightWildcardOriginNotAllowed",
        "PreflightMissingAllowOriginHeader",
        "PreflightMultipleAllowOriginValues",
        "PreflightInvalidAllowOriginValue",
        "PreflightAllowOriginMismatch",
        "PreflightInvalidAllowCredentials",
        "PreflightMissingAllowExternal",
        "PreflightInvalidAllowExternal",
        "InvalidAllowMethodsPreflightResponse",
        "InvalidAllowHeadersPreflightResponse",
        "MethodDisallowedByPreflightResponse",
        "HeaderDisallowedByPreflightResponse",
        "RedirectContainsCredentials",
        "InsecureLocalNetwork",
        "InsecurePrivateNetwork",
        "InvalidLocalNetworkAccess",
        "InvalidPrivateNetworkAccess",
        "NoCorsRedirectModeNotFollow",
        "LocalNetworkAccessPermissionDenied",
        "PreflightMissingAllowPrivateNetwork",
        "PreflightInvalidAllowPrivateNetwork",
        "UnexpectedPrivateNetworkAccess",
        "PreflightMissingPrivateNetworkAccessId",
        "PreflightMissingPrivateNetworkAccessName",
        "PrivateNetworkAccessPermissionUnavailable",
        "PrivateNetworkAccessPermissionDenied",
    ];

    /// cors.md 3.1, the identifiers and the warning's category.
    const FIREFOX_NAMES: &[&str] = &[
        "CORSDisabled",
        "CORSDidNotSucceed",
        "CORSOriginHeaderNotAdded",
        "CORSExternalRedirectNotAllowed",
        "CORSRequestNotHttp",
        "CORSMissingAllowOrigin",
        "CORSMultipleAllowOriginNotAllowed",
        "CORSAllowOriginNotMatchingOrigin",
        "CORSNotSupportingCredentials",
        "CORSMissingAllowCredentials",
        "CORSPreflightDidNotSucceed",
        "CORSInvalidAllowMethod",
        "CORSMethodNotFound",
        "CORSInvalidAllowHeader",
        "CORSMissingAllowHeaderFromPreflight",
        "CORSAllowHeaderFromPreflightDeprecation",
    ];

    /// cors.md 3.1, the .properties keys that carry a version digit, with their identifier.
    const FIREFOX_KEYS: &[(&str, &str)] = &[
        ("CORSDidNotSucceed2", "CORSDidNotSucceed"),
        ("CORSMissingAllowOrigin2", "CORSMissingAllowOrigin"),
        ("CORSPreflightDidNotSucceed3", "CORSPreflightDidNotSucceed"),
        (
            "CORSMissingAllowHeaderFromPreflight2",
            "CORSMissingAllowHeaderFromPreflight",
        ),
    ];

    /// cors.md 7.1, with every Redirect form of a reason that can occur on a 3xx.
    const WEBKIT_NAMES: &[&str] = &[
        "NotAllowedByAccessControlAllowOrigin",
        "MultipleAllowOriginValues",
        "CredentialsWithWildcard",
        "AllowCredentialsNotTrue",
        "PreflightNotSuccessful",
        "MethodNotAllowedByAllowMethods",
        "HeaderNotAllowedByAllowHeaders",
        "InvalidAllowMethods",
        "InvalidAllowHeaders",
        "RedirectNotAllowedByAccessControlAllowOrigin",
        "RedirectMultipleAllowOriginValues",
        "RedirectCredentialsWithWildcard",
        "RedirectAllowCredentialsNotTrue",
        "RedirectURLHasCredentials",
        "CannotLoad",
    ];

    /// cors.md 3.4, one row per Chromium name with a Firefox counterpart.
    const CHROMIUM_TO_FIREFOX: &[(&str, &str)] = &[
        ("MissingAllowOriginHeader", "CORSMissingAllowOrigin"),
        (
            "PreflightMissingAllowOriginHeader",
            "CORSMissingAllowOrigin",
        ),
        (
            "MultipleAllowOriginValues",
            "CORSMultipleAllowOriginNotAllowed",
        ),
        (
            "MultipleAllowOriginValues",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        (
            "PreflightMultipleAllowOriginValues",
            "CORSMultipleAllowOriginNotAllowed",
        ),
        (
            "PreflightMultipleAllowOriginValues",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        (
            "InvalidAllowOriginValue",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        (
            "PreflightInvalidAllowOriginValue",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        ("AllowOriginMismatch", "CORSAllowOriginNotMatchingOrigin"),
        (
            "PreflightAllowOriginMismatch",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        ("WildcardOriginNotAllowed", "CORSNotSupportingCredentials"),
        (
            "PreflightWildcardOriginNotAllowed",
            "CORSNotSupportingCredentials",
        ),
        ("InvalidAllowCredentials", "CORSMissingAllowCredentials"),
        (
            "PreflightInvalidAllowCredentials",
            "CORSMissingAllowCredentials",
        ),
        ("PreflightInvalidStatus", "CORSPreflightDidNotSucceed"),
        (
            "PreflightDisallowedRedirect",
            "CORSExternalRedirectNotAllowed",
        ),
        ("PreflightDisallowedRedirect", "CORSMissingAllowOrigin"),
        (
            "InvalidAllowMethodsPreflightResponse",
            "CORSInvalidAllowMethod",
        ),
        (
            "InvalidAllowHeadersPreflightResponse",
            "CORSInvalidAllowHeader",
        ),
        ("MethodDisallowedByPreflightResponse", "CORSMethodNotFound"),
        (
            "HeaderDisallowedByPreflightResponse",
            "CORSMissingAllowHeaderFromPreflight",
        ),
        ("CorsDisabledScheme", "CORSRequestNotHttp"),
        ("RedirectContainsCredentials", "CORSDidNotSucceed"),
    ];

    fn check_names(browser: ExplainBrowser, names: &[&str]) {
        for name in names {
            let e = lookup_in(browser, name)
                .unwrap_or_else(|| panic!("{name} does not resolve for {browser:?}"));
            assert_eq!(e.browser, browser, "{name}");
            assert!(lookup(name).is_some(), "{name} needs a qualifier");
        }
    }

    #[test]
    fn every_chromium_name_resolves() {
        check_names(Chromium, CHROMIUM_NAMES);
        assert_eq!(
            lookup("InsecurePrivateNetwork").map(|e| e.name),
            Some("InsecureLocalNetwork")
        );
    }

    #[test]
    fn every_firefox_name_resolves() {
        check_names(Firefox, FIREFOX_NAMES);
    }

    #[test]
    fn every_webkit_name_resolves() {
        check_names(Safari, WEBKIT_NAMES);
    }

    #[test]
    fn every_entry_is_listed_in_a_test_list() {
        // The lists above are cors.md's; an entry outside them would be invented.
        for e in all() {
            let list = match e.browser {
                Chromium => CHROMIUM_NAMES,
                Firefox => FIREFOX_NAMES,
                Safari => WEBKIT_NAMES,
            };
            assert!(list.contains(&e.name), "{} is not in cors.md", e.name);
        }
        let count = |b| all().iter().filter(|e| e.browser == b).count();
        assert_eq!(count(Chromium), CHROMIUM_NAMES.len() - ALIASES.len());
        assert_eq!(count(Firefox), FIREFOX_NAMES.len());
        assert_eq!(count(Safari), WEBKIT_NAMES.len());
    }

    #[test]
    fn names_are_unique_per_browser() {
        for (i, a) in all().iter().enumerate() {
            for b in &all()[i + 1..] {
                assert!(
                    a.browser != b.browser || !a.name.eq_ignore_ascii_case(b.name),
                    "{} twice",
                    a.name
                );
            }
        }
    }

    #[test]
    fn versioned_firefox_keys_resolve() {
        for (key, id) in FIREFOX_KEYS {
            let e = lookup(key).unwrap_or_else(|| panic!("{key}"));
            assert_eq!((e.browser, e.name), (Firefox, *id));
            assert_eq!(lookup_in(Firefox, key).map(|e| e.name), Some(*id));
        }
        // The digit strip is for Firefox keys only.
        assert!(lookup_in(Chromium, "CORSMissingAllowOrigin2").is_none());
        assert!(lookup("MissingAllowOriginHeader2").is_none());
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let cases = [
            (
                "missingalloworiginheader",
                Chromium,
                "MissingAllowOriginHeader",
            ),
            (
                "MISSINGALLOWORIGINHEADER",
                Chromium,
                "MissingAllowOriginHeader",
            ),
            ("corsmissingalloworigin2", Firefox, "CORSMissingAllowOrigin"),
            (
                "CORSPREFLIGHTDIDNOTSUCCEED3",
                Firefox,
                "CORSPreflightDidNotSucceed",
            ),
            ("preflightnotsuccessful", Safari, "PreflightNotSuccessful"),
            ("  AllowOriginMismatch  ", Chromium, "AllowOriginMismatch"),
        ];
        for (input, browser, name) in cases {
            let e = lookup(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!((e.browser, e.name), (browser, name), "{input}");
        }
    }

    #[test]
    fn shared_name_needs_a_qualifier_for_webkit() {
        assert_eq!(
            lookup("MultipleAllowOriginValues").map(|e| e.browser),
            Some(Chromium)
        );
        for q in ["safari:", "WebKit:", "wk/", "safari: "] {
            let input = format!("{q}multiplealloworiginvalues");
            assert_eq!(lookup(&input).map(|e| e.browser), Some(Safari), "{input}");
        }
        assert_eq!(
            lookup("firefox:CORSMissingAllowOrigin2").map(|e| e.name),
            Some("CORSMissingAllowOrigin")
        );
        // A qualifier limits the search.
        assert!(lookup("firefox:MissingAllowOriginHeader").is_none());
    }

    #[test]
    fn prefixed_variants_resolve() {
        let cases = [
            // WebKit: a Redirect form with no entry of its own falls back to the inner reason.
            (
                "RedirectPreflightNotSuccessful",
                Safari,
                "PreflightNotSuccessful",
            ),
            (
                "PreflightNotAllowedByAccessControlAllowOrigin",
                Safari,
                "NotAllowedByAccessControlAllowOrigin",
            ),
            (
                "redirectnotallowedbyaccesscontrolalloworigin",
                Safari,
                "RedirectNotAllowedByAccessControlAllowOrigin",
            ),
            (
                "PreflightCredentialsWithWildcard",
                Safari,
                "CredentialsWithWildcard",
            ),
            (
                "kMissingAllowOriginHeader",
                Chromium,
                "MissingAllowOriginHeader",
            ),
            (
                "kPreflightInvalidStatus",
                Chromium,
                "PreflightInvalidStatus",
            ),
        ];
        for (input, browser, name) in cases {
            let e = lookup(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!((e.browser, e.name), (browser, name), "{input}");
        }
        for bad in ["", "Preflight", "Redirect", "CORS", "k", "nonsense", "é"] {
            assert!(lookup(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn every_entry_is_complete() {
        for e in all() {
            assert!(!e.causes.is_empty(), "{}: no cause", e.name);
            assert!(!e.fix.is_empty(), "{}: no fix step", e.name);
            assert!(
                !e.summary.is_empty() && !e.summary.contains('\n'),
                "{}",
                e.name
            );
            assert!(e.summary.chars().count() <= RENDER_WIDTH, "{}", e.name);
            assert!(
                !e.console.is_empty() && !e.console.contains('\n'),
                "{}",
                e.name
            );
            assert!(e.meaning.len() > 100, "{}: meaning too short", e.name);
            for s in e.causes.iter().chain(e.fix) {
                assert!(!s.trim().is_empty(), "{}: empty item", e.name);
            }
        }
    }

    #[test]
    fn meanings_cite_the_spec_where_a_spec_rule_applies() {
        // Browser-specific reasons (prefs, extensions, LNA/PNA) have no Fetch section.
        let no_spec = [
            "CORSDisabled",
            "CORSOriginHeaderNotAdded",
            "CORSDidNotSucceed",
            "InvalidResponse",
        ];
        for e in all() {
            let lna = e.meaning.contains("Network Access") || e.meaning.contains("RFC1918");
            if !no_spec.contains(&e.name) && !lna {
                assert!(e.meaning.contains("Fetch #"), "{}: no spec anchor", e.name);
            }
        }
    }

    #[test]
    fn every_equivalent_resolves_in_its_browser() {
        let mut checked = 0;
        for e in all() {
            for &(b, name) in e.equivalents {
                assert_ne!(b, e.browser, "{}: equivalent in its own browser", e.name);
                let target =
                    lookup_in(b, name).unwrap_or_else(|| panic!("{}: {name} unknown", e.name));
                assert_eq!(target.browser, b);
                assert_eq!(target.name, name, "{}: use the canonical name", e.name);
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} equivalents");
    }

    #[test]
    fn chromium_firefox_mapping_follows_cors_md() {
        for (cr_name, fx_name) in CHROMIUM_TO_FIREFOX {
            let cr_e = lookup_in(Chromium, cr_name).unwrap_or_else(|| panic!("{cr_name}"));
            assert!(
                cr_e.equivalents.contains(&(Firefox, fx_name)),
                "{cr_name} should list {fx_name}"
            );
        }
    }

    #[test]
    fn consoles_match_the_corpus() {
        // Texts recorded in shared/corpus/chromium/dev (truth*.json), with placeholders.
        let recorded = [
            (
                Chromium,
                "MissingAllowOriginHeader",
                "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS \
policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.",
            ),
            (
                Chromium,
                "PreflightInvalidStatus",
                "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS \
policy: Response to preflight request doesn't pass access control check: It does not have HTTP \
ok status.",
            ),
            (
                Firefox,
                "CORSMissingAllowOrigin",
                "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the \
remote resource at {url}. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status \
code: {status}.",
            ),
            (
                Safari,
                "RedirectNotAllowedByAccessControlAllowOrigin",
                "Cross-origin redirection to {url} denied by Cross-Origin Resource Sharing \
policy: Origin {origin} is not allowed by Access-Control-Allow-Origin. Status code: {status}",
            ),
        ];
        for (b, name, text) in recorded {
            assert_eq!(lookup_in(b, name).map(|e| e.console), Some(text), "{name}");
        }
        for e in all().iter().filter(|e| e.browser == Firefox) {
            // Firefox quotes typographically; an ASCII quote means a mistyped template.
            assert!(!e.console.contains('\''), "{}", e.name);
        }
    }

    /// Undoes the console wrapping of `render`.
    fn console_block(page: &str) -> String {
        let mut lines = page
            .lines()
            .skip_while(|l| !l.starts_with("Console message"))
            .skip(1)
            .take_while(|l| l.starts_with(CONSOLE_INDENT));
        let mut text = String::new();
        if let Some(first) = lines.next() {
            text.push_str(&first[CONSOLE_INDENT.len()..]);
        }
        for l in lines {
            text.push(' ');
            text.push_str(&l[CONSOLE_INDENT.len()..]);
        }
        text
    }

    #[test]
    fn render_contains_the_console_text_and_fits() {
        for e in all() {
            let page = render(e);
            assert_eq!(console_block(&page), e.console, "{}", e.name);
            for line in page.lines() {
                assert!(
                    line.chars().count() <= RENDER_WIDTH,
                    "{}: {} columns: {line}",
                    e.name,
                    line.chars().count()
                );
                assert_eq!(line.trim_end(), line, "{}: trailing space", e.name);
            }
            assert!(!page.contains('\x1b') && !page.contains('\t'), "{}", e.name);
            assert!(page.starts_with(e.name), "{}", e.name);
            assert!(page.contains(e.browser.label()));
            assert!(page.contains("  1. "), "{}", e.name);
            assert!(page.trim_end().ends_with(BROWSER_ONLY_NOTE), "{}", e.name);
            for (_, n) in e.equivalents {
                assert!(page.contains(n), "{}: equivalent {n} not shown", e.name);
            }
        }
    }

    #[test]
    fn render_keeps_example_header_lines_intact() {
        let e = lookup("PreflightInvalidStatus").expect("listed in CHROMIUM_NAMES");
        let page = render(e);
        assert!(page
            .lines()
            .any(|l| l.trim() == "Access-Control-Allow-Methods: GET, POST, PUT, DELETE"));
        assert!(page
            .lines()
            .any(|l| l.trim() == "Access-Control-Max-Age: 86400"));
    }

    #[test]
    fn wrapping_round_trips_and_cuts_long_words() {
        // A double space survives (the break takes one space), and a 250-character word is cut.
        let long = "x".repeat(250);
        let text = format!("a  b {long} c");
        let mut out = String::new();
        push_wrapped(&mut out, &text, "", "");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() <= RENDER_WIDTH));
        assert_eq!(lines.first(), Some(&"a  b"));
        assert_eq!(lines.concat(), format!("a  b{long} c"));
    }

    #[test]
    fn suggestions_find_typos_and_prefixes() {
        let s = suggestions("MissingAllowOrignHeader");
        assert_eq!(s.first(), Some(&"MissingAllowOriginHeader"), "{s:?}");
        assert!(suggestions("corsmissingalloworign").contains(&"CORSMissingAllowOrigin"));
        let s = suggestions("safari:PreflightNotSucessful");
        assert!(s.contains(&"PreflightNotSuccessful"), "{s:?}");
        let s = suggestions("PreflightInvalid");
        assert!(s.contains(&"PreflightInvalidStatus"), "{s:?}");
        assert!(s.len() <= 8);
        assert!(suggestions("").is_empty());
        assert!(suggestions("zzzzzzzzzzzzzzzzzzzzzzzz").is_empty());
        // Shared name listed once.
        let s = suggestions("MultipleAllowOriginValue");
        assert_eq!(
            s.iter()
                .filter(|n| **n == "MultipleAllowOriginValues")
                .count(),
            1
        );
    }
}
