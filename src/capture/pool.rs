//! Step 5a (pool): the credentials mode a request's TCP connection shows. Chromium keeps
//! credentialed and uncredentialed requests in separate socket pools (`PrivacyMode` in the
//! pool's group id; preflights are sent uncredentialed) and Firefox in separate connection
//! HTTP/1 connection entries (the anonymous flag; `LOAD_ANONYMOUS` for preflights and
//! uncredentialed CORS requests), so on a direct path every request on a connection that
//! carried a CORS preflight was sent without credentials, and every request on one that
//! carried a `Cookie` with them. WebKit shares one session for both, and Firefox one HTTP/2
//! session, so their connections say nothing (`SEPARATE_POOLS`); neither does a connection
//! through a proxy (its pool mixes browsers) nor one whose requests do not all fingerprint
//! (`fingerprint::wire_engine`) as the same engine over the same protocol.
//!
//! The output reorder stage (`Reorder`) observes every exchange here and holds a
//! connection's exchanges (bounded by [`HOLD_US`] of capture time) until its class is known,
//! then writes it to `Evidence::connection_credentials`.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::browser::Browser;
use crate::fingerprint::{RequestLines, Wire};
use crate::model::{Exchange, Micros};

/// How long (capture time) an exchange waits for its connection to show its class.
pub(crate) const HOLD_US: Micros = 30_000_000;
/// Connections remembered before those idle for two hold periods are forgotten.
const PRUNE_AT: usize = 4096;

/// The engines and protocols whose connections keep credentialed and uncredentialed requests
/// apart (one table). Chromium: `PrivacyMode` is part of both the HTTP/1 socket pool's group
/// id and the HTTP/2 `SpdySessionKey`. Firefox: the anonymous flag separates HTTP/1
/// connections, but an HTTP/2 session is shared by anonymous and non-anonymous requests
/// (Gecko's `test_anonymous-coalescing`; the tls-dev Firefox recordings carry a `Cookie` and
/// preflights on one HTTP/2 connection), so Firefox over HTTP/2 has no row. WebKit: none.
const SEPARATE_POOLS: &[(Browser, Wire)] = &[
    (Browser::Chromium, Wire::H1),
    (Browser::Firefox, Wire::H1),
    (Browser::Chromium, Wire::H2),
];

#[derive(Debug)]
struct Conn {
    family: Option<(Browser, Wire)>,
    /// Hash of the first request's User-Agent: a connection whose requests name different
    /// ones is shared by clients (an intermediary's pool), not one browser's.
    agent: u64,
    /// Every request so far fingerprinted as `family`, one of [`SEPARATE_POOLS`], with the
    /// same User-Agent, none came through a proxy.
    eligible: bool,
    preflight: bool,
    cookie: bool,
    last: Micros,
}

/// What each connection showed so far.
#[derive(Debug, Default)]
pub(crate) struct Pools {
    /// By connection id; looked up for every packet by the output stage (`Reorder`), so
    /// hashed with seeded foldhash rather than SipHash.
    conns: HashMap<u64, Conn, foldhash::fast::RandomState>,
    /// Size at which the next prune runs (twice what the last one kept): pruning stays
    /// amortised O(1) per call however many connections are live.
    prune_at: usize,
}

impl Pools {
    /// Takes in an exchange (at the time it is finished, before it is held for output).
    pub(crate) fn observe(&mut self, x: &Exchange) {
        let Some(id) = x.connection else {
            return;
        };
        // The lines read once for everything below. The User-Agent is hashed seeded like the
        // table: User-Agents cannot be chosen to collide.
        let lines = RequestLines::of(&x.request.headers);
        let hasher = self.conns.hasher().clone();
        let fingerprint = || {
            let pseudo = x.evidence.pseudo_order.as_ref();
            lines.wire_engine_and_agent(&x.request.headers, pseudo, &hasher)
        };
        let (c, first) = match self.conns.entry(id) {
            Entry::Occupied(o) => (o.into_mut(), None),
            Entry::Vacant(v) => {
                let (family, agent) = fingerprint();
                let c = v.insert(Conn {
                    family,
                    agent,
                    eligible: true,
                    preflight: false,
                    cookie: false,
                    last: x.time,
                });
                (c, Some((family, agent)))
            }
        };
        // A connection found ineligible stays so: its later requests need no fingerprint.
        if c.eligible {
            let (family, agent) = first.unwrap_or_else(fingerprint);
            c.eligible = family.is_some_and(|f| SEPARATE_POOLS.contains(&f))
                && family == c.family
                && agent == c.agent
                && x.evidence.via_proxy.is_none();
        }
        // A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
        c.preflight |= x.request.method == "OPTIONS" && lines.origin && lines.request_method;
        c.cookie |= lines.cookie;
        c.last = c.last.max(x.time);
    }

