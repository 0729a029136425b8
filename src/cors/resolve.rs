//! Evidence plus rules: classifies a flow (page origin, mode, credentials), evaluates the engine
//! under every unknown, keeps what agrees with the input's own evidence for the browser that
//! recorded it, derives the other browsers' verdicts, and keeps each browser's preflight cache.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{EndedBy, Micros};

use super::browser::{Browser, PerBrowser, ALL_BROWSERS};
use super::cache::PreflightCache;
use super::engine::{evaluate_into, Context, Decision, Evaluation, Missing, PerHop};
use super::headers::{header_str, starts_with_ignore_case};
use super::note::{Alternative, AlternativeOutcome, Note};
use super::origin::{canonical_origin, origin_of, same_origin};
use super::reason::{Blocked, Initiator, MessageContext, Named, Stage};
use crate::model::Flow;
use crate::model::OutcomeRecording;

/// For a closed set of words written into records (`ALL` and a `const fn as_str`): `NAMES`,
/// every value's text in `ALL` order (the record contract's allowed values), and `Serialize`
/// as that text, so the contract and every format come from the one `as_str`.
macro_rules! record_words {
    ($t:ty, $n:literal) => {
        impl $t {
            pub(crate) const NAMES: [&'static str; $n] = {
                let mut out = [""; $n];
                let mut i = 0;
                while i < $n {
                    out[i] = Self::ALL[i].as_str();
                    i += 1;
                }
                out
            };
        }

        /// Compares with the word a record holds (tests read records as text).
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use record_words;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Blocked,
    Unknown,
    NotCors,
}

record_words!(Verdict, 4);
record_words!(Credentials, 3);

impl Verdict {
    /// In the order summaries count them (allowed, blocked, unknown, not-cors).
    pub(crate) const ALL: [Verdict; 4] = [
        Verdict::Allowed,
        Verdict::Blocked,
        Verdict::Unknown,
        Verdict::NotCors,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Blocked => "blocked",
            Verdict::Unknown => "unknown",
            Verdict::NotCors => "not-cors",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    Include,
    Omit,
    Unknown,
}

impl Credentials {
    pub(crate) const ALL: [Credentials; 3] = [
        Credentials::Include,
        Credentials::Omit,
        Credentials::Unknown,
    ];

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Credentials::Include => "include",
            Credentials::Omit => "omit",
            Credentials::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Cors,
    NoCors,
    Navigate,
    /// A non-GET request with `Origin` and nothing showing whether it was `cors` or `no-cors`.
    Ambiguous,
}

/// What the input itself shows about the outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    NotObserved,
    Succeeded,
    CorsFailure(String),
    OtherFailure(String),
    /// The request never appeared after its preflight.
    NotSent,
    /// A capture: no verdict recorded, but every recorded preflight was followed by its
    /// request, so each of those preflights passed in the recording browser.
    PreflightsPassed,
    /// chrome-har leaves blocked requests out: a preflight without its request, or a redirect
    /// without its next hop, means that request was blocked — by which check is not shown.
    Dropped,
}

/// Browser-independent facts about a flow.
#[derive(Clone, Debug)]
pub struct Facts {
    pub page_origin: Option<String>,
    pub page_origin_from: &'static str,
    pub mode: Mode,
    pub initiator: Initiator,
    pub credentials_seen: Option<bool>,
    /// `credentials_seen` is `Some(false)` because a cookie the browser holds for the target
    /// was not sent.
    pub credentials_from_cookie_jar: bool,
    /// `credentials_seen` was read from the requests' connections (see
    /// `Evidence::connection_credentials`).
    pub credentials_from_connection: bool,
    pub observed: Observed,
    pub is_font: bool,
    /// The export lists the last request as one that never went out: only its provisional
    /// headers, no response ([`provisional`]). No reading that has the browser send it (a
    /// cached preflight's) is what the recording shows.
    pub listed_unsent: bool,
    /// The flow's hops (a later hop in the input shows the browser went past the ones before).
    pub hops: usize,
    /// The last hop's recorded failure is Chromium's abort in Chromium's own log
    /// ([`chromium_abort`]).
    pub chromium_abort: bool,
}

#[derive(Clone, Debug)]
pub struct BrowserVerdict {
    pub browser: Browser,
    pub verdict: Verdict,
    pub reason: Option<&'static str>,
    pub failed_parameter: Option<String>,
    pub message: Option<String>,
    pub fix: Option<String>,
    pub blocked: Option<Blocked>,
    /// Why the verdict is unknown, or how the evidence was read, in order.
    pub notes: Vec<Note>,
    /// Hops served from this browser's preflight cache, with the entry's age.
    pub cache_hits: Vec<(usize, u64)>,
}

#[derive(Clone, Debug)]
pub struct Resolution {
    pub facts: Facts,
    pub recorder: Browser,
    pub credentials: Credentials,
    pub browsers: PerBrowser<BrowserVerdict>,
}

impl BrowserVerdict {
    #[cfg(test)]
    /// The notes as one text (`None` without any).
    pub(crate) fn note(&self) -> Option<String> {
        super::note::join(&self.notes)
    }
}

impl Resolution {
    pub(crate) fn browsers_agree(&self) -> bool {
        let v: Vec<Verdict> = self.browsers.values().map(|b| b.verdict).collect();
        v.windows(2).all(|w| w[0] == w[1])
    }
}

/// Holds each browser's preflight cache across the flows of one input, one set per client:
/// every client (a HAR's browser, a capture's client IP) is its own browser with its own cache
/// and capacity, so flows of different clients can be resolved independently.
pub struct Resolver {
    /// Hashed with seeded foldhash, not SipHash: every flow looks its client up (SipHash was
    /// half a thousand instructions a flow); the order is never read.
    caches: HashMap<Arc<str>, PerBrowser<PreflightCache>, foldhash::fast::RandomState>,
    /// Entries in `caches`, every client and browser together.
    cached: usize,
    /// At most this many entries are kept ([`MAX_CACHED_PREFLIGHTS`]).
    cache_budget: usize,
    /// Live entries dropped to keep within the budget.
    dropped: u64,
    /// What the server answered earlier, per endpoint (requests the recorder did not send).
    evidence: super::counterfactual::EndpointEvidence,
    cookies: super::cookies::CookieJar,
    /// Responses the browser's HTTP cache may answer a later request with.
    http_cache: super::httpcache::HttpCacheHints,
    last_expire: i64,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    pub fn new() -> Self {
        Self::one_of(1, MAX_CACHED_PREFLIGHTS)
    }

    /// One of `shards` resolvers that share the memory bounds evenly: `max_cached_preflights`
    /// preflight-cache entries, and the endpoints remembered for counterfactual answers.
    pub fn one_of(shards: usize, max_cached_preflights: usize) -> Self {
        let shards = shards.max(1);
        let budget = max_cached_preflights / shards;
        Self {
            caches: HashMap::default(),
            cached: 0,
            // One client's caches always fit: a smaller budget would make a client's own
            // capacity unreachable.
            cache_budget: budget.max(MIN_CACHE_BUDGET),
            dropped: 0,
            evidence: super::counterfactual::EndpointEvidence::new(
                super::counterfactual::ENDPOINTS / shards,
            ),
            cookies: super::cookies::CookieJar::new(),
            http_cache: super::httpcache::HttpCacheHints::new(super::httpcache::URLS / shards),
            last_expire: i64::MIN,
        }
    }

    /// Live preflight-cache entries dropped to keep within the budget (`limit-preflight-cache`).
    pub fn dropped_cache_entries(&self) -> u64 {
        self.dropped
    }

    #[cfg(test)]
    /// Clients whose caches hold entries (memory follows live clients, not the input).
    pub(crate) fn live_clients(&self) -> usize {
        self.caches.len()
    }

    /// Decides `flow` for every browser; `recorder` is the browser that made the input.
    ///
    /// The stages, in order: classify the flow, read what the cookie jar tells, age the caches,
    /// set aside traffic CORS does not govern, evaluate the recording browser against the
    /// evidence, derive the other browsers, apply the overrides that span browsers, commit
    /// each browser's preflight cache and add the notes on how the evidence was read.
    pub fn resolve(&mut self, flow: &Flow, recorder: Browser) -> Resolution {
        self.resolve_identified(flow, recorder, None)
    }

    /// What an earlier response to the flow's first URL allows (escaped; empty: no origin),
    /// where it is still fresh in the HTTP cache, stored without `Vary: Origin`, and does not
    /// allow this flow's Origin, though the recorder sent the request to the server.
    /// `first_read`: the flow's first request's headers as read once for the flow.
    fn cached_for_another_origin(&self, flow: &Flow, first_read: &FirstRequest) -> Option<String> {
        let first = flow.first();
        if !first.sent {
            return None;
        }
        let origin = crate::model::trim_http_ws(first_read.first_line(Read::Origin)?);
        let req = &first.exchange.request;
        self.http_cache
            .answer_for_another_origin(&flow.client, &req.url, first.exchange.time, origin)
            .map(crate::model::escape_bytes)
    }

    /// Whether a hop of `flow` is the browser's revalidation of a response its HTTP cache
    /// stored (`httpcache::HttpCacheHints::revalidated`), and the flow as the CORS check reads
    /// it then: each such hop's `304` with the stored response's headers updated by its own.
    fn revalidation(&self, flow: &Flow) -> Revalidation {
        let mut merged: Option<Flow> = None;
        for (i, hop) in flow.hops.iter().enumerate() {
            let x = &hop.exchange;
            match self
                .http_cache
                .revalidated(&flow.client, x, hop.preflight.as_ref())
            {
                None => {}
                Some(None) => return Revalidation::StoredNotInInput,
                Some(Some(headers)) => {
                    let f = merged.get_or_insert_with(|| flow.clone());
                    if let Some(r) = f.hops.get_mut(i).and_then(|h| h.exchange.response.as_mut()) {
                        r.headers = headers;
                    }
                }
            }
        }
        merged.map_or(Revalidation::None, Revalidation::Merged)
    }

    /// [`Resolver::resolve`], given `fingerprint::identify` of the flow's client headers
    /// ([`client_headers`]) where the caller already asked it (`None`: asked here, if needed).
    pub(crate) fn resolve_identified(
        &mut self,
        flow: &Flow,
        recorder: Browser,
        identified: Option<crate::fingerprint::Client>,
    ) -> Resolution {
        let first = FirstRequest::of(&flow.first().exchange.request.headers);
        let (mut facts, same_hops) = classify_with(flow, &first, recorder);
        self.deduce_from_cookie_jar(flow, &mut facts, &same_hops);
        self.learn_cookies(flow);
        // Read before this flow's own responses are kept (no-cors ones too: a cached opaque
        // response can answer a later CORS request).
        let revalidation = self.revalidation(flow);
        let absence = Absence::of(flow, &self.http_cache);
        let cached_elsewhere = self.cached_for_another_origin(flow, &first);
        self.http_cache.record(flow);
        if absence == Absence::MaybeCached && facts.observed == Observed::Dropped {
            // An export that leaves out blocked requests leaves out cached ones too.
            facts.observed = Observed::NotSent;
        }
        self.expire_caches(flow.time());
        let caches = self
            .caches
            .entry(flow.client.clone())
            .or_insert_with(new_caches);
        let headers = client_headers(flow);
        // Inputs that are not a browser's own export (captures, HARs from proxies) can hold
        // requests of tools, which no CORS check stops.
        let client = (!flow.first().exchange.evidence.browser_requests_only)
            .then(|| identified.unwrap_or_else(|| crate::fingerprint::identify(headers)));
        // WebKit refused a same-origin-mode fetch that a redirect took to another origin: a
        // Safari export lists it under its own URL, the refused one only in the text (probe-
        // variants2 `so-redirect-to-cross`). Not a same-origin failure; nothing shows more.
        if let Observed::OtherFailure(e) = &facts.observed {
            if refused_for_mode(e) {
                let why = Note::NetworkOrClientFailure { error: e.clone() };
                return uniform_resolution(recorder, facts, Verdict::Unknown, why);
            }
        }
        if let Some(source) = served_by_service_worker(flow, &first, &same_hops) {
            let why = Note::ServedByServiceWorker { source };
            return uniform_resolution(recorder, facts, Verdict::Allowed, why);
        }
        let page_origin = match outside_cors(flow, &first, &facts, client, headers) {
            Ok(p) => p,
            Err(Note::NoPageOrigin) if headers_unlisted(flow) => {
                let why = Note::NoPageOriginHeadersUnlisted;
                return uniform_resolution(recorder, facts, Verdict::Unknown, why);
            }
            Err(why) => {
                let no_cors = matches!(why, Note::NoCorsRequest);
                let mut res = not_cors_resolution(recorder, facts, why);
                if no_cors {
                    doubt_font_loads(flow, &res.facts, recorder, &mut res.browsers);
                }
                return res;
            }
        };
        if order_unknown(flow) {
            return uniform_resolution(recorder, facts, Verdict::Unknown, Note::OrderUnknown);
        }
        // A `304` to the browser's revalidation: the check reads the stored response updated
        // with it. Without the stored response, only a recorded outcome decides.
        let revalidated = match revalidation {
            Revalidation::None => None,
            Revalidation::Merged(f) => Some(f),
            Revalidation::StoredNotInInput if facts.observed != Observed::Succeeded => {
                let why = Note::RevalidatedStoredNotInInput;
                return uniform_resolution(recorder, facts, Verdict::Unknown, why);
            }
            Revalidation::StoredNotInInput => None,
        };
        let flow = revalidated.as_ref().unwrap_or(flow);
        let mut judge = Judge {
            flow,
            recorder,
            facts: &facts,
            page_origin,
            evidence: &self.evidence,
            names_memo: Default::default(),
            fixes: Default::default(),
        };
        // `same_hops` are of `facts.page_origin`, which `page_origin` is.
        judge.names_memo.know_same_origin(page_origin, same_hops);
        let options = credential_options(&facts);
        let mut rec_evals = Readings::new();
        judge.readings(&mut rec_evals, caches, recorder, options, &[], &[]);
        if delivered_outside_cors(flow, &first, &facts, &rec_evals) {
            return not_cors_resolution(recorder, facts, Note::DeliveredOutsideCors);
        }
        let (rec_choice, credentials, rec_notes) =
            choose_with_evidence(recorder, &facts, &rec_evals, absence);
        let recording = Recording::new(flow, &facts, &rec_evals, rec_choice);
        // Each browser's place holds `unknown` until the loop below decides it (what a browser
        // not yet decided reads as: `adopt_recorder_outcome` takes only a decided verdict).
        let mut browsers = PerBrowser::from_fn(|b| plain(b, Verdict::Unknown, vec![]));
        let mut chosen: PerBrowser<Option<(bool, Evaluation)>> = PerBrowser::default();
        for b in ALL_BROWSERS {
            // Each verdict and evaluation written into its place, not moved through a pair.
            if b == recorder {
                let notes = rec_notes.clone();
                judge.verdict(&mut browsers[b], b, &rec_evals, rec_choice, notes, true);
            } else {
                let so_far = browsers[recorder].verdict;
                let (v, c) = (&mut browsers[b], &mut chosen[b]);
                judge.derive(caches, b, credentials, &recording, options, so_far, v, c);
            }
        }
        // The recorder's chosen evaluation, moved out once the others no longer read it.
        chosen[recorder] = rec_choice.map(|i| rec_evals.swap_remove(i));
        unknown_if_mode_ambiguous(&facts, &mut browsers);
        if let Some(allowed) = cached_elsewhere {
            unknown_if_cached_answer(recorder, allowed, &mut browsers);
        }
        doubt_font_loads(flow, &facts, recorder, &mut browsers);
        unknown_where_browsers_part_on_a_retry(flow, &mut browsers);
        let before = cached_in(caches);
        commit_caches(caches, flow, page_origin, &chosen);
        // `before` is part of `cached`; saturating all the same, as a count must never panic.
        self.cached = (self.cached + cached_in(caches)).saturating_sub(before);
        self.keep_cache_budget(flow.time());
        unknown_if_not_a_browser(client, headers, &mut browsers);
        explain_undecided(&mut browsers);
        note_credentials_evidence(&facts, recorder, &mut browsers);
        if revalidated.is_some() {
            for v in browsers.values_mut() {
                v.notes.push(Note::Revalidated);
            }
        }
        self.evidence.record_read(flow, first.str(Read::Origin));
        Resolution {
            facts,
            recorder,
            credentials,
            browsers,
        }
    }

    /// Decides that a single same-site request was not credentialed when it lacks a cookie the
    /// browser holds for its target (a redirect can make a chain cross-site, so only one hop).
    /// `same_hops`: per hop, whether its URL is of `facts.page_origin` ([`same_origin_hops`]).
    fn deduce_from_cookie_jar(&self, flow: &Flow, facts: &mut Facts, same_hops: &[bool]) {
        if facts.credentials_seen.is_some() || flow.hops.len() != 1 {
            return;
        }
        let x = &flow.first().exchange;
        let visible = flow.first().sent
            && !(x.evidence.failed_lists_provisional_headers && x.evidence.no_response);
        let Some(p) = &facts.page_origin else { return };
        if visible
            && !x.request.headers.contains("cookie")
            && !same_hops[0]
            && self.cookies.would_send(&flow.client, p, &x.request.url)
        {
            facts.credentials_seen = Some(false);
            facts.credentials_from_cookie_jar = true;
        }
    }

    /// Decides which cookies the flows after this one find in the jar: this flow's responses
    /// set them (read after the flow's own deduction, which sees only earlier flows).
    fn learn_cookies(&mut self, flow: &Flow) {
        for hop in &flow.hops {
            if let Some(r) = &hop.exchange.response {
                for v in r.headers.get_all("set-cookie") {
                    let v = crate::model::escape_bytes(v);
                    self.cookies
                        .set(&flow.client, &hop.exchange.request.url, &v);
                }
            }
        }
    }

    /// Decides when expired cache entries are dropped: at most once a minute of input time.
    /// Expired entries never answer a lookup and are dropped before any eviction, so when this
    /// sweep runs does not change a verdict; it only frees memory (clients left with empty
    /// caches are forgotten).
    fn expire_caches(&mut self, now: i64) {
        if now.saturating_sub(self.last_expire) <= EXPIRE_EVERY_US {
            return;
        }
        self.sweep(now);
    }

    fn sweep(&mut self, now: i64) {
        self.prune(|c| c.expire(now));
        self.last_expire = now;
    }

    /// Applies `remove` (which drops entries and says how many) to every cache, forgets the
    /// clients left with none, and recounts `cached`; how many entries went.
    fn prune(&mut self, mut remove: impl FnMut(&mut PreflightCache) -> usize) -> usize {
        let (mut cached, mut dropped) = (0, 0);
        self.caches.retain(|_, cs| {
            for c in cs.values_mut() {
                dropped += remove(c);
            }
            cached += cached_in(cs);
            cs.values().any(|c| !c.is_empty())
        });
        self.cached = cached;
        dropped
    }

    /// Decides which entries go when the caches outgrow the budget: the expired ones, then
    /// the least recently made or refreshed, down to three quarters of the budget (so that a
    /// sweep, linear in the entries, runs once per quarter budget of inserts). A request one
    /// of them would have served is then decided as if the input began after its preflight
    /// (`unknown` for the recording browser, not a guess). The order is the clients' own
    /// input order, so it does not depend on the threads.
    fn keep_cache_budget(&mut self, now: i64) {
        if self.cached <= self.cache_budget {
            return;
        }
        self.sweep(now);
        if self.cached <= self.cache_budget {
            return;
        }
        let mut created: Vec<i64> = self
            .caches
            .values()
            .flat_map(|cs| cs.values().flat_map(|c| c.created()))
            .collect();
        let excess = self.cached - self.cache_budget * 3 / 4;
        // `excess` is at least 1 and below `created.len()` (= self.cached).
        let (_, &mut cutoff, _) = created.select_nth_unstable(excess - 1);
        let dropped = self.prune(|c| c.drop_created_until(cutoff));
        self.dropped += dropped as u64;
    }
}

/// Preflight-cache entries one resolver keeps by default, over all its clients and browsers
/// (`--max-cached-preflights`). Entries live for their max-age (up to a day in Firefox): a
/// capture of many clients would otherwise hold every successful preflight of its last hours.
pub const MAX_CACHED_PREFLIGHTS: usize = 32_768;

/// The smallest budget: one client's three caches full (Chromium and Safari keep 1024
/// entries, Firefox 100).
pub(crate) const MIN_CACHE_BUDGET: usize = 4096;

/// Entries in one client's caches.
fn cached_in(caches: &PerBrowser<PreflightCache>) -> usize {
    caches.values().map(PreflightCache::len).sum()
}

/// Input time between two sweeps of expired cache entries, in microseconds.
const EXPIRE_EVERY_US: i64 = 60_000_000;

/// A new client's preflight caches, one per browser.
fn new_caches() -> PerBrowser<PreflightCache> {
    PerBrowser::from_fn(PreflightCache::new)
}

/// Decides which headers show the client: the request's, or, for a request rebuilt from its
/// preflight (it has only `Origin`), the preflight's.
pub(crate) fn client_headers(flow: &Flow) -> &crate::model::Headers {
    match (&flow.first().preflight, flow.first().sent) {
        (Some(pf), false) => &pf.request.headers,
        _ => &flow.first().exchange.request.headers,
    }
}

/// The same not-CORS verdict with the same note for every browser.
/// WebKit's refusal of a fetch whose mode (`same-origin`) forbids the URL it was sent or
/// redirected to, as its console and a Safari export's `_error` give it.
fn refused_for_mode(error: &str) -> bool {
    error.starts_with("Unsafe attempt to load URL")
        || error.contains("not allowed when using same-origin fetch mode")
}

fn not_cors_resolution(recorder: Browser, facts: Facts, why: Note) -> Resolution {
    uniform_resolution(recorder, facts, Verdict::NotCors, why)
}

/// One verdict and note for every browser, decided before any rule runs.
fn uniform_resolution(recorder: Browser, facts: Facts, verdict: Verdict, why: Note) -> Resolution {
    Resolution {
        facts,
        recorder,
        credentials: Credentials::Unknown,
        browsers: PerBrowser::from_fn(|b| plain(b, verdict, vec![why.clone()])),
    }
}

/// The worker's source of the response (`Evidence::service_worker`) when the page's service
/// worker answered a cross-origin request in cors mode and the page got the answer: a
/// worker's response is not CORS-checked (Fetch, HTTP fetch: only an `opaque` one fails a
/// cors request), so the server's headers on it decide nothing. Recorded in Chromium 148
/// (`tools/sw_lab.py`): a built response without `Access-Control-Allow-Origin` reached the
/// page (`200`, type `basic`); DevTools listed the page's request with provisional headers
/// only (no `Origin`), which read as no-cors. Cors mode is the request's `Origin`, or a
/// resource type that is always or by default cors (`fetch`, `xhr`, `font`); other loads
/// (images, scripts) stay with the no-cors rules.
fn served_by_service_worker(
    flow: &Flow,
    first: &FirstRequest,
    same_hops: &[bool],
) -> Option<crate::model::WorkerSource> {
    let last = flow.hops.last()?;
    let x = &last.exchange;
    let source = x.evidence.service_worker?;
    let cross = same_hops.last().is_some_and(|same| !same);
    let delivered = x.response.is_some() && x.evidence.error.is_none();
    let ev = &flow.first().exchange.evidence;
    let cors_mode = first.first_line(Read::Origin).is_some()
        || matches!(ev.resource_type.as_deref(), Some("fetch" | "xhr" | "font"));
    (cross && delivered && cors_mode).then_some(source)
}

/// Decides whether CORS governs the flow at all before any rule runs: `Err` with the note
/// when it does not (a tool's request, traffic CORS never checks, no page origin, a WebSocket
/// handshake, a no-cors request or a navigation), else `Ok` with the page origin.
fn outside_cors<'f>(
    flow: &Flow,
    first: &FirstRequest,
    facts: &'f Facts,
    client: Option<crate::fingerprint::Client>,
    headers: &crate::model::Headers,
) -> Result<&'f str, Note> {
    if let Some(c @ crate::fingerprint::Client::NotBrowser(_)) = client {
        return Err(Note::Client(
            crate::fingerprint::doubt(c, headers).unwrap_or_default(),
        ));
    }
    if let Some(why) = not_cors_traffic(flow, first, facts) {
        return Err(why);
    }
    let Some(page_origin) = facts.page_origin.as_deref() else {
        return Err(Note::NoPageOrigin);
    };
    if is_websocket_handshake(&flow.first().exchange.request, first) {
        return Err(Note::WebSocketHandshake);
    }
    match facts.mode {
        Mode::NoCors => Err(Note::NoCorsRequest),
        Mode::Navigate => Err(Note::Navigation),
        _ => Ok(page_origin),
    }
}

