//! The decision procedure (`#main-fetch`) for one flow under one browser profile
//! and one set of assumptions (credentials mode); the caller resolves the unknowns.

use std::borrow::Cow;
use std::rc::Rc;

use super::browser::{AllowOriginRules, Browser};
use super::cache::{Allowed, Lookup, PreflightCache};
use super::counterfactual::{self, EndpointEvidence};
use super::headers::{
    header_str, is_safelisted_method, joined_is, parse_allow_list_into, parse_request_headers_list,
    unsafe_request_header_names_as, NameSet, ValueEncoding,
};
use super::headview::{self, HeadProblem};
use super::origin::{
    gurl_valid, has_credentials, is_http_scheme, resolve_location, same_origin, without_credentials,
};
use super::reason::{Blocked, Failure, Stage};
use super::recent::{final_slot, Finals, HopJudged};
use crate::model::Flow;
use crate::model::{escape_bytes, Exchange, Headers, Request, Response};

/// Why a flow is outside CORS altogether.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotCors {
    /// Every hop stayed on the page's origin.
    SameOrigin,
    /// `no-cors` mode (plain `<img>`/`<script>`, `mode: 'no-cors'`): the response is opaque.
    NoCors,
    /// A document navigation or form submission.
    Navigation,
    /// A load this browser makes without CORS (WebKitGTK's `@font-face`).
    NotCorsInThisBrowser,
}

/// Something the decision needs that the input does not show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// A preflight was needed, none is recorded and no cached one covers the request.
    Preflight { hop: usize },
    /// This browser would have preflighted where the recording browser did not, so the
    /// server's answer is not in the input.
    PreflightNotSentByRecorder { hop: usize, why: String },
    /// This browser's preflight carries another Origin than the recorded one (after a
    /// tainting redirect Firefox keeps the page's, the others send `null`), and the recorded
    /// answer depends on the Origin asked.
    PreflightOtherOrigin { hop: usize, why: String },
    /// The preflight's response was not recorded.
    PreflightResponse { hop: usize },
    /// The request itself never appeared (only its preflight did).
    NotSent { hop: usize },
    /// The recording browser preflighted for a header value the input does not show, and this
    /// browser safelists some values of that header the recorder refuses (issue 19.3).
    ValueNotVisible { hop: usize, why: String },
    /// The response was not recorded.
    Response { hop: usize },
    /// A redirect was answered but the next request is not in the input.
    NextHop { hop: usize },
    /// The response head decides the hop before any CORS check (`headview`): this browser fails
    /// it (a network error), or the input cannot show how it reads it.
    ResponseHead { hop: usize, why: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Allowed,
    Blocked(Blocked),
    NotCors(NotCors),
    Undecidable(Missing),
}

/// A preflight that passed, to be cached by the caller once the flow is decided. Its URL is
/// the hop's request's; its Origin the page's, or `null` after a tainting redirect (kept as a
/// flag: the caller knows both, and copying them for every reading cost more than the rest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PassedPreflight {
    pub hop: usize,
    pub null_origin: bool,
    pub allowed: Allowed,
}

impl PassedPreflight {
    /// The Origin the preflight carried, given the page's.
    pub(crate) fn origin<'a>(&self, page_origin: &'a str) -> &'a str {
        if self.null_origin {
            "null"
        } else {
            page_origin
        }
    }
}

/// A preflight answer's allow list, parsed for every reading: short, so kept inline.
type Tokens<'a> = smallvec::SmallVec<[&'a str; 8]>;

/// A hop's unsafe header names ([`unsafe_names`]), shared: every evaluation of a flow reads
/// the lists its memo made, so a copy is a count, not a list of strings; an empty list (most
/// hops) allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Names(Option<std::rc::Rc<[String]>>);

impl Names {
    pub(crate) fn new(names: Vec<String>) -> Self {
        Self((!names.is_empty()).then(|| names.into()))
    }
}

impl std::ops::Deref for Names {
    type Target = [String];
    fn deref(&self) -> &[String] {
        self.0.as_deref().unwrap_or(&[])
    }
}

/// Per hop, a flow's few hops kept inline (redirect chains are short).
pub(crate) type PerHop<T> = smallvec::SmallVec<[T; 2]>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Evaluation {
    pub decision: Decision,
    pub passed: Vec<PassedPreflight>,
    /// Hops served by the preflight cache, with the entry's age in seconds.
    pub cache_hits: Vec<(usize, u64)>,
    /// Per hop: whether this browser needed a preflight there.
    pub needed_preflight: PerHop<bool>,
    /// Per hop: the unsafe header names this browser would announce.
    pub unsafe_names: PerHop<Names>,
    /// How requests this browser would have sent and the recorder did not were decided.
    pub notes: Vec<String>,
}

/// Everything the engine needs besides the flow.
pub(crate) struct Context<'a> {
    pub browser: Browser,
    /// The browser that made the recording, whose preflights are the ones in the input.
    pub recorder: Browser,
    /// Credentials mode `include` (the assumption being evaluated).
    pub include: bool,
    /// The page's serialized origin.
    pub page_origin: &'a str,
    pub cache: &'a PreflightCache,
    /// Per hop: the recording browser got past this hop's preflight (from the evidence), so a
    /// browser that would send the same preflight can assume the same answer.
    pub recorder_passed_preflight: &'a [bool],
    /// Per hop: the unsafe names the recording browser announced or would have.
    pub recorder_unsafe_names: &'a [Names],
    /// A font load (WebKitGTK does not use CORS for them).
    pub is_font: bool,
    /// The server's earlier answers per endpoint, for requests the recorder did not send.
    pub evidence: Option<&'a EndpointEvidence>,
    /// The flow's hops' unsafe names as each browser reads the visible request, shared by
    /// every evaluation of the same flow (`None`: computed each time).
    pub names_memo: Option<&'a NamesMemo>,
}

/// Per flow: each hop's unsafe request header names as one browser announces them
/// ([`unsafe_names`]), computed once, and the parts every browser shares: the hop's author
/// headers ([`author_headers`](super::headers::author_headers)) and its preflight's announced names. Resolving a flow
/// evaluates it up to six times per browser (credentials readings, derived browsers, the
/// recorder's names for another browser), and judging every header was the largest per-flow
/// cost of deciding. Exact: the keys are everything the answers depend on within one flow
/// (the hop fixes the request, its preflight and whether it was sent).
#[derive(Default)]
pub(crate) struct NamesMemo {
    /// (Hop, browser, recorder, value encoding) and the names.
    names: Memo<(usize, Browser, Browser, ValueEncoding), Names>,
    /// Hop and what its header names tell, its author headers
    /// ([`author_headers`](super::headers::author_headers)) among them.
    authors: std::cell::RefCell<smallvec::SmallVec<[(usize, HopJudged); 2]>>,
    /// Sent hop and its final answers shared across flows ([`Finals`]; `None`: not
    /// remembered).
    finals: std::cell::RefCell<smallvec::SmallVec<[HopFinals; 2]>>,
    /// Hop and its preflight's announced names ([`Announced`]).
    announced: Memo<usize, Announced>,
    /// (Hop, page origin) and whether the hop's URL is of that origin.
    same_origin: Memo<(usize, String), bool>,
    /// A page origin and, per hop, whether the hop's URL is of it, as the caller found them.
    known_same_origin: Option<(String, PerHop<bool>)>,
    /// Hop and its recorded preflight response's allow lists, as the input holds them.
    allow_lists: std::cell::RefCell<smallvec::SmallVec<[HopLists; 1]>>,
    /// (Hop, whether of its preflight) and what the CORS check reads of that response, as the
    /// input holds it.
    access: AccessMemo,
}

/// A request's header list, on the stack: a request has a few dozen headers at most, but for
/// an attack.
type HeaderList<'h> = smallvec::SmallVec<[(&'h [u8], &'h [u8]); 32]>;

/// The preflight's list of the unsafe names it announces.
const REQUEST_HEADERS: &str = "access-control-request-headers";

/// [`NamesMemo::finals`]: a sent hop and its shared answers, where remembered.
type HopFinals = (usize, Option<Finals>);

/// [`NamesMemo::allow_lists`]: a hop and its preflight response's allow lists.
type HopLists = (usize, Rc<AllowLists>);

/// [`NamesMemo::access`]: a flow's hop and preflight responses, read in place.
type AccessMemo = std::cell::RefCell<smallvec::SmallVec<[((usize, bool), AccessRead<'static>); 2]>>;

/// A token's place in [`AllowLists::text`].
type Spans = smallvec::SmallVec<[(usize, usize); 8]>;

/// A preflight response's `Access-Control-Allow-Methods` and `-Headers` parsed
/// ([`parse_allow_list_into`]) once per flow instead of once per reading and browser (the
/// parse reads no profile): the tokens copied into one text, each list the places of its
/// tokens or the first element that is not a token.
pub(crate) struct AllowLists {
    text: String,
    methods: Result<Spans, String>,
    headers: Result<Spans, String>,
    /// `Access-Control-Max-Age` as [`header_str`] gives it.
    max_age: Option<String>,
    /// What a passed preflight with these lists allows ([`Allowed`]), per max-age made (the
    /// browsers' caps differ): the same for every browser and flow that reads these lists.
    allowed: std::cell::RefCell<smallvec::SmallVec<[Allowed; 2]>>,
    /// The checks of these lists that passed ([`check_preflight`] past the answer's status and
    /// Allow-Origin), by all that decides them; the last [`PASSES`], most recent last.
    passes: std::cell::RefCell<Vec<Pass>>,
}

/// A check of a preflight's allow lists that passed: the browser, credentials mode, method
/// and unsafe names it was made for, and what the preflight allowed. A passed check reads
/// nothing else (a failed one also the request's header case, for WebKit's message: those
/// are checked each time). Shared with every flow whose preflight answers with the same lists
/// (it was parsing the tokens, matching the names and capping the max-age per evaluation).
struct Pass {
    browser: Browser,
    include: bool,
    method: Box<str>,
    names: Box<[String]>,
    allowed: Allowed,
}

/// Passed checks kept per allow lists: a server's preflights vary in browser (3), credentials
/// mode (2), method and names (pl20: 24 in all).
const PASSES: usize = 32;

/// The longest unsafe names (their bytes together) a remembered pass holds.
const PASS_NAMES_BYTES: usize = 1024;

pub(super) const ALLOW_METHODS: &str = "access-control-allow-methods";
pub(super) const ALLOW_HEADERS: &str = "access-control-allow-headers";
pub(super) const MAX_AGE: &str = "access-control-max-age";

impl AllowLists {
    pub(super) fn parse(headers: &Headers) -> Self {
        // Sized once: the tokens are at most the lines' bytes.
        let size = |name| headers.get_all(name).map(<[u8]>::len).sum::<usize>();
        let mut text = String::with_capacity(size(ALLOW_METHODS) + size(ALLOW_HEADERS));
        let mut list = |name| {
            let mut items = Tokens::new();
            parse_allow_list_into(headers.get_all(name), &mut items).map(|_| {
                items
                    .iter()
                    .map(|t| {
                        text.push_str(t);
                        (text.len() - t.len(), text.len())
                    })
                    .collect()
            })
        };
        let methods = list(ALLOW_METHODS);
        let allowed_headers = list(ALLOW_HEADERS);
        Self {
            text,
            methods,
            headers: allowed_headers,
            max_age: header_str(headers, MAX_AGE).map(Cow::into_owned),
            allowed: Default::default(),
            passes: Default::default(),
        }
    }

    /// What a passed check for (`browser`, `include`, `method`, `names`) allowed, where one
    /// passed.
    fn passed(
        &self,
        browser: Browser,
        include: bool,
        method: &str,
        names: &[String],
    ) -> Option<Allowed> {
        let passes = self.passes.try_borrow().ok()?;
        let pass = passes.iter().rev().find(|p| {
            p.browser == browser
                && p.include == include
                && *p.method == *method
                && *p.names == *names
        })?;
        Some(pass.allowed.clone())
    }

    /// Remembers that a check for (`browser`, `include`, `method`, `names`) passed, allowing
    /// `allowed`.
    fn pass(
        &self,
        browser: Browser,
        include: bool,
        method: &str,
        names: &[String],
        allowed: &Allowed,
    ) {
        // Long lists (hostile ones run to thousands of names) are checked each time: the
        // memo's memory stays small.
        if names.iter().map(String::len).sum::<usize>() > PASS_NAMES_BYTES {
            return;
        }
        let Ok(mut passes) = self.passes.try_borrow_mut() else {
            return;
        };
        if passes.len() == PASSES {
            passes.remove(0);
        }
        passes.push(Pass {
            browser,
            include,
            method: method.into(),
            names: names.into(),
            allowed: allowed.clone(),
        });
    }

    /// `make`'s [`Allowed`] for `max_age`, made once per max-age (`make` must build it from
    /// these lists' tokens).
    fn allowed(&self, max_age: u64, make: impl FnOnce() -> Allowed) -> Allowed {
        let Ok(mut made) = self.allowed.try_borrow_mut() else {
            return make();
        };
        if let Some(a) = made.iter().find(|a| a.max_age == max_age) {
            return a.clone();
        }
        let a = make();
        // A handful of max-ages at most (one per browser cap); never more than a few kept.
        if made.len() < 4 {
            made.push(a.clone());
        }
        a
    }

    /// A list's tokens, as [`parse_allow_list_into`] gave them.
    fn tokens(&self, list: &Result<Spans, String>) -> Result<Tokens<'_>, String> {
        match list {
            Ok(spans) => Ok(spans.iter().map(|&(a, b)| &self.text[a..b]).collect()),
            Err(t) => Err(t.clone()),
        }
    }
}

/// What the CORS check ([`check_access`]) reads of a response, read once:
/// `Access-Control-Allow-Origin` as [`header_str`] gives it and its number of lines, and
/// whether `Access-Control-Allow-Credentials` is exactly `true` ([`joined_is`]).
pub(crate) struct AccessRead<'h> {
    allow_origin: Option<Cow<'h, str>>,
    allow_origin_lines: usize,
    credentials_true: bool,
}

