//! Step 4a (proxy): requests that reached the capture through a reverse proxy, TLS terminator
//! or load balancer. Such a request names the browser in `X-Forwarded-For` / `Forwarded` /
//! `X-Real-IP` and carries headers the proxy added on the way, which the page never set and the
//! browser never judged: the browser's address becomes the exchange's client, the scheme and
//! host the browser used (`X-Forwarded-Proto` / `-Host`, `Forwarded: proto=;host=`) its URL,
//! and the proxy's headers leave the request (kept in `Evidence::proxy_headers`).

use std::net::IpAddr;

use crate::model::{escape_bytes, trim_http_ws, Headers, NameList};

/// Headers that show a request came through a proxy.
const FORWARDING: [&str; 4] = ["x-forwarded-for", "forwarded", "x-real-ip", "via"];

/// Headers proxies and load balancers add (exact names), beyond the prefixes below. Only
/// removed from requests that show a proxy ([`FORWARDING`]); a page that sets one of these
/// itself announces it in its preflight, which stays authoritative.
const ADDED: [&str; 17] = [
    "forwarded",
    "via",
    "x-real-ip",
    "x-request-id",
    "x-correlation-id",
    "x-request-start",
    "x-scheme",
    "x-original-uri",
    "x-original-url",
    "x-original-forwarded-for",
    "true-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "fastly-client-ip",
    "x-cloud-trace-context",
    "x-azure-clientip",
    "x-azure-socketip",
];

/// Prefixes of proxy-added header families (nginx/HAProxy/Traefik, Envoy, AWS ALB, Cloudflare).
const ADDED_PREFIXES: [&str; 5] = ["x-forwarded-", "x-envoy-", "x-amzn-", "cf-", "x-arr-"];

/// What a proxied request says about the browser behind the proxy.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Forwarded {
    /// The browser's address (the first hop of the forwarding chain), when it names one.
    pub client: Option<String>,
    /// The scheme the browser used (`https`, `http`), when stated.
    pub proto: Option<String>,
    /// The host the browser addressed, when the proxy rewrote `Host` and kept the original.
    pub host: Option<String>,
    /// The proxy's headers, removed from the request.
    pub added: Headers,
}

impl Forwarded {
    /// The URL the browser requested: `url` (as built from the proxied request) with the
    /// scheme and host the proxy reported.
    pub(crate) fn browser_url(&self, url: &str, target: &str) -> String {
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_owned();
        };
        let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            // Absolute form: the proxy is a forward proxy and the URL is the browser's own.
            return url.to_owned();
        }
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let scheme = self.proto.as_deref().unwrap_or(scheme);
        let host = self.host.as_deref().unwrap_or(host);
        format!("{scheme}://{host}{path}")
    }
}

/// Whether a header name (any case) is one proxies add ([`ADDED`], [`ADDED_PREFIXES`]): what
/// [`unwrap`] takes out of a capture's proxied request, and what the engine sets aside in
/// inputs whose requests keep them (a HAR recorded behind a proxy).
pub(crate) fn is_proxy_added(name: &[u8]) -> bool {
    ADDED
        .iter()
        .any(|a| name.eq_ignore_ascii_case(a.as_bytes()))
        || ADDED_PREFIXES.iter().any(|p| {
            name.get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes()))
        })
}

/// The first element of a comma-separated header value, trimmed.
fn first_element(v: &[u8]) -> &[u8] {
    trim_http_ws(v.split(|b| *b == b',').next().unwrap_or(&[]))
}

/// An address as `X-Forwarded-For` / `Forwarded: for=` write it: `1.2.3.4`, `1.2.3.4:5`,
/// `"[2001:db8::1]:4711"`, `2001:db8::1`. Obfuscated identifiers and `unknown` give `None`.
fn parse_addr(v: &[u8]) -> Option<String> {
    let s = escape_bytes(trim_http_ws(v));
    let s = s.trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    let host = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next()?
    } else {
        s.rsplit_once(':').map_or(s, |(h, _)| h)
    };
    host.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// `Forwarded` (RFC 7239): the first element's `for`, `proto` and `host` parameters.
fn forwarded_params(v: &[u8]) -> (Option<String>, Option<String>, Option<String>) {
    let (mut client, mut proto, mut host) = (None, None, None);
    for pair in first_element(v).split(|b| *b == b';') {
        let pair = trim_http_ws(pair);
        let Some(eq) = pair.iter().position(|b| *b == b'=') else {
            continue;
        };
        let (name, value) = (&pair[..eq], &pair[eq + 1..]);
        let value_str = escape_bytes(value).trim_matches('"').to_owned();
        if name.eq_ignore_ascii_case(b"for") {
            client = parse_addr(value);
        } else if name.eq_ignore_ascii_case(b"proto") {
            proto = Some(value_str.to_ascii_lowercase());
        } else if name.eq_ignore_ascii_case(b"host") {
            host = Some(value_str);
        }
    }
    (client, proto, host)
}

/// Whether a header name shows a proxy ([`FORWARDING`]): this runs for every request header.
pub(crate) fn is_forwarding(name: &[u8]) -> bool {
    const LIST: NameList = NameList::new(&FORWARDING);
    LIST.contains(name)
}

