//! Order independence of HAR analysis (issue 10.1): a HAR is a finite file, and exports list
//! their entries in any order (pages newest first, preflights after their request). Shuffling,
//! reversing or rotating `log.entries` of a recorded HAR must give the same records, each
//! still naming its own entry.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use corscope::pipeline::{analyze_input, InputReport, Options};
use corscope::report::Record;
use proptest::prelude::*;
use serde_json::Value;

fn load(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The HAR with its entries in the order `perm` (entry `i` of the result is `perm[i]` of the
/// original).
fn reordered(har: &Value, perm: &[usize]) -> Vec<u8> {
    let mut out = har.clone();
    let entries = har["log"]["entries"].as_array().unwrap();
    out["log"]["entries"] = Value::Array(perm.iter().map(|&i| entries[i].clone()).collect());
    serde_json::to_vec(&out).unwrap()
}

fn records(bytes: Vec<u8>, opts: &Options) -> Vec<Record> {
    let input = corscope::input::from_reader(Arc::from("t.har"), Box::new(Cursor::new(bytes)))
        .expect("a HAR");
    let mut out = Vec::new();
    let report = analyze_input(input, opts, &mut |r| out.push(r), InputReport::default());
    assert!(report.error.is_none(), "{:?}", report.error);
    out
}

/// Records of the reordered file with their entry numbers mapped back to the original's.
fn mapped_back(recs: Vec<Record>, perm: &[usize]) -> Vec<Record> {
    recs.into_iter()
        .map(|mut r| {
            let old = r.index;
            r.index = perm[old as usize] as u64;
            r.location = r
                .location
                .replace(&format!("entry {old}"), &format!("entry {}", r.index));
            if let Some(p) = &mut r.preflight {
                p.index = p.index.map(|i| perm[i as usize] as u64);
            }
            // A note may name the entry whose answer decided a counterfactual request.
            r.note = r.note.map(|n| map_entries(&n, perm));
            r
        })
        .collect()
}

/// `text` with every "entry N" naming the original's entry.
fn map_entries(text: &str, perm: &[usize]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("entry ") {
        let (head, tail) = rest.split_at(i + "entry ".len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        match tail[..digits].parse::<usize>() {
            Ok(n) if n < perm.len() => out.push_str(&perm[n].to_string()),
            _ => out.push_str(&tail[..digits]),
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

fn check(rel: &str, perm: &[usize], opts: &Options) {
    let har = load(rel);
    let identity: Vec<usize> = (0..perm.len()).collect();
    let want = records(reordered(&har, &identity), opts);
    let got = mapped_back(records(reordered(&har, perm), opts), perm);
    assert_eq!(want.len(), got.len(), "{rel}: record count");
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g, "{rel}: first differing record");
    }
}

fn entry_count(rel: &str) -> usize {
    load(rel)["log"]["entries"].as_array().unwrap().len()
}

const HARS: [&str; 4] = [
    "tests/data/chromium/devtools.har",
    "tests/data/novel/devtools.har",
    "tests/data/chromium/chrome-har.har",
    // Counterfactual verdicts read earlier answers on a URL: by time, not by file order.
    "tests/data/probe-reqside/devtools.har",
];

#[test]
fn reversed_and_swapped_halves_give_the_same_records() {
    for rel in HARS {
        let n = entry_count(rel);
        let reversed: Vec<usize> = (0..n).rev().collect();
        check(rel, &reversed, &Options::default());
        let halves: Vec<usize> = (n / 2..n).chain(0..n / 2).collect();
        check(rel, &halves, &Options::default());
    }
}

/// `--pairing-window` sizes the streaming buffer of captures; it must not decide HAR pairing.
#[test]
fn pairing_window_does_not_decide_har_pairing() {
    let rel = HARS[0];
    let n = entry_count(rel);
    let reversed: Vec<usize> = (0..n).rev().collect();
    let mut narrow = Options::default();
    narrow.pairing.horizon = 1_000_000;
    narrow.pairing.follow_window = 1_000_000;
    let har = load(rel);
    let identity: Vec<usize> = (0..n).collect();
    let want = records(reordered(&har, &identity), &Options::default());
    let got = mapped_back(records(reordered(&har, &reversed), &narrow), &reversed);
    assert_eq!(want, got);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn shuffled_entries_give_the_same_records(
        which in 0..HARS.len(),
        perm in Just(()).prop_flat_map(|()| {
            Just((0..300usize).collect::<Vec<_>>()).prop_shuffle()
        }),
    ) {
        let rel = HARS[which];
        let n = entry_count(rel);
        // A shuffle of 0..n: the shuffled 0..300 restricted to the file's entries.
        let perm: Vec<usize> = perm.into_iter().filter(|&i| i < n).collect();
        prop_assume!(perm.len() == n);
        check(rel, &perm, &Options::default());
    }
}
