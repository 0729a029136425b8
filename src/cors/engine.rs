//! The decision procedure (`#main-fetch`, cors.md 1.12) for one flow under one browser profile
//! and one set of assumptions (credentials mode); the caller resolves the unknowns.

use std::sync::Arc;

use super::browser::{AllowOriginRules, Browser};
use super::cache::{Allowed, Lookup, PreflightCache};
use super::headers::{
    is_safelisted_method, parse_allow_list, parse_request_headers_list,
    unsafe_request_header_names, ListParse,
};
use super::origin::{
    gurl_valid, has_credentials, is_http_scheme, resolve_location, same_origin, without_credentials,
};
use super::reason::{Blocked, Failure, Stage};
use crate::model::{escape_bytes, Exchange, Headers, Request, Response};
use crate::pairing::Flow;

/// Why a flow is outside CORS altogether.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotCors {
    /// Every hop stayed on the page's origin.
    SameOrigin,
    /// `no-cors` mode (plain `<img>`/`<script>`, `mode: 'no-cors'`): the response is opaque.
    NoCors,
    /// A document navigation or form submission.
    Navigation,
    /// A load this browser makes without CORS (WebKitGTK's `@font-face`).
    NotCorsInThisBrowser,
}

/// Something the decision needs that the input does not show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// A preflight was needed, none is recorded and no cached one covers the request.
    Preflight { hop: usize },
    /// This browser would have preflighted where the recording browser did not, so the
    /// server's answer is not in the input.
    PreflightNotSentByRecorder { hop: usize, why: String },
    /// The preflight's response was not recorded.
    PreflightResponse { hop: usize },
    /// The request itself never appeared (only its preflight did).
    NotSent { hop: usize },
    /// The response was not recorded.
    Response { hop: usize },
    /// A redirect was answered but the next request is not in the input.
    NextHop { hop: usize },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Blocked(Blocked),
    NotCors(NotCors),
    Undecidable(Missing),
}

/// A preflight that passed, to be cached by the caller once the flow is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassedPreflight {
    pub hop: usize,
    pub origin: String,
    pub url: String,
    pub allowed: Allowed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub passed: Vec<PassedPreflight>,
    /// Hops served by the preflight cache, with the entry's age in seconds.
    pub cache_hits: Vec<(usize, u64)>,
    /// Per hop: whether this browser needed a preflight there.
    pub needed_preflight: Vec<bool>,
    /// Per hop: the unsafe header names this browser would announce.
    pub unsafe_names: Vec<Vec<String>>,
}

/// Everything the engine needs besides the flow.
pub struct Context<'a> {
    pub browser: Browser,
    /// The browser that made the recording, whose preflights are the ones in the input.
    pub recorder: Browser,
    /// Credentials mode `include` (the assumption being evaluated).
    pub include: bool,
    /// The page's serialized origin.
    pub page_origin: &'a str,
    pub cache: &'a PreflightCache,
    /// Per hop: the recording browser got past this hop's preflight (from the evidence), so a
    /// browser that would send the same preflight can assume the same answer.
    pub recorder_passed_preflight: &'a [bool],
    /// Per hop: the unsafe names the recording browser announced or would have.
    pub recorder_unsafe_names: &'a [Vec<String>],
    /// A font load (WebKitGTK does not use CORS for them).
    pub is_font: bool,
}

pub fn evaluate(flow: &Flow, cx: &Context) -> Evaluation {
    let mut ev = Evaluation {
        decision: Decision::Allowed,
        passed: Vec::new(),
        cache_hits: Vec::new(),
        needed_preflight: Vec::new(),
        unsafe_names: Vec::new(),
    };
    ev.decision = run(flow, cx, &mut ev);
    ev
}

