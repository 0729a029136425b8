//! The passive audit step: CORS configurations that work but are risky or wasteful, read off
//! the recorded responses (nothing is sent). One table ([`CODES`]) holds every finding's stable
//! code, severity, title and its `corscope explain` page (docs/audit/CODE.md, built in).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::cors::origin::same_origin;
use crate::cors::ALL_BROWSERS;
use crate::model::{Exchange, Response};
use crate::pairing::Flow;

/// Most severe first: the derived order is the ranking (`--finding-severity` counts the
/// findings at or before its level).
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

/// One kind of finding.
pub struct Code {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// The `corscope explain CODE` page (Markdown).
    pub doc: &'static str,
}

macro_rules! code {
    ($code:literal, $slug:literal, $sev:ident, $title:literal) => {
        Code {
            code: $code,
            slug: $slug,
            severity: Severity::$sev,
            title: $title,
            doc: include_str!(concat!("../docs/audit/", $code, ".md")),
        }
    };
}

pub(crate) const REFLECT_CREDENTIALS: usize = 0;
pub(crate) const NULL_ALLOWED: usize = 1;
pub(crate) const NO_VARY_ORIGIN: usize = 2;
pub(crate) const PREFIX_SUFFIX_MATCH: usize = 3;
pub(crate) const MAX_AGE_ABSENT: usize = 4;
pub(crate) const MAX_AGE_ZERO: usize = 5;
pub(crate) const MAX_AGE_ABOVE_CAP: usize = 6;
pub(crate) const WILDCARD_HEADERS_CREDENTIALS: usize = 7;
pub(crate) const WILDCARD_METHODS_CREDENTIALS: usize = 8;
pub(crate) const WILDCARD_ORIGIN_COOKIES: usize = 9;
pub(crate) const PRIVATE_NETWORK: usize = 10;

/// Every audit finding; the index constants above point into it.
pub const CODES: &[Code] = &[
    code!(
        "CA001",
        "reflected-origin-with-credentials",
        High,
        "Allow-Origin reflects every origin, with credentials"
    ),
    code!(
        "CA002",
        "null-origin-allowed",
        High,
        "`Access-Control-Allow-Origin: null` allowed"
    ),
    code!(
        "CA003",
        "missing-vary-origin",
        Medium,
        "Origin-dependent Allow-Origin on a cacheable response without `Vary: Origin`"
    ),
    code!(
        "CA004",
        "prefix-suffix-origin-match",
        High,
        "Allowed origins look like a broken prefix/suffix match"
    ),
    code!(
        "CA005",
        "max-age-absent",
        Low,
        "Preflight without `Access-Control-Max-Age` (cached 5 s)"
    ),
    code!(
        "CA006",
        "max-age-zero",
        Low,
        "`Access-Control-Max-Age` of 0 or less: every request preflights"
    ),
    code!(
        "CA007",
        "max-age-above-cap",
        Info,
        "`Access-Control-Max-Age` above what browsers honour"
    ),
    code!(
        "CA008",
        "wildcard-allow-headers-with-credentials",
        Medium,
        "`Access-Control-Allow-Headers: *` with credentials (not a wildcard then)"
    ),
    code!(
        "CA009",
        "wildcard-allow-methods-with-credentials",
        Medium,
        "`Access-Control-Allow-Methods: *` with credentials (not a wildcard then)"
    ),
    code!(
        "CA010",
        "wildcard-origin-sets-cookies",
        Low,
        "`Access-Control-Allow-Origin: *` on a response that sets cookies"
    ),
    code!(
        "CA011",
        "private-network-from-public-page",
        Info,
        "Private-network target called from a public page"
    ),
];

/// The code's table row, by code (`CA003`) or slug (`missing-vary-origin`), any case, also
/// qualified as `explain --list` writes it (`audit:CA003`).
pub(crate) fn lookup(name: &str) -> Option<&'static Code> {
    let n = name.trim();
    let n = match n.split_once(':') {
        Some((q, rest)) if q.trim().eq_ignore_ascii_case(LIST_LABEL) => rest.trim(),
        _ => n,
    };
    CODES
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(n) || c.slug.eq_ignore_ascii_case(n))
}

