//! The CORS-preflight cache (`#cors-preflight-cache`) simulated per browser over the recording's
//! clock: a request that needed a preflight but shows none is checked against what an earlier
//! preflight allowed, with each browser's max-age cap, entry shape and capacity.

use std::collections::HashMap;
use std::sync::Arc;

use super::browser::Browser;
use super::headers::is_safelisted_method;
use crate::model::Micros;

/// A cached method or header name (a span of its list's text) with its own expiry: per-item
/// caches refresh items one by one.
#[derive(Clone, Copy, Debug)]
struct Item {
    at: u32,
    len: u32,
    expires: Micros,
}

/// Lists longer than this get an index by lower-cased name; shorter ones are scanned.
const INDEX_FROM: usize = 16;

/// An entry's methods or header names, in the order first allowed. Entries live for their
/// max-age (minutes), so a capture holds every entry of its last minutes at once: a fresh
/// entry's names are spans of the text of the [`Allowed`] that made it (shared, not copied:
/// a fresh entry was seven allocations), names a later preflight adds share one string, and
/// a short list is scanned. A list grown past [`INDEX_FROM`] names (a per-item cache grows
/// with every preflight of its URL) gets an index by lower-cased name, so that a run of
/// preflights with thousands of names stays linear (issue 18).
#[derive(Clone, Debug, Default)]
struct Items {
    /// The text of the [`Allowed`] that made the entry; its names are `base_len` bytes from
    /// `base_start`. An item's `at` counts from `base_start`, and past `base_len` into `text`
    /// (the offsets a list of its names alone would have).
    base: Option<Arc<str>>,
    base_start: usize,
    base_len: usize,
    /// Names added by merges.
    text: String,
    /// Kept inline up to a preflight's usual few names (the allocation was most of an
    /// entry's cost).
    list: smallvec::SmallVec<[Item; 4]>,
    /// Lower-cased name -> positions in `list` of the items of that name, the first one first
    /// (a list can repeat a name in another case; the later ones are never refreshed). Boxed:
    /// most lists never have one, and a map inline would double their size.
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<Box<str>, Vec<u32>>>>,
}

impl Items {
    /// The items of `allowed`'s names whose ends are `ends`, the first starting at `start`.
    fn new(allowed: &Allowed, start: usize, ends: &[usize], expires: Micros) -> Self {
        let base_len = ends.last().map_or(0, |&end| end - start);
        if base_len > u32::MAX as usize {
            // Past 32-bit spans (never a real list): the names that fit, copied, as `add` keeps
            // them.
            let mut items = Items::default();
            items.add(allowed.names(start, ends), expires, false);
            return items;
        }
        let mut items = Items {
            base: Some(allowed.text.clone()),
            base_start: start,
            base_len,
            text: String::new(),
            list: smallvec::SmallVec::new(),
            index: None,
        };
        // Spans from the ends alone (within `base_len`, so they fit): no name is sliced.
        let mut at = start;
        items.list.extend(ends.iter().map(|&end| {
            let item = Item {
                at: (at - start) as u32,
                len: (end - at) as u32,
                expires,
            };
            at = end;
            item
        }));
        if items.list.len() > INDEX_FROM {
            items.build_index();
        }
        items
    }

    fn name(&self, i: &Item) -> &str {
        let (at, len) = (i.at as usize, i.len as usize);
        match &self.base {
            Some(base) if at < self.base_len => {
                &base[self.base_start + at..self.base_start + at + len]
            }
            _ => &self.text[at - self.base_len..at - self.base_len + len],
        }
    }

    /// The position of the first item named `n` (any case).
    fn first(&self, n: &str) -> Option<usize> {
        match &self.index {
            Some(index) => {
                let mut lower = n.to_owned();
                lower.make_ascii_lowercase();
                index.get(lower.as_str()).map(|at| at[0] as usize)
            }
            None => self
                .list
                .iter()
                .position(|i| self.name(i).eq_ignore_ascii_case(n)),
        }
    }