/// Decides which credentials modes are still possible: the one the input shows, else only
/// the uncredentialed one for a CSS font load (its mode is `same-origin`: a cross-origin font
/// is never credentialed), else both.
fn credential_options(facts: &Facts) -> &'static [bool] {
    match facts.credentials_seen {
        Some(c) => one_option(c),
        None if facts.is_font => &[false],
        None => &[false, true],
    }
}

/// The credentials modes of one reading.
fn one_option(include: bool) -> &'static [bool] {
    if include {
        &[true]
    } else {
        &[false]
    }
}

/// A browser's evaluations, one per credentials reading: at most two, kept inline.
type Readings = smallvec::SmallVec<[(bool, Evaluation); 2]>;

/// Decides that a delivered response every CORS reading blocks was not a CORS request, where
/// cors mode was itself an inference. An explicit `Sec-Fetch-Mode: cors`, a preflight, XHR or
/// a redirect chain (whose exported headers are often mangled) keep the rules' reading, and
/// the evidence then overrides it with a note.
fn delivered_outside_cors(
    flow: &Flow,
    first: &FirstRequest,
    facts: &Facts,
    rec_evals: &[(bool, Evaluation)],
) -> bool {
    let mode_was_inferred = flow.hops.len() == 1
        && flow.first().preflight.is_none()
        && facts.initiator != Initiator::Xhr
        && !first.has(Read::SecFetchMode);
    facts.observed == Observed::Succeeded
        && mode_was_inferred
        && !rec_evals.is_empty()
        && rec_evals
            .iter()
            .all(|(_, e)| matches!(e.decision, Decision::Blocked(_)))
}

/// What the recording browser's chosen reading tells the other browsers.
struct Recording<'a> {
    evals: &'a [(bool, Evaluation)],
    choice: Option<usize>,
    /// Per hop: the recorder got past this hop's preflight.
    passed: super::engine::PerHop<bool>,
    /// Per hop: the unsafe names the recorder announced.
    names: &'a [super::engine::Names],
}

impl<'a> Recording<'a> {
    fn new(
        flow: &Flow,
        facts: &Facts,
        evals: &'a [(bool, Evaluation)],
        choice: Option<usize>,
    ) -> Self {
        let chosen = choice.map(|i| &evals[i].1);
        Self {
            evals,
            choice,
            passed: (0..flow.hops.len())
                .map(|h| chosen.is_some_and(|e| got_past_preflight(e, h, &facts.observed)))
                .collect(),
            names: chosen.map_or(&[], |e| &e.unsafe_names),
        }
    }

    fn chosen(&self) -> Option<&'a (bool, Evaluation)> {
        self.choice.map(|i| &self.evals[i])
    }
}

/// One flow under judgement: what every per-browser stage reads.
struct Judge<'a> {
    flow: &'a Flow,
    recorder: Browser,
    facts: &'a Facts,
    page_origin: &'a str,
    evidence: &'a super::counterfactual::EndpointEvidence,
    names_memo: super::engine::NamesMemo,
    fixes: Fixes,
}

/// The fixes written for a flow's blocks, with the block and credentials reading each was
/// written for: a fix depends on those and the flow, not on the browser, and the browsers
/// that agree on a block would write the same text again (`fix::fix_for`).
type Fixes = std::cell::RefCell<Vec<(Blocked, bool, String)>>;

impl Judge<'_> {
    /// The engine's evaluation of the flow for `browser` under each credentials mode of
    /// `options`, given what the recorder's reading tells (`passed`, `names`; empty for the
    /// recorder itself).
    ///
    /// Written into `evals` (empty), the caller's: returned, the list (608 bytes) was copied.
    fn readings(
        &self,
        evals: &mut Readings,
        caches: &PerBrowser<PreflightCache>,
        browser: Browser,
        options: &[bool],
        passed: &[bool],
        names: &[super::engine::Names],
    ) {
        for &include in options {
            let cx = Context {
                browser,
                recorder: self.recorder,
                include,
                page_origin: self.page_origin,
                cache: &caches[browser],
                recorder_passed_preflight: passed,
                recorder_unsafe_names: names,
                is_font: self.facts.is_font,
                evidence: Some(self.evidence),
                names_memo: Some(&self.names_memo),
            };
            // Evaluated in its place in the list, not returned and moved in.
            evals.push((include, Evaluation::empty()));
            if let Some((_, ev)) = evals.last_mut() {
                evaluate_into(self.flow, &cx, ev);
            }
        }
    }

    /// Writes `browser`'s verdict from its readings into `v` (in place: a verdict is 288 bytes).
    fn verdict(
        &self,
        v: &mut BrowserVerdict,
        browser: Browser,
        evals: &[(bool, Evaluation)],
        choice: Option<usize>,
        notes: Vec<Note>,
        is_recorder: bool,
    ) {
        verdict_from(
            v,
            browser,
            self.flow,
            self.facts,
            self.page_origin,
            evals,
            choice,
            notes,
            is_recorder,
            &self.fixes,
        )
    }

    /// Decides another browser's verdict from the rules and the recorder's reading, then the
    /// overrides: the recorder's outcome where both faced the same hidden answer, Firefox's
    /// network errors, and a recording that contradicts the rules. `recorder_verdict` is the
    /// recorder's verdict so far (`unknown` while it is not decided). Writes the verdict into
    /// `v` and the evaluation its cache commits into `chosen` (in place: both are large).
    #[allow(clippy::too_many_arguments)]
    fn derive(
        &self,
        caches: &PerBrowser<PreflightCache>,
        b: Browser,
        credentials: Credentials,
        rec: &Recording,
        options: &'static [bool],
        recorder_verdict: Verdict,
        v: &mut BrowserVerdict,
        chosen: &mut Option<(bool, Evaluation)>,
    ) {
        let opts = derived_options(credentials, rec, &self.facts.observed, options);
        let mut evals = Readings::new();
        self.readings(&mut evals, caches, b, opts, &rec.passed, rec.names);
        let (choice, note) = combine(b, &evals, self.facts.listed_unsent);
        self.verdict(v, b, &evals, choice, note.into_iter().collect(), false);
        // A Safari export folds a redirect chain into its last request and lists no
        // preflight, so "the same requests" cannot be told from it: the gap both readings share
        // may not be where the recorder failed (it failed a redirected request's preflight).
        if v.verdict == Verdict::Unknown
            && self.flow.flavour != crate::model::Flavour::SafariHar
            && same_hidden_answer(&evals, rec.evals, rec.choice)
        {
            adopt_recorder_outcome(v, self.recorder, recorder_verdict, self.facts);
        }
        if let Some(n) = firefox_network_error(b, self.flow, &self.facts.observed) {
            *v = n;
        }
        if contradicted(&self.facts.observed, rec, v) {
            *v = plain(
                b,
                Verdict::Unknown,
                vec![Note::Contradicted {
                    recorder: self.recorder,
                    browser: b,
                }],
            );
        }
        // The chosen evaluation is moved out, not cloned: nothing reads the others after.
        *chosen = choice.map(|i| evals.swap_remove(i));
    }
}

/// Decides the credentials modes a derived browser is judged under: the deduced one, else the
/// reading the evidence already picked for the recorder (so that every browser judges the
/// same page code), else every option.
fn derived_options(
    credentials: Credentials,
    rec: &Recording,
    observed: &Observed,
    options: &'static [bool],
) -> &'static [bool] {
    match credentials {
        Credentials::Include => &[true],
        Credentials::Omit => &[false],
        Credentials::Unknown => match (rec.chosen(), observed) {
            (
                Some((include, _)),
                Observed::CorsFailure(_)
                | Observed::Succeeded
                | Observed::NotSent
                | Observed::PreflightsPassed
                | Observed::NotObserved,
            ) => one_option(*include),
            _ => options,
        },
    }
}

/// Decides an undecided derived browser by the recorder's outcome: it sent the same requests,
/// which the server answered the same way. The recorder's verdict is taken when it is already
/// decided (it comes before `v` in `ALL_BROWSERS`), else its observed outcome.
fn adopt_recorder_outcome(
    v: &mut BrowserVerdict,
    recorder: Browser,
    recorder_verdict: Verdict,
    facts: &Facts,
) {
    let decided =
        Some(recorder_verdict).filter(|r| matches!(r, Verdict::Allowed | Verdict::Blocked));
    if let Some(outcome) = decided.or(recorder_outcome(facts)) {
        v.verdict = outcome;
        v.notes = vec![Note::SameRequestsAs {
            browser: v.browser,
            recorder,
        }];
    }
}

/// Decides Firefox's verdict on a network error: unknown in every browser, never a CORS block,
/// though Firefox's console names it like one. `None` where it does not apply.
fn firefox_network_error(b: Browser, flow: &Flow, observed: &Observed) -> Option<BrowserVerdict> {
    if b != Browser::Firefox || !b.profile().network_error_is_cors_error {
        return None;
    }
    let Observed::OtherFailure(err) = observed else {
        return None;
    };
    if !is_network_error(err) {
        return None;
    }
    let url = &flow.last().exchange.request.url;
    let named = super::reason::firefox_network_error(url);
    Some(plain(
        b,
        Verdict::Unknown,
        vec![Note::FirefoxNetworkError {
            error: err.clone(),
            reason: named.reason,
            message: named.message,
        }],
    ))
}

/// Decides whether the recording contradicts the rules for its own browser in the direction
/// of `v`: then the same data cannot be trusted to decide another browser either. A CORS
/// failure the recorder's rules do not explain as a block (they allow, or the input lacks what
/// they need: a preflight or a response not exported) leaves a derived `allowed` resting on
/// data that misses what failed.
fn contradicted(observed: &Observed, rec: &Recording, v: &BrowserVerdict) -> bool {
    match (observed, rec.chosen().map(|(_, e)| &e.decision)) {
        (Observed::Succeeded, Some(Decision::Blocked(_))) => v.verdict == Verdict::Blocked,
        (Observed::CorsFailure(_), Some(Decision::Allowed | Decision::Undecidable(_)) | None) => {
            v.verdict == Verdict::Allowed
        }
        _ => false,
    }
}

/// Leaves open every other browser the recorder's network answer allowed where that browser's
/// HTTP cache may have held an answer for another origin ([`Resolver::cached_for_another_origin`]):
/// taken from the cache, the request fails the CORS check (recorded: tests/data/probe-httpcache
/// `hc-share-novary-2` over HTTPS, where Chromium, which does not cache answers received with a
/// certificate error, went to the server while Firefox and WebKit used their caches).
fn unknown_if_cached_answer(
    recorder: Browser,
    allowed: String,
    browsers: &mut PerBrowser<BrowserVerdict>,
) {
    for b in ALL_BROWSERS {
        let v = &mut browsers[b];
        if b != recorder && v.verdict == Verdict::Allowed {
            v.verdict = Verdict::Unknown;
            v.notes = vec![Note::MayUseCachedAnswer {
                browser: b,
                recorder,
                allowed: allowed.clone(),
            }];
        }
    }
}

