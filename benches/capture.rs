//! The capture path's hot parts, each on its own, then together: record framing, packet
//! decoding, TCP reassembly, HTTP head parsing, the CORS resolution of a flow, and the whole
//! capture → exchanges path single-threaded and with two workers, on a generated capture
//! (`synth::write_pcap`: interleaved keep-alive connections, preflights, multi-segment bodies).
//!
//! `cargo bench --bench capture`; throughput is in bytes of capture (or of stream, or
//! elements: heads, flows).

use std::io::Cursor;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use corscope::capture::decode::{decode, Decoded, LinkType};
use corscope::capture::http::{Ctx, HttpConn, HttpLimits};
use corscope::capture::parallel::read_capture_parallel;
use corscope::capture::reader::PacketReader;
use corscope::capture::tcp::{
    Dir, Endpoint, FlowKey, PacketMeta, Pool, Reassembler, ReassemblyLimits, SeqNumber, StreamSink,
};
use corscope::capture::{read_capture, CaptureOptions, CaptureStats};
use corscope::cors::resolve::Resolver;
use corscope::cors::Browser;
use corscope::diag::Diagnostics;
use corscope::model::Exchange;
use corscope::pairing::{Flow, Pairer, PairingOptions};
use corscope::synth::{write_pcap, PcapSpec};

fn capture(bytes: u64) -> Arc<Vec<u8>> {
    let mut v = Vec::new();
    let spec = PcapSpec {
        target_bytes: bytes,
        ..PcapSpec::default()
    };
    write_pcap(&mut v, &spec).expect("writing to a Vec cannot fail");
    Arc::new(v)
}

fn reader(data: &Arc<Vec<u8>>) -> Box<Cursor<Vec<u8>>> {
    Box::new(Cursor::new(data.as_ref().clone()))
}

fn exchanges(data: &Arc<Vec<u8>>) -> Vec<Exchange> {
    let mut out = Vec::new();
    read_capture(
        reader(data),
        Arc::from("bench.pcap"),
        &CaptureOptions::default(),
        &mut |x| out.push(x),
        &mut Diagnostics::new(),
    )
    .expect("generated capture is valid");
    out
}