fn run(flow: &Flow, cx: &Context, ev: &mut Evaluation) -> Decision {
    let profile = cx.browser.profile();
    let mut request_origin = cx.page_origin.to_owned();
    let mut tainted = false;
    let mut any_cross = false;
    for (i, hop) in flow.hops.iter().enumerate() {
        let req = &hop.exchange.request;
        let cross = tainted || !same_origin(&req.url, cx.page_origin);
        let mut names = Vec::new();
        let mut need = false;
        if cross {
            any_cross = true;
            if cx.is_font && !profile.font_loads_use_cors {
                return Decision::NotCors(NotCors::NotCorsInThisBrowser);
            }
            if !is_http_scheme(&req.url) {
                return blocked(
                    Failure::DisabledScheme,
                    Stage::Request,
                    None,
                    req,
                    &request_origin,
                    i,
                );
            }
            names = unsafe_names(
                cx.browser,
                cx.recorder,
                hop.sent,
                req,
                hop.preflight.as_ref(),
            );
            need = !is_safelisted_method(&req.method)
                || !names.is_empty()
                || (hop.preflight.is_some() && cx.browser == cx.recorder);
        }
        ev.needed_preflight.push(need);
        ev.unsafe_names.push(names.clone());
        if need {
            match &hop.preflight {
                Some(pf) => {
                    let Some(resp) = &pf.response else {
                        return Decision::Undecidable(Missing::PreflightResponse { hop: i });
                    };
                    let header_case = if hop.sent { Some(&req.headers) } else { None };
                    match check_preflight(
                        cx,
                        pf,
                        resp,
                        &request_origin,
                        &req.method,
                        &names,
                        header_case,
                        i,
                    ) {
                        Ok(allowed) => ev.passed.push(PassedPreflight {
                            hop: i,
                            origin: request_origin.clone(),
                            url: req.url.clone(),
                            allowed,
                        }),
                        Err(b) => return Decision::Blocked(b),
                    }
                }
                None => {
                    let lookup = cx.cache.lookup(
                        &flow.client,
                        &request_origin,
                        &req.url,
                        hop.exchange.time,
                        cx.include,
                        &req.method,
                        &names,
                    );
                    match lookup {
                        Lookup::Hit { age_s } => ev.cache_hits.push((i, age_s)),
                        Lookup::Miss => {
                            let same_request =
                                cx.recorder_unsafe_names.get(i).is_some_and(|r| r == &names);
                            if cx.browser != cx.recorder
                                && cx
                                    .recorder_passed_preflight
                                    .get(i)
                                    .copied()
                                    .unwrap_or(false)
                                && same_request
                            {
                                // Same preflight request, same server: the same answer.
                            } else if cx.browser != cx.recorder && !recorder_needed(cx, i, req) {
                                return Decision::Undecidable(
                                    Missing::PreflightNotSentByRecorder {
                                        hop: i,
                                        why: why_preflight(cx.browser, &names, &req.method),
                                    },
                                );
                            } else {
                                return Decision::Undecidable(Missing::Preflight { hop: i });
                            }
                        }
                    }
                }
            }
        }
        if !hop.sent {
            return Decision::Undecidable(Missing::NotSent { hop: i });
        }
        let Some(resp) = &hop.exchange.response else {
            return Decision::Undecidable(Missing::Response { hop: i });
        };
        let location = resp.location();
        if cross {
            let stage = if location.is_some() {
                Stage::Redirect
            } else {
                Stage::Actual
            };
            if let Err(failure) =
                check_access(cx.browser, &resp.headers, &request_origin, cx.include)
            {
                let mut b =
                    make_blocked(failure, stage, Some(resp.status), req, &request_origin, i);
                b.location = location
                    .as_deref()
                    .and_then(|l| resolve_location(&req.url, l))
                    .map(|u| u.to_string());
                return Decision::Blocked(b);
            }
        }
        let Some(location) = location else {
            break;
        };
        let Some(target) = resolve_location(&req.url, &location) else {
            // An unparsable Location is a network error in every browser, not a CORS one.
            return Decision::Undecidable(Missing::NextHop { hop: i });
        };
        // `#http-redirect-fetch` step 7: userinfo in a cross-origin redirect target.
        if has_credentials(&target) && (cross || !same_origin(target.as_str(), cx.page_origin)) {
            let mut b = make_blocked(
                Failure::RedirectCredentials {
                    url: target.to_string(),
                    url_without_credentials: without_credentials(&target),
                },
                Stage::Redirect,
                Some(resp.status),
                req,
                &request_origin,
                i,
            );
            b.location = Some(target.to_string());
            return Decision::Blocked(b);
        }
        // Redirect-taint (`#concept-request-tainted-origin`): a hop to another origin from a URL
        // that is itself cross-origin to the page makes the origin `null` from then on.
        if !same_origin(target.as_str(), &req.url) && !same_origin(&req.url, cx.page_origin) {
            tainted = true;
            request_origin = "null".to_owned();
        }
        if i + 1 >= flow.hops.len() {
            return Decision::Undecidable(Missing::NextHop { hop: i });
        }
    }
    if !any_cross {
        return Decision::NotCors(NotCors::SameOrigin);
    }
    Decision::Allowed
}