/// Splits a request's headers when it shows a proxy (`shown`: a name is [`is_forwarding`],
/// found by the caller's one pass over the names): returns what the proxy said about the
/// browser and leaves only the browser's headers in `headers`. `None` for a direct request.
pub(crate) fn unwrap(headers: &mut Headers, shown: bool) -> Option<Forwarded> {
    if !shown {
        return None;
    }
    let mut fwd = Forwarded::default();
    if let Some(v) = headers.first("forwarded") {
        (fwd.client, fwd.proto, fwd.host) = forwarded_params(v);
    }
    if fwd.client.is_none() {
        fwd.client = headers
            .first("x-forwarded-for")
            .or_else(|| headers.first("x-real-ip"))
            .and_then(|v| parse_addr(first_element(v)));
    }
    if fwd.proto.is_none() {
        fwd.proto = headers
            .first("x-forwarded-proto")
            .map(|v| escape_bytes(first_element(v)).to_ascii_lowercase());
    }
    if fwd.host.is_none() {
        fwd.host = headers
            .first("x-forwarded-host")
            .map(|v| escape_bytes(first_element(v)));
    }
    fwd.proto = fwd.proto.filter(|p| p == "http" || p == "https");
    fwd.host = fwd.host.filter(|h| !h.is_empty());
    let mut kept = Headers::with_capacity(headers.len(), 0);
    for (name, value) in headers.iter() {
        if is_proxy_added(name) {
            fwd.added.push(name, value);
        } else {
            kept.push(name, value);
        }
    }
    *headers = kept;
    Some(fwd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[(&str, &str)]) -> Headers {
        h.iter().map(|(n, v)| (*n, *v)).collect()
    }

    /// [`unwrap`] as the capture calls it, with its own pass over the names.
    fn unwrap_all(h: &mut Headers) -> Option<Forwarded> {
        let shown = h.iter().any(|(n, _)| is_forwarding(n));
        unwrap(h, shown)
    }

    #[test]
    fn forwarding_headers_table() {
        // (request headers, client, proto, host, headers left)
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            &'a [&'a str],
        );
        let cases: [Case; 7] = [
            (
                &[
                    ("Host", "api.test"),
                    ("X-Forwarded-For", "192.0.2.7, 10.0.0.1"),
                    ("X-Forwarded-Proto", "https"),
                    ("Origin", "https://app.test"),
                ],
                Some("192.0.2.7"),
                Some("https"),
                None,
                &["Host", "Origin"],
            ),
            (
                &[
                    ("Host", "backend:8080"),
                    (
                        "Forwarded",
                        "for=\"[2001:db8::1]:4711\";proto=https;host=api.test, for=10.0.0.2",
                    ),
                    ("X-Request-Id", "abc"),
                ],
                Some("2001:db8::1"),
                Some("https"),
                Some("api.test"),
                &["Host"],
            ),
            (
                &[("X-Real-IP", "198.51.100.3"), ("X-Custom", "1")],
                Some("198.51.100.3"),
                None,
                None,
                &["X-Custom"],
            ),
            (
                &[("Via", "1.1 varnish"), ("CF-Ray", "x"), ("Accept", "*/*")],
                None,
                None,
                None,
                &["Accept"],
            ),
            (
                &[
                    ("X-Forwarded-For", "unknown"),
                    ("X-Forwarded-Proto", "gopher"),
                ],
                None,
                None,
                None,
                &[],
            ),
            (
                &[("Forwarded", "for=_hidden;proto=http")],
                None,
                Some("http"),
                None,
                &[],
            ),
            (
                &[("X-Forwarded-For", "203.0.113.9:5123")],
                Some("203.0.113.9"),
                None,
                None,
                &[],
            ),
        ];
        for (h, client, proto, host, left) in cases {
            let mut hs = headers(h);
            let f = unwrap_all(&mut hs).expect("proxied");
            assert_eq!(f.client.as_deref(), client, "{h:?}");
            assert_eq!(f.proto.as_deref(), proto, "{h:?}");
            assert_eq!(f.host.as_deref(), host, "{h:?}");
            let names: Vec<String> = hs.iter().map(|(n, _)| escape_bytes(n)).collect();
            assert_eq!(names, left.to_vec(), "{h:?}");
        }
    }

    #[test]
    fn browser_url_takes_scheme_and_host_from_the_proxy() {
        let f = Forwarded {
            proto: Some("https".into()),
            host: Some("api.test".into()),
            ..Forwarded::default()
        };
        assert_eq!(
            f.browser_url("http://backend:8080/s/x?q=1", "/s/x?q=1"),
            "https://api.test/s/x?q=1"
        );
        assert_eq!(
            f.browser_url("http://a.test/x", "http://a.test/x"),
            "http://a.test/x"
        );
        let only_proto = Forwarded {
            proto: Some("https".into()),
            ..Forwarded::default()
        };
        assert_eq!(
            only_proto.browser_url("http://api.test:8441/r", "/r"),
            "https://api.test:8441/r"
        );
    }

    #[test]
    fn direct_requests_keep_everything() {
        // X-Request-Id alone (a page may set it) does not show a proxy.
        let mut hs = headers(&[("Host", "a"), ("X-Request-Id", "1")]);
        assert_eq!(unwrap_all(&mut hs), None);
        assert_eq!(hs.len(), 2);
    }
}
