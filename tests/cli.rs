//! The binary's contract: formats, exit codes, errors naming the file, `explain`, filters,
//! one schema in every format, terminal layout, live input and signals, install helpers.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

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

/// corscope started with `args`, its standard input, output and error piped to the test.
fn piped(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("corscope runs")
}

/// corscope run with `args` on `bytes` written to its standard input by a thread of its own
/// (a pipe's buffer holds less than a capture), to its end.
fn through_stdin(args: &[&str], bytes: Vec<u8>) -> std::process::Output {
    let mut child = piped(args);
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().expect("corscope ends");
    writer
        .join()
        .expect("writer")
        .expect("corscope reads all of it");
    out
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

/// The exit status reads the summary's counts, which every format keeps (NDJSON and CSV
/// records without `--summary` keep no endpoint table): the same status in every format.
#[test]
fn every_format_exits_alike() {
    let cap = |f: &str| format!("tests/data/captures/{f}");
    // (input, --fail-on, status)
    let cases = [
        (SAMPLE.to_owned(), "blocked", 1),
        (SAMPLE.to_owned(), "unknown", 0),
        (SAMPLE.to_owned(), "never", 0),
        (cap("own-backend.pcap"), "blocked", 0),
        (cap("own-backend.pcap"), "unknown", 1),
        (cap("own-lo-ipv4.pcap"), "blocked", 0),
        (cap("own-cut.pcap"), "never", 2),
    ];
    for (input, fail_on, want) in &cases {
        for format in ["table", "ndjson", "csv", "json", "html", "junit"] {
            let (code, _, err) = corscope(&[input, "--format", format, "--fail-on", fail_on]);
            assert_eq!(
                code,
                Some(*want),
                "{input} --format {format} --fail-on {fail_on}: {err}"
            );
        }
    }
}

/// `--summary` prints a table or JSON; in a format it has no form in, it is a usage error
/// naming the format, with nothing on stdout (it used to print the ndjson summary for html and
/// junit, and nothing at all for csv).
#[test]
fn summary_only_in_table_and_json_forms() {
    for format in ["csv", "html", "junit"] {
        let (code, out, err) = corscope(&[SAMPLE, "--summary", "--format", format]);
        assert_eq!(code, Some(2), "{format}: {err}");
        assert!(out.is_empty(), "{format}: {out}");
        assert!(
            err.contains(&format!("--summary has no {format} form")),
            "{err}"
        );
    }
    let (_, out, _) = corscope(&[SAMPLE, "--summary", "--format", "ndjson"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["requests"].as_u64().unwrap() > 100);
    // Printed, so kept: the endpoint table of an NDJSON run's summary.
    assert!(!v["endpoints"].as_object().unwrap().is_empty());
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

fn with_env(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .output()
        .expect("corscope runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An error's byte offsets are of the bytes read: after decompression or UTF-16 decoding the
/// line says so (a reader looks for a file offset), unless the error is the decompressor's
/// own, which names the compressed and the decompressed offset itself.
#[test]
fn error_offsets_say_when_they_count_decoded_bytes() {
    use flate2::{write::GzEncoder, Compression};
    let gz = |b: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    let zst = |b: &[u8]| zstd::bulk::compress(b, 3).unwrap();
    let dir = temp_dir("offsets");
    let har = std::fs::read(SAMPLE).unwrap();
    let cut_har = &har[..30_000];
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            String::from_utf8_lossy(cut_har)
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let pcap = std::fs::read(FIREFOX_PCAP).unwrap();
    let cut_pcap = &pcap[..pcap.len() / 2];
    let mut bad_crc = gz(cut_pcap);
    let at = bad_crc.len() - 6;
    bad_crc[at] ^= 1;
    // (file, bytes, the note the error line ends with, if any)
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("cut.har", cut_har.to_vec(), None),
        ("cut.har.gz", gz(cut_har), Some("gzip decompression")),
        ("cut16.har", utf16.clone(), Some("UTF-16LE decoding")),
        (
            "cut16.har.gz",
            gz(&utf16),
            Some("gzip decompression and UTF-16LE decoding"),
        ),
        ("cut.pcap", cut_pcap.to_vec(), None),
        ("cut.pcap.gz", gz(cut_pcap), Some("gzip decompression")),
        ("crc.pcap.gz", bad_crc, None),
        ("cut.har.zst", zst(cut_har), Some("zstd decompression")),
        ("cut.pcap.zst", zst(cut_pcap), Some("zstd decompression")),
        ("zcut.pcap.zst", zst(&pcap)[..2000].to_vec(), None),
    ];
    for (name, bytes, note) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let p = path.to_str().unwrap();
        let (code, _, err) = corscope(&["analyze", p, "--format", "ndjson"]);
        assert_eq!(code, Some(2), "{name}: {err}");
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("corscope: error: {p}: ")))
            .unwrap_or_else(|| panic!("{name}: {err}"));
        assert!(line.contains("byte "), "{name}: {line}");
        match note {
            Some(n) => assert!(
                line.ends_with(&format!("(byte offsets count the bytes after {n})")),
                "{name}: {line}"
            ),
            None => assert!(!line.contains("byte offsets count"), "{name}: {line}"),
        }
    }
    // The decompressor's own error names both offsets.
    let (_, _, err) = corscope(&["analyze", dir.join("crc.pcap.gz").to_str().unwrap()]);
    assert!(err.contains("compressed byte"), "{err}");
    let (_, _, err) = corscope(&["analyze", dir.join("zcut.pcap.zst").to_str().unwrap()]);
    assert!(
        err.contains("zstd stream cut off at compressed byte 2000 (decompressed byte"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Playwright's archives (a trace, a HAR zipped) read from a file and from a pipe alike; an
/// archive cut inside its network log (a download stopped) gives the records of the entries
/// before the cut, then an error naming the file and both offsets; an archive without a HAR
/// says what it holds.
#[test]
fn playwright_archives_from_files_pipes_and_cut_copies() {
    const TRACE: &str = "tests/data/chromium/playwright-trace.zip";
    let verdicts = |out: &[u8]| -> Vec<(u64, String, String)> {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| {
                let r: serde_json::Value = serde_json::from_str(l).expect("a JSON record");
                (
                    r["index"].as_u64().unwrap(),
                    r["url"].to_string(),
                    r["verdict"].to_string(),
                )
            })
            .collect()
    };
    let args = ["analyze", "-", "--format", "ndjson", "--all"];
    let (code, whole, err) = corscope(&["analyze", TRACE, "--format", "ndjson", "--all"]);
    assert_eq!(code, Some(1), "{err}");
    let whole = verdicts(whole.as_bytes());
    assert_eq!(whole.len(), 114);
    let zip = std::fs::read(TRACE).unwrap();
    let piped = through_stdin(&args, zip.clone());
    assert_eq!(verdicts(&piped.stdout), whole);
    // Cut 5000 bytes into the network log's member (the archive's second).
    let second = zip
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"PK\x03\x04")
        .nth(1)
        .unwrap()
        .0;
    let cut = second + 5000;
    let out = through_stdin(&args, zip[..cut].to_vec());
    let (got, err) = (verdicts(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(got.len() > 10 && got.len() < whole.len(), "{}", got.len());
    for r in &got {
        assert!(whole.contains(r), "{r:?}");
    }
    assert!(
        err.contains("-: HAR: read error at byte ")
            && err.contains(&format!(
                "zip stream cut off at compressed byte {cut} (decompressed byte "
            )),
        "{err}"
    );
    let dir = temp_dir("archives");
    let none = dir.join("none.zip");
    std::fs::write(&none, &zip[second..second + 30]).unwrap();
    let (code, _, err) = corscope(&["analyze", none.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("zip stream cut off at compressed byte 30"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A capture compressed by the zstd CLI, by pzstd (a skippable frame first), by the lz4 CLI
/// (linked blocks with checksums) or by gzip, from a file or from stdin, gives the records of
/// the plain capture.
#[test]
fn compressed_captures_read_as_the_plain_one() {
    use flate2::{write::GzEncoder, Compression};
    let records = |args: &[&str], stdin: Option<&[u8]>| -> Vec<Value> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_corscope"));
        cmd.args(["analyze", "--format", "ndjson", "--all"])
            .args(args);
        let out = match stdin {
            None => cmd.output().expect("corscope runs"),
            Some(bytes) => {
                let mut child = cmd
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("corscope runs");
                child.stdin.take().unwrap().write_all(bytes).unwrap();
                child.wait_with_output().unwrap()
            }
        };
        assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}");
        let mut v = ndjson(&String::from_utf8_lossy(&out.stdout));
        for r in &mut v {
            // The input's name is the one thing that differs (also where `location` starts).
            let r = r.as_object_mut().unwrap();
            let source = r.remove("source").unwrap();
            let source = source.as_str().unwrap();
            let at = r["location"].as_str().unwrap().replacen(source, "", 1);
            r.insert("location".into(), Value::String(at));
        }
        v
    };
    let plain = records(&[FIREFOX_PCAP], None);
    assert!(plain.len() > 100);
    let dir = temp_dir("compressed");
    let gz = dir.join("firefox.pcap.gz");
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(&std::fs::read(FIREFOX_PCAP).unwrap()).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    for file in [
        "tests/data/captures/own-zstd.pcap.zst",
        "tests/data/captures/own-pzstd.pcap.zst",
        "tests/data/captures/own-lz4.pcap.lz4",
        gz.to_str().unwrap(),
    ] {
        assert_eq!(records(&[file], None), plain, "{file}");
        assert_eq!(
            records(&["-"], Some(&std::fs::read(file).unwrap())),
            plain,
            "{file} on stdin"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Captures handed over in an archive, as `tcpdump -C` rotated them (`firefox.pcap` in three
/// files): zipped, or each gzipped (`tcpdump -z gzip`) and archived by `tar czf`. From a file or
/// stdin, in archive order, the files are read joined and give the plain capture's records
/// (but where a record points: the joined stream holds two more file headers). Archived
/// newest first, each file is a capture part of its own: a record may only turn `unknown`
/// (a preflight at one file's end, its request in the next), never another verdict. Cut off,
/// the archive gives a prefix of its records and the error naming both offsets.
#[test]
fn rotated_captures_in_archives_read_as_the_plain_one() {
    use flate2::{write::GzEncoder, Compression};
    let run = |args: &[&str], stdin: Option<Vec<u8>>| -> (Option<i32>, Vec<Value>, String) {
        let args: Vec<&str> = ["analyze", "--format", "ndjson", "--all"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let out = match stdin {
            Some(bytes) => through_stdin(&args, bytes),
            None => Command::new(env!("CARGO_BIN_EXE_corscope"))
                .args(&args)
                .output()
                .expect("corscope runs"),
        };
        let mut v = ndjson(&String::from_utf8_lossy(&out.stdout));
        for r in &mut v {
            let r = r.as_object_mut().unwrap();
            r.remove("source");
            r.remove("location");
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), v, err)
    };
    let (_, plain, _) = run(&[FIREFOX_PCAP], None);
    assert!(plain.len() > 100);
    const TGZ: &str = "tests/data/captures/firefox-rotated.tgz";
    for file in [TGZ, "tests/data/captures/firefox-rotated.zip"] {
        let (code, got, err) = run(&[file], None);
        assert_eq!((code, &got), (Some(1), &plain), "{file}: {err}");
        let (_, piped, _) = run(&["-"], Some(std::fs::read(file).unwrap()));
        assert_eq!(piped, plain, "{file} on stdin");
    }
    // The same members archived newest first.
    let tgz = std::fs::read(TGZ).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz.as_slice()));
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if !name.ends_with('/') {
            members.push((name, data));
        }
    }
    assert_eq!(members.len(), 3);
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, data) in members.iter().rev() {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    let reversed = b.into_inner().unwrap().finish().unwrap();
    let (_, got, err) = run(&["-"], Some(reversed));
    assert!(err.contains("capture-part-out-of-order"), "{err}");
    // Parts are numbered in the order read: records are matched by request and decisions.
    let decided = |r: &Value| -> Vec<String> {
        [
            "time",
            "url",
            "method",
            "verdict",
            "reason",
            "firefox_verdict",
            "safari_verdict",
        ]
        .iter()
        .map(|f| r[*f].to_string())
        .collect()
    };
    let plain_decided: Vec<Vec<String>> = plain.iter().map(decided).collect();
    let mut turned_unknown = 0;
    for r in got.iter().filter(|r| !plain_decided.contains(&decided(r))) {
        for verdict in ["verdict", "firefox_verdict", "safari_verdict"] {
            assert_eq!(r[verdict], "unknown", "{r}");
        }
        turned_unknown += 1;
    }
    assert!(
        turned_unknown > 0 && turned_unknown < 10,
        "{turned_unknown}"
    );
    // Cut inside the second capture's member.
    let (code, got, err) = run(&["-"], Some(tgz[..tgz.len() / 2].to_vec()));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("gzip stream cut off at compressed byte"),
        "{err}"
    );
    assert!(got.len() > 10 && got.len() < plain.len(), "{}", got.len());
    let dir = temp_dir("tar");
    let none = dir.join("none.tar");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    b.append_data(&mut h, "notes.txt", &b"notes"[..]).unwrap();
    std::fs::write(&none, b.into_inner().unwrap()).unwrap();
    let (code, _, err) = run(&[none.to_str().unwrap()], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the tar archive holds no HAR") && err.contains("members: notes.txt"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn ndjson(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect()
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corscope-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const FIREFOX_PCAP: &str = "tests/data/captures/firefox.pcap";

/// The record's columns as CSV writes them, from the published schema.
fn schema_columns(schema: &Value) -> Vec<String> {
    let mut cols = Vec::new();
    for name in schema["required"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        let prop = &schema["properties"][name];
        match prop.get("required") {
            Some(sub) => cols.extend(
                sub.as_array()
                    .unwrap()
                    .iter()
                    .map(|s| format!("{name}_{}", s.as_str().unwrap())),
            ),
            None => cols.push(name.to_owned()),
        }
    }
    cols
}

/// Whether `v` satisfies a property schema of `corscope schema` (type, enum, nested object).
fn conforms(v: &Value, prop: &Value) -> bool {
    let types: Vec<&str> = match &prop["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return false,
    };
    let type_ok = types.iter().any(|t| match *t {
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "object" => v.as_object().is_some_and(|o| {
            let keys: Vec<&String> = o.keys().collect();
            let req = prop["required"].as_array().unwrap();
            keys.len() == req.len()
                && req.iter().all(|k| {
                    let k = k.as_str().unwrap();
                    o.get(k)
                        .is_some_and(|x| conforms(x, &prop["properties"][k]))
                })
        }),
        _ => false,
    });
    let enum_ok = prop
        .get("enum")
        .and_then(Value::as_array)
        .is_none_or(|e| e.contains(v));
    type_ok && enum_ok
}

/// Every NDJSON record has exactly the schema's fields, in its order, each conforming.
fn check_record(r: &Value, schema: &Value) {
    let order: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let obj = r.as_object().expect("a record is an object");
    assert_eq!(obj.len(), order.len(), "{r}");
    for name in &order {
        let v = obj
            .get(*name)
            .unwrap_or_else(|| panic!("{name} missing in {r}"));
        assert!(
            conforms(v, &schema["properties"][*name]),
            "{name} = {v} does not conform"
        );
    }
}

#[test]
fn every_format_follows_the_published_schema() {
    let (code, schema, _) = corscope(&["schema"]);
    assert_eq!(code, Some(0));
    let schema: Value = serde_json::from_str(&schema).unwrap();
    for input in [SAMPLE, FIREFOX_PCAP] {
        let (_, nd, _) = corscope(&[input, "--format", "ndjson", "--all"]);
        let nd_text = nd;
        let records = ndjson(&nd_text);
        assert!(records.len() > 100);
        // Field order as written, not only as parsed.
        let first_keys: Vec<String> = {
            let line = nd_text.lines().next().unwrap();
            let mut keys = Vec::new();
            let mut rest = line;
            for name in schema["required"].as_array().unwrap() {
                let key = format!("\"{}\":", name.as_str().unwrap());
                let at = rest.find(&key).expect("field in order");
                rest = &rest[at + key.len()..];
                keys.push(key);
            }
            keys
        };
        assert_eq!(
            first_keys.len(),
            schema["required"].as_array().unwrap().len()
        );
        for r in &records {
            check_record(r, &schema);
        }
        let (_, json, _) = corscope(&[input, "--format", "json", "--all"]);
        let doc: Value = serde_json::from_str(&json).unwrap();
        let json_records = doc["records"].as_array().unwrap();
        assert_eq!(json_records, &records);
        // CSV: the same fields (the preflight object flattened), the same values.
        let (_, csv_text, _) = corscope(&[input, "--format", "csv", "--all"]);
        let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
        let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header, schema_columns(&schema));
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), records.len());
        for (row, r) in rows.iter().zip(&records) {
            for (col, cell) in header.iter().zip(row.iter()) {
                // A record field of that name, else a field of the flattened preflight.
                let v = match (r.get(col.as_str()), col.strip_prefix("preflight_")) {
                    (Some(v), _) => v.clone(),
                    (None, Some(sub)) => r["preflight"].get(sub).cloned().unwrap_or(Value::Null),
                    (None, None) => panic!("CSV column {col} is no record field"),
                };
                let want = match &v {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(cell, want, "{col} of {}", r["index"]);
            }
        }
    }
}

#[test]
fn json_summary_speaks_for_the_browser_of_each_input() {
    let (_, out, _) = corscope(&[FIREFOX_PCAP, "--format", "json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["summary"]["browser"], "firefox");
    let blocked = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["firefox_verdict"] == "blocked")
        .count();
    assert_eq!(doc["summary"]["verdicts"]["blocked"], blocked);
    // Two inputs from two browsers: each judged for its own, the run is "mixed".
    let (_, out, _) = corscope(&[SAMPLE, FIREFOX_PCAP, "--format", "json", "-j", "2"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let inputs = doc["summary"]["inputs"].as_array().unwrap();
    assert_eq!(inputs[0]["browser"], "chromium");
    assert_eq!(inputs[1]["browser"], "firefox");
    assert_eq!(doc["summary"]["browser"], "mixed");
    // The table names each input in a heading of its own, with its browser.
    let (_, table, _) = corscope(&[SAMPLE, FIREFOX_PCAP, "--format", "table"]);
    assert!(
        table.contains(&format!("{SAMPLE} · as Chromium decides")),
        "{table}"
    );
    assert!(table.contains(&format!("{FIREFOX_PCAP} · as Firefox decides")));
}

#[test]
fn all_does_not_count_not_cors_as_cross_origin() {
    let (_, some, _) = corscope(&[SAMPLE, "--format", "json"]);
    let (_, all, _) = corscope(&[SAMPLE, "--format", "json", "--all"]);
    let some: Value = serde_json::from_str(&some).unwrap();
    let all: Value = serde_json::from_str(&all).unwrap();
    assert_eq!(some["summary"]["requests"], all["summary"]["requests"]);
    assert!(all["summary"]["not_cors"].as_u64().unwrap() > 0);
}

#[test]
fn flags_go_before_or_after_the_files() {
    let (_, after, _) = corscope(&[SAMPLE, "--format", "csv", "-j", "1", "--browser", "firefox"]);
    for args in [
        &["--format", "csv", "-j", "1", "--browser", "firefox", SAMPLE][..],
        &["-j", "1", "--format", "csv", SAMPLE, "--browser", "firefox"],
        &[
            "analyse",
            "--browser",
            "firefox",
            "--format",
            "csv",
            "-j",
            "1",
            SAMPLE,
        ],
        &[
            "analyze",
            SAMPLE,
            "--format=csv",
            "-j1",
            "--browser=firefox",
        ],
    ] {
        let (code, out, err) = corscope(args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert_eq!(out, after, "{args:?}");
    }
    let (code, _, err) = corscope(&["anlyze", SAMPLE]);
    assert_eq!(code, Some(2));
    assert!(err.contains("did you mean `corscope analyze`"), "{err}");
    let (code, _, err) = corscope(&["expalin", "MissingAllowOriginHeader"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("corscope explain"), "{err}");
}

#[test]
fn filters_views_and_fail_on() {
    let (_, all, _) = corscope(&[SAMPLE, "--format", "ndjson"]);
    let all = ndjson(&all);
    let count = |v: &str| all.iter().filter(|r| r["verdict"] == v).count();
    let (code, out, _) = corscope(&[SAMPLE, "--format", "ndjson", "--only", "blocked"]);
    assert_eq!(code, Some(1));
    let out = ndjson(&out);
    assert_eq!(out.len(), count("blocked"));
    assert!(out.iter().all(|r| r["verdict"] == "blocked"));
    let (code, out, _) = corscope(&[SAMPLE, "--format", "ndjson", "--only", "allowed,unknown"]);
    assert_eq!(code, Some(0), "no blocked record is kept, none fails");
    assert_eq!(ndjson(&out).len(), count("allowed") + count("unknown"));
    // --url and --origin globs.
    let (_, out, _) = corscope(&[SAMPLE, "--format", "ndjson", "--url", "*/s/d-cred-*"]);
    let out = ndjson(&out);
    assert!(!out.is_empty());
    assert!(out
        .iter()
        .all(|r| r["url"].as_str().unwrap().contains("/s/d-cred-")));
    let (_, out, _) = corscope(&[
        SAMPLE,
        "--format",
        "ndjson",
        "--origin",
        "http://app.test:*",
    ]);
    let n = ndjson(&out).len();
    assert!(n > 0 && n <= all.len());
    let (_, out, _) = corscope(&[
        SAMPLE,
        "--format",
        "ndjson",
        "--origin",
        "https://nowhere.*",
    ]);
    assert!(out.is_empty());
    // --summary: no records; --quiet: nothing.
    let (code, out, _) = corscope(&[SAMPLE, "--format", "json", "--summary"]);
    assert_eq!(code, Some(1));
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert!(doc.get("records").is_none());
    assert_eq!(doc["summary"]["requests"], all.len());
    let (code, out, _) = corscope(&[SAMPLE, "--format", "table", "--summary"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("Blocked, by reason") && !out.contains("    2  blocked"));
    let (code, out, err) = corscope(&[SAMPLE, "--quiet"]);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(1), "", ""));
    // --fail-on: unknown fails on the capture's undecidable requests, never does not fail.
    let (code, _, _) = corscope(&[
        FIREFOX_PCAP,
        "-q",
        "--browser",
        "chromium",
        "--only",
        "unknown",
        "--fail-on",
        "blocked",
    ]);
    assert_eq!(code, Some(0));
    let (code, _, _) = corscope(&[
        FIREFOX_PCAP,
        "-q",
        "--browser",
        "chromium",
        "--only",
        "unknown",
        "--fail-on",
        "unknown",
    ]);
    assert_eq!(code, Some(1));
    let (code, _, _) = corscope(&[SAMPLE, "-q", "--fail-on", "never"]);
    assert_eq!(code, Some(0));
    // --fail-on finding: the sample's audit has high, medium and low findings; counted over
    // the records the filters keep (one high finding's endpoint, or none of the findings').
    let (code, _, _) = corscope(&[SAMPLE, "-q", "--fail-on", "finding"]);
    assert_eq!(code, Some(1));
    let (code, _, _) = corscope(&[
        SAMPLE,
        "-q",
        "--fail-on",
        "finding",
        "--finding-severity",
        "high",
        "--url",
        "*/d-simple-get-acao-null/*",
    ]);
    assert_eq!(code, Some(1));
    let (code, _, _) = corscope(&[
        SAMPLE,
        "-q",
        "--fail-on",
        "finding",
        "--url",
        "*/d-simple-get-exact-acao/*",
    ]);
    assert_eq!(code, Some(0));
}

/// `--fail-on finding` counts the audit's findings at `--finding-severity` or above (default
/// medium), in every format: the backend capture's only findings are low ones (preflights
/// without `Access-Control-Max-Age`); the sample's preflight answering
/// `Access-Control-Allow-Headers: *` with credentials has a medium one (`CA008`) and a low one.
#[test]
fn fail_on_finding_counts_by_severity() {
    let backend = "tests/data/captures/own-backend.pcap";
    let wildcard = "*/d-pf-acah-wildcard-credentials/*";
    // (input, --url, --finding-severity, status)
    let cases = [
        (backend, None, None, 0),
        (backend, None, Some("medium"), 0),
        (backend, None, Some("low"), 1),
        (backend, None, Some("info"), 1),
        (SAMPLE, Some(wildcard), None, 1),
        (SAMPLE, Some(wildcard), Some("high"), 0),
        ("samples/browsers-disagree.har", None, Some("info"), 0),
    ];
    for (input, url, severity, want) in &cases {
        for format in ["table", "ndjson", "csv", "json", "html", "junit"] {
            let mut args = vec![*input, "--format", format, "--fail-on", "finding"];
            if let Some(u) = url {
                args.extend(["--url", u]);
            }
            if let Some(s) = severity {
                args.extend(["--finding-severity", s]);
            }
            let (code, _, err) = corscope(&args);
            assert_eq!(code, Some(*want), "{args:?}: {err}");
        }
    }
    // The count does not change what is printed: NDJSON's `--summary` has no audit in it.
    let (_, with, _) = corscope(&[
        SAMPLE,
        "--summary",
        "--format",
        "ndjson",
        "--fail-on",
        "finding",
    ]);
    let (_, without, _) = corscope(&[SAMPLE, "--summary", "--format", "ndjson"]);
    assert_eq!(with, without);
    assert!(!with.contains("CA002"), "{with}");
}

/// A HAR cut in the middle: the records before the cut are printed, the error is named, on
/// stderr, under the table's summary and in the JSON summary, and the status is 2.
#[test]
fn truncated_input_gives_partial_output_and_exit_2() {
    let dir = temp_dir("cut");
    let cut = dir.join("cut.har");
    let whole = std::fs::read(SAMPLE).unwrap();
    std::fs::write(&cut, &whole[..whole.len() * 3 / 5]).unwrap();
    let cut = cut.to_str().unwrap();
    let (code, out, err) = corscope(&[cut, "--format", "ndjson"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(ndjson(&out).len() > 30);
    assert!(err.contains(&format!("corscope: error: {cut}")), "{err}");
    let (code, out, _) = corscope(&[cut, "--format", "json"]);
    assert_eq!(code, Some(2));
    let doc: Value = serde_json::from_str(&out).unwrap();
    let errors = doc["summary"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].as_str().unwrap().starts_with(cut));
    let (code, out, _) = corscope(&[cut, "--format", "table", "--width", "200"]);
    assert_eq!(code, Some(2));
    let tail = &out[out.find("cross-origin request(s) as").unwrap()..];
    assert!(
        tail.contains("Errors (exit status 2):") && tail.contains(cut),
        "{tail}"
    );
}

/// `corscope … | head`: the reader goes away; corscope ends quietly with status 0.
#[test]
fn closed_pipe_ends_quietly_in_every_format() {
    for format in ["ndjson", "csv", "json", "table"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_corscope"))
            // Output well past a pipe's buffer (the table's is the smallest, ~600 KB), so the
            // writes after the reader left must fail.
            .args([&[SAMPLE; 16][..], &["--all", "--format", format, "-j", "1"]].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 100];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("error"),
            "{format}: {err}"
        );
    }
}

#[test]
fn table_wraps_at_words_and_never_splits_a_token() {
    let (_, nd, _) = corscope(&[SAMPLE, "--format", "ndjson"]);
    let records = ndjson(&nd);
    for (args, width) in [
        (vec!["--width", "80"], 80),
        (vec![], 70),
        (vec!["--width", "120"], 120),
        // Narrower than the input's heading (it was printed whole).
        (vec!["--width", "40"], 40),
    ] {
        let mut all = vec![SAMPLE, "--format", "table", "--color", "never"];
        all.extend(args.iter().copied());
        let (_, out, _) = with_env(&all, &[("COLUMNS", "70")]);
        for line in out.lines() {
            let n = line.chars().count();
            // Longer only when one token (a URL) cannot fit: then it stands with its label.
            assert!(
                n <= width || line.split_whitespace().count() <= 2,
                "{width}: {line:?}"
            );
        }
        let tokens: std::collections::HashSet<&str> = out.split_whitespace().collect();
        for r in &records {
            let url = r["url"].as_str().unwrap();
            assert!(tokens.contains(url), "{width}: {url} split or missing");
            if let Some(reason) = r["reason"].as_str() {
                assert!(tokens.contains(reason), "{reason}");
            }
        }
        assert!(!out.contains('\x1b'));
    }
    // A terminal or COLUMNS reporting 0 columns: 80.
    let (_, out, _) = with_env(&[SAMPLE, "--format", "table"], &[("COLUMNS", "0")]);
    let widest = out.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(
        (70..=80).contains(&widest) || out.lines().any(|l| l.split_whitespace().count() <= 2),
        "{widest}"
    );
    assert!(out
        .lines()
        .all(|l| l.chars().count() <= 80 || l.split_whitespace().count() <= 2));
    let (_, out, _) = corscope(&[SAMPLE, "--format", "table", "--color", "always"]);
    assert!(out.contains("\x1b[1;31mblocked\x1b[0m"));
    let (_, out, _) = with_env(
        &[SAMPLE, "--format", "table"],
        &[("NO_COLOR", "1"), ("TERM", "dumb")],
    );
    assert!(!out.contains('\x1b'));
}

/// A live pipe: SIGTERM or SIGINT ends the input as its end would (records, summary, status
/// from the verdicts, not 130/143). A HAR is a finite document whose entries are paired in
/// time order, so its records come once its input ends (here: by the signal); a capture's
/// records stream while the writer still holds the pipe (`tests/live.rs`).
#[test]
fn live_pipe_streams_records_and_a_signal_ends_the_input() {
    let har: Value = serde_json::from_str(&std::fs::read_to_string(SAMPLE).unwrap()).unwrap();
    let log = &har["log"];
    let entries = log["entries"].as_array().unwrap();
    // A later entry moves capture time past the pairing window, so the first ones are final.
    let mut late = entries[entries.len() - 1].clone();
    late["startedDateTime"] = "2026-11-24T19:49:11.027Z".into();
    let mut text = format!(
        "{{\"log\":{{\"version\":\"1.2\",\"creator\":{},\"browser\":{},\"entries\":[",
        log["creator"], log["browser"]
    );
    for e in entries.iter().take(20).chain([&late]) {
        text.push_str(&e.to_string());
        text.push(',');
    }
    for (format, signal) in [("ndjson", "-TERM"), ("csv", "-INT")] {
        let mut child = piped(&["-", "--format", format]);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let _ = tx.send(got.clone());
            }
            got
        });
        let start = Instant::now();
        // Nothing ends the input but the signal (stdin stays open).
        std::thread::sleep(Duration::from_millis(500));
        drop(rx);
        let pid = child.id().to_string();
        let killed = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        let out = String::from_utf8(reader.join().unwrap()).unwrap();
        drop(stdin);
        assert!(start.elapsed() < Duration::from_secs(20));
        assert!(out.contains("d-simple-get-no-acao"), "{format}: {out}");
        assert_eq!(
            status.code(),
            Some(1),
            "{format}: blocked requests were found: {out}"
        );
        assert!(out.lines().count() >= 15, "{format}: {out}");
    }
}

#[test]
fn every_limit_is_a_flag_and_acts() {
    let (_, help, _) = corscope(&["analyze", "--help"]);
    // As words: clap wraps long help lines wherever the width falls.
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for l in corscope::limits::LIMITS {
        assert!(
            help.contains(&format!("--{}", l.flag)),
            "--{} missing from help",
            l.flag
        );
        assert!(help.contains(&format!("[default: {}", l.default_text())));
    }
    // A packet above --max-record-bytes stops the capture even when it fits the read block.
    let (code, _, err) = corscope(&[FIREFOX_PCAP, "--max-record-bytes", "200", "-q"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("larger than the 200-byte limit"), "{err}");
    // A HAR after more whitespace than the detection window.
    let dir = temp_dir("window");
    let padded = dir.join("padded.har");
    let mut bytes = vec![b' '; 1_200_000];
    bytes.extend(std::fs::read(SAMPLE).unwrap());
    std::fs::write(&padded, bytes).unwrap();
    let padded = padded.to_str().unwrap();
    let (code, _, err) = corscope(&[padded, "-q"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a HAR"), "{err}");
    let (code, _, err) = corscope(&[padded, "-q", "--detect-window", "2M"]);
    assert_eq!(code, Some(1), "{err}");
    // The pairing buffer: one exchange held decides each at once (preflights go unpaired).
    let (_, few, err) = corscope(&[SAMPLE, "--max-pairing-buffer", "1", "--format", "ndjson"]);
    assert!(err.contains("limit-pairing-buffer"), "{err}");
    let (_, normal, _) = corscope(&[SAMPLE, "--format", "ndjson"]);
    assert_ne!(few, normal);
    // The pairing buffer's byte bound: a few hundred bytes hold no exchange, each is decided
    // at once, and the warning names the byte bound.
    let (_, few_bytes, err) = corscope(&[
        SAMPLE,
        "--max-pairing-bytes",
        "1K",
        "--format",
        "ndjson",
        "--verbose",
    ]);
    assert!(err.contains("limit-pairing-buffer"), "{err}");
    assert!(err.contains("hold more than 1024 bytes"), "{err}");
    assert_ne!(few_bytes, normal);
    for flag in [
        "--max-reorder-buffer",
        "--max-ooo-segments",
        "--max-reorder-bytes",
    ] {
        let (code, out, err) = corscope(&[FIREFOX_PCAP, flag, "1", "--format", "ndjson"]);
        assert!(matches!(code, Some(0 | 1)), "{flag}: {err}");
        assert!(!out.is_empty());
    }
}

#[test]
fn completions_man_page_and_help_come_from_the_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = corscope(&["completions", shell]);
        assert_eq!(code, Some(0));
        assert!(
            out.contains("corscope") && out.contains("max-pairing-buffer"),
            "{shell}"
        );
    }
    // Cut short by `| head`: quiet, status 0 (clap_complete itself panics on a write error).
    for args in [&["completions", "fish"][..], &["man"], &["schema"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_corscope"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}");
    }
    let (code, out, _) = corscope(&["man"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(".TH corscope") && out.contains("fail\\-on"),
        "{out}"
    );
    let (code, out, _) = corscope(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Examples:") && out.contains("--only"));
}

/// Replaces the text between `begin` and `end` in `doc` with `body`.
fn replace_block(doc: &str, begin: &str, end: &str, body: &str) -> Option<(String, String)> {
    let start = doc.find(begin)? + begin.len();
    let stop = start + doc[start..].find(end)?;
    Some((
        doc[start..stop].to_owned(),
        format!("{}{body}{}", &doc[..start], &doc[stop..]),
    ))
}

/// The README's sample output is the binary's, byte for byte, and its limits table is the one
/// the flags are made from (`UPDATE_README=1` rewrites both); every repository path the README
/// names exists in a clone.
#[test]
fn readme_sample_output_is_current_and_its_paths_exist() {
    // The sample-output blocks' command: the table at width 100, no colour.
    let table = |sample: &str| {
        corscope(&[
            "--format", "table", "--width", "100", "--color", "never", sample,
        ])
        .1
    };
    let blocks = [
        (
            "<!-- sample-output: corscope --format table --width 100 --color never samples/browsers-disagree.har -->\n```\n",
            "```\n<!-- end sample-output -->",
            table("samples/browsers-disagree.har"),
        ),
        (
            "<!-- sample-output: corscope --format table --width 100 --color never samples/why-only-in-safari.har -->\n```\n",
            "```\n<!-- end sample-output -->",
            table("samples/why-only-in-safari.har"),
        ),
        (
            "<!-- limits -->\n",
            "<!-- end limits -->",
            corscope::limits::markdown_table(),
        ),
        (
            "<!-- warnings -->\n",
            "<!-- end warnings -->",
            corscope::diag::markdown_table(),
        ),
    ];
    let mut readme = std::fs::read_to_string("README.md").unwrap();
    for (begin, end, body) in blocks {
        let (old, updated) = replace_block(&readme, begin, end, &body).expect("README block");
        if std::env::var_os("UPDATE_README").is_some() {
            readme = updated;
            std::fs::write("README.md", &readme).unwrap();
        } else {
            assert_eq!(
                old, body,
                "README block after {begin:?} is stale: UPDATE_README=1 cargo test --release --test cli readme"
            );
        }
    }
    for word in readme.split(|c: char| c.is_whitespace() || "`()[]<>\"',".contains(c)) {
        let w = word.trim_end_matches(['.', ':', ';']);
        let repo_path = [
            "samples/", "src/", "tests/", "benches/", ".ci/", "fuzz/", "docs/",
        ]
        .iter()
        .any(|p| w.starts_with(p));
        if repo_path && !w.contains('*') && !w.contains('{') {
            assert!(
                std::path::Path::new(w).exists(),
                "README names {w}, which a clone lacks"
            );
        }
        assert!(
            !w.starts_with("../"),
            "README points outside the repository: {w}"
        );
    }
}

/// Standard input read from a file (`corscope - < f`) or a pipe gives the file's records.
#[test]
fn stdin_gives_the_same_records_as_the_file() {
    let (_, want, _) = corscope(&[FIREFOX_PCAP, "--format", "ndjson", "-j", "2"]);
    let want = want.replace(
        &format!("\"source\":\"{FIREFOX_PCAP}\""),
        "\"source\":\"-\"",
    );
    let want = want.replace(&format!("{FIREFOX_PCAP}:"), "-:");
    let file = std::fs::File::open(FIREFOX_PCAP).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(["-", "--format", "ndjson", "-j", "2"])
        .stdin(file)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    let bytes = std::fs::read(FIREFOX_PCAP).unwrap();
    let out = through_stdin(&["-", "--format", "ndjson", "-j", "2"], bytes);
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

/// A HAR saved again as UTF-16 (Windows PowerShell's `>` writes UTF-16LE with a byte-order
/// mark), in either byte order, gzipped or not, gives the UTF-8 file's records and exit code.
#[test]
fn utf16_har_gives_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(SAMPLE).unwrap();
    let (code, want, _) = corscope(&[SAMPLE, "--format", "ndjson"]);
    let le: Vec<u8> = "\u{feff}"
        .encode_utf16()
        .chain(text.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&le).unwrap();
    let files = [
        ("le.har", le.clone()),
        ("be.har", be),
        ("le.har.gz", gz.finish().unwrap()),
    ];
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let path = path.to_str().unwrap();
        let (got_code, got, err) = corscope(&[path, "--format", "ndjson"]);
        assert_eq!(got_code, code, "{name}: {err}");
        assert!(want.lines().count() > 20);
        assert_eq!(got.replace(path, SAMPLE), want, "{name}");
    }
}

/// A capture file is mapped unless `--no-mmap` says to read it: the records, the warnings and
/// the exit code are the same either way, with one worker and with two, on every committed
/// capture (a truncated one included: the error names the same packet and byte).
#[test]
fn no_mmap_gives_the_same_records() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/captures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("captures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    assert!(files.len() > 10);
    let records: usize = files
        .iter()
        .flat_map(|f| mapped_and_read(f.to_str().expect("utf-8 path")))
        .map(|(_, out, _)| out.lines().count())
        .sum();
    assert!(records > 500, "{records} records");
}

/// `corscope analyze FILE` with `--jobs 1` and `--jobs 2`, each checked to print the same
/// with `--no-mmap`; the two runs' outputs.
fn mapped_and_read(path: &str) -> Vec<(Option<i32>, String, String)> {
    ["1", "2"]
        .into_iter()
        .map(|jobs| {
            let args = ["analyze", path, "--format", "ndjson", "-v", "--jobs", jobs];
            let mapped = corscope(&args);
            let read = corscope(&[&args[..], &["--no-mmap"]].concat());
            assert_eq!(mapped, read, "{path} --jobs {jobs}");
            mapped
        })
        .collect()
}

/// A HAR file is mapped too (read through its map as the scanner asks), unless `--no-mmap`:
/// the records, the warnings and the exit code are the same either way, on every committed HAR
/// and on copies cut in the middle of an entry (the truncation names the same byte).
#[test]
fn no_mmap_gives_the_same_records_for_hars() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![root.join("tests/data"), root.join("samples")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("test data") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "har") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 12, "{} HARs", files.len());
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut cut = Vec::new();
    for (i, f) in files.iter().take(3).enumerate() {
        let bytes = std::fs::read(f).expect("HAR");
        let c = tmp.path().join(format!("cut{i}.har"));
        std::fs::write(&c, &bytes[..bytes.len() * 2 / 3]).expect("written");
        cut.push(c);
    }
    let (mut records, mut errors) = (0, 0);
    for f in files.iter().chain(&cut) {
        for (_, out, err) in mapped_and_read(f.to_str().expect("utf-8 path")) {
            records += out.lines().count();
            errors += usize::from(err.contains("truncated at byte"));
        }
    }
    assert!(records > 500, "{records} records");
    assert_eq!(
        errors,
        2 * cut.len(),
        "every cut copy ends in its truncation"
    );
}

/// A capture whose clock saws back and forth two hours every 20 packets (hostile, or a
/// broken merge): each jump back that stays back is a part of its own, up to 1024 runs per
/// input, and past them the rest is read on as one part, with a warning: thousands of parts
/// cost no more than that many runs.
#[test]
fn capture_parts_out_of_time_order_are_bounded() {
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&262_144u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    // An ARP frame: no TCP, nothing to analyse but its time.
    let frame = [
        &[0xff; 6][..],
        &[0, 0x11, 0x22, 0x33, 0x44, 0x55],
        &[8, 6],
        &[0; 28],
    ]
    .concat();
    for i in 0..44_000u32 {
        let secs = 1_700_000_000 + if (i / 20) % 2 == 0 { 7200 } else { 0 } + i / 1000;
        for word in [secs, i % 1000 * 1000, 42, 42] {
            pcap.extend_from_slice(&word.to_le_bytes());
        }
        pcap.extend_from_slice(&frame);
    }
    for jobs in ["1", "2"] {
        let out = through_stdin(
            &["analyze", "-", "--format", "ndjson", "--jobs", jobs],
            pcap.clone(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("1023 × capture-part-out-of-order"), "{err}");
        assert!(err.contains("1 × limit-capture-parts"), "{err}");
    }
}

/// Capture files joined with `cat`: in time order they read as one capture (each file's
/// verdicts as when read alone); out of time order, the earlier recording is analysed as a
/// capture of its own, its records after the later one's, with a warning, from a file or
/// from standard input alike.
#[test]
fn capture_files_joined_with_cat() {
    let dir = temp_dir("joined");
    let (early, late) = ("tests/data/captures/chromium.pcap", FIREFOX_PCAP);
    let verdicts = |out: &str| {
        let mut v: Vec<(String, String, String)> = ndjson(out)
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                (s("url"), s("method"), s("verdict"))
            })
            .collect();
        v.sort();
        v
    };
    let alone = |f: &str| corscope(&["analyze", f, "--format", "ndjson", "--all"]);
    let (early_alone, late_alone) = (alone(early).1, alone(late).1);
    let mut both = verdicts(&early_alone);
    both.extend(verdicts(&late_alone));
    both.sort();
    for (name, files) in [("in-order", [early, late]), ("reversed", [late, early])] {
        let path = dir.join(format!("{name}.pcap"));
        let bytes = [
            std::fs::read(files[0]).unwrap(),
            std::fs::read(files[1]).unwrap(),
        ]
        .concat();
        std::fs::write(&path, &bytes).unwrap();
        let args = [
            "analyze",
            path.to_str().unwrap(),
            "--format",
            "ndjson",
            "--all",
        ];
        let mut printed = Vec::new();
        for jobs in ["1", "2"] {
            let (code, out, err) = corscope(&[&args[..], &["--jobs", jobs]].concat());
            assert_eq!(code, Some(1), "{name} --jobs {jobs}: {err}");
            assert!(err.contains("1 × capture-concatenated"), "{err}");
            assert_eq!(
                err.contains("1 × capture-part-out-of-order"),
                name == "reversed",
                "{err}"
            );
            assert!(
                verdicts(&out) == both,
                "{name} --jobs {jobs}: verdicts differ"
            );
            // One index per record, as in any capture.
            let mut index: Vec<u64> = ndjson(&out)
                .iter()
                .map(|r| r["index"].as_u64().unwrap())
                .collect();
            let n = index.len();
            index.sort_unstable();
            index.dedup();
            assert_eq!(index.len(), n, "{name} --jobs {jobs}");
            printed.push(out + &err);
        }
        assert!(
            printed[0] == printed[1],
            "{name}: --jobs 1 and --jobs 2 differ"
        );
        // Standard input cannot be opened again: the reader hands on the rest of the stream
        // from the part's header, and it reads as the file does. The same holds for the
        // files joined by `mergecap -a`, which writes them as one section whose times jump
        // back: read from the file or the stream, and as sharded by `corscope split`.
        let with_stdin = |bytes: Vec<u8>| {
            let out = through_stdin(&["analyze", "-", "--format", "ndjson", "--all"], bytes);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(1), "{name}: {err}");
            (String::from_utf8_lossy(&out.stdout).into_owned(), err)
        };
        let (out, err) = with_stdin(bytes);
        assert!(verdicts(&out) == both, "{name}: standard input");
        assert_eq!(
            err.contains("1 × capture-part-out-of-order"),
            name == "reversed",
            "{err}"
        );
        // As `mergecap -a -F pcap` joins them: the second file's records after the first's,
        // under the first file's header (both are Ethernet, microseconds).
        let (a, b) = (
            std::fs::read(files[0]).unwrap(),
            std::fs::read(files[1]).unwrap(),
        );
        assert_eq!(a[..24], b[..24]);
        let one_header = [&a[..], &b[24..]].concat();
        let path = dir.join(format!("{name}-one-header.pcap"));
        std::fs::write(&path, &one_header).unwrap();
        let (code, out, err) =
            corscope(&[&args[..1], &[path.to_str().unwrap()], &args[2..]].concat());
        assert_eq!(code, Some(1), "{name}: {err}");
        assert!(verdicts(&out) == both, "{name}: one header");
        assert_eq!(
            err.contains("1 × capture-part-out-of-order"),
            name == "reversed",
            "{err}"
        );
        let (out, _) = with_stdin(one_header);
        assert!(verdicts(&out) == both, "{name}: one header, standard input");
        let shards = dir.join(format!("{name}-shards"));
        let (code, _, err) = corscope(&[
            "split",
            path.to_str().unwrap(),
            "--shards",
            "2",
            "--out",
            shards.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(0), "{err}");
        let mut sharded = String::new();
        for i in 0..2 {
            let shard = shards.join(format!("shard-{i}-of-2.pcapng"));
            sharded += &alone(shard.to_str().unwrap()).1;
        }
        assert!(verdicts(&sharded) == both, "{name}: one header, sharded");
    }
}

/// The summary's "Browsers disagree" groups the requests of one route pattern with the same
/// verdicts, explained once: the same explanation printed for every id made it as long as the
/// input (199 lines on a 119 MB generated capture).
#[test]
fn disagreements_are_grouped_by_route_pattern() {
    let har: Value =
        serde_json::from_str(&std::fs::read_to_string("samples/browsers-disagree.har").unwrap())
            .unwrap();
    let mut har = har;
    let entries = har["log"]["entries"].as_array().unwrap().clone();
    let cart = entries
        .iter()
        .find(|e| e["request"]["url"] == "https://api.example.net/v1/cart")
        .unwrap()
        .clone();
    let mut many = entries.clone();
    for id in 1..=4 {
        let mut e = cart.clone();
        e["request"]["url"] = Value::from(format!("https://api.example.net/v1/cart/{id}"));
        many.push(e);
    }
    har["log"]["entries"] = Value::Array(many);
    let dir = temp_dir("disagree");
    let path = dir.join("ids.har");
    std::fs::write(&path, serde_json::to_vec(&har).unwrap()).unwrap();
    let (_, out, _) = corscope(&[
        path.to_str().unwrap(),
        "--summary",
        "--format",
        "table",
        "--width",
        "200",
    ]);
    let section = out.split("Browsers disagree:").nth(1).unwrap_or_default();
    assert!(
        section.contains(
            "GET https://api.example.net/v1/cart/{id} ×4: Chromium allowed, Firefox unknown, Safari unknown — "
        ),
        "{section}"
    );
    // The plain /v1/cart has the same verdicts and explanation: said once.
    assert!(
        section.contains(
            "GET https://api.example.net/v1/cart: Chromium allowed, Firefox unknown, Safari unknown — the same as above"
        ),
        "{section}"
    );
    assert_eq!(
        section
            .matches("does not safelist request header(s) dpr")
            .count(),
        2
    );
    let _ = std::fs::remove_dir_all(&dir);
}
