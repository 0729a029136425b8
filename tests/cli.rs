//! The binary's contract: formats, exit codes, errors naming the file, `explain`.

use std::process::Command;

fn corscope(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(args)
        .output()
        .expect("corscope runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SAMPLE: &str = "samples/cors-scenarios.devtools.har";

#[test]
fn shortcut_and_exit_codes() {
    let (code, out, _) = corscope(&[SAMPLE, "--format", "ndjson"]);
    assert_eq!(code, Some(1), "blocked flows exit 1");
    assert!(out.lines().count() > 100);
    let (code, _, _) = corscope(&["analyze", SAMPLE, "--format", "ndjson", "--exit-zero"]);
    assert_eq!(code, Some(0));
}

#[test]
fn csv_has_header_and_one_row_per_record() {
    let (_, nd, _) = corscope(&[SAMPLE, "--format", "ndjson"]);
    let (_, csv, _) = corscope(&[SAMPLE, "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    for col in [
        "source",
        "index",
        "time",
        "origin",
        "url",
        "method",
        "credentials",
        "preflight",
        "verdict",
        "reason",
        "failed_parameter",
        "firefox_reason",
        "message",
        "fix",
    ] {
        assert!(headers.iter().any(|h| h == col), "missing column {col}");
    }
    assert_eq!(rdr.records().count(), nd.lines().count());
}

#[test]
fn json_document_has_records_and_summary() {
    let (_, out, _) = corscope(&[SAMPLE, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let n = doc["records"].as_array().unwrap().len();
    assert_eq!(doc["summary"]["requests"].as_u64().unwrap() as usize, n);
    assert!(
        doc["summary"]["reasons"]["MissingAllowOriginHeader"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[test]
fn all_lists_not_cors_requests() {
    let (_, some, _) = corscope(&[SAMPLE, "--format", "ndjson"]);
    let (_, all, _) = corscope(&[SAMPLE, "--format", "ndjson", "--all"]);
    assert!(all.lines().count() > some.lines().count());
    assert!(all.contains("\"verdict\":\"not-cors\""));
}

#[test]
fn bad_inputs_name_the_file_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("corscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jpeg = dir.join("x.jpg");
    std::fs::write(&jpeg, b"\xff\xd8\xff\xe0\x00\x10JFIF").unwrap();
    let empty = dir.join("empty.har");
    std::fs::write(&empty, b"").unwrap();
    for p in [
        jpeg.to_str().unwrap(),
        empty.to_str().unwrap(),
        dir.to_str().unwrap(),
        "/nonexistent/x.har",
    ] {
        let (code, _, err) = corscope(&["analyze", p, "--format", "ndjson"]);
        assert_eq!(code, Some(2), "{p}: {err}");
        assert!(err.contains(&format!("corscope: error: {p}")), "{err}");
    }
    // A bad file does not stop the good one.
    let (code, out, _) = corscope(&[
        "analyze",
        jpeg.to_str().unwrap(),
        SAMPLE,
        "--format",
        "ndjson",
    ]);
    assert_eq!(code, Some(2));
    assert!(out.lines().count() > 100);
}

#[test]
fn explain_knows_all_three_browsers() {
    for name in [
        "MissingAllowOriginHeader",
        "CORSMissingAllowOrigin",
        "PreflightNotSuccessful",
    ] {
        let (code, out, _) = corscope(&["explain", name]);
        assert_eq!(code, Some(0), "{name}");
        assert!(out.contains("Access-Control-Allow-Origin"), "{name}");
    }
    let (code, _, err) = corscope(&["explain", "MissingAllowOrignHeader"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("MissingAllowOriginHeader"));
}

#[test]
fn limit_flags_are_applied_and_counted_not_fatal() {
    let (code, out, err) = corscope(&[SAMPLE, "--format", "ndjson", "--max-string-bytes", "4"]);
    assert_eq!(
        code,
        Some(0),
        "every entry is skipped, nothing is blocked: {err}"
    );
    assert!(out.is_empty());
    assert!(err.contains("limit-har-string"), "{err}");
    let (code, _, err) = corscope(&[SAMPLE, "--max-head-bytes", "lots"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a size"), "{err}");
    let (code, out, _) = corscope(&[
        SAMPLE,
        "--format",
        "ndjson",
        "--max-entry-bytes",
        "1M",
        "--pairing-window",
        "30",
    ]);
    assert_eq!(code, Some(1));
    assert!(out.lines().count() > 100);
}
