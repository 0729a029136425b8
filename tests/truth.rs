//! Runs the `corscope` binary on the Chromium recordings (copied from the corpus into
//! `tests/data/chromium/`) and checks every scenario's verdict and reason against what the real
//! browser decided (`truth.json`), matching records by route, origin and order as the project's
//! scorer does.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;

/// Every record of `file`, as the project's scorer reads them (`--all`: not-cors ones too).
fn records(file: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(["analyze", file, "--format", "ndjson", "--all"])
        .output()
        .expect("corscope runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON record"))
        .collect()
}

fn route(url: &str) -> Option<String> {
    let i = url.find("/s/")? + 3;
    let rest = &url[i..];
    Some(rest[..rest.find('/')?].to_owned())
}

/// Verdicts that contradict the browser (blocked vs not blocked; `unknown` is not counted).
fn wrong(bad: &[String]) -> Vec<&String> {
    bad.iter()
        .filter(|b| {
            (b.contains("want blocked")
                && !b.contains("got blocked")
                && !b.contains("got unknown")
                && !b.contains("got -"))
                || (!b.contains("want blocked") && b.contains("got blocked"))
        })
        .collect()
}

/// (verdict ok, reason ok, scenarios) for one file, with the mismatches listed.
fn score(
    file: &str,
    truth_file: &str,
    verdict_field: &str,
    reason_field: &str,
    want_field: &str,
) -> (usize, usize, usize, Vec<String>) {
    let truth: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(truth_file).unwrap()).unwrap();
    let dir = std::path::Path::new(truth_file).parent().unwrap();
    let chromium: HashMap<String, Value> = serde_json::from_str::<Vec<Value>>(
        &std::fs::read_to_string(dir.join("truth.json")).unwrap(),
    )
    .unwrap()
    .into_iter()
    .map(|t| (t["id"].as_str().unwrap().to_owned(), t))
    .collect();
    let recs = records(file);
    let mut by_route: HashMap<(String, String), Vec<&Value>> = HashMap::new();
    for r in &recs {
        if let (Some(rt), Some(o)) = (route(r["url"].as_str().unwrap_or("")), r["origin"].as_str())
        {
            by_route.entry((rt, o.to_owned())).or_default().push(r);
        }
    }
    // In time order, as the project's scorer lines them up with the scenarios of a route.
    for recs in by_route.values_mut() {
        recs.sort_by_key(|r| {
            (
                r["time"].as_str().unwrap_or("").to_owned(),
                r["index"].as_u64(),
            )
        });
    }
    let mut groups: HashMap<(String, String), Vec<&Value>> = HashMap::new();
    for t in &truth {
        let id = t["id"].as_str().unwrap();
        let ids = &chromium[id]["request_ids"];
        if ids.as_array().is_none_or(|a| a.is_empty())
            && t["server_saw"].as_array().is_none_or(|a| a.is_empty())
        {
            continue;
        }
        let key = (
            route(t["url"].as_str().unwrap()).unwrap(),
            t["page_origin"].as_str().unwrap().to_owned(),
        );
        groups.entry(key).or_default().push(t);
    }
    // Scenarios of one route in the order Chromium made their requests (its request ids).
    let made = |t: &&Value| -> f64 {
        chromium[t["id"].as_str().unwrap()]["request_ids"]
            .get(0)
            .and_then(Value::as_str)
            .and_then(|id| id.rsplit('.').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let (mut n, mut v_ok, mut r_ok, mut bad) = (0, 0, 0, Vec::new());
    for (key, mut scen) in groups {
        scen.sort_by(|a, b| made(a).total_cmp(&made(b)));
        let recs = by_route.get(&key).cloned().unwrap_or_default();
        for (i, t) in scen.iter().enumerate() {
            n += 1;
            let want = t["outcome"].as_str().unwrap();
            let rec = if scen.len() == 1 {
                recs.first()
            } else {
                recs.get(i)
            };
            let got = rec
                .map(|r| r[verdict_field].as_str().unwrap_or("").to_owned())
                .unwrap_or_else(|| "-".into());
            let verdict_match = match want {
                "blocked" => got == "blocked",
                _ => got != "blocked" && got != "unknown",
            };
            if verdict_match {
                v_ok += 1;
                let reason = rec.and_then(|r| r[reason_field].as_str());
                if want != "blocked" || reason == t[want_field].as_str() {
                    r_ok += 1;
                    continue;
                }
            }
            bad.push(format!(
                "{}: want {want}/{:?} got {got}/{:?}",
                t["id"],
                t[want_field],
                rec.map(|r| &r[reason_field])
            ));
        }
    }
    (v_ok, r_ok, n, bad)
}

/// Each browser's truth file in a probe recording, with the record's verdict and reason fields
/// and the truth's reason field: (truth, verdict, reason, truth reason).
const BROWSER_TRUTHS: [(&str, &str, &str, &str); 3] = [
    ("truth.json", "verdict", "reason", "cors_error"),
    (
        "truth-firefox.json",
        "firefox_verdict",
        "firefox_reason",
        "firefox_reason",
    ),
    (
        "truth-webkit.json",
        "safari_verdict",
        "safari_reason",
        "webkit_reason",
    ),
];

/// Scores `input` against one browser's truth file of a probe recording (a row of
/// `BROWSER_TRUTHS`), failing on any wrong verdict: (right verdicts, right reasons, scenarios,
/// the records that are not right).
fn score_without_wrong(
    input: &str,
    truth_file: &str,
    (truth, verdict, reason, field): (&str, &str, &str, &str),
) -> (usize, usize, usize, Vec<String>) {
    let (v, r, n, bad) = score(input, truth_file, verdict, reason, field);
    assert!(
        wrong(&bad).is_empty(),
        "{input} vs {truth}: {:#?}",
        wrong(&bad)
    );
    (v, r, n, bad)
}

/// What a recording must give: per input, the fewest verdicts right for each browser (in
/// [`BROWSER_TRUTHS`]' order), never one that contradicts a browser.
type Minimums<'a> = &'a [(&'a str, [usize; 3])];

/// Scores every input of the probe recording in `dir` against its three truths
/// ([`Minimums`]); `scenarios`: how many each must see; `exact`: inputs that must also give
/// every reason.
fn score_recording(dir: &str, inputs: Minimums, scenarios: Option<usize>, exact: &[&str]) {
    for &(input, mins) in inputs {
        for (row, min) in BROWSER_TRUTHS.into_iter().zip(mins) {
            let truth = row.0;
            let (v, r, n, bad) =
                score_without_wrong(&format!("{dir}/{input}"), &format!("{dir}/{truth}"), row);
            if let Some(want) = scenarios {
                assert_eq!(n, want, "{input} vs {truth}");
            }
            assert!(v >= min, "{input} vs {truth}: {v}/{n}: {bad:#?}");
            if exact.contains(&input) {
                assert_eq!((v, r), (n, n), "{input} vs {truth}: {bad:#?}");
            }
        }
    }
}

#[test]
fn devtools_har_matches_chromium_exactly() {
    let (v, r, n, bad) = score(
        "tests/data/chromium/devtools.har",
        "tests/data/chromium/truth.json",
        "verdict",
        "reason",
        "cors_error",
    );
    assert!(n >= 110, "{n} scenarios");
    assert_eq!((v, r), (n, n), "mismatches: {bad:#?}");
}

#[test]
fn devtools_har_matches_firefox_and_safari() {
    let (v, _, n, bad) = score(
        "tests/data/chromium/devtools.har",
        "tests/data/chromium/truth-firefox.json",
        "firefox_verdict",
        "firefox_reason",
        "firefox_reason",
    );
    // The one unknown: its ACAO line's padding shows in `headersSize` only, and whitespace
    // before the colon (dropped by Firefox and WebKit) would show the same (issue 19).
    assert_eq!(
        (v, only_padded_acao_unknown(&bad)),
        (n - 1, true),
        "firefox: {bad:#?}"
    );
    let (v, _, n, bad) = score(
        "tests/data/chromium/devtools.har",
        "tests/data/chromium/truth-webkit.json",
        "safari_verdict",
        "safari_reason",
        "webkit_reason",
    );
    assert_eq!(
        (v, only_padded_acao_unknown(&bad)),
        (n - 1, true),
        "safari: {bad:#?}"
    );
}

/// Whether the only verdict mismatch is the padded-ACAO scenario, `unknown` from a HAR.
fn only_padded_acao_unknown(bad: &[String]) -> bool {
    let verdicts: Vec<&String> = bad.iter().filter(|b| !b.contains("got blocked")).collect();
    verdicts.len() == 1
        && verdicts[0].contains("d-simple-get-acao-whitespace")
        && verdicts[0].contains("got unknown")
}

/// Playwright HARs hold no preflights and empty headers on blocked requests: every verdict must
/// match, but the reason of a blocked request is only knowable when the visible response shows
/// it. The reason count is pinned so a regression shows.
#[test]
fn playwright_har_verdicts_match() {
    for file in PLAYWRIGHT_EXPORTS {
        let (v, r, n, bad) = score(
            file,
            "tests/data/chromium/truth.json",
            "verdict",
            "reason",
            "cors_error",
        );
        assert_eq!((v, n), (112, 112), "{file}: {bad:#?}");
        assert!(r >= 49, "{file}: reasons {r}/{n}");
        // The trace also keeps Chromium's console lines: every reason the rules leave unnamed
        // comes from them.
        if file.ends_with("trace.zip") {
            assert_eq!(r, 112, "{file}: reasons {r}/{n}: {bad:#?}");
        }
    }
}

/// Playwright's exports of the corpus scenarios: its HAR (the corpus's), the same HAR zipped
/// (`recordHar` to a `.zip` path) and a trace (`tracing.start({ snapshots: true })`, whose
/// `trace.network` holds the entries), the last two recorded by the probe in Chromium 148
/// (`tests/data/chromium/README.md`).
const PLAYWRIGHT_EXPORTS: [&str; 3] = [
    "tests/data/chromium/playwright.har",
    "tests/data/chromium/playwright.har.zip",
    "tests/data/chromium/playwright-trace.zip",
];

/// On the wire the credentials mode of a plain-HTTP request is invisible, so some verdicts are
/// honestly `unknown` (with the alternatives in `note`); none may contradict the browser, and
/// every decided one must carry the browser's reason. The unknown count is pinned.
#[test]
fn captures_never_contradict_the_browsers() {
    for (file, truth, verdict, reason, want, min_ok) in [
        (
            "tests/data/captures/chromium.pcap",
            "tests/data/chromium/truth.json",
            "verdict",
            "reason",
            "cors_error",
            87,
        ),
        (
            "tests/data/captures/chromium.pcap",
            "tests/data/chromium/truth-firefox.json",
            "firefox_verdict",
            "firefox_reason",
            "firefox_reason",
            87,
        ),
        (
            "tests/data/captures/chromium.pcap",
            "tests/data/chromium/truth-webkit.json",
            "safari_verdict",
            "safari_reason",
            "webkit_reason",
            87,
        ),
        (
            "tests/data/captures/firefox.pcap",
            "tests/data/chromium/truth-firefox.json",
            "firefox_verdict",
            "firefox_reason",
            "firefox_reason",
            72,
        ),
        (
            "tests/data/captures/webkit.pcap",
            "tests/data/chromium/truth-webkit.json",
            "safari_verdict",
            "safari_reason",
            "webkit_reason",
            72,
        ),
    ] {
        let (v, r, n, bad) = score(file, truth, verdict, reason, want);
        assert!(
            wrong(&bad).is_empty(),
            "{file} vs {truth}: {:#?}",
            wrong(&bad)
        );
        assert_eq!(
            v, r,
            "{file} vs {truth}: a decided verdict has the wrong reason: {bad:#?}"
        );
        assert!(v >= min_ok, "{file} vs {truth}: {v}/{n}: {bad:#?}");
    }
}

/// Playwright keeps no preflights and no headers on failed requests: Firefox's and Safari's
/// verdicts are derived from Chromium's evidence and the visible responses.
#[test]
fn playwright_har_matches_firefox_and_safari_verdicts() {
    for (truth, verdict, reason, want) in [
        (
            "tests/data/chromium/truth-firefox.json",
            "firefox_verdict",
            "firefox_reason",
            "firefox_reason",
        ),
        (
            "tests/data/chromium/truth-webkit.json",
            "safari_verdict",
            "safari_reason",
            "webkit_reason",
        ),
    ] {
        for file in PLAYWRIGHT_EXPORTS {
            let (v, r, n, bad) = score(file, truth, verdict, reason, want);
            assert_eq!(
                (v, only_padded_acao_unknown(&bad)),
                (n - 1, true),
                "{file} vs {truth}: {bad:#?}"
            );
            assert!(r >= 48, "{file} vs {truth}: reasons {r}/{n}");
        }
    }
}

/// chrome-har drops CORS-blocked requests entirely (28 scenarios have no entry at all) and
/// mangles redirect hops' headers: whatever is present must never contradict the browser.
#[test]
fn chrome_har_never_contradicts_and_drops_only_blocked() {
    for (truth, verdict, reason, want, min_ok) in [
        (
            "tests/data/chromium/truth.json",
            "verdict",
            "reason",
            "cors_error",
            84,
        ),
        (
            "tests/data/chromium/truth-firefox.json",
            "firefox_verdict",
            "firefox_reason",
            "firefox_reason",
            // 4 fewer since issue 19: a dropped request hides the header value its preflight
            // announced, and Firefox reads some Content-Type and Range values Chromium refuses.
            76,
        ),
        (
            "tests/data/chromium/truth-webkit.json",
            "safari_verdict",
            "safari_reason",
            "webkit_reason",
            // 1 fewer since issue 19: WebKit reads some Range values Chromium refuses.
            79,
        ),
    ] {
        let (v, _, n, bad) = score(
            "tests/data/chromium/chrome-har.har",
            truth,
            verdict,
            reason,
            want,
        );
        assert!(wrong(&bad).is_empty(), "{truth}: {:#?}", wrong(&bad));
        assert!(v >= min_ok, "{truth}: {v}/{n}");
        let missing: Vec<_> = bad.iter().filter(|b| b.contains("got -")).collect();
        assert!(
            missing.iter().all(|m| m.contains("want blocked")),
            "only blocked requests are dropped: {missing:#?}"
        );
    }
}

/// The scenarios a plain-HTTP capture cannot decide, each for the reason given: the credentials
/// mode of a cross-site request is not visible in the request (a request with `credentials:
/// 'include'` and no cookie to send looks exactly like one without), and the outcome depends on
/// it; `d-nocors-post-text` could be a no-cors POST (it is) or a cors one. Chromium and Firefox
/// show the mode in the connection (one that carried a preflight is uncredentialed), which
/// decides all but the credentialed requests without a cookie; WebKit's connections mix both.
#[test]
fn capture_unknowns_are_exactly_the_invisible_ones() {
    let invisible_credentials = [
        "d-simple-get-exact-acao",
        "d-simple-get-wildcard",
        "d-simple-get-acao-whitespace",
        "d-cred-get-wildcard",
        "d-cred-get-acac-upper",
        "d-cred-omit-wildcard-acac",
        "d-simple-post-form-ok",
        "d-simple-get-http-error-with-acao",
        "d-pf-credentials-actual-no-acac",
        "d-safelist-text-plain-charset",
        "d-safelist-accept-short",
        "d-safelist-range-single",
        "d-redir-same-to-cross-ok",
        "d-redir-cross-to-cross-origin-null-reflect",
        "d-redir-cross-same-api-ok",
        "d-xhr-credentials-wildcard",
        "d-origin-reflect-get-from-page",
        "d-origin-allowlist-get-from-page",
        "d-origin-static-get-from-page",
        "d-origin-reflect-get-from-page2",
    ];
    // Credentialed requests without a cookie, on a connection without a preflight.
    let credentialed_without_cookie = [
        "d-cred-get-wildcard",
        "d-cred-get-acac-upper",
        "d-pf-credentials-actual-no-acac",
        "d-xhr-credentials-wildcard",
    ];
    let ambiguous_mode = ["d-nocors-post-text"];
    let want_of = |invisible: &[&str]| {
        let mut want: Vec<String> = invisible
            .iter()
            .chain(ambiguous_mode.iter())
            .map(|s| s.to_string())
            .collect();
        want.sort();
        want
    };
    // Preflights whose request never followed hide the header value that needed them, and the
    // judged browser safelists some values of that header the recording one refuses (issue 19:
    // `headers::may_safelist_what_recorder_refused`): Firefox takes `text/plain x;a=b` and
    // large Range positions Chromium refuses, Chromium and WebKit take a comma or non-ASCII
    // byte Firefox refuses, WebKit takes `Bytes=`. (capture, judged browser's truth, scenarios)
    let content_type = [
        "d-pf-json-acah-lacks-content-type",
        "d-safelist-json-not",
        "d-safelist-content-type-quote",
    ];
    let hidden_values: &[(&str, &str, &[&str])] = &[
        ("chromium.pcap", "truth-firefox.json", &content_type),
        (
            "chromium.pcap",
            "truth-firefox.json",
            &["d-safelist-range-multi"],
        ),
        (
            "chromium.pcap",
            "truth-webkit.json",
            &["d-safelist-range-multi"],
        ),
        ("firefox.pcap", "truth.json", &content_type),
        (
            "firefox.pcap",
            "truth.json",
            &["d-safelist-accept-unsafe-byte"],
        ),
        ("firefox.pcap", "truth-webkit.json", &content_type),
        (
            "firefox.pcap",
            "truth-webkit.json",
            &["d-safelist-accept-unsafe-byte", "d-safelist-range-multi"],
        ),
        ("webkit.pcap", "truth-firefox.json", &content_type),
    ];
    // Every browser's capture, judged for every browser: the same scenarios are undecidable,
    // and everything else is right (checked in `captures_never_contradict_the_browsers`).
    for capture in ["chromium.pcap", "firefox.pcap", "webkit.pcap"] {
        let invisible = if capture == "webkit.pcap" {
            want_of(&invisible_credentials)
        } else {
            want_of(&credentialed_without_cookie)
        };
        for (truth, verdict, reason, field) in [
            ("truth.json", "verdict", "reason", "cors_error"),
            (
                "truth-firefox.json",
                "firefox_verdict",
                "firefox_reason",
                "firefox_reason",
            ),
            (
                "truth-webkit.json",
                "safari_verdict",
                "safari_reason",
                "webkit_reason",
            ),
        ] {
            let (v, r, n, bad) = score(
                &format!("tests/data/captures/{capture}"),
                &format!("tests/data/chromium/{truth}"),
                verdict,
                reason,
                field,
            );
            let mut want = invisible.clone();
            for (c, t, ids) in hidden_values {
                if *c == capture && *t == truth {
                    want.extend(ids.iter().map(|s| s.to_string()));
                }
            }
            want.sort();
            want.dedup();
            let mut unknown: Vec<String> = bad
                .iter()
                .filter(|b| b.contains("got unknown"))
                .map(|b| b.split('"').nth(1).unwrap_or("").to_owned())
                .collect();
            unknown.sort();
            assert_eq!(unknown, want, "{capture} vs {truth}");
            assert!(wrong(&bad).is_empty(), "{capture} vs {truth}");
            assert_eq!(
                (v, r),
                (n - want.len(), n - want.len()),
                "{capture} vs {truth}: {bad:#?}"
            );
        }
    }
}

/// The novel recordings (`tests/data/novel`, see its README): every browser's verdict from every
/// input, never contradicting the browser; DevTools exact for Chromium.
#[test]
fn novel_scenarios_in_three_browsers() {
    let d = "tests/data/novel";
    let browsers = BROWSER_TRUTHS;
    // (input, minimum verdicts right per browser in the order above)
    for (input, mins) in [
        // n-tab-acao: its ACAO padding shows in `headersSize` only, so Firefox and Safari
        // are unknown from the HARs (issue 19). n-308-cross: Firefox preflights the
        // redirected hop with the page's origin, which the recorded `null` answer does not
        // decide (a reflecting server allows it: tests/data/probe-variants).
        ("devtools.har", [26, 22, 23]),
        ("playwright.har", [26, 21, 23]),
        // Chromium's and Firefox's captures show the credentials mode in the connection.
        ("capture.pcap", [25, 22, 23]),
        ("capture-firefox.pcap", [23, 25, 24]),
        ("capture-webkit.pcap", [18, 18, 19]),
    ] {
        for (row, min) in browsers.into_iter().zip(mins) {
            let truth = row.0;
            let (v, r, n, bad) =
                score_without_wrong(&format!("{d}/{input}"), &format!("{d}/{truth}"), row);
            assert!(v >= min, "{input} vs {truth}: {v}/{n}: {bad:#?}");
            if input == "devtools.har" && truth == "truth.json" {
                assert_eq!((v, r), (n, n), "{bad:#?}");
            }
        }
    }
}

/// `@font-face` loads, `sendBeacon` and requests started together (`tests/data/probe-concurrency`,
/// see its README): no input contradicts any browser, including WebKit's font loads without
/// CORS and concurrent preflights on one URL, lined up as the project's scorer lines them up.
#[test]
fn fonts_beacons_and_concurrent_requests_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har", [25, 25, 25]),
        // Playwright leaves preflights out: Firefox's and Safari's differences stay open.
        ("playwright.har", [25, 12, 15]),
        // Beacons (no-cors or cors: not on the wire) and Chromium's font loads (not told from
        // a fetch of a font over plain HTTP) stay unknown.
        ("capture.pcap", [21, 19, 19]),
        ("capture-firefox.pcap", [21, 23, 21]),
        ("capture-webkit.pcap", [20, 18, 23]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [22, 22, 22]),
    ];
    score_recording(
        "tests/data/probe-concurrency",
        inputs,
        Some(25),
        &["devtools.har"],
    );
    // The same over HTTPS and HTTP/2 (the captures carry their TLS secrets): `Sec-Fetch-Mode`
    // and `Sec-Fetch-Dest` tell beacons and font loads apart, so Chromium's capture decides
    // all 25 for Chromium and WebKit; WebKit's leaves open what its font loads without CORS
    // would have met in Chromium and Firefox.
    let inputs: Minimums = &[
        ("capture-dsb.pcapng", [25, 23, 25]),
        ("capture-dsb-webkit.pcapng", [22, 20, 25]),
        ("firefox.har.gz", [24, 24, 24]),
    ];
    score_recording("tests/data/probe-concurrency/https", inputs, Some(25), &[]);
}

/// Elements with `crossorigin`, EventSource, redirect chains, odd response framing (gzip,
/// chunked, a head in two writes, a 300 kB body, 204, 500), credentialed requests to a
/// same-site API, forms and HEAD (`tests/data/probe-elements`, see its README): no input
/// contradicts any browser; the DevTools HAR decides all 31 for each.
#[test]
fn elements_redirects_and_framing_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har.gz", [31, 31, 31]),
        ("playwright.har.gz", [31, 30, 31]),
        ("capture.pcap.gz", [27, 26, 26]),
        ("capture-firefox.pcap.gz", [22, 21, 21]),
        // WebKit sends credentialed and uncredentialed requests on one connection.
        ("capture-webkit.pcap.gz", [16, 15, 15]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [16, 16, 16]),
    ];
    score_recording(
        "tests/data/probe-elements",
        inputs,
        None,
        &["devtools.har.gz"],
    );
    // The same over HTTPS and HTTP/2: the EventSource the page closed after its message is
    // `net::ERR_ABORTED` in the export, after a response that passed the check.
    let inputs: Minimums = &[
        ("devtools.har.gz", [31, 31, 31]),
        ("firefox.har.gz", [17, 17, 17]),
    ];
    score_recording(
        "tests/data/probe-elements/https",
        inputs,
        None,
        &["devtools.har.gz"],
    );
}

