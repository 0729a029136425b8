//! The HAR reader's spool record: an entry as the first pass parsed it, written in a flat
//! binary form so that the second pass reads it back without parsing JSON again.
//!
//! The first pass parses every entry into a [`RawEntry`] anyway (to check it and to index
//! it); spooling the entry's JSON made the second pass parse the same bytes a second time
//! (half of the reader's instructions). The record holds exactly the fields the second pass
//! reads ([`super::to_exchange`]): strings as a length and their bytes, numbers as their
//! bits. Its checks and warnings are the first pass's, unchanged; the record itself can
//! only fail to read back from a damaged spool file.
//!
//! [`write()`] and [`read`] list the fields in the same order; `records_read_back_as_parsed`
//! checks them against each other.
//!
//! A record is the length of its fixed part (four bytes), the fixed part (flags, lengths,
//! numbers, in field order), then every string's bytes one after another: the strings are
//! checked as UTF-8 in one pass over them when read back (a check a string was a call a
//! string, most of reading a record back) and each is sliced out of that text.

use std::borrow::Cow;

use super::{RawEntry, RawHeader, RawInitiator, RawRequest, RawResponse, RawTimings};

/// A record that does not read back (a damaged spool file).
#[derive(Debug, thiserror::Error)]
#[error("spool record cut or damaged at byte {0}")]
pub(crate) struct Damaged(usize);

/// Appends `raw`'s record to `out`. `started` is not written: the index holds the time.
pub(super) fn write(raw: &RawEntry, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    fields(
        raw,
        &mut Writer {
            out: &mut *out,
            strings: false,
        },
    );
    let fixed = out.len() - start - 4;
    // The fixed part is a few bytes a field: far below 4 GiB.
    let fixed = u32::try_from(fixed).unwrap_or(NONE);
    out[start..start + 4].copy_from_slice(&fixed.to_le_bytes());
    fields(raw, &mut Writer { out, strings: true });
}

/// The record's fields in order, through `w` (its fixed part, then its strings: the same
/// list twice, so the two cannot disagree).
fn fields(raw: &RawEntry, w: &mut Writer) {
    w.opt_str(raw.pageref.as_deref());
    w.opt_f64(raw.time);
    w.str(&raw.request.method);
    w.str(&raw.request.url);
    w.str(&raw.request.http_version);
    w.headers(&raw.request.headers);
    w.flag(raw.response.is_some());
    if let Some(r) = &raw.response {
        w.opt_i64(r.status);
        w.str(&r.status_text);
        w.headers(&r.headers);
        w.opt_str(r.error.as_deref());
        w.opt_str(r.failure_text.as_deref());
        w.opt_str(r.http_version.as_deref());
        w.opt_i64(r.headers_size);
        w.opt_i64(r.via_service_worker.map(i64::from));
        w.opt_str(r.service_worker_source.as_deref());
    }
    w.flag(raw.timings.is_some());
    if let Some(t) = &raw.timings {
        w.opt_f64(t.wait);
    }
    w.opt_str(raw.server_ip.as_deref());
    w.opt_str(raw.connection_id.as_deref());
    w.opt_str(raw.connection.as_deref());
    w.opt_str(raw.resource_type.as_deref());
    w.flag(raw.initiator.is_some());
    if let Some(i) = &raw.initiator {
        w.opt_str(i.kind.as_deref());
        w.opt_str(i.url.as_deref());
    }
    w.opt_str(raw.initiator_type.as_deref());
    w.opt_str(raw.from_cache.as_deref());
    w.opt_str(raw.console_message.as_deref());
    w.opt_str(raw.fetch_type.as_deref());
}

/// Reads back a record [`write()`] made; strings borrow from `bytes`.
pub(super) fn read(bytes: &[u8]) -> Result<RawEntry<'_>, Damaged> {
    let fixed = bytes.get(..4).ok_or(Damaged(0))?;
    let fixed = u32::from_le_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]) as usize;
    let split = fixed.checked_add(4).ok_or(Damaged(0))?;
    let (head, tail) = (bytes.get(4..split), bytes.get(split..));
    let (Some(head), Some(tail)) = (head, tail) else {
        return Err(Damaged(0));
    };
    let text = std::str::from_utf8(tail).map_err(|e| Damaged(split + e.valid_up_to()))?;
    let mut r = Reader {
        bytes: head,
        at: 0,
        text,
        text_at: 0,
    };
    let owned = |s: Option<Cow<str>>| s.map(Cow::into_owned);
    let pageref = r.opt_str()?;
    let time = r.opt_f64()?;
    let request = RawRequest {
        method: r.str()?,
        url: r.str()?,
        http_version: r.str()?,
        headers: r.headers()?,
    };
    let response = match r.flag()? {
        true => Some(RawResponse {
            status: r.opt_i64()?,
            status_text: r.str()?,
            headers: r.headers()?,
            error: owned(r.opt_str()?),
            failure_text: owned(r.opt_str()?),
            http_version: owned(r.opt_str()?),
            headers_size: r.opt_i64()?,
            via_service_worker: r.opt_i64()?.map(|v| v != 0),
            service_worker_source: owned(r.opt_str()?),
        }),
        false => None,
    };
    let timings = match r.flag()? {
        true => Some(RawTimings { wait: r.opt_f64()? }),
        false => None,
    };
    let server_ip = r.opt_str()?;
    let connection_id = owned(r.opt_str()?);
    let connection = owned(r.opt_str()?);
    let resource_type = r.opt_str()?;
    let initiator = match r.flag()? {
        true => Some(RawInitiator {
            kind: owned(r.opt_str()?),
            url: owned(r.opt_str()?),
        }),
        false => None,
    };
    let initiator_type = r.opt_str()?;
    let from_cache = owned(r.opt_str()?);
    let console_message = owned(r.opt_str()?);
    let fetch_type = owned(r.opt_str()?);
    if r.at != head.len() {
        return Err(Damaged(4 + r.at));
    }
    if r.text_at != text.len() {
        return Err(Damaged(split + r.text_at));
    }
    Ok(RawEntry {
        pageref,
        started: None,
        time,
        request,
        response,
        timings,
        server_ip,
        connection_id,
        connection,
        resource_type,
        initiator,
        initiator_type,
        from_cache,
        console_message,
        fetch_type,
    })
}