impl<'h> AccessRead<'h> {
    /// Read in one pass over the headers (three before: a response's read was 800
    /// instructions); a repeated or non-UTF-8 line is read as `AccessRead::of_lookups` (the tests' reference) does.
    fn of(headers: &'h Headers) -> Self {
        let is =
            |n: &[u8], want: &str| n.len() == want.len() && n.eq_ignore_ascii_case(want.as_bytes());
        let (mut origin, mut origin_lines) = (None, 0);
        let (mut credentials, mut credentials_lines) = (None, 0);
        for (n, v) in headers.iter() {
            if is(n, ALLOW_ORIGIN) {
                origin_lines += 1;
                origin = origin.or(Some(v));
            } else if is(n, ALLOW_CREDENTIALS) {
                credentials_lines += 1;
                credentials = credentials.or(Some(v));
            }
        }
        let allow_origin = match origin {
            None => None,
            Some(v) => match std::str::from_utf8(crate::model::trim_http_ws(v)) {
                Ok(v) if origin_lines == 1 => Some(Cow::Borrowed(v)),
                _ => header_str(headers, ALLOW_ORIGIN),
            },
        };
        let credentials_true = match credentials {
            None => false,
            Some(v) if credentials_lines == 1 => crate::model::trim_http_ws(v) == b"true",
            Some(_) => joined_is(headers, ALLOW_CREDENTIALS, b"true"),
        };
        Self {
            allow_origin,
            allow_origin_lines: origin_lines,
            credentials_true,
        }
    }

    /// [`AccessRead::of`] by a lookup for each field (the reference its property test holds it
    /// to).
    #[cfg(test)]
    fn of_lookups(headers: &'h Headers) -> Self {
        Self {
            allow_origin: header_str(headers, ALLOW_ORIGIN),
            allow_origin_lines: headers.count(ALLOW_ORIGIN),
            credentials_true: joined_is(headers, ALLOW_CREDENTIALS, b"true"),
        }
    }

    fn into_owned(self) -> AccessRead<'static> {
        AccessRead {
            allow_origin: self.allow_origin.map(|v| Cow::Owned(v.into_owned())),
            allow_origin_lines: self.allow_origin_lines,
            credentials_true: self.credentials_true,
        }
    }
}

const ALLOW_ORIGIN: &str = "access-control-allow-origin";
const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";

/// A flow's few answers of one kind, by key: a list, since a flow has a handful of hops (kept
/// inline: a flow makes a memo and drops it).
type Memo<K, V> = std::cell::RefCell<smallvec::SmallVec<[(K, V); 4]>>;

/// The answer remembered under the key `is` accepts, or `make`'s (key, answer), remembered.
fn remembered<K, V: Clone>(
    memo: &Memo<K, V>,
    is: impl Fn(&K) -> bool,
    make: impl FnOnce() -> (K, V),
) -> V {
    let hit = memo
        .borrow()
        .iter()
        .find(|(k, _)| is(k))
        .map(|(_, v)| v.clone());
    hit.unwrap_or_else(|| {
        let (k, v) = make();
        memo.borrow_mut().push((k, v.clone()));
        v
    })
}

/// A recorded preflight's `Access-Control-Request-Headers`, parsed ([`parse_request_headers_list`]:
/// sorted, no name twice), each name with whether the visible request carries it; `None`
/// without the header. Shared by the hop's evaluations.
type Announced = Option<std::rc::Rc<[(String, bool)]>>;

impl NamesMemo {
    /// Tells the memo, per hop, whether the flow's hop URLs are of `page_origin` (`same_hops`,
    /// as [`same_origin`] decided them).
    pub(crate) fn know_same_origin(&mut self, page_origin: &str, same_hops: PerHop<bool>) {
        self.known_same_origin = Some((page_origin.to_owned(), same_hops));
    }

    fn get_or(
        &self,
        key: (usize, Browser, Browser, ValueEncoding),
        compute: impl FnOnce() -> Names,
    ) -> Names {
        remembered(&self.names, |k| *k == key, || (key, compute()))
    }

    /// Hop `hop`'s unsafe names as `browser` judges its request's author headers
    /// ([`judge_author_headers`](super::headers::judge_author_headers)), by what the request's
    /// headers tell ([`HopJudged`]), found once per hop; the list of
    /// `headers` is made only where a browser's answer is not remembered.
    fn judged(&self, hop: usize, browser: Browser, enc: ValueEncoding, headers: &Headers) -> Names {
        let known = self
            .authors
            .borrow()
            .iter()
            .find(|(h, _)| *h == hop)
            .map(|(_, j)| j.remembered(browser, enc));
        if let Some(Some(names)) = known {
            return names;
        }
        // On the stack: a request has a few dozen headers at most, but for an attack.
        let list: HeaderList = headers.iter().collect();
        if known.is_none() {
            self.authors.borrow_mut().push((hop, HopJudged::of(&list)));
        }
        let authors = self.authors.borrow();
        match authors.iter().find(|(h, _)| *h == hop) {
            Some((_, j)) => j.judged(browser, enc, &list),
            // Pushed above.
            None => Names::new(unsafe_request_header_names_as(
                browser,
                list.iter().copied(),
                enc,
            )),
        }
    }

    /// Sent hop `hop`'s final answers shared across flows ([`HopJudged::finals`]), found on
    /// the first call: `req` is the hop's request, `preflight` its recorded preflight.
    fn finals(&self, hop: usize, req: &Request, preflight: Option<&Exchange>) -> Option<Finals> {
        if let Some((_, f)) = self.finals.borrow().iter().find(|(h, _)| *h == hop) {
            return f.clone();
        }
        if !self.authors.borrow().iter().any(|(h, _)| *h == hop) {
            let list: HeaderList = req.headers.iter().collect();
            self.authors.borrow_mut().push((hop, HopJudged::of(&list)));
        }
        let announced = preflight.map(|p| p.request.headers.get_value(REQUEST_HEADERS));
        let finals = self
            .authors
            .borrow()
            .iter()
            .find(|(h, _)| *h == hop)
            .and_then(|(_, j)| j.finals(announced.as_ref().map(|a| a.as_deref())));
        self.finals.borrow_mut().push((hop, finals.clone()));
        finals
    }

    /// Whether hop `hop`'s URL `url` is of `page_origin` ([`same_origin`]), asked by every
    /// evaluation of the hop.
    fn same_origin(&self, hop: usize, url: &str, page_origin: &str) -> bool {
        if let Some((p, hops)) = &self.known_same_origin {
            if let Some(&same) = hops.get(hop).filter(|_| p == page_origin) {
                return same;
            }
        }
        remembered(
            &self.same_origin,
            |(h, p)| *h == hop && p == page_origin,
            || ((hop, page_origin.to_owned()), same_origin(url, page_origin)),
        )
    }

    fn announced(&self, hop: usize, compute: impl FnOnce() -> Announced) -> Announced {
        remembered(&self.announced, |h| *h == hop, || (hop, compute()))
    }

    /// Hop `hop`'s recorded preflight response's allow lists ([`AllowLists`]), parsed on the
    /// first call; `headers` are that response's, as the input holds them.
    fn allow_lists(&self, hop: usize, headers: &Headers) -> Rc<AllowLists> {
        let known = self
            .allow_lists
            .borrow()
            .iter()
            .find(|(h, _)| *h == hop)
            .map(|(_, l)| l.clone());
        known.unwrap_or_else(|| {
            let lists = super::recent::allow_lists(headers);
            self.allow_lists.borrow_mut().push((hop, lists.clone()));
            lists
        })
    }

    /// `read` of what the CORS check reads of hop `hop`'s response (`preflight`: of its
    /// preflight) ([`AccessRead`]), read in place; `headers` are that response's, as the input
    /// holds them.
    fn with_access<R>(
        &self,
        key: (usize, bool),
        headers: &Headers,
        read: impl FnOnce(&AccessRead) -> R,
    ) -> R {
        if let Some((_, a)) = self.access.borrow().iter().find(|(k, _)| *k == key) {
            return read(a);
        }
        let access = AccessRead::of(headers).into_owned();
        let answer = read(&access);
        self.access.borrow_mut().push((key, access));
        answer
    }
}

pub(crate) fn evaluate(flow: &Flow, cx: &Context) -> Evaluation {
    let mut ev = Evaluation::empty();
    evaluate_into(flow, cx, &mut ev);
    ev
}

/// [`evaluate`] written into `ev`, which must be [`Evaluation::empty`]: the resolver keeps
/// its readings in place (an evaluation is 288 bytes; returned, it was copied twice more).
pub(crate) fn evaluate_into(flow: &Flow, cx: &Context, ev: &mut Evaluation) {
    ev.decision = run(flow, cx, ev);
}

impl Evaluation {
    /// An evaluation before the walk: allowed, with nothing found yet.
    pub(crate) fn empty() -> Self {
        Evaluation {
            decision: Decision::Allowed,
            passed: Vec::new(),
            cache_hits: Vec::new(),
            needed_preflight: PerHop::new(),
            unsafe_names: PerHop::new(),
            notes: Vec::new(),
        }
    }
}

/// Where the walk over a flow's hops stands: the request's origin so far (`null` once a
/// redirect tainted it) and whether any hop was cross-origin to the page.
struct Walk<'a> {
    request_origin: &'a str,
    tainted: bool,
    any_cross: bool,
    /// This browser needed a preflight on an earlier hop (difference
    /// `redirect-keeps-preflight`).
    preflighted: bool,
}

/// Decides the flow by walking its hops in order (`#main-fetch`, `#http-redirect-fetch`): each
/// hop's preflight, its response's CORS check and its redirect, until one decides the flow.
fn run(flow: &Flow, cx: &Context, ev: &mut Evaluation) -> Decision {
    let mut walk = Walk {
        request_origin: cx.page_origin,
        tainted: false,
        any_cross: false,
        preflighted: false,
    };
    for i in 0..flow.hops.len() {
        match walk_hop(flow, cx, ev, &mut walk, i) {
            Ok(true) => {}
            Ok(false) => break,
            Err(decision) => return decision,
        }
    }
    if !walk.any_cross {
        return Decision::NotCors(NotCors::SameOrigin);
    }
    Decision::Allowed
}

/// Decides hop `i`: `Err` with the flow's decision when the hop decides it, `Ok(true)` to go
/// on to the next hop (a redirect was followed), `Ok(false)` when the flow ends here allowed.
// `Decision` is large but returned once per hop, never collected: boxing buys nothing.
#[allow(clippy::result_large_err)]
fn walk_hop(
    flow: &Flow,
    cx: &Context,
    ev: &mut Evaluation,
    walk: &mut Walk,
    i: usize,
) -> Result<bool, Decision> {
    let hop = &flow.hops[i];
    let req = &hop.exchange.request;
    let cross = walk.tainted || !page_origin_hop(cx, i, &req.url);
    // A redirect that changed the method (a `303`, or a `301`/`302` of a `POST`) dropped the
    // body, and with it the body's headers (Fetch `#http-redirect-fetch`); WebKit's preflight
    // still announces those this browser judged on the hop before.
    let body_dropped = i > 0 && flow.hops[i - 1].exchange.request.method != req.method;
    let carries_body_headers = body_dropped
        && cx
            .browser
            .profile()
            .redirect_preflight_announces_dropped_body_headers;
    let (names, need) = if cross {
        walk.any_cross = true;
        let redirected = Redirected {
            after_preflight: walk.preflighted,
            body_dropped,
            announced_before: carries_body_headers.then(|| &*ev.unsafe_names[i - 1]),
        };
        announce(cx, hop, i, walk.request_origin, redirected)?
    } else {
        (Names::default(), false)
    };
    walk.preflighted |= need;
    ev.needed_preflight.push(need);
    // Kept in the evaluation and borrowed from there: the list can be thousands long.
    ev.unsafe_names.push(names);
    if cross && !hop.sent && cx.browser != cx.recorder {
        let pf = hop.preflight.as_ref();
        let (names, origin) = (&ev.unsafe_names[i], preflight_origin(cx, walk));
        // Carried body headers were judged by their values on the hop before, where they show.
        let visible: Vec<String>;
        let names = if carries_body_headers {
            visible = names
                .iter()
                .filter(|n| !crate::model::is_request_body_header(n.as_bytes()))
                .cloned()
                .collect();
            &visible[..]
        } else {
            names
        };
        if let Some(why) = counterfactual::hidden_value_open(cx, pf, &req.method, names, origin, i)
        {
            return Err(Decision::Undecidable(Missing::ValueNotVisible {
                hop: i,
                why,
            }));
        }
    }
    if need {
        preflight_stage(flow, cx, ev, walk, i)?;
    }
    if !hop.sent {
        let missing = Missing::NotSent { hop: i };
        return Err(response_not_seen(flow, cx, ev, walk, i, cross, missing));
    }
    let resp = response_as_read(cx, &hop.exchange, i)?;
    let as_recorded = matches!(resp, Some(Cow::Borrowed(_)));
    let Some(resp) = resp.as_deref() else {
        let missing = Missing::Response { hop: i };
        return Err(response_not_seen(flow, cx, ev, walk, i, cross, missing));
    };
    // A redirect status with an empty `Location` is Chromium's final response, the others'
    // failure (difference `redirect-empty-location`).
    let location = resp.location();
    let empty = location
        .as_deref()
        .is_some_and(|l| crate::model::trim_http_ws(l.as_bytes()).is_empty());
    if empty && !cx.browser.profile().empty_location_is_final {
        let why = format!(
            "a {} with an empty Location: {} fails the request (a network error, not a CORS decision); Chromium reads it as the final response",
            resp.status, cx.browser
        );
        return Err(Decision::Undecidable(Missing::ResponseHead { hop: i, why }));
    }
    let location = location.filter(|_| !empty);
    if cross {
        let origin = walk.request_origin;
        check_response(cx, resp, req, origin, location.as_deref(), i, as_recorded)?;
    }
    match location {
        None => Ok(false),
        Some(location) => follow_redirect(flow, cx, walk, i, resp, &location),
    }
}

