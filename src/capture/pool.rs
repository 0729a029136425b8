//! Step 5a (pool): the credentials mode a request's TCP connection shows. Chromium keeps
//! credentialed and uncredentialed requests in separate socket pools (`PrivacyMode` in the
//! pool's group id; preflights are sent uncredentialed) and Firefox in separate connection
//! entries (the anonymous flag; `LOAD_ANONYMOUS` for preflights and uncredentialed CORS
//! requests), so on a direct path every request on a connection that carried a CORS preflight
//! was sent without credentials, and every request on one that carried a `Cookie` with them.
//! WebKit shares one session for both, so its connections say nothing; neither does a
//! connection through a proxy (its pool mixes browsers) nor one whose requests do not all
//! fingerprint as the same Chromium or Gecko client.
//!
//! The output reorder stage (`Reorder`) observes every exchange here and holds a
//! connection's exchanges (bounded by [`HOLD_US`] of capture time) until its class is known,
//! then writes it to `Evidence::connection_credentials`.

use std::collections::HashMap;

use crate::model::{Exchange, Headers, Micros};

/// How long (capture time) an exchange waits for its connection to show its class.
pub const HOLD_US: Micros = 30_000_000;
/// Connections remembered before those idle for two hold periods are forgotten.
const PRUNE_AT: usize = 4096;

/// A browser engine, identified from how its HTTP/1.1 requests are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Chromium,
    Gecko,
}

/// The client engine of a request, from its fingerprint (header order) and its User-Agent
/// agreeing: Chromium writes `Host` then `Connection`, Gecko `Host` then `User-Agent`. Anything
/// else (WebKit writes `Host` last and `Connection: Keep-Alive`; tools, proxies) is `None`.
pub fn client_family(headers: &Headers) -> Option<Family> {
    let mut names = headers.iter().map(|(n, _)| n);
    if !names.next()?.eq_ignore_ascii_case(b"host") {
        return None;
    }
    let second = names.next()?;
    let ua = headers.get_str("user-agent")?;
    let keep_alive = headers
        .get_str("connection")
        .is_some_and(|v| v.trim() == "keep-alive");
    if second.eq_ignore_ascii_case(b"connection")
        && keep_alive
        && (ua.contains("Chrome/") || ua.contains("Chromium/"))
        && !ua.contains("Firefox/")
    {
        Some(Family::Chromium)
    } else if second.eq_ignore_ascii_case(b"user-agent")
        && ua.contains("Gecko/")
        && ua.contains("Firefox/")
    {
        Some(Family::Gecko)
    } else {
        None
    }
}

/// A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
fn is_preflight(x: &Exchange) -> bool {
    x.request.method == "OPTIONS"
        && x.request.headers.contains("origin")
        && x.request.headers.contains("access-control-request-method")
}

#[derive(Debug)]
struct Conn {
    family: Option<Family>,
    /// Every request so far fingerprinted as `family`, none came through a proxy.
    eligible: bool,
    preflight: bool,
    cookie: bool,
    last: Micros,
}

/// What each connection showed so far.
#[derive(Debug, Default)]
pub struct Pools {
    conns: HashMap<u64, Conn>,
    /// Size at which the next prune runs (twice what the last one kept): pruning stays
    /// amortised O(1) per call however many connections are live.
    prune_at: usize,
}

impl Pools {
    /// Takes in an exchange (at the time it is finished, before it is held for output).
    pub fn observe(&mut self, x: &Exchange) {
        let Some(id) = x.connection else {
            return;
        };
        let family = client_family(&x.request.headers);
        let c = self.conns.entry(id).or_insert(Conn {
            family,
            eligible: true,
            preflight: false,
            cookie: false,
            last: x.time,
        });
        c.eligible &= family.is_some() && family == c.family && x.evidence.via_proxy.is_none();
        c.preflight |= is_preflight(x);
        c.cookie |= x.request.headers.contains("cookie");
        c.last = c.last.max(x.time);
    }

    /// The class of `x`'s connection: `Some(false)` uncredentialed, `Some(true)` credentialed,
    /// `None` when it cannot tell (yet).
    pub fn class(&self, x: &Exchange) -> Option<bool> {
        let c = self.conns.get(&x.connection?)?;
        match (c.eligible, c.preflight, c.cookie) {
            (true, true, false) => Some(false),
            (true, false, true) => Some(true),
            _ => None,
        }
    }

