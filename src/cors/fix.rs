//! Concrete fixes written from a blocked flow's own values: which header, with which value, on
//! which response (the OPTIONS or the actual one) of which URL. The wording is the registry's
//! fix template of the failure kind (`registry::FIXES`); this module fills its placeholders.

use std::borrow::Cow;
use std::collections::HashSet;

use super::headers::NameSet;
use super::reason::{Blocked, Failure, Stage};
use super::registry;
use crate::model::{Flow, FlowHop};

/// `Access-Control-Max-Age` suggested for preflighted endpoints: Chromium's cap (Firefox honours
/// it, Safari caps it at 600 s); larger values only trip the audit.
pub(crate) const SUGGESTED_MAX_AGE: u64 = 7200;

pub(crate) fn fix_for(b: &Blocked, flow: &Flow, _page_origin: &str, include: bool) -> String {
    let hop = &flow.hops[b.hop.min(flow.hops.len() - 1)];
    let method = &hop.exchange.request.method;
    let url = &b.url;
    // Each text made only when the template names it, pieced together (the three were
    // `format!`ed for every fix, most of writing one).
    let on = || match b.stage {
        Stage::Preflight if actual_needs_it_too(&b.failure, hop) => cat(&[
            "the OPTIONS (preflight) response of `",
            url,
            "` and the ",
            method,
            " response after it",
        ]),
        Stage::Preflight => cat(&["the OPTIONS (preflight) response of `", url, "`"]),
        Stage::Redirect => {
            let mut digits = itoa::Buffer::new();
            let status = b.status.map_or("", |s| digits.format(s));
            cat(&["the ", status, " redirect response of `", url, "`"])
        }
        _ => cat(&["the ", method, " response of `", url, "`"]),
    };
    let origin = &b.request_origin;
    let tainted = origin == "null";
    let allow_origin = || -> Cow<str> {
        if tainted {
            Cow::Borrowed("`Access-Control-Allow-Origin: null` (the cross-origin redirect before it made the request's origin `null`), or `*` without credentials; better, link to the final URL directly")
        } else if include {
            Cow::Owned(cat(&[
                "`Access-Control-Allow-Origin: ",
                origin,
                "` and `Access-Control-Allow-Credentials: true`",
            ]))
        } else {
            Cow::Owned(cat(&[
                "`Access-Control-Allow-Origin: ",
                origin,
                "` (or `*` if the endpoint is public and needs no credentials)",
            ]))
        }
    };
    let error_status = || -> Cow<str> {
        match b.status.filter(|s| *s >= 400) {
            Some(s) => Cow::Owned(cat(&[
                ", also on error responses (this one was ",
                itoa::Buffer::new().format(s),
                ")",
            ])),
            None => Cow::Borrowed(""),
        }
    };
    let failure = &b.failure;
    let value = match failure {
        Failure::AllowOriginMultiple { value }
        | Failure::AllowOriginMismatch { value }
        | Failure::AllowOriginInvalid { value } => value.as_str(),
        _ => "",
    };
    let fill = |name: &str| -> Option<Cow<str>> {
        Some(match name {
            "on" => Cow::Owned(on()),
            "url" => Cow::Borrowed(url.as_str()),
            "origin" => Cow::Borrowed(origin.as_str()),
            "allow_origin" => allow_origin(),
            "error_status" => error_status(),
            "value" => Cow::Borrowed(value),
            "hint" => Cow::Borrowed(if value.eq_ignore_ascii_case(origin) && value != origin {
                " (the comparison is case-sensitive)"
            } else if value.trim_end_matches('/') == origin {
                " (no trailing slash)"
            } else {
                ""
            }),
            "was" => match failure {
                Failure::AllowCredentialsNotTrue { value: Some(v) } => {
                    Cow::Owned(format!(" (it was `{v}`)"))
                }
                _ => Cow::Borrowed(" (it was absent)"),
            },
            "answered" => b
                .status
                .map_or(Cow::Borrowed("an error"), |s| Cow::Owned(s.to_string())),
            "raw" => match failure {
                Failure::AllowMethodsInvalid { raw, .. }
                | Failure::AllowHeadersInvalid { raw, .. } => Cow::Borrowed(raw.as_str()),
                _ => return None,
            },
            "method" => match failure {
                Failure::MethodNotAllowed { method } => Cow::Borrowed(method.as_str()),
                _ => Cow::Borrowed(method.as_str()),
            },
            "missing" => match failure {
                Failure::HeaderNotAllowed { name, .. } => {
                    Cow::Owned(missing_headers(name, hop).join(", "))
                }
                _ => return None,
            },
            "target" => match failure {
                Failure::RedirectCredentials { url, .. } => Cow::Borrowed(url.as_str()),
                _ => return None,
            },
            "star_note" => Cow::Borrowed(if include {
                "; with credentials `*` is not a wildcard"
            } else {
                ""
            }),
            "star_paren" => Cow::Borrowed(if include {
                " (with credentials `*` is not a wildcard)"
            } else {
                ""
            }),
            _ => return None,
        })
    };
    registry::render(registry::fix_template(failure.kind()), fill)
}

