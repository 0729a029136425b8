//! Streaming HAR 1.2 reader: a byte-level scanner finds each element of `log.entries` (and the
//! small `creator`/`browser`/`pages` values) without building a document tree, skips bodies and
//! drops other strings over a size limit as it goes, and parses each entry on its own
//! into an [`Exchange`]. Memory is one entry plus the read buffer, whatever the file size.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead};
use std::sync::Arc;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::diag::{Diagnostics, WarnKind, MAX_DETAILS_PER_KIND};
use crate::model::{
    Evidence, Exchange, Flavour, Headers, Micros, OutcomeRecording, Position, Request, Response,
    Timings,
};

mod entries;
mod record;
mod spool;

/// Strings longer than this are not kept (giant initiator stacks, URLs, header values); the
/// entry is parsed with the string emptied and the event is counted (`limit-har-string`).
/// Bodies are never kept, so never counted.
pub(crate) const MAX_STRING_BYTES: usize = 64 * 1024;
/// An entry whose kept bytes exceed this is skipped (after the long strings were dropped, only a
/// hostile file gets here); counted as `limit-har-entry-bytes`. Collection stops at the limit,
/// so this is also the most memory one entry can take.
pub(crate) const MAX_ENTRY_BYTES: usize = 16 * 1024 * 1024;
/// Nesting deeper than this is not followed (no legitimate HAR comes close): the value is
/// skipped by counting brackets, an entry that holds it is skipped (`limit-har-depth`), and
/// reading goes on. The scanner's stack never grows past it.
pub(crate) const MAX_DEPTH: usize = 128;

/// Options and limits for HAR reading. Every limit defaults to the `pub const` of the same
/// name; hitting one is counted in `Diagnostics`, never fatal.
#[derive(Clone, Debug)]
pub struct HarOptions {
    pub max_string_bytes: usize,
    pub max_entry_bytes: usize,
    /// Clamped to at least 4, so that `log.entries` elements themselves are always followed.
    pub max_depth: usize,
}

impl Default for HarOptions {
    fn default() -> Self {
        Self {
            max_string_bytes: MAX_STRING_BYTES,
            max_entry_bytes: MAX_ENTRY_BYTES,
            max_depth: MAX_DEPTH,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("read error at byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("not JSON at byte {offset}{}: expected {expected}, found {found}", in_entry(*.entry))]
    Syntax {
        offset: u64,
        /// The `log.entries` index of the entry the error is in, if it is in one.
        entry: Option<u64>,
        expected: &'static str,
        found: String,
    },
    #[error(
        "truncated at byte {offset} (inside {context}{}); {entries} complete entries were read",
        in_entry(*.entry)
    )]
    Truncated {
        offset: u64,
        context: &'static str,
        /// The `log.entries` index of the entry that was cut, if one was.
        entry: Option<u64>,
        entries: u64,
    },
    #[error("temporary file for the entry index: {0}")]
    Spool(#[source] io::Error),
    #[error("no `log.entries` array in the {bytes} bytes read: not a HAR file")]
    NoEntries { bytes: u64 },
}

/// `, in entry N` for error messages.
fn in_entry(entry: Option<u64>) -> String {
    entry.map_or_else(String::new, |i| format!(", in entry {i}"))
}

/// What the HAR says about itself.
#[derive(Clone, Debug, Default)]
pub struct HarMeta {
    pub creator: Option<String>,
    pub creator_version: Option<String>,
    pub browser: Option<String>,
    pub browser_version: Option<String>,
    pub entries: u64,
    pub skipped_entries: u64,
}

impl HarMeta {
    pub(crate) fn flavour(&self) -> Flavour {
        let c = self.creator.as_deref().unwrap_or("").to_ascii_lowercase();
        if c == "webinspector" {
            Flavour::DevTools
        } else if c.contains("playwright") {
            Flavour::Playwright
        } else if c.contains("chrome-har") || c.contains("browsertime") || c.contains("sitespeed") {
            Flavour::ChromeHar
        } else if c.contains("firefox") {
            Flavour::FirefoxHar
        } else if c.contains("webkit") || c.contains("safari") {
            Flavour::SafariHar
        } else {
            Flavour::OtherHar
        }
    }

    /// The browser that made the file, from `log.browser` or `log.creator`.
    pub(crate) fn browser_name(&self) -> Option<crate::browser::Browser> {
        crate::fingerprint::recording_browser(self.creator.as_deref(), self.browser.as_deref())
    }
}

// ---------------------------------------------------------------------------------------------
// Typed entry, borrowed from the entry's bytes where the JSON has no escapes.

#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug))]
#[serde(default)]
struct RawEntry<'a> {
    #[serde(borrow)]
    pageref: Option<Cow<'a, str>>,
    #[serde(rename = "startedDateTime", borrow)]
    started: Option<Cow<'a, str>>,
    #[serde(deserialize_with = "lenient_f64")]
    time: Option<f64>,
    #[serde(borrow)]
    request: RawRequest<'a>,
    #[serde(borrow)]
    response: Option<RawResponse<'a>>,
    timings: Option<RawTimings>,
    #[serde(rename = "serverIPAddress", borrow)]
    server_ip: Option<Cow<'a, str>>,
    #[serde(rename = "_connectionId", deserialize_with = "lenient_string")]
    connection_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    connection: Option<String>,
    #[serde(rename = "_resourceType", borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(rename = "_initiator", deserialize_with = "lenient_initiator")]
    initiator: Option<RawInitiator>,
    /// chrome-har's flattened initiator type.
    #[serde(rename = "_initiator_type", borrow)]
    initiator_type: Option<Cow<'a, str>>,
    #[serde(rename = "_fromCache", deserialize_with = "lenient_string")]
    from_cache: Option<String>,
    /// Safari's Web Inspector: where the response came from (`Network Load`, `Memory Cache`,
    /// `Disk Cache`, `Service Worker`, `Inspector Override`; WebKit's `HARBuilder.fetchType`).
    #[serde(rename = "_fetchType", deserialize_with = "lenient_string")]
    fetch_type: Option<String>,
    /// The browser's console line about this request's failure: written by the trace reader
    /// (`input::zip`, from a Playwright trace's console events); a HAR it made (a `split`
    /// shard) reads it back the same.
    #[serde(rename = "_consoleMessage", deserialize_with = "lenient_string")]
    console_message: Option<String>,
}

#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug))]
#[serde(default)]
struct RawRequest<'a> {
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(rename = "httpVersion", borrow)]
    http_version: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "lenient_headers")]
    headers: Vec<RawHeader<'a>>,
}

#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug))]
#[serde(default)]
struct RawResponse<'a> {
    #[serde(deserialize_with = "lenient_i64")]
    status: Option<i64>,
    #[serde(rename = "statusText", borrow)]
    status_text: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "lenient_headers")]
    headers: Vec<RawHeader<'a>>,
    #[serde(rename = "_error", deserialize_with = "lenient_string")]
    error: Option<String>,
    #[serde(rename = "_failureText", deserialize_with = "lenient_string")]
    failure_text: Option<String>,
    #[serde(rename = "httpVersion", deserialize_with = "lenient_string")]
    http_version: Option<String>,
    /// The raw head's size (DevTools: the head text as received), for `headsyntax`.
    #[serde(rename = "headersSize", deserialize_with = "lenient_i64")]
    headers_size: Option<i64>,
    /// DevTools: the page's service worker answered (`true`/`false` on every entry).
    #[serde(rename = "_fetchedViaServiceWorker", deserialize_with = "lenient_bool")]
    via_service_worker: Option<bool>,
    #[serde(
        rename = "_serviceWorkerResponseSource",
        deserialize_with = "lenient_string"
    )]
    service_worker_source: Option<String>,
}

#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug))]
#[serde(default)]
struct RawHeader<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug))]
#[serde(default)]
struct RawTimings {
    #[serde(deserialize_with = "lenient_f64")]
    wait: Option<f64>,
}

#[derive(Default)]
#[cfg_attr(test, derive(Debug))]
struct RawInitiator {
    kind: Option<String>,
    url: Option<String>,
}

/// Any JSON value as the lenient fields read it: what `serde_json::Value` would say of it,
/// without building one (a `Value` allocated every string and map it met, for fields read
/// on every entry).
enum Loose<'a> {
    Num(serde_json::Number),
    Str(Cow<'a, str>),
    Bool(bool),
    /// `null`, an array or an object (skipped, never built).
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor(std::marker::PhantomData))
    }
}

struct LooseVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> de::Visitor<'de> for LooseVisitor<'a> {
    type Value = Loose<'a>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Num(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::Num(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // As `Value` does: a non-finite float is `null`.
        Ok(serde_json::Number::from_f64(v).map_or(Loose::Other, Loose::Num))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Loose::deserialize(d)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Loose::Other)
    }
}

impl Loose<'_> {
    fn into_string(self) -> Option<String> {
        match self {
            Loose::Str(s) => Some(s.into_owned()),
            _ => None,
        }
    }
}

/// Reads a map key as its place in `names` (or `None`), without copying it (a `Cow<str>`
/// key is always copied).
struct KeyIn(&'static [&'static str]);

impl<'de> de::DeserializeSeed<'de> for KeyIn {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> de::Visitor<'de> for KeyIn {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|n| *n == v))
    }
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Num(n) => n.as_f64(),
        Loose::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Num(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Loose::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Bool(b) => Some(b),
        Loose::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Str(s) => Some(s.into_owned()),
        Loose::Num(n) => Some(n.to_string()),
        Loose::Bool(b) => Some(b.to_string()),
        Loose::Other => None,
    })
}

fn lenient_initiator<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RawInitiator>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Option<RawInitiator>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any valid JSON value")
        }
        // Every other shape: what `Loose` makes of it (a plain string is a WebPagetest-style
        // initiator URL).
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(RawInitiator {
                kind: None,
                url: Some(v.to_owned()),
            }))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        // An object: its `type` and `url` when they are strings; a key given twice counts
        // the last time, as in a `Value` map.
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut kind, mut url) = (None, None);
            while let Some(key) = map.next_key_seed(KeyIn(&["type", "url"]))? {
                match key {
                    Some(0) => kind = map.next_value::<Loose>()?.into_string(),
                    Some(_) => url = map.next_value::<Loose>()?.into_string(),
                    None => {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
            }
            Ok(Some(RawInitiator { kind, url }))
        }
    }
    d.deserialize_any(V)
}

