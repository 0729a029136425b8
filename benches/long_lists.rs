//! Hostile list lengths (issue 18 item 1): preflights announcing 1,000 to 13,000 header names,
//! answered with allow lists as long, through the whole analysis. Throughput in bytes must stay
//! flat as the lists grow (it fell with the square of the length when names were looked up by
//! scanning a `Vec`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod common;
#[path = "../tests/common/long_lists.rs"]
mod long_lists;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("long_lists");
    g.sample_size(10);
    for (names, request_lines, methods) in [
        (1_000, false, 0),
        (4_000, false, 0),
        (13_000, false, 0),
        (13_000, true, 0),
        (4_000, false, 4_000),
    ] {
        let shape = long_lists::Shape {
            names,
            request_lines,
            methods,
        };
        let data = long_lists::har(4, shape).into_bytes();
        g.throughput(Throughput::Bytes(data.len() as u64));
        let id = format!(
            "{names}{}{}",
            if request_lines { "+lines" } else { "" },
            if methods > 0 { "+methods" } else { "" }
        );
        g.bench_with_input(BenchmarkId::new("analyze", id), &data, |b, d| {
            b.iter(|| common::analyze_har("long.har", d))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
