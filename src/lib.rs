//! corscope: why did the browser block that cross-origin request? Reads HAR exports and
//! packet captures, rebuilds every CORS flow and decides it the way Chromium, Firefox and
//! Safari would.
//!
//! Data path, one module per step: [`input`] (HAR, and [`capture`] for pcap/pcapng) →
//! [`model::Exchange`] → [`pairing`] (preflight + request + redirects = a flow) →
//! [`cors`] (the engine, per browser profile) → [`report`] (records and their sinks).
//!
//! The documentation is developer documentation: build it with `cargo doc
//! --document-private-items`. Most modules' items are `pub(crate)`; what tests, benches, the
//! fuzz targets and the Python package use stays `pub`.

// Module docs link to the crate-private stages they describe.
#![allow(rustdoc::private_intra_doc_links)]

pub mod analysis;
pub mod audit;
pub mod browser;
pub mod capture;
pub mod cli;
pub mod cors;
pub mod diag;
pub mod fingerprint;
mod fnv;
pub mod input;
pub mod limits;
pub mod merge;
pub mod model;
pub mod origin;
pub mod pairing;
pub mod pipeline;
pub mod report;
mod slab;
pub mod split;
pub mod synth;
pub mod term;

// The summaries are the report's aggregate sinks (`report::summary`); kept at their old path
// for the tests, benches and the Python package.
pub use report::summary;