/// Where browsers part on an answer a browser may send the request again on (a `408` on a
/// reused connection, a proxy's `407` to a preflight): [`Profile`] says which read it as the
/// answer (`reads_408_on_reused_connection_as_answer`: Firefox and WebKit;
/// `reads_407_to_a_preflight_as_answer`: WebKit) and which resend.
/// - The answer kept (the sending browser read it so: `Evidence::closed_unanswered` with a
///   response): the browsers that resend instead are `unknown`, their retry not in the input.
/// - The retry in the input (`Evidence::retry_after`, the attempt folded by pairing): the
///   browsers that read such an answer as the answer are `unknown`, as they would have stopped
///   at it had they met it.
///
/// [`Profile`]: super::browser::Profile
fn unknown_where_browsers_part_on_a_retry(flow: &Flow, browsers: &mut PerBrowser<BrowserVerdict>) {
    let parts = |by: EndedBy| matches!(by, EndedBy::Timeout | EndedBy::ProxyAuth);
    // (the preflight's, what ended the attempt, whether the answer was kept)
    let of = |x: &crate::model::Exchange, preflight: bool| {
        let kept = x
            .evidence
            .closed_unanswered
            .filter(|_| x.response.is_some());
        let (by, answered) = match kept {
            Some(c) => (c.by, true),
            None => (x.evidence.retry_after?, false),
        };
        (parts(by) && (preflight || by == EndedBy::Timeout)).then_some((preflight, by, answered))
    };
    let Some((preflight, by, answered)) = flow.hops.iter().find_map(|h| {
        h.preflight
            .as_ref()
            .and_then(|p| of(p, true))
            .or_else(|| h.sent.then(|| of(&h.exchange, false)).flatten())
    }) else {
        return;
    };
    let reads_as_answer = |b: &Browser| {
        let p = b.profile();
        match by {
            EndedBy::Timeout => p.reads_408_on_reused_connection_as_answer,
            _ => p.reads_407_to_a_preflight_as_answer,
        }
    };
    for b in ALL_BROWSERS
        .into_iter()
        .filter(|b| reads_as_answer(b) != answered)
    {
        let note = if answered {
            Note::ClosedUnanswered {
                preflight,
                reused: true,
                by,
            }
        } else {
            Note::RetryWouldStop { preflight, by }
        };
        browsers[b] = plain(b, Verdict::Unknown, vec![note]);
    }
}

/// Decides that a block is unknown when the mode is ambiguous and nothing was observed: a
/// no-cors request is not checked, and nothing on the wire tells the two apart.
fn unknown_if_mode_ambiguous(facts: &Facts, browsers: &mut PerBrowser<BrowserVerdict>) {
    if facts.mode != Mode::Ambiguous || facts.observed != Observed::NotObserved {
        return;
    }
    for v in browsers.values_mut() {
        if v.verdict == Verdict::Blocked {
            v.verdict = Verdict::Unknown;
            v.notes = vec![Note::BlockedIfCorsMode { reason: v.reason }];
        }
    }
}

/// Decides what each browser's preflight cache holds after the flow: the preflights its
/// chosen evaluation passed are stored (timed by the preflight), and the entry of a blocked
/// request is cleared.
fn commit_caches(
    caches: &mut PerBrowser<PreflightCache>,
    flow: &Flow,
    page_origin: &str,
    chosen: &PerBrowser<Option<(bool, Evaluation)>>,
) {
    // Read in place: moving each evaluation out cost more than the reading.
    for (cache, choice) in caches.values_mut().zip(chosen.values()) {
        let Some((include, ev)) = choice else {
            continue;
        };
        let include = *include;
        for p in &ev.passed {
            let hop = &flow.hops[p.hop];
            let time = hop
                .preflight
                .as_ref()
                .map_or(hop.exchange.time, |pf| pf.time);
            let (origin, url) = (p.origin(page_origin), &hop.exchange.request.url);
            cache.insert(&flow.client, origin, url, time, include, &p.allowed);
        }
        if let Decision::Blocked(b) = &ev.decision {
            cache.clear(&flow.client, &b.request_origin, &b.url);
        }
    }
}

/// Decides that a block is unknown for a client that names itself but is not recognisably a
/// browser: a browser would block it, a tool would not be checked at all. (Without any
/// User-Agent the request is taken as a browser's, as always before.)
fn unknown_if_not_a_browser(
    client: Option<crate::fingerprint::Client>,
    headers: &crate::model::Headers,
    browsers: &mut PerBrowser<BrowserVerdict>,
) {
    let Some(c @ crate::fingerprint::Client::Unknown) = client else {
        return;
    };
    if !headers.contains("user-agent") {
        return;
    }
    let doubt = crate::fingerprint::doubt(c, headers);
    for v in browsers
        .values_mut()
        .filter(|v| v.verdict == Verdict::Blocked)
    {
        let note = Note::BlockedIfBrowser {
            reason: v.reason,
            doubt: doubt.clone(),
        };
        *v = plain(v.browser, Verdict::Unknown, vec![note]);
    }
}

/// Decides the note of a problem verdict no rule explained: the Why column is never empty for
/// a problem, so it says what would decide it.
fn explain_undecided(browsers: &mut PerBrowser<BrowserVerdict>) {
    for v in browsers.values_mut() {
        if matches!(v.verdict, Verdict::Blocked | Verdict::Unknown)
            && v.reason.is_none()
            && v.notes.is_empty()
        {
            v.notes = vec![Note::Undecided];
        }
    }
}

/// Decides the notes on how the credentials mode was read: from the cookie jar (the recorder
/// only) or from the connections (every browser).
fn note_credentials_evidence(
    facts: &Facts,
    recorder: Browser,
    browsers: &mut PerBrowser<BrowserVerdict>,
) {
    if facts.credentials_from_cookie_jar {
        browsers[recorder].notes.push(Note::CookieJar);
    }
    if facts.credentials_from_connection {
        let why = if facts.credentials_seen == Some(true) {
            Note::ConnectionCarriedCookie
        } else {
            Note::ConnectionCarriedPreflight
        };
        for v in browsers.values_mut() {
            v.notes.push(why.clone());
        }
    }
}

/// Traffic that CORS does not govern, whatever its headers: WebSocket handshakes, browser
/// extensions' own requests, and requests that failed at the network level before any CORS
/// check when they were same-origin or no-cors. The note says which.
fn not_cors_traffic(flow: &Flow, first_read: &FirstRequest, facts: &Facts) -> Option<Note> {
    let first = &flow.first().exchange;
    let req = &first.request;
    // The scheme compared in place (the lists are lower case), not lower-cased into a copy.
    // The text before the first `:` (all of it without one), found by a byte search: the
    // `char` pattern's searcher cost more than the rest of the test.
    let scheme_in = |u: &str, schemes: &[&str]| {
        let scheme = &u.as_bytes()[..u.bytes().position(|b| b == b':').unwrap_or(u.len())];
        schemes
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s.as_bytes()))
    };
    let websocket = scheme_in(&req.url, &["ws", "wss"])
        || first_read
            .str(Read::Upgrade)
            .is_some_and(|u| u.trim().eq_ignore_ascii_case("websocket"))
        || first
            .evidence
            .resource_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("websocket"))
        || first.response.as_ref().is_some_and(|r| r.status == 101);
    if websocket {
        return Some(Note::WebSocketTraffic);
    }
    const EXTENSION_SCHEMES: &[&str] = &[
        "chrome-extension",
        "moz-extension",
        "safari-web-extension",
        "extension",
    ];
    let named_source = [Read::Origin, Read::Referer]
        .into_iter()
        .filter_map(|h| first_read.str(h))
        .chain(std::iter::once(Cow::Borrowed(req.url.as_str())))
        .find(|v| scheme_in(v, EXTENSION_SCHEMES));
    if let Some(src) = named_source {
        return Some(Note::ExtensionTraffic {
            source: src.split('/').take(3).collect::<Vec<_>>().join("/"),
        });
    }
    // A network failure (the request never got an answer) of a same-origin or no-cors
    // request: no CORS check could have run, and none would have.
    if let Observed::OtherFailure(err) = &facts.observed {
        if first.response.is_none() {
            let same = facts
                .page_origin
                .as_deref()
                .is_some_and(|p| same_origin(&req.url, p));
            if same {
                return Some(Note::SameOriginNetworkFailure { error: err.clone() });
            }
            if facts.mode == Mode::NoCors {
                return Some(Note::NoCorsNetworkFailure { error: err.clone() });
            }
        }
    }
    None
}

fn recorder_outcome(facts: &Facts) -> Option<Verdict> {
    match facts.observed {
        Observed::Succeeded => Some(Verdict::Allowed),
        Observed::CorsFailure(_) | Observed::Dropped => Some(Verdict::Blocked),
        _ => None,
    }
}

fn plain(browser: Browser, verdict: Verdict, notes: Vec<Note>) -> BrowserVerdict {
    BrowserVerdict {
        browser,
        verdict,
        reason: None,
        failed_parameter: None,
        message: None,
        fix: None,
        blocked: None,
        notes,
        cache_hits: Vec::new(),
    }
}

fn is_network_error(err: &str) -> bool {
    let e = err.to_ascii_uppercase();
    !(e.contains("ERR_ABORTED") || e.contains("ERR_BLOCKED_BY") || e.contains("ERR_FAILED"))
}

/// Did the recording browser get past hop `h`'s preflight (so its answer was acceptable)?
fn got_past_preflight(ev: &Evaluation, h: usize, observed: &Observed) -> bool {
    if *observed == Observed::Succeeded {
        // The page got the response: every preflight on the way passed.
        return true;
    }
    if ev.passed.iter().any(|p| p.hop == h) || ev.cache_hits.iter().any(|(i, _)| *i == h) {
        return true;
    }
    match &ev.decision {
        Decision::Allowed => true,
        Decision::Blocked(b) => b.hop > h || (b.hop == h && b.stage != Stage::Preflight),
        Decision::Undecidable(Missing::Preflight { hop }) => {
            // Not recorded (Playwright): a success proves the preflight passed.
            *hop == h && *observed == Observed::Succeeded || *hop > h
        }
        Decision::Undecidable(m) => missing_hop(m) > h,
        Decision::NotCors(_) => false,
    }
}

fn missing_hop(m: &Missing) -> usize {
    match m {
        Missing::Preflight { hop }
        | Missing::PreflightNotSentByRecorder { hop, .. }
        | Missing::PreflightOtherOrigin { hop, .. }
        | Missing::ValueNotVisible { hop, .. }
        | Missing::PreflightResponse { hop }
        | Missing::NotSent { hop }
        | Missing::Response { hop }
        | Missing::NextHop { hop }
        | Missing::ResponseHead { hop, .. } => *hop,
    }
}

/// Whether a derived browser is undecided only for want of a server answer that the recording
/// browser also needed (same hop, same kind of gap).
fn same_hidden_answer(
    evals: &[(bool, Evaluation)],
    rec: &[(bool, Evaluation)],
    rec_choice: Option<usize>,
) -> bool {
    let Some(ri) = rec_choice else { return false };
    let rec_missing = match &rec[ri].1.decision {
        Decision::Undecidable(m) => Some(m.clone()),
        _ => None,
    };
    evals.iter().all(|(_, e)| match &e.decision {
        Decision::Undecidable(
            m @ (Missing::Preflight { .. } | Missing::Response { .. } | Missing::NotSent { .. }),
        ) => {
            // Only the same gap: where the recorder was decided by rules, a browser that is
            // left undecided got past the check that stopped the recorder.
            rec_missing
                .as_ref()
                .is_some_and(|r| missing_hop(r) == missing_hop(m))
                && e.unsafe_names == rec[ri].1.unsafe_names
        }
        Decision::Undecidable(_) => false,
        _ => true,
    }) && evals
        .iter()
        .any(|(_, e)| matches!(e.decision, Decision::Undecidable(_)))
}

/// Whether a flow's `304` answered the browser's revalidation of a stored response
/// ([`Resolver::revalidation`]).
enum Revalidation {
    None,
    /// The flow with each revalidated hop's stored headers updated by its `304`'s.
    Merged(Flow),
    /// A revalidation whose stored response is not in the input: its headers decide.
    StoredNotInInput,
}

/// What a request missing after its preflight shows, as the input's evidence says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Absence {
    /// What the browser did: it never sent the request (a capture without loss).
    NotSent,
    /// Nothing (`Evidence::absence_is_no_evidence`): the export stopped, the page closed, an
    /// AbortController fired; the browser lists a request its preflight stopped, with its error.
    Export,
    /// Nothing (`Evidence::absence_may_be_loss`): the capture lost packets the client sent to
    /// the server then, and the request may have been among them; or it ended this soon after
    /// the preflight's answer (`Evidence::capture_ended_after`).
    MaybeLost { ended_after: Option<Micros> },
    /// Nothing: an earlier response to the same URL may still have been fresh in the browser's
    /// HTTP cache, which answers the request without the network (`httpcache`).
    MaybeCached,
}

impl Absence {
    /// The export's flag holds for every hop of a flow (it comes from the input's flavour);
    /// the loss mark only on the hop whose request is missing, which is the flow's last (a
    /// redirect's preflight that was never followed ends it).
    ///
    /// The HTTP cache matters only where the absence would otherwise be evidence: a capture's,
    /// or an export that leaves out blocked requests (chrome-har leaves out the ones its
    /// browser's cache answered too).
    fn of(flow: &Flow, cache: &super::httpcache::HttpCacheHints) -> Absence {
        let last = flow.last();
        let cached = || {
            !last.sent
                && cache.may_answer(&flow.client, &last.exchange.request.url, last.exchange.time)
        };
        let evidence = &last.exchange.evidence;
        if flow.first().exchange.evidence.absence_is_no_evidence {
            if evidence.recording == OutcomeRecording::DropsBlocked && cached() {
                Absence::MaybeCached
            } else {
                Absence::Export
            }
        } else if evidence.absence_may_be_loss {
            Absence::MaybeLost {
                ended_after: evidence.capture_ended_after,
            }
        } else if cached() {
            Absence::MaybeCached
        } else {
            Absence::NotSent
        }
    }
}

/// For the recording browser: the evaluation the evidence supports, the deduced credentials
/// mode and a note. Ties go to the uncredentialed reading (fetch's default mode).
/// `absence` ([`Absence`]): whether a request that never followed its preflight is evidence
/// of a block.
fn choose_with_evidence(
    browser: Browser,
    facts: &Facts,
    evals: &[(bool, Evaluation)],
    absence: Absence,
) -> (Option<usize>, Credentials, Vec<Note>) {
    let is_blocked = |e: &Evaluation| matches!(e.decision, Decision::Blocked(_));
    let is_allowed = |e: &Evaluation| matches!(e.decision, Decision::Allowed);
    let creds_of = |idxs: &[usize]| -> Credentials {
        if evals.len() == 1 {
            return if evals[0].0 {
                Credentials::Include
            } else {
                Credentials::Omit
            };
        }
        match idxs {
            [i] => {
                if evals[*i].0 {
                    Credentials::Include
                } else {
                    Credentials::Omit
                }
            }
            _ => Credentials::Unknown,
        }
    };
    // At most two readings: kept inline.
    let pick = |pred: &dyn Fn(&Evaluation) -> bool| -> smallvec::SmallVec<[usize; 2]> {
        (0..evals.len()).filter(|&i| pred(&evals[i].1)).collect()
    };
    match &facts.observed {
        Observed::NotSent
            if absence != Absence::NotSent && pick(&is_blocked).len() < evals.len() =>
        {
            // Credentials are deduced only from an observed failure of the request itself,
            // never from its absence.
            let (choice, note) = combine(browser, evals, facts.listed_unsent);
            let mut notes = vec![match absence {
                Absence::MaybeLost { ended_after: None } => Note::MissingRequestMayBeLost,
                Absence::MaybeLost {
                    ended_after: Some(us),
                } => Note::MissingRequestAfterCaptureEnd {
                    after_ms: us / 1000,
                },
                Absence::MaybeCached => Note::MissingRequestMayBeCached,
                _ => Note::NeverFollowedPreflight,
            }];
            notes.extend(note.filter(|_| choice.is_none()));
            (choice, Credentials::Unknown, notes)
        }
        Observed::CorsFailure(_) | Observed::NotSent => {
            // A reading that blocks a hop the browser went past (a later hop is in the input:
            // it followed the redirect, at least to preflight its target) is not what happened.
            let went_past = |e: &Evaluation| matches!(&e.decision, Decision::Blocked(b) if b.hop + 1 < facts.hops);
            let b = pick(&|e| is_blocked(e) && !went_past(e));
            if let Some(&first) = b.first() {
                let deduced = creds_of(&b);
                let note = (evals.len() > 1 && deduced == Credentials::Include).then_some(
                    Note::CredentialsDeduced {
                        mode: deduced,
                        by_preflight: false,
                    },
                );
                return (Some(first), deduced, note.into_iter().collect());
            }
            let (choice, _) = combine(browser, evals, facts.listed_unsent);
            let passed = evals.iter().all(|(_, e)| is_allowed(e));
            let note = match &facts.observed {
                Observed::CorsFailure(e) => Note::ReportedUnexplained { error: e.clone() },
                _ if passed => Note::PassedButNeverFollowed,
                // Undecided for want of an answer (the preflight's, lost or never given).
                _ => Note::NotFollowed,
            };
            (choice.or(Some(0)), creds_of(&[]), vec![note])
        }
        Observed::Succeeded => {
            let a = pick(&is_allowed);
            if let Some(&first) = a.first() {
                return (Some(first), creds_of(&a), Vec::new());
            }
            let (choice, _) = combine(browser, evals, facts.listed_unsent);
            (choice.or(Some(0)), creds_of(&[]), Vec::new())
        }
        Observed::Dropped => {
            // Prefer the reading the visible responses explain, like a reported failure; the
            // other (a later, unseen check failed) stays possible, and the note says so.
            let b = pick(&is_blocked);
            if let Some(&first) = b.first() {
                let note = (b.len() < evals.len()).then_some(Note::DroppedReasonShown);
                return (Some(first), creds_of(&b), note.into_iter().collect());
            }
            (None, Credentials::Unknown, vec![Note::DroppedCheckUnknown])
        }
        Observed::PreflightsPassed => {
            followed_its_preflights(browser, evals, facts.listed_unsent, &creds_of)
        }
        // Chromium fails a CORS check with ERR_FAILED, never ERR_ABORTED: a request aborted
        // after its recorded preflight got past that preflight (a credentialed request would
        // have failed an `ACAO: *` preflight with ERR_FAILED), so it tells the credentials
        // mode the same way a followed preflight does. (Only an export records failure text,
        // and only an export makes absence no evidence.)
        Observed::OtherFailure(_) if absence == Absence::Export && facts.chromium_abort => {
            followed_its_preflights(browser, evals, facts.listed_unsent, &creds_of)
        }
        _ => {
            let (choice, note) = combine(browser, evals, facts.listed_unsent);
            (choice, creds_of(&[]), note.into_iter().collect())
        }
    }
}

