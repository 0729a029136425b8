//! Sharding a HAR (`corscope split` on a HAR): its pages into N HAR files by a stable hash,
//! only where that cannot change a verdict.
//!
//! A HAR is one browser: its preflight cache, cookie jar and pairing buffers are shared by
//! all its pages. Split by page alone, a preflight cached by one page and used by another,
//! or a cookie set in one page that decides another page's credentials mode, would end up in
//! different shards and the verdicts would change. So pages are not split one by one but by
//! the groups they cannot be separated into, which are exact:
//! - a page is one unit (its document entry gives all its entries their page origin); an
//!   entry without a `pageref` is a unit of its own;
//! - units are joined when they request the same host, or one's redirect goes to the other's
//!   host: preflight-cache keys, pairing keys and redirect chains are all (client, URL), and
//!   host-only cookies are per host;
//! - hosts are joined when a cookie set with a `Domain` attribute covers both;
//! - state bounded by a capacity is shared by everything: past the smallest preflight cache
//!   (100 entries, Firefox's profile) or the cookie jar's cap, which entry is evicted depends
//!   on every page. Each visible preflight (an `OPTIONS` entry) adds at most one cache entry
//!   and each `Set-Cookie` line one cookie, so a HAR with more of either than the capacity is
//!   not split at all (all of it goes to one shard, and the split says why).
//!
//! Most browser HARs have every page calling the same API hosts: they form one group and
//! are not split. HARs of unrelated sites (a crawler's, one per site of a fleet) split well.
//!
//! Each group goes to shard `FNV-1a(its least member's name) mod N`. A shard file keeps the
//! `log`'s other fields (creator, browser, comment) as they were, its pages and its entries
//! byte for byte and in file order (the reader sorts by time anyway). The HAR is held in
//! memory while it is split.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::cors::origin::redirect_request_url;
use crate::cors::ALL_BROWSERS;
use crate::fnv::fnv1a;
use crate::split::{output_error, SplitError};

/// What splitting one HAR did.
#[derive(Debug, Default)]
pub(crate) struct HarSplit {
    pub path: String,
    pub entries: u64,
    pub pages: u64,
    /// Groups that can go to different shards.
    pub groups: usize,
    /// Entries per shard.
    pub per_shard: Vec<u64>,
    pub files: Vec<PathBuf>,
    /// Why the HAR was not split (it all went to one shard), if it was not.
    pub whole: Option<String>,
}

/// The shard files of a HAR: `NAME-shard-03-of-07.har`, NAME the input's file name without
/// `.gz` and `.har`.
pub(crate) fn har_shard_path(dir: &Path, input: &str, i: usize, n: usize) -> PathBuf {
    let file = Path::new(input)
        .file_name()
        .and_then(|f| f.to_str())
        .filter(|_| input != "-")
        .unwrap_or("stdin");
    let stem = file.strip_suffix(".gz").unwrap_or(file);
    let stem = stem.strip_suffix(".har").unwrap_or(stem);
    let w = n.to_string().len();
    dir.join(format!("{stem}-shard-{i:0w$}-of-{n:0w$}.har"))
}

/// The `log` object's fields, in file order, unparsed.
struct LogFields<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for LogFields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = LogFields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the HAR's log object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::new();
                while let Some(kv) = m.next_entry::<String, &'de RawValue>()? {
                    fields.push(kv);
                }
                Ok(LogFields(fields))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow)]
    log: LogFields<'a>,
}

/// Union-find over named nodes (pages, entries, hosts, cookie domains).
#[derive(Default)]
struct Groups {
    ids: HashMap<String, usize>,
    names: Vec<String>,
    parent: Vec<usize>,
}