    /// The class of `x`'s connection: `Some(false)` uncredentialed, `Some(true)` credentialed,
    /// `None` when it cannot tell (yet).
    pub(crate) fn class(&self, x: &Exchange) -> Option<bool> {
        let c = self.conns.get(&x.connection?)?;
        match (c.eligible, c.preflight, c.cookie) {
            (true, true, false) => Some(false),
            (true, false, true) => Some(true),
            _ => None,
        }
    }

    /// Whether `x` still waits for its connection to show a class: it could still learn one.
    pub(crate) fn pending(&self, x: &Exchange) -> bool {
        x.connection
            .and_then(|id| self.conns.get(&id))
            .is_some_and(|c| c.eligible && !c.preflight && !c.cookie)
    }

    /// Forgets connections without an exchange for two hold periods before `now`, once many
    /// are remembered (memory follows live connections).
    /// Whether it pruned.
    pub(crate) fn prune(&mut self, now: Micros) -> bool {
        if self.conns.len() > self.prune_at.max(PRUNE_AT) {
            let cutoff = now.saturating_sub(2 * HOLD_US);
            self.conns.retain(|_, c| c.last >= cutoff);
            self.prune_at = 2 * self.conns.len();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::PseudoOrder;
    use crate::model::Headers;

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
        // The same over HTTP/2, written by `ua` with pseudo-headers in `order`.
        let h2 = |ua: &str, order: &[&str], method: &str, extra: &[(&str, &str)]| {
            let mut x = ex(1, method, extra, false);
            let mut headers = vec![("user-agent", ua), ("origin", "https://app.test")];
            headers.extend_from_slice(extra);
            x.request.headers = h(&headers);
            let mut p = PseudoOrder::default();
            order.iter().for_each(|n| p.push(n.as_bytes()));
            x.evidence.pseudo_order = Some(p);
            x
        };
        let pf = [("Access-Control-Request-Method", "PUT")];
        let cookie = [("Cookie", "a=1")];
        let chromium = [":method", ":authority", ":scheme", ":path"];
        let firefox = [":method", ":path", ":authority", ":scheme"];
        let webkit = [":method", ":scheme", ":authority", ":path"];
        let cases: [(Vec<Exchange>, Option<bool>, bool); 12] = [
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
            // HTTP/2: Chromium's session pool separates privacy modes too.
            (
                vec![
                    h2(CHROME, &chromium, "GET", &[]),
                    h2(CHROME, &chromium, "OPTIONS", &pf),
                ],
                Some(false),
                false,
            ),
            (
                vec![h2(CHROME, &chromium, "GET", &cookie)],
                Some(true),
                false,
            ),
            // Firefox shares an HTTP/2 session between both, WebKit everything: no class.
            (
                vec![
                    h2(FIREFOX, &firefox, "GET", &[]),
                    h2(FIREFOX, &firefox, "OPTIONS", &pf),
                ],
                None,
                false,
            ),
            (
                vec![
                    h2(WEBKIT, &webkit, "GET", &[]),
                    h2(WEBKIT, &webkit, "OPTIONS", &pf),
                ],
                None,
                false,
            ),
            // Two Chromium versions on one connection: an intermediary's pool, not a browser.
            (
                vec![
                    h2(CHROME, &chromium, "GET", &[]),
                    h2(&CHROME.replace("156", "155"), &chromium, "OPTIONS", &pf),
                ],
                None,
                false,
            ),
            // Chromium's User-Agent on a request not written like Chromium's HTTP/2.
            (
                vec![
                    h2(CHROME, &chromium, "GET", &[]),
                    h2(CHROME, &firefox, "OPTIONS", &pf),
                ],
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
}
