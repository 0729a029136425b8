//! The minimal server change per endpoint and its proof: the smallest CORS header set that
//! allows every request the pages made to an endpoint, applied to each recorded flow's
//! responses and re-evaluated through the same engine for all three browser profiles.

use std::collections::BTreeSet;

use serde::Serialize;

use super::route::{route_prefix, PARAMS};
use crate::cors::cache::PreflightCache;
use crate::cors::engine::{evaluate, Context, Decision};
use crate::cors::headers::{
    is_safelisted_method, parse_request_headers_list, unsafe_request_header_names,
};
use crate::cors::origin::same_origin;
use crate::cors::reason::Failure;
use crate::cors::resolve::{Credentials, Resolution, Verdict};
use crate::cors::{Browser, ALL_BROWSERS};
use crate::model::{Exchange, Headers, Request, Response};
use crate::pairing::Flow;

use crate::cors::fix::SUGGESTED_MAX_AGE;

/// Response headers the fix sets; the recorded ones of these names are replaced.
const FIX_HEADERS: &[&str] = &[
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
];

/// What the pages asked of one endpoint, accumulated flow by flow.
#[derive(Clone, Debug, Default)]
pub(crate) struct Requirements {
    pub origins: BTreeSet<String>,
    /// Some flow was (or may have been) credentialed.
    pub credentialed: bool,
    /// Methods that need the preflight's permission, as sent (case matters).
    pub methods: BTreeSet<String>,
    /// Unsafe request header names (lower case), as any of the three browsers would announce.
    pub headers: BTreeSet<String>,
    /// Names the server already exposes (kept, so the fix removes nothing the page reads), and
    /// names the page evidently read (their values came back in a later request).
    pub expose: BTreeSet<String>,
    /// Some request was preflighted (recorded) or needs one in some browser.
    pub preflighted: bool,
    /// A recorded preflight was answered with a status outside 2xx.
    pub preflight_status: BTreeSet<u16>,
}

impl Requirements {
    /// Adds a CORS flow's needs (the page origin is the request origin of every hop that is
    /// not redirect-tainted; tainted ones are out of scope, see [`out_of_scope`]).
    pub(crate) fn add(&mut self, flow: &Flow, res: &Resolution) {
        let Some(page) = res.facts.page_origin.as_deref() else {
            return;
        };
        self.origins.insert(page.to_owned());
        if res.credentials != Credentials::Omit {
            self.credentialed = true;
        }
        for hop in &flow.hops {
            if same_origin(&hop.exchange.request.url, page) {
                continue;
            }
            let names = hop_unsafe_names(hop.sent, &hop.exchange.request, hop.preflight.as_ref());
            let method = &hop.exchange.request.method;
            if !is_safelisted_method(method) {
                self.methods.insert(method.clone());
            }
            if !is_safelisted_method(method) || !names.is_empty() || hop.preflight.is_some() {
                self.preflighted = true;
            }
            self.headers.extend(names);
            if let Some(r) = hop.preflight.as_ref().and_then(|p| p.response.as_ref()) {
                if !(200..300).contains(&r.status) {
                    self.preflight_status.insert(r.status);
                }
            }
            if let Some(v) = hop
                .exchange
                .response
                .as_ref()
                .and_then(|r| r.headers.get_str("access-control-expose-headers"))
            {
                self.expose.extend(
                    v.split(',')
                        .map(|n| n.trim().to_owned())
                        .filter(|n| !n.is_empty() && n != "*"),
                );
            }
        }
    }

    pub(crate) fn fix(&self) -> HeaderFix {
        let wildcard = !self.credentialed;
        HeaderFix {
            allow_origin: if wildcard {
                vec!["*".to_owned()]
            } else {
                self.origins.iter().cloned().collect()
            },
            allow_credentials: !wildcard,
            allow_methods: self.methods.iter().cloned().collect(),
            allow_headers: self.headers.iter().cloned().collect(),
            expose_headers: self.expose.iter().cloned().collect(),
            max_age: self.preflighted.then_some(SUGGESTED_MAX_AGE),
            preflight_status_was: self.preflight_status.iter().copied().collect(),
        }
    }
}

