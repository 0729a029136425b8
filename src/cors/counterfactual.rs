//! Counterfactual requests (issue 19 item 4): where another browser would have sent a request
//! the recording browser did not (a preflight it did not need, or the request its own preflight
//! stopped), the recorded responses answered a different question. This step keeps what the
//! server answered earlier on each endpoint and decides such a request only where that answer
//! does not depend on what was asked; otherwise the engine leaves the browser undecided.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use super::cache::Allowed;
use super::engine::{check_access, check_preflight, Context};
use super::reason::{Blocked, Failure, Stage};
use crate::model::Flow;
use crate::model::{Exchange, Headers, Micros, Position, Request};

/// Endpoints remembered over all resolvers, and answers kept per endpoint: a bound on memory
/// whatever the input's size (the oldest endpoint is forgotten first, which can only leave a
/// verdict open).
pub(crate) const ENDPOINTS: usize = 4096;
const PER_ENDPOINT: usize = 4;

/// Per (client, endpoint), newest last. An endpoint is the URL without its query or fragment:
/// servers route by path.
/// Hashed with seeded foldhash, not SipHash: the keys come from the input, and every flow
/// is recorded here (SipHash was a visible share of deciding a flow).
/// The key's endpoint is shared with `order` (one copy of it), and looked up borrowed
/// ([`EndpointOf`]): most flows add to an endpoint already known.
struct Recent<T> {
    map: hashbrown::HashMap<(Arc<str>, Arc<str>), Vec<T>, foldhash::fast::RandomState>,
    order: VecDeque<(Arc<str>, Arc<str>)>,
    /// Endpoints remembered.
    cap: usize,
}

impl<T> Recent<T> {
    fn new(cap: usize) -> Self {
        Self {
            map: hashbrown::HashMap::default(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }
}

fn endpoint(url: &str) -> &str {
    // A byte search: the `char` pattern searcher cost more than the copy.
    let end = url.bytes().position(|b| matches!(b, b'?' | b'#'));
    &url[..end.unwrap_or(url.len())]
}

/// A (client, endpoint) key, borrowed: hashed as the owned key's tuple is (each `str` in turn).
#[derive(Hash)]
struct EndpointOf<'a>(&'a str, &'a str);

impl hashbrown::Equivalent<(Arc<str>, Arc<str>)> for EndpointOf<'_> {
    fn equivalent(&self, (client, endpoint): &(Arc<str>, Arc<str>)) -> bool {
        *self.0 == **client && *self.1 == **endpoint
    }
}

impl<T> Recent<T> {
    fn push(&mut self, client: &Arc<str>, url: &str, item: T) {
        let key = EndpointOf(client, endpoint(url));
        match self.map.entry_ref(&key) {
            hashbrown::hash_map::EntryRef::Occupied(list) => {
                let list = list.into_mut();
                if list.len() >= PER_ENDPOINT {
                    list.remove(0);
                }
                list.push(item);
            }
            hashbrown::hash_map::EntryRef::Vacant(v) => {
                let owned = (client.clone(), Arc::from(key.1));
                let entry = v.insert_entry_with_key(owned, vec![item]);
                self.order.push_back(entry.key().clone());
                // The oldest endpoint goes once there are too many (never the new one, last).
                if self.order.len() > self.cap {
                    if let Some(old) = self.order.pop_front() {
                        self.map.remove(&old);
                    }
                }
            }
        }
    }

    fn newest_first<'a>(&'a self, client: &Arc<str>, url: &str) -> impl Iterator<Item = &'a T> {
        self.map
            .get(&EndpointOf(client, endpoint(url)))
            .into_iter()
            .flat_map(|l| l.iter().rev())
    }
}

/// What a response to a CORS request showed: only the headers the CORS check reads.
struct SeenResponse {
    origin: String,
    cors_headers: Headers,
    http2: bool,
    time: Micros,
    /// Where the response is (written out only when a note cites it).
    place: Position,
}