/// The pieces one after another, in one allocation.
fn cat(pieces: &[&str]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for p in pieces {
        out.push_str(p);
    }
    out
}

/// Whether the actual response of `hop` needs the header a failed preflight lacked as well: the
/// browser checks `Access-Control-Allow-Origin` (and, with credentials,
/// `Access-Control-Allow-Credentials`) again on it, so unless the recorded actual response
/// already carries an acceptable one, the fix names both responses.
fn actual_needs_it_too(failure: &Failure, hop: &FlowHop) -> bool {
    let header = match failure {
        Failure::AllowOriginMissing
        | Failure::AllowOriginMultiple { .. }
        | Failure::AllowOriginMismatch { .. }
        | Failure::AllowOriginInvalid { .. }
        | Failure::WildcardWithCredentials => "access-control-allow-origin",
        Failure::AllowCredentialsNotTrue { .. } => "access-control-allow-credentials",
        _ => return false,
    };
    let value = hop
        .exchange
        .response
        .as_ref()
        .and_then(|r| r.headers.get_str(header));
    match (failure, value.as_deref().map(str::trim)) {
        (_, None) => true,
        (Failure::WildcardWithCredentials, Some(v)) => v == "*",
        (Failure::AllowCredentialsNotTrue { .. }, Some(v)) => v != "true",
        _ => false,
    }
}

/// Every header name the hop's preflight announced that its answer did not allow, the failing
/// one first, in the order announced.
fn missing_headers(name: &str, hop: &FlowHop) -> Vec<String> {
    let mut missing = vec![name.to_owned()];
    if let Some(pf) = &hop.preflight {
        let allowed = pf
            .response
            .as_ref()
            .and_then(|r| r.headers.get_str("access-control-allow-headers"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        // Both lists come from the recording and may hold thousands of names: sets, not a
        // scan per name (issue 18).
        let allowed = NameSet::new(allowed.split(',').map(|n| n.trim().as_bytes()));
        let acrh = pf
            .request
            .headers
            .get_str("access-control-request-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut seen: HashSet<&str> = HashSet::from([name]);
        for n in acrh.split(',').map(str::trim) {
            if !n.is_empty() && !allowed.contains(n.as_bytes()) && seen.insert(n) {
                missing.push(n.to_owned());
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{test_exchange as x, Flavour};

    const U: &str = "http://api.test:8081/r";
    const O: &str = "http://app.test:8080";

    /// A failed preflight's fix names the actual response too, unless the recorded actual
    /// response already carries an acceptable header.
    #[test]
    fn preflight_fix_names_every_response_that_needs_the_header() {
        let missing = Failure::AllowOriginMissing;
        let wildcard = Failure::WildcardWithCredentials;
        let acac = Failure::AllowCredentialsNotTrue { value: None };
        let method = Failure::MethodNotAllowed {
            method: "PUT".into(),
        };
        /// (failure, the recorded actual response's headers, whether the fix names it).
        type Case<'a> = (&'a Failure, Option<&'a [(&'a str, &'a str)]>, bool);
        let cases: [Case; 8] = [
            (&missing, None, true),
            (&missing, Some(&[]), true),
            (&missing, Some(&[("Access-Control-Allow-Origin", O)]), false),
            (
                &wildcard,
                Some(&[("Access-Control-Allow-Origin", "*")]),
                true,
            ),
            (
                &wildcard,
                Some(&[("Access-Control-Allow-Origin", O)]),
                false,
            ),
            (
                &acac,
                Some(&[("Access-Control-Allow-Credentials", "TRUE")]),
                true,
            ),
            (
                &acac,
                Some(&[("Access-Control-Allow-Credentials", "true")]),
                false,
            ),
            // Only the preflight answers the method.
            (&method, None, false),
        ];
        for (failure, actual, both) in cases {
            let hop = FlowHop {
                exchange: x(
                    Flavour::DevTools,
                    "PUT",
                    U,
                    &[("Origin", O)],
                    actual.map(|h| (200, h)),
                    None,
                ),
                sent: true,
                preflight: None,
            };
            assert_eq!(actual_needs_it_too(failure, &hop), both, "{actual:?}");
            let flow = Flow {
                client: "c".into(),
                flavour: Flavour::DevTools,
                hops: vec![hop],
            };
            let b = Blocked {
                failure: failure.clone(),
                stage: Stage::Preflight,
                status: Some(204),
                url: U.into(),
                location: None,
                request_origin: O.into(),
                hop: 0,
            };
            let fix = fix_for(&b, &flow, O, false);
            assert!(fix.contains("OPTIONS (preflight) response"), "{fix}");
            assert_eq!(fix.contains("PUT response after it"), both, "{fix}");
        }
    }
}