impl Groups {
    fn node(&mut self, name: String) -> usize {
        if let Some(i) = self.ids.get(&name) {
            return *i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.names.push(name.clone());
        self.ids.insert(name, i);
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }

    /// Each group's shard: FNV-1a of its least member's name (stable across runs and
    /// machines, and independent of the order nodes were met in).
    fn shards(&mut self, n: usize) -> (Vec<usize>, usize) {
        let roots: Vec<usize> = (0..self.parent.len()).map(|i| self.find(i)).collect();
        let mut least: HashMap<usize, &str> = HashMap::new();
        for (i, r) in roots.iter().enumerate() {
            let name = self.names[i].as_str();
            least
                .entry(*r)
                .and_modify(|l| *l = (*l).min(name))
                .or_insert(name);
        }
        let groups = least.len();
        let shard_of_root: HashMap<usize, usize> = least
            .into_iter()
            .map(|(r, name)| (r, fnv1a(name.as_bytes()) as usize % n.max(1)))
            .collect();
        let shards = roots
            .iter()
            .map(|r| shard_of_root.get(r).copied().unwrap_or(0))
            .collect();
        (shards, groups)
    }
}

/// The node a URL's requests share: its host (lower case, without the trailing dot), or the
/// URL itself when it has none.
fn host_node(url: &str) -> String {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
    {
        Some(h) => format!("host:{}", h.trim_end_matches('.').to_ascii_lowercase()),
        None => format!("url:{url}"),
    }
}

fn domain_match(host: &str, domain: &str) -> bool {
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// What grouping needs from an entry.
#[derive(Default)]
struct EntryFacts {
    pageref: Option<String>,
    url: Option<String>,
    options: bool,
    redirects: Vec<String>,
    /// `Set-Cookie` lines (a HAR may hold several in one header, one per line).
    cookie_lines: u64,
    cookie_domains: Vec<String>,
}

fn facts(entry: &RawValue) -> EntryFacts {
    let Ok(v) = serde_json::from_str::<Value>(entry.get()) else {
        return EntryFacts::default();
    };
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let url = s(v.pointer("/request/url"));
    let mut f = EntryFacts {
        // A `pageref` that is not a string is still a name for the page it groups.
        pageref: v.get("pageref").map(|p| match p.as_str() {
            Some(s) => s.to_owned(),
            None => p.to_string(),
        }),
        options: s(v.pointer("/request/method")).is_some_and(|m| m.eq_ignore_ascii_case("OPTIONS")),
        ..Default::default()
    };
    let mut targets: Vec<String> = s(v.pointer("/response/redirectURL"))
        .filter(|t| !t.is_empty())
        .into_iter()
        .collect();
    let headers = v.pointer("/response/headers").and_then(Value::as_array);
    for h in headers.into_iter().flatten() {
        let (Some(name), Some(value)) = (s(h.get("name")), s(h.get("value"))) else {
            continue;
        };
        if name.eq_ignore_ascii_case("location") {
            targets.push(value);
        } else if name.eq_ignore_ascii_case("set-cookie") {
            for line in value.split('\n') {
                f.cookie_lines += 1;
                for attr in line.split(';').skip(1) {
                    let (k, d) = attr.split_once('=').unwrap_or((attr, ""));
                    if k.trim().eq_ignore_ascii_case("domain") {
                        let d = d.trim().trim_start_matches('.').to_ascii_lowercase();
                        if !d.is_empty() {
                            f.cookie_domains.push(d);
                        }
                    }
                }
            }
        }
    }
    if let Some(u) = &url {
        f.redirects = targets
            .iter()
            .filter_map(|t| redirect_request_url(u, t))
            .collect();
    }
    f.url = url;
    f
}

/// Splits the HAR read from `reader` (named `path`) into `n` HAR files in `dir`.
pub(crate) fn split_har(
    path: &str,
    mut reader: impl Read,
    n: usize,
    dir: &Path,
) -> Result<HarSplit, SplitError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| SplitError::Output {
            path: path.to_owned(),
            source,
        })?;
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    // Bytes after the HAR's object are ignored, as the analysis ignores them.
    let mut de = serde_json::Deserializer::from_slice(text);
    let top = Top::deserialize(&mut de).map_err(|source| SplitError::HarJson {
        path: path.to_owned(),
        source,
    })?;
    let entries = log_list(path, &top.log, "entries")?;
    let pages = log_list(path, &top.log, "pages")?;

