//! The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

use std::io::{self, Write};

use crate::cors::Browser;
use crate::report::{Record, RecordSink, Summary};

/// Collects records and writes the report at the end.
pub struct HtmlSink<W: Write> {
    out: W,
    summary: Summary,
}

impl<W: Write> HtmlSink<W> {
    pub fn new(out: W, browser: Browser) -> Self {
        Self {
            out,
            summary: Summary::with_collector(browser),
        }
    }
}

impl<W: Write> RecordSink for HtmlSink<W> {
    fn record(&mut self, r: &Record) -> io::Result<()> {
        self.summary.add(r);
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.summary.finalize();
        if let Some(ins) = &self.summary.insights {
            self.out.write_all(render(ins, self.summary.browser).as_bytes())?;
        }
        self.out.flush()
    }
}

pub fn render(_ins: &super::Insights, _browser: &str) -> String {
    String::new()
}
