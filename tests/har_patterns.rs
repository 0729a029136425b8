//! Real exports are messier than a lab recording (issue 10). Each test here builds a HAR that
//! shows one pattern from the recorded dev HAR (`tests/data/chromium/devtools.har`) by editing,
//! duplicating, cutting or reordering its entries, runs the binary on it, and checks that no
//! wrong verdict comes out.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn dev_har() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/chromium/devtools.har");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn entries(har: &mut Value) -> &mut Vec<Value> {
    har["log"]["entries"].as_array_mut().unwrap()
}

/// Indexes of the entries of scenario `route` (`/s/<route>/` in the URL), in file order.
fn route_entries(har: &Value, route: &str) -> Vec<usize> {
    let pat = format!("/s/{route}/");
    har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, e)| e["request"]["url"].as_str().unwrap().contains(&pat))
        .map(|(i, _)| i)
        .collect()
}

fn shift_time(e: &mut Value, ms: i64) {
    let t = chrono::DateTime::parse_from_rfc3339(e["startedDateTime"].as_str().unwrap()).unwrap();
    let t = t + chrono::Duration::milliseconds(ms);
    e["startedDateTime"] = json!(t
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
}

fn write(name: &str, har: &Value) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("har_patterns");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(har).unwrap()).unwrap();
    path
}

/// (exit code, records) of `corscope analyze FILE --format ndjson --all ARGS`.
fn run(path: &Path, args: &[&str]) -> (i32, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .arg("analyze")
        .arg(path)
        .args(["--format", "ndjson", "--all"])
        .args(args)
        .output()
        .unwrap();
    let recs = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code().unwrap_or(-1), recs)
}

fn of_route<'a>(recs: &'a [Value], route: &str) -> Vec<&'a Value> {
    let pat = format!("/s/{route}/");
    recs.iter()
        .filter(|r| r["url"].as_str().unwrap().contains(&pat))
        .collect()
}

/// Issue 10.2: the same preflighted request twice at once (React StrictMode): GET, GET,
/// OPTIONS, OPTIONS. Each request gets one of the preflights; none is left over.
#[test]
fn duplicate_concurrent_requests_pair_one_to_one() {
    let mut har = dev_har();
    let route = "d-pf-put-json-ok";
    let [r, p] = route_entries(&har, route)[..] else {
        panic!("the dev HAR has this scenario's request and preflight")
    };
    let list = entries(&mut har);
    let (mut r2, mut p2) = (list[r].clone(), list[p].clone());
    // Request 1 at t, request 2 at t+1, preflight 1 at t+2, preflight 2 at t+3.
    shift_time(&mut r2, 1);
    shift_time(&mut list[p], 1);
    shift_time(&mut p2, 2);
    list.insert(p + 1, p2);
    list.insert(r + 1, r2);
    let (code, recs) = run(&write("double-fetch.har", &har), &[]);
    assert!(matches!(code, 0 | 1));
    let recs = of_route(&recs, route);
    assert_eq!(recs.len(), 2, "{recs:#?}");
    for rec in &recs {
        assert_eq!(rec["method"], "PUT");
        assert_eq!(rec["verdict"], "allowed", "{rec:#}");
        assert_eq!(rec["preflight"]["source"], "recorded", "{rec:#}");
    }
    assert_ne!(recs[0]["preflight"]["index"], recs[1]["preflight"]["index"]);
}

/// Issue 10.3: an export that ends on a preflight answered `ACAO: *` (its credentialed
/// request would fail, an uncredentialed one pass): the request never followed, so nothing
/// shows its credentials mode. Unknown, not a deduced-`include` block, and exit 0.
#[test]
fn preflight_never_followed_is_not_a_deduced_block() {
    let mut har = dev_har();
    let route = "d-pf-wildcard-credentials";
    let [_r, p] = route_entries(&har, route)[..] else {
        panic!("request and preflight")
    };
    // The export holds the page and then only the preflight.
    let list = entries(&mut har);
    let kept = vec![list[0].clone(), list[p].clone()];
    *list = kept;
    let (code, recs) = run(&write("never-followed.har", &har), &[]);
    let recs = of_route(&recs, route);
    assert_eq!(recs.len(), 1);
    for field in ["verdict", "firefox_verdict", "safari_verdict"] {
        assert_eq!(recs[0][field], "unknown", "{field}: {:#}", recs[0]);
    }
    assert_eq!(recs[0]["credentials"], "unknown");
    assert!(recs[0]["note"].as_str().unwrap().contains("never followed"));
    assert_eq!(code, 0, "nothing was blocked");
}