    /// Adds a preflight's items. Merging into an older entry (`#cors-preflight-cache`)
    /// refreshes the first item of each name (case-insensitive) and adds new names; a fresh
    /// entry keeps every item as listed.
    fn add<'a>(&mut self, names: impl Iterator<Item = &'a str>, expires: Micros, merge: bool) {
        for n in names {
            if merge {
                if let Some(first) = self.first(n) {
                    self.list[first].expires = expires;
                    continue;
                }
            }
            // Spans are 32-bit: a list past 4 GiB of names (never a real one) caches no
            // more, so that its later requests miss and preflight again.
            let used = self.base_len + self.text.len();
            let (Ok(at), Ok(len), true) = (
                u32::try_from(used),
                u32::try_from(n.len()),
                used + n.len() <= u32::MAX as usize,
            ) else {
                continue;
            };
            self.text.push_str(n);
            self.list.push(Item { at, len, expires });
            match &mut self.index {
                Some(index) => {
                    let pos = (self.list.len() - 1) as u32;
                    index
                        .entry(n.to_ascii_lowercase().into())
                        .or_default()
                        .push(pos);
                }
                None if self.list.len() > INDEX_FROM => self.build_index(),
                None => {}
            }
        }
    }

    fn build_index(&mut self) {
        let mut index: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (pos, i) in self.list.iter().enumerate() {
            index
                .entry(self.name(i).to_ascii_lowercase().into())
                .or_default()
                .push(pos as u32);
        }
        self.index = Some(Box::new(index));
    }

    /// The live names equal to `lower` case-insensitively (`lower` is lower case), in list
    /// order.
    fn live<'a>(&'a self, lower: &'a str, now: Micros) -> impl Iterator<Item = &'a str> + 'a {
        let indexed = self.index.as_ref().map(|index| {
            index
                .get(lower)
                .into_iter()
                .flatten()
                .map(|&p| &self.list[p as usize])
        });
        let scanned = match indexed {
            Some(_) => None,
            None => Some(
                self.list
                    .iter()
                    .filter(move |i| self.name(i).eq_ignore_ascii_case(lower)),
            ),
        };
        indexed
            .into_iter()
            .flatten()
            .chain(scanned.into_iter().flatten())
            .filter(move |i| i.expires > now)
            .map(|i| self.name(i))
    }
}

#[derive(Clone, Debug)]
struct Entry {
    client: Arc<str>,
    origin: Box<str>,
    /// Whether the preflight was made for a credentialed request (`#cors-preflight-cache`).
    include: bool,
    methods: Items,
    headers: Items,
    /// Insertion counter for eviction (oldest first).
    stamp: u64,
    /// The latest expiry of any item: the entry is useless after it.
    expires: Micros,
    /// When the preflight that made (or last refreshed) the entry was answered.
    created: Micros,
}

impl Entry {
    fn is(&self, client: &Arc<str>, origin: &str) -> bool {
        *self.origin == *origin && (Arc::ptr_eq(&self.client, client) || self.client == *client)
    }
}

/// What a preflight allowed, ready to be cached: its methods' and header names' text in one
/// string, shared (every passed preflight of every reading hands one out, and the entries the
/// chosen readings make keep it: a copy is a count, not a string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Allowed {
    text: Arc<str>,
    /// Where each name ends in `text`: the methods', then the header names'.
    ends: smallvec::SmallVec<[usize; 8]>,
    /// How many of `ends` are methods.
    methods: usize,
    /// Seconds, already parsed and capped by the browser; 0 caches nothing.
    pub max_age: u64,
}

impl Allowed {
    pub(crate) fn new(methods: &[&str], headers: &[&str], max_age: u64) -> Self {
        let all = || methods.iter().chain(headers);
        let mut text = String::with_capacity(all().map(|n| n.len()).sum());
        let mut ends = smallvec::SmallVec::with_capacity(methods.len() + headers.len());
        for n in all() {
            text.push_str(n);
            ends.push(text.len());
        }
        Self {
            text: text.into(),
            ends,
            methods: methods.len(),
            max_age,
        }
    }

    /// The same with the header names lower-cased.
    pub(crate) fn headers_lowercased(mut self) -> Self {
        let start = self.methods_end();
        if self.text[start..].bytes().any(|b| b.is_ascii_uppercase()) {
            let mut text = self.text.to_string();
            text[start..].make_ascii_lowercase();
            self.text = text.into();
        }
        self
    }

    fn methods_end(&self) -> usize {
        self.methods.checked_sub(1).map_or(0, |i| self.ends[i])
    }

    /// The names whose ends are `ends`, the first starting at `start`.
    fn names<'a>(&'a self, mut start: usize, ends: &'a [usize]) -> impl Iterator<Item = &'a str> {
        ends.iter().map(move |&end| {
            let name = &self.text[start..end];
            start = end;
            name
        })
    }