/// Preflight caching (`tests/data/probe-cache`, see its README): Max-Age values each browser
/// reads its own way, entries of another header, method, page origin, query or credentials
/// mode, and a request started while an entry was being made. Every input decides every
/// scenario for every browser but what a DevTools HAR cannot show Firefox and WebKit.
#[test]
fn preflight_caching_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har.gz", [30, 29, 29]),
        ("playwright.har.gz", [30, 30, 30]),
        ("capture.pcap.gz", [30, 30, 30]),
        ("capture-firefox.pcap.gz", [30, 30, 30]),
        ("capture-webkit.pcap.gz", [30, 30, 30]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [29, 29, 29]),
    ];
    score_recording("tests/data/probe-cache", inputs, Some(30), &[]);
}

/// Odd `Access-Control-Allow-Headers` and `-Methods` lists (`tests/data/probe-lists`, see its
/// README): empty elements, quotes, separators other than commas, an empty value, a non-ASCII
/// name, method case. Every capture decides all 17 for all three browsers with their reasons.
#[test]
fn allow_lists_in_three_browsers() {
    let captures = [
        "capture.pcap.gz",
        "capture-firefox.pcap.gz",
        "capture-webkit.pcap.gz",
    ];
    let inputs: Minimums = &[
        ("devtools.har.gz", [17, 15, 15]),
        (captures[0], [17, 17, 17]),
        (captures[1], [17, 17, 17]),
        (captures[2], [17, 17, 17]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [16, 16, 16]),
    ];
    score_recording("tests/data/probe-lists", inputs, Some(17), &captures);
}