/// An entry of the dev HAR (by route and method) to edit into another pattern.
fn entry_of(har: &Value, route: &str, method: &str) -> Value {
    route_entries(har, route)
        .into_iter()
        .map(|i| har["log"]["entries"][i].clone())
        .find(|e| e["request"]["method"] == method)
        .expect("the dev HAR has this entry")
}

fn set_header(e: &mut Value, side: &str, name: &str, value: &str) {
    let list = e[side]["headers"].as_array_mut().unwrap();
    list.retain(|h| !h["name"].as_str().unwrap().eq_ignore_ascii_case(name));
    list.push(json!({"name": name, "value": value}));
}

/// An entry that failed at the network level: status 0, no response headers, `_error`, and
/// only the provisional request headers DevTools shows for such a request (no `Origin`).
fn failed(mut e: Value, url: &str, error: &str, resource_type: &str) -> Value {
    e["request"]["url"] = json!(url);
    e["request"]["headers"] = json!([
        {"name": "Referer", "value": "http://app.test:8080/"},
        {"name": "User-Agent", "value": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"}
    ]);
    e["response"] = json!({"status": 0, "statusText": "", "httpVersion": "", "headers": [],
        "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1,
        "bodySize": -1, "_transferSize": 0, "_error": error});
    e["_resourceType"] = json!(resource_type);
    e
}

/// Issue 10.4 and 10.5: traffic CORS does not govern is said to be so, and never blocked in
/// any browser's field: a WebSocket handshake, extension traffic, same-origin and no-cors
/// requests that failed at the network level. A cross-origin CORS request that failed at the
/// network level is a network error in every browser (Firefox's console calls it
/// CORSDidNotSucceed): unknown, and `--browser firefox` exits 0.
#[test]
fn traffic_cors_does_not_govern_is_never_blocked() {
    let mut har = dev_har();
    // Blocked in the recording: no ACAO.
    let base = entry_of(&har, "d-simple-get-no-acao", "GET");
    let mut ws = base.clone();
    ws["request"]["url"] = json!("ws://api.test:8081/s/p-websocket/r");
    set_header(&mut ws, "request", "Upgrade", "websocket");
    set_header(&mut ws, "request", "Connection", "Upgrade");
    ws["response"]["status"] = json!(101);
    ws["response"]["_error"] = Value::Null;
    ws["_resourceType"] = json!("websocket");
    let mut ext = base.clone();
    ext["request"]["url"] = json!("http://api.test:8081/s/p-extension/r");
    set_header(
        &mut ext,
        "request",
        "Origin",
        "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
    );
    set_header(&mut ext, "request", "Referer", "");
    let same = failed(
        base.clone(),
        "http://app.test:8080/s/p-same-origin-aborted/r",
        "net::ERR_ABORTED",
        "fetch",
    );
    let image = failed(
        base.clone(),
        "http://api.test:8081/s/p-image-refused/r",
        "net::ERR_CONNECTION_REFUSED",
        "image",
    );
    let mut refused = failed(
        base.clone(),
        "http://api.test:8081/s/p-cors-refused/r",
        "net::ERR_CONNECTION_REFUSED",
        "fetch",
    );
    set_header(&mut refused, "request", "Origin", "http://app.test:8080");
    let page = har["log"]["entries"][0].clone();
    *entries(&mut har) = vec![page, ws, ext, same, image, refused];
    let path = write("not-cors.har", &har);
    let (code, recs) = run(&path, &[]);
    let want = [
        ("p-websocket", "not-cors", "WebSocket"),
        ("p-extension", "not-cors", "extension"),
        ("p-same-origin-aborted", "not-cors", "same-origin"),
        ("p-image-refused", "not-cors", "no-cors"),
        ("p-cors-refused", "unknown", "network"),
    ];
    for (route, verdict, note) in want {
        let r = of_route(&recs, route);
        assert_eq!(r.len(), 1, "{route}: {recs:#?}");
        for field in ["verdict", "firefox_verdict", "safari_verdict"] {
            assert_eq!(r[0][field], verdict, "{route} {field}: {:#}", r[0]);
        }
        let n = r[0]["note"].as_str().unwrap_or_default();
        assert!(n.contains(note), "{route}: note {n:?}");
    }
    assert_eq!(code, 0, "nothing blocked");
    for browser in ["firefox", "safari", "chromium"] {
        let (code, _) = run(&path, &["--browser", browser]);
        assert_eq!(code, 0, "--browser {browser}");
    }
}

/// Issue 10.7: headers the browser adds itself (Chrome's X-Browser-* on Google hosts, the HTTP
/// cache's revalidation, DevTools' "Disable cache") are not the page's: a real block keeps its
/// reason and fix, and a passing request gets no "needed a preflight" note.
#[test]
fn browser_added_headers_do_not_erase_the_reason() {
    let mut har = dev_har();
    let added = [
        ("X-Browser-Channel", "stable"),
        ("X-Browser-Year", "2026"),
        ("X-Browser-Validation", "6h3XF8YcD8syi2FF2BbuE2KllQo="),
        (
            "X-Browser-Copyright",
            "Copyright 2026 Google LLC. All rights reserved.",
        ),
        ("If-None-Match", "\"v1\""),
        ("If-Modified-Since", "Tue, 24 Nov 2026 19:46:40 GMT"),
        ("Cache-Control", "no-cache"),
        ("Pragma", "no-cache"),
    ];
    let routes = ["d-simple-get-no-acao", "d-simple-get-exact-acao"];
    let mut edited = Vec::new();
    for route in routes {
        let mut e = entry_of(&har, route, "GET");
        for (n, v) in added {
            set_header(&mut e, "request", n, v);
        }
        edited.push(e);
    }
    let page = har["log"]["entries"][0].clone();
    let before = {
        let mut h = har.clone();
        *entries(&mut h) = vec![page.clone()]
            .into_iter()
            .chain(routes.iter().map(|r| entry_of(&har, r, "GET")))
            .collect();
        run(&write("browser-added-before.har", &h), &[]).1
    };
    *entries(&mut har) = vec![page].into_iter().chain(edited).collect();
    let (_, after) = run(&write("browser-added.har", &har), &[]);
    for route in routes {
        let (b, a) = (of_route(&before, route), of_route(&after, route));
        assert_eq!(a.len(), 1);
        for field in [
            "verdict",
            "reason",
            "fix",
            "firefox_verdict",
            "firefox_reason",
            "safari_verdict",
        ] {
            assert_eq!(a[0][field], b[0][field], "{route} {field}");
        }
        let note = a[0]["note"].as_str().unwrap_or_default();
        assert!(!note.contains("preflight"), "{route}: {note}");
    }
    assert_eq!(of_route(&after, routes[0])[0]["verdict"], "blocked");
}

/// Issue 10.8 and 10.10: a request aborted after its passed `ACAO: *` preflight was not
/// credentialed (Chromium fails a credentialed one with ERR_FAILED, never ERR_ABORTED), so it
/// is no block; a failed preflight's fix names the actual response as well.
#[test]
fn aborted_after_a_wildcard_preflight_is_not_credentialed() {
    let mut har = dev_har();
    let route = "d-pf-wildcard-credentials";
    let mut put = entry_of(&har, route, "PUT");
    assert_eq!(put["response"]["_error"], "net::ERR_FAILED");
    put["response"]["_error"] = json!("net::ERR_ABORTED");
    let options = entry_of(&har, route, "OPTIONS");
    let missing = "d-pf-missing-acao";
    let page = har["log"]["entries"][0].clone();
    let kept: Vec<Value> = route_entries(&har, missing)
        .into_iter()
        .map(|i| har["log"]["entries"][i].clone())
        .collect();
    *entries(&mut har) = [page, put, options].into_iter().chain(kept).collect();
    let path = write("aborted-after-wildcard.har", &har);
    let (_, recs) = run(&path, &[]);
    let r = of_route(&recs, route);
    assert_eq!(r.len(), 1, "{recs:#?}");
    assert_eq!(r[0]["credentials"], "omit", "{:#}", r[0]);
    for field in ["verdict", "firefox_verdict", "safari_verdict"] {
        assert_eq!(r[0][field], "unknown", "{field}: {:#}", r[0]);
    }
    let note = r[0]["note"].as_str().unwrap_or_default();
    assert!(note.contains("ERR_ABORTED"), "{note}");
    assert!(!note.contains("not visible"), "{note}");
    let m = of_route(&recs, missing);
    assert_eq!(m[0]["verdict"], "blocked");
    let fix = m[0]["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("OPTIONS (preflight) response") && fix.contains("PUT response after it"),
        "{fix}"
    );
}