/// The request followed its recorded preflights, so they passed: keep the readings under which
/// every one of them passes, and deduce the credentials mode where only one is left.
fn followed_its_preflights(
    browser: Browser,
    evals: &[(bool, Evaluation)],
    unsent: bool,
    creds_of: &dyn Fn(&[usize]) -> Credentials,
) -> (Option<usize>, Credentials, Vec<Note>) {
    let keep: Vec<usize> = (0..evals.len())
        .filter(|&i| {
            facts_preflight_hops(&evals[i].1)
                .iter()
                .all(|&h| got_past_preflight(&evals[i].1, h, &Observed::NotObserved))
        })
        .collect();
    if keep.is_empty() || keep.len() == evals.len() {
        let (choice, note) = combine(browser, evals, unsent);
        return (choice, creds_of(&[]), note.into_iter().collect());
    }
    let subset: Vec<(bool, Evaluation)> = keep.iter().map(|&i| evals[i].clone()).collect();
    let (choice, note) = combine(browser, &subset, unsent);
    let deduced = creds_of(&keep);
    let note = note.or_else(|| {
        (deduced != Credentials::Unknown).then_some(Note::CredentialsDeduced {
            mode: deduced,
            by_preflight: true,
        })
    });
    (choice.map(|c| keep[c]), deduced, note.into_iter().collect())
}

/// The hops whose recorded preflight this evaluation judged (passed or failed).
fn facts_preflight_hops(e: &Evaluation) -> Vec<usize> {
    let mut hops: Vec<usize> = e.passed.iter().map(|p| p.hop).collect();
    if let Decision::Blocked(b) = &e.decision {
        if b.stage == Stage::Preflight {
            hops.push(b.hop);
        }
    }
    hops
}

/// Without evidence: one reading if all agree, else none (unknown) with the alternatives,
/// each block named as `browser` names it. `unsent`: [`Facts::listed_unsent`].
fn combine(
    browser: Browser,
    evals: &[(bool, Evaluation)],
    unsent: bool,
) -> (Option<usize>, Option<Note>) {
    let Some((_, first)) = evals.first() else {
        return (None, None);
    };
    if evals
        .iter()
        .all(|(_, e)| same_outcome(&e.decision, &first.decision))
    {
        return (Some(0), None);
    }
    // A request sent without a preflight that one reading explains by a cached preflight and
    // another would have needed a fresh one for: the browser sent none, so the cached reading
    // is the one the recording supports (an uncredentialed entry never serves `include`).
    // Not where the export lists the request as never sent: the cached reading has it sent
    // (the preflight that stopped it may be missing from the export).
    let cached: Vec<usize> = (0..evals.len())
        .filter(|_| !unsent)
        .filter(|&i| {
            !evals[i].1.cache_hits.is_empty()
                && !matches!(evals[i].1.decision, Decision::Undecidable(_))
        })
        .collect();
    if !cached.is_empty()
        && evals.iter().enumerate().all(|(i, (_, e))| {
            cached.contains(&i)
                || matches!(e.decision, Decision::Undecidable(Missing::Preflight { .. }))
        })
    {
        return (Some(cached[0]), None);
    }
    let alternatives = evals
        .iter()
        .map(|(include, e)| Alternative {
            include: *include,
            outcome: match &e.decision {
                Decision::Allowed => AlternativeOutcome::Allowed,
                Decision::Blocked(b) => AlternativeOutcome::Blocked(reason_name(browser, b)),
                Decision::NotCors(_) => AlternativeOutcome::NotCors,
                Decision::Undecidable(m) => AlternativeOutcome::Undecidable(m.clone()),
            },
        })
        .collect();
    let note = Note::CredentialsNotVisible { alternatives };
    // Blocked under every reading: the verdict is certain; the reason shown is the
    // uncredentialed reading's (fetch's default), with the alternative in the note.
    if evals
        .iter()
        .all(|(_, e)| matches!(e.decision, Decision::Blocked(_)))
    {
        let i = evals.iter().position(|(c, _)| !*c).unwrap_or(0);
        return (Some(i), Some(note));
    }
    (None, Some(note))
}

/// Whether two readings end the same way: the same decision, a block by the same failure
/// (wherever it was found).
fn same_outcome(a: &Decision, b: &Decision) -> bool {
    match (a, b) {
        (Decision::Blocked(x), Decision::Blocked(y)) => x.failure == y.failure,
        _ => a == b,
    }
}

/// The name `browser` gives the block (its reason registry row), or its console text where
/// it gives none: never corscope's internal failure name.
fn reason_name(browser: Browser, b: &Blocked) -> String {
    match super::registry::reason_for(browser, b.failure.kind(), b.stage) {
        Some(row) if !row.name.is_empty() => row.name.to_owned(),
        Some(row) => format!("\"{}\"", row.console),
        // `every_failure_has_a_row_in_every_browser` keeps this unreachable.
        None => "a CORS check".to_owned(),
    }
}

/// A hop of a flow as a person reads it: "the request" for the first, "hop N of the redirect
/// chain" after it (never "request N", which reads like entry N of the input).
pub(crate) fn hop_name(hop: usize) -> String {
    if hop == 0 {
        "the request".to_owned()
    } else {
        format!("hop {} of the redirect chain", hop + 1)
    }
}

pub(crate) fn describe_missing(m: &Missing) -> String {
    match m {
        Missing::Preflight { hop } => format!(
            "{} needed a preflight; the preflight is not in the export and no earlier preflight in it covers the request (exported with a filter, cached before recording started, or a tool that omits preflights)",
            hop_name(*hop)
        ),
        Missing::PreflightNotSentByRecorder { why, .. } => format!(
            "{why}; the recording browser sent no preflight, so the server's answer to it is not in the input"
        ),
        Missing::PreflightOtherOrigin { why, .. } => {
            format!("{why}, so the server's answer to it is not in the input")
        }
        Missing::ValueNotVisible { why, .. } => format!(
            "{why}; whether it sent a preflight, and what the server answered, is not in the input"
        ),
        Missing::PreflightResponse { hop } => {
            format!("the response to the preflight of {} is not in the input", hop_name(*hop))
        }
        Missing::NotSent { .. } => "the request itself never appeared after its preflight".into(),
        Missing::Response { hop } => {
            format!("the response to {} is not in the input", hop_name(*hop))
        }
        Missing::NextHop { hop } => format!(
            "{} was redirected, but the redirected request is not in the input",
            hop_name(*hop)
        ),
        Missing::ResponseHead { why, .. } => why.clone(),
    }
}

/// Why an answer `m` misses is not in the input: the connection ended before it came
/// (`Evidence::closed_unanswered`), where it did.
fn closed_unanswered(flow: &Flow, m: &Missing) -> Option<Note> {
    let (hop, preflight) = match m {
        Missing::PreflightResponse { hop } => (flow.hops.get(*hop)?, true),
        Missing::Response { hop } => (flow.hops.get(*hop)?, false),
        _ => return None,
    };
    let x = if preflight {
        hop.preflight.as_ref()?
    } else {
        &hop.exchange
    };
    let closed = x.evidence.closed_unanswered?;
    Some(Note::ClosedUnanswered {
        preflight,
        reused: closed.reused,
        by: closed.by,
    })
}

/// Decides one browser's verdict from its chosen reading (`choice` into `evals`, none when the
/// readings disagree): the decision's verdict, reason, message and fix, then, for the
/// recording browser, what the evidence overrides.
#[allow(clippy::too_many_arguments)]
fn verdict_from(
    v: &mut BrowserVerdict,
    browser: Browser,
    flow: &Flow,
    facts: &Facts,
    page_origin: &str,
    evals: &[(bool, Evaluation)],
    choice: Option<usize>,
    notes: Vec<Note>,
    is_recorder: bool,
    fixes: &Fixes,
) {
    *v = plain(browser, Verdict::Unknown, notes);
    let Some((include, ev)) = choice.map(|i| &evals[i]) else {
        if is_recorder {
            if let Some(o) = recorder_outcome(facts) {
                v.verdict = o;
            }
            named_by_recording(v, &facts.observed, flow);
        }
        return;
    };
    v.cache_hits = ev.cache_hits.clone();
    match &ev.decision {
        Decision::Allowed => v.verdict = Verdict::Allowed,
        Decision::NotCors(n) => {
            v.verdict = Verdict::NotCors;
            v.notes = vec![Note::NotCors(*n)];
        }
        Decision::Blocked(b) => name_block(v, b, flow, facts, page_origin, *include, fixes),
        Decision::Undecidable(m) => {
            v.notes.push(Note::Missing(m.clone()));
            v.notes.extend(closed_unanswered(flow, m));
            if is_recorder {
                if let Some(o) = recorder_outcome(facts) {
                    v.verdict = o;
                }
            }
        }
    }
    v.notes
        .extend(ev.notes.iter().cloned().map(Note::Counterfactual));
    if is_recorder {
        evidence_wins(v, &facts.observed);
        named_by_recording(v, &facts.observed, flow);
    }
}

/// Names the recorder's block the rules could not name from the browser's own console line
/// the recording kept: its failure text where that is the line (a Safari export lists a
/// refused request with WebKit's text and no response, so only the text shows which check
/// failed), or the line kept beside it (a Playwright trace's console event, beside
/// `net::ERR_FAILED`).
fn named_by_recording(v: &mut BrowserVerdict, observed: &Observed, flow: &Flow) {
    let Observed::CorsFailure(failure) = observed else {
        return;
    };
    if v.verdict != Verdict::Blocked || v.reason.is_some() {
        return;
    }
    let console = flow
        .hops
        .last()
        .and_then(|h| h.exchange.evidence.console.as_deref());
    let text = console.unwrap_or(failure);
    if let Some((r, value)) = super::registry::reason_from_console(v.browser, text) {
        v.reason = Some(r.name);
        v.failed_parameter = value;
        v.message = Some(text.trim().to_owned());
    }
}

/// Decides how `v.browser` reports the block `b`: its reason name, failed parameter, console
/// message and the server fix.
fn name_block(
    v: &mut BrowserVerdict,
    b: &Blocked,
    flow: &Flow,
    facts: &Facts,
    page_origin: &str,
    include: bool,
    fixes: &Fixes,
) {
    let first_url = &flow.first().exchange.request.url;
    let last_url = &flow.hops[b.hop.min(flow.hops.len() - 1)]
        .exchange
        .request
        .url;
    let ctx = MessageContext {
        first_url,
        last_url,
        page_origin,
        initiator: facts.initiator,
    };
    let named: Named = b.names(v.browser, &ctx);
    v.verdict = Verdict::Blocked;
    v.reason = named.reason;
    v.failed_parameter = named.parameter;
    v.message = Some(named.message);
    let written = fixes
        .borrow()
        .iter()
        .find(|(done, inc, _)| *inc == include && done == b)
        .map(|(.., fix)| fix.clone());
    v.fix = Some(written.unwrap_or_else(|| {
        let fix = super::fix::fix_for(b, flow, page_origin, include);
        fixes.borrow_mut().push((b.clone(), include, fix.clone()));
        fix
    }));
    v.blocked = Some(b.clone());
}

/// Decides where the evidence wins over the rules for the browser that recorded it: a
/// delivered response is allowed, a reported CORS failure blocked, and a network or client
/// failure is no CORS verdict at all.
fn evidence_wins(v: &mut BrowserVerdict, observed: &Observed) {
    let clear_block = |v: &mut BrowserVerdict| {
        v.reason = None;
        v.failed_parameter = None;
        v.message = None;
        v.fix = None;
    };
    match (observed, v.verdict) {
        (Observed::Succeeded, Verdict::Blocked) => {
            v.notes = vec![Note::RulesPredictBlock { reason: v.reason }];
            v.verdict = Verdict::Allowed;
            clear_block(v);
        }
        (Observed::CorsFailure(_), Verdict::Allowed) => {
            v.verdict = Verdict::Blocked;
            v.notes = vec![Note::UnexplainedFailure];
        }
        (Observed::OtherFailure(err), _) => {
            v.verdict = Verdict::Unknown;
            clear_block(v);
            // Keep what the evidence told about the credentials mode.
            let deduced = v
                .notes
                .iter()
                .find(|n| matches!(n, Note::CredentialsDeduced { .. }))
                .cloned();
            v.notes = vec![Note::NetworkOrClientFailure { error: err.clone() }];
            v.notes.extend(deduced);
        }
        _ => {}
    }
}

/// An image, media, stylesheet or script load that failed at the network level with no
/// `Origin` shown: these load in no-cors mode unless the page asks for CORS (`crossorigin`),
/// and a failed load's export often lists only the provisional headers, so the mode is taken
/// from the resource type.
fn network_failure_of_subresource(flow: &Flow, rt: Option<&str>, error: Option<&str>) -> bool {
    let no_cors_by_default = matches!(rt, Some("image" | "media" | "stylesheet" | "script"));
    no_cors_by_default
        // Chromium reports CORS failures as ERR_FAILED; anything else (ERR_ABORTED, a refused
        // connection, offline) failed before or apart from any CORS check.
        && error.is_some_and(|e| !e.to_ascii_uppercase().contains("ERR_FAILED"))
        && flow.hops.iter().all(|h| {
            h.exchange.response.is_none() && !h.exchange.request.headers.contains("origin")
        })
}

/// A WebSocket opening handshake (`Upgrade: websocket`, `Sec-Fetch-Mode: websocket`, or a
/// `ws:`/`wss:` URL as HARs list it): the browser sends it without CORS and reads no CORS
/// headers from the `101` answer.
fn is_websocket_handshake(req: &crate::model::Request, first: &FirstRequest) -> bool {
    let token = |name: Read| {
        first.lines(name).any(|v| {
            v.split(|b| *b == b',')
                .any(|t| crate::model::trim_http_ws(t).eq_ignore_ascii_case(b"websocket"))
        })
    };
    token(Read::Upgrade)
        || token(Read::SecFetchMode)
        || req.url.starts_with("ws://")
        || req.url.starts_with("wss://")
}

/// The credentials mode the hops' connections show (`Evidence::connection_credentials`), per
/// hop: an uncredentialed connection means the request was not `include` (nor `same-origin`
/// on a same-origin hop); a credentialed one, on a hop cross-origin to the page, means
/// `include`. Hops that disagree tell nothing.
fn connection_credentials(flow: &Flow, same_hops: &[bool]) -> Option<bool> {
    let mut out = None;
    for (h, same) in flow.hops.iter().zip(same_hops).filter(|(h, _)| h.sent) {
        let v = match h.exchange.evidence.connection_credentials {
            Some(false) => false,
            Some(true) if !same => true,
            _ => continue,
        };
        if out.is_some_and(|o| o != v) {
            return None;
        }
        out = Some(v);
    }
    out
}

/// The first request's headers the resolver reads ([`READ`]), found in one pass over its
/// header list: each was a pass of its own, some more than once per flow.
struct FirstRequest<'h> {
    headers: &'h crate::model::Headers,
    /// Per name of [`READ`]: its first line, and whether more lines follow.
    first: [Option<(&'h [u8], bool)>; READ.len()],
    /// Per name of [`READ`]: its one line as text, once [`FirstRequest::str`] has checked it
    /// (`Some(None)`: not one UTF-8 line). Each is asked several times a flow.
    text: [std::cell::Cell<Option<Option<&'h str>>>; READ.len()],
}

/// The names [`FirstRequest`] reads, in [`Read`]'s order.
const READ: [&str; 7] = [
    "origin",
    "referer",
    "sec-fetch-mode",
    "sec-fetch-site",
    "upgrade",
    "sec-fetch-dest",
    "accept",
];

#[derive(Clone, Copy)]
enum Read {
    Origin,
    Referer,
    SecFetchMode,
    SecFetchSite,
    Upgrade,
    SecFetchDest,
    Accept,
}

impl<'h> FirstRequest<'h> {
    fn of(headers: &'h crate::model::Headers) -> Self {
        let mut first = [None; READ.len()];
        for (name, value) in headers.iter() {
            for (k, want) in READ.iter().enumerate() {
                if name.len() == want.len() && name.eq_ignore_ascii_case(want.as_bytes()) {
                    match &mut first[k] {
                        None => first[k] = Some((value, false)),
                        Some((_, more)) => *more = true,
                    }
                }
            }
        }
        Self {
            headers,
            first,
            text: Default::default(),
        }
    }

    fn has(&self, name: Read) -> bool {
        self.first[name as usize].is_some()
    }

    /// The first line's value, untrimmed ([`crate::model::Headers::first`]).
    fn first_line(&self, name: Read) -> Option<&'h [u8]> {
        self.first[name as usize].map(|(value, _)| value)
    }

    /// The value when the name has one line, trimmed, as bytes (no UTF-8 check).
    fn one_line(&self, name: Read) -> Option<&'h [u8]> {
        match self.first[name as usize]? {
            (value, false) => Some(crate::model::trim_http_ws(value)),
            (_, true) => None,
        }
    }

    /// The value as [`header_str`] gives it.
    fn str(&self, name: Read) -> Option<Cow<'h, str>> {
        let (value, more) = self.first[name as usize]?;
        let text = &self.text[name as usize];
        let one_line = text.get().unwrap_or_else(|| {
            let checked = std::str::from_utf8(crate::model::trim_http_ws(value))
                .ok()
                .filter(|_| !more);
            text.set(Some(checked));
            checked
        });
        match one_line {
            Some(v) => Some(Cow::Borrowed(v)),
            None => self.headers.get_str(READ[name as usize]).map(Cow::Owned),
        }
    }

    /// Every line of the name, as `Headers::get_all` gives them.
    fn lines(&self, name: Read) -> impl Iterator<Item = &'h [u8]> + 'h {
        let (first, more) = match self.first[name as usize] {
            Some((v, false)) => (Some(v), None),
            Some((_, true)) => (None, Some(self.headers.get_all(READ[name as usize]))),
            None => (None, None),
        };
        first.into_iter().chain(more.into_iter().flatten())
    }
}

/// Classification of a flow: the facts the recording itself gives (made by Chromium).
#[cfg(test)]
pub(crate) fn classify(flow: &Flow) -> Facts {
    let first = FirstRequest::of(&flow.first().exchange.request.headers);
    classify_with(flow, &first, Browser::Chromium).0
}

