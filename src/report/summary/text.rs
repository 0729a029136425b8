//! The terminal summary of the endpoint report: totals first, then the top endpoints with
//! their fix and its proof, the reasons, the audit findings and the preflight cost — sized to
//! fit one screen whatever the input (`--top N`).

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{EndpointReport, Insights};

/// Reasons and findings listed before "… and N more".
const LISTED: usize = 8;

fn count_list(m: &BTreeMap<String, u64>, n: usize) -> String {
    let mut v: Vec<(&String, &u64)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let more = v.len().saturating_sub(n);
    let mut s: Vec<String> = v
        .into_iter()
        .take(n)
        .map(|(k, c)| format!("{k} ×{c}"))
        .collect();
    if more > 0 {
        s.push(format!("+{more} more"));
    }
    s.join(", ")
}

/// The one-line proof and cost of an endpoint.
pub(crate) fn cost_line(e: &EndpointReport) -> Option<String> {
    let c = &e.preflight_cost;
    (c.preflights > 0).then(|| {
        format!(
            "{} preflight(s), {:.1} ms ({:.1} ms per page load over {}); Max-Age {} would have avoided {}",
            c.preflights,
            c.total_ms,
            c.ms_per_page_load,
            c.page_loads,
            c.max_age,
            c.avoidable
                .iter()
                .map(|(b, n)| format!("{n} in {b}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The endpoint report as text; `judged_by` names who judged the verdicts
/// ([`crate::report::Summary::judged_by`]).
pub(crate) fn print(
    out: &mut dyn Write,
    ins: &Insights,
    judged_by: &str,
    top: usize,
) -> io::Result<()> {
    let t = &ins.totals;
    writeln!(
        out,
        "\n{} cross-origin request(s) as {} decides them: {} blocked, {} allowed, {} unknown",
        t.requests, judged_by, t.blocked, t.allowed, t.unknown
    )?;
    writeln!(
        out,
        "{} endpoint(s), {} with blocked requests; suggested fixes re-evaluated allowed in {}: {} of {} fixable request(s) blocked in some browser",
        t.endpoints,
        t.endpoints_blocked,
        crate::cors::browser::all_names(),
        t.proven_fixed,
        t.fixable
    )?;
    writeln!(
        out,
        "{} preflight(s) took {:.1} ms; {} audit finding(s)",
        t.preflights, t.preflight_ms, t.findings
    )?;
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for r in &ins.routes {
        for (k, n) in &r.reasons {
            *reasons.entry(k.clone()).or_insert(0) += n;
        }
    }
    if !reasons.is_empty() {
        writeln!(
            out,
            "Blocked, by reason (corscope explain REASON): {}",
            count_list(&reasons, LISTED)
        )?;
    }
    // The endpoints worth a line: something blocked somewhere, or preflights to pay for.
    let listable: Vec<&EndpointReport> = ins
        .routes
        .iter()
        .filter(|r| r.blocked_in_any_browser > 0 || r.preflight_cost.preflights > 0)
        .collect();
    let shown = &listable[..listable.len().min(top)];
    if !shown.is_empty() {
        let more = if listable.len() > shown.len() {
            "--top N for more, "
        } else {
            ""
        };
        writeln!(
            out,
            "\nTop endpoints ({} of {} blocked or preflighted, {} in all; {more}--format json or html for all):",
            shown.len(),
            listable.len(),
            ins.routes.len()
        )?;
    }
    for (i, e) in shown.iter().enumerate() {
        writeln!(
            out,
            "{:>3}. {}  blocked {}/{} ({} in some browser){}{}",
            i + 1,
            e.endpoint,
            e.blocked,
            e.requests,
            e.blocked_in_any_browser,
            if e.reasons.is_empty() {
                String::new()
            } else {
                format!("  [{}]", count_list(&e.reasons, 3))
            },
            format_args!(
                "  from {}  {}",
                count_list(&e.origins, 2),
                count_list(&e.methods, 3)
            )
        )?;
        if let Some(f) = &e.fix {
            print_fix(out, f)?;
        }
        if let Some(c) = cost_line(e) {
            writeln!(out, "     cost: {c}")?;
        }
    }
    print_audit(out, ins)
}

/// An endpoint's fix: the preflight and response header lines (the Allow-Origin line in its
/// compact form), and its proof.
fn print_fix(out: &mut dyn Write, f: &crate::report::summary::EndpointFix) -> io::Result<()> {
    let (full, short) = (f.headers.acao_line(), f.headers.acao_line_compact());
    let compact = |lines: &[String]| -> String {
        let v: Vec<&str> = lines
            .iter()
            .map(|l| {
                if *l == full {
                    short.as_str()
                } else {
                    l.as_str()
                }
            })
            .collect();
        v.join(" | ")
    };
    let pre = compact(&f.preflight_lines);
    if !pre.is_empty() {
        writeln!(out, "     OPTIONS: {pre}")?;
    }
    writeln!(out, "     response: {}", compact(&f.actual_lines))?;
    writeln!(out, "     proof: {}", f.proof.statement)?;
    Ok(())
}

/// The audit findings, one line per code (findings are sorted by severity, so the first of a
/// code leads).
fn print_audit(out: &mut dyn Write, ins: &Insights) -> io::Result<()> {
    if !ins.audit.is_empty() {
        writeln!(
            out,
            "\nAudit (corscope explain CODE; per endpoint in --format json/html):"
        )?;
        // One line per code: findings are sorted by severity, so the first of a code leads.
        let mut seen: Vec<&str> = Vec::new();
        for f in &ins.audit {
            if seen.contains(&f.code) {
                continue;
            }
            seen.push(f.code);
            let same: Vec<_> = ins.audit.iter().filter(|g| g.code == f.code).collect();
            let flows: u64 = same.iter().map(|g| g.flows).sum();
            writeln!(
                out,
                "  {:<6} {}  {}  — {} endpoint(s), {} flow(s), e.g. {}",
                f.severity.as_str(),
                f.code,
                f.title,
                same.len(),
                flows,
                f.endpoint
            )?;
        }
    }
    Ok(())
}
