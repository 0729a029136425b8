//! Pairing: turns the time-ordered exchange stream into flows — a request with the preflight
//! that guarded it and the redirect hops that followed — keyed by (client, URL, method) and
//! decided within a bounded time window, so memory follows the window and not the input.

use crate::model::loss::LossLog;
use crate::model::{Exchange, Micros};
use crate::slab::Slab;
use std::sync::Arc;

pub use crate::model::{Flow, FlowHop};

use std::collections::BTreeMap;

use crate::diag::{Diagnostics, WarnKind};
use crate::model::Response;

/// How far apart a preflight and its request may be: browsers send the request as soon as the
/// preflight's answer arrives, so seconds are plenty; the window only guards against pairing
/// with an unrelated later request to the same URL.
pub(crate) const FOLLOW_WINDOW: Micros = 10_000_000;
/// A capture that ends this soon after a preflight's answer cannot show that the request
/// never followed: browsers send it at once (at most 3 ms after the answer in every recorded
/// pair of the corpus, all three browsers), but on a connection of its own it waits for the
/// connection's handshakes (TCP and TLS 1.3: two round trips, 600 ms over a 300 ms path).
/// (Pairing's own window, [`FOLLOW_WINDOW`], would leave every blocking preflight in a
/// capture's last 10 s undecided: the one a user reproduced just before stopping the capture;
/// the probe's recordings stop 0.6-2 s after their last request.)
pub(crate) const END_WINDOW: Micros = 1_000_000;
/// DevTools-style HARs log a request a moment *before* the preflight it triggered.
pub(crate) const PREFLIGHT_LOOKAHEAD: Micros = 2_000_000;
/// How long an exchange waits in the pairing buffer before it is decided; also how late
/// (out of time order) an exchange may arrive and still be paired.
pub(crate) const HORIZON: Micros = 15_000_000;
/// Exchanges to one URL (per client) waiting in the buffer: beyond it the oldest of them is
/// decided early (`limit-pairing-url`). Real traffic stays far below (a preflight's request
/// follows it at once); the limit keeps every candidate search short when a hostile or odd
/// input repeats one URL at one timestamp (a HAR without `startedDateTime`), which otherwise
/// makes pairing quadratic.
pub(crate) const MAX_PENDING_PER_URL: usize = 128;
/// Exchanges waiting in the buffer at all: beyond it the oldest is decided early
/// (`limit-pairing-buffer`). Bounds memory when timestamps do not advance.
pub(crate) const MAX_PENDING_EXCHANGES: usize = 65_536;
/// Bytes the waiting exchanges may hold together ([`Exchange::held_bytes`]): beyond it the
/// oldest is decided early (`limit-pairing-buffer`). The count alone let a hostile input
/// (64 KiB heads on every exchange) hold 65 536 × 128 KiB = 8 GiB; real traffic's exchanges
/// are about 1-2 KiB (the 4 GB generated capture holds at most ~20 MB here).
pub(crate) const MAX_PENDING_BYTES: usize = 128 << 20;

/// Options and limits for pairing. The limits default to the `pub const` of the same name;
/// hitting one is counted in the pairer's `Diagnostics` ([`Pairer::take_diagnostics`]).
#[derive(Clone, Debug)]
pub struct PairingOptions {
    pub follow_window: Micros,
    pub lookahead: Micros,
    pub horizon: Micros,
    pub max_pending_per_url: usize,
    pub max_pending: usize,
    pub max_pending_bytes: usize,
    /// The exchanges arrive in time order and the input is finite (a HAR read by
    /// `input::har`): nothing arrives late, so an exchange waits only as long as its partners
    /// can be away (see [`PairingOptions::for_time_ordered`]).
    pub time_ordered: bool,
    /// A capture's record of what it lost (`CaptureOptions::losses`, the same one): a
    /// preflight without its request asks it whether the request may have been lost.
    pub losses: Option<Arc<LossLog>>,
}

/// The longest a preflight's own duration extends how long it waits for its request in a
/// time-ordered input (a hostile `time` must not hold the whole input in memory).
pub(crate) const MAX_PREFLIGHT_HOLD: Micros = 60_000_000;

impl PairingOptions {
    /// Options for a finite input read in time order (a HAR): the pairing windows are the
    /// browsers' own (not `--pairing-window`, which sizes the streaming buffer), and an
    /// exchange waits until every partner it can have (its preflight, its request, each hop
    /// of its redirect chain and that hop's preflight) would have arrived. Since the input is
    /// sorted, pairing then gives the same flows whatever order the file listed them in.
    /// The memory limits are kept.
    pub(crate) fn for_time_ordered(&self) -> Self {
        PairingOptions {
            follow_window: FOLLOW_WINDOW,
            lookahead: PREFLIGHT_LOOKAHEAD,
            horizon: 3 * FOLLOW_WINDOW + PREFLIGHT_LOOKAHEAD,
            time_ordered: true,
            ..self.clone()
        }
    }
}

impl Default for PairingOptions {
    fn default() -> Self {
        Self {
            follow_window: FOLLOW_WINDOW,
            lookahead: PREFLIGHT_LOOKAHEAD,
            horizon: HORIZON,
            max_pending_per_url: MAX_PENDING_PER_URL,
            max_pending: MAX_PENDING_EXCHANGES,
            max_pending_bytes: MAX_PENDING_BYTES,
            time_ordered: false,
            losses: None,
        }
    }
}

type Slot = (Micros, u64);

struct Pending {
    x: Exchange,
    /// `x.held_bytes()` when it arrived: what leaving gives back to [`Pairer::bytes`].
    bytes: usize,
    preflight_for: Option<String>,
    claimed: bool,
    /// The normalized URL when it is not the request's URL as written (most are: see
    /// [`is_plain_url`]), so most exchanges wait without a copy of their URL.
    normalized: Option<Box<str>>,
    /// The index key of (client, normalized URL) ([`Pairer::key`]).
    key: u64,
}

impl Pending {
    /// The normalized URL, the index's.
    fn url(&self) -> &str {
        self.normalized.as_deref().unwrap_or(&self.x.request.url)
    }

    /// Whether this exchange is `client`'s to the normalized `url`.
    fn is(&self, client: &str, url: &str) -> bool {
        *self.x.client == *client && self.url() == url
    }
}

/// Whether an exchange is a CORS preflight (`Exchange::preflight_acrm`). Returns the
/// requested method.
pub(crate) fn preflight_method(x: &Exchange) -> Option<String> {
    let acrm = x.preflight_acrm()?;
    Some(crate::model::escape_bytes(crate::model::trim_http_ws(acrm)))
}

/// `u` as the URL parser writes it, when that may differ from `u` (`None`: `u` is it).
fn normalized(u: &str) -> Option<Box<str>> {
    if is_plain_url(u) {
        return None;
    }
    // Without its fragment, which no request carries: chrome-har lists a redirect's next
    // request with the `Location`'s fragment, a DevTools export without it
    // (`origin::redirect_request_url`; probe-variants2 `r-302-fragment`).
    Some(url::Url::parse(u).map_or_else(
        |_| u.into(),
        |mut p| {
            p.set_fragment(None);
            String::from(p).into()
        },
    ))
}

/// Whether `u` is already what the URL parser would write back, so pairing need not parse
/// it (a full parse per exchange was a tenth of pairing's cost): lower-case `http` or
/// `https`, a lower-case DNS name (no IP address, no IDNA label, no empty label) with no
/// port or a plain non-default one, and a path (and query) of characters that are never
/// escaped, with no dot segment. Anything else takes the parser; `tests::plain_urls_are_
/// what_the_parser_writes` checks this against it.
fn is_plain_url(u: &str) -> bool {
    // The scheme and authority are checked as for an origin; the path must follow at once.
    crate::origin::plain_origin(u)
        .is_some_and(|origin| crate::origin::is_plain_path(&u.as_bytes()[origin.len()..]))
}

/// The waiting slots of one (client, URL), in push order. Most URLs have one exchange waiting
/// at a time (real traffic's URLs are mostly distinct): that one is kept without a vector.
enum Slots {
    One(Slot),
    Many(Vec<Slot>),
}

impl Slots {
    fn push(&mut self, slot: Slot) {
        match self {
            Slots::One(first) => *self = Slots::Many(vec![*first, slot]),
            Slots::Many(v) => v.push(slot),
        }
    }

    /// Removes `slot`; whether none is left.
    fn remove(&mut self, slot: Slot) -> bool {
        match self {
            Slots::One(s) => *s == slot,
            Slots::Many(v) => {
                v.retain(|s| *s != slot);
                v.is_empty()
            }
        }
    }

    fn as_slice(&self) -> &[Slot] {
        match self {
            Slots::One(s) => std::slice::from_ref(s),
            Slots::Many(v) => v,
        }
    }
}

