//! One input analysed for a library caller (the Python package): its records and the
//! summary `corscope --summary` prints for it, and the limits set by name.
//!
//! The summary is built as the command line builds an input's: for the browser given, else
//! the one that recorded the input, with the input's error (if any) in `errors`.

use crate::cors::Browser;
use crate::limits::LIMITS;
use crate::pipeline::{self, InputReport, Options};
use crate::report::{InputSummary, Record, Summary};

/// A limit set by name that cannot be: not one of [`LIMITS`], or below its minimum (as the
/// command line's flag refuses it).
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("unknown limit `{0}` (known: {known})", known = known_limits())]
    Unknown(String),
    #[error("limit `{name}`: {value} is below the smallest value that works, {min}")]
    BelowMinimum { name: String, value: u64, min: u64 },
}

/// The limits' names as keywords (`max_entry_bytes`), comma-separated.
pub(crate) fn known_limits() -> String {
    LIMITS
        .iter()
        .map(|l| l.flag.replace('-', "_"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Default options with the named limits set; a name is a flag without `--`, with `_` or `-`.
pub fn options_with_limits(limits: &[(String, u64)]) -> Result<Options, LimitError> {
    let mut opts = Options::default();
    for (name, value) in limits {
        let flag = name.replace('_', "-");
        let limit = LIMITS
            .iter()
            .find(|l| l.flag == flag)
            .ok_or_else(|| LimitError::Unknown(name.clone()))?;
        if *value < limit.min {
            return Err(LimitError::BelowMinimum {
                name: name.clone(),
                value: *value,
                min: limit.min,
            });
        }
        (limit.apply)(&mut opts, *value);
    }
    Ok(opts)
}

/// What analysing an input gave besides its records.
pub struct Analysis {
    /// The summary for the chosen browser, as `corscope --summary --format ndjson` writes it.
    pub summary: Summary,
    /// What was read; `report.error` is the error that stopped reading, if any.
    pub report: InputReport,
}

/// Analyses `path`, handing every record (the cross-origin ones, or all with `opts.all`) to
/// `out` in time order, and returns the input's summary for `browser` (else the browser that
/// recorded the input).
pub fn analyze_path(
    path: &str,
    browser: Option<Browser>,
    opts: &Options,
    out: &mut dyn FnMut(&Record),
) -> Analysis {
    let mut summary: Option<Summary> = None;
    let report = pipeline::analyze(path, opts, &mut |r| {
        let s = summary.get_or_insert_with(|| {
            let b = browser
                .or_else(|| r.recorded_by.parse().ok())
                .unwrap_or(Browser::Chromium);
            Summary::new(b)
        });
        s.add(&r);
        out(&r);
    });
    let mut summary = summary.unwrap_or_else(|| {
        Summary::new(browser.or(report.recorded_by).unwrap_or(Browser::Chromium))
    });
    let error = report.error_text();
    if let Some(e) = &error {
        summary.errors.push(format!("{}: {e}", report.name));
    }
    summary.inputs.push(InputSummary {
        name: report.name.clone(),
        format: report.format.map(|f| f.name()),
        browser: summary.browser,
        requests: summary.requests,
        blocked: summary.blocked(),
        unknown: summary.unknown(),
        stopped: report.stopped,
        error,
    });
    Analysis { summary, report }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_by_name() {
        let o = options_with_limits(&[("max_entry_bytes".into(), 1234)]).map(|o| o.har);
        assert_eq!(o.map(|h| h.max_entry_bytes).ok(), Some(1234));
        let e = options_with_limits(&[("max_entries_please".into(), 1)])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("`max_entries_please`") && e.contains("max_entry_bytes"),
            "{e}"
        );
    }
}