/// Per hop, whether its request is of `page_origin` (none without a page origin): its URL is
/// ([`same_origin`]), or the browser says so (`Sec-Fetch-Site: same-origin`, which a page
/// cannot set). The browser's word wins over a URL made from a `Host` that a reverse proxy
/// rewrote to its backend's name: such a same-origin request once came out cross-origin and
/// `blocked`. The classification, the cookie jar and every evaluation of the flow ask it.
fn same_origin_hops(flow: &Flow, page_origin: Option<&str>) -> PerHop<bool> {
    page_origin.map_or_else(PerHop::new, |p| {
        flow.hops
            .iter()
            .map(|h| {
                let r = &h.exchange.request;
                same_origin(&r.url, p)
                    || header_str(&r.headers, "sec-fetch-site")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("same-origin"))
            })
            .collect()
    })
}

/// `classify` given the first request's headers read; with the page origin's
/// [`same_origin_hops`].
fn classify_with(
    flow: &Flow,
    first_read: &FirstRequest,
    recorder: Browser,
) -> (Facts, PerHop<bool>) {
    let first = &flow.first().exchange;
    let (page_origin, from) = page_origin_of(flow, first_read);
    let rt = first
        .evidence
        .resource_type
        .as_deref()
        .map(str::to_ascii_lowercase);
    let error = flow.last().exchange.evidence.error.clone();
    let aborted = chromium_abort(flow, recorder);
    let mode = mode_of(
        flow,
        first_read,
        page_origin.as_deref(),
        rt.as_deref(),
        error.as_deref(),
        aborted,
    );
    let same_hops = same_origin_hops(flow, page_origin.as_deref());
    let (credentials_seen, from_connection) =
        credentials_of(flow, page_origin.as_deref(), &same_hops);
    let facts = Facts {
        page_origin,
        page_origin_from: from,
        mode,
        initiator: Initiator::from_resource_type(rt.as_deref()),
        credentials_seen,
        credentials_from_cookie_jar: false,
        credentials_from_connection: from_connection,
        observed: observed_of(flow, error, recorder, aborted),
        chromium_abort: aborted,
        is_font: is_font_load(rt.as_deref(), first_read),
        listed_unsent: provisional(&flow.last().exchange),
        hops: flow.hops.len(),
    };
    (facts, same_hops)
}

/// Whether the first request is an `@font-face` load by the browser's own word: the HAR's
/// resource type, `Sec-Fetch-Dest: font` (sent over HTTPS), or Firefox's `Accept` for fonts
/// (`application/font-woff2;q=1.0,application/font-woff;q=0.9,*/*;q=0.8`), which it sends
/// with font loads only. Chromium's and WebKit's font loads over plain HTTP look like any GET.
fn is_font_load(rt: Option<&str>, first: &FirstRequest) -> bool {
    // Read as bytes: the Accept value is long, and most flows are not fonts.
    rt == Some("font")
        || first
            .one_line(Read::SecFetchDest)
            .is_some_and(|d| d.eq_ignore_ascii_case(b"font"))
        || first
            .one_line(Read::Accept)
            .is_some_and(|a| starts_with_ignore_case(a, b"application/font-wof"))
}

/// Whether a Content-Type names a font (`font/*`, the older `application/font-*` and
/// `application/x-font-*`, EOT's `application/vnd.ms-fontobject`).
fn is_font_type(content_type: &[u8]) -> bool {
    let t = crate::model::trim_http_ws(content_type);
    [
        &b"font/"[..],
        b"application/font-",
        b"application/x-font-",
        b"application/vnd.ms-fontobject",
    ]
    .iter()
    .any(|p| starts_with_ignore_case(t, p))
}

/// Decides the verdicts that depend on the browsers' different font loads. WebKit loads
/// `@font-face` fonts without CORS where Chromium and Firefox use it (`font_loads_use_cors`):
/// - a font load by such a browser (proven by [`is_font_load`], or a GET without `Origin`
///   whose answer is a font) is `unknown` for the browsers that use CORS, unless
///   `Access-Control-Allow-Origin: *` lets any origin read it: how the server would have
///   answered their `Origin` is not in the input;
/// - a GET in cors mode whose answer is a font, where nothing proves a font load, is `unknown`
///   for a browser that loads fonts without CORS and would block it (a font load was not
///   checked there, a `fetch` of the font was).
fn doubt_font_loads(
    flow: &Flow,
    facts: &Facts,
    recorder: Browser,
    browsers: &mut PerBrowser<BrowserVerdict>,
) {
    let uses_cors = |b: Browser| b.profile().font_loads_use_cors;
    // Most flows leave here: nothing a font load would change.
    let in_doubt = match facts.mode {
        Mode::Cors => browsers
            .values()
            .any(|v| !uses_cors(v.browser) && v.verdict == Verdict::Blocked),
        Mode::NoCors => !uses_cors(recorder),
        _ => false,
    };
    if !in_doubt {
        return;
    }
    let first = flow.first();
    // Read as bytes (no UTF-8 check): both tests are ASCII.
    let answer = |name: &str| {
        flow.last()
            .exchange
            .response
            .as_ref()
            .and_then(|r| r.headers.first(name))
    };
    // A font load the input does not prove, but whose answer is a font.
    let maybe = !facts.is_font
        && first.exchange.evidence.resource_type.is_none()
        && first.preflight.is_none()
        && first.exchange.request.method.eq_ignore_ascii_case("GET")
        && answer("content-type").is_some_and(is_font_type);
    if facts.mode == Mode::Cors {
        if maybe {
            for v in browsers.values_mut() {
                if !uses_cors(v.browser) && v.verdict == Verdict::Blocked {
                    v.verdict = Verdict::Unknown;
                    v.notes = vec![Note::BlockedUnlessFontLoad { reason: v.reason }];
                }
            }
        }
        return;
    }
    let cross = facts
        .page_origin
        .as_deref()
        .is_some_and(|p| !same_origin(&first.exchange.request.url, p));
    let any_origin = || {
        answer("access-control-allow-origin").is_some_and(|v| crate::model::trim_http_ws(v) == b"*")
    };
    if (maybe || facts.is_font) && cross && !any_origin() {
        for v in browsers.values_mut() {
            if uses_cors(v.browser) && v.verdict == Verdict::NotCors {
                v.verdict = Verdict::Unknown;
                v.notes = vec![Note::CorsIfFontLoad { recorder }];
            }
        }
    }
}

/// Decides the page origin and says where it was read: the Origin the browser sent, else the
/// preflight's, then (without any) the Referer, fetch metadata, the HAR page's document URL.
fn page_origin_of(flow: &Flow, first_read: &FirstRequest) -> (Option<String>, &'static str) {
    let first = &flow.first().exchange;
    // `Origin: null` on the very first request (not after a redirect): the page itself has an
    // opaque origin (sandboxed iframe, `data:` or `file:` document), so `null` is what the
    // server must allow (`#serializing-a-request-origin`).
    let first_origin = first_read.str(Read::Origin).or_else(|| {
        flow.first()
            .preflight
            .as_ref()
            .and_then(|p| header_str(&p.request.headers, "origin"))
    });
    if first_origin.as_deref() == Some("null") {
        return (
            Some("null".to_owned()),
            "Origin header (opaque origin: sandboxed iframe, data: or file: page)",
        );
    }
    let sent = flow.hops.iter().enumerate().find_map(|(i, hop)| {
        fn origin(h: &crate::model::Headers) -> Option<Cow<'_, str>> {
            header_str(h, "origin").filter(|o| o != "null")
        }
        let request_origin = if i == 0 {
            first_read.str(Read::Origin).filter(|o| o != "null")
        } else {
            origin(&hop.exchange.request.headers)
        };
        request_origin.map(|o| (o, "Origin header")).or_else(|| {
            let pf = hop.preflight.as_ref()?;
            origin(&pf.request.headers).map(|o| (o, "preflight Origin header"))
        })
    });
    // An Origin that does not parse leaves the fallbacks below to find one (or none, still
    // saying which header was read).
    let (canonical, from) = match sent {
        Some((o, from)) => (canonical_origin(&o), from),
        None => (None, ""),
    };
    if canonical.is_some() {
        return (canonical, from);
    }
    // Without `Origin`: the Referer, then fetch metadata, then the HAR page's document URL
    // (the top page: a frame of another origin has its own Referer).
    let referer = first_read
        .str(Read::Referer)
        .and_then(|r| origin_of(&r))
        .filter(|o| o != "null");
    let same_site_says = first_read
        .str(Read::SecFetchSite)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("same-origin"));
    if let Some(r) = referer {
        (
            Some(r),
            "Referer (a guess: the initiator may be a frame of another origin)",
        )
    } else if same_site_says {
        (origin_of(&first.request.url), "Sec-Fetch-Site: same-origin")
    } else if let Some(p) = &first.evidence.page_origin {
        (Some(p.clone()), "HAR page")
    } else {
        (None, from)
    }
}

/// Whether the flow's verdict hangs on an order the input does not hold
/// (`Evidence::order_unknown`): another entry was (or may have been) part of it, a preflight
/// or a redirect's other hop (`Origin: null` is sent after a cross-origin redirect).
fn order_unknown(flow: &Flow) -> bool {
    let unplaced = |x: &crate::model::Exchange| x.evidence.order_unknown;
    flow.hops.iter().any(|h| {
        let x = &h.exchange;
        let needs_another = || {
            let simple = matches!(x.request.method.as_str(), "GET" | "HEAD" | "POST");
            h.preflight.is_some()
                || !simple
                || x.response.as_ref().is_some_and(|r| r.redirects())
                || x.request.headers.get_str("origin").as_deref() == Some("null")
        };
        (unplaced(x) && needs_another()) || h.preflight.as_ref().is_some_and(unplaced)
    })
}

/// Whether an export left out what the browser sent: a request listed with no headers at all
/// (a browser sends `Host`, `User-Agent` and more), or a failed one listed with only its
/// provisional headers (no `Host`). Its missing `Origin` shows nothing then. (A capture's
/// request without headers is what was sent.)
fn headers_unlisted(flow: &Flow) -> bool {
    flow.hops.iter().any(|h| {
        let x = &h.exchange;
        (x.evidence.recording != OutcomeRecording::Wire && x.request.headers.len() == 0)
            || provisional(x)
    })
}

/// A request an export lists with only the provisional headers of a failed load (no `Host`).
fn provisional(x: &crate::model::Exchange) -> bool {
    x.evidence.recording != OutcomeRecording::Wire
        && x.evidence.no_response
        && !x.request.headers.contains("host")
}

/// Whether an export's entry may leave out the `Origin` the request had: provisional headers,
/// or an entry without an answer in an export that lists some of those without it
/// ([`crate::model::Flavour::lists_unanswered_origin`]).
fn origin_may_be_unlisted(x: &crate::model::Exchange) -> bool {
    provisional(x)
        || (x.evidence.recording != OutcomeRecording::Wire
            && x.evidence.no_response
            && !x.flavour.lists_unanswered_origin())
}

/// Decides the request mode from `Sec-Fetch-Mode` where it was sent, else infers it from the
/// request (`rt`: the lower-case resource type; `error`: the last hop's recorded error,
/// `aborted`: it is Chromium's abort, [`chromium_abort`]).
fn mode_of(
    flow: &Flow,
    first_read: &FirstRequest,
    page_origin: Option<&str>,
    rt: Option<&str>,
    error: Option<&str>,
    aborted: bool,
) -> Mode {
    let sfm = first_read.str(Read::SecFetchMode).or_else(|| {
        flow.hops[1..]
            .iter()
            .find_map(|h| header_str(&h.exchange.request.headers, "sec-fetch-mode"))
    });
    // Compared in place (the values are lower case), not lower-cased into a copy.
    let is = |s: &str, modes: &[&str]| modes.iter().any(|m| s.eq_ignore_ascii_case(m));
    match sfm.as_deref() {
        Some(s) if is(s, &["no-cors"]) => Mode::NoCors,
        Some(s) if is(s, &["navigate", "nested-navigate"]) => Mode::Navigate,
        Some(_) => Mode::Cors,
        None => inferred_mode(flow, page_origin, rt, error, aborted),
    }
}

/// Decides the request mode where no `Sec-Fetch-Mode` shows it, from the first rule that
/// applies: a preflight, a failed subresource load, a document, a cross-origin GET without
/// `Origin`, CORS tainting, the recorded error, how the input records outcomes, CORS headers
/// in the answer.
fn inferred_mode(
    flow: &Flow,
    page_origin: Option<&str>,
    rt: Option<&str>,
    error: Option<&str>,
    aborted: bool,
) -> Mode {
    let first = &flow.first().exchange;
    let cross = |url: &str| page_origin.is_some_and(|p| !same_origin(url, p));
    let cross_with_origin = flow
        .hops
        .iter()
        .any(|h| h.exchange.request.headers.contains("origin") && cross(&h.exchange.request.url));
    // A request listed with no headers at all was exported without them (a browser sends
    // Host, User-Agent and more): its missing `Origin` shows nothing.
    let cross_get_without_origin = flow.hops.iter().any(|h| {
        let r = &h.exchange.request;
        matches!(r.method.as_str(), "GET" | "HEAD")
            && r.headers.len() > 0
            && !r.headers.contains("origin")
            && !origin_may_be_unlisted(&h.exchange)
            && cross(&r.url)
    });
    if flow.hops.iter().any(|h| h.preflight.is_some()) {
        Mode::Cors
    } else if network_failure_of_subresource(flow, rt, error) {
        Mode::NoCors
    } else if matches!(rt, Some("document" | "iframe" | "subdocument")) {
        Mode::Navigate
    } else if error.is_some()
        && flow.last().exchange.evidence.cors_error
        && flow.last().exchange.response.is_some()
    {
        // The browser failed, with its CORS error, a request it got an answer to: a no-cors
        // request's answer goes to the page opaque, never failed for itself. (An export that
        // lists no request headers, not even `Origin`, shows nothing else of the mode.)
        Mode::Cors
    } else if cross_get_without_origin
        && !cross_with_origin
        && !(first.evidence.recording == OutcomeRecording::DropsBlocked
            && matches!(rt, Some("fetch" | "xhr"))
            && flow
                .last()
                .exchange
                .response
                .as_ref()
                .is_some_and(|r| r.headers.contains("access-control-allow-origin")))
    {
        // chrome-har often lists only the provisional headers (no Origin): a fetch/XHR
        // answered with ACAO is taken as the CORS request it almost surely was.
        Mode::NoCors
    } else if matches!(first.request.method.as_str(), "GET" | "HEAD")
        || cross_with_origin
            && matches!(flow.last().exchange.request.method.as_str(), "GET" | "HEAD")
        || rt == Some("xhr")
    {
        // Origin on a GET/HEAD means CORS tainting; XHR is always cors mode.
        Mode::Cors
    } else if error.is_some() {
        // A no-cors request has a CORS-safelisted method (fetch throws before sending any
        // other), so an aborted PUT or DELETE was a CORS request whatever its error.
        // Likewise its headers: a no-cors request drops a Content-Type outside the three.
        let may_be_no_cors =
            super::headers::is_safelisted_method(&first.request.method.to_ascii_uppercase())
                && first.request.headers.first("content-type").is_none_or(|v| {
                    super::headers::is_safelisted_mime(super::browser::RequestMimeParser::Whatwg, v)
                });
        if aborted && may_be_no_cors {
            Mode::NoCors
        } else {
            Mode::Cors
        }
    } else if first.evidence.recording == OutcomeRecording::WithFailures {
        // A HAR entry that succeeded: the rules below confirm or the evidence overrides.
        Mode::Cors
    } else if flow.hops.iter().any(|h| {
        h.exchange.response.as_ref().is_some_and(|r| {
            r.headers
                .iter()
                .any(|(n, _)| n.len() > 15 && n[..15].eq_ignore_ascii_case(b"access-control-"))
        })
    }) {
        // The server answers with CORS headers: it is serving CORS requests.
        Mode::Cors
    } else {
        Mode::Ambiguous
    }
}

/// Decides whether the flow was credentialed as far as the input shows: a Cookie on a hop
/// cross-origin to the page means yes; else the hops' connections may tell (the second value
/// says the answer came from them).
/// `same_hops`: [`same_origin_hops`] of `page_origin`.
fn credentials_of(
    flow: &Flow,
    page_origin: Option<&str>,
    same_hops: &[bool],
) -> (Option<bool>, bool) {
    if page_origin.is_none() {
        return (None, false);
    }
    let cookie_sent = flow
        .hops
        .iter()
        .zip(same_hops)
        .filter(|(_, same)| !**same)
        .any(|(h, _)| h.exchange.request.headers.contains("cookie"));
    if cookie_sent {
        return (Some(true), false);
    }
    let from_connection = connection_credentials(flow, same_hops);
    (from_connection, from_connection.is_some())
}

/// Whether the flow's recorded failure (its last hop's) is Chromium's abort
/// (`net::ERR_ABORTED`) in Chromium's own log: a Chromium recording that is the browser's own
/// export (its DevTools, or automation driving it). Chromium fails a CORS check with
/// ERR_FAILED, never ERR_ABORTED, so its abort says no CORS check stopped the request; the
/// error names and that behaviour are Chromium's, and in another browser's recording
/// (Firefox's export writes no failure text at all) or a proxy's HAR (its failure text is its
/// own even when the requests are Chromium's; mitmproxy writes its own failures' text) the
/// same text says nothing of the kind.
fn chromium_abort(flow: &Flow, recorder: Browser) -> bool {
    recorder == Browser::Chromium
        && flow.flavour.is_browser_export()
        && flow
            .last()
            .exchange
            .evidence
            .error
            .as_deref()
            .is_some_and(|e| e.contains("ERR_ABORTED"))
}

