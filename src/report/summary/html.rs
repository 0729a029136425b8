//! The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

use std::fmt::Write as _;

use super::{EndpointReport, Timeline};
use crate::report::Summary;

/// Text for HTML element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    escape_markup(s, "&#39;", |_| true)
}

/// Escapes the markup characters (`'` as `apos`) and keeps the other characters `keep`
/// allows (HTML and XML differ only there).
pub(super) fn escape_markup(s: &str, apos: &str, keep: impl Fn(char) -> bool) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str(apos),
            c if keep(c) => o.push(c),
            _ => {}
        }
    }
    o
}

/// Endpoints shown (ranked); the rest are counted (the page stays small on huge inputs).
pub const ENDPOINTS_SHOWN: usize = 300;

const CSS: &str = "
:root{--ok:#2e7d32;--bad:#c62828;--unk:#f9a825;--nc:#9e9e9e;--fg:#1d1d1f;--mut:#666;--bg:#fff;--card:#f5f5f7}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1100px;padding:12px}
h1{font-size:1.4em;margin:.3em 0}h2{font-size:1.15em;margin:1.4em 0 .5em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{background:var(--card);border-radius:8px;padding:8px 12px;min-width:120px;flex:1}
.card b{display:block;font-size:1.5em}.card span{color:var(--mut);font-size:.85em}
.bad{color:var(--bad)}.ok{color:var(--ok)}.unk{color:#b26a00}
details{background:var(--card);border-radius:8px;margin:6px 0;padding:6px 10px}summary{cursor:pointer;overflow-wrap:anywhere}
pre{background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px;overflow-x:auto;font-size:.85em;white-space:pre}
code{overflow-wrap:anywhere}table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border-bottom:1px solid #ddd;padding:4px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.sev-high{color:#fff;background:var(--bad)}.sev-medium{color:#000;background:var(--unk)}.sev-low{background:#ddd}.sev-info{background:#e3f2fd}
.sev{border-radius:4px;padding:0 5px;font-size:.8em}.mut{color:var(--mut);font-size:.85em}
.legend span{margin-right:12px;font-size:.85em}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
svg{width:100%;height:auto;max-height:220px}
";

fn card(o: &mut String, key: &str, value: impl std::fmt::Display, label: &str, class: &str) {
    let _ = write!(
        o,
        "<div class=\"card\"><b class=\"{class}\" data-k=\"{key}\">{value}</b><span>{}</span></div>",
        esc(label)
    );
}

/// Stacked bars of flows per time bucket, by verdict (allowed, blocked, unknown, not-cors).
fn chart(o: &mut String, t: &Timeline) {
    if t.buckets.is_empty() {
        return;
    }
    let max = t
        .buckets
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, h, n) = (600.0, 160.0, t.buckets.len() as f64);
    let bw = w / n;
    let _ = write!(
        o,
        "<svg viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"flows over time by verdict\">",
        h + 16.0
    );
    let colors = ["var(--ok)", "var(--bad)", "var(--unk)", "var(--nc)"];
    for (i, b) in t.buckets.iter().enumerate() {
        let mut y = h;
        for (v, c) in b.iter().zip(colors) {
            if *v == 0 {
                continue;
            }
            let bh = *v as f64 / max as f64 * h;
            y -= bh;
            let _ = write!(
                o,
                "<rect x=\"{:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{bh:.2}\" fill=\"{c}\"><title>{v}</title></rect>",
                i as f64 * bw,
                (bw - 1.0).max(0.5)
            );
        }
    }
    let _ = write!(
        o,
        "<text x=\"0\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{w}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text></svg>",
        h + 13.0,
        esc(&t.start),
        h + 13.0,
        esc(&t.end)
    );
    o.push_str("<div class=\"legend\"><span><i style=\"background:var(--ok)\"></i>allowed</span><span><i style=\"background:var(--bad)\"></i>blocked</span><span><i style=\"background:var(--unk)\"></i>unknown</span><span><i style=\"background:var(--nc)\"></i>not CORS</span></div>");
    let _ = write!(
        o,
        "<p class=\"mut\">{} bars of {:.1} s each.</p>",
        t.buckets.len(),
        t.bucket_seconds
    );
}

fn map_list(m: &std::collections::BTreeMap<String, u64>) -> String {
    let v: Vec<String> = m.iter().map(|(k, n)| format!("{} ×{n}", esc(k))).collect();
    v.join(", ")
}

fn endpoint(o: &mut String, i: usize, e: &EndpointReport) {
    let _ = write!(
        o,
        "<details data-endpoint=\"{}\"{}><summary><b>{}.</b> <code>{}</code> — <span class=\"bad\" data-k=\"endpoint-blocked\">{}</span> blocked of <span data-k=\"endpoint-requests\">{}</span>",
        esc(&e.endpoint),
        if i < 3 && e.fix.is_some() { " open" } else { "" },
        i + 1,
        esc(&e.endpoint),
        e.blocked,
        e.requests
    );
    if let Some(f) = &e.fix {
        let _ = write!(
            o,
            " · <span class=\"ok\">{}</span>",
            esc(&f.proof.statement)
        );
    }
    o.push_str("</summary>");
    let _ = write!(
        o,
        "<p class=\"mut\">allowed {}, unknown {}, blocked in some browser {}<br>reasons: {}<br>from: {}<br>methods: {}<br>announced headers: {}</p>",
        e.allowed,
        e.unknown,
        e.blocked_in_any_browser,
        map_list(&e.reasons),
        map_list(&e.origins),
        map_list(&e.methods),
        map_list(&e.request_headers)
    );
    if let Some(f) = &e.fix {
        if !f.preflight_lines.is_empty() {
            let _ = write!(
                o,
                "<p>On the <b>OPTIONS</b> (preflight) response:</p><pre>{}</pre>",
                esc(&f.preflight_lines.join("\n"))
            );
        }
        let _ = write!(
            o,
            "<p>On the <b>actual</b> response:</p><pre>{}</pre><p>nginx:</p><pre>{}</pre><p>Express:</p><pre>{}</pre>",
            esc(&f.actual_lines.join("\n")),
            esc(&f.nginx),
            esc(&f.express)
        );
        let p = &f.proof;
        let _ = write!(
            o,
            "<p><b>Proof</b>: re-evaluated {} blocked flow(s) with these headers applied to their recorded responses, through the same engine, for {}: <b>{} allowed</b>",
            p.rechecked,
            crate::cors::browser::all_names(),
            p.fixed
        );
        if p.fixed_with_assumed_responses > 0 {
            let _ = write!(
                o,
                " ({} with a response the recording lacks assumed to carry them)",
                p.fixed_with_assumed_responses
            );
        }
        let _ = write!(
            o,
            "; {} of {} allowed flow(s) re-checked stay allowed.</p>",
            p.allowed_checked - p.allowed_broken.len() as u64,
            p.allowed_checked
        );
        for (why, n) in &p.out_of_scope {
            let _ = write!(
                o,
                "<p class=\"mut\">{n} not fixable by headers: {}</p>",
                esc(why)
            );
        }
        for (id, why) in &p.not_fixed {
            let _ = write!(
                o,
                "<p class=\"bad\">not fixed: {} #{}: {}</p>",
                esc(&id.source),
                id.index,
                esc(why)
            );
        }
    }
    if let Some(c) = super::text::cost_line(e) {
        let _ = write!(o, "<p class=\"mut\">Preflight cost: {}</p>", esc(&c));
    }
    o.push_str("</details>");
}

/// The whole report as one HTML document: the run's endpoint report, its inputs' errors first.
pub(crate) fn render(s: &Summary) -> String {
    let ins = super::insights_of(s);
    let t = &ins.totals;
    let mut o = String::with_capacity(64 << 10);
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>corscope report</title><style>{CSS}</style></head><body><h1>corscope report</h1><p class=\"mut\">Verdicts as {} decides them; fixes are proven for {}.</p>",
        esc(s.judged_by()),
        crate::cors::browser::all_names()
    );
    if !s.errors.is_empty() {
        // What could not be read is said first: the counts below cover only what was.
        o.push_str("<h2 class=\"bad\">Input errors</h2><ul data-k=\"errors\">");
        for e in &s.errors {
            let _ = write!(o, "<li><code>{}</code></li>", esc(e));
        }
        o.push_str("</ul><p class=\"mut\">The report below covers what was read before each error (exit status 2).</p>");
    }
    o.push_str("<div class=\"cards\">");
    card(&mut o, "requests", t.requests, "cross-origin requests", "");
    card(&mut o, "blocked", t.blocked, "blocked", "bad");
    card(&mut o, "allowed", t.allowed, "allowed", "ok");
    card(&mut o, "unknown", t.unknown, "unknown", "unk");
    card(&mut o, "endpoints", t.endpoints, "endpoints", "");
    card(
        &mut o,
        "proven_fixed",
        t.proven_fixed,
        "blocked requests the fixes clear",
        "ok",
    );
    card(
        &mut o,
        "fixable",
        t.fixable,
        "blocked requests fixable by headers",
        "",
    );
    card(&mut o, "preflights", t.preflights, "preflights", "");
    card(&mut o, "findings", t.findings, "audit findings", "");
    o.push_str("</div><h2>Flows over time</h2>");
    chart(&mut o, &ins.timeline);
    o.push_str("<h2>Endpoints and their fixes</h2><p class=\"mut\">Ranked by blocked requests, then traffic. Ids, numbers, hashes and dates in paths are shown as <code>{id}</code>.</p>");
    for (i, e) in ins.routes.iter().take(ENDPOINTS_SHOWN).enumerate() {
        endpoint(&mut o, i, e);
    }
    if ins.routes.len() > ENDPOINTS_SHOWN {
        let _ = write!(
            o,
            "<p class=\"mut\">… and {} more endpoint(s) with fewer blocked requests: see <code>--format json</code>.</p>",
            ins.routes.len() - ENDPOINTS_SHOWN
        );
    }
    audit(&mut o, &ins.audit);
    blocked(&mut o, t.blocked, &ins.blocked_flows);
    o.push_str("<p class=\"mut\">Generated by corscope. This file is self-contained: no scripts, no network.</p></body></html>\n");
    o
}

/// The audit findings' section.
fn audit(o: &mut String, findings: &[crate::audit::Finding]) {
    o.push_str("<h2>Audit findings</h2>");
    if findings.is_empty() {
        o.push_str("<p>None.</p>");
    } else {
        o.push_str("<table><tr><th>Severity</th><th>Code</th><th>Finding</th><th>Endpoint</th><th>Flows</th></tr>");
        for f in findings {
            let ev: Vec<String> = f.evidence.iter().map(|e| format!("#{}", e.index)).collect();
            let _ = write!(
                o,
                "<tr data-code=\"{}\"><td><span class=\"sev sev-{}\">{}</span></td><td><code>{}</code></td><td><b>{}</b><br><span class=\"mut\">{}</span><br><span class=\"mut\">corscope explain {}</span></td><td><code>{}</code></td><td>{} ({})</td></tr>",
                f.code,
                f.severity.as_str(),
                f.severity.as_str(),
                f.code,
                esc(f.title),
                esc(&f.detail),
                f.code,
                esc(&f.endpoint),
                f.flows,
                esc(&ev.join(", "))
            );
        }
        o.push_str("</table>");
    }
}

/// The blocked requests' section: `total` blocked, the listed ones with their explanation.
fn blocked(o: &mut String, total: u64, flows: &[super::BlockedFlow]) {
    let _ = write!(
        o,
        "<h2>Blocked requests</h2><p class=\"mut\">{} blocked; the first {} with their explanation.</p>",
        total,
        flows.len()
    );
    for f in flows {
        let _ = write!(
            o,
            "<details><summary><span class=\"bad\">{}</span> {} <code>{}</code></summary><p class=\"mut\">{} #{} · {} · from {}</p>",
            esc(f.reason.unwrap_or("blocked")),
            esc(&f.method),
            esc(&f.url),
            esc(&f.source),
            f.index,
            esc(&f.time),
            esc(f.origin.as_deref().unwrap_or("?"))
        );
        if let Some(m) = &f.message {
            let _ = write!(o, "<p>{}</p>", esc(m));
        }
        if let Some(fix) = &f.fix {
            let _ = write!(o, "<p><b>Fix:</b> {}</p>", esc(fix));
        }
        o.push_str("</details>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn empty_report_is_a_document_without_external_references() {
        let html = render(&Summary::default());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.ends_with("</html>\n"));
        for external in ["<script", "src=", "href=", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
