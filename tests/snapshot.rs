//! Snapshot of the records (`--format ndjson --all`) of every committed input and of every
//! `corscope explain` page. Refactorings (issue 12: the reason registry) must keep them byte for
//! byte; a deliberate behaviour change regenerates them with `UPDATE_SNAPSHOTS=1 cargo test
//! --release --test snapshot` and the diff shows in review.
//!
//! The expected outputs are stored gzip'd (`tests/data/snapshots/`): about 2.3 MB of NDJSON,
//! a tenth of that compressed.

use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const SNAPSHOTS: &str = "tests/data/snapshots";

/// Every committed input the binary reads: the samples and everything under tests/data.
fn inputs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with("snapshots") {
                    walk(&p, out);
                }
            } else {
                let name = p.to_string_lossy();
                let input = [
                    ".har",
                    ".pcap",
                    ".pcapng",
                    ".har.gz",
                    ".pcap.gz",
                    ".pcapng.gz",
                    ".pcap.zst",
                    ".pcap.lz4",
                    ".zip",
                    ".tgz",
                ]
                .iter()
                .any(|ext| name.ends_with(ext));
                if input {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("samples"), &mut out);
    walk(Path::new("tests/data"), &mut out);
    out.sort();
    out
}

fn run(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(args)
        .output()
        .expect("corscope runs");
    out.stdout
}

fn gunzip(path: &Path) -> Option<Vec<u8>> {
    let f = std::fs::File::open(path).ok()?;
    let mut v = Vec::new();
    GzDecoder::new(f).read_to_end(&mut v).ok()?;
    Some(v)
}

fn gzip(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("snapshot paths have a parent"))
        .expect("snapshot dir");
    let f = std::fs::File::create(path).expect("snapshot file");
    let mut e = GzEncoder::new(f, Compression::best());
    e.write_all(data).expect("write snapshot");
    e.finish().expect("finish snapshot");
}

/// Compares `actual` with the stored snapshot `name`; on a difference names the first differing
/// line and leaves the actual output beside the target dir for `diff`.
fn check(name: &str, actual: &[u8], failures: &mut Vec<String>) {
    let path = Path::new(SNAPSHOTS).join(format!("{name}.gz"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        gzip(&path, actual);
        return;
    }
    let Some(expected) = gunzip(&path) else {
        failures.push(format!(
            "{name}: no snapshot at {} (UPDATE_SNAPSHOTS=1 writes it)",
            path.display()
        ));
        return;
    };
    if expected == actual {
        return;
    }
    let dump = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::write(&dump, actual);
    let e = String::from_utf8_lossy(&expected);
    let a = String::from_utf8_lossy(actual);
    let line = e
        .lines()
        .zip(a.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| e.lines().count().min(a.lines().count()));
    failures.push(format!(
        "{name}: differs from line {} on\n  expected: {}\n  actual:   {}\n  (actual output in {})",
        line + 1,
        e.lines().nth(line).unwrap_or("<end>"),
        a.lines().nth(line).unwrap_or("<end>"),
        dump.display()
    ));
}

#[test]
fn records_of_every_committed_input_are_unchanged() {
    let inputs = inputs();
    assert!(inputs.len() > 50, "only {} inputs found", inputs.len());
    let mut failures = Vec::new();
    for input in &inputs {
        let p = input.to_string_lossy();
        let out = run(&["analyze", "--format", "ndjson", "--all", "-j", "1", &p]);
        let name = format!("records/{}.ndjson", p.replace('/', "_"));
        check(&name, &out, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_explain_page_is_unchanged() {
    let mut all = Vec::new();
    for e in corscope::cors::explain::all() {
        let q = format!("{:?}:{}", e.browser, e.name);
        writeln!(all, "==== {q}").expect("write to a Vec");
        all.extend(run(&["explain", &q]));
    }
    let mut failures = Vec::new();
    check("explain.txt", &all, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