/// Decides what the input itself shows about the outcome: a missing last request, the
/// recorded error or the response, each read as the input records them (`Recording`, set by
/// the input's reader).
fn observed_of(flow: &Flow, error: Option<String>, recorder: Browser, aborted: bool) -> Observed {
    let last = flow.last();
    let evidence = &last.exchange.evidence;
    // A redirect status with an empty `Location` is Chromium's final response (difference
    // `redirect-empty-location`).
    let final_if_empty = recorder.profile().empty_location_is_final;
    let redirects =
        |r: &crate::model::Response| r.redirects() && !(final_if_empty && r.empty_location());
    // An export that leaves blocked requests out shows a block by the absence, unless the
    // input may have lost what is absent (it was cut off).
    let dropped =
        evidence.recording == OutcomeRecording::DropsBlocked && !evidence.absence_may_be_loss;
    if !last.sent {
        return if dropped {
            Observed::Dropped
        } else {
            Observed::NotSent
        };
    }
    let wire = || {
        if flow.hops.iter().any(|h| h.preflight.is_some()) {
            Observed::PreflightsPassed
        } else {
            Observed::NotObserved
        }
    };
    match evidence.recording {
        OutcomeRecording::Wire => wire(),
        // No failure text: nothing of the outcome is recorded (a proxy saw the answer, never
        // the browser's check). A browser's failure text (a HAR converted or merged from a
        // browser's export) is read as below, its CORS failure as one; the further meanings of
        // Chromium's abort only in a browser's own export (`chromium_abort`). An entry without
        // an answer either may never have been sent (a browser lists the request its failed
        // preflight stopped), so it shows no preflight passed.
        OutcomeRecording::MayOmitFailures if error.is_none() => {
            if last.exchange.answered() {
                wire()
            } else {
                Observed::NotObserved
            }
        }
        OutcomeRecording::DropsBlocked => match &last.exchange.response {
            Some(r) if redirects(r) && dropped => Observed::Dropped,
            Some(r) if redirects(r) => Observed::NotObserved,
            Some(_) => Observed::Succeeded,
            None => Observed::NotObserved,
        },
        OutcomeRecording::WithFailures | OutcomeRecording::MayOmitFailures => match error {
            Some(e) if evidence.cors_error => Observed::CorsFailure(e),
            // Chromium fails a CORS check with ERR_FAILED, never ERR_ABORTED: a request the
            // page cancelled after its response arrived (an EventSource or a stream it closed,
            // a page it left) had passed the check, and the page had the response. Not a
            // redirect it was given: a fetch its mode forbids to follow stops there with
            // ERR_ABORTED and the page has nothing (Chromium 156's DevTools export of a
            // `mode: "same-origin"` fetch redirected to another origin: the `302`, the error,
            // no next hop). (Not recorded: whether `redirect: "manual"`, which hands the page
            // an opaque redirect, is exported the same way; if so it is `unknown` here.)
            Some(_)
                if aborted
                    && !evidence.no_response
                    && last
                        .exchange
                        .response
                        .as_ref()
                        .is_some_and(|r| r.status > 0 && !redirects(r)) =>
            {
                Observed::Succeeded
            }
            Some(e) => Observed::OtherFailure(e),
            // A redirect's entry shows no error whatever befell the redirected request (its
            // own entry carries it): with that entry missing, nothing was observed.
            None if last.exchange.response.as_ref().is_some_and(redirects) => Observed::NotObserved,
            None if last.exchange.response.is_some() => Observed::Succeeded,
            None => Observed::NotObserved,
        },
    }
}

#[cfg(test)]
mod tests {
    //! Evidence plus rules: what the input shows decides between readings.
    use super::super::reason::Failure;
    use super::*;
    use crate::model::FlowHop;
    use crate::model::{Exchange, Flavour};
    use std::sync::Arc;

    use crate::model::test_exchange as x;

    proptest::proptest! {
        /// One pass over the first request's headers reads what a lookup per name read.
        #[test]
        fn first_request_reads_as_lookups_do(
            lines in proptest::collection::vec(
                (proptest::sample::select(vec![
                    "Origin", "origin", "REFERER", "Sec-Fetch-Mode", "sec-fetch-site",
                    "Upgrade", "x-origin", "originx", "Accept", "sec-fetch-dest",
                ]),
                 proptest::collection::vec(proptest::sample::select(
                     vec![b' ', b'a', b',', b'w', 0xc3, 0xa9, 0xff]), 0..6)),
                0..8),
        ) {
            let headers: crate::model::Headers =
                lines.iter().map(|(n, v)| (n.as_bytes(), v)).collect();
            let first = FirstRequest::of(&headers);
            let all = [
                Read::Origin, Read::Referer, Read::SecFetchMode, Read::SecFetchSite, Read::Upgrade,
                Read::SecFetchDest, Read::Accept,
            ];
            proptest::prop_assert_eq!(all.len(), READ.len());
            for (read, name) in all.into_iter().zip(READ) {
                proptest::prop_assert_eq!(first.str(read), header_str(&headers, name));
                // Asked again: the text checked the first time.
                proptest::prop_assert_eq!(first.str(read), header_str(&headers, name));
                proptest::prop_assert_eq!(first.has(read), headers.get_all(name).next().is_some());
                proptest::prop_assert_eq!(first.first_line(read), headers.first(name));
                let lines: Vec<&[u8]> = headers.get_all(name).collect();
                proptest::prop_assert_eq!(
                    first.one_line(read),
                    (lines.len() == 1).then(|| crate::model::trim_http_ws(lines[0]))
                );
                proptest::prop_assert_eq!(
                    first.lines(read).collect::<Vec<_>>(),
                    headers.get_all(name).collect::<Vec<_>>()
                );
            }
        }
    }

    fn one(e: Exchange, pf: Option<Exchange>) -> Flow {
        Flow {
            client: Arc::from("c"),
            flavour: e.flavour,
            hops: vec![FlowHop {
                exchange: e,
                sent: true,
                preflight: pf,
            }],
        }
    }

    const O: &str = "http://app.test:8080";
    const U: &str = "http://api.test:8081/r";

    /// A cross-origin redirect answered with `ACAO: *` and no credentials, whose target then
    /// refuses the `null` origin (corpus `d-redir-cross-to-cross-origin-null-mismatch`): the
    /// credentialed reading blocks at the redirect (a wildcard), but the browser followed it,
    /// so that reading is not what happened: uncredentialed, blocked at the target. Where the
    /// target's answer is not in the input (Playwright lists a failed request without its
    /// response) the reason is open, never the redirect's.
    #[test]
    fn a_reading_that_blocks_a_hop_the_browser_went_past_is_not_taken() {
        const START: &str = "http://api.test:8081/start";
        const FINAL: &str = "http://api.app.test:8083/final";
        let flow = |flavour, target_answer: bool| {
            let mut start = x(
                flavour,
                "GET",
                START,
                &[("Origin", O)],
                Some((
                    302,
                    &[("Location", FINAL), ("Access-Control-Allow-Origin", "*")],
                )),
                None,
            );
            start.evidence.resource_type = Some("fetch".into());
            let answer: Option<(u16, &[(&str, &str)])> =
                target_answer.then_some((200, &[("Access-Control-Allow-Origin", O)]));
            let target = x(
                flavour,
                "GET",
                FINAL,
                &[("Origin", "null")],
                answer,
                Some("net::ERR_FAILED"),
            );
            Flow {
                client: Arc::from("c"),
                flavour,
                hops: [start, target]
                    .into_iter()
                    .map(|exchange| FlowHop {
                        exchange,
                        sent: true,
                        preflight: None,
                    })
                    .collect(),
            }
        };
        let r = Resolver::new().resolve(&flow(Flavour::DevTools, true), Browser::Chromium);
        let v = &r.browsers[Browser::Chromium];
        assert_eq!(r.credentials, Credentials::Omit, "{:?}", v.note());
        assert_eq!(
            (v.verdict, v.reason),
            (Verdict::Blocked, Some("AllowOriginMismatch"))
        );
        let r = Resolver::new().resolve(&flow(Flavour::Playwright, false), Browser::Chromium);
        let v = &r.browsers[Browser::Chromium];
        assert_eq!(
            (v.verdict, v.reason),
            (Verdict::Blocked, None),
            "{:?}",
            v.note()
        );
        assert_ne!(r.credentials, Credentials::Include);
    }

    /// A PUT after a passed `ACAO: *` preflight (corpus d-pf-wildcard-credentials), by how the
    /// request ended: Chromium reports a CORS failure as ERR_FAILED, never ERR_ABORTED, so an
    /// aborted request got past the preflight and was not credentialed (issue 10.8). The
    /// alternatives of an open reading carry each browser's own reason names.
    #[test]
    fn the_request_error_tells_the_credentials_mode() {
        let cases: [(&str, Credentials, Verdict); 3] = [
            ("net::ERR_ABORTED", Credentials::Omit, Verdict::Unknown),
            ("net::ERR_FAILED", Credentials::Include, Verdict::Blocked),
            // Not an abort: nothing says how far it got.
            (
                "net::ERR_CONNECTION_RESET",
                Credentials::Unknown,
                Verdict::Unknown,
            ),
        ];
        for (error, credentials, verdict) in cases {
            let f = one(
                x(
                    Flavour::DevTools,
                    "PUT",
                    U,
                    &[("Origin", O)],
                    None,
                    Some(error),
                ),
                Some(x(
                    Flavour::DevTools,
                    "OPTIONS",
                    U,
                    &[("Origin", O), ("Access-Control-Request-Method", "PUT")],
                    Some((
                        204,
                        &[
                            ("Access-Control-Allow-Origin", "*"),
                            ("Access-Control-Allow-Methods", "PUT"),
                        ],
                    )),
                    None,
                )),
            );
            let r = Resolver::new().resolve(&f, Browser::Chromium);
            assert_eq!(r.credentials, credentials, "{error}");
            assert_eq!(r.browsers[Browser::Chromium].verdict, verdict, "{error}");
            for v in r.browsers.values() {
                let note = v.note().unwrap_or_default();
                assert!(!note.contains("WildcardWithCredentials"), "{error}: {note}");
                if credentials == Credentials::Omit {
                    assert_ne!(v.verdict, Verdict::Blocked, "{error} {}", v.browser);
                }
            }
        }
    }

    /// A Chromium User-Agent: the recorder of the lone preflights below.
    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

    /// A capture's PATCH missing after a preflight that passes only uncredentialed (exact
    /// `Allow-Origin`, no `Allow-Credentials`), by what the absence shows (`Absence`): on a
    /// capture without loss the browser never sent it, and only a credentialed request
    /// explains that; where the capture lost what the client sent then
    /// (`Evidence::absence_may_be_loss`) or the input is an export, the absence shows nothing
    /// and the verdict stays open, with the note saying why.
    #[test]
    fn a_missing_request_is_evidence_only_without_loss() {
        // (absence_may_be_loss, absence_is_no_evidence, verdict, credentials, note)
        let cases: [(bool, bool, Verdict, Credentials, &str); 3] = [
            (
                false,
                false,
                Verdict::Blocked,
                Credentials::Include,
                "only a credentialed request explains the failure",
            ),
            (
                true,
                false,
                Verdict::Unknown,
                Credentials::Unknown,
                "it may have been sent and lost; a capture without loss on this client's connections to the server (and the TLS secrets of all of them) would decide it",
            ),
            (
                false,
                true,
                Verdict::Unknown,
                Credentials::Unknown,
                "the request never followed its preflight",
            ),
        ];
        for (lost, export, verdict, credentials, note) in cases {
            let pf = x(
                Flavour::Capture,
                "OPTIONS",
                U,
                &[
                    ("Origin", O),
                    ("Access-Control-Request-Method", "PATCH"),
                    ("User-Agent", CHROME),
                ],
                Some((
                    204,
                    &[
                        ("Access-Control-Allow-Origin", O),
                        ("Access-Control-Allow-Methods", "PATCH"),
                    ],
                )),
                None,
            );
            let mut request = x(Flavour::Capture, "PATCH", U, &[("Origin", O)], None, None);
            request.evidence.absence_may_be_loss = lost;
            request.evidence.absence_is_no_evidence = export;
            let f = Flow {
                client: Arc::from("c"),
                flavour: Flavour::Capture,
                hops: vec![FlowHop {
                    exchange: request,
                    sent: false,
                    preflight: Some(pf),
                }],
            };
            let r = Resolver::new().resolve(&f, Browser::Chromium);
            let v = &r.browsers[Browser::Chromium];
            let text = v.note().unwrap_or_default();
            assert_eq!((v.verdict, r.credentials), (verdict, credentials), "{text}");
            assert!(text.contains(note), "lost {lost}, export {export}: {text}");
            if lost {
                assert!(r.browsers.values().all(|b| b.verdict == Verdict::Unknown));
            }
        }
    }

    /// A capture's preflighted GET missing after its preflight (which passes only
    /// uncredentialed): after an earlier response to the URL that may still be fresh in the
    /// browser's HTTP cache the absence shows nothing (all three browsers send the preflight and
    /// take the cached response: tests/data/probe-httpcache `hc-preflighted-2`); after one the
    /// cache cannot reuse, only a credentialed request explains it. chrome-har, which leaves
    /// out blocked and cached requests alike, reads the same.
    #[test]
    fn a_missing_request_the_http_cache_may_have_answered() {
        let sec = 1_000_000;
        // (flavour, the earlier response's Cache-Control, its age then, verdict, note)
        let cases = [
            (
                Flavour::Capture,
                "max-age=600",
                1,
                Verdict::Unknown,
                "HTTP cache",
            ),
            (
                Flavour::Capture,
                "max-age=600",
                601,
                Verdict::Blocked,
                "only a credentialed",
            ),
            (
                Flavour::Capture,
                "no-store",
                1,
                Verdict::Blocked,
                "only a credentialed",
            ),
            (
                Flavour::ChromeHar,
                "max-age=600",
                1,
                Verdict::Unknown,
                "HTTP cache",
            ),
            (Flavour::ChromeHar, "no-cache", 1, Verdict::Blocked, ""),
        ];
        for (flavour, cc, age, verdict, note) in cases {
            let hdrs = [("Origin", O), ("X-Api-Key", "k"), ("User-Agent", CHROME)];
            let pf = || {
                x(
                    flavour,
                    "OPTIONS",
                    U,
                    &[
                        ("Origin", O),
                        ("Access-Control-Request-Method", "GET"),
                        ("Access-Control-Request-Headers", "x-api-key"),
                        ("User-Agent", CHROME),
                    ],
                    Some((
                        204,
                        &[
                            ("Access-Control-Allow-Origin", O),
                            ("Access-Control-Allow-Headers", "X-Api-Key"),
                        ],
                    )),
                    None,
                )
            };
            let answer = [("Access-Control-Allow-Origin", O), ("Cache-Control", cc)];
            let earlier = x(flavour, "GET", U, &hdrs, Some((200, &answer)), None);
            let mut missing = x(flavour, "GET", U, &hdrs, None, None);
            missing.time = age * sec;
            let flow = |exchange, sent| Flow {
                client: Arc::from("c"),
                flavour,
                hops: vec![FlowHop {
                    exchange,
                    sent,
                    preflight: Some(pf()),
                }],
            };
            let mut resolver = Resolver::new();
            resolver.resolve(&flow(earlier, true), Browser::Chromium);
            let r = resolver.resolve(&flow(missing, false), Browser::Chromium);
            let v = &r.browsers[Browser::Chromium];
            let text = v.note().unwrap_or_default();
            assert_eq!(v.verdict, verdict, "{flavour:?} {cc} {age}: {text}");
            assert!(text.contains(note), "{flavour:?} {cc} {age}: {text}");
        }
    }

    /// An open reading's alternatives name the block as each browser does, never by
    /// corscope's internal failure name.
    #[test]
    fn alternatives_use_the_browsers_reason_names() {
        let b = |failure: Failure, stage: Stage| Blocked {
            failure,
            stage,
            status: Some(204),
            url: U.to_owned(),
            location: None,
            request_origin: O.to_owned(),
            hop: 0,
        };
        let wildcard = b(Failure::WildcardWithCredentials, Stage::Preflight);
        let acac = b(
            Failure::AllowCredentialsNotTrue { value: None },
            Stage::Actual,
        );
        let cases = [
            (
                Browser::Chromium,
                &wildcard,
                "PreflightWildcardOriginNotAllowed",
            ),
            (Browser::Firefox, &wildcard, "CORSNotSupportingCredentials"),
            (Browser::Safari, &wildcard, "CredentialsWithWildcard"),
            (Browser::Chromium, &acac, "InvalidAllowCredentials"),
            (Browser::Firefox, &acac, "CORSMissingAllowCredentials"),
        ];
        for (browser, blocked, want) in cases {
            assert_eq!(reason_name(browser, blocked), want, "{browser}");
        }
        // Firefox gives a request in `same-origin` mode no name: its console text instead.
        let mode = b(Failure::DisallowedByMode, Stage::Request);
        assert!(reason_name(Browser::Firefox, &mode).contains("NetworkError"));
    }

    #[test]
    fn devtools_failure_deduces_credentials() {
        // ACAO matches but no ACAC: only a credentialed request fails (corpus d-cred-get-acac-upper).
        let f = one(
            x(
                Flavour::DevTools,
                "GET",
                U,
                &[("Origin", O)],
                Some((200, &[("Access-Control-Allow-Origin", O)])),
                Some("net::ERR_FAILED"),
            ),
            None,
        );
        let r = Resolver::new().resolve(&f, Browser::Chromium);
        assert_eq!(r.credentials, Credentials::Include);
        let c = &r.browsers[Browser::Chromium];
        assert_eq!(
            (c.verdict, c.reason),
            (Verdict::Blocked, Some("InvalidAllowCredentials"))
        );
        assert_eq!(
            r.browsers[Browser::Firefox].reason,
            Some("CORSMissingAllowCredentials")
        );
    }

    /// The connection's class decides per hop: uncredentialed anywhere means not `include`;
    /// credentialed only counts on a hop cross-origin to the page; hops that disagree, or no
    /// class at all, leave it open.
    #[test]
    fn credentials_from_the_connection_per_hop() {
        let hop = |url: &str, class: Option<bool>| {
            let mut e = x(
                Flavour::Capture,
                "GET",
                url,
                &[("Origin", O)],
                Some((200, &[("Access-Control-Allow-Origin", O)])),
                None,
            );
            e.evidence.connection_credentials = class;
            FlowHop {
                exchange: e,
                sent: true,
                preflight: None,
            }
        };
        let same = "http://app.test:8080/r";
        let cases: [(Vec<FlowHop>, Option<bool>); 6] = [
            (vec![hop(U, Some(false))], Some(false)),
            (vec![hop(U, Some(true))], Some(true)),
            (vec![hop(U, None)], None),
            // A same-origin hop on a credentialed connection: `same-origin` mode does that too.
            (vec![hop(same, Some(true))], None),
            (vec![hop(same, Some(false)), hop(U, None)], Some(false)),
            (vec![hop(same, Some(false)), hop(U, Some(true))], None),
        ];
        for (hops, want) in cases {
            let f = Flow {
                client: Arc::from("c"),
                flavour: Flavour::Capture,
                hops,
            };
            assert_eq!(
                connection_credentials(&f, &same_origin_hops(&f, Some(O))),
                want
            );
        }
        // Read from the connection: decided, and the note says so.
        let f = one(hop(U, Some(false)).exchange, None);
        let r = Resolver::new().resolve(&f, Browser::Chromium);
        let c = &r.browsers[Browser::Chromium];
        assert_eq!(
            (r.credentials, c.verdict),
            (Credentials::Omit, Verdict::Allowed)
        );
        assert!(c
            .note()
            .unwrap_or_default()
            .contains("read from the connection"));
    }

