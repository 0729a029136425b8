//! The endpoint report on every flow of the dev corpus recordings committed in the repo: each
//! endpoint's suggested headers, applied to the recorded responses and re-evaluated through the
//! engine, allow every blocked in-scope flow in Chromium, Firefox and Safari, and no allowed
//! flow becomes blocked.

use corscope::pipeline::{self, Options};
use corscope::summary::Collector;

const CORPUS: &[&str] = &[
    "tests/data/chromium/devtools.har",
    "tests/data/chromium/chrome-har.har",
    "tests/data/chromium/playwright.har",
    "tests/data/novel/devtools.har",
    "tests/data/novel/playwright.har",
    "tests/data/novel/capture.pcap",
    "tests/data/novel/capture-firefox.pcap",
    "tests/data/novel/capture-webkit.pcap",
    "tests/data/captures/chromium.pcap",
    "tests/data/captures/firefox.pcap",
    "tests/data/captures/webkit.pcap",
    "samples/cors-scenarios.devtools.har",
    "samples/browsers-disagree.har",
];

#[test]
fn every_suggested_fix_reevaluates_clean_on_the_dev_corpus() {
    let opts = Options {
        attach_flows: true,
        capture_workers: 1,
        ..Options::default()
    };
    let mut fixed_total = 0;
    for path in CORPUS {
        let mut c = Collector::default();
        let report = pipeline::analyze(path, &opts, &mut |r| c.add(&r));
        assert!(report.error.is_none(), "{path}: {:?}", report.error);
        let ins = c.finish();
        assert!(
            ins.totals.blocked > 0,
            "{path}: the corpus has blocked flows"
        );
        for r in &ins.routes {
            let Some(f) = &r.fix else {
                assert_eq!(r.blocked_in_any_browser, 0, "{path} {}", r.endpoint);
                continue;
            };
            let p = &f.proof;
            assert!(
                p.not_fixed.is_empty(),
                "{path} {}: {:?}",
                r.endpoint,
                p.not_fixed
            );
            assert_eq!(p.not_rechecked, 0, "{path} {}", r.endpoint);
            assert_eq!(p.rechecked, p.in_scope, "{path} {}", r.endpoint);
            assert_eq!(p.fixed, p.in_scope, "{path} {}", r.endpoint);
            assert_eq!(
                p.in_scope + p.out_of_scope.values().sum::<u64>(),
                p.blocked,
                "{path} {}: every blocked flow is proven or says why not",
                r.endpoint
            );
            // Every allowed flow of the corpus is re-checked (endpoints are small here).
            assert_eq!(p.allowed_checked, p.allowed, "{path} {}", r.endpoint);
            assert!(
                p.allowed_broken.is_empty(),
                "{path} {}: {:?}",
                r.endpoint,
                p.allowed_broken
            );
            assert!(
                p.in_scope == 0
                    || p.statement
                        .starts_with(&format!("fixes {} of {}", p.fixed, p.in_scope)),
                "{}",
                p.statement
            );
            fixed_total += p.fixed;
        }
        assert_eq!(ins.totals.fixable, ins.totals.proven_fixed, "{path}");
    }
    assert!(fixed_total > 400, "the proof covered {fixed_total} flows");
}

