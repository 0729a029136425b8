//! Reports: the record contract (one flat record per cross-origin request, the same fields in
//! NDJSON, JSON and CSV) and the sinks that write records as they become final, plus the
//! per-reason / per-endpoint summary.
//!
//! Record fields, in order: `source`, `index` (HAR entry or capture request number), `time`
//! (RFC 3339), `origin` (page origin), `url` (as the page requested it), `method`, `credentials`
//! (`include`/`omit`/`unknown`), `preflight` (null or `{status, index, cache}`), `verdict`
//! (`allowed`/`blocked`/`unknown`/`not-cors`, Chromium's), `reason` (Chromium `CorsError` name),
//! `failed_parameter`, `message` (Chromium's console text), `fix`, `firefox_verdict`,
//! `firefox_reason`, `firefox_message`, `safari_verdict`, `safari_reason`, `safari_message`,
//! `browsers_agree`, then `status`, `final_url`, `redirects`, `recorded_by`, `note`, `location`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::cors::resolve::{Resolution, Verdict};
use crate::cors::Browser;
use crate::model::{Micros, Position};
use crate::pairing::Flow;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PreflightInfo {
    /// The preflight's response status; null when it came from the cache or got no answer.
    pub status: Option<u16>,
    /// The preflight's entry / request number.
    pub index: Option<u64>,
    /// `recorded`, `cache` (served from the preflight cache, no OPTIONS sent) or `missing`.
    pub source: &'static str,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Record {
    pub source: String,
    pub index: u64,
    pub time: String,
    pub origin: Option<String>,
    pub url: String,
    pub method: String,
    pub credentials: &'static str,
    pub preflight: Option<PreflightInfo>,
    pub verdict: &'static str,
    pub reason: Option<&'static str>,
    pub failed_parameter: Option<String>,
    pub message: Option<String>,
    pub fix: Option<String>,
    pub firefox_verdict: &'static str,
    pub firefox_reason: Option<&'static str>,
    pub firefox_message: Option<String>,
    pub safari_verdict: &'static str,
    pub safari_reason: Option<&'static str>,
    pub safari_message: Option<String>,
    pub browsers_agree: bool,
    pub status: Option<u16>,
    pub final_url: String,
    pub redirects: usize,
    pub recorded_by: &'static str,
    pub note: Option<String>,
    pub location: String,
    /// Request to first response byte of the final request, in milliseconds.
    pub wait_ms: Option<f64>,
    /// Same for the preflight: the overhead the preflight added.
    pub preflight_wait_ms: Option<f64>,
    /// The flow behind the record, for the endpoint fixes, proof and audit (only when the
    /// pipeline was asked to attach it; never serialized).
    #[serde(skip)]
    pub flow: Option<crate::summary::FlowRef>,
}

/// Earliest and latest times RFC 3339 can write (four-digit years): 0000-01-01T00:00:00Z and
/// 9999-12-31T23:59:59.999999Z, in microseconds since the epoch.
const RFC3339_MIN: Micros = -62_167_219_200_000_000;
const RFC3339_MAX: Micros = 253_402_300_799_999_999;

