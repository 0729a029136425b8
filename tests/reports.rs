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
