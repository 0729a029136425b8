//! Each browser's own reading of a response head, before its CORS checks: the header list the
//! input shows, adjusted by the browser's [`HeadRules`] for what the head's raw form showed
//! (`headsyntax::HeadSyntax`); or the network failure the browser makes of it; or unknown where
//! the input cannot tell.
//!
//! Rules the three browsers share (confirmed by the same probe recordings as the profile's,
//! `tests/data/probe-parse`), applied where the head is read (`headsyntax`):
//! - an obs-fold continuation line is joined to the line before with one space (p-fold-*);
//! - a line without a colon, with an empty name or with non-token bytes in the name is dropped,
//!   and the response still loads (p-no-colon*, p-empty-name, p-nontoken-name, p-space-in-name);
//! - a NUL byte anywhere in the head fails the response (p-nul-*): [`HeadRules::nul_in_head`];
//! - a control byte such as 0x01 stays part of the value (p-ctl-acao).

use std::borrow::Cow;

use super::browser::{Browser, HeadRules};
use crate::model::headsyntax::HeadSyntax;
use crate::model::{Exchange, Headers};

/// Why a browser's reading of a head is not a header list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HeadProblem {
    /// The browser fails the response before any CORS check: a network error.
    Fails(String),
    /// The input cannot show how the browser reads it: what was seen and what would decide it.
    Unknown(String),
}

/// The headers `browser` reads from this exchange's response. `recorder` made the input: a
/// HAR's list is already its reading.
pub(crate) fn view(
    browser: Browser,
    recorder: Browser,
    ex: &Exchange,
) -> Result<Cow<'_, Headers>, HeadProblem> {
    let listed = ex.response.as_ref().map(|r| &r.headers);
    let Some(h) = ex.evidence.head.as_deref() else {
        return Ok(listed.map_or_else(|| Cow::Owned(Headers::new()), Cow::Borrowed));
    };
    if let (true, Some(l)) = (ex.evidence.headers_as_read && browser == recorder, listed) {
        return Ok(Cow::Borrowed(l));
    }
    let rules = browser.profile().head;
    if let Some(problem) = size_and_bytes(browser, &rules, h) {
        return Err(problem);
    }
    let Some(listed) = listed else {
        // The head was cut by corscope (`--max-head-bytes`) and its lines were not kept.
        return Err(HeadProblem::Unknown(format!(
            "the response head ({}{} bytes) is longer than corscope keeps (--max-head-bytes) and {browser} accepts heads of that size: a larger limit would show its headers",
            if h.bytes_at_least { "at least " } else { "" },
            h.bytes.unwrap_or(0)
        )));
    };
    if let Some(extra) = h.unexplained_bytes.filter(|b| *b != 0) {
        let recorder_keeps = recorder.profile().head.keeps_space_before_colon;
        let cors_listed = listed
            .iter()
            .any(|(n, _)| n.len() > 15 && n[..15].eq_ignore_ascii_case(b"access-control-"));
        if recorder_keeps != rules.keeps_space_before_colon && (cors_listed || !recorder_keeps) {
            let (keeps, drops) = if recorder_keeps {
                (recorder, browser)
            } else {
                (browser, recorder)
            };
            return Err(HeadProblem::Unknown(format!(
                "the HAR's headersSize is {extra:+} bytes off what the listed headers need written plainly, so some raw line is not shown as sent (or the reader dropped a value longer than --max-string-bytes): a line such as `Access-Control-Allow-Origin : …` (whitespace before the colon) is read by {keeps} and dropped by {drops}; a capture of the response would decide it"
            )));
        }
    }
    if h.space_before_colon.is_empty() || rules.keeps_space_before_colon {
        return Ok(Cow::Borrowed(listed));
    }
    let mut own = Headers::with_capacity(listed.len(), listed.byte_len());
    for (i, (n, v)) in listed.iter().enumerate() {
        if !h.space_before_colon.contains(&(i as u32)) {
            own.push(n, v);
        }
    }
    Ok(Cow::Owned(own))
}