/// The server's earlier answers, per endpoint: answered preflights, and the CORS headers of
/// responses to requests that carried `Origin`.
pub(crate) struct EndpointEvidence {
    preflights: Recent<Exchange>,
    responses: Recent<SeenResponse>,
}

fn place(x: &Exchange) -> String {
    place_at(x.loc.position)
}

fn place_at(position: Position) -> String {
    match position {
        Position::HarEntry(i) => format!("entry {i}"),
        Position::Packet { number, .. } => format!("packet {number}"),
        Position::Stream { number, stream, .. } => format!("packet {number} stream {stream}"),
        Position::Byte(b) => format!("byte {b}"),
    }
}

impl EndpointEvidence {
    /// Evidence of at most `endpoints` endpoints (of each kind).
    pub(crate) fn new(endpoints: usize) -> Self {
        Self {
            preflights: Recent::new(endpoints),
            responses: Recent::new(endpoints),
        }
    }

    /// Keeps what `flow` shows of the server: its answered preflights and the CORS headers of
    /// its responses that are not redirects.
    #[cfg(test)]
    pub(crate) fn record(&mut self, flow: &Flow) {
        let first = &flow.first().exchange.request.headers;
        self.record_read(flow, super::headers::header_str(first, "origin"));
    }

    /// Keeps what `flow` shows of the server (as `record`, which tests call), given the first
    /// request's `Origin` as `header_str` reads it (the resolver has read it already).
    pub(crate) fn record_read(&mut self, flow: &Flow, first_origin: Option<Cow<'_, str>>) {
        let mut first_origin = Some(first_origin);
        for hop in &flow.hops {
            if let Some(pf) = hop.preflight.as_ref().filter(|p| p.response.is_some()) {
                self.preflights
                    .push(&flow.client, &pf.request.url, pf.clone());
            }
            let x = &hop.exchange;
            // The first hop's is the flow's first request's.
            let origin = first_origin
                .take()
                .unwrap_or_else(|| super::headers::header_str(&x.request.headers, "origin"));
            let (Some(resp), Some(origin)) = (&x.response, origin) else {
                continue;
            };
            if !hop.sent || resp.redirects() {
                continue;
            }
            let is_kept = |n: &[u8]| {
                n.eq_ignore_ascii_case(b"access-control-allow-origin")
                    || n.eq_ignore_ascii_case(b"access-control-allow-credentials")
            };
            // Found in one pass and sized first (two small buffers instead of growing them
            // header by header).
            let kept: smallvec::SmallVec<[(&[u8], &[u8]); 4]> =
                resp.headers.iter().filter(|(n, _)| is_kept(n)).collect();
            let bytes = kept.iter().map(|(n, v)| n.len() + v.len()).sum();
            let mut cors_headers = Headers::with_capacity(kept.len(), bytes);
            for (n, v) in kept {
                cors_headers.push(n, v);
            }
            let seen = SeenResponse {
                origin: origin.into_owned(),
                cors_headers,
                http2: x.request.is_http2(),
                time: x.time,
                place: x.loc.position,
            };
            self.responses.push(&flow.client, &x.request.url, seen);
        }
    }
}

/// A failure that does not depend on the method or headers a preflight asked for: the same
/// Origin gets the same status, Allow-Origin and Allow-Credentials. (A server may compute its
/// allow lists from the request, so a list that lacks a name decides nothing.)
fn independent_of_what_was_asked(f: &Failure) -> bool {
    matches!(
        f,
        Failure::AllowOriginMissing
            | Failure::WildcardWithCredentials
            | Failure::AllowOriginMultiple { .. }
            | Failure::AllowOriginMismatch { .. }
            | Failure::AllowOriginInvalid { .. }
            | Failure::AllowCredentialsNotTrue { .. }
            | Failure::PreflightStatus
            | Failure::PreflightRedirect
    )
}

/// A request decided from the server's answer to another one, with the note that says so.
#[derive(Debug)]
pub(crate) struct Answer<T> {
    pub result: Result<T, Blocked>,
    pub note: String,
}

