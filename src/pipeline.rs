//! The analysis pipeline for one input: reader (HAR or capture) → pairing → resolution (per
//! browser, with the preflight caches) → records, pushed to the caller as they become final.
//! Record building (messages, fixes, serialization) runs on rayon in batches.

use std::sync::Arc;

use rayon::prelude::*;

use crate::capture::{self, CaptureError, CaptureOptions, CaptureStats};
use crate::cors::resolve::Resolver;
use crate::cors::Browser;
use crate::diag::Diagnostics;
use crate::input::har::{self, HarError, HarMeta, HarOptions};
use crate::input::{self, Format, InputError};
use crate::pairing::{Flow, Pairer, PairingOptions};
use crate::report::Record;

/// Flows decided per batch before records are built in parallel.
const BATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("HAR: {0}")]
    Har(#[from] HarError),
    #[error("capture: {0}")]
    Capture(#[from] CaptureError),
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub har: HarOptions,
    pub capture: CaptureOptions,
    pub pairing: PairingOptions,
    /// List same-origin and no-cors requests too (verdict `not-cors`).
    pub all: bool,
    /// Threads that reassemble and parse a capture's connections (plus one that reads and
    /// decodes); 0: one per thread of the rayon pool. The output does not depend on it.
    pub capture_workers: usize,
}

/// What was read, for the summary.
#[derive(Debug, Default)]
pub struct InputReport {
    pub name: String,
    pub format: Option<Format>,
    pub har: Option<HarMeta>,
    pub capture: Option<CaptureStats>,
    pub exchanges: u64,
    pub flows: u64,
    pub diagnostics: Diagnostics,
    /// The browser that made the input (HAR metadata or User-Agent), if known.
    pub recorded_by: Option<Browser>,
    /// The error that stopped reading, after everything before it was analysed.
    pub error: Option<AnalyzeError>,
}

struct Stage<'a> {
    opts: &'a Options,
    pairer: Pairer,
    resolver: Resolver,
    batch: Vec<Flow>,
    recorded: Vec<(Flow, crate::cors::resolve::Resolution)>,
    out: &'a mut dyn FnMut(Record),
    flows: u64,
    recorded_by: Option<Browser>,
}

impl Stage<'_> {
    fn flush(&mut self) {
        for flow in self.batch.drain(..) {
            self.flows += 1;
            let first = &flow.first().exchange;
            let recorder = first
                .evidence
                .browser
                .and_then(|b| b.parse().ok())
                .or_else(|| {
                    first
                        .request
                        .headers
                        .get_str("user-agent")
                        .and_then(|ua| Browser::from_user_agent(&ua))
                })
                .or_else(|| {
                    flow.first().preflight.as_ref().and_then(|p| {
                        p.request
                            .headers
                            .get_str("user-agent")
                            .and_then(|ua| Browser::from_user_agent(&ua))
                    })
                })
                .unwrap_or(Browser::Chromium);
            if self.recorded_by.is_none() {
                self.recorded_by = Some(recorder);
            }
            let res = self.resolver.resolve(&flow, recorder);
            self.recorded.push((flow, res));
        }
        let all = self.opts.all;
        let records: Vec<Record> = self
            .recorded
            .par_iter()
            .map(|(flow, res)| Record::new(flow, res))
            .filter(|r| all || r.is_cross_origin_cors())
            .collect();
        self.recorded.clear();
        for r in records {
            (self.out)(r);
        }
    }
}

/// Analyses one input (path or `-`), calling `out` for every record in time order of the
/// flows. Reading errors after a partial read are returned inside the report.
pub fn analyze(path: &str, opts: &Options, out: &mut dyn FnMut(Record)) -> InputReport {
    let mut report = InputReport {
        name: path.to_owned(),
        ..Default::default()
    };
    let input = match input::open(path) {
        Ok(i) => i,
        Err(e) => {
            report.error = Some(e.into());
            return report;
        }
    };
    report.format = Some(input.format);
    analyze_input(input, opts, out, report)
}

pub fn analyze_input(
    input: input::Input,
    opts: &Options,
    out: &mut dyn FnMut(Record),
    mut report: InputReport,
) -> InputReport {
    let name: Arc<str> = input.name.clone();
    let mut stage = Stage {
        opts,
        pairer: Pairer::new(opts.pairing.clone()),
        resolver: Resolver::new(),
        batch: Vec::new(),
        recorded: Vec::new(),
        out,
        flows: 0,
        recorded_by: None,
    };
    let mut exchanges = 0u64;
    let mut diag = Diagnostics::new();
    {
        let mut emit = |x: crate::model::Exchange| {
            exchanges += 1;
            let Stage { pairer, batch, .. } = &mut stage;
            let mut sink = |f: Flow| batch.push(f);
            pairer.push(x, &mut sink);
            if stage.batch.len() >= BATCH {
                stage.flush();
            }
        };
        match input.format {
            Format::Har => match har::read_har(input.reader, name, &opts.har, &mut emit, &mut diag)
            {
                Ok(meta) => report.har = Some(meta),
                Err(e) => report.error = Some(e.into()),
            },
            Format::Pcap | Format::PcapNg => {
                let workers = match opts.capture_workers {
                    0 => rayon::current_num_threads(),
                    n => n,
                };
                match capture::parallel::read_capture_parallel(
                    input.reader,
                    name,
                    &opts.capture,
                    workers,
                    &mut emit,
                    &mut diag,
                ) {
                    Ok(stats) => report.capture = Some(stats),
                    Err(e) => report.error = Some(e.into()),
                }
            }
        }
    }
    {
        let Stage { pairer, batch, .. } = &mut stage;
        let mut sink = |f: Flow| batch.push(f);
        pairer.finish(&mut sink);
    }
    stage.flush();
    report.exchanges = exchanges;
    report.flows = stage.flows;
    report.recorded_by = report
        .har
        .as_ref()
        .and_then(|m| m.browser_name())
        .or(stage.recorded_by);
    report.diagnostics = diag;
    report
}
