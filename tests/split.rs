//! `corscope split` and `corscope merge` against the single run: a generated capture split
//! into 1, 2 and 7 shards (and given as two rotated files) analyses to the same records, and
//! the shards' summaries merge, in any grouping, into the single run's summary; HARs split
//! by page the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corscope"))
}

fn run(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("the binary runs");
    assert!(
        out.status.success(),
        "corscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("corscope-split-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// The records of inputs, each without the fields that name the shard file or the position
/// in it, sorted.
fn records(inputs: &[PathBuf]) -> Vec<String> {
    let mut all = Vec::new();
    for p in inputs {
        let out = run(&["--format", "ndjson", "--exit-zero", s(p)]);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut v: Value = serde_json::from_str(line).expect("an NDJSON record");
            let o = v.as_object_mut().expect("a record is an object");
            for k in ["source", "location", "index"] {
                o.remove(k);
            }
            if let Some(pf) = o.get_mut("preflight").and_then(Value::as_object_mut) {
                pf.remove("index");
            }
            all.push(v.to_string());
        }
    }
    all.sort();
    all
}

fn summary_file(input: &Path) -> PathBuf {
    let out = run(&["--summary", "--format", "ndjson", "--exit-zero", s(input)]);
    let path = input.with_extension("summary.json");
    std::fs::write(&path, &out.stdout).expect("write summary");
    path
}

/// The summary without `inputs` (which names the files).
fn without_inputs(json: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(json).expect("a JSON summary");
    v.as_object_mut().expect("an object").remove("inputs");
    v
}

fn shards(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("shard dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcapng"))
        .collect();
    v.sort();
    v
}

/// A legacy pcap cut at a packet boundary into two files with the same header (what
/// `tcpdump -C` writes), named so that only natural order puts them right.
fn rotate(pcap: &[u8], dir: &Path) -> Vec<PathBuf> {
    let le = pcap.get(..4) == Some(&[0xd4, 0xc3, 0xb2, 0xa1]);
    let mut at = 24;
    let mut cut = at;
    while at + 16 <= pcap.len() {
        let b: [u8; 4] = pcap[at + 8..at + 12].try_into().expect("4 bytes");
        let caplen = if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        } as usize;
        if cut == 24 && at > pcap.len() / 2 {
            cut = at;
        }
        at += 16 + caplen;
    }
    assert!(cut > 24, "a cut inside the capture");
    let (a, b) = (dir.join("rot.pcap"), dir.join("rot.pcap1"));
    std::fs::write(&a, &pcap[..cut]).expect("write");
    let mut second = pcap[..24].to_vec();
    second.extend_from_slice(&pcap[cut..]);
    std::fs::write(&b, second).expect("write");
    // Given out of order on purpose.
    vec![b, a]
}