/// The answer to the preflight `cx.browser` would send for `req` (hop `hop`, from `origin`,
/// announcing `names`), from the server's answer to an earlier preflight of the same endpoint
/// with the same Origin: allowed when that answer allows this method and these headers,
/// blocked when it failed for a reason independent of them. `None`: nothing decides it.
pub(crate) fn preflight_answer(
    cx: &Context,
    req: &Request,
    time: Micros,
    client: &Arc<str>,
    origin: &str,
    names: &[String],
    hop: usize,
) -> Option<Answer<Allowed>> {
    let evidence = cx.evidence?;
    for pf in evidence.preflights.newest_first(client, &req.url) {
        let Some(resp) = &pf.response else { continue };
        if pf.time >= time
            || super::headers::header_str(&pf.request.headers, "origin").as_deref() != Some(origin)
        {
            continue;
        }
        let result = check_preflight(cx, pf, resp, origin, &req.method, names, None, hop, false);
        let decided = match &result {
            Ok(_) => "which allows this method and these headers",
            Err(b) if independent_of_what_was_asked(&b.failure) => {
                "which fails whatever a preflight asks for"
            }
            Err(_) => continue,
        };
        return Some(Answer {
            result: result.map_err(|mut b| {
                b.url = req.url.clone();
                b
            }),
            note: format!(
                "decided from the server's answer to an earlier preflight of the same URL from the same origin ({}, status {}), {decided}",
                place(pf),
                resp.status
            ),
        });
    }
    None
}

/// The CORS check of a request `cx.browser` would send that the recording browser never sent,
/// from the responses the same endpoint gave earlier to the same Origin: decided only when
/// every one of them passes, or every one fails the same way. `None`: nothing decides it.
pub(crate) fn response_answer(
    cx: &Context,
    req: &Request,
    time: Micros,
    client: &Arc<str>,
    origin: &str,
    hop: usize,
) -> Option<Answer<()>> {
    let evidence = cx.evidence?;
    let mut seen = evidence
        .responses
        .newest_first(client, &req.url)
        .filter(|s| s.time < time && s.origin == origin)
        .peekable();
    let first = seen.peek()?;
    let (latest, mut count) = (first.place, 0);
    let mut outcome: Option<Result<(), Failure>> = None;
    for s in seen {
        let r = check_access(cx.browser, &s.cors_headers, origin, cx.include, s.http2);
        match (&outcome, &r) {
            (None, _) => outcome = Some(r),
            (Some(Ok(())), Ok(())) => {}
            (Some(Err(a)), Err(b)) if std::mem::discriminant(a) == std::mem::discriminant(b) => {}
            _ => return None,
        }
        count += 1;
    }
    let outcome = outcome?;
    let what = if outcome.is_ok() {
        "every one of which passes this browser's CORS check"
    } else {
        "every one of which fails this browser's CORS check the same way"
    };
    let first_place = place_at(latest);
    Some(Answer {
        result: outcome.map_err(|failure| Blocked {
            failure,
            stage: Stage::Actual,
            status: None,
            url: req.url.clone(),
            location: None,
            request_origin: origin.to_owned(),
            hop,
        }),
        note: format!(
            "the input has no response to this request; decided from the {count} response(s) the same URL gave this origin earlier (the latest: {first_place}), {what}"
        ),
    })
}

