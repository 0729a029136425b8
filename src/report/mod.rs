//! Reports: the record contract (one flat record per cross-origin request) and the sinks that
//! write records as they become final, plus the per-reason / per-endpoint summary.
//!
//! The contract is defined once, by [`FIELDS`]: name, JSON type, whether it may be null, the
//! values it takes and what it means, in the order every format writes them. [`Record`]
//! serializes exactly these fields in this order (a test checks it); from the same table come
//! the CSV header and cells ([`csv_columns`]: the nested `preflight` object becomes
//! `preflight_status`, `preflight_index`, `preflight_source`) and the JSON Schema
//! ([`json_schema`], printed by `corscope schema`).
//!
//! Formats: NDJSON writes one record per line; JSON writes `{"records": [...], "summary":
//! {...}}` where the summary ([`Summary`]) speaks for the browser the table and the exit code
//! speak for (chosen per input) and lists the inputs and their errors; CSV writes a header
//! and one row per record. `verdict`, `reason` and `message` are Chromium's; Firefox's and
//! Safari's have their own fields; `fix` is for the browser that recorded the input.

mod ndjson;
pub mod summary;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::cors::resolve::{record_words, Credentials, Resolution, Verdict};
use crate::cors::Browser;
use crate::model::{Micros, Position};
use crate::pairing::Flow;

/// A record field's JSON type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
}

impl FieldType {
    fn json(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Object => "object",
        }
    }
}

/// One field of the record contract.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub nullable: bool,
    /// The only values a string field takes, when it is one of a few.
    pub values: &'static [&'static str],
    pub doc: &'static str,
    /// An object's own fields (in CSV, columns named `<name>_<field>`).
    pub fields: &'static [Field],
}

const fn field(name: &'static str, ty: FieldType, nullable: bool, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        nullable,
        values: &[],
        doc,
        fields: &[],
    }
}

const fn one_of(
    name: &'static str,
    nullable: bool,
    values: &'static [&'static str],
    doc: &'static str,
) -> Field {
    Field {
        name,
        ty: FieldType::String,
        nullable,
        values,
        doc,
        fields: &[],
    }
}

const VERDICTS: &[&str] = &Verdict::NAMES;

use FieldType::{Boolean, Integer, Number, Object, String as Str};

/// The preflight object's fields ([`PreflightInfo`]).
pub(crate) const PREFLIGHT_FIELDS: &[Field] = &[
    field(
        "status",
        Integer,
        true,
        "The preflight's response status; null when it came from the cache or got no answer.",
    ),
    field(
        "index",
        Integer,
        true,
        "The preflight's HAR entry / capture request number.",
    ),
    one_of(
        "source",
        false,
        &PreflightSource::NAMES,
        "`recorded`, `cache` (served from the preflight cache, no OPTIONS sent) or `missing` (needed, not in the input).",
    ),
];

/// The record contract, in the order every format writes the fields.
pub const FIELDS: &[Field] = &[
    field("source", Str, false, "The input the request was read from."),
    field(
        "index",
        Integer,
        false,
        "HAR entry number, or the capture's request number.",
    ),
    field(
        "time",
        Str,
        false,
        "When the request started, its preflight included (RFC 3339, UTC).",
    ),
    field(
        "origin",
        Str,
        true,
        "The page's origin (the `Origin` the request carries or would carry).",
    ),
    field("url", Str, false, "The URL as the page requested it."),
    field("method", Str, false, "The request method."),
    one_of(
        "credentials",
        false,
        &Credentials::NAMES,
        "The request's credentials mode, as far as the input shows it.",
    ),
    Field {
        fields: PREFLIGHT_FIELDS,
        ..field(
            "preflight",
            Object,
            true,
            "The preflight the request needed (its first hop's, for a redirected request): the one recorded, one served from the preflight cache, or `missing` where the input does not hold it (an export that leaves preflights out); null if none was needed.",
        )
    },
    one_of("verdict", false, VERDICTS, "Chromium's verdict."),
    field(
        "reason",
        Str,
        true,
        "Chromium's reason name (`CorsError`), when blocked and the input shows which check failed (a HAR that keeps only `net::ERR_FAILED` does not); with `unknown`, the reason of the one reading that is a CORS request where the other is not checked at all (cors or no-cors mode: the note says so).",
    ),
    field(
        "failed_parameter",
        Str,
        true,
        "The value that failed the check (Chromium's `failedParameter`).",
    ),
    field(
        "message",
        Str,
        true,
        "Chromium's console message (from a capture, where fetch() and XMLHttpRequest look alike, as fetch() words it).",
    ),
    field(
        "fix",
        Str,
        true,
        "What the server must send, for the browser that recorded the input.",
    ),
    one_of("firefox_verdict", false, VERDICTS, "Firefox's verdict."),
    field(
        "firefox_reason",
        Str,
        true,
        "Firefox's reason name (`CORSMissingAllowOrigin`, …).",
    ),
    field("firefox_message", Str, true, "Firefox's console message."),
    one_of("safari_verdict", false, VERDICTS, "Safari's verdict."),
    field("safari_reason", Str, true, "Safari's reason name."),
    field("safari_message", Str, true, "Safari's console message."),
    field(
        "browsers_agree",
        Boolean,
        false,
        "Whether all three browsers reach the same verdict.",
    ),
    field(
        "status",
        Integer,
        true,
        "The final response's status; null when none was seen.",
    ),
    field("final_url", Str, false, "The URL after redirects."),
    field("redirects", Integer, false, "Redirect hops followed."),
    one_of(
        "recorded_by",
        false,
        &["chromium", "firefox", "safari"],
        "The browser that made the input (HAR metadata or User-Agent; chromium when unknown).",
    ),
    field(
        "note",
        Str,
        true,
        "Why a verdict is `unknown`, or how the browsers differ.",
    ),
    field(
        "location",
        Str,
        false,
        "Where in the input the request is (entry, packet, byte).",
    ),
    field(
        "wait_ms",
        Number,
        true,
        "Request to first response byte of the final request, in milliseconds.",
    ),
    field(
        "preflight_wait_ms",
        Number,
        true,
        "Same for the preflight: the overhead it added.",
    ),
];

/// The CSV header: [`FIELDS`] with objects flattened into `<name>_<field>` columns.
pub(crate) fn csv_columns() -> Vec<String> {
    let mut cols = Vec::new();
    for f in FIELDS {
        if f.fields.is_empty() {
            cols.push(f.name.to_owned());
        } else {
            cols.extend(
                f.fields
                    .iter()
                    .map(|sub| format!("{}_{}", f.name, sub.name)),
            );
        }
    }
    cols
}

/// A JSON value as a CSV cell: null is empty, strings are themselves.
fn csv_cell(v: &serde_json::Value) -> std::borrow::Cow<'_, str> {
    match v {
        serde_json::Value::Null => "".into(),
        serde_json::Value::String(s) => s.as_str().into(),
        other => other.to_string().into(),
    }
}

fn property_schema(f: &Field) -> serde_json::Value {
    let mut p = serde_json::Map::new();
    let ty = serde_json::Value::from(f.ty.json());
    p.insert(
        "type".into(),
        if f.nullable {
            serde_json::json!([ty, "null"])
        } else {
            ty
        },
    );
    if !f.values.is_empty() {
        let mut values: Vec<serde_json::Value> = f.values.iter().map(|v| (*v).into()).collect();
        if f.nullable {
            values.push(serde_json::Value::Null);
        }
        p.insert("enum".into(), values.into());
    }
    if !f.fields.is_empty() {
        p.insert("additionalProperties".into(), false.into());
        p.insert("required".into(), names(f.fields));
        p.insert("properties".into(), properties(f.fields));
    }
    p.insert("description".into(), f.doc.into());
    p.into()
}