/// Headers as a list of `{name, value}`; entries of any other shape are skipped.
fn lenient_headers<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<RawHeader<'a>>, D::Error> {
    struct V<'a>(std::marker::PhantomData<&'a ()>);
    impl<'de: 'a, 'a> de::Visitor<'de> for V<'a> {
        type Value = Vec<RawHeader<'a>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of headers")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(h) = seq.next_element::<Option<RawHeaderLoose<'a>>>()? {
                if let Some(RawHeaderLoose::Ok(h)) = h {
                    out.push(h);
                }
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// One element of a `headers` array: a header when it reads as [`RawHeader`] (an object, or an
/// array of at most two, whose `name` and `value` are strings, each once), else dropped.
/// Written out instead of `#[serde(untagged)]`, which first copied every header into serde's
/// buffered `Content` and then read it again (a tenth of a HAR's reading instructions); the
/// result is the same (`loose_headers_read_as_the_untagged_enum_did`).
enum RawHeaderLoose<'a> {
    Ok(RawHeader<'a>),
    Other,
}

/// A `name` or `value`: a string, or anything else (which drops the header).
struct LooseStr<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LooseStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> de::Visitor<'de> for V<'a> {
            type Value = LooseStr<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LooseStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LooseStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LooseStr(Some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(LooseStr(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(LooseStr(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawHeaderLoose<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        /// Both fields read as strings and none twice: the header, with "" for a missing one.
        fn header<'a>(
            name: Option<LooseStr<'a>>,
            value: Option<LooseStr<'a>>,
            ok: bool,
        ) -> RawHeaderLoose<'a> {
            let field = |f: Option<LooseStr<'a>>| match f {
                None => Some(Cow::Borrowed("")),
                Some(LooseStr(s)) => s,
            };
            match (ok, field(name), field(value)) {
                (true, Some(name), Some(value)) => RawHeaderLoose::Ok(RawHeader { name, value }),
                _ => RawHeaderLoose::Other,
            }
        }
        impl<'de: 'a, 'a> de::Visitor<'de> for V<'a> {
            type Value = RawHeaderLoose<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawHeaderLoose::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawHeaderLoose::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawHeaderLoose::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawHeaderLoose::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawHeaderLoose::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawHeaderLoose::Other)
            }
            // A struct reads from an array too: name, then value (missing ones default),
            // and no third element.
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let name = seq.next_element::<LooseStr<'a>>()?;
                let value = match name {
                    Some(_) => seq.next_element::<LooseStr<'a>>()?,
                    None => None,
                };
                let mut ok = true;
                while seq.next_element::<de::IgnoredAny>()?.is_some() {
                    ok = false;
                }
                Ok(header(name, value, ok))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut name, mut value, mut ok) = (None, None, true);
                while let Some(key) = map.next_key_seed(KeyIn(&["name", "value"]))? {
                    let slot = match key {
                        Some(0) => &mut name,
                        Some(_) => &mut value,
                        None => {
                            map.next_value::<de::IgnoredAny>()?;
                            continue;
                        }
                    };
                    let v = map.next_value::<LooseStr<'a>>()?;
                    // A field given twice is an error for the derived reader: no header.
                    ok &= slot.is_none();
                    *slot = Some(v);
                }
                Ok(header(name, value, ok))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// The structural scanner.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Capture {
    None,
    Entry,
    /// A `log.entries` element that is not an object (reported at its first byte).
    NotAnObject,
    Meta(MetaField),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum MetaField {
    Creator,
    Browser,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Frame {
    /// An object; `role` says what its values are (top level, `log`, or anything else).
    Object {
        role: Role,
        expect_key: bool,
    },
    Array {
        role: Role,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Top,
    Log,
    Entries,
    Other,
}

struct Scanner<'o> {
    opts: &'o HarOptions,
    offset: u64,
    stack: Vec<Frame>,
    in_string: bool,
    escape: bool,
    /// Bytes of the current string (only kept when capturing or reading a key).
    string_len: usize,
    string_elided: bool,
    /// The current string is an entry's `"text"` value (a response body in `content`, a
    /// request body in `postData`): nothing reads it, so its bytes are neither copied nor held
    /// to `max_string_bytes` (nothing of it is lost), and the entry is parsed with it empty.
    /// Bodies are most of a HAR's bytes; copying them only for the entry parser to skip them
    /// again was a large share of the reading time.
    string_unused: bool,
    key: Vec<u8>,
    reading_key: bool,
    /// The key whose value comes next, in a role that cares.
    pending_key: Option<Vec<u8>>,
    capture: Capture,
    capture_depth: usize,
    buf: Vec<u8>,
    /// Where the current string's kept bytes start in `buf`.
    string_start: usize,
    /// Byte offset of the current string's opening quote (for limit details).
    string_offset: u64,
    saw_entries: bool,
    entry_start_offset: u64,
    /// Containers open below `max_depth`, followed by counting brackets only.
    deep: u64,
    /// Why the value being captured will be dropped (a limit hit inside it), if it will.
    drop_capture: Option<WarnKind>,
    /// `log.entries` elements started so far (the index of the one being captured is this
    /// minus one).
    entries_started: u64,
    /// Limit events inside captured values, waiting to be moved into `Diagnostics` (the
    /// scanner cannot borrow it): kind, entry index, byte offset.
    limit_events: Vec<(WarnKind, Option<u64>, u64)>,
    limit_counts: Vec<(WarnKind, u64)>,
    /// Inside a `log.entries` element that is a scalar (its first byte was reported).
    in_scalar_entry: bool,
    /// Whether [`Scanner::entry_run`] takes an entry's usual bytes (always, but for the test
    /// that checks it against the byte-by-byte machine).
    fast: bool,
}

/// Reads a HAR stream, calling `emit` for each entry's exchange in time order.
///
/// A HAR is a finite file, not a live stream, and exports list entries in any order (pages
/// newest first, preflights after their request). So reading takes two passes: the first
/// scans the file, parses and checks each entry and keeps an index of (start time, tie-break,
/// entry number, spool offset) per entry, with the entry as parsed in a spool (a flat
/// [`record`], so that no entry's JSON is parsed twice); the second reads the records back in
/// time order and makes them into exchanges.
/// Whatever the file order, the exchanges come out in the same order, so pairing and every
/// verdict after it do not depend on it. Memory: the index (about 40 bytes an entry) plus one
/// entry; the spool lives in a temporary file past [`SPOOL_MEMORY`].
///
/// When reading stops at an error, every complete entry before it is still emitted, then the
/// error is returned.
pub fn read_har(
    reader: Box<dyn BufRead + Send>,
    source: Arc<str>,
    opts: &HarOptions,
    emit: &mut dyn FnMut(Exchange),
    diag: &mut Diagnostics,
) -> Result<HarMeta, HarError> {
    read_har_spooling(reader, source, opts, SPOOL_MEMORY, 1, emit, diag)
}

/// [`read_har`], with the entries' parsing on a thread of its own while the file is scanned
/// when `workers` is more than one.
pub fn read_har_with_workers(
    reader: Box<dyn BufRead + Send>,
    source: Arc<str>,
    opts: &HarOptions,
    workers: usize,
    emit: &mut dyn FnMut(Exchange),
    diag: &mut Diagnostics,
) -> Result<HarMeta, HarError> {
    read_har_spooling(reader, source, opts, SPOOL_MEMORY, workers, emit, diag)
}

/// [`read_har_with_workers`], with the spool moving to a temporary file past `spool_memory`
/// bytes.
fn read_har_spooling(
    reader: Box<dyn BufRead + Send>,
    source: Arc<str>,
    opts: &HarOptions,
    spool_memory: usize,
    workers: usize,
    emit: &mut dyn FnMut(Exchange),
    diag: &mut Diagnostics,
) -> Result<HarMeta, HarError> {
    let mut meta = HarMeta::default();
    let mut index = EntryIndex {
        spool_memory,
        ..EntryIndex::default()
    };
    let first_pass = |entries: &mut entries::Entries| {
        scan(reader, &source, opts, &mut meta, &mut index, entries, diag)
    };
    let scanned = if workers > 1 {
        std::thread::scope(|s| first_pass(&mut entries::Entries::with_worker(s, source.clone())))
    } else {
        first_pass(&mut entries::Entries::here(source.clone()))
    };
    let replayed = index.replay(&source, &mut meta, emit, diag);
    scanned?;
    replayed?;
    Ok(meta)
}

/// The first pass: scans the whole stream, filling `meta` and `index` (every entry taken,
/// also when reading stops at an error).
fn scan(
    reader: Box<dyn BufRead + Send>,
    source: &Arc<str>,
    opts: &HarOptions,
    meta: &mut HarMeta,
    index: &mut EntryIndex,
    entries: &mut entries::Entries,
    diag: &mut Diagnostics,
) -> Result<(), HarError> {
    let scanned = scan_stream(reader, source, opts, meta, index, entries, diag);
    entries.finish(index, meta, diag);
    scanned?;
    match index.error.take() {
        Some(e) => Err(HarError::Spool(e)),
        None => Ok(()),
    }
}

fn scan_stream(
    mut reader: Box<dyn BufRead + Send>,
    source: &Arc<str>,
    opts: &HarOptions,
    meta: &mut HarMeta,
    index: &mut EntryIndex,
    entries: &mut entries::Entries,
    diag: &mut Diagnostics,
) -> Result<(), HarError> {
    let mut sc = Scanner {
        opts,
        offset: 0,
        stack: Vec::new(),
        in_string: false,
        escape: false,
        string_len: 0,
        string_elided: false,
        string_unused: false,
        key: Vec::new(),
        reading_key: false,
        pending_key: None,
        capture: Capture::None,
        capture_depth: 0,
        buf: Vec::new(),
        string_start: 0,
        string_offset: 0,
        saw_entries: false,
        entry_start_offset: 0,
        deep: 0,
        drop_capture: None,
        entries_started: 0,
        limit_events: Vec::new(),
        limit_counts: Vec::new(),
        in_scalar_entry: false,
        fast: entry_runs(),
    };
    let mut started = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(HarError::Io {
                    offset: sc.offset,
                    source,
                })
            }
        };
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        let mut done = |sc: &mut Scanner, cap: Capture, bytes: &[u8], start: u64| {
            handle_capture(sc, cap, bytes, start, source, meta, index, entries, diag)
        };
        let fed = sc.feed(chunk, &mut started, &mut done);
        sc.report_limits(source, diag);
        fed?;
        if let Some(e) = index.error.take() {
            return Err(HarError::Spool(e));
        }
        reader.consume(n);
    }
    if !sc.stack.is_empty() || sc.in_string {
        let (context, entry) = if sc.capture == Capture::Entry {
            ("log.entries", Some(meta.entries))
        } else if sc.saw_entries {
            ("log.entries", None)
        } else {
            ("the HAR header", None)
        };
        return Err(HarError::Truncated {
            offset: sc.offset,
            context,
            entry,
            entries: meta.entries,
        });
    }
    if !sc.saw_entries {
        return Err(HarError::NoEntries { bytes: sc.offset });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The entry index and spool: what the first pass keeps for the second.

/// Spooled entry records kept in memory before they move to a temporary file.
pub(crate) const SPOOL_MEMORY: usize = 8 << 20;

/// One valid entry, as the second pass needs it.
#[derive(Clone, Copy)]
struct Indexed {
    time: Micros,
    /// Orders entries with the same start time by their content ([`tie_break`]), not by their
    /// place in the file, so that a reordered file pairs the same way.
    tie: u64,
    /// The entry's number in `log.entries`.
    entry: u64,
    offset: u64,
    len: u32,
    /// No valid `startedDateTime`: placed at the previous timed entry's start
    /// ([`EntryIndex::last_time`]), or at its partner's where a neighbour in the file is that.
    untimed: bool,
}

/// The index of valid entries and their spooled records ([`record`]), plus what the first
/// pass learned about pages (their document's URL).
#[derive(Default)]
struct EntryIndex {
    entries: Vec<Indexed>,
    /// Spooled records while they fit in `spool_memory` bytes.
    memory: Vec<u8>,
    spool_memory: usize,
    file: Option<io::BufWriter<std::fs::File>>,
    spooled: u64,
    /// The first spool write error; reading stops at it.
    error: Option<io::Error>,
    /// `pageref` → (start time, URL) of the page's earliest document request: the page URL.
    page_urls: HashMap<String, (Micros, String)>,
    /// The smallest `headersSize` excess over plainly written headers in the file (a server's
    /// constant habit), the baseline of `HeadSyntax::unexplained_bytes`.
    head_excess_floor: Option<i64>,
    /// The start of the last entry before this one in the file that had one: an entry without
    /// a valid `startedDateTime` is placed there (or at its partner's, [`Indexed::untimed`]),
    /// among its neighbours in the file (exports list entries in time order), not at time 0
    /// where nothing pairs with it (and a chrome-har preflight left alone reads as a block).
    last_time: Micros,
}

/// What the entry's listed response headers need written plainly (HTTP/1.x only).
fn plain_head_size(r: &RawResponse) -> Option<u64> {
    let pairs = r
        .headers
        .iter()
        .flat_map(|h| h.value.split('\n').map(move |v| (h.name.as_ref(), v)));
    crate::model::headsyntax::har_plain_head_size(r.http_version.as_deref()?, &r.status_text, pairs)
}

/// `headersSize` minus what the listed headers need written plainly. A negative excess
/// (listed headers the size does not hold: chrome-har merges provisional ones) says the size
/// is not that of the head the list came from, so it tells nothing. Nor does a `206`'s:
/// Chromium rewrites a partial response's head (its range handling), and the size is the
/// rewritten one's (recorded: tests/data/probe-httpcache `rg-206-*`, one byte under every
/// other response of the server, whose `Server` value ends in a space; taken as the file's
/// baseline, it made every other response look hand-written). Nor does one with an empty
/// reason phrase: Chromium rebuilds that status line without the space before the phrase and
/// counts that, Firefox counts the line as sent (recorded: tests/data/probe-variants `pfs299`,
/// `HTTP/1.1 299 ` on the wire: one byte under the file's other responses in Chromium's real
/// DevTools export, where as the baseline it left 38 of 42 scenarios undecided for Firefox
/// and Safari; level with them in Firefox's). Dropped for every exporter, not Chromium's
/// alone: the HAR does not show which way its writer counted, and a size that tells nothing
/// only leaves the check undone.
fn head_excess(r: &RawResponse) -> Option<i64> {
    if r.status == Some(206) || r.status_text.is_empty() {
        return None;
    }
    let size = r.headers_size.filter(|s| *s >= 0)?;
    Some(size - i64::try_from(plain_head_size(r)?).ok()?).filter(|x| *x >= 0)
}

/// Whether a `headersSize` is mitmproxy's: its exporter writes
/// `len(str(flow.response.headers))`, the length of the Python text `Headers[(b'Name',
/// b'value'), …]` (mitmproxy 11 `addons/savehar.py`; recorded: tests/data/*/mitmproxy*.har.gz),
/// which tells nothing of the raw lines. Asked only of HARs no browser wrote (a proxy's, under
/// whatever creator name): a browser's own export counts the head, and an exact match there
/// would be chance.
fn python_text_size(r: &RawResponse) -> bool {
    r.headers_size
        .is_some_and(|size| python_headers_text_len(&r.headers, size) == Some(size))
}

/// The length of `str()` of a mitmproxy `Headers` holding `headers` (`Headers[` then each
/// pair as `(b'name', b'value')`, joined by `, `, then `]`: Python's `repr` of each as bytes);
/// `None` when even its unescaped length exceeds `size`. That length outgrows the raw head's
/// by 8 bytes a line less the status line's (a `200 OK` head from 2 lines on, a longer reason
/// phrase from 3 or 4), so most raw heads' sizes are ruled out from the lengths alone, without
/// reading the bytes.
fn python_headers_text_len(headers: &[RawHeader], size: i64) -> Option<i64> {
    // `Headers[` and `]`; per pair `(`, `, `, `)` and two `b''`; `, ` between pairs.
    let frame = |k: usize| 9 + 10 * k as i64 + 2 * k.saturating_sub(1) as i64;
    let plain: i64 = headers
        .iter()
        .map(|h| (h.name.len() + h.value.len()) as i64)
        .sum();
    if frame(headers.len()) + plain > size {
        return None;
    }
    // Python's `repr` of bytes: `\\` and the quote escaped, two bytes each (it quotes with `"`
    // when the bytes hold `'` and no `"`, else with `'`), `\t` `\n` `\r` two bytes, other
    // control and non-ASCII bytes four (`\xNN`).
    let repr = |s: &str| -> i64 {
        let b = s.as_bytes();
        let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
            b'"'
        } else {
            b'\''
        };
        b.iter()
            .map(|&c| match c {
                b'\\' | b'\t' | b'\n' | b'\r' => 2,
                c if c == quote => 2,
                0x20..=0x7e => 1,
                _ => 4,
            })
            .sum()
    };
    Some(
        frame(headers.len())
            + headers
                .iter()
                .map(|h| repr(&h.name) + repr(&h.value))
                .sum::<i64>(),
    )
}