/// The record's `time`. Captures can carry any 64-bit timestamp (hostile or broken pcapng
/// time offsets saturate at `i64::MAX`); those are clamped to the years RFC 3339 can write, so
/// `time` always parses (it used to come out empty past chrono's range, and as `+262142-…`
/// between year 9999 and there).
pub fn rfc3339(t: Micros) -> String {
    let t = t.clamp(RFC3339_MIN, RFC3339_MAX);
    chrono::DateTime::from_timestamp_micros(t)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn index_of(p: &Position, seq: u64) -> u64 {
    match p {
        Position::HarEntry(i) => *i,
        _ => seq,
    }
}

impl Record {
    pub fn new(flow: &Flow, res: &Resolution) -> Record {
        let first = flow.first();
        let last = flow.last();
        let cr = res.for_browser(Browser::Chromium);
        let fx = res.for_browser(Browser::Firefox);
        let sf = res.for_browser(Browser::Safari);
        let preflight = flow
            .hops
            .iter()
            .find_map(|h| h.preflight.as_ref())
            .map(|pf| PreflightInfo {
                status: pf.response.as_ref().map(|r| r.status),
                index: Some(index_of(&pf.loc.position, pf.seq)),
                source: "recorded",
            })
            .or_else(|| {
                res.for_browser(res.recorder)
                    .cache_hits
                    .first()
                    .map(|_| PreflightInfo {
                        status: None,
                        index: None,
                        source: "cache",
                    })
            });
        let mut notes: Vec<String> = Vec::new();
        for v in &res.browsers {
            if let Some(n) = &v.note {
                if !notes.iter().any(|x| x.ends_with(n.as_str())) {
                    notes.push(if v.browser == res.recorder {
                        n.clone()
                    } else {
                        format!("{}: {n}", v.browser)
                    });
                }
            }
        }
        let loc = match first.preflight.as_ref().filter(|_| !first.sent) {
            Some(pf) => pf.loc.to_string(),
            None => first.exchange.loc.to_string(),
        };
        Record {
            source: first.exchange.loc.source.to_string(),
            index: index_of(&first.exchange.loc.position, first.exchange.seq),
            time: rfc3339(first.exchange.time),
            origin: res.facts.page_origin.clone(),
            url: first.exchange.request.url.clone(),
            method: first.exchange.request.method.clone(),
            credentials: res.credentials.as_str(),
            preflight,
            verdict: cr.verdict.as_str(),
            reason: cr.reason,
            failed_parameter: cr.failed_parameter.clone(),
            message: cr.message.clone(),
            fix: res.for_browser(res.recorder).fix.clone().or(cr.fix.clone()),
            firefox_verdict: fx.verdict.as_str(),
            firefox_reason: fx.reason,
            firefox_message: fx.message.clone(),
            safari_verdict: sf.verdict.as_str(),
            safari_reason: sf.reason,
            safari_message: sf.message.clone(),
            browsers_agree: res.browsers_agree(),
            status: last.exchange.response.as_ref().map(|r| r.status),
            final_url: last.exchange.request.url.clone(),
            redirects: flow.hops.len() - 1,
            recorded_by: res.recorder.id(),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            location: loc,
            wait_ms: last.exchange.timings.wait_ms,
            preflight_wait_ms: first.preflight.as_ref().and_then(|p| p.timings.wait_ms),
            flow: None,
        }
    }

    /// The verdict as `browser` sees it.
    pub fn verdict_for(&self, browser: Browser) -> &'static str {
        match browser {
            Browser::Chromium => self.verdict,
            Browser::Firefox => self.firefox_verdict,
            Browser::Safari => self.safari_verdict,
        }
    }

    pub fn reason_for(&self, browser: Browser) -> Option<&'static str> {
        match browser {
            Browser::Chromium => self.reason,
            Browser::Firefox => self.firefox_reason,
            Browser::Safari => self.safari_reason,
        }
    }

    pub fn is_cross_origin_cors(&self) -> bool {
        self.verdict != Verdict::NotCors.as_str()
            || self.firefox_verdict != "not-cors"
            || self.safari_verdict != "not-cors"
    }

    /// The endpoint for summaries: origin + path, without the query.
    pub fn endpoint(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(u) => format!(
                "{} {}{}",
                self.method,
                u.origin().ascii_serialization(),
                u.path()
            ),
            Err(_) => format!("{} {}", self.method, self.url),
        }
    }
}

/// Where records go as they become final.
pub trait RecordSink {
    fn record(&mut self, r: &Record) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub struct NdjsonSink<W: Write> {
    out: W,
}

impl<W: Write> NdjsonSink<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write> RecordSink for NdjsonSink<W> {
    fn record(&mut self, r: &Record) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, r)?;
        self.out.write_all(b"\n")
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A JSON document `{"records": [...], "summary": {...}}`, written incrementally.
pub struct JsonSink<W: Write> {
    out: W,
    first: bool,
    pub summary: Summary,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W, browser: Browser) -> Self {
        Self {
            out,
            first: true,
            summary: Summary::with_collector(browser),
        }
    }
}

impl<W: Write> RecordSink for JsonSink<W> {
    fn record(&mut self, r: &Record) -> io::Result<()> {
        self.summary.add(r);
        self.out.write_all(if self.first {
            b"{\"records\":[\n"
        } else {
            b",\n"
        })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, r)?;
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        if self.first {
            self.out.write_all(b"{\"records\":[")?;
        }
        self.summary.finalize();
        self.out.write_all(b"\n],\"summary\":")?;
        serde_json::to_writer(&mut self.out, &self.summary)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

pub const CSV_COLUMNS: &[&str] = &[
    "source",
    "index",
    "time",
    "origin",
    "url",
    "method",
    "credentials",
    "preflight",
    "verdict",
    "reason",
    "failed_parameter",
    "firefox_reason",
    "message",
    "fix",
    "firefox_verdict",
    "firefox_message",
    "safari_verdict",
    "safari_reason",
    "safari_message",
    "browsers_agree",
    "status",
    "final_url",
    "redirects",
    "recorded_by",
    "note",
    "location",
];

pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvSink<W> {
    pub fn new(out: W) -> io::Result<Self> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(CSV_COLUMNS)?;
        Ok(Self { out })
    }
}