/// Failures and unknowns that the head's size and bytes decide, before its lines.
fn size_and_bytes(browser: Browser, rules: &HeadRules, h: &HeadSyntax) -> Option<HeadProblem> {
    if h.nul {
        return Some(HeadProblem::Fails(format!(
            "the response head holds a NUL byte: {browser} fails the response ({}), a network error, not a CORS decision",
            rules.nul_in_head
        )));
    }
    if let Some(bytes) = h.bytes {
        let at_least = if h.bytes_at_least { "at least " } else { "" };
        if bytes >= rules.min_head_rejected {
            return Some(HeadProblem::Fails(format!(
                "the response head is {at_least}{bytes} bytes, over {browser}'s limit (it fails {} bytes and more): {}, a network error, not a CORS decision",
                rules.min_head_rejected, rules.head_too_big
            )));
        }
        if bytes > rules.max_head_accepted {
            return Some(HeadProblem::Unknown(format!(
                "the response head is {at_least}{bytes} bytes, between the largest {browser} was seen to accept ({}) and the smallest seen to fail ({}): a recording at this size would decide it",
                rules.max_head_accepted, rules.min_head_rejected
            )));
        }
    }
    if h.bare_cr {
        return Some(HeadProblem::Unknown(format!(
            "a response header line holds a CR that does not end it: where {browser} splits such a line is not confirmed (a recording of such a response in {browser} would decide it)"
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::browser::ALL_BROWSERS;
    use crate::model::headsyntax::{scan_response_head, LARGE_HEAD};
    use crate::model::{test_exchange, Flavour};
    use Browser::*;

    const ACAO: &str = "Access-Control-Allow-Origin";

    /// An exchange whose response head is `lines`, read as the capture reader reads it.
    fn captured(lines: &[&str]) -> Exchange {
        let head = format!("HTTP/1.1 200 OK\r\n{}\r\n\r\n", lines.join("\r\n"));
        let mut ex = test_exchange(
            Flavour::Capture,
            "GET",
            "http://b/",
            &[],
            Some((200, &[])),
            None,
        );
        if let Some(s) = scan_response_head(head.as_bytes()) {
            ex.response.as_mut().unwrap().headers = s.headers;
            ex.evidence.head = Some(Box::new(s.syntax));
        } else {
            let h: Headers = lines.iter().filter_map(|l| l.split_once(':')).collect();
            ex.response.as_mut().unwrap().headers = h;
        }
        ex
    }

    fn acao_lines(b: Browser, ex: &Exchange) -> Result<usize, HeadProblem> {
        view(b, Chromium, ex).map(|h| h.count(ACAO))
    }

    /// Difference `head-space-before-colon`: Chromium keeps the line, Firefox and WebKit drop it.
    #[test]
    fn difference_head_space_before_colon() {
        let cases: &[(&[&str], [usize; 3])] = &[
            (&["Access-Control-Allow-Origin : http://a"], [1, 0, 0]),
            (&["Access-Control-Allow-Origin\t: http://a"], [1, 0, 0]),
            (
                &[
                    "Access-Control-Allow-Origin: http://a",
                    "Access-Control-Allow-Origin : http://a",
                ],
                [2, 1, 1],
            ),
            // Shared rules: a fold is joined, garbage lines are dropped by all.
            (&["Access-Control-Allow-Origin:", " http://a"], [1, 1, 1]),
            (
                &[
                    "Garbage",
                    "X(Bad): 1",
                    "Access-Control-Allow-Origin: http://a",
                ],
                [1, 1, 1],
            ),
            (&["Access-Control-Allow-Origin http://a"], [0, 0, 0]),
        ];
        for (lines, want) in cases {
            let ex = captured(lines);
            for (b, w) in ALL_BROWSERS.iter().zip(want) {
                assert_eq!(acao_lines(*b, &ex), Ok(*w), "{b:?} {lines:?}");
            }
        }
    }

    /// Difference `head-size-limit`: each browser's band, and the NUL byte all three fail on.
    #[test]
    fn difference_head_size_limit() {
        let sized = |bytes: u64| {
            let mut ex = captured(&["Access-Control-Allow-Origin: http://a"]);
            ex.evidence.head = Some(Box::new(HeadSyntax {
                bytes: Some(bytes),
                ..HeadSyntax::default()
            }));
            ex
        };
        let kind = |r: Result<usize, HeadProblem>| match r {
            Ok(_) => 'o',
            Err(HeadProblem::Fails(_)) => 'F',
            Err(HeadProblem::Unknown(_)) => '?',
        };
        let cases: &[(u64, [char; 3])] = &[
            (65_537, ['o', 'o', 'o']),
            (65_580, ['o', 'o', '?']),
            (65_600, ['o', 'o', 'F']),
            (262_144, ['o', 'o', 'F']),
            (262_150, ['?', 'o', 'F']),
            (262_179, ['F', 'o', 'F']),
            (393_216, ['F', 'o', 'F']),
            (393_716, ['F', 'F', 'F']),
        ];
        for (bytes, want) in cases {
            let ex = sized(*bytes);
            let got: Vec<char> = ALL_BROWSERS
                .iter()
                .map(|b| kind(acao_lines(*b, &ex)))
                .collect();
            assert_eq!(got, want, "{bytes}");
        }
        let nul = captured(&["X: a\0b", "Access-Control-Allow-Origin: http://a"]);
        for b in ALL_BROWSERS {
            assert!(matches!(
                view(b, Chromium, &nul),
                Err(HeadProblem::Fails(_))
            ));
        }
    }

    #[test]
    fn large_head_evidence_starts_below_every_limit() {
        for b in ALL_BROWSERS {
            assert!(LARGE_HEAD < b.profile().head.max_head_accepted, "{b:?}");
            let r = b.profile().head;
            assert!(r.max_head_accepted < r.min_head_rejected, "{b:?}");
        }
    }

    #[test]
    fn har_size_evidence_makes_only_the_disagreeing_browsers_unknown() {
        let mut ex = test_exchange(
            Flavour::DevTools,
            "GET",
            "http://b/",
            &[],
            Some((200, &[(ACAO, "http://a")])),
            None,
        );
        ex.evidence.head = Some(Box::new(HeadSyntax {
            bytes: Some(300),
            unexplained_bytes: Some(1),
            ..HeadSyntax::default()
        }));
        assert!(view(Chromium, Chromium, &ex).is_ok());
        assert!(matches!(
            view(Firefox, Chromium, &ex),
            Err(HeadProblem::Unknown(_))
        ));
        assert!(matches!(
            view(Safari, Chromium, &ex),
            Err(HeadProblem::Unknown(_))
        ));
        // Firefox and WebKit read such lines alike: a Firefox HAR decides WebKit.
        assert!(view(Safari, Firefox, &ex).is_ok());
        assert!(matches!(
            view(Chromium, Firefox, &ex),
            Err(HeadProblem::Unknown(_))
        ));
        // Without CORS headers listed, a line Chromium kept and the others drop is no CORS one.
        ex.response.as_mut().unwrap().headers = Headers::new();
        assert!(view(Firefox, Chromium, &ex).is_ok());
    }
}
