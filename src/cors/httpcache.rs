//! What the browser's HTTP cache may hold: responses a later request to the same URL could be
//! answered from without the network, so that a capture missing the request after its preflight
//! shows nothing about the request (recorded: tests/data/probe-httpcache `hc-preflighted-2`,
//! where all three browsers sent the preflight and took the response from their cache).
//!
//! The freshness rules are RFC 9111's (§4.2): `Cache-Control: max-age`, else `Expires` less
//! `Date`, else a tenth of the time since `Last-Modified` (Chromium's and Firefox's heuristic),
//! less `Age`. `no-store`, `no-cache` (a revalidation goes over the network, where it is seen)
//! and `Vary: *` store nothing reusable.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::model::{Flow, Micros, Response};

/// URLs remembered over all resolvers: the oldest is forgotten first, which can only leave a
/// request's absence read as the browser's decision where the cache might have answered it.
pub(crate) const URLS: usize = 4096;

/// Status codes a cache may store without explicit freshness (RFC 9110 §15.1, "heuristically
/// cacheable").
pub(crate) const HEURISTIC: [u16; 12] =
    [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501];

/// A (client, URL) key, borrowed: hashed as the owned key's tuple is (each `str` in turn).
#[derive(Hash)]
struct UrlOf<'a>(&'a str, &'a str);

impl hashbrown::Equivalent<(Arc<str>, Box<str>)> for UrlOf<'_> {
    fn equivalent(&self, (client, url): &(Arc<str>, Box<str>)) -> bool {
        *self.0 == **client && *self.1 == **url
    }
}

/// A stored response: until when it is fresh, and whom its CORS answer is for.
struct Stored {
    until: Micros,
    /// The one origin the response allows (empty: none), where another Origin may be answered
    /// differently: its `Access-Control-Allow-Origin` is not `*` and its `Vary` does not list
    /// `Origin`, so the cache hands it to a request from any origin.
    for_origin: Option<Box<[u8]>>,
}

/// Per (client, URL): until when a stored response may answer a request without the network.
pub(crate) struct HttpCacheHints {
    stored: hashbrown::HashMap<(Arc<str>, Box<str>), Stored, foldhash::fast::RandomState>,
    order: VecDeque<(Arc<str>, Box<str>)>,
    cap: usize,
}

