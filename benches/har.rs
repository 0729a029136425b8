//! HAR throughput: the streaming reader alone, and the whole analysis (reader, pairing, three
//! browsers' verdicts, NDJSON records), on a generated DevTools HAR with base64 bodies.

use std::io::Cursor;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use corscope::diag::Diagnostics;
use corscope::input::har::{read_har, HarOptions};
use corscope::synth::{write_har, HarSpec};

mod common;

fn bench(c: &mut Criterion) {
    let mut data = Vec::new();
    let spec = HarSpec {
        target_bytes: 32 << 20,
        ..HarSpec::default()
    };
    write_har(&mut data, &spec).expect("writing to a Vec cannot fail");
    let data = Arc::new(data);
    let mut g = c.benchmark_group("har");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("read_entries", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let mut diag = Diagnostics::new();
            read_har(
                Box::new(Cursor::new(data.as_ref().clone())),
                Arc::from("bench.har"),
                &HarOptions::default(),
                &mut |_| n += 1,
                &mut diag,
            )
            .expect("generated HAR is valid");
            n
        })
    });
    g.bench_function("analyze", |b| {
        b.iter(|| common::analyze_har("bench.har", &data))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
