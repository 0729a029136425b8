//! Merging summaries (`corscope merge`): reads JSON summaries written by
//! `corscope --summary --format ndjson|json` (one per shard) and combines them with
//! [`Summary::merge`] into the summary of the whole.
//!
//! What merges exactly, in any grouping and order: `requests`, `not_cors`, `verdicts`,
//! `reasons`, `endpoints` (counts, reasons, preflight time in whole microseconds, the fix:
//! the least text), `disagreements` (the least text per endpoint), `inputs` and `errors`
//! (concatenated in merge order). What does not: the endpoint report computed from the flows
//! at the end of a run (`totals`, `routes` with their fixes and proofs, `audit`, `timeline`,
//! `blocked_flows`): they are built from every flow at once (route patterns, audit rules over
//! all of an endpoint's answers) and are not a sum of per-shard parts; they are left out of
//! the merged summary and named in [`Merged::dropped`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cors::resolve::Verdict;
use crate::cors::Browser;
use crate::input::Format;
use crate::report::{EndpointStats, InputSummary, Summary};

/// Top-level fields of a summary that [`Summary::merge`] cannot combine (the endpoint report).
pub(crate) const UNMERGEABLE: &[&str] = &["totals", "routes", "audit", "timeline", "blocked_flows"];

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{path}: {what}")]
    Read { path: String, what: String },
    #[error("{path}: not JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: field `{field}`: {what}")]
    Field {
        path: String,
        field: String,
        what: String,
    },
}

/// The merged summary and the unmergeable fields the inputs had.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub summary: Summary,
    pub dropped: Vec<&'static str>,
}

/// Known names, as the `&'static str`s the summary holds (one table: the types that own them).
fn static_name(known: &[&'static str], s: &str) -> Option<&'static str> {
    known.iter().copied().find(|k| *k == s)
}

const VERDICTS: [Verdict; 4] = [
    Verdict::Allowed,
    Verdict::Blocked,
    Verdict::Unknown,
    Verdict::NotCors,
];

fn browser_name(s: &str) -> Option<&'static str> {
    match s {
        "" => Some(""),
        "mixed" => Some("mixed"),
        _ => s.parse::<Browser>().ok().map(Browser::id),
    }
}

/// A summary from its JSON: a bare summary object, or a document with a `summary` member
/// (`--format json`). `path` names the input in errors.
pub fn from_json(path: &str, v: &Value) -> Result<(Summary, Vec<&'static str>), MergeError> {
    let s = v.get("summary").unwrap_or(v);
    let bad = |field: &str, what: &str| MergeError::Field {
        path: path.to_owned(),
        field: field.to_owned(),
        what: what.to_owned(),
    };
    let obj = s
        .as_object()
        .ok_or_else(|| bad("summary", "not an object"))?;
    let count = |field: &str| -> Result<u64, MergeError> {
        obj.get(field).map_or(Ok(0), |x| {
            x.as_u64().ok_or_else(|| bad(field, "not a count"))
        })
    };
    let parse = |field: &'static str| -> Result<Value, MergeError> {
        Ok(obj.get(field).cloned().unwrap_or(Value::Null))
    };
    let browser = obj.get("browser").and_then(Value::as_str).unwrap_or("");
    let browser = browser_name(browser).ok_or_else(|| bad("browser", "unknown browser"))?;
    let verdict_names: Vec<&'static str> = VERDICTS.iter().map(|v| v.as_str()).collect();
    let mut verdicts = BTreeMap::new();
    for (k, n) in obj
        .get("verdicts")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let k = static_name(&verdict_names, k).ok_or_else(|| bad("verdicts", "unknown verdict"))?;
        verdicts.insert(k, n.as_u64().ok_or_else(|| bad("verdicts", "not a count"))?);
    }
    let map = |field: &'static str| -> Result<Value, MergeError> {
        match parse(field)? {
            Value::Null => Ok(Value::Object(Default::default())),
            v => Ok(v),
        }
    };
    let reasons: BTreeMap<String, u64> =
        serde_json::from_value(map("reasons")?).map_err(|e| bad("reasons", &e.to_string()))?;
    let endpoints: BTreeMap<String, EndpointStats> =
        serde_json::from_value(map("endpoints")?).map_err(|e| bad("endpoints", &e.to_string()))?;
    let disagreements: BTreeMap<String, String> = serde_json::from_value(map("disagreements")?)
        .map_err(|e| bad("disagreements", &e.to_string()))?;
    let errors: Vec<String> = match parse("errors")? {
        Value::Null => Vec::new(),
        v => serde_json::from_value(v).map_err(|e| bad("errors", &e.to_string()))?,
    };
    let format_names = [
        Format::Har.name(),
        Format::Pcap.name(),
        Format::PcapNg.name(),
    ];
    let mut inputs = Vec::new();
    for i in obj
        .get("inputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |f: &str| i.get(f).and_then(Value::as_str);
        let n = |f: &str| i.get(f).and_then(Value::as_u64).unwrap_or(0);
        inputs.push(InputSummary {
            name: text("name").unwrap_or("").to_owned(),
            format: match text("format") {
                Some(f) => Some(
                    static_name(&format_names, f).ok_or_else(|| bad("inputs", "unknown format"))?,
                ),
                None => None,
            },
            browser: browser_name(text("browser").unwrap_or(""))
                .ok_or_else(|| bad("inputs", "unknown browser"))?,
            requests: n("requests"),
            blocked: n("blocked"),
            unknown: n("unknown"),
            stopped: i.get("stopped").and_then(Value::as_bool).unwrap_or(false),
            error: text("error").map(str::to_owned),
        });
    }
    let requests = count("requests")?;
    let not_cors = count("not_cors")?;
    // Every summary corscope writes has these: without them the object is something else (a
    // record line, `{}`), which would merge as an empty shard.
    for field in ["requests", "verdicts"] {
        if !obj.contains_key(field) {
            return Err(bad(
                field,
                "missing: not a corscope summary (`corscope --summary --format ndjson INPUT` writes one)",
            ));
        }
    }
    let dropped = UNMERGEABLE
        .iter()
        .copied()
        .filter(|f| obj.contains_key(*f))
        .collect();
    Ok((
        Summary {
            browser,
            requests,
            not_cors,
            verdicts,
            reasons,
            endpoints,
            disagreements,
            inputs,
            errors,
            insights: None,
            counts_only: false,
        },
        dropped,
    ))
}