/// Union of the unsafe names the three browsers would announce for a hop (the recorded
/// preflight's list included).
fn hop_unsafe_names(sent: bool, req: &Request, preflight: Option<&Exchange>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if sent {
        for b in ALL_BROWSERS {
            names.extend(unsafe_request_header_names(b, req.headers.iter()));
        }
    }
    if let Some(list) = preflight.and_then(|p| {
        p.request
            .headers
            .get_joined("access-control-request-headers")
    }) {
        names.extend(parse_request_headers_list(&list));
    }
    names
}

/// The header set for one endpoint.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HeaderFix {
    /// `["*"]`, or the origins the server should echo (one at a time, from the request's
    /// `Origin`, with `Vary: Origin`).
    pub allow_origin: Vec<String>,
    pub allow_credentials: bool,
    /// For the preflight: non-safelisted methods, as the page sent them.
    pub allow_methods: Vec<String>,
    /// For the preflight: every unsafe header name announced.
    pub allow_headers: Vec<String>,
    /// For the actual response: names the server already exposed or the page evidently read.
    pub expose_headers: Vec<String>,
    /// For the preflight, when the endpoint is preflighted.
    pub max_age: Option<u64>,
    /// Non-2xx statuses the preflight was answered with (the fix answers 204).
    pub preflight_status_was: Vec<u16>,
}

impl HeaderFix {
    fn is_wildcard(&self) -> bool {
        self.allow_origin.iter().any(|o| o == "*")
    }

    /// The ACAO value for a request from `origin`, as the fixed server would send it.
    fn origin_for(&self, origin: &str) -> Option<String> {
        if self.is_wildcard() {
            Some("*".to_owned())
        } else {
            self.allow_origin
                .iter()
                .any(|o| o == origin)
                .then(|| origin.to_owned())
        }
    }

    /// The ACAO line with a long allow-list cut to its first origins (terminal summary).
    pub(crate) fn acao_line_compact(&self) -> String {
        const SHOWN: usize = 2;
        if self.allow_origin.len() <= SHOWN {
            return self.acao_line();
        }
        format!(
            "Access-Control-Allow-Origin: <the request's Origin when it is one of {}, +{} more>",
            self.allow_origin[..SHOWN].join(", "),
            self.allow_origin.len() - SHOWN
        )
    }

    pub(crate) fn acao_line(&self) -> String {
        match self.allow_origin.as_slice() {
            [one] => format!("Access-Control-Allow-Origin: {one}"),
            many => format!(
                "Access-Control-Allow-Origin: <the request's Origin when it is one of {}>",
                many.join(", ")
            ),
        }
    }

    fn varies(&self) -> bool {
        !self.is_wildcard() && self.allow_origin.len() > 1
    }

    /// The lines to send on the OPTIONS (preflight) response; empty when not preflighted.
    pub(crate) fn preflight_lines(&self) -> Vec<String> {
        if self.max_age.is_none() {
            return Vec::new();
        }
        let mut l = Vec::new();
        if !self.preflight_status_was.is_empty() {
            let was: Vec<String> = self
                .preflight_status_was
                .iter()
                .map(u16::to_string)
                .collect();
            l.push(format!(
                "status 204 (it answered {}; handle OPTIONS before auth/routing)",
                was.join(", ")
            ));
        }
        l.push(self.acao_line());
        if self.allow_credentials {
            l.push("Access-Control-Allow-Credentials: true".into());
        }
        if !self.allow_methods.is_empty() {
            l.push(format!(
                "Access-Control-Allow-Methods: {}",
                self.allow_methods.join(", ")
            ));
        }
        if !self.allow_headers.is_empty() {
            l.push(format!(
                "Access-Control-Allow-Headers: {}",
                self.allow_headers.join(", ")
            ));
        }
        if let Some(m) = self.max_age {
            l.push(format!("Access-Control-Max-Age: {m}"));
        }
        if self.varies() {
            l.push("Vary: Origin".into());
        }
        l
    }

    /// The lines to send on the actual response.
    pub(crate) fn actual_lines(&self) -> Vec<String> {
        let mut l = vec![self.acao_line()];
        if self.allow_credentials {
            l.push("Access-Control-Allow-Credentials: true".into());
        }
        if !self.expose_headers.is_empty() {
            l.push(format!(
                "Access-Control-Expose-Headers: {}",
                self.expose_headers.join(", ")
            ));
        }
        if !self.is_wildcard() {
            l.push("Vary: Origin".into());
        }
        l
    }

