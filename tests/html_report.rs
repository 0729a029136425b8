//! The HTML report rendered in headless Chromium shows the same numbers as `--format json`.
//! Needs Debian's `chromium` (`.ci/run` installs it; `CHROMIUM=/path` overrides the binary).

use std::path::PathBuf;
use std::process::Command;

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    for p in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if std::path::Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "headless Chromium not found: `apt-get install chromium` (as .ci/run does) or set CHROMIUM"
    );
}

/// Every `data-k="key">value<` in document order.
fn values(dom: &str, key: &str) -> Vec<u64> {
    let pat = format!("data-k=\"{key}\">");
    dom.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &dom[i + pat.len()..];
            rest[..rest.find('<')?].trim().parse().ok()
        })
        .collect()
}

#[test]
fn rendered_page_shows_the_json_numbers() {
    let bin = env!("CARGO_BIN_EXE_corscope");
    let input = "samples/cors-scenarios.devtools.har";
    let dir = std::env::temp_dir().join(format!("corscope-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html_path = dir.join("report.html");
    let run = |fmt: &str| {
        let out = Command::new(bin)
            .args([input, "-f", fmt, "--exit-zero"])
            .output()
            .expect("corscope runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    std::fs::write(&html_path, run("html")).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&run("json")).unwrap();
    let s = &json["summary"];
    let dom = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &format!("file://{}", html_path.display()),
        ])
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains("corscope report"),
        "Chromium rendered the page: {dom:.200}"
    );
    let t = &s["totals"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    let expect = [
        ("requests", n(&t["requests"]) - n(&t["not_cors"])),
        ("blocked", n(&t["blocked"])),
        ("allowed", n(&t["allowed"])),
        ("unknown", n(&t["unknown"])),
        ("endpoints", n(&t["endpoints"])),
        ("proven_fixed", n(&t["proven_fixed"])),
        ("fixable", n(&t["fixable"])),
        ("preflights", n(&t["preflights"])),
        ("findings", n(&t["findings"])),
    ];
    for (k, want) in expect {
        assert_eq!(values(&dom, k), vec![want], "{k}");
    }
    assert!(n(&t["blocked"]) > 0 && n(&t["proven_fixed"]) > 0);
    let routes = s["routes"].as_array().unwrap();
    let routes = &routes[..routes.len().min(corscope::summary::html::ENDPOINTS_SHOWN)];
    let blocked: Vec<u64> = routes.iter().map(|r| n(&r["blocked"])).collect();
    let requests: Vec<u64> = routes.iter().map(|r| n(&r["requests"])).collect();
    assert_eq!(values(&dom, "endpoint-blocked"), blocked);
    assert_eq!(values(&dom, "endpoint-requests"), requests);
    let findings = s["audit"].as_array().unwrap().len();
    assert_eq!(dom.matches("<tr data-code=").count(), findings);
    let _ = std::fs::remove_dir_all(&dir);
}
