//! Packet captures (pcap, pcapng) to HTTP exchanges: link-layer decoding, TCP reassembly and
//! HTTP/1.x parsing, streaming, with memory bounded by the set of live connections.

use std::io::BufRead;
use std::sync::Arc;

use crate::diag::Diagnostics;
use crate::model::Exchange;

/// Options and limits for capture reading.
#[derive(Clone, Debug, Default)]
pub struct CaptureOptions {}

/// What a capture held, for the summary.
#[derive(Clone, Debug, Default)]
pub struct CaptureStats {
    pub packets: u64,
    pub bytes: u64,
    pub http_requests: u64,
    pub tls_connections: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("not implemented yet")]
    Unimplemented,
}

/// Reads a pcap or pcapng stream and calls `emit` for every HTTP exchange, in request order per
/// connection. On a damaged or truncated file, everything before the damage is emitted first,
/// then the error is returned.
pub fn read_capture(
    _reader: Box<dyn BufRead + Send>,
    _source: Arc<str>,
    _opts: &CaptureOptions,
    _emit: &mut dyn FnMut(Exchange),
    _diag: &mut Diagnostics,
) -> Result<CaptureStats, CaptureError> {
    Err(CaptureError::Unimplemented)
}