    /// An nginx `location` block for the endpoint key's `path` ([`route_prefix`]: a prefix
    /// match up to its first templated part). nginx matches the decoded URI, so the prefix is
    /// decoded, and quoted where nginx's syntax needs it (`;`, braces, quotes, spaces).
    pub(crate) fn nginx(&self, path: &str) -> String {
        let prefix = percent_encoding::percent_decode_str(route_prefix(path)).decode_utf8_lossy();
        let mut s = format!("location {} {{\n", nginx_str(&prefix));
        let origin_var = if self.is_wildcard() {
            "\"*\"".to_owned()
        } else {
            let alts: Vec<String> = self
                .allow_origin
                .iter()
                .map(|o| o.replace('.', "\\."))
                .collect();
            s.push_str(&format!(
                "    set $cors \"\";\n    if ($http_origin ~ '^({})$') {{ set $cors $http_origin; }}\n",
                alts.join("|")
            ));
            "$cors".to_owned()
        };
        let mut common = format!("add_header Access-Control-Allow-Origin {origin_var} always;\n");
        if self.allow_credentials {
            common.push_str("        add_header Access-Control-Allow-Credentials true always;\n");
        }
        if !self.is_wildcard() {
            common.push_str("        add_header Vary Origin always;\n");
        }
        if let Some(m) = self.max_age {
            s.push_str("    if ($request_method = OPTIONS) {\n        ");
            s.push_str(&common);
            if !self.allow_methods.is_empty() {
                s.push_str(&format!(
                    "        add_header Access-Control-Allow-Methods \"{}\" always;\n",
                    self.allow_methods.join(", ")
                ));
            }
            if !self.allow_headers.is_empty() {
                s.push_str(&format!(
                    "        add_header Access-Control-Allow-Headers \"{}\" always;\n",
                    self.allow_headers.join(", ")
                ));
            }
            s.push_str(&format!(
                "        add_header Access-Control-Max-Age {m} always;\n        return 204;\n    }}\n"
            ));
        }
        s.push_str("    ");
        s.push_str(&common.replace("        ", "    "));
        if !self.expose_headers.is_empty() {
            s.push_str(&format!(
                "    add_header Access-Control-Expose-Headers \"{}\" always;\n",
                self.expose_headers.join(", ")
            ));
        }
        s.push('}');
        s
    }

    /// An Express `cors` middleware line for the endpoint key's `path`, mounted on its
    /// [`route_prefix`] (Express matches the path as the request carries it, encoded).
    pub(crate) fn express(&self, path: &str) -> String {
        let prefix = route_prefix(path);
        let list = |v: &[String]| {
            let q: Vec<String> = v.iter().map(|x| js_str(x)).collect();
            format!("[{}]", q.join(", "))
        };
        let mut opts = vec![if self.is_wildcard() {
            "origin: '*'".to_owned()
        } else {
            format!("origin: {}", list(&self.allow_origin))
        }];
        if self.allow_credentials {
            opts.push("credentials: true".into());
        }
        if !self.allow_methods.is_empty() {
            opts.push(format!("methods: {}", list(&self.allow_methods)));
        }
        if !self.allow_headers.is_empty() {
            opts.push(format!("allowedHeaders: {}", list(&self.allow_headers)));
        }
        if !self.expose_headers.is_empty() {
            opts.push(format!("exposedHeaders: {}", list(&self.expose_headers)));
        }
        if let Some(m) = self.max_age {
            opts.push(format!("maxAge: {m}"));
        }
        let options = opts.join(", ");
        // Express mounts a string path on whole segments: `/cart` misses `/cart;jsessionid=…`
        // (and a RegExp mount missed it too in Express 5), so a path with parameters is tested
        // by a pattern that lets `;` end the segment.
        if path[prefix.len()..].starts_with(PARAMS) {
            return format!(
                "app.use((req, res, next) => /^{}(?:[;/]|$)/.test(req.path) ? cors({{ {options} }})(req, res, next) : next()); // npm i cors; before auth and routes",
                js_regex(prefix)
            );
        }
        format!(
            "app.use({}, cors({{ {options} }})); // npm i cors; before auth and routes",
            js_str(prefix)
        )
    }