/// Streaming pairer: push exchanges (roughly in time order), receive flows.
///
/// Times are arbitrary 64-bit values (captures can carry saturated timestamps), so every
/// window computation saturates.
pub struct Pairer {
    opts: PairingOptions,
    /// The waiting exchanges' places in `slab`, by slot. An exchange is several hundred
    /// bytes and the tree moves its entries about on every insert and remove, so the tree
    /// holds only where each one is.
    buf: BTreeMap<Slot, usize>,
    /// The waiting exchanges, in reused places, where a box for each exchange was an
    /// allocation and a free per exchange.
    slab: Slab<Pending>,
    /// Per (client, URL) key ([`Pairer::key`]): the waiting slots, in push order (so sorted
    /// by `Slot.1`), never more than `max_pending_per_url` of one (client, URL). A key is a
    /// hash, so the index owns no copy of the strings; the exchanges of another (client, URL)
    /// with the same hash are told apart by their own strings ([`Pairer::candidates`]).
    by_url: hashbrown::HashMap<u64, Slots, foldhash::fast::RandomState>,
    /// Seeded (the keys come from the input).
    keys: foldhash::fast::RandomState,
    /// Every key the same, so every lookup meets other URLs' exchanges (tests).
    #[cfg(test)]
    same_keys: bool,
    latest: Micros,
    next_id: u64,
    /// The waiting exchanges' [`Pending::bytes`], together.
    bytes: usize,
    /// Waiting exchanges a browser may have sent again ([`is_resendable`]): while no other
    /// waits, a new exchange looks for no attempt to fold ([`Pairer::fold_attempt`]).
    resendable: usize,
    diag: Diagnostics,
}

impl Pairer {
    pub fn new(opts: PairingOptions) -> Self {
        Self {
            opts,
            buf: BTreeMap::new(),
            slab: Slab::default(),
            by_url: hashbrown::HashMap::default(),
            keys: foldhash::fast::RandomState::default(),
            #[cfg(test)]
            same_keys: false,
            latest: Micros::MIN,
            next_id: 0,
            bytes: 0,
            resendable: 0,
            diag: Diagnostics::new(),
        }
    }

    /// Exchanges currently held (for memory accounting and tests).
    pub(crate) fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The limits hit so far (`limit-pairing-url`, `limit-pairing-buffer`), for the caller
    /// to merge into the input's diagnostics.
    pub(crate) fn take_diagnostics(&mut self) -> Diagnostics {
        std::mem::take(&mut self.diag)
    }

    pub fn push(&mut self, x: Exchange, out: &mut dyn FnMut(Flow)) {
        let slot = (x.time, self.next_id);
        self.next_id += 1;
        self.latest = self.latest.max(x.time);
        let normalized = normalized(&x.request.url);
        let preflight_for = preflight_method(&x);
        let key = self.key(&x.client, normalized.as_deref().unwrap_or(&x.request.url));
        let (client, source) = (x.client.clone(), x.loc.source.clone());
        let max_url = self.opts.max_pending_per_url.max(2);
        let bytes = x.held_bytes();
        self.bytes += bytes;
        let resendable = is_resendable(&x);
        self.resendable += usize::from(resendable);
        let at = self.slab.insert(Pending {
            x,
            bytes,
            preflight_for,
            claimed: false,
            normalized,
            key,
        });
        self.buf.insert(slot, at);
        // Another resendable exchange waits (rarely): only then can this one be its retry.
        if self.resendable > usize::from(resendable) {
            self.fold_attempt(slot);
        }
        // Whether this key now has too many waiting (its count known here: no second search).
        let over = match self.by_url.get_mut(&key) {
            Some(v) => {
                v.push(slot);
                v.as_slice().len() > max_url
            }
            None => {
                self.by_url.insert(key, Slots::One(slot));
                false
            }
        };
        // Too many waiting for this URL: decide the oldest of them now (see the limit's doc).
        // (Its URL copied only here, as the exchange may be decided in the loop.)
        let url = over
            .then(|| self.get(&slot).map(|p| p.url().to_owned()))
            .flatten();
        while let Some(oldest) = url
            .as_deref()
            .and_then(|url| self.oldest_past(&client, url, max_url))
        {
            let url = url.as_deref().unwrap_or_default();
            self.diag.warn(WarnKind::LimitPairingUrl, || {
                format!(
                    "{source}: more than {max_url} exchanges of {client} to {url} waiting at once; the oldest are paired early"
                )
            });
            self.finalize(oldest, out);
        }
        let cutoff = self.latest.saturating_sub(self.opts.horizon);
        while let Some((front, p)) = self.first() {
            // In a time-ordered input a preflight also waits out its own duration, as its
            // request may follow only after the answer (`find_actual`'s window).
            let hold = match (&p.preflight_for, self.opts.time_ordered) {
                (Some(_), true) => {
                    p.x.timings
                        .total_ms
                        .map_or(0, |ms| (ms * 1000.0) as Micros)
                        .clamp(0, MAX_PREFLIGHT_HOLD)
                }
                _ => 0,
            };
            let waiting = front.0.saturating_add(hold) >= cutoff;
            let over_count = self.buf.len() > self.opts.max_pending.max(1);
            if waiting && !over_count && self.bytes <= self.opts.max_pending_bytes {
                break;
            }
            if waiting {
                let (max, max_bytes) = (self.opts.max_pending, self.opts.max_pending_bytes);
                self.diag.warn(WarnKind::LimitPairingBuffer, || {
                    if over_count {
                        format!(
                            "{source}: more than {max} exchanges within the pairing window; the oldest are paired early"
                        )
                    } else {
                        format!(
                            "{source}: the exchanges within the pairing window hold more than {max_bytes} bytes; the oldest are paired early"
                        )
                    }
                });
            }
            self.finalize(front, out);
        }
    }

    pub fn finish(&mut self, out: &mut dyn FnMut(Flow)) {
        while let Some((&front, _)) = self.buf.first_key_value() {
            self.finalize(front, out);
        }
    }

    /// The exchange waiting at `slot`.
    fn get(&self, slot: &Slot) -> Option<&Pending> {
        self.buf.get(slot).and_then(|&at| self.slab.get(at))
    }

    /// The oldest exchange waiting, with its slot.
    fn first(&self) -> Option<(Slot, &Pending)> {
        let (&slot, &at) = self.buf.first_key_value()?;
        Some((slot, self.slab.get(at)?))
    }

    fn remove(&mut self, slot: Slot) -> Option<Pending> {
        let at = self.buf.remove(&slot)?;
        if let Some(p) = self.slab.get(at) {
            // Taken out and put back only when others still wait: the usual single slot
            // costs one search, not two.
            if let Some((k, mut v)) = self.by_url.remove_entry(&p.key) {
                if !v.remove(slot) {
                    self.by_url.insert(k, v);
                }
            }
        }
        // Moved out once, straight into the result (each further move is a copy of the
        // exchange).
        let p = self.slab.take(at)?;
        self.bytes -= p.bytes;
        self.resendable -= usize::from(is_resendable(&p.x));
        Some(p)
    }

    /// The index key of `client`'s exchanges to the normalized `url`.
    fn key(&self, client: &str, url: &str) -> u64 {
        use std::hash::BuildHasher;
        #[cfg(test)]
        if self.same_keys {
            return 0;
        }
        self.keys.hash_one((client, url))
    }

