//! `--jobs 1` and `--jobs N` print the same bytes: on the Chromium capture, on a generated
//! capture (many interleaved connections, so every worker gets some), on a generated HAR, and
//! for several inputs at once (analysed concurrently, printed in the order given).

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corscope"))
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/captures")
        .join(name)
}

/// A scratch directory of this test binary's own.
fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("corscope-parallel-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn generate(kind: &str, path: &Path, bytes: u64, seed: u64) {
    let st = bin()
        .args([kind, path.to_str().unwrap(), "--bytes"])
        .arg(bytes.to_string())
        .args(["--seed", &seed.to_string()])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// stdout, stderr and exit code of `analyze FILES --jobs N` in `format`.
fn run(files: &[&Path], jobs: usize, format: &str) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    let o = bin()
        .arg("analyze")
        .args(files)
        .args([
            "--all",
            "-v",
            "--format",
            format,
            "--jobs",
            &jobs.to_string(),
        ])
        .output()
        .unwrap();
    (o.stdout, o.stderr, o.status.code())
}

fn assert_same_for_any_jobs(files: &[&Path], format: &str) {
    let one = run(files, 1, format);
    assert!(!one.0.is_empty(), "no output for {files:?}");
    for jobs in [2, 3, 4] {
        let n = run(files, jobs, format);
        assert!(
            n.0 == one.0,
            "stdout differs with --jobs {jobs} for {files:?}"
        );
        assert_eq!(
            String::from_utf8_lossy(&n.1),
            String::from_utf8_lossy(&one.1),
            "stderr differs with --jobs {jobs}"
        );
        assert_eq!(n.2, one.2, "exit code differs with --jobs {jobs}");
    }
}

#[test]
fn chromium_capture_is_the_same_with_any_jobs() {
    let p = data("chromium.pcap");
    assert_same_for_any_jobs(&[&p], "ndjson");
    assert_same_for_any_jobs(&[&p], "csv");
}

#[test]
fn generated_capture_and_har_are_the_same_with_any_jobs() {
    let dir = scratch();
    let pcap = dir.join("gen.pcap");
    let har = dir.join("gen.har");
    generate("generate-pcap", &pcap, 6_000_000, 7);
    generate("generate-har", &har, 3_000_000, 7);
    assert_same_for_any_jobs(&[&pcap], "ndjson");
    assert_same_for_any_jobs(&[&har], "ndjson");
    // Several inputs: concurrent analysis, output in the order given (JSON: one document).
    let own = data("own-lo-ipv4.pcap");
    let files: [&Path; 4] = [&pcap, &own, &har, &pcap];
    assert_same_for_any_jobs(&files, "ndjson");
    assert_same_for_any_jobs(&files, "json");
    let _ = std::fs::remove_dir_all(&dir);
}