impl HttpCacheHints {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            stored: hashbrown::HashMap::default(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Keeps the freshness of every `GET` response of `flow` the browser could reuse.
    pub(crate) fn record(&mut self, flow: &Flow) {
        for hop in &flow.hops {
            let x = &hop.exchange;
            let Some(resp) = x.response.as_ref() else {
                continue;
            };
            if !hop.sent || x.request.method != "GET" {
                continue;
            }
            let Some(lifetime) = lifetime(resp, x.time) else {
                continue;
            };
            let stored = Stored {
                until: x.time.saturating_add(lifetime),
                for_origin: answered_origin(resp).map(Box::from),
            };
            match self.stored.get_mut(&UrlOf(&flow.client, &x.request.url)) {
                Some(t) => *t = stored,
                None => {
                    let key = (
                        flow.client.clone(),
                        Box::<str>::from(x.request.url.as_str()),
                    );
                    self.stored.insert(key.clone(), stored);
                    self.order.push_back(key);
                    while self.order.len() > self.cap {
                        if let Some(old) = self.order.pop_front() {
                            self.stored.remove(&old);
                        }
                    }
                }
            }
        }
    }

    /// Whether a response stored for `client`'s `url` may still have been fresh at `at`.
    pub(crate) fn may_answer(&self, client: &str, url: &str, at: Micros) -> bool {
        self.fresh(client, url, at).is_some()
    }

    /// The origin a stored response still fresh at `at` allows (empty: none), where the cache
    /// would hand it to a request from `origin` that it does not allow (another origin's
    /// answer, without `Vary: Origin`): a browser that took it from its cache fails the CORS
    /// check where the network's answer may have passed.
    pub(crate) fn answer_for_another_origin(
        &self,
        client: &str,
        url: &str,
        at: Micros,
        origin: &[u8],
    ) -> Option<&[u8]> {
        let allowed = self.fresh(client, url, at)?.for_origin.as_deref()?;
        (allowed != origin).then_some(allowed)
    }

    fn fresh(&self, client: &str, url: &str, at: Micros) -> Option<&Stored> {
        if self.stored.is_empty() {
            return None;
        }
        self.stored
            .get(&UrlOf(client, url))
            .filter(|s| at < s.until)
    }
}

/// The one origin `resp` allows for whichever origin the cache hands it to (see
/// [`Stored::for_origin`]); empty where it allows none. `None` where its answer is the same
/// for every origin (`*`) or the cache keeps one per origin (`Vary: Origin`).
fn answered_origin(resp: &Response) -> Option<&[u8]> {
    let h = &resp.headers;
    if h.get_value("vary").is_some_and(|v| list_has(&v, "origin")) {
        return None;
    }
    match h.first("access-control-allow-origin") {
        Some(v) => Some(crate::model::trim_http_ws(v)).filter(|v| *v != b"*"),
        None => Some(b""),
    }
}

/// How long `resp` (received at `at`) stays fresh, in microseconds; `None` where the browser
/// cannot reuse it without the network.
fn lifetime(resp: &Response, at: Micros) -> Option<Micros> {
    let h = &resp.headers;
    // `Cache-Control` first: most API answers say `no-store`, and that settles it.
    let cc = h.get_value("cache-control");
    let cc = cc.as_deref().unwrap_or_default();
    if list_has(cc, "no-store") || list_has(cc, "no-cache") {
        return None;
    }
    if h.get_value("vary").is_some_and(|v| list_has(&v, "*")) {
        return None;
    }
    let secs = |b: &[u8]| std::str::from_utf8(b).ok()?.trim().parse::<i64>().ok();
    let date = |name: &str| {
        let v = h.get_value(name)?;
        let t = httpdate::parse_http_date(std::str::from_utf8(&v).ok()?.trim()).ok()?;
        let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
        i64::try_from(d.as_micros()).ok()
    };
    // The response's own clock where it has one: `Expires` and `Last-Modified` are the server's.
    let now = date("date").unwrap_or(at);
    let fresh = if let Some(age) = directive(cc, "max-age") {
        secs(age)?.saturating_mul(1_000_000)
    } else if h.get_value("expires").is_some() {
        // An `Expires` that does not parse is in the past (RFC 9111 §5.3).
        date("expires")?.saturating_sub(now)
    } else if HEURISTIC.contains(&resp.status) {
        date("last-modified")?.saturating_sub(now).saturating_neg() / 10
    } else {
        return None;
    };
    let age = h
        .get_value("age")
        .and_then(|a| secs(&a))
        .unwrap_or(0)
        .saturating_mul(1_000_000);
    Some(fresh.saturating_sub(age)).filter(|&l| l > 0)
}

/// Whether comma-separated `list` has the token `name` (directive names are case-insensitive).
fn list_has(list: &[u8], name: &str) -> bool {
    list.split(|&b| b == b',')
        .any(|d| directive_name(d).eq_ignore_ascii_case(name.as_bytes()))
}

/// The value of directive `name` in comma-separated `list` (`max-age=600`, `max-age="600"`).
fn directive<'a>(list: &'a [u8], name: &str) -> Option<&'a [u8]> {
    list.split(|&b| b == b',').find_map(|d| {
        let (n, v) = d.split_at(d.iter().position(|&b| b == b'=')?);
        let v = crate::model::trim_http_ws(&v[1..]);
        let v = v
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(v);
        crate::model::trim_http_ws(n)
            .eq_ignore_ascii_case(name.as_bytes())
            .then_some(v)
    })
}

