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

use crate::model::{Exchange, Flow, Headers, Micros, Response};

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
    /// Its header list, where it has a validator (`ETag`, `Last-Modified`): a `304` to the
    /// browser's revalidation updates these, and the CORS check reads the result
    /// ([`HttpCacheHints::revalidated`]).
    headers: Option<Box<Headers>>,
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
            // Kept while fresh, or, stale at once (`no-cache`, `max-age=0`), for a
            // revalidation to update.
            let lifetime = lifetime(resp, x.time);
            // Only a CORS request's (with `Origin`): what a later CORS revalidation merges.
            let cors = x.request.headers.contains("origin");
            let headers = (cors && revalidatable(resp)).then(|| Box::new(resp.headers.clone()));
            if lifetime.is_none() && headers.is_none() {
                continue;
            }
            let stored = Stored {
                until: x.time.saturating_add(lifetime.unwrap_or(0)),
                for_origin: answered_origin(resp).map(Box::from),
                headers,
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

    /// The header list the CORS check reads for `x`, where `x` is the browser's revalidation
    /// of a stored response (a `GET` with `If-None-Match` or `If-Modified-Since` answered
    /// `304`, its preflight, if any, not announcing them: validators a page sets itself make
    /// the fetch bypass the cache, Fetch's HTTP-network-or-cache fetch): the stored response's
    /// headers updated with the `304`'s (RFC 9111 §4.3.4; Fetch hands the updated stored
    /// response to the CORS check). `Some(None)`: a revalidation whose stored response is not
    /// in the input; `None`: not a revalidation.
    pub(crate) fn revalidated(
        &self,
        client: &str,
        x: &Exchange,
        preflight: Option<&Exchange>,
    ) -> Option<Option<Headers>> {
        let resp = x.response.as_ref().filter(|r| r.status == 304)?;
        let req = &x.request;
        if req.method != "GET" || !VALIDATORS.iter().any(|v| req.headers.contains(v)) {
            return None;
        }
        let announced = preflight
            .and_then(|p| {
                p.request
                    .headers
                    .get_value("access-control-request-headers")
            })
            .is_some_and(|acrh| VALIDATORS.iter().any(|v| list_has(&acrh, v)));
        if announced {
            return None;
        }
        let stored = self.stored.get(&UrlOf(client, &req.url));
        let Some(stored) = stored.and_then(|s| s.headers.as_deref()) else {
            return Some(None);
        };
        let mut merged = stored.clone();
        merged.retain(|name, _| {
            !resp
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        });
        for (n, v) in resp.headers.iter() {
            merged.push(n, v);
        }
        Some(Some(merged))
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

/// The request headers of a revalidation (a conditional `GET`).
const VALIDATORS: [&str; 2] = ["if-none-match", "if-modified-since"];

/// Whether the browser keeps `resp` to revalidate: a status it stores, a validator, and no
/// `no-store`.
fn revalidatable(resp: &Response) -> bool {
    let h = &resp.headers;
    HEURISTIC.contains(&resp.status)
        && (h.contains("etag") || h.contains("last-modified"))
        && !h
            .get_value("cache-control")
            .is_some_and(|cc| list_has(&cc, "no-store"))
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

    /// The hints after a `GET` of `url` with `req` headers, answered `200` with `resp` headers.
    fn stored(url: &str, req: &[(&str, &str)], resp: &[(&str, &str)]) -> HttpCacheHints {
        use crate::model::{test_exchange, Flavour, FlowHop};
        let x = test_exchange(Flavour::Capture, "GET", url, req, Some((200, resp)), None);
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
        hints
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
            let hints = stored(url, &[], &headers);
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

    /// A `304` to the browser's revalidation reads as the stored response updated with it
    /// (only a CORS request's response with a validator is kept for that); validators a page
    /// set itself (announced by its preflight) bypass the cache.
    #[test]
    fn a_304_to_a_revalidation_reads_as_the_stored_response_updated() {
        use crate::model::{test_exchange, Flavour};
        let url = "http://api.test/c";
        let acao = ("Access-Control-Allow-Origin", "http://app.test");
        let stored_with = |headers: &[(&str, &str)], origin: bool| {
            let req: &[(&str, &str)] = if origin {
                &[("Origin", "http://app.test")]
            } else {
                &[]
            };
            stored(url, req, headers)
        };
        let validated = [acao, ("ETag", "\"v1\""), ("Cache-Control", "max-age=0")];
        let conditional = [("Origin", "http://app.test"), ("If-None-Match", "\"v1\"")];
        let revalidation = |resp: &[(&str, &str)]| {
            test_exchange(
                Flavour::Capture,
                "GET",
                url,
                &conditional,
                Some((304, resp)),
                None,
            )
        };
        let pf = |acrh: &str| {
            let req = [
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", acrh),
            ];
            test_exchange(
                Flavour::Capture,
                "OPTIONS",
                url,
                &req,
                Some((204, &[])),
                None,
            )
        };
        let acao_of = |r: Option<Option<Headers>>| {
            r.map(|h| h.and_then(|h| h.get_str("access-control-allow-origin")))
        };
        let app = Some(Some("http://app.test".to_owned()));
        // (what, stored, 304 headers, preflight, the Access-Control-Allow-Origin read)
        type Case<'a> = (
            &'a str,
            HttpCacheHints,
            Vec<(&'a str, &'a str)>,
            Option<Exchange>,
            Option<Option<String>>,
        );
        let cases: Vec<Case> = vec![
            (
                "304 without ACAO keeps the stored one",
                stored_with(&validated, true),
                vec![],
                None,
                app.clone(),
            ),
            (
                "304's ACAO replaces it",
                stored_with(&validated, true),
                vec![("Access-Control-Allow-Origin", "*")],
                None,
                Some(Some("*".into())),
            ),
            (
                "no stored response",
                HttpCacheHints::new(4),
                vec![],
                None,
                Some(None),
            ),
            (
                "stored without a validator",
                stored_with(&[acao], true),
                vec![],
                None,
                Some(None),
            ),
            (
                "stored from a request without Origin",
                stored_with(&validated, false),
                vec![],
                None,
                Some(None),
            ),
            (
                "validator announced by the page's preflight",
                stored_with(&validated, true),
                vec![],
                Some(pf("if-none-match")),
                None,
            ),
            (
                "other headers announced",
                stored_with(&validated, true),
                vec![],
                Some(pf("x-a")),
                app.clone(),
            ),
        ];
        for (what, hints, resp, preflight, want) in cases {
            let x = revalidation(&resp);
            let got = acao_of(hints.revalidated("c", &x, preflight.as_ref()));
            assert_eq!(got, want, "{what}");
        }
        // A 200, or a request without a validator, is no revalidation.
        let hints = stored_with(&validated, true);
        let plain = test_exchange(
            Flavour::Capture,
            "GET",
            url,
            &conditional,
            Some((200, &[])),
            None,
        );
        assert!(hints.revalidated("c", &plain, None).is_none());
        let bare = test_exchange(Flavour::Capture, "GET", url, &[], Some((304, &[])), None);
        assert!(hints.revalidated("c", &bare, None).is_none());
    }
}