fn bench_capture(c: &mut Criterion) {
    let data = capture(32 << 20);
    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("frame", |b| {
        b.iter_batched(
            || reader(&data),
            |r| {
                let mut n = 0u64;
                let mut p = PacketReader::new(r, &CaptureOptions::default()).expect("pcap");
                p.for_each(|pkt| n += pkt.data.len() as u64).expect("valid");
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("frame_and_decode", |b| {
        b.iter_batched(
            || reader(&data),
            |r| {
                let mut n = 0u64;
                let mut p = PacketReader::new(r, &CaptureOptions::default()).expect("pcap");
                p.for_each(|pkt| {
                    if let Decoded::Tcp(s) = decode(LinkType::Ethernet, pkt.data) {
                        n += s.payload.len() as u64;
                    }
                })
                .expect("valid");
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("read_capture_1_thread", |b| {
        b.iter_batched(
            || reader(&data),
            |r| {
                let mut n = 0u64;
                read_capture(
                    r,
                    Arc::from("bench.pcap"),
                    &CaptureOptions::default(),
                    &mut |_| n += 1,
                    &mut Diagnostics::new(),
                )
                .expect("valid");
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("read_capture_2_workers", |b| {
        b.iter_batched(
            || reader(&data),
            |r| {
                let mut n = 0u64;
                read_capture_parallel(
                    r,
                    Arc::from("bench.pcap"),
                    &CaptureOptions::default(),
                    2,
                    &mut |_| n += 1,
                    &mut Diagnostics::new(),
                )
                .expect("valid");
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// A sink that only counts what the reassembler delivers.
#[derive(Default)]
struct Count(u64);

impl StreamSink for Count {
    fn data(&mut self, _: Dir, d: &[u8], _: &PacketMeta) {
        self.0 += d.len() as u64;
    }
    fn skip(&mut self, _: Dir, len: u64, _: &PacketMeta) {
        self.0 += len;
    }
    fn gap(&mut self, _: Dir, len: u64, _: &PacketMeta) {
        self.0 += len;
    }
    fn skippable(&self, _: Dir) -> u64 {
        0
    }
    fn end(&mut self, _: Dir, _: &PacketMeta) {}
    fn warn(&mut self, _: corscope::diag::WarnKind, _: Dir, _: &PacketMeta) {}
}

fn bench_reassembly(c: &mut Criterion) {
    // 4 MiB of one direction in 1448-byte segments; in order, and with every 8th pair of
    // segments swapped (held out of order, then drained).
    let payload = vec![b'x'; 1448];
    let n = (4 << 20) / 1448;
    let in_order: Vec<u32> = (0..n as u32).collect();
    let mut swapped = in_order.clone();
    for i in (0..swapped.len().saturating_sub(1)).step_by(8) {
        swapped.swap(i, i + 1);
    }
    let lim = ReassemblyLimits {
        max_segments: 256,
        max_bytes: 1 << 20,
        gap_window: 4 << 20,
    };
    let mut g = c.benchmark_group("reassembly");
    g.throughput(Throughput::Bytes((n * 1448) as u64));
    for (name, order) in [("in_order", &in_order), ("swapped_pairs", &swapped)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut r = Reassembler::default();
                let mut pool = Pool::default();
                let mut sink = Count::default();
                r.start_at(SeqNumber(1000));
                for &i in order {
                    let meta = PacketMeta::default();
                    r.segment(
                        0,
                        SeqNumber(1000 + i * 1448),
                        &payload,
                        0,
                        false,
                        &meta,
                        &lim,
                        &mut pool,
                        &mut sink,
                    );
                }
                sink.0
            })
        });
    }
    g.finish();
}

const REQUEST: &[u8] = b"PUT /v1/items/42?v=12345 HTTP/1.1\r\nHost: api7.example.net\r\nConnection: keep-alive\r\nOrigin: https://app3.example.com\r\nReferer: https://app3.example.com/\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: 0\r\nX-Request-Id: 1a2b3c4d\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 08:00:01 GMT\r\nServer: nginx\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: https://app3.example.com\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\nCache-Control: no-store\r\nContent-Length: 0\r\n\r\n";

fn bench_http(c: &mut Criterion) {
    let key = FlowKey::of(
        Endpoint {
            ip: [10, 1, 0, 7].into(),
            port: 40000,
        },
        Endpoint {
            ip: [172, 16, 0, 8].into(),
            port: 80,
        },
    )
    .0;
    let limits = HttpLimits {
        max_head_bytes: corscope::capture::MAX_HEAD_BYTES,
        max_headers: corscope::capture::MAX_HEADERS,
        max_chunk_line: corscope::capture::MAX_CHUNK_LINE,
        max_pending: corscope::capture::MAX_PENDING_REQUESTS,
    };
    let source: Arc<str> = Arc::from("bench");
    let mut g = c.benchmark_group("http");
    // One keep-alive connection, 1000 request/response pairs, each head in one segment.
    g.throughput(Throughput::Elements(2000));
    g.bench_function("head_parse_1000_exchanges", |b| {
        b.iter(|| {
            let mut diag = Diagnostics::new();
            let mut stats = CaptureStats::default();
            let mut out: Vec<corscope::capture::Finished> = Vec::with_capacity(1000);
            let mut open = corscope::capture::http::OpenRequests::default();
            let mut seq = 0u64;
            let keylog = corscope::capture::tls::KeyLog::default();
            let mut ctx = Ctx {
                source: &source,
                diag: &mut diag,
                stats: &mut stats,
                out: &mut out,
                losses: &mut Vec::new(),
                open: &mut open,
                seq: &mut seq,
                limits: &limits,
                keylog: &keylog,
                servers: &mut corscope::capture::tcp::ServerTexts::default(),
                evicted_by: None,
            };
            let mut conn = HttpConn::new(key, 1, Some(0), false);
            for i in 0..1000u64 {
                let meta = PacketMeta {
                    number: 2 * i + 1,
                    offset: 0,
                    ts: 1_000_000 + i as i64,
                    quiet: 0,
                };
                conn.data(0, REQUEST, &meta, &mut ctx);
                conn.data(1, RESPONSE, &meta, &mut ctx);
            }
            out.len()
        })
    });
    g.finish();
}

fn bench_cors(c: &mut Criterion) {
    let xs = exchanges(&capture(8 << 20));
    let mut flows: Vec<Flow> = Vec::new();
    let mut p = Pairer::new(PairingOptions::default());
    for x in xs {
        p.push(x, &mut |f| flows.push(f));
    }
    p.finish(&mut |f| flows.push(f));
    let mut g = c.benchmark_group("cors");
    g.throughput(Throughput::Elements(flows.len() as u64));
    g.sample_size(10);
    g.bench_function("resolve_flows", |b| {
        b.iter(|| {
            let mut r = Resolver::new();
            let mut blocked = 0usize;
            for f in &flows {
                let res = r.resolve(f, Browser::Chromium);
                blocked += res.browsers.values().count();
            }
            blocked
        })
    });
    g.bench_function("resolve_and_record", |b| {
        b.iter(|| {
            let mut r = Resolver::new();
            let mut n = 0usize;
            for f in &flows {
                let res = r.resolve(f, Browser::Chromium);
                n += corscope::report::Record::new(f, &res).url.len();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_capture,
    bench_reassembly,
    bench_http,
    bench_cors
);
criterion_main!(benches);