/// Whether hop `i`'s URL `url` is of the page's origin (memoised per flow where a memo is).
fn page_origin_hop(cx: &Context, i: usize, url: &str) -> bool {
    match cx.names_memo {
        Some(m) => m.same_origin(i, url, cx.page_origin),
        None => same_origin(url, cx.page_origin),
    }
}

/// A response as this browser reads its head (`headview`, by its profile's `HeadRules`): with
/// its own header list where that differs from the input's; `Err` where the head decides the
/// hop (a network failure, or a reading the input cannot show).
#[allow(clippy::result_large_err)]
fn response_as_read<'a>(
    cx: &Context,
    ex: &'a Exchange,
    i: usize,
) -> Result<Option<Cow<'a, Response>>, Decision> {
    if ex.evidence.head.is_none() {
        return Ok(ex.response.as_ref().map(Cow::Borrowed));
    }
    match headview::view(cx.browser, cx.recorder, ex) {
        Ok(Cow::Owned(headers)) => Ok(ex.response.as_ref().map(|r| {
            Cow::Owned(Response {
                status: r.status,
                status_text: r.status_text.clone(),
                headers,
            })
        })),
        Ok(Cow::Borrowed(_)) => Ok(ex.response.as_ref().map(Cow::Borrowed)),
        Err(HeadProblem::Fails(why) | HeadProblem::Unknown(why)) => {
            Err(Decision::Undecidable(Missing::ResponseHead { hop: i, why }))
        }
    }
}

/// What the redirects before a hop leave on it.
#[derive(Clone, Copy)]
struct Redirected<'a> {
    /// This browser preflighted an earlier hop.
    after_preflight: bool,
    /// A redirect changed the hop's method: its body went, and with it the body's headers
    /// (Fetch `#http-redirect-fetch` removes the request-body-header names).
    body_dropped: bool,
    /// The names this browser announced on the hop before, where its preflight still
    /// announces their body headers (WebKit, difference `redirect-keeps-preflight`).
    announced_before: Option<&'a [String]>,
}

/// Decides what a cross-origin hop announces and whether it needs a preflight: the unsafe
/// header names this browser would list, and a preflight for an unsafe method or name, the
/// recorder's own recorded one, or (Firefox, WebKit) one on an earlier hop. `Err` where the
/// browser never gets that far: a font it loads without CORS, a scheme CORS does not serve.
#[allow(clippy::result_large_err)]
fn announce(
    cx: &Context,
    hop: &crate::model::FlowHop,
    i: usize,
    request_origin: &str,
    redirected: Redirected,
) -> Result<(Names, bool), Decision> {
    let req = &hop.exchange.request;
    if cx.is_font && !cx.browser.profile().font_loads_use_cors {
        return Err(Decision::NotCors(NotCors::NotCorsInThisBrowser));
    }
    if !is_http_scheme(&req.url) {
        return Err(blocked(
            Failure::DisabledScheme,
            Stage::Request,
            None,
            req,
            request_origin,
            i,
        ));
    }
    let names = unsafe_names(
        cx.browser,
        cx.recorder,
        hop.sent,
        req,
        hop.preflight.as_ref(),
        value_encoding(cx, &hop.exchange),
        cx.names_memo.map(|m| (m, i)),
    );
    // After a redirect that dropped the body, the body's headers a recorded preflight of an
    // unsent hop announced are the recorder's own (WebKit announces the request's before the
    // redirect; difference `redirect-keeps-preflight`), not another browser's; WebKit adds
    // its own from the hop before.
    let body_header = |n: &&String| crate::model::is_request_body_header(n.as_bytes());
    let foreign = redirected.body_dropped && !hop.sent && cx.browser != cx.recorder;
    let carried = redirected
        .announced_before
        .unwrap_or(&[])
        .iter()
        .filter(body_header);
    let names =
        if (foreign && names.iter().any(|n| body_header(&n))) || carried.clone().next().is_some() {
            let mut kept: Vec<String> = names
                .iter()
                .filter(|n| !(foreign && body_header(n)))
                .chain(carried)
                .cloned()
                .collect();
            kept.sort();
            kept.dedup();
            Names::new(kept)
        } else {
            names
        };
    let need = !is_safelisted_method(&req.method)
        || !names.is_empty()
        || (hop.preflight.is_some() && cx.browser == cx.recorder)
        || (redirected.after_preflight && cx.browser.profile().redirect_keeps_preflight);
    Ok((names, need))
}

/// Decides hop `i`'s needed preflight: the recorded one is checked (and kept to cache when it
/// passes), else the cache may serve, else the recorder's answer may stand in for it.
#[allow(clippy::result_large_err)]
fn preflight_stage(
    flow: &Flow,
    cx: &Context,
    ev: &mut Evaluation,
    walk: &Walk,
    i: usize,
) -> Result<(), Decision> {
    let hop = &flow.hops[i];
    let req = &hop.exchange.request;
    let names = &ev.unsafe_names[i];
    let Some(pf) = &hop.preflight else {
        let lookup = cx.cache.lookup(
            &flow.client,
            walk.request_origin,
            &req.url,
            hop.exchange.time,
            cx.include,
            &req.method,
            names,
        );
        return match lookup {
            Lookup::Hit { age_s } => {
                ev.cache_hits.push((i, age_s));
                Ok(())
            }
            Lookup::Miss => match uncached_preflight(cx, hop, i, names, walk.tainted) {
                Err(Decision::Undecidable(Missing::PreflightNotSentByRecorder { why, .. })) => {
                    answer_elsewhere(flow, cx, ev, walk, i, why, |hop, why| {
                        Missing::PreflightNotSentByRecorder { hop, why }
                    })
                }
                other => other,
            },
        };
    };
    let resp = response_as_read(cx, pf, i)?;
    // The response as the input holds it (not this browser's own reading of its head): the
    // same for every reading of the flow, so its allow lists are parsed once.
    let as_recorded = matches!(resp, Some(Cow::Borrowed(_)));
    let Some(resp) = resp.as_deref() else {
        return Err(Decision::Undecidable(Missing::PreflightResponse { hop: i }));
    };
    let header_case = if hop.sent { Some(&req.headers) } else { None };
    let pf_origin = preflight_origin(cx, walk);
    // Pairing gives a preflight its request's Origin but after a tainting redirect (Firefox's
    // then carries the page's): only there can this browser's differ from the recorded one.
    if let Some(asked) = walk
        .tainted
        .then(|| asked_otherwise(pf, resp, pf_origin))
        .flatten()
    {
        let why = format!(
            "{}'s preflight of {} carries Origin {pf_origin}, the recorded one carried {asked}",
            cx.browser,
            crate::cors::resolve::hop_name(i)
        );
        return answer_elsewhere(flow, cx, ev, walk, i, why, |hop, why| {
            Missing::PreflightOtherOrigin { hop, why }
        });
    }
    let method = &req.method;
    let allowed = check_preflight(
        cx,
        pf,
        resp,
        pf_origin,
        method,
        names,
        header_case,
        i,
        as_recorded,
    )
    .map_err(Decision::Blocked)?;
    ev.passed.push(PassedPreflight {
        hop: i,
        null_origin: walk.request_origin == "null",
        allowed,
    });
    Ok(())
}

/// The Origin a preflight carries: the request's (`null` after a tainting redirect), except
/// that Firefox keeps the page's (difference `redirect-preflight-origin`).
fn preflight_origin<'a>(cx: &Context<'a>, walk: &Walk<'a>) -> &'a str {
    if walk.tainted && cx.browser.profile().redirect_preflight_keeps_page_origin {
        cx.page_origin
    } else {
        walk.request_origin
    }
}

/// The Origin the recorded preflight asked with, where this browser's preflight asks with
/// another (`origin`) and the answer depends on it: a recorded `Access-Control-Allow-Origin: *`
/// answers every Origin alike; any other answer (an origin, `null`, none) may be the server
/// reflecting or allow-listing what it was asked.
fn asked_otherwise(pf: &Exchange, resp: &Response, origin: &str) -> Option<String> {
    use crate::model::trim_http_ws;
    let asked = pf.request.headers.get_value("origin")?;
    let asked = trim_http_ws(&asked);
    let acao = resp.headers.get_value("access-control-allow-origin");
    let any_origin = acao.as_deref().map(trim_http_ws) == Some(b"*".as_slice());
    (asked != origin.as_bytes() && !any_origin).then(|| escape_bytes(asked))
}

/// Decides a preflight of this browser's that the input does not answer (one only this browser
/// would have sent, or one asked with another Origin) from the server's answer to another
/// preflight of the same URL where that answer is evident (`counterfactual`); else `missing`.
#[allow(clippy::result_large_err)]
fn answer_elsewhere(
    flow: &Flow,
    cx: &Context,
    ev: &mut Evaluation,
    walk: &Walk,
    i: usize,
    why: String,
    missing: impl FnOnce(usize, String) -> Missing,
) -> Result<(), Decision> {
    let hop = &flow.hops[i];
    let (req, time) = (&hop.exchange.request, hop.exchange.time);
    let origin = preflight_origin(cx, walk);
    let names = &ev.unsafe_names[i];
    let answer = counterfactual::preflight_answer(cx, req, time, &flow.client, origin, names, i);
    let Some(answer) = answer else {
        return Err(Decision::Undecidable(missing(i, why)));
    };
    ev.notes.push(format!("{why}; {}", answer.note));
    answer.result.map(|_| ()).map_err(Decision::Blocked)
}

/// Decides a hop whose response the input lacks (the recorder never sent it, or its answer
/// was not recorded): another browser that gets this far gets a response, and the server's
/// earlier responses to the same URL may show how it answers (`counterfactual`); else
/// `missing`.
fn response_not_seen(
    flow: &Flow,
    cx: &Context,
    ev: &mut Evaluation,
    walk: &Walk,
    i: usize,
    cross: bool,
    missing: Missing,
) -> Decision {
    let hop = &flow.hops[i];
    let (req, time) = (&hop.exchange.request, hop.exchange.time);
    let answer = (cross && cx.browser != cx.recorder)
        .then(|| {
            counterfactual::response_answer(cx, req, time, &flow.client, walk.request_origin, i)
        })
        .flatten();
    let Some(answer) = answer else {
        return Decision::Undecidable(missing);
    };
    let without_preflight = !ev.needed_preflight[i] && hop.preflight.is_some();
    ev.notes.push(if without_preflight {
        format!(
            "{} sends this request without the preflight {} sent (its safelist covers the request's headers); {}",
            cx.browser, cx.recorder, answer.note
        )
    } else {
        answer.note
    });
    match answer.result {
        Ok(()) => Decision::Allowed,
        Err(b) => Decision::Blocked(b),
    }
}

/// Decides a needed preflight that is neither recorded nor cached: another browser sending
/// the same preflight request the recorder got past gets the same answer; otherwise the
/// answer is missing, and the note says whether the recorder never asked.
#[allow(clippy::result_large_err)]
fn uncached_preflight(
    cx: &Context,
    hop: &crate::model::FlowHop,
    i: usize,
    names: &[String],
    tainted: bool,
) -> Result<(), Decision> {
    let req = &hop.exchange.request;
    // The recorder's announced names for this hop; computed here when its own evaluation
    // stopped before reaching the hop.
    let same_names = match cx.recorder_unsafe_names.get(i) {
        Some(r) => **r == *names,
        None => {
            *unsafe_names(
                cx.recorder,
                cx.recorder,
                hop.sent,
                req,
                hop.preflight.as_ref(),
                value_encoding(cx, &hop.exchange),
                cx.names_memo.map(|m| (m, i)),
            ) == *names
        }
    };
    // …and the same Origin on it (Firefox keeps the page's after a tainting redirect, the
    // others send `null`).
    let keeps = |b: Browser| b.profile().redirect_preflight_keeps_page_origin;
    let same_request = same_names && (!tainted || keeps(cx.browser) == keeps(cx.recorder));
    let recorder_passed = cx
        .recorder_passed_preflight
        .get(i)
        .copied()
        .unwrap_or(false);
    // Getting past a hop it needed no preflight for (Chromium, after a redirect that left a
    // plain `GET`) says nothing of how the server answers one.
    let recorder_needed = recorder_needed(cx, i, req);
    if cx.browser != cx.recorder && recorder_passed && recorder_needed && same_request {
        // Same preflight request, same server: the same answer.
        Ok(())
    } else if cx.browser != cx.recorder && !recorder_needed {
        Err(Decision::Undecidable(Missing::PreflightNotSentByRecorder {
            hop: i,
            why: why_preflight(cx.browser, names, &req.method),
        }))
    } else {
        Err(Decision::Undecidable(Missing::Preflight { hop: i }))
    }
}