fn recorder_needed(cx: &Context, hop: usize, req: &Request) -> bool {
    !is_safelisted_method(&req.method)
        || cx
            .recorder_unsafe_names
            .get(hop)
            .is_some_and(|n| !n.is_empty())
}

fn why_preflight(browser: Browser, names: &[String], method: &str) -> String {
    if !is_safelisted_method(method) {
        format!("{browser} preflights method {method}")
    } else {
        format!(
            "{browser} does not safelist request header(s) {}",
            names.join(", ")
        )
    }
}

/// The unsafe names this browser would announce for a hop. The recording browser's own
/// preflight (`Access-Control-Request-Headers`) is authoritative for it; other browsers
/// judge the visible request headers by their own safelist and add the announced names.
fn unsafe_names(
    browser: Browser,
    recorder: Browser,
    sent: bool,
    req: &Request,
    preflight: Option<&Exchange>,
) -> Vec<String> {
    let announced = preflight.and_then(|pf| {
        pf.request
            .headers
            .get_joined("access-control-request-headers")
    });
    if browser == recorder {
        if let Some(list) = &announced {
            return parse_request_headers_list(list);
        }
    }
    let mut names = if sent {
        unsafe_request_header_names(browser, req.headers.iter())
    } else {
        Vec::new()
    };
    if let Some(list) = &announced {
        names.extend(parse_request_headers_list(list));
        names.sort();
        names.dedup();
    }
    if browser == recorder && preflight.is_none() && !sent {
        names.clear();
    }
    names
}

fn make_blocked(
    failure: Failure,
    stage: Stage,
    status: Option<u16>,
    req: &Request,
    origin: &str,
    hop: usize,
) -> Blocked {
    Blocked {
        failure,
        stage,
        status,
        url: req.url.clone(),
        location: None,
        request_origin: origin.to_owned(),
        hop,
    }
}

fn blocked(
    failure: Failure,
    stage: Stage,
    status: Option<u16>,
    req: &Request,
    origin: &str,
    hop: usize,
) -> Decision {
    Decision::Blocked(make_blocked(failure, stage, status, req, origin, hop))
}

/// The CORS check (`#cors-check`) as each browser orders and names its failures (cors.md 2.2,
/// 3.2, 7.2). `origin` is the serialized request origin (`null` when tainted).
pub fn check_access(
    browser: Browser,
    headers: &Headers,
    origin: &str,
    include: bool,
) -> Result<(), Failure> {
    let joined = headers.get_joined("access-control-allow-origin");
    let value = joined.as_deref().map(escape_bytes);
    match browser.profile().allow_origin_rules {
        AllowOriginRules::Chromium => match value.as_deref() {
            Some("*") if !include => return Ok(()),
            Some("*") => return Err(Failure::WildcardWithCredentials),
            None => return Err(Failure::AllowOriginMissing),
            Some(v) if v != origin => {
                let value = v.to_owned();
                return Err(if v.contains([' ', ',']) {
                    Failure::AllowOriginMultiple { value }
                } else if v == "null" || gurl_valid(v) {
                    Failure::AllowOriginMismatch { value }
                } else {
                    Failure::AllowOriginInvalid { value }
                });
            }
            Some(_) => {}
        },
        AllowOriginRules::Firefox => {
            if headers.count("access-control-allow-origin") > 1 {
                return Err(Failure::AllowOriginMultiple {
                    value: value.unwrap_or_default(),
                });
            }
            match value.as_deref() {
                None => return Err(Failure::AllowOriginMissing),
                Some("*") if !include => return Ok(()),
                Some("*") => return Err(Failure::WildcardWithCredentials),
                Some(v) if v != origin => {
                    return Err(Failure::AllowOriginMismatch {
                        value: v.to_owned(),
                    })
                }
                Some(_) => {}
            }
        }
        AllowOriginRules::WebKit => {
            let v = value.unwrap_or_default();
            if v == "*" && !include {
                return Ok(());
            }
            if v != origin {
                return Err(if v == "*" {
                    Failure::WildcardWithCredentials
                } else if v.contains(',') {
                    Failure::AllowOriginMultiple { value: v }
                } else if joined.is_none() {
                    Failure::AllowOriginMissing
                } else {
                    Failure::AllowOriginMismatch { value: v }
                });
            }
        }
    }
    if include {
        let acac = headers.get_joined("access-control-allow-credentials");
        if acac.as_deref() != Some(b"true") {
            return Err(Failure::AllowCredentialsNotTrue {
                value: acac.map(|v| escape_bytes(&v)),
            });
        }
    }
    Ok(())
}