/// A hash of what an entry says (decoded, so `\/` and `/` are the same), to order entries
/// that start at the same time: FNV-1a, stable across runs and platforms.
fn tie_break(raw: &RawEntry) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    // Each field's bytes, then 0xff to end it (looped plainly: through a chained iterator,
    // the end's check was taken at every byte).
    let mut add = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x100_0000_01b3);
    };
    add(raw.request.method.as_bytes());
    add(raw.request.url.as_bytes());
    for x in &raw.request.headers {
        add(x.name.as_bytes());
        add(x.value.as_bytes());
    }
    if let Some(r) = &raw.response {
        add(&r.status.unwrap_or(0).to_le_bytes());
        for x in &r.headers {
            add(x.name.as_bytes());
            add(x.value.as_bytes());
        }
    }
    add(&raw.time.unwrap_or(0.0).to_bits().to_le_bytes());
    add(raw.connection_id.as_deref().unwrap_or("").as_bytes());
    h
}

impl EntryIndex {
    /// Indexes a valid entry: what the first pass learned from it and its spool `record`.
    fn add(
        &mut self,
        entry: u64,
        time: Option<Micros>,
        tie: u64,
        document: Option<(String, String)>,
        head_excess: Option<i64>,
        record: &[u8],
    ) {
        let untimed = time.is_none();
        let time = time.unwrap_or(self.last_time);
        self.last_time = time;
        if let Some((page, url)) = document {
            self.page_document(&page, time, &url);
        }
        if let Some(x) = head_excess {
            let floor = self.head_excess_floor.get_or_insert(x);
            *floor = (*floor).min(x);
        }
        self.push_bytes(time, tie, entry, record);
        if untimed {
            if let Some(last) = self.entries.last_mut().filter(|e| e.entry == entry) {
                last.untimed = true;
            }
        }
    }

    fn push_bytes(&mut self, time: Micros, tie: u64, entry: u64, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let Ok(len) = u32::try_from(bytes.len()) else {
            // Entries are capped far below 4 GiB (`max_entry_bytes`); a larger cap is refused.
            self.error = Some(io::Error::other("entry larger than 4 GiB"));
            return;
        };
        if self.file.is_none() && self.memory.len() + bytes.len() > self.spool_memory {
            match tempfile::tempfile() {
                Ok(f) => {
                    let mut w = io::BufWriter::with_capacity(1 << 20, f);
                    if let Err(e) = io::Write::write_all(&mut w, &self.memory) {
                        self.error = Some(e);
                        return;
                    }
                    self.memory = Vec::new();
                    self.file = Some(w);
                }
                Err(e) => {
                    self.error = Some(io::Error::new(
                        e.kind(),
                        format!("cannot create a temporary file for the entry index: {e}"),
                    ));
                    return;
                }
            }
        }
        let offset = self.spooled;
        match &mut self.file {
            Some(w) => {
                if let Err(e) = io::Write::write_all(w, bytes) {
                    self.error = Some(e);
                    return;
                }
            }
            None => self.memory.extend_from_slice(bytes),
        }
        self.spooled += u64::from(len);
        self.entries.push(Indexed {
            time,
            tie,
            entry,
            offset,
            len,
            untimed: false,
        });
    }

    /// Notes a page's document request (the earliest one of the page wins).
    fn page_document(&mut self, pageref: &str, time: Micros, url: &str) {
        match self.page_urls.get_mut(pageref) {
            Some(p) if (p.0, p.1.as_str()) <= (time, url) => {}
            Some(p) => *p = (time, url.to_owned()),
            None => {
                self.page_urls
                    .insert(pageref.to_owned(), (time, url.to_owned()));
            }
        }
    }

    /// The second pass: every indexed entry, in time order, parsed and emitted.
    fn replay(
        &mut self,
        source: &Arc<str>,
        meta: &mut HarMeta,
        emit: &mut dyn FnMut(Exchange),
        diag: &mut Diagnostics,
    ) -> Result<(), HarError> {
        let mut entries = std::mem::take(&mut self.entries);
        let mut file = match self.file.take() {
            Some(w) => Some(spool::SpoolFile::new(
                w.into_inner()
                    .map_err(|e| HarError::Spool(e.into_error()))?,
            )),
            None => None,
        };
        // `entries` is in file order here. Untimed entries before the file's first timed one
        // took no start (none came before them): they take that one's, as later ones take the
        // start of the timed entry before them (a redirect's next hop listed before its
        // redirect, as an export newest first lists them, sorts after it).
        if let Some(first) = entries.iter().find(|e| !e.untimed).map(|e| e.time) {
            for e in entries.iter_mut().take_while(|e| e.untimed) {
                e.time = first;
            }
        }
        // Where an untimed entry took its place from its neighbours in a file not in time
        // order, the place is a guess: the URLs of such entries (see `Evidence::order_unknown`).
        let mut unplaced: HashSet<String> = HashSet::new();
        if entries.iter().any(|e| e.untimed) && !in_time_order(&entries) {
            for e in entries.iter().filter(|e| e.untimed) {
                let Ok(raw) = record::read(record_at(&self.memory, &mut file, e)?) else {
                    continue;
                };
                // A redirect's next hop is the same request's: its place is as open.
                let target = raw.response.as_ref().and_then(|r| {
                    let redirect = r.status.and_then(|s| u16::try_from(s).ok());
                    let redirect = redirect.is_some_and(crate::model::is_redirect_status);
                    let h = r
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("location"));
                    h.filter(|_| redirect).and_then(|h| {
                        crate::origin::redirect_request_url(&raw.request.url, &h.value)
                    })
                });
                unplaced.extend(target);
                unplaced.insert(raw.request.url.into_owned());
            }
        }
        // An untimed entry whose neighbour in the file is its partner (the preflight of its
        // request, or the request of its preflight) takes that one's start
        // (`Indexed::untimed`).
        for i in 0..entries.len() {
            if !entries[i].untimed {
                continue;
            }
            let Some((method, url)) = method_url(&self.memory, &mut file, &entries[i])? else {
                continue;
            };
            for j in [i.checked_sub(1), i.checked_add(1)].into_iter().flatten() {
                let Some(n) = entries.get(j).copied() else {
                    continue;
                };
                let Some((m, u)) = method_url(&self.memory, &mut file, &n)? else {
                    continue;
                };
                let preflight = |m: &str| m.eq_ignore_ascii_case("OPTIONS");
                if u == url && preflight(&m) != preflight(&method) {
                    // A partner without a start of its own took the same start as this one,
                    // and sorts beside it in file order: the next neighbour, of the same URL,
                    // is another pair's (an export listing a preflight and its request, both
                    // untimed, before the next preflight of the URL).
                    if !n.untimed {
                        entries[i].time = n.time;
                    }
                    break;
                }
            }
        }
        // An untimed entry was sent after the timed one whose start it took (it follows it in
        // the file): it sorts after the timed entries of that start, in file order, not by its
        // content hash among them. (A redirect's next hop without a start, sorted first, was
        // decided alone before its redirect could claim it: `tests/field.rs`
        // `a_redirect_hop_without_a_start_follows_its_redirect`.)
        entries.sort_unstable_by_key(|e| {
            let tie = if e.untimed { e.entry } else { e.tie };
            (e.time, e.untimed, tie, e.entry)
        });
        let pages: HashMap<String, String> = std::mem::take(&mut self.page_urls)
            .into_iter()
            .filter_map(|(id, (_, url))| {
                crate::origin::origin_of(&url)
                    .filter(|o| o.starts_with("http"))
                    .map(|o| (id, o))
            })
            .collect();
        // What made the file, worked out once (the creator's name is lowercased to tell).
        let recorder = Recorder {
            flavour: meta.flavour(),
            browser: meta.browser_name().map(|b| b.id()),
        };
        // The record of the previous entry when the next one starts at the same time with the
        // same content hash: a byte-identical record there is the same request listed twice.
        let mut previous: Option<(Micros, u64, u64, Vec<u8>)> = None;
        // Whether an exchange that did not finish was listed ([`WarnKind::HarFailedLeftOut`]).
        let mut failed_listed = false;
        for (i, e) in entries.iter().enumerate() {
            let bytes = record_at(&self.memory, &mut file, e)?;
            // Sorted by (time, tie): copies of one entry are neighbours. An entry's record holds
            // everything the analysis reads of it but its start (the index's time, compared too),
            // so an equal record is no new evidence; analysed twice, the spare copy pairs with
            // some other exchange (a preflight copy taken as the unanswered preflight of a later
            // request, and a credentials mode deduced from it). Merged or re-exported HARs hold
            // such copies.
            if let Some((time, tie, first, prev)) = &previous {
                if (*time, *tie) == (e.time, e.tie) && prev.as_slice() == bytes {
                    let (dup, first) = (e.entry, *first);
                    diag.warn(WarnKind::HarEntryDuplicate, || {
                        format!("{source}: entry {dup} repeats entry {first} (same start, same content); analysed once")
                    });
                    continue;
                }
            }
            previous = if entries
                .get(i + 1)
                .is_some_and(|n| (n.time, n.tie) == (e.time, e.tie))
            {
                let mut buf = previous.take().map(|p| p.3).unwrap_or_default();
                buf.clear();
                buf.extend_from_slice(bytes);
                Some((e.time, e.tie, e.entry, buf))
            } else {
                None
            };
            // The entry as the first pass parsed it; only a damaged spool fails here.
            match record::read(bytes) {
                Ok(raw) => {
                    let floor = self.head_excess_floor;
                    let mut x = to_exchange(raw, e.entry, e.time, source, recorder, &pages, floor);
                    if !unplaced.is_empty() {
                        let target = x.response.as_ref().and_then(|r| r.location());
                        let target = target
                            .and_then(|l| crate::origin::redirect_request_url(&x.request.url, &l));
                        x.evidence.order_unknown = unplaced.contains(x.request.url.as_str())
                            || target.is_some_and(|t| unplaced.contains(&t));
                    }
                    failed_listed |= x.evidence.error.is_some() || !x.answered();
                    emit(x)
                }
                Err(err) => {
                    meta.skipped_entries += 1;
                    diag.warn(WarnKind::HarEntryInvalid, || {
                        format!(
                            "{source}: entry {}: spool read back damaged: {err}",
                            e.entry
                        )
                    });
                }
            }
        }
        // Web Inspector exports only the requests that finished (WebKit's
        // `NetworkTableContentView._HARResources`; recorded in `tests/data/*/webkit-inspector*`):
        // a blocked request is not in the file, so its absence says nothing. An export that
        // lists a failure was not made that way: no warning.
        if recorder.flavour == Flavour::SafariHar && !failed_listed && !entries.is_empty() {
            diag.warn(WarnKind::HarFailedLeftOut, || {
                format!("{source}: {}", WarnKind::HarFailedLeftOut.doc())
            });
        }
        self.memory = Vec::new();
        Ok(())
    }
}

/// How far back an export's timed entries may go in the file and still be in time order:
/// exports list entries by start, a few milliseconds apart at most where requests start
/// together (chrome-har), under a second in a merged one.
const ORDER_SLACK: Micros = 1_000_000;

/// Whether the timed entries of `entries` (in file order) are in time order, within
/// [`ORDER_SLACK`]: then an untimed entry's neighbours in the file are its neighbours in time.
fn in_time_order(entries: &[Indexed]) -> bool {
    let mut latest = Micros::MIN;
    for e in entries.iter().filter(|e| !e.untimed) {
        if e.time < latest.saturating_sub(ORDER_SLACK) {
            return false;
        }
        latest = latest.max(e.time);
    }
    true
}

/// The method and URL of the indexed entry `e`, read back from the spool (`memory`, or `file`
/// past it); `None` for a record that does not read back (the replay warns of it).
fn method_url(
    memory: &[u8],
    file: &mut Option<spool::SpoolFile>,
    e: &Indexed,
) -> Result<Option<(String, String)>, HarError> {
    Ok(record::read(record_at(memory, file, e)?)
        .ok()
        .map(|raw| (raw.request.method.to_string(), raw.request.url.to_string())))
}

/// The spooled record of the indexed entry `e` (in `memory`, or `file` past it).
fn record_at<'m>(
    memory: &'m [u8],
    file: &'m mut Option<spool::SpoolFile>,
    e: &Indexed,
) -> Result<&'m [u8], HarError> {
    Ok(match file {
        Some(f) => f
            .record(e.offset, e.len as usize)
            .map_err(HarError::Spool)?,
        // Offsets and lengths were taken from `memory` as it was filled.
        None => &memory[e.offset as usize..(e.offset + u64::from(e.len)) as usize],
    })
}