/// Cookies the browser refuses or keeps from the requests it sends (`tests/data/probe-cookies`,
/// see its README): a credentialed `ACAO: *` request after a response that set a cookie the
/// browser dropped (`SameSite=None` or `Secure` over HTTP, another domain, expired, a
/// `__Host-` name) or kept for another path is blocked however the cookie jar reads it.
#[test]
fn cookie_jar_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har.gz", [16, 16, 16]),
        ("capture.pcap.gz", [16, 16, 16]),
        ("capture-firefox.pcap.gz", [16, 16, 16]),
        // WebKit's connections mix credentialed and uncredentialed requests.
        ("capture-webkit.pcap.gz", [8, 8, 8]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [14, 14, 14]),
    ];
    score_recording("tests/data/probe-cookies", inputs, Some(16), &[]);
}

/// Variations of the corpus's families (`tests/data/probe-variants`, see its README): redirects,
/// preflight statuses, allow headers written oddly, odd methods. Firefox preflights a request
/// a redirect tainted with the page's origin, so a recorded answer to another Origin decides
/// nothing but `*`.
#[test]
fn corpus_family_variants_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har.gz", [41, 37, 38]),
        ("capture.pcap.gz", [36, 35, 36]),
        ("capture-firefox.pcap.gz", [35, 36, 35]),
        ("capture-webkit.pcap.gz", [27, 26, 27]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [27, 28, 27]),
    ];
    score_recording("tests/data/probe-variants", inputs, Some(42), &[]);
    // Over TLS + HTTP/2 (nginx in front, which passes `o-tab`'s tab on in HPACK: WebKit keeps
    // it and is blocked, difference `acao-whitespace-http2`). Chromium's DevTools export lists
    // the value trimmed with no head size over HTTP/2, so it cannot show the tab (left out).
    let inputs: Minimums = &[
        ("capture-dsb.pcapng.gz", [36, 35, 36]),
        ("capture-dsb-firefox.pcapng.gz", [26, 27, 27]),
        ("capture-dsb-webkit.pcapng.gz", [28, 27, 28]),
        ("firefox.har.gz", [27, 28, 27]),
    ];
    score_recording("tests/data/probe-variants/https", inputs, Some(42), &[]);
}