/// Decides the CORS check of a cross-origin hop's response (`#cors-check`), named at the
/// redirect stage when the response redirects.
#[allow(clippy::result_large_err)]
fn check_response(
    cx: &Context,
    resp: &Response,
    req: &Request,
    request_origin: &str,
    location: Option<&str>,
    i: usize,
    as_recorded: bool,
) -> Result<(), Decision> {
    let stage = if location.is_some() {
        Stage::Redirect
    } else {
        Stage::Actual
    };
    let at = as_recorded.then_some((i, false));
    check_access_at(cx, &resp.headers, request_origin, req.is_http2(), at).map_err(|failure| {
        let mut b = make_blocked(failure, stage, Some(resp.status), req, request_origin, i);
        b.location = location
            .and_then(|l| resolve_location(&req.url, l))
            .map(|u| u.to_string());
        Decision::Blocked(b)
    })
}

/// Decides hop `i`'s redirect (`#http-redirect-fetch`): an unparsable target or a missing next
/// hop leaves the flow undecided, userinfo in a cross-origin target blocks it, and a hop to
/// another origin from a cross-origin URL taints the request origin. `Ok(true)`: follow it.
#[allow(clippy::result_large_err)]
fn follow_redirect(
    flow: &Flow,
    cx: &Context,
    walk: &mut Walk,
    i: usize,
    resp: &Response,
    location: &str,
) -> Result<bool, Decision> {
    let req = &flow.hops[i].exchange.request;
    let cross = walk.tainted || !page_origin_hop(cx, i, &req.url);
    let Some(target) = resolve_location(&req.url, location) else {
        // An unparsable Location is a network error in every browser, not a CORS one.
        return Err(Decision::Undecidable(Missing::NextHop { hop: i }));
    };
    // `#http-redirect-fetch` step 7: userinfo in a cross-origin redirect target.
    if has_credentials(&target) && (cross || !same_origin(target.as_str(), cx.page_origin)) {
        let mut b = make_blocked(
            Failure::RedirectCredentials {
                url: target.to_string(),
                url_without_credentials: without_credentials(&target),
            },
            Stage::Redirect,
            Some(resp.status),
            req,
            walk.request_origin,
            i,
        );
        b.location = Some(target.to_string());
        return Err(Decision::Blocked(b));
    }
    // Redirect-taint (`#concept-request-tainted-origin`): a hop to another origin from a URL
    // that is itself cross-origin to the page makes the origin `null` from then on.
    if !same_origin(target.as_str(), &req.url) && !page_origin_hop(cx, i, &req.url) {
        walk.tainted = true;
        walk.request_origin = "null";
    }
    if i + 1 >= flow.hops.len() {
        return Err(Decision::Undecidable(Missing::NextHop { hop: i }));
    }
    Ok(true)
}

fn recorder_needed(cx: &Context, hop: usize, req: &Request) -> bool {
    !is_safelisted_method(&req.method)
        || cx
            .recorder_unsafe_names
            .get(hop)
            .is_some_and(|n| !n.is_empty())
}

fn why_preflight(browser: Browser, names: &[String], method: &str) -> String {
    if !is_safelisted_method(method) {
        format!("{browser} preflights method {method}")
    } else if names.is_empty() {
        format!("{browser} preflights every request a preflighted one is redirected to")
    } else {
        format!(
            "{browser} does not safelist request header(s) {}",
            names.join(", ")
        )
    }
}

/// The unsafe names this browser would announce for a hop. The recording browser's own
/// preflight (`Access-Control-Request-Headers`) is authoritative for it; other browsers
/// judge the visible request headers by their own safelist and add the announced names.
/// How the input wrote the request's header values (difference `non-ascii-value`): WebKit
/// sends UTF-8, Chromium and Firefox one byte per character, and a HAR is JSON text.
fn value_encoding(cx: &Context, x: &Exchange) -> ValueEncoding {
    if x.evidence.values_as_text || cx.recorder == Browser::Safari {
        ValueEncoding::Utf8
    } else {
        ValueEncoding::Latin1
    }
}

fn unsafe_names(
    browser: Browser,
    recorder: Browser,
    sent: bool,
    req: &Request,
    preflight: Option<&Exchange>,
    enc: ValueEncoding,
    memo: Option<(&NamesMemo, usize)>,
) -> Names {
    let compute = || {
        let announced = || announced_names(sent, req, preflight);
        let announced = match memo {
            Some((m, hop)) => m.announced(hop, announced),
            None => announced(),
        };
        names_of(
            browser, recorder, sent, req, preflight, enc, memo, &announced,
        )
    };
    let Some((m, hop)) = memo else {
        return compute();
    };
    // A sent hop's answer is shared across flows (`Finals`): asked once per request and
    // preflight that read alike, and found there by every evaluation of the flow.
    let Some(finals) = sent.then(|| m.finals(hop, req, preflight)).flatten() else {
        return m.get_or((hop, browser, recorder, enc), compute);
    };
    let slot = final_slot(browser, recorder, enc);
    if let Some(names) = finals.try_borrow().ok().and_then(|f| f[slot].clone()) {
        return names;
    }
    let names = compute();
    if let Ok(mut f) = finals.try_borrow_mut() {
        f[slot] = Some(names.clone());
    }
    names
}

/// The hop's recorded preflight's announced names ([`Announced`]): the same for every browser.
fn announced_names(sent: bool, req: &Request, preflight: Option<&Exchange>) -> Announced {
    // One line (the usual case) is parsed in place, not copied first.
    let list = preflight?.request.headers.get_value(REQUEST_HEADERS)?;
    // Both lists are request-controlled and may be long: one set, not a scan per name (a
    // short list is scanned as `NameSet` scans it, without building one).
    let sent_iter = || req.headers.iter().filter(move |_| sent).map(|(n, _)| n);
    let sent_names = (sent_iter().nth(NameSet::SCAN).is_some()).then(|| NameSet::new(sent_iter()));
    let names = parse_request_headers_list(&list);
    // Collected straight into the shared list (its length is known: one allocation).
    Some(
        names
            .into_iter()
            .map(|n| {
                let carried = match &sent_names {
                    Some(set) => set.contains(n.as_bytes()),
                    None => sent_iter().any(|h| h.eq_ignore_ascii_case(n.as_bytes())),
                };
                (n, carried)
            })
            .collect(),
    )
}

/// [`unsafe_names`] from the hop's announced names.
#[allow(clippy::too_many_arguments)]
fn names_of(
    browser: Browser,
    recorder: Browser,
    sent: bool,
    req: &Request,
    preflight: Option<&Exchange>,
    enc: ValueEncoding,
    memo: Option<(&NamesMemo, usize)>,
    announced: &Announced,
) -> Names {
    if browser == recorder {
        if let Some(list) = announced {
            // Copied straight into the shared list (one allocation: its length is known).
            return Names(
                (!list.is_empty()).then(|| list.iter().map(|(n, _)| n.clone()).collect()),
            );
        }
    }
    // A browser's judgement of the hop's headers, through the hop's memo when there is one
    // (a request's header values repeat across flows: most are remembered).
    let judged = |b: Browser| match memo {
        Some((m, hop)) => m.judged(hop, b, enc, &req.headers),
        None => Names::new(unsafe_request_header_names_as(b, req.headers.iter(), enc)),
    };
    let shared = if sent {
        judged(browser)
    } else {
        Names::default()
    };
    // Without a recorded preflight or an announced list nothing below edits the judgement:
    // the remembered list is handed out as it is (a copy of its strings and a new list for
    // every browser and flow before).
    if !(sent && preflight.is_some()) && announced.is_none() {
        return shared;
    }
    let mut names = shared.to_vec();
    if sent && preflight.is_some() {
        // The recorder announces every header it judges unsafe. One it would have judged unsafe
        // on a request it sent after a recorded preflight that did not announce it was not the
        // page's: an extension or a proxy added it past the CORS check (a HAR recorded behind
        // a proxy lists `X-Forwarded-For` on every request), and no browser judges it.
        let recorder_unsafe = (browser != recorder).then(|| judged(recorder));
        names.retain(|n| {
            recorder_unsafe
                .as_ref()
                .is_some_and(|u| u.binary_search(n).is_err())
                || announced.as_ref().is_some_and(|list| {
                    // Sorted (`parse_request_headers_list` sorts and dedups): searched, not
                    // scanned, so thousands of names stay n log n (issue 18; a scan made a
                    // list of 13,000 names most of a run).
                    list.binary_search_by(|(a, _)| a.as_str().cmp(n.as_str()))
                        .is_ok()
                })
        });
    }
    if let Some(list) = announced {
        for (n, own_rules_judged_it) in list.iter() {
            // Another browser announced it; this one judges it by its own safelist. With the
            // request visible, its value was judged above; without it, a name on this browser's
            // extra safelist counts as safelisted (the request is then not in the input, so
            // the verdict stays open rather than blocked on a guess about the value).
            let safelisted_by_name = browser
                .profile()
                .safelist
                .extra_rule(n.as_bytes())
                .is_some();
            if browser != recorder && (*own_rules_judged_it || safelisted_by_name) {
                continue;
            }
            names.push(n.clone());
        }
        names.sort();
        names.dedup();
    }
    if browser == recorder && preflight.is_none() && !sent {
        names.clear();
    }
    Names::new(names)
}

fn make_blocked(
    failure: Failure,
    stage: Stage,
    status: Option<u16>,
    req: &Request,
    origin: &str,
    hop: usize,
) -> Blocked {
    Blocked {
        failure,
        stage,
        status,
        url: req.url.clone(),
        location: None,
        request_origin: origin.to_owned(),
        hop,
    }
}

fn blocked(
    failure: Failure,
    stage: Stage,
    status: Option<u16>,
    req: &Request,
    origin: &str,
    hop: usize,
) -> Decision {
    Decision::Blocked(make_blocked(failure, stage, status, req, origin, hop))
}

/// The CORS check (`#cors-check`) as each browser orders and names its failures (Chromium
/// `services/network/public/cpp/cors/cors.cc` `CheckAccess`, Firefox `nsCORSListenerProxy.cpp`
/// `CheckRequestApproved`, WebKit `CrossOriginAccessControl.cpp`). `origin` is the serialized
/// request origin (`null` when tainted).
pub fn check_access(
    browser: Browser,
    headers: &Headers,
    origin: &str,
    include: bool,
    http2: bool,
) -> Result<(), Failure> {
    check_access_read(
        browser,
        headers,
        &AccessRead::of(headers),
        origin,
        include,
        http2,
    )
}

/// [`check_access`] of hop `at.0`'s response (`at.1`: its preflight's) as the input holds it,
/// the headers read once for the flow's evaluations; `at` `None`: a response of this
/// browser's own reading, read here.
fn check_access_at(
    cx: &Context,
    headers: &Headers,
    origin: &str,
    http2: bool,
    at: Option<(usize, bool)>,
) -> Result<(), Failure> {
    let check =
        |read: &AccessRead| check_access_read(cx.browser, headers, read, origin, cx.include, http2);
    match (cx.names_memo, at) {
        (Some(m), Some(key)) => m.with_access(key, headers, check),
        _ => check(&AccessRead::of(headers)),
    }
}

/// [`check_access`] given what it reads of `headers` ([`AccessRead`]).
fn check_access_read(
    browser: Browser,
    headers: &Headers,
    read: &AccessRead,
    origin: &str,
    include: bool,
    http2: bool,
) -> Result<(), Failure> {
    // `get_joined` then `escape_bytes`, borrowed where it can be (every CORS check reads it).
    let value = read.allow_origin.as_deref().map(Cow::Borrowed);
    let absent = value.is_none();
    match browser.profile().allow_origin_rules {
        AllowOriginRules::Chromium => match value.as_deref() {
            Some("*") if !include => return Ok(()),
            Some("*") => return Err(Failure::WildcardWithCredentials),
            None => return Err(Failure::AllowOriginMissing),
            Some(v) if v != origin => {
                let value = v.to_owned();
                return Err(if v.contains([' ', ',']) {
                    Failure::AllowOriginMultiple { value }
                } else if v == "null" || allow_origin_is_url(v) {
                    Failure::AllowOriginMismatch { value }
                } else {
                    Failure::AllowOriginInvalid { value }
                });
            }
            Some(_) => {}
        },
        AllowOriginRules::Firefox => {
            let joined_by_http2 = http2 && browser.profile().joins_repeated_allow_origin_over_http2;
            if !joined_by_http2 && read.allow_origin_lines > 1 {
                return Err(Failure::AllowOriginMultiple {
                    value: value.map(Cow::into_owned).unwrap_or_default(),
                });
            }
            match value.as_deref() {
                None => return Err(Failure::AllowOriginMissing),
                Some("*") if !include => return Ok(()),
                Some("*") => return Err(Failure::WildcardWithCredentials),
                Some(v) if v != origin => {
                    return Err(Failure::AllowOriginMismatch {
                        value: v.to_owned(),
                    })
                }
                Some(_) => {}
            }
        }
        AllowOriginRules::WebKit => {
            if http2 && browser.profile().keeps_allow_origin_whitespace_over_http2 {
                if let Some(raw) = headers.first("access-control-allow-origin") {
                    if crate::model::trim_http_ws(raw).len() != raw.len() {
                        return Err(Failure::AllowOriginMismatch {
                            value: escape_bytes(raw),
                        });
                    }
                }
            }
            let v = value.unwrap_or_default();
            if v == "*" && !include {
                return Ok(());
            }
            if v != origin {
                let v = v.into_owned();
                return Err(if v == "*" {
                    Failure::WildcardWithCredentials
                } else if v.contains(',') {
                    Failure::AllowOriginMultiple { value: v }
                } else if absent {
                    Failure::AllowOriginMissing
                } else {
                    Failure::AllowOriginMismatch { value: v }
                });
            }
        }
    }
    if include && !read.credentials_true {
        let acac = headers.get_joined("access-control-allow-credentials");
        return Err(Failure::AllowCredentialsNotTrue {
            value: acac.map(|v| escape_bytes(&v)),
        });
    }
    Ok(())
}