    let mut grouping = Grouping::of_entries(&entries);
    let whole = unsplittable(grouping.options, grouping.cookie_lines);
    let page_nodes = grouping.page_nodes(&pages);
    if whole.is_some() {
        for i in 1..grouping.g.parent.len() {
            grouping.g.join(0, i);
        }
    }
    let (shard, groups) = grouping.g.shards(n);

    std::fs::create_dir_all(dir).map_err(|e| output_error(dir, e))?;
    let mut stats = HarSplit {
        path: path.to_owned(),
        entries: entries.len() as u64,
        pages: pages.len() as u64,
        groups,
        whole,
        ..Default::default()
    };
    for i in 0..n {
        let file = har_shard_path(dir, path, i, n);
        let mine = |items: &[&RawValue], nodes: &[usize]| -> Vec<String> {
            items
                .iter()
                .zip(nodes)
                .filter(|(_, node)| shard[**node] == i)
                .map(|(raw, _)| raw.get().to_owned())
                .collect()
        };
        let my_entries = mine(&entries, &grouping.entry_nodes);
        let my_pages = mine(&pages, &page_nodes);
        stats.per_shard.push(my_entries.len() as u64);
        write_shard(&file, &top.log.0, &my_pages, &my_entries)
            .map_err(|e| output_error(&file, e))?;
        stats.files.push(file);
    }
    Ok(stats)
}

/// The items of every `log.NAME` list, in file order (a HAR may repeat the key; the
/// analysis reads them all), unparsed.
fn log_list<'a>(
    path: &str,
    log: &LogFields<'a>,
    name: &str,
) -> Result<Vec<&'a RawValue>, SplitError> {
    let mut all = Vec::new();
    for (_, raw) in log.0.iter().filter(|(k, _)| k == name) {
        let items: Vec<&RawValue> =
            serde_json::from_str(raw.get()).map_err(|e| SplitError::HarShape {
                path: path.to_owned(),
                what: format!("log.{name} is not an array ({e})"),
            })?;
        all.extend(items);
    }
    Ok(all)
}

/// One HAR's groups being built (see the module docs), with what decides whether it can be
/// split at all.
struct Grouping {
    g: Groups,
    /// Each entry's unit node (its page, or itself), in entry order.
    entry_nodes: Vec<usize>,
    /// Visible preflights (`OPTIONS` entries): each adds at most one preflight-cache entry.
    options: u64,
    /// `Set-Cookie` lines: each adds at most one cookie.
    cookie_lines: u64,
}

impl Grouping {
    /// Joins each entry's unit to the hosts it requests or is redirected to, and the hosts
    /// one cookie `Domain` covers to each other.
    fn of_entries(entries: &[&RawValue]) -> Self {
        let mut g = Groups::default();
        let mut entry_nodes = Vec::with_capacity(entries.len());
        let (mut options, mut cookie_lines) = (0u64, 0u64);
        let mut domains = BTreeSet::new();
        let mut hosts = BTreeSet::new();
        for (i, e) in entries.iter().enumerate() {
            let f = facts(e);
            let unit = g.node(match &f.pageref {
                Some(p) => format!("page:{p}"),
                None => format!("entry:{i}"),
            });
            entry_nodes.push(unit);
            for u in f.url.iter().chain(&f.redirects) {
                let h = host_node(u);
                let node = g.node(h.clone());
                g.join(unit, node);
                hosts.insert(h);
            }
            options += u64::from(f.options);
            cookie_lines += f.cookie_lines;
            domains.extend(f.cookie_domains);
        }
        for d in &domains {
            let dn = g.node(format!("domain:{d}"));
            for h in &hosts {
                if h.strip_prefix("host:").is_some_and(|h| domain_match(h, d)) {
                    let hn = g.node(h.clone());
                    g.join(dn, hn);
                }
            }
        }
        Grouping {
            g,
            entry_nodes,
            options,
            cookie_lines,
        }
    }