    fn set_headers(&self, headers: &Headers, origin: &str, preflight: bool) -> Headers {
        let mut out: Headers = headers
            .iter()
            .filter(|(n, _)| {
                !FIX_HEADERS
                    .iter()
                    .any(|f| n.eq_ignore_ascii_case(f.as_bytes()))
            })
            .collect();
        if let Some(o) = self.origin_for(origin) {
            out.push(b"Access-Control-Allow-Origin", o.as_bytes());
        }
        if self.allow_credentials {
            out.push(b"Access-Control-Allow-Credentials", b"true");
        }
        if preflight {
            if !self.allow_methods.is_empty() {
                out.push(
                    b"Access-Control-Allow-Methods",
                    self.allow_methods.join(", ").as_bytes(),
                );
            }
            if !self.allow_headers.is_empty() {
                out.push(
                    b"Access-Control-Allow-Headers",
                    self.allow_headers.join(", ").as_bytes(),
                );
            }
            if let Some(m) = self.max_age {
                out.push(b"Access-Control-Max-Age", m.to_string().as_bytes());
            }
        } else if !self.expose_headers.is_empty() {
            out.push(
                b"Access-Control-Expose-Headers",
                self.expose_headers.join(", ").as_bytes(),
            );
        }
        out
    }

    /// `flow` as the fixed server would have answered it: every cross-origin response carries
    /// the fix (preflights answer 204). Where the recording lacks a response the fix needs (the
    /// request never went out after its failed preflight, or no preflight is recorded for a
    /// request that needs one), one is assumed; the second value says so.
    pub(crate) fn apply(&self, flow: &Flow, page_origin: &str) -> (Flow, bool) {
        let mut f = flow.clone();
        let mut assumed = false;
        for hop in &mut f.hops {
            let url = hop.exchange.request.url.clone();
            if same_origin(&url, page_origin) {
                continue;
            }
            let names = hop_unsafe_names(hop.sent, &hop.exchange.request, hop.preflight.as_ref());
            let method = hop.exchange.request.method.clone();
            let needs_preflight = !is_safelisted_method(&method) || !names.is_empty();
            if hop.preflight.is_none() && needs_preflight {
                let mut pf = hop.exchange.clone();
                let mut h = Headers::new();
                h.push(b"Origin", page_origin.as_bytes());
                h.push(b"Access-Control-Request-Method", method.as_bytes());
                if !names.is_empty() {
                    let list: Vec<&str> = names.iter().map(String::as_str).collect();
                    h.push(b"Access-Control-Request-Headers", list.join(",").as_bytes());
                }
                pf.request = Request {
                    method: "OPTIONS".into(),
                    url: url.clone(),
                    http_version: pf.request.http_version,
                    headers: h,
                };
                pf.response = None;
                hop.preflight = Some(pf);
            }
            if let Some(pf) = &mut hop.preflight {
                let headers = pf.response.as_ref().map(|r| &r.headers);
                let headers =
                    self.set_headers(headers.unwrap_or(&Headers::new()), page_origin, true);
                if pf.response.is_none() {
                    assumed = true;
                }
                pf.response = Some(Response {
                    status: 204,
                    status_text: "No Content".into(),
                    headers,
                });
            }
            if !hop.sent || hop.exchange.response.is_none() {
                assumed = true;
                hop.sent = true;
                hop.exchange.response = Some(Response {
                    status: 200,
                    status_text: "OK".into(),
                    headers: Headers::new(),
                });
            }
            if let Some(r) = &mut hop.exchange.response {
                r.headers = self.set_headers(&r.headers, page_origin, false);
            }
        }
        (f, assumed)
    }
}

