//! Shared by the benches that analyse HAR text held in memory (`har`, `long_lists`).

use std::io::Cursor;
use std::sync::Arc;

/// The whole analysis of a HAR held in memory (reader, pairing, three browsers' verdicts,
/// NDJSON records); returns the records' bytes, so that no stage can be optimised away.
pub fn analyze_har(name: &str, data: &[u8]) -> u64 {
    let input = corscope::input::from_reader(Arc::from(name), Box::new(Cursor::new(data.to_vec())))
        .expect("generated HAR is detected");
    let mut n = 0u64;
    let report = corscope::pipeline::analyze_input(
        input,
        &corscope::pipeline::Options::default(),
        &mut |r| n += serde_json::to_vec(&r).map_or(0, |v| v.len() as u64),
        corscope::pipeline::InputReport::default(),
    );
    assert!(report.error.is_none());
    n
}