    /// Each page's node, in page order (a page no entry refers to is a group of its own).
    fn page_nodes(&mut self, pages: &[&RawValue]) -> Vec<usize> {
        pages
            .iter()
            .map(|p| {
                let id = serde_json::from_str::<Value>(p.get())
                    .ok()
                    .and_then(|v| v.get("id").cloned());
                self.g.node(match id {
                    Some(Value::String(s)) => format!("page:{s}"),
                    Some(other) => format!("page:{other}"),
                    // Pages without an id: no entry can refer to them.
                    None => "page-without-id".into(),
                })
            })
            .collect()
    }
}

/// Why a HAR cannot be split at all, if so: more preflights than the smallest preflight
/// cache holds, or more `Set-Cookie` lines than the cookie jar, make every page's state
/// decide every other's through eviction.
fn unsplittable(options: u64, cookie_lines: u64) -> Option<String> {
    let cache = ALL_BROWSERS
        .iter()
        .map(|b| b.profile().cache_capacity)
        .min()
        .unwrap_or(0);
    let jar = crate::cors::cookies::MAX_COOKIES_PER_CLIENT;
    if options as usize > cache {
        Some(format!(
            "{options} preflights: past {cache}, a browser's preflight cache evicts entries, so every page's preflights decide every other's"
        ))
    } else if cookie_lines as usize > jar {
        Some(format!(
            "{cookie_lines} Set-Cookie lines: past {jar}, the cookie jar drops cookies, so every page's cookies decide every other's"
        ))
    } else {
        None
    }
}

