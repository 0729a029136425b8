//! JUnit XML for CI systems: one test case per endpoint (failing when the speaking browser
//! blocked requests to it, with the reasons, the fix and its proof as the failure text), and
//! one per audit finding of severity high (failing). JUnit rather than SARIF: every CI runs
//! and displays JUnit reports (GitLab, Jenkins, Azure, GitHub actions) as pass/fail per case,
//! which is what an endpoint is; SARIF is keyed to source files and lines, and a HAR entry is
//! neither.

use std::fmt::Write as _;

use crate::audit::Severity;
use crate::report::Summary;

/// Text for XML content and attribute values (control characters XML 1.0 forbids dropped).
pub(crate) fn xml(s: &str) -> String {
    super::html::escape_markup(s, "&apos;", |c| {
        matches!(c, '\t' | '\n' | '\r') || (c as u32) >= 0x20
    })
}

/// The run as JUnit XML: an input that could not be read to its end is a test case in error
/// (CI shows it red, as the exit status 2 says), then the endpoints and the high findings.
pub(crate) fn render(s: &Summary) -> String {
    let ins = super::insights_of(s);
    let high: Vec<_> = ins
        .audit
        .iter()
        .filter(|f| f.severity == Severity::High)
        .collect();
    let failing = ins.routes.iter().filter(|r| r.blocked > 0).count();
    let mut o = String::new();
    let errors = s.inputs.iter().filter(|i| i.error.is_some()).count();
    let _ = write!(
        o,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"corscope\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\">\n",
        s.inputs.len() + ins.routes.len() + high.len(),
        failing + high.len()
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"inputs\" tests=\"{}\" failures=\"0\" errors=\"{errors}\">",
        s.inputs.len()
    );
    for i in &s.inputs {
        let _ = write!(
            o,
            "    <testcase classname=\"corscope.input\" name=\"{}\">",
            xml(&i.name)
        );
        if let Some(e) = &i.error {
            let _ = write!(
                o,
                "<error message=\"input not read to its end\" type=\"input-error\">{}</error>",
                xml(e)
            );
        }
        o.push_str("</testcase>\n");
    }
    o.push_str("  </testsuite>\n");
    let _ = writeln!(
        o,
        "  <testsuite name=\"CORS endpoints ({})\" tests=\"{}\" failures=\"{failing}\">",
        xml(s.judged_by()),
        ins.routes.len()
    );
    for r in &ins.routes {
        let _ = write!(
            o,
            "    <testcase classname=\"cors.endpoint\" name=\"{}\">",
            xml(&r.endpoint)
        );
        if r.blocked > 0 {
            let reasons: Vec<String> = r.reasons.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            let mut text = format!(
                "{} of {} request(s) blocked: {}\n",
                r.blocked,
                r.requests,
                reasons.join(", ")
            );
            if let Some(f) = &r.fix {
                let _ = write!(
                    text,
                    "OPTIONS response:\n  {}\nactual response:\n  {}\nproof: {}\n",
                    f.preflight_lines.join("\n  "),
                    f.actual_lines.join("\n  "),
                    f.proof.statement
                );
            }
            let _ = write!(
                o,
                "\n      <failure message=\"{} blocked request(s)\" type=\"cors-blocked\">{}</failure>\n    ",
                r.blocked,
                xml(&text)
            );
        }
        o.push_str("</testcase>\n");
    }
    o.push_str("  </testsuite>\n");
    let _ = writeln!(
        o,
        "  <testsuite name=\"CORS audit (high severity)\" tests=\"{0}\" failures=\"{0}\">",
        high.len()
    );
    for f in high {
        let _ = writeln!(
            o,
            "    <testcase classname=\"cors.audit.{}\" name=\"{}\"><failure message=\"{}\" type=\"{}\">{} (corscope explain {})</failure></testcase>",
            f.code,
            xml(&f.endpoint),
            xml(f.title),
            f.code,
            xml(&f.detail),
            f.code
        );
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_and_drops_forbidden_controls() {
        assert_eq!(xml("a<b>&\"'\u{1}\n"), "a&lt;b&gt;&amp;&quot;&apos;\n");
    }
}