/// The first column of the audit's lines in `corscope explain --list` (where the reasons have
/// their browser's).
pub(crate) const LIST_LABEL: &str = "audit";

/// The audit's lines of `corscope explain --list`: label, code (names aligned to `width`),
/// severity, title and slug.
pub(crate) fn list_lines(width: usize) -> impl Iterator<Item = String> {
    CODES.iter().map(move |c| {
        let summary = format!("[{}] {} ({})", c.severity.as_str(), c.title, c.slug);
        crate::cors::explain::list_line(LIST_LABEL, c.code, &summary, width)
    })
}

/// `corscope explain CODE` text for an audit code.
pub(crate) fn explain(name: &str) -> Option<String> {
    lookup(name).map(|c| {
        format!(
            "{} ({}) — {}, severity {}\n\n{}",
            c.code,
            c.slug,
            c.title,
            c.severity.as_str(),
            c.doc
        )
    })
}

/// A flow named in a report: the input and its entry / request number.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowId {
    pub source: String,
    pub index: u64,
}

/// Evidence flows listed per finding (the count covers all of them).
pub(crate) const EVIDENCE_KEPT: usize = 10;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Finding {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub endpoint: String,
    /// What was seen, with the values.
    pub detail: String,
    /// Flows showing it.
    pub flows: u64,
    pub evidence: Vec<FlowId>,
}

#[derive(Clone, Debug, Default)]
struct Acc {
    detail: String,
    flows: u64,
    evidence: Vec<FlowId>,
}

impl Acc {
    fn add(&mut self, id: &FlowId, detail: impl FnOnce() -> String) {
        if self.flows == 0 {
            self.detail = detail();
        }
        self.flows += 1;
        if self.evidence.len() < EVIDENCE_KEPT && !self.evidence.contains(id) {
            self.evidence.push(id.clone());
        }
    }
}

/// What an endpoint did with the origins it was sent, for the findings that need more than
/// one flow to show (reflection of everything, prefix/suffix matching, an Allow-Origin that
/// depends on Origin without `Vary: Origin`).
#[derive(Clone, Debug, Default)]
struct OriginUse {
    /// Origins echoed back in Allow-Origin with `Allow-Credentials: true`.
    reflected_with_credentials: BTreeMap<String, FlowId>,
    /// Origins echoed back at all.
    reflected: BTreeMap<String, FlowId>,
    /// Some origin was sent and not echoed (absent or another value): an allow-list at work.
    refused: bool,
    /// Origins whose (non-preflight) answer had no Allow-Origin at all: at most two, which is
    /// enough to know whether one differs from a single echoed origin.
    answered_without: Vec<String>,
    /// Cacheable answers that echoed the request's Origin without `Vary: Origin`: a
    /// [`NO_VARY_ORIGIN`] finding once the endpoint shows that the value depends on Origin
    /// ([`OriginUse::depends_on_origin`]); a fixed value needs no `Vary`.
    unvaried: Acc,
}

impl OriginUse {
    /// How the answers show that Allow-Origin depends on the request's Origin: two origins
    /// echoed, or one echoed and another answered without it; `None` if they do not (one
    /// origin echoed alone may be a fixed value, the same for everyone).
    fn depends_on_origin(&self) -> Option<String> {
        let mut echoed = self.reflected.keys();
        let first = echoed.next()?;
        if let Some(second) = echoed.next() {
            return Some(format!("both {first} and {second} were echoed"));
        }
        self.answered_without
            .iter()
            .find(|o| *o != first)
            .map(|o| format!("{first} was echoed and {o} answered without it"))
    }
}

