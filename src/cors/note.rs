//! The notes a verdict carries (why it is unknown, how the evidence was read): typed values,
//! each kind worded once here, rendered by the report.

use std::fmt;

use super::browser::Browser;
use super::engine::{Missing, NotCors};
use super::resolve::{describe_missing, Credentials};
use crate::model::EndedBy;

/// One note on a browser's verdict. A verdict's notes read in order, joined by `; `.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// The client's own doubt (`fingerprint::doubt`): a tool, or an unidentified client.
    Client(String),
    /// A WebSocket handshake recognised by its scheme, Upgrade, resource type or `101`.
    WebSocketTraffic,
    /// A browser extension's own request; `source` is the extension's origin.
    ExtensionTraffic {
        source: String,
    },
    /// A same-origin request that failed at the network level.
    SameOriginNetworkFailure {
        error: String,
    },
    /// A no-cors request that failed at the network level.
    NoCorsNetworkFailure {
        error: String,
    },
    NoPageOrigin,
    /// No page origin visible, and the request's headers are not in the input: its `Origin`
    /// may be among them.
    NoPageOriginHeadersUnlisted,
    /// An entry of the request's URL has no start in an export not in time order
    /// (`Evidence::order_unknown`).
    OrderUnknown,
    /// A WebSocket opening handshake (`Upgrade`/`Sec-Fetch-Mode: websocket`, `ws:` URL).
    WebSocketHandshake,
    NoCorsRequest,
    Navigation,
    /// The browser delivered a response every CORS reading blocks.
    DeliveredOutsideCors,
    /// The engine found the flow outside CORS.
    NotCors(NotCors),
    /// The engine lacks an answer the input does not show.
    Missing(Missing),
    /// A HAR's request never followed its preflight.
    NeverFollowedPreflight,
    /// The preflight passed under every reading, but the request never followed.
    PassedButNeverFollowed,
    /// The request never followed a preflight not every reading passes (its answer missing).
    NotFollowed,
    /// A `304` answered the browser's revalidation of a stored response: the check read the
    /// stored response's headers updated with the `304`'s.
    Revalidated,
    /// The same, the stored response not in the input.
    RevalidatedStoredNotInInput,
    /// The page's service worker answered the request (`Evidence::service_worker`, with its
    /// source): its response is not checked against this request's CORS rules.
    ServedByServiceWorker {
        source: crate::model::WorkerSource,
    },
    /// The connection or HTTP/2 stream ended before any answer to the preflight (`preflight`)
    /// or the request (`Evidence::closed_unanswered`).
    ClosedUnanswered {
        preflight: bool,
        /// A browser sends the request again (`model::Closed::reused`).
        reused: bool,
        /// What ended it (`model::Closed::by`).
        by: EndedBy,
    },
    /// The input holds a browser's retry of the preflight (`preflight`) or request after an
    /// answer this browser reads as the answer (`model::Evidence::retry_after`): it would have
    /// stopped there.
    RetryWouldStop {
        preflight: bool,
        by: EndedBy,
    },
    /// A capture's request is missing after its preflight, and the capture lost packets its
    /// client sent to the server then (`Evidence::absence_may_be_loss`).
    MissingRequestMayBeLost,
    /// A capture's request is missing after its preflight, and the capture ended `after_ms`
    /// after the preflight's answer, before the request could be told absent
    /// (`Evidence::capture_ended_after`).
    MissingRequestAfterCaptureEnd {
        after_ms: i64,
    },
    /// A request is missing after its preflight, and an earlier response to its URL may still
    /// have been fresh in the browser's HTTP cache (`Absence::MaybeCached`).
    MissingRequestMayBeCached,
    /// The browser reported `error`, and no reading explains which check failed.
    ReportedUnexplained {
        error: String,
    },
    /// The evidence leaves one credentials mode.
    CredentialsDeduced {
        mode: Credentials,
        /// The request followed its preflight (else: only that mode explains the failure).
        by_preflight: bool,
    },
    /// chrome-har dropped the request: the reason shown is the visible responses' reading.
    DroppedReasonShown,
    /// chrome-har dropped the request and no visible response explains it.
    DroppedCheckUnknown,
    /// The readings disagree and the credentials mode is not visible.
    CredentialsNotVisible {
        alternatives: Vec<Alternative>,
    },
    /// An earlier response to the URL, still fresh and stored without `Vary: Origin`, allows
    /// only `allowed` (empty: no origin): a browser that answered the request from its HTTP
    /// cache fails the CORS check, where `recorder` went to the server.
    MayUseCachedAnswer {
        browser: Browser,
        recorder: Browser,
        allowed: String,
    },
    /// `browser` sends the same requests as `recorder`, so it met the same answer.
    SameRequestsAs {
        browser: Browser,
        recorder: Browser,
    },
    /// Firefox names a network error like a CORS one.
    FirefoxNetworkError {
        error: String,
        reason: Option<&'static str>,
        message: String,
    },
    /// The recorder's outcome contradicts the rules, which then decide no other browser.
    Contradicted {
        recorder: Browser,
        browser: Browser,
    },
    /// Blocked only if the ambiguous request was in cors mode.
    BlockedIfCorsMode {
        reason: Option<&'static str>,
    },
    /// Blocked only if the page fetched the font it got: this browser loads `@font-face`
    /// fonts without CORS.
    BlockedUnlessFontLoad {
        reason: Option<&'static str>,
    },
    /// `recorder` loaded a font without CORS; as an `@font-face` load this browser would have
    /// used CORS, and the answer to its `Origin` is not in the input.
    CorsIfFontLoad {
        recorder: Browser,
    },
    /// Blocked only if a browser sent it; `doubt` says why the client is in doubt.
    BlockedIfBrowser {
        reason: Option<&'static str>,
        doubt: Option<String>,
    },
    /// A problem verdict no rule explained.
    Undecided,
    /// Not credentialed: the jar held a same-site cookie that was not sent.
    CookieJar,
    /// Credentials mode read from a connection that carried a Cookie.
    ConnectionCarriedCookie,
    /// Credentials mode read from a connection that carried a preflight.
    ConnectionCarriedPreflight,
    /// The rules predict `reason` but the browser delivered the response.
    RulesPredictBlock {
        reason: Option<&'static str>,
    },
    /// The browser reported a CORS failure the visible headers do not explain.
    UnexplainedFailure,
    /// A network or client failure (`error`), not a CORS decision.
    NetworkOrClientFailure {
        error: String,
    },
    /// How a request only this browser would have sent was decided from the server's earlier
    /// answers (`counterfactual`); the engine words it.
    Counterfactual(String),
}