/// More variations of the corpus's families (`tests/data/probe-variants2`, see its README):
/// safelisted request headers at their limits, credentials, preflight answers written oddly,
/// redirects, no-cors and same-origin modes, a second page. A `Location` with a fragment
/// (`r-302-fragment`) leads to the URL without it. The one wrong class it found:
/// Firefox and WebKit preflight a request a preflighted one is redirected to, Chromium does not
/// (`r-301-post-json`; difference `redirect-keeps-preflight`, and its own recording below).
#[test]
fn more_corpus_family_variants_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har.gz", [49, 48, 48]),
        ("capture.pcap.gz", [45, 40, 42]),
        ("capture-firefox.pcap.gz", [41, 45, 40]),
        ("capture-webkit.pcap.gz", [33, 32, 34]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [31, 32, 32]),
        // Safari's own export (`tools/webkit_har.py`): a refusal is Safari's own word.
        ("safari.har.gz", [26, 26, 41]),
    ];
    score_recording("tests/data/probe-variants2", inputs, None, &[]);
    // Over TLS + HTTP/2 nginx answers an obs-fold and a head of 120 extra fields with its own
    // 502 (blocked in all three browsers).
    let inputs: Minimums = &[
        ("capture-dsb.pcapng.gz", [45, 41, 42]),
        ("capture-dsb-firefox.pcapng.gz", [31, 36, 30]),
        ("capture-dsb-webkit.pcapng.gz", [34, 34, 35]),
        ("firefox.har.gz", [33, 34, 34]),
    ];
    score_recording("tests/data/probe-variants2/https", inputs, None, &[]);
}

/// A preflighted request redirected (`tests/data/probe-redirect-preflight`, see its README):
/// Firefox and WebKit preflight every hop after it (WebKit announcing the body headers a `303`
/// dropped), Chromium only a hop whose own method or headers need one. From Chromium's recordings the other two are left open where the hop's
/// preflight was never asked (and the reverse where their failed preflight kept the request
/// from being sent); never decided from Chromium's getting past a hop it sent no preflight for.
#[test]
fn redirected_preflighted_requests_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har.gz", [26, 9, 10]),
        ("capture.pcap.gz", [26, 8, 10]),
        ("capture-firefox.pcap.gz", [17, 26, 20]),
        ("capture-webkit.pcap.gz", [16, 18, 24]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [16, 23, 19]),
        // Safari's own export (`tools/webkit_har.py`): no preflights, a redirect chain folded into
        // its last request; a refusal is Safari's own word, the others stay open.
        ("safari.har.gz", [0, 0, 13]),
    ];
    score_recording("tests/data/probe-redirect-preflight", inputs, Some(26), &[]);
    let inputs: Minimums = &[
        ("capture-dsb.pcapng.gz", [26, 8, 10]),
        ("capture-dsb-firefox.pcapng.gz", [15, 24, 18]),
        ("capture-dsb-webkit.pcapng.gz", [16, 18, 24]),
        ("firefox.har.gz", [16, 23, 19]),
    ];
    score_recording(
        "tests/data/probe-redirect-preflight/https",
        inputs,
        Some(26),
        &[],
    );
}

/// The origin families from two pages (`tests/data/probe-origins`, see its README):
/// allow-listing, reflecting and static servers answering the page and a page of another site,
/// credentialed and preflighted, over plain HTTP and TLS + HTTP/2. The DevTools HAR decides
/// every browser exactly.
#[test]
fn origin_families_from_two_pages_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har.gz", [24, 24, 24]),
        ("capture.pcap.gz", [20, 20, 20]),
        ("capture-firefox.pcap.gz", [20, 20, 20]),
        ("capture-webkit.pcap.gz", [17, 17, 17]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [7, 7, 7]),
        // Safari's own export of the first page's tab (the second page's are not in it).
        ("safari.har.gz", [11, 11, 12]),
    ];
    score_recording(
        "tests/data/probe-origins",
        inputs,
        Some(24),
        &["devtools.har.gz"],
    );
    let inputs: Minimums = &[
        ("capture-dsb.pcapng.gz", [20, 20, 20]),
        ("capture-dsb-firefox.pcapng.gz", [17, 17, 17]),
        ("capture-dsb-webkit.pcapng.gz", [17, 17, 17]),
        ("firefox.har.gz", [7, 7, 7]),
    ];
    score_recording("tests/data/probe-origins/https", inputs, Some(24), &[]);
}

/// Redirect limits and odd `Location` values (`tests/data/probe-redirect-limits`, see its
/// README): Chromium reads a `302` with an empty `Location` as the final response, Firefox and
/// WebKit fail it (difference `redirect-empty-location`); the network errors stay open.
#[test]
fn redirect_limits_in_three_browsers() {
    let inputs: Minimums = &[
        ("devtools.har.gz", [5, 4, 4]),
        ("capture.pcap.gz", [1, 1, 1]),
        ("capture-firefox.pcap.gz", [2, 1, 1]),
        ("capture-webkit.pcap.gz", [2, 1, 1]),
        // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
        ("firefox.har.gz", [2, 1, 1]),
        ("safari.har.gz", [0, 0, 2]),
    ];
    score_recording("tests/data/probe-redirect-limits", inputs, Some(9), &[]);
}

/// The browsers' HTTP cache (`tests/data/probe-httpcache`, see its README): a preflight whose
/// request the cache answered is not a refusal, revalidation headers are the browser's, and a
/// `206`'s rewritten head does not set a DevTools HAR's size baseline.
#[test]
fn http_cache_in_three_browsers() {
    // (folder, inputs, Chromium's capture: its verdicts right at least). Chromium's capture is
    // scored against Chromium's truth only: it holds a request Firefox and WebKit answered
    // from their caches, which the scorer sets against another of their scenarios. Over TLS +
    // HTTP/2, Chromium (which does not keep answers received with a certificate error) fetched
    // `hc-share-novary-2` again and was allowed; Firefox and WebKit took the first page's
    // cached answer and were blocked: from Chromium's recording they are left open (the cached
    // answer, without `Vary: Origin`, allows only the other page).
    let sets: [(&str, Minimums, (&str, usize)); 2] = [
        (
            "tests/data/probe-httpcache",
            &[
                ("devtools.har.gz", [22, 22, 22]),
                ("chrome-har.har.gz", [13, 13, 13]),
                ("capture-firefox.pcap.gz", [16, 16, 16]),
                ("capture-webkit.pcap.gz", [6, 6, 6]),
                // Firefox's own export (`tools/firefox_har.py`): no failure marked; the rules decide.
                ("firefox.har.gz", [9, 9, 9]),
            ],
            ("capture.pcap.gz", 12),
        ),
        (
            "tests/data/probe-httpcache/https",
            &[
                ("devtools.har.gz", [22, 21, 21]),
                ("capture-dsb-firefox.pcapng.gz", [7, 7, 7]),
                ("capture-dsb-webkit.pcapng.gz", [7, 7, 7]),
                ("firefox.har.gz", [10, 10, 10]),
            ],
            ("capture-dsb.pcapng.gz", 22),
        ),
    ];
    for (d, inputs, (chromium_capture, min)) in sets {
        score_recording(d, inputs, None, &[]);
        let (v, _, _, _) = score_without_wrong(
            &format!("{d}/{chromium_capture}"),
            &format!("{d}/truth.json"),
            BROWSER_TRUTHS[0],
        );
        assert!(v >= min, "{d}/{chromium_capture}: {v}");
    }
}