/// Where a string's next quote or backslash is in `rest` (its length if none is): eight
/// bytes at a time over the first words, since most strings (keys, header names and values)
/// are short and memchr's setup cost more than it saved on them (a third of the scanner's
/// instructions); memchr past them, for bodies and other long strings.
fn string_stop(rest: &[u8]) -> usize {
    const SHORT: usize = 64;
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut words = rest.chunks_exact(8);
    let mut at = 0;
    for w in words.by_ref().take(SHORT / 8) {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        // A byte of `x` is zero where `w` has the sought byte; the lowest flagged byte is
        // exact (a false flag can only sit above a true one).
        let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
        let found = zero(w ^ (LO * u64::from(b'"'))) | zero(w ^ (LO * u64::from(b'\\')));
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let tail = &rest[at..];
    let found = if at < SHORT {
        // Fewer than eight bytes left.
        tail.iter().position(|&b| b == b'"' || b == b'\\')
    } else {
        memchr::memchr2(b'"', b'\\', tail)
    };
    found.map_or(rest.len(), |i| at + i)
}

type Done<'d> = dyn FnMut(&mut Scanner, Capture, &[u8], u64) + 'd;

#[cfg(not(test))]
fn entry_runs() -> bool {
    true
}

/// Tests can turn [`Scanner::entry_run`] off (on this thread) to compare.
#[cfg(test)]
fn entry_runs() -> bool {
    tests::ENTRY_RUNS.with(|f| f.get())
}

impl Scanner<'_> {
    fn feed(&mut self, chunk: &[u8], started: &mut bool, done: &mut Done) -> Result<(), HarError> {
        let mut i = 0;
        while i < chunk.len() {
            if self.in_string {
                // Fast path: jump to the next quote or backslash.
                let rest = &chunk[i..];
                let stop = if self.escape { 0 } else { string_stop(rest) };
                if stop > 0 {
                    self.keep_string_bytes(&rest[..stop]);
                    i += stop;
                    self.offset += stop as u64;
                    // A closing quote right after is taken in this same round.
                    if rest.get(stop) != Some(&b'"') {
                        continue;
                    }
                }
                let b = chunk[i];
                if self.escape {
                    self.escape = false;
                    self.keep_string_bytes(&[b]);
                } else if b == b'\\' {
                    self.escape = true;
                    self.keep_string_bytes(&[b]);
                } else {
                    // Closing quote.
                    self.in_string = false;
                    self.end_string();
                }
                i += 1;
                self.offset += 1;
                continue;
            }
            if self.fast && self.in_entry_body() {
                let stop = self.entry_run(chunk, i, done);
                if stop > i {
                    self.offset += (stop - i) as u64;
                    i = stop;
                    continue;
                }
            }
            let b = chunk[i];
            if !*started {
                // Skip a UTF-8 byte-order mark before the document.
                if self.offset < 3 && matches!(b, 0xEF | 0xBB | 0xBF) {
                    i += 1;
                    self.offset += 1;
                    continue;
                }
                if !b.is_ascii_whitespace() {
                    *started = true;
                    if b != b'{' {
                        return Err(self.syntax("`{` to start the HAR document", b));
                    }
                }
            }
            self.structural(b, done)?;
            i += 1;
            self.offset += 1;
        }
        Ok(())
    }

    fn syntax(&self, expected: &'static str, b: u8) -> HarError {
        HarError::Syntax {
            offset: self.offset,
            entry: (self.capture == Capture::Entry).then(|| self.entries_started.saturating_sub(1)),
            expected,
            found: if b.is_ascii_graphic() {
                format!("`{}`", b as char)
            } else {
                format!("byte 0x{b:02x}")
            },
        }
    }

    fn capturing(&self) -> bool {
        self.capture != Capture::None
    }

    /// Inside an entry being captured, between values, with nothing that needs the byte-by-
    /// byte machine (a limit hit, a value past `max_depth`): [`Scanner::entry_run`] applies.
    fn in_entry_body(&self) -> bool {
        self.capture == Capture::Entry
            && !self.in_string
            && self.deep == 0
            && self.drop_capture.is_none()
            && self.stack.len() > self.capture_depth
    }

    /// The byte-by-byte machine's work on an entry's usual bytes, from `chunk[i]`, in runs:
    /// brackets, colons, commas, scalars and whole short strings with no escape (the most
    /// common bytes of an entry) update the state as [`Scanner::structural`] and
    /// [`Scanner::feed`] would, and the bytes they keep are copied a run at a time instead of
    /// one call per byte. It stops before any byte that needs more (whitespace is skipped,
    /// everything else is left to the machine: an escape, a body, a string that crosses the
    /// chunk or passes `max_string_bytes`, a syntax error, a container past `max_depth`) and
    /// after the entry's closing bracket. Returns where it stopped; `self.offset` is left at
    /// `chunk[i]` (the caller adds what was consumed) except while the entry is handed over.
    /// `tests::entry_runs_change_nothing` checks it against the machine alone.
    fn entry_run(&mut self, chunk: &[u8], i: usize, done: &mut Done) -> usize {
        let base = self.offset - i as u64;
        let max_depth = self.opts.max_depth.max(4);
        let mut run = i;
        let mut j = i;
        while j < chunk.len() {
            let b = chunk[j];
            let top = self.stack.last().copied();
            match b {
                b'"' => {
                    let is_key = Self::expects_key(top);
                    // A body is skipped, not kept: the machine's work.
                    if !is_key && self.key == b"text" {
                        break;
                    }
                    let body = &chunk[j + 1..];
                    let len = string_stop(body);
                    if body.get(len) != Some(&b'"') || len > self.opts.max_string_bytes {
                        break;
                    }
                    if is_key {
                        self.key.clear();
                        self.key.extend_from_slice(&body[..len.min(64)]);
                    }
                    j += len + 2;
                    continue;
                }
                b'{' | b'[' => {
                    if Self::expects_key(top) || self.stack.len() >= max_depth {
                        break;
                    }
                    self.stack.push(if b == b'{' {
                        Frame::Object {
                            role: Role::Other,
                            expect_key: true,
                        }
                    } else {
                        Frame::Array { role: Role::Other }
                    });
                }
                b'}' | b']' => {
                    let ok = matches!(
                        (top, b),
                        (Some(Frame::Object { .. }), b'}') | (Some(Frame::Array { .. }), b']')
                    );
                    if !ok {
                        break;
                    }
                    self.stack.pop();
                    self.in_scalar_entry = false;
                    if self.stack.len() == self.capture_depth {
                        // The entry's end: kept with its bracket, then handed over where the
                        // machine hands it over (at the bracket's offset).
                        self.keep(&chunk[run..=j]);
                        self.offset = base + j as u64;
                        self.after_value(done);
                        self.offset = base + i as u64;
                        #[cfg(test)]
                        tests::RUN_BYTES.with(|c| c.set(c.get() + (j + 1 - i)));
                        return j + 1;
                    }
                }
                b':' => match self.stack.last_mut() {
                    Some(Frame::Object { expect_key, .. }) if *expect_key => *expect_key = false,
                    _ => break,
                },
                b',' => {
                    self.in_scalar_entry = false;
                    if let Some(Frame::Object { expect_key, .. }) = self.stack.last_mut() {
                        *expect_key = true;
                    }
                }
                b if b.is_ascii_whitespace() => {
                    // Not kept: what came before it is, and the blanks are passed at once
                    // (exports indent every line).
                    if run < j {
                        self.keep(&chunk[run..j]);
                    }
                    j += 1;
                    while chunk.get(j..j + 8) == Some(b"        ") {
                        j += 8;
                    }
                    while chunk.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    run = j;
                    if self.drop_capture.is_some() {
                        break;
                    }
                    continue;
                }
                // A scalar's byte.
                _ => {
                    if Self::expects_key(top) {
                        break;
                    }
                }
            }
            j += 1;
        }
        self.keep(&chunk[run..j]);
        #[cfg(test)]
        tests::RUN_BYTES.with(|c| c.set(c.get() + (j - i)));
        j
    }

    fn keep_string_bytes(&mut self, bytes: &[u8]) {
        self.string_len = self.string_len.saturating_add(bytes.len());
        if self.reading_key && self.key.len() < 64 {
            let room = 64 - self.key.len();
            self.key.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        // A body is not read, so none of it is lost, however long: a real export's scripts
        // and JSON run past the limit, and a warning for each said data was dropped.
        if !self.capturing() || self.drop_capture.is_some() || self.string_unused {
            return;
        }
        if self.string_len > self.opts.max_string_bytes {
            if !self.string_elided {
                self.string_elided = true;
                self.buf.truncate(self.string_start);
                self.limit_event(WarnKind::LimitHarString, self.string_offset);
            }
            return;
        }
        self.keep(bytes);
    }

    fn end_string(&mut self) {
        self.reading_key = false;
        if self.capturing() {
            self.keep(b"\"");
        }
    }

    /// Appends to the captured value, unless that would pass `max_entry_bytes`: then the
    /// value is marked to be dropped and nothing more is kept, so one value never holds more
    /// than the limit however large it is in the file.
    fn keep(&mut self, bytes: &[u8]) {
        if self.drop_capture.is_some() {
            return;
        }
        if self.buf.len().saturating_add(bytes.len()) > self.opts.max_entry_bytes {
            self.drop_capture = Some(WarnKind::LimitHarEntryBytes);
            self.buf = Vec::new();
            return;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Counts a limit hit inside the value being captured (details for the first few).
    fn limit_event(&mut self, kind: WarnKind, offset: u64) {
        let entry =
            (self.capture == Capture::Entry).then(|| self.entries_started.saturating_sub(1));
        match self.limit_counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.limit_counts.push((kind, 1)),
        }
        if self.limit_events.iter().filter(|e| e.0 == kind).count() < MAX_DETAILS_PER_KIND {
            self.limit_events.push((kind, entry, offset));
        }
    }

    /// Moves the limit events counted so far into `diag`.
    fn report_limits(&mut self, source: &str, diag: &mut Diagnostics) {
        let max_string = self.opts.max_string_bytes;
        for (kind, n) in self.limit_counts.drain(..) {
            let mut detailed = 0;
            for &(_, entry, offset) in self.limit_events.iter().filter(|e| e.0 == kind) {
                detailed += 1;
                // Only `limit-har-string` comes through here (the others skip whole entries
                // and are reported with them).
                diag.warn(kind, || {
                    format!(
                        "{source}: byte {offset}{}: string longer than {max_string} bytes emptied",
                        in_entry(entry)
                    )
                });
            }
            diag.add(kind, n.saturating_sub(detailed));
        }
        self.limit_events.clear();
    }

    /// One byte outside a string: the scanner's state machine. Each kind of byte has its own
    /// stage below.
    fn structural(&mut self, b: u8, done: &mut Done) -> Result<(), HarError> {
        if b.is_ascii_whitespace() {
            return Ok(());
        }
        if self.deep > 0 {
            self.skip_deep(b);
            return Ok(());
        }
        let top = self.stack.last().copied();
        match b {
            b'"' => self.open_string(top, done),
            b'{' | b'[' => return self.open_container(b, top),
            b'}' | b']' => return self.close_container(b, top, done),
            b':' => return self.colon(b),
            b',' => self.comma(b),
            _ => return self.scalar_byte(b, top, done),
        }
        Ok(())
    }

    /// Inside a value nested deeper than `max_depth`: only strings and brackets are followed
    /// (a mismatched bracket in there is not noticed; the value is dropped).
    fn skip_deep(&mut self, b: u8) {
        match b {
            b'"' => {
                self.in_string = true;
                self.escape = false;
                self.string_len = 0;
                self.string_elided = false;
                self.string_unused = false;
            }
            b'{' | b'[' => self.deep += 1,
            b'}' | b']' => self.deep -= 1,
            _ => {}
        }
    }

    /// Whether `top` is an object waiting for a key.
    fn expects_key(top: Option<Frame>) -> bool {
        matches!(
            top,
            Some(Frame::Object {
                expect_key: true,
                ..
            })
        )
    }

    /// A string (a key or a value) starts.
    fn open_string(&mut self, top: Option<Frame>, done: &mut Done) {
        let is_key = Self::expects_key(top);
        self.in_string = true;
        self.escape = false;
        self.string_len = 0;
        self.string_elided = false;
        self.string_unused = !is_key && self.capture == Capture::Entry && self.key == b"text";
        self.string_offset = self.offset;
        if !is_key && !self.capturing() {
            self.scalar_entry(top, done);
        }
        if is_key {
            self.reading_key = true;
            self.key.clear();
        }
        if self.capturing() {
            self.keep(b"\"");
            self.string_start = self.buf.len();
        }
    }

    /// An object or array starts: pushed with its role, or skipped past `max_depth`.
    fn open_container(&mut self, b: u8, top: Option<Frame>) -> Result<(), HarError> {
        if Self::expects_key(top) {
            return Err(self.syntax("a key", b));
        }
        let value_role = self.value_role(top);
        self.begin_value();
        // At least 4: the top object, `log`, `entries` and an entry are always followed.
        if self.stack.len() >= self.opts.max_depth.max(4) {
            self.deep = 1;
            if self.capturing() && self.drop_capture.is_none() {
                self.drop_capture = Some(WarnKind::LimitHarDepth);
                self.buf = Vec::new();
            }
            return Ok(());
        }
        if self.capturing() {
            self.keep(&[b]);
        }
        self.stack.push(if b == b'{' {
            Frame::Object {
                role: value_role,
                expect_key: true,
            }
        } else {
            if value_role == Role::Entries {
                self.saw_entries = true;
            }
            Frame::Array { role: value_role }
        });
        Ok(())
    }

    /// An object or array ends: checked against the open one, and a captured value is done.
    fn close_container(
        &mut self,
        b: u8,
        top: Option<Frame>,
        done: &mut Done,
    ) -> Result<(), HarError> {
        let ok = matches!(
            (top, b),
            (Some(Frame::Object { .. }), b'}') | (Some(Frame::Array { .. }), b']')
        );
        if !ok {
            return Err(self.syntax("a matching close bracket", b));
        }
        self.stack.pop();
        self.in_scalar_entry = false;
        if self.capturing() {
            self.keep(&[b]);
        }
        self.after_value(done);
        Ok(())
    }

    /// A key's colon: the key is remembered where its value's role depends on it.
    fn colon(&mut self, b: u8) -> Result<(), HarError> {
        let Some(Frame::Object { role, expect_key }) = self.stack.last_mut() else {
            return Err(self.syntax("a value", b));
        };
        if !*expect_key {
            return Err(self.syntax("a value", b));
        }
        *expect_key = false;
        if matches!(*role, Role::Top | Role::Log) {
            self.pending_key = Some(self.key.clone());
        }
        if self.capturing() {
            self.keep(&[b]);
        }
        Ok(())
    }

    fn comma(&mut self, b: u8) {
        self.in_scalar_entry = false;
        if let Some(Frame::Object { expect_key, .. }) = self.stack.last_mut() {
            *expect_key = true;
        }
        if self.capturing() {
            self.keep(&[b]);
        }
    }

    /// A byte of a number, true, false or null (each of their bytes comes here and is simply
    /// copied).
    fn scalar_byte(&mut self, b: u8, top: Option<Frame>, done: &mut Done) -> Result<(), HarError> {
        if Self::expects_key(top) {
            return Err(self.syntax("a key", b));
        }
        if top.is_none() {
            return Err(self.syntax("`{`", b));
        }
        if self.capturing() {
            self.keep(&[b]);
        } else {
            self.scalar_entry(top, done);
        }
        Ok(())
    }

    /// A scalar byte outside any captured value: when it starts an element of `log.entries`,
    /// that element is reported (once, at its first byte) so that it is counted.
    fn scalar_entry(&mut self, top: Option<Frame>, done: &mut Done) {
        if top
            == Some(Frame::Array {
                role: Role::Entries,
            })
            && !self.in_scalar_entry
        {
            self.in_scalar_entry = true;
            self.entries_started += 1;
            let at = self.offset;
            done(self, Capture::NotAnObject, &[], at);
        }
    }

    /// The role of a value about to start under `top`.
    fn value_role(&self, top: Option<Frame>) -> Role {
        match top {
            None => Role::Top,
            Some(Frame::Object {
                role: Role::Top, ..
            }) => {
                if self.pending_key.as_deref() == Some(b"log") {
                    Role::Log
                } else {
                    Role::Other
                }
            }
            Some(Frame::Object {
                role: Role::Log, ..
            }) => {
                if self.pending_key.as_deref() == Some(b"entries") {
                    Role::Entries
                } else {
                    Role::Other
                }
            }
            _ => Role::Other,
        }
    }

    /// An object or array starts: begin capturing it if it is an entry or a wanted `log` field.
    /// Scalars are never captured at these levels (an entry that is not an object is skipped).
    fn begin_value(&mut self) {
        if self.capturing() {
            return;
        }
        let top = self.stack.last().copied();
        let cap = match top {
            Some(Frame::Array {
                role: Role::Entries,
            }) => Capture::Entry,
            Some(Frame::Object {
                role: Role::Log, ..
            }) => match self.pending_key.as_deref() {
                Some(b"creator") => Capture::Meta(MetaField::Creator),
                Some(b"browser") => Capture::Meta(MetaField::Browser),
                _ => Capture::None,
            },
            _ => Capture::None,
        };
        if cap != Capture::None {
            self.capture = cap;
            self.capture_depth = self.stack.len();
            self.buf.clear();
            self.entry_start_offset = self.offset;
            self.drop_capture = None;
            if cap == Capture::Entry {
                self.entries_started += 1;
            }
        }
    }

    fn after_value(&mut self, done: &mut Done) {
        if self.capturing() && self.stack.len() == self.capture_depth {
            let cap = self.capture;
            self.capture = Capture::None;
            let bytes = std::mem::take(&mut self.buf);
            let start = self.entry_start_offset;
            done(self, cap, &bytes, start);
            self.buf = bytes;
            self.buf.clear();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn handle_capture(
    sc: &mut Scanner,
    cap: Capture,
    bytes: &[u8],
    start: u64,
    source: &Arc<str>,
    meta: &mut HarMeta,
    index: &mut EntryIndex,
    entries: &mut entries::Entries,
    diag: &mut Diagnostics,
) {
    let dropped = sc.drop_capture.take();
    if cap != Capture::Entry || dropped.is_some() {
        // Everything before this adds to the index, the counts and the warnings first.
        entries.finish(index, meta, diag);
    }
    match cap {
        Capture::NotAnObject => {
            // Counted like any element, so every later entry keeps its true number.
            let entry = meta.entries;
            meta.entries += 1;
            meta.skipped_entries += 1;
            diag.warn(WarnKind::HarEntryInvalid, || {
                format!("{source}: entry {entry} (byte {start}): not an object (null, a number, a string or a boolean); skipped")
            });
        }
        Capture::Entry => {
            let entry = meta.entries;
            meta.entries += 1;
            if let Some(kind) = dropped {
                meta.skipped_entries += 1;
                let limit = sc.opts.max_entry_bytes;
                diag.warn(kind, || {
                    let why = if kind == WarnKind::LimitHarDepth {
                        "nested deeper than the limit".to_owned()
                    } else {
                        format!("more than {limit} bytes after long strings were dropped")
                    };
                    format!("{source}: entry {entry} (byte {start}): {why}; skipped")
                });
                return;
            }
            entries.push(bytes, entry, start, index, meta, diag);
        }
        Capture::Meta(field) => {
            if let Some(kind) = dropped {
                diag.warn(kind, || {
                    format!("{source}: log.{field:?} (byte {start}): over a limit; ignored")
                });
                return;
            }
            #[derive(Deserialize, Default)]
            #[serde(default)]
            struct NameVersion {
                #[serde(deserialize_with = "lenient_string")]
                name: Option<String>,
                #[serde(deserialize_with = "lenient_string")]
                version: Option<String>,
            }
            match field {
                MetaField::Creator | MetaField::Browser => {
                    if let Ok(nv) = serde_json::from_slice::<NameVersion>(bytes) {
                        if field == MetaField::Creator {
                            meta.creator = nv.name;
                            meta.creator_version = nv.version;
                        } else {
                            meta.browser = nv.name;
                            meta.browser_version = nv.version;
                        }
                    }
                }
            }
        }
        Capture::None => {}
    }
}

/// ISO 8601 / RFC 3339 to microseconds since the epoch.
pub(crate) fn parse_time(s: &str) -> Option<Micros> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_micros())
}

/// The first pass's check of an entry: its start time, or `None` (with a warning) when it
/// has no request to analyse.
fn check_entry(
    raw: &RawEntry,
    index: u64,
    source: &Arc<str>,
    diag: &mut Diagnostics,
) -> Option<Option<Micros>> {
    if raw.request.url.is_empty() || raw.request.method.is_empty() {
        diag.warn(WarnKind::HarEntryInvalid, || {
            format!("{source}: entry {index}: no request method or URL")
        });
        return None;
    }
    let time = raw.started.as_deref().and_then(parse_time);
    if time.is_none() {
        diag.warn(WarnKind::HarEntryNoTime, || {
            format!("{source}: entry {index}: missing or invalid startedDateTime")
        });
    }
    Some(time)
}

/// Whether an entry loads a page (its URL is the page's URL): a document by DevTools'
/// resource type, or a navigation by its fetch metadata.
fn is_document(raw: &RawEntry) -> bool {
    if let Some(t) = raw.resource_type.as_deref() {
        return t.eq_ignore_ascii_case("document");
    }
    raw.request.headers.iter().any(|h| {
        (h.name.eq_ignore_ascii_case("sec-fetch-dest") && h.value.eq_ignore_ascii_case("document"))
            || (h.name.eq_ignore_ascii_case("sec-fetch-mode")
                && h.value.eq_ignore_ascii_case("navigate"))
    })
}

/// What recorded the file, as every exchange of it says.
#[derive(Clone, Copy)]
struct Recorder {
    flavour: Flavour,
    /// [`HarMeta::browser_name`]'s id.
    browser: Option<&'static str>,
}

/// An entry that passed [`check_entry`] (starting at `time`) as an exchange. `pages` maps a
/// `pageref` to its page's origin. Stages: the request, the response (with its head's
/// syntax evidence), then the rest of the evidence.
fn to_exchange(
    raw: RawEntry,
    index: u64,
    time: Micros,
    source: &Arc<str>,
    recorder: Recorder,
    pages: &HashMap<String, String>,
    head_excess_floor: Option<i64>,
) -> Exchange {
    let flavour = recorder.flavour;
    let request = request_of(raw.request, flavour);
    let mut evidence = Evidence::of_flavour(flavour);
    let response = match raw.response {
        Some(r) => response_of(r, head_excess_floor, &mut evidence),
        None => {
            evidence.no_response = true;
            None
        }
    };
    evidence.resource_type = raw.resource_type.map(Cow::into_owned);
    if let Some(init) = raw.initiator {
        evidence.initiator_type = init.kind;
        evidence.initiator_url = init.url;
    } else if let Some(t) = raw.initiator_type {
        evidence.initiator_type = Some(t.into_owned());
    }
    // The page's document request, never the page's `title` (free text: DevTools puts the
    // URL there, other tools a document title or another site's URL).
    evidence.page_origin = raw.pageref.as_deref().and_then(|p| pages.get(p)).cloned();
    evidence.page = raw.pageref.as_deref().map(str::to_owned);
    evidence.browser = recorder.browser;
    evidence.from_cache = raw.from_cache.is_some_and(|c| !c.is_empty())
        || matches!(
            raw.fetch_type.as_deref(),
            Some("Memory Cache" | "Disk Cache")
        );
    // Safari names no worker source: the worker answered, from where it does not say.
    if response.is_some() && raw.fetch_type.as_deref() == Some("Service Worker") {
        evidence.service_worker = Some(crate::model::WorkerSource::Unnamed);
    }
    evidence.console = raw.console_message.filter(|c| !c.trim().is_empty());
    evidence.server_ip = raw
        .server_ip
        .filter(|s| !s.is_empty())
        .map(|s| Arc::from(&*s));
    evidence.recording = recording_of(flavour);
    // DevTools writes `_initiator`, `_resourceType` and `_error` (null when none) on every
    // entry: one without the first two lost its `_`-fields (a HAR cleaner, a viewer's re-export),
    // `_error` with them, so a blocked request with an answer reads like any other (the
    // corpus's HAR so stripped: 29 wrong verdicts when read as marking every failure).
    if flavour == Flavour::DevTools
        && evidence.resource_type.is_none()
        && evidence.initiator_type.is_none()
    {
        evidence.recording = OutcomeRecording::MayOmitFailures;
    }
    evidence.cors_error = evidence.error.as_deref().is_some_and(is_cors_error);
    let connection = raw
        .connection_id
        .or(raw.connection)
        .and_then(|c| c.trim().parse::<u64>().ok());
    Exchange {
        loc: crate::model::Location {
            source: source.clone(),
            position: Position::HarEntry(index),
        },
        seq: index,
        time,
        client: source.clone(),
        connection,
        flavour,
        request,
        response,
        timings: Timings {
            total_ms: raw.time.filter(|t| *t >= 0.0),
            wait_ms: raw.timings.and_then(|t| t.wait).filter(|t| *t >= 0.0),
        },
        evidence,
    }
}

/// A listed header list as [`Headers`].
fn listed_headers(list: &[RawHeader]) -> Headers {
    let bytes = list.iter().map(|h| h.name.len() + h.value.len()).sum();
    let mut h = Headers::with_capacity(list.len(), bytes);
    for x in list {
        // HTTP/2 pseudo-headers (`:authority`, …) are not request headers for CORS.
        if x.name.starts_with(':') {
            continue;
        }
        // The DevTools protocol joins repeated header lines with `\n`, and exports built
        // from it (chrome-har, CDP recorders) keep that: each line is its own header.
        if x.value.contains('\n') {
            for line in x.value.split('\n') {
                h.push(x.name.as_bytes(), line.as_bytes());
            }
        } else {
            h.push(x.name.as_bytes(), x.value.as_bytes());
        }
    }
    h
}

/// The entry's request.
fn request_of(raw: RawRequest, flavour: Flavour) -> Request {
    let mut request_headers = raw.headers;
    if flavour == Flavour::ChromeHar {
        // chrome-har merges the provisional and the final header lists, so every request
        // header appears twice; an exact repeat carries no information for CORS.
        let mut seen = std::collections::HashSet::new();
        request_headers.retain(|h| seen.insert((h.name.to_ascii_lowercase(), h.value.clone())));
    }
    Request {
        method: raw.method.into_owned(),
        url: raw.url.into_owned(),
        http_version: crate::model::HttpVersion::parse(&raw.http_version),
        headers: listed_headers(&request_headers),
    }
}

/// The entry's response, or `None` when its status says none came (`evidence.no_response`);
/// notes the failure text and the head's syntax in `evidence`.
fn response_of(
    r: RawResponse,
    head_excess_floor: Option<i64>,
    evidence: &mut Evidence,
) -> Option<Response> {
    let status = r.status.unwrap_or(0);
    if r.via_service_worker == Some(true) {
        let source = r.service_worker_source.as_deref();
        evidence.service_worker = Some(crate::model::WorkerSource::of_devtools(source));
    }
    let excess =
        head_excess(&r).filter(|_| evidence.browser_requests_only || !python_text_size(&r));
    let plain = plain_head_size(&r);
    evidence.error = r
        .error
        .filter(|e| !e.is_empty())
        .or(r.failure_text.filter(|e| !e.is_empty()));
    if status <= 0 || status >= 1000 {
        evidence.no_response = true;
        return None;
    }
    // The head's size: `headersSize`, else at least what the listed headers need.
    let given = plain
        .and(r.headers_size)
        .and_then(|b| u64::try_from(b).ok());
    let mut syntax = crate::model::headsyntax::HeadSyntax {
        bytes: given.or(plain),
        bytes_at_least: given.is_none(),
        unexplained_bytes: excess.zip(head_excess_floor).map(|(x, f)| x - f),
        ..Default::default()
    };
    let mut headers = listed_headers(&r.headers);
    // A name listed with whitespace before where its colon was (`Name : value`). Only a name
    // holding a space or tab can be one: the others are not looked at line by line.
    let spaced = |n: &str| n.bytes().any(|b| b == b' ' || b == b'\t');
    if r.headers.iter().any(|h| spaced(&h.name)) {
        if let Some((trimmed, marked)) = crate::model::headsyntax::trim_listed_names(&headers) {
            headers = trimmed;
            syntax.space_before_colon = marked;
        }
    }
    evidence.head = syntax.is_notable().then(|| Box::new(syntax));
    Some(Response {
        status: status as u16,
        status_text: r.status_text.into_owned(),
        headers,
    })
}

/// How an input of this flavour records outcomes: chrome-har leaves blocked requests out and
/// keeps no failure text; Chromium's DevTools and Playwright keep the browser's failure text
/// on every failed entry (recorded: the corpus, tests/data/probe-*), and so does a Safari HAR
/// that lists failures (`HARBuilder` writes WebKit's text as `_error`; Web Inspector's own
/// "Export" leaves every failed request out, [`WarnKind::HarFailedLeftOut`], so no entry of
/// it is a failure to read).
/// A proxy's HAR lists the answer the server sent, never the browser's check; so does
/// Firefox's export, whose builder (`devtools/client/netmonitor/src/har/har-builder.js` of
/// Firefox 153 ESR, read from its `browser/omni.ja`) writes no failure field at all: status 0
/// where nothing came back, else the status and headers received, blocked or not.
pub(crate) fn recording_of(flavour: Flavour) -> OutcomeRecording {
    match flavour {
        Flavour::Capture => OutcomeRecording::Wire,
        Flavour::ChromeHar => OutcomeRecording::DropsBlocked,
        Flavour::DevTools | Flavour::Playwright | Flavour::SafariHar => {
            OutcomeRecording::WithFailures
        }
        Flavour::FirefoxHar | Flavour::OtherHar => OutcomeRecording::MayOmitFailures,
    }
}

/// Whether a recorded failure text is the browser's CORS failure: Chromium's `ERR_FAILED`,
/// Firefox's `NS_ERROR_DOM_BAD_URI`, text naming CORS or access control, or one of WebKit's
/// CORS messages, which a Safari export gives as `_error` (`Origin … is not allowed by
/// Access-Control-Allow-Origin.`, `Preflight response is not successful.`, `… denied by
/// Cross-Origin Resource Sharing policy …`, `Credentials flag is true, but …`; WebKit
/// `CrossOriginAccessControl.cpp`).
pub(crate) fn is_cors_error(e: &str) -> bool {
    let lower = e.to_ascii_lowercase();
    e.contains("ERR_FAILED")
        || e.contains("NS_ERROR_DOM_BAD_URI")
        || lower.contains("cors")
        || lower.contains("access control")
        || lower.contains("access-control-")
        || lower.contains("cross-origin resource sharing")
        || lower.starts_with("preflight response is not successful")
        || lower.starts_with("credentials flag is true")
}

#[cfg(test)]
mod recording_tests {
    //! Reading the exporter's outcome conventions into the normalised `OutcomeRecording`.
    use super::*;

    #[test]
    fn recording_by_flavour() {
        let cases = [
            (Flavour::DevTools, OutcomeRecording::WithFailures),
            (Flavour::Playwright, OutcomeRecording::WithFailures),
            (Flavour::FirefoxHar, OutcomeRecording::MayOmitFailures),
            (Flavour::SafariHar, OutcomeRecording::WithFailures),
            (Flavour::OtherHar, OutcomeRecording::MayOmitFailures),
            (Flavour::ChromeHar, OutcomeRecording::DropsBlocked),
            (Flavour::Capture, OutcomeRecording::Wire),
        ];
        for (f, want) in cases {
            assert_eq!(recording_of(f), want, "{f:?}");
        }
    }

    #[test]
    fn cors_error_texts() {
        let cases = [
            ("net::ERR_FAILED", true),
            ("NS_ERROR_DOM_BAD_URI", true),
            ("Cross-Origin Request Blocked: CORS header missing", true),
            ("Origin not allowed by access control", true),
            // WebKit's texts, as a Safari export gives them (`_error`).
            (
                "Origin http://app.test:8890 is not allowed by Access-Control-Allow-Origin. Status code: 200",
                true,
            ),
            ("Preflight response is not successful. Status code: 405", true),
            (
                "Credentials flag is true, but Access-Control-Allow-Credentials is not \"true\".",
                true,
            ),
            (
                "Cross-origin redirection to http://b.test/ denied by Cross-Origin Resource Sharing policy: Origin http://a.test is not allowed by Access-Control-Allow-Origin. Status code: 302",
                true,
            ),
            ("Method PATCH is not allowed by Access-Control-Allow-Methods.", true),
            ("net::ERR_ABORTED", false),
            ("net::ERR_CONNECTION_REFUSED", false),
            ("", false),
        ];
        for (e, want) in cases {
            assert_eq!(is_cors_error(e), want, "{e}");
        }
    }
}

#[cfg(test)]
mod loose_header_tests {
    use super::*;
    use proptest::prelude::*;

    /// The reader `RawHeaderLoose` replaced, as the oracle.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Untagged<'a> {
        #[serde(borrow)]
        Ok(RawHeader<'a>),
        Other(de::IgnoredAny),
    }

    type Seen = Result<Vec<Option<(String, String)>>, ()>;

    fn new_way(json: &str) -> Seen {
        let v: Vec<Option<RawHeaderLoose>> = serde_json::from_str(json).map_err(|_| ())?;
        Ok(v.into_iter()
            .map(|h| {
                h.and_then(|h| match h {
                    RawHeaderLoose::Ok(h) => Some((h.name.into_owned(), h.value.into_owned())),
                    RawHeaderLoose::Other => None,
                })
            })
            .collect())
    }

    fn old_way(json: &str) -> Seen {
        let v: Vec<Option<Untagged>> = serde_json::from_str(json).map_err(|_| ())?;
        Ok(v.into_iter()
            .map(|h| {
                h.and_then(|h| match h {
                    Untagged::Ok(h) => Some((h.name.into_owned(), h.value.into_owned())),
                    Untagged::Other(_) => None,
                })
            })
            .collect())
    }

    fn value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            prop_oneof![
                Just("name"),
                Just("value"),
                Just("x"),
                Just("n\\u00e9"),
                Just("")
            ]
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![Just("name"), Just("value"), Just("comment")],
                        inner
                    ),
                    0..4
                )
                .prop_map(|kv| {
                    // Keys may repeat: written by hand, as a map would merge them.
                    let body: Vec<String> =
                        kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    Value::String(format!("{{{}}}", body.join(",")))
                }),
            ]
        })
    }

    /// Every element kind, duplicate keys, escapes and arrays of any length read the same way
    /// as with the untagged enum (`#[serde(untagged)]` buffering).
    #[test]
    fn loose_headers_read_as_the_untagged_enum_did() {
        let fixed = [
            r#"[{"name":"a","value":"b"},{"name":"a"},{},{"value":1},null,"s",3,[],["a"],["a","b"],["a","b","c"],[1,"b"],{"name":"a","name":"b"},{"na\u006de":"x","value":"\"q"},{"name":{"a":1},"value":"v"},{"comment":[1,2],"name":"n","value":"v"}]"#,
        ];
        for json in fixed {
            assert_eq!(new_way(json), old_way(json), "{json}");
        }
        proptest!(|(vs in prop::collection::vec(value(), 0..6))| {
            // Strings that hold an object's text are spliced in raw (duplicate keys).
            let parts: Vec<String> = vs
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) if s.starts_with('{') => s.clone(),
                    v => v.to_string(),
                })
                .collect();
            let json = format!("[{}]", parts.join(","));
            prop_assert_eq!(new_way(&json), old_way(&json), "{}", json);
        });
    }
}

