//! The reporting step after the records: flows grouped by endpoint (route pattern), ranked,
//! each with the minimal server fix and its proof by re-evaluation, the passive audit, the
//! preflight cost and a timeline — the structures behind the terminal summary, the JSON
//! `summary` fields and the HTML report.

pub(crate) mod cost;
pub(crate) mod expose;
pub mod html;
pub(crate) mod junit;
pub(crate) mod proof;
pub(crate) mod route;
pub(crate) mod text;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::audit::{Auditor, Finding, FlowId};
use crate::cors::resolve::Resolution;
use crate::cors::{Browser, PerBrowser};
use crate::model::Micros;
use crate::pairing::Flow;
use crate::report::{Record, RecordSink, Summary};
use proof::{HeaderFix, Requirements};

/// A record's flow and its resolution, attached when a report needs more than the record
/// (see `pipeline::Options::attach_flows`). Equal only to itself.
#[derive(Clone, Debug)]
pub struct FlowRef(pub Arc<(Flow, Resolution)>);

impl PartialEq for FlowRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A sink that writes one document at the end (HTML, JUnit) from the run's summary: the
/// endpoint report the printer collected (each record judged by its input's browser, as the
/// table and the exit status judge it), with the inputs and their errors.
pub(crate) struct ReportSink<W: std::io::Write> {
    out: W,
    summary: Option<Summary>,
    render: fn(&Summary) -> String,
}

impl<W: std::io::Write> ReportSink<W> {
    pub(crate) fn new(out: W, render: fn(&Summary) -> String) -> Self {
        Self {
            out,
            summary: None,
            render,
        }
    }
}

impl<W: std::io::Write> RecordSink for ReportSink<W> {
    fn record(&mut self, _: &Record) -> std::io::Result<()> {
        Ok(())
    }
    fn summary(&mut self, summary: &Summary) {
        self.summary = Some(summary.clone());
    }
    fn finish(&mut self) -> std::io::Result<()> {
        let summary = self.summary.take().unwrap_or_default();
        self.out.write_all((self.render)(&summary).as_bytes())?;
        self.out.flush()
    }
}

/// The run's endpoint report, or an empty one where none was collected (a run that read
/// nothing): what the HTML and JUnit renderers draw.
pub(crate) fn insights_of(s: &Summary) -> std::borrow::Cow<'_, Insights> {
    match &s.insights {
        Some(i) => std::borrow::Cow::Borrowed(i),
        None => std::borrow::Cow::Owned(Collector::default().finish()),
    }
}

/// Blocked flows kept for the proof, over all endpoints; past it the proof covers the first
/// ones and says how many it left out (memory stays bounded on huge inputs).
pub(crate) const PROOF_FLOWS_KEPT: usize = 50_000;
/// Allowed flows per endpoint re-checked to stay allowed under the fix.
pub(crate) const ALLOWED_CHECKED: usize = 64;
/// Bars of the timeline chart.
pub const TIMELINE_BUCKETS: usize = 48;

/// Allowed, blocked, unknown, not-cors: each record as the browser it is judged by decides
/// ([`Collector::add_judged`]).
type Counts = [u64; 4];

#[derive(Clone, Debug, Default)]
struct EndpointAcc {
    requests: u64,
    counts: Counts,
    blocked_anywhere: u64,
    /// Blocking reasons, as the judging browser names them.
    reasons: BTreeMap<String, u64>,
    origins: BTreeMap<String, u64>,
    methods: BTreeMap<String, u64>,
    request_headers: BTreeMap<String, u64>,
    req: Requirements,
    proof_flows: Vec<(FlowId, FlowRef)>,
    proof_left_out: u64,
    out_of_scope: BTreeMap<&'static str, u64>,
    allowed_sample: Vec<FlowRef>,
    allowed_total: u64,
    cost: cost::CostAcc,
    /// The first flow blocked for its judging browser.
    first_blocked: Option<FlowId>,
}