/// Why a blocked flow is outside what response headers can fix, or `None` when it is in scope.
pub(crate) fn out_of_scope(flow: &Flow, res: &Resolution) -> Option<&'static str> {
    const TAINTED: &str = "a cross-origin redirect made the request's origin `null`: link to the final URL instead of allowing `null`";
    if let Some(page) = res.facts.page_origin.as_deref() {
        // Redirect-taint, as the engine applies it: a hop to another origin from a URL that is
        // itself cross-origin to the page.
        let tainted = flow.hops.windows(2).any(|w| {
            let (from, to) = (&w[0].exchange.request.url, &w[1].exchange.request.url);
            !same_origin(to, from) && !same_origin(from, page)
        });
        if tainted {
            return Some(TAINTED);
        }
    }
    if flow
        .last()
        .exchange
        .response
        .as_ref()
        .and_then(Response::location)
        .is_some()
    {
        return Some("the chain stops at a redirect whose target is not in the recording: fix the redirect, then record again to check its target");
    }
    for v in res.browsers.values() {
        let Some(b) = &v.blocked else { continue };
        if b.request_origin == "null" {
            return Some(TAINTED);
        }
        match b.failure {
            Failure::PreflightRedirect => {
                return Some("the preflight was redirected: answer OPTIONS at that URL instead")
            }
            Failure::RedirectCredentials { .. } => {
                return Some("a redirect target carries a user name and password")
            }
            Failure::DisallowedByMode => return Some("the request mode forbids cross-origin"),
            Failure::DisabledScheme => return Some("the target is not http(s)"),
            Failure::AllowOriginMissing
            | Failure::WildcardWithCredentials
            | Failure::AllowOriginMultiple { .. }
            | Failure::AllowOriginMismatch { .. }
            | Failure::AllowOriginInvalid { .. }
            | Failure::AllowCredentialsNotTrue { .. }
            | Failure::PreflightStatus
            | Failure::AllowMethodsInvalid { .. }
            | Failure::AllowHeadersInvalid { .. }
            | Failure::MethodNotAllowed { .. }
            | Failure::HeaderNotAllowed { .. } => {}
        }
    }
    None
}

/// The outcome of re-evaluating one flow with the fix applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Recheck {
    /// Allowed (or outside CORS) in every browser under every credentials reading.
    pub allowed_everywhere: bool,
    /// Per browser that still fails: what the engine said.
    pub failures: Vec<(Browser, String)>,
    /// A response the fix needed was not in the recording and was assumed.
    pub assumed: bool,
}

/// Re-evaluates `flow` with `fix` applied, for every browser and credentials reading.
pub(crate) fn recheck(fix: &HeaderFix, flow: &Flow, res: &Resolution) -> Option<Recheck> {
    let page = res.facts.page_origin.as_deref()?;
    let (fixed, assumed) = fix.apply(flow, page);
    let readings: &[bool] = match res.credentials {
        Credentials::Include => &[true],
        Credentials::Omit => &[false],
        Credentials::Unknown => &[false, true],
    };
    let mut failures = Vec::new();
    for b in ALL_BROWSERS {
        let cache = PreflightCache::new(b);
        for &include in readings {
            let ev = evaluate(
                &fixed,
                &Context {
                    browser: b,
                    recorder: res.recorder,
                    include,
                    page_origin: page,
                    cache: &cache,
                    recorder_passed_preflight: &[],
                    recorder_unsafe_names: &[],
                    is_font: res.facts.is_font,
                    evidence: None,
                    names_memo: None,
                },
            );
            let bad = match ev.decision {
                Decision::Allowed | Decision::NotCors(_) => None,
                Decision::Blocked(bl) => Some(format!("still blocked: {:?}", bl.failure)),
                Decision::Undecidable(m) => Some(format!("undecidable: {m:?}")),
            };
            if let Some(why) = bad {
                failures.push((b, why));
                break;
            }
        }
    }
    Some(Recheck {
        allowed_everywhere: failures.is_empty(),
        failures,
        assumed,
    })
}

/// Whether any browser blocked the flow.
pub(crate) fn blocked_anywhere(res: &Resolution) -> bool {
    res.browsers.values().any(|v| v.verdict == Verdict::Blocked)
}

/// Whether every browser allowed it.
pub(crate) fn allowed_everywhere(res: &Resolution) -> bool {
    res.browsers.values().all(|v| v.verdict == Verdict::Allowed)
}