#[cfg(test)]
mod lenient_tests {
    use super::*;
    use proptest::prelude::*;

    /// The lenient readers as they were, through `serde_json::Value`: the oracle.
    mod oracle {
        use super::*;
        use serde_json::Value;
        /// `type` and `url`.
        pub type Initiator = (Option<String>, Option<String>);
        pub fn f64_<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            Ok(match Value::deserialize(d)? {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
        }
        pub fn i64_<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            Ok(match Value::deserialize(d)? {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
        }
        pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
            Ok(match Value::deserialize(d)? {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
        }
        pub fn initiator<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Initiator>, D::Error> {
            Ok(match Value::deserialize(d)? {
                Value::Object(o) => Some((
                    o.get("type").and_then(|v| v.as_str()).map(str::to_owned),
                    o.get("url").and_then(|v| v.as_str()).map(str::to_owned),
                )),
                Value::String(s) => Some((None, Some(s))),
                _ => None,
            })
        }
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Old {
        #[serde(deserialize_with = "oracle::f64_")]
        f: Option<f64>,
        #[serde(deserialize_with = "oracle::i64_")]
        i: Option<i64>,
        #[serde(deserialize_with = "oracle::string")]
        s: Option<String>,
        #[serde(deserialize_with = "oracle::initiator")]
        n: Option<oracle::Initiator>,
    }

    #[derive(Deserialize)]
    struct New {
        #[serde(deserialize_with = "lenient_f64")]
        f: Option<f64>,
        #[serde(deserialize_with = "lenient_i64")]
        i: Option<i64>,
        #[serde(deserialize_with = "lenient_string")]
        s: Option<String>,
        #[serde(deserialize_with = "lenient_initiator")]
        n: Option<RawInitiator>,
    }

    fn both(v: &str) -> (Result<Old, ()>, Result<Old, ()>) {
        let json = format!(r#"{{"f":{v},"i":{v},"s":{v},"n":{v}}}"#);
        let old = serde_json::from_str::<Old>(&json).map_err(|_| ());
        let new = serde_json::from_str::<New>(&json)
            .map_err(|_| ())
            .map(|n| Old {
                f: n.f,
                i: n.i,
                s: n.s,
                n: n.n.map(|i| (i.kind, i.url)),
            });
        (old, new)
    }

    /// Every JSON shape (numbers of each kind and size, padded numeric strings, escapes,
    /// objects with repeated or non-string `type`/`url`) reads as through `Value`.
    #[test]
    fn lenient_fields_read_as_through_value() {
        let fixed = [
            "null",
            "true",
            "false",
            "0",
            "-7",
            "12.5",
            "1e3",
            "-0.0",
            "18446744073709551615",
            "9223372036854775808",
            "-9223372036854775809",
            "1e300",
            r#"" 42 ""#,
            r#""4.5""#,
            r#""x""#,
            r#""\u0031""#,
            "[]",
            "[1,{}]",
            "{}",
            r#"{"type":"script"}"#,
            r#"{"type":"parser","url":"https://a/"}"#,
            r#"{"type":"a","type":1}"#,
            r#"{"type":1,"type":"b"}"#,
            r#"{"t\u0079pe":"c","url":[1]}"#,
            r#"{"stack":{"callFrames":[{"url":"x"}]},"url":"u"}"#,
        ];
        for v in fixed {
            let (old, new) = both(v);
            assert_eq!(old, new, "{v}");
        }
        let scalar = prop_oneof![
            Just("null".to_owned()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| f.to_string()),
            "[ 0-9.eE+-]{0,6}".prop_map(|s| format!("\"{s}\"")),
            prop_oneof![Just("type"), Just("url"), Just("x")].prop_map(|s| format!("\"{s}\"")),
        ];
        let value = scalar.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(
                    (prop_oneof![Just("type"), Just("url"), Just("y")], inner),
                    0..4
                )
                .prop_map(|kv| {
                    let body: Vec<String> =
                        kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        });
        proptest!(|(v in value)| {
            let (old, new) = both(&v);
            prop_assert_eq!(old, new, "{}", v);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Result<HarMeta, HarError>, Vec<Exchange>, Diagnostics) {
        read_opts(text, &HarOptions::default())
    }

    fn read_opts(
        text: &str,
        opts: &HarOptions,
    ) -> (Result<HarMeta, HarError>, Vec<Exchange>, Diagnostics) {
        let mut out = Vec::new();
        let mut diag = Diagnostics::new();
        let r = read_har(
            Box::new(io::Cursor::new(text.as_bytes().to_vec())),
            Arc::from("t.har"),
            opts,
            &mut |x| out.push(x),
            &mut diag,
        );
        (r, out, diag)
    }

    const ONE: &str = r#"{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},
      "pages":[{"id":"page_1","title":"http://app.test:8080/page"}],
      "entries":[{"pageref":"page_1","startedDateTime":"2026-11-24T19:46:40.313Z","time":3.5,
        "request":{"method":"GET","url":"http://api.test/r","httpVersion":"HTTP/1.1",
          "headers":[{"name":"Origin","value":"http://app.test:8080"},{"name":":authority","value":"x"}]},
        "response":{"status":200,"statusText":"OK","headers":[{"name":"ACCESS-CONTROL-ALLOW-ORIGIN","value":"*"}],
          "content":{"size":5,"text":"aGVsbG8=\"\\"},"_error":"net::ERR_FAILED"},
        "_resourceType":"fetch","_initiator":{"type":"script","stack":{"callFrames":[]}},"_connectionId":"61",
        "timings":{"wait":1.25}}]}}"#;

    /// A DevTools entry without the `_`-fields DevTools always writes lost its `_error` with
    /// them: its answer is no proof that the browser's check passed.
    #[test]
    fn stripped_devtools_entries_may_omit_failures() {
        let stripped = ONE
            .replace(r#""_resourceType":"fetch","#, "")
            .replace(
                r#""_initiator":{"type":"script","stack":{"callFrames":[]}},"#,
                "",
            )
            .replace(r#","_error":"net::ERR_FAILED""#, "");
        assert_ne!(stripped, ONE);
        let (r, out, _) = read(&stripped);
        assert_eq!(r.unwrap().flavour(), Flavour::DevTools);
        assert_eq!(out[0].evidence.recording, OutcomeRecording::MayOmitFailures);
        assert_eq!(out[0].evidence.error, None);
    }

    #[test]
    fn reads_devtools_entry() {
        let (r, out, _) = read(ONE);
        let meta = r.unwrap();
        assert_eq!(meta.flavour(), Flavour::DevTools);
        assert_eq!(out.len(), 1);
        let x = &out[0];
        assert_eq!(x.request.method, "GET");
        assert_eq!(x.request.headers.len(), 1, "pseudo-headers dropped");
        assert_eq!(
            x.response
                .as_ref()
                .unwrap()
                .headers
                .get_str("access-control-allow-origin")
                .unwrap(),
            "*"
        );
        assert_eq!(x.evidence.error.as_deref(), Some("net::ERR_FAILED"));
        assert!(
            x.evidence.cors_error,
            "ERR_FAILED is read as the CORS failure"
        );
        assert_eq!(x.evidence.recording, OutcomeRecording::WithFailures);
        // The page's title is free text, never its origin; no document entry, no page origin.
        assert_eq!(x.evidence.page_origin, None);
        assert_eq!(x.evidence.initiator_type.as_deref(), Some("script"));
        assert_eq!(x.connection, Some(61));
        assert_eq!(x.timings.wait_ms, Some(1.25));
        assert_eq!(x.time, parse_time("2026-11-24T19:46:40.313Z").unwrap());
    }

    #[test]
    fn every_split_of_the_stream_gives_the_same_result() {
        // Feed one byte at a time through a tiny BufReader.
        let mut out = Vec::new();
        let mut diag = Diagnostics::new();
        let r = read_har(
            Box::new(io::BufReader::with_capacity(
                1,
                io::Cursor::new(ONE.as_bytes().to_vec()),
            )),
            Arc::from("t.har"),
            &HarOptions::default(),
            &mut |x| out.push(x),
            &mut diag,
        );
        assert!(r.is_ok());
        let (_, whole, _) = read(ONE);
        assert_eq!(out, whole);
    }

    #[test]
    fn long_strings_are_dropped_not_kept() {
        let body = "A".repeat(200_000);
        let text = ONE.replace("aGVsbG8=", &body);
        let (r, out, _) = read(&text);
        assert!(r.is_ok());
        assert_eq!(out.len(), 1);
        let small = HarOptions {
            max_string_bytes: 4,
            ..HarOptions::default()
        };
        // With a 4-byte limit the URL is emptied too, so the entry is skipped and counted.
        let (r, out, diag) = read_opts(ONE, &small);
        assert_eq!(r.unwrap().skipped_entries, 1);
        assert!(out.is_empty());
        assert_eq!(diag.count(WarnKind::HarEntryInvalid), 1);
        // A body is never read, so its length loses nothing and is not counted; a kept
        // string over the limit is, once per string.
        let (_, _, diag) = read(&text);
        assert_eq!(diag.count(WarnKind::LimitHarString), 0);
        let long_url = ONE.replace(
            "http://api.test/r",
            &format!("http://api.test/r?{}", "a".repeat(70_000)),
        );
        let (_, _, diag) = read(&long_url);
        assert_eq!(diag.count(WarnKind::LimitHarString), 1);
        assert!(diag.details(WarnKind::LimitHarString)[0].contains("in entry 0"));
        // With a 4-byte limit every longer string of the entry and of `log.creator` counts.
        assert!(read_opts(ONE, &small).2.count(WarnKind::LimitHarString) > 10);
    }

    /// Two copies of `ONE`'s entry with `middle` (an entry's text) between them; the second
    /// copy a millisecond later (a copy at the same time is the same entry listed twice).
    fn three_entries(middle: &str) -> String {
        let entry = &ONE[ONE.find("{\"pageref").unwrap()..ONE.len() - 3];
        let head = &ONE[..ONE.find("{\"pageref").unwrap()];
        let later = entry.replace("40.313Z", "40.314Z");
        format!("{head}{entry},{middle},{later}]}}}}")
    }

    #[test]
    fn an_entry_listed_twice_is_read_once() {
        let entry = &ONE[ONE.find("{\"pageref").unwrap()..ONE.len() - 3];
        let head = &ONE[..ONE.find("{\"pageref").unwrap()];
        // Three copies (the third apart from the first two) and one a millisecond later.
        let later = entry.replace("40.313Z", "40.314Z");
        let text = format!("{head}{entry},{entry},{later},{entry}]}}}}");
        let (r, out, diag) = read(&text);
        assert!(r.is_ok(), "{r:?}");
        let entries: Vec<_> = out.iter().map(|x| x.loc.position).collect();
        assert_eq!(
            entries,
            [Position::HarEntry(0), Position::HarEntry(2)],
            "the first copy is kept"
        );
        assert_eq!(diag.count(WarnKind::HarEntryDuplicate), 2);
        assert!(diag.details(WarnKind::HarEntryDuplicate)[0].contains("entry 1 repeats entry 0"));
    }

    #[test]
    fn entry_over_the_byte_limit_is_skipped_and_counted() {
        let small = HarOptions {
            max_entry_bytes: 2000,
            ..HarOptions::default()
        };
        // Many short strings: nothing is dropped for length, the entry grows past the limit.
        let many = vec!["\"ab\""; 2000].join(",");
        let text = three_entries(&format!("{{\"request\":{{\"x\":[{many}]}}}}"));
        let (r, out, diag) = read_opts(&text, &small);
        let meta = r.unwrap();
        assert_eq!((meta.entries, meta.skipped_entries), (3, 1));
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1].loc.position,
            Position::HarEntry(2),
            "indexes keep counting"
        );
        assert_eq!(diag.count(WarnKind::LimitHarEntryBytes), 1);
        assert!(diag.details(WarnKind::LimitHarEntryBytes)[0].contains("entry 1"));
    }

    #[test]
    fn nesting_past_the_depth_limit_skips_the_entry_not_the_file() {
        let deep = format!("{}\"]\"{}", "[".repeat(500), "]".repeat(500));
        let text = three_entries(&format!("{{\"request\":{{\"x\":{deep}}}}}"));
        let (r, out, diag) = read(&text);
        let meta = r.unwrap();
        assert_eq!((meta.entries, meta.skipped_entries), (3, 1));
        assert_eq!(out.len(), 2);
        assert_eq!(diag.count(WarnKind::LimitHarDepth), 1);
        // Outside the entries, deep nesting is simply skipped.
        let text = ONE.replacen("\"version\":\"1.2\"", &format!("\"version\":{deep}"), 1);
        let (r, out, diag) = read(&text);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(out.len(), 1);
        assert_eq!(diag.count(WarnKind::LimitHarDepth), 0);
        // A stream of `[` never grows the stack: it ends as a truncation.
        let text = format!("{{\"log\":{{\"entries\":[{}", "[".repeat(100_000));
        assert!(matches!(read(&text).0, Err(HarError::Truncated { .. })));
    }

    #[test]
    fn errors_name_the_entry() {
        let text = three_entries("{\"request\":{\"url\" 1}}");
        let e = read(&text).0.unwrap_err();
        assert!(
            matches!(e, HarError::Syntax { entry: Some(1), .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("in entry 1"), "{e}");
        let cut = &text[..text.find("{\"request\":{\"url\" 1").unwrap() + 5];
        let e = read(cut).0.unwrap_err();
        assert!(
            matches!(
                e,
                HarError::Truncated {
                    entry: Some(1),
                    entries: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("in entry 1"), "{e}");
    }

    #[test]
    fn truncated_file_keeps_complete_entries() {
        let two = ONE.replace("}]}}", "},")
            + &ONE[ONE.find("{\"pageref").unwrap()..].replace("40.313Z", "40.314Z");
        let (r, out, _) = read(&two);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(out.len(), 2);
        let cut = &two[..two.len() - 40];
        let (r, out, _) = read(cut);
        assert!(
            matches!(r, Err(HarError::Truncated { entries: 1, .. })),
            "{r:?}"
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn playwright_failure_and_quirks() {
        let text = r#"{"log":{"creator":{"name":"Playwright","version":"1.65.1"},"entries":[
          {"startedDateTime":"2026-11-24T19:46:40.313+01:00","request":{"method":"PUT","url":"http://a/x","headers":[{"name":"X","value":null},{"bad":1}]},
           "response":{"status":-1,"headers":[],"_failureText":"net::ERR_FAILED"},"time":null}]}}"#;
        let (r, out, _) = read(text);
        assert_eq!(r.unwrap().flavour(), Flavour::Playwright);
        assert_eq!(out.len(), 1);
        assert!(out[0].response.is_none());
        assert!(out[0].evidence.no_response);
        assert_eq!(out[0].evidence.error.as_deref(), Some("net::ERR_FAILED"));
    }

    /// mitmproxy's `headersSize` is `len(str(headers))` of its `Headers` object; the lengths
    /// below are Python's (mitmproxy 11.0.2), escapes and quote choice included.
    #[test]
    fn mitmproxy_headers_text_length_is_pythons() {
        let h = |pairs: &[(&'static str, &'static str)]| -> Vec<RawHeader<'static>> {
            pairs
                .iter()
                .map(|&(n, v)| RawHeader {
                    name: n.into(),
                    value: v.into(),
                })
                .collect()
        };
        let cases: [(&[(&str, &str)], i64); 7] = [
            (&[], 9),
            (
                &[
                    ("Server", "cors-probe/1"),
                    ("Date", "Sat, 05 Dec 2026 06:18:34 GMT"),
                ],
                82,
            ),
            (&[("X-Q", "it's")], 26),
            (&[("X-Q", "a'b\"c")], 28),
            (&[("X-B", "a\\b")], 26),
            (&[("X-U", "caf\u{e9}")], 33),
            (&[("X-T", "a\tb")], 26),
        ];
        for (pairs, want) in cases {
            let headers = h(pairs);
            assert_eq!(
                python_headers_text_len(&headers, want),
                Some(want),
                "{pairs:?}"
            );
            // A smaller size rules it out; a raw head's size is smaller still.
            if !pairs.is_empty() {
                assert_eq!(python_headers_text_len(&headers, 10), None, "{pairs:?}");
            }
        }
    }

    /// Safari's `_fetchType` says where an answer came from (WebKit's `HARBuilder.fetchType`):
    /// the HTTP cache, or a service worker (which Safari does not name further).
    #[test]
    fn safari_fetch_type_marks_cache_and_service_worker_answers() {
        use crate::model::WorkerSource;
        let cases = [
            ("Network Load", false, None),
            ("Memory Cache", true, None),
            ("Disk Cache", true, None),
            ("Service Worker", false, Some(WorkerSource::Unnamed)),
            ("Inspector Override", false, None),
        ];
        for (kind, cached, worker) in cases {
            let text = ONE
                .replace("\"WebInspector\"", "\"WebKit Web Inspector\"")
                .replace(",\"_error\":\"net::ERR_FAILED\"", "")
                .replace(
                    "\"_resourceType\"",
                    &format!("\"_fetchType\":{kind:?},\"_resourceType\""),
                );
            let (meta, out, diag) = read(&text);
            assert!(meta.is_ok(), "{kind}");
            assert_eq!(out.len(), 1, "{kind}");
            let e = &out[0].evidence;
            assert_eq!((e.from_cache, e.service_worker), (cached, worker), "{kind}");
            // Nothing failed in it: the export left out what did (`HarFailedLeftOut`).
            assert_eq!(diag.count(WarnKind::HarFailedLeftOut), 1, "{kind}");
        }
        // A Safari export that lists a failure is not told so; nor is any other browser's.
        for text in [
            ONE.replace("\"WebInspector\"", "\"WebKit Web Inspector\""),
            ONE.replace(",\"_error\":\"net::ERR_FAILED\"", ""),
        ] {
            assert_eq!(read(&text).2.count(WarnKind::HarFailedLeftOut), 0);
        }
    }

    /// `ONE`'s entry with its start time and URL replaced.
    fn entry_at(time: &str, url: &str) -> String {
        let entry = &ONE[ONE.find("{\"pageref").unwrap()..ONE.len() - 3];
        entry
            .replace("2026-11-24T19:46:40.313Z", time)
            .replace("http://api.test/r", url)
    }

    fn har_of(entries: &[String]) -> String {
        let head = &ONE[..ONE.find("{\"pageref").unwrap()];
        format!("{head}{}]}}}}", entries.join(","))
    }

    #[test]
    fn entries_come_out_in_time_order_whatever_the_file_order() {
        let a = entry_at("2026-11-24T19:46:40.100Z", "http://api.test/a");
        let b = entry_at("2026-11-24T19:46:40.200Z", "http://api.test/b");
        let c = entry_at("2026-11-24T19:46:40.300Z", "http://api.test/c");
        let urls = |text: &str| -> Vec<(String, Position)> {
            read(text)
                .1
                .into_iter()
                .map(|x| (x.request.url, x.loc.position))
                .collect()
        };
        let forward = urls(&har_of(&[a.clone(), b.clone(), c.clone()]));
        let reversed = urls(&har_of(&[c, b, a]));
        let names: Vec<&str> = reversed.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(
            names,
            [
                "http://api.test/a",
                "http://api.test/b",
                "http://api.test/c"
            ]
        );
        // Each keeps its own entry number.
        assert_eq!(forward[0].1, Position::HarEntry(0));
        assert_eq!(reversed[0].1, Position::HarEntry(2));
    }

    /// An export is in time order when its timed entries never go back more than a second
    /// in the file (chrome-har lists requests started together a few ms apart); untimed
    /// entries do not count.
    #[test]
    fn an_export_in_time_order_allows_small_steps_back() {
        let at = |secs: &[Option<f64>]| -> Vec<Indexed> {
            secs.iter()
                .enumerate()
                .map(|(i, t)| Indexed {
                    time: t.map_or(0, |t| (t * 1e6) as Micros),
                    tie: 0,
                    entry: i as u64,
                    offset: 0,
                    len: 0,
                    untimed: t.is_none(),
                })
                .collect()
        };
        let cases: [(&[Option<f64>], bool); 6] = [
            (&[], true),
            (&[Some(1.0), Some(2.0), Some(3.0)], true),
            (&[Some(1.0), Some(0.996), Some(3.0)], true),
            (&[Some(5.0), Some(1.0), Some(6.0)], false),
            (&[Some(5.0), None, Some(6.0)], true),
            (&[Some(3.0), Some(9.0), None, Some(2.0)], false),
        ];
        for (secs, want) in cases {
            assert_eq!(in_time_order(&at(secs)), want, "{secs:?}");
        }
    }

    #[test]
    fn page_origin_comes_from_the_page_document_not_the_title() {
        let doc = entry_at("2026-11-24T19:46:40.000Z", "http://page.test:9000/app").replace(
            "\"_resourceType\":\"fetch\"",
            "\"_resourceType\":\"Document\"",
        );
        let xhr = entry_at("2026-11-24T19:46:40.500Z", "http://api.test/x");
        // The document is listed after the request it is the page of.
        let (_, out, _) = read(&har_of(&[xhr, doc]));
        assert_eq!(
            out[1].evidence.page_origin.as_deref(),
            Some("http://page.test:9000")
        );
    }

    /// Issue 18.4: every element of `log.entries` is counted, so later numbers stay true.
    #[test]
    fn scalar_entries_are_counted_and_warned_about() {
        let e = entry_at("2026-11-24T19:46:40.100Z", "http://api.test/a");
        let text = har_of(&[
            "null".into(),
            "12.5e3".into(),
            "\"a, b ] }\"".into(),
            "true".into(),
            e,
            "false".into(),
        ]);
        let (r, out, diag) = read(&text);
        let meta = r.unwrap();
        assert_eq!((meta.entries, meta.skipped_entries), (6, 5));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].loc.position, Position::HarEntry(4));
        assert_eq!(diag.count(WarnKind::HarEntryInvalid), 5);
        assert!(diag.details(WarnKind::HarEntryInvalid)[1].contains("entry 1"));
    }

    #[test]
    fn large_inputs_spool_to_a_file_and_read_back_the_same() {
        let n = 300;
        let entries: Vec<String> = (0..n)
            .rev()
            .map(|i| {
                entry_at(
                    &format!(
                        "2026-11-24T19:{:02}:{:02}.{:03}Z",
                        i / 60_000 % 60,
                        i / 1000 % 60,
                        i % 1000
                    ),
                    &format!("http://api.test/{i}"),
                )
            })
            .collect();
        let text = har_of(&entries);
        let (r, out, _) = read(&text);
        assert_eq!(r.unwrap().entries, n as u64);
        assert_eq!(out.len(), n);
        assert!(out.windows(2).all(|w| w[0].time <= w[1].time));
        assert_eq!(out[0].request.url, "http://api.test/0");
        // A spool limit of a few records: most of them go through the temporary file.
        let mut spooled = Vec::new();
        let r = read_har_spooling(
            Box::new(io::Cursor::new(text.into_bytes())),
            Arc::from("t.har"),
            &HarOptions::default(),
            4096,
            1,
            &mut |x| spooled.push(x),
            &mut Diagnostics::new(),
        );
        assert_eq!(r.unwrap().entries, n as u64);
        assert_eq!(format!("{spooled:?}"), format!("{out:?}"));
    }

    /// The word-at-a-time search finds what a plain search finds, at every length and place.
    #[test]
    fn string_stop_finds_the_first_quote_or_backslash() {
        use proptest::prelude::*;
        let plain = |r: &[u8]| {
            r.iter()
                .position(|&b| b == b'"' || b == b'\\')
                .unwrap_or(r.len())
        };
        for n in 0..150 {
            for at in 0..=n {
                for stop in [b'"', b'\\'] {
                    let mut r = vec![b'a'; n];
                    if at < n {
                        r[at] = stop;
                    }
                    assert_eq!(string_stop(&r), plain(&r), "{n} {at}");
                }
            }
        }
        proptest!(|(r in prop::collection::vec(prop_oneof![Just(b'"'), Just(b'\\'), Just(0x22 ^ 0x80), Just(0x5c + 1), any::<u8>()], 0..200))| {
            prop_assert_eq!(string_stop(&r), plain(&r));
        });
    }

    thread_local! {
        pub(super) static ENTRY_RUNS: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
        /// Bytes the entry runs took (so the comparison below is known to have used them).
        pub(super) static RUN_BYTES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// Everything the reader says, read through `chunk`-byte reads, with the entry runs on or
    /// off.
    fn read_chunked(text: &[u8], opts: &HarOptions, chunk: usize, runs: bool) -> String {
        ENTRY_RUNS.with(|f| f.set(runs));
        let mut out = Vec::new();
        let mut diag = Diagnostics::new();
        let r = read_har_spooling(
            Box::new(io::BufReader::with_capacity(
                chunk,
                io::Cursor::new(text.to_vec()),
            )),
            Arc::from("t.har"),
            opts,
            SPOOL_MEMORY,
            1,
            &mut |x| out.push(x),
            &mut diag,
        );
        ENTRY_RUNS.with(|f| f.set(true));
        let r = r.map_err(|e| e.to_string());
        format!("{r:?}\n{out:?}\n{diag:?}")
    }

    /// The entry runs change nothing the reader says: the same exchanges, counts, warnings and
    /// errors as the byte-by-byte machine alone, on entries of every shape (escapes, bodies,
    /// long strings, deep values, whitespace, scalars, damaged bytes), read in chunks of any
    /// size, with small limits.
    #[test]
    fn entry_runs_change_nothing() {
        use proptest::prelude::*;
        let base: Vec<String> = (0..6)
            .map(|i| {
                let t = format!("2026-11-24T19:00:0{i}.000Z");
                let e = entry_at(&t, &format!("http://api{i}.test/x?a=\\u0041{i}"));
                match i % 3 {
                    0 => e.replace("aGVsbG8=", "a\\\"b"),
                    1 => e.replace(",", " ,\n            ").replace(":", " : "),
                    _ => e.replace("\"wait\":1.25", "\"wait\":[[[[[[[[[[1]]]]]]]]]],\"x\":true"),
                }
            })
            .collect();
        let text = har_of(&base).into_bytes();
        RUN_BYTES.with(|c| c.set(0));
        read_chunked(&text, &HarOptions::default(), 1 << 16, true);
        let taken = RUN_BYTES.with(|c| c.get());
        assert!(
            taken > text.len() / 2,
            "runs took {taken} of {} bytes",
            text.len()
        );
        let limits = [
            HarOptions::default(),
            HarOptions {
                max_string_bytes: 20,
                max_entry_bytes: 600,
                max_depth: 9,
            },
        ];
        proptest!(|(edits in prop::collection::vec((0usize..4096, prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b'['), Just(b']'),
                Just(b':'), Just(b','), Just(b' '), Just(b'\n'), Just(b'7'), any::<u8>()
            ], 0..3usize), 0..4),
            chunk in prop_oneof![Just(1usize << 16), 1usize..64],
            which in 0usize..2)| {
            let mut t = text.clone();
            for (at, b, how) in edits {
                let at = at % t.len();
                match how {
                    0 => t[at] = b,
                    1 => t.insert(at, b),
                    _ => { t.remove(at); }
                }
            }
            let opts = &limits[which];
            prop_assert_eq!(read_chunked(&t, opts, chunk, true), read_chunked(&t, opts, chunk, false));
        });
    }

    /// Everything the reader says (exchanges, counts, warnings in order, the error) as text.
    fn read_with(text: &str, opts: &HarOptions, workers: usize, spool: usize) -> String {
        let mut out = Vec::new();
        let mut diag = Diagnostics::new();
        let r = read_har_spooling(
            Box::new(io::Cursor::new(text.as_bytes().to_vec())),
            Arc::from("t.har"),
            opts,
            spool,
            workers,
            &mut |x| out.push(x),
            &mut diag,
        );
        let r = r.map_err(|e| e.to_string());
        format!("{r:?}\n{out:?}\n{diag:?}")
    }

    /// Entries parsed on a worker thread, in batches, give what the scanner's thread gives:
    /// the same exchanges, counts and warnings in the same order (valid, invalid, timeless,
    /// scalar, too deep and long-string entries mixed over many batches), also when the
    /// file is cut or the spool goes to a file.
    #[test]
    fn a_worker_thread_reads_the_same_as_the_scanner_thread() {
        let kinds = |i: usize| -> String {
            let t = format!(
                "2026-11-24T19:{:02}:{:02}.{:03}Z",
                i / 60_000 % 60,
                i / 1000 % 60,
                (i * 7919) % 1000
            );
            let e = entry_at(&t, &format!("http://api{}.test/{i}", i % 13));
            match i % 11 {
                0 => e.replace("\"method\":\"GET\"", "\"method\":\"\""),
                1 => e.replace(&t, "yesterday"),
                // Rare, so that batches also fill up between them.
                2 if i % 1000 < 11 => "null".into(),
                3 => e.replace("\"time\":3.5", "\"time\":3.5,\"request\":7"),
                4 => e.replace("\"wait\":1.25", "\"wait\":[[[[[[[[[[1]]]]]]]]]]"),
                5 => e.replace("aGVsbG8=", &"x".repeat(300)),
                6 => e.replace(
                    "\"_resourceType\":\"fetch\"",
                    "\"_resourceType\":\"document\"",
                ),
                _ => e,
            }
        };
        let entries: Vec<String> = (0..2500).map(kinds).collect();
        let text = har_of(&entries);
        let small = HarOptions {
            max_string_bytes: 200,
            max_entry_bytes: 1 << 20,
            max_depth: 12,
        };
        let cut = &text[..text.len() * 2 / 3];
        for opts in [&HarOptions::default(), &small] {
            for t in [text.as_str(), cut] {
                for spool in [SPOOL_MEMORY, 4096] {
                    let here = read_with(t, opts, 1, spool);
                    assert!(here.contains("HarEntryInvalid"));
                    assert_eq!(here, read_with(t, opts, 2, spool));
                }
            }
        }
    }

    #[test]
    fn not_a_har() {
        assert!(matches!(read("[1,2]").0, Err(HarError::Syntax { .. })));
        assert!(matches!(
            read("{\"a\":1}").0,
            Err(HarError::NoEntries { bytes: 7 })
        ));
        assert!(matches!(
            read("{\"log\":{\"entries\":[{]}}").0,
            Err(HarError::Syntax { .. })
        ));
    }
}