/// Collects records (with their flows attached) as they come. The counts, ranking, reasons
/// and timeline judge each record by one browser: the one [`Collector::add_judged`] is given
/// (the printer gives each input's), else the collector's own ([`Collector::add`]).
#[derive(Clone, Debug, Default)]
pub struct Collector {
    /// The browser [`Collector::add`] judges by (Chromium if none).
    browser: Option<Browser>,
    endpoints: HashMap<String, EndpointAcc>,
    auditor: Auditor,
    kept: usize,
    /// (time, verdict index as judged).
    times: Vec<(Micros, u8)>,
    counts: Counts,
    /// The first flows blocked as judged, with their explanation.
    blocked_list: Vec<BlockedFlow>,
    reads: expose::ReadHeaders,
}

/// Blocked flows listed with their explanation (the HTML report); the count covers all.
pub(crate) const BLOCKED_LISTED: usize = 500;

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Totals {
    pub requests: u64,
    pub blocked: u64,
    pub allowed: u64,
    pub unknown: u64,
    pub not_cors: u64,
    pub endpoints: u64,
    pub endpoints_blocked: u64,
    /// Blocked (in any browser) flows the suggested fixes cover, and of those re-evaluated
    /// allowed in all three browsers.
    pub fixable: u64,
    pub proven_fixed: u64,
    pub preflights: u64,
    pub preflight_ms: f64,
    pub findings: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BlockedFlow {
    pub source: String,
    pub index: u64,
    pub time: String,
    pub method: String,
    pub url: String,
    pub origin: Option<String>,
    pub reason: Option<&'static str>,
    pub message: Option<String>,
    pub fix: Option<String>,
}

/// The verdicts in the order counts keep them (allowed, blocked, unknown, not-cors).
const VERDICTS: [&str; 4] = crate::cors::resolve::Verdict::NAMES;

/// The proof for one endpoint's fix.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Proof {
    /// Flows blocked in at least one browser.
    pub blocked: u64,
    /// Of those, the ones response headers can fix (the rest are listed by why not).
    pub in_scope: u64,
    pub rechecked: u64,
    /// Re-evaluated allowed in Chromium, Firefox and Safari.
    pub fixed: u64,
    /// Of `fixed`, the ones where a response the recording lacks was assumed (the request
    /// never went out after its failed preflight, or its preflight was not recorded).
    pub fixed_with_assumed_responses: u64,
    /// Flows the fix does not clear, with what the engine said.
    pub not_fixed: Vec<(FlowId, String)>,
    pub out_of_scope: BTreeMap<&'static str, u64>,
    /// In-scope flows beyond the kept budget, not re-checked.
    pub not_rechecked: u64,
    /// Flows allowed in every browser; the first [`ALLOWED_CHECKED`] are re-checked under the
    /// fix, with those it would break.
    pub allowed: u64,
    pub allowed_checked: u64,
    pub allowed_broken: Vec<(FlowId, String)>,
    pub statement: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EndpointFix {
    pub headers: HeaderFix,
    pub preflight_lines: Vec<String>,
    pub actual_lines: Vec<String>,
    pub nginx: String,
    pub express: String,
    pub proof: Proof,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EndpointReport {
    pub endpoint: String,
    pub requests: u64,
    pub blocked: u64,
    pub allowed: u64,
    pub unknown: u64,
    pub blocked_in_any_browser: u64,
    pub reasons: BTreeMap<String, u64>,
    pub origins: BTreeMap<String, u64>,
    pub methods: BTreeMap<String, u64>,
    pub request_headers: BTreeMap<String, u64>,
    pub fix: Option<EndpointFix>,
    pub preflight_cost: cost::PreflightCost,
    /// A blocked flow of the endpoint, for `--format table`'s pointer.
    pub example: Option<FlowId>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Timeline {
    pub start: String,
    pub end: String,
    pub bucket_seconds: f64,
    /// Per bucket: allowed, blocked, unknown, not-cors.
    pub buckets: Vec<[u64; 4]>,
}

/// Everything the reports show beyond the records.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Insights {
    pub totals: Totals,
    /// Ranked: blocked (for the speaking browser), then blocked in any browser, then traffic.
    pub routes: Vec<EndpointReport>,
    pub audit: Vec<Finding>,
    pub timeline: Timeline,
    /// The first [`BLOCKED_LISTED`] blocked flows with their explanation.
    pub blocked_flows: Vec<BlockedFlow>,
}

impl Collector {
    pub(crate) fn new(browser: Browser) -> Self {
        Collector {
            browser: Some(browser),
            ..Default::default()
        }
    }

    /// Adds a record judged by the collector's browser ([`Collector::add_judged`]).
    pub fn add(&mut self, r: &Record) {
        self.add_judged(r, self.browser.unwrap_or(Browser::Chromium));
    }

    /// Adds a record as `judge` decides it (its input's browser: what the table printed for it
    /// and the exit status counted); its flow (if attached) feeds the fix, proof, audit and
    /// cost, which cover every browser.
    pub fn add_judged(&mut self, r: &Record, judge: Browser) {
        let vi = PerBrowser::from_fn(|b| {
            let v = r.verdict_for(b);
            VERDICTS.iter().position(|x| *x == v).unwrap_or(3)
        });
        let v = vi[judge];
        self.counts[v] += 1;
        let time = chrono::DateTime::parse_from_rfc3339(&r.time)
            .map(|d| d.timestamp_micros())
            .unwrap_or(0);
        // VERDICTS has four entries: the index fits a byte.
        self.times.push((time, v as u8));
        if v == 1 && self.blocked_list.len() < BLOCKED_LISTED {
            self.blocked_list.push(blocked_flow(r, judge));
        }
        if vi.values().all(|v| *v == 3) {
            return;
        }
        let key = route::endpoint_key(&r.url);
        let id = FlowId {
            source: r.source.to_string(),
            index: r.index,
        };
        let e = self.endpoints.entry(key.clone()).or_default();
        e.requests += 1;
        e.counts[v] += 1;
        if v == 1 {
            let reason = r
                .reason_for(judge)
                .unwrap_or("(reason not visible)")
                .to_owned();
            *e.reasons.entry(reason).or_insert(0) += 1;
            e.first_blocked.get_or_insert_with(|| id.clone());
        }
        if let Some(o) = &r.origin {
            *e.origins.entry(o.clone()).or_insert(0) += 1;
        }
        *e.methods.entry(r.method.clone()).or_insert(0) += 1;
        if let Some(fr) = &r.flow {
            self.add_flow(r, fr, &key, id);
        }
    }

    /// Adds what a record's attached flow shows: the audit, the announced headers, the
    /// preflight cost, the fix's requirements, the proof's flows and the headers read.
    fn add_flow(&mut self, r: &Record, fr: &FlowRef, key: &str, id: FlowId) {
        let (flow, res) = &*fr.0;
        let Some(page) = res.facts.page_origin.as_deref() else {
            return;
        };
        self.auditor.add(flow, page, key, &id);
        let Some(e) = self.endpoints.get_mut(key) else {
            return;
        };
        for hop in &flow.hops {
            if let Some(pf) = &hop.preflight {
                if let Some(acrh) = pf.request.headers.get_str("access-control-request-headers") {
                    for n in acrh.split(',').map(|n| n.trim().to_ascii_lowercase()) {
                        if !n.is_empty() {
                            *e.request_headers.entry(n).or_insert(0) += 1;
                        }
                    }
                }
                e.cost
                    .preflight(&flow.client, page, res.credentials.as_str(), pf);
            }
        }
        let first = flow.first();
        let page_load = first
            .exchange
            .evidence
            .page
            .clone()
            .or_else(|| {
                first
                    .preflight
                    .as_ref()
                    .and_then(|p| p.evidence.page.clone())
            })
            .map(|p| format!("{}#{p}", r.source))
            .unwrap_or_else(|| format!("{}#{}#{page}", r.source, flow.client));
        e.cost.page(page_load);
        e.req.add(flow, res);
        if proof::blocked_anywhere(res) {
            e.blocked_anywhere += 1;
            if let Some(why) = proof::out_of_scope(flow, res) {
                *e.out_of_scope.entry(why).or_insert(0) += 1;
            } else if self.kept < PROOF_FLOWS_KEPT {
                self.kept += 1;
                e.proof_flows.push((id, fr.clone()));
            } else {
                e.proof_left_out += 1;
            }
        } else if proof::allowed_everywhere(res) {
            e.allowed_total += 1;
            if e.allowed_sample.len() < ALLOWED_CHECKED {
                e.allowed_sample.push(fr.clone());
            }
        }
        self.note_reads(flow, key, page);
    }

    /// Response headers whose values this flow's requests carry were read by the page; this
    /// flow's cross-origin responses are what later requests may carry.
    fn note_reads(&mut self, flow: &Flow, key: &str, page: &str) {
        for hop in &flow.hops {
            for (endpoint, name) in self
                .reads
                .reads(&flow.client, &hop.exchange.request.headers)
            {
                if let Some(other) = self.endpoints.get_mut(&endpoint) {
                    other.req.expose.insert(name);
                }
            }
        }
        for hop in &flow.hops {
            if crate::cors::origin::same_origin(&hop.exchange.request.url, page) {
                continue;
            }
            if let Some(resp) = &hop.exchange.response {
                self.reads.response(&flow.client, key, &resp.headers);
            }
        }
    }

    /// Computes the fixes, proofs, findings and timeline.
    pub fn finish(&self) -> Insights {
        let c = &self.counts;
        let mut totals = Totals {
            // Cross-origin requests, as the summary's `requests` counts them (`not_cors` apart).
            requests: c[..3].iter().sum(),
            allowed: c[0],
            blocked: c[1],
            unknown: c[2],
            not_cors: c[3],
            ..Totals::default()
        };
        let mut routes: Vec<EndpointReport> = self
            .endpoints
            .iter()
            .map(|(k, e)| endpoint_report(k, e))
            .collect();
        routes.sort_by(|a, b| {
            b.blocked
                .cmp(&a.blocked)
                .then(b.blocked_in_any_browser.cmp(&a.blocked_in_any_browser))
                .then(b.requests.cmp(&a.requests))
                .then(a.endpoint.cmp(&b.endpoint))
        });
        totals.endpoints = routes.len() as u64;
        totals.endpoints_blocked = routes.iter().filter(|r| r.blocked > 0).count() as u64;
        for r in &routes {
            if let Some(f) = &r.fix {
                totals.fixable += f.proof.in_scope;
                totals.proven_fixed += f.proof.fixed;
            }
            totals.preflights += r.preflight_cost.preflights;
            totals.preflight_ms += r.preflight_cost.total_ms;
        }
        let audit = self.auditor.clone().finish();
        totals.findings = audit.len() as u64;
        Insights {
            totals,
            routes,
            audit,
            timeline: timeline(&self.times),
            blocked_flows: self.blocked_list.clone(),
        }
    }
}

fn blocked_flow(r: &Record, b: Browser) -> BlockedFlow {
    BlockedFlow {
        source: r.source.to_string(),
        index: r.index,
        time: r.time.to_string(),
        method: r.method.clone(),
        url: r.url.clone(),
        origin: r.origin.clone(),
        reason: r.reason_for(b),
        message: r.message_for(b).or(r.note.as_ref()).cloned(),
        fix: r.fix.clone(),
    }
}

fn endpoint_report(key: &str, e: &EndpointAcc) -> EndpointReport {
    let fix = (e.blocked_anywhere > 0).then(|| {
        let headers = e.req.fix();
        // The key's own path (`{id}` as written: re-parsing it as a URL encoded the braces).
        let path = route::key_path(key);
        let proof = prove(&headers, e);
        EndpointFix {
            preflight_lines: headers.preflight_lines(),
            actual_lines: headers.actual_lines(),
            nginx: headers.nginx(path),
            express: headers.express(path),
            headers,
            proof,
        }
    });
    EndpointReport {
        endpoint: key.to_owned(),
        requests: e.requests,
        allowed: e.counts[0],
        blocked: e.counts[1],
        unknown: e.counts[2],
        blocked_in_any_browser: e.blocked_anywhere,
        reasons: e.reasons.clone(),
        origins: e.origins.clone(),
        methods: e.methods.clone(),
        request_headers: e.request_headers.clone(),
        fix,
        preflight_cost: e.cost.finish(),
        example: e.first_blocked.clone(),
    }
}

fn prove(fix: &HeaderFix, e: &EndpointAcc) -> Proof {
    let mut p = Proof {
        blocked: e.blocked_anywhere,
        in_scope: e.proof_flows.len() as u64 + e.proof_left_out,
        rechecked: 0,
        fixed: 0,
        fixed_with_assumed_responses: 0,
        not_fixed: Vec::new(),
        out_of_scope: e.out_of_scope.clone(),
        not_rechecked: e.proof_left_out,
        allowed: e.allowed_total,
        allowed_checked: 0,
        allowed_broken: Vec::new(),
        statement: String::new(),
    };
    for (id, fr) in &e.proof_flows {
        let (flow, res) = &*fr.0;
        let Some(rc) = proof::recheck(fix, flow, res) else {
            continue;
        };
        p.rechecked += 1;
        if rc.allowed_everywhere {
            p.fixed += 1;
            p.fixed_with_assumed_responses += u64::from(rc.assumed);
        } else {
            let why: Vec<String> = rc
                .failures
                .iter()
                .map(|(b, w)| format!("{b}: {w}"))
                .collect();
            p.not_fixed.push((id.clone(), why.join("; ")));
        }
    }
    for fr in &e.allowed_sample {
        let (flow, res) = &*fr.0;
        if let Some(rc) = proof::recheck(fix, flow, res) {
            p.allowed_checked += 1;
            if !rc.allowed_everywhere {
                let r = Record::new(flow, res);
                let why: Vec<String> = rc
                    .failures
                    .iter()
                    .map(|(b, w)| format!("{b}: {w}"))
                    .collect();
                p.allowed_broken.push((
                    FlowId {
                        source: r.source.to_string(),
                        index: r.index,
                    },
                    why.join("; "),
                ));
            }
        }
    }
    let browsers = crate::cors::browser::all_names();
    let mut s = if p.in_scope == 0 {
        "no blocked request here is fixable by response headers".to_owned()
    } else {
        format!(
            "fixes {} of {} blocked request(s) in {browsers}",
            p.fixed, p.in_scope
        )
    };
    if p.fixed_with_assumed_responses > 0 {
        s.push_str(&format!(
            " ({} assuming a response the recording lacks carries the same headers)",
            p.fixed_with_assumed_responses
        ));
    }
    if p.not_rechecked > 0 {
        s.push_str(&format!(
            "; {} beyond the {PROOF_FLOWS_KEPT}-flow budget not re-checked",
            p.not_rechecked
        ));
    }
    let oos: u64 = p.out_of_scope.values().sum();
    if oos > 0 {
        s.push_str(&format!("; {oos} need another change (see out_of_scope)"));
    }
    if p.allowed_checked > 0 {
        s.push_str(&format!(
            "; {} of {} allowed request(s) re-checked stay allowed",
            p.allowed_checked - p.allowed_broken.len() as u64,
            p.allowed_checked
        ));
    }
    p.statement = s;
    p
}

fn timeline(times: &[(Micros, u8)]) -> Timeline {
    let (lo, hi) = times.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (t, _)| {
        (lo.min(*t), hi.max(*t))
    });
    if times.is_empty() {
        return Timeline {
            start: String::new(),
            end: String::new(),
            bucket_seconds: 0.0,
            buckets: Vec::new(),
        };
    }
    let span = (hi as i128 - lo as i128).max(1);
    let n = TIMELINE_BUCKETS as i128;
    let width = (span + n - 1) / n;
    let mut buckets = vec![[0u64; 4]; TIMELINE_BUCKETS];
    for (t, v) in times {
        let i = ((*t as i128 - lo as i128) / width.max(1)).clamp(0, n - 1) as usize;
        // VERDICTS order is allowed, blocked, unknown, not-cors; the bucket keeps it.
        buckets[i][usize::from(*v).min(3)] += 1;
    }
    Timeline {
        start: crate::report::rfc3339(lo),
        end: crate::report::rfc3339(hi),
        bucket_seconds: width as f64 / 1e6,
        buckets,
    }
}