/// A string's length says "absent" with this value (no kept string comes near 4 GiB:
/// entries are capped far below it).
const NONE: u32 = u32::MAX;

/// Writes the record's fixed part to `out`, or (`strings`) its strings' bytes: the two
/// passes of [`write()`].
struct Writer<'o> {
    out: &'o mut Vec<u8>,
    strings: bool,
}

impl Writer<'_> {
    fn flag(&mut self, on: bool) {
        if !self.strings {
            self.out.push(u8::from(on));
        }
    }

    fn len(&mut self, n: usize) {
        if self.strings {
            return;
        }
        // Entries are capped at `max_entry_bytes` (< 4 GiB, `EntryIndex::push` refuses
        // more), so every string and list length fits; saturating keeps a broken cap visible
        // as a damaged record rather than a wrong one.
        let n = u32::try_from(n).unwrap_or(NONE - 1);
        self.out.extend_from_slice(&n.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        match self.strings {
            true => self.out.extend_from_slice(s.as_bytes()),
            false => self.len(s.len()),
        }
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None if !self.strings => self.out.extend_from_slice(&NONE.to_le_bytes()),
            None => {}
        }
    }

    fn opt_u64(&mut self, v: Option<u64>) {
        if self.strings {
            return;
        }
        self.flag(v.is_some());
        if let Some(v) = v {
            self.out.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn opt_f64(&mut self, v: Option<f64>) {
        self.opt_u64(v.map(f64::to_bits));
    }

    fn opt_i64(&mut self, v: Option<i64>) {
        self.opt_u64(v.map(|v| v as u64));
    }

    fn headers(&mut self, list: &[RawHeader]) {
        self.len(list.len());
        for h in list {
            self.str(&h.name);
            self.str(&h.value);
        }
    }
}

/// Reads the fixed part (`bytes`) and slices the strings out of `text`, in turn.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    text: &'a str,
    text_at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Damaged> {
        let end = self.at.checked_add(n).ok_or(Damaged(self.at))?;
        let b = self.bytes.get(self.at..end).ok_or(Damaged(self.at))?;
        self.at = end;
        Ok(b)
    }

    fn flag(&mut self) -> Result<bool, Damaged> {
        match self.take(1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(Damaged(self.at - 1)),
        }
    }

    fn u32(&mut self) -> Result<u32, Damaged> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn opt_str(&mut self) -> Result<Option<Cow<'a, str>>, Damaged> {
        let n = self.u32()?;
        if n == NONE {
            return Ok(None);
        }
        let at = self.text_at;
        let end = at.checked_add(n as usize).ok_or(Damaged(self.at))?;
        // Off a character boundary only in a damaged record.
        let s = self.text.get(at..end).ok_or(Damaged(self.at))?;
        self.text_at = end;
        Ok(Some(Cow::Borrowed(s)))
    }

    fn str(&mut self) -> Result<Cow<'a, str>, Damaged> {
        let at = self.at;
        self.opt_str()?.ok_or(Damaged(at))
    }

    fn opt_u64(&mut self) -> Result<Option<u64>, Damaged> {
        if !self.flag()? {
            return Ok(None);
        }
        let b = self.take(8)?;
        let mut v = [0u8; 8];
        v.copy_from_slice(b);
        Ok(Some(u64::from_le_bytes(v)))
    }

    fn opt_f64(&mut self) -> Result<Option<f64>, Damaged> {
        Ok(self.opt_u64()?.map(f64::from_bits))
    }

    fn opt_i64(&mut self) -> Result<Option<i64>, Damaged> {
        Ok(self.opt_u64()?.map(|v| v as i64))
    }

    fn headers(&mut self) -> Result<Vec<RawHeader<'a>>, Damaged> {
        let n = self.u32()? as usize;
        // Each header takes at least 8 bytes: a damaged count cannot reserve more than the
        // record could hold.
        let mut out = Vec::with_capacity(n.min((self.bytes.len() - self.at) / 8));
        for _ in 0..n {
            out.push(RawHeader {
                name: self.str()?,
                value: self.str()?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    /// Entries of every shape the parser accepts, with escapes (owned strings), absent and
    /// present optional parts.
    const ENTRIES: &[&str] = &[
        r#"{}"#,
        r#"{"request":{"method":"GET","url":"https://a.test/\u00e9"}}"#,
        r#"{"pageref":"p1","startedDateTime":"2024-01-01T00:00:00Z","time":-1.5,
            "request":{"method":"OPTIONS","url":"https://a.test/x","httpVersion":"h2",
              "headers":[{"name":"Origin","value":"https://b.test"},["a\nb","c"],5]},
            "response":{"status":"204","statusText":"No \"Content\"","headers":[],
              "_error":"net::ERR_FAILED","_failureText":3,"httpVersion":"HTTP/1.1",
              "headersSize":1e3,"_fetchedViaServiceWorker":true,
              "_serviceWorkerResponseSource":"network"},
            "timings":{"wait":"2.5"},"serverIPAddress":"10.0.0.1","_connectionId":42,
            "connection":true,"_resourceType":"fetch","_initiator":{"type":"script",
            "url":"https://b.test/app.js"},"_initiator_type":"other","_fromCache":"disk",
            "_consoleMessage":"Access to fetch at 'https://a.test/x' from origin \u2026"}"#,
        r#"{"request":{},"response":{"_fetchedViaServiceWorker":"false"},"timings":{},
            "_initiator":"https://c.test/"}"#,
        r#"{"response":null,"timings":null,"_initiator":[1]}"#,
    ];

    #[test]
    fn records_read_back_as_parsed() {
        for json in ENTRIES {
            let mut raw: RawEntry = serde_json::from_str(json).unwrap();
            let mut bytes = Vec::new();
            write(&raw, &mut bytes);
            let back = read(&bytes).unwrap();
            raw.started = None;
            assert_eq!(format!("{back:?}"), format!("{raw:?}"), "{json}");
            // Every cut of the record is reported, never read as something else.
            for cut in 0..bytes.len() {
                assert!(read(&bytes[..cut]).is_err(), "{json}: cut at {cut}");
            }
        }
    }

    /// A JSON value for any field: each type the lenient and strict fields meet.
    fn value() -> impl Strategy<Value = String> + Clone {
        prop::sample::select(vec![
            "null",
            "7",
            "-2.5e3",
            "true",
            r#""a\n\u00e9\"""#,
            r#""""#,
            r#""204""#,
            "{}",
            "[]",
            r#"[{"name":"a","value":"b\nc"},["d","e"],{"name":1}]"#,
            r#"{"type":"script","url":"https://a.test/"}"#,
        ])
        .prop_map(str::to_owned)
    }

    /// An object with some of `keys` (maybe twice), each holding `inner` or a [`value`].
    fn object(
        keys: &'static [&'static str],
        inner: impl Strategy<Value = String> + Clone,
    ) -> impl Strategy<Value = String> + Clone {
        let field = prop_oneof![value(), inner];
        prop::collection::vec((prop::sample::select(keys), field), 0..keys.len()).prop_map(
            |fields| {
                let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", body.join(","))
            },
        )
    }

    #[test]
    fn any_parsed_entry_reads_back_as_parsed() {
        let request = object(&["method", "url", "httpVersion", "headers"], value());
        let response = object(
            &[
                "status",
                "statusText",
                "headers",
                "_error",
                "_failureText",
                "httpVersion",
                "headersSize",
                "_fetchedViaServiceWorker",
                "_serviceWorkerResponseSource",
            ],
            value(),
        );
        let entry = object(
            &[
                "pageref",
                "startedDateTime",
                "time",
                "request",
                "response",
                "timings",
                "serverIPAddress",
                "_connectionId",
                "connection",
                "_resourceType",
                "_initiator",
                "_initiator_type",
                "_fromCache",
                "_consoleMessage",
                "_fetchType",
            ],
            prop_oneof![request, response, object(&["wait"], value())],
        );
        let parsed = std::cell::Cell::new(0);
        proptest::test_runner::TestRunner::default()
            .run(&entry, |json| {
                // Entries the parser refuses never reach the spool.
                let Ok(mut raw) = serde_json::from_str::<RawEntry>(&json) else {
                    return Ok(());
                };
                parsed.set(parsed.get() + 1);
                let mut bytes = Vec::new();
                write(&raw, &mut bytes);
                raw.started = None;
                let back = read(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(format!("{back:?}"), format!("{raw:?}"));
                Ok(())
            })
            .unwrap();
        // The strategy must reach the spool often enough to test it.
        let parsed = parsed.get();
        assert!(parsed > 20, "only {parsed} generated entries parsed");
    }

    proptest! {
        /// Damaged spool bytes are an error or some record, never a panic.
        #[test]
        fn damaged_records_do_not_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = read(&bytes);
        }
    }
}