fn corscope(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(args)
        .output()
        .expect("corscope runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn explain_finds_every_audit_code() {
    for c in corscope::audit::CODES {
        let (ok, text) = corscope(&["explain", c.code]);
        assert!(ok, "{}", c.code);
        assert!(text.contains(c.title) && text.contains(c.slug), "{text}");
        let (ok, _) = corscope(&["explain", c.slug]);
        assert!(ok, "{}", c.slug);
    }
    // Reasons still go to the reason table.
    let (ok, text) = corscope(&["explain", "MissingAllowOriginHeader"]);
    assert!(ok && !text.contains("CA0"), "{text}");
}

#[test]
fn summary_view_puts_totals_first_and_ranks_endpoints() {
    let (_, text) = corscope(&[
        "samples/cors-scenarios.devtools.har",
        "-f",
        "table",
        "--summary",
        "--top",
        "3",
    ]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("107 cross-origin request(s) as Chromium decides them: 63 blocked"),
        "{text}"
    );
    assert!(!text.contains("│"), "--summary prints no per-request table");
    assert!(
        !text.contains("Blocked, by endpoint"),
        "the per-URL list is replaced"
    );
    let ranked: Vec<&str> = lines
        .iter()
        .filter(|l| {
            l.trim_start().starts_with(|c: char| c.is_ascii_digit()) && l.contains(". http")
        })
        .copied()
        .collect();
    assert_eq!(ranked.len(), 3, "{text}");
    assert!(text.contains("proof: fixes 1 of 1 blocked request(s) in Chromium, Firefox and Safari"));
    assert!(text.contains("Audit (corscope explain CODE"));
}

#[test]
fn json_summary_carries_the_full_structures() {
    let (_, text) = corscope(&["samples/cors-scenarios.devtools.har", "-f", "json"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let s = &v["summary"];
    // The existing fields stay.
    assert_eq!(s["requests"], 107);
    assert!(s["endpoints"].is_object());
    // The new ones.
    assert_eq!(s["totals"]["blocked"], 63);
    let routes = s["routes"].as_array().unwrap();
    assert!(!routes.is_empty());
    let blocked: Vec<u64> = routes
        .iter()
        .map(|r| r["blocked"].as_u64().unwrap())
        .collect();
    assert!(
        blocked.windows(2).all(|w| w[0] >= w[1]),
        "ranked by blocked"
    );
    let with_fix = routes.iter().find(|r| !r["fix"].is_null()).unwrap();
    for k in [
        "headers",
        "preflight_lines",
        "actual_lines",
        "nginx",
        "express",
        "proof",
    ] {
        assert!(!with_fix["fix"][k].is_null(), "{k}");
    }
    assert!(s["audit"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["evidence"].as_array().is_some_and(|e| !e.is_empty())));
    assert_eq!(
        s["timeline"]["buckets"].as_array().unwrap().len(),
        corscope::summary::TIMELINE_BUCKETS
    );
}

#[test]
fn junit_has_one_case_per_endpoint_failing_when_blocked() {
    let input = "samples/cors-scenarios.devtools.har";
    let (_, xml) = corscope(&[input, "-f", "junit"]);
    let (_, json) = corscope(&[input, "-f", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let routes = v["summary"]["routes"].as_array().unwrap();
    let high = v["summary"]["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "high")
        .count();
    let blocked = routes
        .iter()
        .filter(|r| r["blocked"].as_u64() > Some(0))
        .count();
    assert!(xml.starts_with("<?xml"));
    // One case per input (in error only where it could not be read), per endpoint and per
    // high finding.
    assert_eq!(xml.matches("<testcase ").count(), 1 + routes.len() + high);
    assert_eq!(xml.matches("<failure ").count(), blocked + high);
    assert_eq!(xml.matches("<error ").count(), 0);
    assert_eq!(
        xml.matches("<testsuite ").count(),
        xml.matches("</testsuite>").count()
    );
    assert!(xml.contains("proof: fixes 1 of 1 blocked request(s)"));
}

/// An input cut off is a JUnit test case in error and an HTML section, beside the exit status
/// 2 (the JUnit report was green and the HTML report silent about it).
#[test]
fn reports_name_the_inputs_that_failed() {
    let cut = "tests/data/captures/own-cut.pcap";
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_corscope"))
            .args(args)
            .output()
            .expect("corscope runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), text)
    };
    let (code, xml) = run(&[cut, "samples/browsers-disagree.har", "-f", "junit"]);
    assert_eq!(code, Some(2));
    assert_eq!(xml.matches("<error ").count(), 1, "{xml}");
    assert!(xml.contains("errors=\"1\""), "{xml}");
    assert!(
        xml.contains("own-cut.pcap\"><error message=\"input not read to its end\" type=\"input-error\">capture: truncated capture: packet 59 (byte 7396)"),
        "{xml}"
    );
    let (code, html) = run(&[cut, "-f", "html"]);
    assert_eq!(code, Some(2));
    assert!(html.contains("Input errors"), "{html}");
    assert!(html.contains("packet 59 (byte 7396) is cut off"), "{html}");
}

/// HTML and JUnit judge each input by its recording browser, as the table, JSON and the
/// exit status do (they spoke for Chromium on a Firefox capture); inputs of two browsers are
/// each judged by their own, and the reports say so.
#[test]
fn reports_judge_each_input_by_its_browser() {
    let ff = "tests/data/captures/firefox.pcap";
    let wk = "tests/data/captures/webkit.pcap";
    let totals = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["-f", "json"]);
        let (_, json) = corscope(&a);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let s = &v["summary"];
        (
            s["totals"]["blocked"].as_u64(),
            s["verdicts"]["blocked"].as_u64(),
            s["totals"]["unknown"].as_u64(),
            s["verdicts"]["unknown"].as_u64(),
        )
    };
    for inputs in [vec![ff], vec![wk], vec![ff, wk]] {
        let (tb, vb, tu, vu) = totals(&inputs);
        assert_eq!((tb, tu), (vb, vu), "{inputs:?}");
    }
    let (_, xml) = corscope(&[ff, "-f", "junit"]);
    assert!(xml.contains("CORS endpoints (Firefox)"), "{xml}");
    let (_, html) = corscope(&[ff, wk, "-f", "html"]);
    assert!(
        html.contains("Verdicts as each input&#39;s browser decides them"),
        "{html}"
    );
    let (_, table) = corscope(&[ff, wk, "--summary", "-f", "table"]);
    let (b, u) = (totals(&[ff, wk]).1.unwrap(), totals(&[ff, wk]).3.unwrap());
    assert!(
        table.contains(&format!(
            "as each input's browser decides them: {b} blocked"
        )),
        "{table}"
    );
    assert!(table.contains(&format!("{u} unknown")), "{table}");
}

/// Mutated copies (entries reversed, duplicated, cut in half, shuffled by a stride): the
/// report may change, but a suggested fix must still re-evaluate clean and break nothing.
#[test]
fn fixes_stay_proven_on_mutated_recordings() {
    let har: serde_json::Value =
        serde_json::from_slice(&std::fs::read("tests/data/chromium/devtools.har").unwrap())
            .unwrap();
    let entries = har["log"]["entries"].as_array().unwrap().clone();
    let n = entries.len();
    let variants: Vec<(&str, Vec<serde_json::Value>)> = vec![
        ("reversed", entries.iter().rev().cloned().collect()),
        (
            "duplicated",
            entries.iter().chain(entries.iter()).cloned().collect(),
        ),
        ("first-half", entries[..n / 2].to_vec()),
        ("second-half", entries[n / 2..].to_vec()),
        (
            "stride-7",
            (0..n).map(|i| entries[(i * 7) % n].clone()).collect(),
        ),
    ];
    let dir = std::env::temp_dir().join(format!("corscope-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let opts = Options {
        attach_flows: true,
        capture_workers: 1,
        ..Options::default()
    };
    for (name, es) in variants {
        let mut v = har.clone();
        v["log"]["entries"] = serde_json::Value::Array(es);
        let path = dir.join(format!("{name}.har"));
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let mut c = Collector::default();
        let report = pipeline::analyze(path.to_str().unwrap(), &opts, &mut |r| c.add(&r));
        assert!(report.error.is_none(), "{name}");
        let ins = c.finish();
        assert!(ins.totals.fixable > 0, "{name}");
        for r in &ins.routes {
            if let Some(f) = &r.fix {
                assert!(
                    f.proof.not_fixed.is_empty(),
                    "{name} {}: {:?}",
                    r.endpoint,
                    f.proof.not_fixed
                );
                assert!(f.proof.allowed_broken.is_empty(), "{name} {}", r.endpoint);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