/// For a hop the recording browser preflighted but never sent: the announced names whose values
/// the input does not show and that `cx.browser` may safelist where the recorder did not
/// (`headers::may_safelist_what_recorder_refused`). Without them this browser may send no
/// preflight, or one asking for less; the recorded answer still decides when it fails whatever
/// is asked. Otherwise returns why the verdict is open.
pub(crate) fn hidden_value_open(
    cx: &Context,
    pf: Option<&Exchange>,
    method: &str,
    names: &[String],
    origin: &str,
    hop: usize,
) -> Option<String> {
    let (hidden, rest): (Vec<&String>, Vec<&String>) = names.iter().partition(|n| {
        super::headers::may_safelist_what_recorder_refused(cx.browser, cx.recorder, n.as_bytes())
    });
    if hidden.is_empty() {
        return None;
    }
    let why = format!(
        "{} preflighted for {} with a value the input does not show (the request never followed its preflight), and {} safelists some values {} refuses",
        cx.recorder,
        hidden.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "),
        cx.browser,
        cx.recorder
    );
    if super::headers::is_safelisted_method(method) && rest.is_empty() {
        return Some(format!("{why}: {} may have sent no preflight", cx.browser));
    }
    let rest: Vec<String> = rest.into_iter().cloned().collect();
    let decided = pf.and_then(|pf| {
        let resp = pf.response.as_ref()?;
        check_preflight(cx, pf, resp, origin, method, &rest, None, hop, false).err()
    });
    match decided {
        Some(b) if independent_of_what_was_asked(&b.failure) => None,
        _ => Some(format!(
            "{why}: its preflight would ask for less, and the recorded answer does not show what the server says to that"
        )),
    }
}

#[cfg(test)]
mod tests {
    //! Each way a request the recorder did not send is decided, or left open, through the
    //! engine (`evaluate`) with the evidence of earlier flows; the probe recordings
    //! `tests/data/probe-reqside` `ev-*` are the same cases in real browsers.
    use super::*;
    use crate::cors::browser::Browser::{self, *};
    use crate::cors::cache::PreflightCache;
    use crate::cors::engine::{evaluate, Decision, Missing};
    use crate::model::Flavour;
    use crate::model::FlowHop;