    pub(crate) fn methods(&self) -> impl Iterator<Item = &str> {
        self.names(0, &self.ends[..self.methods])
    }

    pub(crate) fn headers(&self) -> impl Iterator<Item = &str> {
        self.names(self.methods_end(), &self.ends[self.methods..])
    }

    /// The items of the methods and of the header names.
    fn items(&self, expires: Micros) -> (Items, Items) {
        let (methods, headers) = self.ends.split_at(self.methods);
        (
            Items::new(self, 0, methods, expires),
            Items::new(self, self.methods_end(), headers, expires),
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Covered: the request goes out without a preflight. `age_s` is how old the entry was.
    Hit {
        age_s: u64,
    },
    Miss,
}

/// One browser's preflight cache for every client of an input, keyed by (client, origin,
/// URL): by URL, then the few (client, origin) entries of that URL. URLs are hashed with
/// seeded foldhash, not SipHash (a lookup and an insert per preflighted request; nothing
/// depends on the map's order: eviction takes the smallest stamp, the budget a cutoff time).
#[derive(Debug)]
pub(crate) struct PreflightCache {
    browser: Browser,
    entries: HashMap<Box<str>, Vec<Entry>, foldhash::fast::RandomState>,
    len: usize,
    counter: u64,
}

impl PreflightCache {
    pub(crate) fn new(browser: Browser) -> Self {
        Self {
            browser,
            entries: HashMap::default(),
            len: 0,
            counter: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// When each entry was made or last refreshed.
    pub(crate) fn created(&self) -> impl Iterator<Item = Micros> + '_ {
        self.entries.values().flatten().map(|e| e.created)
    }

    /// Drops the entries made or last refreshed at `cutoff` or before; how many.
    pub(crate) fn drop_created_until(&mut self, cutoff: Micros) -> usize {
        self.retain_entries(|e| e.created > cutoff)
    }

    /// Keeps the entries `keep` accepts (URLs left with none go); how many went.
    fn retain_entries(&mut self, keep: impl Fn(&Entry) -> bool) -> usize {
        let before = self.len;
        let mut len = 0;
        self.entries.retain(|_, list| {
            list.retain(|e| keep(e));
            len += list.len();
            !list.is_empty()
        });
        self.len = len;
        before - len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn get(&self, client: &Arc<str>, origin: &str, url: &str) -> Option<&Entry> {
        self.entries.get(url)?.iter().find(|e| e.is(client, origin))
    }

    /// Would the browser send `method` with `unsafe_names` to `url` without a preflight?
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn lookup(
        &self,
        client: &Arc<str>,
        origin: &str,
        url: &str,
        now: Micros,
        include: bool,
        method: &str,
        unsafe_names: &[String],
    ) -> Lookup {
        let Some(entry) = self.get(client, origin, url) else {
            return Lookup::Miss;
        };
        // An entry made for an uncredentialed request never serves a credentialed one.
        if include && !entry.include {
            return Lookup::Miss;
        }
        let method_ok = is_safelisted_method(method)
            || entry
                .methods
                .live(&method.to_ascii_lowercase(), now)
                .any(|m| m == method)
            || (!include && entry.methods.live("*", now).next().is_some());
        // The cache applies the strict rule: `*` never covers Authorization here, even in
        // browsers whose preflight check lets it (Chromium's `CorsNonWildcardRequestHeadersSupport`
        // is off, Firefox's `network.cors_preflight.authorization_covered_by_wildcard` is on),
        // so such requests re-preflight.
        // Names are looked up in the entry's index, not scanned: both lists can be thousands
        // long (issue 18).
        let headers_ok = unsafe_names.is_empty() || {
            let listed = |n: &str| entry.headers.live(n, now).next().is_some();
            let star = !include && listed("*");
            unsafe_names.iter().all(|n| {
                let lower;
                let n = if n.bytes().any(|b| b.is_ascii_uppercase()) {
                    lower = n.to_ascii_lowercase();
                    lower.as_str()
                } else {
                    n.as_str()
                };
                listed(n) || (star && n != "authorization")
            })
        };
        if method_ok && headers_ok {
            Lookup::Hit {
                // Capture times can be anything (saturated timestamps): no overflow.
                age_s: (now.saturating_sub(entry.created).max(0) / 1_000_000) as u64,
            }
        } else {
            Lookup::Miss
        }
    }

    /// Records a successful preflight made at `now`.
    pub(crate) fn insert(
        &mut self,
        client: &Arc<str>,
        origin: &str,
        url: &str,
        now: Micros,
        include: bool,
        allowed: &Allowed,
    ) {
        let p = self.browser.profile();
        if allowed.max_age == 0 || p.cache_max_url_len.is_some_and(|m| url.len() >= m) {
            return;
        }
        let expires = now.saturating_add((allowed.max_age as i64).saturating_mul(1_000_000));
        self.counter += 1;
        let stamp = self.counter;
        let fresh = || {
            let (methods, headers) = allowed.items(expires);
            Entry {
                client: client.clone(),
                origin: origin.into(),
                include,
                methods,
                headers,
                stamp,
                expires,
                created: now,
            }
        };
        let Some(list) = self.entries.get_mut(url) else {
            // A URL nearly always has one entry: no room for more until needed (inline, the
            // map's moves cost more than the allocation saves: pl20 2.71 M -> 2.85 M).
            self.entries.insert(url.into(), vec![fresh()]);
            self.len += 1;
            self.bound(now);
            return;
        };
        match list.iter_mut().find(|e| e.is(client, origin)) {
            Some(entry) if !p.cache_replaces_whole_entry && entry.include == include => {
                entry.methods.add(allowed.methods(), expires, true);
                entry.headers.add(allowed.headers(), expires, true);
                entry.stamp = stamp;
                entry.expires = entry.expires.max(expires);
                entry.created = now;
            }
            Some(entry) => *entry = fresh(),
            None => {
                list.push(fresh());
                self.len += 1;
            }
        }
        self.bound(now);
    }

    /// Holds the browser's capacity after an insert.
    fn bound(&mut self, now: Micros) {
        let p = self.browser.profile();
        if self.len > p.cache_capacity {
            // Expired entries go first, so that which live entry is evicted does not depend
            // on when the caller last swept.
            self.expire(now);
            if self.len > p.cache_capacity {
                self.evict_oldest();
            }
        }
    }

    /// Removes the entries of `url` that `keep` rejects, and the URL once it has none.
    fn retain_in(&mut self, url: &str, keep: impl FnMut(&Entry) -> bool) {
        if let Some(list) = self.entries.get_mut(url) {
            let before = list.len();
            let mut keep = keep;
            list.retain(|e| keep(e));
            self.len -= before - list.len();
            if list.is_empty() {
                self.entries.remove(url);
            }
        }
    }

    /// A failed fetch clears the entries for its (origin, URL) (`#main-fetch`).
    pub(crate) fn clear(&mut self, client: &Arc<str>, origin: &str, url: &str) {
        self.retain_in(url, |e| !e.is(client, origin));
    }

    /// Drops expired entries (how many); called as the clock advances so memory follows live keys
    /// only.
    pub(crate) fn expire(&mut self, now: Micros) -> usize {
        self.retain_entries(|e| e.expires > now)
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .flat_map(|(url, list)| list.iter().map(move |e| (e.stamp, url)))
            .min_by_key(|(stamp, _)| *stamp)
            .map(|(stamp, url)| (stamp, url.clone()));
        if let Some((stamp, url)) = oldest {
            self.retain_in(&url, |e| e.stamp != stamp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(methods: &[&str], headers: &[&str], max_age: u64) -> Allowed {
        Allowed::new(methods, headers, max_age)
    }

    /// The names come back as given, methods and header names apart, each list in order;
    /// only the header names are lower-cased.
    #[test]
    fn allowed_lists_in_one_text() {
        let cases: [(&[&str], &[&str]); 4] = [
            (&[], &[]),
            (&["PUT", "get"], &[]),
            (&[], &["X-A", "b"]),
            (&["PUT", "", "*"], &["X-A", "", "x-b"]),
        ];
        for (methods, headers) in cases {
            let a = Allowed::new(methods, headers, 5).headers_lowercased();
            assert_eq!(a.methods().collect::<Vec<_>>(), methods);
            let lower: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
            assert_eq!(a.headers().collect::<Vec<_>>(), lower);
        }
    }

    const S: Micros = 1_000_000;

    /// Capture times can jump anywhere (damaged pcapng offsets): an entry made at the far
    /// future is looked up at the far past. The age saturates at 0 instead of overflowing
    /// (a panic with debug assertions, a wrapped age without).
    #[test]
    fn age_of_entries_at_extreme_times() {
        let c: Arc<str> = Arc::from("client");
        let mut cache = PreflightCache::new(Browser::Firefox);
        let day = allowed(&["PUT"], &[], 86_400);
        cache.insert(&c, "http://a", "http://b/y", Micros::MAX - S, false, &day);
        assert_eq!(
            cache.lookup(&c, "http://a", "http://b/y", Micros::MIN, false, "PUT", &[]),
            Lookup::Hit { age_s: 0 }
        );
    }

    #[test]
    fn hit_within_max_age_miss_after() {
        let c: Arc<str> = Arc::from("client");
        let mut cache = PreflightCache::new(Browser::Chromium);
        cache.insert(
            &c,
            "http://a",
            "http://b/x",
            0,
            false,
            &allowed(&["PUT"], &["x-a"], 5),
        );
        let names = vec!["x-a".to_string()];
        assert_eq!(
            cache.lookup(&c, "http://a", "http://b/x", 4 * S, false, "PUT", &names),
            Lookup::Hit { age_s: 4 }
        );
        assert_eq!(
            cache.lookup(&c, "http://a", "http://b/x", 6 * S, false, "PUT", &names),
            Lookup::Miss
        );
        // A new header, a new method, another URL or credentials all miss.
        assert_eq!(
            cache.lookup(
                &c,
                "http://a",
                "http://b/x",
                S,
                false,
                "PUT",
                &["x-b".to_string()]
            ),
            Lookup::Miss
        );
        assert_eq!(
            cache.lookup(&c, "http://a", "http://b/x", S, false, "PURGE", &[]),
            Lookup::Miss
        );
        assert_eq!(
            cache.lookup(&c, "http://a", "http://b/y", S, false, "PUT", &[]),
            Lookup::Miss
        );
        assert_eq!(
            cache.lookup(&c, "http://a", "http://b/x", S, true, "PUT", &[]),
            Lookup::Miss
        );
    }

    #[test]
    fn max_age_zero_caches_nothing_and_wildcard_never_covers_authorization() {
        let c: Arc<str> = Arc::from("client");
        let mut cache = PreflightCache::new(Browser::Firefox);
        cache.insert(&c, "o", "u", 0, false, &allowed(&["PUT"], &[], 0));
        assert!(cache.is_empty());
        cache.insert(&c, "o", "u", 0, false, &allowed(&["*"], &["*"], 60));
        assert_eq!(
            cache.lookup(&c, "o", "u", S, false, "DELETE", &["x-y".to_string()]),
            Lookup::Hit { age_s: 1 }
        );
        assert_eq!(
            cache.lookup(
                &c,
                "o",
                "u",
                S,
                false,
                "GET",
                &["authorization".to_string()]
            ),
            Lookup::Miss
        );
    }

    #[test]
    fn capacity_evicts_oldest() {
        let c: Arc<str> = Arc::from("client");
        let mut cache = PreflightCache::new(Browser::Firefox);
        for i in 0..101 {
            cache.insert(
                &c,
                "o",
                &format!("u{i}"),
                0,
                false,
                &allowed(&["PUT"], &[], 60),
            );
        }
        assert_eq!(cache.len(), 100);
        assert_eq!(
            cache.lookup(&c, "o", "u0", S, false, "PUT", &[]),
            Lookup::Miss
        );
        assert_eq!(
            cache.lookup(&c, "o", "u100", S, false, "PUT", &[]),
            Lookup::Hit { age_s: 1 }
        );
    }

    /// A per-item entry refreshes the first item of a name; a later item of the same name in
    /// another case keeps its own expiry, and methods stay byte-exact.
    #[test]
    fn per_item_refresh_touches_the_first_item_of_a_name() {
        let c: Arc<str> = Arc::from("client");
        let mut cache = PreflightCache::new(Browser::Firefox);
        let first = allowed(&["put", "PUT"], &["X-A", "x-a"], 100);
        cache.insert(&c, "o", "u", 0, false, &first);
        cache.insert(&c, "o", "u", 10 * S, false, &allowed(&["PUT"], &["x-a"], 5));
        let look = |m: &str, h: &[&str]| {
            let h: Vec<String> = h.iter().map(|s| s.to_string()).collect();
            cache.lookup(&c, "o", "u", 20 * S, false, m, &h)
        };
        // "put" (the first) was refreshed to expire at 15 s; "PUT" still lives until 100 s.
        assert_eq!(look("put", &[]), Lookup::Miss);
        assert_eq!(look("PUT", &[]), Lookup::Hit { age_s: 10 });
        // Header names are case-insensitive: the later "x-a" item still covers them.
        assert_eq!(look("PUT", &["x-a"]), Lookup::Hit { age_s: 10 });
        assert_eq!(look("PUT", &["X-A"]), Lookup::Hit { age_s: 10 });
        assert_eq!(look("PUT", &["x-b"]), Lookup::Miss);
    }

    /// Issue 18: a run of preflights to one URL, each allowing new names, grows one entry;
    /// inserting and looking up cost per name, not per name already cached (it was a rebuilt
    /// index per insert and a scan per lookup).
    #[test]
    fn growing_entry_costs_per_new_name() {
        let c: Arc<str> = Arc::from("client");
        let start = std::time::Instant::now();
        for browser in [Browser::Firefox, Browser::Safari] {
            let mut cache = PreflightCache::new(browser);
            for i in 0..1_000 {
                let names: Vec<String> = (0..200).map(|j| format!("x-{i}-{j}")).collect();
                let methods = [format!("M{i}")];
                let (m, n): (Vec<&str>, Vec<&str>) = (
                    methods.iter().map(String::as_str).collect(),
                    names.iter().map(String::as_str).collect(),
                );
                let a = Allowed::new(&m, &n, 600);
                let now = i as Micros * 1_000;
                cache.insert(&c, "o", "u", now, false, &a);
                let hit = cache.lookup(&c, "o", "u", now, false, &methods[0], &names);
                assert!(matches!(hit, Lookup::Hit { .. }), "{browser:?} {i}");
            }
            let old = ["x-0-0".to_string(), "x-999-199".to_string()];
            assert!(matches!(
                cache.lookup(&c, "o", "u", 3 * S, false, "M0", &old),
                Lookup::Hit { .. }
            ));
        }
        // Linear: well under a second in release; the quadratic version took over a minute.
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    /// The items' spans, scan and index agree with a plain list of (name, expiry) under the
    /// cache's rules (merge refreshes the first item of a name in any case, a fresh list keeps
    /// every item), on both sides of [`INDEX_FROM`].
    fn naive_add(list: &mut Vec<(String, Micros)>, names: &[String], expires: Micros, merge: bool) {
        for n in names {
            if merge {
                if let Some(first) = list.iter_mut().find(|(m, _)| m.eq_ignore_ascii_case(n)) {
                    first.1 = expires;
                    continue;
                }
            }
            list.push((n.clone(), expires));
        }
    }

    proptest::proptest! {
        #[test]
        fn items_agree_with_a_plain_list(
            adds in proptest::collection::vec(
                (proptest::collection::vec("[aAbB]{1,3}|x-[0-9]{1,2}", 0..12), 0i64..50, proptest::bool::ANY),
                1..8,
            ),
            now in 0i64..50,
            shared in proptest::bool::ANY,
        ) {
            let mut items = Items::default();
            let mut plain = Vec::new();
            let mut adds = &adds[..];
            if shared {
                // The first list made into a fresh entry's items, sharing an `Allowed`'s text
                // after its methods.
                let (names, expires, _) = &adds[0];
                let headers: Vec<&str> = names.iter().map(String::as_str).collect();
                let a = Allowed::new(&["GET", "x-1"], &headers, 5);
                items = a.items(*expires).1;
                naive_add(&mut plain, names, *expires, false);
                adds = &adds[1..];
            }
            for (names, expires, merge) in adds {
                items.add(names.iter().map(String::as_str), *expires, *merge);
                naive_add(&mut plain, names, *expires, *merge);
            }
            let mut queries: Vec<String> = plain.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
            queries.push("zz".into());
            for q in &queries {
                let got: Vec<&str> = items.live(q, now).collect();
                let want: Vec<&str> = plain
                    .iter()
                    .filter(|(n, e)| n.eq_ignore_ascii_case(q) && *e > now)
                    .map(|(n, _)| n.as_str())
                    .collect();
                proptest::prop_assert_eq!(got, want);
            }
        }
    }
}