#[test]
fn shards_analyse_and_merge_to_the_single_run() {
    let dir = scratch("main");
    let cap = dir.join("g.pcap");
    run(&[
        "generate-pcap",
        s(&cap),
        "--bytes",
        "1500000",
        "--seed",
        "3",
    ]);
    let single = records(std::slice::from_ref(&cap));
    assert!(single.len() > 100, "{} records", single.len());
    assert!(single.iter().any(|r| r.contains(r#""verdict":"blocked""#)));
    let want = without_inputs(&std::fs::read(summary_file(&cap)).expect("summary"));
    let pcap = std::fs::read(&cap).expect("capture");
    let rotated = rotate(&pcap, &dir);

    for (n, inputs) in [
        (1, vec![cap.clone()]),
        (2, vec![cap.clone()]),
        (7, vec![cap.clone()]),
        (3, rotated),
    ] {
        let out = dir.join(format!("shards-{n}-{}", inputs.len()));
        let mut args = vec!["split", "--shards"];
        let n_text = n.to_string();
        args.extend([n_text.as_str(), "--out", s(&out)]);
        args.extend(inputs.iter().map(|p| s(p)));
        run(&args);
        let files = shards(&out);
        assert_eq!(files.len(), n);
        if n > 1 {
            // Every shard gets clients (the generator has many).
            for f in &files {
                assert!(
                    !records(std::slice::from_ref(f)).is_empty(),
                    "{f:?} is empty"
                );
            }
        }
        assert_eq!(records(&files), single, "{n} shards of {inputs:?}");

        let sums: Vec<PathBuf> = files.iter().map(|f| summary_file(f)).collect();
        let mut forward = vec!["merge"];
        forward.extend(sums.iter().map(|p| s(p)));
        let merged = run(&forward);
        assert_eq!(without_inputs(&merged.stdout), want, "{n} shards merged");
        // Another grouping and order: the merge of (the last shard) and (the rest, merged).
        if n > 1 {
            let rest = dir.join(format!("rest-{n}.json"));
            let mut args = vec!["merge"];
            args.extend(sums[..n - 1].iter().rev().map(|p| s(p)));
            std::fs::write(&rest, run(&args).stdout).expect("write");
            let again = run(&["merge", s(&sums[n - 1]), s(&rest)]);
            assert_eq!(without_inputs(&again.stdout), want, "{n} shards regrouped");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Files of `dir` ending in `ext`, sorted.
fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("shard dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

/// One browser's HAR of unrelated sites: committed HARs (`chromium/devtools.har`, …), each
/// copy with its hosts renamed (`api.test` → `api.s1.test`, cookies' `Domain` too) and its
/// page ids made its own, their pages and entries in one log.
fn sites_har(dir: &Path, name: &str, parts: &[(&str, usize)]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let texts: Vec<String> = parts
        .iter()
        .map(|(file, k)| {
            std::fs::read_to_string(root.join(file))
                .expect("committed HAR")
                .replace(".test", &format!(".s{k}.test"))
                .replace("\"page_", &format!("\"s{k}page_"))
                .replace("\"page@", &format!("\"s{k}page@"))
        })
        .collect();
    let mut har: Value = serde_json::from_str(&texts[0]).expect("HAR");
    for t in &texts[1..] {
        let v: Value = serde_json::from_str(t).expect("HAR");
        for list in ["pages", "entries"] {
            let more = v["log"][list].as_array().cloned().unwrap_or_default();
            if let Some(a) = har["log"][list].as_array_mut() {
                a.extend(more);
            }
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, har.to_string()).expect("write");
    path
}

/// HARs split by page: the shards' records and merged summary are the single run's, for a HAR
/// whose pages share hosts (one group: it is not cut), one of five unrelated sites (five
/// groups), and one with more preflights than Firefox's preflight cache holds (not split).
#[test]
fn har_shards_analyse_and_merge_to_the_single_run() {
    let dir = scratch("har");
    // A copy: the summaries are written beside their input.
    let committed = dir.join("devtools.har");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/chromium/devtools.har"),
        &committed,
    )
    .expect("copy");
    let (pw, dt, novel) = (
        "chromium/playwright.har",
        "chromium/devtools.har",
        "novel/devtools.har",
    );
    let sites = sites_har(
        &dir,
        "sites.har",
        &[(pw, 1), (pw, 2), (pw, 3), (dt, 4), (novel, 5)],
    );
    let crowded = sites_har(&dir, "crowded.har", &[(dt, 1), (dt, 2), (novel, 3)]);
    for (har, groups, whole) in [(committed, 1, false), (sites, 5, false), (crowded, 1, true)] {
        let single = records(std::slice::from_ref(&har));
        assert!(single.len() > 50, "{} records", single.len());
        let want = without_inputs(&std::fs::read(summary_file(&har)).expect("summary"));
        for n in [1, 2, 7] {
            let stem = har.file_stem().and_then(|s| s.to_str()).unwrap_or("x");
            let out = dir.join(format!("{stem}-{n}"));
            let done = run(&[
                "split",
                "--shards",
                &n.to_string(),
                "--out",
                s(&out),
                s(&har),
            ]);
            let said = String::from_utf8_lossy(&done.stderr);
            assert!(
                said.contains(&format!("{groups} independent group(s)")),
                "{said}"
            );
            assert_eq!(said.contains("preflights: past 100"), whole, "{said}");
            // Only HARs: no line about packets (it said "split 0 packets").
            assert!(!said.contains("packets"), "{said}");
            let files = files_with(&out, "har");
            assert_eq!(files.len(), n);
            assert!(files_with(&out, "pcapng").is_empty());
            let busy = files
                .iter()
                .filter(|f| !records(std::slice::from_ref(*f)).is_empty())
                .count();
            // No group is cut, and the unrelated sites do land in different shards.
            assert!((1..=groups.min(n)).contains(&busy), "{busy} busy: {said}");
            assert!(groups == 1 || n == 1 || busy > 1, "{busy} busy: {said}");
            assert_eq!(records(&files), single, "{n} shards of {har:?}");
            let sums: Vec<PathBuf> = files.iter().map(|f| summary_file(f)).collect();
            let mut args = vec!["merge"];
            args.extend(sums.iter().rev().map(|p| s(p)));
            assert_eq!(
                without_inputs(&run(&args).stdout),
                want,
                "{n} shards of {har:?} merged"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_are_named_errors() {
    let dir = scratch("bad");
    let har = dir.join("a.har");
    std::fs::write(&har, "{\"log\":{\"version\":\"1.2\",\n\"entries\":[{]}}").expect("write");
    let cut = dir.join("cut.pcap");
    run(&["generate-pcap", s(&cut), "--bytes", "100000"]);
    let bytes = std::fs::read(&cut).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).expect("write");
    let twins: Vec<PathBuf> = ["x", "y"]
        .iter()
        .map(|d| dir.join(d).join("t.har"))
        .collect();
    for t in &twins {
        std::fs::create_dir_all(t.parent().expect("a parent")).expect("mkdir");
        std::fs::write(t, r#"{"log":{"entries":[]}}"#).expect("write");
    }
    let junk = dir.join("junk.json");
    std::fs::write(&junk, "{not json").expect("write");
    for (args, names) in [
        (
            vec![
                "split",
                "--shards",
                "2",
                "--out",
                s(&dir.join("o1")),
                s(&har),
            ],
            "a.har: not a HAR: key must be a string at line 2",
        ),
        (
            vec![
                "split",
                "--shards",
                "2",
                "--out",
                s(&dir.join("o2")),
                s(&cut),
            ],
            "truncated",
        ),
        (
            vec![
                "split",
                "--shards",
                "0",
                "--out",
                s(&dir.join("o3")),
                s(&cut),
            ],
            "--shards",
        ),
        (
            vec![
                "split",
                "--shards",
                "2",
                "--out",
                s(&dir.join("o4")),
                s(&twins[0]),
                s(&twins[1]),
            ],
            "distinct names",
        ),
        (vec!["merge", s(&junk)], "junk.json"),
    ] {
        let out = bin().args(&args).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(names) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