/// `s` as one nginx configuration token: bare where it can be, else double-quoted with `"`
/// and `\` escaped (nginx ends a bare token at spaces, `;`, `{`, `}` and starts a string at
/// quotes).
fn nginx_str(s: &str) -> String {
    let bare = !s.is_empty()
        && !s.chars().any(|c| {
            c.is_whitespace() || matches!(c, ';' | '{' | '}' | '"' | '\'' | '\\' | '$' | '#')
        });
    if bare {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `s` matched literally inside a JavaScript regular expression literal (`/…/`).
fn js_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '/'
                | '^'
                | '$'
                | '.'
                | '|'
                | '?'
                | '*'
                | '+'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as a single-quoted JavaScript string literal.
fn js_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::resolve::Resolver;
    use crate::model::{test_exchange, Flavour};
    use crate::pairing::FlowHop;

    const PAGE: &str = "http://app.test";
    const URL: &str = "http://api.test/v1/items/7";
    type H<'a> = &'a [(&'a str, &'a str)];

    /// A DevTools-recorded flow: the request (with its response, if sent) and its preflight.
    fn flow(method: &str, req: H, resp: Option<(u16, H)>, pf: Option<(H, u16, H)>) -> Flow {
        let mut req_h = vec![("Origin", PAGE), ("Sec-Fetch-Mode", "cors")];
        req_h.extend_from_slice(req);
        // DevTools marks a blocked request with its error.
        let x = test_exchange(
            Flavour::DevTools,
            method,
            URL,
            &req_h,
            resp,
            Some("net::ERR_FAILED"),
        );
        let preflight = pf.map(|(pf_req, status, pf_resp)| {
            let mut h = vec![("Origin", PAGE)];
            h.extend_from_slice(pf_req);
            test_exchange(
                Flavour::DevTools,
                "OPTIONS",
                URL,
                &h,
                Some((status, pf_resp)),
                None,
            )
        });
        Flow {
            hops: vec![FlowHop {
                exchange: x,
                sent: resp.is_some(),
                preflight,
            }],
            client: std::sync::Arc::from("c"),
            flavour: Flavour::DevTools,
        }
    }

    fn fixed_by_own_fix(f: &Flow) -> (HeaderFix, Recheck) {
        let res = Resolver::new().resolve(f, Browser::Chromium);
        assert!(
            blocked_anywhere(&res),
            "the case is blocked: {:?}",
            res.browsers
        );
        let mut req = Requirements::default();
        req.add(f, &res);
        let fix = req.fix();
        let rc = recheck(&fix, f, &res).expect("page origin known");
        (fix, rc)
    }

    #[test]
    fn the_suggested_headers_clear_each_kind_of_failure() {
        let acrm_put: H = &[("Access-Control-Request-Method", "PUT")];
        let cases: Vec<(&str, Flow)> = vec![
            ("no ACAO on a GET", flow("GET", &[], Some((200, &[])), None)),
            (
                "wildcard with cookies",
                flow(
                    "GET",
                    &[("Cookie", "s=1")],
                    Some((200, &[("Access-Control-Allow-Origin", "*")])),
                    None,
                ),
            ),
            (
                "method not allowed",
                flow(
                    "PUT",
                    &[],
                    None,
                    Some((acrm_put, 204, &[("Access-Control-Allow-Origin", PAGE)])),
                ),
            ),
            (
                "header not allowed",
                flow(
                    "POST",
                    &[("X-Trace", "1")],
                    None,
                    Some((
                        &[
                            ("Access-Control-Request-Method", "POST"),
                            ("Access-Control-Request-Headers", "x-trace"),
                        ],
                        204,
                        &[("Access-Control-Allow-Origin", PAGE)],
                    )),
                ),
            ),
            (
                "preflight 405",
                flow("PUT", &[], None, Some((acrm_put, 405, &[]))),
            ),
        ];
        for (name, f) in cases {
            let (fix, rc) = fixed_by_own_fix(&f);
            assert!(
                rc.allowed_everywhere,
                "{name}: {:?} with {fix:?}",
                rc.failures
            );
        }
    }

    #[test]
    fn a_fix_missing_a_header_is_caught() {
        let f = flow(
            "PUT",
            &[("X-Trace", "1")],
            None,
            Some((
                &[
                    ("Access-Control-Request-Method", "PUT"),
                    ("Access-Control-Request-Headers", "x-trace"),
                ],
                204,
                &[],
            )),
        );
        let res = Resolver::new().resolve(&f, Browser::Chromium);
        let mut req = Requirements::default();
        req.add(&f, &res);
        let mut fix = req.fix();
        assert_eq!(fix.allow_headers, ["x-trace"]);
        assert_eq!(fix.allow_methods, ["PUT"]);
        fix.allow_headers.clear();
        let rc = recheck(&fix, &f, &res).unwrap();
        assert!(!rc.allowed_everywhere);
        assert_eq!(rc.failures.len(), 3, "{:?}", rc.failures);
    }

    #[test]
    fn wildcard_only_without_credentials() {
        let f = flow("GET", &[], Some((200, &[])), None);
        let res = Resolver::new().resolve(&f, Browser::Chromium);
        let mut req = Requirements::default();
        req.add(&f, &res);
        let fix = req.fix();
        // The credentials mode of a plain GET is not visible: the fix must work either way.
        if res.credentials == Credentials::Omit {
            assert_eq!(fix.allow_origin, ["*"]);
        } else {
            assert_eq!(fix.allow_origin, [PAGE]);
            assert!(fix.allow_credentials);
            assert!(fix.actual_lines().contains(&"Vary: Origin".to_owned()));
        }
        assert!(fix.preflight_lines().is_empty(), "not preflighted");
        assert!(fix
            .nginx("/v1/items/{id}")
            .starts_with("location /v1/items/ {"));
    }

    proptest::proptest! {
        /// nginx reads back exactly the string given (its quoting undone), and a JavaScript
        /// literal holds no bare quote or line break, whatever the path.
        #[test]
        fn server_strings_round_trip(s in "\\PC*") {
            let n = nginx_str(&s);
            let read = match n.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                Some(inner) => {
                    let mut out = String::new();
                    let mut chars = inner.chars();
                    while let Some(c) = chars.next() {
                        if c == '\\' {
                            out.extend(chars.next());
                        } else {
                            proptest::prop_assert!(c != '"', "{n}");
                            out.push(c);
                        }
                    }
                    out
                }
                None => n.clone(),
            };
            proptest::prop_assert_eq!(read, s.clone());
            let j = js_str(&s);
            let inner = &j[1..j.len() - 1];
            let breaks = ['\n', '\r', '\u{2028}', '\u{2029}'];
            proptest::prop_assert!(!inner.contains(breaks), "{j}");
            let mut escaped = false;
            for c in inner.chars() {
                proptest::prop_assert!(escaped || c != '\'', "{j}");
                escaped = !escaped && c == '\\';
            }
            proptest::prop_assert!(route_prefix(&s).len() <= s.len());
        }
    }

    /// The snippets' mount for each kind of endpoint path: nginx's decoded and quoted where its
    /// syntax needs it, Express's a JavaScript string, or a test of `req.path` for path
    /// parameters. (Checked by hand with nginx 1.22 `nginx -t` and live requests, and Express
    /// 5.3 with `cors`: each matched `/v1/items/17?v=3`, `/a%20b/r`, `/cart;jsessionid=0A1B`,
    /// `/search/o'brien` and `/x%23y/z`.)
    #[test]
    fn snippets_mount_where_the_server_matches() {
        let fix = HeaderFix {
            allow_origin: vec![PAGE.to_owned()],
            allow_credentials: false,
            allow_methods: Vec::new(),
            allow_headers: Vec::new(),
            expose_headers: Vec::new(),
            max_age: None,
            preflight_status_was: Vec::new(),
        };
        let first = |s: String| s.lines().next().unwrap_or_default().to_owned();
        for (path, nginx, express) in [
            (
                "/v1/items/{id}",
                "location /v1/items/ {",
                "app.use('/v1/items/', cors(",
            ),
            (
                "/a%20b/r",
                "location \"/a b/r\" {",
                "app.use('/a%20b/r', cors(",
            ),
            (
                "/search/o'brien",
                "location \"/search/o'brien\" {",
                "app.use('/search/o\\'brien', cors(",
            ),
            (
                "/x%23y/z",
                "location \"/x#y/z\" {",
                "app.use('/x%23y/z', cors(",
            ),
            (
                "/q%22u/r",
                "location \"/q\\\"u/r\" {",
                "app.use('/q%22u/r', cors(",
            ),
            (
                "/cart;…",
                "location /cart {",
                "app.use((req, res, next) => /^\\/cart(?:[;/]|$)/.test(req.path) ? cors(",
            ),
        ] {
            assert_eq!(first(fix.nginx(path)), nginx, "{path}");
            assert!(
                fix.express(path).starts_with(express),
                "{path}: {}",
                fix.express(path)
            );
        }
    }
}