/// One reading of an open credentials mode, as the note lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alternative {
    pub include: bool,
    pub outcome: AlternativeOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlternativeOutcome {
    Allowed,
    /// Blocked, with the name the browser gives the block.
    Blocked(String),
    NotCors,
    Undecidable(Missing),
}

/// The notes as one text, in order, joined by `; `; `None` without any (the tests' reference:
/// a record writes its notes in place, `report::record_notes`).
#[cfg(test)]
pub(crate) fn join(notes: &[Note]) -> Option<String> {
    (!notes.is_empty()).then(|| {
        notes
            .iter()
            .map(Note::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

impl fmt::Display for Alternative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = if self.include {
            "with credentials"
        } else {
            "without credentials"
        };
        match &self.outcome {
            AlternativeOutcome::Allowed => write!(f, "allowed {who}"),
            AlternativeOutcome::Blocked(name) => write!(f, "blocked {who} ({name})"),
            AlternativeOutcome::NotCors => write!(f, "not CORS {who}"),
            AlternativeOutcome::Undecidable(m) => {
                write!(f, "undecidable {who} ({})", describe_missing(m))
            }
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Client(doubt) => f.write_str(doubt),
            Note::WebSocketTraffic => f.write_str("a WebSocket handshake: the browser sends Origin and the server decides whether to accept it; CORS does not apply"),
            Note::ExtensionTraffic { source } => write!(f, "browser extension traffic ({source}): an extension with host permissions for the target is not CORS-checked, so the page's CORS rules do not decide it"),
            Note::SameOriginNetworkFailure { error } => write!(f, "same-origin request that failed at the network level ({error}): not a CORS matter"),
            Note::NoCorsNetworkFailure { error } => write!(f, "no-cors request that failed at the network level ({error}): not a CORS matter"),
            Note::NoPageOrigin => f.write_str("no page origin is visible (no Origin, Referer or page URL)"),
            Note::OrderUnknown => f.write_str("an entry of this URL has no startedDateTime, in an export not in time order: whether and which preflight the request followed is not in the input; the entries' start times would decide it"),
            Note::NoPageOriginHeadersUnlisted => f.write_str("no page origin is visible (no Origin, Referer or page URL), and the input does not list the request's headers: whether it was a CORS request is undecidable without them or the page's URL"),
            Note::WebSocketHandshake => f.write_str("a WebSocket handshake: not subject to CORS (the server checks Origin itself)"),
            Note::NoCorsRequest => f.write_str("no-cors request: the browser does not check CORS; the page gets an opaque response"),
            Note::Navigation => f.write_str("a navigation, not a CORS request"),
            Note::DeliveredOutsideCors => f.write_str("the browser delivered a response that every CORS reading would block: the request was not in cors mode (no-cors, a navigation or a form)"),
            Note::NotCors(n) => f.write_str(match n {
                NotCors::SameOrigin => "same-origin request",
                NotCors::NoCors => "no-cors request",
                NotCors::Navigation => "navigation",
                NotCors::NotCorsInThisBrowser => {
                    "this browser loads fonts without CORS (no Origin is sent)"
                }
            }),
            Note::Missing(m) => f.write_str(&describe_missing(m)),
            Note::NeverFollowedPreflight => f.write_str("the request never followed its preflight (page closed, request aborted, or the export stopped)"),
            Note::MissingRequestMayBeLost => f.write_str("the request does not follow its preflight in the capture, but the capture lost or could not read what this client sent to the server then (tcp-gap, http-response-without-request, tls-encrypted, or the input cut off): it may have been sent and lost; a capture without loss on this client's connections to the server (and the TLS secrets of all of them) would decide it"),
            Note::MissingRequestAfterCaptureEnd { after_ms } => write!(f, "the request does not follow its preflight in the capture, but the capture ends {after_ms} ms after the preflight's answer, and a browser may send the request later than that (on a new connection, after its handshakes): it may have been sent after the capture stopped (a capture rotated by size, or stopped just then); a capture running on after it, or the next rotated file, would decide it"),
            Note::MissingRequestMayBeCached => f.write_str("the request does not follow its preflight, but an earlier response to its URL may still have been fresh in the browser's HTTP cache, which answers the request without the network (browsers send the preflight and then take the cached response); whether the cache answered it is not in the input"),
            Note::PassedButNeverFollowed => f.write_str("the preflight passed under every reading, but the request never followed (page closed, request aborted, or the capture ended)"),
            Note::NotFollowed => f.write_str("the request never followed its preflight"),
            Note::Revalidated => f.write_str("the 304 answered the browser's revalidation of the response its HTTP cache stored: the CORS check read the stored response's headers updated with the 304's (a 304 without Access-Control-Allow-Origin keeps the stored one's)"),
            Note::RevalidatedStoredNotInInput => f.write_str("the 304 answered the browser's revalidation of the response its HTTP cache stored: the CORS check reads the stored response's headers updated with the 304's, and the stored response is not in the input (recorded before it began); that response, or Access-Control-Allow-Origin on the 304, would decide it"),
            Note::ServedByServiceWorker { source } => {
                f.write_str("the page's service worker answered the request")?;
                use crate::model::WorkerSource as W;
                let how = match source {
                    W::Built => Some("a response the worker's code built"),
                    W::Network => Some("from its own request to the server"),
                    W::CacheStorage => Some("from its Cache Storage"),
                    W::HttpCache => Some("from the HTTP cache"),
                    W::Unnamed => None,
                };
                if let Some(how) = how {
                    write!(f, " ({how})")?;
                }
                f.write_str(": no browser checks a worker's response against this request's CORS rules (Fetch's HTTP fetch takes it as it is, failing only an opaque one), and the page got it; the server's own answer, where the worker asked for it, is the worker's own request, listed apart (DevTools lists it without a page)")
            }
            Note::RetryWouldStop { preflight, by } => {
                let what = if *preflight { "the preflight" } else { "the request" };
                match by {
                    EndedBy::ProxyAuth => write!(f, "the proxy answered the first attempt of {what} with 407 Proxy Authentication Required and the browser sent it again with the proxy's credentials; WebKit reads a 407 to a preflight as the preflight's answer (recorded: a failed preflight), so through this proxy it would fail unless the proxy let it through unasked"),
                    _ => write!(f, "the server answered the first attempt of {what} with a 408 on a keep-alive connection that had carried an earlier request, and the browser sent it again; Firefox and Safari read such a 408 as the answer (recorded: a failed fetch), so whether they would fail turns on whether their own connection met it"),
                }
            }
            Note::ClosedUnanswered { preflight, by: EndedBy::Misdirected, .. } => {
                let what = if *preflight { "the preflight" } else { "the request" };
                write!(f, "the server answered {what} with 421 Misdirected Request, which every browser takes for a request to send again rather than an answer (Chromium and Firefox on a new connection, WebKit on the same one; recorded) and the next answer decides; no such retry is in the input")
            }
            Note::ClosedUnanswered { preflight, by: EndedBy::ProxyAuth, .. } => {
                let what = if *preflight { "the preflight" } else { "the request" };
                write!(f, "the proxy answered {what} with 407 Proxy Authentication Required, which Chromium and Firefox answer with the proxy's credentials, sending the request again (Chromium on the same connection; recorded), the next answer deciding, where WebKit reads one to a preflight as the preflight's answer (recorded); no such retry is in the input")
            }
            Note::ClosedUnanswered { preflight, by: EndedBy::Timeout, .. } => {
                let what = if *preflight { "the preflight" } else { "the request" };
                write!(f, "the server answered {what} only with a 408 on a connection that had carried an earlier request: an idle keep-alive connection's timeout notice, which Chromium takes for the connection's end (it sends the request again on a new one) and Firefox and Safari for the answer (a failed fetch); no retry is in the input")
            }
            Note::ClosedUnanswered { preflight, reused, .. } => {
                let what = if *preflight { "the preflight" } else { "the request" };
                write!(f, "no answer to {what} came before its connection or stream ended (a reset, a GOAWAY, or the server closing it): the browser got none")?;
                if *reused {
                    f.write_str(", and sends such a request again at once (when the server closed a keep-alive connection that had carried an earlier request or had sat idle before it, or refused the stream); no such retry is in the input")
                } else {
                    f.write_str(" (a browser sends a request again only after a keep-alive connection that had carried an earlier request closed (Chromium and Firefox also one that had sat idle before it), or a stream the server refused; this was neither)")
                }
            }
            Note::ReportedUnexplained { error } => write!(f, "the browser reported {error}, but the input does not show which check failed"),
            Note::CredentialsDeduced { mode, by_preflight: true } => write!(f, "credentials mode deduced as '{}': the request followed its preflight, which only passes that way", mode.as_str()),
            Note::CredentialsDeduced { mode, by_preflight: false } => write!(f, "credentials mode deduced as '{}': only a credentialed request explains the failure", mode.as_str()),
            Note::DroppedReasonShown => f.write_str("chrome-har leaves blocked requests out: the reason shown is the one the visible responses explain; a check on a response the export dropped may have failed instead"),
            Note::DroppedCheckUnknown => f.write_str("chrome-har leaves blocked requests out of the export: this one was blocked, but the check that failed (preflight or actual response) is not in the file"),
            Note::CredentialsNotVisible { alternatives } => {
                f.write_str("the credentials mode is not visible: ")?;
                for (i, a) in alternatives.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{a}")?;
                }
                Ok(())
            }
            Note::MayUseCachedAnswer { browser, recorder, allowed } => write!(f, "{browser} may have answered this request from its HTTP cache: an earlier response to the URL, still fresh and stored without `Vary: Origin`, allows {}, which fails this origin's CORS check; {recorder} sent the request to the server instead (its cache disabled or partitioned otherwise), so whether {browser} would have is not in the input. Fix: `Vary: Origin` on responses that reflect or allow-list the Origin", if allowed.is_empty() { "no origin".to_owned() } else { format!("only {allowed}") }),
            Note::SameRequestsAs { browser, recorder } => write!(f, "{browser} would send the same requests as {recorder}, which the server answered the same way; the input does not show which check decided it"),
            Note::FirefoxNetworkError { error, reason, message } => write!(f, "{error}: a network failure, not a CORS decision; Firefox's console reports it as {} (\"{message}\") all the same", reason.unwrap_or("a CORS error")),
            Note::Contradicted { recorder, browser } => write!(f, "{recorder}'s own outcome in the input contradicts the rules on these headers, so they do not decide {browser} either"),
            Note::BlockedIfCorsMode { reason } => write!(f, "blocked ({}) if the page sent it in cors mode; a no-cors request (sendBeacon, `<form>`, `mode: 'no-cors'`) is not checked, and nothing on the wire tells them apart", reason.unwrap_or("CORS")),
            Note::BlockedUnlessFontLoad { reason } => write!(f, "blocked ({}) if the page fetched it; the response is a font, and this browser loads `@font-face` fonts without CORS (a font load is not checked), and nothing on the wire tells them apart", reason.unwrap_or("CORS")),
            Note::CorsIfFontLoad { recorder } => write!(f, "the response is a font that {} loaded without CORS; as an `@font-face` load this browser would have sent `Origin` and read the answer's Access-Control-Allow-Origin, which the input does not show", recorder.name()),
            Note::BlockedIfBrowser { reason, doubt } => write!(f, "{} if a browser sent it; {}, and a client that is not a browser is not checked", reason.unwrap_or("blocked"), doubt.as_deref().unwrap_or_default()),
            Note::Undecided => f.write_str("the input does not show the answer that decides it: the preflight or the response is not in the export (exported with a filter, or cached before recording started)"),
            Note::CookieJar => f.write_str("not credentialed: the browser held a same-site cookie for this host (set earlier in the input) and did not send it"),
            Note::ConnectionCarriedCookie => f.write_str("credentials mode read from the connection: it carried a Cookie, and Chromium and Firefox never send an uncredentialed request on such a connection"),
            Note::ConnectionCarriedPreflight => f.write_str("credentials mode read from the connection: it also carried a CORS preflight, and Chromium and Firefox send those and uncredentialed requests on connections of their own (unless cookies are blocked for the site)"),
            Note::RulesPredictBlock { reason } => write!(f, "the rules predict {} but the browser delivered the response; the request was probably not in cors mode", reason.unwrap_or("a block")),
            Note::UnexplainedFailure => f.write_str("the browser reported a failure that the visible headers do not explain (a cached preflight or a header the export left out)"),
            Note::NetworkOrClientFailure { error } => write!(f, "{error}: a network or client failure, not a CORS decision"),
            Note::Counterfactual(how) => f.write_str(how),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verdict's notes read in order; an open credentials mode lists each reading.
    #[test]
    fn notes_render_in_order() {
        assert_eq!(join(&[]), None);
        let open = Note::CredentialsNotVisible {
            alternatives: vec![
                Alternative {
                    include: false,
                    outcome: AlternativeOutcome::Allowed,
                },
                Alternative {
                    include: true,
                    outcome: AlternativeOutcome::Blocked("CORSNotSupportingCredentials".into()),
                },
            ],
        };
        assert_eq!(
            join(&[open, Note::ConnectionCarriedCookie]).unwrap(),
            "the credentials mode is not visible: allowed without credentials; blocked with credentials (CORSNotSupportingCredentials); credentials mode read from the connection: it carried a Cookie, and Chromium and Firefox never send an uncredentialed request on such a connection"
        );
        let deduced = Note::CredentialsDeduced {
            mode: Credentials::Omit,
            by_preflight: true,
        };
        assert!(deduced
            .to_string()
            .starts_with("credentials mode deduced as 'omit'"));
    }
}