impl<W: Write> RecordSink for CsvSink<W> {
    fn record(&mut self, r: &Record) -> io::Result<()> {
        let o = |s: &Option<String>| s.clone().unwrap_or_default();
        let preflight = r
            .preflight
            .as_ref()
            .map_or_else(String::new, |p| match p.source {
                "recorded" => format!(
                    "{}@{}",
                    p.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    p.index.unwrap_or(0)
                ),
                other => other.to_owned(),
            });
        self.out.write_record([
            r.source.clone(),
            r.index.to_string(),
            r.time.clone(),
            o(&r.origin),
            r.url.clone(),
            r.method.clone(),
            r.credentials.to_owned(),
            preflight,
            r.verdict.to_owned(),
            r.reason.unwrap_or_default().to_owned(),
            o(&r.failed_parameter),
            r.firefox_reason.unwrap_or_default().to_owned(),
            o(&r.message),
            o(&r.fix),
            r.firefox_verdict.to_owned(),
            o(&r.firefox_message),
            r.safari_verdict.to_owned(),
            r.safari_reason.unwrap_or_default().to_owned(),
            o(&r.safari_message),
            r.browsers_agree.to_string(),
            r.status.map_or_else(String::new, |s| s.to_string()),
            r.final_url.clone(),
            r.redirects.to_string(),
            r.recorded_by.to_owned(),
            o(&r.note),
            r.location.clone(),
        ])?;
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Counts per verdict, reason and endpoint, for the browser the report speaks for.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Summary {
    pub browser: &'static str,
    pub requests: u64,
    pub verdicts: BTreeMap<&'static str, u64>,
    pub reasons: BTreeMap<String, u64>,
    pub endpoints: BTreeMap<String, EndpointStats>,
    /// Endpoints where one browser blocks what another allows.
    pub disagreements: BTreeMap<String, String>,
    /// Route-pattern endpoints with fixes and proofs, audit findings, timeline (issue 14).
    #[serde(skip)]
    pub collector: Option<crate::summary::Collector>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub insights: Option<crate::summary::Insights>,
}

#[derive(Clone, Debug, Serialize, Default)]
pub struct EndpointStats {
    pub requests: u64,
    pub blocked: u64,
    pub preflights: u64,
    pub preflight_wait_ms: f64,
    pub reasons: BTreeMap<String, u64>,
    pub fix: Option<String>,
}

impl Summary {
    pub fn new(browser: Browser) -> Self {
        Self {
            browser: browser.id(),
            ..Default::default()
        }
    }

    /// A summary that also collects the endpoint report ([`Summary::finalize`] computes it).
    pub fn with_collector(browser: Browser) -> Self {
        Self {
            collector: Some(crate::summary::Collector::new(browser)),
            ..Self::new(browser)
        }
    }

    /// The browser the summary speaks for, once known.
    pub fn set_browser(&mut self, b: Browser) {
        self.browser = b.id();
        if let Some(c) = &mut self.collector {
            c.set_browser(b);
        }
    }

    /// Computes the endpoint fixes, proofs and audit from what was collected.
    pub fn finalize(&mut self) {
        if let Some(c) = &self.collector {
            self.insights = Some(c.finish());
        }
    }

    fn browser(&self) -> Browser {
        self.browser.parse().unwrap_or(Browser::Chromium)
    }

    pub fn add(&mut self, r: &Record) {
        let b = self.browser();
        if let Some(c) = &mut self.collector {
            c.add(r);
        }
        self.requests += 1;
        let verdict = r.verdict_for(b);
        *self.verdicts.entry(verdict).or_insert(0) += 1;
        let e = self.endpoints.entry(r.endpoint()).or_default();
        e.requests += 1;
        if let Some(p) = &r.preflight {
            if p.source == "recorded" {
                e.preflights += 1;
                e.preflight_wait_ms += r.preflight_wait_ms.unwrap_or(0.0);
            }
        }
        if verdict == "blocked" {
            e.blocked += 1;
            let reason = r.reason_for(b).unwrap_or("(reason not visible)").to_owned();
            *e.reasons.entry(reason.clone()).or_insert(0) += 1;
            *self.reasons.entry(reason).or_insert(0) += 1;
            if e.fix.is_none() {
                e.fix = r.fix.clone();
            }
        }
        if !r.browsers_agree {
            let verdicts = format!(
                "Chromium {}{}, Firefox {}{}, Safari {}{}",
                r.verdict,
                r.reason.map(|x| format!(" ({x})")).unwrap_or_default(),
                r.firefox_verdict,
                r.firefox_reason
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default(),
                r.safari_verdict,
                r.safari_reason
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default(),
            );
            let why = r
                .note
                .as_deref()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default();
            let fix = r
                .fix
                .as_deref()
                .map(|f| format!("; to satisfy all three: {f}"))
                .unwrap_or_default();
            self.disagreements
                .insert(r.endpoint(), format!("{verdicts}{why}{fix}"));
        }
    }

    pub fn blocked(&self) -> u64 {
        self.verdicts.get("blocked").copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extreme capture times (pcapng `if_tsoffset`, far-future timestamps) gave an empty or
    /// non-RFC 3339 `time` (found by review while writing the fuzz and mutation record checks).
    #[test]
    fn every_time_is_rfc3339() {
        for t in [
            i64::MIN,
            RFC3339_MIN - 1,
            RFC3339_MIN,
            -1,
            0,
            1_764_013_600_313_000,
            RFC3339_MAX,
            RFC3339_MAX + 1,
            i64::MAX,
        ] {
            let s = rfc3339(t);
            assert!(
                chrono::DateTime::parse_from_rfc3339(&s).is_ok(),
                "{t} -> {s:?}"
            );
        }
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(i64::MIN), "0000-01-01T00:00:00.000Z");
    }
}
