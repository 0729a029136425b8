//! Concrete fixes written from a blocked flow's own values: which header, with which value, on
//! which response (the OPTIONS or the actual one) of which URL.

use std::collections::HashSet;

use super::headers::NameSet;
use super::reason::{Blocked, Failure, Stage};
use crate::pairing::Flow;

pub fn fix_for(b: &Blocked, flow: &Flow, _page_origin: &str, include: bool) -> String {
    let hop = &flow.hops[b.hop.min(flow.hops.len() - 1)];
    let method = &hop.exchange.request.method;
    let url = &b.url;
    let on = match b.stage {
        Stage::Preflight => format!("the OPTIONS (preflight) response of `{url}`"),
        Stage::Redirect => format!(
            "the {} redirect response of `{url}`",
            b.status.map_or_else(String::new, |s| s.to_string())
        ),
        _ => format!("the {method} response of `{url}`"),
    };
    let origin = &b.request_origin;
    let tainted = origin == "null";
    let allow_origin = if tainted {
        "`Access-Control-Allow-Origin: null` (the cross-origin redirect before it made the request's origin `null`), or `*` without credentials; better, link to the final URL directly".to_owned()
    } else if include {
        format!(
            "`Access-Control-Allow-Origin: {origin}` and `Access-Control-Allow-Credentials: true`"
        )
    } else {
        format!("`Access-Control-Allow-Origin: {origin}` (or `*` if the endpoint is public and needs no credentials)")
    };
    let error_status = b
        .status
        .filter(|s| *s >= 400)
        .map(|s| format!(", also on error responses (this one was {s})"))
        .unwrap_or_default();
    match &b.failure {
        Failure::AllowOriginMissing => format!("send {allow_origin} on {on}{error_status}, with `Vary: Origin` if the value depends on the request"),
        Failure::AllowOriginMultiple { value } => format!(
            "send exactly one origin in `Access-Control-Allow-Origin` on {on}: `{origin}` (it was `{value}`; a proxy or CDN adding a second header, or a list of origins, causes this — pick the request's Origin from an allow-list instead)"
        ),
        Failure::AllowOriginMismatch { value } | Failure::AllowOriginInvalid { value } => {
            let hint = if value.eq_ignore_ascii_case(origin) && value != origin {
                " (the comparison is case-sensitive)"
            } else if value.trim_end_matches('/') == origin {
                " (no trailing slash)"
            } else {
                ""
            };
            format!("send {allow_origin} on {on}; it sent `{value}`, which is not the page's origin byte for byte{hint}")
        }
        Failure::WildcardWithCredentials => format!(
            "on {on}, reply with the request's origin `{origin}` instead of `*` and add `Access-Control-Allow-Credentials: true` — or make the request without credentials (`credentials: 'omit'` / `withCredentials = false`)"
        ),
        Failure::AllowCredentialsNotTrue { value } => format!(
            "add `Access-Control-Allow-Credentials: true` (exactly, lower case) to {on}{} — or drop credentials from the request",
            value.as_ref().map_or_else(|| " (it was absent)".to_owned(), |v| format!(" (it was `{v}`)"))
        ),
        Failure::PreflightStatus => format!(
            "make the OPTIONS request to `{url}` answer 200 or 204 with the CORS headers (it answered {}): handle OPTIONS before authentication, routing or method checks",
            b.status.map_or_else(|| "an error".to_owned(), |s| s.to_string())
        ),
        Failure::PreflightRedirect => format!(
            "answer the OPTIONS request at `{url}` directly instead of redirecting it (preflights never follow redirects), or call the final URL from the page"
        ),
        Failure::AllowMethodsInvalid { raw, .. } => format!(
            "make `Access-Control-Allow-Methods` on {on} a comma-separated list of method names (it was `{raw}`), e.g. `Access-Control-Allow-Methods: GET, POST, {method}`"
        ),
        Failure::AllowHeadersInvalid { raw, .. } => format!(
            "make `Access-Control-Allow-Headers` on {on} a comma-separated list of header names (it was `{raw}`)"
        ),
        Failure::MethodNotAllowed { method } => {
            let mut s = format!("add `{method}` to `Access-Control-Allow-Methods` on {on}, e.g. `Access-Control-Allow-Methods: {method}`");
            s.push_str(" (method names are case-sensitive");
            if include {
                s.push_str("; with credentials `*` is not a wildcard");
            }
            s.push(')');
            s
        }
        Failure::HeaderNotAllowed { name, .. } => {
            let mut missing = vec![name.clone()];
            if let Some(pf) = &hop.preflight {
                let allowed = pf
                    .response
                    .as_ref()
                    .and_then(|r| r.headers.get_str("access-control-allow-headers"))
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                // Both lists come from the recording and may hold thousands of names: sets,
                // not a scan per name (issue 18).
                let allowed = NameSet::new(allowed.split(',').map(|n| n.trim().as_bytes()));
                let acrh = pf
                    .request
                    .headers
                    .get_str("access-control-request-headers")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let mut seen: HashSet<&str> = HashSet::from([name.as_str()]);
                for n in acrh.split(',').map(str::trim) {
                    if !n.is_empty() && !allowed.contains(n.as_bytes()) && seen.insert(n) {
                        missing.push(n.to_owned());
                    }
                }
            }
            let mut s = format!(
                "add `Access-Control-Allow-Headers: {}` to {on}",
                missing.join(", ")
            );
            if include {
                s.push_str(" (with credentials `*` is not a wildcard)");
            }
            s
        }
        Failure::RedirectCredentials { url, .. } => format!(
            "remove the user name and password from the redirect target `{url}` (sent by `{}`); cross-origin requests may not follow such redirects",
            b.url
        ),
        Failure::DisallowedByMode => "use `mode: 'cors'` for cross-origin requests (or make the request same-origin)".into(),
        Failure::DisabledScheme => format!("serve `{url}` over http or https; CORS requests only go to those schemes"),
    }
}
