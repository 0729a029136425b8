//! The CORS-preflight cache (`#cors-preflight-cache`) simulated per browser over the recording's
//! clock: a request that needed a preflight but shows none is checked against what an earlier
//! preflight allowed, with each browser's max-age cap, entry shape and capacity.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;
use std::sync::Arc;

use super::browser::Browser;
use super::headers::{is_safelisted_method, NameSet};
use crate::model::Micros;

/// A cached method or header name with its own expiry (per-item caches refresh items
/// one by one). Entries live for their max-age (minutes), so a capture holds every entry of
/// its last minutes at once: they are kept small (boxed strings, one list per entry, keys
/// looked up without allocating).
#[derive(Clone, Debug)]
struct Item {
    name: Box<str>,
    expires: Micros,
}

#[derive(Clone, Debug)]
struct Entry {
    client: Arc<str>,
    origin: Box<str>,
    /// Whether the preflight was made for a credentialed request (`#cors-preflight-cache`).
    include: bool,
    /// The methods (the first `methods` items), then the headers.
    items: Vec<Item>,
    methods: usize,
    /// Insertion counter for eviction (oldest first).
    stamp: u64,
    /// The latest expiry of any item: the entry is useless after it.
    expires: Micros,
    /// When the preflight that made (or last refreshed) the entry was answered.
    created: Micros,
}

impl Entry {
    fn methods(&self) -> &[Item] {
        self.items.get(..self.methods).unwrap_or(&[])
    }

    fn headers(&self) -> &[Item] {
        self.items.get(self.methods..).unwrap_or(&[])
    }

    fn is(&self, client: &Arc<str>, origin: &str) -> bool {
        *self.origin == *origin && (Arc::ptr_eq(&self.client, client) || self.client == *client)
    }
}

/// What a preflight allowed, ready to be cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    /// Seconds, already parsed and capped by the browser; 0 caches nothing.
    pub max_age: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Covered: the request goes out without a preflight. `age_s` is how old the entry was.
    Hit {
        age_s: u64,
    },
    Miss,
}

/// One browser's preflight cache for every client of an input, keyed by (client, origin,
/// URL): by URL, then the few (client, origin) entries of that URL.
#[derive(Debug)]
pub struct PreflightCache {
    browser: Browser,
    entries: HashMap<Box<str>, Vec<Entry>>,
    len: usize,
    counter: u64,
}

impl PreflightCache {
    pub fn new(browser: Browser) -> Self {
        Self {
            browser,
            entries: HashMap::new(),
            len: 0,
            counter: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn get(&self, client: &Arc<str>, origin: &str, url: &str) -> Option<&Entry> {
        self.entries.get(url)?.iter().find(|e| e.is(client, origin))
    }

    /// Would the browser send `method` with `unsafe_names` to `url` without a preflight?
    #[allow(clippy::too_many_arguments)]
    pub fn lookup(
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
        let live = |i: &&Item| i.expires > now;
        let method_ok = is_safelisted_method(method)
            || entry
                .methods()
                .iter()
                .filter(live)
                .any(|m| &*m.name == method || (&*m.name == "*" && !include));
        // The cache applies the strict rule: `*` never covers Authorization here, even in
        // browsers whose preflight check lets it (Chromium's `CorsNonWildcardRequestHeadersSupport`
        // is off, Firefox's `network.cors_preflight.authorization_covered_by_wildcard` is on),
        // so such requests re-preflight.
        // One set of the live names, not a scan of the entry per name: both lists can be
        // thousands long (issue 18).
        let headers_ok = unsafe_names.is_empty() || {
            let live_headers = || entry.headers().iter().filter(live);
            let star = !include && live_headers().any(|h| &*h.name == "*");
            let listed = NameSet::new(live_headers().map(|h| h.name.as_bytes()));
            unsafe_names
                .iter()
                .all(|n| listed.contains(n.as_bytes()) || (star && n != "authorization"))
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
    pub fn insert(
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
        let item = |n: &String| Item {
            name: n.as_str().into(),
            expires,
        };
        self.counter += 1;
        let stamp = self.counter;
        let fresh = || Entry {
            client: client.clone(),
            origin: origin.into(),
            include,
            items: allowed
                .methods
                .iter()
                .chain(&allowed.headers)
                .map(item)
                .collect(),
            methods: allowed.methods.len(),
            stamp,
            expires,
            created: now,
        };
        let Some(list) = self.entries.get_mut(url) else {
            // A URL nearly always has one entry: no room for more until needed.
            self.entries.insert(url.into(), vec![fresh()]);
            self.len += 1;
            self.bound(now);
            return;
        };
        match list.iter_mut().find(|e| e.is(client, origin)) {
            Some(entry) if !p.cache_replaces_whole_entry && entry.include == include => {
                // Per-item caches refresh matching items and add new ones (`#cors-preflight-cache`).
                for (headers, new) in [(false, &allowed.methods), (true, &allowed.headers)] {
                    let range = if headers {
                        entry.methods..entry.items.len()
                    } else {
                        0..entry.methods
                    };
                    // The first item of each name (case-insensitive) is the one refreshed; an
                    // index instead of a scan per new item (issue 18).
                    let mut first: HashMap<String, usize> = HashMap::with_capacity(range.len());
                    for i in range {
                        if let Some(o) = entry.items.get(i) {
                            first.entry(o.name.to_ascii_lowercase()).or_insert(i);
                        }
                    }
                    for n in new {
                        match first.entry(n.to_ascii_lowercase()) {
                            Slot::Occupied(i) => {
                                if let Some(o) = entry.items.get_mut(*i.get()) {
                                    o.expires = expires;
                                }
                            }
                            Slot::Vacant(v) => {
                                // A new method goes at the end of the methods, before the
                                // headers (whose indices in `first` are not used again).
                                let at = if headers {
                                    entry.items.len()
                                } else {
                                    entry.methods
                                };
                                v.insert(at);
                                entry.items.insert(at, item(n));
                                if !headers {
                                    entry.methods += 1;
                                }
                            }
                        }
                    }
                }
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
    pub fn clear(&mut self, client: &Arc<str>, origin: &str, url: &str) {
        self.retain_in(url, |e| !e.is(client, origin));
    }

    /// Drops expired entries; called as the clock advances so memory follows live keys only.
    pub fn expire(&mut self, now: Micros) {
        let mut len = 0;
        self.entries.retain(|_, list| {
            list.retain(|e| e.expires > now);
            len += list.len();
            !list.is_empty()
        });
        self.len = len;
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
        Allowed {
            methods: methods.iter().map(|s| s.to_string()).collect(),
            headers: headers.iter().map(|s| s.to_string()).collect(),
            max_age,
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
}