    #[test]
    fn websocket_handshakes_are_not_cors() {
        for (headers, url) in [
            (vec![("Origin", O), ("Upgrade", "websocket")], U),
            (vec![("Origin", O), ("Sec-Fetch-Mode", "websocket")], U),
            (vec![("Origin", O)], "wss://api.test/socket"),
        ] {
            let f = one(
                x(
                    Flavour::Capture,
                    "GET",
                    url,
                    &headers,
                    Some((101, &[])),
                    None,
                ),
                None,
            );
            let r = Resolver::new().resolve(&f, Browser::Chromium);
            for b in r.browsers.values() {
                assert_eq!(b.verdict, Verdict::NotCors, "{headers:?} {url}");
                assert!(b.fix.is_none());
            }
        }
    }

    #[test]
    fn capture_without_evidence_is_unknown_when_credentials_decide() {
        let f = one(
            x(
                Flavour::Capture,
                "GET",
                U,
                &[("Origin", O)],
                Some((200, &[("Access-Control-Allow-Origin", O)])),
                None,
            ),
            None,
        );
        let r = Resolver::new().resolve(&f, Browser::Chromium);
        let c = &r.browsers[Browser::Chromium];
        assert_eq!(c.verdict, Verdict::Unknown);
        assert!(
            c.note().unwrap_or_default().contains("with credentials"),
            "{:?}",
            c.note()
        );
    }

    #[test]
    fn success_evidence_with_wildcard_means_no_credentials() {
        let f = one(
            x(
                Flavour::DevTools,
                "GET",
                U,
                &[("Origin", O)],
                Some((200, &[("Access-Control-Allow-Origin", "*")])),
                None,
            ),
            None,
        );
        let r = Resolver::new().resolve(&f, Browser::Chromium);
        assert_eq!(r.credentials, Credentials::Omit);
        assert_eq!(r.browsers[Browser::Chromium].verdict, Verdict::Allowed);
    }

