//! Pairing: turns the time-ordered exchange stream into flows — a request with the preflight
//! that guarded it and the redirect hops that followed — keyed by (client, URL, method) and
//! decided within a bounded time window, so memory follows the window and not the input.

use std::sync::Arc;

use crate::model::{Exchange, Flavour, Micros};

/// One request of a redirect chain, with its preflight.
#[derive(Clone, Debug)]
pub struct FlowHop {
    /// The request and its response. For a preflight that was never followed, a request
    /// rebuilt from the preflight (method from `Access-Control-Request-Method`, no response).
    pub exchange: Exchange,
    /// `false` when the request itself never appeared (rebuilt from its preflight).
    pub sent: bool,
    pub preflight: Option<Exchange>,
}

/// What the page asked for, as one unit: the first request and every redirect hop after it.
#[derive(Clone, Debug)]
pub struct Flow {
    pub hops: Vec<FlowHop>,
    pub client: Arc<str>,
    pub flavour: Flavour,
}

impl Flow {
    pub fn first(&self) -> &FlowHop {
        // A flow is only ever built with at least one hop (see `Pairer::build_flow`).
        &self.hops[0]
    }

    pub fn last(&self) -> &FlowHop {
        &self.hops[self.hops.len() - 1]
    }

    pub fn time(&self) -> Micros {
        self.first().exchange.time
    }
}

use std::collections::{BTreeMap, HashMap};

use crate::model::Response;

/// How far apart a preflight and its request may be: browsers send the request as soon as the
/// preflight's answer arrives, so seconds are plenty; the window only guards against pairing
/// with an unrelated later request to the same URL.
pub const FOLLOW_WINDOW: Micros = 10_000_000;
/// DevTools-style HARs log a request a moment *before* the preflight it triggered.
pub const PREFLIGHT_LOOKAHEAD: Micros = 2_000_000;
/// How long an exchange waits in the pairing buffer before it is decided; also how late
/// (out of time order) an exchange may arrive and still be paired.
pub const HORIZON: Micros = 15_000_000;

#[derive(Clone, Debug)]
pub struct PairingOptions {
    pub follow_window: Micros,
    pub lookahead: Micros,
    pub horizon: Micros,
}

impl Default for PairingOptions {
    fn default() -> Self {
        Self {
            follow_window: FOLLOW_WINDOW,
            lookahead: PREFLIGHT_LOOKAHEAD,
            horizon: HORIZON,
        }
    }
}

type Slot = (Micros, u64);

struct Pending {
    x: Exchange,
    preflight_for: Option<String>,
    claimed: bool,
    /// Normalized URL, the index key.
    url: String,
}

/// Whether an exchange is a CORS preflight: OPTIONS with `Origin` and
/// `Access-Control-Request-Method` (cors.md 1.5). Returns the requested method.
pub fn preflight_method(x: &Exchange) -> Option<String> {
    if !x.request.method.eq_ignore_ascii_case("OPTIONS") {
        return None;
    }
    let acrm = crate::model::escape_bytes(crate::model::trim_http_ws(
        x.request.headers.first("access-control-request-method")?,
    ));
    if x.request.headers.contains("origin")
        || x.evidence.resource_type.as_deref() == Some("preflight")
    {
        Some(acrm)
    } else {
        None
    }
}

fn normalize_url(u: &str) -> String {
    url::Url::parse(u).map_or_else(|_| u.to_owned(), |p| p.to_string())
}

/// Streaming pairer: push exchanges (roughly in time order), receive flows.
pub struct Pairer {
    opts: PairingOptions,
    buf: BTreeMap<Slot, Pending>,
    by_url: HashMap<(Arc<str>, String), Vec<Slot>>,
    latest: Micros,
    next_id: u64,
}

impl Pairer {
    pub fn new(opts: PairingOptions) -> Self {
        Self {
            opts,
            buf: BTreeMap::new(),
            by_url: HashMap::new(),
            latest: Micros::MIN,
            next_id: 0,
        }
    }