    /// Per (client, endpoint) the newest `PER_ENDPOINT` answers, newest first; past `cap`
    /// endpoints the one first seen is forgotten, whatever was added to it since.
    #[test]
    fn recent_keeps_the_newest_answers_of_the_newest_endpoints() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let mut r = Recent::new(2);
        let list = |r: &Recent<u32>, c: &Arc<str>, url: &str| {
            r.newest_first(c, url).copied().collect::<Vec<_>>()
        };
        for i in 0..6 {
            r.push(&a, "http://s/p?q=1", i);
        }
        assert_eq!(list(&r, &a, "http://s/p#f"), [5, 4, 3, 2]);
        assert_eq!(list(&r, &b, "http://s/p"), [] as [u32; 0]);
        r.push(&b, "http://s/p", 10);
        r.push(&a, "http://s/p", 6);
        r.push(&a, "http://s/other", 20);
        assert_eq!(list(&r, &a, "http://s/p"), [] as [u32; 0]);
        assert_eq!(list(&r, &b, "http://s/p"), [10]);
        assert_eq!(list(&r, &a, "http://s/other"), [20]);
    }

    #[test]
    fn endpoint_is_the_url_before_query_or_fragment() {
        for url in [
            "http://a/p",
            "http://a/p?q#f",
            "http://a/p#f?q",
            "?",
            "#",
            "",
            "http://a/é?x",
        ] {
            assert_eq!(
                endpoint(url),
                url.split(['?', '#']).next().unwrap_or(url),
                "{url}"
            );
        }
    }

    const PAGE: &str = "http://app.test:8080";
    const URL: &str = "http://api.test:8081/r";

    fn x(
        at: Micros,
        method: &str,
        req: &[(&str, &str)],
        resp: Option<(u16, &[(&str, &str)])>,
    ) -> Exchange {
        let mut e = crate::model::test_exchange(Flavour::Capture, method, URL, req, resp, None);
        e.time = at;
        e
    }

    fn flow(exchange: Exchange, sent: bool, preflight: Option<Exchange>) -> Flow {
        Flow {
            client: Arc::from("c"),
            flavour: Flavour::Capture,
            hops: vec![FlowHop {
                exchange,
                sent,
                preflight,
            }],
        }
    }

    fn preflight(at: Micros, headers: &str, resp: (u16, &[(&str, &str)])) -> Exchange {
        let req = [
            ("Origin", PAGE),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", headers),
        ];
        x(at, "OPTIONS", &req, Some(resp))
    }

    /// `b`'s decision on `f` with the evidence of `earlier`, the recording made by `recorder`.
    fn decide(
        earlier: &[Flow],
        f: &Flow,
        b: Browser,
        recorder: Browser,
    ) -> (Decision, Vec<String>) {
        let mut evidence = EndpointEvidence::new(ENDPOINTS);
        for e in earlier {
            evidence.record(e);
        }
        let cache = PreflightCache::new(b);
        let ev = evaluate(
            f,
            &Context {
                browser: b,
                recorder,
                include: false,
                page_origin: PAGE,
                cache: &cache,
                recorder_passed_preflight: &[],
                recorder_unsafe_names: &[],
                is_font: false,
                evidence: Some(&evidence),
                names_memo: None,
            },
        );
        (ev.decision, ev.notes)
    }

    const ACAO: (&str, &str) = ("Access-Control-Allow-Origin", PAGE);

    /// ev-fail-comma: Chromium sent `text/plain;a=b,c` without a preflight; Firefox would
    /// preflight, and the same URL answered a preflight earlier with a 405 and no
    /// Allow-Origin, which fails whatever is asked: Firefox blocked, with the note.
    #[test]
    fn a_preflight_only_firefox_sends_fails_like_the_earlier_one() {
        let probe = flow(
            x(0, "POST", &[("Origin", PAGE)], None),
            false,
            Some(preflight(0, "x-probe", (405, &[]))),
        );
        let comma = x(
            1_000,
            "POST",
            &[("Origin", PAGE), ("Content-Type", "text/plain;a=b,c")],
            Some((200, &[ACAO])),
        );
        let f = flow(comma, true, None);
        let (d, notes) = decide(std::slice::from_ref(&probe), &f, Firefox, Chromium);
        assert!(
            matches!(d, Decision::Blocked(ref b) if b.failure == Failure::AllowOriginMissing),
            "{d:?}"
        );
        assert!(
            notes[0].contains("earlier preflight") && notes[0].contains("content-type"),
            "{notes:?}"
        );
        // Without the earlier preflight nothing decides it.
        let (d, _) = decide(&[], &f, Firefox, Chromium);
        assert!(matches!(
            d,
            Decision::Undecidable(Missing::PreflightNotSentByRecorder { .. })
        ));
        // Safari reads the value as Chromium does: no preflight, the recorded response decides.
        assert_eq!(decide(&[probe], &f, Safari, Chromium).0, Decision::Allowed);
    }

    /// ev-pass-comma and ev-pass-hint: an earlier answer that lists `content-type` allows it;
    /// one that lacks `dpr` decides nothing (the server may build the list from the request).
    #[test]
    fn an_earlier_allow_list_decides_only_what_it_covers() {
        let ok = (
            204,
            &[
                ACAO,
                ("Access-Control-Allow-Headers", "x-probe, content-type"),
            ][..],
        );
        let probe = flow(
            x(
                0,
                "POST",
                &[("Origin", PAGE), ("X-Probe", "1")],
                Some((200, &[ACAO])),
            ),
            true,
            Some(preflight(0, "x-probe", ok)),
        );
        let comma = x(
            1_000,
            "POST",
            &[("Origin", PAGE), ("Content-Type", "text/plain;a=b,c")],
            Some((200, &[ACAO])),
        );
        let (d, notes) = decide(
            std::slice::from_ref(&probe),
            &flow(comma, true, None),
            Firefox,
            Chromium,
        );
        assert_eq!(d, Decision::Allowed);
        assert!(
            notes[0].contains("allows this method and these headers"),
            "{notes:?}"
        );
        let hint = x(
            1_000,
            "POST",
            &[("Origin", PAGE), ("DPR", "2")],
            Some((200, &[ACAO])),
        );
        let (d, _) = decide(&[probe], &flow(hint, true, None), Firefox, Chromium);
        assert!(
            matches!(
                d,
                Decision::Undecidable(Missing::PreflightNotSentByRecorder { .. })
            ),
            "{d:?}"
        );
    }

    /// The README sample (`samples/why-only-in-safari.har`): Chromium's preflight for
    /// `Range: Bytes=0-1023` failed, so the request was never sent; Safari sends it without a
    /// preflight, and the same URL reflected the origin on its earlier response: allowed. Mixed
    /// earlier answers decide nothing.
    #[test]
    fn a_request_only_safari_sends_is_judged_by_earlier_responses() {
        let plain = flow(
            x(
                0,
                "GET",
                &[("Origin", PAGE), ("Range", "bytes=0-1")],
                Some((200, &[ACAO])),
            ),
            true,
            None,
        );
        let pf_req = [
            ("Origin", PAGE),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "range"),
        ];
        let pf = x(1_000, "OPTIONS", &pf_req, Some((405, &[])));
        // A captured preflight that was never followed: the request rebuilt without headers
        // but `Origin`, the value hidden; as a HAR shows it, with its headers.
        let mut upper = x(
            1_000,
            "GET",
            &[("Origin", PAGE), ("Range", "Bytes=0-1")],
            None,
        );
        upper.flavour = Flavour::DevTools;
        upper.evidence = crate::model::Evidence::of_flavour(Flavour::DevTools);
        let f = flow(upper, true, Some(pf));
        let (d, notes) = decide(std::slice::from_ref(&plain), &f, Safari, Chromium);
        assert_eq!(d, Decision::Allowed, "{notes:?}");
        assert!(
            notes[0].contains("without the preflight Chromium sent"),
            "{notes:?}"
        );
        assert!(matches!(
            decide(&[], &f, Safari, Chromium).0,
            Decision::Undecidable(Missing::Response { .. })
        ));
        let none = flow(
            x(500, "GET", &[("Origin", PAGE)], Some((200, &[]))),
            true,
            None,
        );
        let (d, _) = decide(&[plain, none], &f, Safari, Chromium);
        assert!(
            matches!(d, Decision::Undecidable(Missing::Response { .. })),
            "mixed: {d:?}"
        );
    }

    /// A captured preflight whose request never followed hides the value (rg-i64max: Chromium
    /// refuses `bytes=9223372036854775807-`, Firefox does not): a GET whose only unsafe header
    /// is that one may need no preflight in Firefox, so it stays open; a PUT still needs one,
    /// and an answer that fails whatever is asked decides it.
    #[test]
    fn a_hidden_value_is_open_unless_the_answer_fails_regardless() {
        let pf = |method: &str, status| {
            let req = [
                ("Origin", PAGE),
                ("Access-Control-Request-Method", method),
                ("Access-Control-Request-Headers", "range"),
            ];
            x(0, "OPTIONS", &req, Some((status, &[][..])))
        };
        let get = flow(
            x(0, "GET", &[("Origin", PAGE)], None),
            false,
            Some(pf("GET", 405)),
        );
        let (d, _) = decide(&[], &get, Firefox, Chromium);
        assert!(
            matches!(d, Decision::Undecidable(Missing::ValueNotVisible { .. })),
            "{d:?}"
        );
        let put = flow(
            x(0, "PUT", &[("Origin", PAGE)], None),
            false,
            Some(pf("PUT", 405)),
        );
        let (d, _) = decide(&[], &put, Firefox, Chromium);
        assert!(
            matches!(d, Decision::Blocked(ref b) if b.failure == Failure::AllowOriginMissing),
            "{d:?}"
        );
        // Safari reads Accept as Chromium does: nothing is hidden from it.
        let acc = {
            let req = [
                ("Origin", PAGE),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "accept"),
            ];
            flow(
                x(0, "GET", &[("Origin", PAGE)], None),
                false,
                Some(x(0, "OPTIONS", &req, Some((405, &[])))),
            )
        };
        assert!(matches!(
            decide(&[], &acc, Safari, Chromium).0,
            Decision::Blocked(_)
        ));
    }
}