    #[test]
    fn opaque_origin_pages_must_be_allowed_as_null() {
        let ok = one(
            x(
                Flavour::Capture,
                "GET",
                U,
                &[("Origin", "null")],
                Some((
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "null"),
                        ("Access-Control-Allow-Credentials", "true"),
                    ],
                )),
                None,
            ),
            None,
        );
        let r = Resolver::new().resolve(&ok, Browser::Chromium);
        assert_eq!(r.facts.page_origin.as_deref(), Some("null"));
        assert_eq!(r.browsers[Browser::Chromium].verdict, Verdict::Allowed);
        let bad = one(
            x(
                Flavour::Capture,
                "GET",
                U,
                &[("Origin", "null")],
                Some((
                    200,
                    &[
                        ("Access-Control-Allow-Origin", O),
                        ("Access-Control-Allow-Credentials", "true"),
                    ],
                )),
                None,
            ),
            None,
        );
        let r = Resolver::new().resolve(&bad, Browser::Chromium);
        let c = &r.browsers[Browser::Chromium];
        assert_eq!(
            (c.verdict, c.reason),
            (Verdict::Blocked, Some("AllowOriginMismatch"))
        );
    }

    /// A DevTools export with the second, credentialed PUT's preflight left out (a filtered
    /// export): the PUT failed (`ERR_FAILED`, no response) and nothing in the input shows which
    /// check. Chromium's verdict is the recorded block; Firefox's and Safari's were derived
    /// `allowed` from the first PUT's answer, which passes, though Chromium failed on data
    /// the input does not hold: they are unknown.
    #[test]
    fn an_unexplained_failure_is_never_derived_allowed() {
        let json = ("Content-Type", "application/json");
        let pf = x(
            Flavour::DevTools,
            "OPTIONS",
            U,
            &[("Origin", O), ("Access-Control-Request-Method", "PUT")],
            Some((
                204,
                &[
                    ("Access-Control-Allow-Origin", O),
                    ("Access-Control-Allow-Methods", "PUT"),
                    ("Access-Control-Allow-Headers", "content-type"),
                ],
            )),
            None,
        );
        let ok = x(
            Flavour::DevTools,
            "PUT",
            U,
            &[("Origin", O), json],
            Some((200, &[("Access-Control-Allow-Origin", O)])),
            None,
        );
        let mut failed = x(
            Flavour::DevTools,
            "PUT",
            U,
            &[("Origin", O), json],
            None,
            Some("net::ERR_FAILED"),
        );
        failed.time = 300_000;
        let mut resolver = Resolver::new();
        resolver.resolve(&one(ok, Some(pf)), Browser::Chromium);
        let r = resolver.resolve(&one(failed, None), Browser::Chromium);
        let v = |b: Browser| r.browsers[b].verdict;
        assert_eq!(v(Browser::Chromium), Verdict::Blocked);
        assert_eq!(v(Browser::Firefox), Verdict::Unknown);
        assert_eq!(v(Browser::Safari), Verdict::Unknown);
    }

    #[test]
    fn network_errors_are_never_cors_blocks() {
        let f = one(
            x(
                Flavour::DevTools,
                "GET",
                U,
                &[("Origin", O)],
                None,
                Some("net::ERR_CONNECTION_REFUSED"),
            ),
            None,
        );
        let r = Resolver::new().resolve(&f, Browser::Chromium);
        assert_eq!(r.browsers[Browser::Chromium].verdict, Verdict::Unknown);
        assert_eq!(r.browsers[Browser::Chromium].reason, None);
        // Firefox's console names it CORSDidNotSucceed; it is still a network error.
        let fx = &r.browsers[Browser::Firefox];
        assert_eq!((fx.verdict, fx.reason), (Verdict::Unknown, None));
        assert!(fx.note().unwrap().contains("CORSDidNotSucceed"));
    }

    /// Font loads: WebKit loads `@font-face` fonts without CORS, Chromium and Firefox with it.
    /// A font load the request itself proves (Firefox's font `Accept`, `Sec-Fetch-Dest`) is
    /// judged as one; a font answer without that proof leaves open what a font load would
    /// change, and nothing else.
    #[test]
    fn font_loads_stage() {
        use Verdict::{Blocked, NotCors, Unknown};
        const FF_ACCEPT: &str =
            "application/font-woff2;q=1.0,application/font-woff;q=0.9,*/*;q=0.8";
        const REF: &str = "http://app.test:8080/";
        let none: &[(&str, &str)] = &[];
        let star: &[(&str, &str)] = &[("Access-Control-Allow-Origin", "*")];
        // (request headers, response type, response headers, recorder, Chromium/Firefox/Safari)
        #[allow(clippy::type_complexity)]
        let cases: [(
            &[(&str, &str)],
            &str,
            &[(&str, &str)],
            Browser,
            [Verdict; 3],
        ); 9] = [
            // A CORS GET answered with a font: a font load in Safari was not checked.
            (
                &[("Origin", O)],
                "font/woff2",
                none,
                Browser::Chromium,
                [Blocked, Blocked, Unknown],
            ),
            // The same answered with JSON: no doubt.
            (
                &[("Origin", O)],
                "application/json",
                none,
                Browser::Chromium,
                [Blocked, Blocked, Blocked],
            ),
            // Firefox's font Accept proves a font load: Safari does not check it.
            (
                &[("Origin", O), ("Accept", FF_ACCEPT)],
                "font/woff2",
                none,
                Browser::Firefox,
                [Blocked, Blocked, NotCors],
            ),
            // So does Sec-Fetch-Dest, whatever the answer's type.
            (
                &[("Origin", O), ("Sec-Fetch-Dest", "font")],
                "application/octet-stream",
                none,
                Browser::Chromium,
                [Blocked, Blocked, NotCors],
            ),
            // WebKit's font load without Origin: what Chromium's and Firefox's Origin would
            // have been answered is not in the input...
            (
                &[("Referer", REF)],
                "font/woff2",
                none,
                Browser::Safari,
                [Unknown, Unknown, NotCors],
            ),
            // ...unless any origin may read it.
            (
                &[("Referer", REF)],
                "font/woff2",
                star,
                Browser::Safari,
                [NotCors, NotCors, NotCors],
            ),
            // WebKit's font load says so over HTTPS: the same doubt for the other two.
            (
                &[
                    ("Referer", REF),
                    ("Sec-Fetch-Mode", "no-cors"),
                    ("Sec-Fetch-Dest", "font"),
                ],
                "font/woff2",
                none,
                Browser::Safari,
                [Unknown, Unknown, NotCors],
            ),
            // Chromium loads fonts with CORS: its no-cors GET of a font was not a font load.
            (
                &[("Referer", REF)],
                "font/woff2",
                none,
                Browser::Chromium,
                [NotCors, NotCors, NotCors],
            ),
            // An older font type.
            (
                &[("Origin", O)],
                "application/x-font-ttf",
                none,
                Browser::Chromium,
                [Blocked, Blocked, Unknown],
            ),
        ];
        for (i, (req, ctype, resp, recorder, want)) in cases.into_iter().enumerate() {
            let mut resp = resp.to_vec();
            resp.push(("Content-Type", ctype));
            let f = one(
                x(Flavour::Capture, "GET", U, req, Some((200, &resp)), None),
                None,
            );
            let r = Resolver::new().resolve(&f, recorder);
            let got = [Browser::Chromium, Browser::Firefox, Browser::Safari]
                .map(|b| r.browsers[b].verdict);
            assert_eq!(got, want, "case {i}: {req:?} {ctype}");
            for b in r.browsers.values().filter(|b| b.verdict == Unknown) {
                assert!(
                    b.note().unwrap_or_default().contains("@font-face"),
                    "case {i}: {:?}",
                    b.note()
                );
            }
        }
        // A font answer to the page's own origin is no font question.
        let same = one(
            x(
                Flavour::Capture,
                "GET",
                "http://app.test:8080/f.woff2",
                &[("Referer", REF)],
                Some((200, &[("Content-Type", "font/woff2")])),
                None,
            ),
            None,
        );
        let r = Resolver::new().resolve(&same, Browser::Safari);
        assert!(r.browsers.values().all(|b| b.verdict == NotCors));
    }

    #[test]
    fn no_cors_get_is_not_listed() {
        let f = one(
            x(
                Flavour::Capture,
                "GET",
                U,
                &[("Referer", "http://app.test:8080/")],
                Some((200, &[])),
                None,
            ),
            None,
        );
        let r = Resolver::new().resolve(&f, Browser::Chromium);
        assert_eq!(r.facts.mode, Mode::NoCors);
        assert_eq!(r.browsers[Browser::Chromium].verdict, Verdict::NotCors);
    }

    /// A capture's preflight for a PUT to `U` from `O`, allowed for `max_age` seconds.
    fn put_preflight(max_age: &str) -> Exchange {
        x(
            Flavour::Capture,
            "OPTIONS",
            U,
            &[("Origin", O), ("Access-Control-Request-Method", "PUT")],
            Some((
                204,
                &[
                    ("Access-Control-Allow-Origin", O),
                    ("Access-Control-Allow-Methods", "PUT"),
                    ("Access-Control-Max-Age", max_age),
                ],
            )),
            None,
        )
    }

    /// A capture's PUT to `U` from `O`, answered with a matching Allow-Origin.
    fn allowed_put() -> Exchange {
        x(
            Flavour::Capture,
            "PUT",
            U,
            &[("Origin", O)],
            Some((200, &[("Access-Control-Allow-Origin", O)])),
            None,
        )
    }

    #[test]
    fn preflight_cache_hit_within_max_age() {
        let pf = put_preflight("60");
        let put = |t| {
            let mut e = x(
                Flavour::Capture,
                "PUT",
                U,
                &[("Origin", O)],
                Some((200, &[("Access-Control-Allow-Origin", O)])),
                None,
            );
            e.time = t;
            e
        };
        let mut res = Resolver::new();
        let first = res.resolve(&one(put(1), Some(pf)), Browser::Chromium);
        assert_eq!(first.browsers[Browser::Chromium].verdict, Verdict::Allowed);
        let second = res.resolve(&one(put(30_000_000), None), Browser::Chromium);
        let c = &second.browsers[Browser::Chromium];
        assert_eq!(c.verdict, Verdict::Allowed, "{:?}", c.note());
        assert_eq!(c.cache_hits.len(), 1);
        // After the max-age, the missing preflight cannot be explained.
        let third = res.resolve(&one(put(120_000_000), None), Browser::Chromium);
        assert_eq!(third.browsers[Browser::Chromium].verdict, Verdict::Unknown);
    }

    /// A cache entry dropped for the memory budget leaves the request it would have served
    /// as a request whose preflight is not in the input: `unknown`, never a guessed verdict.
    #[test]
    fn entry_dropped_for_the_budget_leaves_the_request_unknown() {
        let put = |client: &str, t| {
            let mut e = allowed_put();
            e.time = t;
            e.client = Arc::from(client);
            e
        };
        let flow = |client: &str, t, pf: Option<Exchange>| {
            let mut f = one(put(client, t), pf);
            f.client = Arc::from(client);
            f
        };
        let preflight = |t| {
            let mut p = put_preflight("600");
            p.time = t;
            p
        };
        let mut res = Resolver::one_of(1, 0);
        res.resolve(&flow("a", 2, Some(preflight(1))), Browser::Chromium);
        let kept = res.resolve(&flow("a", 2_000_000, None), Browser::Chromium);
        assert_eq!(kept.browsers[Browser::Chromium].verdict, Verdict::Allowed);
        // Later preflights of other clients, each cached by three browsers, push "a" out.
        let n = MIN_CACHE_BUDGET / 3 + 1;
        let client = |i: usize| format!("10.0.{}.{}", i / 256, i % 256);
        for i in 0..n {
            let t = 3_000_000 + i as i64;
            res.resolve(
                &flow(&client(i), t + 1, Some(preflight(t))),
                Browser::Chromium,
            );
        }
        assert!(res.dropped_cache_entries() > 0);
        assert!(res.cached <= res.cache_budget);
        let dropped = res.resolve(&flow("a", 4_000_000, None), Browser::Chromium);
        for b in ALL_BROWSERS {
            assert_eq!(dropped.browsers[b].verdict, Verdict::Unknown, "{b:?}");
        }
        // The latest client's entries are still there.
        let last = res.resolve(&flow(&client(n - 1), 4_000_000, None), Browser::Chromium);
        assert_eq!(last.browsers[Browser::Chromium].verdict, Verdict::Allowed);
    }

    #[test]
    fn each_client_has_its_own_preflight_cache() {
        let pf = put_preflight("600");
        let put = |client: &str, t| {
            let mut e = x(
                Flavour::Capture,
                "PUT",
                U,
                &[("Origin", O)],
                Some((200, &[("Access-Control-Allow-Origin", O)])),
                None,
            );
            e.time = t;
            e.client = Arc::from(client);
            e
        };
        let mut res = Resolver::new();
        let mut first = one(put("c", 1), Some(pf));
        first.client = Arc::from("c");
        res.resolve(&first, Browser::Chromium);
        let mut other = one(put("10.0.0.2", 2_000_000), None);
        other.client = Arc::from("10.0.0.2");
        let r = res.resolve(&other, Browser::Chromium);
        assert_eq!(r.browsers[Browser::Chromium].verdict, Verdict::Unknown);
        assert_eq!(res.live_clients(), 2);
    }

    /// A GET from the page at `page` to `url`, with `headers` and a 200 answer setting
    /// `set_cookie` when given.
    fn get(page: &str, url: &str, headers: &[(&str, &str)], set_cookie: Option<&str>) -> Flow {
        let mut h = vec![("Origin", page)];
        h.extend_from_slice(headers);
        let resp: Vec<(&str, &str)> = set_cookie.map(|c| ("Set-Cookie", c)).into_iter().collect();
        one(
            x(Flavour::Capture, "GET", url, &h, Some((200, &resp)), None),
            None,
        )
    }

    /// Cookie-jar deduction: only a single request that lacks a same-site cookie the jar holds
    /// for its target is read as uncredentialed; the flow's own Set-Cookie counts for later
    /// flows only.
    #[test]
    fn cookie_jar_deduction_stage() {
        const PAGE: &str = "https://app.example.test";
        const API: &str = "https://api.example.test/r";
        let setter = get(
            PAGE,
            API,
            &[],
            Some("s=1; Domain=example.test; Path=/; Secure"),
        );
        let cases: [(&str, Flow, Option<bool>); 3] = [
            ("no cookie sent", get(PAGE, API, &[], None), Some(false)),
            (
                "cookie sent",
                get(PAGE, API, &[("Cookie", "s=1")], None),
                Some(true),
            ),
            (
                "another site",
                get("https://other.test", API, &[], None),
                None,
            ),
        ];
        for (name, flow, want) in cases {
            let mut res = Resolver::new();
            let mut facts = classify(&setter);
            let same = same_origin_hops(&setter, facts.page_origin.as_deref());
            res.deduce_from_cookie_jar(&setter, &mut facts, &same);
            assert!(!facts.credentials_from_cookie_jar, "{name}: own Set-Cookie");
            res.learn_cookies(&setter);
            let mut facts = classify(&flow);
            let same = same_origin_hops(&flow, facts.page_origin.as_deref());
            res.deduce_from_cookie_jar(&flow, &mut facts, &same);
            assert_eq!(facts.credentials_seen, want, "{name}");
            assert_eq!(
                facts.credentials_from_cookie_jar,
                want == Some(false),
                "{name}"
            );
        }
    }

    /// Cache expiry: a sweep runs only after a minute of input time, and forgets clients whose
    /// caches it emptied.
    #[test]
    fn cache_expiry_stage() {
        let allowed = super::super::cache::Allowed::new(&["PUT"], &[], 5);
        let client: Arc<str> = Arc::from("c");
        let mut res = Resolver::new();
        res.expire_caches(0);
        let caches = res.caches.entry(client.clone()).or_insert_with(new_caches);
        caches[Browser::Chromium].insert(&client, O, U, 0, false, &allowed);
        // Ten seconds later the entry is stale, but no sweep is due yet.
        res.expire_caches(10_000_000);
        assert_eq!(res.live_clients(), 1);
        res.expire_caches(EXPIRE_EVERY_US + 1);
        assert_eq!(res.live_clients(), 0);
    }

    /// Past the budget the least recently refreshed entries go, down to three quarters of it,
    /// and the live ones dropped are counted; the newest entries stay.
    #[test]
    fn cache_budget_drops_the_least_recently_refreshed() {
        let allowed = super::super::cache::Allowed::new(&["PUT"], &[], 3600);
        let mut res = Resolver::one_of(1, 0);
        assert_eq!(res.cache_budget, MIN_CACHE_BUDGET);
        let clients: Vec<Arc<str>> = (0..=MIN_CACHE_BUDGET)
            .map(|i| Arc::from(format!("c{i}")))
            .collect();
        for (i, client) in clients.iter().enumerate() {
            let caches = res.caches.entry(client.clone()).or_insert_with(new_caches);
            caches[Browser::Safari].insert(client, O, U, i as i64, false, &allowed);
            res.cached += 1;
            res.keep_cache_budget(i as i64);
        }
        let kept = MIN_CACHE_BUDGET * 3 / 4;
        assert_eq!(res.cached, kept);
        assert_eq!(res.live_clients(), kept);
        assert_eq!(res.dropped_cache_entries(), (clients.len() - kept) as u64);
        let hit = |res: &Resolver, c: &Arc<str>| {
            res.caches.get(c).is_some_and(|cs| {
                cs[Browser::Safari].lookup(c, O, U, 0, false, "PUT", &[])
                    != super::super::cache::Lookup::Miss
            })
        };
        assert!(!hit(&res, &clients[0]));
        assert!(hit(&res, &clients[MIN_CACHE_BUDGET]));
        // Expired entries go first and are not counted as dropped.
        let mut res = Resolver::one_of(2, 2 * MIN_CACHE_BUDGET);
        for (i, client) in clients.iter().enumerate() {
            let caches = res.caches.entry(client.clone()).or_insert_with(new_caches);
            caches[Browser::Safari].insert(client, O, U, 0, false, &allowed);
            res.cached += 1;
            res.keep_cache_budget(if i == MIN_CACHE_BUDGET {
                3_600_000_001
            } else {
                0
            });
        }
        assert_eq!(res.dropped_cache_entries(), 0);
        assert_eq!(res.cached, 0);
    }

    /// Credentials options: what the input shows, a font's `same-origin` mode, else both.
    #[test]
    fn credential_options_stage() {
        let facts = classify(&get(O, U, &[], None));
        let cases = [
            (Some(true), false, vec![true]),
            (Some(false), true, vec![false]),
            (None, true, vec![false]),
            (None, false, vec![false, true]),
        ];
        for (seen, font, want) in cases {
            let f = Facts {
                credentials_seen: seen,
                is_font: font,
                ..facts.clone()
            };
            assert_eq!(credential_options(&f), want, "{seen:?} {font}");
        }
    }

    /// Committing the caches: a passed preflight is stored for the browser whose evaluation
    /// passed it, a block clears the entry, an undecided browser leaves its cache alone.
    #[test]
    fn commit_caches_stage() {
        let pf = put_preflight("60");
        let put = allowed_put();
        let flow = one(put, Some(pf));
        let cx = |cache| Context {
            browser: Browser::Chromium,
            recorder: Browser::Chromium,
            include: false,
            page_origin: O,
            cache,
            recorder_passed_preflight: &[],
            recorder_unsafe_names: &[],
            is_font: false,
            evidence: None,
            names_memo: None,
        };
        let mut caches = new_caches();
        let passed = super::super::engine::evaluate(&flow, &cx(&caches[Browser::Chromium]));
        assert_eq!(passed.passed.len(), 1);
        let mut blocked = passed.clone();
        blocked.decision = Decision::Blocked(Blocked {
            failure: Failure::AllowOriginMissing,
            stage: Stage::Actual,
            status: Some(200),
            url: U.into(),
            location: None,
            request_origin: O.into(),
            hop: 0,
        });
        blocked.passed.clear();
        let only = |skip: Browser, e: &Evaluation| {
            PerBrowser::from_fn(|b| (b != skip).then(|| (false, e.clone())))
        };
        commit_caches(&mut caches, &flow, O, &only(Browser::Firefox, &passed));
        let lens = |c: &PerBrowser<PreflightCache>| c.values().map(|c| c.len()).collect::<Vec<_>>();
        assert_eq!(lens(&caches), [1, 0, 1]);
        let safari_blocked =
            PerBrowser::from_fn(|b| (b == Browser::Safari).then(|| (false, blocked.clone())));
        commit_caches(&mut caches, &flow, O, &safari_blocked);
        assert_eq!(lens(&caches), [1, 0, 0]);
    }

    /// The overrides across browsers: an ambiguous mode turns blocks unknown only where nothing
    /// was observed; an undecided problem always gets a note; the connection note reaches
    /// every browser, the cookie-jar note only the recorder.
    #[test]
    fn cross_browser_override_stages() {
        let facts = classify(&get(O, U, &[], None));
        let blocked = |b| BrowserVerdict {
            reason: Some("X"),
            ..plain(b, Verdict::Blocked, Vec::new())
        };
        let all = || PerBrowser::from_fn(blocked);
        for (observed, want) in [
            (Observed::NotObserved, Verdict::Unknown),
            (Observed::Succeeded, Verdict::Blocked),
        ] {
            let f = Facts {
                mode: Mode::Ambiguous,
                observed,
                ..facts.clone()
            };
            let mut v = all();
            unknown_if_mode_ambiguous(&f, &mut v);
            assert!(v.values().all(|v| v.verdict == want), "{:?}", f.observed);
        }
        let mut v = all();
        v[Browser::Chromium] = plain(Browser::Chromium, Verdict::Unknown, Vec::new());
        explain_undecided(&mut v);
        assert_eq!(v[Browser::Chromium].notes, [Note::Undecided]);
        assert_eq!(v[Browser::Firefox].notes, []);
        let f = Facts {
            credentials_from_cookie_jar: true,
            credentials_from_connection: true,
            credentials_seen: Some(false),
            ..facts
        };
        let mut v = all();
        note_credentials_evidence(&f, Browser::Firefox, &mut v);
        let notes: Vec<usize> = v.values().map(|v| v.notes.len()).collect();
        assert_eq!(notes, [1, 2, 1]);
    }

    /// Reading the page origin: Origin (a null first Origin wins: an opaque page), the
    /// preflight's Origin, then Referer, Sec-Fetch-Site, the HAR page; an unparsable Origin
    /// falls through to the others.
    #[test]
    fn page_origin_stage() {
        let flow = |headers: &[(&str, &str)], pf: Option<&[(&str, &str)]>| {
            let mut e = x(Flavour::DevTools, "GET", U, headers, None, None);
            e.evidence.page_origin = Some("http://har-page.test".into());
            let pf = pf.map(|h| x(Flavour::DevTools, "OPTIONS", U, h, None, None));
            one(e, pf)
        };
        let cases: [(&str, Flow, Option<&str>, &str); 6] = [
            (
                "origin",
                flow(&[("Origin", O)], None),
                Some(O),
                "Origin header",
            ),
            (
                "opaque",
                flow(&[("Origin", "null")], None),
                Some("null"),
                "Origin header (opaque origin",
            ),
            (
                "preflight",
                flow(&[], Some(&[("Origin", O)])),
                Some(O),
                "preflight Origin header",
            ),
            (
                "referer",
                flow(&[("Referer", "http://ref.test/p?q")], None),
                Some("http://ref.test"),
                "Referer",
            ),
            (
                "fetch metadata",
                flow(&[("Sec-Fetch-Site", "same-origin")], None),
                Some("http://api.test:8081"),
                "Sec-Fetch-Site",
            ),
            (
                "HAR page",
                flow(&[], None),
                Some("http://har-page.test"),
                "HAR page",
            ),
        ];
        for (name, f, want, from) in cases {
            let (origin, said) =
                page_origin_of(&f, &FirstRequest::of(&f.first().exchange.request.headers));
            assert_eq!(origin.as_deref(), want, "{name}");
            assert!(said.starts_with(from), "{name}: {said}");
        }
    }

    /// Without a page origin a request is outside CORS, unless an export left its headers out
    /// (its `Origin` may be among them): undecided then. A capture's request without headers
    /// is what was sent.
    #[test]
    fn no_page_origin_is_undecided_where_the_headers_are_not_listed() {
        let listed: &[(&str, &str)] = &[("Host", "api.test:8081"), ("Accept", "*/*")];
        // (how the input was recorded, request headers, every browser's verdict)
        type Case<'a> = (Flavour, &'a [(&'a str, &'a str)], Verdict);
        let cases: [Case; 4] = [
            (Flavour::Playwright, &[], Verdict::Unknown),
            (Flavour::DevTools, &[], Verdict::Unknown),
            (Flavour::DevTools, listed, Verdict::NotCors),
            (Flavour::Capture, &[], Verdict::NotCors),
        ];
        for (flavour, req, want) in cases {
            let f = one(x(flavour, "GET", U, req, Some((200, &[])), None), None);
            let r = Resolver::new().resolve(&f, Browser::Chromium);
            for b in r.browsers.values() {
                assert_eq!(b.verdict, want, "{flavour:?} {req:?}");
            }
        }
    }

    /// A hop is of the page's origin when its URL is, or when the browser says so in
    /// `Sec-Fetch-Site` (behind a proxy that rewrote `Host`, the URL names the backend).
    #[test]
    fn same_origin_hops_take_the_browsers_word() {
        let backend = "https://backend-0.internal:9000/s/r";
        // (URL, request headers, page origin, same origin)
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            &'a [bool],
        );
        let cases: [Case; 6] = [
            (U, &[], Some("http://api.test:8081"), &[true]),
            (U, &[], Some(O), &[false]),
            (
                backend,
                &[("Sec-Fetch-Site", "same-origin")],
                Some(O),
                &[true],
            ),
            (
                backend,
                &[("sec-fetch-site", " Same-Origin ")],
                Some(O),
                &[true],
            ),
            (
                backend,
                &[("Sec-Fetch-Site", "same-site")],
                Some(O),
                &[false],
            ),
            (backend, &[("Sec-Fetch-Site", "same-origin")], None, &[]),
        ];
        for (url, headers, page, want) in cases {
            let f = one(x(Flavour::Capture, "GET", url, headers, None, None), None);
            assert_eq!(
                &same_origin_hops(&f, page)[..],
                want,
                "{url} {headers:?} {page:?}"
            );
        }
    }

    /// Reading the mode: Sec-Fetch-Mode when sent, else the first inference that applies.
    #[test]
    fn mode_stage() {
        let get = |headers: &[(&str, &str)], rt: Option<&str>| {
            let mut e = x(Flavour::DevTools, "GET", U, headers, Some((200, &[])), None);
            e.evidence.resource_type = rt.map(str::to_owned);
            one(e, None)
        };
        let cases: [(&str, Flow, Mode); 6] = [
            (
                "sfm cors",
                get(&[("Sec-Fetch-Mode", "CORS")], None),
                Mode::Cors,
            ),
            (
                "sfm no-cors",
                get(&[("Sec-Fetch-Mode", "no-cors")], None),
                Mode::NoCors,
            ),
            (
                "sfm navigate",
                get(&[("Sec-Fetch-Mode", "nested-navigate")], None),
                Mode::Navigate,
            ),
            (
                "document",
                get(&[("Referer", "http://app.test:8080/")], Some("document")),
                Mode::Navigate,
            ),
            (
                "cross GET without Origin",
                get(&[("Referer", "http://app.test:8080/")], Some("image")),
                Mode::NoCors,
            ),
            ("GET with Origin", get(&[("Origin", O)], None), Mode::Cors),
        ];
        for (name, f, want) in cases {
            let first = FirstRequest::of(&f.first().exchange.request.headers);
            let (p, _) = page_origin_of(&f, &first);
            let rt = f.first().exchange.evidence.resource_type.clone();
            assert_eq!(
                mode_of(&f, &first, p.as_deref(), rt.as_deref(), None, false),
                want,
                "{name}"
            );
        }
    }

    /// Reading the outcome: by how the input records it, a missing request, the error's kind,
    /// the response.
    #[test]
    fn observed_stage() {
        use OutcomeRecording::{DropsBlocked, MayOmitFailures, Wire, WithFailures};
        // A browser's own export (DevTools'), except where a case says otherwise.
        let of = |flavour, recording, resp: bool, error: Option<&str>, cors_error, sent| {
            let r: Option<(u16, &[(&str, &str)])> = resp.then_some((200, &[]));
            let mut e = x(flavour, "GET", U, &[("Origin", O)], r, error);
            e.evidence.recording = recording;
            e.evidence.cors_error = cors_error;
            e.evidence.no_response = !resp;
            let mut f = one(e, None);
            f.hops[0].sent = sent;
            f
        };
        let f = |recording, resp, error, cors_error, sent| {
            of(Flavour::DevTools, recording, resp, error, cors_error, sent)
        };
        let cases = [
            (
                f(WithFailures, true, None, false, true),
                Observed::Succeeded,
            ),
            (
                f(WithFailures, false, None, false, true),
                Observed::NotObserved,
            ),
            (
                f(WithFailures, false, Some("net::ERR_FAILED"), true, true),
                Observed::CorsFailure("net::ERR_FAILED".into()),
            ),
            (
                f(WithFailures, false, Some("net::ERR_ABORTED"), false, true),
                Observed::OtherFailure("net::ERR_ABORTED".into()),
            ),
            // Aborted after its response arrived: the CORS check had passed.
            (
                f(WithFailures, true, Some("net::ERR_ABORTED"), false, true),
                Observed::Succeeded,
            ),
            // Unless the text is not Chromium's own log's (a proxy's HAR of Chromium's
            // requests): then it says nothing of the check.
            (
                of(
                    Flavour::OtherHar,
                    WithFailures,
                    true,
                    Some("net::ERR_ABORTED"),
                    false,
                    true,
                ),
                Observed::OtherFailure("net::ERR_ABORTED".into()),
            ),
            // Any other failure after a response says nothing of the check.
            (
                f(
                    WithFailures,
                    true,
                    Some("net::ERR_CONNECTION_RESET"),
                    false,
                    true,
                ),
                Observed::OtherFailure("net::ERR_CONNECTION_RESET".into()),
            ),
            (
                f(WithFailures, false, None, false, false),
                Observed::NotSent,
            ),
            (
                f(DropsBlocked, false, None, false, false),
                Observed::Dropped,
            ),
            (
                f(DropsBlocked, true, None, false, true),
                Observed::Succeeded,
            ),
            (
                f(DropsBlocked, false, None, false, true),
                Observed::NotObserved,
            ),
            (f(Wire, true, None, false, true), Observed::NotObserved),
            // A proxy's HAR: an answer without a failure text is what the server sent, not
            // what the browser decided; a browser's CORS failure text is still read as one.
            (
                of(Flavour::OtherHar, MayOmitFailures, true, None, false, true),
                Observed::NotObserved,
            ),
            (
                of(
                    Flavour::OtherHar,
                    MayOmitFailures,
                    false,
                    Some("net::ERR_FAILED"),
                    true,
                    true,
                ),
                Observed::CorsFailure("net::ERR_FAILED".into()),
            ),
            (
                of(
                    Flavour::OtherHar,
                    MayOmitFailures,
                    false,
                    None,
                    false,
                    false,
                ),
                Observed::NotSent,
            ),
        ];
        // A redirect whose redirected request is not in the input (a DevTools export missing
        // the entry that carries the error): nothing observed; chrome-har left it out. A 302
        // with an empty Location is Chromium's final response.
        let redirect = |recording, location| {
            let mut e = x(
                Flavour::OtherHar,
                "GET",
                U,
                &[("Origin", O)],
                Some((302, &[("Location", location)])),
                None,
            );
            e.evidence.recording = recording;
            one(e, None)
        };
        let next = "http://app.test/next";
        let cases = cases
            .into_iter()
            .map(|(f, want)| (f, Browser::Chromium, want))
            .chain([
                (
                    redirect(WithFailures, next),
                    Browser::Chromium,
                    Observed::NotObserved,
                ),
                (
                    redirect(DropsBlocked, next),
                    Browser::Chromium,
                    Observed::Dropped,
                ),
                (
                    redirect(WithFailures, ""),
                    Browser::Chromium,
                    Observed::Succeeded,
                ),
                (
                    redirect(WithFailures, ""),
                    Browser::Firefox,
                    Observed::NotObserved,
                ),
            ]);
        for (flow, recorder, want) in cases {
            let error = flow.last().exchange.evidence.error.clone();
            let aborted = chromium_abort(&flow, recorder);
            assert_eq!(observed_of(&flow, error, recorder, aborted), want);
        }
    }

    /// The evidence overrides the rules for the recording browser, and keeps a credentials
    /// deduction through a network failure.
    #[test]
    fn evidence_wins_stage() {
        let deduced = Note::CredentialsDeduced {
            mode: Credentials::Omit,
            by_preflight: true,
        };
        let blocked = || BrowserVerdict {
            reason: Some("X"),
            message: Some("m".into()),
            ..plain(Browser::Chromium, Verdict::Blocked, Vec::new())
        };
        let mut v = blocked();
        evidence_wins(&mut v, &Observed::Succeeded);
        assert_eq!(
            (v.verdict, v.reason, v.message),
            (Verdict::Allowed, None, None)
        );
        let mut v = plain(Browser::Chromium, Verdict::Allowed, Vec::new());
        evidence_wins(&mut v, &Observed::CorsFailure("net::ERR_FAILED".into()));
        assert_eq!(v.verdict, Verdict::Blocked);
        let mut v = BrowserVerdict {
            notes: vec![Note::Missing(Missing::Response { hop: 0 }), deduced.clone()],
            ..blocked()
        };
        evidence_wins(&mut v, &Observed::OtherFailure("net::ERR_ABORTED".into()));
        assert_eq!((v.verdict, v.reason), (Verdict::Unknown, None));
        let error = "net::ERR_ABORTED".to_owned();
        assert_eq!(v.notes, [Note::NetworkOrClientFailure { error }, deduced]);
        let mut v = blocked();
        evidence_wins(&mut v, &Observed::NotObserved);
        assert_eq!(v.verdict, Verdict::Blocked);
    }
}