fn names(fields: &[Field]) -> serde_json::Value {
    fields.iter().map(|f| f.name).collect::<Vec<_>>().into()
}

fn properties(fields: &[Field]) -> serde_json::Value {
    fields
        .iter()
        .map(|f| (f.name.to_owned(), property_schema(f)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The record's JSON Schema (draft 2020-12), made from [`FIELDS`]. `required` lists the
/// fields in the order the formats write them.
pub(crate) fn json_schema() -> serde_json::Value {
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "corscope record",
        "description": "One cross-origin request as corscope decides it (NDJSON line, JSON `records` element, CSV row with `preflight` flattened).",
        "type": "object",
        "additionalProperties": false,
        "required": names(FIELDS),
        "properties": properties(FIELDS),
    })
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PreflightInfo {
    /// The preflight's response status; null when it came from the cache or got no answer.
    pub status: Option<u16>,
    /// The preflight's entry / request number.
    pub index: Option<u64>,
    pub source: PreflightSource,
}

/// Where a record's preflight came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreflightSource {
    /// Sent and recorded.
    Recorded,
    /// Served from the preflight cache: no OPTIONS sent.
    Cache,
    /// Needed but not in the input (a value of the contract; no reader reports it today).
    Missing,
}

record_words!(PreflightSource, 3);

impl PreflightSource {
    pub(crate) const ALL: [PreflightSource; 3] = [
        PreflightSource::Recorded,
        PreflightSource::Cache,
        PreflightSource::Missing,
    ];

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            PreflightSource::Recorded => "recorded",
            PreflightSource::Cache => "cache",
            PreflightSource::Missing => "missing",
        }
    }
}

/// One record; its fields, their order and meaning are [`FIELDS`].
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Record {
    /// The input's name, shared with its exchanges (not a copy per record).
    #[serde(serialize_with = "serialize_str")]
    pub source: std::sync::Arc<str>,
    pub index: u64,
    pub time: RecordTime,
    pub origin: Option<String>,
    pub url: String,
    pub method: String,
    pub credentials: Credentials,
    pub preflight: Option<PreflightInfo>,
    pub verdict: Verdict,
    pub reason: Option<&'static str>,
    pub failed_parameter: Option<String>,
    pub message: Option<String>,
    pub fix: Option<String>,
    pub firefox_verdict: Verdict,
    pub firefox_reason: Option<&'static str>,
    pub firefox_message: Option<String>,
    pub safari_verdict: Verdict,
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
    pub flow: Option<crate::report::summary::FlowRef>,
    /// The record's NDJSON line, when the pipeline wrote it as it built the record (on the
    /// resolving workers); the NDJSON sink then writes it as it is. Never serialized.
    #[serde(skip)]
    pub ndjson: Option<Vec<u8>>,
}