/// The preflight response check (`#cors-preflight-fetch` step 7 on; cors.md 2.2 for Chromium's
/// order, 3.2 Firefox's, 7.2 WebKit's).
// `Blocked` is large but built once per blocked flow, never in a loop: boxing buys nothing.
#[allow(clippy::too_many_arguments, clippy::result_large_err)]
fn check_preflight(
    cx: &Context,
    pf: &Exchange,
    resp: &Response,
    origin: &str,
    method: &str,
    names: &[String],
    header_case: Option<&Headers>,
    hop: usize,
) -> Result<Allowed, Blocked> {
    let p = cx.browser.profile();
    let fail = |failure: Failure| Blocked {
        failure,
        stage: Stage::Preflight,
        status: Some(resp.status),
        url: pf.request.url.clone(),
        location: None,
        request_origin: origin.to_owned(),
        hop,
    };
    let ok_status = (200..300).contains(&resp.status);
    let is_redirect = resp.location().is_some();
    if p.preflight_status_before_allow_origin {
        if !ok_status {
            return Err(fail(Failure::PreflightStatus));
        }
    } else if is_redirect && !p.preflight_redirect_is_bad_status {
        if p.preflight_redirect_checks_allow_origin_first {
            check_access(cx.browser, &resp.headers, origin, cx.include).map_err(&fail)?;
        }
        return Err(fail(Failure::PreflightRedirect));
    }
    check_access(cx.browser, &resp.headers, origin, cx.include).map_err(&fail)?;
    if !ok_status {
        return Err(fail(Failure::PreflightStatus));
    }
    let raw = |name: &str| resp.headers.get_str(name).unwrap_or_default();
    let methods = parse_allow_list(resp.headers.get_all("access-control-allow-methods"));
    let allowed_headers = parse_allow_list(resp.headers.get_all("access-control-allow-headers"));
    let methods_invalid = |token: String| {
        fail(Failure::AllowMethodsInvalid {
            token,
            raw: raw("access-control-allow-methods"),
        })
    };
    let headers_invalid = |token: String| {
        fail(Failure::AllowHeadersInvalid {
            token,
            raw: raw("access-control-allow-headers"),
        })
    };
    if p.parse_both_allow_lists_first {
        if let ListParse::Invalid(t) = &methods {
            return Err(methods_invalid(t.clone()));
        }
        if let ListParse::Invalid(t) = &allowed_headers {
            return Err(headers_invalid(t.clone()));
        }
    }
    let methods = match methods {
        ListParse::Invalid(t) => return Err(methods_invalid(t)),
        ListParse::Absent => Vec::new(),
        ListParse::Items(m) => m,
    };
    // Method rule: byte-exact (ACAM is case-sensitive in all three), `*` only without credentials.
    let method_ok = is_safelisted_method(method)
        || methods.iter().any(|m| m == method)
        || (!cx.include && methods.iter().any(|m| m == "*"));
    if !method_ok {
        return Err(fail(Failure::MethodNotAllowed {
            method: method.to_owned(),
        }));
    }
    let allowed_headers = match allowed_headers {
        ListParse::Invalid(t) => return Err(headers_invalid(t)),
        ListParse::Absent => Vec::new(),
        ListParse::Items(h) => h,
    };
    let wildcard = !cx.include && allowed_headers.iter().any(|h| h == "*");
    for name in names {
        let listed = allowed_headers.iter().any(|h| h.eq_ignore_ascii_case(name));
        let by_wildcard = wildcard && (name != "authorization" || p.wildcard_covers_authorization);
        if !listed && !by_wildcard {
            return Err(fail(Failure::HeaderNotAllowed {
                name: name.clone(),
                as_written: as_written(name, header_case),
            }));
        }
    }
    let max_age = cx
        .browser
        .max_age(resp.headers.get_str("access-control-max-age").as_deref());
    Ok(Allowed {
        methods,
        headers: allowed_headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        max_age: max_age.unwrap_or(0),
    })
}

/// The header name as the page wrote it (WebKit reports it so): from the actual request when
/// it is visible, else the usual Title-Case spelling.
fn as_written(name: &str, headers: Option<&Headers>) -> String {
    if let Some(h) = headers {
        if let Some((n, _)) = h
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        {
            return escape_bytes(n);
        }
    }
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Convenience for callers holding a client id.
pub fn client_key(s: &str) -> Arc<str> {
    Arc::from(s)
}