/// Accumulates findings over the flows of an input.
#[derive(Clone, Debug, Default)]
pub(crate) struct Auditor {
    found: BTreeMap<(usize, String), Acc>,
    origins: BTreeMap<String, OriginUse>,
}

fn is_cacheable(method: &str, r: &Response) -> bool {
    let cc = r
        .headers
        .get_str("cache-control")
        .unwrap_or_default()
        .to_ascii_lowercase();
    // RFC 9111 4.2.2: statuses cacheable by default (heuristic freshness).
    matches!(method, "GET" | "HEAD")
        && crate::cors::httpcache::HEURISTIC.contains(&r.status)
        && !cc.contains("no-store")
}

fn varies_on_origin(r: &Response) -> bool {
    r.headers.get_all("vary").any(|v| {
        crate::model::escape_bytes(v)
            .split(',')
            .any(|t| matches!(t.trim().to_ascii_lowercase().as_str(), "origin" | "*"))
    })
}

fn host_of(origin: &str) -> Option<String> {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
}

/// Private, loopback or link-local address, or a name that only resolves locally.
fn is_private_host(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_private() || a.is_loopback() || a.is_link_local(),
        Ok(IpAddr::V6(a)) => {
            let s = a.segments()[0];
            a.is_loopback() || (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
        Err(_) => {
            let h = host.to_ascii_lowercase();
            h == "localhost" || h.ends_with(".localhost") || h.ends_with(".local")
        }
    }
}

/// A host the public Internet can name: not a private address, not a reserved or local-only
/// name (RFC 6761 `.test`, `.example`, `.invalid`, `.localhost`; `.local`, `.internal`, …).
fn is_public_host(host: &str) -> bool {
    if is_private_host(host) {
        return false;
    }
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    let h = host.to_ascii_lowercase();
    let local = [
        ".test",
        ".example",
        ".invalid",
        ".internal",
        ".lan",
        ".home.arpa",
        ".corp",
        ".intranet",
    ];
    h.contains('.') && !local.iter().any(|t| h.ends_with(t))
}

impl Auditor {
    fn hit(&mut self, code: usize, endpoint: &str, id: &FlowId, detail: impl FnOnce() -> String) {
        self.found
            .entry((code, endpoint.to_owned()))
            .or_default()
            .add(id, detail);
    }

    /// Audits one CORS flow whose page origin is `page` and whose first request maps to
    /// `endpoint`.
    pub(crate) fn add(&mut self, flow: &Flow, page: &str, endpoint: &str, id: &FlowId) {
        for hop in &flow.hops {
            let x = &hop.exchange;
            if same_origin(&x.request.url, page) {
                continue;
            }
            let origin = x
                .request
                .headers
                .get_str("origin")
                .or_else(|| {
                    hop.preflight
                        .as_ref()
                        .and_then(|p| p.request.headers.get_str("origin"))
                })
                .unwrap_or_else(|| page.to_owned());
            if let Some(pf) = &hop.preflight {
                self.preflight(pf, &origin, endpoint, id);
                if let Some(r) = &pf.response {
                    self.response(r, "OPTIONS", &origin, endpoint, id);
                }
            }
            if hop.sent {
                if let Some(r) = &x.response {
                    self.response(r, &x.request.method, &origin, endpoint, id);
                }
            }
            // Private-network access: reported, not judged.
            let target_host = host_of(&x.request.url);
            let target_private = target_host.as_deref().is_some_and(is_private_host)
                || x.evidence
                    .server_ip
                    .as_deref()
                    .is_some_and(|ip| ip.parse::<IpAddr>().is_ok() && is_private_host(ip));
            if target_private && host_of(page).as_deref().is_some_and(is_public_host) {
                let url = x.request.url.clone();
                let ip = x.evidence.server_ip.clone();
                self.hit(PRIVATE_NETWORK, endpoint, id, || {
                    format!(
                        "page {page} called {url}{}: a private-network target (Chromium's Private Network Access asks such servers for `Access-Control-Allow-Private-Network`)",
                        ip.map(|i| format!(" ({i})")).unwrap_or_default()
                    )
                });
            }
        }
    }

    fn preflight(&mut self, pf: &Exchange, origin: &str, endpoint: &str, id: &FlowId) {
        let Some(r) = &pf.response else { return };
        if !(200..300).contains(&r.status) || !r.headers.contains("access-control-allow-origin") {
            return;
        }
        let credentials = r
            .headers
            .get_str("access-control-allow-credentials")
            .is_some_and(|v| v == "true");
        let max_age = r.headers.get_str("access-control-max-age");
        match max_age.as_deref().map(str::trim) {
            None => self.hit(MAX_AGE_ABSENT, endpoint, id, || {
                format!("the preflight answer to {origin} has no Access-Control-Max-Age: browsers cache it 5 s, so nearly every request is preflighted again")
            }),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n <= 0 => self.hit(MAX_AGE_ZERO, endpoint, id, || {
                    format!("Access-Control-Max-Age: {v} — the preflight is never cached")
                }),
                Ok(n) if n > crate::cors::fix::SUGGESTED_MAX_AGE as i64 => {
                    let used: Vec<String> = ALL_BROWSERS
                        .iter()
                        .map(|b| format!("{b} {}", b.max_age(Some(v)).unwrap_or(0)))
                        .collect();
                    self.hit(MAX_AGE_ABOVE_CAP, endpoint, id, || {
                        format!("Access-Control-Max-Age: {v}; browsers cap it (seconds used: {})", used.join(", "))
                    })
                }
                _ => {}
            },
        }
        if credentials {
            let star = |name: &str| {
                r.headers
                    .get_str(name)
                    .is_some_and(|v| v.split(',').any(|t| t.trim() == "*"))
            };
            if star("access-control-allow-headers") {
                self.hit(WILDCARD_HEADERS_CREDENTIALS, endpoint, id, || {
                    "Access-Control-Allow-Headers: * with Access-Control-Allow-Credentials: true: for credentialed requests `*` is the literal header name `*`, not a wildcard".into()
                });
            }
            if star("access-control-allow-methods") {
                self.hit(WILDCARD_METHODS_CREDENTIALS, endpoint, id, || {
                    "Access-Control-Allow-Methods: * with Access-Control-Allow-Credentials: true: for credentialed requests `*` is the literal method `*`, not a wildcard".into()
                });
            }
        }
    }

    fn response(&mut self, r: &Response, method: &str, origin: &str, endpoint: &str, id: &FlowId) {
        let acao = r.headers.get_str("access-control-allow-origin");
        let credentials = r
            .headers
            .get_str("access-control-allow-credentials")
            .is_some_and(|v| v == "true");
        let use_ = self.origins.entry(endpoint.to_owned()).or_default();
        match acao.as_deref() {
            Some("null") => {
                let creds = if credentials {
                    " with Access-Control-Allow-Credentials: true"
                } else {
                    ""
                };
                self.hit(NULL_ALLOWED, endpoint, id, || {
                    format!("Access-Control-Allow-Origin: null{creds}: sandboxed iframes, data: URLs and redirected requests all have origin `null`")
                });
            }
            Some("*") if r.headers.contains("set-cookie") => {
                self.hit(WILDCARD_ORIGIN_COOKIES, endpoint, id, || {
                    "Access-Control-Allow-Origin: * with Set-Cookie: only uncredentialed requests can read a `*` response, and browsers ignore cookies set on those".into()
                });
            }
            // `*` allows everyone: not a refusal.
            Some("*") => {}
            Some(v) if v == origin && origin != "null" => {
                use_.reflected
                    .entry(v.to_owned())
                    .or_insert_with(|| id.clone());
                if credentials {
                    use_.reflected_with_credentials
                        .entry(v.to_owned())
                        .or_insert_with(|| id.clone());
                }
                if method != "OPTIONS" && is_cacheable(method, r) && !varies_on_origin(r) {
                    let status = r.status;
                    use_.unvaried.add(id, || {
                        format!("{method} answered {status} with Access-Control-Allow-Origin: {v}, cacheable, without Vary: Origin")
                    });
                }
            }
            None if origin != "null" => {
                use_.refused = true;
                if method != "OPTIONS"
                    && use_.answered_without.len() < 2
                    && !use_.answered_without.iter().any(|o| o == origin)
                {
                    use_.answered_without.push(origin.to_owned());
                }
            }
            _ if origin != "null" => use_.refused = true,
            _ => {}
        }
    }

    pub(crate) fn finish(mut self) -> Vec<Finding> {
        let origins = std::mem::take(&mut self.origins);
        for (endpoint, mut u) in origins {
            if u.unvaried.flows > 0 {
                if let Some(why) = u.depends_on_origin() {
                    let mut acc = std::mem::take(&mut u.unvaried);
                    acc.detail = format!(
                        "{}, and the value depends on Origin ({why}): a cache can serve this answer to another origin",
                        acc.detail
                    );
                    self.found.insert((NO_VARY_ORIGIN, endpoint.clone()), acc);
                }
            }
            if u.reflected_with_credentials.len() >= 2 && !u.refused {
                let list: Vec<&str> = u
                    .reflected_with_credentials
                    .keys()
                    .map(String::as_str)
                    .collect();
                let ids: Vec<FlowId> = u.reflected_with_credentials.values().cloned().collect();
                for id in &ids {
                    self.hit(REFLECT_CREDENTIALS, &endpoint, id, || {
                        format!("every origin sent was echoed back with credentials ({}) and none refused: if the server copies Origin unchecked, any site can read responses with the user's cookies", list.join(", "))
                    });
                }
            }
            let allowed: Vec<(&String, &FlowId)> = u.reflected.iter().collect();
            for (a, ida) in &allowed {
                for (b, idb) in &allowed {
                    let (Some(ha), Some(hb)) = (host_of(a), host_of(b)) else {
                        continue;
                    };
                    if ha == hb || !looks_like_broken_match(&ha, &hb) {
                        continue;
                    }
                    let (a, b) = (a.to_string(), b.to_string());
                    for id in [*ida, *idb] {
                        let (a, b) = (a.clone(), b.clone());
                        self.hit(PREFIX_SUFFIX_MATCH, &endpoint, id, || {
                            format!("both {a} and {b} were allowed: the allow-list probably matches a prefix or suffix of the host, which an attacker can register")
                        });
                    }
                }
            }
        }
        let mut out: Vec<Finding> = self
            .found
            .into_iter()
            .map(|((code, endpoint), acc)| {
                let c = &CODES[code];
                Finding {
                    code: c.code,
                    slug: c.slug,
                    severity: c.severity,
                    title: c.title,
                    endpoint,
                    detail: acc.detail,
                    flows: acc.flows,
                    evidence: acc.evidence,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            a.severity
                .cmp(&b.severity)
                .then(b.flows.cmp(&a.flows))
                .then(a.code.cmp(b.code))
                .then(a.endpoint.cmp(&b.endpoint))
        });
        out
    }
}

/// `b` extends `a` at the front without a label boundary (`evilexample.com` for
/// `example.com`) or at the back (`example.com.evil.net`, `example.comx.net`): what
/// `endsWith`/`startsWith`/unanchored regex checks let through. Subdomains (`x.example.com`)
/// are a deliberate pattern and not reported.
fn looks_like_broken_match(a: &str, b: &str) -> bool {
    (b.ends_with(a) && !b.ends_with(&format!(".{a}"))) || b.starts_with(a)
}

/// A flow of (request, preflight) hops, for the tests.
#[cfg(test)]
fn flow_of(hops: Vec<(Exchange, Option<Exchange>)>) -> Flow {
    use crate::pairing::FlowHop;
    Flow {
        hops: hops
            .into_iter()
            .map(|(exchange, preflight)| FlowHop {
                exchange,
                sent: true,
                preflight,
            })
            .collect(),
        client: std::sync::Arc::from("c"),
        flavour: crate::model::Flavour::DevTools,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{test_exchange, Flavour};

    const PAGE: &str = "https://app.example.com";
    type H<'a> = &'a [(&'a str, &'a str)];

    fn get(origin: &str, url: &str, resp: H) -> Flow {
        flow_of(vec![(
            test_exchange(
                Flavour::DevTools,
                "GET",
                url,
                &[("Origin", origin)],
                Some((200, resp)),
                None,
            ),
            None,
        )])
    }

    fn put(origin: &str, pf_resp: H) -> Flow {
        put_answered(origin, origin, pf_resp)
    }

    /// A PUT from `origin` whose response allows `allowed`, after a preflight answered `pf_resp`.
    fn put_answered(origin: &str, allowed: &str, pf_resp: H) -> Flow {
        let url = "https://api.example.net/v1/x";
        flow_of(vec![(
            test_exchange(
                Flavour::DevTools,
                "PUT",
                url,
                &[("Origin", origin)],
                Some((200, &[("Access-Control-Allow-Origin", allowed)])),
                None,
            ),
            Some(test_exchange(
                Flavour::DevTools,
                "OPTIONS",
                url,
                &[("Origin", origin), ("Access-Control-Request-Method", "PUT")],
                Some((204, pf_resp)),
                None,
            )),
        )])
    }

    /// (code, flows that trigger it, flows that do not).
    type Case<'a> = (&'a str, Vec<(Flow, &'a str)>, Vec<(Flow, &'a str)>);

    /// The findings of `flows` (each with its page), all on one endpoint.
    fn audit(flows: &[(Flow, &str)]) -> Vec<Finding> {
        let mut a = Auditor::default();
        for (i, (f, page)) in flows.iter().enumerate() {
            let id = FlowId {
                source: "t".into(),
                index: i as u64,
            };
            a.add(f, page, "E", &id);
        }
        a.finish()
    }

    fn codes(flows: &[(Flow, &str)]) -> Vec<&'static str> {
        let mut c: Vec<&str> = audit(flows).iter().map(|f| f.code).collect();
        c.dedup();
        c
    }

    const API: &str = "https://api.example.net/v1/x";
    const B: &str = "https://partner.example.org";

    #[test]
    fn every_finding_triggers_and_stays_quiet() {
        let nv = [("Access-Control-Allow-Origin", PAGE), ("Vary", "Origin")];
        let max = |v: &'static str| {
            vec![
                ("Access-Control-Allow-Origin", PAGE),
                ("Access-Control-Allow-Methods", "PUT"),
                ("Access-Control-Max-Age", v),
            ]
        };
        let cases: Vec<Case> = vec![
            (
                "CA001",
                vec![
                    (
                        get(
                            PAGE,
                            API,
                            &[
                                ("Access-Control-Allow-Origin", PAGE),
                                ("Access-Control-Allow-Credentials", "true"),
                                ("Vary", "Origin"),
                            ],
                        ),
                        PAGE,
                    ),
                    (
                        get(
                            B,
                            API,
                            &[
                                ("Access-Control-Allow-Origin", B),
                                ("Access-Control-Allow-Credentials", "true"),
                                ("Vary", "Origin"),
                            ],
                        ),
                        B,
                    ),
                ],
                vec![
                    (
                        get(
                            PAGE,
                            API,
                            &[
                                ("Access-Control-Allow-Origin", PAGE),
                                ("Access-Control-Allow-Credentials", "true"),
                                ("Vary", "Origin"),
                            ],
                        ),
                        PAGE,
                    ),
                    (
                        get(B, API, &[("Access-Control-Allow-Credentials", "true")]),
                        B,
                    ),
                ],
            ),
            (
                "CA002",
                vec![(
                    get("null", API, &[("Access-Control-Allow-Origin", "null")]),
                    PAGE,
                )],
                vec![(get(PAGE, API, &nv), PAGE)],
            ),
            (
                "CA003",
                vec![
                    (
                        get(PAGE, API, &[("Access-Control-Allow-Origin", PAGE)]),
                        PAGE,
                    ),
                    (get(B, API, &[("Access-Control-Allow-Origin", B)]), B),
                ],
                vec![
                    (get(PAGE, API, &nv), PAGE),
                    (
                        get(
                            PAGE,
                            API,
                            &[
                                ("Access-Control-Allow-Origin", PAGE),
                                ("Cache-Control", "no-store"),
                            ],
                        ),
                        PAGE,
                    ),
                    (
                        get(PAGE, API, &[("Access-Control-Allow-Origin", "*")]),
                        PAGE,
                    ),
                ],
            ),
            (
                "CA004",
                vec![
                    (
                        get(
                            "https://example.com",
                            API,
                            &[
                                ("Access-Control-Allow-Origin", "https://example.com"),
                                ("Vary", "Origin"),
                            ],
                        ),
                        "https://example.com",
                    ),
                    (
                        get(
                            "https://evilexample.com",
                            API,
                            &[
                                ("Access-Control-Allow-Origin", "https://evilexample.com"),
                                ("Vary", "Origin"),
                            ],
                        ),
                        "https://evilexample.com",
                    ),
                ],
                vec![
                    (
                        get(
                            "https://example.com",
                            API,
                            &[
                                ("Access-Control-Allow-Origin", "https://example.com"),
                                ("Vary", "Origin"),
                            ],
                        ),
                        "https://example.com",
                    ),
                    (
                        get(
                            "https://www.example.com",
                            API,
                            &[
                                ("Access-Control-Allow-Origin", "https://www.example.com"),
                                ("Vary", "Origin"),
                            ],
                        ),
                        "https://www.example.com",
                    ),
                ],
            ),
            (
                "CA005",
                vec![(
                    put(
                        PAGE,
                        &[
                            ("Access-Control-Allow-Origin", PAGE),
                            ("Access-Control-Allow-Methods", "PUT"),
                        ],
                    ),
                    PAGE,
                )],
                vec![(put(PAGE, &max("600")), PAGE)],
            ),
            (
                "CA006",
                vec![(put(PAGE, &max("0")), PAGE)],
                vec![(put(PAGE, &max("600")), PAGE)],
            ),
            (
                "CA007",
                vec![(put(PAGE, &max("86400")), PAGE)],
                vec![(put(PAGE, &max("7200")), PAGE)],
            ),
            (
                "CA008",
                vec![(
                    put(
                        PAGE,
                        &[
                            ("Access-Control-Allow-Origin", PAGE),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Allow-Headers", "*"),
                            ("Access-Control-Max-Age", "600"),
                        ],
                    ),
                    PAGE,
                )],
                vec![(
                    put(
                        PAGE,
                        &[
                            ("Access-Control-Allow-Origin", "*"),
                            ("Access-Control-Allow-Headers", "*"),
                            ("Access-Control-Max-Age", "600"),
                        ],
                    ),
                    PAGE,
                )],
            ),
            (
                "CA009",
                vec![(
                    put(
                        PAGE,
                        &[
                            ("Access-Control-Allow-Origin", PAGE),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Allow-Methods", "*"),
                            ("Access-Control-Max-Age", "600"),
                        ],
                    ),
                    PAGE,
                )],
                vec![(
                    put(
                        PAGE,
                        &[
                            ("Access-Control-Allow-Origin", PAGE),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Allow-Methods", "PUT"),
                            ("Access-Control-Max-Age", "600"),
                        ],
                    ),
                    PAGE,
                )],
            ),
            (
                "CA010",
                vec![(
                    get(
                        PAGE,
                        API,
                        &[("Access-Control-Allow-Origin", "*"), ("Set-Cookie", "s=1")],
                    ),
                    PAGE,
                )],
                vec![(
                    get(PAGE, API, &[("Access-Control-Allow-Origin", "*")]),
                    PAGE,
                )],
            ),
            (
                "CA011",
                vec![(
                    get(
                        PAGE,
                        "http://192.168.1.10/api",
                        &[("Access-Control-Allow-Origin", "*")],
                    ),
                    PAGE,
                )],
                vec![
                    (
                        get(
                            PAGE,
                            "https://api.example.net/api",
                            &[("Access-Control-Allow-Origin", "*")],
                        ),
                        PAGE,
                    ),
                    (
                        get(
                            "http://app.test:8080",
                            "http://127.0.0.1:8081/api",
                            &[("Access-Control-Allow-Origin", "*")],
                        ),
                        "http://app.test:8080",
                    ),
                ],
            ),
        ];
        assert_eq!(cases.len(), CODES.len(), "one case per code");
        for (code, yes, no) in cases {
            assert!(
                codes(&yes).contains(&code),
                "{code} should trigger: {:?}",
                codes(&yes)
            );
            assert!(
                !codes(&no).contains(&code),
                "{code} should not trigger: {:?}",
                codes(&no)
            );
        }
    }

    /// `CA003` needs the answers to show that Allow-Origin depends on Origin: one origin echoed
    /// alone may be a fixed value, which needs no `Vary`.
    #[test]
    fn missing_vary_needs_an_origin_dependent_value() {
        let echo = |o: &str| get(o, API, &[("Access-Control-Allow-Origin", o)]);
        let bare = |o: &str| get(o, API, &[]);
        let fixed = |o: &str| get(o, API, &[("Access-Control-Allow-Origin", PAGE)]);
        // (flows with their page, reported, the finding's detail names)
        type Case<'a> = (Vec<(Flow, &'a str)>, bool, &'a str);
        let cases: Vec<Case> = vec![
            (vec![(echo(PAGE), PAGE), (echo(PAGE), PAGE)], false, ""),
            (vec![(echo(PAGE), PAGE), (echo(B), B)], true, "were echoed"),
            (
                vec![(bare(B), B), (echo(PAGE), PAGE)],
                true,
                "answered without it",
            ),
            (vec![(echo(PAGE), PAGE), (fixed(B), B)], false, ""),
            (vec![(echo(PAGE), PAGE), (bare(PAGE), PAGE)], false, ""),
            // A preflight answered without Allow-Origin is not an answer without it.
            (
                vec![(echo(PAGE), PAGE), (put_answered(B, PAGE, &[]), B)],
                false,
                "",
            ),
        ];
        for (flows, reported, names) in cases {
            let found: Vec<Finding> = audit(&flows)
                .into_iter()
                .filter(|f| f.code == "CA003")
                .collect();
            assert_eq!(found.len(), usize::from(reported), "{found:?}");
            if let Some(f) = found.first() {
                assert!(f.detail.contains(names), "{}", f.detail);
                assert_eq!(f.flows, 1 + u64::from(names == "were echoed"));
            }
        }
    }

    #[test]
    fn every_code_has_a_page_and_is_found_by_explain() {
        for c in CODES {
            assert!(
                c.doc.starts_with("# "),
                "{} page starts with a title",
                c.code
            );
            assert!(explain(c.code).is_some());
            assert!(explain(&c.slug.to_uppercase()).is_some());
        }
        assert!(explain("CA999").is_none());
    }

    #[test]
    fn broken_match_shapes() {
        assert!(looks_like_broken_match("example.com", "evilexample.com"));
        assert!(looks_like_broken_match(
            "example.com",
            "example.com.evil.net"
        ));
        assert!(!looks_like_broken_match("example.com", "api.example.com"));
        assert!(!looks_like_broken_match("example.com", "other.org"));
    }
}
