//! The binary on the committed encapsulation captures (`fuzz/seeds/capture/encap-*.pcap`,
//! written by `src/capture/encap_tests.rs`): the CORS records inside tunnels and fragmented
//! packets, a warning for what is not analysed, and the same output for any `--jobs`.

use std::path::Path;
use std::process::Command;

fn run(file: &Path, jobs: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(["analyze", "--all", "--exit-zero", "--jobs", jobs])
        .arg(file)
        .output()
        .expect("run corscope");
    assert!(out.status.success(), "{}", file.display());
    (
        String::from_utf8(out.stdout).expect("UTF-8 records"),
        String::from_utf8(out.stderr).expect("UTF-8 messages"),
    )
}

#[test]
fn records_inside_tunnels_and_fragments() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/capture");
    // (capture, the one warning expected, or none)
    let cases = [
        ("encap-vxlan", None),
        ("encap-gre-keyseq", None),
        ("encap-gre-teb", None),
        ("encap-erspan3", None),
        ("encap-geneve", None),
        ("encap-ipip", None),
        ("encap-fragments", None),
        ("encap-fragments-reversed", None),
        ("encap-fragments-broken", Some("2 × ip-fragment-incomplete")),
        ("encap-quic", Some("2 × quic-not-analysed")),
    ];
    for (name, warning) in cases {
        let file = dir.join(format!("{name}.pcap"));
        let (records, messages) = run(&file, "1");
        // Two cross-origin GETs in every capture.
        assert_eq!(records.lines().count(), 2, "{name}: {messages}");
        assert!(records.contains("\"url\":\"http://api.test/r1\""), "{name}");
        match warning {
            Some(w) => assert!(messages.contains(w), "{name}: {messages}"),
            None => assert!(!messages.contains("warning"), "{name}: {messages}"),
        }
        assert_eq!(run(&file, "2"), (records, messages), "{name}: --jobs 2");
    }
}