    /// The waiting slots for (client, URL), in push order: at most `max_pending_per_url` of
    /// them.
    fn candidates<'a>(&'a self, client: &'a str, url: &'a str) -> impl Iterator<Item = Slot> + 'a {
        self.by_url
            .get(&self.key(client, url))
            .map_or(&[][..], Slots::as_slice)
            .iter()
            .copied()
            .filter(move |s| self.get(s).is_some_and(|p| p.is(client, url)))
    }

    /// Folds the attempt the exchange at `slot` sent again, if it is a retry: Chromium and
    /// Firefox send a request (a preflight too) again when a reused keep-alive connection
    /// ends before any answer to it (a stale connection the server closed, or answered `408`),
    /// or the server refused its HTTP/2 stream (Chromium's
    /// `HttpNetworkTransaction::ShouldResendRequest`; recorded in `tests/data/field/chromium-*`
    /// by `tools/retry_lab.py` and `tools/h2_retry_lab.py`). The page saw only the retry, so
    /// the attempt leaves without a record of its own.
    fn fold_attempt(&mut self, slot: Slot) {
        let Some(r) = self.get(&slot) else {
            return;
        };
        let attempt = self
            .candidates(&r.x.client, r.url())
            .filter(|s| *s < slot)
            .filter(|s| {
                self.get(s).is_some_and(|a| {
                    !a.claimed && a.preflight_for == r.preflight_for && is_retry_of(&a.x, &r.x)
                })
            })
            .max();
        let Some(attempt) = attempt.and_then(|s| self.remove(s)) else {
            return;
        };
        let x = &attempt.x;
        let by = x.evidence.closed_unanswered.map(|c| c.by);
        if let Some(&at) = self.buf.get(&slot) {
            if let Some(r) = self.slab.get_mut(at) {
                // A retry of a retry keeps the first attempt's cause.
                r.x.evidence.retry_after = x.evidence.retry_after.or(by);
            }
        }
        self.diag.warn(WarnKind::HttpRetried, || {
            format!(
                "{}: {} {} sent again after its connection or stream ended before any answer: the attempt is folded into the retry",
                x.loc, x.request.method, x.request.url
            )
        });
    }

    /// The oldest waiting slot of (client, URL) when more than `max` wait.
    fn oldest_past(&self, client: &str, url: &str, max: usize) -> Option<Slot> {
        if self.candidates(client, url).count() <= max {
            return None;
        }
        self.candidates(client, url).min()
    }

    /// Whether the preflight `a` can be the one of request `b`.
    fn origins_compatible(a: &Exchange, b: &Exchange) -> bool {
        Self::fits_request(a, b, false)
    }

    /// [`Self::origins_compatible`], for a request `b` a redirect turned into a `GET` when
    /// `body_dropped`: WebKit's preflight of it still announces the body headers (`content-type`)
    /// of the request before the redirect, which `b` no longer carries (recorded:
    /// tests/data/probe-redirect-preflight `rq-post-json-303-*`).
    ///
    /// A preflight whose connection ended before any answer (`Evidence::closed_unanswered`)
    /// guarded none: the browser got a network error, and a request after it follows the
    /// preflight it sent again (a stale keep-alive connection's retry) or none.
    fn fits_request(a: &Exchange, b: &Exchange, body_dropped: bool) -> bool {
        a.evidence.closed_unanswered.is_none()
            && (same_origin_header(&a.request.headers, &b.request.headers)
                || page_origin_for_null(&a.request.headers, &b.request.headers))
            && referer_fits(&a.request.headers, &b.request.headers)
            && Self::announced_headers_sent(a, b, body_dropped)
    }

    /// A preflight `pf` only guarded a request that carries every header it announced: a
    /// browser lists exactly the request's unsafe headers in `Access-Control-Request-Headers`.
    /// Checked where both list every header sent ([`headers_complete`]); without it, a
    /// preflight whose request never followed was paired with the next request to the URL
    /// that needed none (tests/data/probe-reqside `ev-fail-*`, in its capture and in a proxy's
    /// HAR of the same traffic).
    fn announced_headers_sent(pf: &Exchange, actual: &Exchange, body_dropped: bool) -> bool {
        if !(headers_complete(pf) && headers_complete(actual)) {
            return true;
        }
        announced_all_sent(&pf.request.headers, &actual.request.headers, body_dropped)
    }

    /// The unclaimed preflight for `actual` (at `slot`), searched from `from` to `to` in time,
    /// nearest first, skipping a preflight that another unclaimed request is nearer to. In a
    /// time-ordered input, the earliest preflight whose times fit the request's instead.
    /// `body_dropped`: the request is a redirect's next hop whose method the redirect changed
    /// ([`Self::fits_request`]).
    fn find_preflight(
        &self,
        slot: Slot,
        from: Micros,
        to: Micros,
        body_dropped: bool,
    ) -> Option<Slot> {
        let a = self.get(&slot)?;
        if self.opts.time_ordered {
            // The request at `slot` is the earliest unclaimed one (time-ordered inputs are
            // decided front first), so taking the earliest fitting preflight pairs identical
            // concurrent requests one-to-one in order, and an earlier preflight whose request
            // never followed does not fit.
            return self
                .candidates(&a.x.client, a.url())
                .filter(|&s| s != slot && s.0 >= from && s.0 <= to)
                .filter(|s| {
                    self.get(s).is_some_and(|p| {
                        !p.claimed
                            && p.preflight_for.as_deref() == Some(a.x.request.method.as_str())
                            && Self::fits_request(&p.x, &a.x, body_dropped)
                            && times_fit(&p.x, &a.x, self.opts.lookahead)
                            && !self.follows_another_preflight(*s, &p.x, &a.x)
                    })
                })
                .min();
        }
        let candidates = || self.candidates(&a.x.client, a.url());
        // The other unclaimed requests with the same method, by time: a preflight nearer to
        // one of them is that one's (sorted once, so the check below is a binary search).
        let mut rivals: Vec<Micros> = candidates()
            .filter(|&o| {
                o != slot
                    && self.get(&o).is_some_and(|q| {
                        !q.claimed
                            && q.preflight_for.is_none()
                            && q.x.request.method == a.x.request.method
                    })
            })
            .map(|o| o.0)
            .collect();
        rivals.sort_unstable();
        let mut best: Option<(u64, Slot)> = None;
        for s in candidates() {
            let Some(p) = self.get(&s) else { continue };
            if p.claimed || s == slot || s.0 < from || s.0 > to {
                continue;
            }
            if p.preflight_for.as_deref() != Some(a.x.request.method.as_str())
                || !Self::fits_request(&p.x, &a.x, body_dropped)
            {
                continue;
            }
            let d = s.0.abs_diff(slot.0);
            // A rival `o` with |o - s| < d and o >= s - lookahead: the first rival at or
            // after the lower bound, if it is nearer than d.
            let lower = s.0.saturating_sub(self.opts.lookahead);
            let first = rivals.partition_point(|&o| o < lower);
            let nearer_request = rivals[first..]
                .iter()
                .take_while(|&&o| o <= s.0 || o.abs_diff(s.0) < d)
                .any(|&o| o.abs_diff(s.0) < d);
            if nearer_request {
                continue;
            }
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, s));
            }
        }
        best.map(|(_, s)| s)
    }

    /// Whether request `r`, far from preflight `pf` (at `pf_slot`), sits right at another
    /// unclaimed preflight of its own: a browser sends a request as soon as its preflight is
    /// answered, so that one is its preflight, and `pf` is one whose request never followed (a
    /// credentialed request its preflight stopped, a copy, another page's, one the capture
    /// lost) however near it is in the window. A request within [`FOLLOWS_AT_ONCE`] of `pf`
    /// is another's only when it was sent after that one's answer (or, in an export, listed
    /// just before that one, as DevTools lists a request and its preflight) and
    /// [`CLEARLY_NEARER`] nearer to it than to `pf`'s answer (`pf`'s start when the input
    /// holds no answer to it), both answers' times otherwise known (two
    /// identical preflighted requests 0.3–0.4 s apart, the first one's request lost: the second
    /// request follows its own preflight's answer by a millisecond). Requests near their
    /// preflights, as parallel identical requests are, pair as before.
    fn follows_another_preflight(&self, pf_slot: Slot, pf: &Exchange, r: &Exchange) -> bool {
        // Near `pf`: how far `r` came after `pf`'s answer; only an answer `r` clearly follows
        // more closely takes it, both answers' times known.
        let near_gap = if follow_gap(pf, r) > FOLLOWS_AT_ONCE {
            None
        } else {
            let gap = match answer_end(pf) {
                Some(end) => r.time.saturating_sub(end),
                // No answer in the input (lost by the capture): whenever it came, it came
                // after `pf` was sent.
                None if !pf.answered() => r.time.saturating_sub(pf.time),
                None => return false,
            };
            if gap < CLEARLY_NEARER {
                return false;
            }
            Some(gap)
        };
        let takes = |q: &Exchange| {
            let Some(pf_gap) = near_gap else {
                return follow_gap(q, r) <= FOLLOWS_AT_ONCE;
            };
            answer_end(q).is_some_and(|end| {
                let lead = if self.opts.time_ordered && r.time < q.time {
                    // Listed before its own preflight, as DevTools lists them.
                    q.time.saturating_sub(r.time)
                } else {
                    let gap = r.time.saturating_sub(end);
                    // Sent before that answer came (HAR times are rounded): not its request.
                    if gap < -ROUNDING {
                        return false;
                    }
                    gap
                };
                lead.saturating_add(CLEARLY_NEARER) <= pf_gap
            })
        };
        let url = normalized(&r.request.url);
        let url = url.as_deref().unwrap_or(&r.request.url);
        // Bound before returning: the candidates iterator borrows `url`.
        let found = self.candidates(&r.client, url).any(|s| {
            s != pf_slot
                && self.get(&s).is_some_and(|q| {
                    !q.claimed
                        && q.preflight_for.as_deref() == Some(r.request.method.as_str())
                        && Self::origins_compatible(&q.x, r)
                        && takes(&q.x)
                })
        });
        found
    }

    /// The request a preflight at `slot` guarded: the nearest unclaimed request after it.
    fn find_actual(&self, slot: Slot) -> Option<Slot> {
        let p = self.get(&slot)?;
        let method = p.preflight_for.as_deref()?;
        // `as` saturates for floats; the sum saturates too.
        let window = self
            .opts
            .follow_window
            .saturating_add(p.x.timings.total_ms.map_or(0, |ms| (ms * 1000.0) as Micros));
        self.candidates(&p.x.client, p.url())
            .filter(|s| *s > slot && s.0 <= slot.0.saturating_add(window))
            .filter(|s| {
                self.get(s).is_some_and(|a| {
                    !a.claimed
                        && a.preflight_for.is_none()
                        && a.x.request.method == method
                        && Self::origins_compatible(&p.x, &a.x)
                        && (!self.opts.time_ordered || times_fit(&p.x, &a.x, self.opts.lookahead))
                        && !self.follows_another_preflight(slot, &p.x, &a.x)
                })
            })
            .min()
    }

    /// The next hop of a redirect: the first unclaimed request to the Location URL.
    fn find_next_hop(&self, from: &Exchange, resp: &Response) -> Option<Slot> {
        self.first_at_location(from, resp, |n| n.preflight_for.is_none())
    }

    /// The preflight a redirect led to when the redirected request itself is missing.
    fn find_redirect_preflight(&self, from: &Exchange, resp: &Response) -> Option<Slot> {
        // `#http-redirect-fetch` step 12: 301/302 turn POST into GET, 303 anything but HEAD.
        let m = from.request.method.as_str();
        let method = match resp.status {
            301 | 302 if m == "POST" => "GET",
            303 if m != "GET" && m != "HEAD" => "GET",
            _ => m,
        };
        self.first_at_location(from, resp, |n| n.preflight_for.as_deref() == Some(method))
    }

    /// The earliest unclaimed exchange of `from`'s client to `resp`'s Location URL, within the
    /// follow window after `from`, that `fits`.
    fn first_at_location(
        &self,
        from: &Exchange,
        resp: &Response,
        fits: impl Fn(&Pending) -> bool,
    ) -> Option<Slot> {
        let location = resp.location()?;
        let target = crate::origin::redirect_request_url(&from.request.url, &location)?;
        self.candidates(&from.client, &target)
            .filter(|s| {
                s.0 >= from.time && s.0 <= from.time.saturating_add(self.opts.follow_window)
            })
            .filter(|s| self.get(s).is_some_and(|n| !n.claimed && fits(n)))
            .min()
    }

    /// Whether the capture lost bytes preflight `pf`'s client sent to its server from the
    /// preflight to the end of the follow window (`model::loss`): its request may have been in
    /// them. Through a proxy the connection is the proxy's, so any client's loss counts.
    /// How long after `x`'s answer (its start where the answer's time is unknown) the capture
    /// ended, if sooner than [`END_WINDOW`]: a request that would follow it may be past the
    /// end. (Without an answer, nothing follows it.)
    fn ended_after(&self, x: &Exchange) -> Option<Micros> {
        let end = self.opts.losses.as_ref()?.ended_at()?;
        if !x.answered() {
            return None;
        }
        let answered = answer_end(x).unwrap_or(x.time);
        (end < answered.saturating_add(END_WINDOW)).then(|| end.saturating_sub(answered).max(0))
    }

    /// Why the input may not hold a request that would follow `x` (its preflight, or a
    /// redirect): the capture lost what the client sent then, or ended too soon after `x`'s
    /// answer; `None`: the input would hold it.
    fn unseen(&self, x: &Exchange) -> Option<Unseen> {
        if self.may_be_lost(x) {
            return Some(Unseen::Lost);
        }
        self.ended_after(x).map(Unseen::Ended)
    }

    fn may_be_lost(&self, pf: &Exchange) -> bool {
        let Some(log) = &self.opts.losses else {
            return false;
        };
        let until = pf.time.saturating_add(self.opts.follow_window);
        match &pf.evidence.server_ip {
            Some(server) => {
                let client = pf.evidence.via_proxy.is_none().then_some(&*pf.client);
                log.may_have_lost(client, server, pf.time, until)
            }
            // An export's entry may not name its server: only a cut input can have lost it.
            None => log.cut_reaches(until),
        }
    }

    /// Decides the exchange in `front` (the oldest waiting, or the oldest of its URL when a
    /// limit says so): as a preflight, a request, or a hop already claimed by a flow.
    fn finalize(&mut self, front: Slot, out: &mut dyn FnMut(Flow)) {
        let Some(p) = self.get(&front) else {
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
                        let unseen = self.unseen(&pf.x);
                        let method = pf.preflight_for.unwrap_or_default();
                        out(never_followed(pf.x, method, unseen));
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
        // Most flows are one hop: sized for it at once (growing from empty took the general
        // path of a growth).
        let mut hops = Vec::with_capacity(1);
        // The given preflight is the first hop's: kept apart, so that only the small slot
        // goes round the loop (carried with it, the 560-byte exchange was copied each turn).
        let mut given = preflight;
        let mut current = Some(slot);
        // Whether the redirect to `current` changed the method (`Self::fits_request`).
        let mut body_dropped = false;
        while let Some(s) = current.take() {
            let pf = given.take().or_else(|| {
                let ps = self.find_preflight(
                    s,
                    s.0.saturating_sub(self.opts.follow_window),
                    s.0.saturating_add(self.opts.lookahead),
                    body_dropped,
                )?;
                self.remove(ps).map(|p| p.x)
            });
            let Some(mut pending) = self.remove(s) else {
                break;
            };
            let next = pending
                .x
                .response
                .as_ref()
                .and_then(|r| self.find_next_hop(&pending.x, r));
            // A redirect whose next request never appeared, but whose preflight did: the
            // browser preflighted the new URL and stopped there (a capture shows exactly this).
            let stopped_at_preflight = match (next, pending.x.response.as_ref()) {
                (None, Some(r)) => self
                    .find_redirect_preflight(&pending.x, r)
                    .and_then(|ps| self.remove(ps))
                    .map(|p| {
                        let unseen = self.unseen(&p.x);
                        let method = p.preflight_for.clone().unwrap_or_default();
                        never_followed_hop(p.x, method, unseen)
                    }),
                _ => None,
            };
            if next.is_none() && stopped_at_preflight.is_none() {
                // A redirect whose next hop is not in the input: the input may have lost it
                // (an export cut off).
                let redirected = pending.x.response.as_ref().is_some_and(|r| r.redirects());
                // (Asked only of a redirect: the loss log is locked and searched.)
                if redirected && self.unseen(&pending.x).is_some() {
                    pending.x.evidence.absence_may_be_loss = true;
                }
            }
            current = next;
            body_dropped = next
                .and_then(|n| self.get(&n))
                .is_some_and(|n| n.x.request.method != pending.x.request.method);
            hops.push(FlowHop {
                exchange: pending.x,
                sent: true,
                preflight: pf,
            });
            if let Some(hop) = stopped_at_preflight {
                hops.push(hop);
            }
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

/// Whether `x` lists every request header that was sent: a capture's do, and so does a
/// proxy's HAR entry that got its answer from the server (what crossed the wire), or a
/// Firefox export's (its network monitor lists the headers the channel sent). Chromium's and
/// WebKit's exports may list only provisional headers (for a request that failed or was
/// answered from the cache), so theirs are not taken as all of them.
fn headers_complete(x: &Exchange) -> bool {
    use crate::model::Flavour;
    match x.flavour {
        Flavour::Capture => true,
        Flavour::OtherHar | Flavour::FirefoxHar => x.answered() && !x.evidence.from_cache,
        _ => false,
    }
}

/// Whether every name of the preflight's `Access-Control-Request-Headers` (its joined value,
/// `get_joined`, split at commas) is among the `sent` header names.
/// With `body_dropped`, a request-body header announced counts as sent ([`Pairer::fits_request`]).
fn announced_all_sent(
    preflight: &crate::model::Headers,
    sent: &crate::model::Headers,
    body_dropped: bool,
) -> bool {
    // Read line by line without joining: a line's own commas and the joint split alike.
    let announced = preflight
        .get_all("access-control-request-headers")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(crate::model::trim_http_ws)
        .filter(|n| !n.is_empty());
    // The first names are looked for along the sent headers (a list announces a few);
    // past those a name set is built once, so a hostile list stays linear.
    let mut set = None;
    announced.enumerate().all(|(i, n)| {
        if body_dropped && crate::model::is_request_body_header(n) {
            return true;
        }
        if i < crate::model::NameSet::SCAN {
            return sent.iter().any(|(name, _)| name.eq_ignore_ascii_case(n));
        }
        set.get_or_insert_with(|| crate::model::NameSet::new(sent.iter().map(|(n, _)| n)))
            .contains(n)
    })
}

/// Whether two requests' `Origin` values (`Headers::get_str`) are equal, or either has none.
/// A single UTF-8 line is its own text: compared in place, without the two copies.
fn same_origin_header(a: &crate::model::Headers, b: &crate::model::Headers) -> bool {
    let (mut xs, mut ys) = (a.get_all("origin"), b.get_all("origin"));
    match (xs.next(), ys.next()) {
        (None, _) | (_, None) => return true,
        (Some(x), Some(y)) if xs.next().is_none() && ys.next().is_none() => {
            let (x, y) = (crate::model::trim_http_ws(x), crate::model::trim_http_ws(y));
            if std::str::from_utf8(x).is_ok() && std::str::from_utf8(y).is_ok() {
                return x == y;
            }
        }
        _ => {}
    }
    a.get_str("origin") == b.get_str("origin")
}

/// Whether request headers `r` without `Origin` (a failed request's provisional headers in an
/// export) may follow preflight headers `pf`: a `Referer` names the document that sent the
/// request, whose origin the preflight's `Origin` is (a `null` one aside: a redirect tainted
/// it). Without either header nothing rules it out. (The field audit's DevTools export with
/// entries dropped: a second page's failed `PUT`, its `Referer` that page, paired with the
/// first page's preflight 1.8 s before and read as its credentialed block.)
fn referer_fits(pf: &crate::model::Headers, r: &crate::model::Headers) -> bool {
    if r.contains("origin") {
        return true;
    }
    let (Some(origin), Some(referer)) = (pf.get_str("origin"), r.get_str("referer")) else {
        return true;
    };
    let origin = origin.trim();
    if origin == "null" {
        return true;
    }
    match crate::origin::origin_of(referer.trim()) {
        Some(from) => crate::origin::canonical_origin(origin).is_none_or(|o| o == from),
        None => true,
    }
}

/// Whether preflight headers `pf` carry an origin where request headers `r` carry `null`:
/// after a redirect to another origin taints the request, Firefox still preflights with the
/// page's origin (recorded: tests/data/probe-variants `r-307-put-cross-origin-reflect`).
fn page_origin_for_null(pf: &crate::model::Headers, r: &crate::model::Headers) -> bool {
    use crate::model::trim_http_ws;
    let (Some(p), Some(r)) = (pf.get_value("origin"), r.get_value("origin")) else {
        return false;
    };
    trim_http_ws(&r) == b"null" && trim_http_ws(&p) != b"null"
}

/// Whether preflight `p` and request `r` can belong together by their times, in any way an
/// input logs them: the request's entry starting first and covering its preflight (DevTools,
/// chrome-har: the fetch starts, then the preflight goes out), starting first without covering
/// it (Firefox's export: its duration is the request's own exchange) or the request starting
/// when its preflight's answer arrived (a capture, or a tool that logs the send time). `slack`
/// absorbs rounding and the browser's own delay. Unknown durations do not rule anything out.
fn times_fit(p: &Exchange, r: &Exchange, slack: Micros) -> bool {
    let dur = |x: &Exchange| x.timings.total_ms.map(|ms| (ms * 1000.0) as Micros);
    let p_end = p.time.saturating_add(dur(p).unwrap_or(0));
    let starts_fit =
        r.time >= p.time.saturating_sub(slack) && r.time <= p_end.saturating_add(slack);
    // The request's entry ends after its preflight's: it could not finish before it. An
    // entry without an answer ended whenever it was given up, so its duration bounds nothing
    // (Firefox's export lists the request its failed preflight stopped before that preflight,
    // with no timings), and neither does that of an exporter whose durations leave out the
    // wait for the preflight (`Flavour::times_include_preflight`).
    let ends_fit = !r.answered()
        || !r.flavour.times_include_preflight()
        || dur(r).is_none_or(|d| r.time.saturating_add(d).saturating_add(ROUNDING) >= p_end);
    starts_fit && ends_fit
}

/// HAR times have millisecond precision.
const ROUNDING: Micros = 2_000;

/// How soon after its preflight's answer a browser sends the request, with room for a busy
/// browser: a request this near a preflight is taken as that preflight's over a farther one.
const FOLLOWS_AT_ONCE: Micros = 1_000_000;

/// How much nearer another preflight must be to take a request that follows a preflight
/// within [`FOLLOWS_AT_ONCE`]: far more than parallel identical requests' preflights differ
/// by (milliseconds), far less than a page's repeated requests are apart.
const CLEARLY_NEARER: Micros = 100_000;

/// Whether a browser may have sent `x` again: its connection ended before any answer, one
/// a browser resends after (`model::Closed::reused`).
fn is_resendable(x: &Exchange) -> bool {
    x.evidence.closed_unanswered.is_some_and(|c| c.reused)
}

/// Whether `r` is the browser's retry of `attempt`: `attempt`'s reused connection ended
/// before any answer, or the server refused its HTTP/2 stream (`Evidence::closed_unanswered`),
/// and `r` is the same request (method, URL, `Origin`, a preflight's announced method and
/// headers), sent at most [`FOLLOWS_AT_ONCE`] after that end (a browser resends at once).
fn is_retry_of(attempt: &Exchange, r: &Exchange) -> bool {
    let Some(closed) = attempt.evidence.closed_unanswered.filter(|c| c.reused) else {
        return false;
    };
    let (a, b) = (&attempt.request, &r.request);
    let same = |name: &str| a.headers.get_joined(name) == b.headers.get_joined(name);
    r.time >= attempt.time
        && r.time <= closed.at.saturating_add(FOLLOWS_AT_ONCE)
        && a.method == b.method
        && a.url == b.url
        && same("origin")
        && same("access-control-request-method")
        && same("access-control-request-headers")
}

/// How far request `r` is from following preflight `p` at once: from the preflight's answer
/// (its start where the duration is unknown) to the request, or from the request's entry to
/// the preflight where an export logs the request first (DevTools).
fn follow_gap(p: &Exchange, r: &Exchange) -> Micros {
    if r.time < p.time {
        return p.time.saturating_sub(r.time);
    }
    let dur = p.timings.total_ms.map_or(0, |ms| (ms * 1000.0) as Micros);
    r.time.saturating_sub(p.time.saturating_add(dur))
}

/// When preflight `p`'s answer came, where its timings tell: its start plus the whole
/// exchange's time (HAR), else plus the wait for the answer (captures: a preflight has no
/// body, so its request's last byte is its first).
fn answer_end(p: &Exchange) -> Option<Micros> {
    if !p.answered() {
        return None;
    }
    let ms = p.timings.total_ms.or(p.timings.wait_ms)?;
    // `as` saturates for floats; the sum saturates too.
    Some(p.time.saturating_add((ms * 1000.0) as Micros))
}

/// A flow for a preflight whose request never appeared: the request is rebuilt from what the
/// preflight announced (method, URL, origin), with no response. `lost`: the capture may have
/// lost it or ended before it ([`Pairer::unseen`]).
fn never_followed(pf: Exchange, method: String, unseen: Option<Unseen>) -> Flow {
    let client = pf.client.clone();
    let flavour = pf.flavour;
    Flow {
        client,
        flavour,
        hops: vec![never_followed_hop(pf, method, unseen)],
    }
}

/// Why the input may not hold a request that would follow an exchange ([`Pairer::unseen`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unseen {
    /// The capture lost what the client sent then (`model::loss`).
    Lost,
    /// The capture ended this long after the exchange's answer ([`Pairer::ended_after`]).
    Ended(Micros),
}

fn never_followed_hop(pf: Exchange, method: String, unseen: Option<Unseen>) -> FlowHop {
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
            recording: pf.evidence.recording,
            absence_may_be_loss: unseen.is_some(),
            // A loss the capture shows is the note's, where both apply (`unseen` asks it first).
            capture_ended_after: match unseen {
                Some(Unseen::Ended(after)) => Some(after),
                _ => None,
            },
            ..crate::model::Evidence::of_flavour(pf.flavour)
        },
    };
    FlowHop {
        exchange,
        sent: false,
        preflight: Some(pf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_urls_are_what_the_parser_writes() {
        let cases = [
            ("http://api.example.com/v1/items/3?v=9", true),
            ("https://a-b.example:8443/x;y=1/z@w?q=a,b&c=%2F", true),
            ("http://api3.example.com:8080/", true),
            ("http://api.example.com/a.b/c.json", true),
            ("http://API.example.com/", false),
            ("HTTP://api.example.com/", false),
            ("http://api.example.com:80/", false),
            ("https://api.example.com:443/", false),
            ("http://api.example.com:080/", false),
            ("http://api.example.com", false),
            ("http://10.0.0.1/", false),
            ("http://a.1/", false),
            ("http://xn--nxasmq6b.example/", false),
            ("http://a..b/", false),
            ("http://a.example/./x", false),
            ("http://a.example/x/../y", false),
            ("http://a.example/%2e%2E/y", false),
            ("http://a.example/a b", false),
            ("http://a.example/a#frag", false),
            ("http://a.example/it's", false),
            ("http://a.example/%zz", false),
            ("http://user@a.example/", false),
        ];
        for (u, plain) in cases {
            assert_eq!(is_plain_url(u), plain, "{u}");
            if plain {
                assert_eq!(url::Url::parse(u).map(String::from).as_deref(), Ok(u));
            }
        }
    }

    proptest::proptest! {
        /// The fast path never takes a URL the parser would write differently.
        #[test]
        fn plain_url_fast_path_agrees_with_the_parser(
            scheme in "(http|https|HTTP)://",
            host in "[a-z][a-z0-9-]{0,5}(\\.[a-z0-9-]{1,5}){0,2}|[a-zA-Z0-9.-]{0,10}|xn--[a-z]{1,4}\\.com|[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
            port in "|:|:[0-9]{1,6}|:80|:443|:08080",
            path in "(/[a-z0-9._%?=&-]{0,8}){1,4}|(/[a-zA-Z0-9._~%!$&'()*+,;=:@?#\\- \"<>^`{|}\\[\\]\\\\]{0,8}){0,4}",
        ) {
            let u = format!("{scheme}{host}{port}{path}");
            if is_plain_url(&u) {
                let parsed = url::Url::parse(&u).map(String::from);
                proptest::prop_assert_eq!(parsed.as_deref(), Ok(u.as_str()));
            }
        }
    }
    use crate::model::Headers;

    /// `announced_all_sent` as it was: the joined value split, the sent names in a set.
    fn announced_all_sent_joined(preflight: &Headers, sent: &Headers) -> bool {
        let Some(list) = preflight.get_joined("access-control-request-headers") else {
            return true;
        };
        let sent = crate::model::NameSet::new(sent.iter().map(|(n, _)| n));
        list.split(|&b| b == b',')
            .map(crate::model::trim_http_ws)
            .filter(|n| !n.is_empty())
            .all(|n| sent.contains(n))
    }

    fn lines(name: &str, values: &[Vec<u8>]) -> Headers {
        values
            .iter()
            .map(|v| (name.as_bytes(), v.as_slice()))
            .collect()
    }

    proptest::proptest! {
        /// Announced names read line by line, looked for along the sent names or in a set past
        /// the first sixteen: what the joined value and the name set said.
        #[test]
        fn announced_names_agree_with_the_joined_value(
            acrh in proptest::collection::vec("[ \t]{0,2}[aAbB-]{0,2}([ \t]*,[ \t]*[aAbB-]{0,2}){0,12}[ \t]{0,2}", 0..4),
            sent in proptest::collection::vec("[aAbB-]{1,2}|X-[a-z]{1,3}", 0..24),
        ) {
            let acrh: Vec<Vec<u8>> = acrh.into_iter().map(String::into_bytes).collect();
            let pf = lines("Access-Control-Request-Headers", &acrh);
            let sent: Headers = sent.iter().map(|n| (n.as_bytes(), &b"1"[..])).collect();
            proptest::prop_assert_eq!(
                announced_all_sent(&pf, &sent, false),
                announced_all_sent_joined(&pf, &sent)
            );
        }

        /// Origins compared in place when each is one UTF-8 line: what comparing their texts
        /// (`get_str`, non-UTF-8 bytes escaped as `\xNN`) said.
        #[test]
        fn origin_headers_compare_as_their_texts(
            a in proptest::collection::vec(proptest::collection::vec(proptest::sample::select(vec![b'a', b'\\', b'x', b'F', 0xff, b' ', b'\t']), 0..5), 0..3),
            b in proptest::collection::vec(proptest::collection::vec(proptest::sample::select(vec![b'a', b'\\', b'x', b'F', 0xff, b' ', b'\t']), 0..5), 0..3),
        ) {
            let (a, b) = (lines("Origin", &a), lines("Origin", &b));
            let texts = match (a.get_str("origin"), b.get_str("origin")) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            };
            proptest::prop_assert_eq!(same_origin_header(&a, &b), texts);
        }
    }

    use crate::model::{test_exchange, Flavour};

    fn at(time: Micros, method: &str, url: &str, req: &[(&str, &str)]) -> Exchange {
        let mut x = test_exchange(Flavour::Capture, method, url, req, Some((200, &[])), None);
        x.time = time;
        x
    }

    /// Which preflight Origin can guard which request Origin: the same, either absent, or an
    /// origin for a request a redirect tainted (`null`: Firefox preflights it with the page's).
    #[test]
    fn preflight_and_request_origins() {
        let h = |o: Option<&str>| {
            let req: Vec<(&str, &str)> = o.map(|o| ("Origin", o)).into_iter().collect();
            at(0, "PUT", "http://api.test/r", &req)
        };
        let page = "http://app.test";
        for (pf, req, ok) in [
            (Some(page), Some(page), true),
            (None, Some(page), true),
            (Some(page), None, true),
            (Some(page), Some("http://other.test"), false),
            (Some(page), Some("null"), true),
            (Some(page), Some(" null "), true),
            (Some("null"), Some("null"), true),
            (Some("null"), Some(page), false),
        ] {
            assert_eq!(
                Pairer::origins_compatible(&h(pf), &h(req)),
                ok,
                "{pf:?} {req:?}"
            );
        }
        // A request listed without `Origin` (an export's provisional headers) is of the
        // document its `Referer` names.
        let pf = h(Some(page));
        for (req, ok) in [
            (vec![("Referer", "http://app.test/p?q")], true),
            (vec![("Referer", "http://other.test:8082/")], false),
            (vec![("Referer", "not a url")], true),
            (
                vec![("Origin", page), ("Referer", "http://other.test/")],
                true,
            ),
            (vec![], true),
        ] {
            let r = at(0, "PUT", "http://api.test/r", &req);
            assert_eq!(Pairer::origins_compatible(&pf, &r), ok, "{req:?}");
        }
        let tainted = h(Some("null"));
        let r = at(
            0,
            "PUT",
            "http://api.test/r",
            &[("Referer", "http://other.test/")],
        );
        assert!(Pairer::origins_compatible(&tainted, &r));
    }

    fn preflight(time: Micros, url: &str) -> Exchange {
        at(
            time,
            "OPTIONS",
            url,
            &[
                ("Origin", "http://a.test"),
                ("Access-Control-Request-Method", "PUT"),
            ],
        )
    }

    fn run(xs: Vec<Exchange>, opts: PairingOptions) -> (Vec<Flow>, Diagnostics) {
        run_keyed(xs, opts, false)
    }

    fn run_keyed(xs: Vec<Exchange>, opts: PairingOptions, same: bool) -> (Vec<Flow>, Diagnostics) {
        let mut p = Pairer::new(opts.clone());
        p.same_keys = same;
        let mut flows = Vec::new();
        for x in xs {
            p.push(x, &mut |f| flows.push(f));
            assert!(p.pending() <= opts.max_pending.max(1) + 1);
        }
        p.finish(&mut |f| flows.push(f));
        (flows, p.take_diagnostics())
    }

    fn exchanges_in(flows: &[Flow]) -> usize {
        flows
            .iter()
            .flat_map(|f| &f.hops)
            .map(|h| usize::from(h.sent) + usize::from(h.preflight.is_some()))
            .sum()
    }

    /// A stale keep-alive connection's retry: a preflight and a request whose reused
    /// connection ended before any answer, each sent again at once on a new connection, are
    /// folded into their retries (one flow: the retried preflight and request); an attempt
    /// that is not the browser's retry stays, and a preflight that ended so guards nothing.
    #[test]
    fn a_retried_attempt_is_folded_into_its_retry() {
        use crate::model::Closed;
        let url = "http://b.test/r";
        let closed = |mut x: Exchange, conn: u64, at: Micros, reused: bool| {
            x.connection = Some(conn);
            x.evidence.closed_unanswered = Some(Closed {
                at,
                reused,
                by: crate::model::EndedBy::Close,
            });
            x
        };
        let on = |mut x: Exchange, conn: u64| {
            x.connection = Some(conn);
            x
        };
        let put = |t: Micros| at(t, "PUT", url, &[("Origin", "http://a.test")]);
        let other_method = |t: Micros| {
            let req = [
                ("Origin", "http://a.test"),
                ("Access-Control-Request-Method", "PATCH"),
            ];
            at(t, "OPTIONS", url, &req)
        };
        let other_origin = |t: Micros| {
            let req = [
                ("Origin", "http://c.test"),
                ("Access-Control-Request-Method", "PUT"),
            ];
            at(t, "OPTIONS", url, &req)
        };
        let pf = |t: Micros| preflight(t, url);
        // (what, attempt's connection reused, the preflight sent again and its connection,
        // (flows, flows with a sent request after an answered preflight, http-retried))
        type Case = (&'static str, bool, Exchange, u64, (usize, usize, u64));
        let cases: Vec<Case> = vec![
            ("retried at once", true, pf(10_500), 2, (1, 1, 2)),
            // A refused HTTP/2 stream is sent again on the same connection.
            ("on the same connection", true, pf(10_500), 1, (1, 1, 2)),
            ("first on its connection", false, pf(10_500), 2, (2, 1, 1)),
            ("after the window", true, pf(1_300_000), 2, (2, 1, 1)),
            ("another origin", true, other_origin(10_500), 2, (3, 0, 1)),
            ("another method", true, other_method(10_500), 2, (3, 0, 1)),
        ];
        for (what, reused, retry, conn, (flows_n, answered, retried)) in cases {
            let t = retry.time;
            let xs = vec![
                closed(preflight(10_000, url), 1, 10_200, reused),
                on(retry, conn),
                closed(put(t + 500), 2, t + 600, true),
                on(put(t + 700), 3),
            ];
            let (flows, diag) = run(xs, PairingOptions::default());
            assert_eq!(flows.len(), flows_n, "{what}: {flows:?}");
            let with_answered_pf = flows
                .iter()
                .filter(|f| {
                    f.hops.iter().any(|h| {
                        h.sent && h.preflight.as_ref().is_some_and(|p| p.response.is_some())
                    })
                })
                .count();
            assert_eq!(with_answered_pf, answered, "{what}: {flows:?}");
            assert_eq!(diag.count(WarnKind::HttpRetried), retried, "{what}");
        }
    }

    /// A preflight without its request is marked as possibly lost exactly when the capture
    /// lost bytes its client sent to its server from the preflight to the end of the follow
    /// window (`model::loss`), on any of that client's connections; a followed preflight and
    /// other clients' or servers' losses change nothing.
    #[test]
    fn a_preflight_without_its_request_asks_what_the_capture_lost() {
        use crate::model::loss::{Loss, LossLog};
        let loss = |client: &str, server: &str, after: Micros, by: Micros| Loss {
            client: client.into(),
            server: server.into(),
            after,
            by,
        };
        let w = FOLLOW_WINDOW;
        // (loss, the preflight's flow marked)
        let cases = [
            (None, false),
            (Some(loss("c", "10.0.0.9:80", 1_000, 2_000)), true),
            // Found later, on a connection whose last request came before the preflight.
            (Some(loss("c", "10.0.0.9:80", Micros::MIN, w)), true),
            // Lost after the follow window, or found before the preflight was sent.
            (Some(loss("c", "10.0.0.9:80", 2 * w, 2 * w + 1)), false),
            (Some(loss("c", "10.0.0.9:80", Micros::MIN, 500)), false),
            (Some(loss("d", "10.0.0.9:80", 1_000, 2_000)), false),
            (Some(loss("c", "10.0.0.9:443", 1_000, 2_000)), false),
        ];
        for (lost, marked) in cases {
            let log = LossLog::new();
            log.record(lost.clone());
            let opts = PairingOptions {
                losses: Some(log),
                ..PairingOptions::default()
            };
            let mut alone = preflight(1_000, "http://b.test/x");
            alone.evidence.server_ip = Some("10.0.0.9:80".into());
            let mut followed = preflight(1_000, "http://b.test/y");
            followed.evidence.server_ip = Some("10.0.0.9:80".into());
            let request = at(
                1_500,
                "PUT",
                "http://b.test/y",
                &[("Origin", "http://a.test")],
            );
            let (flows, _) = run(vec![alone, followed, request], opts);
            let got: Vec<(bool, bool)> = flows
                .iter()
                .map(|f| {
                    (
                        f.last().sent,
                        f.last().exchange.evidence.absence_may_be_loss,
                    )
                })
                .collect();
            assert_eq!(got, [(false, marked), (true, false)], "{lost:?}");
        }
    }

    /// One URL repeated at one timestamp (a HAR without times): pairing used to be quadratic
    /// in the repeats (8 000 entries took 3.7 s, 70 000 would take minutes); now every search
    /// is bounded by `max_pending_per_url`.
    #[test]
    fn one_url_at_one_time_is_linear() {
        let n = 40_000;
        let xs: Vec<Exchange> = (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    preflight(0, "http://b.test/x")
                } else {
                    at(0, "PUT", "http://b.test/x", &[("Origin", "http://a.test")])
                }
            })
            .collect();
        let start = std::time::Instant::now();
        let (flows, diag) = run(xs, PairingOptions::default());
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
        assert_eq!(
            exchanges_in(&flows),
            n,
            "every exchange in exactly one flow"
        );
        // Preflights still find their requests.
        assert!(
            flows
                .iter()
                .filter(|f| f.first().preflight.is_some())
                .count()
                > n / 4
        );
        assert!(diag.count(WarnKind::LimitPairingUrl) > 0);
    }

    /// Exchanges of other URLs under the same index key (a hash collision, forced here for
    /// every URL) change nothing: the same flows and the same limit warnings.
    #[test]
    fn colliding_keys_pair_as_distinct_ones() {
        let mut xs = Vec::new();
        for i in 0..200 {
            let t = i * 1_000;
            let url = format!("http://b.test/{}", i % 7);
            xs.push(preflight(t, &url));
            if i % 3 != 0 {
                xs.push(at(t + 300, "PUT", &url, &[("Origin", "http://a.test")]));
            }
            let mut redirect = at(t + 500, "GET", &format!("http://c.test/{}", i % 4), &[]);
            redirect.response = Some(Response {
                status: 302,
                status_text: String::new(),
                headers: [("Location", "/to")].into_iter().collect(),
            });
            xs.push(redirect);
            xs.push(at(t + 600, "GET", "http://c.test/to", &[]));
        }
        for max_pending_per_url in [3, MAX_PENDING_PER_URL] {
            let opts = PairingOptions {
                max_pending_per_url,
                ..PairingOptions::default()
            };
            let (plain, plain_diag) = run_keyed(xs.clone(), opts.clone(), false);
            let (same, same_diag) = run_keyed(xs.clone(), opts, true);
            assert_eq!(format!("{plain:?}"), format!("{same:?}"));
            assert_eq!(
                plain_diag.count(WarnKind::LimitPairingUrl),
                same_diag.count(WarnKind::LimitPairingUrl)
            );
            assert!(plain.iter().any(|f| f.hops.len() == 2));
            assert!(plain.iter().any(|f| f.first().preflight.is_some()));
        }
        let (_, diag) = run_keyed(
            xs,
            PairingOptions {
                max_pending_per_url: 3,
                ..PairingOptions::default()
            },
            true,
        );
        assert!(diag.count(WarnKind::LimitPairingUrl) > 0);
    }

    /// A preflight whose request never followed (a credentialed request it stopped), then
    /// seconds later a retry with a preflight of its own: the retry pairs with its own, the
    /// first stays alone, for a capture and for a time-ordered HAR (where the request's entry
    /// comes a moment before its preflight's). Parallel identical requests, each right at its
    /// preflight, still pair one to one in order.
    #[test]
    fn a_request_pairs_with_the_preflight_it_follows_at_once() {
        let url = "http://b.test/x";
        let put = |t| at(t, "PUT", url, &[("Origin", "http://a.test")]);
        let preflights = |flows: &[Flow]| -> Vec<(bool, Option<Micros>)> {
            let mut v: Vec<_> = flows
                .iter()
                .map(|f| (f.first().sent, f.first().preflight.as_ref().map(|p| p.time)))
                .collect();
            v.sort();
            v
        };
        // Capture: preflight, then the request 2 ms after it.
        let xs = vec![preflight(0, url), preflight(3_000_000, url), put(3_002_000)];
        let (flows, _) = run(xs, PairingOptions::default());
        assert_eq!(
            preflights(&flows),
            [(false, Some(0)), (true, Some(3_000_000))],
            "{flows:#?}"
        );
        // DevTools HAR: the request's entry 1 ms before its preflight's.
        let xs = vec![preflight(0, url), put(1_500_000), preflight(1_501_000, url)];
        let opts = PairingOptions::default().for_time_ordered();
        let (flows, _) = run(xs, opts.clone());
        assert_eq!(
            preflights(&flows),
            [(false, Some(0)), (true, Some(1_501_000))],
            "{flows:#?}"
        );
        // Parallel: two preflights, then two requests, each within a few ms.
        let xs = vec![
            preflight(0, url),
            preflight(1_000, url),
            put(5_000),
            put(6_000),
        ];
        for opts in [PairingOptions::default(), opts] {
            let (flows, _) = run(xs.clone(), opts);
            assert_eq!(
                preflights(&flows),
                [(true, Some(0)), (true, Some(1_000))],
                "{flows:#?}"
            );
        }
        // Within the second: a request sent right at one preflight's answer is that one's, not
        // one answered clearly earlier (its own request lost); answers a few ms apart, or
        // answers whose times are unknown, pair as before. (preflight start, its answer's
        // wait) ..., request times; the preflight each request pairs with.
        // (A wait of NaN: no answer at all.)
        let answered = |t: Micros, wait_ms: Option<f64>| {
            let mut x = preflight(t, url);
            match wait_ms {
                Some(w) if w.is_nan() => x.response = None,
                w => x.timings.wait_ms = w,
            }
            x
        };
        for (pfs, puts, want) in [
            // Two identical preflighted requests 0.4 s apart, the first request lost.
            (
                vec![(0, Some(1.0)), (400_000, Some(0.5))],
                vec![401_500],
                vec![(false, Some(0)), (true, Some(400_000))],
            ),
            // The same with no answer times: the nearest in the window, as before.
            (
                vec![(0, None), (400_000, None)],
                vec![401_500],
                vec![(false, Some(400_000)), (true, Some(0))],
            ),
            // Slow answers overlapping (tests/data/probe-concurrency `p-g-cached-race`): each
            // request follows its own preflight's answer by 1.5 ms.
            (
                vec![(0, Some(301.0)), (104_000, Some(301.0))],
                vec![302_500, 406_700],
                vec![(true, Some(0)), (true, Some(104_000))],
            ),
            // The first preflight's answer lost as well as its request (the capture): it
            // was sent 0.4 s before the request, which follows the second's answer at once.
            (
                vec![(0, Some(f64::NAN)), (400_000, Some(0.5))],
                vec![401_500],
                vec![(false, Some(0)), (true, Some(400_000))],
            ),
            // Answers 50 ms apart: not clearly nearer, the order pairs them.
            (
                vec![(0, Some(1.0)), (50_000, Some(1.0))],
                vec![52_000, 53_000],
                vec![(true, Some(0)), (true, Some(50_000))],
            ),
        ] {
            let mut xs: Vec<Exchange> = pfs.iter().map(|&(t, w)| answered(t, w)).collect();
            xs.extend(puts.iter().map(|&t| put(t)));
            xs.sort_by_key(|x| x.time);
            let (flows, _) = run(xs, PairingOptions::default());
            assert_eq!(preflights(&flows), want, "{pfs:?} {puts:?}: {flows:#?}");
        }
        // An export (time-ordered) that lists a request 2 ms before its own preflight, the first
        // of two identical ones dropped (tests/data/field `devtools-first-request-dropped-*`):
        // the request is the later preflight's, not the one answered 0.3 s before it.
        let mut first = preflight(0, url);
        first.timings.total_ms = Some(1.8);
        let mut second = preflight(302_000, url);
        second.timings.total_ms = Some(0.9);
        let xs = vec![first, put(300_000), second];
        let (flows, _) = run(xs, PairingOptions::default().for_time_ordered());
        assert_eq!(
            preflights(&flows),
            [(false, Some(0)), (true, Some(302_000))],
            "{flows:#?}"
        );
    }

    /// Firefox's Network Monitor export lists a request 2-3 ms before its own preflight, its
    /// `time` without the wait for that preflight (Firefox 153,
    /// `tests/data/probe-concurrency/firefox-netmonitor.har.gz`: `time: 41` after a preflight
    /// the server held 250 ms; `tests/data/chromium/firefox-netmonitor.har.gz`: `time: 0`): it
    /// still pairs. Where an entry's time covers the preflight (DevTools), a request that
    /// ended before its preflight did is not that preflight's.
    #[test]
    fn a_firefox_entry_pairs_with_the_preflight_listed_after_it_whatever_its_duration() {
        let url = "http://b.test/x";
        let timed = |mut x: Exchange, ms: f64, flavour: Flavour| {
            x.timings.total_ms = Some(ms);
            x.flavour = flavour;
            x
        };
        let opts = PairingOptions::default().for_time_ordered();
        for (flavour, put_ms, paired) in [
            (Flavour::FirefoxHar, 41.0, true),
            (Flavour::FirefoxHar, 0.0, true),
            (Flavour::DevTools, 300.0, true),
            (Flavour::DevTools, 41.0, false),
        ] {
            let put = at(1_000_000, "PUT", url, &[("Origin", "http://a.test")]);
            let xs = vec![
                timed(put, put_ms, flavour),
                timed(preflight(1_002_000, url), 251.0, flavour),
            ];
            let (flows, _) = run(xs, opts.clone());
            let with_preflight = flows
                .iter()
                .any(|f| f.first().sent && f.first().preflight.is_some());
            assert_eq!(
                with_preflight, paired,
                "{flavour:?} {put_ms} ms: {flows:#?}"
            );
        }
    }

    /// A captured preflight that announced `x-probe` is not the one of a later request without
    /// it (probe recording ev-fail-*: the preflight failed, then a request that needed none).
    #[test]
    fn a_preflight_pairs_only_with_a_request_carrying_what_it_announced() {
        let url = "http://b.test/x";
        let mut pf = preflight(0, url);
        pf.request
            .headers
            .push(b"Access-Control-Request-Headers", b"x-probe");
        let plain = at(10_000, "PUT", url, &[("Origin", "http://a.test")]);
        let (flows, _) = run(vec![pf.clone(), plain], PairingOptions::default());
        assert_eq!(flows.len(), 2, "the preflight stays alone: {flows:#?}");
        assert!(flows.iter().all(|f| f.hops.len() == 1));
        let with = at(
            10_000,
            "PUT",
            url,
            &[("Origin", "http://a.test"), ("X-Probe", "1")],
        );
        let (flows, _) = run(vec![pf, with], PairingOptions::default());
        assert_eq!(flows.len(), 1);
        assert!(flows[0].first().preflight.is_some() && flows[0].first().sent);
    }

    /// WebKit preflights the `GET` a `303` made of a `POST` of JSON announcing `content-type`,
    /// which the `GET` no longer carries (tests/data/probe-redirect-preflight
    /// `rq-post-json-303-*`): that preflight is the redirected hop's. Without the redirect, a
    /// preflight announcing `content-type` stays apart from a later `GET` without it.
    #[test]
    fn a_redirect_that_dropped_the_body_pairs_with_a_preflight_announcing_its_headers() {
        let (a, b) = ("http://b.test/a", "http://b.test/b");
        let origin = ("Origin", "http://a.test");
        let pf = |t, url, method| {
            let mut p = at(
                t,
                "OPTIONS",
                url,
                &[origin, ("Access-Control-Request-Method", method)],
            );
            p.request
                .headers
                .push(b"Access-Control-Request-Headers", b"content-type");
            p
        };
        let mut post = at(
            1_000,
            "POST",
            a,
            &[origin, ("Content-Type", "application/json")],
        );
        post.response = Some(Response {
            status: 303,
            status_text: String::new(),
            headers: [("Location", "/b")].into_iter().collect(),
        });
        let get = at(3_000, "GET", b, &[origin]);
        let xs = vec![pf(0, a, "POST"), post, pf(2_000, b, "GET"), get.clone()];
        let (flows, _) = run(xs, PairingOptions::default());
        assert_eq!(flows.len(), 1, "{flows:#?}");
        assert_eq!(flows[0].hops.len(), 2);
        assert!(flows[0]
            .hops
            .iter()
            .all(|h| h.preflight.is_some() && h.sent));
        let (flows, _) = run(vec![pf(2_000, b, "GET"), get], PairingOptions::default());
        assert_eq!(flows.len(), 2, "the preflight stays alone: {flows:#?}");
    }

    /// A `Location` with a fragment leads to the URL without it, which a DevTools export lists
    /// as the next request and chrome-har with the fragment (probe-variants2 `r-302-fragment`):
    /// either way one flow of two hops.
    #[test]
    fn a_redirect_with_a_fragment_leads_to_its_url_either_way() {
        for listed in ["http://b.test/b", "http://b.test/b#frag"] {
            let mut first = at(0, "GET", "http://b.test/a", &[("Origin", "http://a.test")]);
            first.response = Some(Response {
                status: 302,
                status_text: String::new(),
                headers: [("Location", "/b#frag")].into_iter().collect(),
            });
            let next = at(1_000, "GET", listed, &[("Origin", "http://a.test")]);
            let (flows, _) = run(vec![first, next], PairingOptions::default());
            assert_eq!(flows.len(), 1, "{listed}: {flows:#?}");
            assert_eq!(flows[0].hops.len(), 2, "{listed}");
        }
    }

    #[test]
    fn buffer_limit_decides_the_oldest_early() {
        let opts = PairingOptions {
            max_pending: 4,
            ..PairingOptions::default()
        };
        let xs = (0..10)
            .map(|i| at(0, "GET", &format!("http://b.test/{i}"), &[]))
            .collect();
        let (flows, diag) = run(xs, opts);
        assert_eq!(flows.len(), 10);
        assert_eq!(diag.count(WarnKind::LimitPairingBuffer), 6);
    }

    /// Large heads fill the byte budget before the count: the oldest leave early, every
    /// exchange still makes its flow, and what waits never holds more than the budget.
    #[test]
    fn byte_budget_decides_the_oldest_early() {
        let big = "x".repeat(60_000);
        let xs: Vec<Exchange> = (0..10)
            .map(|i| {
                at(
                    0,
                    "GET",
                    &format!("http://b.test/{i}"),
                    &[("X-Big", big.as_str())],
                )
            })
            .collect();
        let one = xs[0].held_bytes();
        let opts = PairingOptions {
            max_pending_bytes: 3 * one,
            ..PairingOptions::default()
        };
        let mut p = Pairer::new(opts);
        let mut flows = 0;
        for x in xs {
            p.push(x, &mut |_| flows += 1);
            assert!(p.bytes <= 3 * one && p.pending() <= 3);
        }
        p.finish(&mut |_| flows += 1);
        assert_eq!((flows, p.bytes, p.pending()), (10, 0, 0));
        assert_eq!(p.take_diagnostics().count(WarnKind::LimitPairingBuffer), 7);
    }

    /// Capture times can be anything (saturated pcapng timestamps): window arithmetic
    /// saturates instead of wrapping (which hid the redirect's next hop) or panicking.
    #[test]
    fn extreme_times_saturate() {
        let redirect = {
            let mut x = at(Micros::MAX - 5, "GET", "http://b.test/r", &[]);
            x.response = Some(Response {
                status: 302,
                status_text: String::new(),
                headers: [("Location", "/final")].into_iter().collect(),
            });
            x
        };
        let xs = vec![
            at(
                Micros::MIN,
                "PUT",
                "http://b.test/r",
                &[("Origin", "http://a.test")],
            ),
            preflight(Micros::MIN, "http://b.test/r"),
            preflight(Micros::MAX, "http://b.test/r"),
            redirect,
            at(Micros::MAX, "GET", "http://b.test/final", &[]),
        ];
        let (flows, _) = run(xs, PairingOptions::default());
        assert_eq!(exchanges_in(&flows), 5);
        assert!(flows.iter().any(|f| f.hops.len() == 2), "redirect followed");
    }
}