/// Credentialed and uncredentialed requests interleaved on the same origins
/// (`tests/data/pool`, see its README): Chromium's and Firefox's captures are read through their
/// connections (13 of 17 decided, 8 without), WebKit's stay as undecided as before; none
/// contradicts any browser.
#[test]
fn credentials_read_from_connections_in_three_browsers() {
    let d = "tests/data/pool";
    let browsers = BROWSER_TRUTHS;
    for (input, want) in [
        ("capture.pcap", 13),
        ("capture-firefox.pcap", 13),
        ("capture-webkit.pcap", 8),
    ] {
        for (truth, verdict, reason, field) in browsers {
            let (v, r, n, bad) = score(
                &format!("{d}/{input}"),
                &format!("{d}/{truth}"),
                verdict,
                reason,
                field,
            );
            assert!(
                wrong(&bad).is_empty(),
                "{input} vs {truth}: {:#?}",
                wrong(&bad)
            );
            assert_eq!((v, r), (want, want), "{input} vs {truth} ({n}): {bad:#?}");
        }
    }
}

/// HTTPS + HTTP/2 (the tls-dev Chromium recording, TLS 1.3 secrets in the pcapng; its truth
/// cut to the fields scored): Chromium's HTTP/2 connections show the credentials mode as its
/// HTTP/1 ones do, so only the credentialed requests without a cookie, on a connection without
/// a preflight, stay unknown; nothing contradicts the browser.
#[test]
fn https_capture_reads_credentials_from_http2_connections() {
    let (v, r, n, bad) = score(
        "tests/data/tls/tls13-h2-dsb.pcapng",
        "tests/data/tls/truth.json",
        "verdict",
        "reason",
        "cors_error",
    );
    assert!(wrong(&bad).is_empty(), "{:#?}", wrong(&bad));
    let mut unknown: Vec<&str> = bad
        .iter()
        .filter(|b| b.contains("got unknown"))
        .filter_map(|b| b.split('"').nth(1))
        .collect();
    unknown.sort();
    assert_eq!(
        unknown,
        [
            "td-cred-get-acac-upper",
            "td-cred-get-wildcard",
            "td-pf-credentials-actual-no-acac",
            "td-xhr-credentials-wildcard",
        ]
    );
    assert_eq!((v, r), (n - 4, n - 4), "{bad:#?}");
}

/// Odd HTTP/1.x response heads (`tests/data/probe-parse`, see its README; issue 19): each
/// browser reads the raw lines (whitespace before the colon, folds, dropped lines, NUL) and the
/// head's size by its own rules. From every capture nothing contradicts any browser, and the
/// scenarios that turn on whitespace before a colon are decided in all three; heads a
/// browser fails (NUL, over its size limit) are network errors, so `unknown`. From the Chromium
/// HAR, Firefox and Safari are unknown where `headersSize` shows a line the HAR does not, and
/// decided where the HAR shows the odd name itself.
#[test]
fn response_head_parsing_in_three_browsers() {
    let d = "tests/data/probe-parse";
    let browsers = BROWSER_TRUTHS;
    // (input, verdicts right per browser in the order above; the rest are unknown)
    for (input, want) in [
        ("capture.pcap.gz", [12, 12, 12]),
        // The recorder's blocked preflight leaves Chromium's actual response unseen.
        ("capture-firefox.pcap.gz", [11, 12, 12]),
        ("capture-webkit.pcap.gz", [11, 12, 12]),
        ("devtools.har.gz", [13, 6, 6]),
        ("devtools-reversed.har.gz", [13, 6, 6]),
        ("devtools-spaced-names.har.gz", [13, 11, 11]),
    ] {
        for (row, want) in browsers.into_iter().zip(want) {
            let truth = row.0;
            let (v, r, n, bad) =
                score_without_wrong(&format!("{d}/{input}"), &format!("{d}/{truth}"), row);
            assert_eq!((v, r), (want, want), "{input} vs {truth} ({n}): {bad:#?}");
            let spaced = [
                "p-sp-colon",
                "p-tab-colon",
                "p-dup-one-bad",
                "p-acac-sp-colon",
            ];
            if input.starts_with("capture") {
                for id in spaced {
                    assert!(
                        !bad.iter().any(|b| b.contains(id)),
                        "{input} {truth} {id}: {bad:#?}"
                    );
                }
            }
        }
    }
}

/// Request-side safelist rules and counterfactual requests (`tests/data/probe-reqside`, see its
/// README; issue 19 items 3 and 4): from every input, no browser's verdict contradicts that
/// browser, and at least `min` are decided right (the rest `unknown` with a reason: a value or
/// a server answer the input does not show). The README's "Why only in Safari?" sample is the
/// same kind of recording and is held to the same.
#[test]
fn request_side_rules_in_three_browsers() {
    let browsers = BROWSER_TRUTHS;
    let d = "tests/data/probe-reqside";
    // (input, its truths' directory, minimum verdicts right per browser in the order above)
    let inputs = [
        ("tests/data/probe-reqside/devtools.har", d, [131, 0, 0]),
        ("tests/data/probe-reqside/capture.pcap", d, [131, 0, 0]),
        (
            "tests/data/probe-reqside/capture-firefox.pcap",
            d,
            [0, 131, 0],
        ),
        ("tests/data/probe-reqside/capture-webkit.pcap", d, [0, 0, 0]),
        (
            "samples/why-only-in-safari.har",
            "tests/data/probe-reqside/sample",
            [3, 3, 3],
        ),
    ];
    for (input, dir, mins) in inputs {
        for (row, min) in browsers.into_iter().zip(mins) {
            let truth = row.0;
            let (v, _, n, bad) = score_without_wrong(input, &format!("{dir}/{truth}"), row);
            assert!(v >= min, "{input} vs {truth}: {v}/{n}: {bad:#?}");
        }
    }
}

/// A DevTools HAR of a recording rewritten as an exporter that does not mark every failure
/// lists the same traffic (`tools/proxy_har.py` does the same for a look by hand): `proxy`, a
/// recording proxy's HAR (Charles, mitmproxy: every request that reached the wire with the
/// server's answer, preflights included, no failure text, no `_`-fields, no entry for a request
/// the browser never sent); `firefox`, an export naming Firefox that keeps the unsent requests
/// with status 0 and marks nothing; `stripped`, the DevTools export itself with its
/// `_`-fields removed (a HAR cleaner, a viewer's re-export). Written to `dir`.
fn unmarked_export(devtools: &str, kind: &str, dir: &std::path::Path) -> String {
    use std::io::Read;
    let mut text = String::new();
    let file = std::fs::File::open(devtools).unwrap();
    if devtools.ends_with(".gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
    } else {
        std::io::BufReader::new(file)
            .read_to_string(&mut text)
            .unwrap();
    }
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| !k.starts_with('_'));
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut har: Value = serde_json::from_str(&text).unwrap();
    let log = &mut har["log"];
    let entries = std::mem::take(log["entries"].as_array_mut().unwrap());
    let mut kept = Vec::new();
    let proxy = kind == "proxy";
    for mut e in entries {
        let unsent = matches!(e["response"]["status"].as_i64(), Some(0 | -1) | None);
        if unsent && proxy {
            continue;
        }
        strip(&mut e);
        if unsent {
            e["response"]["status"] = 0.into();
            e["response"]["headers"] = Value::Array(Vec::new());
        }
        kept.push(e);
    }
    log["entries"] = Value::Array(kept);
    let obj = log.as_object_mut().unwrap();
    match kind {
        "proxy" => {
            obj.insert(
                "creator".into(),
                serde_json::json!({ "name": "Charles Proxy", "version": "1" }),
            );
            obj.remove("browser");
        }
        "firefox" => {
            let firefox = serde_json::json!({ "name": "Firefox", "version": "153.0" });
            obj.insert("creator".into(), firefox.clone());
            obj.insert("browser".into(), firefox);
        }
        _ => {}
    }
    let out = dir.join(format!("{}-{kind}.har", devtools.replace('/', "_")));
    std::fs::write(&out, serde_json::to_vec(&har).unwrap()).unwrap();
    out.to_string_lossy().into_owned()
}