/// A shared string as the plain string it is (serde serializes `Arc<str>` only with its `rc`
/// feature, which would enable it for every type).
fn serialize_str<S: serde::Serializer>(s: &std::sync::Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

/// Earliest and latest times RFC 3339 can write (four-digit years): 0000-01-01T00:00:00Z and
/// 9999-12-31T23:59:59.999999Z, in microseconds since the epoch.
const RFC3339_MIN: Micros = -62_167_219_200_000_000;
const RFC3339_MAX: Micros = 253_402_300_799_999_999;

/// The record's `time`. Captures can carry any 64-bit timestamp (hostile or broken pcapng
/// time offsets saturate at `i64::MAX`); those are clamped to the years RFC 3339 can write, so
/// `time` always parses (it used to come out empty past chrono's range, and as `+262142-…`
/// between year 9999 and there).
///
/// Written by hand as chrono writes it (`to_rfc3339_opts(Millis, true)`: milliseconds
/// truncated, `Z`), a test holds the two equal: chrono's general formatter was a fifth of
/// building a record.
pub(crate) fn rfc3339(t: Micros) -> String {
    RecordTime::new(t).to_string()
}

/// A record's `time` as [`rfc3339`] writes it, held in place (it was a string allocated per
/// record); it reads as the `str` it is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RecordTime([u8; 24]);

impl RecordTime {
    pub(crate) fn new(t: Micros) -> RecordTime {
        let t = t.clamp(RFC3339_MIN, RFC3339_MAX);
        let (secs, millis) = (t.div_euclid(1_000_000), t.rem_euclid(1_000_000) / 1000);
        // Records come in time order, many a second: the date and time of the last second
        // written are reused, only the milliseconds written anew.
        let mut b = LAST_SECOND.with(|last| match last.get() {
            (s, b) if s == secs => b,
            _ => {
                let b = second_bytes(secs);
                last.set((secs, b));
                b
            }
        });
        put_digits(&mut b, 20, millis, 3);
        RecordTime(b)
    }
}

thread_local! {
    /// The last second [`RecordTime::new`] wrote, and its text (milliseconds zero).
    static LAST_SECOND: std::cell::Cell<(i64, [u8; 24])> =
        const { std::cell::Cell::new((i64::MIN, *b"0000-00-00T00:00:00.000Z")) };
}

impl std::ops::Deref for RecordTime {
    type Target = str;
    fn deref(&self) -> &str {
        // ASCII digits and punctuation only (`second_bytes`): always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for RecordTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl std::fmt::Debug for RecordTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for RecordTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

/// The text of second `secs` (within the clamp of [`RecordTime::new`]), milliseconds zero.
fn second_bytes(secs: i64) -> [u8; 24] {
    let (day, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(day);
    let mut b = *b"0000-00-00T00:00:00.000Z";
    put_digits(&mut b, 0, y, 4);
    put_digits(&mut b, 5, m, 2);
    put_digits(&mut b, 8, d, 2);
    put_digits(&mut b, 11, sod / 3600, 2);
    put_digits(&mut b, 14, sod / 60 % 60, 2);
    put_digits(&mut b, 17, sod % 60, 2);
    b
}

/// Writes `v` in `width` decimal digits at `at`.
fn put_digits(b: &mut [u8; 24], at: usize, mut v: i64, width: usize) {
    for i in (at..at + width).rev() {
        // The clamp keeps every part non-negative and within its width.
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Year, month, day of the proleptic Gregorian calendar from days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The record's `location` as [`crate::model::Location`] displays it, written into a string
/// sized once, a capture packet's and a HAR entry's pieced together (the formatter was a
/// sixth of building a record; a test holds the two equal).
fn location_text(loc: &crate::model::Location) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(loc.source.len() + 48);
    s.push_str(&loc.source);
    s.push_str(": ");
    match loc.position {
        Position::Packet { number, offset } => {
            s.push_str("packet ");
            push_u64(&mut s, number);
            s.push_str(" (byte ");
            push_u64(&mut s, offset);
            s.push(')');
        }
        Position::HarEntry(i) => {
            s.push_str("entry ");
            push_u64(&mut s, i);
        }
        // Writing to a String cannot fail.
        p => _ = write!(s, "{p}"),
    }
    s
}

/// Appends `v` in decimal.
fn push_u64(s: &mut String, v: u64) {
    s.push_str(itoa::Buffer::new().format(v));
}

fn index_of(p: &Position, seq: u64) -> u64 {
    match p {
        Position::HarEntry(i) => *i,
        _ => seq,
    }
}

/// The record's `note`: the recorder's notes first and unlabelled, then each other browser's
/// labelled (a label covers everything up to the next one, so no browser's words run into
/// another's). A browser whose notes an earlier one already ends with (the notes every
/// browser shares) adds nothing.
fn record_notes(res: &Resolution) -> Option<String> {
    use std::fmt::Write as _;
    let rec_first = std::iter::once(&res.browsers[res.recorder])
        .chain(res.browsers.values().filter(|v| v.browser != res.recorder));
    // At most one note list a browser (no vector for them), and the text written in place
    // of a list of parts joined after.
    let mut said: [&[crate::cors::note::Note]; 3] = [&[]; 3];
    let mut out: Option<String> = None;
    for (i, v) in rec_first.enumerate() {
        if v.notes.is_empty() || said[..i].iter().any(|s| s.ends_with(&v.notes)) {
            continue;
        }
        said[i] = &v.notes;
        // Each note written in place (`note::join`'s text: the notes joined with "; "),
        // without a string a note, their list and the joined copy.
        let first = out.is_none();
        let o = out.get_or_insert_with(|| String::with_capacity(128));
        if !first {
            o.push_str("; ");
        }
        if v.browser != res.recorder {
            // Writing to a String cannot fail.
            let _ = write!(o, "{}: ", v.browser);
        }
        for (k, note) in v.notes.iter().enumerate() {
            if k > 0 {
                o.push_str("; ");
            }
            let _ = write!(o, "{note}");
        }
    }
    out
}

/// The record's texts that are the flow's or its resolution's own strings: copied for a
/// record beside its flow ([`Record::new`]), moved out of them otherwise
/// ([`Record::from_taken`]; each was a copy per record, five a flow on average).
struct Texts {
    origin: Option<String>,
    url: String,
    method: String,
    final_url: String,
    failed_parameter: Option<String>,
    message: Option<String>,
    fix: Option<String>,
    firefox_message: Option<String>,
    safari_message: Option<String>,
}

impl Texts {
    fn copied(flow: &Flow, res: &Resolution) -> Texts {
        let (first, last) = (&flow.first().exchange, &flow.last().exchange);
        let (cr, fx, sf) = (
            &res.browsers[Browser::Chromium],
            &res.browsers[Browser::Firefox],
            &res.browsers[Browser::Safari],
        );
        Texts {
            origin: res.facts.page_origin.clone(),
            url: first.request.url.clone(),
            method: first.request.method.clone(),
            final_url: last.request.url.clone(),
            failed_parameter: cr.failed_parameter.clone(),
            message: cr.message.clone(),
            fix: res.browsers[res.recorder]
                .fix
                .clone()
                .or_else(|| cr.fix.clone()),
            firefox_message: fx.message.clone(),
            safari_message: sf.message.clone(),
        }
    }

    /// What [`Texts::copied`] gives, taken out of `flow` and `res` (left empty there).
    fn taken(flow: &mut Flow, res: &mut Resolution) -> Texts {
        let take = std::mem::take::<String>;
        // A flow of one hop has its URL as its final URL too: copied once, not taken twice.
        let final_url = match flow.hops.len() {
            1 => flow.hops[0].exchange.request.url.clone(),
            n => take(&mut flow.hops[n - 1].exchange.request.url),
        };
        let first = &mut flow.hops[0].exchange.request;
        let fix = res.browsers[res.recorder].fix.take();
        let b = &mut res.browsers;
        Texts {
            origin: res.facts.page_origin.take(),
            url: take(&mut first.url),
            method: take(&mut first.method),
            final_url,
            failed_parameter: b[Browser::Chromium].failed_parameter.take(),
            message: b[Browser::Chromium].message.take(),
            fix: fix.or_else(|| b[Browser::Chromium].fix.take()),
            firefox_message: b[Browser::Firefox].message.take(),
            safari_message: b[Browser::Safari].message.take(),
        }
    }
}

/// Whether any browser's verdict in `res` is a CORS one (not `not-cors`): what a record
/// needs to be reported without `--all`.
pub(crate) fn is_cross_origin_cors(res: &Resolution) -> bool {
    res.browsers.values().any(|v| v.verdict != Verdict::NotCors)
}

impl Record {
    pub fn new(flow: &Flow, res: &Resolution) -> Record {
        Self::with_texts(flow, res, Texts::copied(flow, res))
    }

    /// The record of a flow that is not kept beside it: [`Record::new`]'s record, its
    /// strings taken out of `flow` and `res` instead of copied (the caller drops both after;
    /// taken by reference, neither is moved: a resolution is 976 bytes).
    pub(crate) fn from_taken(flow: &mut Flow, res: &mut Resolution) -> Record {
        let texts = Texts::taken(flow, res);
        Self::with_texts(flow, res, texts)
    }

    /// The record around `texts`; reads nothing of `flow` and `res` that [`Texts`] holds
    /// (those may have been taken out).
    fn with_texts(flow: &Flow, res: &Resolution, texts: Texts) -> Record {
        let first = flow.first();
        let last = flow.last();
        let cr = &res.browsers[Browser::Chromium];
        let fx = &res.browsers[Browser::Firefox];
        let sf = &res.browsers[Browser::Safari];
        let preflight = flow
            .hops
            .iter()
            .find_map(|h| h.preflight.as_ref())
            .map(|pf| PreflightInfo {
                status: pf.response.as_ref().map(|r| r.status),
                index: Some(index_of(&pf.loc.position, pf.seq)),
                source: PreflightSource::Recorded,
            })
            .or_else(|| {
                res.browsers[res.recorder]
                    .cache_hits
                    .first()
                    .map(|_| PreflightInfo {
                        status: None,
                        index: None,
                        source: PreflightSource::Cache,
                    })
            })
            .or_else(|| {
                // The recording browser needed one that the input does not hold (Playwright's
                // and other exports that leave preflights out): not "none was needed".
                let needed = res.browsers[res.recorder].notes.iter().any(|n| {
                    matches!(
                        n,
                        crate::cors::note::Note::Missing(
                            crate::cors::engine::Missing::Preflight { .. }
                        )
                    )
                });
                needed.then_some(PreflightInfo {
                    status: None,
                    index: None,
                    source: PreflightSource::Missing,
                })
            });
        let notes = record_notes(res);
        let loc = match first.preflight.as_ref().filter(|_| !first.sent) {
            Some(pf) => location_text(&pf.loc),
            None => location_text(&first.exchange.loc),
        };
        let Texts {
            origin,
            url,
            method,
            final_url,
            failed_parameter,
            message,
            fix,
            firefox_message,
            safari_message,
        } = texts;
        Record {
            source: first.exchange.loc.source.clone(),
            index: index_of(&first.exchange.loc.position, first.exchange.seq),
            time: RecordTime::new(first.started()),
            origin,
            url,
            method,
            credentials: res.credentials,
            preflight,
            verdict: cr.verdict,
            reason: cr.reason,
            failed_parameter,
            message,
            fix,
            firefox_verdict: fx.verdict,
            firefox_reason: fx.reason,
            firefox_message,
            safari_verdict: sf.verdict,
            safari_reason: sf.reason,
            safari_message,
            browsers_agree: res.browsers_agree(),
            status: last.exchange.response.as_ref().map(|r| r.status),
            final_url,
            redirects: flow.hops.len() - 1,
            recorded_by: res.recorder.id(),
            note: notes,
            location: loc,
            // No response, no wait: an export's 0 for a request never sent is not a time.
            wait_ms: last
                .exchange
                .response
                .as_ref()
                .and(last.exchange.timings.wait_ms),
            preflight_wait_ms: first
                .preflight
                .as_ref()
                .filter(|p| p.response.is_some())
                .and_then(|p| p.timings.wait_ms),
            flow: None,
            ndjson: None,
        }
    }

    /// The record as one NDJSON line (with its newline).
    pub(crate) fn ndjson_line(&self) -> Vec<u8> {
        let mut line = Vec::with_capacity(ndjson::line_len_hint(self));
        ndjson::write_record(&mut line, self);
        line
    }

    /// `browser`'s own fields of the flat record: verdict, reason, console message (the
    /// output contract keeps them as `verdict`/`firefox_verdict`/…; this is the one map).
    fn browser_fields(&self, browser: Browser) -> (Verdict, Option<&'static str>, Option<&String>) {
        match browser {
            Browser::Chromium => (self.verdict, self.reason, self.message.as_ref()),
            Browser::Firefox => (
                self.firefox_verdict,
                self.firefox_reason,
                self.firefox_message.as_ref(),
            ),
            Browser::Safari => (
                self.safari_verdict,
                self.safari_reason,
                self.safari_message.as_ref(),
            ),
        }
    }

    /// The verdict as `browser` sees it.
    pub(crate) fn verdict_for(&self, browser: Browser) -> &'static str {
        self.browser_fields(browser).0.as_str()
    }

    pub(crate) fn reason_for(&self, browser: Browser) -> Option<&'static str> {
        self.browser_fields(browser).1
    }

    /// The console message as `browser` writes it.
    pub(crate) fn message_for(&self, browser: Browser) -> Option<&String> {
        self.browser_fields(browser).2
    }

    /// The endpoint for summaries: origin + path, without the query.
    pub(crate) fn endpoint(&self) -> String {
        if let Some((origin, path)) = plain_origin_and_path(&self.url) {
            // Pieced together, not `format!` (every record's summary asks for it).
            let mut key = String::with_capacity(self.method.len() + 1 + origin.len() + path.len());
            key.push_str(&self.method);
            key.push(' ');
            key.push_str(origin);
            key.push_str(path);
            return key;
        }
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

/// The origin and path of a URL already written the way the URL parser serializes them
/// (`origin::plain_origin` and `origin::is_plain_path`), read without a parse: the summary
/// asks for every record's endpoint, and parsing the URL was most of adding a record. `None`
/// means "ask the parser" (checked against it by a property test).
fn plain_origin_and_path(url: &str) -> Option<(&str, &str)> {
    let origin = crate::origin::plain_origin(url)?;
    let rest = &url[origin.len()..];
    let path = &rest[..memchr::memchr2(b'?', b'#', rest.as_bytes()).unwrap_or(rest.len())];
    if path.is_empty() {
        return Some((origin, "/"));
    }
    crate::origin::is_plain_path(path.as_bytes()).then_some((origin, path))
}

/// Where records go as they become final.
pub(crate) trait RecordSink {
    fn record(&mut self, r: &Record) -> io::Result<()>;
    /// Writes out what is buffered (line-buffered output, live input).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// The run's summary, given before [`RecordSink::finish`] by sinks' callers that have it.
    fn summary(&mut self, _summary: &Summary) {}
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) struct NdjsonSink<W: Write> {
    out: W,
    /// The line being written (kept: one allocation for the run).
    line: Vec<u8>,
}

impl<W: Write> NdjsonSink<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out,
            line: Vec::new(),
        }
    }
}

impl<W: Write> RecordSink for NdjsonSink<W> {
    fn record(&mut self, r: &Record) -> io::Result<()> {
        if let Some(line) = &r.ndjson {
            return self.out.write_all(line);
        }
        self.line.clear();
        ndjson::write_record(&mut self.line, r);
        self.out.write_all(&self.line)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A JSON document `{"records": [...], "summary": {...}}`, written incrementally; the summary
/// is the one given by [`RecordSink::summary`].
pub(crate) struct JsonSink<W: Write> {
    out: W,
    first: bool,
    pub summary: Summary,
}

impl<W: Write> JsonSink<W> {
    pub(crate) fn new(out: W, browser: Browser) -> Self {
        Self {
            out,
            first: true,
            summary: Summary::new(browser),
        }
    }
}

impl<W: Write> RecordSink for JsonSink<W> {
    fn record(&mut self, r: &Record) -> io::Result<()> {
        self.out.write_all(if self.first {
            b"{\"records\":[\n"
        } else {
            b",\n"
        })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, r)?;
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    fn summary(&mut self, summary: &Summary) {
        self.summary = summary.clone();
    }
    fn finish(&mut self) -> io::Result<()> {
        if self.first {
            self.out.write_all(b"{\"records\":[")?;
        }
        self.out.write_all(b"\n],\"summary\":")?;
        serde_json::to_writer(&mut self.out, &self.summary)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

/// CSV: the header is [`csv_columns`], each row the record's fields in the same order.
pub(crate) struct CsvSink<W: Write> {
    out: csv::Writer<W>,
}

/// The csv crate's errors as I/O errors, keeping an I/O error's kind (a closed pipe must stay
/// `BrokenPipe` to end the run quietly).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl<W: Write> CsvSink<W> {
    pub(crate) fn new(out: W) -> io::Result<Self> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(csv_columns()).map_err(csv_io)?;
        Ok(Self { out })
    }
}

impl<W: Write> RecordSink for CsvSink<W> {
    fn record(&mut self, r: &Record) -> io::Result<()> {
        let v = serde_json::to_value(r)?;
        let null = serde_json::Value::Null;
        for f in FIELDS {
            let value = v.get(f.name).unwrap_or(&null);
            if f.fields.is_empty() {
                self.out
                    .write_field(csv_cell(value).as_bytes())
                    .map_err(csv_io)?;
            } else {
                for sub in f.fields {
                    let cell = csv_cell(value.get(sub.name).unwrap_or(&null));
                    self.out.write_field(cell.as_bytes()).map_err(csv_io)?;
                }
            }
        }
        // An empty record ends the one written field by field.
        self.out
            .write_record(std::iter::empty::<&[u8]>())
            .map_err(csv_io)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Counts per verdict, reason and endpoint, for the browser the report speaks for (per
/// input: a run's summary merges its inputs', `browser` is `mixed` when they differ).
#[derive(Clone, Debug, Serialize, Default)]
pub struct Summary {
    pub browser: &'static str,
    /// Cross-origin CORS requests as `browser` decides them (`not-cors` ones are not).
    pub requests: u64,
    /// Requests `browser` makes without CORS (listed with `--all`).
    pub not_cors: u64,
    pub verdicts: BTreeMap<&'static str, u64>,
    pub reasons: BTreeMap<String, u64>,
    pub endpoints: BTreeMap<String, EndpointStats>,
    /// Endpoints where one browser blocks what another allows.
    pub disagreements: BTreeMap<String, String>,
    /// Every input, with its format, the browser it was judged for, counts and error.
    pub inputs: Vec<InputSummary>,
    /// Input errors (`file: what`); any makes the exit status 2.
    pub errors: Vec<String>,
    /// Route-pattern endpoints with fixes and proofs, audit findings, timeline (issue 14).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub insights: Option<crate::report::summary::Insights>,
    /// Counts only ([`Summary::counts_only`]): `endpoints` and `disagreements` stay empty.
    #[serde(skip)]
    pub(crate) counts_only: bool,
}

/// The reason a blocked record is counted under, for `b`.
fn blocked_reason(r: &Record, b: Browser) -> &str {
    r.reason_for(b).unwrap_or("(reason not visible)")
}

/// What a new endpoint does to a full endpoint table ([`Summary::new_endpoint_at_bound`]).
enum AtBound {
    /// It sorts after every endpoint kept: it is counted under [`OTHER_ENDPOINTS`] at once.
    FoldsAtOnce,
    /// The endpoint sorting last is counted under [`OTHER_ENDPOINTS`] to make room for it.
    TakesLastsPlace,
}

/// One input in the summary.
#[derive(Clone, Debug, Serialize, Default)]
pub struct InputSummary {
    pub name: String,
    pub format: Option<&'static str>,
    pub browser: &'static str,
    pub requests: u64,
    pub blocked: u64,
    pub unknown: u64,
    /// Ended early by a signal or a closed output.
    pub stopped: bool,
    pub error: Option<String>,
}

/// Where a disagreement's text (`Summary::disagreements`: verdicts, then why, then the fix)
/// gives the reason, and where the fix.
const WHY_SEP: &str = " — ";
const FIX_SEP: &str = "; to satisfy all three: ";

/// A disagreement's text as its parts: the verdicts, and the explanation between them and
/// the fix (empty without a note).
pub(crate) fn disagreement_parts(text: &str) -> (&str, &str) {
    let fix = text.find(FIX_SEP).unwrap_or(text.len());
    let why = text[..fix].find(WHY_SEP).unwrap_or(fix);
    (&text[..why], &text[why..fix])
}

/// Endpoints the summary lists one by one (`Summary::fold_excess_endpoints`): an endpoint
/// table of every distinct URL path would grow with the input (REST paths carry ids).
pub(crate) const MAX_SUMMARY_ENDPOINTS: usize = 10_000;

/// The summary endpoint counting the endpoints past [`MAX_SUMMARY_ENDPOINTS`] together.
pub(crate) const OTHER_ENDPOINTS: &str = "(other endpoints)";

#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct EndpointStats {
    pub requests: u64,
    pub blocked: u64,
    pub preflights: u64,
    pub preflight_wait_ms: f64,
    pub reasons: BTreeMap<String, u64>,
    pub fix: Option<String>,
}

impl EndpointStats {
    /// Adds another count of the same endpoint (a shard's, or one folded into the rest).
    fn absorb(&mut self, o: EndpointStats) {
        self.requests += o.requests;
        self.blocked += o.blocked;
        self.preflights += o.preflights;
        self.preflight_wait_ms = add_ms(self.preflight_wait_ms, o.preflight_wait_ms);
        for (r, n) in o.reasons {
            *self.reasons.entry(r).or_insert(0) += n;
        }
        keep_least(&mut self.fix, o.fix.as_ref());
    }
}

impl Summary {
    pub(crate) fn new(browser: Browser) -> Self {
        Self {
            browser: browser.id(),
            ..Default::default()
        }
    }

    /// A summary of the counts alone (requests, verdicts, reasons, inputs, errors), without
    /// the endpoint table and the disagreements, for a run that prints neither (NDJSON or CSV
    /// records without `--summary`; the exit status reads only counts). On a capture of many
    /// endpoints the table was a twentieth of such a run: 19 524 endpoints among 23 119
    /// records on the 419 MB benchmark capture, past the table's bound, where each new one
    /// costs a few tree searches by string.
    pub(crate) fn counts_only(browser: Browser) -> Self {
        Self {
            counts_only: true,
            ..Self::new(browser)
        }
    }

    /// Who judged the verdicts, for a report's wording: the browser, or each input's own
    /// where the inputs were judged by different ones (`browser` is `mixed`).
    pub(crate) fn judged_by(&self) -> &'static str {
        match self.browser {
            "mixed" => "each input's browser",
            _ => self.browser().name(),
        }
    }

    /// The browser `browser` names (Chromium for `mixed` or none): matched against the ids
    /// it is always one of, without the parse's lower-cased copy (one a record).
    fn browser(&self) -> Browser {
        crate::cors::ALL_BROWSERS
            .into_iter()
            .find(|b| b.id() == self.browser)
            .unwrap_or(Browser::Chromium)
    }

    pub(crate) fn add(&mut self, r: &Record) {
        let b = self.browser();
        let verdict = r.verdict_for(b);
        *self.verdicts.entry(verdict).or_insert(0) += 1;
        if verdict == Verdict::NotCors.as_str() {
            self.not_cors += 1;
        } else {
            self.requests += 1;
            if verdict == "blocked" {
                count_into(&mut self.reasons, blocked_reason(r, b));
            }
            if !self.counts_only {
                self.add_endpoint(r, b, verdict);
            }
        }
        if !self.counts_only {
            self.add_disagreement(r);
        }
    }

    fn add_endpoint(&mut self, r: &Record, b: Browser, verdict: &'static str) {
        let key = r.endpoint();
        // Below the bound no endpoint is folded: one search finds or makes the entry.
        let e = if self.endpoints.len() < MAX_SUMMARY_ENDPOINTS {
            self.endpoints.entry(key).or_default()
        } else {
            self.bounded_endpoint(key)
        };
        e.requests += 1;
        if let Some(p) = &r.preflight {
            if p.source == PreflightSource::Recorded {
                e.preflights += 1;
                e.preflight_wait_ms =
                    add_ms(e.preflight_wait_ms, r.preflight_wait_ms.unwrap_or(0.0));
            }
        }
        if verdict == "blocked" {
            e.blocked += 1;
            count_into(&mut e.reasons, blocked_reason(r, b));
            keep_least(&mut e.fix, r.fix.as_ref());
        }
    }

    /// The entry of endpoint `key` when the table may be at its bound: a new endpoint past it
    /// may be the one folded into [`OTHER_ENDPOINTS`].
    fn bounded_endpoint(&mut self, mut key: String) -> &mut EndpointStats {
        match self.new_endpoint_at_bound(&key) {
            // What inserting it and folding would do, without the insert, the removal and
            // the searches between (most new endpoints of a long run come here): either it
            // sorts last and is folded at once, or the last one is folded to make room.
            Some(AtBound::FoldsAtOnce) => {
                self.fold_into_rest(EndpointStats::default());
                return self
                    .endpoints
                    .entry(OTHER_ENDPOINTS.to_owned())
                    .or_default();
            }
            Some(AtBound::TakesLastsPlace) => {
                if let Some((_, last)) = self.endpoints.pop_last() {
                    self.fold_into_rest(last);
                }
                return self.endpoints.entry(key).or_default();
            }
            None => {}
        }
        if !self.endpoints.contains_key(&key) {
            self.endpoints.insert(key.clone(), EndpointStats::default());
            if self.fold_excess_endpoints() && !self.endpoints.contains_key(&key) {
                key = OTHER_ENDPOINTS.to_owned();
            }
        }
        self.endpoints.entry(key).or_default()
    }

    /// Counts a folded endpoint's stats under [`OTHER_ENDPOINTS`] and holds the
    /// disagreements to the bound, as [`Summary::fold_excess_endpoints`] does.
    fn fold_into_rest(&mut self, folded: EndpointStats) {
        let rest = self.endpoints.entry(OTHER_ENDPOINTS.to_owned());
        rest.or_default().absorb(folded);
        while self.disagreements.len() > MAX_SUMMARY_ENDPOINTS {
            self.disagreements.pop_last();
        }
    }

    /// For a new endpoint `key` when the table is exactly full and its last key is an
    /// endpoint (not [`OTHER_ENDPOINTS`]), what inserting it would fold; `None` in any other
    /// case (the general path decides).
    fn new_endpoint_at_bound(&self, key: &str) -> Option<AtBound> {
        let has_other = self.endpoints.contains_key(OTHER_ENDPOINTS);
        if key == OTHER_ENDPOINTS
            || self.endpoints.len() - usize::from(has_other) != MAX_SUMMARY_ENDPOINTS
        {
            return None;
        }
        let (last, _) = self.endpoints.last_key_value()?;
        if last == OTHER_ENDPOINTS || self.endpoints.contains_key(key) {
            return None;
        }
        Some(if key > last.as_str() {
            AtBound::FoldsAtOnce
        } else {
            AtBound::TakesLastsPlace
        })
    }

    /// Holds the endpoint table to [`MAX_SUMMARY_ENDPOINTS`]: the endpoints that sort last
    /// are counted together under [`OTHER_ENDPOINTS`], and the disagreements of the ones that
    /// sort last are dropped. Keeping the least keys (not the first seen) leaves the same
    /// table whatever order records and shard summaries come in, so a merge of shards still
    /// equals the single run (`corscope merge`); every endpoint kept has all its counts.
    /// Whether anything was folded.
    fn fold_excess_endpoints(&mut self) -> bool {
        let mut folded = false;
        while self.endpoints.len() - usize::from(self.endpoints.contains_key(OTHER_ENDPOINTS))
            > MAX_SUMMARY_ENDPOINTS
        {
            let last = self.endpoints.keys().rev().find(|k| *k != OTHER_ENDPOINTS);
            let Some(o) = last.cloned().and_then(|k| self.endpoints.remove(&k)) else {
                break;
            };
            let rest = self.endpoints.entry(OTHER_ENDPOINTS.to_owned());
            rest.or_default().absorb(o);
            folded = true;
        }
        while self.disagreements.len() > MAX_SUMMARY_ENDPOINTS {
            self.disagreements.pop_last();
        }
        folded
    }

    fn add_disagreement(&mut self, r: &Record) {
        if !r.browsers_agree {
            let verdicts = crate::cors::ALL_BROWSERS
                .iter()
                .map(|&b| {
                    let reason = r.reason_for(b).map(|x| format!(" ({x})"));
                    format!("{b} {}{}", r.verdict_for(b), reason.unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join(", ");
            let why = r
                .note
                .as_deref()
                .map(|n| format!("{WHY_SEP}{n}"))
                .unwrap_or_default();
            let fix = r
                .fix
                .as_deref()
                .map(|f| format!("{FIX_SEP}{f}"))
                .unwrap_or_default();
            least_into(
                &mut self.disagreements,
                r.endpoint(),
                format!("{verdicts}{why}{fix}"),
            );
            if self.disagreements.len() > MAX_SUMMARY_ENDPOINTS {
                self.disagreements.pop_last();
            }
        }
    }

    pub fn blocked(&self) -> u64 {
        self.verdicts.get("blocked").copied().unwrap_or(0)
    }

    pub fn unknown(&self) -> u64 {
        self.verdicts.get("unknown").copied().unwrap_or(0)
    }

    /// Adds another input's summary to this run's.
    pub fn merge(&mut self, other: Summary) {
        if self.inputs.is_empty() && self.requests == 0 && self.not_cors == 0 {
            self.browser = other.browser;
        } else if self.browser != other.browser {
            self.browser = "mixed";
        }
        self.requests += other.requests;
        self.not_cors += other.not_cors;
        for (k, v) in other.verdicts {
            *self.verdicts.entry(k).or_insert(0) += v;
        }
        for (k, v) in other.reasons {
            *self.reasons.entry(k).or_insert(0) += v;
        }
        // Into an empty table (a run's first input) the other's moves whole: absorbing into
        // a fresh entry copies every count as it is but the time, which goes through
        // `add_ms` (the same rounding here, without rebuilding the tree).
        if self.endpoints.is_empty() {
            self.endpoints = other.endpoints;
            for e in self.endpoints.values_mut() {
                e.preflight_wait_ms = add_ms(0.0, e.preflight_wait_ms);
            }
        } else {
            for (k, o) in other.endpoints {
                self.endpoints.entry(k).or_default().absorb(o);
            }
        }
        if self.disagreements.is_empty() {
            self.disagreements = other.disagreements;
        } else {
            for (k, text) in other.disagreements {
                least_into(&mut self.disagreements, k, text);
            }
        }
        self.fold_excess_endpoints();
        self.inputs.extend(other.inputs);
        self.errors.extend(other.errors);
    }
}

/// Keeps the least of the texts seen: the choice does not depend on the order records or
/// shard summaries come in, so merged summaries equal the single run's (`corscope merge`).
fn keep_least(slot: &mut Option<String>, new: Option<&String>) {
    if let Some(n) = new {
        if slot.as_ref().is_none_or(|s| n < s) {
            *slot = Some(n.clone());
        }
    }
}

/// Counts `key` once more, making its text only the first time.
fn count_into(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

/// [`keep_least`] for a map entry.
fn least_into(map: &mut BTreeMap<String, String>, key: String, text: String) {
    match map.get_mut(&key) {
        Some(slot) if text < *slot => *slot = text,
        Some(_) => {}
        None => {
            map.insert(key, text);
        }
    }
}

/// Adds milliseconds in whole microseconds: float sums depend on their order, sums of
/// microseconds do not (so merged summaries equal the single run's to the last digit).
fn add_ms(a: f64, b: f64) -> f64 {
    ((a * 1000.0).round() + (b * 1000.0).round()) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disagreement's text splits where `Summary::add` joined it, also when the fix itself
    /// has a dash in it and there is no note.
    #[test]
    fn disagreement_texts_split_into_their_parts() {
        for (text, verdicts, why) in [
            (
                "Chromium blocked, Firefox unknown",
                "Chromium blocked, Firefox unknown",
                "",
            ),
            ("A, B — why; to satisfy all three: fix", "A, B", " — why"),
            ("A, B; to satisfy all three: add x — or drop y", "A, B", ""),
            ("A, B — why — more", "A, B", " — why — more"),
        ] {
            assert_eq!(disagreement_parts(text), (verdicts, why), "{text}");
        }
    }

    /// The typed fields serialize to exactly the values the contract (and so the schema and
    /// the CSV) lists for them.
    #[test]
    fn typed_fields_serialize_to_the_contract_values() {
        fn words<T: Serialize>(all: &[T]) -> Vec<String> {
            all.iter()
                .map(|v| match serde_json::to_value(v) {
                    Ok(serde_json::Value::String(s)) => s,
                    other => panic!("not a word: {other:?}"),
                })
                .collect()
        }
        let values = |fields: &[Field], name: &str| -> Vec<String> {
            let f = fields.iter().find(|f| f.name == name);
            f.map(|f| f.values.iter().map(|v| (*v).to_owned()).collect())
                .unwrap_or_default()
        };
        for name in ["verdict", "firefox_verdict", "safari_verdict"] {
            assert_eq!(words(&Verdict::ALL), values(FIELDS, name), "{name}");
        }
        assert_eq!(words(&Credentials::ALL), values(FIELDS, "credentials"));
        assert_eq!(
            words(&PreflightSource::ALL),
            values(PREFLIGHT_FIELDS, "source")
        );
    }

    fn sample() -> Record {
        Record {
            source: "a.har".into(),
            index: 3,
            time: RecordTime::new(0),
            origin: Some("https://app.example".into()),
            url: "https://api.example/x".into(),
            method: "PUT".into(),
            credentials: Credentials::Omit,
            preflight: Some(PreflightInfo {
                status: Some(204),
                index: Some(2),
                source: PreflightSource::Recorded,
            }),
            verdict: Verdict::Blocked,
            reason: Some("MissingAllowOriginHeader"),
            failed_parameter: None,
            message: Some("m".into()),
            fix: Some("send it".into()),
            firefox_verdict: Verdict::Blocked,
            firefox_reason: Some("CORSMissingAllowOrigin"),
            firefox_message: None,
            safari_verdict: Verdict::Blocked,
            safari_reason: None,
            safari_message: None,
            browsers_agree: true,
            status: Some(200),
            final_url: "https://api.example/x".into(),
            redirects: 0,
            recorded_by: "chromium",
            note: None,
            location: "entry 3".into(),
            wait_ms: Some(1.5),
            preflight_wait_ms: None,
            flow: None,
            ndjson: None,
        }
    }

    /// The exchanges of a generated capture of about `bytes`.
    fn generated(bytes: u64) -> Vec<crate::model::Exchange> {
        let mut pcap = Vec::new();
        let spec = crate::synth::PcapSpec {
            target_bytes: bytes,
            ..Default::default()
        };
        crate::synth::write_pcap(&mut pcap, &spec).expect("writing to a Vec cannot fail");
        let mut xs = Vec::new();
        crate::capture::read_capture(
            Box::new(std::io::Cursor::new(pcap)),
            std::sync::Arc::from("gen.pcap"),
            &crate::capture::CaptureOptions::default(),
            &mut |x| xs.push(x),
            &mut crate::diag::Diagnostics::new(),
        )
        .expect("generated capture reads");
        xs
    }

    /// Flows paired from `xs` and resolved, as the pipeline makes them.
    fn resolved(xs: Vec<crate::model::Exchange>) -> Vec<(Flow, Resolution)> {
        let mut flows = Vec::new();
        let mut p = crate::pairing::Pairer::new(crate::pairing::PairingOptions::default());
        for x in xs {
            p.push(x, &mut |f| flows.push(f));
        }
        p.finish(&mut |f| flows.push(f));
        let mut r = crate::cors::resolve::Resolver::new();
        flows
            .into_iter()
            .map(|f| {
                let res = r.resolve(&f, Browser::Chromium);
                (f, res)
            })
            .collect()
    }

    /// A record built from a flow it moves out of equals the one copied from the flow, on
    /// every flow of the committed recordings (redirects, preflights, blocks, notes) and a
    /// generated capture.
    #[test]
    fn record_from_owned_flow_equals_record_of_borrowed() {
        let mut xs = Vec::new();
        for name in ["devtools.har", "chrome-har.har", "playwright.har"] {
            let path = format!("{}/tests/data/chromium/{name}", env!("CARGO_MANIFEST_DIR"));
            let file = std::fs::File::open(&path).expect("committed fixture");
            crate::input::har::read_har(
                Box::new(std::io::BufReader::new(file)),
                std::sync::Arc::from(name),
                &crate::input::har::HarOptions::default(),
                &mut |x| xs.push(x),
                &mut crate::diag::Diagnostics::new(),
            )
            .expect("committed fixture reads");
        }
        xs.extend(generated(1 << 20));
        let flows = resolved(xs);
        assert!(flows.iter().any(|(f, _)| f.hops.len() > 1), "a redirect");
        assert!(flows
            .iter()
            .any(|(_, r)| r.browsers[Browser::Chromium].fix.is_some()));
        for (mut flow, mut res) in flows {
            let copied = Record::new(&flow, &res);
            assert_eq!(copied, Record::from_taken(&mut flow, &mut res));
        }
    }

    /// `record_notes` as it was: parts in a vector, joined.
    fn record_notes_joined(res: &Resolution) -> Option<String> {
        let rec_first = std::iter::once(&res.browsers[res.recorder])
            .chain(res.browsers.values().filter(|v| v.browser != res.recorder));
        let mut said: Vec<&[crate::cors::note::Note]> = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        for v in rec_first {
            if v.notes.is_empty() || said.iter().any(|s| s.ends_with(&v.notes)) {
                continue;
            }
            said.push(&v.notes);
            let text = crate::cors::note::join(&v.notes).unwrap_or_default();
            parts.push(if v.browser == res.recorder {
                text
            } else {
                format!("{}: {text}", v.browser)
            });
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Every recorder and every way three browsers can share or differ in their notes: the
    /// note written in place equals the parts joined.
    #[test]
    fn record_notes_equal_the_joined_parts() {
        use crate::cors::note::Note;
        let (_, mut res) = resolved(generated(64 << 10))
            .into_iter()
            .next()
            .expect("a flow");
        let (a, b) = (Note::Client("a tool".into()), Note::WebSocketTraffic);
        let lists = [
            vec![],
            vec![a.clone()],
            vec![b.clone()],
            vec![a.clone(), b.clone()],
        ];
        let mut seen = std::collections::BTreeSet::new();
        for recorder in crate::cors::ALL_BROWSERS {
            res.recorder = recorder;
            for n in 0..lists.len().pow(3) {
                for (i, v) in res.browsers.values_mut().enumerate() {
                    v.notes = lists[n / lists.len().pow(i as u32) % lists.len()].clone();
                }
                let note = record_notes(&res);
                assert_eq!(note, record_notes_joined(&res), "{recorder:?} {n}");
                seen.insert(note);
            }
        }
        assert!(seen.len() > 20, "{seen:?}");
    }

    /// The time as chrono writes it (what `rfc3339` replaced).
    fn chrono_rfc3339(t: Micros) -> String {
        let t = t.clamp(RFC3339_MIN, RFC3339_MAX);
        chrono::DateTime::from_timestamp_micros(t)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    }

    proptest::proptest! {
        /// Any location, written as it displays.
        #[test]
        fn location_text_is_display(
            n in proptest::num::u64::ANY,
            o in proptest::num::u64::ANY,
            stream in proptest::num::u32::ANY,
            k in 0..4usize,
        ) {
            let position = [
                Position::HarEntry(n),
                Position::Packet { number: n, offset: o },
                Position::Stream { number: n, offset: o, stream },
                Position::Byte(o),
            ][k];
            let loc = crate::model::Location { source: "in/a b.pcap".into(), position };
            proptest::prop_assert_eq!(location_text(&loc), loc.to_string());
        }

        /// Any time (and any near the ends of the range), written as chrono writes it.
        #[test]
        fn rfc3339_is_chronos(t in proptest::num::i64::ANY, near in -100_000_000i64..100_000_000) {
            for t in [t, t % (RFC3339_MAX / 4), RFC3339_MIN + near.abs(), RFC3339_MAX - near.abs(), near] {
                proptest::prop_assert_eq!(rfc3339(t), chrono_rfc3339(t), "{}", t);
            }
        }

        /// Where the fast path answers, it answers as the parser does.
        #[test]
        fn plain_endpoint_agrees_with_the_parser(
            origin in "https?://[a-z0-9]{1,4}(\\.[a-z]{1,3})?(:[0-9]{1,5})?",
            path in "[/a-zA-Z0-9.%\\\\ \t~!$&'()*+,;=:@_-]{0,12}",
            tail in "([?#][a-z/.]{0,4})?",
        ) {
            let url = format!("{origin}{path}{tail}");
            if let Some((o, p)) = plain_origin_and_path(&url) {
                let u = url::Url::parse(&url).unwrap();
                proptest::prop_assert_eq!(
                    (o.to_owned(), p),
                    (u.origin().ascii_serialization(), u.path()),
                    "{}", url
                );
            }
        }
    }

    #[test]
    fn plain_endpoints() {
        for (url, want) in [
            (
                "https://a.test/x/y.js?q=1",
                Some(("https://a.test", "/x/y.js")),
            ),
            ("http://a.test:8080", Some(("http://a.test:8080", "/"))),
            ("http://a.test#f", Some(("http://a.test", "/"))),
            ("http://a.test/a/../b", None),
            ("http://a.test/a%2e", None),
            ("http://a.test/a b", None),
            ("http://A.test/", None),
        ] {
            assert_eq!(plain_origin_and_path(url), want, "{url}");
        }
    }

    /// The fast NDJSON line is serde_json's, for a record with every optional field set and
    /// strings that need escaping, and for one with none set.
    #[test]
    fn ndjson_line_is_serde_jsons() {
        let mut full = sample();
        full.note = Some("a \"quoted\"\tnote\u{1}\\ é ‘x’".into());
        full.preflight_wait_ms = Some(1e-7);
        full.wait_ms = Some(f64::NAN);
        let mut empty = sample();
        empty.preflight = None;
        empty.origin = None;
        empty.status = None;
        empty.wait_ms = None;
        for r in [sample(), full, empty] {
            let mut mine = Vec::new();
            ndjson::write_record(&mut mine, &r);
            let mut want = serde_json::to_vec(&r).unwrap();
            want.push(b'\n');
            assert_eq!(
                String::from_utf8_lossy(&mine),
                String::from_utf8_lossy(&want)
            );
        }
    }

    /// Past the bound the endpoints that sort last are counted under OTHER_ENDPOINTS, the
    /// table is the same in any record order, and a merge of two halves equals the whole.
    #[test]
    fn summary_endpoints_are_bounded_and_merge_like_one_run() {
        let n = MAX_SUMMARY_ENDPOINTS + 10;
        let records: Vec<Record> = (0..n)
            .map(|i| {
                let mut r = sample();
                r.url = format!("https://api.example/items/{i:06}");
                r.browsers_agree = i % 2 == 0;
                r
            })
            .collect();
        let run = |order: &mut dyn Iterator<Item = &Record>| {
            let mut s = Summary::new(Browser::Chromium);
            order.for_each(|r| s.add(r));
            s
        };
        let json = |s: &Summary| serde_json::to_string(s).unwrap_or_default();
        let whole = run(&mut records.iter());
        assert_eq!(whole.endpoints.len(), MAX_SUMMARY_ENDPOINTS + 1);
        let rest = &whole.endpoints[OTHER_ENDPOINTS];
        assert_eq!((rest.requests, rest.blocked), (10, 10));
        assert!(whole.endpoints.contains_key(&format!(
            "PUT https://api.example/items/{:06}",
            MAX_SUMMARY_ENDPOINTS - 1
        )));
        assert_eq!(
            whole.disagreements.len(),
            (n / 2).min(MAX_SUMMARY_ENDPOINTS)
        );
        assert_eq!(json(&run(&mut records.iter().rev())), json(&whole));
        let mut merged = run(&mut records.iter().step_by(2));
        merged.merge(run(&mut records.iter().skip(1).step_by(2)));
        merged.inputs.clear();
        assert_eq!(json(&merged), json(&whole));
        // Merged into an empty summary (a run's first input), a summary stays itself.
        let mut first = Summary::default();
        first.merge(run(&mut records.iter()));
        assert_eq!(json(&first), json(&whole));
    }

    /// A counts-only summary counts as the full one does (requests, verdicts, reasons), and
    /// keeps no endpoint table or disagreements; merged into a run's total it adds its counts.
    #[test]
    fn counts_only_summary_counts_like_the_full_one() {
        let records: Vec<Record> = (0..MAX_SUMMARY_ENDPOINTS + 50)
            .map(|i| {
                let mut r = sample();
                r.url = format!("https://api.example/items/{i:06}");
                r.browsers_agree = i % 3 == 0;
                if i % 7 == 0 {
                    r.verdict = Verdict::Allowed;
                }
                r
            })
            .collect();
        let (mut full, mut counts) = (
            Summary::new(Browser::Chromium),
            Summary::counts_only(Browser::Chromium),
        );
        for r in &records {
            full.add(r);
            counts.add(r);
        }
        assert!(full.blocked() > 0 && full.blocked() < full.requests);
        assert_eq!(
            (
                counts.requests,
                counts.not_cors,
                &counts.verdicts,
                &counts.reasons
            ),
            (full.requests, full.not_cors, &full.verdicts, &full.reasons)
        );
        assert!(!full.endpoints.is_empty() && !full.disagreements.is_empty());
        assert!(counts.endpoints.is_empty() && counts.disagreements.is_empty());
        let mut total = Summary::default();
        total.merge(counts);
        assert_eq!(
            (total.requests, total.blocked()),
            (full.requests, full.blocked())
        );
    }

    /// The serialized record is the table: same names, same order (a field added to
    /// `Record` must be added to `FIELDS`, and so reaches CSV and the schema).
    #[test]
    fn record_serializes_fields_in_table_order() {
        let json = serde_json::to_string(&sample()).unwrap();
        let mut at = 0;
        for f in FIELDS {
            let key = format!("\"{}\":", f.name);
            let pos = json[at..].find(&key).map(|p| p + at);
            assert!(
                pos.is_some(),
                "{} missing or out of order in {json}",
                f.name
            );
            at = pos.unwrap_or(at) + key.len();
        }
        let v = serde_json::to_value(sample()).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), FIELDS.len());
        let pf = obj["preflight"].as_object().unwrap();
        let mut keys: Vec<_> = pf.keys().map(String::as_str).collect();
        let mut want: Vec<_> = PREFLIGHT_FIELDS.iter().map(|f| f.name).collect();
        keys.sort_unstable();
        want.sort_unstable();
        assert_eq!(keys, want);
    }

    #[test]
    fn csv_row_matches_the_header() {
        let mut out = Vec::new();
        {
            let mut sink = CsvSink::new(&mut out).unwrap();
            sink.record(&sample()).unwrap();
            sink.finish().unwrap();
        }
        let mut rdr = csv::Reader::from_reader(out.as_slice());
        let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header, csv_columns());
        let row = rdr.records().next().unwrap().unwrap();
        let cell = |name: &str| {
            row.get(header.iter().position(|h| h == name).unwrap())
                .unwrap()
        };
        assert_eq!(cell("preflight_status"), "204");
        assert_eq!(cell("preflight_source"), "recorded");
        assert_eq!(cell("wait_ms"), "1.5");
        assert_eq!(cell("preflight_wait_ms"), "");
        assert_eq!(cell("browsers_agree"), "true");
    }

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
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(i64::MIN), "0000-01-01T00:00:00.000Z");
    }
}
