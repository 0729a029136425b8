//! Warnings cost no memory: 256 MB of zero-length pcap records (every one a warning) through
//! the parallel pipeline stay far below the 500 MB budget (they reached 340–520 MB when each
//! warning travelled to the merge as a boxed `Diagnostics`). A test binary of its own, so
//! that the process's peak RSS is this test's.

use std::io::Read;
use std::sync::Arc;

use corscope::diag::WarnKind;
use corscope::pipeline::{analyze_input, InputReport, Options};

/// A pcap header, then zero-length records, generated as they are read.
struct ZeroRecords {
    header: Vec<u8>,
    at: usize,
    left: u64,
    next: u32,
}

impl Read for ZeroRecords {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(h) = self.header.get(self.at..).filter(|h| !h.is_empty()) {
            let n = h.len().min(buf.len());
            buf[..n].copy_from_slice(&h[..n]);
            self.at += n;
            return Ok(n);
        }
        let mut n = 0;
        while self.left > 0 && buf.len() - n >= 16 {
            let i = self.next;
            self.next += 1;
            self.left -= 1;
            let rec = [1_600_000_000 + i / 1000, i % 1000, 0, 0];
            for (k, w) in rec.iter().enumerate() {
                buf[n + 4 * k..n + 4 * k + 4].copy_from_slice(&w.to_le_bytes());
            }
            n += 16;
        }
        Ok(n)
    }
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_warning_per_packet_keeps_memory_flat() {
    let records = (256u64 << 20) / 16;
    let mut header = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    header.extend(2u16.to_le_bytes());
    header.extend(4u16.to_le_bytes());
    header.extend([0u8; 8]);
    header.extend(65535u32.to_le_bytes());
    header.extend(1u32.to_le_bytes());
    let input = corscope::input::from_reader(
        Arc::from("zero.pcap"),
        Box::new(ZeroRecords {
            header,
            at: 0,
            left: records,
            next: 0,
        }),
    )
    .expect("a pcap");
    let report = analyze_input(
        input,
        &Options {
            capture_workers: 2,
            ..Options::default()
        },
        &mut |_| {},
        InputReport::default(),
    );
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.diagnostics.count(WarnKind::TruncatedPacket), records);
    assert_eq!(
        report.diagnostics.details(WarnKind::TruncatedPacket).len(),
        corscope::diag::MAX_DETAILS_PER_KIND
    );
    if let Some(kb) = peak_rss_kb() {
        assert!(kb < 150 * 1024, "peak RSS {kb} KB");
    }
}