/// Exports that may leave a failure unmarked (a proxy's HAR, Firefox's, a DevTools export
/// whose `_`-fields were stripped): an answered request
/// without failure text is not taken as a success, which read every blocked request with an
/// answer as a no-cors one (29 wrong verdicts on the corpus's HAR so rewritten), and a
/// proxy's complete request headers keep a failed preflight from pairing with the next request
/// to its URL that announced nothing (`probe-reqside` `ev-fail-comma`). No browser is
/// contradicted; at least the listed verdicts are right (the rest `unknown`: the credentials
/// mode, which a sanitized export hides, and what only the failure text showed).
#[test]
fn exports_that_do_not_mark_failures_never_contradict() {
    let dir = tempfile::tempdir().unwrap();
    // (recording, its DevTools HAR, minimum right per browser as a proxy's HAR, as Firefox's;
    // `None`: not as Firefox's, since its heads are Chromium's parse (probe-parse) or its
    // requests Chromium's choices of what to preflight (probe-reqside), which no Firefox
    // export lists).
    type Row<'a> = (&'a str, &'a str, [usize; 3], Option<[usize; 3]>);
    let rows: &[Row] = &[
        ("chromium", "devtools.har", [86, 82, 85], Some([86, 86, 86])),
        (
            "probe-cache",
            "devtools.har.gz",
            [30, 29, 29],
            Some([29, 28, 30]),
        ),
        (
            "probe-concurrency",
            "devtools.har",
            [20, 19, 18],
            Some([20, 20, 18]),
        ),
        (
            "probe-cookies",
            "devtools.har.gz",
            [14, 14, 14],
            Some([14, 14, 14]),
        ),
        (
            "probe-elements",
            "devtools.har.gz",
            [16, 16, 16],
            Some([16, 16, 16]),
        ),
        (
            "probe-httpcache",
            "devtools.har.gz",
            [10, 10, 10],
            Some([10, 10, 10]),
        ),
        (
            "probe-lists",
            "devtools.har.gz",
            [16, 14, 14],
            Some([14, 16, 16]),
        ),
        (
            "probe-origins",
            "devtools.har.gz",
            [17, 17, 17],
            Some([17, 17, 17]),
        ),
        ("probe-parse", "devtools.har.gz", [13, 6, 6], None),
        (
            "probe-redirect-limits",
            "devtools.har.gz",
            [1, 1, 1],
            Some([2, 1, 1]),
        ),
        (
            "probe-redirect-preflight",
            "devtools.har.gz",
            [24, 6, 8],
            Some([24, 7, 8]),
        ),
        ("probe-reqside", "devtools.har", [69, 32, 46], None),
        (
            "probe-variants",
            "devtools.har.gz",
            [28, 25, 26],
            Some([26, 27, 28]),
        ),
        (
            "probe-variants2",
            "devtools.har.gz",
            [34, 29, 31],
            Some([34, 33, 33]),
        ),
    ];
    for &(rec, har, proxy_mins, firefox_mins) in rows {
        let d = format!("tests/data/{rec}");
        let devtools = format!("{d}/{har}");
        // The stripped export is the DevTools one: its requests, its parse, every browser's
        // minimum as a proxy's HAR of the same traffic (which lists fewer entries).
        let kinds = [
            ("proxy", Some(proxy_mins)),
            ("firefox", firefox_mins),
            ("stripped", Some(proxy_mins)),
        ];
        for (kind, mins) in kinds {
            let Some(mins) = mins else { continue };
            let input = unmarked_export(&devtools, kind, dir.path());
            for (row, min) in BROWSER_TRUTHS.into_iter().zip(mins) {
                let truth = format!("{d}/{}", row.0);
                let (v, _, n, bad) = score_without_wrong(&input, &truth, row);
                assert!(v >= min, "{input} vs {truth}: {v}/{n}: {bad:#?}");
            }
        }
    }
}

/// Firefox's own export of the corpus's scenarios (`tests/data/chromium/README.md`): nothing in
/// it marks a failure, so an answered entry is what the server sent and the rules decide (round
/// 22's binary, which read it as a DevTools export, gave 25 wrong verdicts for Firefox). No
/// browser is contradicted; the rest are `unknown`, mostly the credentials mode, which such an
/// export cannot show. (Its duplicate header lines come joined with `, `, so two
/// `Access-Control-Allow-Origin` lines read as one listing two origins: blocked either way,
/// Firefox's reason then `CORSAllowOriginNotMatchingOrigin`, not `…MultipleAllowOrigin…`.)
#[test]
fn firefox_export_of_the_corpus_scenarios() {
    let inputs: Minimums = &[
        ("firefox.har.gz", [82, 82, 82]),
        ("firefox-page2.har.gz", [11, 11, 11]),
    ];
    score_recording("tests/data/chromium", inputs, None, &[]);
}

/// Firefox's real Network Monitor export ("Save All As HAR", Firefox 153 ESR) of every probe
/// recording's scenarios and the corpus's (`tools/firefox_netmonitor.sh`; each run's Firefox
/// truth equals the committed one): `firefox-netmonitor*.har.gz` with the toolbox opened before
/// the page loaded (the page's document and cookies listed), `-opened-late` after it, `-page2`
/// the second page's tab. It lists a preflighted request 2-3 ms before its preflight with a
/// `time` that leaves out the preflight's wait (41 ms after a preflight held 250 ms; 0 for an
/// allowed credentialed `PUT`), which the pairing took for a request that ended before its
/// preflight: 9 `probe-concurrency` scenarios and one of the corpus's were `unknown` until
/// round 37 (`Flavour::times_include_preflight`). Never a verdict against a browser.
#[test]
fn firefox_network_monitor_exports() {
    let sets: [(&str, Minimums); 15] = [
        (
            "tests/data/chromium",
            &[
                ("firefox-netmonitor-opened-late-page2.har.gz", [11, 11, 11]),
                ("firefox-netmonitor-opened-late.har.gz", [82, 82, 82]),
                ("firefox-netmonitor-page2.har.gz", [11, 11, 11]),
                ("firefox-netmonitor.har.gz", [82, 82, 82]),
            ],
        ),
        (
            "tests/data/probe-cache",
            &[
                ("firefox-netmonitor-opened-late-page2.har.gz", [1, 1, 1]),
                ("firefox-netmonitor-opened-late.har.gz", [29, 29, 29]),
                ("firefox-netmonitor-page2.har.gz", [1, 1, 1]),
                ("firefox-netmonitor.har.gz", [29, 29, 29]),
            ],
        ),
        (
            "tests/data/probe-concurrency",
            &[
                ("firefox-netmonitor-opened-late.har.gz", [21, 21, 21]),
                ("firefox-netmonitor.har.gz", [22, 22, 22]),
            ],
        ),
        (
            "tests/data/probe-cookies",
            &[
                ("firefox-netmonitor-opened-late.har.gz", [14, 14, 14]),
                ("firefox-netmonitor.har.gz", [14, 14, 14]),
            ],
        ),
        (
            "tests/data/probe-elements",
            &[
                ("firefox-netmonitor-opened-late.har.gz", [14, 14, 14]),
                ("firefox-netmonitor.har.gz", [16, 16, 16]),
            ],
        ),
        (
            "tests/data/probe-httpcache",
            &[
                ("firefox-netmonitor-opened-late-page2.har.gz", [2, 2, 2]),
                ("firefox-netmonitor-opened-late.har.gz", [9, 9, 9]),
                ("firefox-netmonitor-page2.har.gz", [2, 2, 2]),
                ("firefox-netmonitor.har.gz", [9, 9, 9]),
            ],
        ),
        (
            "tests/data/probe-lists",
            &[
                ("firefox-netmonitor-opened-late.har.gz", [16, 16, 16]),
                ("firefox-netmonitor.har.gz", [16, 16, 16]),
            ],
        ),
        (
            "tests/data/probe-origins",
            &[
                ("firefox-netmonitor-opened-late-page2.har.gz", [11, 11, 11]),
                ("firefox-netmonitor-opened-late.har.gz", [8, 8, 8]),
                ("firefox-netmonitor-page2.har.gz", [11, 11, 11]),
                ("firefox-netmonitor.har.gz", [8, 8, 8]),
            ],
        ),
        (
            "tests/data/probe-origins/https",
            &[
                ("firefox-netmonitor-opened-late-page2.har.gz", [11, 11, 11]),
                ("firefox-netmonitor-opened-late.har.gz", [8, 8, 8]),
                ("firefox-netmonitor-page2.har.gz", [11, 11, 11]),
                ("firefox-netmonitor.har.gz", [8, 8, 8]),
            ],
        ),
        (
            "tests/data/probe-redirect-limits",
            &[
                ("firefox-netmonitor-opened-late.har.gz", [2, 1, 1]),
                ("firefox-netmonitor.har.gz", [2, 1, 1]),
            ],
        ),
        (
            "tests/data/probe-redirect-preflight",
            &[
                ("firefox-netmonitor-opened-late.har.gz", [16, 23, 19]),
                ("firefox-netmonitor.har.gz", [16, 23, 19]),
            ],
        ),
        (
            "tests/data/probe-redirect-preflight/https",
            &[
                ("firefox-netmonitor-opened-late.har.gz", [16, 23, 19]),
                ("firefox-netmonitor.har.gz", [16, 23, 19]),
            ],
        ),
        (
            "tests/data/probe-variants",
            &[
                ("firefox-netmonitor-opened-late.har.gz", [26, 27, 26]),
                ("firefox-netmonitor.har.gz", [26, 27, 26]),
            ],
        ),
        (
            "tests/data/probe-variants2",
            &[
                ("firefox-netmonitor-opened-late-page2.har.gz", [6, 6, 6]),
                ("firefox-netmonitor-opened-late.har.gz", [31, 32, 32]),
                ("firefox-netmonitor-page2.har.gz", [6, 6, 6]),
                ("firefox-netmonitor.har.gz", [31, 32, 32]),
            ],
        ),
        (
            "tests/data/probe-variants2/https",
            &[
                ("firefox-netmonitor-opened-late-page2.har.gz", [6, 6, 6]),
                ("firefox-netmonitor-opened-late.har.gz", [33, 34, 34]),
                ("firefox-netmonitor-page2.har.gz", [6, 6, 6]),
                ("firefox-netmonitor.har.gz", [33, 34, 34]),
            ],
        ),
    ];
    for (dir, inputs) in sets {
        score_recording(dir, inputs, None, &[]);
    }
}