/// [`gurl_valid`] of an `Access-Control-Allow-Origin` value, the last few values' answers kept
/// per thread: a server sends the same wrong value again and again, and parsing it as a URL
/// was most of Chromium's CORS check of a mismatch (pl20: 360 parses, 2,840 instructions
/// each). Exact: the same value, the same answer.
fn allow_origin_is_url(value: &str) -> bool {
    /// Values kept; longer ones are parsed each time.
    const KEEP: usize = 8;
    const LONGEST: usize = 256;
    thread_local! {
        static LAST: std::cell::RefCell<Vec<(Box<str>, bool)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    if value.len() > LONGEST {
        return gurl_valid(value);
    }
    LAST.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return gurl_valid(value);
        };
        if let Some(&(_, valid)) = last.iter().find(|(v, _)| **v == *value) {
            return valid;
        }
        let valid = gurl_valid(value);
        if last.len() == KEEP {
            last.remove(0);
        }
        last.push((value.into(), valid));
        valid
    })
}

/// The preflight response check (`#cors-preflight-fetch` step 7 on; the order is Chromium's
/// `preflight_controller.cc`, Firefox's `nsCORSListenerProxy.cpp`, WebKit's
/// `CrossOriginPreflightChecker.cpp`).
// `Blocked` is large but built once per blocked flow, never in a loop: boxing buys nothing.
#[allow(clippy::too_many_arguments, clippy::result_large_err)]
pub(super) fn check_preflight(
    cx: &Context,
    pf: &Exchange,
    resp: &Response,
    origin: &str,
    method: &str,
    names: &[String],
    header_case: Option<&Headers>,
    hop: usize,
    as_recorded: bool,
) -> Result<Allowed, Blocked> {
    let p = cx.browser.profile();
    let fail = |failure: Failure| Blocked {
        failure,
        stage: Stage::Preflight,
        status: Some(resp.status),
        url: pf.request.url.clone(),
        location: None,
        request_origin: origin.to_owned(),
        hop,
    };
    // The flow's own preflight response as the input holds it: read once for its evaluations.
    let memo = cx.names_memo.filter(|_| as_recorded);
    let at = as_recorded.then_some(hop);
    check_preflight_answer(cx, resp, origin, pf.request.is_http2(), at).map_err(&fail)?;
    let raw = |name: &str| resp.headers.get_str(name).unwrap_or_default();
    // Absent reads as empty: both lists only ever allow.
    let list = |name| {
        let mut items = Tokens::new();
        parse_allow_list_into(resp.headers.get_all(name), &mut items).map(|_| items)
    };
    let lists = memo.map(|m| m.allow_lists(hop, &resp.headers));
    if let Some(allowed) = lists
        .as_ref()
        .and_then(|l| l.passed(cx.browser, cx.include, method, names))
    {
        return Ok(allowed);
    }
    let (methods, allowed_headers) = match &lists {
        Some(l) => (l.tokens(&l.methods), l.tokens(&l.headers)),
        None => (list(ALLOW_METHODS), list(ALLOW_HEADERS)),
    };
    let methods_invalid = |token: String| {
        fail(Failure::AllowMethodsInvalid {
            token,
            raw: raw("access-control-allow-methods"),
        })
    };
    let headers_invalid = |token: String| {
        fail(Failure::AllowHeadersInvalid {
            token,
            raw: raw("access-control-allow-headers"),
        })
    };
    if p.parse_both_allow_lists_first {
        if let Err(t) = &methods {
            return Err(methods_invalid(t.clone()));
        }
        if let Err(t) = &allowed_headers {
            return Err(headers_invalid(t.clone()));
        }
    }
    let methods = methods.map_err(methods_invalid)?;
    // Method rule: byte-exact (ACAM is case-sensitive in all three), `*` only without credentials.
    let method_ok = is_safelisted_method(method)
        || methods.contains(&method)
        || (!cx.include && methods.contains(&"*"));
    if !method_ok {
        return Err(fail(Failure::MethodNotAllowed {
            method: method.to_owned(),
        }));
    }
    let allowed_headers = allowed_headers.map_err(headers_invalid)?;
    check_header_names(cx, &allowed_headers, names, header_case).map_err(&fail)?;
    let max_age_text = match &lists {
        Some(l) => l.max_age.as_deref().map(Cow::Borrowed),
        None => header_str(&resp.headers, MAX_AGE),
    };
    let max_age = cx.browser.max_age(max_age_text.as_deref()).unwrap_or(0);
    let make = || Allowed::new(&methods, &allowed_headers, max_age).headers_lowercased();
    Ok(match &lists {
        Some(l) => {
            let allowed = l.allowed(max_age, make);
            l.pass(cx.browser, cx.include, method, names, &allowed);
            allowed
        }
        None => make(),
    })
}

/// Decides the preflight answer's status and `Access-Control-Allow-Origin`, in the order the
/// browser checks them (a redirect is its own failure where the browser does not count it as
/// a bad status).
fn check_preflight_answer(
    cx: &Context,
    resp: &Response,
    origin: &str,
    http2: bool,
    at: Option<usize>,
) -> Result<(), Failure> {
    let p = cx.browser.profile();
    let ok_status = (200..300).contains(&resp.status);
    let at = at.map(|h| (h, true));
    if p.preflight_status_before_allow_origin {
        if !ok_status {
            return Err(Failure::PreflightStatus);
        }
    } else if resp.redirects() && !p.preflight_redirect_is_bad_status {
        if p.preflight_redirect_checks_allow_origin_first {
            check_access_at(cx, &resp.headers, origin, http2, at)?;
        }
        return Err(Failure::PreflightRedirect);
    }
    check_access_at(cx, &resp.headers, origin, http2, at)?;
    if !ok_status {
        return Err(Failure::PreflightStatus);
    }
    Ok(())
}

/// Decides whether `Access-Control-Allow-Headers` covers every unsafe name: listed, or by `*`
/// without credentials (`*` covers `authorization` only where the browser lets it).
fn check_header_names(
    cx: &Context,
    allowed_headers: &[&str],
    names: &[String],
    header_case: Option<&Headers>,
) -> Result<(), Failure> {
    let wildcard = !cx.include && allowed_headers.contains(&"*");
    let covers_authorization = cx.browser.profile().wildcard_covers_authorization;
    // A short list is scanned as `NameSet` scans it, without building one.
    let listed_names = (allowed_headers.len() > NameSet::SCAN)
        .then(|| NameSet::new(allowed_headers.iter().map(|h| h.as_bytes())));
    for name in names {
        let listed = match &listed_names {
            Some(set) => set.contains(name.as_bytes()),
            None => allowed_headers.iter().any(|h| h.eq_ignore_ascii_case(name)),
        };
        let by_wildcard = wildcard && (name != "authorization" || covers_authorization);
        if !listed && !by_wildcard {
            return Err(Failure::HeaderNotAllowed {
                name: name.clone(),
                as_written: as_written(name, header_case),
            });
        }
    }
    Ok(())
}