    /// Whether `x` still waits for its connection to show a class: it could still learn one.
    pub fn pending(&self, x: &Exchange) -> bool {
        x.connection
            .and_then(|id| self.conns.get(&id))
            .is_some_and(|c| c.eligible && !c.preflight && !c.cookie)
    }

    /// Forgets connections without an exchange for two hold periods before `now`, once many
    /// are remembered (memory follows live connections).
    pub fn prune(&mut self, now: Micros) {
        if self.conns.len() > self.prune_at.max(PRUNE_AT) {
            let cutoff = now.saturating_sub(2 * HOLD_US);
            self.conns.retain(|_, c| c.last >= cutoff);
            self.prune_at = 2 * self.conns.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(list: &[(&str, &str)]) -> Headers {
        list.iter().map(|(n, v)| (*n, *v)).collect()
    }

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0";
    const WEBKIT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15";

    /// Classes as the connection's exchanges show them: a preflight makes it uncredentialed,
    /// a Cookie credentialed, both or a non-browser or proxied request nothing; before any of
    /// that it is pending.
    #[test]
    fn connection_classes() {
        let ex = |conn: u64, method: &str, extra: &[(&str, &str)], via_proxy: bool| {
            let mut h = vec![
                ("Host", "api.test"),
                ("Connection", "keep-alive"),
                ("User-Agent", CHROME),
                ("Origin", "http://app.test"),
            ];
            h.extend_from_slice(extra);
            let mut x = crate::model::test_exchange(
                crate::model::Flavour::Capture,
                method,
                "http://api.test/r",
                &h,
                None,
                None,
            );
            x.connection = Some(conn);
            x.evidence.via_proxy = via_proxy.then(|| "10.0.0.1:1".to_owned());
            x
        };
        let pf = [("Access-Control-Request-Method", "PUT")];
        let cookie = [("Cookie", "a=1")];
        let cases: [(Vec<Exchange>, Option<bool>, bool); 6] = [
            (vec![ex(1, "GET", &[], false)], None, true),
            (
                vec![ex(1, "GET", &[], false), ex(1, "OPTIONS", &pf, false)],
                Some(false),
                false,
            ),
            (vec![ex(1, "GET", &cookie, false)], Some(true), false),
            (
                vec![ex(1, "GET", &cookie, false), ex(1, "OPTIONS", &pf, false)],
                None,
                false,
            ),
            (vec![ex(1, "OPTIONS", &pf, true)], None, false),
            (
                vec![ex(1, "OPTIONS", &pf, false), {
                    let mut w = ex(1, "GET", &[], false);
                    w.request.headers = h(&[("User-Agent", WEBKIT), ("Host", "api.test")]);
                    w
                }],
                None,
                false,
            ),
        ];
        for (i, (xs, class, pending)) in cases.into_iter().enumerate() {
            let mut p = Pools::default();
            for x in &xs {
                p.observe(x);
            }
            assert_eq!(p.class(&xs[0]), class, "case {i}");
            assert_eq!(p.pending(&xs[0]), pending, "case {i}");
        }
    }

    #[test]
    fn fingerprints_table() {
        let cases: [(Headers, Option<Family>); 6] = [
            (
                h(&[
                    ("Host", "a"),
                    ("Connection", "keep-alive"),
                    ("User-Agent", CHROME),
                ]),
                Some(Family::Chromium),
            ),
            (
                h(&[
                    ("Host", "a"),
                    ("User-Agent", FIREFOX),
                    ("Connection", "keep-alive"),
                ]),
                Some(Family::Gecko),
            ),
            // WebKitGTK: Host last, `Keep-Alive`.
            (
                h(&[
                    ("User-Agent", WEBKIT),
                    ("Connection", "Keep-Alive"),
                    ("Host", "a"),
                ]),
                None,
            ),
            // A Chrome User-Agent on a request not written like Chromium's (a tool copying it).
            (
                h(&[("Host", "a"), ("User-Agent", CHROME), ("Accept", "*/*")]),
                None,
            ),
            // Chromium's order with a Safari User-Agent: the two disagree.
            (
                h(&[
                    ("Host", "a"),
                    ("Connection", "keep-alive"),
                    ("User-Agent", WEBKIT),
                ]),
                None,
            ),
            (h(&[("Host", "a")]), None),
        ];
        for (headers, want) in cases {
            assert_eq!(client_family(&headers), want, "{headers:?}");
        }
    }
}