/// mitmproxy's own HAR export (`mitmdump --set hardump`, mitmproxy 11.0.2) of every plain-HTTP
/// probe recording's scenarios and the corpus's, run in Chromium through it (and in Firefox,
/// `-firefox`, and WebKitGTK, `-webkit`; each run's truth equals the committed one)
/// (`tools/mitmproxy_har.sh`; each run's Chromium truth equals the committed one): every
/// exchange the proxy relayed, preflights included, and nothing of what the browser decided.
/// Its `headersSize` is the length of a Python text (`len(str(headers))`), not of the head:
/// read as one until round 38, every response seemed to hide raw lines, and Firefox and Safari
/// were left undecided (the corpus: 15 and 16 of 112). `capture-via-mitmproxy.pcap.gz` is the
/// same run on the wire between the proxy and the servers (one client, the proxy). Over HTTPS
/// (`*/https`) mitmproxy decrypts with its own certificates and speaks HTTP/2 to Chromium; its
/// sizes there are not read (HTTP/2 heads have no raw lines). Never a verdict against a
/// browser.
#[test]
fn mitmproxy_exports() {
    let sets: [(&str, Minimums); 15] = [
        (
            "tests/data/chromium",
            &[
                ("mitmproxy.har.gz", [86, 82, 85]),
                ("capture-via-mitmproxy.pcap.gz", [91, 87, 90]),
                ("mitmproxy-firefox.har.gz", [82, 86, 81]),
                ("mitmproxy-webkit.har.gz", [86, 83, 86]),
            ],
        ),
        (
            "tests/data/probe-cache",
            &[
                ("mitmproxy.har.gz", [30, 30, 30]),
                ("mitmproxy-firefox.har.gz", [30, 30, 30]),
                ("mitmproxy-webkit.har.gz", [30, 30, 30]),
            ],
        ),
        (
            "tests/data/probe-concurrency",
            &[
                ("mitmproxy.har.gz", [20, 19, 18]),
                ("mitmproxy-firefox.har.gz", [21, 22, 21]),
                ("mitmproxy-webkit.har.gz", [19, 18, 22]),
            ],
        ),
        (
            "tests/data/probe-cookies",
            &[
                ("mitmproxy.har.gz", [14, 14, 14]),
                ("mitmproxy-firefox.har.gz", [14, 14, 14]),
                ("mitmproxy-webkit.har.gz", [8, 8, 8]),
            ],
        ),
        (
            "tests/data/probe-elements",
            &[
                ("mitmproxy.har.gz", [16, 16, 16]),
                ("mitmproxy-firefox.har.gz", [16, 16, 16]),
                ("mitmproxy-webkit.har.gz", [16, 16, 16]),
            ],
        ),
        (
            "tests/data/probe-httpcache",
            &[
                ("mitmproxy.har.gz", [7, 7, 7]),
                ("mitmproxy-firefox.har.gz", [6, 6, 6]),
                ("mitmproxy-webkit.har.gz", [6, 6, 6]),
            ],
        ),
        (
            "tests/data/probe-lists",
            &[
                ("mitmproxy.har.gz", [15, 15, 15]),
                ("mitmproxy-firefox.har.gz", [15, 15, 15]),
                ("mitmproxy-webkit.har.gz", [15, 15, 15]),
            ],
        ),
        (
            "tests/data/probe-origins",
            &[
                ("mitmproxy.har.gz", [17, 17, 17]),
                ("mitmproxy-firefox.har.gz", [17, 17, 17]),
                ("mitmproxy-webkit.har.gz", [17, 17, 17]),
            ],
        ),
        (
            "tests/data/probe-redirect-limits",
            &[
                ("mitmproxy.har.gz", [1, 1, 1]),
                ("mitmproxy-firefox.har.gz", [2, 1, 1]),
                ("mitmproxy-webkit.har.gz", [2, 1, 1]),
            ],
        ),
        (
            "tests/data/probe-redirect-preflight",
            &[
                ("mitmproxy.har.gz", [24, 6, 8]),
                ("mitmproxy-firefox.har.gz", [15, 23, 18]),
                ("mitmproxy-webkit.har.gz", [16, 17, 23]),
            ],
        ),
        (
            "tests/data/probe-variants",
            &[
                ("mitmproxy.har.gz", [27, 26, 27]),
                ("mitmproxy-firefox.har.gz", [26, 27, 26]),
                ("mitmproxy-webkit.har.gz", [27, 26, 27]),
            ],
        ),
        (
            "tests/data/probe-variants2",
            &[
                ("mitmproxy.har.gz", [34, 29, 31]),
                ("mitmproxy-firefox.har.gz", [30, 34, 29]),
                ("mitmproxy-webkit.har.gz", [33, 32, 34]),
            ],
        ),
        (
            "tests/data/probe-origins/https",
            &[("mitmproxy.har.gz", [17, 17, 17])],
        ),
        (
            "tests/data/probe-redirect-preflight/https",
            &[("mitmproxy.har.gz", [24, 6, 8])],
        ),
        (
            "tests/data/probe-variants2/https",
            &[("mitmproxy.har.gz", [36, 31, 33])],
        ),
    ];
    for (dir, inputs) in sets {
        score_recording(dir, inputs, None, &[]);
    }
}

/// WebKit's real Web Inspector export (the Network tab's "Export": Safari's WebInspectorUI
/// code, served by WebKitGTK 2.50's remote inspector and run in a headless Chromium connected
/// to each tab, `tools/webkit_inspector_har.sh`; each run's WebKit truth equals the committed
/// one), `-page2` the second page's tab, of every probe recording's scenarios and the
/// corpus's. It lists only requests that finished (`_HARResources`), so every request WebKit
/// blocked is missing and the counts below are the scorer's over what is left; a redirected
/// request is one entry at its last URL, which the scorer does not name by its scenario (the
/// redirect sets decide none); it lists no preflights. Never a verdict against a browser.
#[test]
fn webkit_inspector_exports() {
    let sets: [(&str, Minimums); 15] = [
        (
            "tests/data/chromium",
            &[
                ("webkit-inspector-page2.har.gz", [7, 7, 7]),
                ("webkit-inspector.har.gz", [46, 47, 47]),
            ],
        ),
        (
            "tests/data/probe-cache",
            &[
                ("webkit-inspector-page2.har.gz", [1, 1, 1]),
                ("webkit-inspector.har.gz", [27, 27, 27]),
            ],
        ),
        (
            "tests/data/probe-concurrency",
            &[("webkit-inspector.har.gz", [14, 14, 17])],
        ),
        (
            "tests/data/probe-cookies",
            &[("webkit-inspector.har.gz", [8, 8, 8])],
        ),
        (
            "tests/data/probe-elements",
            &[("webkit-inspector.har.gz", [14, 14, 14])],
        ),
        (
            "tests/data/probe-httpcache",
            &[
                ("webkit-inspector-page2.har.gz", [2, 2, 2]),
                ("webkit-inspector.har.gz", [15, 15, 15]),
            ],
        ),
        (
            "tests/data/probe-lists",
            &[("webkit-inspector.har.gz", [7, 7, 7])],
        ),
        (
            "tests/data/probe-origins",
            &[
                ("webkit-inspector-page2.har.gz", [4, 4, 4]),
                ("webkit-inspector.har.gz", [11, 11, 11]),
            ],
        ),
        (
            "tests/data/probe-origins/https",
            &[
                ("webkit-inspector-page2.har.gz", [4, 4, 4]),
                ("webkit-inspector.har.gz", [11, 11, 11]),
            ],
        ),
        (
            "tests/data/probe-redirect-limits",
            &[("webkit-inspector.har.gz", [0, 0, 0])],
        ),
        (
            "tests/data/probe-redirect-preflight",
            &[("webkit-inspector.har.gz", [0, 0, 0])],
        ),
        (
            "tests/data/probe-redirect-preflight/https",
            &[("webkit-inspector.har.gz", [0, 0, 0])],
        ),
        (
            "tests/data/probe-variants",
            &[("webkit-inspector.har.gz", [15, 17, 17])],
        ),
        (
            "tests/data/probe-variants2",
            &[
                ("webkit-inspector-page2.har.gz", [6, 6, 6]),
                ("webkit-inspector.har.gz", [26, 26, 26]),
            ],
        ),
        (
            "tests/data/probe-variants2/https",
            &[
                ("webkit-inspector-page2.har.gz", [6, 6, 6]),
                ("webkit-inspector.har.gz", [24, 24, 24]),
            ],
        ),
    ];
    for (dir, inputs) in sets {
        score_recording(dir, inputs, None, &[]);
    }
}

