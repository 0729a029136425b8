//! Snapshots (insta) of every output format of `corscope analyze` on the bundled samples,
//! through the binary. Refactorings must keep them; a deliberate output change is reviewed with
//! `cargo insta review` (or accepted with `INSTA_UPDATE=always cargo test --release --test
//! formats`) and the `.snap` diff shows in review.

use std::process::Command;

const SAMPLES: [&str; 3] = [
    "samples/browsers-disagree.har",
    "samples/cors-scenarios.devtools.har",
    "samples/why-only-in-safari.har",
];

/// The binary's stdout for `args` on the samples, run from the crate root so the input paths
/// in the output are the relative ones above; anything that names the checkout is masked.
fn analyze(args: &[&str]) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .current_dir(root)
        .arg("analyze")
        .args(["--width", "120"])
        .args(args)
        .args(SAMPLES)
        .output()
        .expect("the test binary runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("output is UTF-8")
        .replace(root, "[ROOT]")
}

#[test]
fn every_format_on_the_samples() {
    for format in ["table", "csv", "json", "ndjson", "html", "junit"] {
        let out = analyze(&["--format", format]);
        assert!(!out.is_empty(), "{format}: no output");
        insta::assert_snapshot!(format, out);
    }
}

#[test]
fn every_summary_on_the_samples() {
    for format in ["table", "json", "ndjson"] {
        let out = analyze(&["--format", format, "--summary"]);
        assert!(!out.is_empty(), "{format} --summary: no output");
        insta::assert_snapshot!(format!("summary_{format}"), out);
    }
}