/// Writes `{"log":{...}}` with the log's fields in their order, `pages` and `entries`
/// replaced by this shard's (each list once, where the input first had it).
fn write_shard(
    file: &Path,
    fields: &[(String, &RawValue)],
    pages: &[String],
    entries: &[String],
) -> io::Result<()> {
    let mut out = io::BufWriter::new(std::fs::File::create(file)?);
    out.write_all(b"{\"log\":{")?;
    let mut first = true;
    let wrote_list = |out: &mut dyn Write, key: &str, items: &[String]| -> io::Result<()> {
        out.write_all(format!("\"{key}\":[").as_bytes())?;
        out.write_all(items.join(",").as_bytes())?;
        out.write_all(b"]")
    };
    let (mut pages_done, mut entries_done) = (false, false);
    for (key, raw) in fields {
        let list = match key.as_str() {
            "pages" if !pages_done => Some(pages),
            "entries" if !entries_done => Some(entries),
            "pages" | "entries" => continue,
            _ => None,
        };
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        match list {
            Some(items) => {
                pages_done |= key == "pages";
                entries_done |= key == "entries";
                wrote_list(&mut out, key, items)?;
            }
            None => {
                out.write_all(serde_json::to_string(key)?.as_bytes())?;
                out.write_all(b":")?;
                out.write_all(raw.get().as_bytes())?;
            }
        }
    }
    if !entries_done {
        if !first {
            out.write_all(b",")?;
        }
        wrote_list(&mut out, "entries", entries)?;
    }
    out.write_all(b"}}\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(page: Option<&str>, method: &str, url: &str, headers: &str) -> String {
        let page = page.map_or(String::new(), |p| format!(r#""pageref":"{p}","#));
        format!(
            r#"{{{page}"startedDateTime":"2026-11-24T19:46:40.000Z","time":1,"request":{{"method":"{method}","url":"{url}","headers":[]}},"response":{{"status":200,"headers":[{headers}]}}}}"#
        )
    }

    fn har(entries: &[String]) -> String {
        format!(
            r#"{{"log":{{"version":"1.2","creator":{{"name":"t","version":"1"}},"pages":[{{"id":"a"}},{{"id":"b"}},{{"id":"c"}}],"entries":[{}]}}}}"#,
            entries.join(",")
        )
    }

    fn groups(text: &str) -> (usize, Option<String>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = split_har("t.har", text.as_bytes(), 3, dir.path()).expect("splits");
        let total: u64 = s.per_shard.iter().sum();
        assert_eq!(total, s.entries);
        (s.groups, s.whole)
    }

    /// Table: which pages share state, so stay together.
    #[test]
    fn pages_group_by_shared_state() {
        let a = |u: &str| entry(Some("a"), "GET", u, "");
        let b = |u: &str| entry(Some("b"), "GET", u, "");
        let c = |u: &str| entry(Some("c"), "GET", u, "");
        let cookie = r#"{"name":"Set-Cookie","value":"s=1; Domain=x.test"}"#;
        let to_b = r#"{"name":"Location","value":"http://b.test/next"}"#;
        for (name, entries, want) in [
            // Three pages on three hosts: three groups.
            (
                "apart",
                vec![
                    a("http://a.test/"),
                    b("http://b.test/"),
                    c("http://c.test/"),
                ],
                3,
            ),
            // The same API host: one group.
            (
                "shared host",
                vec![
                    a("http://api.test/1"),
                    b("http://api.test/2"),
                    c("http://c.test/"),
                ],
                2,
            ),
            // A redirect from a's host to b's.
            (
                "redirect",
                vec![
                    entry(Some("a"), "GET", "http://a.test/", to_b),
                    b("http://b.test/"),
                    c("http://c.test/"),
                ],
                2,
            ),
            // A Domain cookie covering two hosts.
            (
                "domain cookie",
                vec![
                    entry(Some("a"), "GET", "http://a.x.test/", cookie),
                    b("http://b.x.test/"),
                    c("http://c.test/"),
                ],
                2,
            ),
            // An entry without a page joins the pages whose hosts it requests.
            (
                "pageless",
                vec![
                    a("http://a.test/"),
                    b("http://b.test/"),
                    entry(None, "OPTIONS", "http://a.test/", ""),
                    c("http://c.test/"),
                ],
                3,
            ),
        ] {
            assert_eq!(groups(&har(&entries)).0, want, "{name}");
        }
        // Past the smallest preflight cache: not split.
        let many: Vec<String> = (0..101)
            .map(|i| {
                entry(
                    Some(["a", "b"][i % 2]),
                    "OPTIONS",
                    &format!("http://h{i}.test/"),
                    "",
                )
            })
            .collect();
        let (g, whole) = groups(&har(&many));
        assert_eq!(g, 1);
        assert!(whole.is_some_and(|w| w.contains("101 preflights")));
    }

    /// The capacities that forbid a split: the smallest preflight cache and the cookie jar.
    #[test]
    fn unsplittable_past_the_bounded_state() {
        let jar = crate::cors::cookies::MAX_COOKIES_PER_CLIENT as u64;
        for (options, cookies, want) in [
            (0, 0, None),
            (100, jar, None),
            (101, 0, Some("101 preflights: past 100")),
            (0, jar + 1, Some("Set-Cookie lines: past")),
        ] {
            let got = unsplittable(options, cookies);
            match want {
                None => assert_eq!(got, None, "{options} {cookies}"),
                Some(w) => assert!(got.as_ref().is_some_and(|g| g.contains(w)), "{got:?}"),
            }
        }
    }

    #[test]
    fn bad_hars_are_named_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (text, want) in [
            (r#"{"log":{"entries":[{"#, "line 1"),
            (r#"{"log":{"entries":{}}}"#, "log.entries is not an array"),
            (r#"[1]"#, "line 1"),
        ] {
            let e = split_har("bad.har", text.as_bytes(), 2, dir.path())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                e.starts_with("bad.har: ") && e.contains(want),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn shard_names() {
        let d = Path::new("o");
        assert_eq!(
            har_shard_path(d, "x/site.har.gz", 3, 12),
            d.join("site-shard-03-of-12.har")
        );
        assert_eq!(
            har_shard_path(d, "-", 0, 1),
            d.join("stdin-shard-0-of-1.har")
        );
    }
}
