//! The console message in every record equals what the real browser printed (issue 12: every
//! registry template renders to the recorded message). For each dev-corpus scenario the
//! browser blocked, the record of the same URL and method, when it names the same reason, must
//! carry the recorded message byte for byte: Chromium's `console_message` against the DevTools
//! HAR, Firefox's `console_message` and WebKit's `webkit_message` against their captures.
//!
//! Not compared: Chromium's messages from its capture, whose first words name the initiator
//! (`fetch` or `XMLHttpRequest`), which the wire does not show.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;

fn records(file: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(["analyze", "--format", "ndjson", file])
        .output()
        .expect("corscope runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON record"))
        .collect()
}

/// (compared, mismatches) for one recording against one truth file.
fn compare(
    input: &str,
    truth_file: &str,
    truth_message: &str,
    truth_reason: &str,
    record_message: &str,
    record_reason: &str,
) -> (usize, Vec<String>) {
    let truth: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(truth_file).expect("truth file is committed"),
    )
    .expect("truth file is JSON");
    let recs = records(input);
    let mut by_request: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
    for r in &recs {
        if let (Some(u), Some(m)) = (r["url"].as_str(), r["method"].as_str()) {
            by_request.entry((u, m)).or_default().push(r);
        }
    }
    let (mut n, mut bad) = (0, Vec::new());
    for t in &truth {
        let Some(want) = t[truth_message]
            .as_str()
            .filter(|m| !m.is_empty() && *m != "None")
        else {
            continue;
        };
        if t["outcome"] != "blocked" {
            continue;
        }
        let key = (
            t["url"].as_str().unwrap_or(""),
            t["method"].as_str().unwrap_or(""),
        );
        // One record per scenario URL, naming the browser's reason: the message is then the
        // registry's template for that reason, filled from the flow.
        let [r] = by_request.get(&key).map(Vec::as_slice).unwrap_or(&[]) else {
            continue;
        };
        if r[record_reason] != t[truth_reason] {
            continue;
        }
        n += 1;
        if r[record_message].as_str() != Some(want) {
            bad.push(format!(
                "{}:\n  browser:  {want}\n  corscope: {}",
                t["id"], r[record_message]
            ));
        }
    }
    (n, bad)
}

#[test]
fn recorded_console_messages_equal_the_records() {
    let cases = [
        (
            "tests/data/chromium/devtools.har",
            "tests/data/chromium/truth.json",
            "console_message",
            "cors_error",
            "message",
            "reason",
        ),
        // Playwright's trace keeps Chromium's console lines (the same scenarios, recorded
        // again: `tests/data/chromium/README.md`).
        (
            "tests/data/chromium/playwright-trace.zip",
            "tests/data/chromium/truth.json",
            "console_message",
            "cors_error",
            "message",
            "reason",
        ),
        (
            "tests/data/captures/firefox.pcap",
            "tests/data/chromium/truth-firefox.json",
            "console_message",
            "firefox_reason",
            "firefox_message",
            "firefox_reason",
        ),
        (
            "tests/data/captures/webkit.pcap",
            "tests/data/chromium/truth-webkit.json",
            "webkit_message",
            "webkit_reason",
            "safari_message",
            "safari_reason",
        ),
    ];
    for (input, truth, tm, tr, rm, rr) in cases {
        let (n, bad) = compare(input, truth, tm, tr, rm, rr);
        assert!(n >= 50, "{input}: only {n} blocked scenarios compared");
        assert!(bad.is_empty(), "{input}: {}", bad.join("\n"));
    }
}