/// Reads and merges summary files, in the order given (`-` is standard input).
pub(crate) fn merge_files(paths: &[String]) -> Result<Merged, MergeError> {
    let mut merged = Merged::default();
    for path in paths {
        let text = if path == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(path)
        }
        .map_err(|e| MergeError::Read {
            path: path.clone(),
            what: e.to_string(),
        })?;
        let v: Value = serde_json::from_str(text.trim()).map_err(|source| MergeError::Json {
            path: path.clone(),
            source,
        })?;
        let (s, dropped) = from_json(path, &v)?;
        merged.summary.merge(s);
        for d in dropped {
            if !merged.dropped.contains(&d) {
                merged.dropped.push(d);
            }
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(json: &str) -> Summary {
        let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
        from_json("t", &v).map(|(s, _)| s).unwrap_or_default()
    }

    /// Merging in any grouping and order gives the same JSON (but `inputs`, kept in order).
    #[test]
    fn merge_is_associative_and_commutative() {
        let parts = [
            r#"{"browser":"chromium","requests":3,"not_cors":1,"verdicts":{"blocked":2,"allowed":1,"not-cors":1},"reasons":{"A":2},"endpoints":{"GET https://a/x":{"requests":3,"blocked":2,"preflights":1,"preflight_wait_ms":0.1,"reasons":{"A":2},"fix":"zz"}},"disagreements":{"GET https://a/x":"b"}}"#,
            r#"{"browser":"chromium","requests":2,"not_cors":0,"verdicts":{"blocked":1,"unknown":1},"reasons":{"A":1},"endpoints":{"GET https://a/x":{"requests":2,"blocked":1,"preflights":2,"preflight_wait_ms":0.2,"reasons":{"A":1},"fix":"aa"}},"disagreements":{"GET https://a/x":"a"}}"#,
            r#"{"summary":{"browser":"chromium","requests":1,"verdicts":{"allowed":1},"endpoints":{"GET https://b/":{"requests":1,"blocked":0,"preflights":1,"preflight_wait_ms":0.3,"reasons":{},"fix":null}},"routes":[]}}"#,
        ];
        let json = |s: &Summary| {
            let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("inputs");
            }
            v.to_string()
        };
        let fold = |order: &[usize]| {
            let mut total = Summary::default();
            for i in order {
                total.merge(summary(parts[*i]));
            }
            json(&total)
        };
        let want = fold(&[0, 1, 2]);
        for order in [[2, 1, 0], [1, 0, 2], [0, 2, 1]] {
            assert_eq!(fold(&order), want, "{order:?}");
        }
        // (a + b) + c == a + (b + c); 0.1 + 0.2 ms sums to 0.3, not 0.30000000000000004.
        let mut bc = summary(parts[1]);
        bc.merge(summary(parts[2]));
        let mut a = summary(parts[0]);
        a.merge(bc);
        assert_eq!(json(&a), want);
        assert!(
            want.contains(r#""fix":"aa""#)
                && want.contains(r#""preflight_wait_ms":0.3,"preflights":3"#),
            "{want}"
        );
        let v: Value = serde_json::from_str(parts[2]).unwrap_or(Value::Null);
        assert_eq!(
            from_json("t", &v).map(|(_, d)| d).ok(),
            Some(vec!["routes"])
        );
    }

    #[test]
    fn bad_summaries_are_named_errors() {
        for (json, field) in [
            (r#"{"requests":"x"}"#, "requests"),
            (r#"{"verdicts":{"maybe":1}}"#, "verdicts"),
            (r#"{"browser":"lynx"}"#, "browser"),
            (r#"{"endpoints":{"e":{"requests":-1}}}"#, "endpoints"),
            (r#"[1]"#, "summary"),
            (r#"{}"#, "requests"),
            // An NDJSON record line handed over instead of its input's summary.
            (
                r#"{"source":"a.har","index":0,"verdict":"blocked","requests":1}"#,
                "verdicts",
            ),
        ] {
            let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
            match from_json("f.json", &v) {
                Err(MergeError::Field { field: f, .. }) => assert_eq!(f, field, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }
}