/// The header name as the page wrote it (WebKit reports it so): from the actual request when
/// it is visible, else the usual Title-Case spelling.
fn as_written(name: &str, headers: Option<&Headers>) -> String {
    if let Some(h) = headers {
        if let Some((n, _)) = h
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        {
            return escape_bytes(n);
        }
    }
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    //! One case per rule of the spec's decision procedure and per row of `DIFFERENCES`, each
    //! citing where the expected answer comes from.
    use super::*;
    use crate::cors::reason::Initiator;
    use crate::cors::reason::MessageContext;
    use crate::model::Flavour;
    use crate::model::FlowHop;
    use std::sync::Arc;
    use Browser::*;

    const PAGE: &str = "http://app.test:8080";

    type HeaderList<'a> = &'a [(&'a str, &'a str)];
    const API: &str = "http://api.test:8081/r";

    fn x(
        method: &str,
        url: &str,
        req: &[(&str, &str)],
        resp: Option<(u16, &[(&str, &str)])>,
    ) -> Exchange {
        crate::model::test_exchange(Flavour::Capture, method, url, req, resp, None)
    }

    /// DIFFERENCES `acao-lines-http2`: two Allow-Origin fields are two lines for every browser
    /// over HTTP/1.1, and one joined value for Firefox over HTTP/2 (tls-dev recordings).
    #[test]
    fn difference_acao_lines_http2() {
        let mut h = Headers::new();
        h.push(b"Access-Control-Allow-Origin", PAGE.as_bytes());
        h.push(b"Access-Control-Allow-Origin", PAGE.as_bytes());
        let name = |b: Browser, http2: bool| match check_access(b, &h, PAGE, false, http2) {
            Err(Failure::AllowOriginMultiple { .. }) => "multiple",
            Err(Failure::AllowOriginMismatch { .. }) => "mismatch",
            Err(_) => "other",
            Ok(()) => "allowed",
        };
        for (b, http2, want) in [
            (Firefox, false, "multiple"),
            (Firefox, true, "mismatch"),
            (Chromium, true, name(Chromium, false)),
            (Safari, true, name(Safari, false)),
        ] {
            assert_eq!(name(b, http2), want, "{b:?} http2={http2}");
        }
        let r = |v: &str| crate::model::Request {
            method: "GET".into(),
            url: API.into(),
            http_version: crate::model::HttpVersion::parse(v),
            headers: Headers::new(),
        };
        for (v, want) in [
            ("h2", true),
            ("HTTP/2.0", true),
            ("HTTP/2", true),
            ("http/1.1", false),
            ("", false),
        ] {
            assert_eq!(r(v).is_http2(), want, "{v}");
        }
    }

    fn flow(hops: Vec<(Exchange, Option<Exchange>)>) -> Flow {
        Flow {
            client: Arc::from("c"),
            flavour: Flavour::Capture,
            hops: hops
                .into_iter()
                .map(|(e, p)| FlowHop {
                    exchange: e,
                    sent: true,
                    preflight: p,
                })
                .collect(),
        }
    }

    /// `b`'s context on a Chromium recording from `PAGE`, nothing known beyond the flow.
    fn plain_cx<'a>(
        b: Browser,
        include: bool,
        cache: &'a PreflightCache,
        names_memo: Option<&'a NamesMemo>,
    ) -> Context<'a> {
        Context {
            browser: b,
            recorder: Chromium,
            include,
            page_origin: PAGE,
            cache,
            recorder_passed_preflight: &[],
            recorder_unsafe_names: &[],
            is_font: false,
            evidence: None,
            names_memo,
        }
    }

    fn run_as(f: &Flow, b: Browser, include: bool) -> Decision {
        let cache = PreflightCache::new(b);
        evaluate(f, &plain_cx(b, include, &cache, None)).decision
    }

    /// The reason name each browser gives.
    fn reason(f: &Flow, b: Browser, include: bool) -> Option<&'static str> {
        match run_as(f, b, include) {
            Decision::Blocked(bl) => {
                let ctx = MessageContext {
                    first_url: API,
                    last_url: API,
                    page_origin: PAGE,
                    initiator: Initiator::Fetch,
                };
                bl.names(b, &ctx).reason
            }
            _ => None,
        }
    }

    fn simple(acao: &[(&str, &str)]) -> Flow {
        flow(vec![(
            x("GET", API, &[("Origin", PAGE)], Some((200, acao))),
            None,
        )])
    }

    fn preflighted(pf_status: u16, pf: &[(&str, &str)], actual: &[(&str, &str)]) -> Flow {
        let req = [("Origin", PAGE), ("Content-Type", "application/json")];
        let opt = x(
            "OPTIONS",
            API,
            &[
                ("Origin", PAGE),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            Some((pf_status, pf)),
        );
        flow(vec![(x("PUT", API, &req, Some((200, actual))), Some(opt))])
    }

    proptest::proptest! {
        /// What the CORS check reads of a response, read in one pass, is what a lookup for
        /// each field reads (repeated, padded, non-UTF-8 and look-alike lines).
        #[test]
        fn access_read_in_one_pass_reads_as_lookups_do(
            lines in proptest::collection::vec(
                (proptest::sample::select(vec![
                    "Access-Control-Allow-Origin", "access-control-allow-credentials",
                    "ACCESS-CONTROL-ALLOW-ORIGIN", "Access-Control-Allow-Credential",
                    "Vary", "access-control-allow-originx",
                ]),
                 proptest::collection::vec(proptest::sample::select(
                     vec![b' ', b'\t', b'*', b't', b'r', b'u', b'e', b',', 0xc3, 0xa9, 0xff]), 0..6)),
                0..8),
            trues in proptest::collection::vec(proptest::bool::ANY, 8),
        ) {
            let headers: Headers = lines
                .iter()
                .zip(&trues)
                .map(|((n, v), &t)| (n.as_bytes(), if t { &b" true "[..] } else { &v[..] }))
                .collect();
            let (a, b) = (AccessRead::of(&headers), AccessRead::of_lookups(&headers));
            proptest::prop_assert_eq!(a.allow_origin, b.allow_origin);
            proptest::prop_assert_eq!(a.allow_origin_lines, b.allow_origin_lines);
            proptest::prop_assert_eq!(a.credentials_true, b.credentials_true);
        }

        /// A preflight response's allow lists remembered across flows ([`super::recent`]) are
        /// the ones parsed afresh, asked twice each over responses drawn from a few lines.
        #[test]
        fn remembered_allow_lists_are_parsed_ones(
            responses in proptest::collection::vec(
                proptest::collection::vec(
                    (proptest::sample::select(vec![
                        "Access-Control-Allow-Methods", "access-control-allow-headers",
                        "Access-Control-Max-Age", "Vary", "access-control-allow-method",
                    ]),
                     proptest::sample::select(vec![
                         "GET, PUT", "*", "x-a,X-B", " 600 ", "", "a b", "caf\u{e9}",
                     ])),
                    0..5),
                1..30),
        ) {
            for lines in &responses {
                let headers: Headers =
                    lines.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
                let fresh = AllowLists::parse(&headers);
                for _ in 0..2 {
                    let kept = super::super::recent::allow_lists(&headers);
                    proptest::prop_assert_eq!(&kept.text, &fresh.text);
                    proptest::prop_assert_eq!(&kept.methods, &fresh.methods);
                    proptest::prop_assert_eq!(&kept.headers, &fresh.headers);
                    proptest::prop_assert_eq!(&kept.max_age, &fresh.max_age);
                    // What a passed preflight allows, made once per max-age and kept.
                    fn tokens(l: &AllowLists) -> Option<(Tokens<'_>, Tokens<'_>)> {
                        Some((l.tokens(&l.methods).ok()?, l.tokens(&l.headers).ok()?))
                    }
                    let (fresh_tokens, kept_tokens) = (tokens(&fresh), tokens(&kept));
                    if let (Some((m, h)), Some((km, kh))) = (&fresh_tokens, &kept_tokens) {
                        for age in [0, 5, 600, 5, 0] {
                            let want = Allowed::new(m, h, age).headers_lowercased();
                            let make = || Allowed::new(km, kh, age).headers_lowercased();
                            proptest::prop_assert_eq!(kept.allowed(age, make), want);
                        }
                    }
                }
            }
        }

        /// A flow's memo (allow lists, what the CORS check reads, same-origin hops), shared by
        /// every browser and credentials reading as the resolver shares it, changes no
        /// evaluation: each equals the one made without a memo.
        #[test]
        fn the_flows_memo_changes_no_evaluation(
            acao in proptest::collection::vec(
                proptest::sample::select(vec![PAGE, "*", "null", "http://other.test", " x, y"]),
                0..3),
            acac in proptest::option::of(proptest::sample::select(vec!["true", "True", ""])),
            methods in proptest::sample::select(vec![
                None, Some("PUT"), Some("GET, put"), Some("*"), Some("PUT DELETE"), Some(" , PUT,")]),
            headers in proptest::sample::select(vec![
                None, Some("content-type"), Some("Content-Type, x-a"), Some("*"), Some("a;b")]),
            max_age in proptest::option::of(proptest::sample::select(vec!["600", "-1", "x"])),
            status in proptest::sample::select(vec![200u16, 204, 301, 403]),
            preflight in proptest::bool::ANY,
        ) {
            let mut answer: Vec<(&str, &str)> =
                acao.iter().map(|v| ("Access-Control-Allow-Origin", *v)).collect();
            answer.extend(acac.map(|v| ("Access-Control-Allow-Credentials", v)));
            let mut pf_answer = answer.clone();
            pf_answer.extend(methods.map(|v| ("Access-Control-Allow-Methods", v)));
            pf_answer.extend(headers.map(|v| ("Access-Control-Allow-Headers", v)));
            pf_answer.extend(max_age.map(|v| ("Access-Control-Max-Age", v)));
            let f = if preflight {
                preflighted(status, &pf_answer, &answer)
            } else {
                simple(&answer)
            };
            let mut memo = NamesMemo::default();
            let same: PerHop<bool> =
                f.hops.iter().map(|h| same_origin(&h.exchange.request.url, PAGE)).collect();
            memo.know_same_origin(PAGE, same);
            for _ in 0..2 {
                for b in crate::browser::ALL_BROWSERS {
                    for include in [false, true] {
                        let cache = PreflightCache::new(b);
                        proptest::prop_assert_eq!(
                            evaluate(&f, &plain_cx(b, include, &cache, Some(&memo))),
                            evaluate(&f, &plain_cx(b, include, &cache, None))
                        );
                    }
                }
            }
        }
    }

    /// A hop's unsafe names shared across flows (`recent::Finals`) are the ones computed
    /// without a memo, for every browser, recorder and value encoding: each row's request and
    /// preflight asked by two flows in turn (the second reads the first's answers), with rows
    /// that differ only in case, order or a value between them.
    #[test]
    fn shared_unsafe_names_are_computed_ones() {
        // (Request headers, the preflight's Access-Control-Request-Headers lines (`None`: no
        // preflight), whether the request was sent.)
        type Row<'a> = (HeaderList<'a>, Option<&'a [&'a str]>, bool);
        let json = ("Content-Type", "application/json");
        let rows: &[Row] = &[
            (&[], None, true),
            (&[json], None, true),
            (&[("content-type", "application/json")], None, true),
            (&[("Content-Type", "text/plain")], None, true),
            (&[json, ("X-A", "1")], Some(&["content-type,x-a"]), true),
            (&[json, ("x-a", "1")], Some(&["Content-Type, X-A"]), true),
            // Duplicates, in the request and in the list.
            (&[("X-A", "1"), ("x-a", "2")], Some(&["x-a, X-A,x-a"]), true),
            (&[("X-A", "1")], Some(&["x-a", "x-b"]), true),
            // Empty and whitespace-only lists, and none at all.
            (&[("X-A", "1")], Some(&[""]), true),
            (&[("X-A", "1")], Some(&[" ,\t, "]), true),
            (&[("X-A", "1")], Some(&[]), true),
            (&[("X-A", "1")], Some(&["*"]), true),
            // A name another browser safelists by value; a value only some browsers take.
            (&[("DPR", "2")], Some(&["dpr"]), true),
            (&[("DPR", "x")], Some(&["dpr"]), true),
            (&[("Accept", "caf\u{e9}")], None, true),
            (&[("Range", "bytes=0-")], Some(&["range"]), true),
            // The browser's own no-cache pair, and a script's.
            (
                &[("Cache-Control", "no-cache"), ("Pragma", "no-cache")],
                None,
                true,
            ),
            (
                &[("Cache-Control", "no-store"), ("Pragma", "no-cache")],
                None,
                true,
            ),
            // Only the preflight was sent.
            (&[json, ("X-A", "1")], Some(&["content-type,x-a"]), false),
            (&[json], Some(&["x-b"]), false),
        ];
        let hop = |(req, acrh, sent): &Row| {
            let preflight = acrh.map(|lines| {
                let pf: Vec<(&str, &str)> = lines
                    .iter()
                    .map(|l| ("Access-Control-Request-Headers", *l))
                    .collect();
                x("OPTIONS", API, &pf, Some((204, &[])))
            });
            (x("PUT", API, req, Some((200, &[]))), preflight, *sent)
        };
        let encodings = [ValueEncoding::Latin1, ValueEncoding::Utf8];
        for round in 0..2 {
            for row in rows {
                let (ex, pf, sent) = hop(row);
                let memo = NamesMemo::default();
                for b in crate::browser::ALL_BROWSERS {
                    for r in crate::browser::ALL_BROWSERS {
                        for enc in encodings {
                            let ask = |memo| {
                                unsafe_names(b, r, sent, &ex.request, pf.as_ref(), enc, memo)
                            };
                            assert_eq!(
                                *ask(Some((&memo, 0))),
                                *ask(None),
                                "round {round}, {row:?}, {b:?} recorded by {r:?}, {enc:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Whether an Allow-Origin value parses as a URL, asked again and again and past the
    /// values kept: each answer is the parser's.
    #[test]
    fn remembered_allow_origin_parses_are_the_parsers() {
        let values = [
            "https://www.example.org",
            "http://a.test:8080",
            "not a url",
            "",
            "*",
            "HTTPS://A.TEST",
            "http://",
            "https://a.test/path?q",
            "a.test",
            "file:///x",
            "https://[::1]:8080",
            "https://ex ample.org",
        ];
        for round in 0..3 {
            for v in values.iter().chain(values.iter().rev()) {
                assert_eq!(
                    allow_origin_is_url(v),
                    gurl_valid(v),
                    "round {round}: {v:?}"
                );
            }
        }
        let long = format!("https://{}.test", "a".repeat(300));
        assert_eq!(allow_origin_is_url(&long), gurl_valid(&long));
    }

    /// `#cors-check` steps, one row each (recorded: `d-simple-*` in
    /// `tests/data/chromium/truth.json`).
    #[test]
    fn cors_check_rules() {
        let cases: &[(HeaderList, bool, Option<&str>, &str)] = &[
            (
                &[],
                false,
                Some("MissingAllowOriginHeader"),
                "step 2: absent ACAO fails",
            ),
            (
                &[("Access-Control-Allow-Origin", "*")],
                false,
                None,
                "step 3: * passes without credentials",
            ),
            (
                &[("Access-Control-Allow-Origin", "*")],
                true,
                Some("WildcardOriginNotAllowed"),
                "step 3: * fails with credentials",
            ),
            (
                &[("Access-Control-Allow-Origin", PAGE)],
                false,
                None,
                "step 4: exact origin passes",
            ),
            (
                &[("Access-Control-Allow-Origin", "  http://app.test:8080  ")],
                false,
                None,
                "whitespace is trimmed",
            ),
            (
                &[("Access-Control-Allow-Origin", "http://app.test:8080/")],
                false,
                Some("AllowOriginMismatch"),
                "step 4: trailing slash",
            ),
            (
                &[("Access-Control-Allow-Origin", "http://APP.test:8080")],
                false,
                Some("AllowOriginMismatch"),
                "step 4: byte-exact",
            ),
            (
                &[("Access-Control-Allow-Origin", "null")],
                false,
                Some("AllowOriginMismatch"),
                "null only matches a null origin",
            ),
            (
                &[("Access-Control-Allow-Origin", "*.test")],
                false,
                Some("InvalidAllowOriginValue"),
                "Chromium: not a URL",
            ),
            (
                &[("Access-Control-Allow-Origin", PAGE)],
                true,
                Some("InvalidAllowCredentials"),
                "step 6: credentials need ACAC",
            ),
            (
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Credentials", "TRUE"),
                ],
                true,
                Some("InvalidAllowCredentials"),
                "step 6: ACAC is case-sensitive",
            ),
            (
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Credentials", "true"),
                ],
                true,
                None,
                "step 6: ACAC true passes",
            ),
        ];
        for (acao, include, want, why) in cases {
            assert_eq!(reason(&simple(acao), Chromium, *include), *want, "{why}");
        }
    }

    /// `#cors-preflight-fetch` step 7 on, Chromium's order (recorded: `d-pf-*`).
    #[test]
    fn preflight_rules() {
        let ok = [("Access-Control-Allow-Origin", PAGE)];
        let cases: &[(u16, HeaderList, bool, Option<&str>, &str)] = &[
            (
                204,
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Methods", "PUT"),
                    ("Access-Control-Allow-Headers", "Content-Type"),
                ],
                false,
                None,
                "all listed",
            ),
            (
                404,
                &[("Access-Control-Allow-Origin", PAGE)],
                false,
                Some("PreflightInvalidStatus"),
                "not an ok status",
            ),
            (
                405,
                &[],
                false,
                Some("PreflightMissingAllowOriginHeader"),
                "ACAO checked before status",
            ),
            (
                301,
                &[("Location", "/x"), ("Access-Control-Allow-Origin", PAGE)],
                false,
                Some("PreflightDisallowedRedirect"),
                "no redirects",
            ),
            (
                204,
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Headers", "content-type"),
                ],
                false,
                Some("MethodDisallowedByPreflightResponse"),
                "method not listed",
            ),
            (
                204,
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Methods", "put"),
                    ("Access-Control-Allow-Headers", "content-type"),
                ],
                false,
                Some("MethodDisallowedByPreflightResponse"),
                "ACAM is case-sensitive",
            ),
            (
                204,
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Methods", "*"),
                    ("Access-Control-Allow-Headers", "*"),
                ],
                false,
                None,
                "wildcards without credentials",
            ),
            (
                204,
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Credentials", "true"),
                    ("Access-Control-Allow-Methods", "*"),
                    ("Access-Control-Allow-Headers", "*"),
                ],
                true,
                Some("MethodDisallowedByPreflightResponse"),
                "* is literal with credentials",
            ),
            (
                204,
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Methods", "PUT DELETE"),
                ],
                false,
                Some("InvalidAllowMethodsPreflightResponse"),
                "ACAM syntax",
            ),
            (
                204,
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Methods", "PUT"),
                    ("Access-Control-Allow-Headers", "a;b"),
                ],
                false,
                Some("InvalidAllowHeadersPreflightResponse"),
                "ACAH syntax",
            ),
            (
                204,
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Methods", "PUT"),
                ],
                false,
                Some("HeaderDisallowedByPreflightResponse"),
                "header not listed",
            ),
            (
                204,
                &[("Access-Control-Allow-Origin", "*")],
                true,
                Some("PreflightWildcardOriginNotAllowed"),
                "preflight uses the actual credentials mode",
            ),
        ];
        for (status, pf, include, want, why) in cases {
            let actual: &[(&str, &str)] = if *include {
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Credentials", "true"),
                ]
            } else {
                &ok
            };
            assert_eq!(
                reason(&preflighted(*status, pf, actual), Chromium, *include),
                *want,
                "{why}"
            );
        }
    }

    /// `#http-redirect-fetch`: the 3xx gets the CORS check, userinfo fails, taint makes `null`.
    #[test]
    fn redirect_rules() {
        let start = "http://api.test:8081/start";
        let hop1 = x(
            "GET",
            start,
            &[("Origin", PAGE)],
            Some((302, &[("Location", "/final")])),
        );
        assert_eq!(
            reason(&flow(vec![(hop1, None)]), Chromium, false),
            Some("MissingAllowOriginHeader")
        );
        let creds = x(
            "GET",
            start,
            &[("Origin", PAGE)],
            Some((
                301,
                &[
                    ("Location", "http://u:p@api.test:8081/f"),
                    ("Access-Control-Allow-Origin", PAGE),
                ],
            )),
        );
        assert_eq!(
            reason(&flow(vec![(creds.clone(), None)]), Chromium, false),
            Some("RedirectContainsCredentials")
        );
        assert_eq!(
            reason(&flow(vec![(creds.clone(), None)]), Safari, false),
            Some("RedirectURLHasCredentials")
        );
        assert_eq!(
            reason(&flow(vec![(creds, None)]), Firefox, false),
            Some("CORSDidNotSucceed")
        );
        let to_other = x(
            "GET",
            start,
            &[("Origin", PAGE)],
            Some((
                301,
                &[
                    ("Location", "http://other.test/f"),
                    ("Access-Control-Allow-Origin", "*"),
                ],
            )),
        );
        let tainted = x(
            "GET",
            "http://other.test/f",
            &[("Origin", "null")],
            Some((200, &[("Access-Control-Allow-Origin", PAGE)])),
        );
        assert_eq!(
            reason(
                &flow(vec![(to_other.clone(), None), (tainted, None)]),
                Chromium,
                false
            ),
            Some("AllowOriginMismatch")
        );
        let ok = x(
            "GET",
            "http://other.test/f",
            &[("Origin", "null")],
            Some((200, &[("Access-Control-Allow-Origin", "null")])),
        );
        assert_eq!(
            run_as(&flow(vec![(to_other, None), (ok, None)]), Chromium, false),
            Decision::Allowed
        );
    }

    #[test]
    fn same_origin_and_missing_preflight() {
        let same = flow(vec![(
            x("PUT", "http://app.test:8080/x", &[], Some((200, &[]))),
            None,
        )]);
        assert_eq!(
            run_as(&same, Chromium, false),
            Decision::NotCors(NotCors::SameOrigin)
        );
        let put = flow(vec![(
            x(
                "PUT",
                API,
                &[("Origin", PAGE)],
                Some((200, &[("Access-Control-Allow-Origin", PAGE)])),
            ),
            None,
        )]);
        assert_eq!(
            run_as(&put, Chromium, false),
            Decision::Undecidable(Missing::Preflight { hop: 0 })
        );
    }

    // ---- one test per row of `browser::DIFFERENCES` ----

    /// Row `preflight-check-order` (corpus d-pf-status-bad-2).
    #[test]
    fn difference_preflight_check_order() {
        let f = preflighted(405, &[], &[]);
        assert_eq!(
            reason(&f, Chromium, false),
            Some("PreflightMissingAllowOriginHeader")
        );
        assert_eq!(reason(&f, Firefox, false), Some("CORSMissingAllowOrigin"));
        assert_eq!(reason(&f, Safari, false), Some("PreflightNotSuccessful"));
    }

    /// Row `preflight-redirect` (corpus d-pf-redirect-1, -2).
    #[test]
    fn difference_preflight_redirect() {
        let with = preflighted(
            301,
            &[("Location", "/x"), ("Access-Control-Allow-Origin", PAGE)],
            &[],
        );
        let without = preflighted(302, &[("Location", "/x")], &[]);
        assert_eq!(
            reason(&with, Chromium, false),
            Some("PreflightDisallowedRedirect")
        );
        assert_eq!(
            reason(&without, Chromium, false),
            Some("PreflightDisallowedRedirect")
        );
        assert_eq!(
            reason(&with, Firefox, false),
            Some("CORSExternalRedirectNotAllowed")
        );
        assert_eq!(
            reason(&without, Firefox, false),
            Some("CORSMissingAllowOrigin")
        );
        assert_eq!(reason(&with, Safari, false), Some("PreflightNotSuccessful"));
    }

    /// Row `acao-list` (corpus d-simple-get-acao-two-headers, -comma-list, -space-list).
    #[test]
    fn difference_acao_list() {
        let two = simple(&[
            ("Access-Control-Allow-Origin", PAGE),
            ("Access-Control-Allow-Origin", PAGE),
        ]);
        let comma = simple(&[(
            "Access-Control-Allow-Origin",
            "http://app.test:8080, http://x.test",
        )]);
        let space = simple(&[(
            "Access-Control-Allow-Origin",
            "http://app.test:8080 http://x.test",
        )]);
        for (f, cr, fx, sf) in [
            (
                &two,
                "MultipleAllowOriginValues",
                "CORSMultipleAllowOriginNotAllowed",
                "MultipleAllowOriginValues",
            ),
            (
                &comma,
                "MultipleAllowOriginValues",
                "CORSAllowOriginNotMatchingOrigin",
                "MultipleAllowOriginValues",
            ),
            (
                &space,
                "MultipleAllowOriginValues",
                "CORSAllowOriginNotMatchingOrigin",
                "NotAllowedByAccessControlAllowOrigin",
            ),
        ] {
            assert_eq!(reason(f, Chromium, false), Some(cr));
            assert_eq!(reason(f, Firefox, false), Some(fx));
            assert_eq!(reason(f, Safari, false), Some(sf));
        }
    }

    /// Row `acao-syntax` (recorded: d-simple-get-acao-garbage).
    #[test]
    fn difference_acao_syntax() {
        let garbage = simple(&[("Access-Control-Allow-Origin", "*.test")]);
        let urlish = simple(&[("Access-Control-Allow-Origin", "app.test:8080")]);
        assert_eq!(
            reason(&garbage, Chromium, false),
            Some("InvalidAllowOriginValue")
        );
        assert_eq!(
            reason(&urlish, Chromium, false),
            Some("AllowOriginMismatch")
        );
        assert_eq!(
            reason(&garbage, Firefox, false),
            Some("CORSAllowOriginNotMatchingOrigin")
        );
        assert_eq!(
            reason(&garbage, Safari, false),
            Some("NotAllowedByAccessControlAllowOrigin")
        );
    }

    /// Row `client-hints` (Chromium cors.cc IsCorsSafelistedHeader): the same request needs a
    /// preflight in Firefox and Safari only.
    #[test]
    fn difference_client_hints() {
        let f = flow(vec![(
            x(
                "GET",
                API,
                &[("Origin", PAGE), ("DPR", "2")],
                Some((200, &[("Access-Control-Allow-Origin", PAGE)])),
            ),
            None,
        )]);
        assert_eq!(run_as(&f, Chromium, false), Decision::Allowed);
        for b in [Firefox, Safari] {
            assert!(
                matches!(
                    run_as(&f, b, false),
                    Decision::Undecidable(Missing::PreflightNotSentByRecorder { .. })
                ),
                "{b:?}"
            );
        }
    }

    /// Row `max-age-cap` and `max-age-syntax` are in `browser::tests::max_age_per_browser`;
    /// here their effect on the cache: a 1-hour Max-Age still covers after 30 minutes in
    /// Chromium and Firefox but not in Safari (600 s cap).
    #[test]
    fn difference_max_age_cap() {
        use crate::cors::cache::Allowed as A;
        let c: Arc<str> = Arc::from("c");
        for (b, hit) in [(Chromium, true), (Firefox, true), (Safari, false)] {
            let mut cache = PreflightCache::new(b);
            let max_age = b.max_age(Some("3600")).unwrap();
            cache.insert(&c, PAGE, API, 0, false, &A::new(&["PUT"], &[], max_age));
            let got = cache.lookup(&c, PAGE, API, 1800 * 1_000_000, false, "PUT", &[]);
            assert_eq!(
                matches!(got, crate::cors::cache::Lookup::Hit { .. }),
                hit,
                "{b:?}"
            );
        }
    }

    /// Row `preflight-cache-shape`: Chromium replaces the whole entry; Firefox merges items.
    #[test]
    fn difference_preflight_cache_shape() {
        use crate::cors::cache::Allowed as A;
        let c: Arc<str> = Arc::from("c");
        for (b, merged) in [(Chromium, false), (Firefox, true)] {
            let mut cache = PreflightCache::new(b);
            cache.insert(&c, PAGE, API, 0, false, &A::new(&["PUT"], &[], 60));
            cache.insert(&c, PAGE, API, 1, false, &A::new(&["DELETE"], &[], 60));
            let got = cache.lookup(&c, PAGE, API, 2, false, "PUT", &[]);
            assert_eq!(
                matches!(got, crate::cors::cache::Lookup::Hit { .. }),
                merged,
                "{b:?}"
            );
        }
    }

    /// Row `redirect-credentials` (corpus d-redir-credentials-in-url) is covered in
    /// `redirect_rules`; row `network-error` in `resolve` (Firefox names it CORSDidNotSucceed):
    /// its profile flag is the only switch.
    #[test]
    fn difference_network_error() {
        assert!(Firefox.profile().network_error_is_cors_error);
        assert!(!Chromium.profile().network_error_is_cors_error);
        assert!(!Safari.profile().network_error_is_cors_error);
        let n = crate::cors::reason::firefox_network_error(API);
        assert_eq!(n.reason, Some("CORSDidNotSucceed"));
        assert!(n.message.ends_with("Status code: (null)."));
    }

    /// Row `font-cors`: WebKitGTK sends @font-face loads without Origin.
    #[test]
    fn difference_font_cors() {
        let f = simple(&[]);
        let cache = PreflightCache::new(Safari);
        let cx = |b| Context {
            browser: b,
            recorder: Chromium,
            include: false,
            page_origin: PAGE,
            cache: &cache,
            recorder_passed_preflight: &[],
            recorder_unsafe_names: &[],
            is_font: true,
            evidence: None,
            names_memo: None,
        };
        assert_eq!(
            evaluate(&f, &cx(Safari)).decision,
            Decision::NotCors(NotCors::NotCorsInThisBrowser)
        );
        assert!(matches!(
            evaluate(&f, &cx(Chromium)).decision,
            Decision::Blocked(_)
        ));
    }

    /// Row `acao-whitespace-http2`: a tab before the origin (probe-variants/https o-tab).
    #[test]
    fn difference_acao_whitespace_http2() {
        for (value, http2, b, allowed) in [
            ("\thttp://app.test:8080", true, Safari, false),
            ("http://app.test:8080 ", true, Safari, false),
            ("\thttp://app.test:8080", false, Safari, true),
            ("\thttp://app.test:8080", true, Chromium, true),
            ("\thttp://app.test:8080", true, Firefox, true),
            ("http://app.test:8080", true, Safari, true),
        ] {
            let mut h = Headers::new();
            h.push(b"Access-Control-Allow-Origin", value.as_bytes());
            assert_eq!(
                check_access(b, &h, PAGE, false, http2).is_ok(),
                allowed,
                "{value:?} http2={http2} {b:?}"
            );
        }
    }

    /// Row `redirect-preflight-origin`: a preflighted `PUT` redirected to a third origin.
    /// Chromium and Safari preflight the tainted hop with `Origin: null`, Firefox with the
    /// page's. A recorded answer decides a browser that asks with another Origin only where it
    /// is `*`: a static `null` blocks Firefox (n-308-cross), a reflecting server allows it
    /// (probe-variants `r-307-put-cross-origin-reflect`).
    #[test]
    fn difference_redirect_preflight_origin() {
        let start = "http://api.test:8081/start";
        let fin = "http://files.test:9000/final";
        let preflight = |url, asked, acao| {
            x(
                "OPTIONS",
                url,
                &[("Origin", asked), ("Access-Control-Request-Method", "PUT")],
                Some((
                    204,
                    &[
                        ("Access-Control-Allow-Origin", acao),
                        ("Access-Control-Allow-Methods", "PUT"),
                    ],
                )),
            )
        };
        let hop0 = x(
            "PUT",
            start,
            &[("Origin", PAGE)],
            Some((
                308,
                &[("Location", fin), ("Access-Control-Allow-Origin", PAGE)],
            )),
        );
        let chain = |asked, acao| {
            let hop1 = x(
                "PUT",
                fin,
                &[("Origin", "null")],
                Some((200, &[("Access-Control-Allow-Origin", "null")])),
            );
            flow(vec![
                (hop0.clone(), Some(preflight(start, PAGE, PAGE))),
                (hop1, Some(preflight(fin, asked, acao))),
            ])
        };
        // (the recorded preflight asked with, its ACAO, browser, reason; `None`: allowed)
        let open = Some("open");
        let cases = [
            ("null", "null", Chromium, None),
            ("null", "null", Safari, None),
            ("null", "null", Firefox, open),
            ("null", "*", Firefox, None),
            (
                PAGE,
                "null",
                Firefox,
                Some("CORSAllowOriginNotMatchingOrigin"),
            ),
            (PAGE, PAGE, Firefox, None),
            (PAGE, PAGE, Chromium, open),
            (PAGE, "*", Chromium, None),
        ];
        for (asked, acao, b, want) in cases {
            let d = run_as(&chain(asked, acao), b, false);
            let got = match &d {
                Decision::Allowed => None,
                Decision::Undecidable(Missing::PreflightOtherOrigin { hop: 1, .. }) => open,
                _ => reason(&chain(asked, acao), b, false),
            };
            assert_eq!(got, want, "{asked} {acao} {b:?}: {d:?}");
        }
    }

    /// Row `redirect-keeps-preflight`: a preflighted `DELETE` answered `303`, and a plain `GET`
    /// follows within the API (probe recording `rp-delete-303-*`). From Chromium's recording
    /// (the `GET` sent without a preflight) Firefox and Safari would have preflighted it, and
    /// nothing shows the answer; from a recording of theirs (the `GET`'s preflight recorded,
    /// the `GET` not sent) Chromium would have sent it, and its answer is missing.
    #[test]
    fn difference_redirect_keeps_preflight() {
        let b = "http://api.test:8081/b";
        let pf = |url: &str, method: &str, acrh: Option<&str>, status: u16| {
            let mut req = vec![("Origin", PAGE), ("Access-Control-Request-Method", method)];
            req.extend(acrh.map(|h| ("Access-Control-Request-Headers", h)));
            let resp: &[(&str, &str)] = if status == 204 {
                &[
                    ("Access-Control-Allow-Origin", PAGE),
                    ("Access-Control-Allow-Methods", "GET, DELETE"),
                    ("Access-Control-Allow-Headers", "Content-Type"),
                ]
            } else {
                &[]
            };
            x("OPTIONS", url, &req, Some((status, resp)))
        };
        let hop0 = |method| {
            x(
                method,
                API,
                &[("Origin", PAGE)],
                Some((
                    303,
                    &[("Location", b), ("Access-Control-Allow-Origin", PAGE)],
                )),
            )
        };
        let get = x(
            "GET",
            b,
            &[("Origin", PAGE)],
            Some((200, &[("Access-Control-Allow-Origin", PAGE)])),
        );
        // Chromium's recording: the GET went out without a preflight.
        let chromium = flow(vec![
            (hop0("DELETE"), Some(pf(API, "DELETE", None, 204))),
            (get, None),
        ]);
        // A recording of Firefox's (no names announced) or WebKit's (the POST's Content-Type
        // announced) whose second preflight failed: the GET was never sent.
        let other = |recorder: Browser, method, acrh| {
            let mut f = flow(vec![
                (hop0(method), Some(pf(API, method, None, 204))),
                (
                    x("GET", b, &[("Origin", PAGE)], None),
                    Some(pf(b, "GET", acrh, 405)),
                ),
            ]);
            f.hops[1].sent = false;
            (recorder, f)
        };
        // Firefox's recording of a POST of JSON answered 303, whose GET's preflight (no names
        // announced) was allowed for GET only: WebKit's announces `content-type` and is
        // refused (rq-post-json-303-no-acah).
        let firefox_post = {
            let post = x(
                "POST",
                API,
                &[("Origin", PAGE), ("Content-Type", "application/json")],
                Some((
                    303,
                    &[("Location", b), ("Access-Control-Allow-Origin", PAGE)],
                )),
            );
            let get_only = x(
                "OPTIONS",
                b,
                &[("Origin", PAGE), ("Access-Control-Request-Method", "GET")],
                Some((
                    204,
                    &[
                        ("Access-Control-Allow-Origin", PAGE),
                        ("Access-Control-Allow-Methods", "GET"),
                    ],
                )),
            );
            let get = x(
                "GET",
                b,
                &[("Origin", PAGE)],
                Some((200, &[("Access-Control-Allow-Origin", PAGE)])),
            );
            (
                Firefox,
                flow(vec![
                    (post, Some(pf(API, "POST", Some("content-type"), 204))),
                    (get, Some(get_only)),
                ]),
            )
        };
        let cases = [
            (firefox_post.clone(), Firefox, "allowed"),
            (firefox_post.clone(), Safari, "blocked"),
            (firefox_post, Chromium, "allowed"),
            ((Chromium, chromium.clone()), Chromium, "allowed"),
            ((Chromium, chromium.clone()), Firefox, "open"),
            ((Chromium, chromium), Safari, "open"),
            (other(Firefox, "DELETE", None), Firefox, "blocked"),
            (other(Firefox, "DELETE", None), Chromium, "open"),
            (
                other(Safari, "POST", Some("content-type")),
                Safari,
                "blocked",
            ),
            (
                other(Safari, "POST", Some("content-type")),
                Chromium,
                "open",
            ),
            (other(Safari, "POST", Some("content-type")), Firefox, "open"),
        ];
        for ((recorder, f), b, want) in cases {
            let cache = PreflightCache::new(b);
            let cx = Context {
                recorder,
                ..plain_cx(b, false, &cache, None)
            };
            let d = evaluate(&f, &cx).decision;
            let got = match &d {
                Decision::Allowed => "allowed",
                Decision::Blocked(_) => "blocked",
                Decision::Undecidable(_) => "open",
                Decision::NotCors(_) => "not-cors",
            };
            assert_eq!(got, want, "{recorder:?} recording, {b:?}: {d:?}");
        }
    }

    /// Row `redirect-empty-location`: a `302` with an empty `Location` (and a passing CORS
    /// check) is Chromium's final response, a network error in Firefox and WebKit (probe
    /// recording `rx-empty-location`). A blank value reads as empty.
    #[test]
    fn difference_redirect_empty_location() {
        for value in ["", " \t"] {
            let f = flow(vec![(
                x(
                    "GET",
                    API,
                    &[("Origin", PAGE)],
                    Some((
                        302,
                        &[("Location", value), ("Access-Control-Allow-Origin", PAGE)],
                    )),
                ),
                None,
            )]);
            for (b, want_allowed) in [(Chromium, true), (Firefox, false), (Safari, false)] {
                let d = run_as(&f, b, false);
                let got = match &d {
                    Decision::Allowed => true,
                    Decision::Undecidable(Missing::ResponseHead { hop: 0, why }) => {
                        assert!(why.contains("empty Location"), "{why}");
                        false
                    }
                    other => panic!("{b:?} {value:?}: {other:?}"),
                };
                assert_eq!(got, want_allowed, "{b:?} {value:?}");
            }
        }
    }

    #[test]
    fn every_difference_row_has_a_test() {
        let tested = [
            "preflight-check-order",
            "preflight-redirect",
            "acao-list",
            "acao-syntax",
            "client-hints",
            "max-age-cap",
            "max-age-syntax",
            "preflight-cache-shape",
            "network-error",
            "redirect-credentials",
            "font-cors",
            "redirect-preflight-origin",
            "redirect-keeps-preflight",
            "redirect-empty-location",
            "acao-lines-http2",
            "acao-whitespace-http2",
            // Tested in `headview` and through the probe recordings (tests/truth.rs).
            "head-space-before-colon",
            "head-size-limit",
            // Request-side rows: `headers::tests::safelist_difference_rows` (and the two after).
            "safelist-total",
            "content-type-comma",
            "content-type-trailing-semicolon",
            "content-type-before-parameters",
            "non-ascii-value",
            "range-unit-case",
            "range-plus-sign",
            "range-large-position",
        ];
        for d in crate::cors::browser::DIFFERENCES {
            assert!(tested.contains(&d.id), "row {} has no test", d.id);
        }
    }

    fn cx<'a>(b: Browser, cache: &'a PreflightCache, passed: &'a [bool]) -> Context<'a> {
        Context {
            browser: b,
            recorder: Chromium,
            include: false,
            page_origin: PAGE,
            cache,
            recorder_passed_preflight: passed,
            recorder_unsafe_names: &[],
            is_font: false,
            evidence: None,
            names_memo: None,
        }
    }

    /// The redirect stage: a cross-origin hop redirecting to another origin taints the request
    /// origin; a same-origin one does not; a last hop's redirect leaves the flow undecided.
    #[test]
    fn redirect_stage_taints_and_needs_the_next_hop() {
        let cache = PreflightCache::new(Chromium);
        let cases = [
            (API, "http://other.test/x", true),
            (API, "http://api.test:8081/y", false),
            ("http://app.test:8080/a", "http://api.test:8081/r", false),
        ];
        for (from, to, taints) in cases {
            let resp = [("Location", to)];
            let hop = x("GET", from, &[("Origin", PAGE)], Some((302, &resp)));
            let next = x("GET", to, &[("Origin", PAGE)], Some((200, &[])));
            let f = flow(vec![(hop.clone(), None), (next, None)]);
            let mut walk = Walk {
                request_origin: PAGE,
                tainted: false,
                any_cross: false,
                preflighted: false,
            };
            let resp = hop.response.as_ref().unwrap();
            let followed = follow_redirect(&f, &cx(Chromium, &cache, &[]), &mut walk, 0, resp, to);
            assert_eq!(followed, Ok(true), "{from} -> {to}");
            assert_eq!(walk.tainted, taints, "{from} -> {to}");
            assert_eq!(walk.request_origin == "null", taints, "{from} -> {to}");
            let alone = flow(vec![(hop.clone(), None)]);
            let last = follow_redirect(&alone, &cx(Chromium, &cache, &[]), &mut walk, 0, resp, to);
            assert_eq!(
                last,
                Err(Decision::Undecidable(Missing::NextHop { hop: 0 }))
            );
        }
    }

    /// A needed preflight that is neither recorded nor cached: another browser takes the
    /// recorder's passed answer for the same request; otherwise it is missing, and says whether
    /// the recorder never asked.
    #[test]
    fn uncached_preflight_stage() {
        let cache = PreflightCache::new(Firefox);
        let put = FlowHop {
            exchange: x("PUT", API, &[("Origin", PAGE)], Some((200, &[]))),
            sent: true,
            preflight: None,
        };
        let get = FlowHop {
            exchange: x("GET", API, &[("Origin", PAGE)], Some((200, &[]))),
            sent: true,
            preflight: None,
        };
        let passed = [true];
        let firefox = cx(Firefox, &cache, &passed);
        assert_eq!(uncached_preflight(&firefox, &put, 0, &[], false), Ok(()));
        let not_passed = cx(Firefox, &cache, &[]);
        assert_eq!(
            uncached_preflight(&not_passed, &put, 0, &[], false),
            Err(Decision::Undecidable(Missing::Preflight { hop: 0 }))
        );
        let names = ["x-a".to_owned()];
        assert!(matches!(
            uncached_preflight(&not_passed, &get, 0, &names, false),
            Err(Decision::Undecidable(Missing::PreflightNotSentByRecorder {
                hop: 0,
                ..
            }))
        ));
        let recorder = cx(Chromium, &cache, &passed);
        assert_eq!(
            uncached_preflight(&recorder, &put, 0, &[], false),
            Err(Decision::Undecidable(Missing::Preflight { hop: 0 }))
        );
    }

    /// The preflight answer's checks: status before or after Allow-Origin as each browser
    /// orders them, and header names listed or covered by `*`.
    #[test]
    fn preflight_answer_and_header_name_stages() {
        let cache = PreflightCache::new(Chromium);
        let resp = |status, headers: HeaderList| {
            x("OPTIONS", API, &[], Some((status, headers)))
                .response
                .unwrap()
        };
        let bad_both = resp(500, &[]);
        let want_first = |b: Browser| {
            if b.profile().preflight_status_before_allow_origin {
                Failure::PreflightStatus
            } else {
                Failure::AllowOriginMissing
            }
        };
        for b in [Chromium, Firefox, Safari] {
            let c = cx(b, &cache, &[]);
            assert_eq!(
                check_preflight_answer(&c, &bad_both, PAGE, false, None),
                Err(want_first(b)),
                "{b}"
            );
            let good = resp(204, &[("Access-Control-Allow-Origin", "*")]);
            assert_eq!(
                check_preflight_answer(&c, &good, PAGE, false, None),
                Ok(()),
                "{b}"
            );
        }
        let c = cx(Chromium, &cache, &[]);
        let names = ["x-a".to_owned(), "x-b".to_owned()];
        let listed = ["x-a", "X-B"];
        assert_eq!(check_header_names(&c, &listed, &names, None), Ok(()));
        assert_eq!(check_header_names(&c, &["*"], &names, None), Ok(()));
        assert!(matches!(
            check_header_names(&c, &listed[..1], &names, None),
            Err(Failure::HeaderNotAllowed { name, as_written }) if name == "x-b" && as_written == "X-B"
        ));
    }
}