    /// Exchanges currently held (for memory accounting and tests).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    pub fn push(&mut self, x: Exchange, out: &mut dyn FnMut(Flow)) {
        let slot = (x.time, self.next_id);
        self.next_id += 1;
        self.latest = self.latest.max(x.time);
        let url = normalize_url(&x.request.url);
        self.by_url
            .entry((x.client.clone(), url.clone()))
            .or_default()
            .push(slot);
        let preflight_for = preflight_method(&x);
        self.buf.insert(
            slot,
            Pending {
                x,
                preflight_for,
                claimed: false,
                url,
            },
        );
        let cutoff = self.latest.saturating_sub(self.opts.horizon);
        while let Some((&front, _)) = self.buf.first_key_value() {
            if front.0 >= cutoff {
                break;
            }
            self.finalize_front(out);
        }
    }

    pub fn finish(&mut self, out: &mut dyn FnMut(Flow)) {
        while !self.buf.is_empty() {
            self.finalize_front(out);
        }
    }

    fn remove(&mut self, slot: Slot) -> Option<Pending> {
        let p = self.buf.remove(&slot)?;
        let key = (p.x.client.clone(), p.url.clone());
        if let Some(v) = self.by_url.get_mut(&key) {
            v.retain(|s| *s != slot);
            if v.is_empty() {
                self.by_url.remove(&key);
            }
        }
        Some(p)
    }

    fn candidates(&self, client: &Arc<str>, url: &str) -> Vec<Slot> {
        self.by_url
            .get(&(client.clone(), url.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    fn origins_compatible(a: &Exchange, b: &Exchange) -> bool {
        match (
            a.request.headers.get_str("origin"),
            b.request.headers.get_str("origin"),
        ) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
    }

    /// The unclaimed preflight for `actual` (at `slot`), searched from `from` to `to` in time,
    /// nearest first, skipping a preflight that another unclaimed request is nearer to.
    fn find_preflight(&self, slot: Slot, from: Micros, to: Micros) -> Option<Slot> {
        let a = &self.buf.get(&slot)?;
        let mut best: Option<(Micros, Slot)> = None;
        for s in self.candidates(&a.x.client, &a.url) {
            let Some(p) = self.buf.get(&s) else { continue };
            if p.claimed || s == slot || s.0 < from || s.0 > to {
                continue;
            }
            if p.preflight_for.as_deref() != Some(a.x.request.method.as_str())
                || !Self::origins_compatible(&p.x, &a.x)
            {
                continue;
            }
            let d = (s.0 - slot.0).abs();
            let nearer_request = self.candidates(&a.x.client, &a.url).into_iter().any(|o| {
                o != slot
                    && self.buf.get(&o).is_some_and(|q| {
                        !q.claimed
                            && q.preflight_for.is_none()
                            && q.x.request.method == a.x.request.method
                            && (o.0 - s.0).abs() < d
                            && o.0 >= s.0 - self.opts.lookahead
                    })
            });
            if nearer_request {
                continue;
            }
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, s));
            }
        }
        best.map(|(_, s)| s)
    }

    /// The request a preflight at `slot` guarded: the nearest unclaimed request after it.
    fn find_actual(&self, slot: Slot) -> Option<Slot> {
        let p = self.buf.get(&slot)?;
        let method = p.preflight_for.as_deref()?;
        let window =
            self.opts.follow_window + p.x.timings.total_ms.map_or(0, |ms| (ms * 1000.0) as Micros);
        self.candidates(&p.x.client, &p.url)
            .into_iter()
            .filter(|s| *s > slot && s.0 <= slot.0 + window)
            .filter(|s| {
                self.buf.get(s).is_some_and(|a| {
                    !a.claimed
                        && a.preflight_for.is_none()
                        && a.x.request.method == method
                        && Self::origins_compatible(&p.x, &a.x)
                })
            })
            .min()
    }

    /// The next hop of a redirect: the first unclaimed request to the Location URL.
    fn find_next_hop(&self, from: &Exchange, resp: &Response) -> Option<Slot> {
        let location = resp.location()?;
        let target = crate::cors::origin::resolve_location(&from.request.url, &location)?;
        let target = target.to_string();
        self.candidates(&from.client, &target)
            .into_iter()
            .filter(|s| s.0 >= from.time && s.0 <= from.time + self.opts.follow_window)
            .filter(|s| {
                self.buf
                    .get(s)
                    .is_some_and(|n| !n.claimed && n.preflight_for.is_none())
            })
            .min()
    }

    fn finalize_front(&mut self, out: &mut dyn FnMut(Flow)) {
        let Some((&front, _)) = self.buf.first_key_value() else {
            return;
        };
        let Some(p) = self.buf.get(&front) else {
            return;
        };
        if p.claimed {
            self.remove(front);
            return;
        }
        if p.preflight_for.is_some() {
            match self.find_actual(front) {
                Some(actual) => {
                    if let Some(pf) = self.remove(front) {
                        let flow = self.build_flow(actual, Some(pf.x));
                        out(flow);
                    }
                }
                None => {
                    if let Some(pf) = self.remove(front) {
                        out(never_followed(pf.x, pf.preflight_for.unwrap_or_default()));
                    }
                }
            }
            return;
        }
        let flow = self.build_flow(front, None);
        out(flow);
    }

    /// Builds the flow starting at the request in `slot`, claiming its preflight and its
    /// redirect hops (and theirs) from the buffer.
    fn build_flow(&mut self, slot: Slot, preflight: Option<Exchange>) -> Flow {
        let mut hops = Vec::new();
        let mut current = Some((slot, preflight));
        while let Some((s, pf)) = current.take() {
            let pf = pf.or_else(|| {
                let ps = self.find_preflight(
                    s,
                    s.0 - self.opts.follow_window,
                    s.0 + self.opts.lookahead,
                )?;
                self.remove(ps).map(|p| p.x)
            });
            let Some(pending) = self.remove(s) else { break };
            let next = pending
                .x
                .response
                .as_ref()
                .and_then(|r| self.find_next_hop(&pending.x, r));
            if let Some(n) = next {
                if let Some(np) = self.buf.get_mut(&n) {
                    np.claimed = false;
                }
                current = Some((n, None));
            }
            hops.push(FlowHop {
                exchange: pending.x,
                sent: true,
                preflight: pf,
            });
            if hops.len() > 20 {
                // Fetch's redirect limit (`#http-redirect-fetch` step 5).
                break;
            }
        }
        let first = &hops[0].exchange;
        Flow {
            client: first.client.clone(),
            flavour: first.flavour,
            hops,
        }
    }
}

/// A flow for a preflight whose request never appeared: the request is rebuilt from what the
/// preflight announced (method, URL, origin), with no response.
fn never_followed(pf: Exchange, method: String) -> Flow {
    let mut headers = crate::model::Headers::new();
    if let Some(o) = pf.request.headers.first("origin") {
        headers.push(b"Origin", o);
    }
    let request = crate::model::Request {
        method,
        url: pf.request.url.clone(),
        http_version: pf.request.http_version.clone(),
        headers,
    };
    let exchange = Exchange {
        loc: pf.loc.clone(),
        seq: pf.seq,
        time: pf.time,
        client: pf.client.clone(),
        connection: pf.connection,
        flavour: pf.flavour,
        request,
        response: None,
        timings: Default::default(),
        evidence: crate::model::Evidence {
            page_origin: pf.evidence.page_origin.clone(),
            ..Default::default()
        },
    };
    Flow {
        client: pf.client.clone(),
        flavour: pf.flavour,
        hops: vec![FlowHop {
            exchange,
            sent: false,
            preflight: Some(pf),
        }],
    }
}