/// Chromium's real DevTools export ("Export HAR (with sensitive data)", and `-sanitized`,
/// the button's default: no cookies, no `Authorization`) of every probe recording's scenarios
/// and the corpus's, made by DevTools' own `HAR.Writer` in each tab's DevTools front end
/// (`tools/chromium_devtools_har.sh`, Chromium 156; each run's Chromium truth equals the
/// committed one), `-page2` the second page's tab. Until round 37 its entry for a
/// `mode: "same-origin"` fetch redirected to another origin (the `302`, `net::ERR_ABORTED`, no
/// next hop) read as a response the page had (`allowed`, where Chromium blocked it), and a
/// `299` with an empty reason phrase, one byte short in `headersSize` as Chromium rebuilds
/// that status line, set the file's baseline and left `probe-variants` undecided for Firefox
/// and Safari (2 of 42). Never a verdict against a browser.
#[test]
fn chromium_devtools_exports() {
    let sets: [(&str, Minimums); 15] = [
        (
            "tests/data/chromium",
            &[
                ("chromium-devtools-page2.har.gz", [12, 12, 12]),
                ("chromium-devtools-sanitized-page2.har.gz", [12, 12, 12]),
                ("chromium-devtools-sanitized.har.gz", [105, 104, 104]),
                ("chromium-devtools.har.gz", [105, 104, 104]),
            ],
        ),
        (
            "tests/data/probe-cache",
            &[
                ("chromium-devtools-page2.har.gz", [1, 1, 1]),
                ("chromium-devtools-sanitized-page2.har.gz", [1, 1, 1]),
                ("chromium-devtools-sanitized.har.gz", [29, 28, 28]),
                ("chromium-devtools.har.gz", [29, 28, 28]),
            ],
        ),
        (
            "tests/data/probe-concurrency",
            &[
                ("chromium-devtools-sanitized.har.gz", [25, 25, 25]),
                ("chromium-devtools.har.gz", [25, 25, 25]),
            ],
        ),
        (
            "tests/data/probe-cookies",
            &[
                ("chromium-devtools-sanitized.har.gz", [16, 8, 8]),
                ("chromium-devtools.har.gz", [16, 16, 16]),
            ],
        ),
        (
            "tests/data/probe-elements",
            &[
                ("chromium-devtools-sanitized.har.gz", [31, 31, 31]),
                ("chromium-devtools.har.gz", [31, 31, 31]),
            ],
        ),
        (
            "tests/data/probe-httpcache",
            &[
                ("chromium-devtools-page2.har.gz", [3, 3, 3]),
                ("chromium-devtools-sanitized-page2.har.gz", [3, 3, 3]),
                ("chromium-devtools-sanitized.har.gz", [20, 20, 20]),
                ("chromium-devtools.har.gz", [20, 20, 20]),
            ],
        ),
        (
            "tests/data/probe-lists",
            &[
                ("chromium-devtools-sanitized.har.gz", [17, 15, 15]),
                ("chromium-devtools.har.gz", [17, 15, 15]),
            ],
        ),
        (
            "tests/data/probe-origins",
            &[
                ("chromium-devtools-page2.har.gz", [13, 13, 13]),
                ("chromium-devtools-sanitized-page2.har.gz", [13, 13, 13]),
                ("chromium-devtools-sanitized.har.gz", [13, 13, 13]),
                ("chromium-devtools.har.gz", [13, 13, 13]),
            ],
        ),
        (
            "tests/data/probe-origins/https",
            &[
                ("chromium-devtools-page2.har.gz", [13, 13, 13]),
                ("chromium-devtools-sanitized-page2.har.gz", [13, 13, 13]),
                ("chromium-devtools-sanitized.har.gz", [13, 13, 13]),
                ("chromium-devtools.har.gz", [13, 13, 13]),
            ],
        ),
        (
            "tests/data/probe-redirect-limits",
            &[
                ("chromium-devtools-sanitized.har.gz", [5, 4, 4]),
                ("chromium-devtools.har.gz", [5, 4, 4]),
            ],
        ),
        (
            "tests/data/probe-redirect-preflight",
            &[
                ("chromium-devtools-sanitized.har.gz", [26, 9, 10]),
                ("chromium-devtools.har.gz", [26, 9, 10]),
            ],
        ),
        (
            "tests/data/probe-redirect-preflight/https",
            &[
                ("chromium-devtools-sanitized.har.gz", [26, 9, 10]),
                ("chromium-devtools.har.gz", [26, 9, 10]),
            ],
        ),
        (
            "tests/data/probe-variants",
            &[
                ("chromium-devtools-sanitized.har.gz", [41, 37, 38]),
                ("chromium-devtools.har.gz", [41, 37, 38]),
            ],
        ),
        (
            "tests/data/probe-variants2",
            &[
                ("chromium-devtools-page2.har.gz", [7, 7, 7]),
                ("chromium-devtools-sanitized-page2.har.gz", [7, 7, 7]),
                ("chromium-devtools-sanitized.har.gz", [46, 45, 45]),
                ("chromium-devtools.har.gz", [46, 45, 45]),
            ],
        ),
        (
            "tests/data/probe-variants2/https",
            &[
                ("chromium-devtools-page2.har.gz", [7, 7, 7]),
                ("chromium-devtools-sanitized-page2.har.gz", [7, 7, 7]),
                ("chromium-devtools-sanitized.har.gz", [46, 45, 45]),
                ("chromium-devtools.har.gz", [46, 45, 45]),
            ],
        ),
    ];
    for (dir, inputs) in sets {
        score_recording(dir, inputs, None, &[]);
    }
}

/// Safari's own export of the corpus's scenarios (`tests/data/chromium/README.md`): a refused
/// request has no response, only WebKit's console text, which decides Safari's verdict and
/// now names its reason and failed parameter too (the project's scorer: 105 of 105 Safari
/// verdicts of the first page's tab right with their reasons; round 22's binary named only
/// what the rules could decide, 47); the other browsers are never given Safari's outcome (the export
/// hides redirects and preflights), so most of theirs stay `unknown`.
#[test]
fn safari_export_of_the_corpus_scenarios() {
    let inputs: Minimums = &[
        ("safari.har.gz", [46, 47, 106]),
        ("safari-page2.har.gz", [7, 7, 12]),
    ];
    score_recording("tests/data/chromium", inputs, None, &[]);
    safari_verdicts_and_reasons_right("tests/data/chromium", 106);
}

/// Every Safari verdict of `dir`'s Safari export right with its reason: `want` of them.
fn safari_verdicts_and_reasons_right(dir: &str, want: usize) {
    let (v, r, _, bad) = score_without_wrong(
        &format!("{dir}/safari.har.gz"),
        &format!("{dir}/truth-webkit.json"),
        BROWSER_TRUTHS[2],
    );
    assert_eq!((v, r), (want, want), "{bad:#?}");
}

/// Firefox's and Safari's own exports of the TLS corpus's scenarios over HTTP/2
/// (`tests/data/tls-exports/README.md`): wrong 0 for every browser (round 22's binary gave 25
/// wrong for Firefox from Firefox's export), Safari's reasons read from WebKit's text (105 of
/// 105 with the project's scorer; round 22: 47).
#[test]
fn browser_exports_over_https() {
    let inputs: Minimums = &[
        ("firefox.har.gz", [83, 83, 83]),
        ("safari.har.gz", [47, 47, 106]),
    ];
    score_recording("tests/data/tls-exports", inputs, None, &[]);
    safari_verdicts_and_reasons_right("tests/data/tls-exports", 106);
}