fn directive_name(d: &[u8]) -> &[u8] {
    let end = d.iter().position(|&b| b == b'=').unwrap_or(d.len());
    crate::model::trim_http_ws(&d[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            status_text: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                .collect(),
        }
    }

    const DATE: &str = "Tue, 01 Dec 2026 10:00:00 GMT";
    const S: Micros = 1_000_000;

    /// RFC 9111 §4.2 as the browsers apply it.
    #[test]
    fn lifetimes() {
        let at = 0;
        type Case<'a> = (u16, &'a [(&'a str, &'a str)], Option<Micros>);
        let cases: &[Case] = &[
            (200, &[("Cache-Control", "max-age=600")], Some(600 * S)),
            (
                200,
                &[("Cache-Control", "public, MAX-AGE=\"60\"")],
                Some(60 * S),
            ),
            (
                200,
                &[("Cache-Control", "max-age=600"), ("Age", "100")],
                Some(500 * S),
            ),
            (
                200,
                &[("Cache-Control", "max-age=60"), ("Age", "100")],
                None,
            ),
            (200, &[("Cache-Control", "max-age=0")], None),
            (200, &[("Cache-Control", "max-age=600, no-store")], None),
            (
                200,
                &[("Cache-Control", "no-cache"), ("ETag", "\"v1\"")],
                None,
            ),
            (
                200,
                &[("Cache-Control", "max-age=600"), ("Vary", "Origin, *")],
                None,
            ),
            (200, &[("Cache-Control", "max-age=x")], None),
            (500, &[("Cache-Control", "max-age=60")], Some(60 * S)),
            (
                200,
                &[("Date", DATE), ("Expires", "Tue, 01 Dec 2026 11:00:00 GMT")],
                Some(3600 * S),
            ),
            (200, &[("Date", DATE), ("Expires", "0")], None),
            (200, &[("Date", DATE), ("Expires", DATE)], None),
            // max-age wins over Expires.
            (
                200,
                &[
                    ("Date", DATE),
                    ("Expires", "0"),
                    ("Cache-Control", "max-age=5"),
                ],
                Some(5 * S),
            ),
            // A tenth of the time since Last-Modified (10 hours: 1 hour).
            (
                200,
                &[
                    ("Date", DATE),
                    ("Last-Modified", "Tue, 01 Dec 2026 00:00:00 GMT"),
                ],
                Some(3600 * S),
            ),
            (
                500,
                &[
                    ("Date", DATE),
                    ("Last-Modified", "Tue, 01 Dec 2026 00:00:00 GMT"),
                ],
                None,
            ),
            (200, &[("Date", DATE)], None),
            (200, &[], None),
        ];
        for (status, headers, want) in cases {
            assert_eq!(
                lifetime(&response(*status, headers), at),
                *want,
                "{status} {headers:?}"
            );
        }
    }

    /// A fresh answer stored without `Vary: Origin` is handed to every origin: what it allows.
    #[test]
    fn answers_kept_for_another_origin() {
        use crate::model::{test_exchange, Flavour, FlowHop};
        let url = "http://api.test/r";
        let page = b"http://app.test".as_slice();
        let (other, none) = (Some(b"http://other.test".as_slice()), Some(b"".as_slice()));
        // (the stored answer's CORS headers, what a request from `page` is told)
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a [u8]>);
        let cases: [Case; 6] = [
            (
                &[("Access-Control-Allow-Origin", "http://other.test")],
                other,
            ),
            (&[], none),
            (&[("Access-Control-Allow-Origin", "http://app.test")], None),
            (&[("Access-Control-Allow-Origin", "*")], None),
            (
                &[
                    ("Access-Control-Allow-Origin", "http://other.test"),
                    ("Vary", "Accept, origin"),
                ],
                None,
            ),
            (
                &[
                    ("Access-Control-Allow-Origin", "http://other.test"),
                    ("Vary", "Accept"),
                ],
                other,
            ),
        ];
        for (cors, want) in cases {
            let mut headers = vec![("Cache-Control", "max-age=60")];
            headers.extend_from_slice(cors);
            let x = test_exchange(
                Flavour::Capture,
                "GET",
                url,
                &[],
                Some((200, &headers)),
                None,
            );
            let flow = Flow {
                client: Arc::from("c"),
                flavour: Flavour::Capture,
                hops: vec![FlowHop {
                    exchange: x,
                    sent: true,
                    preflight: None,
                }],
            };
            let mut hints = HttpCacheHints::new(4);
            hints.record(&flow);
            assert_eq!(
                hints.answer_for_another_origin("c", url, S, page),
                want,
                "{cors:?}"
            );
            assert_eq!(
                hints.answer_for_another_origin("c", url, 61 * S, page),
                None
            );
        }
    }

    /// Only a `GET` answered fresh, for the same client and URL, before it went stale.
    #[test]
    fn hints_by_client_url_and_time() {
        use crate::model::{test_exchange, Flavour, FlowHop};
        let url = "http://api.test/r?x=1";
        let flow = |client: &str, method: &str, cc: &str| {
            let mut x = test_exchange(
                Flavour::Capture,
                method,
                url,
                &[("Origin", "http://app.test")],
                Some((200, &[("Cache-Control", cc)])),
                None,
            );
            x.time = 10 * S;
            Flow {
                client: Arc::from(client),
                flavour: Flavour::Capture,
                hops: vec![FlowHop {
                    exchange: x,
                    sent: true,
                    preflight: None,
                }],
            }
        };
        let mut hints = HttpCacheHints::new(2);
        hints.record(&flow("a", "GET", "max-age=60"));
        hints.record(&flow("b", "POST", "max-age=60"));
        hints.record(&flow("c", "GET", "no-store"));
        assert!(hints.may_answer("a", url, 69 * S));
        assert!(!hints.may_answer("a", url, 70 * S));
        assert!(!hints.may_answer("a", "http://api.test/r?x=2", 20 * S));
        assert!(!hints.may_answer("b", url, 20 * S));
        assert!(!hints.may_answer("c", url, 20 * S));
        // The bound: the oldest URL is forgotten first.
        hints.record(&flow("d", "GET", "max-age=60"));
        hints.record(&flow("e", "GET", "max-age=60"));
        assert!(!hints.may_answer("a", url, 20 * S));
        assert!(hints.may_answer("e", url, 20 * S));
    }
}
